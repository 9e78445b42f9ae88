import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A temporary directory removed when the closure returns or throws, so tests leave nothing behind.
public func withTemporaryDirectory<T>(_ prefix: String = "outpost-test",
                                      _ body: (String) async throws -> T) async throws -> T {
    let dir = try makeTemporaryDirectory(prefix)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    return try await body(dir)
}

/// Creates a fresh directory under the system temp dir; the caller removes it.
public func makeTemporaryDirectory(_ prefix: String = "outpost-test") throws -> String {
    var template = Array((NSTemporaryDirectory() + "/\(prefix)-XXXXXX").utf8CString)
    guard let p = mkdtemp(&template) else { throw POSIXError(.EIO) }
    return String(cString: p)
}

/// A free TCP port on 127.0.0.1, found by binding port 0 and reading the assigned port back.
public func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw POSIXError(.EIO) }
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = 0
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafeMutablePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
    }
    guard ok else { throw POSIXError(.EADDRINUSE) }
    return Int(UInt16(bigEndian: addr.sin_port))
}

/// Waits until something accepts TCP connections on 127.0.0.1:`port`.
public func waitForPort(_ port: Int, timeout: TimeInterval = 60) async throws {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        close(fd)
        if rc == 0 { return }
        try await Task.sleep(nanoseconds: 50_000_000)
    }
    throw POSIXError(.ETIMEDOUT)
}

/// Locates the repository root (the directory holding Package.swift) from this source file.
public func repositoryRoot(file: String = #filePath) -> String {
    var url = URL(fileURLWithPath: file).deletingLastPathComponent()
    while url.path != "/" {
        if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url.path }
        url.deleteLastPathComponent()
    }
    return FileManager.default.currentDirectoryPath
}

/// `../shared` beside the repository: the shared facts, schemas and examples.
public func sharedDirectory() -> String {
    URL(fileURLWithPath: repositoryRoot()).deletingLastPathComponent().appendingPathComponent("shared").path
}

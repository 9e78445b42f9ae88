import Foundation

/// Runs real programs (skopeo, openssl, sha256sum, the outpost binary, …) for tests and captures
/// their output. Every test target uses this rather than its own `Process` code.
public struct ProcessResult: Sendable {
    public let status: Int32
    public let stdout: Data
    public let stderr: Data
    public var out: String { String(decoding: stdout, as: UTF8.self) }
    public var err: String { String(decoding: stderr, as: UTF8.self) }
}

public enum ProcessRunnerError: Error, CustomStringConvertible {
    case notFound(String)
    case failed(String, ProcessResult)
    public var description: String {
        switch self {
        case .notFound(let p): return "program not found: \(p)"
        case .failed(let cmd, let r): return "\(cmd) exited \(r.status): \(r.err)\(r.out)"
        }
    }
}

public enum ProcessRunner {
    /// Finds `name` on PATH (or returns it if it is already a path).
    public static func which(_ name: String) -> String? {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
        for dir in path.split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin"] {
            let p = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return nil
    }

    /// Runs a program to completion. Output is drained concurrently so large outputs cannot deadlock.
    @discardableResult
    public static func run(_ program: String, _ args: [String], stdin: Data? = nil,
                           environment: [String: String]? = nil, cwd: String? = nil,
                           check: Bool = false) throws -> ProcessResult {
        guard let exe = which(program) else { throw ProcessRunnerError.notFound(program) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        if let environment {
            p.environment = ProcessInfo.processInfo.environment.merging(environment) { _, b in b }
        }
        if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        let outPipe = Pipe(), errPipe = Pipe(), inPipe = Pipe()
        p.standardOutput = outPipe
        p.standardError = errPipe
        p.standardInput = stdin == nil ? FileHandle.nullDevice : inPipe
        try p.run()
        if let stdin {
            let h = inPipe.fileHandleForWriting
            DispatchQueue.global().async { h.write(stdin); try? h.close() }
        }
        let box = DataBox()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async { box.err = errPipe.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        let out = outPipe.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        p.waitUntilExit()
        let r = ProcessResult(status: p.terminationStatus, stdout: out, stderr: box.err)
        if check && r.status != 0 { throw ProcessRunnerError.failed(([program] + args).joined(separator: " "), r) }
        return r
    }
}

private final class DataBox: @unchecked Sendable { var err = Data() }

import Foundation

/// Runs a program to completion without blocking Swift's cooperative threads (the wait happens on a
/// dispatch queue), capturing its output. Used for podman.
enum Subprocess {
    struct Result: Sendable {
        var status: Int32
        var stdout: Data
        var stderr: Data
        var out: String { String(decoding: stdout, as: UTF8.self) }
        var err: String { String(decoding: stderr, as: UTF8.self) }
    }

    static func run(_ program: String, _ arguments: [String], environment: [String: String] = [:],
                    stdin: Data? = nil) async throws -> Result {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<Result, Error>) in
            DispatchQueue.global().async {
                do { c.resume(returning: try runBlocking(program, arguments, environment: environment, stdin: stdin)) }
                catch { c.resume(throwing: error) }
            }
        }
    }

    static func runBlocking(_ program: String, _ arguments: [String], environment: [String: String] = [:],
                            stdin: Data? = nil) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: program)
        p.arguments = arguments
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { _, b in b }
        let out = Pipe(), err = Pipe(), input = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = stdin == nil ? FileHandle.nullDevice : input
        try p.run()
        if let stdin {
            let h = input.fileHandleForWriting
            DispatchQueue.global().async { h.write(stdin); try? h.close() }
        }
        let box = ErrBox()
        let g = DispatchGroup()
        g.enter()
        DispatchQueue.global().async { box.data = err.fileHandleForReading.readDataToEndOfFile(); g.leave() }
        let o = out.fileHandleForReading.readDataToEndOfFile()
        g.wait()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: o, stderr: box.data)
    }

    private final class ErrBox: @unchecked Sendable { var data = Data() }

    /// Finds a program on PATH.
    static func which(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":") + ["/usr/sbin", "/sbin", "/usr/bin"] {
            let p = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return nil
    }
}

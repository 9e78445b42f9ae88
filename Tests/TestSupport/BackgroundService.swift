import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A long-running real program started for a test (a registry, containerd, a webhook, QEMU).
/// `stop()` sends SIGTERM, then SIGKILL after a grace period; it is idempotent. Services are started
/// through the `with…` helpers, which stop them even when the test body throws.
public final class BackgroundService: @unchecked Sendable {
    public let name: String
    public let process: Process
    public let logPath: String
    private let lock = NSLock()
    private var stopped = false

    public init(name: String, program: String, arguments: [String], environment: [String: String]? = nil,
                logPath: String, cwd: String? = nil) throws {
        guard let exe = ProcessRunner.which(program) else { throw ProcessRunnerError.notFound(program) }
        self.name = name
        self.logPath = logPath
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = arguments
        if let environment { p.environment = ProcessInfo.processInfo.environment.merging(environment) { _, b in b } }
        if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        p.standardOutput = log
        p.standardError = log
        p.standardInput = FileHandle.nullDevice
        try p.run()
        self.process = p
    }

    /// The service's log so far (for failure messages).
    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    public func stop() {
        lock.lock()
        defer { lock.unlock() }
        guard !stopped else { return }
        stopped = true
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    deinit { stop() }
}

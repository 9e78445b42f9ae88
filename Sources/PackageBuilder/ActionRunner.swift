import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One shell action as Zarf defines it (`actions.onCreate.before|after|onSuccess|onFailure[]`), with
/// the component's `defaults` already applied.
public struct ShellAction: Sendable {
    public var cmd: String
    public var dir: String?
    public var env: [String]
    public var mute: Bool
    public var maxTotalSeconds: Int?
    public var maxRetries: Int
    public var description: String?

    public init(cmd: String, dir: String? = nil, env: [String] = [], mute: Bool = false,
                maxTotalSeconds: Int? = nil, maxRetries: Int = 0, description: String? = nil) {
        self.cmd = cmd; self.dir = dir; self.env = env; self.mute = mute
        self.maxTotalSeconds = maxTotalSeconds; self.maxRetries = maxRetries; self.description = description
    }
}

/// Runs create-time actions with `sh -e -c`, in the package directory (or the action's `dir` relative to
/// it), with a timeout over all attempts (`maxTotalSeconds`) and `maxRetries` further attempts.
public struct ActionRunner: Sendable {
    public let baseDirectory: String
    /// Receives the action's combined output line by line unless the action is muted.
    public let output: @Sendable (String) -> Void

    public init(baseDirectory: String, output: @escaping @Sendable (String) -> Void = { _ in }) {
        self.baseDirectory = baseDirectory
        self.output = output
    }

    public func run(_ action: ShellAction, component: String?) throws {
        let deadline = action.maxTotalSeconds.map { Date().addingTimeInterval(TimeInterval($0)) }
        var attempt = 0
        while true {
            let (status, out, timedOut) = try runOnce(action, deadline: deadline)
            if status == 0 && !timedOut { return }
            if timedOut { throw BuilderError.actionTimedOut(command: action.cmd, component: component, seconds: action.maxTotalSeconds ?? 0) }
            attempt += 1
            if attempt > action.maxRetries {
                throw BuilderError.actionFailed(command: action.cmd, component: component, status: status, output: out)
            }
        }
    }

    private func runOnce(_ action: ShellAction, deadline: Date?) throws -> (Int32, String, Bool) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-e", "-c", action.cmd]
        var dir = baseDirectory
        if let d = action.dir { dir = d.hasPrefix("/") ? d : baseDirectory + "/" + d }
        p.currentDirectoryURL = URL(fileURLWithPath: dir)
        var env = ProcessInfo.processInfo.environment
        for kv in action.env {
            if let eq = kv.firstIndex(of: "=") { env[String(kv[..<eq])] = String(kv[kv.index(after: eq)...]) }
        }
        p.environment = env
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        p.standardInput = FileHandle.nullDevice
        do { try p.run() } catch {
            throw BuilderError.actionFailed(command: action.cmd, component: nil, status: -1, output: "\(error)")
        }
        let collected = Collected()
        let mute = action.mute
        let out = output
        let reader = Thread {
            let h = pipe.fileHandleForReading
            while true {
                let d = h.availableData
                if d.isEmpty { break }
                collected.append(d)
                if !mute { out(String(decoding: d, as: UTF8.self)) }
            }
            collected.finish()
        }
        reader.start()
        var timedOut = false
        while p.isRunning {
            if let deadline, Date() > deadline {
                timedOut = true
                kill(p.processIdentifier, SIGTERM)
                usleep(200_000)
                if p.isRunning { kill(p.processIdentifier, SIGKILL) }
                break
            }
            usleep(10_000)
        }
        p.waitUntilExit()
        collected.waitFinished()
        return (p.terminationStatus, collected.text, timedOut)
    }
}

private final class Collected: @unchecked Sendable {
    private let lock = NSCondition()
    private var data = Data()
    private var done = false
    func append(_ d: Data) { lock.lock(); data.append(d); if data.count > 1 << 20 { data = data.suffix(1 << 19) }; lock.unlock() }
    func finish() { lock.lock(); done = true; lock.broadcast(); lock.unlock() }
    func waitFinished() {
        lock.lock()
        let deadline = Date().addingTimeInterval(2)
        while !done && Date() < deadline { _ = lock.wait(until: deadline) }
        lock.unlock()
    }
    var text: String { lock.lock(); defer { lock.unlock() }; return String(decoding: data, as: UTF8.self) }
}

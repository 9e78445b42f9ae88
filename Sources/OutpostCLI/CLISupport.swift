import ArgumentParser
import Foundation
import OutpostCore
#if canImport(Glibc)
import Glibc
#endif

/// How a command prints its result: human text (default) or JSON for scripts.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

/// Prints a JSON value (sorted keys, pretty) to stdout.
func printJSON<T: Encodable>(_ value: T) throws {
    let e = JSONEncoder()
    e.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
    FileHandle.standardOutput.write(try e.encode(value))
    FileHandle.standardOutput.write(Data("\n".utf8))
}

/// Writes a line to stderr (errors and status; stdout is kept for results).
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// Turns a library error into the CLI's failure: message on stderr, exit code 1.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ error: Error) { description = "\(error)" }
    init(message: String) { description = message }
}

/// Runs `body`, converting thrown errors into a one-line `error: …` on stderr and a non-zero exit.
func reportingErrors<T>(_ body: () async throws -> T) async throws -> T {
    do { return try await body() } catch let e as ExitCode { throw e } catch let e as CleanExit { throw e } catch {
        printError("error: \(error)")
        throw ExitCode.failure
    }
}

/// Renders `ProgressReporter` events as a single updating line on a terminal, and nothing otherwise
/// (`--no-progress` or a non-terminal stderr), so piped and CI output stays quiet.
final class TerminalProgress: ProgressReporter, @unchecked Sendable {
    private let lock = NSLock()
    private var phases: [String: (done: Int64, total: Int64?, unit: ProgressUnit)] = [:]
    private var lastDraw = Date.distantPast
    private let enabled: Bool

    init(enabled: Bool = isatty(STDERR_FILENO) != 0) { self.enabled = enabled }

    /// The reporter a command should use: a bar on a terminal, silent otherwise.
    static func forCommand(noProgress: Bool) -> ProgressReporter {
        noProgress || isatty(STDERR_FILENO) == 0 ? SilentProgress() : TerminalProgress()
    }

    func begin(_ phase: String, total: Int64?, unit: ProgressUnit) {
        lock.withLock { phases[phase] = (0, total, unit) }
        draw(force: true)
    }
    func advance(_ phase: String, by amount: Int64) {
        lock.withLock { phases[phase]?.done += amount }
        draw(force: false)
    }
    func end(_ phase: String) {
        let line: String? = lock.withLock {
            guard let p = phases.removeValue(forKey: phase) else { return nil }
            return "✔ \(phase) (\(Self.format(p.done, p.unit)))"
        }
        guard enabled, let line else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K\(line)\n".utf8))
        draw(force: true)
    }
    func note(_ message: String) {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K\(message)\n".utf8))
    }

    private func draw(force: Bool) {
        guard enabled else { return }
        let text: String? = lock.withLock {
            let now = Date()
            guard force || now.timeIntervalSince(lastDraw) > 0.1 else { return nil }
            lastDraw = now
            return phases.keys.sorted().map { k in
                let p = phases[k]!
                if let t = p.total, t > 0 {
                    let pct = Int(Double(p.done) / Double(t) * 100)
                    return "\(k) \(pct)% (\(Self.format(p.done, p.unit))/\(Self.format(t, p.unit)))"
                }
                return "\(k) \(Self.format(p.done, p.unit))"
            }.joined(separator: " · ")
        }
        if let text { FileHandle.standardError.write(Data("\r\u{1B}[K\(text.prefix(200))".utf8)) }
    }

    static func format(_ n: Int64, _ unit: ProgressUnit) -> String {
        guard unit == .bytes else { return "\(n)" }
        let units = ["B", "KB", "MB", "GB", "TB"]
        var v = Double(n), i = 0
        while v >= 1000 && i < units.count - 1 { v /= 1000; i += 1 }
        return i == 0 ? "\(n) B" : String(format: "%.1f %@", v, units[i])
    }
}

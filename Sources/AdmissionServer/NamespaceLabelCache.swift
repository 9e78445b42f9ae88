import Foundation
import Synchronization

/// Namespace labels for the `zarf.dev/agent` rules, read through the Kubernetes API and kept for a short
/// time (a label change shows after at most `ttl`), in a bounded table. Concurrent requests for the same
/// namespace share one lookup. Failures are not cached: the next request asks the API again.
final class NamespaceLabelCache: Sendable {
    typealias Lookup = @Sendable (String) async throws -> [String: String]

    enum Outcome: Sendable, Equatable { case hit, miss, failure }

    let ttl: Duration
    let capacity: Int
    private let lookup: Lookup
    private let now: @Sendable () -> ContinuousClock.Instant
    private let entries: Mutex<[String: Entry]>

    private enum Entry {
        case ready([String: String], expires: ContinuousClock.Instant)
        case pending(Task<[String: String], any Error>)
    }

    init(ttl: Duration, capacity: Int, now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }, lookup: @escaping Lookup) {
        self.ttl = ttl
        self.capacity = max(1, capacity)
        self.lookup = lookup
        self.now = now
        entries = Mutex([:])
    }

    var count: Int { entries.withLock { $0.count } }

    /// The labels of `namespace`, from the table when fresh, else from the API.
    func labels(_ namespace: String) async throws -> (labels: [String: String], outcome: Outcome) {
        enum Step { case hit([String: String]), wait(Task<[String: String], any Error>, started: Bool) }
        let at = now()
        let lookup = self.lookup
        let step: Step = entries.withLock { table in
            switch table[namespace] {
            case .ready(let labels, let expires) where at < expires: return .hit(labels)
            case .pending(let task): return .wait(task, started: false)
            default:
                let task = Task { try await lookup(namespace) }
                table[namespace] = .pending(task)
                return .wait(task, started: true)
            }
        }
        switch step {
        case .hit(let labels): return (labels, .hit)
        case .wait(let task, let started):
            do {
                let labels = try await task.value
                if started { store(namespace, labels) }
                return (labels, .miss)
            } catch {
                if started { entries.withLock { if case .pending = $0[namespace] { $0[namespace] = nil } } }
                throw error
            }
        }
    }

    private func store(_ namespace: String, _ labels: [String: String]) {
        let at = now()
        entries.withLock { table in
            table[namespace] = nil
            if table.count >= capacity {
                // Drop what has expired; if still full, the entry closest to expiry.
                table = table.filter { if case .ready(_, let e) = $0.value { return e > at } else { return true } }
                if table.count >= capacity, let oldest = table.min(by: { Self.expiry($0.value) < Self.expiry($1.value) }) {
                    table[oldest.key] = nil
                }
            }
            table[namespace] = .ready(labels, expires: at + ttl)
        }
    }

    private static func expiry(_ e: Entry) -> ContinuousClock.Instant {
        if case .ready(_, let expires) = e { return expires }
        return .now + .seconds(1_000_000)
    }
}

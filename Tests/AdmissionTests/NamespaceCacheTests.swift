import Foundation
import Synchronization
import Testing
@testable import AdmissionServer

/// The namespace label table in front of the Kubernetes API: freshness, expiry, shared lookups, failures
/// not remembered, bounded size. The lookup here counts calls; the API itself is exercised end to end in
/// NamespaceLookupServerTests against the simulator.
@Suite struct NamespaceCacheTests {
    final class Clock: Sendable {
        let start = ContinuousClock.now
        let offset = Mutex<Duration>(.zero)
        func advance(_ d: Duration) { offset.withLock { $0 += d } }
        var now: ContinuousClock.Instant { start + offset.withLock { $0 } }
    }

    final class Counter: Sendable {
        let calls = Mutex<[String]>([])
        func record(_ n: String) { calls.withLock { $0.append(n) } }
        var all: [String] { calls.withLock { $0 } }
    }

    @Test func freshEntriesAreReusedAndExpiredOnesAskedAgain() async throws {
        let clock = Clock(), counter = Counter()
        let labels = Mutex<[String: String]>(["zarf.dev/agent": "skip"])
        let cache = NamespaceLabelCache(ttl: .seconds(30), capacity: 10, now: { clock.now }) { name in
            counter.record(name)
            return labels.withLock { $0 }
        }
        let first = try await cache.labels("apps")
        #expect(first.labels == ["zarf.dev/agent": "skip"] && first.outcome == .miss)
        labels.withLock { $0 = [:] }   // the namespace is relabelled in the cluster
        clock.advance(.seconds(29))
        let second = try await cache.labels("apps")
        #expect(second.labels == ["zarf.dev/agent": "skip"] && second.outcome == .hit)
        clock.advance(.seconds(2))
        let third = try await cache.labels("apps")
        #expect(third.labels == [:] && third.outcome == .miss)
        #expect(counter.all == ["apps", "apps"])
    }

    @Test func concurrentRequestsShareOneLookup() async throws {
        let counter = Counter()
        let cache = NamespaceLabelCache(ttl: .seconds(30), capacity: 10) { name in
            counter.record(name)
            try await Task.sleep(for: .milliseconds(200))
            return ["n": name]
        }
        let results = try await withThrowingTaskGroup(of: [String: String].self) { group in
            for _ in 0..<20 { group.addTask { try await cache.labels("apps").labels } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.count == 20 && results.allSatisfy { $0 == ["n": "apps"] })
        #expect(counter.all == ["apps"])
    }

    struct Down: Error {}

    @Test func failuresAreNotRemembered() async throws {
        let counter = Counter()
        let up = Mutex(false)
        let cache = NamespaceLabelCache(ttl: .seconds(30), capacity: 10) { name in
            counter.record(name)
            guard up.withLock({ $0 }) else { throw Down() }
            return ["ok": "1"]
        }
        await #expect(throws: Down.self) { _ = try await cache.labels("apps") }
        #expect(cache.count == 0)
        up.withLock { $0 = true }
        #expect(try await cache.labels("apps").labels == ["ok": "1"])
        #expect(counter.all.count == 2)
    }

    @Test func sizeIsBounded() async throws {
        let clock = Clock(), counter = Counter()
        let cache = NamespaceLabelCache(ttl: .seconds(30), capacity: 3, now: { clock.now }) { name in
            counter.record(name)
            return [:]
        }
        for n in ["a", "b", "c", "d", "e"] {
            _ = try await cache.labels(n)
            clock.advance(.seconds(1))
            #expect(cache.count <= 3)
        }
        // the oldest went first: "e", "d" and "c" are still fresh; "a" must be asked again
        _ = try await cache.labels("e")
        _ = try await cache.labels("a")
        #expect(counter.all == ["a", "b", "c", "d", "e", "a"])
    }
}

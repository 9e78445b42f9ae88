import Foundation
import OutpostCore

/// A change to a stored object as a watch reports it.
struct WatchEvent: Sendable {
    var type: String // ADDED, MODIFIED, DELETED
    var object: JSONValue
    var revision: Int
    var storeKey: String
    var namespace: String
}

/// The simulated etcd: every object in memory, one global revision counter that becomes each object's
/// `resourceVersion`, and a bounded history so watches can resume from a resourceVersion. All writes
/// are compare-and-swap on the resourceVersion so concurrent writers get 409 Conflict, as with etcd.
actor ObjectStore {
    private var data: [String: [String: JSONValue]] = [:]
    private(set) var revision = 1
    private var history: [WatchEvent] = []
    private let historyLimit = 20_000
    private var watchers: [UUID: Watcher] = [:]

    private struct Watcher {
        var storeKey: String
        var namespace: String?
        var continuation: AsyncStream<WatchEvent>.Continuation
    }

    private static func slot(_ ns: String, _ name: String) -> String { ns + "/" + name }

    func get(_ key: String, _ ns: String, _ name: String) -> JSONValue? {
        data[key]?[Self.slot(ns, name)]
    }

    /// All objects of a type (in one namespace, or all), sorted by namespace and name, and the revision.
    func list(_ key: String, namespace: String?) -> ([JSONValue], Int) {
        let objects = (data[key] ?? [:]).filter { k, _ in
            guard let namespace else { return true }
            return k.hasPrefix(namespace + "/")
        }.sorted { $0.key < $1.key }.map(\.value)
        return (objects, revision)
    }

    /// Every store key that holds at least one object.
    func keys() -> [String] { data.filter { !$0.value.isEmpty }.keys.sorted() }

    /// Creates an object; fails if the name is taken.
    func create(_ key: String, _ ns: String, _ name: String, _ object: JSONValue) -> JSONValue? {
        let s = Self.slot(ns, name)
        if data[key]?[s] != nil { return nil }
        return write(key, ns, s, object, type: "ADDED")
    }

    /// Replaces an object if its stored resourceVersion is `expected` (or unconditionally when nil).
    /// Returns nil when the object is gone, or throws `.mismatch` when someone else wrote first.
    func update(_ key: String, _ ns: String, _ name: String, _ object: JSONValue, expected: String?) throws(StoreFailure) -> JSONValue {
        let s = Self.slot(ns, name)
        guard let current = data[key]?[s] else { throw .missing }
        if let expected, current["metadata"]?["resourceVersion"]?.stringValue != expected { throw .mismatch }
        if current == object { return current }
        return write(key, ns, s, object, type: "MODIFIED")
    }

    /// Removes an object (if `expectedUID` is given, only that incarnation).
    @discardableResult
    func delete(_ key: String, _ ns: String, _ name: String, expectedUID: String? = nil) -> JSONValue? {
        let s = Self.slot(ns, name)
        guard var current = data[key]?[s] else { return nil }
        if let expectedUID, current["metadata"]?["uid"]?.stringValue != expectedUID { return nil }
        data[key]?[s] = nil
        revision += 1
        current["metadata"]?["resourceVersion"] = .string(String(revision))
        publish(WatchEvent(type: "DELETED", object: current, revision: revision, storeKey: key, namespace: ns))
        return current
    }

    private func write(_ key: String, _ ns: String, _ slot: String, _ object: JSONValue, type: String) -> JSONValue {
        revision += 1
        var o = object
        o["metadata"]?["resourceVersion"] = .string(String(revision))
        data[key, default: [:]][slot] = o
        publish(WatchEvent(type: type, object: o, revision: revision, storeKey: key, namespace: ns))
        return o
    }

    private func publish(_ event: WatchEvent) {
        history.append(event)
        if history.count > historyLimit { history.removeFirst(history.count - historyLimit) }
        for w in watchers.values where w.storeKey == event.storeKey && (w.namespace == nil || w.namespace == event.namespace) {
            w.continuation.yield(event)
        }
    }

    /// Events after `since` (exclusive) for a type, then live events until the stream is cancelled.
    /// Throws `.gone` when `since` is older than the kept history (clients then relist, as with a 410).
    func watch(_ key: String, namespace: String?, since: Int?) throws(StoreFailure) -> AsyncStream<WatchEvent> {
        var replay: [WatchEvent] = []
        if let since, since < revision {
            if let first = history.first, first.revision > since + 1 { throw .gone }
            replay = history.filter { $0.revision > since && $0.storeKey == key && (namespace == nil || $0.namespace == namespace) }
        }
        let id = UUID()
        let (stream, continuation) = AsyncStream<WatchEvent>.makeStream(bufferingPolicy: .bufferingNewest(10_000))
        for e in replay { continuation.yield(e) }
        watchers[id] = Watcher(storeKey: key, namespace: namespace, continuation: continuation)
        continuation.onTermination = { _ in Task { await self.unwatch(id) } }
        return stream
    }

    private func unwatch(_ id: UUID) { watchers[id] = nil }

    /// Ends every open watch (at shutdown).
    func closeWatches() {
        for w in watchers.values { w.continuation.finish() }
        watchers = [:]
    }
}

/// Why a compare-and-swap write failed.
enum StoreFailure: Error { case missing, mismatch, gone }

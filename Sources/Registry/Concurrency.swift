import OutpostCore
import OCI

func concurrentMap<T: Sendable, R: Sendable>(_ items: [T], limit: Int,
                                              _ body: @escaping @Sendable (T) async throws -> R) async throws -> [R] {
    try await boundedConcurrentMap(items, limit: limit, body)
}

func concurrentForEach<T: Sendable>(_ items: [T], limit: Int, _ body: @escaping @Sendable (T) async throws -> Void) async throws {
    _ = try await boundedConcurrentMap(items, limit: limit, body)
}

/// Makes concurrent requests for the same blob share one transfer: images pulled side by side often
/// share base layers, and a layer should cross the network once.
actor InFlightTransfers {
    private var running: [String: Task<Void, any Error>] = [:]

    func run(key: String, _ operation: @escaping @Sendable () async throws -> Void) async throws {
        if let existing = running[key] { return try await existing.value }
        let task = Task.detached { try await operation() }
        running[key] = task
        defer { running[key] = nil }
        try await task.value
    }
}

/// Where blobs are known to live (registry host → repositories), learned from pulls and pushes in this
/// client's lifetime: the source for cross-repository mounts.
actor BlobLocations {
    private var places: [Digest: [String: Set<String>]] = [:]

    func record(_ digest: Digest, host: String, repository: String) {
        places[digest, default: [:]][host, default: []].insert(repository)
    }

    /// A repository on `host` other than `repository` that has `digest`.
    func mountSource(_ digest: Digest, host: String, excluding repository: String) -> String? {
        places[digest]?[host]?.subtracting([repository]).sorted().first
    }
}

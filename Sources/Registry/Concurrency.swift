import OCI

/// Bounded fan-out: runs `body` for every item with at most `limit` running at once (a task group that
/// starts the next item as one finishes). The first error cancels the rest and is thrown.
func concurrentMap<T: Sendable, R: Sendable>(_ items: [T], limit: Int,
                                              _ body: @escaping @Sendable (T) async throws -> R) async throws -> [R] {
    guard !items.isEmpty else { return [] }
    return try await withThrowingTaskGroup(of: (Int, R).self) { group in
        var results = [R?](repeating: nil, count: items.count)
        var next = 0
        func start() {
            let i = next
            let item = items[i]
            group.addTask { (i, try await body(item)) }
            next += 1
        }
        while next < min(max(1, limit), items.count) { start() }
        while let (i, r) = try await group.next() {
            results[i] = r
            if next < items.count { start() }
        }
        return results.map { $0! }
    }
}

func concurrentForEach<T: Sendable>(_ items: [T], limit: Int, _ body: @escaping @Sendable (T) async throws -> Void) async throws {
    _ = try await concurrentMap(items, limit: limit, body)
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

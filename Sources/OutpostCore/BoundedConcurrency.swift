/// Bounded fan-out in item order: runs `body` for every item with at most `limit` running at once (a task
/// group that starts the next item as one finishes), returns the results in item order, and throws the
/// first error after cancelling the rest. Registry pulls and pushes and package create share it.
public func boundedConcurrentMap<T: Sendable, R: Sendable>(_ items: [T], limit: Int,
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

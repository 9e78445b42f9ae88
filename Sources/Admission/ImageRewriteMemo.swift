/// Image references already rewritten, kept for a connection's later requests: the pods of one Deployment
/// (every replica, every rollout) name the same images, so most of a webhook's rewrites repeat, and
/// parsing and renaming a reference was the largest part of mutating a pod.
///
/// Holds only successful rewrites, keyed by the target registry and the original reference, so a changed
/// registry address (a reloaded state file) never reuses an old answer. Bounded: when full it starts over.
/// Not thread-safe: the server keeps one per connection, used on that connection's event loop.
public final class ImageRewriteMemo {
    private var target = ""
    private var rewrites: [String: String] = [:]
    public let capacity: Int

    public init(capacity: Int = 256) { self.capacity = capacity }

    public var count: Int { rewrites.count }

    /// The rewrite of `original` for `target`: remembered, or computed by `rewrite` and remembered.
    func rewrite(_ original: String, target: String, _ rewrite: () throws -> String) rethrows -> String {
        if target != self.target {
            rewrites.removeAll(keepingCapacity: true)
            self.target = target
        }
        if let known = rewrites[original] { return known }
        let result = try rewrite()
        if rewrites.count >= capacity { rewrites.removeAll(keepingCapacity: true) }
        rewrites[original] = result
        return result
    }
}

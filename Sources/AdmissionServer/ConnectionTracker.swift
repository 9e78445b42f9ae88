import NIOCore
import Synchronization

/// The open connections, for a graceful stop: when the server drains, each connection is told
/// (`Drain`, on its event loop); an idle one closes at once, a busy one right after its answer, which
/// carries `connection: close`. Requests never take the lock: whether a connection is busy is its
/// handler's own state, and `isDraining` is an atomic read.
final class ConnectionTracker: Sendable {
    /// The event sent down each connection's pipeline when the server starts draining.
    struct Drain: Sendable {}

    private let open = Mutex<[ObjectIdentifier: any Channel]>([:])
    private let draining = Atomic<Bool>(false)

    var isDraining: Bool { draining.load(ordering: .relaxed) }
    var openCount: Int { open.withLock { $0.count } }

    func opened(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        let refused = open.withLock { open -> Bool in
            if draining.load(ordering: .relaxed) { return true }
            open[id] = channel
            return false
        }
        if refused { channel.close(promise: nil); return }
        channel.closeFuture.whenComplete { [weak self] _ in self?.open.withLock { _ = $0.removeValue(forKey: id) } }
    }

    /// Stops keeping connections alive and tells each connection, so the idle ones close.
    func beginDraining() {
        let channels = open.withLock { open -> [any Channel] in
            draining.store(true, ordering: .relaxed)
            return Array(open.values)
        }
        for channel in channels { channel.pipeline.fireUserInboundEventTriggered(Drain()) }
    }

    /// Waits until every connection has closed, or `timeout` has passed (then closes what is left).
    func waitUntilClosed(timeout: Duration) async {
        let deadline = ContinuousClock.now + timeout
        while openCount > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        let left = open.withLock { Array($0.values) }
        for channel in left { channel.close(promise: nil) }
    }
}

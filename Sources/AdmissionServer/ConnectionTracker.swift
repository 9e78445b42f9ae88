import NIOCore
import Synchronization

/// The open connections and whether each is in the middle of a request, for a graceful stop: when the
/// server drains, idle connections are closed at once and busy ones right after their response.
final class ConnectionTracker: Sendable {
    private struct Entry { let channel: any Channel; var busy: Bool }
    private struct State { var open: [ObjectIdentifier: Entry] = [:]; var draining = false }
    private let state = Mutex(State())

    var isDraining: Bool { state.withLock { $0.draining } }
    var openCount: Int { state.withLock { $0.open.count } }

    func opened(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        let refused = state.withLock { s -> Bool in
            if s.draining { return true }
            s.open[id] = Entry(channel: channel, busy: false)
            return false
        }
        if refused { channel.close(promise: nil); return }
        channel.closeFuture.whenComplete { [weak self] _ in self?.state.withLock { _ = $0.open.removeValue(forKey: id) } }
    }

    /// Marks a connection as in or out of a request; one that goes idle while draining is closed.
    func setBusy(_ channel: any Channel, _ busy: Bool) {
        let id = ObjectIdentifier(channel)
        let closeNow = state.withLock { s -> Bool in
            guard s.open[id] != nil else { return false }
            s.open[id]!.busy = busy
            return !busy && s.draining
        }
        if closeNow { channel.close(promise: nil) }
    }

    /// Stops keeping connections alive and closes the idle ones.
    func beginDraining() {
        let idle = state.withLock { s -> [any Channel] in
            s.draining = true
            return s.open.values.filter { !$0.busy }.map(\.channel)
        }
        for channel in idle { channel.close(promise: nil) }
    }

    /// Waits until every connection has closed, or `timeout` has passed (then closes what is left).
    func waitUntilClosed(timeout: Duration) async {
        let deadline = ContinuousClock.now + timeout
        while openCount > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        let left = state.withLock { $0.open.values.map(\.channel) }
        for channel in left { channel.close(promise: nil) }
    }
}

import CShim

/// One client connection and where it is in its request/response cycle.
final class Connection {
    enum State { case reading, writing, draining }

    static let headLimit = 8192

    let fd: Int32
    var state = State.reading
    let input = UnsafeMutablePointer<UInt8>.allocate(capacity: Connection.headLimit)
    var inputCount = 0
    var output: [UInt8] = []
    var outputSent = 0
    var bodyOffset = 0
    var bodyRemaining = 0
    var closeAfter = false
    /// When the current phase times out (ms, monotonic); 0 = no request in progress.
    var deadline: Int64
    var closed = false

    init(fd: Int32, now: Int64) {
        self.fd = fd
        deadline = now + Server.idleTimeout
    }

    deinit { input.deallocate() }
}

/// A single-threaded poll(2) loop serving many clients at once: every socket is non-blocking, blob bodies
/// go out with sendfile(2) from the chunk files in bounded slices, and each phase of a connection has a
/// deadline, so a slow or stalled client only ever holds its own socket.
final class Server {
    static let headerTimeout: Int64 = 30_000
    static let idleTimeout: Int64 = 60_000
    static let writeStallTimeout: Int64 = 60_000
    static let drainTimeout: Int64 = 2_000
    static let maxConnections = 900
    static let sliceBytes = 1 << 20

    let listener: Int32
    let router: Router
    let payload: ChunkedPayload
    var connections: [Connection] = []
    var log: Bool

    init(listener: Int32, router: Router, payload: ChunkedPayload, log: Bool) {
        self.listener = listener
        self.router = router
        self.payload = payload
        self.log = log
    }

    func run() -> Never {
        var fds: [pollfd] = []
        while true {
            fds.removeAll(keepingCapacity: true)
            let accepting = connections.count < Server.maxConnections
            fds.append(pollfd(fd: accepting ? listener : -1, events: Int16(POLLIN), revents: 0))
            for c in connections {
                let events = c.state == .writing ? POLLOUT : POLLIN
                fds.append(pollfd(fd: c.fd, events: Int16(events), revents: 0))
            }
            let ready = fds.withUnsafeMutableBufferPointer { poll($0.baseAddress!, nfds_t($0.count), 1000) }
            let now = shim_now_ms()
            if ready > 0 {
                if fds[0].revents != 0 { acceptAll(now) }
                for (i, c) in connections.enumerated() where i + 1 < fds.count {
                    let revents = fds[i + 1].revents
                    if revents == 0 || c.closed { continue }
                    if revents & Int16(POLLNVAL) != 0 { finish(c); continue }
                    switch c.state {
                    case .reading: readable(c, now)
                    case .writing: writable(c, now)
                    case .draining: drain(c)
                    }
                }
            }
            for c in connections where !c.closed && now > c.deadline {
                if c.state == .reading && c.inputCount > 0 {
                    send(c, errorResponse(408, "TIMEOUT", Bytes("request head not received in time"), detail: []), now, close: true)
                } else {
                    finish(c)
                }
            }
            connections.removeAll { $0.closed }
        }
    }

    private func acceptAll(_ now: Int64) {
        while connections.count < Server.maxConnections {
            let fd = shim_accept(listener)
            if fd < 0 { return }
            connections.append(Connection(fd: fd, now: now))
        }
    }

    private func readable(_ c: Connection, _ now: Int64) {
        let room = Connection.headLimit - c.inputCount
        if room == 0 { return }
        let n = recv(c.fd, c.input + c.inputCount, room, 0)
        if n == 0 { finish(c); return }
        if n < 0 {
            let e = shim_errno()
            if e != EAGAIN && e != EWOULDBLOCK && e != EINTR { finish(c) }
            return
        }
        if c.inputCount == 0 { c.deadline = now + Server.headerTimeout }
        c.inputCount += n
        process(c, now)
    }

    /// Answers the request in the input buffer once its head is complete.
    private func process(_ c: Connection, _ now: Int64) {
        // A TLS ClientHello (record type 0x16): clients such as skopeo try HTTPS first and wait for a
        // handshake. Answer in plain HTTP at once so they fail fast and fall back to HTTP.
        if c.inputCount > 0 && c.input[0] == 0x16 {
            c.inputCount = 0
            send(c, errorResponse(400, "UNSUPPORTED", Bytes("this registry speaks plain HTTP, not TLS"), detail: []), now, close: true)
            return
        }
        guard let end = headEnd(c) else {
            if c.inputCount >= Connection.headLimit {
                send(c, errorResponse(431, "SIZE_INVALID", Bytes("request head larger than 8192 bytes"), detail: []), now, close: true)
            }
            return
        }
        let parsed = parseRequestHead(UnsafeBufferPointer(start: c.input, count: end.headLength))
        let consumed = end.consumed
        c.inputCount -= consumed
        if c.inputCount > 0 { (c.input).update(from: c.input + consumed, count: c.inputCount) }
        switch parsed {
        case .failure(.bad(let why)):
            send(c, errorResponse(400, "BAD_REQUEST", Bytes(why), detail: []), now, close: true)
        case .failure(.versionNotSupported):
            send(c, errorResponse(505, "UNSUPPORTED", Bytes("only HTTP/1.0 and HTTP/1.1 are served"), detail: []), now, close: true)
        case .success(let request):
            let response = router.respond(to: request)
            if log {
                var line = request.method
                line.append(32)
                line.append(contentsOf: request.target)
                line.append(32)
                line.append(decimal: response.status)
                line.append(32)
                line.append(decimal: response.contentLength)
                line.append(10)
                writeAll(1, line)
            }
            send(c, response, now, close: response.close)
        }
    }

    /// Finds the blank line ending the head: returns the head length (without it) and bytes consumed.
    private func headEnd(_ c: Connection) -> (headLength: Int, consumed: Int)? {
        let p = c.input
        var i = 0
        while i + 1 < c.inputCount {
            if p[i] == 10 {
                if p[i + 1] == 10 { return (i, i + 2) }
                if i + 2 < c.inputCount && p[i + 1] == 13 && p[i + 2] == 10 { return (i, i + 3) }
            }
            i += 1
        }
        return nil
    }

    private func send(_ c: Connection, _ response: Response, _ now: Int64, close: Bool) {
        var r = response
        r.close = r.close || close
        c.output = responseHead(r)
        c.outputSent = 0
        c.bodyRemaining = 0
        switch r.body {
        case .none: break
        case .bytes(let b): c.output.append(contentsOf: b)
        case .payload(let offset, let count):
            c.bodyOffset = offset
            c.bodyRemaining = count
        }
        c.closeAfter = r.close
        c.state = .writing
        c.deadline = now + Server.writeStallTimeout
        writable(c, now)
    }

    private func writable(_ c: Connection, _ now: Int64) {
        while c.outputSent < c.output.count {
            let n = c.output.withUnsafeBytes { buf in
                Glibc_send(c.fd, buf.baseAddress! + c.outputSent, buf.count - c.outputSent)
            }
            if n < 0 {
                let e = shim_errno()
                if e == EAGAIN || e == EWOULDBLOCK || e == EINTR { return }
                finish(c); return
            }
            c.outputSent += n
            c.deadline = now + Server.writeStallTimeout
        }
        var budget = Server.sliceBytes
        while c.bodyRemaining > 0 && budget > 0 {
            let chunk = payload.chunks[payload.chunkIndex(containing: c.bodyOffset)]
            var offset = off_t(c.bodyOffset - chunk.start)
            let want = min(c.bodyRemaining, chunk.start + chunk.size - c.bodyOffset, budget)
            let n = sendfile(c.fd, chunk.fd, &offset, want)
            if n < 0 {
                let e = shim_errno()
                if e == EAGAIN || e == EWOULDBLOCK || e == EINTR { return }
                finish(c); return
            }
            if n == 0 { finish(c); return }
            c.bodyOffset += n
            c.bodyRemaining -= n
            budget -= n
            c.deadline = now + Server.writeStallTimeout
        }
        if c.bodyRemaining > 0 { return } // the slice is used up: let other clients go first
        c.output.removeAll(keepingCapacity: false)
        if c.closeAfter {
            shutdown(c.fd, Int32(SHUT_WR))
            c.state = .draining
            c.deadline = now + Server.drainTimeout
            return
        }
        c.state = .reading
        c.deadline = now + Server.idleTimeout
        if c.inputCount > 0 {
            c.deadline = now + Server.headerTimeout
            process(c, now)
        }
    }

    /// After a closing response: read and discard until the client closes, so it sees the response
    /// rather than a reset.
    private func drain(_ c: Connection) {
        var scratch = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        let n = withUnsafeMutableBytes(of: &scratch) { recv(c.fd, $0.baseAddress!, $0.count, 0) }
        if n == 0 || (n < 0 && shim_errno() != EAGAIN && shim_errno() != EINTR) { finish(c) }
    }

    private func finish(_ c: Connection) {
        if c.closed { return }
        close(c.fd)
        c.closed = true
    }
}

/// send(2) without SIGPIPE.
@inline(__always) func Glibc_send(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int {
    CShim.send(fd, p, n, Int32(MSG_NOSIGNAL))
}

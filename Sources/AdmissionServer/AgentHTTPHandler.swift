import Admission
import NIOCore
import NIOHTTP1

/// One HTTPS connection of the agent, on its event loop, right after TLS: reads each request with
/// `HTTPRequestParser`, collects its body (up to the limit, discarding the rest so the connection stays
/// usable), answers it through `AgentResponder`, and records metrics.
///
/// Requests that need no Kubernetes API call are answered on the event loop without a thread hop, each
/// answer written as one buffer (one TLS record) and flushed with the other answers of the loop's tick
/// (`TickFlushBatch`). Namespace lookups run as a task; while one is in flight,
/// the bytes of requests pipelined behind it are kept unread and reading stops, so answers leave in request
/// order. This replaces NIO's HTTP decoder, server pipeline, response encoder and error handlers, whose
/// per-request cost was a measurable share of the webhook's.
final class AgentHTTPHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum State {
        case idle
        /// The body so far; `owned` when it is in a buffer of this handler's own (not a slice of TLS's
        /// read buffer, which must not be held past the read, or TLS copies it on its next one).
        case receiving(AgentRequestHead, ByteBuffer, owned: Bool)
        /// The body went over the limit: the rest is read and dropped, then 413 is answered.
        case discarding(AgentRequestHead)
        /// A namespace lookup is in flight for this request.
        case waiting
        /// Answered with `connection: close`, or broken: nothing more is read or answered.
        case closed
    }

    private let responder: AgentResponder
    private let connections: ConnectionTracker
    private var state = State.idle
    private var started = NIODeadline.now()
    private var parser = HTTPRequestParser()
    /// Bytes read but not yet parsed: the start of a request still arriving, or requests pipelined behind
    /// one waiting for a lookup. Always this handler's own copy.
    private var unparsed: ByteBuffer?
    /// Whether a read was asked for while a lookup was in flight.
    private var readHeld = false
    /// This connection's image rewrites (the API server keeps its webhook connections open).
    private let memo = ImageRewriteMemo()

    /// How long the connection may stay silent; checked by a timer (NIO's IdleStateHandler cost a promise
    /// per write).
    private let idleTimeout: TimeAmount
    private var lastActivity = NIODeadline.now()
    private var idleCheck: RepeatedTask?

    init(responder: AgentResponder, connections: ConnectionTracker, idleTimeout: TimeAmount = .seconds(60)) {
        self.responder = responder
        self.connections = connections
        self.idleTimeout = idleTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let period = TimeAmount.nanoseconds(max(idleTimeout.nanoseconds / 4, 1_000_000))
        idleCheck = context.eventLoop.scheduleRepeatedTask(initialDelay: period, delay: period) { _ in
            let (handler, context) = bound.value
            handler.closeIfIdle(context: context)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        idleCheck?.cancel()
        idleCheck = nil
    }

    /// Nothing read or written for the idle time: an idle keep-alive connection, or a client that stopped
    /// sending in the middle of a request. Only a lookup in progress keeps it open.
    private func closeIfIdle(context: ChannelHandlerContext) {
        if case .waiting = state { return }
        guard NIODeadline.now() - lastActivity >= idleTimeout else { return }
        idleCheck?.cancel()
        idleCheck = nil
        state = .closed
        context.flush()  // an answer waiting for its tick's flush (see `TickFlushBatch`) leaves first
        context.close(promise: nil)
    }

    var isIdle: Bool {
        if case .idle = state { return parser.isBetweenRequests && (unparsed?.readableBytes ?? 0) == 0 } else { return false }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        lastActivity = .now()
        switch state {
        case .closed:
            return
        case .waiting:
            keep(&incoming)
            return
        default:
            break
        }
        if unparsed != nil {
            keep(&incoming)
            parseUnparsed(context: context)
        } else {
            parse(&incoming, context: context)
            if incoming.readableBytes > 0 { keep(&incoming) }
        }
        ownBody(context: context)
    }

    /// Appends `bytes` to `unparsed`, in a buffer of this handler's own.
    private func keep(_ bytes: inout ByteBuffer) {
        if unparsed == nil {
            var copy = ByteBufferAllocator().buffer(capacity: max(bytes.readableBytes, 1024))
            copy.writeBuffer(&bytes)
            unparsed = copy
        } else {
            unparsed!.writeBuffer(&bytes)
        }
    }

    /// Parses what `unparsed` holds (after a lookup, or when a request spans reads).
    private func parseUnparsed(context: ChannelHandlerContext) {
        guard var bytes = unparsed else { return }
        unparsed = nil  // one reference while parsing, so appending does not copy
        parse(&bytes, context: context)
        if bytes.readableBytes > 0 {
            bytes.discardReadBytes()
            unparsed = bytes
        }
    }

    /// Reads request parts from `bytes` and answers complete requests, until the bytes run out, a lookup
    /// starts, or the connection is done.
    private func parse(_ bytes: inout ByteBuffer, context: ChannelHandlerContext) {
        while true {
            switch state {
            case .waiting, .closed: return
            default: break
            }
            let part: HTTPRequestParser.Part
            do {
                guard let next = try parser.next(&bytes) else { return }
                part = next
            } catch {
                refuse(error, context: context)
                return
            }
            handle(part, context: context)
        }
    }

    /// A body still being received is copied out of TLS's read buffer before this read ends.
    private func ownBody(context: ChannelHandlerContext) {
        guard case .receiving(let head, var body, owned: false) = state, body.readableBytes > 0 else { return }
        var copy = context.channel.allocator.buffer(capacity: max(body.readableBytes * 2, 16 * 1024))
        copy.writeBuffer(&body)
        state = .receiving(head, copy, owned: true)
    }

    private func handle(_ part: HTTPRequestParser.Part, context: ChannelHandlerContext) {
        switch (part, state) {
        case (_, .closed), (_, .waiting):
            break
        case (.head(let head), _):
            started = .now()
            let limit = responder.maxBodyBytes
            let tooLarge = head.contentLength.map { $0 > limit } ?? false
            if head.expectsContinue {
                // curl asks before sending bodies over 1 MB; without an answer it waits a second.
                if tooLarge {
                    // Refused before the body is sent: answer now and close, so the body is never read.
                    answer(context: context, head: head, body: nil, close: true)
                    return
                }
                context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: "HTTP/1.1 100 Continue\r\n\r\n")), promise: nil)
            }
            state = tooLarge ? .discarding(head) : .receiving(head, ByteBuffer(), owned: false)
        case (.body(var chunk), .receiving(let head, var body, let owned)):
            state = .idle  // drop the reference while appending, so the buffer is not copied
            if body.readableBytes + chunk.readableBytes > responder.maxBodyBytes {
                state = .discarding(head)
            } else if body.readableBytes == 0 {
                state = .receiving(head, chunk, owned: false)
            } else {
                body.writeBuffer(&chunk)
                state = .receiving(head, body, owned: owned)
            }
        case (.body, _):
            break
        case (.end, .receiving(let head, let body, _)):
            answer(context: context, head: head, body: body, close: false)
        case (.end, .discarding(let head)):
            answer(context: context, head: head, body: nil, close: false)
        case (.end, _):
            break
        }
    }

    private func answer(context: ChannelHandlerContext, head: AgentRequestHead, body: ByteBuffer?, close: Bool) {
        let path = String(head.path)
        switch responder.respond(method: head.method, path: path, contentType: head.contentType, body: body, memo: memo) {
        case .done(let response):
            write(response, context: context, head: head, path: path, close: close)
        case .needsNamespaceLabels(let hook, let review):
            // Only the lookup leaves the event loop; the mutation runs back on it, with this connection's memo.
            state = .waiting
            let responder = self.responder
            let promise = context.eventLoop.makePromise(of: Result<[String: String], AgentResponder.NamespaceLookupError>.self)
            promise.completeWithTask { await responder.namespaceLabels(for: review) }
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            promise.futureResult.whenSuccess { labels in
                let (handler, context) = bound.value
                guard case .waiting = handler.state else { return }  // closed meanwhile
                let response = responder.respond(hook, review, namespaceLabels: labels, memo: handler.memo)
                handler.write(response, context: context, head: head, path: path, close: close)
                handler.answerHeldRequests(context: context)
            }
        }
    }

    /// After a lookup's answer: the requests that arrived meanwhile, then reading again.
    private func answerHeldRequests(context: ChannelHandlerContext) {
        if case .closed = state { return }
        parseUnparsed(context: context)
        ownBody(context: context)
        if case .waiting = state { return }  // another lookup: the rest waits for it
        if readHeld {
            readHeld = false
            context.read()
        }
    }

    /// The metric handles of the last route this connection used: the API server sends one hook's requests
    /// down a connection, so the lookup is almost always skipped.
    private var lastRoute: AgentMetrics.RouteMetrics?
    private var lastPath = ""

    private func routeMetrics(_ path: String) -> AgentMetrics.RouteMetrics {
        if let lastRoute, path == lastPath { return lastRoute }
        let metrics = responder.metrics.route(path: path)
        lastRoute = metrics
        lastPath = path
        return metrics
    }

    /// Writes the whole answer (status line, headers, body) as one buffer.
    private func write(_ response: AgentResponse, context: ChannelHandlerContext, head: AgentRequestHead, path: String, close: Bool) {
        let keepAlive = head.keepAlive && !close && !connections.isDraining
        var out = context.channel.allocator.buffer(capacity: 160 + response.contentType.utf8.count + response.body.count)
        if head.version == .http1_1, response.status == .ok, response.contentType == "application/json" {
            // The webhook's every answer: written without formatting strings.
            out.writeStaticString("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ")
            out.writeString(String(response.body.count))
            out.writeStaticString("\r\n")
        } else {
            out.writeString("HTTP/\(head.version.major).\(head.version.minor) \(response.status.code) \(response.status.reasonPhrase)\r\n")
            out.writeString("content-type: \(response.contentType)\r\ncontent-length: \(response.body.count)\r\n")
        }
        if !keepAlive {
            out.writeString("connection: close\r\n")
        } else if head.version.major == 1, head.version.minor == 0 {
            out.writeString("connection: keep-alive\r\n")  // HTTP/1.0 closes unless told otherwise
        }
        out.writeString("\r\n")
        if head.method != .HEAD { out.writeBytes(response.body) }
        let now = NIODeadline.now()
        lastActivity = now
        routeMetrics(path).record(status: Int(response.status.code), duration: .nanoseconds(Int64((now - started).nanoseconds)))
        if keepAlive {
            state = .idle
            context.write(wrapOutboundOut(out), promise: nil)
            TickFlushBatch.flushAfterTick(context)
        } else {
            state = .closed
            unparsed = nil
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(out)).whenComplete { _ in channel.close(promise: nil) }
        }
    }

    func read(context: ChannelHandlerContext) {
        if case .waiting = state { readHeld = true; return }
        context.read()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ConnectionTracker.Drain {
            // The server is stopping: an idle connection closes now, a busy one after its answer.
            if isIdle {
                context.flush()  // the last answer may still wait for its tick's flush
                context.close(promise: nil)
            }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// A request the parser refused: say why (when no answer is under way) and close.
    private func refuse(_ error: HTTPRequestError, context: ChannelHandlerContext) {
        state = .closed
        unparsed = nil
        let channel = context.channel
        let body = "malformed HTTP request: \(error.reason)\n"
        let status = error.status
        let bad = "HTTP/1.1 \(status.code) \(status.reasonPhrase)\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: \(body.utf8.count)\r\nconnection: close\r\n\r\n" + body
        responder.metrics.route(path: "other").counter(code: Int(status.code)).increment()
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: bad))).whenComplete { _ in channel.close(promise: nil) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        state = .closed
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        state = .closed
        unparsed = nil
        context.fireChannelInactive()
    }
}

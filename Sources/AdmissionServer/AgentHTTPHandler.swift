import Admission
import NIOCore
import NIOHTTP1

/// One HTTPS connection of the agent, on its event loop, right after NIO's HTTP/1.1 request decoder:
/// collects each request (up to the body limit, discarding the rest so the connection stays usable),
/// answers it through `AgentResponder`, and records metrics.
///
/// Requests that need no Kubernetes API call are answered on the event loop without a thread hop, each
/// answer written as one buffer (one TLS record). Namespace lookups run as a task; while one is in flight,
/// requests pipelined behind it are held and reading stops, so answers leave in request order. This
/// replaces NIO's server pipeline, response encoder and error handlers, whose per-request cost was a
/// measurable share of the webhook's.
final class AgentHTTPHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum State {
        case idle
        case receiving(HTTPRequestHead, ByteBuffer)
        /// The body went over the limit: the rest is read and dropped, then 413 is answered.
        case discarding(HTTPRequestHead)
        /// A namespace lookup is in flight for this request.
        case waiting
        /// Answered with `connection: close`, or broken: nothing more is read or answered.
        case closed
    }

    private let responder: AgentResponder
    private let connections: ConnectionTracker
    private var state = State.idle
    private var started = NIODeadline.now()
    /// Request parts that arrived while a lookup was in flight, answered after it.
    private var held = CircularBuffer<HTTPServerRequestPart>()
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
        context.close(promise: nil)
    }

    var isIdle: Bool { if case .idle = state { return held.isEmpty } else { return false } }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        lastActivity = .now()
        if case .waiting = state { held.append(part); return }
        handle(part, context: context)
    }

    private func handle(_ part: HTTPServerRequestPart, context: ChannelHandlerContext) {
        switch (part, state) {
        case (_, .closed):
            break
        case (.head(let head), _):
            started = .now()
            let limit = responder.maxBodyBytes
            let tooLarge = head.headers.first(name: "content-length").flatMap(Int.init).map { $0 > limit } ?? false
            if head.headers.first(name: "expect")?.lowercased() == "100-continue" {
                // curl asks before sending bodies over 1 MB; without an answer it waits a second.
                if tooLarge {
                    // Refused before the body is sent: answer now and close, so the body is never read.
                    answer(context: context, head: head, body: nil, close: true)
                    return
                }
                context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: "HTTP/1.1 100 Continue\r\n\r\n")), promise: nil)
            }
            state = tooLarge ? .discarding(head) : .receiving(head, context.channel.allocator.buffer(capacity: 0))
        case (.body(var chunk), .receiving(let head, var body)):
            state = .idle  // drop the reference while appending, so the buffer is not copied
            if body.readableBytes + chunk.readableBytes > responder.maxBodyBytes {
                state = .discarding(head)
            } else {
                if body.readableBytes == 0 { body = chunk } else { body.writeBuffer(&chunk) }
                state = .receiving(head, body)
            }
        case (.body, _):
            break
        case (.end, .receiving(let head, let body)):
            answer(context: context, head: head, body: body, close: false)
        case (.end, .discarding(let head)):
            answer(context: context, head: head, body: nil, close: false)
        case (.end, _):
            break
        }
    }

    private func answer(context: ChannelHandlerContext, head: HTTPRequestHead, body: ByteBuffer?, close: Bool) {
        let path = head.uri.firstIndex(of: "?").map { String(head.uri[..<$0]) } ?? head.uri
        let contentType = head.headers.first(name: "content-type") ?? ""
        switch responder.respond(method: head.method, path: path, contentType: contentType, body: body, memo: memo) {
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
        while let part = held.popFirst() {
            handle(part, context: context)
            if case .waiting = state { return }  // another lookup: the rest waits for it
        }
        if readHeld {
            readHeld = false
            context.read()
        }
    }

    /// Writes the whole answer (status line, headers, body) as one buffer.
    private func write(_ response: AgentResponse, context: ChannelHandlerContext, head: HTTPRequestHead, path: String, close: Bool) {
        let keepAlive = head.isKeepAlive && !close && !connections.isDraining
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
        responder.metrics.record(route: path, status: Int(response.status.code), duration: .nanoseconds(Int64((now - started).nanoseconds)))
        if keepAlive {
            state = .idle
            context.writeAndFlush(wrapOutboundOut(out), promise: nil)
        } else {
            state = .closed
            held.removeAll()
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
            if isIdle { context.close(promise: nil) }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Broken HTTP framing: say so when no answer is under way (as NIO's protocol error handler did).
        if error is HTTPParserError {
            switch state {
            case .idle, .receiving, .discarding:
                state = .closed
                held.removeAll()
                let channel = context.channel
                let body = "malformed HTTP request: \(error)\n"
                let bad = "HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: \(body.utf8.count)\r\nconnection: close\r\n\r\n" + body
                context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: bad))).whenComplete { _ in channel.close(promise: nil) }
                return
            default:
                break
            }
        }
        state = .closed
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        state = .closed
        held.removeAll()
        context.fireChannelInactive()
    }
}

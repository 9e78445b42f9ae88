import Admission
import NIOCore
import NIOHTTP1

/// One HTTPS connection of the agent, on its event loop: collects each request (up to the body limit,
/// discarding the rest so the connection stays usable), answers it through `AgentResponder`, and records
/// metrics. Requests that need no Kubernetes API call are answered on the event loop without a thread
/// hop; namespace lookups run as a task and their answer is written back on the loop.
final class AgentHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private enum State {
        case idle
        case receiving(HTTPRequestHead, ByteBuffer)
        /// The body went over the limit: the rest is read and dropped, then 413 is answered.
        case discarding(HTTPRequestHead)
        case responding
    }

    private let responder: AgentResponder
    private let connections: ConnectionTracker
    private var state = State.idle
    private var started = NIODeadline.now()

    init(responder: AgentResponder, connections: ConnectionTracker) {
        self.responder = responder
        self.connections = connections
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch (unwrapInboundIn(data), state) {
        case (.head(let head), _):
            started = .now()
            connections.setBusy(context.channel, true)
            let limit = responder.maxBodyBytes
            let tooLarge = head.headers.first(name: "content-length").flatMap(Int.init).map { $0 > limit } ?? false
            if head.headers.first(name: "expect")?.lowercased() == "100-continue" {
                // curl asks before sending bodies over 1 MB; without an answer it waits a second.
                if tooLarge {
                    // Refused before the body is sent: answer now and close, so the body is never read.
                    state = .responding
                    var closing = head
                    closing.headers.replaceOrAdd(name: "connection", value: "close")
                    answer(context: context, head: closing, body: nil)
                    return
                }
                context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .continue))), promise: nil)
            }
            state = tooLarge ? .discarding(head) : .receiving(head, context.channel.allocator.buffer(capacity: 0))
        case (.body(var chunk), .receiving(let head, var body)):
            state = .responding  // drop the reference while appending, so the buffer is not copied
            if body.readableBytes + chunk.readableBytes > responder.maxBodyBytes {
                state = .discarding(head)
            } else {
                if body.readableBytes == 0 { body = chunk } else { body.writeBuffer(&chunk) }
                state = .receiving(head, body)
            }
        case (.body, _):
            break
        case (.end, .receiving(let head, let body)):
            state = .responding
            answer(context: context, head: head, body: body)
        case (.end, .discarding(let head)):
            state = .responding
            answer(context: context, head: head, body: nil)
        case (.end, _):
            break  // the rest of a request already answered (refused on Expect: 100-continue)
        }
    }

    private func answer(context: ChannelHandlerContext, head: HTTPRequestHead, body: ByteBuffer?) {
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        let contentType = head.headers.first(name: "content-type") ?? ""
        switch responder.respond(method: head.method, path: path, contentType: contentType, body: body) {
        case .done(let response):
            write(response, context: context, head: head, path: path)
        case .needsNamespaceLabels(let hook, let review):
            let responder = self.responder
            let promise = context.eventLoop.makePromise(of: AgentResponse.self)
            promise.completeWithTask { await responder.respondWithNamespaceLabels(hook, review) }
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            promise.futureResult.whenSuccess { response in
                let (handler, context) = bound.value
                handler.write(response, context: context, head: head, path: path)
            }
        }
    }

    private func write(_ response: AgentResponse, context: ChannelHandlerContext, head: HTTPRequestHead, path: String) {
        let keepAlive = head.isKeepAlive && !connections.isDraining
        var headers = HTTPHeaders()
        headers.reserveCapacity(3)
        headers.add(name: "content-type", value: response.contentType)
        headers.add(name: "content-length", value: String(response.body.count))
        if !keepAlive { headers.add(name: "connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: response.status, headers: headers))), promise: nil)
        if head.method != .HEAD {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: response.body)))), promise: nil)
        }
        // Everything about this request is settled before `.end` is written: writing it hands the next
        // pipelined request (held by HTTPServerPipelineHandler) to `channelRead` before it returns.
        responder.metrics.record(route: path, status: Int(response.status.code), duration: .nanoseconds(Int64((NIODeadline.now() - started).nanoseconds)))
        state = .idle
        let channel = context.channel, connections = self.connections
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            if !keepAlive {
                channel.close(promise: nil)
            } else if case .idle = handler.value.state {
                // Idle only once the response is out, so a drain never closes a connection mid-answer.
                connections.setBusy(channel, false)
            }
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            // Nothing read or written for the idle time: an idle keep-alive connection, or a client that
            // stopped sending in the middle of a request. Only a lookup in progress keeps it open.
            if case .responding = state {} else {
                context.close(promise: nil)
                return
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

import Foundation
import Logging
import NIOCore
import NIOPosix
import OutpostCore

/// kube-proxy's job for node ports: a TCP listener on 127.0.0.1:<nodePort> for each NodePort service
/// port, forwarding every connection to a ready endpoint of the service (round robin).
actor NodePortProxy {
    let api: ClusterAPI
    let logger: Logger
    private var listeners: [Int: (key: String, channel: Channel)] = [:]
    private var counter = 0

    init(api: ClusterAPI, logger: Logger) { self.api = api; self.logger = logger }

    func run() async {
        while !Task.isCancelled {
            await reconcile()
            try? await Task.sleep(for: .milliseconds(500))
        }
    }

    func stop() async {
        for l in listeners.values { try? await l.channel.close() }
        listeners = [:]
    }

    private func reconcile() async {
        let (services, _) = await api.list(.core("Service", "services"), namespace: nil)
        var wanted: [Int: (String, String, JSONValue)] = [:] // nodePort → (ns, name, port)
        for s in services {
            for p in s["spec"]?["ports"]?.arrayValue ?? [] {
                guard let np = p["nodePort"]?.intValue, (p["protocol"]?.stringValue ?? "TCP") == "TCP" else { continue }
                wanted[np] = (s.namespace, s.name, p)
            }
        }
        for (port, l) in listeners where wanted[port].map({ "\($0.0)/\($0.1)" }) != l.key {
            try? await l.channel.close()
            listeners[port] = nil
        }
        for (port, (ns, name, _)) in wanted where listeners[port] == nil {
            let key = "\(ns)/\(name)"
            let api = self.api
            let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.autoRead, value: false)
                .childChannelInitializer { inbound in
                    let target = TargetBox()
                    let promise = inbound.eventLoop.makePromise(of: Void.self)
                    promise.completeWithTask {
                        guard let (ip, p) = await Self.endpoint(api: api, ns: ns, name: name, nodePort: port) else {
                            throw ChannelError.connectPending
                        }
                        target.set(ip, p)
                    }
                    return promise.futureResult.flatMap {
                        let (ip, p) = target.get()
                        return ClientBootstrap(group: inbound.eventLoop)
                            .channelOption(.autoRead, value: false)
                            .connect(host: ip, port: p)
                            .flatMap { outbound in
                                let (a, b) = GlueHandler.pair()
                                return inbound.pipeline.addHandler(a).flatMap { outbound.pipeline.addHandler(b) }.map {
                                    inbound.read(); outbound.read()
                                }
                            }
                    }.flatMapError { _ in inbound.close() }
                }
            do {
                let channel = try await bootstrap.bind(host: "127.0.0.1", port: port).get()
                listeners[port] = (key, channel)
                logger.info("node port 127.0.0.1:\(port) → service \(key)")
            } catch {
                logger.warning("cannot listen on 127.0.0.1:\(port) for service \(key): \(error)")
            }
        }
    }

    /// A ready endpoint (ip, port) for the service port behind `nodePort`.
    static func endpoint(api: ClusterAPI, ns: String, name: String, nodePort: Int) async -> (String, Int)? {
        guard let svc = await api.store.get("services", ns, name),
              let sp = (svc["spec"]?["ports"]?.arrayValue ?? []).first(where: { $0["nodePort"]?.intValue == nodePort }),
              let ep = await api.store.get("endpoints", ns, name) else { return nil }
        var candidates: [(String, Int)] = []
        for subset in ep["subsets"]?.arrayValue ?? [] {
            let ports = subset["ports"]?.arrayValue ?? []
            guard let port = (ports.first { $0["name"] != nil && $0["name"] == sp["name"] } ?? ports.first)?["port"]?.intValue else { continue }
            for a in subset["addresses"]?.arrayValue ?? [] { if let ip = a["ip"]?.stringValue { candidates.append((ip, port)) } }
        }
        return candidates.randomElement()
    }
}

final class TargetBox: @unchecked Sendable {
    private let lock = NSLock()
    private var ip = "", port = 0
    func set(_ i: String, _ p: Int) { lock.lock(); ip = i; port = p; lock.unlock() }
    func get() -> (String, Int) { lock.lock(); defer { lock.unlock() }; return (ip, port) }
}

/// Copies bytes between two channels with back-pressure (reads only when the peer is writable).
final class GlueHandler: ChannelDuplexHandler, @unchecked Sendable {
    typealias InboundIn = NIOAny
    typealias OutboundIn = NIOAny
    typealias OutboundOut = NIOAny

    private var partner: GlueHandler?
    private var context: ChannelHandlerContext?
    private var pendingRead = false

    static func pair() -> (GlueHandler, GlueHandler) {
        let a = GlueHandler(), b = GlueHandler()
        a.partner = b; b.partner = a
        return (a, b)
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil; partner = nil }

    private func partnerWrite(_ data: NIOAny) { context?.write(data, promise: nil) }
    private func partnerFlush() { context?.flush() }
    private func partnerWriteEOF() { context?.close(mode: .output, promise: nil) }
    private func partnerCloseFull() { context?.close(promise: nil) }
    private func partnerBecameWritable() { if pendingRead { pendingRead = false; context?.read() } }
    private var partnerWritable: Bool { context?.channel.isWritable ?? false }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) { partner?.partnerWrite(data) }
    func channelReadComplete(context: ChannelHandlerContext) { partner?.partnerFlush() }
    func channelInactive(context: ChannelHandlerContext) { partner?.partnerCloseFull() }
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let e = event as? ChannelEvent, case .inputClosed = e { partner?.partnerWriteEOF() }
        context.fireUserInboundEventTriggered(event)
    }
    func errorCaught(context: ChannelHandlerContext, error: Error) { partner?.partnerCloseFull(); context.close(promise: nil) }
    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { partner?.partnerBecameWritable() }
    }
    func read(context: ChannelHandlerContext) {
        if let p = partner, p.partnerWritable { context.read() } else { pendingRead = true }
    }
}

import Crypto
import Foundation
import Logging
import NIOCore
import NIOPosix
import OutpostCore

/// kube-proxy's job. Every TCP service port answers on the service's cluster IP, which the proxy puts
/// on the host's loopback interface (labelled per simulator, see `HostAddresses`): pods reach it through
/// their bridge gateway, so `<svc>.<ns>.svc.cluster.local:<port>` works inside pods as it does in a
/// cluster. NodePort services also answer on 127.0.0.1:<nodePort>. Each connection goes to a ready
/// endpoint of the service port (chosen at random; the next is tried when one refuses), on the
/// endpoint's port for that service port, i.e. the resolved targetPort.
actor ServiceProxy {
    let api: ClusterAPI
    let logger: Logger
    let addresses: HostAddresses
    /// "ip:port" → (target description, listening channel)
    private var listeners: [String: (key: String, channel: Channel)] = [:]
    private var warnedAddresses = false

    init(api: ClusterAPI, addresses: HostAddresses, logger: Logger) {
        self.api = api; self.addresses = addresses; self.logger = logger
    }

    func run() async {
        while !Task.isCancelled {
            await reconcile()
            try? await Task.sleep(for: .milliseconds(500))
        }
    }

    func stop() async {
        for l in listeners.values { try? await l.channel.close() }
        listeners = [:]
        await addresses.removeAll()
    }

    /// Which service port a listener serves: by its port number (cluster IP) or its node port.
    enum PortMatch: Sendable, Hashable { case port(Int), nodePort(Int) }

    struct Target: Sendable, Hashable {
        var namespace: String, name: String, match: PortMatch
        var key: String { "\(namespace)/\(name)/\(match)" }
    }

    private func reconcile() async {
        let (services, _) = await api.list(.core("Service", "services"), namespace: nil)
        var wanted: [String: (host: String, port: Int, target: Target)] = [:]
        var wantedIPs = Set<String>()
        for s in services {
            let type = s["spec"]?["type"]?.stringValue ?? "ClusterIP"
            let ip = s["spec"]?["clusterIP"]?.stringValue ?? ""
            let hasClusterIP = type != "ExternalName" && !ip.isEmpty && ip != "None"
            for p in s["spec"]?["ports"]?.arrayValue ?? [] where (p["protocol"]?.stringValue ?? "TCP") == "TCP" {
                if let port = p["port"]?.intValue, hasClusterIP {
                    wanted["\(ip):\(port)"] = (ip, port, Target(namespace: s.namespace, name: s.name, match: .port(port)))
                    wantedIPs.insert(ip)
                }
                if let np = p["nodePort"]?.intValue {
                    wanted["127.0.0.1:\(np)"] = ("127.0.0.1", np, Target(namespace: s.namespace, name: s.name, match: .nodePort(np)))
                }
            }
        }
        for (address, l) in listeners where wanted[address]?.target.key != l.key {
            try? await l.channel.close()
            listeners[address] = nil
        }
        let present = await addresses.sync(wantedIPs)
        if present.count < wantedIPs.count && !warnedAddresses {
            warnedAddresses = true
            logger.warning("cannot put service cluster IPs on the loopback interface (needs root and iproute2): service names will not answer inside pods")
        }
        for (address, w) in wanted where listeners[address] == nil {
            guard w.host == "127.0.0.1" || present.contains(w.host) else { continue }
            do {
                listeners[address] = (w.target.key, try await listen(host: w.host, port: w.port, target: w.target))
                logger.info("service \(w.target.namespace)/\(w.target.name): \(address)")
            } catch {
                logger.warning("cannot listen on \(address) for service \(w.target.namespace)/\(w.target.name): \(error)")
            }
        }
    }

    private func listen(host: String, port: Int, target: Target) async throws -> Channel {
        let api = self.api
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.autoRead, value: false)
            // A client that shuts down its sending side (nc, after its input ends) still gets the reply.
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { inbound in
                let promise = inbound.eventLoop.makePromise(of: Channel.self)
                promise.completeWithTask {
                    // Try the ready endpoints in random order until one accepts.
                    for (ip, p) in await Self.endpoints(api: api, target: target).shuffled() {
                        if let ch = try? await ClientBootstrap(group: inbound.eventLoop)
                            .channelOption(.autoRead, value: false)
                            .channelOption(.allowRemoteHalfClosure, value: true)
                            .connectTimeout(.seconds(3))
                            .connect(host: ip, port: p).get() {
                            return ch
                        }
                    }
                    throw ChannelError.connectPending
                }
                return promise.futureResult.flatMap { outbound in
                    let (a, b) = GlueHandler.pair()
                    return inbound.pipeline.addHandler(a).flatMap { outbound.pipeline.addHandler(b) }.map {
                        if inbound.isActive { inbound.read() }
                        outbound.read()
                    }
                }.flatMapError { _ in inbound.close() }
            }
        return try await bootstrap.bind(host: host, port: port).get()
    }

    /// The ready endpoints (ip, port) of a service port: the endpoint port with the service port's name
    /// (or the only one), i.e. its targetPort as resolved for those pods.
    static func endpoints(api: ClusterAPI, target: Target) async -> [(String, Int)] {
        guard let svc = await api.store.get("services", target.namespace, target.name),
              let sp = (svc["spec"]?["ports"]?.arrayValue ?? []).first(where: {
                  switch target.match {
                  case .port(let p): return $0["port"]?.intValue == p
                  case .nodePort(let p): return $0["nodePort"]?.intValue == p
                  }
              }),
              let ep = await api.store.get("endpoints", target.namespace, target.name) else { return [] }
        var candidates: [(String, Int)] = []
        for subset in ep["subsets"]?.arrayValue ?? [] {
            let ports = subset["ports"]?.arrayValue ?? []
            let named = ports.first { $0["name"] != nil && $0["name"] == sp["name"] }
            guard let port = (named ?? (ports.count == 1 ? ports.first : nil))?["port"]?.intValue else { continue }
            for a in subset["addresses"]?.arrayValue ?? [] { if let ip = a["ip"]?.stringValue { candidates.append((ip, port)) } }
        }
        return candidates
    }
}

/// Service cluster IPs on the host's loopback interface, each with this simulator's label
/// (`lo:osim<hash of the state directory>`), so that `down` (or the next `up`) removes exactly
/// these, even after a crash. Pods reach them through their bridge network's gateway.
actor HostAddresses {
    let label: String
    private var present = Set<String>()
    /// Addresses whose `ip addr add` failed, and when: tried again after a few seconds.
    private var failed: [String: Date] = [:]

    init(stateDirectory: String) { label = Self.label(stateDirectory: stateDirectory) }

    static func label(stateDirectory: String) -> String {
        let digest = SHA256.hash(data: Data(stateDirectory.utf8))
        return "lo:osim" + digest.prefix(4).map { String(format: "%02x", $0) }.joined()
    }

    /// Adds the wanted addresses and removes the others; returns those present.
    func sync(_ wanted: Set<String>) async -> Set<String> {
        for ip in present.subtracting(wanted) {
            _ = try? await Self.ip(["addr", "del", ip + "/32", "dev", "lo"])
            present.remove(ip)
        }
        for ip in wanted.subtracting(present) where Date().timeIntervalSince(failed[ip] ?? .distantPast) > 5 {
            // (An address another simulator holds fails with "File exists" and stays unused.)
            if (try? await Self.ip(["addr", "add", ip + "/32", "dev", "lo", "label", label]).status) == 0 { present.insert(ip); failed[ip] = nil }
            else { failed[ip] = Date() }
        }
        return present
    }

    func removeAll() async {
        _ = await sync([])
        try? await Self.flush(label: label)
    }

    /// Removes every address carrying `label` (teardown of a simulator that may have died).
    static func flush(label: String) async throws {
        _ = try await ip(["-4", "addr", "flush", "dev", "lo", "label", label])
    }

    private static func ip(_ args: [String]) async throws -> Subprocess.Result {
        guard let ip = Subprocess.which("ip") else {
            throw SimulatorError.runtime(program: "ip", arguments: args, status: 127, output: "iproute2 is not installed")
        }
        return try await Subprocess.run(ip, args)
    }
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
    private var inputClosed = false, outputClosed = false
    /// The peer finished sending: finish ours too, and close fully once both directions are done.
    private func partnerWriteEOF() {
        outputClosed = true
        if inputClosed { context?.close(promise: nil) } else { context?.close(mode: .output, promise: nil) }
    }
    private func partnerCloseFull() { context?.close(promise: nil) }
    private func partnerBecameWritable() { if pendingRead { pendingRead = false; context?.read() } }

    /// With autoRead off, each read is requested explicitly, and only while the peer can take the data.
    private func requestRead(_ context: ChannelHandlerContext) {
        if let p = partner, p.partnerWritable { context.read() } else { pendingRead = true }
    }
    private var partnerWritable: Bool { context?.channel.isWritable ?? false }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) { partner?.partnerWrite(data) }
    func channelReadComplete(context: ChannelHandlerContext) { partner?.partnerFlush(); requestRead(context) }
    func channelActive(context: ChannelHandlerContext) { context.fireChannelActive(); requestRead(context) }
    func channelInactive(context: ChannelHandlerContext) { partner?.partnerCloseFull() }
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let e = event as? ChannelEvent, case .inputClosed = e {
            inputClosed = true
            partner?.partnerWriteEOF()
            if outputClosed { context.close(promise: nil) }
        }
        context.fireUserInboundEventTriggered(event)
    }
    func errorCaught(context: ChannelHandlerContext, error: Error) { partner?.partnerCloseFull(); context.close(promise: nil) }
    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { partner?.partnerBecameWritable() }
    }
    func read(context: ChannelHandlerContext) { context.read() }
}

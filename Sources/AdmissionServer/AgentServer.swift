import Admission
import Cluster
import Dispatch
import Foundation
import Logging
import CoreMetrics
import Metrics
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Prometheus
import Synchronization

/// The agent's HTTPS server: the mutate routes of zarf-compat.md, `/healthz` and `/metrics`, TLS 1.2+,
/// certificate and state reload from mounted files, graceful shutdown on SIGTERM/SIGINT.
///
/// Built on SwiftNIO directly (TLS, then `AgentHTTPHandler` with its own HTTP/1.1 request parser): an admission
/// request is pure computation, so it is answered on the connection's event loop, with no task or thread
/// hop per request (Hummingbird's async handlers cost more than the mutation itself).
public struct AgentServer: Sendable {
    public let options: AgentServerOptions
    let material: ServerMaterial
    let metrics: AgentMetrics
    let logger: Logger
    /// Namespace labels from the Kubernetes API; nil when no cluster is configured.
    let namespaces: NamespaceLabelCache?

    /// How long a stop waits for requests in flight before closing their connections.
    public static let drainTimeout: Duration = .seconds(30)

    public init(options: AgentServerOptions, logger: Logger = Logger(label: "outpost.agent")) throws {
        self.options = options
        self.logger = logger
        self.material = try ServerMaterial(options: options, logger: logger)
        self.metrics = AgentMetrics()
        if let cluster = options.cluster {
            let client: KubernetesClient
            do { client = try KubernetesClient(configuration: cluster, timeout: options.apiTimeout) } catch {
                throw AgentServerError.cluster("\(error)")
            }
            namespaces = NamespaceLabelCache(ttl: options.namespaceCacheTTL, capacity: options.namespaceCacheSize) { name in
                try await client.namespace(name).labels
            }
        } else {
            namespaces = nil
        }
    }

    /// One line for the start-up log: where namespace labels come from, or that they are not read.
    public var namespaceLookupSummary: String {
        guard let cluster = options.cluster else {
            return "namespace lookups off (no --kubeconfig and not in a pod): a namespace's zarf.dev/agent label is honoured only through the webhook's namespaceSelector"
        }
        return "namespace labels from \(cluster.source) at \(cluster.server), cached \(options.namespaceCacheTTL.components.seconds) s"
    }

    var responder: AgentResponder {
        AgentResponder(material: material, metrics: metrics, namespaces: namespaces, logger: logger, maxBodyBytes: options.maxBodyBytes)
    }

    /// Serves until SIGTERM or SIGINT, then stops accepting, closes idle connections and finishes the
    /// requests in flight (for up to `drainTimeout`). `onRunning` is called with the bound port once the
    /// server listens.
    public func run(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let termination = TerminationSignal()  // before binding, so an early SIGTERM is not the default (exit)
        let material = self.material
        let responder = self.responder
        let connections = ConnectionTracker()
        let idleTimeout = options.idleTimeout
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    connections.opened(channel)
                    let pipeline = channel.pipeline.syncOperations
                    // The context current at accept time: a rotated certificate is served without a restart.
                    try pipeline.addHandler(NIOSSLServerHandler(context: material.sslContext))
                    try pipeline.addHandler(AgentHTTPHandler(responder: responder, connections: connections,
                                                             idleTimeout: TimeAmount(idleTimeout)))
                }
            }
        let listener = try await bootstrap.bind(host: options.host, port: options.port).get()
        let interval = options.reloadInterval
        let reload = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                if Task.isCancelled { break }
                material.reloadIfChanged()
            }
        }
        defer { reload.cancel() }
        await onRunning(listener.localAddress?.port ?? 0)
        let signal = await termination.wait()
        logger.info("stopping: finishing the requests in flight", metadata: ["signal": "\(signal)"])
        try? await listener.close()
        connections.beginDraining()
        await connections.waitUntilClosed(timeout: Self.drainTimeout)
    }
}

/// Waits for SIGTERM or SIGINT (the kubelet's stop, or Ctrl-C) without the default action of exiting.
/// `@unchecked`: the signal sources are set up in `init` and only cancelled in `deinit`; the state they
/// share is behind a Mutex.
final class TerminationSignal: @unchecked Sendable {
    private let sources: [any DispatchSourceSignal]
    private let received = Mutex<(signal: Int32?, waiter: CheckedContinuation<Int32, Never>?)>((nil, nil))

    init() {
        var sources: [any DispatchSourceSignal] = []
        for sig in [SIGTERM, SIGINT] {
            signal(sig, SIG_IGN)
            sources.append(DispatchSource.makeSignalSource(signal: sig, queue: .global()))
        }
        self.sources = sources
        for (source, sig) in zip(sources, [SIGTERM, SIGINT]) {
            source.setEventHandler { [weak self] in self?.deliver(sig) }
            source.resume()
        }
    }

    private func deliver(_ sig: Int32) {
        let waiter = received.withLock { state -> CheckedContinuation<Int32, Never>? in
            guard state.signal == nil else { return nil }
            state.signal = sig
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: sig)
    }

    /// The first signal received (at once if it already came).
    func wait() async -> Int32 {
        await withCheckedContinuation { continuation in
            let already = received.withLock { state -> Int32? in
                if let s = state.signal { return s }
                state.waiter = continuation
                return nil
            }
            if let already { continuation.resume(returning: already) }
        }
    }

    deinit { for source in sources { source.cancel() } }
}

/// Request counts and latency histograms per route, in a private Prometheus registry (no global
/// MetricsSystem bootstrap, so several servers can live in one process).
final class AgentMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    let factory: PrometheusMetricsFactory
    /// The metric handles of every known route (and "other"), made once: looking them up in the registry by
    /// label on each request was a measurable share of a request's cost.
    private let routes: [String: RouteMetrics]

    /// One route's request counter per status code and its latency histogram.
    struct RouteMetrics: Sendable {
        let route: String
        let duration: CoreMetrics.Timer
        let counters: [Int: CoreMetrics.Counter]
        let factory: PrometheusMetricsFactory

        func counter(code: Int) -> CoreMetrics.Counter {
            counters[code] ?? CoreMetrics.Counter(label: "outpost_agent_requests_total",
                                                  dimensions: [("route", route), ("code", String(code))], factory: factory)
        }

        func record(status: Int, duration elapsed: Duration) {
            counter(code: status).increment()
            let (s, atto) = elapsed.components
            duration.recordNanoseconds(s * 1_000_000_000 + atto / 1_000_000_000)
        }
    }

    init() {
        var f = PrometheusMetricsFactory(registry: registry)
        f.defaultDurationHistogramBuckets = [
            .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
            .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
            .milliseconds(500), .seconds(1), .seconds(5),
        ]
        factory = f
        var routes: [String: RouteMetrics] = [:]
        for route in Self.knownRoutes.union(["other"]) {
            var counters: [Int: CoreMetrics.Counter] = [:]
            for code in Self.commonCodes {
                counters[code] = CoreMetrics.Counter(
                    label: "outpost_agent_requests_total", dimensions: [("route", route), ("code", String(code))], factory: f)
            }
            routes[route] = RouteMetrics(
                route: route,
                duration: CoreMetrics.Timer(label: "outpost_agent_request_duration_seconds", dimensions: [("route", route)], factory: f),
                counters: counters, factory: f)
        }
        self.routes = routes
    }

    func recordNamespaceLookup(_ outcome: NamespaceLabelCache.Outcome) {
        let result: String
        switch outcome {
        case .hit: result = "hit"
        case .miss: result = "miss"
        case .failure: result = "error"
        }
        CoreMetrics.Counter(label: "outpost_agent_namespace_lookups_total", dimensions: [("result", result)], factory: factory).increment()
    }

    static let knownRoutes: Set<String> = Set(AgentResponder.routes.keys)
    static let commonCodes = [200, 400, 404, 405, 413, 500]

    /// The handles of the route at `path` (unknown paths share "other").
    func route(path: String) -> RouteMetrics { routes[path] ?? routes["other"]! }
}

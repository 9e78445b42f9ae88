import Admission
import Cluster
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import CoreMetrics
import Metrics
import NIOCore
import NIOPosix
import Prometheus

/// The agent's HTTPS server: the mutate routes of zarf-compat.md, `/healthz` and `/metrics`, TLS 1.2+,
/// certificate and state reload from mounted files, graceful shutdown on SIGTERM/SIGINT.
public struct AgentServer: Sendable {
    public let options: AgentServerOptions
    let material: ServerMaterial
    let metrics: AgentMetrics
    let logger: Logger
    /// Namespace labels from the Kubernetes API; nil when no cluster is configured.
    let namespaces: NamespaceLabelCache?

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

    /// Runs Swift concurrency's jobs on NIO's event loop threads (the ones serving the connections) instead
    /// of a second thread pool, so a request does not hop between threads on its way through: on a 2-core
    /// node that is 2 busy threads instead of 4. Process-wide and once only: the CLI calls it before serving.
    @discardableResult
    public static func runConcurrencyOnEventLoops() -> Bool {
        NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
    }

    /// Serves until SIGTERM or SIGINT, then stops accepting and finishes the requests in flight.
    /// `onRunning` is called with the bound port once the server listens.
    public func run(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let material = self.material
        let app = Application(
            router: makeRouter(),
            server: HTTPServerBuilder { responder in
                ReloadableTLSChannel(base: HTTP1Channel(responder: responder, configuration: .init(idleTimeout: .seconds(60))),
                                     material: material)
            },
            configuration: .init(address: .hostname(options.host, port: options.port), serverName: nil),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? 0) },
            logger: logger
        )
        let interval = options.reloadInterval
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: interval)
                    if Task.isCancelled { break }
                    material.reloadIfChanged()
                }
            }
            defer { group.cancelAll() }
            try await app.runService()
        }
    }

    func makeRouter() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: MetricsMiddleware(metrics: metrics))
        for hook in Hook.allCases {
            router.post(RouterPath(hook.path)) { request, _ in
                await self.handle(hook, request)
            }
        }
        router.get("/healthz") { _, _ in Self.text(.ok, "ok\n") }
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(bytes: self.metrics.registry.emitToBuffer())))
        }
        return router
    }

    /// One admission request: content type, size limit, parse, mutate. Never throws: every failure is a status.
    func handle(_ hook: Hook, _ request: Request) async -> Response {
        let contentType = request.headers[.contentType] ?? ""
        guard Self.isJSON(contentType) else {
            return Self.text(.badRequest, "Content-Type must be application/json, got \"\(contentType)\"\n")
        }
        let limit = options.maxBodyBytes
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            return Self.text(.contentTooLarge, "request body of \(length) bytes is over the \(limit)-byte limit\n")
        }
        var request = request
        let buffer: ByteBuffer
        do { buffer = try await request.collectBody(upTo: limit) } catch {
            if error is NIOTooManyBytesError {
                return Self.text(.contentTooLarge, "request body is over the \(limit)-byte limit\n")
            }
            return Self.text(.badRequest, "cannot read the request body: \(error)\n")
        }
        do {
            let review = try AdmissionRequest.parse(Data(buffer.readableBytesView))
            let result: AdmissionResult
            if let namespaces, Mutator.needsNamespaceLabels(review) {
                do {
                    let (labels, outcome) = try await namespaces.labels(review.namespace)
                    metrics.recordNamespaceLookup(outcome)
                    result = material.mutator.mutate(hook, review, namespaceLabels: labels)
                } catch {
                    metrics.recordNamespaceLookup(.failure)
                    logger.warning("namespace lookup failed; refusing", metadata: ["namespace": .string(review.namespace), "error": "\(error)"])
                    result = Mutator.namespaceLookupFailure(namespace: review.namespace, reason: "\(error)")
                }
            } else {
                result = material.mutator.mutate(hook, review)
            }
            let out = try result.responseBody(for: review)
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: out)))
        } catch let error as AdmissionError {
            return Self.text(.badRequest, "\(error)\n")
        } catch {
            logger.error("cannot encode the admission response: \(error)")
            return Self.text(.internalServerError, "cannot encode the admission response\n")
        }
    }

    /// `application/json`, with any parameters (`; charset=utf-8`) and in any case. The API server sends
    /// exactly `application/json`, so that is checked first without building strings.
    static func isJSON(_ contentType: String) -> Bool {
        if contentType == "application/json" { return true }
        let mediaType = contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        return mediaType == "application/json"
    }

    static func text(_ status: HTTPResponse.Status, _ body: String) -> Response {
        Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"],
                 body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}

/// Request counts and latency histograms per route, in a private Prometheus registry (no global
/// MetricsSystem bootstrap, so several servers can live in one process).
final class AgentMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    let factory: PrometheusMetricsFactory
    private let counters: [String: [Int: CoreMetrics.Counter]]
    private let durations: [String: CoreMetrics.Timer]

    init() {
        var f = PrometheusMetricsFactory(registry: registry)
        f.defaultDurationHistogramBuckets = [
            .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
            .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
            .milliseconds(500), .seconds(1), .seconds(5),
        ]
        factory = f
        var counters: [String: [Int: CoreMetrics.Counter]] = [:]
        var durations: [String: CoreMetrics.Timer] = [:]
        for route in Self.knownRoutes.union(["other"]) {
            durations[route] = CoreMetrics.Timer(label: "outpost_agent_request_duration_seconds", dimensions: [("route", route)], factory: f)
            for code in Self.commonCodes {
                counters[route, default: [:]][code] = CoreMetrics.Counter(
                    label: "outpost_agent_requests_total", dimensions: [("route", route), ("code", String(code))], factory: f)
            }
        }
        self.counters = counters
        self.durations = durations
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

    static let knownRoutes: Set<String> = Set(Hook.allCases.map(\.path) + ["/healthz", "/metrics"])
    static let commonCodes = [200, 400, 404, 405, 413, 500]

    /// The metric handles of every known route (and its common status codes), made once: looking them up
    /// in the registry by label on each request was a measurable share of a request's cost.

    func counter(route: String, code: Int) -> CoreMetrics.Counter {
        if let c = counters[route]?[code] { return c }
        return CoreMetrics.Counter(label: "outpost_agent_requests_total", dimensions: [("route", route), ("code", String(code))], factory: factory)
    }

    func record(route: String, status: Int, duration: Duration) {
        let r = Self.knownRoutes.contains(route) ? route : "other"
        counter(route: r, code: status).increment()
        let (s, atto) = duration.components
        let timer = durations[r] ?? CoreMetrics.Timer(label: "outpost_agent_request_duration_seconds", dimensions: [("route", r)], factory: factory)
        timer.recordNanoseconds(s * 1_000_000_000 + atto / 1_000_000_000)
    }
}

struct MetricsMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let metrics: AgentMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let path = request.uri.path
        do {
            let response = try await next(request, context)
            metrics.record(route: path, status: Int(response.status.code), duration: ContinuousClock.now - start)
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            metrics.record(route: path, status: Int(status), duration: ContinuousClock.now - start)
            throw error
        }
    }
}

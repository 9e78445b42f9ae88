import Admission
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import CoreMetrics
import Metrics
import NIOCore
import Prometheus

/// The agent's HTTPS server: the mutate routes of zarf-compat.md, `/healthz` and `/metrics`, TLS 1.2+,
/// certificate and state reload from mounted files, graceful shutdown on SIGTERM/SIGINT.
public struct AgentServer: Sendable {
    public let options: AgentServerOptions
    let material: ServerMaterial
    let metrics: AgentMetrics
    let logger: Logger

    public init(options: AgentServerOptions, logger: Logger = Logger(label: "outpost.agent")) throws {
        self.options = options
        self.logger = logger
        self.material = try ServerMaterial(options: options, logger: logger)
        self.metrics = AgentMetrics()
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
        let mediaType = contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        guard mediaType == "application/json" else {
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
            let out = try material.mutator.review(hook, body: Data(buffer.readableBytesView))
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: out)))
        } catch let error as AdmissionError {
            return Self.text(.badRequest, "\(error)\n")
        } catch {
            logger.error("cannot encode the admission response: \(error)")
            return Self.text(.internalServerError, "cannot encode the admission response\n")
        }
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

    init() {
        var f = PrometheusMetricsFactory(registry: registry)
        f.defaultDurationHistogramBuckets = [
            .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
            .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
            .milliseconds(500), .seconds(1), .seconds(5),
        ]
        factory = f
    }

    static let knownRoutes: Set<String> = Set(Hook.allCases.map(\.path) + ["/healthz", "/metrics"])

    func record(route: String, status: Int, duration: Duration) {
        let r = Self.knownRoutes.contains(route) ? route : "other"
        CoreMetrics.Counter(label: "outpost_agent_requests_total", dimensions: [("route", r), ("code", String(status))], factory: factory)
            .increment()
        let (s, atto) = duration.components
        CoreMetrics.Timer(label: "outpost_agent_request_duration_seconds", dimensions: [("route", r)], factory: factory)
            .recordNanoseconds(s * 1_000_000_000 + atto / 1_000_000_000)
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

import Admission
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// One HTTP answer of the agent, independent of the transport.
struct AgentResponse: Sendable {
    var status: HTTPResponseStatus
    var contentType: String
    var body: [UInt8]

    static func text(_ status: HTTPResponseStatus, _ body: String) -> AgentResponse {
        AgentResponse(status: status, contentType: "text/plain; charset=utf-8", body: Array(body.utf8))
    }
}

/// What the agent answers to one request, apart from the HTTP transport: routes, content type, body limit,
/// parsing and mutation. Synchronous except for namespace label lookups, which need the Kubernetes API:
/// `respond` says so with `.needsNamespaceLabels`; the caller awaits `namespaceLabels(for:)` and then
/// answers with `respond(_:_:namespaceLabels:)` back on its event loop.
struct AgentResponder: Sendable {
    let material: ServerMaterial
    let metrics: AgentMetrics
    let namespaces: NamespaceLabelCache?
    let logger: Logger
    let maxBodyBytes: Int

    enum Outcome {
        case done(AgentResponse)
        case needsNamespaceLabels(Hook, AdmissionRequest)
    }

    enum Route: Equatable {
        case hook(Hook), health, metrics, notFound
    }

    static let routes: [String: Route] = {
        var r: [String: Route] = ["/healthz": .health, "/metrics": .metrics]
        for hook in Hook.allCases { r[hook.path] = .hook(hook) }
        return r
    }()

    static func route(path: String) -> Route { routes[path] ?? .notFound }

    /// The answer to `method path` with the whole body (nil when it was over the limit). `memo` holds the
    /// connection's earlier image rewrites.
    func respond(method: HTTPMethod, path: String, contentType: String, body: ByteBuffer?, memo: ImageRewriteMemo? = nil) -> Outcome {
        switch Self.route(path: path) {
        case .notFound:
            return .done(.text(.notFound, "no route \(path)\n"))
        case .health:
            guard method == .GET || method == .HEAD else { return .done(.text(.methodNotAllowed, "use GET\n")) }
            return .done(.text(.ok, "ok\n"))
        case .metrics:
            guard method == .GET || method == .HEAD else { return .done(.text(.methodNotAllowed, "use GET\n")) }
            return .done(AgentResponse(status: .ok, contentType: "text/plain; version=0.0.4; charset=utf-8",
                                       body: metrics.registry.emitToBuffer()))
        case .hook(let hook):
            guard method == .POST else { return .done(.text(.methodNotAllowed, "use POST\n")) }
            guard Self.isJSON(contentType) else {
                return .done(.text(.badRequest, "Content-Type must be application/json, got \"\(contentType)\"\n"))
            }
            guard let body else { return .done(.text(.payloadTooLarge, "request body is over the \(maxBodyBytes)-byte limit\n")) }
            let review: AdmissionRequest
            do {
                review = try body.withUnsafeReadableBytes { raw in
                    try AdmissionRequest.parse(buffer: raw.assumingMemoryBound(to: UInt8.self), for: hook)
                }
            } catch {
                return .done(.text(.badRequest, "\(error)\n"))
            }
            if namespaces != nil, Mutator.needsNamespaceLabels(review) { return .needsNamespaceLabels(hook, review) }
            return .done(encode(material.mutator.mutate(hook, review, memo: memo), for: review))
        }
    }

    /// The labels of `review`'s namespace (cached), or why they could not be read. Runs off the event loop.
    func namespaceLabels(for review: AdmissionRequest) async -> Result<[String: String], NamespaceLookupError> {
        guard let namespaces else { return .success([:]) }
        do {
            let (labels, outcome) = try await namespaces.labels(review.namespace)
            metrics.recordNamespaceLookup(outcome)
            return .success(labels)
        } catch {
            metrics.recordNamespaceLookup(.failure)
            logger.warning("namespace lookup failed; refusing", metadata: ["namespace": .string(review.namespace), "error": "\(error)"])
            return .failure(NamespaceLookupError(reason: "\(error)"))
        }
    }

    /// The rest of `respond` once the namespace labels are known (or known to be unreadable).
    func respond(_ hook: Hook, _ review: AdmissionRequest, namespaceLabels: Result<[String: String], NamespaceLookupError>,
                 memo: ImageRewriteMemo? = nil) -> AgentResponse {
        switch namespaceLabels {
        case .success(let labels):
            return encode(material.mutator.mutate(hook, review, namespaceLabels: labels, memo: memo), for: review)
        case .failure(let failure):
            return encode(Mutator.namespaceLookupFailure(namespace: review.namespace, reason: failure.reason), for: review)
        }
    }

    /// Why a namespace's labels could not be read.
    struct NamespaceLookupError: Error, Sendable { let reason: String }

    private func encode(_ result: AdmissionResult, for review: AdmissionRequest) -> AgentResponse {
        do {
            return AgentResponse(status: .ok, contentType: "application/json", body: try result.responseBody(for: review))
        } catch {
            logger.error("cannot encode the admission response: \(error)")
            return .text(.internalServerError, "cannot encode the admission response\n")
        }
    }

    /// `application/json`, with any parameters (`; charset=utf-8`) and in any case. The API server sends
    /// exactly `application/json`, so that is checked first without building strings.
    static func isJSON(_ contentType: String) -> Bool {
        if contentType == "application/json" { return true }
        let mediaType = contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        return mediaType == "application/json"
    }
}

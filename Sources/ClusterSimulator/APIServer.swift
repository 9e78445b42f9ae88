import Foundation
import Hummingbird
import NIOCore
import NIOFoundationCompat
import OutpostCore

/// The HTTP face of the simulated API server: parses Kubernetes REST paths, query parameters and
/// content types, and turns results and errors into JSON responses (objects, lists, Tables, watch
/// streams, `Status` failures). All semantics live in `ClusterAPI`.
struct APIResponder: HTTPResponder {
    typealias Context = BasicRequestContext
    let api: ClusterAPI
    let discovery: Discovery
    let token: String
    let logs: @Sendable (String, String, String?, LogOptions) async throws -> ResponseBody

    struct LogOptions: Sendable { var follow = false; var tailLines: Int? = nil; var previous = false; var timestamps = false }

    func respond(to request: Request, context: Context) async throws -> Response {
        do {
            var request = request
            let auth = request.headers[.authorization] ?? ""
            if auth != "Bearer \(token)" && !["/healthz", "/readyz", "/livez", "/version"].contains(request.uri.path) {
                throw SimulatorError.api(code: 401, reason: "Unauthorized", message: "Unauthorized", details: nil)
            }
            let body = try await request.collectBody(upTo: 8 << 20)
            return try await route(request, body: Data(buffer: body))
        } catch let e as SimulatorError {
            return Self.json(e.statusObject, status: e.httpCode)
        } catch {
            return Self.json(SimulatorError.internalError("\(error)").statusObject, status: 500)
        }
    }

    static func json(_ value: JSONValue, status: Int = 200) -> Response {
        let data = (try? value.encoded()) ?? Data("{}".utf8)
        return Response(status: .init(code: status), headers: [.contentType: "application/json"],
                        body: ResponseBody(byteBuffer: ByteBuffer(data: data)))
    }

    static func text(_ s: String, status: Int = 200) -> Response {
        Response(status: .init(code: status), headers: [.contentType: "text/plain"],
                 body: ResponseBody(byteBuffer: ByteBuffer(string: s)))
    }

    /// Query parameters, percent-decoded (`+` is a space, as Go's client encodes it).
    static func query(_ request: Request) -> [String: String] {
        var out: [String: String] = [:]
        for pair in (request.uri.query ?? "").split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1).map {
                String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0)
            }
            out[kv[0]] = kv.count > 1 ? kv[1] : ""
        }
        return out
    }

    private func route(_ request: Request, body: Data) async throws -> Response {
        let path = request.uri.path
        let q = Self.query(request)
        let parts = path.split(separator: "/").map(String.init)
        let method = request.method
        if let doc = try discovery.document(path: path, parts: parts, accept: request.headers[.accept] ?? "") {
            return Self.json(doc)
        }
        if ["/healthz", "/readyz", "/livez"].contains(path) { return Self.text("ok") }
        if path == "/openapi/v2" {
            // An empty OpenAPI v2 document (protobuf has no bytes for it): clients skip schema validation.
            return Response(status: .ok, headers: [.contentType: "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"],
                            body: ResponseBody(byteBuffer: ByteBuffer()))
        }
        if (request.headers[.contentType] ?? "").contains("protobuf") {
            throw SimulatorError.api(code: 415, reason: "UnsupportedMediaType",
                                     message: "the simulator accepts JSON and YAML bodies, not protobuf", details: nil)
        }
        // /api/v1/... or /apis/<group>/<version>/...
        var rest: ArraySlice<String>
        let group: String, version: String
        if parts.first == "api", parts.count >= 2 { group = ""; version = parts[1]; rest = parts.dropFirst(2) }
        else if parts.first == "apis", parts.count >= 3 { group = parts[1]; version = parts[2]; rest = parts.dropFirst(3) }
        else { throw SimulatorError.api(code: 404, reason: "NotFound", message: "the server could not find the requested resource", details: nil) }
        var namespace: String? = nil
        let namespaceSubresource = rest.count == 3 && ["status", "finalize"].contains(rest.last ?? "")
        if rest.first == "namespaces", rest.count >= 3, !namespaceSubresource { namespace = rest.dropFirst().first; rest = rest.dropFirst(2) }
        guard let plural = rest.first else { throw SimulatorError.badRequest("no resource in \(path)") }
        guard let type = api.catalog.lookup(group: group, version: version, plural: plural) else {
            throw SimulatorError.api(code: 404, reason: "NotFound", message: "the server could not find the requested resource", details: nil)
        }
        let name = rest.dropFirst().first
        let subresource = rest.dropFirst(2).first
        let ns = type.namespaced ? (namespace ?? "") : ""
        var opts = ClusterAPI.WriteOptions()
        opts.dryRun = q["dryRun"] == "All"
        opts.fieldManager = q["fieldManager"] ?? request.headers[.userAgent].map { String($0.split(separator: "/").first ?? "unknown") }
        opts.force = q["force"] == "true"
        opts.subresource = subresource
        let accept = request.headers[.accept] ?? ""
        let wantsTable = accept.contains("as=Table")

        if let subresource, subresource == "log", type.kind == "Pod", method == .get, let name {
            var lo = LogOptions()
            lo.follow = q["follow"] == "true"; lo.tailLines = q["tailLines"].flatMap { Int($0) }
            lo.previous = q["previous"] == "true"; lo.timestamps = q["timestamps"] == "true"
            _ = try await api.get(type, ns, name)
            let body = try await logs(ns, name, q["container"], lo)
            return Response(status: .ok, headers: [.contentType: "text/plain"], body: body)
        }
        if let subresource, !["status", "scale"].contains(subresource) {
            throw SimulatorError.api(code: 404, reason: "NotFound", message: "the server could not find the requested resource", details: nil)
        }

        switch (method, name) {
        case (.get, nil) where q["watch"] == "true" || q["watch"] == "1":
            return try await watch(type, namespace: type.namespaced ? namespace : nil, q: q, table: wantsTable)
        case (.get, nil):
            let labels = try LabelSelector(parsing: q["labelSelector"] ?? "")
            let fields = try q["fieldSelector"].map { s throws(SimulatorError) in try FieldSelector(parsing: s) }
            let (items, rev) = await api.list(type, namespace: type.namespaced ? namespace : nil, labels: labels, fields: fields)
            if wantsTable { return Self.json(Tables.table(type, items, revision: rev)) }
            return Self.json(["kind": .string(type.kind + "List"), "apiVersion": .string(type.apiVersion),
                              "metadata": ["resourceVersion": .string(String(rev))], "items": .array(items)])
        case (.get, let name?):
            let o = try await api.get(type, ns, name)
            if subresource == "scale" { return Self.json(scale(o, type)) }
            if wantsTable { return Self.json(Tables.table(type, [o], revision: Int(o["metadata"]?["resourceVersion"]?.stringValue ?? "") ?? 0)) }
            return Self.json(o)
        case (.post, nil):
            let o = try parse(body, request)
            return Self.json(try await api.create(type, namespace: ns, o, opts), status: opts.dryRun ? 200 : 201)
        case (.put, let name?):
            var o = try parse(body, request)
            if subresource == "scale" {
                let current = try await api.get(type, ns, name)
                var updated = current
                updated.set(["spec", "replicas"], o["spec"]?["replicas"] ?? 1)
                if let rv = o["metadata"]?["resourceVersion"] { updated.set(["metadata", "resourceVersion"], rv) }
                opts.subresource = nil
                return Self.json(scale(try await api.update(type, namespace: ns, name: name, updated, opts), type))
            }
            if o.name.isEmpty { o.set(["metadata", "name"], .string(name)) }
            return Self.json(try await api.update(type, namespace: ns, name: name, o, opts))
        case (.patch, let name?):
            let ct = request.headers[.contentType] ?? "application/merge-patch+json"
            if subresource == "scale" {
                let patch = try parse(body, request)
                let current = try await api.get(type, ns, name)
                var updated = current
                if let r = patch["spec"]?["replicas"] { updated.set(["spec", "replicas"], r) }
                opts.subresource = nil
                return Self.json(scale(try await api.update(type, namespace: ns, name: name, updated, opts), type))
            }
            let created = await api.store.get(type.storeKey, ns, name) == nil
            let result = try await api.patch(type, namespace: ns, name: name, contentType: ct, body: body, opts)
            return Self.json(result, status: created && ct.hasPrefix("application/apply-patch") ? 201 : 200)
        case (.delete, let name?):
            let options = body.isEmpty ? JSONValue.object([:]) : ((try? JSONValue.parse(body)) ?? [:])
            let grace = q["gracePeriodSeconds"].flatMap { Int($0) } ?? options["gracePeriodSeconds"]?.intValue
            let o = try await api.delete(type, namespace: ns, name: name, gracePeriod: grace,
                                         preconditionUID: options["preconditions"]?["uid"]?.stringValue, dryRun: opts.dryRun,
                                         propagation: q["propagationPolicy"] ?? options["propagationPolicy"]?.stringValue)
            return Self.json(o, status: o["metadata"]?["deletionTimestamp"] != nil ? 202 : 200)
        case (.delete, nil):
            let labels = try LabelSelector(parsing: q["labelSelector"] ?? "")
            let (items, rev) = await api.list(type, namespace: type.namespaced ? namespace : nil, labels: labels)
            for i in items { _ = try? await api.delete(type, namespace: i.namespace, name: i.name, dryRun: opts.dryRun) }
            return Self.json(["kind": .string(type.kind + "List"), "apiVersion": .string(type.apiVersion),
                              "metadata": ["resourceVersion": .string(String(rev))], "items": .array(items)])
        default:
            throw SimulatorError.methodNotAllowed("the server does not allow this method on the requested resource")
        }
    }

    private func scale(_ o: JSONValue, _ type: ResourceType) -> JSONValue {
        ["kind": "Scale", "apiVersion": "autoscaling/v1",
         "metadata": ["name": .string(o.name), "namespace": .string(o.namespace), "uid": .string(o.uid),
                      "resourceVersion": o["metadata"]?["resourceVersion"] ?? "", "creationTimestamp": o["metadata"]?["creationTimestamp"] ?? .null],
         "spec": ["replicas": o["spec"]?["replicas"] ?? 0],
         "status": ["replicas": o["status"]?["replicas"] ?? 0, "selector": .string(Tables.selectorString(o["spec"]?["selector"]))]]
    }

    private func parse(_ body: Data, _ request: Request) throws -> JSONValue {
        let ct = request.headers[.contentType] ?? ""
        do {
            if ct.contains("yaml") { return try YAMLBridge.parse(body) }
            return try JSONValue.parse(body)
        } catch {
            throw SimulatorError.badRequest("the request body is not valid \(ct.contains("yaml") ? "YAML" : "JSON"): \(error)")
        }
    }

    /// A watch: newline-delimited `{"type","object"}` events, starting with the current state when no
    /// resourceVersion (or "0") is given, else replaying history after it; 410 Gone when too old. With
    /// selectors, an object that starts or stops matching is reported as ADDED or DELETED.
    private func watch(_ type: ResourceType, namespace: String?, q: [String: String], table: Bool) async throws -> Response {
        let labels = try LabelSelector(parsing: q["labelSelector"] ?? "")
        let fields = try q["fieldSelector"].map { s throws(SimulatorError) in try FieldSelector(parsing: s) }
        let since = q["resourceVersion"].flatMap { Int($0) }.flatMap { $0 == 0 ? nil : $0 }
        let timeout = q["timeoutSeconds"].flatMap { Int($0) } ?? 1800
        var initialItems: [JSONValue] = []
        var from = since
        if since == nil {
            let (items, rev) = await api.list(type, namespace: namespace, labels: labels, fields: fields)
            initialItems = items
            from = rev
        }
        let initial = initialItems
        let stream: AsyncStream<WatchEvent>
        do { stream = try await api.store.watch(type.storeKey, namespace: namespace, since: from) }
        catch {
            let gone = SimulatorError.api(code: 410, reason: "Expired", message: "too old resource version: \(since ?? 0)", details: nil)
            let line = (try? JSONValue.object(["type": "ERROR", "object": gone.statusObject]).encoded()) ?? Data()
            return Response(status: .ok, headers: [.contentType: "application/json"],
                            body: ResponseBody(byteBuffer: ByteBuffer(data: line + Data("\n".utf8))))
        }
        let api = self.api
        let (merged, continuation) = AsyncStream<WatchEvent>.makeStream()
        let forward = Task { for await e in stream { continuation.yield(e) }; continuation.finish() }
        let timer = Task { try? await Task.sleep(for: .seconds(timeout)); continuation.finish() }
        @Sendable func line(_ kind: String, _ object: JSONValue) throws -> ByteBuffer {
            let o = table ? Tables.table(type, [object], revision: 0) : object
            return ByteBuffer(data: try JSONValue.object(["type": .string(kind), "object": o]).encoded() + Data("\n".utf8))
        }
        let body = ResponseBody { writer in
            defer { forward.cancel(); timer.cancel() }
            // Whether each object matched the selectors when last seen, so that an object moving into
            // or out of them is reported as ADDED or DELETED, as the API server's watch cache does.
            var matched: [String: Bool] = [:]
            for o in initial { matched[o.uid] = true; try await writer.write(line("ADDED", o)) }
            for await e in merged {
                let o = api.present(e.object, as: type)
                let now = labels.matches(object: o) && (fields?.matches(o) ?? true)
                // Objects not in a watch's initial list did not match when it started.
                let before = matched[o.uid] ?? (since == nil ? false : nil)
                matched[o.uid] = e.type == "DELETED" ? nil : now
                switch (e.type, now, before) {
                case ("MODIFIED", true, false?): try await writer.write(line("ADDED", o))
                case ("MODIFIED", false, true?): try await writer.write(line("DELETED", o))
                case (_, true, _): try await writer.write(line(e.type, o))
                default: continue
                }
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "application/json"], body: body)
    }
}

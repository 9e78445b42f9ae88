import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOSSL
import OutpostCore

/// Calls MutatingWebhookConfigurations (before validation) and ValidatingWebhookConfigurations (after)
/// on create and update, as the API server does: over real TLS verified against each webhook's caBundle (the server name is
/// `<service>.<namespace>.svc` for service references), only for matching rules, namespaceSelector and
/// objectSelector, within timeoutSeconds, applying the returned JSONPatch, and failing or skipping on
/// errors according to failurePolicy.
final class AdmissionChain: Sendable {
    private static let webhookKeys = ["mutatingwebhookconfigurations.admissionregistration.k8s.io",
                                      "validatingwebhookconfigurations.admissionregistration.k8s.io"]

    func admit(operation: String, type: ResourceType, object: JSONValue, old: JSONValue?, dryRun: Bool,
               api: ClusterAPI, subresource: String? = nil, mutating: Bool = true) async throws(SimulatorError) -> JSONValue {
        if type.group == "admissionregistration.k8s.io" { return object }
        var current = object
        for (index, key) in Self.webhookKeys.enumerated() where (index == 0) == mutating {
            let (configs, _) = await api.store.list(key, namespace: nil)
            for config in configs.sorted(by: { $0.name < $1.name }) {
                for hook in config["webhooks"]?.arrayValue ?? [] {
                    guard await matches(hook, operation: operation, type: type, object: current, old: old,
                                        subresource: subresource, api: api) else { continue }
                    let hookName = hook["name"]?.stringValue ?? config.name
                    let failClosed = hook["failurePolicy"]?.stringValue != "Ignore"
                    do {
                        let response = try await call(hook, operation: operation, type: type, object: current, old: old,
                                                      dryRun: dryRun, subresource: subresource, api: api)
                        if response["allowed"]?.boolValue != true {
                            let status = response["status"]
                            let message = status?["message"]?.stringValue ?? status?["reason"]?.stringValue ?? ""
                            throw SimulatorError.api(code: status?["code"]?.intValue ?? 403, reason: status?["reason"]?.stringValue ?? "Forbidden",
                                                     message: "admission webhook \"\(hookName)\" denied the request: \(message)", details: nil)
                        }
                        if mutating, let patchText = response["patch"]?.stringValue {
                            guard response["patchType"]?.stringValue == "JSONPatch", let data = Data(base64Encoded: patchText) else {
                                throw WebhookFailure(message: "the response has a patch without patchType JSONPatch or not base64-encoded")
                            }
                            let patch = try JSONValue.parse(data)
                            current = try JSONPatch.apply(patch, to: current)
                        }
                    } catch let e as SimulatorError {
                        throw e
                    } catch {
                        guard failClosed else { continue }
                        throw .api(code: 500, reason: "InternalError",
                                   message: "Internal error occurred: failed calling webhook \"\(hookName)\": \(error)", details: nil)
                    }
                }
            }
        }
        return current
    }

    struct WebhookFailure: Error, CustomStringConvertible { var message: String; var description: String { message } }

    private func matches(_ hook: JSONValue, operation: String, type: ResourceType, object: JSONValue, old: JSONValue?,
                         subresource: String?, api: ClusterAPI) async -> Bool {
        let resource = subresource.map { "\(type.plural)/\($0)" } ?? type.plural
        let ruleMatch = (hook["rules"]?.arrayValue ?? []).contains { rule in
            func has(_ field: String, _ value: String) -> Bool {
                let list = rule[field]?.arrayValue?.compactMap(\.stringValue) ?? []
                return list.contains("*") || list.contains(value)
            }
            let resources = rule["resources"]?.arrayValue?.compactMap(\.stringValue) ?? []
            let resourceOK = resources.contains("*/*") || resources.contains(resource)
                || (subresource == nil && resources.contains("*"))
                || (subresource != nil && resources.contains("\(type.plural)/*"))
            let scope = rule["scope"]?.stringValue ?? "*"
            let scopeOK = scope == "*" || (scope == "Namespaced") == type.namespaced
            return has("apiGroups", type.group) && has("apiVersions", type.version) && has("operations", operation) && resourceOK && scopeOK
        }
        guard ruleMatch else { return false }
        if let objectSelector = hook["objectSelector"], objectSelector.objectValue?.isEmpty == false {
            let sel = LabelSelector(structured: objectSelector)
            guard sel.matches(object: object) || (old.map { sel.matches(object: $0) } ?? false) else { return false }
        }
        if let nsSelector = hook["namespaceSelector"], nsSelector.objectValue?.isEmpty == false {
            let sel = LabelSelector(structured: nsSelector)
            if type.kind == "Namespace" && type.group.isEmpty {
                guard sel.matches(object: object) else { return false }
            } else if type.namespaced {
                let ns = await api.store.get("namespaces", "", object.namespace)
                guard sel.matches(ns?.labels ?? [:]) else { return false }
            }
        }
        return true
    }

    private func call(_ hook: JSONValue, operation: String, type: ResourceType, object: JSONValue, old: JSONValue?,
                      dryRun: Bool, subresource: String?, api: ClusterAPI) async throws -> JSONValue {
        let cc = hook["clientConfig"] ?? [:]
        var tls = TLSConfiguration.makeClientConfiguration()
        if let bundle = cc["caBundle"]?.stringValue, let pem = Data(base64Encoded: bundle) {
            tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(pem)))
        }
        var config = HTTPClient.Configuration(tlsConfiguration: tls)
        let url: String
        if let u = cc["url"]?.stringValue {
            url = u
        } else if let svc = cc["service"] {
            let ns = svc["namespace"]?.stringValue ?? "default", name = svc["name"]?.stringValue ?? ""
            let port = svc["port"]?.intValue ?? 443
            let host = "\(name).\(ns).svc"
            let (ip, targetPort) = try await resolveService(ns: ns, name: name, port: port, api: api)
            config.dnsOverride = [host: ip]
            url = "https://\(host):\(targetPort)\(svc["path"]?.stringValue ?? "/")"
        } else {
            throw WebhookFailure(message: "clientConfig has neither url nor service")
        }
        let timeout = hook["timeoutSeconds"]?.intValue ?? 10
        let review: JSONValue = [
            "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": [
                "uid": .string(UUID().uuidString.lowercased()),
                "kind": ["group": .string(type.group), "version": .string(type.version), "kind": .string(type.kind)],
                "resource": ["group": .string(type.group), "version": .string(type.version), "resource": .string(type.plural)],
                "requestKind": ["group": .string(type.group), "version": .string(type.version), "kind": .string(type.kind)],
                "requestResource": ["group": .string(type.group), "version": .string(type.version), "resource": .string(type.plural)],
                "subResource": subresource.map { .string($0) } ?? .null,
                "name": .string(object.name), "namespace": type.namespaced ? .string(object.namespace) : .null,
                "operation": .string(operation),
                "userInfo": ["username": "system:admin", "groups": ["system:masters", "system:authenticated"]],
                "object": object, "oldObject": old ?? .null, "dryRun": .bool(dryRun),
                "options": operation == "CREATE" ? ["kind": "CreateOptions", "apiVersion": "meta.k8s.io/v1"] : ["kind": "UpdateOptions", "apiVersion": "meta.k8s.io/v1"],
            ],
        ]
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
        do {
            var request = HTTPClientRequest(url: url + (url.contains("?") ? "&" : "?") + "timeout=\(timeout)s")
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.headers.add(name: "Accept", value: "application/json")
            request.body = .bytes(ByteBuffer(data: try review.encoded()))
            let response = try await client.execute(request, timeout: .seconds(Int64(timeout)))
            let body = try await response.body.collect(upTo: 16 << 20)
            try? await client.shutdown()
            guard response.status == .ok else {
                throw WebhookFailure(message: "Post \"\(url)\": the server responded with \(response.status.code)")
            }
            let reply = try JSONValue.parse(Data(buffer: body))
            guard let r = reply["response"] else { throw WebhookFailure(message: "the webhook's AdmissionReview has no response") }
            return r
        } catch {
            try? await client.shutdown()
            if error is WebhookFailure { throw error }
            // Go's wording for a request that ran out of time, which clients match on.
            let why = (error as? HTTPClientError) == .deadlineExceeded ? "context deadline exceeded" : "\(error)"
            throw WebhookFailure(message: "failed to call webhook: Post \"\(url)?timeout=\(timeout)s\": \(why)")
        }
    }

    /// A service's first ready endpoint: from its Endpoints object (which the endpoints controller keeps
    /// for services with selectors and a user may write for services without).
    private func resolveService(ns: String, name: String, port: Int, api: ClusterAPI) async throws -> (String, Int) {
        guard let svc = await api.store.get("services", ns, name) else {
            throw WebhookFailure(message: "service \"\(ns)/\(name)\" not found")
        }
        let svcPort = (svc["spec"]?["ports"]?.arrayValue ?? []).first { $0["port"]?.intValue == port }
        guard let ep = await api.store.get("endpoints", ns, name) else {
            throw WebhookFailure(message: "service \"\(ns)/\(name)\" has no endpoints")
        }
        for subset in ep["subsets"]?.arrayValue ?? [] {
            guard let ip = subset["addresses"]?[0]?["ip"]?.stringValue else { continue }
            let ports = subset["ports"]?.arrayValue ?? []
            let chosen = ports.first { $0["name"] == svcPort?["name"] && svcPort?["name"] != nil } ?? ports.first
            if let p = chosen?["port"]?.intValue { return (ip, p) }
        }
        throw WebhookFailure(message: "no endpoints available for service \"\(name)\"")
    }
}

import Foundation
import OutpostCore

/// API discovery (`/version`, `/api`, `/apis`, group-version resource lists) and the slice of OpenAPI v3
/// kubectl consults (each kind's PATCH operation declaring the `fieldValidation` parameter, so kubectl
/// leaves validation to the server instead of downloading schemas).
struct Discovery: Sendable {
    let catalog: ResourceCatalog
    let serverAddress: String

    static let verbs: JSONValue = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]

    func document(path: String, parts: [String], accept: String) throws -> JSONValue? {
        let types = catalog.all
        switch parts {
        case ["version"]:
            return ["major": "1", "minor": "32", "gitVersion": "v1.32.0-outpost-sim", "gitCommit": "outpost-sim",
                    "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z", "goVersion": "swift",
                    "compiler": "swift", "platform": "linux/amd64"]
        case ["api"]:
            return ["kind": "APIVersions", "versions": ["v1"],
                    "serverAddressByClientCIDRs": [["clientCIDR": "0.0.0.0/0", "serverAddress": .string(serverAddress)]]]
        case ["apis"]:
            var groups: [String: [String]] = [:]
            var order: [String] = []
            for t in types where !t.group.isEmpty {
                if groups[t.group] == nil { order.append(t.group) }
                if !(groups[t.group]?.contains(t.version) ?? false) { groups[t.group, default: []].append(t.version) }
            }
            return ["kind": "APIGroupList", "apiVersion": "v1", "groups": .array(order.map { group(name: $0, versions: groups[$0]!) })]
        case ["api", "v1"]:
            return resourceList(group: "", version: "v1", types)
        case let p where p.count == 2 && p[0] == "apis":
            let versions = Array(Set(types.filter { $0.group == p[1] }.map(\.version))).sorted()
            guard !versions.isEmpty else { return nil }
            return group(name: p[1], versions: versions).merging(["kind": "APIGroup", "apiVersion": "v1"])
        case let p where p.count == 3 && p[0] == "apis":
            guard types.contains(where: { $0.group == p[1] && $0.version == p[2] }) else { return nil }
            return resourceList(group: p[1], version: p[2], types)
        case ["openapi", "v3"]:
            var paths: [String: JSONValue] = ["api/v1": ["serverRelativeURL": "/openapi/v3/api/v1?hash=sim"]]
            for t in types where !t.group.isEmpty {
                paths["apis/\(t.group)/\(t.version)"] = ["serverRelativeURL": .string("/openapi/v3/apis/\(t.group)/\(t.version)?hash=sim")]
            }
            return ["paths": .object(paths)]
        case let p where p.count >= 4 && p[0] == "openapi" && p[1] == "v3":
            let (group, version) = p[2] == "api" ? ("", p[3]) : (p[3], p.count > 4 ? p[4] : "")
            return openAPI(types.filter { $0.group == group && $0.version == version })
        default:
            return nil
        }
    }

    private func group(name: String, versions: [String]) -> JSONValue {
        let v = versions.map { JSONValue.object(["groupVersion": .string("\(name)/\($0)"), "version": .string($0)]) }
        return ["name": .string(name), "versions": .array(v), "preferredVersion": v.last ?? .null]
    }

    private func resourceList(group: String, version: String, _ types: [ResourceType]) -> JSONValue {
        var resources: [JSONValue] = []
        for t in types where t.group == group && t.version == version {
            var r: [String: JSONValue] = ["name": .string(t.plural), "singularName": .string(t.singular),
                                          "namespaced": .bool(t.namespaced), "kind": .string(t.kind), "verbs": Self.verbs]
            if !t.shortNames.isEmpty { r["shortNames"] = .array(t.shortNames.map { .string($0) }) }
            if !t.categories.isEmpty { r["categories"] = .array(t.categories.map { .string($0) }) }
            resources.append(.object(r))
            for s in t.subresources {
                resources.append(["name": .string("\(t.plural)/\(s)"), "singularName": "", "namespaced": .bool(t.namespaced),
                                  "kind": .string(s == "scale" ? "Scale" : t.kind), "verbs": s == "log" ? ["get"] : ["get", "patch", "update"]])
            }
        }
        return ["kind": "APIResourceList", "apiVersion": "v1", "groupVersion": .string(group.isEmpty ? version : "\(group)/\(version)"),
                "resources": .array(resources)]
    }

    private func openAPI(_ types: [ResourceType]) -> JSONValue {
        var paths: [String: JSONValue] = [:]
        for t in types {
            let base = t.group.isEmpty ? "/api/\(t.version)" : "/apis/\(t.group)/\(t.version)"
            let path = t.namespaced ? "\(base)/namespaces/{namespace}/\(t.plural)/{name}" : "\(base)/\(t.plural)/{name}"
            let gvk: JSONValue = [["group": .string(t.group), "version": .string(t.version), "kind": .string(t.kind)]]
            let params: JSONValue = [["name": "fieldValidation", "in": "query", "schema": ["type": "string", "uniqueItems": true]],
                                     ["name": "fieldManager", "in": "query", "schema": ["type": "string", "uniqueItems": true]],
                                     ["name": "dryRun", "in": "query", "schema": ["type": "string", "uniqueItems": true]]]
            let op: JSONValue = ["operationId": .string("patch\(t.kind)"), "x-kubernetes-group-version-kind": gvk,
                                 "x-kubernetes-action": "patch", "parameters": params,
                                 "responses": ["200": ["description": "OK"]]]
            paths[path] = ["patch": op, "put": op.merging(["x-kubernetes-action": "put", "operationId": .string("replace\(t.kind)")])]
            let collection = t.namespaced ? "\(base)/namespaces/{namespace}/\(t.plural)" : "\(base)/\(t.plural)"
            paths[collection] = ["post": op.merging(["x-kubernetes-action": "post", "operationId": .string("create\(t.kind)")])]
        }
        return ["openapi": "3.0.0", "info": ["title": "Kubernetes (outpost-sim)", "version": "v1.32.0"],
                "paths": .object(paths), "components": ["schemas": [:]]]
    }
}

extension JSONValue {
    func merging(_ other: [String: JSONValue]) -> JSONValue {
        guard case .object(var o) = self else { return self }
        for (k, v) in other { o[k] = v }
        return .object(o)
    }
}

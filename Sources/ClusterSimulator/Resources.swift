import Foundation
import OutpostCore

/// One kind of object the simulated API serves (built in, or defined by a CustomResourceDefinition):
/// its group, version, kind, plural path segment and scope, which is what discovery, routing and the
/// store all key on.
public struct ResourceType: Sendable, Hashable {
    public var group: String
    public var version: String
    public var kind: String
    public var plural: String
    public var singular: String
    public var namespaced: Bool
    public var shortNames: [String] = []
    public var subresources: [String] = []
    public var categories: [String] = []

    /// `v1` or `apps/v1`.
    public var apiVersion: String { group.isEmpty ? version : "\(group)/\(version)" }
    /// The store key: `pods`, `deployments.apps`.
    public var storeKey: String { group.isEmpty ? plural : "\(plural).\(group)" }
    /// As Kubernetes names a resource in messages: `configmaps`, `deployments.apps`.
    var resourceDescription: String { storeKey }

    static func core(_ kind: String, _ plural: String, namespaced: Bool = true, short: [String] = [],
                     sub: [String] = [], categories: [String] = ["all"]) -> ResourceType {
        ResourceType(group: "", version: "v1", kind: kind, plural: plural, singular: kind.lowercased(),
                     namespaced: namespaced, shortNames: short, subresources: sub, categories: categories)
    }

    static func grouped(_ group: String, _ version: String, _ kind: String, _ plural: String,
                        namespaced: Bool = true, short: [String] = [], sub: [String] = [],
                        categories: [String] = []) -> ResourceType {
        ResourceType(group: group, version: version, kind: kind, plural: plural, singular: kind.lowercased(),
                     namespaced: namespaced, shortNames: short, subresources: sub, categories: categories)
    }

    /// The resources served from the start.
    static let builtIn: [ResourceType] = [
        .core("Namespace", "namespaces", namespaced: false, short: ["ns"], sub: ["status"], categories: []),
        .core("Node", "nodes", namespaced: false, short: ["no"], sub: ["status"], categories: []),
        .core("ConfigMap", "configmaps", short: ["cm"], categories: []),
        .core("Secret", "secrets", categories: []),
        .core("Service", "services", short: ["svc"], sub: ["status"]),
        .core("Endpoints", "endpoints", short: ["ep"], categories: []),
        .core("Pod", "pods", short: ["po"], sub: ["status", "log"]),
        .core("ServiceAccount", "serviceaccounts", short: ["sa"], categories: []),
        .core("PersistentVolumeClaim", "persistentvolumeclaims", short: ["pvc"], sub: ["status"], categories: []),
        .core("PersistentVolume", "persistentvolumes", namespaced: false, short: ["pv"], sub: ["status"], categories: []),
        .core("Event", "events", short: ["ev"], categories: []),
        .grouped("apps", "v1", "Deployment", "deployments", short: ["deploy"], sub: ["status", "scale"], categories: ["all"]),
        .grouped("apps", "v1", "ReplicaSet", "replicasets", short: ["rs"], sub: ["status", "scale"], categories: ["all"]),
        .grouped("apps", "v1", "DaemonSet", "daemonsets", short: ["ds"], sub: ["status"], categories: ["all"]),
        .grouped("apps", "v1", "StatefulSet", "statefulsets", short: ["sts"], sub: ["status", "scale"], categories: ["all"]),
        .grouped("batch", "v1", "Job", "jobs", sub: ["status"], categories: ["all"]),
        .grouped("admissionregistration.k8s.io", "v1", "MutatingWebhookConfiguration",
                 "mutatingwebhookconfigurations", namespaced: false),
        .grouped("admissionregistration.k8s.io", "v1", "ValidatingWebhookConfiguration",
                 "validatingwebhookconfigurations", namespaced: false),
        .grouped("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions",
                 namespaced: false, short: ["crd", "crds"], sub: ["status"]),
        .grouped("rbac.authorization.k8s.io", "v1", "Role", "roles"),
        .grouped("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings"),
        .grouped("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", namespaced: false),
        .grouped("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", namespaced: false),
        .grouped("coordination.k8s.io", "v1", "Lease", "leases"),
        .grouped("events.k8s.io", "v1", "Event", "events", short: ["ev"]),
    ]

    /// The resource types a CustomResourceDefinition object defines (one per served version).
    static func fromCRD(_ crd: JSONValue) -> [ResourceType] {
        guard let spec = crd["spec"], let group = spec["group"]?.stringValue,
              let names = spec["names"], let kind = names["kind"]?.stringValue,
              let plural = names["plural"]?.stringValue else { return [] }
        let namespaced = spec["scope"]?.stringValue != "Cluster"
        let short = names["shortNames"]?.arrayValue?.compactMap(\.stringValue) ?? []
        let categories = names["categories"]?.arrayValue?.compactMap(\.stringValue) ?? []
        let versions = spec["versions"]?.arrayValue ?? []
        return versions.compactMap { v -> ResourceType? in
            guard let name = v["name"]?.stringValue, v["served"]?.boolValue ?? true else { return nil }
            var sub: [String] = []
            if v["subresources"]?["status"] != nil { sub.append("status") }
            return ResourceType(group: group, version: name, kind: kind, plural: plural,
                                singular: names["singular"]?.stringValue ?? kind.lowercased(),
                                namespaced: namespaced, shortNames: short, subresources: sub, categories: categories)
        }
    }
}

/// The set of resource types currently served; grows and shrinks as CRDs come and go.
final class ResourceCatalog: @unchecked Sendable {
    private let lock = NSLock()
    private var crdTypes: [String: [ResourceType]] = [:] // CRD name → types

    var all: [ResourceType] {
        lock.lock(); defer { lock.unlock() }
        return ResourceType.builtIn + crdTypes.keys.sorted().flatMap { crdTypes[$0]! }
    }

    func setCRD(name: String, types: [ResourceType]) {
        lock.lock(); defer { lock.unlock() }
        if types.isEmpty { crdTypes[name] = nil } else { crdTypes[name] = types }
    }

    /// Finds the type served at `/api[s]/<group>/<version>/<plural>`.
    func lookup(group: String, version: String, plural: String) -> ResourceType? {
        all.first { $0.group == group && $0.version == version && $0.plural == plural }
    }

    /// Finds a type by apiVersion and kind (for objects in request bodies and owner references).
    func lookup(apiVersion: String, kind: String) -> ResourceType? {
        let parts = apiVersion.split(separator: "/", maxSplits: 1).map(String.init)
        let (group, version) = parts.count == 2 ? (parts[0], parts[1]) : ("", parts[0])
        return all.first { $0.group == group && $0.version == version && $0.kind == kind }
    }

    func byKind(_ kind: String, group: String = "") -> ResourceType? {
        all.first { $0.kind == kind && $0.group == group }
    }
}

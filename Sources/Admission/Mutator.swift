import Foundation
import OCI
import OutpostCore

/// The admission hooks the agent serves, one per route (paths as Zarf's agent, see zarf-compat.md).
public enum Hook: String, Sendable, CaseIterable {
    case pod, fluxGitRepository, fluxHelmRepository, fluxOCIRepository
    case argoApplication, argoApplicationSet, argoAppProject, argoRepository

    public var path: String {
        switch self {
        case .pod: return "/mutate/pod"
        case .fluxGitRepository: return "/mutate/flux-gitrepository"
        case .fluxHelmRepository: return "/mutate/flux-helmrepository"
        case .fluxOCIRepository: return "/mutate/flux-ocirepository"
        case .argoApplication: return "/mutate/argocd-application"
        case .argoApplicationSet: return "/mutate/argocd-applicationset"
        case .argoAppProject: return "/mutate/argocd-appproject"
        case .argoRepository: return "/mutate/argocd-repository"
        }
    }

    public init(path: String) throws {
        guard let h = Hook.allCases.first(where: { $0.path == path }) else { throw AdmissionError.unknownRoute(path) }
        self = h
    }
}

/// Applies the agent's rewrite rules to one admission request. Pure: no network, no clock.
///
/// Namespace labels are not part of an AdmissionReview; callers that know them (a cluster client) pass them,
/// otherwise the webhook's namespaceSelector is what exempts `skip|ignore` namespaces.
public struct Mutator: Sendable {
    public var config: AgentConfig

    public init(config: AgentConfig) { self.config = config }

    /// The label that opts objects and namespaces in or out.
    public static let agentLabel = "zarf.dev/agent"

    /// Zarf's rule: the object's label decides first, then the namespace's; otherwise the policy.
    public static func shouldMutate(objectLabels: [String: String], namespaceLabels: [String: String],
                                    policy: MutationPolicy) -> Bool {
        shouldMutate(objectAgentLabel: objectLabels[agentLabel], namespaceAgentLabel: namespaceLabels[agentLabel], policy: policy)
    }

    /// The same rule on the two `zarf.dev/agent` values alone.
    static func shouldMutate(objectAgentLabel: String?, namespaceAgentLabel: String?, policy: MutationPolicy) -> Bool {
        for value in [objectAgentLabel, namespaceAgentLabel] {
            switch value {
            case "mutate": return true
            case "ignore", "skip": return false
            default: continue
            }
        }
        return policy == .all
    }

    /// Whether deciding `request` needs its namespace's labels: a CREATE or UPDATE of a namespaced object
    /// whose own `zarf.dev/agent` label does not already decide (the object's label wins, as in Zarf).
    public static func needsNamespaceLabels(_ request: AdmissionRequest) -> Bool {
        guard request.operation == "CREATE" || request.operation == "UPDATE", !request.namespace.isEmpty else { return false }
        switch request.object["metadata"]?["labels"]?[agentLabel]?.stringValue {
        case "mutate", "skip", "ignore": return false
        default: return true
        }
    }

    /// The denial for a request whose namespace labels could not be read. Zarf's agent fails such a
    /// request too (its hook errors and it answers 500, which `failurePolicy: Fail` turns into a refusal);
    /// this says why in the AdmissionReview itself.
    public static func namespaceLookupFailure(namespace: String, reason: String) -> AdmissionResult {
        .deny("zarf agent: cannot read the labels of namespace \"\(namespace)\" to apply the zarf.dev/agent rules: \(reason); "
              + "the object is refused rather than mutated without them. Retry when the Kubernetes API is reachable, "
              + "or label the object zarf.dev/agent=skip or =mutate so its namespace need not be read.", code: 500)
    }

    /// Mutates `request` with `hook`. Errors become denials carrying the reason. `memo` remembers image
    /// rewrites for the caller's later requests (the server keeps one per connection).
    public func mutate(_ hook: Hook, _ request: AdmissionRequest, namespaceLabels: [String: String] = [:],
                       memo: ImageRewriteMemo? = nil) -> AdmissionResult {
        guard request.operation == "CREATE" || request.operation == "UPDATE" else {
            return .allow(message: "operation \(request.operation) is not mutated")
        }
        guard request.object.objectValue != nil else { return .deny(AdmissionError.missingField("request.object").description) }
        let object = ObjectView(request.object)
        guard Self.shouldMutate(objectAgentLabel: object.label(Self.agentLabel), namespaceAgentLabel: namespaceLabels[Self.agentLabel],
                                policy: config.policy) else {
            return .allow()
        }
        do {
            switch hook {
            case .pod: return try PodHook(config: config, memo: memo).mutate(object, subResource: request.subResource, readSpec: request.podSpec)
            case .fluxGitRepository: return try FluxHooks(config: config).gitRepository(object)
            case .fluxHelmRepository: return try FluxHooks(config: config).helmRepository(object)
            case .fluxOCIRepository: return try FluxHooks(config: config).ociRepository(object, operation: request.operation)
            case .argoApplication: return try ArgoHooks(config: config).application(object)
            case .argoApplicationSet: return try ArgoHooks(config: config).applicationSet(object)
            case .argoAppProject: return try ArgoHooks(config: config).appProject(object)
            case .argoRepository: return try ArgoHooks(config: config).repositorySecret(object)
            }
        } catch {
            return .deny(String(describing: error))
        }
    }

    /// The whole exchange on bytes: AdmissionReview in, AdmissionReview out.
    /// Throws `AdmissionError` only when the body is not an AdmissionReview (the server answers 400).
    public func review(_ hook: Hook, body: Data, namespaceLabels: [String: String] = [:]) throws -> Data {
        let request = try AdmissionRequest.parse(body, for: hook)
        let result = mutate(hook, request, namespaceLabels: namespaceLabels)
        return Data(try result.responseBody(for: request))
    }
}

/// Read access to the metadata every hook needs, plus the `zarf-agent: patched` label patch.
struct ObjectView {
    let json: JSONValue
    /// `metadata` when it is an object, and its `labels` (empty when missing or not an object): looked up
    /// once, as the hooks read them several times.
    private let metadata: [String: JSONValue]?
    let labelsJSON: [String: JSONValue]

    init(_ json: JSONValue) {
        self.json = json
        metadata = json["metadata"]?.objectValue
        labelsJSON = metadata?["labels"]?.objectValue ?? [:]
    }

    var hasMetadata: Bool { metadata != nil }
    var annotationsJSON: [String: JSONValue] { metadata?["annotations"]?.objectValue ?? [:] }
    var labels: [String: String] { labelsJSON.compactMapValues(\.stringValue) }
    /// One label's value when it is a string (without building `labels`).
    func label(_ key: String) -> String? { labelsJSON[key]?.stringValue }

    /// `add /metadata` when the object has none, so the label and annotation patches apply.
    func metadataPatch() -> [PatchOperation] { hasMetadata ? [] : [.add("/metadata", [:])] }

    func patchedLabelPatch() -> PatchOperation {
        var l = labelsJSON
        l.reserveCapacity(l.count + 1)  // one copy at the final size
        l["zarf-agent"] = "patched"
        return .add("/metadata/labels", .object(l))
    }
}

/// Reference helpers shared by the hooks: Zarf's host-prefix rule and URL hostname comparison.
enum References {
    /// Zarf's image rule: unchanged when the target host starts with the image's host, else the Zarf name.
    /// `field` names the place for the error only, so it is built only when there is one.
    static func image(_ original: String, target: String, field: @autoclosure () -> String) throws -> String {
        let ref: ImageReference
        do { ref = try ImageReference(parsing: original) } catch {
            throw AdmissionError.invalidReference(field: field(), value: original, reason: String(describing: error))
        }
        if target.hasPrefix(ref.registry) { return original }
        return ZarfTransform.image(ref, targetHost: target)
    }

    static func isOCI(_ url: String) -> Bool { url.hasPrefix("oci://") }

    /// `oci://<registry>/<path>` for an OCI URL (tag or digest dropped, as Zarf does).
    static func ociURL(_ url: String, target: String, field: String) throws -> String {
        let transformed = try image(url, target: target, field: field)
        do { return "oci://" + (try ImageReference(parsing: transformed)).name } catch {
            throw AdmissionError.invalidReference(field: field, value: url, reason: String(describing: error))
        }
    }

    static func gitURL(_ url: String, config: AgentConfig, field: String) throws -> String {
        do { return try ZarfTransform.gitURL(url, server: config.gitServerAddress, user: config.gitPushUsername) } catch {
            throw AdmissionError.invalidReference(field: field, value: url, reason: String(describing: error))
        }
    }

    /// The host of a URL without port or brackets (Go's `url.Hostname()`); nil when there is none.
    static func hostname(_ s: String) -> String? {
        guard let schemeEnd = s.range(of: "://") else { return nil }
        var rest = s[schemeEnd.upperBound...]
        if let end = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) { rest = rest[..<end] }
        if let at = rest.lastIndex(of: "@") { rest = rest[rest.index(after: at)...] }
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { return nil }
            return String(rest[rest.index(after: rest.startIndex)..<close]).lowercased()
        }
        let host = rest.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        return host.isEmpty ? nil : host.lowercased()
    }

    /// Zarf's "already points at our server" check: the hostnames of both URLs are equal.
    static func hostnamesMatch(_ a: String, _ b: String) -> Bool {
        guard let ha = hostname(a), let hb = hostname(b) else { return false }
        return ha == hb
    }
}

extension Hook {
    /// The hook for an object kind, for callers that have a review but no route (`outpost agent mutate`).
    public init(kind: String) throws {
        switch kind {
        case "Pod": self = .pod
        case "GitRepository": self = .fluxGitRepository
        case "HelmRepository": self = .fluxHelmRepository
        case "OCIRepository": self = .fluxOCIRepository
        case "Application": self = .argoApplication
        case "ApplicationSet": self = .argoApplicationSet
        case "AppProject": self = .argoAppProject
        case "Secret": self = .argoRepository
        default: throw AdmissionError.unknownRoute("kind \(kind.isEmpty ? "<none>" : kind)")
        }
    }
}

import Foundation
import OutpostCore

/// Which objects the agent mutates: `all` (unless opted out with `zarf.dev/agent: skip|ignore`) or only
/// those opted in with `zarf.dev/agent: mutate` on the object or its namespace.
public enum MutationPolicy: String, Sendable, CaseIterable {
    case all, labeled

    public init(parsing s: String) throws {
        guard let p = MutationPolicy(rawValue: s.lowercased()) else { throw AdmissionError.invalidPolicy(s) }
        self = p
    }
}

/// What the webhook needs to know about the cluster: the registry and git server to rewrite to, their
/// pull credentials (for Argo CD repository Secrets) and the mutation policy.
///
/// Usually read from the zarf-state document (Secret `zarf/zarf-state`, key `state`), see zarf-compat.md.
public struct AgentConfig: Sendable, Equatable {
    public var registryAddress: String
    /// The registry runs in the cluster (registryMode other than `external`): Flux and Argo CD get `insecure`.
    public var registryInternal: Bool
    public var registryPullUsername: String
    public var registryPullPassword: String
    /// Empty when no git server is configured: git sources are then left alone.
    public var gitServerAddress: String
    public var gitPushUsername: String
    public var gitPullUsername: String
    public var gitPullPassword: String
    public var policy: MutationPolicy

    public init(registryAddress: String = "127.0.0.1:31999", registryInternal: Bool = true,
                registryPullUsername: String = "zarf-pull", registryPullPassword: String = "",
                gitServerAddress: String = "", gitPushUsername: String = "zarf-git-user",
                gitPullUsername: String = "zarf-git-read-user", gitPullPassword: String = "",
                policy: MutationPolicy = .all) {
        self.registryAddress = registryAddress
        self.registryInternal = registryInternal
        self.registryPullUsername = registryPullUsername
        self.registryPullPassword = registryPullPassword
        self.gitServerAddress = gitServerAddress
        self.gitPushUsername = gitPushUsername
        self.gitPullUsername = gitPullUsername
        self.gitPullPassword = gitPullPassword
        self.policy = policy
    }

    public var gitServerConfigured: Bool { !gitServerAddress.isEmpty }
    public var registryConfigured: Bool { !registryAddress.isEmpty }

    /// Reads the zarf-state JSON (`registryInfo`, `gitServer`, `agentMutationPolicy`).
    public init(zarfState data: Data) throws {
        let state: JSONValue
        do { state = try JSONValue.parse(data) } catch { throw AdmissionError.invalidState("not JSON: \(error)") }
        try self.init(zarfState: state)
    }

    public init(zarfState state: JSONValue) throws {
        guard state.objectValue != nil else { throw AdmissionError.invalidState("the document is not a JSON object") }
        guard let reg = state["registryInfo"], reg.objectValue != nil else {
            throw AdmissionError.invalidState("registryInfo is missing")
        }
        guard let address = reg["address"]?.stringValue, !address.isEmpty else {
            throw AdmissionError.invalidState("registryInfo.address is missing or empty")
        }
        let mode = reg["registryMode"]?.stringValue ?? ""
        let port = reg["nodePort"]?.intValue ?? reg["port"]?.intValue ?? 0
        let isInternal: Bool
        if !mode.isEmpty { isInternal = mode != "external" }
        else { isInternal = address == "127.0.0.1:\(port)" || address == "[::1]:\(port)" }
        let git = state["gitServer"]
        var policy = MutationPolicy.all
        if let p = state["agentMutationPolicy"]?.stringValue, !p.isEmpty { policy = try MutationPolicy(parsing: p) }
        self.init(registryAddress: address, registryInternal: isInternal,
                  registryPullUsername: reg["pullUsername"]?.stringValue ?? "",
                  registryPullPassword: reg["pullPassword"]?.stringValue ?? "",
                  gitServerAddress: git?["address"]?.stringValue ?? "",
                  gitPushUsername: git?["pushUsername"]?.stringValue ?? "",
                  gitPullUsername: git?["pullUsername"]?.stringValue ?? "",
                  gitPullPassword: git?["pullPassword"]?.stringValue ?? "",
                  policy: policy)
    }
}

import Foundation
import OutpostCore

/// The client configuration `talosctl` reads: one context named after the site, endpoints on the control
/// planes, and an admin client certificate (O=os:admin) signed by the OS CA.
public enum Talosconfig {
    /// Makes the talosconfig YAML for `site`, signing a fresh admin certificate valid for one year from `now`.
    public static func make(site: Site, secrets: SecretsBundle, now: Date = Date()) throws -> String {
        let admin = try PKI.ed25519ClientCertificate(organization: "os:admin", signedBy: secrets.os, now: now,
                                                     validity: TalosDefaults.adminCertValidity)
        let endpoints = site.controlPlanes.compactMap { $0.interface.addresses.first.flatMap { IPPrefix($0)?.address.text } }
        let nodes = (site.bootstrapNode ?? site.controlPlanes.first).flatMap { $0.interface.addresses.first.flatMap { IPPrefix($0)?.address.text } }
        let context: JSONValue = [
            "endpoints": .array(endpoints.map { .string($0) }),
            "nodes": .array(nodes.map { [.string($0)] } ?? []),
            "ca": .string(Data(secrets.os.certificate.utf8).base64EncodedString()),
            "crt": .string(Data(admin.certificate.utf8).base64EncodedString()),
            "key": .string(Data(admin.key.utf8).base64EncodedString()),
        ]
        return try YAMLDocuments.render([["context": .string(site.name), "contexts": .object([site.name: context])]])
    }
}

/// A patch file read from disk, kept with its path for error messages.
public struct NamedPatch: Sendable, Hashable {
    public var file: String
    public var patch: ConfigPatch
    public init(file: String, patch: ConfigPatch) { self.file = file; self.patch = patch }
}

/// Everything `outpost talos gen config` writes: each node's config YAML and the talosconfig.
public struct GeneratedConfigs: Sendable {
    /// Node name → its machine config as multi-document YAML, in site order.
    public var nodes: [(name: String, yaml: String)]
    public var talosconfig: String
}

/// Turns a site, its secrets and the patches into every file a site needs. Pure: patch files are read by
/// the caller (see `TalosFiles`).
public struct SiteConfigBuilder: Sendable {
    public var generator: MachineConfigGenerator
    /// Patches by scope, in the order Talos applies them: all, role, node, then the command line's.
    public var all: [NamedPatch]
    public var controlplane: [NamedPatch]
    public var worker: [NamedPatch]
    public var perNode: [String: [NamedPatch]]
    public var commandLine: [NamedPatch]

    public init(generator: MachineConfigGenerator, all: [NamedPatch] = [], controlplane: [NamedPatch] = [],
                worker: [NamedPatch] = [], perNode: [String: [NamedPatch]] = [:], commandLine: [NamedPatch] = []) {
        self.generator = generator; self.all = all; self.controlplane = controlplane; self.worker = worker
        self.perNode = perNode; self.commandLine = commandLine
    }

    /// One node's patched documents.
    public func documents(for node: Site.Node) throws -> [JSONValue] {
        var docs = generator.documents(for: node)
        let scoped = all + (node.role == .controlplane ? controlplane : worker) + (perNode[node.name] ?? []) + commandLine
        for p in scoped { docs = try p.patch.apply(to: docs, file: p.file) }
        return docs
    }

    public func build(now: Date = Date()) throws -> GeneratedConfigs {
        let nodes = try generator.site.nodes.map { node in
            (name: node.name, yaml: try YAMLDocuments.render(try documents(for: node)))
        }
        return GeneratedConfigs(nodes: nodes, talosconfig: try Talosconfig.make(site: generator.site, secrets: generator.secrets, now: now))
    }
}

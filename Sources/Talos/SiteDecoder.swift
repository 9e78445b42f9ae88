import Foundation
import Yams

/// Reads a site file into a `Site`, strictly: unknown keys, wrong types and missing required keys are
/// reported with their line and column (from Yams node marks). Collects every problem it can in one pass.
public struct SiteDecoder {
    public let file: String
    public init(file: String) { self.file = file }

    /// Decodes the site and runs `SiteValidator` over it; throws `TalosError.invalidSite` with every problem
    /// (structural and semantic) in file order.
    public func decodeAndValidate(_ text: String, patchStatus: @escaping (String) -> SiteValidator.PatchStatus = { _ in .ok }) throws -> Site {
        let (site, structural) = try read(text)
        var issues = structural
        if let site { issues += SiteValidator(file: file, patchStatus: patchStatus).validate(site) }
        if !issues.isEmpty || site == nil { throw TalosError.invalidSite(Self.sorted(issues)) }
        return site!
    }

    /// Decodes the structure only (types, required and unknown keys).
    public func decode(_ text: String) throws -> Site {
        let (site, issues) = try read(text)
        if !issues.isEmpty || site == nil { throw TalosError.invalidSite(Self.sorted(issues)) }
        return site!
    }

    static func sorted(_ issues: [SiteIssue]) -> [SiteIssue] {
        issues.enumerated().sorted { a, b in
            let la = (a.element.line ?? Int.max, a.element.column ?? 0), lb = (b.element.line ?? Int.max, b.element.column ?? 0)
            return la != lb ? la < lb : a.offset < b.offset
        }.map(\.element)
    }

    private func read(_ text: String) throws -> (Site?, [SiteIssue]) {
        let root: Node?
        do { root = try Yams.compose(yaml: text) } catch {
            throw TalosError.yaml(file: file, line: (error as? YamlError).flatMap(Self.line(of:)), reason: "\(error)")
        }
        guard let root else { return (nil, [SiteIssue(file: file, key: "(document)", reason: "the file is empty")]) }
        let r = Reader(file: file)
        let site = r.site(root)
        return (site, r.issues)
    }

    static func line(of error: YamlError) -> Int? {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): return mark.line
        default: return nil
        }
    }
}

/// Walks the YAML tree, recording issues and the location of every key.
private final class Reader {
    let file: String
    var issues: [SiteIssue] = []
    var locations: [String: (line: Int, column: Int)] = [:]
    init(file: String) { self.file = file }

    func issue(_ node: Node?, _ key: String, _ reason: String) {
        issues.append(SiteIssue(file: file, line: node?.mark?.line, column: node?.mark?.column, key: key, reason: reason))
    }

    /// A required key is absent: reported at its parent key's location.
    func missing(_ parent: String, _ key: String, _ reason: String) {
        let loc = locations[parent]
        issues.append(SiteIssue(file: file, line: loc?.line, column: loc?.column, key: key, reason: reason))
    }

    func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// A mapping's entries; unknown keys and a non-mapping are reported.
    func mapping(_ node: Node, _ path: String, allowed: [String]) -> [String: Node]? {
        guard case .mapping(let map) = node else {
            issue(node, path.isEmpty ? "(document)" : path, "must be a mapping of keys (one of: \(allowed.joined(separator: ", ")))")
            return nil
        }
        var out: [String: Node] = [:]
        for (k, v) in map {
            let key = k.string ?? "?"
            let full = join(path, key)
            if !allowed.contains(key) {
                issue(k, full, "unknown key (allowed here: \(allowed.joined(separator: ", ")))")
                continue
            }
            if out[key] != nil { issue(k, full, "duplicate key"); continue }
            if let m = k.mark { locations[full] = (m.line, m.column) }
            out[key] = v
        }
        return out
    }

    func string(_ node: Node?, _ key: String, required: Bool = false) -> String? {
        guard let node else {
            if required { issues.append(SiteIssue(file: file, key: key, reason: "is required")) }
            return nil
        }
        guard case .scalar(let s) = node, node.tagName != .null else {
            issue(node, key, "must be a string"); return nil
        }
        if s.string.isEmpty && required { issue(node, key, "must not be empty"); return nil }
        return s.string
    }

    func bool(_ node: Node?, _ key: String) -> Bool? {
        guard let node else { return nil }
        guard node.tagName == .bool, let b = node.bool else { issue(node, key, "must be true or false"); return nil }
        return b
    }

    func int(_ node: Node?, _ key: String) -> Int? {
        guard let node else { return nil }
        guard node.tagName == .int, let i = node.int else { issue(node, key, "must be an integer"); return nil }
        return i
    }

    func list(_ node: Node?, _ key: String) -> [Node]? {
        guard let node else { return nil }
        if node.tagName == .null { return [] }
        guard case .sequence(let seq) = node else { issue(node, key, "must be a list"); return nil }
        for (i, item) in seq.enumerated() {
            if let m = item.mark { locations["\(key)[\(i)]"] = (m.line, m.column) }
        }
        return Array(seq)
    }

    func strings(_ node: Node?, _ key: String) -> [String]? {
        guard let items = list(node, key) else { return nil }
        var out: [String] = []
        for (i, item) in items.enumerated() {
            let k = "\(key)[\(i)]"
            if let s = string(item, k) { out.append(s) }
        }
        return out
    }

    func site(_ root: Node) -> Site? {
        guard let top = mapping(root, "", allowed: ["apiVersion", "kind", "metadata", "talos", "cluster", "network",
                                                    "registry", "nodes", "packages", "patches"]) else { return nil }
        if let v = string(top["apiVersion"], "apiVersion", required: true), v != Site.apiVersion {
            issue(top["apiVersion"], "apiVersion", "must be \(Site.apiVersion), not \(v)")
        }
        if let v = string(top["kind"], "kind", required: true), v != Site.kind {
            issue(top["kind"], "kind", "must be \(Site.kind), not \(v)")
        }
        var name = ""
        if let md = top["metadata"] {
            if let m = mapping(md, "metadata", allowed: ["name"]) { name = string(m["name"], "metadata.name", required: true) ?? "" }
        } else {
            issues.append(SiteIssue(file: file, key: "metadata.name", reason: "is required"))
        }
        let talos = self.talos(top["talos"])
        var cluster = Site.Cluster(endpoint: "")
        if let c = top["cluster"] {
            if let m = mapping(c, "cluster", allowed: ["endpoint", "podSubnets", "serviceSubnets", "dnsDomain",
                                                      "allowSchedulingOnControlPlanes"]) {
                cluster.endpoint = string(m["endpoint"], "cluster.endpoint") ?? ""
                if m["endpoint"] == nil { missing("cluster", "cluster.endpoint", "is required (the Kubernetes API URL, e.g. https://10.20.0.10:6443)") }
                if let v = strings(m["podSubnets"], "cluster.podSubnets") { cluster.podSubnets = v }
                if let v = strings(m["serviceSubnets"], "cluster.serviceSubnets") { cluster.serviceSubnets = v }
                if let v = string(m["dnsDomain"], "cluster.dnsDomain", required: m["dnsDomain"] != nil) { cluster.dnsDomain = v }
                cluster.allowSchedulingOnControlPlanes = bool(m["allowSchedulingOnControlPlanes"], "cluster.allowSchedulingOnControlPlanes")
            }
        } else {
            issue(root, "cluster.endpoint", "is required (a `cluster:` section with the Kubernetes API URL)")
        }
        var network = Site.Network()
        if let n = top["network"], let m = mapping(n, "network", allowed: ["nameservers", "timeServers"]) {
            network.nameservers = strings(m["nameservers"], "network.nameservers") ?? []
            network.timeServers = strings(m["timeServers"], "network.timeServers") ?? []
        }
        var registry = Site.Registry()
        if let n = top["registry"], let m = mapping(n, "registry", allowed: ["nodePort", "mirrors"]) {
            if let p = int(m["nodePort"], "registry.nodePort") { registry.nodePort = p }
            registry.mirrors = strings(m["mirrors"], "registry.mirrors") ?? []
        }
        var nodes: [Site.Node] = []
        if let list = list(top["nodes"], "nodes") {
            for (i, n) in list.enumerated() {
                if let node = self.node(n, "nodes[\(i)]") { nodes.append(node) }
            }
        } else if top["nodes"] == nil {
            issue(root, "nodes", "is required (at least one node)")
        }
        let packages = strings(top["packages"], "packages") ?? []
        var patches = Site.Patches()
        if let p = top["patches"], let m = mapping(p, "patches", allowed: ["all", "controlplane", "worker"]) {
            patches.all = strings(m["all"], "patches.all") ?? []
            patches.controlplane = strings(m["controlplane"], "patches.controlplane") ?? []
            patches.worker = strings(m["worker"], "patches.worker") ?? []
        }
        return Site(name: name, talos: talos, cluster: cluster, network: network, registry: registry, nodes: nodes,
                    packages: packages, patches: patches, locations: SourceLocations(locations))
    }

    func talos(_ node: Node?) -> Site.TalosRelease {
        guard let node, let m = mapping(node, "talos", allowed: ["version", "kubernetesVersion", "installerImage", "assets"])
        else { return .init() }
        let version = string(m["version"], "talos.version", required: m["version"] != nil) ?? TalosDefaults.talosVersion
        let k8s = string(m["kubernetesVersion"], "talos.kubernetesVersion", required: m["kubernetesVersion"] != nil)
            ?? TalosDefaults.kubernetesVersion
        let installer = string(m["installerImage"], "talos.installerImage", required: m["installerImage"] != nil)
        var assets: Site.Assets?
        if let a = m["assets"], let am = mapping(a, "talos.assets", allowed: ["iso", "kernel", "initramfs", "bootloader"]) {
            let iso = string(am["iso"], "talos.assets.iso", required: am["iso"] != nil)
            let kernel = string(am["kernel"], "talos.assets.kernel", required: am["kernel"] != nil)
            let initramfs = string(am["initramfs"], "talos.assets.initramfs", required: am["initramfs"] != nil)
            let bootloader = string(am["bootloader"], "talos.assets.bootloader", required: am["bootloader"] != nil)
            if iso != nil && (kernel != nil || initramfs != nil || bootloader != nil) {
                issue(a, "talos.assets", "give either iso, or kernel + initramfs (+ bootloader), not both")
            } else if let iso {
                assets = .iso(iso)
            } else if let kernel, let initramfs {
                assets = .kernel(kernel: kernel, initramfs: initramfs, bootloader: bootloader)
            } else {
                issue(a, "talos.assets", "needs iso, or both kernel and initramfs")
            }
        }
        return .init(version: version, kubernetesVersion: k8s, installerImage: installer, assets: assets)
    }

    func node(_ n: Node, _ path: String) -> Site.Node? {
        guard let m = mapping(n, path, allowed: ["name", "role", "bootstrap", "installDisk", "interface", "patches"])
        else { return nil }
        let name = string(m["name"], "\(path).name") ?? ""
        if m["name"] == nil { missing(path, "\(path).name", "is required") }
        var role = Site.Node.Role.worker
        if let r = string(m["role"], "\(path).role") {
            if let parsed = Site.Node.Role(rawValue: r) { role = parsed } else {
                issue(m["role"], "\(path).role", "unknown role \"\(r)\" (controlplane | worker)")
            }
        } else if m["role"] == nil {
            missing(path, "\(path).role", "is required (controlplane | worker)")
        }
        let bootstrap = bool(m["bootstrap"], "\(path).bootstrap") ?? false
        let disk = string(m["installDisk"], "\(path).installDisk", required: m["installDisk"] != nil) ?? TalosDefaults.installDisk
        var iface = Site.Interface(mac: "", addresses: [])
        if let i = m["interface"] {
            if let im = mapping(i, "\(path).interface", allowed: ["mac", "addresses", "gateway"]) {
                iface.mac = string(im["mac"], "\(path).interface.mac") ?? ""
                if im["mac"] == nil { missing("\(path).interface", "\(path).interface.mac", "is required (the MAC address that finds the interface)") }
                iface.addresses = strings(im["addresses"], "\(path).interface.addresses") ?? []
                if im["addresses"] == nil { missing("\(path).interface", "\(path).interface.addresses", "is required (static addresses, e.g. 10.20.0.11/24)") }
                iface.gateway = string(im["gateway"], "\(path).interface.gateway")
            }
        } else {
            missing(path, "\(path).interface", "is required (mac, addresses, gateway)")
        }
        let patches = strings(m["patches"], "\(path).patches") ?? []
        return Site.Node(name: name, role: role, bootstrap: bootstrap, installDisk: disk, interface: iface, patches: patches)
    }
}

import Foundation
import OutpostCore

/// Checks the meaning of a decoded site: names, versions, addresses, the bootstrap node, patch files.
/// Pure: patch files are looked at through `patchStatus`, which the caller backs with the file system.
public struct SiteValidator {
    /// What the caller found at a patch path.
    public enum PatchStatus: Sendable, Equatable {
        case ok
        case missing
        /// An RFC 6902 patch: refused, because Outpost's node configs are multi-document (Talos's rule).
        case jsonPatch
        case unreadable(String)
    }

    public let file: String
    public let patchStatus: (String) -> PatchStatus

    public init(file: String, patchStatus: @escaping (String) -> PatchStatus = { _ in .ok }) {
        self.file = file; self.patchStatus = patchStatus
    }

    /// Every problem found; empty means valid.
    public func validate(_ site: Site) -> [SiteIssue] {
        var issues: [SiteIssue] = []
        func add(_ key: String, _ reason: String, at: String? = nil) {
            let loc = site.locations[at ?? key] ?? site.locations[parentKey(at ?? key)]
            issues.append(SiteIssue(file: file, line: loc?.line, column: loc?.column, key: key, reason: reason))
        }

        if !site.name.isEmpty && !Self.isDNSLabel(site.name) {
            add("metadata.name", "\"\(site.name)\" is not a DNS label (lower-case letters, digits and '-', at most 63, starting and ending with a letter or digit)")
        }

        // Talos release
        if let v = Self.semver(site.talos.version) {
            if v != (1, 13) {
                add("talos.version", "Outpost generates the Talos v1.13 config contract; \(site.talos.version) is not a v1.13.x release")
            }
        } else {
            add("talos.version", "\"\(site.talos.version)\" is not a version like v1.13.9")
        }
        if Self.semver(site.talos.kubernetesVersion) == nil {
            add("talos.kubernetesVersion", "\"\(site.talos.kubernetesVersion)\" is not a version like v1.36.3")
        }
        if site.talos.installerImage.contains(" ") || !site.talos.installerImage.contains("/") {
            add("talos.installerImage", "\"\(site.talos.installerImage)\" is not an image reference")
        }

        // Cluster
        if !site.cluster.endpoint.isEmpty {
            if let reason = Self.endpointProblem(site.cluster.endpoint) { add("cluster.endpoint", reason) }
        }
        var clusterNets: [(String, IPPrefix)] = []
        for (field, values) in [("podSubnets", site.cluster.podSubnets), ("serviceSubnets", site.cluster.serviceSubnets)] {
            if values.isEmpty { add("cluster.\(field)", "needs at least one subnet") }
            for (i, v) in values.enumerated() {
                let key = "cluster.\(field)[\(i)]"
                guard let p = IPPrefix(v) else { add(key, "\"\(v)\" is not a CIDR like 10.244.0.0/16"); continue }
                if !p.isNetwork { add(key, "\"\(v)\" has host bits set; write the network, \(p.network)") }
                for (other, q) in clusterNets where p.overlaps(q) { add(key, "\(v) overlaps \(other) \(q)") }
                clusterNets.append((key, p))
            }
        }
        if !Self.isDNSName(site.cluster.dnsDomain) { add("cluster.dnsDomain", "\"\(site.cluster.dnsDomain)\" is not a DNS name") }

        // Site network
        for (i, v) in site.network.nameservers.enumerated() where IPAddress(v) == nil {
            add("network.nameservers[\(i)]", "\"\(v)\" is not an IP address")
        }
        for (i, v) in site.network.timeServers.enumerated() where IPAddress(v) == nil && !Self.isDNSName(v) {
            add("network.timeServers[\(i)]", "\"\(v)\" is neither an IP address nor a host name")
        }
        if !(1...65535).contains(site.registry.nodePort) {
            add("registry.nodePort", "\(site.registry.nodePort) is not a port number")
        }
        for (i, v) in site.registry.mirrors.enumerated() where !Self.isRegistryHost(v) {
            add("registry.mirrors[\(i)]", "\"\(v)\" is not a registry host (e.g. quay.io or registry.local:5000)")
        }

        // Nodes
        if site.nodes.isEmpty { add("nodes", "needs at least one node") }
        var names: [String: Int] = [:], macs: [String: Int] = [:], addrs: [IPAddress: String] = [:]
        for (i, node) in site.nodes.enumerated() {
            let path = "nodes[\(i)]"
            if !node.name.isEmpty {
                if !Self.isDNSLabel(node.name) {
                    add("\(path).name", "\"\(node.name)\" is not a DNS label (it becomes the host name)")
                }
                if let first = names[node.name] {
                    add("\(path).name", "duplicate node name \"\(node.name)\" (also nodes[\(first)])")
                } else { names[node.name] = i }
            }
            if node.bootstrap && node.role == .worker {
                add("\(path).bootstrap", "a worker cannot be the bootstrap node; only a controlplane node starts etcd")
            }
            if !node.installDisk.hasPrefix("/dev/") || node.installDisk.count <= 5 {
                add("\(path).installDisk", "\"\(node.installDisk)\" is not a device path like /dev/sda")
            }
            let mac = node.interface.mac
            if !mac.isEmpty {
                if let m = MACAddress(mac) {
                    if let first = macs[m.text] { add("\(path).interface.mac", "duplicate MAC \(mac) (also nodes[\(first)])") }
                    else { macs[m.text] = i }
                } else {
                    add("\(path).interface.mac", "\"\(mac)\" is not a MAC address like 52:54:00:12:34:56")
                }
            }
            var prefixes: [IPPrefix] = []
            if node.interface.addresses.isEmpty && site.locations["\(path).interface.addresses"] != nil {
                add("\(path).interface.addresses", "needs at least one address like 10.20.0.11/24")
            }
            for (j, a) in node.interface.addresses.enumerated() {
                let key = "\(path).interface.addresses[\(j)]"
                guard let p = IPPrefix(a) else {
                    add(key, "\"\(a)\" is not an address with a prefix length, like 10.20.0.11/24"); continue
                }
                if p.isNetwork && p.length < (p.address.isIPv4 ? 31 : 127) {
                    add(key, "\(a) is the network address of \(p.network), not a host address")
                }
                if let other = addrs[p.address] { add(key, "address \(p.address) is also used by \(other)") }
                else { addrs[p.address] = node.name.isEmpty ? path : node.name }
                for (other, q) in clusterNets where q.contains(p.address) {
                    add(key, "\(a) lies inside \(other) \(q); node addresses must be outside the cluster networks")
                }
                prefixes.append(p)
            }
            if let gw = node.interface.gateway {
                if let g = IPAddress(gw) {
                    if !prefixes.isEmpty && !prefixes.contains(where: { $0.contains(g) }) {
                        add("\(path).interface.gateway", "gateway \(gw) is outside the interface's subnet(s) \(prefixes.map(\.network).joined(separator: ", "))")
                    }
                } else {
                    add("\(path).interface.gateway", "\"\(gw)\" is not an IP address")
                }
            }
        }
        if !site.nodes.isEmpty {
            if site.controlPlanes.isEmpty { add("nodes", "needs at least one node with role controlplane") }
            let bootstrap = site.nodes.enumerated().filter { $0.element.bootstrap }
            if bootstrap.isEmpty {
                add("nodes", "no node has bootstrap: true; mark exactly one controlplane node to start etcd")
            } else if bootstrap.count > 1 {
                for (i, _) in bootstrap.dropFirst() {
                    add("nodes[\(i)].bootstrap", "more than one bootstrap node (nodes[\(bootstrap[0].offset)] is already); exactly one controlplane node may start etcd")
                }
            }
        }

        // Patches and packages
        for (key, path) in site.patchReferences {
            switch patchStatus(path) {
            case .ok: break
            case .missing: add(key, "patch file \(path) does not exist")
            case .jsonPatch:
                add(key, "\(path) is an RFC 6902 JSON patch; Talos refuses those on multi-document configs such as Outpost's, write a strategic merge patch")
            case .unreadable(let why): add(key, "patch file \(path): \(why)")
            }
        }
        return issues
    }

    private func parentKey(_ key: String) -> String {
        if key.hasSuffix("]"), let i = key.lastIndex(of: "[") { return String(key[..<i]) }
        if let i = key.lastIndex(of: ".") { return String(key[..<i]) }
        return key
    }

    static func semver(_ v: String) -> (Int, Int)? {
        guard v.hasPrefix("v") else { return nil }
        let core = v.dropFirst().split(separator: "-", maxSplits: 1)[0]
        let parts = core.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isNumber) }) else { return nil }
        return (Int(parts[0])!, Int(parts[1])!)
    }

    static func isDNSLabel(_ s: String) -> Bool {
        guard (1...63).contains(s.count), let f = s.first, let l = s.last else { return false }
        let ok = s.allSatisfy { ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "-" }
        return ok && f != "-" && l != "-"
    }

    static func isDNSName(_ s: String) -> Bool {
        guard !s.isEmpty, s.count <= 253 else { return false }
        return s.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { isDNSLabel($0.lowercased()) }
    }

    static func isRegistryHost(_ s: String) -> Bool {
        if s == "*" { return true }
        let parts = s.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count <= 2 else { return false }
        if parts.count == 2 { guard let p = Int(parts[1]), (1...65535).contains(p) else { return false } }
        return isDNSName(String(parts[0])) || IPAddress(String(parts[0])) != nil
    }

    /// Nil when `endpoint` is an https URL with a host (and optional port); otherwise why not.
    static func endpointProblem(_ endpoint: String) -> String? {
        guard let url = URLComponents(string: endpoint), url.scheme == "https", let host = url.host, !host.isEmpty else {
            return "\"\(endpoint)\" is not an https URL like https://10.20.0.10:6443"
        }
        if let port = url.port, !(1...65535).contains(port) { return "port \(port) is out of range" }
        if !(url.path.isEmpty || url.path == "/") { return "the endpoint must not have a path" }
        let bare = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        if IPAddress(bare) == nil && !isDNSName(bare) { return "\"\(host)\" is not an IP address or host name" }
        return nil
    }
}

import Foundation

/// Outpost's description of one site: the Talos release, the cluster, the site network and every node.
///
/// It is the single input from which secrets, machine configs, talosconfig and boot media are made.
/// Read it with `SiteDecoder` (strict: unknown keys are errors) and check it with `SiteValidator`.
public struct Site: Sendable, Hashable {
    public static let apiVersion = "outpost.dev/v1alpha1"
    public static let kind = "Site"

    /// `metadata.name`: a DNS label; also the Talos cluster name and talosconfig context.
    public var name: String
    public var talos: TalosRelease
    public var cluster: Cluster
    public var network: Network
    public var registry: Registry
    public var nodes: [Node]
    /// Zarf packages deployed at first boot (paths relative to the site file).
    public var packages: [String]
    public var patches: Patches
    /// Where each key was found in the file (`nodes[1].interface.mac` → line, column); not part of equality.
    public var locations: SourceLocations

    public init(name: String, talos: TalosRelease = .init(), cluster: Cluster, network: Network = .init(),
                registry: Registry = .init(), nodes: [Node], packages: [String] = [], patches: Patches = .init(),
                locations: SourceLocations = .init()) {
        self.name = name; self.talos = talos; self.cluster = cluster; self.network = network
        self.registry = registry; self.nodes = nodes; self.packages = packages; self.patches = patches
        self.locations = locations
    }

    /// `talos:`: which Talos and Kubernetes to run, and the boot assets the media is built from.
    public struct TalosRelease: Sendable, Hashable {
        public var version: String
        public var kubernetesVersion: String
        public var installerImage: String
        public var assets: Assets?
        public init(version: String = TalosDefaults.talosVersion,
                    kubernetesVersion: String = TalosDefaults.kubernetesVersion,
                    installerImage: String? = nil, assets: Assets? = nil) {
            self.version = version; self.kubernetesVersion = kubernetesVersion
            self.installerImage = installerImage ?? TalosDefaults.installerImage(version: version)
            self.assets = assets
        }
    }

    /// Talos boot assets: an ISO, or a kernel and initramfs (with an optional bootloader / UKI).
    public enum Assets: Sendable, Hashable {
        case iso(String)
        case kernel(kernel: String, initramfs: String, bootloader: String?)
    }

    /// `cluster:`: the Kubernetes API endpoint and the cluster networks.
    public struct Cluster: Sendable, Hashable {
        public var endpoint: String
        public var podSubnets: [String]
        public var serviceSubnets: [String]
        public var dnsDomain: String
        /// Run workloads on control planes; when unset, true exactly when the site has no workers.
        public var allowSchedulingOnControlPlanes: Bool?
        public init(endpoint: String, podSubnets: [String] = [TalosDefaults.podSubnet],
                    serviceSubnets: [String] = [TalosDefaults.serviceSubnet], dnsDomain: String = TalosDefaults.dnsDomain,
                    allowSchedulingOnControlPlanes: Bool? = nil) {
            self.endpoint = endpoint; self.podSubnets = podSubnets; self.serviceSubnets = serviceSubnets
            self.dnsDomain = dnsDomain; self.allowSchedulingOnControlPlanes = allowSchedulingOnControlPlanes
        }
    }

    /// `network:`: the site's own DNS and time servers (there is no Internet to fall back on).
    public struct Network: Sendable, Hashable {
        public var nameservers: [String]
        public var timeServers: [String]
        public init(nameservers: [String] = [], timeServers: [String] = []) {
            self.nameservers = nameservers; self.timeServers = timeServers
        }
    }

    /// `registry:`: where Outpost's in-cluster registry answers and which extra upstreams to mirror to it.
    public struct Registry: Sendable, Hashable {
        /// The registry's NodePort; images are pulled from `127.0.0.1:<nodePort>` on every node.
        public var nodePort: Int
        /// Upstream registries to mirror besides those the packages name (e.g. `quay.io`).
        public var mirrors: [String]
        public init(nodePort: Int = TalosDefaults.registryNodePort, mirrors: [String] = []) {
            self.nodePort = nodePort; self.mirrors = mirrors
        }
        public var address: String { "127.0.0.1:\(nodePort)" }
    }

    /// One machine of the site.
    public struct Node: Sendable, Hashable {
        public enum Role: String, Sendable, Hashable, CaseIterable { case controlplane, worker }
        public var name: String
        public var role: Role
        /// The one control plane that starts etcd by itself (see `MachineConfigGenerator`).
        public var bootstrap: Bool
        public var installDisk: String
        public var interface: Interface
        /// Patch files for this node only, applied after the site-wide and per-role ones.
        public var patches: [String]
        public init(name: String, role: Role, bootstrap: Bool = false, installDisk: String = TalosDefaults.installDisk,
                    interface: Interface, patches: [String] = []) {
            self.name = name; self.role = role; self.bootstrap = bootstrap; self.installDisk = installDisk
            self.interface = interface; self.patches = patches
        }
    }

    /// A node's one site-facing network interface, found by its MAC address, statically addressed.
    public struct Interface: Sendable, Hashable {
        public var mac: String
        public var addresses: [String]
        public var gateway: String?
        public init(mac: String, addresses: [String], gateway: String? = nil) {
            self.mac = mac; self.addresses = addresses; self.gateway = gateway
        }
    }

    /// `patches:`: Talos config patch files (strategic merge or RFC 6902) by scope.
    public struct Patches: Sendable, Hashable {
        public var all: [String]
        public var controlplane: [String]
        public var worker: [String]
        public init(all: [String] = [], controlplane: [String] = [], worker: [String] = []) {
            self.all = all; self.controlplane = controlplane; self.worker = worker
        }
    }

    public var controlPlanes: [Node] { nodes.filter { $0.role == .controlplane } }
    public var workers: [Node] { nodes.filter { $0.role == .worker } }
    public var bootstrapNode: Node? { nodes.first { $0.bootstrap } }

    /// Every patch file the site names, with the key that names it (for error messages).
    public var patchReferences: [(key: String, path: String)] {
        var refs: [(String, String)] = []
        for (i, p) in patches.all.enumerated() { refs.append(("patches.all[\(i)]", p)) }
        for (i, p) in patches.controlplane.enumerated() { refs.append(("patches.controlplane[\(i)]", p)) }
        for (i, p) in patches.worker.enumerated() { refs.append(("patches.worker[\(i)]", p)) }
        for (n, node) in nodes.enumerated() {
            for (i, p) in node.patches.enumerated() { refs.append(("nodes[\(n)].patches[\(i)]", p)) }
        }
        return refs
    }
}

/// Line and column of each key path in a site file. Ignored by `==` so equal sites compare equal
/// wherever they were written.
public struct SourceLocations: Sendable, Hashable {
    public var byKey: [String: (line: Int, column: Int)]
    public init(_ byKey: [String: (line: Int, column: Int)] = [:]) { self.byKey = byKey }
    public subscript(key: String) -> (line: Int, column: Int)? { byKey[key] }
    public static func == (a: SourceLocations, b: SourceLocations) -> Bool { true }
    public func hash(into hasher: inout Hasher) {}
}

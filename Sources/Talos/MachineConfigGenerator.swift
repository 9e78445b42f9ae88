import Foundation
import OutpostCore

/// Builds each node's Talos machine config (v1.13 contract: one `v1alpha1` document plus the
/// multi-document kinds) from a site and its secrets, with what an offline site needs built in:
///
/// - no `machine.network`/`machine.time`/`machine.registries` (gone from the schema): static networking is a
///   `LinkAliasConfig` (the site interface found by MAC) + `LinkConfig` (addresses, default route),
///   DNS a `ResolverConfig`, time a `TimeSyncConfig`, the host name a `HostnameConfig`;
/// - cluster discovery off (its default endpoint is a public service);
/// - a `RegistryMirrorConfig` per upstream registry (and `*`) pointing at Outpost's in-cluster registry on
///   `http://127.0.0.1:<nodePort>` with `skipFallback: true`, plus one for that address itself so containerd
///   pulls webhook-rewritten references over plain HTTP;
/// - the Talos image cache on (`machine.features.imageCache.localEnabled` and `VolumeConfig IMAGECACHE`), so the
///   system images and the installer come from the boot media, before the in-cluster registry exists;
/// - kube-proxy in `iptables` mode and `route_localnet=1`: Zarf-style `127.0.0.1:<NodePort>` image references
///   only work when kube-proxy serves NodePorts on localhost, which the nftables mode never does;
/// - `cluster.inlineManifests` for Outpost's first-boot objects (the `zarf` namespace; the agent's slot).
///
/// **Bootstrap without an operator.** etcd on a Talos control plane waits for one `Bootstrap` API call,
/// which nobody is there to make at an offline site. By default (`BootstrapMode.initType`) the site's bootstrap
/// node gets `machine.type: init`: Talos still honours it and bootstraps etcd by itself on first boot, and every
/// other control plane joins it. The v1.13 JSON schema no longer lists `init` (Talos deprecates it in favour of
/// the API call), so that one field of that one document is the only schema deviation; choose
/// `BootstrapMode.apiCall` for fully schema-clean configs when an operator will run `talosctl bootstrap`.
public struct MachineConfigGenerator: Sendable {
    /// How the bootstrap node starts etcd (see the type's documentation).
    public enum BootstrapMode: String, Sendable, CaseIterable { case initType = "init", apiCall = "api" }

    public var site: Site
    public var secrets: SecretsBundle
    /// Upstream registries the site's package images name (e.g. from their zarf.yaml); mirrored besides
    /// Talos's own system registries, the site's `registry.mirrors` and `*`.
    public var packageRegistries: [String]
    /// Multi-document YAML for the provisioning agent, placed in the `outpost-agent` inline manifest.
    public var agentManifests: String?
    public var bootstrapMode: BootstrapMode

    /// Names of Outpost's inline manifests, applied by Talos once etcd is healthy (namespaces first).
    public enum InlineManifest {
        /// Namespaces Outpost needs before anything else: `zarf`.
        public static let namespaces = "outpost-namespaces"
        /// The provisioning agent's objects: the clearly named place the agent's issue fills.
        public static let agent = "outpost-agent"
    }

    /// The name the site's interface gets through `LinkAliasConfig` (not a kernel name, so it never clashes).
    public static let siteLinkName = "site0"

    public init(site: Site, secrets: SecretsBundle, packageRegistries: [String] = [], agentManifests: String? = nil,
                bootstrapMode: BootstrapMode = .initType) {
        self.site = site; self.secrets = secrets; self.packageRegistries = packageRegistries
        self.agentManifests = agentManifests; self.bootstrapMode = bootstrapMode
    }

    /// The documents of `node`'s config, v1alpha1 first.
    public func documents(for node: Site.Node) -> [JSONValue] {
        [v1alpha1(for: node)] + networkDocuments(for: node) + registryMirrors() + [imageCacheVolume()]
    }

    /// Every registry mirrored to the in-cluster registry, sorted, `*` last.
    public func mirroredRegistries() -> [String] {
        let named = Set(TalosDefaults.systemRegistries + packageRegistries.map(Self.normalizeRegistry) + site.registry.mirrors)
            .subtracting(["*", site.registry.address])
        return named.sorted() + [site.registry.address, "*"]
    }

    static func normalizeRegistry(_ r: String) -> String {
        ["index.docker.io", "registry-1.docker.io", "docker.io"].contains(r) ? "docker.io" : r
    }

    // MARK: v1alpha1

    func v1alpha1(for node: Site.Node) -> JSONValue {
        let cp = node.role == .controlplane
        let images = TalosDefaults.kubernetesImages(site.talos.kubernetesVersion)
        let subnets = node.interface.addresses.compactMap { IPPrefix($0)?.network }
        let endpointHost = Self.host(of: site.cluster.endpoint)
        let type: String = !cp ? "worker" : (node.bootstrap && bootstrapMode == .initType ? "init" : "controlplane")

        var machine: [String: JSONValue] = [
            "type": .string(type),
            "token": .string(secrets.trustdToken),
            "ca": cp ? ["crt": .string(b64(secrets.os.certificate)), "key": .string(b64(secrets.os.key))]
                     : ["crt": .string(b64(secrets.os.certificate))],
            "certSANs": .array(unique(node.interface.addresses.compactMap { IPPrefix($0)?.address.text } + [endpointHost]).map { .string($0) }),
            "kubelet": [
                "image": .string(images.kubelet),
                "defaultRuntimeSeccompProfileEnabled": true,
                "nodeIP": ["validSubnets": .array(subnets.map { .string($0) })],
            ],
            "install": ["disk": .string(node.installDisk), "image": .string(site.talos.installerImage), "wipe": false],
            // kube-proxy needs this for 127.0.0.1 NodePorts; it sets it itself, we make it certain.
            "sysctls": ["net.ipv4.conf.all.route_localnet": "1"],
            "features": [
                "kubePrism": ["enabled": true, "port": .number(Double(TalosDefaults.kubePrismPort))],
                "hostDNS": ["enabled": true, "forwardKubeDNSToHost": true],
                "imageCache": ["localEnabled": true],
            ],
        ]
        if node.bootstrap { machine["nodeLabels"] = ["outpost.dev/bootstrap": "true"] }

        var cluster: [String: JSONValue] = [
            "id": .string(secrets.clusterID),
            "secret": .string(secrets.clusterSecret),
            "controlPlane": ["endpoint": .string(site.cluster.endpoint)],
            "clusterName": .string(site.name),
            "network": [
                "dnsDomain": .string(site.cluster.dnsDomain),
                "podSubnets": .array(site.cluster.podSubnets.map { .string($0) }),
                "serviceSubnets": .array(site.cluster.serviceSubnets.map { .string($0) }),
                "cni": ["name": "flannel"],
            ],
            "token": .string(secrets.bootstrapToken),
            "ca": cp ? ["crt": .string(b64(secrets.k8s.certificate)), "key": .string(b64(secrets.k8s.key))]
                     : ["crt": .string(b64(secrets.k8s.certificate))],
            "discovery": ["enabled": false],
        ]
        if cp {
            cluster["secretboxEncryptionSecret"] = .string(secrets.secretboxEncryptionSecret)
            cluster["aggregatorCA"] = ["crt": .string(b64(secrets.k8sAggregator.certificate)), "key": .string(b64(secrets.k8sAggregator.key))]
            cluster["serviceAccount"] = ["key": .string(b64(secrets.k8sServiceAccountKey))]
            cluster["apiServer"] = ["image": .string(images.apiServer), "certSANs": [.string(endpointHost)]]
            cluster["controllerManager"] = ["image": .string(images.controllerManager)]
            cluster["scheduler"] = ["image": .string(images.scheduler)]
            cluster["proxy"] = ["image": .string(images.proxy), "mode": "iptables"]
            cluster["etcd"] = [
                "ca": ["crt": .string(b64(secrets.etcd.certificate)), "key": .string(b64(secrets.etcd.key))],
                "advertisedSubnets": .array(subnets.map { .string($0) }),
            ]
            cluster["inlineManifests"] = .array(inlineManifests())
            cluster["allowSchedulingOnControlPlanes"] = .bool(site.cluster.allowSchedulingOnControlPlanes ?? site.workers.isEmpty)
        }
        return ["version": "v1alpha1", "debug": false, "machine": .object(machine), "cluster": .object(cluster)]
    }

    /// Outpost's first-boot objects. The `zarf` namespace is labelled so the admission webhook leaves it alone
    /// (`zarf.dev/agent: ignore`, as Zarf does) and so Pod Security admission, which Talos enforces at
    /// `baseline`, admits the seed-registry injector and the agent.
    func inlineManifests() -> [JSONValue] {
        let namespaces = """
            apiVersion: v1
            kind: Namespace
            metadata:
              name: zarf
              labels:
                app.kubernetes.io/managed-by: outpost
                zarf.dev/agent: ignore
                pod-security.kubernetes.io/enforce: privileged
                pod-security.kubernetes.io/audit: privileged
                pod-security.kubernetes.io/warn: privileged

            """
        var out: [JSONValue] = [["name": .string(InlineManifest.namespaces), "contents": .string(namespaces)]]
        if let agentManifests, !agentManifests.isEmpty {
            out.append(["name": .string(InlineManifest.agent), "contents": .string(agentManifests)])
        }
        return out
    }

    // MARK: multi-document kinds

    func networkDocuments(for node: Site.Node) -> [JSONValue] {
        let mac = MACAddress(node.interface.mac)?.text ?? node.interface.mac.lowercased()
        var link: [String: JSONValue] = [
            "apiVersion": "v1alpha1", "kind": "LinkConfig", "name": .string(Self.siteLinkName), "up": true,
            "addresses": .array(node.interface.addresses.map { ["address": .string($0)] }),
        ]
        if let gw = node.interface.gateway { link["routes"] = [["gateway": .string(gw)]] }
        var docs: [JSONValue] = [
            ["apiVersion": "v1alpha1", "kind": "HostnameConfig", "hostname": .string(node.name)],
            ["apiVersion": "v1alpha1", "kind": "LinkAliasConfig", "name": .string(Self.siteLinkName),
             "selector": ["match": .string("mac(link.permanent_addr) == \"\(mac)\"")]],
            .object(link),
        ]
        if !site.network.nameservers.isEmpty {
            docs.append(["apiVersion": "v1alpha1", "kind": "ResolverConfig",
                         "nameservers": .array(site.network.nameservers.map { ["address": .string($0)] })])
        }
        if site.network.timeServers.isEmpty {
            // No site time source: do not wait for one that cannot answer.
            docs.append(["apiVersion": "v1alpha1", "kind": "TimeSyncConfig", "enabled": false])
        } else {
            docs.append(["apiVersion": "v1alpha1", "kind": "TimeSyncConfig", "enabled": true,
                         "ntp": ["servers": .array(site.network.timeServers.map { .string($0) })]])
        }
        return docs
    }

    func registryMirrors() -> [JSONValue] {
        let endpoint: JSONValue = ["url": .string("http://\(site.registry.address)")]
        return mirroredRegistries().map {
            ["apiVersion": "v1alpha1", "kind": "RegistryMirrorConfig", "name": .string($0),
             "endpoints": [endpoint], "skipFallback": true]
        }
    }

    func imageCacheVolume() -> JSONValue {
        ["apiVersion": "v1alpha1", "kind": "VolumeConfig", "name": "IMAGECACHE",
         "provisioning": ["diskSelector": ["match": "system_disk"],
                          "minSize": .string(TalosDefaults.imageCacheMinSize),
                          "maxSize": .string(TalosDefaults.imageCacheMaxSize)]]
    }

    // MARK: helpers

    func b64(_ pem: String) -> String { Data(pem.utf8).base64EncodedString() }

    func unique(_ xs: [String]) -> [String] {
        var seen = Set<String>()
        return xs.filter { !$0.isEmpty && seen.insert($0).inserted }
    }

    /// The host of an https endpoint URL, without brackets.
    static func host(of endpoint: String) -> String {
        (URLComponents(string: endpoint)?.host ?? "").trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
    }
}

import Foundation
import Hummingbird
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL
import OutpostCore

/// One simulated node: what `kubectl get nodes` shows and where pods may be scheduled.
public struct SimulatedNode: Sendable, Hashable {
    public var name: String
    public var architecture: String
    public var labels: [String: String]
    /// `key=value:Effect` or `key:Effect`.
    public var taints: [String]
    public var cpu: String
    public var memory: String
    public var pods: Int

    public init(name: String, architecture: String = "amd64", labels: [String: String] = [:], taints: [String] = [],
                cpu: String = "4", memory: String = "8Gi", pods: Int = 110) {
        self.name = name; self.architecture = architecture; self.labels = labels; self.taints = taints
        self.cpu = cpu; self.memory = memory; self.pods = pods
    }
}

/// How the simulator is started.
public struct SimulatorConfiguration: Sendable {
    /// Everything the simulator creates lives here (kubeconfig, certificates, node image stores, volumes).
    public var stateDirectory: String
    /// The API server's port on 127.0.0.1 (0: any free port).
    public var apiPort: Int
    public var nodes: [SimulatedNode]
    public var nodePortRange: ClosedRange<Int>
    /// Registries reached over plain HTTP or unverified TLS besides 127.0.0.1 and localhost.
    public var insecureRegistries: [String]
    /// A Talos image-cache directory whose images every node starts with.
    public var imageCache: String?

    public init(stateDirectory: String, apiPort: Int = 0, nodes: [SimulatedNode] = [SimulatedNode(name: "sim-node-1")],
                nodePortRange: ClosedRange<Int> = 30000...32767, insecureRegistries: [String] = [], imageCache: String? = nil) {
        self.stateDirectory = stateDirectory; self.apiPort = apiPort; self.nodes = nodes
        self.nodePortRange = nodePortRange; self.insecureRegistries = insecureRegistries; self.imageCache = imageCache
    }
}

/// `outpost-sim`: a one-machine stand-in for a Kubernetes cluster, for Outpost's end-to-end tests.
///
/// This is a simulator and a test harness, not part of the product. It honours the rules of the real
/// API that Outpost and kubectl depend on (object name and size limits, optimistic concurrency with 409
/// conflicts, 422 validation errors, server-side apply, watches, mutating admission webhooks called over
/// real TLS) and runs pods as real containers in podman (one image store per simulated node), with real
/// image pulls, volumes, probes, services with node ports on 127.0.0.1 and the common controllers.
/// Services work as with kube-proxy: each cluster IP is put on the host's loopback interface (so the
/// simulator must run as root with iproute2) and forwards every service port to a ready endpoint's
/// targetPort; pods resolve `<svc>`, `<svc>.<ns>`, `<svc>.<ns>.svc` and `<svc>.<ns>.svc.cluster.local`
/// through an /etc/hosts the kubelet keeps current (there is no DNS server: names work for programs
/// that read /etc/hosts, which is nearly all). The `kubernetes` service forwards to the API server.
/// Not simulated: authorization (one admin bearer token), protobuf request bodies (kubectl's
/// `create <kind>` generators send them: use `-f`), exec/attach/port-forward, list pagination, one
/// stored version per kind, UDP service ports, proportional scaling of a Deployment in mid-rollout.
public final class ClusterSimulator: Sendable {
    public let configuration: SimulatorConfiguration
    let api: ClusterAPI
    let runtime: PodmanRuntime
    let logger: Logger

    public init(configuration: SimulatorConfiguration) throws {
        self.configuration = configuration
        var logger = Logger(label: "outpost-sim")
        logger.logLevel = ProcessInfo.processInfo.environment["OUTPOST_SIM_LOG"].flatMap { Logger.Level(rawValue: $0) } ?? .info
        self.logger = logger
        let catalog = ResourceCatalog()
        self.api = ClusterAPI(store: ObjectStore(), catalog: catalog, admission: AdmissionChain(),
                              allocator: Allocator(nodePortRange: configuration.nodePortRange))
        self.runtime = try PodmanRuntime(stateDirectory: configuration.stateDirectory,
                                         insecureRegistries: configuration.insecureRegistries, logger: logger)
    }

    /// Paths inside the state directory that clients use.
    public struct Paths: Sendable {
        public let root: String
        public var kubeconfig: String { root + "/kubeconfig" }
        public var caCertificate: String { root + "/ca.crt" }
        public var pidFile: String { root + "/outpost-sim.pid" }
        public var log: String { root + "/outpost-sim.log" }
        public init(root: String) { self.root = root }
    }

    /// Starts the API server, the nodes and the controllers; writes the kubeconfig once serving; runs
    /// until cancelled, then stops every container it started.
    public func run(onReady: @escaping @Sendable (String) -> Void = { _ in }) async throws {
        let paths = Paths(root: configuration.stateDirectory)
        try FileManager.default.createDirectory(atPath: paths.root, withIntermediateDirectories: true)
        try await bootstrap()
        let kubernetesIP = await api.store.get("services", "default", "kubernetes")?["spec"]?["clusterIP"]?.stringValue ?? "10.96.0.1"
        let ca = try CertificateAuthority()
        let port = configuration.apiPort
        let serving = try ca.issueServerCertificate(commonName: "kube-apiserver",
                                                    dnsNames: ["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"],
                                                    ipAddresses: ["127.0.0.1", kubernetesIP])
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMBytes(Array(serving.certificatePEM.utf8)).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(serving.privateKeyPEM.utf8), format: .pem)))
        tls.applicationProtocols = ["http/1.1"]
        let token = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
        try AtomicFile.write(Data(ca.certificatePEM.utf8), to: paths.caCertificate, mode: 0o644)

        let kubelets = configuration.nodes.map { Kubelet(node: $0, api: api, runtime: runtime, logger: logger) }
        let controllers = Controllers(api: api, logger: logger)
        let proxy = ServiceProxy(api: api, addresses: HostAddresses(stateDirectory: configuration.stateDirectory), logger: logger)
        let boundPort = BoundPort()
        let responder = APIResponder(api: api, discovery: Discovery(catalog: api.catalog, serverAddress: "127.0.0.1:\(port)"),
                                     token: token, logs: { ns, name, container, opts in
                                         try await self.runtime.logs(namespace: ns, pod: name, container: container, options: opts, api: self.api)
                                     })
        let app = Application(
            responder: responder,
            server: try .tls(.http1(), tlsConfiguration: tls),
            configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: "outpost-sim"),
            onServerRunning: { channel in
                let actual = channel.localAddress?.port ?? port
                boundPort.set(actual)
                let kubeconfig = Self.kubeconfig(server: "https://127.0.0.1:\(actual)", caPEM: ca.certificatePEM, token: token)
                let api = self.api
                // The `kubernetes` service's endpoint is the API server itself.
                Task {
                    _ = try? await api.create(.core("Endpoints", "endpoints"), namespace: "default", [
                        "metadata": ["name": "kubernetes", "labels": ["endpointslice.kubernetes.io/skip-mirror": "true"]],
                        "subsets": [["addresses": [["ip": "127.0.0.1"]], "ports": [["name": "https", "port": .number(Double(actual)), "protocol": "TCP"]]]],
                    ], ClusterAPI.WriteOptions(admit: false))
                }
                do {
                    try AtomicFile.write(Data(kubeconfig.utf8), to: paths.kubeconfig, mode: 0o600)
                    onReady(paths.kubeconfig)
                } catch {
                    self.logger.error("cannot write \(paths.kubeconfig): \(error)")
                }
            },
            logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.runService(gracefulShutdownSignals: []) }
            for k in kubelets { group.addTask { await k.run() } }
            group.addTask { await controllers.run() }
            group.addTask { await proxy.run() }
            do {
                _ = try await group.next()
            } catch {
                group.cancelAll()
                throw error
            }
            group.cancelAll()
        }
        await api.store.closeWatches()
        await proxy.stop()
        await runtime.removeAll()
    }

    /// The namespaces, nodes and service accounts a fresh cluster has.
    private func bootstrap() async throws {
        // The `kubernetes` service has the first address of the service range, as in a cluster, unless
        // another simulator on this machine holds it (then it gets a free one at random).
        var kubernetesSpec: JSONValue = ["ports": [["name": "https", "port": 443, "targetPort": 6443]]]
        if !Allocator.isLocalAddress("10.96.0.1") { kubernetesSpec["clusterIP"] = "10.96.0.1" }
        for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            _ = try await api.create(.core("Namespace", "namespaces", namespaced: false), namespace: "", ["metadata": ["name": .string(ns)]])
        }
        for node in configuration.nodes {
            try await runtime.prepareNode(node.name)
            if let cache = configuration.imageCache {
                let names = try await runtime.loadImageCache(node: node.name, directory: cache)
                logger.info("node \(node.name): \(names.count) images from the image cache \(cache)")
            }
            _ = try await api.create(.core("Node", "nodes", namespaced: false), namespace: "", Kubelet.nodeObject(node))
        }
        _ = try await api.create(.core("Service", "services"), namespace: "default", [
            "metadata": ["name": "kubernetes", "labels": ["component": "apiserver", "provider": "kubernetes"]],
            "spec": kubernetesSpec,
        ])
    }

    /// Puts an image archive into a running simulator's node store (an image "already on the node").
    public static func loadImage(stateDirectory: String, node: String, archive: String, reference: String?) async throws -> String {
        let runtime = try PodmanRuntime(stateDirectory: stateDirectory, insecureRegistries: [], logger: Logger(label: "outpost-sim"))
        guard FileManager.default.fileExists(atPath: runtime.nodeRoot(node) + "/storage") else {
            throw SimulatorError.state(path: runtime.nodeRoot(node), why: "no node \(node) here; is the simulator up?")
        }
        return try await runtime.load(node: node, archive: archive, reference: reference)
    }

    static func kubeconfig(server: String, caPEM: String, token: String) -> String {
        """
        apiVersion: v1
        kind: Config
        clusters:
        - name: outpost-sim
          cluster:
            server: \(server)
            certificate-authority-data: \(Data(caPEM.utf8).base64EncodedString())
        users:
        - name: outpost-sim-admin
          user:
            token: \(token)
        contexts:
        - name: outpost-sim
          context:
            cluster: outpost-sim
            user: outpost-sim-admin
            namespace: default
        current-context: outpost-sim

        """
    }

    /// Removes everything a simulator left in `stateDirectory` (containers, image stores, mounts, files),
    /// even if its process died. Safe to call twice.
    public static func teardown(stateDirectory: String) async throws {
        try await PodmanRuntime.teardown(stateDirectory: stateDirectory)
        try? await HostAddresses.flush(label: HostAddresses.label(stateDirectory: stateDirectory))
        try? FileManager.default.removeItem(atPath: stateDirectory)
    }
}

final class BoundPort: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func set(_ v: Int) { lock.lock(); value = v; lock.unlock() }
    var port: Int { lock.lock(); defer { lock.unlock() }; return value }
}

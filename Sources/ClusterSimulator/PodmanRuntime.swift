import Crypto
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOFoundationCompat
import OutpostCore
#if canImport(Glibc)
import Glibc
#endif

/// The container runtime behind the simulated kubelets: podman with runc and cgroupfs (what works on
/// these machines, see machine-notes), one image store (`--root`) per node under the state directory,
/// every container labelled so `down` finds it. A pod is a sandbox container holding the network
/// namespace (on podman's bridge network, so each pod has its own IP) that the pod's containers join.
final class PodmanRuntime: Sendable {
    let stateDirectory: String
    let insecureRegistries: [String]
    let logger: Logger
    let podman: String
    static let pauseImage = "localhost/outpost-sim/pause:1"

    init(stateDirectory: String, insecureRegistries: [String], logger: Logger) throws {
        self.stateDirectory = stateDirectory
        self.insecureRegistries = insecureRegistries
        self.logger = logger
        guard let p = Subprocess.which("podman") else {
            throw SimulatorError.runtime(program: "podman", arguments: [], status: 127, output: "podman is not installed (apt-get install podman runc)")
        }
        self.podman = p
    }

    var confPath: String { stateDirectory + "/containers.conf" }
    func nodeRoot(_ node: String) -> String { stateDirectory + "/nodes/" + node }
    func podDirectory(_ uid: String) -> String { stateDirectory + "/pods/" + uid }

    /// Podman refuses a runroot longer than 50 characters, so each node's lives in a short directory
    /// under /tmp named after a hash of its node directory (removed by teardown like the rest).
    static func runRoot(_ nodeRoot: String) -> String {
        let digest = SHA256.hash(data: Data(nodeRoot.utf8))
        return "/tmp/osim-" + digest.prefix(8).map { String(format: "%02x", $0) }.joined()
    }

    static func storeArguments(_ nodeRoot: String) -> [String] {
        ["--root", nodeRoot + "/storage", "--runroot", runRoot(nodeRoot), "--storage-driver", "overlay",
         "--tmpdir", nodeRoot + "/tmp", "--cgroup-manager", "cgroupfs", "--runtime", "runc"]
    }

    static let containersConf = """
    [containers]
    default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
    [engine]
    runtime = "runc"
    cgroup_manager = "cgroupfs"

    """

    /// Runs podman against a node's store.
    @discardableResult
    func run(_ node: String, _ args: [String], check: Bool = true, stdin: Data? = nil) async throws -> Subprocess.Result {
        let full = Self.storeArguments(nodeRoot(node)) + args
        let r = try await Subprocess.run(podman, full, environment: ["CONTAINERS_CONF": confPath], stdin: stdin,
                                         scratch: nodeRoot(node) + "/tmp")
        if check && r.status != 0 {
            throw SimulatorError.runtime(program: "podman", arguments: args, status: r.status, output: r.err + r.out)
        }
        return r
    }

    /// Creates a node's store and builds the sandbox ("pause") image into it from busybox-static.
    func prepareNode(_ node: String) async throws {
        let root = nodeRoot(node)
        for d in [root + "/storage", Self.runRoot(root), root + "/tmp", stateDirectory + "/pods"] {
            try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        }
        try AtomicFile.write(Data(Self.containersConf.utf8), to: confPath)
        guard let busybox = ["/bin/busybox", "/usr/bin/busybox"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw SimulatorError.runtime(program: "busybox", arguments: [], status: 127, output: "busybox-static is needed for the pod sandbox image (apt-get install busybox-static)")
        }
        let context = root + "/tmp/pause-context"
        try FileManager.default.createDirectory(atPath: context, withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: context + "/busybox") {
            try FileManager.default.copyItem(atPath: busybox, toPath: context + "/busybox")
        }
        try AtomicFile.write(Data("FROM scratch\nCOPY busybox /busybox\nENTRYPOINT [\"/busybox\", \"sleep\", \"2147483647\"]\n".utf8),
                             to: context + "/Containerfile")
        if try await run(node, ["image", "exists", Self.pauseImage], check: false).status != 0 {
            try await run(node, ["build", "-q", "--network", "none", "-t", Self.pauseImage, context])
        }
    }

    /// Loads an image archive (docker-archive, oci-archive, OCI layout directory) into a node's store:
    /// the images "already on the node".
    func load(node: String, archive: String, reference: String?) async throws -> String {
        var source = archive
        if !archive.contains(":") {
            var isDir: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: archive, isDirectory: &isDir)
            source = isDir.boolValue ? "oci:\(archive)" : "docker-archive:\(archive)"
        }
        if source.hasPrefix("docker-archive:") && reference == nil {
            let r = try await run(node, ["load", "-q", "-i", String(source.dropFirst("docker-archive:".count))])
            return r.out.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        // podman names an image pulled from an OCI layout after its path, which must be lowercase:
        // go through a lowercase symbolic link.
        var link: String? = nil
        if !archive.contains(":") && source.hasPrefix("oci:") {
            let colon = source.firstIndex(of: ":")!
            let transport = String(source[..<colon]), path = String(source[source.index(after: colon)...])
            let l = Self.runRoot(nodeRoot(node)) + "/load-\(UUID().uuidString.lowercased())"
            try FileManager.default.createSymbolicLink(atPath: l, withDestinationPath: URL(fileURLWithPath: path).standardizedFileURL.path)
            source = transport + ":" + l
            link = l
        }
        defer { if let link { unlink(link) } }
        let r = try await run(node, ["pull", "-q", source])
        let id = r.out.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").last.map(String.init) ?? ""
        if let reference { try await run(node, ["tag", id, Self.normalize(reference)]) }
        return id
    }

    /// Loads every image of a Talos image-cache tree (`blob/sha256-<hex>`,
    /// `manifests/<registry>/<repo>/reference/<tag>`, a `host:port` registry written `host_port_`) into a
    /// node's store under its original name, as a node booted with that cache has it. Returns the names.
    func loadImageCache(node: String, directory: String) async throws -> [String] {
        let manifests = directory + "/manifests"
        guard let walker = FileManager.default.enumerator(atPath: manifests) else {
            throw SimulatorError.state(path: manifests, why: "not a Talos image cache (no manifests directory)")
        }
        var loaded: [String] = []
        while let relative = walker.nextObject() as? String {
            let parts = relative.split(separator: "/").map(String.init)
            guard parts.count >= 4, parts[parts.count - 2] == "reference" else { continue }
            let path = manifests + "/" + relative
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue else { continue }
            var registry = parts[0]
            if registry.hasSuffix("_"), let sep = registry.dropLast().lastIndex(of: "_"),
               Int(registry[registry.index(after: sep)..<registry.index(before: registry.endIndex)]) != nil {
                registry = String(registry[..<sep]) + ":" + String(registry[registry.index(after: sep)..<registry.index(before: registry.endIndex)])
            }
            let name = "\(registry)/\(parts[1..<(parts.count - 2)].joined(separator: "/")):\(parts[parts.count - 1])"
            let manifest = try Data(contentsOf: URL(fileURLWithPath: path))
            let hex = SHA256.hash(data: manifest).map { String(format: "%02x", $0) }.joined()
            let mediaType = (try? JSONValue.parse(manifest))?["mediaType"]?.stringValue ?? "application/vnd.oci.image.manifest.v1+json"
            // An OCI layout over the cache's blobs (symlinked), holding this one manifest.
            // (podman names an unnamed OCI layout after its path, which must then be lowercase.)
            let layout = Self.runRoot(nodeRoot(node)) + "/cache-\(UUID().uuidString.lowercased())"
            defer { try? FileManager.default.removeItem(atPath: layout) }
            try FileManager.default.createDirectory(atPath: layout + "/blobs/sha256", withIntermediateDirectories: true)
            try Data(#"{"imageLayoutVersion":"1.0.0"}"#.utf8).write(to: URL(fileURLWithPath: layout + "/oci-layout"))
            let index: JSONValue = ["schemaVersion": 2, "manifests": [["mediaType": .string(mediaType), "digest": .string("sha256:" + hex),
                                                                        "size": .number(Double(manifest.count))]]]
            try index.encoded().write(to: URL(fileURLWithPath: layout + "/index.json"))
            try manifest.write(to: URL(fileURLWithPath: layout + "/blobs/sha256/" + hex))
            for blob in (try? FileManager.default.contentsOfDirectory(atPath: directory + "/blob")) ?? [] where blob.hasPrefix("sha256-") {
                let target = layout + "/blobs/sha256/" + blob.dropFirst("sha256-".count)
                if !FileManager.default.fileExists(atPath: target) {
                    try FileManager.default.createSymbolicLink(atPath: target, withDestinationPath: directory + "/blob/" + blob)
                }
            }
            let r = try await run(node, ["pull", "-q", "oci:" + layout])
            let id = r.out.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").last.map(String.init) ?? ""
            try await run(node, ["tag", id, Self.normalize(name)])
            loaded.append(name)
        }
        return loaded
    }

    /// Kubernetes' image name rules: no registry means docker.io, no tag means latest.
    static func normalize(_ image: String) -> String {
        var name = image
        let firstSlash = name.firstIndex(of: "/")
        let first = firstSlash.map { String(name[..<$0]) } ?? ""
        if firstSlash == nil || !(first.contains(".") || first.contains(":") || first == "localhost") {
            name = "docker.io/" + (firstSlash == nil ? "library/" : "") + name
        }
        let last = name.split(separator: "/").last ?? ""
        if !name.contains("@") && !last.contains(":") { name += ":latest" }
        return name
    }

    static func registryHost(_ normalized: String) -> String {
        String(normalized.split(separator: "/").first ?? "")
    }

    func imageExists(node: String, image: String) async -> Bool {
        (try? await run(node, ["image", "exists", Self.normalize(image)], check: false).status) == 0
    }

    /// Pulls an image into a node's store, with credentials from the pod's pull secrets.
    func pull(node: String, image: String, auths: JSONValue?) async throws {
        let ref = Self.normalize(image)
        let host = Self.registryHost(ref)
        var args = ["pull", "-q"]
        if host.hasPrefix("127.0.0.1") || host.hasPrefix("localhost") || insecureRegistries.contains(host) {
            args.append("--tls-verify=false")
        }
        var authFile: String? = nil
        if let auths {
            let path = nodeRoot(node) + "/tmp/auth-\(UUID().uuidString).json"
            try AtomicFile.write(try JSONValue.object(["auths": auths]).encoded(), to: path, mode: 0o600)
            args += ["--authfile", path]
            authFile = path
        }
        defer { if let authFile { unlink(authFile) } }
        try await run(node, args + [ref])
    }

    /// Container-log streaming for `kubectl logs` (follow keeps the stream open).
    func logs(namespace: String, pod: String, container: String?, options: APIResponder.LogOptions, api: ClusterAPI) async throws -> ResponseBody {
        guard let o = await api.store.get("pods", namespace, pod) else { throw SimulatorError.notFound(.core("Pod", "pods"), pod) }
        let containers = (o["spec"]?["containers"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
        let initContainers = (o["spec"]?["initContainers"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
        guard let name = container ?? (containers.count == 1 ? containers.first : nil) else {
            throw SimulatorError.badRequest("a container name must be specified for pod \(pod), choose one of: [\(containers.joined(separator: " "))]")
        }
        guard containers.contains(name) || initContainers.contains(name) else {
            throw SimulatorError.badRequest("container \(name) is not valid for pod \(pod)")
        }
        guard let node = o["spec"]?["nodeName"]?.stringValue else {
            throw SimulatorError.badRequest("pod \(pod) does not have a host assigned")
        }
        let current = Self.containerName(uid: o.uid, container: name)
        let cname = options.previous ? Self.previousName(current) : current
        var args = Self.storeArguments(nodeRoot(node)) + ["logs"]
        if options.follow { args.append("-f") }
        if options.timestamps { args.append("-t") }
        if let t = options.tailLines { args += ["--tail", String(t)] }
        args.append(cname)
        let exists = try await run(node, ["container", "exists", cname], check: false)
        if exists.status != 0 {
            if options.previous {
                throw SimulatorError.badRequest("previous terminated container \"\(name)\" in pod \"\(pod)\" not found")
            }
            throw SimulatorError.badRequest("container \"\(name)\" in pod \"\(pod)\" is waiting to start: ContainerCreating")
        }
        if !options.follow {
            let r = try await Subprocess.run(podman, args, environment: ["CONTAINERS_CONF": confPath])
            return ResponseBody(byteBuffer: ByteBuffer(data: r.stdout + r.stderr))
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: podman)
        p.arguments = args
        p.environment = ProcessInfo.processInfo.environment.merging(["CONTAINERS_CONF": confPath]) { _, b in b }
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let handle = pipe.fileHandleForReading
        let (stream, cont) = AsyncStream<Data>.makeStream()
        DispatchQueue.global().async {
            while true {
                let d = handle.availableData
                if d.isEmpty { break }
                cont.yield(d)
            }
            cont.finish()
        }
        let process = UncheckedBox(p)
        return ResponseBody { writer in
            defer { if process.value.isRunning { process.value.terminate() } }
            for await chunk in stream { try await writer.write(ByteBuffer(data: chunk)) }
            try await writer.finish(nil)
        }
    }

    static func containerName(uid: String, container: String) -> String {
        "osim-\(uid.prefix(13))-\(container)"
    }

    /// The name an exited container instance keeps after its restart (a dot cannot occur in container names of a pod).
    static func previousName(_ containerName: String) -> String { containerName + ".previous" }

    /// Stops and removes every container of every node (at shutdown).
    func removeAll() async {
        let nodes = (try? FileManager.default.contentsOfDirectory(atPath: stateDirectory + "/nodes")) ?? []
        for n in nodes { _ = try? await run(n, ["rm", "-af", "-t", "0"], check: false) }
    }

    /// Removes containers, images, mounts and files of a simulator's state directory.
    static func teardown(stateDirectory: String) async throws {
        guard let podman = Subprocess.which("podman") else { return }
        let conf = stateDirectory + "/containers.conf"
        let nodes = (try? FileManager.default.contentsOfDirectory(atPath: stateDirectory + "/nodes")) ?? []
        for n in nodes {
            let root = stateDirectory + "/nodes/" + n
            for args in [["rm", "-af", "-t", "0"], ["rmi", "-af"]] {
                _ = try? await Subprocess.run(podman, storeArguments(root) + args, environment: ["CONTAINERS_CONF": conf])
            }
            unmountAll(under: runRoot(root))
            try? FileManager.default.removeItem(atPath: runRoot(root))
        }
        unmountAll(under: stateDirectory)
    }

    /// Lazily unmounts everything mounted at or below `path` (deepest first).
    static func unmountAll(under path: String) {
        guard let text = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8) else { return }
        let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        let points = text.split(separator: "\n").compactMap { line -> String? in
            let f = line.split(separator: " ")
            guard f.count > 4 else { return nil }
            let p = String(f[4]).replacingOccurrences(of: "\\040", with: " ")
            return (p == resolved || p.hasPrefix(resolved + "/")) ? p : nil
        }
        for p in points.sorted(by: { $0.count > $1.count }) { umount2(p, Int32(MNT_DETACH)) }
    }
}

final class UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

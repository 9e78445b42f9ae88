// outpost-sim: the test-only cluster simulator's command line (see ClusterSimulator's documentation).
import ArgumentParser
import ClusterSimulator
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A failure at run time (not a usage error): printed without the usage text.
struct CommandFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

@main
struct OutpostSim: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outpost-sim",
        abstract: "A one-machine Kubernetes cluster simulator for Outpost's end-to-end tests (a test harness, not part of the product).",
        discussion: """
        `up` starts an API server over HTTPS and simulated nodes that run pods as real podman containers,
        and writes a kubeconfig for kubectl and other clients. `down` stops it and removes every container,
        image store, file and address it created. Service cluster IPs are put on the loopback interface
        (labelled lo:osim…), so the simulator runs as root with iproute2, as podman's bridge network needs.
        """,
        subcommands: [Up.self, Down.self, Status.self, LoadImage.self, Serve.self])
}

struct StateOptions: ParsableArguments {
    @Option(name: .long, help: "Directory holding the simulator's state (kubeconfig, certificates, node image stores).")
    var stateDir: String = (ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp") + "/outpost-sim"

    var absolute: String { URL(fileURLWithPath: stateDir).standardizedFileURL.path }
    var paths: ClusterSimulator.Paths { ClusterSimulator.Paths(root: absolute) }

    /// The pid of a simulator serving this state directory, if one is alive.
    func runningPid() -> Int32? {
        guard let text = try? String(contentsOfFile: paths.pidFile, encoding: .utf8),
              let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), kill(pid, 0) == 0 else { return nil }
        return pid
    }
}

struct ServeOptions: ParsableArguments {
    @Option(help: "API server port on 127.0.0.1 (0 picks a free port).")
    var port: Int = 0
    @Option(name: .customLong("node"), help: "A node as name[,arch=amd64][,label=k=v][,taint=k=v:NoSchedule] (repeatable; default one node sim-node-1).")
    var nodes: [String] = []
    @Option(help: "Node port range as FIRST-LAST.")
    var nodePortRange: String = "30000-32767"
    @Option(name: .customLong("insecure-registry"), help: "A registry host:port pulled over HTTP or unverified TLS (127.0.0.1 and localhost always are).")
    var insecureRegistries: [String] = []
    @Option(help: "A Talos image-cache directory (blob/, manifests/) whose images every node starts with.")
    var imageCache: String?

    func configuration(stateDirectory: String) throws -> SimulatorConfiguration {
        let bounds = nodePortRange.split(separator: "-").compactMap { Int($0) }
        guard bounds.count == 2, bounds[0] <= bounds[1], bounds[0] > 0, bounds[1] < 65536 else {
            throw ValidationError("--node-port-range must look like 30000-32767, got \(nodePortRange)")
        }
        var parsed: [SimulatedNode] = []
        for spec in nodes {
            let fields = spec.split(separator: ",").map(String.init)
            guard let name = fields.first, !name.isEmpty else { throw ValidationError("--node needs a name: \(spec)") }
            var node = SimulatedNode(name: name)
            for f in fields.dropFirst() {
                let kv = f.split(separator: "=", maxSplits: 1).map(String.init)
                guard kv.count == 2 else { throw ValidationError("--node field \(f) must be key=value") }
                switch kv[0] {
                case "arch": node.architecture = kv[1]
                case "label":
                    let l = kv[1].split(separator: "=", maxSplits: 1).map(String.init)
                    node.labels[l[0]] = l.count > 1 ? l[1] : ""
                case "taint": node.taints.append(kv[1])
                case "cpu": node.cpu = kv[1]
                case "memory": node.memory = kv[1]
                case "pods": node.pods = Int(kv[1]) ?? node.pods
                default: throw ValidationError("unknown --node field \(kv[0]) (arch, label, taint, cpu, memory, pods)")
                }
            }
            parsed.append(node)
        }
        return SimulatorConfiguration(stateDirectory: stateDirectory, apiPort: port,
                                      nodes: parsed.isEmpty ? [SimulatedNode(name: "sim-node-1")] : parsed,
                                      nodePortRange: bounds[0]...bounds[1], insecureRegistries: insecureRegistries,
                                      imageCache: imageCache.map { URL(fileURLWithPath: $0).standardizedFileURL.path })
    }
}

struct Up: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Start the simulator in the background and print the kubeconfig path.")
    @OptionGroup var state: StateOptions
    @OptionGroup var serve: ServeOptions
    @Option(help: "Seconds to wait for the API server.") var timeout: Int = 180
    @Option(help: "text or json") var output: String = "text"

    func run() async throws {
        if let pid = state.runningPid() {
            throw CommandFailure("a simulator (pid \(pid)) is already running in \(state.absolute); run `outpost-sim down --state-dir \(state.stateDir)` first")
        }
        _ = try serve.configuration(stateDirectory: state.absolute)
        // A second `up` starts clean: whatever a dead simulator left is removed first.
        try await ClusterSimulator.teardown(stateDirectory: state.absolute)
        try FileManager.default.createDirectory(atPath: state.absolute, withIntermediateDirectories: true)
        let exe = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        var args = ["serve", "--state-dir", state.absolute, "--port", String(serve.port), "--node-port-range", serve.nodePortRange]
        for n in serve.nodes { args += ["--node", n] }
        for r in serve.insecureRegistries { args += ["--insecure-registry", r] }
        if let c = serve.imageCache { args += ["--image-cache", URL(fileURLWithPath: c).standardizedFileURL.path] }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        _ = FileManager.default.createFile(atPath: state.paths.log, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: state.paths.log))
        p.standardOutput = log
        p.standardError = log
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let deadline = Date().addingTimeInterval(Double(timeout))
        while Date() < deadline {
            if FileManager.default.fileExists(atPath: state.paths.kubeconfig) { break }
            if !p.isRunning {
                let text = (try? String(contentsOfFile: state.paths.log, encoding: .utf8)) ?? ""
                throw CommandFailure("the simulator exited during start-up (status \(p.terminationStatus)):\n\(text.suffix(4000))")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        guard FileManager.default.fileExists(atPath: state.paths.kubeconfig) else {
            kill(p.processIdentifier, SIGTERM)
            throw CommandFailure("the API server did not come up within \(timeout) s; see \(state.paths.log)")
        }
        if output == "json" {
            let server = (try? String(contentsOfFile: state.paths.kubeconfig, encoding: .utf8))?
                .split(separator: "\n").first { $0.contains("server:") }?.split(separator: " ").last.map(String.init) ?? ""
            print(#"{"kubeconfig":"\#(state.paths.kubeconfig)","server":"\#(server)","pid":\#(p.processIdentifier),"stateDirectory":"\#(state.absolute)"}"#)
        } else {
            print(state.paths.kubeconfig)
        }
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the simulator in the foreground (what `up` starts).", shouldDisplay: false)
    @OptionGroup var state: StateOptions
    @OptionGroup var serve: ServeOptions

    func run() async throws {
        let config = try serve.configuration(stateDirectory: state.absolute)
        try FileManager.default.createDirectory(atPath: state.absolute, withIntermediateDirectories: true)
        try Data("\(getpid())\n".utf8).write(to: URL(fileURLWithPath: state.paths.pidFile))
        let sim = try ClusterSimulator(configuration: config)
        let task = Task { try await sim.run { path in print("outpost-sim: serving; kubeconfig \(path)") } }
        signal(SIGTERM, SIG_IGN)
        signal(SIGINT, SIG_IGN)
        let sources = [SIGTERM, SIGINT].map { sig in
            let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            s.setEventHandler { task.cancel() }
            s.resume()
            return s
        }
        defer { sources.forEach { $0.cancel() } }
        do { try await task.value } catch is CancellationError {} catch {
            print("outpost-sim: \(error)")
            throw ExitCode.failure
        }
        unlink(state.paths.pidFile)
    }
}

struct Down: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Stop the simulator and remove every container, image store and file it created.")
    @OptionGroup var state: StateOptions

    func run() async throws {
        if let pid = state.runningPid() {
            kill(pid, SIGTERM)
            let deadline = Date().addingTimeInterval(60)
            while kill(pid, 0) == 0 && Date() < deadline { try await Task.sleep(for: .milliseconds(100)) }
            if kill(pid, 0) == 0 { kill(pid, SIGKILL) }
        }
        try await ClusterSimulator.teardown(stateDirectory: state.absolute)
        print("outpost-sim: removed \(state.absolute)")
    }
}

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Say whether a simulator is running and where its kubeconfig is.")
    @OptionGroup var state: StateOptions
    @Option(help: "text or json") var output: String = "text"

    func run() async throws {
        let pid = state.runningPid()
        if output == "json" {
            print(#"{"running":\#(pid != nil),"pid":\#(pid.map(String.init) ?? "null"),"kubeconfig":"\#(state.paths.kubeconfig)"}"#)
        } else if let pid {
            print("running (pid \(pid)); kubeconfig \(state.paths.kubeconfig)")
        } else {
            print("not running")
            throw ExitCode(1)
        }
    }
}

struct LoadImage: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "load-image",
        abstract: "Put an image into a node's store (an image already on the node), from a docker-archive, oci-archive or OCI layout.")
    @OptionGroup var state: StateOptions
    @Option(help: "Node name.") var node: String = "sim-node-1"
    @Option(help: "Reference to tag the image with (e.g. registry.example/app:1.0).") var name: String?
    @Argument(help: "Image archive or OCI layout directory (or a transport:path podman understands).") var archive: String

    func run() async throws {
        let id = try await ClusterSimulator.loadImage(stateDirectory: state.absolute, node: node, archive: archive, reference: name)
        print(id)
    }
}


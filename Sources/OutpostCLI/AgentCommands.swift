import Admission
import AdmissionServer
import ArgumentParser
import Cluster
import Foundation
import OutpostCore

/// `outpost agent …`: the mutating admission webhook (debug one review, serve, make certificates and manifests).
struct AgentCommands: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "The admission webhook that rewrites images and GitOps sources to the internal registry and git server.",
        subcommands: [AgentMutate.self, AgentServe.self, AgentCerts.self, AgentManifestsCommand.self])
}

extension MutationPolicy: ExpressibleByArgument {}

struct AgentRewriteOptions: ParsableArguments {
    @Option(help: "zarf-state JSON file (registryInfo, gitServer, agentMutationPolicy); flags below override it.")
    var state: String?
    @Option(help: "Internal registry address (default 127.0.0.1:31999, or the state's).")
    var registry: String?
    @Option(help: "Mutation policy: all, or labeled (only objects opted in with zarf.dev/agent=mutate).")
    var policy: MutationPolicy?
    @Option(name: .customLong("git-server"), help: "Internal git server URL, e.g. http://zarf-gitea-http.zarf.svc.cluster.local:3000.")
    var gitServer: String?
    @Option(name: .customLong("git-user"), help: "Git push user that owns the mirrors (default zarf-git-user).")
    var gitUser: String?

    func agentConfig() throws -> AgentConfig {
        var config = AgentConfig()
        if let state {
            let data: Data
            do { data = try Data(contentsOf: URL(fileURLWithPath: state)) } catch {
                throw ValidationError("\(state): cannot read: \(error.localizedDescription)")
            }
            do { config = try AgentConfig(zarfState: data) } catch { throw ValidationError("\(state): \(error)") }
        }
        if let registry { config.registryAddress = registry }
        if let policy { config.policy = policy }
        if let gitServer { config.gitServerAddress = gitServer }
        if let gitUser { config.gitPushUsername = gitUser }
        return config
    }
}

struct AgentMutate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mutate",
        abstract: "Read one AdmissionReview on stdin and print the webhook's response (for debugging and scripts).")

    @OptionGroup var rewrite: AgentRewriteOptions
    @Option(help: "Route to use, e.g. /mutate/pod (default: chosen from request.kind.kind).")
    var route: String?
    @Option(help: "review (the AdmissionReview response) or patch (the decoded JSON patch).")
    var output: String = "review"

    func run() async throws {
        guard output == "review" || output == "patch" else { throw ValidationError("--output must be review or patch") }
        let config = try rewrite.agentConfig()
        let body = FileHandle.standardInput.readDataToEndOfFile()
        let request: AdmissionRequest
        do { request = try AdmissionRequest.parse(body) } catch { throw ValidationError("stdin: \(error)") }
        let hook: Hook
        do {
            if let route { hook = try Hook(path: route) } else { hook = try Hook(kind: request.kind) }
        } catch {
            throw ValidationError("\(error); pass --route (one of \(Hook.allCases.map(\.path).joined(separator: ", ")))")
        }
        let result = Mutator(config: config).mutate(hook, request)
        let out: JSONValue = output == "patch" ? .array(result.patch.map(\.json)) : try result.review(for: request)
        print(String(decoding: try out.encoded(pretty: true), as: UTF8.self))
    }
}

struct AgentServe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the webhook over HTTPS (TLS 1.2+): the mutate routes, /healthz and /metrics.",
        discussion: """
            The certificate, key and state files are re-read when they change. SIGTERM stops accepting connections and finishes requests in flight.

            Namespace labels (zarf.dev/agent: skip|ignore|mutate on the namespace) are read from the Kubernetes API: with --kubeconfig, \
            or with the pod's service account when KUBERNETES_SERVICE_HOST is set. Without either, they are not read (the webhook's \
            namespaceSelector still exempts skip|ignore namespaces). When the API cannot be reached, requests that need a \
            namespace's labels are refused with a message, as Zarf's agent does.
            """)

    @OptionGroup var rewrite: AgentRewriteOptions
    @Option(help: "Address to listen on.") var host: String = "0.0.0.0"
    @Option(help: "Port to listen on.") var port: Int = 8443
    @Option(name: .customLong("tls-cert"), help: "PEM certificate chain.") var tlsCert: String
    @Option(name: .customLong("tls-key"), help: "PEM private key.") var tlsKey: String
    @Option(name: .customLong("reload-interval"), help: "Seconds between checks of the mounted files.") var reloadInterval: Double = 2
    @Option(help: "kubeconfig for namespace label lookups (default: the pod's service account when in a cluster).")
    var kubeconfig: String?
    @Option(help: "kubeconfig context (default: its current-context).") var context: String?
    @Flag(name: .customLong("no-namespace-lookups"), help: "Never read namespace labels from the Kubernetes API.")
    var noNamespaceLookups = false
    @Option(name: .customLong("namespace-cache-ttl"), help: "Seconds a namespace's labels are reused before the API is asked again.")
    var namespaceCacheTTL: Double = 30
    @Option(name: .customLong("api-timeout"), help: "Seconds allowed for one Kubernetes API request.")
    var apiTimeout: Double = 3
    @Option(name: .customLong("idle-timeout"), help: "Seconds a connection may stay silent (idle keep-alive, or a stalled request) before it is closed.")
    var idleTimeout: Double = 60

    func validate() throws {
        guard namespaceCacheTTL >= 0 else { throw ValidationError("--namespace-cache-ttl must be 0 or more seconds") }
        guard apiTimeout > 0 else { throw ValidationError("--api-timeout must be more than 0 seconds") }
        guard idleTimeout > 0 else { throw ValidationError("--idle-timeout must be more than 0 seconds") }
        if noNamespaceLookups && kubeconfig != nil { throw ValidationError("--kubeconfig and --no-namespace-lookups contradict each other") }
    }

    func clusterConfiguration() throws -> ClusterConfiguration? {
        if noNamespaceLookups { return nil }
        do {
            if let kubeconfig { return try Kubeconfig.load(path: kubeconfig, context: context) }
            if ClusterConfiguration.inClusterAvailable() { return try ClusterConfiguration.inCluster() }
        } catch {
            throw ValidationError("\(error)")
        }
        return nil
    }

    func run() async throws {
        _ = try rewrite.agentConfig()
        let options = AgentServerOptions(
            host: host, port: port, certificatePath: tlsCert, keyPath: tlsKey, statePath: rewrite.state,
            registryOverride: rewrite.registry, policyOverride: rewrite.policy, gitServerOverride: rewrite.gitServer,
            gitUserOverride: rewrite.gitUser, reloadInterval: .milliseconds(Int(reloadInterval * 1000)),
            cluster: try clusterConfiguration(), namespaceCacheTTL: .milliseconds(Int(namespaceCacheTTL * 1000)),
            apiTimeout: .milliseconds(Int(apiTimeout * 1000)), idleTimeout: .milliseconds(Int(idleTimeout * 1000)))
        let server = try AgentServer(options: options)
        FileHandle.standardOutput.write(Data("outpost agent: \(server.namespaceLookupSummary)\n".utf8))
        try await server.run { port in
            FileHandle.standardOutput.write(Data("outpost agent: listening on https://\(host):\(port)\n".utf8))
        }
    }
}

struct AgentCerts: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "certs",
        abstract: "Make a CA and a server certificate (ECDSA P-256) for the webhook Service: ca.crt, tls.crt, tls.key.")

    @Option(help: "Service host name.") var host: String = "agent-hook.zarf.svc"
    @Option(name: [.short, .customLong("output")], help: "Directory to write into.") var output: String
    @Option(help: "Validity in days.") var days: Int = 3650

    func run() async throws {
        let certs = try AgentCertificates.generate(host: host, validDays: days)
        try certs.write(to: output)
        print("wrote \(output)/ca.crt, \(output)/tls.crt, \(output)/tls.key for \(AgentCertificates.dnsNames(for: host).joined(separator: ", "))")
    }
}

struct AgentManifestsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "manifests",
        abstract: "Render the agent's Secret, Deployment, Service and MutatingWebhookConfiguration as YAML documents.")

    @Option(help: "Directory with ca.crt, tls.crt and tls.key (from `outpost agent certs`); new ones are made when absent.")
    var certs: String?
    @Option(help: "Agent image.") var image: String = "127.0.0.1:31999/outpost/outpost:0.1.0"
    @Option(help: "Namespace.") var namespace: String = "zarf"
    @Option(help: "Mutation policy: all or labeled.") var policy: MutationPolicy = .all
    @Option(name: [.short, .customLong("output")], help: "File to write (default: stdout).") var output: String?

    func run() async throws {
        let material: AgentCertificates
        if let certs {
            func read(_ f: String) throws -> String {
                do { return try String(contentsOfFile: certs + "/" + f, encoding: .utf8) } catch {
                    throw ValidationError("\(certs)/\(f): cannot read: \(error.localizedDescription)")
                }
            }
            material = AgentCertificates(caPEM: try read("ca.crt"), certificatePEM: try read("tls.crt"), keyPEM: try read("tls.key"))
        } else {
            material = try AgentCertificates.generate(host: "agent-hook.\(namespace).svc")
        }
        var m = AgentManifests(image: image, caPEM: material.caPEM, certificatePEM: material.certificatePEM, keyPEM: material.keyPEM)
        m.namespace = namespace
        m.policy = policy
        var text = ""
        for object in m.objects() { text += "---\n" + String(decoding: try object.encoded(pretty: true), as: UTF8.self) + "\n" }
        if let output { try AtomicFile.write(Data(text.utf8), to: output) } else { print(text, terminator: "") }
    }
}

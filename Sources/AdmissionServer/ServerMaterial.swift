import Admission
import Cluster
import Foundation
import Logging
import NIOSSL
import Synchronization

/// Where the server's certificate, key and (optional) zarf-state live, plus flag overrides of the state.
public struct AgentServerOptions: Sendable {
    public var host: String
    public var port: Int
    public var certificatePath: String
    public var keyPath: String
    /// zarf-state JSON (Secret `zarf/zarf-state`, key `state`, mounted as a file); nil: flags only.
    public var statePath: String?
    /// Used when there is no state file, and overrides it when given.
    public var registryOverride: String?
    public var policyOverride: MutationPolicy?
    public var gitServerOverride: String?
    public var gitUserOverride: String?
    /// How often mounted files are checked for changes (Kubernetes swaps Secret volumes atomically).
    public var reloadInterval: Duration
    public var maxBodyBytes: Int
    /// The Kubernetes API to read namespace labels from (`zarf.dev/agent` on the namespace); nil: off.
    public var cluster: ClusterConfiguration?
    /// How long a namespace's labels are reused before the API is asked again.
    public var namespaceCacheTTL: Duration
    /// At most this many namespaces are remembered.
    public var namespaceCacheSize: Int
    /// The budget for one namespace lookup (well under the webhook's timeoutSeconds).
    public var apiTimeout: Duration
    /// How long a connection may stay silent before it is closed (unless a lookup is in progress).
    public var idleTimeout: Duration

    public init(host: String = "0.0.0.0", port: Int = 8443, certificatePath: String, keyPath: String,
                statePath: String? = nil, registryOverride: String? = nil, policyOverride: MutationPolicy? = nil,
                gitServerOverride: String? = nil, gitUserOverride: String? = nil,
                reloadInterval: Duration = .seconds(2), maxBodyBytes: Int = 3 * 1024 * 1024,
                cluster: ClusterConfiguration? = nil, namespaceCacheTTL: Duration = .seconds(30),
                namespaceCacheSize: Int = 1024, apiTimeout: Duration = .seconds(3), idleTimeout: Duration = .seconds(60)) {
        self.host = host
        self.port = port
        self.certificatePath = certificatePath
        self.keyPath = keyPath
        self.statePath = statePath
        self.registryOverride = registryOverride
        self.policyOverride = policyOverride
        self.gitServerOverride = gitServerOverride
        self.gitUserOverride = gitUserOverride
        self.reloadInterval = reloadInterval
        self.maxBodyBytes = maxBodyBytes
        self.cluster = cluster
        self.namespaceCacheTTL = namespaceCacheTTL
        self.namespaceCacheSize = namespaceCacheSize
        self.apiTimeout = apiTimeout
        self.idleTimeout = idleTimeout
    }
}

/// The live TLS context and mutator, swapped atomically when the mounted files change; connections and
/// requests in flight keep the values they started with.
final class ServerMaterial: Sendable {
    let options: AgentServerOptions
    private let tls: Mutex<NIOSSLContext>
    private let mutatorBox: Mutex<Mutator>
    private let seen: Mutex<[String: Data]>
    private let logger: Logger

    init(options: AgentServerOptions, logger: Logger) throws {
        self.options = options
        self.logger = logger
        let files = try Self.readFiles(options)
        tls = Mutex(try Self.makeContext(options, files))
        mutatorBox = Mutex(Mutator(config: try Self.makeConfig(options, files)))
        seen = Mutex(files)
    }

    var sslContext: NIOSSLContext { tls.withLock { $0 } }
    var mutator: Mutator { mutatorBox.withLock { $0 } }

    /// Re-reads the files; when any changed, builds new material and swaps it in. A broken update is
    /// logged and the previous certificate and state stay in service.
    @discardableResult
    func reloadIfChanged() -> Bool {
        guard let files = try? Self.readFiles(options) else {
            logger.warning("mounted files unreadable; keeping the current certificate and state")
            return false
        }
        let previous = seen.withLock { $0 }
        guard files != previous else { return false }
        seen.withLock { $0 = files }
        let certChanged = files[options.certificatePath] != previous[options.certificatePath]
            || files[options.keyPath] != previous[options.keyPath]
        var ok = true
        if certChanged {
            do {
                let context = try Self.makeContext(options, files)
                tls.withLock { $0 = context }
                logger.info("reloaded TLS certificate", metadata: ["path": .string(options.certificatePath)])
            } catch {
                ok = false
                logger.error("certificate reload failed, keeping the previous certificate: \(error)")
            }
        }
        if let s = options.statePath, files[s] != previous[s] {
            do {
                let config = try Self.makeConfig(options, files)
                mutatorBox.withLock { $0 = Mutator(config: config) }
                logger.info("reloaded state", metadata: ["registry": .string(config.registryAddress)])
            } catch {
                ok = false
                logger.error("state reload failed, keeping the previous state: \(error)")
            }
        }
        return ok
    }

    static func readFiles(_ o: AgentServerOptions) throws -> [String: Data] {
        var out: [String: Data] = [:]
        for path in [o.certificatePath, o.keyPath] + (o.statePath.map { [$0] } ?? []) {
            do { out[path] = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
                throw AgentServerError.unreadableFile(path: path, reason: error.localizedDescription)
            }
        }
        return out
    }

    static func makeContext(_ o: AgentServerOptions, _ files: [String: Data]) throws -> NIOSSLContext {
        let chain: [NIOSSLCertificate]
        do { chain = try NIOSSLCertificate.fromPEMBytes(Array(files[o.certificatePath] ?? Data())) } catch {
            throw AgentServerError.invalidCertificate(path: o.certificatePath, reason: "\(error)")
        }
        guard !chain.isEmpty else { throw AgentServerError.invalidCertificate(path: o.certificatePath, reason: "no certificate in the file") }
        let key: NIOSSLPrivateKey
        do { key = try NIOSSLPrivateKey(bytes: Array(files[o.keyPath] ?? Data()), format: .pem) } catch {
            throw AgentServerError.invalidCertificate(path: o.keyPath, reason: "\(error)")
        }
        var config = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) },
                                                              privateKey: .privateKey(key))
        config.minimumTLSVersion = .tlsv12
        do { return try NIOSSLContext(configuration: config) } catch {
            throw AgentServerError.invalidCertificate(path: o.certificatePath, reason: "certificate and key do not form a TLS context: \(error)")
        }
    }

    static func makeConfig(_ o: AgentServerOptions, _ files: [String: Data]) throws -> AgentConfig {
        var config = AgentConfig()
        if let s = o.statePath {
            do { config = try AgentConfig(zarfState: files[s] ?? Data()) } catch {
                throw AgentServerError.invalidState(path: s, reason: "\(error)")
            }
        }
        if let r = o.registryOverride { config.registryAddress = r }
        if let p = o.policyOverride { config.policy = p }
        if let g = o.gitServerOverride { config.gitServerAddress = g }
        if let u = o.gitUserOverride { config.gitPushUsername = u }
        return config
    }
}

import Foundation
import Synchronization

/// How to reach one Kubernetes API server: its URL, the CA that signs its certificate, and the
/// client's credentials. Made from a kubeconfig (`Kubeconfig`) or a pod's service account (`inCluster`).
public struct ClusterConfiguration: Sendable {
    /// Who the client is to the API server.
    public enum Credentials: Sendable {
        case none
        case bearerToken(String)
        /// A token file re-read as it changes (kubelet rotates bound service account tokens).
        case tokenFile(String)
        case basic(username: String, password: String)
        /// PEM client certificate chain and private key (mutual TLS).
        case clientCertificate(certificatePEM: [UInt8], keyPEM: [UInt8])
    }

    /// `https://host:port` (no trailing slash).
    public var server: String
    /// PEM CA bundle for the server certificate; nil trusts the system roots.
    public var certificateAuthorityPEM: [UInt8]?
    public var insecureSkipTLSVerify: Bool
    public var credentials: Credentials
    /// The namespace the configuration names (kubeconfig context or the pod's own), if any.
    public var namespace: String?
    /// Where this configuration came from, for messages: `kubeconfig FILE (context NAME)` or `in-cluster service account`.
    public var source: String

    public init(server: String, certificateAuthorityPEM: [UInt8]? = nil, insecureSkipTLSVerify: Bool = false,
                credentials: Credentials = .none, namespace: String? = nil, source: String = "") {
        var s = server
        while s.hasSuffix("/") { s.removeLast() }
        self.server = s
        self.certificateAuthorityPEM = certificateAuthorityPEM
        self.insecureSkipTLSVerify = insecureSkipTLSVerify
        self.credentials = credentials
        self.namespace = namespace
        self.source = source.isEmpty ? s : source
    }

    /// The service account directory inside a pod, below `root`.
    public static let serviceAccountDirectory = "var/run/secrets/kubernetes.io/serviceaccount"

    /// Whether the in-cluster environment variables are set (the process runs in a pod).
    public static func inClusterAvailable(environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        !(environment["KUBERNETES_SERVICE_HOST"] ?? "").isEmpty && !(environment["KUBERNETES_SERVICE_PORT"] ?? "").isEmpty
    }

    /// The pod's own service account: `KUBERNETES_SERVICE_HOST`/`PORT` and the token, CA and namespace
    /// files under `root` + `/var/run/secrets/kubernetes.io/serviceaccount` (`root` is `/` in a pod; tests
    /// point it at a temporary directory).
    public static func inCluster(environment: [String: String] = ProcessInfo.processInfo.environment,
                                 root: String = "/") throws -> ClusterConfiguration {
        guard let host = environment["KUBERNETES_SERVICE_HOST"], !host.isEmpty,
              let port = environment["KUBERNETES_SERVICE_PORT"], !port.isEmpty else {
            throw ClusterError.noConfiguration("KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set (not running in a pod)")
        }
        guard let portNumber = Int(port), (1...65535).contains(portNumber) else {
            throw ClusterError.noConfiguration("KUBERNETES_SERVICE_PORT \"\(port)\" is not a port number")
        }
        let dir = (root.hasSuffix("/") ? root : root + "/") + serviceAccountDirectory
        let tokenPath = dir + "/token"
        _ = try TokenFile.read(tokenPath)
        let ca = try readFile(dir + "/ca.crt")
        let namespace = (try? String(contentsOfFile: dir + "/namespace", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let hostPart = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        return ClusterConfiguration(server: "https://\(hostPart):\(portNumber)", certificateAuthorityPEM: ca,
                                    credentials: .tokenFile(tokenPath), namespace: namespace?.isEmpty == false ? namespace : nil,
                                    source: "in-cluster service account (\(dir))")
    }

    static func readFile(_ path: String) throws -> [UInt8] {
        do { return [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) } catch {
            throw ClusterError.unreadableFile(path: path, reason: error.localizedDescription)
        }
    }
}

/// Reads a bearer token file, keeping the value for a minute between reads (client-go does the same),
/// so a rotated token is picked up without re-reading the file on every request.
final class TokenFile: Sendable {
    let path: String
    private let cached: Mutex<(token: String, read: ContinuousClock.Instant)?>
    static let refresh: Duration = .seconds(60)

    init(path: String) {
        self.path = path
        cached = Mutex(nil)
    }

    func token() throws -> String {
        let now = ContinuousClock.now
        if let c = cached.withLock({ $0 }), now - c.read < Self.refresh { return c.token }
        let token = try Self.read(path)
        cached.withLock { $0 = (token, now) }
        return token
    }

    static func read(_ path: String) throws -> String {
        let bytes = try ClusterConfiguration.readFile(path)
        let token = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty else { throw ClusterError.unreadableFile(path: path, reason: "the token file is empty") }
        return token
    }
}

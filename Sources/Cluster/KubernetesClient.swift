import AsyncHTTPClient
import Foundation
import NIOCore
import NIOSSL
import OutpostCore

/// A small Kubernetes API client: GET one object or a list by API path, as JSON, with the credentials
/// and CA of a `ClusterConfiguration`. It grows with what Outpost needs (the webhook reads namespaces;
/// the provisioning agent will add writes); there is no code generation and no typed object model beyond
/// the few fields callers read.
public struct KubernetesClient: Sendable {
    public let configuration: ClusterConfiguration
    /// The whole budget for one request: connecting, TLS, the answer.
    public var timeout: Duration
    private let tls: TLSConfiguration
    private let tokenFile: TokenFile?

    public init(configuration: ClusterConfiguration, timeout: Duration = .seconds(5)) throws {
        self.configuration = configuration
        self.timeout = timeout
        self.tls = try Self.tlsConfiguration(configuration)
        if case .tokenFile(let path) = configuration.credentials { tokenFile = TokenFile(path: path) } else { tokenFile = nil }
    }

    /// One object (or any JSON document) at `path`, e.g. `/api/v1/namespaces/zarf/secrets/zarf-state`.
    public func get(_ path: String) async throws -> JSONValue {
        let document = try await request(path)
        guard document.objectValue != nil else { throw ClusterError.invalidResponse(path: path, reason: "not a JSON object") }
        return document
    }

    /// The `items` of the list at `path`, e.g. `/api/v1/namespaces/zarf/pods`, optionally filtered by a
    /// label selector (`app=agent-hook,tier!=db`).
    public func list(_ path: String, labelSelector: String? = nil) async throws -> [JSONValue] {
        var full = path
        if let labelSelector, !labelSelector.isEmpty {
            var allowed = CharacterSet.urlQueryAllowed
            allowed.remove(charactersIn: "&+=")
            full += (path.contains("?") ? "&" : "?") + "labelSelector="
                + (labelSelector.addingPercentEncoding(withAllowedCharacters: allowed) ?? labelSelector)
        }
        let document = try await request(full)
        guard let items = document["items"]?.arrayValue else {
            throw ClusterError.invalidResponse(path: full, reason: "no items array: is this a list path?")
        }
        return items
    }

    /// A namespace's labels and phase (`GET /api/v1/namespaces/<name>`).
    public func namespace(_ name: String) async throws -> NamespaceInfo {
        try Self.checkName(name)
        let object = try await get("/api/v1/namespaces/\(name)")
        return NamespaceInfo(name: object["metadata"]?["name"]?.stringValue ?? name,
                             labels: (object["metadata"]?["labels"]?.objectValue ?? [:]).compactMapValues(\.stringValue),
                             phase: object["status"]?["phase"]?.stringValue ?? "")
    }

    /// DNS-1123 labels and subdomains: what namespace and most object names are.
    static func checkName(_ name: String) throws {
        let ok = !name.isEmpty && name.utf8.count <= 253
            && name.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D || $0 == 0x2E }
            && !name.hasPrefix("-") && !name.hasSuffix("-") && !name.hasPrefix(".")
        guard ok else { throw ClusterError.invalidName(name) }
    }

    private func request(_ path: String) async throws -> JSONValue {
        guard path.hasPrefix("/") else { throw ClusterError.invalidName(path) }
        var request = HTTPClientRequest(url: configuration.server + path)
        request.tlsConfiguration = tls
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: "outpost")
        switch configuration.credentials {
        case .none, .clientCertificate: break
        case .bearerToken(let token): request.headers.add(name: "Authorization", value: "Bearer \(token)")
        case .tokenFile: request.headers.add(name: "Authorization", value: "Bearer \(try tokenFile!.token())")
        case .basic(let user, let password):
            request.headers.add(name: "Authorization", value: "Basic " + Data("\(user):\(password)".utf8).base64EncodedString())
        }
        let (seconds, attoseconds) = timeout.components
        let deadline = NIODeadline.now() + .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        let status: UInt
        let body: ByteBuffer
        do {
            let response = try await clusterHTTPClient.execute(request, deadline: deadline)
            status = response.status.code
            body = try await response.body.collect(upTo: 64 << 20)
        } catch {
            throw ClusterError.unreachable(url: configuration.server, reason: Self.explain(error))
        }
        let data = Data(body.readableBytesView)
        guard (200..<300).contains(status) else {
            let statusObject = try? JSONValue.parse(data)
            let message = statusObject?["message"]?.stringValue ?? String(decoding: data.prefix(300), as: UTF8.self)
            let reason = statusObject?["reason"]?.stringValue ?? ""
            switch status {
            case 401, 403: throw ClusterError.unauthorized(path: path, code: Int(status), message: message)
            case 404: throw ClusterError.notFound(path: path, message: message)
            default: throw ClusterError.apiError(path: path, code: Int(status), reason: reason, message: message)
            }
        }
        do { return try JSONValue.parse(data) } catch {
            throw ClusterError.invalidResponse(path: path, reason: "not JSON: \(error)")
        }
    }

    /// A short, readable reason for a transport failure.
    static func explain(_ error: any Error) -> String {
        if let e = error as? HTTPClientError {
            switch e {
            case .deadlineExceeded, .readTimeout, .connectTimeout: return "no answer in time (\(e))"
            default: return "\(e)"
            }
        }
        if let e = error as? NIOSSLError { return "TLS failure: \(e); check the CA (certificate-authority) and the server name" }
        if let e = error as? BoringSSLError { return "TLS failure: \(e); check the CA (certificate-authority) and the server name" }
        return "\(error)"
    }

    static func tlsConfiguration(_ c: ClusterConfiguration) throws -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        if let ca = c.certificateAuthorityPEM {
            do {
                let roots = try NIOSSLCertificate.fromPEMBytes(ca)
                guard !roots.isEmpty else { throw ClusterError.invalidTLSMaterial(source: "\(c.source) CA", reason: "no certificate") }
                tls.trustRoots = .certificates(roots)
            } catch let e as ClusterError { throw e } catch {
                throw ClusterError.invalidTLSMaterial(source: "\(c.source) certificate-authority", reason: "\(error)")
            }
        }
        if c.insecureSkipTLSVerify { tls.certificateVerification = .none }
        if case .clientCertificate(let certificatePEM, let keyPEM) = c.credentials {
            do {
                let chain = try NIOSSLCertificate.fromPEMBytes(certificatePEM)
                guard !chain.isEmpty else { throw ClusterError.invalidTLSMaterial(source: "\(c.source) client-certificate", reason: "no certificate") }
                tls.certificateChain = chain.map { .certificate($0) }
            } catch let e as ClusterError { throw e } catch {
                throw ClusterError.invalidTLSMaterial(source: "\(c.source) client-certificate", reason: "\(error)")
            }
            do { tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: keyPEM, format: .pem)) } catch {
                throw ClusterError.invalidTLSMaterial(source: "\(c.source) client-key", reason: "\(error)")
            }
        }
        return tls
    }
}

/// What the webhook needs of a Namespace: its labels (`zarf.dev/agent`) and phase.
public struct NamespaceInfo: Sendable, Equatable {
    public var name: String
    public var labels: [String: String]
    public var phase: String

    public init(name: String, labels: [String: String], phase: String = "") {
        self.name = name
        self.labels = labels
        self.phase = phase
    }
}

/// The process-wide HTTP client for Kubernetes API servers (never shut down; per-request TLS settings
/// select the pool). A refused connection fails at once instead of being retried until the deadline, so
/// a caller with a tight budget (an admission webhook) learns quickly that the API is down.
let clusterHTTPClient: HTTPClient = {
    var pool = HTTPClient.Configuration.ConnectionPool(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 8)
    pool.retryConnectionEstablishment = false
    let configuration = HTTPClient.Configuration(
        tlsConfiguration: nil,
        redirectConfiguration: .disallow,
        timeout: .init(connect: .seconds(3), read: .seconds(30)),
        connectionPool: pool,
        proxy: nil,
        ignoreUncleanSSLShutdown: false,
        decompression: .disabled)
    return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
}()

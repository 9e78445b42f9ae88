import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import OCI

/// The process-wide HTTP client for registries. It lives as long as the process (so it is never shut
/// down), follows redirects (blob storage backends redirect; Authorization is dropped across origins),
/// never decompresses (blobs must arrive byte for byte), and fails a refused connection at once so the
/// retry policy, not the connection pool, decides how long to keep trying.
let registryHTTPClient: HTTPClient = {
    var pool = HTTPClient.Configuration.ConnectionPool(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 16)
    pool.retryConnectionEstablishment = false
    let configuration = HTTPClient.Configuration(
        tlsConfiguration: nil,
        redirectConfiguration: .follow(max: 5, allowCycles: false),
        timeout: .init(connect: .seconds(15), read: .seconds(120)),
        connectionPool: pool,
        proxy: nil,
        ignoreUncleanSSLShutdown: false,
        decompression: .disabled)
    return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
}()

/// What a request is about, so a failure can name the registry, repository and reference.
struct RequestContext: Sendable {
    enum Subject: Sendable { case image, blob(Digest), upload }
    var registry: String
    var repository: String
    var reference: String
    var operation: String
    var subject: Subject
}

/// Sends requests to registries: picks HTTPS or (for loopback and listed hosts) plain HTTP, maps Docker
/// Hub's name to its API host, and answers 401 challenges once per request through the `Authenticator`.
/// Retries are the caller's (whole operations are retried; see `RetryPolicy`).
struct RegistryTransport: Sendable {
    let configuration: RegistryConfiguration
    let authenticator: Authenticator
    let retry: RetryPolicy
    var client: HTTPClient { registryHTTPClient }

    init(configuration: RegistryConfiguration) {
        self.configuration = configuration
        authenticator = Authenticator(explicit: configuration.credentials, dockerConfigPath: configuration.dockerConfigPath)
        retry = RetryPolicy(retries: configuration.retries, baseDelay: configuration.retryBaseDelay)
    }

    /// `https://registry-1.docker.io` for `docker.io`; `http://127.0.0.1:5000` for a loopback host.
    func baseURL(_ host: String) -> String {
        let apiHost = host == "docker.io" ? "registry-1.docker.io" : host
        return (configuration.usesPlainHTTP(host) ? "http://" : "https://") + apiHost
    }

    /// `<base>/v2/<path>`
    func url(_ host: String, _ path: String) -> String { baseURL(host) + "/v2/" + path }

    /// Resolves an upload `Location` header (absolute, or a path on the registry).
    func resolve(location: String, host: String) -> String {
        if location.hasPrefix("http://") || location.hasPrefix("https://") { return location }
        return baseURL(host) + (location.hasPrefix("/") ? "" : "/") + location
    }

    /// Sends one request; on a 401 with a challenge we can answer, authenticates and sends it once more.
    /// `body` is called for each send so a streamed body can be replayed.
    func send(_ method: HTTPMethod, url: String, host: String, scopes: [String], headers: HTTPHeaders = [:],
              body: (@Sendable () -> HTTPClientRequest.Body)? = nil) async throws -> HTTPClientResponse {
        var answeredChallenge = false
        while true {
            var request = HTTPClientRequest(url: url)
            request.method = method
            request.headers = headers
            if let auth = try await authenticator.authorization(host: host, scopes: scopes) {
                request.headers.replaceOrAdd(name: "Authorization", value: auth)
            }
            if let body { request.body = body() }
            let response = try await client.execute(request, deadline: .now() + .hours(12))
            guard response.status == .unauthorized, !answeredChallenge,
                  let header = response.headers.first(name: "WWW-Authenticate"),
                  let challenge = AuthChallenge(header: header) else { return response }
            answeredChallenge = true
            // The body is read once only: left for the caller's error report when we cannot answer.
            guard try await authenticator.respond(to: challenge, host: host, scopes: scopes, client: client) else { return response }
            await Self.drain(response)
        }
    }

    /// The error for an unsuccessful response: 5xx and 429 become `TransientFailure` (retried), 404 names
    /// the image or blob, 401/403 name the credentials problem; the registry's error JSON is included.
    func failure(_ response: HTTPClientResponse, _ context: RequestContext) async -> any Error {
        let data = (try? await response.body.collect(upTo: 64 << 10)).map { Data($0.readableBytesView) } ?? Data()
        let detail = RegistryErrorBody.summary(data)
        let codes = RegistryErrorBody.codes(data)
        let status = Int(response.status.code)
        let generic = RegistryError.httpStatus(registry: context.registry, repository: context.repository,
                                               reference: context.reference, operation: context.operation,
                                               status: status, detail: detail)
        if status == 429 || status >= 500 {
            var retryAfter: Duration?
            if let s = response.headers.first(name: "Retry-After"), let secs = Int(s) { retryAfter = .seconds(secs) }
            return TransientFailure(underlying: generic, retryAfter: retryAfter)
        }
        if status == 401 || codes.contains("UNAUTHORIZED") {
            return RegistryError.unauthorized(registry: context.registry, repository: context.repository,
                                              hadCredentials: await authenticator.hasCredentials(context.registry), detail: detail)
        }
        if status == 403 || codes.contains("DENIED") {
            return RegistryError.denied(registry: context.registry, repository: context.repository, detail: detail)
        }
        if status == 404 || codes.contains("MANIFEST_UNKNOWN") || codes.contains("NAME_UNKNOWN") || codes.contains("BLOB_UNKNOWN") {
            switch context.subject {
            case .image:
                let sep = context.reference.hasPrefix("sha256:") ? "@" : ":"
                return RegistryError.imageNotFound(image: "\(context.registry)/\(context.repository)\(sep)\(context.reference)", detail: detail)
            case .blob(let digest):
                return RegistryError.blobNotFound(registry: context.registry, repository: context.repository, digest: digest)
            case .upload:
                return generic
            }
        }
        return generic
    }

    /// Reads and discards the rest of a body (so the connection can be reused).
    static func drain(_ response: HTTPClientResponse) async {
        do { for try await _ in response.body {} } catch {}
    }
}

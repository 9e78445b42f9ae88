import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Remembers how each registry wants to be authenticated (learned from its 401 challenges) and holds
/// bearer tokens per host and scope set, so each token is fetched once and reused by every request.
actor Authenticator {
    private let explicit: [String: Credentials]
    private let dockerConfigPath: String?
    private var store: DockerCredentialStore?
    private var challenges: [String: AuthChallenge] = [:]
    private var tokens: [String: String] = [:]

    /// Credentials given directly win; the Docker config file is read on first need (so a malformed
    /// file is reported by the first request that needs credentials, naming the file).
    init(explicit: [String: Credentials], dockerConfigPath: String?) {
        self.explicit = explicit
        self.dockerConfigPath = dockerConfigPath
    }

    func credentialsFor(_ host: String) throws -> Credentials? {
        if let c = explicit[host] ?? explicit[DockerCredentialStore.normalizeHost(host)] { return c }
        if store == nil { store = try DockerCredentialStore.load(explicitPath: dockerConfigPath) }
        return store?.credentials(for: host)
    }

    func hasCredentials(_ host: String) -> Bool { ((try? credentialsFor(host)) ?? nil) != nil }

    /// The Authorization header for a request to `host` needing `scopes`, if we know one.
    func authorization(host: String, scopes: [String]) throws -> String? {
        guard let challenge = challenges[host] else { return nil }
        switch challenge.scheme {
        case .basic:
            return try credentialsFor(host).map(Self.basic)
        case .bearer:
            return tokens[Self.tokenKey(host, scopes)].map { "Bearer " + $0 }
        }
    }

    /// Handles a 401: records the challenge and, for Bearer, fetches a token covering `scopes` plus any
    /// scope the registry named. Returns false when there is nothing new to try.
    func respond(to challenge: AuthChallenge, host: String, scopes: [String], client: HTTPClient) async throws -> Bool {
        challenges[host] = challenge
        switch challenge.scheme {
        case .basic:
            return try credentialsFor(host) != nil
        case .bearer:
            guard let realm = challenge.realm, var url = URLComponents(string: realm) else {
                throw RegistryError.tokenRequestFailed(realm: challenge.realm ?? "(none)", status: 0,
                                                       detail: "the registry's Bearer challenge has no usable realm")
            }
            let allScopes = Array(Set(scopes + challenge.scopes)).sorted()
            var items = url.queryItems ?? []
            if let service = challenge.service { items.append(URLQueryItem(name: "service", value: service)) }
            for s in allScopes { items.append(URLQueryItem(name: "scope", value: s)) }
            url.queryItems = items
            guard let urlString = url.string else {
                throw RegistryError.tokenRequestFailed(realm: realm, status: 0, detail: "cannot build the token URL")
            }
            var request = HTTPClientRequest(url: urlString)
            let creds = try credentialsFor(host)
            if let creds { request.headers.add(name: "Authorization", value: Self.basic(creds)) }
            let response: HTTPClientResponse
            do { response = try await client.execute(request, timeout: .seconds(60)) } catch {
                let reason = RetryPolicy.networkFailureReason(error) ?? "\(error)"
                throw RegistryError.unreachable(host: url.host ?? realm, reason: reason)
            }
            let body = try await response.body.collect(upTo: 1 << 20)
            let data = Data(body.readableBytesView)
            guard response.status == .ok else {
                let detail = RegistryErrorBody.summary(data)
                if response.status == .unauthorized || response.status == .forbidden {
                    throw RegistryError.unauthorized(registry: host, repository: allScopes.joined(separator: " "),
                                                     hadCredentials: creds != nil, detail: detail)
                }
                throw RegistryError.tokenRequestFailed(realm: realm, status: Int(response.status.code), detail: detail)
            }
            struct TokenResponse: Decodable { var token: String?; var access_token: String? }
            guard let parsed = try? JSONDecoder().decode(TokenResponse.self, from: data),
                  let token = parsed.token ?? parsed.access_token, !token.isEmpty else {
                throw RegistryError.tokenRequestFailed(realm: realm, status: 200, detail: "the answer has no token")
            }
            tokens[Self.tokenKey(host, scopes)] = token
            return true
        }
    }

    static func basic(_ c: Credentials) -> String {
        "Basic " + Data("\(c.username):\(c.password)".utf8).base64EncodedString()
    }

    static func tokenKey(_ host: String, _ scopes: [String]) -> String {
        host + "|" + Set(scopes).sorted().joined(separator: " ")
    }
}

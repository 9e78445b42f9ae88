import Foundation
import OCI
import Testing
@testable import Registry

/// The pure pieces of the client: challenge parsing, Docker config.json reading, HTTP/HTTPS choice,
/// backoff and the error messages users see.
@Suite struct AuthParsingTests {
    @Test func parsesBearerChallengeWithQuotedCommasAndScopes() throws {
        let c = try #require(AuthChallenge(header: #"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull repository:x/y:pull,push""#))
        #expect(c.scheme == .bearer)
        #expect(c.realm == "https://auth.docker.io/token")
        #expect(c.service == "registry.docker.io")
        #expect(c.scopes == ["repository:library/alpine:pull", "repository:x/y:pull,push"])
    }

    @Test func parsesBasicChallengeAndRejectsOtherSchemes() throws {
        let c = try #require(AuthChallenge(header: #"Basic realm="outpost-test""#))
        #expect(c.scheme == .basic)
        #expect(c.realm == "outpost-test")
        #expect(AuthChallenge(header: "Negotiate abc") == nil)
        let unquoted = try #require(AuthChallenge(header: "bearer realm=https://r.example/token, service=reg"))
        #expect(unquoted.realm == "https://r.example/token")
        #expect(unquoted.service == "reg")
    }

    @Test func readsDockerConfigAuthsInEveryKeyForm() throws {
        let json = """
        {"auths": {
          "https://index.docker.io/v1/": {"auth": "\(Data("hubuser:hubpass".utf8).base64EncodedString())"},
          "http://127.0.0.1:5000/v2/": {"auth": "\(Data("u:p:with:colons".utf8).base64EncodedString())"},
          "ghcr.io": {"username": "gh", "password": "tok"},
          "empty.example": {}
        }}
        """
        let entries = try DockerCredentialStore.parse(data: Data(json.utf8), path: "config.json")
        let store = DockerCredentialStore(entries: entries)
        #expect(store.credentials(for: "docker.io") == Credentials(username: "hubuser", password: "hubpass"))
        #expect(store.credentials(for: "127.0.0.1:5000") == Credentials(username: "u", password: "p:with:colons"))
        #expect(store.credentials(for: "ghcr.io") == Credentials(username: "gh", password: "tok"))
        #expect(store.credentials(for: "empty.example") == nil)
        #expect(store.credentials(for: "quay.io") == nil)
    }

    @Test func badDockerConfigNamesFileAndKey() throws {
        let e = #expect(throws: RegistryError.self) {
            _ = try DockerCredentialStore.parse(data: Data(#"{"auths":{"r.example":{"auth":"%%%"}}}"#.utf8), path: "/x/config.json")
        }
        #expect(e?.description.contains("/x/config.json") == true)
        #expect(e?.description.contains("auths.r.example.auth") == true)
        #expect(throws: RegistryError.self) { _ = try DockerCredentialStore.parse(data: Data("[1]".utf8), path: "c") }
        #expect(throws: RegistryError.self) { _ = try DockerCredentialStore.load(explicitPath: "/nonexistent/config.json") }
    }

    @Test func findsConfigThroughDockerConfigVariableThenHome() throws {
        let dir = NSTemporaryDirectory() + "/outpost-dc-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/dc", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: dir + "/home/.docker", withIntermediateDirectories: true)
        let a = Data("a:1".utf8).base64EncodedString(), b = Data("b:2".utf8).base64EncodedString()
        try Data(#"{"auths":{"r.example":{"auth":"\#(a)"}}}"#.utf8).write(to: URL(fileURLWithPath: dir + "/dc/config.json"))
        try Data(#"{"auths":{"r.example":{"auth":"\#(b)"}}}"#.utf8).write(to: URL(fileURLWithPath: dir + "/home/.docker/config.json"))
        let viaVar = try DockerCredentialStore.load(explicitPath: nil, environment: ["DOCKER_CONFIG": dir + "/dc", "HOME": dir + "/home"])
        #expect(viaVar.credentials(for: "r.example")?.username == "a")
        let viaHome = try DockerCredentialStore.load(explicitPath: nil, environment: ["HOME": dir + "/home"])
        #expect(viaHome.credentials(for: "r.example")?.username == "b")
        let none = try DockerCredentialStore.load(explicitPath: nil, environment: ["HOME": dir + "/nothing"])
        #expect(none.entries.isEmpty)
    }

    @Test func plainHTTPOnlyForLoopbackAndListedHosts() {
        let config = RegistryConfiguration(insecureHosts: ["registry.lan:5000", "mirror.lan"])
        #expect(config.usesPlainHTTP("127.0.0.1:5000"))
        #expect(config.usesPlainHTTP("localhost:31999"))
        #expect(config.usesPlainHTTP("[::1]:5000"))
        #expect(config.usesPlainHTTP("registry.lan:5000"))
        #expect(config.usesPlainHTTP("mirror.lan:443"))
        #expect(!config.usesPlainHTTP("registry.lan:6000"))
        #expect(!config.usesPlainHTTP("docker.io"))
        #expect(!config.usesPlainHTTP("10.0.0.1:5000"))
        let transport = RegistryTransport(configuration: config)
        #expect(transport.baseURL("docker.io") == "https://registry-1.docker.io")
        #expect(transport.baseURL("127.0.0.1:5000") == "http://127.0.0.1:5000")
        #expect(transport.resolve(location: "/v2/a/blobs/uploads/x?_state=1", host: "127.0.0.1:5000") == "http://127.0.0.1:5000/v2/a/blobs/uploads/x?_state=1")
    }

    @Test func backoffDoublesWithJitterAndHonoursRetryAfter() {
        let p = RetryPolicy(retries: 5, baseDelay: .milliseconds(100))
        for attempt in 0..<4 {
            let d = p.delay(attempt: attempt, retryAfter: nil)
            let nominal = Duration.milliseconds(100) * (1 << attempt)
            #expect(d >= nominal * 0.75 && d <= nominal * 1.25)
        }
        #expect(p.delay(attempt: 40, retryAfter: nil) <= .seconds(38))
        #expect(p.delay(attempt: 0, retryAfter: .seconds(7)) == .seconds(7))
    }

    @Test func registryErrorJSONBecomesReadableDetail() {
        let body = Data(#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"nope"}}]}"#.utf8)
        #expect(RegistryErrorBody.codes(body) == ["MANIFEST_UNKNOWN"])
        #expect(RegistryErrorBody.summary(body) == "MANIFEST_UNKNOWN: manifest unknown")
        let e = RegistryError.imageNotFound(image: "docker.io/x/y:z", detail: "MANIFEST_UNKNOWN: manifest unknown")
        #expect(e.description == "image docker.io/x/y:z not found (MANIFEST_UNKNOWN: manifest unknown)")
    }
}

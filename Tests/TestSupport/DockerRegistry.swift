import Foundation

/// Debian's `docker-registry` (distribution 2.8, the `registry:2` server) on a free loopback port with
/// filesystem storage in a temporary directory; optionally with htpasswd basic auth.
public struct DockerRegistry: Sendable {
    /// `127.0.0.1:PORT`
    public let host: String
    public let port: Int
    public let root: String
    /// Set when the registry requires basic auth.
    public let credentials: (user: String, password: String)?
    public let service: BackgroundService

    /// A Docker config.json granting `credentials` for this registry, written under `root`.
    public func writeDockerConfig() throws -> String {
        guard let c = credentials else { return "" }
        let auth = Data("\(c.user):\(c.password)".utf8).base64EncodedString()
        let path = root + "/docker-config.json"
        try Data(#"{"auths":{"\#(host)":{"auth":"\#(auth)"}}}"#.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }
}

/// Starts a registry for the duration of `body` and always stops it and removes its storage.
public func withDockerRegistry<T>(auth: Bool = false, _ body: (DockerRegistry) async throws -> T) async throws -> T {
    let root = try makeTemporaryDirectory("outpost-registry")
    defer { try? FileManager.default.removeItem(atPath: root) }
    let registry = try startDockerRegistry(root: root, auth: auth)
    defer { registry.service.stop() }
    return try await body(registry)
}

/// Starts a registry in `root` (the caller removes it and stops the service). Prefer `withDockerRegistry`.
public func startDockerRegistry(root: String, auth: Bool = false) throws -> DockerRegistry {
    let port = try freeLoopbackPort()
    var authBlock = ""
    var creds: (String, String)? = nil
    if auth {
        let user = "tester", password = "s3cret-\(UInt32.random(in: 1000...9999))"
        // bcrypt entries, as distribution requires
        try ProcessRunner.run("htpasswd", ["-Bbc", root + "/htpasswd", user, password], check: true)
        authBlock = """
        auth:
          htpasswd:
            realm: outpost-test
            path: \(root)/htpasswd
        """
        creds = (user, password)
    }
    let config = """
    version: 0.1
    log:
      level: warn
    storage:
      filesystem:
        rootdirectory: \(root)/data
      delete:
        enabled: true
    http:
      addr: 127.0.0.1:\(port)
    \(authBlock)
    """
    try Data(config.utf8).write(to: URL(fileURLWithPath: root + "/config.yml"))
    let svc = try BackgroundService(name: "docker-registry", program: "docker-registry",
                                    arguments: ["serve", root + "/config.yml"], logPath: root + "/registry.log")
    // Poll synchronously: this function is also used from non-async set-up code.
    let deadline = Date().addingTimeInterval(20)
    var up = false
    while Date() < deadline {
        if let r = try? ProcessRunner.run("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(port)/v2/"]),
           ["200", "401"].contains(r.out) { up = true; break }
        usleep(50_000)
    }
    if !up { svc.stop(); throw ProcessRunnerError.failed("docker-registry", ProcessResult(status: -1, stdout: Data(), stderr: Data(svc.log.utf8))) }
    return DockerRegistry(host: "127.0.0.1:\(port)", port: port, root: root, credentials: creds, service: svc)
}

import Foundation

/// docker-registry with Docker's bearer-token auth (what Docker Hub, GHCR and Harbor speak), plus a small
/// token server: Python's standard library serving `GET /token` and `openssl` signing RS256 JWTs with
/// the certificate the registry trusts (`x5c`). The token server checks basic credentials and grants
/// every scope asked for; each request it answers is appended to `tokenLog` as JSON.
public struct TokenAuthRegistry: Sendable {
    /// The registry (its `credentials` are the token server's user and password).
    public let registry: DockerRegistry
    public let tokenService: BackgroundService
    /// One JSON line per token request: `{"scopes": [...], "auth": true|false, "granted": true|false}`.
    public let tokenLog: String

    /// The scopes of every token request so far.
    public func tokenRequests() -> [[String]] {
        let text = (try? String(contentsOfFile: tokenLog, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["scopes"] as? [String]
        }
    }
}

/// Starts a token server and a token-auth registry for the duration of `body`; always stops both.
public func withTokenAuthRegistry<T>(_ body: (TokenAuthRegistry) async throws -> T) async throws -> T {
    let root = try makeTemporaryDirectory("outpost-token-registry")
    defer { try? FileManager.default.removeItem(atPath: root) }
    try ProcessRunner.run("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", root + "/key.pem",
                                      "-out", root + "/cert.pem", "-days", "2", "-subj", "/CN=outpost-test-token"], check: true)
    let der = try ProcessRunner.run("openssl", ["x509", "-in", root + "/cert.pem", "-outform", "DER"], check: true).stdout
    try Data(tokenServerScript.utf8).write(to: URL(fileURLWithPath: root + "/token_server.py"))
    let user = "token-user", password = "pw-\(UInt32.random(in: 1000...9999))"
    let tokenPort = try freeLoopbackPort()
    let tokenLog = root + "/token-requests.log"
    let tokens = try BackgroundService(name: "token-server", program: "python3",
                                       arguments: [root + "/token_server.py", String(tokenPort), root + "/key.pem",
                                                   der.base64EncodedString(), user, password, "outpost-test-issuer", tokenLog],
                                       logPath: root + "/token-server.log")
    defer { tokens.stop() }
    try await waitForPort(tokenPort)

    let port = try freeLoopbackPort()
    let config = """
    version: 0.1
    log:
      level: warn
    storage:
      filesystem:
        rootdirectory: \(root)/data
    http:
      addr: 127.0.0.1:\(port)
    auth:
      token:
        realm: http://127.0.0.1:\(tokenPort)/token
        service: outpost-test-registry
        issuer: outpost-test-issuer
        rootcertbundle: \(root)/cert.pem
    """
    try Data(config.utf8).write(to: URL(fileURLWithPath: root + "/config.yml"))
    let svc = try BackgroundService(name: "docker-registry", program: "docker-registry",
                                    arguments: ["serve", root + "/config.yml"], logPath: root + "/registry.log")
    defer { svc.stop() }
    try await waitForPort(port)
    let registry = DockerRegistry(host: "127.0.0.1:\(port)", port: port, root: root, credentials: (user, password), service: svc)
    return try await body(TokenAuthRegistry(registry: registry, tokenService: tokens, tokenLog: tokenLog))
}

private let tokenServerScript = #"""
import base64, json, subprocess, sys, time, uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse, parse_qs

port, key, x5c, user, password, issuer, log = sys.argv[1:8]

def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        query = parse_qs(urlparse(self.path).query)
        scopes = query.get("scope", [])
        auth = self.headers.get("Authorization", "")
        expected = "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
        granted = auth == expected
        with open(log, "a") as f:
            f.write(json.dumps({"scopes": scopes, "auth": bool(auth), "granted": granted}) + "\n")
        if not granted:
            body = b'{"errors":[{"code":"UNAUTHORIZED","message":"invalid username or password"}]}'
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        access = []
        for scope in scopes:
            parts = scope.split(":")
            if len(parts) >= 3:
                access.append({"type": parts[0], "name": ":".join(parts[1:-1]), "actions": parts[-1].split(",")})
        now = int(time.time())
        header = {"alg": "RS256", "typ": "JWT", "x5c": [x5c]}
        claims = {"iss": issuer, "sub": user, "aud": query.get("service", [""])[0], "exp": now + 600,
                  "nbf": now - 60, "iat": now, "jti": uuid.uuid4().hex, "access": access}
        signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
        signature = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key], input=signing_input.encode(),
                                   capture_output=True, check=True).stdout
        token = signing_input + "." + b64url(signature)
        body = json.dumps({"token": token, "access_token": token, "expires_in": 600}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

ThreadingHTTPServer(("127.0.0.1", int(port)), Handler).serve_forever()
"""#

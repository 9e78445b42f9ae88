import Foundation
import OutpostCore
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The built `outpost` binary and helpers to run `outpost agent serve` as a real process, make
/// certificates with `openssl`, and talk to the server with `curl` and `openssl s_client`.
enum ServerHarness {
    static var outpost: String { repositoryRoot() + "/.build/debug/outpost" }

    /// A CA and a server certificate for localhost/127.0.0.1 (and `extraDNS`), made by openssl.
    static func makeCertificates(in dir: String, prefix: String = "", extraDNS: [String] = []) throws {
        let ca = "\(dir)/\(prefix)ca"
        try ProcessRunner.run("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                                          "-keyout", ca + ".key", "-out", ca + ".crt", "-days", "2", "-subj", "/CN=outpost-test-ca-\(prefix)",
                                          "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign"], check: true)
        try ProcessRunner.run("openssl", ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                                          "-keyout", "\(dir)/\(prefix)tls.key", "-out", "\(dir)/\(prefix)tls.csr", "-subj", "/CN=localhost"], check: true)
        let san = (["DNS:localhost", "IP:127.0.0.1"] + extraDNS.map { "DNS:" + $0 }).joined(separator: ",")
        try "subjectAltName=\(san)\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
            .write(toFile: "\(dir)/\(prefix)ext.cnf", atomically: true, encoding: .utf8)
        try ProcessRunner.run("openssl", ["x509", "-req", "-in", "\(dir)/\(prefix)tls.csr", "-CA", ca + ".crt", "-CAkey", ca + ".key",
                                          "-CAcreateserial", "-out", "\(dir)/\(prefix)tls.crt", "-days", "2",
                                          "-extfile", "\(dir)/\(prefix)ext.cnf"], check: true)
    }

    static func state(registry: String) -> String {
        #"{"registryInfo":{"address":"\#(registry)","pullUsername":"zarf-pull","pullPassword":"pw","registryMode":"nodeport","nodePort":31999},"gitServer":{"address":"","pushUsername":"zarf-git-user"},"agentMutationPolicy":"all"}"#
    }

    /// Writes `contents` to `path` by rename, as a Kubernetes Secret volume update does.
    static func replace(_ path: String, with contents: Data) throws {
        try AtomicFile.write(contents, to: path)
    }

    /// Starts `outpost agent serve` on a free port with `dir/tls.crt`, `dir/tls.key`, `dir/state.json`.
    /// A temporary directory with certificates and a state file, and the agent serving from it (with
    /// `extra` flags); the agent is stopped and the directory removed afterwards, also when `body` fails.
    static func withAgent(_ name: String, extra: [String] = [],
                          _ body: (_ agent: BackgroundService, _ port: Int, _ dir: String) async throws -> Void) async throws {
        try await withTemporaryDirectory(name) { dir in
            try makeCertificates(in: dir)
            try state(registry: "127.0.0.1:31999").write(toFile: dir + "/state.json", atomically: true, encoding: .utf8)
            let (service, port) = try await start(dir: dir, extra: extra)
            defer { service.stop() }
            try await body(service, port, dir)
        }
    }

    static func start(dir: String, extra: [String] = []) async throws -> (BackgroundService, Int) {
        #expect(FileManager.default.isExecutableFile(atPath: outpost), "build first: swift build --build-tests")
        let port = try freeLoopbackPort()
        let service = try BackgroundService(
            name: "outpost-agent", program: outpost,
            arguments: ["agent", "serve", "--host", "127.0.0.1", "--port", String(port), "--tls-cert", dir + "/tls.crt",
                        "--tls-key", dir + "/tls.key", "--state", dir + "/state.json", "--reload-interval", "0.2"] + extra,
            logPath: dir + "/agent.log")
        do { try await waitForPort(port) } catch {
            service.stop()
            Issue.record("agent did not start: \(service.log)")
            throw error
        }
        return (service, port)
    }

    struct HTTPResult { let status: Int; let body: String; let exitCode: Int32 }

    /// One HTTPS request with curl, verifying the server against `ca`.
    static func curl(_ url: String, ca: String, method: String = "GET", body: String? = nil,
                     contentType: String? = "application/json", extra: [String] = []) throws -> HTTPResult {
        var args = ["-sS", "--max-time", "20", "--cacert", ca, "-X", method, "-o", "-", "-w", "\n%{http_code}"]
        if let contentType { args += ["-H", "Content-Type: \(contentType)"] }
        if body != nil { args += ["--data-binary", "@-"] }
        let r = try ProcessRunner.run("curl", args + extra + [url], stdin: body.map { Data($0.utf8) })
        var lines = r.out.components(separatedBy: "\n")
        let status = Int(lines.popLast() ?? "") ?? 0
        return HTTPResult(status: status, body: lines.joined(separator: "\n"), exitCode: r.status)
    }

    /// Two POSTs to /mutate/pod pipelined on one TLS connection (python3's ssl), then a GET /healthz with
    /// Connection: close: the first request and half of the second are sent together, the rest of the
    /// second only after the first answer has arrived. Returns everything the server sent, until it closed.
    static func pipelined(port: Int, dir: String, first: String, second: String) throws -> ProcessResult {
        try first.write(toFile: dir + "/pipelined-1.json", atomically: true, encoding: .utf8)
        try second.write(toFile: dir + "/pipelined-2.json", atomically: true, encoding: .utf8)
        let script = #"""
        import socket, ssl, sys
        port, ca, a, b = int(sys.argv[1]), sys.argv[2], open(sys.argv[3], "rb").read(), open(sys.argv[4], "rb").read()
        def req(body): return b"POST /mutate/pod HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body
        s = ssl.create_default_context(cafile=ca).wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="localhost")
        s.settimeout(15)
        second = req(b)
        half = len(second) - len(b) // 2
        s.sendall(req(a) + second[:half])
        data = b""
        while len(data.split(b"HTTP/1.1 ")) < 2 or b"}}" not in data.split(b"HTTP/1.1 ")[1]: data += s.recv(65536)
        s.sendall(second[half:] + b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        while True:
            chunk = s.recv(65536)
            if not chunk: break
            data += chunk
        sys.stdout.write(data.decode())
        """#
        try script.write(toFile: dir + "/pipeline.py", atomically: true, encoding: .utf8)
        return try ProcessRunner.run("python3", [dir + "/pipeline.py", String(port), dir + "/ca.crt",
                                                 dir + "/pipelined-1.json", dir + "/pipelined-2.json"])
    }

    /// Sends `request` as is over one TLS connection (python3's ssl) and returns everything the server
    /// sent until it closed the connection (or 10 s passed: then the output ends with "TIMEOUT").
    static func raw(port: Int, dir: String, request: String) throws -> ProcessResult {
        try request.write(toFile: dir + "/raw-request", atomically: true, encoding: .utf8)
        let script = #"""
        import socket, ssl, sys
        port, ca, request = int(sys.argv[1]), sys.argv[2], open(sys.argv[3], "rb").read()
        s = ssl.create_default_context(cafile=ca).wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="localhost")
        s.settimeout(10)
        s.sendall(request)
        data = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk: break
                data += chunk
        except (socket.timeout, TimeoutError):
            data += b"TIMEOUT"
        except ssl.SSLError:
            pass
        sys.stdout.write(data.decode(errors="replace"))
        """#
        try script.write(toFile: dir + "/raw.py", atomically: true, encoding: .utf8)
        return try ProcessRunner.run("python3", [dir + "/raw.py", String(port), dir + "/ca.crt", dir + "/raw-request"])
    }

    /// The status of each response in what `pipelined` returned (they follow each other with no
    /// separator), and whether the request with uid "first" was answered before the one with "second".
    static func pipelinedAnswers(_ out: String) -> (statuses: [String], inOrder: Bool) {
        let statuses = out.components(separatedBy: "HTTP/1.1 ").dropFirst().map { String($0.prefix(6)) }
        guard let first = out.range(of: #""uid":"first""#), let second = out.range(of: #""uid":"second""#) else { return (statuses, false) }
        return (statuses, first.lowerBound < second.lowerBound)
    }

    static func podReview(uid: String = "u-1", containers: Int = 1, annotationBytes: Int = 0) -> String {
        let cs = (0..<containers).map { #"{"name":"c\#($0)","image":"nginx:1.\#($0)"}"# }.joined(separator: ",")
        let pad = annotationBytes > 0 ? #","annotations":{"pad":"\#(String(repeating: "x", count: annotationBytes))"}"# : ""
        return #"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"\#(uid)","operation":"CREATE","kind":{"group":"","version":"v1","kind":"Pod"},"namespace":"demo","object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"\#(pad)},"spec":{"containers":[\#(cs)]}}}}"#
    }

    /// Decodes the base64 patch of an AdmissionReview response body.
    static func patch(ofResponse body: String) throws -> JSONValue {
        let review = try JSONValue.parse(Data(body.utf8))
        let b64 = try #require(review["response"]?["patch"]?.stringValue)
        return try JSONValue.parse(try #require(Data(base64Encoded: b64)))
    }
}

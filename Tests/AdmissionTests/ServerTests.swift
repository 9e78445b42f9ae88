import Foundation
import OutpostCore
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// `outpost agent serve` as a real process over real TLS, with curl and openssl s_client as clients.
@Suite(.serialized) struct ServerTests {
    @Test func servesMutationsHealthAndMetricsOverTLS() async throws {
        try await ServerHarness.withAgent("agent-tls") { service, port, dir in
            let base = "https://localhost:\(port)"
            let r = try ServerHarness.curl(base + "/mutate/pod", ca: dir + "/ca.crt", method: "POST", body: ServerHarness.podReview(containers: 2))
            #expect(r.status == 200, "\(r.body)")
            let review = try JSONValue.parse(Data(r.body.utf8))
            #expect(review["response"]?["uid"]?.stringValue == "u-1")
            #expect(review["response"]?["allowed"] == true)
            let patch = try ServerHarness.patch(ofResponse: r.body)
            #expect(patch.arrayValue?.contains(["op": "replace", "path": "/spec/containers/0/image",
                                                "value": "127.0.0.1:31999/library/nginx:1.0-zarf-3793515731"]) == true)
            let health = try ServerHarness.curl(base + "/healthz", ca: dir + "/ca.crt")
            #expect(health.status == 200 && health.body.hasPrefix("ok"))
            for hook in ["/mutate/flux-gitrepository", "/mutate/argocd-appproject"] {
                let review = #"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"x","operation":"CREATE","object":{"metadata":{},"spec":{}}}}"#
                #expect(try ServerHarness.curl(base + hook, ca: dir + "/ca.crt", method: "POST", body: review).status == 200)
            }
            let metrics = try ServerHarness.curl(base + "/metrics", ca: dir + "/ca.crt")
            #expect(metrics.status == 200)
            #expect(metrics.body.contains(#"outpost_agent_requests_total{route="/mutate/pod",code="200"} 1"#), "\(metrics.body)")
            #expect(metrics.body.contains(#"outpost_agent_requests_total{route="/healthz",code="200"} 1"#))
            #expect(metrics.body.contains(#"outpost_agent_request_duration_seconds_bucket{route="/mutate/pod",le="#))
            #expect(metrics.body.contains(#"outpost_agent_request_duration_seconds_count{route="/mutate/pod"} 1"#))
        }
    }

    @Test func tlsTwelveAndUpOnlyAndTheChainVerifies() async throws {
        try await ServerHarness.withAgent("agent-tlsver") { service, port, dir in
            func sClient(_ extra: [String]) throws -> ProcessResult {
                try ProcessRunner.run("openssl", ["s_client", "-connect", "127.0.0.1:\(port)", "-servername", "localhost",
                                                  "-CAfile", dir + "/ca.crt", "-verify_return_error"] + extra, stdin: Data("Q\n".utf8))
            }
            for version in ["-tls1_2", "-tls1_3"] {
                let r = try sClient([version])
                #expect(r.status == 0, "\(version): \(r.err)")
                #expect(r.out.contains("Verify return code: 0 (ok)"))
            }
            let old = try sClient(["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"])
            #expect(old.status != 0)
            #expect(old.out.contains("Cipher is (NONE)"))
            #expect(old.err.contains("alert protocol version"), "\(old.err)")
            // a client that does not trust the CA is refused by curl
            let untrusted = try ProcessRunner.run("curl", ["-sS", "https://localhost:\(port)/healthz"])
            #expect(untrusted.status == 60)
        }
    }

    @Test func badRequestsGetStatusesWithMessages() async throws {
        try await ServerHarness.withAgent("agent-bad") { service, port, dir in
            let url = "https://localhost:\(port)/mutate/pod"
            let ca = dir + "/ca.crt"
            let wrongType = try ServerHarness.curl(url, ca: ca, method: "POST", body: ServerHarness.podReview(), contentType: "text/plain")
            #expect(wrongType.status == 400 && wrongType.body.contains("Content-Type must be application/json"))
            let noType = try ServerHarness.curl(url, ca: ca, method: "POST", body: "{}", contentType: nil)
            #expect(noType.status == 400)
            let malformed = try ServerHarness.curl(url, ca: ca, method: "POST", body: "{\"apiVersion\": ")
            #expect(malformed.status == 400 && malformed.body.contains("malformed JSON"), "\(malformed.body)")
            let notReview = try ServerHarness.curl(url, ca: ca, method: "POST", body: #"{"kind":"Pod"}"#)
            #expect(notReview.status == 400 && notReview.body.contains("AdmissionReview"))
            let charset = try ServerHarness.curl(url, ca: ca, method: "POST", body: ServerHarness.podReview(), contentType: "application/json; charset=utf-8")
            #expect(charset.status == 200)

            let limit = 3 * 1024 * 1024
            let overhead = ServerHarness.podReview(annotationBytes: 1).utf8.count - 1
            let atLimit = ServerHarness.podReview(annotationBytes: limit - overhead)
            #expect(atLimit.utf8.count == limit)
            #expect(try ServerHarness.curl(url, ca: ca, method: "POST", body: atLimit).status == 200)
            let over = ServerHarness.podReview(annotationBytes: limit - overhead + 1)
            let tooBig = try ServerHarness.curl(url, ca: ca, method: "POST", body: over)
            #expect(tooBig.status == 413, "\(tooBig.body)")
            let chunked = try ServerHarness.curl(url, ca: ca, method: "POST", body: over, extra: ["-H", "Transfer-Encoding: chunked"])
            #expect(chunked.status == 413, "\(chunked.body)")
            // Expect: 100-continue is answered (curl waits 30 s for it here, past its 20 s limit): with 100 and
            // then 200 for a body within the limit, with 413 at once (the body unsent) for one over it.
            let expect = ["-H", "Expect: 100-continue", "--expect100-timeout", "30"]
            let continued = try ServerHarness.curl(url, ca: ca, method: "POST", body: atLimit, extra: expect)
            #expect(continued.status == 200, "curl exit \(continued.exitCode): \(continued.body.prefix(200))")
            let refusedEarly = try ServerHarness.curl(url, ca: ca, method: "POST", body: over, extra: expect)
            #expect(refusedEarly.status == 413, "curl exit \(refusedEarly.exitCode): \(refusedEarly.body.prefix(200))")
            #expect(try ServerHarness.curl("https://localhost:\(port)/mutate/unknown", ca: ca, method: "POST", body: "{}").status == 404)
            #expect(try ServerHarness.curl("https://localhost:\(port)/healthz", ca: ca).status == 200)
        }
    }

    /// HTTP/1.1 pipelining over one TLS connection (`ServerHarness.pipelined`): each request gets its own
    /// answer, in order, and the server closes after the last. (Answers that wait for a namespace lookup
    /// are pipelined in NamespaceLookupServerTests.)
    @Test func pipelinedRequestsOnOneConnectionAreAnsweredInOrder() async throws {
        try await ServerHarness.withAgent("agent-pipeline") { service, port, dir in
            let r = try ServerHarness.pipelined(port: port, dir: dir, first: ServerHarness.podReview(uid: "first"),
                                                second: ServerHarness.podReview(uid: "second", containers: 3))
            #expect(r.status == 0, "\(r.err)")
            let answers = ServerHarness.pipelinedAnswers(r.out)
            #expect(answers.statuses == ["200 OK", "200 OK", "200 OK"] && answers.inOrder, "\(r.out.prefix(600))")
            #expect(r.out.hasSuffix("ok\n"))
        }
    }

    /// HTTP framing the agent answers itself (it writes its responses without NIO's encoder): broken
    /// requests get 400 and a close, HTTP/1.0 keeps the connection only when asked, HEAD gets no body.
    @Test func httpFramingEdges() async throws {
        try await ServerHarness.withAgent("agent-framing") { service, port, dir in

            let broken = try ServerHarness.raw(port: port, dir: dir, request: "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n")
            #expect(broken.out.hasPrefix("HTTP/1.1 400 Bad Request\r\n") && broken.out.contains("connection: close")
                    && broken.out.contains("malformed HTTP request") && !broken.out.hasSuffix("TIMEOUT"), "\(broken.out)")

            // HTTP/1.0 asking for keep-alive: two answers on one connection, the second closes it.
            let http10 = try ServerHarness.raw(port: port, dir: dir, request:
                "GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /healthz HTTP/1.0\r\n\r\n")
            let answers = http10.out.components(separatedBy: "HTTP/1.0 200 OK\r\n")
            #expect(answers.count == 3 && answers[1].contains("connection: keep-alive") && answers[2].contains("connection: close")
                    && http10.out.hasSuffix("ok\n"), "\(http10.out)")

            let head = try ServerHarness.raw(port: port, dir: dir, request: "HEAD /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            #expect(head.out.hasPrefix("HTTP/1.1 200 OK\r\n") && head.out.contains("content-length: 3\r\n") && head.out.hasSuffix("\r\n\r\n"),
                    "\(head.out)")

            // A chunked body (no Content-Length) is read like any other.
            let review = ServerHarness.podReview(uid: "chunked")
            let chunked = "POST /mutate/pod HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                + String(review.utf8.count, radix: 16) + "\r\n" + review + "\r\n0\r\n\r\n"
            let answer = try ServerHarness.raw(port: port, dir: dir, request: chunked)
            #expect(answer.out.hasPrefix("HTTP/1.1 200 OK\r\n") && answer.out.contains(#""uid":"chunked""#), "\(answer.out.prefix(300))")
        }
    }

    /// A client that stops in the middle of a request (or an idle keep-alive connection) is closed after
    /// `--idle-timeout`; one that keeps talking is not.
    @Test func silentConnectionsAreClosedAfterTheIdleTimeout() async throws {
        try await ServerHarness.withAgent("agent-idle", extra: ["--idle-timeout", "1"]) { service, port, dir in
            let started = ContinuousClock.now
            let stalled = try ServerHarness.raw(port: port, dir: dir, request:
                "POST /mutate/pod HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
            let waited = ContinuousClock.now - started
            #expect(stalled.out.isEmpty, "\(stalled.out)")
            #expect(waited >= .milliseconds(900) && waited < .seconds(5), "closed after \(waited)")
            // Still serving: a request right after gets its answer.
            #expect(try ServerHarness.curl("https://localhost:\(port)/healthz", ca: dir + "/ca.crt").status == 200)
        }
    }

    /// Hundreds of broken bodies in one curl run; the server must answer each with 200/400/413 and stay up.
    @Test func malformedInputFuzzingNeverCrashesIt() async throws {
        try await ServerHarness.withAgent("agent-fuzz") { service, port, dir in
            var rng = SystemRandomNumberGenerator()
            let valid = Array(ServerHarness.podReview(containers: 3).utf8)
            var bodies: [[UInt8]] = []
            for _ in 0..<80 { bodies.append((0..<Int.random(in: 0...400, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }) }
            for _ in 0..<80 { bodies.append(Array(valid.prefix(Int.random(in: 0..<valid.count, using: &rng)))) }
            for _ in 0..<80 {
                var b = valid
                for _ in 0..<Int.random(in: 1...6, using: &rng) { b[Int.random(in: 0..<b.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
                bodies.append(b)
            }
            let head = #"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"f","operation":"CREATE","object":"#
            for object in [#"5"#, #"null"#, #"[]"#, #"{"spec":"x"}"#, #"{"spec":{"containers":"x"}}"#, #"{"spec":{"containers":[5]}}"#,
                           #"{"spec":{"containers":[{"image":7}]}}"#, #"{"metadata":{"labels":[1,2]},"spec":{"containers":[{"image":"nginx"}]}}"#,
                           #"{"metadata":5,"spec":{"containers":[{"image":"nginx"}]}}"#, #"{"spec":{"volumes":[{"image":{"reference":5}}]}}"#,
                           #"{"spec":{"containers":[{"name":"\u0000\ud800","image":"nginx:\u00e9"}]}}"#,
                           #"{"spec":{"containers":[{"name":"a","image":"\#(String(repeating: "a/", count: 5000))b"}]}}"#] {
                bodies.append(Array((head + object + "}}").utf8))
            }
            bodies.append(Array((String(repeating: "[", count: 200_000)).utf8))
            bodies.append(Array((String(repeating: "{\"a\":", count: 50_000)).utf8))
            bodies.append(Array(#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"n","operation":"CREATE","object":{"a":1e999999}}}"#.utf8))
            var config = ""
            let routes = ["/mutate/pod", "/mutate/flux-ocirepository", "/mutate/argocd-repository", "/mutate/argocd-application"]
            for (i, body) in bodies.enumerated() {
                try Data(body).write(to: URL(fileURLWithPath: "\(dir)/f\(i)"))
                if i > 0 { config += "next\n" }
                config += "url = \"https://localhost:\(port)\(routes[i % routes.count])\"\ncacert = \"\(dir)/ca.crt\"\n"
                config += "header = \"Content-Type: application/json\"\ndata-binary = \"@\(dir)/f\(i)\"\n"
                config += "output = \"/dev/null\"\nwrite-out = \"%{http_code}\\n\"\nsilent\nmax-time = 20\n"
            }
            try config.write(toFile: dir + "/curl.cfg", atomically: true, encoding: .utf8)
            let r = try ProcessRunner.run("curl", ["-K", dir + "/curl.cfg"])
            let codes = r.out.split(separator: "\n").map(String.init)
            #expect(codes.count == bodies.count, "curl: \(r.err)")
            #expect(codes.allSatisfy { ["200", "400", "413"].contains($0) }, "unexpected statuses: \(Set(codes))")
            #expect(service.process.isRunning, "server died: \(service.log)")
            #expect(try ServerHarness.curl("https://localhost:\(port)/healthz", ca: dir + "/ca.crt").status == 200)
        }
    }

    @Test func certificateAndStateRotationWhileServing() async throws {
        try await withTemporaryDirectory("agent-rotate") { dir in
            try ServerHarness.makeCertificates(in: dir)
            try ServerHarness.makeCertificates(in: dir, prefix: "new-")
            try ServerHarness.state(registry: "127.0.0.1:31999").write(toFile: dir + "/state.json", atomically: true, encoding: .utf8)
            let (service, port) = try await ServerHarness.start(dir: dir)
            defer { service.stop() }
            let url = "https://localhost:\(port)/mutate/pod"
            let before = try ServerHarness.curl(url, ca: dir + "/ca.crt", method: "POST", body: ServerHarness.podReview())
            #expect(try ServerHarness.patch(ofResponse: before.body).arrayValue?.contains { $0["value"]?.stringValue?.hasPrefix("127.0.0.1:31999/") == true } == true)

            // a broken update is ignored: the old certificate keeps serving
            try ServerHarness.replace(dir + "/tls.crt", with: Data("not a certificate".utf8))
            try await Task.sleep(for: .milliseconds(800))
            #expect(try ServerHarness.curl(url, ca: dir + "/ca.crt", method: "POST", body: ServerHarness.podReview()).status == 200)
            #expect(service.process.isRunning)

            // rotate to a certificate from another CA and a state with another registry
            try ServerHarness.replace(dir + "/tls.key", with: Data(contentsOf: URL(fileURLWithPath: dir + "/new-tls.key")))
            try ServerHarness.replace(dir + "/tls.crt", with: Data(contentsOf: URL(fileURLWithPath: dir + "/new-tls.crt")))
            try ServerHarness.replace(dir + "/state.json", with: Data(ServerHarness.state(registry: "10.0.0.7:5000").utf8))
            var rotated: ServerHarness.HTTPResult?
            for _ in 0..<50 {
                let r = try ServerHarness.curl(url, ca: dir + "/new-ca.crt", method: "POST", body: ServerHarness.podReview())
                if r.status == 200 { rotated = r; break }
                try await Task.sleep(for: .milliseconds(100))
            }
            let after = try #require(rotated, "the new certificate was never served: \(service.log)")
            #expect(try ServerHarness.patch(ofResponse: after.body).arrayValue?.contains { $0["value"]?.stringValue?.hasPrefix("10.0.0.7:5000/library/nginx:1.0-zarf-") == true } == true)
            let oldCA = try ServerHarness.curl(url, ca: dir + "/ca.crt", method: "POST", body: ServerHarness.podReview())
            #expect(oldCA.exitCode == 60, "the old CA should no longer verify the server")
        }
    }

    /// Slow uploads are in flight when SIGTERM arrives: every one is answered in full, then the server exits
    /// cleanly and no longer accepts connections.
    @Test func sigtermFinishesRequestsInFlight() async throws {
        try await ServerHarness.withAgent("agent-term") { service, port, dir in
            let count = 6
            var clients: [Process] = []
            for i in 0..<count {
                let body = ServerHarness.podReview(uid: "slow-\(i)", containers: 5, annotationBytes: 600_000)
                try body.write(toFile: "\(dir)/slow\(i).json", atomically: true, encoding: .utf8)
                let p = Process()
                p.executableURL = URL(fileURLWithPath: try #require(ProcessRunner.which("curl")))
                p.arguments = ["-sS", "--cacert", dir + "/ca.crt", "-H", "Content-Type: application/json", "--limit-rate", "400k",
                               "--data-binary", "@\(dir)/slow\(i).json", "-o", "\(dir)/out\(i).json", "-w", "%{http_code}",
                               "https://localhost:\(port)/mutate/pod"]
                _ = FileManager.default.createFile(atPath: "\(dir)/code\(i)", contents: nil)
                p.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: "\(dir)/code\(i)"))
                p.standardError = FileHandle.nullDevice
                try p.run()
                clients.append(p)
            }
            try await Task.sleep(for: .milliseconds(600))   // uploads take ~1.5 s at 400 KB/s
            kill(service.process.processIdentifier, SIGTERM)
            try await Task.sleep(for: .milliseconds(300))
            let refused = try ProcessRunner.run("curl", ["-sS", "--max-time", "5", "--cacert", dir + "/ca.crt", "https://localhost:\(port)/healthz"])
            #expect(refused.status == 7, "a new connection after SIGTERM should be refused, curl exit \(refused.status)")
            for p in clients { p.waitUntilExit() }
            for i in 0..<count {
                let code = try String(contentsOfFile: "\(dir)/code\(i)", encoding: .utf8)
                #expect(code == "200", "request \(i) got \(code)")
                let review = try JSONValue.parse(Data(contentsOf: URL(fileURLWithPath: "\(dir)/out\(i).json")))
                #expect(review["response"]?["uid"]?.stringValue == "slow-\(i)")
                #expect(review["response"]?["patch"] != nil)
            }
            service.process.waitUntilExit()
            #expect(service.process.terminationStatus == 0, "\(service.log)")
        }
    }
}

import Foundation
import Testing
import OutpostCore
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The injector's HTTP surface: exact headers and error bodies, read-only, and robust against bad or
/// slow clients while others are being served.
@Suite("Injector HTTP behaviour", .serialized)
struct InjectorHTTPTests {
    /// Runs `body` with a planned seed payload served by a running injector.
    func serving(chunkSize: Int64 = 786_432, _ body: (PlannedInjection, RunningInjector) async throws -> Void) async throws {
        try await withTemporaryDirectory("injector-http") { dir in
            let plan = try await planSeed(into: dir + "/plan", chunkSize: chunkSize)
            try await withInjector(chunks: plan.chunks, sha256: plan.result.payloadSHA256) { injector in
                try await body(plan, injector)
            }
        }
    }

    /// The manifest bytes, config and layer digests of the seed image, read from the fixture layout.
    func seedBlobs(_ plan: PlannedInjection) async throws -> (manifest: Data, config: String, layer: String, layerSize: Int) {
        let layout = try await InjectionFixtures.shared.seedLayout()
        let hex = String(plan.manifestDigest.dropFirst(7))
        let manifest = try Data(contentsOf: URL(fileURLWithPath: layout + "/blobs/sha256/" + hex))
        let json = try JSONValue.parse(manifest)
        let config = json["config"]?["digest"]?.stringValue ?? ""
        let layer = json["layers"]?[0]?["digest"]?.stringValue ?? ""
        let size = json["layers"]?[0]?["size"]?.intValue ?? 0
        return (manifest, config, layer, size)
    }

    @Test("/v2/, manifests and blobs carry the registry headers; HEAD matches GET without a body")
    func headers() async throws {
        try await serving { plan, injector in
            let seed = try await seedBlobs(plan)
            let base = try request(injector.port, "GET", "/v2/")
            #expect(base.status == 200)
            #expect(base.header("Docker-Distribution-Api-Version") == "registry/2.0")
            #expect(base.header("Content-Type") == "application/json")

            for path in ["/v2/library/registry/manifests/\(InjectionFixtures.seedTag)",
                         "/v2/library/registry/manifests/\(plan.manifestDigest)"] {
                let get = try request(injector.port, "GET", path)
                #expect(get.status == 200)
                #expect(get.body == seed.manifest)
                #expect(get.header("Content-Type") == "application/vnd.oci.image.manifest.v1+json")
                #expect(get.header("Docker-Content-Digest") == plan.manifestDigest)
                #expect(get.header("Content-Length") == String(seed.manifest.count))
                #expect(get.header("Docker-Distribution-Api-Version") == "registry/2.0")
                let head = try request(injector.port, "HEAD", path)
                #expect(head.status == 200)
                #expect(head.body.isEmpty)
                #expect(head.header("Content-Length") == String(seed.manifest.count))
                #expect(head.header("Docker-Content-Digest") == plan.manifestDigest)
            }

            let blob = try request(injector.port, "GET", "/v2/library/registry/blobs/\(seed.layer)")
            #expect(blob.status == 200)
            #expect(blob.header("Content-Type") == "application/octet-stream")
            #expect(blob.header("Docker-Content-Digest") == seed.layer)
            #expect(blob.body.count == seed.layerSize)
            #expect("sha256:" + (try sha256sumOf(blob.body)) == seed.layer)
            let head = try request(injector.port, "HEAD", "/v2/library/registry/blobs/\(seed.config)")
            #expect(head.status == 200 && head.body.isEmpty && head.header("Docker-Content-Digest") == seed.config)

            let tags = try request(injector.port, "GET", "/v2/library/registry/tags/list")
            #expect(tags.bodyText == #"{"name":"library/registry","tags":["\#(InjectionFixtures.seedTag)"]}"#)
        }
    }

    @Test("a byte range of a blob is served with 206 and Content-Range; an impossible one with 416")
    func ranges() async throws {
        try await serving { plan, injector in
            let seed = try await seedBlobs(plan)
            let full = try request(injector.port, "GET", "/v2/library/registry/blobs/\(seed.layer)")
            let part = try request(injector.port, "GET", "/v2/library/registry/blobs/\(seed.layer)",
                                   headers: ["Range: bytes=786000-786999"])
            #expect(part.status == 206)
            #expect(part.header("Content-Range") == "bytes 786000-786999/\(seed.layerSize)")
            #expect(part.body == full.body[786000...786999])
            let bad = try request(injector.port, "GET", "/v2/library/registry/blobs/\(seed.layer)",
                                  headers: ["Range: bytes=\(seed.layerSize + 10)-"])
            #expect(bad.status == 416)
            #expect(bad.header("Content-Range") == "bytes */\(seed.layerSize)")
        }
    }

    @Test("blobs straddling many small chunks are served intact")
    func straddlingChunks() async throws {
        try await serving(chunkSize: 64 * 1024 + 7) { plan, injector in
            #expect(plan.result.chunks.count > 100)
            let seed = try await seedBlobs(plan)
            for digest in [seed.config, seed.layer, plan.manifestDigest] {
                let r = try request(injector.port, "GET", "/v2/library/registry/blobs/\(digest)")
                #expect(r.status == 200)
                #expect("sha256:" + (try sha256sumOf(r.body)) == digest)
            }
        }
    }

    @Test("unknown names, tags and digests get 404 with an OCI error body; bad digests 400")
    func unknowns() async throws {
        try await serving { plan, injector in
            let zero = "sha256:" + String(repeating: "0", count: 64)
            let cases: [(String, Int, String)] = [
                ("/v2/library/nginx/manifests/latest", 404, "NAME_UNKNOWN"),
                ("/v2/library/nginx/blobs/\(zero)", 404, "NAME_UNKNOWN"),
                ("/v2/library/registry/manifests/no-such-tag", 404, "MANIFEST_UNKNOWN"),
                ("/v2/library/registry/manifests/\(zero)", 404, "MANIFEST_UNKNOWN"),
                ("/v2/library/registry/blobs/\(zero)", 404, "BLOB_UNKNOWN"),
                ("/v2/library/registry/blobs/sha256:xyz", 400, "DIGEST_INVALID"),
                ("/v2/library/registry/blobs/md5:abc", 404, "BLOB_UNKNOWN"),
            ]
            for (path, status, code) in cases {
                let r = try request(injector.port, "GET", path)
                #expect(r.status == status, "\(path)")
                #expect(r.header("Content-Type") == "application/json", "\(path)")
                let json = try JSONValue.parse(r.body)
                #expect(json["errors"]?[0]?["code"]?.stringValue == code, "\(path): \(r.bodyText)")
                #expect(r.header("Content-Length") == String(r.body.count))
            }
        }
    }

    @Test("every write method gets 405 with Allow: GET, HEAD")
    func writesRefused() async throws {
        try await serving { plan, injector in
            for method in ["PUT", "POST", "PATCH", "DELETE"] {
                for path in ["/v2/library/registry/manifests/\(InjectionFixtures.seedTag)", "/v2/library/registry/blobs/uploads/"] {
                    let r = try request(injector.port, method, path)
                    #expect(r.status == 405, "\(method) \(path)")
                    #expect(r.header("Allow") == "GET, HEAD")
                    #expect(try JSONValue.parse(r.body)["errors"]?[0]?["code"]?.stringValue == "UNSUPPORTED")
                }
            }
            // A push with a body still gets its answer, not a reset.
            let c = try RawConnection(port: injector.port)
            c.send("PUT /v2/library/registry/manifests/evil HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n" + String(repeating: "x", count: 5000))
            #expect(c.readResponse()?.status == 405)
            // Still serving the image unchanged.
            #expect(try request(injector.port, "GET", "/v2/library/registry/manifests/\(InjectionFixtures.seedTag)").header("Docker-Content-Digest") == plan.manifestDigest)
        }
    }

    @Test("path traversal attempts reach nothing outside the payload")
    func pathTraversal() async throws {
        try await serving { _, injector in
            for path in ["/v2/../../../../etc/passwd", "/v2/library/registry/blobs/../../../../etc/passwd",
                         "/v2/library/registry/manifests/../../../../../etc/passwd",
                         "/v2/..%2f..%2f..%2fetc%2fpasswd/manifests/latest", "/../../etc/passwd", "etc/passwd",
                         "/v2/library/registry/blobs/sha256:../../../../etc/passwd"] {
                let r = try request(injector.port, "GET", path)
                #expect([400, 404].contains(r.status), "\(path): \(r.status)")
                #expect(!r.bodyText.contains("root:"), "\(path)")
            }
        }
    }

    @Test("malformed requests get 400/431/505 and the server keeps serving")
    func malformedRequests() async throws {
        try await serving { plan, injector in
            let garbage = try RawConnection(port: injector.port)
            garbage.send("\u{1}\u{2}\u{3} nonsense\r\n\r\n")
            #expect(garbage.readResponse()?.status == 400)

            // A TLS ClientHello gets a plain-HTTP answer at once (clients try HTTPS first, then fall back).
            let tls = try RawConnection(port: injector.port, timeoutSeconds: 3)
            tls.send(Data([0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03]))
            #expect(tls.readResponse()?.status == 400, "a TLS hello must be answered, not left waiting")

            let version = try RawConnection(port: injector.port)
            version.send("GET /v2/ HTTP/2.0\r\n\r\n")
            #expect(version.readResponse()?.status == 505)

            let huge = try RawConnection(port: injector.port)
            huge.send("GET /v2/ HTTP/1.1\r\nHost: x\r\nX-Fill: " + String(repeating: "a", count: 20_000) + "\r\n\r\n")
            let r = huge.readResponse()
            #expect(r?.status == 431)
            #expect(r?.header("Connection") == "close")

            // Keep-alive with two pipelined requests on one connection.
            let pipelined = try RawConnection(port: injector.port)
            pipelined.send("GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\nHEAD /v2/library/registry/manifests/\(InjectionFixtures.seedTag) HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(pipelined.readResponse()?.status == 200)
            let second = pipelined.readResponse(head: true)
            #expect(second?.header("Docker-Content-Digest") == plan.manifestDigest)

            #expect(try request(injector.port, "GET", "/v2/").status == 200)
            #expect(injector.service.process.isRunning)
        }
    }

    @Test("a client sending one byte a second does not hold up others")
    func slowClient() async throws {
        try await serving { plan, injector in
            let seed = try await seedBlobs(plan)
            let slow = try RawConnection(port: injector.port)
            let slowRequest = Array("GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
            slow.send(Data(slowRequest[0..<1]))
            // While the slow client dribbles its request, full downloads by others complete.
            var sent = 1
            for _ in 0..<3 {
                let r = try request(injector.port, "GET", "/v2/library/registry/blobs/\(seed.layer)")
                #expect(r.status == 200 && r.body.count == seed.layerSize)
                try await Task.sleep(nanoseconds: 1_000_000_000)
                slow.send(Data(slowRequest[sent..<(sent + 1)]))
                sent += 1
            }
            slow.send(Data(slowRequest[sent...]))
            #expect(slow.readResponse()?.status == 200, "the slow client is answered once its request is complete")

            // A client that requests a blob and never reads it does not block others either.
            let stalled = try RawConnection(port: injector.port)
            stalled.send("GET /v2/library/registry/blobs/\(seed.layer) HTTP/1.1\r\nHost: x\r\n\r\n")
            let other = try request(injector.port, "GET", "/v2/library/registry/blobs/\(seed.layer)")
            #expect("sha256:" + (try sha256sumOf(other.body)) == seed.layer)
        }
    }

    @Test("many concurrent clients all get intact blobs")
    func concurrentClients() async throws {
        try await serving { plan, injector in
            let seed = try await seedBlobs(plan)
            let port = injector.port
            let layer = seed.layer
            // Real threads, so the 24 requests are truly in flight at once.
            let results = ResultBox()
            let group = DispatchGroup()
            for _ in 0..<24 {
                group.enter()
                let thread = Thread {
                    let digest = (try? request(port, "GET", "/v2/library/registry/blobs/\(layer)"))
                        .flatMap { try? sha256sumOf($0.body) }.map { "sha256:" + $0 } ?? "failed"
                    results.append(digest)
                    group.leave()
                }
                thread.start()
            }
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                group.notify(queue: .global()) { done.resume() }
            }
            let digests = results.values
            #expect(digests.count == 24)
            #expect(digests.allSatisfy { $0 == layer })
        }
    }
}

/// Collects results from several threads.
final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String] = []
    func append(_ s: String) { lock.lock(); items.append(s); lock.unlock() }
    var values: [String] { lock.lock(); defer { lock.unlock() }; return items }
}

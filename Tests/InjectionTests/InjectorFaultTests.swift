import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Damaged or incomplete payloads: the injector must refuse to serve (never listen), exit non-zero and
/// say why in one line.
@Suite("Injector refuses bad payloads")
struct InjectorFaultTests {
    /// Plans the seed payload, applies `damage` to the chunk directory, runs the injector, and checks it
    /// exits non-zero with one line containing `expected`, without ever answering on its port.
    func expectRefusal(_ label: String, expected: String, hash: ((String) -> String)? = nil,
                       environment: [String: String] = [:], damage: (String) throws -> Void) async throws {
        try await withTemporaryDirectory("injector-fault") { dir in
            let plan = try await planSeed(into: dir + "/plan")
            try damage(plan.chunks)
            let port = try freeLoopbackPort()
            let sha = hash?(plan.result.payloadSHA256) ?? plan.result.payloadSHA256
            let (status, log) = try await runInjectorExpectingExit(chunks: plan.chunks, arguments: [sha, "127.0.0.1:\(port)"],
                                                                   environment: environment)
            #expect(status != 0, "\(label): exit status")
            let lines = log.split(separator: "\n")
            #expect(lines.count == 1, "\(label): expected one line, got: \(log)")
            #expect(log.contains(expected), "\(label): \(log)")
            #expect(!log.contains("serving"), "\(label): must not serve")
        }
    }

    @Test("a flipped byte in one chunk is a hash mismatch")
    func flippedByte() async throws {
        try await expectRefusal("flipped byte", expected: "SHA-256 mismatch") { chunks in
            let path = chunks + "/zarf-payload-003"
            var data = try Data(contentsOf: URL(fileURLWithPath: path))
            data[12345] ^= 0x01
            try data.write(to: URL(fileURLWithPath: path))
        }
    }

    @Test("a missing chunk is named")
    func missingChunk() async throws {
        try await expectRefusal("missing chunk", expected: "zarf-payload-002 is missing") { chunks in
            try FileManager.default.removeItem(atPath: chunks + "/zarf-payload-002")
        }
    }

    @Test("a renamed chunk is reported as a stray file")
    func renamedChunk() async throws {
        try await expectRefusal("renamed chunk", expected: "unexpected file zarf-payload-001.old") { chunks in
            try FileManager.default.moveItem(atPath: chunks + "/zarf-payload-001", toPath: chunks + "/zarf-payload-001.old")
        }
    }

    @Test("an extra chunk after the last one is refused")
    func extraChunk() async throws {
        try await expectRefusal("extra chunk", expected: "only the last chunk may be shorter") { chunks in
            let names = try FileManager.default.contentsOfDirectory(atPath: chunks).sorted()
            let next = String(format: "zarf-payload-%03d", names.count)
            try FileManager.default.copyItem(atPath: chunks + "/zarf-payload-000", toPath: chunks + "/" + next)
        }
    }

    @Test("a truncated last chunk is a hash mismatch")
    func truncatedLastChunk() async throws {
        try await expectRefusal("truncated last chunk", expected: "SHA-256 mismatch") { chunks in
            let last = try FileManager.default.contentsOfDirectory(atPath: chunks).sorted().last!
            #expect(truncate(chunks + "/" + last, 1000) == 0)
        }
    }

    @Test("a truncated middle chunk is named")
    func truncatedMiddleChunk() async throws {
        try await expectRefusal("truncated middle chunk", expected: "chunk zarf-payload-004 is 4096 bytes") { chunks in
            #expect(truncate(chunks + "/zarf-payload-004", 4096) == 0)
        }
    }

    @Test("a wrong hash argument is a mismatch naming both hashes")
    func wrongHash() async throws {
        let wrong = String(repeating: "ab", count: 32)
        try await expectRefusal("wrong hash", expected: "expected \(wrong), computed", hash: { _ in wrong }) { _ in }
    }

    @Test("the portable SHA-256 (no CPU SHA extensions) verifies the same payload and rejects a damaged one")
    func portableHash() async throws {
        try await withTemporaryDirectory("injector-portable") { dir in
            let plan = try await planSeed(into: dir + "/plan")
            let env = ["OUTPOST_INJECTOR_PORTABLE_SHA256": "1"]
            try await withInjector(chunks: plan.chunks, sha256: plan.result.payloadSHA256, environment: env) { injector in
                #expect(injector.service.log.contains("sha256:\(plan.result.payloadSHA256)"))
            }
        }
        try await expectRefusal("portable, flipped byte", expected: "SHA-256 mismatch",
                                environment: ["OUTPOST_INJECTOR_PORTABLE_SHA256": "1"]) { chunks in
            let path = chunks + "/zarf-payload-000"
            var data = try Data(contentsOf: URL(fileURLWithPath: path))
            data[700] ^= 0x80
            try data.write(to: URL(fileURLWithPath: path))
        }
    }

    @Test("a malformed hash argument is a usage error")
    func malformedHash() async throws {
        try await withTemporaryDirectory("injector-usage") { dir in
            let plan = try await planSeed(into: dir + "/plan")
            let (status, log) = try await runInjectorExpectingExit(chunks: plan.chunks, arguments: ["not-a-hash"])
            #expect(status == 2)
            #expect(log.contains("is not 64 hex digits"))
        }
    }

    @Test("an empty payload directory is refused")
    func noChunks() async throws {
        try await withTemporaryDirectory("injector-empty") { dir in
            try FileManager.default.createDirectory(atPath: dir + "/chunks", withIntermediateDirectories: true)
            let (status, log) = try await runInjectorExpectingExit(chunks: dir + "/chunks",
                                                                   arguments: [String(repeating: "0", count: 64), "127.0.0.1:0"])
            #expect(status == 1)
            #expect(log.contains("no payload chunks"))
        }
    }

    @Test("chunks with the right hash but no OCI layout inside are a malformed payload")
    func notALayout() async throws {
        try await withTemporaryDirectory("injector-malformed") { dir in
            let chunks = dir + "/chunks"
            try FileManager.default.createDirectory(atPath: chunks, withIntermediateDirectories: true)
            let text = Data(String(repeating: "not a tar archive\n", count: 100).utf8)
            try text.write(to: URL(fileURLWithPath: chunks + "/zarf-payload-000"))
            let sha = try sha256sum(chunks + "/zarf-payload-000")
            let (status, log) = try await runInjectorExpectingExit(chunks: chunks, arguments: [sha, "127.0.0.1:0"])
            #expect(status == 1)
            #expect(log.contains("malformed payload: tar header at byte offset 0 has a bad checksum"))
        }
    }
}

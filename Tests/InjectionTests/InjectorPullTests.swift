import Foundation
import Testing
import OutpostCore
import TestSupport

/// Plan, then run: the planner writes the chunks, the injector serves them, and real clients pull the
/// seed image with the digests the layout holds.
@Suite("Injector serves real clients", .serialized)
struct InjectorPullTests {
    @Test("skopeo copies the seed image from the injector with the planned digests")
    func skopeoCopy() async throws {
        try await withTemporaryDirectory("injector-skopeo") { dir in
            let plan = try await planSeed(into: dir + "/plan")
            #expect(plan.result.chunks.count > 1, "the seed payload spans several chunks")
            try await withInjector(chunks: plan.chunks, sha256: plan.result.payloadSHA256) { injector in
                let src = "docker://\(injector.host)/library/registry:\(InjectionFixtures.seedTag)"
                let inspect = try ProcessRunner.run("skopeo", ["inspect", "--tls-verify=false", src], check: true)
                let info = try JSONValue.parse(Data(inspect.out.utf8))
                #expect(info["Digest"]?.stringValue == plan.manifestDigest)
                #expect(info["Architecture"]?.stringValue == "amd64")

                try ProcessRunner.run("skopeo", ["copy", "--src-tls-verify=false", src, "oci:\(dir)/copy:seed"], check: true)
                let index = try JSONValue.parse(try Data(contentsOf: URL(fileURLWithPath: dir + "/copy/index.json")))
                #expect(index["manifests"]?[0]?["digest"]?.stringValue == plan.manifestDigest)
                // Every blob skopeo stored hashes to its name (skopeo checked them too).
                let blobs = try FileManager.default.contentsOfDirectory(atPath: dir + "/copy/blobs/sha256")
                #expect(blobs.count == 3)
                for blob in blobs { #expect(try sha256sum(dir + "/copy/blobs/sha256/" + blob) == blob) }
                // By digest too.
                let byDigest = try ProcessRunner.run("skopeo", ["inspect", "--raw", "--tls-verify=false",
                    "docker://\(injector.host)/library/registry@\(plan.manifestDigest)"], check: true)
                #expect("sha256:" + (try sha256sumOf(byDigest.stdout)) == plan.manifestDigest)
            }
        }
    }

    @Test("containerd pulls and unpacks the seed image from the injector over plain HTTP")
    func containerdPull() async throws {
        try await withTemporaryDirectory("injector-ctr") { dir in
            let plan = try await planSeed(into: dir + "/plan")
            try await withInjector(chunks: plan.chunks, sha256: plan.result.payloadSHA256) { injector in
                try await withContainerd { containerd in
                    let ref = "\(injector.host)/library/registry:\(InjectionFixtures.seedTag)"
                    let pull = try containerd.pull(ref)
                    #expect(pull.status == 0, "ctr pull failed: \(pull.err)\(pull.out)")
                    #expect(try containerd.imageDigest(ref) == plan.manifestDigest)
                    // Unpacked for this platform: the snapshot of the image exists.
                    let check = try containerd.ctr(["images", "check"])
                    #expect(check.out.contains("complete"), "ctr images check: \(check.out)")
                }
            }
        }
    }

    @Test("the image pulled from the injector runs under podman and answers /v2/")
    func podmanRun() async throws {
        try await withTemporaryDirectory("injector-podman") { dir in
            let plan = try await planSeed(into: dir + "/plan")
            try await withInjector(chunks: plan.chunks, sha256: plan.result.payloadSHA256) { injector in
                try await withPodman(root: dir + "/podman") { podman in
                    let ref = "\(injector.host)/library/registry:\(InjectionFixtures.seedTag)"
                    try podman.run(["pull", "--tls-verify=false", ref], check: true)
                    let port = try freeLoopbackPort()
                    let name = "outpost-seed-\(port)"
                    let container = try podman.startContainer(name: name, ["--network=host",
                        "-e", "REGISTRY_HTTP_ADDR=127.0.0.1:\(port)", ref])
                    defer { podman.stopContainer(name, service: container) }
                    var status = ""
                    let deadline = Date().addingTimeInterval(60)
                    while Date() < deadline && container.process.isRunning {
                        status = (try? ProcessRunner.run("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}",
                                                                  "http://127.0.0.1:\(port)/v2/"]))?.out ?? ""
                        if status == "200" { break }
                        try await Task.sleep(nanoseconds: 100_000_000)
                    }
                    let logs = container.log
                    #expect(status == "200", "the seed registry did not answer: \(logs)")
                }
            }
        }
    }
}

func sha256sumOf(_ data: Data) throws -> String {
    let r = try ProcessRunner.run("sha256sum", ["-"], stdin: data, check: true)
    return String(r.out.prefix(64))
}

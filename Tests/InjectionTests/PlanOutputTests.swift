import Foundation
import Testing
import OCI
import OutpostCore
import TestSupport
@testable import Injection

/// The planner's output directory: payload, chunks and the Kubernetes objects Zarf uses, each valid for
/// Kubernetes 1.36 according to `kubernetes-validate --strict`.
@Suite("Init plan output")
struct PlanOutputTests {
    @Test("the chunks concatenate to the payload whose SHA-256 the pod passes to the injector")
    func chunksAndHash() async throws {
        try await withTemporaryDirectory("plan-chunks") { dir in
            let plan = try await planSeed(into: dir)
            let names = try FileManager.default.contentsOfDirectory(atPath: plan.chunks).sorted()
            #expect(names == plan.result.chunks)
            #expect(names.first == "zarf-payload-000")
            var all = Data()
            for (i, n) in names.enumerated() {
                let d = try Data(contentsOf: URL(fileURLWithPath: plan.chunks + "/" + n))
                if i < names.count - 1 { #expect(d.count == 786_432) }
                all.append(d)
            }
            #expect(Int64(all.count) == plan.result.payloadSize)
            #expect(try sha256sumOf(all) == plan.result.payloadSHA256)
            // No leftovers: the temporary payload tar is gone.
            #expect(!FileManager.default.fileExists(atPath: dir + "/.payload.tar"))

            // The payload is an OCI layout tar with the seed image annotated <path>:<tag> (read with GNU tar).
            try all.write(to: URL(fileURLWithPath: dir + "/payload.tar"))
            let list = try ProcessRunner.run("tar", ["-tf", dir + "/payload.tar"], check: true).out
            let entries = list.split(separator: "\n").map(String.init)
            #expect(entries.prefix(2) == ["oci-layout", "index.json"])
            #expect(entries.filter { $0.hasPrefix("blobs/sha256/") && $0.count == 77 }.count == 3)
            let index = try ProcessRunner.run("tar", ["-xOf", dir + "/payload.tar", "index.json"], check: true)
            let json = try JSONValue.parse(index.stdout)
            #expect(json["manifests"]?.arrayValue?.count == 1)
            #expect(json["manifests"]?[0]?["annotations"]?["org.opencontainers.image.base.name"]?.stringValue == "library/registry:2.8.2")
            #expect(json["manifests"]?[0]?["digest"]?.stringValue == plan.manifestDigest)
        }
    }

    @Test("planning twice gives the same payload bytes")
    func reproducible() async throws {
        try await withTemporaryDirectory("plan-repro") { dir in
            let a = try await planSeed(into: dir + "/a")
            let b = try await planSeed(into: dir + "/b")
            #expect(a.result.payloadSHA256 == b.result.payloadSHA256)
        }
    }

    @Test("every object validates with kubernetes-validate --strict for 1.36 and carries Zarf's names")
    func objectsValidate() async throws {
        try await withTemporaryDirectory("plan-objects") { dir in
            let plan = try await planSeed(into: dir)
            #expect(plan.result.manifests.first == "manifests/00-configmap-rust-binary.json")
            #expect(plan.result.manifests.count == plan.result.chunks.count + 3)
            for rel in plan.result.manifests {
                let r = try ProcessRunner.run("kubernetes-validate", ["--strict", "-k", "1.36.0", dir + "/" + rel])
                #expect(r.status == 0, "\(rel): \(r.out)\(r.err)")
            }
            let cm = try JSONValue.parse(Data(contentsOf: URL(fileURLWithPath: dir + "/manifests/10-configmap-zarf-payload-001.json")))
            #expect(cm["metadata"]?["namespace"]?.stringValue == "zarf")
            #expect(cm["metadata"]?["labels"]?["zarf-injector"]?.stringValue == "payload")
            #expect(cm["metadata"]?["labels"]?["zarf.dev/package"]?.stringValue == "init")
            let chunk = try Data(contentsOf: URL(fileURLWithPath: plan.chunks + "/zarf-payload-001"))
            #expect(cm["binaryData"]?["zarf-payload-001"]?.stringValue == chunk.base64EncodedString())

            let bin = try JSONValue.parse(Data(contentsOf: URL(fileURLWithPath: dir + "/manifests/00-configmap-rust-binary.json")))
            let injector = try Data(contentsOf: URL(fileURLWithPath: try await InjectionFixtures.shared.injectorBinary()))
            #expect(bin["metadata"]?["name"]?.stringValue == "rust-binary")
            #expect(bin["binaryData"]?["zarf-injector"]?.stringValue == injector.base64EncodedString())

            let pod = try JSONValue.parse(Data(contentsOf: URL(fileURLWithPath: dir + "/manifests/30-pod-injector.json")))
            #expect(pod["metadata"]?["name"]?.stringValue == "injector")
            #expect(pod["metadata"]?["labels"]?["app"]?.stringValue == "zarf-injector")
            #expect(pod["metadata"]?["labels"]?["zarf.dev/agent"]?.stringValue == "ignore")
            let spec = pod["spec"]
            #expect(spec?["restartPolicy"]?.stringValue == "Never")
            let c = spec?["containers"]?[0]
            #expect(c?["command"] == ["/zarf-init/zarf-injector", .string(plan.result.payloadSHA256), "0.0.0.0:5000"])
            #expect(c?["readinessProbe"]?["httpGet"]?["path"]?.stringValue == "/v2/")
            #expect(c?["resources"]?["requests"]?["cpu"]?.stringValue == "500m")
            #expect(c?["resources"]?["requests"]?["memory"]?.stringValue == "64Mi")
            let mounts = c?["volumeMounts"]?.arrayValue ?? []
            #expect(mounts.contains(["name": "zarf-payload-000", "mountPath": "/zarf-init/zarf-payload-000", "subPath": "zarf-payload-000"]))
            #expect(mounts.contains(["name": "init", "mountPath": "/zarf-init/zarf-injector", "subPath": "zarf-injector"]))
            #expect(mounts.count == plan.result.chunks.count + 2)
            #expect(spec?["nodeName"] == nil, "no node list was given")

            let svc = try JSONValue.parse(Data(contentsOf: URL(fileURLWithPath: dir + "/manifests/20-service-zarf-injector.json")))
            #expect(svc["spec"]?["type"]?.stringValue == "NodePort")
            #expect(svc["spec"]?["ports"]?[0]?["port"]?.intValue == 5000)
            #expect(svc["spec"]?["selector"]?["app"]?.stringValue == "zarf-injector")
        }
    }

    @Test("with node and pod lists the pod is pinned to the chosen node and image")
    func pinned() async throws {
        try await withTemporaryDirectory("plan-pinned") { dir in
            let layout = try await InjectionFixtures.shared.seedLayout()
            let binary = try await InjectionFixtures.shared.injectorBinary()
            let nodes = PlacementTests.list([PlacementTests.node("worker-1")])
            let pods = PlacementTests.list([PlacementTests.pod("proxy", node: "worker-1", image: "registry.k8s.io/pause:3.10")])
            let request = InitPlanRequest(packageName: "init", architecture: "amd64",
                                          seedImages: [try ImageReference(parsing: "registry:2.8.2")],
                                          injectorBinary: binary, nodes: nodes, pods: pods)
            let result = try InitPlanner.plan(request, store: try LayoutStore(path: layout, create: false), outputDirectory: dir)
            #expect(result.placement?.nodeName == "worker-1")
            let pod = try JSONValue.parse(Data(contentsOf: URL(fileURLWithPath: dir + "/manifests/30-pod-injector.json")))
            #expect(pod["spec"]?["nodeName"]?.stringValue == "worker-1")
            #expect(pod["spec"]?["containers"]?[0]?["image"]?.stringValue == "registry.k8s.io/pause:3.10")
            let r = try ProcessRunner.run("kubernetes-validate", ["--strict", "-k", "1.36.0", dir + "/manifests/30-pod-injector.json"])
            #expect(r.status == 0, "\(r.out)")
        }
    }

    @Test("a seed image the package does not hold is an error listing what it has")
    func missingSeed() async throws {
        try await withTemporaryDirectory("plan-missing") { dir in
            let layout = try await InjectionFixtures.shared.seedLayout()
            let binary = try await InjectionFixtures.shared.injectorBinary()
            let request = InitPlanRequest(packageName: "init", architecture: "amd64",
                                          seedImages: [try ImageReference(parsing: "registry:3.0.0")], injectorBinary: binary)
            #expect(throws: InjectionError.seedImageMissing("docker.io/library/registry:3.0.0",
                                                            available: ["docker.io/library/registry:2.8.2"])) {
                try InitPlanner.plan(request, store: try LayoutStore(path: layout, create: false), outputDirectory: dir)
            }
            #expect((try? FileManager.default.contentsOfDirectory(atPath: dir + "/chunks"))?.isEmpty ?? true)
        }
    }
}

@Suite("Injector binary")
struct InjectorBinaryTests {
    @Test("the injector is a static linux/amd64 executable under 1 MiB")
    func size() async throws {
        let path = try await InjectionFixtures.shared.injectorBinary()
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        let size = (attributes[.size] as? NSNumber)?.intValue ?? Int.max
        #expect(size < 1 << 20, "outpost-injector is \(size) bytes")
        // ELF64, x86-64, and no PT_INTERP program header: static, runs in any image.
        let elf = try Data(contentsOf: URL(fileURLWithPath: path))
        func u16(_ o: Int) -> Int { Int(elf[o]) | Int(elf[o + 1]) << 8 }
        func u32(_ o: Int) -> Int { u16(o) | u16(o + 2) << 16 }
        #expect(elf.prefix(4) == Data([0x7f, 0x45, 0x4c, 0x46]) && elf[4] == 2)
        #expect(u16(0x12) == 0x3e, "e_machine is x86-64")
        let phoff = u32(0x20), phentsize = u16(0x36), phnum = u16(0x38)
        let types = (0..<phnum).map { u32(phoff + $0 * phentsize) }
        #expect(!types.contains(3), "the injector must not need a dynamic loader")
        let help = try ProcessRunner.run(path, ["--help"])
        #expect(help.status == 0 && help.out.contains("usage: outpost-injector <sha256hex> [listen-address]"))
    }
}

@Suite("outpost init plan")
struct InitPlanCommandTests {
    /// The `outpost` executable `swift build` made.
    func outpost() throws -> String {
        let path = repositoryRoot() + "/.build/debug/outpost"
        guard FileManager.default.isExecutableFile(atPath: path) else { throw POSIXError(.ENOENT) }
        return path
    }

    @Test("writes chunks, manifests and plan.json and reports them as JSON")
    func plans() async throws {
        let layout = try await InjectionFixtures.shared.seedLayout()
        let binary = try await InjectionFixtures.shared.injectorBinary()
        try await withTemporaryDirectory("cli-plan") { dir in
            let r = try ProcessRunner.run(try outpost(), ["init", "plan", layout, "--output-dir", dir + "/out",
                                                          "--injector", binary, "--output", "json"])
            #expect(r.status == 0, "\(r.err)")
            let json = try JSONValue.parse(r.stdout)
            let chunks = json["chunks"]?.arrayValue?.compactMap(\.stringValue) ?? []
            #expect(!chunks.isEmpty)
            var all = Data()
            for c in chunks { all.append(try Data(contentsOf: URL(fileURLWithPath: dir + "/out/chunks/" + c))) }
            #expect(try sha256sumOf(all) == json["payloadSHA256"]?.stringValue)
            #expect(FileManager.default.fileExists(atPath: dir + "/out/plan.json"))
            #expect(FileManager.default.fileExists(atPath: dir + "/out/manifests/30-pod-injector.json"))
        }
    }

    @Test("a missing seed image or half a node/pod pair is a one-line error and a non-zero exit")
    func errors() async throws {
        let layout = try await InjectionFixtures.shared.seedLayout()
        try await withTemporaryDirectory("cli-plan-bad") { dir in
            let missing = try ProcessRunner.run(try outpost(), ["init", "plan", layout, "--output-dir", dir,
                                                                "--seed-image", "registry:9.9.9"])
            #expect(missing.status != 0)
            #expect(missing.err.contains("seed image docker.io/library/registry:9.9.9 is not in the package's images"))
            let half = try ProcessRunner.run(try outpost(), ["init", "plan", layout, "--output-dir", dir, "--nodes", "n.json"])
            #expect(half.status != 0)
            #expect(half.err.contains("--nodes and --pods go together"))
        }
    }
}

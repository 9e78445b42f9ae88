import Foundation
import Testing
import TestSupport

/// `outpost package create` end to end against Debian's docker-registry, with the results checked by
/// independent tools (zstd, tar, sha256sum, skopeo).
@Suite(.serialized) struct CreateFromRegistryTests {
    static let epoch = ["SOURCE_DATE_EPOCH": "1700000000"]

    /// Writes a definition with `images` and a manifest + file component into `dir`.
    static func writeDefinition(_ dir: String, name: String = "demo", images: [String], extra: String = "") throws {
        try FileManager.default.createDirectory(atPath: dir + "/manifests", withIntermediateDirectories: true)
        try "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: hello\ndata:\n  a: b\n"
            .write(toFile: dir + "/manifests/cm.yaml", atomically: true, encoding: .utf8)
        try "hello\n".write(toFile: dir + "/motd.txt", atomically: true, encoding: .utf8)
        let imageLines = images.map { "      - \($0)" }.joined(separator: "\n")
        let yaml = """
        kind: ZarfPackageConfig
        metadata:
          name: \(name)
          version: 1.0.0
          architecture: amd64
        components:
          - name: app
            required: true
            images:
        \(imageLines)
            manifests:
              - name: hello
                namespace: demo
                files: [manifests/cm.yaml]
            files:
              - source: motd.txt
                target: /etc/motd
        \(extra)
        """
        try yaml.write(toFile: dir + "/zarf.yaml", atomically: true, encoding: .utf8)
    }

    @Test func createsAPackageThatIndependentToolsAccept() async throws {
        try await withTemporaryDirectory { work in
            try await withDockerRegistry { registry in
                try ScriptImages.push(to: registry, repository: "team/app", tag: "1.0", layerSizes: [300_000, 50_000, 10], workDirectory: work)
                try ScriptImages.push(to: registry, repository: "team/sidecar", tag: "2.1", layerSizes: [120_000], workDirectory: work)
                let def = work + "/def"
                try Self.writeDefinition(def, images: ["\(registry.host)/team/app:1.0", "\(registry.host)/team/sidecar:2.1"])
                let r = try Outpost.run(["package", "create", def, "-o", work + "/out"], environment: Self.epoch)
                #expect(r.status == 0, "\(r.err)")
                let pkg = work + "/out/zarf-package-demo-amd64-1.0.0.tar.zst"
                #expect(FileManager.default.fileExists(atPath: pkg))

                // zstd and tar read it; entries are the Zarf layout, sorted.
                try ProcessRunner.run("zstd", ["-t", "-q", pkg], check: true)
                let list = try ProcessRunner.run("tar", ["-I", "zstd", "-tf", pkg], check: true).out
                    .split(separator: "\n").map(String.init)
                #expect(list.contains("zarf.yaml") && list.contains("checksums.txt") && list.contains("components/app.tar"))
                #expect(list.contains("images/index.json") && list.contains("images/oci-layout"))
                let top = list.filter { !$0.contains("/") || $0.hasSuffix("/") }
                #expect(top == top.sorted())

                let x = work + "/x"
                try FileManager.default.createDirectory(atPath: x, withIntermediateDirectories: true)
                try ProcessRunner.run("tar", ["-I", "zstd", "-xf", pkg, "-C", x], check: true)
                // sha256sum agrees with every line of checksums.txt (one space: convert to sha256sum's two).
                let sums = try String(contentsOfFile: x + "/checksums.txt", encoding: .utf8)
                let twoSpace = sums.split(separator: "\n").map { $0.replacingOccurrences(of: " ", with: "  ") }.joined(separator: "\n") + "\n"
                let check = try ProcessRunner.run("sha256sum", ["-c", "--quiet", "-"], stdin: Data(twoSpace.utf8), cwd: x)
                #expect(check.status == 0, "\(check.out)\(check.err)")
                // The aggregate checksum in zarf.yaml is the SHA-256 of checksums.txt.
                let agg = try ProcessRunner.run("sha256sum", [x + "/checksums.txt"], check: true).out.prefix(64)
                let zarfYAML = try String(contentsOfFile: x + "/zarf.yaml", encoding: .utf8)
                #expect(zarfYAML.contains("aggregateChecksum: \(agg)"))
                // The component tar holds the manifest and the file under the component's name.
                let comp = try ProcessRunner.run("tar", ["-tf", x + "/components/app.tar"], check: true).out
                #expect(comp.contains("app/manifests/hello-0.yaml"))
                #expect(comp.contains("app/files/0/motd"))
                // skopeo reads the images from the OCI layout, and copies one back into a registry.
                let index = try String(contentsOfFile: x + "/images/index.json", encoding: .utf8)
                #expect(index.contains("\"org.opencontainers.image.base.name\":\"\(registry.host)/team/app:1.0\""))
                let inspect = try ProcessRunner.run("skopeo", ["inspect", "oci:\(x)/images:\(registry.host)/team/app:1.0"])
                #expect(inspect.status == 0, "\(inspect.err)")
                #expect(inspect.out.contains("\"Architecture\": \"amd64\""))
                let copy = try ProcessRunner.run("skopeo", ["copy", "-q", "--dest-tls-verify=false",
                    "oci:\(x)/images:\(registry.host)/team/sidecar:2.1", "docker://\(registry.host)/copied/sidecar:2.1"])
                #expect(copy.status == 0, "\(copy.err)")

                // Reproducible: a second create (fsynced this time) gives identical bytes.
                let r2 = try Outpost.run(["package", "create", def, "-o", work + "/out2", "--sync"], environment: Self.epoch)
                #expect(r2.status == 0, "\(r2.err)")
                let a = try Data(contentsOf: URL(fileURLWithPath: pkg))
                let b = try Data(contentsOf: URL(fileURLWithPath: work + "/out2/zarf-package-demo-amd64-1.0.0.tar.zst"))
                #expect(a == b)

                // verify accepts it; inspect --output json lists both images with digests.
                let v = try Outpost.run(["package", "verify", pkg])
                #expect(v.status == 0, "\(v.err)")
                let i = try Outpost.run(["package", "inspect", pkg, "--output", "json"])
                #expect(i.status == 0, "\(i.err)")
                #expect(i.out.contains("team/app:1.0") && i.out.contains("team/sidecar:2.1") && i.out.contains("sha256:"))
            }
        }
    }

    @Test func registryOverrideAndBasicAuthFromDockerConfig() async throws {
        try await withTemporaryDirectory { work in
            try await withDockerRegistry(auth: true) { registry in
                try ScriptImages.push(to: registry, repository: "library/nginx", tag: "1.25", layerSizes: [40_000], workDirectory: work)
                let def = work + "/def"
                try Self.writeDefinition(def, images: ["nginx:1.25"])
                let config = try registry.writeDockerConfig()
                // Without credentials: a clear error naming the registry, no package left behind.
                try Data("{}".utf8).write(to: URL(fileURLWithPath: work + "/none.json"))
                let denied = try Outpost.run(["package", "create", def, "-o", work + "/out",
                                              "--registry-override", "docker.io=\(registry.host)", "--registry-config", work + "/none.json"])
                #expect(denied.status != 0)
                #expect(denied.err.contains(registry.host) || denied.err.lowercased().contains("unauthorized"))
                #expect(try FileManager.default.contentsOfDirectory(atPath: work + "/out").filter { !$0.hasPrefix(".") }.isEmpty)
                #expect(try FileManager.default.contentsOfDirectory(atPath: work + "/out").isEmpty, "staging left behind")
                let ok = try Outpost.run(["package", "create", def, "-o", work + "/out",
                                          "--registry-override", "docker.io=\(registry.host)", "--registry-config", config])
                #expect(ok.status == 0, "\(ok.err)")
                let x = work + "/x"
                try FileManager.default.createDirectory(atPath: x, withIntermediateDirectories: true)
                try ProcessRunner.run("tar", ["-I", "zstd", "-xf", work + "/out/zarf-package-demo-amd64-1.0.0.tar.zst", "-C", x], check: true)
                let index = try String(contentsOfFile: x + "/images/index.json", encoding: .utf8)
                // The package records the original name, not the mirror it was pulled from.
                #expect(index.contains("docker.io/library/nginx:1.25"))
                #expect(!index.contains(registry.host))
            }
        }
    }

    @Test func unknownTagAndUnreachableRegistryFailCleanly() async throws {
        try await withTemporaryDirectory { work in
            try await withDockerRegistry { registry in
                let def = work + "/def"
                try Self.writeDefinition(def, images: ["\(registry.host)/nothing/here:1.0"])
                let r = try Outpost.run(["package", "create", def, "-o", work + "/out"])
                #expect(r.status != 0)
                #expect(r.err.contains("nothing/here"))
                let port = try freeLoopbackPort()
                try Self.writeDefinition(def, images: ["127.0.0.1:\(port)/x/y:1"])
                let r2 = try Outpost.run(["package", "create", def, "-o", work + "/out"])
                #expect(r2.status != 0)
                #expect(r2.err.contains("127.0.0.1:\(port)"))
                let left = (try? FileManager.default.contentsOfDirectory(atPath: work + "/out")) ?? []
                #expect(left.isEmpty, "left behind: \(left)")
            }
        }
    }

    /// The archive is written while blobs download: a blob that arrives corrupt (a byte flipped in the
    /// registry's own storage) must fail create with the digest named, wake the waiting writer, and leave
    /// nothing behind.
    @Test func corruptBlobFailsCreateWhileWriting() async throws {
        try await withTemporaryDirectory { work in
            try await withDockerRegistry { registry in
                try ScriptImages.push(to: registry, repository: "bad/blob", tag: "1", layerSizes: [300_000, 400_000], workDirectory: work)
                try ScriptImages.push(to: registry, repository: "good/one", tag: "1", layerSizes: [200_000], workDirectory: work)
                // The largest blob in the registry's storage is a layer of bad/blob.
                let blobs = registry.root + "/data/docker/registry/v2/blobs/sha256"
                var largest = (path: "", size: 0)
                for prefix in try FileManager.default.contentsOfDirectory(atPath: blobs) {
                    for hex in try FileManager.default.contentsOfDirectory(atPath: blobs + "/" + prefix) {
                        let data = blobs + "/\(prefix)/\(hex)/data"
                        let size = (try FileManager.default.attributesOfItem(atPath: data)[.size] as? Int) ?? 0
                        if size > largest.size { largest = (data, size) }
                    }
                }
                try Fixtures.flipByte(largest.path, at: largest.size / 2)
                let digest = URL(fileURLWithPath: largest.path).deletingLastPathComponent().lastPathComponent
                let def = work + "/def"
                try Self.writeDefinition(def, images: ["\(registry.host)/good/one:1", "\(registry.host)/bad/blob:1"])
                let r = try Outpost.run(["package", "create", def, "-o", work + "/out"])
                #expect(r.status != 0)
                #expect(r.err.contains(digest), "\(r.err)")
                let left = (try? FileManager.default.contentsOfDirectory(atPath: work + "/out")) ?? []
                #expect(left.isEmpty, "left behind: \(left)")
            }
        }
    }

    @Test func signedSplitPackageVerifiesAndReassembles() async throws {
        try await withTemporaryDirectory { work in
            try await withDockerRegistry { registry in
                try ScriptImages.push(to: registry, repository: "big/image", tag: "1", layerSizes: [2_500_000], workDirectory: work)
                let def = work + "/def"
                try Self.writeDefinition(def, images: ["\(registry.host)/big/image:1"])
                let keys = try Outpost.run(["keys", "generate", "-o", work + "/k"])
                #expect(keys.status == 0, "\(keys.err)")
                let r = try Outpost.run(["package", "create", def, "-o", work + "/out", "--signing-key", work + "/k.key",
                                         "--max-package-size", "1"])
                #expect(r.status == 0, "\(r.err)")
                let files = try FileManager.default.contentsOfDirectory(atPath: work + "/out").sorted()
                #expect(files.contains("zarf-package-demo-amd64-1.0.0.tar.zst.part000"))
                #expect(files.contains("zarf-package-demo-amd64-1.0.0.tar.zst.part003"))
                let part0 = work + "/out/zarf-package-demo-amd64-1.0.0.tar.zst.part000"
                let v = try Outpost.run(["package", "verify", part0, "--key", work + "/k.pub"])
                #expect(v.status == 0, "\(v.err)")
                // Another key is refused.
                _ = try Outpost.run(["keys", "generate", "-o", work + "/other"])
                let wrong = try Outpost.run(["package", "verify", part0, "--key", work + "/other.pub"])
                #expect(wrong.status != 0)
                // The parts concatenated are a valid zstd tar whose size part000 records.
                let meta = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: part0))) as? [String: Any]
                let count = meta?["Count"] as? Int ?? 0
                var whole = Data()
                for i in 1...count {
                    whole.append(try Data(contentsOf: URL(fileURLWithPath: String(format: "%@/out/zarf-package-demo-amd64-1.0.0.tar.zst.part%03d", work, i))))
                }
                #expect(whole.count == meta?["Bytes"] as? Int)
                try whole.write(to: URL(fileURLWithPath: work + "/whole.tar.zst"))
                try ProcessRunner.run("zstd", ["-t", "-q", work + "/whole.tar.zst"], check: true)
            }
        }
    }
}

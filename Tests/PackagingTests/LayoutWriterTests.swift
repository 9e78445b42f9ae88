import Foundation
import Packaging
import Testing
import TestSupport

@Suite("package layout writer: Zarf's archive, checked with tar, zstd and sha256sum")
struct LayoutWriterTests {
    @Test("archive layout: sorted entries, component tars, checksums.txt, aggregate checksum")
    func layout() async throws {
        try await withTemporaryDirectory { root in
            let def = try Fixtures.resolved(in: root)
            let staging = try Fixtures.staging(in: root)
            let out = root + "/out"
            let url = try PackageWriter.write(staging: staging, definition: def, outputDirectory: out)
            #expect(url.lastPathComponent == "zarf-package-demo-amd64-1.0.0.tar.zst")
            #expect(Fixtures.listing(out) == ["zarf-package-demo-amd64-1.0.0.tar.zst"])  // nothing else left behind

            // zstd can test it; tar lists it in sorted order.
            try ProcessRunner.run("zstd", ["-t", "-q", url.path], check: true)
            let list = try ProcessRunner.run("tar", ["--zstd", "-tvf", url.path], check: true)
            let names = list.out.split(separator: "\n").map { String($0.split(separator: " ", omittingEmptySubsequences: true).last!) }
            #expect(names == names.sorted())
            #expect(names.first == "checksums.txt")
            #expect(names.contains("components/web.tar"))
            #expect(names.contains("components/extra.tar"))
            #expect(names.contains("images/oci-layout"))
            #expect(names.contains("images/index.json"))
            #expect(!names.contains { $0.contains(".index.lock") })
            #expect(names.last == "zarf.yaml")
            #expect(list.out.split(separator: "\n").allSatisfy { $0.contains("0/0") && $0.contains("1970-01-01") })

            // Extract with tar and check checksums.txt with sha256sum -c.
            let x = root + "/x"
            try FileManager.default.createDirectory(atPath: x, withIntermediateDirectories: true)
            try ProcessRunner.run("tar", ["--zstd", "-xf", url.path, "-C", x], check: true)
            let checksums = try String(contentsOfFile: x + "/checksums.txt", encoding: .utf8)
            let lines = checksums.split(separator: "\n", omittingEmptySubsequences: false)
            #expect(checksums.hasSuffix("\n"))
            #expect(lines.dropLast().map(String.init) == lines.dropLast().map(String.init).sorted())
            #expect(!checksums.contains(" zarf.yaml") && !checksums.contains(" checksums.txt"))
            // sha256sum wants two spaces; Zarf writes one: convert and check every file.
            let sumInput = lines.filter { !$0.isEmpty }.map { $0.replacingOccurrences(of: " ", with: "  ") }.joined(separator: "\n") + "\n"
            let sum = try ProcessRunner.run("sha256sum", ["-c", "--strict", "-"], stdin: Data(sumInput.utf8), cwd: x)
            #expect(sum.status == 0, "\(sum.err)\(sum.out)")
            #expect(sum.out.split(separator: "\n").count == lines.count - 1)
            // Every file except zarf.yaml and checksums.txt is listed.
            let all = Fixtures.listing(x).filter { !FileManager.default.isDirectory($0, in: x) }
            #expect(Set(all.filter { $0 != "zarf.yaml" && $0 != "checksums.txt" }) == Set(lines.filter { !$0.isEmpty }.map { String($0.split(separator: " ")[1]) }))

            // The aggregate checksum in zarf.yaml is the SHA-256 of checksums.txt.
            let agg = try ProcessRunner.run("sha256sum", [x + "/checksums.txt"], check: true).out.prefix(64)
            let zarf = try String(contentsOfFile: x + "/zarf.yaml", encoding: .utf8)
            #expect(zarf.contains("aggregateChecksum: \(agg)"))
            #expect(zarf.contains("timestamp: Tue, 14 Nov 2023 22:13:20 +0000"))

            // Component tars: entries prefixed with the component name, sorted, zero mtimes, uid 0.
            let web = try ProcessRunner.run("tar", ["-tvf", x + "/components/web.tar"], check: true).out
            let webNames = web.split(separator: "\n").map { String($0.split(separator: " ").last!) }
            #expect(webNames == ["web/", "web/manifests/", "web/manifests/web-0.yaml"])
            #expect(web.split(separator: "\n").allSatisfy { $0.contains("0/0") && $0.contains("1970-01-01") })
        }
    }

    @Test("reproducible: two writes from the same inputs give identical bytes, fsynced or not")
    func reproducible() async throws {
        try await withTemporaryDirectory { root in
            let staging = try Fixtures.staging(in: root, layerSize: 3_000_000)
            let a = try PackageWriter.write(staging: staging, definition: try Fixtures.resolved(in: root), outputDirectory: root + "/a")
            let b = try PackageWriter.write(staging: staging, definition: try Fixtures.resolved(in: root), outputDirectory: root + "/b",
                                            options: PackageWriteOptions(syncToDisk: true))
            #expect(try Data(contentsOf: a) == Data(contentsOf: b))
        }
    }

    @Test("metadata.uncompressed gives a plain .tar")
    func uncompressed() async throws {
        try await withTemporaryDirectory { root in
            let yaml = Fixtures.basicYAML.replacingOccurrences(of: "  version: 1.0.0\n", with: "  version: 1.0.0\n  uncompressed: true\n")
            let url = try PackageWriter.write(staging: try Fixtures.staging(in: root), definition: try Fixtures.resolved(in: root, yaml: yaml),
                                              outputDirectory: root + "/out")
            #expect(url.lastPathComponent == "zarf-package-demo-amd64-1.0.0.tar")
            let r = try ProcessRunner.run("tar", ["-tf", url.path], check: true)
            #expect(r.out.contains("zarf.yaml"))
            #expect(try PackageReader.verify(path: url.path).package.metadata?.name == "demo")
        }
    }

    @Test("init package file name and split parts with a .part000 record")
    func initAndSplit() async throws {
        try await withTemporaryDirectory { root in
            let yaml = "kind: ZarfInitConfig\nmetadata:\n  name: init\ncomponents:\n  - name: web\n  - name: extra\n"
            let def = try Fixtures.resolved(in: root, yaml: yaml)
            #expect(def.fileName == "zarf-init-amd64-v0.1.0.tar.zst")
            let staging = try Fixtures.staging(in: root, layerSize: 2_500_000)
            let url = try PackageWriter.write(staging: staging, definition: def, outputDirectory: root + "/out",
                                              options: PackageWriteOptions(maxPackageSizeMB: 1, syncToDisk: true))
            #expect(url.lastPathComponent == "zarf-init-amd64-v0.1.0.tar.zst.part000")
            let files = Fixtures.listing(root + "/out")
            #expect(files.first == "zarf-init-amd64-v0.1.0.tar.zst.part000")
            #expect(files.count >= 4)
            #expect(!files.contains("zarf-init-amd64-v0.1.0.tar.zst"))
            let record = try JSONDecoder().decode(SplitPackage.Record.self, from: Data(contentsOf: url))
            #expect(record.Count == files.count - 1)
            let json = try String(contentsOf: url, encoding: .utf8)
            #expect(json.hasPrefix("{\"Sha256Sum\":\"") && json.contains("\",\"Bytes\":") && json.hasSuffix(",\"Count\":\(record.Count)}"))
            // Each data part is at most 1 MB; cat of the parts is the whole package with that hash.
            let parts = files.dropFirst().map { root + "/out/" + $0 }
            #expect(parts.dropLast().allSatisfy { (try? FileManager.default.attributesOfItem(atPath: $0)[.size] as? Int) == 1_000_000 })
            let whole = root + "/whole.tar.zst"
            try ProcessRunner.run("sh", ["-c", "cat \(parts.joined(separator: " ")) > \(whole)"], check: true)
            let sha = try ProcessRunner.run("sha256sum", [whole], check: true).out.prefix(64)
            #expect(String(sha) == record.Sha256Sum)
            try ProcessRunner.run("zstd", ["-t", "-q", whole], check: true)
            // And Outpost reads the split package in place.
            let c = try PackageReader.verify(path: url.path)
            #expect(c.split?.Count == record.Count)
            #expect(c.package.kind == .initConfig)
            // A limit above the package size writes one whole file, replacing the stale parts.
            let whole2 = try PackageWriter.write(staging: staging, definition: def, outputDirectory: root + "/out",
                                                 options: PackageWriteOptions(maxPackageSizeMB: 100))
            #expect(whole2.lastPathComponent == "zarf-init-amd64-v0.1.0.tar.zst")
            #expect(Fixtures.listing(root + "/out") == ["zarf-init-amd64-v0.1.0.tar.zst"])
            #expect(try Data(contentsOf: whole2) == Data(contentsOf: URL(fileURLWithPath: whole)))
        }
    }

    @Test("bad staging: a symlink or an unknown entry fails with nothing written")
    func badStaging() async throws {
        try await withTemporaryDirectory { root in
            let staging = try Fixtures.staging(in: root)
            try FileManager.default.createSymbolicLink(atPath: staging + "/components/web/link", withDestinationPath: "/etc/passwd")
            let out = root + "/out"
            #expect(throws: PackagingError.self) {
                try PackageWriter.write(staging: staging, definition: try Fixtures.resolved(in: root), outputDirectory: out)
            }
            #expect(Fixtures.listing(out).isEmpty)
            try FileManager.default.removeItem(atPath: staging + "/components/web/link")
            try FileManager.default.createDirectory(atPath: staging + "/components/ghost", withIntermediateDirectories: true)
            try Data("x".utf8).write(to: URL(fileURLWithPath: staging + "/components/ghost/x"))
            #expect(throws: PackagingError.self) {
                try PackageWriter.write(staging: staging, definition: try Fixtures.resolved(in: root), outputDirectory: out)
            }
            #expect(Fixtures.listing(out).isEmpty)
        }
    }
}

extension FileManager {
    func isDirectory(_ rel: String, in root: String) -> Bool {
        var d: ObjCBool = false
        return fileExists(atPath: root + "/" + rel, isDirectory: &d) && d.boolValue
    }
}

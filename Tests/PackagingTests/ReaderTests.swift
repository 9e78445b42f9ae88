import Archiving
import Foundation
import Packaging
import Testing
import TestSupport

/// Finds the data offset of `name` in a plain tar file (ustar headers, pax headers skipped).
func tarDataOffset(_ path: String, entry name: String) throws -> Int? {
    let d = try Data(contentsOf: URL(fileURLWithPath: path))
    var off = 0
    while off + 512 <= d.count {
        let header = d[off..<(off + 512)]
        if header.allSatisfy({ $0 == 0 }) { return nil }
        let n = String(decoding: header.prefix(100).prefix { $0 != 0 }, as: UTF8.self)
        let sizeText = String(decoding: header.dropFirst(124).prefix(12).prefix { $0 != 0 && $0 != 0x20 }, as: UTF8.self)
        let size = Int(sizeText, radix: 8) ?? 0
        let type = header[header.startIndex + 156]
        if type != UInt8(ascii: "x") && type != UInt8(ascii: "g") && n == name { return off + 512 }
        off += 512 + ((size + 511) / 512) * 512
    }
    return nil
}

@Suite("package reader: streaming verification with Zarf's loader checks")
struct ReaderTests {
    /// An uncompressed package (so single bytes of single entries can be flipped).
    static func plainPackage(in root: String, sign key: String? = nil) throws -> String {
        let yaml = Fixtures.basicYAML.replacingOccurrences(of: "  version: 1.0.0\n", with: "  version: 1.0.0\n  uncompressed: true\n")
        return try PackageWriter.write(staging: try Fixtures.staging(in: root), definition: try Fixtures.resolved(in: root, yaml: yaml),
                                       outputDirectory: root + "/out", options: PackageWriteOptions(signingKeyPath: key)).path
    }

    func expectError(_ path: String, key: String? = nil, _ check: (PackagingError) -> Bool) {
        do {
            _ = try PackageReader.verify(path: path, publicKeyPath: key)
            Issue.record("verify accepted a damaged package")
        } catch let e as PackagingError {
            #expect(check(e), "unexpected error: \(e)")
        } catch {
            Issue.record("not a PackagingError: \(error)")
        }
    }

    @Test("a valid package verifies and inspects: images with digests and sizes")
    func validPackage() async throws {
        try await withTemporaryDirectory { root in
            let pkg = try Self.plainPackage(in: root)
            let c = try PackageReader.verify(path: pkg)
            #expect(c.integrityError == nil)
            let info = PackageInspection(c)
            #expect(info.name == "demo")
            #expect(info.checksums.state == "valid")
            #expect(info.images.count == 1)
            #expect(info.images[0].reference == "docker.io/library/alpine:3.20")
            #expect(info.images[0].digest.hasPrefix("sha256:"))
            // manifest + config + 200,000 + 66,666 bytes of layers
            #expect(info.images[0].size > 266_666)
            #expect(info.components.map(\.name) == ["web", "extra"])
            #expect(info.signature.state == "unsigned")
        }
    }

    @Test("a byte flipped in each kind of entry is caught, naming the entry")
    func flippedBytes() async throws {
        try await withTemporaryDirectory { root in
            let pkg = try Self.plainPackage(in: root)
            let good = try Data(contentsOf: URL(fileURLWithPath: pkg))
            let c = try PackageReader.verify(path: pkg)
            let blob = try #require(c.entries.first { $0.name.hasPrefix("images/blobs/sha256/") && $0.size > 1000 }).name
            for entry in ["checksums.txt", "components/web.tar", blob, "images/index.json"] {
                try good.write(to: URL(fileURLWithPath: pkg))
                let off = try #require(try tarDataOffset(pkg, entry: entry), "\(entry) not found")
                try Fixtures.flipByte(pkg, at: off + 3)
                expectError(pkg) { e in
                    if case .checksumMismatch(let name, _, _) = e { return name == entry }
                    return false
                }
            }
            // zarf.yaml: a flipped byte in the aggregate checksum no longer matches checksums.txt.
            try good.write(to: URL(fileURLWithPath: pkg))
            let yamlOff = try #require(try tarDataOffset(pkg, entry: "zarf.yaml"))
            let yamlText = String(decoding: good[yamlOff..<min(good.count, yamlOff + 4000)], as: UTF8.self)
            let aggIndex = yamlText.utf8.distance(from: yamlText.startIndex, to: yamlText.range(of: "aggregateChecksum: ")!.upperBound)
            try Fixtures.flipByte(pkg, at: yamlOff + aggIndex + 5)
            expectError(pkg) { e in
                if case .checksumMismatch(let name, _, _) = e { return name == "checksums.txt" }
                return false
            }
        }
    }

    @Test("a compressed package with a flipped byte or cut short fails clearly")
    func compressedDamage() async throws {
        try await withTemporaryDirectory { root in
            let pkg = try PackageWriter.write(staging: try Fixtures.staging(in: root), definition: try Fixtures.resolved(in: root),
                                              outputDirectory: root + "/out").path
            let good = try Data(contentsOf: URL(fileURLWithPath: pkg))
            try Fixtures.flipByte(pkg, at: good.count / 2)
            expectError(pkg) { _ in true }
            try good.prefix(good.count / 2).write(to: URL(fileURLWithPath: pkg))
            expectError(pkg) { e in "\(e)".contains("truncated") }
            // A plain tar cut short inside an entry is truncated too.
            let plain = try Self.plainPackage(in: root + "/p")
            let pd = try Data(contentsOf: URL(fileURLWithPath: plain))
            try pd.write(to: URL(fileURLWithPath: plain + ".orig"))
            try pd.prefix(pd.count / 2 + 100).write(to: URL(fileURLWithPath: plain))
            expectError(plain) { e in
                if case .truncated = e { return true }
                return false
            }
            // Cut at an entry boundary (no end-of-archive marker): zarf.yaml, the last entry, is missing.
            let boundary = try #require(try tarDataOffset(plain + ".orig", entry: "zarf.yaml")) - 512
            try pd.prefix(boundary).write(to: URL(fileURLWithPath: plain))
            expectError(plain) { e in "\(e)".contains("no zarf.yaml") }
        }
    }

    @Test("a file not listed in checksums.txt, or listed but missing, is an error")
    func unlistedAndMissing() async throws {
        try await withTemporaryDirectory { root in
            let pkg = try Self.plainPackage(in: root)
            let x = root + "/x"
            try FileManager.default.createDirectory(atPath: x, withIntermediateDirectories: true)
            try ProcessRunner.run("tar", ["-xf", pkg, "-C", x], check: true)
            try Data("sneaky".utf8).write(to: URL(fileURLWithPath: x + "/images/extra.bin"))
            let extra = root + "/extra.tar"
            try ProcessRunner.run("tar", ["-cf", extra, "-C", x, "."], check: true)
            expectError(extra) { $0 == .unlistedEntry("images/extra.bin") }
            try FileManager.default.removeItem(atPath: x + "/images/extra.bin")
            try FileManager.default.removeItem(atPath: x + "/components/extra.tar")
            let missing = root + "/missing.tar"
            try ProcessRunner.run("tar", ["-cf", missing, "-C", x, "."], check: true)
            expectError(missing) { $0 == .missingEntry("components/extra.tar") }
        }
    }

    @Test("unsafe names: .. or absolute entries, and .. chart names in zarf.yaml")
    func unsafeNames() async throws {
        try await withTemporaryDirectory { root in
            let evil = root + "/evil.tar"
            let w = try TarWriter(path: evil, zstd: false)
            try w.addFile("zarf.yaml", data: Data("kind: ZarfPackageConfig\n".utf8))
            try w.addFile("../evil", data: Data("x".utf8))
            try w.close()
            expectError(evil) { e in if case .unsafeName(let n, _) = e { return n.contains("..") }; return false }

            var pkg = try Fixtures.resolved(in: root).package
            var chart = try JSONDecoder().decode(ZarfChart.self, from: Data(#"{"name":"..","localPath":"c"}"#.utf8))
            chart.version = "1.0"
            pkg.components[0].charts = [chart]
            let out = try PackageWriter.write(staging: try Fixtures.staging(in: root), package: pkg, outputDirectory: root + "/out")
            expectError(out.path) { e in if case .unsafeName("..", let ctx) = e { return ctx.contains("charts[0].name") }; return false }
        }
    }

    @Test("split packages: a missing part or a part with the wrong hash is refused")
    func splitDamage() async throws {
        try await withTemporaryDirectory { root in
            let url = try PackageWriter.write(staging: try Fixtures.staging(in: root, layerSize: 2_500_000), definition: try Fixtures.resolved(in: root),
                                              outputDirectory: root + "/out", options: PackageWriteOptions(maxPackageSizeMB: 1))
            let part1 = String(url.path.dropLast(3)) + "001"
            let part2 = String(url.path.dropLast(3)) + "002"
            let saved = try Data(contentsOf: URL(fileURLWithPath: part2))
            try FileManager.default.removeItem(atPath: part2)
            expectError(url.path) { e in if case .splitPackage(let p, let m) = e { return p == part2 && m.contains("missing") }; return false }
            try saved.write(to: URL(fileURLWithPath: part2))
            try Fixtures.flipByte(part1, at: 1000)
            expectError(url.path) { e in if case .splitPackage(_, let m) = e { return m.contains("SHA-256") }; return false }
        }
    }
}

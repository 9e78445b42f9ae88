import Foundation
import OCI
import Registry
import Testing
import TestSupport

/// Images from `docker save` archives and OCI layout directories, checked with skopeo.
@Suite struct ImportTests {
    @Test func importsLegacyDockerSaveArchiveMatchingSkopeo() async throws {
        try await withTemporaryDirectory { dir in
            let image = try TestImages.makeImage(in: dir + "/src", tag: "v1", layerSizes: [3000, 120_000, 10])
            let archive = dir + "/app.tar"
            try TestImages.makeDockerArchive(image, path: archive, repoTag: "example.com/team/app:1.0")
            let store = try LayoutStore(path: dir + "/store")
            let ref = try ImageReference(parsing: "example.com/team/app:1.0")
            let result = try testClient().importDockerArchive(path: archive, images: [ref], into: store)
            let d = try #require(result[ref])
            #expect(d.mediaType == MediaType.ociManifest)
            try expectComplete(d, in: store)

            // Same config and same (uncompressed) layers as skopeo reads from the archive.
            let skopeoView = try skopeoInspect(["--raw", "docker-archive:\(archive)"])
            guard case .manifest(let ours) = try ManifestDocument.parse(try store.readBlob(d.digest), mediaType: d.mediaType, context: "t") else {
                Issue.record("not a manifest"); return
            }
            let theirConfig = (skopeoView["config"] as? [String: Any])?["digest"] as? String
            let theirLayers = (skopeoView["layers"] as? [[String: Any]])?.compactMap { $0["digest"] as? String }
            #expect(ours.config.digest.description == theirConfig)
            #expect(ours.layers.map(\.digest.description) == theirLayers)
            #expect(ours.layers.allSatisfy { $0.mediaType == MediaType.ociLayer })
            #expect(try skopeoInspect(["docker-archive:\(archive)"])["Layers"] as? [String] == theirLayers)

            // The result is a valid OCI image for skopeo too.
            try name(d, "app", in: store)
            let fromStore = try skopeoInspect(["oci:\(store.path):app"])
            #expect(fromStore["Layers"] as? [String] == theirLayers)
            #expect(fromStore["Architecture"] as? String == "amd64")
        }
    }

    @Test func importsDocker25OCIStyleArchiveKeepingItsManifest() async throws {
        try await withTemporaryDirectory { dir in
            let archive = dir + "/new.tar"
            let inside = try TestImages.makeOCIDockerArchive(path: archive, repoTag: "docker.io/library/app:2.0")
            let store = try LayoutStore(path: dir + "/store")
            let all = try testClient().importDockerArchive(path: archive, images: nil, into: store)
            let d = try #require(all[try ImageReference(parsing: "app:2.0")])
            #expect(d.digest.description == inside.digest)
            try expectComplete(d, in: store)
            #expect(try skopeoInspect(["docker-archive:\(archive)"])["Layers"] as? [String] == inside.layerDigests)
        }
    }

    @Test func archiveErrorsNameTheProblem() async throws {
        try await withTemporaryDirectory { dir in
            let image = try TestImages.makeImage(in: dir + "/src", tag: "v1", layerSizes: [50_000])
            let archive = dir + "/app.tar"
            try TestImages.makeDockerArchive(image, path: archive, repoTag: "example.com/app:1.0")
            let store = try LayoutStore(path: dir + "/store")

            let missing = #expect(throws: RegistryError.self) {
                _ = try testClient().importDockerArchive(path: archive, images: [try ImageReference(parsing: "example.com/app:2.0")], into: store)
            }
            #expect(missing?.description.contains("example.com/app:2.0") == true)
            #expect(missing?.description.contains("example.com/app:1.0") == true)

            // Flip a byte inside the layer: the layer no longer matches the config's diff_id.
            let unpacked = dir + "/unpacked"
            try FileManager.default.createDirectory(atPath: unpacked, withIntermediateDirectories: true)
            try ProcessRunner.run("tar", ["-C", unpacked, "-xf", archive], check: true)
            let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: unpacked + "/manifest.json"))) as! [[String: Any]]
            let layerPath = unpacked + "/" + ((manifest[0]["Layers"] as! [String])[0])
            var bytes = try Data(contentsOf: URL(fileURLWithPath: layerPath))
            bytes[1000] ^= 0x01
            try bytes.write(to: URL(fileURLWithPath: layerPath))
            let damaged = dir + "/damaged.tar"
            let entries = try FileManager.default.contentsOfDirectory(atPath: unpacked)
            try ProcessRunner.run("tar", ["-C", unpacked, "-cf", damaged] + entries, check: true)
            let e = #expect(throws: RegistryError.self) {
                _ = try testClient().importDockerArchive(path: damaged, images: nil, into: store)
            }
            #expect(e?.description.contains("diff_id") == true)
            #expect(e?.description.contains(damaged) == true)

            let notAnArchive = dir + "/plain.txt"
            try Data("hello".utf8).write(to: URL(fileURLWithPath: notAnArchive))
            #expect(throws: RegistryError.self) { _ = try testClient().importDockerArchive(path: notAnArchive, images: nil, into: store) }
            #expect(try strayFiles(in: store).isEmpty)
        }
    }

    @Test func importsSelectedImagesFromAnOCILayout() async throws {
        try await withTemporaryDirectory { dir in
            let layout = dir + "/layout"
            let one = try TestImages.makeImage(in: layout, tag: "1.0", layerSizes: [700, 9000])
            let two = try TestImages.makeImage(in: layout, tag: "2.0", layerSizes: [800])
            let multi = try TestImages.makeMultiArchImage(in: layout, tag: "multi")
            let store = try LayoutStore(path: dir + "/store")
            let client = testClient()
            let wantOne = try ImageReference(parsing: "example.com/app:1.0")
            let wantMulti = try ImageReference(parsing: "example.com/app:multi")
            let result = try client.importOCILayout(path: layout, images: [wantOne, wantMulti], platform: arm64, into: store)
            #expect(result[wantOne]?.digest.description == one.digest)
            let armChild = try #require(multi.children.first { $0.platform == "linux/arm64" }?.image)
            #expect(result[wantMulti]?.digest.description == armChild.digest)
            for layer in two.layerDigests { #expect(!store.hasBlob(try Digest(layer)), "unselected image copied") }
            try expectComplete(try #require(result[wantOne]), in: store)
            try name(try #require(result[wantOne]), "one", in: store)
            #expect(try skopeoInspect(["oci:\(store.path):one"])["Layers"] as? [String] == one.layerDigests)

            // A digest-pinned index stays whole.
            let pinned = try ImageReference(parsing: "example.com/app@\(multi.digest)")
            let whole = try client.importOCILayout(path: layout, images: [pinned], platform: arm64, into: store)
            #expect(whole[pinned]?.digest.description == multi.digest)
            try expectComplete(try #require(whole[pinned]), in: store)

            let e = #expect(throws: RegistryError.self) {
                _ = try client.importOCILayout(path: layout, images: [try ImageReference(parsing: "example.com/app:9.9")], into: store)
            }
            #expect(e?.description.contains("1.0") == true)

            // A corrupted blob in the source layout is refused and not copied.
            let victim = two.layerDigests[0]
            let victimPath = layout + "/blobs/sha256/" + victim.dropFirst(7)
            var bytes = try Data(contentsOf: URL(fileURLWithPath: victimPath))
            bytes[bytes.count - 1] ^= 0x55
            try bytes.write(to: URL(fileURLWithPath: victimPath))
            #expect(throws: RegistryError.self) {
                _ = try client.importOCILayout(path: layout, images: [try ImageReference(parsing: "example.com/app:2.0")], into: store)
            }
            #expect(!store.hasBlob(try Digest(victim)))
            #expect(try strayFiles(in: store).isEmpty)
        }
    }
}

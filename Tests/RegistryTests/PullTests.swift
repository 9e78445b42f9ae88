import Foundation
import OCI
import Registry
import Testing
import TestSupport

/// Pulls from Debian's docker-registry seeded with skopeo, checked against skopeo's own reading.
@Suite struct PullTests {
    @Test func pullsSingleImageWithEveryBlobVerified() async throws {
        try await withDockerRegistry { registry in
            try await withTemporaryDirectory { dir in
                let image = try TestImages.makeImage(in: dir + "/src", tag: "v1", layerSizes: [10, 300_000, 2_500_000])
                let pushed = try TestImages.push(image, to: registry, repository: "test/app")
                let store = try LayoutStore(path: dir + "/store")
                let ref = try ImageReference(parsing: pushed)
                let d = try await testClient().pullImage(ref, platform: amd64, into: store)
                #expect(d.digest.description == image.digest)
                #expect(d.mediaType == MediaType.ociManifest)
                #expect(d.size == Int64(image.size))
                try expectComplete(d, in: store)
                for layer in image.layerDigests { #expect(store.hasBlob(try Digest(layer))) }
                #expect(try strayFiles(in: store).isEmpty)
                // skopeo reads the result as an OCI layout and sees the same image.
                try name(d, "app-v1", in: store)
                let inspected = try skopeoInspect(["oci:\(store.path):app-v1"])
                #expect(inspected["Digest"] as? String == image.digest)
                #expect(inspected["Layers"] as? [String] == image.layerDigests)
            }
        }
    }

    @Test func tagOfMultiArchIndexPullsOnlyThePlatformsManifest() async throws {
        try await withDockerRegistry { registry in
            try await withTemporaryDirectory { dir in
                let image = try TestImages.makeMultiArchImage(in: dir + "/src", tag: "multi")
                let pushed = try TestImages.push(image, to: registry, repository: "test/multi")
                let store = try LayoutStore(path: dir + "/store")
                let d = try await testClient().pullImage(try ImageReference(parsing: pushed), platform: arm64, into: store)
                let armChild = try #require(image.children.first { $0.platform == "linux/arm64" }?.image)
                let amdChild = try #require(image.children.first { $0.platform == "linux/amd64" }?.image)
                #expect(d.digest.description == armChild.digest)
                try expectComplete(d, in: store)
                #expect(!store.hasBlob(try Digest(image.digest)), "the index itself is not kept for a tag")
                for layer in amdChild.layerDigests { #expect(!store.hasBlob(try Digest(layer)), "amd64 layer pulled for arm64") }

                let noSuch = Platform(architecture: "s390x")
                let e = await #expect(throws: RegistryError.self) {
                    _ = try await testClient().pullImage(try ImageReference(parsing: pushed), platform: noSuch, into: store)
                }
                #expect(e?.description.contains("linux/s390x") == true)
                #expect(e?.description.contains("linux/amd64") == true)
            }
        }
    }

    @Test func digestPinnedIndexIsKeptWhole() async throws {
        try await withDockerRegistry { registry in
            try await withTemporaryDirectory { dir in
                let image = try TestImages.makeMultiArchImage(in: dir + "/src", tag: "multi", format: .docker)
                let pushed = try TestImages.push(image, to: registry, repository: "test/pinned")
                let ref = try ImageReference(parsing: pushed + "@" + image.digest)
                let store = try LayoutStore(path: dir + "/store")
                let d = try await testClient().pullImage(ref, platform: amd64, into: store)
                #expect(d.digest.description == image.digest)
                #expect(d.mediaType == MediaType.dockerManifestList)
                try expectComplete(d, in: store)
                for blob in image.allBlobDigests { #expect(store.hasBlob(try Digest(blob))) }
                // skopeo agrees on the stored list's digest (its oci: reader takes only OCI media types).
                let stored = try ProcessRunner.run("skopeo", ["manifest-digest", store.blobPath(d.digest)], check: true)
                #expect(stored.out.trimmingCharacters(in: .whitespacesAndNewlines) == image.digest)
                guard case .index(let list) = try ManifestDocument.parse(try store.readBlob(d.digest), mediaType: d.mediaType, context: "t") else {
                    Issue.record("not an index"); return
                }
                #expect(Set(list.manifests.map(\.digest.description)) == Set(image.children.map(\.image.digest)))
            }
        }
    }

    @Test func pullsDockerSchema2ImageKeepingItsMediaTypes() async throws {
        try await withDockerRegistry { registry in
            try await withTemporaryDirectory { dir in
                let image = try TestImages.makeImage(in: dir + "/src", tag: "d2", layerSizes: [5000, 70_000], format: .docker)
                let pushed = try TestImages.push(image, to: registry, repository: "test/docker")
                let store = try LayoutStore(path: dir + "/store")
                let d = try await testClient().pullImage(try ImageReference(parsing: pushed), platform: amd64, into: store)
                #expect(d.mediaType == MediaType.dockerManifest)
                #expect(d.digest.description == image.digest)
                let m = try ManifestDocument.parse(try store.readBlob(d.digest), mediaType: d.mediaType, context: "t")
                guard case .manifest(let manifest) = m else { Issue.record("not a manifest"); return }
                #expect(manifest.layers.allSatisfy { $0.mediaType == MediaType.dockerLayerGzip })
                #expect(manifest.config.mediaType == MediaType.dockerConfig)
                try expectComplete(d, in: store)
            }
        }
    }

    @Test func pullsManyImagesConcurrentlyIntoOneStore() async throws {
        try await withDockerRegistry { registry in
            try await withTemporaryDirectory { dir in
                var expected: [ImageReference: String] = [:]
                for i in 0..<5 {
                    let image = try TestImages.makeImage(in: dir + "/src", tag: "t\(i)", layerSizes: [1000 * (i + 1), 50_000])
                    expected[try ImageReference(parsing: try TestImages.push(image, to: registry, repository: "many/img\(i)"))] = image.digest
                }
                let store = try LayoutStore(path: dir + "/store")
                let client = RegistryClient(configuration: RegistryConfiguration(dockerConfigPath: emptyDockerConfigPath,
                                                                                maxConcurrentBlobs: 2, maxConcurrentImages: 2))
                let result = try await client.pullImages(Array(expected.keys), platform: amd64, into: store)
                #expect(result.count == 5)
                for (ref, digest) in expected {
                    let d = try #require(result[ref])
                    #expect(d.digest.description == digest)
                    try expectComplete(d, in: store)
                }
            }
        }
    }

    @Test func unknownTagAndRepositoryNameTheImage() async throws {
        try await withDockerRegistry { registry in
            try await withTemporaryDirectory { dir in
                let image = try TestImages.makeImage(in: dir + "/src", tag: "v1", layerSizes: [100])
                try TestImages.push(image, to: registry, repository: "test/app")
                let store = try LayoutStore(path: dir + "/store")
                for text in ["\(registry.host)/test/app:nope", "\(registry.host)/no/such:v1"] {
                    let e = await #expect(throws: RegistryError.self) {
                        _ = try await testClient().pullImage(try ImageReference(parsing: text), platform: amd64, into: store)
                    }
                    guard case .imageNotFound = e else { Issue.record("expected imageNotFound, got \(String(describing: e))"); continue }
                    #expect(e?.description.hasPrefix("image \(text) not found") == true, "\(String(describing: e))")
                }
                #expect(try store.allBlobs().isEmpty)
            }
        }
    }

    @Test func unreachableRegistrySaysSo() async throws {
        try await withTemporaryDirectory { dir in
            let port = try freeLoopbackPort()
            let store = try LayoutStore(path: dir + "/store")
            let e = await #expect(throws: RegistryError.self) {
                _ = try await testClient(retries: 1).pullImage(try ImageReference(parsing: "127.0.0.1:\(port)/x/y:1"), platform: amd64, into: store)
            }
            #expect(e?.description == "cannot reach 127.0.0.1:\(port): connection refused")
        }
    }

    @Test func tamperedBlobIsRefusedAndLeavesNothing() async throws {
        try await withDockerRegistry { registry in
            try await withTemporaryDirectory { dir in
                let image = try TestImages.makeImage(in: dir + "/src", tag: "v1", layerSizes: [1000, 200_000])
                let pushed = try TestImages.push(image, to: registry, repository: "test/tamper")
                // Flip one byte of the big layer inside the registry's own storage (same size, new digest).
                let target = image.layerDigests[1]
                let path = registryBlobDataPath(registry, target)
                var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
                bytes[bytes.count / 2] ^= 0xff
                try bytes.write(to: URL(fileURLWithPath: path))

                let store = try LayoutStore(path: dir + "/store")
                let e = await #expect(throws: RegistryError.self) {
                    _ = try await testClient(retries: 0).pullImage(try ImageReference(parsing: pushed), platform: amd64, into: store)
                }
                guard case .digestMismatch(_, _, let expected, _) = e else { Issue.record("expected digestMismatch, got \(String(describing: e))"); return }
                #expect(expected.description == target)
                #expect(!store.hasBlob(try Digest(target)))
                #expect(!store.hasBlob(try Digest(image.digest)), "no manifest without its blobs")
                #expect(try strayFiles(in: store).isEmpty)
            }
        }
    }
}

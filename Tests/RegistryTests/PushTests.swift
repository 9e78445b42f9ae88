import Foundation
import OCI
import Registry
import Testing
import TestSupport

/// Pushes to a second docker-registry, checked with skopeo inspect and skopeo copy back.
@Suite struct PushTests {
    /// Pulls `image` (already pushed to `source`) into a fresh store and returns store and descriptor.
    private func pulled(_ pushed: String, dir: String, client: RegistryClient) async throws -> (LayoutStore, Descriptor) {
        let store = try LayoutStore(path: dir + "/store")
        let d = try await client.pullImage(try ImageReference(parsing: pushed), platform: amd64, into: store)
        return (store, d)
    }

    @Test func pushesToSecondRegistryThenSkipsEverythingTheSecondTime() async throws {
        try await withDockerRegistry { source in
            try await withDockerRegistry { target in
                try await withTemporaryDirectory { dir in
                    let image = try TestImages.makeImage(in: dir + "/src", tag: "v1", layerSizes: [100, 150_000, 1_000_000])
                    let pushed = try TestImages.push(image, to: source, repository: "test/app")
                    let client = testClient()
                    let (store, d) = try await pulled(pushed, dir: dir, client: client)
                    let dest = try ImageReference(parsing: "\(target.host)/mirror/app:v1-copy")
                    let first = try await client.pushImage(from: store, descriptor: d, to: dest)
                    #expect(first.blobsUploaded == 4) // config + 3 layers
                    #expect(first.bytesUploaded > 1_000_000)
                    #expect(first.manifestsPushed == 1)

                    let inspected = try skopeoInspect(["--tls-verify=false", "docker://\(dest.normalized)"])
                    #expect(inspected["Digest"] as? String == image.digest)
                    #expect(inspected["Layers"] as? [String] == image.layerDigests)
                    try ProcessRunner.run("skopeo", ["copy", "--quiet", "--src-tls-verify=false", "docker://\(dest.normalized)", "oci:\(dir)/back:v1"], check: true)
                    #expect(try skopeoInspect(["oci:\(dir)/back:v1"])["Digest"] as? String == image.digest)

                    // A second push (even from a fresh client) finds every blob with HEAD and uploads none.
                    let again = try await testClient().pushImage(from: store, descriptor: d, to: dest)
                    #expect(again.blobsUploaded == 0)
                    #expect(again.blobsSkipped == 4)
                    #expect(again.bytesUploaded == 0)
                }
            }
        }
    }

    @Test func largeBlobsGoInChunksWithContentRange() async throws {
        try await withDockerRegistry { registry in
            try await withTemporaryDirectory { dir in
                let image = try TestImages.makeImage(in: dir + "/src", tag: "big", layerSizes: [300_000, 10])
                let pushed = try TestImages.push(image, to: registry, repository: "test/big")
                // The pulling client is not the pushing one, so it cannot mount from test/big instead.
                let (store, d) = try await pulled(pushed, dir: dir, client: testClient())
                let client = testClient(chunkThreshold: 100_000, chunkSize: 64 * 1024)
                let dest = try ImageReference(parsing: "\(registry.host)/chunked/big:v1")
                let report = try await client.pushImage(from: store, descriptor: d, to: dest)
                let bigLayer = try #require(store.blobSize(try Digest(image.layerDigests[0])))
                #expect(bigLayer > 300_000)
                #expect(report.chunksUploaded == Int((bigLayer + 65535) / 65536))
                // The registry assembled the chunks into the right blob: skopeo copies it back intact.
                try ProcessRunner.run("skopeo", ["copy", "--quiet", "--src-tls-verify=false", "docker://\(dest.normalized)", "oci:\(dir)/back:v1"], check: true)
                let back = try LayoutStore(path: dir + "/back", create: false)
                #expect(try TestImages.digest(ofFile: back.blobPath(try Digest(image.layerDigests[0]))) == image.layerDigests[0])
            }
        }
    }

    @Test func blobsKnownInASiblingRepositoryAreMountedNotUploaded() async throws {
        try await withDockerRegistry { registry in
            try await withTemporaryDirectory { dir in
                let image = try TestImages.makeImage(in: dir + "/src", tag: "v1", layerSizes: [2000, 90_000])
                let pushed = try TestImages.push(image, to: registry, repository: "team-a/app")
                let client = testClient()
                let (store, d) = try await pulled(pushed, dir: dir, client: client)
                // The client saw the blobs in team-a/app while pulling; pushing to team-b/app mounts them.
                let dest = try ImageReference(parsing: "\(registry.host)/team-b/app:v1")
                let report = try await client.pushImage(from: store, descriptor: d, to: dest)
                #expect(report.blobsMounted == 3)
                #expect(report.blobsUploaded == 0)
                #expect(report.bytesUploaded == 0)
                let inspected = try skopeoInspect(["--tls-verify=false", "docker://\(dest.normalized)"])
                #expect(inspected["Digest"] as? String == image.digest)
                try ProcessRunner.run("skopeo", ["copy", "--quiet", "--src-tls-verify=false", "docker://\(dest.normalized)", "oci:\(dir)/back:v1"], check: true)
            }
        }
    }

    @Test func pushesAWholeIndexWithEveryPlatform() async throws {
        try await withDockerRegistry { registry in
            try await withTemporaryDirectory { dir in
                let image = try TestImages.makeMultiArchImage(in: dir + "/src", tag: "multi")
                let pushed = try TestImages.push(image, to: registry, repository: "test/multi")
                let client = testClient()
                let store = try LayoutStore(path: dir + "/store")
                let d = try await client.pullImage(try ImageReference(parsing: pushed + "@" + image.digest), platform: amd64, into: store)
                try await withDockerRegistry { target in
                    let dest = try ImageReference(parsing: "\(target.host)/mirror/multi:all")
                    let report = try await client.pushImage(from: store, descriptor: d, to: dest)
                    #expect(report.manifestsPushed == 3)
                    let raw = try skopeoInspect(["--raw", "--tls-verify=false", "docker://\(dest.normalized)"])
                    #expect((raw["manifests"] as? [Any])?.count == 2)
                    try ProcessRunner.run("skopeo", ["copy", "--quiet", "--all", "--preserve-digests", "--src-tls-verify=false",
                                                     "docker://\(dest.normalized)", "oci:\(dir)/back:all"], check: true)
                    let digest = try ProcessRunner.run("skopeo", ["manifest-digest", "\(dir)/back/blobs/sha256/\(String(image.digest.dropFirst(7)))"], check: true)
                    #expect(digest.out.trimmingCharacters(in: .whitespacesAndNewlines) == image.digest)
                }
            }
        }
    }

    @Test func pushingAnImageMissingFromTheStoreFailsClearly() async throws {
        try await withDockerRegistry { registry in
            try await withTemporaryDirectory { dir in
                let store = try LayoutStore(path: dir + "/store")
                let bogus = Descriptor(mediaType: MediaType.ociManifest, digest: Digest.sha256(Data("nothing".utf8)), size: 7)
                let e = await #expect(throws: RegistryError.self) {
                    try await testClient().pushImage(from: store, descriptor: bogus, to: try ImageReference(parsing: "\(registry.host)/x/y:1"))
                }
                #expect(e?.description.contains(bogus.digest.description) == true)
            }
        }
    }
}

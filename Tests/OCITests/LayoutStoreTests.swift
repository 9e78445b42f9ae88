import Foundation
import Testing
import TestSupport
@testable import OCI

@Suite struct LayoutStoreTests {
    @Test func blobsAreVerifiedAndStoredOnce() async throws {
        try await withTemporaryDirectory { dir in
            let store = try LayoutStore(path: dir + "/layout")
            let data = Data("hello layer".utf8)
            let d = try store.writeBlob(data)
            #expect(d == Digest.sha256(data))
            #expect(try store.readBlob(d) == data)
            #expect(try store.writeBlob(data, expected: d) == d)
            // A wrong expected digest is refused and leaves nothing behind.
            let wrong = Digest.sha256(Data("other".utf8))
            #expect(throws: OCIError.self) { try store.writeBlob(Data("tampered".utf8), expected: wrong) }
            #expect(!store.hasBlob(wrong))
            let names = try FileManager.default.contentsOfDirectory(atPath: store.blobsDirectory)
            #expect(names == [d.hex], "temporary files left: \(names)")
            // skopeo/umoci-compatible files
            #expect(try String(contentsOfFile: dir + "/layout/oci-layout", encoding: .utf8).contains("\"imageLayoutVersion\":\"1.0.0\""))
        }
    }

    @Test func aCorruptedBlobIsDetectedOnRead() async throws {
        try await withTemporaryDirectory { dir in
            let store = try LayoutStore(path: dir)
            let d = try store.writeBlob(Data("abc".utf8))
            try Data("abd".utf8).write(to: URL(fileURLWithPath: store.blobPath(d)))
            #expect(throws: OCIError.self) { try store.readBlob(d) }
        }
    }

    @Test func concurrentWritersShareBlobsAndKeepEveryIndexEntry() async throws {
        try await withTemporaryDirectory { dir in
            let store = try LayoutStore(path: dir)
            let shared = Data(repeating: 7, count: 100_000)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<16 {
                    group.addTask {
                        let d = try store.writeBlob(shared)
                        let own = try store.writeBlob(Data("manifest \(i)".utf8))
                        try store.addToIndex(Descriptor(mediaType: MediaType.ociManifest, digest: own, size: 10,
                                                        annotations: [Annotation.baseName: "example.com/img\(i):1"]))
                        #expect(store.hasBlob(d))
                    }
                }
                try await group.waitForAll()
            }
            let index = try store.readIndex()
            #expect(index.manifests.count == 16)
            let names = index.manifests.compactMap { $0.annotations?[Annotation.baseName] }
            #expect(names == names.sorted())
            #expect(try store.allBlobs().count == 17)
            // Another process (umoci, an independent OCI tool) can read the layout we wrote.
            if ProcessRunner.which("umoci") != nil {
                let r = try ProcessRunner.run("umoci", ["ls", "--layout", dir])
                #expect(r.status == 0, "\(r.err)")
            }
        }
    }

    @Test func platformSelectionFromAnIndex() throws {
        let amd = Descriptor(mediaType: MediaType.ociManifest, digest: Digest.sha256(Data("a".utf8)), size: 1,
                             platform: Platform(architecture: "amd64"))
        let arm = Descriptor(mediaType: MediaType.ociManifest, digest: Digest.sha256(Data("b".utf8)), size: 1,
                             platform: Platform(architecture: "arm64", variant: "v8"))
        let index = ImageIndex(manifests: [amd, arm])
        #expect(try index.manifest(for: Platform(architecture: "arm64"), reference: "x") == arm)
        #expect(try index.manifest(for: Platform(architecture: "amd64"), reference: "x") == amd)
        #expect(throws: OCIError.self) { try index.manifest(for: Platform(architecture: "s390x"), reference: "x") }
    }
}

import Foundation
import OCI
import Registry
import Testing
import TestSupport

/// A client for test registries: quick retries so error paths stay fast.
func testClient(dockerConfig: String? = nil, credentials: [String: Credentials] = [:],
                retries: Int = 2, chunkThreshold: Int64 = 256 << 20, chunkSize: Int64 = 64 << 20) -> RegistryClient {
    RegistryClient(configuration: RegistryConfiguration(
        dockerConfigPath: dockerConfig ?? emptyDockerConfigPath,
        credentials: credentials, retries: retries, retryBaseDelay: .milliseconds(50),
        chunkedUploadThreshold: chunkThreshold, chunkSize: chunkSize))
}

/// An empty config.json so tests never read the machine's own credentials.
let emptyDockerConfigPath: String = {
    let path = NSTemporaryDirectory() + "/outpost-empty-docker-config-\(getpid()).json"
    _ = FileManager.default.createFile(atPath: path, contents: Data("{}".utf8))
    return path
}()

/// `skopeo inspect` output as JSON (add `--raw` for the manifest itself).
func skopeoInspect(_ args: [String]) throws -> [String: Any] {
    let r = try ProcessRunner.run("skopeo", ["inspect"] + args, check: true)
    return try #require(try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any])
}

/// Names `descriptor` in the store's index.json (as the package builder does) so skopeo can read it as `oci:STORE:name`.
func name(_ descriptor: Descriptor, _ refName: String, in store: LayoutStore) throws {
    var d = descriptor
    d.annotations = [Annotation.refName: refName]
    try store.addToIndex(d)
}

/// Every file under the store's blobs directory whose name is not a digest (temporary leftovers).
func strayFiles(in store: LayoutStore) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: store.blobsDirectory).filter { (try? Digest(sha256Hex: $0)) == nil }
}

/// Checks that every blob the image (manifest or index, recursively) names is in the store with the right digest.
func expectComplete(_ descriptor: Descriptor, in store: LayoutStore, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let data = try store.readBlob(descriptor.digest)
    switch try ManifestDocument.parse(data, mediaType: descriptor.mediaType, context: "test") {
    case .index(let index):
        for child in index.manifests { try expectComplete(child, in: store, sourceLocation: sourceLocation) }
    case .manifest(let m):
        for blob in m.blobs {
            #expect(store.hasBlob(blob.digest), "missing \(blob.digest)", sourceLocation: sourceLocation)
            #expect(try TestImages.digest(ofFile: store.blobPath(blob.digest)) == blob.digest.description, sourceLocation: sourceLocation)
            #expect(store.blobSize(blob.digest) == blob.size, sourceLocation: sourceLocation)
        }
    }
}

/// Where docker-registry keeps a blob's bytes on disk (filesystem driver).
func registryBlobDataPath(_ registry: DockerRegistry, _ digest: String) -> String {
    let hex = String(digest.dropFirst(7))
    return "\(registry.root)/data/docker/registry/v2/blobs/sha256/\(hex.prefix(2))/\(hex)/data"
}

let amd64 = Platform(architecture: "amd64")
let arm64 = Platform(architecture: "arm64")

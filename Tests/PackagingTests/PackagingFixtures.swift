import Foundation
import OCI
import Packaging
import TestSupport

/// Builds staging directories and definitions for the Packaging tests: a real OCI layout with
/// random-content blobs, component trees, and a resolved definition with a fixed build time.
enum Fixtures {
    static let epoch = Date(timeIntervalSince1970: 1_700_000_000)

    static func randomData(_ count: Int, seed: UInt64) -> Data {
        var state = seed &+ 0x9E3779B97F4A7C15
        var d = Data(capacity: count)
        for _ in 0..<count {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            d.append(UInt8(truncatingIfNeeded: state >> 33))
        }
        return d
    }

    /// Writes `zarf.yaml` text into a new definition directory under `root`.
    static func definition(_ yaml: String, in root: String, name: String = "def") throws -> String {
        let dir = root + "/" + name
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Data(yaml.utf8).write(to: URL(fileURLWithPath: dir + "/zarf.yaml"))
        return dir
    }

    static let basicYAML = """
        kind: ZarfPackageConfig
        metadata:
          name: demo
          version: 1.0.0
          description: A test package
        components:
          - name: web
            required: true
            images:
              - docker.io/library/alpine:3.20
            manifests:
              - name: web
                files:
                  - web.yaml
          - name: extra
            files:
              - source: extra.txt
                target: /opt/extra.txt

        """

    /// A staging directory with images/ (one image, two layers), components/web and components/extra.
    static func staging(in root: String, layerSize: Int = 200_000, seed: UInt64 = 1) throws -> String {
        let staging = root + "/staging"
        let fm = FileManager.default
        let store = try LayoutStore(path: staging + "/images")
        let layer1 = try store.writeBlob(randomData(layerSize, seed: seed))
        let layer2 = try store.writeBlob(randomData(layerSize / 3, seed: seed + 1))
        let config = try store.writeBlob(Data(#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#.utf8))
        let manifest = """
            {"schemaVersion":2,"mediaType":"\(MediaType.ociManifest)","config":{"mediaType":"\(MediaType.ociConfig)","digest":"\(config)","size":\(store.blobSize(config)!)},"layers":[{"mediaType":"\(MediaType.ociLayerGzip)","digest":"\(layer1)","size":\(layerSize)},{"mediaType":"\(MediaType.ociLayerGzip)","digest":"\(layer2)","size":\(layerSize / 3)}]}
            """
        let md = Data(manifest.utf8)
        let mdigest = try store.writeBlob(md)
        try store.addToIndex(Descriptor(mediaType: MediaType.ociManifest, digest: mdigest, size: Int64(md.count),
                                        annotations: [Annotation.baseName: "docker.io/library/alpine:3.20"]))
        try fm.createDirectory(atPath: staging + "/components/web/manifests", withIntermediateDirectories: true)
        try Data("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n".utf8)
            .write(to: URL(fileURLWithPath: staging + "/components/web/manifests/web-0.yaml"))
        try fm.createDirectory(atPath: staging + "/components/extra/files/0", withIntermediateDirectories: true)
        try Data("extra file\n".utf8).write(to: URL(fileURLWithPath: staging + "/components/extra/files/0/extra.txt"))
        return staging
    }

    static func resolved(in root: String, yaml: String = basicYAML, options: DefinitionOptions? = nil) throws -> ResolvedPackage {
        let dir = try definition(yaml, in: root)
        var o = options ?? DefinitionOptions(architecture: "amd64")
        o.timestamp = o.timestamp ?? epoch
        o.user = o.user ?? "tester"
        return try PackageDefinition.load(directory: dir, options: o)
    }

    /// The outpost binary built beside the tests.
    static var outpost: String { repositoryRoot() + "/.build/debug/outpost" }

    static func run(_ args: [String], cwd: String? = nil) throws -> ProcessResult {
        try ProcessRunner.run(outpost, args, cwd: cwd)
    }

    /// Flips one byte of a file at `offset`.
    static func flipByte(_ path: String, at offset: Int) throws {
        let h = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        defer { try? h.close() }
        try h.seek(toOffset: UInt64(offset))
        let b = try h.read(upToCount: 1)!
        try h.seek(toOffset: UInt64(offset))
        try h.write(contentsOf: Data([b[0] ^ 0x01]))
    }

    /// Files under `dir` (relative paths), for "no partial output" checks.
    static func listing(_ dir: String) -> [String] {
        ((try? FileManager.default.subpathsOfDirectory(atPath: dir)) ?? []).sorted()
    }
}

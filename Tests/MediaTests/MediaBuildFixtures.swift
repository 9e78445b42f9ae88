import Crypto
import Foundation
import OCI
import Packaging
import Talos
import TestSupport

/// Inputs for the media tests, made with the project's own formats: a site file with a secrets bundle,
/// a Zarf package whose images/ layout holds small random images, an OCI layout with Talos's default
/// images and the installer (the `--images-from` source), and the Debian kernel with a test initramfs.
enum MediaFixtures {
    static let packageImages = ["docker.io/library/nginx:1.27", "127.0.0.1:5000/team/app:v2"]

    /// Talos's default images and installer for the site's versions (v1.13.9 / v1.36.3).
    static let talosImages = [
        "ghcr.io/siderolabs/flannel:0.28.8", "registry.k8s.io/coredns/coredns:v1.14.6", "registry.k8s.io/etcd:v3.6.12",
        "registry.k8s.io/pause:3.10.1", "registry.k8s.io/kube-apiserver:v1.36.3",
        "registry.k8s.io/kube-controller-manager:v1.36.3", "registry.k8s.io/kube-scheduler:v1.36.3",
        "registry.k8s.io/kube-proxy:v1.36.3", "ghcr.io/siderolabs/kubelet:v1.36.3",
        "registry.k8s.io/networking/kube-network-policies:v1.1.0", "ghcr.io/siderolabs/installer:v1.13.9",
    ]

    static func random(_ count: Int, seed: UInt64) -> Data {
        var state = seed &+ 0x9E3779B97F4A7C15
        var bytes = [UInt8](repeating: 0, count: count)
        for i in 0..<count {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            bytes[i] = UInt8(truncatingIfNeeded: state >> 33)
        }
        return Data(bytes)
    }

    /// Adds one single-layer image per reference to the layout at `path`, named by its reference.
    static func makeLayout(_ path: String, images: [String], layerSize: Int = 4096, seed: UInt64 = 7) throws {
        let store = try LayoutStore(path: path)
        for (i, ref) in images.enumerated() {
            let layer = try store.writeBlob(random(layerSize + i, seed: seed &+ UInt64(i)))
            let config = try store.writeBlob(Data(#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"n":\#(i)}"#.utf8))
            let manifest = Data("""
                {"schemaVersion":2,"mediaType":"\(MediaType.ociManifest)","config":{"mediaType":"\(MediaType.ociConfig)","digest":"\(config)","size":\(store.blobSize(config)!)},"layers":[{"mediaType":"\(MediaType.ociLayerGzip)","digest":"\(layer)","size":\(store.blobSize(layer)!)}]}
                """.utf8)
            let digest = try store.writeBlob(manifest)
            try store.addToIndex(Descriptor(mediaType: MediaType.ociManifest, digest: digest, size: Int64(manifest.count),
                                            annotations: [Annotation.baseName: try ImageReference(parsing: ref).normalized]))
        }
    }

    /// A Zarf package holding `images` (random layers of `layerSize` bytes); returns its path.
    static func makePackage(in dir: String, images: [String] = packageImages, layerSize: Int = 4096, seed: UInt64 = 11) throws -> String {
        let def = dir + "/pkg-def"
        let staging = dir + "/pkg-staging"
        try FileManager.default.createDirectory(atPath: def, withIntermediateDirectories: true)
        let yaml = """
            kind: ZarfPackageConfig
            metadata:
              name: demo
              version: 1.0.0
            components:
              - name: app
                required: true
                images:
            \(images.map { "      - \($0)" }.joined(separator: "\n"))

            """
        try Data(yaml.utf8).write(to: URL(fileURLWithPath: def + "/zarf.yaml"))
        try makeLayout(staging + "/images", images: images, layerSize: layerSize, seed: seed)
        var o = DefinitionOptions(architecture: "amd64")
        o.timestamp = Date(timeIntervalSince1970: 1_700_000_000)
        o.user = "tester"
        let resolved = try PackageDefinition.load(directory: def, options: o)
        let url = try PackageWriter.write(staging: staging, definition: resolved, outputDirectory: dir + "/packages")
        try? FileManager.default.removeItem(atPath: staging)
        return url.path
    }

    /// A site with one control plane and one worker, its secrets bundle, and `assets` lines under talos:.
    static func makeSite(in dir: String, packages: [String], assets: String) throws -> String {
        let site = """
            apiVersion: outpost.dev/v1alpha1
            kind: Site
            metadata:
              name: testsite
            talos:
              assets:
            \(assets)
            cluster:
              endpoint: https://10.20.0.10:6443
            network:
              nameservers: [10.20.0.1]
              timeServers: [10.20.0.1]
            nodes:
              - name: cp-1
                role: controlplane
                bootstrap: true
                interface: {mac: "52:54:00:12:34:56", addresses: [10.20.0.11/24], gateway: 10.20.0.1}
              - name: worker-1
                role: worker
                interface: {mac: "52:54:00:12:34:57", addresses: [10.20.0.21/24], gateway: 10.20.0.1}
            packages:
            \(packages.map { "  - \($0)" }.joined(separator: "\n"))

            """
        try Data(site.utf8).write(to: URL(fileURLWithPath: dir + "/site.yaml"))
        try Data(try secrets().utf8).write(to: URL(fileURLWithPath: dir + "/secrets.yaml"))
        return dir + "/site.yaml"
    }

    /// One secrets bundle for the whole test run (an RSA 4096 key takes a while to make).
    static func secrets() throws -> String { try cachedSecrets.get() }
    private static let cachedSecrets: Result<String, Error> = Result { try SecretsBundle.generate().yaml() }

    static func sha256(_ data: Data) -> String { SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined() }

    static func sha256(file: String) throws -> String { sha256(try Data(contentsOf: URL(fileURLWithPath: file))) }

    /// The manifests the test initramfs must find in imagecache/ for a node of the fixture site.
    static var expectedCacheFiles: [String] {
        [
            "imagecache/manifests/registry.k8s.io/pause/reference/3.10.1",
            "imagecache/manifests/ghcr.io/siderolabs/installer/reference/v1.13.9",
            "imagecache/manifests/docker.io/library/nginx/reference/1.27",
            "imagecache/manifests/127.0.0.1_5000_/team/app/reference/v2",
        ]
    }

    /// Flips one bit of the byte at `offset` of `path`.
    static func flipByte(_ path: String, at offset: UInt64) throws {
        let h = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        defer { try? h.close() }
        try h.seek(toOffset: offset)
        var b = try h.read(upToCount: 1) ?? Data([0])
        b[0] ^= 0x01
        try h.seek(toOffset: offset)
        try h.write(contentsOf: b)
    }

    /// The offset of the first occurrence of `needle` in the file at `path`.
    static func find(_ needle: Data, in path: String) throws -> UInt64? {
        let data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        return data.range(of: needle).map { UInt64($0.lowerBound) }
    }
}

import Crypto
import Foundation

/// Container images made for tests: OCI image layouts built from random bytes, so every test has its
/// own distinct content and nothing is fetched from the internet.
///
/// Typical use:
/// ```swift
/// try await withDockerRegistry { registry in
///     try await withTemporaryDirectory { dir in
///         let image = try TestImages.makeImage(in: dir + "/layout", tag: "v1", layerSizes: [300_000, 2_000_000])
///         let ref = try TestImages.push(image, to: registry, repository: "test/app")   // "127.0.0.1:PORT/test/app:v1"
///         …
///     }
/// }
/// ```
/// Images are pushed and converted with `skopeo` (an independent implementation to check ours against).
public enum TestImages {
    /// Which media types an image uses.
    public enum Format: Sendable { case oci, docker }
    /// How layers are stored: gzip (what registries usually serve) or plain tar (what `docker save` writes).
    public enum Compression: Sendable { case gzip, none }

    /// An image (or multi-arch index) in an OCI layout directory, under `tag` (its `ref.name`).
    public struct Image: Sendable {
        /// The OCI layout directory.
        public let layoutPath: String
        /// The `org.opencontainers.image.ref.name` of the image in the layout.
        public let tag: String
        /// `sha256:…` of the manifest (or index).
        public let digest: String
        public let mediaType: String
        /// Bytes of the manifest (or index) document.
        public let size: Int
        /// For a single image: the config digest and the layer digests, in order.
        public let configDigest: String?
        public let layerDigests: [String]
        /// For an index: each child image with its platform (`linux/amd64`).
        public let children: [(platform: String, image: Image)]
        /// For Docker-format images: a copy in skopeo's `dir:` form (skopeo's `oci:` reader accepts only
        /// OCI media types in index.json).
        public var dirPath: String? = nil
        /// `oci:<layout>:<tag>` (or `dir:<path>` for Docker-format images) for skopeo.
        public var skopeoReference: String { dirPath.map { "dir:\($0)" } ?? "oci:\(layoutPath):\(tag)" }
        /// Every blob digest of the image (layers, configs, child manifests; not the top document).
        public var allBlobDigests: Set<String> {
            var s = Set(layerDigests)
            if let c = configDigest { s.insert(c) }
            for child in children { s.insert(child.image.digest); s.formUnion(child.image.allBlobDigests) }
            return s
        }
    }

    /// Builds a single-platform image with one random-content layer per entry of `layerSizes`
    /// (uncompressed bytes of the file inside each layer) and adds it to the layout at `layoutPath`
    /// (created if needed) under `tag`.
    public static func makeImage(in layoutPath: String, tag: String = "latest", layerSizes: [Int] = [1024, 64 * 1024],
                                 architecture: String = "amd64", format: Format = .oci,
                                 compression: Compression = .gzip) throws -> Image {
        var image = try buildManifest(in: layoutPath, tag: tag, layerSizes: layerSizes, architecture: architecture,
                                      format: format, compression: compression)
        try addToIndex(layoutPath, digest: image.digest, mediaType: image.mediaType, size: image.size, tag: tag)
        if format == .docker { image.dirPath = try writeDirTransport(image) }
        return image
    }

    /// Builds a multi-arch image: one image per architecture (each with its own random layers) and an
    /// index (OCI) or manifest list (Docker) over them, added to the layout under `tag`.
    public static func makeMultiArchImage(in layoutPath: String, tag: String = "latest",
                                          architectures: [String] = ["amd64", "arm64"],
                                          layerSizes: [Int] = [1024, 32 * 1024], format: Format = .oci) throws -> Image {
        var children: [(platform: String, image: Image)] = []
        var entries: [[String: Any]] = []
        for arch in architectures {
            let child = try buildManifest(in: layoutPath, tag: tag, layerSizes: layerSizes, architecture: arch,
                                          format: format, compression: .gzip)
            children.append((platform: "linux/\(arch)", image: child))
            var platform: [String: Any] = ["architecture": arch, "os": "linux"]
            if arch == "arm64" { platform["variant"] = "v8" }
            entries.append(["mediaType": child.mediaType, "digest": child.digest, "size": child.size, "platform": platform])
        }
        let mediaType = format == .oci ? "application/vnd.oci.image.index.v1+json"
                                       : "application/vnd.docker.distribution.manifest.list.v2+json"
        let index: [String: Any] = ["schemaVersion": 2, "mediaType": mediaType, "manifests": entries]
        let (digest, size) = try writeJSONBlob(index, layout: layoutPath)
        try addToIndex(layoutPath, digest: digest, mediaType: mediaType, size: size, tag: tag)
        var image = Image(layoutPath: layoutPath, tag: tag, digest: digest, mediaType: mediaType, size: size,
                          configDigest: nil, layerDigests: [], children: children)
        if format == .docker { image.dirPath = try writeDirTransport(image) }
        return image
    }

    /// Pushes `image` with `skopeo copy --all` to `registry` as `repository:tag` (tag defaults to the
    /// image's) using the registry's credentials when it has them. Returns `host/repository:tag`.
    @discardableResult
    public static func push(_ image: Image, to registry: DockerRegistry, repository: String, tag: String? = nil) throws -> String {
        let destination = "\(registry.host)/\(repository):\(tag ?? image.tag)"
        var args = ["copy", "--quiet", "--all", "--preserve-digests", "--dest-tls-verify=false"]
        if let c = registry.credentials { args += ["--dest-creds", "\(c.user):\(c.password)"] }
        args += [image.skopeoReference, "docker://\(destination)"]
        try ProcessRunner.run("skopeo", args, check: true)
        return destination
    }

    /// Writes a `docker save` archive of `image` (skopeo's `docker-archive:` writer: legacy layout,
    /// uncompressed layers) naming it `repoTag` (e.g. `example.com/app:1.0`).
    public static func makeDockerArchive(_ image: Image, path: String, repoTag: String) throws {
        try ProcessRunner.run("skopeo", ["copy", "--quiet", image.skopeoReference, "docker-archive:\(path):\(repoTag)"], check: true)
    }

    /// Writes a `docker save` archive in Docker 25's OCI layout form (`oci-layout`, `index.json`,
    /// `blobs/sha256/…`, plus `manifest.json` and `repositories`), for a new single image with
    /// uncompressed layers. Returns the image as it is inside the archive.
    @discardableResult
    public static func makeOCIDockerArchive(path: String, repoTag: String, layerSizes: [Int] = [2048, 40_000],
                                            architecture: String = "amd64") throws -> Image {
        let work = try makeTemporaryDirectory("outpost-docker-save")
        defer { try? FileManager.default.removeItem(atPath: work) }
        let tagOnly = String(repoTag.split(separator: ":").last ?? "latest")
        let image = try buildManifest(in: work, tag: tagOnly, layerSizes: layerSizes, architecture: architecture,
                                      format: .oci, compression: .none)
        let index: [String: Any] = ["schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [[
            "mediaType": image.mediaType, "digest": image.digest, "size": image.size,
            "annotations": ["io.containerd.image.name": repoTag, "org.opencontainers.image.ref.name": tagOnly],
        ] as [String: Any]]]
        try JSONSerialization.data(withJSONObject: index, options: [.sortedKeys]).write(to: URL(fileURLWithPath: work + "/index.json"))
        let manifest: [[String: Any]] = [[
            "Config": "blobs/sha256/" + hex(image.configDigest!),
            "RepoTags": [repoTag],
            "Layers": image.layerDigests.map { "blobs/sha256/" + hex($0) },
        ]]
        try JSONSerialization.data(withJSONObject: manifest, options: [.sortedKeys]).write(to: URL(fileURLWithPath: work + "/manifest.json"))
        try Data("{}".utf8).write(to: URL(fileURLWithPath: work + "/repositories"))
        try ProcessRunner.run("tar", ["-C", work, "-cf", path, "oci-layout", "index.json", "manifest.json", "repositories", "blobs"], check: true)
        return Image(layoutPath: path, tag: tagOnly, digest: image.digest, mediaType: image.mediaType, size: image.size,
                     configDigest: image.configDigest, layerDigests: image.layerDigests, children: [])
    }

    /// SHA-256 of a file as `sha256:<hex>`, read in chunks.
    public static func digest(ofFile path: String) throws -> String {
        guard let h = FileHandle(forReadingAtPath: path) else { throw POSIXError(.ENOENT) }
        defer { try? h.close() }
        var hasher = SHA256()
        while let chunk = try h.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
        return "sha256:" + hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    // MARK: building blocks

    /// Copies an image into skopeo's `dir:` layout beside its OCI layout: `manifest.json`, child
    /// manifests as `<hex>.manifest.json`, blobs as `<hex>`.
    private static func writeDirTransport(_ image: Image) throws -> String {
        let fm = FileManager.default
        let dir = image.layoutPath + ".dir-" + image.tag
        try? fm.removeItem(atPath: dir)
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Data("Directory Transport Version: 1.1\n".utf8).write(to: URL(fileURLWithPath: dir + "/version"))
        func blob(_ d: String) -> String { image.layoutPath + "/blobs/sha256/" + hex(d) }
        try fm.copyItem(atPath: blob(image.digest), toPath: dir + "/manifest.json")
        func copyBlobs(_ img: Image) throws {
            for d in img.layerDigests + [img.configDigest].compactMap({ $0 }) where !fm.fileExists(atPath: dir + "/" + hex(d)) {
                try fm.copyItem(atPath: blob(d), toPath: dir + "/" + hex(d))
            }
        }
        try copyBlobs(image)
        for child in image.children {
            try fm.copyItem(atPath: blob(child.image.digest), toPath: dir + "/" + hex(child.image.digest) + ".manifest.json")
            try copyBlobs(child.image)
        }
        return dir
    }

    static func hex(_ digest: String) -> String { String(digest.dropFirst("sha256:".count)) }

    private static func buildManifest(in layout: String, tag: String, layerSizes: [Int], architecture: String,
                                      format: Format, compression: Compression) throws -> Image {
        try ensureLayout(layout)
        var layers: [[String: Any]] = []
        var diffIDs: [String] = []
        var layerDigests: [String] = []
        for (i, size) in layerSizes.enumerated() {
            let (digest, blobSize, diffID) = try makeLayer(in: layout, fileName: "file-\(i).bin", size: size, compression: compression)
            let type: String
            switch (format, compression) {
            case (.oci, .gzip): type = "application/vnd.oci.image.layer.v1.tar+gzip"
            case (.oci, .none): type = "application/vnd.oci.image.layer.v1.tar"
            case (.docker, .gzip): type = "application/vnd.docker.image.rootfs.diff.tar.gzip"
            case (.docker, .none): type = "application/vnd.docker.image.rootfs.diff.tar"
            }
            layers.append(["mediaType": type, "digest": digest, "size": blobSize])
            diffIDs.append(diffID)
            layerDigests.append(digest)
        }
        let config: [String: Any] = [
            "architecture": architecture, "os": "linux", "created": "1970-01-01T00:00:00Z",
            "config": ["Cmd": ["/bin/sh"], "Labels": ["outpost.test.nonce": UUID().uuidString]],
            "rootfs": ["type": "layers", "diff_ids": diffIDs],
        ]
        let (configDigest, configSize) = try writeJSONBlob(config, layout: layout)
        let configType = format == .oci ? "application/vnd.oci.image.config.v1+json" : "application/vnd.docker.container.image.v1+json"
        let mediaType = format == .oci ? "application/vnd.oci.image.manifest.v1+json" : "application/vnd.docker.distribution.manifest.v2+json"
        let manifest: [String: Any] = [
            "schemaVersion": 2, "mediaType": mediaType,
            "config": ["mediaType": configType, "digest": configDigest, "size": configSize],
            "layers": layers,
        ]
        let (digest, size) = try writeJSONBlob(manifest, layout: layout)
        return Image(layoutPath: layout, tag: tag, digest: digest, mediaType: mediaType, size: size,
                     configDigest: configDigest, layerDigests: layerDigests, children: [])
    }

    /// A tar holding one file of `size` random bytes, optionally gzipped (`gzip -n`: no timestamp).
    /// Returns the blob digest, blob size and diff ID (digest of the uncompressed tar).
    private static func makeLayer(in layout: String, fileName: String, size: Int, compression: Compression) throws -> (String, Int, String) {
        let work = try makeTemporaryDirectory("outpost-layer")
        defer { try? FileManager.default.removeItem(atPath: work) }
        var bytes = [UInt8](repeating: 0, count: size)
        var rng = SystemRandomNumberGenerator()
        var i = 0
        while i < size {
            var word = rng.next() as UInt64
            for _ in 0..<8 where i < size { bytes[i] = UInt8(truncatingIfNeeded: word); word >>= 8; i += 1 }
        }
        try Data(bytes).write(to: URL(fileURLWithPath: "\(work)/\(fileName)"))
        try ProcessRunner.run("tar", ["-C", work, "--owner=0", "--group=0", "--numeric-owner", "--mtime=@0",
                                      "-cf", "\(work)/layer.tar", fileName], check: true)
        let diffID = try digest(ofFile: "\(work)/layer.tar")
        var blob = "\(work)/layer.tar"
        if compression == .gzip {
            try ProcessRunner.run("gzip", ["-n", "-6", "\(work)/layer.tar"], check: true)
            blob = "\(work)/layer.tar.gz"
        }
        let digest = try digest(ofFile: blob)
        let blobSize = ((try FileManager.default.attributesOfItem(atPath: blob))[.size] as? NSNumber)?.intValue ?? 0
        let dest = "\(layout)/blobs/sha256/\(hex(digest))"
        if !FileManager.default.fileExists(atPath: dest) { try FileManager.default.moveItem(atPath: blob, toPath: dest) }
        return (digest, blobSize, diffID)
    }

    private static func writeJSONBlob(_ object: Any, layout: String) throws -> (String, Int) {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        let digest = "sha256:" + SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
        try data.write(to: URL(fileURLWithPath: "\(layout)/blobs/sha256/\(hex(digest))"))
        return (digest, data.count)
    }

    private static func ensureLayout(_ layout: String) throws {
        try FileManager.default.createDirectory(atPath: layout + "/blobs/sha256", withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: layout + "/oci-layout") {
            try Data(#"{"imageLayoutVersion":"1.0.0"}"#.utf8).write(to: URL(fileURLWithPath: layout + "/oci-layout"))
        }
    }

    private static func addToIndex(_ layout: String, digest: String, mediaType: String, size: Int, tag: String) throws {
        let path = layout + "/index.json"
        var index: [String: Any] = ["schemaVersion": 2, "manifests": [[String: Any]]()]
        if let data = FileManager.default.contents(atPath: path), let existing = try JSONSerialization.jsonObject(with: data) as? [String: Any] {
            index = existing
        }
        var manifests = (index["manifests"] as? [[String: Any]] ?? []).filter {
            (($0["annotations"] as? [String: String])?["org.opencontainers.image.ref.name"]) != tag
        }
        manifests.append(["mediaType": mediaType, "digest": digest, "size": size,
                          "annotations": ["org.opencontainers.image.ref.name": tag]])
        index["manifests"] = manifests
        try JSONSerialization.data(withJSONObject: index, options: [.sortedKeys, .withoutEscapingSlashes])
            .write(to: URL(fileURLWithPath: path))
    }
}

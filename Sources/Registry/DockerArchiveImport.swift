import Archiving
import Foundation
import OCI

extension RegistryClient {
    /// Imports images from a `docker save` archive (plain or compressed tar) into `store`.
    ///
    /// Both layouts are read: the legacy one (`manifest.json`, `<id>.json` configs, `<id>/layer.tar`) and
    /// Docker 25's OCI-in-docker-save (`blobs/sha256/…`, `index.json`). Layers are stored byte for byte
    /// (uncompressed tars get `application/vnd.oci.image.layer.v1.tar`); when the archive carries the
    /// image's own OCI manifest it is kept, otherwise an OCI manifest is written for the image. Layer
    /// digests are checked against the config's `diff_ids` where the layer is uncompressed.
    ///
    /// `images`: the tags to import (nil: every tagged image). Returns the descriptor of each.
    public func importDockerArchive(path: String, images: [ImageReference]?, into store: LayoutStore) throws -> [ImageReference: Descriptor] {
        try DockerArchiveImporter(path: path, store: store).run(images: images)
    }
}

/// The two passes over a docker-save archive: read the small JSON files, then stream the needed
/// entries into the store.
struct DockerArchiveImporter {
    let path: String
    let store: LayoutStore

    struct ManifestEntry: Decodable {
        var Config: String
        var RepoTags: [String]?
        var Layers: [String]
    }

    /// A stored archive entry: its digest, size and the compression its first bytes show.
    struct StoredEntry {
        var digest: Digest
        var size: Int64
        var compression: LayerCompression
    }

    func fail(_ reason: String) -> RegistryError { .invalidArchive(path: path, reason: reason) }

    func run(images: [ImageReference]?) throws -> [ImageReference: Descriptor] {
        // Pass 1: the JSON files.
        var jsonFiles: [String: Data] = [:]
        var symlinks: [String: String] = [:]
        try readArchive { reader, entry in
            let name = Self.clean(entry.name)
            if entry.isSymlink, let target = entry.linkTarget { symlinks[name] = Self.resolve(target, from: name) }
            if name == "manifest.json" || name == "index.json" {
                jsonFiles[name] = try reader.readAll(limit: 16 << 20)
            }
        }
        guard let manifestData = jsonFiles["manifest.json"] else {
            throw fail("no manifest.json: not a docker save archive")
        }
        let entries: [ManifestEntry]
        do { entries = try JSONDecoder().decode([ManifestEntry].self, from: manifestData) } catch {
            throw fail("manifest.json: \(error)")
        }

        // Which images to take, under which names.
        var selected: [(ImageReference, ManifestEntry)] = []
        var available: [(ImageReference, ManifestEntry)] = []
        for entry in entries {
            for tag in entry.RepoTags ?? [] {
                guard let ref = try? ImageReference(parsing: tag) else { throw fail("manifest.json: invalid RepoTag \"\(tag)\"") }
                available.append((ref, entry))
            }
        }
        if let images {
            for wanted in images {
                guard let hit = available.first(where: { $0.0.normalized == wanted.normalized }) else {
                    throw RegistryError.imageNotInArchive(path: path, image: wanted.normalized, available: available.map(\.0.normalized))
                }
                selected.append((wanted, hit.1))
            }
        } else {
            selected = available
        }

        // Pass 2: stream the configs, layers and (OCI layout) manifests into the store.
        var needed = Set<String>()
        for (_, e) in selected { needed.insert(Self.clean(e.Config)); e.Layers.forEach { needed.insert(Self.clean($0)) } }
        for (alias, target) in symlinks where needed.contains(alias) { needed.insert(target) }
        var ociIndex: ImageIndex?
        if let data = jsonFiles["index.json"] {
            ociIndex = try? JSONDecoder().decode(ImageIndex.self, from: data)
            for d in ociIndex?.manifests ?? [] { needed.insert("blobs/sha256/\(d.digest.hex)") }
        }
        var stored: [String: StoredEntry] = [:]
        try readArchive { reader, entry in
            let name = Self.clean(entry.name)
            guard needed.contains(name), entry.isRegularFile else { return }
            stored[name] = try ingest(reader, name: name)
        }
        for (alias, target) in symlinks { if let s = stored[target] { stored[alias] = s } }

        var result: [ImageReference: Descriptor] = [:]
        for (ref, entry) in selected {
            result[ref] = try buildImage(entry, stored: stored, ociIndex: ociIndex, name: ref.normalized)
        }
        return result
    }

    private func readArchive(_ body: (TarReader, TarReader.Entry) throws -> Void) throws {
        do {
            let reader = try TarReader(path: path)
            while let entry = try reader.next() { try body(reader, entry) }
        } catch let e as ArchiveError {
            throw fail(e.description)
        }
    }

    /// Streams the current entry into the store; a `blobs/sha256/<hex>` name must match its content.
    private func ingest(_ reader: TarReader, name: String) throws -> StoredEntry {
        let writer: BlobWriter
        do { writer = try store.blobWriter() } catch { throw RegistryError.store("\(error)") }
        defer { writer.abort() }
        var head = [UInt8]()
        do {
            try reader.readData { chunk in
                if head.count < 4 { head.append(contentsOf: chunk.prefix(4 - head.count)) }
                try writer.write(bufferPointer: chunk)
            }
        } catch let e as ArchiveError { throw fail(e.description) }
        let expected = name.hasPrefix("blobs/sha256/") ? (try? Digest(sha256Hex: String(name.dropFirst(13)))) : nil
        let size = writer.bytesWritten
        let digest: Digest
        do { digest = try writer.commit(expected: expected, expectedSize: nil, context: "\(path): \(name)") } catch let e as OCIError {
            throw fail("\(name): content does not match its name (\(e.description))")
        }
        return StoredEntry(digest: digest, size: size, compression: LayerCompression(magic: head))
    }

    private func buildImage(_ entry: ManifestEntry, stored: [String: StoredEntry], ociIndex: ImageIndex?, name: String) throws -> Descriptor {
        let configPath = Self.clean(entry.Config)
        guard let config = stored[configPath] else { throw fail("manifest.json names \(entry.Config) for \(name), but the archive has no such file") }
        let configFile = (configPath as NSString).lastPathComponent
        if configFile.hasSuffix(".json"), let named = try? Digest(sha256Hex: String(configFile.dropLast(5))), named != config.digest {
            throw fail("\(configPath): content has digest \(config.digest), not the one its name says (corrupted archive)")
        }
        var layers: [Descriptor] = []
        for layerPath in entry.Layers.map(Self.clean) {
            guard let layer = stored[layerPath] else { throw fail("manifest.json names \(layerPath) for \(name), but the archive has no such file") }
            layers.append(Descriptor(mediaType: layer.compression.ociMediaType, digest: layer.digest, size: layer.size))
        }
        try checkDiffIDs(config: config.digest, layers: layers, name: name)

        // Docker 25+: keep the image's own manifest when the archive has it.
        for d in ociIndex?.manifests ?? [] where store.hasBlob(d.digest) {
            guard let data = try? store.readBlob(d.digest),
                  case .manifest(let m)? = try? ManifestDocument.parse(data, mediaType: d.mediaType, context: name),
                  m.config.digest == config.digest, m.layers.map(\.digest) == layers.map(\.digest) else { continue }
            return Descriptor(mediaType: m.mediaType ?? d.mediaType, digest: d.digest, size: Int64(data.count))
        }
        let manifest = SynthesizedManifest(
            config: Descriptor(mediaType: MediaType.ociConfig, digest: config.digest, size: config.size), layers: layers)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(manifest)
        let digest: Digest
        do { digest = try store.writeBlob(data) } catch { throw RegistryError.store("\(error)") }
        return Descriptor(mediaType: MediaType.ociManifest, digest: digest, size: Int64(data.count))
    }

    /// An uncompressed layer's digest is its diff ID; a mismatch means a damaged archive.
    private func checkDiffIDs(config: Digest, layers: [Descriptor], name: String) throws {
        struct Config: Decodable { struct RootFS: Decodable { var diff_ids: [String]? }; var rootfs: RootFS? }
        guard let data = try? store.readBlob(config) else { return }
        guard let parsed = try? JSONDecoder().decode(Config.self, from: data), let ids = parsed.rootfs?.diff_ids else {
            throw fail("the config of \(name) is not an image config (no rootfs.diff_ids)")
        }
        guard ids.count == layers.count else {
            throw fail("\(name): manifest.json lists \(layers.count) layers but the config has \(ids.count) diff_ids")
        }
        for (i, (layer, id)) in zip(layers, ids).enumerated() where layer.mediaType == MediaType.ociLayer && layer.digest.description != id {
            throw fail("\(name): layer \(i) has digest \(layer.digest) but the config's diff_id is \(id) (corrupted archive)")
        }
    }

    static func clean(_ name: String) -> String {
        var s = Substring(name)
        while s.hasPrefix("./") { s = s.dropFirst(2) }
        return String(s)
    }

    /// A symlink target relative to the link's directory, as an archive path.
    static func resolve(_ target: String, from link: String) -> String {
        var parts = link.split(separator: "/").dropLast().map(String.init)
        for p in target.split(separator: "/") {
            if p == ".." { if !parts.isEmpty { parts.removeLast() } } else if p != "." { parts.append(String(p)) }
        }
        return parts.joined(separator: "/")
    }
}

/// The compression of a layer, from its first bytes.
enum LayerCompression {
    case none, gzip, zstd
    init(magic: [UInt8]) {
        if magic.starts(with: [0x1f, 0x8b]) { self = .gzip }
        else if magic.starts(with: [0x28, 0xb5, 0x2f, 0xfd]) { self = .zstd }
        else { self = .none }
    }
    var ociMediaType: String {
        switch self {
        case .none: return MediaType.ociLayer
        case .gzip: return MediaType.ociLayerGzip
        case .zstd: return MediaType.ociLayerZstd
        }
    }
}

/// The OCI manifest written for an image that arrived without one.
struct SynthesizedManifest: Encodable {
    var schemaVersion = 2
    var mediaType = MediaType.ociManifest
    var config: Descriptor
    var layers: [Descriptor]
}

import Archiving
import Crypto
import Foundation
import OCI
import OutpostCore

/// One image in the seed payload: the name the injector serves it under (`path:tag`, no host) and
/// the manifest (or index) digest a client pulls.
public struct SeedImage: Sendable, Equatable, Codable {
    /// The reference as the package names it (`docker.io/library/registry:2.8.2`).
    public let reference: String
    /// The payload annotation and the injector's repository and tag (`library/registry:2.8.2`).
    public let pathAndTag: String
    public let digest: OCI.Digest
    public let mediaType: String
}

/// The payload the injector serves: an uncompressed tar of an OCI image layout holding only the seed
/// images, each annotated `org.opencontainers.image.base.name` = `<path>:<tag>`.
public struct SeedPayload: Sendable {
    public let path: String
    public let size: Int64
    /// Hex SHA-256 over the whole tar: the injector's first argument.
    public let sha256: String
    public let images: [SeedImage]

    /// Writes the payload for `seedImages` (found in `store` by their normalised reference, `path:tag`,
    /// or digest) to `path` atomically. Entries: `oci-layout`, `index.json`, `blobs/sha256/<hex>` sorted;
    /// the tar is reproducible (libarchive with zeroed times and owners).
    public static func write(seedImages: [ImageReference], from store: LayoutStore, to path: String) throws -> SeedPayload {
        guard !seedImages.isEmpty else { throw InjectionError.noSeedImages }
        let index = try store.readIndex()
        var images: [SeedImage] = []
        var descriptors: [Descriptor] = []
        var blobs = Set<OCI.Digest>()
        for ref in seedImages {
            guard let found = findDescriptor(ref, in: index) else {
                let available = index.manifests.compactMap { $0.annotations?[Annotation.baseName] }.sorted()
                throw InjectionError.seedImageMissing(ref.normalized, available: available)
            }
            try collectBlobs(found, store: store, into: &blobs, context: ref.normalized)
            var annotated = found
            annotated.annotations = [Annotation.baseName: ref.pathAndTag]
            annotated.platform = found.platform
            if !descriptors.contains(annotated) { descriptors.append(annotated) }
            images.append(SeedImage(reference: ref.normalized, pathAndTag: ref.pathAndTag,
                                    digest: found.digest, mediaType: found.mediaType))
        }
        descriptors.sort { ($0.annotations?[Annotation.baseName] ?? "") < ($1.annotations?[Annotation.baseName] ?? "") }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let indexData = try encoder.encode(ImageIndex(manifests: descriptors))

        var digest = ""
        var size: Int64 = 0
        try AtomicFile.writeVia(path: path) { tmp in
            let sink = try HashingSink(next: FileSink(path: tmp))
            let tar = try TarWriter(sink: sink, context: path)
            try tar.addFile("oci-layout", data: Data(#"{"imageLayoutVersion":"1.0.0"}"#.utf8))
            try tar.addFile("index.json", data: indexData)
            try tar.addDirectory("blobs")
            try tar.addDirectory("blobs/sha256")
            for blob in blobs.sorted() {
                try tar.addFile("blobs/sha256/" + blob.hex, fromPath: store.blobPath(blob))
            }
            try tar.close()
            digest = sink.hexDigest
            size = sink.bytesWritten
        }
        return SeedPayload(path: path, size: size, sha256: digest, images: images)
    }

    /// The index entry for `ref`: by normalised reference, then `path:tag`, then digest.
    static func findDescriptor(_ ref: ImageReference, in index: ImageIndex) -> Descriptor? {
        let names = [ref.normalized, ref.pathAndTag, ref.name + ":" + (ref.effectiveTag ?? "")]
        for name in names {
            if let d = index.manifests.first(where: { $0.annotations?[Annotation.baseName] == name }) {
                if let pinned = ref.digest, d.digest != pinned { continue }
                return d
            }
        }
        if let pinned = ref.digest { return index.manifests.first { $0.digest == pinned } }
        return nil
    }

    /// Adds the manifest or index and every blob it needs. An index keeps only the children the layout
    /// holds (a package stores the platform it was built for).
    static func collectBlobs(_ d: Descriptor, store: LayoutStore, into blobs: inout Set<OCI.Digest>, context: String) throws {
        guard !blobs.contains(d.digest) else { return }
        let data = try store.readBlob(d.digest)
        blobs.insert(d.digest)
        switch try ManifestDocument.parse(data, mediaType: d.mediaType, context: "\(context) (\(d.digest))") {
        case .index(let idx):
            for child in idx.manifests where store.hasBlob(child.digest) {
                try collectBlobs(child, store: store, into: &blobs, context: context)
            }
        case .manifest(let m):
            for blob in m.blobs {
                guard store.hasBlob(blob.digest) else { throw OCIError.blobNotFound("\(blob.digest) (\(context))") }
                blobs.insert(blob.digest)
            }
        }
    }
}

/// Passes bytes on while hashing them, so the payload is hashed as it is written (one pass).
final class HashingSink: ByteSink {
    private let next: ByteSink
    private var hasher = SHA256()
    private(set) var bytesWritten: Int64 = 0
    private(set) var hexDigest = ""

    init(next: ByteSink) { self.next = next }

    func write(_ buf: UnsafeRawBufferPointer) throws {
        hasher.update(bufferPointer: buf)
        bytesWritten += Int64(buf.count)
        try next.write(buf)
    }

    func finish() throws {
        try next.finish()
        hexDigest = hasher.finalize().hexString
    }
}

import Foundation
import OCI
#if canImport(Glibc)
import Glibc
#endif

extension RegistryClient {
    /// Copies images from an OCI image layout directory into `store`, each blob checked against its digest.
    ///
    /// Images are found by the `org.opencontainers.image.base.name` or `org.opencontainers.image.ref.name`
    /// annotation of index.json: a full reference (`docker.io/library/alpine:3.20`), Zarf's `path:tag`, or
    /// a bare tag (`3.20`, what `skopeo copy … oci:DIR:3.20` writes) matching the reference's tag; a
    /// digest-pinned reference also matches by digest. With `platform`, a tag naming an index is narrowed
    /// to that platform's manifest (as `pullImage` does); a digest-pinned index is kept whole.
    ///
    /// `images`: the references to import (nil: every entry whose annotation is a full reference).
    public func importOCILayout(path: String, images: [ImageReference]?, platform: Platform? = nil,
                                into store: LayoutStore) throws -> [ImageReference: Descriptor] {
        let source: LayoutStore
        let index: ImageIndex
        do {
            source = try LayoutStore(path: path, create: false)
            index = try source.readIndex()
        } catch let e as OCIError { throw RegistryError.invalidArchive(path: path, reason: e.description) }

        var wanted: [(ImageReference, Descriptor)] = []
        if let images {
            for ref in images {
                guard let d = Self.find(ref, in: index) else {
                    throw RegistryError.imageNotInArchive(path: path, image: ref.normalized,
                                                          available: index.manifests.compactMap(Self.name(of:)))
                }
                wanted.append((ref, d))
            }
        } else {
            for d in index.manifests {
                guard let n = Self.name(of: d), n.contains(":") || n.contains("/"),
                      let ref = try? ImageReference(parsing: n) else { continue }
                wanted.append((ref, d))
            }
        }
        var result: [ImageReference: Descriptor] = [:]
        for (ref, d) in wanted {
            result[ref] = try copyTree(d, ref: ref, platform: ref.digest == nil ? platform : nil, from: source, to: store)
        }
        return result
    }

    static func name(of d: Descriptor) -> String? {
        d.annotations?[Annotation.baseName] ?? d.annotations?[Annotation.refName]
    }

    /// The index entry for `ref`: exact reference first, then `path:tag`, then a bare tag, then digest.
    static func find(_ ref: ImageReference, in index: ImageIndex) -> Descriptor? {
        let names = index.manifests.map { d in
            [d.annotations?[Annotation.baseName], d.annotations?[Annotation.refName]].compactMap { $0 }
        }
        func first(_ test: (String) -> Bool) -> Descriptor? {
            zip(index.manifests, names).first { _, ns in ns.contains(where: test) }?.0
        }
        return first { (try? ImageReference(parsing: $0))?.normalized == ref.normalized && ($0.contains(":") || $0.contains("/")) }
            ?? first { $0 == ref.pathAndTag }
            ?? first { !$0.contains("/") && !$0.contains(":") && $0 == ref.effectiveTag }
            ?? ref.digest.flatMap { pin in index.manifests.first { $0.digest == pin } }
    }

    /// Copies a manifest or index (children first) with its blobs; returns the descriptor to index.
    private func copyTree(_ d: Descriptor, ref: ImageReference, platform: Platform?, from source: LayoutStore, to store: LayoutStore) throws -> Descriptor {
        let data: Data
        do { data = try source.readBlob(d.digest) } catch {
            throw RegistryError.invalidArchive(path: source.path, reason: "\(ref.normalized): \(error)")
        }
        let document: ManifestDocument
        do { document = try ManifestDocument.parse(data, mediaType: d.mediaType, context: ref.normalized) } catch {
            throw RegistryError.invalidManifest(image: ref.normalized, reason: "\(error)")
        }
        switch document {
        case .index(let idx):
            if let platform {
                let child: Descriptor
                do { child = try idx.manifest(for: platform, reference: ref.normalized) } catch {
                    throw RegistryError.noMatchingPlatform(image: ref.normalized, wanted: platform.description,
                                                           available: idx.manifests.compactMap { $0.platform?.description })
                }
                return try copyTree(child, ref: ref, platform: nil, from: source, to: store)
            }
            for child in idx.manifests { _ = try copyTree(child, ref: ref, platform: nil, from: source, to: store) }
        case .manifest(let m):
            for blob in m.blobs { try copyBlob(blob, from: source, to: store) }
        }
        do { try store.writeBlob(data, expected: d.digest) } catch { throw RegistryError.store("\(error)") }
        return Descriptor(mediaType: d.mediaType, digest: d.digest, size: d.size)
    }

    /// Streams one blob between layouts, verifying digest and size; nothing lands on a mismatch.
    private func copyBlob(_ blob: Descriptor, from source: LayoutStore, to store: LayoutStore) throws {
        if store.hasBlob(blob.digest) { return }
        let path = source.blobPath(blob.digest)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw RegistryError.invalidArchive(path: source.path, reason: "blob \(blob.digest) is missing (\(String(cString: strerror(errno))))")
        }
        defer { close(fd) }
        let writer: BlobWriter
        do { writer = try store.blobWriter() } catch { throw RegistryError.store("\(error)") }
        defer { writer.abort() }
        let size = 1 << 20
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = read(fd, buffer, size)
            if n < 0 { if errno == EINTR { continue }; throw RegistryError.invalidArchive(path: path, reason: String(cString: strerror(errno))) }
            if n == 0 { break }
            do { try writer.write(bufferPointer: UnsafeRawBufferPointer(start: buffer, count: n)) } catch { throw RegistryError.store("\(error)") }
        }
        do { try writer.commit(expected: blob.digest, expectedSize: blob.size, context: path) } catch let e as OCIError {
            throw RegistryError.invalidArchive(path: source.path, reason: e.description)
        }
    }
}

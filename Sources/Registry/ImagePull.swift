import Foundation
import OCI
import OutpostCore

extension RegistryClient {
    /// Copies `ref` into `store` and returns the descriptor for the package's index.json.
    ///
    /// - A tag that names an index: the manifest for `platform` is chosen and copied.
    /// - A digest that names an index: the whole index is kept (every child manifest and blob), because
    ///   the digest the user pinned must still resolve after the copy.
    /// - A single manifest: copied as it is.
    ///
    /// Blobs are written before the manifests that name them, so a manifest in the store always has its
    /// blobs. The caller adds the `org.opencontainers.image.base.name` annotation and updates index.json.
    public func pullImage(_ ref: ImageReference, platform: Platform, into store: LayoutStore,
                          progress: any ProgressReporter = SilentProgress()) async throws -> Descriptor {
        let top = try await fetchManifest(ref)
        switch top.document {
        case .manifest:
            try await copyManifests([top], of: ref, into: store, progress: progress)
            return top.descriptor
        case .index(let index):
            if ref.digest != nil {
                try await copyIndexWhole(top, of: ref, into: store, progress: progress)
                return top.descriptor
            }
            let chosen: Descriptor
            do { chosen = try index.manifest(for: platform, reference: ref.normalized) } catch {
                throw RegistryError.noMatchingPlatform(image: ref.normalized, wanted: platform.description,
                                                       available: index.manifests.compactMap { $0.platform?.description })
            }
            let child = try await fetchManifest(ref, reference: chosen.digest.description)
            guard case .manifest = child.document else {
                throw RegistryError.invalidManifest(image: ref.normalized, reason: "the \(platform) entry of the index is not an image manifest")
            }
            try await copyManifests([child], of: ref, into: store, progress: progress)
            return child.descriptor
        }
    }

    /// Copies an index, every manifest under it (nested indexes too) and all their blobs.
    private func copyIndexWhole(_ top: FetchedManifest, of ref: ImageReference, into store: LayoutStore,
                                progress: any ProgressReporter) async throws {
        var manifests: [FetchedManifest] = []
        var indexes: [FetchedManifest] = [top]
        var pending: [FetchedManifest] = [top]
        while let current = pending.popLast() {
            guard case .index(let index) = current.document else { continue }
            for child in index.manifests {
                let fetched = try await fetchManifest(ref, reference: child.digest.description)
                switch fetched.document {
                case .manifest: manifests.append(fetched)
                case .index: indexes.append(fetched); pending.append(fetched)
                }
            }
        }
        try await copyManifests(manifests, of: ref, into: store, progress: progress)
        for index in indexes.reversed() { try write(index, to: store) }
    }

    /// Downloads the blobs of `manifests` (bounded, each blob once), then writes the manifests.
    private func copyManifests(_ manifests: [FetchedManifest], of ref: ImageReference, into store: LayoutStore,
                               progress: any ProgressReporter) async throws {
        var seen = Set<Digest>()
        var blobs: [Descriptor] = []
        for m in manifests {
            guard case .manifest(let manifest) = m.document else { continue }
            for blob in manifest.blobs where seen.insert(blob.digest).inserted {
                // Non-distributable (foreign) layers live at their URLs, not in the registry.
                if blob.mediaType == MediaType.dockerForeignLayer && !(blob.urls ?? []).isEmpty { continue }
                blobs.append(blob)
            }
        }
        let phase = "pull \(ref.normalized)"
        progress.begin(phase, total: blobs.reduce(0) { $0 + $1.size }, unit: .bytes)
        defer { progress.end(phase) }
        try await concurrentForEach(blobs, limit: configuration.maxConcurrentBlobs) { blob in
            try await self.fetchBlob(ref, descriptor: blob, into: store, progress: progress, phase: phase)
        }
        for m in manifests { try write(m, to: store) }
    }

    private func write(_ manifest: FetchedManifest, to store: LayoutStore) throws {
        do { try store.writeBlob(manifest.data, expected: manifest.descriptor.digest) } catch {
            throw RegistryError.store("\(error)")
        }
    }
}

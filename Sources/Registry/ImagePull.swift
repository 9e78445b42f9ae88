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
        let plan = try await planPull(ref, platform: platform)
        let phase = "pull \(ref.normalized)"
        progress.begin(phase, total: plan.blobs.reduce(0) { $0 + $1.size }, unit: .bytes)
        defer { progress.end(phase) }
        try await concurrentForEach(plan.blobs, limit: configuration.maxConcurrentBlobs) { blob in
            try await self.fetchBlob(ref, descriptor: blob, into: store, progress: progress, phase: phase)
        }
        try writeManifests(of: plan, to: store)
        return plan.descriptor
    }

    /// Resolves what copying `ref` takes, fetching only manifests: the descriptor for the package index
    /// (the platform's manifest of a tagged index; a digest-pinned index whole), every manifest and index
    /// to store, and every blob to download (each once; foreign layers left out).
    public func planPull(_ ref: ImageReference, platform: Platform) async throws -> ImagePullPlan {
        let top = try await fetchManifest(ref)
        switch top.document {
        case .manifest:
            return plan(ref, descriptor: top.descriptor, manifests: [top], indexes: [])
        case .index(let index):
            if ref.digest != nil {
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
                return plan(ref, descriptor: top.descriptor, manifests: manifests, indexes: indexes)
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
            return plan(ref, descriptor: child.descriptor, manifests: [child], indexes: [])
        }
    }

    private func plan(_ ref: ImageReference, descriptor: Descriptor, manifests: [FetchedManifest],
                      indexes: [FetchedManifest]) -> ImagePullPlan {
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
        // Children before the indexes that name them.
        return ImagePullPlan(reference: ref, descriptor: descriptor, manifests: manifests + indexes.reversed(), blobs: blobs)
    }

    /// Stores the manifests and indexes of `plan` (small; their digests checked).
    public func writeManifests(of plan: ImagePullPlan, to store: LayoutStore) throws {
        for m in plan.manifests { try write(m, to: store) }
    }

    private func write(_ manifest: FetchedManifest, to store: LayoutStore) throws {
        do { try store.writeBlob(manifest.data, expected: manifest.descriptor.digest) } catch {
            throw RegistryError.store("\(error)")
        }
    }
}

/// What copying one image takes, known after fetching its manifests and before any blob: lets a caller
/// (package create) know every file of the package, with its digest and size, before the bytes arrive.
public struct ImagePullPlan: Sendable {
    public let reference: ImageReference
    /// The descriptor for the package's index.json.
    public let descriptor: Descriptor
    /// Manifests and indexes to store, children first.
    public let manifests: [FetchedManifest]
    /// Blobs to download, each once.
    public let blobs: [Descriptor]
}

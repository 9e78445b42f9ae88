import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import OCI
import OutpostCore

/// What one `pushImage` call transferred: lets callers (and tests) see that a second push of the same
/// image moves no blobs, and that blobs were mounted rather than uploaded.
public struct PushReport: Sendable, Equatable {
    public var blobsUploaded = 0
    public var blobsSkipped = 0
    public var blobsMounted = 0
    public var bytesUploaded: Int64 = 0
    /// PATCH requests of chunked uploads (0 when every upload was monolithic).
    public var chunksUploaded = 0
    public var manifestsPushed = 0
    public init() {}
}

extension RegistryClient {
    /// Pushes the image `descriptor` (a manifest, or an index with all its children) from `store` to
    /// `ref`. Blobs first (bounded concurrency; each skipped when the registry has it, mounted when a
    /// sibling repository has it), then child manifests by digest, then the top manifest under `ref`'s
    /// tag (or digest).
    @discardableResult
    public func pushImage(from store: LayoutStore, descriptor: Descriptor, to ref: ImageReference,
                          progress: any ProgressReporter = SilentProgress()) async throws -> PushReport {
        if let pinned = ref.digest, pinned != descriptor.digest {
            throw RegistryError.invalidManifest(image: ref.normalized, reason: "the reference pins \(pinned) but the image to push is \(descriptor.digest)")
        }
        // Collect the tree: manifests (children before parents) and their blobs.
        var ordered: [(Descriptor, Data)] = []
        var blobs: [Descriptor] = []
        var seenBlobs = Set<Digest>()
        func visit(_ d: Descriptor) throws {
            let data: Data
            do { data = try store.readBlob(d.digest) } catch {
                throw RegistryError.store("manifest \(d.digest) of \(ref.normalized): \(error)")
            }
            let document: ManifestDocument
            do { document = try ManifestDocument.parse(data, mediaType: d.mediaType, context: ref.normalized) } catch {
                throw RegistryError.invalidManifest(image: ref.normalized, reason: "\(error)")
            }
            switch document {
            case .index(let index):
                for child in index.manifests { try visit(child) }
            case .manifest(let manifest):
                for b in manifest.blobs where seenBlobs.insert(b.digest).inserted {
                    if b.mediaType == MediaType.dockerForeignLayer && !(b.urls ?? []).isEmpty { continue }
                    blobs.append(b)
                }
            }
            ordered.append((d, data))
        }
        try visit(descriptor)

        let phase = "push \(ref.normalized)"
        progress.begin(phase, total: blobs.reduce(0) { $0 + $1.size }, unit: .bytes)
        defer { progress.end(phase) }
        let outcomes = try await concurrentMap(blobs, limit: configuration.maxConcurrentBlobs) { blob in
            try await self.pushBlob(blob, from: store, to: ref, progress: progress, phase: phase)
        }
        var report = PushReport()
        for (blob, outcome) in zip(blobs, outcomes) {
            switch outcome {
            case .alreadyThere: report.blobsSkipped += 1
            case .mounted: report.blobsMounted += 1
            case .uploaded(let bytes, let chunks):
                report.blobsUploaded += 1
                report.bytesUploaded += bytes
                if blob.size > configuration.chunkedUploadThreshold { report.chunksUploaded += chunks }
            }
        }
        let topReference = ref.tag ?? ref.digest?.description ?? "latest"
        for (d, data) in ordered {
            let isTop = d.digest == descriptor.digest
            try await putManifest(data, mediaType: d.mediaType, digest: d.digest, to: ref,
                                  reference: isTop ? topReference : d.digest.description)
            report.manifestsPushed += 1
        }
        return report
    }

    /// `PUT /v2/<repo>/manifests/<reference>` with the exact stored bytes and their media type.
    public func putManifest(_ data: Data, mediaType: String, digest: Digest, to ref: ImageReference, reference: String) async throws {
        let host = ref.registry, repo = ref.repository
        let context = RequestContext(registry: host, repository: repo, reference: reference, operation: "pushing manifest to", subject: .upload)
        try await transport.retry.run(host: host) {
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: mediaType)
            let bytes = ByteBuffer(bytes: data)
            let response = try await transport.send(.PUT, url: transport.url(host, "\(repo)/manifests/\(reference)"), host: host,
                                                    scopes: [Self.pushScope(repo)], headers: headers) { .bytes(bytes) }
            guard response.status.code == 201 || response.status.code == 200 else { throw await transport.failure(response, context) }
            await RegistryTransport.drain(response)
            if let header = response.headers.first(name: "Docker-Content-Digest"), let claimed = try? Digest(header), claimed != digest {
                throw RegistryError.digestMismatch(registry: host, repository: repo, expected: digest, actual: claimed)
            }
        }
        await locations.record(digest, host: host, repository: repo)
    }
}

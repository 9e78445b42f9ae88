import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import OCI
import OutpostCore

extension RegistryClient {
    /// Streams the blob `descriptor` of `image`'s repository into `store`, checking size and digest as it
    /// arrives. Nothing is kept when the check fails: the partial file is removed and no blob appears.
    /// A blob already in the store is not fetched again; concurrent requests for one blob share a transfer.
    public func fetchBlob(_ image: ImageReference, descriptor: Descriptor, into store: LayoutStore,
                          progress: any ProgressReporter = SilentProgress(), phase: String = "") async throws {
        if store.hasBlob(descriptor.digest) {
            progress.advance(phase, by: descriptor.size)
            return
        }
        try await inFlight.run(key: store.path + "|" + descriptor.digest.description) {
            if store.hasBlob(descriptor.digest) { progress.advance(phase, by: descriptor.size); return }
            try await transport.retry.run(host: image.registry) {
                try await downloadOnce(image, descriptor: descriptor, into: store, progress: progress, phase: phase)
            }
        }
        await locations.record(descriptor.digest, host: image.registry, repository: image.repository)
    }

    private func downloadOnce(_ image: ImageReference, descriptor: Descriptor, into store: LayoutStore,
                              progress: any ProgressReporter, phase: String) async throws {
        let host = image.registry, repo = image.repository, digest = descriptor.digest
        let context = RequestContext(registry: host, repository: repo, reference: digest.description,
                                     operation: "fetching blob", subject: .blob(digest))
        let response = try await transport.send(.GET, url: transport.url(host, "\(repo)/blobs/\(digest)"), host: host,
                                                scopes: [Self.pullScope(repo)])
        guard response.status == .ok else { throw await transport.failure(response, context) }
        let writer: BlobWriter
        do { writer = try store.blobWriter() } catch { throw RegistryError.store("\(error)") }
        defer { writer.abort() }
        for try await chunk in response.body {
            try chunk.withUnsafeReadableBytes { try writer.write(bufferPointer: $0) }
            if writer.bytesWritten > descriptor.size {
                throw RegistryError.sizeMismatch(registry: host, repository: repo, digest: digest,
                                                 expected: descriptor.size, actual: writer.bytesWritten)
            }
            progress.advance(phase, by: Int64(chunk.readableBytes))
        }
        do {
            try writer.commit(expected: digest, expectedSize: descriptor.size, context: "\(host)/\(repo)@\(digest)")
        } catch OCIError.digestMismatch(_, let actual, _) {
            throw RegistryError.digestMismatch(registry: host, repository: repo, expected: digest,
                                               actual: (try? Digest(actual)) ?? digest)
        } catch OCIError.sizeMismatch(let expected, let actual, _) {
            throw RegistryError.sizeMismatch(registry: host, repository: repo, digest: digest, expected: expected, actual: actual)
        } catch let error as OCIError {
            throw RegistryError.store(error.description)
        }
    }
}

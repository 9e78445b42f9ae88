import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import OCI
import OutpostCore

/// What happened to one blob of a push.
enum BlobPushOutcome: Sendable {
    case alreadyThere
    case mounted(from: String)
    case uploaded(bytes: Int64, chunks: Int)
}

extension RegistryClient {
    /// Whether `repository` on `host` already has `digest` (HEAD).
    public func blobExists(host: String, repository: String, digest: Digest) async throws -> Bool {
        let context = RequestContext(registry: host, repository: repository, reference: digest.description,
                                     operation: "checking blob", subject: .upload)
        return try await transport.retry.run(host: host) {
            let response = try await transport.send(.HEAD, url: transport.url(host, "\(repository)/blobs/\(digest)"),
                                                    host: host, scopes: [Self.pushScope(repository)])
            switch response.status.code {
            case 200: await RegistryTransport.drain(response); return true
            case 404: await RegistryTransport.drain(response); return false
            default: throw await transport.failure(response, context)
            }
        }
    }

    /// Puts one blob of `store` into `ref`'s repository: skipped when already there (HEAD), mounted when
    /// another repository of the same registry is known to have it, else uploaded in one PUT or, above
    /// `chunkedUploadThreshold`, in PATCH chunks.
    func pushBlob(_ blob: Descriptor, from store: LayoutStore, to ref: ImageReference,
                  progress: any ProgressReporter, phase: String) async throws -> BlobPushOutcome {
        let host = ref.registry, repo = ref.repository
        guard store.hasBlob(blob.digest) else {
            throw RegistryError.store("blob \(blob.digest) of \(ref.normalized) is missing from \(store.path)")
        }
        if try await blobExists(host: host, repository: repo, digest: blob.digest) {
            progress.advance(phase, by: blob.size)
            await locations.record(blob.digest, host: host, repository: repo)
            return .alreadyThere
        }
        var session: String?
        if let from = await locations.mountSource(blob.digest, host: host, excluding: repo) {
            switch try await mount(blob.digest, from: from, to: ref) {
            case .mounted:
                progress.advance(phase, by: blob.size)
                await locations.record(blob.digest, host: host, repository: repo)
                return .mounted(from: from)
            case .session(let location):
                session = location
            }
        }
        let outcome = try await transport.retry.run(host: host) { () -> BlobPushOutcome in
            let location: String
            if let s = session { location = s; session = nil } else { location = try await startUpload(to: ref) }
            let path = store.blobPath(blob.digest)
            if blob.size > configuration.chunkedUploadThreshold {
                let chunks = try await uploadChunked(path: path, blob: blob, location: location, to: ref, progress: progress, phase: phase)
                return .uploaded(bytes: blob.size, chunks: chunks)
            }
            try await uploadMonolithic(path: path, blob: blob, location: location, to: ref)
            progress.advance(phase, by: blob.size)
            return .uploaded(bytes: blob.size, chunks: 1)
        }
        await locations.record(blob.digest, host: host, repository: repo)
        return outcome
    }

    private enum MountResult { case mounted, session(String) }

    /// `POST …/blobs/uploads/?mount=<digest>&from=<repo>`: 201 means mounted; 202 opens an ordinary upload.
    private func mount(_ digest: Digest, from: String, to ref: ImageReference) async throws -> MountResult {
        let host = ref.registry, repo = ref.repository
        let context = RequestContext(registry: host, repository: repo, reference: digest.description,
                                     operation: "mounting blob from \(from) into", subject: .upload)
        return try await transport.retry.run(host: host) {
            let url = transport.url(host, "\(repo)/blobs/uploads/?mount=\(digest)&from=\(from)")
            let response = try await transport.send(.POST, url: url, host: host,
                                                    scopes: [Self.pushScope(repo), Self.pullScope(from)])
            switch response.status.code {
            case 201:
                await RegistryTransport.drain(response)
                return .mounted
            case 202:
                guard let location = response.headers.first(name: "Location") else { throw await transport.failure(response, context) }
                await RegistryTransport.drain(response)
                return .session(transport.resolve(location: location, host: host))
            default: throw await transport.failure(response, context)
            }
        }
    }

    /// Opens an upload session; returns its absolute Location.
    private func startUpload(to ref: ImageReference) async throws -> String {
        let host = ref.registry, repo = ref.repository
        let context = RequestContext(registry: host, repository: repo, reference: "", operation: "starting upload to", subject: .upload)
        let response = try await transport.send(.POST, url: transport.url(host, "\(repo)/blobs/uploads/"), host: host,
                                                scopes: [Self.pushScope(repo)])
        guard response.status.code == 202, let location = response.headers.first(name: "Location") else {
            throw await transport.failure(response, context)
        }
        await RegistryTransport.drain(response)
        return transport.resolve(location: location, host: host)
    }

    private static func withDigest(_ location: String, _ digest: Digest) -> String {
        location + (location.contains("?") ? "&" : "?") + "digest=" + digest.description
    }

    private func uploadMonolithic(path: String, blob: Descriptor, location: String, to ref: ImageReference) async throws {
        let context = RequestContext(registry: ref.registry, repository: ref.repository, reference: blob.digest.description,
                                     operation: "uploading blob to", subject: .upload)
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/octet-stream")
        let size = blob.size
        let response = try await transport.send(.PUT, url: Self.withDigest(location, blob.digest), host: ref.registry,
                                                scopes: [Self.pushScope(ref.repository)], headers: headers) {
            .stream(FileChunks(path: path, offset: 0, length: size), length: .known(size))
        }
        guard response.status.code == 201 else { throw await transport.failure(response, context) }
        await RegistryTransport.drain(response)
    }

    /// PATCH each chunk with `Content-Range: start-end`, following the Location each answer gives, then
    /// close the session with a PUT carrying the digest. Returns the number of chunks.
    private func uploadChunked(path: String, blob: Descriptor, location: String, to ref: ImageReference,
                               progress: any ProgressReporter, phase: String) async throws -> Int {
        let context = RequestContext(registry: ref.registry, repository: ref.repository, reference: blob.digest.description,
                                     operation: "uploading blob chunk to", subject: .upload)
        var location = location
        var offset: Int64 = 0
        var chunks = 0
        while offset < blob.size {
            let length = min(configuration.chunkSize, blob.size - offset)
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: "application/octet-stream")
            headers.add(name: "Content-Range", value: "\(offset)-\(offset + length - 1)")
            let start = offset
            let response = try await transport.send(.PATCH, url: location, host: ref.registry,
                                                    scopes: [Self.pushScope(ref.repository)], headers: headers) {
                .stream(FileChunks(path: path, offset: start, length: length), length: .known(length))
            }
            guard response.status.code == 202, let next = response.headers.first(name: "Location") else {
                throw await transport.failure(response, context)
            }
            await RegistryTransport.drain(response)
            location = transport.resolve(location: next, host: ref.registry)
            offset += length
            chunks += 1
            progress.advance(phase, by: length)
        }
        let response = try await transport.send(.PUT, url: Self.withDigest(location, blob.digest), host: ref.registry,
                                                scopes: [Self.pushScope(ref.repository)])
        guard response.status.code == 201 else { throw await transport.failure(response, context) }
        await RegistryTransport.drain(response)
        return chunks
    }
}

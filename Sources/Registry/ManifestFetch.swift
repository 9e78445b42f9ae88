import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import OCI

/// A manifest or index as a registry served it: the exact bytes (digests are over bytes) and the
/// descriptor that names them.
public struct FetchedManifest: Sendable {
    public let data: Data
    public let descriptor: Descriptor
    public let document: ManifestDocument
}

extension RegistryClient {
    /// The largest manifest accepted (distribution's own limit is 4 MiB).
    static let maxManifestBytes = 4 << 20

    /// Fetches the manifest or index `reference` (a tag or digest; default: the reference's own) of
    /// `image`, accepting every OCI and Docker v2 type, and checks it against the digest it is asked by
    /// or the registry's `Docker-Content-Digest`.
    public func fetchManifest(_ image: ImageReference, reference: String? = nil) async throws -> FetchedManifest {
        let ref = reference ?? image.manifestReference
        let host = image.registry, repo = image.repository
        let context = RequestContext(registry: host, repository: repo, reference: ref, operation: "fetching manifest", subject: .image)
        let display = "\(image.name)\(ref.hasPrefix("sha256:") ? "@" : ":")\(ref)"
        return try await transport.retry.run(host: host) {
            var headers = HTTPHeaders()
            headers.add(name: "Accept", value: MediaType.manifestAccept)
            let response = try await transport.send(.GET, url: transport.url(host, "\(repo)/manifests/\(ref)"), host: host,
                                                    scopes: [Self.pullScope(repo)], headers: headers)
            guard response.status == .ok else { throw await transport.failure(response, context) }
            let buffer: ByteBuffer
            do { buffer = try await response.body.collect(upTo: Self.maxManifestBytes) } catch is NIOTooManyBytesError {
                throw RegistryError.invalidManifest(image: display, reason: "larger than \(Self.maxManifestBytes) bytes")
            }
            let data = Data(buffer.readableBytesView)
            let digest = Digest.sha256(data)
            if let pinned = try? Digest(ref), pinned != digest {
                throw RegistryError.digestMismatch(registry: host, repository: repo, expected: pinned, actual: digest)
            }
            if let header = response.headers.first(name: "Docker-Content-Digest"), let claimed = try? Digest(header), claimed != digest {
                throw RegistryError.digestMismatch(registry: host, repository: repo, expected: claimed, actual: digest)
            }
            let contentType = response.headers.first(name: "Content-Type")
            let (document, mediaType) = try Self.interpret(data, contentType: contentType, image: display)
            let descriptor = Descriptor(mediaType: mediaType, digest: digest, size: Int64(data.count))
            await locations.record(digest, host: host, repository: repo)
            return FetchedManifest(data: data, descriptor: descriptor, document: document)
        }
    }

    /// Parses manifest bytes and settles their media type: the document's own `mediaType`, else the
    /// Content-Type when it is a manifest type, else OCI by shape. Docker schema 1 is refused.
    static func interpret(_ data: Data, contentType: String?, image: String) throws -> (ManifestDocument, String) {
        let type = contentType.map { String($0.split(separator: ";").first ?? "").trimmingSpaces() }
        if let type, type.contains("distribution.manifest.v1") {
            throw RegistryError.invalidManifest(image: image, reason: "Docker schema 1 manifests are not supported; push the image again with a current tool")
        }
        let document: ManifestDocument
        do { document = try ManifestDocument.parse(data, mediaType: type, context: image) } catch let e as OCIError {
            throw RegistryError.invalidManifest(image: image, reason: e.description)
        }
        let known = MediaType.isIndex(type) || MediaType.isManifest(type)
        switch document {
        case .index(let index):
            return (document, index.mediaType ?? (known && MediaType.isIndex(type) ? type! : MediaType.ociIndex))
        case .manifest(let manifest):
            return (document, manifest.mediaType ?? (known && MediaType.isManifest(type) ? type! : MediaType.ociManifest))
        }
    }
}

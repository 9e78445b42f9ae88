import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import OCI
import OutpostCore

/// A client for the OCI distribution API: copies images between registries and an OCI layout store.
///
/// The package builder pulls with `pullImage`/`pullImages`; deployment pushes with `pushImage`. The client
/// is cheap to copy and safe to share between tasks: bearer tokens, the blobs being transferred and the
/// places blobs are known to live (for cross-repository mounts) are shared by every copy.
public struct RegistryClient: Sendable {
    public let configuration: RegistryConfiguration
    let transport: RegistryTransport
    let inFlight = InFlightTransfers()
    let locations = BlobLocations()

    public init(configuration: RegistryConfiguration = RegistryConfiguration()) {
        self.configuration = configuration
        self.transport = RegistryTransport(configuration: configuration)
    }

    /// Checks that `host` speaks the distribution API (`GET /v2/`) and that our credentials, if it wants
    /// any, are accepted.
    public func ping(_ host: String) async throws {
        let context = RequestContext(registry: host, repository: "", reference: "", operation: "ping", subject: .upload)
        try await transport.retry.run(host: host) {
            let response = try await transport.send(.GET, url: transport.url(host, ""), host: host, scopes: [])
            guard response.status == .ok else { throw await transport.failure(response, context) }
            await RegistryTransport.drain(response)
        }
    }

    /// Pulls several images into one store, at most `maxConcurrentImages` at a time (and within each,
    /// at most `maxConcurrentBlobs` blobs). Returns each image's descriptor for the package index.
    public func pullImages(_ refs: [ImageReference], platform: Platform, into store: LayoutStore,
                           progress: any ProgressReporter = SilentProgress()) async throws -> [ImageReference: Descriptor] {
        let unique = Array(Set(refs)).sorted { $0.normalized < $1.normalized }
        let pairs = try await concurrentMap(unique, limit: configuration.maxConcurrentImages) { ref in
            (ref, try await self.pullImage(ref, platform: platform, into: store, progress: progress))
        }
        return Dictionary(uniqueKeysWithValues: pairs)
    }

    static func pullScope(_ repository: String) -> String { "repository:\(repository):pull" }
    static func pushScope(_ repository: String) -> String { "repository:\(repository):pull,push" }
}

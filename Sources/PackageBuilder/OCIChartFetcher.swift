import Foundation
import OCI
import OutpostCore
import Registry

/// Pulls a Helm chart stored in an OCI registry (`oci://host/path/chart` + version tag): the manifest's
/// chart-content layer is the chart `.tgz`.
enum OCIChartFetcher {
    static let chartLayerType = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"

    static func fetch(url: String, version: String, to destination: String, client: RegistryClient,
                      scratch: String, progress: ProgressReporter) async throws {
        let ref: ImageReference
        do { ref = try ImageReference(parsing: String(url.dropFirst("oci://".count)) + ":" + version) } catch {
            throw BuilderError.chart(name: url, reason: "\(error)")
        }
        let fetched = try await client.fetchManifest(ref)
        guard case .manifest(let manifest) = fetched.document else {
            throw BuilderError.chart(name: url, reason: "\(ref.normalized) is an index, not a Helm chart")
        }
        guard let layer = manifest.layers.first(where: { $0.mediaType == chartLayerType }) else {
            throw BuilderError.chart(name: url, reason: "\(ref.normalized) has no \(chartLayerType) layer: not a Helm chart")
        }
        let store = try LayoutStore(path: scratch + "/oci-chart-\(UInt32.random(in: 0...UInt32.max))")
        defer { try? FileManager.default.removeItem(atPath: store.path) }
        try await client.fetchBlob(ref, descriptor: layer, into: store, progress: progress)
        try? FileManager.default.removeItem(atPath: destination)
        try FileManager.default.copyItem(atPath: store.blobPath(layer.digest), toPath: destination)
    }
}

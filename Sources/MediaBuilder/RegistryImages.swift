import Foundation
import OCI
import OutpostCore
import Registry

/// Images for the cache pulled from a registry mirror (`--images-from registry://HOST`): a build machine's
/// local registry holding the images under their original repository paths. Only images that no package
/// or layout holds are pulled, into an OCI layout in the build's work directory.
enum RegistryImages {
    static func pullMissing(_ wanted: [String], have catalogs: [SourceCatalog], mirrors: [String],
                            configuration: RegistryConfiguration, into path: String,
                            progress: ProgressReporter) async throws -> SourceCatalog? {
        var missing: [ImageReference] = []
        var seen = Set<String>()
        for w in wanted {
            guard let ref = try? ImageReference(parsing: w), seen.insert(ref.normalized).inserted else { continue }
            if !catalogs.contains(where: { $0.find(ref) != nil }) { missing.append(ref) }
        }
        guard !missing.isEmpty else { return nil }
        let store: LayoutStore
        do { store = try LayoutStore(path: path) } catch { throw MediaBuilderError.io(path: path, reason: "\(error)") }
        let client = RegistryClient(configuration: configuration)
        progress.begin("pulling images", total: Int64(missing.count), unit: .items)
        defer { progress.end("pulling images") }
        var pulled = 0
        for ref in missing {
            for host in mirrors {
                do {
                    let d = try await client.pullImage(ref.withRegistry(host), platform: Platform(architecture: "amd64"),
                                                       into: store, progress: progress)
                    var desc = Descriptor(mediaType: d.mediaType, digest: d.digest, size: d.size)
                    desc.annotations = [Annotation.baseName: ref.normalized]
                    try store.addToIndex(desc)
                    pulled += 1
                    break
                } catch {
                    progress.note("\(ref.normalized): not pulled from \(host): \(error)")
                }
            }
            progress.advance("pulling images", by: 1)
        }
        guard pulled > 0 else { return nil }
        return try SourceCatalog.open(.ociLayout(path))
    }
}

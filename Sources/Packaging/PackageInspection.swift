import Foundation
import OCI

/// A description of a package for `outpost package inspect` (text or `--output json`): metadata,
/// components, images with digests and sizes, and the checksum and signature state.
public struct PackageInspection: Codable, Sendable {
    public struct Component: Codable, Sendable {
        public var name: String
        public var description: String?
        public var required: Bool
        public var images: [String]
        public var charts: [String]
        public var manifests: [String]
        public var files: Int
        public var repos: Int
        public var archiveSize: Int64?
    }

    public struct Image: Codable, Sendable {
        public var reference: String
        public var digest: String
        public var mediaType: String
        /// Bytes of the manifest plus its config and layers (for an index: all child manifests found).
        public var size: Int64
        public var platforms: [String]
    }

    public struct Checksums: Codable, Sendable {
        /// "valid", or "invalid" with `error`.
        public var state: String
        public var error: String?
        public var aggregateChecksum: String?
        public var files: Int
    }

    public struct Signature: Codable, Sendable {
        /// "unsigned", "signed (not checked)", "verified", "invalid".
        public var state: String
        public var error: String?
    }

    public var file: String
    public var kind: String
    public var name: String
    public var version: String?
    public var description: String?
    public var architecture: String?
    public var flavor: String?
    public var build: ZarfBuildData?
    public var split: SplitPackage.Record?
    public var components: [Component]
    public var images: [Image]
    public var checksums: Checksums
    public var signature: Signature
    public var totalSize: Int64

    /// Describes already-read package contents.
    public init(_ c: PackageContents) {
        let pkg = c.package
        file = c.path
        kind = pkg.kind.rawValue
        name = pkg.metadata?.name ?? ""
        version = pkg.metadata?.version
        description = pkg.metadata?.description
        architecture = pkg.build?.architecture ?? pkg.metadata?.architecture
        flavor = pkg.build?.flavor
        build = pkg.build
        split = c.split
        let sizes = Dictionary(c.entries.map { ($0.name, $0.size) }, uniquingKeysWith: { a, _ in a })
        components = pkg.components.map { comp in
            Component(name: comp.name, description: comp.description, required: comp.required ?? false,
                      images: comp.images ?? [], charts: (comp.charts ?? []).map { [$0.name, $0.version].compactMap { $0 }.joined(separator: "@") },
                      manifests: (comp.manifests ?? []).map(\.name), files: comp.files?.count ?? 0, repos: comp.repos?.count ?? 0,
                      archiveSize: sizes["components/\(comp.name).tar"])
        }
        func blobSize(_ d: Descriptor) -> Int64 { sizes["images/blobs/sha256/\(d.digest.hex)"] ?? d.size }
        func describe(_ d: Descriptor) -> (Int64, [String]) {
            guard let data = c.smallBlobs[d.digest.hex],
                  let doc = try? ManifestDocument.parse(data, mediaType: d.mediaType, context: d.digest.description) else {
                return (d.size, d.platform.map { [$0.description] } ?? [])
            }
            switch doc {
            case .manifest(let m):
                return (blobSize(d) + m.blobs.reduce(0) { $0 + blobSize($1) }, d.platform.map { [$0.description] } ?? [])
            case .index(let idx):
                var total = blobSize(d)
                var platforms: [String] = []
                for child in idx.manifests {
                    let (s, _) = describe(child)
                    total += s
                    if let p = child.platform { platforms.append(p.description) }
                }
                return (total, platforms)
            }
        }
        images = (c.imageIndex?.manifests ?? []).map { d in
            let (size, platforms) = describe(d)
            return Image(reference: d.annotations?[Annotation.baseName] ?? d.annotations?[Annotation.refName] ?? "",
                         digest: d.digest.description, mediaType: d.mediaType, size: size, platforms: platforms)
        }
        checksums = Checksums(state: c.integrityError == nil ? "valid" : "invalid", error: c.integrityError.map { "\($0)" },
                              aggregateChecksum: pkg.metadata?.aggregateChecksum,
                              files: c.entries.filter { !PackageLayout.unlistedFiles.contains($0.name) }.count)
        switch (c.signature != nil, c.signatureVerified) {
        case (false, nil): signature = Signature(state: "unsigned")
        case (true, nil): signature = Signature(state: "signed (not checked: pass --key)")
        case (_, true?): signature = Signature(state: "verified")
        case (_, false?): signature = Signature(state: "invalid", error: c.signatureError.map { "\($0)" })
        }
        totalSize = c.entries.reduce(0) { $0 + $1.size }
    }

    /// Human-readable text.
    public var text: String {
        var out: [String] = []
        out.append("Package:      \(name)\(version.map { " \($0)" } ?? "") (\(kind))")
        out.append("File:         \(file)")
        if let d = description, !d.isEmpty { out.append("Description:  \(d)") }
        out.append("Architecture: \(architecture ?? "-")\(flavor.map { "  Flavor: \($0)" } ?? "")")
        if let b = build { out.append("Built:        \(b.timestamp) by \(b.user ?? "-") with \(b.version)") }
        if let s = split { out.append("Split:        \(s.Count) parts, \(s.Bytes) bytes") }
        out.append("Checksums:    \(checksums.state) (\(checksums.files) files)\(checksums.error.map { ": \($0)" } ?? "")")
        out.append("Signature:    \(signature.state)\(signature.error.map { ": \($0)" } ?? "")")
        out.append("Components:")
        for c in components {
            var parts: [String] = []
            if !c.images.isEmpty { parts.append("\(c.images.count) images") }
            if !c.charts.isEmpty { parts.append("charts: \(c.charts.joined(separator: ", "))") }
            if !c.manifests.isEmpty { parts.append("manifests: \(c.manifests.joined(separator: ", "))") }
            if c.files > 0 { parts.append("\(c.files) files") }
            if c.repos > 0 { parts.append("\(c.repos) repos") }
            out.append("  - \(c.name)\(c.required ? " (required)" : "")\(parts.isEmpty ? "" : ": " + parts.joined(separator: "; "))")
        }
        out.append("Images:")
        if images.isEmpty { out.append("  (none)") }
        for i in images {
            out.append("  - \(i.reference)  \(i.digest)  \(i.size) bytes\(i.platforms.isEmpty ? "" : "  [\(i.platforms.joined(separator: ", "))]")")
        }
        return out.joined(separator: "\n")
    }
}

import Foundation

/// A content descriptor (OCI image spec): what a manifest, index or blob is, by digest and size.
public struct Descriptor: Codable, Hashable, Sendable {
    public var mediaType: String
    public var digest: Digest
    public var size: Int64
    public var annotations: [String: String]?
    public var platform: Platform?
    public var urls: [String]?
    public var artifactType: String?

    public init(mediaType: String, digest: Digest, size: Int64, annotations: [String: String]? = nil,
                platform: Platform? = nil) {
        self.mediaType = mediaType
        self.digest = digest
        self.size = size
        self.annotations = annotations
        self.platform = platform
    }
}

/// An image platform (`linux/amd64`, `linux/arm64/v8`).
public struct Platform: Codable, Hashable, Sendable, CustomStringConvertible {
    public var architecture: String
    public var os: String
    public var variant: String?
    public var osVersion: String?
    public var osFeatures: [String]?

    enum CodingKeys: String, CodingKey {
        case architecture, os, variant
        case osVersion = "os.version"
        case osFeatures = "os.features"
    }

    public init(architecture: String, os: String = "linux", variant: String? = nil) {
        self.architecture = architecture
        self.os = os
        self.variant = variant
    }

    public var description: String { [os, architecture, variant].compactMap { $0 }.joined(separator: "/") }

    /// Whether an image built for `self` runs on `wanted` (a package's architecture).
    /// arm64's variant defaults to v8; a missing variant on either side matches.
    public func matches(_ wanted: Platform) -> Bool {
        guard os == wanted.os, architecture == wanted.architecture else { return false }
        func norm(_ v: String?) -> String? { architecture == "arm64" && v == nil ? "v8" : v }
        if let a = norm(variant), let b = norm(wanted.variant) { return a == b }
        return true
    }
}

/// An image manifest (OCI or Docker v2 schema2; the shapes are the same for what we read).
public struct ImageManifest: Codable, Hashable, Sendable {
    public var schemaVersion: Int
    public var mediaType: String?
    public var artifactType: String?
    public var config: Descriptor
    public var layers: [Descriptor]
    public var subject: Descriptor?
    public var annotations: [String: String]?

    /// Every blob the manifest references: config first, then layers.
    public var blobs: [Descriptor] { [config] + layers }
}

/// An image index (OCI) or manifest list (Docker).
public struct ImageIndex: Codable, Hashable, Sendable {
    public var schemaVersion: Int
    public var mediaType: String?
    public var artifactType: String?
    public var manifests: [Descriptor]
    public var annotations: [String: String]?

    public init(schemaVersion: Int = 2, mediaType: String? = MediaType.ociIndex, manifests: [Descriptor],
                annotations: [String: String]? = nil) {
        self.schemaVersion = schemaVersion
        self.mediaType = mediaType
        self.manifests = manifests
        self.annotations = annotations
    }

    /// The child manifest for `platform`, or an error listing the platforms there are.
    public func manifest(for platform: Platform, reference: String) throws -> Descriptor {
        if let d = manifests.first(where: { $0.platform?.matches(platform) ?? false }) { return d }
        throw OCIError.noMatchingPlatform(reference: reference, wanted: platform.description,
                                          available: manifests.compactMap { $0.platform?.description })
    }
}

/// A manifest or index as fetched: the exact bytes (digests are over bytes; never re-encode) and the parse.
public enum ManifestDocument: Sendable {
    case manifest(ImageManifest)
    case index(ImageIndex)

    /// Parses bytes, using `mediaType` (from a Content-Type or descriptor) or the document's own field.
    public static func parse(_ data: Data, mediaType: String?, context: String) throws -> ManifestDocument {
        let probe: JSONProbe
        do { probe = try JSONDecoder().decode(JSONProbe.self, from: data) } catch {
            throw OCIError.invalidManifest(context, reason: "not JSON: \(error)")
        }
        let type = probe.mediaType ?? mediaType
        do {
            if MediaType.isIndex(type) || (type == nil && probe.manifests != nil) {
                return .index(try JSONDecoder().decode(ImageIndex.self, from: data))
            }
            if probe.schemaVersion == 1 { throw OCIError.invalidManifest(context, reason: "Docker schema 1 manifests are not supported") }
            return .manifest(try JSONDecoder().decode(ImageManifest.self, from: data))
        } catch let e as OCIError { throw e } catch {
            throw OCIError.invalidManifest(context, reason: "\(error)")
        }
    }

    private struct JSONProbe: Decodable {
        var schemaVersion: Int?
        var mediaType: String?
        var manifests: [Descriptor]?
    }
}

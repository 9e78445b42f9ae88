/// A manifest the registry can serve: its bytes (small, kept in memory) and media type.
struct Manifest {
    let mediaType: Bytes
    let bytes: Bytes
}

/// The OCI image layout inside the payload, resolved once after verification: which repository names
/// and tags exist, every manifest (by digest), and where each blob lies in the payload.
final class SeedLayout {
    /// repository name → tag → manifest digest hex
    private(set) var tags: [Bytes: [Bytes: Bytes]] = [:]
    /// digest hex → manifest
    private(set) var manifests: [Bytes: Manifest] = [:]
    /// digest hex → where the blob lies in the payload
    let blobs: [Bytes: TarEntry]
    private let payload: ChunkedPayload

    static let manifestLimit = 4 << 20

    init(payload: ChunkedPayload, entries: [Bytes: TarEntry]) throws(InjectorError) {
        self.payload = payload
        var blobs: [Bytes: TarEntry] = [:]
        for (path, entry) in entries where path.hasPrefix("blobs/sha256/") {
            let hex = path.from(13)
            if isSHA256Hex(hex) { blobs[hex] = entry }
        }
        self.blobs = blobs
        guard entries[Bytes("oci-layout")] != nil else {
            throw .malformed("the tar has no oci-layout file: the payload must be an OCI image layout")
        }
        guard let indexEntry = entries[Bytes("index.json")] else {
            throw .malformed("the tar has no index.json: the payload must be an OCI image layout")
        }
        guard indexEntry.size <= SeedLayout.manifestLimit else { throw .malformed("index.json is larger than 4 MiB") }
        let index = try parse(try payload.read(at: indexEntry.offset, count: indexEntry.size), "index.json")
        guard let list = index["manifests"]?.array else {
            throw .malformed("index.json has no \"manifests\" array")
        }
        if list.isEmpty { throw .malformed("index.json lists no manifests: nothing to serve") }
        for (i, descriptor) in list.enumerated() {
            let field: Message = "index.json manifests[\(i)]"
            let hex = try descriptorDigest(descriptor, field)
            guard let baseName = descriptor["annotations"]?["org.opencontainers.image.base.name"]?.string else {
                throw .malformed("\(field) has no org.opencontainers.image.base.name annotation (<path>:<tag>)")
            }
            guard let (name, tag) = splitNameTag(baseName) else {
                throw .malformed("\(field) annotation org.opencontainers.image.base.name \"\(baseName)\" is not <path>:<tag>")
            }
            try loadManifest(hex, descriptor: descriptor, field: field, depth: 0)
            var forName = tags[name] ?? [:]
            forName[tag] = hex
            tags[name] = forName
        }
    }

    /// Reads, checks and records manifest `hex`; for an index, its children too (a child manifest the
    /// layout does not hold is left out: a single-platform copy of a multi-platform image is normal).
    private func loadManifest(_ hex: Bytes, descriptor: JSON, field: Message, depth: Int) throws(InjectorError) {
        if manifests[hex] != nil { return }
        guard let entry = blobs[hex] else {
            throw .malformed("\(field) names manifest sha256:\(hex), which is not in blobs/sha256/")
        }
        if let size = descriptor["size"]?.intValue, size != entry.size {
            throw .malformed("\(field) says manifest sha256:\(hex) is \(size) bytes, the blob is \(entry.size)")
        }
        guard entry.size <= SeedLayout.manifestLimit else { throw .malformed("manifest sha256:\(hex) is larger than 4 MiB") }
        let bytes = try payload.read(at: entry.offset, count: entry.size)
        let doc = try parse(bytes, "manifest sha256:\(hex)")
        let isIndex = doc["manifests"] != nil
        let mediaType = doc["mediaType"]?.string ?? descriptor["mediaType"]?.string
            ?? (isIndex ? Bytes("application/vnd.oci.image.index.v1+json") : Bytes("application/vnd.oci.image.manifest.v1+json"))
        manifests[hex] = Manifest(mediaType: mediaType, bytes: bytes)
        if isIndex {
            guard depth < 4, let children = doc["manifests"]?.array else {
                throw .malformed("index sha256:\(hex) has a bad \"manifests\" list")
            }
            for (i, child) in children.enumerated() {
                let childField: Message = "index sha256:\(hex) manifests[\(i)]"
                let childHex = try descriptorDigest(child, childField)
                if blobs[childHex] == nil { continue }
                try loadManifest(childHex, descriptor: child, field: childField, depth: depth + 1)
            }
        } else {
            guard let config = doc["config"] else { throw .malformed("manifest sha256:\(hex) has no config") }
            try requireBlob(config, "manifest sha256:\(hex) config")
            for (i, layer) in (doc["layers"]?.array ?? []).enumerated() {
                try requireBlob(layer, "manifest sha256:\(hex) layers[\(i)]")
            }
        }
    }

    private func requireBlob(_ descriptor: JSON, _ field: Message) throws(InjectorError) {
        let hex = try descriptorDigest(descriptor, field)
        guard let entry = blobs[hex] else { throw .malformed("\(field) blob sha256:\(hex) is not in the payload") }
        if let size = descriptor["size"]?.intValue, size != entry.size {
            throw .malformed("\(field) says blob sha256:\(hex) is \(size) bytes, the payload holds \(entry.size)")
        }
    }

    private func descriptorDigest(_ descriptor: JSON, _ field: Message) throws(InjectorError) -> Bytes {
        guard let digest = descriptor["digest"]?.string else { throw .malformed("\(field) has no digest") }
        guard digest.hasPrefix("sha256:"), isSHA256Hex(digest.from(7)) else {
            throw .malformed("\(field) digest \"\(digest)\" is not sha256:<64 hex>")
        }
        return digest.from(7)
    }

    private func parse(_ bytes: Bytes, _ what: Message) throws(InjectorError) -> JSON {
        switch JSONParser.parse(bytes) {
        case .success(let v):
            guard v.isObject else { throw .malformed("\(what) is not a JSON object") }
            return v
        case .failure(let e): throw .malformed("\(what) is not valid JSON at byte \(e.offset): \(e.reason)")
        }
    }

    /// Every `name:tag`, sorted (for the start-up line).
    var summary: Bytes {
        var parts: [Bytes] = []
        for (name, byTag) in tags {
            for (tag, _) in byTag { parts.append(name + [58] + tag) }
        }
        parts.sort(by: bytesBefore)
        var out = Bytes()
        for p in parts {
            if !out.isEmpty { out.append(", ") }
            out.append(contentsOf: p)
        }
        return out
    }
}

/// Splits `library/registry:2.8.2` at the tag's colon (the last colon after the last slash).
func splitNameTag(_ u: Bytes) -> (Bytes, Bytes)? {
    var colon = -1
    for (i, c) in u.enumerated() {
        if c == 47 { colon = -1 }
        if c == 58 { colon = i }
    }
    guard colon > 0, colon < u.count - 1 else { return nil }
    return (u.slice(0, colon), u.from(colon + 1))
}

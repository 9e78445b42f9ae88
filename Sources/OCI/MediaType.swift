/// The media types Outpost reads and writes (OCI image spec and Docker's v2 schema2).
public enum MediaType {
    public static let ociManifest = "application/vnd.oci.image.manifest.v1+json"
    public static let ociIndex = "application/vnd.oci.image.index.v1+json"
    public static let ociConfig = "application/vnd.oci.image.config.v1+json"
    public static let ociLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip"
    public static let ociLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd"
    public static let ociLayer = "application/vnd.oci.image.layer.v1.tar"
    public static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
    public static let dockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
    public static let dockerConfig = "application/vnd.docker.container.image.v1+json"
    public static let dockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip"
    public static let dockerForeignLayer = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"

    public static func isIndex(_ t: String?) -> Bool { t == ociIndex || t == dockerManifestList }
    public static func isManifest(_ t: String?) -> Bool { t == ociManifest || t == dockerManifest }

    /// The Accept header for manifest requests: every manifest and index type we understand.
    public static let manifestAccept = [ociIndex, dockerManifestList, ociManifest, dockerManifest].joined(separator: ", ")
}

/// Well-known annotation keys.
public enum Annotation {
    /// The original image reference of a manifest in a package's `images/index.json` (Zarf) or the
    /// `path:tag` of a seed-payload manifest.
    public static let baseName = "org.opencontainers.image.base.name"
    public static let refName = "org.opencontainers.image.ref.name"
}

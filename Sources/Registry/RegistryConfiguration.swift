import OCI

/// How a `RegistryClient` talks to registries: where credentials come from, which hosts may use plain
/// HTTP, how much runs at once and how hard to retry. The defaults suit a workstation pulling from public
/// registries and pushing to a loopback or in-cluster registry.
public struct RegistryConfiguration: Sendable {
    /// A Docker `config.json` to read credentials from. When nil: `$DOCKER_CONFIG/config.json`, then
    /// `~/.docker/config.json` (a missing file means anonymous access).
    public var dockerConfigPath: String?
    /// Credentials given directly (host → user/password); they win over the config file.
    public var credentials: [String: Credentials]
    /// Hosts (`host` or `host:port`) reached over plain HTTP although they are not loopback.
    public var insecureHosts: Set<String>
    /// Blobs transferred at once for one image.
    public var maxConcurrentBlobs: Int
    /// Images transferred at once by `pullImages`.
    public var maxConcurrentImages: Int
    /// Extra attempts after a connection error, a 5xx or a 429.
    public var retries: Int
    /// The first retry waits this long; each further retry waits twice as long (with jitter, at most 30 s).
    public var retryBaseDelay: Duration
    /// Blobs larger than this are pushed in chunks (PATCH with Content-Range) instead of in one PUT.
    public var chunkedUploadThreshold: Int64
    /// The size of each chunk of a chunked upload.
    public var chunkSize: Int64

    public init(dockerConfigPath: String? = nil, credentials: [String: Credentials] = [:],
                insecureHosts: Set<String> = [], maxConcurrentBlobs: Int = 4, maxConcurrentImages: Int = 3,
                retries: Int = 3, retryBaseDelay: Duration = .milliseconds(500),
                chunkedUploadThreshold: Int64 = 256 << 20, chunkSize: Int64 = 64 << 20) {
        self.dockerConfigPath = dockerConfigPath
        self.credentials = credentials
        self.insecureHosts = insecureHosts
        self.maxConcurrentBlobs = max(1, maxConcurrentBlobs)
        self.maxConcurrentImages = max(1, maxConcurrentImages)
        self.retries = max(0, retries)
        self.retryBaseDelay = retryBaseDelay
        self.chunkedUploadThreshold = chunkedUploadThreshold
        self.chunkSize = max(1, chunkSize)
    }

    /// Whether `host` (as written in an image reference) is reached over plain HTTP.
    public func usesPlainHTTP(_ host: String) -> Bool {
        if insecureHosts.contains(host) { return true }
        if let bare = host.split(separator: ":").first, insecureHosts.contains(String(bare)), !host.hasPrefix("[") { return true }
        return ImageReference(registry: host, repository: "x", tag: nil, digest: nil).isLoopbackRegistry
    }
}

/// A user name and password (or token) for one registry.
public struct Credentials: Sendable, Hashable {
    public var username: String
    public var password: String
    public init(username: String, password: String) {
        self.username = username
        self.password = password
    }
}

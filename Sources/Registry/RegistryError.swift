import OCI

/// The one error type of the Registry module. Every case names the registry host, repository and
/// reference (when there is one) and what the registry said, so a user can tell a typo in an image
/// name from a wrong password from a network problem.
public enum RegistryError: Error, CustomStringConvertible, Sendable {
    /// The host could not be reached at all (refused, DNS, TLS handshake, timeout).
    case unreachable(host: String, reason: String)
    /// The registry does not have the image, tag or repository (404, MANIFEST_UNKNOWN, NAME_UNKNOWN).
    case imageNotFound(image: String, detail: String)
    /// The registry does not have a blob the manifest names.
    case blobNotFound(registry: String, repository: String, digest: Digest)
    /// The registry asked for credentials and either we had none or it refused them.
    case unauthorized(registry: String, repository: String, hadCredentials: Bool, detail: String)
    /// Authenticated but not allowed (403, DENIED).
    case denied(registry: String, repository: String, detail: String)
    /// Any other unexpected HTTP answer, with the registry's error JSON when it sent one.
    case httpStatus(registry: String, repository: String, reference: String, operation: String, status: Int, detail: String)
    /// Fetching a bearer token from the realm failed.
    case tokenRequestFailed(realm: String, status: Int, detail: String)
    /// Bytes from the registry did not match the digest that names them.
    case digestMismatch(registry: String, repository: String, expected: Digest, actual: Digest)
    /// Bytes from the registry did not have the size the descriptor says.
    case sizeMismatch(registry: String, repository: String, digest: Digest, expected: Int64, actual: Int64)
    /// A manifest that cannot be used (schema 1, not JSON, too large, unknown media type).
    case invalidManifest(image: String, reason: String)
    /// The image has no manifest for the wanted platform.
    case noMatchingPlatform(image: String, wanted: String, available: [String])
    /// A Docker config.json that cannot be read.
    case invalidCredentialsFile(path: String, reason: String)
    /// A `docker save` archive or OCI layout directory that is not what it claims to be.
    case invalidArchive(path: String, reason: String)
    /// Images requested from an archive or layout that it does not contain.
    case imageNotInArchive(path: String, image: String, available: [String])
    /// The local layout store failed (disk full, permissions, a corrupt blob).
    case store(String)

    public var description: String {
        switch self {
        case .unreachable(let host, let reason):
            return "cannot reach \(host): \(reason)"
        case .imageNotFound(let image, let detail):
            return "image \(image) not found" + Self.suffix(detail)
        case .blobNotFound(let registry, let repository, let digest):
            return "blob \(digest) not found in \(registry)/\(repository) (the registry is missing content its manifest names)"
        case .unauthorized(let registry, let repository, let had, let detail):
            let hint = had ? "the registry refused the credentials; check the user and password in the Docker config.json"
                           : "no credentials for \(registry); add them to a Docker config.json (docker login / --registry-config)"
            return "authentication to \(registry) for \(repository) failed: \(hint)" + Self.suffix(detail)
        case .denied(let registry, let repository, let detail):
            return "access to \(registry)/\(repository) denied" + Self.suffix(detail)
        case .httpStatus(let registry, let repository, let reference, let operation, let status, let detail):
            let ref = reference.isEmpty ? "" : (reference.hasPrefix("sha256:") ? "@" : ":") + reference
            return "\(operation) \(registry)/\(repository)\(ref): HTTP \(status)" + Self.suffix(detail)
        case .tokenRequestFailed(let realm, let status, let detail):
            return "token request to \(realm) failed: HTTP \(status)" + Self.suffix(detail)
        case .digestMismatch(let registry, let repository, let expected, let actual):
            return "\(registry)/\(repository): content for \(expected) has digest \(actual); refusing it"
        case .sizeMismatch(let registry, let repository, let digest, let expected, let actual):
            return "\(registry)/\(repository): blob \(digest) is \(actual) bytes, expected \(expected); refusing it"
        case .invalidManifest(let image, let reason):
            return "image \(image): unusable manifest: \(reason)"
        case .noMatchingPlatform(let image, let wanted, let available):
            return "image \(image) has no manifest for platform \(wanted) (available: \(available.joined(separator: ", ")))"
        case .invalidCredentialsFile(let path, let reason):
            return "Docker config \(path): \(reason)"
        case .invalidArchive(let path, let reason):
            return "\(path): \(reason)"
        case .imageNotInArchive(let path, let image, let available):
            let list = available.isEmpty ? "none" : available.joined(separator: ", ")
            return "\(path) does not contain image \(image) (it contains: \(list))"
        case .store(let reason):
            return "image store: \(reason)"
        }
    }

    private static func suffix(_ detail: String) -> String { detail.isEmpty ? "" : " (\(detail))" }
}

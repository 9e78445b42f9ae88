/// Everything that can go wrong talking to a Kubernetes API server: finding and reading the client
/// configuration, reaching the server, and the server's own refusals.
///
/// One error type for the module; each case names the file, field, URL or API path involved, and the
/// message says what to check next.
public enum ClusterError: Error, CustomStringConvertible, Equatable, Sendable {
    /// Neither a kubeconfig nor the in-cluster service account environment is available.
    case noConfiguration(String)
    /// A configuration file (kubeconfig, token, CA) cannot be read.
    case unreadableFile(path: String, reason: String)
    /// The kubeconfig is not usable: `location` is `file:line` or `file`, `field` the key involved.
    case invalidKubeconfig(location: String, field: String, reason: String)
    /// Certificates or keys (CA, client certificate) are not usable PEM.
    case invalidTLSMaterial(source: String, reason: String)
    /// A name that cannot be part of an API path (namespace names are DNS labels).
    case invalidName(String)
    /// The server could not be reached (refused, DNS, TLS handshake, timeout).
    case unreachable(url: String, reason: String)
    /// The server answered 401 or 403.
    case unauthorized(path: String, code: Int, message: String)
    /// The server answered 404 for this path.
    case notFound(path: String, message: String)
    /// Any other non-2xx answer, with the Status reason and message when the server sent one.
    case apiError(path: String, code: Int, reason: String, message: String)
    /// A 2xx answer whose body is not the JSON expected.
    case invalidResponse(path: String, reason: String)

    public var description: String {
        switch self {
        case .noConfiguration(let why): return "no Kubernetes client configuration: \(why)"
        case .unreadableFile(let p, let r): return "\(p): cannot read: \(r)"
        case .invalidKubeconfig(let l, let f, let r): return "\(l): kubeconfig field \(f): \(r)"
        case .invalidTLSMaterial(let s, let r): return "\(s): not usable TLS material: \(r)"
        case .invalidName(let n): return "\"\(n)\" is not a valid Kubernetes object name (lowercase letters, digits, '-', '.')"
        case .unreachable(let u, let r): return "Kubernetes API at \(u) is unreachable: \(r)"
        case .unauthorized(let p, let c, let m):
            return "Kubernetes API refused \(p) (\(c)): \(m); check the token or client certificate and the RBAC rules"
        case .notFound(let p, let m): return "Kubernetes API has no \(p): \(m)"
        case .apiError(let p, let c, let r, let m):
            return "Kubernetes API answered \(c)\(r.isEmpty ? "" : " \(r)") for \(p)\(m.isEmpty ? "" : ": \(m)")"
        case .invalidResponse(let p, let r): return "Kubernetes API sent an unusable answer for \(p): \(r)"
        }
    }
}

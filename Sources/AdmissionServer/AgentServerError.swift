/// Errors of the webhook server: unusable certificate, key or state files, or a port that cannot be bound.
public enum AgentServerError: Error, CustomStringConvertible, Sendable {
    case unreadableFile(path: String, reason: String)
    case invalidCertificate(path: String, reason: String)
    case invalidState(path: String, reason: String)
    case certificateGeneration(String)
    /// The Kubernetes client configuration (kubeconfig, service account) is unusable.
    case cluster(String)

    public var description: String {
        switch self {
        case .unreadableFile(let p, let r): return "\(p): cannot read: \(r)"
        case .invalidCertificate(let p, let r): return "\(p): not a usable PEM certificate/key: \(r)"
        case .invalidState(let p, let r): return "\(p): \(r)"
        case .certificateGeneration(let r): return "cannot generate certificates: \(r)"
        case .cluster(let r): return "cannot use the Kubernetes API configuration: \(r)"
        }
    }
}

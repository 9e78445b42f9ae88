/// Errors of the OCI module: each case carries what the user needs to find the problem.
public enum OCIError: Error, CustomStringConvertible, Equatable {
    case invalidReference(String, reason: String)
    case invalidDigest(String)
    case digestMismatch(expected: String, actual: String, context: String)
    case sizeMismatch(expected: Int64, actual: Int64, context: String)
    case invalidManifest(String, reason: String)
    case noMatchingPlatform(reference: String, wanted: String, available: [String])
    case layout(path: String, reason: String)
    case blobNotFound(String)
    case invalidGitURL(String)
    case file(path: String, reason: String)

    public var description: String {
        switch self {
        case .invalidReference(let r, let why): return "invalid image reference \"\(r)\": \(why)"
        case .invalidDigest(let d): return "invalid digest \"\(d)\": expected sha256:<64 lowercase hex>"
        case .digestMismatch(let e, let a, let c): return "\(c): digest mismatch: expected \(e), got \(a)"
        case .sizeMismatch(let e, let a, let c): return "\(c): size mismatch: expected \(e) bytes, got \(a)"
        case .invalidManifest(let m, let why): return "invalid manifest \(m): \(why)"
        case .noMatchingPlatform(let r, let w, let a):
            return "\(r) has no image for platform \(w) (available: \(a.joined(separator: ", ")))"
        case .layout(let p, let why): return "OCI layout \(p): \(why)"
        case .blobNotFound(let d): return "blob \(d) not found"
        case .invalidGitURL(let u): return "invalid git URL \"\(u)\": expected scheme://host/path/repo[.git][@ref]"
        case .file(let p, let why): return "\(p): \(why)"
        }
    }
}

/// Everything that can go wrong while reading an AdmissionReview, the agent state, or mutating an object.
///
/// One error type for the module: each case carries the field or value the operator needs to fix the input.
public enum AdmissionError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The request body is not JSON (with the parser's explanation).
    case malformedJSON(String)
    /// A field the AdmissionReview or object must have is missing or has the wrong type (JSON pointer-like path).
    case missingField(String)
    /// `apiVersion`/`kind` is not an AdmissionReview this webhook understands.
    case unsupportedReview(apiVersion: String, kind: String)
    /// A reference (image, git URL, OCI URL) in the named field could not be transformed.
    case invalidReference(field: String, value: String, reason: String)
    /// A subresource the webhook is not registered for.
    case unsupportedSubresource(String)
    /// The zarf-state document is unusable.
    case invalidState(String)
    /// The policy string is neither `all` nor `labeled`.
    case invalidPolicy(String)
    /// No hook is served under this path.
    case unknownRoute(String)

    public var description: String {
        switch self {
        case .malformedJSON(let why): return "malformed JSON: \(why)"
        case .missingField(let f): return "missing or invalid field \(f)"
        case .unsupportedReview(let v, let k):
            return "unsupported review \(v.isEmpty ? "<no apiVersion>" : v)/\(k.isEmpty ? "<no kind>" : k): expected admission.k8s.io/v1 or v1beta1 AdmissionReview"
        case .invalidReference(let f, let v, let r): return "cannot transform \(f) \"\(v)\": \(r)"
        case .unsupportedSubresource(let s): return "attempted mutation of unsupported subresource: \(s)"
        case .invalidState(let why): return "invalid zarf state: \(why)"
        case .invalidPolicy(let p): return "invalid mutation policy \"\(p)\": use all or labeled"
        case .unknownRoute(let r): return "no admission hook at \(r)"
        }
    }
}

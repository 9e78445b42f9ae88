/// Errors of the Injection module: what went wrong planning the seed registry, naming the image,
/// file, node or field involved and what to do about it.
public enum InjectionError: Error, CustomStringConvertible, Equatable {
    /// A seed image is not in the package's image layout.
    case seedImageMissing(String, available: [String])
    /// No seed images were given.
    case noSeedImages
    /// A file could not be read or written.
    case io(path: String, reason: String)
    /// The payload is too big for the chunk naming (999 chunks of 768 KiB).
    case payloadTooLarge(bytes: Int64, maxChunks: Int)
    /// The node or pod list is not the JSON the Kubernetes API returns.
    case invalidClusterJSON(String, reason: String)
    /// A Kubernetes quantity (`500m`, `64Mi`) could not be parsed.
    case invalidQuantity(String, field: String)
    /// No node and image can host the injector; one reason per node.
    case noInjectorPlacement(architecture: String, reasons: [String])
    /// The injector binary is unusable (missing, empty, or over the ConfigMap limit).
    case injectorBinary(path: String, reason: String)

    public var description: String {
        switch self {
        case .seedImageMissing(let ref, let available):
            let list = available.isEmpty ? "the layout has no images" : "it has: " + available.joined(separator: ", ")
            return "seed image \(ref) is not in the package's images (\(list))"
        case .noSeedImages:
            return "no seed images: name the registry image to seed the cluster with (--seed-image)"
        case .io(let path, let reason):
            return "\(path): \(reason)"
        case .payloadTooLarge(let bytes, let max):
            return "the seed payload is \(bytes) bytes: more than \(max) chunks of 768 KiB; seed only the registry image"
        case .invalidClusterJSON(let what, let reason):
            return "\(what): \(reason) (expected the JSON of `kubectl get \(what.contains("pod") ? "pods -A" : "nodes") -o json`)"
        case .invalidQuantity(let q, let field):
            return "\(field): \"\(q)\" is not a Kubernetes quantity"
        case .noInjectorPlacement(let arch, let reasons):
            let detail = reasons.isEmpty ? "the node list is empty" : reasons.joined(separator: "; ")
            return "no node can run the injector (needs an untainted \(arch) node with room for 0.5 CPU / 64Mi and a running pod whose image needs no pull secret): \(detail)"
        case .injectorBinary(let path, let reason):
            return "injector binary \(path): \(reason) (build it with scripts/build-injector)"
        }
    }
}

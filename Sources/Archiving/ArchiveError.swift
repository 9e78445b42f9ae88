/// Errors of the Archiving module (libarchive and libzstd), naming the file and what failed.
public enum ArchiveError: Error, CustomStringConvertible {
    case libarchive(String, context: String)
    case zstd(String, context: String)
    case io(String, context: String)
    case unsafePath(String, archive: String)
    case truncated(String)

    public var description: String {
        switch self {
        case .libarchive(let m, let c): return "\(c): \(m)"
        case .zstd(let m, let c): return "\(c): zstd: \(m)"
        case .io(let m, let c): return "\(c): \(m)"
        case .unsafePath(let p, let a): return "\(a): unsafe entry name \"\(p)\" (absolute or contains ..)"
        case .truncated(let c): return "\(c): archive is truncated"
        }
    }
}

/// The one error type of the `Media` module (FAT32, GPT, ISO9660 writers and readers). Every case names
/// what the user needs to fix or find: the file, the field, or the byte offset of a damaged structure.
public enum MediaError: Error, CustomStringConvertible, Equatable {
    /// A path given for a filesystem is not acceptable (empty component, illegal character, duplicate, …).
    case invalidPath(String, reason: String)
    /// A label, GUID, name or size given by the caller breaks the format's rules.
    case invalidField(String, value: String, reason: String)
    /// A file is larger than the filesystem can hold in one file (FAT32: 4 GiB − 1).
    case fileTooLarge(String, size: UInt64, limit: UInt64)
    /// The volume or disk is too small for its contents or its format's minimum.
    case tooSmall(String, needed: UInt64, available: UInt64)
    /// A source file cannot be read or changed size since the volume was planned.
    case sourceFile(String, reason: String)
    /// A read or write on the target failed.
    case io(String, offset: UInt64, reason: String)
    /// An on-disk structure is damaged or not what was expected.
    case corrupt(String, offset: UInt64, reason: String)
    /// A path looked up in a filesystem does not exist there.
    case notFound(String)

    public var description: String {
        switch self {
        case .invalidPath(let p, let r): return "invalid path \"\(p)\": \(r)"
        case .invalidField(let f, let v, let r): return "invalid \(f) \"\(v)\": \(r)"
        case .fileTooLarge(let p, let s, let l):
            return "\(p): \(s) bytes is larger than the filesystem limit of \(l) bytes per file (split it into parts)"
        case .tooSmall(let what, let n, let a):
            return "\(what) needs at least \(n) bytes but only \(a) are available"
        case .sourceFile(let p, let r): return "source file \(p): \(r)"
        case .io(let what, let o, let r): return "\(what) at byte offset \(o): \(r)"
        case .corrupt(let what, let o, let r): return "\(what) at byte offset \(o): \(r)"
        case .notFound(let p): return "\(p): no such file or directory in the filesystem"
        }
    }
}

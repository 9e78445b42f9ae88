import Foundation

/// One problem found in a package definition, located by file, line and key path
/// (printed as `zarf.yaml:12: components[0].images[1]: expected string, got mapping`).
public struct DefinitionIssue: Sendable, Equatable, CustomStringConvertible {
    public let file: String
    public let line: Int?
    public let path: String
    public let message: String

    public init(file: String, line: Int?, path: String, message: String) {
        self.file = file
        self.line = line
        self.path = path
        self.message = message
    }

    public var description: String {
        let location = line.map { "\(file):\($0)" } ?? file
        return path.isEmpty ? "\(location): \(message)" : "\(location): \(path): \(message)"
    }
}

/// The errors of the Packaging module: each case carries the file, key, entry or part a user needs to
/// find the problem, and the message says what to do next.
public enum PackagingError: Error, CustomStringConvertible, Equatable {
    /// The definition is not valid YAML.
    case yamlSyntax(file: String, line: Int?, message: String)
    /// The definition breaks the schema or a naming rule; every issue found is listed.
    case invalidDefinition([DefinitionIssue])
    /// A `###ZARF_PKG_TMPL_<KEY>###` has no value.
    case unsetTemplate(file: String, line: Int?, key: String)
    /// A component import cannot be resolved.
    case importFailed(component: String, reason: String)
    /// Reading or writing a file failed.
    case io(path: String, message: String)
    /// The package archive itself is malformed (not a tar, bad checksums.txt line, missing zarf.yaml).
    case malformedPackage(path: String, message: String)
    /// A file in the package does not match its checksum.
    case checksumMismatch(entry: String, expected: String, actual: String)
    /// A file listed in checksums.txt is not in the package.
    case missingEntry(String)
    /// A file in the package is not listed in checksums.txt.
    case unlistedEntry(String)
    /// An entry or definition name is unsafe (`..`, `/`, `\`, absolute).
    case unsafeName(String, context: String)
    /// The archive ends early.
    case truncated(path: String)
    /// A split package is incomplete or does not match its `.part000` record.
    case splitPackage(path: String, message: String)
    /// Signature or key problems.
    case signature(String)
    /// A key file cannot be read or written.
    case key(path: String, message: String)

    public var description: String {
        switch self {
        case .yamlSyntax(let f, let l, let m):
            return "\(l.map { "\(f):\($0)" } ?? f): invalid YAML: \(m)"
        case .invalidDefinition(let issues):
            return issues.map(\.description).joined(separator: "\n")
        case .unsetTemplate(let f, let l, let k):
            return "\(l.map { "\(f):\($0)" } ?? f): package template ###ZARF_PKG_TMPL_\(k)### has no value: pass --set \(k)=VALUE or add it to zarf-config.yaml under package.create.set"
        case .importFailed(let c, let r):
            return "component \(c): import failed: \(r)"
        case .io(let p, let m):
            return "\(p): \(m)"
        case .malformedPackage(let p, let m):
            return "\(p): \(m)"
        case .checksumMismatch(let e, let x, let a):
            return "\(e): checksum mismatch (expected sha256 \(x), got \(a)): the package is corrupt or was modified"
        case .missingEntry(let e):
            return "\(e): listed in checksums.txt but missing from the package"
        case .unlistedEntry(let e):
            return "\(e): present in the package but not listed in checksums.txt"
        case .unsafeName(let n, let c):
            return "\(c): unsafe name \"\(n)\" (must not be \"..\", absolute, or contain / or \\)"
        case .truncated(let p):
            return "\(p): the archive is truncated (it ends before the end-of-archive marker); copy it again"
        case .splitPackage(let p, let m):
            return "\(p): split package: \(m)"
        case .signature(let m):
            return "signature: \(m)"
        case .key(let p, let m):
            return "\(p): \(m)"
        }
    }
}

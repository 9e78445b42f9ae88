import Foundation

/// One problem found in a site definition: where it is (file, line, column), which key, and why.
public struct SiteIssue: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var column: Int?
    /// Dotted key path, e.g. `nodes[1].interface.mac`.
    public var key: String
    public var reason: String

    public init(file: String, line: Int? = nil, column: Int? = nil, key: String, reason: String) {
        self.file = file; self.line = line; self.column = column; self.key = key; self.reason = reason
    }

    public var description: String {
        var loc = file
        if let line { loc += ":\(line)" }
        if let column { loc += ":\(column)" }
        return "\(loc): \(key): \(reason)"
    }
}

/// Every failure of the Talos module, carrying what a user needs to fix it.
public enum TalosError: Error, CustomStringConvertible, Sendable {
    /// The site definition is invalid; all problems found, in file order.
    case invalidSite([SiteIssue])
    /// A YAML file could not be parsed.
    case yaml(file: String, line: Int?, reason: String)
    /// The secrets bundle is missing an item or holds a bad one.
    case secrets(file: String, key: String, reason: String)
    /// A patch could not be read or applied.
    case patch(file: String, reason: String)
    /// A file could not be read or written.
    case io(path: String, reason: String)
    /// The output exists and `--force` was not given.
    case exists(path: String)
    /// Key or certificate generation failed.
    case crypto(String)

    public var description: String {
        switch self {
        case .invalidSite(let issues):
            return "invalid site definition (\(issues.count) problem\(issues.count == 1 ? "" : "s")):\n"
                + issues.map { "  " + $0.description }.joined(separator: "\n")
        case .yaml(let file, let line, let reason):
            return "\(file)\(line.map { ":\($0)" } ?? ""): not valid YAML: \(reason)"
        case .secrets(let file, let key, let reason):
            return "\(file): secrets bundle key \(key): \(reason) (regenerate with `outpost talos gen secrets`)"
        case .patch(let file, let reason):
            return "patch \(file): \(reason)"
        case .io(let path, let reason):
            return "\(path): \(reason)"
        case .exists(let path):
            return "\(path) already exists; refusing to overwrite it (pass --force to replace it)"
        case .crypto(let reason):
            return "key or certificate generation failed: \(reason)"
        }
    }
}

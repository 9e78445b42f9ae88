/// Errors of package creation: each names the component, file, URL or command that failed and why.
public enum BuilderError: Error, CustomStringConvertible {
    case missingFile(String, component: String, field: String)
    case shasumMismatch(source: String, expected: String, actual: String)
    case download(url: String, reason: String)
    case actionFailed(command: String, component: String?, status: Int32, output: String)
    case actionTimedOut(command: String, component: String?, seconds: Int)
    case toolMissing(String, neededFor: String)
    case chart(name: String, reason: String)
    case git(url: String, reason: String)
    case image(reference: String, reason: String)
    case invalid(String)

    public var description: String {
        switch self {
        case .missingFile(let p, let c, let f): return "component \"\(c)\": \(f): file not found: \(p)"
        case .shasumMismatch(let s, let e, let a): return "\(s): shasum mismatch: expected \(e), got \(a)"
        case .download(let u, let r): return "cannot download \(u): \(r)"
        case .actionFailed(let cmd, let c, let st, let out):
            let tail = out.split(separator: "\n").suffix(5).joined(separator: "\n")
            return "\(c.map { "component \"\($0)\": " } ?? "")action `\(cmd)` failed with exit status \(st)" + (tail.isEmpty ? "" : ":\n\(tail)")
        case .actionTimedOut(let cmd, let c, let s):
            return "\(c.map { "component \"\($0)\": " } ?? "")action `\(cmd)` timed out after \(s)s"
        case .toolMissing(let t, let why): return "\(t) is not installed; it is needed for \(why)"
        case .chart(let n, let r): return "chart \"\(n)\": \(r)"
        case .git(let u, let r): return "git repository \(u): \(r)"
        case .image(let r, let why): return "image \(r): \(why)"
        case .invalid(let m): return m
        }
    }
}

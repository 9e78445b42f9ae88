import Foundation

/// RFC 6902 JSON Patch and RFC 7386 JSON Merge Patch over `JSONValue`.
///
/// Shared here because several parts of Outpost produce or apply patches: the admission webhook returns
/// JSON Patches, the cluster simulator applies them, and the Kubernetes client sends merge patches.
public enum JSONPatch {
    /// Why a patch could not be applied; `index` is the operation's position in the patch array.
    public enum Failure: Error, CustomStringConvertible, Equatable {
        case malformed(index: Int, String)
        case pathNotFound(index: Int, path: String)
        case testFailed(index: Int, path: String)
        public var description: String {
            switch self {
            case .malformed(let i, let why): return "JSON patch operation \(i): \(why)"
            case .pathNotFound(let i, let p): return "JSON patch operation \(i): path \(p) does not exist"
            case .testFailed(let i, let p): return "JSON patch operation \(i): test of \(p) failed"
            }
        }
    }

    /// Applies an RFC 6902 patch (an array of operations) to `document`. Either every operation applies or
    /// the error is thrown and the caller keeps the original document.
    public static func apply(_ patch: JSONValue, to document: JSONValue) throws(Failure) -> JSONValue {
        guard case .array(let ops) = patch else { throw .malformed(index: 0, "a JSON patch must be an array") }
        var doc = document
        for (i, op) in ops.enumerated() {
            guard let kind = op["op"]?.stringValue else { throw .malformed(index: i, "missing \"op\"") }
            guard let pathText = op["path"]?.stringValue else { throw .malformed(index: i, "missing \"path\"") }
            let path = try pointer(pathText, index: i)
            switch kind {
            case "add":
                guard let value = op["value"] else { throw .malformed(index: i, "add needs \"value\"") }
                doc = try add(doc, path[...], value, i, pathText)
            case "remove":
                doc = try remove(doc, path[...], i, pathText).0
            case "replace":
                guard let value = op["value"] else { throw .malformed(index: i, "replace needs \"value\"") }
                doc = try remove(doc, path[...], i, pathText).0
                doc = try add(doc, path[...], value, i, pathText)
            case "move", "copy":
                guard let fromText = op["from"]?.stringValue else { throw .malformed(index: i, "\(kind) needs \"from\"") }
                let from = try pointer(fromText, index: i)
                guard let value = get(doc, from) else { throw .pathNotFound(index: i, path: fromText) }
                if kind == "move" { doc = try remove(doc, from[...], i, fromText).0 }
                doc = try add(doc, path[...], value, i, pathText)
            case "test":
                guard let value = op["value"] else { throw .malformed(index: i, "test needs \"value\"") }
                guard get(doc, path) == value else { throw .testFailed(index: i, path: pathText) }
            default:
                throw .malformed(index: i, "unknown op \"\(kind)\"")
            }
        }
        return doc
    }

    /// Splits an RFC 6901 pointer into unescaped tokens.
    public static func pointer(_ text: String, index: Int = 0) throws(Failure) -> [String] {
        if text.isEmpty { return [] }
        guard text.hasPrefix("/") else { throw .malformed(index: index, "path \"\(text)\" must start with /") }
        return text.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map {
            $0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
        }
    }

    /// Escapes one token for a pointer (`/` → `~1`, `~` → `~0`).
    public static func escape(_ token: String) -> String {
        token.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
    }

    static func get(_ doc: JSONValue, _ path: [String]) -> JSONValue? {
        var cur: JSONValue? = doc
        for t in path {
            switch cur {
            case .object(let o)?: cur = o[t]
            case .array(let a)?: guard let n = Int(t), a.indices.contains(n) else { return nil }; cur = a[n]
            default: return nil
            }
        }
        return cur
    }

    private static func add(_ doc: JSONValue, _ path: ArraySlice<String>, _ value: JSONValue, _ i: Int, _ text: String) throws(Failure) -> JSONValue {
        guard let head = path.first else { return value }
        let rest = path.dropFirst()
        switch doc {
        case .object(var o):
            if rest.isEmpty { o[head] = value } else {
                guard let child = o[head] else { throw .pathNotFound(index: i, path: text) }
                o[head] = try add(child, rest, value, i, text)
            }
            return .object(o)
        case .array(var a):
            if rest.isEmpty {
                if head == "-" { a.append(value) } else {
                    guard let n = Int(head), n >= 0, n <= a.count else { throw .pathNotFound(index: i, path: text) }
                    a.insert(value, at: n)
                }
            } else {
                guard let n = Int(head), a.indices.contains(n) else { throw .pathNotFound(index: i, path: text) }
                a[n] = try add(a[n], rest, value, i, text)
            }
            return .array(a)
        default:
            throw .pathNotFound(index: i, path: text)
        }
    }

    private static func remove(_ doc: JSONValue, _ path: ArraySlice<String>, _ i: Int, _ text: String) throws(Failure) -> (JSONValue, JSONValue) {
        guard let head = path.first else { throw .malformed(index: i, "cannot remove the whole document") }
        let rest = path.dropFirst()
        switch doc {
        case .object(var o):
            guard let child = o[head] else { throw .pathNotFound(index: i, path: text) }
            if rest.isEmpty { o[head] = nil; return (.object(o), child) }
            let (newChild, removed) = try remove(child, rest, i, text)
            o[head] = newChild
            return (.object(o), removed)
        case .array(var a):
            guard let n = Int(head), a.indices.contains(n) else { throw .pathNotFound(index: i, path: text) }
            if rest.isEmpty { let r = a.remove(at: n); return (.array(a), r) }
            let (newChild, removed) = try remove(a[n], rest, i, text)
            a[n] = newChild
            return (.array(a), removed)
        default:
            throw .pathNotFound(index: i, path: text)
        }
    }
}

/// RFC 7386 JSON Merge Patch: objects merge key by key, `null` deletes, anything else replaces.
public enum JSONMergePatch {
    public static func apply(_ patch: JSONValue, to target: JSONValue) -> JSONValue {
        guard case .object(let p) = patch else { return patch }
        var result: [String: JSONValue]
        if case .object(let t) = target { result = t } else { result = [:] }
        for (k, v) in p {
            if v.isNull { result[k] = nil } else { result[k] = apply(v, to: result[k] ?? .null) }
        }
        return .object(result)
    }
}

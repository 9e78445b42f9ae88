import Foundation
import OutpostCore

/// A parsed label selector (`app=web,tier!=db,env in (a,b),!legacy`) or the structured
/// `matchLabels`/`matchExpressions` form used inside objects.
struct LabelSelector: Sendable {
    enum Requirement: Sendable {
        case equals(String, String)
        case notEquals(String, String)
        case isIn(String, Set<String>)
        case notIn(String, Set<String>)
        case exists(String)
        case doesNotExist(String)
    }
    var requirements: [Requirement] = []
    /// A nil structured selector in some fields means "nothing"; this flag records that.
    var matchesNothing = false

    static let everything = LabelSelector()

    /// Parses the query-string form; throws 400 with the offending term.
    init(parsing text: String) throws(SimulatorError) {
        for term in Self.splitTerms(text) {
            let t = term.trimmingCharacters(in: .whitespaces)
            if t.isEmpty { continue }
            if let r = t.range(of: " notin ") ?? t.range(of: " in ") {
                let key = String(t[..<r.lowerBound]).trimmingCharacters(in: .whitespaces)
                var rest = String(t[r.upperBound...]).trimmingCharacters(in: .whitespaces)
                guard rest.hasPrefix("("), rest.hasSuffix(")") else {
                    throw .badRequest("unable to parse requirement: \(t): values must be in parentheses")
                }
                rest = String(rest.dropFirst().dropLast())
                let values = Set(rest.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
                requirements.append(t.contains(" notin ") ? .notIn(key, values) : .isIn(key, values))
            } else if let r = t.range(of: "!=") {
                requirements.append(.notEquals(String(t[..<r.lowerBound]).trimmingCharacters(in: .whitespaces),
                                               String(t[r.upperBound...]).trimmingCharacters(in: .whitespaces)))
            } else if let r = t.range(of: "==") ?? t.range(of: "=") {
                requirements.append(.equals(String(t[..<r.lowerBound]).trimmingCharacters(in: .whitespaces),
                                            String(t[r.upperBound...]).trimmingCharacters(in: .whitespaces)))
            } else if t.hasPrefix("!") {
                requirements.append(.doesNotExist(String(t.dropFirst()).trimmingCharacters(in: .whitespaces)))
            } else if t.allSatisfy({ $0.isLetter || $0.isNumber || "-_./".contains($0) }) {
                requirements.append(.exists(t))
            } else {
                throw .badRequest("unable to parse requirement: \(t)")
            }
        }
    }

    init() {}

    /// From `{matchLabels: …, matchExpressions: …}`; a missing selector (nil) matches nothing.
    init(structured: JSONValue?) {
        guard let s = structured, case .object = s else { matchesNothing = true; return }
        for (k, v) in s["matchLabels"]?.objectValue ?? [:] {
            requirements.append(.equals(k, v.stringValue ?? ""))
        }
        for e in s["matchExpressions"]?.arrayValue ?? [] {
            let key = e["key"]?.stringValue ?? ""
            let values = Set(e["values"]?.arrayValue?.compactMap(\.stringValue) ?? [])
            switch e["operator"]?.stringValue {
            case "In": requirements.append(.isIn(key, values))
            case "NotIn": requirements.append(.notIn(key, values))
            case "Exists": requirements.append(.exists(key))
            case "DoesNotExist": requirements.append(.doesNotExist(key))
            default: matchesNothing = true
            }
        }
    }

    /// Splits on commas that are not inside parentheses.
    private static func splitTerms(_ s: String) -> [String] {
        var out: [String] = [], cur = "", depth = 0
        for c in s {
            if c == "(" { depth += 1 } else if c == ")" { depth -= 1 }
            if c == ",", depth == 0 { out.append(cur); cur = "" } else { cur.append(c) }
        }
        out.append(cur)
        return out
    }

    func matches(_ labels: [String: String]) -> Bool {
        if matchesNothing { return false }
        for r in requirements {
            switch r {
            case .equals(let k, let v): if labels[k] != v { return false }
            case .notEquals(let k, let v): if labels[k] == v { return false }
            case .isIn(let k, let vs): guard let v = labels[k], vs.contains(v) else { return false }
            case .notIn(let k, let vs): if let v = labels[k], vs.contains(v) { return false }
            case .exists(let k): if labels[k] == nil { return false }
            case .doesNotExist(let k): if labels[k] != nil { return false }
            }
        }
        return true
    }

    func matches(object: JSONValue) -> Bool { matches(object.labels) }
}

/// A field selector (`metadata.name=x,spec.nodeName=node-1,status.phase!=Running`): equality on
/// dotted paths into the object, as the API server supports for the common fields.
struct FieldSelector: Sendable {
    var terms: [(path: [String], value: String, negate: Bool)] = []

    init(parsing text: String) throws(SimulatorError) {
        for term in text.split(separator: ",") {
            let t = String(term)
            let negate = t.contains("!=")
            let parts = negate ? t.components(separatedBy: "!=") : t.replacingOccurrences(of: "==", with: "=").components(separatedBy: "=")
            guard parts.count == 2 else { throw .badRequest("invalid field selector term: \(t)") }
            terms.append((parts[0].split(separator: ".").map(String.init), parts[1], negate))
        }
    }

    func matches(_ object: JSONValue) -> Bool {
        for t in terms {
            var v: JSONValue? = object
            for p in t.path { v = v?[p] }
            let s: String
            switch v {
            case .string(let x)?: s = x
            case .bool(let b)?: s = b ? "true" : "false"
            case .number?: s = v?.intValue.map(String.init) ?? ""
            default: s = ""
            }
            if (s == t.value) == t.negate { return false }
        }
        return true
    }
}

extension JSONValue {
    /// `metadata.labels` as a dictionary.
    var labels: [String: String] {
        (self["metadata"]?["labels"]?.objectValue ?? [:]).compactMapValues(\.stringValue)
    }
    var name: String { self["metadata"]?["name"]?.stringValue ?? "" }
    var namespace: String { self["metadata"]?["namespace"]?.stringValue ?? "" }
    var uid: String { self["metadata"]?["uid"]?.stringValue ?? "" }

    /// Sets a value at a path of object keys, creating intermediate objects.
    mutating func set(_ path: [String], _ value: JSONValue?) {
        guard let first = path.first else { if let value { self = value }; return }
        guard case .object(var o) = self else { return }
        if path.count == 1 { o[first] = value } else {
            var child = o[first] ?? [:]
            if case .object = child {} else { child = [:] }
            child.set(Array(path.dropFirst()), value)
            o[first] = child
        }
        self = .object(o)
    }

    func at(_ path: [String]) -> JSONValue? {
        var v: JSONValue? = self
        for p in path { v = v?[p] }
        return v
    }
}

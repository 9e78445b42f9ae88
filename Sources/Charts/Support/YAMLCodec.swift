import Foundation
import Yams

/// YAML in and out with Helm's semantics: documents decode as `sigs.k8s.io/yaml` does (YAML → JSON →
/// Go values: every number a float64, YAML 1.1 booleans, timestamps kept as strings, `<<` merges),
/// and encode as go-yaml v2 prints the JSON form (sorted keys, 2-space indent, 80-column folding).
public enum YAMLCodec {
    /// A YAML syntax error with go-yaml's wording: "yaml: line N: problem".
    public struct SyntaxError: Error, CustomStringConvertible, Sendable {
        public let line: Int
        public let problem: String
        public var description: String { line > 0 ? "yaml: line \(line): \(problem)" : "yaml: \(problem)" }
    }

    /// Decodes one document (an empty document is null).
    public static func decode(_ text: String) throws -> Value {
        try LibYAML.parseAll(text).first ?? .null
    }

    /// Decodes every document of a stream.
    public static func decodeAll(_ text: String) throws -> [Value] {
        try LibYAML.parseAll(text)
    }

    static let trueWords: Set<String> = ["y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"]
    static let falseWords: Set<String> = ["n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"]
    static let nullWords: Set<String> = ["", "~", "null", "Null", "NULL"]

    /// go-yaml v2's implicit typing of a plain scalar, then JSON's float64 for every number.
    static func resolvePlain(_ s: String) -> Value {
        if nullWords.contains(s) { return .null }
        if trueWords.contains(s) { return .bool(true) }
        if falseWords.contains(s) { return .bool(false) }
        guard let c = s.utf8.first, (c >= 48 && c <= 57) || c == 45 || c == 43 || c == 46 else { return .string(s) }
        if let n = parseNumber(s) { return .float(n) }
        return .string(s)
    }

    static func parseNumber(_ s: String) -> Double? {
        switch s {
        case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF": return nil  // JSON cannot carry infinities
        case "-.inf", "-.Inf", "-.INF", ".nan", ".NaN", ".NAN": return nil
        default: break
        }
        let plain = s.replacingOccurrences(of: "_", with: "")
        var body = Substring(plain)
        var neg = false
        if body.hasPrefix("-") { neg = true; body = body.dropFirst() } else if body.hasPrefix("+") { body = body.dropFirst() }
        if body.isEmpty { return nil }
        var iv: UInt64?
        if body.hasPrefix("0x") { iv = UInt64(body.dropFirst(2), radix: 16) }
        else if body.hasPrefix("0b") { iv = UInt64(body.dropFirst(2), radix: 2) }
        else if body.count > 1 && body.hasPrefix("0") && body.allSatisfy({ $0 >= "0" && $0 <= "7" }) { iv = UInt64(body.dropFirst(), radix: 8) }
        else if body.allSatisfy({ $0.isASCII && $0.isNumber }) { iv = UInt64(body) }
        if let iv { return neg ? -Double(iv) : Double(iv) }
        // float: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
        let b = Array(body.utf8)
        var i = 0
        var digits = 0
        while i < b.count && b[i] >= 48 && b[i] <= 57 { i += 1; digits += 1 }
        if i < b.count && b[i] == 46 {
            i += 1
            var frac = 0
            while i < b.count && b[i] >= 48 && b[i] <= 57 { i += 1; frac += 1 }
            if digits == 0 && frac == 0 { return nil }
        } else if digits == 0 { return nil }
        if i < b.count && (b[i] == 101 || b[i] == 69) {
            i += 1
            if i < b.count && (b[i] == 43 || b[i] == 45) { i += 1 }
            var ed = 0
            while i < b.count && b[i] >= 48 && b[i] <= 57 { i += 1; ed += 1 }
            if ed == 0 { return nil }
        }
        if i != b.count { return nil }
        guard let d = Double(String(body)) else { return nil }
        return neg ? -d : d
    }

    // MARK: encoding

    /// go-yaml v2's Marshal of the value's JSON form (the trailing newline kept).
    public static func encode(_ v: Value) throws -> String {
        let node = toNode(v)
        return try Yams.serialize(node: node, indent: 2, width: 80, allowUnicode: true)
    }

    static func toNode(_ v: Value) -> Yams.Node {
        switch v {
        case .null: return Yams.Node("null", .implicit, .plain)
        case .bool(let b): return Yams.Node(b ? "true" : "false", .implicit, .plain)
        case .int(let i): return Yams.Node(String(i), .implicit, .plain)
        case .float(let f): return Yams.Node(yamlFloat(f), .implicit, .plain)
        case .string(let s): return stringNode(s)
        case .bytes(let b): return stringNode(Data(b).base64EncodedString())
        case .list(let l):
            return .sequence(Yams.Node.Sequence(l.map(toNode), .implicit, .block))
        case .map(let m):
            let keys = m.sortedKeys
            return .mapping(Yams.Node.Mapping(keys.map { (stringNode($0), toNode(m[$0]!)) }, .implicit, .block))
        case .object(let o):
            return toNode(o.field("__json__") ?? .string(o.goDescription))
        }
    }

    /// A float64 after the JSON round trip: integral values print as integers, others as strconv 'g'.
    static func yamlFloat(_ f: Double) -> String {
        if f.isNaN { return ".nan" }
        if f.isInfinite { return f > 0 ? ".inf" : "-.inf" }
        if f == f.rounded() && abs(f) < 1e21 {
            if abs(f) < 9.2e18 { return String(Int64(f)) }
            return JSONCodec.formatNumber(f)
        }
        return GoFormat.gFloat(f)
    }

    static func stringNode(_ s: String) -> Yams.Node {
        if s.contains("\n") { return Yams.Node(s, .implicit, .literal) }
        if case .string = resolvePlain(s), !isBase60Float(s), !isTimestamp(s) { return Yams.Node(s, .implicit, .any) }
        return Yams.Node(s, .implicit, .doubleQuoted)
    }

    /// go-yaml v2 quotes strings that would read back as timestamps ("2001-12-14", "2001-12-14T21:59:43Z").
    static func isTimestamp(_ s: String) -> Bool {
        let u = s.utf8
        guard u.count >= 8, let f = u.first, f >= 48 && f <= 57, u[u.index(u.startIndex, offsetBy: 4)] == 45 else { return false }
        let pattern = #"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::?[0-9]{2})?))?)?$"#
        return s.range(of: pattern, options: .regularExpression) != nil
    }

    /// go-yaml v2 quotes YAML 1.1 sexagesimal floats such as "1:20".
    static func isBase60Float(_ s: String) -> Bool {
        guard let f = s.utf8.first, (f >= 48 && f <= 57) || f == 43 || f == 45, s.utf8.contains(58) else { return false }
        let pattern = #"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$"#
        return s.range(of: pattern, options: .regularExpression) != nil
    }
}

import Foundation

/// JSON as Go's encoding/json reads and writes it: numbers decode to float64; encoding sorts keys,
/// escapes HTML characters (unless raw), and prints float64 the way `json.Marshal` does.
public enum JSONCodec {
    public struct SyntaxError: Error, CustomStringConvertible, Sendable {
        public let offset: Int
        public let message: String
        public var description: String { message }
    }

    // MARK: encode

    public static func encode(_ v: Value, escapeHTML: Bool = true, indent: String? = nil) -> String {
        var out = ""
        write(v, into: &out, escapeHTML: escapeHTML, indent: indent, level: 0)
        return out
    }

    static func write(_ v: Value, into out: inout String, escapeHTML: Bool, indent: String?, level: Int) {
        func newline(_ l: Int) {
            if let indent { out += "\n" + String(repeating: indent, count: l) }
        }
        switch v {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .float(let f): out += formatNumber(f)
        case .string(let s): out += quote(s, escapeHTML: escapeHTML)
        case .bytes(let b): out += quote(Data(b).base64EncodedString(), escapeHTML: escapeHTML)
        case .list(let l):
            if l.isEmpty { out += "[]"; return }
            out += "["
            for (k, e) in l.enumerated() {
                if k > 0 { out += "," }
                newline(level + 1)
                write(e, into: &out, escapeHTML: escapeHTML, indent: indent, level: level + 1)
            }
            newline(level)
            out += "]"
        case .map(let m):
            if m.isEmpty { out += "{}"; return }
            out += "{"
            let keys = m.sortedKeys
            for (k, key) in keys.enumerated() {
                if k > 0 { out += "," }
                newline(level + 1)
                out += quote(key, escapeHTML: escapeHTML)
                out += indent == nil ? ":" : ": "
                write(m[key]!, into: &out, escapeHTML: escapeHTML, indent: indent, level: level + 1)
            }
            newline(level)
            out += "}"
        case .object(let o):
            write(o.field("__json__") ?? .string(o.goDescription), into: &out, escapeHTML: escapeHTML, indent: indent, level: level)
        }
    }

    /// encoding/json's float64 format: 'f' between 1e-6 and 1e21, else 'e' with a short exponent.
    public static func formatNumber(_ f: Double) -> String {
        if f == f.rounded() && abs(f) < 1e21 {
            if abs(f) < 9.2e18 { return String(Int64(f)) }
            return GoFormat.shortestDecimal(f, style: "f")
        }
        let a = abs(f)
        if a < 1e-6 || a >= 1e21 {
            var s = GoFormat.shortestDecimal(f, style: "e")
            // clean up e-09 to e-9
            if let r = s.range(of: "e-0") { s.replaceSubrange(r, with: "e-") }
            else if let r = s.range(of: "e+0") { s.replaceSubrange(r, with: "e+") }
            return s
        }
        return GoFormat.shortestDecimal(f, style: "f")
    }

    public static func quote(_ s: String, escapeHTML: Bool) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "<", ">", "&":
                if escapeHTML { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
            case "\u{2028}": out += "\\u2028"
            case "\u{2029}": out += "\\u2029"
            default:
                if u.value < 0x20 {
                    switch u.value {
                    case 8: out += "\\b"
                    case 12: out += "\\f"
                    default: out += String(format: "\\u%04x", u.value)
                    }
                } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }

    // MARK: decode

    public static func decode(_ text: String) throws -> Value {
        var p = JSONParser(Array(text.utf8))
        p.skipSpace()
        let v = try p.parseValue()
        p.skipSpace()
        if p.i != p.b.count { throw p.err("invalid character '\(Character(Unicode.Scalar(p.b[p.i])))' after top-level value") }
        return v
    }

    /// Decodes the JSON value at the start of `bytes` (after blanks), as Go's json.Decoder does, and
    /// returns it with the number of bytes it used (`--set-json` reads several values from one string).
    static func decodePrefix(_ bytes: [UInt8]) throws -> (Value, Int) {
        var p = JSONParser(bytes)
        p.skipSpace()
        let v = try p.parseValue()
        return (v, p.i)
    }

    struct JSONParser {
        let b: [UInt8]
        var i = 0
        init(_ b: [UInt8]) { self.b = b }

        func err(_ m: String) -> SyntaxError { SyntaxError(offset: i, message: m) }

        mutating func skipSpace() {
            while i < b.count && (b[i] == 32 || b[i] == 9 || b[i] == 10 || b[i] == 13) { i += 1 }
        }

        mutating func parseValue() throws -> Value {
            guard i < b.count else { throw err("unexpected end of JSON input") }
            switch b[i] {
            case 123:
                i += 1
                var m: [String: Value] = [:]
                skipSpace()
                if i < b.count && b[i] == 125 { i += 1; return .dict(m) }
                while true {
                    skipSpace()
                    guard i < b.count, b[i] == 34 else { throw err(i < b.count ? "invalid character '\(Character(Unicode.Scalar(b[i])))' looking for beginning of object key string" : "unexpected end of JSON input") }
                    let k = try parseString()
                    skipSpace()
                    guard i < b.count, b[i] == 58 else { throw err("invalid character after object key") }
                    i += 1
                    skipSpace()
                    m[k] = try parseValue()
                    skipSpace()
                    guard i < b.count else { throw err("unexpected end of JSON input") }
                    if b[i] == 44 { i += 1; continue }
                    if b[i] == 125 { i += 1; return .dict(m) }
                    throw err("invalid character '\(Character(Unicode.Scalar(b[i])))' after object key:value pair")
                }
            case 91:
                i += 1
                var l: [Value] = []
                skipSpace()
                if i < b.count && b[i] == 93 { i += 1; return .list(l) }
                while true {
                    skipSpace()
                    l.append(try parseValue())
                    skipSpace()
                    guard i < b.count else { throw err("unexpected end of JSON input") }
                    if b[i] == 44 { i += 1; continue }
                    if b[i] == 93 { i += 1; return .list(l) }
                    throw err("invalid character '\(Character(Unicode.Scalar(b[i])))' after array element")
                }
            case 34: return .string(try parseString())
            case 116: return try literal("true", .bool(true))
            case 102: return try literal("false", .bool(false))
            case 110: return try literal("null", .null)
            default:
                let s = i
                while i < b.count, "+-0123456789.eE".utf8.contains(b[i]) { i += 1 }
                guard i > s, let d = Double(String(decoding: b[s..<i], as: UTF8.self)) else {
                    throw err("invalid character '\(Character(Unicode.Scalar(b[s])))' looking for beginning of value")
                }
                return .float(d)
            }
        }

        mutating func literal(_ word: String, _ v: Value) throws -> Value {
            let w = Array(word.utf8)
            guard i + w.count <= b.count, Array(b[i..<i + w.count]) == w else { throw err("invalid character looking for beginning of value") }
            i += w.count
            return v
        }

        mutating func parseString() throws -> String {
            i += 1
            var out: [UInt8] = []
            while i < b.count {
                let c = b[i]
                if c == 34 { i += 1; return String(decoding: out, as: UTF8.self) }
                if c == 92 {
                    i += 1
                    guard i < b.count else { break }
                    switch b[i] {
                    case 110: out.append(10)
                    case 116: out.append(9)
                    case 114: out.append(13)
                    case 98: out.append(8)
                    case 102: out.append(12)
                    case 117:
                        guard i + 4 < b.count, var v = UInt32(String(decoding: b[(i + 1)...(i + 4)], as: UTF8.self), radix: 16) else { throw err("invalid escape") }
                        i += 4
                        if v >= 0xD800 && v < 0xDC00, i + 6 < b.count, b[i + 1] == 92, b[i + 2] == 117,
                            let lo = UInt32(String(decoding: b[(i + 3)...(i + 6)], as: UTF8.self), radix: 16), lo >= 0xDC00 && lo < 0xE000 {
                            v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00)
                            i += 6
                        }
                        out.append(contentsOf: Array(String(Character(Unicode.Scalar(v) ?? "\u{FFFD}")).utf8))
                    default: out.append(b[i])
                    }
                    i += 1
                    continue
                }
                out.append(c)
                i += 1
            }
            throw err("unexpected end of JSON input")
        }
    }
}

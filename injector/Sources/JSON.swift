/// A parsed JSON value, just enough for index.json and manifests (Codable does not exist in Embedded Swift).
/// Numbers keep their text; `intValue` reads the integer ones (sizes).
enum JSON {
    case null
    case bool(Bool)
    case number(Bytes)
    case string(Bytes)
    case array([JSON])
    case object([(Bytes, JSON)])

    subscript(key: StaticString) -> JSON? {
        if case .object(let members) = self {
            for (k, v) in members where k.equals(key) { return v }
        }
        return nil
    }

    var string: Bytes? { if case .string(let s) = self { return s } else { return nil } }
    var array: [JSON]? { if case .array(let a) = self { return a } else { return nil } }
    var isObject: Bool { if case .object = self { return true } else { return false } }

    var intValue: Int? {
        guard case .number(let text) = self else { return nil }
        var v = 0
        var count = 0
        for c in text {
            guard c >= 48 && c <= 57, count < 18 else { return nil }
            v = v * 10 + Int(c - 48)
            count += 1
        }
        return count > 0 ? v : nil
    }
}

/// A strict recursive-descent JSON parser over bytes. Errors carry the byte offset.
struct JSONParser {
    private let bytes: [UInt8]
    private var i = 0
    private var depth = 0

    static func parse(_ bytes: [UInt8]) -> Result<JSON, JSONParseError> {
        var p = JSONParser(bytes: bytes)
        do throws(JSONParseError) {
            let v = try p.value()
            p.skipSpace()
            guard p.i == bytes.count else { throw JSONParseError(offset: p.i, reason: "trailing data") }
            return .success(v)
        } catch {
            return .failure(error)
        }
    }

    private init(bytes: [UInt8]) { self.bytes = bytes }

    private mutating func skipSpace() {
        while i < bytes.count, bytes[i] == 32 || bytes[i] == 9 || bytes[i] == 10 || bytes[i] == 13 { i += 1 }
    }

    private func fail(_ reason: StaticString) -> JSONParseError { JSONParseError(offset: i, reason: reason) }

    private mutating func value() throws(JSONParseError) -> JSON {
        skipSpace()
        guard i < bytes.count else { throw fail("unexpected end") }
        switch bytes[i] {
        case 123: return try object()
        case 91: return try array()
        case 34: return .string(try string())
        case 116: try literal("true"); return .bool(true)
        case 102: try literal("false"); return .bool(false)
        case 110: try literal("null"); return .null
        default: return try number()
        }
    }

    private mutating func literal(_ word: StaticString) throws(JSONParseError) {
        let n = word.utf8CodeUnitCount
        guard i + n <= bytes.count else { throw fail("unexpected end") }
        let p = word.utf8Start
        for k in 0..<n where bytes[i + k] != p[k] { throw fail("invalid literal") }
        i += n
    }

    private mutating func object() throws(JSONParseError) -> JSON {
        depth += 1
        guard depth <= 64 else { throw fail("nested too deeply") }
        i += 1
        var members: [(Bytes, JSON)] = []
        skipSpace()
        if i < bytes.count && bytes[i] == 125 { i += 1; depth -= 1; return .object(members) }
        while true {
            skipSpace()
            guard i < bytes.count, bytes[i] == 34 else { throw fail("expected a string key") }
            let key = try string()
            skipSpace()
            guard i < bytes.count, bytes[i] == 58 else { throw fail("expected ':'") }
            i += 1
            members.append((key, try value()))
            skipSpace()
            guard i < bytes.count else { throw fail("unexpected end") }
            if bytes[i] == 44 { i += 1; continue }
            if bytes[i] == 125 { i += 1; break }
            throw fail("expected ',' or '}'")
        }
        depth -= 1
        return .object(members)
    }

    private mutating func array() throws(JSONParseError) -> JSON {
        depth += 1
        guard depth <= 64 else { throw fail("nested too deeply") }
        i += 1
        var items: [JSON] = []
        skipSpace()
        if i < bytes.count && bytes[i] == 93 { i += 1; depth -= 1; return .array(items) }
        while true {
            items.append(try value())
            skipSpace()
            guard i < bytes.count else { throw fail("unexpected end") }
            if bytes[i] == 44 { i += 1; continue }
            if bytes[i] == 93 { i += 1; break }
            throw fail("expected ',' or ']'")
        }
        depth -= 1
        return .array(items)
    }

    private mutating func number() throws(JSONParseError) -> JSON {
        let start = i
        while i < bytes.count {
            let c = bytes[i]
            if (c >= 48 && c <= 57) || c == 45 || c == 43 || c == 46 || c == 101 || c == 69 { i += 1 } else { break }
        }
        guard i > start else { throw fail("unexpected character") }
        return .number(Bytes(bytes[start..<i]))
    }

    private mutating func hex4() throws(JSONParseError) -> UInt32 {
        guard i + 4 <= bytes.count else { throw fail("short \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[i]
            let d: UInt32
            if c >= 48 && c <= 57 { d = UInt32(c - 48) } else if c >= 97 && c <= 102 { d = UInt32(c - 87) } else if c >= 65 && c <= 70 { d = UInt32(c - 55) } else { throw fail("bad \\u escape") }
            v = v << 4 | d
            i += 1
        }
        return v
    }

    private mutating func string() throws(JSONParseError) -> Bytes {
        i += 1
        var out: [UInt8] = []
        while true {
            guard i < bytes.count else { throw fail("unterminated string") }
            let c = bytes[i]
            i += 1
            if c == 34 { break }
            if c < 32 { throw fail("control character in string") }
            if c != 92 { out.append(c); continue }
            guard i < bytes.count else { throw fail("unterminated string") }
            let e = bytes[i]
            i += 1
            switch e {
            case 34, 92, 47: out.append(e)
            case 98: out.append(8)
            case 102: out.append(12)
            case 110: out.append(10)
            case 114: out.append(13)
            case 116: out.append(9)
            case 117:
                var scalar = try hex4()
                if scalar >= 0xD800 && scalar < 0xDC00 {
                    guard i + 1 < bytes.count, bytes[i] == 92, bytes[i + 1] == 117 else { throw fail("lone surrogate") }
                    i += 2
                    let low = try hex4()
                    guard low >= 0xDC00 && low < 0xE000 else { throw fail("bad surrogate pair") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
                appendUTF8(scalar, to: &out)
            default: throw fail("bad escape")
            }
        }
        return out
    }

    private func appendUTF8(_ s: UInt32, to out: inout [UInt8]) {
        if s < 0x80 { out.append(UInt8(s)) } else if s < 0x800 {
            out.append(UInt8(0xC0 | (s >> 6))); out.append(UInt8(0x80 | (s & 0x3F)))
        } else if s < 0x10000 {
            out.append(UInt8(0xE0 | (s >> 12))); out.append(UInt8(0x80 | ((s >> 6) & 0x3F))); out.append(UInt8(0x80 | (s & 0x3F)))
        } else {
            out.append(UInt8(0xF0 | (s >> 18))); out.append(UInt8(0x80 | ((s >> 12) & 0x3F)))
            out.append(UInt8(0x80 | ((s >> 6) & 0x3F))); out.append(UInt8(0x80 | (s & 0x3F)))
        }
    }
}

/// Where and why JSON failed to parse.
struct JSONParseError: Error {
    let offset: Int
    let reason: StaticString
}

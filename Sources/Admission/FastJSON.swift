import Foundation
import OutpostCore

/// Which parts of a JSON document `FastJSON` builds. Everything outside the filter is still read and
/// checked (syntax, escapes, UTF-8, nesting depth) but not built, so a hook pays only for the fields it
/// reads. A filter met at an array applies to each of its elements.
indirect enum JSONFieldFilter: Sendable {
    case everything
    case fields([(key: [UInt8], filter: JSONFieldFilter)])

    static func only(_ fields: [String: JSONFieldFilter]) -> JSONFieldFilter {
        .fields(fields.map { (Array($0.key.utf8), $0.value) })
    }

    func filter<Key: Collection<UInt8>>(forKey key: Key) -> JSONFieldFilter? {
        switch self {
        case .everything: return .everything
        case .fields(let fields): return fields.first { $0.key.elementsEqual(key) }?.filter
        }
    }
}

/// A single-pass JSON reader producing the shared `JSONValue`, for the webhook's hot path.
///
/// `JSONValue`'s Codable decoding tries each case in turn and pays for a thrown DecodingError per miss,
/// which dominates the cost of an AdmissionReview; this reader does one pass over the bytes, bounds
/// nesting depth, reports the byte offset of the first error, and builds only what a `JSONFieldFilter`
/// asks for.
struct FastJSON {
    struct Failure: Error, CustomStringConvertible {
        let offset: Int
        let reason: String
        var description: String { "\(reason) at byte offset \(offset)" }
    }

    /// The document; valid for the whole parse (`parse` holds the array's storage).
    private let bytes: UnsafeBufferPointer<UInt8>
    private var i = 0
    private let maxDepth: Int

    static func parse(bytes: [UInt8], maxDepth: Int, filter: JSONFieldFilter = .everything) throws -> JSONValue {
        // Unchecked reads: every index is compared with `count` before use, as the array version did.
        try bytes.withUnsafeBufferPointer { buffer in
            var p = FastJSON(bytes: buffer, maxDepth: maxDepth)
            p.skipSpace()
            let v = try p.value(depth: 0, filter: filter)
            p.skipSpace()
            guard p.i == p.bytes.count else { throw p.fail("unexpected data after the document") }
            return v
        }
    }

    private init(bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    private func fail(_ reason: String) -> Failure { Failure(offset: i, reason: reason) }

    private mutating func skipSpace() {
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 }
    }

    private mutating func literal(_ word: StaticString, _ v: JSONValue) throws -> JSONValue {
        let n = word.utf8CodeUnitCount
        guard i + n <= bytes.count else { throw fail("truncated literal") }
        for k in 0..<n where bytes[i + k] != word.utf8Start[k] { throw fail("invalid literal") }
        i += n
        return v
    }

    private mutating func value(depth: Int, filter: JSONFieldFilter) throws -> JSONValue {
        guard i < bytes.count else { throw fail("unexpected end of input") }
        switch bytes[i] {
        case UInt8(ascii: "{"):
            guard depth < maxDepth else { throw fail("nested deeper than \(maxDepth) levels") }
            i += 1
            var object: [String: JSONValue] = [:]
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return .object(object) }
            while true {
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw fail("expected a string key") }
                let keyStart = i
                let key: String
                let keyFilter: JSONFieldFilter?
                if case .everything = filter {
                    key = try string()
                    keyFilter = .everything
                } else if try skipString() {
                    // Escapes in the key: decode it to compare.
                    i = keyStart
                    key = try string()
                    keyFilter = filter.filter(forKey: key.utf8)
                } else {
                    keyFilter = filter.filter(forKey: bytes[(keyStart + 1)..<(i - 1)])
                    key = keyFilter == nil ? "" : String(decoding: bytes[(keyStart + 1)..<(i - 1)], as: UTF8.self)
                }
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw fail("expected ':'") }
                i += 1
                skipSpace()
                if let keyFilter { object[key] = try value(depth: depth + 1, filter: keyFilter) } else { try skipValue(depth: depth + 1) }
                skipSpace()
                guard i < bytes.count else { throw fail("unterminated object") }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                if bytes[i] == UInt8(ascii: "}") { i += 1; return .object(object) }
                throw fail("expected ',' or '}'")
            }
        case UInt8(ascii: "["):
            guard depth < maxDepth else { throw fail("nested deeper than \(maxDepth) levels") }
            i += 1
            var array: [JSONValue] = []
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return .array(array) }
            while true {
                skipSpace()
                array.append(try value(depth: depth + 1, filter: filter))
                skipSpace()
                guard i < bytes.count else { throw fail("unterminated array") }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                if bytes[i] == UInt8(ascii: "]") { i += 1; return .array(array) }
                throw fail("expected ',' or ']'")
            }
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): return try literal("true", .bool(true))
        case UInt8(ascii: "f"): return try literal("false", .bool(false))
        case UInt8(ascii: "n"): return try literal("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw fail("unexpected character")
        }
    }

    /// Reads one value without building it, with the same checks (and errors) as `value`.
    private mutating func skipValue(depth: Int) throws {
        guard i < bytes.count else { throw fail("unexpected end of input") }
        switch bytes[i] {
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            guard depth < maxDepth else { throw fail("nested deeper than \(maxDepth) levels") }
            let isObject = bytes[i] == UInt8(ascii: "{")
            let close = isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")
            i += 1
            skipSpace()
            if i < bytes.count, bytes[i] == close { i += 1; return }
            while true {
                skipSpace()
                if isObject {
                    guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw fail("expected a string key") }
                    _ = try skipString()
                    skipSpace()
                    guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw fail("expected ':'") }
                    i += 1
                    skipSpace()
                }
                try skipValue(depth: depth + 1)
                skipSpace()
                guard i < bytes.count else { throw fail(isObject ? "unterminated object" : "unterminated array") }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                if bytes[i] == close { i += 1; return }
                throw fail(isObject ? "expected ',' or '}'" : "expected ',' or ']'")
            }
        case UInt8(ascii: "\""): _ = try skipString()
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try skipNumber()
        default: _ = try value(depth: depth, filter: .everything)  // literals (and errors): nothing to save
        }
    }

    /// `number()`'s checks without converting: only a number with an exponent can be out of range.
    private mutating func skipNumber() throws {
        let start = i
        if try scanNumber() { _ = try convertNumber(from: start) }
    }

    /// Checks one string (escapes, surrogate pairs, control characters, UTF-8) and moves past it without
    /// building it. Returns whether it held an escape.
    private mutating func skipString() throws -> Bool {
        i += 1  // opening quote
        let start = i
        var escaped = false, ascii = true
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "\"") {
                // The raw bytes between escapes are what `string()` keeps, and escapes are ASCII, so the
                // raw span is valid UTF-8 exactly when the decoded string is.
                if !ascii, String(validating: bytes[start..<i], as: UTF8.self) == nil {
                    throw Failure(offset: start, reason: "invalid UTF-8 in string")
                }
                i += 1
                return escaped
            }
            if c < 0x20 { throw fail("control character in string") }
            if c >= 0x80 { ascii = false }
            if c != UInt8(ascii: "\\") { i += 1; continue }
            escaped = true
            i += 1
            guard i < bytes.count else { break }
            let e = bytes[i]
            i += 1
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                 UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"): continue
            case UInt8(ascii: "u"): _ = try escapedScalar()
            default: throw fail("invalid escape")
            }
        }
        throw Failure(offset: start, reason: "unterminated string")
    }

    private mutating func number() throws -> JSONValue {
        let start = i
        _ = try scanNumber()
        return .number(try convertNumber(from: start))
    }

    /// Moves past one number, checking JSON's grammar for it; returns whether it has an exponent.
    private mutating func scanNumber() throws -> Bool {
        let start = i
        func digits() -> Int { let s = i; while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39 { i += 1 }; return i - s }
        if bytes[i] == UInt8(ascii: "-") { i += 1 }
        let intStart = i
        guard digits() > 0 else { throw fail("invalid number") }
        if bytes[intStart] == 0x30, i - intStart > 1 { throw Failure(offset: start, reason: "leading zero in number") }
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") { i += 1; guard digits() > 0 else { throw fail("invalid fraction") } }
        guard i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") else { return false }
        i += 1
        if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
        guard digits() > 0 else { throw fail("invalid exponent") }
        return true
    }

    /// The number scanned from `start` to here, which must be finite.
    private func convertNumber(from start: Int) throws -> Double {
        let text = String(decoding: bytes[start..<i], as: UTF8.self)
        guard let d = Double(text), d.isFinite else { throw Failure(offset: start, reason: "number out of range") }
        return d
    }

    /// The scalar of a `\\u` escape (after the `u`), joining a surrogate pair; a lone surrogate is an error.
    private mutating func escapedScalar() throws -> UInt32 {
        let scalar = try hex4()
        if (0xDC00...0xDFFF).contains(scalar) { throw fail("unpaired surrogate in \\u escape") }
        guard (0xD800...0xDBFF).contains(scalar) else { return scalar }
        guard i + 6 <= bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") else {
            throw fail("unpaired surrogate in \\u escape")
        }
        i += 2
        let low = try hex4()
        guard (0xDC00...0xDFFF).contains(low) else { throw fail("unpaired surrogate in \\u escape") }
        return 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
    }

    private mutating func hex4() throws -> UInt32 {
        guard i + 4 <= bytes.count else { throw fail("truncated \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[i]
            let d: UInt8
            switch c {
            case 0x30...0x39: d = c - 0x30
            case 0x41...0x46: d = c - 0x41 + 10
            case 0x61...0x66: d = c - 0x61 + 10
            default: throw fail("invalid \\u escape")
            }
            v = v << 4 | UInt32(d)
            i += 1
        }
        return v
    }

    private mutating func string() throws -> String {
        i += 1  // opening quote
        let start = i
        // fast path: no escapes
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "\"") {
                guard let s = String(validating: bytes[start..<i], as: UTF8.self) else { throw Failure(offset: start, reason: "invalid UTF-8 in string") }
                i += 1
                return s
            }
            if c == UInt8(ascii: "\\") { break }
            if c < 0x20 { throw fail("control character in string") }
            i += 1
        }
        var out = [UInt8](bytes[start..<i])
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "\"") {
                guard let s = String(validating: out, as: UTF8.self) else { throw Failure(offset: start, reason: "invalid UTF-8 in string") }
                i += 1
                return s
            }
            if c < 0x20 { throw fail("control character in string") }
            if c != UInt8(ascii: "\\") { out.append(c); i += 1; continue }
            i += 1
            guard i < bytes.count else { break }
            let e = bytes[i]
            i += 1
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                guard let u = Unicode.Scalar(try escapedScalar()) else { throw fail("invalid \\u escape") }
                out.append(contentsOf: Array(String(Character(u)).utf8))
            default: throw fail("invalid escape")
            }
        }
        throw Failure(offset: start, reason: "unterminated string")
    }
}

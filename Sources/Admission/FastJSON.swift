import Foundation
import OutpostCore

/// Which parts of a JSON document `FastJSON` builds. Everything outside the filter is still read and
/// checked (syntax, escapes, UTF-8, nesting depth) but not built, so a hook pays only for the fields it
/// reads. A filter met at an array applies to each of its elements.
indirect enum JSONFieldFilter: Sendable {
    case everything
    case fields([(key: [UInt8], filter: JSONFieldFilter)])
    /// A pod's `spec`: read into `PodSpecFields` (what the pod hook uses) instead of being built; the
    /// value built in its place is an empty object. See `FastJSON.readPodSpec`.
    case podSpec

    static func only(_ fields: [String: JSONFieldFilter]) -> JSONFieldFilter {
        .fields(fields.map { (Array($0.key.utf8), $0.value) })
    }

    func filter(forKey key: UnsafeBufferPointer<UInt8>) -> JSONFieldFilter? {
        switch self {
        case .everything: return .everything
        case .podSpec: return nil
        case .fields(let fields):
            for field in fields where field.key.count == key.count {
                if field.key.withUnsafeBufferPointer({ $0.equals(key) }) { return field.filter }
            }
            return nil
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
    let bytes: UnsafeBufferPointer<UInt8>
    var i = 0
    let maxDepth: Int
    /// The last pod spec read under a `.podSpec` filter (the one whose placeholder is in the result).
    private(set) var podSpec: PodSpecFields?
    /// The document's tape when the C tokenizer has checked it all (see `read`).
    private var tape: JSONTape?
    /// With a tape: the entry of the value or key at `i`. Each container walker sets it before handing a
    /// member or element to its reader and moves it past that value after; every use checks that the entry
    /// starts at `i`, and reads the bytes as without a tape when it does not.
    private var t = 0

    /// The whole document built as a `JSONValue` (what `filter` asks for of it).
    static func parse(bytes: [UInt8], maxDepth: Int, filter: JSONFieldFilter = .everything) throws -> JSONValue {
        try bytes.withUnsafeBufferPointer { buffer in
            try read(buffer, maxDepth: maxDepth) { p in try p.value(depth: 0, filter: filter) }
        }
    }

    /// Reads one whole document with `value` (given the reader at its first value), checking that nothing
    /// but whitespace follows it. With `tokenized`, the C tokenizer checks the document first and, when it
    /// accepts it, the reader follows its tape: for readers that skip most of a document.
    static func read<T>(_ buffer: UnsafeBufferPointer<UInt8>, maxDepth: Int, tokenized: Bool = false,
                        _ value: (inout FastJSON) throws -> T) throws -> T {
        guard tokenized else { return try read(buffer, maxDepth: maxDepth, tape: nil, value) }
        return try JSONTape.with(document: buffer, maxDepth: maxDepth) { tape in
            try read(buffer, maxDepth: maxDepth, tape: tape, value)
        }
    }

    private static func read<T>(_ buffer: UnsafeBufferPointer<UInt8>, maxDepth: Int, tape: JSONTape?,
                                _ value: (inout FastJSON) throws -> T) throws -> T {
        // Unchecked reads: every index is compared with `count` before use.
        var p = FastJSON(bytes: buffer, maxDepth: maxDepth)
        p.tape = tape
        p.skipSpace()
        let v = try value(&p)
        p.skipSpace()
        guard p.i == p.bytes.count else { throw p.fail("unexpected data after the document") }
        return v
    }

    init(bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    func fail(_ reason: String) -> Failure { Failure(offset: i, reason: reason) }

    @inline(__always)
    mutating func skipSpace() {
        while i < bytes.count {
            let c = bytes[i]
            // Every whitespace byte is at most 0x20: most calls (compact JSON) end at this first test.
            guard c <= 0x20, c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 else { return }
            i += 1
        }
    }

    private mutating func literal(_ word: StaticString, _ v: JSONValue) throws -> JSONValue {
        try skipLiteral(word)
        return v
    }

    /// Moves past `word` (`true`, `false` or `null`), which must be at `i`.
    private mutating func skipLiteral(_ word: StaticString) throws {
        let n = word.utf8CodeUnitCount
        guard i + n <= bytes.count else { throw fail("truncated literal") }
        for k in 0..<n where bytes[i + k] != word.utf8Start[k] { throw fail("invalid literal") }
        i += n
    }

    /// Reads the object at `i` (which must be `{`, at nesting `depth`), calling `member` for each member
    /// with the key's bytes (escapes decoded) and `i` at the member's value, which `member` must read.
    /// The one place object syntax is checked, for built, skipped and typed reads alike.
    mutating func members(depth: Int, _ member: (inout FastJSON, UnsafeBufferPointer<UInt8>) throws -> Void) throws {
        guard depth < maxDepth else { throw fail("nested deeper than \(maxDepth) levels") }
        if let tape, tape.entry(t, startsAt: i) {
            let object = t, stop = tape.next(object)
            var k = object + 1
            while k < stop {
                let keyStart = Int(tape.tokens[k].offset), value = k + 1
                t = value
                i = Int(tape.tokens[value].offset)
                if tape.isEscaped(k) {
                    var p = FastJSON(bytes: bytes, maxDepth: maxDepth)
                    p.i = keyStart
                    var decoded = try p.string()
                    try decoded.withUTF8 { try member(&self, $0) }
                } else {
                    try member(&self, UnsafeBufferPointer(rebasing: bytes[(keyStart + 1)..<tape.end(k)]))
                }
                k = tape.next(value)
            }
            t = stop
            i = tape.end(object) + 1
            return
        }
        i += 1
        skipSpace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return }
        while true {
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw fail("expected a string key") }
            let keyStart = i
            var decoded: String?
            if try skipString() {
                i = keyStart  // escapes in the key: decode it
                decoded = try string()
            }
            let keyEnd = i
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw fail("expected ':'") }
            i += 1
            skipSpace()
            if decoded != nil {
                try decoded!.withUTF8 { try member(&self, $0) }
            } else {
                try member(&self, UnsafeBufferPointer(rebasing: bytes[(keyStart + 1)..<(keyEnd - 1)]))
            }
            skipSpace()
            guard i < bytes.count else { throw fail("unterminated object") }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            if bytes[i] == UInt8(ascii: "}") { i += 1; return }
            throw fail("expected ',' or '}'")
        }
    }

    /// Reads the array at `i` (which must be `[`), calling `element` with `i` at each element.
    mutating func elements(depth: Int, _ element: (inout FastJSON) throws -> Void) throws {
        guard depth < maxDepth else { throw fail("nested deeper than \(maxDepth) levels") }
        if let tape, tape.entry(t, startsAt: i) {
            let array = t, stop = tape.next(array)
            var k = array + 1
            while k < stop {
                t = k
                i = Int(tape.tokens[k].offset)
                try element(&self)
                k = tape.next(k)
            }
            t = stop
            i = tape.end(array) + 1
            return
        }
        i += 1
        skipSpace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return }
        while true {
            skipSpace()
            try element(&self)
            skipSpace()
            guard i < bytes.count else { throw fail("unterminated array") }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            if bytes[i] == UInt8(ascii: "]") { i += 1; return }
            throw fail("expected ',' or ']'")
        }
    }

    /// The byte at `i`, or 0 at the end (which no value starts with).
    var next: UInt8 { i < bytes.count ? bytes[i] : 0 }

    mutating func value(depth: Int, filter: JSONFieldFilter) throws -> JSONValue {
        guard i < bytes.count else { throw fail("unexpected end of input") }
        switch bytes[i] {
        case UInt8(ascii: "{"):
            if case .podSpec = filter {
                podSpec = try readPodSpec(depth: depth)
                return .object([:])
            }
            // Of duplicate keys the last wins.
            var members: [String: JSONValue] = [:]
            try self.members(depth: depth) { p, key in
                guard let keyFilter = filter.filter(forKey: key) else { return try p.skipValue(depth: depth + 1) }
                members[String(decoding: key, as: UTF8.self)] = try p.value(depth: depth + 1, filter: keyFilter)
            }
            return .object(members)
        case UInt8(ascii: "["):
            var array: [JSONValue] = []
            // A pod spec that is not an object is built whole: the hook refuses it, naming what it is.
            let elementFilter: JSONFieldFilter
            if case .podSpec = filter { elementFilter = .everything } else { elementFilter = filter }
            try elements(depth: depth) { p in array.append(try p.value(depth: depth + 1, filter: elementFilter)) }
            return .array(array)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): return try literal("true", .bool(true))
        case UInt8(ascii: "f"): return try literal("false", .bool(false))
        case UInt8(ascii: "n"): return try literal("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw fail("unexpected character")
        }
    }

    /// Reads one value without building it, with the same checks (and errors) as `value`.
    mutating func skipValue(depth: Int) throws {
        guard i < bytes.count else { throw fail("unexpected end of input") }
        if let tape, tape.entry(t, startsAt: i) {
            i = tape.offsetPast(t, first: bytes[i])
            t = tape.next(t)
            return
        }
        switch bytes[i] {
        case UInt8(ascii: "{"): try members(depth: depth) { p, _ in try p.skipValue(depth: depth + 1) }
        case UInt8(ascii: "["): try elements(depth: depth) { p in try p.skipValue(depth: depth + 1) }
        case UInt8(ascii: "\""): _ = try skipString()
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try skipNumber()
        case UInt8(ascii: "t"): try skipLiteral("true")
        case UInt8(ascii: "f"): try skipLiteral("false")
        case UInt8(ascii: "n"): try skipLiteral("null")
        default: throw fail("unexpected character")
        }
    }

    /// The string at `i` if there is one, else nil with the value skipped: what `JSONValue.stringValue`
    /// gives for a member, without building anything else.
    mutating func stringOrSkip(depth: Int) throws -> String? {
        if next == UInt8(ascii: "\"") { return try string() }
        try skipValue(depth: depth)
        return nil
    }

    /// `number()`'s checks without converting: only a number with an exponent can be out of range.
    private mutating func skipNumber() throws {
        let start = i
        if try scanNumber() { _ = try convertNumber(from: start) }
    }

    /// Moves `i` to the next byte inside a string that needs attention (`"`, `\\`, a control byte) or the
    /// end; returns whether a byte skipped was non-ASCII.
    @inline(__always)
    private mutating func skipPlainRun() -> Bool {
        var nonASCII = false
        i = JSONByteScan.firstSpecial(in: bytes, from: i, sawNonASCII: &nonASCII)
        return nonASCII
    }

    /// Checks one string (escapes, surrogate pairs, control characters, UTF-8) and moves past it without
    /// building it. Returns whether it held an escape.
    @inline(__always)
    mutating func skipString() throws -> Bool {
        i += 1  // opening quote
        let start = i
        var escaped = false, ascii = true
        while true {
            if skipPlainRun() { ascii = false }
            guard i < bytes.count else { break }
            let c = bytes[i]
            if c == UInt8(ascii: "\"") {
                // The raw bytes between escapes are what `string()` keeps, and escapes are ASCII, so the
                // raw span is valid UTF-8 exactly when the decoded string is.
                if !ascii, !Self.isValidUTF8(UnsafeBufferPointer(rebasing: bytes[start..<i])) {
                    throw Failure(offset: start, reason: "invalid UTF-8 in string")
                }
                i += 1
                return escaped
            }
            if c < 0x20 { throw fail("control character in string") }
            // Otherwise a backslash (`skipPlainRun` stops only at `"`, `\\` and control bytes).
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

    /// Whether `b` is well-formed UTF-8 (Unicode's table 3-7: no overlong forms, no surrogates, at most
    /// U+10FFFF): what `String(validating:)` accepts, without its generic code on the hot path.
    static func isValidUTF8(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        var k = 0
        while k < b.count {
            let c = b[k]
            if c < 0x80 { k += 1; continue }
            let length: Int, low: UInt8, high: UInt8  // the allowed range of the second byte
            switch c {
            case 0xC2...0xDF: (length, low, high) = (2, 0x80, 0xBF)
            case 0xE0: (length, low, high) = (3, 0xA0, 0xBF)
            case 0xE1...0xEC, 0xEE...0xEF: (length, low, high) = (3, 0x80, 0xBF)
            case 0xED: (length, low, high) = (3, 0x80, 0x9F)
            case 0xF0: (length, low, high) = (4, 0x90, 0xBF)
            case 0xF1...0xF3: (length, low, high) = (4, 0x80, 0xBF)
            case 0xF4: (length, low, high) = (4, 0x80, 0x8F)
            default: return false
            }
            guard k + length <= b.count, b[k + 1] >= low, b[k + 1] <= high else { return false }
            for j in 2..<length where b[k + j] & 0xC0 != 0x80 { return false }
            k += length
        }
        return true
    }

    mutating func string() throws -> String {
        if let tape, tape.entry(t, startsAt: i), !tape.isEscaped(t) {
            let end = tape.end(t)
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[(i + 1)..<end]), as: UTF8.self)
            i = end + 1
            t += 1
            return text
        }
        i += 1  // opening quote
        let start = i
        // fast path: no escapes
        var ascii = true
        while true {
            if skipPlainRun() { ascii = false }
            guard i < bytes.count else { break }
            let c = bytes[i]
            if c == UInt8(ascii: "\"") {
                let raw = UnsafeBufferPointer(rebasing: bytes[start..<i])
                guard ascii || Self.isValidUTF8(raw) else { throw Failure(offset: start, reason: "invalid UTF-8 in string") }
                i += 1
                return String(decoding: raw, as: UTF8.self)
            }
            if c < 0x20 { throw fail("control character in string") }
            break  // a backslash: escapes are decoded below
        }
        var out = [UInt8](bytes[start..<i])
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "\"") {
                guard out.withUnsafeBufferPointer(Self.isValidUTF8) else { throw Failure(offset: start, reason: "invalid UTF-8 in string") }
                i += 1
                return String(decoding: out, as: UTF8.self)
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

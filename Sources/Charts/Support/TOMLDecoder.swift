import Foundation

/// A TOML 1.0 reader for Helm's `fromToml`: tables, arrays of tables, dotted and quoted keys,
/// inline tables, arrays, all four string forms, integers (as int64), floats, booleans. Dates and
/// times are kept as their text (BurntSushi/toml would give a time.Time). Errors name the line.
struct TOMLDecoder {
    struct SyntaxError: Error, CustomStringConvertible {
        let line: Int
        let message: String
        var description: String { "toml: line \(line): \(message)" }
    }

    private let b: [UInt8]
    private var i = 0
    private var line = 1

    static func decode(_ text: String) throws -> GoMap {
        var d = TOMLDecoder(b: Array(text.utf8))
        return try d.document()
    }

    private init(b: [UInt8]) { self.b = b }

    private func fail(_ m: String) -> SyntaxError { SyntaxError(line: line, message: m) }
    private var atEnd: Bool { i >= b.count }
    private var cur: UInt8 { b[i] }

    private mutating func skipBlanks() { while !atEnd && (cur == 32 || cur == 9) { i += 1 } }

    /// Blanks, comments and newlines.
    private mutating func skipTrivia() {
        while !atEnd {
            if cur == 32 || cur == 9 || cur == 13 { i += 1 }
            else if cur == 10 { i += 1; line += 1 }
            else if cur == 35 { while !atEnd && cur != 10 { i += 1 } }
            else { return }
        }
    }

    private mutating func endOfLine() throws {
        skipBlanks()
        if !atEnd && cur == 35 { while !atEnd && cur != 10 { i += 1 } }
        if atEnd { return }
        if cur == 13 { i += 1 }
        guard !atEnd, cur == 10 else { throw fail("expected a newline after a value, found \(GoStrings.quote(String(decoding: [cur], as: UTF8.self)))") }
    }

    private mutating func document() throws -> GoMap {
        let root = GoMap()
        var table = root
        var defined: Set<[String]> = []
        while true {
            skipTrivia()
            if atEnd { return root }
            if cur == 91 {  // [
                let isArray = i + 1 < b.count && b[i + 1] == 91
                i += isArray ? 2 : 1
                skipBlanks()
                let path = try keyPath()
                skipBlanks()
                guard !atEnd, cur == 93 else { throw fail("expected ']' after a table name") }
                i += 1
                if isArray {
                    guard !atEnd, cur == 93 else { throw fail("expected ']]' after an array-of-tables name") }
                    i += 1
                    let parent = try descend(root, Array(path.dropLast()))
                    let fresh = GoMap()
                    switch parent[path.last!] {
                    case nil: parent[path.last!] = .list([.map(fresh)])
                    case .list(let l)?: parent[path.last!] = .list(l + [.map(fresh)])
                    default: throw fail("key \(GoStrings.quote(path.joined(separator: "."))) is already defined")
                    }
                    table = fresh
                } else {
                    if defined.contains(path) { throw fail("table \(GoStrings.quote(path.joined(separator: "."))) is already defined") }
                    defined.insert(path)
                    table = try descend(root, path)
                }
                try endOfLine()
                continue
            }
            try keyValue(into: table)
            try endOfLine()
        }
    }

    /// The table at `path` under `root`, created as needed (the last element of an array of tables).
    private func descend(_ root: GoMap, _ path: [String]) throws -> GoMap {
        var t = root
        for k in path {
            switch t[k] {
            case nil:
                let n = GoMap(); t[k] = .map(n); t = n
            case .map(let m)?: t = m
            case .list(let l)?:
                guard case .map(let m)? = l.last else { throw fail("key \(GoStrings.quote(k)) is not a table") }
                t = m
            default: throw fail("key \(GoStrings.quote(k)) is already defined as a value")
            }
        }
        return t
    }

    private mutating func keyValue(into table: GoMap) throws {
        let path = try keyPath()
        skipBlanks()
        guard !atEnd, cur == 61 else { throw fail("expected '=' after key \(GoStrings.quote(path.joined(separator: ".")))") }
        i += 1
        skipBlanks()
        let v = try value()
        let t = try descend(table, Array(path.dropLast()))
        if t[path.last!] != nil { throw fail("key \(GoStrings.quote(path.joined(separator: "."))) is already defined") }
        t[path.last!] = v
    }

    private mutating func keyPath() throws -> [String] {
        var parts: [String] = []
        while true {
            skipBlanks()
            guard !atEnd else { throw fail("unexpected end of input in a key") }
            if cur == 34 { parts.append(try basicString()) }
            else if cur == 39 { parts.append(try literalString()) }
            else {
                let start = i
                while !atEnd, isBare(cur) { i += 1 }
                guard i > start else { throw fail("invalid character \(GoStrings.quote(String(decoding: [cur], as: UTF8.self))) in a key") }
                parts.append(String(decoding: b[start..<i], as: UTF8.self))
            }
            skipBlanks()
            if !atEnd && cur == 46 { i += 1; continue }
            return parts
        }
    }

    private func isBare(_ c: UInt8) -> Bool {
        (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 95 || c == 45
    }

    private mutating func value() throws -> Value {
        guard !atEnd else { throw fail("expected a value") }
        switch cur {
        case 34: return .string(try basicString())
        case 39: return .string(try literalString())
        case 91:
            i += 1
            var items: [Value] = []
            while true {
                skipTrivia()
                guard !atEnd else { throw fail("unterminated array") }
                if cur == 93 { i += 1; return .list(items) }
                items.append(try value())
                skipTrivia()
                guard !atEnd else { throw fail("unterminated array") }
                if cur == 44 { i += 1; continue }
                guard cur == 93 else { throw fail("expected ',' or ']' in an array") }
            }
        case 123:
            i += 1
            let t = GoMap()
            skipBlanks()
            if !atEnd && cur == 125 { i += 1; return .map(t) }
            while true {
                skipBlanks()
                try keyValue(into: t)
                skipBlanks()
                guard !atEnd else { throw fail("unterminated inline table") }
                if cur == 44 { i += 1; continue }
                guard cur == 125 else { throw fail("expected ',' or '}' in an inline table") }
                i += 1
                return .map(t)
            }
        default:
            let start = i
            while !atEnd, !(cur == 44 || cur == 93 || cur == 125 || cur == 10 || cur == 13 || cur == 35) {
                if cur == 32 {  // a space belongs to a date-time ("1979-05-27 07:32:00"), nothing else
                    let t = String(decoding: b[start..<i], as: UTF8.self)
                    guard t.count == 10, t.filter({ $0 == "-" }).count == 2, i + 1 < b.count, b[i + 1] >= 48 && b[i + 1] <= 57 else { break }
                }
                i += 1
            }
            let text = String(decoding: b[start..<i], as: UTF8.self).trimmingCharacters(in: .whitespaces)
            return try scalar(text)
        }
    }

    private func scalar(_ text: String) throws -> Value {
        switch text {
        case "true": return .bool(true)
        case "false": return .bool(false)
        case "inf", "+inf": return .float(.infinity)
        case "-inf": return .float(-.infinity)
        case "nan", "+nan", "-nan": return .float(.nan)
        default: break
        }
        let clean = text.replacingOccurrences(of: "_", with: "")
        if text.hasPrefix("0x") || text.hasPrefix("0o") || text.hasPrefix("0b") {
            let radix = text.hasPrefix("0x") ? 16 : text.hasPrefix("0o") ? 8 : 2
            guard let n = Int64(clean.dropFirst(2), radix: radix) else { throw fail("invalid integer \(GoStrings.quote(text))") }
            return .int(Int(n))
        }
        if let n = Int64(clean), !(clean.count > 1 && (clean.hasPrefix("0") || clean.hasPrefix("-0") || clean.hasPrefix("+0"))) {
            return .int(Int(n))
        }
        if clean.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }), !clean.contains(":"), let f = Double(clean) {
            return .float(f)
        }
        if let first = text.first, first.isNumber, text.contains("-") || text.contains(":") {
            return .string(text)  // a date, time or date-time
        }
        throw fail("invalid value \(GoStrings.quote(text))")
    }

    private mutating func literalString() throws -> String {
        if i + 2 < b.count && b[i + 1] == 39 && b[i + 2] == 39 {
            i += 3
            if !atEnd && cur == 10 { i += 1; line += 1 } else if i + 1 < b.count && cur == 13 && b[i + 1] == 10 { i += 2; line += 1 }
            let start = i
            while i + 2 < b.count && !(b[i] == 39 && b[i + 1] == 39 && b[i + 2] == 39) { if b[i] == 10 { line += 1 }; i += 1 }
            guard i + 2 < b.count else { throw fail("unterminated multi-line literal string") }
            var end = i
            i += 3
            while !atEnd && cur == 39 && end - i > -5 { end += 1; i += 1 }  // quotes just before the closing ''' belong to the text
            return String(decoding: b[start..<end], as: UTF8.self)
        }
        i += 1
        let start = i
        while !atEnd && cur != 39 && cur != 10 { i += 1 }
        guard !atEnd, cur == 39 else { throw fail("unterminated literal string") }
        defer { i += 1 }
        return String(decoding: b[start..<i], as: UTF8.self)
    }

    private mutating func basicString() throws -> String {
        let multi = i + 2 < b.count && b[i + 1] == 34 && b[i + 2] == 34
        i += multi ? 3 : 1
        if multi {
            if !atEnd && cur == 10 { i += 1; line += 1 } else if i + 1 < b.count && cur == 13 && b[i + 1] == 10 { i += 2; line += 1 }
        }
        var out: [UInt8] = []
        while true {
            guard !atEnd else { throw fail("unterminated string") }
            let c = cur
            if c == 34 {
                if !multi { i += 1; return String(decoding: out, as: UTF8.self) }
                if i + 2 < b.count && b[i + 1] == 34 && b[i + 2] == 34 {
                    i += 3
                    while !atEnd && cur == 34 { out.append(34); i += 1 }
                    return String(decoding: out, as: UTF8.self)
                }
            }
            if c == 10 {
                guard multi else { throw fail("strings cannot contain newlines") }
                line += 1
            }
            if c == 92 {
                i += 1
                guard !atEnd else { throw fail("unterminated string") }
                let e = cur
                i += 1
                switch e {
                case 98: out.append(8)
                case 116: out.append(9)
                case 110: out.append(10)
                case 102: out.append(12)
                case 114: out.append(13)
                case 101: out.append(27)
                case 34: out.append(34)
                case 92: out.append(92)
                case 117, 85:
                    let n = e == 117 ? 4 : 8
                    guard i + n <= b.count, let v = UInt32(String(decoding: b[i..<i + n], as: UTF8.self), radix: 16), let u = Unicode.Scalar(v)
                    else { throw fail("invalid unicode escape") }
                    out += Array(String(Character(u)).utf8)
                    i += n
                case 32, 9, 10, 13:
                    // line-ending backslash: trim the newline and following whitespace
                    guard multi else { throw fail("invalid escape in string: a backslash before whitespace") }
                    i -= 1
                    while !atEnd && (cur == 32 || cur == 9 || cur == 10 || cur == 13) { if cur == 10 { line += 1 }; i += 1 }
                default:
                    throw fail("invalid escape in string: \\\(String(decoding: [e], as: UTF8.self))")
                }
                continue
            }
            out.append(c)
            i += 1
        }
    }
}

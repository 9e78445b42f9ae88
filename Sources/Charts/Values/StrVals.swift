import Foundation

/// Helm's `--set` syntax: `a.b=c,list[0]=x,l={a,b}`, backslash escapes, typed scalars
/// (true/false/null/integers) unless `--set-string`; `--set-file` reads each value from a file;
/// `--set-json` takes JSON values (`a={"b":1},c=[1,2]`); `--set-literal` takes one key whose value is
/// the rest of the text, verbatim (no escapes, commas or lists).
struct StrVals {
    enum Mode { case typed, string, file((String) throws -> String), json, literal }

    private var s: [Character]
    private var i = 0
    private let mode: Mode

    struct EOF: Error {}
    struct ParseError: Error, CustomStringConvertible { let description: String }

    static func parse(_ text: String, into dest: GoMap, mode: Mode) throws {
        var p = StrVals(s: Array(text), mode: mode)
        while true {
            do { try p.key(dest, level: 0) } catch is EOF { return }
        }
    }

    private init(s: [Character], mode: Mode) { self.s = s; self.mode = mode }

    private mutating func readRune() -> Character? {
        guard i < s.count else { return nil }
        defer { i += 1 }
        return s[i]
    }

    /// Reads until a stop character; returns (text, stop) or (text, nil) at end of input.
    private mutating func until(_ stop: Set<Character>) -> (String, Character?) {
        var v = ""
        let escapes = !isLiteral
        while let r = readRune() {
            if stop.contains(r) { return (v, r) }
            if r == "\\" && escapes {
                guard let n = readRune() else { return (v, nil) }
                v.append(n)
            } else {
                v.append(r)
            }
        }
        return (v, nil)
    }

    private func typed(_ v: String) -> Value {
        if case .string = mode { return .string(v) }
        if v.lowercased() == "true" { return .bool(true) }
        if v.lowercased() == "false" { return .bool(false) }
        if v.lowercased() == "null" { return .null }
        if v == "0" { return .int(0) }
        if let f = v.first, f != "0", let n = Int(v) { return .int(n) }
        return .string(v)
    }

    private func read(_ v: String) throws -> Value {
        if case .file(let reader) = mode { return .string(try reader(v)) }
        return typed(v)
    }

    private var isLiteral: Bool { if case .literal = mode { return true } else { return false } }
    private var isJSON: Bool { if case .json = mode { return true } else { return false } }

    /// Skips blanks and one comma; true at a comma or the end (an empty `--set-json` value).
    private mutating func emptyVal() -> Bool {
        while i < s.count {
            let r = s[i]
            i += 1
            if r == "," { return true }
            if !r.isWhitespace { i -= 1; return false }
        }
        return true
    }

    /// A JSON value at the cursor (Go's json.Decoder on the rest of the text), then blanks and a comma.
    private mutating func jsonValue() throws -> Value {
        if emptyVal() { return .null }
        let rest = String(s[i...])
        let bytes = Array(rest.utf8)
        let (v, used) = try JSONCodec.decodePrefix(bytes)
        i += String(decoding: bytes[..<used], as: UTF8.self).count
        _ = emptyVal()
        return v
    }

    private mutating func key(_ data: GoMap, level: Int) throws {
        let (k, last) = until(isLiteral ? ["=", "[", "."] : ["=", "[", ",", "."])
        guard let last else {
            if k.isEmpty { throw EOF() }
            throw ParseError(description: "key \(GoStrings.quote(k)) has no value")
        }
        switch last {
        case "[":
            let idx = try keyIndex()
            var list: [Value] = []
            if let existing = data[k] {
                guard case .list(let l) = existing else { throw ParseError(description: "unable to parse key: interface conversion: interface {} is \(existing.goType), not []interface {}") }
                list = l
            }
            do {
                list = try listItem(list, idx, level: level)
                if !k.isEmpty { data[k] = .list(list) }
            } catch let e as EOF { if !k.isEmpty { data[k] = .list(list) }; throw e }
        case "=":
            if isLiteral {
                if !k.isEmpty { data[k] = .string(String(s[i...])) }
                i = s.count
                return
            }
            if isJSON {
                let v = try jsonValue()
                if !k.isEmpty { data[k] = v }
                return
            }
            if let vl = try valList() {
                if !k.isEmpty { data[k] = .list(vl) }
                return
            }
            if i >= s.count { if !k.isEmpty { data[k] = .string("") }; throw EOF() }
            let (v, _) = until([","])
            if !k.isEmpty { data[k] = try read(v) }
        case ",":
            if !k.isEmpty { data[k] = .string("") }
            throw ParseError(description: "key \(GoStrings.quote(k)) has no value (cannot end with ,)")
        default:  // "."
            if level + 1 > 30 { throw ParseError(description: "value name nested level is greater than maximum supported nested level of 30") }
            var inner = GoMap()
            if let existing = data[k] {
                if case .map(let m) = existing { inner = m } else {
                    throw ParseError(description: "unable to parse key: interface conversion: interface {} is \(existing.goType), not map[string]interface {}")
                }
            }
            var err: Error?
            do { try key(inner, level: level + 1) } catch { err = error }
            if err == nil && inner.isEmpty { throw ParseError(description: "key map \(GoStrings.quote(k)) has no value") }
            if !inner.isEmpty && !k.isEmpty { data[k] = .map(inner) }
            if let err { throw err }
        }
    }

    private mutating func keyIndex() throws -> Int {
        let (v, stop) = until(["]"])
        guard stop != nil else { throw EOF() }
        guard let n = Int(v) else { throw ParseError(description: "error parsing index: strconv.Atoi: parsing \(GoStrings.quote(v)): invalid syntax") }
        return n
    }

    private func setIndex(_ list: [Value], _ index: Int, _ v: Value) throws -> [Value] {
        if index < 0 { throw ParseError(description: "negative \(index) index not allowed") }
        if index > 65536 { throw ParseError(description: "index of \(index) is greater than maximum supported index of 65536") }
        var l = list
        while l.count <= index { l.append(.null) }
        l[index] = v
        return l
    }

    private mutating func listItem(_ list: [Value], _ idx: Int, level: Int) throws -> [Value] {
        if idx < 0 { throw ParseError(description: "negative \(idx) index not allowed") }
        let (k, last) = until(["[", ".", "="])
        if !k.isEmpty { throw ParseError(description: "unexpected data at end of array index: \(GoStrings.quote(k))") }
        guard let last else { throw EOF() }
        switch last {
        case "=":
            if isLiteral {
                let v = String(s[i...])
                i = s.count
                return try setIndex(list, idx, .string(v))
            }
            if isJSON { return try setIndex(list, idx, try jsonValue()) }
            if let vl = try valList() { return try setIndex(list, idx, .list(vl)) }
            if i >= s.count { return try setIndex(list, idx, .string("")) }
            let (v, _) = until([","])
            return try setIndex(list, idx, try read(v))
        case "[":
            let next = try keyIndex()
            var cur: [Value] = []
            if idx < list.count, case .list(let l) = list[idx] { cur = l }
            return try setIndex(list, idx, .list(try listItem(cur, next, level: level)))
        default:  // "."
            var inner = GoMap()
            if idx < list.count, case .map(let m) = list[idx] { inner = m }
            try key(inner, level: level)
            return try setIndex(list, idx, .map(inner))
        }
    }

    /// `{a,b,c}` list syntax; nil when the value is not a list.
    private mutating func valList() throws -> [Value]? {
        guard i < s.count else { return nil }
        guard s[i] == "{" else { return nil }
        i += 1
        var list: [Value] = []
        while true {
            let (v, last) = until([",", "}"])
            guard let last else { throw ParseError(description: "list must terminate with '}'") }
            if last == "}" {
                if i < s.count && s[i] == "," { i += 1 }
                list.append(try read(v))
                return list
            }
            list.append(try read(v))
        }
    }
}

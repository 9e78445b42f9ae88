import Foundation

/// Go text/template's predefined functions (and, or, not, len, index, slice, print*, comparisons, escapers).
enum Builtins {
    static let names: Set<String> = ["and", "or", "not", "len", "index", "slice", "print", "printf", "println",
        "eq", "ne", "lt", "le", "gt", "ge", "html", "js", "urlquery", "call"]

    static let table: [String: FunctionSpec] = [
        "not": FunctionSpec(1, 1) { _, a in .bool(!a[0].isTruthy) },
        "len": FunctionSpec(1, 1) { _, a in
            switch a[0] {
            case .string(let s): return .int(s.utf8.count)
            case .list(let l): return .int(l.count)
            case .map(let m): return .int(m.count)
            case .bytes(let b): return .int(b.count)
            case .object(let o as any RangeableObject): return .int(o.entries.count)
            case .null: throw FunctionError("len of nil pointer")
            default: throw FunctionError("len of type \(a[0].goType)")
            }
        },
        "index": FunctionSpec(1, nil) { _, a in try index(a[0], Array(a.dropFirst())) },
        "slice": FunctionSpec(1, 4) { _, a in try goSlice(a[0], Array(a.dropFirst())) },
        "print": FunctionSpec(0, nil) { _, a in .string(GoFormat.sprint(a)) },
        "println": FunctionSpec(0, nil) { _, a in .string(GoFormat.sprintln(a)) },
        "printf": FunctionSpec(1, nil) { _, a in
            guard case .string(let f) = a[0] else { throw GoTypeError("wrong type for value; expected string; got \(a[0].goType)") }
            return .string(GoFormat.sprintf(f, Array(a.dropFirst())))
        },
        "eq": FunctionSpec(1, nil) { _, a in
            if a.count < 2 { throw FunctionError("missing argument for comparison") }
            for b in a.dropFirst() where try equal(a[0], b) { return .bool(true) }
            return .bool(false)
        },
        "ne": FunctionSpec(2, 2) { _, a in .bool(!(try equal(a[0], a[1]))) },
        "lt": FunctionSpec(2, 2) { _, a in .bool(try less(a[0], a[1])) },
        "le": FunctionSpec(2, 2) { _, a in .bool(try less(a[0], a[1]) || equal(a[0], a[1])) },
        "gt": FunctionSpec(2, 2) { _, a in .bool(!(try less(a[0], a[1]) || equal(a[0], a[1]))) },
        "ge": FunctionSpec(2, 2) { _, a in .bool(!(try less(a[0], a[1]))) },
        "html": FunctionSpec(0, nil) { _, a in .string(htmlEscape(evalArgs(a))) },
        "js": FunctionSpec(0, nil) { _, a in .string(jsEscape(evalArgs(a))) },
        "urlquery": FunctionSpec(0, nil) { _, a in .string(queryEscape(evalArgs(a))) },
        "call": FunctionSpec(1, nil) { _, _ in throw FunctionError("call of non-function") },
        "and": FunctionSpec(1, nil) { _, a in a.first { !$0.isTruthy } ?? a.last! },
        "or": FunctionSpec(1, nil) { _, a in a.first { $0.isTruthy } ?? a.last! },
    ]

    static func evalArgs(_ a: [Value]) -> String {
        if a.count == 1, case .string(let s) = a[0] { return s }
        return GoFormat.sprint(a)
    }

    // MARK: comparisons (Go's basicKind rules)

    enum Kind { case bool, int, float, string, other, invalid }

    static func kind(_ v: Value) -> Kind {
        switch v {
        case .bool: return .bool
        case .int: return .int
        case .float: return .float
        case .string: return .string
        case .null: return .invalid
        default: return .other
        }
    }

    static func equal(_ a: Value, _ b: Value) throws -> Bool {
        let ka = kind(a), kb = kind(b)
        if ka != kb {
            if ka == .invalid || kb == .invalid { return false }
            throw FunctionError("incompatible types for comparison")
        }
        switch (a, b) {
        case (.bool(let x), .bool(let y)): return x == y
        case (.int(let x), .int(let y)): return x == y
        case (.float(let x), .float(let y)): return x == y
        case (.string(let x), .string(let y)): return x == y
        case (.null, .null): return true
        case (.list, _), (.map, _), (.bytes, _):
            throw FunctionError("non-comparable type \(GoFormat.v(a)): \(a.goType)")
        default: return false
        }
    }

    static func less(_ a: Value, _ b: Value) throws -> Bool {
        let ka = kind(a), kb = kind(b)
        if ka == .invalid || kb == .invalid || ka == .other || kb == .other || ka == .bool || kb == .bool {
            throw FunctionError("invalid type for comparison")
        }
        if ka != kb { throw FunctionError("incompatible types for comparison") }
        switch (a, b) {
        case (.int(let x), .int(let y)): return x < y
        case (.float(let x), .float(let y)): return x < y
        case (.string(let x), .string(let y)): return Array(x.utf8).lexicographicallyPrecedes(Array(y.utf8))
        default: return false
        }
    }

    // MARK: index / slice

    static func toIndex(_ v: Value) throws -> Int {
        switch v {
        case .int(let i): return i
        case .null: throw FunctionError("cannot index slice/array with nil")
        default: throw FunctionError("cannot index slice/array with type \(v.goType)")
        }
    }

    static func index(_ item: Value, _ indexes: [Value]) throws -> Value {
        var cur = item
        for ix in indexes {
            switch cur {
            case .list(let l):
                let i = try toIndex(ix)
                guard i >= 0 && i < l.count else { throw FunctionError("index out of range: \(i)") }
                cur = l[i]
            case .bytes(let b):
                let i = try toIndex(ix)
                guard i >= 0 && i < b.count else { throw FunctionError("index out of range: \(i)") }
                cur = .int(Int(b[i]))
            case .string(let s):
                let i = try toIndex(ix)
                let u = Array(s.utf8)
                guard i >= 0 && i < u.count else { throw FunctionError("index out of range: \(i)") }
                cur = .int(Int(u[i]))
            case .map(let m):
                guard case .string(let k) = ix else {
                    if case .null = ix { return .null }
                    throw FunctionError("value has type \(ix.goType); should be string")
                }
                cur = m[k] ?? .null
            case .null:
                throw FunctionError("index of untyped nil")
            default:
                throw FunctionError("can't index item of type \(cur.goType)")
            }
        }
        return cur
    }

    static func goSlice(_ item: Value, _ idx: [Value]) throws -> Value {
        let ints = try idx.map(toIndex)
        func bounds(_ n: Int) throws -> (Int, Int) {
            let lo = ints.count > 0 ? ints[0] : 0
            let hi = ints.count > 1 ? ints[1] : n
            guard lo >= 0, hi >= lo, hi <= n else { throw FunctionError("index out of range: \(hi)") }
            return (lo, hi)
        }
        switch item {
        case .list(let l):
            let (lo, hi) = try bounds(l.count)
            return .list(Array(l[lo..<hi]))
        case .string(let s):
            if ints.count > 2 { throw FunctionError("cannot 3-index slice a string") }
            let u = Array(s.utf8)
            let (lo, hi) = try bounds(u.count)
            return .string(String(decoding: u[lo..<hi], as: UTF8.self))
        case .null: throw FunctionError("slice of untyped nil")
        default: throw FunctionError("can't slice item of type \(item.goType)")
        }
    }

    // MARK: escapers

    static func htmlEscape(_ s: String) -> String {
        var o = ""
        for c in s.unicodeScalars {
            switch c {
            case "<": o += "&lt;"
            case ">": o += "&gt;"
            case "&": o += "&amp;"
            case "'": o += "&#39;"
            case "\"": o += "&#34;"
            case "\0": o += "\u{FFFD}"
            default: o.unicodeScalars.append(c)
            }
        }
        return o
    }

    static func jsEscape(_ s: String) -> String {
        var o = ""
        for c in s.unicodeScalars {
            switch c {
            case "\\": o += "\\\\"
            case "'": o += "\\'"
            case "\"": o += "\\\""
            case "<": o += "\\u003C"
            case ">": o += "\\u003E"
            case "&": o += "\\u0026"
            case "=": o += "\\u003D"
            case "\n": o += "\\n"
            case "\r": o += "\\r"
            case "\t": o += "\\t"
            default:
                if c.value < 0x20 { o += String(format: "\\u%04X", c.value) } else { o.unicodeScalars.append(c) }
            }
        }
        return o
    }

    static func queryEscape(_ s: String) -> String {
        var o = ""
        for b in s.utf8 {
            switch b {
            case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, 0x2D, 0x2E, 0x5F, 0x7E: o.unicodeScalars.append(Unicode.Scalar(b))
            case 0x20: o += "+"
            default: o += String(format: "%%%02X", b)
            }
        }
        return o
    }
}

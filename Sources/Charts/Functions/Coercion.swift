import Foundation

/// Argument conversions with the rules Sprig relies on: Go's reflection checks for typed parameters
/// (`string`, `int`, maps) and spf13/cast's lenient conversions for `interface{}` parameters.
enum Arg2 {
    /// A `string` parameter: anything else is Go's "wrong type for value" error.
    static func string(_ v: Value) throws -> String {
        switch v {
        case .string(let s): return s
        case .null: throw GoTypeError("invalid value; expected string")
        default: throw GoTypeError("wrong type for value; expected string; got \(v.goType)")
        }
    }

    /// An `int` parameter: template integer constants and ints; floats are rejected as Go does.
    static func int(_ v: Value) throws -> Int {
        switch v {
        case .int(let i): return i
        case .null: throw GoTypeError("invalid value; expected int")
        default: throw GoTypeError("wrong type for value; expected int; got \(v.goType)")
        }
    }

    static func bool(_ v: Value) throws -> Bool {
        switch v {
        case .bool(let b): return b
        case .null: throw GoTypeError("invalid value; expected bool")
        default: throw GoTypeError("wrong type for value; expected bool; got \(v.goType)")
        }
    }

    /// A `map[string]interface{}` parameter (nil is an empty, read-only map).
    static func map(_ v: Value) throws -> GoMap? {
        switch v {
        case .map(let m): return m
        case .null: return nil
        default: throw GoTypeError("wrong type for value; expected map[string]interface {}; got \(v.goType)")
        }
    }

    /// Sprig's strval: strings as is, bytes as text, anything else through fmt's %v.
    static func strval(_ v: Value) -> String {
        switch v {
        case .string(let s): return s
        case .bytes(let b): return String(decoding: b, as: UTF8.self)
        default: return GoFormat.v(v)
        }
    }

    /// spf13/cast ToInt64: numbers truncate, numeric strings parse (base prefixes allowed), else 0.
    static func toInt(_ v: Value) -> Int {
        switch v {
        case .int(let i): return i
        case .float(let f): return f.isFinite ? Int(exactly: f.rounded(.towardZero)) ?? (f > 0 ? Int.max : Int.min) : 0
        case .bool(let b): return b ? 1 : 0
        case .string(let s):
            var t = s
            if let dot = t.firstIndex(of: "."), t[t.index(after: dot)...].allSatisfy({ $0 == "0" }) { t = String(t[..<dot]) }
            return parseGoInt(t) ?? 0
        default: return 0
        }
    }

    static func parseGoInt(_ s: String) -> Int? {
        var t = Substring(s)
        var neg = false
        if t.hasPrefix("-") { neg = true; t = t.dropFirst() } else if t.hasPrefix("+") { t = t.dropFirst() }
        let lower = t.lowercased()
        var r: Int?
        if lower.hasPrefix("0x") { r = Int(lower.dropFirst(2), radix: 16) }
        else if lower.hasPrefix("0b") { r = Int(lower.dropFirst(2), radix: 2) }
        else if lower.hasPrefix("0o") { r = Int(lower.dropFirst(2), radix: 8) }
        else if lower.count > 1 && lower.hasPrefix("0") { r = Int(lower.dropFirst(), radix: 8) }
        else { r = Int(lower) }
        return r.map { neg ? -$0 : $0 }
    }

    /// spf13/cast ToFloat64.
    static func toFloat(_ v: Value) -> Double {
        switch v {
        case .int(let i): return Double(i)
        case .float(let f): return f
        case .bool(let b): return b ? 1 : 0
        case .string(let s): return Double(s) ?? 0
        default: return 0
        }
    }

    /// Sprig's list conversion for `interface{}` list parameters (slices and arrays only).
    static func list(_ v: Value, _ fn: String) throws -> [Value] {
        switch v {
        case .list(let l): return l
        case .bytes(let b): return b.map { .int(Int($0)) }
        case .null: throw FunctionError("Cannot find \(fn) on type <nil>")
        default: throw FunctionError("Cannot find \(fn) on type \(v.goKind)")
        }
    }

    /// Sprig's `empty`: Go zero values and empty collections.
    static func isEmpty(_ v: Value) -> Bool {
        switch v {
        case .null: return true
        case .object: return false
        default: return !v.isTruthy
        }
    }

    /// reflect.DeepEqual over template values.
    static func deepEqual(_ a: Value, _ b: Value) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.int(let x), .int(let y)): return x == y
        case (.float(let x), .float(let y)): return x == y
        case (.string(let x), .string(let y)): return x == y
        case (.bytes(let x), .bytes(let y)): return x == y
        case (.list(let x), .list(let y)): return x.count == y.count && zip(x, y).allSatisfy { deepEqual($0, $1) }
        case (.map(let x), .map(let y)):
            return x.count == y.count && x.storage.allSatisfy { k, v in y[k].map { deepEqual(v, $0) } ?? false }
        default: return false
        }
    }

    /// A list of strings from a `[]string`-ish value, as Sprig's toStrings / join use.
    static func strslice(_ v: Value) -> [String] {
        switch v {
        case .list(let l): return l.compactMap { if case .null = $0 { return nil }; return strval($0) }
        case .null: return []
        default: return [strval(v)]
        }
    }
}

extension Dictionary where Key == String, Value == FunctionSpec {
    /// Registers a function taking exactly `n` arguments.
    mutating func add(_ name: String, _ n: Int, _ f: @escaping @Sendable ([Charts.Value]) throws -> Charts.Value) {
        self[name] = FunctionSpec(n, n) { _, a in try f(a) }
    }
    /// Registers a variadic function with at least `min` arguments.
    mutating func variadic(_ name: String, min: Int = 0, max: Int? = nil, _ f: @escaping @Sendable ([Charts.Value]) throws -> Charts.Value) {
        self[name] = FunctionSpec(min, max) { _, a in try f(a) }
    }
}

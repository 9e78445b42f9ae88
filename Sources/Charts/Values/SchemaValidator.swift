import Foundation

/// values.schema.json validation (JSON Schema: type, required, properties, additionalProperties,
/// patternProperties, items, enum, const, numeric and length bounds, pattern, allOf/anyOf/oneOf/not,
/// local `$ref`), reporting as Helm 4 does: "- at '/path': message" per chart.
enum SchemaValidator {
    /// Validates a chart tree; returns Helm's per-chart error text, empty when valid.
    static func validate(chart: Chart, values: GoMap) -> String {
        var out = ""
        if let schemaBytes = chart.schema {
            do {
                let schema = try JSONCodec.decode(String(decoding: schemaBytes, as: UTF8.self))
                var errors: [String] = []
                check(.map(values), schema, root: schema, path: "", errors: &errors)
                if !errors.isEmpty {
                    out += chart.name + ":\n" + errors.map { "- " + $0 }.joined(separator: "\n") + "\n"
                }
            } catch {
                out += chart.name + ":\n" + "invalid values.schema.json: \(error)\n"
            }
        }
        for sub in chart.subcharts {
            guard let raw = values[sub.name], !raw.isNull else { continue }
            guard case .map(let m) = raw else {
                out += "\(sub.name):\ninvalid type for values: expected object (map), got \(raw.goType)\n"
                continue
            }
            out += validate(chart: sub, values: m)
        }
        return out
    }

    static func typeName(_ v: Value) -> String {
        switch v {
        case .null: return "null"
        case .bool: return "boolean"
        case .int: return "integer"
        case .float(let f): return f == f.rounded() ? "integer" : "number"
        case .string: return "string"
        case .list: return "array"
        case .map: return "object"
        default: return "string"
        }
    }

    static func show(_ v: Value) -> String {
        switch v {
        case .string(let s): return "'" + s + "'"
        default: return JSONCodec.encode(v)
        }
    }

    static func number(_ v: Value) -> Double? {
        switch v {
        case .int(let i): return Double(i)
        case .float(let f): return f
        default: return nil
        }
    }

    static func resolve(_ ref: String, _ root: Value) -> Value? {
        guard ref.hasPrefix("#") else { return nil }
        var cur = root
        for part in ref.dropFirst().split(separator: "/") {
            let key = part.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            guard case .map(let m) = cur, let next = m[key] else { return nil }
            cur = next
        }
        return cur
    }

    static func check(_ v: Value, _ schema: Value, root: Value, path: String, errors: inout [String]) {
        guard case .map(let s) = schema else {
            if case .bool(false) = schema { errors.append("at '\(path)': false schema") }
            return
        }
        func fail(_ m: String) { errors.append("at '\(path)': \(m)") }
        if case .string(let ref)? = s["$ref"], let target = resolve(ref, root) {
            check(v, target, root: root, path: path, errors: &errors)
        }
        if let t = s["type"] {
            let want = t.listValue?.compactMap(\.stringValue) ?? [t.stringValue ?? ""]
            let got = typeName(v)
            let ok = want.contains(got) || (got == "integer" && want.contains("number"))
            if !ok {
                fail("got \(got), want \(want.joined(separator: " or "))")
                return
            }
        }
        if let e = s["enum"]?.listValue, !e.contains(where: { Arg2.deepEqual(normalize($0), normalize(v)) }) {
            fail("value must be one of " + e.map(show).joined(separator: ", "))
        }
        if let c = s["const"], !Arg2.deepEqual(normalize(c), normalize(v)) { fail("value must be \(show(c))") }
        if let n = number(v) {
            if let m = s["minimum"].flatMap(number), n < m { fail("minimum: got \(show(v)), want \(show(s["minimum"]!))") }
            if let m = s["maximum"].flatMap(number), n > m { fail("maximum: got \(show(v)), want \(show(s["maximum"]!))") }
            if let m = s["exclusiveMinimum"].flatMap(number), n <= m { fail("exclusiveMinimum: got \(show(v)), want \(show(s["exclusiveMinimum"]!))") }
            if let m = s["exclusiveMaximum"].flatMap(number), n >= m { fail("exclusiveMaximum: got \(show(v)), want \(show(s["exclusiveMaximum"]!))") }
            if let m = s["multipleOf"].flatMap(number), m != 0, (n / m).rounded() != n / m { fail("multipleOf: got \(show(v)), want \(show(s["multipleOf"]!))") }
        }
        if case .string(let str) = v {
            let len = str.unicodeScalars.count
            if let m = s["minLength"].flatMap(number), Double(len) < m { fail("minLength: got \(len), want \(Int(m))") }
            if let m = s["maxLength"].flatMap(number), Double(len) > m { fail("maxLength: got \(len), want \(Int(m))") }
            if case .string(let p)? = s["pattern"], str.range(of: p, options: .regularExpression) == nil {
                fail("'\(str)' does not match pattern '\(p)'")
            }
        }
        if case .list(let l) = v {
            if let m = s["minItems"].flatMap(number), Double(l.count) < m { fail("minItems: got \(l.count), want \(Int(m))") }
            if let m = s["maxItems"].flatMap(number), Double(l.count) > m { fail("maxItems: got \(l.count), want \(Int(m))") }
            if case .bool(true)? = s["uniqueItems"] {
                outer: for i in l.indices { for j in l.indices where j > i && Arg2.deepEqual(normalize(l[i]), normalize(l[j])) {
                    fail("items at \(i) and \(j) are equal"); break outer
                } }
            }
            if let items = s["items"] {
                if case .list(let tuple) = items {
                    for (k, e) in l.enumerated() where k < tuple.count { check(e, tuple[k], root: root, path: "\(path)/\(k)", errors: &errors) }
                } else {
                    for (k, e) in l.enumerated() { check(e, items, root: root, path: "\(path)/\(k)", errors: &errors) }
                }
            }
        }
        if case .map(let m) = v {
            if let req = s["required"]?.listValue?.compactMap(\.stringValue) {
                let missing = req.filter { m[$0] == nil }
                if missing.count == 1 { fail("missing property '\(missing[0])'") }
                else if missing.count > 1 { fail("missing properties " + missing.map { "'\($0)'" }.joined(separator: ", ")) }
            }
            let props = s["properties"]?.mapValue ?? [:]
            let patterns = s["patternProperties"]?.mapValue ?? [:]
            var extra: [String] = []
            for key in m.sortedKeys {
                let child = "\(path)/\(key.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1"))"
                var covered = false
                if let ps = props[key] { covered = true; check(m[key]!, ps, root: root, path: child, errors: &errors) }
                for (p, ps) in patterns where key.range(of: p, options: .regularExpression) != nil {
                    covered = true; check(m[key]!, ps, root: root, path: child, errors: &errors)
                }
                if !covered, let ap = s["additionalProperties"] {
                    if case .bool(false) = ap { extra.append(key) } else if case .map = ap { check(m[key]!, ap, root: root, path: child, errors: &errors) }
                }
            }
            if !extra.isEmpty {
                fail((extra.count == 1 ? "additional property " : "additional properties ") + extra.map { "'\($0)'" }.joined(separator: ", ") + " not allowed")
            }
        }
        if let all = s["allOf"]?.listValue { for sub in all { check(v, sub, root: root, path: path, errors: &errors) } }
        if let any = s["anyOf"]?.listValue {
            let ok = any.contains { sub in var e: [String] = []; check(v, sub, root: root, path: path, errors: &e); return e.isEmpty }
            if !ok { fail("anyOf failed") }
        }
        if let one = s["oneOf"]?.listValue {
            let n = one.filter { sub in var e: [String] = []; check(v, sub, root: root, path: path, errors: &e); return e.isEmpty }.count
            if n == 0 { fail("oneOf failed, none matched") } else if n > 1 { fail("oneOf failed, multiple matched") }
        }
        if let not = s["not"] {
            var e: [String] = []
            check(v, not, root: root, path: path, errors: &e)
            if e.isEmpty { fail("not failed") }
        }
    }

    /// Compares numbers by value regardless of Go type.
    static func normalize(_ v: Value) -> Value {
        if case .int(let i) = v { return .float(Double(i)) }
        return v
    }
}

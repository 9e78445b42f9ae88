import Foundation

/// Helm's own template functions (include, tpl, required, fail, toYaml/fromYaml, toJson/fromJson,
/// toToml, lookup) and the assembled function map Helm gives templates (Sprig minus env/expandenv).
public enum FunctionLibrary {
    /// Marker Helm wraps around `required`/`fail` messages so they surface verbatim.
    static let warnStart = "HELM_ERR_START"
    static let warnEnd = "HELM_ERR_END"

    /// The full map: Go builtins are separate (see Builtins); Sprig's `slice` overrides Go's.
    public static let standard: [String: FunctionSpec] = {
        var f: [String: FunctionSpec] = [:]
        SprigStrings.register(&f)
        SprigCollections.register(&f)
        SprigMisc.register(&f)
        registerHelm(&f)
        return f
    }()

    static func registerHelm(_ f: inout [String: FunctionSpec]) {
        f.add("toYaml", 1) { a in
            guard let s = try? YAMLCodec.encode(a[0]) else { return .string("") }
            return .string(s.hasSuffix("\n") ? String(s.dropLast()) : s)
        }
        f["mustToYaml"] = FunctionSpec(1, 1) { _, a in
            let s = try YAMLCodec.encode(a[0])
            return .string(s.hasSuffix("\n") ? String(s.dropLast()) : s)
        }
        f["toYamlPretty"] = f["toYaml"]
        f.add("fromYaml", 1) { a in
            let s = try Arg2.string(a[0])
            do {
                let v = try YAMLCodec.decode(s)
                switch v {
                case .map: return v
                case .null: return .dict([:])
                default: return .dict(["Error": .string("error unmarshaling JSON: while decoding JSON: json: cannot unmarshal \(jsonKind(v)) into Go value of type map[string]interface {}")])
                }
            } catch {
                return .dict(["Error": .string("error converting YAML to JSON: \(error)")])
            }
        }
        f.add("fromYamlArray", 1) { a in
            let s = try Arg2.string(a[0])
            do {
                let v = try YAMLCodec.decode(s)
                switch v {
                case .list: return v
                case .null: return .list([])
                default: return .list([.string("error unmarshaling JSON: while decoding JSON: json: cannot unmarshal \(jsonKind(v)) into Go value of type []interface {}")])
                }
            } catch {
                return .list([.string("error converting YAML to JSON: \(error)")])
            }
        }
        f.add("toJson", 1) { a in .string(JSONCodec.encode(a[0])) }
        f["mustToJson"] = f["toJson"]
        f.add("toPrettyJson", 1) { a in .string(JSONCodec.encode(a[0], indent: "  ")) }
        f["mustToPrettyJson"] = f["toPrettyJson"]
        f.add("toRawJson", 1) { a in .string(JSONCodec.encode(a[0], escapeHTML: false)) }
        f["mustToRawJson"] = f["toRawJson"]
        f.add("fromJson", 1) { a in
            do {
                let v = try JSONCodec.decode(try Arg2.string(a[0]))
                if case .map = v { return v }
                if case .null = v { return .dict([:]) }
                return .dict(["Error": .string("json: cannot unmarshal \(jsonKind(v)) into Go value of type map[string]interface {}")])
            } catch {
                return .dict(["Error": .string("\(error)")])
            }
        }
        f["mustFromJson"] = FunctionSpec(1, 1) { _, a in
            do { return try JSONCodec.decode(try Arg2.string(a[0])) } catch { throw FunctionError("\(error)") }
        }
        f.add("fromJsonArray", 1) { a in
            do {
                let v = try JSONCodec.decode(try Arg2.string(a[0]))
                if case .list = v { return v }
                return .list([.string("json: cannot unmarshal \(jsonKind(v)) into Go value of type []interface {}")])
            } catch {
                return .list([.string("\(error)")])
            }
        }
        f.add("toToml", 1) { a in .string(TOML.encode(a[0])) }
        f["mustToToml"] = f["toToml"]
        f.add("fromToml", 1) { a in
            do { return .map(try TOMLDecoder.decode(try Arg2.string(a[0]))) } catch let e as TOMLDecoder.SyntaxError {
                return .dict(["Error": .string(e.description)])
            }
        }
        f["include"] = FunctionSpec(2, 2) { ctx, a in
            let name = try Arg2.string(a[0])
            let ex = ctx.executor
            let count = ex.includeCounts[name, default: 0]
            if count > 1000 {
                throw FunctionError("rendering template has a nested reference name: \(name): unable to execute template")
            }
            ex.includeCounts[name] = count + 1
            defer { ex.includeCounts[name] = count }
            return .string(try ctx.executeTemplate(named: name, data: a[1]))
        }
        f["tpl"] = FunctionSpec(2, 2) { ctx, a in
            let text = try Arg2.string(a[0])
            do {
                let s = try ctx.parseAndExecute(source: text, data: a[1])
                return .string(s.replacingOccurrences(of: "<no value>", with: ""))
            } catch let e as TemplateParseError {
                throw FunctionError("cannot parse template \(GoStrings.quote(text)): \(e.description)")
            } catch let e as TemplateExecError {
                throw WrappedExecError(prefix: "error during tpl function execution for \(GoStrings.quote(text)): ", inner: e)
            }
        }
        f.add("required", 2) { a in
            let msg = try Arg2.string(a[0])
            switch a[1] {
            case .null: throw FunctionError(warnStart + msg + warnEnd)
            case .string(let s) where s.isEmpty: throw FunctionError(warnStart + msg + warnEnd)
            default: return a[1]
            }
        }
        f.add("fail", 1) { a in throw FunctionError(warnStart + (try Arg2.string(a[0])) + warnEnd) }
        f.add("lookup", 4) { a in
            for v in a { _ = try Arg2.string(v) }
            return .dict([:])
        }
    }

    static func jsonKind(_ v: Value) -> String {
        switch v {
        case .list: return "array"
        case .map: return "object"
        case .string: return "string"
        case .bool: return "bool"
        case .float, .int: return "number"
        default: return "value"
        }
    }
}

/// An execution error from inside `tpl`, keeping the inner error for Helm's unwrapping.
struct WrappedExecError: Error, CustomStringConvertible, Sendable {
    let prefix: String
    let inner: TemplateExecError
    var description: String { prefix + inner.description }
}

/// TOML output for `toToml` (tables for maps, arrays inline), as BurntSushi/toml prints common values.
enum TOML {
    static func encode(_ v: Value) -> String {
        guard case .map(let m) = v else { return "" }
        var out = ""
        write(m, path: [], into: &out)
        return out
    }

    static func key(_ k: String) -> String {
        k.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) && !k.isEmpty ? k : GoStrings.quote(k)
    }

    static func scalar(_ v: Value) -> String {
        switch v {
        case .string(let s): return GoStrings.quote(s)
        case .int(let i): return String(i)
        case .float(let f): return f == f.rounded() && abs(f) < 1e15 ? String(Int64(f)) : GoFormat.gFloat(f)
        case .bool(let b): return b ? "true" : "false"
        case .list(let l): return "[" + l.map(scalar).joined(separator: ", ") + "]"
        case .map(let m): return "{" + m.sortedKeys.map { key($0) + " = " + scalar(m[$0]!) }.joined(separator: ", ") + "}"
        default: return "\"\""
        }
    }

    static func write(_ m: GoMap, path: [String], into out: inout String) {
        let keys = m.sortedKeys
        let indent = String(repeating: "  ", count: max(0, path.count - 1))
        for k in keys {
            let v = m[k]!
            if case .map = v { continue }
            if case .null = v { continue }
            out += indent + key(k) + " = " + scalar(v) + "\n"
        }
        for k in keys {
            guard case .map(let sub) = m[k]! else { continue }
            let p = path + [k]
            out += "\n" + String(repeating: "  ", count: p.count - 1) + "[" + p.map(key).joined(separator: ".") + "]\n"
            write(sub, path: p, into: &out)
        }
    }
}

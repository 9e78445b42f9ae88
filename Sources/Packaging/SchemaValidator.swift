import Foundation
import OutpostCore
import Yams

/// A small JSON-schema validator that works on Yams nodes, so every issue carries the YAML line.
///
/// It covers the keywords Zarf's schema uses (type, properties, patternProperties,
/// additionalProperties, required, enum, pattern, items, minItems, $ref into $defs) plus
/// anyOf/oneOf/const for schemas that use them. `deprecated` keys are reported as warnings.
public struct SchemaValidator {
    public let schema: JSONValue
    private var regexCache: [String: NSRegularExpression] = [:]

    public init(schema: JSONValue) { self.schema = schema }

    /// Zarf's v1alpha1 schema, shipped with the module.
    public static func zarfV1Alpha1() throws -> SchemaValidator {
        guard let url = Bundle.module.url(forResource: "zarf-v1alpha1.schema", withExtension: "json", subdirectory: "Resources")
            ?? Bundle.module.url(forResource: "zarf-v1alpha1.schema", withExtension: "json") else {
            throw PackagingError.io(path: "zarf-v1alpha1.schema.json", message: "schema resource missing from the Packaging bundle")
        }
        return SchemaValidator(schema: try JSONValue.parse(Data(contentsOf: url)))
    }

    /// Result of a validation: errors fail the definition, warnings (deprecated keys) do not.
    public struct Result: Sendable {
        public var errors: [DefinitionIssue] = []
        public var warnings: [DefinitionIssue] = []
    }

    /// Validates `node` against the root schema. `file` names the definition in every issue.
    public mutating func validate(_ node: Node, file: String) -> Result {
        var result = Result()
        check(node, schema, path: "", file: file, into: &result)
        return result
    }

    private mutating func regex(_ pattern: String) -> NSRegularExpression? {
        if let r = regexCache[pattern] { return r }
        let r = try? NSRegularExpression(pattern: pattern)
        regexCache[pattern] = r
        return r
    }

    private func resolve(_ s: JSONValue) -> JSONValue {
        var current = s
        var depth = 0
        while let ref = current["$ref"]?.stringValue, depth < 32 {
            depth += 1
            guard ref.hasPrefix("#/") else { break }
            var target: JSONValue? = schema
            for part in ref.dropFirst(2).split(separator: "/") { target = target?[String(part)] }
            guard let t = target else { break }
            // Keywords beside $ref (e.g. description) do not matter for validation.
            current = t
        }
        return current
    }

    static func kind(of node: Node) -> String {
        switch node {
        case .mapping: return "mapping"
        case .sequence: return "sequence"
        case .alias: return "alias"
        case .scalar(let s):
            if s.style != .plain { return "string" }
            let raw = s.tag.rawValue
            let name = raw.isEmpty ? Resolver.default.resolveTag(of: node) : Tag.Name(rawValue: raw)
            switch name {
            case .bool: return "boolean"
            case .int: return "integer"
            case .float: return "number"
            case .null: return "null"
            default: return "string"
            }
        }
    }

    private static func matches(_ node: Node, type: String) -> Bool {
        let k = kind(of: node)
        switch type {
        case "object": return k == "mapping"
        case "array": return k == "sequence"
        case "string": return k == "string"
        case "boolean": return k == "boolean"
        case "integer": return k == "integer"
        case "number": return k == "integer" || k == "number"
        case "null": return k == "null"
        default: return true
        }
    }

    private static func typeName(_ t: String) -> String {
        switch t {
        case "object": return "mapping"
        case "array": return "sequence"
        default: return t
        }
    }

    static func child(_ path: String, key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    private mutating func check(_ node: Node, _ rawSchema: JSONValue, path: String, file: String, into result: inout Result) {
        let s = resolve(rawSchema)
        let line = node.mark?.line
        func fail(_ message: String, line l: Int? = nil, path p: String? = nil) {
            result.errors.append(DefinitionIssue(file: file, line: l ?? line, path: p ?? path, message: message))
        }
        if case .alias = node { return }

        if let branches = s["anyOf"]?.arrayValue ?? s["oneOf"]?.arrayValue {
            var matched = 0
            var firstErrors: [DefinitionIssue] = []
            for b in branches {
                var sub = Result()
                check(node, b, path: path, file: file, into: &sub)
                if sub.errors.isEmpty { matched += 1 } else if firstErrors.isEmpty { firstErrors = sub.errors }
            }
            let isOneOf = s["oneOf"] != nil
            if matched == 0 {
                fail("does not match any allowed form" + (firstErrors.first.map { " (\($0.path): \($0.message))" } ?? ""))
                return
            }
            if isOneOf && matched > 1 { fail("matches more than one allowed form"); return }
        }

        if let t = s["type"] {
            let types = t.arrayValue?.compactMap(\.stringValue) ?? [t.stringValue].compactMap { $0 }
            if !types.isEmpty && !types.contains(where: { Self.matches(node, type: $0) }) {
                fail("expected \(types.map(Self.typeName).joined(separator: " or ")), got \(Self.kind(of: node))")
                return
            }
        }

        if case .scalar(let scalar) = node {
            if let options = s["enum"]?.arrayValue {
                let allowed = options.map { v -> String in
                    if let str = v.stringValue { return str }
                    if let b = v.boolValue { return String(b) }
                    if let i = v.intValue { return String(i) }
                    return ""
                }
                if !allowed.contains(scalar.string) {
                    fail("\"\(scalar.string)\" is not one of \(allowed.map { "\"\($0)\"" }.joined(separator: ", "))")
                }
            }
            if let c = s["const"]?.stringValue, c != scalar.string { fail("must be \"\(c)\"") }
            if let pattern = s["pattern"]?.stringValue, Self.kind(of: node) == "string", let re = regex(pattern) {
                let str = scalar.string
                if re.firstMatch(in: str, range: NSRange(str.startIndex..., in: str)) == nil {
                    fail("\"\(str)\" does not match the pattern \(pattern)")
                }
            }
        }

        if case .sequence(let seq) = node {
            if let min = s["minItems"]?.intValue, seq.count < min {
                fail("must have at least \(min) item\(min == 1 ? "" : "s")")
            }
            if let items = s["items"] {
                for (i, item) in seq.enumerated() {
                    check(item, items, path: "\(path)[\(i)]", file: file, into: &result)
                }
            }
        }

        if case .mapping(let map) = node {
            let properties = s["properties"]?.objectValue ?? [:]
            let patterns = s["patternProperties"]?.objectValue ?? [:]
            var seen = Set<String>()
            for (keyNode, value) in map {
                let key = keyNode.scalar?.string ?? ""
                let keyPath = Self.child(path, key: key)
                if !seen.insert(key).inserted {
                    fail("duplicate key", line: keyNode.mark?.line, path: keyPath)
                    continue
                }
                if let ps = properties[key] {
                    if resolve(ps)["deprecated"]?.boolValue == true || ps["deprecated"]?.boolValue == true {
                        result.warnings.append(DefinitionIssue(file: file, line: keyNode.mark?.line, path: keyPath, message: "deprecated key"))
                    }
                    check(value, ps, path: keyPath, file: file, into: &result)
                    continue
                }
                var matchedPattern = false
                for (pattern, ps) in patterns.sorted(by: { $0.key < $1.key }) {
                    if let re = regex(pattern), re.firstMatch(in: key, range: NSRange(key.startIndex..., in: key)) != nil {
                        matchedPattern = true
                        check(value, ps, path: keyPath, file: file, into: &result)
                    }
                }
                if matchedPattern { continue }
                switch s["additionalProperties"] {
                case .bool(false)?:
                    fail("unknown key", line: keyNode.mark?.line, path: keyPath)
                case .some(let extra) where extra.objectValue != nil:
                    check(value, extra, path: keyPath, file: file, into: &result)
                default:
                    break
                }
            }
            for req in s["required"]?.arrayValue?.compactMap(\.stringValue) ?? [] where !seen.contains(req) {
                fail("missing required key \"\(req)\"")
            }
        }
    }
}

import Foundation
import OutpostCore
import Packaging
import Testing
import TestSupport
import Yams

@Suite("the model covers every key of Zarf's v1alpha1 schema")
struct SchemaCoverageTests {
    /// A document that uses every property of every definition in the schema.
    static func sample(_ schema: JSONValue, root: JSONValue, depth: Int = 0) -> JSONValue {
        var s = schema
        if let ref = s["$ref"]?.stringValue {
            s = root["$defs"]?[String(ref.split(separator: "/").last!)] ?? .null
        }
        if let e = s["enum"]?.arrayValue?.last { return e }
        switch s["type"]?.stringValue {
        case "object"?:
            if let props = s["properties"]?.objectValue {
                return .object(props.mapValues { sample($0, root: root, depth: depth + 1) })
            }
            if let extra = s["additionalProperties"], extra.objectValue != nil {
                return .object(["k": sample(extra, root: root, depth: depth + 1)])
            }
            return .object([:])
        case "array"?: return .array([sample(s["items"] ?? .null, root: root, depth: depth + 1)])
        case "boolean"?: return .bool(true)
        case "integer"?, "number"?: return .number(7)
        default: return .string("v")
        }
    }

    static func keyPaths(_ v: JSONValue, _ p: String = "") -> Set<String> {
        switch v {
        case .object(let o):
            return o.reduce(into: Set<String>()) { acc, kv in
                acc.insert(p + "." + kv.key)
                if p.hasSuffix(".value") || p.hasSuffix(".documentation") || p.hasSuffix(".annotations") || p.hasSuffix(".registryOverrides") { return }
                acc.formUnion(keyPaths(kv.value, p + "." + kv.key))
            }
        case .array(let a): return a.reduce(into: Set<String>()) { $0.formUnion(keyPaths($1, p + "[]")) }
        default: return []
        }
    }

    @Test("a document with every schema key decodes and re-encodes without losing a key")
    func everyKey() throws {
        let url = URL(fileURLWithPath: repositoryRoot() + "/Sources/Packaging/Resources/zarf-v1alpha1.schema.json")
        let schema = try JSONValue.parse(Data(contentsOf: url))
        let doc = Self.sample(schema, root: schema)
        let expected = Self.keyPaths(doc)
        #expect(expected.count > 200)
        // JSON is YAML: decode the sample with the model, encode it back, compare key paths.
        let text = String(decoding: try doc.encoded(), as: UTF8.self)
        let pkg = try YAMLDecoder().decode(ZarfPackage.self, from: text)
        let back = try JSONValue.parse(JSONEncoder().encode(pkg))
        let missing = expected.subtracting(Self.keyPaths(back))
        #expect(missing.isEmpty, "keys the model drops: \(missing.sorted())")
        // And the YAML Outpost writes for it round-trips to the same model.
        let again = try YAMLDecoder().decode(ZarfPackage.self, from: String(decoding: try PackageDefinition.encode(pkg), as: UTF8.self))
        #expect(again == pkg)
    }
}

import Foundation
import OutpostCore
import Yams

/// Converts between YAML text and `JSONValue` documents, the form every Talos config and patch takes in
/// this module. Output is deterministic: keys come in Talos's reading order (`apiVersion`, `kind`, `name`,
/// `version`, `machine`, `cluster` first), then alphabetically.
public enum YAMLDocuments {
    /// Parses every document of a (possibly multi-document) YAML text. Empty documents are skipped.
    public static func parse(_ text: String, file: String) throws -> [JSONValue] {
        do {
            var docs: [JSONValue] = []
            for node in try Yams.compose_all(yaml: text) {
                docs.append(try value(of: node, file: file))
            }
            return docs.filter { !$0.isNull }
        } catch let e as TalosError {
            throw e
        } catch {
            throw TalosError.yaml(file: file, line: nil, reason: "\(error)")
        }
    }

    /// The JSON value of one YAML node (scalars resolved with YAML 1.1 core rules as Yams does).
    public static func value(of node: Node, file: String) throws -> JSONValue {
        switch node {
        case .scalar(let s):
            switch node.tagName {
            case .null: return .null
            case .bool: return .bool(node.bool ?? false)
            case .int:
                if let i = node.int { return .number(Double(i)) }
                return .string(s.string)
            case .float:
                if let f = node.float, f.isFinite { return .number(f) }
                return .string(s.string)
            default: return .string(s.string)
            }
        case .sequence(let seq):
            return .array(try seq.map { try value(of: $0, file: file) })
        case .mapping(let map):
            var o: [String: JSONValue] = [:]
            for (k, v) in map {
                guard let key = k.string else {
                    throw TalosError.yaml(file: file, line: k.mark.map { $0.line }, reason: "mapping keys must be strings")
                }
                if o[key] != nil {
                    throw TalosError.yaml(file: file, line: k.mark.map { $0.line }, reason: "duplicate key \"\(key)\"")
                }
                o[key] = try value(of: v, file: file)
            }
            return .object(o)
        case .alias:
            throw TalosError.yaml(file: file, line: node.mark.map { $0.line }, reason: "YAML aliases are not supported")
        }
    }

    /// Serialises documents as multi-document YAML (`---` between documents), 4-space indentation as
    /// Talos writes its configs.
    public static func render(_ documents: [JSONValue]) throws -> String {
        let nodes = documents.map(node(for:))
        var out = ""
        for (i, n) in nodes.enumerated() {
            if i > 0 { out += "---\n" }
            out += try Yams.serialize(node: n, indent: 4, width: -1, allowUnicode: true)
        }
        return out
    }

    private static let leadingKeys = ["apiVersion", "kind", "name", "version", "debug", "machine", "cluster", "type",
                                      "context", "contexts"]

    static func orderedKeys(_ keys: some Collection<String>) -> [String] {
        keys.sorted { a, b in
            let ia = leadingKeys.firstIndex(of: a) ?? Int.max, ib = leadingKeys.firstIndex(of: b) ?? Int.max
            return ia != ib ? ia < ib : a < b
        }
    }

    static func node(for value: JSONValue) -> Node {
        switch value {
        case .null: return Node("null", Tag(.null))
        case .bool(let b): return Node(b ? "true" : "false", Tag(.bool))
        case .number(let n):
            if n.rounded() == n, abs(n) < 9.0e15 { return Node(String(Int64(n)), Tag(.int)) }
            return Node(String(n), Tag(.float))
        case .string(let s):
            let style: Node.Scalar.Style
            if s.contains("\n") {
                style = .literal
            } else if s.isEmpty || Resolver.default.resolveTag(of: Node(s)) != .str || s != s.trimmingCharacters(in: .whitespaces) {
                style = .doubleQuoted
            } else {
                style = .any
            }
            return .scalar(.init(s, Tag(.str), style))
        case .array(let a):
            return .sequence(.init(a.map(node(for:))))
        case .object(let o):
            return .mapping(.init(orderedKeys(o.keys).map { (node(for: .string($0)), node(for: o[$0]!)) }))
        }
    }
}

extension Node {
    /// The resolved tag's name (`str`, `int`, `bool`, …).
    var tagName: Tag.Name { Tag.Name(rawValue: tag.rawValue) }
}

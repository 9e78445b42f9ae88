import Foundation
import OutpostCore
import Yams

/// Reads YAML request bodies (server-side apply sends `application/apply-patch+yaml`) into `JSONValue`,
/// keeping quoted scalars as strings the way Kubernetes' YAML reader does.
enum YAMLBridge {
    struct Failure: Error, CustomStringConvertible { var description: String }

    static func parse(_ data: Data) throws -> JSONValue {
        guard let text = String(data: data, encoding: .utf8) else { throw Failure(description: "the body is not UTF-8") }
        guard let node = try Yams.compose(yaml: text) else { return .null }
        return convert(node)
    }

    static func convert(_ node: Node) -> JSONValue {
        switch node {
        case .scalar(let s):
            if s.style == .singleQuoted || s.style == .doubleQuoted || s.style == .literal || s.style == .folded {
                return .string(s.string)
            }
            if node.null != nil { return .null }
            if let b = node.bool { return .bool(b) }
            if let i = node.int { return .number(Double(i)) }
            if let f = node.float { return .number(f) }
            return .string(s.string)
        case .mapping(let m):
            var o: [String: JSONValue] = [:]
            for (k, v) in m { o[k.string ?? ""] = convert(v) }
            return .object(o)
        case .sequence(let seq):
            return .array(seq.map(convert))
        case .alias:
            return .null
        }
    }
}

import Foundation
import OutpostCore

/// One RFC 6902 operation. The webhook only emits `add` and `replace`: `add` on an object member both
/// creates and overwrites it, so patches apply whether or not optional fields (labels, secretRef) exist.
public struct PatchOperation: Sendable, Equatable {
    public enum Op: String, Sendable { case add, replace }
    public let op: Op
    public let path: String
    public let value: JSONValue

    public static func add(_ path: String, _ value: JSONValue) -> PatchOperation { .init(op: .add, path: path, value: value) }
    public static func replace(_ path: String, _ value: JSONValue) -> PatchOperation { .init(op: .replace, path: path, value: value) }

    public var json: JSONValue { ["op": .string(op.rawValue), "path": .string(path), "value": value] }
}

/// RFC 6901 pointer building: `~` → `~0`, `/` → `~1` inside a reference token.
public enum JSONPointer {
    public static func escape(_ token: String) -> String {
        token.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
    }
}

extension Array where Element == PatchOperation {
    /// The patch document as JSON bytes (an array of operations, keys sorted), written straight from
    /// the operations: the same bytes as encoding `map(\.json)`, without building those objects.
    public func encoded() throws -> Data {
        var out = ByteWriter(capacity: 256 * count)
        write(into: &out)
        return out.withBytes { Data($0) }
    }

    /// Appends the patch document's bytes to `out`.
    func write(into out: inout ByteWriter) {
        out.append(UInt8(ascii: "["))
        for (i, operation) in enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out.append(#"{"op":"#)
            JSONWriter.writeString(operation.op.rawValue, into: &out)
            out.append(#","path":"#)
            JSONWriter.writeString(operation.path, into: &out)
            out.append(#","value":"#)
            JSONWriter.write(operation.value, into: &out)
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: "]"))
    }
}

import Foundation

/// An RFC 6902 JSON Patch applier over the values Foundation's JSON parser gives (dictionaries, arrays,
/// strings, numbers, `NSNull`), written apart from the agent's patch writer. The review check applies each
/// patch the agent answers to the object it was computed for, as the API server does: a patch that does not
/// apply makes the API server refuse the object, and with `failurePolicy: Fail` that stops a Pod from starting.
///
/// It knows every operation the RFC defines except `move` and `copy`, which the agent never writes.
enum FoundationJSONPatch {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// `document` with `operations` applied in order; the first operation that cannot apply throws.
    static func apply(_ operations: [[String: Any]], to document: Any) throws(Failure) -> Any {
        var document = document
        for (index, operation) in operations.enumerated() {
            guard let op = operation["op"] as? String, let path = operation["path"] as? String else {
                throw Failure(description: "operation \(index) has no op or path")
            }
            let tokens = try referenceTokens(path)
            let edit: Edit
            switch op {
            case "add", "replace", "test":
                guard let value = operation["value"] else { throw Failure(description: "operation \(index) (\(op) \(path)) has no value") }
                edit = op == "add" ? .add(value) : op == "replace" ? .replace(value) : .test(value)
            case "remove":
                edit = .remove
            default:
                throw Failure(description: "operation \(index): op \(op) is not applied here")
            }
            do {
                document = try apply(edit, at: tokens[...], in: document)
            } catch {
                throw Failure(description: "operation \(index) (\(op) \(path)): \(error.description)")
            }
        }
        return document
    }

    private enum Edit {
        case add(Any), replace(Any), remove, test(Any)
    }

    /// RFC 6901: the tokens of a JSON Pointer, `~1` read as `/` and `~0` as `~` (in that order).
    static func referenceTokens(_ pointer: String) throws(Failure) -> [String] {
        if pointer.isEmpty { return [] }
        guard pointer.hasPrefix("/") else { throw Failure(description: "pointer \(pointer) does not start with /") }
        var tokens: [String] = []
        for raw in pointer.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
            var token = ""
            var characters = raw.makeIterator()
            while let character = characters.next() {
                guard character == "~" else { token.append(character); continue }
                switch characters.next() {
                case "0": token.append("~")
                case "1": token.append("/")
                default: throw Failure(description: "pointer \(pointer) has a ~ not followed by 0 or 1")
                }
            }
            tokens.append(token)
        }
        return tokens
    }

    private static func apply(_ edit: Edit, at tokens: ArraySlice<String>, in value: Any) throws(Failure) -> Any {
        guard let token = tokens.first else {
            switch edit {
            case .add(let new), .replace(let new): return new
            case .remove: throw Failure(description: "cannot remove the whole document")
            case .test(let expected):
                guard same(value, expected) else { throw Failure(description: "test failed") }
                return value
            }
        }
        let rest = tokens.dropFirst()
        if var object = value as? [String: Any] {
            if rest.isEmpty {
                switch edit {
                case .add(let new):
                    object[token] = new
                case .replace(let new):
                    guard object[token] != nil else { throw Failure(description: "no member \(token) to replace") }
                    object[token] = new
                case .remove:
                    guard object.removeValue(forKey: token) != nil else { throw Failure(description: "no member \(token) to remove") }
                case .test(let expected):
                    guard let member = object[token], same(member, expected) else { throw Failure(description: "test failed") }
                }
                return object
            }
            guard let member = object[token] else { throw Failure(description: "no member \(token)") }
            object[token] = try apply(edit, at: rest, in: member)
            return object
        }
        if var array = value as? [Any] {
            let appending = token == "-"
            guard appending || isArrayIndex(token), let index = appending ? array.count : Int(token) else {
                throw Failure(description: "\(token) is not an array index")
            }
            if rest.isEmpty, case .add(let new) = edit {
                guard index <= array.count else { throw Failure(description: "index \(index) is past the array's end \(array.count)") }
                array.insert(new, at: index)
                return array
            }
            guard index < array.count else { throw Failure(description: "index \(token) is outside the array of \(array.count)") }
            if rest.isEmpty {
                switch edit {
                case .add: break  // handled above
                case .replace(let new): array[index] = new
                case .remove: array.remove(at: index)
                case .test(let expected): guard same(array[index], expected) else { throw Failure(description: "test failed") }
                }
                return array
            }
            array[index] = try apply(edit, at: rest, in: array[index])
            return array
        }
        throw Failure(description: "cannot go into a \(type(of: value)) with \(token)")
    }

    /// RFC 6901 array index: `0` or digits without a leading zero.
    private static func isArrayIndex(_ token: String) -> Bool {
        guard let first = token.utf8.first, token.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return false }
        return first != 0x30 || token.utf8.count == 1
    }

    /// Equal JSON values (compared as canonical JSON text).
    static func same(_ a: Any, _ b: Any) -> Bool {
        canonical(a) == canonical(b)
    }

    static func canonical(_ value: Any) -> Data? {
        try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed])
    }
}

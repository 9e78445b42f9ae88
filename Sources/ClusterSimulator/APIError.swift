import Foundation
import OutpostCore

/// The simulator's one error type. API failures carry what Kubernetes puts in a `Status` object
/// (HTTP code, reason, message, details) so clients such as kubectl print the same errors they
/// would against a real API server; set-up failures name the file or program that failed.
public enum SimulatorError: Error, CustomStringConvertible, Sendable {
    /// A Kubernetes API error, returned to clients as a `Status` object.
    case api(code: Int, reason: String, message: String, details: JSONValue?)
    /// A program the simulator drives (podman, …) failed.
    case runtime(program: String, arguments: [String], status: Int32, output: String)
    /// The state directory or a file in it is unusable.
    case state(path: String, why: String)
    /// TLS or certificate generation failed.
    case tls(String)

    public var description: String {
        switch self {
        case .api(let code, let reason, let message, _): return "\(code) \(reason): \(message)"
        case .runtime(let p, let a, let s, let o):
            return "\(p) \(a.joined(separator: " ")) exited \(s): \(o.trimmingCharacters(in: .whitespacesAndNewlines))"
        case .state(let path, let why): return "\(path): \(why)"
        case .tls(let why): return "TLS set-up failed: \(why)"
        }
    }

    // MARK: Kubernetes-shaped constructors

    static func notFound(_ type: ResourceType, _ name: String) -> SimulatorError {
        .api(code: 404, reason: "NotFound", message: "\(type.resourceDescription) \"\(name)\" not found",
             details: ["name": .string(name), "group": .string(type.group), "kind": .string(type.plural)])
    }

    static func alreadyExists(_ type: ResourceType, _ name: String) -> SimulatorError {
        .api(code: 409, reason: "AlreadyExists", message: "\(type.resourceDescription) \"\(name)\" already exists",
             details: ["name": .string(name), "group": .string(type.group), "kind": .string(type.plural)])
    }

    static func conflict(_ type: ResourceType, _ name: String, _ why: String) -> SimulatorError {
        .api(code: 409, reason: "Conflict",
             message: "Operation cannot be fulfilled on \(type.resourceDescription) \"\(name)\": \(why)",
             details: ["name": .string(name), "group": .string(type.group), "kind": .string(type.plural)])
    }

    /// 422 Invalid with one cause per field, as the real validation returns.
    static func invalid(kind: String, group: String, name: String, causes: [(field: String, message: String)]) -> SimulatorError {
        let text = causes.map { "\($0.field): \($0.message)" }.joined(separator: ", ")
        let causeValues: [JSONValue] = causes.map {
            ["reason": .string(causeReason($0.message)), "message": .string($0.message), "field": .string($0.field)]
        }
        var details: [String: JSONValue] = ["name": .string(name), "kind": .string(kind), "causes": .array(causeValues)]
        if !group.isEmpty { details["group"] = .string(group) }
        return .api(code: 422, reason: "Invalid", message: "\(kind) \"\(name)\" is invalid: \(text)", details: .object(details))
    }

    /// The `CauseType` Kubernetes reports for a field error, from the message's leading phrase.
    static func causeReason(_ message: String) -> String {
        let prefixes = [("Required value", "FieldValueRequired"), ("Too long", "FieldValueTooLong"),
                        ("Unsupported value", "FieldValueNotSupported"), ("Duplicate value", "FieldValueDuplicate"),
                        ("Forbidden", "FieldValueForbidden"), ("Too many", "FieldValueTooMany"),
                        ("Internal error", "InternalError"), ("Not found", "FieldValueNotFound")]
        return prefixes.first { message.hasPrefix($0.0) }?.1 ?? "FieldValueInvalid"
    }

    static func badRequest(_ message: String) -> SimulatorError {
        .api(code: 400, reason: "BadRequest", message: message, details: nil)
    }

    static func methodNotAllowed(_ message: String) -> SimulatorError {
        .api(code: 405, reason: "MethodNotAllowed", message: message, details: nil)
    }

    static func internalError(_ message: String) -> SimulatorError {
        .api(code: 500, reason: "InternalError", message: "Internal error occurred: \(message)", details: nil)
    }

    /// The HTTP status code a client sees for this error.
    var httpCode: Int {
        if case .api(let code, _, _, _) = self { return code }
        return 500
    }

    /// The `Status` object for this error (`kind: Status`, `status: Failure`).
    var statusObject: JSONValue {
        switch self {
        case .api(let code, let reason, let message, let details):
            var o: [String: JSONValue] = [
                "kind": "Status", "apiVersion": "v1", "metadata": [:], "status": "Failure",
                "message": .string(message), "reason": .string(reason), "code": .number(Double(code)),
            ]
            if let details { o["details"] = details }
            return .object(o)
        default:
            return ["kind": "Status", "apiVersion": "v1", "metadata": [:], "status": "Failure",
                    "message": .string("Internal error occurred: \(description)"), "reason": "InternalError", "code": 500]
        }
    }
}

import Foundation

/// A value as Go's text/template sees it: the dynamic types Helm templates work with
/// (values decoded from YAML/JSON, `--set` scalars, template literals, and Helm's built-in objects).
///
/// Numbers keep Go's distinction between `int` (template literals, `--set` integers, Sprig results)
/// and `float64` (every number read from a YAML or JSON document, as Helm decodes them).
public indirect enum Value: Sendable {
    case null
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case list([Value])
    case map(GoMap)
    case bytes([UInt8])
    case object(any TemplateObject)

    /// Go's type name, as `%T` and error messages print it.
    public var goType: String {
        switch self {
        case .null: return "<nil>"
        case .bool: return "bool"
        case .int: return "int"
        case .float: return "float64"
        case .string: return "string"
        case .list: return "[]interface {}"
        case .map: return "map[string]interface {}"
        case .bytes: return "[]uint8"
        case .object(let o): return o.goTypeName
        }
    }

    /// Go's reflect kind name, as Sprig's `kindOf` prints it.
    public var goKind: String {
        switch self {
        case .null: return "invalid"
        case .bool: return "bool"
        case .int: return "int"
        case .float: return "float64"
        case .string: return "string"
        case .list, .bytes: return "slice"
        case .map: return "map"
        case .object(let o): return o.goKind
        }
    }

    /// Go's `if` truthiness: zero values and empty collections are false.
    public var isTruthy: Bool {
        switch self {
        case .null: return false
        case .bool(let b): return b
        case .int(let i): return i != 0
        case .float(let f): return f != 0
        case .string(let s): return !s.isEmpty
        case .list(let l): return !l.isEmpty
        case .map(let m): return !m.isEmpty
        case .bytes(let b): return !b.isEmpty
        case .object: return true
        }
    }

    public var isNull: Bool { if case .null = self { return true } else { return false } }
    public var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
    public var mapValue: [String: Value]? { if case .map(let m) = self { return m.storage } else { return nil } }

    /// A new map value (Go maps are references: `set` and `merge` mutate them in place).
    public static func dict(_ d: [String: Value]) -> Value { .map(GoMap(d)) }
    public var listValue: [Value]? { if case .list(let l) = self { return l } else { return nil } }
}

/// A Go struct or named type exposed to templates (`.Capabilities`, `.Files`, ...): fields and methods by name.
public protocol TemplateObject: Sendable {
    var goTypeName: String { get }
    var goKind: String { get }
    /// A field's value, or nil when the type has no such field.
    func field(_ name: String) -> Value?
    /// A method bound to this object, or nil when the type has no such method.
    func method(_ name: String) -> TemplateFunction?
    /// How `{{ . }}` prints the object (Go's fmt `%v`).
    var goDescription: String { get }
}

extension TemplateObject {
    public var goKind: String { "struct" }
    public func method(_ name: String) -> TemplateFunction? { nil }
}

/// A function callable from a template: receives the evaluated arguments (the piped value last).
public typealias TemplateFunction = @Sendable (CallContext, [Value]) throws -> Value

/// What a function may use of the running template: `include` and `tpl` need the template set.
public struct CallContext {
    let executor: Executor
    public var templateName: String { executor.currentTemplate }
    public func executeTemplate(named name: String, data: Value) throws -> String {
        try executor.runTemplate(named: name, data: data)
    }
    public func parseAndExecute(source: String, data: Value) throws -> String {
        try executor.parseAndRun(source: source, data: data)
    }
    public var options: RenderOptionsForFunctions { executor.functionOptions }
}

/// Settings that make functions deterministic (for tests) or enable offline behaviour.
public struct RenderOptionsForFunctions: Sendable {
    /// A fixed clock and seeded randomness, so `now`, `randAlphaNum`, `uuidv4` are reproducible.
    public var deterministic: Bool
    public var fixedNow: Date
    public init(deterministic: Bool = false, fixedNow: Date = Date(timeIntervalSince1970: 1_700_000_000)) {
        self.deterministic = deterministic
        self.fixedNow = fixedNow
    }
}


/// Go's map[string]interface{}: a reference, so template functions like `set` mutate it where it is shared.
public final class GoMap: @unchecked Sendable {
    public var storage: [String: Value] { didSet { sortedCache = nil } }
    /// Keys in Go's order, kept until the map changes: `range` over a large values map repeats per template.
    private var sortedCache: [String]?
    public init(_ storage: [String: Value] = [:]) { self.storage = storage }
    public subscript(key: String) -> Value? {
        get { storage[key] }
        set { storage[key] = newValue }
    }
    public var keys: Dictionary<String, Value>.Keys { storage.keys }
    public var count: Int { storage.count }
    public var isEmpty: Bool { storage.isEmpty }
    public var sortedKeys: [String] {
        if let sortedCache { return sortedCache }
        let keys = storage.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        sortedCache = keys
        return keys
    }
}

extension Value {
    /// A deep copy: new maps all the way down (Go's copystructure).
    public var deepCopy: Value {
        switch self {
        case .map(let m): return .dict(m.storage.mapValues { $0.deepCopy })
        case .list(let l): return .list(l.map { $0.deepCopy })
        default: return self
        }
    }
}

import Foundation

/// A failure while executing a template, formatted as Go's text/template ExecError:
/// `template: FILE:LINE:COL: executing "NAME" at <NODE>: MESSAGE`.
public struct TemplateExecError: Error, CustomStringConvertible, Sendable {
    /// "FILE:LINE:COL", or nil when no node is known.
    public let location: String?
    public let templateName: String
    public let context: String?
    public let message: String
    /// The error a called function returned (for "error calling X: ..."), kept for Helm's error unwrapping.
    public let cause: (any Error & Sendable)?

    public var description: String {
        if let location, let context {
            return "template: \(location): executing \"\(templateName)\" at <\(context)>: \(message)"
        }
        if templateName.isEmpty { return "template: \(message)" }
        return "template: \(templateName): \(message)"
    }
}

/// Missing-key behaviour for map lookups (`missingkey=` option).
public enum MissingKey: Sendable { case invalid, zero, error }

/// A template function with Go's arity check ("wrong number of args for X: want N got M").
public struct FunctionSpec: Sendable {
    public let minArgs: Int
    public let maxArgs: Int?  // nil: variadic
    public let call: TemplateFunction
    public init(_ minArgs: Int, _ maxArgs: Int?, _ call: @escaping TemplateFunction) {
        self.minArgs = minArgs; self.maxArgs = maxArgs; self.call = call
    }
}

/// An error a template function reports; printed after "error calling NAME: ".
public struct FunctionError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A set of parsed templates that share functions, like Go's *template.Template with its associates.
public final class TemplateSet: @unchecked Sendable {
    var templates: [String: ParsedTemplate] = [:]
    public var functions: [String: FunctionSpec]
    public var missingKey: MissingKey = .zero
    public var functionOptions = RenderOptionsForFunctions()

    public init(functions: [String: FunctionSpec]) { self.functions = functions }

    /// Parses `text` as template `name`, adding it and the templates it defines (later definitions win).
    public func parse(name: String, text: String) throws {
        let fns = functions
        let parsed = try Parser.parse(name: name, text: text) { fns[$0] != nil || Builtins.names.contains($0) }
        for t in parsed {
            // Go keeps an earlier non-empty definition only if the new one is empty.
            if let existing = templates[t.name], t.root.nodes.isEmpty, !existing.root.nodes.isEmpty, t.name != name { continue }
            templates[t.name] = t
        }
    }

    public func has(_ name: String) -> Bool { templates[name] != nil }

    /// Executes template `name` with `data` as dot.
    public func execute(name: String, data: Value) throws -> String {
        let ex = Executor(set: self)
        return try ex.runTemplate(named: name, data: data)
    }
}

enum Flow { case normal, breakLoop, continueLoop }

/// Walks a template tree with Go's evaluation rules.
final class Executor {
    let set: TemplateSet
    var vars: [(String, Value)] = []
    var out = ""
    var tmpl: ParsedTemplate!
    var depth = 0
    var includeCounts: [String: Int] = [:]
    var randomCounter: UInt64 = 0
    var currentTemplate: String { tmpl?.name ?? "" }
    var functionOptions: RenderOptionsForFunctions { self.set.functionOptions }

    init(set: TemplateSet) { self.set = set }

    // MARK: entry points

    func runTemplate(named name: String, data: Value) throws -> String {
        guard let t = set.templates[name] else {
            throw TemplateExecError(location: nil, templateName: "", context: nil,
                message: "no template \(GoStrings.quote(name)) associated with template \"gotpl\"", cause: nil)
        }
        return try run(t, data: data)
    }

    func run(_ t: ParsedTemplate, data: Value) throws -> String {
        depth += 1
        defer { depth -= 1 }
        if depth > 10000 {
            throw TemplateExecError(location: nil, templateName: t.name, context: nil, message: "exceeded maximum template depth (100000)", cause: nil)
        }
        let saveOut = out, saveVars = vars, saveT = tmpl
        out = ""
        vars = [("$", data)]
        tmpl = t
        defer { out = saveOut; vars = saveVars; tmpl = saveT }
        _ = try walk(t.root, dot: data)
        return out
    }

    /// `tpl`: parses source as a new template (sharing the defined templates) and runs it.
    func parseAndRun(source: String, data: Value) throws -> String {
        let name = "gotpl"  // Helm parses `tpl` text as a new template named after its root, "gotpl"
        let fns = set.functions
        let parsed = try Parser.parse(name: name, text: source) { fns[$0] != nil || Builtins.names.contains($0) }
        let saved = parsed.compactMap { t in set.templates[t.name].map { (t.name, $0) } }
        for t in parsed.dropFirst() { set.templates[t.name] = t }
        defer {
            for t in parsed.dropFirst() { set.templates[t.name] = nil }
            for (n, t) in saved { set.templates[n] = t }
        }
        return try run(parsed[0], data: data)
    }

    // MARK: errors

    func fail(_ pos: Int?, _ context: String?, _ message: String, cause: (any Error & Sendable)? = nil) -> TemplateExecError {
        guard let pos, let context else {
            return TemplateExecError(location: nil, templateName: tmpl.name, context: nil, message: message, cause: cause)
        }
        let (line, col) = tmpl.source.location(pos)
        return TemplateExecError(location: "\(tmpl.parseName):\(line):\(col)", templateName: tmpl.name,
            context: context, message: message, cause: cause)
    }

    // MARK: walking

    func walk(_ list: ListNode, dot: Value) throws -> Flow {
        for node in list.nodes {
            let f = try walkNode(node, dot: dot)
            if f != .normal { return f }
        }
        return .normal
    }

    func walkNode(_ node: Node, dot: Value) throws -> Flow {
        switch node {
        case .text(let s):
            out += s
        case .action(let pipe):
            let v = try evalPipeline(pipe, dot: dot)
            if pipe.decl.isEmpty { out += printValue(v) }
        case .ifNode(let b):
            let mark = vars.count
            defer { vars.removeLast(vars.count - mark) }
            let v = try evalPipeline(b.pipe, dot: dot)
            if v.isTruthy { return try walk(b.list, dot: dot) }
            if let e = b.elseList { return try walk(e, dot: dot) }
        case .withNode(let b):
            let mark = vars.count
            defer { vars.removeLast(vars.count - mark) }
            let v = try evalPipeline(b.pipe, dot: dot)
            if v.isTruthy { return try walk(b.list, dot: v) }
            if let e = b.elseList { return try walk(e, dot: dot) }
        case .rangeNode(let b):
            return try walkRange(b, dot: dot)
        case .template(let name, let pipe, let pos):
            let data = try pipe.map { try evalPipeline($0, dot: dot) } ?? .null
            guard let t = set.templates[name] else {
                throw fail(pos, "{{template \(GoStrings.quote(name))\(pipe.map { " " + $0.source } ?? "")}}", "template \(GoStrings.quote(name)) not defined")
            }
            out += try run(t, data: data)
        case .breakNode: return .breakLoop
        case .continueNode: return .continueLoop
        }
        return .normal
    }

    private func walkRange(_ b: BranchNode, dot: Value) throws -> Flow {
        let mark = vars.count
        defer { vars.removeLast(vars.count - mark) }
        let v = try evalPipeline(b.pipe, dot: dot)
        let decl = b.pipe.decl
        let base = vars.count - decl.count
        func bind(_ name: String, _ index: Int, _ value: Value) {
            if b.pipe.isAssign {
                if let idx = vars.lastIndex(where: { $0.0 == name }) { vars[idx].1 = value }
            } else {
                vars[base + index].1 = value
            }
        }
        func body(_ key: Value, _ elem: Value) throws -> Flow {
            if decl.count == 1 { bind(decl[0], 0, elem) }
            if decl.count == 2 { bind(decl[0], 0, key); bind(decl[1], 1, elem) }
            let inner = vars.count
            defer { vars.removeLast(vars.count - inner) }
            return try walk(b.list, dot: elem)
        }
        var iterated = false
        switch v {
        case .list(let l):
            for (k, e) in l.enumerated() {
                iterated = true
                if try body(.int(k), e) == .breakLoop { break }
            }
        case .bytes(let bs):
            for (k, e) in bs.enumerated() {
                iterated = true
                if try body(.int(k), .int(Int(e))) == .breakLoop { break }
            }
        case .map(let m):
            for key in m.sortedKeys {
                iterated = true
                if try body(.string(key), m[key]!) == .breakLoop { break }
            }
        case .int(let n):
            if decl.count > 1 { throw fail(b.pipe.pos, b.pipe.source, "can't use \(n) to iterate over more than one variable") }
            for k in 0..<max(n, 0) {
                iterated = true
                if try body(.int(k), .int(k)) == .breakLoop { break }
            }
        case .null:
            break
        case .object(let o as any RangeableObject):
            for (key, e) in o.entries {
                iterated = true
                if try body(.string(key), e) == .breakLoop { break }
            }
        default:
            throw fail(b.pipe.pos, b.pipe.source, "range can't iterate over \(GoFormat.v(v))")
        }
        if !iterated, let e = b.elseList { return try walk(e, dot: dot) }
        return .normal
    }

    // MARK: pipelines

    func evalPipeline(_ pipe: Pipeline, dot: Value) throws -> Value {
        var value: Value? = nil
        for cmd in pipe.cmds {
            value = try evalCommand(cmd, dot: dot, final: value)
        }
        let v = value ?? .null
        if !pipe.decl.isEmpty {
            if pipe.isAssign {
                for d in pipe.decl {
                    if let idx = vars.lastIndex(where: { $0.0 == d }) { vars[idx].1 = v }
                }
            } else {
                for d in pipe.decl { vars.append((d, v)) }
            }
        }
        return v
    }

    func evalCommand(_ cmd: Command, dot: Value, final: Value?) throws -> Value {
        let first = cmd.args[0]
        switch first {
        case .field(let names, let pos):
            return try evalFieldChain(dot, receiver: dot, names: names, args: cmd.tail, final: final, pos: pos, context: first.source, fromData: true)
        case .chain(let base, let names, let pos):
            let recv = try evalArg(base, dot: dot)
            return try evalFieldChain(dot, receiver: recv, names: names, args: cmd.tail, final: final, pos: pos, context: first.source, fromData: false)
        case .identifier(let name, _):
            return try evalFunction(name, cmd: cmd, dot: dot, args: cmd.tail, final: final)
        case .pipeline(let p, _):
            try notAFunction(cmd, final)
            return try evalPipeline(p, dot: dot)
        case .variable(let names, let pos):
            let v = try lookupVar(names[0], pos: pos)
            if names.count == 1 {
                try notAFunction(cmd, final)
                return v
            }
            return try evalFieldChain(dot, receiver: v, names: Array(names.dropFirst()), args: cmd.tail, final: final, pos: pos, context: first.source, fromData: true)
        default:
            try notAFunction(cmd, final)
            return try evalArg(first, dot: dot)
        }
    }

    private func notAFunction(_ cmd: Command, _ final: Value?) throws {
        if cmd.args.count > 1 || final != nil {
            throw fail(cmd.pos, cmd.source, "can't give argument to non-function \(cmd.args[0].source)")
        }
    }

    func lookupVar(_ name: String, pos: Int) throws -> Value {
        if let v = vars.last(where: { $0.0 == name }) { return v.1 }
        throw fail(pos, name, "undefined variable: \(name)")
    }

    func evalArg(_ arg: Arg, dot: Value) throws -> Value {
        switch arg {
        case .dot: return dot
        case .nilLiteral: return .null
        case .bool(let b, _): return .bool(b)
        case .string(let s, _, _): return .string(s)
        case .number(let n, let pos):
            if n.isFloatSyntax { return .float(n.floatValue ?? 0) }
            if let i = n.intValue { return .int(i) }
            if let f = n.floatValue { return .float(f) }
            throw fail(pos, n.text, "illegal number syntax: \(n.text)")
        case .field(let names, let pos):
            return try evalFieldChain(dot, receiver: dot, names: names, args: [], final: nil, pos: pos, context: arg.source, fromData: true)
        case .variable(let names, let pos):
            let v = try lookupVar(names[0], pos: pos)
            if names.count == 1 { return v }
            return try evalFieldChain(dot, receiver: v, names: Array(names.dropFirst()), args: [], final: nil, pos: pos, context: arg.source, fromData: true)
        case .pipeline(let p, _):
            return try evalPipeline(p, dot: dot)
        case .identifier(let name, let pos):
            return try evalFunction(name, cmd: Command(args: [arg], pos: pos), dot: dot, args: [], final: nil)
        case .chain(let base, let names, let pos):
            let recv = try evalArg(base, dot: dot)
            return try evalFieldChain(dot, receiver: recv, names: names, args: [], final: nil, pos: pos, context: arg.source, fromData: false)
        }
    }

    // MARK: fields

    /// Evaluates `.A.B.C` on receiver; only the last name receives args/final (method call).
    func evalFieldChain(_ dot: Value, receiver: Value, names: [String], args: [Arg], final: Value?, pos: Int, context: @autoclosure () -> String, fromData: Bool) throws -> Value {
        var recv = receiver
        var fromMap = fromData
        for (k, name) in names.enumerated() {
            let last = k == names.count - 1
            recv = try evalField(dot, name: name, receiver: recv, args: last ? args : [], final: last ? final : nil,
                pos: pos, context: context(), receiverIsInterface: fromMap || k > 0)
            fromMap = true
        }
        return recv
    }

    func evalField(_ dot: Value, name: String, receiver: Value, args: [Arg], final: Value?, pos: Int, context: @autoclosure () -> String, receiverIsInterface: Bool) throws -> Value {
        let hasArgs = !args.isEmpty || final != nil
        switch receiver {
        case .null:
            if !receiverIsInterface {
                if set.missingKey == .error { throw fail(pos, context(), "nil data; no entry for key \(GoStrings.quote(name))") }
                return .null
            }
            throw fail(pos, context(), "nil pointer evaluating interface {}.\(name)")
        case .object(let o):
            if let m = o.method(name) {
                var argv: [Value] = []
                for a in args { argv.append(try evalArg(a, dot: dot)) }
                if let final { argv.append(final) }
                do {
                    return try m(CallContext(executor: self), argv)
                } catch let e as TemplateExecError {
                    throw fail(pos, context(), "error calling \(name): \(e.description)", cause: e)
                } catch let e as FunctionError {
                    throw fail(pos, context(), "error calling \(name): \(e.message)", cause: e)
                }
            }
            if let f = o.field(name) {
                if hasArgs { throw fail(pos, context(), "\(name) has arguments but cannot be invoked as function") }
                return f
            }
            throw fail(pos, context(), "can't evaluate field \(name) in type \(o.goTypeName)")
        case .map(let m):
            if hasArgs { throw fail(pos, context(), "\(name) is not a method but has arguments") }
            if let v = m[name] { return v }
            switch set.missingKey {
            case .error: throw fail(pos, context(), "map has no entry for key \(GoStrings.quote(name))")
            default: return .null
            }
        default:
            throw fail(pos, context(), "can't evaluate field \(name) in type \(receiver.goType)")
        }
    }

    // MARK: functions

    func evalFunction(_ name: String, cmd: Command, dot: Value, args: [Arg], final: Value?) throws -> Value {
        // and/or short-circuit: evaluate lazily
        if (name == "and" || name == "or") && set.functions[name] == nil {
            let total = args.count + (final == nil ? 0 : 1)
            if total < 1 { throw fail(cmd.pos, cmd.source, "wrong number of args for \(name): want at least 1 got 0") }
            var v: Value = .null
            for a in args {
                v = try evalArg(a, dot: dot)
                if (name == "and") != v.isTruthy { return v }
            }
            if let final { v = final }
            return v
        }
        let spec: FunctionSpec
        if let s = set.functions[name] { spec = s } else if let s = Builtins.table[name] { spec = s } else {
            throw fail(cmd.pos, cmd.source, "\(GoStrings.quote(name)) is not a defined function")
        }
        let total = args.count + (final == nil ? 0 : 1)
        let identPos = cmd.args.first.map { a -> Int in if case .identifier(let n, let p) = a, n == name { return p }; return cmd.pos } ?? cmd.pos
        if let mx = spec.maxArgs, mx == spec.minArgs, total != mx {
            throw fail(identPos, name, "wrong number of args for \(name): want \(mx) got \(total)")
        }
        if total < spec.minArgs {
            throw fail(identPos, name, "wrong number of args for \(name): want at least \(spec.minArgs) got \(args.count)")
        }
        if let mx = spec.maxArgs, total > mx {
            throw fail(identPos, name, "wrong number of args for \(name): want \(mx) got \(total)")
        }
        var argv: [Value] = []
        argv.reserveCapacity(total)
        for a in args { argv.append(try evalArg(a, dot: dot)) }
        if let final { argv.append(final) }
        do {
            return try spec.call(CallContext(executor: self), argv)
        } catch let e as TemplateExecError {
            throw fail(cmd.pos, cmd.source, "error calling \(name): \(e.description)", cause: e)
        } catch let e as TemplateParseError {
            throw fail(cmd.pos, cmd.source, "error calling \(name): \(e.description)", cause: e)
        } catch let e as FunctionError {
            throw fail(cmd.pos, cmd.source, "error calling \(name): \(e.message)", cause: e)
        } catch let e as GoTypeError {
            throw typeError(e, name: name, identPos: identPos, args: args, argv: argv)
        } catch let e as WrappedExecError {
            throw fail(cmd.pos, cmd.source, "error calling \(name): \(e.description)", cause: e)
        }
    }

    /// Go reports a parameter type mismatch at the argument node: literals as "expected T; found X",
    /// evaluated values as "wrong type for value; expected T; got U".
    func typeError(_ e: GoTypeError, name: String, identPos: Int, args: [Arg], argv: [Value]) -> TemplateExecError {
        guard let r = e.message.range(of: "expected "), e.message.hasPrefix("wrong type") || e.message.hasPrefix("invalid value") else {
            return fail(identPos, name, e.message)
        }
        let expected = String(e.message[r.upperBound...].prefix { $0 != ";" })
        func matches(_ v: Value) -> Bool {
            switch (expected, v) {
            case ("string", .string), ("int", .int), ("bool", .bool), ("map[string]interface {}", .map), ("map[string]interface {}", .null),
                 ("[]interface {}", .list), ("[]interface {}", .null), ("uint32", .int): return true
            default: return v.goType == expected
            }
        }
        // the offending argument: the first of the reported type ("; got T") that is not the expected one
        let got = e.message.range(of: "; got ").map { String(e.message[$0.upperBound...]) }
        guard let i = argv.firstIndex(where: { !matches($0) && (got == nil || $0.goType == got) }) ?? argv.firstIndex(where: { !matches($0) })
        else { return fail(identPos, name, e.message) }
        guard i < args.count else {
            let node = args.last
            return fail(node?.pos ?? identPos, node.map(Self.nodeContext) ?? name, e.message)
        }
        let node = args[i]
        let context = Self.nodeContext(node)
        switch node {
        case .nilLiteral: return fail(node.pos, context, "cannot assign nil to \(expected)")
        case .string, .number, .bool:
            let kind = expected == "int" ? "integer" : expected
            return fail(node.pos, context, "expected \(kind); found \(context)")
        default:
            return fail(node.pos, context, e.message)
        }
    }

    static func nodeContext(_ a: Arg) -> String {
        if case .pipeline(let p, _) = a { return p.source }
        return a.source
    }

    // MARK: printing

    func printValue(_ v: Value) -> String {
        if case .null = v { return "<no value>" }
        return GoFormat.v(v)
    }
}

/// An argument of the wrong Go type ("wrong type for value; expected string; got int"): reported
/// without the "error calling" prefix, as Go's reflection-based call does.
public struct GoTypeError: Error, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
}

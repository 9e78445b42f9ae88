/// The parse tree of a Go template, mirroring text/template/parse's node kinds.
/// `pos` fields are byte offsets into the template source (for "name:line:col" in errors).
final class ListNode: @unchecked Sendable {
    var nodes: [Node]
    init(_ nodes: [Node] = []) { self.nodes = nodes }
}

indirect enum Node: @unchecked Sendable {
    case text(String)
    case action(Pipeline)
    case ifNode(BranchNode)
    case rangeNode(BranchNode)
    case withNode(BranchNode)
    case template(name: String, pipe: Pipeline?, pos: Int)
    case breakNode(pos: Int)
    case continueNode(pos: Int)
}

final class BranchNode: @unchecked Sendable {
    let pipe: Pipeline
    let list: ListNode
    let elseList: ListNode?
    let pos: Int
    init(pipe: Pipeline, list: ListNode, elseList: ListNode?, pos: Int) {
        self.pipe = pipe; self.list = list; self.elseList = elseList; self.pos = pos
    }
}

final class Pipeline: @unchecked Sendable {
    var decl: [String]
    var isAssign: Bool
    var cmds: [Command]
    let pos: Int
    init(decl: [String], isAssign: Bool, cmds: [Command], pos: Int) {
        self.decl = decl; self.isAssign = isAssign; self.cmds = cmds; self.pos = pos
    }
    /// The pipeline as Go prints it in errors; built once, on first use (after parsing).
    lazy var source: String = {
        var s = ""
        if !decl.isEmpty { s = decl.joined(separator: ", ") + (isAssign ? " = " : " := ") }
        return s + cmds.map(\.source).joined(separator: " | ")
    }()
}

final class Command: @unchecked Sendable {
    var args: [Arg]
    let pos: Int
    init(args: [Arg], pos: Int) { self.args = args; self.pos = pos }
    /// The command as Go prints it in errors; built once, on first use (after parsing).
    lazy var source: String = {
        args.map { arg in
            if case .pipeline(let p, _) = arg { return "(" + p.source + ")" }
            return arg.source
        }.joined(separator: " ")
    }()
    /// The arguments after the first (the function's or method's), without a copy per call.
    lazy var tail: [Arg] = Array(args.dropFirst())
}

indirect enum Arg: @unchecked Sendable {
    case field([String], pos: Int)  // .A.B
    case variable([String], pos: Int)  // $x.A.B (first element is the variable name)
    case identifier(String, pos: Int)  // a function name
    case dot(pos: Int)
    case nilLiteral(pos: Int)
    case bool(Bool, pos: Int)
    case number(NumberLiteral, pos: Int)
    case string(String, quoted: String, pos: Int)
    case pipeline(Pipeline, pos: Int)
    case chain(Arg, [String], pos: Int)  // (pipe).A.B

    var pos: Int {
        switch self {
        case .field(_, let p), .variable(_, let p), .identifier(_, let p), .dot(let p), .nilLiteral(let p),
            .bool(_, let p), .number(_, let p), .string(_, _, let p), .pipeline(_, let p), .chain(_, _, let p):
            return p
        }
    }

    var source: String {
        switch self {
        case .field(let f, _): return f.map { "." + $0 }.joined()
        case .variable(let v, _): return v[0] + v.dropFirst().map { "." + $0 }.joined()
        case .identifier(let s, _): return s
        case .dot: return "."
        case .nilLiteral: return "nil"
        case .bool(let b, _): return b ? "true" : "false"
        case .number(let n, _): return n.text
        case .string(_, let q, _): return q
        case .pipeline(let p, _): return "(" + p.source + ")"
        case .chain(let a, let f, _):
            let base: String
            if case .pipeline(let p, _) = a { base = "(" + p.source + ")" } else { base = a.source }
            return base + f.map { "." + $0 }.joined()
        }
    }
}

/// A numeric constant as written in the template, with the interpretations Go allows.
struct NumberLiteral: Sendable {
    let text: String
    let intValue: Int?
    let floatValue: Double?
    /// Written as a float (has '.', 'e' or 'p' and is not a hex integer): an untyped float constant.
    let isFloatSyntax: Bool
}

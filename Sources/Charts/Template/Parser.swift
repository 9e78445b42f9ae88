import Foundation

/// One named template: its tree and where its text came from (the file that defined it).
final class ParsedTemplate: @unchecked Sendable {
    let name: String
    let parseName: String
    let source: SourceText
    let root: ListNode
    init(name: String, parseName: String, source: SourceText, root: ListNode) {
        self.name = name; self.parseName = parseName; self.source = source; self.root = root
    }
}

/// The text of one parsed file, kept to turn byte offsets into "line:col".
final class SourceText: @unchecked Sendable {
    let bytes: [UInt8]
    init(_ s: String) { bytes = Array(s.utf8) }
    /// Go's ErrorContext: 1-based line, 0-based byte column (or the offset itself on the first line).
    func location(_ pos: Int) -> (line: Int, col: Int) {
        let p = min(pos, bytes.count)
        var line = 1
        var lastNL = -1
        for i in 0..<p where bytes[i] == 10 { line += 1; lastNL = i }
        return (line, lastNL == -1 ? p : p - (lastNL + 1))
    }
}

/// A parse failure, formatted as Go's text/template reports it ("template: NAME:LINE: MESSAGE").
public struct TemplateParseError: Error, CustomStringConvertible, Sendable {
    public let templateName: String
    public let line: Int
    public let message: String
    public var description: String { "template: \(templateName):\(line): \(message)" }
}

/// Parses template text into named trees, with Go's grammar: actions, pipelines, control structures,
/// `define`/`block`/`template`, variables (checked at parse time) and known function names.
struct Parser {
    private var tokens: [Token]
    private var i = 0
    private let name: String
    private let source: SourceText
    private let isFunction: (String) -> Bool
    private var vars: [String] = ["$"]
    private var rangeDepth = 0
    private(set) var defined: [ParsedTemplate] = []

    init(name: String, text: String, isFunction: @escaping (String) -> Bool) {
        self.name = name
        self.source = SourceText(text)
        self.tokens = Lexer.tokenize(text)
        self.isFunction = isFunction
    }

    /// Parses the whole text; returns the top-level template and every `define`d / `block` template.
    static func parse(name: String, text: String, isFunction: @escaping (String) -> Bool) throws -> [ParsedTemplate] {
        var p = Parser(name: name, text: text, isFunction: isFunction)
        let root = try p.parseList(until: [])
        var all = [ParsedTemplate(name: name, parseName: name, source: p.source, root: root.list)]
        all.append(contentsOf: p.defined)
        return all
    }

    // MARK: token helpers

    private func error(_ msg: String, _ tok: Token? = nil) -> TemplateParseError {
        let t = tok ?? tokens[min(i, tokens.count - 1)]
        return TemplateParseError(templateName: name, line: t.line, message: msg)
    }

    private mutating func next() -> Token {
        let t = tokens[i]
        if i < tokens.count - 1 { i += 1 }
        return t
    }

    private func peek() -> Token { tokens[i] }

    private mutating func nextNonSpace() -> Token {
        var t = next()
        while t.kind == .space { t = next() }
        return t
    }

    private mutating func peekNonSpace() -> Token {
        let save = i
        let t = nextNonSpace()
        i = save
        return t
    }

    private mutating func expect(_ kind: Token.Kind, _ context: String) throws -> Token {
        let t = nextNonSpace()
        if t.kind == .error { throw error(t.text, t) }
        if t.kind != kind { throw error("unexpected \(describe(t)) in \(context)", t) }
        return t
    }

    private func describe(_ t: Token) -> String {
        switch t.kind {
        case .eof: return "EOF"
        case .rightDelim: return "\"}}\""
        case .leftDelim: return "\"{{\""
        case .keyword(let k): return "<\(k)>"
        case .error: return t.text
        case .space: return "space"
        case .string, .rawString: return "quoted string"
        default: return "\"\(t.text)\""
        }
    }

    // MARK: lists

    struct ListResult { var list: ListNode; var terminator: String; var token: Token }

    /// Parses items until one of the terminators ("end", "else") or EOF when `until` is empty.
    private mutating func parseList(until: Set<String>) throws -> ListResult {
        let list = ListNode()
        while true {
            let t = peek()
            switch t.kind {
            case .eof:
                if !until.isEmpty { throw error("unexpected EOF", t) }
                return ListResult(list: list, terminator: "", token: t)
            case .error:
                throw error(t.text, t)
            case .text:
                _ = next()
                list.nodes.append(.text(t.text))
            case .leftDelim:
                _ = next()
                let kw = peekNonSpace()
                if case .keyword(let k) = kw.kind, k == "end" || k == "else" {
                    _ = nextNonSpace()
                    if !until.contains(k) { throw error("unexpected {{\(k)}}", kw) }
                    return ListResult(list: list, terminator: k, token: kw)
                }
                if let node = try parseAction() { list.nodes.append(node) }
            default:
                throw error("unexpected \(describe(t))", t)
            }
        }
    }

    /// After `{{`: parses one action. Returns nil for `define` (which registers a template).
    private mutating func parseAction() throws -> Node? {
        let t = peekNonSpace()
        if case .keyword(let k) = t.kind {
            _ = nextNonSpace()
            switch k {
            case "if": return .ifNode(try parseBranch(kind: "if", pos: t.pos))
            case "range":
                rangeDepth += 1
                defer { rangeDepth -= 1 }
                return .rangeNode(try parseBranch(kind: "range", pos: t.pos))
            case "with": return .withNode(try parseBranch(kind: "with", pos: t.pos))
            case "template": return try parseTemplateCall(pos: t.pos, context: "template clause")
            case "block":
                let node = try parseTemplateCall(pos: t.pos, context: "block clause")
                guard case .template(let blockName, _, _) = node else { return node }
                let saveVars = vars
                vars = ["$"]
                let body = try parseList(until: ["end"])
                vars = saveVars
                _ = try expect(.rightDelim, "end")
                defined.append(ParsedTemplate(name: blockName, parseName: name, source: source, root: body.list))
                return node
            case "define":
                let nameTok = try expect(.string, "define clause")
                let defName = try unquote(nameTok)
                _ = try expect(.rightDelim, "define clause")
                let saveVars = vars
                vars = ["$"]
                let body = try parseList(until: ["end"])
                vars = saveVars
                _ = try expect(.rightDelim, "end")
                defined.append(ParsedTemplate(name: defName, parseName: name, source: source, root: body.list))
                return nil
            case "break", "continue":
                if rangeDepth == 0 { throw error("{{\(k)}} outside {{range}}", t) }
                _ = try expect(.rightDelim, k)
                return k == "break" ? .breakNode(pos: t.pos) : .continueNode(pos: t.pos)
            default:
                throw error("unexpected <\(k)> in command", t)
            }
        }
        let pipe = try parsePipeline(context: "command", allowDecl: true, end: .rightDelim)
        return .action(pipe)
    }

    private mutating func parseTemplateCall(pos: Int, context: String) throws -> Node {
        let nameTok = nextNonSpace()
        guard nameTok.kind == .string || nameTok.kind == .rawString else {
            throw error("unexpected \(describe(nameTok)) in \(context)", nameTok)
        }
        let tname = try unquote(nameTok)
        let t = peekNonSpace()
        var pipe: Pipeline?
        if t.kind != .rightDelim {
            pipe = try parsePipeline(context: context, allowDecl: false, end: .rightDelim)
        } else {
            _ = nextNonSpace()
        }
        return .template(name: tname, pipe: pipe, pos: nameTok.pos)
    }

    private mutating func parseBranch(kind: String, pos: Int) throws -> BranchNode {
        let saveVars = vars
        defer { vars = saveVars }
        let pipe = try parsePipeline(context: kind, allowDecl: true, end: .rightDelim, isRange: kind == "range")
        let body = try parseList(until: ["end", "else"])
        var elseList: ListNode?
        if body.terminator == "else" {
            let t = peekNonSpace()
            if case .keyword(let k) = t.kind, (k == "if" && kind == "if") || (k == "with" && kind == "with") {
                // "else if" / "else with": a nested branch that consumes the shared {{end}}
                _ = nextNonSpace()
                let inner = try parseBranch(kind: k, pos: t.pos)
                elseList = ListNode([kind == "if" ? .ifNode(inner) : .withNode(inner)])
                return BranchNode(pipe: pipe, list: body.list, elseList: elseList, pos: pos)
            }
            _ = try expect(.rightDelim, "else")
            let rest = try parseList(until: ["end"])
            elseList = rest.list
        }
        _ = try expect(.rightDelim, "end")
        return BranchNode(pipe: pipe, list: body.list, elseList: elseList, pos: pos)
    }

    // MARK: pipelines

    private mutating func parsePipeline(context: String, allowDecl: Bool, end: Token.Kind, isRange: Bool = false) throws -> Pipeline {
        let start = peekNonSpace()
        var decl: [String] = []
        var isAssign = false
        if allowDecl && start.kind == .variable {
            // lookahead for := or = (and "$i, $e :=" in range)
            let save = i
            let v = nextNonSpace()
            let after = peekNonSpace()
            if after.kind == .declare || after.kind == .assign {
                _ = nextNonSpace()
                decl = [v.text]
                isAssign = after.kind == .assign
            } else if after.kind == .comma && isRange {
                _ = nextNonSpace()
                let v2 = try expect(.variable, "range")
                let op = nextNonSpace()
                guard op.kind == .declare || op.kind == .assign else { throw error("expected := or = after range variables", op) }
                decl = [v.text, v2.text]
                isAssign = op.kind == .assign
            } else {
                i = save
            }
            for d in decl where !isAssign { vars.append(d) }
            if isAssign {
                for d in decl where !vars.contains(d) { throw error("undefined variable \"\(d)\"", v) }
            }
        }
        var cmds: [Command] = []
        while true {
            let t = peekNonSpace()
            if t.kind == end {
                _ = nextNonSpace()
                break
            }
            if t.kind == .error { throw error(t.text, t) }
            if t.kind == .eof { throw error("unexpected EOF", t) }
            cmds.append(try parseCommand(end: end))
            let sep = peekNonSpace()
            if sep.kind == .pipe { _ = nextNonSpace(); continue }
        }
        if cmds.isEmpty { throw error("missing value for \(context)", start) }
        // Go: non-executable commands (literals) cannot follow a pipe
        for c in cmds.dropFirst() {
            switch c.args.first {
            case .bool?, .string?, .number?, .nilLiteral?, .dot?:
                throw error("non executable command in pipeline stage \(cmds.firstIndex { $0 === c }! + 1)")
            default: break
            }
        }
        return Pipeline(decl: decl, isAssign: isAssign, cmds: cmds, pos: start.pos)
    }

    private mutating func parseCommand(end: Token.Kind) throws -> Command {
        let first = peekNonSpace()
        var args: [Arg] = []
        while true {
            let t = peek()
            if t.kind == .space { _ = next(); continue }
            if t.kind == end || t.kind == .pipe || t.kind == .rightParen && end != .rightParen { break }
            if t.kind == .rightParen { break }
            if t.kind == .error { throw error(t.text, t) }
            if t.kind == .eof { throw error("unexpected EOF", t) }
            let operand = try parseOperand()
            args.append(operand)
            // operands must be separated by space (or end)
            let n = peek()
            switch n.kind {
            case .space, .pipe, .rightDelim, .rightParen: break
            case .error: throw error(n.text, n)
            default: throw error("unexpected \(describe(n)) in operand", n)
            }
        }
        if args.isEmpty { throw error("empty command", first) }
        return Command(args: args, pos: first.pos)
    }

    private mutating func parseOperand() throws -> Arg {
        let term = try parseTerm()
        var fields: [String] = []
        let chainPos = peek().pos  // Go positions a chained field at its first chained element
        while peek().kind == .field {
            fields.append(String(next().text.dropFirst()))
        }
        if fields.isEmpty { return term }
        switch term {
        case .field(let f, _): return .field(f + fields, pos: chainPos)
        case .variable(let v, _): return .variable(v + fields, pos: chainPos)
        case .bool, .string, .number, .nilLiteral, .dot:
            throw error("unexpected . after term \"\(term.source)\"")
        default: return .chain(term, fields, pos: chainPos)
        }
    }

    private mutating func parseTerm() throws -> Arg {
        let t = next()
        switch t.kind {
        case .identifier:
            if !isFunction(t.text) { throw error("function \"\(t.text)\" not defined", t) }
            return .identifier(t.text, pos: t.pos)
        case .dot: return .dot(pos: t.pos)
        case .nilKeyword: return .nilLiteral(pos: t.pos)
        case .variable:
            if !vars.contains(t.text) { throw error("undefined variable \"\(t.text)\"", t) }
            return .variable([t.text], pos: t.pos)
        case .field:
            return .field([String(t.text.dropFirst())], pos: t.pos)
        case .bool: return .bool(t.text == "true", pos: t.pos)
        case .char:
            guard let v = try? unquoteChar(t.text) else { throw error("malformed character constant: \(t.text)", t) }
            return .number(NumberLiteral(text: t.text, intValue: v, floatValue: Double(v), isFloatSyntax: false), pos: t.pos)
        case .number:
            guard let n = parseNumber(t.text) else { throw error("illegal number syntax: \"\(t.text)\"", t) }
            return .number(n, pos: t.pos)
        case .string, .rawString:
            return .string(try unquote(t), quoted: t.text, pos: t.pos)
        case .leftParen:
            let p = try parsePipeline(context: "parenthesized pipeline", allowDecl: true, end: .rightParen)
            return .pipeline(p, pos: t.pos)
        case .error: throw error(t.text, t)
        default:
            throw error("unexpected \(describe(t)) in operand", t)
        }
    }

    // MARK: literals

    private func unquote(_ t: Token) throws -> String {
        if t.kind == .rawString { return String(t.text.dropFirst().dropLast()) }
        guard let s = GoStrings.unquote(t.text) else { throw error("invalid syntax: \(t.text)", t) }
        return s
    }

    private func unquoteChar(_ text: String) throws -> Int {
        guard let s = GoStrings.unquote("\"" + String(text.dropFirst().dropLast()) + "\""), let u = s.unicodeScalars.first, s.unicodeScalars.count == 1 else {
            throw error("malformed character constant")
        }
        return Int(u.value)
    }

    private func parseNumber(_ text: String) -> NumberLiteral? {
        var t = text.replacingOccurrences(of: "_", with: "")
        var negative = false
        if t.hasPrefix("+") { t.removeFirst() } else if t.hasPrefix("-") { negative = true; t.removeFirst() }
        let lower = t.lowercased()
        var intValue: Int?
        if lower.hasPrefix("0x") { intValue = Int(lower.dropFirst(2), radix: 16) }
        else if lower.hasPrefix("0o") { intValue = Int(lower.dropFirst(2), radix: 8) }
        else if lower.hasPrefix("0b") { intValue = Int(lower.dropFirst(2), radix: 2) }
        else if lower.count > 1 && lower.hasPrefix("0") && lower.allSatisfy({ $0.isNumber }) { intValue = Int(lower.dropFirst(), radix: 8) }
        else { intValue = Int(lower) }
        let isHex = lower.hasPrefix("0x")
        let floatSyntax = !isHex && lower.contains(where: { ".e".contains($0) }) || (isHex && lower.contains("p"))
        var floatValue: Double? = intValue.map(Double.init) ?? Double(lower)
        if floatValue == nil && intValue == nil { return nil }
        if floatSyntax, let f = floatValue, f == f.rounded(), abs(f) < 9.2e18, intValue == nil { intValue = Int(f) }
        if negative { intValue = intValue.map { -$0 }; floatValue = floatValue.map { -$0 } }
        return NumberLiteral(text: text, intValue: intValue, floatValue: floatValue, isFloatSyntax: floatSyntax)
    }
}

/// Go string literal helpers shared by the parser and `printf %q`.
enum GoStrings {
    /// Decodes a Go double-quoted string literal.
    static func unquote(_ s: String) -> String? {
        let b = Array(s.utf8)
        guard b.count >= 2, b.first == 34, b.last == 34 else { return nil }
        var out: [UInt8] = []
        var k = 1
        while k < b.count - 1 {
            let c = b[k]
            if c != 92 { out.append(c); k += 1; continue }
            k += 1
            guard k < b.count - 1 else { return nil }
            let e = b[k]
            k += 1
            switch e {
            case 110: out.append(10)
            case 116: out.append(9)
            case 114: out.append(13)
            case 97: out.append(7)
            case 98: out.append(8)
            case 102: out.append(12)
            case 118: out.append(11)
            case 92: out.append(92)
            case 34: out.append(34)
            case 39: out.append(39)
            case 120:  // \xHH
                guard k + 2 <= b.count - 1, let v = UInt8(String(decoding: b[k..<k + 2], as: UTF8.self), radix: 16) else { return nil }
                out.append(v); k += 2
            case 117, 85:  // \uHHHH \UHHHHHHHH
                let n = e == 117 ? 4 : 8
                guard k + n <= b.count - 1, let v = UInt32(String(decoding: b[k..<k + n], as: UTF8.self), radix: 16),
                    let scalar = Unicode.Scalar(v) else { return nil }
                out.append(contentsOf: Array(String(Character(scalar)).utf8)); k += n
            case 48...55:  // octal \OOO
                guard k + 2 <= b.count - 1, let v = UInt8(String(decoding: b[(k - 1)..<(k + 2)], as: UTF8.self), radix: 8) else { return nil }
                out.append(v); k += 2
            default: return nil
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Go's strconv.Quote: a double-quoted literal with Go escapes (printable Unicode kept).
    static func quote(_ s: String, asciiOnly: Bool = false) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            case "\u{07}": out += "\\a"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case "\u{0B}": out += "\\v"
            default:
                if u.value < 0x20 || u.value == 0x7f {
                    out += String(format: "\\x%02x", u.value)
                } else if u.value == 0xFFFD && false {
                    out += "\\ufffd"
                } else if u.value >= 0x80 && (asciiOnly || !isPrintable(u)) {
                    out += u.value > 0xFFFF ? String(format: "\\U%08x", u.value) : String(format: "\\u%04x", u.value)
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }

    private static func isPrintable(_ u: Unicode.Scalar) -> Bool {
        switch u.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned, .lineSeparator, .paragraphSeparator: return false
        case .spaceSeparator: return u.value == 0x20
        default: return true
        }
    }
}

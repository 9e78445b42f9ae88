/// A token of Go's template language, with its byte offset in the template source.
struct Token: Sendable {
    enum Kind: Sendable, Equatable {
        case text, leftDelim, rightDelim, space, identifier, field, variable, string, rawString, char, number
        case bool, nilKeyword, dot, leftParen, rightParen, pipe, declare, assign, comma
        case keyword(String)
        case eof, error
    }
    var kind: Kind
    var text: String
    var pos: Int
    var line: Int
}

/// Splits a template into tokens the way Go's text/template lexer does (delimiters `{{ }}`,
/// trim markers `{{- -}}`, comments, and the action-language tokens).
struct Lexer {
    private let src: [UInt8]
    private var pos = 0
    private var line = 1
    private(set) var tokens: [Token] = []
    private let leftDelim: [UInt8] = Array("{{".utf8)
    private let rightDelim: [UInt8] = Array("}}".utf8)
    private static let keywords: Set<String> = ["block", "break", "continue", "define", "else", "end", "if", "range", "template", "with"]

    init(_ source: String) { src = Array(source.utf8) }

    static func tokenize(_ source: String) -> [Token] {
        var l = Lexer(source)
        l.run()
        return l.tokens
    }

    private func hasPrefix(_ p: [UInt8], at i: Int) -> Bool {
        guard i + p.count <= src.count else { return false }
        for k in 0..<p.count where src[i + k] != p[k] { return false }
        return true
    }

    private func string(_ a: Int, _ b: Int) -> String { String(decoding: src[a..<b], as: UTF8.self) }

    private mutating func emit(_ kind: Token.Kind, _ start: Int, _ end: Int, line l: Int) {
        tokens.append(Token(kind: kind, text: string(start, end), pos: start, line: l))
    }

    private mutating func fail(_ message: String) {
        tokens.append(Token(kind: .error, text: message, pos: pos, line: line))
    }

    private static func isSpace(_ c: UInt8) -> Bool { c == 32 || c == 9 || c == 13 || c == 10 }
    private static func isAlnum(_ c: UInt8) -> Bool {
        (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 95 || c >= 0x80
    }

    private func countLines(_ a: Int, _ b: Int) -> Int {
        var n = 0
        for i in a..<b where src[i] == 10 { n += 1 }
        return n
    }

    mutating func run() {
        while pos < src.count {
            // text up to the next left delimiter
            var i = pos
            while i < src.count && !hasPrefix(leftDelim, at: i) { i += 1 }
            var textEnd = i
            let trimLeft = i < src.count && i + 3 <= src.count && src[i + 2] == 45 /* - */ && i + 3 < src.count && Lexer.isSpace(src[i + 3])
            if trimLeft {
                while textEnd > pos && Lexer.isSpace(src[textEnd - 1]) { textEnd -= 1 }
            }
            if textEnd > pos { emit(.text, pos, textEnd, line: line) }
            line += countLines(pos, i)
            pos = i
            if pos >= src.count { break }
            if !lexAction(trimLeft: trimLeft) { return }
        }
        tokens.append(Token(kind: .eof, text: "", pos: src.count, line: line))
    }

    /// Lexes `{{ ... }}` starting at a left delimiter. Returns false on error.
    private mutating func lexAction(trimLeft: Bool) -> Bool {
        let start = pos
        pos += 2
        if trimLeft { pos += 2 }  // "- " (the space is skipped as part of trimming)
        // comment?
        var p = pos
        while p < src.count && Lexer.isSpace(src[p]) && trimLeft { p += 1 }
        if hasPrefix(Array("/*".utf8), at: trimLeft ? p : pos) {
            let cstart = trimLeft ? p : pos
            guard let end = findCommentEnd(from: cstart + 2) else { fail("unclosed comment"); return false }
            var after = end + 2
            // optional space-dash before right delimiter
            var trimRight = false
            if after + 3 <= src.count && Lexer.isSpace(src[after]) && src[after + 1] == 45 && hasPrefix(rightDelim, at: after + 2) {
                trimRight = true; after += 2
            }
            guard hasPrefix(rightDelim, at: after) else { fail("comment ends before closing delimiter"); return false }
            line += countLines(start, after + 2)
            pos = after + 2
            if trimRight { skipLeadingSpace() }
            return true
        }
        tokens.append(Token(kind: .leftDelim, text: "{{", pos: start, line: line))
        var parenDepth = 0
        while true {
            guard pos < src.count else { fail("unclosed action"); return false }
            let c = src[pos]
            // right delimiter (with optional trim marker)
            if Lexer.isSpace(c) {
                var q = pos
                while q < src.count && Lexer.isSpace(src[q]) { q += 1 }
                if q + 2 < src.count + 1 && q < src.count && src[q] == 45 && hasPrefix(rightDelim, at: q + 1) && q > pos {
                    // " -}}"
                    line += countLines(pos, q)
                    if parenDepth > 0 { fail("unclosed left paren"); return false }
                    tokens.append(Token(kind: .rightDelim, text: "}}", pos: q + 1, line: line))
                    pos = q + 3
                    skipLeadingSpace()
                    return true
                }
                let l0 = line
                line += countLines(pos, q)
                tokens.append(Token(kind: .space, text: string(pos, q), pos: pos, line: l0))
                pos = q
                continue
            }
            if hasPrefix(rightDelim, at: pos) {
                if parenDepth > 0 { fail("unclosed left paren"); return false }
                tokens.append(Token(kind: .rightDelim, text: "}}", pos: pos, line: line))
                pos += 2
                return true
            }
            let s = pos
            switch c {
            case 61: emit(.assign, s, s + 1, line: line); pos += 1  // =
            case 58:  // :
                guard pos + 1 < src.count && src[pos + 1] == 61 else { fail("expected :="); return false }
                emit(.declare, s, s + 2, line: line); pos += 2
            case 124: emit(.pipe, s, s + 1, line: line); pos += 1
            case 40: emit(.leftParen, s, s + 1, line: line); pos += 1; parenDepth += 1
            case 41:
                parenDepth -= 1
                if parenDepth < 0 { fail("unexpected right paren"); return false }
                emit(.rightParen, s, s + 1, line: line); pos += 1
            case 44: emit(.comma, s, s + 1, line: line); pos += 1
            case 34:  // "
                pos += 1
                while true {
                    guard pos < src.count, src[pos] != 10 else { fail("unterminated quoted string"); return false }
                    if src[pos] == 92 { pos += 2; continue }
                    if src[pos] == 34 { pos += 1; break }
                    pos += 1
                }
                emit(.string, s, pos, line: line)
            case 96:  // `
                pos += 1
                while pos < src.count && src[pos] != 96 { pos += 1 }
                guard pos < src.count else { fail("unterminated raw quoted string"); return false }
                pos += 1
                let l0 = line
                line += countLines(s, pos)
                emit(.rawString, s, pos, line: l0)
            case 39:  // '
                pos += 1
                while true {
                    guard pos < src.count, src[pos] != 10 else { fail("unterminated character constant"); return false }
                    if src[pos] == 92 { pos += 2; continue }
                    if src[pos] == 39 { pos += 1; break }
                    pos += 1
                }
                emit(.char, s, pos, line: line)
            case 36:  // $
                pos += 1
                while pos < src.count && Lexer.isAlnum(src[pos]) { pos += 1 }
                emit(.variable, s, pos, line: line)
            case 46:  // .
                if pos + 1 < src.count && src[pos + 1] >= 48 && src[pos + 1] <= 57 {
                    lexNumber(); continue
                }
                pos += 1
                if pos < src.count && Lexer.isAlnum(src[pos]) {
                    while pos < src.count && Lexer.isAlnum(src[pos]) { pos += 1 }
                    emit(.field, s, pos, line: line)
                } else {
                    emit(.dot, s, pos, line: line)
                }
            case 43, 45, 48...57:  // + - digits
                lexNumber()
            default:
                if Lexer.isAlnum(c) {
                    while pos < src.count && Lexer.isAlnum(src[pos]) { pos += 1 }
                    let word = string(s, pos)
                    if Lexer.keywords.contains(word) {
                        emit(.keyword(word), s, pos, line: line)
                    } else if word == "true" || word == "false" {
                        emit(.bool, s, pos, line: line)
                    } else if word == "nil" {
                        emit(.nilKeyword, s, pos, line: line)
                    } else {
                        emit(.identifier, s, pos, line: line)
                    }
                } else {
                    fail("unrecognized character in action: \(String(decoding: [c], as: UTF8.self))")
                    return false
                }
            }
        }
    }

    private mutating func lexNumber() {
        let s = pos
        if src[pos] == 43 || src[pos] == 45 { pos += 1 }
        while pos < src.count {
            let c = src[pos]
            if Lexer.isAlnum(c) || c == 46 { pos += 1; continue }
            if (c == 43 || c == 45) && pos > s && (src[pos - 1] == 101 || src[pos - 1] == 69 || src[pos - 1] == 112 || src[pos - 1] == 80) {
                pos += 1; continue
            }
            break
        }
        emit(.number, s, pos, line: line)
    }

    private func findCommentEnd(from i: Int) -> Int? {
        var k = i
        while k + 1 < src.count {
            if src[k] == 42 && src[k + 1] == 47 { return k }
            k += 1
        }
        return nil
    }

    private mutating func skipLeadingSpace() {
        while pos < src.count && Lexer.isSpace(src[pos]) {
            if src[pos] == 10 { line += 1 }
            pos += 1
        }
    }
}

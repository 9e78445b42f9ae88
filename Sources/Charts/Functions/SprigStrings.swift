import Foundation

/// Sprig's string functions (trim, case, quote, indent, split, regex, ...), with Sprig's argument order.
enum SprigStrings {
    static func register(_ f: inout [String: FunctionSpec]) {
        f.add("trim", 1) { a in .string(try Arg2.string(a[0]).trimmingCharacters(in: .whitespacesAndNewlines)) }
        f.add("trimAll", 2) { a in .string(goTrim(try Arg2.string(a[1]), cutset: try Arg2.string(a[0]))) }
        f["trimall"] = f["trimAll"]
        f.add("trimPrefix", 2) { a in
            let p = try Arg2.string(a[0]), s = try Arg2.string(a[1])
            return .string(s.hasPrefix(p) ? String(s.dropFirst(p.count)) : s)
        }
        f.add("trimSuffix", 2) { a in
            let p = try Arg2.string(a[0]), s = try Arg2.string(a[1])
            return .string(s.hasSuffix(p) && !p.isEmpty ? String(s.dropLast(p.count)) : s)
        }
        f.add("upper", 1) { a in .string(try Arg2.string(a[0]).uppercased()) }
        f.add("lower", 1) { a in .string(try Arg2.string(a[0]).lowercased()) }
        f.add("title", 1) { a in .string(title(try Arg2.string(a[0]))) }
        f.add("untitle", 1) { a in .string(untitle(try Arg2.string(a[0]))) }
        f.add("substr", 3) { a in
            let start = try Arg2.int(a[0]), end = try Arg2.int(a[1])
            let b = Array(try Arg2.string(a[2]).utf8)
            if start < 0 { return .string(String(decoding: b[..<max(0, min(end, b.count))], as: UTF8.self)) }
            if end < 0 || end > b.count { return .string(start > b.count ? "" : String(decoding: b[start...], as: UTF8.self)) }
            guard start <= end else { throw FunctionError("slice bounds out of range [\(start):\(end)]") }
            return .string(String(decoding: b[start..<end], as: UTF8.self))
        }
        f.add("repeat", 2) { a in
            let n = try Arg2.int(a[0])
            if n < 0 { throw FunctionError("strings: negative Repeat count") }
            return .string(String(repeating: try Arg2.string(a[1]), count: n))
        }
        f.add("nospace", 1) { a in .string(String(try Arg2.string(a[0]).unicodeScalars.filter { !$0.properties.isWhitespace }.map(Character.init))) }
        f.add("trunc", 2) { a in
            let c = try Arg2.int(a[0])
            let b = Array(try Arg2.string(a[1]).utf8)
            if c < 0 && b.count + c > 0 { return .string(String(decoding: b[(b.count + c)...], as: UTF8.self)) }
            if c >= 0 && b.count > c { return .string(String(decoding: b[..<c], as: UTF8.self)) }
            return .string(String(decoding: b, as: UTF8.self))
        }
        f.add("abbrev", 2) { a in
            let w = try Arg2.int(a[0]), s = try Arg2.string(a[1])
            if w < 4 || s.count <= w { return .string(s) }
            return .string(String(s.prefix(w - 3)) + "...")
        }
        f.add("abbrevboth", 3) { a in
            let l = try Arg2.int(a[0]), r = try Arg2.int(a[1]), s = try Arg2.string(a[2])
            if r < 4 || l > 0 && r < 7 { return .string(s) }
            var off = max(0, min(l, s.count))
            if s.count <= r { return .string(s) }
            if s.count - off < r - 3 { off = s.count - (r - 3) }
            if off <= 4 { return .string(String(s.prefix(r - 3)) + "...") }
            let rest = String(s.dropFirst(off))
            if off + r - 3 < s.count { return .string("..." + String(rest.prefix(r - 6)) + "...") }
            return .string("..." + String(s.suffix(r - 3)))
        }
        f.add("initials", 1) { a in
            .string(try Arg2.string(a[0]).split(whereSeparator: { $0.isWhitespace }).compactMap { $0.first.map(String.init) }.joined())
        }
        f.add("wrap", 2) { a in .string(wrap(try Arg2.string(a[1]), width: try Arg2.int(a[0]), newline: "\n")) }
        f.add("wrapWith", 3) { a in .string(wrap(try Arg2.string(a[2]), width: try Arg2.int(a[0]), newline: try Arg2.string(a[1]))) }
        f.add("contains", 2) { a in .bool(contains(try Arg2.string(a[1]), try Arg2.string(a[0]))) }
        f.add("hasPrefix", 2) { a in .bool(try Arg2.string(a[1]).hasPrefix(try Arg2.string(a[0]))) }
        f.add("hasSuffix", 2) { a in .bool(try Arg2.string(a[1]).hasSuffix(try Arg2.string(a[0]))) }
        f.variadic("quote") { a in .string(a.filter { !$0.isNull }.map { GoStrings.quote(Arg2.strval($0)) }.joined(separator: " ")) }
        f.variadic("squote") { a in .string(a.filter { !$0.isNull }.map { "'" + Arg2.strval($0) + "'" }.joined(separator: " ")) }
        f.variadic("cat") { a in .string(a.filter { !$0.isNull }.map { Arg2.strval($0) }.joined(separator: " ")) }
        f.add("indent", 2) { a in
            let pad = String(repeating: " ", count: max(0, try Arg2.int(a[0])))
            return .string(pad + (try Arg2.string(a[1])).replacingOccurrences(of: "\n", with: "\n" + pad))
        }
        f.add("nindent", 2) { a in
            let pad = String(repeating: " ", count: max(0, try Arg2.int(a[0])))
            return .string("\n" + pad + (try Arg2.string(a[1])).replacingOccurrences(of: "\n", with: "\n" + pad))
        }
        f.add("replace", 3) { a in
            let old = try Arg2.string(a[0]), new = try Arg2.string(a[1]), s = try Arg2.string(a[2])
            if old.isEmpty { return .string(s) }
            return .string(s.replacingOccurrences(of: old, with: new))
        }
        f.add("plural", 3) { a in .string(try Arg2.int(a[2]) == 1 ? try Arg2.string(a[0]) : try Arg2.string(a[1])) }
        f.add("snakecase", 1) { a in .string(delimited(try Arg2.string(a[0]), "_")) }
        f.add("kebabcase", 1) { a in .string(delimited(try Arg2.string(a[0]), "-")) }
        f.add("camelcase", 1) { a in .string(camel(try Arg2.string(a[0]))) }
        f.add("swapcase", 1) { a in
            .string(String(try Arg2.string(a[0]).map { c -> String in
                c.isUppercase ? c.lowercased() : (c.isLowercase ? c.uppercased() : String(c))
            }.joined()))
        }
        f.add("toString", 1) { a in .string(Arg2.strval(a[0])) }
        f.add("toStrings", 1) { a in .list(Arg2.strslice(a[0]).map { .string($0) }) }
        f.add("split", 2) { a in
            let parts = goSplit(try Arg2.string(a[1]), sep: try Arg2.string(a[0]), n: -1)
            return .dict(Dictionary(uniqueKeysWithValues: parts.enumerated().map { ("_\($0.offset)", .string($0.element)) }))
        }
        f.add("splitList", 2) { a in .list(goSplit(try Arg2.string(a[1]), sep: try Arg2.string(a[0]), n: -1).map { .string($0) }) }
        f.add("splitn", 3) { a in
            let parts = goSplit(try Arg2.string(a[2]), sep: try Arg2.string(a[0]), n: try Arg2.int(a[1]))
            return .dict(Dictionary(uniqueKeysWithValues: parts.enumerated().map { ("_\($0.offset)", .string($0.element)) }))
        }
        f.add("join", 2) { a in .string(Arg2.strslice(a[1]).joined(separator: try Arg2.string(a[0]))) }
        f.add("sortAlpha", 1) { a in
            switch a[0] {
            case .list: return .list(Arg2.strslice(a[0]).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }.map { .string($0) })
            default: return .list([.string(Arg2.strval(a[0]))])
            }
        }
        // regular expressions (Go's RE2 syntax is close to ICU's for the common cases)
        f.add("regexMatch", 2) { a in .bool(try regex(try Arg2.string(a[0])).firstMatch(in: try Arg2.string(a[1]), range: all(try Arg2.string(a[1]))) != nil) }
        f["mustRegexMatch"] = f["regexMatch"]
        f.add("regexFind", 2) { a in
            let s = try Arg2.string(a[1])
            guard let m = try regex(try Arg2.string(a[0])).firstMatch(in: s, range: all(s)), let r = Range(m.range, in: s) else { return .string("") }
            return .string(String(s[r]))
        }
        f["mustRegexFind"] = f["regexFind"]
        f.add("regexFindAll", 3) { a in
            let s = try Arg2.string(a[1]); let n = try Arg2.int(a[2])
            var out: [Value] = []
            for m in try regex(try Arg2.string(a[0])).matches(in: s, range: all(s)) {
                if n >= 0 && out.count >= n { break }
                if let r = Range(m.range, in: s) { out.append(.string(String(s[r]))) }
            }
            return .list(out)
        }
        f["mustRegexFindAll"] = f["regexFindAll"]
        f.add("regexReplaceAll", 3) { a in
            let s = try Arg2.string(a[1])
            let tmpl = goTemplateToICU(try Arg2.string(a[2]))
            return .string(try regex(try Arg2.string(a[0])).stringByReplacingMatches(in: s, range: all(s), withTemplate: tmpl))
        }
        f["mustRegexReplaceAll"] = f["regexReplaceAll"]
        f.add("regexReplaceAllLiteral", 3) { a in
            let s = try Arg2.string(a[1])
            let lit = NSRegularExpression.escapedTemplate(for: try Arg2.string(a[2]))
            return .string(try regex(try Arg2.string(a[0])).stringByReplacingMatches(in: s, range: all(s), withTemplate: lit))
        }
        f["mustRegexReplaceAllLiteral"] = f["regexReplaceAllLiteral"]
        f.add("regexSplit", 3) { a in
            let s = try Arg2.string(a[1]); let n = try Arg2.int(a[2])
            if n == 0 { return .list([]) }
            let re = try regex(try Arg2.string(a[0]))
            var out: [Value] = []
            var last = s.startIndex
            for m in re.matches(in: s, range: all(s)) {
                if n > 0 && out.count == n - 1 { break }
                guard let r = Range(m.range, in: s) else { continue }
                if r.isEmpty && r.lowerBound == s.startIndex { continue }
                out.append(.string(String(s[last..<r.lowerBound])))
                last = r.upperBound
            }
            out.append(.string(String(s[last...])))
            return .list(out)
        }
        f["mustRegexSplit"] = f["regexSplit"]
        f.add("regexQuoteMeta", 1) { a in
            var o = ""
            for c in try Arg2.string(a[0]) {
                if "\\.+*?()|[]{}^$".contains(c) { o += "\\" }
                o.append(c)
            }
            return .string(o)
        }
    }

    static func all(_ s: String) -> NSRange { NSRange(s.startIndex..., in: s) }

    static func regex(_ p: String) throws -> NSRegularExpression {
        do { return try NSRegularExpression(pattern: p) } catch { throw FunctionError("error parsing regexp: invalid regular expression: `\(p)`") }
    }

    /// Go's `${1}` / `$1` expansion syntax to ICU's `$1`.
    static func goTemplateToICU(_ t: String) -> String {
        var o = ""
        let c = Array(t)
        var i = 0
        while i < c.count {
            if c[i] == "$" && i + 1 < c.count && c[i + 1] == "{" , let close = c[(i + 2)...].firstIndex(of: "}") {
                o += "$" + String(c[(i + 2)..<close]); i = close + 1; continue
            }
            if c[i] == "\\" { o += "\\\\"; i += 1; continue }
            o.append(c[i]); i += 1
        }
        return o
    }

    static func contains(_ s: String, _ sub: String) -> Bool { sub.isEmpty || s.range(of: sub) != nil }

    static func goTrim(_ s: String, cutset: String) -> String {
        let set = Set(cutset.unicodeScalars)
        var u = Array(s.unicodeScalars)
        while let f = u.first, set.contains(f) { u.removeFirst() }
        while let l = u.last, set.contains(l) { u.removeLast() }
        var o = ""
        o.unicodeScalars.append(contentsOf: u)
        return o
    }

    /// strings.SplitN semantics (an empty separator splits into UTF-8 sequences).
    static func goSplit(_ s: String, sep: String, n: Int) -> [String] {
        if n == 0 { return [] }
        if sep.isEmpty {
            var parts = s.map { String($0) }
            if n > 0 && parts.count > n { parts = Array(parts[..<(n - 1)]) + [parts[(n - 1)...].joined()] }
            return parts
        }
        var out: [String] = []
        var rest = Substring(s)
        while let r = rest.range(of: sep) {
            if n > 0 && out.count == n - 1 { break }
            out.append(String(rest[..<r.lowerBound]))
            rest = rest[r.upperBound...]
        }
        out.append(String(rest))
        return out
    }

    /// Go's deprecated strings.Title: upper-cases letters that follow a separator.
    static func title(_ s: String) -> String {
        var out = ""
        var prevSep = true
        for c in s.unicodeScalars {
            let isLetterDigit = c.properties.isAlphabetic || c.properties.numericType != nil || c == "_"
            if prevSep && isLetterDigit { out += String(c).uppercased() } else { out.unicodeScalars.append(c) }
            prevSep = !isLetterDigit && (c.properties.isWhitespace || c.isASCII)
            if isLetterDigit { prevSep = false }
        }
        return out
    }

    static func untitle(_ s: String) -> String {
        var out = ""
        var prevSpace = true
        for c in s {
            out += prevSpace && c.isLetter ? c.lowercased() : String(c)
            prevSpace = c.isWhitespace
        }
        return out
    }

    /// huandu/xstrings-style word splitting for snake/kebab case.
    static func delimited(_ s: String, _ d: String) -> String {
        var out = ""
        var prev: Character?
        let chars = Array(s)
        for (i, c) in chars.enumerated() {
            if c == "_" || c == "-" || c == " " || c == "." {
                if !out.isEmpty && !out.hasSuffix(d) { out += d }
                prev = c
                continue
            }
            if c.isUppercase {
                let nextLower = i + 1 < chars.count && chars[i + 1].isLowercase
                if let p = prev, !out.isEmpty, !out.hasSuffix(d), p.isLowercase || p.isNumber || (p.isUppercase && nextLower) { out += d }
                out += c.lowercased()
            } else {
                out.append(c)
            }
            prev = c
        }
        return out
    }

    static func camel(_ s: String) -> String {
        var out = ""
        var upNext = true
        for c in s {
            if c == "_" || c == " " || c == "-" { upNext = true; continue }
            out += upNext ? c.uppercased() : String(c)
            upNext = false
        }
        return out
    }

    /// goutils.Wrap: breaks lines at spaces so they fit the width (long words are not broken).
    static func wrap(_ s: String, width: Int, newline: String) -> String {
        let w = max(width, 1)
        var out = ""
        for (li, line) in s.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if li > 0 { out += "\n" }
            var cur = ""
            for word in line.split(separator: " ", omittingEmptySubsequences: true) {
                if cur.isEmpty { cur = String(word) }
                else if cur.count + 1 + word.count <= w { cur += " " + word }
                else { out += cur + newline; cur = String(word) }
            }
            out += cur
        }
        return out
    }
}

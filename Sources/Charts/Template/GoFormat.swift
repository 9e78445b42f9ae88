import Foundation

/// Go's fmt package as templates use it: `%v` printing, `print`/`println`, and `printf` verbs
/// (v s d q x X o b c U e E f F g G t T %) with flags, width and precision.
enum GoFormat {
    // MARK: %v

    static func formatFloat(_ f: Double, _ verb: Character = "g", precision: Int = -1) -> String {
        if f.isNaN { return "NaN" }
        if f.isInfinite { return f > 0 ? "+Inf" : "-Inf" }
        switch verb {
        case "f", "F":
            if precision < 0 { return shortestDecimal(f, style: "f") }
            return String(format: "%.\(precision)f", f)
        case "e", "E":
            let s = precision < 0 ? shortestDecimal(f, style: "e") : String(format: "%.\(precision)e", f)
            return verb == "E" ? s.uppercased() : s
        default:  // g
            if precision >= 0 {
                let p = precision == 0 ? 1 : precision
                var s = String(format: "%.\(p)g", f)
                if verb == "G" { s = s.uppercased() }
                return s
            }
            let s = shortestDecimal(f, style: "g")
            return verb == "G" ? s.uppercased() : s
        }
    }

    /// strconv.FormatFloat(f, fmt, -1, 64): the shortest representation that round-trips.
    static func shortestDecimal(_ f: Double, style: Character) -> String {
        if f == 0 { return (f.sign == .minus ? "-" : "") + (style == "e" ? "0e+00" : "0") }
        // Swift's description is the shortest round-trip digits; extract digits and exponent.
        let neg = f < 0
        var desc = "\(abs(f))"  // e.g. "1234.5", "1e-07", "1.234e+20"
        var exp10 = 0
        if let eIdx = desc.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            exp10 = Int(desc[desc.index(after: eIdx)...])!
            desc = String(desc[..<eIdx])
        }
        var intPart = desc
        var fracPart = ""
        if let dot = desc.firstIndex(of: ".") {
            intPart = String(desc[..<dot]); fracPart = String(desc[desc.index(after: dot)...])
        }
        var digits = intPart + fracPart
        var dp = intPart.count + exp10  // decimal point position relative to digits
        // strip leading zeros
        while digits.hasPrefix("0") && digits.count > 1 { digits.removeFirst(); dp -= 1 }
        while digits.hasSuffix("0") && digits.count > 1 { digits.removeLast() }
        let nd = digits.count
        var out = neg ? "-" : ""
        func fmtE() -> String {
            var s = String(digits.first!)
            if nd > 1 { s += "." + digits.dropFirst() }
            let e = dp - 1
            s += e < 0 ? "e-" : "e+"
            let ae = abs(e)
            s += ae < 10 ? "0\(ae)" : "\(ae)"
            return s
        }
        func fmtF() -> String {
            if dp <= 0 { return "0." + String(repeating: "0", count: -dp) + digits }
            if dp >= nd { return digits + String(repeating: "0", count: dp - nd) }
            let idx = digits.index(digits.startIndex, offsetBy: dp)
            return String(digits[..<idx]) + "." + String(digits[idx...])
        }
        switch style {
        case "e": out += fmtE()
        case "f": out += fmtF()
        default:
            let exp = dp - 1
            out += (exp < -4 || exp >= 21) ? fmtE() : fmtF()
        }
        return out
    }

    /// fmt's `%v` for a value (nil prints "<nil>").
    static func v(_ value: Value, plusV: Bool = false) -> String {
        switch value {
        case .null: return "<nil>"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .float(let f): return gFloat(f)
        case .string(let s): return s
        case .list(let l): return "[" + l.map { v($0) }.joined(separator: " ") + "]"
        case .bytes(let b): return "[" + b.map { String($0) }.joined(separator: " ") + "]"
        case .map(let m):
            return "map[" + m.sortedKeys.map { "\($0):\(v(m[$0]!))" }.joined(separator: " ") + "]"
        case .object(let o): return o.goDescription
        }
    }

    /// `%v` of a float64: strconv 'g' with shortest precision (exponent when < -4 or >= 6 digits, so 1e+06).
    static func gFloat(_ f: Double) -> String {
        if f.isNaN { return "NaN" }
        if f.isInfinite { return f > 0 ? "+Inf" : "-Inf" }
        return shortestG(f, eprec: 6)
    }

    /// strconv.FormatFloat(f, 'g', -1, 64)-style choice between the e and f forms.
    static func shortestG(_ f: Double, eprec: Int) -> String {
        let e = shortestDecimal(f, style: "e")
        // decide using the exponent of e-form
        guard let idx = e.firstIndex(of: "e") else { return e }
        let exp = Int(e[e.index(after: idx)...])!
        if exp < -4 || exp >= eprec { return e }
        return shortestDecimal(f, style: "f")
    }

    // MARK: print / println

    static func sprint(_ args: [Value]) -> String {
        var out = ""
        for (k, a) in args.enumerated() {
            let isString: (Value) -> Bool = { if case .string = $0 { return true } else { return false } }
            if k > 0 && !isString(a) && !isString(args[k - 1]) { out += " " }
            out += v(a)
        }
        return out
    }

    static func sprintln(_ args: [Value]) -> String {
        args.map { v($0) }.joined(separator: " ") + "\n"
    }

    // MARK: printf

    struct Spec {
        var minus = false, plus = false, sharp = false, space = false, zero = false
        var width: Int?
        var precision: Int?
    }

    static func sprintf(_ format: String, _ args: [Value]) -> String {
        let f = Array(format.unicodeScalars)
        var out = ""
        var argi = 0
        var i = 0
        while i < f.count {
            let c = f[i]
            if c != "%" { out.unicodeScalars.append(c); i += 1; continue }
            i += 1
            if i >= f.count { out += "%!(NOVERB)"; break }
            var spec = Spec()
            flags: while i < f.count {
                switch f[i] {
                case "-": spec.minus = true; spec.zero = false
                case "+": spec.plus = true
                case "#": spec.sharp = true
                case " ": spec.space = true
                case "0": spec.zero = !spec.minus
                default: break flags
                }
                i += 1
            }
            // width
            if i < f.count && f[i] == "*" {
                i += 1
                if argi < args.count, case .int(let w) = args[argi] { spec.width = abs(w); if w < 0 { spec.minus = true } } else { out += "%!(BADWIDTH)" }
                argi += 1
            } else {
                var w = ""
                while i < f.count, f[i].properties.numericType != nil, f[i].isASCII { w.unicodeScalars.append(f[i]); i += 1 }
                if !w.isEmpty { spec.width = Int(w) }
            }
            if i < f.count && f[i] == "." {
                i += 1
                if i < f.count && f[i] == "*" {
                    i += 1
                    if argi < args.count, case .int(let p) = args[argi] { spec.precision = max(p, 0) } else { out += "%!(BADPREC)" }
                    argi += 1
                } else {
                    var p = ""
                    while i < f.count, f[i].properties.numericType != nil, f[i].isASCII { p.unicodeScalars.append(f[i]); i += 1 }
                    spec.precision = Int(p) ?? 0
                }
            }
            guard i < f.count else { out += "%!(NOVERB)"; break }
            let verb = Character(f[i])
            i += 1
            if verb == "%" { out += "%"; continue }
            guard argi < args.count else { out += "%!\(verb)(MISSING)"; continue }
            let arg = args[argi]
            argi += 1
            out += formatOne(verb, arg, spec)
        }
        if argi < args.count {
            out += "%!(EXTRA " + args[argi...].map { "\($0.goType)=\(v($0))" }.joined(separator: ", ") + ")"
        }
        return out
    }

    private static func pad(_ s: String, _ spec: Spec, zeroOK: Bool = true) -> String {
        guard let w = spec.width, s.count < w else { return s }
        let n = w - s.count
        if spec.minus { return s + String(repeating: " ", count: n) }
        if spec.zero && zeroOK {
            var body = s
            var sign = ""
            if body.hasPrefix("-") || body.hasPrefix("+") { sign = String(body.removeFirst()) }
            return sign + String(repeating: "0", count: n) + body
        }
        return String(repeating: " ", count: n) + s
    }

    private static func bad(_ verb: Character, _ arg: Value) -> String {
        if case .null = arg { return "%!\(verb)(<nil>)" }
        return "%!\(verb)(\(arg.goType)=\(v(arg)))"
    }

    private static func formatInt(_ i: Int, _ verb: Character, _ spec: Spec) -> String? {
        var digits: String
        let neg = i < 0
        let mag = i.magnitude
        switch verb {
        case "d", "v": digits = String(mag)
        case "x": digits = String(mag, radix: 16); if spec.sharp { digits = "0x" + digits }
        case "X": digits = String(mag, radix: 16).uppercased(); if spec.sharp { digits = "0X" + digits }
        case "o": digits = String(mag, radix: 8); if spec.sharp { digits = "0" + digits }
        case "O": digits = "0o" + String(mag, radix: 8)
        case "b": digits = String(mag, radix: 2)
        case "c": return pad(String(Character(Unicode.Scalar(UInt32(truncatingIfNeeded: i)) ?? "\u{FFFD}")), spec, zeroOK: false)
        case "q": return pad("'" + String(Character(Unicode.Scalar(UInt32(truncatingIfNeeded: i)) ?? "\u{FFFD}")) + "'", spec, zeroOK: false)
        case "U":
            var h = String(mag, radix: 16).uppercased()
            while h.count < 4 { h = "0" + h }
            return pad("U+" + h, spec, zeroOK: false)
        case "e", "E", "f", "F", "g", "G": return nil
        default: return nil
        }
        if let p = spec.precision { while digits.count < p { digits = "0" + digits } }
        let sign = neg ? "-" : (spec.plus ? "+" : (spec.space ? " " : ""))
        return pad(sign + digits, spec, zeroOK: spec.precision == nil)
    }

    private static func formatFloatVerb(_ f: Double, _ verb: Character, _ spec: Spec) -> String? {
        var s: String
        switch verb {
        case "v": s = gFloat(f)
        case "g", "G":
            if let p = spec.precision { s = formatFloat(f, verb, precision: p) } else { s = shortestG(f, eprec: 6); if verb == "G" { s = s.uppercased() } }
        case "e", "E": s = formatFloat(f, verb, precision: spec.precision ?? 6)
        case "f", "F": s = formatFloat(f, "f", precision: spec.precision ?? 6)
        default: return nil
        }
        if spec.plus && !s.hasPrefix("-") { s = "+" + s } else if spec.space && !s.hasPrefix("-") { s = " " + s }
        return pad(s, spec)
    }

    private static func formatString(_ s: String, _ verb: Character, _ spec: Spec) -> String? {
        var t = s
        switch verb {
        case "s", "v":
            if let p = spec.precision { t = String(t.prefix(p)) }
            return pad(t, spec, zeroOK: true)
        case "q":
            if spec.sharp && !s.contains("`") { return pad("`" + s + "`", spec) }
            return pad(GoStrings.quote(s, asciiOnly: spec.plus), spec)
        case "x", "X":
            var h = Array(s.utf8).map { String(format: verb == "x" ? "%02x" : "%02X", $0) }.joined(separator: spec.space ? " " : "")
            if spec.sharp { h = (verb == "x" ? "0x" : "0X") + h }
            return pad(h, spec)
        default: return nil
        }
    }

    static func formatOne(_ verb: Character, _ arg: Value, _ spec: Spec) -> String {
        if verb == "T" { return pad(arg.goType, spec) }
        switch arg {
        case .null:
            if verb == "v" || verb == "s" { return pad(verb == "v" ? "<nil>" : "%!s(<nil>)", spec) }
            return "%!\(verb)(<nil>)"
        case .bool(let b):
            if verb == "t" || verb == "v" { return pad(b ? "true" : "false", spec) }
            return bad(verb, arg)
        case .int(let i):
            return formatInt(i, verb, spec) ?? bad(verb, arg)
        case .float(let f):
            return formatFloatVerb(f, verb, spec) ?? bad(verb, arg)
        case .string(let s):
            return formatString(s, verb, spec) ?? bad(verb, arg)
        case .bytes(let b):
            if verb == "s" || verb == "q" || verb == "x" || verb == "X" {
                return formatString(String(decoding: b, as: UTF8.self), verb, spec) ?? bad(verb, arg)
            }
            return "[" + b.map { formatInt(Int($0), verb == "v" ? "d" : verb, Spec()) ?? bad(verb, .int(Int($0))) }.joined(separator: " ") + "]"
        case .list(let l):
            if verb == "v" && spec.sharp { return "[]interface {}{" + l.map { goSyntax($0) }.joined(separator: ", ") + "}" }
            return pad("[" + l.map { formatOne(verb, $0, Spec(plus: spec.plus, sharp: spec.sharp, precision: spec.precision)) }.joined(separator: " ") + "]", spec)
        case .map(let m):
            if verb == "v" && spec.sharp {
                return "map[string]interface {}{" + m.sortedKeys.map { "\"\($0)\":" + goSyntax(m[$0]!) }.joined(separator: ", ") + "}"
            }
            return pad("map[" + m.sortedKeys.map { "\(formatOne(verb, .string($0), Spec())):\(formatOne(verb, m[$0]!, Spec()))" }.joined(separator: " ") + "]", spec)
        case .object(let o):
            if verb == "v" || verb == "s" { return pad(o.goDescription, spec) }
            return bad(verb, arg)
        }
    }

    /// `%#v` (Go syntax) for the common cases.
    static func goSyntax(_ value: Value) -> String {
        switch value {
        case .null: return "interface {}(nil)"
        case .string(let s): return GoStrings.quote(s)
        case .int(let i): return String(i)
        case .float(let f): return gFloat(f)
        case .bool(let b): return b ? "true" : "false"
        default: return formatOne("v", value, Spec(sharp: true))
        }
    }
}

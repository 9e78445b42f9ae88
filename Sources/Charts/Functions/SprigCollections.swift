import Foundation

/// Sprig's list, dict, default/empty/ternary, type inspection and math functions.
enum SprigCollections {
    static func register(_ f: inout [String: FunctionSpec]) {
        // MARK: defaults and flow
        f.variadic("default", min: 1) { a in
            if a.count < 2 || Arg2.isEmpty(a[1]) { return a[0] }
            return a[1]
        }
        f.add("empty", 1) { a in .bool(Arg2.isEmpty(a[0])) }
        f.variadic("coalesce") { a in a.first { !Arg2.isEmpty($0) } ?? .null }
        f.variadic("all") { a in .bool(a.allSatisfy { !Arg2.isEmpty($0) }) }
        f.variadic("any") { a in .bool(a.contains { !Arg2.isEmpty($0) }) }
        f.add("ternary", 3) { a in try Arg2.bool(a[2]) ? a[0] : a[1] }
        f.add("deepCopy", 1) { a in a[0].deepCopy }
        f["mustDeepCopy"] = f["deepCopy"]
        f.add("typeOf", 1) { a in .string(a[0].goType) }
        f.add("typeIs", 2) { a in .bool(try Arg2.string(a[0]) == a[1].goType) }
        f.add("typeIsLike", 2) { a in let t = try Arg2.string(a[0]); return .bool(t == a[1].goType || t == "*" + a[1].goType) }
        f.add("kindOf", 1) { a in .string(a[0].goKind) }
        f.add("kindIs", 2) { a in .bool(try Arg2.string(a[0]) == a[1].goKind) }
        f.add("deepEqual", 2) { a in .bool(Arg2.deepEqual(a[0], a[1])) }

        // MARK: conversions and math
        f.add("atoi", 1) { a in .int(Int(try Arg2.string(a[0])) ?? 0) }
        f.add("int", 1) { a in .int(Arg2.toInt(a[0])) }
        f.add("int64", 1) { a in .int(Arg2.toInt(a[0])) }
        f.add("float64", 1) { a in .float(Arg2.toFloat(a[0])) }
        f.add("toDecimal", 1) { a in .int(Int(Arg2.strval(a[0]), radix: 8) ?? 0) }
        f.add("add1", 1) { a in .int(Arg2.toInt(a[0]) &+ 1) }
        f.variadic("add") { a in .int(a.reduce(0) { $0 &+ Arg2.toInt($1) }) }
        f.add("sub", 2) { a in .int(Arg2.toInt(a[0]) &- Arg2.toInt(a[1])) }
        f.add("div", 2) { a in
            let d = Arg2.toInt(a[1])
            if d == 0 { throw FunctionError("runtime error: integer divide by zero") }
            return .int(Arg2.toInt(a[0]) / d)
        }
        f.add("mod", 2) { a in
            let d = Arg2.toInt(a[1])
            if d == 0 { throw FunctionError("runtime error: integer divide by zero") }
            return .int(Arg2.toInt(a[0]) % d)
        }
        f.variadic("mul", min: 1) { a in .int(a.reduce(1) { $0 &* Arg2.toInt($1) }) }
        f.variadic("max", min: 1) { a in .int(a.map(Arg2.toInt).max()!) }
        f["biggest"] = f["max"]
        f.variadic("min", min: 1) { a in .int(a.map(Arg2.toInt).min()!) }
        f.variadic("maxf", min: 1) { a in .float(a.map(Arg2.toFloat).max()!) }
        f.variadic("minf", min: 1) { a in .float(a.map(Arg2.toFloat).min()!) }
        f.add("ceil", 1) { a in .float(Arg2.toFloat(a[0]).rounded(.up)) }
        f.add("floor", 1) { a in .float(Arg2.toFloat(a[0]).rounded(.down)) }
        f.variadic("round", min: 2, max: 3) { a in
            let p = try Arg2.int(a[1])
            let rOpt = a.count > 2 ? Arg2.toFloat(a[2]) : 0.5
            let pow10 = pow(10.0, Double(p))
            let digit = pow10 * Arg2.toFloat(a[0])
            let (intPart, frac) = (digit.rounded(.towardZero), digit - digit.rounded(.towardZero))
            return .float((frac >= rOpt ? intPart + 1 : intPart) / pow10)
        }
        f.add("add1f", 1) { a in .float(decimal(Arg2.toFloat(a[0]) + 1)) }
        f.variadic("addf") { a in .float(decimal(a.reduce(0.0) { $0 + Arg2.toFloat($1) })) }
        f.variadic("subf", min: 1) { a in .float(decimal(a.dropFirst().reduce(Arg2.toFloat(a[0])) { $0 - Arg2.toFloat($1) })) }
        f.variadic("mulf", min: 1) { a in .float(decimal(a.reduce(1.0) { $0 * Arg2.toFloat($1) })) }
        f.variadic("divf", min: 1) { a in .float(decimal(a.dropFirst().reduce(Arg2.toFloat(a[0])) { $0 / Arg2.toFloat($1) })) }
        f.variadic("seq") { a in .string(try seq(a.map(Arg2.int))) }
        f.add("until", 1) { a in let n = try Arg2.int(a[0]); return .list(untilStep(0, n, n < 0 ? -1 : 1)) }
        f.add("untilStep", 3) { a in .list(untilStep(try Arg2.int(a[0]), try Arg2.int(a[1]), try Arg2.int(a[2]))) }

        // MARK: lists
        f.variadic("list") { a in .list(a) }
        f["tuple"] = f["list"]
        f.add("first", 1) { a in let l = try Arg2.list(a[0], "first"); return l.first ?? .null }
        f.add("last", 1) { a in let l = try Arg2.list(a[0], "last"); return l.last ?? .null }
        f.add("rest", 1) { a in let l = try Arg2.list(a[0], "rest"); return l.isEmpty ? .null : .list(Array(l.dropFirst())) }
        f.add("initial", 1) { a in let l = try Arg2.list(a[0], "initial"); return l.isEmpty ? .null : .list(Array(l.dropLast())) }
        f.add("append", 2) { a in .list(try Arg2.list(a[0], "append") + [a[1]]) }
        f["push"] = f["append"]
        f.add("prepend", 2) { a in .list([a[1]] + (try Arg2.list(a[0], "prepend"))) }
        f.variadic("concat") { a in .list(try a.flatMap { try Arg2.list($0, "concat") }) }
        f.add("reverse", 1) { a in .list(try Arg2.list(a[0], "reverse").reversed()) }
        f.add("uniq", 1) { a in
            var out: [Value] = []
            for v in try Arg2.list(a[0], "uniq") where !out.contains(where: { Arg2.deepEqual($0, v) }) { out.append(v) }
            return .list(out)
        }
        f.variadic("without", min: 1) { a in
            let omit = a.dropFirst()
            return .list(try Arg2.list(a[0], "without").filter { v in !omit.contains { Arg2.deepEqual($0, v) } })
        }
        f.add("has", 2) { a in
            if case .null = a[1] { return .bool(false) }
            return .bool(try Arg2.list(a[1], "has").contains { Arg2.deepEqual($0, a[0]) })
        }
        f.add("compact", 1) { a in .list(try Arg2.list(a[0], "compact").filter { !Arg2.isEmpty($0) }) }
        f.variadic("slice", min: 1, max: 3) { a in
            let l = try Arg2.list(a[0], "slice")
            let lo = a.count > 1 ? Arg2.toInt(a[1]) : 0
            let hi = a.count > 2 ? Arg2.toInt(a[2]) : l.count
            guard lo >= 0, hi <= l.count, lo <= hi else { throw FunctionError("runtime error: slice bounds out of range [\(lo):\(hi)]") }
            return .list(Array(l[lo..<hi]))
        }
        f.add("chunk", 2) { a in
            let size = try Arg2.int(a[0])
            let l = try Arg2.list(a[1], "chunk")
            guard size > 0 else { return .list([]) }
            return .list(stride(from: 0, to: l.count, by: size).map { .list(Array(l[$0..<min($0 + size, l.count)])) })
        }
        for name in ["first", "last", "rest", "initial", "append", "prepend", "reverse", "uniq", "without", "has", "compact", "slice", "chunk"] {
            f["must" + name.prefix(1).uppercased() + name.dropFirst()] = f[name]
        }
        f["mustPush"] = f["append"]

        // MARK: dicts
        f.variadic("dict") { a in
            var d: [String: Value] = [:]
            var i = 0
            while i < a.count {
                d[Arg2.strval(a[i])] = i + 1 < a.count ? a[i + 1] : .string("")
                i += 2
            }
            return .dict(d)
        }
        f.add("get", 2) { a in
            guard let m = try Arg2.map(a[0]) else { return .string("") }
            return m[try Arg2.string(a[1])] ?? .string("")
        }
        f.add("set", 3) { a in
            guard let m = try Arg2.map(a[0]) else { throw FunctionError("assignment to entry in nil map") }
            m[try Arg2.string(a[1])] = a[2]
            return .map(m)
        }
        f.add("unset", 2) { a in
            guard let m = try Arg2.map(a[0]) else { return .null }
            m[try Arg2.string(a[1])] = nil
            return .map(m)
        }
        f.add("hasKey", 2) { a in .bool(try Arg2.map(a[0])?[try Arg2.string(a[1])] != nil) }
        f.variadic("pluck", min: 1) { a in
            let k = try Arg2.string(a[0])
            return .list(try a.dropFirst().compactMap { try Arg2.map($0)?[k] })
        }
        f.variadic("keys") { a in
            var ks: [String] = []
            for d in a { if let m = try Arg2.map(d) { ks.append(contentsOf: m.sortedKeys) } }
            return .list(ks.map { .string($0) })
        }
        f.variadic("pick", min: 1) { a in
            guard let m = try Arg2.map(a[0]) else { return .dict([:]) }
            var d: [String: Value] = [:]
            for k in a.dropFirst() { let key = try Arg2.string(k); if let v = m[key] { d[key] = v } }
            return .dict(d)
        }
        f.variadic("omit", min: 1) { a in
            guard let m = try Arg2.map(a[0]) else { return .dict([:]) }
            let drop = Set(try a.dropFirst().map(Arg2.string))
            return .dict(m.storage.filter { !drop.contains($0.key) })
        }
        f.add("values", 1) { a in
            guard let m = try Arg2.map(a[0]) else { return .list([]) }
            return .list(m.sortedKeys.map { m[$0]! })
        }
        f.variadic("merge", min: 1) { a in
            guard let dst = try Arg2.map(a[0]) else { throw FunctionError("assignment to entry in nil map") }
            for s in a.dropFirst() { if let src = try Arg2.map(s) { mergeMaps(dst, src, overwrite: false) } }
            return .map(dst)
        }
        f["mustMerge"] = f["merge"]
        f.variadic("mergeOverwrite", min: 1) { a in
            guard let dst = try Arg2.map(a[0]) else { throw FunctionError("assignment to entry in nil map") }
            for s in a.dropFirst() { if let src = try Arg2.map(s) { mergeMaps(dst, src, overwrite: true) } }
            return .map(dst)
        }
        f["mustMergeOverwrite"] = f["mergeOverwrite"]
        f.variadic("dig", min: 2) { a in
            guard let m = try Arg2.map(a[a.count - 1]) else { throw GoTypeError("wrong type for value; expected map[string]interface {}; got <nil>") }
            let keys = try a[0..<(a.count - 2)].map(Arg2.string)
            var cur: Value = .map(m)
            for k in keys {
                guard case .map(let mm) = cur, let next = mm[k] else { return a[a.count - 2] }
                cur = next
            }
            return cur
        }
    }

    /// mergo.Merge semantics: fill keys missing (or empty) in dst, deep-merging nested maps.
    static func mergeMaps(_ dst: GoMap, _ src: GoMap, overwrite: Bool) {
        for (k, sv) in src.storage {
            let dv = dst[k]
            if case .map(let sm)? = Optional(sv), case .map(let dm)? = dv {
                mergeMaps(dm, sm, overwrite: overwrite)
                continue
            }
            if dv == nil || Arg2.isEmpty(dv!) {
                dst[k] = sv
            } else if overwrite && !Arg2.isEmpty(sv) {
                dst[k] = sv
            }
        }
    }

    /// Rounds away float noise the way shopspring/decimal arithmetic avoids it.
    static func decimal(_ d: Double) -> Double {
        let s = String(format: "%.15g", d)
        return Double(s) ?? d
    }

    static func untilStep(_ start: Int, _ stop: Int, _ step: Int) -> [Value] {
        var out: [Value] = []
        if step == 0 { return out }
        var i = start
        if step > 0 { while i < stop { out.append(.int(i)); i += step } }
        else { while i > stop { out.append(.int(i)); i += step } }
        return out
    }

    /// Sprig's seq: like Unix seq (1..n, start..end, start step end).
    static func seq(_ p: [Int]) throws -> String {
        var start = 1, end = 0, step = 1
        switch p.count {
        case 0: return ""
        case 1: end = p[0]; if end < 1 { step = -1 }
        case 2: start = p[0]; end = p[1]; if end < start { step = -1 }
        case 3: start = p[0]; step = p[1]; end = p[2]
            if (end < start && step > 0) || (end > start && step < 0) || step == 0 { return "" }
        default: throw FunctionError("seq: too many arguments")
        }
        var out: [String] = []
        var i = start
        if step > 0 { while i <= end { out.append(String(i)); i += step } } else { while i >= end { out.append(String(i)); i += step } }
        return out.joined(separator: " ")
    }
}

import Crypto
import Foundation

/// Sprig's encoding, hashing, path, URL, random, UUID, semver and date functions.
/// Randomness and the clock are deterministic when the renderer asks for it (for tests).
enum SprigMisc {
    static func register(_ f: inout [String: FunctionSpec]) {
        f.add("b64enc", 1) { a in .string(Data(try Arg2.string(a[0]).utf8).base64EncodedString()) }
        f.add("b64dec", 1) { a in
            let s = try Arg2.string(a[0])
            guard let d = Data(base64Encoded: s) else { return .string("illegal base64 data at input byte \(firstBadBase64(s))") }
            return .string(String(decoding: d, as: UTF8.self))
        }
        f.add("b32enc", 1) { a in .string(base32(Array(try Arg2.string(a[0]).utf8))) }
        f.add("b32dec", 1) { a in
            guard let d = base32Decode(try Arg2.string(a[0])) else { return .string("illegal base32 data at input byte 0") }
            return .string(String(decoding: d, as: UTF8.self))
        }
        f.add("sha1sum", 1) { a in .string(hex(Insecure.SHA1.hash(data: Array(try Arg2.string(a[0]).utf8)))) }
        f.add("sha256sum", 1) { a in .string(hex(SHA256.hash(data: Array(try Arg2.string(a[0]).utf8)))) }
        f.add("sha512sum", 1) { a in .string(hex(SHA512.hash(data: Array(try Arg2.string(a[0]).utf8)))) }
        f.add("adler32sum", 1) { a in
            var s1: UInt32 = 1, s2: UInt32 = 0
            for b in try Arg2.string(a[0]).utf8 { s1 = (s1 + UInt32(b)) % 65521; s2 = (s2 + s1) % 65521 }
            return .string(String((s2 << 16) | s1))
        }
        // paths (Go's path package)
        f.add("base", 1) { a in .string(pathBase(try Arg2.string(a[0]))) }
        f.add("dir", 1) { a in .string(pathDir(try Arg2.string(a[0]))) }
        f.add("clean", 1) { a in .string(cleanPath(try Arg2.string(a[0]))) }
        f.add("ext", 1) { a in
            let s = try Arg2.string(a[0])
            guard let dot = s.lastIndex(of: "."), !s[dot...].contains("/") else { return .string("") }
            return .string(String(s[dot...]))
        }
        f.add("isAbs", 1) { a in .bool(try Arg2.string(a[0]).hasPrefix("/")) }
        for n in ["base", "dir", "clean", "ext", "isAbs"] { f["os" + n.prefix(1).uppercased() + n.dropFirst()] = f[n] }
        f.add("getHostByName", 1) { _ in .string("") }
        // urls
        f.add("urlParse", 1) { a in
            let s = try Arg2.string(a[0])
            guard let u = URLComponents(string: s) else { throw FunctionError("unable to parse url: \(s)") }
            var userinfo = u.percentEncodedUser ?? ""
            if let p = u.percentEncodedPassword { userinfo += ":" + p }
            let host = (u.percentEncodedHost ?? "") + (u.port.map { ":\($0)" } ?? "")
            return .dict(["scheme": .string(u.scheme ?? ""), "host": .string(host), "hostname": .string(u.host ?? ""),
                "path": .string(u.path), "query": .string(u.percentEncodedQuery ?? ""), "opaque": .string(""),
                "fragment": .string(u.fragment ?? ""), "userinfo": .string(userinfo)])
        }
        f.add("urlJoin", 1) { a in
            guard let m = try Arg2.map(a[0]) else { return .string("") }
            func s(_ k: String) -> String { m[k].map(Arg2.strval) ?? "" }
            var out = ""
            if !s("scheme").isEmpty { out += s("scheme") + ":" }
            if !s("host").isEmpty || !s("scheme").isEmpty { out += "//" }
            if !s("userinfo").isEmpty { out += s("userinfo") + "@" }
            out += s("host") + s("path")
            if !s("query").isEmpty { out += "?" + s("query") }
            if !s("fragment").isEmpty { out += "#" + s("fragment") }
            return .string(out)
        }
        // randomness
        let alnum = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        let alpha = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
        let digits = Array("0123456789")
        let ascii = (32...126).map { Character(Unicode.Scalar($0)!) }
        for (name, set) in [("randAlphaNum", alnum), ("randAlpha", alpha), ("randNumeric", digits), ("randAscii", ascii)] {
            f[name] = FunctionSpec(1, 1) { ctx, a in
                let n = try Arg2.int(a[0])
                var rng = ctx.random
                return .string(String((0..<max(n, 0)).map { _ in set[Int(rng.next() % UInt64(set.count))] }))
            }
        }
        f["randInt"] = FunctionSpec(2, 2) { ctx, a in
            let lo = try Arg2.int(a[0]), hi = try Arg2.int(a[1])
            guard hi > lo else { throw FunctionError("invalid argument to Intn") }
            var rng = ctx.random
            return .int(lo + Int(rng.next() % UInt64(hi - lo)))
        }
        f["randBytes"] = FunctionSpec(1, 1) { ctx, a in
            var rng = ctx.random
            return .string(Data((0..<max(0, try Arg2.int(a[0]))).map { _ in UInt8(truncatingIfNeeded: rng.next()) }).base64EncodedString())
        }
        f["uuidv4"] = FunctionSpec(0, 0) { ctx, _ in
            var rng = ctx.random
            var b = (0..<16).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            b[6] = (b[6] & 0x0f) | 0x40
            b[8] = (b[8] & 0x3f) | 0x80
            let h = b.map { String(format: "%02x", $0) }.joined()
            let c = Array(h)
            return .string("\(String(c[0..<8]))-\(String(c[8..<12]))-\(String(c[12..<16]))-\(String(c[16..<20]))-\(String(c[20..<32]))")
        }
        f["shuffle"] = FunctionSpec(1, 1) { ctx, a in
            var chars = Array(try Arg2.string(a[0]))
            var rng = ctx.random
            if chars.count > 1 { for i in stride(from: chars.count - 1, to: 0, by: -1) { chars.swapAt(i, Int(rng.next() % UInt64(i + 1))) } }
            return .string(String(chars))
        }
        // semver
        f.add("semver", 1) { a in
            guard let v = SemVer(try Arg2.string(a[0])) else { throw FunctionError("Invalid Semantic Version") }
            return .object(v)
        }
        f.add("semverCompare", 2) { a in
            let c = try Arg2.string(a[0]), v = try Arg2.string(a[1])
            guard let ver = SemVer(v) else { throw FunctionError("Invalid Semantic Version") }
            guard let constraint = SemVerConstraint(c) else { throw FunctionError("improper constraint: \(c)") }
            return .bool(constraint.matches(ver))
        }
        f.add("hello", 0) { _ in .string("Hello!") }
        SprigCerts.register(&f)
        SprigSecrets.register(&f)
        Dates.register(&f)
    }

    static func hex<D: Sequence>(_ d: D) -> String where D.Element == UInt8 { d.map { String(format: "%02x", $0) }.joined() }

    static func firstBadBase64(_ s: String) -> Int {
        let ok = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=".utf8)
        return s.utf8.firstIndex { !ok.contains($0) }.map { s.utf8.distance(from: s.utf8.startIndex, to: $0) } ?? s.utf8.count
    }

    static let b32 = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8)

    static func base32(_ data: [UInt8]) -> String {
        var out: [UInt8] = []
        var i = 0
        while i < data.count {
            let chunk = Array(data[i..<min(i + 5, data.count)]) + Array(repeating: 0, count: max(0, i + 5 - data.count))
            var bits: UInt64 = 0
            for b in chunk { bits = (bits << 8) | UInt64(b) }
            let n = min(5, data.count - i)
            let chars = [0, 2, 4, 5, 7, 8][n]
            for k in 0..<8 { out.append(k < chars ? b32[Int((bits >> UInt64(35 - 5 * k)) & 31)] : 61) }
            i += 5
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func base32Decode(_ s: String) -> Data? {
        var bits: UInt64 = 0, n = 0
        var out = Data()
        for c in s.utf8 where c != 61 {
            guard let v = b32.firstIndex(of: c) else { return nil }
            bits = (bits << 5) | UInt64(v); n += 5
            if n >= 8 { out.append(UInt8((bits >> UInt64(n - 8)) & 0xff)); n -= 8 }
        }
        return out
    }

    static func pathBase(_ p: String) -> String {
        if p.isEmpty { return "." }
        var s = p
        while s.count > 1 && s.hasSuffix("/") { s.removeLast() }
        if s == "/" { return "/" }
        if let i = s.lastIndex(of: "/") { return String(s[s.index(after: i)...]) }
        return s
    }

    static func pathDir(_ p: String) -> String {
        guard let i = p.lastIndex(of: "/") else { return "." }
        return cleanPath(String(p[...i]))
    }

    /// Go's path.Clean.
    static func cleanPath(_ p: String) -> String {
        if p.isEmpty { return "." }
        let rooted = p.hasPrefix("/")
        var parts: [Substring] = []
        for comp in p.split(separator: "/", omittingEmptySubsequences: true) {
            if comp == "." { continue }
            if comp == ".." {
                if let last = parts.last, last != ".." { parts.removeLast() } else if !rooted { parts.append(comp) }
                continue
            }
            parts.append(comp)
        }
        let joined = parts.joined(separator: "/")
        if rooted { return "/" + joined }
        return joined.isEmpty ? "." : joined
    }
}

/// A small deterministic or system random source for Sprig's random functions.
struct TemplateRandom {
    var state: UInt64
    let system: Bool
    mutating func next() -> UInt64 {
        if system { return UInt64.random(in: .min ... .max) }
        state &+= 0x9E3779B97F4A7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
        return z ^ (z >> 31)
    }
}

extension CallContext {
    /// The random source: seeded and advancing per call when rendering deterministically.
    var random: TemplateRandom {
        if options.deterministic {
            executor.randomCounter &+= 1
            return TemplateRandom(state: executor.randomCounter &* 7919, system: false)
        }
        return TemplateRandom(state: 0, system: true)
    }
}

import Foundation

/// A semantic version as Masterminds/semver parses it (leniently: "v1.2", "1.20.0-gke.1").
struct SemVer: TemplateObject, Comparable {
    let major: Int, minor: Int, patch: Int
    let prerelease: String
    let metadata: String
    let original: String

    init?(_ s: String) {
        original = s
        var t = Substring(s)
        if t.hasPrefix("v") || t.hasPrefix("V") { t = t.dropFirst() }
        var meta = ""
        if let plus = t.firstIndex(of: "+") { meta = String(t[t.index(after: plus)...]); t = t[..<plus] }
        var pre = ""
        if let dash = t.firstIndex(of: "-") { pre = String(t[t.index(after: dash)...]); t = t[..<dash] }
        let parts = t.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...3).contains(parts.count) else { return nil }
        var nums: [Int] = []
        for p in parts {
            guard !p.isEmpty, p.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(p) else { return nil }
            nums.append(n)
        }
        while nums.count < 3 { nums.append(0) }
        major = nums[0]; minor = nums[1]; patch = nums[2]
        prerelease = pre; metadata = meta
    }

    var goTypeName: String { "*semver.Version" }
    var goDescription: String { "\(major).\(minor).\(patch)" + (prerelease.isEmpty ? "" : "-" + prerelease) + (metadata.isEmpty ? "" : "+" + metadata) }
    func field(_ name: String) -> Value? { nil }
    func method(_ name: String) -> TemplateFunction? {
        let v: Value
        switch name {
        case "Major": v = .int(major)
        case "Minor": v = .int(minor)
        case "Patch": v = .int(patch)
        case "Prerelease": v = .string(prerelease)
        case "Metadata": v = .string(metadata)
        case "Original": v = .string(original)
        case "String": v = .string(goDescription)
        default: return nil
        }
        return { _, _ in v }
    }

    static func < (a: SemVer, b: SemVer) -> Bool { compare(a, b) < 0 }
    static func == (a: SemVer, b: SemVer) -> Bool { compare(a, b) == 0 }

    static func compare(_ a: SemVer, _ b: SemVer) -> Int {
        for (x, y) in [(a.major, b.major), (a.minor, b.minor), (a.patch, b.patch)] where x != y { return x < y ? -1 : 1 }
        if a.prerelease == b.prerelease { return 0 }
        if a.prerelease.isEmpty { return 1 }
        if b.prerelease.isEmpty { return -1 }
        let pa = a.prerelease.split(separator: "."), pb = b.prerelease.split(separator: ".")
        for (x, y) in zip(pa, pb) where x != y {
            if let ix = Int(x), let iy = Int(y) { return ix < iy ? -1 : 1 }
            if Int(x) != nil { return -1 }
            if Int(y) != nil { return 1 }
            return x < y ? -1 : 1
        }
        return pa.count == pb.count ? 0 : (pa.count < pb.count ? -1 : 1)
    }
}

/// A Masterminds/semver constraint: `||` alternatives of comma/space-joined comparisons, with
/// `~`, `^`, wildcards (`1.2.x`, `*`) and hyphen ranges.
struct SemVerConstraint {
    struct Comparator { let op: String; let version: SemVer; let wildcard: Int }  // wildcard: index of first wildcard part (3 = none)
    let groups: [[Comparator]]

    init?(_ text: String) {
        var groups: [[Comparator]] = []
        for alt in text.components(separatedBy: "||") {
            var comps: [Comparator] = []
            var normalized = alt.replacingOccurrences(of: ",", with: " ")
            // hyphen range "a - b"
            if let r = normalized.range(of: " - ") {
                let lo = normalized[..<r.lowerBound].trimmingCharacters(in: .whitespaces)
                let hi = normalized[r.upperBound...].trimmingCharacters(in: .whitespaces)
                normalized = ">=\(lo) <=\(hi)"
            }
            // join operators separated from versions by spaces (">= 1.2")
            let tokens = normalized.split(separator: " ").map(String.init)
            var merged: [String] = []
            for t in tokens {
                if let last = merged.last, ["=", "!=", ">", "<", ">=", "<=", "=>", "=<", "~", "~>", "^"].contains(last) { merged[merged.count - 1] = last + t }
                else { merged.append(t) }
            }
            for t in merged {
                guard let c = SemVerConstraint.parseComparator(t) else { return nil }
                comps.append(c)
            }
            if comps.isEmpty { return nil }
            groups.append(comps)
        }
        self.groups = groups
    }

    static func parseComparator(_ t: String) -> Comparator? {
        var op = ""
        var rest = Substring(t)
        for o in ["!=", ">=", "<=", "=>", "=<", "~>", ">", "<", "=", "~", "^"] where rest.hasPrefix(o) {
            op = o; rest = rest.dropFirst(o.count); break
        }
        if op == "=>" { op = ">=" }
        if op == "=<" { op = "<=" }
        if op == "~>" { op = "~" }
        var s = String(rest)
        if s.hasPrefix("v") { s.removeFirst() }
        var core = s
        var suffix = ""
        if let i = s.firstIndex(where: { $0 == "-" || $0 == "+" }) { core = String(s[..<i]); suffix = String(s[i...]) }
        var parts = core.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        var wildcard = 3
        for (k, p) in parts.enumerated() where ["x", "X", "*"].contains(p) { wildcard = min(wildcard, k) }
        if parts.count < 3 { wildcard = min(wildcard, parts.count) }
        parts = parts.enumerated().map { $0.offset >= wildcard ? "0" : $0.element }
        while parts.count < 3 { parts.append("0") }
        guard let v = SemVer(parts.joined(separator: ".") + suffix) else { return nil }
        return Comparator(op: op, version: v, wildcard: wildcard)
    }

    func matches(_ v: SemVer) -> Bool {
        groups.contains { group in group.allSatisfy { Self.check($0, v) } }
    }

    static func check(_ c: Comparator, _ v: SemVer) -> Bool {
        // prerelease versions only satisfy constraints that carry a prerelease themselves
        if !v.prerelease.isEmpty && c.version.prerelease.isEmpty { return false }
        let cv = c.version
        func upper(bumping index: Int) -> SemVer {
            switch index {
            case 0: return SemVer("\(cv.major + 1).0.0")!
            case 1: return SemVer("\(cv.major).\(cv.minor + 1).0")!
            default: return SemVer("\(cv.major).\(cv.minor).\(cv.patch + 1)")!
            }
        }
        let cmp = SemVer.compare(v, cv)
        switch c.op {
        case "", "=":
            if c.wildcard == 0 { return true }
            if c.wildcard < 3 { return cmp >= 0 && SemVer.compare(v, upper(bumping: c.wildcard - 1)) < 0 }
            return cmp == 0
        case "!=":
            if c.wildcard < 3 { return !(cmp >= 0 && (c.wildcard == 0 || SemVer.compare(v, upper(bumping: c.wildcard - 1)) < 0)) }
            return cmp != 0
        case ">":
            if c.wildcard < 3 && c.wildcard > 0 { return SemVer.compare(v, upper(bumping: c.wildcard - 1)) >= 0 }
            return cmp > 0
        case ">=": return cmp >= 0
        case "<": return cmp < 0
        case "<=":
            if c.wildcard < 3 && c.wildcard > 0 { return SemVer.compare(v, upper(bumping: c.wildcard - 1)) < 0 }
            return cmp <= 0
        case "~":
            return cmp >= 0 && SemVer.compare(v, upper(bumping: c.wildcard == 1 ? 0 : 1)) < 0
        case "^":
            if cv.major > 0 || c.wildcard == 1 { return cmp >= 0 && SemVer.compare(v, upper(bumping: 0)) < 0 }
            if cv.minor > 0 || c.wildcard == 2 { return cmp >= 0 && SemVer.compare(v, upper(bumping: 1)) < 0 }
            return cmp >= 0 && SemVer.compare(v, upper(bumping: 2)) < 0
        default: return false
        }
    }
}

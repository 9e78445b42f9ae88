import Foundation

/// Helm's value rules: merging `--values` files and `--set` flags, enabling dependencies by
/// condition/tags, alias renaming, import-values, and coalescing user values with chart defaults
/// (subchart scoping, `global` propagation, `null` deleting a default).
public enum Values {
    /// User-supplied values: files in order, then --set-json, --set, --set-string, --set-file,
    /// --set-literal (Helm's MergeValues order).
    public struct Options: Sendable {
        public var valueFiles: [String] = []
        public var values: [String] = []
        public var stringValues: [String] = []
        public var fileValues: [String] = []
        public var jsonValues: [String] = []
        public var literalValues: [String] = []
        public init(valueFiles: [String] = [], values: [String] = [], stringValues: [String] = [], fileValues: [String] = [],
                    jsonValues: [String] = [], literalValues: [String] = []) {
            self.valueFiles = valueFiles; self.values = values; self.stringValues = stringValues; self.fileValues = fileValues
            self.jsonValues = jsonValues; self.literalValues = literalValues
        }

        public func merged() throws -> [String: Value] {
            var base: [String: Value] = [:]
            for path in valueFiles {
                guard let data = FileManager.default.contents(atPath: path) else {
                    throw ChartError.invalidValues(message: "open \(path): no such file or directory")
                }
                let current: [String: Value]
                do {
                    current = try ChartLoader.loadValues(String(decoding: data, as: UTF8.self), what: path)
                } catch let e as ChartError {
                    let m = e.description.replacingOccurrences(of: "cannot load \(path): ", with: "")
                    throw ChartError.invalidValues(message: "failed to parse \(path): \(m)")
                }
                base = mergeMaps(base, current)
            }
            let dest = GoMap(base)
            func run(_ list: [String], _ flag: String, _ mode: StrVals.Mode) throws {
                for v in list {
                    do { try StrVals.parse(v, into: dest, mode: mode) } catch {
                        throw ChartError.invalidValues(message: "failed parsing \(flag) data: \(error)")
                    }
                }
            }
            for v in jsonValues {
                // Helm reports --set-json failures with the value only, not the cause
                do { try StrVals.parse(v, into: dest, mode: .json) } catch {
                    throw ChartError.invalidValues(message: "failed parsing --set-json data \(v)")
                }
            }
            try run(values, "--set", .typed)
            try run(stringValues, "--set-string", .string)
            try run(fileValues, "--set-file", .file({ path in
                guard let d = FileManager.default.contents(atPath: path) else {
                    throw StrVals.ParseError(description: "open \(path): no such file or directory")
                }
                return String(decoding: d, as: UTF8.self)
            }))
            try run(literalValues, "--set-literal", .literal)
            return dest.storage
        }
    }

    /// loader.MergeMaps: b's values win; nested maps merge recursively. Returns fresh maps.
    public static func mergeMaps(_ a: [String: Value], _ b: [String: Value]) -> [String: Value] {
        var out = a
        for (k, v) in b {
            if case .map(let bm) = v, case .map(let am)? = out[k] {
                out[k] = .dict(mergeMaps(am.storage, bm.storage))
            } else {
                out[k] = v
            }
        }
        return out
    }

    // MARK: coalescing (pkg/chart/common/util/coalesce.go)

    static func isTable(_ v: Value?) -> Bool { if case .map? = v { return true } else { return false } }

    /// CoalesceValues: chart defaults under user values, recursively into subcharts.
    static func coalesce(chart: Chart, values: [String: Value], merge: Bool = false) -> GoMap {
        let dest = Value.dict(values).deepCopy
        guard case .map(let d) = dest else { return GoMap() }
        coalesceInto(chart, d, prefix: "", merge: merge)
        return d
    }

    static func coalesceInto(_ chart: Chart, _ dest: GoMap, prefix: String, merge: Bool) {
        coalesceValues(chart, dest, prefix: prefix, merge: merge)
        coalesceDeps(chart, dest, prefix: prefix, merge: merge)
    }

    static func concatPrefix(_ a: String, _ b: String) -> String { a.isEmpty ? b : a + "." + b }

    static func coalesceDeps(_ chart: Chart, _ dest: GoMap, prefix: String, merge: Bool) {
        for sub in chart.subcharts {
            if dest[sub.name] == nil { dest[sub.name] = .dict([:]) }
            guard case .map(let dv)? = dest[sub.name] else { continue }
            let subPrefix = concatPrefix(prefix, chart.name)
            coalesceGlobals(dv, dest, prefix: subPrefix)
            coalesceInto(sub, dv, prefix: subPrefix, merge: merge)
        }
    }

    static func coalesceGlobals(_ dest: GoMap, _ src: GoMap, prefix: String) {
        let dg: GoMap
        switch dest["global"] {
        case nil: dg = GoMap()
        case .map(let m)?: dg = m
        default: return
        }
        let sg: GoMap
        switch src["global"] {
        case nil: sg = GoMap()
        case .map(let m)?: sg = m
        default: return
        }
        for (key, val) in sg.storage {
            if case .map(let vm) = val {
                let vv = GoMap(vm.storage)  // shallow copy as Helm's copyMap
                if let destv = dg[key] {
                    if case .map(let destvmap) = destv {
                        coalesceTables(vv, destvmap, merge: true)
                        dg[key] = .map(vv)
                    }
                } else {
                    dg[key] = .map(vv)
                }
            } else if let dv = dg[key], isTable(dv) {
                continue
            } else {
                dg[key] = val
            }
        }
        dest["global"] = .map(dg)
        _ = prefix
    }

    static func coalesceValues(_ chart: Chart, _ v: GoMap, prefix: String, merge: Bool) {
        guard case .map(let vc) = Value.dict(chart.values).deepCopy else { return }
        for (key, val) in vc.storage {
            if let value = v[key] {
                if case .null = value, !merge {
                    v[key] = nil
                } else if case .map(let dest) = value {
                    guard case .map(let src) = val else { continue }
                    let childMerge = chart.subcharts.contains { $0.name == key } ? true : merge
                    if !childMerge { cleanNils(src) }
                    coalesceTables(dest, src, merge: childMerge)
                }
            } else {
                if !merge {
                    if case .null = val { continue }
                    if case .map(let sub) = val { cleanNils(sub) }
                }
                v[key] = val
            }
        }
    }

    static func cleanNils(_ m: GoMap) {
        for (k, v) in m.storage {
            if case .null = v { m[k] = nil } else if case .map(let sub) = v { cleanNils(sub) }
        }
    }

    /// coalesceTablesFullKey: src fills dst; a null in dst deletes the key unless merging.
    @discardableResult
    static func coalesceTables(_ dst: GoMap, _ src: GoMap, merge: Bool) -> GoMap {
        var srcNonNil = Set<String>()
        for (k, v) in src.storage where !v.isNull { srcNonNil.insert(k) }
        for (k, v) in dst.storage where v.isNull { src[k] = .null }
        for (k, val) in src.storage {
            let dv = dst[k]
            if let dv, !merge, dv.isNull, srcNonNil.contains(k) {
                dst[k] = nil
            } else if dv == nil {
                dst[k] = val
            } else if case .map(let sm) = val {
                if case .map(let dm)? = dv { coalesceTables(dm, sm, merge: merge) }
            }
        }
        return dst
    }

    // MARK: dependencies (pkg/chart/v2/util/dependencies.go)

    /// Applies alias, condition and tags (removing disabled subcharts), then import-values.
    static func processDependencies(_ chart: Chart, values: [String: Value]) {
        processEnabled(chart, values: values, path: "")
        processImportValues(chart)
    }

    static func pathValue(_ m: GoMap, _ path: String) -> Value? {
        let parts = path.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        var cur: GoMap = m
        for (k, p) in parts.enumerated() {
            guard let v = cur[p] else { return nil }
            if k == parts.count - 1 { return v }
            guard case .map(let next) = v else { return nil }
            cur = next
        }
        return nil
    }

    static func processEnabled(_ chart: Chart, values: [String: Value], path: String) {
        if chart.dependencies.isEmpty && chart.metadata["dependencies"] == nil { return }
        var deps: [Chart] = []
        outer: for existing in chart.subcharts {
            for req in chart.dependencies where existing.name == req.name && versionMatches(req.version, existing.version) {
                continue outer
            }
            deps.append(existing)
        }
        for k in chart.dependencies.indices {
            let req = chart.dependencies[k]
            if let found = chart.subcharts.first(where: { $0.name == req.name && versionMatches(req.version, $0.version) }) {
                let c = found.copy()
                if !req.alias.isEmpty { c.name = req.alias }
                deps.append(c)
            }
            if !req.alias.isEmpty { chart.dependencies[k].name = req.alias }
        }
        chart.subcharts = []
        for d in deps { chart.addSubchart(d) }
        for k in chart.dependencies.indices { chart.dependencies[k].enabled = true }
        let cvals = coalesce(chart: chart, values: values)
        // tags
        if case .map(let tags)? = cvals["tags"] {
            for k in chart.dependencies.indices {
                var hasTrue = false, hasFalse = false
                for t in chart.dependencies[k].tags {
                    if case .bool(let b)? = tags[t] { if b { hasTrue = true } else { hasFalse = true } }
                }
                if !hasTrue && hasFalse { chart.dependencies[k].enabled = false }
                else if hasTrue || (!hasTrue && !hasFalse) { chart.dependencies[k].enabled = true }
            }
        }
        // conditions
        for k in chart.dependencies.indices {
            for c in chart.dependencies[k].condition.trimmingCharacters(in: .whitespaces).split(separator: ",") {
                let cond = String(c)
                if cond.isEmpty { continue }
                if case .bool(let b)? = pathValue(cvals, path + cond) {
                    chart.dependencies[k].enabled = b
                    break
                }
            }
        }
        let disabled = Set(chart.dependencies.filter { !$0.enabled }.map(\.name))
        let kept = chart.subcharts.filter { !disabled.contains($0.name) }
        chart.dependencies = chart.dependencies.filter { !disabled.contains($0.name) }
        for t in kept {
            processEnabled(t, values: cvals.storage, path: path + t.name + ".")
        }
        chart.subcharts = []
        for d in kept { chart.addSubchart(d) }
    }

    static func versionMatches(_ constraint: String, _ version: String) -> Bool {
        if constraint.isEmpty { return true }
        guard let c = SemVerConstraint(constraint), let v = SemVer(version) else { return false }
        return c.matches(v)
    }

    static func processImportValues(_ chart: Chart) {
        for d in chart.subcharts { processImportValues(d) }
        guard !chart.dependencies.isEmpty else { return }
        let cvals = coalesce(chart: chart, values: [:], merge: true)
        var b = GoMap()
        for k in chart.dependencies.indices {
            let r = chart.dependencies[k]
            var out: [Value] = []
            for iv in r.importValues {
                switch iv {
                case .map(let m):
                    let child = m["child"].map { GoFormat.v($0) } ?? "<nil>"
                    let parent = m["parent"].map { GoFormat.v($0) } ?? "<nil>"
                    out.append(.dict(["child": .string(child), "parent": .string(parent)]))
                    guard case .map(let vv)? = pathValue(cvals, r.name + "." + child) else { continue }
                    b = coalesceTables(b, pathToMap(parent, vv.storage), merge: true)
                case .string(let s):
                    let child = "exports." + s
                    out.append(.dict(["child": .string(child), "parent": .string(".")]))
                    guard case .map(let vm)? = pathValue(cvals, r.name + "." + child) else { continue }
                    b = coalesceTables(b, GoMap(vm.storage), merge: true)
                default: continue
                }
            }
            chart.dependencies[k].importValues = out
        }
        guard case .map(let copy) = Value.map(cvals).deepCopy else { return }
        chart.values = coalesceTables(copy, b, merge: true).storage
    }

    static func pathToMap(_ path: String, _ data: [String: Value]) -> GoMap {
        if path == "." { return GoMap(data) }
        var cur: Value = .dict(data)
        for p in path.split(separator: ".", omittingEmptySubsequences: false).reversed() {
            cur = .dict([String(p): cur])
        }
        if case .map(let m) = cur { return m }
        return GoMap()
    }
}

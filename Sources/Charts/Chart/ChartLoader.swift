import Foundation

/// Loads charts from directories and `.tgz` archives the way Helm's loader does: Chart.yaml (v1/v2),
/// requirements.yaml for v1, values.yaml (multi-document, merged), values.schema.json, templates/,
/// charts/ (subchart directories and archives), crds/ and other files, honouring `.helmignore`.
public enum ChartLoader {
    /// Loads a chart directory or archive.
    public static func load(path: String) throws -> Chart {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw ChartError.notFound(path: path)
        }
        if isDir.boolValue { return try loadDirectory(path) }
        guard let data = FileManager.default.contents(atPath: path) else { throw ChartError.notFound(path: path) }
        return try loadArchive(Array(data), source: path)
    }

    /// Reads every file of a chart directory (after `.helmignore`), then builds the chart.
    public static func loadDirectory(_ dir: String) throws -> Chart {
        let root = URL(fileURLWithPath: dir).standardizedFileURL.path
        var rules = HelmIgnore.defaults
        if let data = FileManager.default.contents(atPath: root + "/.helmignore") {
            rules = HelmIgnore(String(decoding: data, as: UTF8.self)).adding(defaults: true)
        }
        var files: [ChartFile] = []
        try walk(root, relative: "", rules: rules, into: &files)
        return try loadFiles(files)
    }

    private static func walk(_ root: String, relative: String, rules: HelmIgnore, into files: inout [ChartFile]) throws {
        let full = relative.isEmpty ? root : root + "/" + relative
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: full)) ?? []
        for name in entries.sorted() {
            let rel = relative.isEmpty ? name : relative + "/" + name
            let path = root + "/" + rel
            var isDir: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: path, isDirectory: &isDir)
            if isDir.boolValue {
                if rules.ignores(rel, isDirectory: true) { continue }
                try walk(root, relative: rel, rules: rules, into: &files)
            } else {
                if rules.ignores(rel, isDirectory: false) { continue }
                guard let data = FileManager.default.contents(atPath: path) else {
                    throw ChartError.invalidChart(message: "cannot read \(path)")
                }
                files.append(ChartFile(name: rel, data: Array(data)))
            }
        }
    }

    /// Loads a gzip-compressed chart archive (files under one top-level directory).
    public static func loadArchive(_ data: [UInt8], source: String) throws -> Chart {
        let entries = try TarGzip.read(data, source: source)
        var files: [ChartFile] = []
        var rules = HelmIgnore.defaults
        var stripped: [(String, [UInt8])] = []
        for (name, bytes) in entries {
            var n = name
            while n.hasPrefix("./") { n.removeFirst(2) }
            let parts = n.split(separator: "/", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let rel = String(parts[1])
            if rel.split(separator: "/").contains("..") {
                throw ChartError.invalidChart(message: "chart illegally contains content outside the base directory: \(name)")
            }
            stripped.append((rel, bytes))
        }
        if let ignore = stripped.first(where: { $0.0 == ".helmignore" }) {
            rules = HelmIgnore(String(decoding: ignore.1, as: UTF8.self)).adding(defaults: true)
        }
        for (rel, bytes) in stripped where !rules.ignores(rel, isDirectory: false) {
            files.append(ChartFile(name: rel, data: bytes))
        }
        if files.isEmpty { throw ChartError.invalidChart(message: "no files in chart archive") }
        return try loadFiles(files)
    }

    /// Builds a chart from its files (names relative to the chart root).
    public static func loadFiles(_ all: [ChartFile]) throws -> Chart {
        var metadata: [String: Value]?
        if let cf = all.first(where: { $0.name == "Chart.yaml" }) {
            do {
                guard case .map(let m) = try YAMLCodec.decode(cf.text) else {
                    throw ChartError.invalidChart(message: "cannot load Chart.yaml: error unmarshaling JSON: json: cannot unmarshal into Go value of type chart.Metadata")
                }
                metadata = m.storage
            } catch let e as YAMLCodec.SyntaxError {
                throw ChartError.invalidChart(message: "cannot load Chart.yaml: error converting YAML to JSON: \(e)")
            }
            if metadata?["apiVersion"]?.stringValue?.isEmpty ?? true { metadata?["apiVersion"] = .string("v1") }
        }
        var values: [String: Value] = [:]
        var schema: [UInt8]?
        var templates: [ChartFile] = []
        var files: [ChartFile] = []
        var subcharts: [String: [ChartFile]] = [:]
        var requirements: [String: Value]?
        for f in all {
            switch f.name {
            case "Chart.yaml", "Chart.lock": continue
            case "values.yaml":
                values = try loadValues(f.text, what: "values.yaml")
            case "values.schema.json":
                schema = f.data
            case "requirements.yaml":
                do {
                    requirements = try YAMLCodec.decode(f.text).mapValue ?? [:]
                } catch {
                    throw ChartError.invalidChart(message: "cannot load requirements.yaml: error converting YAML to JSON: \(error)")
                }
                if metadata?["apiVersion"]?.stringValue == "v1" { files.append(f) }
            case "requirements.lock":
                if metadata?["apiVersion"]?.stringValue == "v1" { files.append(f) }
            default:
                if f.name.hasPrefix("templates/") {
                    templates.append(f)
                } else if f.name.hasPrefix("charts/") {
                    if f.name.hasSuffix(".prov") { files.append(f); continue }
                    let rest = String(f.name.dropFirst("charts/".count))
                    let cname = String(rest.split(separator: "/", maxSplits: 1).first ?? "")
                    subcharts[cname, default: []].append(ChartFile(name: rest, data: f.data))
                } else {
                    files.append(f)
                }
            }
        }
        guard var md = metadata else { throw ChartError.invalidChart(message: "Chart.yaml file is missing") }
        if let req = requirements, let deps = req["dependencies"] { md["dependencies"] = deps }
        let deps = try validate(&md)
        let chart = Chart(metadata: md, dependencies: deps, values: values, schema: schema, templates: templates, files: files)
        for n in subcharts.keys.sorted() {
            let files = subcharts[n]!
            if n.hasPrefix("_") || n.hasPrefix(".") { continue }
            let sub: Chart
            do {
                if n.hasSuffix(".tgz") {
                    guard let file = files.first, file.name == n else {
                        throw ChartError.invalidChart(message: "error unpacking subchart tar in \(chart.name): expected \(n), got \(files.first?.name ?? "")")
                    }
                    sub = try loadArchive(file.data, source: n)
                } else {
                    let inner = files.compactMap { f -> ChartFile? in
                        let parts = f.name.split(separator: "/", maxSplits: 1)
                        return parts.count < 2 ? nil : ChartFile(name: String(parts[1]), data: f.data)
                    }
                    sub = try loadFiles(inner)
                }
            } catch let e as ChartError {
                throw ChartError.invalidChart(message: "error unpacking subchart \(n) in \(chart.name): \(e)")
            }
            chart.addSubchart(sub)
        }
        return chart
    }

    /// values.yaml: every YAML document merged in order (Helm's LoadValues).
    static func loadValues(_ text: String, what: String) throws -> [String: Value] {
        do {
            var out: [String: Value] = [:]
            for doc in try YAMLCodec.decodeAll(text) {
                switch doc {
                case .map(let m): out = Values.mergeMaps(out, m.storage)
                case .null: continue
                default:
                    throw ChartError.invalidChart(message: "cannot load \(what): cannot unmarshal yaml document: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal \(FunctionLibrary.jsonKind(doc)) into Go value of type map[string]interface {}")
                }
            }
            return out
        } catch let e as YAMLCodec.SyntaxError {
            throw ChartError.invalidChart(message: "cannot load \(what): cannot unmarshal yaml document: error converting YAML to JSON: \(e)")
        }
    }

    /// Helm's Metadata.Validate, with its messages.
    static func validate(_ md: inout [String: Value]) throws -> [ChartDependency] {
        func err(_ m: String) -> ChartError { .invalidChart(message: "validation: " + m) }
        let name = md["name"].map(Arg2.strval) ?? ""
        if (md["apiVersion"]?.stringValue ?? "").isEmpty { throw err("chart.metadata.apiVersion is required") }
        if md["name"] == nil || name.isEmpty { throw err("chart.metadata.name is required") }
        if name == "." || name == ".." { throw err("chart.metadata.name \(GoStrings.quote(name)) is not allowed") }
        if name.contains("/") { throw err("chart.metadata.name \(GoStrings.quote(name)) is invalid") }
        guard let version = md["version"], case let v = Arg2.strval(version), !v.isEmpty else { throw err("chart.metadata.version is required") }
        if SemVer(v) == nil { throw err("chart.metadata.version \(GoStrings.quote(v)) is invalid") }
        md["version"] = .string(v)
        if let t = md["type"]?.stringValue, !t.isEmpty, t != "application", t != "library" {
            throw err("chart.metadata.type must be application or library")
        }
        var deps: [ChartDependency] = []
        var seen = Set<String>()
        for d in md["dependencies"]?.listValue ?? [] {
            guard case .map(let m) = d else { throw err("dependencies must not contain empty or null nodes") }
            let dep = ChartDependency(m.storage)
            if !dep.alias.isEmpty && dep.alias.range(of: "^[a-zA-Z0-9_-]+$", options: .regularExpression) == nil {
                throw err("dependency \(GoStrings.quote(dep.name)) has disallowed characters in the alias")
            }
            let key = dep.alias.isEmpty ? dep.name : dep.alias
            if seen.contains(key) { throw err("more than one dependency with name or alias \(GoStrings.quote(key))") }
            seen.insert(key)
            deps.append(dep)
        }
        return deps
    }
}

/// `.helmignore` rules: gitignore-like globs, `!` negation, trailing `/` for directories.
public struct HelmIgnore: Sendable {
    struct Rule: Sendable { let pattern: String; let negate: Bool; let dirOnly: Bool; let hasSlash: Bool }
    var rules: [Rule] = []

    /// Helm always ignores hidden files directly under templates/.
    static let defaults = HelmIgnore("templates/.?*")

    public init(_ text: String) {
        for raw in text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }) {
            var line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line == "!" || line == "/" { continue }
            var negate = false
            if line.hasPrefix("!") { negate = true; line.removeFirst() }
            var dirOnly = false
            if line.hasSuffix("/") { dirOnly = true; line.removeLast() }
            if line.hasPrefix("/") { line.removeFirst() }
            rules.append(Rule(pattern: line, negate: negate, dirOnly: dirOnly, hasSlash: line.contains("/")))
        }
    }

    func adding(defaults: Bool) -> HelmIgnore {
        var c = self
        c.rules.insert(contentsOf: HelmIgnore.defaults.rules, at: 0)
        return c
    }

    public func ignores(_ path: String, isDirectory: Bool) -> Bool {
        if path == "." || path == "./" { return false }
        var ignored = false
        for r in rules {
            if r.dirOnly && !isDirectory { continue }
            let target = r.hasSlash ? path : String(path.split(separator: "/").last ?? "")
            var matched = Glob.match(r.pattern, target)
            if !matched && r.pattern.hasPrefix("**/") { matched = Glob.match(String(r.pattern.dropFirst(3)), String(path.split(separator: "/").last ?? "")) }
            if matched { ignored = !r.negate }
        }
        return ignored
    }
}

/// Go's filepath.Match: `*`, `?`, `[...]` classes, `\` escapes; `*` does not cross '/'.
enum Glob {
    static func match(_ pattern: String, _ name: String) -> Bool {
        matchHere(Array(pattern.unicodeScalars), 0, Array(name.unicodeScalars), 0)
    }

    private static func matchHere(_ p: [Unicode.Scalar], _ pi: Int, _ s: [Unicode.Scalar], _ si: Int) -> Bool {
        var pi = pi, si = si
        while pi < p.count {
            let c = p[pi]
            switch c {
            case "*":
                var next = pi + 1
                while next < p.count && p[next] == "*" { next += 1 }
                var k = si
                while true {
                    if matchHere(p, next, s, k) { return true }
                    if k >= s.count || s[k] == "/" { return false }
                    k += 1
                }
            case "?":
                if si >= s.count || s[si] == "/" { return false }
                pi += 1; si += 1
            case "[":
                guard si < s.count, s[si] != "/" else { return false }
                var k = pi + 1
                var negate = false
                if k < p.count && (p[k] == "^" || p[k] == "!") { negate = true; k += 1 }
                var ok = false
                var first = true
                while k < p.count && (p[k] != "]" || first) {
                    first = false
                    var lo = p[k]
                    if lo == "\\" && k + 1 < p.count { k += 1; lo = p[k] }
                    var hi = lo
                    if k + 2 < p.count && p[k + 1] == "-" && p[k + 2] != "]" { hi = p[k + 2]; k += 2 }
                    if s[si].value >= lo.value && s[si].value <= hi.value { ok = true }
                    k += 1
                }
                if k >= p.count { return false }
                if ok == negate { return false }
                pi = k + 1; si += 1
            case "\\":
                pi += 1
                guard pi < p.count, si < s.count, p[pi] == s[si] else { return false }
                pi += 1; si += 1
            default:
                guard si < s.count, s[si] == c else { return false }
                pi += 1; si += 1
            }
        }
        return si == s.count
    }
}

import Foundation
import Yams

/// Reading and checking `zarf.yaml`: YAML syntax, Zarf's schema (with file:line:key errors) and the
/// naming rules Zarf's loader enforces. `load(directory:options:)` (in DefinitionResolver.swift) then
/// resolves imports, filters, flavors and templates into the definition the builder uses.
public enum PackageDefinition {
    /// The definition's file name inside a package directory.
    public static let fileName = "zarf.yaml"
    /// Package and component names: `^[a-z0-9][a-z0-9\-]*$`.
    public static let namePattern = "^[a-z0-9][a-z0-9\\-]*$"
    /// Variable and constant names: `^[A-Z0-9_]+$`.
    public static let variablePattern = "^[A-Z0-9_]+$"

    /// The outcome of `lint`: errors make the definition invalid; warnings (deprecated keys, templates
    /// without values) do not.
    public struct LintReport: Sendable {
        public var errors: [DefinitionIssue]
        public var warnings: [DefinitionIssue]
        public var isValid: Bool { errors.isEmpty }
    }

    /// Parses YAML text into a node, turning syntax errors into `PackagingError.yamlSyntax` with the line.
    public static func parseNode(_ text: String, file: String) throws -> Node {
        do {
            guard let node = try Yams.compose(yaml: text) else {
                throw PackagingError.yamlSyntax(file: file, line: nil, message: "the document is empty")
            }
            return node
        } catch let e as YamlError {
            var line: Int?
            var message = "\(e)"
            switch e {
            case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _):
                line = mark.line
                message = problem
            case .composer(_, let problem, let mark, _):
                line = mark.line
                message = problem
            case .duplicatedKeysInMapping(let dups, let context):
                line = context.mark.line
                message = "duplicate key \(dups.joined(separator: ", "))"
            default: break
            }
            throw PackagingError.yamlSyntax(file: file, line: line, message: message)
        }
    }

    /// Checks definition text: schema, then decoding, then naming rules. Never throws for a bad
    /// definition; the report lists every problem.
    public static func lint(text: String, file: String = fileName) throws -> LintReport {
        let node: Node
        do { node = try parseNode(text, file: file) } catch let e as PackagingError {
            if case .yamlSyntax(let f, let l, let m) = e {
                return LintReport(errors: [DefinitionIssue(file: f, line: l, path: "", message: "invalid YAML: \(m)")], warnings: [])
            }
            throw e
        }
        var validator = try SchemaValidator.zarfV1Alpha1()
        let schema = validator.validate(node, file: file)
        var report = LintReport(errors: schema.errors, warnings: schema.warnings)
        guard schema.errors.isEmpty else { return report }
        let pkg: ZarfPackage
        do { pkg = try YAMLDecoder().decode(ZarfPackage.self, from: node) } catch {
            report.errors.append(DefinitionIssue(file: file, line: nil, path: "", message: "cannot decode: \(error)"))
            return report
        }
        report.errors += semanticIssues(pkg, node: node, file: file)
        for (key, line) in templateKeys(in: text) {
            report.warnings.append(DefinitionIssue(file: file, line: line, path: "", message: "package template ###ZARF_PKG_TMPL_\(key)### is filled at create time (--set \(key)=…)"))
        }
        return report
    }

    /// Lints `directory/zarf.yaml`.
    public static func lint(directory: String) throws -> LintReport {
        let path = directory + "/" + fileName
        return try lint(text: try readText(path), file: path)
    }

    /// Parses and validates definition text into the model; any schema or naming problem throws
    /// `PackagingError.invalidDefinition` listing every issue.
    public static func parse(text: String, file: String = fileName) throws -> ZarfPackage {
        let node = try parseNode(text, file: file)
        var validator = try SchemaValidator.zarfV1Alpha1()
        let schema = validator.validate(node, file: file)
        guard schema.errors.isEmpty else { throw PackagingError.invalidDefinition(schema.errors) }
        let pkg: ZarfPackage
        do { pkg = try YAMLDecoder().decode(ZarfPackage.self, from: node) } catch {
            throw PackagingError.invalidDefinition([DefinitionIssue(file: file, line: nil, path: "", message: "cannot decode: \(error)")])
        }
        let issues = semanticIssues(pkg, node: node, file: file)
        guard issues.isEmpty else { throw PackagingError.invalidDefinition(issues) }
        return pkg
    }

    static func readText(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PackagingError.io(path: path, message: "cannot read the file (does it exist?)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw PackagingError.io(path: path, message: "not UTF-8 text")
        }
        return text
    }

    /// The `###ZARF_PKG_TMPL_<KEY>###` keys in `text` with the line of their first use, in order.
    public static func templateKeys(in text: String) -> [(String, Int)] {
        var seen = Set<String>()
        var out: [(String, Int)] = []
        let re = try! NSRegularExpression(pattern: "###ZARF_PKG_(?:TMPL|VAR)_([A-Z0-9_]+)###")
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let s = String(line)
            for m in re.matches(in: s, range: NSRange(s.startIndex..., in: s)) {
                let key = String(s[Range(m.range(at: 1), in: s)!])
                if seen.insert(key).inserted { out.append((key, i + 1)) }
            }
        }
        return out
    }

    /// Whether `name` is safe as a path element: not empty, not `.`/`..`, no `/` or `\`.
    public static func isSafeName(_ name: String) -> Bool {
        !name.isEmpty && name != "." && name != ".." && !name.contains("/") && !name.contains("\\") && !name.contains("\0")
    }

    static func matches(_ s: String, _ pattern: String) -> Bool {
        s.range(of: pattern, options: .regularExpression) != nil
    }

    /// The line of the node at a key path such as `components[1].charts[0].name`.
    static func line(of path: [PathElement], in node: Node) -> Int? {
        var current: Node? = node
        for el in path {
            switch el {
            case .key(let k): current = current?.mapping?[k]
            case .index(let i):
                if case .sequence(let s)? = current, i < s.count { current = s[i] } else { current = nil }
            }
        }
        return current?.mark?.line ?? node.mark?.line
    }

    enum PathElement { case key(String), index(Int) }

    /// Rules beyond the schema that Zarf's loader applies (names, duplicates, imports, charts).
    static func semanticIssues(_ pkg: ZarfPackage, node: Node, file: String) -> [DefinitionIssue] {
        var issues: [DefinitionIssue] = []
        func add(_ path: [PathElement], _ message: String) {
            let text = path.reduce("") { acc, el in
                switch el {
                case .key(let k): return acc.isEmpty ? k : acc + "." + k
                case .index(let i): return acc + "[\(i)]"
                }
            }
            issues.append(DefinitionIssue(file: file, line: line(of: path, in: node), path: text, message: message))
        }
        let hasTemplate = { (s: String) in s.contains("###ZARF_PKG_") }

        if let name = pkg.metadata?.name, !hasTemplate(name) {
            if !matches(name, namePattern) || !isSafeName(name) {
                add([.key("metadata"), .key("name")], "\"\(name)\" is not a valid package name (lowercase letters, digits and -, starting with a letter or digit)")
            }
        } else if pkg.metadata == nil, pkg.kind == .packageConfig {
            add([.key("metadata")], "missing: a package needs metadata.name")
        }
        if let v = pkg.metadata?.version, !isSafeName(v), !v.isEmpty {
            add([.key("metadata"), .key("version")], "\"\(v)\" is not a valid version (no .., / or \\)")
        }
        var componentNames: [String: Int] = [:]
        for (ci, c) in pkg.components.enumerated() {
            let cp: [PathElement] = [.key("components"), .index(ci)]
            if !hasTemplate(c.name) && (!matches(c.name, namePattern) || !isSafeName(c.name)) {
                add(cp + [.key("name")], "\"\(c.name)\" is not a valid component name")
            }
            // Components of different flavors or architectures may share a name.
            let filterKey = c.name + "|" + (c.only?.flavor ?? "") + "|" + (c.only?.cluster?.architecture ?? "")
            if let first = componentNames[filterKey] {
                add(cp + [.key("name")], "duplicate component name \"\(c.name)\" (also components[\(first)])")
            } else { componentNames[filterKey] = ci }
            if c.required == true && c.default == true {
                add(cp + [.key("default")], "a component cannot be both required and default")
            }
            var charts = Set<String>()
            for (i, chart) in (c.charts ?? []).enumerated() {
                let p = cp + [.key("charts"), .index(i)]
                if !isSafeName(chart.name) { add(p + [.key("name")], "unsafe chart name \"\(chart.name)\" (must not be .. or contain / or \\)") }
                if !charts.insert(chart.name).inserted { add(p + [.key("name")], "duplicate chart name \"\(chart.name)\" in component \(c.name)") }
                if let v = chart.version, !v.isEmpty, !isSafeName(v) { add(p + [.key("version")], "unsafe chart version \"\(v)\"") }
                let sources = [chart.url, chart.localPath].compactMap { $0 }.filter { !$0.isEmpty }
                // An importing component may override just a chart's namespace or values.
                if sources.count != 1 && c.import == nil { add(p, "a chart needs exactly one of url or localPath") }
                if chart.url != nil, chart.localPath == nil, (chart.version ?? "").isEmpty,
                   !(chart.url ?? "").hasPrefix("oci://"), chart.gitPath == nil, !(chart.url ?? "").contains(".git") {
                    add(p + [.key("version")], "a chart from a Helm repository needs a version")
                }
                if let rn = chart.releaseName, !rn.isEmpty, !isSafeName(rn) { add(p + [.key("releaseName")], "unsafe release name \"\(rn)\"") }
            }
            var manifests = Set<String>()
            for (i, m) in (c.manifests ?? []).enumerated() {
                let p = cp + [.key("manifests"), .index(i)]
                if !isSafeName(m.name) { add(p + [.key("name")], "unsafe manifest name \"\(m.name)\" (must not be .. or contain / or \\)") }
                if !manifests.insert(m.name).inserted { add(p + [.key("name")], "duplicate manifest name \"\(m.name)\" in component \(c.name)") }
                if (m.files ?? []).isEmpty && (m.kustomizations ?? []).isEmpty && c.import == nil {
                    add(p, "a manifest needs at least one file or kustomization")
                }
            }
            if let imp = c.import {
                let path = imp.path ?? "", url = imp.url ?? ""
                if path.isEmpty == url.isEmpty {
                    add(cp + [.key("import")], path.isEmpty ? "an import needs a path or a url" : "an import takes a path or a url, not both")
                }
                if hasTemplate(path) || hasTemplate(url) { add(cp + [.key("import")], "package templates are not supported in import path or url") }
                if path.hasPrefix("/") { add(cp + [.key("import"), .key("path")], "an import path must be relative") }
            }
            for (i, f) in (c.files ?? []).enumerated() where f.target.isEmpty {
                add(cp + [.key("files"), .index(i), .key("target")], "a file needs a target")
            }
        }
        var varNames = Set<String>()
        for (i, v) in (pkg.variables ?? []).enumerated() {
            if !matches(v.name, variablePattern) { add([.key("variables"), .index(i), .key("name")], "\"\(v.name)\" is not a valid variable name (^[A-Z0-9_]+$)") }
            if !varNames.insert(v.name).inserted { add([.key("variables"), .index(i), .key("name")], "duplicate variable \"\(v.name)\"") }
        }
        var constNames = Set<String>()
        for (i, v) in (pkg.constants ?? []).enumerated() {
            if !matches(v.name, variablePattern) { add([.key("constants"), .index(i), .key("name")], "\"\(v.name)\" is not a valid constant name (^[A-Z0-9_]+$)") }
            if !constNames.insert(v.name).inserted { add([.key("constants"), .index(i), .key("name")], "duplicate constant \"\(v.name)\"") }
            if let pattern = v.pattern, !hasTemplate(v.value), !matches(v.value, pattern) {
                add([.key("constants"), .index(i), .key("value")], "value does not match its pattern \(pattern)")
            }
        }
        return issues
    }
}

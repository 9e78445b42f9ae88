import Foundation
import OutpostCore

/// How to render: the release, the target cluster, and `helm template`'s output switches.
public struct RenderOptions: Sendable {
    public var releaseName: String = "release-name"
    /// A template for the release name (`--name-template`), rendered with the function library.
    public var nameTemplate: String?
    public var namespace: String = "default"
    public var revision: Int = 1
    public var isUpgrade: Bool = false
    /// Kubernetes version for `.Capabilities` (Helm's test default is 1.20.0).
    public var kubeVersion: String = "1.20.0"
    public var apiVersions: [String] = []
    public var includeCRDs: Bool = false
    public var skipTests: Bool = false
    public var showOnly: [String] = []
    /// Fixed clock and seeded randomness for reproducible output.
    public var deterministic: Bool = false
    public var skipSchemaValidation: Bool = false
    /// Called with each rendering phase's name and duration in seconds (`--timings`), for profiling.
    public var phaseTimer: (@Sendable (String, Double) -> Void)?
    public init() {}

    /// Runs `body` as a named phase, reporting its duration to `phaseTimer`.
    public func phase<T>(_ name: String, _ body: () throws -> T) rethrows -> T {
        guard let phaseTimer else { return try body() }
        let start = DispatchTime.now().uptimeNanoseconds
        defer { phaseTimer(name, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9) }
        return try body()
    }
}

/// The result of rendering: Helm's release pieces.
public struct RenderedRelease: Sendable {
    public let releaseName: String
    public let crds: [(filename: String, content: String)]
    public let manifests: [Manifest]
    public let hooks: [Hook]
    public let notes: String
}

/// Renders charts natively with Helm's semantics; the deploy flow's entry point.
public enum ChartRenderer {
    /// Loads, configures and renders a chart.
    public static func render(chartPath: String, values: Values.Options, options: RenderOptions) throws -> RenderedRelease {
        let chart = try options.phase("load chart") { try ChartLoader.load(path: chartPath) }
        let user = try options.phase("user values") { try values.merged() }
        return try render(chart: chart, userValues: user, options: options)
    }

    /// Renders a loaded chart with already-merged user values.
    public static func render(chart: Chart, userValues: [String: Value], options: RenderOptions) throws -> RenderedRelease {
        if chart.isLibrary { throw ChartError.invalidChart(message: "library charts are not installable") }
        if let t = chart.metadata["type"]?.stringValue, !t.isEmpty, t != "application" {
            throw ChartError.invalidChart(message: "\(t) charts are not installable")
        }
        guard let caps = Capabilities(kubeVersion: options.kubeVersion, extraAPIVersions: options.apiVersions) else {
            throw ChartError.invalidValues(message: "invalid kube version '\(options.kubeVersion)': invalid semantic version")
        }
        let fnOptions = RenderOptionsForFunctions(deterministic: options.deterministic)
        var releaseName = options.releaseName
        if let nt = options.nameTemplate {
            let set = TemplateSet(functions: FunctionLibrary.standard)
            set.functionOptions = fnOptions
            do {
                try set.parse(name: "name-template", text: nt)
                releaseName = try set.execute(name: "name-template", data: .null)
            } catch {
                throw ChartError.template(message: "\(error)")
            }
        }
        try validateReleaseName(releaseName)
        let constraint = chart.kubeVersionConstraint
        if !constraint.isEmpty {
            let v = SemVer(caps.kubeVersion)
            if let c = SemVerConstraint(constraint), let v, !c.matches(v) {
                throw ChartError.invalidChart(message: "chart requires kubeVersion: \(constraint) which is incompatible with Kubernetes \(caps.kubeVersion)")
            }
        }
        let missing = chart.dependencies.filter { d in !chart.subcharts.contains { $0.name == d.name } }.map(\.name)
        if !missing.isEmpty {
            throw ChartError.invalidChart(message: "an error occurred while checking for chart dependencies. You may need to run 'helm dependency build' to fetch missing dependencies: found in Chart.yaml, but missing in charts/ directory: " + missing.joined(separator: ", "))
        }
        Values.processDependencies(chart, values: userValues)
        let vals = options.phase("coalesce values") { Values.coalesce(chart: chart, values: userValues) }
        if !options.skipSchemaValidation {
            let errors = options.phase("schema validation") { SchemaValidator.validate(chart: chart, values: vals) }
            if !errors.isEmpty {
                throw ChartError.schema(message: "values don't meet the specifications of the schema(s) in the following chart(s):\n" + errors)
            }
        }
        let top = GoMap([
            "Chart": chart.templateMetadata,
            "Capabilities": .object(caps),
            "Release": .dict(["Name": .string(releaseName), "Namespace": .string(options.namespace),
                "IsUpgrade": .bool(options.isUpgrade), "IsInstall": .bool(!options.isUpgrade),
                "Revision": .int(options.revision), "Service": .string("Helm")]),
            "Values": .map(vals),
        ])
        var files = try Engine.render(chart: chart, top: top, functionOptions: fnOptions, options: options)
        var notes = ""
        let rootNotes = chart.name + "/templates/NOTES.txt"
        for k in files.keys.sorted() where k.hasSuffix("NOTES.txt") {
            if k == rootNotes { notes = files[k]! }
            files[k] = nil
        }
        let (hooks, manifests) = try options.phase("split and sort manifests") { try ManifestSorter.sort(files: files) }
        let crds: [(filename: String, content: String)] = options.includeCRDs ? chart.crdObjects.map { (filename: $0.filename, content: $0.file.text) } : []
        return RenderedRelease(releaseName: releaseName, crds: crds, manifests: manifests, hooks: hooks, notes: notes)
    }

    /// Helm's release name rule (DNS-1123 subdomain-ish, at most 53 characters).
    static func validateReleaseName(_ name: String) throws {
        let ok = name.count <= 53 && name.range(of: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$", options: .regularExpression) != nil
        if !ok { throw ChartError.invalidValues(message: "release name \"\(name)\": invalid release name, must match regex ^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$ and the length must not be longer than 53") }
    }

    /// `helm template`'s text: CRDs (if asked), manifests, then hooks; `--show-only` selects by path.
    public static func templateOutput(_ r: RenderedRelease, options: RenderOptions) throws -> String {
        var manifest = ""
        for c in r.crds { manifest += "---\n# Source: \(c.filename)\n\(c.content)\n" }
        for m in r.manifests { manifest += "---\n# Source: \(m.path)\n\(m.content)\n" }
        var out = manifest.trimmingCharacters(in: .whitespacesAndNewlines) + "\n"
        for h in r.hooks {
            if options.skipTests && h.isTest { continue }
            out += "---\n# Source: \(h.path)\n\(h.manifest)\n"
        }
        guard !options.showOnly.isEmpty else { return out }
        let docs = ManifestSorter.split(out)
        var selected: [String] = []
        for f in options.showOnly {
            var missing = true
            for d in docs {
                guard let r = d.range(of: "# Source: "), d[r.upperBound...].contains("/") else { continue }
                let line = d[r.upperBound...].prefix { $0 != "\n" }
                guard let slash = line.firstIndex(of: "/"), line.startIndex < slash else { continue }
                let name = String(line[line.index(after: slash)...])
                if !Glob.match(f, name) { continue }
                selected.append(d)
                missing = false
            }
            if missing { throw ChartError.templateNotFound(path: f) }
        }
        return selected.map { "---\n\($0)\n" }.joined()
    }

    /// The deploy flow's API: render a chart to Kubernetes objects (hooks and tests excluded,
    /// CRDs first when `includeCRDs`), each as OutpostCore's JSONValue.
    public static func objects(chartPath: String, values: Values.Options, options: RenderOptions) throws -> [JSONValue] {
        let r = try render(chartPath: chartPath, values: values, options: options)
        var out: [JSONValue] = []
        var docs: [(String, String)] = r.crds.map { ($0.filename, $0.content) }
        docs += r.manifests.map { ($0.path, $0.content) }
        for (path, text) in docs {
            for doc in ManifestSorter.split(text) {
                let v: Value
                do { v = try YAMLCodec.decode(doc) } catch {
                    throw ChartError.output(message: "YAML parse error on \(path): \(error)")
                }
                if case .null = v { continue }
                out.append(try v.json(at: path))
            }
        }
        return out
    }
}

extension Value {
    /// Converts to the shared JSON representation (objects must be plain data).
    public func json(at path: String = "") throws -> JSONValue {
        switch self {
        case .null: return .null
        case .bool(let b): return .bool(b)
        case .int(let i): return .number(Double(i))
        case .float(let f): return .number(f)
        case .string(let s): return .string(s)
        case .bytes(let b): return .string(Data(b).base64EncodedString())
        case .list(let l): return .array(try l.map { try $0.json(at: path) })
        case .map(let m): return .object(try m.storage.mapValues { try $0.json(at: path) })
        case .object(let o): throw ChartError.output(message: "\(path): a \(o.goTypeName) cannot be converted to JSON")
        }
    }

    /// Converts from the shared JSON representation (numbers become float64, as Helm decodes JSON).
    public init(json: JSONValue) {
        switch json {
        case .null: self = .null
        case .bool(let b): self = .bool(b)
        case .number(let n): self = .float(n)
        case .string(let s): self = .string(s)
        case .array(let a): self = .list(a.map { Value(json: $0) })
        case .object(let o): self = .dict(o.mapValues { Value(json: $0) })
        }
    }
}

import Foundation

/// Everything that can go wrong loading, configuring or rendering a chart, worded as Helm words it.
public enum ChartError: Error, CustomStringConvertible, Sendable {
    /// The chart path does not exist or cannot be read.
    case notFound(path: String)
    /// A file of the chart is malformed (`Chart.yaml`, `values.yaml`, ...): Helm's message.
    case invalidChart(message: String)
    /// A `--values` file, `--set` expression or `--set-file` is malformed.
    case invalidValues(message: String)
    /// values.schema.json rejected the values.
    case schema(message: String)
    /// A template failed to parse or execute (Helm's reformatted message).
    case template(message: String)
    /// A rendered manifest is not valid YAML, or another output problem.
    case output(message: String)
    /// `--show-only` named a template the chart does not render.
    case templateNotFound(path: String)

    public var description: String {
        switch self {
        case .notFound(let p): return "path \"\(p)\" not found"
        case .templateNotFound(let p): return "could not find template \(p) in chart"
        case .invalidChart(let m), .invalidValues(let m), .schema(let m), .template(let m), .output(let m): return m
        }
    }
}

/// A file inside a chart (path relative to the chart root, with '/' separators).
public struct ChartFile: Sendable {
    public let name: String
    public let data: [UInt8]
    public init(name: String, data: [UInt8]) { self.name = name; self.data = data }
    public var text: String { String(decoding: data, as: UTF8.self) }
}

/// A dependency entry of Chart.yaml (or requirements.yaml for apiVersion v1 charts).
public struct ChartDependency: Sendable {
    public var name: String
    public var version: String
    public var repository: String
    public var condition: String
    public var tags: [String]
    public var enabled: Bool
    public var importValues: [Value]
    public var alias: String

    init(_ m: [String: Value]) {
        name = m["name"]?.stringValue ?? ""
        version = m["version"].map(Arg2.strval) ?? ""
        repository = m["repository"]?.stringValue ?? ""
        condition = m["condition"]?.stringValue ?? ""
        tags = m["tags"]?.listValue?.map(Arg2.strval) ?? []
        enabled = m["enabled"].map { $0.isTruthy } ?? false
        importValues = m["import-values"]?.listValue ?? []
        alias = m["alias"]?.stringValue ?? ""
    }

    var asValue: Value {
        var d: [String: Value] = ["name": .string(name), "version": .string(version), "repository": .string(repository)]
        if !condition.isEmpty { d["condition"] = .string(condition) }
        if !tags.isEmpty { d["tags"] = .list(tags.map { .string($0) }) }
        if enabled { d["enabled"] = .bool(true) }
        if !importValues.isEmpty { d["import-values"] = .list(importValues) }
        if !alias.isEmpty { d["alias"] = .string(alias) }
        return .dict(d)
    }
}

/// A loaded chart: metadata, default values, templates, other files, and its subcharts.
/// A class because subcharts know their parent (for `ChartFullPath`) as Helm's charts do.
public final class Chart: @unchecked Sendable {
    /// Chart.yaml as decoded (field names as in the file).
    public var metadata: [String: Value]
    public var dependencies: [ChartDependency]
    public var values: [String: Value]
    public var schema: [UInt8]?
    public var templates: [ChartFile]
    public var files: [ChartFile]
    public var subcharts: [Chart] = []
    public weak var parent: Chart?

    init(metadata: [String: Value], dependencies: [ChartDependency], values: [String: Value], schema: [UInt8]?, templates: [ChartFile], files: [ChartFile]) {
        self.metadata = metadata; self.dependencies = dependencies; self.values = values
        self.schema = schema; self.templates = templates; self.files = files
    }

    public var name: String {
        get { metadata["name"]?.stringValue ?? "" }
        set { metadata["name"] = .string(newValue) }
    }
    public var version: String { metadata["version"].map(Arg2.strval) ?? "" }
    public var apiVersion: String { metadata["apiVersion"]?.stringValue ?? "v1" }
    public var isLibrary: Bool { metadata["type"]?.stringValue == "library" }
    public var kubeVersionConstraint: String { metadata["kubeVersion"]?.stringValue ?? "" }
    public var isRoot: Bool { parent == nil }
    public var fullPath: String { parent.map { $0.fullPath + "/charts/" + name } ?? name }

    func addSubchart(_ c: Chart) {
        c.parent = self
        subcharts.append(c)
    }

    /// A copy of this chart node (sharing files), used when an alias renames a dependency.
    func copy() -> Chart {
        let c = Chart(metadata: metadata, dependencies: dependencies, values: values, schema: schema, templates: templates, files: files)
        for s in subcharts { c.addSubchart(s.copy()) }
        return c
    }

    /// `.Chart` in templates: Helm's Metadata with Go field names, plus IsRoot.
    var templateMetadata: Value {
        func s(_ k: String) -> Value { .string(metadata[k].map(Arg2.strval) ?? "") }
        func list(_ k: String) -> Value { metadata[k]?.listValue.map { .list($0) } ?? .null }
        var d: [String: Value] = [
            "Name": s("name"), "Home": s("home"), "Version": s("version"), "Description": s("description"),
            "Icon": s("icon"), "APIVersion": s("apiVersion"), "Condition": s("condition"), "Tags": s("tags"),
            "AppVersion": s("appVersion"), "Deprecated": .bool(metadata["deprecated"]?.isTruthy ?? false),
            "KubeVersion": s("kubeVersion"), "Type": s("type"), "Sources": list("sources"), "Keywords": list("keywords"),
            "Maintainers": list("maintainers"), "Annotations": metadata["annotations"] ?? .null,
            "IsRoot": .bool(isRoot),
        ]
        d["Dependencies"] = dependencies.isEmpty ? .null : .list(dependencies.map(\.asValue))
        return .dict(d)
    }

    /// CRD files (crds/*.yaml|yml|json) of this chart and its subcharts, in Helm's order.
    public var crdObjects: [(filename: String, file: ChartFile)] {
        var out: [(String, ChartFile)] = []
        for f in files where f.name.hasPrefix("crds/") && [".yaml", ".yml", ".json"].contains(where: { f.name.hasSuffix($0) }) {
            out.append((fullPath + "/" + f.name, f))
        }
        for s in subcharts { out.append(contentsOf: s.crdObjects) }
        return out
    }
}

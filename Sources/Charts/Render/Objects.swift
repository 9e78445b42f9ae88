import Foundation

/// An object `range` can iterate like a Go map (sorted keys), e.g. `.Files.Glob`.
public protocol RangeableObject: TemplateObject {
    var entries: [(String, Value)] { get }
}

/// `.Files`: the chart's non-template files, with Helm's accessors (Get, GetBytes, Glob, Lines, AsConfig, AsSecrets).
struct FilesObject: RangeableObject {
    let files: [String: [UInt8]]

    var goTypeName: String { "engine.files" }
    var goKind: String { "map" }
    var goDescription: String { "map[" + files.keys.sorted().map { "\($0):\(GoFormat.v(.bytes(files[$0]!)))" }.joined(separator: " ") + "]" }
    var entries: [(String, Value)] { files.keys.sorted().map { ($0, .bytes(files[$0]!)) } }
    func field(_ name: String) -> Value? { nil }

    func method(_ name: String) -> TemplateFunction? {
        let files = self.files
        switch name {
        case "Get":
            return { _, a in
                guard a.count == 1 else { throw GoTypeError("wrong number of args for Get: want 1 got \(a.count)") }
                return .string(files[try Arg2.string(a[0])].map { String(decoding: $0, as: UTF8.self) } ?? "")
            }
        case "GetBytes":
            return { _, a in
                guard a.count == 1 else { throw GoTypeError("wrong number of args for GetBytes: want 1 got \(a.count)") }
                return .bytes(files[try Arg2.string(a[0])] ?? [])
            }
        case "Glob":
            return { _, a in
                guard a.count == 1 else { throw GoTypeError("wrong number of args for Glob: want 1 got \(a.count)") }
                let pattern = try Arg2.string(a[0])
                return .object(FilesObject(files: files.filter { FilesObject.globMatch(pattern, $0.key) }))
            }
        case "Lines":
            return { _, a in
                guard a.count == 1 else { throw GoTypeError("wrong number of args for Lines: want 1 got \(a.count)") }
                guard let d = files[try Arg2.string(a[0])], !d.isEmpty else { return .list([]) }
                var s = String(decoding: d, as: UTF8.self)
                if s.hasSuffix("\n") { s.removeLast() }
                return .list(s.components(separatedBy: "\n").map { .string($0) })
            }
        case "AsConfig":
            return { _, _ in
                if files.isEmpty { return .string("") }
                var m: [String: Value] = [:]
                for (k, v) in files { m[MiscPath.base(k)] = .string(String(decoding: v, as: UTF8.self)) }
                return .string(FilesObject.toYAML(.dict(m)))
            }
        case "AsSecrets":
            return { _, _ in
                if files.isEmpty { return .string("") }
                var m: [String: Value] = [:]
                for (k, v) in files { m[MiscPath.base(k)] = .string(Data(v).base64EncodedString()) }
                return .string(FilesObject.toYAML(.dict(m)))
            }
        default: return nil
        }
    }

    static func toYAML(_ v: Value) -> String {
        guard let s = try? YAMLCodec.encode(v) else { return "" }
        return s.hasSuffix("\n") ? String(s.dropLast()) : s
    }

    /// gobwas/glob with '/' as separator: `*` stays within a path segment, `**` crosses them.
    static func globMatch(_ pattern: String, _ name: String) -> Bool {
        var regex = "^"
        let p = Array(pattern)
        var i = 0
        var braces = 0  // `,` separates alternatives only inside `{...}`
        var inClass = false
        while i < p.count {
            let c = p[i]
            if inClass && c != "]" && c != "\\" {
                regex += c == "^" || c == "[" ? "\\" + String(c) : String(c)
                i += 1
                continue
            }
            switch c {
            case "*":
                if i + 1 < p.count && p[i + 1] == "*" { regex += ".*"; i += 1 } else { regex += "[^/]*" }
            case "?": regex += "[^/]"
            case "{":
                braces += 1
                regex += "(?:"
            case "}" where braces > 0:
                braces -= 1
                regex += ")"
            case "," where braces > 0: regex += "|"
            case "[":
                regex += "["
                inClass = true
                if i + 1 < p.count && p[i + 1] == "!" { regex += "^"; i += 1 }
            case "]" where inClass:
                inClass = false
                regex += "]"
            case "\\":
                if i + 1 < p.count { i += 1; regex += NSRegularExpression.escapedPattern(for: String(p[i])) }
            default: regex += NSRegularExpression.escapedPattern(for: String(c))
            }
            i += 1
        }
        regex += "$"
        return name.range(of: regex, options: .regularExpression) != nil
    }
}

enum MiscPath {
    static func base(_ p: String) -> String { SprigMisc.pathBase(p) }
}

/// `.Capabilities`: the target cluster's Kubernetes version and API versions, and Helm's version.
public struct Capabilities: TemplateObject {
    public var kubeVersion: String  // "v1.20.0"
    public var major: String
    public var minor: String
    public var apiVersions: [String]
    public static let helmVersion = "v4.0.0"

    /// Parses a Kubernetes version ("1.30", "v1.30.2"), as `--kube-version` accepts it.
    public init?(kubeVersion: String, extraAPIVersions: [String] = []) {
        var s = kubeVersion
        if !s.hasPrefix("v") { s = "v" + s }
        guard let v = SemVer(s) else { return nil }
        self.kubeVersion = "v\(v.major).\(v.minor).\(v.patch)" + (v.prerelease.isEmpty ? "" : "-" + v.prerelease) + (v.metadata.isEmpty ? "" : "+" + v.metadata)
        self.major = String(v.major)
        self.minor = String(v.minor)
        self.apiVersions = Capabilities.defaultAPIVersions + extraAPIVersions
    }

    public var goTypeName: String { "*common.Capabilities" }
    public var goDescription: String { "&{\(kubeVersion) \(apiVersions) \(Capabilities.helmVersion)}" }

    public func field(_ name: String) -> Value? {
        switch name {
        case "KubeVersion": return .object(KubeVersionObject(version: kubeVersion, major: major, minor: minor))
        case "APIVersions": return .object(VersionSetObject(versions: apiVersions))
        case "HelmVersion":
            return .dict(["Version": .string(Capabilities.helmVersion), "GitCommit": .string(""), "GitTreeState": .string(""), "GoVersion": .string("")])
        default: return nil
        }
    }

    /// Group/versions a current Kubernetes serves (Helm derives its default set from client-go).
    public static let defaultAPIVersions: [String] = [
        "v1", "admissionregistration.k8s.io/v1", "admissionregistration.k8s.io/v1beta1", "apiextensions.k8s.io/v1",
        "apiregistration.k8s.io/v1", "apps/v1", "authentication.k8s.io/v1", "authorization.k8s.io/v1",
        "autoscaling/v1", "autoscaling/v2", "batch/v1", "certificates.k8s.io/v1", "coordination.k8s.io/v1",
        "discovery.k8s.io/v1", "events.k8s.io/v1", "flowcontrol.apiserver.k8s.io/v1", "networking.k8s.io/v1",
        "node.k8s.io/v1", "policy/v1", "rbac.authorization.k8s.io/v1", "scheduling.k8s.io/v1", "storage.k8s.io/v1",
        "resource.k8s.io/v1",
    ]
}

struct KubeVersionObject: TemplateObject {
    let version: String, major: String, minor: String
    var goTypeName: String { "common.KubeVersion" }
    var goDescription: String { version }
    func field(_ name: String) -> Value? {
        switch name {
        case "Version": return .string(version)
        case "Major": return .string(major)
        case "Minor": return .string(minor)
        default: return nil
        }
    }
    func method(_ name: String) -> TemplateFunction? {
        let v = version
        switch name {
        case "String", "GitVersion": return { _, _ in .string(v) }
        default: return nil
        }
    }
}

struct VersionSetObject: TemplateObject {
    let versions: [String]
    var goTypeName: String { "common.VersionSet" }
    var goKind: String { "slice" }
    var goDescription: String { "[" + versions.joined(separator: " ") + "]" }
    func field(_ name: String) -> Value? { nil }
    func method(_ name: String) -> TemplateFunction? {
        let vs = versions
        guard name == "Has" else { return nil }
        return { _, a in
            guard a.count == 1 else { throw GoTypeError("wrong number of args for Has: want 1 got \(a.count)") }
            return .bool(vs.contains(try Arg2.string(a[0])))
        }
    }
}

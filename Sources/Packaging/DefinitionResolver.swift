import Foundation
import OutpostCore
import Yams
#if canImport(Glibc)
import Glibc
#endif

/// What `PackageDefinition.load` needs to resolve a definition for one build.
public struct DefinitionOptions: Sendable {
    /// Target architecture when `metadata.architecture` is not set (Zarf's rule: the definition's
    /// architecture wins); nil means the host's.
    public var architecture: String?
    /// The flavor to build (`only.flavor`); nil keeps only components without a flavor.
    public var flavor: String?
    /// `--set KEY=VALUE` values for `###ZARF_PKG_TMPL_<KEY>###` (keys are upper-cased; they override
    /// the config file).
    public var setValues: [String: String]
    /// A `zarf-config.yaml`-style file (`package.create.set`). nil: `<dir>/zarf-config.yaml` or
    /// `<dir>/zarf-config.yml` if present.
    public var configFile: String?
    /// The OS running create, for `only.localOS`.
    public var localOS: String
    /// Build time. nil: `SOURCE_DATE_EPOCH` from `environment`, else now.
    public var timestamp: Date?
    /// The tool version recorded in `build.version`.
    public var toolVersion: String
    /// Recorded in `build.user` (nil: `$USER`).
    public var user: String?
    /// Recorded in `build.terminal` (nil: not recorded, so builds are reproducible across hosts).
    public var terminal: String?
    /// `--registry-override SRC=DST`, recorded in `build.registryOverrides`.
    public var registryOverrides: [String: String]
    /// Where `SOURCE_DATE_EPOCH` and `USER` are read from.
    public var environment: [String: String]

    public init(architecture: String? = nil, flavor: String? = nil, setValues: [String: String] = [:],
                configFile: String? = nil, localOS: String = "linux", timestamp: Date? = nil,
                toolVersion: String = "v0.1.0", user: String? = nil, terminal: String? = nil,
                registryOverrides: [String: String] = [:],
                environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.architecture = architecture
        self.flavor = flavor
        self.setValues = setValues
        self.configFile = configFile
        self.localOS = localOS
        self.timestamp = timestamp
        self.toolVersion = toolVersion
        self.user = user
        self.terminal = terminal
        self.registryOverrides = registryOverrides
        self.environment = environment
    }
}

/// A definition ready to build: imports composed, components filtered for the architecture, flavor
/// and OS, templates filled, and `build` metadata recorded. Relative paths in it are relative to
/// `baseDirectory`.
public struct ResolvedPackage: Sendable {
    public var package: ZarfPackage
    public let baseDirectory: String
    public let architecture: String
    public let flavor: String?
    public var warnings: [DefinitionIssue]

    /// The package file name Zarf gives this package (`zarf-package-<name>-<arch>[-<version>][-<flavor>].tar.zst`).
    public var fileName: String { PackageLayout.fileName(for: package) }
}

extension PackageDefinition {
    /// The host's architecture in Go/OCI naming (amd64, arm64, …).
    public static var hostArchitecture: String {
        var u = utsname()
        uname(&u)
        let capacity = MemoryLayout.size(ofValue: u.machine)
        let machine = withUnsafePointer(to: &u.machine) {
            $0.withMemoryRebound(to: CChar.self, capacity: capacity) { String(cString: $0) }
        }
        switch machine {
        case "x86_64": return "amd64"
        case "aarch64", "arm64": return "arm64"
        case "armv7l": return "arm"
        default: return machine
        }
    }

    /// Zarf's build timestamp format (Go's RFC1123Z): `Mon, 02 Jan 2006 15:04:05 -0700`.
    public static func buildTimestamp(_ date: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        return f.string(from: date)
    }

    /// Loads `directory/zarf.yaml` and resolves it for one build (see `ResolvedPackage`).
    public static func load(directory: String, options: DefinitionOptions = DefinitionOptions()) throws -> ResolvedPackage {
        let base = URL(fileURLWithPath: directory).standardizedFileURL.path
        let file = base + "/" + fileName
        let text = try readText(file)
        var pkg = try parse(text: text, file: file)
        var warnings: [DefinitionIssue] = []

        let arch = nonEmpty(pkg.metadata?.architecture) ?? nonEmpty(options.architecture) ?? hostArchitecture
        if pkg.metadata == nil { pkg.metadata = ZarfMetadata(name: "init") }
        pkg.metadata?.architecture = arch
        let flavor = nonEmpty(options.flavor)

        pkg = try resolveImports(pkg, baseDirectory: base, architecture: arch, flavor: flavor, stack: [base])
        pkg.components = pkg.components.filter { c in
            guard let os = nonEmpty(c.only?.localOS) else { return true }
            return os == options.localOS
        }
        if let flavor, !pkg.components.contains(where: { $0.only?.flavor == flavor }) {
            warnings.append(DefinitionIssue(file: file, line: nil, path: "", message: "flavor \"\(flavor)\" is not used by any component"))
        }

        // Templates: ###ZARF_COMPONENT_NAME### per component, then the package templates.
        pkg.components = try pkg.components.map { c in
            try substitute(c, ["###ZARF_COMPONENT_NAME###": c.name])
        }
        var values = try configValues(directory: base, configFile: options.configFile)
        for (k, v) in options.setValues { values[k.uppercased()] = v }
        var map: [String: String] = ["###ZARF_PKG_ARCH###": arch]
        let used = try templateKeys(in: String(decoding: encode(pkg), as: UTF8.self))
        for (key, _) in used {
            guard let v = values[key] else {
                let line = templateKeys(in: text).first { $0.0 == key }?.1
                throw PackagingError.unsetTemplate(file: file, line: line, key: key)
            }
            map["###ZARF_PKG_TMPL_\(key)###"] = v
            map["###ZARF_PKG_VAR_\(key)###"] = v
        }
        pkg = try substitute(pkg, map)

        // Build metadata, as Zarf records it.
        var build = ZarfBuildData(architecture: arch, timestamp: buildTimestamp(try buildDate(options)), version: options.toolVersion)
        build.user = options.user ?? options.environment["USER"]
        build.terminal = options.terminal
        build.flavor = flavor
        if !options.registryOverrides.isEmpty { build.registryOverrides = SortedStringMap(options.registryOverrides) }
        pkg.build = build
        if pkg.isInit && nonEmpty(pkg.metadata?.version) == nil { pkg.metadata?.version = options.toolVersion }
        pkg.metadata?.aggregateChecksum = nil

        // The resolved definition must itself be valid (a template may have produced a bad name).
        let resolvedText = String(decoding: try encode(pkg), as: UTF8.self)
        _ = try parse(text: resolvedText, file: file + " (resolved)")
        return ResolvedPackage(package: pkg, baseDirectory: base, architecture: arch, flavor: flavor, warnings: warnings)
    }

    /// The YAML Outpost writes into a package: fixed key order, sorted maps, so it is reproducible.
    public static func encode(_ pkg: ZarfPackage) throws -> Data {
        let encoder = YAMLEncoder()
        encoder.options.indent = 2
        encoder.options.width = -1
        encoder.options.sortKeys = false
        return Data(try encoder.encode(pkg).utf8)
    }

    static func nonEmpty(_ s: String?) -> String? { (s?.isEmpty ?? true) ? nil : s }

    static func buildDate(_ options: DefinitionOptions) throws -> Date {
        if let t = options.timestamp { return t }
        if let epoch = options.environment["SOURCE_DATE_EPOCH"], !epoch.isEmpty {
            guard let secs = Int64(epoch) else {
                throw PackagingError.io(path: "SOURCE_DATE_EPOCH", message: "\"\(epoch)\" is not a whole number of seconds")
            }
            return Date(timeIntervalSince1970: TimeInterval(secs))
        }
        return Date()
    }

    /// `package.create.set` of a zarf-config.yaml, keys upper-cased.
    static func configValues(directory: String, configFile: String?) throws -> [String: String] {
        let candidates = configFile.map { [$0] } ?? [directory + "/zarf-config.yaml", directory + "/zarf-config.yml"]
        guard let path = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
            if let configFile { throw PackagingError.io(path: configFile, message: "config file not found") }
            return [:]
        }
        let node = try parseNode(try readText(path), file: path)
        guard let set = node.mapping?["package"]?.mapping?["create"]?.mapping?["set"] else { return [:] }
        guard let m = set.mapping else {
            throw PackagingError.invalidDefinition([DefinitionIssue(file: path, line: set.mark?.line, path: "package.create.set", message: "expected mapping")])
        }
        var out: [String: String] = [:]
        for (k, v) in m {
            guard let key = k.scalar?.string, let value = v.scalar?.string else {
                throw PackagingError.invalidDefinition([DefinitionIssue(file: path, line: v.mark?.line, path: "package.create.set", message: "expected KEY: value pairs")])
            }
            out[key.uppercased()] = value
        }
        return out
    }

    /// Replaces placeholders in every string of a Codable value (not in keys).
    static func substitute<T: Codable>(_ value: T, _ map: [String: String]) throws -> T {
        guard !map.isEmpty else { return value }
        let json = try JSONValue.parse(JSONEncoder().encode(value))
        func walk(_ v: JSONValue) -> JSONValue {
            switch v {
            case .string(var s):
                guard s.contains("###") else { return v }
                for (k, r) in map where s.contains(k) { s = s.replacingOccurrences(of: k, with: r) }
                return .string(s)
            case .array(let a): return .array(a.map(walk))
            case .object(let o): return .object(o.mapValues(walk))
            default: return v
            }
        }
        return try JSONDecoder().decode(T.self, from: walk(json).encoded())
    }
}

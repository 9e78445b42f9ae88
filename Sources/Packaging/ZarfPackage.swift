import Foundation
import OutpostCore

/// A Zarf package definition (`zarf.yaml`, apiVersion v1alpha1, kind ZarfPackageConfig or ZarfInitConfig)
/// with every key of Zarf's schema. Keys are encoded in a fixed order and maps with sorted keys so the
/// zarf.yaml written into a package is byte-for-byte reproducible.
public struct ZarfPackage: Codable, Sendable, Equatable {
    public var apiVersion: String?
    public var kind: ZarfPackageKind
    public var metadata: ZarfMetadata?
    public var build: ZarfBuildData?
    public var components: [ZarfComponent]
    public var constants: [ZarfConstant]?
    public var variables: [ZarfInteractiveVariable]?
    public var documentation: SortedStringMap?
    public var values: ZarfValues?

    public init(kind: ZarfPackageKind = .packageConfig, metadata: ZarfMetadata? = nil, components: [ZarfComponent] = []) {
        self.kind = kind
        self.metadata = metadata
        self.components = components
    }

    /// Whether this is an init package (`kind: ZarfInitConfig`).
    public var isInit: Bool { kind == .initConfig }
}

/// The two kinds of Zarf package.
public enum ZarfPackageKind: String, Codable, Sendable {
    case packageConfig = "ZarfPackageConfig"
    case initConfig = "ZarfInitConfig"
}

/// A string-to-string map that encodes its keys sorted (Swift dictionaries iterate in a random order).
public struct SortedStringMap: Codable, Sendable, Equatable {
    public var entries: [String: String]
    public init(_ entries: [String: String] = [:]) { self.entries = entries }
    public subscript(key: String) -> String? {
        get { entries[key] }
        set { entries[key] = newValue }
    }
    public init(from decoder: Decoder) throws { entries = try decoder.singleValueContainer().decode([String: String].self) }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: AnyKey.self)
        for key in entries.keys.sorted() { try c.encode(entries[key]!, forKey: AnyKey(key)) }
    }
}

/// Any YAML value (SetValue.value), encoded with sorted object keys.
public struct AnyValue: Codable, Sendable, Equatable {
    public var value: JSONValue
    public init(_ value: JSONValue) { self.value = value }
    public init(from decoder: Decoder) throws { value = try JSONValue(from: decoder) }
    public func encode(to encoder: Encoder) throws {
        switch value {
        case .object(let o):
            var c = encoder.container(keyedBy: AnyKey.self)
            for key in o.keys.sorted() { try c.encode(AnyValue(o[key]!), forKey: AnyKey(key)) }
        case .array(let a):
            var c = encoder.unkeyedContainer()
            for v in a { try c.encode(AnyValue(v)) }
        default:
            try value.encode(to: encoder)
        }
    }
}

struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ s: String) { stringValue = s }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { return nil }
}

/// `metadata`: the package's name, version and descriptive fields, plus the aggregate checksum.
public struct ZarfMetadata: Codable, Sendable, Equatable {
    public var name: String
    public var description: String?
    public var version: String?
    public var url: String?
    public var image: String?
    public var uncompressed: Bool?
    public var architecture: String?
    public var yolo: Bool?
    public var authors: String?
    public var documentation: String?
    public var source: String?
    public var vendor: String?
    public var aggregateChecksum: String?
    public var allowNamespaceOverride: Bool?
    public var annotations: SortedStringMap?

    public init(name: String, version: String? = nil) {
        self.name = name
        self.version = version
    }
}

/// `build`: written by create (architecture, timestamp, version, user, flavor, signed…).
public struct ZarfBuildData: Codable, Sendable, Equatable {
    public var terminal: String?
    public var user: String?
    public var architecture: String
    public var timestamp: String
    public var version: String
    public var migrations: [String]?
    public var registryOverrides: SortedStringMap?
    public var differential: Bool?
    public var differentialPackageVersion: String?
    public var differentialMissing: [String]?
    public var flavor: String?
    public var signed: Bool?
    public var provenanceFiles: [String]?
    public var versionRequirements: [ZarfVersionRequirement]?

    public init(architecture: String, timestamp: String, version: String) {
        self.architecture = architecture
        self.timestamp = timestamp
        self.version = version
    }
}

/// `build.versionRequirements[]`.
public struct ZarfVersionRequirement: Codable, Sendable, Equatable {
    public var version: String
    public var reason: String?
}

/// `constants[]`: values fixed at create time, templated on deploy as `###ZARF_CONST_<NAME>###`.
public struct ZarfConstant: Codable, Sendable, Equatable {
    public var name: String
    public var value: String
    public var description: String?
    public var autoIndent: Bool?
    public var pattern: String?
}

/// `variables[]`: deploy-time values (`###ZARF_VAR_<NAME>###`).
public struct ZarfInteractiveVariable: Codable, Sendable, Equatable {
    public var name: String
    public var sensitive: Bool?
    public var autoIndent: Bool?
    public var pattern: String?
    public var type: String?
    public var description: String?
    public var `default`: String?
    public var prompt: Bool?
}

/// `values`: package values files and their schema.
public struct ZarfValues: Codable, Sendable, Equatable {
    public var files: [String]?
    public var schema: String?
}

/// `components[]`: one deployable unit (its images, charts, manifests, files, repos and actions).
public struct ZarfComponent: Codable, Sendable, Equatable {
    public var name: String
    public var description: String?
    public var `default`: Bool?
    public var required: Bool?
    public var only: ZarfComponentOnlyTarget?
    public var group: String?
    public var `import`: ZarfComponentImport?
    public var manifests: [ZarfManifest]?
    public var charts: [ZarfChart]?
    public var dataInjections: [ZarfDataInjection]?
    public var files: [ZarfFile]?
    public var images: [String]?
    public var imageArchives: [ZarfImageArchive]?
    public var repos: [String]?
    public var scripts: ZarfDeprecatedScripts?
    public var healthChecks: [ZarfObjectReference]?
    public var actions: ZarfComponentActions?
    public var stateAccess: [String]?

    public init(name: String) { self.name = name }
}

/// `components[].only`: architecture, flavor and local-OS filters.
public struct ZarfComponentOnlyTarget: Codable, Sendable, Equatable {
    public var localOS: String?
    public var cluster: ZarfComponentOnlyCluster?
    public var flavor: String?

    public init(localOS: String? = nil, cluster: ZarfComponentOnlyCluster? = nil, flavor: String? = nil) {
        self.localOS = localOS
        self.cluster = cluster
        self.flavor = flavor
    }
}

/// `components[].only.cluster`.
public struct ZarfComponentOnlyCluster: Codable, Sendable, Equatable {
    public var architecture: String?
    public var distros: [String]?
}

/// `components[].import`: compose a component from another definition (local path or OCI URL).
public struct ZarfComponentImport: Codable, Sendable, Equatable {
    public var name: String?
    public var path: String?
    public var url: String?
}

/// `components[].manifests[]`.
public struct ZarfManifest: Codable, Sendable, Equatable {
    public var name: String
    public var namespace: String?
    public var files: [String]?
    public var kustomizeAllowAnyDirectory: Bool?
    public var kustomizations: [String]?
    public var noWait: Bool?
    public var enableKustomizePlugins: Bool?
    public var serverSideApply: String?
    public var template: Bool?
}

/// `components[].charts[]`.
public struct ZarfChart: Codable, Sendable, Equatable {
    public var name: String
    public var version: String?
    public var url: String?
    public var repoName: String?
    public var gitPath: String?
    public var localPath: String?
    public var namespace: String?
    public var releaseName: String?
    public var noWait: Bool?
    public var valuesFiles: [String]?
    public var variables: [ZarfChartVariable]?
    public var values: [ZarfChartValue]?
    public var templatedValuesFiles: [String]?
    public var schemaValidation: Bool?
    public var serverSideApply: String?
}

/// `components[].charts[].variables[]`.
public struct ZarfChartVariable: Codable, Sendable, Equatable {
    public var name: String
    public var description: String
    public var path: String
}

/// `components[].charts[].values[]`.
public struct ZarfChartValue: Codable, Sendable, Equatable {
    public var sourcePath: String
    public var targetPath: String
    public var excludePaths: [String]?
}

/// `components[].dataInjections[]` (deprecated in Zarf, still read).
public struct ZarfDataInjection: Codable, Sendable, Equatable {
    public var source: String
    public var target: ZarfContainerTarget
    public var compress: Bool?
}

/// `components[].dataInjections[].target`.
public struct ZarfContainerTarget: Codable, Sendable, Equatable {
    public var namespace: String
    public var selector: String
    public var container: String
    public var path: String
}

/// `components[].files[]`.
public struct ZarfFile: Codable, Sendable, Equatable {
    public var source: String
    public var shasum: String?
    public var target: String
    public var executable: Bool?
    public var symlinks: [String]?
    public var extractPath: String?
    public var template: Bool?
}

/// `components[].imageArchives[]`: images taken from a `docker save` / OCI archive.
public struct ZarfImageArchive: Codable, Sendable, Equatable {
    public var path: String
    public var images: [String]
}

/// `components[].healthChecks[]`.
public struct ZarfObjectReference: Codable, Sendable, Equatable {
    public var apiVersion: String
    public var kind: String
    public var namespace: String
    public var name: String
}

/// `components[].scripts` (deprecated in Zarf, still read).
public struct ZarfDeprecatedScripts: Codable, Sendable, Equatable {
    public var showOutput: Bool?
    public var timeoutSeconds: Int?
    public var retry: Bool?
    public var prepare: [String]?
    public var before: [String]?
    public var after: [String]?
}

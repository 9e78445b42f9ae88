import Foundation
import OutpostCore

/// The file side of the Talos module: reading site, patch and secrets files, and writing secrets and
/// configs atomically with mode 0600 (they hold keys). Everything else in the module is pure.
public enum TalosFiles {
    /// Reads and fully validates a site file; patch paths are resolved relative to the site's directory.
    public static func loadSite(_ path: String) throws -> Site {
        let text = try read(path)
        let base = directory(of: path)
        return try SiteDecoder(file: path).decodeAndValidate(text) { patchStatus(resolve($0, against: base)) }
    }

    /// What is at a patch path: missing, unreadable, a JSON patch (refused for Outpost's configs) or fine.
    public static func patchStatus(_ path: String) -> SiteValidator.PatchStatus {
        guard FileManager.default.fileExists(atPath: path) else { return .missing }
        do {
            switch try loadPatch(path).patch {
            case .jsonPatch: return .jsonPatch
            case .strategicMerge: return .ok
            }
        } catch {
            return .unreadable("\(error)")
        }
    }

    public static func loadPatch(_ path: String) throws -> NamedPatch {
        NamedPatch(file: path, patch: try ConfigPatch.parse(try read(path), file: path))
    }

    /// Writes a new secrets bundle to `path` (0600, atomically); refuses to replace one unless `force`.
    public static func writeSecrets(_ bundle: SecretsBundle, to path: String, force: Bool) throws {
        if !force && FileManager.default.fileExists(atPath: path) { throw TalosError.exists(path: path) }
        try write(try bundle.yaml(), to: path, force: force)
    }

    public static func readSecrets(_ path: String) throws -> SecretsBundle {
        try SecretsBundle(yaml: try read(path), file: path)
    }

    /// Options of `outpost talos gen config`.
    public struct GenerateOptions: Sendable {
        public var patches: [String] = []
        public var agentManifests: String?
        public var bootstrapMode: MachineConfigGenerator.BootstrapMode = .initType
        public var force = false
        /// Returns the `zarf.yaml` text inside a package archive (the CLI backs it with libarchive); without
        /// it, archives' images are covered by the `*` mirror only.
        public var readPackageManifest: (@Sendable (String) throws -> String?)?
        public init() {}
    }

    /// What `generateConfigs` wrote, and anything the user should know.
    public struct GenerateResult: Sendable {
        public var files: [String]
        public var mirroredRegistries: [String]
        public var notes: [String]
    }

    /// Reads the site, secrets and patches, then writes `<outputDir>/<node>.yaml` for every node and
    /// `<outputDir>/talosconfig`. Nothing is written unless every node's config was generated.
    public static func generateConfigs(site sitePath: String, secrets secretsPath: String, outputDir: String,
                                       options: GenerateOptions = .init(), now: Date = Date()) throws -> GenerateResult {
        let site = try loadSite(sitePath)
        let secrets = try readSecrets(secretsPath)
        let base = directory(of: sitePath)
        let load: (String) throws -> NamedPatch = { try loadPatch(resolve($0, against: base)) }
        var notes: [String] = []
        let registries = packageRegistries(site: site, base: base, readArchive: options.readPackageManifest, notes: &notes)
        let agent = try options.agentManifests.map(read)
        let generator = MachineConfigGenerator(site: site, secrets: secrets, packageRegistries: registries,
                                               agentManifests: agent, bootstrapMode: options.bootstrapMode)
        let builder = SiteConfigBuilder(
            generator: generator,
            all: try site.patches.all.map(load), controlplane: try site.patches.controlplane.map(load),
            worker: try site.patches.worker.map(load),
            perNode: Dictionary(uniqueKeysWithValues: try site.nodes.map { ($0.name, try $0.patches.map(load)) }),
            commandLine: try options.patches.map(loadPatch))
        let configs = try builder.build(now: now)

        try FileManager.default.createDirectory(atPath: outputDir, withIntermediateDirectories: true)
        var files: [String] = []
        let outputs = configs.nodes.map { ("\(outputDir)/\($0.name).yaml", $0.yaml) } + [("\(outputDir)/talosconfig", configs.talosconfig)]
        if !options.force, let existing = outputs.first(where: { FileManager.default.fileExists(atPath: $0.0) }) {
            throw TalosError.exists(path: existing.0)
        }
        for (path, text) in outputs {
            try write(text, to: path, force: true)
            files.append(path)
        }
        return GenerateResult(files: files, mirroredRegistries: generator.mirroredRegistries(), notes: notes)
    }

    /// Registries named by the images of the site's packages. A package given as a `zarf.yaml`, a directory
    /// holding one, or an archive (read through `readArchive`) is read; otherwise a note says only the `*`
    /// mirror covers its images.
    static func packageRegistries(site: Site, base: String, readArchive: ((String) throws -> String?)?,
                                  notes: inout [String]) -> [String] {
        var registries: [String] = []
        for p in site.packages {
            var path = resolve(p, against: base)
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
                notes.append("package \(p) not found; its registries are covered by the \"*\" mirror only")
                continue
            }
            if isDir.boolValue { path += "/zarf.yaml" }
            let text: String?
            do {
                if path.hasSuffix(".yaml") || path.hasSuffix(".yml") { text = try read(path) }
                else { text = try readArchive?(path) }
            } catch {
                notes.append("package \(p): \(error); its registries are covered by the \"*\" mirror only")
                continue
            }
            guard let text, let doc = try? YAMLDocuments.parse(text, file: path).first else {
                notes.append("package \(p): no zarf.yaml read; its registries are covered by the \"*\" mirror only")
                continue
            }
            for c in doc["components"]?.arrayValue ?? [] {
                for image in c["images"]?.arrayValue ?? [] {
                    if let ref = image.stringValue { registries.append(registryHost(of: ref)) }
                }
            }
        }
        return Array(Set(registries)).sorted()
    }

    /// The registry host of an image reference by the Docker grammar (`nginx` → `docker.io`).
    public static func registryHost(of reference: String) -> String {
        let ref = reference.hasPrefix("oci://") ? String(reference.dropFirst(6)) : reference
        guard let slash = ref.firstIndex(of: "/") else { return "docker.io" }
        let first = String(ref[..<slash])
        if first.contains(".") || first.contains(":") || first == "localhost" {
            return MachineConfigGenerator.normalizeRegistry(first)
        }
        return "docker.io"
    }

    // MARK: primitives

    static func read(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TalosError.io(path: path, reason: FileManager.default.fileExists(atPath: path) ? "cannot be read" : "no such file")
        }
        guard let text = String(data: data, encoding: .utf8) else { throw TalosError.io(path: path, reason: "is not UTF-8 text") }
        return text
    }

    static func write(_ text: String, to path: String, force: Bool) throws {
        do {
            try AtomicFile.write(Data(text.utf8), to: path, mode: 0o600, overwrite: force)
        } catch AtomicFile.Failure.exists(let p) {
            throw TalosError.exists(path: p)
        } catch {
            throw TalosError.io(path: path, reason: "\(error)")
        }
    }

    static func directory(of path: String) -> String {
        URL(fileURLWithPath: path).deletingLastPathComponent().path
    }

    static func resolve(_ path: String, against base: String) -> String {
        path.hasPrefix("/") ? path : URL(fileURLWithPath: base).appendingPathComponent(path).path
    }
}

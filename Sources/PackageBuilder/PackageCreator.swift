import Foundation
import OCI
import OutpostCore
import Packaging
import Registry

/// What `outpost package create` was asked for.
public struct CreateOptions: Sendable {
    public var definition: DefinitionOptions
    public var outputDirectory: String
    /// Split the package into parts of at most this many MB (1 MB = 1,000,000 bytes); nil: one file.
    public var maxPackageSizeMB: Int?
    /// PEM private key (PKCS#8 ECDSA P-256) to sign zarf.yaml with.
    public var signingKeyPath: String?
    public var overwrite: Bool
    public var registry: RegistryConfiguration
    /// Where the staging directory goes (default: the output directory, so the final rename is local).
    public var scratchDirectory: String?
    /// fsync the package before it is renamed into place (`PackageWriteOptions.syncToDisk`).
    public var syncToDisk: Bool

    public init(definition: DefinitionOptions = DefinitionOptions(), outputDirectory: String = ".",
                maxPackageSizeMB: Int? = nil, signingKeyPath: String? = nil, overwrite: Bool = false,
                registry: RegistryConfiguration = RegistryConfiguration(), scratchDirectory: String? = nil,
                syncToDisk: Bool = false) {
        self.syncToDisk = syncToDisk
        self.definition = definition
        self.outputDirectory = outputDirectory
        self.maxPackageSizeMB = maxPackageSizeMB
        self.signingKeyPath = signingKeyPath
        self.overwrite = overwrite
        self.registry = registry
        self.scratchDirectory = scratchDirectory
    }
}

/// Turns a package definition directory into one package archive: resolves the definition, runs the
/// onCreate actions, stages every component's content and every image (pulled from registries, with
/// `--registry-override` applied, or imported from `docker save` archives and OCI layouts) into a
/// staging directory beside the output, then writes Zarf's layout with checksums and an optional signature.
/// The staging directory is removed whatever happens; a failed create leaves no package behind.
public struct PackageCreator: Sendable {
    public let progress: ProgressReporter
    public let log: @Sendable (String) -> Void

    public init(progress: ProgressReporter = SilentProgress(), log: @escaping @Sendable (String) -> Void = { _ in }) {
        self.progress = progress
        self.log = log
    }

    /// Creates the package and returns the path of the written file (the `.part000` file when split).
    public func create(directory: String, options: CreateOptions) async throws -> String {
        let resolved = try PackageDefinition.load(directory: directory, options: options.definition)
        for w in resolved.warnings { log("warning: \(w)") }
        let fm = FileManager.default
        try fm.createDirectory(atPath: options.outputDirectory, withIntermediateDirectories: true)
        let target = options.outputDirectory + "/" + resolved.fileName
        if !options.overwrite, fm.fileExists(atPath: target) || fm.fileExists(atPath: target + ".part000") {
            throw BuilderError.invalid("\(target) already exists (use --force to overwrite)")
        }
        let scratchParent = options.scratchDirectory ?? options.outputDirectory
        let staging = scratchParent + "/.outpost-create-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try fm.createDirectory(atPath: staging + "/scratch", withIntermediateDirectories: true)
        defer { try? fm.removeItem(atPath: staging) }

        let client = RegistryClient(configuration: options.registry)
        let runner = ActionRunner(baseDirectory: resolved.baseDirectory, output: { [log] in log($0) })
        var succeeded: [ZarfComponent] = []
        // The components whose onFailure actions run if create fails now (Zarf: the failing component's).
        var failing: [ZarfComponent] = []
        do {
            for component in resolved.package.components {
                failing = [component]
                let set = component.actions?.onCreate
                try runActions(set?.before, defaults: set?.defaults, runner: runner, component: component.name)
                let stager = ComponentStager(baseDirectory: resolved.baseDirectory,
                                             componentRoot: staging + "/components/" + component.name,
                                             scratch: staging + "/scratch", progress: progress, client: client)
                progress.note("component \(component.name)")
                try await stager.stage(component)
                try runActions(set?.after, defaults: set?.defaults, runner: runner, component: component.name)
                succeeded.append(component)
            }
            try? fm.removeItem(atPath: staging + "/scratch")
            failing = resolved.package.components.filter { !($0.images ?? []).isEmpty || !($0.imageArchives ?? []).isEmpty }
            let blobs = try await stageImages(resolved, staging: staging, options: options, client: client)
            let written = try await writeWhileFetching(blobs, resolved: resolved, staging: staging, options: options, client: client)
            failing = []
            for component in succeeded {
                let set = component.actions?.onCreate
                do {
                    try runActions(set?.onSuccess, defaults: set?.defaults, runner: runner, component: component.name)
                } catch {
                    // The package must not stand as if create had succeeded.
                    PackageCreator.removePackage(at: written)
                    throw error
                }
            }
            return written
        } catch {
            for component in failing {
                let set = component.actions?.onCreate
                try? runActions(set?.onFailure, defaults: set?.defaults, runner: runner, component: component.name)
            }
            throw error
        }
    }

    /// Writes the archive while the image blobs are still downloading: the manifests already gave every
    /// blob's digest and size, so checksums.txt and zarf.yaml are known up front; the writer streams the
    /// archive in name order and waits for each blob as it reaches it, and each blob is deleted from
    /// staging once archived. Download and compression overlap instead of running one after the other.
    private func writeWhileFetching(_ blobs: [PendingBlob], resolved: ResolvedPackage, staging: String,
                                    options: CreateOptions, client: RegistryClient) async throws -> String {
        let store = try LayoutStore(path: staging + "/images")
        let gate = BlobGate(staging: staging)
        var pending: [String: PendingFile] = [:]
        for b in blobs { pending[b.entry] = PendingFile(sha256Hex: b.descriptor.digest.hex, size: b.descriptor.size) }
        let writeOptions = PackageWriteOptions(maxPackageSizeMB: options.maxPackageSizeMB ?? 0,
                                               signingKeyPath: options.signingKeyPath, progress: progress,
                                               pendingFiles: pending, gate: gate, blobNamesVerified: true,
                                               syncToDisk: options.syncToDisk)
        let progress = self.progress
        let limit = max(options.registry.maxConcurrentBlobs, 2 * options.registry.maxConcurrentImages)
        return try await withThrowingTaskGroup(of: String?.self) { group in
            group.addTask {
                guard !blobs.isEmpty else { return nil }
                progress.begin("pull images", total: blobs.reduce(0) { $0 + $1.descriptor.size }, unit: .bytes)
                defer { progress.end("pull images") }
                do {
                    // In archive order, so the writer rarely waits.
                    _ = try await boundedConcurrentMap(blobs, limit: limit) { blob in
                        try await client.fetchBlob(blob.image, descriptor: blob.descriptor, into: store,
                                                   progress: progress, phase: "pull images")
                        gate.ready(blob.entry)
                    }
                } catch {
                    gate.fail(error)
                    throw error
                }
                return nil
            }
            group.addTask {
                try await runOnThread {
                    try PackageWriter.write(staging: staging, definition: resolved, outputDirectory: options.outputDirectory,
                                            options: writeOptions).path
                }
            }
            var written: String?
            for try await result in group { if let result { written = result } }
            return written!
        }
    }

    static func removePackage(at path: String) {
        if path.hasSuffix(".part000") {
            let base = String(path.dropLast(8))
            var i = 0
            while unlink(base + String(format: ".part%03d", i)) == 0 { i += 1 }
        } else {
            unlink(path)
        }
    }

    private func runActions(_ actions: [ZarfComponentAction]?, defaults: ZarfComponentActionDefaults?,
                            runner: ActionRunner, component: String) throws {
        for a in actions ?? [] {
            guard let cmd = a.cmd, !cmd.isEmpty else { continue }
            let action = ShellAction(cmd: cmd, dir: a.dir ?? defaults?.dir, env: (defaults?.env ?? []) + (a.env ?? []),
                                     mute: a.mute ?? defaults?.mute ?? false,
                                     maxTotalSeconds: a.maxTotalSeconds ?? defaults?.maxTotalSeconds,
                                     maxRetries: a.maxRetries ?? defaults?.maxRetries ?? 0, description: a.description)
            log("running: \(a.description ?? cmd)")
            try runner.run(action, component: component)
        }
    }

    /// Imports every image from archives and fetches the manifests of every image to pull into one OCI
    /// layout `staging/images`, each manifest annotated with its original (normalised) reference, and
    /// returns the blobs still to download, in archive order.
    private func stageImages(_ resolved: ResolvedPackage, staging: String, options: CreateOptions,
                             client: RegistryClient) async throws -> [PendingBlob] {
        let store = try LayoutStore(path: staging + "/images")
        let platform = Platform(architecture: resolved.architecture)

        // Images from archives first: those references are not pulled from registries.
        var fromArchives = Set<String>()
        for component in resolved.package.components {
            for (idx, archive) in (component.imageArchives ?? []).enumerated() {
                let path = archive.path.hasPrefix("/") ? archive.path : resolved.baseDirectory + "/" + archive.path
                guard FileManager.default.fileExists(atPath: path) else {
                    throw BuilderError.missingFile(archive.path, component: component.name, field: "imageArchives[\(idx)].path")
                }
                let refs = try archive.images.map { try ImageReference(parsing: $0) }
                let imported: [ImageReference: Descriptor]
                if FileManager.default.fileExists(atPath: path + "/oci-layout") {
                    imported = try client.importOCILayout(path: path, images: refs, into: store)
                } else {
                    imported = try client.importDockerArchive(path: path, images: refs, into: store)
                }
                for (ref, desc) in imported {
                    try annotate(store, desc, ref)
                    fromArchives.insert(ref.normalized)
                }
            }
        }

        var seen = Set<String>()
        var pulls: [(original: ImageReference, source: ImageReference)] = []
        for component in resolved.package.components {
            for (idx, image) in (component.images ?? []).enumerated() {
                let ref: ImageReference
                do { ref = try ImageReference(parsing: image) } catch {
                    throw BuilderError.image(reference: image, reason: "components[\(component.name)].images[\(idx)]: \(error)")
                }
                guard !fromArchives.contains(ref.normalized), seen.insert(ref.normalized).inserted else { continue }
                pulls.append((ref, Self.applyOverrides(ref, options.definition.registryOverrides)))
            }
        }
        guard !pulls.isEmpty else { return [] }
        progress.begin("image manifests", total: Int64(pulls.count), unit: .items)
        let plans = try await boundedConcurrentMap(pulls, limit: options.registry.maxConcurrentImages) { p in
            let plan = try await client.planPull(p.source, platform: platform)
            progress.advance("image manifests", by: 1)
            return plan
        }
        progress.end("image manifests")
        var blobs: [String: PendingBlob] = [:]
        for (p, plan) in zip(pulls, plans) {
            try client.writeManifests(of: plan, to: store)
            try annotate(store, plan.descriptor, p.original)
            for d in plan.blobs where !store.hasBlob(d.digest) {
                let entry = "images/blobs/sha256/" + d.digest.hex
                if blobs[entry] == nil { blobs[entry] = PendingBlob(entry: entry, image: p.source, descriptor: d) }
            }
        }
        return blobs.keys.sorted().map { blobs[$0]! }
    }

    private func annotate(_ store: LayoutStore, _ desc: Descriptor, _ ref: ImageReference) throws {
        var d = desc
        var ann = d.annotations ?? [:]
        ann[Annotation.baseName] = ref.normalized
        // Also the OCI ref.name, so `skopeo … oci:images:<reference>` and other OCI tools find each image.
        ann[Annotation.refName] = ref.normalized
        d.annotations = ann
        try store.addToIndex(d)
    }

    /// `--registry-override SRC=DST`: an image whose registry (or `registry/path` prefix) is SRC is pulled from DST.
    static func applyOverrides(_ ref: ImageReference, _ overrides: [String: String]) -> ImageReference {
        let full = ref.name
        for (src, dst) in overrides.sorted(by: { $0.key.count > $1.key.count }) {
            if full == src || full.hasPrefix(src + "/") {
                let rest = full.dropFirst(src.count)
                if let r = try? ImageReference(parsing: dst + rest + (ref.tag.map { ":" + $0 } ?? "") + (ref.digest.map { "@" + $0.description } ?? "")) {
                    return r
                }
            }
        }
        return ref
    }
}

/// A blob of the package still to download: where it goes in the archive and where it comes from.
struct PendingBlob: Sendable {
    let entry: String
    let image: ImageReference
    let descriptor: Descriptor
}

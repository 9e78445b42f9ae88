import Crypto
import Foundation
import Media
import OutpostCore
import Registry
import Talos
#if canImport(Glibc)
import Glibc
#endif

/// Which medium to build.
public enum MediaFormat: String, Sendable, CaseIterable, Codable {
    /// A raw GPT disk image for a USB stick (`dd` it, or `outpost media flash`).
    case usb
    /// An ISO9660 image with an El Torito UEFI boot image (virtual media, optical disks).
    case iso
}

/// What `outpost media build` is asked to do.
public struct MediaBuildOptions: Sendable {
    public var site: String
    public var node: String
    public var output: String
    public var format: MediaFormat = .usb
    /// The secrets bundle; default `secrets.yaml` beside the site file.
    public var secrets: String?
    public var force = false
    /// Image sources for what the packages do not hold (Talos's own images, the installer): OCI layout
    /// directories, or `registry://HOST[:PORT]` for a registry mirroring the images' repositories (only
    /// images no other source holds are pulled from it).
    public var imageLayouts: [String] = []
    /// Credentials and insecure hosts for `registry://` sources.
    public var registry = RegistryConfiguration()
    /// Build even when some needed image is in no source (listed in the result and manifest).
    public var allowMissingImages = false
    /// ECDSA P-256 private key (PEM) that signs the media manifest; unsigned without it.
    public var signingKey: String?
    /// Added after Talos's kernel arguments and `talos.config=metal-iso` (e.g. `console=ttyS0`).
    public var extraKernelArguments: [String] = []
    /// Boot assets replacing the site's `talos.assets`.
    public var assets: Site.Assets?
    /// Talos config patches applied after the site's (as `talos gen config --patch`).
    public var patches: [String] = []
    public var agentManifests: String?
    /// Bootstrap by `talosctl bootstrap` instead of `machine.type: init`.
    public var bootstrapAPI = false
    /// Files larger than this are split (FAT32 holds at most 4 GiB - 1 bytes per file).
    public var maxFileSize: UInt64 = MediaLayout.fat32MaxFileSize

    public init(site: String, node: String, output: String) {
        self.site = site; self.node = node; self.output = output
    }
}

/// What was built.
public struct MediaBuildResult: Sendable, Codable {
    public var output: String
    public var format: MediaFormat
    public var size: UInt64
    public var site: String
    public var node: String
    public var configSHA256: String
    public var images: [String: String]
    public var missingImages: [String]
    public var packages: [String]
    public var files: Int
    public var signed: Bool
    public var kernelArguments: [String]
    /// Where EFI/BOOT/BOOTX64.EFI came from (the assets, the ISO, or the host's systemd-boot).
    public var bootLoader: String
}

/// Builds one node's boot medium from a site: the orchestration over `NodeInputs`, `BootAssets`,
/// `ImageCache`, `MediaManifest` and the writers of the `Media` module. The image appears at the output
/// path only when complete (temporary name + rename).
public enum MediaBuilder {
    public static func build(_ o: MediaBuildOptions, progress: ProgressReporter = SilentProgress()) async throws -> MediaBuildResult {
        let fm = FileManager.default
        if fm.fileExists(atPath: o.output) && !o.force { throw MediaBuilderError.exists(path: o.output) }
        let outDir = URL(fileURLWithPath: o.output).deletingLastPathComponent().path
        guard fm.fileExists(atPath: outDir) else { throw MediaBuilderError.io(path: outDir, reason: "the output directory does not exist") }
        let work = AtomicFileName.temporary(for: o.output) + ".work"
        do { try fm.createDirectory(atPath: work, withIntermediateDirectories: true) } catch {
            throw MediaBuilderError.io(path: work, reason: "\(error)")
        }
        defer { try? fm.removeItem(atPath: work) }

        let inputs = try NodeInputs.load(o, progress: progress)
        guard let assetSpec = o.assets ?? inputs.site.talos.assets else { throw MediaBuilderError.noBootAssets(site: o.site) }
        let assets = try BootAssets.resolve(assetSpec, base: inputs.siteDirectory, work: work + "/assets")

        var catalogs = inputs.packages
        var mirrors: [String] = []
        for l in o.imageLayouts {
            if l.hasPrefix("registry://") { mirrors.append(String(l.dropFirst("registry://".count))) } else {
                catalogs.append(try SourceCatalog.open(.ociLayout(l)))
            }
        }
        if !mirrors.isEmpty, let pulled = try await RegistryImages.pullMissing(
            inputs.wantedImages, have: catalogs, mirrors: mirrors, configuration: o.registry,
            into: work + "/pulled", progress: progress) {
            catalogs.append(pulled)
        }
        let cache = try ImageCache.plan(wanted: inputs.wantedImages, catalogs: catalogs, extractDirectory: work + "/blobs",
                                        allowMissing: o.allowMissingImages, progress: progress)

        let packages = try PackagePlacement.place(inputs.packages, maxFileSize: o.maxFileSize, work: work + "/split", progress: progress)

        let configSum = hex(SHA256.hash(data: inputs.configYAML))
        let kernelArguments = TalosMediaFacts.defaultKernelArguments + ["talos.config=\(TalosMediaFacts.configVolumeLabel)"] + o.extraKernelArguments
        let seed = "outpost-media/\(o.format.rawValue)/\(inputs.site.name)/\(inputs.node.name)/\(configSum)/\(kernelArguments.joined(separator: " "))"
        let esp = try MediaLayout.espFiles(assets: assets, kernelArguments: kernelArguments, maxFileSize: MediaLayout.fat32MaxFileSize)

        var data: [MediaFile] = [MediaFile(path: "config.yaml", source: .bytes([UInt8](inputs.configYAML)))]
        var sums: [String: String] = ["config.yaml": configSum]
        for f in cache.files { data.append(MediaFile(path: "imagecache/" + f.path, source: f.source)) }
        for (p, s) in cache.sha256 { sums["imagecache/" + p] = s }
        for p in packages {
            for f in p.files { data.append(MediaFile(path: f.path, source: f.source)) }
            for (path, s) in p.sha256 { sums[path] = s }
        }

        var manifest = MediaManifest(
            site: inputs.site.name, node: inputs.node.name, format: o.format.rawValue, talosVersion: inputs.site.talos.version,
            kernelArguments: kernelArguments, images: cache.images,
            packages: packages.map(\.record), espSHA256: "", espSize: 0, files: [])
        manifest.files = try esp.files.map { f in
            MediaManifest.File(volume: "esp", path: f.path, size: try MediaLayout.size(of: f.source), sha256: esp.sha256[f.path]!)
        } + data.map { f in
            MediaManifest.File(volume: "data", path: f.path, size: try MediaLayout.size(of: f.source), sha256: sums[f.path]!)
        }
        manifest.files.sort { ($0.volume, $0.path) < ($1.volume, $1.path) }

        let writer = MediaLayout(seed: seed, espFiles: esp.files, dataFiles: data, manifest: manifest,
                                 signingKey: o.signingKey, progress: progress)
        let size: UInt64
        do {
            size = try writeAtomically(o.output, force: o.force) { tmp in
                switch o.format {
                case .usb: return try writer.writeUSB(to: tmp)
                case .iso: return try writer.writeISO(to: tmp, work: work)
                }
            }
        }
        return MediaBuildResult(
            output: o.output, format: o.format, size: size, site: inputs.site.name, node: inputs.node.name,
            configSHA256: configSum, images: cache.images, missingImages: cache.missing,
            packages: packages.flatMap { $0.record.files }, files: manifest.files.count + (o.signingKey == nil ? 1 : 2),
            signed: o.signingKey != nil, kernelArguments: kernelArguments, bootLoader: assets.loaderSource)
    }

    /// Runs `produce` on a temporary path beside `path`, fsyncs and renames it into place.
    static func writeAtomically(_ path: String, force: Bool, _ produce: (String) throws -> UInt64) throws -> UInt64 {
        let tmp = AtomicFileName.temporary(for: path)
        do {
            let size = try produce(tmp)
            let fd = open(tmp, O_RDONLY | O_CLOEXEC)
            if fd >= 0 { fsync(fd); close(fd) }
            if !force && FileManager.default.fileExists(atPath: path) { throw MediaBuilderError.exists(path: path) }
            guard rename(tmp, path) == 0 else { throw MediaBuilderError.io(path: path, reason: String(cString: strerror(errno))) }
            return size
        } catch {
            unlink(tmp)
            throw error
        }
    }

    static func hex<D: Sequence>(_ d: D) -> String where D.Element == UInt8 { d.map { String(format: "%02x", $0) }.joined() }
}

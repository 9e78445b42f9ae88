import ArgumentParser
import Foundation
import MediaBuilder
import OutpostCore
import Registry
import Talos
#if canImport(Glibc)
import Glibc
#endif

/// `outpost media …`: build, verify and flash one node's boot medium (USB image or ISO).
struct MediaCommands: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "media",
        abstract: "Build, verify and flash a node's boot medium (USB disk image or ISO).",
        subcommands: [MediaBuild.self, MediaVerify.self, MediaFlash.self])
}

struct MediaBuild: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Build the boot medium of one node of a site.",
        discussion: """
        The medium boots Talos under UEFI with the node's machine config (found by Talos through \
        talos.config=metal-iso), carries Talos's image cache (imagecache/: Talos's and Kubernetes's images, the \
        installer and every package image) and the site's packages with a signed manifest (outpost/). \
        usb: a GPT disk image (EFI System Partition + a FAT32 partition named metal-iso, label TALOS_MEDIA) \
        to write to a USB stick with `outpost media flash`. iso: an ISO9660 image labelled metal-iso with a \
        UEFI El Torito boot image. The same inputs give the same bytes (a signature is the one exception: \
        ECDSA signatures are randomised).
        """)

    @Argument(help: "The site definition (YAML).") var site: String
    @Option(help: "The node to build the medium for.") var node: String
    @Option(help: "usb (GPT disk image) or iso.") var format: MediaFormatArgument = .usb
    @Option(help: "The secrets bundle (default: secrets.yaml beside the site file).") var secrets: String?
    @Option(name: .shortAndLong, help: "The image file to write.") var output: String
    @Option(name: .customLong("images-from"), help: "Where images the packages do not hold come from (Talos's images, the installer): an OCI image layout directory, or registry://HOST[:PORT] for a registry mirroring their repositories (repeatable).")
    var imagesFrom: [String] = []
    @Option(name: .customLong("insecure-registry"), help: "Allow plain HTTP to this registry host (loopback hosts always are) (repeatable).")
    var insecureRegistries: [String] = []
    @Option(name: .customLong("registry-config"), help: "Docker config.json with registry credentials (default: $DOCKER_CONFIG or ~/.docker/config.json).")
    var registryConfig: String?
    @Flag(name: .customLong("allow-missing-images"), help: "Build even when some needed image is in no source (they are listed).")
    var allowMissingImages = false
    @Option(name: .customLong("signing-key"), help: "ECDSA P-256 private key (PEM, as for packages) that signs the media manifest.")
    var signingKey: String?
    @Option(name: .customLong("kernel-arg"), help: "An extra kernel argument, after Talos's (repeatable; e.g. console=ttyS0).")
    var kernelArgs: [String] = []
    @Option(help: "A Talos ISO to take the boot assets from (instead of the site's talos.assets).") var iso: String?
    @Option(help: "A Talos kernel (with --initramfs) instead of the site's talos.assets.") var kernel: String?
    @Option(help: "A Talos initramfs (with --kernel).") var initramfs: String?
    @Option(help: "A UEFI boot loader for EFI/BOOT/BOOTX64.EFI (default: the assets', else the host's systemd-boot).") var bootloader: String?
    @Option(name: .long, help: "A Talos config patch applied after the site's patches (repeatable).") var patch: [String] = []
    @Option(name: .long, help: "Multi-document YAML with the provisioning agent's objects (inline manifest outpost-agent).")
    var agentManifests: String?
    @Flag(help: "Replace an existing output file.") var force = false
    @Flag(name: .customLong("no-progress"), help: "Do not draw progress on the terminal.") var noProgress = false
    @Option(name: .customLong("output-format"), help: "How to print the result: text or json.") var outputFormat: OutputFormat = .text

    enum MediaFormatArgument: String, ExpressibleByArgument, CaseIterable { case usb, iso }

    func validate() throws {
        if iso != nil && (kernel != nil || initramfs != nil) { throw ValidationError("give --iso or --kernel/--initramfs, not both") }
        if (kernel == nil) != (initramfs == nil) { throw ValidationError("--kernel and --initramfs go together") }
    }

    func run() async throws {
        try await reportingErrors {
            var o = MediaBuildOptions(site: site, node: node, output: output)
            o.format = format == .iso ? .iso : .usb
            o.secrets = secrets
            o.force = force
            o.imageLayouts = imagesFrom
            o.registry.insecureHosts = Set(insecureRegistries)
            o.registry.dockerConfigPath = registryConfig
            o.allowMissingImages = allowMissingImages
            o.signingKey = signingKey
            o.extraKernelArguments = kernelArgs
            o.patches = patch
            o.agentManifests = agentManifests
            if let iso { o.assets = .iso(absolute(iso)) }
            if let kernel, let initramfs { o.assets = .kernel(kernel: absolute(kernel), initramfs: absolute(initramfs), bootloader: bootloader.map(absolute)) }
            let progress = TerminalProgress.forCommand(noProgress: noProgress || outputFormat == .json)
            let r = try await MediaBuilder.build(o, progress: progress)
            if outputFormat == .json { try printJSON(r); return }
            for m in r.missingImages { printError("warning: image not on the medium: \(m)") }
            if !r.signed { printError("note: the media manifest is unsigned (pass --signing-key to sign it)") }
            print("wrote \(r.output) (\(r.format.rawValue), \(r.size) bytes)")
            print("boot loader: \(r.bootLoader)")
            print("node \(r.node) of site \(r.site): config.yaml sha256 \(r.configSHA256), \(r.images.count) images, \(r.packages.count) package file(s)")
        }
    }

    private func absolute(_ p: String) -> String {
        p.hasPrefix("/") ? p : FileManager.default.currentDirectoryPath + "/" + p
    }
}

struct MediaVerify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check a boot medium (image file or device) against its signed manifest.",
        discussion: "Checks the partition table or ISO9660 descriptors, the filesystems and labels, the manifest's signature (with --key) and every file's size and SHA-256. Every problem names the partition or volume, the file and the byte offset. Exits 1 when anything is wrong.")

    @Argument(help: "The image file or device.") var image: String
    @Option(help: "The public key (PEM) the manifest must be signed with.") var key: String?
    @Option(name: .customLong("output-format"), help: "How to print the result: text or json.") var outputFormat: OutputFormat = .text

    func run() async throws {
        let report = try await reportingErrors { try MediaVerifier.verify(path: image, publicKey: key) }
        if outputFormat == .json {
            try printJSON(report)
        } else if report.ok {
            print("\(image): ok (\(report.format), node \(report.node ?? "?") of site \(report.site ?? "?"), \(report.filesChecked) files, signature \(report.signature))")
        } else {
            printError("\(image): \(report.problems.count) problem(s):")
            for p in report.problems { printError("  " + p) }
        }
        if !report.ok { throw ExitCode.failure }
    }
}

struct MediaFlash: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flash",
        abstract: "Write a boot medium to a USB stick, then read it back and compare.",
        discussion: "Refuses a device that is not removable, is a partition, or has a mounted filesystem. A regular file is written as is (for tests and for copying). Without --yes, asks before erasing the device.")

    @Argument(help: "The image to write (from `outpost media build`).") var image: String
    @Option(help: "The whole-disk device (e.g. /dev/sdb) or a file.") var device: String
    @Flag(help: "Do not ask before erasing the device.") var yes = false
    @Flag(name: .customLong("no-progress"), help: "Do not draw progress on the terminal.") var noProgress = false
    @Option(name: .customLong("output-format"), help: "How to print the result: text or json.") var outputFormat: OutputFormat = .text

    func run() async throws {
        try await reportingErrors {
            if let why = MediaFlasher.refusal(device: device, image: image) {
                throw CommandFailure(message: "refusing to write \(device): \(why)")
            }
            if !yes {
                guard isatty(STDIN_FILENO) != 0 else {
                    throw CommandFailure(message: "refusing to erase \(device) without confirmation: pass --yes")
                }
                FileHandle.standardError.write(Data("Erase everything on \(device) and write \(image)? Type yes: ".utf8))
                guard readLine()?.trimmingCharacters(in: .whitespaces) == "yes" else {
                    throw CommandFailure(message: "not confirmed; nothing was written")
                }
            }
            let r = try MediaFlasher.flash(image: image, device: device,
                                           progress: TerminalProgress.forCommand(noProgress: noProgress || outputFormat == .json))
            if outputFormat == .json { try printJSON(r) } else {
                print("wrote \(r.bytes) bytes to \(r.device) and read them back: identical (sha256 \(r.sha256))")
            }
        }
    }
}

/// `outpost image-cache build`: Talos's image-cache tree on its own, from a package or an OCI layout.
struct ImageCacheCommands: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "image-cache",
        abstract: "Build Talos's image-cache tree (for media, or to copy onto a TALOS_ volume).",
        subcommands: [ImageCacheBuild.self])
}

struct ImageCacheBuild: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Write the image-cache tree (blob/, manifests/) of the images of packages or OCI layouts.",
        discussion: "Talos serves this tree from 127.0.0.1:3172 when it is in imagecache/ on a volume labelled TALOS_… (and machine.features.imageCache.localEnabled with a VolumeConfig IMAGECACHE is set).")

    @Option(help: "A Zarf package whose images go into the cache (repeatable).") var package: [String] = []
    @Option(name: .customLong("images-layout"), help: "An OCI image layout whose named images go into the cache (repeatable).")
    var imagesLayout: [String] = []
    @Option(name: .customLong("image"), help: "Only these images (references; repeatable). Default: every image of the sources.")
    var images: [String] = []
    @Option(name: .shortAndLong, help: "The directory to write (must not exist, unless --force).") var output: String
    @Flag(help: "Replace an existing output directory.") var force = false
    @Flag(name: .customLong("no-progress"), help: "Do not draw progress on the terminal.") var noProgress = false
    @Option(name: .customLong("output-format"), help: "How to print the result: text or json.") var outputFormat: OutputFormat = .text

    func validate() throws {
        if package.isEmpty && imagesLayout.isEmpty { throw ValidationError("give at least one --package or --images-layout") }
    }

    func run() async throws {
        try await reportingErrors {
            let sources = package.map { ImageSource.package($0) } + imagesLayout.map { ImageSource.ociLayout($0) }
            let work = URL(fileURLWithPath: output).deletingLastPathComponent().path + "/.\(URL(fileURLWithPath: output).lastPathComponent).blobs-\(getpid())"
            defer { try? FileManager.default.removeItem(atPath: work) }
            if FileManager.default.fileExists(atPath: output) && !force { throw MediaBuilderError.exists(path: output) }
            let plan = try ImageCache.plan(wanted: images.isEmpty ? nil : images, sources: sources, extractDirectory: work,
                                           progress: TerminalProgress.forCommand(noProgress: noProgress || outputFormat == .json))
            try ImageCache.materialize(plan, into: output, overwrite: force)
            if outputFormat == .json {
                try printJSON(["directory": JSONValue.string(output), "images": .object(plan.images.mapValues { .string($0) }),
                               "files": .number(Double(plan.files.count)), "bytes": .number(Double(plan.totalBytes))])
            } else {
                for (ref, digest) in plan.images.sorted(by: { $0.key < $1.key }) { print("\(ref) \(digest)") }
                print("wrote \(output): \(plan.images.count) images, \(plan.files.count) files, \(plan.totalBytes) bytes")
            }
        }
    }
}

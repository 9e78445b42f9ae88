import ArgumentParser
import Foundation
import OutpostCore
import PackageBuilder
import Packaging
import Registry

/// `outpost package create`: a definition directory in, one signed, checksummed package out.
struct PackageCreate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Create a Zarf-compatible package from a zarf.yaml definition.",
        discussion: """
        Pulls every image (or imports it from imageArchives), stages charts, manifests, files and git \
        repositories, runs onCreate actions, and writes zarf-package-<name>-<arch>[-<version>][-<flavor>].tar.zst \
        with checksums.txt and, with --signing-key, zarf.yaml.sig. Reproducible: the same inputs give the same bytes \
        (set SOURCE_DATE_EPOCH to fix the build timestamp).
        """)

    @Argument(help: "Directory holding zarf.yaml.") var directory: String = "."
    @Option(name: [.short, .customLong("output")], help: "Directory to write the package to.") var outputDirectory: String = "."
    @Option(name: .customLong("set"), help: "Create-time template value KEY=VALUE for ###ZARF_PKG_TMPL_KEY### (repeatable).")
    var setValues: [String] = []
    @Option(help: "Flavor to build (components with a different only.flavor are left out).") var flavor: String?
    @Option(name: [.short, .long], help: "Architecture to build for (amd64, arm64). Default: metadata.architecture, else this machine's.")
    var architecture: String?
    @Option(name: .customLong("max-package-size"), help: "Split the package into parts of at most this many MB (1 MB = 1,000,000 bytes).")
    var maxPackageSize: Int?
    @Option(name: .customLong("signing-key"), help: "ECDSA P-256 private key (PEM) to sign zarf.yaml with.") var signingKey: String?
    @Option(name: .customLong("registry-override"), help: "Pull images of registry SRC from DST instead: SRC=DST (repeatable).")
    var registryOverrides: [String] = []
    @Option(name: .customLong("insecure-registry"), help: "Allow plain HTTP to this registry host (loopback hosts always are) (repeatable).")
    var insecureRegistries: [String] = []
    @Option(name: .customLong("registry-config"), help: "Docker config.json with registry credentials (default: $DOCKER_CONFIG or ~/.docker/config.json).")
    var registryConfig: String?
    @Option(name: .customLong("config"), help: "A zarf-config.yaml with package.create.set values.") var configFile: String?
    @Flag(name: .long, help: "Overwrite an existing package of the same name.") var force = false
    @Flag(name: .long, help: ArgumentHelp(
        "Wait until the package is on disk (fsync) before moving it into place.",
        discussion: "Off by default, as with tar, skopeo and zarf: a package torn by a power cut fails its checksums at verify and deploy."))
    var sync = false
    @Flag(name: .customLong("no-progress"), help: "Do not draw progress on the terminal.") var noProgress = false
    @Option(name: .customLong("output-format"), help: "How to print the result: text (the package path) or json.") var outputFormat: OutputFormat = .text

    func parsePairs(_ list: [String], flag: String) throws -> [String: String] {
        var out: [String: String] = [:]
        for item in list {
            guard let eq = item.firstIndex(of: "="), eq != item.startIndex else {
                throw ValidationError("\(flag) \"\(item)\": expected KEY=VALUE")
            }
            out[String(item[..<eq])] = String(item[item.index(after: eq)...])
        }
        return out
    }

    func run() async throws {
        let sets = try parsePairs(setValues, flag: "--set")
        let overrides = try parsePairs(registryOverrides, flag: "--registry-override")
        if let m = maxPackageSize, m <= 0 { throw ValidationError("--max-package-size must be a positive number of MB") }
        try await reportingErrors {
            var def = DefinitionOptions(architecture: architecture, flavor: flavor, setValues: sets, configFile: configFile,
                                        registryOverrides: overrides)
            def.toolVersion = "v" + (Outpost.configuration.version.isEmpty ? "0.1.0" : Outpost.configuration.version)
            var reg = RegistryConfiguration()
            reg.dockerConfigPath = registryConfig
            reg.insecureHosts = Set(insecureRegistries)
            let options = CreateOptions(definition: def, outputDirectory: outputDirectory, maxPackageSizeMB: maxPackageSize,
                                        signingKeyPath: signingKey, overwrite: force, registry: reg,
                                        syncToDisk: sync)
            let quiet = outputFormat == .json
            let creator = PackageCreator(progress: TerminalProgress.forCommand(noProgress: noProgress || quiet),
                                         log: { line in if !quiet { printError(line.trimmingCharacters(in: .newlines)) } })
            let path = try await creator.create(directory: directory, options: options)
            if outputFormat == .json {
                try printJSON(["package": path])
            } else {
                print(path)
            }
        }
    }
}

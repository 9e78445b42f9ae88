import ArgumentParser
import Archiving
import Foundation
import OutpostCore
import Talos

/// `outpost talos …`: Talos secrets, per-node machine configs and the talosconfig for a site.
struct TalosCommands: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "talos",
        abstract: "Generate Talos secrets, machine configs and talosconfig for an offline site.",
        subcommands: [TalosGen.self])
}

struct TalosGen: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gen",
        abstract: "Generate Talos files.",
        subcommands: [TalosGenSecrets.self, TalosGenConfig.self])
}

struct TalosGenSecrets: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "secrets",
        abstract: "Generate a secrets bundle (CAs, keys, tokens) in talosctl's layout, mode 0600.",
        discussion: "The bundle is every secret of the cluster: keep it safe and keep it; configs are regenerated from it.")

    @Option(name: .shortAndLong, help: "Where to write the bundle.")
    var output: String = "secrets.yaml"

    @Flag(help: "Replace an existing bundle (its cluster can no longer be managed with the new one).")
    var force = false

    func run() async throws {
        do {
            if !force && FileManager.default.fileExists(atPath: output) { throw TalosError.exists(path: output) }
            let bundle = try SecretsBundle.generate()
            try TalosFiles.writeSecrets(bundle, to: output, force: force)
            print("wrote \(output)")
        } catch let e as TalosError {
            FileHandle.standardError.write(Data("error: \(e)\n".utf8))
            throw ExitCode(1)
        }
    }
}

struct TalosGenConfig: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Generate each node's machine config (DIR/<node>.yaml) and DIR/talosconfig from a site.",
        discussion: """
            Patches are applied in this order: the site's patches.all, patches.<role>, the node's own patches, \
            then every --patch, in the order given. A patch is a strategic merge (YAML, one or more documents) \
            or an RFC 6902 list of operations (refused here: Outpost's configs are multi-document).
            """)

    @Argument(help: "The site definition (YAML).")
    var site: String

    @Option(help: "The secrets bundle from `outpost talos gen secrets`.")
    var secrets: String

    @Option(name: .shortAndLong, help: "Output directory.")
    var output: String = "."

    @Option(name: .long, help: "A patch file applied to every node after the site's patches (repeatable).")
    var patch: [String] = []

    @Option(name: .long, help: "Multi-document YAML with the provisioning agent's objects (inline manifest outpost-agent).")
    var agentManifests: String?

    @Option(name: .long, help: "How the bootstrap node starts etcd: init (by itself, no operator) or api (wait for `talosctl bootstrap`).")
    var bootstrap: BootstrapChoice = .initType

    @Flag(help: "Overwrite existing files in the output directory.")
    var force = false

    @Option(name: .customLong("format"), help: "Report format: text or json.")
    var format: SiteOutputFormat = .text

    enum BootstrapChoice: String, ExpressibleByArgument, CaseIterable { case initType = "init", api }

    func run() async throws {
        var options = TalosFiles.GenerateOptions()
        options.patches = patch
        options.agentManifests = agentManifests
        options.bootstrapMode = bootstrap == .api ? .apiCall : .initType
        options.force = force
        options.readPackageManifest = { path in
            // zarf.yaml comes first in a Zarf package; stop as soon as it is found.
            let reader = try TarReader(path: path)
            while let entry = try reader.next() {
                if entry.isRegularFile && (entry.name == "zarf.yaml" || entry.name == "./zarf.yaml") {
                    return String(decoding: try reader.readAll(limit: 16 << 20), as: UTF8.self)
                }
            }
            return nil
        }
        do {
            let r = try TalosFiles.generateConfigs(site: site, secrets: secrets, outputDir: output, options: options)
            switch format {
            case .text:
                for n in r.notes { FileHandle.standardError.write(Data("note: \(n)\n".utf8)) }
                for f in r.files { print("wrote \(f)") }
                print("registry mirrors → in-cluster registry: \(r.mirroredRegistries.joined(separator: ", "))")
            case .json:
                try printSiteJSON(["files": .array(r.files.map { .string($0) }),
                               "mirroredRegistries": .array(r.mirroredRegistries.map { .string($0) }),
                               "notes": .array(r.notes.map { .string($0) })])
            }
        } catch let e as TalosError {
            FileHandle.standardError.write(Data("error: \(e)\n".utf8))
            throw ExitCode(1)
        }
    }
}

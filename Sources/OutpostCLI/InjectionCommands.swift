import ArgumentParser
import Archiving
import Foundation
import Injection
import OCI
import OutpostCore

/// `outpost init …`: seed-registry injection. `plan` writes the payload chunks and the Kubernetes
/// objects for an operator to inspect or apply by hand.
struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Seed a cluster that has no registry yet (the injector).",
        subcommands: [InitPlanCommand.self]
    )
}

struct InitPlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Write the seed payload chunks and the injector's Kubernetes objects to a directory.",
        discussion: """
        PKG is a package archive (.tar or .tar.zst), an unpacked package directory (with images/), or an
        OCI image layout. The output directory receives chunks/zarf-payload-NNN, manifests/*.json (apply
        them in name order: kubectl apply -f DIR/manifests) and plan.json.

        Without --nodes and --pods the Pod has no nodeName and a placeholder image: set both by hand, or
        give the JSON of `kubectl get nodes -o json` and `kubectl get pods -A -o json` to choose them.
        """
    )

    @Argument(help: "The package: archive, unpacked directory, or OCI image layout.")
    var package: String

    @Option(name: .long, help: "Directory to write the plan into (created if missing).")
    var outputDir: String

    @Option(name: .long, help: "A seed image (repeatable), e.g. docker.io/library/registry:2.8.2. Default: the layout's only image.")
    var seedImage: [String] = []

    @Option(name: .long, help: "Package name for the zarf.dev/package label.")
    var packageName: String = "init"

    @Option(name: .long, help: "Architecture of the package (the injector node's architecture).")
    var architecture: String = "amd64"

    @Option(name: .long, help: "The injector binary to put in the rust-binary ConfigMap.")
    var injector: String = ".build/injector/outpost-injector"

    @Option(name: .long, help: "JSON node list (kubectl get nodes -o json).")
    var nodes: String?

    @Option(name: .long, help: "JSON pod list (kubectl get pods -A -o json).")
    var pods: String?

    @Option(name: .long, help: "Output format: text or json.")
    var output: OutputFormat = .text

    enum OutputFormat: String, ExpressibleByArgument { case text, json }

    func validate() throws {
        if (nodes == nil) != (pods == nil) { throw ValidationError("--nodes and --pods go together") }
    }

    func run() throws {
        let fm = FileManager.default
        var cleanup: String? = nil
        defer { if let cleanup { try? fm.removeItem(atPath: cleanup) } }
        let layoutPath: String
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: package, isDirectory: &isDir) else { throw InitPlanError("\(package): no such file or directory") }
        if isDir.boolValue {
            layoutPath = fm.fileExists(atPath: package + "/oci-layout") ? package : package + "/images"
        } else {
            let tmp = fm.temporaryDirectory.appendingPathComponent("outpost-init-\(UUID().uuidString)").path
            try fm.createDirectory(atPath: tmp, withIntermediateDirectories: true)
            cleanup = tmp
            let reader = try TarReader(path: package)
            while let entry = try reader.next() {
                guard entry.name.hasPrefix("images/") else { continue }
                let dest = tmp + "/" + entry.name
                if entry.isDirectory { try fm.createDirectory(atPath: dest, withIntermediateDirectories: true); continue }
                guard entry.isRegularFile else { continue }
                try fm.createDirectory(atPath: (dest as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try reader.extract(to: dest)
            }
            layoutPath = tmp + "/images"
        }
        let store = try LayoutStore(path: layoutPath, create: false)
        var seeds = try seedImage.map { try ImageReference(parsing: $0) }
        if seeds.isEmpty {
            let names = try store.readIndex().manifests.compactMap { $0.annotations?[Annotation.baseName] }
            guard names.count == 1 else {
                throw InitPlanError("the package has \(names.count) images (\(names.joined(separator: ", "))): name the seed image with --seed-image")
            }
            seeds = [try ImageReference(parsing: names[0])]
        }
        func readJSON(_ path: String?) throws -> JSONValue? {
            guard let path else { return nil }
            guard let data = fm.contents(atPath: path) else { throw InitPlanError("\(path): cannot be read") }
            do { return try JSONValue.parse(data) } catch { throw InitPlanError("\(path): not JSON: \(error)") }
        }
        let request = InitPlanRequest(packageName: packageName, architecture: architecture, seedImages: seeds,
                                      injectorBinary: injector, nodes: try readJSON(nodes), pods: try readJSON(pods))
        let result = try InitPlanner.plan(request, store: store, outputDirectory: outputDir)
        switch output {
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(result), as: UTF8.self))
        case .text:
            print("payload: \(result.payloadSize) bytes, sha256 \(result.payloadSHA256), \(result.chunks.count) chunks")
            for image in result.images { print("seed image: \(image.pathAndTag) \(image.digest)") }
            if let p = result.placement {
                print("injector: node \(p.nodeName), image \(p.image) (from pod \(p.sourcePod))")
            } else {
                print("injector: no --nodes/--pods given: set spec.nodeName and the image in manifests/30-pod-injector.json")
            }
            print("wrote \(outputDir)/chunks, \(outputDir)/manifests (\(result.manifests.count) objects), \(outputDir)/plan.json")
        }
    }
}

/// A one-line error for the command line.
struct InitPlanError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

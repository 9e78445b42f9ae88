import ArgumentParser
import Charts
import Foundation
import OutpostCore

/// `outpost chart`: Helm charts rendered natively (no helm binary on site).
struct ChartCommands: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chart",
        abstract: "Render Helm charts natively, as `helm template` does.",
        subcommands: [ChartTemplate.self]
    )
}

struct ChartTemplate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "template",
        abstract: "Render a chart's templates locally, with the same output as `helm template`.",
        discussion: "Arguments: [NAME] CHART, where CHART is a chart directory or a .tgz archive."
    )

    @Argument(help: "[NAME] CHART: an optional release name, then the chart directory or .tgz archive.")
    var arguments: [String]

    @Option(name: [.customShort("f"), .customLong("values")], help: "A YAML values file (repeatable; later files win).")
    var valueFiles: [String] = []
    @Option(name: .customLong("set"), help: "Set values: key1=val1,key2=val2 (repeatable).")
    var set: [String] = []
    @Option(name: .customLong("set-string"), help: "Set STRING values: key1=val1,key2=val2 (repeatable).")
    var setString: [String] = []
    @Option(name: .customLong("set-file"), help: "Set values from files: key1=path1,key2=path2 (repeatable).")
    var setFile: [String] = []
    @Option(name: .customLong("set-json"), help: "Set JSON values: key1=jsonval1,key2=jsonval2 (repeatable).")
    var setJSON: [String] = []
    @Option(name: .customLong("set-literal"), help: "Set one literal STRING value: key=value, the value taken verbatim (repeatable).")
    var setLiteral: [String] = []
    @Option(name: .customLong("name-template"), help: "A template used to name the release.")
    var nameTemplate: String?
    @Option(name: [.customShort("n"), .customLong("namespace")], help: "The release namespace.")
    var namespace: String = "default"
    @Option(name: .customLong("kube-version"), help: "Kubernetes version for .Capabilities.KubeVersion (default 1.20.0, as helm's tests).")
    var kubeVersion: String?
    @Option(name: [.customShort("a"), .customLong("api-versions")], help: "Kubernetes API versions for .Capabilities.APIVersions (comma-separated, repeatable).")
    var apiVersions: [String] = []
    @Flag(name: .customLong("include-crds"), help: "Include CRDs in the output.")
    var includeCRDs = false
    @Flag(name: .customLong("skip-tests"), help: "Skip test hooks in the output.")
    var skipTests = false
    @Option(name: [.customShort("s"), .customLong("show-only")], help: "Only show manifests rendered from the given template path or glob (repeatable).")
    var showOnly: [String] = []
    @Flag(name: .customLong("is-upgrade"), help: "Set .Release.IsUpgrade instead of .Release.IsInstall.")
    var isUpgrade = false
    @Flag(name: .customLong("deterministic"), help: "Fixed clock and seeded randomness (now, randAlphaNum, uuidv4) for reproducible output.")
    var deterministic = false
    @Flag(name: .customLong("timings"), help: "Print how long each rendering phase took to stderr (for profiling).")
    var timings = false
    @Option(name: .customLong("output"), help: "Output format: text (helm's) or json (the objects, for scripts).")
    var output: String = "text"

    func validate() throws {
        guard (1...2).contains(arguments.count) else { throw ValidationError("expected [NAME] CHART") }
        guard output == "text" || output == "json" else { throw ValidationError("--output must be text or json") }
    }

    func run() throws {
        let chartPath = arguments.last!
        var options = RenderOptions()
        if arguments.count == 2 { options.releaseName = arguments[0] }
        options.nameTemplate = nameTemplate
        options.namespace = namespace
        if let kubeVersion { options.kubeVersion = kubeVersion }
        options.apiVersions = apiVersions.flatMap { $0.split(separator: ",").map { String($0) } }
        options.includeCRDs = includeCRDs
        options.skipTests = skipTests
        options.showOnly = showOnly
        options.isUpgrade = isUpgrade
        options.deterministic = deterministic
        if timings {
            options.phaseTimer = { name, seconds in
                FileHandle.standardError.write(Data("timing: \(name.padding(toLength: 26, withPad: " ", startingAt: 0)) \(String(format: "%8.3f", seconds)) s\n".utf8))
            }
        }
        let values = Values.Options(valueFiles: valueFiles, values: set, stringValues: setString, fileValues: setFile,
            jsonValues: setJSON, literalValues: setLiteral)
        do {
            if output == "json" {
                let objects = try ChartRenderer.objects(chartPath: chartPath, values: values, options: options)
                let enc = JSONEncoder()
                enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                FileHandle.standardOutput.write(try enc.encode(objects))
                FileHandle.standardOutput.write(Data("\n".utf8))
                return
            }
            let release = try ChartRenderer.render(chartPath: chartPath, values: values, options: options)
            let text = try options.phase("write output") { try ChartRenderer.templateOutput(release, options: options) }
            FileHandle.standardOutput.write(Data(text.utf8))
        } catch let e as ChartError {
            switch e {
            case .template, .output:
                throw ChartCommandError(message: "\(e)\n\nUse --debug flag to render out invalid YAML")
            default:
                throw ChartCommandError(message: e.description)
            }
        }
    }
}

/// A chart failure as the CLI prints it (Helm's wording after "Error: ").
struct ChartCommandError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

import ArgumentParser
import Foundation
import OutpostCore
import Talos

/// `outpost site …`: work with a site definition (one file describing a site's Talos cluster and nodes).
struct SiteCommands: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "site",
        abstract: "Work with a site definition (see talos/site.example.yaml).",
        subcommands: [SiteLint.self])
}

struct SiteLint: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lint",
        abstract: "Check a site definition; exits 0 only when it is valid.",
        discussion: "Every problem is reported as FILE:LINE:COLUMN: KEY: REASON. Patch files are resolved relative to the site file.")

    @Argument(help: "The site definition (YAML).")
    var site: String

    @Option(name: .long, help: "Output format: text or json.")
    var output: SiteOutputFormat = .text

    func run() async throws {
        do {
            let s = try TalosFiles.loadSite(site)
            switch output {
            case .text:
                print("\(site): valid site \(s.name): \(s.controlPlanes.count) control plane(s), \(s.workers.count) worker(s)")
            case .json:
                try printSiteJSON(["valid": true, "site": .string(s.name), "issues": []])
            }
        } catch TalosError.invalidSite(let issues) {
            switch output {
            case .text:
                FileHandle.standardError.write(Data((TalosError.invalidSite(issues).description + "\n").utf8))
            case .json:
                try printSiteJSON(["valid": false, "issues": .array(issues.map { i in
                    ["file": .string(i.file), "line": i.line.map { .number(Double($0)) } ?? .null,
                     "column": i.column.map { .number(Double($0)) } ?? .null,
                     "key": .string(i.key), "reason": .string(i.reason)]
                })])
            }
            throw ExitCode(1)
        } catch let e as TalosError {
            FileHandle.standardError.write(Data("error: \(e)\n".utf8))
            throw ExitCode(1)
        }
    }
}

/// `--output` choices shared by the Talos and site commands.
enum SiteOutputFormat: String, ExpressibleByArgument, CaseIterable { case text, json }

func printSiteJSON(_ value: JSONValue) throws {
    print(String(decoding: try value.encoded(pretty: true), as: UTF8.self))
}

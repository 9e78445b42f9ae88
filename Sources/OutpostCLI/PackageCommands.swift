import ArgumentParser
import Foundation
import Packaging

/// `outpost package`: lint a definition, inspect and verify package archives (create lives in
/// PackageCreateCommand.swift).
struct PackageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "package",
        abstract: "Create, lint, inspect and verify Zarf-compatible packages.",
        subcommands: [
            // one line per subcommand:
            PackageLint.self,
            PackageInspect.self,
            PackageVerify.self,
            PackageCreate.self,
        ]
    )
}

/// Small helpers shared by the package and keys commands (kept in one namespace so they never clash
/// with other command groups).
enum PackagingCLI {
    enum Format: String, ExpressibleByArgument, CaseIterable { case text, json }

    static func stderr(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }
    static func stdout(_ s: String) { FileHandle.standardOutput.write(Data((s + "\n").utf8)) }

    static func json<T: Encodable>(_ value: T) throws {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        FileHandle.standardOutput.write(try e.encode(value))
        FileHandle.standardOutput.write(Data("\n".utf8))
    }

    /// Runs `body`; a thrown error becomes `error: …` on stderr and exit code 1.
    static func run(_ body: () throws -> Void) throws {
        do { try body() } catch let e as ExitCode { throw e } catch let e as CleanExit { throw e } catch {
            stderr("error: \(error)")
            throw ExitCode.failure
        }
    }

    /// Parses repeated `KEY=VALUE` options.
    static func keyValues(_ items: [String], option: String) throws -> [String: String] {
        var out: [String: String] = [:]
        for item in items {
            guard let eq = item.firstIndex(of: "="), eq != item.startIndex else {
                throw ValidationError("\(option) expects KEY=VALUE, got \"\(item)\"")
            }
            out[String(item[..<eq])] = String(item[item.index(after: eq)...])
        }
        return out
    }
}

/// `outpost package lint DIR`: checks zarf.yaml against Zarf's schema and naming rules, offline.
struct PackageLint: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lint",
        abstract: "Check a package definition (DIR/zarf.yaml) without any network; exit 0 only when it is valid.")

    @Argument(help: "Directory holding zarf.yaml.") var directory: String = "."
    @Option(name: .long, help: "Print issues as text or json.") var output: PackagingCLI.Format = .text

    func run() async throws {
        try PackagingCLI.run {
            let report = try PackageDefinition.lint(directory: directory)
            if output == .json {
                struct Issue: Encodable { let file: String; let line: Int?; let path: String; let message: String; let severity: String }
                struct Out: Encodable { let valid: Bool; let issues: [Issue] }
                let issues = report.errors.map { Issue(file: $0.file, line: $0.line, path: $0.path, message: $0.message, severity: "error") }
                    + report.warnings.map { Issue(file: $0.file, line: $0.line, path: $0.path, message: $0.message, severity: "warning") }
                try PackagingCLI.json(Out(valid: report.isValid, issues: issues))
            } else {
                for w in report.warnings { PackagingCLI.stderr("warning: \(w)") }
                for e in report.errors { PackagingCLI.stderr("error: \(e)") }
                if report.isValid { PackagingCLI.stdout("\(directory)/zarf.yaml is valid") }
            }
            if !report.isValid { throw ExitCode.failure }
        }
    }
}

/// `outpost package inspect PKG`: metadata, components, images and checksum state.
struct PackageInspect: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show a package's metadata, components, images (digests, sizes) and checksum state.")

    @Argument(help: "Package file (.tar.zst, .tar, or the .part000 of a split package).") var package: String
    @Option(name: .long, help: "Public key (PEM) to check the signature with.") var key: String?
    @Option(name: .long, help: "Print as text or json.") var output: PackagingCLI.Format = .text

    func run() async throws {
        try PackagingCLI.run {
            let contents = try PackageReader.read(path: package, publicKeyPath: key)
            let inspection = PackageInspection(contents)
            if output == .json { try PackagingCLI.json(inspection) } else { PackagingCLI.stdout(inspection.text) }
        }
    }
}

/// `outpost package verify PKG [--key PUBKEY]`: every integrity check Zarf's loader makes, plus the signature.
struct PackageVerify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify a package: aggregate checksum, every file, unlisted files, path safety, and the signature with --key.")

    @Argument(help: "Package file (.tar.zst, .tar, or the .part000 of a split package).") var package: String
    @Option(name: .long, help: "Public key (PEM) the package must be signed with.") var key: String?

    func run() async throws {
        try PackagingCLI.run {
            let c = try PackageReader.verify(path: package, publicKeyPath: key)
            let files = c.entries.filter { !PackageLayout.unlistedFiles.contains($0.name) }.count
            PackagingCLI.stdout("\(package): valid (\(files) files match checksums.txt, aggregate checksum \(c.package.metadata?.aggregateChecksum ?? ""))")
            if c.signatureVerified == true {
                PackagingCLI.stdout("signature: verified with \(key ?? "")")
            } else if c.signature != nil {
                PackagingCLI.stdout("signature: present, not checked (pass --key PUBKEY)")
            } else {
                PackagingCLI.stdout("signature: none")
            }
        }
    }
}

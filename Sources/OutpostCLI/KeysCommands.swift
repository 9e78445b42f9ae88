import ArgumentParser
import Foundation
import Packaging

/// `outpost keys`: signing keys for packages.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Manage package signing keys.",
        subcommands: [KeysGenerate.self]
    )
}

/// `outpost keys generate -o NAME`: an ECDSA P-256 pair, NAME.key (PKCS#8 PEM, 0600) and NAME.pub.
struct KeysGenerate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate an ECDSA P-256 key pair: NAME.key (PKCS#8 PEM, mode 0600) and NAME.pub (PEM).")

    @Option(name: [.customShort("o"), .customLong("output")], help: "Base name of the key files.") var name: String
    @Flag(name: .long, help: "Overwrite existing key files.") var force = false

    func run() async throws {
        try PackagingCLI.run {
            let (priv, pub) = try PackageSigning.writeKeyPair(name: name, overwrite: force)
            PackagingCLI.stdout("wrote \(priv) (private, keep it secret) and \(pub) (public)")
        }
    }
}

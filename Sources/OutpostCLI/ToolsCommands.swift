import ArgumentParser
import OCI

/// `outpost tools`: small helpers that print what Outpost (and Zarf) would name things inside an
/// air-gapped cluster, for scripts and for checking by hand.
struct ToolsCommands: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tools",
        abstract: "Helpers that show Zarf-compatible names for images and git repositories.",
        subcommands: [ImageTransform.self, GitTransform.self]
    )
}

struct ImageTransform: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "image-transform",
        abstract: "Print the reference an image gets in the internal registry.",
        discussion: """
        Tagged images get `<registry>/<path>:<tag>-zarf-<crc32>`; digest-pinned images keep their digest;
        an image already in the registry is unchanged. Example:
          outpost tools image-transform nginx --registry 127.0.0.1:31999
          127.0.0.1:31999/library/nginx:latest-zarf-3793515731
        """
    )

    @Argument(help: "The image reference (e.g. nginx, ghcr.io/org/app:1.2, app@sha256:…).")
    var reference: String

    @Option(name: .customLong("registry"), help: "The internal registry host[:port] (e.g. 127.0.0.1:31999).")
    var registry: String

    @Flag(name: .customLong("no-checksum"), help: "Print the plain-tag form (no -zarf-<crc32> suffix), also pushed.")
    var noChecksum = false

    func run() throws {
        let ref = try ImageReference(parsing: reference)
        print(noChecksum ? ZarfTransform.imagePlainTag(ref, targetHost: registry) : ZarfTransform.image(ref, targetHost: registry))
    }
}

struct GitTransform: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "git-transform",
        abstract: "Print the mirror URL a git repository gets on the internal git server.",
        discussion: """
        Example:
          outpost tools git-transform https://github.com/zarf-dev/zarf.git --server http://git.local --user zarf-git-user
          http://git.local/zarf-git-user/zarf-4156197301.git
        """
    )

    @Argument(help: "The git URL (scheme://host/path/repo[.git][@ref]).")
    var url: String

    @Option(name: .customLong("server"), help: "The internal git server's base URL.")
    var server: String

    @Option(name: .customLong("user"), help: "The push user on the git server.")
    var user: String

    func run() throws {
        print(try ZarfTransform.gitURL(url, server: server, user: user))
    }
}

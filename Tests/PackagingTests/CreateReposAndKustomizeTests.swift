import Foundation
import Testing
import TestSupport

/// `repos` are mirrored with the host's git, and `kustomizations` rendered with `kubectl kustomize`,
/// both checked in the written package.
@Suite(.serialized) struct CreateReposAndKustomizeTests {
    @Test func gitMirrorAndKustomization() async throws {
        try await withTemporaryDirectory { work in
            let src = work + "/src/app"
            try FileManager.default.createDirectory(atPath: src, withIntermediateDirectories: true)
            try "hello\n".write(toFile: src + "/README", atomically: true, encoding: .utf8)
            let git = ["-c", "user.email=t@example.com", "-c", "user.name=t"]
            try ProcessRunner.run("git", ["init", "-q", src], check: true)
            try ProcessRunner.run("git", git + ["-C", src, "add", "README"], check: true)
            try ProcessRunner.run("git", git + ["-C", src, "commit", "-qm", "one"], check: true)
            try ProcessRunner.run("git", git + ["-C", src, "tag", "v1.0.0"], check: true)
            try ProcessRunner.run("git", ["clone", "-q", "--bare", src, work + "/remote/app.git"], check: true)

            let def = work + "/def"
            try FileManager.default.createDirectory(atPath: def + "/kust", withIntermediateDirectories: true)
            try "resources: [cm.yaml]\nnamePrefix: pre-\n".write(toFile: def + "/kust/kustomization.yaml", atomically: true, encoding: .utf8)
            try "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata: {a: b}\n".write(toFile: def + "/kust/cm.yaml", atomically: true, encoding: .utf8)
            try """
            kind: ZarfPackageConfig
            metadata: {name: repos, architecture: amd64}
            components:
              - name: c
                repos:
                  - file://\(work)/remote/app.git
                  - file://\(work)/remote/app.git@v1.0.0
                manifests:
                  - name: k
                    kustomizations: [kust]
            """.write(toFile: def + "/zarf.yaml", atomically: true, encoding: .utf8)
            let r = try Outpost.run(["package", "create", def, "-o", work + "/out"])
            #expect(r.status == 0, "\(r.err)")
            let x = work + "/x"
            try FileManager.default.createDirectory(atPath: x, withIntermediateDirectories: true)
            try ProcessRunner.run("tar", ["-I", "zstd", "-xf", work + "/out/zarf-package-repos-amd64.tar.zst", "-C", x], check: true)
            try ProcessRunner.run("tar", ["-xf", x + "/components/c.tar", "-C", x], check: true)
            let kust = try String(contentsOfFile: x + "/c/manifests/kustomization-k-0.yaml", encoding: .utf8)
            #expect(kust.contains("name: pre-cfg"))
            let repos = try FileManager.default.contentsOfDirectory(atPath: x + "/c/repos").sorted()
            #expect(repos.count == 2)
            // Each mirror is a git repository git itself can read, holding the tagged commit.
            for repo in repos {
                let log = try ProcessRunner.run("git", ["-C", x + "/c/repos/" + repo, "log", "--oneline", "v1.0.0"])
                    .out + (try ProcessRunner.run("git", ["-C", x + "/c/repos/" + repo, "log", "--oneline", "-1", "HEAD"]).out)
                #expect(log.contains("one"), "\(repo): \(log)")
            }
        }
    }
}

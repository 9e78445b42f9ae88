import Foundation
import OutpostCore
import Talos
import TestSupport
import Testing

/// Runs the real `outpost` executable end to end.
@Suite("outpost talos / site commands")
struct CLITests {
    func outpost(_ args: [String], cwd: String? = nil) throws -> ProcessResult {
        try Outpost.run(args, cwd: cwd)
    }

    @Test func genSecretsRefusesToOverwriteWithoutForce() throws {
        try withTemporaryDirectorySync { dir in
            let path = "\(dir)/secrets.yaml"
            let first = try outpost(["talos", "gen", "secrets", "-o", path])
            #expect(first.status == 0, "\(first.err)")
            let attrs = try FileManager.default.attributesOfItem(atPath: path)
            #expect((attrs[.posixPermissions] as? NSNumber)?.intValue == 0o600)
            let bundle = try TalosFiles.readSecrets(path)
            let again = try outpost(["talos", "gen", "secrets", "-o", path])
            #expect(again.status != 0)
            #expect(again.err.contains("already exists; refusing to overwrite it (pass --force"))
            #expect(try TalosFiles.readSecrets(path) == bundle)
            let forced = try outpost(["talos", "gen", "secrets", "-o", path, "--force"])
            #expect(forced.status == 0)
            #expect(try TalosFiles.readSecrets(path).os != bundle.os)
        }
    }

    @Test func siteLintExitCodesAndMessages() throws {
        let ok = try outpost(["site", "lint", exampleSitePath])
        #expect(ok.status == 0, "\(ok.err)")
        try withTemporaryDirectorySync { dir in
            try write(validSiteYAML.replacingOccurrences(of: "role: worker", with: "role: boss"), "\(dir)/site.yaml")
            let bad = try outpost(["site", "lint", "\(dir)/site.yaml"])
            #expect(bad.status == 1)
            #expect(bad.err.contains("\(dir)/site.yaml:21:11: nodes[1].role: unknown role \"boss\" (controlplane | worker)"))
            let json = try outpost(["site", "lint", "\(dir)/site.yaml", "--output", "json"])
            #expect(json.status == 1)
            let report = try JSONValue.parse(json.stdout)
            #expect(report["valid"] == false)
            #expect(report["issues"]?[0]?["key"] == "nodes[1].role")
            #expect(report["issues"]?[0]?["line"] == 21)
        }
    }

    @Test func genConfigWritesEveryNodeAndTalosconfig() throws {
        try withTemporaryDirectorySync { dir in
            #expect(try outpost(["talos", "gen", "secrets", "-o", "\(dir)/secrets.yaml"]).status == 0)
            try write("machine: {nodeLabels: {from-cli: \"yes\"}}\n", "\(dir)/cli.yaml")
            let r = try outpost(["talos", "gen", "config", exampleSitePath, "--secrets", "\(dir)/secrets.yaml",
                                 "-o", "\(dir)/out", "--patch", "\(dir)/cli.yaml", "--bootstrap", "api"])
            #expect(r.status == 0, "\(r.err)")
            #expect(Set(try FileManager.default.contentsOfDirectory(atPath: "\(dir)/out")) == ["cp-1.yaml", "worker-1.yaml", "talosconfig"])
            for f in ["cp-1.yaml", "worker-1.yaml", "talosconfig"] {
                let attrs = try FileManager.default.attributesOfItem(atPath: "\(dir)/out/\(f)")
                #expect((attrs[.posixPermissions] as? NSNumber)?.intValue == 0o600, "\(f)")
            }
            for node in ["cp-1", "worker-1"] {
                let text = try String(contentsOfFile: "\(dir)/out/\(node).yaml", encoding: .utf8)
                let docs = try YAMLDocuments.parse(text, file: node)
                let errors = try schemaErrors(docs)
                #expect(errors.filter { !$0.isEmpty }.isEmpty, "\(node): \(errors)")
                let labels = docs[0]["machine"]?["nodeLabels"]
                #expect(labels?["from-cli"] == "yes")
                #expect(labels?["topology.kubernetes.io/region"] == "windfarm-7")   // site patches.all
                #expect((labels?["outpost.dev/rack"] == "b2") == (node == "worker-1")) // node's own patch
            }
            // the output exists now: no overwrite without --force
            let again = try outpost(["talos", "gen", "config", exampleSitePath, "--secrets", "\(dir)/secrets.yaml", "-o", "\(dir)/out"])
            #expect(again.status == 1)
            #expect(again.err.contains("already exists"))
        }
    }

    @Test func genConfigRejectsBadInputWithoutWritingAnything() throws {
        try withTemporaryDirectorySync { dir in
            #expect(try outpost(["talos", "gen", "secrets", "-o", "\(dir)/secrets.yaml"]).status == 0)
            try write("- {op: add, path: /machine/nodeLabels, value: {a: b}}\n", "\(dir)/json.yaml")
            let r = try outpost(["talos", "gen", "config", exampleSitePath, "--secrets", "\(dir)/secrets.yaml",
                                 "-o", "\(dir)/out", "--patch", "\(dir)/json.yaml"])
            #expect(r.status == 1)
            #expect(r.err.contains("RFC 6902 JSON patches apply only to single-document configs"))
            #expect(!FileManager.default.fileExists(atPath: "\(dir)/out/cp-1.yaml"))
            try write("cluster: {id: x}\n", "\(dir)/bad-secrets.yaml")
            let s = try outpost(["talos", "gen", "config", exampleSitePath, "--secrets", "\(dir)/bad-secrets.yaml", "-o", "\(dir)/out2"])
            #expect(s.status == 1)
            #expect(s.err.contains("bad-secrets.yaml: secrets bundle key cluster.id"))
        }
    }

    @Test func packageImagesGetRegistryMirrors() throws {
        try withTemporaryDirectorySync { dir in
            // a package archive made by real tar + zstd, holding only its zarf.yaml
            try FileManager.default.createDirectory(atPath: "\(dir)/pkg", withIntermediateDirectories: true)
            try write("""
                kind: ZarfPackageConfig
                metadata: {name: demo}
                components:
                  - name: app
                    images: [quay.io/prometheus/node-exporter:v1.8.0, "nginx:1.27", "registry.example:5000/team/app@sha256:\(String(repeating: "a", count: 64))"]
                """, "\(dir)/pkg/zarf.yaml")
            try ProcessRunner.run("tar", ["--zstd", "-cf", "\(dir)/demo.tar.zst", "-C", "\(dir)/pkg", "zarf.yaml"], check: true)
            try write(validSiteYAML.replacingOccurrences(of: "packages: [packages/zarf-init-amd64-v0.1.0.tar.zst]", with: "packages: [demo.tar.zst]"),
                      "\(dir)/site.yaml")
            #expect(try outpost(["talos", "gen", "secrets", "-o", "\(dir)/secrets.yaml"]).status == 0)
            let r = try outpost(["talos", "gen", "config", "\(dir)/site.yaml", "--secrets", "\(dir)/secrets.yaml",
                                 "-o", "\(dir)/out", "--format", "json"])
            #expect(r.status == 0, "\(r.err)")
            let report = try JSONValue.parse(r.stdout)
            #expect(report["mirroredRegistries"] == ["docker.io", "ghcr.io", "quay.io", "registry.example:5000",
                                                     "registry.k8s.io", "127.0.0.1:31999", "*"])
            #expect(report["notes"] == [])
            let docs = try YAMLDocuments.parse(try String(contentsOfFile: "\(dir)/out/worker-1.yaml", encoding: .utf8), file: "w")
            #expect(docs.contains { $0["kind"] == "RegistryMirrorConfig" && $0["name"] == "registry.example:5000" && $0["skipFallback"] == true })
        }
    }
}

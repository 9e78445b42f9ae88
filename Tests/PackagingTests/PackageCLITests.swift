import Foundation
import Packaging
import Testing
import TestSupport

@Suite("outpost package lint / inspect / verify and outpost keys generate (the built binary)")
struct PackageCLITests {
    @Test("lint: exit 0 for a valid definition, non-zero with file:line:key for a bad one")
    func lint() async throws {
        try await withTemporaryDirectory { root in
            let ok = try Fixtures.run(["package", "lint", sharedDirectory() + "/examples/zarf/podinfo-flux"])
            #expect(ok.status == 0, "\(ok.err)")
            let bad = try Fixtures.definition("kind: ZarfPackageConfig\nmetadata:\n  name: x\ncomponents:\n  - name: a\n    imagez: []\n", in: root)
            let r = try Fixtures.run(["package", "lint", bad])
            #expect(r.status != 0)
            #expect(r.err.contains("zarf.yaml:6: components[0].imagez: unknown key"))
            let json = try Fixtures.run(["package", "lint", bad, "--output", "json"])
            #expect(json.status != 0)
            let parsed = try JSONSerialization.jsonObject(with: json.stdout) as? [String: Any]
            #expect(parsed?["valid"] as? Bool == false)
            let missing = try Fixtures.run(["package", "lint", root + "/nope"])
            #expect(missing.status != 0)
            #expect(missing.err.contains("nope/zarf.yaml"))
        }
    }

    @Test("keys generate, then verify --key and inspect --output json on a signed package; damage exits non-zero")
    func verifyInspect() async throws {
        try await withTemporaryDirectory { root in
            let g = try Fixtures.run(["keys", "generate", "-o", root + "/k"])
            #expect(g.status == 0, "\(g.err)")
            let pkg = try PackageWriter.write(staging: try Fixtures.staging(in: root), definition: try Fixtures.resolved(in: root),
                                              outputDirectory: root + "/out", options: PackageWriteOptions(signingKeyPath: root + "/k.key")).path
            let v = try Fixtures.run(["package", "verify", pkg, "--key", root + "/k.pub"])
            #expect(v.status == 0, "\(v.err)")
            #expect(v.out.contains("signature: verified"))
            let i = try Fixtures.run(["package", "inspect", pkg, "--output", "json"])
            #expect(i.status == 0, "\(i.err)")
            let obj = try #require(try JSONSerialization.jsonObject(with: i.stdout) as? [String: Any])
            #expect(obj["name"] as? String == "demo")
            let images = try #require(obj["images"] as? [[String: Any]])
            #expect(images.first?["reference"] as? String == "docker.io/library/alpine:3.20")
            #expect((images.first?["digest"] as? String)?.hasPrefix("sha256:") == true)
            #expect((obj["checksums"] as? [String: Any])?["state"] as? String == "valid")

            try PackageSigning.writeKeyPair(name: root + "/other")
            let wrong = try Fixtures.run(["package", "verify", pkg, "--key", root + "/other.pub"])
            #expect(wrong.status != 0)
            #expect(wrong.err.contains("signature"))
            let d = try Data(contentsOf: URL(fileURLWithPath: pkg))
            try d.prefix(d.count - 2000).write(to: URL(fileURLWithPath: pkg))
            let cut = try Fixtures.run(["package", "verify", pkg])
            #expect(cut.status != 0)
            #expect(cut.err.contains("error:"))
        }
    }
}

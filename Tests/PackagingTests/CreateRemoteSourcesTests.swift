import Foundation
import Testing
import TestSupport

/// Charts from an OCI registry (a Helm chart artifact pushed with skopeo into Debian's docker-registry)
/// and manifests from URLs (served by Python's http.server), checked in the written package.
@Suite(.serialized) struct CreateRemoteSourcesTests {
    /// An OCI layout holding `chartTgz` as a Helm chart artifact (Helm's config and content media types).
    static func helmArtifactLayout(_ chartTgz: String, version: String, at layout: String) throws {
        let script = """
        import hashlib, json, os, sys
        tgz, version, layout = sys.argv[1:4]
        os.makedirs(layout + '/blobs/sha256', exist_ok=True)
        def blob(b):
            h = hashlib.sha256(b).hexdigest(); open(layout + '/blobs/sha256/' + h, 'wb').write(b); return h, len(b)
        ch, cl = blob(json.dumps({"name": "demo", "version": version, "apiVersion": "v2"}).encode())
        lh, ll = blob(open(tgz, 'rb').read())
        m = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
          "config": {"mediaType": "application/vnd.cncf.helm.config.v1+json", "digest": "sha256:" + ch, "size": cl},
          "layers": [{"mediaType": "application/vnd.cncf.helm.chart.content.v1.tar+gzip", "digest": "sha256:" + lh, "size": ll}]}).encode()
        mh, ml = blob(m)
        open(layout + '/oci-layout', 'w').write('{"imageLayoutVersion":"1.0.0"}')
        open(layout + '/index.json', 'w').write(json.dumps({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
          "digest": "sha256:" + mh, "size": ml, "annotations": {"org.opencontainers.image.ref.name": version}}]}))
        """
        try ProcessRunner.run("python3", ["-c", script, chartTgz, version, layout], check: true)
    }

    @Test func ociChartAndRemoteManifest() async throws {
        try await withDockerRegistry { registry in
            try await withTemporaryDirectory { work in
                let fm = FileManager.default
                // A chart, packaged and pushed as an OCI artifact.
                try fm.createDirectory(atPath: work + "/chart/demo/templates", withIntermediateDirectories: true)
                try "apiVersion: v2\nname: demo\nversion: 0.1.0\n".write(toFile: work + "/chart/demo/Chart.yaml", atomically: true, encoding: .utf8)
                try "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: demo}\ndata: {a: \"1\"}\n"
                    .write(toFile: work + "/chart/demo/templates/cm.yaml", atomically: true, encoding: .utf8)
                try ProcessRunner.run("tar", ["-C", work + "/chart", "-czf", work + "/demo-0.1.0.tgz", "demo"], check: true)
                try Self.helmArtifactLayout(work + "/demo-0.1.0.tgz", version: "0.1.0", at: work + "/layout")
                try ProcessRunner.run("skopeo", ["copy", "-q", "--dest-tls-verify=false", "oci:\(work)/layout:0.1.0",
                                                 "docker://\(registry.host)/charts/demo:0.1.0"], check: true)

                // A manifest served over HTTP.
                try fm.createDirectory(atPath: work + "/www", withIntermediateDirectories: true)
                let served = "apiVersion: v1\nkind: Namespace\nmetadata: {name: remote}\n"
                try served.write(toFile: work + "/www/ns.yaml", atomically: true, encoding: .utf8)
                let port = try freeLoopbackPort()
                let http = try BackgroundService(name: "http.server", program: "python3",
                                                 arguments: ["-m", "http.server", "--bind", "127.0.0.1", String(port)],
                                                 logPath: work + "/http.log", cwd: work + "/www")
                defer { http.stop() }
                try await waitForPort(port)
                let sum = try ProcessRunner.run("sha256sum", [work + "/www/ns.yaml"]).out.prefix(64)

                func definition(_ manifestURL: String) throws -> String {
                    let def = work + "/def-\(UInt32.random(in: 0...UInt32.max))"
                    try fm.createDirectory(atPath: def, withIntermediateDirectories: true)
                    try """
                    kind: ZarfPackageConfig
                    metadata: {name: remote, architecture: amd64}
                    components:
                      - name: c
                        required: true
                        charts:
                          - name: demo
                            url: oci://\(registry.host)/charts/demo
                            version: 0.1.0
                            namespace: demo
                        manifests:
                          - name: m
                            files: ["\(manifestURL)"]
                    """.write(toFile: def + "/zarf.yaml", atomically: true, encoding: .utf8)
                    return def
                }

                let good = try definition("http://127.0.0.1:\(port)/ns.yaml@\(sum)")
                let r = try Outpost.run(["package", "create", good, "-o", work + "/out"])
                #expect(r.status == 0, "\(r.err)")
                let x = work + "/x"
                try fm.createDirectory(atPath: x, withIntermediateDirectories: true)
                try ProcessRunner.run("tar", ["-I", "zstd", "-xf", work + "/out/zarf-package-remote-amd64.tar.zst", "-C", x], check: true)
                try ProcessRunner.run("tar", ["-xf", x + "/components/c.tar", "-C", x], check: true)
                #expect(try String(contentsOfFile: x + "/c/manifests/m-0.yaml", encoding: .utf8) == served)
                // The chart .tgz in the package is the artifact's chart layer, byte for byte.
                let charts = try fm.contentsOfDirectory(atPath: x + "/c/charts")
                #expect(charts.count == 1, "\(charts)")
                let packaged = try ProcessRunner.run("sha256sum", [x + "/c/charts/" + charts[0]]).out.prefix(64)
                let original = try ProcessRunner.run("sha256sum", [work + "/demo-0.1.0.tgz"]).out.prefix(64)
                #expect(packaged == original)
                let listing = try ProcessRunner.run("tar", ["-tzf", x + "/c/charts/" + charts[0]]).out
                #expect(listing.contains("demo/templates/cm.yaml"))

                // A wrong pin on the remote manifest, and a chart version the registry does not have.
                let wrongSum = try definition("http://127.0.0.1:\(port)/ns.yaml@" + String(repeating: "0", count: 64))
                let bad = try Outpost.run(["package", "create", wrongSum, "-o", work + "/out-bad"])
                #expect(bad.status != 0)
                #expect(bad.err.contains("ns.yaml"), "\(bad.err)")
                let leftovers = (try? fm.contentsOfDirectory(atPath: work + "/out-bad")) ?? []
                #expect(leftovers.isEmpty, "\(leftovers)")
            }
        }
    }
}

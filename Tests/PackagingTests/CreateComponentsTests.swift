import Foundation
import Testing
import TestSupport

/// `outpost package create` for every kind of component content other than registry images:
/// docker-save archives, local and Helm-repository charts, files with shasums, and onCreate actions.
@Suite(.serialized) struct CreateComponentsTests {
    static func write(_ text: String, _ path: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    static func extract(_ pkg: String, into dir: String) throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try ProcessRunner.run("tar", ["-I", "zstd", "-xf", pkg, "-C", dir], check: true)
    }

    @Test func dockerSaveArchiveLocalChartAndActions() async throws {
        try await withTemporaryDirectory { work in
            try await withDockerRegistry { registry in
                try ScriptImages.push(to: registry, repository: "saved/app", tag: "3.0", layerSizes: [64_000, 1_000], workDirectory: work)
                let def = work + "/def"
                try FileManager.default.createDirectory(atPath: def, withIntermediateDirectories: true)
                // A docker-save archive written by skopeo (an independent tool).
                try ProcessRunner.run("skopeo", ["copy", "-q", "--src-tls-verify=false", "docker://\(registry.host)/saved/app:3.0",
                                                 "docker-archive:\(def)/app.tar:saved/app:3.0"], check: true)
                try Self.write("apiVersion: v2\nname: mychart\nversion: 0.3.1\n", def + "/chart/Chart.yaml")
                try Self.write("replicas: 1\n", def + "/chart/values.yaml")
                try Self.write("kind: ConfigMap\napiVersion: v1\nmetadata: {name: x}\n", def + "/chart/templates/cm.yaml")
                try Self.write("replicas: 2\n", def + "/override.yaml")
                try Self.write("""
                kind: ZarfPackageConfig
                metadata: {name: parts, version: 0.0.1, architecture: amd64}
                components:
                  - name: app
                    required: true
                    imageArchives:
                      - path: app.tar
                        images: [docker.io/saved/app:3.0]
                    charts:
                      - name: mychart
                        namespace: demo
                        localPath: chart
                        valuesFiles: [override.yaml]
                    files:
                      - source: generated.txt
                        target: /opt/generated.txt
                    actions:
                      onCreate:
                        before:
                          - cmd: echo made-by-action > generated.txt
                        onSuccess:
                          - cmd: touch success-marker
                """, def + "/zarf.yaml")
                let r = try Outpost.run(["package", "create", def, "-o", work + "/out"])
                #expect(r.status == 0, "\(r.err)")
                #expect(FileManager.default.fileExists(atPath: def + "/success-marker"))
                let x = work + "/x"
                try Self.extract(work + "/out/zarf-package-parts-amd64-0.0.1.tar.zst", into: x)
                let comp = try ProcessRunner.run("tar", ["-tf", x + "/components/app.tar"], check: true).out
                #expect(comp.contains("app/charts/mychart-0.3.1.tgz"))
                #expect(comp.contains("app/values/mychart-0.3.1-0"))
                #expect(comp.contains("app/files/0/generated.txt"))
                // The chart archive is a gzip tar with the chart under its name.
                try ProcessRunner.run("tar", ["-xf", x + "/components/app.tar", "-C", x], check: true)
                let chartList = try ProcessRunner.run("tar", ["-tzf", x + "/app/charts/mychart-0.3.1.tgz"], check: true).out
                #expect(chartList.contains("mychart/Chart.yaml") && chartList.contains("mychart/templates/cm.yaml"))
                #expect(try String(contentsOfFile: x + "/app/files/0/generated.txt", encoding: .utf8) == "made-by-action\n")
                // The image from the archive is in the layout under its name, and skopeo reads it.
                let inspect = try ProcessRunner.run("skopeo", ["inspect", "oci:\(x)/images:docker.io/saved/app:3.0"])
                #expect(inspect.status == 0, "\(inspect.err)")
            }
        }
    }

    @Test func chartFromHelmRepositoryOverHTTP() async throws {
        try await withTemporaryDirectory { work in
            let repo = work + "/repo"
            try Self.write("apiVersion: v2\nname: podinfo\nversion: 6.4.0\n", repo + "/src/podinfo/Chart.yaml")
            try Self.write("kind: Service\n", repo + "/src/podinfo/templates/svc.yaml")
            try ProcessRunner.run("tar", ["-czf", repo + "/podinfo-6.4.0.tgz", "-C", repo + "/src", "podinfo"], check: true)
            let digest = try ProcessRunner.run("sha256sum", [repo + "/podinfo-6.4.0.tgz"], check: true).out.prefix(64)
            try Self.write("""
            apiVersion: v1
            entries:
              podinfo:
                - name: podinfo
                  version: 6.4.0
                  digest: \(digest)
                  urls: [podinfo-6.4.0.tgz]
                - name: podinfo
                  version: 6.3.0
                  urls: [podinfo-6.3.0.tgz]
            """, repo + "/index.yaml")
            let port = try freeLoopbackPort()
            let server = try BackgroundService(name: "http.server", program: "python3",
                                               arguments: ["-m", "http.server", "\(port)", "--bind", "127.0.0.1", "--directory", repo],
                                               logPath: work + "/http.log")
            defer { server.stop() }
            try await waitForPort(port)
            let def = work + "/def"
            try Self.write("""
            kind: ZarfPackageConfig
            metadata: {name: remote-chart, architecture: amd64}
            components:
              - name: charts
                charts:
                  - name: cool
                    repoName: podinfo
                    version: 6.4.0
                    namespace: demo
                    url: http://127.0.0.1:\(port)
            """, def + "/zarf.yaml")
            let r = try Outpost.run(["package", "create", def, "-o", work + "/out"])
            #expect(r.status == 0, "\(r.err)")
            let x = work + "/x"
            try Self.extract(work + "/out/zarf-package-remote-chart-amd64.tar.zst", into: x)
            try ProcessRunner.run("tar", ["-xf", x + "/components/charts.tar", "-C", x], check: true)
            let got = try Data(contentsOf: URL(fileURLWithPath: x + "/charts/charts/cool-6.4.0.tgz"))
            let want = try Data(contentsOf: URL(fileURLWithPath: repo + "/podinfo-6.4.0.tgz"))
            #expect(got == want)

            // A version the repository does not have: an error naming the chart and version.
            try Self.write(try String(contentsOfFile: def + "/zarf.yaml", encoding: .utf8).replacingOccurrences(of: "6.4.0", with: "9.9.9"), def + "/zarf.yaml")
            let bad = try Outpost.run(["package", "create", def, "-o", work + "/out2"])
            #expect(bad.status != 0)
            #expect(bad.err.contains("9.9.9"))
        }
    }

    @Test(arguments: [
        ("files:\n      - source: missing.txt\n        target: /x", "missing.txt"),
        ("files:\n      - source: present.txt\n        shasum: abababababababababababababababababababababababababababababababab\n        target: /x", "shasum mismatch"),
        ("actions:\n      onCreate:\n        before:\n          - cmd: exit 7", "exit status 7"),
        ("actions:\n      onCreate:\n        before:\n          - cmd: sleep 30\n            maxTotalSeconds: 1", "timed out"),
        ("images:\n      - Not/A/Valid:Ref", "Not/A/Valid"),
    ])
    func badComponentsFailWithAClearErrorAndNoOutput(_ body: String, _ expected: String) async throws {
        try await withTemporaryDirectory { work in
            let def = work + "/def"
            try Self.write("present\n", def + "/present.txt")
            try Self.write("""
            kind: ZarfPackageConfig
            metadata: {name: bad, architecture: amd64}
            components:
              - name: c
                \(body)
            """, def + "/zarf.yaml")
            let r = try Outpost.run(["package", "create", def, "-o", work + "/out"])
            #expect(r.status != 0)
            #expect(r.err.contains(expected), "stderr: \(r.err)")
            let left = (try? FileManager.default.contentsOfDirectory(atPath: work + "/out")) ?? []
            #expect(left.isEmpty, "left behind: \(left)")
        }
    }

    @Test func actionRetriesUntilSuccess() async throws {
        try await withTemporaryDirectory { work in
            let def = work + "/def"
            try Self.write("""
            kind: ZarfPackageConfig
            metadata: {name: retry, architecture: amd64}
            components:
              - name: c
                actions:
                  onCreate:
                    before:
                      - cmd: echo x >> attempts; test $(wc -l < attempts) -ge 3
                        maxRetries: 5
            """, def + "/zarf.yaml")
            let r = try Outpost.run(["package", "create", def, "-o", work + "/out"])
            #expect(r.status == 0, "\(r.err)")
            let attempts = try String(contentsOfFile: def + "/attempts", encoding: .utf8)
            #expect(attempts.split(separator: "\n").count == 3)
        }
    }

    @Test func onFailureRunsForTheFailingComponentOnly() async throws {
        try await withTemporaryDirectory { work in
            let def = work + "/def"
            try Self.write("""
            kind: ZarfPackageConfig
            metadata: {name: fails, architecture: amd64}
            components:
              - name: good
                actions:
                  onCreate:
                    onFailure:
                      - cmd: touch good-failure-ran
              - name: bad
                actions:
                  onCreate:
                    before:
                      - cmd: exit 3
                    onFailure:
                      - cmd: touch bad-failure-ran
            """, def + "/zarf.yaml")
            let r = try Outpost.run(["package", "create", def, "-o", work + "/out"])
            #expect(r.status != 0)
            #expect(FileManager.default.fileExists(atPath: def + "/bad-failure-ran"))
            #expect(!FileManager.default.fileExists(atPath: def + "/good-failure-ran"))
        }
    }
}

import Charts
import Foundation
import Testing
import TestSupport

/// `.tgz` charts (top level and as subcharts) and the `outpost chart template` command.
@Suite struct ArchiveAndCLITests {
    static let subchart = sharedDirectory() + "/helm/testcharts/subchart"

    @Test func tgzChartRendersLikeItsDirectory() throws {
        try withScratch { dir in
            try ProcessRunner.run("tar", ["-czf", dir + "/subchart-0.1.0.tgz", "-C", sharedDirectory() + "/helm/testcharts", "subchart"], check: true)
            let fromDir = try templateText(Self.subchart)
            let fromTgz = try templateText(dir + "/subchart-0.1.0.tgz")
            #expect(fromDir == fromTgz)
        }
    }

    @Test func tgzSubchart() throws {
        try withScratch { dir in
            try writeChart(dir + "/child", ["Chart.yaml": "apiVersion: v2\nname: child\nversion: 0.2.0\n", "templates/c.yaml": "child: {{ .Values.greeting }}\n", "values.yaml": "greeting: hi\n"])
            try writeChart(dir + "/parent", ["Chart.yaml": "apiVersion: v2\nname: parent\nversion: 1.0.0\n", "templates/p.yaml": "parent: 1\n"])
            try FileManager.default.createDirectory(atPath: dir + "/parent/charts", withIntermediateDirectories: true)
            try ProcessRunner.run("tar", ["-czf", dir + "/parent/charts/child-0.2.0.tgz", "-C", dir, "child"], check: true)
            let out = try templateText(dir + "/parent")
            #expect(out.contains("# Source: parent/charts/child/templates/c.yaml\nchild: hi\n"))
        }
    }

    @Test func corruptArchiveIsRejected() throws {
        try withScratch { dir in
            try Data("not a tarball".utf8).write(to: URL(fileURLWithPath: dir + "/x.tgz"))
            #expect(throws: ChartError.self) { try templateText(dir + "/x.tgz") }
        }
    }

    static func outpostBinary() -> String {
        repositoryRoot() + "/.build/debug/outpost"
    }

    @Test func cliMatchesGoldenAndFailsOnBadCharts() throws {
        let bin = Self.outpostBinary()
        guard FileManager.default.isExecutableFile(atPath: bin) else {
            Issue.record("outpost binary not built at \(bin); run swift build first")
            return
        }
        let golden = try String(contentsOfFile: sharedDirectory() + "/helm/golden/template-set.txt", encoding: .utf8)
        let ok = try ProcessRunner.run(bin, ["chart", "template", Self.subchart, "--set", "service.name=apache"])
        #expect(ok.status == 0)
        #expect(ok.out == golden)
        try withScratch { dir in
            try writeChart(dir, ["Chart.yaml": "apiVersion: v2\nname: bad\nversion: 0.1.0\n", "templates/a.yaml": "x: {{ required \"x is required\" .Values.x }}\n"])
            let bad = try ProcessRunner.run(bin, ["chart", "template", dir])
            #expect(bad.status != 0)
            #expect(bad.err.contains("Error: execution error at (bad/templates/a.yaml:1:6): x is required"))
            #expect(bad.out.isEmpty)
            let missing = try ProcessRunner.run(bin, ["chart", "template", dir + "/nope"])
            #expect(missing.status != 0)
            let json = try ProcessRunner.run(bin, ["chart", "template", dir, "--set", "x=1", "--output", "json"])
            #expect(json.status == 0)
            #expect(json.out.contains("\"x\" : 1") || json.out.contains("\"x\": 1"))
        }
    }
}

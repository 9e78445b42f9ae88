import Charts
import Foundation
import Testing
import TestSupport

/// Helm's own `helm template` golden cases (../shared/helm/cases.tsv): byte-for-byte output.
@Suite struct HelmGoldenTests {
    static let helmDir = sharedDirectory() + "/helm"

    static var cases: [(String, String)] {
        guard let text = try? String(contentsOfFile: helmDir + "/cases.tsv", encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            if line.hasPrefix("#") || line.trimmingCharacters(in: .whitespaces).isEmpty { return nil }
            let parts = line.split(separator: "\t", maxSplits: 1)
            guard parts.count == 2 else { return nil }
            return (String(parts[0]), String(parts[1]))
        }
    }

    @Test func casesFileIsPresent() {
        #expect(Self.cases.count >= 11)
    }

    @Test(arguments: cases.map { $0.0 + "\t" + $0.1 })
    func goldenCase(_ row: String) throws {
        let parts = row.split(separator: "\t", maxSplits: 1).map(String.init)
        let args = try HelmArguments(HelmArguments.shellSplit(parts[0]), base: Self.helmDir)
        let expected = try String(contentsOfFile: Self.helmDir + "/" + parts[1], encoding: .utf8)
        let release = try ChartRenderer.render(chartPath: args.chart, values: args.values, options: args.options)
        let got = try ChartRenderer.templateOutput(release, options: args.options)
        if got != expected {
            let g = got.components(separatedBy: "\n"), e = expected.components(separatedBy: "\n")
            let first = zip(g, e).enumerated().first { $0.element.0 != $0.element.1 }
            Issue.record("\(parts[1]) differs at line \((first?.offset ?? min(g.count, e.count)) + 1): got \(String(describing: first?.element.0 ?? g.last)) expected \(String(describing: first?.element.1 ?? e.last))")
        }
        #expect(got == expected)
    }

    @Test func notesAreKeptOutOfTheManifest() throws {
        let release = try ChartRenderer.render(chartPath: Self.helmDir + "/testcharts/subchart", values: .init(), options: RenderOptions())
        #expect(release.notes == "Sample notes for subchart")
        #expect(release.hooks.map(\.path) == ["subchart/templates/tests/test-config.yaml", "subchart/templates/tests/test-nothing.yaml"])
    }

    @Test func skipTestsDropsTestHooks() throws {
        var o = RenderOptions()
        o.skipTests = true
        let release = try ChartRenderer.render(chartPath: Self.helmDir + "/testcharts/subchart", values: .init(), options: o)
        let text = try ChartRenderer.templateOutput(release, options: o)
        #expect(!text.contains("test-nothing"))
        #expect(text.hasSuffix("    app.kubernetes.io/name: subchart\n"))
    }
}

@testable import Charts
import Foundation
import Testing

/// `.Files.Glob` (gobwas/glob with '/' as separator) and `--show-only` (Go's filepath.Match on the
/// path after the chart name) edge cases.
@Suite struct FilesAndShowOnlyTests {
    static let files = ["config/a.conf": "A", "config/b.conf": "B", "config/sub/c.conf": "C", "data/x,y.txt": "XY",
                        "data/z.txt": "Z", "README.md": "R"]

    @Test(arguments: [
        ("config/*", "config/a.conf config/b.conf"),
        ("config/**", "config/a.conf config/b.conf config/sub/c.conf"),
        ("**.conf", "config/a.conf config/b.conf config/sub/c.conf"),
        ("*.conf", ""),
        ("data/x,y.txt", "data/x,y.txt"),
        ("{README.md,data/z.txt}", "README.md data/z.txt"),
        ("data/{x\\,y,z}.txt", "data/x,y.txt data/z.txt"),
        ("config/[ab].conf", "config/a.conf config/b.conf"),
        ("config/[!a].conf", "config/b.conf"),
        ("config/?.conf", "config/a.conf config/b.conf"),
        ("config?a.conf", ""),
        ("nothing/*", ""),
    ])
    func filesGlob(_ pattern: String, _ expected: String) throws {
        let escaped = pattern.replacingOccurrences(of: "\\", with: "\\\\")
        try withScratch { dir in
            var chart = ["Chart.yaml": "apiVersion: v2\nname: g\nversion: 0.1.0\n",
                "templates/cm.yaml": "globbed: \"{{ range $p, $_ := .Files.Glob \"\(escaped)\" }}{{ $p }} {{ end }}\"\n"]
            for (k, v) in Self.files { chart[k] = v }
            try writeChart(dir, chart)
            let out = try templateText(dir)
            let got = out.components(separatedBy: "globbed: \"")[1].prefix { $0 != "\"" }.trimmingCharacters(in: .whitespaces)
            // Glob ranges in sorted key order
            #expect(got == expected.split(separator: " ").sorted().joined(separator: " "), "pattern \(pattern)")
        }
    }

    @Test func showOnlyMatchesPathsAsFilepathMatch() throws {
        try withScratch { dir in
            try writeChart(dir + "/charts/child", ["Chart.yaml": "apiVersion: v2\nname: child\nversion: 0.1.0\n", "templates/c.yaml": "kind: C\n"])
            try writeChart(dir, ["Chart.yaml": "apiVersion: v2\nname: top\nversion: 0.1.0\n", "templates/a.yaml": "kind: A\n",
                "templates/sub/b.yaml": "kind: B\n---\nkind: B2\n"])
            func show(_ paths: [String]) throws -> String {
                var o = RenderOptions()
                o.showOnly = paths
                return try templateText(dir, options: o)
            }
            // Helm 4 keeps each document's trailing blank line when it re-splits the output for --show-only
            // (only the last manifest loses it), so a document in the middle ends in three newlines.
            // `*` does not cross '/', so templates/* leaves out templates/sub/
            #expect(try show(["templates/*"]) == "---\n# Source: top/templates/a.yaml\nkind: A\n\n\n")
            // every document of a multi-document template
            #expect(try show(["templates/sub/*"]) == "---\n# Source: top/templates/sub/b.yaml\nkind: B\n\n\n---\n# Source: top/templates/sub/b.yaml\nkind: B2\n\n\n")
            #expect(try show(["charts/child/templates/c.yaml"]) == "---\n# Source: top/charts/child/templates/c.yaml\nkind: C\n\n")
            // the chart name is not part of the path
            #expect(renderError(dir, options: { var o = RenderOptions(); o.showOnly = ["top/templates/a.yaml"]; return o }()) == "could not find template top/templates/a.yaml in chart")
            // NOTES.txt is not a manifest
            try writeChart(dir, ["templates/NOTES.txt": "notes"])
            #expect(renderError(dir, options: { var o = RenderOptions(); o.showOnly = ["templates/NOTES.txt"]; return o }()) == "could not find template templates/NOTES.txt in chart")
        }
    }
}

import Charts
import Foundation

/// Turns `helm template` arguments (as written in ../shared/helm/cases.tsv) into render options,
/// so the golden cases drive the same library path the CLI uses.
struct HelmArguments {
    var chart = ""
    var options = RenderOptions()
    var values = Values.Options()

    /// POSIX-shell word splitting for the quoting cases.tsv uses (single and double quotes, backslash).
    static func shellSplit(_ s: String) -> [String] {
        var words: [String] = []
        var cur = ""
        var inWord = false
        var quote: Character?
        var it = Array(s)
        var i = 0
        while i < it.count {
            let c = it[i]
            if let q = quote {
                if c == q { quote = nil } else if c == "\\" && q == "\"" && i + 1 < it.count { i += 1; cur.append(it[i]) } else { cur.append(c) }
            } else if c == "'" || c == "\"" {
                quote = c; inWord = true
            } else if c == "\\" && i + 1 < it.count {
                i += 1; cur.append(it[i]); inWord = true
            } else if c == " " || c == "\t" {
                if inWord { words.append(cur); cur = ""; inWord = false }
            } else {
                cur.append(c); inWord = true
            }
            i += 1
        }
        if inWord { words.append(cur) }
        it = []
        return words
    }

    init(_ words: [String], base: String) throws {
        var args = words
        if args.first == "template" { args.removeFirst() }
        var positional: [String] = []
        func path(_ p: String) -> String { p.hasPrefix("/") ? p : base + "/" + p }
        var i = 0
        func next() throws -> String {
            i += 1
            guard i < args.count else { throw ChartError.invalidValues(message: "missing value for \(args[i - 1])") }
            return args[i]
        }
        while i < args.count {
            var a = args[i]
            var inline: String?
            if a.hasPrefix("--"), let eq = a.firstIndex(of: "=") {
                inline = String(a[a.index(after: eq)...]); a = String(a[..<eq])
            }
            func value() throws -> String { if let inline { return inline }; return try next() }
            switch a {
            case "--set": values.values.append(try value())
            case "--set-string": values.stringValues.append(try value())
            case "--set-file": values.fileValues.append(try value())
            case "-f", "--values": values.valueFiles.append(path(try value()))
            case "--name-template": options.nameTemplate = try value()
            case "-n", "--namespace": options.namespace = try value()
            case "--kube-version": options.kubeVersion = try value()
            case "-a", "--api-versions": options.apiVersions += try value().split(separator: ",").map(String.init)
            case "--include-crds": options.includeCRDs = true
            case "--skip-tests": options.skipTests = true
            case "-s", "--show-only": options.showOnly.append(try value())
            default: positional.append(a)
            }
            i += 1
        }
        if positional.count == 2 { options.releaseName = positional[0] }
        chart = path(positional.last ?? ".")
    }
}

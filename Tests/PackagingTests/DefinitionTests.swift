import Foundation
import Packaging
import Testing
import TestSupport
import Yams

@Suite("zarf.yaml model, schema validation and lint")
struct DefinitionTests {
    @Test("every example definition under shared/examples/zarf lints clean")
    func examplesLintClean() throws {
        let root = sharedDirectory() + "/examples/zarf"
        let dirs = try FileManager.default.contentsOfDirectory(atPath: root).sorted()
            .filter { FileManager.default.fileExists(atPath: "\(root)/\($0)/zarf.yaml") }
        #expect(dirs.count >= 10)
        for d in dirs {
            let report = try PackageDefinition.lint(directory: "\(root)/\(d)")
            #expect(report.errors.isEmpty, "\(d): \(report.errors.map(\.description))")
        }
    }

    @Test("an unknown key is an error naming file, line and key path")
    func unknownKey() throws {
        let yaml = """
            kind: ZarfPackageConfig
            metadata:
              name: demo
            components:
              - name: web
                imagez:
                  - nginx
            """
        let report = try PackageDefinition.lint(text: yaml, file: "zarf.yaml")
        #expect(report.errors.map(\.description) == ["zarf.yaml:6: components[0].imagez: unknown key"])
    }

    @Test("a wrong type is an error naming the expected and actual type")
    func wrongType() throws {
        let yaml = """
            kind: ZarfPackageConfig
            metadata:
              name: demo
            components:
              - name: web
                images:
                  - nginx
                  - name: oops
                required: "yes"
            """
        let report = try PackageDefinition.lint(text: yaml, file: "zarf.yaml")
        let texts = report.errors.map(\.description)
        #expect(texts.contains("zarf.yaml:8: components[0].images[1]: expected string, got mapping"))
        #expect(texts.contains("zarf.yaml:9: components[0].required: expected boolean, got string"))
    }

    @Test("missing required keys, bad enum and bad pattern are reported")
    func requiredEnumPattern() throws {
        let yaml = """
            kind: ZarfPackageKonfig
            metadata:
              name: Demo_Pkg
            components:
              - description: no name
            variables:
              - name: lower_case
            """
        let texts = try PackageDefinition.lint(text: yaml, file: "z.yaml").errors.map(\.description)
        #expect(texts.contains { $0.hasPrefix("z.yaml:1: kind: \"ZarfPackageKonfig\" is not one of") })
        #expect(texts.contains { $0.hasPrefix("z.yaml:3: metadata.name: \"Demo_Pkg\" does not match") })
        #expect(texts.contains("z.yaml:5: components[0]: missing required key \"name\""))
        #expect(texts.contains { $0.hasPrefix("z.yaml:7: variables[0].name: \"lower_case\" does not match") })
    }

    @Test("malformed YAML is an error with the line")
    func malformedYAML() throws {
        let yaml = "kind: ZarfPackageConfig\nmetadata:\n  name: [unclosed\ncomponents: []\n"
        let report = try PackageDefinition.lint(text: yaml, file: "zarf.yaml")
        #expect(report.errors.count == 1)
        #expect(report.errors[0].description.hasPrefix("zarf.yaml:"))
        #expect(report.errors[0].message.contains("invalid YAML"))
        #expect(throws: PackagingError.self) { try PackageDefinition.parse(text: yaml) }
    }

    @Test("naming rules: duplicate components, unsafe chart and manifest names, duplicate variables")
    func namingRules() throws {
        let yaml = """
            kind: ZarfPackageConfig
            metadata:
              name: demo
            components:
              - name: web
                charts:
                  - name: ".."
                    localPath: chart
                manifests:
                  - name: ".."
                    files: [a.yaml]
              - name: web
            variables:
              - name: A
              - name: A
            """
        let texts = try PackageDefinition.lint(text: yaml, file: "zarf.yaml").errors.map(\.description)
        #expect(texts.contains { $0.hasPrefix("zarf.yaml:7: components[0].charts[0].name: unsafe chart name") })
        #expect(texts.contains { $0.hasPrefix("zarf.yaml:10: components[0].manifests[0].name: unsafe manifest name") })
        #expect(texts.contains { $0.hasPrefix("zarf.yaml:12: components[1].name: duplicate component name \"web\"") })
        #expect(texts.contains { $0.hasPrefix("zarf.yaml:15: variables[1].name: duplicate variable") })
        // A chart name with a slash breaks the schema pattern.
        let slash = yaml.replacingOccurrences(of: "- name: \"..\"\n        localPath", with: "- name: a/b\n        localPath")
        #expect(try PackageDefinition.lint(text: slash).errors.contains { $0.path == "components[0].charts[0].name" })
    }

    @Test("x- extension keys are allowed anywhere, deprecated keys warn")
    func extensionsAndDeprecated() throws {
        let yaml = """
            kind: ZarfPackageConfig
            x-note: hello
            metadata:
              name: demo
              x-owner: me
            components:
              - name: web
                group: old
                x-anything: [1, 2]
                manifests:
                  - name: m
                    files: [a.yaml]
            """
        let report = try PackageDefinition.lint(text: yaml)
        #expect(report.errors.isEmpty, "\(report.errors)")
        #expect(report.warnings.contains { $0.path == "components[0].group" && $0.message == "deprecated key" })
    }

    @Test("every key of the schema round-trips through the model")
    func modelCoversSchema() throws {
        // Decode then re-encode each example and check the encoded YAML keeps every key path.
        let root = sharedDirectory() + "/examples/zarf"
        for d in try FileManager.default.contentsOfDirectory(atPath: root).sorted() {
            let path = "\(root)/\(d)/zarf.yaml"
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { continue }
            let pkg = try PackageDefinition.parse(text: text, file: path)
            let again = try PackageDefinition.parse(text: String(decoding: try PackageDefinition.encode(pkg), as: UTF8.self))
            #expect(again == pkg, "\(d) does not round-trip")
            #expect(keyPaths(of: text).subtracting(keyPaths(of: String(decoding: try PackageDefinition.encode(pkg), as: UTF8.self))).isEmpty,
                    "\(d): keys lost in the model")
        }
    }

    private func keyPaths(of yaml: String) -> Set<String> {
        guard let node = try? PackageDefinition.parseNode(yaml, file: "x") else { return [] }
        var out = Set<String>()
        func walk(_ n: Yams.Node, _ p: String) {
            switch n {
            case .mapping(let m):
                for (k, v) in m {
                    let key = k.scalar?.string ?? ""
                    if key.hasPrefix("x-") { continue }
                    out.insert(p + "." + key); walk(v, p + "." + key)
                }
            case .sequence(let s): for v in s { walk(v, p + "[]") }
            default: break
            }
        }
        walk(node, "")
        return out
    }
}


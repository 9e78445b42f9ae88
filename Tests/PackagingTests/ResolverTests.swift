import Foundation
import Packaging
import Testing
import TestSupport

@Suite("resolving a definition: templates, filters, flavors, imports, build metadata")
struct ResolverTests {
    static let templated = """
        kind: ZarfPackageConfig
        metadata:
          name: tmpl
          version: "###ZARF_PKG_TMPL_VERSION###"
          description: "built for ###ZARF_PKG_ARCH###"
        constants:
          - name: NGINX_VERSION
            value: "###ZARF_PKG_TMPL_NGINX_VERSION###"
        components:
          - name: web
            description: "component ###ZARF_COMPONENT_NAME###"
            images:
              - "nginx:###ZARF_PKG_TMPL_NGINX_VERSION###"
        """

    @Test("--set values and zarf-config.yaml fill ###ZARF_PKG_TMPL_*###; ###ZARF_PKG_ARCH### gets the architecture")
    func templates() async throws {
        try await withTemporaryDirectory { root in
            let dir = try Fixtures.definition(Self.templated, in: root)
            try Data("package:\n  create:\n    set:\n      nginx_version: '1.27'\n      version: 0.0.1\n".utf8)
                .write(to: URL(fileURLWithPath: dir + "/zarf-config.yaml"))
            let r = try PackageDefinition.load(directory: dir, options: DefinitionOptions(
                architecture: "arm64", setValues: ["VERSION": "2.0.0"], timestamp: Fixtures.epoch, user: "u"))
            #expect(r.package.metadata?.version == "2.0.0")  // --set wins over the config file
            #expect(r.package.metadata?.description == "built for arm64")
            #expect(r.package.components[0].images == ["nginx:1.27"])
            #expect(r.package.components[0].description == "component web")
            #expect(r.package.constants?.first?.value == "1.27")
            #expect(r.fileName == "zarf-package-tmpl-arm64-2.0.0.tar.zst")
        }
    }

    @Test("an unset template is a clear error naming the key and line")
    func unsetTemplate() async throws {
        try await withTemporaryDirectory { root in
            let dir = try Fixtures.definition(Self.templated, in: root)
            do {
                _ = try PackageDefinition.load(directory: dir, options: DefinitionOptions(setValues: ["VERSION": "1"]))
                Issue.record("expected an error")
            } catch let e as PackagingError {
                guard case .unsetTemplate(_, let line, let key) = e else { Issue.record("wrong error \(e)"); return }
                #expect(key == "NGINX_VERSION")
                #expect(line == 8)
                #expect("\(e)".contains("--set NGINX_VERSION=VALUE"))
            }
        }
    }

    @Test("only filters: architecture, flavor, localOS; build metadata recorded deterministically")
    func filtersAndBuild() async throws {
        let yaml = """
            kind: ZarfPackageConfig
            metadata:
              name: flavors
            components:
              - name: common
              - name: pod
                only:
                  flavor: rocky
              - name: pod
                only:
                  flavor: alma
              - name: arm-only
                only:
                  cluster:
                    architecture: arm64
              - name: mac-only
                only:
                  localOS: darwin
            """
        try await withTemporaryDirectory { root in
            let dir = try Fixtures.definition(yaml, in: root)
            let env = ["SOURCE_DATE_EPOCH": "1700000000", "USER": "builder"]
            let r = try PackageDefinition.load(directory: dir, options: DefinitionOptions(
                architecture: "amd64", flavor: "alma", registryOverrides: ["docker.io": "mirror.local"], environment: env))
            #expect(r.package.components.map(\.name) == ["common", "pod"])
            #expect(r.package.components[1].only?.flavor == "alma")
            let b = try #require(r.package.build)
            #expect(b.architecture == "amd64")
            #expect(b.timestamp == "Tue, 14 Nov 2023 22:13:20 +0000")
            #expect(b.user == "builder")
            #expect(b.flavor == "alma")
            #expect(b.registryOverrides?["docker.io"] == "mirror.local")
            #expect(r.fileName == "zarf-package-flavors-amd64-alma.tar.zst")
            let arm = try PackageDefinition.load(directory: dir, options: DefinitionOptions(architecture: "arm64", environment: env))
            #expect(arm.package.components.map(\.name) == ["common", "arm-only"])
            // Same inputs, same zarf.yaml bytes.
            let again = try PackageDefinition.load(directory: dir, options: DefinitionOptions(
                architecture: "amd64", flavor: "alma", registryOverrides: ["docker.io": "mirror.local"], environment: env))
            #expect(try PackageDefinition.encode(again.package) == PackageDefinition.encode(r.package))
        }
    }

    @Test("local component imports compose paths, merge manifests and charts, and bring variables")
    func imports() async throws {
        try await withTemporaryDirectory { root in
            _ = try Fixtures.definition("""
                kind: ZarfPackageConfig
                metadata:
                  name: child
                variables:
                  - name: CHILD_VAR
                components:
                  - name: baseline
                    description: child description
                    images: [nginx:1.0]
                    manifests:
                      - name: games
                        namespace: child-ns
                        files: [manifests/deploy.yaml]
                    files:
                      - source: data/file.txt
                        target: /tmp/file.txt
                    charts:
                      - name: podinfo
                        localPath: chart
                        valuesFiles: [values.yaml]
                    actions:
                      onCreate:
                        before:
                          - cmd: echo child
                """, in: root, name: "child")
            let parent = try Fixtures.definition("""
                kind: ZarfPackageConfig
                metadata:
                  name: parent
                components:
                  - name: games
                    required: true
                    import:
                      path: ../child
                      name: baseline
                    images: [redis:7]
                    manifests:
                      - name: games
                        files: [extra.yaml]
                    charts:
                      - name: podinfo
                        namespace: podinfo-ns
                    actions:
                      onCreate:
                        before:
                          - cmd: echo parent
                """, in: root, name: "parent")
            let r = try PackageDefinition.load(directory: parent, options: DefinitionOptions(architecture: "amd64", timestamp: Fixtures.epoch))
            let c = try #require(r.package.components.first)
            #expect(c.name == "games")
            #expect(c.required == true)
            #expect(c.import == nil)
            #expect(c.description == "child description")
            #expect(c.images == ["nginx:1.0", "redis:7"])
            #expect(c.manifests?.count == 1)
            #expect(c.manifests?[0].files == ["../child/manifests/deploy.yaml", "extra.yaml"])
            #expect(c.manifests?[0].namespace == "child-ns")
            #expect(c.files?[0].source == "../child/data/file.txt")
            #expect(c.charts?[0].localPath == "../child/chart")
            #expect(c.charts?[0].valuesFiles == ["../child/values.yaml"])
            #expect(c.charts?[0].namespace == "podinfo-ns")
            #expect(c.actions?.onCreate?.before?.map(\.cmd) == ["echo child", "echo parent"])
            #expect(c.actions?.onCreate?.before?[0].dir == "../child")
            #expect(r.package.variables?.map(\.name) == ["CHILD_VAR"])
        }
    }

    @Test("import errors: cycle, missing component, OCI url")
    func importErrors() async throws {
        try await withTemporaryDirectory { root in
            _ = try Fixtures.definition("""
                kind: ZarfPackageConfig
                metadata: {name: a}
                components:
                  - name: x
                    import: {path: ../b}
                """, in: root, name: "a")
            _ = try Fixtures.definition("""
                kind: ZarfPackageConfig
                metadata: {name: b}
                components:
                  - name: x
                    import: {path: ../a}
                  - name: y
                """, in: root, name: "b")
            #expect(throws: PackagingError.self) { try PackageDefinition.load(directory: root + "/a") }
            let dir = try Fixtures.definition("""
                kind: ZarfPackageConfig
                metadata: {name: c}
                components:
                  - name: missing
                    import: {path: ../b, name: nope}
                  - name: remote
                    import: {url: "oci://ghcr.io/x/y:1.0"}
                """, in: root, name: "c")
            do { _ = try PackageDefinition.load(directory: dir); Issue.record("expected an error") } catch let e as PackagingError {
                #expect("\(e)".contains("no compatible component named nope"))
            }
        }
    }

    @Test("composable-packages example resolves its local import")
    func composableExample() async throws {
        try await withTemporaryDirectory { root in
            // Copy the two example definitions side by side, dropping the OCI-imported component.
            let src = sharedDirectory() + "/examples/zarf"
            try FileManager.default.copyItem(atPath: src + "/dos-games", toPath: root + "/dos-games")
            try FileManager.default.createDirectory(atPath: root + "/composable", withIntermediateDirectories: true)
            var text = try String(contentsOfFile: src + "/composable-packages/zarf.yaml", encoding: .utf8)
            text = String(text[..<text.range(of: "  - name: oci-games-url")!.lowerBound])
            try Data(text.utf8).write(to: URL(fileURLWithPath: root + "/composable/zarf.yaml"))
            let r = try PackageDefinition.load(directory: root + "/composable", options: DefinitionOptions(architecture: "amd64"))
            let c = try #require(r.package.components.first)
            #expect(c.name == "local-games-path")
            #expect(c.images?.isEmpty == false)
            #expect(c.manifests?.first?.files?.contains("quake-service.yaml") == true)
            #expect(c.manifests?.first?.files?.contains { $0.hasPrefix("../dos-games/") } == true)
        }
    }
}

import Admission
import Foundation
import OCI
import OutpostCore
import Testing
import TestSupport

/// Flux and Argo CD sources, each patch applied by Python's jsonpatch and compared with the whole object.
@Suite struct SourceMutationTests {
    static let gitServer = "http://zarf-gitea-http.zarf.svc.cluster.local:3000"
    static let config = AgentConfig(registryPullUsername: "zarf-pull", registryPullPassword: "pullpw",
                                    gitServerAddress: gitServer, gitPushUsername: "zarf-git-user",
                                    gitPullUsername: "zarf-git-read-user", gitPullPassword: "gitpw")
    static func gitMirror(_ name: String) -> String { "\(gitServer)/zarf-git-user/\(name)" }

    @Test func fluxGitRepositoryCompatExample() throws {
        let repo: JSONValue = ["apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
                               "metadata": ["name": "zarf", "namespace": "flux-system"],
                               "spec": ["url": "https://github.com/zarf-dev/zarf.git", "interval": "1m", "ref": ["tag": "v0.84.0"]]]
        let out = try PatchHarness.run(.fluxGitRepository, repo, config: Self.config, kind: "GitRepository")
        var expected = repo
        expected["metadata"]?["labels"] = ["zarf-agent": "patched"]
        expected["spec"]?["url"] = .string(Self.gitMirror("zarf-4156197301.git"))
        expected["spec"]?["secretRef"] = ["name": "private-git-server"]
        #expect(out.patched == expected)
    }

    @Test func fluxGitRepositoryAlreadyOnTheGitServerKeepsItsURL() throws {
        let url = Self.gitMirror("zarf-4156197301.git")
        let repo: JSONValue = ["metadata": ["labels": ["a": "b"]], "spec": ["url": .string(url)]]
        let out = try PatchHarness.run(.fluxGitRepository, repo, config: Self.config, operation: "UPDATE", kind: "GitRepository")
        #expect(out.patched == ["metadata": ["labels": ["a": "b", "zarf-agent": "patched"]],
                                "spec": ["url": .string(url), "secretRef": ["name": "private-git-server"]]])
    }

    @Test func fluxGitRepositoryWithoutGitServerIsLeftAlone() throws {
        let repo: JSONValue = ["metadata": [:], "spec": ["url": "https://github.com/zarf-dev/zarf.git"]]
        let out = try PatchHarness.run(.fluxGitRepository, repo, config: AgentConfig(), kind: "GitRepository")
        #expect(out.allowed && out.patch == nil)
    }

    @Test func fluxHelmRepositoryOCI() throws {
        let repo: JSONValue = ["metadata": ["name": "podinfo"], "spec": ["type": "oci", "url": "oci://ghcr.io/stefanprodan/charts"]]
        let out = try PatchHarness.run(.fluxHelmRepository, repo, config: Self.config, kind: "HelmRepository")
        #expect(out.patched == ["metadata": ["name": "podinfo", "labels": ["zarf-agent": "patched"]],
                                "spec": ["type": "oci", "url": "oci://127.0.0.1:31999/stefanprodan/charts", "insecure": true,
                                         "secretRef": ["name": "private-registry"]]])
        // an external registry gets no insecure flag
        var external = Self.config
        external.registryAddress = "registry.example.com"
        external.registryInternal = false
        let ext = try PatchHarness.run(.fluxHelmRepository, repo, config: external, kind: "HelmRepository")
        #expect(ext.patched?["spec"]?["insecure"] == nil)
        #expect(ext.patched?["spec"]?["url"]?.stringValue == "oci://registry.example.com/stefanprodan/charts")
    }

    @Test func fluxHelmRepositoryOfDefaultTypeIsLeftAlone() throws {
        let repo: JSONValue = ["metadata": [:], "spec": ["url": "https://stefanprodan.github.io/podinfo"]]
        #expect(try PatchHarness.run(.fluxHelmRepository, repo, config: Self.config, kind: "HelmRepository").patch == nil)
    }

    @Test func fluxOCIRepositoryTag() throws {
        let repo: JSONValue = ["metadata": ["name": "podinfo"],
                               "spec": ["url": "oci://ghcr.io/stefanprodan/manifests/podinfo", "ref": ["tag": "6.3.3"], "interval": "10m"]]
        let out = try PatchHarness.run(.fluxOCIRepository, repo, config: Self.config, kind: "OCIRepository")
        let crc = CRC32.checksum("ghcr.io/stefanprodan/manifests/podinfo")
        #expect(out.patched == ["metadata": ["name": "podinfo", "labels": ["zarf-agent": "patched"]],
                                "spec": ["url": "oci://127.0.0.1:31999/stefanprodan/manifests/podinfo",
                                         "ref": ["tag": .string("6.3.3-zarf-\(crc)")], "interval": "10m", "insecure": true,
                                         "secretRef": ["name": "private-registry"]]])
    }

    @Test func fluxOCIRepositoryWithoutRefGetsLatestChecksumTag() throws {
        let repo: JSONValue = ["metadata": [:], "spec": ["url": "oci://ghcr.io/stefanprodan/manifests/podinfo"]]
        let out = try PatchHarness.run(.fluxOCIRepository, repo, config: Self.config, kind: "OCIRepository")
        #expect(out.patched?["spec"]?["ref"] == ["tag": .string("latest-zarf-\(CRC32.checksum("ghcr.io/stefanprodan/manifests/podinfo"))")])
    }

    @Test func fluxOCIRepositoryDigestAndSemverKeepTheirRef() throws {
        let digest = "sha256:3fbc632167424a6d997e74f52b878d7cc478225cffac6bc977eedfe51c7f4e79"
        let pinned: JSONValue = ["metadata": [:], "spec": ["url": "oci://ghcr.io/org/app", "ref": ["digest": .string(digest)]]]
        let a = try PatchHarness.run(.fluxOCIRepository, pinned, config: Self.config, kind: "OCIRepository")
        #expect(a.patched?["spec"]?["ref"] == ["digest": .string(digest)])
        #expect(a.patched?["spec"]?["url"]?.stringValue == "oci://127.0.0.1:31999/org/app")
        let semver: JSONValue = ["metadata": [:], "spec": ["url": "oci://ghcr.io/org/app", "ref": ["semver": ">=1.0.0"]]]
        let b = try PatchHarness.run(.fluxOCIRepository, semver, config: Self.config, kind: "OCIRepository")
        #expect(b.patched?["spec"]?["ref"] == ["semver": ">=1.0.0"])
    }

    @Test func fluxOCIRepositoryUpdateAlreadyPatchedKeepsURLAndTag() throws {
        let repo: JSONValue = ["metadata": [:], "spec": ["url": "oci://127.0.0.1:31999/org/app", "ref": ["tag": "1.0-zarf-1"]]]
        let out = try PatchHarness.run(.fluxOCIRepository, repo, config: Self.config, operation: "UPDATE", kind: "OCIRepository")
        #expect(out.patched?["spec"]?["url"]?.stringValue == "oci://127.0.0.1:31999/org/app")
        #expect(out.patched?["spec"]?["ref"]?["tag"]?.stringValue == "1.0-zarf-1")
    }

    @Test func argoApplicationSourceAndSources() throws {
        let podinfo = try ZarfTransform.gitRepoName("https://github.com/stefanprodan/podinfo.git")
        let app: JSONValue = [
            "apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": ["name": "apps"],
            "spec": [
                "source": ["repoURL": "https://github.com/zarf-dev/zarf.git", "path": "examples", "targetRevision": "HEAD"],
                "sources": [["repoURL": "https://github.com/stefanprodan/podinfo.git", "path": "kustomize"],
                            ["repoURL": "oci://ghcr.io/stefanprodan/charts/podinfo", "chart": "podinfo", "targetRevision": "6.3.3"],
                            ["ref": "values"]],
                "destination": ["server": "https://kubernetes.default.svc", "namespace": "apps"],
            ],
        ]
        let out = try PatchHarness.run(.argoApplication, app, config: Self.config, kind: "Application")
        var expected = app
        expected["metadata"]?["labels"] = ["zarf-agent": "patched"]
        expected["spec"]?["source"]?["repoURL"] = .string(Self.gitMirror("zarf-4156197301.git"))
        expected["spec"]?["sources"] = [["repoURL": .string(Self.gitMirror(podinfo + ".git")), "path": "kustomize"],
                                        ["repoURL": "oci://127.0.0.1:31999/stefanprodan/charts/podinfo", "chart": "podinfo", "targetRevision": "6.3.3"],
                                        ["ref": "values"]]
        #expect(out.patched == expected)
    }

    @Test func argoApplicationSetGitGenerators() throws {
        let set: JSONValue = ["metadata": ["name": "s"], "spec": ["generators": [
            ["list": ["elements": [["cluster": "a"]]]],
            ["git": ["repoURL": "https://github.com/zarf-dev/zarf.git", "revision": "HEAD", "directories": [["path": "apps/*"]]]],
        ], "template": ["metadata": ["name": "{{path.basename}}"]]]]
        let out = try PatchHarness.run(.argoApplicationSet, set, config: Self.config, kind: "ApplicationSet")
        var expected = set
        expected["metadata"]?["labels"] = ["zarf-agent": "patched"]
        expected["spec"]?["generators"] = [["list": ["elements": [["cluster": "a"]]]],
            ["git": ["repoURL": .string(Self.gitMirror("zarf-4156197301.git")), "revision": "HEAD", "directories": [["path": "apps/*"]]]]]
        #expect(out.patched == expected)
    }

    @Test func argoAppProjectSourceReposSkipsWildcards() throws {
        let project: JSONValue = ["metadata": ["name": "p"], "spec": ["sourceRepos": ["*", "https://github.com/zarf-dev/zarf.git"]]]
        let out = try PatchHarness.run(.argoAppProject, project, config: Self.config, kind: "AppProject")
        #expect(out.patched?["spec"]?["sourceRepos"] == ["*", .string(Self.gitMirror("zarf-4156197301.git"))])
        #expect(out.patched?["metadata"]?["labels"] == ["zarf-agent": "patched"])
    }

    @Test func argoRepositorySecretGitAndOCI() throws {
        func b64(_ s: String) -> JSONValue { .string(Data(s.utf8).base64EncodedString()) }
        let git: JSONValue = ["apiVersion": "v1", "kind": "Secret",
                              "metadata": ["name": "repo", "labels": ["argocd.argoproj.io/secret-type": "repository"]],
                              "data": ["url": b64("https://github.com/zarf-dev/zarf.git"), "type": b64("git")]]
        let g = try PatchHarness.run(.argoRepository, git, config: Self.config, kind: "Secret")
        #expect(g.patched?["data"] == ["url": b64(Self.gitMirror("zarf-4156197301.git")), "type": b64("git"),
                                       "username": b64("zarf-git-read-user"), "password": b64("gitpw")])
        #expect(g.patched?["metadata"]?["labels"] == ["argocd.argoproj.io/secret-type": "repository", "zarf-agent": "patched"])

        let oci: JSONValue = ["metadata": ["name": "charts"], "data": ["url": b64("oci://ghcr.io/stefanprodan/charts"), "type": b64("helm")]]
        let o = try PatchHarness.run(.argoRepository, oci, config: Self.config, kind: "Secret")
        #expect(o.patched?["data"] == ["url": b64("oci://127.0.0.1:31999/stefanprodan/charts"), "type": b64("helm"),
                                       "username": b64("zarf-pull"), "password": b64("pullpw"), "insecureOCIForceHttp": b64("true")])
    }

    @Test func argoRepositorySecretWithoutURLIsDenied() throws {
        let secret: JSONValue = ["metadata": ["name": "x"], "data": ["type": "Z2l0"]]
        let out = try PatchHarness.run(.argoRepository, secret, config: Self.config, kind: "Secret")
        #expect(!out.allowed)
        #expect(out.message.contains("data.url"))
    }

    @Test func unparsableGitURLIsDenied() throws {
        let repo: JSONValue = ["metadata": [:], "spec": ["url": "git@github.com:zarf-dev/zarf.git"]]
        let out = try PatchHarness.run(.fluxGitRepository, repo, config: Self.config, kind: "GitRepository")
        #expect(!out.allowed)
        #expect(out.message.contains("git@github.com:zarf-dev/zarf.git"))
    }
}

@testable import AdmissionFuzz
import Admission
import Foundation
import OutpostCore
import Testing

/// The fuzz check's JSON Patch applier must agree with Python's `jsonpatch` (an independent RFC 6902
/// implementation): on what a patch produces and on which patches do not apply. The review check relies on it
/// to say that the agent's patches apply.
@Suite struct FoundationJSONPatchTests {
    static let document = #"{"metadata":{"name":"p","labels":{"a/b":"x","t~":"y"}},"spec":{"containers":[{"image":"nginx"},{"image":"redis"}]},"n":null}"#

    /// Each patch, applied by both; nil from both means both refused it.
    static let patches: [String] = [
        #"[{"op":"replace","path":"/spec/containers/1/image","value":"r:7"}]"#,
        #"[{"op":"add","path":"/metadata/annotations","value":{"k":"v"}},{"op":"add","path":"/metadata/labels/zarf-agent","value":"patched"}]"#,
        #"[{"op":"add","path":"/metadata/labels/a~1b","value":"z"},{"op":"replace","path":"/metadata/labels/t~0","value":"w"}]"#,
        #"[{"op":"add","path":"/spec/containers/-","value":{"image":"busybox"}},{"op":"add","path":"/spec/containers/0","value":{}}]"#,
        #"[{"op":"remove","path":"/spec/containers/0"},{"op":"test","path":"/spec/containers/0/image","value":"redis"}]"#,
        #"[{"op":"replace","path":"","value":[1,2]}]"#,
        #"[{"op":"add","path":"/n","value":1},{"op":"remove","path":"/metadata/name"}]"#,
        // Refused:
        #"[{"op":"replace","path":"/metadata/annotations","value":{}}]"#,
        #"[{"op":"add","path":"/metadata/annotations/k","value":"v"}]"#,
        #"[{"op":"replace","path":"/spec/containers/2/image","value":"x"}]"#,
        #"[{"op":"add","path":"/spec/containers/3","value":{}}]"#,
        #"[{"op":"replace","path":"/spec/containers/01/image","value":"x"}]"#,
        #"[{"op":"replace","path":"/spec/containers/-/image","value":"x"}]"#,
        #"[{"op":"add","path":"/metadata/labels/a~2","value":"x"}]"#,
        #"[{"op":"remove","path":"/metadata/missing"}]"#,
        #"[{"op":"test","path":"/metadata/name","value":"q"}]"#,
        #"[{"op":"add","path":"/metadata/name/x","value":1}]"#,
        #"[{"op":"add","path":"metadata","value":1}]"#,
    ]

    @Test(arguments: patches)
    func agreesWithPythonJSONPatch(patch: String) throws {
        let operations = try #require(JSONSerialization.jsonObject(with: Data(patch.utf8)) as? [[String: Any]])
        let ours: Data?
        do {
            let patched = try FoundationJSONPatch.apply(operations, to: JSONSerialization.jsonObject(with: Data(Self.document.utf8)))
            ours = FoundationJSONPatch.canonical(patched)
        } catch {
            ours = nil
        }
        let theirs: Data?
        do {
            let result = try PatchHarness.applyWithPython(try JSONValue.parse(Data(Self.document.utf8)), Data(patch.utf8))
            theirs = FoundationJSONPatch.canonical(try JSONSerialization.jsonObject(with: result.encoded(), options: .fragmentsAllowed))
        } catch is PatchHarness.PythonPatchFailure {
            theirs = nil
        }
        #expect(ours == theirs, "ours: \(ours.map { String(decoding: $0, as: UTF8.self) } ?? "refused"), jsonpatch: \(theirs.map { String(decoding: $0, as: UTF8.self) } ?? "refused")")
    }

    /// The review check applies the agent's patch: a patch that would not apply, a patched Pod without the
    /// label that stops the agent from patching it again, or one with an image left outside the registry, is
    /// reported.
    @Test func reviewCheckReportsPatchesThatDoNotApplyOrLeaveThePodUnpatched() throws {
        let pod: [String: Any] = ["metadata": ["name": "p"], "spec": ["containers": [["name": "c", "image": "nginx"]]]]
        let request: [String: Any] = ["uid": "u", "object": pod]
        let missing: [[String: Any]] = [["op": "replace", "path": "/spec/containers/1/image", "value": "x"]]
        #expect(ReviewCheck.checkApplied(missing, hook: .pod, request: request)?.contains("does not apply") == true)
        let unlabeled: [[String: Any]] = [["op": "replace", "path": "/spec/containers/0/image", "value": "x"]]
        #expect(ReviewCheck.checkApplied(unlabeled, hook: .pod, request: request)?.contains("zarf-agent") == true)
        let label: [[String: Any]] = [["op": "add", "path": "/metadata/labels", "value": ["zarf-agent": "patched"]]]
        #expect(ReviewCheck.checkApplied(unlabeled + label, hook: .pod, request: request)?.contains("spec.containers[0].image is x after the patch") == true)
        let rewritten: [[String: Any]] = [["op": "replace", "path": "/spec/containers/0/image", "value": "127.0.0.1:31999/library/nginx:latest"]]
        #expect(ReviewCheck.checkApplied(rewritten + label, hook: .pod, request: request) == nil)
        #expect(ReviewCheck.checkApplied(rewritten + label, hook: .pod, request: ["uid": "u"])?.contains("without an object") == true)
        var withVolume = pod
        withVolume["spec"] = ["containers": [["name": "c", "image": "nginx"]], "volumes": [["name": "v", "image": ["reference": "redis:7"]]]]
        #expect(ReviewCheck.checkApplied(rewritten + label, hook: .pod, request: ["uid": "u", "object": withVolume])?
            .contains("spec.volumes[0].image.reference is redis:7") == true)
        // Zarf leaves an image alone when the registry address starts with its host, even a partial one.
        var nearby = pod
        nearby["spec"] = ["containers": [["name": "c", "image": "127.0.0/a/b:c"]]]
        #expect(ReviewCheck.checkApplied(label, hook: .pod, request: ["uid": "u", "object": nearby]) == nil)
        #expect(ReviewCheck.checkApplied(rewritten + label, hook: .pod, request: ["uid": "u", "object": nearby])?
            .contains("was 127.0.0/a/b:c, which names the registry") == true)
    }

    /// A patched Flux source must carry the internal server's secret (and an oci:// URL for the registry's).
    @Test func reviewCheckReportsFluxSourcesWithoutTheInternalSecret() {
        let repo: [String: Any] = ["metadata": ["name": "g"], "spec": ["url": "https://github.com/a/b.git"]]
        let request: [String: Any] = ["uid": "u", "object": repo]
        let label: [[String: Any]] = [["op": "add", "path": "/metadata/labels", "value": ["zarf-agent": "patched"]]]
        let url: [[String: Any]] = [["op": "replace", "path": "/spec/url", "value": ReviewCheck.gitServer + "/zarf-git-user/b-1.git"]]
        let secret: [[String: Any]] = [["op": "add", "path": "/spec/secretRef", "value": ["name": "private-git-server"]]]
        #expect(ReviewCheck.checkApplied(url + label, hook: .fluxGitRepository, request: request)?.contains("spec.secretRef.name is nil") == true)
        #expect(ReviewCheck.checkApplied(url + secret, hook: .fluxGitRepository, request: request)?.contains("zarf-agent") == true)
        #expect(ReviewCheck.checkApplied(url + secret + label, hook: .fluxGitRepository, request: request) == nil)
        let registrySecret: [[String: Any]] = [["op": "add", "path": "/spec/secretRef", "value": ["name": "private-registry"]]]
        #expect(ReviewCheck.checkApplied(url + registrySecret + label, hook: .fluxOCIRepository, request: request)?.contains("not an oci:// URL") == true)
        // A GitRepository's URL must now be the git server's (or already have been).
        let elsewhere: [[String: Any]] = [["op": "replace", "path": "/spec/url", "value": "http://git.local/zarf-git-user/b-1.git"]]
        #expect(ReviewCheck.checkApplied(elsewhere + secret + label, hook: .fluxGitRepository, request: request)?
            .contains("spec.url is http://git.local/zarf-git-user/b-1.git after the patch") == true)
        #expect(ReviewCheck.checkApplied(secret + label, hook: .fluxGitRepository, request: request)?.contains("spec.url is https://github.com/a/b.git") == true)
        let onServer: [String: Any] = ["metadata": ["name": "g"], "spec": ["url": "HTTP://user@ZARF-GITEA-HTTP.zarf.svc.cluster.local/x/y.git"]]
        #expect(ReviewCheck.checkApplied(secret + label, hook: .fluxGitRepository, request: ["uid": "u", "object": onServer]) == nil)
    }

    /// Argo CD: every repository URL must move to the git server or registry, or be one already; a repository
    /// Secret must also get the pull credentials; an AppProject may keep what is not a URL.
    @Test func reviewCheckReportsArgoSourcesLeftOutside() {
        let label: [[String: Any]] = [["op": "add", "path": "/metadata/labels", "value": ["zarf-agent": "patched"]]]
        let app: [String: Any] = ["metadata": ["name": "a"], "spec": ["sources": [["repoURL": "https://github.com/a/b.git"], ["repoURL": "oci://ghcr.io/a/chart"]]]]
        let moveGit: [[String: Any]] = [["op": "replace", "path": "/spec/sources/0/repoURL", "value": ReviewCheck.gitServer + "/zarf-git-user/b-1.git"]]
        let moveOCI: [[String: Any]] = [["op": "replace", "path": "/spec/sources/1/repoURL", "value": "oci://127.0.0.1:31999/a/chart"]]
        #expect(ReviewCheck.checkApplied(moveGit + moveOCI + label, hook: .argoApplication, request: ["uid": "u", "object": app]) == nil)
        #expect(ReviewCheck.checkApplied(moveGit + label, hook: .argoApplication, request: ["uid": "u", "object": app])?
            .contains("spec.sources[1].repoURL is oci://ghcr.io/a/chart after the patch") == true)
        let set: [String: Any] = ["metadata": ["name": "s"], "spec": ["generators": [["list": [:]], ["git": ["repoURL": "https://github.com/a/b.git"]]]]]
        let wrongPlace: [[String: Any]] = [["op": "replace", "path": "/spec/generators/1/git/repoURL", "value": "https://127.0.0.1:31999/b.git"]]
        #expect(ReviewCheck.checkApplied(wrongPlace + label, hook: .argoApplicationSet, request: ["uid": "u", "object": set])?
            .contains("spec.generators[1].git.repoURL is https://127.0.0.1:31999/b.git") == true)
        let project: [String: Any] = ["metadata": ["name": "p"], "spec": ["sourceRepos": ["*", "https://github.com/a/b.git"]]]
        let moveRepo: [[String: Any]] = [["op": "replace", "path": "/spec/sourceRepos/1", "value": ReviewCheck.gitServer + "/zarf-git-user/b-1.git"]]
        #expect(ReviewCheck.checkApplied(moveRepo + label, hook: .argoAppProject, request: ["uid": "u", "object": project]) == nil)
        let wildcardMoved: [[String: Any]] = [["op": "replace", "path": "/spec/sourceRepos/0", "value": "https://example.com/x"]]
        #expect(ReviewCheck.checkApplied(wildcardMoved + label, hook: .argoAppProject, request: ["uid": "u", "object": project])?
            .contains("spec.sourceRepos[0] is https://example.com/x") == true)
        func b64(_ s: String) -> String { Data(s.utf8).base64EncodedString() }
        let secret: [String: Any] = ["metadata": ["name": "r"], "data": ["url": b64("https://github.com/a/b.git")]]
        let moveURL: [[String: Any]] = [["op": "replace", "path": "/data/url", "value": b64(ReviewCheck.gitServer + "/zarf-git-user/b-1.git")]]
        let credentials: [[String: Any]] = [["op": "add", "path": "/data/username", "value": b64("u")], ["op": "add", "path": "/data/password", "value": b64("p")]]
        #expect(ReviewCheck.checkApplied(moveURL + credentials + label, hook: .argoRepository, request: ["uid": "u", "object": secret]) == nil)
        #expect(ReviewCheck.checkApplied(moveURL + label, hook: .argoRepository, request: ["uid": "u", "object": secret])?.contains("data.username") == true)
        #expect(ReviewCheck.checkApplied(credentials + label, hook: .argoRepository, request: ["uid": "u", "object": secret])?
            .contains("data.url is https://github.com/a/b.git") == true)
    }

    /// The whole check passes on real reviews of every hook (the agent's patches apply to their objects).
    @Test func reviewCheckPassesOnTheAgentsOwnAnswers() throws {
        let pod = #"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","annotations":{"x":"y"}},"spec":{"initContainers":[{"name":"i","image":"busybox:1.36"}],"containers":[{"name":"c","image":"nginx"}],"ephemeralContainers":[{"name":"e","image":"quay.io/a/b:c"}],"volumes":[{"name":"v","image":{"reference":"docker.io/library/redis:7"}}]}}"#
        for subResource in ["", "ephemeralcontainers"] {
            let body = #"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u-1","kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},"subResource":"\#(subResource)","namespace":"apps","operation":"CREATE","object":\#(pod)}}"#
            let bytes = [UInt8(Hook.allCases.firstIndex(of: .pod)!)] + Array(body.utf8)
            let answer = try ReviewCheck.mutator.review(.pod, body: Data(body.utf8))
            #expect(String(decoding: answer, as: UTF8.self).contains("\"patch\""))
            #expect(ReviewCheck.check(bytes) == nil)
        }
        let git = #"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u-2","kind":{"group":"source.toolkit.fluxcd.io","version":"v1","kind":"GitRepository"},"resource":{"group":"source.toolkit.fluxcd.io","version":"v1","resource":"gitrepositories"},"namespace":"apps","operation":"CREATE","object":{"kind":"GitRepository","metadata":{"name":"g"},"spec":{"url":"https://github.com/stefanprodan/podinfo.git"}}}}"#
        let bytes = [UInt8(Hook.allCases.firstIndex(of: .fluxGitRepository)!)] + Array(git.utf8)
        #expect(ReviewCheck.check(bytes) == nil)
        let argo: [(Hook, String)] = [
            (.argoApplication, #"{"kind":"Application","metadata":{"name":"a"},"spec":{"source":{"repoURL":"https://github.com/a/b.git"},"sources":[{"repoURL":"oci://ghcr.io/a/chart"},{"chart":"x"}]}}"#),
            (.argoApplicationSet, #"{"kind":"ApplicationSet","metadata":{"name":"s"},"spec":{"generators":[{"git":{"repoURL":"https://github.com/a/b.git"}},{"list":{}}]}}"#),
            (.argoAppProject, #"{"kind":"AppProject","metadata":{"name":"p"},"spec":{"sourceRepos":["*","https://github.com/a/b.git","oci://ghcr.io/a/c"]}}"#),
            (.argoRepository, #"{"kind":"Secret","metadata":{"name":"r"},"data":{"url":"aHR0cHM6Ly9naXRodWIuY29tL2EvYi5naXQ="}}"#),
        ]
        for (hook, object) in argo {
            let body = #"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u-3","namespace":"argocd","operation":"CREATE","object":\#(object)}}"#
            let answer = try ReviewCheck.mutator.review(hook, body: Data(body.utf8))
            #expect(String(decoding: answer, as: UTF8.self).contains("\"patch\""), "\(hook)")
            #expect(ReviewCheck.check([UInt8(Hook.allCases.firstIndex(of: hook)!)] + Array(body.utf8)) == nil, "\(hook)")
        }
    }
}

import Foundation
import OutpostCore
import Testing
import TestSupport

/// `outpost agent mutate|certs|manifests` run as the real binary, checked by jsonpatch, openssl,
/// curl and kubernetes-validate.
@Suite struct CommandTests {
    @Test func mutateReadsStdinAndPrintsTheResponse() throws {
        let review = ServerHarness.podReview(containers: 2)
        let r = try ProcessRunner.run(ServerHarness.outpost, ["agent", "mutate", "--registry", "10.1.2.3:5000"], stdin: Data(review.utf8))
        #expect(r.status == 0, "\(r.err)")
        let out = try JSONValue.parse(r.stdout)
        #expect(out["response"]?["uid"]?.stringValue == "u-1")
        let b64 = try #require(out["response"]?["patch"]?.stringValue)
        let request = try JSONValue.parse(Data(review.utf8))
        let patched = try PatchHarness.applyWithPython(try #require(request["request"]?["object"]), try #require(Data(base64Encoded: b64)))
        #expect(patched["spec"]?["containers"] == [["name": "c0", "image": "10.1.2.3:5000/library/nginx:1.0-zarf-3793515731"],
                                                   ["name": "c1", "image": "10.1.2.3:5000/library/nginx:1.1-zarf-3793515731"]])
        #expect(patched["metadata"]?["labels"] == ["zarf-agent": "patched"])

        let labeled = try ProcessRunner.run(ServerHarness.outpost, ["agent", "mutate", "--policy", "labeled", "--output", "patch"], stdin: Data(review.utf8))
        #expect(labeled.status == 0)
        #expect(try JSONValue.parse(labeled.stdout) == [])

        let git = #"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"g","operation":"CREATE","kind":{"group":"source.toolkit.fluxcd.io","version":"v1","kind":"GitRepository"},"object":{"metadata":{},"spec":{"url":"https://github.com/zarf-dev/zarf.git"}}}}"#
        let g = try ProcessRunner.run(ServerHarness.outpost, ["agent", "mutate", "--git-server", "http://gitea.local:3000", "--git-user", "mirror",
                                                              "--output", "patch"], stdin: Data(git.utf8))
        #expect(try JSONValue.parse(g.stdout).arrayValue?.first == ["op": "replace", "path": "/spec/url", "value": "http://gitea.local:3000/mirror/zarf-4156197301.git"])
    }

    @Test func mutateRejectsBadInputWithoutOutput() throws {
        let r = try ProcessRunner.run(ServerHarness.outpost, ["agent", "mutate"], stdin: Data("{not json".utf8))
        #expect(r.status != 0)
        #expect(r.out.isEmpty)
        #expect(r.err.contains("malformed JSON"))
        let noKind = try ProcessRunner.run(ServerHarness.outpost, ["agent", "mutate"], stdin: Data(#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"CREATE","object":{}}}"#.utf8))
        #expect(noKind.status != 0 && noKind.err.contains("--route"))
        let badPolicy = try ProcessRunner.run(ServerHarness.outpost, ["agent", "mutate", "--policy", "some"], stdin: Data())
        #expect(badPolicy.status != 0)
    }

    @Test func generatedCertificatesServeTheServiceName() async throws {
        try await withTemporaryDirectory("agent-certs") { dir in
            let r = try ProcessRunner.run(ServerHarness.outpost, ["agent", "certs", "--host", "agent-hook.zarf.svc", "-o", dir])
            #expect(r.status == 0, "\(r.err)")
            let verify = try ProcessRunner.run("openssl", ["verify", "-CAfile", dir + "/ca.crt", dir + "/tls.crt"])
            #expect(verify.status == 0 && verify.out.contains("OK"), "\(verify.err)")
            let text = try ProcessRunner.run("openssl", ["x509", "-in", dir + "/tls.crt", "-noout", "-text"], check: true).out
            for needle in ["DNS:agent-hook.zarf.svc", "DNS:agent-hook.zarf.svc.cluster.local", "DNS:agent-hook", "prime256v1",
                           "TLS Web Server Authentication", "CA:FALSE"] {
                #expect(text.contains(needle), "certificate lacks \(needle)")
            }
            let caText = try ProcessRunner.run("openssl", ["x509", "-in", dir + "/ca.crt", "-noout", "-text"], check: true).out
            #expect(caText.contains("CA:TRUE") && caText.contains("prime256v1"))
            let mode = try FileManager.default.attributesOfItem(atPath: dir + "/tls.key")[.posixPermissions] as? Int
            #expect(mode == 0o600)

            try ServerHarness.state(registry: "127.0.0.1:31999").write(toFile: dir + "/state.json", atomically: true, encoding: .utf8)
            let (service, port) = try await ServerHarness.start(dir: dir)
            defer { service.stop() }
            let health = try ServerHarness.curl("https://agent-hook.zarf.svc:\(port)/healthz", ca: dir + "/ca.crt",
                                                extra: ["--resolve", "agent-hook.zarf.svc:\(port):127.0.0.1"])
            #expect(health.status == 200, "\(health.body)")
            let s = try ProcessRunner.run("openssl", ["s_client", "-connect", "127.0.0.1:\(port)", "-servername", "agent-hook.zarf.svc",
                                                      "-verify_hostname", "agent-hook.zarf.svc", "-CAfile", dir + "/ca.crt",
                                                      "-verify_return_error"], stdin: Data("Q\n".utf8))
            #expect(s.status == 0 && s.out.contains("Verify return code: 0 (ok)"), "\(s.err)")
        }
    }

    @Test func manifestsValidateStrictlyForKubernetes136() async throws {
        try await withTemporaryDirectory("agent-manifests") { dir in
            try ProcessRunner.run(ServerHarness.outpost, ["agent", "certs", "-o", dir], check: true)
            let r = try ProcessRunner.run(ServerHarness.outpost, ["agent", "manifests", "--certs", dir, "-o", dir + "/agent.yaml"])
            #expect(r.status == 0, "\(r.err)")
            let v = try ProcessRunner.run("kubernetes-validate", ["--strict", "-k", "1.36.0", dir + "/agent.yaml"])
            #expect(v.status == 0, "kubernetes-validate: \(v.out)\(v.err)")
            #expect(!v.out.contains("ERROR") && !v.out.contains("WARN"), "\(v.out)")

            let text = try String(contentsOfFile: dir + "/agent.yaml", encoding: .utf8)
            let docs = try text.components(separatedBy: "---\n").filter { !$0.isEmpty }.map { try JSONValue.parse(Data($0.utf8)) }
            #expect(docs.compactMap { $0["kind"]?.stringValue } == ["ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Secret",
                                                                  "Deployment", "Service", "MutatingWebhookConfiguration"])
            // the server reads namespace labels with its own service account, allowed nothing but `get namespaces`
            #expect(docs[1]["rules"] == [["apiGroups": [""], "resources": ["namespaces"], "verbs": ["get"]]])
            #expect(docs[2]["subjects"]?[0] == ["kind": "ServiceAccount", "name": "agent-hook", "namespace": "zarf"])
            #expect(docs[2]["roleRef"]?["name"] == docs[1]["metadata"]?["name"])
            let deployment = docs[4]
            #expect(deployment["spec"]?["template"]?["spec"]?["serviceAccountName"] == "agent-hook")
            #expect(deployment["spec"]?["replicas"]?.intValue == 2)
            let container = deployment["spec"]?["template"]?["spec"]?["containers"]?[0]
            #expect(container?["securityContext"]?["readOnlyRootFilesystem"] == true)
            #expect(container?["securityContext"]?["runAsNonRoot"] == true)
            #expect(container?["resources"]?["limits"]?["memory"] != nil)
            #expect(container?["readinessProbe"]?["httpGet"]?["scheme"] == "HTTPS")
            let webhooks = try #require(docs[6]["webhooks"]?.arrayValue)
            let ca = try String(contentsOfFile: dir + "/ca.crt", encoding: .utf8)
            #expect(webhooks.count == 8)
            #expect(Set(webhooks.compactMap { $0["clientConfig"]?["service"]?["path"]?.stringValue }).count == 8)
            for w in webhooks {
                #expect(w["failurePolicy"] == "Fail" && w["sideEffects"] == "None" && w["timeoutSeconds"] != nil)
                #expect(w["clientConfig"]?["caBundle"]?.stringValue == Data(ca.utf8).base64EncodedString())
                #expect(w["namespaceSelector"]?["matchExpressions"]?[0] == ["key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["kube-system"]])
            }
        }
    }
}

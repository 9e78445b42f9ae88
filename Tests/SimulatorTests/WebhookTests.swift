import Foundation
import OutpostCore
import Testing
import TestSupport

/// Mutating admission over real TLS: a small Python HTTPS webhook (certificates made with openssl)
/// reached through a Service and Endpoints, selected by namespaceSelector and objectSelector; a wrong
/// caBundle fails creation under failurePolicy Fail and is skipped under Ignore.
@Suite(.serialized) struct WebhookTests {
    static let server = #"""
    import base64, json, ssl, sys, time
    from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):
            review = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            req = review["request"]
            if self.path.startswith("/slow"):
                time.sleep(4)
            if self.path.startswith("/deny"):
                denied = req["object"].get("data", {}).get("mode") == "forbidden"
                reply = {"uid": req["uid"], "allowed": not denied}
                if denied:
                    reply["status"] = {"code": 403, "reason": "Forbidden", "message": "mode forbidden is not allowed"}
                self.reply({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": reply})
                return
            if req["kind"]["kind"] == "ConfigMap":
                patch = [{"op": "add", "path": "/data/operation", "value": req["operation"]}]
            else:
                labels = req["object"]["metadata"].get("labels")
                patch = [{"op": "add", "path": "/metadata/labels/mutated", "value": "by-webhook"}] if labels else \
                        [{"op": "add", "path": "/metadata/labels", "value": {"mutated": "by-webhook"}}]
                image = req["object"]["spec"]["containers"][0]["image"]
                patch.append({"op": "replace", "path": "/spec/containers/0/image", "value": "127.0.0.1:31999/mirror/" + image})
            self.reply({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                        "response": {"uid": req["uid"], "allowed": True, "patchType": "JSONPatch",
                                     "patch": base64.b64encode(json.dumps(patch).encode()).decode()}})
        def reply(self, review):
            out = json.dumps(review).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)
        def log_message(self, *args):
            pass
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Hook)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(sys.argv[2], sys.argv[3])
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.serve_forever()
    """#

    static func makeCA(_ dir: String, _ name: String) throws {
        try ProcessRunner.run("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                                          "-keyout", "\(dir)/\(name).key", "-out", "\(dir)/\(name).crt", "-subj", "/CN=\(name)", "-days", "2"], check: true)
    }

    @Test func webhookMutatesPodsOverTLSAndAWrongCABundleFails() async throws {
        try await withTemporaryDirectory("outpost-webhook") { dir in
            try Self.makeCA(dir, "ca")
            try Self.makeCA(dir, "wrong-ca")
            try ProcessRunner.run("openssl", ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                                              "-keyout", "\(dir)/hook.key", "-out", "\(dir)/hook.csr", "-subj", "/CN=hook"], check: true)
            try Data("subjectAltName=DNS:hook.default.svc,IP:127.0.0.1\n".utf8).write(to: URL(fileURLWithPath: dir + "/ext.cnf"))
            try ProcessRunner.run("openssl", ["x509", "-req", "-in", "\(dir)/hook.csr", "-CA", "\(dir)/ca.crt", "-CAkey", "\(dir)/ca.key",
                                              "-CAcreateserial", "-out", "\(dir)/hook.crt", "-days", "2", "-extfile", "\(dir)/ext.cnf"], check: true)
            try Data(Self.server.utf8).write(to: URL(fileURLWithPath: dir + "/hook.py"))
            let port = try freeLoopbackPort()
            let hook = try BackgroundService(name: "webhook", program: "python3",
                                             arguments: [dir + "/hook.py", String(port), dir + "/hook.crt", dir + "/hook.key"],
                                             logPath: dir + "/hook.log")
            defer { hook.stop() }
            do { try await waitForPort(port, timeout: 90) } catch {
                Issue.record("the test webhook did not start: \(hook.log)")
                throw error
            }
            let caBundle = try Data(contentsOf: URL(fileURLWithPath: dir + "/ca.crt")).base64EncodedString()
            let wrongBundle = try Data(contentsOf: URL(fileURLWithPath: dir + "/wrong-ca.crt")).base64EncodedString()

            try await withSimulator { sim in
                try sim.kubectl(["label", "namespace", "default", "webhook=enabled"], check: true)
                try sim.apply("""
                apiVersion: v1
                kind: Namespace
                metadata: {name: plain}
                ---
                apiVersion: v1
                kind: Service
                metadata: {name: hook, namespace: default}
                spec:
                  ports: [{port: 443, targetPort: \(port)}]
                ---
                apiVersion: v1
                kind: Endpoints
                metadata: {name: hook, namespace: default}
                subsets:
                - addresses: [{ip: 127.0.0.1}]
                  ports: [{port: \(port)}]
                ---
                apiVersion: admissionregistration.k8s.io/v1
                kind: MutatingWebhookConfiguration
                metadata: {name: rewrite-images}
                webhooks:
                - name: rewrite.outpost.test
                  admissionReviewVersions: [v1]
                  sideEffects: None
                  failurePolicy: Fail
                  timeoutSeconds: 5
                  namespaceSelector: {matchLabels: {webhook: enabled}}
                  objectSelector: {matchExpressions: [{key: skip, operator: DoesNotExist}]}
                  rules:
                  - {apiGroups: [""], apiVersions: [v1], operations: [CREATE], resources: [pods], scope: Namespaced}
                  clientConfig:
                    caBundle: \(caBundle)
                    service: {namespace: default, name: hook, path: /mutate, port: 443}
                """)
                let pod = { (name: String, ns: String, labels: String) in """
                    apiVersion: v1
                    kind: Pod
                    metadata: {name: \(name), namespace: \(ns), labels: {\(labels)}}
                    spec:
                      nodeName: not-a-node
                      containers: [{name: main, image: "busybox:1.36"}]
                    """ }
                try sim.apply(pod("mutated", "default", "app: one"))
                let mutated = try JSONValue.parse(try sim.kubectl(["get", "pod", "mutated", "-o", "json"], check: true).stdout)
                #expect(mutated["metadata"]?["labels"]?["mutated"] == "by-webhook")
                #expect(mutated["spec"]?["containers"]?[0]?["image"] == "127.0.0.1:31999/mirror/busybox:1.36")

                try sim.apply(pod("other-namespace", "plain", "app: two"))
                let untouched = try JSONValue.parse(try sim.kubectl(["get", "pod", "other-namespace", "-n", "plain", "-o", "json"], check: true).stdout)
                #expect(untouched["metadata"]?["labels"]?["mutated"] == nil)
                try sim.apply(pod("skipped", "default", "skip: \"yes\""))
                let skipped = try JSONValue.parse(try sim.kubectl(["get", "pod", "skipped", "-o", "json"], check: true).stdout)
                #expect(skipped["spec"]?["containers"]?[0]?["image"] == "busybox:1.36")

                // A caBundle that did not sign the webhook's certificate: creation fails under Fail.
                let strict = """
                apiVersion: admissionregistration.k8s.io/v1
                kind: MutatingWebhookConfiguration
                metadata: {name: wrong-ca}
                webhooks:
                - name: wrong.outpost.test
                  admissionReviewVersions: [v1]
                  sideEffects: None
                  failurePolicy: POLICY
                  objectSelector: {matchLabels: {check: strict}}
                  rules:
                  - {apiGroups: [""], apiVersions: [v1], operations: [CREATE], resources: [pods]}
                  clientConfig:
                    caBundle: \(wrongBundle)
                    url: https://127.0.0.1:\(port)/mutate
                """
                try sim.apply(strict.replacingOccurrences(of: "POLICY", with: "Fail"))
                let refused = try sim.kubectl(["apply", "-f", "-"], stdin: Data(pod("refused", "plain", "check: strict").utf8))
                #expect(refused.status != 0)
                #expect(refused.err.contains("failed calling webhook \"wrong.outpost.test\""))
                #expect(try sim.kubectl(["get", "pod", "refused", "-n", "plain"]).status != 0)
                try sim.apply(strict.replacingOccurrences(of: "POLICY", with: "Ignore"))
                try sim.apply(pod("allowed", "plain", "check: strict"))
                #expect(try sim.kubectl(["get", "pod", "allowed", "-n", "plain"]).status == 0)

                // Rules select operations: a hook for UPDATE of ConfigMaps leaves their creation alone.
                // A hook slower than its timeoutSeconds fails the request under Fail, is skipped under Ignore.
                let configMapHooks = """
                apiVersion: admissionregistration.k8s.io/v1
                kind: MutatingWebhookConfiguration
                metadata: {name: configmaps}
                webhooks:
                - name: update.outpost.test
                  admissionReviewVersions: [v1]
                  sideEffects: None
                  objectSelector: {matchLabels: {watched: "yes"}}
                  rules:
                  - {apiGroups: [""], apiVersions: [v1], operations: [UPDATE], resources: [configmaps]}
                  clientConfig: {caBundle: \(caBundle), url: "https://127.0.0.1:\(port)/mutate"}
                - name: slow.outpost.test
                  admissionReviewVersions: [v1]
                  sideEffects: None
                  timeoutSeconds: 1
                  failurePolicy: POLICY
                  objectSelector: {matchLabels: {slow: "yes"}}
                  rules:
                  - {apiGroups: [""], apiVersions: [v1], operations: [CREATE], resources: [configmaps]}
                  clientConfig: {caBundle: \(caBundle), url: "https://127.0.0.1:\(port)/slow"}
                """
                try sim.apply(configMapHooks.replacingOccurrences(of: "POLICY", with: "Fail"))
                try sim.apply("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: watched, labels: {watched: \"yes\"}}\ndata: {a: \"1\"}\n")
                #expect(try sim.kubectl(["get", "cm", "watched", "-o", "jsonpath={.data.operation}"], check: true).out.isEmpty)
                try sim.kubectl(["patch", "cm", "watched", "--type", "merge", "-p", #"{"data":{"a":"2"}}"#], check: true)
                #expect(try sim.kubectl(["get", "cm", "watched", "-o", "jsonpath={.data.operation}"], check: true).out == "UPDATE")
                let slowCM = Data("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: slow, labels: {slow: \"yes\"}}\n".utf8)
                let timedOut = try sim.kubectl(["apply", "-f", "-"], stdin: slowCM)
                #expect(timedOut.status != 0)
                #expect(timedOut.err.contains("failed calling webhook \"slow.outpost.test\""), "\(timedOut.err)")
                #expect(timedOut.err.contains("context deadline exceeded"), "\(timedOut.err)")
                #expect(try sim.kubectl(["get", "cm", "slow"]).status != 0)
                try sim.apply(configMapHooks.replacingOccurrences(of: "POLICY", with: "Ignore"))
                try sim.kubectl(["apply", "-f", "-"], stdin: slowCM, check: true)
                #expect(try sim.kubectl(["get", "cm", "slow"]).status == 0)

                // A ValidatingWebhookConfiguration's denial is the request's error.
                try sim.apply("""
                apiVersion: admissionregistration.k8s.io/v1
                kind: ValidatingWebhookConfiguration
                metadata: {name: policy}
                webhooks:
                - name: deny.outpost.test
                  admissionReviewVersions: [v1]
                  sideEffects: None
                  rules:
                  - {apiGroups: [""], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [configmaps]}
                  clientConfig: {caBundle: \(caBundle), url: "https://127.0.0.1:\(port)/deny"}
                """)
                let denied = try sim.kubectl(["apply", "-f", "-"], stdin: Data("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: denied}\ndata: {mode: forbidden}\n".utf8))
                #expect(denied.status != 0)
                #expect(denied.err.contains("admission webhook \"deny.outpost.test\" denied the request: mode forbidden is not allowed"), "\(denied.err)")
                try sim.apply("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: permitted}\ndata: {mode: fine}\n")
            }
        }
    }
}

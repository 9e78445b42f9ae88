import Foundation
import OutpostCore
import Testing
import TestSupport

/// `outpost agent serve` reading namespace labels from a Kubernetes API: the in-repo simulator (a real
/// HTTPS API server, labelled with kubectl), and a kubeconfig pointing at nothing.
@Suite(.serialized) struct NamespaceLookupServerTests {
    static func review(namespace: String, uid: String = "u-ns", podLabels: [String: String] = [:]) throws -> String {
        let labels: JSONValue = .object(podLabels.mapValues { .string($0) })
        let review: JSONValue = ["apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                                 "request": ["uid": .string(uid), "operation": "CREATE", "namespace": .string(namespace),
                                             "kind": ["group": "", "version": "v1", "kind": "Pod"],
                                             "object": ["apiVersion": "v1", "kind": "Pod",
                                                        "metadata": ["name": "p", "namespace": .string(namespace), "labels": labels],
                                                        "spec": ["containers": [["name": "c", "image": "nginx:1.27"]]]]]]
        return String(decoding: try review.encoded(), as: UTF8.self)
    }

    struct Answer {
        let status: Int
        let review: JSONValue
        var allowed: Bool { review["response"]?["allowed"]?.boolValue ?? false }
        var patched: Bool { review["response"]?["patch"] != nil }
        var message: String { review["response"]?["status"]?["message"]?.stringValue ?? "" }
        var code: Int? { review["response"]?["status"]?["code"]?.intValue }
    }

    static func post(_ port: Int, _ dir: String, namespace: String, podLabels: [String: String] = [:]) throws -> Answer {
        let r = try ServerHarness.curl("https://localhost:\(port)/mutate/pod", ca: dir + "/ca.crt", method: "POST",
                                       body: try review(namespace: namespace, podLabels: podLabels))
        return Answer(status: r.status, review: (try? JSONValue.parse(Data(r.body.utf8))) ?? .null)
    }

    @Test func namespaceLabelsDecideAndChangesShowAfterTheCacheExpires() async throws {
        try await withSimulator { sim in
            try sim.apply("""
                apiVersion: v1
                kind: Namespace
                metadata: {name: quiet, labels: {zarf.dev/agent: skip}}
                ---
                apiVersion: v1
                kind: Namespace
                metadata: {name: loud}
                """)
            try await withTemporaryDirectory("agent-ns") { dir in
                try ServerHarness.makeCertificates(in: dir)
                try ServerHarness.state(registry: "127.0.0.1:31999").write(toFile: dir + "/state.json", atomically: true, encoding: .utf8)
                let ttl = 6.0
                let (service, port) = try await ServerHarness.start(dir: dir, extra: ["--kubeconfig", sim.kubeconfig,
                                                                                      "--namespace-cache-ttl", String(ttl)])
                defer { service.stop() }
                #expect(service.log.contains("namespace labels from kubeconfig \(sim.kubeconfig)"), "\(service.log)")

                // labelled skip: allowed untouched; unlabelled: mutated
                let quiet = try Self.post(port, dir, namespace: "quiet")
                let cachedAt = Date()
                #expect(quiet.status == 200 && quiet.allowed && !quiet.patched, "\(quiet.review)")
                let loud = try Self.post(port, dir, namespace: "loud")
                #expect(loud.status == 200 && loud.allowed && loud.patched, "\(loud.review)")
                // the object's own label wins over the namespace's
                #expect(try Self.post(port, dir, namespace: "quiet", podLabels: ["zarf.dev/agent": "mutate"]).patched)

                // remove the namespace label: the cached labels hold until the TTL runs out, then the pod is mutated
                try sim.kubectl(["label", "namespace", "quiet", "zarf.dev/agent-"], check: true)
                let soon = try Self.post(port, dir, namespace: "quiet")
                if Date().timeIntervalSince(cachedAt) < ttl - 0.5 {
                    #expect(!soon.patched, "changed before the cache expired: \(soon.review)")
                }
                var flipped = false
                let deadline = Date().addingTimeInterval(ttl + 20)
                while Date() < deadline {
                    if try Self.post(port, dir, namespace: "quiet").patched { flipped = true; break }
                    try await Task.sleep(for: .milliseconds(300))
                }
                #expect(flipped, "namespace quiet still skipped \(ttl + 20) s after its label was removed")
                #expect(Date().timeIntervalSince(cachedAt) >= ttl - 0.5, "flipped before the TTL")

                // and back: label it ignore, the pod is left alone again after expiry
                try sim.kubectl(["label", "namespace", "loud", "zarf.dev/agent=ignore"], check: true)
                var skipped = false
                let deadline2 = Date().addingTimeInterval(ttl + 20)
                while Date() < deadline2 {
                    let a = try Self.post(port, dir, namespace: "loud")
                    if a.allowed && !a.patched { skipped = true; break }
                    try await Task.sleep(for: .milliseconds(300))
                }
                #expect(skipped)

                let metrics = try ServerHarness.curl("https://localhost:\(port)/metrics", ca: dir + "/ca.crt").body
                #expect(metrics.contains(#"outpost_agent_namespace_lookups_total{result="hit"}"#), "\(metrics)")
                #expect(metrics.contains(#"outpost_agent_namespace_lookups_total{result="miss"}"#))
                #expect(!metrics.contains(#"result="error""#))
            }
        }
    }

    @Test func labeledPolicyMutatesOnlyNamespacesThatOptIn() async throws {
        try await withSimulator { sim in
            try sim.apply("""
                apiVersion: v1
                kind: Namespace
                metadata: {name: optin, labels: {zarf.dev/agent: mutate}}
                ---
                apiVersion: v1
                kind: Namespace
                metadata: {name: plain}
                """)
            try await ServerHarness.withAgent("agent-ns-labeled", extra: ["--kubeconfig", sim.kubeconfig, "--policy", "labeled"]) { service, port, dir in
                #expect(try Self.post(port, dir, namespace: "optin").patched)
                let plain = try Self.post(port, dir, namespace: "plain")
                #expect(plain.allowed && !plain.patched)
                // a namespace that does not exist cannot be read: refused, as Zarf does
                let missing = try Self.post(port, dir, namespace: "nowhere")
                #expect(!missing.allowed && missing.message.contains("namespace \"nowhere\""), "\(missing.review)")
            }
        }
    }

    @Test func unreachableAPIRefusesWhatNeedsANamespaceAndSaysWhy() async throws {
        try await withTemporaryDirectory("agent-ns-down") { dir in
            try ServerHarness.makeCertificates(in: dir)
            try ServerHarness.state(registry: "127.0.0.1:31999").write(toFile: dir + "/state.json", atomically: true, encoding: .utf8)
            let apiPort = try freeLoopbackPort()   // nothing listens here
            let ca = try String(contentsOfFile: dir + "/ca.crt", encoding: .utf8)
            try """
                apiVersion: v1
                kind: Config
                clusters: [{name: c, cluster: {server: "https://127.0.0.1:\(apiPort)", certificate-authority-data: \(Data(ca.utf8).base64EncodedString())}}]
                users: [{name: u, user: {token: t}}]
                contexts: [{name: x, context: {cluster: c, user: u}}]
                current-context: x
                """.write(toFile: dir + "/kubeconfig", atomically: true, encoding: .utf8)
            let (service, port) = try await ServerHarness.start(dir: dir, extra: ["--kubeconfig", dir + "/kubeconfig", "--api-timeout", "2"])
            defer { service.stop() }

            let refused = try Self.post(port, dir, namespace: "apps")
            #expect(refused.status == 200)
            #expect(!refused.allowed && !refused.patched)
            #expect(refused.code == 500)
            #expect(refused.message.contains("cannot read the labels of namespace \"apps\""), "\(refused.message)")
            #expect(refused.message.contains("https://127.0.0.1:\(apiPort) is unreachable"), "\(refused.message)")
            // failures are not cached: the next request asks again and is refused again
            #expect(!(try Self.post(port, dir, namespace: "apps").allowed))
            // an object whose own label decides needs no namespace
            #expect(try Self.post(port, dir, namespace: "apps", podLabels: ["zarf.dev/agent": "mutate"]).patched)
            let skip = try Self.post(port, dir, namespace: "apps", podLabels: ["zarf.dev/agent": "skip"])
            #expect(skip.allowed && !skip.patched)
            let metrics = try ServerHarness.curl("https://localhost:\(port)/metrics", ca: dir + "/ca.crt").body
            #expect(metrics.contains(#"outpost_agent_namespace_lookups_total{result="error"} 2"#), "\(metrics)")
            // Pipelined on one connection: the second request arrives while the first waits for its lookup,
            // and is answered after it, in full (its body is completed only after the first answer).
            let pipelined = try ServerHarness.pipelined(port: port, dir: dir, first: try Self.review(namespace: "apps", uid: "first"),
                                                        second: try Self.review(namespace: "apps", uid: "second"))
            #expect(pipelined.status == 0, "\(pipelined.err)")
            let answers = ServerHarness.pipelinedAnswers(pipelined.out)
            #expect(answers.statuses == ["200 OK", "200 OK", "200 OK"] && answers.inOrder, "\(pipelined.out.prefix(800))")
        }
    }

    @Test func withoutKubeconfigOrPodTheServerSaysLookupsAreOff() async throws {
        try await ServerHarness.withAgent("agent-ns-off") { service, port, dir in
            #expect(service.log.contains("namespace lookups off"), "\(service.log)")
            #expect(try Self.post(port, dir, namespace: "apps").patched)
            // a broken kubeconfig stops the server at start with the file named
            try "clusters: []\n".write(toFile: dir + "/bad-kubeconfig", atomically: true, encoding: .utf8)
            let r = try ProcessRunner.run(ServerHarness.outpost, ["agent", "serve", "--port", "0", "--tls-cert", dir + "/tls.crt",
                                                                  "--tls-key", dir + "/tls.key", "--kubeconfig", dir + "/bad-kubeconfig"])
            #expect(r.status != 0)
            #expect(r.err.contains(dir + "/bad-kubeconfig") && r.err.contains("current-context"), "\(r.err)")
        }
    }
}

import Foundation
import OutpostCore
import Testing
import TestSupport

/// kubectl (an independent client) against the simulator's API server: discovery, CRUD, selectors,
/// patches, server-side apply, conflicts, validation errors, watches, CRDs and namespace deletion.
@Suite(.serialized) struct KubectlAPITests {
    @Test func kubectlWorksAgainstTheSimulator() async throws {
        try await withSimulator { sim in
            let version = try sim.kubectl(["version", "-o", "json"], check: true)
            #expect(version.out.contains("outpost-sim"))
            let nodes = try sim.kubectl(["get", "nodes"], check: true)
            #expect(nodes.out.contains("sim-node-1"))
            #expect(nodes.out.contains("Ready"))

            try sim.apply("""
            apiVersion: v1
            kind: Namespace
            metadata: {name: demo}
            ---
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: cm1, namespace: demo}
            data: {greeting: hello}
            ---
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: cm2, namespace: demo, labels: {app: x}}
            data: {other: value}
            """)
            #expect(try sim.kubectl(["get", "cm", "cm1", "-n", "demo", "-o", "jsonpath={.data.greeting}"], check: true).out == "hello")
            try await sim.waitUntil("the default service account of the new namespace") {
                try sim.kubectl(["get", "serviceaccount", "default", "-n", "demo"]).status == 0
            }
            // Client-side apply of a change sends a strategic merge patch.
            try sim.apply("""
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: cm1, namespace: demo}
            data: {greeting: bonjour}
            """)
            #expect(try sim.kubectl(["get", "cm", "cm1", "-n", "demo", "-o", "jsonpath={.data.greeting}"], check: true).out == "bonjour")
            #expect(try sim.kubectl(["get", "cm", "-n", "demo", "-l", "app=x", "-o", "name"], check: true).out
                .trimmingCharacters(in: .whitespacesAndNewlines) == "configmap/cm2")
            #expect(try sim.kubectl(["get", "cm", "-n", "demo", "--field-selector", "metadata.name=cm1", "-o", "name"], check: true).out
                .trimmingCharacters(in: .whitespacesAndNewlines) == "configmap/cm1")
            let described = try sim.kubectl(["describe", "cm", "cm1", "-n", "demo"], check: true)
            #expect(described.out.contains("bonjour"))

            // AlreadyExists and bad names.
            // (kubectl's `create <kind>` generators send protobuf, which the simulator does not read: use -f.)
            let cm1 = Data("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm1, namespace: demo}\n".utf8)
            let again = try sim.kubectl(["create", "-f", "-"], stdin: cm1)
            #expect(again.status != 0)
            #expect(again.err.contains("AlreadyExists") || again.err.contains("already exists"))
            let badName = try sim.kubectl(["create", "-f", "-"], stdin: Data("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: Bad_Name, namespace: demo}\n".utf8))
            #expect(badName.status != 0)
            #expect(badName.err.contains("Invalid value"))

            // A ConfigMap over 1 MiB: 422 with a Kubernetes Status.
            let big = String(repeating: "x", count: 1_100_000)
            let tooBig = try sim.request("POST", "/api/v1/namespaces/demo/configmaps",
                                         body: Data(#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"big"},"data":{"blob":"\#(big)"}}"#.utf8))
            #expect(tooBig.code == 422)
            let status = try JSONValue.parse(Data(tooBig.body.utf8))
            #expect(status["kind"] == "Status")
            #expect(status["reason"] == "Invalid")
            #expect(status["message"]?.stringValue?.contains("must have at most 1048576 bytes") == true)
            #expect(status["status"] == "Failure")
            #expect(status["code"] == 422)
            #expect(status["details"]?["kind"] == "ConfigMap")
            #expect(status["details"]?["name"] == "big")
            #expect(status["details"]?["causes"]?[0]?["reason"] == "FieldValueTooLong")
            let bigSecret = Data(repeating: 0x61, count: 1_100_000).base64EncodedString()
            let secretTooBig = try sim.request("POST", "/api/v1/namespaces/demo/secrets",
                                               body: Data(#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"big"},"data":{"blob":"\#(bigSecret)"}}"#.utf8))
            #expect(secretTooBig.code == 422)
            let secretStatus = try JSONValue.parse(Data(secretTooBig.body.utf8))
            #expect(secretStatus["reason"] == "Invalid")
            #expect(secretStatus["details"]?["causes"]?[0]?["field"] == "data")
            #expect(secretStatus["details"]?["causes"]?[0]?["reason"] == "FieldValueTooLong")
            #expect(try sim.kubectl(["get", "secret", "big", "-n", "demo"]).status != 0)
            let viaKubectl = try sim.kubectl(["create", "-f", "-"], stdin: Data("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big, namespace: demo}\ndata: {blob: \(big)}\n".utf8))
            #expect(viaKubectl.status != 0)
            #expect(viaKubectl.err.contains("Too long"))

            // 409 on a stale resourceVersion.
            let current = try JSONValue.parse(Data(try sim.request("GET", "/api/v1/namespaces/demo/configmaps/cm1").body.utf8))
            let stale = JSONMergePatch.apply(["metadata": ["resourceVersion": "1"], "data": ["greeting": "stale"]], to: current)
            let conflict = try sim.request("PUT", "/api/v1/namespaces/demo/configmaps/cm1", body: try stale.encoded())
            #expect(conflict.code == 409)
            #expect(conflict.body.contains("Conflict"))

            // Update (PUT) through kubectl replace.
            try sim.kubectl(["replace", "-f", "-"], stdin: Data("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm1, namespace: demo}\ndata: {greeting: replaced}\n".utf8), check: true)
            #expect(try sim.kubectl(["get", "cm", "cm1", "-n", "demo", "-o", "jsonpath={.data.greeting}"], check: true).out == "replaced")

            // Merge and JSON patches.
            try sim.kubectl(["patch", "cm", "cm1", "-n", "demo", "--type", "merge", "-p", #"{"data":{"merged":"yes"}}"#], check: true)
            try sim.kubectl(["patch", "cm", "cm1", "-n", "demo", "--type", "json", "-p", #"[{"op":"add","path":"/data/json","value":"yes"}]"#], check: true)
            let patched = try sim.kubectl(["get", "cm", "cm1", "-n", "demo", "-o", "json"], check: true)
            let pj = try JSONValue.parse(patched.stdout)
            #expect(pj["data"]?["merged"] == "yes")
            #expect(pj["data"]?["json"] == "yes")

            // Server-side apply: field ownership and conflicts.
            let ssa = """
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: owned, namespace: demo}
            data: {key: first}
            """
            try sim.kubectl(["apply", "--server-side", "--field-manager", "alice", "-f", "-"], stdin: Data(ssa.utf8), check: true)
            let other = ssa.replacingOccurrences(of: "first", with: "second")
            let clash = try sim.kubectl(["apply", "--server-side", "--field-manager", "bob", "-f", "-"], stdin: Data(other.utf8))
            #expect(clash.status != 0)
            #expect(clash.err.contains("conflict"))
            try sim.kubectl(["apply", "--server-side", "--force-conflicts", "--field-manager", "bob", "-f", "-"], stdin: Data(other.utf8), check: true)
            #expect(try sim.kubectl(["get", "cm", "owned", "-n", "demo", "-o", "jsonpath={.data.key}"], check: true).out == "second")

            // A watch from a resourceVersion sees later changes.
            let rv = try sim.kubectl(["get", "cm", "cm2", "-n", "demo", "-o", "jsonpath={.metadata.resourceVersion}"], check: true).out
            try sim.kubectl(["label", "cm", "cm2", "-n", "demo", "watched=yes"], check: true)
            let watch = try sim.request("GET", "/api/v1/namespaces/demo/configmaps?watch=true&timeoutSeconds=1&resourceVersion=\(rv)")
            #expect(watch.code == 200)
            #expect(watch.body.contains(#""type":"MODIFIED""#))
            #expect(watch.body.contains("watched"))
            // A watch without a resourceVersion starts with the current objects, filtered by the label selector.
            let fresh = try sim.request("GET", "/api/v1/namespaces/demo/configmaps?watch=true&timeoutSeconds=1&labelSelector=app%3Dx")
            #expect(fresh.body.contains(#""type":"ADDED""#))
            #expect(fresh.body.contains("cm2"))
            #expect(!fresh.body.contains("cm1"))

            // An object entering and leaving a watch's label selector shows up as ADDED, then DELETED.
            let labelWatch = try BackgroundService(
                name: "label watch", program: "curl",
                arguments: ["-sN", "--cacert", sim.caCertificate, "-H", "Authorization: Bearer \(sim.token)",
                            sim.apiURL + "/api/v1/namespaces/demo/configmaps?watch=true&timeoutSeconds=4&labelSelector=stage%3Dlive"],
                logPath: sim.stateDirectory + "/label-watch.log")
            defer { labelWatch.stop() }
            try await Task.sleep(nanoseconds: 1_000_000_000)
            try sim.kubectl(["label", "cm", "cm1", "-n", "demo", "stage=live"], check: true)
            try sim.kubectl(["label", "cm", "cm1", "-n", "demo", "stage=retired", "--overwrite"], check: true)
            try await sim.waitUntil("the label watch to end", timeout: 20) { !labelWatch.process.isRunning }
            let transitions = labelWatch.log.split(separator: "\n").compactMap { try? JSONValue.parse(Data($0.utf8)) }
            #expect(transitions.map { $0["type"]?.stringValue ?? "" } == ["ADDED", "DELETED"], "\(labelWatch.log)")
            #expect(transitions.allSatisfy { $0["object"]?["metadata"]?["name"] == "cm1" })

            // A CustomResourceDefinition serves its kind.
            try sim.apply("""
            apiVersion: apiextensions.k8s.io/v1
            kind: CustomResourceDefinition
            metadata: {name: widgets.example.com}
            spec:
              group: example.com
              scope: Namespaced
              names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wd]}
              versions:
              - name: v1
                served: true
                storage: true
                schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
            """)
            try await sim.waitUntil("the Widget kind") { try sim.kubectl(["get", "widgets", "-n", "demo"]).status == 0 }
            try sim.apply("""
            apiVersion: example.com/v1
            kind: Widget
            metadata: {name: w1, namespace: demo}
            spec: {size: 3}
            """)
            #expect(try sim.kubectl(["get", "wd", "w1", "-n", "demo", "-o", "jsonpath={.spec.size}"], check: true).out == "3")

            // Deletion propagation: Orphan keeps the ReplicaSet (without its owner), Foreground removes the pods first.
            try sim.apply("""
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: owner, namespace: demo}
            spec:
              replicas: 1
              selector: {matchLabels: {app: owner}}
              template:
                metadata: {labels: {app: owner}}
                spec:
                  containers: [{name: main, image: localhost/not/present:1, imagePullPolicy: Never}]
            """)
            try await sim.waitUntil("the owner's pod") {
                !(try sim.kubectl(["get", "pods", "-n", "demo", "-l", "app=owner", "-o", "name"]).out.isEmpty)
            }
            try sim.kubectl(["delete", "deployment", "owner", "-n", "demo", "--cascade=orphan"], check: true)
            let orphan = try JSONValue.parse(try sim.kubectl(["get", "rs", "-n", "demo", "-l", "app=owner", "-o", "json"], check: true).stdout)
            #expect(orphan["items"]?.arrayValue?.count == 1)
            #expect(orphan["items"]?[0]?["metadata"]?["ownerReferences"] == nil)
            let rsName = orphan["items"]?[0]?["metadata"]?["name"]?.stringValue ?? ""
            try await Task.sleep(nanoseconds: 2_000_000_000)
            #expect(try sim.kubectl(["get", "rs", rsName, "-n", "demo"]).status == 0, "the garbage collector took the orphan")
            try sim.kubectl(["delete", "rs", rsName, "-n", "demo", "--cascade=foreground", "--timeout=60s"], check: true)
            #expect(try sim.kubectl(["get", "pods", "-n", "demo", "-l", "app=owner", "-o", "name"], check: true).out.isEmpty)

            // Delete, then a namespace with everything in it.
            try sim.kubectl(["delete", "cm", "cm2", "-n", "demo"], check: true)
            let gone = try sim.kubectl(["get", "cm", "cm2", "-n", "demo"])
            #expect(gone.status != 0)
            #expect(gone.err.contains("NotFound") || gone.err.contains("not found"))
            try sim.kubectl(["delete", "namespace", "demo", "--timeout=60s"], check: true)
            #expect(try sim.kubectl(["get", "namespace", "demo"]).status != 0)
        }
    }
}

import Foundation
import OutpostCore
import Testing
import TestSupport

/// Controllers and services with real containers: a preloaded image, a Deployment behind a NodePort
/// service answering on 127.0.0.1, a rollout to a new template, a Job to completion, a DaemonSet,
/// deletion by ownerReferences, and a teardown that leaves nothing behind.
@Suite(.serialized) struct WorkloadTests {
    static func web(_ version: String) -> String {
        """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web}
        spec:
          replicas: 2
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
            spec:
              containers:
              - name: httpd
                image: localhost/test/busybox:1
                imagePullPolicy: IfNotPresent
                command: ["/bin/sh", "-c", "mkdir -p /www && echo \(version) > /www/index.html && exec httpd -f -p 8080 -h /www"]
                ports: [{name: http, containerPort: 8080}]
                readinessProbe:
                  httpGet: {path: /index.html, port: http}
                  periodSeconds: 1
        """
    }

    static func fetch(_ port: Int) -> String? {
        guard let r = try? ProcessRunner.run("curl", ["-s", "-m", "3", "http://127.0.0.1:\(port)/index.html"]), r.status == 0 else { return nil }
        return r.out.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func nodePortDeploymentRolloutJobAndTeardown() async throws {
        var stateDirectory = ""
        var nodePort = 0
        try await withTemporaryDirectory("outpost-sim-images") { dir in
            let archive = dir + "/busybox.tar"
            try Podman.busyboxImage(archive: archive)
            try await withSimulator { sim in
                stateDirectory = sim.stateDirectory
                try sim.preload(archive: archive, as: "localhost/test/busybox:1")
                nodePort = sim.nodePortRange.lowerBound + 7
                try sim.apply(Self.web("v1") + """

                ---
                apiVersion: v1
                kind: Service
                metadata: {name: web}
                spec:
                  type: NodePort
                  selector: {app: web}
                  ports: [{port: 80, targetPort: http, nodePort: \(nodePort)}]
                """)
                try sim.kubectl(["rollout", "status", "deployment/web", "--timeout=150s"], check: true)
                try await sim.waitUntil("the node port to answer v1") { Self.fetch(nodePort) == "v1" }

                // Roll out a new template: a new ReplicaSet takes over and the old one scales to zero.
                try sim.apply(Self.web("v2"))
                try sim.kubectl(["rollout", "status", "deployment/web", "--timeout=150s"], check: true)
                try await sim.waitUntil("the node port to answer v2") { Self.fetch(nodePort) == "v2" }
                let sets = try JSONValue.parse(try sim.kubectl(["get", "rs", "-l", "app=web", "-o", "json"], check: true).stdout)
                let replicas = (sets["items"]?.arrayValue ?? []).map { $0["spec"]?["replicas"]?.intValue ?? -1 }.sorted()
                #expect(replicas == [0, 2])
                let deployment = try JSONValue.parse(try sim.kubectl(["get", "deployment", "web", "-o", "json"], check: true).stdout)
                #expect(deployment["metadata"]?["annotations"]?["deployment.kubernetes.io/revision"] == "2")

                // A Job runs to completion.
                try sim.apply("""
                apiVersion: batch/v1
                kind: Job
                metadata: {name: once}
                spec:
                  template:
                    spec:
                      restartPolicy: Never
                      containers:
                      - {name: work, image: localhost/test/busybox:1, imagePullPolicy: Never, command: ["/bin/sh", "-c", "echo job-finished"]}
                ---
                apiVersion: apps/v1
                kind: DaemonSet
                metadata: {name: agent}
                spec:
                  selector: {matchLabels: {app: agent}}
                  template:
                    metadata: {labels: {app: agent}}
                    spec:
                      containers: [{name: agent, image: localhost/test/busybox:1, imagePullPolicy: Never}]
                """)
                try sim.kubectl(["wait", "--for=condition=complete", "job/once", "--timeout=120s"], check: true)
                #expect(try sim.kubectl(["logs", "job/once"], check: true).out.contains("job-finished"))
                try await sim.waitUntil("the DaemonSet pod to be ready") {
                    try sim.kubectl(["get", "ds", "agent", "-o", "jsonpath={.status.numberReady}"]).out == "1"
                }

                // Deleting the Deployment removes its ReplicaSets and pods through ownerReferences.
                try sim.kubectl(["delete", "deployment", "web", "--wait=true", "--timeout=60s"], check: true)
                try await sim.waitUntil("the web pods to go") {
                    try sim.kubectl(["get", "pods", "-l", "app=web", "-o", "name"]).out.isEmpty
                        && sim.kubectl(["get", "rs", "-l", "app=web", "-o", "name"]).out.isEmpty
                }
            }
        }
        // Teardown left nothing: no files, no mounts, no processes, no listener on the node port.
        #expect(!FileManager.default.fileExists(atPath: stateDirectory))
        let mounts = try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)
        #expect(!mounts.contains(stateDirectory))
        let processes = try ProcessRunner.run("ps", ["-eo", "args"]).out
        #expect(!processes.contains(stateDirectory))
        #expect(Self.fetch(nodePort) == nil)
    }
}

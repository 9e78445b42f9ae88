import Foundation
import OutpostCore
import Testing
import TestSupport

/// The kubelet's side of pods with real containers: restart policies and CrashLoopBackOff, exec and TCP
/// probes (liveness restarts, readiness gates endpoints), Secret volumes with items and modes, hostPath
/// and claims, user and group, events, and the scheduler's resource accounting against allocatable.
@Suite(.serialized) struct PodLifecycleTests {
    static func jsonpath(_ sim: SimulatorHandle, _ pod: String, _ path: String) throws -> String {
        try sim.kubectl(["get", "pod", pod, "-o", "jsonpath={\(path)}"]).out
    }

    @Test func restartsProbesVolumesAndResourceScheduling() async throws {
        try await withTemporaryDirectory("outpost-sim-pods") { dir in
            let archive = dir + "/busybox.tar"
            try Podman.busyboxImage(archive: archive)
            let hostDir = dir + "/host"
            try FileManager.default.createDirectory(atPath: hostDir, withIntermediateDirectories: true)
            try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: hostDir)
            try await withSimulator(nodes: ["small,cpu=2,memory=2Gi"]) { sim in
                try sim.preload(archive: archive, as: "localhost/test/busybox:1", node: "small")
                let image = "{image: localhost/test/busybox:1, imagePullPolicy: Never}"
                try sim.apply("""
                apiVersion: v1
                kind: Pod
                metadata: {name: crasher}
                spec:
                  volumes: [{name: count, emptyDir: {}}]
                  containers:
                  - name: main
                    image: localhost/test/busybox:1
                    command: ["/bin/sh", "-c", "n=$(cat /count/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /count/n; echo crashing run-$n; touch /fresh-$n; ls / | grep -c fresh; exit 3"]
                    volumeMounts: [{name: count, mountPath: /count}]
                ---
                apiVersion: v1
                kind: Pod
                metadata: {name: retry}
                spec:
                  restartPolicy: OnFailure
                  volumes: [{name: scratch, emptyDir: {}}]
                  containers:
                  - name: main
                    image: localhost/test/busybox:1
                    command: ["/bin/sh", "-c", "if [ -f /scratch/ran ]; then echo second-run; exit 0; fi; touch /scratch/ran; exit 1"]
                    volumeMounts: [{name: scratch, mountPath: /scratch}]
                ---
                apiVersion: v1
                kind: Pod
                metadata: {name: probed, labels: {app: probed}}
                spec:
                  containers:
                  - name: main
                    image: localhost/test/busybox:1
                    command: ["/bin/sh", "-c", "touch /tmp/healthy; (sleep 4; rm -f /tmp/healthy) & mkdir -p /www && exec httpd -f -p 9000 -h /www"]
                    livenessProbe: {exec: {command: [cat, /tmp/healthy]}, periodSeconds: 1, failureThreshold: 2, initialDelaySeconds: 1}
                    readinessProbe: {tcpSocket: {port: 9000}, periodSeconds: 1}
                ---
                apiVersion: v1
                kind: Pod
                metadata: {name: unready, labels: {app: probed}}
                spec:
                  containers:
                  - name: main
                    image: localhost/test/busybox:1
                    readinessProbe: {tcpSocket: {port: 9999}, periodSeconds: 1}
                ---
                apiVersion: v1
                kind: Service
                metadata: {name: probed}
                spec:
                  selector: {app: probed}
                  ports: [{port: 80, targetPort: 9000}]
                ---
                apiVersion: v1
                kind: Secret
                metadata: {name: creds}
                stringData: {password: hunter2, unused: x}
                ---
                apiVersion: v1
                kind: PersistentVolumeClaim
                metadata: {name: data}
                spec:
                  accessModes: [ReadWriteOnce]
                  resources: {requests: {storage: 1Gi}}
                ---
                apiVersion: v1
                kind: Pod
                metadata: {name: volumes}
                spec:
                  restartPolicy: Never
                  securityContext: {runAsUser: 2000, runAsGroup: 3000}
                  volumes:
                  - {name: secret, secret: {secretName: creds, defaultMode: 292, items: [{key: password, path: nested/pw}]}}
                  - {name: host, hostPath: {path: \(hostDir), type: DirectoryOrCreate}}
                  - {name: claim, persistentVolumeClaim: {claimName: data}}
                  containers:
                  - name: main
                    image: localhost/test/busybox:1
                    command:
                    - /bin/sh
                    - -c
                    - "echo pw=$(cat /etc/creds/nested/pw) mode=$(stat -L -c %a /etc/creds/nested/pw) unused=$(ls /etc/creds | grep -c unused); echo uid=$(id -u) gid=$(id -g); echo from-pod > /host/out.txt; echo kept > /claim/file && cat /claim/file"
                    volumeMounts:
                    - {name: secret, mountPath: /etc/creds, readOnly: true}
                    - {name: host, mountPath: /host}
                    - {name: claim, mountPath: /claim}
                ---
                apiVersion: v1
                kind: Pod
                metadata: {name: group-only}
                spec:
                  restartPolicy: Never
                  securityContext: {runAsGroup: 4000}
                  containers:
                  - {name: main, image: localhost/test/busybox:1, command: ["/bin/sh", "-c", "echo uid=$(id -u) gid=$(id -g)"]}
                ---
                apiVersion: batch/v1
                kind: Job
                metadata: {name: fails}
                spec:
                  backoffLimit: 1
                  template:
                    spec:
                      restartPolicy: Never
                      containers:
                      - {name: main, image: localhost/test/busybox:1, imagePullPolicy: Never, command: ["/bin/sh", "-c", "exit 2"]}
                ---
                apiVersion: v1
                kind: Pod
                metadata: {name: fits}
                spec:
                  containers: [{name: main, \(image.dropFirst().dropLast()), resources: {requests: {cpu: 1500m, memory: 1Gi}}}]
                ---
                apiVersion: v1
                kind: Pod
                metadata: {name: too-big}
                spec:
                  containers: [{name: main, \(image.dropFirst().dropLast()), resources: {requests: {cpu: "3"}}}]
                """)

                // restartPolicy Always: the crashing container backs off with CrashLoopBackOff.
                try await sim.waitUntil("crasher in CrashLoopBackOff after a restart", timeout: 90) {
                    try Self.jsonpath(sim, "crasher", ".status.containerStatuses[0].state.waiting.reason") == "CrashLoopBackOff"
                        && (Int(try Self.jsonpath(sim, "crasher", ".status.containerStatuses[0].restartCount")) ?? 0) >= 1
                }
                #expect(try Self.jsonpath(sim, "crasher", ".status.containerStatuses[0].lastState.terminated.exitCode") == "3")
                #expect(try Self.jsonpath(sim, "crasher", ".status.containerStatuses[0].lastState.terminated.reason") == "Error")
                #expect(try Self.jsonpath(sim, "crasher", ".status.phase") == "Running")
                // Each restart is a new container: logs show the current instance, --previous the one before,
                // and the root filesystem starts fresh (one /fresh-N file, not one per run).
                let previous = try sim.kubectl(["logs", "crasher", "--previous"], check: true).out
                let current = try sim.kubectl(["logs", "crasher"], check: true).out
                func runs(_ s: String) -> [Int] {
                    s.split(separator: "\n").compactMap { $0.hasPrefix("crashing run-") ? Int($0.dropFirst("crashing run-".count)) : nil }
                }
                #expect(runs(previous).count == 1 && runs(current).count == 1, "previous: \(previous) current: \(current)")
                #expect((runs(previous).first ?? 0) < (runs(current).first ?? 0), "previous: \(previous) current: \(current)")
                #expect(current.contains("\n1\n"), "\(current)")

                // OnFailure: restarted once (the emptyDir survives the restart), then Succeeded.
                try await sim.waitUntil("retry to succeed", timeout: 90) { try Self.jsonpath(sim, "retry", ".status.phase") == "Succeeded" }
                #expect(try Self.jsonpath(sim, "retry", ".status.containerStatuses[0].restartCount") == "1")
                #expect(try sim.kubectl(["logs", "retry"], check: true).out.contains("second-run"))

                // Liveness (exec) fails once /tmp/healthy is gone: the container is restarted.
                try await sim.waitUntil("the liveness probe to restart probed", timeout: 90) {
                    (Int(try Self.jsonpath(sim, "probed", ".status.containerStatuses[0].restartCount")) ?? 0) >= 1
                }
                let events = try sim.kubectl(["get", "events", "--field-selector", "involvedObject.name=probed"], check: true).out
                #expect(events.contains("Unhealthy"))
                #expect(events.contains("Scheduled"))
                let crashEvents = try sim.kubectl(["get", "events", "--field-selector", "involvedObject.name=crasher"], check: true).out
                #expect(crashEvents.contains("BackOff"))
                // Readiness (TCP): the listening pod is a ready endpoint, the other one is not.
                try await sim.waitUntil("endpoints with one ready and one unready pod", timeout: 60) {
                    let ep = try JSONValue.parse(try sim.kubectl(["get", "endpoints", "probed", "-o", "json"]).stdout)
                    return ep["subsets"]?[0]?["addresses"]?[0]?["targetRef"]?["name"] == "probed"
                        && ep["subsets"]?[0]?["notReadyAddresses"]?[0]?["targetRef"]?["name"] == "unready"
                }
                #expect(try Self.jsonpath(sim, "unready", ".status.conditions[?(@.type==\"Ready\")].status") == "False")

                // Secret items and modes, hostPath, a claim that is bound at once, user and group.
                try await sim.waitUntil("the volumes pod to finish", timeout: 90) { try Self.jsonpath(sim, "volumes", ".status.phase") == "Succeeded" }
                let logs = try sim.kubectl(["logs", "volumes"], check: true).out
                #expect(logs.contains("pw=hunter2 mode=444 unused=0"), "\(logs)")
                #expect(logs.contains("uid=2000 gid=3000"), "\(logs)")
                #expect(logs.contains("kept"))
                let noPrevious = try sim.kubectl(["logs", "volumes", "--previous"])
                #expect(noPrevious.status != 0)
                #expect(noPrevious.err.contains("previous terminated container"), "\(noPrevious.err)")
                #expect((try? String(contentsOfFile: hostDir + "/out.txt", encoding: .utf8)) == "from-pod\n")
                #expect(try sim.kubectl(["get", "pvc", "data", "-o", "jsonpath={.status.phase}"], check: true).out == "Bound")
                // runAsGroup alone: the image's user (root here) with that primary group.
                try await sim.waitUntil("the group-only pod to finish", timeout: 60) { try Self.jsonpath(sim, "group-only", ".status.phase") == "Succeeded" }
                #expect(try sim.kubectl(["logs", "group-only"], check: true).out.contains("uid=0 gid=4000"))

                // A Job whose pods keep failing stops after backoffLimit + 1 failures.
                try sim.kubectl(["wait", "--for=condition=failed", "job/fails", "--timeout=120s"], check: true)
                let job = try JSONValue.parse(try sim.kubectl(["get", "job", "fails", "-o", "json"], check: true).stdout)
                #expect(job["status"]?["failed"] == 2)
                #expect((job["status"]?["conditions"]?.arrayValue ?? []).contains { $0["type"] == "Failed" && $0["reason"] == "BackoffLimitExceeded" })

                // Requests count against allocatable: 1.5 of 2 CPUs fit, 3 do not.
                try await sim.waitUntil("fits to be scheduled and too-big to be refused", timeout: 60) {
                    try Self.jsonpath(sim, "fits", ".spec.nodeName") == "small"
                        && Self.jsonpath(sim, "too-big", ".status.conditions[0].reason") == "Unschedulable"
                }
                try sim.apply("""
                apiVersion: v1
                kind: Pod
                metadata: {name: no-room}
                spec:
                  containers: [{name: main, \(image.dropFirst().dropLast()), resources: {requests: {cpu: "1"}}}]
                """)
                try await sim.waitUntil("no-room to be unschedulable beside fits", timeout: 60) {
                    try Self.jsonpath(sim, "no-room", ".status.conditions[0].reason") == "Unschedulable"
                }
                #expect(try Self.jsonpath(sim, "no-room", ".spec.nodeName").isEmpty)
            }
        }
    }
}

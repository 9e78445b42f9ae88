import Foundation
import OutpostCore
import Testing
import TestSupport

/// Deployment rollouts with real containers, observed through a watch on the pods: a RollingUpdate never
/// runs more than replicas + maxSurge pods nor fewer than replicas - maxUnavailable ready ones, Recreate
/// starts no new pod while an old one is left, `kubectl rollout status` follows, a rollout that cannot
/// progress fails on its progress deadline, and `kubectl rollout undo` recovers from it.
@Suite(.serialized) struct RolloutTests {
    static func deployment(_ name: String, image: String, strategy: String, replicas: Int) -> String {
        """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: \(name)}
        spec:
          replicas: \(replicas)
          selector: {matchLabels: {app: \(name)}}
          strategy: \(strategy)
          template:
            metadata: {labels: {app: \(name)}}
            spec:
              terminationGracePeriodSeconds: 1
              containers:
              - name: main
                image: \(image)
                command: ["/bin/sh", "-c", "mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 8080 -h /www"]
                readinessProbe:
                  httpGet: {path: /index.html, port: 8080}
                  periodSeconds: 1
        """
    }

    /// What a pod watch showed: the most pods alive at once, the fewest ready ones after `readyFrom`
    /// were first reached, and whether a pod of `newImage` was added while one of another image was alive.
    struct Observed { var maxAlive = 0; var minReady = Int.max; var overlap = false }

    static func replay(_ log: String, app: String, newImage: String, readyFrom: Int) -> Observed {
        var alive: [String: (image: String, ready: Bool)] = [:]
        var seen = Observed()
        var reachedReady = false
        for line in log.split(separator: "\n") {
            guard let event = try? JSONValue.parse(Data(line.utf8)), let pod = event["object"],
                  pod["metadata"]?["labels"]?["app"]?.stringValue == app,
                  let name = pod["metadata"]?["name"]?.stringValue else { continue }
            let image = pod["spec"]?["containers"]?[0]?["image"]?.stringValue ?? ""
            let phase = pod["status"]?["phase"]?.stringValue
            let gone = event["type"] == "DELETED" || pod["metadata"]?["deletionTimestamp"] != nil || phase == "Succeeded" || phase == "Failed"
            if gone { alive[name] = nil } else {
                if alive[name] == nil, image == newImage, alive.values.contains(where: { $0.image != newImage }) { seen.overlap = true }
                let ready = (pod["status"]?["conditions"]?.arrayValue ?? []).contains { $0["type"] == "Ready" && $0["status"] == "True" }
                alive[name] = (image, ready)
            }
            seen.maxAlive = max(seen.maxAlive, alive.count)
            let readyCount = alive.values.filter(\.ready).count
            if readyCount >= readyFrom { reachedReady = true }
            if reachedReady { seen.minReady = min(seen.minReady, readyCount) }
        }
        return seen
    }

    /// Starts a watch on the default namespace's pods, written to `path` as JSON lines.
    static func watchPods(_ sim: SimulatorHandle, to path: String) throws -> BackgroundService {
        try BackgroundService(name: "pod watch", program: "curl",
                              arguments: ["-sN", "--cacert", sim.caCertificate, "-H", "Authorization: Bearer \(sim.token)",
                                          sim.apiURL + "/api/v1/namespaces/default/pods?watch=true&timeoutSeconds=600"],
                              logPath: path)
    }

    @Test func rollingUpdateStaysWithinSurgeAndRecreateStopsOldPodsFirst() async throws {
        try await withTemporaryDirectory("outpost-sim-rollout") { dir in
            let archive = dir + "/busybox.tar"
            try Podman.busyboxImage(archive: archive)
            try await withSimulator { sim in
                try sim.preload(archive: archive, as: "localhost/test/busybox:1")
                try sim.preload(archive: archive, as: "localhost/test/busybox:2")
                // 3 replicas, maxSurge 50% → 2 (rounded up), maxUnavailable 50% → 1 (rounded down).
                let rolling = "{type: RollingUpdate, rollingUpdate: {maxSurge: \"50%\", maxUnavailable: \"50%\"}}"
                try sim.apply(Self.deployment("roll", image: "localhost/test/busybox:1", strategy: rolling, replicas: 3) + "\n---\n"
                              + Self.deployment("again", image: "localhost/test/busybox:1", strategy: "{type: Recreate}", replicas: 2))
                try sim.kubectl(["rollout", "status", "deployment/roll", "--timeout=180s"], check: true)
                try sim.kubectl(["rollout", "status", "deployment/again", "--timeout=180s"], check: true)

                let watch = try Self.watchPods(sim, to: dir + "/watch.jsonl")
                defer { watch.stop() }
                try await Task.sleep(nanoseconds: 1_000_000_000)
                try sim.kubectl(["set", "image", "deployment/roll", "main=localhost/test/busybox:2"], check: true)
                try sim.kubectl(["set", "image", "deployment/again", "main=localhost/test/busybox:2"], check: true)
                try sim.kubectl(["rollout", "status", "deployment/roll", "--timeout=180s"], check: true)
                try sim.kubectl(["rollout", "status", "deployment/again", "--timeout=180s"], check: true)
                try await Task.sleep(nanoseconds: 2_000_000_000)
                watch.stop()
                let log = watch.log

                let rolled = Self.replay(log, app: "roll", newImage: "localhost/test/busybox:2", readyFrom: 3)
                #expect(rolled.maxAlive <= 5, "more than replicas + maxSurge pods alive: \(rolled.maxAlive)")
                #expect(rolled.maxAlive >= 4, "the rollout never surged: \(rolled.maxAlive)")
                #expect(rolled.minReady >= 2, "fewer than replicas - maxUnavailable ready: \(rolled.minReady)")
                #expect(rolled.overlap, "a RollingUpdate runs old and new pods side by side")
                let recreated = Self.replay(log, app: "again", newImage: "localhost/test/busybox:2", readyFrom: 2)
                #expect(!recreated.overlap, "Recreate started a new pod while an old one was alive")
                #expect(recreated.maxAlive <= 2)

                let d = try JSONValue.parse(try sim.kubectl(["get", "deployment", "roll", "-o", "json"], check: true).stdout)
                for key in ["replicas", "updatedReplicas", "readyReplicas", "availableReplicas"] {
                    #expect(d["status"]?[key] == 3, "status.\(key)")
                }
                #expect(d["status"]?["observedGeneration"] == d["metadata"]?["generation"])
                let conditions = d["status"]?["conditions"]?.arrayValue ?? []
                #expect(conditions.contains { $0["type"] == "Available" && $0["status"] == "True" })
                #expect(conditions.contains { $0["type"] == "Progressing" && $0["reason"] == "NewReplicaSetAvailable" })
                let sets = try JSONValue.parse(try sim.kubectl(["get", "rs", "-l", "app=roll", "-o", "json"], check: true).stdout)
                #expect((sets["items"]?.arrayValue ?? []).map { $0["spec"]?["replicas"]?.intValue ?? -1 }.sorted() == [0, 3])
                let images = try sim.kubectl(["get", "pods", "-l", "app=roll", "-o", "jsonpath={.items[*].spec.containers[0].image}"], check: true).out
                #expect(Set(images.split(separator: " ")) == ["localhost/test/busybox:2"])

                // An image that cannot be pulled: no progress, and rollout status fails at the deadline.
                try sim.kubectl(["patch", "deployment", "roll", "--type", "merge", "-p", #"{"spec":{"progressDeadlineSeconds":5}}"#], check: true)
                try sim.kubectl(["set", "image", "deployment/roll", "main=localhost/test/absent:1"], check: true)
                let stuck = try sim.kubectl(["rollout", "status", "deployment/roll", "--timeout=120s"])
                #expect(stuck.status != 0)
                #expect(stuck.err.contains("exceeded its progress deadline"), "\(stuck.err)")
                let after = try JSONValue.parse(try sim.kubectl(["get", "deployment", "roll", "-o", "json"], check: true).stdout)
                // maxUnavailable 1: one old pod made way, two stay ready.
                #expect(after["status"]?["availableReplicas"] == 2)
                #expect((after["status"]?["conditions"]?.arrayValue ?? []).contains { $0["type"] == "Available" && $0["status"] == "True" })

                // kubectl rollout undo goes back to the previous template, which then completes.
                try sim.kubectl(["patch", "deployment", "roll", "--type", "merge", "-p", #"{"spec":{"progressDeadlineSeconds":600}}"#], check: true)
                let setsBefore = try sim.kubectl(["get", "rs", "-l", "app=roll", "-o", "name"], check: true).out
                try sim.kubectl(["rollout", "undo", "deployment/roll"], check: true)
                try sim.kubectl(["rollout", "status", "deployment/roll", "--timeout=150s"], check: true)
                try await sim.waitUntil("only busybox:2 pods", timeout: 60) {
                    let images = try sim.kubectl(["get", "pods", "-l", "app=roll", "-o", "jsonpath={.items[*].spec.containers[0].image}"]).out
                    return Set(images.split(separator: " ")) == ["localhost/test/busybox:2"]
                }
                // The rollback reused the busybox:2 ReplicaSet (no new one) and made it the newest revision.
                #expect(try sim.kubectl(["get", "rs", "-l", "app=roll", "-o", "name"], check: true).out == setsBefore)
                let reverted = try JSONValue.parse(try sim.kubectl(["get", "deployment", "roll", "-o", "json"], check: true).stdout)
                #expect(reverted["metadata"]?["annotations"]?["deployment.kubernetes.io/revision"] == "4")
            }
        }
    }
}

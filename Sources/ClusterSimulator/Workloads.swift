import Foundation
import Logging
import OutpostCore

/// The workload controllers: Deployments roll out a new ReplicaSet per pod template (the new one is
/// scaled up, old ones are scaled down once the new pods are available), ReplicaSets keep their pod
/// count, DaemonSets keep one pod per eligible node, Jobs run pods to their completions.
extension Controllers {
    func deploymentsPass() async {
        let (deployments, _) = await api.list(Self.deployments, namespace: nil)
        for d in deployments where d["metadata"]?["deletionTimestamp"] == nil {
            let hash = Self.templateHash(d["spec"]?["template"])
            let (sets, _) = await api.list(Self.replicaSets, namespace: d.namespace)
            let owned = sets.filter { Self.isOwned($0, by: d) }
            let desired = d["spec"]?["replicas"]?.intValue ?? 1
            let paused = d["spec"]?["paused"]?.boolValue ?? false
            let revisions = owned.compactMap { $0["metadata"]?["annotations"]?["deployment.kubernetes.io/revision"]?.stringValue.flatMap { Int($0) } }
            var current = owned.first { $0.labels["pod-template-hash"] == hash }
            if current == nil && !paused {
                var template = d["spec"]?["template"] ?? [:]
                template.set(["metadata", "labels", "pod-template-hash"], .string(hash))
                var selector = d["spec"]?["selector"] ?? [:]
                selector.set(["matchLabels", "pod-template-hash"], .string(hash))
                var labels = d["spec"]?["template"]?["metadata"]?["labels"] ?? [:]
                labels["pod-template-hash"] = .string(hash)
                let rs: JSONValue = [
                    "metadata": ["name": .string("\(d.name)-\(hash)"), "labels": labels,
                                 "annotations": ["deployment.kubernetes.io/revision": .string(String((revisions.max() ?? 0) + 1)),
                                                 "deployment.kubernetes.io/desired-replicas": .number(Double(desired)).stringified],
                                 "ownerReferences": Self.ownerReference(d)],
                    "spec": ["replicas": .number(Double(desired)), "selector": selector, "template": template,
                             "minReadySeconds": d["spec"]?["minReadySeconds"] ?? 0],
                ]
                current = try? await api.create(Self.replicaSets, namespace: d.namespace, rs)
                if let current {
                    await Events.record(api: api, involved: d, type: "Normal", reason: "ScalingReplicaSet",
                                        message: "Scaled up replica set \(current.name) from 0 to \(desired)", component: "deployment-controller")
                }
            }
            guard let newRS = current else { continue }
            if newRS["spec"]?["replicas"]?.intValue != desired {
                await api.modify(Self.replicaSets, d.namespace, newRS.name) { o in o.set(["spec", "replicas"], .number(Double(desired))); return true }
            }
            let old = owned.filter { $0.uid != newRS.uid }
            let newAvailable = newRS["status"]?["availableReplicas"]?.intValue ?? 0
            let recreate = d["spec"]?["strategy"]?["type"]?.stringValue == "Recreate"
            if newAvailable >= desired || recreate {
                for o in old where (o["spec"]?["replicas"]?.intValue ?? 0) != 0 {
                    await api.modify(Self.replicaSets, d.namespace, o.name) { r in r.set(["spec", "replicas"], 0); return true }
                    await Events.record(api: api, involved: d, type: "Normal", reason: "ScalingReplicaSet",
                                        message: "Scaled down replica set \(o.name) to 0", component: "deployment-controller")
                }
            }
            let all = [newRS] + old
            func sum(_ key: String) -> Int { all.reduce(0) { $0 + ($1["status"]?[key]?.intValue ?? 0) } }
            let updated = newRS["status"]?["replicas"]?.intValue ?? 0
            let available = sum("availableReplicas")
            let revision = newRS["metadata"]?["annotations"]?["deployment.kubernetes.io/revision"] ?? "1"
            let complete = newAvailable >= desired && sum("replicas") == desired
            let status: JSONValue = [
                "observedGeneration": d["metadata"]?["generation"] ?? 1,
                "replicas": .number(Double(sum("replicas"))), "updatedReplicas": .number(Double(updated)),
                "readyReplicas": .number(Double(sum("readyReplicas"))), "availableReplicas": .number(Double(available)),
                "unavailableReplicas": .number(Double(max(0, desired - available))),
                "conditions": [
                    ["type": "Available", "status": available >= desired ? "True" : "False",
                     "reason": available >= desired ? "MinimumReplicasAvailable" : "MinimumReplicasUnavailable",
                     "message": available >= desired ? "Deployment has minimum availability." : "Deployment does not have minimum availability."],
                    ["type": "Progressing", "status": "True", "reason": complete ? "NewReplicaSetAvailable" : "ReplicaSetUpdated",
                     "message": .string(complete ? "ReplicaSet \"\(newRS.name)\" has successfully progressed." : "ReplicaSet \"\(newRS.name)\" is progressing.")],
                ],
            ]
            await api.modify(Self.deployments, d.namespace, d.name, status: true) { o in
                if Self.sameIgnoringTimes(o["status"], status) { return false }
                o["status"] = Self.withTimes(status, old: o["status"])
                return true
            }
            if d["metadata"]?["annotations"]?["deployment.kubernetes.io/revision"] != revision {
                await api.modify(Self.deployments, d.namespace, d.name) { o in
                    o.set(["metadata", "annotations", "deployment.kubernetes.io/revision"], revision); return true
                }
            }
        }
    }

    static func sameIgnoringTimes(_ a: JSONValue?, _ b: JSONValue) -> Bool {
        func strip(_ v: JSONValue?) -> JSONValue? {
            guard case .object(var o)? = v else { return v }
            if case .array(let cs)? = o["conditions"] {
                o["conditions"] = .array(cs.map { c in var c = c; c["lastTransitionTime"] = nil; c["lastUpdateTime"] = nil; return c })
            }
            return .object(o)
        }
        return strip(a) == strip(b)
    }

    static func withTimes(_ status: JSONValue, old: JSONValue?) -> JSONValue {
        var s = status
        guard case .array(let cs)? = status["conditions"] else { return s }
        let now = JSONValue.string(Defaults.timestamp())
        s["conditions"] = .array(cs.map { c in
            var c = c
            let previous = (old?["conditions"]?.arrayValue ?? []).first { $0["type"] == c["type"] }
            c["lastTransitionTime"] = previous?["status"] == c["status"] ? (previous?["lastTransitionTime"] ?? now) : now
            c["lastUpdateTime"] = now
            return c
        })
        return s
    }

    func replicaSetsPass() async {
        let (sets, _) = await api.list(Self.replicaSets, namespace: nil)
        for rs in sets where rs["metadata"]?["deletionTimestamp"] == nil {
            let desired = rs["spec"]?["replicas"]?.intValue ?? 1
            let pods = await ownedPods(rs).filter(Self.isActive)
            if pods.count < desired {
                for _ in pods.count..<desired {
                    await createPod(from: rs["spec"]?["template"], owner: rs, namePrefix: rs.name + "-")
                }
            } else if pods.count > desired {
                // Not-ready pods go first, then the newest.
                let victims = pods.sorted { a, b in
                    if Self.isReady(a) != Self.isReady(b) { return !Self.isReady(a) }
                    return (a["metadata"]?["creationTimestamp"]?.stringValue ?? "") > (b["metadata"]?["creationTimestamp"]?.stringValue ?? "")
                }.prefix(pods.count - desired)
                for v in victims { _ = try? await api.delete(Self.pods, namespace: v.namespace, name: v.name) }
            }
            let ready = pods.filter(Self.isReady).count
            let status: JSONValue = ["replicas": .number(Double(min(pods.count, max(desired, pods.count)))), "fullyLabeledReplicas": .number(Double(pods.count)),
                                     "readyReplicas": .number(Double(ready)), "availableReplicas": .number(Double(ready)),
                                     "observedGeneration": rs["metadata"]?["generation"] ?? 1]
            await api.modify(Self.replicaSets, rs.namespace, rs.name, status: true) { o in
                if o["status"] == status { return false }
                o["status"] = status; return true
            }
        }
    }

    func daemonSetsPass() async {
        let (sets, _) = await api.list(Self.daemonSets, namespace: nil)
        let (nodes, _) = await api.list(Self.nodes, namespace: nil)
        let (allPods, _) = await api.list(Self.pods, namespace: nil)
        for ds in sets where ds["metadata"]?["deletionTimestamp"] == nil {
            let hash = Self.templateHash(ds["spec"]?["template"])
            let pods = await ownedPods(ds).filter(Self.isActive)
            var desired = 0, ready = 0, updated = 0
            for node in nodes {
                var probe: JSONValue = ["spec": ds["spec"]?["template"]?["spec"] ?? [:]]
                probe.set(["spec", "nodeName"], nil)
                let others = allPods.filter { $0["spec"]?["nodeName"]?.stringValue == node.name && !Self.isOwned($0, by: ds) }
                guard Scheduling.fits(pod: probe, node: node, podsOnNode: others) else { continue }
                desired += 1
                let onNode = pods.filter { $0["spec"]?["nodeName"]?.stringValue == node.name }
                let current = onNode.filter { $0.labels["controller-revision-hash"] == hash }
                for stale in onNode where stale.labels["controller-revision-hash"] != hash {
                    _ = try? await api.delete(Self.pods, namespace: stale.namespace, name: stale.name)
                }
                if current.isEmpty && onNode.allSatisfy({ $0.labels["controller-revision-hash"] != hash }) && onNode.isEmpty {
                    await createPod(from: ds["spec"]?["template"], owner: ds, namePrefix: ds.name + "-",
                                    extraLabels: ["controller-revision-hash": hash, "pod-template-generation": String(ds["metadata"]?["generation"]?.intValue ?? 1)],
                                    nodeName: node.name)
                }
                updated += current.count
                ready += current.filter(Self.isReady).count
            }
            let status: JSONValue = ["desiredNumberScheduled": .number(Double(desired)), "currentNumberScheduled": .number(Double(pods.count)),
                                     "numberReady": .number(Double(ready)), "numberAvailable": .number(Double(ready)),
                                     "updatedNumberScheduled": .number(Double(updated)), "numberMisscheduled": 0,
                                     "observedGeneration": ds["metadata"]?["generation"] ?? 1]
            await api.modify(Self.daemonSets, ds.namespace, ds.name, status: true) { o in
                if o["status"] == status { return false }
                o["status"] = status; return true
            }
        }
    }
}

/// Jobs: keep `parallelism` pods running until `completions` succeeded, fail after `backoffLimit`
/// failed pods, and report Complete or Failed conditions.
struct JobController {
    let api: ClusterAPI

    func pass() async {
        let (jobs, _) = await api.list(Controllers.jobs, namespace: nil)
        let controllers = Controllers(api: api, logger: .init(label: "jobs"))
        for job in jobs where job["metadata"]?["deletionTimestamp"] == nil {
            let conditions = job["status"]?["conditions"]?.arrayValue ?? []
            if conditions.contains(where: { ["Complete", "Failed"].contains($0["type"]?.stringValue ?? "") && $0["status"]?.stringValue == "True" }) { continue }
            let pods = await controllers.ownedPods(job)
            let succeeded = pods.filter { $0["status"]?["phase"]?.stringValue == "Succeeded" }.count
            let failed = pods.filter { $0["status"]?["phase"]?.stringValue == "Failed" }.count
            let active = pods.filter(Controllers.isActive)
            let completions = job["spec"]?["completions"]?.intValue ?? 1
            let parallelism = job["spec"]?["parallelism"]?.intValue ?? 1
            let backoffLimit = job["spec"]?["backoffLimit"]?.intValue ?? 6
            let suspended = job["spec"]?["suspend"]?.boolValue ?? false
            let now = JSONValue.string(Defaults.timestamp())
            var status = job["status"] ?? [:]
            status["active"] = .number(Double(active.count))
            status["succeeded"] = .number(Double(succeeded))
            status["failed"] = .number(Double(failed))
            status["ready"] = .number(Double(active.filter(Controllers.isReady).count))
            if status["startTime"] == nil && !suspended { status["startTime"] = now }
            if succeeded >= completions {
                status["completionTime"] = now
                status["active"] = 0
                status["conditions"] = [["type": "SuccessCriteriaMet", "status": "True", "reason": "CompletionsReached", "lastTransitionTime": now, "lastProbeTime": now],
                                        ["type": "Complete", "status": "True", "reason": "CompletionsReached", "message": "Reached expected number of succeeded pods", "lastTransitionTime": now, "lastProbeTime": now]]
                await Events.record(api: api, involved: job, type: "Normal", reason: "Completed", message: "Job completed", component: "job-controller")
            } else if failed > backoffLimit {
                for p in active { _ = try? await api.delete(Controllers.pods, namespace: p.namespace, name: p.name) }
                status["conditions"] = [["type": "FailureTarget", "status": "True", "reason": "BackoffLimitExceeded", "lastTransitionTime": now, "lastProbeTime": now],
                                        ["type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit", "lastTransitionTime": now, "lastProbeTime": now]]
                await Events.record(api: api, involved: job, type: "Warning", reason: "BackoffLimitExceeded", message: "Job has reached the specified backoff limit", component: "job-controller")
            } else if !suspended {
                let want = min(parallelism, completions - succeeded) - active.count
                if want > 0 {
                    for _ in 0..<want {
                        await controllers.createPod(from: job["spec"]?["template"], owner: job, namePrefix: job.name + "-")
                    }
                    status["active"] = .number(Double(active.count + want))
                }
            }
            let final = status
            await api.modify(Controllers.jobs, job.namespace, job.name, status: true) { o in
                if o["status"] == final { return false }
                o["status"] = final; return true
            }
        }
    }
}

extension JSONValue {
    /// A number as a string value (for annotations).
    var stringified: JSONValue {
        if let i = intValue { return .string(String(i)) }
        return self
    }
}

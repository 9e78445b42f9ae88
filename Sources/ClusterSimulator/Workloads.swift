import Foundation
import Logging
import OutpostCore

/// The workload controllers: Deployments roll out a new ReplicaSet per pod template (RollingUpdate
/// within maxSurge/maxUnavailable, or Recreate; see `Rollout`), ReplicaSets keep their pod count, DaemonSets keep one pod per eligible node, Jobs run pods to their completions.
extension Controllers {
    func deploymentsPass() async {
        let (deployments, _) = await api.list(Self.deployments, namespace: nil)
        for d in deployments where d["metadata"]?["deletionTimestamp"] == nil {
            await reconcileDeployment(d)
        }
    }

    /// One pass of the Deployment controller for `d`: find or create the ReplicaSet of the current
    /// template, move replicas from old sets to it by the strategy (RollingUpdate within maxSurge and
    /// maxUnavailable, or Recreate: old pods gone before new ones start), trim history, write status.
    private func reconcileDeployment(_ d: JSONValue) async {
        let hash = Self.templateHash(d["spec"]?["template"])
        let (sets, _) = await api.list(Self.replicaSets, namespace: d.namespace)
        var owned = sets.filter { Self.isOwned($0, by: d) && $0["metadata"]?["deletionTimestamp"] == nil }
        let desired = d["spec"]?["replicas"]?.intValue ?? 1
        let paused = d["spec"]?["paused"]?.boolValue ?? false
        let strategy = d["spec"]?["strategy"]
        let recreate = strategy?["type"]?.stringValue == "Recreate"
        let (surge, unavailable) = Rollout.fenceposts(strategy: strategy, replicas: desired)
        func state(_ rs: JSONValue) -> Rollout.ReplicaSetState {
            Rollout.ReplicaSetState(name: rs.name, replicas: rs["spec"]?["replicas"]?.intValue ?? 0,
                                    available: rs["status"]?["availableReplicas"]?.intValue ?? 0)
        }
        func revision(_ rs: JSONValue) -> Int {
            rs["metadata"]?["annotations"]?["deployment.kubernetes.io/revision"]?.stringValue.flatMap { Int($0) } ?? 0
        }
        var newRS = owned.first { $0.labels["pod-template-hash"] == hash }
        var old = owned.filter { $0.labels["pod-template-hash"] != hash }
            .sorted { ($0["metadata"]?["creationTimestamp"]?.stringValue ?? "", revision($0)) < ($1["metadata"]?["creationTimestamp"]?.stringValue ?? "", revision($1)) }
        var created = false
        // Going back to an older template (a rollback) makes its ReplicaSet the newest revision.
        if let n = newRS, !paused, let top = owned.map(revision).max(), revision(n) < top {
            newRS = await api.modify(Self.replicaSets, n.namespace, n.name) { o in
                o.set(["metadata", "annotations", "deployment.kubernetes.io/revision"], .string(String(top + 1))); return true
            } ?? n
        }

        if !paused {
            if recreate {
                // Recreate: every old ReplicaSet to zero, and wait until none of their pods is left.
                for o in old where (o["spec"]?["replicas"]?.intValue ?? 0) != 0 {
                    await scale(o, to: 0, deployment: d)
                }
                var oldPodsLeft = false
                for o in old where !(await ownedPods(o)).filter({ p in
                    let phase = p["status"]?["phase"]?.stringValue
                    return phase != "Succeeded" && phase != "Failed"
                }).isEmpty { oldPodsLeft = true }
                if !oldPodsLeft {
                    if newRS == nil {
                        newRS = await createReplicaSet(for: d, hash: hash, replicas: desired, revision: (owned.map(revision).max() ?? 0) + 1)
                        created = newRS != nil
                    } else if let n = newRS, (n["spec"]?["replicas"]?.intValue ?? 0) != desired {
                        await scale(n, to: desired, deployment: d)
                    }
                }
            } else {
                // RollingUpdate: grow the new set within the surge, then shrink old sets within availability.
                let oldSizes = old.map { $0["spec"]?["replicas"]?.intValue ?? 0 }
                if let n = newRS {
                    let current = n["spec"]?["replicas"]?.intValue ?? 0
                    let size = Rollout.newReplicaSetSize(desired: desired, surge: surge, newReplicas: current, oldReplicas: oldSizes)
                    if size != current { await scale(n, to: size, deployment: d) }
                } else {
                    let size = Rollout.newReplicaSetSize(desired: desired, surge: surge, newReplicas: 0, oldReplicas: oldSizes)
                    newRS = await createReplicaSet(for: d, hash: hash, replicas: size, revision: (owned.map(revision).max() ?? 0) + 1)
                    created = newRS != nil
                }
                if let n = newRS {
                    let changes = Rollout.scaleDownOld(desired: desired, unavailable: unavailable, new: state(n), old: old.map(state))
                    for o in old { if let size = changes[o.name] { await scale(o, to: size, deployment: d) } }
                }
            }
        }
        // Re-read what this pass changed, then trim history beyond revisionHistoryLimit.
        let (fresh, _) = await api.list(Self.replicaSets, namespace: d.namespace)
        owned = fresh.filter { Self.isOwned($0, by: d) && $0["metadata"]?["deletionTimestamp"] == nil }
        let current = newRS.map { n in owned.first { $0.uid == n.uid } ?? n }
        old = owned.filter { $0.uid != current?.uid }
        let limit = d["spec"]?["revisionHistoryLimit"]?.intValue ?? 10
        let idle = old.filter { ($0["spec"]?["replicas"]?.intValue ?? 0) == 0 && ($0["status"]?["replicas"]?.intValue ?? 0) == 0 }
            .sorted { revision($0) < revision($1) }
        for o in idle.prefix(max(0, idle.count - limit)) {
            _ = try? await api.delete(Self.replicaSets, namespace: o.namespace, name: o.name)
            old.removeAll { $0.uid == o.uid }
        }
        await writeStatus(d, newRS: current, old: old, desired: desired, unavailable: unavailable, created: created, paused: paused)
    }

    private func createReplicaSet(for d: JSONValue, hash: String, replicas: Int, revision: Int) async -> JSONValue? {
        var template = d["spec"]?["template"] ?? [:]
        template.set(["metadata", "labels", "pod-template-hash"], .string(hash))
        var selector = d["spec"]?["selector"] ?? [:]
        selector.set(["matchLabels", "pod-template-hash"], .string(hash))
        var labels = d["spec"]?["template"]?["metadata"]?["labels"] ?? [:]
        labels["pod-template-hash"] = .string(hash)
        let desired = d["spec"]?["replicas"]?.intValue ?? 1
        let rs: JSONValue = [
            "metadata": ["name": .string("\(d.name)-\(hash)"), "labels": labels,
                         "annotations": ["deployment.kubernetes.io/revision": .string(String(revision)),
                                         "deployment.kubernetes.io/desired-replicas": .string(String(desired))],
                         "ownerReferences": Self.ownerReference(d)],
            "spec": ["replicas": .number(Double(replicas)), "selector": selector, "template": template,
                     "minReadySeconds": d["spec"]?["minReadySeconds"] ?? 0],
        ]
        guard let created = try? await api.create(Self.replicaSets, namespace: d.namespace, rs) else { return nil }
        await Events.record(api: api, involved: d, type: "Normal", reason: "ScalingReplicaSet",
                            message: "Scaled up replica set \(created.name) from 0 to \(replicas)", component: "deployment-controller")
        return created
    }

    private func scale(_ rs: JSONValue, to replicas: Int, deployment d: JSONValue) async {
        let from = rs["spec"]?["replicas"]?.intValue ?? 0
        guard from != replicas else { return }
        let desired = d["spec"]?["replicas"]?.intValue ?? 1
        await api.modify(Self.replicaSets, rs.namespace, rs.name) { o in
            o.set(["spec", "replicas"], .number(Double(replicas)))
            o.set(["metadata", "annotations", "deployment.kubernetes.io/desired-replicas"], .string(String(desired)))
            return true
        }
        await Events.record(api: api, involved: d, type: "Normal", reason: "ScalingReplicaSet",
                            message: "Scaled \(replicas > from ? "up" : "down") replica set \(rs.name) from \(from) to \(replicas)",
                            component: "deployment-controller")
    }

    /// Deployment status as Kubernetes computes it; `kubectl rollout status` waits for
    /// observedGeneration, updatedReplicas, replicas and availableReplicas to reach the spec.
    private func writeStatus(_ d: JSONValue, newRS: JSONValue?, old: [JSONValue], desired: Int, unavailable: Int,
                             created: Bool, paused: Bool) async {
        let all = (newRS.map { [$0] } ?? []) + old
        func sum(_ key: String) -> Int { all.reduce(0) { $0 + ($1["status"]?[key]?.intValue ?? 0) } }
        let specTotal = all.reduce(0) { $0 + ($1["spec"]?["replicas"]?.intValue ?? 0) }
        let updated = newRS?["status"]?["replicas"]?.intValue ?? 0
        let replicas = sum("replicas"), ready = sum("readyReplicas"), available = sum("availableReplicas")
        let previous = d["status"] ?? [:]
        let complete = updated == desired && replicas == desired && available == desired
            && (newRS?["status"]?["availableReplicas"]?.intValue ?? 0) == desired
        let progressed = updated > (previous["updatedReplicas"]?.intValue ?? 0)
            || ready > (previous["readyReplicas"]?.intValue ?? 0)
            || available > (previous["availableReplicas"]?.intValue ?? 0)
            || replicas - updated < (previous["replicas"]?.intValue ?? 0) - (previous["updatedReplicas"]?.intValue ?? 0)
            || (previous["observedGeneration"]?.intValue ?? 0) < (d["metadata"]?["generation"]?.intValue ?? 1)
        let conditions = previous["conditions"]?.arrayValue ?? []
        let now = Date()
        let progressing = Rollout.progressing(previous: conditions.first { $0["type"] == "Progressing" }, newRS: newRS?.name ?? d.name,
                                              complete: complete, progressed: progressed, created: created,
                                              deadline: d["spec"]?["progressDeadlineSeconds"]?.intValue, paused: paused, now: now)
        let availableCondition = Rollout.available(previous: conditions.first { $0["type"] == "Available" }, available: available,
                                                   minimum: desired - min(unavailable, desired), now: now)
        var status: JSONValue = [
            "observedGeneration": d["metadata"]?["generation"] ?? 1,
            "replicas": .number(Double(replicas)), "updatedReplicas": .number(Double(updated)),
            "readyReplicas": .number(Double(ready)), "availableReplicas": .number(Double(available)),
            "unavailableReplicas": .number(Double(max(0, specTotal - available))),
            "conditions": [availableCondition, progressing],
        ]
        if let c = previous["collisionCount"] { status["collisionCount"] = c }
        let final = status
        await api.modify(Self.deployments, d.namespace, d.name, status: true) { o in
            if o["status"] == final { return false }
            o["status"] = final
            return true
        }
        guard let revision = newRS?["metadata"]?["annotations"]?["deployment.kubernetes.io/revision"] else { return }
        if d["metadata"]?["annotations"]?["deployment.kubernetes.io/revision"] != revision {
            await api.modify(Self.deployments, d.namespace, d.name) { o in
                o.set(["metadata", "annotations", "deployment.kubernetes.io/revision"], revision); return true
            }
        }
    }

    func replicaSetsPass() async {
        let (sets, _) = await api.list(Self.replicaSets, namespace: nil)
        for rs in sets where rs["metadata"]?["deletionTimestamp"] == nil {
            let desired = rs["spec"]?["replicas"]?.intValue ?? 1
            var pods = await ownedPods(rs).filter(Self.isActive)
            var created = 0
            if pods.count < desired {
                for _ in pods.count..<desired {
                    await createPod(from: rs["spec"]?["template"], owner: rs, namePrefix: rs.name + "-")
                    created += 1
                }
            } else if pods.count > desired {
                // Not-ready pods go first, then the newest.
                let victims = pods.sorted { a, b in
                    if Self.isReady(a) != Self.isReady(b) { return !Self.isReady(a) }
                    return (a["metadata"]?["creationTimestamp"]?.stringValue ?? "") > (b["metadata"]?["creationTimestamp"]?.stringValue ?? "")
                }.prefix(pods.count - desired)
                for v in victims { _ = try? await api.delete(Self.pods, namespace: v.namespace, name: v.name) }
                let gone = Set(victims.map(\.uid))
                pods.removeAll { gone.contains($0.uid) }
            }
            let ready = pods.filter(Self.isReady)
            let minReady = Double(rs["spec"]?["minReadySeconds"]?.intValue ?? 0)
            let available = ready.filter { p in
                guard minReady > 0 else { return true }
                let since = (p["status"]?["conditions"]?.arrayValue ?? []).first { $0["type"] == "Ready" }?["lastTransitionTime"]?.stringValue
                return since.flatMap(Rollout.date).map { Date().timeIntervalSince($0) >= minReady } ?? false
            }
            let status: JSONValue = ["replicas": .number(Double(pods.count + created)), "fullyLabeledReplicas": .number(Double(pods.count + created)),
                                     "readyReplicas": .number(Double(ready.count)), "availableReplicas": .number(Double(available.count)),
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

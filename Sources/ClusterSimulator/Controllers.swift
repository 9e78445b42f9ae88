import Crypto
import Foundation
import Logging
import OutpostCore

/// The control loops a cluster runs besides the kubelet: scheduler, Deployment → ReplicaSet → Pod,
/// DaemonSet, Job, Endpoints, service accounts, namespace termination and garbage collection by
/// ownerReferences. Each pass reads the store and writes through `ClusterAPI` (so admission applies).
final class Controllers: Sendable {
    let api: ClusterAPI
    let logger: Logger

    static let pods = ResourceType.core("Pod", "pods")
    static let replicaSets = ResourceType.grouped("apps", "v1", "ReplicaSet", "replicasets", sub: ["status", "scale"])
    static let deployments = ResourceType.grouped("apps", "v1", "Deployment", "deployments", sub: ["status", "scale"])
    static let daemonSets = ResourceType.grouped("apps", "v1", "DaemonSet", "daemonsets", sub: ["status"])
    static let jobs = ResourceType.grouped("batch", "v1", "Job", "jobs", sub: ["status"])
    static let endpoints = ResourceType.core("Endpoints", "endpoints")
    static let services = ResourceType.core("Service", "services", sub: ["status"])
    static let namespaces = ResourceType.core("Namespace", "namespaces", namespaced: false, sub: ["status"])
    static let nodes = ResourceType.core("Node", "nodes", namespaced: false, sub: ["status"])

    init(api: ClusterAPI, logger: Logger) { self.api = api; self.logger = logger }

    func run() async {
        var lastRevision = -1
        var idle = 0
        while !Task.isCancelled {
            let rev = await api.store.revision
            // Run when something changed, and every few seconds anyway (backoffs, readiness).
            if rev != lastRevision || idle >= 6 {
                lastRevision = rev
                idle = 0
                await pass()
            } else { idle += 1 }
            try? await Task.sleep(for: .milliseconds(250))
        }
    }

    func pass() async {
        await namespaces()
        await serviceAccounts()
        await schedule()
        await deploymentsPass()
        await replicaSetsPass()
        await daemonSetsPass()
        await JobController(api: api).pass()
        await endpointsPass()
        await garbageCollect()
    }

    // MARK: Helpers

    static func ownerReference(_ owner: JSONValue) -> JSONValue {
        [["apiVersion": owner["apiVersion"] ?? "", "kind": owner["kind"] ?? "", "name": .string(owner.name),
          "uid": .string(owner.uid), "controller": true, "blockOwnerDeletion": true]]
    }

    static func isOwned(_ o: JSONValue, by owner: JSONValue) -> Bool {
        (o["metadata"]?["ownerReferences"]?.arrayValue ?? []).contains { $0["uid"]?.stringValue == owner.uid }
    }

    /// A hash of a pod template that ignores null fields and the pod-template-hash label (a template
    /// read back from a ReplicaSet by a typed client, as `kubectl rollout undo` does, hashes the same).
    static func templateHash(_ template: JSONValue?) -> String {
        func normalized(_ v: JSONValue) -> JSONValue {
            switch v {
            case .object(let o): return .object(o.filter { !$0.value.isNull }.mapValues(normalized))
            case .array(let a): return .array(a.map(normalized))
            default: return v
            }
        }
        var t = normalized(template ?? .null)
        t["metadata"]?["labels"]?["pod-template-hash"] = nil
        if t["metadata"]?["labels"]?.objectValue?.isEmpty == true { t["metadata"]?["labels"] = nil }
        if t["metadata"]?.objectValue?.isEmpty == true { t["metadata"] = nil }
        let data = (try? t.encoded()) ?? Data()
        let digest = SHA256.hash(data: data)
        let alphabet = Array("bcdfghjklmnpqrstvwxz2456789")
        return String(digest.prefix(10).map { alphabet[Int($0) % alphabet.count] })
    }

    static func isReady(_ pod: JSONValue) -> Bool {
        pod["metadata"]?["deletionTimestamp"] == nil &&
            (pod["status"]?["conditions"]?.arrayValue ?? []).contains { $0["type"]?.stringValue == "Ready" && $0["status"]?.stringValue == "True" }
    }

    static func isActive(_ pod: JSONValue) -> Bool {
        let phase = pod["status"]?["phase"]?.stringValue
        return pod["metadata"]?["deletionTimestamp"] == nil && phase != "Succeeded" && phase != "Failed"
    }

    /// Creates a pod from a template, owned by `owner`.
    func createPod(from template: JSONValue?, owner: JSONValue, namePrefix: String, extraLabels: [String: String] = [:],
                   nodeName: String? = nil) async {
        var pod: JSONValue = ["apiVersion": "v1", "kind": "Pod", "metadata": template?["metadata"] ?? [:], "spec": template?["spec"] ?? [:]]
        pod.set(["metadata", "generateName"], .string(namePrefix))
        pod.set(["metadata", "name"], nil)
        for (k, v) in extraLabels { pod.set(["metadata", "labels", k], .string(v)) }
        pod.set(["metadata", "ownerReferences"], Self.ownerReference(owner))
        if let nodeName { pod.set(["spec", "nodeName"], .string(nodeName)) }
        do {
            _ = try await api.create(Self.pods, namespace: owner.namespace, pod)
        } catch {
            await Events.record(api: api, involved: owner, type: "Warning", reason: "FailedCreate",
                                message: "Error creating: \(error)", component: "\(owner["kind"]?.stringValue?.lowercased() ?? "")-controller")
        }
    }

    func ownedPods(_ owner: JSONValue) async -> [JSONValue] {
        let (pods, _) = await api.list(Self.pods, namespace: owner.namespace)
        return pods.filter { Self.isOwned($0, by: owner) }
    }

    // MARK: Scheduler

    private func schedule() async {
        let (pods, _) = await api.list(Self.pods, namespace: nil)
        let pending = pods.filter { $0["spec"]?["nodeName"] == nil && $0["metadata"]?["deletionTimestamp"] == nil }
        guard !pending.isEmpty else { return }
        let (nodes, _) = await api.list(Self.nodes, namespace: nil)
        for pod in pending {
            let fitting = nodes.filter { node in Scheduling.fits(pod: pod, node: node, podsOnNode: pods.filter { p in p["spec"]?["nodeName"]?.stringValue == node.name }) }
            guard let node = fitting.min(by: { a, b in
                pods.filter { $0["spec"]?["nodeName"]?.stringValue == a.name }.count < pods.filter { $0["spec"]?["nodeName"]?.stringValue == b.name }.count
            }) else {
                await api.modify(Self.pods, pod.namespace, pod.name, status: true) { o in
                    let already = (o["status"]?["conditions"]?.arrayValue ?? []).contains { $0["reason"]?.stringValue == "Unschedulable" }
                    if already { return false }
                    o.set(["status", "conditions"], [["type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                                                     "message": .string("0/\(nodes.count) nodes are available: no node matches the pod's node selector, tolerations or resource requests."),
                                                     "lastTransitionTime": .string(Defaults.timestamp()), "lastProbeTime": .null]])
                    return true
                }
                continue
            }
            let nodeName = node.name
            // Binding: a direct write of spec.nodeName, bypassing admission as the binding subresource does.
            for _ in 0..<3 {
                guard var o = await api.store.get("pods", pod.namespace, pod.name), o["spec"]?["nodeName"] == nil else { break }
                o.set(["spec", "nodeName"], .string(nodeName))
                if (try? await api.store.update("pods", pod.namespace, pod.name, o, expected: o["metadata"]?["resourceVersion"]?.stringValue)) != nil {
                    await Events.record(api: api, involved: o, type: "Normal", reason: "Scheduled",
                                        message: "Successfully assigned \(pod.namespace)/\(pod.name) to \(nodeName)", component: "default-scheduler")
                    break
                }
            }
        }
    }

    // MARK: Namespaces, service accounts

    private func namespaces() async {
        let (all, _) = await api.list(Self.namespaces, namespace: nil)
        for ns in all where ns["metadata"]?["deletionTimestamp"] != nil {
            var remaining = 0
            for t in api.catalog.all where t.namespaced {
                let (items, _) = await api.store.list(t.storeKey, namespace: ns.name)
                remaining += items.count
                for i in items where i["metadata"]?["deletionTimestamp"] == nil {
                    _ = try? await api.delete(t, namespace: ns.name, name: i.name)
                }
            }
            if remaining == 0 { await api.finalizeDeletion(Self.namespaces, ns) }
        }
    }

    private func serviceAccounts() async {
        let (all, _) = await api.list(Self.namespaces, namespace: nil)
        for ns in all where ns["metadata"]?["deletionTimestamp"] == nil {
            if await api.store.get("serviceaccounts", ns.name, "default") == nil {
                _ = try? await api.create(.core("ServiceAccount", "serviceaccounts"), namespace: ns.name,
                                          ["metadata": ["name": "default"]], ClusterAPI.WriteOptions(admit: false))
            }
        }
    }

    // MARK: Endpoints

    private func endpointsPass() async {
        let (services, _) = await api.list(Self.services, namespace: nil)
        for svc in services {
            guard let selector = svc["spec"]?["selector"]?.objectValue, !selector.isEmpty else { continue }
            let sel = LabelSelector(structured: ["matchLabels": .object(selector)])
            let (pods, _) = await api.list(Self.pods, namespace: svc.namespace)
            let matching = pods.filter { sel.matches(object: $0) && $0["status"]?["podIP"] != nil && $0["metadata"]?["deletionTimestamp"] == nil }
            let subsets = Self.endpointSubsets(service: svc, pods: matching)
            if let ep = await api.store.get("endpoints", svc.namespace, svc.name) {
                if ep["subsets"] == subsets { continue }
                await api.modify(Self.endpoints, svc.namespace, svc.name) { o in o["subsets"] = subsets; return true }
            } else {
                _ = try? await api.create(Self.endpoints, namespace: svc.namespace,
                                          ["metadata": ["name": .string(svc.name), "labels": svc["metadata"]?["labels"] ?? [:],
                                                        "ownerReferences": Self.ownerReference(svc)],
                                           "subsets": subsets], ClusterAPI.WriteOptions(admit: false))
            }
        }
    }

    /// Endpoints subsets for a service's pods, as the endpoints controller builds them: each service
    /// port's targetPort resolved per pod (a named port is looked up in all of the pod's containers;
    /// a port the pod does not have is left out for that pod), pods grouped by their resolved ports, ready ones under
    /// `addresses` and the others under `notReadyAddresses`.
    static func endpointSubsets(service svc: JSONValue, pods: [JSONValue]) -> JSONValue {
        let servicePorts = svc["spec"]?["ports"]?.arrayValue ?? []
        var groups: [[JSONValue]: (ready: [JSONValue], notReady: [JSONValue])] = [:]
        var order: [[JSONValue]] = []
        for p in pods.sorted(by: { $0.name < $1.name }) {
            let ready = isReady(p)
            guard ready || isActive(p) else { continue }
            var ports: [JSONValue] = []
            for sp in servicePorts {
                let target = sp["targetPort"] ?? sp["port"]
                let number: Int?
                if let n = target?.intValue { number = n }
                else if let name = target?.stringValue {
                    number = Int(name) ?? (p["spec"]?["containers"]?.arrayValue ?? []).lazy.compactMap { c in
                        (c["ports"]?.arrayValue ?? []).first { $0["name"]?.stringValue == name }?["containerPort"]?.intValue
                    }.first
                } else { number = sp["port"]?.intValue }
                guard let number else { continue }
                var o: [String: JSONValue] = ["port": .number(Double(number)), "protocol": sp["protocol"] ?? "TCP"]
                if let n = sp["name"] { o["name"] = n }
                ports.append(.object(o))
            }
            guard !ports.isEmpty else { continue }
            let address: JSONValue = ["ip": p["status"]?["podIP"] ?? "", "nodeName": p["spec"]?["nodeName"] ?? .null,
                                      "targetRef": ["kind": "Pod", "name": .string(p.name), "namespace": .string(p.namespace), "uid": .string(p.uid)]]
            if groups[ports] == nil { order.append(ports); groups[ports] = ([], []) }
            if ready { groups[ports]!.ready.append(address) } else { groups[ports]!.notReady.append(address) }
        }
        return .array(order.map { ports in
            var subset: [String: JSONValue] = ["ports": .array(ports)]
            if let g = groups[ports], !g.ready.isEmpty { subset["addresses"] = .array(g.ready) }
            if let g = groups[ports], !g.notReady.isEmpty { subset["notReadyAddresses"] = .array(g.notReady) }
            return .object(subset)
        })
    }

    // MARK: Garbage collection

    private func garbageCollect() async {
        var uids = Set<String>()
        var dependents: [(ResourceType, JSONValue)] = []
        for t in api.catalog.all {
            let (items, _) = await api.store.list(t.storeKey, namespace: nil)
            for i in items {
                uids.insert(i.uid)
                if i["metadata"]?["ownerReferences"] != nil { dependents.append((t, i)) }
            }
        }
        // Orphan deletion: dependents lose the owner reference, then the owner goes.
        // Foreground deletion: an owner marked with the foregroundDeletion finalizer waits for its dependents.
        for t in api.catalog.all {
            let (items, _) = await api.store.list(t.storeKey, namespace: nil)
            for owner in items where owner["metadata"]?["deletionTimestamp"] != nil
                && (owner["metadata"]?["finalizers"]?.arrayValue ?? []).contains("orphan") {
                await api.orphanDependents(of: owner, namespaced: t.namespaced)
                await api.modify(t, owner.namespace, owner.name) { o in
                    let fs = (o["metadata"]?["finalizers"]?.arrayValue ?? []).filter { $0 != "orphan" }
                    o["metadata"]?["finalizers"] = fs.isEmpty ? nil : .array(fs)
                    return true
                }
            }
            for owner in items where owner["metadata"]?["deletionTimestamp"] != nil
                && (owner["metadata"]?["finalizers"]?.arrayValue ?? []).contains("foregroundDeletion") {
                let mine = dependents.filter { d in
                    (d.1["metadata"]?["ownerReferences"]?.arrayValue ?? []).contains { $0["uid"]?.stringValue == owner.uid }
                }
                for (dt, d) in mine where d["metadata"]?["deletionTimestamp"] == nil {
                    _ = try? await api.delete(dt, namespace: d.namespace, name: d.name, preconditionUID: d.uid, propagation: "Foreground")
                }
                if mine.isEmpty {
                    await api.modify(t, owner.namespace, owner.name) { o in
                        let fs = (o["metadata"]?["finalizers"]?.arrayValue ?? []).filter { $0 != "foregroundDeletion" }
                        o["metadata"]?["finalizers"] = fs.isEmpty ? nil : .array(fs)
                        return true
                    }
                }
            }
        }
        for (t, o) in dependents where o["metadata"]?["deletionTimestamp"] == nil {
            let owners = o["metadata"]?["ownerReferences"]?.arrayValue ?? []
            if !owners.isEmpty && owners.allSatisfy({ !uids.contains($0["uid"]?.stringValue ?? "") }) {
                _ = try? await api.delete(t, namespace: o.namespace, name: o.name, preconditionUID: o.uid)
            }
        }
    }
}

/// Scheduling predicates: nodeSelector, node affinity (required terms with In/NotIn/Exists),
/// taints and tolerations, and CPU/memory requests against allocatable.
enum Scheduling {
    static func fits(pod: JSONValue, node: JSONValue, podsOnNode: [JSONValue]) -> Bool {
        let labels = node.labels
        for (k, v) in pod["spec"]?["nodeSelector"]?.objectValue ?? [:] where labels[k] != v.stringValue { return false }
        if let terms = pod["spec"]?["affinity"]?["nodeAffinity"]?["requiredDuringSchedulingIgnoredDuringExecution"]?["nodeSelectorTerms"]?.arrayValue, !terms.isEmpty {
            let ok = terms.contains { term in
                LabelSelector(structured: ["matchExpressions": term["matchExpressions"] ?? []]).matches(labels)
            }
            if !ok { return false }
        }
        let tolerations = pod["spec"]?["tolerations"]?.arrayValue ?? []
        for taint in node["spec"]?["taints"]?.arrayValue ?? [] {
            let effect = taint["effect"]?.stringValue ?? ""
            guard effect == "NoSchedule" || effect == "NoExecute" else { continue }
            let tolerated = tolerations.contains { t in
                let keyOK = t["key"] == nil || t["key"]?.stringValue == "" ? t["operator"]?.stringValue == "Exists" : t["key"] == taint["key"]
                let valueOK = t["operator"]?.stringValue == "Exists" || (t["value"]?.stringValue ?? "") == (taint["value"]?.stringValue ?? "")
                let effectOK = t["effect"] == nil || t["effect"]?.stringValue == "" || t["effect"]?.stringValue == effect
                return keyOK && valueOK && effectOK
            }
            if !tolerated { return false }
        }
        let allocatable = node["status"]?["allocatable"]
        let active = podsOnNode.filter(Controllers.isActive)
        if let maxPods = allocatable?["pods"]?.stringValue.flatMap({ Int($0) }), active.count >= maxPods { return false }
        for resource in ["cpu", "memory"] {
            guard let cap = Quantity.parse(allocatable?[resource]?.stringValue) else { continue }
            let used = active.reduce(0.0) { $0 + requests($1, resource) }
            if used + requests(pod, resource) > cap { return false }
        }
        return true
    }

    static func requests(_ pod: JSONValue, _ resource: String) -> Double {
        (pod["spec"]?["containers"]?.arrayValue ?? []).reduce(0.0) {
            $0 + (Quantity.parse($1["resources"]?["requests"]?[resource]?.stringValue) ?? 0)
        }
    }
}

/// Kubernetes resource quantities (`500m`, `2`, `128Mi`, `1G`) as numbers.
enum Quantity {
    static func parse(_ s: String?) -> Double? {
        guard let s, !s.isEmpty else { return nil }
        let suffixes: [(String, Double)] = [("Ki", 1024), ("Mi", 1_048_576), ("Gi", 1_073_741_824), ("Ti", 1_099_511_627_776),
                                            ("m", 0.001), ("k", 1e3), ("M", 1e6), ("G", 1e9), ("T", 1e12)]
        for (suffix, factor) in suffixes where s.hasSuffix(suffix) {
            return Double(s.dropLast(suffix.count)).map { $0 * factor }
        }
        return Double(s)
    }
}

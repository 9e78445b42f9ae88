import Foundation
import Logging
import OutpostCore

/// One simulated node's kubelet: keeps the Node object ready and runs a `PodWorker` for every pod bound
/// to the node, ending it (and removing the pod) once the pod is deleted.
actor Kubelet {
    let node: SimulatedNode
    let api: ClusterAPI
    let runtime: PodmanRuntime
    let logger: Logger
    private var workers: [String: Task<Void, Never>] = [:]

    init(node: SimulatedNode, api: ClusterAPI, runtime: PodmanRuntime, logger: Logger) {
        self.node = node; self.api = api; self.runtime = runtime; self.logger = logger
    }

    static func nodeObject(_ node: SimulatedNode) -> JSONValue {
        var labels: [String: JSONValue] = ["kubernetes.io/hostname": .string(node.name), "kubernetes.io/os": "linux",
                                           "kubernetes.io/arch": .string(node.architecture), "beta.kubernetes.io/arch": .string(node.architecture),
                                           "beta.kubernetes.io/os": "linux", "node-role.kubernetes.io/control-plane": ""]
        for (k, v) in node.labels { labels[k] = .string(v) }
        let taints: [JSONValue] = node.taints.map { t in
            let parts = t.split(separator: ":", maxSplits: 1).map(String.init)
            let kv = parts[0].split(separator: "=", maxSplits: 1).map(String.init)
            var o: [String: JSONValue] = ["key": .string(kv[0]), "effect": .string(parts.count > 1 ? parts[1] : "NoSchedule")]
            if kv.count > 1 { o["value"] = .string(kv[1]) }
            return .object(o)
        }
        let capacity: JSONValue = ["cpu": .string(node.cpu), "memory": .string(node.memory), "pods": .string(String(node.pods)), "ephemeral-storage": "100Gi"]
        let now = JSONValue.string(Defaults.timestamp())
        return [
            "metadata": ["name": .string(node.name), "labels": .object(labels)],
            "spec": taints.isEmpty ? [:] : ["taints": .array(taints)],
            "status": [
                "capacity": capacity, "allocatable": capacity,
                "conditions": [["type": "Ready", "status": "True", "reason": "KubeletReady", "message": "outpost-sim kubelet is posting ready status",
                                "lastHeartbeatTime": now, "lastTransitionTime": now]],
                "addresses": [["type": "InternalIP", "address": "127.0.0.1"], ["type": "Hostname", "address": .string(node.name)]],
                "nodeInfo": ["architecture": .string(node.architecture), "operatingSystem": "linux", "kubeletVersion": "v1.32.0-outpost-sim",
                             "containerRuntimeVersion": "podman://4", "osImage": "outpost-sim", "kernelVersion": "",
                             "kubeProxyVersion": "v1.32.0-outpost-sim", "machineID": "", "systemUUID": "", "bootID": ""],
            ],
        ]
    }

    func run() async {
        while !Task.isCancelled {
            let (pods, _) = await api.list(.core("Pod", "pods"), namespace: nil)
            let mine = pods.filter { $0["spec"]?["nodeName"]?.stringValue == node.name }
            for p in mine where workers[p.uid] == nil {
                let worker = PodWorker(pod: p, node: node.name, api: api, runtime: runtime, logger: logger)
                let uid = p.uid
                workers[uid] = Task { await worker.run(); self.finished(uid) }
            }
            try? await Task.sleep(for: .milliseconds(300))
        }
        for t in workers.values { t.cancel() }
        for t in workers.values { await t.value }
    }

    private func finished(_ uid: String) { workers[uid] = nil }
}

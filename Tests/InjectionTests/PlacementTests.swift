import Testing
import OutpostCore
@testable import Injection

/// Node and image choice over node and pod lists shaped as the Kubernetes API returns them.
@Suite("Injector placement")
struct PlacementTests {
    static func node(_ name: String, arch: String = "amd64", cpu: String = "2", memory: String = "4Gi",
                     taints: [JSONValue] = [], ready: Bool = true, unschedulable: Bool = false) -> JSONValue {
        var spec: [String: JSONValue] = ["taints": .array(taints)]
        if unschedulable { spec["unschedulable"] = true }
        return [
            "apiVersion": "v1", "kind": "Node",
            "metadata": ["name": .string(name), "labels": ["kubernetes.io/arch": .string(arch), "kubernetes.io/os": "linux"]],
            "spec": .object(spec),
            "status": [
                "allocatable": ["cpu": .string(cpu), "memory": .string(memory), "pods": "110"],
                "conditions": [["type": "Ready", "status": .string(ready ? "True" : "False")]],
                "nodeInfo": ["architecture": .string(arch), "operatingSystem": "linux"],
            ],
        ]
    }

    static func pod(_ name: String, node: String, image: String, phase: String = "Running", cpu: String? = nil,
                    memory: String? = nil, pullSecret: Bool = false, namespace: String = "kube-system") -> JSONValue {
        var requests: [String: JSONValue] = [:]
        if let cpu { requests["cpu"] = .string(cpu) }
        if let memory { requests["memory"] = .string(memory) }
        var spec: [String: JSONValue] = [
            "nodeName": .string(node),
            "containers": [["name": "c", "image": .string(image), "resources": ["requests": .object(requests)]]],
        ]
        if pullSecret { spec["imagePullSecrets"] = [["name": "private-registry"]] }
        return ["metadata": ["name": .string(name), "namespace": .string(namespace)], "spec": .object(spec),
                "status": ["phase": .string(phase)]]
    }

    static func list(_ items: [JSONValue]) -> JSONValue { ["apiVersion": "v1", "kind": "List", "items": .array(items)] }

    @Test("picks an untainted node of the right architecture and an image from a running pod on it")
    func picksUsable() throws {
        let nodes = Self.list([
            Self.node("cp-1", taints: [["key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"]]),
            Self.node("worker-arm", arch: "arm64"),
            Self.node("worker-1"),
        ])
        let pods = Self.list([
            Self.pod("apiserver", node: "cp-1", image: "registry.k8s.io/kube-apiserver:v1.36.0"),
            Self.pod("proxy-arm", node: "worker-arm", image: "registry.k8s.io/kube-proxy:v1.36.0"),
            Self.pod("mirrored", node: "worker-1", image: "127.0.0.1:31999/library/nginx:1.27-zarf-123"),
            Self.pod("private", node: "worker-1", image: "ghcr.io/acme/private:1", pullSecret: true),
            Self.pod("done", node: "worker-1", image: "busybox:1.36", phase: "Succeeded"),
            Self.pod("proxy", node: "worker-1", image: "registry.k8s.io/kube-proxy:v1.36.0"),
        ])
        let p = try InjectorPlacementPlanner.choose(nodes: nodes, pods: pods, architecture: "amd64")
        #expect(p == InjectorPlacement(nodeName: "worker-1", image: "registry.k8s.io/kube-proxy:v1.36.0", sourcePod: "kube-system/proxy"))
    }

    @Test("a node without room for 500m / 64Mi after its pods' requests is skipped")
    func room() throws {
        let nodes = Self.list([Self.node("full", cpu: "1", memory: "1Gi"), Self.node("roomy", cpu: "4000m", memory: "8Gi")])
        let pods = Self.list([
            Self.pod("big", node: "full", image: "a:1", cpu: "600m", memory: "100Mi"),
            Self.pod("p", node: "roomy", image: "b:1", cpu: "1", memory: "1Gi"),
        ])
        #expect(try InjectorPlacementPlanner.choose(nodes: nodes, pods: pods, architecture: "amd64").nodeName == "roomy")
        let tightMemory = Self.list([Self.node("tight", memory: "100Mi")])
        let podsTight = Self.list([Self.pod("p", node: "tight", image: "a:1", memory: "50Mi")])
        #expect(throws: InjectionError.self) {
            try InjectorPlacementPlanner.choose(nodes: tightMemory, pods: podsTight, architecture: "amd64")
        }
    }

    @Test("nothing fits: the error gives each node's reason")
    func nothingFits() {
        let nodes = Self.list([
            Self.node("a", arch: "arm64"),
            Self.node("b", taints: [["key": "dedicated", "value": "db", "effect": "NoExecute"]]),
            Self.node("c", ready: false),
            Self.node("d", unschedulable: true),
            Self.node("e"),
        ])
        let pods = Self.list([Self.pod("x", node: "e", image: "[::1]:31999/library/registry:3")])
        do {
            _ = try InjectorPlacementPlanner.choose(nodes: nodes, pods: pods, architecture: "amd64")
            Issue.record("expected an error")
        } catch let e as InjectionError {
            let text = e.description
            #expect(text.contains("node a: architecture arm64, the package is amd64"))
            #expect(text.contains("node b: tainted dedicated=db:NoExecute"))
            #expect(text.contains("node c: not Ready"))
            #expect(text.contains("node d: cordoned"))
            #expect(text.contains("node e: no running pod"))
        } catch { Issue.record("unexpected error \(error)") }
    }

    @Test("malformed lists and quantities are named")
    func malformed() {
        #expect(throws: InjectionError.invalidClusterJSON("nodes", reason: "no \"items\" list")) {
            try InjectorPlacementPlanner.choose(nodes: ["kind": "NodeList"], pods: Self.list([]), architecture: "amd64")
        }
        #expect(throws: InjectionError.invalidQuantity("lots", field: "node n status.allocatable.cpu")) {
            try InjectorPlacementPlanner.choose(nodes: Self.list([Self.node("n", cpu: "lots")]), pods: Self.list([]), architecture: "amd64")
        }
    }

    @Test("quantities", arguments: [("500m", 0.5), ("2", 2), ("0.5", 0.5), ("64Mi", 67_108_864), ("1G", 1e9),
                                    ("129e6", 129e6), ("1.5Gi", 1_610_612_736), ("100k", 100_000)])
    func quantities(text: String, value: Double) throws {
        #expect(try Quantity.parse(text, field: "f") == value)
    }
}

import OutpostCore

/// Where the injector runs: a node, and an image already present on it (so nothing is pulled).
public struct InjectorPlacement: Sendable, Equatable, Codable {
    public let nodeName: String
    public let image: String
    /// The pod the image was taken from (`namespace/name`), for the operator's information.
    public let sourcePod: String
}

/// Chooses the injector's node and image from the node and pod lists exactly as the Kubernetes API
/// returns them (`kubectl get nodes -o json`, `kubectl get pods -A -o json`). Pure: no cluster access.
///
/// A node qualifies when it is Ready (if it reports conditions), schedulable, has no NoSchedule or
/// NoExecute taint, has the package's architecture, and has 500m CPU and 64Mi memory left after the
/// requests of the pods already on it. The image comes from a running pod on that node without
/// imagePullSecrets, never one that already points at the internal registry (127.0.0.1/[::1]/localhost).
public enum InjectorPlacementPlanner {
    public static let cpuRequestMillis: Double = 500
    public static let memoryRequestBytes: Double = 64 * 1024 * 1024

    public static func choose(nodes: JSONValue, pods: JSONValue, architecture: String) throws -> InjectorPlacement {
        let nodeItems = try items(nodes, "nodes")
        let podItems = try items(pods, "pods")
        var podsByNode: [String: [JSONValue]] = [:]
        for pod in podItems {
            guard let node = pod["spec"]?["nodeName"]?.stringValue else { continue }
            podsByNode[node, default: []].append(pod)
        }
        var reasons: [String] = []
        let sorted = nodeItems.sorted { name($0) < name($1) }
        for node in sorted {
            let nodeName = name(node)
            if let why = try unsuitable(node, pods: podsByNode[nodeName] ?? [], architecture: architecture) {
                reasons.append("node \(nodeName): \(why)")
                continue
            }
            let candidates = (podsByNode[nodeName] ?? []).sorted { podID($0) < podID($1) }
            var found: InjectorPlacement? = nil
            for pod in candidates where pod["status"]?["phase"]?.stringValue == "Running" {
                if let secrets = pod["spec"]?["imagePullSecrets"]?.arrayValue, !secrets.isEmpty { continue }
                for key in ["containers", "initContainers", "ephemeralContainers"] {
                    for c in pod["spec"]?[key]?.arrayValue ?? [] {
                        guard let image = c["image"]?.stringValue, !image.isEmpty, !pointsAtInternalRegistry(image) else { continue }
                        found = InjectorPlacement(nodeName: nodeName, image: image, sourcePod: podID(pod))
                        break
                    }
                    if found != nil { break }
                }
                if found != nil { break }
            }
            if let found { return found }
            reasons.append("node \(nodeName): no running pod with an image that needs no pull secret and is not from the internal registry")
        }
        throw InjectionError.noInjectorPlacement(architecture: architecture, reasons: reasons)
    }

    /// Why the node cannot host the injector, or nil when it can.
    static func unsuitable(_ node: JSONValue, pods: [JSONValue], architecture: String) throws -> String? {
        let nodeArch = node["metadata"]?["labels"]?["kubernetes.io/arch"]?.stringValue
            ?? node["status"]?["nodeInfo"]?["architecture"]?.stringValue
        if nodeArch != architecture { return "architecture \(nodeArch ?? "unknown"), the package is \(architecture)" }
        if node["spec"]?["unschedulable"]?.boolValue == true { return "cordoned (unschedulable)" }
        for taint in node["spec"]?["taints"]?.arrayValue ?? [] {
            let effect = taint["effect"]?.stringValue ?? ""
            if effect == "NoSchedule" || effect == "NoExecute" {
                return "tainted \(taint["key"]?.stringValue ?? "")\(taint["value"]?.stringValue.map { "=" + $0 } ?? ""):\(effect)"
            }
        }
        if let conditions = node["status"]?["conditions"]?.arrayValue,
           let ready = conditions.first(where: { $0["type"]?.stringValue == "Ready" }),
           ready["status"]?.stringValue != "True" {
            return "not Ready"
        }
        let nodeName = name(node)
        let allocatable = node["status"]?["allocatable"]
        guard let cpuText = allocatable?["cpu"]?.stringValue, let memText = allocatable?["memory"]?.stringValue else {
            return "no allocatable cpu/memory in its status"
        }
        let cpu = try Quantity.parse(cpuText, field: "node \(nodeName) status.allocatable.cpu") * 1000
        let mem = try Quantity.parse(memText, field: "node \(nodeName) status.allocatable.memory")
        var usedCPU = 0.0, usedMem = 0.0
        for pod in pods {
            let phase = pod["status"]?["phase"]?.stringValue
            if phase == "Succeeded" || phase == "Failed" { continue }
            let (c, m) = try requests(pod)
            usedCPU += c
            usedMem += m
        }
        if cpu - usedCPU < cpuRequestMillis {
            return "only \(Int(max(0, cpu - usedCPU)))m CPU free of \(Int(cpu))m (needs 500m)"
        }
        if mem - usedMem < memoryRequestBytes {
            return "only \(Int(max(0, mem - usedMem) / 1_048_576))Mi memory free (needs 64Mi)"
        }
        return nil
    }

    /// A pod's effective requests: the sum over containers, or the largest init container if larger.
    static func requests(_ pod: JSONValue) throws -> (cpuMillis: Double, memoryBytes: Double) {
        func sum(_ key: String, combine: (Double, Double) -> Double) throws -> (Double, Double) {
            var cpu = 0.0, mem = 0.0
            for c in pod["spec"]?[key]?.arrayValue ?? [] {
                let req = c["resources"]?["requests"]
                let field = "pod \(podID(pod)) \(key) \(c["name"]?.stringValue ?? "") resources.requests"
                let cc = try req?["cpu"]?.stringValue.map { try Quantity.parse($0, field: field + ".cpu") * 1000 } ?? 0
                let mm = try req?["memory"]?.stringValue.map { try Quantity.parse($0, field: field + ".memory") } ?? 0
                cpu = combine(cpu, cc)
                mem = combine(mem, mm)
            }
            return (cpu, mem)
        }
        let main = try sum("containers", combine: +)
        let initial = try sum("initContainers", combine: max)
        return (max(main.0, initial.0), max(main.1, initial.1))
    }

    static func pointsAtInternalRegistry(_ image: String) -> Bool {
        image.hasPrefix("127.") || image.hasPrefix("[::1]") || image.hasPrefix("localhost:") || image.hasPrefix("localhost/")
    }

    static func items(_ list: JSONValue, _ what: String) throws -> [JSONValue] {
        if let array = list.arrayValue { return array }
        guard let items = list["items"] else {
            throw InjectionError.invalidClusterJSON(what, reason: "no \"items\" list")
        }
        if items.isNull { return [] }
        guard let array = items.arrayValue else { throw InjectionError.invalidClusterJSON(what, reason: "\"items\" is not a list") }
        return array
    }

    static func name(_ o: JSONValue) -> String { o["metadata"]?["name"]?.stringValue ?? "" }
    static func podID(_ p: JSONValue) -> String { (p["metadata"]?["namespace"]?.stringValue ?? "default") + "/" + name(p) }
}

/// Kubernetes resource quantities (`500m`, `2`, `0.5`, `64Mi`, `1G`, `129e6`) as plain numbers.
public enum Quantity {
    public static func parse(_ text: String, field: String) throws -> Double {
        let suffixes: [(String, Double)] = [
            ("Ki", 1024), ("Mi", 1_048_576), ("Gi", 1_073_741_824), ("Ti", 1_099_511_627_776),
            ("Pi", 1_125_899_906_842_624), ("Ei", 1_152_921_504_606_846_976),
            ("n", 1e-9), ("u", 1e-6), ("m", 1e-3), ("k", 1e3), ("M", 1e6), ("G", 1e9), ("T", 1e12), ("P", 1e15), ("E", 1e18),
        ]
        var number = Substring(text)
        var scale = 1.0
        for (suffix, factor) in suffixes where number.hasSuffix(suffix) {
            number = number.dropLast(suffix.count)
            scale = factor
            break
        }
        let allowed = Set("0123456789.+-eE")
        guard !number.isEmpty, number.allSatisfy({ allowed.contains($0) }), let value = Double(number), value >= 0 else {
            throw InjectionError.invalidQuantity(text, field: field)
        }
        return value * scale
    }
}

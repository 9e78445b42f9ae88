import Foundation
import OutpostCore

/// The API server's validation rules that clients can trip over: object names, label syntax, the 1 MiB
/// limit on ConfigMaps and Secrets, required fields of pods, services and workloads. Each failure
/// becomes a 422 Invalid naming the field, as Kubernetes reports it.
enum Validation {
    static let maxConfigSize = 1_048_576

    static func isDNS1123Label(_ s: String) -> Bool {
        guard !s.isEmpty, s.utf8.count <= 63 else { return false }
        let u = Array(s.utf8)
        guard isAlnum(u.first!), isAlnum(u.last!) else { return false }
        return u.allSatisfy { isAlnum($0) || $0 == UInt8(ascii: "-") }
    }

    static func isDNS1123Subdomain(_ s: String) -> Bool {
        guard !s.isEmpty, s.utf8.count <= 253 else { return false }
        return s.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { isDNS1123Label(String($0)) }
    }

    private static func isAlnum(_ c: UInt8) -> Bool {
        (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
    }

    private static func isQualifiedName(_ s: String) -> Bool {
        var name = Substring(s)
        if let slash = s.firstIndex(of: "/") {
            guard isDNS1123Subdomain(String(s[..<slash])) else { return false }
            name = s[s.index(after: slash)...]
        }
        guard !name.isEmpty, name.count <= 63, name.first!.isLetter || name.first!.isNumber,
              name.last!.isLetter || name.last!.isNumber else { return false }
        return name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }
    }

    private static func isLabelValue(_ s: String) -> Bool {
        if s.isEmpty { return true }
        guard s.count <= 63, s.first!.isLetter || s.first!.isNumber, s.last!.isLetter || s.last!.isNumber else { return false }
        return s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }
    }

    /// Validates an object about to be stored; throws 422 with every problem found.
    static func validate(_ object: JSONValue, type: ResourceType) throws(SimulatorError) {
        var causes: [(String, String)] = []
        let name = object.name
        let nameIsLabel = ["Namespace", "Service"].contains(type.kind) && type.group.isEmpty
        if name.isEmpty {
            causes.append(("metadata.name", "Required value: name or generateName is required"))
        } else if nameIsLabel ? !isDNS1123Label(name) : !isDNS1123Subdomain(name) {
            let rule = nameIsLabel
                ? "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character"
                : "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
            causes.append(("metadata.name", "Invalid value: \"\(name)\": \(rule)"))
        }
        for (k, v) in object.labels {
            if !isQualifiedName(k) { causes.append(("metadata.labels", "Invalid value: \"\(k)\": name part must consist of alphanumeric characters, '-', '_' or '.'")) }
            if !isLabelValue(v) { causes.append(("metadata.labels", "Invalid value: \"\(v)\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', at most 63 characters")) }
        }
        if type.group.isEmpty {
            switch type.kind {
            case "ConfigMap": causes += configMapCauses(object)
            case "Secret": causes += secretCauses(object)
            case "Pod": causes += podSpecCauses(object["spec"], path: "spec")
            case "Service": causes += serviceCauses(object)
            default: break
            }
        }
        if ["Deployment", "DaemonSet", "ReplicaSet", "StatefulSet"].contains(type.kind) && type.group == "apps" {
            let selector = LabelSelector(structured: object["spec"]?["selector"])
            if object["spec"]?["selector"] == nil {
                causes.append(("spec.selector", "Required value"))
            } else if !selector.matches(object["spec"]?["template"]?["metadata"]?["labels"]?.objectValue?.compactMapValues(\.stringValue) ?? [:]) {
                causes.append(("spec.template.metadata.labels", "Invalid value: `selector` does not match template `labels`"))
            }
            causes += podSpecCauses(object["spec"]?["template"]?["spec"], path: "spec.template.spec")
        }
        if type.kind == "Job" && type.group == "batch" {
            let spec = object["spec"]?["template"]?["spec"]
            causes += podSpecCauses(spec, path: "spec.template.spec")
            let rp = spec?["restartPolicy"]?.stringValue ?? ""
            if !["Never", "OnFailure"].contains(rp) {
                causes.append(("spec.template.spec.restartPolicy", "Unsupported value: \"\(rp)\": supported values: \"OnFailure\", \"Never\""))
            }
        }
        if !causes.isEmpty {
            throw .invalid(kind: type.kind, group: type.group, name: name, causes: causes.map { (field: $0.0, message: $0.1) })
        }
    }

    private static func isConfigKey(_ k: String) -> Bool {
        !k.isEmpty && k.count <= 253 && k != "." && k != ".." && k.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }
    }

    private static func configMapCauses(_ o: JSONValue) -> [(String, String)] {
        var causes: [(String, String)] = []
        var total = 0
        for (k, v) in o["data"]?.objectValue ?? [:] {
            if !isConfigKey(k) { causes.append(("data[\(k)]", "Invalid value: \"\(k)\": a valid config key must consist of alphanumeric characters, '-', '_' or '.'")) }
            total += k.utf8.count + (v.stringValue?.utf8.count ?? 0)
        }
        for (k, v) in o["binaryData"]?.objectValue ?? [:] {
            if !isConfigKey(k) { causes.append(("binaryData[\(k)]", "Invalid value: \"\(k)\": a valid config key must consist of alphanumeric characters, '-', '_' or '.'")) }
            total += k.utf8.count + (v.stringValue.flatMap { Data(base64Encoded: $0)?.count } ?? 0)
        }
        if total > maxConfigSize { causes.append(("[]", "Too long: must have at most \(maxConfigSize) bytes")) }
        return causes
    }

    private static func secretCauses(_ o: JSONValue) -> [(String, String)] {
        var causes: [(String, String)] = []
        var total = 0
        for (k, v) in o["data"]?.objectValue ?? [:] {
            if !isConfigKey(k) { causes.append(("data[\(k)]", "Invalid value: \"\(k)\": a valid config key must consist of alphanumeric characters, '-', '_' or '.'")) }
            guard let d = v.stringValue.flatMap({ Data(base64Encoded: $0) }) else {
                causes.append(("data[\(k)]", "Invalid value: illegal base64 data")); continue
            }
            total += d.count
        }
        if total > maxConfigSize { causes.append(("data", "Too long: must have at most \(maxConfigSize) bytes")) }
        if o["type"]?.stringValue == "kubernetes.io/dockerconfigjson", o["data"]?[".dockerconfigjson"] == nil {
            causes.append(("data[.dockerconfigjson]", "Required value"))
        }
        return causes
    }

    private static func podSpecCauses(_ spec: JSONValue?, path: String) -> [(String, String)] {
        guard let spec else { return [("\(path)", "Required value")] }
        var causes: [(String, String)] = []
        let containers = spec["containers"]?.arrayValue ?? []
        if containers.isEmpty { causes.append(("\(path).containers", "Required value")) }
        var names = Set<String>()
        for (kind, list) in [("containers", containers), ("initContainers", spec["initContainers"]?.arrayValue ?? [])] {
            for (i, c) in list.enumerated() {
                let n = c["name"]?.stringValue ?? ""
                if !isDNS1123Label(n) { causes.append(("\(path).\(kind)[\(i)].name", "Invalid value: \"\(n)\": must be a DNS-1123 label")) }
                if !names.insert(n).inserted { causes.append(("\(path).\(kind)[\(i)].name", "Duplicate value: \"\(n)\"")) }
                if (c["image"]?.stringValue ?? "").isEmpty { causes.append(("\(path).\(kind)[\(i)].image", "Required value")) }
            }
        }
        return causes
    }

    private static func serviceCauses(_ o: JSONValue) -> [(String, String)] {
        var causes: [(String, String)] = []
        let type = o["spec"]?["type"]?.stringValue ?? "ClusterIP"
        if !["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"].contains(type) {
            causes.append(("spec.type", "Unsupported value: \"\(type)\""))
        }
        for (i, p) in (o["spec"]?["ports"]?.arrayValue ?? []).enumerated() {
            guard let port = p["port"]?.intValue, (1...65535).contains(port) else {
                causes.append(("spec.ports[\(i)].port", "Invalid value: must be between 1 and 65535, inclusive")); continue
            }
        }
        return causes
    }
}

import Foundation
import OutpostCore

/// Server-side printing (`meta.k8s.io/v1` Table), which `kubectl get` asks for: the same columns
/// kubectl shows against a real cluster for the common kinds, NAME and AGE for the rest.
enum Tables {
    static func age(_ timestamp: String?) -> String {
        guard let timestamp, let date = ISO8601DateFormatter().date(from: timestamp) else { return "<unknown>" }
        let s = max(0, Int(Date().timeIntervalSince(date)))
        if s < 120 { return "\(s)s" }
        if s < 600 { return "\(s / 60)m\(s % 60 == 0 ? "" : "\(s % 60)s")" }
        if s < 3 * 3600 { return "\(s / 60)m" }
        if s < 48 * 3600 { return "\(s / 3600)h" }
        return "\(s / 86400)d"
    }

    static func selectorString(_ selector: JSONValue?) -> String {
        (selector?["matchLabels"]?.objectValue ?? [:]).sorted { $0.key < $1.key }
            .map { "\($0.key)=\($0.value.stringValue ?? "")" }.joined(separator: ",")
    }

    private static func int(_ v: JSONValue?) -> JSONValue { .number(Double(v?.intValue ?? 0)) }

    static func table(_ type: ResourceType, _ items: [JSONValue], revision: Int) -> JSONValue {
        let (columns, cells) = layout(type)
        let defs: [JSONValue] = columns.map { c in
            ["name": .string(c.0), "type": .string(c.1), "format": .string(c.0 == "Name" ? "name" : ""),
             "description": "", "priority": .number(Double(c.2))]
        }
        let rows: [JSONValue] = items.map { ["cells": .array(cells($0)), "object": $0] }
        return ["kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": ["resourceVersion": .string(String(revision))],
                "columnDefinitions": .array(defs), "rows": .array(rows)]
    }

    typealias Column = (String, String, Int)

    private static func layout(_ type: ResourceType) -> ([Column], (JSONValue) -> [JSONValue]) {
        let name: (JSONValue) -> JSONValue = { .string($0.name) }
        let ageCell: (JSONValue) -> JSONValue = { .string(age($0["metadata"]?["creationTimestamp"]?.stringValue)) }
        switch (type.group, type.kind) {
        case ("", "Pod"):
            return ([("Name", "string", 0), ("Ready", "string", 0), ("Status", "string", 0), ("Restarts", "string", 0),
                     ("Age", "string", 0), ("IP", "string", 1), ("Node", "string", 1)], { o in
                let statuses = o["status"]?["containerStatuses"]?.arrayValue ?? []
                let total = o["spec"]?["containers"]?.arrayValue?.count ?? 0
                let ready = statuses.filter { $0["ready"]?.boolValue == true }.count
                let restarts = statuses.reduce(0) { $0 + ($1["restartCount"]?.intValue ?? 0) }
                return [name(o), .string("\(ready)/\(total)"), .string(podStatus(o)), .string(String(restarts)), ageCell(o),
                        o["status"]?["podIP"] ?? "<none>", o["spec"]?["nodeName"] ?? "<none>"]
            })
        case ("apps", "Deployment"):
            return ([("Name", "string", 0), ("Ready", "string", 0), ("Up-to-date", "integer", 0), ("Available", "integer", 0), ("Age", "string", 0)], { o in
                [name(o), .string("\(o["status"]?["readyReplicas"]?.intValue ?? 0)/\(o["spec"]?["replicas"]?.intValue ?? 0)"),
                 int(o["status"]?["updatedReplicas"]), int(o["status"]?["availableReplicas"]), ageCell(o)]
            })
        case ("apps", "ReplicaSet"):
            return ([("Name", "string", 0), ("Desired", "integer", 0), ("Current", "integer", 0), ("Ready", "integer", 0), ("Age", "string", 0)], { o in
                [name(o), int(o["spec"]?["replicas"]), int(o["status"]?["replicas"]), int(o["status"]?["readyReplicas"]), ageCell(o)]
            })
        case ("apps", "DaemonSet"):
            return ([("Name", "string", 0), ("Desired", "integer", 0), ("Current", "integer", 0), ("Ready", "integer", 0),
                     ("Up-to-date", "integer", 0), ("Available", "integer", 0), ("Age", "string", 0)], { o in
                let s = o["status"]
                return [name(o), int(s?["desiredNumberScheduled"]), int(s?["currentNumberScheduled"]), int(s?["numberReady"]),
                        int(s?["updatedNumberScheduled"]), int(s?["numberAvailable"]), ageCell(o)]
            })
        case ("batch", "Job"):
            return ([("Name", "string", 0), ("Status", "string", 0), ("Completions", "string", 0), ("Age", "string", 0)], { o in
                let conditions = o["status"]?["conditions"]?.arrayValue ?? []
                let status = conditions.first { $0["status"]?.stringValue == "True" && ["Complete", "Failed"].contains($0["type"]?.stringValue ?? "") }?["type"]?.stringValue ?? "Running"
                return [name(o), .string(status), .string("\(o["status"]?["succeeded"]?.intValue ?? 0)/\(o["spec"]?["completions"]?.intValue ?? 1)"), ageCell(o)]
            })
        case ("", "Service"):
            return ([("Name", "string", 0), ("Type", "string", 0), ("Cluster-IP", "string", 0), ("External-IP", "string", 0),
                     ("Port(s)", "string", 0), ("Age", "string", 0)], { o in
                let ports = (o["spec"]?["ports"]?.arrayValue ?? []).map { p in
                    "\(p["port"]?.intValue ?? 0)\(p["nodePort"]?.intValue.map { ":\($0)" } ?? "")/\(p["protocol"]?.stringValue ?? "TCP")"
                }.joined(separator: ",")
                return [name(o), o["spec"]?["type"] ?? "ClusterIP", o["spec"]?["clusterIP"] ?? "<none>", "<none>",
                        .string(ports.isEmpty ? "<none>" : ports), ageCell(o)]
            })
        case ("", "Node"):
            return ([("Name", "string", 0), ("Status", "string", 0), ("Roles", "string", 0), ("Age", "string", 0), ("Version", "string", 0)], { o in
                let ready = (o["status"]?["conditions"]?.arrayValue ?? []).first { $0["type"]?.stringValue == "Ready" }?["status"]?.stringValue == "True"
                let roles = o.labels.keys.filter { $0.hasPrefix("node-role.kubernetes.io/") }.map { String($0.dropFirst(24)) }.sorted()
                return [name(o), .string(ready ? "Ready" : "NotReady"), .string(roles.isEmpty ? "<none>" : roles.joined(separator: ",")),
                        ageCell(o), o["status"]?["nodeInfo"]?["kubeletVersion"] ?? ""]
            })
        case ("", "Namespace"):
            return ([("Name", "string", 0), ("Status", "string", 0), ("Age", "string", 0)], { o in
                [name(o), o["status"]?["phase"] ?? "Active", ageCell(o)]
            })
        case ("", "ConfigMap"):
            return ([("Name", "string", 0), ("Data", "integer", 0), ("Age", "string", 0)], { o in
                [name(o), .number(Double((o["data"]?.objectValue?.count ?? 0) + (o["binaryData"]?.objectValue?.count ?? 0))), ageCell(o)]
            })
        case ("", "Secret"):
            return ([("Name", "string", 0), ("Type", "string", 0), ("Data", "integer", 0), ("Age", "string", 0)], { o in
                [name(o), o["type"] ?? "Opaque", .number(Double(o["data"]?.objectValue?.count ?? 0)), ageCell(o)]
            })
        case ("", "Event"):
            return ([("Last Seen", "string", 0), ("Type", "string", 0), ("Reason", "string", 0), ("Object", "string", 0), ("Message", "string", 0)], { o in
                [.string(age(o["lastTimestamp"]?.stringValue ?? o["metadata"]?["creationTimestamp"]?.stringValue)), o["type"] ?? "",
                 o["reason"] ?? "", .string("\((o["involvedObject"]?["kind"]?.stringValue ?? "").lowercased())/\(o["involvedObject"]?["name"]?.stringValue ?? "")"),
                 o["message"] ?? ""]
            })
        default:
            return ([("Name", "string", 0), ("Age", "string", 0)], { o in [name(o), ageCell(o)] })
        }
    }

    /// The STATUS column kubectl shows for a pod (a waiting or terminated reason wins over the phase).
    static func podStatus(_ o: JSONValue) -> String {
        if o["metadata"]?["deletionTimestamp"] != nil { return "Terminating" }
        for key in ["initContainerStatuses", "containerStatuses"] {
            for s in o["status"]?[key]?.arrayValue ?? [] {
                if let r = s["state"]?["waiting"]?["reason"]?.stringValue, r != "ContainerCreating" || key == "containerStatuses" {
                    return key == "initContainerStatuses" ? "Init:\(r)" : r
                }
                if let r = s["state"]?["terminated"]?["reason"]?.stringValue, r != "Completed" || o["status"]?["phase"]?.stringValue != "Running" {
                    if key == "containerStatuses" && o["status"]?["phase"]?.stringValue == "Running" { continue }
                    if key == "containerStatuses" { return r }
                }
            }
        }
        return o["status"]?["reason"]?.stringValue ?? o["status"]?["phase"]?.stringValue ?? "Pending"
    }
}

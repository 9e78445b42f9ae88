import Foundation
import OutpostCore

/// Kubernetes' defaulting for the built-in kinds the simulator runs (pods, workloads, services, …), so
/// objects read back the way they would from a real cluster and controllers can rely on the fields.
enum Defaults {
    static func timestamp(_ date: Date = Date()) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: date)
    }

    static func apply(_ object: inout JSONValue, type: ResourceType) {
        switch (type.group, type.kind) {
        case ("", "Pod"):
            var spec = object["spec"] ?? [:]
            podSpec(&spec)
            object["spec"] = spec
            if object["status"] == nil || object["status"]?["phase"] == nil {
                object["status"] = ["phase": "Pending", "qosClass": "BestEffort"]
            }
        case ("apps", "Deployment"), ("apps", "ReplicaSet"), ("apps", "StatefulSet"):
            defaultValue(&object, ["spec", "replicas"], 1)
            defaultValue(&object, ["spec", "revisionHistoryLimit"], 10)
            if type.kind == "Deployment" {
                defaultValue(&object, ["spec", "progressDeadlineSeconds"], 600)
                defaultValue(&object, ["spec", "strategy"], ["type": "RollingUpdate", "rollingUpdate": ["maxSurge": "25%", "maxUnavailable": "25%"]])
            }
            template(&object)
        case ("apps", "DaemonSet"):
            defaultValue(&object, ["spec", "updateStrategy"], ["type": "RollingUpdate", "rollingUpdate": ["maxUnavailable": 1, "maxSurge": 0]])
            defaultValue(&object, ["spec", "revisionHistoryLimit"], 10)
            template(&object)
        case ("batch", "Job"):
            defaultValue(&object, ["spec", "completions"], 1)
            defaultValue(&object, ["spec", "parallelism"], 1)
            defaultValue(&object, ["spec", "backoffLimit"], 6)
            defaultValue(&object, ["spec", "completionMode"], "NonIndexed")
            defaultValue(&object, ["spec", "suspend"], false)
            if object["spec"]?["selector"] == nil, !object.uid.isEmpty {
                let uid = JSONValue.string(object.uid)
                object.set(["spec", "selector"], ["matchLabels": ["batch.kubernetes.io/controller-uid": uid]])
                object.set(["spec", "template", "metadata", "labels", "batch.kubernetes.io/controller-uid"], uid)
                object.set(["spec", "template", "metadata", "labels", "controller-uid"], uid)
                object.set(["spec", "template", "metadata", "labels", "batch.kubernetes.io/job-name"], .string(object.name))
                object.set(["spec", "template", "metadata", "labels", "job-name"], .string(object.name))
            }
            template(&object)
        case ("", "Service"):
            defaultValue(&object, ["spec", "type"], "ClusterIP")
            defaultValue(&object, ["spec", "sessionAffinity"], "None")
            if case .array(let ports)? = object["spec"]?["ports"] {
                object.set(["spec", "ports"], .array(ports.map { p in
                    var p = p
                    if p["protocol"] == nil { p["protocol"] = "TCP" }
                    if p["targetPort"] == nil { p["targetPort"] = p["port"] }
                    return p
                }))
            }
        case ("", "Namespace"):
            object.set(["metadata", "labels", "kubernetes.io/metadata.name"], .string(object.name))
            defaultValue(&object, ["spec", "finalizers"], ["kubernetes"])
            if object["status"]?["phase"] == nil { object["status"] = ["phase": "Active"] }
        case ("", "Secret"):
            defaultValue(&object, ["type"], "Opaque")
            if let sd = object["stringData"]?.objectValue {
                for (k, v) in sd { object.set(["data", k], .string(Data((v.stringValue ?? "").utf8).base64EncodedString())) }
                object["stringData"] = nil
            }
        case ("", "PersistentVolumeClaim"):
            object["status"] = ["phase": "Bound", "accessModes": object["spec"]?["accessModes"] ?? ["ReadWriteOnce"],
                                "capacity": ["storage": object["spec"]?["resources"]?["requests"]?["storage"] ?? "1Gi"]]
            defaultValue(&object, ["spec", "volumeName"], .string("pvc-" + object.uid))
            defaultValue(&object, ["spec", "volumeMode"], "Filesystem")
        default:
            break
        }
    }

    private static func defaultValue(_ o: inout JSONValue, _ path: [String], _ v: JSONValue) {
        if o.at(path) == nil || o.at(path)!.isNull { o.set(path, v) }
    }

    private static func template(_ object: inout JSONValue) {
        guard var spec = object["spec"]?["template"]?["spec"] else { return }
        podSpec(&spec)
        object.set(["spec", "template", "spec"], spec)
    }

    static func podSpec(_ spec: inout JSONValue) {
        defaultValue(&spec, ["restartPolicy"], "Always")
        defaultValue(&spec, ["dnsPolicy"], "ClusterFirst")
        defaultValue(&spec, ["schedulerName"], "default-scheduler")
        defaultValue(&spec, ["terminationGracePeriodSeconds"], 30)
        defaultValue(&spec, ["securityContext"], [:])
        if spec["serviceAccountName"] == nil { spec["serviceAccountName"] = spec["serviceAccount"] ?? "default" }
        for key in ["containers", "initContainers"] {
            guard case .array(let list)? = spec[key] else { continue }
            spec[key] = .array(list.map { c in
                var c = c
                if c["imagePullPolicy"] == nil {
                    let image = c["image"]?.stringValue ?? ""
                    let lastComponent = image.split(separator: "/").last ?? ""
                    let latest = !image.contains("@") && (!lastComponent.contains(":") || image.hasSuffix(":latest"))
                    c["imagePullPolicy"] = latest ? "Always" : "IfNotPresent"
                }
                if c["terminationMessagePath"] == nil { c["terminationMessagePath"] = "/dev/termination-log" }
                if c["terminationMessagePolicy"] == nil { c["terminationMessagePolicy"] = "File" }
                if c["resources"] == nil { c["resources"] = [:] }
                if case .array(let ports)? = c["ports"] {
                    c["ports"] = .array(ports.map { p in var p = p; if p["protocol"] == nil { p["protocol"] = "TCP" }; return p })
                }
                return c
            })
        }
        if case .array(let vols)? = spec["volumes"] {
            spec["volumes"] = .array(vols.map { v in
                var v = v
                for k in ["configMap", "secret"] where v[k] != nil {
                    if v[k]?["defaultMode"] == nil { v[k]?["defaultMode"] = 420 }
                }
                return v
            })
        }
    }
}

import Foundation

/// One rendered document and where it came from (`# Source:` path).
public struct Manifest: Sendable {
    public let path: String
    public let content: String
    public let kind: String
}

/// A rendered hook document (`helm.sh/hook` annotation) with its events.
public struct Hook: Sendable {
    public let path: String
    public let manifest: String
    public let kind: String
    public let name: String
    public let events: [String]
    public let weight: Int
    public var isTest: Bool { events.contains("test") }
}

/// Helm's releaseutil: splits rendered files into documents, separates hooks, sorts by kind.
enum ManifestSorter {
    static let installOrder = ["PriorityClass", "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodSecurityPolicy",
        "PodDisruptionBudget", "ServiceAccount", "Secret", "SecretList", "ConfigMap", "StorageClass", "PersistentVolume",
        "PersistentVolumeClaim", "CustomResourceDefinition", "ClusterRole", "ClusterRoleList", "ClusterRoleBinding",
        "ClusterRoleBindingList", "Role", "RoleList", "RoleBinding", "RoleBindingList", "Service", "DaemonSet", "Pod",
        "ReplicationController", "ReplicaSet", "Deployment", "HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob",
        "IngressClass", "Ingress", "APIService", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"]
    static let order: [String: Int] = Dictionary(uniqueKeysWithValues: installOrder.enumerated().map { ($1, $0) })
    static let hookEvents: Set<String> = ["pre-install", "post-install", "pre-delete", "post-delete", "pre-upgrade",
        "post-upgrade", "pre-rollback", "post-rollback", "test"]

    /// SplitManifests: documents separated by `(?m)^---[ \t]*`, each with leading whitespace trimmed.
    static func split(_ big: String) -> [String] {
        let b = Array(big.utf8)
        var start = 0
        while start < b.count && isSpace(b[start]) { start += 1 }
        var docs: [String] = []
        var docStart = start
        var i = start
        func emit(_ lo: Int, _ hi: Int) {
            var l = lo
            while l < hi && isSpace(b[l]) { l += 1 }
            if l < hi { docs.append(String(decoding: b[l..<hi], as: UTF8.self)) }
        }
        while i < b.count {
            if (i == start || b[i - 1] == 10) && i + 2 < b.count + 0 && b[i] == 45 && b[i + 1] == 45 && b[i + 2] == 45 {
                emit(docStart, i)
                var j = i + 3
                while j < b.count && (b[j] == 32 || b[j] == 9) { j += 1 }
                docStart = j
                i = j
                continue
            }
            i += 1
        }
        emit(docStart, b.count)
        return docs
    }

    static func isSpace(_ c: UInt8) -> Bool { c == 32 || c == 9 || c == 10 || c == 13 || c == 11 || c == 12 }

    static func less(_ a: String, _ b: String) -> Bool {
        let oa = order[a], ob = order[b]
        switch (oa, ob) {
        case (nil, nil): return a < b
        case (nil, _): return false
        case (_, nil): return true
        case (let x?, let y?): return x < y
        }
    }

    static func stableSort<T>(_ items: [T], kind: (T) -> String) -> [T] {
        items.enumerated().sorted { x, y in
            let ka = kind(x.element), kb = kind(y.element)
            if less(ka, kb) { return true }
            if less(kb, ka) { return false }
            return x.offset < y.offset
        }.map(\.element)
    }

    static func sort(files: [String: String]) throws -> (hooks: [Hook], manifests: [Manifest]) {
        var hooks: [Hook] = []
        var generic: [Manifest] = []
        for path in files.keys.sorted() {
            let content = files[path]!
            if MiscPath.base(path).hasPrefix("_") { continue }
            if content.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { continue }
            for doc in split(content) {
                let head: Value
                do { head = try YAMLCodec.decode(doc) } catch {
                    throw ChartError.output(message: "YAML parse error on \(path): error converting YAML to JSON: \(error)")
                }
                let m = head.mapValue ?? [:]
                let kind = m["kind"]?.stringValue ?? ""
                let meta = m["metadata"]?.mapValue
                let annotations = meta?["annotations"]?.mapValue ?? [:]
                guard let hookTypes = annotations["helm.sh/hook"]?.stringValue, !annotations.isEmpty else {
                    generic.append(Manifest(path: path, content: doc, kind: kind))
                    continue
                }
                var events: [String] = []
                var unknown = false
                for t in hookTypes.split(separator: ",", omittingEmptySubsequences: false) {
                    var e = t.trimmingCharacters(in: .whitespaces).lowercased()
                    if e == "test-success" { e = "test" }
                    if !hookEvents.contains(e) { unknown = true; break }
                    events.append(e)
                }
                if unknown { continue }
                let weight = Int(annotations["helm.sh/hook-weight"]?.stringValue ?? "") ?? 0
                hooks.append(Hook(path: path, manifest: doc, kind: kind, name: meta?["name"]?.stringValue ?? "", events: events, weight: weight))
            }
        }
        return (stableSort(hooks, kind: \.kind), stableSort(generic, kind: \.kind))
    }
}

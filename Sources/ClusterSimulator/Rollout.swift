import Foundation
import OutpostCore

/// The Deployment controller's arithmetic, as Kubernetes does it (pure, so it is tested without a
/// cluster): maxSurge and maxUnavailable as ints or percentages (surge rounds up, unavailable rounds
/// down, both zero means one unavailable), how far the new ReplicaSet may grow, which old ReplicaSets
/// shrink and by how much, and the Progressing/Available conditions `kubectl rollout status` reads.
enum Rollout {
    /// A ReplicaSet as the arithmetic sees it.
    struct ReplicaSetState: Sendable, Equatable {
        var name: String
        /// spec.replicas
        var replicas: Int
        /// status.availableReplicas
        var available: Int
        init(name: String, replicas: Int, available: Int) { self.name = name; self.replicas = replicas; self.available = available }
    }

    /// An int-or-percent value (`2`, `"25%"`, `"3"`) of `total`; nil when malformed.
    static func scaled(_ value: JSONValue?, total: Int, roundUp: Bool) -> Int? {
        guard let value else { return nil }
        if let n = value.intValue { return n }
        guard let s = value.stringValue else { return nil }
        if s.hasSuffix("%"), let p = Int(s.dropLast()) {
            let exact = Double(p) * Double(total) / 100
            return Int(roundUp ? exact.rounded(.up) : exact.rounded(.down))
        }
        return Int(s)
    }

    /// (maxSurge, maxUnavailable) of a RollingUpdate strategy for `replicas` desired pods.
    static func fenceposts(strategy: JSONValue?, replicas: Int) -> (surge: Int, unavailable: Int) {
        let rolling = strategy?["rollingUpdate"]
        let surge = scaled(rolling?["maxSurge"] ?? "25%", total: replicas, roundUp: true) ?? 0
        let unavailable = scaled(rolling?["maxUnavailable"] ?? "25%", total: replicas, roundUp: false) ?? 0
        if surge == 0 && unavailable == 0 { return (0, 1) }
        return (max(0, surge), max(0, unavailable))
    }

    /// The size the new ReplicaSet may grow to now (its current size when the surge budget is spent):
    /// all ReplicaSets together stay within `desired + surge`.
    static func newReplicaSetSize(desired: Int, surge: Int, newReplicas: Int, oldReplicas: [Int]) -> Int {
        if newReplicas >= desired { return desired }
        let current = newReplicas + oldReplicas.reduce(0, +)
        let maxTotal = desired + surge
        guard current < maxTotal else { return newReplicas }
        return newReplicas + min(maxTotal - current, desired - newReplicas)
    }

    /// New sizes for old ReplicaSets (oldest first): first their unavailable pods go, then available
    /// ones, never taking availability below `desired - unavailable` (counting the new set's
    /// unavailable pods against the budget). Only changed sets are returned.
    static func scaleDownOld(desired: Int, unavailable: Int, new: ReplicaSetState, old: [ReplicaSetState]) -> [String: Int] {
        var old = old
        let oldCount = old.reduce(0) { $0 + $1.replicas }
        guard oldCount > 0 else { return [:] }
        let maxUnavailable = min(unavailable, desired)
        let minAvailable = desired - maxUnavailable
        let allCount = oldCount + new.replicas
        let newUnavailable = max(0, new.replicas - new.available)
        let maxScaledDown = allCount - minAvailable - newUnavailable
        guard maxScaledDown > 0 else { return [:] }
        var changed: [String: Int] = [:]
        // Unhealthy replicas first.
        var scaled = 0
        for i in old.indices {
            if scaled >= maxScaledDown { break }
            let unhealthy = old[i].replicas - min(old[i].available, old[i].replicas)
            guard old[i].replicas > 0, unhealthy > 0 else { continue }
            let n = min(maxScaledDown - scaled, unhealthy)
            old[i].replicas -= n
            old[i].available = min(old[i].available, old[i].replicas)
            changed[old[i].name] = old[i].replicas
            scaled += n
        }
        // Then available ones, as far as availability allows.
        let availableCount = new.available + old.reduce(0) { $0 + $1.available }
        guard availableCount > minAvailable else { return changed }
        let budget = availableCount - minAvailable
        var done = 0
        for i in old.indices {
            if done >= budget { break }
            guard old[i].replicas > 0 else { continue }
            let n = min(old[i].replicas, budget - done)
            old[i].replicas -= n
            changed[old[i].name] = old[i].replicas
            done += n
        }
        return changed
    }

    /// The Progressing condition after a pass: NewReplicaSetAvailable once complete, ReplicaSetUpdated
    /// (with a fresh lastUpdateTime) whenever the rollout moved, ProgressDeadlineExceeded once it has not
    /// moved for `deadline` seconds, else unchanged.
    static func progressing(previous: JSONValue?, newRS: String, complete: Bool, progressed: Bool, created: Bool,
                            deadline: Int?, paused: Bool, now: Date) -> JSONValue {
        let stamp = JSONValue.string(Defaults.timestamp(now))
        func condition(_ status: String, _ reason: String, _ message: String, updated: Bool) -> JSONValue {
            let same = previous?["status"]?.stringValue == status
            let sameReason = same && previous?["reason"]?.stringValue == reason
            return ["type": "Progressing", "status": .string(status), "reason": .string(reason), "message": .string(message),
                    "lastUpdateTime": updated || !sameReason ? stamp : (previous?["lastUpdateTime"] ?? stamp),
                    "lastTransitionTime": same ? (previous?["lastTransitionTime"] ?? stamp) : stamp]
        }
        if complete {
            return condition("True", "NewReplicaSetAvailable", "ReplicaSet \"\(newRS)\" has successfully progressed.", updated: false)
        }
        if created {
            return condition("True", "NewReplicaSetCreated", "Created new replica set \"\(newRS)\"", updated: true)
        }
        if progressed || previous == nil {
            return condition("True", "ReplicaSetUpdated", "ReplicaSet \"\(newRS)\" is progressing.", updated: true)
        }
        let reason = previous?["reason"]?.stringValue ?? ""
        if !paused, let deadline, reason != "NewReplicaSetAvailable", reason != "ProgressDeadlineExceeded",
           let last = previous?["lastUpdateTime"]?.stringValue.flatMap(Self.date),
           now.timeIntervalSince(last) > Double(deadline) {
            return condition("False", "ProgressDeadlineExceeded", "ReplicaSet \"\(newRS)\" has timed out progressing.", updated: true)
        }
        return previous ?? condition("True", "ReplicaSetUpdated", "ReplicaSet \"\(newRS)\" is progressing.", updated: true)
    }

    /// The Available condition: at least `desired - maxUnavailable` pods available.
    static func available(previous: JSONValue?, available: Int, minimum: Int, now: Date) -> JSONValue {
        let ok = available >= minimum
        let status: JSONValue = ok ? "True" : "False"
        let stamp = JSONValue.string(Defaults.timestamp(now))
        let same = previous?["status"] == status
        return ["type": "Available", "status": status,
                "reason": ok ? "MinimumReplicasAvailable" : "MinimumReplicasUnavailable",
                "message": ok ? "Deployment has minimum availability." : "Deployment does not have minimum availability.",
                "lastUpdateTime": same ? (previous?["lastUpdateTime"] ?? stamp) : stamp,
                "lastTransitionTime": same ? (previous?["lastTransitionTime"] ?? stamp) : stamp]
    }

    static func date(_ s: String) -> Date? {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.date(from: s)
    }
}

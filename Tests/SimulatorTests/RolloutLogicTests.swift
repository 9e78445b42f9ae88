@testable import ClusterSimulator
import Foundation
import OutpostCore
import Testing

/// The Deployment controller's arithmetic without a cluster: Kubernetes' rounding of maxSurge (up) and
/// maxUnavailable (down), the surge budget of the new ReplicaSet, the availability budget of old ones,
/// the progress deadline, and the Endpoints a service gets for pods with named ports.
@Suite struct RolloutLogicTests {
    func fp(strategy: JSONValue?, replicas: Int) -> [Int] {
        let f = Rollout.fenceposts(strategy: strategy, replicas: replicas)
        return [f.surge, f.unavailable]
    }

    @Test func surgeRoundsUpAndUnavailableRoundsDown() {
        let strategy: JSONValue = ["type": "RollingUpdate", "rollingUpdate": ["maxSurge": "25%", "maxUnavailable": "25%"]]
        #expect(fp(strategy: strategy, replicas: 10) == [3, 2])
        #expect(fp(strategy: strategy, replicas: 4) == [1, 1])
        #expect(fp(strategy: strategy, replicas: 1) == [1, 0])
        #expect(fp(strategy: ["rollingUpdate": ["maxSurge": 2, "maxUnavailable": "50%"]], replicas: 3) == [2, 1])
        // Both zero would never make progress: Kubernetes then allows one unavailable pod.
        #expect(fp(strategy: ["rollingUpdate": ["maxSurge": 0, "maxUnavailable": "10%"]], replicas: 5) == [0, 1])
        // Defaults are 25% each.
        #expect(fp(strategy: nil, replicas: 8) == [2, 2])
        #expect(Rollout.scaled("7", total: 100, roundUp: true) == 7)
        #expect(Rollout.scaled("x%", total: 100, roundUp: true) == nil)
    }

    @Test func theNewReplicaSetGrowsWithinTheSurge() {
        // 3 desired, surge 1: a fresh rollout may add one pod beside the three old ones.
        #expect(Rollout.newReplicaSetSize(desired: 3, surge: 1, newReplicas: 0, oldReplicas: [3]) == 1)
        // Budget spent: no growth until old pods go.
        #expect(Rollout.newReplicaSetSize(desired: 3, surge: 1, newReplicas: 1, oldReplicas: [3]) == 1)
        #expect(Rollout.newReplicaSetSize(desired: 3, surge: 1, newReplicas: 1, oldReplicas: [2]) == 2)
        // Never beyond desired; shrinks when over.
        #expect(Rollout.newReplicaSetSize(desired: 3, surge: 5, newReplicas: 0, oldReplicas: [3]) == 3)
        #expect(Rollout.newReplicaSetSize(desired: 2, surge: 1, newReplicas: 4, oldReplicas: []) == 2)
    }

    @Test func oldReplicaSetsShrinkWithinAvailability() {
        typealias RS = Rollout.ReplicaSetState
        // maxUnavailable 0: old pods go only as new ones become available.
        #expect(Rollout.scaleDownOld(desired: 3, unavailable: 0, new: RS(name: "new", replicas: 1, available: 0),
                                     old: [RS(name: "old", replicas: 3, available: 3)]).isEmpty)
        #expect(Rollout.scaleDownOld(desired: 3, unavailable: 0, new: RS(name: "new", replicas: 1, available: 1),
                                     old: [RS(name: "old", replicas: 3, available: 3)]) == ["old": 2])
        // maxUnavailable 1: one old pod may go at once.
        #expect(Rollout.scaleDownOld(desired: 3, unavailable: 1, new: RS(name: "new", replicas: 1, available: 0),
                                     old: [RS(name: "old", replicas: 3, available: 3)]) == ["old": 2])
        // Unavailable old pods go first, oldest set first.
        #expect(Rollout.scaleDownOld(desired: 4, unavailable: 0, new: RS(name: "new", replicas: 1, available: 0),
                                     old: [RS(name: "older", replicas: 2, available: 0), RS(name: "old", replicas: 3, available: 3)]) == ["older": 1])
    }

    @Test func progressStopsAtTheDeadline() {
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        let first = Rollout.progressing(previous: nil, newRS: "web-1", complete: false, progressed: false, created: true,
                                        deadline: 5, paused: false, now: start)
        #expect(first["reason"] == "NewReplicaSetCreated")
        let waiting = Rollout.progressing(previous: first, newRS: "web-1", complete: false, progressed: false, created: false,
                                          deadline: 5, paused: false, now: start.addingTimeInterval(3))
        #expect(waiting == first)
        let late = Rollout.progressing(previous: first, newRS: "web-1", complete: false, progressed: false, created: false,
                                       deadline: 5, paused: false, now: start.addingTimeInterval(6))
        #expect(late["status"] == "False")
        #expect(late["reason"] == "ProgressDeadlineExceeded")
        let paused = Rollout.progressing(previous: first, newRS: "web-1", complete: false, progressed: false, created: false,
                                         deadline: 5, paused: true, now: start.addingTimeInterval(60))
        #expect(paused["status"] == "True")
        let done = Rollout.progressing(previous: late, newRS: "web-1", complete: true, progressed: true, created: false,
                                       deadline: 5, paused: false, now: start.addingTimeInterval(70))
        #expect(done["reason"] == "NewReplicaSetAvailable")
        #expect(done["status"] == "True")
    }

    @Test func endpointsResolveNamedTargetPortsPerPod() {
        let service: JSONValue = ["spec": ["ports": [["name": "web", "port": 8080, "targetPort": "http"], ["name": "raw", "port": 9000, "targetPort": 9100]]]]
        func pod(_ name: String, _ ip: String, port: Int, ready: Bool, container: Int = 0) -> JSONValue {
            var containers: [JSONValue] = [["name": "side"]]
            containers.insert(["name": "main", "ports": [["name": "http", "containerPort": .number(Double(port))]]], at: container)
            return ["metadata": ["name": .string(name), "uid": .string(name)], "spec": ["containers": .array(containers)],
                    "status": ["podIP": .string(ip), "phase": "Running",
                               "conditions": [["type": "Ready", "status": ready ? "True" : "False"]]]]
        }
        let subsets = Controllers.endpointSubsets(service: service, pods: [
            pod("a", "10.88.0.2", port: 80, ready: true), pod("b", "10.88.0.3", port: 80, ready: false, container: 1),
            pod("c", "10.88.0.4", port: 8000, ready: true),
        ]).arrayValue ?? []
        #expect(subsets.count == 2)
        #expect(subsets[0]["ports"] == [["name": "web", "port": 80, "protocol": "TCP"], ["name": "raw", "port": 9100, "protocol": "TCP"]])
        #expect(subsets[0]["addresses"]?[0]?["ip"] == "10.88.0.2")
        #expect(subsets[0]["notReadyAddresses"]?[0]?["ip"] == "10.88.0.3")
        #expect(subsets[1]["ports"]?[0]?["port"] == 8000)
        #expect(subsets[1]["addresses"]?[0]?["ip"] == "10.88.0.4")
    }
}

@testable import ClusterSimulator
import Foundation
import OutpostCore
import Testing

@Suite struct JSONPatchTests {
    let doc: JSONValue = ["metadata": ["name": "web", "labels": ["a": "1"]],
                          "spec": ["containers": [["name": "c", "image": "busybox"]]]]

    @Test func appliesRFC6902Operations() throws {
        let patch: JSONValue = [
            ["op": "replace", "path": "/spec/containers/0/image", "value": "registry.local/busybox"],
            ["op": "add", "path": "/metadata/labels/b~1c", "value": "2"],
            ["op": "add", "path": "/spec/containers/-", "value": ["name": "d", "image": "x"]],
            ["op": "remove", "path": "/metadata/labels/a"],
            ["op": "copy", "from": "/metadata/name", "path": "/metadata/generateName"],
            ["op": "move", "from": "/metadata/generateName", "path": "/metadata/alias"],
            ["op": "test", "path": "/metadata/alias", "value": "web"],
        ]
        let out = try JSONPatch.apply(patch, to: doc)
        #expect(out["spec"]?["containers"]?[0]?["image"] == "registry.local/busybox")
        #expect(out["spec"]?["containers"]?[1]?["name"] == "d")
        #expect(out["metadata"]?["labels"] == ["b/c": "2"])
        #expect(out["metadata"]?["alias"] == "web")
        #expect(out["metadata"]?["generateName"] == nil)
    }

    @Test func failsWithTheOperationIndex() {
        #expect(throws: JSONPatch.Failure.pathNotFound(index: 1, path: "/nope/x")) {
            try JSONPatch.apply([["op": "add", "path": "/metadata/x", "value": 1], ["op": "replace", "path": "/nope/x", "value": 1]], to: doc)
        }
        #expect(throws: JSONPatch.Failure.testFailed(index: 0, path: "/metadata/name")) {
            try JSONPatch.apply([["op": "test", "path": "/metadata/name", "value": "other"]], to: doc)
        }
        #expect(throws: JSONPatch.Failure.self) { try JSONPatch.apply(["op": "add"], to: doc) }
    }

    @Test func mergePatchDeletesWithNull() {
        let out = JSONMergePatch.apply(["metadata": ["labels": ["a": nil, "z": "9"]], "spec": nil], to: doc)
        #expect(out["metadata"]?["labels"] == ["z": "9"])
        #expect(out["spec"] == nil)
    }

    @Test func strategicMergeMergesContainersByName() {
        let live: JSONValue = ["spec": ["containers": [["name": "a", "image": "1"], ["name": "b", "image": "2"]]]]
        let patch: JSONValue = ["spec": ["containers": [["name": "b", "image": "3"], ["name": "a", "$patch": "delete"]],
                                         "$setElementOrder/containers": [["name": "b"]]]]
        let out = StrategicMerge.apply(patch, to: live)
        #expect(out["spec"]?["containers"] == [["name": "b", "image": "3"]])
    }
}

@Suite struct ServerSideApplyTests {
    @Test func conflictsUnlessForcedAndRemovesDroppedFields() {
        let live: JSONValue = ["apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": "x"], "data": ["a": "1", "b": "2"]]
        let (first, c1) = ServerSideApply.apply(config: ["apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": "x"], "data": ["a": "1", "b": "2"]],
                                                live: live, manager: "one", force: false, now: "t")
        #expect(c1.isEmpty)
        let (none, conflicts) = ServerSideApply.apply(config: ["apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": "x"], "data": ["a": "changed"]],
                                                      live: first!, manager: "two", force: false, now: "t")
        #expect(none == nil)
        #expect(conflicts.map(\.field) == [".data.a"])
        #expect(conflicts.first?.manager == "one")
        let (forced, _) = ServerSideApply.apply(config: ["apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": "x"], "data": ["a": "changed"]],
                                                live: first!, manager: "two", force: true, now: "t")
        #expect(forced?["data"]?["a"] == "changed")
        // Manager one stops applying b: it is removed, since nobody else owns it.
        let (dropped, _) = ServerSideApply.apply(config: ["apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": "x"], "data": [:]],
                                                 live: forced!, manager: "one", force: false, now: "t")
        #expect(dropped?["data"]?["b"] == nil)
        #expect(dropped?["data"]?["a"] == "changed")
    }
}

@Suite struct SelectorAndValidationTests {
    @Test func labelSelectors() throws {
        let labels = ["app": "web", "tier": "front", "env": "prod"]
        #expect(try LabelSelector(parsing: "app=web,tier!=db").matches(labels))
        #expect(try LabelSelector(parsing: "env in (prod, staging),!legacy").matches(labels))
        #expect(try !LabelSelector(parsing: "env notin (prod)").matches(labels))
        #expect(try !LabelSelector(parsing: "missing").matches(labels))
        #expect(throws: SimulatorError.self) { try LabelSelector(parsing: "env in prod") }
        #expect(LabelSelector(structured: ["matchExpressions": [["key": "tier", "operator": "In", "values": ["front"]]]]).matches(labels))
        #expect(!LabelSelector(structured: nil).matches(labels))
    }

    @Test func fieldSelectors() throws {
        let pod: JSONValue = ["metadata": ["name": "p"], "spec": ["nodeName": "n1"], "status": ["phase": "Running"]]
        #expect(try FieldSelector(parsing: "metadata.name=p,spec.nodeName=n1").matches(pod))
        #expect(try !FieldSelector(parsing: "status.phase!=Running").matches(pod))
    }

    @Test func rejectsBadNamesAndOversizedConfigMaps() {
        let cm = ResourceType.core("ConfigMap", "configmaps")
        func code(_ o: JSONValue, _ t: ResourceType) -> Int? {
            do { try Validation.validate(o, type: t); return nil } catch { return error.httpCode }
        }
        #expect(code(["metadata": ["name": "Bad_Name"]], cm) == 422)
        #expect(code(["metadata": ["name": "ok.name-1"]], cm) == nil)
        #expect(code(["metadata": ["name": "a.b"]], .core("Namespace", "namespaces", namespaced: false)) == 422)
        let big = String(repeating: "x", count: Validation.maxConfigSize)
        #expect(code(["metadata": ["name": "big"], "data": ["k": .string(big)]], cm) == 422)
        #expect(code(["metadata": ["name": "s"], "data": ["k": "not base64!"]], .core("Secret", "secrets")) == 422)
    }

    @Test func imageNamesFollowKubernetesRules() {
        #expect(PodmanRuntime.normalize("busybox") == "docker.io/library/busybox:latest")
        #expect(PodmanRuntime.normalize("127.0.0.1:5000/app") == "127.0.0.1:5000/app:latest")
        #expect(PodmanRuntime.normalize("ghcr.io/x/y:1.0") == "ghcr.io/x/y:1.0")
        #expect(PodmanRuntime.normalize("user/app@sha256:abc") == "docker.io/user/app@sha256:abc")
    }
}

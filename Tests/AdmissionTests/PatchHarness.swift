import Admission
import Foundation
import OutpostCore
import Testing
import TestSupport

/// Runs a review through the mutator as bytes and applies the returned patch with Python's `jsonpatch`
/// (an independent RFC 6902 implementation), so tests compare whole objects, not our own patch reading.
enum PatchHarness {
    struct Outcome {
        let response: JSONValue
        let patch: JSONValue?
        let patched: JSONValue?
        var allowed: Bool { response["response"]?["allowed"]?.boolValue ?? false }
        var message: String { response["response"]?["status"]?["message"]?.stringValue ?? "" }
    }

    static func review(object: JSONValue, uid: String = "uid-1", operation: String = "CREATE", kind: String = "Pod",
                       subResource: String? = nil, apiVersion: String = "admission.k8s.io/v1") -> JSONValue {
        var request: [String: JSONValue] = [
            "uid": .string(uid), "operation": .string(operation), "namespace": "demo",
            "kind": ["group": "", "version": "v1", "kind": .string(kind)],
            "resource": ["group": "", "version": "v1", "resource": "pods"],
            "object": object,
        ]
        if let subResource { request["subResource"] = .string(subResource) }
        return ["apiVersion": .string(apiVersion), "kind": "AdmissionReview", "request": .object(request)]
    }

    static func run(_ hook: Hook, _ object: JSONValue, config: AgentConfig = AgentConfig(), operation: String = "CREATE",
                    kind: String = "Pod", subResource: String? = nil, apiVersion: String = "admission.k8s.io/v1",
                    namespaceLabels: [String: String] = [:]) throws -> Outcome {
        let body = try review(object: object, operation: operation, kind: kind, subResource: subResource, apiVersion: apiVersion).encoded()
        let out = try JSONValue.parse(Mutator(config: config).review(hook, body: body, namespaceLabels: namespaceLabels))
        #expect(out["apiVersion"]?.stringValue == apiVersion)
        #expect(out["kind"]?.stringValue == "AdmissionReview")
        #expect(out["response"]?["uid"]?.stringValue == "uid-1")
        guard let b64 = out["response"]?["patch"]?.stringValue else { return Outcome(response: out, patch: nil, patched: nil) }
        #expect(out["response"]?["patchType"]?.stringValue == "JSONPatch")
        let patchBytes = try #require(Data(base64Encoded: b64))
        let patch = try JSONValue.parse(patchBytes)
        return Outcome(response: out, patch: patch, patched: try applyWithPython(object, patchBytes))
    }

    /// `jsonpatch.apply_patch(doc, patch)` in a separate Python process.
    static func applyWithPython(_ document: JSONValue, _ patch: Data) throws -> JSONValue {
        let input = try JSONValue.object(["doc": document, "patch": try JSONValue.parse(patch)]).encoded()
        let script = "import sys,json,jsonpatch\nd=json.load(sys.stdin)\nprint(json.dumps(jsonpatch.apply_patch(d['doc'], d['patch'])))"
        let r = try ProcessRunner.run("python3", ["-c", script], stdin: input)
        guard r.status == 0 else { throw PythonPatchFailure(message: r.err) }
        return try JSONValue.parse(r.stdout)
    }

    struct PythonPatchFailure: Error, CustomStringConvertible {
        let message: String
        var description: String { "jsonpatch rejected the patch: \(message)" }
    }
}

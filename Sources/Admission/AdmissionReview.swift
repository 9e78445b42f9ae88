import Foundation
import OutpostCore

/// The parts of an AdmissionReview request the hooks use (admission.k8s.io/v1 and v1beta1 share them).
public struct AdmissionRequest: Sendable {
    /// `admission.k8s.io/v1` or `admission.k8s.io/v1beta1`: the response echoes it.
    public var apiVersion: String
    public var uid: String
    public var operation: String
    public var kind: String
    public var subResource: String
    public var namespace: String
    public var object: JSONValue
    /// The pod spec's fields when the pod hook's parse read them from the bytes; `object`'s `spec` is then
    /// an empty placeholder. Nil otherwise: the hook reads the spec from `object`.
    var podSpec: PodSpecFields?

    public init(apiVersion: String = "admission.k8s.io/v1", uid: String, operation: String = "CREATE",
                kind: String = "", subResource: String = "", namespace: String = "", object: JSONValue) {
        self.apiVersion = apiVersion
        self.uid = uid
        self.operation = operation
        self.kind = kind
        self.subResource = subResource
        self.namespace = namespace
        self.object = object
    }

    /// The deepest nesting accepted: Kubernetes objects are far shallower; this bounds recursion on hostile input.
    public static let maximumDepth = 128

    /// Parses an AdmissionReview body. Throws `AdmissionError` naming what is wrong (the server answers 400).
    /// With `hook`, only the parts of the object that hook reads are built (the rest is still checked).
    public static func parse(_ data: Data, for hook: Hook? = nil) throws -> AdmissionRequest {
        try parse(bytes: [UInt8](data), for: hook)
    }

    /// `parse` on bytes already in an array (the server's request body).
    public static func parse(bytes: [UInt8], for hook: Hook? = nil) throws -> AdmissionRequest {
        try bytes.withUnsafeBufferPointer { try parse(buffer: $0, for: hook) }
    }

    /// `parse` on bytes in place (the server's receive buffer), valid for the call.
    public static func parse(buffer: UnsafeBufferPointer<UInt8>, for hook: Hook? = nil) throws -> AdmissionRequest {
        // FastJSON bounds the nesting itself (maximumDepth), reporting the byte offset where it is exceeded.
        let review: JSONValue, podSpec: PodSpecFields?
        do { (review, podSpec) = try FastJSON.parseReadingPodSpec(buffer: buffer, maxDepth: maximumDepth, filter: reviewFilter(hook)) } catch {
            throw AdmissionError.malformedJSON(String(describing: error).prefix(300).description)
        }
        guard review.objectValue != nil else { throw AdmissionError.malformedJSON("the body is not a JSON object") }
        let apiVersion = review["apiVersion"]?.stringValue ?? ""
        let kind = review["kind"]?.stringValue ?? ""
        guard kind == "AdmissionReview",
              apiVersion == "admission.k8s.io/v1" || apiVersion == "admission.k8s.io/v1beta1" else {
            throw AdmissionError.unsupportedReview(apiVersion: apiVersion, kind: kind)
        }
        guard let req = review["request"], req.objectValue != nil else { throw AdmissionError.missingField("request") }
        guard let uid = req["uid"]?.stringValue, !uid.isEmpty else { throw AdmissionError.missingField("request.uid") }
        guard let op = req["operation"]?.stringValue else { throw AdmissionError.missingField("request.operation") }
        let object = req["object"] ?? .null
        var request = AdmissionRequest(apiVersion: apiVersion, uid: uid, operation: op,
                                       kind: req["kind"]?["kind"]?.stringValue ?? "",
                                       subResource: req["subResource"]?.stringValue ?? "",
                                       namespace: req["namespace"]?.stringValue ?? "", object: object)
        request.podSpec = podSpec
        return request
    }
}

extension AdmissionRequest {
    /// What the pod hook reads: labels and annotations, and (as `PodSpecFields`) the name and image of each
    /// container and volume.
    private static let podFilter = JSONFieldFilter.only([
        "metadata": .only(["labels": .everything, "annotations": .everything]), "spec": .podSpec,
    ])
    private static let podReviewFilter = reviewFilter(object: podFilter)
    private static let anyReviewFilter = reviewFilter(object: .everything)

    /// The fields of an AdmissionReview that `parse` reads; the object as `hook` needs it (all of it for
    /// the Flux and Argo CD hooks, whose objects are small). `oldObject`, `userInfo` and `options` are skipped.
    static func reviewFilter(_ hook: Hook?) -> JSONFieldFilter {
        switch hook {
        case .pod: return podReviewFilter
        case nil: return .everything
        default: return anyReviewFilter
        }
    }

    private static func reviewFilter(object: JSONFieldFilter) -> JSONFieldFilter {
        .only(["apiVersion": .everything, "kind": .everything, "request": .only([
            "uid": .everything, "operation": .everything, "kind": .everything, "subResource": .everything,
            "namespace": .everything, "object": object,
        ])])
    }
}

/// The webhook's verdict on one request: allowed with a patch, allowed unchanged, or denied with a message.
public struct AdmissionResult: Sendable, Equatable {
    public var allowed: Bool
    public var patch: [PatchOperation]
    public var message: String?
    /// The HTTP-style code a denial carries to the API server's client: 403 (the object is refused) or
    /// 500 (the webhook could not decide, e.g. the Kubernetes API was unreachable).
    public var code: Int = 403

    public static func allow(_ patch: [PatchOperation] = [], message: String? = nil) -> AdmissionResult {
        AdmissionResult(allowed: true, patch: patch, message: message)
    }
    public static func deny(_ message: String, code: Int = 403) -> AdmissionResult {
        AdmissionResult(allowed: false, patch: [], message: message, code: code)
    }
}

extension AdmissionResult {
    /// The AdmissionReview response document for `request`: uid, allowed, base64 JSONPatch, status message.
    public func review(for request: AdmissionRequest) throws -> JSONValue {
        var response: [String: JSONValue] = ["uid": .string(request.uid), "allowed": .bool(allowed)]
        if !patch.isEmpty {
            response["patchType"] = "JSONPatch"
            response["patch"] = .string(try patch.encoded().base64EncodedString())
        }
        if let message {
            response["status"] = allowed ? ["message": .string(message)]
                : ["code": .number(Double(code)), "message": .string(message), "status": "Failure",
                   "reason": code == 403 ? "Forbidden" : "InternalError"]
        }
        return ["apiVersion": .string(request.apiVersion), "kind": "AdmissionReview", "response": .object(response)]
    }

    /// The AdmissionReview response as compact JSON bytes (what the server sends): the bytes of
    /// `JSONWriter.encode(review(for:))`, keys in sorted order, written without building the objects.
    public func responseBody(for request: AdmissionRequest) throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(512 + patch.count * 160)
        func key(_ k: StaticString) { out.append(contentsOf: UnsafeBufferPointer(start: k.utf8Start, count: k.utf8CodeUnitCount)) }
        key(#"{"apiVersion":"#)
        JSONWriter.writeString(request.apiVersion, into: &out)
        key(#","kind":"AdmissionReview","response":{"allowed":"#)
        key(allowed ? "true" : "false")
        if !patch.isEmpty {
            key(#","patch":""#)
            var document: [UInt8] = []
            patch.write(into: &document)
            JSONWriter.appendBase64(document, to: &out)  // base64 needs no escaping
            key(#"","patchType":"JSONPatch""#)
        }
        if let message {
            key(#","status":{"#)
            if allowed {
                key(#""message":"#)
                JSONWriter.writeString(message, into: &out)
            } else {
                key(#""code":"#)
                out.append(contentsOf: String(code).utf8)
                key(#","message":"#)
                JSONWriter.writeString(message, into: &out)
                key(#","reason":"#)
                key(code == 403 ? #""Forbidden""# : #""InternalError""#)
                key(#","status":"Failure""#)
            }
            key("}")
        }
        key(#","uid":"#)
        JSONWriter.writeString(request.uid, into: &out)
        key("}}")
        return out
    }
}

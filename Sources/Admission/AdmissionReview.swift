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
        let review: ReviewEnvelope, podSpec: PodSpecFields?
        do { (review, podSpec) = try FastJSON.readReview(buffer: buffer, maxDepth: maximumDepth, objectFilter: objectFilter(hook)) } catch {
            throw AdmissionError.malformedJSON(String(describing: error).prefix(300).description)
        }
        guard review.isObject else { throw AdmissionError.malformedJSON("the body is not a JSON object") }
        let apiVersion = review.apiVersion ?? ""
        let kind = review.kind ?? ""
        guard kind == "AdmissionReview",
              apiVersion == "admission.k8s.io/v1" || apiVersion == "admission.k8s.io/v1beta1" else {
            throw AdmissionError.unsupportedReview(apiVersion: apiVersion, kind: kind)
        }
        guard let req = review.request else { throw AdmissionError.missingField("request") }
        guard let uid = req.uid, !uid.isEmpty else { throw AdmissionError.missingField("request.uid") }
        guard let op = req.operation else { throw AdmissionError.missingField("request.operation") }
        var request = AdmissionRequest(apiVersion: apiVersion, uid: uid, operation: op, kind: req.kind ?? "",
                                       subResource: req.subResource ?? "", namespace: req.namespace ?? "",
                                       object: req.object ?? .null)
        request.podSpec = podSpec
        return request
    }
}

extension AdmissionRequest {
    /// What the pod hook reads of the object: labels and annotations, and (as `PodSpecFields`) the name and
    /// image of each container and volume. The Flux and Argo CD hooks get the whole object (they are small).
    private static let podFilter = JSONFieldFilter.only([
        "metadata": .only(["labels": .everything, "annotations": .everything]), "spec": .podSpec,
    ])

    /// What `parse` builds of the request's object for `hook`; the rest of the review (`oldObject`,
    /// `userInfo`, `options`) is only checked (`ReviewEnvelope`).
    static func objectFilter(_ hook: Hook?) -> JSONFieldFilter {
        hook == .pod ? podFilter : .everything
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
        var out = ByteWriter(capacity: 512 + patch.count * 220)
        func key(_ k: StaticString) { out.append(k) }
        key(#"{"apiVersion":"#)
        JSONWriter.writeString(request.apiVersion, into: &out)
        key(#","kind":"AdmissionReview","response":{"allowed":"#)
        key(allowed ? "true" : "false")
        if !patch.isEmpty {
            key(#","patch":""#)
            var document = ByteWriter(capacity: patch.count * 160)
            patch.write(into: &document)
            document.withBytes { JSONWriter.appendBase64($0, to: &out) }  // base64 needs no escaping
            key(#"","patchType":"JSONPatch""#)
        }
        if let message {
            key(#","status":{"#)
            if allowed {
                key(#""message":"#)
                JSONWriter.writeString(message, into: &out)
            } else {
                key(#""code":"#)
                out.append(String(code))
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
        return out.bytes
    }
}

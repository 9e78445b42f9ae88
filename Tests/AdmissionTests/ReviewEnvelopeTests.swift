import Foundation
import OutpostCore
import Testing
@testable import Admission

/// `AdmissionRequest.parse` reads the AdmissionReview's envelope (apiVersion, kind, the request's uid,
/// operation, kind, subResource, namespace and object) straight from the bytes. It must answer exactly as
/// reading those fields from the whole review built as a `JSONValue` does: the reference below is that
/// reading, written out here.
@Suite struct ReviewEnvelopeTests {
    /// The outcome of parsing `bytes` by building the whole review and using `JSONValue`'s accessors.
    static func reference(_ bytes: [UInt8]) -> String {
        let review: JSONValue
        do { review = try FastJSON.parse(bytes: bytes, maxDepth: AdmissionRequest.maximumDepth) } catch {
            return "\(AdmissionError.malformedJSON(String(describing: error).prefix(300).description))"
        }
        guard review.objectValue != nil else { return "\(AdmissionError.malformedJSON("the body is not a JSON object"))" }
        let apiVersion = review["apiVersion"]?.stringValue ?? "", kind = review["kind"]?.stringValue ?? ""
        guard kind == "AdmissionReview", apiVersion == "admission.k8s.io/v1" || apiVersion == "admission.k8s.io/v1beta1" else {
            return "\(AdmissionError.unsupportedReview(apiVersion: apiVersion, kind: kind))"
        }
        guard let req = review["request"], req.objectValue != nil else { return "\(AdmissionError.missingField("request"))" }
        guard let uid = req["uid"]?.stringValue, !uid.isEmpty else { return "\(AdmissionError.missingField("request.uid"))" }
        guard let op = req["operation"]?.stringValue else { return "\(AdmissionError.missingField("request.operation"))" }
        return describe(AdmissionRequest(apiVersion: apiVersion, uid: uid, operation: op, kind: req["kind"]?["kind"]?.stringValue ?? "",
                                         subResource: req["subResource"]?.stringValue ?? "",
                                         namespace: req["namespace"]?.stringValue ?? "", object: req["object"] ?? .null))
    }

    static func describe(_ r: AdmissionRequest) -> String {
        let object = (try? r.object.encoded()).map { String(decoding: $0, as: UTF8.self) } ?? "?"
        return [r.apiVersion, r.uid, r.operation, r.kind, r.subResource, r.namespace, object].joined(separator: " | ")
    }

    static func parsed(_ bytes: [UInt8]) -> String {
        do { return describe(try AdmissionRequest.parse(bytes: bytes)) } catch { return "\(error)" }
    }

    /// Random envelopes: every field missing, of the wrong type, duplicated (the last wins) or in any order;
    /// requests and request kinds that are not objects; documents that are not objects.
    static func envelope(_ g: inout FastPathTests.Generator) -> String {
        let others = [#"1"#, #"null"#, #"true"#, #"[]"#, #"{"kind":"Pod"}"#, #""x""#]
        func string(_ options: [String]) -> String { g.next(5) == 0 ? g.pick(others) : "\"" + g.pick(options) + "\"" }
        if g.next(20) == 0 { return g.pick(others) }
        var request: [String] = []
        for _ in 0..<(1 + g.next(8)) {
            switch g.next(8) {
            case 0: request.append(#""uid":\#(string(["u-1", "", "705ab4f5"]))"#)
            case 1: request.append(#""operation":\#(string(["CREATE", "UPDATE", "DELETE"]))"#)
            case 2: request.append(#""kind":\#(g.next(3) == 0 ? g.pick(others) : #"{"group":"","kind":\#(string(["Pod", "GitRepository"])),"version":"v1"}"#)"#)
            case 3: request.append(#""subResource":\#(string(["", "ephemeralcontainers", "status"]))"#)
            case 4: request.append(#""namespace":\#(string(["apps", "", "ns-é"]))"#)
            case 5: request.append(#""object":\#(g.pick([#"{"metadata":{"name":"p"},"spec":{"containers":[]}}"#, #"null"#, #"[1]"#, #"{}"#]))"#)
            case 6: request.append(#""oldObject":{"spec":{"x":[1,2,{"y":"z"}]}},"userInfo":{"username":"u"}"#)
            default: request.append(#""na\u006despace":"escaped-key""#)
            }
        }
        // Both fields needed to get past the first checks, most of the time.
        if g.next(3) > 0 { request.append(#""uid":"u-2","operation":"CREATE""#) }
        var review: [String] = []
        for _ in 0..<(1 + g.next(4)) {
            switch g.next(5) {
            case 0: review.append(#""apiVersion":\#(string(["admission.k8s.io/v1", "admission.k8s.io/v1beta1", "v1"]))"#)
            case 1: review.append(#""kind":\#(string(["AdmissionReview", "Pod"]))"#)
            case 2: review.append(#""request":\#(g.next(6) == 0 ? g.pick(others) : "{" + request.shuffled(using: &g).joined(separator: ",") + "}")"#)
            case 3: review.append(#""response":{"uid":"r","allowed":true}"#)
            default: review.append(#""apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview""#)
            }
        }
        if g.next(4) > 0 { review.append(#""request":{\#(request.joined(separator: ","))}"#) }
        return "{" + review.shuffled(using: &g).joined(separator: ",") + "}"
    }

    @Test func envelopeReadingMatchesTheBuiltReview() {
        var accepted = 0
        for seed in UInt64(1)...3000 {
            var g = FastPathTests.Generator(state: seed)
            let body = Array(Self.envelope(&g).utf8)
            let expected = Self.reference(body)
            #expect(Self.parsed(body) == expected, "seed \(seed): \(String(decoding: body, as: UTF8.self))")
            if expected.hasPrefix("admission.k8s.io") { accepted += 1 }
        }
        // Both outcomes are common enough for the comparison to mean something.
        #expect(accepted > 300 && accepted < 2700, "accepted \(accepted) of 3000")
    }

    /// Every one-byte change of a small review (deleted, replaced, inserted) gives the same outcome,
    /// error message and byte offset included, as reading the built review.
    @Test func brokenReviewsGiveTheBuiltReviewsErrors() {
        let review = Array(#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"kind":"Pod"},"operation":"CREATE","object":{"a":[1,"é"]},"oldObject":null}}"#.utf8)
        let replacements = Array("{}[]\":,-0\\ tn".utf8) + [0x01, 0xFF]
        var differing = 0
        for k in review.indices {
            var variants: [[UInt8]] = []
            var deleted = review; deleted.remove(at: k); variants.append(deleted)
            for r in replacements {
                var replaced = review; replaced[k] = r; variants.append(replaced)
                var inserted = review; inserted.insert(r, at: k); variants.append(inserted)
            }
            for variant in variants {
                let expected = Self.reference(variant)
                #expect(Self.parsed(variant) == expected, "\(String(decoding: variant, as: UTF8.self))")
                if expected != Self.reference(review) { differing += 1 }
            }
        }
        #expect(differing > review.count * 10, "most changes should change the outcome: \(differing)")
    }
}

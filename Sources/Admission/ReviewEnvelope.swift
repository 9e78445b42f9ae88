import Foundation
import OutpostCore

/// The parts of an AdmissionReview's envelope that `AdmissionRequest.parse` uses, read straight from the
/// request bytes: no dictionary is built for the review, its request or the request's kind; only the
/// request's `object` is built, under the hook's filter.
///
/// Each field is what `JSONValue`'s accessors give on the built review: a field that is missing or not a
/// string is nil, a `request` that is not an object is nil, and of duplicate keys the last wins. Everything
/// else in the document is checked as `FastJSON.skipValue` does, so errors and their byte offsets are those
/// of building the whole review.
struct ReviewEnvelope {
    struct Request {
        var uid: String?
        var operation: String?
        /// `request.kind.kind`.
        var kind: String?
        var subResource: String?
        var namespace: String?
        /// Nil when the request has no `object` member.
        var object: JSONValue?
    }

    /// Whether the document is a JSON object at all.
    var isObject = false
    var apiVersion: String?
    var kind: String?
    var request: Request?
}

extension FastJSON {
    /// Reads a whole AdmissionReview document; `objectFilter` says what of the request's object to build.
    /// Also returns the pod spec read when that filter holds `.podSpec`.
    static func readReview(buffer: UnsafeBufferPointer<UInt8>, maxDepth: Int,
                           objectFilter: JSONFieldFilter) throws -> (ReviewEnvelope, PodSpecFields?) {
        try read(buffer, maxDepth: maxDepth, tokenized: true) { p in
            var review = ReviewEnvelope()
            if p.next == UInt8(ascii: "{") {
                review.isObject = true
                try p.members(depth: 0) { p, key in
                    if key.equals("apiVersion") { review.apiVersion = try p.stringOrSkip(depth: 1) }
                    else if key.equals("kind") { review.kind = try p.stringOrSkip(depth: 1) }
                    else if key.equals("request") { review.request = try p.readRequest(depth: 1, objectFilter: objectFilter) }
                    else { try p.skipValue(depth: 1) }
                }
            } else {
                try p.skipValue(depth: 0)
            }
            return (review, p.podSpec)
        }
    }

    /// The request object at `i`, or nil (with the value skipped) when it is not an object.
    private mutating func readRequest(depth: Int, objectFilter: JSONFieldFilter) throws -> ReviewEnvelope.Request? {
        guard next == UInt8(ascii: "{") else { try skipValue(depth: depth); return nil }
        var request = ReviewEnvelope.Request()
        try members(depth: depth) { p, key in
            if key.equals("uid") { request.uid = try p.stringOrSkip(depth: depth + 1) }
            else if key.equals("operation") { request.operation = try p.stringOrSkip(depth: depth + 1) }
            else if key.equals("subResource") { request.subResource = try p.stringOrSkip(depth: depth + 1) }
            else if key.equals("namespace") { request.namespace = try p.stringOrSkip(depth: depth + 1) }
            else if key.equals("object") { request.object = try p.value(depth: depth + 1, filter: objectFilter) }
            else if key.equals("kind") {
                // `kind.kind`: nil when `kind` is not an object or its `kind` is not a string.
                guard p.next == UInt8(ascii: "{") else { request.kind = nil; return try p.skipValue(depth: depth + 1) }
                var kind: String?
                try p.members(depth: depth + 1) { p, key in
                    if key.equals("kind") { kind = try p.stringOrSkip(depth: depth + 2) } else { try p.skipValue(depth: depth + 2) }
                }
                request.kind = kind
            } else {
                try p.skipValue(depth: depth + 1)
            }
        }
        return request
    }
}

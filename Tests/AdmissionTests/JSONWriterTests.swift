import Foundation
import OutpostCore
import Testing
@testable import Admission

/// The hot-path JSON writer produces the same bytes as the shared `JSONValue.encoded()` (JSONEncoder).
@Suite struct JSONWriterTests {
    static let samples: [JSONValue] = [
        .null, true, false, 0, -1, 42, 1.5, -0.25, 1e-7, 123456789012, 3.0e15,
        "", "plain", "quote \" backslash \\ slash / tab \t nl \n cr \r bs \u{8} ff \u{c} bell \u{7} nul \u{0}",
        "ünïcødé 日本 🎉", [], [:], [1, "a", nil, [true]],
        ["b": 1, "a": ["z": "y", "y": []], "A": "upper", "zarf.dev/original-image-c": "nginx", "a-b": 0, "a/b": 1],
    ]

    @Test(arguments: samples) func sameBytesAsJSONEncoder(_ value: JSONValue) throws {
        let expected = try value.encoded()
        let actual = Data(JSONWriter.encode(value))
        #expect(actual == expected, "\(String(decoding: actual, as: UTF8.self)) vs \(String(decoding: expected, as: UTF8.self))")
        #expect(try JSONValue.parse(actual) == value)
    }

    static let results: [AdmissionResult] = [
        .allow([.add("/metadata/annotations", ["a\"b": "c\nd", "zarf.dev/x": "ü"]), .replace("/spec/containers/0/image", "r/x:1")], message: "m"),
        .allow(),
        .allow(message: "operation DELETE is not mutated"),
        .deny("refused: \"quoted\" \u{1}"),
        .deny("cannot read namespace", code: 500),
    ]

    /// The response and patch are written straight to bytes; they must equal encoding the JSON objects.
    @Test(arguments: results) func aWholeReviewResponseRoundTrips(_ result: AdmissionResult) throws {
        let request = AdmissionRequest(apiVersion: "admission.k8s.io/v1beta1", uid: "u\"1", namespace: "ns",
                                       object: ["metadata": ["annotations": ["a\"b": "c\nd"]]])
        let bytes = try result.responseBody(for: request)
        #expect(try JSONValue.parse(Data(bytes)) == result.review(for: request))
        #expect(Data(bytes) == (try result.review(for: request).encoded()), "\(String(decoding: bytes, as: UTF8.self))")
        #expect(try result.patch.encoded() == JSONValue.array(result.patch.map(\.json)).encoded())
    }
}

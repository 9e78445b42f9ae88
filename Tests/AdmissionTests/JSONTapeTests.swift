import Foundation
import OutpostCore
import Testing
@testable import Admission

/// The C tokenizer (`CJSONScan`, read through `JSONTape`) must change nothing but speed: reading a document
/// along its tape gives the same value, and the same error at the same byte offset, as reading the bytes
/// alone. Random documents cover escapes, non-ASCII, strings across 64-byte blocks, numbers, literals,
/// whitespace and nesting; each is also read after many one-byte changes.
@Suite struct JSONTapeTests {
    typealias Generator = FastPathTests.Generator

    static let strings = [#""""#, #""a""#, #""é日🎉""#, #""\u00e9""#, #""\ud83c\udf89""#, #""tab\tq\"""#, #""/\/""#,
                          #""back\\slash""#, #""zarf.dev/original-image-nginx""#]
    static let numbers = ["0", "-0", "12", "-3.25", "1e5", "2E-3", "1.5e+300", "123456789012345678901234567890", "0.5"]
    static let keys = ["a", "b", "metadata", #"k\""#, "é", "spec", "", "image", "name"]
    static let space = ["", "", "", "", " ", "\n  ", "\t", "\r\n"]

    static func value(_ g: inout Generator, depth: Int) -> String {
        switch g.next(depth > 5 ? 4 : 8) {
        case 0: return g.pick(strings)
        case 1: return g.pick(numbers)
        case 2: return g.pick(["true", "false", "null"])
        case 3:
            // Long strings, so that strings (and their escapes) cross the tokenizer's 64-byte blocks.
            let piece = g.pick(["a", "é", #"\""#, #"\\"#, #"x\n"#, "日本"])
            return "\"" + String(repeating: piece, count: g.next(90)) + "\""
        case 4, 5:
            let members = (0..<g.next(5)).map { _ in
                g.pick(space) + "\"" + g.pick(keys) + "\"" + g.pick(space) + ":" + g.pick(space) + value(&g, depth: depth + 1) + g.pick(space)
            }
            return "{" + members.joined(separator: ",") + g.pick(space) + "}"
        default:
            let elements = (0..<g.next(5)).map { _ in g.pick(space) + value(&g, depth: depth + 1) + g.pick(space) }
            return "[" + elements.joined(separator: ",") + g.pick(space) + "]"
        }
    }

    enum Outcome: Equatable {
        case value(JSONValue)
        /// The error's text, its byte offset included.
        case error(String)
    }

    /// The outcome of reading `bytes` whole under `filter`.
    static func read(_ bytes: [UInt8], filter: JSONFieldFilter, tokenized: Bool, maxDepth: Int = 8) -> Outcome {
        do {
            return .value(try bytes.withUnsafeBufferPointer { buffer in
                try FastJSON.read(buffer, maxDepth: maxDepth, tokenized: tokenized) { try $0.value(depth: 0, filter: filter) }
            })
        } catch {
            return .error("\(error)")
        }
    }

    static let filters: [JSONFieldFilter] = [.everything, .only(["a": .everything, "metadata": .only(["name": .everything])])]

    static func expectSame(_ bytes: [UInt8], _ what: @autoclosure () -> String) {
        for filter in filters {
            let plain = read(bytes, filter: filter, tokenized: false)
            let tokenized = read(bytes, filter: filter, tokenized: true)
            #expect(plain == tokenized, "\(what()): \(String(decoding: bytes, as: UTF8.self))")
        }
    }

    /// 1,500 random documents, each followed by 12 one-byte changes of it (replace, delete, insert).
    static func randomDocuments(_ visit: (_ bytes: [UInt8], _ original: Bool, _ label: String) -> Void) {
        var g = Generator(state: 11)
        let mutations: [UInt8] = Array(#""\{}[]:, 0-eEu.t"#.utf8) + [0x0A, 0x01, 0x7F, 0x80, 0xC3, 0xED, 0xFF]
        for seed in 0..<1500 {
            let bytes = Array((g.pick(Self.space) + Self.value(&g, depth: 0) + g.pick(Self.space)).utf8)
            visit(bytes, true, "seed \(seed)")
            for _ in 0..<12 where !bytes.isEmpty {
                var changed = bytes
                let at = g.next(bytes.count)
                switch g.next(3) {
                case 0: changed[at] = g.pick(mutations)
                case 1: changed.remove(at: at)
                default: changed.insert(g.pick(mutations), at: at)
                }
                visit(changed, false, "seed \(seed), changed at \(at)")
            }
        }
    }

    @Test func tokenizedReadingMatchesByteReading() {
        var taped = 0
        Self.randomDocuments { bytes, original, label in
            Self.expectSame(bytes, label)
            if original, bytes.withUnsafeBufferPointer({ JSONTape.with(document: $0, maxDepth: 8) { $0 != nil } }) { taped += 1 }
        }
        // Most documents are read along a tape (the rest hold a \u escape or an exponent, or nest too deep):
        // the comparison is between the two ways, not the byte reader with itself.
        #expect(taped > 500, "\(taped) of 1500 documents had a tape")
    }

    /// The AVX2 tokenizer (what the server runs on this kind of machine) and the SSE2 one give the same
    /// verdict and the same tape, on the same random documents and one-byte changes, and a pod review.
    @Test(.enabled(if: JSONTape.Variant.avx2Available, "this CPU has no AVX2"))
    func theAVX2AndBaseTokenizersWriteTheSameTape() {
        var documents = [Array(ServerHarness.podReview(containers: 5).utf8)]
        Self.randomDocuments { bytes, _, _ in documents.append(bytes) }
        var valid = 0
        for bytes in documents {
            let base = JSONTape.tokenize(bytes, variant: .base, maxDepth: 8)
            let avx2 = JSONTape.tokenize(bytes, variant: .avx2, maxDepth: 8)
            #expect(base.verdict == avx2.verdict && base.entries == avx2.entries, "\(String(decoding: bytes, as: UTF8.self))")
            if base.verdict == 0 { valid += 1 }
        }
        #expect(valid > 1000, "only \(valid) documents were accepted: the tapes compared are mostly empty")
    }

    @Test func aPodReviewHasATapeAndOddDocumentsDoNot() {
        let review = Array(ServerHarness.podReview(containers: 5).utf8)
        #expect(review.withUnsafeBufferPointer { JSONTape.with(document: $0, maxDepth: 128) { $0 != nil } })
        // What the tokenizer leaves to the byte reader, and what it refuses.
        let odd = [#"{"a":"\u00e9"}"#, #"[1e5]"#, #"{"a":1,}"#, #"[1 2]"#, "\"a\u{01}\"", #"{"a"}"#, "", " ", "[]]", #"["a\x"]"#]
        for bytes in odd.map({ Array($0.utf8) }) + [[0x5B, 0x22, 0xFF, 0x22, 0x5D], [0x5B, 0xC3, 0x5D]] {
            #expect(bytes.withUnsafeBufferPointer { JSONTape.with(document: $0, maxDepth: 128) { $0 == nil } },
                    "\(String(decoding: bytes, as: UTF8.self))")
        }
    }

    @Test func nestingAtTheLimitMatches() {
        for depth in 1...10 {
            for (open, close) in [("[", "]"), (#"{"a":"#, "}")] {
                let text = String(repeating: open, count: depth) + "1" + String(repeating: close, count: depth)
                Self.expectSame(Array(text.utf8), "depth \(depth)")
            }
        }
    }
}

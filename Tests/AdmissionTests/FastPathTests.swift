import Foundation
import OutpostCore
import Testing
@testable import Admission

/// The webhook's hot path (typed pod spec reading, word-at-a-time string scanning, its own UTF-8 check and
/// base64) must give exactly what the plain path gives: each piece is compared with the plain one here.
@Suite struct FastPathTests {
    /// A small deterministic generator, so a failure names a seed that reproduces it.
    struct Generator {
        var state: UInt64
        mutating func next(_ n: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(n))
        }
        mutating func pick<T>(_ options: [T]) -> T { options[next(options.count)] }
    }

    static let images = ["nginx", "nginx:1.27", "ghcr.io/org/app:v1", "127.0.0.1:31999/x/y:1",
                         "busybox@sha256:" + String(repeating: "ab", count: 32), "", "UPPER/x:1", "quay.io/a/b:c"]
    static let others = [#"1"#, #"null"#, #"true"#, #"{"a":[1,{"b":"c"}]}"#, #"[]"#, #""é\"\\\n\u00e9""#]

    static func container(_ g: inout Generator) -> String {
        if g.next(8) == 0 { return g.pick(others) }
        var members: [String] = []
        for _ in 0..<g.next(5) {
            switch g.next(6) {
            case 0: members.append(#""name":"\#(g.pick(["web", "side", "a-very-long-container-name-that-goes-past-sixty-three-characters-for-sure", "ü"]))""#)
            case 1: members.append(#""na\u006de":"esc""#)
            case 2: members.append(#""name":\#(g.pick(others))"#)
            case 3: members.append(#""image":"\#(g.pick(images))""#)
            case 4: members.append(#""image":\#(g.pick(others))"#)
            default: members.append(#""env":[{"name":"K","value":"V \"q\" \u00e9"}],"ports":[{"containerPort":80}]"#)
            }
        }
        if g.next(2) == 0 { members.append(#""image":"\#(g.pick(images))""#) }
        return "{" + members.joined(separator: ",") + "}"
    }

    static func volume(_ g: inout Generator) -> String {
        switch g.next(6) {
        case 0: return g.pick(others)
        case 1: return #"{"name":"e","emptyDir":{}}"#
        case 2: return #"{"name":"img","image":\#(g.pick(others))}"#
        case 3: return #"{"image":{"reference":\#(g.pick(others))},"name":"r"}"#
        default: return #"{"name":"\#(g.pick(["v", "data", "ü"]))","image":{"pullPolicy":"IfNotPresent","reference":"\#(g.pick(images))"}}"#
        }
    }

    static func list(_ g: inout Generator, _ element: (inout Generator) -> String) -> String {
        if g.next(6) == 0 { return g.pick(others) }
        return "[" + (0..<g.next(4)).map { _ in element(&g) }.joined(separator: ",") + "]"
    }

    static func spec(_ g: inout Generator) -> String {
        if g.next(10) == 0 { return g.pick(others) }
        var members: [String] = []
        for key in ["initContainers", "containers", "ephemeralContainers"] where g.next(3) > 0 {
            members.append(#""\#(key)":\#(list(&g, container))"#)
        }
        if g.next(2) == 0 { members.append(#""volumes":\#(list(&g, volume))"#) }
        if g.next(4) == 0 { members.append(#""containers":\#(list(&g, container))"#) }  // a duplicate: the last wins
        if g.next(3) == 0 { members.append(#""nodeSelector":{"k":"v"},"tolerations":[{"key":"x","effect":"NoExecute"}]"#) }
        return "{" + members.shuffled(using: &g).joined(separator: ",") + "}"
    }

    static func body(seed: UInt64) -> String {
        var g = Generator(state: seed)
        let labels = g.pick([#""#, #""labels":{"app":"x"},"#, #""labels":{"zarf-agent":"patched"},"#, #""labels":{"zarf.dev/agent":"mutate","b":1},"#])
        let annotations = g.pick([#""#, #""annotations":{"a/b":"c\"d"},"#, #""annotations":5,"#])
        var object = #"{"metadata":{\#(labels)\#(annotations)"name":"p"},"spec":\#(spec(&g))"#
        if g.next(8) == 0 { object += #","spec":\#(spec(&g))"# }  // a duplicate spec: the last wins
        object += "}"
        let sub = g.pick(["", #""subResource":"ephemeralcontainers","#, #""subResource":"status","#])
        return #"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u",\#(sub)"operation":"CREATE","object":\#(object),"oldObject":\#(object)}}"#
    }

    /// Random pods, odd shapes included: the typed read of the spec gives the same fields as reading the
    /// built spec, and the same mutation and response bytes.
    @Test func typedSpecReadingMatchesTheBuiltSpec() throws {
        let mutator = Mutator(config: AgentConfig(registryAddress: "127.0.0.1:31999"))
        var patched = 0, denied = 0
        for seed in UInt64(1)...1500 {
            let body = Data(Self.body(seed: seed).utf8)
            let plain = try AdmissionRequest.parse(body)
            let fast = try AdmissionRequest.parse(body, for: .pod)
            #expect(plain.podSpec == nil)
            if let spec = plain.object["spec"], spec.objectValue != nil {
                #expect(fast.podSpec == PodSpecFields(json: spec), "seed \(seed)")
            }
            let a = mutator.mutate(.pod, plain), b = mutator.mutate(.pod, fast)
            #expect(a == b, "seed \(seed): \(Self.body(seed: seed))")
            #expect(try a.responseBody(for: plain) == b.responseBody(for: fast), "seed \(seed)")
            if !a.patch.isEmpty { patched += 1 }
            if !a.allowed { denied += 1 }
        }
        // The generator reaches both outcomes often enough for the comparison to mean something.
        #expect(patched > 200 && denied > 200, "patched \(patched), denied \(denied)")
    }

    /// The server's per-connection memo of image rewrites changes nothing: the same results as without
    /// it over the random pods (errors included), a new registry address is never answered from the old
    /// one's entries, and it stays within its capacity.
    @Test func imageRewriteMemoGivesTheSameAnswers() throws {
        let memo = ImageRewriteMemo(capacity: 6)
        for (i, registry) in ["127.0.0.1:31999", "10.0.0.1:5000"].enumerated() {
            let mutator = Mutator(config: AgentConfig(registryAddress: registry))
            for seed in UInt64(1)...400 {
                let request = try AdmissionRequest.parse(Data(Self.body(seed: seed + UInt64(i) * 1000).utf8), for: .pod)
                let plain = mutator.mutate(.pod, request), remembered = mutator.mutate(.pod, request, memo: memo)
                #expect(plain == remembered, "seed \(seed) at \(registry)")
                #expect(memo.count <= 6)
            }
        }
        // The same pod twice through one memo: the second answer (from memory) equals the first.
        let request = try AdmissionRequest.parse(Data(ServerHarness.podReview(containers: 4).utf8), for: .pod)
        let mutator = Mutator(config: AgentConfig(registryAddress: "127.0.0.1:31999"))
        let warm = ImageRewriteMemo()
        let first = mutator.mutate(.pod, request, memo: warm)
        #expect(warm.count == 4)
        #expect(mutator.mutate(.pod, request, memo: warm) == first && first.patch.count > 4)
    }

    /// Strings of every length around the 8-byte scanning step, with a byte that needs attention (an
    /// escape, a control byte, non-ASCII, invalid UTF-8, the end of the input) at each position.
    @Test func stringScanningAgreesWithFoundationAtEveryPosition() throws {
        let specials: [[UInt8]] = [Array(#"\""#.utf8), Array(#"\\"#.utf8), Array(#"\u00e9"#.utf8), Array("é".utf8),
                                   [0x01], [0xFF], [0xED, 0xA0, 0x80], Array("日".utf8), Array("🎉".utf8)]
        for length in 0..<20 {
            for position in 0...length {
                for special in specials {
                    var text = Array(repeating: UInt8(ascii: "a"), count: length)
                    text.insert(contentsOf: special, at: position)
                    for document in [[UInt8(ascii: "[")] + [0x22] + text + [0x22, UInt8(ascii: "]")],
                                     Array(#"{""#.utf8) + text + Array(#"":1}"#.utf8),
                                     [0x22] + text] {  // the last is unterminated
                        let ours = try? FastJSON.parse(bytes: document, maxDepth: 8)
                        let skipped = try? FastJSON.parse(bytes: Array(#"{"x":"#.utf8) + document + [UInt8(ascii: "}")],
                                                          maxDepth: 8, filter: .only([:]))
                        let foundation = try? JSONValue.parse(Data(document))
                        #expect(ours == foundation, "\(document)")
                        #expect((skipped != nil) == (foundation != nil), "skipped \(document)")
                    }
                }
            }
        }
    }

    /// Skipped parts are read by their own code (`skipValue`, `skipString`, `skipNumber`): every one-byte
    /// change (deleted, replaced, inserted) of a nested document must give the same error, message and byte
    /// offset, as building it, or be accepted by both.
    @Test func skippingAndBuildingReportTheSameErrors() throws {
        let document = Array(#"{"a":[1,-2.5e3,{"b":"c\n","d":[true,false,null,{}]},[],"é"],"e":{"f":{"g":[[{"h":0}]]}}}"#.utf8)
        let replacements = Array("{}[]\":,-0.e\\ tfnx".utf8) + [0x01, 0xFF]
        var variants: [[UInt8]] = []
        for k in document.indices {
            var deleted = document; deleted.remove(at: k); variants.append(deleted)
            for r in replacements {
                var replaced = document; replaced[k] = r; variants.append(replaced)
                var inserted = document; inserted.insert(r, at: k); variants.append(inserted)
            }
        }
        var rejected = 0
        for variant in variants {
            // As the value of a skipped member, and as the whole (skipped) document.
            for (wrapped, filter) in [(Array(#"{"skip":"#.utf8) + variant + [UInt8(ascii: "}")], JSONFieldFilter.only([:])),
                                      (Array(#"{"keep":1,"skip":"#.utf8) + variant + Array(#","x":2}"#.utf8), .only(["keep": .everything]))] {
                var built: String, skipped: String
                do { _ = try FastJSON.parse(bytes: wrapped, maxDepth: 6); built = "accepted" } catch { built = "\(error)" }
                do { _ = try FastJSON.parse(bytes: wrapped, maxDepth: 6, filter: filter); skipped = "accepted" } catch { skipped = "\(error)" }
                #expect(built == skipped, "\(String(decoding: variant, as: UTF8.self))")
                if built != "accepted" { rejected += 1 }
            }
        }
        #expect(rejected > variants.count, "most variants should be broken: \(rejected) of \(variants.count * 2)")
    }

    /// Deep nesting around the limit is skipped as it is built: accepted below it, the same error at it.
    @Test func deepSkippedNestingMatchesBuilding() throws {
        for levels in [63, 64, 65, 127, 128, 129, 200] {
            let deep = (0..<levels).map { $0 % 3 == 0 ? #"{"k":"# : "[" }.joined() + "1"
                + (0..<levels).reversed().map { $0 % 3 == 0 ? "}" : "]" }.joined()
            let doc = Array(#"{"skip":\#(deep),"keep":true}"#.utf8)
            for maxDepth in [100, 300] {
                var built: String, skipped: String
                do { _ = try FastJSON.parse(bytes: doc, maxDepth: maxDepth); built = "accepted" } catch { built = "\(error)" }
                do { _ = try FastJSON.parse(bytes: doc, maxDepth: maxDepth, filter: .only(["keep": .everything])); skipped = "accepted" } catch { skipped = "\(error)" }
                #expect(built == skipped, "\(levels) levels, max \(maxDepth)")
                #expect((built == "accepted") == (levels < maxDepth), "\(levels) levels, max \(maxDepth): \(built)")
            }
        }
    }

    @Test func utf8CheckAgreesWithTheStandardLibrary() {
        func check(_ bytes: [UInt8]) {
            let ours = bytes.withUnsafeBufferPointer(FastJSON.isValidUTF8)
            #expect(ours == (String(validating: bytes, as: UTF8.self) != nil), "\(bytes)")
        }
        for a in 0...255 { for b in 0...255 { check([UInt8(a), UInt8(b)]) } }
        var g = Generator(state: 7)
        let leads: [UInt8] = [0xC2, 0xDF, 0xE0, 0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xC0, 0x80]
        for _ in 0..<40_000 {
            check([g.pick(leads)] + (0..<g.next(4)).map { _ in UInt8(0x70 + g.next(0x60)) })
        }
    }

    @Test func base64IsFoundations() {
        var g = Generator(state: 3)
        // Every remainder of the 6-byte step and the 3-byte step, and a pod patch's size.
        for length in Array(0..<70) + [255, 256, 257, 1243] {
            let bytes = (0..<length).map { _ in UInt8(g.next(256)) }
            var out = ByteWriter(capacity: 1)  // grows as it is written
            out.append(UInt8(ascii: ">"))
            bytes.withUnsafeBufferPointer { JSONWriter.appendBase64($0, to: &out) }
            #expect(String(decoding: out.bytes.dropFirst(), as: UTF8.self) == Data(bytes).base64EncodedString())
        }
    }

    @Test func keyOrderIsUTF8ByteOrder() {
        let keys = ["", "a", "A", "a-b", "a/b", "ab", "b", "é", "e\u{301}", "zarf.dev/x", "zarf-agent", "日本", "🎉", "aa"]
        for a in keys { for b in keys {
            #expect(JSONWriter.utf8Precedes(a, b) == a.utf8.lexicographicallyPrecedes(b.utf8), "\(a) \(b)")
        } }
    }
}

extension Array {
    /// A shuffle driven by the test's generator, so a seed gives one order.
    func shuffled(using g: inout FastPathTests.Generator) -> [Element] {
        var a = self
        for i in stride(from: a.count - 1, to: 0, by: -1) { a.swapAt(i, g.next(i + 1)) }
        return a
    }
}

import NIOHTTP1
import Testing
@testable import AdmissionFuzz
@testable import AdmissionServer

/// The agent's HTTP/1.1 request parser on its own: framing (Content-Length, chunked, pipelining), the head
/// fields the agent reads, and refusals with their statuses. Every accepted message is also fed in every
/// split into two reads and one byte at a time, and must give the same requests. The server over real TLS
/// is exercised in ServerTests.
struct HTTPRequestParserTests {
    /// One request as the parser gave it: its head and its whole body.
    struct Request: Equatable {
        var head: AgentRequestHead
        var body: String
    }

    /// The requests in `pieces` (fed one after another), and the error that stopped the parser, if any.
    static func parse(_ pieces: [[UInt8]]) -> (requests: [Request], error: HTTPRequestError?) {
        let r = HTTPParserCheck.parse(pieces.map { $0[...] }, maxHeadBytes: 1024)
        return (r.requests.map { Request(head: $0.head, body: String(decoding: $0.body, as: UTF8.self)) }, r.error)
    }

    /// `text` whole, in every split into two reads, and byte by byte: the same requests every way.
    static func parseEveryWay(_ text: String) -> (requests: [Request], error: HTTPRequestError?) {
        let bytes = Array(text.utf8)
        let whole = parse([bytes])
        for cut in 1..<max(bytes.count, 1) {
            let split = parse([Array(bytes[..<cut]), Array(bytes[cut...])])
            #expect(split.requests == whole.requests && split.error == whole.error, "split at \(cut) of \(text.debugDescription)")
        }
        let trickled = parse(bytes.map { [$0] })
        #expect(trickled.requests == whole.requests && trickled.error == whole.error, "byte by byte: \(text.debugDescription)")
        return whole
    }

    static func head(_ method: HTTPMethod, _ target: String, minor: Int = 1, contentType: String = "", keepAlive: Bool = true,
                     expectsContinue: Bool = false, contentLength: Int? = nil, chunked: Bool = false) -> AgentRequestHead {
        AgentRequestHead(method: method, target: target, version: HTTPVersion(major: 1, minor: minor), contentType: contentType,
                         keepAlive: keepAlive, expectsContinue: expectsContinue, contentLength: contentLength, chunked: chunked)
    }

    @Test func aPostWithContentLength() {
        let r = Self.parseEveryWay("POST /mutate/pod?timeout=10s HTTP/1.1\r\nHost: agent-hook.zarf.svc:443\r\nContent-Type: application/json\r\n"
                                   + "Content-Length: 13\r\nAccept: application/json, */*\r\n\r\n{\"kind\":\"x\"}\n")
        #expect(r.error == nil)
        #expect(r.requests == [Request(head: Self.head(.POST, "/mutate/pod?timeout=10s", contentType: "application/json", contentLength: 13),
                                       body: "{\"kind\":\"x\"}\n")])
        #expect(r.requests.first?.head.path == "/mutate/pod")
    }

    @Test func pipelinedRequestsAndLeadingEmptyLines() {
        let r = Self.parseEveryWay("\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\nPOST /a HTTP/1.1\r\nhost: x\r\ncontent-length: 3\r\n\r\nabc"
                                   + "GET /metrics HTTP/1.1\r\nHOST: x\r\nConnection: keep-alive, Close\r\n\r\n")
        #expect(r.error == nil)
        #expect(r.requests == [Request(head: Self.head(.GET, "/healthz"), body: ""),
                               Request(head: Self.head(.POST, "/a", contentLength: 3), body: "abc"),
                               Request(head: Self.head(.GET, "/metrics", keepAlive: false), body: "")])
    }

    @Test func chunkedBodiesWithExtensionsAndTrailers() {
        let r = Self.parseEveryWay("POST /mutate/pod HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                                   + "5\r\nhello\r\nA;name=value ; q = \"a \\\" b\";flag\r\n, world!!!\r\n0\r\nTrailer-Field: t\r\n\r\n"
                                   + "POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n0\r\n\r\n")
        #expect(r.error == nil)
        #expect(r.requests == [Request(head: Self.head(.POST, "/mutate/pod", chunked: true), body: "hello, world!!!"),
                               Request(head: Self.head(.POST, "/b", chunked: true), body: "")])
    }

    @Test func http10KeepsTheConnectionOnlyWhenAsked() {
        let r = Self.parseEveryWay("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\nHEAD /healthz HTTP/1.0\r\n\r\n"
                                   + "POST /a HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
        #expect(r.error == nil)
        // The last: HTTP/1.0 with Transfer-Encoding closes the connection whatever it asks (RFC 9112 section 6.1).
        #expect(r.requests == [Request(head: Self.head(.GET, "/healthz", minor: 0), body: ""),
                               Request(head: Self.head(.HEAD, "/healthz", minor: 0, keepAlive: false), body: ""),
                               Request(head: Self.head(.POST, "/a", minor: 0, keepAlive: false, chunked: true), body: "")])
    }

    @Test func laterHTTP1MinorsAreReadAsHTTP11() {
        let r = Self.parseEveryWay("GET /healthz HTTP/1.7\r\nHost: x\r\n\r\n")
        #expect(r.error == nil && r.requests == [Request(head: Self.head(.GET, "/healthz"), body: "")])
    }

    @Test func expectContinue() {
        let r = Self.parseEveryWay("PUT /x HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\nContent-Length: 2\r\n"
                                   + "Content-Type: text/plain; charset=utf-8\r\n\r\nok")
        #expect(r.error == nil)
        #expect(r.requests == [Request(head: Self.head(.PUT, "/x", contentType: "text/plain; charset=utf-8", expectsContinue: true,
                                                       contentLength: 2), body: "ok")])
    }

    /// Each refused message with the status and the words of its reason; what came before it is still read.
    @Test(arguments: [
        ("GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400, "whitespace between"),
        ("GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n folded\r\n\r\n", 400, "folding"),
        ("GET / HTTP/1.1\nHost: x\r\n\r\n", 400, "without CR"),
        ("GET / HTTP/1.1\nHost: x\n\n", 400, "without CR"),
        // A bare LF is named first even when an earlier line is wrong too: the answer must not depend on how
        // the head was cut into reads (found by the fuzzer: byte by byte gave this reason, whole the other).
        ("GET / HTTp/1.1\r\nHost: x\nX: y\r\n\r\n", 400, "without CR"),
        ("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\u{01}b\r\n\r\n", 400, "control byte"),
        ("GET / HTTP/1.1\r\n\r\n", 400, "without a Host"),
        ("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "more than one Host"),
        ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n", 400, "not a decimal"),
        ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1, 2\r\n\r\n", 400, "not a decimal"),
        ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2, 2\r\n\r\nok", 400, "not a decimal"),
        ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: , 5\r\n\r\nhello", 400, "not a decimal"),
        ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\ncontent-length: 2\r\n\r\nok", 400, "more than one Content-Length"),
        ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n", 400, "not a decimal"),
        ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "both"),
        ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501, "gzip"),
        ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 400, "twice"),
        ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: , ,\r\n\r\n0\r\n\r\n", 400, "empty member"),
        ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked,\r\n\r\n0\r\n\r\n", 400, "empty member"),
        ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n\r\n0\r\n\r\n", 400, "empty member"),
        ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400, "hexadecimal"),
        ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n", 400, "longer than its size"),
        ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\u{0}\u{0}\u{0}\n", 400, "chunk end too long"),
        ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n", 400, "too large"),
        ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nhello\r\n\r\n", 400, "no colon"),
        ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "in the trailer"),
        ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nContent-length: 5\r\n\r\n", 400, "in the trailer"),
        ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0;x\u{0C}0\r\n\r\n", 400, "chunk extension does not start"),
        ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0;a=\"b\u{01}\"\r\n\r\n", 400, "control byte"),
        ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0;=b\r\n\r\n", 400, "name is not a token"),
        ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0;a \r\n\r\n", 400, "whitespace at the end"),
        ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0 \r\n\r\n", 400, "whitespace at the end"),
        ("GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505, "not supported"),
        ("GET /\r\nHost: x\r\n\r\n", 400, "request line"),
        ("GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400, "request line"),
        ("GET /caf\u{e9} HTTP/1.1\r\nHost: x\r\n\r\n", 400, "outside ASCII"),
        ("GET mutate/pod HTTP/1.1\r\nHost: x\r\n\r\n", 400, "origin form"),
        ("GET http://x/mutate/pod HTTP/1.1\r\nHost: x\r\n\r\n", 400, "origin form"),
        ("G(T / HTTP/1.1\r\nHost: x\r\n\r\n", 400, "token"),
        ("GET / HTTP/1.1\r\nHost: x\r\nX-Long: \(String(repeating: "a", count: 1100))\r\n\r\n", 431, "over 1024 bytes"),
    ])
    func refusals(message: String, status: Int, words: String) {
        let valid = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
        let r = Self.parseEveryWay(valid + message)
        #expect(r.requests.map(\.head.target) == ["/healthz"], "\(message.debugDescription)")
        #expect(r.error.map { Int($0.status.code) } == status && r.error?.reason.contains(words) == true,
                "\(message.debugDescription): \(String(describing: r.error))")
    }

    /// A head, or trailer fields, that never end are refused once they pass the limit, without waiting for their end.
    @Test func anEndlessHeadOrTrailerIsRefusedAtTheLimit() {
        let head = Self.parse([Array("GET / HTTP/1.1\r\nHost: x\r\n".utf8)] + Array(repeating: Array("X-A: b\r\n".utf8), count: 200))
        #expect(head.error?.status == .requestHeaderFieldsTooLarge)
        let trailers = Self.parse([Array("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n".utf8)]
                                  + Array(repeating: Array("X-T: b\r\n".utf8), count: 200))
        #expect(trailers.error?.status == .requestHeaderFieldsTooLarge && trailers.error?.reason.contains("trailer") == true)
    }

    /// Random messages glued from HTTP fragments and random bytes: the parser never traps, reading them whole,
    /// in pieces or byte by byte gives the same requests and the same error, and NIO's llhttp reads every
    /// request it accepts the same way.
    @Test func randomMessagesParseTheSameInAnySplit() {
        let fragments = ["GET ", "POST ", "/mutate/pod", " HTTP/1.1", " HTTP/1.0", "\r\n", "\r", "\n", "Host: x", "Content-Length: ",
                         "Transfer-Encoding: chunked", "Connection: close", "Expect: 100-continue", ": ", " ", "0", "5", "ff", ";a=b",
                         "hello", "\u{00}", "\u{7F}", "é", ",", "\t", "\r\n\r\n", "\"", "Connection: keep-alive"]
        // Valid requests, glued and then damaged a little, reach far more of the parser than fragments alone.
        let requests = ["POST /mutate/pod?timeout=10s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\nhello",
                        "GET /healthz HTTP/1.1\r\nHost: y\r\n\r\n",
                        "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;x=\"y z\"\r\nhello\r\n0\r\nT: v\r\n\r\n",
                        "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"].map { Array($0.utf8) }
        var g = FastPathTests.Generator(state: 7)
        for round in 0..<3000 {
            var bytes: [UInt8] = []
            if round % 2 == 0 {
                for _ in 0..<(1 + g.next(40)) {
                    if g.next(10) == 0 {
                        bytes.append(UInt8(g.next(256)))
                    } else {
                        bytes += Array(g.pick(fragments).utf8)
                    }
                }
            } else {
                for _ in 0..<(1 + g.next(3)) { bytes += g.pick(requests) }
                for _ in 0..<g.next(4) {
                    let at = g.next(bytes.count)
                    switch g.next(3) {
                    case 0: bytes[at] = UInt8(g.next(256))
                    case 1: bytes.insert(contentsOf: Array(g.pick(fragments).utf8), at: at)
                    default: bytes.removeSubrange(at..<min(bytes.count, at + 1 + g.next(8)))
                    }
                }
            }
            // The fuzz target's check: whole, in random pieces and byte by byte alike, and read as llhttp reads it.
            let failure = HTTPParserCheck.check(bytes)
            #expect(failure == nil, "\(String(decoding: bytes, as: UTF8.self).debugDescription): \(failure ?? "")")
        }
    }
}

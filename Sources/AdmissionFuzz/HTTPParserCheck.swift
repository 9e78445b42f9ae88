import AdmissionServer
import NIOCore
import NIOEmbedded
import NIOHTTP1

/// Checks the agent's own HTTP/1.1 request parser on arbitrary bytes against two things it must agree with:
/// itself fed the same bytes in other splits (whole, in pseudo-random pieces, one byte at a time), and NIO's
/// llhttp-based `HTTPRequestDecoder`, which must read every request the agent's parser accepts the same way
/// (method, target, version, keep-alive, body). The agent's parser may refuse more than llhttp does (it is
/// stricter on purpose); it may never frame a request differently, as that is how requests get smuggled.
enum HTTPParserCheck {
    /// One whole request as a parser read it.
    struct Request: Equatable, CustomStringConvertible {
        var method: String
        var target: String
        var version: String
        var keepAlive: Bool
        var body: [UInt8]
        var description: String { "\(method) \(target) \(version) keepAlive=\(keepAlive) body=\(body.count) bytes" }
    }

    /// The first disagreement in `bytes`, or nil.
    static func check(_ bytes: [UInt8]) -> String? {
        let whole = ours([bytes[...]])
        var pieces: [ArraySlice<UInt8>] = []
        var seed = bytes.reduce(UInt64(1469598103934665603)) { ($0 ^ UInt64($1)) &* 1099511628211 }
        var start = 0
        while start < bytes.count {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            let end = min(bytes.count, start + 1 + Int((seed >> 33) % 97))
            pieces.append(bytes[start..<end])
            start = end
        }
        let split = ours(pieces)
        if split.requests != whole.requests || split.error != whole.error {
            return "split into \(pieces.count) pieces: \(summary(split)); whole: \(summary(whole))"
        }
        if bytes.count <= 4096 {
            let trickled = ours(bytes.indices.map { bytes[$0...$0] })
            if trickled.requests != whole.requests || trickled.error != whole.error {
                return "byte by byte: \(summary(trickled)); whole: \(summary(whole))"
            }
        }
        // llhttp refuses HTTP/1.2 to 1.9, which RFC 9112 section 2.3 says to read as the highest 1.x the server
        // knows (the agent does): such inputs are not compared with it.
        let later = Array("HTTP/1.".utf8)
        if bytes.indices.contains(where: { i in
            i + 8 <= bytes.count && bytes[i..<(i + 7)].elementsEqual(later) && (UInt8(ascii: "2")...UInt8(ascii: "9")).contains(bytes[i + 7])
        }) {
            return nil
        }
        // llhttp also refuses whitespace around a chunk extension's ";" and "=", which RFC 9112 section 7.1.1
        // (BWS) tells recipients to accept, as the agent does: inputs with a chunk line like that are not compared.
        if chunkLineWithWhitespace(bytes) { return nil }
        // Compare with llhttp up to the first request whose method llhttp does not know (it refuses those).
        // The server reads nothing after a request that closes its connection, and neither does llhttp.
        var known = whole.requests.prefix { !$0.method.hasPrefix("RAW:") }
        if let last = known.firstIndex(where: { !$0.keepAlive }) { known = known[...last] }
        let reference = llhttp(bytes)
        for (index, request) in known.enumerated() {
            guard index < reference.count else {
                return "request \(index + 1) (\(request)) was accepted, but llhttp read only \(reference.count) request(s)"
            }
            if reference[index] != request {
                return "request \(index + 1): ours \(request), llhttp \(reference[index])"
            }
        }
        return nil
    }

    /// Whether a line starts with a hex digit and holds both ";" and whitespace (a chunk size line with BWS).
    static func chunkLineWithWhitespace(_ bytes: [UInt8]) -> Bool {
        bytes.split(separator: UInt8(ascii: "\n")).contains { line in
            guard let first = line.first, Character(Unicode.Scalar(first)).isHexDigit else { return false }
            return line.contains(UInt8(ascii: ";")) && (line.contains(UInt8(ascii: " ")) || line.contains(UInt8(ascii: "\t")))
        }
    }

    static func summary(_ r: (requests: [Request], error: HTTPRequestError?)) -> String {
        "\(r.requests.count) request(s) \(r.requests), error \(r.error.map { "\($0.status.code) \($0.reason)" } ?? "none")"
    }

    /// The agent's parser over `pieces`, compared as strings with llhttp's reading.
    static func ours(_ pieces: [ArraySlice<UInt8>]) -> (requests: [Request], error: HTTPRequestError?) {
        let parsed = parse(pieces)
        let requests = parsed.requests.map { head, body in
            let method = if case .RAW(let value) = head.method { "RAW:" + value } else { head.method.rawValue }
            return Request(method: method, target: head.target, version: "\(head.version)", keepAlive: head.keepAlive, body: body)
        }
        return (requests, parsed.error)
    }

    /// Every whole request the agent's parser reads from `pieces` fed one after another (its head and its body),
    /// and the error that stopped it, if any. The parser's tests use it too.
    static func parse(_ pieces: [ArraySlice<UInt8>], maxHeadBytes: Int = 64 * 1024)
        -> (requests: [(head: AgentRequestHead, body: [UInt8])], error: HTTPRequestError?) {
        var parser = HTTPRequestParser(maxHeadBytes: maxHeadBytes)
        var requests: [(head: AgentRequestHead, body: [UInt8])] = []
        var current: (head: AgentRequestHead, body: [UInt8])?
        var pending = ByteBuffer()
        for piece in pieces {
            pending.writeBytes(piece)
            do {
                while let part = try parser.next(&pending) {
                    switch part {
                    case .head(let head): current = (head, [])
                    case .body(let bytes): current?.body += bytes.readableBytesView
                    case .end:
                        if let done = current { requests.append(done) }
                        current = nil
                    }
                }
            } catch {
                return (requests, error)
            }
            pending.discardReadBytes()
        }
        return (requests, nil)
    }

    /// The requests NIO's `HTTPRequestDecoder` reads from `bytes` before it stops (at the end or an error).
    static func llhttp(_ bytes: [UInt8]) -> [Request] {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes)))
        _ = try? channel.writeInbound(ByteBuffer(bytes: bytes))
        var requests: [Request] = []
        var current: Request?
        while let part = try? channel.readInbound(as: HTTPServerRequestPart.self) {
            switch part {
            case .head(let head):
                // The agent answers any HTTP/1.x with x >= 1 as HTTP/1.1.
                let version = head.version.major == 1 && head.version.minor > 1 ? .http1_1 : head.version
                current = Request(method: head.method.rawValue, target: head.uri, version: "\(version)",
                                  keepAlive: head.isKeepAlive, body: [])
            case .body(let bytes):
                current?.body += bytes.readableBytesView
            case .end:
                if let done = current { requests.append(done) }
                current = nil
            }
        }
        _ = try? channel.finish()
        return requests
    }
}

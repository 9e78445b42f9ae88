import NIOCore
import NIOHTTP1

/// What the agent reads from a request's head: the request line and the few header fields that decide
/// routing, framing and the connection's fate.
package struct AgentRequestHead: Equatable, Sendable {
    package var method: HTTPMethod
    /// The request-target as sent (origin form for every client the agent has: `/mutate/pod?timeout=10s`).
    package var target: String
    package var version: HTTPVersion
    package var contentType: String = ""
    /// Whether the client keeps the connection after this request (HTTP/1.1 unless `close`; HTTP/1.0 only
    /// with `keep-alive`).
    package var keepAlive = true
    /// `Expect: 100-continue`: the client waits for an interim answer before it sends the body.
    package var expectsContinue = false
    /// The body's length, when `Content-Length` gives it.
    package var contentLength: Int?
    /// `Transfer-Encoding: chunked`.
    package var chunked = false

    /// The target without its query.
    package var path: Substring { target.firstIndex(of: "?").map { target[..<$0] } ?? target[...] }
}

/// A request the parser refuses, with the status to answer (the connection is closed after it).
package struct HTTPRequestError: Error, Equatable, CustomStringConvertible {
    package var status: HTTPResponseStatus
    package var reason: String
    package var description: String { reason }

    static func bad(_ reason: String) -> HTTPRequestError { HTTPRequestError(status: .badRequest, reason: reason) }
}

/// An incremental HTTP/1.1 request parser (RFC 9112) for the agent's connections: it takes the bytes as they
/// arrive and gives each request's head, its body in pieces and its end, one part per call.
///
/// It exists because NIO's general decoder (llhttp with callbacks per field, every header built as strings,
/// each part boxed for the pipeline) was the largest cost left per webhook request after the mutation
/// itself; this one reads only the fields the agent needs and hands body bytes on as slices. It is strict
/// where leniency invites request smuggling: CRLF line ends only, no whitespace before a field's colon, no
/// line folding, one Host for HTTP/1.1, one Content-Length with one number, and never Content-Length together
/// with Transfer-Encoding.
package struct HTTPRequestParser {
    package enum Part: Equatable {
        case head(AgentRequestHead)
        case body(ByteBuffer)
        case end
    }

    private enum State: Equatable {
        case head
        case fixedBody(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers
        case noBody
    }

    private var state = State.head
    /// How many bytes of the waiting head were already searched for its end.
    private var headScanned = 0
    /// The bytes of the trailer fields read so far.
    private var trailerBytes = 0
    /// The most bytes a request line and its header fields may take.
    let maxHeadBytes: Int

    package init(maxHeadBytes: Int = 64 * 1024) {
        self.maxHeadBytes = maxHeadBytes
    }

    /// Whether the parser is between requests (nothing of the next one read yet).
    var isBetweenRequests: Bool { state == .head && headScanned == 0 }

    /// The next part from `buffer`, whose reader index moves past what the part used; nil when more bytes
    /// are needed.
    package mutating func next(_ buffer: inout ByteBuffer) throws(HTTPRequestError) -> Part? {
        switch state {
        case .head:
            guard let head = try readHead(&buffer) else { return nil }
            if let length = head.contentLength, length > 0 {
                state = .fixedBody(remaining: length)
            } else if head.chunked {
                state = .chunkSize
            } else {
                state = .noBody
            }
            return .head(head)
        case .noBody:
            state = .head
            return .end
        case .fixedBody(let remaining):
            return bodyPiece(&buffer, remaining: remaining, then: .noBody) { .fixedBody(remaining: $0) }
        case .chunkSize:
            guard let line = try readLine(&buffer, limit: 4096, what: "chunk size line") else { return nil }
            let size = try Self.chunkSize(line)
            state = size == 0 ? .trailers : .chunkData(remaining: size)
            return try next(&buffer)
        case .chunkData(let remaining):
            return bodyPiece(&buffer, remaining: remaining, then: .chunkDataEnd) { .chunkData(remaining: $0) }
        case .chunkDataEnd:
            guard let line = try readLine(&buffer, limit: 2, what: "chunk end") else { return nil }
            guard line.isEmpty else { throw .bad("chunk data longer than its size") }
            state = .chunkSize
            return try next(&buffer)
        case .trailers:
            // Trailer fields are checked like header fields, then ignored (at most `maxHeadBytes` of them); an
            // empty line ends the message.
            while true {
                guard let line = try readLine(&buffer, limit: maxHeadBytes, what: "trailer field") else { return nil }
                if line.isEmpty { state = .head; trailerBytes = 0; return .end }
                try line.withUnsafeBufferPointer { bytes throws(HTTPRequestError) in
                    let name = try Self.fieldLine(bytes).name
                    // Framing fields have no place after the body (RFC 9110 section 6.5.1).
                    if Self.lowercaseEqual(name, "transfer-encoding") || Self.lowercaseEqual(name, "content-length") {
                        throw .bad("\(String(decoding: name, as: UTF8.self)) in the trailer fields")
                    }
                }
                trailerBytes += line.count + 2
                guard trailerBytes <= maxHeadBytes else {
                    throw HTTPRequestError(status: .requestHeaderFieldsTooLarge, reason: "trailer fields over \(maxHeadBytes) bytes")
                }
            }
        }
    }

    /// Up to `remaining` body bytes from `buffer` as one piece; the state becomes `done` when they were the
    /// last, else `more` of what is left.
    private mutating func bodyPiece(_ buffer: inout ByteBuffer, remaining: Int, then done: State,
                                    _ more: (Int) -> State) -> Part? {
        guard buffer.readableBytes > 0 else { return nil }
        let n = min(remaining, buffer.readableBytes)
        let piece = buffer.readSlice(length: n)!
        state = remaining == n ? done : more(remaining - n)
        return .body(piece)
    }

    /// One CRLF-terminated line (without its CRLF), or nil when it has not all arrived.
    private func readLine(_ buffer: inout ByteBuffer, limit: Int, what: String) throws(HTTPRequestError) -> [UInt8]? {
        let found: Int? = buffer.withUnsafeReadableBytes { raw in
            raw.firstIndex(of: UInt8(ascii: "\n"))
        }
        guard let lf = found else {
            if buffer.readableBytes > limit + 1 { throw .bad("\(what) too long") }
            return nil
        }
        // Length first, as when the LF has not arrived yet: the answer must not depend on how bytes were cut.
        guard lf - 1 <= limit else { throw .bad("\(what) too long") }
        guard lf > 0, buffer.getInteger(at: buffer.readerIndex + lf - 1, as: UInt8.self) == UInt8(ascii: "\r") else {
            throw .bad("\(what) ends without CR before LF")
        }
        let line = buffer.readBytes(length: lf - 1)!
        buffer.moveReaderIndex(forwardBy: 2)
        return line
    }

    static func chunkSize(_ line: [UInt8]) throws(HTTPRequestError) -> Int {
        var size = 0, digits = 0
        for byte in line {
            let value: Int
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = Int(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): value = Int(byte - UInt8(ascii: "a")) + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): value = Int(byte - UInt8(ascii: "A")) + 10
            case UInt8(ascii: ";"), UInt8(ascii: " "), UInt8(ascii: "\t"):
                // Chunk extensions follow: checked, then ignored.
                guard digits > 0 else { throw .bad("chunk size missing") }
                try checkChunkExtensions(line[digits...])
                return size
            default:
                throw .bad("chunk size is not hexadecimal")
            }
            digits += 1
            guard digits <= 15 else { throw .bad("chunk size too large") }
            size = size << 4 | value
        }
        guard digits > 0 else { throw .bad("chunk size missing") }
        return size
    }

    /// `*( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] )` (RFC 9112 section 7.1.1).
    private static func checkChunkExtensions(_ text: ArraySlice<UInt8>) throws(HTTPRequestError) {
        var i = text.startIndex
        func skipWhitespace() -> Bool {
            let start = i
            while i < text.endIndex, text[i] == UInt8(ascii: " ") || text[i] == UInt8(ascii: "\t") { i += 1 }
            return i > start
        }
        func token() -> Bool {
            let start = i
            while i < text.endIndex, isTokenByte(text[i]) { i += 1 }
            return i > start
        }
        while true {
            // Whitespace only before a ";" or "=", never at the end of the line.
            let spaced = skipWhitespace()
            guard i < text.endIndex else {
                if spaced { throw .bad("whitespace at the end of a chunk size line") }
                return
            }
            guard text[i] == UInt8(ascii: ";") else { throw .bad("a chunk extension does not start with ;") }
            i += 1
            _ = skipWhitespace()
            guard token() else { throw .bad("a chunk extension name is not a token") }
            let afterName = i
            _ = skipWhitespace()
            guard i < text.endIndex, text[i] == UInt8(ascii: "=") else { i = afterName; continue }
            i += 1
            _ = skipWhitespace()
            if i < text.endIndex, text[i] == UInt8(ascii: "\"") {
                i += 1
                while true {
                    guard i < text.endIndex else { throw .bad("a chunk extension's quoted value does not end") }
                    let byte = text[i]
                    i += 1
                    if byte == UInt8(ascii: "\"") { break }
                    if byte == UInt8(ascii: "\\") {
                        guard i < text.endIndex, text[i] == 0x09 || (text[i] >= 0x20 && text[i] != 0x7F) else {
                            throw .bad("a chunk extension's quoted value has a bad escape")
                        }
                        i += 1
                    } else if byte != 0x09 && (byte < 0x20 || byte == 0x7F) {
                        throw .bad("a chunk extension's quoted value holds a control byte")
                    }
                }
            } else if !token() {
                throw .bad("a chunk extension value is neither a token nor a quoted string")
            }
        }
    }

    /// The head, once all of it (up to the empty line) is in `buffer`.
    private mutating func readHead(_ buffer: inout ByteBuffer) throws(HTTPRequestError) -> AgentRequestHead? {
        // Empty lines before a request line are ignored (RFC 9112 section 2.2).
        while headScanned == 0, buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) == UInt8(ascii: "\r") {
            guard buffer.readableBytes >= 2 else { return nil }  // its LF is still to come
            guard buffer.getInteger(at: buffer.readerIndex + 1, as: UInt8.self) == UInt8(ascii: "\n") else { break }
            buffer.moveReaderIndex(forwardBy: 2)
        }
        let scanFrom = max(0, headScanned - 3)
        let end: Int? = buffer.withUnsafeReadableBytes { raw in
            let p = raw.bindMemory(to: UInt8.self)
            var i = scanFrom
            while i + 3 < p.count {
                if p[i + 3] != UInt8(ascii: "\n") {
                    // The last byte of "\r\n\r\n" is not here: it cannot end at i + 3 or, unless p[i + 3]
                    // is a CR, at any of the next three offsets.
                    i += p[i + 3] == UInt8(ascii: "\r") ? 1 : 4
                    continue
                }
                if p[i] == UInt8(ascii: "\r"), p[i + 1] == UInt8(ascii: "\n"), p[i + 2] == UInt8(ascii: "\r") { return i + 4 }
                i += 1
            }
            return nil
        }
        // Every LF must follow a CR. A client ending its lines with LF alone is told so at once, instead of
        // waiting for a CRLF CRLF that never comes; and it is checked before anything else in a whole head, so
        // that the answer is the same however the head's bytes were cut into reads.
        let bareLF = buffer.withUnsafeReadableBytes { raw in
            (scanFrom..<(end ?? raw.count)).contains { k in raw[k] == UInt8(ascii: "\n") && (k == 0 || raw[k - 1] != UInt8(ascii: "\r")) }
        }
        if bareLF { throw .bad("a line of the request head ends without CR before LF") }
        guard let end else {
            headScanned = buffer.readableBytes
            if buffer.readableBytes > maxHeadBytes {
                throw HTTPRequestError(status: .requestHeaderFieldsTooLarge, reason: "request head over \(maxHeadBytes) bytes")
            }
            return nil
        }
        guard end <= maxHeadBytes + 2 else {
            throw HTTPRequestError(status: .requestHeaderFieldsTooLarge, reason: "request head over \(maxHeadBytes) bytes")
        }
        headScanned = 0
        let head = try buffer.withUnsafeReadableBytes { raw throws(HTTPRequestError) in
            try Self.parseHead(UnsafeBufferPointer(rebasing: raw.bindMemory(to: UInt8.self)[..<(end - 2)]))
        }
        buffer.moveReaderIndex(forwardBy: end)
        return head
    }
}

extension HTTPRequestParser {
    /// The request line and header fields: `bytes` holds each line with its CRLF, without the empty line.
    static func parseHead(_ bytes: UnsafeBufferPointer<UInt8>) throws(HTTPRequestError) -> AgentRequestHead {
        var head: AgentRequestHead?
        var fields = FieldsSeen()
        var lineStart = 0
        while lineStart < bytes.count {
            var lf = lineStart
            while lf < bytes.count, bytes[lf] != UInt8(ascii: "\n") { lf += 1 }
            guard lf < bytes.count, lf > lineStart, bytes[lf - 1] == UInt8(ascii: "\r") else {
                throw .bad("a line of the request head ends without CR before LF")
            }
            let line = UnsafeBufferPointer(rebasing: bytes[lineStart..<(lf - 1)])
            if head == nil {
                head = try requestLine(line)
            } else {
                try field(line, into: &head!, seen: &fields)
            }
            lineStart = lf + 1
        }
        guard var head else { throw .bad("no request line") }
        let isHTTP11 = head.version.minor >= 1
        guard fields.hosts == 1 || (!isHTTP11 && fields.hosts == 0) else {
            throw .bad(fields.hosts == 0 ? "an HTTP/1.1 request without a Host field" : "more than one Host field")
        }
        if head.chunked, head.contentLength != nil { throw .bad("both Content-Length and Transfer-Encoding") }
        // An HTTP/1.0 message with Transfer-Encoding has faulty framing: the connection closes after it
        // (RFC 9112 section 6.1).
        head.keepAlive = !fields.close && (isHTTP11 || (fields.keepAlive && !head.chunked))
        return head
    }

    private struct FieldsSeen {
        var hosts = 0
        var close = false
        var keepAlive = false
    }

    /// `method SP request-target SP HTTP-version`.
    private static func requestLine(_ line: UnsafeBufferPointer<UInt8>) throws(HTTPRequestError) -> AgentRequestHead {
        guard let firstSpace = line.firstIndex(of: UInt8(ascii: " ")),
              let secondSpace = line[(firstSpace + 1)...].firstIndex(of: UInt8(ascii: " ")),
              firstSpace > 0, secondSpace > firstSpace + 1 else {
            throw .bad("the request line is not METHOD TARGET HTTP-VERSION")
        }
        let method = UnsafeBufferPointer(rebasing: line[..<firstSpace])
        let target = UnsafeBufferPointer(rebasing: line[(firstSpace + 1)..<secondSpace])
        let version = UnsafeBufferPointer(rebasing: line[(secondSpace + 1)...])
        guard method.allSatisfy(isTokenByte) else { throw .bad("the method is not a token") }
        // Visible ASCII only (RFC 3986 characters; anything else is percent-encoded by a client).
        guard target.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw .bad("the request target holds a space, a control byte or a byte outside ASCII")
        }
        // Origin form (`/path?query`), what every API server sends, or `*`; an absolute URL has no route here.
        guard target[0] == UInt8(ascii: "/") || (target.count == 1 && target[0] == UInt8(ascii: "*")) else {
            throw .bad("the request target is not a path (origin form, /path?query)")
        }
        guard version.count == 8, version.starts(with: "HTTP/".utf8), version[6] == UInt8(ascii: "."),
              isDigit(version[5]), isDigit(version[7]) else {
            throw .bad("the request line does not end in HTTP/1.x")
        }
        guard version[5] == UInt8(ascii: "1") else {
            throw HTTPRequestError(status: .httpVersionNotSupported, reason: "HTTP/\(version[5] - 48).\(version[7] - 48) is not supported (HTTP/1.x only)")
        }
        let httpMethod: HTTPMethod
        if equal(method, "POST") { httpMethod = .POST } else if equal(method, "GET") { httpMethod = .GET } else {
            httpMethod = HTTPMethod(rawValue: String(decoding: method, as: UTF8.self))
        }
        // HTTP/1.2 and later minors are read as HTTP/1.1, the highest this server speaks (RFC 9110 section 6.2),
        // so the answer says HTTP/1.1.
        return AgentRequestHead(method: httpMethod, target: String(decoding: target, as: UTF8.self),
                                version: HTTPVersion(major: 1, minor: min(Int(version[7] - 48), 1)))
    }

    /// `name ":" OWS value OWS`, read into `head` when it is one the agent uses.
    private static func field(_ line: UnsafeBufferPointer<UInt8>, into head: inout AgentRequestHead,
                              seen: inout FieldsSeen) throws(HTTPRequestError) {
        let (name, value) = try fieldLine(line)
        switch name.count {
        case 4 where lowercaseEqual(name, "host"):
            seen.hosts += 1
        case 6 where lowercaseEqual(name, "expect"):
            head.expectsContinue = lowercaseEqual(value, "100-continue")
        case 10 where lowercaseEqual(name, "connection"):
            try eachListMember(value) { token in
                if lowercaseEqual(token, "close") { seen.close = true }
                if lowercaseEqual(token, "keep-alive") { seen.keepAlive = true }
            }
        case 12 where lowercaseEqual(name, "content-type"):
            head.contentType = equal(value, "application/json") ? "application/json" : String(decoding: value, as: UTF8.self)
        case 14 where lowercaseEqual(name, "content-length"):
            // One field with one number. RFC 9110 section 8.6 lets a recipient accept a list of equal values,
            // but llhttp, nginx and most proxies refuse it: framing read differently is how requests are smuggled.
            guard head.contentLength == nil else { throw .bad("more than one Content-Length") }
            guard !value.isEmpty, value.count <= 15, value.allSatisfy(isDigit) else {
                throw .bad("Content-Length is not a decimal number")
            }
            head.contentLength = value.reduce(0) { $0 * 10 + Int($1 - 48) }
        case 17 where lowercaseEqual(name, "transfer-encoding"):
            // Every member of the list must name a coding: an empty list, or empty members, would leave the
            // body's framing to whoever reads the request next (llhttp refuses both).
            var memberHasCoding = false
            for byte in value {
                if byte == UInt8(ascii: ",") {
                    guard memberHasCoding else { throw .bad("Transfer-Encoding with an empty member") }
                    memberHasCoding = false
                } else if byte != UInt8(ascii: " ") && byte != UInt8(ascii: "\t") {
                    memberHasCoding = true
                }
            }
            guard memberHasCoding else { throw .bad("Transfer-Encoding with an empty member") }
            try eachListMember(value) { coding throws(HTTPRequestError) in
                guard lowercaseEqual(coding, "chunked") else {
                    throw HTTPRequestError(status: .notImplemented,
                                           reason: "transfer coding \(String(decoding: coding, as: UTF8.self)) is not supported (only chunked)")
                }
                guard !head.chunked else { throw .bad("chunked applied twice") }
                head.chunked = true
            }
        default:
            break
        }
    }

    /// `name ":" OWS value OWS`, checked (a token name, no whitespace before the colon, no folding, no control
    /// bytes in the value): the name, and the value without the whitespace around it.
    private static func fieldLine(_ line: UnsafeBufferPointer<UInt8>) throws(HTTPRequestError)
        -> (name: UnsafeBufferPointer<UInt8>, value: UnsafeBufferPointer<UInt8>) {
        guard let first = line.first, first != UInt8(ascii: " "), first != UInt8(ascii: "\t") else {
            throw .bad(line.isEmpty ? "an empty header line" : "a folded header field (obsolete line folding)")
        }
        var colon = 0
        while colon < line.count, isTokenByte(line[colon]) { colon += 1 }
        guard colon < line.count, line[colon] == UInt8(ascii: ":"), colon > 0 else {
            if colon < line.count, line[colon] == UInt8(ascii: " ") || line[colon] == UInt8(ascii: "\t") {
                throw .bad("whitespace between a header field's name and its colon")
            }
            throw .bad("a header field name that is not a token, or no colon")
        }
        let name = UnsafeBufferPointer(rebasing: line[..<colon])
        var start = colon + 1, end = line.count
        while start < end, line[start] == UInt8(ascii: " ") || line[start] == UInt8(ascii: "\t") { start += 1 }
        while end > start, line[end - 1] == UInt8(ascii: " ") || line[end - 1] == UInt8(ascii: "\t") { end -= 1 }
        let value = UnsafeBufferPointer(rebasing: line[start..<end])
        guard value.allSatisfy({ $0 >= 0x20 ? $0 != 0x7F : $0 == 0x09 }) else {
            throw .bad("the header field \(String(decoding: name, as: UTF8.self)) holds a control byte")
        }
        return (name, value)
    }

    /// Each member of a comma-separated field value, without the whitespace around it; empty members are
    /// skipped (RFC 9110 section 5.6.1).
    private static func eachListMember(_ value: UnsafeBufferPointer<UInt8>,
                                       _ body: (UnsafeBufferPointer<UInt8>) throws(HTTPRequestError) -> Void) throws(HTTPRequestError) {
        var start = 0
        while start <= value.count {
            var end = start
            while end < value.count, value[end] != UInt8(ascii: ",") { end += 1 }
            var a = start, b = end
            while a < b, value[a] == UInt8(ascii: " ") || value[a] == UInt8(ascii: "\t") { a += 1 }
            while b > a, value[b - 1] == UInt8(ascii: " ") || value[b - 1] == UInt8(ascii: "\t") { b -= 1 }
            if b > a { try body(UnsafeBufferPointer(rebasing: value[a..<b])) }
            start = end + 1
        }
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    /// RFC 9110's `tchar`.
    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"),
             UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"),
             UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    private static func equal(_ bytes: UnsafeBufferPointer<UInt8>, _ text: StaticString) -> Bool {
        bytes.elementsEqual(UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Whether `bytes` are `lowercase` (given in lower case) ignoring ASCII case.
    private static func lowercaseEqual(_ bytes: UnsafeBufferPointer<UInt8>, _ lowercase: StaticString) -> Bool {
        guard bytes.count == lowercase.utf8CodeUnitCount else { return false }
        let expected = lowercase.utf8Start
        for i in 0..<bytes.count {
            let c = bytes[i]
            let folded = c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z") ? c | 0x20 : c
            if folded != expected[i] { return false }
        }
        return true
    }
}

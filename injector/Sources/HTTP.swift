/// One parsed HTTP/1.x request head. Only what the registry needs is kept.
struct Request {
    var method: Bytes = []
    var target: Bytes = []
    var keepAlive = true
    var hasBody = false
    var range: [UInt8]? = nil
}

/// What the router decided: status, headers and where the body comes from.
struct Response {
    enum Body {
        case none
        case bytes([UInt8])
        /// `count` bytes of the payload starting at `offset`, sent straight from the chunk files.
        case payload(offset: Int, count: Int)
    }
    var status: Int
    var headers: [(StaticString, Bytes)] = []
    var body: Body = .none
    /// Content-Length to announce (differs from the body for HEAD).
    var contentLength: Int = 0
    var close = false
}

enum RequestHeadError: Error {
    case bad(StaticString)
    case versionNotSupported
}

/// Parses a request head (request line and headers, without the final blank line).
func parseRequestHead(_ head: UnsafeBufferPointer<UInt8>) -> Result<Request, RequestHeadError> {
    var lines: [(Int, Int)] = []
    var start = 0
    var i = 0
    while i < head.count {
        if head[i] == 10 {
            var end = i
            if end > start && head[end - 1] == 13 { end -= 1 }
            lines.append((start, end))
            start = i + 1
        }
        i += 1
    }
    if start < head.count {
        var end = head.count
        if head[end - 1] == 13 { end -= 1 }
        lines.append((start, end))
    }
    guard let (ls, le) = lines.first else { return .failure(.bad("empty request")) }
    // request line: METHOD SP TARGET SP VERSION
    var parts: [(Int, Int)] = []
    var p = ls
    var partStart = ls
    while p <= le {
        if p == le || head[p] == 32 {
            if p > partStart { parts.append((partStart, p)) }
            partStart = p + 1
        }
        p += 1
    }
    guard parts.count == 3 else { return .failure(.bad("malformed request line")) }
    var request = Request()
    request.method = Bytes(UnsafeBufferPointer(rebasing: head[parts[0].0..<parts[0].1]))
    request.target = Bytes(UnsafeBufferPointer(rebasing: head[parts[1].0..<parts[1].1]))
    let version = UnsafeBufferPointer(rebasing: head[parts[2].0..<parts[2].1])
    if equalsASCII(version, "HTTP/1.1") {
        request.keepAlive = true
    } else if equalsASCII(version, "HTTP/1.0") {
        request.keepAlive = false
    } else if version.starts(with: "HTTP/".utf8) {
        return .failure(.versionNotSupported)
    } else {
        return .failure(.bad("malformed request line"))
    }
    for (hs, he) in lines.dropFirst() {
        var colon = hs
        while colon < he && head[colon] != 58 { colon += 1 }
        guard colon < he, colon > hs else { return .failure(.bad("malformed header line")) }
        let name = UnsafeBufferPointer(rebasing: head[hs..<colon])
        var vs = colon + 1
        while vs < he && (head[vs] == 32 || head[vs] == 9) { vs += 1 }
        var ve = he
        while ve > vs && (head[ve - 1] == 32 || head[ve - 1] == 9) { ve -= 1 }
        let value = UnsafeBufferPointer(rebasing: head[vs..<ve])
        if equalsASCIIIgnoringCase(name, "connection") {
            if containsASCIIIgnoringCase(value, "close") { request.keepAlive = false }
            if containsASCIIIgnoringCase(value, "keep-alive") { request.keepAlive = true }
        } else if equalsASCIIIgnoringCase(name, "content-length") {
            if !(value.count == 1 && value[0] == 48) { request.hasBody = true }
        } else if equalsASCIIIgnoringCase(name, "transfer-encoding") {
            request.hasBody = true
        } else if equalsASCIIIgnoringCase(name, "range") {
            request.range = Array(value)
        }
    }
    return .success(request)
}

private func lower(_ c: UInt8) -> UInt8 { (c >= 65 && c <= 90) ? c + 32 : c }

func equalsASCII(_ a: UnsafeBufferPointer<UInt8>, _ b: StaticString) -> Bool {
    guard a.count == b.utf8CodeUnitCount else { return false }
    let p = b.utf8Start
    for i in 0..<a.count where a[i] != p[i] { return false }
    return true
}

func equalsASCIIIgnoringCase(_ a: UnsafeBufferPointer<UInt8>, _ b: StaticString) -> Bool {
    guard a.count == b.utf8CodeUnitCount else { return false }
    let p = b.utf8Start
    for i in 0..<a.count where lower(a[i]) != p[i] { return false }
    return true
}

func containsASCIIIgnoringCase(_ a: UnsafeBufferPointer<UInt8>, _ b: StaticString) -> Bool {
    let n = b.utf8CodeUnitCount
    guard a.count >= n else { return false }
    let p = b.utf8Start
    var i = 0
    outer: while i + n <= a.count {
        for k in 0..<n where lower(a[i + k]) != p[k] { i += 1; continue outer }
        return true
    }
    return false
}

/// A byte range request against an entity of `size` bytes.
enum RangeResult {
    case full
    case partial(start: Int, end: Int) // inclusive end
    case unsatisfiable
}

/// Parses `bytes=a-b`, `bytes=a-` and `bytes=-n`; anything else (several ranges, other units) is
/// ignored and the whole entity is sent, as RFC 9110 allows.
func parseRange(_ value: [UInt8], size: Int) -> RangeResult {
    guard value.count > 6, value.starts(with: "bytes=".utf8) else { return .full }
    let spec = value[6...]
    if spec.contains(44) { return .full }
    guard let dash = spec.firstIndex(of: 45) else { return .full }
    func number(_ s: ArraySlice<UInt8>) -> Int?? {
        if s.isEmpty { return .some(nil) }
        var v = 0
        for c in s {
            guard c >= 48 && c <= 57, v < (1 << 58) else { return nil }
            v = v * 10 + Int(c - 48)
        }
        return .some(v)
    }
    guard let first = number(spec[spec.startIndex..<dash]), let last = number(spec[(dash + 1)...]) else { return .full }
    switch (first, last) {
    case (nil, nil): return .full
    case (nil, let n?):
        if n == 0 || size == 0 { return .unsatisfiable }
        return .partial(start: max(0, size - n), end: size - 1)
    case (let a?, nil):
        if a >= size { return .unsatisfiable }
        return .partial(start: a, end: size - 1)
    case (let a?, let b?):
        if a > b { return .full }
        if a >= size { return .unsatisfiable }
        return .partial(start: a, end: min(b, size - 1))
    }
}

/// The reason phrase for the statuses the injector sends.
func reasonPhrase(_ status: Int) -> StaticString {
    switch status {
    case 200: return "OK"
    case 206: return "Partial Content"
    case 400: return "Bad Request"
    case 404: return "Not Found"
    case 405: return "Method Not Allowed"
    case 408: return "Request Timeout"
    case 416: return "Range Not Satisfiable"
    case 431: return "Request Header Fields Too Large"
    case 503: return "Service Unavailable"
    case 505: return "HTTP Version Not Supported"
    default: return "Error"
    }
}

/// Serialises the status line and headers.
func responseHead(_ r: Response) -> Bytes {
    var s = Bytes()
    s.reserveCapacity(512)
    s.append("HTTP/1.1 ")
    s.append(decimal: r.status)
    s.append(32)
    s.append(reasonPhrase(r.status))
    s.append("\r\n")
    for (name, value) in r.headers {
        s.append(name)
        s.append(": ")
        s.append(contentsOf: value)
        s.append("\r\n")
    }
    s.append("Content-Length: ")
    s.append(decimal: r.contentLength)
    s.append("\r\nDocker-Distribution-Api-Version: registry/2.0\r\n")
    if r.close { s.append("Connection: close\r\n") }
    s.append("\r\n")
    return s
}

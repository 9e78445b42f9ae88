import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A plain TCP client for sending exactly the bytes a test wants (malformed requests, slow clients,
/// pipelining) and reading what comes back, with a receive timeout so a test never hangs.
final class RawConnection {
    let fd: Int32

    init(port: Int, timeoutSeconds: Int = 10) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        var tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else { close(fd); throw POSIXError(.ECONNREFUSED) }
    }

    deinit { close(fd) }

    func send(_ text: String) { send(Data(text.utf8)) }

    func send(_ data: Data) {
        data.withUnsafeBytes { buf in
            var off = 0
            while off < buf.count {
                let n = Glibc.send(fd, buf.baseAddress! + off, buf.count - off, Int32(MSG_NOSIGNAL))
                if n <= 0 { return }
                off += n
            }
        }
    }

    /// Reads until the peer closes or the timeout passes.
    func readToEnd() -> Data {
        var out = Data()
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buf, buf.count, 0)
            if n <= 0 { break }
            out.append(contentsOf: buf[0..<n])
        }
        return out
    }

    /// Reads one response (head plus Content-Length bytes of body, none for HEAD).
    /// Bytes received past the end of the last response (pipelined responses can share a read).
    private var pending = Data()

    func readResponse(head isHead: Bool = false) -> HTTPResponse? {
        var data = pending
        pending = Data()
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            if let r = HTTPResponse.parse(data, isHead: isHead), data.count >= r.totalLength {
                pending = data.count > r.totalLength ? Data(data[(data.startIndex + r.totalLength)...]) : Data()
                return r
            }
            let n = recv(fd, &buf, buf.count, 0)
            if n <= 0 { return HTTPResponse.parse(data, isHead: isHead) }
            data.append(contentsOf: buf[0..<n])
        }
    }
}

/// A parsed HTTP/1.1 response.
struct HTTPResponse {
    let status: Int
    let headers: [String: String]
    let body: Data
    let totalLength: Int

    func header(_ name: String) -> String? { headers[name.lowercased()] }
    var bodyText: String { String(decoding: body, as: UTF8.self) }

    static func parse(_ data: Data, isHead: Bool) -> HTTPResponse? {
        guard let range = data.range(of: Data("\r\n\r\n".utf8)) else { return nil }
        let head = String(decoding: data[data.startIndex..<range.lowerBound], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else { return nil }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let length = isHead ? 0 : Int(headers["content-length"] ?? "0") ?? 0
        let bodyStart = range.upperBound
        let available = data.count - (bodyStart - data.startIndex)
        let body = data[bodyStart..<(bodyStart + min(length, available))]
        return HTTPResponse(status: status, headers: headers, body: Data(body),
                            totalLength: (bodyStart - data.startIndex) + length)
    }
}

/// One request on a fresh connection.
func request(_ port: Int, _ method: String, _ path: String, headers: [String] = []) throws -> HTTPResponse {
    let c = try RawConnection(port: port)
    let extra = headers.map { $0 + "\r\n" }.joined()
    c.send("\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\(extra)Connection: close\r\n\r\n")
    guard let r = c.readResponse(head: method == "HEAD") else { throw POSIXError(.EPROTO) }
    return r
}

import CShim

/// Why the injector refuses to start. Every case renders as one line naming the chunk, offset or entry.
enum InjectorError: Error {
    case usage(Message)
    case chunks(Message)
    case hashMismatch(expected: Bytes, actual: Bytes, chunks: Int, bytes: Int)
    case malformed(Message)
    case io(Message)
    case listen(Message)

    var message: Message {
        switch self {
        case .usage(let m): return m
        case .chunks(let m): return m
        case .hashMismatch(let expected, let actual, let chunks, let bytes):
            return "payload SHA-256 mismatch: expected \(expected), computed \(actual) over \(chunks) chunks (\(bytes) bytes); refusing to serve"
        case .malformed(let m): return "malformed payload: \(m)"
        case .io(let m): return m
        case .listen(let m): return m
        }
    }

    var exitCode: Int32 {
        if case .usage = self { return 2 }
        return 1
    }
}

/// Writes one line to stderr.
func printError(_ line: Message) {
    var bytes = line.bytes
    bytes.append(10)
    writeAll(2, bytes)
}

/// Writes one line to stdout.
func printLine(_ line: Message) {
    var bytes = line.bytes
    bytes.append(10)
    writeAll(1, bytes)
}

/// Writes all of `bytes` to `fd` (looping over short writes).
func writeAll(_ fd: Int32, _ bytes: Bytes) {
    bytes.withUnsafeBufferPointer { buf in
        var p = buf.baseAddress!
        var n = buf.count
        while n > 0 {
            let w = write(fd, p, n)
            if w <= 0 { if w < 0 && shim_errno() == EINTR { continue }; return }
            p += w
            n -= w
        }
    }
}

/// The text of errno for messages.
func errnoText() -> Bytes {
    guard let s = strerror(shim_errno()) else { return [] }
    return Bytes(UnsafeBufferPointer(start: UnsafeRawPointer(s).assumingMemoryBound(to: UInt8.self), count: strlen(s)))
}

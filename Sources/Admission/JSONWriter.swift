import Foundation
import OutpostCore

/// Compact JSON bytes for a `JSONValue`, for the webhook's hot path: the same output as
/// `JSONValue.encoded()` (keys sorted, integers without a fraction, `/` not escaped) without going through
/// `JSONEncoder`, whose per-value containers dominated the cost of writing an AdmissionReview response.
enum JSONWriter {
    static func encode(_ value: JSONValue) -> [UInt8] {
        var out = ByteWriter()
        write(value, into: &out)
        return out.bytes
    }

    static func write(_ value: JSONValue, into out: inout ByteWriter) {
        switch value {
        case .null: out.append("null")
        case .bool(let b): out.append(b ? "true" : "false")
        case .number(let n):
            if n.rounded() == n, abs(n) < 9.0e15 { out.append(String(Int64(n))) }
            else { out.append("\(n)") }
        case .string(let s): writeString(s, into: &out)
        case .array(let a):
            out.append(UInt8(ascii: "["))
            for (i, element) in a.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                write(element, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let o):
            out.append(UInt8(ascii: "{"))
            // Sorted by UTF-8 bytes, which for the ASCII keys of Kubernetes objects is JSONEncoder's order.
            let members = o.sorted { utf8Precedes($0.key, $1.key) }
            for (i, member) in members.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                writeString(member.key, into: &out)
                out.append(UInt8(ascii: ":"))
                write(member.value, into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// Whether `a`'s UTF-8 bytes sort before `b`'s.
    static func utf8Precedes(_ a: String, _ b: String) -> Bool {
        // Native strings are contiguous UTF-8: compare in place, without copying either.
        let fast = a.utf8.withContiguousStorageIfAvailable { a in
            b.utf8.withContiguousStorageIfAvailable { b -> Bool in
                let n = min(a.count, b.count)
                if n > 0, let pa = a.baseAddress, let pb = b.baseAddress {
                    let c = memcmp(pa, pb, n)
                    if c != 0 { return c < 0 }
                }
                return a.count < b.count
            }
        }
        return (fast ?? nil) ?? a.utf8.lexicographicallyPrecedes(b.utf8)
    }

    private static let base64Alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Appends standard base64 (RFC 4648, padded, no line breaks) of `bytes`: what
    /// `Data.base64EncodedString()` gives.
    static func appendBase64(_ bytes: UnsafeBufferPointer<UInt8>, to out: inout ByteWriter) {
        out.append(count: (bytes.count + 2) / 3 * 4) { o in
            base64Alphabet.withUnsafeBufferPointer { alphabet in
                guard var o = o.baseAddress, let a = alphabet.baseAddress, var p = bytes.baseAddress else { return }
                let end = p + bytes.count
                while end - p >= 3 {
                    let v = UInt32(p[0]) << 16 | UInt32(p[1]) << 8 | UInt32(p[2])
                    o[0] = a[Int(v >> 18)]
                    o[1] = a[Int((v >> 12) & 63)]
                    o[2] = a[Int((v >> 6) & 63)]
                    o[3] = a[Int(v & 63)]
                    p += 3
                    o += 4
                }
                let rest = end - p
                if rest > 0 {
                    let v = UInt32(p[0]) << 16 | (rest == 2 ? UInt32(p[1]) << 8 : 0)
                    o[0] = a[Int(v >> 18)]
                    o[1] = a[Int((v >> 12) & 63)]
                    o[2] = rest == 2 ? a[Int((v >> 6) & 63)] : UInt8(ascii: "=")
                    o[3] = UInt8(ascii: "=")
                }
            }
        }
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    /// Runs of bytes that need no escaping are copied whole; only `"`, `\\` and control bytes are escaped.
    static func writeString(_ s: String, into out: inout ByteWriter) {
        out.append(UInt8(ascii: "\""))
        var s = s
        s.withUTF8 { bytes in
            var run = 0, nonASCII = false
            while true {
                let i = JSONByteScan.firstSpecial(in: bytes, from: run, sawNonASCII: &nonASCII)
                guard i < bytes.count else { break }
                let c = bytes[i]
                out.append(UnsafeBufferPointer(rebasing: bytes[run..<i]))
                run = i + 1
                out.append(UInt8(ascii: "\\"))
                switch c {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): out.append(c)
                case 0x0A: out.append(UInt8(ascii: "n"))
                case 0x0D: out.append(UInt8(ascii: "r"))
                case 0x09: out.append(UInt8(ascii: "t"))
                case 0x08: out.append(UInt8(ascii: "b"))
                case 0x0C: out.append(UInt8(ascii: "f"))
                default:
                    out.append("u00")
                    out.append(hex[Int(c >> 4)])
                    out.append(hex[Int(c & 0xF)])
                }
            }
            out.append(UnsafeBufferPointer(rebasing: bytes[run...]))
        }
        out.append(UInt8(ascii: "\""))
    }
}

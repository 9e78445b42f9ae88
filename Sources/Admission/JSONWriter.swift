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

    /// The two base64 characters of every 12-bit value, first character in the low byte: one load per two
    /// characters instead of one per character.
    private static let base64Pairs: [UInt16] = (0..<4096).map {
        UInt16(base64Alphabet[$0 >> 6]) | UInt16(base64Alphabet[$0 & 63]) << 8
    }

    /// Appends standard base64 (RFC 4648, padded, no line breaks) of `bytes`: what
    /// `Data.base64EncodedString()` gives.
    static func appendBase64(_ bytes: UnsafeBufferPointer<UInt8>, to out: inout ByteWriter) {
        out.append(count: (bytes.count + 2) / 3 * 4) { o in
            base64Pairs.withUnsafeBufferPointer { pairs in
                guard let o = o.baseAddress, let pair = pairs.baseAddress, var p = bytes.baseAddress else { return }
                let raw = UnsafeMutableRawPointer(o)
                var written = 0
                let end = p + bytes.count
                // Six bytes (eight characters) per step from one 8-byte load, while 8 bytes are readable.
                while end - p >= 8 {
                    let v = UInt64(bigEndian: UnsafeRawPointer(p).loadUnaligned(as: UInt64.self))
                    let eight = UInt64(pair[Int(v >> 52)]) | UInt64(pair[Int((v >> 40) & 0xFFF)]) << 16
                        | UInt64(pair[Int((v >> 28) & 0xFFF)]) << 32 | UInt64(pair[Int((v >> 16) & 0xFFF)]) << 48
                    raw.storeBytes(of: eight.littleEndian, toByteOffset: written, as: UInt64.self)
                    p += 6
                    written &+= 8
                }
                while end - p >= 3 {
                    let v = Int(p[0]) << 16 | Int(p[1]) << 8 | Int(p[2])
                    let four = UInt32(pair[v >> 12]) | UInt32(pair[v & 0xFFF]) << 16
                    raw.storeBytes(of: four.littleEndian, toByteOffset: written, as: UInt32.self)
                    p += 3
                    written &+= 4
                }
                let rest = end - p
                if rest > 0 {
                    base64Alphabet.withUnsafeBufferPointer { alphabet in
                        let a = alphabet.baseAddress!, o = o + written
                        let v = UInt32(p[0]) << 16 | (rest == 2 ? UInt32(p[1]) << 8 : 0)
                        o[0] = a[Int(v >> 18)]
                        o[1] = a[Int((v >> 12) & 63)]
                        o[2] = rest == 2 ? a[Int((v >> 6) & 63)] : UInt8(ascii: "=")
                        o[3] = UInt8(ascii: "=")
                    }
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

// Byte strings. The injector keeps names, digests, paths and JSON text as UTF-8 bytes rather than
// String: comparing or hashing a String pulls in Unicode normalisation tables (~40 KB), bytes do not.

typealias Bytes = [UInt8]

extension Array where Element == UInt8 {
    init(_ s: StaticString) {
        self.init(UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    /// The bytes as text, for messages.
    var text: String { String(decoding: self, as: UTF8.self) }

    func hasPrefix(_ p: StaticString) -> Bool {
        let n = p.utf8CodeUnitCount
        guard count >= n else { return false }
        let q = p.utf8Start
        for i in 0..<n where self[i] != q[i] { return false }
        return true
    }

    func hasSuffix(_ p: StaticString) -> Bool {
        let n = p.utf8CodeUnitCount
        guard count >= n else { return false }
        let q = p.utf8Start
        let base = count - n
        for i in 0..<n where self[base + i] != q[i] { return false }
        return true
    }

    func equals(_ p: StaticString) -> Bool { count == p.utf8CodeUnitCount && hasPrefix(p) }

    /// Bytes from `start` to the end.
    func from(_ start: Int) -> Bytes { start >= count ? [] : Bytes(self[start...]) }

    /// Bytes in `start..<end`.
    func slice(_ start: Int, _ end: Int) -> Bytes { Bytes(self[start..<end]) }

    /// Index of the last occurrence of `separator`, or nil.
    func lastIndex(of separator: StaticString) -> Int? {
        let n = separator.utf8CodeUnitCount
        guard count >= n else { return nil }
        let q = separator.utf8Start
        var i = count - n
        while i >= 0 {
            var match = true
            for k in 0..<n where self[i + k] != q[k] { match = false; break }
            if match { return i }
            i -= 1
        }
        return nil
    }

    mutating func append(_ s: StaticString) {
        append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    mutating func append(decimal n: Int) {
        if n < 0 { append(45); append(decimal: -n); return }
        if n >= 10 { append(decimal: n / 10) }
        append(UInt8(48 + n % 10))
    }
}

/// Byte-wise ordering (for sorted, deterministic output).
func bytesBefore(_ a: Bytes, _ b: Bytes) -> Bool { a.lexicographicallyPrecedes(b) }

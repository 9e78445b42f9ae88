/// Finding the bytes a JSON string cannot hold as they are (`"`, `\` and control bytes), eight at a time:
/// the reader skips past everything else, and the writer copies it in runs.
enum JSONByteScan {
    /// The index of the first byte at or after `start` that is `"`, `\` or below 0x20, or `bytes.count`;
    /// `sawNonASCII` is set when a byte before it is 0x80 or above.
    @inline(__always)
    static func firstSpecial(in bytes: UnsafeBufferPointer<UInt8>, from start: Int, sawNonASCII: inout Bool) -> Int {
        var i = start
        if let base = bytes.baseAddress {
            let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
            var seen: UInt64 = 0
            while i &+ 8 <= bytes.count {
                let w = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)
                // A byte below n in x sets its high bit in (x - n·ones) & ~x (exact for "is there one").
                let quote = w ^ (ones &* 0x22), backslash = w ^ (ones &* 0x5C)
                let stop = (((w &- ones &* 0x20) & ~w) | ((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash)) & highs
                if stop != 0 {
                    // The lowest flagged byte is the first special one (bits above it may be false alarms);
                    // the bytes before it are plain. Little-endian: the first byte is the lowest.
                    let plain = stop.littleEndian.trailingZeroBitCount / 8
                    seen |= w & ((1 << (UInt64(plain) &* 8)) &- 1)
                    i &+= plain
                    if seen & highs != 0 { sawNonASCII = true }
                    return i
                }
                seen |= w
                i &+= 8
            }
            if seen & highs != 0 { sawNonASCII = true }
        }
        while i < bytes.count {
            let c = bytes[i]
            if c < 0x20 || c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") { return i }
            if c >= 0x80 { sawNonASCII = true }
            i += 1
        }
        return i
    }
}

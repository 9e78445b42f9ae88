import CJSONScan

/// Every value and key of a document with where it ends, written by the C tokenizer (`CJSONScan`) while it
/// checked the whole document: with it `FastJSON` goes from value to value (and jumps over what a reader
/// skips) instead of checking each byte again.
///
/// The tokenizer checks what `FastJSON` checks (syntax, escapes, control bytes, UTF-8, number grammar,
/// nesting depth). It answers only for documents it fully accepts; for anything else (an error, a `\u`
/// escape, a number with an exponent) there is no tape and the reader checks every byte itself, so errors
/// and their byte offsets are the reader's own.
struct JSONTape {
    let tokens: UnsafePointer<outpost_json_token>
    let count: Int

    /// Calls `body` with the tape of `document`, or with nil when the tokenizer does not vouch for it. The
    /// tape is valid only during the call.
    static func with<R>(document: UnsafeBufferPointer<UInt8>, maxDepth: Int, _ body: (JSONTape?) throws -> R) rethrows -> R {
        guard let base = document.baseAddress, maxDepth > 0, maxDepth <= 1 << 16 else { return try body(nil) }
        // A value takes at least two bytes with its separator, and the last one at least one; the tokenizer
        // wants room for a whole 64-byte block's values before each block.
        let capacity = document.count / 2 + 2 + 64
        let tokens = UnsafeMutablePointer<outpost_json_token>.allocate(capacity: capacity)
        defer { tokens.deallocate() }
        let verdict = withUnsafeTemporaryAllocation(of: UInt32.self, capacity: maxDepth) { stack in
            var count = 0
            let verdict = outpost_json_tape(base, document.count, UInt32(maxDepth), stack.baseAddress!, tokens, capacity, &count)
            return (verdict, count)
        }
        guard verdict.0 == Int32(OUTPOST_JSON_VALID.rawValue) else { return try body(nil) }
        return try body(JSONTape(tokens: tokens, count: verdict.1))
    }

    /// The tokenizer's instruction sets: `outpost_json_tape` picks AVX2 where the CPU has it.
    enum Variant: Int32 {
        case base = 0, avx2 = 1
        static var avx2Available: Bool { outpost_json_tape_avx2_available() != 0 }
    }

    /// The verdict and the tape (offset, end, next of each entry) that `variant` writes for `document`: for
    /// tests that compare the variants.
    static func tokenize(_ document: [UInt8], variant: Variant, maxDepth: Int) -> (verdict: Int32, entries: [UInt32]) {
        let capacity = document.count / 2 + 2 + 64
        var tokens = [outpost_json_token](repeating: outpost_json_token(), count: capacity)
        var stack = [UInt32](repeating: 0, count: maxDepth)
        var count = 0
        let verdict = document.withUnsafeBufferPointer { doc in
            outpost_json_tape_variant(variant.rawValue, doc.baseAddress ?? UnsafePointer(bitPattern: 1)!, doc.count,
                                      UInt32(maxDepth), &stack, &tokens, capacity, &count)
        }
        guard verdict == Int32(OUTPOST_JSON_VALID.rawValue) else { return (verdict, []) }
        return (verdict, tokens[..<count].flatMap { [$0.offset, $0.end, $0.next] })
    }

    /// Whether entry `k` starts at byte `offset` (the reader's check that it is where the tape says).
    @inline(__always)
    func entry(_ k: Int, startsAt offset: Int) -> Bool { k < count && Int(tokens[k].offset) == offset }

    /// The tape index just past entry `k` and all it contains.
    @inline(__always)
    func next(_ k: Int) -> Int { Int(tokens[k].next & ~OUTPOST_JSON_ESCAPED) }

    /// Whether string entry `k` holds a backslash escape.
    @inline(__always)
    func isEscaped(_ k: Int) -> Bool { tokens[k].next & OUTPOST_JSON_ESCAPED != 0 }

    /// The offset of entry `k`'s closing bracket or quote, or just past its literal or number.
    @inline(__always)
    func end(_ k: Int) -> Int { Int(tokens[k].end) }

    /// The offset just past entry `k`, whose first byte is `first`.
    @inline(__always)
    func offsetPast(_ k: Int, first: UInt8) -> Int {
        switch first {
        case UInt8(ascii: "{"), UInt8(ascii: "["), UInt8(ascii: "\""): return end(k) + 1
        default: return end(k)
        }
    }
}

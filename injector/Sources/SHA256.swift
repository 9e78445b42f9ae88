// SHA-256 (FIPS 180-4) in Swift: Embedded Swift has no crypto library, so the injector carries its own.
// The hot loop works on raw pointers with wrapping arithmetic so it runs at the speed of C.

private let roundConstants: [UInt32] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]

@inline(__always) private func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { (x &>> n) | (x &<< (32 &- n)) }

/// An incremental SHA-256 hasher. `update` as often as needed, then `finish` once. Uses the CPU's SHA
/// extensions when it has them (SHA256NI.swift), the portable rounds below otherwise.
final class SHA256Hasher {
    private let state = UnsafeMutablePointer<UInt32>.allocate(capacity: 8)
    private let pending = UnsafeMutablePointer<UInt8>.allocate(capacity: 64)
    private var pendingCount = 0
    private var totalBytes: UInt64 = 0
    private let schedule = UnsafeMutablePointer<UInt32>.allocate(capacity: 64)
    private let accelerated: Bool

    /// `accelerated: false` forces the portable rounds (tests compare both).
    init(accelerated: Bool = cpuHasSHAExtensions()) {
        self.accelerated = accelerated
        let initial: [UInt32] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]
        for i in 0..<8 { state[i] = initial[i] }
    }

    deinit {
        state.deallocate()
        pending.deallocate()
        schedule.deallocate()
    }

    func update(_ bytes: UnsafeRawBufferPointer) {
        guard var p = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count > 0 else { return }
        var n = bytes.count
        totalBytes &+= UInt64(n)
        if pendingCount > 0 {
            let take = min(64 - pendingCount, n)
            (pending + pendingCount).update(from: p, count: take)
            pendingCount += take
            p += take
            n -= take
            if pendingCount < 64 { return }
            compress(UnsafePointer(pending), blocks: 1)
            pendingCount = 0
        }
        let blocks = n / 64
        if blocks > 0 { compress(p, blocks: blocks) }
        let rest = n - blocks * 64
        if rest > 0 {
            pending.update(from: p + blocks * 64, count: rest)
            pendingCount = rest
        }
    }

    func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// Pads, finishes and returns the 32-byte digest.
    func finish() -> [UInt8] {
        let bitLength = totalBytes &* 8
        var tail = [UInt8](repeating: 0, count: pendingCount < 56 ? 64 : 128)
        for i in 0..<pendingCount { tail[i] = pending[i] }
        tail[pendingCount] = 0x80
        for i in 0..<8 { tail[tail.count - 1 - i] = UInt8(truncatingIfNeeded: bitLength &>> UInt64(8 * i)) }
        tail.withUnsafeBufferPointer { compress($0.baseAddress!, blocks: $0.count / 64) }
        pendingCount = 0
        var out = [UInt8]()
        out.reserveCapacity(32)
        for i in 0..<8 {
            let word = state[i]
            out.append(UInt8(truncatingIfNeeded: word &>> 24))
            out.append(UInt8(truncatingIfNeeded: word &>> 16))
            out.append(UInt8(truncatingIfNeeded: word &>> 8))
            out.append(UInt8(truncatingIfNeeded: word))
        }
        return out
    }

    private func compress(_ input: UnsafePointer<UInt8>, blocks: Int) {
        roundConstants.withUnsafeBufferPointer { kbuf in
            let k = kbuf.baseAddress!
            if accelerated {
                sha256CompressSHANI(state, UnsafeRawPointer(input), blocks, k)
                return
            }
            let w = schedule
            var h0 = state[0], h1 = state[1], h2 = state[2], h3 = state[3]
            var h4 = state[4], h5 = state[5], h6 = state[6], h7 = state[7]
            var block = UnsafeRawPointer(input)
            for _ in 0..<blocks {
                for i in 0..<16 {
                    w[i] = UInt32(bigEndian: block.loadUnaligned(fromByteOffset: i &* 4, as: UInt32.self))
                }
                for i in 16..<64 {
                    let x = w[i &- 15], y = w[i &- 2]
                    let s0 = rotr(x, 7) ^ rotr(x, 18) ^ (x &>> 3)
                    let s1 = rotr(y, 17) ^ rotr(y, 19) ^ (y &>> 10)
                    w[i] = w[i &- 16] &+ s0 &+ w[i &- 7] &+ s1
                }
                var a = h0, b = h1, c = h2, d = h3, e = h4, f = h5, g = h6, h = h7
                for i in 0..<64 {
                    let s1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)
                    let ch = (e & f) ^ (~e & g)
                    let t1 = h &+ s1 &+ ch &+ k[i] &+ w[i]
                    let s0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)
                    let maj = (a & b) ^ (a & c) ^ (b & c)
                    let t2 = s0 &+ maj
                    h = g; g = f; f = e; e = d &+ t1
                    d = c; c = b; b = a; a = t1 &+ t2
                }
                h0 &+= a; h1 &+= b; h2 &+= c; h3 &+= d; h4 &+= e; h5 &+= f; h6 &+= g; h7 &+= h
                block += 64
            }
            state[0] = h0; state[1] = h1; state[2] = h2; state[3] = h3
            state[4] = h4; state[5] = h5; state[6] = h6; state[7] = h7
        }
    }
}

private let hexDigits = Bytes("0123456789abcdef")

/// Lower-case hex of `bytes`.
func hexString(_ bytes: [UInt8]) -> Bytes {
    var out = [UInt8]()
    out.reserveCapacity(bytes.count * 2)
    for b in bytes {
        out.append(hexDigits[Int(b >> 4)])
        out.append(hexDigits[Int(b & 15)])
    }
    return out
}

/// True when `s` is exactly 64 lower-case hex digits (a SHA-256 in the OCI digest form).
func isSHA256Hex<S: Sequence>(_ s: S) -> Bool where S.Element == UInt8 {
    var count = 0
    for c in s {
        guard (c >= 48 && c <= 57) || (c >= 97 && c <= 102) else { return false }
        count += 1
    }
    return count == 64
}

import Synchronization

/// RSA key material from a caller-supplied byte source, so `genPrivateKey`/`genCA` are reproducible
/// under the renderer's deterministic flag (swift-crypto's key generation cannot be seeded).
/// Primes come from random odd candidates with the top two bits set, a small-prime sieve, and
/// Miller-Rabin with Montgomery arithmetic; e = 65537 and d = e⁻¹ mod (p-1)(q-1).
/// Never used for keys a real deployment relies on: without the flag, BoringSSL generates keys.
enum SeededRSA {
    struct Components { let n: [UInt8], e: [UInt8], d: [UInt8], p: [UInt8], q: [UInt8] }

    static let e: UInt64 = 65537

    /// Keys already derived in this process, by size and seed: a deterministic render repeats the
    /// same keys, and generating them is slow in debug builds.
    private static let cache = Mutex<[String: Components]>([:])

    static func generate(bits: Int, seed: UInt64, random: (Int) -> [UInt8]) throws -> Components {
        let key = "\(bits)/\(seed)"
        if let hit = cache.withLock({ $0[key] }) { return hit }
        let c = try generate(bits: bits, random: random)
        cache.withLock { $0[key] = c }
        return c
    }

    static func generate(bits: Int, random: (Int) -> [UInt8]) throws -> Components {
        precondition(bits % 128 == 0 && bits >= 512)
        let half = bits / 2
        let p = prime(bits: half, random: random)
        var q = prime(bits: half, random: random)
        while q == p { q = prime(bits: half, random: random) }
        let n = mul(p, q)
        let phi = mul(subSmall(p, 1), subSmall(q, 1))
        // d = (1 + k·φ) / e with k ≡ -φ⁻¹ (mod e)
        let r = modSmall(phi, e)
        let k = (e - inverseMod(r, e)) % e
        var t = mulSmall(phi, k)
        t = addSmall(t, 1)
        let (d, rem) = divSmall(t, e)
        guard rem == 0 else { throw FunctionError("internal error deriving an RSA exponent") }
        return Components(n: bytes(n), e: [1, 0, 1], d: bytes(d), p: bytes(p), q: bytes(q))
    }

    // MARK: primes

    static let smallPrimes: [UInt64] = {
        let limit = 20000
        var sieve = [Bool](repeating: true, count: limit)
        var out: [UInt64] = []
        for i in 3..<limit where sieve[i] && i % 2 == 1 {
            out.append(UInt64(i))
            var j = i * i
            while j < limit { sieve[j] = false; j += i }
        }
        return out
    }()

    static func prime(bits: Int, random: (Int) -> [UInt8]) -> [UInt64] {
        let limbs = bits / 64
        while true {
            var c = limbsFrom(random(bits / 8), count: limbs)
            c[limbs - 1] |= 0xC000_0000_0000_0000
            c[0] |= 1
            let residues = smallPrimes.map { modSmall(c, $0) }
            let re = modSmall(c, e)
            var delta: UInt64 = 0
            while delta < 1 << 16 {
                var ok = (re + delta) % e != 1
                if ok {
                    for (i, sp) in smallPrimes.enumerated() where (residues[i] + delta) % sp == 0 { ok = false; break }
                }
                if ok {
                    let cand = addSmall(c, delta)
                    if cand.count == limbs && isProbablePrime(cand) { return cand }
                }
                delta += 2
            }
        }
    }

    static func isProbablePrime(_ n: [UInt64]) -> Bool {
        let ctx = Montgomery(modulus: n)
        let nm1 = subSmall(n, 1)
        var d = nm1
        var s = 0
        while d[0] & 1 == 0 { d = shiftRight1(d); s += 1 }
        let one = ctx.toMont(limbsFrom([1], count: n.count))
        let minusOne = ctx.toMont(nm1)
        for base: UInt64 in [2, 3, 5, 7, 11, 13] {
            var x = ctx.pow(ctx.toMont(limbsFrom(bytesOf(base), count: n.count)), d)
            if x == one || x == minusOne { continue }
            var composite = true
            for _ in 0..<max(0, s - 1) {
                x = ctx.mul(x, x)
                if x == minusOne { composite = false; break }
            }
            if composite { return false }
        }
        return true
    }

    // MARK: little-endian UInt64 limb arithmetic

    static func bytesOf(_ v: UInt64) -> [UInt8] { (0..<8).reversed().map { UInt8(truncatingIfNeeded: v >> (UInt64($0) * 8)) } }

    /// Big-endian bytes to `count` limbs.
    static func limbsFrom(_ be: [UInt8], count: Int) -> [UInt64] {
        var out = [UInt64](repeating: 0, count: count)
        for (i, b) in be.reversed().enumerated() where i / 8 < count { out[i / 8] |= UInt64(b) << (UInt64(i % 8) * 8) }
        return out
    }

    /// Minimal big-endian bytes.
    static func bytes(_ a: [UInt64]) -> [UInt8] {
        var out: [UInt8] = []
        for limb in a.reversed() { out += bytesOf(limb) }
        let first = out.firstIndex { $0 != 0 } ?? out.count - 1
        return Array(out[first...])
    }

    static func modSmall(_ a: [UInt64], _ m: UInt64) -> UInt64 {
        var r: UInt64 = 0
        for limb in a.reversed() { r = m.dividingFullWidth((r, limb)).remainder }
        return r
    }

    static func divSmall(_ a: [UInt64], _ m: UInt64) -> ([UInt64], UInt64) {
        var q = a
        var r: UInt64 = 0
        for i in stride(from: a.count - 1, through: 0, by: -1) {
            let (qq, rr) = m.dividingFullWidth((r, a[i]))
            q[i] = qq; r = rr
        }
        return (trim(q), r)
    }

    static func trim(_ a: [UInt64]) -> [UInt64] {
        var x = a
        while x.count > 1 && x.last == 0 { x.removeLast() }
        return x
    }

    static func addSmall(_ a: [UInt64], _ v: UInt64) -> [UInt64] {
        var out = a
        var carry = v
        var i = 0
        while carry != 0 {
            if i == out.count { out.append(0) }
            let (s, o) = out[i].addingReportingOverflow(carry)
            out[i] = s; carry = o ? 1 : 0; i += 1
        }
        return out
    }

    static func subSmall(_ a: [UInt64], _ v: UInt64) -> [UInt64] {
        var out = a
        var borrow = v
        var i = 0
        while borrow != 0 {
            let (s, o) = out[i].subtractingReportingOverflow(borrow)
            out[i] = s; borrow = o ? 1 : 0; i += 1
        }
        return out
    }

    static func mulSmall(_ a: [UInt64], _ v: UInt64) -> [UInt64] {
        var out = [UInt64](repeating: 0, count: a.count + 1)
        var carry: UInt64 = 0
        for i in 0..<a.count {
            let (h, l) = a[i].multipliedFullWidth(by: v)
            let (s, o) = l.addingReportingOverflow(carry)
            out[i] = s; carry = h &+ (o ? 1 : 0)
        }
        out[a.count] = carry
        return trim(out)
    }

    static func mul(_ a: [UInt64], _ b: [UInt64]) -> [UInt64] {
        var out = [UInt64](repeating: 0, count: a.count + b.count)
        for i in 0..<a.count {
            var carry: UInt64 = 0
            for j in 0..<b.count {
                let (lo, hi) = mac(out[i + j], a[i], b[j], carry)
                out[i + j] = lo; carry = hi
            }
            out[i + b.count] = carry
        }
        return trim(out)
    }

    static func shiftRight1(_ a: [UInt64]) -> [UInt64] {
        var out = a
        for i in 0..<a.count { out[i] = (a[i] >> 1) | (i + 1 < a.count ? a[i + 1] << 63 : 0) }
        return out
    }

    /// t + a·b + c as (low, high): never overflows 128 bits.
    @_transparent static func mac(_ t: UInt64, _ a: UInt64, _ b: UInt64, _ c: UInt64) -> (UInt64, UInt64) {
        let (h, l) = a.multipliedFullWidth(by: b)
        let (l1, o1) = l.addingReportingOverflow(t)
        let (l2, o2) = l1.addingReportingOverflow(c)
        return (l2, h &+ (o1 ? 1 : 0) &+ (o2 ? 1 : 0))
    }

    static func inverseMod(_ a: UInt64, _ m: UInt64) -> UInt64 {
        var (t, newT): (Int64, Int64) = (0, 1)
        var (r, newR) = (Int64(m), Int64(a % m))
        while newR != 0 {
            let q = r / newR
            (t, newT) = (newT, t - q * newT)
            (r, newR) = (newR, r - q * newR)
        }
        return UInt64(t < 0 ? t + Int64(m) : t)
    }

    /// Montgomery multiplication modulo an odd n of k limbs (CIOS).
    struct Montgomery {
        let m: [UInt64]
        let k: Int
        let m0inv: UInt64
        let r2: [UInt64]

        init(modulus: [UInt64]) {
            m = modulus; k = modulus.count
            var inv: UInt64 = 1
            for _ in 0..<6 { inv = inv &* (2 &- modulus[0] &* inv) }
            m0inv = 0 &- inv
            // R² mod m by doubling 1, 2·64·k times
            var x = [UInt64](repeating: 0, count: modulus.count)
            x[0] = 1
            for _ in 0..<(128 * modulus.count) {
                var carry: UInt64 = 0
                for i in 0..<x.count {
                    let nc = x[i] >> 63
                    x[i] = (x[i] << 1) | carry
                    carry = nc
                }
                if carry != 0 || !Self.less(x, modulus) { x = Self.sub(x, modulus) }
            }
            r2 = x
        }

        static func less(_ a: [UInt64], _ b: [UInt64]) -> Bool {
            for i in stride(from: a.count - 1, through: 0, by: -1) where a[i] != b[i] { return a[i] < b[i] }
            return false
        }

        static func sub(_ a: [UInt64], _ b: [UInt64]) -> [UInt64] {
            var out = a
            var borrow = false
            for i in 0..<a.count {
                let (s1, o1) = a[i].subtractingReportingOverflow(b[i])
                let (s2, o2) = s1.subtractingReportingOverflow(borrow ? 1 : 0)
                out[i] = s2; borrow = o1 || o2
            }
            return out
        }

        func mul(_ a: [UInt64], _ b: [UInt64]) -> [UInt64] {
            var t = [UInt64](repeating: 0, count: k + 2)
            let k = self.k, m0inv = self.m0inv
            // raw pointers: this loop is nearly all of key generation, and debug builds check every subscript
            t.withUnsafeMutableBufferPointer { tb in
                a.withUnsafeBufferPointer { ab in
                    b.withUnsafeBufferPointer { bb in
                        m.withUnsafeBufferPointer { mb in
                            let t = tb.baseAddress!, a = ab.baseAddress!, b = bb.baseAddress!, m = mb.baseAddress!
                            for i in 0..<k {
                                var c: UInt64 = 0
                                let bi = b[i]
                                var j = 0
                                while j < k { (t[j], c) = SeededRSA.mac(t[j], a[j], bi, c); j += 1 }
                                let (s, o) = t[k].addingReportingOverflow(c)
                                t[k] = s; t[k + 1] = o ? 1 : 0
                                let u = t[0] &* m0inv
                                (_, c) = SeededRSA.mac(t[0], u, m[0], 0)
                                j = 1
                                while j < k { (t[j - 1], c) = SeededRSA.mac(t[j], u, m[j], c); j += 1 }
                                let (s2, o2) = t[k].addingReportingOverflow(c)
                                t[k - 1] = s2
                                t[k] = t[k + 1] &+ (o2 ? 1 : 0)
                            }
                        }
                    }
                }
            }
            let res = Array(t[0..<k])
            if t[k] != 0 || !Self.less(res, m) { return Self.sub(res, m) }
            return res
        }

        func toMont(_ a: [UInt64]) -> [UInt64] { mul(a, r2) }

        func pow(_ base: [UInt64], _ exp: [UInt64]) -> [UInt64] {
            var one = [UInt64](repeating: 0, count: k)
            one[0] = 1
            var result = toMont(one)
            let top = exp.count * 64
            var started = false
            for bit in stride(from: top - 1, through: 0, by: -1) {
                if started { result = mul(result, result) }
                if (exp[bit / 64] >> UInt64(bit % 64)) & 1 == 1 {
                    result = started ? mul(result, base) : base
                    started = true
                }
            }
            return result
        }
    }
}

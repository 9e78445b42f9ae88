// SHA-256 with the x86 SHA extensions (SHA-NI), used when the CPU has them: the same compression
// function, four rounds per instruction pair. Written with the compiler's intrinsics (still Swift).
import CShim

/// Whether this CPU has the SHA extensions (CPUID leaf 7, EBX bit 29) and SSE4.1 (leaf 1, ECX bit 19).
func cpuHasSHAExtensions() -> Bool {
    var a: UInt32 = 0, b: UInt32 = 0, c: UInt32 = 0, d: UInt32 = 0
    guard __get_cpuid(1, &a, &b, &c, &d) != 0, c & (1 << 19) != 0 else { return false }
    guard __get_cpuid_count(7, 0, &a, &b, &c, &d) != 0 else { return false }
    return b & (1 << 29) != 0
}

/// Compresses `blocks` 64-byte blocks into `state` (8 words) with SHA-NI; `k` is the 64 round constants.
func sha256CompressSHANI(_ state: UnsafeMutablePointer<UInt32>, _ input: UnsafeRawPointer, _ blocks: Int, _ k: UnsafePointer<UInt32>) {
    let mask = _mm_set_epi64x(0x0c0d0e0f08090a0b, 0x0405060700010203)
    let sp = UnsafeMutableRawPointer(state)
    var tmp = sp.loadUnaligned(as: __m128i.self)
    var state1 = sp.loadUnaligned(fromByteOffset: 16, as: __m128i.self)
    tmp = shim_shuffle_epi32_b1(tmp)
    state1 = shim_shuffle_epi32_1b(state1)
    var state0 = shim_alignr_epi8_8(tmp, state1)
    state1 = shim_blend_epi16_f0(state1, tmp)
    let kp = UnsafeRawPointer(k)
    var data = input
    for _ in 0..<blocks {
        let abef = state0, cdgh = state1
        var msg: __m128i
        var m0 = _mm_shuffle_epi8(data.loadUnaligned(as: __m128i.self), mask)
        var m1 = _mm_shuffle_epi8(data.loadUnaligned(fromByteOffset: 16, as: __m128i.self), mask)
        var m2 = _mm_shuffle_epi8(data.loadUnaligned(fromByteOffset: 32, as: __m128i.self), mask)
        var m3 = _mm_shuffle_epi8(data.loadUnaligned(fromByteOffset: 48, as: __m128i.self), mask)
        // rounds 0-3
        msg = _mm_add_epi32(m0, kp.loadUnaligned(fromByteOffset: 0, as: __m128i.self))
        state1 = _mm_sha256rnds2_epu32(state1, state0, msg)
        msg = shim_shuffle_epi32_0e(msg)
        state0 = _mm_sha256rnds2_epu32(state0, state1, msg)
        // rounds 4-7
        msg = _mm_add_epi32(m1, kp.loadUnaligned(fromByteOffset: 16, as: __m128i.self))
        state1 = _mm_sha256rnds2_epu32(state1, state0, msg)
        msg = shim_shuffle_epi32_0e(msg)
        state0 = _mm_sha256rnds2_epu32(state0, state1, msg)
        m0 = _mm_sha256msg1_epu32(m0, m1)
        // rounds 8-11
        msg = _mm_add_epi32(m2, kp.loadUnaligned(fromByteOffset: 32, as: __m128i.self))
        state1 = _mm_sha256rnds2_epu32(state1, state0, msg)
        msg = shim_shuffle_epi32_0e(msg)
        state0 = _mm_sha256rnds2_epu32(state0, state1, msg)
        m1 = _mm_sha256msg1_epu32(m1, m2)
        // rounds 12-15
        msg = _mm_add_epi32(m3, kp.loadUnaligned(fromByteOffset: 48, as: __m128i.self))
        state1 = _mm_sha256rnds2_epu32(state1, state0, msg)
        tmp = shim_alignr_epi8_4(m3, m2)
        m0 = _mm_add_epi32(m0, tmp)
        m0 = _mm_sha256msg2_epu32(m0, m3)
        msg = shim_shuffle_epi32_0e(msg)
        state0 = _mm_sha256rnds2_epu32(state0, state1, msg)
        m2 = _mm_sha256msg1_epu32(m2, m3)
        // rounds 16-19
        msg = _mm_add_epi32(m0, kp.loadUnaligned(fromByteOffset: 64, as: __m128i.self))
        state1 = _mm_sha256rnds2_epu32(state1, state0, msg)
        tmp = shim_alignr_epi8_4(m0, m3)
        m1 = _mm_add_epi32(m1, tmp)
        m1 = _mm_sha256msg2_epu32(m1, m0)
        msg = shim_shuffle_epi32_0e(msg)
        state0 = _mm_sha256rnds2_epu32(state0, state1, msg)
        m3 = _mm_sha256msg1_epu32(m3, m0)
        // rounds 20-23
        msg = _mm_add_epi32(m1, kp.loadUnaligned(fromByteOffset: 80, as: __m128i.self))
        state1 = _mm_sha256rnds2_epu32(state1, state0, msg)
        tmp = shim_alignr_epi8_4(m1, m0)
        m2 = _mm_add_epi32(m2, tmp)
        m2 = _mm_sha256msg2_epu32(m2, m1)
        msg = shim_shuffle_epi32_0e(msg)
        state0 = _mm_sha256rnds2_epu32(state0, state1, msg)
        m0 = _mm_sha256msg1_epu32(m0, m1)
        // rounds 24-27
        msg = _mm_add_epi32(m2, kp.loadUnaligned(fromByteOffset: 96, as: __m128i.self))
        state1 = _mm_sha256rnds2_epu32(state1, state0, msg)
        tmp = shim_alignr_epi8_4(m2, m1)
        m3 = _mm_add_epi32(m3, tmp)
        m3 = _mm_sha256msg2_epu32(m3, m2)
        msg = shim_shuffle_epi32_0e(msg)
        state0 = _mm_sha256rnds2_epu32(state0, state1, msg)
        m1 = _mm_sha256msg1_epu32(m1, m2)
        // rounds 28-31
        msg = _mm_add_epi32(m3, kp.loadUnaligned(fromByteOffset: 112, as: __m128i.self))
        state1 = _mm_sha256rnds2_epu32(state1, state0, msg)
        tmp = shim_alignr_epi8_4(m3, m2)
        m0 = _mm_add_epi32(m0, tmp)
        m0 = _mm_sha256msg2_epu32(m0, m3)
        msg = shim_shuffle_epi32_0e(msg)
        state0 = _mm_sha256rnds2_epu32(state0, state1, msg)
        m2 = _mm_sha256msg1_epu32(m2, m3)
        // rounds 32-35
        msg = _mm_add_epi32(m0, kp.loadUnaligned(fromByteOffset: 128, as: __m128i.self))
        state1 = _mm_sha256rnds2_epu32(state1, state0, msg)
        tmp = shim_alignr_epi8_4(m0, m3)
        m1 = _mm_add_epi32(m1, tmp)
        m1 = _mm_sha256msg2_epu32(m1, m0)
        msg = shim_shuffle_epi32_0e(msg)
        state0 = _mm_sha256rnds2_epu32(state0, state1, msg)
        m3 = _mm_sha256msg1_epu32(m3, m0)
        // rounds 36-39
        msg = _mm_add_epi32(m1, kp.loadUnaligned(fromByteOffset: 144, as: __m128i.self))
        state1 = _mm_sha256rnds2_epu32(state1, state0, msg)
        tmp = shim_alignr_epi8_4(m1, m0)
        m2 = _mm_add_epi32(m2, tmp)
        m2 = _mm_sha256msg2_epu32(m2, m1)
        msg = shim_shuffle_epi32_0e(msg)
        state0 = _mm_sha256rnds2_epu32(state0, state1, msg)
        m0 = _mm_sha256msg1_epu32(m0, m1)
        // rounds 40-43
        msg = _mm_add_epi32(m2, kp.loadUnaligned(fromByteOffset: 160, as: __m128i.self))
        state1 = _mm_sha256rnds2_epu32(state1, state0, msg)
        tmp = shim_alignr_epi8_4(m2, m1)
        m3 = _mm_add_epi32(m3, tmp)
        m3 = _mm_sha256msg2_epu32(m3, m2)
        msg = shim_shuffle_epi32_0e(msg)
        state0 = _mm_sha256rnds2_epu32(state0, state1, msg)
        m1 = _mm_sha256msg1_epu32(m1, m2)
        // rounds 44-47
        msg = _mm_add_epi32(m3, kp.loadUnaligned(fromByteOffset: 176, as: __m128i.self))
        state1 = _mm_sha256rnds2_epu32(state1, state0, msg)
        tmp = shim_alignr_epi8_4(m3, m2)
        m0 = _mm_add_epi32(m0, tmp)
        m0 = _mm_sha256msg2_epu32(m0, m3)
        msg = shim_shuffle_epi32_0e(msg)
        state0 = _mm_sha256rnds2_epu32(state0, state1, msg)
        m2 = _mm_sha256msg1_epu32(m2, m3)
        // rounds 48-51
        msg = _mm_add_epi32(m0, kp.loadUnaligned(fromByteOffset: 192, as: __m128i.self))
        state1 = _mm_sha256rnds2_epu32(state1, state0, msg)
        tmp = shim_alignr_epi8_4(m0, m3)
        m1 = _mm_add_epi32(m1, tmp)
        m1 = _mm_sha256msg2_epu32(m1, m0)
        msg = shim_shuffle_epi32_0e(msg)
        state0 = _mm_sha256rnds2_epu32(state0, state1, msg)
        m3 = _mm_sha256msg1_epu32(m3, m0)
        // rounds 52-55
        msg = _mm_add_epi32(m1, kp.loadUnaligned(fromByteOffset: 208, as: __m128i.self))
        state1 = _mm_sha256rnds2_epu32(state1, state0, msg)
        tmp = shim_alignr_epi8_4(m1, m0)
        m2 = _mm_add_epi32(m2, tmp)
        m2 = _mm_sha256msg2_epu32(m2, m1)
        msg = shim_shuffle_epi32_0e(msg)
        state0 = _mm_sha256rnds2_epu32(state0, state1, msg)
        // rounds 56-59
        msg = _mm_add_epi32(m2, kp.loadUnaligned(fromByteOffset: 224, as: __m128i.self))
        state1 = _mm_sha256rnds2_epu32(state1, state0, msg)
        tmp = shim_alignr_epi8_4(m2, m1)
        m3 = _mm_add_epi32(m3, tmp)
        m3 = _mm_sha256msg2_epu32(m3, m2)
        msg = shim_shuffle_epi32_0e(msg)
        state0 = _mm_sha256rnds2_epu32(state0, state1, msg)
        // rounds 60-63
        msg = _mm_add_epi32(m3, kp.loadUnaligned(fromByteOffset: 240, as: __m128i.self))
        state1 = _mm_sha256rnds2_epu32(state1, state0, msg)
        msg = shim_shuffle_epi32_0e(msg)
        state0 = _mm_sha256rnds2_epu32(state0, state1, msg)
        state0 = _mm_add_epi32(state0, abef)
        state1 = _mm_add_epi32(state1, cdgh)
        data += 64
    }
    tmp = shim_shuffle_epi32_1b(state0)
    state1 = shim_shuffle_epi32_b1(state1)
    state0 = shim_blend_epi16_f0(tmp, state1)
    state1 = shim_alignr_epi8_8(state1, tmp)
    sp.storeBytes(of: state0, as: __m128i.self)
    sp.storeBytes(of: state1, toByteOffset: 16, as: __m128i.self)
}

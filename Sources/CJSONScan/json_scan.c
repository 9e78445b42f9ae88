// A validating JSON tokenizer in two stages, after the shape of simdjson (Langdale and Lemire, 2019):
// stage 1 classifies each 64-byte block into bit masks (quotes, backslashes, control bytes, brackets and
// punctuation, whitespace, non-ASCII) and from them finds which bytes are inside strings and where each
// token starts; stage 2 walks only those token starts through JSON's grammar and writes each value and
// key to the tape. Strings are therefore checked 64 bytes at a time instead of byte by byte. Everything
// here is written for Outpost.
#include "json_scan.h"
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && defined(__clang__)
#include <cpuid.h>
#include <immintrin.h>
#define OUTPOST_JSON_HAS_AVX2_PATH 1
#endif

typedef struct {
    uint64_t quote, backslash, control, structural, whitespace, high;
} block_masks;

#if defined(__SSE2__)
static inline uint64_t mask16(__m128i m, int shift) { return (uint64_t)(uint32_t)_mm_movemask_epi8(m) << shift; }

static inline void classify_base(const uint8_t *p, block_masks *m) {
    const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\'), control_max = _mm_set1_epi8(0x1F);
    const __m128i lower = _mm_set1_epi8(0x20), open_brace = _mm_set1_epi8('{'), close_brace = _mm_set1_epi8('}');
    const __m128i colon = _mm_set1_epi8(':'), comma = _mm_set1_epi8(',');
    const __m128i space = _mm_set1_epi8(' '), tab = _mm_set1_epi8('\t'), lf = _mm_set1_epi8('\n'), cr = _mm_set1_epi8('\r');
    memset(m, 0, sizeof *m);
    for (int k = 0; k < 4; k++) {
        __m128i x = _mm_loadu_si128((const __m128i *)(p + 16 * k));
        int s = 16 * k;
        m->quote |= mask16(_mm_cmpeq_epi8(x, quote), s);
        m->backslash |= mask16(_mm_cmpeq_epi8(x, backslash), s);
        m->control |= mask16(_mm_cmpeq_epi8(_mm_min_epu8(x, control_max), x), s);
        // '[' and ']' are '{' and '}' without bit 5: setting it folds the four brackets onto two bytes.
        __m128i folded = _mm_or_si128(x, lower);
        __m128i brackets = _mm_or_si128(_mm_cmpeq_epi8(folded, open_brace), _mm_cmpeq_epi8(folded, close_brace));
        m->structural |= mask16(_mm_or_si128(brackets, _mm_or_si128(_mm_cmpeq_epi8(x, colon), _mm_cmpeq_epi8(x, comma))), s);
        __m128i ws = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, space), _mm_cmpeq_epi8(x, tab)),
                                  _mm_or_si128(_mm_cmpeq_epi8(x, lf), _mm_cmpeq_epi8(x, cr)));
        m->whitespace |= mask16(ws, s);
        m->high |= mask16(x, s);
    }
}
#else
static inline void classify_base(const uint8_t *p, block_masks *m) {
    memset(m, 0, sizeof *m);
    for (int k = 0; k < 64; k++) {
        uint8_t c = p[k];
        uint64_t bit = 1ull << k;
        if (c == '"') m->quote |= bit;
        if (c == '\\') m->backslash |= bit;
        if (c < 0x20) m->control |= bit;
        if (c == '{' || c == '}' || c == '[' || c == ']' || c == ':' || c == ',') m->structural |= bit;
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') m->whitespace |= bit;
        if (c >= 0x80) m->high |= bit;
    }
}
#endif

/// Bit i of the result is the XOR of bits 0...i of x: with x the quotes, which bytes are inside a string
/// (the opening quote counts as inside, the closing one does not).
static inline uint64_t prefix_xor(uint64_t x) {
    x ^= x << 1; x ^= x << 2; x ^= x << 4; x ^= x << 8; x ^= x << 16; x ^= x << 32;
    return x;
}

static inline int is_delimiter(const uint8_t *buf, size_t len, size_t i) {
    if (i >= len) return 1;
    switch (buf[i]) {
    case ' ': case '\t': case '\n': case '\r': case ',': case ':': case '[': case ']': case '{': case '}': case '"': return 1;
    default: return 0;
    }
}

static inline int is_digit(uint8_t c) { return c >= '0' && c <= '9'; }

/// The literal or number starting at `i` (a byte outside strings that is not whitespace or punctuation);
/// `*end` is the offset just past it.
static int check_scalar(const uint8_t *buf, size_t len, size_t i, size_t *end) {
    const char *word = NULL;
    switch (buf[i]) {
    case 't': word = "true"; break;
    case 'f': word = "false"; break;
    case 'n': word = "null"; break;
    default: break;
    }
    if (word) {
        size_t n = strlen(word);
        if (len - i < n || memcmp(buf + i, word, n) != 0) return OUTPOST_JSON_INVALID;
        *end = i + n;
        return is_delimiter(buf, len, i + n) ? OUTPOST_JSON_VALID : OUTPOST_JSON_INVALID;
    }
    if (buf[i] == '-') i++;
    if (i >= len || !is_digit(buf[i])) return OUTPOST_JSON_INVALID;
    if (buf[i] == '0') {
        i++;
        if (i < len && is_digit(buf[i])) return OUTPOST_JSON_INVALID;  // a leading zero
    } else {
        while (i < len && is_digit(buf[i])) i++;
    }
    if (i < len && buf[i] == '.') {
        i++;
        if (i >= len || !is_digit(buf[i])) return OUTPOST_JSON_INVALID;
        while (i < len && is_digit(buf[i])) i++;
    }
    if (i < len && (buf[i] == 'e' || buf[i] == 'E')) return OUTPOST_JSON_UNSURE;
    *end = i;
    return is_delimiter(buf, len, i) ? OUTPOST_JSON_VALID : OUTPOST_JSON_INVALID;
}

/// Well-formed UTF-8 (Unicode's table 3-7): no overlong forms, no surrogates, nothing above U+10FFFF.
static int valid_utf8(const uint8_t *b, size_t n) {
    size_t k = 0;
    while (k < n) {
        uint8_t c = b[k];
        if (c < 0x80) { k++; continue; }
        size_t length; uint8_t low = 0x80, high = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) length = 2;
        else if (c == 0xE0) { length = 3; low = 0xA0; }
        else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) length = 3;
        else if (c == 0xED) { length = 3; high = 0x9F; }
        else if (c == 0xF0) { length = 4; low = 0x90; }
        else if (c >= 0xF1 && c <= 0xF3) length = 4;
        else if (c == 0xF4) { length = 4; high = 0x8F; }
        else return 0;
        if (n - k < length || b[k + 1] < low || b[k + 1] > high) return 0;
        for (size_t j = 2; j < length; j++) if ((b[k + j] & 0xC0) != 0x80) return 0;
        k += length;
    }
    return 1;
}

enum state { EXPECT_VALUE, EXPECT_VALUE_OR_CLOSE, EXPECT_KEY, EXPECT_KEY_OR_CLOSE, EXPECT_COLON, AFTER_VALUE, DONE };

/// Bits strictly above `bit` (none above 63).
static inline uint64_t above(int bit) { return ~1ull << bit; }
/// Bits strictly below `bit`.
static inline uint64_t below(int bit) { return (1ull << bit) - 1; }

/// Stack entries: the container's tape index, with this bit set for an object.
#define OBJECT_BIT 0x80000000u


#define TAPE_FUNCTION tape_base
#define TAPE_TARGET
#define CLASSIFY classify_base
#define PREFIX_XOR prefix_xor
#include "json_scan_body.h"

#if OUTPOST_JSON_HAS_AVX2_PATH
#define AVX2_TARGET __attribute__((target("avx2,bmi,bmi2,pclmul")))

/// The two 32-byte halves' byte masks as one 64-bit mask. The empty asm keeps the mask a plain register:
/// without it clang moved these movemasks past the stage-2 loop and rebuilt them one byte at a time (50%
/// more instructions in all).
AVX2_TARGET static inline uint64_t mask64(__m256i low, __m256i high) {
    uint64_t mask = (uint64_t)(uint32_t)_mm256_movemask_epi8(low) | ((uint64_t)(uint32_t)_mm256_movemask_epi8(high) << 32);
    __asm__("" : "+r"(mask));
    return mask;
}

/// The same masks as `classify_base`, 32 bytes per compare instead of 16.
AVX2_TARGET static inline void classify_avx2(const uint8_t *p, block_masks *m) {
    const __m256i quote = _mm256_set1_epi8('"'), backslash = _mm256_set1_epi8('\\'), control_max = _mm256_set1_epi8(0x1F);
    const __m256i lower = _mm256_set1_epi8(0x20), open_brace = _mm256_set1_epi8('{'), close_brace = _mm256_set1_epi8('}');
    const __m256i colon = _mm256_set1_epi8(':'), comma = _mm256_set1_epi8(',');
    const __m256i space = _mm256_set1_epi8(' '), tab = _mm256_set1_epi8('\t'), lf = _mm256_set1_epi8('\n'), cr = _mm256_set1_epi8('\r');
    __m256i x[2] = {_mm256_loadu_si256((const __m256i *)p), _mm256_loadu_si256((const __m256i *)(p + 32))};
    __m256i q[2], b[2], c[2], s[2], w[2];
    for (int k = 0; k < 2; k++) {
        q[k] = _mm256_cmpeq_epi8(x[k], quote);
        b[k] = _mm256_cmpeq_epi8(x[k], backslash);
        c[k] = _mm256_cmpeq_epi8(_mm256_min_epu8(x[k], control_max), x[k]);
        __m256i folded = _mm256_or_si256(x[k], lower);  // '[' and ']' onto '{' and '}'
        s[k] = _mm256_or_si256(_mm256_or_si256(_mm256_cmpeq_epi8(folded, open_brace), _mm256_cmpeq_epi8(folded, close_brace)),
                               _mm256_or_si256(_mm256_cmpeq_epi8(x[k], colon), _mm256_cmpeq_epi8(x[k], comma)));
        w[k] = _mm256_or_si256(_mm256_or_si256(_mm256_cmpeq_epi8(x[k], space), _mm256_cmpeq_epi8(x[k], tab)),
                               _mm256_or_si256(_mm256_cmpeq_epi8(x[k], lf), _mm256_cmpeq_epi8(x[k], cr)));
    }
    m->quote = mask64(q[0], q[1]);
    m->backslash = mask64(b[0], b[1]);
    m->control = mask64(c[0], c[1]);
    m->structural = mask64(s[0], s[1]);
    m->whitespace = mask64(w[0], w[1]);
    m->high = mask64(x[0], x[1]);
}

/// `prefix_xor` as one carry-less multiply by all ones.
AVX2_TARGET static inline uint64_t prefix_xor_clmul(uint64_t x) {
    __m128i product = _mm_clmulepi64_si128(_mm_set_epi64x(0, (long long)x), _mm_set1_epi8((char)0xFF), 0);
    return (uint64_t)_mm_cvtsi128_si64(product);
}

#define TAPE_FUNCTION tape_avx2
#define TAPE_TARGET AVX2_TARGET
#define CLASSIFY classify_avx2
#define PREFIX_XOR prefix_xor_clmul
#include "json_scan_body.h"

/// Whether this CPU and the OS (which must save the YMM registers) support AVX2, BMI1/2 and PCLMULQDQ.
static int detect_avx2(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    if (!(c & bit_OSXSAVE) || !(c & bit_AVX) || !(c & bit_PCLMUL)) return 0;
    unsigned xcr0_low, xcr0_high;
    __asm__("xgetbv" : "=a"(xcr0_low), "=d"(xcr0_high) : "c"(0));
    if ((xcr0_low & 6) != 6) return 0;  // XMM and YMM state
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return (b & bit_AVX2) && (b & bit_BMI) && (b & bit_BMI2);
}

int outpost_json_tape_avx2_available(void) {
    // 0: not checked yet, 1: no, 2: yes. Racing first calls compute the same answer.
    static int answer;
    int known = __atomic_load_n(&answer, __ATOMIC_RELAXED);
    if (known == 0) {
        known = detect_avx2() ? 2 : 1;
        __atomic_store_n(&answer, known, __ATOMIC_RELAXED);
    }
    return known == 2;
}
#else
int outpost_json_tape_avx2_available(void) { return 0; }
#endif

int outpost_json_tape_variant(int variant, const uint8_t *buf, size_t len, uint32_t max_depth, uint32_t *stack,
                              outpost_json_token *tape, size_t capacity, size_t *count) {
#if OUTPOST_JSON_HAS_AVX2_PATH
    if (variant == OUTPOST_JSON_VARIANT_AVX2 && outpost_json_tape_avx2_available())
        return tape_avx2(buf, len, max_depth, stack, tape, capacity, count);
#endif
    (void)variant;
    return tape_base(buf, len, max_depth, stack, tape, capacity, count);
}

int outpost_json_tape(const uint8_t *buf, size_t len, uint32_t max_depth, uint32_t *stack,
                      outpost_json_token *tape, size_t capacity, size_t *count) {
    return outpost_json_tape_variant(OUTPOST_JSON_VARIANT_AVX2, buf, len, max_depth, stack, tape, capacity, count);
}

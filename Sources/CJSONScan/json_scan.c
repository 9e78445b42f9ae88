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

typedef struct {
    uint64_t quote, backslash, control, structural, whitespace, high;
} block_masks;

#if defined(__SSE2__)
static inline uint64_t mask16(__m128i m, int shift) { return (uint64_t)(uint32_t)_mm_movemask_epi8(m) << shift; }

static inline void classify(const uint8_t *p, block_masks *m) {
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
static inline void classify(const uint8_t *p, block_masks *m) {
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

int outpost_json_tape(const uint8_t *buf, size_t len, uint32_t max_depth, uint32_t *stack,
                      outpost_json_token *tape, size_t capacity, size_t *count) {
    *count = 0;
    if (len >= OUTPOST_JSON_ESCAPED) return OUTPOST_JSON_UNSURE;
    enum state state = EXPECT_VALUE;
    uint32_t depth = 0;
    int in_object = 0;            // whether the innermost open container is an object
    size_t n = 0;
    uint64_t inside_carry = 0;    // all ones when the previous block ended inside a string
    uint64_t escape_carry = 0;    // 1 when the previous block's last byte was an escaping backslash
    uint64_t scalar_carry = 0;    // 1 when the previous block's last byte was part of a literal or number
    int saw_high = 0;
    // A string still open at the end of a block: its tape index, and whether it holds a backslash so far.
    size_t open_string = SIZE_MAX;
    uint32_t open_string_escaped = 0;
    uint8_t tail[64];
    for (size_t base = 0; base < len; base += 64) {
        const uint8_t *p = buf + base;
        if (len - base < 64) {
            // Spaces after the end change nothing: whitespace outside a string, and an unterminated
            // string is caught below.
            memset(tail, ' ', 64);
            memcpy(tail, p, len - base);
            p = tail;
        }
        if (capacity - n < 64) return OUTPOST_JSON_UNSURE;  // room for this block's tokens
        block_masks m;
        classify(p, &m);

        // Which bytes a backslash escapes (an escaped backslash escapes nothing).
        uint64_t escaped = escape_carry;
        escape_carry = 0;
        uint64_t backslashes = m.backslash & ~escaped;
        while (backslashes) {
            int at = __builtin_ctzll(backslashes);
            backslashes &= backslashes - 1;
            if (at == 63) { escape_carry = 1; break; }
            escaped |= 1ull << (at + 1);
            backslashes &= ~(1ull << (at + 1));
        }
        uint64_t quotes = m.quote & ~escaped;
        uint64_t inside = prefix_xor(quotes) ^ inside_carry;
        inside_carry = (uint64_t)((int64_t)inside >> 63);

        if (m.control & inside) return OUTPOST_JSON_INVALID;
        if (m.high) {
            if (m.high & ~inside) return OUTPOST_JSON_INVALID;  // non-ASCII outside a string
            saw_high = 1;
        }
        // Escapes inside strings; an escape outside one is a backslash outside one, refused below.
        for (uint64_t e = escaped & inside; e; e &= e - 1) {
            switch (p[__builtin_ctzll(e)]) {
            case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't': break;
            case 'u': return OUTPOST_JSON_UNSURE;
            default: return OUTPOST_JSON_INVALID;
            }
        }
        // A string from an earlier block ends at this block's first quote, or goes on past it.
        if (open_string != SIZE_MAX) {
            if (quotes) {
                int close = __builtin_ctzll(quotes);
                tape[open_string].end = (uint32_t)(base + (size_t)close);
                if (open_string_escaped || (m.backslash & below(close))) tape[open_string].next |= OUTPOST_JSON_ESCAPED;
                open_string = SIZE_MAX;
            } else if (m.backslash) {
                open_string_escaped = 1;
            }
        }

        uint64_t structural = m.structural & ~inside;
        uint64_t scalar = ~(inside | quotes | m.structural | m.whitespace);
        uint64_t scalar_starts = scalar & ~((scalar << 1) | scalar_carry);
        scalar_carry = scalar >> 63;
        uint64_t tokens = structural | (quotes & inside) | scalar_starts;

        for (; tokens; tokens &= tokens - 1) {
            int bit = __builtin_ctzll(tokens);
            size_t at = base + (size_t)bit;
            uint8_t c = buf[at];
            switch (c) {
            case '{': case '[':
                if (state != EXPECT_VALUE && state != EXPECT_VALUE_OR_CLOSE) return OUTPOST_JSON_INVALID;
                if (depth >= max_depth) return OUTPOST_JSON_INVALID;
                tape[n].offset = (uint32_t)at;
                in_object = c == '{';
                stack[depth++] = (uint32_t)n++ | (in_object ? OBJECT_BIT : 0);
                state = in_object ? EXPECT_KEY_OR_CLOSE : EXPECT_VALUE_OR_CLOSE;
                continue;
            case '}': case ']': {
                if (depth == 0) return OUTPOST_JSON_INVALID;
                if (c == '}' ? !(state == EXPECT_KEY_OR_CLOSE || (state == AFTER_VALUE && in_object))
                             : !(state == EXPECT_VALUE_OR_CLOSE || (state == AFTER_VALUE && !in_object)))
                    return OUTPOST_JSON_INVALID;
                uint32_t slot = stack[--depth] & ~OBJECT_BIT;
                tape[slot].end = (uint32_t)at;
                tape[slot].next = (uint32_t)n;
                if (depth == 0) { state = DONE; continue; }
                in_object = (stack[depth - 1] & OBJECT_BIT) != 0;
                state = AFTER_VALUE;
                continue;
            }
            case ',':
                if (state != AFTER_VALUE) return OUTPOST_JSON_INVALID;
                state = in_object ? EXPECT_KEY : EXPECT_VALUE;
                continue;
            case ':':
                if (state != EXPECT_COLON) return OUTPOST_JSON_INVALID;
                state = EXPECT_VALUE;
                continue;
            case '"': {
                int key = state == EXPECT_KEY || state == EXPECT_KEY_OR_CLOSE;
                if (!key && state != EXPECT_VALUE && state != EXPECT_VALUE_OR_CLOSE) return OUTPOST_JSON_INVALID;
                tape[n].offset = (uint32_t)at;
                tape[n].next = (uint32_t)(n + 1);
                uint64_t later = quotes & above(bit);
                if (later) {
                    int close = __builtin_ctzll(later);
                    tape[n].end = (uint32_t)(base + (size_t)close);
                    if (m.backslash && (m.backslash & above(bit) & below(close))) tape[n].next |= OUTPOST_JSON_ESCAPED;
                } else {
                    open_string = n;
                    open_string_escaped = (m.backslash & above(bit)) != 0;
                }
                n++;
                if (key) { state = EXPECT_COLON; continue; }
                break;
            }
            default: {
                if (state != EXPECT_VALUE && state != EXPECT_VALUE_OR_CLOSE) return OUTPOST_JSON_INVALID;
                size_t end = at;
                int verdict = check_scalar(buf, len, at, &end);
                if (verdict != OUTPOST_JSON_VALID) return verdict;
                tape[n].offset = (uint32_t)at;
                tape[n].end = (uint32_t)end;
                tape[n].next = (uint32_t)(n + 1);
                n++;
                break;
            }
            }
            state = depth == 0 ? DONE : AFTER_VALUE;  // a string or scalar value ended
        }
    }
    if (inside_carry || state != DONE) return OUTPOST_JSON_INVALID;
    if (saw_high && !valid_utf8(buf, len)) return OUTPOST_JSON_INVALID;
    *count = n;
    return OUTPOST_JSON_VALID;
}

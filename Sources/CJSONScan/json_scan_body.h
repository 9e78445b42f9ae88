// The tokenizer's loop (see json_scan.c), included once per instruction set with these defined:
// TAPE_FUNCTION (its name), TAPE_TARGET (its target attribute), CLASSIFY (a block's masks) and
// PREFIX_XOR (which bytes are inside strings).
TAPE_TARGET static int TAPE_FUNCTION(const uint8_t *buf, size_t len, uint32_t max_depth, uint32_t *stack,
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
        CLASSIFY(p, &m);

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
        uint64_t inside = PREFIX_XOR(quotes) ^ inside_carry;
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

#undef TAPE_FUNCTION
#undef TAPE_TARGET
#undef CLASSIFY
#undef PREFIX_XOR

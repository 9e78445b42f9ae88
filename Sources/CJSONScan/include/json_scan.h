// A validating JSON tokenizer for the admission webhook's hot path (Admission's FastJSON).
#ifndef OUTPOST_JSON_SCAN_H
#define OUTPOST_JSON_SCAN_H
#include <stddef.h>
#include <stdint.h>

/// What `outpost_json_tape` found.
enum outpost_json_verdict {
    /// The document is valid JSON under the rules below; the tape is complete.
    OUTPOST_JSON_VALID = 0,
    /// The document breaks a rule (the caller's own reader finds and names the error).
    OUTPOST_JSON_INVALID = 1,
    /// The document holds something this tokenizer leaves to the caller's reader: a `\u` escape, a number
    /// with an exponent (whose range the reader checks), or more values than the tape holds.
    OUTPOST_JSON_UNSURE = 2,
};

/// One value or object key of a document, in document order.
typedef struct {
    /// The offset of its first byte: `{`, `[`, the opening quote, or the first byte of a literal or number.
    uint32_t offset;
    /// The offset of its closing bracket or closing quote; for a literal or number, the offset just past it.
    uint32_t end;
    /// The tape index just past this value (past all it contains); bit 31 is set on a string holding a
    /// backslash escape.
    uint32_t next;
} outpost_json_token;

#define OUTPOST_JSON_ESCAPED 0x80000000u

/// Checks that `buf[0..<len]` is exactly one JSON value (RFC 8259) with only whitespace around it:
/// object and array syntax, string escapes and control bytes, UTF-8, number grammar, literals, and
/// nesting of at most `max_depth` objects and arrays; and writes every value and key to `tape`
/// (`*count` of them). `stack` has room for `max_depth` entries. `tape` has room for `capacity` entries;
/// the answer is `OUTPOST_JSON_UNSURE` when fewer than 64 (one block's worth) are free before a block, so
/// `len / 2 + 66` is always enough.
/// The 64-byte block classification uses AVX2 (with BMI and PCLMULQDQ) where the CPU has it, checked once
/// at run time; otherwise SSE2 where the compiler offers it, plain C elsewhere.
int outpost_json_tape(const uint8_t *buf, size_t len, uint32_t max_depth, uint32_t *stack,
                      outpost_json_token *tape, size_t capacity, size_t *count);

/// Which instruction set `outpost_json_tape_variant` uses.
enum outpost_json_variant {
    /// SSE2 where the compiler offers it, plain C elsewhere: what every x86-64 CPU runs.
    OUTPOST_JSON_VARIANT_BASE = 0,
    /// AVX2, BMI and PCLMULQDQ when this CPU has them, else the base.
    OUTPOST_JSON_VARIANT_AVX2 = 1,
};

/// `outpost_json_tape` with a chosen instruction set, so tests can compare both on one machine.
int outpost_json_tape_variant(int variant, const uint8_t *buf, size_t len, uint32_t max_depth, uint32_t *stack,
                              outpost_json_token *tape, size_t capacity, size_t *count);

/// Whether this CPU (and OS) can run the AVX2 variant.
int outpost_json_tape_avx2_available(void);
#endif

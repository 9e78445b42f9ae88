// libFuzzer target for the webhook's JSON tokenizer (Sources/CJSONScan): any input must be handled without
// a memory error or undefined behaviour (run under ASan and UBSan), and a tape it vouches for must be
// well formed: every entry inside the document, each `next` past its own entry and within the tape. The
// AVX2 variant (when this CPU has it) must give the same verdict and the same tape as the base one.
#include "json_scan.h"
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    // A copy of exactly `size` bytes, so ASan sees any read past the end.
    uint8_t *buf = malloc(size ? size : 1);
    memcpy(buf, data, size);
    uint32_t stack[8];
    size_t capacity = size / 2 + 2 + 64, count = 0;
    outpost_json_token *tape = malloc(sizeof *tape * capacity), *other = malloc(sizeof *other * capacity);
    int verdict = outpost_json_tape_variant(OUTPOST_JSON_VARIANT_BASE, buf, size, 8, stack, tape, capacity, &count);
    if (verdict == OUTPOST_JSON_VALID) {
        for (size_t k = 0; k < count; k++) {
            size_t next = tape[k].next & ~OUTPOST_JSON_ESCAPED;
            if (tape[k].offset >= size || tape[k].end > size || next <= k || next > count) abort();
        }
    }
    if (outpost_json_tape_avx2_available()) {
        size_t other_count = 0;
        int other_verdict = outpost_json_tape_variant(OUTPOST_JSON_VARIANT_AVX2, buf, size, 8, stack, other, capacity, &other_count);
        if (other_verdict != verdict) abort();
        if (verdict == OUTPOST_JSON_VALID && (other_count != count || memcmp(tape, other, sizeof *tape * count) != 0)) abort();
    }
    free(other);
    free(tape);
    free(buf);
    return 0;
}

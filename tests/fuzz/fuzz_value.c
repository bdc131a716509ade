/*
 * fuzz_value.c — libFuzzer target for the MessagePack reader in core/codec.c.
 *
 * Built with clang -fsanitize=fuzzer,address,undefined by run_fuzz.sh, and
 * with the project compiler into fuzz_value_replay (replay.c), which runs the
 * seed corpus in tests/fuzz/corpus/value/ on every ctest run.
 *
 * Properties checked on any input:
 *  1. mp_read over the raw bytes, header after header, never reads past the
 *     end (ASan) and leaves the reader alone when it fails.
 *  2. If mp_validate accepts the input, walking it with mp_read gets through
 *     exactly the bytes mp_skip says the value spans, and re-encoding every
 *     item with mp_put_* gives bytes mp_validate accepts.
 *  3. The re-encoding is canonical: walking and re-encoding it again gives
 *     the same bytes.
 *  4. What no text file holds (issue 16, class 11): the store's fast path
 *     mp_text_ok says yes only where mp_check_text does, over any bytes;
 *     and mp_text_clean's copy of a valid value passes both.
 * A violated property aborts, which libFuzzer reports as a crash.
 */
#include "codec.h"
#include "err.h"
#include "fuzz.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads one whole value at r and writes it to out with the mp_put_* writers.
 * The input was validated, so every read must succeed. */
static void reencode(mp_reader *r, codec_buf *out, int depth) {
    mp_item it;
    CHECK(depth >= 0);
    CHECK(mp_read(r, &it) == 0);
    switch (it.type) {
    case MP_NIL:
        mp_put_nil(out);
        break;
    case MP_BOOL:
        CHECK(it.v.b == 0 || it.v.b == 1);
        mp_put_bool(out, it.v.b);
        break;
    case MP_INT:
        mp_put_int(out, it.v.i);
        break;
    case MP_FLOAT:
        mp_put_double(out, it.v.d);
        break;
    case MP_STR:
        CHECK(it.n <= (size_t)(r->end - (const unsigned char *)it.s));
        mp_put_str(out, it.s, it.n);
        break;
    case MP_ARRAY:
    case MP_MAP: {
        uint64_t k = it.type == MP_MAP ? 2 * (uint64_t)it.n : it.n;
        if (it.type == MP_MAP) {
            mp_put_map(out, it.n);
        } else {
            mp_put_array(out, it.n);
        }
        for (uint64_t i = 0; i < k; i++) {
            reencode(r, out, depth - 1);
        }
        break;
    }
    default:
        CHECK(!"unknown mp_item type");
    }
}

/* Validates p[0..n), re-encodes it into out; out is canonical MessagePack. */
static void roundtrip(const unsigned char *p, size_t n, codec_buf *out) {
    mp_reader r, s;
    mp_reader_init(&r, p, n);
    s = r;
    CHECK(mp_skip(&s, CODEC_MAX_DEPTH) == 0);
    CHECK(s.p == s.end);
    reencode(&r, out, CODEC_MAX_DEPTH);
    CHECK(r.p == s.p); /* the walk and mp_skip agree on the value's extent */
    CHECK(!out->oom);
    CHECK(mp_validate(out->p, out->len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* 1: flat header reads over arbitrary bytes */
    mp_reader r;
    mp_reader_init(&r, data, size);
    while (r.p < r.end) {
        mp_item it;
        const unsigned char *before = r.p;
        if (mp_read(&r, &it) != 0) {
            CHECK(r.p == before);
            break;
        }
        CHECK(r.p > before && r.p <= r.end);
    }

    /* 4 over any bytes: the fast path never passes what the walk refuses */
    {
        mp_flaw fl;
        mp_reader_init(&r, data, size);
        int checked = mp_check_text(&r, CODEC_MAX_DEPTH, &fl);
        CHECK(checked == 0 || checked == 1 || checked == GH_ECORRUPT);
        if (mp_text_ok(data, size)) {
            CHECK(checked == 0);
        }
    }

    /* mp_skip from the start agrees with mp_validate */
    mp_reader_init(&r, data, size);
    int skipped = mp_skip(&r, CODEC_MAX_DEPTH);
    CHECK(skipped == 0 || skipped == GH_ECORRUPT);
    if (skipped != 0) {
        CHECK(r.p == data);
    }
    int valid = mp_validate(data, size);
    CHECK(valid == 0 || valid == GH_ECORRUPT);
    CHECK((valid == 0) == (skipped == 0 && r.p == r.end));
    if (valid != 0) {
        return 0;
    }

    /* 2 and 3 */
    codec_buf once, twice;
    codec_buf_init(&once);
    codec_buf_init(&twice);
    roundtrip(data, size, &once);
    roundtrip(once.p, once.len, &twice);
    CHECK(once.len == twice.len);
    CHECK(memcmp(once.p, twice.p, once.len) == 0);
    CHECK(once.len < 2 * size); /* only float32 grows (5 -> 9 bytes) */
    {
        codec_buf clean;
        mp_flaw fl;
        codec_buf_init(&clean);
        mp_reader_init(&r, data, size);
        CHECK(mp_text_clean(&r, &clean, CODEC_MAX_DEPTH) == 0 && !clean.oom);
        CHECK(r.p == r.end);
        mp_reader_init(&r, clean.p, clean.len);
        CHECK(mp_check_text(&r, CODEC_MAX_DEPTH, &fl) == 0);
        codec_buf_free(&clean);
    }
    codec_buf_free(&once);
    codec_buf_free(&twice);
    return 0;
}

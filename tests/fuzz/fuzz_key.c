/*
 * fuzz_key.c — libFuzzer target for the order-preserving key encoding in core/codec.c.
 *
 * Built with clang -fsanitize=fuzzer,address,undefined by run_fuzz.sh, and
 * with the project compiler into fuzz_key_replay (replay.c), which runs the
 * seed corpus in tests/fuzz/corpus/key/ on every ctest run.
 *
 * The input is read as a key: key_read element after element until the end
 * or an error. Properties checked:
 *  1. key_read never reads past the end (ASan), and a failing read leaves the
 *     position alone.
 *  2. Re-encoding the decoded elements with key_put_* decodes again to the
 *     same elements (-0.0 comes back as 0.0).
 *  3. Canonical form: if the whole input decoded, its re-encoding is the
 *     input itself, byte for byte, unless it holds a double -0.0 (the one
 *     non-canonical form: key_put_double writes it as 0.0). Strings are
 *     canonical because 0x00 0xff is the only escape and any other 0x00 ends
 *     the string; doubles map bits one to one (NaN payloads included).
 *  4. Order: for neighbouring elements of the same kind, the bytes of their
 *     single-element encodings compare as the values do.
 * A violated property aborts, which libFuzzer reports as a crash.
 */
#include "codec.h"
#include "err.h"
#include "fuzz.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One decoded element; a string's bytes are strs.p[off .. off+n). */
typedef struct elem {
    key_item it;
    size_t off, n;
} elem;

typedef struct decoded {
    codec_buf elems; /* elem records, back to back */
    codec_buf strs;  /* the bytes of every string element */
    size_t count;
    int negzero; /* a double -0.0 was read */
} decoded;

static elem elem_at(const decoded *d, size_t i) {
    elem e;
    memcpy(&e, d->elems.p + i * sizeof e, sizeof e);
    return e;
}

/* Reads elements from p[0..n) until the end or an error; the bytes consumed. */
static size_t decode(const unsigned char *p, size_t n, decoded *d) {
    const unsigned char *q = p, *end = p + n;
    codec_buf str;
    codec_buf_init(&str);
    codec_buf_init(&d->elems);
    codec_buf_init(&d->strs);
    d->count = 0;
    d->negzero = 0;
    while (q < end) {
        elem e;
        const unsigned char *before = q;
        memset(&e, 0, sizeof e);
        int rc = key_read(&q, end, &e.it, &str);
        if (rc != 0) {
            CHECK(rc == GH_ECORRUPT);
            CHECK(q == before);
            break;
        }
        CHECK(q > before && q <= end);
        if (e.it.type == KEY_STR) {
            e.off = d->strs.len;
            e.n = str.len;
            CHECK(str.len < (size_t)(q - before)); /* escapes only shrink */
            if (str.len) {
                codec_buf_add(&d->strs, str.p, str.len);
            }
        } else if (e.it.type == KEY_DOUBLE && e.it.d == 0 && signbit(e.it.d)) {
            d->negzero = 1;
        }
        codec_buf_add(&d->elems, &e, sizeof e);
        d->count++;
    }
    CHECK(!str.oom && !d->elems.oom && !d->strs.oom);
    codec_buf_free(&str);
    return (size_t)(q - p);
}

static void decoded_free(decoded *d) {
    codec_buf_free(&d->elems);
    codec_buf_free(&d->strs);
}

static void put_elem(codec_buf *out, const decoded *d, const elem *e) {
    switch (e->it.type) {
    case KEY_NIL:
        key_put_nil(out);
        break;
    case KEY_FALSE:
        key_put_bool(out, 0);
        break;
    case KEY_TRUE:
        key_put_bool(out, 1);
        break;
    case KEY_INT:
        key_put_int(out, e->it.i);
        break;
    case KEY_DOUBLE:
        key_put_double(out, e->it.d);
        break;
    case KEY_STR:
        /* a non-NULL pointer even for an empty string */
        key_put_str(out, e->n ? (const char *)d->strs.p + e->off : "", e->n);
        break;
    default:
        CHECK(!"key_read returned an unknown type");
    }
}

/* -1, 0, 1: the order of two values of the same kind. */
static int value_cmp(const decoded *d, const elem *a, const elem *b) {
    switch (a->it.type) {
    case KEY_INT:
        return a->it.i < b->it.i ? -1 : a->it.i > b->it.i;
    case KEY_DOUBLE:
        return a->it.d < b->it.d ? -1 : a->it.d > b->it.d;
    case KEY_STR: {
        size_t n = a->n < b->n ? a->n : b->n;
        int c = n ? memcmp(d->strs.p + a->off, d->strs.p + b->off, n) : 0;
        if (c != 0) {
            return c < 0 ? -1 : 1;
        }
        return a->n < b->n ? -1 : a->n > b->n;
    }
    default:
        return 0; /* nil, false, true: one value each */
    }
}

static int bytes_cmp(const codec_buf *a, const codec_buf *b) {
    size_t n = a->len < b->len ? a->len : b->len;
    int c = n ? memcmp(a->p, b->p, n) : 0;
    if (c != 0) {
        return c < 0 ? -1 : 1;
    }
    return a->len < b->len ? -1 : a->len > b->len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    decoded in, again;
    size_t used = decode(data, size, &in);
    int whole = used == size;

    /* 2: re-encode and decode again */
    codec_buf out;
    codec_buf_init(&out);
    for (size_t i = 0; i < in.count; i++) {
        elem e = elem_at(&in, i);
        put_elem(&out, &in, &e);
    }
    CHECK(!out.oom);
    const unsigned char *op = out.p ? out.p : (const unsigned char *)""; /* no NULL + 0 */
    CHECK(decode(op, out.len, &again) == out.len);
    CHECK(again.count == in.count);
    CHECK(!again.negzero);
    for (size_t i = 0; i < in.count; i++) {
        elem a = elem_at(&in, i), b = elem_at(&again, i);
        CHECK(a.it.type == b.it.type);
        switch (a.it.type) {
        case KEY_INT:
            CHECK(a.it.i == b.it.i);
            break;
        case KEY_DOUBLE:
            if (a.it.d == 0) {
                CHECK(b.it.d == 0 && !signbit(b.it.d));
            } else {
                CHECK(memcmp(&a.it.d, &b.it.d, sizeof a.it.d) == 0);
            }
            break;
        case KEY_STR:
            CHECK(a.n == b.n);
            CHECK(a.n == 0 || memcmp(in.strs.p + a.off, again.strs.p + b.off, a.n) == 0);
            break;
        }
    }

    /* 3: canonical inputs come back byte for byte */
    if (whole && !in.negzero) {
        CHECK(out.len == size);
        CHECK(size == 0 || memcmp(out.p, data, size) == 0);
    } else {
        CHECK(out.len <= used); /* -0.0 keeps its length; a cut tail is dropped */
    }

    /* 4: neighbours of one kind order as their values do */
    codec_buf ka, kb;
    codec_buf_init(&ka);
    codec_buf_init(&kb);
    for (size_t i = 1; i < in.count; i++) {
        elem a = elem_at(&in, i - 1), b = elem_at(&in, i);
        if (a.it.type != b.it.type) {
            continue;
        }
        if (a.it.type == KEY_DOUBLE && (isnan(a.it.d) || isnan(b.it.d))) {
            continue; /* unordered as numbers */
        }
        ka.len = kb.len = 0;
        put_elem(&ka, &in, &a);
        put_elem(&kb, &in, &b);
        CHECK(bytes_cmp(&ka, &kb) == value_cmp(&in, &a, &b));
    }
    codec_buf_free(&ka);
    codec_buf_free(&kb);

    codec_buf_free(&out);
    decoded_free(&in);
    decoded_free(&again);
    return 0;
}

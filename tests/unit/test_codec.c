/*
 * test_codec.c — unit tests for core/codec.c (MessagePack values, order-preserving
 * keys, dates, the growable buffer).
 *
 * Run by ctest as `unit_codec`. Truncated inputs are copied into malloc'd
 * buffers of exactly their size, so under ASan any read past the end fails the
 * test. Key order is checked against Lua 5.4's own `<` and `==` (lua_compare)
 * on random samples drawn from a fixed seed, so failures are reproducible.
 */
#include "codec.h"
#include "err.h"

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include <float.h>
#include <locale.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* ---- helpers --------------------------------------------------------------- */

/* splitmix64: a small PRNG with a fixed seed, so every run sees the same samples. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng_next(void) {
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rng_below(uint64_t n) {
    return rng_next() % n;
}

/* LMDB's default order: memcmp over the common prefix, then the shorter first. */
static int bytes_cmp(const void *a, size_t na, const void *b, size_t nb) {
    size_t n = na < nb ? na : nb;
    int c = n ? memcmp(a, b, n) : 0;
    if (c != 0) {
        return c < 0 ? -1 : 1;
    }
    return na < nb ? -1 : na > nb ? 1 : 0;
}

/* Bytes of a test pattern: every value 0..255 occurs, including 0x00 and 0xff. */
static char *pattern(size_t n) {
    char *s = malloc(n ? n : 1);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++) {
        s[i] = (char)(unsigned char)(i * 37 + 11);
    }
    if (n > 2) {
        s[1] = 0;
        s[n - 1] = (char)0xff;
    }
    return s;
}

/* Decodes one header from a buffer that must hold exactly one scalar value. */
static mp_item read_one(const codec_buf *b) {
    mp_reader r;
    mp_item it;
    assert_int_equal(mp_validate(b->p, b->len), 0);
    mp_reader_init(&r, b->p, b->len);
    assert_int_equal(mp_read(&r, &it), 0);
    assert_ptr_equal(r.p, r.end);
    return it;
}

/* Every strict prefix of `p[0..n)` (one complete value) must be refused by both
 * mp_validate and mp_skip, without reading past the end. Inputs over 4 KiB are
 * sampled (the first 256 prefixes, the last 16, a stride in between) so the
 * test stays fast; their structure repeats, so the short ones cover it. */
static void check_truncations(const unsigned char *p, size_t n) {
    size_t stride = n > 4096 ? n / 31 : 1;
    for (size_t len = 0; len < n; len++) {
        if (n > 4096 && len >= 256 && len + 16 < n && len % stride != 0) {
            continue;
        }
        unsigned char *q = malloc(len ? len : 1);
        assert_non_null(q);
        if (len) {
            memcpy(q, p, len);
        }
        assert_int_equal(mp_validate(q, len), GH_ECORRUPT);
        mp_reader r;
        mp_reader_init(&r, q, len);
        assert_int_equal(mp_skip(&r, CODEC_MAX_DEPTH), GH_ECORRUPT);
        assert_ptr_equal(r.p, q); /* unchanged on failure */
        free(q);
    }
}

/* ---- MessagePack scalars ----------------------------------------------------- */

static void test_mp_nil_bool(void **state) {
    (void)state;
    codec_buf b;
    codec_buf_init(&b);
    mp_put_nil(&b);
    assert_int_equal(b.len, 1);
    assert_int_equal(read_one(&b).type, MP_NIL);
    for (int v = 0; v <= 1; v++) {
        b.len = 0;
        mp_put_bool(&b, v);
        mp_item it = read_one(&b);
        assert_int_equal(it.type, MP_BOOL);
        assert_int_equal(it.v.b, v);
    }
    b.len = 0;
    mp_put_bool(&b, 42); /* any non-zero is true */
    assert_int_equal(read_one(&b).v.b, 1);
    codec_buf_free(&b);
}

static void test_mp_ints(void **state) {
    (void)state;
    static const struct {
        int64_t v;
        size_t len; /* minimal encoded length */
    } cases[] = {
        {0, 1},         {1, 1},      {127, 1},    {128, 2},          {255, 2},
        {256, 3},       {65535, 3},  {65536, 5},  {4294967295LL, 5}, {4294967296LL, 9},
        {INT64_MAX, 9}, {-1, 1},     {-32, 1},    {-33, 2},          {-128, 2},
        {-129, 3},      {-32768, 3}, {-32769, 5}, {INT32_MIN, 5},    {(int64_t)INT32_MIN - 1, 9},
        {INT64_MIN, 9},
    };
    codec_buf b;
    codec_buf_init(&b);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        b.len = 0;
        mp_put_int(&b, cases[i].v);
        assert_int_equal(b.len, cases[i].len);
        mp_item it = read_one(&b);
        assert_int_equal(it.type, MP_INT);
        assert_true(it.v.i == cases[i].v);
        check_truncations(b.p, b.len);
    }
    /* every value in a window around each boundary */
    static const int64_t centers[] = {0,   128,  256,    65536,    4294967296LL,
                                      -32, -128, -32768, INT32_MIN};
    for (size_t i = 0; i < sizeof centers / sizeof centers[0]; i++) {
        for (int64_t d = -3; d <= 3; d++) {
            b.len = 0;
            mp_put_int(&b, centers[i] + d);
            mp_item it = read_one(&b);
            assert_int_equal(it.type, MP_INT);
            assert_true(it.v.i == centers[i] + d);
        }
    }
    codec_buf_free(&b);
}

static void test_mp_read_foreign_ints(void **state) {
    (void)state;
    /* uint64 above INT64_MAX reads as a float */
    static const unsigned char big[] = {0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    mp_reader r;
    mp_item it;
    mp_reader_init(&r, big, sizeof big);
    assert_int_equal(mp_read(&r, &it), 0);
    assert_int_equal(it.type, MP_FLOAT);
    assert_true(it.v.d == 18446744073709551615.0);
    /* uint64 at INT64_MAX stays an integer */
    static const unsigned char max[] = {0xcf, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    mp_reader_init(&r, max, sizeof max);
    assert_int_equal(mp_read(&r, &it), 0);
    assert_int_equal(it.type, MP_INT);
    assert_true(it.v.i == INT64_MAX);
    /* non-minimal forms other writers produce are read */
    static const unsigned char i64one[] = {0xd3, 0, 0, 0, 0, 0, 0, 0, 1};
    mp_reader_init(&r, i64one, sizeof i64one);
    assert_int_equal(mp_read(&r, &it), 0);
    assert_int_equal(it.type, MP_INT);
    assert_int_equal(it.v.i, 1);
    static const unsigned char i16neg[] = {0xd1, 0xff, 0xfe};
    mp_reader_init(&r, i16neg, sizeof i16neg);
    assert_int_equal(mp_read(&r, &it), 0);
    assert_int_equal(it.v.i, -2);
    static const unsigned char u16[] = {0xcd, 0x00, 0x05};
    mp_reader_init(&r, u16, sizeof u16);
    assert_int_equal(mp_read(&r, &it), 0);
    assert_int_equal(it.v.i, 5);
    /* float32 */
    static const unsigned char f32[] = {0xca, 0x3f, 0xc0, 0x00, 0x00}; /* 1.5f */
    mp_reader_init(&r, f32, sizeof f32);
    assert_int_equal(mp_read(&r, &it), 0);
    assert_int_equal(it.type, MP_FLOAT);
    assert_true(it.v.d == 1.5);
    check_truncations(f32, sizeof f32);
}

static void test_mp_doubles(void **state) {
    (void)state;
    const double cases[] = {
        0.0,     0.5,     -0.0,   -0.5,     1.0,       -1.0, 1e300,   -1e300,
        DBL_MIN, DBL_MAX, 5e-324, INFINITY, -INFINITY, NAN,  3.14159, 9007199254740993.0};
    codec_buf b;
    codec_buf_init(&b);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        b.len = 0;
        mp_put_double(&b, cases[i]);
        assert_int_equal(b.len, 9);
        mp_item it = read_one(&b);
        assert_int_equal(it.type, MP_FLOAT);
        /* bit-exact: keeps the sign of -0.0 and the NaN payload */
        assert_memory_equal(&it.v.d, &cases[i], sizeof(double));
        check_truncations(b.p, b.len);
    }
    b.len = 0;
    mp_put_double(&b, -0.0);
    assert_true(signbit(read_one(&b).v.d));
    codec_buf_free(&b);
}

/* ---- strings ------------------------------------------------------------------ */

static void test_mp_strings(void **state) {
    (void)state;
    static const struct {
        size_t n, head;
    } cases[] = {{0, 1},   {1, 1},     {31, 1},    {32, 2},    {255, 2},
                 {256, 3}, {65535, 3}, {65536, 5}, {100000, 5}};
    codec_buf b;
    codec_buf_init(&b);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = cases[i].n;
        char *s = pattern(n);
        b.len = 0;
        mp_put_str(&b, s, n);
        assert_false(b.oom);
        assert_int_equal(b.len, cases[i].head + n);
        mp_item it = read_one(&b);
        assert_int_equal(it.type, MP_STR);
        assert_int_equal(it.n, n);
        if (n) {
            assert_memory_equal(it.s, s, n);
        }
        assert_ptr_equal(it.s, (const char *)b.p + cases[i].head); /* borrowed */
        check_truncations(b.p, b.len);
        free(s);
    }
    /* only NUL bytes, and only 0xff bytes */
    const char zeros[40] = {0};
    char ffs[40];
    memset(ffs, 0xff, sizeof ffs);
    const char *both[] = {zeros, ffs};
    for (int k = 0; k < 2; k++) {
        b.len = 0;
        mp_put_str(&b, both[k], sizeof ffs);
        mp_item it = read_one(&b);
        assert_int_equal(it.n, sizeof ffs);
        assert_memory_equal(it.s, both[k], sizeof ffs);
    }
    codec_buf_free(&b);
}

static void test_mp_bin_reads_as_str(void **state) {
    (void)state;
    static const unsigned char bin8[] = {0xc4, 3, 0, 0xff, 'x'};
    static const unsigned char bin16[] = {0xc5, 0, 2, 'a', 0};
    static const unsigned char bin32[] = {0xc6, 0, 0, 0, 1, 0xfe};
    const struct {
        const unsigned char *p;
        size_t n, head;
    } cases[] = {{bin8, sizeof bin8, 2}, {bin16, sizeof bin16, 3}, {bin32, sizeof bin32, 5}};
    for (size_t i = 0; i < 3; i++) {
        mp_reader r;
        mp_item it;
        mp_reader_init(&r, cases[i].p, cases[i].n);
        assert_int_equal(mp_read(&r, &it), 0);
        assert_int_equal(it.type, MP_STR);
        assert_int_equal(it.n, cases[i].n - cases[i].head);
        assert_ptr_equal(it.s, (const char *)cases[i].p + cases[i].head);
        assert_ptr_equal(r.p, r.end);
        check_truncations(cases[i].p, cases[i].n);
    }
}

/* ---- arrays and maps ------------------------------------------------------------ */

static void test_mp_arrays_maps(void **state) {
    (void)state;
    static const struct {
        uint32_t n;
        size_t head;
    } cases[] = {{0, 1}, {1, 1}, {15, 1}, {16, 3}, {65535, 3}, {65536, 5}};
    codec_buf b;
    codec_buf_init(&b);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint32_t n = cases[i].n;
        for (int is_map = 0; is_map <= 1; is_map++) {
            b.len = 0;
            if (is_map) {
                mp_put_map(&b, n);
            } else {
                mp_put_array(&b, n);
            }
            assert_int_equal(b.len, cases[i].head);
            for (uint32_t k = 0; k < n; k++) {
                if (is_map) {
                    char key[16];
                    int kn = snprintf(key, sizeof key, "k%u", (unsigned)k);
                    mp_put_str(&b, key, (size_t)kn);
                }
                mp_put_int(&b, (int64_t)k * 1000 - 7);
            }
            assert_false(b.oom);
            assert_int_equal(mp_validate(b.p, b.len), 0);

            mp_reader r;
            mp_item it;
            mp_reader_init(&r, b.p, b.len);
            assert_int_equal(mp_read(&r, &it), 0);
            assert_int_equal(it.type, is_map ? MP_MAP : MP_ARRAY);
            assert_int_equal(it.n, n);
            for (uint32_t k = 0; k < n; k++) {
                if (is_map) {
                    char key[16];
                    int kn = snprintf(key, sizeof key, "k%u", (unsigned)k);
                    assert_int_equal(mp_read(&r, &it), 0);
                    assert_int_equal(it.type, MP_STR);
                    assert_int_equal(it.n, (uint32_t)kn);
                    assert_memory_equal(it.s, key, (size_t)kn);
                }
                assert_int_equal(mp_read(&r, &it), 0);
                assert_int_equal(it.type, MP_INT);
                assert_true(it.v.i == (int64_t)k * 1000 - 7);
            }
            assert_ptr_equal(r.p, r.end);
            assert_int_equal(mp_read(&r, &it), GH_ECORRUPT); /* nothing left */

            /* mp_skip passes over the whole container */
            mp_reader_init(&r, b.p, b.len);
            assert_int_equal(mp_skip(&r, CODEC_MAX_DEPTH), 0);
            assert_ptr_equal(r.p, r.end);
            check_truncations(b.p, b.len);
        }
    }
    codec_buf_free(&b);
}

static void test_mp_nested(void **state) {
    (void)state;
    /* [1, [2, "x", [nil, {"k": [true, -1.5]}]], [], {}] */
    codec_buf b;
    codec_buf_init(&b);
    mp_put_array(&b, 4);
    mp_put_int(&b, 1);
    mp_put_array(&b, 3);
    mp_put_int(&b, 2);
    mp_put_str(&b, "x", 1);
    mp_put_array(&b, 2);
    mp_put_nil(&b);
    mp_put_map(&b, 1);
    mp_put_str(&b, "k", 1);
    mp_put_array(&b, 2);
    mp_put_bool(&b, 1);
    mp_put_double(&b, -1.5);
    mp_put_array(&b, 0);
    mp_put_map(&b, 0);
    assert_int_equal(mp_validate(b.p, b.len), 0);

    static const int types[] = {MP_ARRAY, MP_INT, MP_ARRAY, MP_INT,  MP_STR,   MP_ARRAY, MP_NIL,
                                MP_MAP,   MP_STR, MP_ARRAY, MP_BOOL, MP_FLOAT, MP_ARRAY, MP_MAP};
    mp_reader r;
    mp_item it;
    mp_reader_init(&r, b.p, b.len);
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        assert_int_equal(mp_read(&r, &it), 0);
        assert_int_equal(it.type, types[i]);
    }
    assert_ptr_equal(r.p, r.end);
    check_truncations(b.p, b.len);

    /* mp_skip of the second element (the nested array) lands on the third */
    mp_reader_init(&r, b.p, b.len);
    assert_int_equal(mp_read(&r, &it), 0);
    assert_int_equal(mp_skip(&r, CODEC_MAX_DEPTH), 0);
    assert_int_equal(mp_skip(&r, CODEC_MAX_DEPTH), 0);
    assert_int_equal(mp_read(&r, &it), 0);
    assert_int_equal(it.type, MP_ARRAY);
    assert_int_equal(it.n, 0);

    /* two values are not one */
    mp_put_nil(&b);
    assert_int_equal(mp_validate(b.p, b.len), GH_ECORRUPT);
    codec_buf_free(&b);
}

/* ---- corrupt input -------------------------------------------------------------- */

static void test_mp_depth(void **state) {
    (void)state;
    codec_buf b;
    codec_buf_init(&b);
    for (int levels = 1; levels <= CODEC_MAX_DEPTH + 2; levels++) {
        for (int is_map = 0; is_map <= 1; is_map++) {
            b.len = 0;
            for (int i = 0; i < levels - 1; i++) {
                if (is_map) {
                    mp_put_map(&b, 1);
                    mp_put_int(&b, i);
                } else {
                    mp_put_array(&b, 1);
                }
            }
            mp_put_array(&b, 0); /* the innermost container */
            int want = levels <= CODEC_MAX_DEPTH ? 0 : GH_ECORRUPT;
            assert_int_equal(mp_validate(b.p, b.len), want);
        }
    }
    /* a depth of 0 still admits a scalar, not a container */
    mp_reader r;
    mp_reader_init(&r, "\x01", 1);
    assert_int_equal(mp_skip(&r, 0), 0);
    mp_reader_init(&r, "\x90", 1);
    assert_int_equal(mp_skip(&r, 0), GH_ECORRUPT);

    /* far deeper than the limit: refused without deep recursion */
    size_t n = 1000000;
    unsigned char *deep = malloc(n);
    assert_non_null(deep);
    memset(deep, 0x91, n - 1);
    deep[n - 1] = 0xc0;
    assert_int_equal(mp_validate(deep, n), GH_ECORRUPT);
    free(deep);
    codec_buf_free(&b);
}

static void test_mp_huge_counts(void **state) {
    (void)state;
    static const unsigned char cases[][8] = {
        {0xdd, 0xff, 0xff, 0xff, 0xff, 0x01, 0x02, 0x03}, /* array32 of 2^32-1 */
        {0xdf, 0xff, 0xff, 0xff, 0xff, 0x01, 0x02, 0x03}, /* map32 */
        {0xdc, 0xff, 0xff, 0x01, 0x02, 0x03, 0x04, 0x05}, /* array16 */
        {0xde, 0xff, 0xff, 0x01, 0x02, 0x03, 0x04, 0x05}, /* map16 */
        {0x93, 0xdd, 0xff, 0xff, 0xff, 0xff, 0x01, 0x02}, /* nested */
        {0xdb, 0xff, 0xff, 0xff, 0xff, 'a', 'b', 'c'},    /* str32 */
        {0xc6, 0xff, 0xff, 0xff, 0xff, 'a', 'b', 'c'},    /* bin32 */
        {0x84, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07}, /* fixmap of 4 pairs, 7 bytes */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        unsigned char *q = malloc(8);
        assert_non_null(q);
        memcpy(q, cases[i], 8);
        assert_int_equal(mp_validate(q, 8), GH_ECORRUPT);
        free(q);
    }
    /* the same shape with a count the bytes can hold is fine */
    static const unsigned char ok[] = {0xdd, 0x00, 0x00, 0x00, 0x03, 0x01, 0x02, 0x03};
    assert_int_equal(mp_validate(ok, sizeof ok), 0);
    /* a million-element claim on a short array of nils */
    unsigned char *q = malloc(1000);
    assert_non_null(q);
    q[0] = 0xdd;
    q[1] = 0x00;
    q[2] = 0x0f;
    q[3] = 0x42;
    q[4] = 0x40;
    memset(q + 5, 0xc0, 995);
    assert_int_equal(mp_validate(q, 1000), GH_ECORRUPT);
    free(q);
}

static void test_mp_unknown_tags(void **state) {
    (void)state;
    static const unsigned char tags[] = {0xc1, 0xc7, 0xc8, 0xc9, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8};
    for (size_t i = 0; i < sizeof tags / sizeof tags[0]; i++) {
        /* the tag followed by plenty of bytes that would make a valid ext */
        unsigned char buf[24];
        memset(buf, 0x01, sizeof buf);
        buf[0] = tags[i];
        for (size_t n = 1; n <= sizeof buf; n++) {
            assert_int_equal(mp_validate(buf, n), GH_ECORRUPT);
        }
        mp_reader r;
        mp_item it;
        mp_reader_init(&r, buf, sizeof buf);
        assert_int_equal(mp_read(&r, &it), GH_ECORRUPT);
        assert_ptr_equal(r.p, buf);
        /* also inside a container */
        unsigned char in[3] = {0x92, 0x01, tags[i]};
        assert_int_equal(mp_validate(in, sizeof in), GH_ECORRUPT);
    }
    /* empty input */
    assert_int_equal(mp_validate("", 0), GH_ECORRUPT);
}

/* Every single-byte input: the known tags that need no more bytes validate,
 * every other tag is refused without a read past the one byte. */
static void test_mp_every_first_byte(void **state) {
    (void)state;
    for (int c = 0; c < 256; c++) {
        unsigned char *q = malloc(1);
        assert_non_null(q);
        q[0] = (unsigned char)c;
        int want = (c <= 0x7f || c >= 0xe0 || c == 0x80 || c == 0x90 || c == 0xa0 || c == 0xc0 ||
                    c == 0xc2 || c == 0xc3)
                       ? 0
                       : GH_ECORRUPT;
        assert_int_equal(mp_validate(q, 1), want);
        free(q);
    }
}

/* ---- keys ------------------------------------------------------------------------- */

/* Decodes exactly one element from b, which must then be exhausted. */
static key_item key_one(const codec_buf *b, codec_buf *str) {
    const unsigned char *p = b->p, *end = b->p + b->len;
    key_item it;
    assert_int_equal(key_read(&p, end, &it, str), 0);
    assert_ptr_equal(p, end);
    return it;
}

static void test_key_scalars(void **state) {
    (void)state;
    codec_buf b, str;
    codec_buf_init(&b);
    codec_buf_init(&str);

    key_put_nil(&b);
    assert_int_equal(b.len, 1);
    assert_int_equal(key_one(&b, &str).type, KEY_NIL);
    b.len = 0;
    key_put_bool(&b, 0);
    assert_int_equal(key_one(&b, &str).type, KEY_FALSE);
    b.len = 0;
    key_put_bool(&b, 7);
    assert_int_equal(key_one(&b, &str).type, KEY_TRUE);

    const int64_t ints[] = {
        0,     1,         -1,        127,       128,       -128,          -129,
        65536, INT32_MIN, INT32_MAX, INT64_MIN, INT64_MAX, INT64_MIN + 1, INT64_MAX - 1};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        b.len = 0;
        key_put_int(&b, ints[i]);
        assert_int_equal(b.len, 9);
        key_item it = key_one(&b, &str);
        assert_int_equal(it.type, KEY_INT);
        assert_true(it.i == ints[i]);
    }

    const double dbls[] = {0.0,     0.5,     -0.5,     1.0,      -1.0,
                           1e300,   -1e300,  DBL_MIN,  -DBL_MIN, 5e-324,
                           -5e-324, DBL_MAX, -DBL_MAX, INFINITY, -INFINITY};
    for (size_t i = 0; i < sizeof dbls / sizeof dbls[0]; i++) {
        b.len = 0;
        key_put_double(&b, dbls[i]);
        assert_int_equal(b.len, 9);
        key_item it = key_one(&b, &str);
        assert_int_equal(it.type, KEY_DOUBLE);
        assert_memory_equal(&it.d, &dbls[i], sizeof(double));
    }

    /* -0.0 and 0.0 are one key, and it decodes as +0.0 */
    codec_buf z;
    codec_buf_init(&z);
    key_put_double(&z, 0.0);
    b.len = 0;
    key_put_double(&b, -0.0);
    assert_int_equal(b.len, z.len);
    assert_memory_equal(b.p, z.p, z.len);
    key_item it = key_one(&b, &str);
    assert_true(it.d == 0.0);
    assert_false(signbit(it.d));
    codec_buf_free(&z);

    codec_buf_free(&b);
    codec_buf_free(&str);
}

static void test_key_strings(void **state) {
    (void)state;
    static const struct {
        const char *s;
        size_t n;
    } cases[] = {
        {"", 0},
        {"a", 1},
        {"hello", 5},
        {"\0", 1},
        {"\0\0", 2},
        {"\xff", 1},
        {"\0\xff", 2},
        {"\xff\0", 2},
        {"a\0b", 3},
        {"a\0\xff\0", 4},
        {"\x01\x02\0\x15\x21", 5},
    };
    codec_buf b, str;
    codec_buf_init(&b);
    codec_buf_init(&str);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        b.len = 0;
        key_put_str(&b, cases[i].s, cases[i].n);
        size_t nuls = 0;
        for (size_t k = 0; k < cases[i].n; k++) {
            nuls += cases[i].s[k] == 0;
        }
        assert_int_equal(b.len, cases[i].n + nuls + 2);
        assert_int_equal(b.p[0], KEY_STR);
        assert_int_equal(b.p[b.len - 1], 0);
        key_item it = key_one(&b, &str);
        assert_int_equal(it.type, KEY_STR);
        assert_int_equal(str.len, cases[i].n);
        if (cases[i].n) {
            assert_memory_equal(str.p, cases[i].s, cases[i].n);
        }
    }
    /* long strings with every byte value */
    for (size_t n = 100; n <= 100000; n *= 10) {
        char *s = pattern(n);
        b.len = 0;
        key_put_str(&b, s, n);
        key_one(&b, &str);
        assert_int_equal(str.len, n);
        assert_memory_equal(str.p, s, n);
        free(s);
    }
    codec_buf_free(&b);
    codec_buf_free(&str);
}

static void test_key_tuple_and_corrupt(void **state) {
    (void)state;
    codec_buf b, str;
    codec_buf_init(&b);
    codec_buf_init(&str);
    key_put_str(&b, "a\0b", 3);
    key_put_int(&b, -5);
    key_put_nil(&b);
    key_put_str(&b, "", 0);
    key_put_double(&b, 2.5);
    key_put_bool(&b, 1);

    const unsigned char *p = b.p, *end = b.p + b.len;
    key_item it;
    assert_int_equal(key_read(&p, end, &it, &str), 0);
    assert_int_equal(it.type, KEY_STR);
    assert_int_equal(str.len, 3);
    assert_memory_equal(str.p, "a\0b", 3);
    assert_int_equal(key_read(&p, end, &it, &str), 0);
    assert_int_equal(it.type, KEY_INT);
    assert_true(it.i == -5);
    assert_int_equal(key_read(&p, end, &it, &str), 0);
    assert_int_equal(it.type, KEY_NIL);
    assert_int_equal(key_read(&p, end, &it, &str), 0);
    assert_int_equal(it.type, KEY_STR);
    assert_int_equal(str.len, 0);
    assert_int_equal(key_read(&p, end, &it, &str), 0);
    assert_int_equal(it.type, KEY_DOUBLE);
    assert_true(it.d == 2.5);
    assert_int_equal(key_read(&p, end, &it, &str), 0);
    assert_int_equal(it.type, KEY_TRUE);
    assert_ptr_equal(p, end);
    assert_int_equal(key_read(&p, end, &it, &str), GH_ECORRUPT);

    /* truncated elements fail, leave *p alone, and read nothing past the end.
     * (A string cut just after an escaped NUL's 0x00 is a shorter valid string,
     * so the string here has no NUL; the cut escape is checked below.) */
    codec_buf one;
    codec_buf_init(&one);
    key_put_int(&one, 1);
    key_put_double(&one, -1.0);
    key_put_str(&one,
                "ab\xff"
                "c",
                4);
    size_t starts[] = {0, 9, 18, one.len};
    for (int e = 0; e < 3; e++) {
        for (size_t len = 0; len < starts[e + 1] - starts[e]; len++) {
            unsigned char *q = malloc(len ? len : 1);
            assert_non_null(q);
            if (len) {
                memcpy(q, one.p + starts[e], len);
            }
            const unsigned char *qp = q;
            assert_int_equal(key_read(&qp, q + len, &it, &str), GH_ECORRUPT);
            assert_ptr_equal(qp, q);
            free(q);
        }
    }
    codec_buf_free(&one);
    static const unsigned char cut_escape[] = {KEY_STR, 'a', 0x00, 0xff};
    unsigned char *q = malloc(sizeof cut_escape);
    assert_non_null(q);
    memcpy(q, cut_escape, sizeof cut_escape);
    const unsigned char *qp = q;
    assert_int_equal(key_read(&qp, q + sizeof cut_escape, &it, &str), GH_ECORRUPT);
    assert_ptr_equal(qp, q);
    qp = q; /* cut at the 0x00: the string "a" */
    assert_int_equal(key_read(&qp, q + 3, &it, &str), 0);
    assert_int_equal(str.len, 1);
    assert_ptr_equal(qp, q + 3);
    free(q);

    /* unknown type bytes */
    for (int c = 0; c < 256; c++) {
        if (c == KEY_NIL || c == KEY_STR || c == KEY_INT || c == KEY_DOUBLE || c == KEY_FALSE ||
            c == KEY_TRUE) {
            continue;
        }
        unsigned char buf[16];
        memset(buf, 0, sizeof buf);
        buf[0] = (unsigned char)c;
        qp = buf;
        assert_int_equal(key_read(&qp, buf + sizeof buf, &it, &str), GH_ECORRUPT);
        assert_ptr_equal(qp, buf);
    }
    codec_buf_free(&b);
    codec_buf_free(&str);
}

/* ---- key order against Lua --------------------------------------------------------- */

#define ORDER_SAMPLES 4000

/* -1, 0 or 1: the order Lua 5.4 gives the two values on top of the stack. */
static int lua_order(lua_State *L) {
    int c = lua_compare(L, -2, -1, LUA_OPLT) ? -1 : lua_compare(L, -1, -2, LUA_OPLT) ? 1 : 0;
    if (c == 0) {
        assert_true(lua_compare(L, -2, -1, LUA_OPEQ));
    } else {
        assert_false(lua_compare(L, -2, -1, LUA_OPEQ));
    }
    lua_pop(L, 2);
    return c;
}

static lua_State *new_lua(void) {
    /* Lua compares strings with strcoll: make that bytewise */
    assert_non_null(setlocale(LC_ALL, "C"));
    lua_State *L = luaL_newstate();
    assert_non_null(L);
    return L;
}

static void assert_same_order(const codec_buf *a, const codec_buf *b, int want) {
    int got = bytes_cmp(a->p, a->len, b->p, b->len);
    if (got != want) {
        fprintf(stderr, "key order: bytes say %d, Lua says %d\n", got, want);
        fail();
    }
}

static int64_t random_int(void) {
    switch (rng_below(5)) {
    case 0:
        return (int64_t)rng_below(21) - 10; /* small, so equal pairs occur */
    case 1: {
        static const int64_t edges[] = {INT64_MIN, INT64_MIN + 1, -1,        0,
                                        1,         INT64_MAX - 1, INT64_MAX, INT32_MIN,
                                        INT32_MAX, 255,           256,       -129};
        return edges[rng_below(sizeof edges / sizeof edges[0])];
    }
    case 2: { /* all magnitudes */
        uint64_t u = rng_next() >> rng_below(64);
        return (int64_t)(rng_below(2) ? u : 0 - u);
    }
    default:
        return (int64_t)rng_next();
    }
}

static double random_double(void) {
    for (;;) {
        double d;
        switch (rng_below(5)) {
        case 0:
            d = (double)((int64_t)rng_below(11) - 5) * 0.5;
            break;
        case 1: {
            static const double edges[] = {0.0,     -0.0,     INFINITY, -INFINITY,
                                           DBL_MAX, -DBL_MAX, DBL_MIN,  -DBL_MIN,
                                           5e-324,  -5e-324,  1e300,    -1e300};
            d = edges[rng_below(sizeof edges / sizeof edges[0])];
            break;
        }
        default: {
            uint64_t u = rng_next();
            memcpy(&d, &u, sizeof d);
            break;
        }
        }
        if (!isnan(d)) { /* NaN is unordered in Lua; keys give it a place */
            return d;
        }
    }
}

/* Random bytes into s[from..n), weighted towards 0x00, 0xff and shared prefixes. */
static void random_bytes(char *s, size_t from, size_t n) {
    for (size_t i = from; i < n; i++) {
        switch (rng_below(4)) {
        case 0:
            s[i] = 0;
            break;
        case 1:
            s[i] = (char)0xff;
            break;
        case 2:
            s[i] = (char)('a' + rng_below(3)); /* shared prefixes */
            break;
        default:
            s[i] = (char)(unsigned char)rng_next();
        }
    }
}

/* A random string of 0..20 bytes in s; its length. */
static size_t random_str(char *s) {
    size_t n = rng_below(21);
    random_bytes(s, 0, n);
    return n;
}

/* Makes y a random string sharing a prefix with x (equal, a prefix of x, or x
 * extended); its length. */
static size_t related_str(char *y, const char *x, size_t nx) {
    size_t ny = rng_below(3) == 0 ? nx : rng_below(21);
    size_t common = nx < ny ? nx : ny;
    memcpy(y, x, common);
    random_bytes(y, common, ny);
    return ny;
}

/* The order property, for one kind of key: ORDER_SAMPLES pairs drawn by
 * draw (their key encodings into a and b; the order the Lua values have,
 * returned) sort by memcmp as the values do. */
typedef int (*draw_pair)(lua_State *L, codec_buf *a, codec_buf *b);

static void check_key_order(draw_pair draw) {
    lua_State *L = new_lua();
    codec_buf a, b;
    codec_buf_init(&a);
    codec_buf_init(&b);
    for (int i = 0; i < ORDER_SAMPLES; i++) {
        a.len = b.len = 0;
        int want = draw(L, &a, &b);
        assert_same_order(&a, &b, want);
    }
    codec_buf_free(&a);
    codec_buf_free(&b);
    lua_close(L);
}

static int draw_ints(lua_State *L, codec_buf *a, codec_buf *b) {
    int64_t x = random_int(), y = random_int();
    key_put_int(a, x);
    key_put_int(b, y);
    lua_pushinteger(L, x);
    lua_pushinteger(L, y);
    return lua_order(L);
}

static int draw_doubles(lua_State *L, codec_buf *a, codec_buf *b) {
    double x = random_double(), y = random_double();
    key_put_double(a, x);
    key_put_double(b, y);
    lua_pushnumber(L, x);
    lua_pushnumber(L, y);
    return lua_order(L);
}

static int draw_strings(lua_State *L, codec_buf *a, codec_buf *b) {
    char x[20], y[20];
    size_t nx = random_str(x), ny = random_str(y);
    if (rng_below(4) == 0) { /* prefixes are the hard case */
        ny = related_str(y, x, nx);
    }
    key_put_str(a, x, nx);
    key_put_str(b, y, ny);
    lua_pushlstring(L, x, nx);
    lua_pushlstring(L, y, ny);
    return lua_order(L);
}

static int draw_tuples(lua_State *L, codec_buf *a, codec_buf *b) {
    char x[20], y[20];
    size_t nx = random_str(x), ny = random_str(y);
    if (rng_below(2) == 0) { /* equal or prefix-related first elements */
        ny = related_str(y, x, nx);
    }
    int64_t ix = random_int(), iy = rng_below(3) == 0 ? ix : random_int();
    key_put_str(a, x, nx);
    key_put_int(a, ix);
    key_put_str(b, y, ny);
    key_put_int(b, iy);
    /* tuples compare element by element */
    lua_pushlstring(L, x, nx);
    lua_pushlstring(L, y, ny);
    int want = lua_order(L);
    if (want == 0) {
        lua_pushinteger(L, ix);
        lua_pushinteger(L, iy);
        want = lua_order(L);
    }
    return want;
}

static void test_key_order_ints(void **state) {
    (void)state;
    check_key_order(draw_ints);
}

static void test_key_order_doubles(void **state) {
    (void)state;
    check_key_order(draw_doubles);
}

static void test_key_order_strings(void **state) {
    (void)state;
    check_key_order(draw_strings);
}

static void test_key_order_tuples(void **state) {
    (void)state;
    check_key_order(draw_tuples);
}

/* ---- dates ---------------------------------------------------------------------------- */

static void test_dates(void **state) {
    (void)state;
    static const char *valid[] = {"1990-01-01", "2024-02-29", "2000-02-29",
                                  "1000-01-01", "9999-12-31", "2023-12-31",
                                  "2023-04-30", "2023-02-28", "1996-02-29"};
    static const char *invalid[] = {
        "2023-02-29", "1990-13-01", "1990/01/01",  "1900-02-29", "2023-04-31", "2023-00-10",
        "2023-01-00", "2023-01-32", "0999-12-31",  "0000-01-01", "1990-1-01",  "1990-01-1",
        "90-01-01",   "",           "1990-01-011", "199a-01-01", "1990-0a-01", "1990-01-0a",
        "1990_01-01", "1990-01_01", "+990-01-01",  " 990-01-01", "1990-01- 1", "1990-99-99",
        "2023-06-31", "1990-01-01 "};
    for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++) {
        if (!codec_is_date(valid[i], strlen(valid[i]))) {
            fprintf(stderr, "should be a date: %s\n", valid[i]);
            fail();
        }
    }
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
        if (codec_is_date(invalid[i], strlen(invalid[i]))) {
            fprintf(stderr, "should not be a date: '%s'\n", invalid[i]);
            fail();
        }
    }
    /* the length is what counts, not a terminator */
    assert_true(codec_is_date("2024-02-29xyz", 10));
    assert_false(codec_is_date("2024-02-29", 9));
    assert_false(codec_is_date("2024-02-2\0", 10));
    assert_false(codec_is_date("2024-\xff"
                               "2-29",
                               10));
    /* every day of one leap and one common year, and nothing past the month's end */
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    for (int leap = 0; leap <= 1; leap++) {
        int year = leap ? 2024 : 2023;
        for (int m = 1; m <= 12; m++) {
            int last = mdays[m - 1] + (leap && m == 2);
            for (int d = 1; d <= 31; d++) {
                char s[16];
                snprintf(s, sizeof s, "%04d-%02d-%02d", year, m, d);
                assert_int_equal(codec_is_date(s, 10), d <= last);
            }
        }
    }
}

/* ---- codec_buf ------------------------------------------------------------------------ */

static void test_buf_growth(void **state) {
    (void)state;
    codec_buf b;
    codec_buf_init(&b);
    assert_null(b.p);
    assert_int_equal(b.len, 0);
    for (size_t i = 0; i < 300000; i++) {
        unsigned char c = (unsigned char)(i * 7);
        codec_buf_add(&b, &c, 1);
        assert_true(b.len <= b.cap);
    }
    assert_false(b.oom);
    assert_int_equal(b.len, 300000);
    for (size_t i = 0; i < b.len; i++) {
        if (b.p[i] != (unsigned char)(i * 7)) {
            fail_msg("byte %zu lost in growth", i);
        }
    }
    /* a grow for a big block at once */
    size_t before = b.len;
    char *s = pattern(1 << 20);
    codec_buf_add(&b, s, 1 << 20);
    assert_int_equal(b.len, before + (1 << 20));
    assert_memory_equal(b.p + before, s, 1 << 20);
    free(s);
    /* codec_buf_need gives room without changing len */
    unsigned char *q = codec_buf_need(&b, 5000000);
    assert_non_null(q);
    assert_ptr_equal(q, b.p + b.len);
    assert_true(b.cap - b.len >= 5000000);
    assert_int_equal(codec_buf_grow(&b, 10), 0);

    codec_buf_free(&b);
    assert_null(b.p);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    mp_put_str(&b, "again", 5); /* usable after free */
    assert_int_equal(b.len, 6);
    codec_buf_free(&b);

    /* an impossible size fails cleanly and sets oom; later writes are refused */
    codec_buf_init(&b);
    codec_buf_add(&b, "x", 1);
    assert_int_equal(codec_buf_grow(&b, SIZE_MAX - 8), GH_ENOMEM);
    assert_true(b.oom);
    assert_int_equal(codec_buf_grow(&b, 1), GH_ENOMEM);
    assert_int_equal(b.len, 1);
    codec_buf_free(&b);
    assert_false(b.oom);
}

/* mp_skip_fast's table agrees with mp_skip on every first byte, whole or
 * cut short, with lengths that fit and lengths that do not. */
static void test_skip_fast_agrees(void **state) {
    (void)state;
    unsigned char buf[80];
    for (int c = 0; c < 256; c++) {
        for (int fill = 0; fill < 4; fill++) {
            for (size_t n = 1; n <= sizeof buf; n++) {
                buf[0] = (unsigned char)c;
                for (size_t i = 1; i < sizeof buf; i++) {
                    buf[i] = fill == 0   ? 0
                             : fill == 1 ? 0xff
                             : fill == 2 ? 3
                                         : (unsigned char)(i * 7);
                }
                mp_reader a, b;
                mp_reader_init(&a, buf, n);
                mp_reader_init(&b, buf, n);
                int ra = mp_skip(&a, CODEC_MAX_DEPTH), rb = mp_skip_fast(&b);
                assert_int_equal(ra, rb);
                assert_ptr_equal(a.p, b.p);
            }
        }
    }
}

/* Issue 16, class 11: what no text file holds. codec_utf8_valid on the
 * edges of UTF-8; mp_check_text agrees with mp_skip on where a value ends
 * (every first byte, cut short) and finds bad text and numbers at any depth;
 * mp_text_clean makes them writable; codec_show_bytes escapes them. */
static void test_text_checks(void **state) {
    (void)state;
    static const struct {
        const char *s;
        int ok;
        size_t bad;
    } u[] = {
        {"", 1, 0},
        {"plain ascii text, longer than eight", 1, 0},
        {"\xc2\x80\xdf\xbf", 1, 0},
        {"\xe4\xb8\xad\xe6\x96\x87", 1, 0},
        {"\xef\xbf\xbd", 1, 0},
        {"\xf0\x90\x80\x80\xf4\x8f\xbf\xbf", 1, 0},
        {"abc\x80", 0, 3},
        {"\xc0\x80", 0, 0},         /* overlong NUL */
        {"\xc1\xbf", 0, 0},         /* overlong */
        {"\xe0\x80\x80", 0, 0},     /* overlong */
        {"\xed\xa0\x80", 0, 0},     /* a surrogate */
        {"\xf4\x90\x80\x80", 0, 0}, /* past U+10FFFF */
        {"\xf5\x80\x80\x80", 0, 0},
        {"12345678\xe4\xb8", 0, 8}, /* cut short after the ASCII run */
        {"\xff", 0, 0},
    };
    for (size_t i = 0; i < sizeof u / sizeof *u; i++) {
        size_t bad = 99;
        int ok = codec_utf8_valid((const unsigned char *)u[i].s, strlen(u[i].s), &bad);
        assert_int_equal(ok, u[i].ok);
        if (!ok) {
            assert_int_equal(bad, u[i].bad);
        }
    }
    /* every three bytes led by E0..EF, whole and cut short, after "ab":
     * valid exactly when they decode to U+0800..FFFF, no surrogate */
    for (unsigned c0 = 0xe0; c0 <= 0xef; c0++) {
        for (unsigned c1 = 0; c1 < 256; c1++) {
            for (unsigned c2 = 0; c2 < 256; c2++) {
                unsigned char t[5] = {'a', 'b', (unsigned char)c0, (unsigned char)c1,
                                      (unsigned char)c2};
                unsigned cp = (c0 & 0x0f) << 12 | (c1 & 0x3f) << 6 | (c2 & 0x3f);
                int want = (c1 & 0xc0) == 0x80 && (c2 & 0xc0) == 0x80 && cp >= 0x800 &&
                           !(cp >= 0xd800 && cp <= 0xdfff);
                size_t bad = 99;
                assert_int_equal(codec_utf8_valid(t, 5, &bad), want);
                if (!want) {
                    assert_int_equal(bad, 2);
                }
                assert_int_equal(codec_utf8_valid(t, 4, NULL), 0);
            }
        }
    }
    /* agrees with mp_skip on every first byte; strings of bytes that are
     * not UTF-8 (fill 1: 0xff) are flagged, never misread */
    unsigned char buf[80];
    for (int c = 0; c < 256; c++) {
        for (int fill = 0; fill < 3; fill++) {
            for (size_t n = 1; n <= sizeof buf; n++) {
                buf[0] = (unsigned char)c;
                for (size_t i = 1; i < sizeof buf; i++) {
                    buf[i] = fill == 0 ? 0 : fill == 1 ? 0xff : (unsigned char)(i * 7);
                }
                mp_reader a, b;
                mp_flaw fl;
                mp_reader_init(&a, buf, n);
                mp_reader_init(&b, buf, n);
                int ra = mp_skip(&a, CODEC_MAX_DEPTH), rb = mp_check_text(&b, CODEC_MAX_DEPTH, &fl);
                if (mp_text_ok(buf, n)) { /* the fast path says yes only when the walk does */
                    assert_int_equal(rb, 0);
                }
                if (rb == 1) { /* (the walk stops there: the rest may be cut short) */
                    assert_true(fl.kind == MP_FLAW_UTF8 || fl.kind == MP_FLAW_NONFINITE);
                } else {
                    assert_int_equal(ra, rb);
                    if (ra == 0) {
                        assert_ptr_equal(a.p, b.p);
                    }
                }
            }
        }
    }
    /* at depth, and map keys; then cleaned */
    codec_buf v, out;
    codec_buf_init(&v);
    codec_buf_init(&out);
    mp_put_array(&v, 3);
    mp_put_str(&v, "ok", 2);
    mp_put_map(&v, 2);
    mp_put_str(&v, "k\xc3", 2);
    mp_put_double(&v, 2.5);
    mp_put_str(&v, "n", 1);
    mp_put_array(&v, 2);
    mp_put_double(&v, -INFINITY);
    mp_put_int(&v, 7);
    mp_put_double(&v, NAN);
    mp_reader r;
    mp_flaw fl;
    assert_int_equal(mp_text_ok(v.p, v.len), 0);
    mp_reader_init(&r, v.p, v.len);
    assert_int_equal(mp_check_text(&r, CODEC_MAX_DEPTH, &fl), 1);
    assert_int_equal(fl.kind, MP_FLAW_UTF8);
    assert_int_equal(fl.n, 2);
    assert_int_equal(fl.bad, 1);
    mp_reader_init(&r, v.p, v.len);
    assert_int_equal(mp_text_clean(&r, &out, CODEC_MAX_DEPTH), 0);
    assert_ptr_equal(r.p, v.p + v.len);
    mp_reader_init(&r, out.p, out.len);
    assert_int_equal(mp_check_text(&r, CODEC_MAX_DEPTH, &fl), 0);
    assert_ptr_equal(r.p, out.p + out.len);
    assert_int_equal(mp_text_ok(out.p, out.len), 1);
    /* each flaw alone, every kind of header around it: the fast path refuses */
    static const double bad_d[] = {NAN, INFINITY, -INFINITY};
    for (int i = 0; i < 3; i++) {
        codec_buf x;
        codec_buf_init(&x);
        mp_put_array(&x, 3);
        mp_put_str(&x, "a fine string of forty characters or so.", 40);
        mp_put_int(&x, -70000);
        mp_put_double(&x, bad_d[i]);
        assert_int_equal(mp_text_ok(x.p, x.len), 0);
        x.p[x.len - 9] = 0xca; /* the same as a float 32 */
        x.len -= 4;
        x.p[x.len - 4] = (unsigned char)(bad_d[i] < 0 ? 0xff : 0x7f);
        x.p[x.len - 3] = (unsigned char)(i ? 0x80 : 0xc0);
        x.p[x.len - 2] = x.p[x.len - 1] = 0;
        assert_int_equal(mp_text_ok(x.p, x.len), 0);
        mp_reader_init(&r, x.p, x.len);
        assert_int_equal(mp_check_text(&r, CODEC_MAX_DEPTH, &fl), 1);
        assert_int_equal(fl.kind, MP_FLAW_NONFINITE);
        codec_buf_free(&x);
    }
    /* records of 16 fields or more (array 16) and maps of 16 pairs or more
     * (map 16) take the fast path too: a flaw in any field is still found */
    for (int map = 0; map < 2; map++) {
        for (uint32_t nf = 15; nf <= 300; nf += nf < 40 ? 1 : 101) {
            for (uint32_t badat = 0; badat <= nf; badat++) { /* nf: no flaw */
                codec_buf x;
                codec_buf_init(&x);
                if (map) {
                    mp_put_map(&x, nf);
                } else {
                    mp_put_array(&x, nf);
                }
                for (uint32_t f = 0; f < nf; f++) {
                    if (map) {
                        mp_put_int(&x, f);
                    }
                    if (f == badat) {
                        mp_put_str(&x, "k\xc3", 2);
                    } else if (f % 3 == 0) {
                        mp_put_nil(&x);
                    } else if (f % 3 == 1) {
                        mp_put_str(&x, "2025-01-20", 10);
                    } else {
                        mp_put_int(&x, 20000);
                    }
                }
                assert_int_equal(mp_text_ok(x.p, x.len), badat == nf);
                mp_reader_init(&r, x.p, x.len);
                assert_int_equal(mp_check_text(&r, CODEC_MAX_DEPTH, &fl), badat == nf ? 0 : 1);
                assert_int_equal(mp_text_ok(x.p, x.len - 1), 0); /* cut short */
                codec_buf_free(&x);
            }
        }
    }
    /* a bad byte first or last in strings of every length */
    for (size_t len = 1; len < 300; len += len < 40 ? 1 : 7) {
        codec_buf x;
        char sbuf[300];
        codec_buf_init(&x);
        for (int at = 0; at < 2; at++) {
            memset(sbuf, 'a', len);
            sbuf[at ? len - 1 : 0] = (char)0xe4;
            x.len = 0;
            mp_put_array(&x, 1);
            mp_put_str(&x, sbuf, len);
            assert_int_equal(mp_text_ok(x.p, x.len), 0);
        }
        memset(sbuf, 'a', len);
        x.len = 0;
        mp_put_array(&x, 1);
        mp_put_str(&x, sbuf, len);
        assert_int_equal(mp_text_ok(x.p, x.len), 1);
        codec_buf_free(&x);
    }
    /* nested deeper than the walk allows: the fast path leaves it to the
     * walk, which refuses it (found by fuzz_value: 101 arrays of one) */
    {
        codec_buf x;
        codec_buf_init(&x);
        for (int d = 0; d < 101; d++) {
            mp_put_array(&x, 1);
        }
        mp_put_array(&x, 0);
        assert_int_equal(mp_text_ok(x.p, x.len), 0);
        mp_reader_init(&r, x.p, x.len);
        assert_int_equal(mp_check_text(&r, CODEC_MAX_DEPTH, &fl), GH_ECORRUPT);
        x.len = 0;
        for (int d = 0; d < CODEC_MAX_DEPTH - 2; d++) { /* as deep as the fast path goes */
            mp_put_array(&x, 1);
        }
        mp_put_nil(&x);
        assert_int_equal(mp_text_ok(x.p, x.len), 1);
        mp_reader_init(&r, x.p, x.len);
        assert_int_equal(mp_check_text(&r, CODEC_MAX_DEPTH, &fl), 0);
        codec_buf_free(&x);
    }
    codec_buf js;
    codec_buf_init(&js);
    mp_reader_init(&r, out.p, out.len);
    assert_int_equal(mp_to_json(&r, &js, CODEC_MAX_DEPTH), 0);
    codec_buf_add(&js, "", 1);
    assert_string_equal((char *)js.p, "[\"ok\",{\"k\xef\xbf\xbd\":2.5,\"n\":[null,7]},null]");
    /* too deep for the walk: corrupt, as for mp_skip */
    v.len = 0;
    for (int d = 0; d < CODEC_MAX_DEPTH + 2; d++) {
        mp_put_array(&v, 1);
    }
    mp_put_nil(&v);
    mp_reader_init(&r, v.p, v.len);
    assert_int_equal(mp_check_text(&r, CODEC_MAX_DEPTH, &fl), GH_ECORRUPT);
    /* a JSON string never holds such bytes */
    js.len = 0;
    codec_json_str(&js, "a\xff\"b", 4);
    codec_buf_add(&js, "", 1);
    assert_string_equal((char *)js.p, "\"a\xef\xbf\xbd\\\"b\"");
    /* shown for a message: bad bytes as \xNN, cut between characters */
    char sh[32];
    codec_show_bytes("a\xff"
                     "b\xe4\xb8\xad",
                     6, sh, sizeof sh);
    assert_string_equal(sh, "a\\xFFb\xe4\xb8\xad");
    codec_show_bytes("\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad"
                     "\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad",
                     30, sh, 16);
    assert_string_equal(sh, "\xe4\xb8\xad\xe4\xb8\xad...");
    codec_buf_free(&v);
    codec_buf_free(&out);
    codec_buf_free(&js);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mp_nil_bool),
        cmocka_unit_test(test_mp_ints),
        cmocka_unit_test(test_mp_read_foreign_ints),
        cmocka_unit_test(test_mp_doubles),
        cmocka_unit_test(test_mp_strings),
        cmocka_unit_test(test_mp_bin_reads_as_str),
        cmocka_unit_test(test_mp_arrays_maps),
        cmocka_unit_test(test_mp_nested),
        cmocka_unit_test(test_mp_depth),
        cmocka_unit_test(test_mp_huge_counts),
        cmocka_unit_test(test_mp_unknown_tags),
        cmocka_unit_test(test_mp_every_first_byte),
        cmocka_unit_test(test_key_scalars),
        cmocka_unit_test(test_key_strings),
        cmocka_unit_test(test_key_tuple_and_corrupt),
        cmocka_unit_test(test_key_order_ints),
        cmocka_unit_test(test_key_order_doubles),
        cmocka_unit_test(test_key_order_strings),
        cmocka_unit_test(test_key_order_tuples),
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_buf_growth),
        cmocka_unit_test(test_skip_fast_agrees),
        cmocka_unit_test(test_text_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

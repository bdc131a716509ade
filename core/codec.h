/*
 * codec.h — the byte encodings the store is made of.
 *
 * Two encodings, both pure C (no Lua here; lua_codec.c maps Lua values):
 *
 *  1. Values: MessagePack. A record is an array of its fields in schema
 *     order (the collection definition holds the names). The reader checks
 *     every length against the bytes left before touching them and callers
 *     cap nesting depth, so corrupt or hostile bytes give GH_ECORRUPT, never
 *     an over-read.
 *
 *  2. Keys: an order-preserving tuple encoding compared with memcmp (LMDB's
 *     default comparator), FoundationDB-tuple style. Each element is a type
 *     byte and a body:
 *        0x00            nil
 *        0x02 s... 0x00  string, each 0x00 byte in s written as 0x00 0xFF
 *        0x15 b[8]       integer, big-endian two's complement with the sign
 *                        bit flipped (so negatives sort below positives)
 *        0x21 b[8]       double, IEEE bits big-endian; positive: sign bit
 *                        set; negative: all bits flipped
 *        0x26 / 0x27     false / true
 *     A compound key is the concatenation of its elements; since strings are
 *     terminated, compound keys sort field by field.
 *
 * Invariants: encode(a) < encode(b) bytewise iff a < b, for two values of
 * the same kind (int/int, double/double, string/string bytewise, bool/bool),
 * and for tuples of such values compared element by element.
 */
#ifndef GH_CODEC_H
#define GH_CODEC_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Nesting deeper than this is refused when encoding and decoding. */
#define CODEC_MAX_DEPTH 64

/* ---- growable byte buffer ------------------------------------------------ */

/* A growable byte buffer. `oom` is set once an allocation failed; later
 * writes are dropped, so a writer checks once at the end. */
typedef struct codec_buf {
    unsigned char *p;
    size_t len, cap;
    int oom;
    int borrowed; /* p is the caller's memory (codec_buf_init_on): never freed */
} codec_buf;

/* Counts the bytes codec buffers of this thread hold against a limit (a
 * script's --memory: issue 16, class 4, payloads and `any` fields grew
 * buffers far past it). fn(ud, add, sub) is told a buffer grows from sub
 * to add bytes (add 0: freed) and returns non-zero to refuse the growth
 * (the buffer then fails with GH_ENOMEM); it must accept shrinking. NULL
 * ends the counting. */
void codec_set_charge(int (*fn)(void *ud, size_t add, size_t sub), void *ud);

/* An empty buffer (no allocation until the first write). */
void codec_buf_init(codec_buf *b);
/* An empty buffer that writes into the caller's `mem` (cap bytes, often on
 * the stack) until it outgrows it, then moves to the heap. */
void codec_buf_init_on(codec_buf *b, void *mem, size_t cap);
/* Frees the bytes; the buffer is empty and usable again. */
void codec_buf_free(codec_buf *b);
/* Makes room for `n` more bytes; 0 or GH_ENOMEM (and sets b->oom). */
int codec_buf_grow(codec_buf *b, size_t n);

static inline unsigned char *codec_buf_need(codec_buf *b, size_t n) {
    if (b->oom) {
        return NULL;
    }
    if ((!b->p || b->cap - b->len < n) && codec_buf_grow(b, n) != 0) {
        return NULL;
    }
    return b->p + b->len;
}

static inline void codec_buf_add(codec_buf *b, const void *s, size_t n) {
    unsigned char *q = codec_buf_need(b, n);
    if (q) {
        if (n) {
            memcpy(q, s, n);
        }
        b->len += n;
    }
}

/* ---- MessagePack writer --------------------------------------------------- */

void mp_put_nil(codec_buf *b);
void mp_put_bool(codec_buf *b, int v);
void mp_put_int(codec_buf *b, int64_t v);
void mp_put_double(codec_buf *b, double v);
void mp_put_str(codec_buf *b, const char *s, size_t n);
void mp_put_array(codec_buf *b, uint32_t n);
void mp_put_map(codec_buf *b, uint32_t n);

/* ---- MessagePack reader --------------------------------------------------- */

enum mp_type { MP_NIL, MP_BOOL, MP_INT, MP_FLOAT, MP_STR, MP_ARRAY, MP_MAP };

/* One decoded header. For MP_STR, `s`/`n` point into the input (borrowed,
 * valid as long as the input bytes). For MP_ARRAY/MP_MAP, `n` is the count
 * of elements (pairs for maps) that follow. Binary is read as MP_STR;
 * unsigned integers above INT64_MAX are read as MP_FLOAT. */
typedef struct mp_item {
    int type;
    union {
        int b;
        int64_t i;
        double d;
    } v;
    const char *s;
    uint32_t n;
} mp_item;

typedef struct mp_reader {
    const unsigned char *p, *end;
} mp_reader;

static inline void mp_reader_init(mp_reader *r, const void *p, size_t n) {
    r->p = p;
    r->end = r->p + n;
}

/* Reads one header at r->p into *it and advances past it (and past a
 * string's bytes). 0, or GH_ECORRUPT (truncated, unknown or ext type) with
 * r->p unchanged. */
int mp_read(mp_reader *r, mp_item *it);

/* A record's fields: the first field's byte (*narr the count), or NULL when
 * the record is not an array. A fixarray (up to 15 fields) without the
 * general reader: the scans' and lookups' hot path. */
static inline const unsigned char *mp_record_fields(const void *rec, size_t n, uint32_t *narr) {
    const unsigned char *p = rec;
    if (n > 0 && (*p & 0xf0) == 0x90) {
        *narr = *p & 0x0fu;
        return p + 1;
    }
    mp_reader r;
    mp_item it;
    mp_reader_init(&r, rec, n);
    if (mp_read(&r, &it) != 0 || it.type != MP_ARRAY) {
        *narr = 0;
        return NULL;
    }
    *narr = it.n;
    return r.p;
}

/* Skips one whole value (with its nested elements, at most `depth` levels).
 * 0 or GH_ECORRUPT. */
int mp_skip(mp_reader *r, int depth);

/* The size of a value by its first byte, for mp_skip_fast: > 0 the whole
 * value's bytes (integers, floats, nil, booleans, short strings, empty
 * arrays and maps); -1 / -2 a string or binary whose length follows in 1 / 2
 * bytes; 0 anything else (left to mp_skip). */
extern const signed char mp_skip_len[256];

/* mp_skip with a fast path for the scalars records are mostly made of: one
 * table lookup per value. */
static inline int mp_skip_fast(mp_reader *r) {
    const unsigned char *p = r->p;
    size_t left = (size_t)(r->end - p), n = 0;
    if (p < r->end) {
        int k = mp_skip_len[*p];
        if (k > 0) {
            n = (size_t)k;
        } else if (k == -1 && left >= 2) {
            n = 2 + (size_t)p[1];
        } else if (k == -2 && left >= 3) {
            n = 3 + ((size_t)p[1] << 8 | p[2]);
        }
        if (n && left >= n) {
            r->p = p + n;
            return 0;
        }
    }
    return mp_skip(r, CODEC_MAX_DEPTH);
}

/* Past n values from p (before end), or NULL if they are damaged: scalars
 * by their first byte, in a loop the compiler keeps in registers (a
 * record's fields walked to the one wanted: find, count_by). A size past
 * the end stops the next test, or the last. */
static inline const unsigned char *mp_skip_n(const unsigned char *p, const unsigned char *end,
                                             uint32_t n) {
    for (; n > 0; n--) {
        if (p >= end) {
            return NULL;
        }
        int k = mp_skip_len[*p];
        if (k > 0) {
            p += k;
            continue;
        }
        mp_reader r;
        mp_reader_init(&r, p, (size_t)(end - p));
        if (mp_skip_fast(&r) != 0) {
            return NULL;
        }
        p = r.p;
    }
    return p <= end ? p : NULL;
}

/* Checks that [p, p+n) is exactly one well-formed value. 0 or GH_ECORRUPT. */
int mp_validate(const void *p, size_t n);

/* ---- key tuple encoding ----------------------------------------------------- */

enum {
    KEY_NIL = 0x00,
    KEY_STR = 0x02,
    KEY_INT = 0x15,
    KEY_DOUBLE = 0x21,
    KEY_FALSE = 0x26,
    KEY_TRUE = 0x27
};

void key_put_nil(codec_buf *b);
void key_put_bool(codec_buf *b, int v);
void key_put_int(codec_buf *b, int64_t v);
void key_put_double(codec_buf *b, double v);
void key_put_str(codec_buf *b, const char *s, size_t n);

/* One decoded key element. For strings, the decoded bytes are written to
 * `str` (caller's buffer, reset first) since escapes must be undone. */
typedef struct key_item {
    int type; /* KEY_* */
    int64_t i;
    double d;
} key_item;

/* Decodes the element at *p (before end), advancing *p. For KEY_STR the
 * unescaped bytes go to `str` (cleared first). 0, GH_ECORRUPT, or
 * GH_ENOMEM (str could not grow). On failure *it may be partly written. */
int key_read(const unsigned char **p, const unsigned char *end, key_item *it, codec_buf *str);

/* ---- values a text file cannot hold ------------------------------------------------ */

/* 1 if s[0..n) is valid UTF-8 (no overlongs, surrogates or code points past
 * U+10FFFF). *bad (may be NULL) gets the offset of the first bad byte.
 * Eight ASCII bytes at a time. */
int codec_utf8_valid(const unsigned char *s, size_t n, size_t *bad);

/* What mp_check_text found: a string that is not UTF-8 (s/n borrowed from
 * the input, bad the offset of its first bad byte), or a float that is NaN
 * or infinite (d). */
enum { MP_FLAW_UTF8 = 1, MP_FLAW_NONFINITE };
typedef struct mp_flaw {
    int kind;
    const char *s;
    size_t n, bad;
    double d;
} mp_flaw;

/* Walks one value at r (at most `depth` levels), advancing past it, and
 * checks for what CSV, JSON and xlsx cannot hold: every string (map keys
 * too) must be UTF-8 and every float finite (issue 16, class 11). 0 when
 * it holds; 1 with *fl written at the first value that does not (r->p then
 * somewhere inside); GH_ECORRUPT on bad bytes. */
int mp_check_text(mp_reader *r, int depth, mp_flaw *fl);

/* 1 when the value at rec[0..n) certainly passes mp_check_text: a loop
 * with no calls over the shapes records are made of (short strings, ASCII
 * eight bytes at a time, integers, floats, short arrays and maps); 0 when
 * it does not or when unsure (then mp_check_text decides and says what).
 * The store's fast path (W2 at 100k: the check costs ~1.7% of the run's
 * instructions, ~200 per record; a walk with mp_read cost 6%). */
int mp_text_ok(const void *rec, size_t n);

/* Appends s[0..n) to out with each byte that is not UTF-8 replaced by
 * U+FFFD (the replacement character). */
void codec_utf8_clean(const char *s, size_t n, codec_buf *out);

/* Copies one value at r (at most `depth` levels) to out, advancing r, with
 * what mp_check_text refuses made writable: each byte of a string that is
 * not UTF-8 becomes U+FFFD (the replacement character, shown as a question
 * mark in a box by Excel and WPS), a NaN or infinite float nil. 0 or
 * GH_ECORRUPT (out may hold part of the value; out->oom on no memory). */
int mp_text_clean(mp_reader *r, codec_buf *out, int depth);

/* Writes s[0..n) to out (outn bytes, NUL-terminated) for a message: valid
 * UTF-8 as it is, each byte that is not as \xNN, cut between characters
 * with "..." when it does not fit. */
void codec_show_bytes(const char *s, size_t n, char *out, size_t outn);

/* ---- display ------------------------------------------------------------------------ */

/* Appends one MessagePack value at r as JSON (strings as UTF-8 with JSON
 * escapes; map keys that are not strings become strings; NaN and
 * infinities become null). 0 or GH_ECORRUPT. */
int mp_to_json(mp_reader *r, codec_buf *out, int depth);

/* Appends s[0..n) as a JSON string literal (quotes and escapes); a byte
 * that is not UTF-8 becomes U+FFFD (codec_utf8_clean), so every JSON
 * gonghui writes (export, events --json, serve) is valid. */
void codec_json_str(codec_buf *out, const char *s, size_t n);

/* ---- dates ---------------------------------------------------------------------- */

/* 1 if s[0..n) is a real calendar date written YYYY-MM-DD (year 1000..9999). */
int codec_is_date(const char *s, size_t n);

#endif

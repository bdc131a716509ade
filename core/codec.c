/*
 * codec.c — MessagePack values and order-preserving keys (see codec.h).
 *
 * Calls nothing but libc.
 *
 * Reader invariant: before any multi-byte read, the bytes left (end - p)
 * are compared with the bytes needed; counts declared by the input are never
 * used to size an allocation.
 */
#include "codec.h"
#include "days.h"

#include "err.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

void codec_buf_init(codec_buf *b) {
    b->p = NULL;
    b->len = b->cap = 0;
    b->oom = 0;
    b->borrowed = 0;
}

void codec_buf_init_on(codec_buf *b, void *mem, size_t cap) {
    b->p = mem;
    b->len = 0;
    b->cap = cap;
    b->oom = 0;
    b->borrowed = 1;
}

/* The charge hook (codec_set_charge): per thread, as each thread runs its
 * own script. */
static _Thread_local int (*charge_fn)(void *ud, size_t add, size_t sub);
static _Thread_local void *charge_ud;

void codec_set_charge(int (*fn)(void *ud, size_t add, size_t sub), void *ud) {
    charge_fn = fn;
    charge_ud = ud;
}

void codec_buf_free(codec_buf *b) {
    if (!b->borrowed) {
        if (b->p && charge_fn) {
            charge_fn(charge_ud, 0, b->cap);
        }
        free(b->p);
    }
    codec_buf_init(b);
}

int codec_buf_grow(codec_buf *b, size_t n) {
    if (b->oom) {
        return GH_ENOMEM;
    }
    size_t cap = b->cap ? b->cap : 64;
    while (cap - b->len < n) {
        if (cap > SIZE_MAX / 2) {
            b->oom = 1;
            return GH_ENOMEM;
        }
        cap *= 2;
    }
    size_t had = b->borrowed || !b->p ? 0 : b->cap;
    if (charge_fn && charge_fn(charge_ud, cap, had) != 0) {
        b->oom = 1; /* over the running script's memory cap */
        return GH_ENOMEM;
    }
    unsigned char *p = b->borrowed ? malloc(cap) : realloc(b->p, cap);
    if (!p) {
        if (charge_fn) {
            charge_fn(charge_ud, had, cap);
        }
        b->oom = 1;
        return GH_ENOMEM;
    }
    if (b->borrowed && b->len) {
        memcpy(p, b->p, b->len);
    }
    b->borrowed = 0;
    b->p = p;
    b->cap = cap;
    return 0;
}

/* ---- writer --------------------------------------------------------------- */

/* The low n bytes (1, 2, 4 or 8) of v, big-endian: one byte swap and one
 * store (a loop of shifts cost a put of an id or a key 20-40 instructions;
 * issue 18). */
static inline void put_be(unsigned char *q, uint64_t v, int n) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (n == 8) {
        v = __builtin_bswap64(v);
        memcpy(q, &v, 8);
        return;
    }
    if (n == 4) {
        uint32_t w = __builtin_bswap32((uint32_t)v);
        memcpy(q, &w, 4);
        return;
    }
    if (n == 2) {
        uint16_t h = __builtin_bswap16((uint16_t)v);
        memcpy(q, &h, 2);
        return;
    }
#endif
    for (int i = n - 1; i >= 0; i--) {
        q[i] = (unsigned char)v;
        v >>= 8;
    }
}

static inline void put_tagged(codec_buf *b, unsigned char tag, uint64_t v, int n) {
    unsigned char *q = codec_buf_need(b, 1 + (size_t)n);
    if (q) {
        q[0] = tag;
        put_be(q + 1, v, n);
        b->len += 1 + (size_t)n;
    }
}

void mp_put_nil(codec_buf *b) {
    codec_buf_add(b, "\xc0", 1);
}

void mp_put_bool(codec_buf *b, int v) {
    codec_buf_add(b, v ? "\xc3" : "\xc2", 1);
}

void mp_put_int(codec_buf *b, int64_t v) {
    if (v >= 0) {
        uint64_t u = (uint64_t)v;
        if (u < 128) {
            unsigned char c = (unsigned char)u;
            codec_buf_add(b, &c, 1);
        } else if (u <= 0xff) {
            put_tagged(b, 0xcc, u, 1);
        } else if (u <= 0xffff) {
            put_tagged(b, 0xcd, u, 2);
        } else if (u <= 0xffffffffu) {
            put_tagged(b, 0xce, u, 4);
        } else {
            put_tagged(b, 0xcf, u, 8);
        }
    } else if (v >= -32) {
        unsigned char c = (unsigned char)(0xe0 | (v & 0x1f));
        codec_buf_add(b, &c, 1);
    } else if (v >= INT8_MIN) {
        put_tagged(b, 0xd0, (uint64_t)v, 1);
    } else if (v >= INT16_MIN) {
        put_tagged(b, 0xd1, (uint64_t)v, 2);
    } else if (v >= INT32_MIN) {
        put_tagged(b, 0xd2, (uint64_t)v, 4);
    } else {
        put_tagged(b, 0xd3, (uint64_t)v, 8);
    }
}

void mp_put_double(codec_buf *b, double v) {
    uint64_t u;
    memcpy(&u, &v, 8);
    put_tagged(b, 0xcb, u, 8);
}

void mp_put_str(codec_buf *b, const char *s, size_t n) {
    if (n > 0xffffffffu) { /* not representable: fail the whole write */
        b->oom = 1;
        return;
    }
    if (n < 32) {
        unsigned char *q = codec_buf_need(b, 1 + n);
        if (q) {
            q[0] = (unsigned char)(0xa0 | n);
            if (n) {
                memcpy(q + 1, s, n);
            }
            b->len += 1 + n;
        }
        return;
    }
    if (n <= 0xff) {
        put_tagged(b, 0xd9, n, 1);
    } else if (n <= 0xffff) {
        put_tagged(b, 0xda, n, 2);
    } else {
        put_tagged(b, 0xdb, n, 4);
    }
    codec_buf_add(b, s, n);
}

void mp_put_array(codec_buf *b, uint32_t n) {
    if (n < 16) {
        unsigned char c = (unsigned char)(0x90 | n);
        codec_buf_add(b, &c, 1);
    } else if (n <= 0xffff) {
        put_tagged(b, 0xdc, n, 2);
    } else {
        put_tagged(b, 0xdd, n, 4);
    }
}

void mp_put_map(codec_buf *b, uint32_t n) {
    if (n < 16) {
        unsigned char c = (unsigned char)(0x80 | n);
        codec_buf_add(b, &c, 1);
    } else if (n <= 0xffff) {
        put_tagged(b, 0xde, n, 2);
    } else {
        put_tagged(b, 0xdf, n, 4);
    }
}

/* ---- reader --------------------------------------------------------------- */

static inline uint64_t get_be(const unsigned char *q, int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; i++) {
        v = (v << 8) | q[i];
    }
    return v;
}

int mp_read(mp_reader *r, mp_item *it) {
    const unsigned char *p = r->p, *end = r->end;
    if (p >= end) {
        return GH_ECORRUPT;
    }
    size_t left = (size_t)(end - p) - 1;
    unsigned c = *p++;
    int n; /* bytes of the length or value that follow the tag */
    if (c < 0x80) {
        it->type = MP_INT;
        it->v.i = c;
        r->p = p;
        return 0;
    }
    if (c >= 0xe0) {
        it->type = MP_INT;
        it->v.i = (int8_t)c;
        r->p = p;
        return 0;
    }
    if ((c & 0xe0) == 0xa0) {
        it->n = c & 0x1f;
        goto str;
    }
    if ((c & 0xf0) == 0x90) {
        it->type = MP_ARRAY;
        it->n = c & 0x0f;
        r->p = p;
        return 0;
    }
    if ((c & 0xf0) == 0x80) {
        it->type = MP_MAP;
        it->n = c & 0x0f;
        r->p = p;
        return 0;
    }
    switch (c) {
    case 0xc0:
        it->type = MP_NIL;
        r->p = p;
        return 0;
    case 0xc2:
    case 0xc3:
        it->type = MP_BOOL;
        it->v.b = c == 0xc3;
        r->p = p;
        return 0;
    case 0xcc:
    case 0xcd:
    case 0xce:
    case 0xcf:
        n = 1 << (c - 0xcc);
        if (left < (size_t)n) {
            return GH_ECORRUPT;
        }
        {
            uint64_t u = get_be(p, n);
            if (u > INT64_MAX) {
                it->type = MP_FLOAT;
                it->v.d = (double)u;
            } else {
                it->type = MP_INT;
                it->v.i = (int64_t)u;
            }
        }
        r->p = p + n;
        return 0;
    case 0xd0:
    case 0xd1:
    case 0xd2:
    case 0xd3:
        n = 1 << (c - 0xd0);
        if (left < (size_t)n) {
            return GH_ECORRUPT;
        }
        {
            uint64_t u = get_be(p, n);
            int64_t v;
            if (n == 1) {
                v = (int8_t)u;
            } else if (n == 2) {
                v = (int16_t)u;
            } else if (n == 4) {
                v = (int32_t)u;
            } else {
                v = (int64_t)u;
            }
            it->type = MP_INT;
            it->v.i = v;
        }
        r->p = p + n;
        return 0;
    case 0xca:
        if (left < 4) {
            return GH_ECORRUPT;
        }
        {
            uint32_t u = (uint32_t)get_be(p, 4);
            float f;
            memcpy(&f, &u, 4);
            it->type = MP_FLOAT;
            it->v.d = f;
        }
        r->p = p + 4;
        return 0;
    case 0xcb:
        if (left < 8) {
            return GH_ECORRUPT;
        }
        {
            uint64_t u = get_be(p, 8);
            it->type = MP_FLOAT;
            memcpy(&it->v.d, &u, 8);
        }
        r->p = p + 8;
        return 0;
    case 0xd9:
    case 0xda:
    case 0xdb:
    case 0xc4:
    case 0xc5:
    case 0xc6:
        n = c >= 0xd9 ? 1 << (c - 0xd9) : 1 << (c - 0xc4);
        if (left < (size_t)n) {
            return GH_ECORRUPT;
        }
        it->n = (uint32_t)get_be(p, n);
        p += n;
        left -= (size_t)n;
        goto str;
    case 0xdc:
    case 0xdd:
    case 0xde:
    case 0xdf:
        n = (c & 1) ? 4 : 2;
        if (left < (size_t)n) {
            return GH_ECORRUPT;
        }
        it->type = c <= 0xdd ? MP_ARRAY : MP_MAP;
        it->n = (uint32_t)get_be(p, n);
        r->p = p + n;
        return 0;
    default:
        return GH_ECORRUPT; /* 0xc1, ext types: not ours */
    }
str:
    if (left < it->n) {
        return GH_ECORRUPT;
    }
    it->type = MP_STR;
    it->s = (const char *)p;
    r->p = p + it->n;
    return 0;
}

const signed char mp_skip_len[256] = {
    1, 1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,
    1, 1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,
    1, 1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,
    1, 1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,
    1, 1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,
    1, 1,  1,  1,  1,  1,  1,  1,  1,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
    1, 0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  1,  2,  3,  4,  5,  6,  7,  8,
    9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32,
    1, 0,  1,  1,  -1, -2, 0,  0,  0,  0,  5,  9,  2,  3,  5,  9,  2,  3,  5,  9,  0,  0,  0,  0,
    0, -1, -2, 0,  0,  0,  0,  0,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,
    1, 1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,
};

int mp_skip(mp_reader *r, int depth) {
    mp_item it;
    const unsigned char *start = r->p;
    if (mp_read(r, &it) != 0) {
        return GH_ECORRUPT;
    }
    if (it.type == MP_ARRAY || it.type == MP_MAP) {
        uint64_t k = it.type == MP_MAP ? 2 * (uint64_t)it.n : it.n;
        if (depth <= 0 || k > (uint64_t)(r->end - r->p)) { /* each element takes >= 1 byte */
            r->p = start;
            return GH_ECORRUPT;
        }
        for (uint64_t i = 0; i < k; i++) {
            if (mp_skip(r, depth - 1) != 0) {
                r->p = start;
                return GH_ECORRUPT;
            }
        }
    }
    return 0;
}

int mp_validate(const void *p, size_t n) {
    mp_reader r;
    mp_reader_init(&r, p, n);
    if (mp_skip(&r, CODEC_MAX_DEPTH) != 0 || r.p != r.end) {
        return GH_ECORRUPT;
    }
    return 0;
}

/* ---- keys ------------------------------------------------------------------------- */

void key_put_nil(codec_buf *b) {
    codec_buf_add(b, "", 1);
}

void key_put_bool(codec_buf *b, int v) {
    unsigned char c = v ? KEY_TRUE : KEY_FALSE;
    codec_buf_add(b, &c, 1);
}

void key_put_int(codec_buf *b, int64_t v) {
    put_tagged(b, KEY_INT, (uint64_t)v ^ 0x8000000000000000ull, 8);
}

void key_put_double(codec_buf *b, double v) {
    uint64_t u;
    if (v == 0) {
        v = 0; /* -0.0 and 0.0 are one key */
    }
    memcpy(&u, &v, 8);
    u = (u & 0x8000000000000000ull) ? ~u : u | 0x8000000000000000ull;
    put_tagged(b, KEY_DOUBLE, u, 8);
}

void key_put_str(codec_buf *b, const char *s, size_t n) {
    const char *z = n ? memchr(s, 0, n) : NULL;
    unsigned char *q = codec_buf_need(b, n + 2);
    if (!q) {
        return;
    }
    if (!z) { /* the common case: one copy */
        q[0] = KEY_STR;
        if (n) {
            memcpy(q + 1, s, n);
        }
        q[n + 1] = 0;
        b->len += n + 2;
        return;
    }
    codec_buf_add(b, "\x02", 1);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == 0) {
            codec_buf_add(b, "\0\xff", 2);
        } else {
            codec_buf_add(b, s + i, 1);
        }
    }
    codec_buf_add(b, "", 1);
}

int key_read(const unsigned char **pp, const unsigned char *end, key_item *it, codec_buf *str) {
    const unsigned char *p = *pp;
    if (p >= end) {
        return GH_ECORRUPT;
    }
    it->type = *p++;
    switch (it->type) {
    case KEY_NIL:
    case KEY_FALSE:
    case KEY_TRUE:
        break;
    case KEY_INT:
    case KEY_DOUBLE: {
        if (end - p < 8) {
            return GH_ECORRUPT;
        }
        uint64_t u = get_be(p, 8);
        p += 8;
        if (it->type == KEY_INT) {
            it->i = (int64_t)(u ^ 0x8000000000000000ull);
        } else {
            u = (u & 0x8000000000000000ull) ? u & ~0x8000000000000000ull : ~u;
            memcpy(&it->d, &u, 8);
        }
        break;
    }
    case KEY_STR:
        str->len = 0;
        for (;;) {
            if (p >= end) {
                return GH_ECORRUPT;
            }
            if (*p == 0) {
                if (p + 1 < end && p[1] == 0xff) {
                    codec_buf_add(str, "", 1);
                    p += 2;
                    continue;
                }
                p++;
                break;
            }
            const unsigned char *z = memchr(p, 0, (size_t)(end - p));
            size_t n = z ? (size_t)(z - p) : (size_t)(end - p);
            codec_buf_add(str, p, n);
            p += n;
        }
        if (str->oom) {
            return GH_ENOMEM;
        }
        break;
    default:
        return GH_ECORRUPT;
    }
    *pp = p;
    return 0;
}

/* ---- UTF-8 and values a text file cannot hold ---------------------------------- */

int codec_utf8_valid(const unsigned char *s, size_t n, size_t *bad) {
    size_t i = 0;
    while (i < n) {
        /* eight ASCII bytes at a time */
        while (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (w & 0x8080808080808080ull) {
                break;
            }
            i += 8;
        }
        if (i >= n) {
            break;
        }
        unsigned c = s[i];
        /* three bytes led by E1..EC or EE..EF (U+1000..CFFF, U+E000..FFFF:
         * Chinese text) need no more than their continuation bytes checked:
         * none of them is overlong or a surrogate */
        if (c - 0xe1 <= 0xef - 0xe1 && c != 0xed && n - i >= 3 && (s[i + 1] & 0xc0) == 0x80 &&
            (s[i + 2] & 0xc0) == 0x80) {
            i += 3;
            continue;
        }
        size_t need;
        unsigned min;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            need = 1, min = 0x80;
        } else if (c >= 0xe0 && c <= 0xef) {
            need = 2, min = 0x800;
        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3, min = 0x10000;
        } else {
            goto fail;
        }
        if (n - i <= need) {
            goto fail;
        }
        unsigned cp = c & (0x3f >> need);
        for (size_t k = 1; k <= need; k++) {
            if ((s[i + k] & 0xc0) != 0x80) {
                goto fail;
            }
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            goto fail;
        }
        i += need + 1;
    }
    return 1;
fail:
    if (bad) {
        *bad = i;
    }
    return 0;
}

/* 1 if s[0..n) is ASCII, else whether it is UTF-8: whole words, the last
 * one overlapping, and no loop at all for the short strings records hold. */
static inline int text_ok(const unsigned char *s, size_t n) {
    uint64_t acc = 0, w;
    uint32_t h;
    if (n >= 8) {
        size_t j = 0;
        for (; j + 8 < n; j += 8) {
            memcpy(&w, s + j, 8);
            acc |= w;
        }
        memcpy(&w, s + n - 8, 8);
        acc |= w;
    } else if (n >= 4) {
        memcpy(&h, s, 4);
        acc = h;
        memcpy(&h, s + n - 4, 4);
        acc |= h;
    } else {
        for (size_t j = 0; j < n; j++) {
            acc |= s[j];
        }
    }
    return !(acc & 0x8080808080808080ull) || codec_utf8_valid(s, n, NULL);
}

/* What mp_text_ok does with a value's first byte: > 0 skip that many bytes;
 * the codes below; 0 leave it to mp_check_text (binary, ext, strings of
 * 64 KB or more, arrays and maps of 65,536 or more). */
enum {
    T_STR = -1,
    T_STR8 = -2,
    T_STR16 = -3,
    T_F32 = -4,
    T_F64 = -5,
    T_ARR = -6,
    T_MAP = -7,
    T_ARR16 = -8,
    T_MAP16 = -9
};
static const signed char text_tab[256] = {
    1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,
    1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,
    1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,
    1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,
    1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,
    1,  1,  1,  1,  1,  1,  1,  1,  -7, -7, -7, -7, -7, -7, -7, -7, -7, -7, -7, -7, -7, -7, -7, -7,
    -6, -6, -6, -6, -6, -6, -6, -6, -6, -6, -6, -6, -6, -6, -6, -6, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    1,  0,  1,  1,  0,  0,  0,  0,  0,  0,  -4, -5, 2,  3,  5,  9,  2,  3,  5,  9,  0,  0,  0,  0,
    0,  -2, -3, 0,  -8, 0,  -9, 0,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,
    1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,  1,
};

int mp_text_ok(const void *rec, size_t n) {
    const unsigned char *p = rec;
    uint64_t left = 1; /* values still to read: arrays and maps add theirs */
    size_t i = 0, k;
    /* The walk refuses values nested deeper than its depth (CODEC_MAX_DEPTH,
     * less the record's own levels); this path keeps no stack, so it counts
     * every array and map and leaves a value with more than that many to the
     * walk: it never passes what the walk refuses (fuzz_value, property 4). */
    int containers = 0;
    while (left--) {
        if (i >= n) {
            return 0;
        }
        unsigned c = p[i];
        int t = text_tab[c];
        if (t > 0) { /* integers, nil, booleans */
            i += (size_t)t;
            continue;
        }
        switch (t) {
        case T_STR:
            k = c & 31;
            i++;
            break;
        case T_ARR:
            if (++containers > CODEC_MAX_DEPTH - 2) {
                return 0;
            }
            left += c & 15;
            i++;
            continue;
        case T_MAP:
            if (++containers > CODEC_MAX_DEPTH - 2) {
                return 0;
            }
            left += 2 * (uint64_t)(c & 15);
            i++;
            continue;
        case T_ARR16: /* a record of 16 fields or more (the ledger's 21) */
        case T_MAP16:
            if (++containers > CODEC_MAX_DEPTH - 2 || n - i < 3) {
                return 0;
            }
            k = (size_t)p[i + 1] << 8 | p[i + 2];
            left += t == T_MAP16 ? 2 * (uint64_t)k : (uint64_t)k;
            i += 3;
            continue;
        case T_F32: /* all exponent bits set: NaN or infinite */
            if (n - i < 5 || ((p[i + 1] & 0x7f) == 0x7f && (p[i + 2] & 0x80))) {
                return 0;
            }
            i += 5;
            continue;
        case T_F64:
            if (n - i < 9 || ((p[i + 1] & 0x7f) == 0x7f && (p[i + 2] & 0xf0) == 0xf0)) {
                return 0;
            }
            i += 9;
            continue;
        case T_STR8:
            if (n - i < 2) {
                return 0;
            }
            k = p[i + 1];
            i += 2;
            break;
        case T_STR16:
            if (n - i < 3) {
                return 0;
            }
            k = (size_t)p[i + 1] << 8 | p[i + 2];
            i += 3;
            break;
        default:
            return 0;
        }
        if (k > n - i || !text_ok(p + i, k)) {
            return 0;
        }
        i += k;
    }
    return i <= n;
}

int mp_check_text(mp_reader *r, int depth, mp_flaw *fl) {
    const unsigned char *p = r->p;
    mp_item it;
    if (p >= r->end) {
        return GH_ECORRUPT;
    }
    unsigned c = *p;
    int str = (c >= 0xa0 && c <= 0xbf) || (c >= 0xd9 && c <= 0xdb) || (c >= 0xc4 && c <= 0xc6);
    if (!str && c != 0xca && c != 0xcb) {
        int k = mp_skip_len[c];
        if (k > 0) { /* integers, nil, booleans, empty arrays and maps */
            if ((size_t)(r->end - p) < (size_t)k) {
                return GH_ECORRUPT;
            }
            r->p = p + k;
            return 0;
        }
    }
    if (mp_read(r, &it) != 0) {
        return GH_ECORRUPT;
    }
    switch (it.type) {
    case MP_STR: {
        size_t bad;
        if (!codec_utf8_valid((const unsigned char *)it.s, it.n, &bad)) {
            fl->kind = MP_FLAW_UTF8;
            fl->s = it.s;
            fl->n = it.n;
            fl->bad = bad;
            return 1;
        }
        return 0;
    }
    case MP_FLOAT:
        if (!isfinite(it.v.d)) {
            fl->kind = MP_FLAW_NONFINITE;
            fl->d = it.v.d;
            return 1;
        }
        return 0;
    case MP_ARRAY:
    case MP_MAP: {
        uint64_t k = it.type == MP_MAP ? 2 * (uint64_t)it.n : it.n;
        if (depth <= 0 || k > (uint64_t)(r->end - r->p)) {
            return GH_ECORRUPT;
        }
        for (uint64_t j = 0; j < k; j++) {
            int rc = mp_check_text(r, depth - 1, fl);
            if (rc) {
                return rc;
            }
        }
        return 0;
    }
    default:
        return 0;
    }
}

void codec_utf8_clean(const char *s, size_t n, codec_buf *out) {
    size_t i = 0, bad;
    while (!codec_utf8_valid((const unsigned char *)s + i, n - i, &bad)) {
        codec_buf_add(out, s + i, bad);
        codec_buf_add(out, "\xef\xbf\xbd", 3); /* U+FFFD, the replacement character */
        i += bad + 1;
    }
    codec_buf_add(out, s + i, n - i);
}

int mp_text_clean(mp_reader *r, codec_buf *out, int depth) {
    mp_item it;
    if (mp_read(r, &it) != 0) {
        return GH_ECORRUPT;
    }
    switch (it.type) {
    case MP_NIL:
        mp_put_nil(out);
        return 0;
    case MP_BOOL:
        mp_put_bool(out, it.v.b);
        return 0;
    case MP_INT:
        mp_put_int(out, it.v.i);
        return 0;
    case MP_FLOAT:
        if (isfinite(it.v.d)) {
            mp_put_double(out, it.v.d);
        } else {
            mp_put_nil(out);
        }
        return 0;
    case MP_STR: {
        codec_buf t;
        codec_buf_init(&t);
        codec_utf8_clean(it.s, it.n, &t);
        if (t.oom) {
            out->oom = 1;
        } else {
            mp_put_str(out, (const char *)t.p, t.len);
        }
        codec_buf_free(&t);
        return 0;
    }
    default: {
        uint64_t k = it.type == MP_MAP ? 2 * (uint64_t)it.n : it.n;
        if (depth <= 0 || k > (uint64_t)(r->end - r->p)) {
            return GH_ECORRUPT;
        }
        if (it.type == MP_MAP) {
            mp_put_map(out, it.n);
        } else {
            mp_put_array(out, it.n);
        }
        for (uint64_t j = 0; j < k; j++) {
            int rc = mp_text_clean(r, out, depth - 1);
            if (rc) {
                return rc;
            }
        }
        return 0;
    }
    }
}

void codec_show_bytes(const char *s, size_t n, char *out, size_t outn) {
    size_t w = 0, i = 0, bad;
    if (!outn) {
        return;
    }
    while (i < n && w + 8 < outn) {
        size_t good = n - i;
        if (!codec_utf8_valid((const unsigned char *)s + i, n - i, &bad)) {
            good = bad;
        }
        if (good > outn - w - 8) { /* room for "..." and a NUL: cut between characters */
            good = outn - w - 8;
            while (good > 0 && ((unsigned char)s[i + good] & 0xc0) == 0x80) {
                good--;
            }
            memcpy(out + w, s + i, good);
            w += good;
            i = n + 1; /* cut */
            break;
        }
        memcpy(out + w, s + i, good);
        w += good;
        i += good;
        if (i < n) {
            w += (size_t)snprintf(out + w, outn - w, "\\x%02X", (unsigned char)s[i]);
            i++;
        }
    }
    if (i < n || i == n + 1) {
        w += (size_t)snprintf(out + w, outn - w, "...");
    }
    out[w < outn ? w : outn - 1] = 0;
}

/* ---- display ---------------------------------------------------------------------- */

void codec_json_str(codec_buf *out, const char *s, size_t n) {
    if (!codec_utf8_valid((const unsigned char *)s, n, NULL)) { /* no JSON holds such bytes */
        codec_buf c;
        codec_buf_init(&c);
        codec_utf8_clean(s, n, &c);
        if (c.oom) {
            out->oom = 1;
        } else {
            codec_json_str(out, (const char *)c.p, c.len);
        }
        codec_buf_free(&c);
        return;
    }
    size_t run = 0; /* bytes before i that need no escape: copied in one piece */
    codec_buf_add(out, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
        } else {
            continue;
        }
        codec_buf_add(out, s + run, i - run);
        codec_buf_add(out, esc, esc[1] == 'u' ? 6 : 2);
        run = i + 1;
    }
    codec_buf_add(out, s + run, n - run);
    codec_buf_add(out, "\"", 1);
}

int mp_to_json(mp_reader *r, codec_buf *out, int depth) {
    mp_item it;
    char num[40];
    if (depth <= 0 || mp_read(r, &it) != 0) {
        return GH_ECORRUPT;
    }
    switch (it.type) {
    case MP_NIL:
        codec_buf_add(out, "null", 4);
        return 0;
    case MP_BOOL:
        codec_buf_add(out, it.v.b ? "true" : "false", it.v.b ? 4 : 5);
        return 0;
    case MP_INT:
        codec_buf_add(out, num, (size_t)snprintf(num, sizeof num, "%lld", (long long)it.v.i));
        return 0;
    case MP_FLOAT:
        if (it.v.d != it.v.d || it.v.d > 1.7976931348623157e308 ||
            it.v.d < -1.7976931348623157e308) {
            codec_buf_add(out, "null", 4);
        } else {
            codec_buf_add(out, num, (size_t)snprintf(num, sizeof num, "%.17g", it.v.d));
        }
        return 0;
    case MP_STR:
        codec_json_str(out, it.s, it.n);
        return 0;
    case MP_ARRAY:
        codec_buf_add(out, "[", 1);
        for (uint32_t i = 0; i < it.n; i++) {
            if (i) {
                codec_buf_add(out, ",", 1);
            }
            if (mp_to_json(r, out, depth - 1) != 0) {
                return GH_ECORRUPT;
            }
        }
        codec_buf_add(out, "]", 1);
        return 0;
    default: /* map */
        codec_buf_add(out, "{", 1);
        for (uint32_t i = 0; i < it.n; i++) {
            mp_item k;
            mp_reader save = *r;
            if (i) {
                codec_buf_add(out, ",", 1);
            }
            if (mp_read(r, &k) != 0) {
                return GH_ECORRUPT;
            }
            if (k.type == MP_STR) {
                codec_json_str(out, k.s, k.n);
            } else { /* a non-string key, as a string */
                codec_buf tmp;
                codec_buf_init(&tmp);
                *r = save;
                int rc = mp_to_json(r, &tmp, depth - 1);
                if (rc == 0) {
                    codec_json_str(out, (const char *)tmp.p, tmp.len);
                }
                codec_buf_free(&tmp);
                if (rc) {
                    return rc;
                }
            }
            codec_buf_add(out, ":", 1);
            if (mp_to_json(r, out, depth - 1) != 0) {
                return GH_ECORRUPT;
            }
        }
        codec_buf_add(out, "}", 1);
        return 0;
    }
}

/* ---- dates ------------------------------------------------------------------------ */

int codec_is_date(const char *s, size_t n) {
    if (n != 10 || s[4] != '-' || s[7] != '-') {
        return 0;
    }
    for (int i = 0; i < 10; i++) {
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9')) {
            return 0;
        }
    }
    int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    int m = (s[5] - '0') * 10 + (s[6] - '0');
    int d = (s[8] - '0') * 10 + (s[9] - '0');
    if (y < 1000 || d < 1) {
        return 0;
    }
    return d <= days_in_month(y, m);
}

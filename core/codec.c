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

static inline void put_be(unsigned char *q, uint64_t v, int n) {
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

/* ---- display ---------------------------------------------------------------------- */

void codec_json_str(codec_buf *out, const char *s, size_t n) {
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

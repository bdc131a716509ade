/*
 * lua_json.c — strict JSON in and out of Lua values (see lua_json.h).
 *
 * Invariants:
 *  1. The decoder never reads past s + n and never allocates from a count
 *     the input declares (there are none in JSON; arrays grow one by one).
 *  2. Recursion is bounded by LJSON_MAX_DEPTH, and so is the Lua stack.
 *  3. Text out is valid UTF-8 JSON: strings in are checked, so what is
 *     written is what was given.
 */
#include "lua_json.h"

#include "err.h"

#include <errno.h>
#include <lauxlib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char null_key = 'n';

typedef struct jdec {
    lua_State *L;
    const unsigned char *p, *start, *end;
    char *err;
    size_t errn;
} jdec;

static int fail(jdec *d, const char *what) {
    snprintf(d->err, d->errn, _("bad JSON at byte %zu: %s"), (size_t)(d->p - d->start), what);
    return -1;
}

static void ws(jdec *d) {
    while (d->p < d->end && (*d->p == ' ' || *d->p == '\t' || *d->p == '\n' || *d->p == '\r')) {
        d->p++;
    }
}

/* Length of the valid UTF-8 sequence at p (1..4), or 0. */
static int utf8_len(const unsigned char *p, const unsigned char *end) {
    unsigned c = p[0];
    int n;
    unsigned min;
    if (c < 0x80) {
        return 1;
    } else if ((c & 0xe0) == 0xc0) {
        n = 2, min = 0x80, c &= 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
        n = 3, min = 0x800, c &= 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
        n = 4, min = 0x10000, c &= 0x07;
    } else {
        return 0;
    }
    if (end - p < n) {
        return 0;
    }
    for (int i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 0;
        }
        c = c << 6 | (p[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
        return 0;
    }
    return n;
}

static void put_utf8(luaL_Buffer *b, unsigned c) {
    char u[4];
    int n;
    if (c < 0x80) {
        u[0] = (char)c, n = 1;
    } else if (c < 0x800) {
        u[0] = (char)(0xc0 | c >> 6), u[1] = (char)(0x80 | (c & 0x3f)), n = 2;
    } else if (c < 0x10000) {
        u[0] = (char)(0xe0 | c >> 12), u[1] = (char)(0x80 | ((c >> 6) & 0x3f));
        u[2] = (char)(0x80 | (c & 0x3f)), n = 3;
    } else {
        u[0] = (char)(0xf0 | c >> 18), u[1] = (char)(0x80 | ((c >> 12) & 0x3f));
        u[2] = (char)(0x80 | ((c >> 6) & 0x3f)), u[3] = (char)(0x80 | (c & 0x3f)), n = 4;
    }
    luaL_addlstring(b, u, (size_t)n);
}

static int hex4(jdec *d, unsigned *out) {
    unsigned v = 0;
    if (d->end - d->p < 4) {
        return fail(d, _("a \\u escape needs 4 hex digits"));
    }
    for (int i = 0; i < 4; i++) {
        unsigned c = d->p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') {
            v |= c - '0';
        } else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') {
            v |= (c | 0x20) - 'a' + 10;
        } else {
            return fail(d, _("a \\u escape needs 4 hex digits"));
        }
    }
    d->p += 4;
    *out = v;
    return 0;
}

/* Pushes the string at d->p (at the opening quote). */
static int dec_string(jdec *d) {
    luaL_Buffer b;
    d->p++;
    luaL_buffinit(d->L, &b);
    for (;;) {
        const unsigned char *run = d->p;
        while (d->p < d->end && *d->p != '"' && *d->p != '\\' && *d->p >= 0x20 && *d->p < 0x80) {
            d->p++;
        }
        luaL_addlstring(&b, (const char *)run, (size_t)(d->p - run));
        if (d->p >= d->end) {
            return fail(d, _("a string is not closed"));
        }
        unsigned c = *d->p;
        if (c == '"') {
            d->p++;
            luaL_pushresult(&b);
            return 0;
        }
        if (c < 0x20) {
            return fail(d, _("a control character inside a string must be escaped"));
        }
        if (c >= 0x80) {
            int n = utf8_len(d->p, d->end);
            if (!n) {
                return fail(d, _("a string is not valid UTF-8"));
            }
            luaL_addlstring(&b, (const char *)d->p, (size_t)n);
            d->p += n;
            continue;
        }
        d->p++; /* backslash */
        if (d->p >= d->end) {
            return fail(d, _("a string ends inside an escape"));
        }
        c = *d->p++;
        switch (c) {
        case '"':
        case '\\':
        case '/':
            luaL_addchar(&b, (char)c);
            break;
        case 'b':
            luaL_addchar(&b, '\b');
            break;
        case 'f':
            luaL_addchar(&b, '\f');
            break;
        case 'n':
            luaL_addchar(&b, '\n');
            break;
        case 'r':
            luaL_addchar(&b, '\r');
            break;
        case 't':
            luaL_addchar(&b, '\t');
            break;
        case 'u': {
            unsigned u, lo;
            if (hex4(d, &u)) {
                return -1;
            }
            if (u >= 0xdc00 && u <= 0xdfff) {
                return fail(d, _("a lone low surrogate in a \\u escape"));
            }
            if (u >= 0xd800 && u <= 0xdbff) {
                if (d->end - d->p < 2 || d->p[0] != '\\' || d->p[1] != 'u') {
                    return fail(d, _("a high surrogate \\u escape without its low half"));
                }
                d->p += 2;
                if (hex4(d, &lo)) {
                    return -1;
                }
                if (lo < 0xdc00 || lo > 0xdfff) {
                    return fail(d, _("a high surrogate \\u escape without its low half"));
                }
                u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
            }
            put_utf8(&b, u);
            break;
        }
        default:
            d->p--;
            return fail(d, _("unknown escape in a string"));
        }
    }
}

static int dec_number(jdec *d) {
    const unsigned char *s = d->p;
    int is_int = 1;
    if (d->p < d->end && *d->p == '-') {
        d->p++;
    }
    if (d->p >= d->end || *d->p < '0' || *d->p > '9') {
        return fail(d, _("a number needs digits"));
    }
    if (*d->p == '0' && d->p + 1 < d->end && d->p[1] >= '0' && d->p[1] <= '9') {
        return fail(d, _("a number cannot start with 0"));
    }
    while (d->p < d->end && *d->p >= '0' && *d->p <= '9') {
        d->p++;
    }
    if (d->p < d->end && *d->p == '.') {
        is_int = 0;
        d->p++;
        if (d->p >= d->end || *d->p < '0' || *d->p > '9') {
            return fail(d, _("a number needs digits after '.'"));
        }
        while (d->p < d->end && *d->p >= '0' && *d->p <= '9') {
            d->p++;
        }
    }
    if (d->p < d->end && (*d->p == 'e' || *d->p == 'E')) {
        is_int = 0;
        d->p++;
        if (d->p < d->end && (*d->p == '+' || *d->p == '-')) {
            d->p++;
        }
        if (d->p >= d->end || *d->p < '0' || *d->p > '9') {
            return fail(d, _("a number needs digits in its exponent"));
        }
        while (d->p < d->end && *d->p >= '0' && *d->p <= '9') {
            d->p++;
        }
    }
    char buf[64];
    size_t len = (size_t)(d->p - s);
    if (len >= sizeof buf) {
        d->p = s;
        return fail(d, _("a number is too long"));
    }
    memcpy(buf, s, len);
    buf[len] = 0;
    if (is_int) {
        char *e;
        errno = 0;
        long long v = strtoll(buf, &e, 10);
        if (errno == 0) {
            lua_pushinteger(d->L, (lua_Integer)v);
            return 0;
        }
    }
    double v = strtod(buf, NULL);
    if (!isfinite(v)) {
        d->p = s;
        return fail(d, _("a number is out of range"));
    }
    lua_pushnumber(d->L, v);
    return 0;
}

static int dec_value(jdec *d, int depth);

static int literal(jdec *d, const char *w) {
    size_t n = strlen(w);
    if ((size_t)(d->end - d->p) < n || memcmp(d->p, w, n) != 0) {
        return fail(d, _("expected a value (object, array, string, number, true, false, null)"));
    }
    d->p += n;
    return 0;
}

static int dec_value(jdec *d, int depth) {
    lua_State *L = d->L;
    ws(d);
    if (d->p >= d->end) {
        return fail(d, _("the text ends where a value should be"));
    }
    if (depth > LJSON_MAX_DEPTH) {
        return fail(d, _("nested too deeply"));
    }
    luaL_checkstack(L, 4, "json");
    switch (*d->p) {
    case '{': {
        d->p++;
        lua_newtable(L);
        ws(d);
        if (d->p < d->end && *d->p == '}') {
            d->p++;
            return 0;
        }
        for (;;) {
            ws(d);
            if (d->p >= d->end || *d->p != '"') {
                return fail(d, _("an object member needs a string name"));
            }
            const unsigned char *at = d->p;
            if (dec_string(d)) {
                return -1;
            }
            lua_pushvalue(L, -1);
            if (lua_rawget(L, -3) != LUA_TNIL) {
                d->p = at;
                return fail(d, _("an object names the same member twice"));
            }
            lua_pop(L, 1);
            ws(d);
            if (d->p >= d->end || *d->p != ':') {
                return fail(d, _("expected ':' after a member name"));
            }
            d->p++;
            if (dec_value(d, depth + 1)) {
                return -1;
            }
            if (lua_islightuserdata(L, -1) && lua_touserdata(L, -1) == &null_key) {
                lua_pop(L, 2); /* a null member is left out */
            } else {
                lua_rawset(L, -3);
            }
            ws(d);
            if (d->p < d->end && *d->p == ',') {
                d->p++;
                continue;
            }
            if (d->p < d->end && *d->p == '}') {
                d->p++;
                return 0;
            }
            return fail(d, _("expected ',' or '}' in an object"));
        }
    }
    case '[': {
        d->p++;
        lua_newtable(L);
        ws(d);
        if (d->p < d->end && *d->p == ']') {
            d->p++;
            return 0;
        }
        for (lua_Integer i = 1;; i++) {
            if (dec_value(d, depth + 1)) {
                return -1;
            }
            lua_rawseti(L, -2, i);
            ws(d);
            if (d->p < d->end && *d->p == ',') {
                d->p++;
                continue;
            }
            if (d->p < d->end && *d->p == ']') {
                d->p++;
                return 0;
            }
            return fail(d, _("expected ',' or ']' in an array"));
        }
    }
    case '"':
        return dec_string(d);
    case 't':
        if (literal(d, "true")) {
            return -1;
        }
        lua_pushboolean(L, 1);
        return 0;
    case 'f':
        if (literal(d, "false")) {
            return -1;
        }
        lua_pushboolean(L, 0);
        return 0;
    case 'n':
        if (literal(d, "null")) {
            return -1;
        }
        lua_pushlightuserdata(L, (void *)&null_key);
        return 0;
    default:
        if (*d->p == '-' || (*d->p >= '0' && *d->p <= '9')) {
            return dec_number(d);
        }
        return fail(d, _("expected a value (object, array, string, number, true, false, null)"));
    }
}

int ljson_decode(lua_State *L, const char *s, size_t n, char *err, size_t errn) {
    jdec d = {
        L,   (const unsigned char *)s, (const unsigned char *)s, (const unsigned char *)s + n, err,
        errn};
    int top = lua_gettop(L);
    if (dec_value(&d, 0) == 0) {
        ws(&d);
        if (d.p == d.end) {
            return 0;
        }
        fail(&d, _("text after the value"));
    }
    lua_settop(L, top);
    return -1;
}

/* ---- encoding ------------------------------------------------------------------- */

typedef struct jkey {
    const char *s;
    size_t n;
} jkey;

static int cmp_keys(const void *a, const void *b) {
    const jkey *x = a, *y = b;
    int c = memcmp(x->s, y->s, x->n < y->n ? x->n : y->n);
    return c ? c : (x->n > y->n) - (x->n < y->n);
}

static int enc(lua_State *L, int idx, codec_buf *out, char *err, size_t errn, int depth);

static int enc_string(lua_State *L, int idx, codec_buf *out, char *err, size_t errn) {
    size_t n;
    const char *s = lua_tolstring(L, idx, &n);
    for (size_t i = 0; i < n;) {
        int k = utf8_len((const unsigned char *)s + i, (const unsigned char *)s + n);
        if (!k) {
            snprintf(err, errn, _("a string is not valid UTF-8 (byte %zu)"), i);
            return -1;
        }
        i += (size_t)k;
    }
    codec_json_str(out, s, n);
    return 0;
}

/* The table at idx (absolute) as an array if it is a sequence 1..n with
 * nothing else, else as an object. */
static int enc_table(lua_State *L, int idx, codec_buf *out, char *err, size_t errn, int depth) {
    lua_Integer len = (lua_Integer)lua_rawlen(L, idx), count = 0;
    int strings = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        count++;
        if (lua_type(L, -2) == LUA_TSTRING) {
            strings++;
        } else if (!lua_isinteger(L, -2)) {
            lua_pop(L, 2);
            snprintf(err, errn, _("a table key is a %s: JSON names are strings"),
                     luaL_typename(L, -2));
            return -1;
        }
        lua_pop(L, 1);
    }
    if (count == len) { /* a sequence (or empty): an array */
        codec_buf_add(out, "[", 1);
        for (lua_Integer i = 1; i <= len; i++) {
            if (i > 1) {
                codec_buf_add(out, ",", 1);
            }
            lua_rawgeti(L, idx, i);
            int rc = enc(L, lua_gettop(L), out, err, errn, depth + 1);
            lua_pop(L, 1);
            if (rc) {
                return rc;
            }
        }
        codec_buf_add(out, "]", 1);
        return 0;
    }
    /* an object: keys sorted (integer keys written as their digits) */
    jkey few[32];
    jkey *keys = count <= 32 ? few : malloc((size_t)count * sizeof *keys);
    if (!keys) {
        snprintf(err, errn, _("out of memory"));
        return -1;
    }
    /* the table's own string keys stay alive in it; the digit strings of
     * integer keys are kept in an anchor table */
    int anchor = 0;
    if (strings != count) {
        lua_newtable(L);
        anchor = lua_gettop(L);
    }
    size_t k = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) == LUA_TSTRING) {
            keys[k].s = lua_tolstring(L, -1, &keys[k].n);
        } else {
            lua_pushfstring(L, "%I", (LUAI_UACINT)lua_tointeger(L, -1));
            keys[k].s = lua_tolstring(L, -1, &keys[k].n);
            lua_rawseti(L, anchor, (lua_Integer)k + 1);
        }
        k++;
    }
    qsort(keys, k, sizeof *keys, cmp_keys);
    codec_buf_add(out, "{", 1);
    int rc = 0;
    for (size_t i = 0; i < k && rc == 0; i++) {
        if (i) {
            codec_buf_add(out, ",", 1);
        }
        codec_json_str(out, keys[i].s, keys[i].n);
        codec_buf_add(out, ":", 1);
        lua_pushlstring(L, keys[i].s, keys[i].n);
        if (lua_rawget(L, idx) == LUA_TNIL) { /* an integer key */
            lua_pop(L, 1);
            lua_Integer ik;
            sscanf(keys[i].s, "%lld", (long long *)&ik);
            lua_rawgeti(L, idx, ik);
        }
        rc = enc(L, lua_gettop(L), out, err, errn, depth + 1);
        lua_pop(L, 1);
    }
    if (anchor) {
        lua_pop(L, 1);
    }
    if (keys != few) {
        free(keys);
    }
    if (rc == 0) {
        codec_buf_add(out, "}", 1);
    }
    return rc;
}

static int enc(lua_State *L, int idx, codec_buf *out, char *err, size_t errn, int depth) {
    char num[64];
    if (depth > LJSON_MAX_DEPTH) {
        snprintf(err, errn, _("a value nested more than %d deep (a cycle?)"), LJSON_MAX_DEPTH);
        return -1;
    }
    luaL_checkstack(L, 8, "json");
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
        codec_buf_add(out, "null", 4);
        return 0;
    case LUA_TBOOLEAN:
        codec_buf_add(out, lua_toboolean(L, idx) ? "true" : "false", lua_toboolean(L, idx) ? 4 : 5);
        return 0;
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) {
            lua_Integer v = lua_tointeger(L, idx);
            unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
            char *p = num + sizeof num;
            do { /* the digits from the right: no printf for the common case */
                *--p = (char)('0' + u % 10);
                u /= 10;
            } while (u);
            if (v < 0) {
                *--p = '-';
            }
            codec_buf_add(out, p, (size_t)(num + sizeof num - p));
        } else {
            double v = lua_tonumber(L, idx);
            if (!isfinite(v)) {
                snprintf(err, errn, _("a number is not finite (%g): JSON has no such number"), v);
                return -1;
            }
            codec_buf_add(out, num, (size_t)snprintf(num, sizeof num, "%.17g", v));
        }
        return 0;
    case LUA_TSTRING:
        return enc_string(L, idx, out, err, errn);
    case LUA_TTABLE:
        return enc_table(L, idx, out, err, errn, depth);
    case LUA_TLIGHTUSERDATA:
        if (lua_touserdata(L, idx) == &null_key) {
            codec_buf_add(out, "null", 4);
            return 0;
        }
        break;
    case LUA_TUSERDATA:
        /* a row of a scan, or db.null: through __pairs into a table */
        if (luaL_getmetafield(L, idx, "__pairs") != LUA_TNIL) {
            lua_newtable(L);
            int t = lua_gettop(L);
            lua_pushvalue(L, t - 1); /* __pairs(row) -> next, state, control */
            lua_pushvalue(L, idx);
            lua_call(L, 1, 3);
            for (;;) {
                lua_pushvalue(L, -3);
                lua_pushvalue(L, -3);
                lua_pushvalue(L, -3);
                lua_call(L, 2, 2); /* k, v */
                if (lua_isnil(L, -2)) {
                    lua_pop(L, 5);
                    break;
                }
                lua_pushvalue(L, -2);
                lua_insert(L, -2);
                lua_rawset(L, t);   /* t[k] = v; k stays */
                lua_replace(L, -2); /* the new control value */
            }
            int rc = enc_table(L, t, out, err, errn, depth);
            lua_pop(L, 2);
            return rc;
        }
        break;
    default:
        break;
    }
    snprintf(err, errn, _("a %s has no JSON form"), luaL_typename(L, idx));
    return -1;
}

int ljson_encode(lua_State *L, int idx, codec_buf *out, char *err, size_t errn) {
    idx = lua_absindex(L, idx);
    int top = lua_gettop(L);
    int rc = enc(L, idx, out, err, errn, 0);
    lua_settop(L, top);
    if (rc == 0 && out->oom) {
        snprintf(err, errn, _("out of memory"));
        return -1;
    }
    return rc;
}

static int l_json_encode(lua_State *L) {
    codec_buf b;
    char err[256];
    luaL_checkany(L, 1);
    codec_buf_init(&b);
    int rc = ljson_encode(L, 1, &b, err, sizeof err);
    if (rc == 0) {
        lua_pushlstring(L, b.p ? (const char *)b.p : "", b.len);
    }
    codec_buf_free(&b);
    if (rc) {
        return luaL_error(L, _("json.encode: %s"), err);
    }
    return 1;
}

static int l_json_decode(lua_State *L) {
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    char err[256];
    if (ljson_decode(L, s, n, err, sizeof err)) {
        return luaL_error(L, _("json.decode: %s"), err);
    }
    return 1;
}

void ljson_push(lua_State *L) {
    lua_createtable(L, 0, 3);
    lua_pushcfunction(L, l_json_encode);
    lua_setfield(L, -2, "encode");
    lua_pushcfunction(L, l_json_decode);
    lua_setfield(L, -2, "decode");
    lua_pushlightuserdata(L, (void *)&null_key);
    lua_setfield(L, -2, "null");
}

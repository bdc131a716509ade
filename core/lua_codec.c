/*
 * lua_codec.c — Lua values <-> MessagePack, and records in schema order.
 *
 * Calls codec.c and the Lua C API.
 *
 * Records are arrays in the collection's field order; trailing nils are
 * dropped (a shorter array reads as nil for the missing fields, which is
 * also how records written before a field was added read).
 */
#include "lua_codec.h"

#include "err.h"

#include <lauxlib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void lcodec_push_shown(lua_State *L, int idx) {
    idx = lua_absindex(L, idx);
    switch (lua_type(L, idx)) {
    case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        if (n > 60) {
            size_t cut = 60;
            while (cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80) {
                cut--; /* not inside a UTF-8 character */
            }
            lua_pushfstring(L, _("string \"%s...\""),
                            lua_pushlstring(L, s, cut) ? lua_tostring(L, -1) : "");
            lua_remove(L, -2);
        } else {
            lua_pushfstring(L, _("string \"%s\""), s);
        }
        break;
    }
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) {
            lua_pushfstring(L, "%I", (LUAI_UACINT)lua_tointeger(L, idx));
        } else {
            lua_pushfstring(L, "%f", lua_tonumber(L, idx));
        }
        break;
    case LUA_TBOOLEAN:
        lua_pushstring(L, lua_toboolean(L, idx) ? "true" : "false");
        break;
    default:
        lua_pushstring(L, luaL_typename(L, idx));
    }
}

/* A table is an array when its keys are exactly 1..n. */
static int is_array(lua_State *L, int idx, lua_Integer *n) {
    lua_Integer len = (lua_Integer)lua_rawlen(L, idx), count = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        if (!lua_isinteger(L, -1)) {
            lua_pop(L, 1);
            return 0;
        }
        lua_Integer k = lua_tointeger(L, -1);
        if (k < 1 || k > len) {
            lua_pop(L, 1);
            return 0;
        }
        count++;
    }
    *n = len;
    return count == len && len > 0;
}

/* Encodes the value at idx if it is a string, an integer or a boolean (the
 * usual payload and field values) and returns 1; else 0, nothing written:
 * the general encoder's index and stack checks cost more than the value
 * (issue 18: an event payload {member_id = n} took 800 instructions). */
static inline int encode_simple(lua_State *L, int idx, int t, codec_buf *out) {
    if (t == LUA_TSTRING) {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        if (n > 0xffffffffu) {
            return 0; /* the general encoder says why */
        }
        mp_put_str(out, s, n);
        return 1;
    }
    if (t == LUA_TNUMBER && lua_isinteger(L, idx)) {
        mp_put_int(out, lua_tointeger(L, idx));
        return 1;
    }
    if (t == LUA_TBOOLEAN) {
        mp_put_bool(out, lua_toboolean(L, idx));
        return 1;
    }
    return 0;
}

int lcodec_encode(lua_State *L, int idx, codec_buf *out, int depth) {
    idx = lua_absindex(L, idx);
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
        mp_put_nil(out);
        return 0;
    case LUA_TBOOLEAN:
        mp_put_bool(out, lua_toboolean(L, idx));
        return 0;
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) {
            mp_put_int(out, lua_tointeger(L, idx));
        } else {
            mp_put_double(out, lua_tonumber(L, idx));
        }
        return 0;
    case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        if (n > 0xffffffffu) {
            return err_set(GH_ETOOBIG, _("a string of %zu bytes is too long to store"), n);
        }
        mp_put_str(out, s, n);
        return 0;
    }
    case LUA_TTABLE: {
        lua_Integer n;
        if (depth <= 0) {
            return err_set(GH_ETYPE,
                           _("a table nested more than %d levels deep (or one that "
                             "contains itself) cannot be stored"),
                           CODEC_MAX_DEPTH);
        }
        if (!lua_checkstack(L, 4)) {
            return err_set(GH_ENOMEM, _("Lua stack exhausted"));
        }
        if ((n = (lua_Integer)lua_rawlen(L, idx)) > 0) {
            /* An array in one walk: lua_next gives 1..n in order when they
             * are in the table's array part (a compact event, issue 13), and
             * each value is encoded as it comes; keys in any other order
             * (or others) start again below, as is_array decides. */
            size_t at = out->len;
            lua_Integer i = 0;
            int rc = 0;
            mp_put_array(out, (uint32_t)n);
            lua_pushnil(L);
            while (lua_next(L, idx)) {
                if (!lua_isinteger(L, -2) || lua_tointeger(L, -2) != i + 1) {
                    lua_pop(L, 2);
                    break;
                }
                i++;
                if (!encode_simple(L, -1, lua_type(L, -1), out)) {
                    rc = lcodec_encode(L, -1, out, depth - 1);
                }
                lua_pop(L, 1);
                if (rc) {
                    lua_pop(L, 1);
                    return rc;
                }
                if (i == n && lua_next(L, idx) == 0) {
                    return 0; /* 1..n and nothing else */
                }
                if (i == n) {
                    lua_pop(L, 2);
                    break;
                }
            }
            out->len = at;
        }
        if (n > 0 && is_array(L, idx, &n)) { /* n: the length asked above */
            mp_put_array(out, (uint32_t)n);
            for (lua_Integer i = 1; i <= n; i++) {
                lua_rawgeti(L, idx, i);
                int rc = lcodec_encode(L, -1, out, depth - 1);
                lua_pop(L, 1);
                if (rc) {
                    return rc;
                }
            }
            return 0;
        }
        /* A map, in one walk (a walk to count first cost as much as the
         * encoding, issue 18): the pairs go after room for the largest
         * header, which is then cut to the smallest form, as mp_put_map
         * writes it. */
        uint32_t count = 0;
        size_t at = out->len;
        if (!codec_buf_need(out, 5)) {
            return 0; /* out->oom is set: the caller reports it */
        }
        out->len += 5;
        lua_pushnil(L);
        while (lua_next(L, idx)) {
            int kt = lua_type(L, -2);
            if (kt != LUA_TSTRING && kt != LUA_TNUMBER && kt != LUA_TBOOLEAN) {
                lua_pop(L, 2);
                return err_set(GH_ETYPE, _("a table key of type %s cannot be stored"),
                               lua_typename(L, kt));
            }
            int rc = 0;
            if (!encode_simple(L, -2, kt, out)) {
                rc = lcodec_encode(L, -2, out, depth - 1);
            }
            if (rc == 0 && !encode_simple(L, -1, lua_type(L, -1), out)) {
                rc = lcodec_encode(L, -1, out, depth - 1);
            }
            lua_pop(L, 1);
            if (rc) {
                lua_pop(L, 1);
                return rc;
            }
            count++;
        }
        if (out->oom) {
            return 0;
        }
        unsigned char *h = out->p + at;
        size_t hn = count < 16 ? 1 : count <= 0xffff ? 3 : 5;
        if (hn == 1) {
            h[0] = (unsigned char)(0x80 | count);
        } else if (hn == 3) {
            h[0] = 0xde, h[1] = (unsigned char)(count >> 8), h[2] = (unsigned char)count;
        } else {
            h[0] = 0xdf, h[1] = (unsigned char)(count >> 24), h[2] = (unsigned char)(count >> 16);
            h[3] = (unsigned char)(count >> 8), h[4] = (unsigned char)count;
        }
        if (hn < 5) {
            memmove(h + hn, h + 5, out->len - at - 5);
            out->len -= 5 - hn;
        }
        return 0;
    }
    default:
        return err_set(GH_ETYPE, _("a value of type %s cannot be stored"), luaL_typename(L, idx));
    }
}

int lcodec_push(lua_State *L, mp_reader *r, int depth) {
    mp_item it;
    if (mp_read(r, &it) != 0) {
        return err_set(GH_ECORRUPT, _("stored value bytes are corrupt"));
    }
    switch (it.type) {
    case MP_NIL:
        lua_pushnil(L);
        return 0;
    case MP_BOOL:
        lua_pushboolean(L, it.v.b);
        return 0;
    case MP_INT:
        lua_pushinteger(L, (lua_Integer)it.v.i);
        return 0;
    case MP_FLOAT:
        lua_pushnumber(L, (lua_Number)it.v.d);
        return 0;
    case MP_STR:
        lua_pushlstring(L, it.s, it.n);
        return 0;
    default:
        break;
    }
    /* arrays and maps */
    if (depth <= 0 || !lua_checkstack(L, 4)) {
        return err_set(GH_ECORRUPT, _("stored value nested too deep"));
    }
    uint64_t need = it.type == MP_MAP ? 2 * (uint64_t)it.n : it.n;
    if (need > (uint64_t)(r->end - r->p)) { /* every element takes at least one byte */
        return err_set(GH_ECORRUPT, _("stored value bytes are corrupt (count past the end)"));
    }
    if (it.type == MP_ARRAY) {
        lua_createtable(L, (int)it.n, 0);
        for (uint32_t i = 0; i < it.n; i++) {
            if (lcodec_push(L, r, depth - 1) != 0) {
                lua_pop(L, 1);
                return GH_ECORRUPT;
            }
            lua_rawseti(L, -2, (lua_Integer)i + 1);
        }
        return 0;
    }
    lua_createtable(L, 0, (int)it.n);
    for (uint32_t i = 0; i < it.n; i++) {
        if (lcodec_push(L, r, depth - 1) != 0) {
            lua_pop(L, 1);
            return GH_ECORRUPT;
        }
        if (lua_isnil(L, -1) || (lua_type(L, -1) == LUA_TNUMBER && isnan(lua_tonumber(L, -1)))) {
            lua_pop(L, 2);
            return err_set(GH_ECORRUPT, _("stored value has a nil or NaN table key"));
        }
        if (lcodec_push(L, r, depth - 1) != 0) {
            lua_pop(L, 2);
            return GH_ECORRUPT;
        }
        lua_rawset(L, -3);
    }
    return 0;
}

static int type_error(lua_State *L, int idx, const store_coll *c, int pos, const char *expect) {
    lcodec_push_shown(L, idx);
    int rc = err_set(GH_ETYPE, _("collection '%s': field '%s' expects %s, got %s"), c->name,
                     store_field_label(c, pos), expect, lua_tostring(L, -1));
    lua_pop(L, 1);
    return rc;
}

int lcodec_encode_field(lua_State *L, int idx, const store_coll *c, int pos, codec_buf *out) {
    int t = lua_type(L, idx);
    switch (c->fields[pos].type) {
    case FT_INT:
        if (t == LUA_TNUMBER) { /* an integer, or a float with an integer's value */
            int isint;
            lua_Integer v = lua_tointegerx(L, idx, &isint);
            if (isint) {
                mp_put_int(out, v);
                return 0;
            }
        }
        return type_error(L, idx, c, pos, _("an integer"));
    case FT_FEN:
        if (t == LUA_TNUMBER && lua_isinteger(L, idx)) {
            mp_put_int(out, lua_tointeger(L, idx));
            return 0;
        }
        return type_error(L, idx, c, pos,
                          _("money as an integer number of fen (1 yuan = 100 fen; use "
                            "math.tointeger or // for arithmetic)"));
    case FT_NUMBER:
        if (t == LUA_TNUMBER) {
            return lcodec_encode(L, idx, out, 1);
        }
        return type_error(L, idx, c, pos, _("a number"));
    case FT_STRING:
        if (t == LUA_TSTRING && encode_simple(L, idx, t, out)) {
            return 0;
        }
        if (t == LUA_TSTRING) {
            return lcodec_encode(L, idx, out, 1); /* too long: says so */
        }
        return type_error(L, idx, c, pos, _("a string"));
    case FT_BOOL:
        if (t == LUA_TBOOLEAN) {
            mp_put_bool(out, lua_toboolean(L, idx));
            return 0;
        }
        return type_error(L, idx, c, pos, _("a boolean"));
    case FT_DATE:
        if (t == LUA_TSTRING) {
            size_t n;
            const char *s = lua_tolstring(L, idx, &n);
            if (codec_is_date(s, n)) {
                mp_put_str(out, s, n);
                return 0;
            }
        }
        return type_error(L, idx, c, pos, _("a date (YYYY-MM-DD)"));
    default: {
        /* one level less: the record array holds the field */
        int rc = lcodec_encode(L, idx, out, CODEC_MAX_DEPTH - 1);
        if (rc) {
            err_prefix(_("collection '%s': field '%s'"), c->name, store_field_label(c, pos));
        }
        return rc;
    }
    }
}

/* Scratch for assembling one record: where each field's bytes start. */
typedef struct slots {
    size_t off[STORE_MAX_FIELDS];
    size_t len[STORE_MAX_FIELDS];
    unsigned char set[STORE_MAX_FIELDS];
} slots;

static int unknown_field(lua_State *L, int kidx, const store_coll *c) {
    if (lua_type(L, kidx) != LUA_TSTRING) {
        lcodec_push_shown(L, kidx);
        int rc = err_set(GH_EUNKNOWN, _("collection '%s': field names are strings, got %s"),
                         c->name, lua_tostring(L, -1));
        lua_pop(L, 1);
        return rc;
    }
    char known[512];
    size_t w = 0;
    known[0] = 0;
    for (int i = 0; i < c->nfields && w < sizeof known - 70; i++) {
        if (i != c->extra) {
            w += (size_t)snprintf(known + w, sizeof known - w, "%s%s", w ? ", " : "",
                                  c->fields[i].name);
        }
    }
    return err_set(GH_EUNKNOWN, _("collection '%s': unknown field '%s' (its fields: %s)"), c->name,
                   lua_tostring(L, kidx), known);
}

/* The position of the field named by the string key at kidx in c, or -1:
 * by the pointer of its name in shape sh (NULL: none), else by its text (a
 * name too long for Lua to intern, or no field's name). The extra field is
 * not named by its own name. */
static int field_pos(lua_State *L, int kidx, const store_coll *c, const lshape *sh) {
    size_t n;
    const char *k = lua_tolstring(L, kidx, &n);
    int pos = sh ? lshape_find(sh, k) : -1;
    if (pos < 0) {
        pos = store_field_pos(c, k);
        if (pos == c->extra || (pos >= 0 && strlen(k) != n)) {
            pos = -1; /* the extra field's own name, or a key with a NUL in it */
        }
    }
    return pos;
}

/* Encodes the fields of table `idx` into `vals`, noting each in `sl`; extra
 * fields go to `extra` as map pairs, counted in *nextra. */
static int encode_fields(lua_State *L, int idx, const store_coll *c, const lshape *sh,
                         const void *null, codec_buf *vals, slots *sl, codec_buf *extra,
                         uint32_t *nextra) {
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        int pos = lua_type(L, -2) == LUA_TSTRING ? field_pos(L, -2, c, sh) : -1;
        int rc = 0;
        if (pos < 0) {
            if (c->extra < 0) {
                rc = unknown_field(L, -2, c);
            } else {
                (*nextra)++;
                rc = lcodec_encode(L, -2, extra, 1);
                if (rc == 0) {
                    rc = lcodec_encode(L, -1, extra, CODEC_MAX_DEPTH - 2);
                }
            }
        } else if (null && lua_touserdata(L, -1) == null) {
            if (!c->fields[pos].optional || pos == c->key) {
                rc = err_set(GH_EMISSING,
                             _("collection '%s': field '%s' is required and cannot be cleared"),
                             c->name, store_field_label(c, pos));
            } else {
                sl->set[pos] = 2; /* cleared */
            }
        } else {
            /* a string field's string and an integer field's integer (most
             * values) without lcodec_encode_field's checks and switch */
            int vt = lua_type(L, -1), ft = c->fields[pos].type;
            sl->off[pos] = vals->len;
            if (vt == LUA_TSTRING && ft == FT_STRING) {
                size_t n;
                const char *s = lua_tolstring(L, -1, &n);
                if (n < 32) {
                    unsigned char *q = codec_buf_need(vals, 1 + n);
                    if (q) {
                        q[0] = (unsigned char)(0xa0 | n);
                        memcpy(q + 1, s, n);
                        vals->len += 1 + n;
                    }
                } else {
                    rc = lcodec_encode_field(L, -1, c, pos, vals);
                }
            } else if (vt == LUA_TNUMBER && (ft == FT_INT || ft == FT_FEN) &&
                       lua_isinteger(L, -1)) {
                mp_put_int(vals, lua_tointeger(L, -1));
            } else {
                rc = lcodec_encode_field(L, -1, c, pos, vals);
            }
            sl->len[pos] = vals->len - sl->off[pos];
            sl->set[pos] = 1;
        }
        lua_pop(L, 1);
        if (rc) {
            lua_pop(L, 1);
            return rc;
        }
    }
    return vals->oom || extra->oom ? GH_ENOMEM : 0;
}

int lcodec_encode_record(lua_State *L, int idx, const store_coll *c, const lshape *sh,
                         const int64_t *auto_id, codec_buf *out) {
    slots sl;
    codec_buf vals, extra;
    unsigned char valmem[1024];
    uint32_t nextra = 0;
    int rc;
    idx = lua_absindex(L, idx);
    memset(sl.set, 0, (size_t)c->nfields);
    codec_buf_init_on(&vals, valmem, sizeof valmem);
    codec_buf_init(&extra);
    if ((rc = encode_fields(L, idx, c, sh, NULL, &vals, &sl, &extra, &nextra))) {
        goto out;
    }
    if (!sl.set[c->key] && auto_id) {
        sl.off[c->key] = vals.len;
        mp_put_int(&vals, *auto_id);
        sl.len[c->key] = vals.len - sl.off[c->key];
        sl.set[c->key] = 1;
    }
    int last = -1;
    for (int i = 0; i < c->nfields; i++) {
        if (sl.set[i] || (i == c->extra && nextra)) {
            last = i;
        } else if (!c->fields[i].optional && i != c->extra) {
            rc = err_set(
                GH_EMISSING,
                i == c->key && c->auto_key
                    ? _("collection '%s': required field '%s' is missing")
                    : _("collection '%s': required field '%s' is missing (give it a value)"),
                c->name, store_field_label(c, i));
            goto out;
        }
    }
    out->len = 0;
    mp_put_array(out, (uint32_t)(last + 1));
    for (int i = 0; i <= last; i++) {
        if (i == c->extra) {
            if (nextra) {
                mp_put_map(out, nextra);
                codec_buf_add(out, extra.p, extra.len);
            } else {
                mp_put_nil(out);
            }
        } else if (sl.set[i]) {
            codec_buf_add(out, vals.p + sl.off[i], sl.len[i]);
        } else {
            mp_put_nil(out);
        }
    }
    rc = out->oom ? GH_ENOMEM : 0;
out:
    codec_buf_free(&vals);
    codec_buf_free(&extra);
    return rc;
}

int lcodec_merge_record(lua_State *L, int idx, const store_coll *c, const lshape *sh,
                        const void *old, size_t oldn, const void *null, codec_buf *out) {
    slots sl;
    codec_buf vals, extra;
    uint32_t nextra = 0;
    const unsigned char *ooff[STORE_MAX_FIELDS];
    size_t olen[STORE_MAX_FIELDS];
    mp_reader r;
    mp_item it;
    int rc;
    idx = lua_absindex(L, idx);
    memset(sl.set, 0, (size_t)c->nfields);
    codec_buf_init(&vals);
    codec_buf_init(&extra);
    mp_reader_init(&r, old, oldn);
    if (mp_read(&r, &it) != 0 || it.type != MP_ARRAY) {
        return err_set(GH_ECORRUPT, _("collection '%s': a stored record is corrupt"), c->name);
    }
    for (int i = 0; i < c->nfields; i++) {
        ooff[i] = NULL;
        if ((uint32_t)i < it.n) {
            ooff[i] = r.p;
            if (mp_skip(&r, CODEC_MAX_DEPTH) != 0) {
                return err_set(GH_ECORRUPT, _("collection '%s': a stored record is corrupt"),
                               c->name);
            }
            olen[i] = (size_t)(r.p - ooff[i]);
        }
    }
    if ((rc = encode_fields(L, idx, c, sh, null, &vals, &sl, &extra, &nextra))) {
        goto out;
    }
    if (sl.set[c->key] == 1 && (sl.len[c->key] != olen[c->key] ||
                                memcmp(vals.p + sl.off[c->key], ooff[c->key], olen[c->key]))) {
        rc = err_set(GH_EINVAL,
                     _("collection '%s': update cannot change the key field '%s' (insert a new "
                       "record and delete the old one)"),
                     c->name, c->fields[c->key].name);
        goto out;
    }
    out->len = 0;
    mp_put_array(out, (uint32_t)c->nfields);
    for (int i = 0; i < c->nfields; i++) {
        if (i == c->extra && nextra) {
            /* merge: new pairs first, then old pairs whose key is not new */
            uint32_t total = nextra;
            codec_buf merged;
            codec_buf_init(&merged);
            codec_buf_add(&merged, extra.p, extra.len);
            if (ooff[i]) {
                mp_reader er;
                mp_item e;
                mp_reader_init(&er, ooff[i], olen[i]);
                if (mp_read(&er, &e) == 0 && e.type == MP_MAP) {
                    for (uint32_t j = 0; j < e.n; j++) {
                        const unsigned char *ks = er.p;
                        mp_item k;
                        mp_reader kr = er;
                        if (mp_read(&kr, &k) != 0 || mp_skip(&er, 1) != 0) {
                            break;
                        }
                        const unsigned char *vs = er.p;
                        if (mp_skip(&er, CODEC_MAX_DEPTH) != 0) {
                            break;
                        }
                        int overridden = 0;
                        if (k.type == MP_STR) {
                            lua_pushlstring(L, k.s, k.n);
                            overridden = lua_rawget(L, idx) != LUA_TNIL;
                            lua_pop(L, 1);
                        }
                        if (!overridden) {
                            codec_buf_add(&merged, ks, (size_t)(er.p - ks));
                            total++;
                        }
                        (void)vs;
                    }
                }
            }
            mp_put_map(out, total);
            codec_buf_add(out, merged.p, merged.len);
            codec_buf_free(&merged);
        } else if (sl.set[i] == 1) {
            codec_buf_add(out, vals.p + sl.off[i], sl.len[i]);
        } else if (sl.set[i] == 2 || !ooff[i]) {
            mp_put_nil(out);
        } else {
            codec_buf_add(out, ooff[i], olen[i]);
        }
    }
    rc = out->oom ? GH_ENOMEM : 0;
out:
    codec_buf_free(&vals);
    codec_buf_free(&extra);
    return rc;
}

int lcodec_push_record(lua_State *L, const store_coll *c, int names_idx, const void *rec,
                       size_t n) {
    mp_reader r;
    mp_item it;
    names_idx = lua_absindex(L, names_idx);
    mp_reader_init(&r, rec, n);
    if (mp_read(&r, &it) != 0 || it.type != MP_ARRAY) {
        return err_set(GH_ECORRUPT, _("collection '%s': a stored record is corrupt"), c->name);
    }
    uint32_t have = it.n < (uint32_t)c->nfields ? it.n : (uint32_t)c->nfields;
    lua_createtable(L, 0, (int)have);
    for (uint32_t i = 0; i < have; i++) {
        if ((int)i == c->extra) {
            if (lcodec_push(L, &r, CODEC_MAX_DEPTH) != 0) {
                goto corrupt;
            }
            if (lua_istable(L, -1)) { /* merge the extra fields in */
                lua_pushnil(L);
                while (lua_next(L, -2)) {
                    lua_pushvalue(L, -2);
                    lua_insert(L, -2);
                    lua_rawset(L, -5);
                }
            }
            lua_pop(L, 1);
            continue;
        }
        if (r.p < r.end && *r.p == 0xc0) { /* nil: leave the field absent */
            r.p++;
            continue;
        }
        lua_rawgeti(L, names_idx, (lua_Integer)i + 1);
        if (lcodec_push(L, &r, CODEC_MAX_DEPTH) != 0) {
            lua_pop(L, 1);
            goto corrupt;
        }
        lua_rawset(L, -3);
    }
    return 0;
corrupt:
    lua_pop(L, 1);
    return err_set(GH_ECORRUPT,
                   _("collection '%s': a stored record is corrupt (run gonghui check)"), c->name);
}

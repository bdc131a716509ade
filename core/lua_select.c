/*
 * lua_select.c — coll:insert_select{...}: SQL's INSERT INTO ... SELECT, a
 * prepared insert for every row of a scan, with an event per record, in C.
 *
 *   target:insert_select{ from = db.members, where = { status = 'active' },
 *                         set = { campaign = 'spring' },            -- constants
 *                         take = { member_id = 'member_id',          -- target = source
 *                                  household = { 'household', or_key = 'm' } },
 *                                  -- (when nil: a default = v, or 'm' .. the source's key;
 *                                  --  with no source field named: always that)
 *                         publish = { topic = 'award.issued', fields = 'member_id' },
 *                         after = KEY, limit = N }
 *     --> inserted, the last source key visited (nil: none), the last new key (nil: none)
 *
 * Called as a collection method (lua_store.c registers it). Built on the
 * one home of each part: the source scan and its conditions are lua_scan.c's
 * (lscan_open: the conditions scan{} checks in C on the stored bytes), the
 * constants are a prepared insert's (coll:prepare_insert encodes them once;
 * lstore_prep_record lays out the record), and every record is inserted by
 * lstore_insert_built (the scope's check, unique indexes, UTF-8 and NaN,
 * the change event of a collection with events), the event published by
 * the bus's publish hook (the run's tally, the scope's check, handlers).
 *
 * A taken field's stored bytes are copied, not decoded to Lua: its type is
 * checked once against the target field's when the call starts (per record
 * only when the source field is `any`).
 *
 * Invariants:
 *   1. The call is one unit: outside db.atomic it is a transaction of its
 *      own (db.atomic: a full map grows and the call is redone); inside, it
 *      runs in the caller's transaction, in a savepoint of its own whenever
 *      a record could be refused midway (a unique index or key the records
 *      fill, a scoped request, a taken value that may be missing or of type
 *      any, change events, a published event that a bus.on handler
 *      receives), so a refusal stores nothing of the call.
 *   2. The source is never the target (the scan would meet its own records).
 *   3. after/limit make it resumable: records come in the source's key order
 *      whenever after is given, and the second result is where to go on.
 */
#include "bus.h"
#include "lua_bus.h"
#include "err.h"
#include "lua_codec.h"
#include "lua_store.h"

#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

#define SEL_MT "gonghui.insert_select"

/* One taken field: target position pos from source position src; when the
 * source has none, the default (bytes in lsel.consts) or, with or_key, the
 * prefix followed by the source record's key as text. */
typedef struct ltake {
    int pos, src;
    int any;         /* the source field is `any`: its type is checked per record */
    int dflt;        /* 1 default bytes, 2 or_key prefix, 0 none (nil) */
    size_t off, len; /* the default's bytes or the prefix, in consts */
} ltake;

/* The call's plan, parsed inside the unit (a userdata: collected after an error). */
typedef struct lsel {
    int ntake;
    ltake take[STORE_MAX_FIELDS];
    int npub, bare, publish;
    int pub[STORE_MAX_FIELDS];
    size_t tn;
    char topic[BUS_MAX_TOPIC + 1];
    codec_buf consts, vals, pb, after, lastsrc, lastnew, txt;
} lsel;

static int l_sel_gc(lua_State *L) {
    lsel *p = lua_touserdata(L, 1);
    codec_buf *b[] = {&p->consts, &p->vals, &p->pb, &p->after, &p->lastsrc, &p->lastnew, &p->txt};
    for (size_t i = 0; i < sizeof b / sizeof b[0]; i++) {
        codec_buf_free(b[i]);
    }
    return 0;
}

static const char *const sel_keys[] = {"from",    "where", "set",   "take",
                                       "publish", "after", "limit", NULL};

/* Position of field `name` (the string at idx) in the collection at coll_idx
 * (its name table, uservalue 2, fresh after lstore_resolve); -1 if none. */
static int field_pos(lua_State *L, int coll_idx, int idx) {
    idx = lua_absindex(L, idx);
    lua_getiuservalue(L, coll_idx, 2);
    lua_pushvalue(L, idx);
    int pos = lua_rawget(L, -2) == LUA_TNUMBER ? (int)lua_tointeger(L, -1) - 1 : -1;
    lua_pop(L, 2);
    return pos;
}

/* Can a stored value of source type st fill a field of target type tt as
 * it is? (date is stored as its text; int is a number) */
static int type_fits(int st, int tt) {
    return st == tt || tt == FT_ANY || (st == FT_INT && tt == FT_NUMBER) ||
           (st == FT_DATE && tt == FT_STRING);
}

/* The stored value at v (one MessagePack value) fits a field of type tt? */
static int value_fits(const unsigned char *v, size_t n, int tt) {
    mp_reader r;
    mp_item it;
    mp_reader_init(&r, v, n);
    if (mp_read(&r, &it) != 0) {
        return 0;
    }
    switch (tt) {
    case FT_INT:
    case FT_FEN:
        return it.type == MP_INT;
    case FT_NUMBER:
        return it.type == MP_INT || it.type == MP_FLOAT;
    case FT_STRING:
        return it.type == MP_STR;
    case FT_DATE:
        return it.type == MP_STR && codec_is_date(it.s, it.n);
    case FT_BOOL:
        return it.type == MP_BOOL;
    default:
        return 1;
    }
}

/* Reads spec.take (at take_idx, may be nil) into p for target c (coll 1)
 * and source sc (coll 3). Balanced stack. */
static int parse_take(lua_State *L, lsel *p, const store_coll *c, const store_coll *sc,
                      int take_idx) {
    if (lua_isnil(L, take_idx)) {
        return 0;
    }
    if (!lua_istable(L, take_idx)) {
        return err_set(GH_EINVAL,
                       _("collection '%s': insert_select's take is a table {target field = "
                         "source field}"),
                       c->name);
    }
    int top = lua_gettop(L), rc = 0;
    lua_pushnil(L);
    while (rc == 0 && lua_next(L, take_idx)) {
        int vidx = lua_gettop(L), kidx = vidx - 1;
        ltake *k = &p->take[p->ntake];
        memset(k, 0, sizeof *k);
        k->pos = lua_type(L, kidx) == LUA_TSTRING ? field_pos(L, 1, kidx) : -1;
        if (k->pos < 0 || p->ntake >= STORE_MAX_FIELDS) {
            lcodec_push_shown(L, kidx);
            rc = err_set(GH_EUNKNOWN, _("collection '%s' has no field %s (insert_select's take)"),
                         c->name, lua_tostring(L, -1));
            break;
        }
        int src_idx = vidx;
        if (lua_istable(L, vidx)) { /* { 'source', default = v | or_key = 'prefix' } */
            lua_rawgeti(L, vidx, 1);
            src_idx = lua_gettop(L);
            if (lua_getfield(L, vidx, "default") != LUA_TNIL) {
                k->dflt = 1;
                k->off = p->consts.len;
                rc = lcodec_encode_field(L, -1, c, k->pos, &p->consts);
                k->len = p->consts.len - k->off;
            }
            if (rc == 0 && lua_getfield(L, vidx, "or_key") != LUA_TNIL) {
                size_t n;
                const char *z = lua_tolstring(L, -1, &n);
                int tt = c->fields[k->pos].type;
                if (k->dflt || lua_type(L, -1) != LUA_TSTRING ||
                    (tt != FT_STRING && tt != FT_ANY)) {
                    rc = err_set(GH_EINVAL,
                                 _("collection '%s': take's '%s': or_key = 'prefix' fills a text "
                                   "field with the prefix and the source record's key, and goes "
                                   "without default"),
                                 c->name, store_field_label(c, k->pos));
                } else {
                    k->dflt = 2;
                    k->off = p->consts.len;
                    codec_buf_add(&p->consts, z, n);
                    k->len = n;
                }
            }
        }
        k->src = -1; /* { default = v } or { or_key = 'm' } alone: always the default */
        if (rc == 0 && !(k->dflt && src_idx != vidx && lua_isnil(L, src_idx))) {
            k->src = lua_type(L, src_idx) == LUA_TSTRING ? field_pos(L, 3, src_idx) : -1;
            if (k->src < 0) {
                lcodec_push_shown(L, src_idx);
                rc = err_set(GH_EUNKNOWN,
                             _("collection '%s' has no field %s (insert_select's take of '%s')"),
                             sc->name, lua_tostring(L, -1), store_field_label(c, k->pos));
            }
        }
        if (rc == 0 && k->src >= 0) {
            int st = sc->fields[k->src].type, tt = c->fields[k->pos].type;
            k->any = st == FT_ANY && tt != FT_ANY;
            if (!k->any && !type_fits(st, tt)) {
                rc = err_set(GH_ETYPE,
                             _("collection '%s': field '%s' is %s and cannot take '%s' of '%s', "
                               "which is %s"),
                             c->name, store_field_label(c, k->pos), store_type_name(tt),
                             store_field_label(sc, k->src), sc->name, store_type_name(st));
            }
        }
        p->ntake++;
        lua_settop(L, kidx);
    }
    lua_settop(L, top);
    return rc ? rc : p->consts.oom ? GH_ENOMEM : 0;
}

/* Reads spec.publish (at idx): { topic = T, fields = { ... } | 'name' } or
 * a topic alone (no payload... refused: an event names what it is about). */
static int parse_publish(lua_State *L, lsel *p, const store_coll *c, int idx) {
    if (lua_isnil(L, idx)) {
        return 0;
    }
    size_t tn = 0;
    const char *topic = NULL;
    if (lua_istable(L, idx)) {
        lua_getfield(L, idx, "topic");
        topic = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &tn) : NULL;
        lua_pop(L, 1); /* the spec holds it */
    }
    if (!topic) {
        return err_set(GH_EINVAL,
                       _("collection '%s': insert_select's publish is { topic = 'a.b', fields = "
                         "{ 'field', ... } or 'field' }"),
                       c->name);
    }
    int rc = bus_topic_check(topic, tn);
    if (rc) {
        return rc;
    }
    memcpy(p->topic, topic, tn);
    p->topic[tn] = 0;
    p->tn = tn;
    p->publish = 1;
    lua_getfield(L, idx, "fields");
    int fidx = lua_gettop(L);
    if (lua_type(L, fidx) == LUA_TSTRING) {
        p->bare = 1;
        p->npub = 1;
        p->pub[0] = field_pos(L, 1, fidx);
        rc = p->pub[0] < 0 ? -1 : 0;
    } else if (lua_istable(L, fidx)) {
        int n = (int)lua_rawlen(L, fidx);
        for (int i = 1; i <= n && rc == 0 && n <= STORE_MAX_FIELDS; i++) {
            lua_rawgeti(L, fidx, i);
            p->pub[p->npub] = lua_type(L, -1) == LUA_TSTRING ? field_pos(L, 1, -1) : -1;
            rc = p->pub[p->npub++] < 0 ? -1 : 0;
            if (rc) {
                lua_replace(L, fidx);
            } else {
                lua_pop(L, 1);
            }
        }
        rc = rc || n == 0 || n > STORE_MAX_FIELDS ? -1 : 0;
    } else {
        rc = -1;
    }
    if (rc) {
        lcodec_push_shown(L, fidx);
        rc = err_set(GH_EUNKNOWN,
                     _("collection '%s': insert_select's publish.fields names fields of the new "
                       "record (a list, or one name for the bare value); got %s"),
                     c->name, lua_tostring(L, -1));
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return rc;
}

/* The end of the value at v, or NULL if damaged. */
static inline const unsigned char *skip(const unsigned char *v, const unsigned char *end) {
    mp_reader r;
    mp_reader_init(&r, v, (size_t)(end - v));
    return mp_skip_fast(&r) == 0 ? r.p : NULL;
}

/* Finds fields 0 .. upto of record rec: at[i], to[i] (at[i] NULL: absent). */
static int fields_of(const void *rec, size_t n, int upto, const unsigned char **at,
                     const unsigned char **to) {
    uint32_t narr;
    const unsigned char *p = mp_record_fields(rec, n, &narr), *end = (const unsigned char *)rec + n;
    if (!p) {
        return GH_ECORRUPT;
    }
    int i = 0;
    for (; i <= upto && (uint32_t)i < narr; i++) {
        at[i] = p;
        if (!(p = to[i] = skip(p, end))) {
            return GH_ECORRUPT;
        }
    }
    for (; i <= upto; i++) {
        at[i] = to[i] = NULL;
    }
    return 0;
}

/* The payload of the new record in db->buf into p->pb: the published
 * fields' values (nil for a field that is nil or was filled by its
 * default), an array (nil in the middle as false, trailing nils left out)
 * or, for one name, the bare value. */
static int build_payload(lsel *p, const unsigned char **at, const unsigned char **to,
                         const unsigned char *defaulted) {
    int last = -1;
    p->pb.len = 0;
    for (int i = 0; i < p->npub; i++) {
        int f = p->pub[i];
        if (at[f] && *at[f] != 0xc0 && !defaulted[f]) {
            last = i;
        }
    }
    if (p->bare) {
        if (last < 0) {
            mp_put_nil(&p->pb);
        } else {
            codec_buf_add(&p->pb, at[p->pub[0]], (size_t)(to[p->pub[0]] - at[p->pub[0]]));
        }
        return p->pb.oom ? GH_ENOMEM : 0;
    }
    mp_put_array(&p->pb, (uint32_t)(last + 1));
    for (int i = 0; i <= last; i++) {
        int f = p->pub[i];
        if (at[f] && *at[f] != 0xc0 && !defaulted[f]) {
            codec_buf_add(&p->pb, at[f], (size_t)(to[f] - at[f]));
        } else {
            mp_put_bool(&p->pb, 0);
        }
    }
    return p->pb.oom ? GH_ENOMEM : 0;
}

/* The key field of the record in b (raw MessagePack) into out. */
static int copy_field(const unsigned char *at, const unsigned char *to, codec_buf *out) {
    out->len = 0;
    if (at) {
        codec_buf_add(out, at, (size_t)(to - at));
    }
    return out->oom ? GH_ENOMEM : 0;
}

/* The source key as text (or_key): an int in decimal, a string as it is. */
static int key_text(const unsigned char *at, const unsigned char *to, codec_buf *out) {
    mp_reader r;
    mp_item it;
    char num[32];
    mp_reader_init(&r, at, (size_t)(to - at));
    if (!at || mp_read(&r, &it) != 0) {
        return GH_ECORRUPT;
    }
    if (it.type == MP_INT) { /* (snprintf cost more than the rest of the record) */
        uint64_t v = it.v.i < 0 ? (uint64_t)0 - (uint64_t)it.v.i : (uint64_t)it.v.i;
        char *e = num + sizeof num, *d = e;
        do {
            *--d = (char)('0' + v % 10);
            v /= 10;
        } while (v);
        if (it.v.i < 0) {
            *--d = '-';
        }
        codec_buf_add(out, d, (size_t)(e - d));
    } else if (it.type == MP_STR) {
        codec_buf_add(out, it.s, it.n);
    } else {
        return GH_ETYPE;
    }
    return 0;
}

/* The loop, in the write transaction: 1 target, 2 spec, 3 source. Returns
 * inserted, last source key, last new key. */
static int l_select_loop(lua_State *L) {
    ldb *db = lstore_db(L);
    store_txn *t = lstore_write_txn(db);
    const store_coll *c, *sc;
    int rc;
    lua_settop(L, 3);
    if (!t) {
        return luaL_error(L, "insert_select: no write transaction"); /* i18n: ok (a bug) */
    }
    if ((rc = lstore_resolve(L, 1, t, &c)) || (rc = lstore_resolve(L, 3, t, &sc))) {
        return lstore_raise(L, rc);
    }
    if (c->name[0] == '_') {
        return luaL_error(L,
                          _("collection '%s' belongs to gonghui itself and is read-only to "
                            "scripts (the event log changes through bus.publish and consumers)"),
                          c->name);
    }
    if (strcmp(c->name, sc->name) == 0) {
        return luaL_error(L,
                          _("collection '%s': insert_select takes its records from another "
                            "collection (from = db.%s would meet the records it inserts)"),
                          c->name, c->name);
    }
    lsel *p = lua_newuserdatauv(L, sizeof *p, 0); /* 4 */
    memset(p, 0, sizeof *p);
    if (luaL_newmetatable(L, SEL_MT)) {
        lua_pushcfunction(L, l_sel_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, 4);
    lua_getfield(L, 2, "take"); /* 5 */
    if ((rc = parse_take(L, p, c, sc, 5)) == 0) {
        lua_getfield(L, 2, "publish");
        rc = parse_publish(L, p, c, lua_gettop(L));
        lua_pop(L, 1);
    }
    if (rc) {
        return lstore_raise(L, rc);
    }
    lua_pushvalue(L, lua_upvalueindex(1)); /* 6: prepare_insert itself */
    lua_pushvalue(L, lua_upvalueindex(2));
    lua_pushcclosure(L, l_coll_prepare_insert, 2);
    lua_pushvalue(L, 1);
    if (lua_getfield(L, 2, "set") == LUA_TNIL) {
        lua_pop(L, 1);
        lua_newtable(L);
    }
    luaL_checkstack(L, p->ntake, NULL);
    for (int i = 0; i < p->ntake; i++) {
        lua_pushstring(L, c->fields[p->take[i].pos].name);
    }
    lua_call(L, 2 + p->ntake, 1); /* 6: coll:prepare_insert(set, target names...) */
    lprep *prep = lstore_prep_of(L, 6);
    if (!prep || (rc = lstore_prep_check(prep, c))) {
        return lstore_raise(L, rc ? rc : GH_EINVAL);
    }
    /* prepare_insert numbers its variable fields in the order given: ours */
    int64_t limit = -1;
    if (lua_getfield(L, 2, "limit") != LUA_TNIL) { /* 7 */
        int isnum;
        limit = (int64_t)lua_tointegerx(L, 7, &isnum);
        if (!isnum || limit < 0) {
            return luaL_error(L, _("collection '%s': insert_select's limit is a count (0 or more)"),
                              c->name);
        }
    }
    if (lua_getfield(L, 2, "after") != LUA_TNIL && /* 8 */
        (rc = lstore_key_elem(L, 8, sc, sc->key, &p->after)) != 0) {
        return lstore_raise(L, rc);
    }
    lua_getfield(L, 2, "where"); /* 9 */
    if (!lua_isnil(L, 9) && !lua_istable(L, 9)) {
        return luaL_error(L,
                          _("collection '%s': insert_select's where is a table of conditions, "
                            "as scan{} takes"),
                          sc->name);
    }
    lscan *s;
    if ((rc = lscan_open(L, 3, lua_isnil(L, 9) ? 0 : 9, t, &p->after, &s))) { /* 10 */
        return lstore_raise(L, rc);
    }
    if (p->publish && !db->publish_hook) {
        lscan_close(s);
        return luaL_error(L, "insert_select: publish needs the bus"); /* i18n: ok (a bug) */
    }
    /* the source fields read per record: every taken one and the key */
    int upto = sc->key;
    for (int i = 0; i < p->ntake; i++) {
        upto = p->take[i].src > upto ? p->take[i].src : upto;
    }
    int nupto = c->key; /* the new record's fields read: its key and those published */
    for (int i = 0; i < p->npub; i++) {
        nupto = p->pub[i] > nupto ? p->pub[i] : nupto;
    }
    lua_Integer inserted = 0;
    size_t off[STORE_MAX_FIELDS], len[STORE_MAX_FIELDS];
    unsigned char defaulted[STORE_MAX_FIELDS];
    memset(defaulted, 0, sizeof defaulted);
    const void *pk, *rec;
    size_t pkn, n;
    while (limit != 0 && (rc = lscan_next(s, &pk, &pkn, &rec, &n)) == 0) {
        const unsigned char *at[STORE_MAX_FIELDS], *to[STORE_MAX_FIELDS];
        if ((rc = fields_of(rec, n, upto, at, to)) ||
            (rc = copy_field(at[sc->key], to[sc->key], &p->lastsrc))) {
            break;
        }
        p->vals.len = 0;
        for (int i = 0; i < p->ntake && rc == 0; i++) {
            ltake *k = &p->take[i];
            const unsigned char *v = k->src >= 0 ? at[k->src] : NULL;
            size_t vn = v ? (size_t)(to[k->src] - v) : 0;
            off[k->pos] = p->vals.len;
            defaulted[k->pos] = 0;
            if (!v || *v == 0xc0) {
                if (k->dflt == 1) {
                    codec_buf_add(&p->vals, p->consts.p + k->off, k->len);
                    defaulted[k->pos] = 1;
                } else if (k->dflt == 2) {
                    p->txt.len = 0;
                    codec_buf_add(&p->txt, p->consts.p + k->off, k->len);
                    if ((rc = key_text(at[sc->key], to[sc->key], &p->txt)) == 0) {
                        mp_put_str(&p->vals, (const char *)p->txt.p, p->txt.len);
                    }
                    defaulted[k->pos] = 1;
                } else if (!c->fields[k->pos].optional && !(k->pos == c->key && c->auto_key)) {
                    rc = err_set(GH_EMISSING,
                                 _("collection '%s': required field '%s' is missing: '%s' of a "
                                   "record of '%s' is empty; nothing was inserted"),
                                 c->name, store_field_label(c, k->pos),
                                 store_field_label(sc, k->src), sc->name);
                }
            } else if (k->any && !value_fits(v, vn, c->fields[k->pos].type)) {
                rc = err_set(GH_ETYPE,
                             _("collection '%s': field '%s' is %s and cannot take the value of "
                               "'%s' of a record of '%s'; nothing was inserted"),
                             c->name, store_field_label(c, k->pos),
                             store_type_name(c->fields[k->pos].type), store_field_label(sc, k->src),
                             sc->name);
            } else {
                codec_buf_add(&p->vals, v, vn);
            }
            len[k->pos] = p->vals.len - off[k->pos];
        }
        int64_t id = 0;
        int auto_pos = -1;
        if (rc == 0 && c->auto_key &&
            (prep->set[c->key] == 0 || (prep->set[c->key] == 2 && len[c->key] == 0))) {
            rc = store_next_id(t, c, &id);
            auto_pos = c->key;
        }
        if (rc || (rc = p->vals.oom ? GH_ENOMEM : 0)) {
            break;
        }
        lstore_prep_record(prep, c, p->vals.p, off, len, auto_pos, id, &db->buf);
        /* the payload and the new key before the insert: a change event's
         * handlers may write, and db->buf is every write's */
        {
            const unsigned char *nat[STORE_MAX_FIELDS], *nto[STORE_MAX_FIELDS];
            if ((rc = fields_of(db->buf.p, db->buf.len, nupto, nat, nto)) ||
                (rc = copy_field(nat[c->key], nto[c->key], &p->lastnew)) ||
                (p->publish && (rc = build_payload(p, nat, nto, defaulted)))) {
                break;
            }
        }
        if ((rc = lstore_insert_built(L, db, t, c))) {
            break;
        }
        if (p->publish) {
            db->publish_hook(L, db->bus_ud, p->topic, p->tn, p->pb.p, p->pb.len);
        }
        inserted++;
        if (limit > 0) {
            limit--;
        }
    }
    lscan_close(s);
    if (rc && rc != GH_ENOTFOUND) {
        if (rc == GH_EMAPFULL) {
            lstore_end(db, t, 0, rc); /* notes the full map for the unit's owner */
        }
        return lstore_raise(L, rc);
    }
    lua_pushinteger(L, inserted);
    mp_reader r;
    if (p->lastsrc.len) {
        mp_reader_init(&r, p->lastsrc.p, p->lastsrc.len);
        lcodec_push(L, &r, 1);
    } else {
        lua_pushnil(L);
    }
    if (inserted && p->lastnew.len) {
        mp_reader_init(&r, p->lastnew.p, p->lastnew.len);
        lcodec_push(L, &r, 1);
    } else {
        lua_pushnil(L);
    }
    return 3;
}

/* Could a record of this call be refused midway (so a savepoint must keep
 * the caller's transaction clean)? Target c at 1, spec at 2, source sc at 3. */
static int may_refuse(lua_State *L, const ldb *db, const store_coll *c, const store_coll *sc) {
    unsigned char named[STORE_MAX_FIELDS];
    int top = lua_gettop(L), may = c->events || (db->scope && c->scope);
    if (!may && lua_getfield(L, 2, "publish") != LUA_TNIL) { /* a handler may fail midway */
        may = lbus_listened(db->bus_ud);
    }
    memset(named, 0, sizeof named);
    for (int w = 0; w < 2 && !may; w++) { /* set, take */
        if (lua_getfield(L, 2, w ? "take" : "set") != LUA_TTABLE) {
            continue;
        }
        lua_pushnil(L);
        while (!may && lua_next(L, -2)) {
            int pos = lua_type(L, -2) == LUA_TSTRING ? field_pos(L, 1, -2) : -1;
            if (pos >= 0) {
                named[pos] = 1;
            }
            if (w && pos >= 0) { /* a taken value that may be missing or mistyped */
                int dflt = lua_istable(L, -1);
                if (dflt) {
                    lua_getfield(L, -1, "default");
                    lua_getfield(L, -2, "or_key");
                    dflt = !lua_isnil(L, -1) || !lua_isnil(L, -2);
                    lua_pop(L, 2);
                    lua_rawgeti(L, -1, 1);
                    lua_replace(L, -2);
                }
                int src = lua_type(L, -1) == LUA_TSTRING ? field_pos(L, 3, -1) : -1;
                may = (src < 0 && !(dflt && lua_isnil(L, -1))) ||
                      (src >= 0 && sc->fields[src].type == FT_ANY) ||
                      (src >= 0 && sc->fields[src].optional && !dflt && !c->fields[pos].optional);
            }
            lua_pop(L, 1);
        }
    }
    lua_settop(L, top);
    if (may || !c->auto_key || named[c->key]) {
        return 1;
    }
    for (int i = 0; i < c->nindexes; i++) {
        int all = c->indexes[i].unique;
        for (int j = 0; j < c->indexes[i].nfields && all; j++) {
            all = named[c->indexes[i].fields[j]];
        }
        if (all) {
            return 1;
        }
    }
    return 0;
}

int l_coll_insert_select(lua_State *L) {
    ldb *db = lstore_db(L);
    lstore_checkudata(L, 1, &lstore_coll_key, COLL_MT);
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 2);
    lua_pushnil(L);
    while (lua_next(L, 2)) {
        int ok = 0;
        for (int i = 0; sel_keys[i] && lua_type(L, -2) == LUA_TSTRING; i++) {
            ok = ok || strcmp(lua_tostring(L, -2), sel_keys[i]) == 0;
        }
        if (!ok) {
            lcodec_push_shown(L, -2);
            return luaL_error(L,
                              _("insert_select: unknown option %s (options: from, where, set, "
                                "take, publish, after, limit)"),
                              lua_tostring(L, -1));
        }
        lua_pop(L, 1);
    }
    lua_getfield(L, 2, "from"); /* 3 */
    if (!lstore_testudata(L, 3, &lstore_coll_key)) {
        return luaL_error(L,
                          _("insert_select: from = is the collection to read (db.<name>), got %s"),
                          luaL_typename(L, 3));
    }
    int sp = 1; /* outside a transaction: db.atomic makes the call a unit of its own */
    store_txn *t = lstore_write_txn(db);
    if (t) {
        const store_coll *c, *sc;
        int rc;
        if ((rc = lstore_resolve(L, 1, t, &c)) || (rc = lstore_resolve(L, 3, t, &sc))) {
            return lstore_raise(L, rc);
        }
        sp = may_refuse(L, db, c, sc);
    }
    int base = lua_gettop(L);
    if (sp) {
        lua_getfield(L, lua_upvalueindex(2), "atomic");
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushvalue(L, lua_upvalueindex(2));
    lua_pushcclosure(L, l_select_loop, 2);
    lua_pushvalue(L, 1);
    lua_pushvalue(L, 2);
    lua_pushvalue(L, 3);
    lua_call(L, sp ? 4 : 3, 3);
    return lua_gettop(L) - base;
}

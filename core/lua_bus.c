/*
 * lua_bus.c — the Lua face of the event bus: the `bus` global.
 *
 *   bus.publish(topic, payload) -> seq     durable: appended in the caller's transaction
 *   bus.emit(topic, payload)               in-process only: handlers, no log
 *   bus.on(pattern, fn) -> id              handlers called inside the publishing transaction
 *   bus.off(id)
 *   bus.consumer(name, pattern, fn [, {from = 'start'|'end'|seq}])
 *   bus.run(name [, {batch = 500, retries = 3, limit = n}]) -> handled, parked
 *   bus.replay(name, seq_or_time) -> cursor
 *   bus.events{ from = seq, topic = pattern, limit = n } -> list
 *   bus.last() -> seq
 *   bus.consumers() -> list       bus.dead([name]) -> list
 *   bus.retry(id)  bus.drop(id)   bus.trim() -> n
 *   bus.fields(topic, names)      the names of topic's array payloads (topic_fields.h)
 *
 * Built on bus.h and the shared helpers of lua_store.h (the db.atomic
 * transaction).
 *
 * Handlers (bus.on) live in this Lua state only. Dispatch goes through a
 * per-topic cache of the matching handlers, rebuilt when bus.on/off change
 * the list. A handler error is raised again with the topic and the
 * handler's source location, so db.atomic rolls back the event and every
 * write of the cascade. Cascades (handlers publishing) stop at
 * BUS_MAX_DEPTH.
 *
 * Consumers: bus.run processes the log after the consumer's cursor in
 * batches; each batch is one write transaction holding the handler's
 * writes (each event in a savepoint) and the new cursor, so a handler that
 * only writes to the database takes effect exactly once, crash or not.
 */
#include "lua_bus.h"

#include "bus.h"
#include "err.h"
#include "lua_codec.h"
#include "lua_store.h"
#include "parse.h"
#include "scope.h"
#include "topic_fields.h"

#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BUS_MAX_DEPTH 16
#define HANDLERS_KEY "gonghui.bus.handlers" /* { list = {...}, cache = {...}, consumers = {...} } */
#define RUN_ID_KEY "gonghui.run_id"

static const char *autorun_name;
static lbus_autorun *autorun_out;

void lbus_set_autorun(const char *name, lbus_autorun *out) {
    autorun_name = name;
    autorun_out = out;
}

typedef struct lbus {
    int depth;
    int nhandlers; /* handlers registered with bus.on and not removed */
    /* The run's id (the registry's RUN_ID_KEY, set through lbus_set_run), the
     * string held by this userdata's user value; NULL: none. A loop's publish
     * asked the registry for it every event (issue 18). */
    const char *run;
    size_t run_len;
    ldb *db; /* the state's db (upvalue 1 of the bus functions) */
    /* The topic bus.publish checked last: a loop publishes one topic, and
     * its check cost more than the rest of the call (issue 18). */
    size_t checked_n;
    char checked[BUS_MAX_TOPIC];
} lbus;

/* bus_topic_check, remembering the last topic that passed. */
static int topic_ok(lbus *b, const char *topic, size_t tn) {
    if (tn && tn == b->checked_n && memcmp(topic, b->checked, tn) == 0) {
        return 1;
    }
    if (bus_topic_check(topic, tn) != 0) {
        return 0;
    }
    memcpy(b->checked, topic, tn); /* tn <= BUS_MAX_TOPIC: checked */
    b->checked_n = tn;
    return 1;
}

/* upvalues of every bus function: 1 ldb, 2 lbus state */
static lbus *get_bus(lua_State *L) {
    return lua_touserdata(L, lua_upvalueindex(2));
}

static void push_state(lua_State *L) {
    lua_getfield(L, LUA_REGISTRYINDEX, HANDLERS_KEY);
}

/* The cache of matching handlers per topic (push_matching) is also kept in
 * the registry under this key, so emit finds it in one lookup. */
static const char cache_key = 'c';
/* bus.emit, the Lua function (emit_src below). */
static const char emit_key = 'e';
/* The registry's tables of emit's dispatch: levels[k + 1] is cascade level
 * k's table of dispatchers (made as needed), level_of[that table] = k,
 * makers[arities] the function that makes a dispatcher of handlers of
 * these arities (push_maker); the levels' metatable. */
static const char levels_key = 'l';
static const char level_of_key = 'k';
static const char makers_key = 'm';
static const char level_meta_key = 'M';

/* Sets a new, empty cache of matching handlers in the state table on top
 * (after bus.on/off; the handlers matching a topic change). */
static void new_cache(lua_State *L) {
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &cache_key);
    lua_setfield(L, -2, "cache");
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &levels_key) == LUA_TTABLE) { /* emit's, emptied */
        for (lua_Integer k = 1; lua_rawgeti(L, -1, k) == LUA_TTABLE; k++) {
            lua_pushnil(L);
            while (lua_next(L, -2)) {
                lua_pop(L, 1);
                lua_pushvalue(L, -1);
                lua_pushnil(L);
                lua_rawset(L, -4);
            }
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

/* The ldb of this state (kept in the bus state by lbus_push). */
static ldb *lstore_db_of_state(lua_State *L) {
    push_state(L);
    lua_getfield(L, -1, "db");
    ldb *db = lua_touserdata(L, -1);
    lua_pop(L, 2);
    return db;
}

/* ---- handlers -------------------------------------------------------------------------- */

static int l_bus_on(lua_State *L) {
    size_t pn;
    const char *pat = luaL_checklstring(L, 1, &pn);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    if (bus_pattern_check(pat, pn) != 0) {
        return luaL_error(L, _("bus.on: %s"), err_msg(GH_EINVAL));
    }
    lua_Debug ar;
    lua_pushvalue(L, 2);
    lua_getinfo(L, ">S", &ar);
    push_state(L);
    lua_getfield(L, -1, "list");
    lua_Integer id = (lua_Integer)lua_rawlen(L, -1) + 1;
    lua_createtable(L, 0, 3);
    lua_pushvalue(L, 1);
    lua_setfield(L, -2, "pattern");
    lua_pushvalue(L, 2);
    lua_setfield(L, -2, "fn");
    /* where the handler is, for messages: { label = ... } names it (plugins'
     * C handlers do: "plugin NAME"), else its file:line */
    if (lua_istable(L, 3) && lua_getfield(L, 3, "label") == LUA_TSTRING) {
        lua_setfield(L, -2, "where");
    } else {
        if (lua_istable(L, 3)) {
            lua_pop(L, 1);
        }
        if (ar.what[0] == 'C') {
            lua_pushliteral(L, "a C function");
        } else {
            lua_pushfstring(L, "%s:%d", ar.short_src, ar.linedefined);
        }
        lua_setfield(L, -2, "where");
    }
    if (lua_istable(L, 3)) { /* { batch = true }: the handler takes arrays */
        lua_getfield(L, 3, "batch");
        lua_setfield(L, -2, "batch");
    }
    lua_rawseti(L, -2, id);
    lua_pop(L, 1);
    new_cache(L);
    get_bus(L)->nhandlers++;
    lua_pushinteger(L, id);
    return 1;
}

static int l_bus_off(lua_State *L) {
    lua_Integer id = luaL_checkinteger(L, 1);
    push_state(L);
    lua_getfield(L, -1, "list");
    if (id < 1 || id > (lua_Integer)lua_rawlen(L, -1) || lua_rawgeti(L, -1, id) != LUA_TTABLE) {
        return luaL_error(L, _("bus.off: no handler %d (bus.on returns the id)"), (int)id);
    }
    lua_pop(L, 1);
    lua_pushboolean(L, 0); /* keep the ids of the others */
    lua_rawseti(L, -2, id);
    get_bus(L)->nhandlers--;
    lua_pop(L, 1);
    new_cache(L);
    return 0;
}

/* Pushes the array of handler records matching topic (cached per topic). */
static void push_matching(lua_State *L, const char *topic, size_t tn) {
    push_state(L);
    lua_getfield(L, -1, "cache");
    lua_pushlstring(L, topic, tn);
    if (lua_rawget(L, -2) == LUA_TTABLE) {
        lua_replace(L, -3);
        lua_pop(L, 1);
        return;
    }
    lua_pop(L, 1);
    lua_newtable(L); /* state cache out */
    lua_getfield(L, -3, "list");
    lua_Integer n = (lua_Integer)lua_rawlen(L, -1), k = 0;
    for (lua_Integer i = 1; i <= n; i++) {
        if (lua_rawgeti(L, -1, i) == LUA_TTABLE) {
            lua_getfield(L, -1, "pattern");
            size_t pn;
            const char *pat = lua_tolstring(L, -1, &pn);
            int hit = bus_match(pat, pn, topic, tn);
            lua_pop(L, 1);
            if (hit) {
                lua_rawseti(L, -3, ++k);
                continue;
            }
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1); /* state cache out */
    /* out[0]: the functions alone when none is a batch handler, for emit's
     * fast path (call_plain) */
    lua_createtable(L, (int)k, 0);
    for (lua_Integer i = 1; i <= k; i++) {
        lua_rawgeti(L, -2, i);
        int batch = lua_getfield(L, -1, "batch") != LUA_TNIL && lua_toboolean(L, -1);
        lua_pop(L, 1);
        if (batch) {
            lua_pop(L, 2);
            lua_pushnil(L);
            break;
        }
        lua_getfield(L, -1, "fn");
        lua_rawseti(L, -3, i);
        lua_pop(L, 1);
    }
    lua_rawseti(L, -2, 0);
    lua_pushlstring(L, topic, tn); /* state cache out topic */
    lua_pushvalue(L, -2);          /* state cache out topic out */
    lua_rawset(L, -4);             /* state cache out */
    lua_replace(L, -3);            /* out cache */
    lua_pop(L, 1);
}

/* The message at old_idx, raised by run.fail (the registry's LSTORE_FAIL_KEY:
 * a message for a person, no traceback), is replaced by the named one on top:
 * the named one is run.fail's now, so the runner shows it alone too. */
static void keep_fail(lua_State *L, int old_idx) {
    old_idx = lua_absindex(L, old_idx);
    if (lua_getfield(L, LUA_REGISTRYINDEX, LSTORE_FAIL_KEY) == LUA_TSTRING &&
        lua_rawequal(L, -1, old_idx)) {
        lua_pushvalue(L, -2);
        lua_setfield(L, LUA_REGISTRYINDEX, LSTORE_FAIL_KEY);
    }
    lua_pop(L, 1);
}

/* The level of the script's frame for a message raised by the C functions
 * of emit's dispatch and the C emit: emit's own Lua line calls them (a topic
 * without a dispatcher), so there the place is its caller's. */
static int emit_caller_level(lua_State *L) {
    lua_Debug ar;
    int level = 1;
    if (lua_getstack(L, 1, &ar) && lua_getinfo(L, "f", &ar)) {
        lua_rawgetp(L, LUA_REGISTRYINDEX, &emit_key);
        level += lua_rawequal(L, -1, -2);
        lua_pop(L, 2);
    }
    return level;
}

/* Raises the error on top (a handler's, whose record is just below) with
 * the topic and the handler's location; an error that already says which
 * handler failed (from deeper in a cascade) goes on as it is. */
static void raise_handler_error(lua_State *L, const char *topic) {
    const char *msg = lua_tostring(L, -1);
    if (lua_type(L, -1) != LUA_TSTRING || strstr(msg, "bus handler for '") ||
        strstr(msg, "event cascade deeper")) {
        lua_error(L);
    }
    lua_getfield(L, -2, "where");
    luaL_where(L, emit_caller_level(L)); /* the place of the call */
    lua_pushfstring(L, _("bus handler for '%s' (%s) failed: %s"), topic, lua_tostring(L, -2), msg);
    lua_concat(L, 2);
    keep_fail(L, -3); /* (msg, where, the named message) */
    lua_error(L);
}

/* Calls every handler matching the event's topic with the event table at
 * ev_idx. Raises (holding nothing) when one fails. */
static void dispatch(lua_State *L, lbus *b, const char *topic, size_t tn, int ev_idx) {
    ev_idx = lua_absindex(L, ev_idx);
    push_matching(L, topic, tn);
    lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
    if (n == 0) {
        lua_pop(L, 1);
        return;
    }
    if (b->depth >= BUS_MAX_DEPTH) {
        luaL_error(L,
                   _("event cascade deeper than %d levels at '%s': handlers keep publishing "
                     "events that call handlers; stopped, and the transaction is rolled back"),
                   BUS_MAX_DEPTH, topic);
    }
    b->depth++;
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, -1, i);
        lua_getfield(L, -1, "fn");
        if (lua_getfield(L, -2, "batch") != LUA_TNIL && lua_toboolean(L, -1)) {
            lua_pop(L, 1);
            lua_createtable(L, 1, 0); /* a batch handler: an array of one */
            lua_pushvalue(L, ev_idx);
            lua_rawseti(L, -2, 1);
        } else {
            lua_pop(L, 1);
            lua_pushvalue(L, ev_idx);
        }
        if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
            b->depth--;
            raise_handler_error(L, topic);
        }
        lua_pop(L, 1);
    }
    b->depth--;
    lua_pop(L, 1);
}

/* Pushes the event table handlers and consumers receive. The payload is
 * the value at payload_idx if given (> 0), else decoded from ev->payload. */

/* A scoped request (serve) publishes only events naming a union or member of
 * its account's part of the tree (scope.h); else pb is freed and the call
 * raises. */
static void check_scope(lua_State *L, const ldb *db, const char *topic, size_t tn, codec_buf *pb) {
    if (db->scope && !scope_event_writable(lstore_write_txn(db), db->scope, topic, tn,
                                           pb->p ? (void *)pb->p : "", pb->len)) {
        codec_buf_free(pb);
        scope_refused = 1;
        luaL_error(L,
                   _("bus.publish('%s'): the event names no union_id or member_id of this "
                     "account's scope (union %lld %s and the unions under it); nothing was "
                     "published"),
                   topic, (long long)db->scope->root, db->scope->name);
    }
}
static int push_event(lua_State *L, const bus_event *ev, int payload_idx) {
    lua_createtable(L, 0, 6);
    lua_pushinteger(L, ev->seq);
    lua_setfield(L, -2, "seq");
    lua_pushlstring(L, ev->topic, ev->topic_len);
    lua_setfield(L, -2, "topic");
    lua_pushinteger(L, ev->time);
    lua_setfield(L, -2, "time");
    if (payload_idx > 0) {
        lua_pushvalue(L, payload_idx);
    } else if (ev->payload_len) {
        mp_reader r;
        mp_reader_init(&r, ev->payload, ev->payload_len);
        if (lcodec_push(L, &r, CODEC_MAX_DEPTH) != 0) {
            lua_pop(L, 1);
            return GH_ECORRUPT;
        }
    } else {
        lua_pushnil(L);
    }
    lua_setfield(L, -2, "payload");
    if (ev->run) {
        lua_pushlstring(L, ev->run, ev->run_len);
        lua_setfield(L, -2, "run");
    }
    if (ev->origin) {
        lua_pushlstring(L, ev->origin, ev->origin_len);
    } else {
        char here[33];
        bus_origin_hex(lstore_db_of_state(L)->s, here);
        lua_pushstring(L, here);
    }
    lua_setfield(L, -2, "origin");
    return 0;
}

/* ---- publishing ------------------------------------------------------------------------- */

/* Keeps the string at idx (or none, when it is not a non-empty string) as
 * the run's id of bus b, its userdata at b_idx. */
static void keep_run(lua_State *L, lbus *b, int b_idx, int idx) {
    idx = lua_absindex(L, idx);
    if (lua_type(L, idx) == LUA_TSTRING && lua_rawlen(L, idx)) {
        b->run = lua_tolstring(L, idx, &b->run_len);
        lua_pushvalue(L, idx);
    } else {
        b->run = NULL;
        b->run_len = 0;
        lua_pushnil(L);
    }
    lua_setiuservalue(L, b_idx, 1);
}

void lbus_set_run(lua_State *L, const char *uid) {
    int top = lua_gettop(L);
    lua_pushstring(L, uid);
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, RUN_ID_KEY);
    if (lua_getfield(L, LUA_REGISTRYINDEX, HANDLERS_KEY) == LUA_TTABLE &&
        lua_getfield(L, -1, "bus") == LUA_TUSERDATA) {
        keep_run(L, lua_touserdata(L, -1), lua_gettop(L), top + 1);
    }
    lua_settop(L, top);
}

/* Appends the event (payload at payload_idx) in the write transaction and calls the
 * handlers; raises (holding nothing) on any error. Returns the sequence. */
static int64_t publish_in(lua_State *L, ldb *db, lbus *b, const char *topic, size_t tn,
                          int payload_idx, int encoded) {
    codec_buf pb;
    unsigned char mem[512];
    payload_idx = lua_absindex(L, payload_idx);
    codec_buf_init_on(&pb, mem, sizeof mem);
    int rc = 0;
    if (encoded) { /* a string of MessagePack bytes (change_hook), kept on the stack */
        size_t n;
        const char *p = lua_tolstring(L, payload_idx, &n);
        codec_buf_init_on(&pb, (void *)p, n);
        pb.len = n;
    } else {
        rc = lcodec_encode(L, payload_idx, &pb, CODEC_MAX_DEPTH - 1);
    }
    if (rc) {
        codec_buf_free(&pb);
        luaL_error(L, _("bus.publish('%s'): the payload cannot be stored: %s"), topic, err_msg(rc));
    }
    check_scope(L, db, topic, tn, &pb);
    size_t run_len = b->run_len;
    const char *run = b->run;         /* held by the bus */
    int64_t seq, time = bus_now_ms(); /* the same time in the log and in ev.time */
    rc = bus_append(lstore_write_txn(db), topic, tn, pb.p, pb.len, run, time, &seq);
    codec_buf_free(&pb);
    if (rc) {
        lstore_end(db, lstore_write_txn(db), 0, rc); /* notes a full map */
        lstore_raise(L, rc);
    }
    bus_event ev = {.seq = seq, .time = time, .topic = topic, .topic_len = tn};
    if (run) {
        ev.run = run;
        ev.run_len = run_len;
    }
    if (encoded) { /* handlers get the payload decoded from its bytes */
        ev.payload = lua_tolstring(L, payload_idx, &ev.payload_len);
        payload_idx = 0;
    }
    int any = 0;
    if (b->nhandlers) {
        push_matching(L, topic, tn);
        any = lua_rawlen(L, -1) > 0;
        lua_pop(L, 1);
    }
    if (any) { /* the event table only when someone listens */
        push_event(L, &ev, payload_idx);
        dispatch(L, b, topic, tn, -1);
        lua_pop(L, 1);
    }
    return seq;
}

/* bus.publish_many(topic, payloads) -> first, last sequence numbers: one
 * event per item, in one transaction; handlers are called per event, batch
 * handlers once with the array of events. */
static int l_bus_publish_many(lua_State *L) {
    ldb *db = lstore_db(L);
    lbus *b = get_bus(L);
    size_t tn;
    luaL_checktype(L, 1, LUA_TSTRING);
    luaL_checktype(L, 2, LUA_TTABLE);
    const char *topic = lua_tolstring(L, 1, &tn);
    lua_settop(L, 2);
    if (bus_topic_check(topic, tn) != 0) {
        return luaL_error(L, _("bus.publish_many: %s"), err_msg(GH_EINVAL));
    }
    if (!lstore_write_txn(db)) { /* db.atomic(bus.publish_many, topic, payloads) */
        lua_getfield(L, lua_upvalueindex(3), "atomic");
        lua_pushvalue(L, lua_upvalueindex(4));
        lua_pushvalue(L, 1);
        lua_pushvalue(L, 2);
        lua_call(L, 3, 2);
        return 2;
    }
    lua_Integer n = (lua_Integer)lua_rawlen(L, 2);
    /* every payload is checked before anything is written */
    codec_buf pb;
    size_t *ends = n ? malloc((size_t)n * sizeof *ends) : NULL;
    codec_buf_init(&pb);
    int rc = n && !ends ? GH_ENOMEM : 0;
    for (lua_Integer i = 1; rc == 0 && i <= n; i++) {
        lua_rawgeti(L, 2, i);
        rc = lcodec_encode(L, -1, &pb, CODEC_MAX_DEPTH - 1);
        lua_pop(L, 1);
        ends[i - 1] = pb.len;
        if (rc) {
            err_prefix(_("bus.publish_many('%s'): payload %lld cannot be stored"), topic,
                       (long long)i);
        }
    }
    check_scope(L, db, topic, tn, &pb);
    size_t run_len = b->run_len;
    const char *run = b->run; /* held by the bus */
    int64_t first = 0, seq = 0, time = bus_now_ms();
    for (lua_Integer i = 0; rc == 0 && i < n; i++) {
        size_t from = i ? ends[i - 1] : 0;
        rc = bus_append(lstore_write_txn(db), topic, tn, pb.p + from, ends[i] - from, run, time,
                        &seq);
        if (i == 0) {
            first = seq;
        }
    }
    free(ends);
    codec_buf_free(&pb);
    if (rc) {
        lstore_end(db, lstore_write_txn(db), 0, rc);
        return lstore_raise(L, rc);
    }
    if (b->nhandlers && n) {
        push_matching(L, topic, tn); /* 3 */
        lua_Integer nh = (lua_Integer)lua_rawlen(L, 3);
        if (nh) {                          /* the events, then each handler */
            lua_createtable(L, (int)n, 0); /* 4 */
            for (lua_Integer i = 1; i <= n; i++) {
                bus_event ev = {
                    .seq = first + i - 1, .time = time, .topic = topic, .topic_len = tn};
                if (run) {
                    ev.run = run;
                    ev.run_len = run_len;
                }
                lua_rawgeti(L, 2, i);
                push_event(L, &ev, lua_gettop(L));
                lua_remove(L, -2);
                lua_rawseti(L, 4, i);
            }
            if (b->depth >= BUS_MAX_DEPTH) {
                return luaL_error(L, _("event cascade deeper than %d levels at '%s'"),
                                  BUS_MAX_DEPTH, topic);
            }
            b->depth++;
            for (lua_Integer h = 1; h <= nh; h++) {
                lua_rawgeti(L, 3, h);
                lua_getfield(L, -1, "fn");
                int batch = lua_getfield(L, -2, "batch") != LUA_TNIL && lua_toboolean(L, -1);
                lua_pop(L, 1);
                int fn = lua_gettop(L);
                for (lua_Integer k = 1; k <= (batch ? 1 : n); k++) {
                    lua_pushvalue(L, fn);
                    if (batch) {
                        lua_pushvalue(L, 4);
                    } else {
                        lua_rawgeti(L, 4, k);
                    }
                    if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
                        b->depth--;
                        lua_remove(L, fn);
                        raise_handler_error(L, topic);
                    }
                }
                lua_pop(L, 2);
            }
            b->depth--;
        }
    }
    lua_pushinteger(L, first);
    lua_pushinteger(L, seq);
    return 2;
}

/* The change hook of collections with events = true (see lua_store.h). */
static void change_hook(lua_State *L, const char *topic, size_t tn, int payload_idx) {
    push_state(L);
    lua_getfield(L, -1, "bus");
    lbus *b = lua_touserdata(L, -1);
    lua_pop(L, 2);
    publish_in(L, lstore_db_of_state(L), b, topic, tn, payload_idx, 1);
}

/* Whether a handler registered with bus.on may run on a publish (lua_bus.h). */
int lbus_listened(const void *bus_ud) {
    return bus_ud && ((const lbus *)bus_ud)->nhandlers > 0;
}

/* The publish hook of C writers (lua_store.h): with no scope to check and
 * no handler registered, the event is appended as it is; else as bus.publish
 * of the encoded payload. */
static void publish_bytes(lua_State *L, void *bus_ud, const char *topic, size_t tn, const void *p,
                          size_t n) {
    lbus *b = bus_ud;
    ldb *db = b->db; /* not the registry's: two lookups by name an event (issue 18, W2) */
    if (!db->scope && !b->nhandlers) {
        int64_t seq;
        int rc = bus_append(lstore_write_txn(db), topic, tn, p, n, b->run, bus_now_ms(), &seq);
        if (rc) {
            lstore_end(db, lstore_write_txn(db), 0, rc); /* notes a full map */
            lstore_raise(L, rc);
        }
        return;
    }
    lua_pushlstring(L, n ? (const char *)p : "", n);
    publish_in(L, db, b, topic, tn, lua_gettop(L), 1);
    lua_pop(L, 1);
}

static int l_bus_publish(lua_State *L) {
    lbus *b = get_bus(L);
    ldb *db = b->db;
    size_t tn;
    luaL_checktype(L, 1, LUA_TSTRING); /* a number is not a topic */
    const char *topic = lua_tolstring(L, 1, &tn);
    lua_settop(L, 2);
    if (!topic_ok(b, topic, tn)) {
        return luaL_error(L, _("bus.publish: %s"), err_msg(GH_EINVAL));
    }
    if (!lstore_write_txn(db)) { /* its own transaction: db.atomic(bus.publish, topic, payload) */
        lua_getfield(L, lua_upvalueindex(3), "atomic");
        lua_pushvalue(L, lua_upvalueindex(4)); /* this function */
        lua_pushvalue(L, 1);
        lua_pushvalue(L, 2);
        lua_call(L, 3, 1);
        return 1;
    }
    int64_t seq = publish_in(L, db, b, topic, tn, 2, 0);
    lua_pushinteger(L, seq);
    return 1;
}

/* ---- bus.emit: the dispatch in Lua ------------------------------------------------------ */

/* bus.emit is a Lua function, and each topic has a dispatcher compiled for
 * it: a Lua function with the topic's handlers as upvalues, calling them one
 * after the other with no loop and no protected call (a pcall cost more than
 * three small handlers, and a loop over an array more than the bus's own
 * work; issue 18, W5). emit is one line,
 *
 *   return cur[topic](payload, topic)
 *
 * where `cur` is the table of dispatchers of the current cascade level: a
 * dispatcher of level k sets `cur` to level k + 1's table while its handlers
 * run and back to its own after, so an emit inside a handler finds the next
 * level's dispatchers. That is the cascade count, two writes an event; there
 * is no number to compare. What the protected call gave is kept:
 * - the failing handler is named at the moment of the error: the message
 *   handler of every protected call a script's error goes through (the
 *   runner's lstore_traceback, db.atomic's, the sandbox's pcall and xpcall)
 *   calls lbus_name_error, which finds the innermost dispatcher on the stack
 *   and, from the line it is at, the handler it is calling;
 * - the cascade limit: level BUS_MAX_DEPTH's table is always empty; its
 *   miss counts the dispatchers really on the stack (an error that unwound
 *   through one left `cur` a level up) and refuses past the limit, or goes
 *   on at the level counted.
 * A table's miss (l_bus_miss, its __index) makes the topic's dispatcher
 * for that level, or returns the C emit below (l_bus_emit_slow) for a bad
 * topic, no handler registered at all, or batch handlers. bus.on/off empty
 * every level's table (new_cache). emit_many is C. */
#define STR_(x) #x
#define STR(x) STR_(x)
static const char emit_src[] = "local cur = ...\n"
                               "return function(topic, payload)\n"
                               "  return cur[topic](payload, topic)\n"
                               "end\n";
/* A dispatcher starts on this line of its chunk (named "=bus.emit" like
 * emit's); handler i is called on line DISPATCH_LINE + i. */
#define DISPATCH_LINE 3
/* Topics with more handlers than this get a dispatcher with a loop. */
#define UNROLL_MAX 12

/* How far up the stack the cascade's count and lbus_name_error look for
 * dispatchers: each step (lua_getstack) walks the stack from the top, and a
 * runaway recursion's "stack overflow" comes with 200,000 levels. */
#define SEARCH_LEVELS 1000

/* Whether the function of frame ar is a dispatcher (lua_getinfo "S" done). */
static int is_dispatcher(const lua_Debug *ar) {
    return ar->linedefined == DISPATCH_LINE && strcmp(ar->source, "=bus.emit") == 0;
}

/* Pushes level k's table of dispatchers, made when missing. */
static void push_level(lua_State *L, int k) {
    lua_rawgetp(L, LUA_REGISTRYINDEX, &levels_key);
    if (lua_rawgeti(L, -1, k + 1) == LUA_TTABLE) {
        lua_remove(L, -2);
        return;
    }
    lua_pop(L, 1);
    lua_newtable(L); /* levels t */
    lua_rawgetp(L, LUA_REGISTRYINDEX, &level_meta_key);
    lua_setmetatable(L, -2);
    lua_pushvalue(L, -1);
    lua_rawseti(L, -3, k + 1);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &level_of_key);
    lua_pushvalue(L, -2);
    lua_pushinteger(L, k);
    lua_rawset(L, -3);
    lua_pop(L, 1);
    lua_remove(L, -2);
}

/* Sets emit's `cur` (its upvalue 1) to level k's table. */
static void set_level(lua_State *L, int k) {
    lua_rawgetp(L, LUA_REGISTRYINDEX, &emit_key);
    push_level(L, k);
    lua_setupvalue(L, -2, 1);
    lua_pop(L, 1);
}

/* Pushes the maker of dispatchers for handlers of these arities (compiled
 * once for each string of them):
 *   local cur
 *   return function(me, nxt, h1, ..., hn)
 *     return function(payload, topic) cur = nxt
 *       h1(payload, topic)
 *       ...
 *       cur = me
 *     end
 *   end
 * its `cur` joined to emit's. arity[i - 1] says what handler i is given:
 * '2' (payload, topic), '1' (payload) for a Lua function of one parameter,
 * '0' nothing for one of none (the arguments it would not see cost a move
 * each). arity NULL: the handlers are one array `fns`, called in a loop. */
static void push_maker(lua_State *L, const char *arity) {
    lua_rawgetp(L, LUA_REGISTRYINDEX, &makers_key);
    if (lua_getfield(L, -1, arity ? arity : "loop") == LUA_TFUNCTION) {
        lua_remove(L, -2);
        return;
    }
    lua_pop(L, 1);
    int n = arity ? (int)strlen(arity) : 0;
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addstring(&b, "local cur\nreturn function(me, nxt");
    if (!arity) {
        luaL_addstring(&b, ", fns");
    }
    for (int i = 1; i <= n; i++) {
        lua_pushfstring(L, ", h%d", i);
        luaL_addvalue(&b);
    }
    luaL_addstring(&b, ")\n  return function(payload, topic) cur = nxt\n");
    if (!arity) {
        luaL_addstring(&b, "    for j = 1, #fns do fns[j](payload, topic) end\n");
    }
    static const char *const args[] = {"", "payload", "payload, topic"};
    for (int i = 1; i <= n; i++) {
        lua_pushfstring(L, "    h%d(%s)\n", i, args[arity[i - 1] - '0']);
        luaL_addvalue(&b);
    }
    luaL_addstring(&b, "    cur = me\n  end\nend\n");
    luaL_pushresult(&b);
    size_t len;
    const char *src = lua_tolstring(L, -1, &len);
    if (luaL_loadbufferx(L, src, len, "=bus.emit", "t") != LUA_OK) {
        lua_error(L); /* these lines compile: only memory can fail */
    }
    lua_remove(L, -2);
    lua_call(L, 0, 1); /* makers maker */
    lua_rawgetp(L, LUA_REGISTRYINDEX, &emit_key);
    lua_upvaluejoin(L, -2, 1, -1, 1); /* one `cur` for emit and every dispatcher */
    lua_pop(L, 1);
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, arity ? arity : "loop");
    lua_remove(L, -2);
}

/* cascade(payload, topic): emit at the last level (BUS_MAX_DEPTH, whose
 * table stays empty). Counts the dispatchers on the stack: at the limit the
 * cascade is refused, else (errors left `cur` high) the count is the level
 * to go on at. */
static int l_bus_cascade(lua_State *L) {
    lua_settop(L, 2);
    lua_Debug ar;
    int n = 0;
    for (int level = 1; level <= SEARCH_LEVELS && lua_getstack(L, level, &ar); level++) {
        lua_getinfo(L, "S", &ar);
        n += is_dispatcher(&ar);
    }
    if (n >= BUS_MAX_DEPTH) {
        luaL_where(L, emit_caller_level(L));
        lua_pushfstring(L, _("event cascade deeper than %d levels at '%s'"), BUS_MAX_DEPTH,
                        lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : "?");
        lua_concat(L, 2);
        return lua_error(L);
    }
    set_level(L, n);
    push_level(L, n);
    lua_pushvalue(L, 2);
    lua_gettable(L, -2); /* the dispatcher (or the C emit) */
    lua_pushvalue(L, 1);
    lua_pushvalue(L, 2);
    lua_call(L, 2, 0);
    return 0;
}

/* Where handler fn (at idx) is, for messages: its bus.on record's (a label,
 * or its file:line), else as bus.on says it. Pushes a string. */
static void push_where(lua_State *L, const char *topic, size_t tn, int fn) {
    push_matching(L, topic, tn);
    lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, -1, i);
        lua_getfield(L, -1, "fn");
        if (lua_rawequal(L, -1, fn) && lua_getfield(L, -2, "where") == LUA_TSTRING) {
            lua_replace(L, -4);
            lua_pop(L, 2);
            return;
        }
        lua_pop(L, 2);
    }
    lua_pop(L, 1);
    lua_Debug ar;
    lua_pushvalue(L, fn);
    lua_getinfo(L, ">S", &ar);
    if (ar.what[0] == 'C') {
        lua_pushliteral(L, "a C function");
    } else {
        lua_pushfstring(L, "%s:%d", ar.short_src, ar.linedefined);
    }
}

/* The C functions that catch errors with a message handler calling
 * lbus_name_error (pcall, xpcall, db.atomic): that handler runs for the
 * innermost of them, so a dispatcher further out than its frame is not the
 * one the error leaves. */
static lua_CFunction catchers[8];
static int ncatchers;

void lbus_catcher(lua_CFunction f) {
    for (int i = 0; i < ncatchers; i++) {
        if (catchers[i] == f) {
            return;
        }
    }
    if (ncatchers < (int)(sizeof catchers / sizeof *catchers)) {
        catchers[ncatchers++] = f;
    }
}

/* Pushes the function of the dispatcher frame ar is calling (its line
 * says which handler; a loop dispatcher's `j`), or returns 0. */
static int push_running_handler(lua_State *L, lua_Debug *ar, int dispatcher) {
    const char *name;
    for (int i = 1; (name = lua_getlocal(L, ar, i)) != NULL; i++) {
        int j = strcmp(name, "j") == 0 ? (int)lua_tointeger(L, -1) : 0;
        lua_pop(L, 1);
        if (j > 0) { /* the loop dispatcher: fns[j] */
            for (int u = 1; (name = lua_getupvalue(L, dispatcher, u)) != NULL; u++) {
                if (strcmp(name, "fns") == 0 && lua_istable(L, -1)) {
                    lua_rawgeti(L, -1, j);
                    lua_remove(L, -2);
                    return 1;
                }
                lua_pop(L, 1);
            }
            return 0;
        }
    }
    char want[16];
    snprintf(want, sizeof want, "h%d", ar->currentline - ar->linedefined);
    for (int u = 1; (name = lua_getupvalue(L, dispatcher, u)) != NULL; u++) {
        if (strcmp(name, want) == 0) {
            return 1;
        }
        lua_pop(L, 1);
    }
    return 0; /* not at a handler's line (setting `cur`) */
}

void lbus_name_error(lua_State *L, int idx) {
    idx = lua_absindex(L, idx);
    if (lua_type(L, idx) != LUA_TSTRING) {
        return; /* an error value that is not a message goes on as it is */
    }
    const char *msg = lua_tostring(L, idx);
    if (strstr(msg, "bus handler for '") || strstr(msg, "event cascade deeper")) {
        return; /* named already (deeper in a cascade), or the bus's own */
    }
    int top = lua_gettop(L);
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &emit_key) != LUA_TFUNCTION) {
        lua_settop(L, top);
        return;
    }
    lua_getupvalue(L, -1, 1);
    push_level(L, 0);
    int idle = lua_rawequal(L, -1, -2);
    lua_settop(L, top);
    if (idle) { /* no dispatcher is running (`cur` is never below the truth) */
        return;
    }
    lua_Debug ar;
    int level = 0, found = 0, stop = 0;
    for (; !found && !stop && level <= SEARCH_LEVELS && lua_getstack(L, level, &ar); level++) {
        lua_getinfo(L, "Slf", &ar);
        found = is_dispatcher(&ar);
        lua_CFunction f = lua_tocfunction(L, -1);
        for (int i = 0; f && i < ncatchers; i++) {
            stop |= f == catchers[i];
        }
        if (!found) {
            lua_pop(L, 1);
        }
    }
    if (!found) {
        lua_settop(L, top);
        return;
    }
    int dispatcher = lua_gettop(L);
    const char *name = lua_getlocal(L, &ar, 2); /* (payload, topic) */
    if (!name || strcmp(name, "topic") != 0 || lua_type(L, -1) != LUA_TSTRING ||
        !push_running_handler(L, &ar, dispatcher)) {
        lua_settop(L, top);
        return;
    }
    size_t tn;
    const char *t = lua_tolstring(L, -2, &tn);
    push_where(L, t, tn, lua_gettop(L));
    /* where emit was called (emit tail-calls the dispatcher), as the C emit's
     * message says; past the cascade's count when it called the dispatcher */
    lua_Debug up;
    if (lua_getstack(L, level, &up) && lua_getinfo(L, "f", &up)) {
        level += lua_tocfunction(L, -1) == l_bus_cascade;
        lua_pop(L, 1);
        lua_rawgetp(L, LUA_REGISTRYINDEX, &emit_key);
        if (lua_getstack(L, level, &up) && lua_getinfo(L, "f", &up)) {
            level += lua_rawequal(L, -1, -2);
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
    luaL_where(L, level);
    lua_pushfstring(L, _("bus handler for '%s' (%s) failed: %s"), t, lua_tostring(L, -2), msg);
    lua_concat(L, 2);
    keep_fail(L, idx);
    lua_replace(L, idx);
    lua_settop(L, top);
}

/* Calls the functions fns (1) with (payload (2), topic (3)) one after the
 * other, noting in *at (4, light userdata) the one running: emit runs them
 * all in one protected call, where a pcall each cost more than a small
 * handler itself (issue 18, W5). */
static int call_plain(lua_State *L) {
    int *at = lua_touserdata(L, 4);
    lua_Integer n = (lua_Integer)lua_rawlen(L, 1);
    for (lua_Integer i = 1; i <= n; i++) {
        *at = (int)i;
        lua_rawgeti(L, 1, i);
        lua_pushvalue(L, 2);
        lua_pushvalue(L, 3);
        lua_call(L, 2, 0);
    }
    return 0;
}

/* Calls the handlers of `topic` (in-process, nothing stored) with the
 * payloads: the value at idx (many == 0), or each item of the array at idx
 * (many == 1). A batch handler gets the array (or an array of the one). */
static int emit(lua_State *L, const char *what, int many) {
    lbus *b = get_bus(L);
    size_t tn;
    luaL_checktype(L, 1, LUA_TSTRING); /* a number is not a topic */
    const char *topic = lua_tolstring(L, 1, &tn);
    lua_settop(L, 2);
    if (many) {
        luaL_checktype(L, 2, LUA_TTABLE);
    }
    /* a topic in the cache was checked when it was put there */
    lua_rawgetp(L, LUA_REGISTRYINDEX, &cache_key);
    lua_pushvalue(L, 1);
    if (lua_rawget(L, -2) == LUA_TTABLE) {
        lua_replace(L, 3); /* 3 */
    } else {
        lua_settop(L, 2);
        if (bus_topic_check(topic, tn) != 0) {
            return luaL_error(L, "%s: %s", what, err_msg(GH_EINVAL));
        }
        if (!b->nhandlers) {
            return 0;
        }
        push_matching(L, topic, tn); /* 3 */
    }
    lua_settop(L, 3);
    lua_Integer n = (lua_Integer)lua_rawlen(L, 3);
    if (n == 0) {
        return 0;
    }
    if (b->depth >= BUS_MAX_DEPTH) {
        return luaL_error(L, _("event cascade deeper than %d levels at '%s'"), BUS_MAX_DEPTH,
                          topic);
    }
    if (!many && lua_rawgeti(L, 3, 0) == LUA_TTABLE) { /* no batch handler among them */
        int at = 0;
        b->depth++;
        lua_pushcfunction(L, call_plain);
        lua_pushvalue(L, 4);
        lua_pushvalue(L, 2);
        lua_pushvalue(L, 1);
        lua_pushlightuserdata(L, &at);
        if (lua_pcall(L, 4, 0, 0) != LUA_OK) {
            b->depth--;
            lua_rawgeti(L, 3, at); /* the handler record just below the error */
            lua_insert(L, -2);
            raise_handler_error(L, topic);
        }
        b->depth--;
        return 0;
    }
    lua_settop(L, 3);
    lua_Integer items = many ? (lua_Integer)lua_rawlen(L, 2) : 1;
    b->depth++;
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, 3, i); /* the handler record */
        lua_getfield(L, -1, "fn");
        int batch = lua_getfield(L, -2, "batch") != LUA_TNIL && lua_toboolean(L, -1);
        lua_pop(L, 1);
        int fn = lua_gettop(L);
        for (lua_Integer k = 1; k <= (batch ? 1 : items); k++) {
            lua_pushvalue(L, fn);
            if (batch && many) {
                lua_pushvalue(L, 2);
            } else if (batch) {
                lua_createtable(L, 1, 0);
                lua_pushvalue(L, 2);
                lua_rawseti(L, -2, 1);
            } else if (many) {
                lua_rawgeti(L, 2, k);
            } else {
                lua_pushvalue(L, 2);
            }
            lua_pushvalue(L, 1);
            if (lua_pcall(L, 2, 0, 0) != LUA_OK) {
                b->depth--;
                lua_remove(L, fn); /* the handler record just below the error */
                raise_handler_error(L, topic);
            }
        }
        lua_pop(L, 2);
    }
    b->depth--;
    return 0;
}

/* emit_slow(payload, topic): the C emit, for what has no dispatcher (a bad
 * topic, no handler registered, batch handlers). */
static int l_bus_emit_slow(lua_State *L) {
    lua_settop(L, 2);
    lua_insert(L, 1); /* (topic, payload) */
    size_t tn = 0;
    const char *topic = lua_type(L, 1) == LUA_TSTRING ? lua_tolstring(L, 1, &tn) : NULL;
    if (!topic || bus_topic_check(topic, tn) != 0) {
        luaL_where(L, emit_caller_level(L));
        if (lua_type(L, 1) != LUA_TSTRING) {
            lua_pushfstring(L, _("bus.emit: the topic must be a string, not %s"),
                            luaL_typename(L, 1));
        } else {
            lua_pushfstring(L, "%s: %s", "bus.emit", err_msg(GH_EINVAL));
        }
        lua_concat(L, 2);
        return lua_error(L);
    }
    return emit(L, "bus.emit", 0);
}

/* The __index of the levels' tables: miss(t, topic) -> the function emit
 * calls with (payload, topic). Makes and keeps the topic's dispatcher for
 * t's level when its handlers are all plain functions; else the C emit
 * (upvalue 3), or at the last level the cascade's count (upvalue 4). */
static int l_bus_miss(lua_State *L) {
    lbus *b = get_bus(L);
    lua_settop(L, 2);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &level_of_key);
    lua_pushvalue(L, 1);
    lua_rawget(L, -2);
    int k = (int)lua_tointeger(L, -1);
    lua_settop(L, 2);
    if (k >= BUS_MAX_DEPTH) {
        lua_pushvalue(L, lua_upvalueindex(4));
        return 1;
    }
    size_t tn = 0;
    const char *topic = lua_type(L, 2) == LUA_TSTRING ? lua_tolstring(L, 2, &tn) : NULL;
    if (!topic || !b->nhandlers || bus_topic_check(topic, tn) != 0) {
        lua_pushvalue(L, lua_upvalueindex(3));
        return 1;
    }
    push_matching(L, topic, tn);              /* 3 */
    if (lua_rawgeti(L, 3, 0) != LUA_TTABLE) { /* 4: the functions, when none is batch */
        lua_pushvalue(L, lua_upvalueindex(3));
        return 1;
    }
    int n = (int)lua_rawlen(L, 4);
    char arity[UNROLL_MAX + 1];
    for (int i = 0; i < n && n <= UNROLL_MAX; i++) {
        lua_Debug ar;
        lua_rawgeti(L, 4, i + 1);
        lua_getinfo(L, ">u", &ar); /* a C function: 0 parameters and vararg */
        arity[i] = ar.isvararg || ar.nparams > 1 ? '2' : (char)('0' + ar.nparams);
    }
    arity[n <= UNROLL_MAX ? n : 0] = '\0';
    push_maker(L, n <= UNROLL_MAX ? arity : NULL);
    lua_pushvalue(L, 1);  /* me */
    push_level(L, k + 1); /* nxt */
    if (n > UNROLL_MAX) {
        lua_pushvalue(L, 4);
    } else {
        luaL_checkstack(L, n, NULL);
        for (int i = 1; i <= n; i++) {
            lua_rawgeti(L, 4, i);
        }
    }
    lua_call(L, n > UNROLL_MAX ? 3 : 2 + n, 1);
    lua_pushvalue(L, 2);
    lua_pushvalue(L, -2);
    lua_rawset(L, 1);
    return 1;
}

/* bus.emit_many(topic, payloads): bus.emit of each; batch handlers get them all at once. */
static int l_bus_emit_many(lua_State *L) {
    return emit(L, "bus.emit_many", 1);
}

/* ---- reading the log ------------------------------------------------------------------------ */

/* Runs fn in a read snapshot (the atomic one inside db.atomic). */
typedef int (*read_fn)(lua_State *L, store_txn *t, void *ctx);

static int with_read(lua_State *L, read_fn fn, void *ctx) {
    ldb *db = lstore_db(L);
    store_txn *t;
    int owned, rc = lstore_begin(db, 0, &t, &owned);
    if (rc == 0) {
        rc = fn(L, t, ctx);
        rc = lstore_end(db, t, owned, rc);
    }
    return rc;
}

typedef struct events_q {
    int64_t from, limit;
    const char *pattern;
    size_t pn;
    const scope *scope;
} events_q;

static int read_events(lua_State *L, store_txn *t, void *ctx) {
    events_q *q = ctx;
    store_scan *sc;
    const void *pk, *v;
    size_t pkn, n;
    int64_t got = 0;
    lua_newtable(L);
    int rc = bus_log_scan(t, q->from, &sc);
    if (rc == GH_ENOTFOUND) {
        err_clear();
        return 0;
    }
    if (rc) {
        return rc;
    }
    while ((q->limit < 0 || got < q->limit) && (rc = store_scan_next(sc, &pk, &pkn, &v, &n)) == 0) {
        bus_event ev;
        if ((rc = bus_event_decode(t, v, n, &ev))) {
            break;
        }
        if (q->pattern && !bus_match(q->pattern, q->pn, ev.topic, ev.topic_len)) {
            continue;
        }
        if (q->scope &&
            !scope_event_visible(t, q->scope, ev.topic, ev.topic_len, ev.payload, ev.payload_len)) {
            continue; /* a scoped request (gonghui serve) sees its union's events only */
        }
        if ((rc = push_event(L, &ev, 0))) {
            break;
        }
        lua_rawseti(L, -2, ++got);
    }
    store_scan_close(sc);
    return rc == GH_ENOTFOUND ? 0 : rc;
}

/* bus.events{ from = seq, topic = pattern, limit = n } -> array of events */
static int l_bus_events(lua_State *L) {
    events_q q = {.from = 1, .limit = -1, .scope = lstore_db(L)->scope};
    if (lua_istable(L, 1)) {
        lua_getfield(L, 1, "from");
        lua_getfield(L, 1, "limit");
        lua_getfield(L, 1, "topic");
        q.from = luaL_optinteger(L, -3, 1);
        q.limit = luaL_optinteger(L, -2, -1);
        q.pattern = luaL_optlstring(L, -1, NULL, &q.pn);
        if (q.pattern && bus_pattern_check(q.pattern, q.pn) != 0) {
            return luaL_error(L, _("bus.events: %s"), err_msg(GH_EINVAL));
        }
    }
    int rc = with_read(L, read_events, &q);
    return rc ? lstore_raise(L, rc) : 1;
}

static int read_last(lua_State *L, store_txn *t, void *ctx) {
    int64_t seq;
    (void)ctx;
    int rc = bus_last_seq(t, &seq);
    if (rc == 0) {
        lua_pushinteger(L, seq);
    }
    return rc;
}

/* bus.last() -> the last sequence number (0: nothing published yet) */
static int l_bus_last(lua_State *L) {
    int rc = with_read(L, read_last, NULL);
    return rc ? lstore_raise(L, rc) : 1;
}

/* ---- consumers ---------------------------------------------------------------------------- */

/* Runs fn in the db.atomic transaction, or as a unit of its own
 * (lstore_write: it may run again after the map grew). */
typedef int (*write_fn)(lua_State *L, store_txn *t, void *ctx);

typedef struct bus_write {
    lua_State *L;
    write_fn fn;
    void *ctx;
} bus_write;

static int bus_write_work(store_txn *t, void *ctx) {
    bus_write *w = ctx;
    return w->fn(w->L, t, w->ctx);
}

/* The refusal of a consumer's bookkeeping in a scoped request: consumers
 * see the whole log, not one union's part of it. */
static int refuse_scoped(const ldb *db, const char *what) {
    scope_refused = 1;
    return err_set(GH_EINVAL,
                   _("%s works on the event log of the whole federation; a request of an "
                     "account scoped to union %lld %s cannot use it"),
                   what, (long long)db->scope->root, db->scope->name);
}

static int with_write(lua_State *L, const char *what, write_fn fn, void *ctx) {
    bus_write w = {L, fn, ctx};
    ldb *db = lstore_db(L);
    if (db->scope) {
        return refuse_scoped(db, what);
    }
    return lstore_write(db, bus_write_work, &w);
}

typedef struct consumer_def {
    const char *name, *pattern, *script;
    int from_end;
    int64_t from_seq; /* > 0: start at this sequence number */
    int changed;
} consumer_def;

static int define_consumer(lua_State *L, store_txn *t, void *ctx) {
    consumer_def *d = ctx;
    bus_consumer cur;
    (void)L;
    int rc = bus_consumer_get(t, d->name, &cur);
    if (rc == 0) {
        int same = strcmp(cur.pattern, d->pattern) == 0 &&
                   (!d->script || (cur.script && strcmp(cur.script, d->script) == 0));
        if (!same) {
            free(cur.pattern);
            cur.pattern = strdup(d->pattern);
            if (d->script) {
                free(cur.script);
                cur.script = strdup(d->script);
            }
            rc = cur.pattern ? bus_consumer_put(t, &cur) : GH_ENOMEM;
            d->changed = 1;
        }
        bus_consumer_clear(&cur);
        return rc;
    }
    if (rc != GH_ENOTFOUND) {
        return rc;
    }
    err_clear();
    rc = 0;
    bus_consumer nc = {
        .name = (char *)d->name, .pattern = (char *)d->pattern, .script = (char *)d->script};
    int64_t last = 0;
    rc = bus_last_seq(t, &last);
    if (d->from_end) {
        nc.cursor = last;
    } else if (d->from_seq > 0) { /* past the end: from the next event published */
        nc.cursor = d->from_seq - 1 < last ? d->from_seq - 1 : last;
    }
    d->changed = 1;
    return rc ? rc : bus_consumer_put(t, &nc);
}

static int run_consumer(lua_State *L, const char *name, int batch, int retries, int64_t limit,
                        int64_t *handled, int64_t *parked);

static int check_name(lua_State *L, int idx) {
    size_t n;
    const char *name = luaL_checklstring(L, idx, &n);
    if (n == 0 || n > 100 || strchr(name, '\n')) {
        return luaL_error(L, _("a consumer name is 1 to 100 characters on one line"));
    }
    return 0;
}

/* bus.consumer(name, pattern, fn [, opts]) */
static int l_bus_consumer(lua_State *L) {
    consumer_def d = {0};
    size_t pn;
    check_name(L, 1);
    d.name = lua_tostring(L, 1);
    d.pattern = luaL_checklstring(L, 2, &pn);
    luaL_checktype(L, 3, LUA_TFUNCTION);
    if (bus_pattern_check(d.pattern, pn) != 0) {
        return luaL_error(L, "bus.consumer('%s'): %s", d.name, err_msg(GH_EINVAL));
    }
    if (lua_istable(L, 4)) {
        lua_getfield(L, 4, "from");
        if (lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), "end") == 0) {
            d.from_end = 1;
        } else if (lua_isinteger(L, -1) && lua_tointeger(L, -1) >= 1) {
            d.from_seq = lua_tointeger(L, -1);
        } else if (!lua_isnil(L, -1) &&
                   !(lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), "start") == 0)) {
            return luaL_error(L,
                              _("bus.consumer('%s'): from is 'start', 'end' or a sequence "
                                "number"),
                              d.name);
        }
        lua_pop(L, 1);
    }
    lua_Debug ar;
    char abspath[4096];
    if (lua_getstack(L, 1, &ar) && lua_getinfo(L, "S", &ar) && ar.source[0] == '@') {
        /* where `gonghui events run` finds the handler, from any directory */
        d.script = realpath(ar.source + 1, abspath) ? abspath : ar.source + 1;
    }
    int rc = with_write(L, "bus.consumer", define_consumer, &d);
    if (rc) {
        return lstore_raise(L, rc);
    }
    push_state(L);
    lua_getfield(L, -1, "consumers");
    lua_pushvalue(L, 3);
    lua_setfield(L, -2, d.name);
    lua_pop(L, 2);
    if (autorun_name && strcmp(autorun_name, d.name) == 0) {
        int64_t handled = 0, parked = 0;
        rc = run_consumer(L, d.name, 500, 3, -1, &handled, &parked);
        if (autorun_out) {
            autorun_out->ran = 1;
            autorun_out->handled += handled;
            autorun_out->parked += parked;
        }
        if (rc) {
            return lstore_raise(L, rc);
        }
        lua_pushinteger(L, handled);
        lua_pushinteger(L, parked);
        return 2;
    }
    return 0;
}

/* One event copied out of the log for a batch. */
typedef struct held {
    codec_buf rec;
} held;

/* Calls the consumer's handler (on the stack at fn_idx) with the event in
 * a savepoint of t. 0 when it succeeded; else the error text is pushed. */
static int call_handler(lua_State *L, ldb *db, store_txn *t, int fn_idx, const bus_event *ev,
                        int *failed) {
    store_txn *sp;
    int rc = store_txn_begin(store_txn_store(t), t, 1, &sp);
    if (rc) {
        return rc;
    }
    store_txn *prev = lstore_swap_txn(db, sp);
    lua_pushvalue(L, fn_idx);
    if ((rc = push_event(L, ev, 0)) != 0) {
        lua_pop(L, 1);
        lstore_swap_txn(db, prev);
        store_txn_abort(sp);
        return rc;
    }
    int status = lua_pcall(L, 1, 0, 0);
    lstore_swap_txn(db, prev);
    if (status == LUA_OK && !lstore_map_full(db)) {
        *failed = 0;
        return store_txn_commit(sp);
    }
    store_txn_abort(sp);
    if (lstore_map_full(db)) {
        return GH_EMAPFULL;
    }
    if (!lua_isstring(L, -1)) {
        const char *tn = luaL_typename(L, -1);
        lua_pop(L, 1);
        lua_pushfstring(L, _("(error object is a %s value)"), tn);
    }
    *failed = 1;
    return 0;
}

typedef struct retry_ctx {
    codec_buf ids;
} retry_ctx;

static int collect_retry(void *ctx, const bus_dead *d) {
    retry_ctx *r = ctx;
    if (d->retry) {
        codec_buf_add(&r->ids, &d->id, sizeof d->id);
    }
    return 0;
}

/* One batch of bus.run as a unit of work: its events handled (each in a
 * savepoint), the failures parked and the cursor moved, committed at once.
 * When the handlers fill the map the unit is redone (store_unit): the counts
 * are the last try's. */
typedef struct batch_unit {
    lua_State *L;
    ldb *db;
    const char *name;
    int fn_idx, batch, retries, pass;
    int64_t limit, before; /* before: handled by the earlier batches */
    int64_t handled, parked;
    int nev; /* events read into the batch */
} batch_unit;

static int batch_work(store_txn *t, void *ctx) {
    batch_unit *b = ctx;
    lua_State *L = b->L;
    ldb *db = b->db;
    bus_consumer cn = {0};
    held *ev = NULL;
    int nev = 0;
    lua_settop(L, b->fn_idx);
    b->handled = b->parked = 0;
    lstore_map_full_clear(db);
    int rc = bus_consumer_get(t, b->name, &cn);
    if (rc) {
        return rc;
    }
    lstore_swap_txn(db, t);
    if (b->pass == 0) { /* dead letters marked for another try go first */
        retry_ctx rx;
        codec_buf_init(&rx.ids);
        rc = bus_dead_each(t, b->name, collect_retry, &rx);
        for (size_t i = 0; rc == 0 && i < rx.ids.len; i += sizeof(int64_t)) {
            int64_t id;
            memcpy(&id, rx.ids.p + i, sizeof id);
            /* re-read it: writes may have moved the bytes */
            codec_buf copy;
            codec_buf_init(&copy);
            bus_dead d;
            rc = bus_dead_get(t, id, &d, &copy);
            int failed = 0;
            if (rc == 0) {
                rc = call_handler(L, db, t, b->fn_idx, &d.ev, &failed);
            }
            if (rc == 0 && failed) {
                rc = bus_dead_update(t, id, d.attempts + 1, lua_tostring(L, -1), 0);
                lua_pop(L, 1);
            } else if (rc == 0) {
                rc = bus_dead_drop(t, id);
                b->handled++;
            }
            codec_buf_free(&copy);
        }
        codec_buf_free(&rx.ids);
    }
    /* the batch: copied out first, so the handlers' writes never move
     * what we read */
    store_scan *sc = NULL;
    if (rc == 0 && (rc = bus_log_scan(t, cn.cursor + 1, &sc)) == GH_ENOTFOUND) {
        err_clear();
        rc = 0;
    }
    if (rc == 0 && sc) {
        const void *pk, *v;
        size_t pkn, n;
        ev = calloc((size_t)b->batch, sizeof *ev);
        if (!ev) {
            rc = GH_ENOMEM;
        }
        while (rc == 0 && nev < b->batch &&
               (b->limit < 0 || b->before + b->handled + nev < b->limit) &&
               (rc = store_scan_next(sc, &pk, &pkn, &v, &n)) == 0) {
            codec_buf_init(&ev[nev].rec);
            codec_buf_add(&ev[nev].rec, v, n);
            nev++;
        }
        if (rc == GH_ENOTFOUND) {
            rc = 0;
        }
    }
    store_scan_close(sc);
    for (int i = 0; rc == 0 && i < nev; i++) {
        bus_event e;
        if ((rc = bus_event_decode(t, ev[i].rec.p, ev[i].rec.len, &e))) {
            break;
        }
        cn.cursor = e.seq;
        if (!bus_match(cn.pattern, strlen(cn.pattern), e.topic, e.topic_len)) {
            continue;
        }
        int failed = 1;
        for (int attempt = 1; rc == 0 && failed; attempt++) {
            rc = call_handler(L, db, t, b->fn_idx, &e, &failed);
            if (rc == 0 && failed && attempt >= b->retries) {
                int64_t id;
                rc = bus_dead_put(t, b->name, &e, lua_tostring(L, -1), attempt, &id);
                lua_pop(L, 1);
                b->parked++;
                break;
            }
            if (rc == 0 && failed) {
                lua_pop(L, 1);
            }
        }
        if (rc == 0 && !failed) {
            b->handled++;
        }
    }
    if (rc == 0) {
        rc = bus_consumer_put(t, &cn);
    }
    lstore_swap_txn(db, NULL);
    for (int i = 0; i < nev; i++) {
        codec_buf_free(&ev[i].rec);
    }
    free(ev);
    bus_consumer_clear(&cn);
    b->nev = nev;
    return rc;
}

static int batch_commit(store_txn *t, void *ctx) {
    return lstore_commit(((batch_unit *)ctx)->db, t);
}

/* Processes the consumer's backlog in batches (see the top). Raises only
 * when holding nothing. */
static int run_consumer(lua_State *L, const char *name, int batch, int retries, int64_t limit,
                        int64_t *handled, int64_t *parked) {
    ldb *db = lstore_db(L);
    int top = lua_gettop(L);
    if (db->scope) {
        return refuse_scoped(db, "bus.run");
    }
    if (lstore_write_txn(db)) {
        return err_set(GH_ETXN,
                       _("bus.run('%s') cannot run inside db.atomic: it commits each "
                         "batch by itself"),
                       name);
    }
    push_state(L);
    lua_getfield(L, -1, "consumers");
    if (lua_getfield(L, -1, name) != LUA_TFUNCTION) {
        lua_settop(L, top);
        return err_set(GH_ENOTFOUND,
                       _("consumer '%s' has no handler in this program: call bus.consumer('%s', "
                         "pattern, fn) first (gonghui events run %s loads the script that does)"),
                       name, name, name);
    }
    batch_unit b = {.L = L,
                    .db = db,
                    .name = name,
                    .fn_idx = lua_gettop(L),
                    .batch = batch,
                    .retries = retries,
                    .limit = limit};
    int rc = 0;
    for (b.pass = 0; rc == 0; b.pass++) {
        lstore_release(db); /* the map cannot grow under a read */
        b.before = *handled;
        rc = store_unit(db->s, batch_work, batch_commit, &b);
        lstore_map_full_clear(db);
        if (rc) {
            break;
        }
        *handled += b.handled;
        *parked += b.parked;
        if (b.nev < batch || (limit >= 0 && *handled >= limit)) {
            break;
        }
    }
    lua_settop(L, top);
    return rc;
}

/* bus.run(name [, {batch =, retries =, limit =}]) -> handled, parked */
static int l_bus_run(lua_State *L) {
    check_name(L, 1);
    int batch = 500, retries = 3;
    int64_t limit = -1, handled = 0, parked = 0;
    if (lua_istable(L, 2)) {
        lua_getfield(L, 2, "batch");
        lua_getfield(L, 2, "retries");
        lua_getfield(L, 2, "limit");
        batch = (int)luaL_optinteger(L, -3, 500);
        retries = (int)luaL_optinteger(L, -2, 3);
        limit = luaL_optinteger(L, -1, -1);
        if (batch < 1 || retries < 1) {
            return luaL_error(L, _("bus.run: batch and retries are at least 1"));
        }
    }
    int rc = run_consumer(L, lua_tostring(L, 1), batch, retries, limit, &handled, &parked);
    if (rc) {
        return lstore_raise(L, rc);
    }
    lua_pushinteger(L, handled);
    lua_pushinteger(L, parked);
    return 2;
}

typedef struct replay_ctx {
    const char *name;
    int64_t seq, ms;
} replay_ctx;

static int do_replay(lua_State *L, store_txn *t, void *ctx) {
    replay_ctx *r = ctx;
    bus_consumer cn;
    (void)L;
    int rc = bus_consumer_get(t, r->name, &cn);
    if (rc) {
        return rc;
    }
    if (r->ms >= 0 && (rc = bus_seq_at_time(t, r->ms, &r->seq))) {
        bus_consumer_clear(&cn);
        return rc;
    }
    int64_t first;
    if ((rc = bus_first_seq(t, &first)) == 0 && first > 1 && r->seq < first) {
        rc = err_set(GH_EINVAL,
                     _("events before %lld were trimmed from the log; replay from %lld or later"),
                     (long long)first, (long long)first);
    }
    if (rc) {
        bus_consumer_clear(&cn);
        return rc;
    }
    int64_t last = 0;
    if ((rc = bus_last_seq(t, &last)) == 0) {
        cn.cursor = r->seq > 0 ? r->seq - 1 : 0;
        if (cn.cursor > last) { /* past the end: from the next event published */
            cn.cursor = last;
        }
        r->seq = cn.cursor + 1;
        rc = bus_consumer_put(t, &cn);
    }
    bus_consumer_clear(&cn);
    return rc;
}

/* bus.replay(name, seq | 'YYYY-MM-DD[ HH:MM]') -> the new cursor: the
 * consumer's next run starts at that event. */
static int l_bus_replay(lua_State *L) {
    check_name(L, 1);
    replay_ctx r = {.name = lua_tostring(L, 1), .ms = -1};
    if (lua_isinteger(L, 2)) {
        r.seq = lua_tointeger(L, 2);
        if (r.seq < 1) {
            return luaL_error(L, _("bus.replay: a sequence number starts at 1"));
        }
    } else if (lua_type(L, 2) == LUA_TSTRING) {
        size_t n;
        const char *z = lua_tolstring(L, 2, &n);
        int64_t secs;
        int rc = parse_time(z, n, &secs);
        if (rc != 0) {
            return luaL_error(L,
                              _("bus.replay('%s', from): from '%s' %s; give a sequence number or "
                                "a time 'YYYY-MM-DD HH:MM'"),
                              r.name, z, err_msg(rc));
        }
        r.ms = secs * 1000;
    } else {
        return luaL_error(L,
                          _("bus.replay('%s', from): from is a sequence number or a time "
                            "'YYYY-MM-DD HH:MM'"),
                          r.name);
    }
    int rc = with_write(L, "bus.replay", do_replay, &r);
    if (rc) {
        return lstore_raise(L, rc);
    }
    lua_pushinteger(L, r.seq > 0 ? r.seq - 1 : 0);
    return 1;
}

static int push_consumer(void *ctx, const bus_consumer *c) {
    lua_State *L = ctx;
    lua_createtable(L, 0, 5);
    lua_pushstring(L, c->name);
    lua_setfield(L, -2, "name");
    lua_pushstring(L, c->pattern);
    lua_setfield(L, -2, "pattern");
    lua_pushinteger(L, c->cursor);
    lua_setfield(L, -2, "cursor");
    if (c->script) {
        lua_pushstring(L, c->script);
        lua_setfield(L, -2, "script");
    }
    lua_pushinteger(L, c->updated);
    lua_setfield(L, -2, "updated");
    lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
    return 0;
}

static int read_consumers(lua_State *L, store_txn *t, void *ctx) {
    int64_t last;
    (void)ctx;
    lua_newtable(L);
    int rc = bus_consumer_each(t, push_consumer, L);
    if (rc == 0 && (rc = bus_last_seq(t, &last)) == 0) {
        for (lua_Integer i = 1; i <= (lua_Integer)lua_rawlen(L, -1); i++) {
            lua_rawgeti(L, -1, i);
            lua_getfield(L, -1, "cursor");
            lua_pushinteger(L, last - lua_tointeger(L, -1));
            lua_setfield(L, -3, "lag");
            lua_pop(L, 2);
        }
    }
    return rc;
}

/* bus.consumers() -> { {name, pattern, cursor, lag, script, updated}, ... } */
static int l_bus_consumers(lua_State *L) {
    int rc = with_read(L, read_consumers, NULL);
    return rc ? lstore_raise(L, rc) : 1;
}

typedef struct dead_q {
    lua_State *L;
    store_txn *t;
    const scope *scope;
} dead_q;

static int push_dead(void *ctx, const bus_dead *d) {
    dead_q *q = ctx;
    lua_State *L = q->L;
    if (q->scope && !scope_event_visible(q->t, q->scope, d->ev.topic, d->ev.topic_len,
                                         d->ev.payload, d->ev.payload_len)) {
        return 0;
    }
    lua_createtable(L, 0, 8);
    lua_pushinteger(L, d->id);
    lua_setfield(L, -2, "id");
    lua_pushlstring(L, d->consumer, d->consumer_len);
    lua_setfield(L, -2, "consumer");
    lua_pushinteger(L, d->ev.seq);
    lua_setfield(L, -2, "seq");
    lua_pushlstring(L, d->ev.topic, d->ev.topic_len);
    lua_setfield(L, -2, "topic");
    lua_pushinteger(L, d->ev.time);
    lua_setfield(L, -2, "time");
    lua_pushlstring(L, d->error, d->error_len);
    lua_setfield(L, -2, "error");
    lua_pushinteger(L, d->attempts);
    lua_setfield(L, -2, "attempts");
    lua_pushboolean(L, d->retry);
    lua_setfield(L, -2, "retry");
    mp_reader r;
    mp_reader_init(&r, d->ev.payload, d->ev.payload_len);
    if (lcodec_push(L, &r, CODEC_MAX_DEPTH) == 0) {
        lua_setfield(L, -2, "payload");
    }
    lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
    return 0;
}

static int read_dead(lua_State *L, store_txn *t, void *ctx) {
    if (ctx) { /* a consumer that does not exist is an error, not an empty list */
        bus_consumer cn;
        int rc = bus_consumer_get(t, ctx, &cn);
        if (rc) {
            return rc;
        }
        bus_consumer_clear(&cn);
    }
    dead_q q = {L, t, lstore_db(L)->scope};
    lua_newtable(L);
    return bus_dead_each(t, ctx, push_dead, &q);
}

/* bus.dead([name]) -> parked events */
static int l_bus_dead(lua_State *L) {
    const char *name = luaL_optstring(L, 1, NULL);
    int rc = with_read(L, read_dead, (void *)name);
    return rc ? lstore_raise(L, rc) : 1;
}

static int do_retry(lua_State *L, store_txn *t, void *ctx) {
    (void)L;
    return bus_dead_update(t, *(int64_t *)ctx, -1, NULL, 1);
}

static int do_drop(lua_State *L, store_txn *t, void *ctx) {
    (void)L;
    return bus_dead_drop(t, *(int64_t *)ctx);
}

/* bus.retry(id): the parked event is tried again on its consumer's next run */
static int l_bus_retry(lua_State *L) {
    int64_t id = luaL_checkinteger(L, 1);
    int rc = with_write(L, "bus.retry", do_retry, &id);
    return rc ? lstore_raise(L, rc) : 0;
}

/* bus.drop(id): forget a parked event */
static int l_bus_drop(lua_State *L) {
    int64_t id = luaL_checkinteger(L, 1);
    int rc = with_write(L, "bus.drop", do_drop, &id);
    return rc ? lstore_raise(L, rc) : 0;
}

static int do_trim(lua_State *L, store_txn *t, void *ctx) {
    int64_t min;
    uint64_t *n = ctx;
    (void)L;
    int64_t last;
    int rc = bus_min_cursor(t, &min);
    if (rc == 0 && min != INT64_MAX && (rc = bus_last_seq(t, &last)) == 0) {
        /* the last event stays: sequence numbers continue from it */
        rc = bus_trim(t, min < last ? min : last - 1, n);
    }
    return rc;
}

/* bus.trim() -> how many events were deleted: those every consumer has
 * handled (nothing when there are no consumers). */
static int l_bus_trim(lua_State *L) {
    uint64_t n = 0;
    int rc = with_write(L, "bus.trim", do_trim, &n);
    if (rc) {
        return lstore_raise(L, rc);
    }
    lua_pushinteger(L, (lua_Integer)n);
    return 1;
}

/* ---- bus.fields: the names of a topic's array payloads (topic_fields.h) -------------------- */

typedef struct fields_decl {
    const char *topic;
    size_t tn;
    const char *names[TOPIC_FIELDS_MAX];
    size_t lens[TOPIC_FIELDS_MAX];
    int n;
} fields_decl;

static int fields_work(store_txn *t, void *ctx) {
    fields_decl *d = ctx;
    return topic_fields_put(t, d->topic, d->tn, d->names, d->lens, d->n);
}

static void push_name(const char *name, size_t len, void *ctx) {
    lua_State *L = ctx;
    lua_pushlstring(L, name, len);
    lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
}

/* bus.fields(topic, names) -> true: declares that array payloads of topic hold
 * the fields names (a list of strings) in that order, kept in the database
 * so every reader (a scoped request's check, scope.c) reads them by name;
 * written only when the declaration changes. -> false when it differs and
 * this state may not write (a read-only REPL, a request of gonghui serve:
 * nothing is written, and a scoped request could not declare positions to
 * widen what it reads; the next run that may write declares it).
 * bus.fields(topic) -> the names, or nil. */
static int l_bus_fields(lua_State *L) {
    ldb *db = lstore_db(L);
    fields_decl d;
    store_txn *t;
    int owned, rc, same = 0;
    luaL_checktype(L, 1, LUA_TSTRING);
    d.topic = lua_tolstring(L, 1, &d.tn);
    if (!topic_ok(get_bus(L), d.topic, d.tn)) {
        return luaL_error(L, _("bus.fields: %s"), err_msg(GH_EINVAL));
    }
    if (lua_isnoneornil(L, 2)) {
        if ((rc = lstore_begin(db, 0, &t, &owned))) {
            return lstore_raise(L, rc);
        }
        lua_newtable(L);
        int found = topic_fields_each(t, d.topic, d.tn, push_name, L);
        lstore_end(db, t, owned, 0);
        if (!found) {
            lua_pushnil(L);
        }
        return 1;
    }
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 2);
    lua_Integer n = luaL_len(L, 2);
    if (n > TOPIC_FIELDS_MAX) {
        return luaL_error(L, _("bus.fields('%s'): at most %d field names, got %d"), d.topic,
                          TOPIC_FIELDS_MAX, (int)n);
    }
    d.n = (int)n;
    for (int i = 0; i < d.n; i++) {
        if (lua_rawgeti(L, 2, i + 1) != LUA_TSTRING) {
            return luaL_error(L, _("bus.fields('%s'): field name %d is a %s, not a string"),
                              d.topic, i + 1, luaL_typename(L, -1));
        }
        d.names[i] = lua_tolstring(L, -1, &d.lens[i]); /* kept alive by the table at 2 */
        lua_pop(L, 1);
    }
    if ((rc = lstore_begin(db, 0, &t, &owned))) {
        return lstore_raise(L, rc);
    }
    same = topic_fields_same(t, d.topic, d.tn, d.names, d.lens, d.n);
    lstore_end(db, t, owned, 0);
    if (!same &&
        ((db->guard & LSTORE_NODEFINE) ||
         (!lstore_write_txn(db) && ((db->guard & LSTORE_READONLY) || store_writes_refused(db->s) ||
                                    store_readonly(db->s))))) {
        lua_pushboolean(L, 0);
        return 1;
    }
    if (!same && (rc = lstore_write(db, fields_work, &d))) {
        return lstore_raise(L, rc);
    }
    lua_pushboolean(L, 1);
    return 1;
}

static const luaL_Reg bus_funcs[] = {
    {"on", l_bus_on},         {"off", l_bus_off},       {"emit_many", l_bus_emit_many},
    {"events", l_bus_events}, {"last", l_bus_last},     {"consumer", l_bus_consumer},
    {"run", l_bus_run},       {"replay", l_bus_replay}, {"consumers", l_bus_consumers},
    {"dead", l_bus_dead},     {"retry", l_bus_retry},   {"drop", l_bus_drop},
    {"trim", l_bus_trim},     {"fields", l_bus_fields}, {NULL, NULL}};

void lbus_push(lua_State *L, int db_idx) {
    db_idx = lua_absindex(L, db_idx);
    lua_createtable(L, 0, 3);
    lua_newtable(L);
    lua_setfield(L, -2, "list");
    new_cache(L);
    lua_newtable(L);
    lua_setfield(L, -2, "consumers");
    lua_setfield(L, LUA_REGISTRYINDEX, HANDLERS_KEY);

    lua_getmetatable(L, db_idx);
    lua_getfield(L, -1, "__db"); /* the ldb userdata */
    lua_remove(L, -2);
    int dbu = lua_gettop(L);
    lbus *b = lua_newuserdatauv(L, sizeof *b, 1);
    b->depth = 0;
    b->nhandlers = 0;
    b->checked_n = 0;
    b->db = lua_touserdata(L, dbu);
    int bu = lua_gettop(L);
    lua_getfield(L, LUA_REGISTRYINDEX, RUN_ID_KEY); /* set before the bus (ghstate_new) */
    keep_run(L, b, bu, -1);
    lua_pop(L, 1);
    lua_getfield(L, LUA_REGISTRYINDEX, HANDLERS_KEY);
    lua_pushvalue(L, bu);
    lua_setfield(L, -2, "bus");
    lua_pushvalue(L, dbu);
    lua_setfield(L, -2, "db");
    lua_pop(L, 1);
    ((ldb *)lua_touserdata(L, dbu))->change_hook = change_hook;
    ((ldb *)lua_touserdata(L, dbu))->publish_hook = publish_bytes;
    ((ldb *)lua_touserdata(L, dbu))->bus_ud = b; /* kept alive by the registry's state */
    lua_createtable(L, 0, 20);                   /* bus: its 17 functions, no rehash */
    for (const luaL_Reg *r = bus_funcs; r->name; r++) {
        lua_pushvalue(L, dbu);
        lua_pushvalue(L, bu);
        lua_pushcclosure(L, r->func, 2);
        lua_setfield(L, -2, r->name);
    }
    /* emit: the Lua dispatch over the levels' tables of dispatchers */
    if (luaL_loadbufferx(L, emit_src, sizeof emit_src - 1, "=bus.emit", "t") != LUA_OK) {
        lua_error(L); /* a state that cannot compile these lines has no memory */
    }
    lua_newtable(L);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &levels_key);
    lua_newtable(L);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &level_of_key);
    lua_newtable(L);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &makers_key);
    lua_createtable(L, 0, 1);
    lua_pushvalue(L, dbu);
    lua_pushvalue(L, bu);
    lua_pushvalue(L, dbu);
    lua_pushvalue(L, bu);
    lua_pushcclosure(L, l_bus_emit_slow, 2);
    lua_pushcfunction(L, l_bus_cascade);
    lua_pushcclosure(L, l_bus_miss, 4);
    lua_setfield(L, -2, "__index");
    lua_rawsetp(L, LUA_REGISTRYINDEX, &level_meta_key);
    push_level(L, 0);
    lua_call(L, 1, 1);
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &emit_key);
    lua_setfield(L, -2, "emit");
    /* publish also needs db (for db.atomic) and itself */
    lua_pushvalue(L, dbu);
    lua_pushvalue(L, bu);
    lua_pushvalue(L, db_idx);
    lua_pushnil(L);
    lua_pushcclosure(L, l_bus_publish, 4);
    lua_pushvalue(L, -1);
    lua_setupvalue(L, -2, 4); /* upvalue 4: the function itself */
    lua_setfield(L, -2, "publish");
    lua_pushvalue(L, dbu);
    lua_pushvalue(L, bu);
    lua_pushvalue(L, db_idx);
    lua_pushnil(L);
    lua_pushcclosure(L, l_bus_publish_many, 4);
    lua_pushvalue(L, -1);
    lua_setupvalue(L, -2, 4);
    lua_setfield(L, -2, "publish_many");
    lua_replace(L, dbu);
    lua_settop(L, dbu);
}

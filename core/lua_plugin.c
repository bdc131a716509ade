/*
 * lua_plugin.c — the Lua face of native plugins.
 *
 *   plugin.load(name) -> table of functions    (also: require 'name')
 *   plugin.loaded()   -> { {name=, version=, functions={fn=signature}, events={pattern...}}, ... }
 *   plugin.path()     -> the plugin path ("dir:dir")
 *   plugin.memory()   -> bytes the plugins hold through the host
 *
 * Built on plugin.h and ghffi.h.
 *
 * A plugin function is a C closure (one upvalue: an lfn with the plugin_fn and the state's
 * lplug). A call:
 *   1. checks the Lua arguments against the signature (number and types)
 *      and raises, naming plugin, function, argument and type, before any
 *      C resource is taken;
 *   2. calls the function through plugin_call (libffi); no Lua API is used
 *      while it runs, so no Lua error can unwind through plugin or libffi
 *      frames;
 *   3. a str/bytes result is parked in lplug.pending while it is copied
 *      into Lua: if that copy raises (memory limit), the block is freed on
 *      the next call or when the state closes, never leaked;
 *   4. an error reported through `err` becomes a Lua error
 *      "PLUGIN.FUNCTION: message" (the result is freed first).
 *
 * Records (gh_api.get/put/del/scan) are done through the calling state's
 * `db` table, in a protected call: a plugin's record write is exactly the
 * script's `db` call at that point (same transaction, checks and change
 * events), and a Lua error inside becomes the call's err message instead
 * of unwinding through the plugin's frames. The ctx of a call is the
 * lua_State that made it (a coroutine's, when it runs in one).
 *
 * C event handlers (gh_api.subscribe) join the same dispatch as Lua's:
 * when the plugin loads, each is registered with the state's bus.on as a C
 * closure that encodes the payload to MessagePack, calls the handler, and
 * raises its error (after freeing the buffer), so the bus rolls back.
 */
#include "lua_plugin.h"

#include "err.h"
#include "ghffi.h"
#include "lua_codec.h"
#include "lua_store.h"
#include "plugin.h"
#include "runs.h"
#include "sha256.h"
#include "sandbox.h"

#include <errno.h>
#include <lauxlib.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char host_key = 'h';   /* registry: the lplug userdata */
static const char cache_key = 'c';  /* registry: name -> functions table */
static const char subbed_key = 's'; /* registry: plugin (light) -> true once subscribed */
#define LPLUG_MT "gonghui.plugin_host"

typedef struct lplug {
    plugin_host *h;
    void *pending; /* a str/bytes result being copied into Lua */
} lplug;

static int l_plugin_host_gc(lua_State *L) {
    lplug *lp = luaL_checkudata(L, 1, LPLUG_MT);
    if (lp->h) {
        plugin_free_result(lp->h, lp->pending);
        lp->pending = NULL;
        plugin_host_free(lp->h);
        lp->h = NULL;
    }
    return 0;
}

/* ---- records for plugins ------------------------------------------------------------- */

enum { REC_GET, REC_PUT, REC_DEL, REC_SCAN };

/* One record routine's work, handed to rec_body through lua_pcall. */
typedef struct rec_op {
    int op;
    const char *coll;
    const void *mp; /* the key, the record or the scan spec (MessagePack) */
    size_t n;
    unsigned flags;
    int mode;
    gh_scan_fn fn;
    void *ud;
    int64_t result;
    codec_buf buf, json; /* the record being handed out */
} rec_op;

static void push_mp(lua_State *L, const void *p, size_t n) {
    mp_reader r;
    mp_reader_init(&r, p, n);
    if (lcodec_push(L, &r, CODEC_MAX_DEPTH - 1) != 0) {
        luaL_error(L, _("the MessagePack value cannot be read: %s"), err_msg(GH_ECORRUPT));
    }
}

/* Encodes the record (a table, or a row: made a table first) at idx into
 * op->buf as a map, then as JSON if asked; returns the bytes to hand out. */
static const codec_buf *encode_out(lua_State *L, int idx, rec_op *op) {
    idx = lua_absindex(L, idx);
    if (lua_type(L, idx) == LUA_TUSERDATA) {
        lua_getfield(L, idx, "totable");
        lua_pushvalue(L, idx);
        lua_call(L, 1, 1);
        lua_replace(L, idx);
    }
    op->buf.len = 0;
    int rc = lcodec_encode(L, idx, &op->buf, CODEC_MAX_DEPTH - 1);
    if (rc == 0 && op->buf.oom) {
        rc = GH_ENOMEM;
    }
    if (rc) {
        luaL_error(L, _("a record of '%s' cannot be encoded: %s"), op->coll, err_msg(rc));
    }
    if (!(op->flags & GH_REC_JSON)) {
        return &op->buf;
    }
    mp_reader r;
    mp_reader_init(&r, op->buf.p, op->buf.len);
    op->json.len = 0;
    rc = mp_to_json(&r, &op->json, CODEC_MAX_DEPTH);
    if (rc == 0 && op->json.oom) {
        rc = GH_ENOMEM;
    }
    if (rc) {
        luaL_error(L, _("a record of '%s' cannot be written as JSON: %s"), op->coll, err_msg(rc));
    }
    return &op->json;
}

/* lua_pcall'd: 1 = the rec_op. Uses the state's db table. */
static int rec_body(lua_State *L) {
    rec_op *op = lua_touserdata(L, 1);
    if (lua_getfield(L, LUA_REGISTRYINDEX, LSTORE_DB_KEY) != LUA_TTABLE) { /* 2 */
        return luaL_error(L, _("there is no database here"));
    }
    lua_getfield(L, 2, op->coll); /* 3: the collection (raises if there is none) */
    switch (op->op) {
    case REC_GET:
        lua_getfield(L, 3, "get");
        lua_pushvalue(L, 3);
        push_mp(L, op->mp, op->n);
        lua_call(L, 2, 1);
        op->result = !lua_isnil(L, -1);
        if (op->result) {
            encode_out(L, -1, op);
        }
        return 0;
    case REC_DEL:
        lua_getfield(L, 3, "delete");
        lua_pushvalue(L, 3);
        push_mp(L, op->mp, op->n);
        lua_call(L, 2, 1);
        op->result = lua_toboolean(L, -1);
        return 0;
    case REC_PUT: {
        push_mp(L, op->mp, op->n); /* 4: the record */
        if (!lua_istable(L, 4)) {
            return luaL_error(L, _("the record for '%s' is a %s, not a map of fields"), op->coll,
                              luaL_typename(L, 4));
        }
        if (op->mode != GH_REC_UPDATE) {
            lua_getfield(L, 3, op->mode == GH_REC_INSERT ? "insert" : "put");
            lua_pushvalue(L, 3);
            lua_pushvalue(L, 4);
            lua_call(L, 2, 0);
            op->result = GH_PLUGIN_OK;
            return 0;
        }
        lua_getfield(L, 3, "schema");
        lua_pushvalue(L, 3);
        lua_call(L, 1, 1);
        lua_getfield(L, -1, "key"); /* 6: the key field's name */
        lua_pushvalue(L, 6);
        if (lua_gettable(L, 4) == LUA_TNIL) { /* 7: the key */
            return luaL_error(L, _("collection '%s': the record to update has no key field '%s'"),
                              op->coll, lua_tostring(L, 6));
        }
        lua_pushvalue(L, 6);
        lua_pushnil(L);
        lua_settable(L, 4);
        lua_getfield(L, 3, "update");
        lua_pushvalue(L, 3);
        lua_pushvalue(L, 7);
        lua_pushvalue(L, 4);
        lua_call(L, 3, 1);
        if (lua_isnil(L, -1)) {
            return luaL_error(L,
                              lua_type(L, 7) == LUA_TSTRING
                                  ? "collection '%s': there is no record with %s = \"%s\" to update"
                                  : "collection '%s': there is no record with %s = %s to update",
                              op->coll, lua_tostring(L, 6), luaL_tolstring(L, 7, NULL));
        }
        op->result = GH_PLUGIN_OK;
        return 0;
    }
    case REC_SCAN: {
        lua_getfield(L, 3, "scan");
        lua_pushvalue(L, 3);
        if (op->mp) {
            push_mp(L, op->mp, op->n);
            if (!lua_istable(L, -1)) {
                return luaL_error(L, _("the scan spec for '%s' is a %s, not a map"), op->coll,
                                  luaL_typename(L, -1));
            }
        } else {
            lua_newtable(L);
        }
        lua_call(L, 2, 4); /* 4: iterator, 5, 6, 7: the scan (to close) */
        op->result = 0;
        for (;;) {
            lua_settop(L, 7);
            lua_pushvalue(L, 4);
            lua_pushvalue(L, 5);
            lua_pushvalue(L, 6);
            lua_call(L, 2, 1);
            if (lua_isnil(L, -1)) {
                break;
            }
            const codec_buf *b = encode_out(L, -1, op);
            op->result++;
            if (op->fn(op->ud, b->p, b->len) != 0) {
                break;
            }
        }
        if (luaL_getmetafield(L, 7, "__close") != LUA_TNIL) {
            lua_pushvalue(L, 7);
            lua_pushnil(L);
            lua_call(L, 2, 0);
        }
        return 0;
    }
    default:
        return luaL_error(L, _("unknown record routine"));
    }
}

/* Runs op in state ctx; a Lua error becomes e's message. */
static int64_t rec_run(void *ctx, struct gh_err *e, const char *what, rec_op *op) {
    lua_State *L = ctx;
    int top = lua_gettop(L);
    codec_buf_init(&op->buf);
    codec_buf_init(&op->json);
    op->result = GH_PLUGIN_ERROR;
    if (!lua_checkstack(L, 4)) {
        snprintf(e->msg, sizeof e->msg, "%s: out of memory", what);
        e->set = 1;
        return GH_PLUGIN_ERROR;
    }
    lua_pushcfunction(L, rec_body);
    lua_pushlightuserdata(L, op);
    if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
        const char *m = lua_tostring(L, -1);
        if (!e->set) {
            snprintf(e->msg, sizeof e->msg, "%s '%s': %s", what, op->coll, m ? m : "error");
            e->set = 1;
        }
        op->result = GH_PLUGIN_ERROR;
    }
    lua_settop(L, top);
    return op->result;
}

static int lr_get(void *ctx, struct gh_err *e, const char *coll, const void *key, size_t klen,
                  unsigned flags, gh_bytes *out) {
    rec_op op = {.op = REC_GET, .coll = coll, .mp = key, .n = klen, .flags = flags};
    int64_t rc = rec_run(ctx, e, "get", &op);
    if (rc == 1) {
        const codec_buf *b = flags & GH_REC_JSON ? &op.json : &op.buf;
        lua_State *L = ctx;
        lua_rawgetp(L, LUA_REGISTRYINDEX, &host_key);
        lplug *lp = lua_touserdata(L, -1);
        lua_pop(L, 1);
        out->data = lp && lp->h ? plugin_alloc(lp->h, b->len + 1) : NULL;
        if (!out->data) {
            snprintf(e->msg, sizeof e->msg, "get '%s': out of memory", coll);
            e->set = 1;
            rc = GH_PLUGIN_ERROR;
        } else {
            memcpy(out->data, b->p, b->len);
            ((char *)out->data)[b->len] = 0; /* JSON text can be used as a C string */
            out->len = b->len;
        }
    }
    codec_buf_free(&op.buf);
    codec_buf_free(&op.json);
    return (int)rc;
}

static int lr_put(void *ctx, struct gh_err *e, const char *coll, const void *rec, size_t n,
                  int mode) {
    rec_op op = {.op = REC_PUT, .coll = coll, .mp = rec, .n = n, .mode = mode};
    static const char *const names[] = {"insert", "put", "update"};
    int rc = (int)rec_run(ctx, e, names[mode], &op);
    codec_buf_free(&op.buf);
    codec_buf_free(&op.json);
    return rc;
}

static int lr_del(void *ctx, struct gh_err *e, const char *coll, const void *key, size_t klen) {
    rec_op op = {.op = REC_DEL, .coll = coll, .mp = key, .n = klen};
    int rc = (int)rec_run(ctx, e, "del", &op);
    codec_buf_free(&op.buf);
    codec_buf_free(&op.json);
    return rc;
}

static int64_t lr_scan(void *ctx, struct gh_err *e, const char *coll, const void *spec, size_t n,
                       unsigned flags, gh_scan_fn fn, void *ud) {
    rec_op op = {
        .op = REC_SCAN, .coll = coll, .mp = spec, .n = n, .flags = flags, .fn = fn, .ud = ud};
    int64_t rc = rec_run(ctx, e, "scan", &op);
    codec_buf_free(&op.buf);
    codec_buf_free(&op.json);
    return rc;
}

static int64_t lr_now(void *ctx) {
    return sandbox_time(ctx);
}

static int lr_may_write(void *ctx, struct gh_err *e, const char *path) {
    if (sandbox_may_write(ctx, path, e->msg, sizeof e->msg)) {
        return GH_PLUGIN_OK;
    }
    e->set = 1;
    return GH_PLUGIN_ERROR;
}

static int lr_may_read(void *ctx, struct gh_err *e, const char *path) {
    char real[PATH_MAX];
    if (sandbox_may_read(ctx, path, real, e->msg, sizeof e->msg) || errno != EACCES) {
        return GH_PLUGIN_OK; /* a missing file: the plugin's own message says so */
    }
    e->set = 1;
    return GH_PLUGIN_ERROR;
}

static const plugin_records lua_records = {.get = lr_get,
                                           .put = lr_put,
                                           .del = lr_del,
                                           .scan = lr_scan,
                                           .now = lr_now,
                                           .may_write = lr_may_write,
                                           .may_read = lr_may_read};

/* The state's host, made on first use. */
static lplug *get_host(lua_State *L) {
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &host_key) == LUA_TUSERDATA) {
        lplug *lp = lua_touserdata(L, -1);
        lua_pop(L, 1);
        return lp;
    }
    lua_pop(L, 1);
    lplug *lp = lua_newuserdatauv(L, sizeof *lp, 0);
    lp->h = NULL;
    lp->pending = NULL;
    if (luaL_newmetatable(L, LPLUG_MT)) {
        lua_pushcfunction(L, l_plugin_host_gc);
        lua_setfield(L, -2, "__gc");
        lua_pushboolean(L, 0);
        lua_setfield(L, -2, "__metatable");
    }
    lua_setmetatable(L, -2);
    void *ud;
    lua_Alloc allocf = lua_getallocf(L, &ud);
    if (plugin_host_new(allocf, ud, &lp->h) != 0) {
        luaL_error(L, _("plugin: out of memory"));
    }
    plugin_host_set_records(lp->h, &lua_records);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &host_key);
    return lp;
}

/* ---- calls ---------------------------------------------------------------------------- */

static int arg_error(lua_State *L, const plugin_fn *f, int i, const char *why) {
    return luaL_error(L, _("%s.%s: argument #%d expects %s, got %s (signature %s)"),
                      plugin_name(f->owner), f->name, i + 1, ghffi_type_name(f->sig.args[i]), why,
                      f->sigtext);
}

static int check_int(lua_State *L, const plugin_fn *f, int i, lua_Integer lo, lua_Integer hi,
                     lua_Integer *out) {
    int idx = i + 1;
    if (lua_type(L, idx) != LUA_TNUMBER) {
        return arg_error(L, f, i, luaL_typename(L, idx));
    }
    int isnum;
    lua_Integer v = lua_tointegerx(L, idx, &isnum);
    if (!isnum) {
        return arg_error(L, f, i,
                         lua_pushfstring(L, _("%s (not a whole number)"), lua_tostring(L, idx)));
    }
    if (v < lo || v > hi) {
        return arg_error(L, f, i, lua_pushfstring(L, _("%I (out of range)"), (LUAI_UACINT)v));
    }
    *out = v;
    return 0;
}

/* The one upvalue of a plugin function's closure (one lookup per call). */
typedef struct lfn {
    const plugin_fn *f;
    lplug *lp;
} lfn;

static int l_plugin_call(lua_State *L) {
    const lfn *up = lua_touserdata(L, lua_upvalueindex(1));
    const plugin_fn *f = up->f;
    lplug *lp = up->lp;
    const ghffi_sig *sig = &f->sig;
    int n = lua_gettop(L);
    sandbox_note_outside(L); /* what a plugin does is its own: a run is not redone after it */
    if (n != sig->nargs) {
        return luaL_error(L,
                          _n("%s.%s: expects %d argument, got %d (signature %s)",
                             "%s.%s: expects %d arguments, got %d (signature %s)", sig->nargs),
                          plugin_name(f->owner), f->name, sig->nargs, n, f->sigtext);
    }
    if (!lp->h) {
        return luaL_error(L, _("%s.%s: the plugin is unloaded"), plugin_name(f->owner), f->name);
    }
    if (lp->pending) { /* a copy into Lua that raised last time */
        plugin_free_result(lp->h, lp->pending);
        lp->pending = NULL;
    }
    ghffi_value args[GH_MAX_ARGS];
    for (int i = 0; i < n; i++) {
        int idx = i + 1;
        lua_Integer v = 0;
        size_t len;
        switch (sig->args[i]) {
        case GHFFI_BOOL:
            if (lua_type(L, idx) != LUA_TBOOLEAN) {
                return arg_error(L, f, i, luaL_typename(L, idx));
            }
            args[i].b = lua_toboolean(L, idx);
            break;
        case GHFFI_I32:
            check_int(L, f, i, INT32_MIN, INT32_MAX, &v);
            args[i].i32 = (int32_t)v;
            break;
        case GHFFI_U32:
            check_int(L, f, i, 0, UINT32_MAX, &v);
            args[i].u32 = (uint32_t)v;
            break;
        case GHFFI_I64:
            if (lua_isinteger(L, idx)) { /* the common case, in two API calls */
                v = lua_tointeger(L, idx);
            } else {
                check_int(L, f, i, LUA_MININTEGER, LUA_MAXINTEGER, &v);
            }
            args[i].i64 = (int64_t)v;
            break;
        case GHFFI_U64:
            check_int(L, f, i, 0, LUA_MAXINTEGER, &v);
            args[i].u64 = (uint64_t)v;
            break;
        case GHFFI_F64:
            if (lua_type(L, idx) != LUA_TNUMBER) {
                return arg_error(L, f, i, luaL_typename(L, idx));
            }
            args[i].f64 = (double)lua_tonumber(L, idx);
            break;
        case GHFFI_STR:
            if (lua_type(L, idx) != LUA_TSTRING) {
                return arg_error(L, f, i, luaL_typename(L, idx));
            }
            args[i].str = lua_tolstring(L, idx, &len);
            if (strlen(args[i].str) != len) {
                return arg_error(L, f, i, "a string with a NUL byte inside (use bytes)");
            }
            break;
        case GHFFI_BYTES:
            if (lua_type(L, idx) != LUA_TSTRING) {
                return arg_error(L, f, i, luaL_typename(L, idx));
            }
            args[i].bytes.data = lua_tolstring(L, idx, &len);
            args[i].bytes.len = len;
            break;
        default:
            return luaL_error(L, _("%s.%s: bad signature"), plugin_name(f->owner), f->name);
        }
    }
    struct gh_err e;
    ghffi_value r;
    if (plugin_call(lp->h, f, args, L, &e, &r) != 0) {
        return luaL_error(L, "%s.%s: %s", plugin_name(f->owner), f->name, e.msg);
    }
    switch (sig->ret) {
    case GHFFI_VOID:
        return 0;
    case GHFFI_BOOL:
        lua_pushboolean(L, r.b);
        return 1;
    case GHFFI_I32:
        lua_pushinteger(L, r.i32);
        return 1;
    case GHFFI_U32:
        lua_pushinteger(L, (lua_Integer)r.u32);
        return 1;
    case GHFFI_I64:
        lua_pushinteger(L, (lua_Integer)r.i64);
        return 1;
    case GHFFI_U64:
        if (r.u64 <= (uint64_t)LUA_MAXINTEGER) {
            lua_pushinteger(L, (lua_Integer)r.u64);
        } else {
            lua_pushnumber(L, (lua_Number)r.u64);
        }
        return 1;
    case GHFFI_F64:
        lua_pushnumber(L, r.f64);
        return 1;
    case GHFFI_STR:
        if (!r.str) {
            lua_pushnil(L);
            return 1;
        }
        lp->pending = (void *)r.str;
        lua_pushstring(L, r.str);
        plugin_free_result(lp->h, lp->pending);
        lp->pending = NULL;
        return 1;
    case GHFFI_BYTES:
        if (!r.bytes.data) {
            lua_pushnil(L);
            return 1;
        }
        lp->pending = (void *)r.bytes.data;
        lua_pushlstring(L, r.bytes.data, r.bytes.len);
        plugin_free_result(lp->h, lp->pending);
        lp->pending = NULL;
        return 1;
    default:
        return 0;
    }
}

/* __index of a plugin's table: a name it does not have is an error. */
static int l_plugin_missing(lua_State *L) {
    const plugin *p = lua_touserdata(L, lua_upvalueindex(1));
    const char *name = lua_tostring(L, 2);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int i = 0; i < plugin_nfuncs(p); i++) {
        if (i) {
            luaL_addstring(&b, ", ");
        }
        luaL_addstring(&b, plugin_func(p, i)->name);
    }
    luaL_pushresult(&b);
    return luaL_error(L, _("plugin '%s' has no function '%s' (it has: %s)"), plugin_name(p),
                      name ? name : luaL_typename(L, 2), lua_tostring(L, -1));
}

/* The bus handler of a C subscription (upvalues: plugin_sub, lplug):
 * called with the event table (bus.publish) or (payload, topic) (bus.emit). */
static int l_plugin_handler(lua_State *L) {
    const plugin_sub *sub = lua_touserdata(L, lua_upvalueindex(1));
    lplug *lp = lua_touserdata(L, lua_upvalueindex(2));
    gh_event ev;
    memset(&ev, 0, sizeof ev);
    int payload_idx;
    if (lua_type(L, 2) == LUA_TSTRING) {
        payload_idx = 1;
        ev.topic = lua_tolstring(L, 2, &ev.topic_len);
    } else {
        luaL_checktype(L, 1, LUA_TTABLE);
        lua_settop(L, 1);
        lua_getfield(L, 1, "topic"); /* 2 */
        ev.topic = lua_tolstring(L, 2, &ev.topic_len);
        lua_getfield(L, 1, "seq");
        ev.seq = (int64_t)lua_tointeger(L, -1);
        lua_getfield(L, 1, "time");
        ev.time = (int64_t)lua_tointeger(L, -1);
        lua_getfield(L, 1, "payload");
        payload_idx = lua_gettop(L);
    }
    if (!ev.topic || !lp->h) {
        return luaL_error(L, _("plugin %s: handler called without an event"),
                          plugin_name(sub->owner));
    }
    codec_buf b;
    unsigned char mem[512];
    codec_buf_init_on(&b, mem, sizeof mem);
    int rc = lcodec_encode(L, payload_idx, &b, CODEC_MAX_DEPTH - 1);
    if (rc) {
        codec_buf_free(&b);
        return luaL_error(L, _("plugin %s: the payload of '%s' cannot be encoded: %s"),
                          plugin_name(sub->owner), ev.topic, err_msg(rc));
    }
    ev.payload = b.p;
    ev.payload_len = b.len;
    struct gh_err e;
    plugin_deliver(lp->h, sub, &ev, L, &e);
    codec_buf_free(&b);
    if (e.set) {
        /* the bus names the handler: "bus handler for T (plugin P, on 'PAT') failed" */
        lua_pushstring(L, e.msg);
        return lua_error(L);
    }
    return 0;
}

/* Registers p's C handlers with the state's bus.on, once. */
static void subscribe_all(lua_State *L, lplug *lp, plugin *p) {
    if (plugin_nsubs(p) == 0) {
        return;
    }
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &subbed_key) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_rawsetp(L, LUA_REGISTRYINDEX, &subbed_key);
    }
    if (lua_rawgetp(L, -1, p) != LUA_TNIL) {
        lua_pop(L, 2);
        return;
    }
    lua_pop(L, 1);
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
    lua_pushliteral(L, "bus");
    if (lua_rawget(L, -2) != LUA_TTABLE || lua_getfield(L, -1, "on") != LUA_TFUNCTION) {
        luaL_error(L, _("plugin '%s' subscribes to events, but there is no bus here"),
                   plugin_name(p));
        return;
    }
    int on = lua_gettop(L);
    for (int i = 0; i < plugin_nsubs(p); i++) {
        const plugin_sub *s = plugin_sub_at(p, i);
        lua_pushvalue(L, on);
        lua_pushstring(L, s->pattern);
        lua_pushlightuserdata(L, (void *)s);
        lua_pushlightuserdata(L, lp);
        lua_pushcclosure(L, l_plugin_handler, 2);
        lua_createtable(L, 0, 1);
        lua_pushfstring(L, _("plugin %s, on '%s'"), plugin_name(p), s->pattern);
        lua_setfield(L, -2, "label");
        lua_call(L, 3, 0);
    }
    lua_pop(L, 3); /* on, bus, globals */
    lua_pushboolean(L, 1);
    lua_rawsetp(L, -2, p);
    lua_pop(L, 1);
}

/* Notes p in the run record (file, SHA-256 of its bytes, name and version). */
static void note_plugin(lua_State *L, const plugin *p) {
    char sha[65] = "?";
    FILE *f = fopen(plugin_file(p), "rb");
    long n = f && fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    unsigned char *bytes = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (bytes && fseek(f, 0, SEEK_SET) == 0 && fread(bytes, 1, (size_t)n, f) == (size_t)n) {
        sha256_hex(bytes, (size_t)n, sha);
    }
    free(bytes);
    if (f) {
        fclose(f);
    }
    char what[PLUGIN_MAX_NAME + 80];
    snprintf(what, sizeof what, "%s %s", plugin_name(p), plugin_version(p));
    sandbox_note_plugin(L, plugin_file(p), sha, what);
}

/* Loads `name` (its validity checked by plugin_load) and pushes its table. */
static void push_plugin(lua_State *L, const char *name) {
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &cache_key) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_rawsetp(L, LUA_REGISTRYINDEX, &cache_key);
    }
    if (lua_getfield(L, -1, name) == LUA_TTABLE) {
        lua_remove(L, -2);
        return;
    }
    lua_pop(L, 1);
    lplug *lp = get_host(L);
    plugin *p;
    int rc = plugin_load(lp->h, name, &p);
    if (rc) {
        luaL_error(L, "%s", err_msg(rc));
        return;
    }
    subscribe_all(L, lp, p);
    note_plugin(L, p);
    int nf = plugin_nfuncs(p);
    lua_createtable(L, 0, nf);
    for (int i = 0; i < nf; i++) {
        const plugin_fn *f = plugin_func(p, i);
        lfn *up = lua_newuserdatauv(L, sizeof *up, 0);
        up->f = f;
        up->lp = lp;
        lua_pushcclosure(L, l_plugin_call, 1);
        lua_setfield(L, -2, f->name);
    }
    lua_createtable(L, 0, 2);
    lua_pushlightuserdata(L, p);
    lua_pushcclosure(L, l_plugin_missing, 1);
    lua_setfield(L, -2, "__index");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, name);
    lua_remove(L, -2);
}

static int l_plugin_load(lua_State *L) {
    const char *name = luaL_checkstring(L, 1);
    push_plugin(L, name);
    return 1;
}

int lplugin_require(lua_State *L, const char *name) {
    char path[4096];
    if (!plugin_name_ok(name) || plugin_find(name, path, sizeof path) != 0) {
        err_clear();
        return 0;
    }
    push_plugin(L, name);
    return 1;
}

static int l_plugin_loaded(lua_State *L) {
    lua_newtable(L);
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &host_key) != LUA_TUSERDATA) {
        lua_pop(L, 1);
        return 1;
    }
    lplug *lp = lua_touserdata(L, -1);
    lua_pop(L, 1);
    for (int i = 0; lp->h && i < plugin_count(lp->h); i++) {
        plugin *p = plugin_at(lp->h, i);
        lua_createtable(L, 0, 3);
        lua_pushstring(L, plugin_name(p));
        lua_setfield(L, -2, "name");
        lua_pushstring(L, plugin_version(p));
        lua_setfield(L, -2, "version");
        lua_newtable(L);
        for (int j = 0; j < plugin_nfuncs(p); j++) {
            lua_pushstring(L, plugin_func(p, j)->sigtext);
            lua_setfield(L, -2, plugin_func(p, j)->name);
        }
        lua_setfield(L, -2, "functions");
        lua_createtable(L, plugin_nsubs(p), 0);
        for (int j = 0; j < plugin_nsubs(p); j++) {
            lua_pushstring(L, plugin_sub_at(p, j)->pattern);
            lua_rawseti(L, -2, j + 1);
        }
        lua_setfield(L, -2, "events");
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

static int l_plugin_path(lua_State *L) {
    lua_pushstring(L, plugin_path());
    return 1;
}

static int l_plugin_memory(lua_State *L) {
    size_t n = 0;
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &host_key) == LUA_TUSERDATA) {
        lplug *lp = lua_touserdata(L, -1);
        n = lp->h ? plugin_memory(lp->h) : 0;
    }
    lua_pushinteger(L, (lua_Integer)n);
    return 1;
}

void lplugin_push(lua_State *L) {
    static const luaL_Reg fns[] = {{"load", l_plugin_load},
                                   {"loaded", l_plugin_loaded},
                                   {"path", l_plugin_path},
                                   {"memory", l_plugin_memory},
                                   {NULL, NULL}};
    luaL_newlib(L, fns);
}

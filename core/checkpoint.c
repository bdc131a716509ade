/*
 * checkpoint.c — run.chunks (chunked runs that resume after a kill) and
 * run.checkpoint, over the system collection `_checkpoints`.
 *
 * Called by sandbox.c (checkpoint_install from sandbox_guard_db); built on
 * store.h, lua_store.h and lua_codec.h.
 *
 * Two halves:
 *   C    cp_get(name) reads a checkpoint in the state's current transaction;
 *        cp_put{...} writes one into the db.atomic transaction in progress
 *        (defining `_checkpoints` on first use, like runs.c does `_runs`).
 *   Lua  the driver (driver_src below): validates, reads the checkpoint,
 *        then loops: db.atomic(one chunk of fn calls + cp_put), progress.
 *
 * Invariants:
 *  1. A chunk's writes and the checkpoint saying it is done are in one
 *     transaction: committed together or not at all. The driver's own
 *     position advances only after db.atomic returns, so a unit that
 *     db.atomic redoes (the map grew) starts from the same place.
 *  2. run.chunks refuses to start inside a db.atomic of the script: its
 *     chunks would not commit one by one. Inside the whole-run transaction
 *     of --atomic/--dry-run the chunks are savepoints of it (that mode's
 *     promise, all or nothing, wins).
 *  3. The driver holds what it calls (db.atomic, scan, pairs, ...) from the
 *     moment it is installed, so a script that changes globals or db
 *     fields afterwards does not change how checkpoints are kept.
 */
#include "checkpoint.h"

#include "clock.h"
#include "err.h"
#include "lua_codec.h"
#include "lua_store.h"

#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const store_sysfield cp_fields[] = {
    {"name", FT_STRING, 0},    {"kind", FT_STRING, 0}, {"after", FT_ANY, 1},
    {"done", FT_INT, 0},       {"total", FT_INT, 1},   {"finished", FT_BOOL, 0},
    {"pass", FT_INT, 0},       {"run", FT_STRING, 1},  {"started", FT_NUMBER, 0},
    {"updated", FT_NUMBER, 0}, {"over", FT_STRING, 1},
};
#define CP_NFIELDS ((int)(sizeof cp_fields / sizeof *cp_fields))

/* The `_checkpoints` definition in write transaction t, defined (or
 * brought up to date) first when needed. */
static int cp_coll(store_txn *t, const store_coll **out) {
    store_coll *def = store_sysdef(CHECKPOINT_COLLECTION, cp_fields, CP_NFIELDS, 0);
    return def ? store_sys_ensure(t, def, out) : GH_ENOMEM;
}

/* Pushes c's tables position -> name and name -> position (1-based). */
static void push_names(lua_State *L, const store_coll *c) {
    lua_createtable(L, c->nfields, 0);
    lua_createtable(L, 0, c->nfields);
    for (int i = 0; i < c->nfields; i++) {
        lua_pushstring(L, c->fields[i].name);
        lua_rawseti(L, -3, i + 1);
        lua_pushinteger(L, i + 1);
        lua_setfield(L, -2, c->fields[i].name);
    }
}

/* cp_get(name) -> the checkpoint as a table, or nil. Also run.checkpoint. */
static int l_cp_get(lua_State *L) {
    lua_db *db = lstore_db(L);
    size_t n;
    const char *name = luaL_checklstring(L, 1, &n);
    store_txn *t;
    int owned, rc;
    const store_coll *c;
    if ((rc = lstore_begin(db, 0, &t, &owned))) {
        return lstore_raise(L, rc);
    }
    if ((rc = store_coll_get(t, CHECKPOINT_COLLECTION, &c)) == GH_ENOTFOUND) {
        err_clear();
        lstore_end(db, t, owned, 0);
        lua_pushnil(L);
        return 1;
    }
    codec_buf k;
    codec_buf_init(&k);
    const void *val;
    size_t vlen;
    if (rc == 0) {
        key_put_str(&k, name, n);
        rc = k.oom ? GH_ENOMEM : store_get(t, c, k.p, k.len, &val, &vlen);
    }
    codec_buf_free(&k);
    if (rc == 0) {
        push_names(L, c);
        lua_pop(L, 1);
        rc = lcodec_push_record(L, c, -1, val, vlen);
        if (rc == 0) {
            lua_remove(L, -2);
        }
    } else if (rc == GH_ENOTFOUND) {
        err_clear();
        lua_pushnil(L);
    }
    rc = lstore_end(db, t, owned, rc);
    if (rc && rc != GH_ENOTFOUND) {
        return lstore_raise(L, rc);
    }
    return 1;
}

/* cp_put(record): writes the checkpoint into the db.atomic transaction in
 * progress; fills in run, updated, and started when absent. */
static int l_cp_put(lua_State *L) {
    lua_db *db = lstore_db(L);
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    store_txn *t = lstore_write_txn(db);
    if (!t) {
        return luaL_error(L, _("run.chunks: a checkpoint is written only inside db.atomic"));
    }
    const store_coll *c;
    int rc = cp_coll(t, &c);
    if (rc) {
        lstore_end(db, t, 0, rc);
        return lstore_raise(L, rc);
    }
    double now = clock_wall_s();
    lua_pushnumber(L, now);
    lua_setfield(L, 1, "updated");
    if (lua_getfield(L, 1, "started") == LUA_TNIL) {
        lua_pushnumber(L, now);
        lua_setfield(L, 1, "started");
    }
    lua_pop(L, 1);
    if (lua_getfield(L, LUA_REGISTRYINDEX, "gonghui.run_id") == LUA_TSTRING &&
        lua_rawlen(L, -1) > 0) {
        lua_setfield(L, 1, "run");
    } else {
        lua_pop(L, 1);
    }
    push_names(L, c);
    codec_buf b;
    codec_buf_init(&b);
    rc = lcodec_encode_record(L, 1, c, -1, NULL, &b);
    if (rc == 0) {
        rc = store_put(t, c, STORE_REPLACE, b.p, b.len);
    }
    codec_buf_free(&b);
    lua_settop(L, 1);
    rc = lstore_end(db, t, 0, rc); /* notes a full map: db.atomic grows it and redoes */
    return rc ? lstore_raise(L, rc) : 0;
}

/* cp_inside() -> true inside a db.atomic of the script (not the whole-run
 * transaction of --atomic or --dry-run). */
static int l_cp_inside(lua_State *L) {
    lua_db *db = lstore_db(L);
    lua_pushboolean(L, lstore_in_atomic(db));
    return 1;
}

/* is_coll(x) -> true if x is a collection object (db.name). */
static int l_cp_is_coll(lua_State *L) {
    lua_pushboolean(L, lstore_testudata(L, 1, &lstore_coll_key) != NULL);
    return 1;
}

/* The driver. Its arguments: db.atomic, cp_get, cp_put, cp_inside, is_coll,
 * the run table (run.progress is looked up there at each chunk: script.c
 * sets it after this is installed). Returns run.chunks. */
static const char driver_src[] =
    "local atomic, cp_get, cp_put, cp_inside, is_coll, runt = ...\n"
    "local type, error, pairs, tostring, rawget, mtype = type, error, pairs, tostring, rawget, "
    "math.type\n"
    "local format = string.format\n"
    "local KINDS = { list = 'a list', collection = 'a collection', ['function'] = 'a function' }\n"
    "local OPTS = { size = 1, total = 1, key = 1, where = 1, again = 1, label = 1, progress = 1 }\n"
    "local SCAN = { index = 1, eq = 1, prefix = 1, from = 1, to = 1, limit = 1, offset = 1,\n"
    "               reverse = 1 }\n"
    "local function keyable(k)\n"
    "  local t = type(k)\n"
    "  return t == 'string' or t == 'number' or t == 'boolean'\n"
    "end\n"
    "return function(name, items, fn, opts)\n"
    "  if type(name) ~= 'string' or name == '' then\n"
    "    error('run.chunks: the first argument names the checkpoint (a string), got ' ..\n"
    "          type(name), 2)\n"
    "  end\n"
    "  if type(fn) ~= 'function' then\n"
    "    error('run.chunks: the third argument is the function called for each item, got ' ..\n"
    "          type(fn), 2)\n"
    "  end\n"
    "  if opts == nil then opts = {}\n"
    "  elseif type(opts) ~= 'table' then error('run.chunks: the options must be a table', 2) end\n"
    "  for k in pairs(opts) do\n"
    "    if not OPTS[k] then\n"
    "      error(\"run.chunks: unknown option '\" .. tostring(k) .. \"' (options: size, total, \"\n"
    "            .. 'key, where, again, label, progress)', 2)\n"
    "    end\n"
    "  end\n"
    "  local size = opts.size or 1000\n"
    "  if mtype(size) ~= 'integer' or size < 1 then\n"
    "    error('run.chunks: size must be a whole number, at least 1; got ' .. tostring(size), 2)\n"
    "  end\n"
    "  local total = opts.total\n"
    "  if total ~= nil and (mtype(total) ~= 'integer' or total < 0) then\n"
    "    error('run.chunks: total must be a whole number; got ' .. tostring(total), 2)\n"
    "  end\n"
    "  if cp_inside() then\n"
    "    error('run.chunks cannot run inside db.atomic: its chunks must commit one by one '\n"
    "          .. '(call it outside db.atomic; gonghui run --atomic makes the whole run one '\n"
    "          .. 'transaction)', 2)\n"
    "  end\n"
    "  local kind, source, keyof, count_rest\n"
    "  if is_coll(items) then\n"
    "    kind = 'collection'\n"
    "    if opts.key ~= nil then\n"
    "      error('run.chunks: key is for items given by a function; a collection goes in the '\n"
    "            .. 'order of its primary key', 2)\n"
    "    end\n"
    "    local where = opts.where\n"
    "    if where ~= nil then\n"
    "      if type(where) ~= 'table' then\n"
    "        error('run.chunks: where must be a table of conditions on fields', 2)\n"
    "      end\n"
    "      for k in pairs(where) do\n"
    "        if SCAN[k] then\n"
    "          error(\"run.chunks: where takes conditions on fields; '\" .. k .. \"' is a scan \"\n"
    "                .. 'option (a collection goes in the order of its primary key)', 2)\n"
    "        end\n"
    "      end\n"
    "    end\n"
    "    local kf = items:schema().key\n"
    "    -- the items left after key `after` (fn may have taken some out of `where`)\n"
    "    count_rest = function(after)\n"
    "      if after == nil then return items:count(where) end\n"
    "      local spec = { index = kf, from = after }\n"
    "      if where then for k, v in pairs(where) do spec[k] = v end end\n"
    "      local n = items:count(spec)\n"
    "      spec.to = after\n"
    "      return n - items:count(spec)\n"
    "    end\n"
    "    source = function(after)\n"
    "      local spec = { index = kf, from = after }\n"
    "      if where then for k, v in pairs(where) do spec[k] = v end end\n"
    "      return items:scan(spec)\n"
    "    end\n"
    "    keyof = function(row) return row[kf] end\n"
    "  elseif type(items) == 'table' then\n"
    "    kind = 'list'\n"
    "    if opts.key ~= nil or opts.where ~= nil or opts.total ~= nil then\n"
    "      error('run.chunks: key, where and total are not for a list of items', 2)\n"
    "    end\n"
    "    total = #items\n"
    "  elseif type(items) == 'function' then\n"
    "    kind = 'function'\n"
    "    if opts.where ~= nil then\n"
    "      error('run.chunks: where is for a collection; the function chooses its items', 2)\n"
    "    end\n"
    "    local key = opts.key\n"
    "    if type(key) == 'string' then keyof = function(item) return item[key] end\n"
    "    elseif type(key) == 'function' then keyof = key\n"
    "    else\n"
    "      error(\"run.chunks: items given by a function need key = 'field' (or a function \"\n"
    "            .. 'item -> key) to know where a chunk stopped', 2)\n"
    "    end\n"
    "    source = items\n"
    "  else\n"
    "    error('run.chunks: items must be a list, a collection (db.name) or a function '\n"
    "          .. 'after -> iterator; got ' .. type(items), 2)\n"
    "  end\n"
    "  -- what the pass goes over: a checkpoint of another pass is never taken\n"
    "  -- for this one (issue 16, class 7: a run over another collection under\n"
    "  -- the same name marked it finished, and the real pass skipped its rest)\n"
    "  local function show(v)\n"
    "    if type(v) ~= 'table' then return type(v) .. ':' .. tostring(v) end\n"
    "    local ks = {}\n"
    "    for k in pairs(v) do ks[#ks + 1] = k end\n"
    "    table.sort(ks, function(a, b) return tostring(a) < tostring(b) end)\n"
    "    local out = {}\n"
    "    for _, k in ipairs(ks) do out[#out + 1] = tostring(k) .. '=' .. show(v[k]) end\n"
    "    return '{' .. table.concat(out, ',') .. '}'\n"
    "  end\n"
    "  local over\n"
    "  if kind == 'collection' then\n"
    "    over = 'collection ' .. items:schema().name .. (opts.where and (' where ' .. "
    "show(opts.where)) or '')\n"
    "  elseif kind == 'list' then\n"
    "    over = 'a list of ' .. total .. ' items'\n"
    "  else\n"
    "    over = 'items from a function' .. (type(opts.key) == 'string' and (' keyed by ' .. "
    "opts.key) or '')\n"
    "  end\n"
    "  local cp = cp_get(name)\n"
    "  if cp and cp.kind ~= kind then\n"
    "    error(format(\"run.chunks: checkpoint '%s' was made over %s, not %s (use another \"\n"
    "                 .. 'name)', name, KINDS[cp.kind] or cp.kind, KINDS[kind]), 2)\n"
    "  end\n"
    "  if cp and cp.over and cp.over ~= over and (kind ~= 'list' or cp.finished) then\n"
    "    error(format(\"run.chunks: checkpoint '%s' belongs to a pass over %s; this call goes \"\n"
    "                 .. 'over %s: give this work its own name', name, cp.over, over), 2)\n"
    "  end\n"
    "  local after, done, pass, started, resumed = nil, 0, 1, nil, false\n"
    "  if cp and cp.finished then\n"
    "    if not opts.again then\n"
    "      return { done = cp.done, new = 0, chunks = 0, pass = cp.pass, resumed = false,\n"
    "               finished = true, already = true }\n"
    "    end\n"
    "    pass = cp.pass + 1\n"
    "  elseif cp then\n"
    "    after, done, pass, started, resumed = cp.after, cp.done, cp.pass, cp.started, true\n"
    "    if kind == 'list' and cp.total ~= total then\n"
    "      error(format(\"run.chunks: checkpoint '%s' was made over a list of %d items, this \"\n"
    "                   .. 'one has %d: resume with the same list (or use another name)',\n"
    "                   name, cp.total, total), 2)\n"
    "    end\n"
    "  end\n"
    "  if count_rest and total == nil then total = done + count_rest(after) end\n"
    "  -- the bar counts this run's part (so rate and time left are right after a resume)\n"
    "  local label = opts.label or name\n"
    "  local done0 = done\n"
    "  if resumed then label = format('%s (resumed after %d)', label, done0) end\n"
    "  local show = opts.progress ~= false\n"
    "  local new, nchunks = 0, 0\n"
    "  local function chunk()\n"
    "    local n, last, fin = 0, after, false\n"
    "    if kind == 'list' then\n"
    "      local i = after or 0\n"
    "      local stop = i + size\n"
    "      if stop >= total then stop, fin = total, true end\n"
    "      for j = i + 1, stop do fn(items[j], j) end\n"
    "      if stop > i then n, last = stop - i, stop end\n"
    "    else\n"
    "      local first, full = after ~= nil, false\n"
    "      for item in source(after) do\n"
    "        local k = keyof(item)\n"
    "        if not keyable(k) then\n"
    "          error(format(\"run.chunks '%s': an item's key is %s %s; keys are strings, \"\n"
    "                       .. 'numbers or booleans', name, type(k), tostring(k)), 0)\n"
    "        end\n"
    "        if first and k == after then\n"
    "          -- the last item of the chunk before (a scan's from is inclusive)\n"
    "        elseif n == size then\n"
    "          full = true\n"
    "          break\n"
    "        else\n"
    "          fn(item, k)\n"
    "          n, last = n + 1, k\n"
    "        end\n"
    "        first = false\n"
    "      end\n"
    "      fin = not full\n"
    "    end\n"
    "    cp_put{ name = name, kind = kind, after = last, done = done + n, total = total,\n"
    "            finished = fin, pass = pass, started = started, over = over }\n"
    "    return n, last, fin\n"
    "  end\n"
    "  while true do\n"
    "    local n, last, fin = atomic(chunk)\n"
    "    after, done, new, nchunks = last, done + n, new + n, nchunks + 1\n"
    "    if show then\n"
    "      local p = rawget(runt, 'progress')\n"
    "      if p then p(new, total and total - done0 or 0, label) end\n"
    "    end\n"
    "    if fin then break end\n"
    "  end\n"
    "  return { done = done, new = new, chunks = nchunks, pass = pass, resumed = resumed,\n"
    "           finished = true }\n"
    "end\n";

/* Makes the driver's run.chunks function (upvalues: 1 db.atomic, 2 the
 * lua_db userdata, 3 the db table, 4 the run table) and returns it. Called
 * by the stub below on the first run.chunks: compiling the driver at every
 * start was a third of an empty run's instructions (issue 18, W6). */
static int l_cp_make(lua_State *L) {
    if (luaL_loadbufferx(L, driver_src, sizeof driver_src - 1, "=run.chunks", "t") != LUA_OK) {
        return lua_error(L); /* cannot happen: the source is ours */
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_CFunction fns[] = {l_cp_get, l_cp_put, l_cp_inside, l_cp_is_coll};
    for (int i = 0; i < 4; i++) {
        lua_pushvalue(L, lua_upvalueindex(2));
        lua_pushvalue(L, lua_upvalueindex(3));
        lua_pushcclosure(L, fns[i], 2);
    }
    lua_pushvalue(L, lua_upvalueindex(4));
    lua_call(L, 6, 1);
    return 1;
}

/* run.chunks as installed: makes the driver on the first call and tail-calls
 * it, so its errors at level 2 still name the script's line. */
static const char stub_src[] = "local make = ...\n"
                               "local real\n"
                               "return function(...)\n"
                               "  real = real or make()\n"
                               "  return real(...)\n"
                               "end\n";

void checkpoint_install(lua_State *L, int db_idx, int run_idx) {
    db_idx = lua_absindex(L, db_idx);
    run_idx = lua_absindex(L, run_idx);
    lua_getfield(L, db_idx, "atomic");
    int atomic = lua_gettop(L);
    /* every db function holds 1: the lua_db userdata, 2: the db table */
    if (!lua_iscfunction(L, atomic) || !lua_getupvalue(L, atomic, 1) ||
        !luaL_testudata(L, -1, DB_MT)) {
        lua_settop(L, atomic - 1);
        return;
    }
    int ud = lua_gettop(L);
    if (luaL_loadbufferx(L, stub_src, sizeof stub_src - 1, "=run.chunks", "t") != LUA_OK) {
        lua_settop(L, atomic - 1); /* cannot happen: the source is ours */
        return;
    }
    lua_pushvalue(L, atomic);
    lua_pushvalue(L, ud);
    lua_pushvalue(L, db_idx);
    lua_pushvalue(L, run_idx);
    lua_pushcclosure(L, l_cp_make, 4);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
        lua_settop(L, atomic - 1);
        return;
    }
    lua_setfield(L, run_idx, "chunks");
    lua_pushvalue(L, ud);
    lua_pushvalue(L, db_idx);
    lua_pushcclosure(L, l_cp_get, 2);
    lua_setfield(L, run_idx, "checkpoint");
    lua_settop(L, atomic - 1);
}

/*
 * ghstate.c — the Lua state a gonghui program runs in, built from one table
 * (`libs` below), as Lua's linit.c builds its own. sandbox.c makes the state
 * (the allow-listed standard library, the limits, require, run.open); each
 * entry of the table then sets one global, for the kinds of program it names.
 * A library a kind lacks is a decision written in the table, not an
 * accident of three pieces of code drifting apart.
 *
 *   global   for            what
 *   db       run repl serve the store's Lua face (lua_store.c), guarded (sandbox.c)
 *   bus      run repl serve the bus's Lua face (lua_bus.c)
 *   params   run repl serve name=value parameters (a number when it prints back as given)
 *   run      run repl serve run.uid, seed, now, mode, dry_run, dir, progress, fail, host_time
 *   export   run repl       export.csv & co. (lua_export.c), into the export folder
 *   json     serve          JSON for the handlers (lua_json.c)
 *
 * Invariant: every kind's state is made here; script.c, repl.c and serve.c
 * only add what is theirs (the message handler and db on the stack, the
 * REPL's prelude, the routes).
 */
#include "ghstate.h"

#include "clock.h"
#include "err.h"
#include "lua_bus.h"
#include "lua_export.h"
#include "lua_json.h"
#include "lua_store.h"
#include "progress.h"

#include <assert.h>
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Makes `params` from name=value strings; a number written as Lua prints it
 * (2025, -3, 1.5) becomes that number, everything else stays text. */
static int open_params(lua_State *L, sandbox *sb, const ghstate_opts *o) {
    (void)sb;
    lua_newtable(L);
    for (int i = 0; i < o->nparams; i++) {
        const char *p = o->params[i], *eq = strchr(p, '=');
        if (!eq || eq == p) {
            fprintf(stderr,
                    _("gonghui run: parameter \"%s\" is not name=value (for example "
                      "members=5000)\n"),
                    p);
            lua_pop(L, 1);
            return GH_EINVAL;
        }
        lua_pushlstring(L, p, (size_t)(eq - p));
        /* a number only when it prints back as written: a=007, a 19-digit card
         * number, 12.50 or 1e3 keep their text (a script asks for a number) */
        if (lua_stringtonumber(L, eq + 1) != 0) {
            lua_pushvalue(L, -1); /* lua_tostring converts in place: convert a copy */
            int same = strcmp(lua_tostring(L, -1), eq + 1) == 0;
            lua_pop(L, 1);
            if (!same) {
                lua_pop(L, 1);
                lua_pushstring(L, eq + 1);
            }
        } else {
            lua_pushstring(L, eq + 1);
        }
        lua_rawset(L, -3);
    }
    lua_setglobal(L, "params");
    return 0;
}

static int open_db(lua_State *L, sandbox *sb, const ghstate_opts *o) {
    lstore_push_db(L, o->s);
    sandbox_guard_db(sb, -1);
    lua_setglobal(L, "db");
    return 0;
}

static int open_bus(lua_State *L, sandbox *sb, const ghstate_opts *o) {
    (void)sb, (void)o;
    lua_getglobal(L, "db");
    lbus_push(L, -1);
    lua_setglobal(L, "bus");
    lua_pop(L, 1);
    return 0;
}

/* run.progress(done, total [, label]) */
static int l_run_progress(lua_State *L) {
    progress_draw(luaL_checknumber(L, 1), luaL_optnumber(L, 2, 0), luaL_optstring(L, 3, ""));
    return 0;
}

/* run.fail(message): ends the run as failed (exit code 1) with a message for
 * a person and no traceback: a refusal or a check that found problems is not
 * a crash. The message is remembered in the registry so that the runner's
 * message handler (lstore_traceback) knows to leave it alone; the open
 * transaction is rolled back as for any error, and pcall can catch it. */
static int l_run_fail(lua_State *L) {
    luaL_checkstring(L, 1);
    lua_settop(L, 1);
    lua_pushvalue(L, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, LSTORE_FAIL_KEY);
    return lua_error(L);
}

/* run.host_time() -> seconds since 1970 on the host's clock: never --now,
 * which a script's caller chooses. What a draw records as the time its
 * entrant list closed (scripts/lib/program/draw.lua). */
static int l_run_host_time(lua_State *L) {
    sandbox_note_outside(L); /* a redo would read another time */
    lua_pushinteger(L, (lua_Integer)(clock_wall_ms() / 1000));
    return 1;
}

/* The sandbox's `run` table (it holds run.open) gets the rest. */
static int open_run(lua_State *L, sandbox *sb, const ghstate_opts *o) {
    (void)sb;
    lua_getglobal(L, "run");
    if (o->uid && *o->uid) {
        lua_pushstring(L, o->uid);
        lua_setfield(L, -2, "uid");
    }
    lua_pushinteger(L, (lua_Integer)o->sb.seed);
    lua_setfield(L, -2, "seed");
    lua_pushinteger(L, (lua_Integer)o->sb.now);
    lua_setfield(L, -2, "now");
    lua_pushboolean(L, o->dry_run);
    lua_setfield(L, -2, "dry_run");
    lua_pushstring(L, o->mode ? o->mode : "run");
    lua_setfield(L, -2, "mode");
    { /* run.dir: the script's folder, where require and loadfile look first */
        const char *dir = o->sb.script_dir ? o->sb.script_dir : ".";
        char *real = realpath(dir, NULL);
        lua_pushstring(L, real ? real : dir);
        free(real);
        lua_setfield(L, -2, "dir");
    }
    lua_pushcfunction(L, l_run_progress);
    lua_setfield(L, -2, "progress");
    lua_pushcfunction(L, l_run_fail);
    lua_setfield(L, -2, "fail");
    lua_pushcfunction(L, l_run_host_time);
    lua_setfield(L, -2, "host_time");
    lua_pop(L, 1);
    return 0;
}

static int open_export(lua_State *L, sandbox *sb, const ghstate_opts *o) {
    (void)sb;
    char *out = realpath(o->export_dir ? o->export_dir : ".", NULL);
    lexport_install(L, out ? out : ".");
    free(out);
    return 0;
}

static int open_json(lua_State *L, sandbox *sb, const ghstate_opts *o) {
    (void)sb, (void)o;
    ljson_push(L);
    lua_setglobal(L, "json");
    return 0;
}

#define ALL (GHSTATE_RUN | GHSTATE_REPL | GHSTATE_SERVE)

/* The libraries, in the order they are opened (bus needs db). */
static const struct ghstate_lib {
    const char *name;
    int kinds;
    int (*open)(lua_State *L, sandbox *sb, const ghstate_opts *o);
} libs[] = {
    {"db", ALL, open_db},
    {"bus", ALL, open_bus},
    {"params", ALL, open_params},
    {"run", ALL, open_run},
    {"export", GHSTATE_RUN | GHSTATE_REPL, open_export},
    {"json", GHSTATE_SERVE, open_json},
    {NULL, 0, NULL},
};

int ghstate_new(const ghstate_opts *o, sandbox **out) {
    assert(o->s && o->kind && "ghstate_new: a state needs its store and its kind");
    sandbox *sb;
    int rc = sandbox_new(&o->sb, &sb);
    if (rc) {
        return rc;
    }
    lua_State *L = sandbox_state(sb); /* a generational collector (sandbox_new) */
    if (o->uid) {
        lbus_set_run(L, o->uid);
    }
    for (const struct ghstate_lib *lib = libs; lib->name; lib++) {
        if ((lib->kinds & o->kind) && (rc = lib->open(L, sb, o)) != 0) {
            sandbox_free(sb);
            return rc;
        }
    }
    if (o->readonly) {
        lexport_readonly(L);
    }
    *out = sb;
    return 0;
}

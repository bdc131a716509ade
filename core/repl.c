/*
 * repl.c — `gonghui repl`: read a statement, run it, show the result.
 *
 * Calls ghstate.c (the state, built as for batch runs: db, bus, params,
 * run.*, export), runs.c (a record when someone unmasks personal data),
 * table.c (tables) and libedit.
 * The Lua half (display, masking, completion) is repl_prelude.lua, compiled
 * into the binary as repl_prelude.h.
 *
 * One statement, step by step:
 *   1. read lines until the chunk is complete: `return <text>` is tried
 *      first (an expression prints its values), then <text> as statements;
 *      a syntax error that ends in <eof> means "keep reading";
 *   2. run it under lua_pcall with lstore_traceback, inside db.atomic when
 *      writes are on, armed as a run is (sandbox_arm): Ctrl-C makes it
 *      raise at every instruction until it has unwound (pcall cannot
 *      swallow it); SIGTERM too, and the loop then ends;
 *   3. `_` gets the first result; results are shown unless the text ends
 *      in ';';
 *   4. lstore_release: no read transaction is held while the prompt waits
 *      (a held reader makes the file grow under writers).
 * Invariants: writes go only through the guarded functions (refused unless
 * `.write on` / --write); the process never waits at the prompt inside a
 * transaction.
 */
#include "repl.h"
#include "cli.h"

#include "clock.h"
#include "err.h"
#include "paths.h"
#include "import.h"
#include "lua_bus.h"
#include "lua_store.h"
#include "runs.h"
#include "sandbox.h"
#include "ghstate.h"
#include "table.h"
#include "xlsx_out.h"
#include "lazylib.h"

#include <errno.h>
#include <fcntl.h>
#include <histedit.h>
#include <langinfo.h>
#include <lauxlib.h>
#include <limits.h>
#include <locale.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "repl_prelude.h" /* generated: static const char repl_prelude[] */

/* libedit is loaded on first use (lazylib.c); its two variadic functions
 * are called through the pointers lazylib.h gives. */
#define el_set (gh_el_set())
#define history (gh_history())

#include "gh_version.h" /* generated: GH_VERSION, GH_VERSION_FULL */

#define PROMPT "gonghui> "
#define PROMPT2 "   ...> "
#define HISTORY_MAX 2000

typedef struct repl {
    store *s;
    lua_State *L;
    sandbox *sb;
    ldb *db;
    int tty, write, timer, mask, failed;
    int term;    /* SIGTERM arrived: leave after the statement it stopped */
    int in_file; /* running a file (.read FILE, gonghui repl FILE.lua): .write on is refused */
    tbl_opts topts;
    char *once;   /* the next result goes to this file (.once) */
    FILE *output; /* results and print go here (.output FILE); NULL: stdout */
    char *output_name;
    char hist[PATH_MAX];
    EditLine *el;
    History *hist_h;
    int prelude_ref;    /* the prelude's table M */
    int settings_ref;   /* S */
    const char *line;   /* the statement being run (borrowed, for hints) */
    double write_since; /* when writes were first allowed (0: never): the session is a run */
} repl;

static repl *R; /* for the signal handler and libedit callbacks */
/* Ctrl-C is the sandbox's (sandbox_listen, sandbox_arm): a statement runs
 * armed and a Ctrl-C makes it raise "interrupted" at its next instruction,
 * in every coroutine it resumed; a second one while a library function
 * runs ends the process; at the prompt it is only noted, and the blocking
 * read returns EINTR. */

/* 1 if a noted stop was SIGTERM (the loop then leaves), after forgetting it. */
static int take_stop(repl *r) {
    int signo = 0, stop = sandbox_stopped(r->sb, &signo);
    sandbox_clear_stop(r->sb);
    if (stop && signo == SIGTERM) {
        r->term = 1;
    }
    return r->term;
}

/* ---- output -------------------------------------------------------------------------- */

/* The stream the next result goes to: the .once file, else stdout. *mode
 * gets its table mode. NULL after printing why the file cannot be opened. */
static FILE *out_stream(repl *r, tbl_opts *o) {
    *o = r->topts;
    if (!r->once) {
        return r->output ? r->output : stdout;
    }
    const char *dot = strrchr(r->once, '.');
    if (dot && strcmp(dot, ".json") == 0) {
        o->mode = TBL_JSON;
    } else if (dot && strcmp(dot, ".jsonl") == 0) {
        o->mode = TBL_JSONL;
    } else {
        o->mode = TBL_CSV;
        o->excel = 1;
    }
    o->max_rows = 0;
    o->max_width = 0;
    o->footer = 0;
    FILE *f = fopen(r->once, "w");
    if (!f) {
        fprintf(stderr, _("gonghui: .once: cannot write %s: %s\n"), r->once, strerror(errno));
        free(r->once);
        r->once = NULL;
    }
    return f;
}

static void out_done(repl *r, FILE *f, size_t rows) {
    if (f == stdout || f == r->output) {
        fflush(f);
        return;
    }
    int bad = fclose(f) != 0;
    if (bad) {
        fprintf(stderr, _("gonghui: .once: writing %s failed: %s\n"), r->once, strerror(errno));
    } else if (r->tty) {
        fprintf(stderr, _n("wrote %zu row to %s\n", "wrote %zu rows to %s\n", rows), rows, r->once);
    }
    free(r->once);
    r->once = NULL;
}

/* 1 if the .once file is an Excel workbook (written by the xlsx plugin). */
static int once_xlsx(const repl *r) {
    const char *dot = r->once ? strrchr(r->once, '.') : NULL;
    return dot && strcasecmp(dot, ".xlsx") == 0;
}

/* The .once result as an .xlsx file: cols (a table of names, or NULL for
 * one column "value" holding text) and rows as C.render has them. */
static void once_to_xlsx(repl *r, lua_State *L, int ncols, size_t nrows, const char *text) {
    xlsx_out *x;
    int rc = xlsx_out_open(r->once, &x);
    for (int i = 0; rc == 0 && i < ncols; i++) {
        const char *name = "value";
        if (!text) {
            lua_rawgeti(L, 1, i + 1);
            name = lua_tostring(L, -1);
        }
        rc = xlsx_out_cell(x, name ? name : "", name ? strlen(name) : 0);
        if (!text) {
            lua_pop(L, 1);
        }
    }
    rc = rc ? rc : xlsx_out_row(x);
    if (text && rc == 0) {
        size_t n = strlen(text);
        while (n && (text[n - 1] == '\n' || text[n - 1] == '\r')) {
            n--; /* the line end C.out text has */
        }
        rc = xlsx_out_cell(x, text, n);
        rc = rc ? rc : xlsx_out_row(x);
    }
    for (size_t k = 1; !text && rc == 0 && k <= nrows; k++) {
        lua_rawgeti(L, 2, (lua_Integer)k);
        lua_getfield(L, -1, "k");
        const char *kinds = lua_tostring(L, -1);
        for (int i = 0; rc == 0 && i < ncols; i++) {
            size_t n = 0;
            lua_rawgeti(L, -2, i + 1);
            const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &n) : "";
            int null = !kinds || (size_t)i >= strlen(kinds) || kinds[i] == 'z';
            rc = xlsx_out_cell(x, null ? "" : s, null ? 0 : n);
            lua_pop(L, 1);
        }
        lua_pop(L, 2);
        rc = rc ? rc : xlsx_out_row(x);
    }
    if (rc == 0) {
        rc = xlsx_out_close(x, 1);
    } else if (rc != 0 && x) {
        xlsx_out_close(x, 0);
    }
    if (rc) {
        fprintf(stderr, _("gonghui: .once: cannot write %s: %s\n"), r->once, err_msg(rc));
        r->failed = 1;
    } else if (r->tty) {
        fprintf(stderr, _n("wrote %zu row to %s\n", "wrote %zu rows to %s\n", nrows), nrows,
                r->once);
    }
    free(r->once);
    r->once = NULL;
}

/* C.out(text) */
static int l_repl_out(lua_State *L) {
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    tbl_opts o;
    if (once_xlsx(R)) {
        once_to_xlsx(R, L, 1, 1, s);
        return 0;
    }
    FILE *f = out_stream(R, &o);
    if (f) {
        fwrite(s, 1, n, f);
        out_done(R, f, 1);
    }
    return 0;
}

/* print(...) in the REPL: as Lua's, to the .output file when one is set. */
static int l_repl_print(lua_State *L) {
    int n = lua_gettop(L);
    FILE *f = R->output ? R->output : stdout;
    for (int i = 1; i <= n; i++) {
        size_t len;
        const char *s = luaL_tolstring(L, i, &len);
        if (i > 1) {
            fputc('\t', f);
        }
        fwrite(s, 1, len, f);
        lua_pop(L, 1);
    }
    fputc('\n', f);
    fflush(f);
    return 0;
}

/* C.render(cols, rows): rows are arrays of texts (false for none) with
 * their kinds in row.k. */
static int l_repl_render(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checktype(L, 2, LUA_TTABLE);
    int ncols = (int)lua_rawlen(L, 1);
    if (once_xlsx(R)) {
        once_to_xlsx(R, L, ncols, lua_rawlen(L, 2), NULL);
        return 0;
    }
    tbl *t = tbl_new(ncols);
    if (!t) {
        return luaL_error(L, "not enough memory");
    }
    for (int i = 0; i < ncols; i++) {
        lua_rawgeti(L, 1, i + 1);
        tbl_set_col(t, i, lua_tostring(L, -1));
        lua_pop(L, 1);
    }
    size_t nrows = lua_rawlen(L, 2);
    int oom = 0;
    for (size_t r = 1; r <= nrows && !oom; r++) {
        lua_rawgeti(L, 2, (lua_Integer)r);
        lua_getfield(L, -1, "k");
        const char *k = lua_tostring(L, -1);
        oom |= tbl_add_row(t);
        for (int i = 0; i < ncols && !oom && k && k[i]; i++) {
            lua_rawgeti(L, -2, i + 1);
            size_t n;
            const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &n) : NULL;
            int kind = k[i] == 'n'   ? TBL_NUM
                       : k[i] == 'b' ? TBL_BOOL
                       : k[i] == 'r' ? TBL_RAW
                       : k[i] == 'z' ? TBL_NULL
                                     : TBL_STR;
            if (s) {
                oom |= tbl_set(t, i, kind, s, n);
            }
            lua_pop(L, 1);
        }
        lua_pop(L, 2);
    }
    if (oom) {
        tbl_free(t);
        return luaL_error(L, "not enough memory");
    }
    tbl_opts o;
    FILE *f = out_stream(R, &o);
    if (f) {
        tbl_render(t, &o, f);
        out_done(R, f, nrows);
    }
    tbl_free(t);
    return 0;
}

/* ---- the prelude and the settings ------------------------------------------------------ */

static void push_prelude_fn(repl *r, const char *name) {
    lua_rawgeti(r->L, LUA_REGISTRYINDEX, r->prelude_ref);
    lua_getfield(r->L, -1, name);
    lua_remove(r->L, -2);
}

static void sync_settings(repl *r) {
    lua_State *L = r->L;
    lua_rawgeti(L, LUA_REGISTRYINDEX, r->settings_ref);
    lua_pushboolean(L, r->mask);
    lua_setfield(L, -2, "mask");
    lua_pushboolean(L, r->topts.mode == TBL_JSON || r->topts.mode == TBL_JSONL);
    lua_setfield(L, -2, "json");
    lua_pop(L, 1);
}

/* ---- writes are refused unless turned on --------------------------------------------- */

static int l_repl_guard(lua_State *L) {
    if (!R->write) {
        return luaL_error(L,
                          _("%s: the REPL is read-only; '.write on' (or gonghui repl --write) "
                            "allows writes"),
                          lua_tostring(L, lua_upvalueindex(2)));
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

/* db.define in a read-only REPL: a definition that changes nothing (a module
 * that defines its collections when loaded) goes through; any other is
 * refused as a write. */
static int l_repl_define_guard(lua_State *L) {
    if (!R->write && !lstore_define_unchanged(L, R->db, 1, 2)) {
        return luaL_error(L, _("db.define: the REPL is read-only and this definition would change "
                               "the collection (or make it); '.write on' (or gonghui repl --write) "
                               "allows it"));
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

/* Wraps the listed functions of the table at idx in the write guard. */
static void guard(lua_State *L, int idx, const char *prefix, const char *const *names) {
    idx = lua_absindex(L, idx);
    for (; *names; names++) {
        if (lua_getfield(L, idx, *names) != LUA_TFUNCTION) {
            lua_pop(L, 1);
            continue;
        }
        lua_pushfstring(L, "%s%s", prefix, *names);
        lua_pushcclosure(L, l_repl_guard, 2);
        lua_setfield(L, idx, *names);
    }
}

static void guard_writes(lua_State *L) {
    static const char *const coll[] = {"insert",         "put",           "update", "delete",
                                       "prepare_insert", "insert_select", NULL};
    static const char *const dbw[] = {"drop", NULL};
    static const char *const busw[] = {"publish", "consumer", "run",  "replay",
                                       "retry",   "drop",     "trim", NULL};
    luaL_getmetatable(L, COLL_MT);
    lua_getfield(L, -1, "__index");
    guard(L, -1, "", coll);
    lua_pop(L, 2);
    lua_getglobal(L, "db");
    guard(L, -1, "db.", dbw);
    if (lua_getfield(L, -1, "define") == LUA_TFUNCTION) {
        lua_pushcclosure(L, l_repl_define_guard, 1);
        lua_setfield(L, -2, "define");
    } else {
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    lua_getglobal(L, "bus");
    guard(L, -1, "bus.", busw);
    lua_pop(L, 1);
}

/* ---- running a chunk ------------------------------------------------------------------ */

/* Prints the error at the top of the stack, without the traceback's frames
 * of the REPL itself. */
/* A line of advice after an error (scripts/lib/repl_hints.lua): full-width
 * punctuation, SQL typed out of habit, a field the collection lacks. */
static void hint(repl *r, const char *msg) {
    lua_State *L = r->L;
    int top = lua_gettop(L);
    if (!r->line || lua_getglobal(L, "require") != LUA_TFUNCTION) {
        lua_settop(L, top);
        return;
    }
    lua_pushliteral(L, "repl_hints");
    if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_istable(L, -1) &&
        lua_getfield(L, -1, "hint") == LUA_TFUNCTION) {
        lua_pushstring(L, r->line);
        lua_pushstring(L, msg);
        if (lua_pcall(L, 2, 1, 0) == LUA_OK && lua_type(L, -1) == LUA_TSTRING) {
            fprintf(stderr, _("hint: %s\n"), lua_tostring(L, -1));
        }
    }
    lua_settop(L, top);
}

static void report(repl *r, const char *what) {
    const char *m = lua_tostring(r->L, -1);
    if (!m) {
        m = _("(error object is not a string)");
    }
    const char *tb = strstr(m, lstore_traceback_heading());
    tb = tb && tb > m && tb[-1] == '\n' ? tb - 1 : tb == m ? tb : NULL;
    int n = tb ? (int)(tb - m) : (int)strlen(m);
    fprintf(stderr, "%s%.*s\n", what, n, m);
    r->failed = 1;
    hint(r, m);
}

/* Runs the function on top of the stack; shows its results unless quiet. */
static void run_chunk(repl *r, int quiet) {
    lua_State *L = r->L;
    int base = lua_gettop(L); /* the function */
    if (r->write) {
        /* db.atomic(fn): the statement's writes are one unit */
        lua_getglobal(L, "db");
        lua_getfield(L, -1, "atomic");
        lua_remove(L, -2);
        lua_insert(L, base);
    }
    lua_pushcfunction(L, lstore_traceback);
    lua_insert(L, base);
    double t0 = clock_mono_s();
    sandbox_clear_stop(r->sb);
    sandbox_arm(r->sb);
    int status = lua_pcall(L, r->write ? 1 : 0, LUA_MULTRET, base);
    sandbox_disarm(r->sb);
    double el = clock_mono_s() - t0;
    if (status != LUA_OK) {
        if (sandbox_stopped(r->sb, NULL)) {
            fprintf(stderr, _("interrupted; %s\n"),
                    r->write ? _("the statement's writes were rolled back")
                             : _("back at the prompt"));
            r->failed = 1;
        } else {
            report(r, "");
        }
        lua_settop(L, base - 1);
    } else {
        int n = lua_gettop(L) - base;
        if (n > 0) {
            lua_pushvalue(L, base + 1);
            lua_setglobal(L, "_");
        }
        if (!quiet) {
            push_prelude_fn(r, "display");
            lua_pushcfunction(L, lstore_traceback);
            lua_insert(L, -2);
            lua_pushinteger(L, n);
            for (int i = 0; i < n; i++) {
                lua_pushvalue(L, base + 1 + i);
            }
            if (lua_pcall(L, n + 1, 0, -(n + 3)) != LUA_OK) {
                report(r, _("cannot show the result: "));
                lua_pop(L, 1);
            }
            lua_pop(L, 1);
        }
        lua_settop(L, base - 1);
    }
    take_stop(r);
    lstore_release(r->db); /* invariant: nothing held between statements */
    if (r->timer) {
        printf(_("time: %.3f s\n"), el);
    }
    fflush(stdout);
}

/* 1 if the load error at the top of the stack says the chunk is unfinished. */
static int incomplete(lua_State *L) {
    size_t n;
    const char *m = lua_tolstring(L, -1, &n);
    return m && n >= 5 && strcmp(m + n - 5, "<eof>") == 0;
}

/* Handles a statement's text. Returns 1 if more lines are needed. */
static int eval(repl *r, const char *text) {
    lua_State *L = r->L;
    size_t n = strlen(text);
    while (n && (text[n - 1] == ' ' || text[n - 1] == '\t' || text[n - 1] == '\n' ||
                 text[n - 1] == '\r')) {
        n--;
    }
    if (n == 0) {
        r->line = NULL;
        return 0;
    }
    int quiet = text[n - 1] == ';';
    r->line = text;
    /* `local x = ...` at the start of a line lives on (prelude's rewrite) */
    push_prelude_fn(r, "rewrite");
    lua_pushstring(L, text);
    if (lua_pcall(L, 1, 2, 0) != LUA_OK) {
        lua_pop(L, 1);
        lua_pushstring(L, text);
        lua_pushnil(L);
    }
    int names = lua_gettop(L), stmt = names - 1;
    const char *ret = lua_pushfstring(L, "return %s", text);
    int rc = luaL_loadbufferx(L, ret, strlen(ret), "=input", "t");
    lua_remove(L, -2);
    if (rc != LUA_OK) {
        lua_pop(L, 1);
        size_t sn;
        const char *s = lua_tolstring(L, stmt, &sn);
        rc = luaL_loadbufferx(L, s, sn, "=input", "t");
        if (rc == LUA_ERRSYNTAX && incomplete(L)) {
            lua_settop(L, stmt - 1);
            r->line = NULL;
            return 1;
        }
        if (rc != LUA_OK) {
            report(r, "");
            lua_settop(L, stmt - 1);
            r->line = NULL;
            return 0;
        }
    }
    if (!lua_isnil(L, names)) {
        push_prelude_fn(r, "declare");
        lua_pushvalue(L, names);
        lua_call(L, 1, 0);
    }
    push_prelude_fn(r, "env"); /* the line's globals: the REPL's locals, then _G */
    if (!lua_istable(L, -1) || !lua_setupvalue(L, -2, 1)) {
        lua_pop(L, 1);
    }
    lua_remove(L, stmt);
    lua_remove(L, stmt);
    run_chunk(r, quiet);
    r->line = NULL;
    return 0;
}

/* ---- dot commands ---------------------------------------------------------------------- */

static const char *help_text =
    "Type Lua: an expression shows its value, a statement runs; `_` is the last result;\n"
    "a trailing ';' shows nothing. Lists of records print as tables.\n"
    "\n"
    "  db.members:count()                          records in a collection\n"
    "  db.members:where{category='courier'}:group('town'):count()\n"
    "  "
    "db.members:where{town='沈家门街道'}:pick('name','birth_date'):order('birth_date'):limit(10)\n"
    "  db.awards:where{item='gift-package'}:sum('amount_fen')\n"
    "\n"
    ".help [TOPIC]         this text; topics: query db bus modes mask write keys\n"
    ".collections          the collections and their record counts\n"
    ".schema NAME          fields, key and indexes of a collection\n"
    ".mode MODE            box table csv json jsonl markdown line\n"
    ".timer on|off         show how long each statement took\n"
    ".once FILE            the next result goes to FILE (.csv or .xlsx for Excel, .json, .jsonl)\n"
    ".output FILE          results and print go to FILE until .output alone\n"
    ".headers on|off       header rows of tables (box, table, csv)\n"
    ".import FILE NAME     import a sheet into a collection, as gonghui import (writes on)\n"
    ".dump [NAME]          Lua that makes the collections and their records again\n"
    ".read FILE.lua        run the statements of a file\n"
    ".write on|off         allow writes (each statement is then one db.atomic)\n"
    ".unmask / .mask       show / hide ID numbers, phones and the like (unmasking is recorded)\n"
    ".maxrows N            show at most N rows of a table (0: all)\n"
    ".ambiguous narrow|wide  width of characters such as · ① ℃ on this terminal\n"
    ".border unicode|ascii   the lines of box tables\n"
    ".quit                 leave (or Ctrl-D)\n";

static const struct {
    const char *topic, *text;
} help_topics[] = {
    {"query",
     "The query helper (scripts/lib/query.lua; also `require 'query'` in scripts):\n"
     "  db.NAME:where{field=value, field={v1,v2}, field={from=a,to=b}}   filter (uses indexes)\n"
     "  :pick('a','b')   only these fields      :order('f') / :order('-f')   sort\n"
     "  :limit(n)        the first n            :offset(n)\n"
     "  :count()  :sum('f')  :avg('f')  :min('f')  :max('f')  :first()  :list()\n"
     "  :group('town'):count()   :group('town'):sum('amount_fen')   one row per group\n"},
    {"db", "db.NAME:get(key)  :find(field, value)  :scan{...}  :list{...}  :count{...}\n"
           ":count_by(field, {...})  :schema()   db.collections()   (see the README)\n"},
    {"bus", "bus.events{from=seq, topic=pattern, limit=n}  bus.last()  bus.consumers()  "
            "bus.dead()\n"},
    {"modes", ".mode box (the default on a terminal), table (the default in a pipe), csv,\n"
              "json, jsonl, markdown, line. .once FILE writes the next result to a file.\n"},
    {"mask", "ID numbers, phones and bank accounts are masked: 330481********1234, "
             "138****5678.\nA definition declares them (pii = 'id'|'phone'|'bank'|'name'|"
             "'address'|false);\nundeclared fields named id_number, phone, *_phone, bank_account, "
             "身份证, 手机, 电话 ...\nare guessed. '.unmask' shows them and is recorded in the run "
             "records (gonghui runs);\n'.mask' hides them again. pii.mask(v, 'name') gives "
             "张*明 for public lists.\n"},
    {"write", "The REPL starts read-only. '.write on' (or gonghui repl --write) allows writes;\n"
              "each statement then runs inside db.atomic: all of it is stored, or none.\n"},
    {"keys", "Tab completes globals, fields, methods, collection and field names (Chinese "
             "too).\nCtrl-C stops a long query; Ctrl-D or .quit leaves. History: "
             "$XDG_STATE_HOME/gonghui/history.\n"},
};

static void do_collections(repl *r) {
    lua_State *L = r->L;
    const char *code = "local t = {} for _, n in ipairs(db.collections()) do "
                       "t[#t+1] = { collection = n, records = db[n]:count() } end "
                       "return setmetatable(t, { __columns = { 'collection', 'records' } })";
    if (luaL_loadstring(L, code) == LUA_OK) {
        int was = r->write;
        r->write = 0;
        run_chunk(r, 0);
        r->write = was;
    } else {
        lua_pop(L, 1);
    }
}

static void do_schema(repl *r, const char *name) {
    lua_State *L = r->L;
    if (!*name) {
        fprintf(stderr, _(".schema: which collection? (.schema NAME; .collections lists them)\n"));
        return;
    }
    /* the name goes in as an argument, never spliced into code */
    const char *code =
        "local name = ... local sc = db[name]:schema() local t = {} "
        "for _, f in ipairs(sc.order) do t[#t+1] = { field = f, type = sc.fields[f], "
        "key = f == sc.key and (sc.auto and 'key (auto)' or 'key') or nil } end "
        "local rest = {} for k, v in pairs(sc) do if k ~= 'fields' and k ~= 'name' and k ~= "
        "'key' and k ~= 'auto' and k ~= 'order' then rest[k] = v end end "
        "return setmetatable(t, { __columns = { 'field', 'type', 'key' } }), rest";
    if (luaL_loadstring(L, code) != LUA_OK) {
        lua_pop(L, 1);
        return;
    }
    lua_pushstring(L, name);
    int base = lua_gettop(L) - 1; /* function, name */
    lua_pushcfunction(L, lstore_traceback);
    lua_insert(L, base);
    if (lua_pcall(L, 1, 2, base) != LUA_OK) {
        report(r, ".schema: ");
        lua_settop(L, base - 1);
        lstore_release(r->db);
        return;
    }
    /* show the field table, then the rest as a literal */
    push_prelude_fn(r, "display");
    lua_pushinteger(L, 1);
    lua_pushvalue(L, base + 1);
    lua_call(L, 2, 0);
    push_prelude_fn(r, "literal");
    lua_pushvalue(L, base + 2);
    lua_call(L, 1, 1);
    printf("%s\n", lua_tostring(L, -1));
    lua_settop(L, base - 1);
    lstore_release(r->db);
    fflush(stdout);
}

static int on_off(const char *arg, int *v, const char *cmd) {
    if (strcmp(arg, "on") == 0) {
        *v = 1;
    } else if (strcmp(arg, "off") == 0) {
        *v = 0;
    } else {
        fprintf(stderr, _("%s: on or off\n"), cmd);
        return -1;
    }
    return 0;
}

/* Unmasking personal data is recorded like a run: who, where, when. */
/* The store refuses every write transaction while the REPL is read-only. */
static void apply_write(repl *r) {
    store_refuse_writes(r->s, r->write ? NULL
                                       : _("the REPL is read-only; '.write on' (or gonghui repl "
                                           "--write) allows writes"));
}

static int record_unmask(repl *r) {
    char uid[17], host[256] = "?";
    runs_new_uid(uid);
    gethostname(host, sizeof host - 1);
    double now = clock_wall_s();
    runs_rec rec = {
        .uid = uid,
        .script = "(repl .unmask)",
        .script_sha256 = "",
        .operator_name = runs_operator(),
        .host = host,
        .clock = (int64_t)now,
        .started = now,
        .ended = now,
        .mode = "repl",
        .outcome = "unmask",
        .exit_code = 0,
    };
    int64_t id;
    lstore_release(r->db);
    store_refuse_writes(r->s, NULL); /* the record of unmasking is the REPL's own write */
    int rc = runs_record(r->s, &rec, &id);
    apply_write(r);
    if (rc) {
        fprintf(stderr,
                _(".unmask: the record of unmasking could not be written (%s); data "
                  "stays masked\n"),
                err_msg(rc));
        return -1;
    }
    return 0;
}

/* A session in which writes were allowed is recorded as a run (mode
 * "repl --write"): who, where, when, and what it wrote per collection. The
 * statements themselves are not kept (they may hold personal data). */
static void record_write_session(repl *r) {
    char uid[17], host[256] = "?";
    if (!r->write_since) {
        return;
    }
    runs_new_uid(uid);
    gethostname(host, sizeof host - 1);
    double now = clock_wall_s();
    runs_rec rec = {
        .uid = uid,
        .script = "(repl --write)",
        .script_sha256 = "",
        .operator_name = runs_operator(),
        .account = runs_operator(),
        .host = host,
        .clock = (int64_t)r->write_since,
        .started = r->write_since,
        .ended = now,
        .mode = "repl --write",
        .outcome = r->failed ? "error" : "ok",
        .exit_code = r->failed ? 1 : 0,
        .writes = r->db->done,
        .nwrites = r->db->ndone,
    };
    lstore_release(r->db);
    store_refuse_writes(r->s, NULL); /* the REPL's own record, written after .write off too */
    int rc = runs_record(r->s, &rec, NULL);
    if (rc) {
        fprintf(stderr, _("gonghui repl: the record of this session could not be written (%s)\n"),
                err_msg(rc));
    }
}

static void read_file(repl *r, const char *path);

/* .output FILE: results and print go to FILE (made afresh) until .output
 * alone sends them back to the terminal. */
static void set_output(repl *r, const char *arg) {
    if (r->output) {
        if (fclose(r->output) != 0) {
            fprintf(stderr, _(".output: writing %s failed: %s\n"), r->output_name, strerror(errno));
            r->failed = 1;
        }
        r->output = NULL;
    }
    free(r->output_name);
    r->output_name = NULL;
    if (!*arg || strcmp(arg, "stdout") == 0) {
        return;
    }
    FILE *f = fopen(arg, "w");
    if (!f) {
        fprintf(stderr, _(".output: cannot write %s: %s\n"), arg, strerror(errno));
        r->failed = 1;
        return;
    }
    r->output = f;
    r->output_name = strdup(arg);
}

/* .import FILE COLLECTION [options of gonghui import]: the same import,
 * from the REPL (writes must be on). Words are split at spaces; a word in
 * double quotes may hold spaces. */
static void do_import(repl *r, char *arg) {
    char *words[64];
    int n = 0;
    for (char *p = arg; *p && n < 62;) {
        while (*p == ' ' || *p == '\t') {
            p++;
        }
        if (!*p) {
            break;
        }
        if (*p == '"') {
            words[n++] = ++p;
            while (*p && *p != '"') {
                p++;
            }
        } else {
            words[n++] = p;
            while (*p && *p != ' ' && *p != '\t') {
                p++;
            }
        }
        if (*p) {
            *p++ = 0;
        }
    }
    if (n < 2) {
        fprintf(stderr, _(".import: which file into which collection? (.import FILE COLLECTION "
                          "[--map COLUMN=field ...] and the other options of gonghui import)\n"));
        r->failed = 1;
        return;
    }
    if (!r->write) {
        fprintf(stderr, _(".import: the REPL is read-only; '.write on' (or gonghui repl --write) "
                          "allows writes\n"));
        r->failed = 1;
        return;
    }
    char *argv[64];
    argv[0] = words[1]; /* import_parse takes COLLECTION FILE [options] */
    argv[1] = words[0];
    for (int i = 2; i < n; i++) {
        argv[i] = words[i];
    }
    argv[n] = NULL;
    import_opts o;
    lstore_release(r->db); /* the import writes in its own transaction */
    fflush(stdout);
    int code = import_parse(n, argv, &o);
    if (code == 0) {
        o.progress = r->tty;
        code = import_run(r->s, &o);
    }
    free(o.map);
    if (code != 0) {
        r->failed = 1;
    }
}

/* .dump [COLLECTION]: Lua that makes the collections and their records
 * again (db.define, then put), for .read in another database; personal
 * data masked unless .unmask. */
static void do_dump(repl *r, const char *arg) {
    lua_State *L = r->L;
    push_prelude_fn(r, "dump");
    lua_pushstring(L, arg);
    lua_pushcfunction(L, lstore_traceback);
    lua_insert(L, -3);
    if (lua_pcall(L, 1, 0, -3) != LUA_OK) {
        report(r, ".dump: ");
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    lstore_release(r->db);
}

/* Returns 1 to quit. */
static int dot_command(repl *r, char *line) {
    size_t ln = strlen(line);
    while (ln && (line[ln - 1] == '\n' || line[ln - 1] == '\r' || line[ln - 1] == ' ')) {
        line[--ln] = 0;
    }
    char *cmd = line, *arg = line;
    while (*arg && *arg != ' ' && *arg != '\t') {
        arg++;
    }
    if (*arg) {
        *arg++ = 0;
    }
    while (*arg == ' ' || *arg == '\t') {
        arg++;
    }
    size_t an = strlen(arg);
    while (an && (arg[an - 1] == ' ' || arg[an - 1] == '\n' || arg[an - 1] == '\r')) {
        arg[--an] = 0;
    }
    if (strcmp(cmd, ".quit") == 0 || strcmp(cmd, ".exit") == 0 || strcmp(cmd, ".q") == 0) {
        return 1;
    } else if (strcmp(cmd, ".help") == 0) {
        if (!*arg) {
            fputs(help_text, stdout);
        } else {
            size_t i = 0;
            for (; i < sizeof help_topics / sizeof *help_topics; i++) {
                if (strcmp(arg, help_topics[i].topic) == 0) {
                    fputs(help_topics[i].text, stdout);
                    break;
                }
            }
            if (i == sizeof help_topics / sizeof *help_topics) {
                fprintf(stderr, _(".help: no topic '%s' (query db bus modes mask write keys)\n"),
                        arg);
            }
        }
    } else if (strcmp(cmd, ".collections") == 0 || strcmp(cmd, ".tables") == 0) {
        do_collections(r);
    } else if (strcmp(cmd, ".schema") == 0) {
        do_schema(r, arg);
    } else if (strcmp(cmd, ".mode") == 0) {
        int m = tbl_mode_parse(arg);
        if (!*arg) {
            printf("%s\n", tbl_mode_name(r->topts.mode));
        } else if (m < 0) {
            fprintf(stderr, _(".mode: box, table, csv, json, jsonl, markdown or line; not '%s'\n"),
                    arg);
            r->failed = 1;
        } else {
            r->topts.mode = (tbl_mode)m;
            sync_settings(r);
        }
    } else if (strcmp(cmd, ".timer") == 0) {
        on_off(arg, &r->timer, ".timer");
    } else if (strcmp(cmd, ".write") == 0 && r->in_file && !r->write && strcmp(arg, "on") == 0) {
        fprintf(stderr, _(".write on: not taken from a file; turn writes on at the prompt, or "
                          "with gonghui repl --write\n"));
        r->failed = 1;
    } else if (strcmp(cmd, ".write") == 0) {
        int ok = on_off(arg, &r->write, ".write") == 0;
        apply_write(r);
        if (ok && r->write && !r->write_since) {
            r->write_since = clock_wall_s();
        }
        if (ok && r->tty) {
            printf(r->write ? _("writes are on: each statement is one transaction\n")
                            : _("read-only\n"));
        }
    } else if (strcmp(cmd, ".unmask") == 0) {
        if (record_unmask(r) == 0) {
            r->mask = 0;
            sync_settings(r);
            if (r->tty) {
                printf(_("personal data is shown unmasked (recorded in gonghui runs)\n"));
            }
        }
    } else if (strcmp(cmd, ".mask") == 0) {
        r->mask = 1;
        sync_settings(r);
    } else if (strcmp(cmd, ".once") == 0) {
        const char *dot = strrchr(arg, '.');
        if (!*arg) {
            fprintf(
                stderr,
                _(".once: which file? (.once FILE.csv | FILE.xlsx | FILE.json | FILE.jsonl)\n"));
        } else if (dot && strcasecmp(dot, ".xls") == 0) {
            fprintf(stderr, _(".once: old Excel files (.xls) are not written; use FILE.xlsx or "
                              "FILE.csv\n"));
            r->failed = 1;
        } else {
            free(r->once);
            r->once = strdup(arg);
        }
    } else if (strcmp(cmd, ".read") == 0) {
        if (!*arg) {
            fprintf(stderr, _(".read: which file? (.read FILE.lua)\n"));
        } else {
            read_file(r, arg);
        }
    } else if (strcmp(cmd, ".headers") == 0) {
        int on = !r->topts.no_header;
        if (on_off(arg, &on, ".headers") == 0) {
            r->topts.no_header = !on;
        }
    } else if (strcmp(cmd, ".output") == 0) {
        set_output(r, arg);
    } else if (strcmp(cmd, ".import") == 0) {
        do_import(r, arg);
    } else if (strcmp(cmd, ".dump") == 0) {
        do_dump(r, arg);
    } else if (strcmp(cmd, ".maxrows") == 0) {
        char *end;
        long v = strtol(arg, &end, 10);
        if (!*arg || *end || v < 0) {
            fprintf(stderr, _(".maxrows: a number (0: all rows)\n"));
        } else {
            r->topts.max_rows = (size_t)v;
        }
    } else if (strcmp(cmd, ".ambiguous") == 0) {
        if (strcmp(arg, "wide") == 0 || strcmp(arg, "narrow") == 0) {
            r->topts.ambiguous_wide = strcmp(arg, "wide") == 0;
        } else {
            fprintf(stderr, _(".ambiguous: narrow or wide\n"));
        }
    } else if (strcmp(cmd, ".border") == 0) {
        if (strcmp(arg, "ascii") == 0 || strcmp(arg, "unicode") == 0) {
            r->topts.ascii = strcmp(arg, "ascii") == 0;
        } else {
            fprintf(stderr, _(".border: unicode or ascii\n"));
        }
    } else {
        fprintf(stderr,
                _("unknown command %s (.help lists them; a Lua line never starts with "
                  "'.')\n"),
                cmd);
        r->failed = 1;
    }
    fflush(stdout);
    return 0;
}

/* ---- reading statements ---------------------------------------------------------------- */

/* A growing statement buffer. */
typedef struct text {
    char *p;
    size_t n, cap;
} text;

static int text_add(text *t, const char *s) {
    size_t n = strlen(s);
    if (t->n + n + 2 > t->cap) {
        size_t cap = (t->n + n + 2) * 2;
        char *p = realloc(t->p, cap);
        if (!p) {
            return -1;
        }
        t->p = p;
        t->cap = cap;
    }
    memcpy(t->p + t->n, s, n);
    t->n += n;
    if (!n || s[n - 1] != '\n') {
        t->p[t->n++] = '\n';
    }
    t->p[t->n] = 0;
    return 0;
}

/* Feeds one line; returns 1 to quit. *pending says a statement is unfinished. */
static int feed(repl *r, text *buf, const char *line, int *pending) {
    if (!*pending) {
        const char *p = line;
        while (*p == ' ' || *p == '\t') {
            p++;
        }
        if (*p == '.') {
            char *copy = strdup(p);
            int q = copy ? dot_command(r, copy) : 0;
            free(copy);
            return q;
        }
        buf->n = 0;
    }
    if (text_add(buf, line) != 0) {
        fprintf(stderr, _("gonghui: out of memory\n"));
        buf->n = 0;
        *pending = 0;
        return 0;
    }
    *pending = eval(r, buf->p);
    if (!*pending) {
        buf->n = 0;
    }
    return r->term;
}

static int read_stream(repl *r, FILE *f) {
    text buf = {0};
    char *line = NULL;
    size_t cap = 0;
    int pending = 0, quit = 0;
    while (!quit && getline(&line, &cap, f) >= 0) {
        quit = feed(r, &buf, line, &pending);
    }
    if (pending) {
        /* the input ended inside a statement: say why it was not run */
        lua_State *L = r->L;
        if (luaL_loadbufferx(L, buf.p, buf.n, "=input", "t") != LUA_OK) {
            report(r, "");
        }
        lua_pop(L, 1);
    }
    free(line);
    free(buf.p);
    return quit;
}

static void read_file(repl *r, const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, _(".read: cannot read %s: %s\n"), path, strerror(errno));
        r->failed = 1;
        return;
    }
    r->in_file++;
    read_stream(r, f);
    r->in_file--;
    fclose(f);
}

/* ---- the terminal: libedit ------------------------------------------------------------- */

static int pending_prompt;

static char *prompt_fn(EditLine *el) {
    (void)el;
    return pending_prompt ? PROMPT2 : PROMPT;
}

static unsigned char complete_fn(EditLine *el, int ch) {
    (void)ch;
    const LineInfo *li = el_line(el);
    repl *r = R;
    lua_State *L = r->L;
    int top = lua_gettop(L);
    unsigned char res = CC_ERROR;
    push_prelude_fn(r, "complete");
    lua_pushlstring(L, li->buffer, (size_t)(li->cursor - li->buffer));
    if (lua_pcall(L, 1, 2, 0) != LUA_OK || !lua_istable(L, -2)) {
        goto out;
    }
    size_t wn, ncand = lua_rawlen(L, -2);
    const char *word = lua_tolstring(L, -1, &wn);
    if (ncand == 0 || !word) {
        goto out;
    }
    /* the longest common prefix of the candidates */
    lua_rawgeti(L, -2, 1);
    size_t pn;
    const char *first = lua_tolstring(L, -1, &pn);
    for (size_t i = 2; i <= ncand; i++) {
        lua_rawgeti(L, -3, (lua_Integer)i);
        size_t cn;
        const char *c = lua_tolstring(L, -1, &cn);
        size_t k = 0;
        while (k < pn && k < cn && c[k] == first[k]) {
            k++;
        }
        pn = k;
        lua_pop(L, 1);
    }
    /* do not cut a UTF-8 character in half */
    while (pn > wn && ((unsigned char)first[pn] & 0xC0) == 0x80 && pn < strlen(first)) {
        pn--;
    }
    if (pn > 0 && (pn < wn || memcmp(first, word, wn) != 0)) {
        /* the candidates replace what was typed (db.会 -> db['会员']): delete
         * it (libedit counts characters, not bytes), then insert */
        int chars = 0;
        for (size_t i = 0; i < wn; i++) {
            chars += ((unsigned char)word[i] & 0xC0) != 0x80;
        }
        while (pn > 0 && ((unsigned char)first[pn] & 0xC0) == 0x80 && pn < strlen(first)) {
            pn--;
        }
        char *ins = strndup(first, pn);
        if (ins) {
            el_deletestr(el, chars);
            if (el_insertstr(el, ins) == 0) {
                res = CC_REFRESH;
            }
        }
        free(ins);
    } else if (pn > wn) {
        char *ins = strndup(first + wn, pn - wn);
        if (ins && el_insertstr(el, ins) == 0) {
            res = CC_REFRESH;
        }
        free(ins);
        if (ncand == 1) {
            el_insertstr(el, "");
        }
    } else if (ncand > 1) {
        fputc('\n', stdout);
        int col = 0;
        for (size_t i = 1; i <= ncand && i <= 200; i++) {
            lua_rawgeti(L, -3, (lua_Integer)i);
            size_t cn;
            const char *c = lua_tolstring(L, -1, &cn);
            int w = tbl_width(c, cn, r->topts.ambiguous_wide);
            if (col && col + w + 2 > 78) {
                fputc('\n', stdout);
                col = 0;
            }
            printf("%s  ", c);
            col += w + 2;
            lua_pop(L, 1);
        }
        fputc('\n', stdout);
        fflush(stdout);
        res = CC_REDISPLAY;
    }
out:
    lua_settop(L, top);
    lstore_release(r->db);
    return res;
}

static void history_path(repl *r) {
    const char *state = getenv("XDG_STATE_HOME");
    const char *home = getenv("HOME");
    char dir[PATH_MAX - 16];
    r->hist[0] = 0;
    if (state && *state == '/') {
        snprintf(dir, sizeof dir, "%s/gonghui", state);
    } else if (home && *home) {
        snprintf(dir, sizeof dir, "%s/.local/state/gonghui", home);
    } else {
        return;
    }
    /* mkdir -p, private */
    char p[PATH_MAX - 16];
    snprintf(p, sizeof p, "%s", dir);
    for (char *s = p + 1; *s; s++) {
        if (*s == '/') {
            *s = 0;
            mkdir(p, 0700);
            *s = '/';
        }
    }
    mkdir(p, 0700);
    snprintf(r->hist, sizeof r->hist, "%s/history", dir);
}

static void history_save(repl *r) {
    if (!r->hist[0] || !r->hist_h) {
        return;
    }
    HistEvent ev;
    int fd = open(r->hist, O_WRONLY | O_CREAT, 0600);
    if (fd >= 0) {
        close(fd);
    }
    history(r->hist_h, &ev, H_SAVE, r->hist);
    chmod(r->hist, 0600);
}

static int read_terminal(repl *r) {
    HistEvent ev;
    r->hist_h = history_init();
    history(r->hist_h, &ev, H_SETSIZE, HISTORY_MAX);
    history(r->hist_h, &ev, H_SETUNIQUE, 1);
    history_path(r);
    if (r->hist[0]) {
        history(r->hist_h, &ev, H_LOAD, r->hist);
    }
    r->el = el_init("gonghui", stdin, stdout, stderr);
    el_set(r->el, EL_EDITOR, "emacs");
    el_set(r->el, EL_PROMPT, prompt_fn);
    el_set(r->el, EL_HIST, history, r->hist_h);
    el_set(r->el, EL_ADDFN, "gh-complete", "complete", complete_fn);
    el_set(r->el, EL_BIND, "^I", "gh-complete", NULL);
    el_source(r->el, NULL); /* ~/.editrc */

    text buf = {0};
    int pending = 0, quit = 0;
    while (!quit) {
        int count;
        pending_prompt = pending;
        errno = 0;
        const char *line = el_gets(r->el, &count);
        if (!line || count <= 0) {
            int stopped = sandbox_stopped(r->sb, NULL);
            if (take_stop(r)) {
                fputc('\n', stdout);
                break; /* SIGTERM at the prompt */
            }
            if (stopped || errno == EINTR) {
                /* Ctrl-C at the prompt: drop the statement being typed */
                fputs("^C\n", stdout);
                el_reset(r->el);
                pending = 0;
                buf.n = 0;
                continue;
            }
            fputc('\n', stdout);
            break; /* Ctrl-D */
        }
        if (take_stop(r)) { /* a signal arrived while a line was being read */
            break;
        }
        quit = feed(r, &buf, line, &pending);
        if (!pending && buf.n == 0) {
            /* the statement is done: keep it in the history (whole) */
        }
        char *entry = strdup(line);
        if (entry) {
            size_t n = strlen(entry);
            while (n && (entry[n - 1] == '\n' || entry[n - 1] == '\r')) {
                entry[--n] = 0;
            }
            if (n) {
                history(r->hist_h, &ev, H_ENTER, entry);
            }
            free(entry);
        }
    }
    free(buf.p);
    history_save(r);
    el_end(r->el);
    history_end(r->hist_h);
    r->el = NULL;
    r->hist_h = NULL;
    return 0;
}

/* ---- start -------------------------------------------------------------------------- */

/* Chinese input edits correctly only in a UTF-8 locale: the environment's
 * if it is UTF-8, else the first UTF-8 one this system has. Numbers stay
 * in the C locale (Lua formats them with printf). */
static void force_utf8(void) {
    const char *tries[] = {"", "C.UTF-8", "C.utf8", "en_US.UTF-8", "zh_CN.UTF-8"};
    for (size_t i = 0; i < sizeof tries / sizeof *tries; i++) {
        if (setlocale(LC_CTYPE, tries[i])) {
            const char *cs = nl_langinfo(CODESET);
            if (cs && (strcmp(cs, "UTF-8") == 0 || strcmp(cs, "utf8") == 0)) {
                return;
            }
        }
    }
}

static int load_prelude(repl *r) {
    lua_State *L = r->L;
    if (luaL_loadbufferx(L, repl_prelude, sizeof repl_prelude - 1, "=repl_prelude", "t") !=
        LUA_OK) {
        fprintf(stderr, "gonghui: %s\n", lua_tostring(L, -1));
        return -1;
    }
    lua_newtable(L); /* C */
    lua_pushcfunction(L, l_repl_out);
    lua_setfield(L, -2, "out");
    lua_pushcfunction(L, l_repl_render);
    lua_setfield(L, -2, "render");
    lua_pushcfunction(L, l_repl_print);
    lua_setglobal(L, "print");
    lua_newtable(L); /* S */
    lua_pushinteger(L, 3);
    lua_setfield(L, -2, "depth");
    lua_pushinteger(L, 30);
    lua_setfield(L, -2, "items");
    lua_newtable(L);
    luaL_getmetatable(L, COLL_MT);
    lua_getfield(L, -1, "__index");
    lua_remove(L, -2);
    lua_Integer i = 0;
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) == LUA_TSTRING) {
            lua_pushvalue(L, -1);
            lua_rawseti(L, -4, ++i);
        }
    }
    lua_pop(L, 1);
    lua_setfield(L, -2, "methods");
    lua_pushvalue(L, -1);
    r->settings_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    if (lua_pcall(L, 2, 1, 0) != LUA_OK) {
        fprintf(stderr, "gonghui: %s\n", lua_tostring(L, -1));
        return -1;
    }
    r->prelude_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    sync_settings(r);
    return 0;
}

/* The query helper: db.NAME:where{...} and friends, when scripts/lib has it. */
static void load_query(repl *r) {
    lua_State *L = r->L;
    lua_getglobal(L, "require");
    lua_pushliteral(L, "query");
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
        if (r->tty) {
            fprintf(stderr, _("gonghui: the query helper is not available: %s\n"),
                    lua_tostring(L, -1));
        }
        lua_pop(L, 1);
        return;
    }
    /* db.NAME:where{...}: the query methods on every collection */
    luaL_getmetatable(L, COLL_MT);
    lua_getfield(L, -1, "__index");
    if (lua_getfield(L, -3, "methods") == LUA_TTABLE) {
        lua_pushnil(L);
        while (lua_next(L, -2)) {
            lua_pushvalue(L, -2);
            if (lua_rawget(L, -5) == LUA_TNIL) { /* never hide a method of the C face */
                lua_pop(L, 1);
                lua_pushvalue(L, -2);
                lua_insert(L, -2);
                lua_rawset(L, -5);
            } else {
                lua_pop(L, 2);
            }
        }
    }
    lua_pop(L, 3);
    lua_setglobal(L, "query");
}

static void run_init(repl *r) {
    const char *cfg = getenv("XDG_CONFIG_HOME");
    const char *home = getenv("HOME");
    char path[PATH_MAX];
    if (cfg && *cfg == '/') {
        snprintf(path, sizeof path, "%s/gonghui/init.lua", cfg);
    } else if (home && *home) {
        snprintf(path, sizeof path, "%s/.config/gonghui/init.lua", home);
    } else {
        return;
    }
    if (access(path, R_OK) != 0) {
        return;
    }
    if (luaL_loadfilex(r->L, path, "t") != LUA_OK) {
        report(r, "init.lua: ");
        lua_pop(r->L, 1);
        return;
    }
    run_chunk(r, 1);
}

/* The store behind the state's `db` global (its metatable's __db), or NULL. */
static ldb *state_db(lua_State *L) {
    ldb *db = NULL;
    lua_getglobal(L, "db");
    if (lua_getmetatable(L, -1)) {
        lua_getfield(L, -1, "__db");
        db = luaL_testudata(L, -1, DB_MT);
        lua_pop(L, 2);
    }
    lua_pop(L, 1);
    return db;
}

int repl_main(store *s, int argc, char **argv) {
    repl r;
    memset(&r, 0, sizeof r);
    r.s = s;
    r.mask = 1;
    const char *code = NULL;
    int nfiles = 0;
    char **files = argv;
    cli_iter it; /* the options are help.c's, parsed as for every command */
    const cli_opt *o;
    const char *v;
    int rc;
    cli_begin(&it, "repl", argc, argv);
    while ((rc = cli_next(&it, &o, &v)) > 0) {
        if (!o) {
            files[nfiles++] = (char *)v;
        } else if (cli_is(&it, o, "--write")) {
            r.write = 1;
            r.write_since = clock_wall_s();
        } else if (cli_is(&it, o, "--exec")) {
            code = v;
        }
    }
    if (rc < 0) {
        return 2;
    }
    force_utf8();
    r.tty = isatty(0) && isatty(1) && !code && nfiles == 0;
    r.topts.mode = isatty(1) ? TBL_BOX : TBL_TABLE;
    r.topts.footer = isatty(1);
    r.topts.max_rows = isatty(1) ? 40 : 0;
    r.topts.max_width = isatty(1) ? 48 : 0;
    const char *cs = nl_langinfo(CODESET);
    r.topts.ascii = !(cs && strcmp(cs, "UTF-8") == 0);

    ghstate_opts go = {.kind = GHSTATE_REPL,
                       .sb = {.timeout = 0, .memory = SANDBOX_DEFAULT_MEMORY},
                       .s = s,
                       .mode = "repl"};
    go.sb.seed = runs_random64() & INT64_MAX;
    go.sb.now = (int64_t)time(NULL);
    go.sb.script_dir = ".";
    go.sb.lib_dir = paths_lib();
    if (ghstate_new(&go, &r.sb) != 0) {
        fprintf(stderr, _("gonghui: out of memory\n"));
        return 1;
    }
    r.L = sandbox_state(r.sb);
    R = &r;
    lua_State *L = r.L;
    r.db = state_db(L);
    if (!r.db) {
        fprintf(stderr, _("gonghui: internal error: the db table has no store\n"));
        sandbox_free(r.sb);
        return 1;
    }
    guard_writes(L);
    sandbox_listen(r.sb);
    int code_rc = 0;
    load_query(&r); /* first: the prelude lists the collection methods for completion */
    if (load_prelude(&r) != 0) {
        sandbox_free(r.sb);
        return 1;
    }
    run_init(&r);
    apply_write(&r);
    if (code) {
        eval(&r, code);
    }
    for (int i = 0; i < nfiles; i++) {
        read_file(&r, files[i]);
    }
    if (r.tty) {
        printf(_("gonghui %s — type Lua, or .help; read-only%s; Ctrl-D leaves\n"), GH_VERSION,
               r.write ? _(" off (writes on)") : "");
        read_terminal(&r);
    } else if (!code && nfiles == 0) {
        read_stream(&r, stdin);
        code_rc = r.failed ? 1 : 0;
    } else {
        code_rc = r.failed ? 1 : 0;
    }
    free(r.once);
    set_output(&r, "");
    lstore_release(r.db);
    record_write_session(&r);
    sandbox_free(r.sb); /* gives Ctrl-C back as it was */
    R = NULL;
    if (r.term) {
        code_rc = 128 + SIGTERM;
    }
    return code_rc;
}

int repl_attach(store *s, sandbox *sb) {
    repl r;
    memset(&r, 0, sizeof r);
    r.s = s;
    r.mask = 1;
    r.write = 1;
    r.sb = sb;
    r.L = sandbox_state(sb);
    force_utf8();
    if (!(isatty(0) && isatty(1))) {
        return 0;
    }
    r.tty = 1;
    r.topts.mode = TBL_BOX;
    r.topts.footer = 1;
    r.topts.max_rows = 40;
    r.topts.max_width = 48;
    const char *cs = nl_langinfo(CODESET);
    r.topts.ascii = !(cs && strcmp(cs, "UTF-8") == 0);
    lua_State *L = r.L;
    r.db = state_db(L);
    if (!r.db) {
        fprintf(stderr, _("gonghui: -i: the script's state has no db\n"));
        return 1;
    }
    R = &r;
    sandbox_listen(r.sb);
    load_query(&r);
    if (load_prelude(&r) == 0) {
        printf(_("gonghui %s — the script's state; type Lua, or .help; writes on; Ctrl-D "
                 "leaves\n"),
               GH_VERSION);
        read_terminal(&r);
    }
    free(r.once);
    set_output(&r, "");
    store_refuse_writes(r.s, NULL); /* the run goes on as it was */
    lstore_release(r.db);
    R = NULL;
    return 0;
}

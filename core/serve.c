/*
 * serve.c — the engine of `gonghui serve`: programs, routes, the job queue,
 * group commit, run records, limits (see serve.h for the threads).
 * serve_http.c is its HTTP face (libmicrohttpd, sessions, static files).
 *
 * A program publishes endpoints from scripts/<program>/http.lua, which
 * returns its routes:
 *
 *   return {
 *     { method = 'GET',  path = '/member/:id', handler = function(req) ... end },
 *     { method = 'POST', path = '/claim', write = true, roles = { 'clerk', 'operator' },
 *       handler = function(req) ... end },
 *   }
 *
 * served at /api/<program><path>. Each program has its own sandboxed Lua
 * state (its folder and scripts/lib on the require path), loaded once at
 * start: what http.lua does at its top level (db.define, reading the plan)
 * happens then, with no scope; handlers then run per request with the
 * account's scope, read-only unless the route says write = true.
 *
 * Invariants:
 *  1. Only the engine thread touches the store and the Lua states (store.c
 *     invariant 5 holds: one thread uses a store).
 *  2. A write job's answer is filled in while its savepoint runs but handed
 *     to its connection only after the group's transaction committed (and
 *     so reached the disk); if the commit fails, every job of the group is
 *     answered with the failure instead.
 *  3. One job's failure aborts only its savepoint; its run record (outcome
 *     "error") still commits with the group.
 *  4. A scope is set on a state only around one handler call and cleared
 *     after; the account is read afresh for every group, so a disabled
 *     account or a changed grant takes effect at the next request.
 *
 * Group states (engine):
 *
 *   idle --jobs queued--> reads answered --> top txn: savepoint per write
 *        --> commit (fsync) --ok--> answers sent --> idle
 *                      \--map full--> abort, grow, redo the writes
 *                      \--error--> every write answered 503 --> idle
 */
#include "serve_int.h"

#include "accounts.h"
#include "clock.h"
#include "err.h"
#include "ghstate.h"
#include "paths.h"
#include "lua_bus.h"
#include "lua_json.h"
#include "lua_store.h"
#include "runs.h"
#include "sandbox.h"
#include "scope.h"
#include "script.h"

#include <dirent.h>
#include <lauxlib.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ROUTES_KEY "gonghui.serve.routes"

/* ---- answers ------------------------------------------------------------------- */

void serve_answer_error(job *j, int status, const char *code, const char *msg) {
    j->status = status;
    j->out.len = 0;
    codec_buf_add(&j->out, "{\"ok\":false,\"error\":", sizeof "{\"ok\":false,\"error\":" - 1);
    codec_json_str(&j->out, code, strlen(code));
    codec_buf_add(&j->out, ",\"message\":", sizeof ",\"message\":" - 1);
    codec_json_str(&j->out, msg, strlen(msg));
    codec_buf_add(&j->out, "}", sizeof "}" - 1);
}

/* ---- programs ------------------------------------------------------------------ */

static int method_ok(const char *m) {
    return !strcmp(m, "GET") || !strcmp(m, "POST") || !strcmp(m, "PUT") || !strcmp(m, "DELETE");
}

/* Reads the routes table at the top of prog's state into srv->routes. */
static int take_routes(server *srv, program *p, const char *file) {
    lua_State *L = sandbox_state(p->sb);
    if (!lua_istable(L, -1)) {
        fprintf(stderr,
                _("gonghui serve: %s must return a list of routes ({ method =, path =, "
                  "handler = }), got %s\n"),
                file, luaL_typename(L, -1));
        return -1;
    }
    lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, -1, i);
        int r = lua_gettop(L);
        route rt;
        memset(&rt, 0, sizeof rt);
        rt.prog = (int)(p - srv->progs);
        lua_getfield(L, r, "method");
        lua_getfield(L, r, "path");
        lua_getfield(L, r, "handler");
        lua_getfield(L, r, "write");
        const char *m = lua_tostring(L, r + 1), *path = lua_tostring(L, r + 2);
        if (!m || !method_ok(m) || !path || path[0] != '/' || strlen(path) > 200 ||
            !lua_isfunction(L, r + 3)) {
            fprintf(stderr,
                    _("gonghui serve: %s: route %lld needs method = 'GET'|'POST'|'PUT'|'DELETE', "
                      "path = '/...' and handler = function(req)\n"),
                    file, (long long)i);
            return -1;
        }
        snprintf(rt.method, sizeof rt.method, "%s", m);
        snprintf(rt.path, sizeof rt.path, "/api/%s%s", p->name, path);
        rt.write = lua_toboolean(L, r + 4);
        lua_pushvalue(L, r + 3);
        rt.ref = luaL_ref(L, LUA_REGISTRYINDEX);
        /* roles: default every role for reads, all but auditors for writes */
        lua_getfield(L, r, "roles");
        if (lua_istable(L, -1)) {
            for (lua_Integer k = 1; k <= (lua_Integer)lua_rawlen(L, -1); k++) {
                lua_rawgeti(L, -1, k);
                int role = lua_isstring(L, -1) ? accounts_role_of(lua_tostring(L, -1)) : -1;
                if (role < 0) {
                    fprintf(stderr,
                            _("gonghui serve: %s: route %s: unknown role in roles (roles: "
                              "admin, clerk, operator, auditor)\n"),
                            file, path);
                    return -1;
                }
                rt.roles |= 1u << role;
                lua_pop(L, 1);
            }
        } else {
            rt.roles = (1u << ROLE__COUNT) - 1;
        }
        if (rt.write) {
            rt.roles &= ~(1u << ROLE_AUDITOR); /* an auditor never writes */
        }
        lua_settop(L, r - 1);
        route *more = realloc(srv->routes, (size_t)(srv->nroutes + 1) * sizeof *more);
        if (!more) {
            return -1;
        }
        srv->routes = more;
        srv->routes[srv->nroutes++] = rt;
    }
    lua_pop(L, 1);
    return 0;
}

/* Makes program `name`'s state and loads its http.lua. */
static int load_program(server *srv, const char *dir, const char *name) {
    char folder[4200], file[4300], sha[65];
    snprintf(folder, sizeof folder, "%.4000s/%.64s", dir, name); /* < 4066 bytes */
    snprintf(file, sizeof file, "%s/http.lua", folder);
    program *more = realloc(srv->progs, (size_t)(srv->nprogs + 1) * sizeof *more);
    if (!more) {
        return -1;
    }
    srv->progs = more;
    program *p = &srv->progs[srv->nprogs];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    snprintf(p->file, sizeof p->file, "%.4100s", file);
    snprintf(p->www, sizeof p->www, "%.4100s/www", folder);
    sandbox_opts so = {.seed = randombytes_random(),
                       .now = (int64_t)time(NULL) + srv->clock_shift,
                       .script_dir = folder,
                       .lib_dir = paths_lib()};
    ghstate_opts go = {.kind = GHSTATE_SERVE, .sb = so, .s = srv->s, .uid = "", .mode = "serve"};
    if (ghstate_new(&go, &p->sb)) {
        return -1;
    }
    srv->nprogs++;
    lua_State *L = sandbox_state(p->sb);
    lua_pushcfunction(L, lstore_traceback); /* 1: message handler */
    lua_getglobal(L, "db");                 /* 2: db */
    if (sandbox_load_file(p->sb, file, sha) != 0) {
        fprintf(stderr, "gonghui serve: %s\n", lua_tostring(L, -1));
        return -1;
    }
    snprintf(p->sha, sizeof p->sha, "%s", sha);
    sandbox_limit(p->sb, 60, 0);
    int st = lua_pcall(L, 0, 1, 1);
    sandbox_unlimit(p->sb);
    if (st != LUA_OK) {
        fprintf(stderr, _("gonghui serve: %s failed to load: %s\n"), file, lua_tostring(L, -1));
        return -1;
    }
    lstore_set_guard(L, 2, LSTORE_NODEFINE); /* from now on handlers only */
    return take_routes(srv, p, file);
}

int serve_load_programs(server *srv) {
    DIR *d = opendir(srv->scripts);
    if (!d) {
        fprintf(stderr, _("gonghui serve: cannot read the scripts folder %s (--scripts DIR)\n"),
                srv->scripts);
        return -1;
    }
    char **names = NULL;
    int n = 0, rc = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        char f[4400]; /* scripts (4096) + a name (255) + "/http.lua" */
        if (e->d_name[0] == '.' || strcmp(e->d_name, "lib") == 0 || strlen(e->d_name) > 60) {
            continue;
        }
        snprintf(f, sizeof f, "%.4000s/%.64s/http.lua", srv->scripts, e->d_name);
        if (access(f, R_OK) == 0) {
            char **m = realloc(names, (size_t)(n + 1) * sizeof *m);
            if (!m) {
                break;
            }
            names = m;
            names[n++] = strdup(e->d_name);
        }
    }
    closedir(d);
    for (int i = 0; i < n; i++) { /* a stable order: by name */
        for (int k = i + 1; k < n; k++) {
            if (strcmp(names[k], names[i]) < 0) {
                char *t = names[i];
                names[i] = names[k];
                names[k] = t;
            }
        }
    }
    for (int i = 0; i < n; i++) {
        if (rc == 0 && load_program(srv, srv->scripts, names[i]) != 0) {
            rc = -1;
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

void serve_free_programs(server *srv) {
    for (int i = 0; i < srv->nprogs; i++) {
        sandbox_free(srv->progs[i].sb);
    }
    free(srv->progs);
    free(srv->routes);
    srv->progs = NULL;
    srv->routes = NULL;
}

/* ---- scopes (engine only) -------------------------------------------------------- */

static const scope *scope_for(server *srv, store_txn *t, int64_t union_id, int role, char *why,
                              size_t n) {
    /* auditors and admins read the events that name no union (scope.h) */
    int unnamed = role == ROLE_AUDITOR || role == ROLE_ADMIN;
    for (int i = 0; i < srv->nscopes; i++) {
        if (srv->scopes[i]->root == union_id && srv->scopes[i]->unnamed == unnamed) {
            return srv->scopes[i];
        }
    }
    scope *sc;
    int rc = scope_build(t, union_id, &sc);
    if (rc) {
        snprintf(why, n, "%s", err_msg(rc));
        return NULL;
    }
    scope **more = realloc(srv->scopes, (size_t)(srv->nscopes + 1) * sizeof *more);
    if (!more) {
        scope_free(sc);
        snprintf(why, n, "out of memory");
        return NULL;
    }
    sc->unnamed = unnamed;
    srv->scopes = more;
    srv->scopes[srv->nscopes++] = sc;
    return sc;
}

static void scopes_forget(server *srv) {
    for (int i = 0; i < srv->nscopes; i++) {
        scope_free(srv->scopes[i]);
    }
    srv->nscopes = 0;
}

/* ---- running a handler ------------------------------------------------------------- */

static void push_kv(lua_State *L, const kv *list, int n) {
    lua_createtable(L, 0, n);
    for (int i = 0; i < n; i++) {
        lua_pushstring(L, list[i].v);
        lua_setfield(L, -2, list[i].k);
    }
}

/* Pushes the req table of job j. */
static void push_req(lua_State *L, const job *j, const route *rt) {
    lua_createtable(L, 0, 8);
    lua_pushstring(L, rt->method);
    lua_setfield(L, -2, "method");
    lua_pushstring(L, j->path);
    lua_setfield(L, -2, "path");
    push_kv(L, j->params, j->nparams);
    lua_setfield(L, -2, "params");
    push_kv(L, j->query, j->nquery);
    lua_setfield(L, -2, "query");
    lua_createtable(L, 0, 5);
    lua_pushstring(L, j->acct.name);
    lua_setfield(L, -2, "name");
    lua_pushinteger(L, (lua_Integer)j->acct.union_id);
    lua_setfield(L, -2, "union_id");
    lua_pushstring(L, accounts_role_name(j->acct.role));
    lua_setfield(L, -2, "role");
    if (j->acct.station[0]) {
        lua_pushstring(L, j->acct.station);
        lua_setfield(L, -2, "station");
    }
    if (j->scope) {
        lua_pushstring(L, j->scope->name);
        lua_setfield(L, -2, "union_name");
    }
    lua_setfield(L, -2, "account");
}

typedef struct watch {
    pthread_mutex_t mu;
    sandbox *sb;
    double deadline;
    int stopped;
} watch;

static watch wd = {PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0};

static void watch_set(sandbox *sb, double timeout) {
    pthread_mutex_lock(&wd.mu);
    wd.sb = sb;
    wd.deadline = sb ? clock_mono_s() + timeout : 0;
    wd.stopped = 0;
    pthread_mutex_unlock(&wd.mu);
}

void *serve_watchdog(void *arg) {
    server *srv = arg;
    while (!srv->engine_done) {
        usleep(20000);
        pthread_mutex_lock(&wd.mu);
        double now = clock_mono_s();
        if (wd.sb && now > wd.deadline && !wd.stopped) {
            sandbox_stop(wd.sb);
            wd.stopped = 1;
        } else if (wd.sb && wd.stopped && now > wd.deadline + SANDBOX_GRACE) {
            fprintf(stderr,
                    _("gonghui serve: a handler is stuck inside a library function and "
                      "did not stop within %d s of its time limit; the server ends now "
                      "and nothing of the open group is stored\n"),
                    SANDBOX_GRACE);
            _exit(70);
        }
        pthread_mutex_unlock(&wd.mu);
    }
    return NULL;
}

/* Runs j's handler in its program's state; t is the savepoint of a write
 * (NULL for a read). Fills j->status and j->out. Returns 0, or 1 when the
 * handler failed (the caller aborts the savepoint). */
static int run_handler(server *srv, job *j, store_txn *t) {
    const route *rt = &srv->routes[j->route];
    program *p = &srv->progs[rt->prog];
    lua_State *L = sandbox_state(p->sb);
    int base = lua_gettop(L);
    char err[512];
    lbus_set_run(L, j->uid);
    if (lua_getglobal(L, "run") == LUA_TTABLE) { /* run.uid: awards name their run */
        lua_pushstring(L, j->uid);
        lua_setfield(L, -2, "uid");
    }
    lua_pop(L, 1);
    lstore_set_scope(L, 2, j->scope && !j->scope->all ? j->scope : NULL);
    lstore_set_guard(L, 2, LSTORE_NODEFINE | (t ? 0 : LSTORE_READONLY));
    lstore_lend_txn(L, 2, t);
    scope_refused = 0;
    lua_rawgeti(L, LUA_REGISTRYINDEX, rt->ref);
    push_req(L, j, rt);
    if (j->body_len) {
        if (ljson_decode(L, j->body, j->body_len, err, sizeof err) != 0) {
            lua_settop(L, base);
            lstore_lend_txn(L, 2, NULL);
            lstore_set_scope(L, 2, NULL);
            serve_answer_error(j, 400, "bad_json", err);
            return 1;
        }
        lua_setfield(L, -2, "body");
    }
    sandbox_limit(p->sb, srv->timeout, srv->memory);
    watch_set(p->sb, srv->timeout);
    int st = lua_pcall(L, 1, 2, 1);
    watch_set(NULL, 0);
    int stopped = sandbox_stopped(p->sb, NULL), mem = sandbox_memory_hit(p->sb);
    sandbox_unlimit(p->sb);
    lstore_lend_txn(L, 2, NULL);
    int failed = 0;
    if (st != LUA_OK) {
        const char *msg = lua_tostring(L, -1);
        msg = msg ? msg : "?";
        if (stopped) {
            char m[200];
            snprintf(m, sizeof m, _("the request passed its time limit of %g s"), srv->timeout);
            serve_answer_error(j, 503, "timeout", m);
        } else if (mem && strstr(msg, "not enough memory")) {
            serve_answer_error(j, 503, "memory", _("the request passed its memory limit"));
        } else if (scope_refused) {
            serve_answer_error(j, 403, "outside_scope", msg);
        } else {
            serve_answer_error(j, 500, "handler_error", msg);
        }
        snprintf(j->error, sizeof j->error, "%s", msg);
        failed = 1;
    } else {
        /* return value  |  return status, value */
        int status = 200, vidx = base + 1;
        if (lua_isinteger(L, base + 1) && lua_gettop(L) >= base + 2 && !lua_isnil(L, base + 2)) {
            lua_Integer s = lua_tointeger(L, base + 1);
            status = s >= 200 && s <= 599 ? (int)s : 500;
            vidx = base + 2;
        }
        j->out.len = 0;
        if (ljson_encode(L, vidx, &j->out, err, sizeof err) != 0) {
            serve_answer_error(j, 500, "bad_result", err);
            snprintf(j->error, sizeof j->error, "%s", err);
            failed = 1;
        } else {
            j->status = status;
            /* a handler's own refusal (4xx/5xx) rolls its writes back too */
            failed = status >= 400;
            if (failed) {
                snprintf(j->error, sizeof j->error, "answered %d", status);
            }
        }
    }
    lua_settop(L, base);
    lstore_set_scope(L, 2, NULL);
    return failed;
}

/* ---- the engine ------------------------------------------------------------------ */

/* Puts j at the end of the engine's queue (srv->mu held). */
static void enqueue(server *srv, job *j) {
    j->done = 0;
    j->next = NULL;
    if (srv->tail) {
        srv->tail->next = j;
    } else {
        srv->head = j;
    }
    srv->tail = j;
    if (srv->head == j) { /* the engine sleeps only on an empty queue */
        pthread_cond_signal(&srv->cv);
    }
}

void serve_submit(server *srv, job *j) {
    pthread_mutex_lock(&srv->mu);
    if (srv->stopping) {
        pthread_mutex_unlock(&srv->mu);
        serve_answer_error(j, 503, "stopping", _("the server is shutting down"));
        return;
    }
    enqueue(srv, j);
    while (!j->done) {
        pthread_cond_wait(&j->cv, &srv->mu);
    }
    pthread_mutex_unlock(&srv->mu);
}

int serve_post(server *srv, job *j) {
    pthread_mutex_lock(&srv->mu);
    if (srv->stopping) {
        pthread_mutex_unlock(&srv->mu);
        serve_answer_error(j, 503, "stopping", _("the server is shutting down"));
        j->done = 1;
        return -1;
    }
    enqueue(srv, j);
    pthread_mutex_unlock(&srv->mu);
    return 0;
}

/* Hands j back to its owner; j may be freed as soon as this wakes it. */
static void finish(server *srv, job *j) {
    if (j->conn) {
        void *conn = j->conn;
        void (*wake)(void *) = j->wake;
        __atomic_store_n(&j->done, 1, __ATOMIC_RELEASE);
        wake(conn);
        return;
    }
    pthread_mutex_lock(&srv->mu);
    j->done = 1;
    pthread_cond_signal(&j->cv);
    pthread_mutex_unlock(&srv->mu);
}

/* The login lookup: the account, its union's name (for the answer). */
static void do_login_get(server *srv, job *j, store_txn *rt) {
    int rc = accounts_get(rt, j->acct.name, &j->acct);
    if (rc) {
        j->status = 404;
        err_clear();
        return;
    }
    char why[256];
    j->scope = scope_for(srv, rt, j->acct.union_id, j->acct.role, why, sizeof why);
    j->status = 200;
}

static void random_uid(char out[17]) {
    unsigned char b[8];
    randombytes_buf(b, sizeof b);
    sodium_bin2hex(out, 17, b, sizeof b);
}

/* Reads the account of a route job afresh and its scope; answers 401/403
 * when it may not go on. 0 to go on. */
static int authorize(server *srv, job *j, store_txn *rt) {
    char name[65], why[256];
    snprintf(name, sizeof name, "%s", j->acct.name);
    if (accounts_get(rt, name, &j->acct) != 0) {
        err_clear();
        serve_answer_error(j, 401, "no_account", _("the account of this session is gone"));
        j->kill_session = 1;
        return -1;
    }
    if (j->acct.disabled) {
        serve_answer_error(j, 401, "disabled", _("this account is disabled"));
        j->kill_session = 1;
        return -1;
    }
    if (j->acct.sessions_ended > 0 && j->sess_created <= j->acct.sessions_ended) {
        serve_answer_error(j, 401, "login",
                           _("this session was ended by the administrator (a new password, or the "
                             "account was disabled): log in again"));
        j->kill_session = 2;
        return -1;
    }
    const route *r = &srv->routes[j->route];
    if (!(r->roles & (1u << j->acct.role))) {
        char m[300];
        snprintf(m, sizeof m, _("the role %s may not use %s %s"), accounts_role_name(j->acct.role),
                 r->method, r->path);
        serve_answer_error(j, 403, "role", m);
        return -1;
    }
    if (!(j->scope = scope_for(srv, rt, j->acct.union_id, j->acct.role, why, sizeof why))) {
        serve_answer_error(j, 403, "no_scope", why);
        return -1;
    }
    random_uid(j->uid);
    return 0;
}

/* The run record of write job j in transaction t. */
static int record_job(server *srv, job *j, store_txn *t, const store_counts *w, int nw) {
    const route *r = &srv->routes[j->route];
    program *p = &srv->progs[r->prog];
    char endpoint[1100];
    snprintf(endpoint, sizeof endpoint, "%.7s %.1023s", r->method, j->path);
    runs_rec rec = {.uid = j->uid,
                    .script = p->file,
                    .script_sha256 = p->sha,
                    .clock = (int64_t)j->started + srv->clock_shift,
                    .operator_name = j->acct.name,
                    .host = srv->host,
                    .started = j->started,
                    .ended = clock_wall_s(),
                    .mode = "serve",
                    .outcome = j->failed ? "error" : "ok",
                    .error = j->failed ? j->error : NULL,
                    .exit_code = j->failed ? 1 : 0,
                    .writes = w,
                    .nwrites = nw,
                    .account = j->acct.name,
                    .union_id = j->acct.union_id,
                    .has_union = 1,
                    .endpoint = endpoint};
    return runs_record_in(t, &rec, &srv->scratch, NULL);
}

/* The write jobs of a group, with the queued session changes, in one
 * transaction (a unit of work: store_unit commits it, one fsync for the
 * whole group, or redoes it after growing the map). */
typedef struct group_unit {
    server *srv;
    job **w;
    int nw, unions_touched;
    const sess_ops *ops;
} group_unit;

static int run_group(store_txn *top, void *ctx) {
    group_unit *g = ctx;
    server *srv = g->srv;
    job **w = g->w;
    int nw = g->nw, *unions_touched = &g->unions_touched;
    store_txn *sp;
    int rc = sess_store(top, g->ops);
    for (int i = 0; i < nw && rc == 0; i++) {
        job *j = w[i];
        if (j->kind == J_FLUSH) {
            continue;
        }
        if (j->kind == J_NOTE) {
            rc = accounts_note_login(top, j->acct.name, j->login_ok, (int64_t)clock_wall_s());
            continue;
        }
        j->started = clock_wall_s();
        if ((rc = store_txn_begin(srv->s, top, 1, &sp))) {
            break;
        }
        j->failed = run_handler(srv, j, sp);
        const route *r = &srv->routes[j->route];
        lua_State *L = sandbox_state(srv->progs[r->prog].sb);
        if (lstore_take_map_full(L, 2)) {
            store_txn_abort(sp);
            rc = GH_EMAPFULL;
            break;
        }
        int n = 0;
        const store_counts *c = store_txn_counts(sp, &n);
        store_counts *copy = n ? store_counts_copy(c, n) : NULL; /* the names die with sp */
        for (int k = 0; k < n; k++) {
            if (strcmp(c[k].name, SCOPE_UNIONS) == 0) {
                *unions_touched = 1;
            }
        }
        if (j->failed) {
            store_txn_abort(sp);
        } else if ((rc = store_txn_commit(sp)) != 0) {
            store_counts_free(copy, n);
            break;
        }
        rc = record_job(srv, j, top, j->failed ? NULL : copy, j->failed ? 0 : n);
        store_counts_free(copy, n);
    }
    return rc;
}

static int sessions_unit(store_txn *t, void *ctx) {
    return sess_store(t, ctx);
}

/* Stores session changes in a transaction of their own. */
static int store_sessions(server *srv, sess_ops *ops) {
    return store_unit(srv->s, sessions_unit, NULL, ops);
}

static void engine_group(server *srv, job *batch) {
    job *w[SERVE_MAX_BATCH], *r[SERVE_MAX_BATCH];
    int nw = 0, nr = 0;
    store_txn *rt = NULL;
    /* 1. logins and the account of every job, in one snapshot */
    if (store_txn_begin(srv->s, NULL, 0, &rt) != 0) {
        for (job *j = batch, *next; j; j = next) {
            next = j->next;
            serve_answer_error(j, 503, "store", err_msg(GH_ELMDB));
            finish(srv, j);
        }
        return;
    }
    for (job *j = batch, *next; j; j = next) {
        next = j->next;
        if (j->kind == J_LOGIN_GET) {
            do_login_get(srv, j, rt);
            finish(srv, j);
        } else if (j->kind == J_NOTE || j->kind == J_FLUSH) {
            w[nw++] = j;
        } else if (authorize(srv, j, rt) != 0) {
            finish(srv, j);
        } else if (srv->routes[j->route].write) {
            w[nw++] = j;
        } else {
            r[nr++] = j;
        }
    }
    store_txn_abort(rt);
    /* 2. reads, answered at once (each handler reads a fresh snapshot);
     * their connections resumed together, so the HTTP threads wake once */
    for (int i = 0; i < nr; i++) {
        run_handler(srv, r[i], NULL);
    }
    for (int i = 0; i < nr; i++) {
        finish(srv, r[i]);
    }
    sess_ops *ops = sess_pending() ? sess_take() : NULL;
    if (!nw) {
        if (ops) { /* session changes and no writes: a transaction of their own */
            sess_done(ops, store_sessions(srv, ops) == 0);
        }
        return;
    }
    /* 3. the writes: one transaction, a savepoint each, one commit */
    group_unit g = {srv, w, nw, 0, ops};
    int rc = store_unit(srv->s, run_group, NULL, &g);
    sess_done(ops, rc == 0);
    if (g.unions_touched) {
        scopes_forget(srv); /* the tree changed: scopes are rebuilt on demand */
    }
    srv->groups++;
    srv->grouped += (uint64_t)nw;
    for (int i = 0; i < nw; i++) {
        if (rc) {
            serve_answer_error(w[i], 503, "commit", err_msg(rc));
            w[i]->failed = 1;
        }
        w[i]->committed = rc == 0;
        finish(srv, w[i]);
    }
}

void *serve_engine(void *arg) {
    server *srv = arg;
    for (;;) {
        pthread_mutex_lock(&srv->mu);
        while (!srv->head && !srv->stopping) {
            pthread_cond_wait(&srv->cv, &srv->mu);
        }
        if (!srv->head && srv->stopping) {
            pthread_mutex_unlock(&srv->mu);
            break;
        }
        /* take at most SERVE_MAX_BATCH (or --max-batch) jobs */
        job *batch = srv->head, *last = batch;
        int n = 1;
        while (last->next && n < srv->max_batch) {
            last = last->next;
            n++;
        }
        srv->head = last->next;
        if (!srv->head) {
            srv->tail = NULL;
        }
        last->next = NULL;
        pthread_mutex_unlock(&srv->mu);
        engine_group(srv, batch);
    }
    if (sess_pending()) { /* what the last requests changed (ended sessions) */
        sess_ops *ops = sess_take();
        sess_done(ops, store_sessions(srv, ops) == 0);
    }
    srv->engine_done = 1;
    return NULL;
}

void serve_engine_stop(server *srv) {
    pthread_mutex_lock(&srv->mu);
    srv->stopping = 1;
    pthread_cond_broadcast(&srv->cv);
    pthread_mutex_unlock(&srv->mu);
}

/*
 * serve_http.c — the HTTP face of `gonghui serve` (libmicrohttpd): request
 * bodies within a limit, sessions, logins with lock-out, the built-in
 * endpoints, static pages, routes handed to the engine (serve.c), and the
 * process's life: options, signals, graceful shutdown.
 *
 * Built-in endpoints (JSON in and out):
 *   GET  /health        {"ok":true, ...}: no login needed
 *   POST /api/login     {"name":..., "password":...} -> a session (cookie
 *                       gh_session, HttpOnly, SameSite=Strict; or the token
 *                       as "Authorization: Bearer TOKEN")
 *   POST /api/logout    ends the session
 *   GET  /api/me        the session's account
 *   ANY  /api/<program>/...   the program's routes (serve.c)
 *   GET  /<program>/... the files of scripts/<program>/www/ (no build step)
 *   GET  /              to the first program with a page
 *
 * Every error is {"ok":false,"error":CODE,"message":TEXT} with a fitting
 * status: 400 bad JSON, 401 no session or a wrong password, 403 role or
 * scope, 404, 405, 413 body too large, 423 locked out, 503 time/memory
 * limits or a failed commit.
 *
 * Sessions (serve_sess.c) are kept in the store as hashes of their tokens,
 * so a restart keeps everyone logged in; they expire after --session-hours
 * of not being used.
 */
#include "serve.h"
#include "cli.h"
#include "clock.h"
#include "serve_int.h"

#include "err.h"
#include "parse.h"
#include "paths.h"
#include "lua_json.h"
#include "script.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <lauxlib.h>
#include <lualib.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_QUERY 64

/* ---- answers ---------------------------------------------------------------------- */

/* Every answer's headers: its type, its caching, and the browser rules
 * (no type sniffing, scripts and frames from this server only). */
static void add_headers(struct MHD_Response *r, const char *type, const char *cache) {
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Cache-Control", cache);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Content-Security-Policy",
                            "default-src 'self'; frame-ancestors 'none'");
}

static enum MHD_Result send_bytes(struct MHD_Connection *c, int status, const char *type,
                                  const void *p, size_t n, const char *cookie) {
    struct MHD_Response *r =
        MHD_create_response_from_buffer(n, (void *)(uintptr_t)p, MHD_RESPMEM_MUST_COPY);
    if (!r) {
        return MHD_NO;
    }
    add_headers(r, type, "no-store");
    if (cookie) {
        MHD_add_response_header(r, "Set-Cookie", cookie);
    }
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result send_json(struct MHD_Connection *c, int status, const codec_buf *b,
                                 const char *cookie) {
    return send_bytes(c, status, "application/json; charset=utf-8", b->p ? (void *)b->p : "",
                      b->len, cookie);
}

static enum MHD_Result send_error(struct MHD_Connection *c, int status, const char *code,
                                  const char *msg) {
    job j;
    memset(&j, 0, sizeof j);
    codec_buf_init(&j.out);
    serve_answer_error(&j, status, code, msg);
    enum MHD_Result r = send_json(c, status, &j.out, NULL);
    codec_buf_free(&j.out);
    return r;
}

/* ---- per-request state ----------------------------------------------------------- */

typedef struct hreq {
    codec_buf body;
    int too_big;
    int posted; /* j went to the engine; the connection sleeps until it is answered */
    int me;     /* j is /api/me's account lookup, not a route */
    int login;  /* a login runs in a thread of its own (login_thread) */
    char name[65];
    job j;
    /* a login's answer, made in its thread, sent when the connection resumes */
    int ans_status;
    codec_buf ans;
    char ans_cookie[200];
    server *srv;
    struct MHD_Connection *conn;
} hreq;

static void resume_conn(void *c) {
    MHD_resume_connection(c);
}

/* Suspends connection c and hands r->j to the engine, which resumes c when
 * it answered (for a write: after the group committed): no thread waits. */
static enum MHD_Result post_job(server *srv, struct MHD_Connection *c, hreq *r) {
    r->j.conn = c;
    r->j.wake = resume_conn;
    r->posted = 1;
    MHD_suspend_connection(c); /* before the engine can answer and resume it */
    if (serve_post(srv, &r->j) != 0) {
        MHD_resume_connection(c); /* stopping: answered already */
    }
    return MHD_YES;
}

static atomic_int inflight;

static const char *session_token(struct MHD_Connection *c) {
    const char *a = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    if (a && strncmp(a, "Bearer ", 7) == 0) {
        return a + 7;
    }
    return MHD_lookup_connection_value(c, MHD_COOKIE_KIND, "gh_session");
}

static void put_kv(codec_buf *b, const char *k, const char *v, int first) {
    if (!first) {
        codec_buf_add(b, ",", sizeof "," - 1);
    }
    codec_json_str(b, k, strlen(k));
    codec_buf_add(b, ":", sizeof ":" - 1);
    codec_json_str(b, v, strlen(v));
}

static void put_account(codec_buf *b, const account *a, const char *union_name) {
    char num[32];
    codec_buf_add(b, "{", sizeof "{" - 1);
    put_kv(b, "name", a->name, 1);
    put_kv(b, "role", accounts_role_name(a->role), 0);
    snprintf(num, sizeof num, ",\"union_id\":%lld", (long long)a->union_id);
    codec_buf_add(b, num, strlen(num));
    put_kv(b, "union_name", union_name ? union_name : "", 0);
    if (a->station[0]) {
        put_kv(b, "station", a->station, 0);
    }
    codec_buf_add(b, "}", sizeof "}" - 1);
}

/* Reads {"name":..., "password":...}; 0 or -1 with msg. */
static int login_body(const hreq *r, char *name, size_t nn, char *pw, size_t pn, char *msg,
                      size_t mn) {
    lua_State *L = luaL_newstate();
    int rc = -1;
    if (!L) {
        snprintf(msg, mn, "out of memory");
        return -1;
    }
    if (ljson_decode(L, r->body.p ? (const char *)r->body.p : "", r->body.len, msg, mn) == 0) {
        if (lua_istable(L, -1) && lua_getfield(L, -1, "name") == LUA_TSTRING &&
            lua_getfield(L, -2, "password") == LUA_TSTRING && lua_rawlen(L, -2) < nn &&
            lua_rawlen(L, -1) < pn) {
            snprintf(name, nn, "%s", lua_tostring(L, -2));
            snprintf(pw, pn, "%s", lua_tostring(L, -1));
            rc = 0;
        } else {
            snprintf(msg, mn, _("a login is {\"name\": \"...\", \"password\": \"...\"}"));
        }
    }
    lua_close(L);
    return rc;
}

/* A login's answer into r (its thread has no connection to send on). */
static void ans_json(hreq *r, int status, const codec_buf *b, const char *cookie) {
    r->ans_status = status;
    r->ans.len = 0;
    codec_buf_add(&r->ans, b->p ? (const void *)b->p : "", b->len);
    snprintf(r->ans_cookie, sizeof r->ans_cookie, "%s", cookie ? cookie : "");
}

static void ans_error(hreq *r, int status, const char *code, const char *msg) {
    job e;
    memset(&e, 0, sizeof e);
    codec_buf_init(&e.out);
    serve_answer_error(&e, status, code, msg);
    ans_json(r, status, &e.out, NULL);
    codec_buf_free(&e.out);
}

/* The login of r, in a thread of its own: the engine is asked twice (the
 * account; then the bookkeeping and the new session, stored before the
 * answer) and argon2id checks the password in between, which takes a
 * memory-hard while: no HTTP thread waits for it. */
static void do_login(server *srv, hreq *r) {
    char name[65], pw[1024], msg[256];
    if (login_body(r, name, sizeof name, pw, sizeof pw, msg, sizeof msg) != 0) {
        ans_error(r, 400, "bad_login", msg);
        return;
    }
    job j;
    memset(&j, 0, sizeof j);
    pthread_cond_init(&j.cv, NULL);
    codec_buf_init(&j.out);
    j.kind = J_LOGIN_GET;
    snprintf(j.acct.name, sizeof j.acct.name, "%s", name);
    serve_submit(srv, &j);
    double now = clock_wall_s();
    if (j.status != 200) {
        /* no such account: spend the time a check would, so a guess at
         * names learns nothing from the clock */
        account dummy;
        memset(&dummy, 0, sizeof dummy);
        accounts_hash("not-a-password", dummy.hash);
        accounts_verify(&dummy, pw);
        ans_error(r, 401, "login", _("wrong account name or password"));
        goto out;
    }
    if (j.acct.disabled) {
        ans_error(r, 403, "disabled",
                  _("this account is disabled; ask the federation's "
                    "administrator"));
        goto out;
    }
    if (j.acct.locked_until > (int64_t)now) {
        char m[200];
        snprintf(m, sizeof m,
                 _("this account is locked for %lld more minutes after %d wrong passwords in a "
                   "row"),
                 (long long)((j.acct.locked_until - (int64_t)now + 59) / 60),
                 ACCOUNTS_MAX_FAILURES);
        ans_error(r, 423, "locked", m);
        goto out;
    }
    int ok = accounts_verify(&j.acct, pw);
    const char *union_name = j.scope ? j.scope->name : "";
    char uname[256];
    snprintf(uname, sizeof uname, "%s", union_name);
    /* the bookkeeping (failures, lock-out) and the new session are stored
     * in one transaction before the answer */
    char token[65], cookie[200];
    int no_room = ok && sess_new(j.acct.name, srv->session_seconds, token) != 0;
    account a = j.acct;
    codec_buf_free(&j.out);
    pthread_cond_destroy(&j.cv);
    memset(&j, 0, sizeof j);
    pthread_cond_init(&j.cv, NULL);
    codec_buf_init(&j.out);
    j.kind = J_NOTE;
    j.acct = a;
    j.login_ok = ok;
    serve_submit(srv, &j);
    if (no_room) {
        ans_error(r, 503, "sessions", _("too many sessions open"));
        goto out;
    }
    if (!ok) {
        if (a.failures + 1 >= ACCOUNTS_MAX_FAILURES) {
            ans_error(r, 423, "locked",
                      _("wrong password; the account is now locked for 15 minutes"));
        } else {
            ans_error(r, 401, "login", _("wrong account name or password"));
        }
        goto out;
    }
    snprintf(cookie, sizeof cookie, "gh_session=%s; Path=/; HttpOnly; SameSite=Strict", token);
    codec_buf b;
    codec_buf_init(&b);
    codec_buf_add(&b, "{\"ok\":true,", sizeof "{\"ok\":true," - 1);
    put_kv(&b, "token", token, 1);
    codec_buf_add(&b, ",\"account\":", sizeof ",\"account\":" - 1);
    put_account(&b, &a, uname);
    codec_buf_add(&b, "}", sizeof "}" - 1);
    ans_json(r, 200, &b, cookie);
    codec_buf_free(&b);
out:
    sodium_memzero(pw, sizeof pw);
    codec_buf_free(&j.out);
    pthread_cond_destroy(&j.cv);
}

static void *login_thread(void *arg) {
    hreq *r = arg;
    struct MHD_Connection *c = r->conn;
    do_login(r->srv, r);
    __atomic_store_n(&r->j.done, 1, __ATOMIC_RELEASE);
    MHD_resume_connection(c); /* r may be gone from here on */
    return NULL;
}

/* Starts r's login in its own thread, the connection suspended until it
 * answered. */
static enum MHD_Result start_login(server *srv, struct MHD_Connection *c, hreq *r) {
    pthread_t th;
    pthread_attr_t at;
    codec_buf_init(&r->ans);
    r->srv = srv;
    r->conn = c;
    r->login = 1;
    r->posted = 1;
    MHD_suspend_connection(c);
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&th, &at, login_thread, r) != 0) {
        login_thread(r); /* no thread to be had: here, then */
    }
    pthread_attr_destroy(&at);
    return MHD_YES;
}

/* ---- routes ----------------------------------------------------------------------- */

/* Matches url against route pattern; captures :name segments. 1 on a match. */
static int match(const char *pat, const char *url, job *j) {
    j->nparams = 0;
    while (*pat && *url) {
        if (*pat != '/' || *url != '/') {
            return 0;
        }
        pat++, url++;
        const char *pe = strchr(pat, '/'), *ue = strchr(url, '/');
        size_t pl = pe ? (size_t)(pe - pat) : strlen(pat),
               ul = ue ? (size_t)(ue - url) : strlen(url);
        if (pat[0] == ':') {
            if (ul == 0 || j->nparams == SERVE_MAX_PARAMS) {
                return 0;
            }
            j->params[j->nparams].k = strndup(pat + 1, pl - 1);
            j->params[j->nparams].v = strndup(url, ul);
            j->nparams++;
        } else if (pl != ul || memcmp(pat, url, pl) != 0) {
            return 0;
        }
        pat += pl, url += ul;
    }
    return !*pat && !*url;
}

static void free_params(job *j) {
    for (int i = 0; i < j->nparams; i++) {
        free(j->params[i].k);
        free(j->params[i].v);
    }
    j->nparams = 0;
    for (int i = 0; i < j->nquery; i++) {
        free(j->query[i].k);
        free(j->query[i].v);
    }
    free(j->query);
    j->query = NULL;
    j->nquery = 0;
}

static enum MHD_Result add_query(void *cls, enum MHD_ValueKind kind, const char *k, const char *v) {
    job *j = cls;
    (void)kind;
    if (j->nquery >= MAX_QUERY || !k) {
        return MHD_YES;
    }
    kv *m = realloc(j->query, (size_t)(j->nquery + 1) * sizeof *m);
    if (!m) {
        return MHD_NO;
    }
    j->query = m;
    m[j->nquery].k = strdup(k);
    m[j->nquery].v = strdup(v ? v : "");
    j->nquery++;
    return MHD_YES;
}

static enum MHD_Result do_route(server *srv, struct MHD_Connection *c, const char *url,
                                const char *method, hreq *r) {
    job *jp = &r->j;
#define j (*jp)
    int found = -1, path_only = 0;
    for (int i = 0; i < srv->nroutes && found < 0; i++) {
        if (match(srv->routes[i].path, url, &j)) {
            if (strcmp(srv->routes[i].method, method) == 0) {
                found = i;
            } else {
                path_only = 1;
                free_params(&j);
            }
        }
    }
    if (found < 0) {
        return path_only ? send_error(c, 405, "method", _("this endpoint takes another method"))
                         : send_error(c, 404, "not_found", _("no such endpoint"));
    }
    if (sess_get(session_token(c), srv->session_seconds, r->name, &j.sess_created) != 0) {
        free_params(&j);
        return send_error(c, 401, "login", _("log in first (POST /api/login)"));
    }
    codec_buf_init(&j.out);
    j.kind = J_ROUTE;
    j.route = found;
    snprintf(j.path, sizeof j.path, "%s", url);
    snprintf(j.acct.name, sizeof j.acct.name, "%s", r->name);
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, add_query, &j);
    j.body = r->body.p ? (const char *)r->body.p : "";
    j.body_len = r->body.len;
#undef j
    return post_job(srv, c, r);
}

/* The answer of a route job, once the engine resumed the connection. */
static enum MHD_Result answer_route(struct MHD_Connection *c, hreq *r) {
    job *j = &r->j;
    if (j->kill_session == 2) {
        sess_end_older(r->name, j->acct.sessions_ended);
    } else if (j->kill_session) {
        sess_end(NULL, r->name);
    }
    enum MHD_Result ret = send_json(c, j->status ? j->status : 500, &j->out, NULL);
    free_params(j);
    codec_buf_free(&j->out);
    return ret;
}

/* The answer of /api/me, once the engine resumed the connection. */
static enum MHD_Result answer_me(struct MHD_Connection *c, hreq *r) {
    job *j = &r->j;
    codec_buf b;
    codec_buf_init(&b);
    codec_buf_add(&b, "{\"ok\":true,\"account\":", sizeof "{\"ok\":true,\"account\":" - 1);
    put_account(&b, &j->acct, j->scope ? j->scope->name : "");
    codec_buf_add(&b, "}", sizeof "}" - 1);
    int ended = j->acct.sessions_ended > 0 && j->sess_created <= j->acct.sessions_ended;
    if (j->status == 200 && (j->acct.disabled || ended)) {
        sess_end_older(r->name, j->acct.disabled ? clock_wall_s() : j->acct.sessions_ended);
    }
    enum MHD_Result ret = j->status == 200 && !j->acct.disabled && !ended
                              ? send_json(c, 200, &b, NULL)
                              : send_error(c, 401, "login", _("the account is gone or disabled"));
    codec_buf_free(&b);
    codec_buf_free(&j->out);
    return ret;
}

/* ---- static pages ----------------------------------------------------------------- */

static const char *content_type(const char *path) {
    static const char *const types[][2] = {{".html", "text/html; charset=utf-8"},
                                           {".css", "text/css; charset=utf-8"},
                                           {".js", "text/javascript; charset=utf-8"},
                                           {".json", "application/json; charset=utf-8"},
                                           {".svg", "image/svg+xml"},
                                           {".png", "image/png"},
                                           {".ico", "image/x-icon"}};
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof *types; i++) {
        if (strcmp(dot, types[i][0]) == 0) {
            return types[i][1];
        }
    }
    return NULL;
}

static enum MHD_Result do_static(server *srv, struct MHD_Connection *c, const char *url) {
    if (strcmp(url, "/") == 0) {
        for (int i = 0; i < srv->nprogs; i++) {
            char f[4300];
            snprintf(f, sizeof f, "%s/index.html", srv->progs[i].www);
            if (access(f, R_OK) == 0) {
                char loc[200];
                snprintf(loc, sizeof loc, "/%s/", srv->progs[i].name);
                struct MHD_Response *r =
                    MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
                MHD_add_response_header(r, "Location", loc);
                enum MHD_Result ret = MHD_queue_response(c, 302, r);
                MHD_destroy_response(r);
                return ret;
            }
        }
        return send_error(c, 404, "not_found", _("no program has a page (scripts/*/www)"));
    }
    const char *rest = strchr(url + 1, '/');
    if (!rest || strstr(url, "..") || strstr(url, "/.")) {
        return send_error(c, 404, "not_found", _("no such page"));
    }
    size_t pl = (size_t)(rest - url - 1);
    for (int i = 0; i < srv->nprogs; i++) {
        if (strlen(srv->progs[i].name) != pl || memcmp(srv->progs[i].name, url + 1, pl) != 0) {
            continue;
        }
        char f[8400];
        snprintf(f, sizeof f, "%s%s%s", srv->progs[i].www, rest,
                 rest[strlen(rest) - 1] == '/' ? "index.html" : "");
        const char *type = content_type(f);
        int fd = type ? open(f, O_RDONLY | O_CLOEXEC) : -1;
        struct stat st;
        if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > (16 << 20)) {
            if (fd >= 0) {
                close(fd);
            }
            break;
        }
        struct MHD_Response *r = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
        if (!r) {
            close(fd);
            return MHD_NO;
        }
        add_headers(r, type, "no-cache");
        enum MHD_Result ret = MHD_queue_response(c, 200, r);
        MHD_destroy_response(r);
        return ret;
    }
    return send_error(c, 404, "not_found", _("no such page"));
}

/* ---- the access handler ----------------------------------------------------------- */

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls) {
    server *srv = cls;
    hreq *r = *con_cls;
    (void)version;
    if (!r) {
        if (!(r = calloc(1, sizeof *r))) {
            return MHD_NO;
        }
        codec_buf_init(&r->body);
        *con_cls = r;
        atomic_fetch_add(&inflight, 1);
        return MHD_YES;
    }
    if (r->posted) { /* resumed: the engine answered */
        if (!__atomic_load_n(&r->j.done, __ATOMIC_ACQUIRE)) {
            return MHD_YES; /* not yet (MHD calls again) */
        }
        r->posted = 0;
        if (r->login) {
            return send_bytes(c, r->ans_status, "application/json; charset=utf-8",
                              r->ans.p ? (const void *)r->ans.p : "", r->ans.len,
                              r->ans_cookie[0] ? r->ans_cookie : NULL);
        }
        return r->me ? answer_me(c, r) : answer_route(c, r);
    }
    if (*upload_size) {
        if (r->body.len + *upload_size > srv->body_limit) {
            r->too_big = 1;
        } else {
            codec_buf_add(&r->body, upload_data, *upload_size);
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (r->too_big || r->body.oom) {
        char m[200];
        snprintf(m, sizeof m, _("the request body is larger than %zu bytes (--body-limit)"),
                 srv->body_limit);
        return send_error(c, 413, "too_large", m);
    }
    if (strcmp(url, "/health") == 0) {
        char b[300];
        int n = snprintf(b, sizeof b,
                         "{\"ok\":true,\"uptime\":%.0f,\"programs\":%d,\"routes\":%d,"
                         "\"groups\":%llu,\"grouped_writes\":%llu,\"in_flight\":%d}",
                         clock_wall_s() - srv->started, srv->nprogs, srv->nroutes,
                         (unsigned long long)srv->groups, (unsigned long long)srv->grouped,
                         atomic_load(&inflight) - 1);
        return send_bytes(c, 200, "application/json; charset=utf-8", b, (size_t)n, NULL);
    }
    if (strcmp(url, "/api/login") == 0) {
        return strcmp(method, "POST") == 0
                   ? start_login(srv, c, r)
                   : send_error(c, 405, "method", _("log in with POST /api/login"));
    }
    if (strcmp(url, "/api/logout") == 0) {
        const char *t = session_token(c);
        if (t) {
            sess_end(t, NULL);
            job j; /* answered once the end of the session is stored */
            memset(&j, 0, sizeof j);
            pthread_cond_init(&j.cv, NULL);
            codec_buf_init(&j.out);
            j.kind = J_FLUSH;
            serve_submit(srv, &j);
            codec_buf_free(&j.out);
            pthread_cond_destroy(&j.cv);
        }
        codec_buf b;
        codec_buf_init(&b);
        codec_buf_add(&b, "{\"ok\":true}", sizeof "{\"ok\":true}" - 1);
        enum MHD_Result ret =
            send_json(c, 200, &b, "gh_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
        codec_buf_free(&b);
        return ret;
    }
    if (strcmp(url, "/api/me") == 0) {
        if (sess_get(session_token(c), srv->session_seconds, r->name, &r->j.sess_created) != 0) {
            return send_error(c, 401, "login", _("not logged in"));
        }
        codec_buf_init(&r->j.out);
        r->j.kind = J_LOGIN_GET;
        r->me = 1;
        snprintf(r->j.acct.name, sizeof r->j.acct.name, "%s", r->name);
        return post_job(srv, c, r);
    }
    if (strncmp(url, "/api/", 5) == 0) {
        return do_route(srv, c, url, method, r);
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        return send_error(c, 405, "method", _("pages are read with GET"));
    }
    return do_static(srv, c, url);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
    hreq *r = *con_cls;
    (void)cls, (void)c, (void)toe;
    if (r) {
        if (r->posted && !__atomic_load_n(&r->j.done, __ATOMIC_ACQUIRE)) {
            return; /* the engine still holds the job: never freed under it */
        }
        if (r->posted && !r->login) {
            free_params(&r->j);
            codec_buf_free(&r->j.out);
        }
        if (r->login) {
            codec_buf_free(&r->ans);
        }
        codec_buf_free(&r->body);
        free(r);
        *con_cls = NULL;
        atomic_fetch_sub(&inflight, 1);
    }
}

/* ---- the process ------------------------------------------------------------------ */

static int parse_size(const char *s, size_t *out) {
    char *end;
    double v = strtod(s, &end);
    double mul = 1;
    if (*end == 'k' || *end == 'K') {
        mul = 1024, end++;
    } else if (*end == 'm' || *end == 'M') {
        mul = 1024.0 * 1024, end++;
    } else if (*end == 'g' || *end == 'G') {
        mul = 1024.0 * 1024 * 1024, end++;
    }
    if (end == s || *end || v < 0) {
        return -1;
    }
    *out = (size_t)(v * mul);
    return 0;
}

int serve_main(const char *db_path, int argc, char **argv) {
    server srv;
    memset(&srv, 0, sizeof srv);
    int port = 8080, http_threads = 4, has_now = 0;
    /* libmicrohttpd's memory per connection (the request line and headers,
     * the answer's headers): it clears all of it between two requests of a
     * connection, so its 32 KiB default cost ~49,000 instructions a lookup;
     * 8 KiB takes headers up to ~7 KB (nginx's own default line limit is
     * 8k) and answers 431 beyond (bench/README.md, S1) */
    size_t conn_memory = 8192;
    const char *bind_addr = "127.0.0.1", *port_file = NULL;
    srv.timeout = 10;
    srv.memory = (size_t)256 << 20;
    srv.body_limit = (size_t)1 << 20;
    srv.session_seconds = 8 * 3600;
    srv.max_batch = SERVE_MAX_BATCH;
    const char *lib = paths_lib();
    if (lib) {
        snprintf(srv.scripts, sizeof srv.scripts, "%s/..", lib);
    }
    cli_iter it; /* the options are help.c's, parsed as for every command */
    const cli_opt *o;
    const char *v;
    int got;
    cli_begin(&it, "serve", argc, argv);
    while ((got = cli_next(&it, &o, &v)) > 0) {
        char *end = NULL;
        int bad = 0;
        if (!o) {
            return cli_usage(&it, _("takes no arguments, only options: %s"), v);
        } else if (cli_is(&it, o, "--port")) {
            port = (int)strtol(v, &end, 10);
            bad = *end || port < 0 || port > 65535;
        } else if (cli_is(&it, o, "--bind")) {
            bind_addr = v;
        } else if (cli_is(&it, o, "--port-file")) {
            port_file = v;
        } else if (cli_is(&it, o, "--scripts")) {
            snprintf(srv.scripts, sizeof srv.scripts, "%s", v);
        } else if (cli_is(&it, o, "--timeout")) {
            srv.timeout = strtod(v, &end);
            bad = *end || srv.timeout <= 0;
        } else if (cli_is(&it, o, "--memory")) {
            bad = parse_size(v, &srv.memory) != 0;
        } else if (cli_is(&it, o, "--body-limit")) {
            bad = parse_size(v, &srv.body_limit) != 0;
        } else if (cli_is(&it, o, "--session-hours")) {
            srv.session_seconds = strtod(v, &end) * 3600;
            bad = *end || srv.session_seconds <= 0;
        } else if (cli_is(&it, o, "--http-threads")) {
            http_threads = (int)strtol(v, &end, 10);
            bad = *end || http_threads < 1 || http_threads > 64;
        } else if (cli_is(&it, o, "--conn-memory")) {
            bad = parse_size(v, &conn_memory) != 0 || conn_memory < 4096 ||
                  conn_memory > ((size_t)1 << 24);
        } else if (cli_is(&it, o, "--now")) {
            int64_t at;
            int prc = parse_now(v, strlen(v), &at);
            if (prc != 0) {
                return cli_usage(
                    &it, _("--now \"%s\" %s: give YYYY-MM-DD [HH:MM[:SS]] or seconds since 1970"),
                    v, err_msg(prc));
            }
            srv.clock_shift = at - (int64_t)time(NULL);
            has_now = 1;
        } else if (cli_is(&it, o, "--max-batch")) {
            srv.max_batch = (int)strtol(v, &end, 10);
            bad = *end || srv.max_batch < 1 || srv.max_batch > SERVE_MAX_BATCH;
        }
        if (bad) {
            return cli_usage(&it, _("bad value for %s: '%s'"), o->name, v);
        }
    }
    if (got < 0) {
        return 2;
    }
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, bind_addr, &sa.sin_addr) != 1) {
        fprintf(stderr, _("gonghui serve: --bind needs an IPv4 address, got '%s'\n"), bind_addr);
        return 2;
    }
    if (sodium_init() < 0) {
        fprintf(stderr, _("gonghui serve: libsodium could not start\n"));
        return 1;
    }
    int rc = store_open(db_path, 0, &srv.s);
    if (rc) {
        fprintf(stderr, "gonghui serve: %s\n", err_msg(rc));
        return 1;
    }
    chmod(db_path, 0700); /* the server alone holds the database */
    if ((rc = sess_load(srv.s, clock_wall_s())) != 0) {
        fprintf(stderr, _("gonghui serve: cannot read the stored sessions: %s\n"), err_msg(rc));
        store_close(srv.s);
        return 1;
    }
    gethostname(srv.host, sizeof srv.host - 1);
    srv.started = clock_wall_s();
    pthread_mutex_init(&srv.mu, NULL);
    pthread_cond_init(&srv.cv, NULL);
    codec_buf_init(&srv.scratch);
    if (serve_load_programs(&srv) != 0) {
        serve_free_programs(&srv);
        store_close(srv.s);
        return 1;
    }
    /* SIGTERM/SIGINT are taken by sigwait below, in this thread only */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    pthread_t engine, watchdog;
    pthread_create(&engine, NULL, serve_engine, &srv);
    pthread_create(&watchdog, NULL, serve_watchdog, &srv);
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | (getenv("GH_POLL") ? MHD_USE_POLL : MHD_USE_EPOLL) |
            MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC | MHD_USE_ERROR_LOG,
        (uint16_t)port, NULL, NULL, on_request, &srv, MHD_OPTION_SOCK_ADDR, &sa,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)http_threads, MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, &srv, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)1000, MHD_OPTION_LISTENING_ADDRESS_REUSE,
        (unsigned)1, MHD_OPTION_CONNECTION_MEMORY_LIMIT, conn_memory, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, _("gonghui serve: cannot listen on %s:%d (%s)\n"), bind_addr, port,
                strerror(errno));
        serve_engine_stop(&srv);
        pthread_join(engine, NULL);
        pthread_join(watchdog, NULL);
        serve_free_programs(&srv);
        store_close(srv.s);
        return 1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    int bound = info ? info->port : port;
    printf(_("gonghui serve: listening on http://%s:%d/ (%d programs, %d routes; database %s)\n"),
           bind_addr, bound, srv.nprogs, srv.nroutes, db_path);
    if (has_now) {
        char when[64];
        time_t at = (time_t)((int64_t)time(NULL) + srv.clock_shift);
        struct tm tm;
        strftime(when, sizeof when, "%Y-%m-%d %H:%M", localtime_r(&at, &tm));
        printf(_("gonghui serve: the programs' clock stands at %s (--now), not at the real time: "
                 "what is entered is dated from it (a rehearsal)\n"),
               when);
    }
    fflush(stdout);
    if (port_file) {
        char tmp[4200];
        snprintf(tmp, sizeof tmp, "%s.tmp", port_file);
        FILE *f = fopen(tmp, "w");
        if (f) {
            fprintf(f, "%d\n", bound);
            fclose(f);
            rename(tmp, port_file);
        }
    }
    int sig = 0;
    sigwait(&sigs, &sig);
    fprintf(stderr, _("gonghui serve: %s: finishing the requests in flight\n"),
            sig == SIGTERM ? "SIGTERM" : "SIGINT");
    MHD_socket ls = MHD_quiesce_daemon(d); /* no new connections */
    if (ls != MHD_INVALID_SOCKET) {
        close(ls);
    }
    for (int i = 0; i < 3000 && atomic_load(&inflight) > 0; i++) {
        usleep(10000);
    }
    serve_engine_stop(&srv);
    pthread_join(engine, NULL);
    pthread_join(watchdog, NULL);
    MHD_stop_daemon(d);
    serve_free_programs(&srv);
    for (int i = 0; i < srv.nscopes; i++) {
        scope_free(srv.scopes[i]);
    }
    free(srv.scopes);
    codec_buf_free(&srv.scratch);
    store_close(srv.s);
    sess_free_all();
    fprintf(stderr, _("gonghui serve: stopped\n"));
    return 0;
}

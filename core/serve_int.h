/*
 * serve_int.h — what serve.c (the engine) and serve_http.c (the HTTP face)
 * share. Private to the server.
 */
#ifndef GH_SERVE_INT_H
#define GH_SERVE_INT_H

#include "accounts.h"
#include "codec.h"
#include "sandbox.h"
#include "scope.h"
#include "store.h"

#include <pthread.h>
#include <stdint.h>

#define SERVE_MAX_BATCH 256
#define SERVE_MAX_PARAMS 16

typedef struct kv {
    char *k, *v;
} kv;

typedef struct route {
    char method[8];
    char path[256]; /* /api/<program>/... with :name segments */
    int prog;
    int write;
    unsigned roles; /* bit per ROLE_* allowed */
    int ref;        /* the handler, in the program state's registry */
} route;

typedef struct program {
    char name[64];
    char file[4200]; /* its http.lua */
    char www[4200];  /* its static files */
    char sha[65];
    sandbox *sb;
} program;

/* J_FLUSH: a write with nothing of its own, answered when the queued session
 * changes (serve_sess.c) are stored: /api/logout */
enum { J_ROUTE, J_LOGIN_GET, J_NOTE, J_FLUSH };

/* One request handed to the engine. Owned by its connection (or, for a
 * blocking submit, the caller's stack); the engine fills status/out and sets
 * done, then wakes the owner: resume (conn != NULL, serve_post) or the
 * condition variable (serve_submit). After the wake the engine never
 * touches the job again: the owner may free it at once. */
typedef struct job {
    int kind;
    int route;
    char path[1024];
    kv params[SERVE_MAX_PARAMS];
    int nparams;
    kv *query;
    int nquery;
    const char *body;
    size_t body_len;
    account acct;        /* in: the session's account name; out: the account read afresh */
    double sess_created; /* when the session began (an account's sessions_ended voids older ones) */
    const scope *scope;  /* engine: the account's scope */
    int login_ok;        /* J_NOTE: the password was right */
    char uid[17];
    double started;
    int failed, committed;
    int kill_session; /* 1: every session of the account; 2: those up to acct.sessions_ended */
    char error[512];
    /* answer */
    int status;
    codec_buf out;
    /* queue */
    int done;
    pthread_cond_t cv;
    void *conn;               /* serve_post: the suspended MHD connection */
    void (*wake)(void *conn); /* serve_post: resumes conn */
    struct job *next;
} job;

typedef struct server {
    store *s;
    char scripts[4096];
    char host[256];
    double timeout;
    int64_t clock_shift; /* --now: the handlers' clock minus the real one (seconds); else 0 */
    size_t memory, body_limit;
    double session_seconds;
    int max_batch;
    program *progs;
    int nprogs;
    route *routes;
    int nroutes;
    /* engine */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    job *head, *tail;
    int stopping;
    volatile int engine_done;
    scope **scopes;
    int nscopes;
    codec_buf scratch;
    uint64_t groups, grouped;
    double started;
} server;

/* serve.c */
int serve_load_programs(server *srv);
void serve_free_programs(server *srv);
void serve_answer_error(job *j, int status, const char *code, const char *msg);
/* Queues j and waits until the engine answered it (for a write: after the
 * group committed). */
void serve_submit(server *srv, job *j);
/* Queues j and returns at once; the engine calls j->wake(j->conn) when it
 * answered. 0, or -1 when the server is stopping (j is answered 503 and
 * nothing will wake: the caller answers at once). */
int serve_post(server *srv, job *j);
void *serve_engine(void *arg);
void *serve_watchdog(void *arg);
void serve_engine_stop(server *srv);

/* serve_sess.c: sessions (see there) */
#define SESSIONS_COLLECTION "_sessions"
typedef struct sess_ops sess_ops;
/* A new session of account name, valid for life seconds of not being
 * used: the token into token (64 hex digits); 0, or -1 when there are too
 * many (token ""). */
int sess_new(const char *name, double life, char token[65]);
/* The account of session token into name and when the session began into
 * *created (and its expiry moved on); 0, or -1 when there is no such
 * session or it expired. */
int sess_get(const char *token, double life, char name[65], double *created);
/* Ends session token, or (token NULL) every session of account name. */
void sess_end(const char *token, const char *name);
/* Ends the sessions of account name that began at or before `before`. */
void sess_end_older(const char *name, double before);
/* Loads the stored sessions that have not expired (at start). */
int sess_load(store *s, double now);
int sess_count(void);
/* The engine's side: are changes waiting; take them; write them in t;
 * done (stored = 0: they go back in the queue). */
int sess_pending(void);
sess_ops *sess_take(void);
int sess_store(store_txn *t, const sess_ops *ops);
void sess_done(sess_ops *ops, int stored);
void sess_free_all(void);

#endif

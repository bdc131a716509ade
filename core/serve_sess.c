/*
 * serve_sess.c — the sessions of `gonghui serve`: held in memory for the
 * request path, kept in the store so a restart keeps clerks logged in.
 *
 * A session is a random 256-bit token (64 hex digits) handed to the client.
 * The store never sees the token: the system collection _sessions holds
 * BLAKE2b-256(token) as its key, the account and the expiry (wall clock
 * seconds). The request threads find sessions in memory; every change
 * (a new session, an ended one, an expiry moved on) is queued as an
 * operation that the engine writes in its next write transaction
 * (serve.c: in a group of writes, or a small transaction of its own), so
 * the request path never writes.
 *
 * Invariants:
 *  1. Only hashes are stored; a token is compared by its hash.
 *  2. An ended session is removed from memory at once; its removal from
 *     the store is queued, and put back in the queue when the transaction
 *     that carried it did not commit (a logout is never forgotten while the
 *     server runs; /api/logout answers after it committed).
 *  3. The stored expiry lags the one in memory by at most SESS_TOUCH
 *     seconds (or a tenth of the session's life, if less): a session in use
 *     is written again only when it moved on by that much.
 *  4. At start, sessions whose stored expiry passed are not loaded and are
 *     deleted.
 */
#include "serve.h"
#include "serve_int.h"

#include "clock.h"
#include "codec.h"
#include "err.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SESSIONS 100000
#define SESS_TOUCH 600.0

enum { S_ID, S_ACCOUNT, S_EXPIRES, S_CREATED, S__COUNT };

static const store_sysfield sess_fields[S__COUNT] = {
    {"id", FT_STRING, 0},
    {"account", FT_STRING, 0},
    {"expires", FT_NUMBER, 0},
    {"created", FT_NUMBER, 0},
};

typedef struct sess {
    unsigned char hash[32];
    char name[65];
    double expires, stored, created;
} sess;

typedef struct sess_op {
    int del;
    unsigned char hash[32];
    char name[65];
    double expires, created;
} sess_op;

struct sess_ops {
    sess_op *v;
    int n, cap;
};

static pthread_mutex_t smu = PTHREAD_MUTEX_INITIALIZER;
static sess *sessions;
static int nsess, capsess;
static sess_ops queue;
static int queued; /* queue.n, readable without the lock */

static void hash_token(const char *token, unsigned char out[32]) {
    crypto_generichash(out, 32, (const unsigned char *)token, strlen(token), NULL, 0);
}

/* Queues an operation (smu held). */
static void queue_op(int del, const sess *s) {
    if (queue.n == queue.cap) {
        int cap = queue.cap ? queue.cap * 2 : 16;
        sess_op *m = realloc(queue.v, (size_t)cap * sizeof *m);
        if (!m) {
            return; /* the store lags; memory stays right */
        }
        queue.v = m;
        queue.cap = cap;
    }
    sess_op *o = &queue.v[queue.n++];
    o->del = del;
    memcpy(o->hash, s->hash, sizeof o->hash);
    memcpy(o->name, s->name, sizeof o->name);
    o->expires = s->expires;
    o->created = s->created;
    __atomic_store_n(&queued, queue.n, __ATOMIC_RELAXED);
}

static void drop_at(int i) {
    sessions[i] = sessions[--nsess];
}

int sess_new(const char *name, double life, char token[65]) {
    unsigned char b[32];
    randombytes_buf(b, sizeof b);
    sodium_bin2hex(token, 65, b, sizeof b);
    pthread_mutex_lock(&smu);
    double now = clock_wall_s();
    for (int i = 0; i < nsess;) { /* drop the expired ones while we are here */
        if (sessions[i].expires < now) {
            queue_op(1, &sessions[i]);
            drop_at(i);
        } else {
            i++;
        }
    }
    if (nsess == capsess && nsess < MAX_SESSIONS) {
        int cap = capsess ? capsess * 2 : 64;
        sess *m = realloc(sessions, (size_t)cap * sizeof *m);
        if (m) {
            sessions = m;
            capsess = cap;
        }
    }
    int rc = -1;
    if (nsess < capsess) {
        sess *s = &sessions[nsess++];
        hash_token(token, s->hash);
        snprintf(s->name, sizeof s->name, "%s", name);
        s->created = now;
        s->expires = s->stored = now + life;
        queue_op(0, s);
        rc = 0;
    }
    pthread_mutex_unlock(&smu);
    if (rc) {
        token[0] = 0;
    }
    return rc;
}

int sess_get(const char *token, double life, char name[65], double *created) {
    unsigned char h[32];
    int rc = -1;
    if (!token || strlen(token) != 64) {
        return -1;
    }
    hash_token(token, h);
    pthread_mutex_lock(&smu);
    double now = clock_wall_s();
    for (int i = 0; i < nsess; i++) {
        if (sodium_memcmp(sessions[i].hash, h, sizeof h) == 0) {
            sess *s = &sessions[i];
            if (s->expires >= now) {
                s->expires = now + life;
                double touch = life / 10 < SESS_TOUCH ? life / 10 : SESS_TOUCH;
                if (s->expires - s->stored > touch) {
                    s->stored = s->expires;
                    queue_op(0, s);
                }
                memcpy(name, s->name, 65);
                *created = s->created;
                rc = 0;
            } else {
                queue_op(1, s);
                drop_at(i);
            }
            break;
        }
    }
    pthread_mutex_unlock(&smu);
    return rc;
}

void sess_end_older(const char *name, double before) {
    pthread_mutex_lock(&smu);
    for (int i = 0; i < nsess;) {
        if (strcmp(sessions[i].name, name) == 0 && sessions[i].created <= before) {
            queue_op(1, &sessions[i]);
            drop_at(i);
        } else {
            i++;
        }
    }
    pthread_mutex_unlock(&smu);
}

void sess_end(const char *token, const char *name) {
    unsigned char h[32];
    if (token) {
        if (strlen(token) != 64) {
            return;
        }
        hash_token(token, h);
    }
    pthread_mutex_lock(&smu);
    for (int i = 0; i < nsess;) {
        if ((token && sodium_memcmp(sessions[i].hash, h, sizeof h) == 0) ||
            (!token && name && strcmp(sessions[i].name, name) == 0)) {
            queue_op(1, &sessions[i]);
            drop_at(i);
        } else {
            i++;
        }
    }
    pthread_mutex_unlock(&smu);
}

int sess_pending(void) {
    return __atomic_load_n(&queued, __ATOMIC_RELAXED) > 0;
}

sess_ops *sess_take(void) {
    sess_ops *ops = calloc(1, sizeof *ops);
    if (!ops) {
        return NULL;
    }
    pthread_mutex_lock(&smu);
    *ops = queue;
    memset(&queue, 0, sizeof queue);
    __atomic_store_n(&queued, 0, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&smu);
    return ops;
}

void sess_done(sess_ops *ops, int stored) {
    if (!ops) {
        return;
    }
    if (!stored && ops->n) { /* invariant 2: back in front of what came since */
        pthread_mutex_lock(&smu);
        sess_op *m = realloc(ops->v, (size_t)(ops->n + queue.n) * sizeof *m);
        if (m) {
            if (queue.n) {
                memcpy(m + ops->n, queue.v, (size_t)queue.n * sizeof *m);
            }
            free(queue.v);
            queue.v = m;
            queue.n += ops->n;
            queue.cap = queue.n;
            ops->v = NULL;
            __atomic_store_n(&queued, queue.n, __ATOMIC_RELAXED);
        }
        pthread_mutex_unlock(&smu);
    }
    free(ops->v);
    free(ops);
}

static void key_of(codec_buf *k, const unsigned char hash[32]) {
    char hex[65];
    sodium_bin2hex(hex, sizeof hex, hash, 32);
    key_put_str(k, hex, 64);
}

int sess_store(store_txn *t, const sess_ops *ops) {
    const store_coll *c;
    if (!ops || !ops->n) {
        return 0;
    }
    store_coll *def = store_sysdef(SESSIONS_COLLECTION, sess_fields, S__COUNT, 0);
    int rc = def ? store_sys_ensure(t, def, &c) : GH_ENOMEM;
    codec_buf k, b;
    codec_buf_init(&k);
    codec_buf_init(&b);
    for (int i = 0; i < ops->n && rc == 0; i++) {
        const sess_op *o = &ops->v[i];
        k.len = 0;
        key_of(&k, o->hash);
        if (o->del) {
            rc = k.oom ? GH_ENOMEM : store_delete(t, c, k.p, k.len);
            if (rc == GH_ENOTFOUND) {
                err_clear();
                rc = 0;
            }
            continue;
        }
        char hex[65];
        sodium_bin2hex(hex, sizeof hex, o->hash, 32);
        b.len = 0;
        mp_put_array(&b, (uint32_t)c->nfields);
        for (int f = 0; f < c->nfields; f++) {
            const char *fn = c->fields[f].name;
            if (strcmp(fn, "id") == 0) {
                mp_put_str(&b, hex, 64);
            } else if (strcmp(fn, "account") == 0) {
                mp_put_str(&b, o->name, strlen(o->name));
            } else if (strcmp(fn, "expires") == 0) {
                mp_put_double(&b, o->expires);
            } else if (strcmp(fn, "created") == 0) {
                mp_put_double(&b, o->created);
            } else {
                mp_put_nil(&b);
            }
        }
        rc = b.oom ? GH_ENOMEM : store_put(t, c, STORE_REPLACE, b.p, b.len);
    }
    codec_buf_free(&k);
    codec_buf_free(&b);
    return rc;
}

/* Field pos of record rec into *it: 1, or 0 when absent or undecodable. */
static int field(const void *rec, size_t n, int pos, mp_item *it) {
    mp_reader r;
    mp_reader_init(&r, rec, n);
    if (pos < 0 || mp_read(&r, it) != 0 || it->type != MP_ARRAY || (uint32_t)pos >= it->n) {
        return 0;
    }
    for (int i = 0; i < pos; i++) {
        if (mp_skip(&r, CODEC_MAX_DEPTH) != 0) {
            return 0;
        }
    }
    return mp_read(&r, it) == 0;
}

static double num_of(const mp_item *it) {
    return it->type == MP_FLOAT ? it->v.d : it->type == MP_INT ? (double)it->v.i : 0;
}

static int store_unit_fn(store_txn *t, void *ctx) {
    return sess_store(t, ctx);
}

int sess_load(store *s, double now) {
    store_txn *t;
    const store_coll *c;
    store_scan *scan;
    int expired = 0;
    int rc = store_txn_begin(s, NULL, 0, &t);
    if (rc) {
        return rc;
    }
    if ((rc = store_coll_get(t, SESSIONS_COLLECTION, &c)) != 0) {
        store_txn_abort(t);
        if (rc == GH_ENOTFOUND) {
            err_clear();
            return 0;
        }
        return rc;
    }
    int pid = store_field_pos(c, "id"), pacc = store_field_pos(c, "account"),
        pexp = store_field_pos(c, "expires"), pcre = store_field_pos(c, "created");
    if ((rc = store_scan_open(t, c, -1, NULL, &scan)) != 0) {
        store_txn_abort(t);
        return rc;
    }
    const void *pk, *v;
    size_t pkn, n;
    pthread_mutex_lock(&smu);
    while ((rc = store_scan_next(scan, &pk, &pkn, &v, &n)) == 0) {
        mp_item id, acc, exp, cre;
        sess e;
        memset(&e, 0, sizeof e);
        if (!field(v, n, pid, &id) || id.type != MP_STR || id.n != 64 ||
            sodium_hex2bin(e.hash, sizeof e.hash, id.s, 64, NULL, NULL, NULL) != 0 ||
            !field(v, n, pacc, &acc) || acc.type != MP_STR || acc.n >= sizeof e.name ||
            !field(v, n, pexp, &exp)) {
            continue; /* not one of ours: left alone */
        }
        memcpy(e.name, acc.s, acc.n);
        e.expires = e.stored = num_of(&exp);
        e.created = field(v, n, pcre, &cre) ? num_of(&cre) : 0;
        if (e.expires < now) {
            queue_op(1, &e);
            expired++;
            continue;
        }
        if (nsess == capsess) {
            int cap = capsess ? capsess * 2 : 64;
            sess *m = cap <= MAX_SESSIONS ? realloc(sessions, (size_t)cap * sizeof *m) : NULL;
            if (!m) {
                break;
            }
            sessions = m;
            capsess = cap;
        }
        sessions[nsess++] = e;
    }
    pthread_mutex_unlock(&smu);
    store_scan_close(scan);
    store_txn_abort(t);
    if (rc != 0 && rc != GH_ENOTFOUND) {
        return rc;
    }
    err_clear();
    rc = 0;
    if (expired) { /* invariant 4 */
        sess_ops *ops = sess_take();
        rc = store_unit(s, store_unit_fn, NULL, ops);
        sess_done(ops, rc == 0);
    }
    return rc;
}

int serve_end_sessions(store_txn *t, const char *name) {
    const store_coll *c;
    store_scan *scan;
    int rc = store_coll_get(t, SESSIONS_COLLECTION, &c);
    if (rc == GH_ENOTFOUND) {
        err_clear();
        return 0; /* no server ever ran: no sessions */
    }
    if (rc) {
        return rc;
    }
    int pacc = store_field_pos(c, "account");
    size_t nl = strlen(name);
    codec_buf keys; /* the keys to delete, each as u32 length + bytes: not while scanning */
    codec_buf_init(&keys);
    if ((rc = store_scan_open(t, c, -1, NULL, &scan)) != 0) {
        return rc;
    }
    const void *pk, *v;
    size_t pkn, n;
    while ((rc = store_scan_next(scan, &pk, &pkn, &v, &n)) == 0) {
        mp_item acc;
        if (field(v, n, pacc, &acc) && acc.type == MP_STR && acc.n == nl &&
            memcmp(acc.s, name, nl) == 0) {
            uint32_t len = (uint32_t)pkn;
            codec_buf_add(&keys, &len, sizeof len);
            codec_buf_add(&keys, pk, pkn);
        }
    }
    store_scan_close(scan);
    if (rc == GH_ENOTFOUND) {
        err_clear();
        rc = keys.oom ? GH_ENOMEM : 0;
    }
    for (size_t at = 0; rc == 0 && at < keys.len;) {
        uint32_t len;
        memcpy(&len, keys.p + at, sizeof len);
        at += sizeof len;
        rc = store_delete(t, c, keys.p + at, len);
        at += len;
    }
    codec_buf_free(&keys);
    return rc;
}

int sess_count(void) {
    pthread_mutex_lock(&smu);
    int n = nsess;
    pthread_mutex_unlock(&smu);
    return n;
}

void sess_free_all(void) {
    pthread_mutex_lock(&smu);
    free(sessions);
    sessions = NULL;
    nsess = capsess = 0;
    free(queue.v);
    memset(&queue, 0, sizeof queue);
    queued = 0;
    pthread_mutex_unlock(&smu);
}

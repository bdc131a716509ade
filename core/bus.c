/*
 * bus.c — topics, patterns and the durable log on the store (see bus.h).
 *
 * Calls store.c and codec.c only. The three system collections have a fixed field order,
 * written here once; records are assembled as MessagePack arrays in that
 * order (the Lua face is not involved, so a payload is stored as the bytes
 * the publisher encoded).
 */
#include "bus.h"

#include "clock.h"
#include "codec.h"
#include "err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- topics and patterns ---------------------------------------------------------- */

static int seg_byte_ok(unsigned char c) {
    return c > ' ' && c != '.' && c != '*' && c != 0x7f;
}

int bus_topic_check(const char *topic, size_t n) {
    if (n == 0 || n > BUS_MAX_TOPIC) {
        return err_set(GH_EINVAL, _("a topic is 1 to %d bytes of dotted words, like award.issued"),
                       BUS_MAX_TOPIC);
    }
    size_t seg = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)topic[i];
        if (c == '.') {
            if (seg == 0) {
                return err_set(GH_EINVAL, _("topic \"%.*s\" has an empty segment"), (int)n, topic);
            }
            seg = 0;
        } else if (!seg_byte_ok(c)) {
            return err_set(GH_EINVAL,
                           _("topic \"%.*s\": '%c' cannot be in a topic (words separated by dots; "
                             "'*' only in patterns)"),
                           (int)n, topic, c >= ' ' && c < 0x7f ? c : '?');
        } else {
            seg++;
        }
    }
    if (seg == 0) {
        return err_set(GH_EINVAL, _("topic \"%.*s\" has an empty segment"), (int)n, topic);
    }
    return 0;
}

int bus_pattern_check(const char *pattern, size_t n) {
    if (n == 0 || n > BUS_MAX_TOPIC) {
        return err_set(GH_EINVAL, _("a pattern is 1 to %d bytes, like award.* or member.**"),
                       BUS_MAX_TOPIC);
    }
    const char *p = pattern, *end = pattern + n;
    while (p <= end) {
        const char *dot = memchr(p, '.', (size_t)(end - p));
        const char *segend = dot ? dot : end;
        size_t len = (size_t)(segend - p);
        if (len == 0) {
            return err_set(GH_EINVAL, _("pattern \"%.*s\" has an empty segment"), (int)n, pattern);
        }
        if (memchr(p, '*', len)) {
            if (len == 2 && p[0] == '*' && p[1] == '*') {
                if (dot) {
                    return err_set(GH_EINVAL,
                                   _("pattern \"%.*s\": '**' can only be the last segment"), (int)n,
                                   pattern);
                }
            } else if (len != 1) {
                return err_set(
                    GH_EINVAL,
                    _("pattern \"%.*s\": '*' must be a whole segment (use a.*.c or a.**)"), (int)n,
                    pattern);
            }
        } else {
            for (const char *q = p; q < segend; q++) {
                if (!seg_byte_ok((unsigned char)*q)) {
                    return err_set(GH_EINVAL, _("pattern \"%.*s\" has a character a topic cannot"),
                                   (int)n, pattern);
                }
            }
        }
        if (!dot) {
            break;
        }
        p = dot + 1;
    }
    return 0;
}

int bus_match(const char *pattern, size_t pn, const char *topic, size_t tn) {
    const char *p = pattern, *pe = pattern + pn, *t = topic, *te = topic + tn;
    for (;;) {
        const char *pd = memchr(p, '.', (size_t)(pe - p));
        const char *td = memchr(t, '.', (size_t)(te - t));
        size_t pl = (size_t)((pd ? pd : pe) - p), tl = (size_t)((td ? td : te) - t);
        if (pl == 2 && p[0] == '*' && p[1] == '*') {
            return tl > 0; /* one or more segments left */
        }
        if (!(pl == 1 && p[0] == '*') && (pl != tl || memcmp(p, t, pl) != 0)) {
            return 0;
        }
        if (!pd || !td) {
            return !pd && !td;
        }
        p = pd + 1;
        t = td + 1;
    }
}

void bus_origin_hex(store *s, char out[33]) {
    static const char hex[] = "0123456789abcdef";
    const unsigned char *id = store_db_id(s);
    for (int i = 0; i < 16; i++) {
        out[2 * i] = hex[id[i] >> 4];
        out[2 * i + 1] = hex[id[i] & 15];
    }
    out[32] = 0;
}

int64_t bus_now_ms(void) {
    return clock_wall_ms();
}

/* ---- the system collections ----------------------------------------------------------- */

enum { EV_SEQ, EV_TOPIC, EV_TIME, EV_PAYLOAD, EV_RUN, EV_ORIGIN, EV__N };
enum { CO_NAME, CO_PATTERN, CO_CURSOR, CO_SCRIPT, CO_UPDATED, CO__N };
enum {
    DL_ID,
    DL_CONSUMER,
    DL_SEQ,
    DL_TOPIC,
    DL_TIME,
    DL_PAYLOAD,
    DL_ERROR,
    DL_ATTEMPTS,
    DL_RETRY,
    DL__N
};

static const store_sysfield ev_fields[EV__N] = {{"seq", FT_INT, 0},    {"topic", FT_STRING, 0},
                                                {"time", FT_INT, 0},   {"payload", FT_ANY, 1},
                                                {"run", FT_STRING, 1}, {"origin", FT_STRING, 0}};
static const store_sysfield co_fields[CO__N] = {{"name", FT_STRING, 0},
                                                {"pattern", FT_STRING, 0},
                                                {"cursor", FT_INT, 0},
                                                {"script", FT_STRING, 1},
                                                {"updated", FT_INT, 0}};
static const store_sysfield dl_fields[DL__N] = {
    {"id", FT_INT, 0},       {"consumer", FT_STRING, 0}, {"seq", FT_INT, 0},
    {"topic", FT_STRING, 0}, {"time", FT_INT, 0},        {"payload", FT_ANY, 1},
    {"error", FT_STRING, 0}, {"attempts", FT_INT, 0},    {"retry", FT_BOOL, 1}};

static int ensure(store_txn *t, const char *name, const store_sysfield *f, int n, int auto_key) {
    const store_coll *c;
    int rc = store_coll_get(t, name, &c);
    if (rc == 0) {
        if (c->nfields < n || c->key != 0) {
            return err_set(GH_ECORRUPT, _("the bus's collection '%s' has an unexpected layout"),
                           name);
        }
        return 0;
    }
    if (rc != GH_ENOTFOUND) {
        return rc;
    }
    err_clear();
    store_coll *def = store_sysdef(name, f, n, auto_key);
    return def ? store_define(t, def) : GH_ENOMEM;
}

int bus_init(store_txn *t) {
    int rc;
    if ((rc = ensure(t, "_events", ev_fields, EV__N, 1)) ||
        (rc = ensure(t, "_consumers", co_fields, CO__N, 0)) ||
        (rc = ensure(t, "_dead", dl_fields, DL__N, 1))) {
        return rc;
    }
    return 0;
}

/* The collection `name`, or an error telling to publish first. */
static int sys(store_txn *t, const char *name, const store_coll **c) {
    int rc = store_coll_get(t, name, c);
    if (rc == GH_ENOTFOUND) {
        /* often a probe on the way (an empty run reads the log's state): the
         * English text, so no catalog is bound for it (i18n.h) */
        return err_set(GH_ENOTFOUND, "%s",
                       N_("the event log is empty: nothing was ever published here"));
    }
    return rc;
}

static void put_opt_str(codec_buf *b, const char *s) {
    if (s) {
        mp_put_str(b, s, strlen(s));
    } else {
        mp_put_nil(b);
    }
}

/* Reads element i of an array into a string view (nil -> NULL). */
static int rd_str(mp_reader *r, const char **s, size_t *n) {
    mp_item it;
    if (mp_read(r, &it) != 0) {
        return GH_ECORRUPT;
    }
    if (it.type == MP_NIL) {
        *s = NULL;
        *n = 0;
        return 0;
    }
    if (it.type != MP_STR) {
        return GH_ECORRUPT;
    }
    *s = it.s;
    *n = it.n;
    return 0;
}

static int rd_int(mp_reader *r, int64_t *v) {
    mp_item it;
    if (mp_read(r, &it) != 0 || it.type != MP_INT) {
        return GH_ECORRUPT;
    }
    *v = it.v.i;
    return 0;
}

/* ---- compact events ---------------------------------------------------------------
 *
 * An event in full is [seq, topic, time, payload, run, origin]: at about 62
 * bytes, the topic (13 bytes), the run's uid (17) and the time (9) were two
 * thirds of it and the same on every event of a loop (issue 18: W2's events
 * took 6,100 pages at 1M against C's 2,671). So a transaction's second and
 * later events of one (topic, run) name a context instead:
 *
 *   _evctx    id (auto key) | topic | run | time | origin
 *   compact   [seq, ctx id, time - ctx time, payload]
 *
 * (a full event's second element is the topic, a string; a compact one's an
 * integer: that is how a reader tells them apart).
 *
 * Invariants:
 *  1. A context is written in the transaction of the events that name it
 *     (a savepoint's own), so it exists exactly when they do.
 *  2. The first event of a (topic, run) in a transaction is written in full:
 *     a transaction publishing one event writes what it always did.
 *  3. Every reader decodes through bus_event_decode, which takes both forms:
 *     logs written before contexts existed read as they always did, and full
 *     and compact events sit side by side in one log.
 *  4. Contexts are never deleted (trim leaves them: one per transaction and
 *     topic, a few bytes each).
 *
 * The contexts a transaction wrote (writer side) and read (reader side, their
 * strings copied) are kept with it (store_txn_set_aux) and freed when it
 * ends. */

enum { CX_ID, CX_TOPIC, CX_RUN, CX_TIME, CX_ORIGIN, CX__N };
static const store_sysfield cx_fields[CX__N] = {{"id", FT_INT, 0},
                                                {"topic", FT_STRING, 0},
                                                {"run", FT_STRING, 1},
                                                {"time", FT_INT, 0},
                                                {"origin", FT_STRING, 1}};
#define CTX_COLL "_evctx"

typedef struct wctx {  /* a (topic, run) this transaction published */
    char *topic, *run; /* one allocation: topic, then run (NULL: no run) */
    size_t tn, rn;
    int64_t id;   /* its context, 0 while only one event (in full) names it */
    int64_t time; /* the context's time */
    int seen;     /* an event of it was published here */
} wctx;

typedef struct rctx { /* a context read: its strings copied */
    int64_t id, time;
    char *mem;
    const char *topic, *run, *origin;
    size_t tn, rn, on;
} rctx;

typedef struct evaux {
    const store_coll *events; /* _events, while the store's generation is gen */
    uint64_t gen;
    wctx *w;
    int nw, capw, lastw;
    rctx *r; /* open addressing by id; 2*nr <= capr, capr a power of 2 */
    int nr, capr;
} evaux;

static void evaux_free(void *p) {
    evaux *a = p;
    for (int i = 0; i < a->nw; i++) {
        free(a->w[i].topic);
    }
    for (int i = 0; i < a->capr; i++) {
        free(a->r[i].mem);
    }
    free(a->w);
    free(a->r);
    free(a);
}

static evaux *aux_of(store_txn *t) {
    evaux *a = store_txn_aux(t);
    if (!a && (a = calloc(1, sizeof *a)) != NULL) {
        store_txn_set_aux(t, a, evaux_free);
    }
    return a;
}

/* The writer's entry for (topic, run), made when missing; NULL when out of
 * memory (the event is then written in full). */
static wctx *wctx_of(evaux *a, const char *topic, size_t tn, const char *run, size_t rn) {
    for (int k = 0; k < a->nw; k++) {
        int i = (a->lastw + k) % a->nw; /* the last one first: a loop publishes one topic */
        wctx *x = &a->w[i];
        if (x->tn == tn && x->rn == rn && (x->run != NULL) == (run != NULL) &&
            memcmp(x->topic, topic, tn) == 0 && (!run || memcmp(x->run, run, rn) == 0)) {
            a->lastw = i;
            return x;
        }
    }
    if (a->nw == a->capw) {
        int cap = a->capw ? 2 * a->capw : 4;
        wctx *w = realloc(a->w, (size_t)cap * sizeof *w);
        if (!w) {
            return NULL;
        }
        a->w = w;
        a->capw = cap;
    }
    wctx *x = &a->w[a->nw];
    memset(x, 0, sizeof *x);
    if (!(x->topic = malloc(tn + rn + 1))) {
        return NULL;
    }
    memcpy(x->topic, topic, tn);
    x->tn = tn;
    if (run) {
        x->run = x->topic + tn;
        memcpy(x->run, run, rn);
        x->rn = rn;
    }
    a->lastw = a->nw++;
    return x;
}

/* Writes the context of x (its first compact event at `time`). */
static int wctx_write(store_txn *t, wctx *x, int64_t time) {
    const store_coll *c;
    int64_t id;
    unsigned char mem[512];
    codec_buf b;
    int rc = store_coll_get(t, CTX_COLL, &c);
    if (rc == GH_ENOTFOUND) {
        err_clear();
        store_coll *def = store_sysdef(CTX_COLL, cx_fields, CX__N, 1);
        if (!def) {
            return GH_ENOMEM;
        }
        if ((rc = store_define(t, def)) || (rc = store_coll_get(t, CTX_COLL, &c))) {
            return rc;
        }
    }
    if (rc || (rc = store_next_id(t, c, &id))) {
        return rc;
    }
    codec_buf_init_on(&b, mem, sizeof mem);
    mp_put_array(&b, CX__N);
    mp_put_int(&b, id);
    mp_put_str(&b, x->topic, x->tn);
    if (x->run) {
        mp_put_str(&b, x->run, x->rn);
    } else {
        mp_put_nil(&b);
    }
    mp_put_int(&b, time);
    mp_put_nil(&b); /* origin: this database */
    rc = b.oom ? GH_ENOMEM : store_put(t, c, STORE_INSERT, b.p, b.len);
    codec_buf_free(&b);
    if (rc == 0) {
        x->id = id;
        x->time = time;
    }
    return rc;
}

int bus_append(store_txn *t, const char *topic, size_t tn, const void *payload, size_t pn,
               const char *run, int64_t time, int64_t *seq) {
    const store_coll *c;
    int64_t id;
    unsigned char mem[512];
    codec_buf b;
    int rc = 0;
    evaux *a = aux_of(t);
    uint64_t gen = store_generation(store_txn_store(t));
    if (a && a->events && a->gen == gen) {
        c = a->events; /* a loop's publish: the lookup by name cost more than the rest */
    } else {
        rc = store_coll_get(t, "_events", &c);
        if (rc == GH_ENOTFOUND) {
            err_clear();
            if ((rc = bus_init(t)) || (rc = store_coll_get(t, "_events", &c))) {
                return rc;
            }
        }
        if (rc == 0 && a) {
            a->events = c;
            a->gen = store_generation(store_txn_store(t));
        }
    }
    if (rc || (rc = store_next_id(t, c, &id))) {
        return rc;
    }
    size_t rn = run ? strlen(run) : 0;
    wctx *x = a ? wctx_of(a, topic, tn, run, rn) : NULL;
    if (x && !x->seen) {
        x->seen = 1; /* the first event of (topic, run) here: in full (invariant 2) */
        x = NULL;
    } else if (x && x->id == 0 && (rc = wctx_write(t, x, time))) {
        return rc;
    }
    codec_buf_init_on(&b, mem, sizeof mem);
    if (x) {
        mp_put_array(&b, 4);
        mp_put_int(&b, id);
        mp_put_int(&b, x->id);
        mp_put_int(&b, time - x->time);
        if (pn) {
            codec_buf_add(&b, payload, pn);
        } else {
            mp_put_nil(&b);
        }
    } else {
        mp_put_array(&b, EV__N);
        mp_put_int(&b, id);
        mp_put_str(&b, topic, tn);
        mp_put_int(&b, time);
        if (pn) {
            codec_buf_add(&b, payload, pn);
        } else {
            mp_put_nil(&b);
        }
        put_opt_str(&b, run);
        mp_put_nil(&b); /* origin: this database (events copied from elsewhere carry theirs) */
    }
    rc = b.oom ? GH_ENOMEM : store_put(t, c, STORE_INSERT, b.p, b.len);
    codec_buf_free(&b);
    if (rc == 0) {
        *seq = id;
        if (run) {
            store_txn_tally(t, topic, tn); /* the run's record counts them (bus.h) */
        }
    }
    return rc;
}

static int rslot(int64_t id, int cap) {
    return (int)(((uint64_t)id * 0x9E3779B97F4A7C15ull) >> 40) & (cap - 1);
}

/* The context `id` as t sees it into *out, read once per transaction (copied
 * into t's aux): 0, GH_ENOMEM, or GH_ECORRUPT when it cannot be read. */
static int rctx_get(store_txn *t, int64_t id, const rctx **out) {
    evaux *a = aux_of(t);
    if (!a) {
        return GH_ENOMEM;
    }
    if (a->capr) {
        for (int i = rslot(id, a->capr); a->r[i].mem; i = (i + 1) & (a->capr - 1)) {
            if (a->r[i].id == id) {
                *out = &a->r[i];
                return 0;
            }
        }
    }
    if (2 * (a->nr + 1) > a->capr) { /* grow: rehash */
        int cap = a->capr ? 2 * a->capr : 16;
        rctx *r = calloc((size_t)cap, sizeof *r);
        if (!r) {
            return GH_ENOMEM;
        }
        for (int j = 0; j < a->capr; j++) {
            if (a->r[j].mem) {
                int i = rslot(a->r[j].id, cap);
                while (r[i].mem) {
                    i = (i + 1) & (cap - 1);
                }
                r[i] = a->r[j];
            }
        }
        free(a->r);
        a->r = r;
        a->capr = cap;
    }
    const store_coll *c;
    const void *v;
    size_t n;
    unsigned char kmem[16];
    codec_buf k;
    codec_buf_init_on(&k, kmem, sizeof kmem);
    key_put_int(&k, id);
    int rc = store_coll_get(t, CTX_COLL, &c);
    if (rc == 0) {
        rc = store_get(t, c, k.p, k.len, &v, &n);
    }
    codec_buf_free(&k);
    if (rc) {
        err_clear();
        return GH_ECORRUPT;
    }
    mp_reader r;
    mp_item it;
    rctx x = {.id = id};
    const char *topic, *run, *origin;
    size_t tn, rn, on;
    int64_t cid;
    mp_reader_init(&r, v, n);
    if (mp_read(&r, &it) != 0 || it.type != MP_ARRAY || it.n < CX__N || rd_int(&r, &cid) ||
        cid != id || rd_str(&r, &topic, &tn) || !topic || rd_str(&r, &run, &rn) ||
        rd_int(&r, &x.time) || rd_str(&r, &origin, &on)) {
        return GH_ECORRUPT;
    }
    if (!(x.mem = malloc(tn + rn + on + 1))) {
        return GH_ENOMEM;
    }
    memcpy(x.mem, topic, tn);
    x.topic = x.mem;
    x.tn = tn;
    if (run) {
        memcpy(x.mem + tn, run, rn);
        x.run = x.mem + tn;
        x.rn = rn;
    }
    if (origin) {
        memcpy(x.mem + tn + rn, origin, on);
        x.origin = x.mem + tn + rn;
        x.on = on;
    }
    int i = rslot(id, a->capr);
    while (a->r[i].mem) {
        i = (i + 1) & (a->capr - 1);
    }
    a->r[i] = x;
    a->nr++;
    *out = &a->r[i];
    return 0;
}

int bus_event_decode(store_txn *t, const void *rec, size_t n, bus_event *ev) {
    mp_reader r;
    mp_item it;
    mp_reader_init(&r, rec, n);
    memset(ev, 0, sizeof *ev);
    if (mp_read(&r, &it) != 0 || it.type != MP_ARRAY || it.n < 4 || rd_int(&r, &ev->seq)) {
        goto corrupt;
    }
    if (r.p < r.end && (*r.p < 0x80 || *r.p >= 0xe0 || (*r.p >= 0xcc && *r.p <= 0xd3))) {
        int64_t cid, dt; /* compact: [seq, context, time - its time, payload] */
        const rctx *x;
        if (rd_int(&r, &cid) || rd_int(&r, &dt)) {
            goto corrupt;
        }
        ev->payload = (const char *)r.p;
        if (mp_skip(&r, CODEC_MAX_DEPTH) != 0) {
            goto corrupt;
        }
        ev->payload_len = (size_t)((const char *)r.p - ev->payload);
        int rc = t ? rctx_get(t, cid, &x) : GH_ECORRUPT;
        if (rc == GH_ENOMEM) {
            return rc;
        }
        if (rc) {
            goto corrupt;
        }
        ev->topic = x->topic;
        ev->topic_len = x->tn;
        ev->time = x->time + dt;
        ev->run = x->run;
        ev->run_len = x->rn;
        ev->origin = x->origin;
        ev->origin_len = x->on;
        return 0;
    }
    if (it.n < EV__N || rd_str(&r, &ev->topic, &ev->topic_len) || !ev->topic ||
        rd_int(&r, &ev->time)) {
        goto corrupt;
    }
    ev->payload = (const char *)r.p;
    if (mp_skip(&r, CODEC_MAX_DEPTH) != 0) {
        goto corrupt;
    }
    ev->payload_len = (size_t)((const char *)r.p - ev->payload);
    if (rd_str(&r, &ev->run, &ev->run_len) || rd_str(&r, &ev->origin, &ev->origin_len)) {
        goto corrupt;
    }
    return 0;
corrupt:
    return err_set(GH_ECORRUPT, _("an event in the log is corrupt (run gonghui check)"));
}

int bus_event_full(store_txn *t, const void *rec, size_t n, codec_buf *out) {
    bus_event ev;
    int rc = bus_event_decode(t, rec, n, &ev);
    if (rc) {
        return rc;
    }
    out->len = 0;
    mp_put_array(out, EV__N);
    mp_put_int(out, ev.seq);
    mp_put_str(out, ev.topic, ev.topic_len);
    mp_put_int(out, ev.time);
    if (ev.payload_len) {
        codec_buf_add(out, ev.payload, ev.payload_len);
    } else {
        mp_put_nil(out);
    }
    if (ev.run) {
        mp_put_str(out, ev.run, ev.run_len);
    } else {
        mp_put_nil(out);
    }
    if (ev.origin) {
        mp_put_str(out, ev.origin, ev.origin_len);
    } else {
        mp_put_nil(out);
    }
    return out->oom ? GH_ENOMEM : 0;
}

int bus_check(store_txn *t, void (*report)(void *ctx, const char *msg), void *ctx,
              uint64_t *problems) {
    store_scan *sc;
    const void *pk, *v;
    size_t pkn, n;
    char msg[600];
    int rc = bus_log_scan(t, 0, &sc);
    if (rc == GH_ENOTFOUND) {
        err_clear();
        return 0;
    }
    if (rc) {
        return rc;
    }
    while ((rc = store_scan_next(sc, &pk, &pkn, &v, &n)) == 0) {
        bus_event ev;
        mp_reader r;
        mp_item it;
        int64_t seq = 0;
        if (bus_event_decode(t, v, n, &ev) == 0) {
            continue;
        }
        mp_reader_init(&r, v, n);
        if (mp_read(&r, &it) == 0 && it.type == MP_ARRAY && it.n > 0) {
            rd_int(&r, &seq);
        }
        snprintf(msg, sizeof msg,
                 _("_events: event %lld does not read as an event (a compact event whose context "
                   "in _evctx is missing, or damaged bytes); restore the database from a backup"),
                 (long long)seq);
        (*problems)++;
        report(ctx, msg);
    }
    store_scan_close(sc);
    return rc == GH_ENOTFOUND ? 0 : rc;
}

int bus_log_scan(store_txn *t, int64_t from, store_scan **out) {
    const store_coll *c;
    codec_buf lo;
    unsigned char mem[16];
    int rc = sys(t, "_events", &c);
    if (rc) {
        return rc;
    }
    codec_buf_init_on(&lo, mem, sizeof mem);
    key_put_int(&lo, from);
    store_range r = {.lo = lo.p, .lolen = lo.len};
    rc = store_scan_open(t, c, -1, &r, out);
    codec_buf_free(&lo);
    return rc;
}

int bus_last_seq(store_txn *t, int64_t *seq) {
    const store_coll *c;
    store_scan *sc;
    const void *pk, *v;
    size_t pkn, n;
    *seq = 0;
    if (store_coll_get(t, "_events", &c) != 0) {
        err_clear();
        return 0;
    }
    store_range r = {.reverse = 1};
    int rc = store_scan_open(t, c, -1, &r, &sc);
    if (rc) {
        return rc;
    }
    rc = store_scan_next(sc, &pk, &pkn, &v, &n);
    if (rc == 0) {
        bus_event ev;
        rc = bus_event_decode(t, v, n, &ev);
        *seq = ev.seq;
    } else if (rc == GH_ENOTFOUND) {
        rc = 0;
    }
    store_scan_close(sc);
    return rc;
}

int bus_first_seq(store_txn *t, int64_t *seq) {
    store_scan *sc;
    const void *pk, *v;
    size_t pkn, n;
    *seq = 0;
    int rc = bus_log_scan(t, 0, &sc);
    if (rc == GH_ENOTFOUND) {
        err_clear();
        return 0;
    }
    if (rc) {
        return rc;
    }
    rc = store_scan_next(sc, &pk, &pkn, &v, &n);
    if (rc == 0) {
        bus_event ev;
        if ((rc = bus_event_decode(t, v, n, &ev)) == 0) {
            *seq = ev.seq;
        }
    } else if (rc == GH_ENOTFOUND) {
        rc = 0;
    }
    store_scan_close(sc);
    return rc;
}

int bus_seq_at_time(store_txn *t, int64_t ms, int64_t *seq) {
    store_scan *sc;
    const void *pk, *v;
    size_t pkn, n;
    int64_t last;
    int rc = bus_last_seq(t, &last);
    if (rc) {
        return rc;
    }
    *seq = last + 1;
    if (last == 0) {
        return 0;
    }
    if ((rc = bus_log_scan(t, 0, &sc))) {
        return rc;
    }
    while ((rc = store_scan_next(sc, &pk, &pkn, &v, &n)) == 0) {
        bus_event ev;
        if ((rc = bus_event_decode(t, v, n, &ev))) {
            break;
        }
        if (ev.time >= ms) {
            *seq = ev.seq;
            break;
        }
    }
    store_scan_close(sc);
    return rc == GH_ENOTFOUND ? 0 : rc;
}

static int cmp_topic_count(const void *a, const void *b) {
    return strcmp(((const bus_topic_count *)a)->topic, ((const bus_topic_count *)b)->topic);
}

void bus_topic_counts_free(bus_topic_count *c, int n) {
    for (int i = 0; c && i < n; i++) {
        free(c[i].topic);
    }
    free(c);
}

int bus_topic_counts_of(const store_counts *c, int n, bus_topic_count **out, int *nout) {
    *out = NULL;
    *nout = 0;
    if (n <= 0 || !c) {
        return 0;
    }
    bus_topic_count *tc = calloc((size_t)n, sizeof *tc);
    if (!tc) {
        return GH_ENOMEM;
    }
    for (int i = 0; i < n; i++) {
        tc[i].n = c[i].inserted;
        if (!(tc[i].topic = strdup(c[i].name))) {
            bus_topic_counts_free(tc, i);
            return GH_ENOMEM;
        }
    }
    qsort(tc, (size_t)n, sizeof *tc, cmp_topic_count);
    *out = tc;
    *nout = n;
    return 0;
}

int bus_count_run(store_txn *t, int64_t after, const char *run, bus_topic_count **out, int *n) {
    store_scan *sc;
    const void *pk, *v;
    size_t pkn, len, runlen = run ? strlen(run) : 0;
    bus_topic_count *c = NULL;
    int nc = 0;
    *out = NULL;
    *n = 0;
    int rc = bus_log_scan(t, after + 1, &sc);
    if (rc == GH_ENOTFOUND) {
        err_clear();
        return 0;
    }
    if (rc) {
        return rc;
    }
    while ((rc = store_scan_next(sc, &pk, &pkn, &v, &len)) == 0) {
        bus_event ev;
        if ((rc = bus_event_decode(t, v, len, &ev))) {
            break;
        }
        if (run && (ev.run_len != runlen || memcmp(ev.run, run, runlen) != 0)) {
            continue;
        }
        int i = 0;
        while (i < nc && (strlen(c[i].topic) != ev.topic_len ||
                          memcmp(c[i].topic, ev.topic, ev.topic_len) != 0)) {
            i++;
        }
        if (i == nc) {
            bus_topic_count *m = realloc(c, (size_t)(nc + 1) * sizeof *m);
            if (!m || !(m[nc].topic = strndup(ev.topic, ev.topic_len))) {
                c = m ? m : c;
                rc = GH_ENOMEM;
                break;
            }
            c = m;
            c[nc++].n = 0;
        }
        c[i].n++;
    }
    store_scan_close(sc);
    if (rc && rc != GH_ENOTFOUND) {
        bus_topic_counts_free(c, nc);
        return rc;
    }
    if (nc > 1) {
        qsort(c, (size_t)nc, sizeof *c, cmp_topic_count);
    }
    *out = c;
    *n = nc;
    return 0;
}

/* ---- consumers and dead letters ---------------------------------------------------------- */

void bus_consumer_clear(bus_consumer *c) {
    free(c->name);
    free(c->pattern);
    free(c->script);
    memset(c, 0, sizeof *c);
}

static char *dup_view(const char *s, size_t n) {
    return s ? strndup(s, n) : NULL;
}

static int consumer_decode(const void *rec, size_t n, bus_consumer *out) {
    mp_reader r;
    mp_item it;
    const char *nm, *pat, *scr;
    size_t nml, patl, scrl;
    memset(out, 0, sizeof *out);
    mp_reader_init(&r, rec, n);
    if (mp_read(&r, &it) != 0 || it.type != MP_ARRAY || it.n < CO__N || rd_str(&r, &nm, &nml) ||
        !nm || rd_str(&r, &pat, &patl) || !pat || rd_int(&r, &out->cursor) ||
        rd_str(&r, &scr, &scrl) || rd_int(&r, &out->updated)) {
        return err_set(GH_ECORRUPT, _("a consumer record is corrupt (run gonghui check)"));
    }
    out->name = dup_view(nm, nml);
    out->pattern = dup_view(pat, patl);
    out->script = dup_view(scr, scrl);
    if (!out->name || !out->pattern || (scr && !out->script)) {
        bus_consumer_clear(out);
        return GH_ENOMEM;
    }
    return 0;
}

static int list_names(void *ctx, const bus_consumer *c) {
    codec_buf *b = ctx;
    if (b->len) {
        codec_buf_add(b, ", ", 2);
    }
    codec_buf_add(b, c->name, strlen(c->name));
    return 0;
}

int bus_consumer_get(store_txn *t, const char *name, bus_consumer *out) {
    const store_coll *c;
    const void *v;
    size_t n;
    codec_buf k;
    int rc = store_coll_get(t, "_consumers", &c);
    if (rc == 0) {
        codec_buf_init(&k);
        key_put_str(&k, name, strlen(name));
        rc = k.oom ? GH_ENOMEM : store_get(t, c, k.p, k.len, &v, &n);
        codec_buf_free(&k);
        if (rc == 0) {
            return consumer_decode(v, n, out);
        }
    }
    if (rc == GH_ENOTFOUND) {
        codec_buf names;
        codec_buf_init(&names);
        err_clear();
        bus_consumer_each(t, list_names, &names);
        codec_buf_add(&names, "", 1);
        rc = err_set(GH_ENOTFOUND, _("no consumer named '%s' (consumers: %s)"), name,
                     names.len > 1 && !names.oom ? (char *)names.p : "none yet");
        codec_buf_free(&names);
    }
    return rc;
}

int bus_consumer_put(store_txn *t, const bus_consumer *cn) {
    const store_coll *c;
    codec_buf b;
    int rc = store_coll_get(t, "_consumers", &c);
    if (rc == GH_ENOTFOUND) {
        err_clear();
        if ((rc = bus_init(t)) || (rc = store_coll_get(t, "_consumers", &c))) {
            return rc;
        }
    }
    if (rc) {
        return rc;
    }
    codec_buf_init(&b);
    mp_put_array(&b, CO__N);
    mp_put_str(&b, cn->name, strlen(cn->name));
    mp_put_str(&b, cn->pattern, strlen(cn->pattern));
    mp_put_int(&b, cn->cursor);
    put_opt_str(&b, cn->script);
    mp_put_int(&b, bus_now_ms());
    rc = b.oom ? GH_ENOMEM : store_put(t, c, STORE_REPLACE, b.p, b.len);
    codec_buf_free(&b);
    return rc;
}

/* A scan of the bus's collection `name` in t: 1 with *sc open, 0 when the
 * collection is not made yet (nothing to scan), or an error code. */
static int scan_sys(store_txn *t, const char *name, store_scan **sc) {
    const store_coll *c;
    int rc = store_coll_get(t, name, &c);
    if (rc == GH_ENOTFOUND) {
        err_clear();
        return 0;
    }
    if (rc || (rc = store_scan_open(t, c, -1, NULL, sc))) {
        return rc;
    }
    return 1;
}

int bus_consumer_each(store_txn *t, int (*fn)(void *ctx, const bus_consumer *c), void *ctx) {
    store_scan *sc;
    const void *pk, *v;
    size_t pkn, n;
    int rc = scan_sys(t, "_consumers", &sc);
    if (rc <= 0) {
        return rc; /* (0: no such collection yet, nothing to visit) */
    }
    while ((rc = store_scan_next(sc, &pk, &pkn, &v, &n)) == 0) {
        bus_consumer cn;
        if ((rc = consumer_decode(v, n, &cn))) {
            break;
        }
        rc = fn(ctx, &cn);
        bus_consumer_clear(&cn);
        if (rc) {
            break;
        }
    }
    store_scan_close(sc);
    return rc == GH_ENOTFOUND ? 0 : rc;
}

int bus_dead_put(store_txn *t, const char *name, const bus_event *ev, const char *error,
                 int attempts, int64_t *id) {
    const store_coll *c;
    codec_buf b;
    int rc = store_coll_get(t, "_dead", &c);
    if (rc == GH_ENOTFOUND) {
        err_clear();
        if ((rc = bus_init(t)) || (rc = store_coll_get(t, "_dead", &c))) {
            return rc;
        }
    }
    if (rc || (rc = store_next_id(t, c, id))) {
        return rc;
    }
    codec_buf_init(&b);
    mp_put_array(&b, DL__N);
    mp_put_int(&b, *id);
    mp_put_str(&b, name, strlen(name));
    mp_put_int(&b, ev->seq);
    mp_put_str(&b, ev->topic, ev->topic_len);
    mp_put_int(&b, ev->time);
    codec_buf_add(&b, ev->payload, ev->payload_len);
    mp_put_str(&b, error, strlen(error));
    mp_put_int(&b, attempts);
    mp_put_bool(&b, 0);
    rc = b.oom ? GH_ENOMEM : store_put(t, c, STORE_INSERT, b.p, b.len);
    codec_buf_free(&b);
    return rc;
}

static int min_of(void *ctx, const bus_consumer *c) {
    int64_t *min = ctx;
    if (c->cursor < *min) {
        *min = c->cursor;
    }
    return 0;
}

int bus_min_cursor(store_txn *t, int64_t *min) {
    *min = INT64_MAX;
    return bus_consumer_each(t, min_of, min);
}

int bus_trim(store_txn *t, int64_t upto, uint64_t *count) {
    const store_coll *c;
    store_scan *sc;
    const void *pk, *v;
    size_t pkn, n;
    codec_buf keys;
    *count = 0;
    int rc = store_coll_get(t, "_events", &c);
    if (rc == GH_ENOTFOUND) {
        err_clear();
        return 0;
    }
    if (rc || (rc = bus_log_scan(t, 0, &sc))) {
        return rc;
    }
    codec_buf_init(&keys);
    while ((rc = store_scan_next(sc, &pk, &pkn, &v, &n)) == 0) {
        bus_event ev;
        if ((rc = bus_event_decode(t, v, n, &ev))) {
            break;
        }
        if (ev.seq > upto) {
            break;
        }
        unsigned char kl = (unsigned char)pkn;
        codec_buf_add(&keys, &kl, 1);
        codec_buf_add(&keys, pk, pkn);
    }
    store_scan_close(sc);
    if (rc && rc != GH_ENOTFOUND) {
        codec_buf_free(&keys);
        return rc;
    }
    rc = keys.oom ? GH_ENOMEM : 0;
    for (size_t i = 0; rc == 0 && i < keys.len; i += 1 + keys.p[i]) {
        rc = store_delete(t, c, keys.p + i + 1, keys.p[i]);
        if (rc == 0) {
            (*count)++;
        }
    }
    codec_buf_free(&keys);
    return rc;
}

/* ---- dead letters: reading, marking, dropping ----------------------------------------------- */

int bus_dead_decode(const void *rec, size_t n, bus_dead *d) {
    mp_reader r;
    mp_item it;
    int64_t attempts;
    mp_reader_init(&r, rec, n);
    memset(d, 0, sizeof *d);
    if (mp_read(&r, &it) != 0 || it.type != MP_ARRAY || it.n < DL_RETRY || rd_int(&r, &d->id) ||
        rd_str(&r, &d->consumer, &d->consumer_len) || !d->consumer || rd_int(&r, &d->ev.seq) ||
        rd_str(&r, &d->ev.topic, &d->ev.topic_len) || rd_int(&r, &d->ev.time)) {
        goto corrupt;
    }
    d->ev.payload = (const char *)r.p;
    if (mp_skip(&r, CODEC_MAX_DEPTH) != 0) {
        goto corrupt;
    }
    d->ev.payload_len = (size_t)((const char *)r.p - d->ev.payload);
    if (rd_str(&r, &d->error, &d->error_len) || rd_int(&r, &attempts)) {
        goto corrupt;
    }
    d->attempts = (int)attempts;
    if (it.n > DL_RETRY) {
        mp_item b;
        if (mp_read(&r, &b) != 0) {
            goto corrupt;
        }
        d->retry = b.type == MP_BOOL && b.v.b;
    }
    return 0;
corrupt:
    return err_set(GH_ECORRUPT, _("a dead letter is corrupt (run gonghui check)"));
}

int bus_dead_each(store_txn *t, const char *consumer, int (*fn)(void *ctx, const bus_dead *d),
                  void *ctx) {
    store_scan *sc;
    const void *pk, *v;
    size_t pkn, n;
    int rc = scan_sys(t, "_dead", &sc);
    if (rc <= 0) {
        return rc; /* (0: no such collection yet, nothing to visit) */
    }
    while ((rc = store_scan_next(sc, &pk, &pkn, &v, &n)) == 0) {
        bus_dead d;
        if ((rc = bus_dead_decode(v, n, &d))) {
            break;
        }
        if (consumer && (d.consumer_len != strlen(consumer) ||
                         memcmp(d.consumer, consumer, d.consumer_len) != 0)) {
            continue;
        }
        if ((rc = fn(ctx, &d))) {
            break;
        }
    }
    store_scan_close(sc);
    return rc == GH_ENOTFOUND ? 0 : rc;
}

/* Rewrites dead letter `id` with new attempts/error/retry. */
static int dead_rewrite(store_txn *t, const store_coll *c, const bus_dead *d, int attempts,
                        const char *error, size_t errlen, int retry) {
    codec_buf b;
    codec_buf_init(&b);
    mp_put_array(&b, DL__N);
    mp_put_int(&b, d->id);
    mp_put_str(&b, d->consumer, d->consumer_len);
    mp_put_int(&b, d->ev.seq);
    mp_put_str(&b, d->ev.topic, d->ev.topic_len);
    mp_put_int(&b, d->ev.time);
    codec_buf_add(&b, d->ev.payload, d->ev.payload_len);
    mp_put_str(&b, error, errlen);
    mp_put_int(&b, attempts);
    mp_put_bool(&b, retry);
    int rc = b.oom ? GH_ENOMEM : store_put(t, c, STORE_REPLACE, b.p, b.len);
    codec_buf_free(&b);
    return rc;
}

static int dead_get(store_txn *t, int64_t id, const store_coll **c, bus_dead *d, codec_buf *copy);

int bus_dead_get(store_txn *t, int64_t id, bus_dead *d, codec_buf *copy) {
    const store_coll *c;
    return dead_get(t, id, &c, d, copy);
}

static int dead_get(store_txn *t, int64_t id, const store_coll **c, bus_dead *d, codec_buf *copy) {
    const void *v;
    size_t n;
    unsigned char mem[16];
    codec_buf k;
    int rc = store_coll_get(t, "_dead", c);
    if (rc == GH_ENOTFOUND) {
        return err_set(GH_ENOTFOUND, _("no dead letter %lld (there are none)"), (long long)id);
    }
    if (rc) {
        return rc;
    }
    codec_buf_init_on(&k, mem, sizeof mem);
    key_put_int(&k, id);
    rc = store_get(t, *c, k.p, k.len, &v, &n);
    if (rc == GH_ENOTFOUND) {
        return err_set(GH_ENOTFOUND, _("no dead letter %lld (gonghui events dead lists them)"),
                       (long long)id);
    }
    if (rc) {
        return rc;
    }
    copy->len = 0; /* the record's bytes move once we write */
    codec_buf_add(copy, v, n);
    return copy->oom ? GH_ENOMEM : bus_dead_decode(copy->p, copy->len, d);
}

int bus_dead_update(store_txn *t, int64_t id, int attempts, const char *error, int retry) {
    const store_coll *c;
    bus_dead d;
    codec_buf copy;
    codec_buf_init(&copy);
    int rc = dead_get(t, id, &c, &d, &copy);
    if (rc == 0) {
        rc = dead_rewrite(t, c, &d, attempts < 0 ? d.attempts : attempts, error ? error : d.error,
                          error ? strlen(error) : d.error_len, retry);
    }
    codec_buf_free(&copy);
    return rc;
}

int bus_dead_drop(store_txn *t, int64_t id) {
    const store_coll *c;
    bus_dead d;
    codec_buf copy;
    unsigned char mem[16];
    codec_buf k;
    codec_buf_init(&copy);
    int rc = dead_get(t, id, &c, &d, &copy);
    codec_buf_free(&copy);
    if (rc) {
        return rc;
    }
    codec_buf_init_on(&k, mem, sizeof mem);
    key_put_int(&k, id);
    return store_delete(t, c, k.p, k.len);
}

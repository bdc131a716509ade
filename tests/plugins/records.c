/*
 * records.c — the test plugin `records`: reads and writes records through
 * the API (gh_api.get/put/del/scan, API 1.1), from functions and from a C
 * event handler, and reads the run's clock. Records are hand-encoded
 * MessagePack maps {id = str, n = int} (the collection `counters` of
 * tests/lua/plugin_records.lua). Used by that test only.
 */
#include <gonghui/plugin.h>

#include <stdio.h>
#include <string.h>

static const gh_api *api;

/* ---- a little MessagePack, enough for {id = str, n = int} ---------------------------- */

typedef struct mp {
    unsigned char b[256];
    size_t n;
} mp;

static void put_str(mp *m, const char *s) {
    size_t n = strlen(s);
    if (n < 32) {
        m->b[m->n++] = (unsigned char)(0xa0 | n);
    } else {
        m->b[m->n++] = 0xd9;
        m->b[m->n++] = (unsigned char)n;
    }
    memcpy(m->b + m->n, s, n);
    m->n += n;
}

static void put_int(mp *m, int64_t v) {
    m->b[m->n++] = 0xd3; /* int 64, big-endian */
    for (int i = 7; i >= 0; i--) {
        m->b[m->n++] = (unsigned char)((uint64_t)v >> (i * 8));
    }
}

static void put_map(mp *m, unsigned n) {
    m->b[m->n++] = (unsigned char)(0x80 | n);
}

/* Reads an integer at p (the forms the host writes); advances *p. */
static int read_int(const unsigned char **p, const unsigned char *end, int64_t *v) {
    unsigned c = **p;
    int len = c == 0xcc || c == 0xd0   ? 1
              : c == 0xcd || c == 0xd1 ? 2
              : c == 0xce || c == 0xd2 ? 4
              : c == 0xcf || c == 0xd3 ? 8
                                       : 0;
    if (c < 0x80) {
        *v = c;
        (*p)++;
        return 0;
    }
    if (c >= 0xe0) {
        *v = (int8_t)c;
        (*p)++;
        return 0;
    }
    if (!len || *p + 1 + len > end) {
        return -1;
    }
    uint64_t u = 0;
    for (int i = 1; i <= len; i++) {
        u = u << 8 | (*p)[i];
    }
    int is_signed = c >= 0xd0;
    if (is_signed && len < 8 && (u >> (len * 8 - 1)) & 1) {
        u |= ~0ull << (len * 8);
    }
    *v = (int64_t)u;
    *p += 1 + len;
    return 0;
}

/* Field `name` of a flat map of short strings and integers: an integer
 * into *v, or a string into sbuf (when not NULL). -1 if absent. */
static int map_field(const void *rec, size_t len, const char *name, int64_t *v, char *sbuf,
                     size_t sn) {
    const unsigned char *p = rec, *end = p + len;
    if (p >= end || (*p & 0xf0) != 0x80) {
        return -1;
    }
    unsigned n = *p++ & 0x0f;
    for (unsigned i = 0; i < n && p < end; i++) {
        size_t kl = *p & 0x1f;
        if ((*p & 0xe0) != 0xa0 || p + 1 + kl > end) {
            return -1;
        }
        int match = kl == strlen(name) && memcmp(p + 1, name, kl) == 0;
        p += 1 + kl;
        if (p < end && (*p & 0xe0) == 0xa0) { /* a short string value */
            size_t vl = *p & 0x1f;
            if (match && sbuf) {
                snprintf(sbuf, sn, "%.*s", (int)vl, (const char *)p + 1);
                return 0;
            }
            p += 1 + vl;
            continue;
        }
        int64_t x;
        if (read_int(&p, end, &x) != 0) {
            return -1;
        }
        if (match && !sbuf) {
            *v = x;
            return 0;
        }
    }
    return -1;
}

static int map_int(const void *rec, size_t len, const char *name, int64_t *v) {
    return map_field(rec, len, name, v, NULL, 0);
}

static void counter(mp *m, const char *id, int64_t n) {
    m->n = 0;
    put_map(m, 2);
    put_str(m, "id");
    put_str(m, id);
    put_str(m, "n");
    put_int(m, n);
}

static void key(mp *m, const char *id) {
    m->n = 0;
    put_str(m, id);
}

/* ---- functions ------------------------------------------------------------------------- */

/* n of counters[id], or -1 when there is none. */
static int64_t get_n(const char *id, gh_err *err) {
    mp k;
    key(&k, id);
    gh_bytes rec;
    int rc = api->get(err, "counters", k.b, k.n, 0, &rec);
    if (rc != 1) {
        return rc == 0 ? -1 : 0;
    }
    int64_t n = -1;
    if (map_int(rec.data, rec.len, "n", &n) != 0) {
        api->error(err, "counters[%s] has no integer n", id);
    }
    api->free(rec.data);
    return n;
}

/* counters[id] as JSON text. */
static char *get_json(const char *coll, const char *id, gh_err *err) {
    mp k;
    key(&k, id);
    gh_bytes rec;
    if (api->get(err, coll, k.b, k.n, GH_REC_JSON, &rec) != 1) {
        return NULL;
    }
    return rec.data; /* NUL-terminated by the host; handed back as str */
}

/* Adds by to counters[id] (made at 0), returns the new n. */
static int64_t bump(const char *id, int64_t by, gh_err *err) {
    int64_t n = get_n(id, err);
    if (n < 0) {
        n = 0;
    }
    mp r;
    counter(&r, id, n + by);
    if (api->put(err, "counters", r.b, r.n, GH_REC_PUT) != GH_PLUGIN_OK) {
        return 0;
    }
    return n + by;
}

/* Writes {id, n} with mode 0 insert, 1 put, 2 update. */
static void write_rec(const char *coll, const char *id, int64_t n, int32_t mode, gh_err *err) {
    mp r;
    counter(&r, id, n);
    api->put(err, coll, r.b, r.n, mode);
}

/* Writes a record with only the id (for update: changes nothing). */
static void write_bare(const char *coll, const char *id, int32_t mode, gh_err *err) {
    mp r = {.n = 0};
    put_map(&r, 1);
    put_str(&r, "id");
    put_str(&r, id);
    api->put(err, coll, r.b, r.n, mode);
}

static bool del(const char *id, gh_err *err) {
    mp k;
    key(&k, id);
    return api->del(err, "counters", k.b, k.n) == 1;
}

typedef struct sum {
    int64_t total, seen, stop_after;
} sum;

static int add_n(void *ud, const void *rec, size_t len) {
    sum *s = ud;
    int64_t n;
    if (map_int(rec, len, "n", &n) == 0) {
        s->total += n;
    }
    return ++s->seen == s->stop_after;
}

/* Sum of n over a scan of counters with n >= from (a spec {n = {from = from}}), stopping
 * after stop_after records (0: never); returns total * 1000 + records handed out. */
static int64_t total(int64_t from, int64_t stop_after, gh_err *err) {
    mp spec = {.n = 0};
    put_map(&spec, 1);
    put_str(&spec, "n");
    put_map(&spec, 1);
    put_str(&spec, "from");
    put_int(&spec, from);
    sum s = {0, 0, stop_after};
    int64_t got = api->scan(err, "counters", spec.b, spec.n, 0, add_n, &s);
    return got < 0 ? got : s.total * 1000 + got;
}

static int first_json(void *ud, const void *rec, size_t len) {
    char **out = ud;
    *out = api->mprintf("%.*s", (int)len, (const char *)rec);
    return 1;
}

/* The first record of a whole scan of coll as JSON. */
static char *scan_json(const char *coll, gh_err *err) {
    char *out = NULL;
    api->scan(err, coll, NULL, 0, GH_REC_JSON, first_json, &out);
    return out;
}

/* A scan whose callback writes (bumps each record it sees by 1). */
static int bump_each(void *ud, const void *rec, size_t len) {
    gh_err *err = ud;
    int64_t n;
    char id[32];
    if (map_field(rec, len, "id", NULL, id, sizeof id) != 0 || map_int(rec, len, "n", &n) != 0) {
        api->error(err, "unexpected record layout");
        return 1;
    }
    mp r;
    counter(&r, id, n + 1);
    return api->put(err, "counters", r.b, r.n, GH_REC_PUT) != GH_PLUGIN_OK;
}

static int64_t bump_all(gh_err *err) {
    return api->scan(err, "counters", NULL, 0, 0, bump_each, err);
}

/* Misuse: bad MessagePack, a system collection, NULL arguments, no err. */
static void bad_key(gh_err *err) {
    unsigned char junk[] = {0xd9}; /* a str8 without its length */
    gh_bytes out;
    api->get(err, "counters", junk, sizeof junk, 0, &out);
}
static void system_coll(gh_err *err) {
    mp k;
    key(&k, "x");
    gh_bytes out;
    api->get(err, "_runs", k.b, k.n, 0, &out);
}
static int64_t without_err(void) {
    mp k;
    key(&k, "x");
    gh_bytes out;
    return api->get(NULL, "counters", k.b, k.n, 0, &out);
}
/* After a failed write every further record routine is refused; the first
 * message stays. Returns what the second routine returned. */
static int64_t after_failure(gh_err *err) {
    mp r;
    counter(&r, "dup", 1);
    api->put(err, "counters", r.b, r.n, GH_REC_INSERT);
    api->put(err, "counters", r.b, r.n, GH_REC_INSERT); /* fails: taken */
    return api->put(err, "counters", r.b, r.n, GH_REC_PUT);
}

static int64_t now(gh_err *err) {
    return api->now(err);
}
static int64_t now_noerr(void) {
    return api->now(NULL);
}

/* ---- a C handler writing in the publishing transaction --------------------------------- */

static void on_sale(void *ud, const gh_event *ev, gh_err *err) {
    (void)ud;
    int64_t amount = 0;
    map_int(ev->payload, ev->payload_len, "amount", &amount);
    if (amount < 0) {
        api->error(err, "negative amount %lld", (long long)amount);
        return;
    }
    bump("sales", amount, err);
}

GH_PLUGIN_EXPORT int gh_plugin_init(const gh_api *a, gh_plugin *p, char **errmsg) {
    (void)errmsg;
    api = a;
    if (gh_plugin_begin(a, p, "records", "1.0") != GH_PLUGIN_OK) {
        return GH_PLUGIN_ERROR;
    }
    int rc = 0;
    rc |= a->function(p, "get_n", "i64(str,err)", GH_FN(get_n));
    rc |= a->function(p, "get_json", "str(str,str,err)", GH_FN(get_json));
    rc |= a->function(p, "bump", "i64(str,i64,err)", GH_FN(bump));
    rc |= a->function(p, "write", "void(str,str,i64,i32,err)", GH_FN(write_rec));
    rc |= a->function(p, "write_bare", "void(str,str,i32,err)", GH_FN(write_bare));
    rc |= a->function(p, "del", "bool(str,err)", GH_FN(del));
    rc |= a->function(p, "total", "i64(i64,i64,err)", GH_FN(total));
    rc |= a->function(p, "scan_json", "str(str,err)", GH_FN(scan_json));
    rc |= a->function(p, "bump_all", "i64(err)", GH_FN(bump_all));
    rc |= a->function(p, "bad_key", "void(err)", GH_FN(bad_key));
    rc |= a->function(p, "system_coll", "void(err)", GH_FN(system_coll));
    rc |= a->function(p, "without_err", "i64()", GH_FN(without_err));
    rc |= a->function(p, "after_failure", "i64(err)", GH_FN(after_failure));
    rc |= a->function(p, "now", "i64(err)", GH_FN(now));
    rc |= a->function(p, "now_noerr", "i64()", GH_FN(now_noerr));
    rc |= a->subscribe(p, "sale.*", on_sale, NULL);
    return rc ? GH_PLUGIN_ERROR : GH_PLUGIN_OK;
}

/*
 * runs.c — run records in the system collection `_runs` (SHA-256 is sha256.c).
 *
 * Built on store.h and codec.h; pii.h masks what `runs show` prints.
 *
 * A record is a MessagePack array in the field order of RUNS_FIELDS below
 * (key first). Reading goes by field name through the stored definition, so
 * a later gonghui that appends fields still reads older records, and an
 * older one shows what it knows of newer records.
 *
 * Invariants:
 *  1. A record is written in its own top-level write transaction, never in
 *     the run's (a dry run's transaction is aborted; a failed one too).
 *  2. The definition is only (re)written when the stored one differs, so a
 *     run costs one write transaction for its record and no more.
 */
#include "runs.h"

#include "codec.h"
#include "err.h"
#include "pii.h"
#include "table.h"

#include <fcntl.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "gh_version.h" /* generated: GH_VERSION, GH_VERSION_FULL */

/* ---- the definition --------------------------------------------------------------- */

enum {
    F_ID,
    F_UID,
    F_SCRIPT,
    F_SHA,
    F_CODE,
    F_MODULES,
    F_PARAMS,
    F_SEED,
    F_CLOCK,
    F_OPERATOR,
    F_HOST,
    F_STARTED,
    F_ENDED,
    F_MODE,
    F_OUTCOME,
    F_ERROR,
    F_EXIT,
    F_WRITES,
    F_EVENTS,
    F_VERSION,
    F_SUMMARY,
    F_ACCOUNT,
    F_UNION,
    F_ENDPOINT,
    F_IN,
    F_OUT,
    F__COUNT
};

static const store_sysfield runs_fields[F__COUNT] = {
    {"id", FT_INT, 0},         {"uid", FT_STRING, 0},
    {"script", FT_STRING, 0},  {"script_sha256", FT_STRING, 0},
    {"code", FT_STRING, 1},    {"modules", FT_ANY, 1},
    {"params", FT_ANY, 1},     {"seed", FT_INT, 0},
    {"clock", FT_INT, 0},      {"operator", FT_STRING, 0},
    {"host", FT_STRING, 0},    {"started", FT_NUMBER, 0},
    {"ended", FT_NUMBER, 0},   {"mode", FT_STRING, 0},
    {"outcome", FT_STRING, 0}, {"error", FT_STRING, 1},
    {"exit_code", FT_INT, 0},  {"writes", FT_ANY, 1},
    {"events", FT_ANY, 1},     {"version", FT_STRING, 0},
    {"summary", FT_STRING, 1}, {"account", FT_STRING, 1},
    {"union_id", FT_INT, 1},   {"endpoint", FT_STRING, 1},
    {"in_dirs", FT_ANY, 1},    {"out_dir", FT_STRING, 1},
};

/* The `_runs` definition in write transaction t, defined or extended first
 * when the stored one is missing or older. */
static int runs_coll(store_txn *t, const store_coll **out) {
    store_coll *def = store_sysdef(RUNS_COLLECTION, runs_fields, F__COUNT, 1);
    return def ? store_sys_ensure(t, def, out) : GH_ENOMEM;
}

const char *runs_operator(void) {
    struct passwd *pw = getpwuid(getuid());
    if (pw && pw->pw_name) {
        return pw->pw_name;
    }
    const char *u = getenv("USER");
    return u ? u : "?";
}

/* ---- writing ---------------------------------------------------------------------- */

static void put_str(codec_buf *b, const char *s) {
    if (s) {
        mp_put_str(b, s, strlen(s));
    } else {
        mp_put_nil(b);
    }
}

/* Encodes r in the field order of the stored definition c (by name). */
static int encode_rec(const store_coll *c, const runs_rec *r, int64_t id, codec_buf *b) {
    mp_put_array(b, (uint32_t)c->nfields);
    for (int i = 0; i < c->nfields; i++) {
        const char *name = c->fields[i].name;
        int f = 0;
        while (f < F__COUNT && strcmp(runs_fields[f].name, name) != 0) {
            f++;
        }
        switch (f) {
        case F_ID:
            mp_put_int(b, id);
            break;
        case F_UID:
            put_str(b, r->uid);
            break;
        case F_SCRIPT:
            put_str(b, r->script);
            break;
        case F_SHA:
            put_str(b, r->script_sha256);
            break;
        case F_CODE:
            put_str(b, r->code);
            break;
        case F_MODULES:
            mp_put_array(b, (uint32_t)r->nmodules);
            for (int m = 0; m < r->nmodules; m++) {
                mp_put_map(b, r->modules[m].plugin ? 3 : 2);
                put_str(b, "path");
                put_str(b, r->modules[m].path);
                put_str(b, "sha256");
                put_str(b, r->modules[m].sha256);
                if (r->modules[m].plugin) {
                    put_str(b, "plugin");
                    put_str(b, r->modules[m].plugin);
                }
            }
            break;
        case F_PARAMS:
            mp_put_array(b, (uint32_t)r->nparams);
            for (int p = 0; p < r->nparams; p++) {
                put_str(b, r->params[p]);
            }
            break;
        case F_SEED:
            mp_put_int(b, (int64_t)(r->seed & INT64_MAX));
            break;
        case F_CLOCK:
            mp_put_int(b, r->clock);
            break;
        case F_OPERATOR:
            put_str(b, r->operator_name ? r->operator_name : "?");
            break;
        case F_HOST:
            put_str(b, r->host ? r->host : "?");
            break;
        case F_STARTED:
            mp_put_double(b, r->started);
            break;
        case F_ENDED:
            mp_put_double(b, r->ended);
            break;
        case F_MODE:
            put_str(b, r->mode);
            break;
        case F_OUTCOME:
            put_str(b, r->outcome);
            break;
        case F_ERROR:
            put_str(b, r->error);
            break;
        case F_EXIT:
            mp_put_int(b, r->exit_code);
            break;
        case F_WRITES:
            mp_put_map(b, (uint32_t)r->nwrites);
            for (int w = 0; w < r->nwrites; w++) {
                put_str(b, r->writes[w].name);
                mp_put_map(b, 3);
                put_str(b, "inserted");
                mp_put_int(b, (int64_t)r->writes[w].inserted);
                put_str(b, "updated");
                mp_put_int(b, (int64_t)r->writes[w].updated);
                put_str(b, "deleted");
                mp_put_int(b, (int64_t)r->writes[w].deleted);
            }
            break;
        case F_EVENTS:
            mp_put_map(b, (uint32_t)r->nevents);
            for (int e = 0; e < r->nevents; e++) {
                put_str(b, r->events[e].topic);
                mp_put_int(b, (int64_t)r->events[e].count);
            }
            break;
        case F_VERSION:
            put_str(b, GH_VERSION_FULL);
            break;
        case F_SUMMARY:
            put_str(b, r->summary);
            break;
        case F_ACCOUNT:
            put_str(b, r->account);
            break;
        case F_UNION:
            if (r->has_union) {
                mp_put_int(b, r->union_id);
            } else {
                mp_put_nil(b);
            }
            break;
        case F_ENDPOINT:
            put_str(b, r->endpoint);
            break;
        case F_IN:
            if (r->nin > 0) {
                mp_put_array(b, (uint32_t)r->nin);
                for (int d = 0; d < r->nin; d++) {
                    put_str(b, r->in_dirs[d]);
                }
            } else {
                mp_put_nil(b);
            }
            break;
        case F_OUT:
            put_str(b, r->out_dir);
            break;
        default: /* a field of a newer gonghui: absent */
            mp_put_nil(b);
        }
    }
    return b->oom ? GH_ENOMEM : 0;
}

/* 1 if another process holds the database's writer lock now. The lock is
 * store.c's (the file gonghui.lock, flock'd by every top-level write
 * transaction); store.h has no "try" form of store_txn_begin yet. */
static int writer_busy(store *s) {
    char lp[4096];
    snprintf(lp, sizeof lp, "%s/gonghui.lock", store_path(s));
    int fd = open(lp, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return 0;
    }
    int busy = flock(fd, LOCK_EX | LOCK_NB) != 0;
    close(fd); /* releases our lock if we took it */
    return busy;
}

static int record_now(store *s, const runs_rec *r, int64_t *id);

int runs_record(store *s, const runs_rec *r, int64_t *id) {
    if (store_readonly(s)) {
        /* nothing can be written, so nothing was: say that the run is not
         * recorded rather than fail a run that only read */
        fprintf(stderr, _("gonghui: %s is read-only here: this run is not recorded\n"),
                store_path(s));
        if (id) {
            *id = 0;
        }
        return 0;
    }
    if (!writer_busy(s)) {
        return record_now(s, r, id);
    }
    /* Another process is writing (perhaps for long): a run that only read
     * must not wait for it to end. A child process waits and writes the
     * record; it opens its own handle (an LMDB environment must not be used
     * across fork) and says nothing. */
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, 0);
            dup2(null, 1);
            dup2(null, 2);
        }
        store *s2;
        int rc = store_open(store_path(s), 0, &s2);
        if (rc == 0) {
            rc = record_now(s2, r, NULL);
            store_close(s2);
        }
        _exit(rc ? 1 : 0);
    }
    if (pid < 0) {
        return record_now(s, r, id);
    }
    if (id) {
        *id = 0; /* not known yet */
    }
    return 0;
}

int runs_record_in(store_txn *t, const runs_rec *r, codec_buf *scratch, int64_t *id) {
    const store_coll *c;
    int64_t next = 0;
    int rc;
    scratch->len = 0;
    if ((rc = runs_coll(t, &c)) == 0 && (rc = store_next_id(t, c, &next)) == 0 &&
        (rc = encode_rec(c, r, next, scratch)) == 0 &&
        (rc = store_put(t, c, STORE_INSERT, scratch->p, scratch->len)) == 0 && id) {
        *id = next;
    }
    return rc;
}

typedef struct record_unit {
    const runs_rec *r;
    codec_buf b;
    int64_t id;
} record_unit;

static int record_work(store_txn *t, void *ctx) {
    record_unit *u = ctx;
    return runs_record_in(t, u->r, &u->b, &u->id);
}

/* The record of a run that changed nothing is not worth a wait for the disk
 * (it is most of an empty run's time); one that changed data is made as
 * durable as the data. */
static int record_commit(store_txn *t, void *ctx) {
    const runs_rec *r = ((record_unit *)ctx)->r;
    return r->nwrites || r->nevents || r->exit_code != 0 ? store_txn_commit(t)
                                                         : store_txn_commit_lazy(t);
}

static int record_now(store *s, const runs_rec *r, int64_t *id) {
    record_unit u = {.r = r};
    codec_buf_init(&u.b);
    int rc = store_unit(s, record_work, record_commit, &u);
    codec_buf_free(&u.b);
    if (rc == 0 && id) {
        *id = u.id;
    }
    return rc;
}

/* ---- reading ---------------------------------------------------------------------- */

/* One record read back: the fields we show, borrowed from the record bytes. */
typedef struct shown {
    int64_t id, seed, clock, exit_code;
    double started, ended;
    const char *str[F__COUNT];
    size_t len[F__COUNT];
    const unsigned char *any[F__COUNT], *any_end[F__COUNT];
} shown;

static int read_rec(const store_coll *c, const void *val, size_t vlen, shown *out) {
    mp_reader r;
    mp_item it;
    memset(out, 0, sizeof *out);
    mp_reader_init(&r, val, vlen);
    if (mp_read(&r, &it) || it.type != MP_ARRAY) {
        return GH_ECORRUPT;
    }
    for (uint32_t i = 0; i < it.n && (int)i < c->nfields; i++) {
        int f = 0;
        while (f < F__COUNT && strcmp(runs_fields[f].name, c->fields[i].name) != 0) {
            f++;
        }
        const unsigned char *start = r.p;
        mp_item v;
        if (f < F__COUNT && runs_fields[f].type == FT_ANY) {
            if (mp_skip(&r, CODEC_MAX_DEPTH)) {
                return GH_ECORRUPT;
            }
            out->any[f] = start;
            out->any_end[f] = r.p;
            continue;
        }
        if (mp_read(&r, &v)) {
            return GH_ECORRUPT;
        }
        if (v.type == MP_ARRAY || v.type == MP_MAP) { /* not ours: skip its elements */
            r.p = start;
            if (mp_skip(&r, CODEC_MAX_DEPTH)) {
                return GH_ECORRUPT;
            }
            continue;
        }
        if (f == F__COUNT) {
            continue;
        }
        if (v.type == MP_STR) {
            out->str[f] = v.s;
            out->len[f] = v.n;
        } else if (v.type == MP_INT || v.type == MP_FLOAT) {
            double d = v.type == MP_INT ? (double)v.v.i : v.v.d;
            int64_t n = v.type == MP_INT ? v.v.i : (int64_t)v.v.d;
            switch (f) {
            case F_ID:
                out->id = n;
                break;
            case F_SEED:
                out->seed = n;
                break;
            case F_CLOCK:
                out->clock = n;
                break;
            case F_EXIT:
                out->exit_code = n;
                break;
            case F_STARTED:
                out->started = d;
                break;
            case F_ENDED:
                out->ended = d;
                break;
            }
        }
    }
    return 0;
}

static void fmt_time(double t, int with_ms, char *out, size_t n) {
    time_t s = (time_t)t;
    struct tm tm;
    localtime_r(&s, &tm);
    size_t k = strftime(out, n, "%Y-%m-%d %H:%M:%S", &tm);
    if (with_ms && k + 5 < n) {
        snprintf(out + k, n - k, ".%03d", (int)((t - (double)s) * 1000) % 1000);
    }
}

static void fmt_duration(double secs, char *out, size_t n) {
    if (secs < 1) {
        snprintf(out, n, "%.0f ms", secs * 1000);
    } else if (secs < 120) {
        snprintf(out, n, "%.1f s", secs);
    } else {
        snprintf(out, n, "%d:%02d:%02d", (int)secs / 3600, (int)secs / 60 % 60, (int)secs % 60);
    }
}

/* Total writes of a `writes` map: inserted, updated, deleted. */
static void sum_writes(const shown *w, uint64_t tot[3]) {
    tot[0] = tot[1] = tot[2] = 0;
    if (!w->any[F_WRITES]) {
        return;
    }
    mp_reader r;
    mp_item it, k, v;
    mp_reader_init(&r, w->any[F_WRITES], (size_t)(w->any_end[F_WRITES] - w->any[F_WRITES]));
    if (mp_read(&r, &it) || it.type != MP_MAP) {
        return;
    }
    for (uint32_t i = 0; i < it.n; i++) {
        mp_item m;
        if (mp_read(&r, &k) || mp_read(&r, &m) || m.type != MP_MAP) {
            return;
        }
        for (uint32_t j = 0; j < m.n; j++) {
            if (mp_read(&r, &k) || mp_read(&r, &v) || k.type != MP_STR || v.type != MP_INT) {
                return;
            }
            int slot = k.n && k.s[0] == 'i' ? 0 : k.n && k.s[0] == 'u' ? 1 : 2;
            tot[slot] += (uint64_t)v.v.i;
        }
    }
}

#define STR(w, f) (int)(w)->len[f], (w)->str[f] ? (w)->str[f] : ""

int runs_list(store *s, FILE *f, int limit) {
    return runs_list_account(s, f, limit, NULL);
}

int runs_list_account(store *s, FILE *f, int limit, const char *account) {
    store_txn *t;
    const store_coll *c;
    store_scan *sc = NULL;
    int rc = store_txn_begin(s, NULL, 0, &t);
    if (rc) {
        return rc;
    }
    rc = store_coll_get(t, RUNS_COLLECTION, &c);
    if (rc == GH_ENOTFOUND) {
        store_txn_abort(t);
        err_clear();
        fprintf(f, _("no runs recorded yet\n"));
        return 0;
    }
    store_range range = {.reverse = 1};
    if (rc || (rc = store_scan_open(t, c, -1, &range, &sc))) {
        store_txn_abort(t);
        return rc;
    }
    /* newest first from the scan; printed oldest first, so the newest is
     * the last line a terminal shows. Each row's cells are kept (RUN_COLS
     * strings) until the scan ends, then handed to the table in reverse:
     * table.c lines the columns up by display width (Chinese script names,
     * modes and headers take two columns a character). */
    enum { RUN_COLS = 7 };
    size_t cap = 64, n = 0;
    char **cells = malloc(cap * RUN_COLS * sizeof *cells);
    const void *pk, *val;
    size_t pklen, vlen;
    while (cells && (limit <= 0 || n < (size_t)limit) &&
           (rc = store_scan_next(sc, &pk, &pklen, &val, &vlen)) == 0) {
        shown w;
        char id[24], started[32], dur[32], writes[64];
        uint64_t tot[3];
        if (read_rec(c, val, vlen, &w) != 0) {
            continue;
        }
        if (account && (!w.str[F_ACCOUNT] || w.len[F_ACCOUNT] != strlen(account) ||
                        memcmp(w.str[F_ACCOUNT], account, w.len[F_ACCOUNT]) != 0)) {
            continue;
        }
        snprintf(id, sizeof id, "%" PRId64, w.id);
        fmt_time(w.started, 0, started, sizeof started);
        fmt_duration(w.ended - w.started, dur, sizeof dur);
        sum_writes(&w, tot);
        snprintf(writes, sizeof writes, "+%" PRIu64 " ~%" PRIu64 " -%" PRIu64, tot[0], tot[1],
                 tot[2]);
        if (n == cap) {
            char **more = realloc(cells, (cap *= 2) * RUN_COLS * sizeof *cells);
            if (!more) {
                break;
            }
            cells = more;
        }
        char **row = cells + n * RUN_COLS;
        row[0] = strdup(id);
        row[1] = strdup(started);
        row[2] = strndup(w.str[F_MODE] ? w.str[F_MODE] : "", w.len[F_MODE]);
        row[3] = strndup(w.str[F_OUTCOME] ? w.str[F_OUTCOME] : "", w.len[F_OUTCOME]);
        row[4] = strdup(dur);
        row[5] = strdup(writes);
        row[6] = strndup(w.str[F_SCRIPT] ? w.str[F_SCRIPT] : "", w.len[F_SCRIPT]);
        n++;
    }
    if (rc == GH_ENOTFOUND) {
        rc = 0;
    }
    store_scan_close(sc);
    store_txn_abort(t);
    tbl *tb = cells ? tbl_new(RUN_COLS) : NULL;
    static const char *const heads[RUN_COLS] = {
        N_("ID"), N_("STARTED"), N_("MODE"), N_("OUTCOME"), N_("TIME"), N_("WRITES"), N_("SCRIPT")};
    for (int i = 0; tb && i < RUN_COLS; i++) {
        if (tbl_set_col(tb, i, _(heads[i])) != 0) {
            tbl_free(tb);
            tb = NULL;
        }
    }
    int oom = !tb;
    for (size_t r = n; r-- > 0;) {
        char **row = cells + r * RUN_COLS;
        oom |= !tb || tbl_add_row(tb) != 0;
        for (int i = 0; i < RUN_COLS; i++) {
            /* the id and the time align right, as numbers do */
            int kind = i == 0 || i == 4 ? TBL_NUM : TBL_STR;
            oom |= !row[i] || (tb && tbl_set(tb, i, kind, row[i], strlen(row[i])) != 0);
            free(row[i]);
        }
    }
    free(cells);
    if (oom) {
        tbl_free(tb);
        return GH_ENOMEM;
    }
    tbl_opts o = {.mode = TBL_TABLE};
    if (tbl_render(tb, &o, f) != 0 && rc == 0) {
        rc = GH_EIO;
    }
    tbl_free(tb);
    return rc;
}

/* Prints a MessagePack value as JSON-like text. */
static void print_any(FILE *f, mp_reader *r, int depth) {
    mp_item it;
    if (depth > CODEC_MAX_DEPTH || mp_read(r, &it)) {
        fputs("?", f);
        return;
    }
    switch (it.type) {
    case MP_NIL:
        fputs("nil", f);
        break;
    case MP_BOOL:
        fputs(it.v.b ? "true" : "false", f);
        break;
    case MP_INT:
        fprintf(f, "%" PRId64, it.v.i);
        break;
    case MP_FLOAT:
        fprintf(f, "%.17g", it.v.d);
        break;
    case MP_STR:
        fprintf(f, "%.*s", (int)it.n, it.s);
        break;
    case MP_ARRAY:
    case MP_MAP:
        fputs(it.type == MP_ARRAY ? "[" : "{", f);
        for (uint32_t i = 0; i < it.n; i++) {
            fputs(i ? ", " : "", f);
            if (it.type == MP_MAP) {
                print_any(f, r, depth + 1);
                fputs(" = ", f);
            }
            print_any(f, r, depth + 1);
        }
        fputs(it.type == MP_ARRAY ? "]" : "}", f);
        break;
    }
}

static void show_any(FILE *f, const shown *w, int field) {
    mp_reader r;
    mp_reader_init(&r, w->any[field], (size_t)(w->any_end[field] - w->any[field]));
    print_any(f, &r, 0);
}

/* The kind of personal data a parameter holds (pii.h): by its name
 * (`id_number=...`, `phone=...`), else by its value (`id=330481...`, an
 * import's file argument is never one). */
static int param_kind(const char *s, size_t n, size_t *vstart) {
    const char *eq = memchr(s, '=', n);
    *vstart = 0;
    if (eq && eq > s && eq - s < 64) {
        char name[64];
        memcpy(name, s, (size_t)(eq - s));
        name[eq - s] = 0;
        *vstart = (size_t)(eq - s) + 1;
        int k = pii_guess(name);
        if (pii_hidden(k)) {
            return k;
        }
    }
    int k = pii_guess_value(s + *vstart, n - *vstart);
    return pii_hidden(k) ? k : PII_NONE;
}

/* Prints the parameters of a run as the command line gives them, quoted,
 * personal data masked (pii.h, invariant 3); *masked counts those masked. */
static void show_params(FILE *f, const shown *w, int *masked) {
    if (!w->any[F_PARAMS]) {
        return;
    }
    mp_reader r;
    mp_item it, p;
    mp_reader_init(&r, w->any[F_PARAMS], (size_t)(w->any_end[F_PARAMS] - w->any[F_PARAMS]));
    if (mp_read(&r, &it) || it.type != MP_ARRAY) {
        return;
    }
    for (uint32_t i = 0; i < it.n && mp_read(&r, &p) == 0 && p.type == MP_STR; i++) {
        size_t v;
        int kind = param_kind(p.s, p.n, &v);
        char *m = NULL;
        const char *s = p.s;
        size_t n = p.n;
        if (kind != PII_NONE && (m = malloc(p.n + PII_MASK_EXTRA + 1)) != NULL) {
            memcpy(m, p.s, v);
            n = v + pii_mask(kind, p.s + v, p.n - v, m + v);
            s = m;
            (*masked)++;
        }
        fputs(" '", f);
        for (size_t j = 0; j < n; j++) {
            if (s[j] == '\'') {
                fputs("'\\''", f);
            } else {
                fputc(s[j], f);
            }
        }
        fputs("'", f);
        free(m);
    }
}

/* The replay's --in and --out, quoted as show_params quotes. */
static void show_dirs(FILE *f, const shown *w) {
    if (w->any[F_IN]) {
        mp_reader r;
        mp_item it, p;
        mp_reader_init(&r, w->any[F_IN], (size_t)(w->any_end[F_IN] - w->any[F_IN]));
        if (mp_read(&r, &it) == 0 && it.type == MP_ARRAY) {
            for (uint32_t i = 0; i < it.n && mp_read(&r, &p) == 0 && p.type == MP_STR; i++) {
                fputs(" --in '", f);
                for (uint32_t j = 0; j < p.n; j++) {
                    p.s[j] == '\'' ? fputs("'\\''", f) : fputc(p.s[j], f);
                }
                fputc('\'', f);
            }
        }
    }
    if (w->str[F_OUT]) {
        fputs(" --out '", f);
        for (size_t j = 0; j < w->len[F_OUT]; j++) {
            w->str[F_OUT][j] == '\'' ? fputs("'\\''", f) : fputc(w->str[F_OUT][j], f);
        }
        fputc('\'', f);
    }
}

static void masked_note(FILE *f, int masked) {
    if (masked > 0) {
        fprintf(f,
                _("  (personal data in %d parameter(s) is masked here: give the real value to "
                  "replay)\n"),
                masked);
    }
}

static int show_raw(store *s, const char *which, FILE *f);

/* runs show: what a script put in its record (parameters, an error message,
 * a summary) may hold terminal control sequences; they are shown as \xNN
 * so that a run record cannot rewrite the operator's screen (issue 16,
 * class 12). */
int runs_show(store *s, const char *which, FILE *f) {
    char *buf = NULL;
    size_t n = 0;
    FILE *mem = open_memstream(&buf, &n);
    if (!mem) {
        return show_raw(s, which, f);
    }
    int rc = show_raw(s, which, mem);
    fclose(mem);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)buf[i];
        if ((c < 0x20 && c != '\n') || c == 0x7f) {
            fprintf(f, "\\x%02x", c);
        } else {
            fputc(c, f);
        }
    }
    free(buf);
    return rc;
}

static int show_raw(store *s, const char *which, FILE *f) {
    store_txn *t;
    const store_coll *c;
    store_scan *sc = NULL;
    char *end;
    long long want = strtoll(which, &end, 10);
    int by_id = *which && !*end;
    int rc = store_txn_begin(s, NULL, 0, &t);
    if (rc) {
        return rc;
    }
    rc = store_coll_get(t, RUNS_COLLECTION, &c);
    store_range range = {.reverse = 1};
    if (rc || (rc = store_scan_open(t, c, -1, &range, &sc))) {
        store_txn_abort(t);
        if (rc == GH_ENOTFOUND) {
            return err_set(GH_ENOTFOUND, _("no run %s: no runs recorded yet"), which);
        }
        return rc;
    }
    const void *pk, *val;
    size_t pklen, vlen;
    shown w;
    int found = 0;
    while ((rc = store_scan_next(sc, &pk, &pklen, &val, &vlen)) == 0) {
        if (read_rec(c, val, vlen, &w) != 0) {
            continue;
        }
        if ((by_id && w.id == want) || (w.str[F_UID] && w.len[F_UID] == strlen(which) &&
                                        memcmp(w.str[F_UID], which, w.len[F_UID]) == 0)) {
            found = 1;
            break;
        }
    }
    if (!found) {
        store_scan_close(sc);
        store_txn_abort(t);
        return err_set(GH_ENOTFOUND, _("no run %s (see gonghui runs)"), which);
    }
    char a[48], b[48], d[32];
    fmt_time(w.started, 1, a, sizeof a);
    fmt_time(w.ended, 1, b, sizeof b);
    fmt_duration(w.ended - w.started, d, sizeof d);
    fprintf(f, _("run %" PRId64 " (%.*s)\n"), w.id, STR(&w, F_UID));
    fprintf(f, _("  script     %.*s\n"), STR(&w, F_SCRIPT));
    fprintf(f, _("  sha256     %.*s\n"), STR(&w, F_SHA));
    if (w.str[F_CODE]) {
        fprintf(f, _("  code       %.*s\n"), STR(&w, F_CODE));
    }
    if (w.any[F_MODULES]) {
        fprintf(f, _("  modules    "));
        show_any(f, &w, F_MODULES);
        fputc('\n', f);
    }
    int masked = 0;
    fprintf(f, _("  params    "));
    show_params(f, &w, &masked);
    masked = 0; /* counted again on the replay line */
    fputc('\n', f);
    fprintf(f, _("  seed       %" PRId64 "\n"), w.seed);
    fprintf(f, _("  clock      %" PRId64 " (os.time() in the script)\n"), w.clock);
    fprintf(f, _("  operator   %.*s@%.*s\n"), STR(&w, F_OPERATOR), STR(&w, F_HOST));
    fprintf(f, _("  started    %s\n  ended      %s (%s)\n"), a, b, d);
    fprintf(f, _("  mode       %.*s\n"), STR(&w, F_MODE));
    fprintf(f, _("  outcome    %.*s (exit code %" PRId64 ")\n"), STR(&w, F_OUTCOME), w.exit_code);
    if (w.str[F_ERROR]) {
        fprintf(f, _("  error      %.*s\n"), STR(&w, F_ERROR));
    }
    fprintf(f, _("  writes     "));
    if (w.any[F_WRITES]) {
        show_any(f, &w, F_WRITES);
    }
    fputc('\n', f);
    fprintf(f, _("  events     "));
    if (w.any[F_EVENTS]) {
        show_any(f, &w, F_EVENTS);
    }
    fputc('\n', f);
    fprintf(f, _("  version    %.*s\n"), STR(&w, F_VERSION));
    if (w.str[F_SUMMARY]) {
        fprintf(f, _("  summary    %.*s\n"), STR(&w, F_SUMMARY));
    }
    if (w.str[F_ACCOUNT]) {
        fprintf(f, _("  account    %.*s\n"), STR(&w, F_ACCOUNT));
    }
    if (w.str[F_ENDPOINT]) {
        fprintf(f, _("  endpoint   %.*s\n"), STR(&w, F_ENDPOINT));
    }
    /* the command that replays it: same script, parameters, seed and clock;
     * an import or export: the same command (its arguments are the params) */
    if (w.str[F_MODE] && w.len[F_MODE] >= 6 &&
        (memcmp(w.str[F_MODE], "import", 6) == 0 || memcmp(w.str[F_MODE], "export", 6) == 0)) {
        fprintf(f, _("replay: gonghui %.6s"), w.str[F_MODE]);
        if (w.len[F_SCRIPT] > 4 && memcmp(w.str[F_SCRIPT] + w.len[F_SCRIPT] - 4, ".lua", 4) == 0) {
            /* export SCRIPT.lua: the same random numbers and clock */
            fprintf(f, " --seed %" PRId64 " --now %" PRId64, w.seed, w.clock);
        }
        show_params(f, &w, &masked);
        fputc('\n', f);
        masked_note(f, masked);
        store_scan_close(sc);
        store_txn_abort(t);
        return 0;
    }
    fprintf(f, _("replay: gonghui run --seed %" PRId64 " --now %" PRId64), w.seed, w.clock);
    if (w.str[F_MODE] && w.len[F_MODE] == 7 && memcmp(w.str[F_MODE], "dry-run", 7) == 0) {
        fputs(" --dry-run", f);
    } else if (w.str[F_MODE] && w.len[F_MODE] == 6 && memcmp(w.str[F_MODE], "atomic", 6) == 0) {
        fputs(" --atomic", f);
    }
    show_dirs(f, &w);
    if (w.str[F_CODE]) {
        fputs(" -e '...'", f);
    }
    if (!(w.len[F_SCRIPT] == 2 && memcmp(w.str[F_SCRIPT], "-e", 2) == 0)) {
        fprintf(f, " %.*s", STR(&w, F_SCRIPT));
    }
    show_params(f, &w, &masked);
    fputc('\n', f);
    masked_note(f, masked);
    store_scan_close(sc);
    store_txn_abort(t);
    return 0;
}

uint64_t runs_random64(void) {
    uint64_t v = 0;
    if (getrandom(&v, sizeof v, GRND_NONBLOCK) != (ssize_t)sizeof v) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        v = ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec) ^ ((uint64_t)getpid() << 32);
    }
    return v;
}

void runs_new_uid(char out[17]) {
    snprintf(out, 17, "%016llx", (unsigned long long)runs_random64());
}

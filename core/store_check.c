/*
 * store_check.c — the store's damage and maintenance: the meta-page check
 * before LMDB maps a file, the fault guard over open maps, `check` (in a
 * child process), backup, and the size figures of `stat`.
 */
#include "store_int.h"

#include "clock.h"
#include "codec.h"
#include "err.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <dirent.h>
#include <fcntl.h>
#include <lmdb.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

/* ---- damage (issue 16, class 5) --------------------------------------------------------

 * LMDB maps data.mdb and trusts it: a truncated file faults (SIGBUS) on the
 * first page past its end, and a flipped byte can send it to any page. So:
 *  - every open first reads the two meta pages with pread and checks them
 *    (magic, version, page size, and that the newest one's last page lies
 *    inside the file): a truncated or overwritten file is refused with a
 *    message, before LMDB maps it;
 *  - a fault inside the map of an open environment (damage the meta pages
 *    do not show) ends the process with that message instead of a core
 *    dump: what was not committed is not stored, as with SIGKILL;
 *  - `check` reads in a child process (store_check_path), so even a fault
 *    elsewhere is reported as damage and never crashes it. */

#define MDB_MAGIC_V 0xBEEFC0DEu
#define META_MAGIC 16 /* offsets in a meta page of LMDB 0.9 on 64-bit hosts */
#define META_VERSION 20
#define META_PSIZE 40         /* mm_dbs[FREE_DBI].md_pad holds the page size */
#define META_MAIN_ENTRIES 120 /* mm_dbs[MAIN_DBI].md_entries: the named databases */
#define META_MAIN_ROOT 128
#define META_LAST_PG 136
#define META_TXNID 144

static uint64_t rd64(const unsigned char *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static uint32_t rd32(const unsigned char *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* Whether pg (its first 256 bytes) is a meta page this gonghui reads. */
static int meta_is(const unsigned char *pg) {
    return rd32(pg + META_MAGIC) == MDB_MAGIC_V && rd32(pg + META_VERSION) == 1;
}

/* The one of the two meta pages LMDB uses: the larger transaction id (the
 * second only if it is a meta page at all). */
static const unsigned char *meta_newest(unsigned char pg[2][256]) {
    return meta_is(pg[1]) && rd64(pg[1] + META_TXNID) > rd64(pg[0] + META_TXNID) ? pg[1] : pg[0];
}

int store_check_meta(const char *dir) {
    return store_check_meta_n(dir, NULL);
}

/* 0 if data.mdb in dir looks whole (or is missing/empty: a new database),
 * else GH_ECORRUPT with what is wrong. */
int store_check_meta_n(const char *dir, uint64_t *named) {
    char p[4200];
    snprintf(p, sizeof p, "%s/data.mdb", dir);
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return 0;
    }
    struct stat st;
    unsigned char pg[2][256];
    int rc = 0;
    if (fstat(fd, &st) != 0 || st.st_size == 0) {
        close(fd);
        return 0;
    }
    const char *why = NULL;
    uint32_t ps = 0;
    if (pread(fd, pg[0], sizeof pg[0], 0) != (ssize_t)sizeof pg[0]) {
        why = N_("shorter than its first page");
    } else if (rd32(pg[0] + META_MAGIC) != MDB_MAGIC_V) {
        why = N_("its first page is not an LMDB meta page");
    } else if (!meta_is(pg[0])) {
        why = N_("an LMDB format this gonghui does not read");
    } else if ((ps = rd32(pg[0] + META_PSIZE)) < 512 || ps > 65536 || (ps & (ps - 1))) {
        why = N_("its page size is damaged");
    } else if (pread(fd, pg[1], sizeof pg[1], ps) != (ssize_t)sizeof pg[1]) {
        why = N_("shorter than its two meta pages");
    } else {
        const unsigned char *m = meta_newest(pg);
        uint64_t last = rd64(m + META_LAST_PG), root = rd64(m + META_MAIN_ROOT);
        uint32_t mps = rd32(m + META_PSIZE); /* LMDB maps with the newer one's page size */
        if (named) {
            *named = rd64(m + META_MAIN_ENTRIES);
        }
        uint64_t pages = (uint64_t)st.st_size / ps;
        if (mps != ps) {
            why = N_("its page size is damaged");
        } else if (last >= pages) { /* (not last + 1 > pages: ~0 wraps) */
            why = N_("cut short: it ends before its last page (truncated, or a copy that did not "
                     "finish)");
        } else if (root != ~(uint64_t)0 && (root < 2 || root > last)) {
            why = N_("its root page is out of place");
        }
    }
    close(fd);
    if (why) {
        rc = err_set(GH_ECORRUPT,
                     _("%s is damaged (data.mdb: %s). Nothing was read or written. Run gonghui "
                       "--db %s check to see more, and restore the database from a backup "
                       "(gonghui backup makes them)"),
                     dir, _(why), dir);
    }
    return rc;
}

/* The maps of open environments, for the fault handler (read there only). */
#define MAX_MAPS 8
static struct { volatile uintptr_t lo, hi; } maps[MAX_MAPS];
static char fault_msg[4400];
static size_t fault_len;
static struct sigaction old_bus, old_segv;
static volatile sig_atomic_t handler_on;

#define LMDB_RANGES 4
static volatile uintptr_t lmdb_lo[LMDB_RANGES], lmdb_hi[LMDB_RANGES]; /* LMDB's code */

static uintptr_t fault_pc(void *uc) {
    const ucontext_t *u = uc;
#if defined(__x86_64__)
    return (uintptr_t)u->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
    return (uintptr_t)u->uc_mcontext.pc;
#else
    (void)u;
    return 0;
#endif
}

static void on_fault(int sig, siginfo_t *si, void *uc) {
    uintptr_t a = (uintptr_t)si->si_addr, pc = fault_pc(uc);
    /* a fault in LMDB's own code while a database is open is damage too: a
     * flipped byte made it follow a pointer to nowhere */
    int in_lmdb = 0;
    for (int i = 0; i < LMDB_RANGES; i++) {
        in_lmdb |= lmdb_lo[i] && pc >= lmdb_lo[i] && pc < lmdb_hi[i];
    }
    for (int i = 0; i < MAX_MAPS; i++) {
        if (maps[i].lo && ((a >= maps[i].lo && a < maps[i].hi) || in_lmdb)) {
            ssize_t w = write(2, fault_msg, fault_len);
            (void)w;
            _exit(STORE_EXIT_DAMAGED);
        }
    }
    /* not ours: as before (the default, or a sanitizer's report) */
    sigaction(sig, sig == SIGBUS ? &old_bus : &old_segv, NULL);
}

/* Where the map of s's data.mdb lies: LMDB does not say (me_mapaddr is the
 * address a FIXEDMAP database asked for), the kernel's list of mappings does. */
static void map_find(const store *s, uintptr_t *lo, uintptr_t *hi) {
    char want[4200], real[4096], line[4600];
    *lo = *hi = 0;
    if (!realpath(s->path, real)) {
        return;
    }
    snprintf(want, sizeof want, "%s/data.mdb", real);
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f) {
        return;
    }
    size_t wn = strlen(want);
    while (fgets(line, sizeof line, f)) {
        size_t n = strcspn(line, "\n");
        line[n] = 0;
        if (n >= wn && strcmp(line + n - wn, want) == 0) {
            unsigned long a, b;
            if (sscanf(line, "%lx-%lx", &a, &b) == 2) {
                *lo = (uintptr_t)a;
                *hi = (uintptr_t)b;
                break;
            }
        }
    }
    fclose(f);
}

void store_map_note(store *s, int add) {
    uintptr_t lo = 0, hi = 0;
    if (add) {
        map_find(s, &lo, &hi);
    }
    for (int i = 0; i < MAX_MAPS; i++) {
        if (maps[i].lo == (uintptr_t)s->map_lo) {
            maps[i].lo = 0;
            maps[i].hi = hi;
            maps[i].lo = lo;
            break;
        }
    }
    s->map_lo = (void *)lo;
    if (!handler_on && add) {
        uintptr_t clo[LMDB_RANGES], chi[LMDB_RANGES];
        int n = store_lmdb_code(clo, chi, LMDB_RANGES); /* linked in: no need to look */
        for (int i = 0; i < n; i++) {
            lmdb_lo[i] = clo[i];
            lmdb_hi[i] = chi[i];
        }
        FILE *f = n < 0 ? fopen("/proc/self/maps", "r") : NULL;
        char line[4600];
        while (f && fgets(line, sizeof line, f)) {
            unsigned long a, b;
            char perm[8];
            if (strstr(line, "/liblmdb.") && sscanf(line, "%lx-%lx %7s", &a, &b, perm) == 3 &&
                perm[2] == 'x') {
                lmdb_lo[0] = (uintptr_t)a;
                lmdb_hi[0] = (uintptr_t)b;
            }
        }
        if (f) {
            fclose(f);
        }
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_fault;
        sa.sa_flags = SA_SIGINFO | SA_NODEFER;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGBUS, &sa, &old_bus);
        sigaction(SIGSEGV, &sa, &old_segv);
        handler_on = 1;
    }
    if (add) {
        int n = snprintf(
            fault_msg, sizeof fault_msg,
            /* translated only if the catalog is bound: made at every open */
            i18n_tr_bound(N_("gonghui: %s is damaged: reading it touched a page that is not there "
                             "(data.mdb cut short or overwritten). Nothing more was written. Run "
                             "gonghui --db %s check, and restore the database from a backup.\n")),
            s->path, s->path);
        fault_len = n > 0 && (size_t)n < sizeof fault_msg ? (size_t)n : 0;
    }
}

/* ---- values a text file cannot hold (issue 16, class 11) ----------------------------------

 * Every record a writer hands store_put is walked once more here, whole:
 * a string that is not UTF-8 or a NaN/infinite number would be written out
 * by export as broken JSON, a malformed workbook or "nan" in a CSV cell, so
 * the store refuses it, whoever the writer (a script, import, serve's JSON,
 * a program). The walk reads the bytes the caller just encoded (they are in
 * the cache); a string is checked eight ASCII bytes at a time. */

static int text_refusal(const store_coll *c, const char *field, const mp_flaw *fl) {
    if (fl->kind == MP_FLAW_NONFINITE) {
        const char *v = isnan(fl->d) ? "NaN" : fl->d > 0 ? "inf" : "-inf";
        return err_set(GH_ETYPE,
                       _("collection '%s': field '%s' is %s, which is not a number a CSV, JSON or "
                         "Excel file can hold; give a real number, or leave the field out when "
                         "there is none"),
                       c->name, field, v);
    }
    char shown[200];
    codec_show_bytes(fl->s, fl->n, shown, sizeof shown);
    return err_set(GH_ETYPE,
                   _("collection '%s': field '%s' holds bytes that are not UTF-8 text (\"%s\", "
                     "byte %zu); give text as UTF-8 (text read from a GBK/GB18030 file: import "
                     "the file, which converts it, or convert it with iconv) and keep binary "
                     "data out of text fields"),
                   c->name, field, shown, fl->bad + 1);
}

int store_rec_text_slow(const store_coll *c, const void *rec, size_t n) {
    mp_reader r;
    mp_item it;
    mp_flaw fl;
    mp_reader_init(&r, rec, n);
    if (mp_read(&r, &it) != 0 || it.type != MP_ARRAY) {
        return err_set(GH_ECORRUPT, _("collection '%s': a record is corrupt (not an array)"),
                       c->name);
    }
    for (uint32_t i = 0; i < it.n; i++) {
        char name[80];
        const char *field = name;
        int rc = 0;
        mp_reader at = r;
        mp_item m;
        if ((int)i == c->extra && mp_read(&at, &m) == 0 && m.type == MP_MAP) {
            /* the unknown fields' map: name the one */
            r = at;
            for (uint32_t j = 0; j < m.n && rc == 0; j++) {
                mp_item k;
                at = r;
                if ((rc = mp_check_text(&r, CODEC_MAX_DEPTH - 2, &fl)) == 0) {
                    rc = mp_check_text(&r, CODEC_MAX_DEPTH - 2, &fl);
                }
                if (rc == 1 && mp_read(&at, &k) == 0 && k.type == MP_STR &&
                    codec_utf8_valid((const unsigned char *)k.s, k.n, NULL)) {
                    codec_show_bytes(k.s, k.n, name, sizeof name);
                    return text_refusal(c, name, &fl);
                }
            }
            if (rc == 1) {
                return text_refusal(c, _("(a field name)"), &fl);
            }
        } else if ((rc = mp_check_text(&r, CODEC_MAX_DEPTH - 1, &fl)) == 1) {
            if ((int)i < c->nfields) {
                field = store_field_label(c, (int)i);
            } else {
                snprintf(name, sizeof name, "#%u", i + 1);
            }
            return text_refusal(c, field, &fl);
        }
        if (rc) {
            return err_set(GH_ECORRUPT, _("collection '%s': a record is corrupt (field %u)"),
                           c->name, i + 1);
        }
    }
    return 0;
}

/* ---- check, backup, stat ------------------------------------------------------------------- */

static void problem(void (*report)(void *, const char *), void *ctx, uint64_t *problems,
                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void problem(void (*report)(void *, const char *), void *ctx, uint64_t *problems,
                    const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    (*problems)++;
    if (*problems <= 1000) {
        report(ctx, msg);
    } else if (*problems == 1001) {
        report(ctx, _("more problems follow; only the first 1000 are shown"));
    }
}

static int check_coll(store_txn *t, const store_coll *c, void (*report)(void *, const char *),
                      void *ctx, uint64_t *problems) {
    MDB_cursor *cur;
    MDB_val k, d;
    codec_buf ib, kb;
    char shown[160], shown2[160];
    int rc = mdb_cursor_open(t->txn, c->dbi, &cur);
    if (rc) {
        return store_lmdb_err(rc, c->name);
    }
    codec_buf_init(&ib);
    codec_buf_init(&kb);
    uint64_t *expect = calloc((size_t)c->nindexes + 1, sizeof *expect);
    if (!expect) {
        mdb_cursor_close(cur);
        return GH_ENOMEM;
    }
    /* Records -> index entries. */
    int m = mdb_cursor_get(cur, &k, &d, MDB_FIRST);
    while (m == 0) {
        store_key_render(k.mv_data, k.mv_size, shown, sizeof shown);
        if (mp_validate(d.mv_data, d.mv_size) != 0) {
            problem(report, ctx, problems, _("%s: record %s: value bytes do not decode"), c->name,
                    shown);
            goto next;
        }
        int bad = store_rec_text(c, d.mv_data, d.mv_size);
        if (bad) {
            /* stored before store_put refused such values (issue 16, class 11) */
            problem(report, ctx, problems,
                    _("%s: record %s: %s; it was stored before gonghui refused such values: "
                      "export writes it cleaned, and an update of the field corrects it"),
                    c->name, shown, err_msg(bad));
        }
        if (store_record_key(c, d.mv_data, d.mv_size, &kb) != 0 || kb.len != k.mv_size ||
            memcmp(kb.p, k.mv_data, kb.len) != 0) {
            problem(report, ctx, problems, _("%s: record %s: its key field does not match its key"),
                    c->name, shown);
        }
        for (int i = 0; i < c->nindexes; i++) {
            const store_index *ix = &c->indexes[i];
            int has = store_index_key(c, ix, d.mv_data, d.mv_size, &ib);
            if (has < 0) {
                problem(report, ctx, problems, _("%s: record %s: %s"), c->name, shown,
                        err_msg(has));
                continue;
            }
            if (has) {
                continue;
            }
            expect[i]++;
            MDB_cursor *ic;
            MDB_val ik = {ib.len, ib.p}, iv = k;
            if (mdb_cursor_open(t->txn, ix->dbi, &ic) == 0) {
                int found = ix->unique ? mdb_cursor_get(ic, &ik, &iv, MDB_SET_KEY) == 0 &&
                                             iv.mv_size == k.mv_size &&
                                             memcmp(iv.mv_data, k.mv_data, k.mv_size) == 0
                                       : mdb_cursor_get(ic, &ik, &iv, MDB_GET_BOTH) == 0;
                if (!found) {
                    store_key_render(ib.p, ib.len, shown2, sizeof shown2);
                    problem(report, ctx, problems, _("%s: record %s has no entry %s in index '%s'"),
                            c->name, shown, shown2, ix->name);
                }
                mdb_cursor_close(ic);
            }
        }
    next:
        m = mdb_cursor_get(cur, &k, &d, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    /* Index entries -> records. */
    for (int i = 0; i < c->nindexes; i++) {
        const store_index *ix = &c->indexes[i];
        if (mdb_cursor_open(t->txn, ix->dbi, &cur) != 0) {
            continue;
        }
        m = mdb_cursor_get(cur, &k, &d, MDB_FIRST);
        while (m == 0) {
            MDB_val rec;
            store_key_render(k.mv_data, k.mv_size, shown, sizeof shown);
            store_key_render(d.mv_data, d.mv_size, shown2, sizeof shown2);
            if (mdb_get(t->txn, c->dbi, &d, &rec) != 0) {
                problem(report, ctx, problems,
                        _("%s: index '%s' entry %s points to record %s, which does not exist"),
                        c->name, ix->name, shown, shown2);
            } else if (store_index_key(c, ix, rec.mv_data, rec.mv_size, &ib) != 0 ||
                       ib.len != k.mv_size || memcmp(ib.p, k.mv_data, ib.len) != 0) {
                problem(report, ctx, problems,
                        _("%s: index '%s' entry %s does not match record %s"), c->name, ix->name,
                        shown, shown2);
            }
            m = mdb_cursor_get(cur, &k, &d, MDB_NEXT);
        }
        mdb_cursor_close(cur);
    }
    free(expect);
    codec_buf_free(&ib);
    codec_buf_free(&kb);
    return 0;
}

int store_check(store *s, void (*report)(void *ctx, const char *msg), void *ctx,
                uint64_t *problems) {
    store_txn *t = NULL; /* likewise for store_txn_begin */
    int rc = store_txn_begin(s, NULL, 0, &t);
    *problems = 0;
    if (rc) {
        return rc;
    }
    if ((rc = store_sync_defs(t)) == 0) {
        for (int i = 0; i < s->ncolls && rc == 0; i++) {
            rc = check_coll(t, s->colls[i], report, ctx, problems);
        }
    }
    store_txn_abort(t);
    return rc;
}

/* ---- the page walk: the file's trees, read with pread before LMDB maps them ----------------

 * LMDB 0.9 trusts every page it reads. A page whose header bounds are
 * damaged can keep its binary search going round forever (an mp_lower below
 * the header makes NUMKEYS wrap to 2^31: fuzz_mdb found one), and a child
 * pointer can lead back up the tree. So `check` first walks every tree from
 * the newest meta page itself, page by page with pread (nothing is mapped,
 * so nothing can fault or loop), and hands the file to LMDB only if each
 * page it reaches is what its parent says: a branch or leaf page that names
 * its own number, whose bounds and nodes lie inside it, reached once and no
 * deeper than LMDB's cursor goes, with its large values' overflow pages and
 * its named and duplicate sub-trees whole. The layout is LMDB 0.9's on a
 * 64-bit host (lmdb.h, mdb.c), as for the meta check above. */

#define PG_HDR 16 /* pgno 8, pad 2, flags 2, lower 2, upper 2 (an overflow page: its count, 4) */
#define PG_BRANCH 0x01
#define PG_LEAF 0x02
#define PG_OVERFLOW 0x04
#define PG_LEAF2 0x20
#define NODE_HDR 8 /* data size (a branch: the child's number) lo 2, hi 2, flags 2, key size 2 */
#define NODE_BIGDATA 0x01
#define NODE_SUBDATA 0x02
#define NODE_DUPDATA 0x04
#define DB_SIZE 48 /* MDB_db: pad 4, flags 2, depth 2, four counts of 8, root 8 */
#define DB_DUPSORT 0x04
#define DB_DUPFIXED 0x10
#define TREE_MAX_DEPTH 32 /* LMDB's CURSOR_STACK */

static uint16_t rd16(const unsigned char *p) {
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}

typedef struct {
    int fd;
    uint32_t ps;
    uint64_t last;
    unsigned char *seen; /* a bit per page up to last */
    int rc;              /* an error that stopped the walk (out of memory) */
    void (*report)(void *, const char *);
    void *ctx;
    uint64_t *problems;
} page_walk;

typedef struct {
    const char *name; /* the tree, as a person reads it */
    int main;         /* the list of named tables */
    int dupsort;      /* a key may hold several values */
    int dupfixed;     /* ... all of one size */
    int dup;          /* the values of one key: keys alone, no data */
    uint32_t fixed;   /* the size of those values on LEAF2 pages, or 0 */
} tree_kind;

/* Every walk function returns 0, or 1 when it found damage (reported; the
 * walk stops) or w->rc was set. */
static int page_bad(page_walk *w, const tree_kind *k, uint64_t pgno, const char *why) {
    problem(w->report, w->ctx, w->problems, _("data.mdb page %llu (%s): %s"),
            (unsigned long long)pgno, k->name, why);
    return 1;
}

/* Marks pgno reached from page `from`. */
static int page_claim(page_walk *w, const tree_kind *k, uint64_t from, uint64_t pgno) {
    char why[200];
    if (pgno < 2 || pgno > w->last) {
        snprintf(why, sizeof why, _("points to page %llu, outside the file's pages 2 to %llu"),
                 (unsigned long long)pgno, (unsigned long long)w->last);
        return page_bad(w, k, from, why);
    }
    if (w->seen[pgno / 8] & (1u << (pgno % 8))) {
        snprintf(why, sizeof why,
                 _("points to page %llu, which is reached another way too (the tree loops, or "
                   "two trees share the page)"),
                 (unsigned long long)pgno);
        return page_bad(w, k, from, why);
    }
    w->seen[pgno / 8] |= (unsigned char)(1u << (pgno % 8));
    return 0;
}

static int walk_page(page_walk *w, const tree_kind *k, uint64_t from, uint64_t pgno, int depth);

/* A named table as a person knows it: c:NAME is a collection, i:NAME:FIELDS
 * one of its indexes (store_def.c names them so). */
static void tree_label(const char *key, size_t n, char *out, size_t outn) {
    char shown[100];
    codec_show_bytes(key, n, shown, sizeof shown);
    const char *colon = strchr(shown + 2, ':');
    if (strncmp(shown, "c:", 2) == 0) {
        snprintf(out, outn, _("collection '%s'"), shown + 2);
    } else if (strncmp(shown, "i:", 2) == 0 && colon) {
        snprintf(out, outn, _("index '%s' of collection '%.*s'"), colon + 1,
                 (int)(colon - shown - 2), shown + 2);
    } else {
        snprintf(out, outn, "%s", shown);
    }
}

/* The tree a 48-byte MDB_db at db describes (it may be empty). */
static int walk_tree(page_walk *w, const tree_kind *k, uint64_t from, const unsigned char *db) {
    uint64_t root = rd64(db + 40);
    return root == ~(uint64_t)0 ? 0 : walk_page(w, k, from, root, 1);
}

/* A large value's overflow pages: the first says how many follow. */
static int walk_overflow(page_walk *w, const tree_kind *k, uint64_t from, uint64_t opg,
                         uint64_t dsize) {
    unsigned char h[PG_HDR];
    if (page_claim(w, k, from, opg)) {
        return 1;
    }
    if (pread(w->fd, h, sizeof h, (off_t)(opg * w->ps)) != (ssize_t)sizeof h || rd64(h) != opg ||
        !(rd16(h + 10) & PG_OVERFLOW)) {
        return page_bad(w, k, opg, _("should hold the start of a large value, and does not"));
    }
    uint64_t pages = rd32(h + 12);
    if (pages == 0 || pages - 1 > w->last - opg || pages * w->ps < PG_HDR + dsize) {
        return page_bad(w, k, opg, _("a large value's length does not fit its pages"));
    }
    for (uint64_t j = 1; j < pages; j++) {
        if (page_claim(w, k, opg, opg + j)) {
            return 1;
        }
    }
    return 0;
}

/* The nodes of page pgno, or of a sub-page (sub: the values of one key,
 * kept inside a leaf node of pgno) at p, size bytes. */
static int walk_nodes(page_walk *w, const tree_kind *k, uint64_t pgno, const unsigned char *p,
                      uint32_t size, int sub, int depth) {
    uint16_t flags = rd16(p + 10), lower = rd16(p + 12), upper = rd16(p + 14);
    int kind = flags & (PG_BRANCH | PG_LEAF | PG_LEAF2 | PG_OVERFLOW);
    if (kind != PG_BRANCH && kind != PG_LEAF && kind != (PG_LEAF | PG_LEAF2)) {
        return page_bad(w, k, pgno, _("is not a branch or leaf page (its kind is damaged)"));
    }
    if ((kind == PG_BRANCH && sub) || ((kind & PG_LEAF2) && !(k->dup && k->dupfixed))) {
        return page_bad(w, k, pgno, _("is a kind of page its tree does not hold"));
    }
    if (lower < PG_HDR || (lower & 1) || upper > size || lower > upper) {
        return page_bad(w, k, pgno, _("its header's bounds are damaged"));
    }
    uint32_t n = (uint32_t)(lower - PG_HDR) / 2;
    if (kind & PG_LEAF2) {
        uint32_t ks = sub ? rd16(p + 8) : k->fixed; /* a sub-page keeps its value size in pad */
        if (ks == 0 || PG_HDR + (uint64_t)n * ks > size) {
            return page_bad(w, k, pgno, _("its values of one size run past its end"));
        }
        return 0;
    }
    if (kind == PG_BRANCH && n == 0) {
        return page_bad(w, k, pgno, _("is a branch page without children"));
    }
    for (uint32_t i = 0; i < n; i++) {
        uint32_t off = rd16(p + PG_HDR + 2 * i);
        if (off < upper || off + NODE_HDR > size) {
            return page_bad(w, k, pgno, _("an entry lies outside the page"));
        }
        const unsigned char *node = p + off;
        uint32_t nflags = rd16(node + 4), ksize = rd16(node + 6);
        uint64_t dsize = (uint64_t)rd16(node) | (uint64_t)rd16(node + 2) << 16;
        if (off + NODE_HDR + ksize > size) {
            return page_bad(w, k, pgno, _("a key runs past the page's end"));
        }
        if (kind == PG_BRANCH) {
            if (walk_page(w, k, pgno, dsize | (uint64_t)nflags << 32, depth + 1)) {
                return 1;
            }
            continue;
        }
        if (k->dup) {
            continue; /* a value of a key that has several: the key alone */
        }
        const unsigned char *data = node + NODE_HDR + ksize;
        uint64_t room = size - (off + NODE_HDR + ksize);
        if (nflags & NODE_BIGDATA) {
            if (room < 8) {
                return page_bad(w, k, pgno, _("a large value's page number runs past the page"));
            }
            if (walk_overflow(w, k, pgno, rd64(data), dsize)) {
                return 1;
            }
            continue;
        }
        if (dsize > room) {
            return page_bad(w, k, pgno, _("a value runs past the page's end"));
        }
        tree_kind sk = *k;
        char name[128];
        sk.main = 0;
        sk.dup = 1;
        if ((nflags & NODE_SUBDATA) && !(nflags & NODE_DUPDATA)) { /* a named table */
            if (!k->main || dsize != DB_SIZE) {
                return page_bad(w, k, pgno, _("a table's description is damaged"));
            }
            tree_label((const char *)node + NODE_HDR, ksize, name, sizeof name);
            uint16_t dbf = rd16(data + 4);
            sk.name = name;
            sk.dupsort = (dbf & DB_DUPSORT) != 0;
            sk.dupfixed = sk.dupsort && (dbf & DB_DUPFIXED);
            sk.dup = 0;
            if (walk_tree(w, &sk, pgno, data)) {
                return 1;
            }
        } else if (nflags & NODE_DUPDATA) { /* the values of one key */
            if (!k->dupsort) {
                return page_bad(w, k, pgno,
                                _("holds several values for one key in a table that allows one"));
            }
            if (nflags & NODE_SUBDATA) { /* as a tree of their own */
                if (dsize != DB_SIZE) {
                    return page_bad(w, k, pgno, _("a table's description is damaged"));
                }
                sk.fixed = rd32(data);
                if (walk_tree(w, &sk, pgno, data)) {
                    return 1;
                }
            } else if (dsize < PG_HDR ||
                       walk_nodes(w, &sk, pgno, data, (uint32_t)dsize, 1, depth)) { /* inline */
                return dsize < PG_HDR ? page_bad(w, k, pgno, _("its header's bounds are damaged"))
                                      : 1;
            }
        }
    }
    return 0;
}

static int walk_page(page_walk *w, const tree_kind *k, uint64_t from, uint64_t pgno, int depth) {
    if (depth > TREE_MAX_DEPTH) {
        return page_bad(w, k, from, _("its tree is deeper than LMDB can read"));
    }
    if (page_claim(w, k, from, pgno)) {
        return 1;
    }
    unsigned char *p = malloc(w->ps);
    if (!p) {
        w->rc = err_set(GH_ENOMEM, _("out of memory"));
        return 1;
    }
    int bad;
    if (pread(w->fd, p, w->ps, (off_t)(pgno * w->ps)) != (ssize_t)w->ps) {
        bad = page_bad(w, k, pgno, _("cannot be read"));
    } else if (rd64(p) != pgno) {
        char why[120];
        snprintf(why, sizeof why, _("says it is page %llu: it was overwritten"),
                 (unsigned long long)rd64(p));
        bad = page_bad(w, k, pgno, why);
    } else {
        bad = walk_nodes(w, k, pgno, p, w->ps, 0, depth);
    }
    free(p);
    return bad;
}

/* Walks the trees of dir/data.mdb, whose meta pages store_check_meta found
 * whole: 0 with the damage found added to *problems and reported, or an
 * error. A writer may commit meanwhile and reuse the pages of a snapshot no
 * reader holds, so the walk holds one: an LMDB read transaction, whose
 * begin reads only the meta pages, pins the snapshot of the meta page with
 * its id while the walk reads that snapshot's pages itself. */
static int store_check_pages(const char *dir, void (*report)(void *, const char *), void *ctx,
                             uint64_t *problems) {
    char path[4200];
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return 0; /* no file: store_open says what that means */
    }
    MDB_env *env = NULL;
    MDB_txn *pin = NULL;
    if (mdb_env_create(&env) == 0 && (mdb_env_open(env, dir, MDB_RDONLY | MDB_NOTLS, 0600) != 0 ||
                                      mdb_txn_begin(env, NULL, MDB_RDONLY, &pin) != 0)) {
        pin = NULL; /* (a folder we may not write the lock file in: no writer either) */
    }
    unsigned char m[2][256];
    const unsigned char *meta = NULL;
    page_walk w = {.fd = fd, .report = report, .ctx = ctx, .problems = problems};
    for (int tries = 0; tries < 100 && !meta; tries++) {
        if (pread(fd, m[0], sizeof m[0], 0) != (ssize_t)sizeof m[0] ||
            (w.ps = rd32(m[0] + META_PSIZE)) < 512 ||
            pread(fd, m[1], sizeof m[1], w.ps) != (ssize_t)sizeof m[1]) {
            break; /* an empty file (a new database), or what the meta check refused */
        }
        uint64_t id = pin ? mdb_txn_id(pin) : 0;
        meta = !pin                                             ? meta_newest(m)
               : rd64(m[0] + META_TXNID) == id                  ? m[0]
               : meta_is(m[1]) && rd64(m[1] + META_TXNID) == id ? m[1]
                                                                : NULL;
        if (!meta) { /* two commits since the pin overwrote its meta page: pin the newest */
            mdb_txn_reset(pin);
            if (mdb_txn_renew(pin) != 0) {
                mdb_txn_abort(pin);
                pin = NULL;
            }
        }
    }
    struct stat st;
    if (meta && fstat(fd, &st) == 0 && rd64(meta + META_LAST_PG) < (uint64_t)st.st_size / w.ps) {
        w.last = rd64(meta + META_LAST_PG);
        if (!(w.seen = calloc(w.last / 8 + 1, 1))) {
            w.rc = err_set(GH_ENOMEM, _("out of memory"));
        } else {
            tree_kind k = {.name = _("the list of tables"), .main = 1};
            walk_tree(&w, &k, 0, meta + META_MAIN_ROOT - 40);
        }
    }
    free(w.seen);
    mdb_txn_abort(pin);
    mdb_env_close(env); /* before the check's child opens its own */
    close(fd);
    return w.rc;
}

int store_check_path(const char *path, void (*report)(void *ctx, const char *msg), void *ctx,
                     uint64_t *problems) {
    *problems = 0;
    int crc = store_check_meta(path);
    if (crc) {
        return crc; /* damaged before any page is read: the caller says so */
    }
    fflush(NULL);
    int fds[2];
    if (pipe(fds) != 0) {
        return err_set(GH_EIO, _("cannot start the check: %s"), strerror(errno));
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return err_set(GH_EIO, _("cannot start the check: %s"), strerror(errno));
    }
    if (pid == 0) {
        close(fds[0]);
        /* This process only reads, and its death is the report: a fault it
         * does not recognise, or LMDB's abort() on a page it cannot make
         * sense of, ends it at once by the signal. The handlers it inherited
         * (a sanitizer's or fuzzer's crash report, which symbolizes, writes
         * files and may wait on locks a forked child cannot take) are not
         * for it; the fault guard is installed afresh over the default. */
        static const int fatal[] = {SIGSEGV, SIGBUS, SIGABRT, SIGILL, SIGFPE};
        for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++) {
            signal(fatal[i], SIG_DFL);
        }
        handler_on = 0;
        store *s;
        uint64_t n = 0;
        /* the trees first: LMDB reads a page only once the walk found it whole */
        int rc = store_check_pages(path, report, ctx, &n);
        if (rc == 0 && n) {
            char m[1200];
            snprintf(m, sizeof m,
                     _("%s is damaged: the pages above do not make whole trees, so its records "
                       "were not read (LMDB could stop or loop on them). Restore the database "
                       "from a backup (gonghui backup makes them)"),
                     path);
            report(ctx, m);
            n++;
        } else if (rc == 0 && (rc = store_open(path, 0, &s)) == 0) {
            rc = store_check(s, report, ctx, &n);
        }
        if (rc) {
            char m[1200];
            snprintf(m, sizeof m, "%s", err_msg(rc));
            if (rc == GH_ENOTDB || rc == GH_EVERSION) {
                fprintf(stderr, "%s\n", m);
                fflush(NULL);
                _exit(3);
            }
            report(ctx, m);
            n++;
        }
        fflush(NULL);
        ssize_t w = write(fds[1], &n, sizeof n); /* the count, for the caller */
        (void)w;
        _exit(n ? 1 : 0);
    }
    close(fds[1]);
    uint64_t n = 0;
    ssize_t got = read(fds[0], &n, sizeof n);
    close(fds[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR) {
            return err_set(GH_EIO, _("the check was lost: %s"), strerror(errno));
        }
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
        return 0;
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) == 3) {
        return err_set(GH_ENOTDB, _("%s cannot be checked (see above)"), path);
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) == 1 && got == (ssize_t)sizeof n) {
        *problems = n;
        return 0;
    }
    char m[1200];
    if (WIFSIGNALED(st)) {
        snprintf(m, sizeof m,
                 _("%s is damaged: reading it failed with %s (a page cut off or overwritten). "
                   "Restore the database from a backup (gonghui backup makes them)"),
                 path, strsignal(WTERMSIG(st)));
    } else {
        snprintf(m, sizeof m,
                 _("%s is damaged: reading it touched a page that is not there. Restore the "
                   "database from a backup (gonghui backup makes them)"),
                 path);
    }
    report(ctx, m);
    *problems = 1;
    return 0;
}

int store_backup(store *s, const char *dest) {
    struct stat st;
    int has_data = 0, has_other = 0, made = 0;
    if (stat(dest, &st) == 0) {
        if (!S_ISDIR(st.st_mode)) {
            return err_set(GH_EINVAL, _("backup destination %s is a file; give a new directory"),
                           dest);
        }
        store_dir_state(dest, &has_data, &has_other);
        if (has_data || has_other) {
            return err_set(GH_EEXISTS,
                           _("backup destination %s is not empty; give a new or empty directory"),
                           dest);
        }
    } else if (mkdir(dest, 0700) != 0) {
        return err_set(GH_EIO, _("cannot create %s: %s"), dest, strerror(errno));
    } else {
        made = 1;
    }
    char dp[4200];
    snprintf(dp, sizeof dp, "%s/data.mdb", dest);
    snprintf(store_disk_dir, sizeof store_disk_dir, "%s", dest);
    int rc = mdb_env_copy2(s->env, dest, MDB_CP_COMPACT);
    int e = rc ? store_lmdb_err(rc, "backup") : 0;
    snprintf(store_disk_dir, sizeof store_disk_dir, "%s", s->path);
    if (rc == 0) {
        chmod(dp, 0600);
        return 0;
    }
    /* no half copy, no empty file that looks like a backup */
    unlink(dp);
    if (made) {
        rmdir(dest);
    }
    return e;
}

int store_stat_of(store_txn *t, const store_coll *c, int index, store_stat *out) {
    MDB_stat st;
    int rc = mdb_stat(t->txn, index < 0 ? c->dbi : c->indexes[index].dbi, &st);
    if (rc) {
        return store_lmdb_err(rc, c->name);
    }
    out->entries = st.ms_entries;
    out->bytes =
        (uint64_t)st.ms_psize * (st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages);
    out->depth = st.ms_depth;
    return 0;
}

int store_file_info(store *s, uint64_t *file_bytes, uint64_t *map_bytes) {
    MDB_envinfo info;
    MDB_stat st;
    mdb_env_info(s->env, &info);
    mdb_env_stat(s->env, &st);
    *file_bytes = (uint64_t)(info.me_last_pgno + 1) * st.ms_psize;
    *map_bytes = info.me_mapsize;
    return 0;
}

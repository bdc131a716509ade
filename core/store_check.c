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
        why = "shorter than its first page";
    } else if (rd32(pg[0] + META_MAGIC) != MDB_MAGIC_V) {
        why = "its first page is not an LMDB meta page";
    } else if (rd32(pg[0] + META_VERSION) != 1) {
        why = "an LMDB format this gonghui does not read";
    } else if ((ps = rd32(pg[0] + META_PSIZE)) < 512 || ps > 65536 || (ps & (ps - 1))) {
        why = "its page size is damaged";
    } else if (pread(fd, pg[1], sizeof pg[1], ps) != (ssize_t)sizeof pg[1]) {
        why = "shorter than its two meta pages";
    } else {
        int m0 = rd32(pg[1] + META_MAGIC) == MDB_MAGIC_V && rd32(pg[1] + META_VERSION) == 1;
        /* LMDB uses the meta page with the larger transaction id */
        const unsigned char *m =
            m0 && rd64(pg[1] + META_TXNID) > rd64(pg[0] + META_TXNID) ? pg[1] : pg[0];
        uint64_t last = rd64(m + META_LAST_PG), root = rd64(m + META_MAIN_ROOT);
        if (named) {
            *named = rd64(m + META_MAIN_ENTRIES);
        }
        uint64_t pages = (uint64_t)st.st_size / ps;
        if (last + 1 > pages) {
            why = "cut short: it ends before its last page (truncated, or a copy that did not "
                  "finish)";
        } else if (root != ~(uint64_t)0 && (root < 2 || root > last)) {
            why = "its root page is out of place";
        }
    }
    close(fd);
    if (why) {
        rc = err_set(GH_ECORRUPT,
                     _("%s is damaged (data.mdb: %s). Nothing was read or written. Run gonghui "
                       "--db %s check to see more, and restore the database from a backup "
                       "(gonghui backup makes them)"),
                     dir, why, dir);
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
        store *s;
        uint64_t n = 0;
        int rc = store_open(path, 0, &s);
        if (rc == 0) {
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

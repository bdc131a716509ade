/*
 * store.c — the LMDB store (see store.h for the layout and the states).
 *
 * Called by lua_store.c and main.c; calls LMDB, codec.c and schema.c.
 *
 * Invariants:
 *  1. A record, its index entries and its definition change in one LMDB
 *     transaction, or not at all: store_put() checks every unique index
 *     before it writes anything, and any failure after the first write makes
 *     the caller abort the transaction (LMDB rolls everything back).
 *  2. Index entries exist exactly for records whose index fields are all
 *     non-nil: key = tuple(fields), value = primary key.
 *  3. The cached definitions match the database's "gen" counter as of the
 *     snapshot that last checked it; a write transaction always checks, so
 *     a definition changed by another process is seen before we write.
 *  4. DBI handles opened inside a write transaction that aborts are closed
 *     by LMDB, so such an abort drops the cache (reloaded on next use).
 *  5. Only one thread uses a store; the environment is opened MDB_NOTLS so
 *     one thread may hold several read transactions (a scan and a lookup).
 *  6. A store_coll pointer handed out stays valid memory until store_close:
 *     definitions that leave the cache are retired, not freed, so a scan or
 *     a row resolved before a redefinition (or a rolled-back one) still
 *     reads with the layout its records were written in.
 *  7. store_put writes through cursors the transaction keeps open (wput),
 *     one per table, so consecutive rows skip the descents from the root.
 *     They are closed before the transaction ends, before a savepoint
 *     begins in it (its writes would leave them on stale pages), and before
 *     any write that does not go through them (store_delete, store_define,
 *     store_drop, store_put's undo): every write to a table while such a
 *     cursor is open goes through it.
 *  8. A non-unique index of a collection whose key is an integer or a number
 *     (always STORE_PK_FIXED bytes encoded) is created MDB_DUPFIXED: its
 *     values, the primary keys, are packed side by side in the duplicate
 *     pages. LMDB keeps the flags a table was created with, so indexes made
 *     before (plain MDB_DUPSORT) keep working; store_put checks the key size
 *     before writing to a DUPFIXED index.
 */
#include "store.h"

#include "clock.h"
#include "codec.h"
#include "err.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <dirent.h>
#include <fcntl.h>
#include <lmdb.h>
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

#define STORE_MAX_DBS                                                                              \
    1024 /* LMDB zeroes per-handle state of this size in every (nested) transaction */
#define STORE_DEFAULT_MAP ((size_t)4 << 30)
#define STORE_READ_POOL 4
#define STORE_WCURSORS 16      /* write cursors a transaction keeps open (invariant 7) */
#define STORE_INLINE_INDEXES 8 /* store_put keeps the index keys of this many on the stack */
#define STORE_PK_FIXED 9       /* encoded size of an integer or number key (codec.h) */

struct store {
    MDB_env *env;
    char *path;
    MDB_dbi meta;
    unsigned char db_id[16];
    int lockfd;
    int flags;
    void *map_lo;       /* where its map starts, as noted for the fault handler */
    int readonly;       /* opened MDB_RDONLY: the user cannot write data.mdb */
    char *refuse_write; /* store_refuse_writes: why write transactions are refused */
    /* definitions cache */
    store_coll **colls;
    int ncolls;
    store_coll *retired;  /* replaced definitions, kept until store_close (invariant 6),
                          * linked through retired_next: retiring never allocates */
    uint64_t gen;         /* the database's "gen" the cache reflects */
    uint64_t local_gen;   /* bumped whenever the cache changes */
    size_t checked_txnid; /* snapshot at which gen was last compared; 0 = never */
    int cache_valid;
    /* reset read transactions ready for renewal */
    MDB_txn *pool[STORE_READ_POOL];
    int npool;
    int nreaders; /* read transactions open now */
    store_txn *wtxn;
};

struct store_txn {
    store *s;
    MDB_txn *txn;
    store_txn *parent;
    int write;
    uint64_t writes;
    int defs_touched;
    int defs_synced;      /* a write transaction compared "gen" once: no one else can change it */
    store_scan *scans;    /* open scans, invalidated when the transaction ends */
    store_counts *counts; /* writes per collection (names owned) */
    int ncounts;
    /* Write cursors kept open across store_put calls (invariant 7). */
    struct {
        MDB_dbi dbi;
        MDB_cursor *cur;
        int at_end; /* the last write through it appended: it sits on the last record */
    } wcur[STORE_WCURSORS];
    int nwcur;
};

struct store_scan {
    store_txn *t;
    const store_coll *c;
    int index;
    MDB_cursor *cur;
    codec_buf lo, hi, prefix, pk;
    int reverse, started, done, prefix_whole;
    MDB_val rec;
    store_scan *next;
};

/* The folder of the database being written, for the full-disk message. */
static char disk_dir[4096];

static int lmdb_err(int rc, const char *what) {
    if ((rc == EIO || rc == ENOSPC || rc == EDQUOT) && disk_dir[0]) {
        /* LMDB says EIO for a short write (its pwrite got part of a page
         * in): on a full disk that is the cause, so say so */
        struct statvfs vf;
        if (rc != EIO || (statvfs(disk_dir, &vf) == 0 &&
                          (uint64_t)vf.f_bavail * vf.f_frsize < ((uint64_t)1 << 20))) {
            return err_set(GH_EIO,
                           _("%s: the disk holding %s is full (%s); nothing half-written was "
                             "kept: free some space and run the command again"),
                           what, disk_dir, rc == EDQUOT ? "over quota" : "no space left");
        }
    }
    if (rc == MDB_MAP_FULL) {
        return err_set(GH_EMAPFULL, _("%s: the database map is full"), what);
    }
    if (rc == ENOMEM) {
        return err_set(GH_ENOMEM, _("%s: out of memory"), what);
    }
    if (rc == MDB_CORRUPTED || rc == MDB_PAGE_NOTFOUND || rc == MDB_INVALID) {
        return err_set(GH_ECORRUPT, "%s: %s", what, mdb_strerror(rc));
    }
    return err_set(GH_ELMDB, "%s: %s", what, mdb_strerror(rc));
}

/* ---- opening ---------------------------------------------------------------------- */

static int dir_state(const char *path, int *has_data, int *has_other) {
    DIR *d = opendir(path);
    if (!d) {
        return -1;
    }
    struct dirent *e;
    *has_data = *has_other = 0;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) {
            continue;
        }
        if (!strcmp(e->d_name, "data.mdb")) {
            *has_data = 1;
        } else if (strcmp(e->d_name, "lock.mdb") && strcmp(e->d_name, "gonghui.lock")) {
            *has_other = 1;
        }
    }
    closedir(d);
    return 0;
}

static int meta_get_u64(MDB_txn *txn, MDB_dbi meta, const char *name, uint64_t *v) {
    MDB_val k = {strlen(name), (void *)name}, d;
    int rc = mdb_get(txn, meta, &k, &d);
    if (rc) {
        return rc;
    }
    if (d.mv_size != 8) {
        return MDB_CORRUPTED;
    }
    memcpy(v, d.mv_data, 8);
    return 0;
}

static int meta_put_u64(MDB_txn *txn, MDB_dbi meta, const char *name, uint64_t v) {
    MDB_val k = {strlen(name), (void *)name}, d = {8, &v};
    return mdb_put(txn, meta, &k, &d, 0);
}

/* Creates _meta in a new environment, or checks the one there. */
static int init_meta(store *s, int fresh) {
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, fresh ? 0 : MDB_RDONLY, &txn);
    if (rc) {
        return lmdb_err(rc, s->path);
    }
    rc = mdb_dbi_open(txn, "_meta", fresh ? MDB_CREATE : 0, &s->meta);
    if (rc == MDB_NOTFOUND) {
        /* An environment with nothing in it is a database whose creation
         * was interrupted (killed before its first commit): make it now. */
        MDB_dbi main;
        MDB_stat st;
        int empty = mdb_dbi_open(txn, NULL, 0, &main) == 0 && mdb_stat(txn, main, &st) == 0 &&
                    st.ms_entries == 0;
        mdb_txn_abort(txn);
        if (empty && (s->flags & STORE_CREATE)) {
            return init_meta(s, 1);
        }
        if (empty) {
            return err_set(GH_ENOTDB,
                           _("%s holds an empty LMDB environment, not a gonghui database (a run "
                             "that created it was interrupted?); gonghui run makes it a database"),
                           s->path);
        }
        return err_set(GH_ENOTDB,
                       _("%s holds an LMDB database that is not a gonghui database "
                         "(it has no _meta table); give another --db directory"),
                       s->path);
    }
    if (rc) {
        goto fail;
    }
    uint64_t fmt;
    if (fresh) {
        if (getrandom(s->db_id, sizeof s->db_id, 0) != (ssize_t)sizeof s->db_id) {
            for (size_t i = 0; i < sizeof s->db_id; i++) { /* fall back: time and pid */
                s->db_id[i] = (unsigned char)((uint64_t)time(NULL) * 2654435761u >> (i % 8) ^
                                              (unsigned)getpid() >> (i % 3));
            }
        }
        MDB_val k = {5, "db_id"}, d = {sizeof s->db_id, s->db_id};
        if ((rc = meta_put_u64(txn, s->meta, "format", STORE_FORMAT)) ||
            (rc = meta_put_u64(txn, s->meta, "gen", 1)) ||
            (rc = mdb_put(txn, s->meta, &k, &d, 0))) {
            goto fail;
        }
        if ((rc = mdb_txn_commit(txn))) {
            return lmdb_err(rc, s->path);
        }
        return 0;
    }
    rc = meta_get_u64(txn, s->meta, "format", &fmt);
    if (rc) {
        mdb_txn_abort(txn);
        return err_set(GH_ENOTDB, _("%s is not a gonghui database (no format version)"), s->path);
    }
    if (fmt > STORE_FORMAT) {
        mdb_txn_abort(txn);
        return err_set(GH_EVERSION,
                       _("%s was written by a newer gonghui (format %llu; this gonghui reads up "
                         "to %d); upgrade gonghui to open it"),
                       s->path, (unsigned long long)fmt, STORE_FORMAT);
    }
    MDB_val k = {5, "db_id"}, d;
    if (mdb_get(txn, s->meta, &k, &d) == 0 && d.mv_size == sizeof s->db_id) {
        memcpy(s->db_id, d.mv_data, sizeof s->db_id);
    }
    mdb_txn_commit(txn); /* a committed read txn keeps the _meta handle open */
    return 0;
fail:
    mdb_txn_abort(txn);
    return lmdb_err(rc, s->path);
}

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
#define META_PSIZE 40 /* mm_dbs[FREE_DBI].md_pad holds the page size */
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

/* 0 if data.mdb in dir looks whole (or is missing/empty: a new database),
 * else GH_ECORRUPT with what is wrong. */
static int check_meta(const char *dir) {
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

static volatile uintptr_t lmdb_lo, lmdb_hi; /* liblmdb's code */

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
    int in_lmdb = lmdb_lo && pc >= lmdb_lo && pc < lmdb_hi;
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

static void map_note(store *s, int add) {
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
        FILE *f = fopen("/proc/self/maps", "r");
        char line[4600];
        while (f && fgets(line, sizeof line, f)) {
            unsigned long a, b;
            char perm[8];
            if (strstr(line, "/liblmdb.") && sscanf(line, "%lx-%lx %7s", &a, &b, perm) == 3 &&
                perm[2] == 'x') {
                lmdb_lo = (uintptr_t)a;
                lmdb_hi = (uintptr_t)b;
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

int store_open(const char *path, int flags, store **out) {
    struct stat st;
    int fresh = 0, has_data = 0, has_other = 0;
    err_clear();
    if (stat(path, &st) != 0) {
        if (!(flags & STORE_CREATE)) {
            return err_set(GH_ENOTDB, _("no database at %s (give --db DIR, or set GONGHUI_DB)"),
                           path);
        }
        if (mkdir(path, 0700) != 0) { /* personal data: the owner's alone (class 12) */
            return err_set(GH_EIO, _("cannot create database directory %s: %s"), path,
                           strerror(errno));
        }
        fresh = 1;
    } else if (!S_ISDIR(st.st_mode)) {
        return err_set(GH_ENOTDB,
                       _("%s is a file, not a gonghui database (a database is a directory)"), path);
    } else {
        if (dir_state(path, &has_data, &has_other) != 0) {
            return err_set(GH_EIO, _("cannot read %s: %s"), path, strerror(errno));
        }
        if (!has_data && has_other) {
            return err_set(GH_ENOTDB,
                           _("%s is not a gonghui database: it holds other files but no data.mdb"),
                           path);
        }
        if (!has_data) {
            if (!(flags & STORE_CREATE)) {
                return err_set(GH_ENOTDB, _("no database in %s (the directory is empty)"), path);
            }
            fresh = 1;
        }
    }
    if (!fresh) {
        int crc = check_meta(path);
        if (crc) {
            return crc;
        }
    }
    /* a database the user may read but not write (a copy on a CD, a
     * colleague's folder): open it read-only, and without the lock file
     * when that cannot be written either */
    unsigned envflags = MDB_NOTLS;
    {
        char dp[4200];
        snprintf(dp, sizeof dp, "%s/data.mdb", path);
        if (!fresh && access(dp, W_OK) != 0 && (errno == EACCES || errno == EROFS)) {
            envflags |= MDB_RDONLY;
            snprintf(dp, sizeof dp, "%s/lock.mdb", path);
            if (access(dp, W_OK) != 0 && errno != ENOENT) {
                envflags |= MDB_NOLOCK;
            } else if (errno == ENOENT && access(path, W_OK) != 0) {
                envflags |= MDB_NOLOCK;
            }
        }
    }
    store *s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path))) {
        free(s);
        return GH_ENOMEM;
    }
    s->flags = flags;
    snprintf(disk_dir, sizeof disk_dir, "%s", path);
    s->lockfd = -1;
    int rc = mdb_env_create(&s->env);
    if (rc) {
        free(s->path);
        free(s);
        return lmdb_err(rc, path);
    }
    size_t map = STORE_DEFAULT_MAP;
    const char *ms = getenv("GONGHUI_MAP_SIZE");
    if (ms && *ms) {
        map = (size_t)strtoull(ms, NULL, 10);
    }
    if (!fresh && (size_t)st.st_size > 0) {
        char dp[4096];
        struct stat dst;
        snprintf(dp, sizeof dp, "%s/data.mdb", path);
        if (stat(dp, &dst) == 0 && (size_t)dst.st_size * 2 > map) {
            map = (size_t)dst.st_size * 2;
        }
    }
    mdb_env_set_maxdbs(s->env, STORE_MAX_DBS);
    mdb_env_set_mapsize(s->env, map);
    rc = mdb_env_open(s->env, path, envflags, 0600);
    if (rc == EACCES && (envflags & MDB_RDONLY)) {
        rc = mdb_env_open(s->env, path, envflags | MDB_NOLOCK, 0600);
    }
    if (rc) {
        int code = rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH ? GH_ENOTDB : GH_ELMDB;
        err_set(code, _("%s: cannot open: %s"), path, mdb_strerror(rc));
        goto fail;
    }
    map_note(s, 1);
    s->readonly = (envflags & MDB_RDONLY) != 0;
    int dead = 0;
    if (!(envflags & MDB_NOLOCK)) {
        mdb_reader_check(s->env, &dead);
    }
    if ((rc = init_meta(s, fresh))) {
        goto fail;
    }
    char lp[4096];
    snprintf(lp, sizeof lp, "%s/gonghui.lock", path);
    s->lockfd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (s->lockfd < 0 && errno != EACCES && errno != EROFS) {
        err_set(GH_EIO, _("cannot open %s: %s"), lp, strerror(errno));
        rc = GH_EIO;
        goto fail;
    }
    *out = s;
    return 0;
fail:
    map_note(s, 0);
    mdb_env_close(s->env);
    if (s->lockfd >= 0) {
        close(s->lockfd);
    }
    free(s->path);
    free(s);
    return rc < 0 ? rc : GH_ELMDB;
}

/* Keeps a definition that leaves the cache alive until store_close. */
static void retire(store *s, store_coll *c) {
    c->retired_next = s->retired;
    s->retired = c;
}

static void cache_drop(store *s) {
    for (int i = 0; i < s->ncolls; i++) {
        retire(s, s->colls[i]);
    }
    free(s->colls);
    s->colls = NULL;
    s->ncolls = 0;
    s->cache_valid = 0;
    s->checked_txnid = 0;
    s->local_gen++;
}

void store_close(store *s) {
    if (!s) {
        return;
    }
    for (int i = 0; i < s->npool; i++) {
        mdb_txn_abort(s->pool[i]);
    }
    cache_drop(s);
    while (s->retired) {
        store_coll *next = s->retired->retired_next;
        store_coll_free(s->retired);
        s->retired = next;
    }
    map_note(s, 0);
    mdb_env_close(s->env);
    if (s->lockfd >= 0) {
        close(s->lockfd);
    }
    free(s->refuse_write);
    free(s->path);
    free(s);
}

int store_grow(store *s) {
    MDB_envinfo info;
    if (s->wtxn || s->nreaders) {
        return err_set(GH_EMAPFULL,
                       _("the database map is full and cannot grow while a read is open in this "
                         "process; finish the loop over the records before writing so much"));
    }
    mdb_env_info(s->env, &info);
    int rc = mdb_env_set_mapsize(s->env, info.me_mapsize * 2);
    map_note(s, 1); /* the map moved */
    return rc ? lmdb_err(rc, "growing the map") : 0;
}

const unsigned char *store_db_id(const store *s) {
    return s->db_id;
}

int store_readonly(const store *s) {
    return s->readonly;
}

int store_lock_name(store *s, const char *name) {
    if (s->lockfd < 0) {
        return 0;
    }
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        h = (h ^ *p) * 1099511628211ULL;
    }
    /* bytes from 1 MiB on: the first bytes of the file hold the writer's pid */
    struct flock fl = {.l_type = F_WRLCK,
                       .l_whence = SEEK_SET,
                       .l_start = (off_t)((1ULL << 20) + (h & ((1ULL << 40) - 1))),
                       .l_len = 1};
    if (fcntl(s->lockfd, F_OFD_SETLK, &fl) == 0) {
        return 0;
    }
    if (errno == EAGAIN || errno == EACCES) {
        return err_set(GH_EBUSY, _("%s is locked by another process"), name);
    }
    return err_set(GH_EIO, _("cannot lock %s: %s"), name, strerror(errno));
}

const char *store_path(const store *s) {
    return s->path;
}

uint64_t store_generation(const store *s) {
    return s->local_gen;
}

/* ---- definitions cache ------------------------------------------------------------- */

/* Is every primary key of c STORE_PK_FIXED bytes encoded? */
static int pk_fixed(const store_coll *c) {
    int ty = c->fields[c->key].type;
    return ty == FT_INT || ty == FT_FEN || ty == FT_NUMBER;
}

/* A unique index holds one primary key per index key: a plain table (one
 * descent, no duplicate bookkeeping); others keep sorted duplicates, packed
 * when the keys are all one size (invariant 8). */
static unsigned index_flags(const store_coll *c, const store_index *ix) {
    return ix->unique ? 0 : pk_fixed(c) ? MDB_DUPSORT | MDB_DUPFIXED : MDB_DUPSORT;
}

static int open_dbis(MDB_txn *txn, store_coll *c, int create) {
    char name[512];
    snprintf(name, sizeof name, "c:%s", c->name);
    int rc = mdb_dbi_open(txn, name, create ? MDB_CREATE : 0, &c->dbi);
    if (rc) {
        return rc;
    }
    for (int i = 0; i < c->nindexes; i++) {
        snprintf(name, sizeof name, "i:%s:%s", c->name, c->indexes[i].name);
        store_index *ix = &c->indexes[i];
        unsigned have = 0;
        rc = mdb_dbi_open(txn, name, index_flags(c, ix) | (create ? MDB_CREATE : 0), &ix->dbi);
        if (rc == 0) { /* the flags it was made with (invariant 8) */
            rc = mdb_dbi_flags(txn, ix->dbi, &have);
        }
        if (rc) {
            return rc;
        }
        ix->dupfixed = (have & MDB_DUPFIXED) != 0;
    }
    return 0;
}

/* Loads every definition visible in `txn` into the cache. */
static int load_defs(store *s, MDB_txn *txn) {
    MDB_cursor *cur;
    MDB_val k = {4, "def:"}, d;
    cache_drop(s);
    int rc = mdb_cursor_open(txn, s->meta, &cur);
    if (rc) {
        return lmdb_err(rc, "reading definitions");
    }
    rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE);
    while (rc == 0 && k.mv_size > 4 && memcmp(k.mv_data, "def:", 4) == 0) {
        store_coll *c;
        int e = store_def_decode(d.mv_data, d.mv_size, &c);
        if (e) {
            mdb_cursor_close(cur);
            err_prefix(_("definition of '%.*s'"), (int)k.mv_size - 4, (char *)k.mv_data + 4);
            return e;
        }
        if ((rc = open_dbis(txn, c, 0)) != 0) {
            store_coll_free(c);
            mdb_cursor_close(cur);
            return lmdb_err(rc, "opening a collection");
        }
        store_coll **n = realloc(s->colls, (size_t)(s->ncolls + 1) * sizeof *n);
        if (!n) {
            store_coll_free(c);
            mdb_cursor_close(cur);
            return GH_ENOMEM;
        }
        s->colls = n;
        s->colls[s->ncolls++] = c;
        rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    if (rc && rc != MDB_NOTFOUND) {
        return lmdb_err(rc, "reading definitions");
    }
    uint64_t gen = 0;
    meta_get_u64(txn, s->meta, "gen", &gen);
    s->gen = gen;
    s->cache_valid = 1;
    s->local_gen++;
    return 0;
}

/* Makes the cache current for transaction t (invariant 3). */
static int sync_defs(store_txn *t) {
    store *s = t->s;
    size_t id = mdb_txn_id(t->txn);
    if (s->cache_valid && (t->write ? t->defs_synced : id == s->checked_txnid)) {
        return 0;
    }
    uint64_t gen = 0;
    int rc = meta_get_u64(t->txn, s->meta, "gen", &gen);
    if (rc && rc != MDB_NOTFOUND) {
        return lmdb_err(rc, "reading definitions");
    }
    if (!s->cache_valid || gen != s->gen) {
        if (t->write) {
            t->defs_touched = 1;
            for (store_txn *p = t; p; p = p->parent) {
                p->defs_touched = 1;
            }
            rc = load_defs(s, t->txn);
        } else {
            /* A separate read transaction, committed so the handles stay open. */
            MDB_txn *txn;
            rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
            if (rc) {
                return lmdb_err(rc, "reading definitions");
            }
            rc = load_defs(s, txn);
            mdb_txn_commit(txn);
            /* A transaction sees only the handles open when it began: start
             * t again so it sees the ones just opened (nothing read yet). */
            if (rc == 0 && !t->scans) {
                mdb_txn_reset(t->txn);
                rc = mdb_txn_renew(t->txn);
                if (rc) {
                    return lmdb_err(rc, "reading definitions");
                }
                id = mdb_txn_id(t->txn);
            }
        }
        if (rc) {
            return rc;
        }
    }
    s->checked_txnid = id;
    t->defs_synced = t->write;
    return 0;
}

int store_sync(store_txn *t) {
    return sync_defs(t);
}

int store_coll_get(store_txn *t, const char *name, const store_coll **out) {
    int rc = sync_defs(t);
    if (rc) {
        return rc;
    }
    for (int i = 0; i < t->s->ncolls; i++) {
        if (strcmp(t->s->colls[i]->name, name) == 0) {
            *out = t->s->colls[i];
            return 0;
        }
    }
    /* gonghui's own collections (_events ...) are looked for on every start
     * and are often absent: that is no message for a person, and translating
     * it would bind the catalog (~0.5 ms) on an empty `gonghui run` */
    return err_set(GH_ENOTFOUND,
                   name[0] == '_' ? "no collection named '%s'" : _("no collection named '%s'"),
                   name); /* i18n: ok (shown only through err_msg, which translates) */
}

static int cmp_coll_names(const void *a, const void *b) {
    return strcmp((*(store_coll *const *)a)->name, (*(store_coll *const *)b)->name);
}

int store_list(store_txn *t, char **names) {
    int rc = sync_defs(t);
    if (rc) {
        return rc;
    }
    size_t n = 1;
    for (int i = 0; i < t->s->ncolls; i++) {
        n += strlen(t->s->colls[i]->name) + 1;
    }
    if (t->s->ncolls > 1) {
        qsort(t->s->colls, (size_t)t->s->ncolls, sizeof *t->s->colls, cmp_coll_names);
    }
    char *z = malloc(n), *p = z;
    if (!z) {
        return GH_ENOMEM;
    }
    for (int i = 0; i < t->s->ncolls; i++) {
        size_t l = strlen(t->s->colls[i]->name) + 1;
        memcpy(p, t->s->colls[i]->name, l);
        p += l;
    }
    *p = 0;
    *names = z;
    return 0;
}

/* ---- transactions ------------------------------------------------------------------- */

/* Closes the write cursors t keeps (invariant 7). */
static void wcur_forget(store_txn *t) {
    for (int i = 0; i < t->nwcur; i++) {
        mdb_cursor_close(t->wcur[i].cur);
    }
    t->nwcur = 0;
}

/* The slot of t's write cursor on dbi, opened on first use; -1 when t keeps
 * STORE_WCURSORS already or LMDB cannot open one (the caller uses mdb_put). */
static int wcur_slot(store_txn *t, MDB_dbi dbi) {
    for (int i = 0; i < t->nwcur; i++) {
        if (t->wcur[i].dbi == dbi) {
            return i;
        }
    }
    if (t->nwcur == STORE_WCURSORS || mdb_cursor_open(t->txn, dbi, &t->wcur[t->nwcur].cur) != 0) {
        return -1;
    }
    t->wcur[t->nwcur].dbi = dbi;
    t->wcur[t->nwcur].at_end = 0;
    return t->nwcur++;
}

/* mdb_put through t's cursor on dbi: a cursor that stays open keeps its
 * place, so an append after an append needs no descent from the root, and
 * a key on the leaf page the cursor is on needs none either. LMDB's append
 * trusts a cursor that appended last to sit on the last record, so a cursor
 * that wrote anywhere else since is replaced by a fresh one first. */
static int wput(store_txn *t, MDB_dbi dbi, MDB_val *k, MDB_val *d, unsigned flags) {
    int i = wcur_slot(t, dbi);
    if (i < 0) {
        return mdb_put(t->txn, dbi, k, d, flags);
    }
    if ((flags & MDB_APPEND) && !t->wcur[i].at_end) {
        mdb_cursor_close(t->wcur[i].cur);
        if (mdb_cursor_open(t->txn, dbi, &t->wcur[i].cur) != 0) {
            t->wcur[i] = t->wcur[--t->nwcur];
            return mdb_put(t->txn, dbi, k, d, flags);
        }
    }
    int rc = mdb_cursor_put(t->wcur[i].cur, k, d, flags);
    t->wcur[i].at_end = rc == 0 && (flags & MDB_APPEND);
    return rc;
}

static int (*wait_abort)(void); /* store_set_wait_abort */

void store_set_wait_abort(int (*fn)(void)) {
    wait_abort = fn;
}

/* Takes the writer lock file, saying who we wait for if it takes long; 0,
 * or GH_EBUSY when the wait was stopped (store_set_wait_abort). A blocking
 * flock would sit through --timeout and Ctrl-C until the watchdog ended the
 * process blaming a string pattern (issue 16, class 13): so it polls. */
static int writer_lock(store *s) {
    if (s->lockfd < 0 || flock(s->lockfd, LOCK_EX | LOCK_NB) == 0) {
        goto locked;
    }
    /* quietly for STORE_WAIT_QUIET_MS of the monotonic clock, not a count of
     * naps: on a loaded machine each nap oversleeps */
    struct timespec nap = {0, 20 * 1000 * 1000};
    double t0 = clock_mono_s();
    for (;;) {
        nanosleep(&nap, NULL);
        if (flock(s->lockfd, LOCK_EX | LOCK_NB) == 0) {
            goto locked;
        }
        if (wait_abort && wait_abort()) {
            return err_set(GH_EBUSY,
                           _("stopped while waiting for another process writing to %s; "
                             "nothing was written"),
                           s->path);
        }
        if ((clock_mono_s() - t0) * 1000 >= STORE_WAIT_QUIET_MS) {
            break;
        }
    }
    char pid[32] = "";
    ssize_t n = pread(s->lockfd, pid, sizeof pid - 1, 0);
    pid[n > 0 ? n : 0] = 0;
    pid[strcspn(pid, "\n")] = 0;
    fprintf(stderr, _("gonghui: waiting for another process (pid %s) that is writing to %s...\n"),
            pid[0] ? pid : "?", s->path);
    for (;;) {
        if (flock(s->lockfd, LOCK_EX | LOCK_NB) == 0) {
            break;
        }
        if (wait_abort && wait_abort()) {
            fprintf(stderr,
                    _("gonghui: stopped while waiting; the other process (pid %s) is still "
                      "writing\n"),
                    pid[0] ? pid : "?");
            return err_set(GH_EBUSY,
                           _("stopped while waiting for process %s, which is writing to %s; "
                             "nothing was written"),
                           pid[0] ? pid : "?", s->path);
        }
        nanosleep(&nap, NULL);
    }
    fprintf(stderr, _("gonghui: the other writer finished; going on\n"));
locked:
    if (s->lockfd >= 0) {
        char me[32];
        int n2 = snprintf(me, sizeof me, "%d\n", (int)getpid());
        if (ftruncate(s->lockfd, 0) == 0 && pwrite(s->lockfd, me, (size_t)n2, 0) < 0) {
            /* the pid is a courtesy for waiting processes; the lock holds anyway */
        }
    }
    return 0;
}

static void writer_unlock(store *s) {
    if (s->lockfd >= 0) {
        flock(s->lockfd, LOCK_UN);
    }
}

/* Doubles the map while the data takes more than half of it, when no
 * transaction of this process is open (the only time it may move), so a
 * transaction rarely meets a full map and has to be redone. */
static void grow_ahead(store *s) {
    MDB_envinfo info;
    MDB_stat st;
    if (s->wtxn || s->nreaders || mdb_env_info(s->env, &info) || mdb_env_stat(s->env, &st)) {
        return;
    }
    size_t used = (info.me_last_pgno + 1) * (size_t)st.ms_psize, map = info.me_mapsize;
    if (used <= map / 2) {
        return;
    }
    while (used > map / 2 && map < SIZE_MAX / 4) {
        map *= 2;
    }
    mdb_env_set_mapsize(s->env, map);
}

void store_refuse_writes(store *s, const char *why) {
    free(s->refuse_write);
    s->refuse_write = why ? strdup(why) : NULL;
}

int store_txn_begin(store *s, store_txn *parent, int write, store_txn **out) {
    if (write && !parent && s->refuse_write) {
        /* every write path (records, events, checkpoints, plugins) comes here */
        return err_set(GH_EINVAL, "%s", s->refuse_write);
    }
    store_txn *t = calloc(1, sizeof *t);
    int rc;
    if (!t) {
        return GH_ENOMEM;
    }
    t->s = s;
    t->parent = parent;
    t->write = write || parent;
    if (parent) {
        if (!parent->write) {
            free(t);
            return err_set(GH_ETXN, _("a savepoint needs a write transaction"));
        }
        wcur_forget(parent); /* invariant 7 */
        rc = mdb_txn_begin(s->env, parent->txn, 0, &t->txn);
        t->defs_synced = parent->defs_synced;
    } else if (write) {
        if (s->wtxn) {
            free(t);
            return err_set(GH_ETXN, _("a write transaction is already open"));
        }
        if (s->flags & STORE_RDONLY) {
            free(t);
            return err_set(GH_EINVAL, _("the database is open read-only"));
        }
        if ((rc = writer_lock(s)) != 0) {
            free(t);
            return rc;
        }
        grow_ahead(s);
        rc = mdb_txn_begin(s->env, NULL, 0, &t->txn);
        if (rc == MDB_MAP_RESIZED) { /* another process grew the map */
            mdb_env_set_mapsize(s->env, 0);
            rc = mdb_txn_begin(s->env, NULL, 0, &t->txn);
        }
        if (rc) {
            writer_unlock(s);
        } else {
            s->wtxn = t;
        }
    } else {
        if (!s->nreaders) {
            grow_ahead(s);
        }
        if (s->npool) {
            t->txn = s->pool[--s->npool];
            rc = mdb_txn_renew(t->txn);
            if (rc) {
                mdb_txn_abort(t->txn);
            }
        } else {
            rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &t->txn);
        }
        if (rc == MDB_MAP_RESIZED) {
            mdb_env_set_mapsize(s->env, 0);
            rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &t->txn);
        }
        if (rc == 0) {
            s->nreaders++;
        }
    }
    if (rc) {
        free(t);
        return lmdb_err(rc, "beginning a transaction");
    }
    *out = t;
    return 0;
}

/* The counts entry of collection `name` in t, made if missing (NULL when
 * out of memory: counting is best effort, never a reason to fail a write). */
static store_counts *count_of(store_txn *t, const char *name) {
    for (int i = 0; i < t->ncounts; i++) {
        if (strcmp(t->counts[i].name, name) == 0) {
            return &t->counts[i];
        }
    }
    store_counts *n = realloc(t->counts, (size_t)(t->ncounts + 1) * sizeof *n);
    if (!n) {
        return NULL;
    }
    t->counts = n;
    memset(&n[t->ncounts], 0, sizeof *n);
    if (!(n[t->ncounts].name = strdup(name))) {
        return NULL;
    }
    return &n[t->ncounts++];
}

static void free_counts(store_txn *t) {
    for (int i = 0; i < t->ncounts; i++) {
        free(t->counts[i].name);
    }
    free(t->counts);
    t->counts = NULL;
    t->ncounts = 0;
}

const store_counts *store_txn_counts(const store_txn *t, int *n) {
    *n = t->ncounts;
    return t->counts;
}

/* Detaches the scans of a transaction that is ending: their cursors are
 * closed and they report the end from now on. */
static void end_scans(store_txn *t) {
    for (store_scan *sc = t->scans; sc; sc = sc->next) {
        if (sc->cur) {
            mdb_cursor_close(sc->cur);
            sc->cur = NULL;
        }
        sc->done = 1;
        sc->t = NULL;
    }
    t->scans = NULL;
}

static void txn_release(store_txn *t, int committed) {
    store *s = t->s;
    if (!t->parent && t->write) {
        s->wtxn = NULL;
        writer_unlock(s);
        if (!committed && t->defs_touched) {
            cache_drop(s); /* invariant 4 */
        }
    } else if (t->parent && committed) {
        t->parent->writes += t->writes;
        t->parent->defs_touched |= t->defs_touched;
        for (int i = 0; i < t->ncounts; i++) {
            store_counts *pc = count_of(t->parent, t->counts[i].name);
            if (pc) {
                pc->inserted += t->counts[i].inserted;
                pc->updated += t->counts[i].updated;
                pc->deleted += t->counts[i].deleted;
            }
        }
    } else if (t->parent && !committed && t->defs_touched) {
        cache_drop(s);
    }
    free_counts(t);
    free(t);
}

int store_txn_commit(store_txn *t) {
    end_scans(t);
    if (!t->write) {
        store *s = t->s;
        s->nreaders--;
        if (s->npool < STORE_READ_POOL) {
            mdb_txn_reset(t->txn);
            s->pool[s->npool++] = t->txn;
        } else {
            mdb_txn_abort(t->txn);
        }
        free(t);
        return 0;
    }
    wcur_forget(t);
    int rc = mdb_txn_commit(t->txn);
    txn_release(t, rc == 0);
    return rc ? lmdb_err(rc, "committing") : 0;
}

int store_txn_commit_lazy(store_txn *t) {
    if (!t->write || t->parent) {
        return store_txn_commit(t);
    }
    MDB_env *env = t->s->env;
    unsigned flags = 0;
    mdb_env_get_flags(env, &flags);
    if (flags & MDB_NOSYNC) {
        return store_txn_commit(t);
    }
    mdb_env_set_flags(env, MDB_NOSYNC, 1);
    int rc = store_txn_commit(t);
    mdb_env_set_flags(env, MDB_NOSYNC, 0);
    return rc;
}

void store_txn_abort(store_txn *t) {
    if (!t) {
        return;
    }
    if (!t->write) {
        store_txn_commit(t);
        return;
    }
    /* Keys handed out in t are taken back: forget the cached largest keys
     * (the next transaction may have the same id). */
    for (int i = 0; i < t->s->ncolls; i++) {
        t->s->colls[i]->rt_txnid = 0;
    }
    end_scans(t);
    wcur_forget(t);
    mdb_txn_abort(t->txn);
    txn_release(t, 0);
}

store *store_txn_store(const store_txn *t) {
    return t->s;
}

int store_txn_is_write(const store_txn *t) {
    return t->write;
}

uint64_t store_txn_writes(const store_txn *t) {
    return t->writes;
}

/* ---- record bytes ------------------------------------------------------------------------ */

/* Finds the start of the key and indexed fields of a record: off[i] points
 * at field i's encoding, or is NULL when the record is shorter (a field
 * added later) or the field is past the last one the store reads.
 * 0 or GH_ECORRUPT. */
static int record_fields(const store_coll *c, const void *rec, size_t n, const unsigned char **off,
                         const store_index *also) {
    mp_reader r;
    mp_item it;
    mp_reader_init(&r, rec, n);
    if (mp_read(&r, &it) != 0 || it.type != MP_ARRAY) {
        return err_set(GH_ECORRUPT, _("collection '%s': a stored record is corrupt (not an array)"),
                       c->name);
    }
    uint32_t have = it.n;
    /* Only as far as the store reads: the key and the indexed fields (a
     * record is encoded by its writer; check validates whole records). */
    int upto = c->key + 1;
    for (int j = 0; also && j < also->nfields; j++) { /* an index c does not list yet */
        if (also->fields[j] + 1 > upto) {
            upto = also->fields[j] + 1;
        }
    }
    for (int x = 0; x < c->nindexes; x++) {
        for (int j = 0; j < c->indexes[x].nfields; j++) {
            if (c->indexes[x].fields[j] + 1 > upto) {
                upto = c->indexes[x].fields[j] + 1;
            }
        }
    }
    for (int i = upto; i < c->nfields; i++) {
        off[i] = NULL;
    }
    for (int i = 0; i < upto; i++) {
        if ((uint32_t)i < have) {
            off[i] = r.p;
            if (mp_skip_fast(&r) != 0) {
                return err_set(GH_ECORRUPT,
                               _("collection '%s': a stored record is corrupt (field '%s')"),
                               c->name, c->fields[i].name);
            }
        } else {
            off[i] = NULL;
        }
    }
    return 0;
}

/* Appends the key element of field f whose encoding starts at p; 1 when the
 * value is nil (no key). */
static int field_key(const store_coll *c, int f, const unsigned char *p, const unsigned char *end,
                     codec_buf *out) {
    mp_reader r;
    mp_item it;
    if (!p) {
        return 1;
    }
    mp_reader_init(&r, p, (size_t)(end - p));
    if (mp_read(&r, &it) != 0) {
        return err_set(GH_ECORRUPT, _("collection '%s': field '%s' is corrupt"), c->name,
                       c->fields[f].name);
    }
    switch (it.type) {
    case MP_NIL:
        return 1;
    case MP_INT:
        if (c->fields[f].type == FT_NUMBER) {
            key_put_double(out, (double)it.v.i);
        } else {
            key_put_int(out, it.v.i);
        }
        return 0;
    case MP_FLOAT:
        key_put_double(out, it.v.d);
        return 0;
    case MP_STR:
        key_put_str(out, it.s, it.n);
        return 0;
    case MP_BOOL:
        key_put_bool(out, it.v.b);
        return 0;
    default:
        return err_set(GH_ECORRUPT, _("collection '%s': field '%s' holds a table"), c->name,
                       c->fields[f].name);
    }
}

static int index_key_from(const store_coll *c, const store_index *ix,
                          const unsigned char *const *off, const unsigned char *end,
                          codec_buf *out) {
    out->len = 0;
    for (int j = 0; j < ix->nfields; j++) {
        int rc = field_key(c, ix->fields[j], off[ix->fields[j]], end, out);
        if (rc) {
            return rc;
        }
    }
    return out->oom ? GH_ENOMEM : 0;
}

int store_index_key(const store_coll *c, const store_index *ix, const void *rec, size_t n,
                    codec_buf *out) {
    const unsigned char *off[STORE_MAX_FIELDS];
    int rc = record_fields(c, rec, n, off, ix);
    return rc ? rc : index_key_from(c, ix, off, (const unsigned char *)rec + n, out);
}

int store_record_key(const store_coll *c, const void *rec, size_t n, codec_buf *out) {
    const unsigned char *off[STORE_MAX_FIELDS];
    int rc = record_fields(c, rec, n, off, NULL);
    if (rc) {
        return rc;
    }
    out->len = 0;
    rc = field_key(c, c->key, off[c->key], (const unsigned char *)rec + n, out);
    if (rc == 1) {
        return err_set(GH_EMISSING, _("collection '%s': the key field '%s' is missing"), c->name,
                       c->fields[c->key].name);
    }
    return rc ? rc : out->oom ? GH_ENOMEM : 0;
}

/* A readable rendering of an encoded key ("42", "\"abc\"", "(1, \"x\")"). */
static void key_render(const void *key, size_t n, char *out, size_t outn) {
    const unsigned char *p = key, *end = p + n;
    codec_buf str;
    key_item it;
    size_t w = 0;
    int count = 0;
    codec_buf_init(&str);
    out[0] = 0;
    while (p < end && w + 8 < outn) {
        if (key_read(&p, end, &it, &str) != 0) {
            break;
        }
        int m = 0;
        const char *sep = count++ ? ", " : "";
        switch (it.type) {
        case KEY_INT:
            m = snprintf(out + w, outn - w, "%s%lld", sep, (long long)it.i);
            break;
        case KEY_DOUBLE:
            m = snprintf(out + w, outn - w, "%s%.17g", sep, it.d);
            break;
        case KEY_STR: {
            size_t cut = str.len > 80 ? 80 : str.len;
            while (cut < str.len && cut > 0 && (str.p[cut] & 0xc0) == 0x80) {
                cut--; /* not inside a UTF-8 character */
            }
            m = snprintf(out + w, outn - w, "%s\"%.*s%s\"", sep, (int)cut, (char *)str.p,
                         cut < str.len ? "..." : "");
        } break;
        case KEY_TRUE:
        case KEY_FALSE:
            m = snprintf(out + w, outn - w, "%s%s", sep, it.type == KEY_TRUE ? "true" : "false");
            break;
        default:
            m = snprintf(out + w, outn - w, "%snil", sep);
        }
        if (m < 0 || (size_t)m >= outn - w) {
            break;
        }
        w += (size_t)m;
    }
    codec_buf_free(&str);
}

/* ---- records ------------------------------------------------------------------------------ */

static int need_write(store_txn *t, const store_coll *c) {
    if (!t->write) {
        return err_set(GH_ETXN, _("collection '%s': writing needs a write transaction"), c->name);
    }
    return 0;
}

/* Is c->rt_max (the largest integer key) known for write transaction t? */
static int rt_valid(store_txn *t, const store_coll *c) {
    return t->write && c->rt_txnid == mdb_txn_id(t->txn);
}

static void rt_note(store_txn *t, const store_coll *c, int64_t key) {
    store_coll *m = (store_coll *)c; /* the runtime fields are the store's own */
    if (rt_valid(t, c)) {
        if (key > m->rt_max) {
            m->rt_max = key;
        }
    }
}

int store_get(store_txn *t, const store_coll *c, const void *key, size_t klen, const void **val,
              size_t *vlen) {
    MDB_val k = {klen, (void *)key}, d;
    if (klen > STORE_MAX_KEY) {
        return GH_ENOTFOUND;
    }
    int rc = mdb_get(t->txn, c->dbi, &k, &d);
    if (rc == MDB_NOTFOUND) {
        return GH_ENOTFOUND;
    }
    if (rc) {
        return lmdb_err(rc, c->name);
    }
    *val = d.mv_data;
    *vlen = d.mv_size;
    return 0;
}

static int key_too_long(const store_coll *c, const char *what, size_t n) {
    return err_set(GH_ETOOBIG,
                   _("collection '%s': %s is %zu bytes encoded, over the limit of %d; use a "
                     "shorter value"),
                   c->name, what, n, STORE_MAX_KEY);
}

/* The refusal of a primary key that is taken. */
static int pk_taken(const store_coll *c, const codec_buf *pk) {
    char shown[160];
    key_render(pk->p, pk->len, shown, sizeof shown);
    return err_set(GH_EEXISTS,
                   _("collection '%s': a record with %s = %s already exists (use put to "
                     "replace it or update to change it)"),
                   c->name, c->fields[c->key].name, shown);
}

/* Takes back the unique index entries store_put added (state bit 4) before
 * it met a clash, so that the refused write leaves every table as it was;
 * returns rc (the refusal), or an LMDB error when that fails (the caller
 * then aborts, invariant 1). */
static int undo_unique(store_txn *t, const store_coll *c, const codec_buf *ikeys,
                       const unsigned char *state, int rc) {
    int any = 0;
    for (int i = 0; i < c->nindexes && !any; i++) {
        any = state[i] & 4;
    }
    if (!any) {
        return rc;
    }
    wcur_forget(t); /* invariant 7 */
    t->writes++;    /* pages changed: borrowed record pointers may be stale */
    for (int i = 0; i < c->nindexes; i++) {
        if (state[i] & 4) {
            MDB_val ik = {ikeys[2 * i].len, ikeys[2 * i].p};
            int e = mdb_del(t->txn, c->indexes[i].dbi, &ik, NULL);
            if (e) {
                return lmdb_err(e, c->name);
            }
        }
    }
    return rc;
}

int store_put(store_txn *t, const store_coll *c, int mode, const void *rec, size_t n) {
    const unsigned char *off[STORE_MAX_FIELDS], *ooff[STORE_MAX_FIELDS];
    const unsigned char *end = (const unsigned char *)rec + n, *oend = NULL;
    codec_buf pk;
    unsigned char pkmem[64];
    /* Per index its new and old key and its state; on the stack for the
     * first STORE_INLINE_INDEXES indexes (no allocation per row). */
    codec_buf ikstack[2 * STORE_INLINE_INDEXES];
    unsigned char ikmem[2 * STORE_INLINE_INDEXES][64];
    unsigned char ststack[STORE_INLINE_INDEXES];
    codec_buf *ikeys = ikstack;
    unsigned char *state = ststack; /* 1 add, 2 remove (3 both); 4 added in pass 2 */
    int rc, exists = 0;
    void *oldcopy = NULL; /* the old record's bytes, copied before we write */
    MDB_val k, d, old;
    char shown[160], shown2[160];

    if ((rc = need_write(t, c))) {
        return rc;
    }
    codec_buf_init_on(&pk, pkmem, sizeof pkmem);
    if (c->nindexes > STORE_INLINE_INDEXES) {
        ikeys = calloc((size_t)c->nindexes * 2, sizeof *ikeys);
        state = calloc((size_t)c->nindexes, sizeof *state);
        if (!ikeys || !state) {
            free(ikeys);
            free(state);
            return GH_ENOMEM;
        }
    } else {
        for (int i = 0; i < 2 * c->nindexes; i++) {
            codec_buf_init_on(&ikeys[i], ikmem[i], sizeof ikmem[i]);
        }
        memset(state, 0, sizeof ststack);
    }
    if ((rc = record_fields(c, rec, n, off, NULL))) {
        goto out;
    }
    rc = field_key(c, c->key, off[c->key], end, &pk);
    if (rc == 1) {
        rc = err_set(GH_EMISSING, _("collection '%s': the key field '%s' is missing"), c->name,
                     c->fields[c->key].name);
        goto out;
    }
    if (rc) {
        goto out;
    }
    if (pk.oom) {
        rc = GH_ENOMEM;
        goto out;
    }
    if (pk.len > STORE_MAX_KEY) {
        char what[300];
        key_render(pk.p, pk.len, shown, sizeof shown);
        snprintf(what, sizeof what, "key field '%s' (%s)", c->fields[c->key].name, shown);
        rc = key_too_long(c, what, pk.len);
        goto out;
    }
    k.mv_size = pk.len;
    k.mv_data = pk.p;
    int64_t ikey = 0;
    int int_key = pk.len == 9 && pk.p[0] == KEY_INT;
    if (int_key) {
        uint64_t u = 0;
        for (int i = 1; i < 9; i++) {
            u = (u << 8) | pk.p[i];
        }
        ikey = (int64_t)(u ^ 0x8000000000000000ull);
    }
    unsigned flags = 0;
    if (mode == STORE_INSERT) {
        /* No lookup first: MDB_NOOVERWRITE finds a taken key as it writes.
         * A key above every key is appended without a descent. */
        flags = MDB_NOOVERWRITE;
        int64_t next;
        if (int_key && !rt_valid(t, c) && (rc = store_next_id(t, c, &next))) {
            goto out;
        }
        if (int_key && ikey > c->rt_max) {
            flags |= MDB_APPEND;
        }
        rc = 0;
    } else {
        rc = mdb_get(t->txn, c->dbi, &k, &old);
        exists = rc == 0;
        if (rc && rc != MDB_NOTFOUND) {
            rc = lmdb_err(rc, c->name);
            goto out;
        }
        rc = 0;
    }
    if (!exists && mode == STORE_UPDATE) {
        key_render(pk.p, pk.len, shown, sizeof shown);
        rc = err_set(GH_ENOTFOUND, _("collection '%s': no record with %s = %s"), c->name,
                     c->fields[c->key].name, shown);
        goto out;
    }
    if (exists) {
        /* The old record's bytes may move once we write: copy them. */
        void *copy = oldcopy = malloc(old.mv_size);
        if (!copy) {
            rc = GH_ENOMEM;
            goto out;
        }
        memcpy(copy, old.mv_data, old.mv_size);
        old.mv_data = copy;
        oend = (const unsigned char *)copy + old.mv_size;
        if ((rc = record_fields(c, copy, old.mv_size, ooff, NULL))) {
            goto out;
        }
    }
    /* Pass 1: every index key and its checks, before any write. */
    for (int i = 0; i < c->nindexes; i++) {
        const store_index *ix = &c->indexes[i];
        codec_buf *nb = &ikeys[2 * i], *ob = &ikeys[2 * i + 1];
        int hasnew = (rc = index_key_from(c, ix, off, end, nb)) == 0;
        if (rc < 0) {
            goto out;
        }
        int hasold = 0;
        if (exists) {
            hasold = (rc = index_key_from(c, ix, ooff, oend, ob)) == 0;
            if (rc < 0) {
                goto out;
            }
        }
        rc = 0;
        if (hasnew && hasold && nb->len == ob->len && memcmp(nb->p, ob->p, nb->len) == 0) {
            continue;
        }
        state[i] = (unsigned char)((hasnew ? 1 : 0) | (hasold ? 2 : 0));
        if (hasnew && nb->len > STORE_MAX_KEY) {
            char what[300];
            key_render(nb->p, nb->len, shown, sizeof shown);
            snprintf(what, sizeof what, "the value of '%s' for index '%s' (%s)", ix->name, ix->name,
                     shown);
            rc = key_too_long(c, what, nb->len);
            goto out;
        }
        if (hasnew && ix->dupfixed && pk.len != STORE_PK_FIXED) { /* invariant 8 */
            key_render(pk.p, pk.len, shown, sizeof shown);
            rc = err_set(GH_ETYPE,
                         _("collection '%s': the key %s = %s is not a number, but index '%s' "
                           "holds numeric keys only"),
                         c->name, c->fields[c->key].name, shown, ix->name);
            goto out;
        }
    }
    /* Pass 2: unique indexes first, in order, each MDB_NOOVERWRITE put
     * finding a taken value in the one descent that adds it; a clash takes
     * back the ones added, so a refusal writes nothing (invariant 1). */
    MDB_val pkv = {pk.len, pk.p};
    for (int i = 0; i < c->nindexes; i++) {
        const store_index *ix = &c->indexes[i];
        if (!ix->unique || !(state[i] & 1)) {
            continue;
        }
        MDB_val ik = {ikeys[2 * i].len, ikeys[2 * i].p}, iv = pkv;
        int e = wput(t, ix->dbi, &ik, &iv, MDB_NOOVERWRITE);
        if (e == 0) {
            state[i] |= 4;
            continue;
        }
        if (e != MDB_KEYEXIST) {
            rc = lmdb_err(e, c->name);
            goto out;
        }
        if (iv.mv_size == pk.len && memcmp(iv.mv_data, pk.p, pk.len) == 0) {
            continue; /* this record's own entry */
        }
        key_render(ik.mv_data, ik.mv_size, shown, sizeof shown);
        key_render(iv.mv_data, iv.mv_size, shown2, sizeof shown2);
        rc = err_set(GH_EEXISTS,
                     _("collection '%s': %s = %s is already taken by the record with "
                       "%s = %s (unique index '%s')"),
                     c->name, ix->name, shown, c->fields[c->key].name, shown2, ix->name);
        rc = undo_unique(t, c, ikeys, state, rc);
        goto out;
    }
    /* The record. From here a failure other than a taken key leaves the
     * transaction half-written: the caller aborts it (invariant 1). */
    d.mv_size = n;
    d.mv_data = (void *)rec;
    if ((rc = wput(t, c->dbi, &k, &d, flags))) {
        if (rc == MDB_KEYEXIST) {
            rc = undo_unique(t, c, ikeys, state, pk_taken(c, &pk));
        } else {
            rc = lmdb_err(rc, c->name);
        }
        goto out;
    }
    if (int_key) {
        rt_note(t, c, ikey);
    }
    store_counts *cnt = count_of(t, c->name);
    if (cnt) {
        if (exists) {
            cnt->updated++;
        } else {
            cnt->inserted++;
        }
    }
    /* A record appended has a key above every key stored, so above every
     * value of every index: each goes after its key's last duplicate. */
    unsigned dupflags = (flags & MDB_APPEND) ? MDB_APPENDDUP : 0;
    for (int i = 0; i < c->nindexes; i++) {
        const store_index *ix = &c->indexes[i];
        if (state[i] & 2) {
            MDB_val ik = {ikeys[2 * i + 1].len, ikeys[2 * i + 1].p}, iv = pkv;
            int e = mdb_del(t->txn, ix->dbi, &ik, &iv);
            if (e && e != MDB_NOTFOUND) {
                rc = lmdb_err(e, c->name);
                goto out;
            }
        }
        if ((state[i] & 1) && !ix->unique) {
            MDB_val ik = {ikeys[2 * i].len, ikeys[2 * i].p}, iv = pkv;
            int e = wput(t, ix->dbi, &ik, &iv, dupflags);
            if (e == MDB_KEYEXIST && dupflags) { /* not after the last: put it in its place */
                iv = pkv;
                e = wput(t, ix->dbi, &ik, &iv, 0);
            }
            if (e && e != MDB_KEYEXIST) {
                rc = lmdb_err(e, c->name);
                goto out;
            }
        }
    }
    t->writes++;
out:
    for (int i = 0; i < 2 * c->nindexes; i++) {
        codec_buf_free(&ikeys[i]);
    }
    if (ikeys != ikstack) {
        free(ikeys);
        free(state);
    }
    free(oldcopy);
    codec_buf_free(&pk);
    return rc;
}

int store_delete(store_txn *t, const store_coll *c, const void *key, size_t klen) {
    MDB_val k = {klen, (void *)key}, d;
    const unsigned char *off[STORE_MAX_FIELDS];
    codec_buf ib;
    int rc;
    if ((rc = need_write(t, c))) {
        return rc;
    }
    if (klen > STORE_MAX_KEY) {
        return GH_ENOTFOUND;
    }
    rc = mdb_get(t->txn, c->dbi, &k, &d);
    if (rc == MDB_NOTFOUND) {
        return GH_ENOTFOUND;
    }
    if (rc) {
        return lmdb_err(rc, c->name);
    }
    wcur_forget(t); /* invariant 7 */
    codec_buf_init(&ib);
    /* Index entries first, while the record bytes are still valid. */
    if ((rc = record_fields(c, d.mv_data, d.mv_size, off, NULL))) {
        return rc;
    }
    const unsigned char *end = (const unsigned char *)d.mv_data + d.mv_size;
    for (int i = 0; i < c->nindexes && rc == 0; i++) {
        int has = index_key_from(c, &c->indexes[i], off, end, &ib);
        if (has < 0) {
            rc = has;
            break;
        }
        if (has == 0) {
            MDB_val ik = {ib.len, ib.p}, iv = {klen, (void *)key};
            int e = mdb_del(t->txn, c->indexes[i].dbi, &ik, &iv);
            if (e && e != MDB_NOTFOUND) {
                rc = lmdb_err(e, c->name);
            }
        }
    }
    codec_buf_free(&ib);
    if (rc == 0) {
        int e = mdb_del(t->txn, c->dbi, &k, NULL);
        rc = e ? lmdb_err(e, c->name) : 0;
    }
    if (rc == 0) {
        store_counts *cnt = count_of(t, c->name);
        if (cnt) {
            cnt->deleted++;
        }
    }
    t->writes++;
    return rc;
}

int store_next_id(store_txn *t, const store_coll *c, int64_t *id) {
    MDB_cursor *cur;
    MDB_val k, d;
    if (rt_valid(t, c)) {
        *id = c->rt_max + 1;
        return 0;
    }
    int rc = mdb_cursor_open(t->txn, c->dbi, &cur);
    if (rc) {
        return lmdb_err(rc, c->name);
    }
    rc = mdb_cursor_get(cur, &k, &d, MDB_LAST);
    mdb_cursor_close(cur);
    int64_t last = 0;
    if (rc == 0) {
        const unsigned char *p = k.mv_data;
        key_item it;
        codec_buf str;
        codec_buf_init(&str);
        rc = key_read(&p, p + k.mv_size, &it, &str);
        codec_buf_free(&str);
        if (rc != 0 || it.type != KEY_INT) {
            return err_set(GH_ECORRUPT, _("collection '%s': the last key is not an integer"),
                           c->name);
        }
        last = it.i;
    } else if (rc != MDB_NOTFOUND) {
        return lmdb_err(rc, c->name);
    }
    if (t->write) {
        store_coll *m = (store_coll *)c;
        m->rt_txnid = mdb_txn_id(t->txn);
        m->rt_max = last;
    }
    *id = last + 1;
    return 0;
}

int store_count(store_txn *t, const store_coll *c, uint64_t *n) {
    MDB_stat st;
    int rc = mdb_stat(t->txn, c->dbi, &st);
    if (rc) {
        return lmdb_err(rc, c->name);
    }
    *n = st.ms_entries;
    return 0;
}

int store_find(store_txn *t, const store_coll *c, int index, const void *ikey, size_t iklen,
               const void **pk, size_t *pklen) {
    MDB_val k = {iklen, (void *)ikey}, d;
    if (iklen > STORE_MAX_KEY) {
        return GH_ENOTFOUND;
    }
    int rc = mdb_get(t->txn, c->indexes[index].dbi, &k, &d);
    if (rc == MDB_NOTFOUND) {
        return GH_ENOTFOUND;
    }
    if (rc) {
        return lmdb_err(rc, c->name);
    }
    *pk = d.mv_data;
    *pklen = d.mv_size;
    return 0;
}

/* ---- definitions in the database ------------------------------------------------------ */

static int save_def(store_txn *t, const store_coll *c) {
    codec_buf b, name;
    codec_buf_init(&b);
    codec_buf_init(&name);
    codec_buf_add(&name, "def:", 4);
    codec_buf_add(&name, c->name, strlen(c->name));
    int rc = store_def_encode(c, &b);
    if (rc == 0 && name.oom) { /* once success: the definition went unsaved (test_oom) */
        rc = GH_ENOMEM;
    }
    if (rc == 0) {
        MDB_val k = {name.len, name.p}, d = {b.len, b.p};
        int e = mdb_put(t->txn, t->s->meta, &k, &d, 0);
        uint64_t gen = 0;
        meta_get_u64(t->txn, t->s->meta, "gen", &gen);
        if (!e) {
            e = meta_put_u64(t->txn, t->s->meta, "gen", gen + 1);
        }
        rc = e ? lmdb_err(e, c->name) : 0;
    }
    codec_buf_free(&b);
    codec_buf_free(&name);
    return rc;
}

static int drop_dbi(store_txn *t, const char *coll, const store_index *ix) {
    char name[512];
    MDB_dbi dbi;
    if (ix) {
        snprintf(name, sizeof name, "i:%s:%s", coll, ix->name);
    } else {
        snprintf(name, sizeof name, "c:%s", coll);
    }
    int rc = mdb_dbi_open(t->txn, name, ix && !ix->unique ? MDB_DUPSORT : 0, &dbi);
    if (rc == MDB_NOTFOUND) {
        return 0;
    }
    if (rc == 0) {
        rc = mdb_drop(t->txn, dbi, 1);
    }
    return rc ? lmdb_err(rc, name) : 0;
}

/* Fills index `ix` of collection c from its records; unique clashes are
 * GH_ESCHEMA naming both records. */
static int build_index(store_txn *t, const store_coll *c, const store_index *ix) {
    MDB_cursor *cur;
    MDB_val k, d;
    codec_buf ib;
    char shown[160], a[160], b[160];
    int rc = mdb_cursor_open(t->txn, c->dbi, &cur);
    if (rc) {
        return lmdb_err(rc, c->name);
    }
    codec_buf_init(&ib);
    int m = mdb_cursor_get(cur, &k, &d, MDB_FIRST);
    while (m == 0) {
        int has = store_index_key(c, ix, d.mv_data, d.mv_size, &ib);
        if (has < 0) {
            rc = has;
            break;
        }
        if (has == 0) {
            if (ib.len > STORE_MAX_KEY) {
                rc = key_too_long(c, "a value for the new index", ib.len);
                break;
            }
            MDB_val ik = {ib.len, ib.p}, iv = k, got;
            if (ix->unique && mdb_get(t->txn, ix->dbi, &ik, &got) == 0) {
                key_render(ib.p, ib.len, shown, sizeof shown);
                key_render(got.mv_data, got.mv_size, a, sizeof a);
                key_render(k.mv_data, k.mv_size, b, sizeof b);
                rc = err_set(GH_ESCHEMA,
                             _("collection '%s': cannot add unique index '%s': records %s and %s "
                               "both have %s = %s"),
                             c->name, ix->name, a, b, ix->name, shown);
                break;
            }
            int e = mdb_put(t->txn, ix->dbi, &ik, &iv, 0);
            if (e && e != MDB_KEYEXIST) {
                rc = lmdb_err(e, c->name);
                break;
            }
        }
        m = mdb_cursor_get(cur, &k, &d, MDB_NEXT);
    }
    if (rc == 0 && m != MDB_NOTFOUND) {
        rc = lmdb_err(m, c->name);
    }
    mdb_cursor_close(cur);
    codec_buf_free(&ib);
    return rc;
}

static int same_index(const store_coll *a, const store_index *x, const store_coll *b,
                      const store_index *y) {
    if (x->unique != y->unique || x->nfields != y->nfields) {
        return 0;
    }
    for (int j = 0; j < x->nfields; j++) {
        if (strcmp(a->fields[x->fields[j]].name, b->fields[y->fields[j]].name) != 0) {
            return 0;
        }
    }
    return 1;
}

/* Reorders `def` (fields by name) so fields of `old` keep their positions
 * and new ones are appended; checks the change is allowed with `nrec`
 * records stored. */
static int merge_def(const store_coll *old, store_coll *def, uint64_t nrec) {
    store_field *f = calloc((size_t)(old->nfields + def->nfields), sizeof *f);
    int *map = calloc((size_t)def->nfields, sizeof *map); /* def position -> new position */
    int n = 0, rc = 0;
    if (!f || !map) {
        free(f);
        free(map);
        return GH_ENOMEM;
    }
    for (int i = 0; i < def->nfields; i++) {
        map[i] = -1;
    }
    for (int i = 0; i < old->nfields; i++) {
        const store_field *of = &old->fields[i];
        int j = i == old->extra ? def->extra : store_field_pos(def, of->name);
        if (j < 0) {
            if (i == old->extra) {
                rc = err_set(GH_ESCHEMA,
                             _("collection '%s': cannot stop allowing extra fields while %llu "
                               "records exist"),
                             def->name, (unsigned long long)nrec);
            } else {
                rc = err_set(GH_ESCHEMA,
                             _("collection '%s': field '%s' is missing from the new definition; "
                               "a field cannot be removed while %llu records exist"),
                             def->name, of->name, (unsigned long long)nrec);
            }
            goto fail;
        }
        store_field *nf = &def->fields[j];
        if (nf->type != of->type) {
            rc = err_set(GH_ESCHEMA,
                         _("collection '%s': field '%s' was %s and is now %s; a field's type "
                           "cannot change while %llu records exist"),
                         def->name, of->name, store_type_name(of->type), store_type_name(nf->type),
                         (unsigned long long)nrec);
            goto fail;
        }
        if (of->optional && !nf->optional) {
            rc = err_set(GH_ESCHEMA,
                         _("collection '%s': field '%s' was optional and is now required; "
                           "that cannot change while %llu records exist"),
                         def->name, of->name, (unsigned long long)nrec);
            goto fail;
        }
        f[n] = *nf;
        map[j] = n++;
    }
    for (int j = 0; j < def->nfields; j++) {
        if (map[j] >= 0) {
            continue;
        }
        if (!def->fields[j].optional && j != def->extra) {
            rc = err_set(GH_ESCHEMA,
                         _("collection '%s': new field '%s' must be optional while %llu records "
                           "exist (they have no value for it)"),
                         def->name, def->fields[j].name, (unsigned long long)nrec);
            goto fail;
        }
        f[n] = def->fields[j];
        map[j] = n++;
    }
    if (strcmp(old->fields[old->key].name, def->fields[def->key].name) != 0) {
        rc = err_set(GH_ESCHEMA,
                     _("collection '%s': the key was '%s' and is now '%s'; the key cannot change "
                       "while %llu records exist"),
                     def->name, old->fields[old->key].name, def->fields[def->key].name,
                     (unsigned long long)nrec);
        goto fail;
    }
    def->key = map[def->key];
    if (def->scope) {
        def->scope = map[def->scope - 1] + 1;
    }
    if (def->extra >= 0) {
        def->extra = map[def->extra];
    }
    for (int i = 0; i < def->nindexes; i++) {
        for (int j = 0; j < def->indexes[i].nfields; j++) {
            def->indexes[i].fields[j] = map[def->indexes[i].fields[j]];
        }
    }
    free(def->fields);
    def->fields = f;
    free(map);
    return 0;
fail:
    free(f);
    free(map);
    return rc;
}

static int same_def(const store_coll *a, const store_coll *b) {
    codec_buf x, y;
    codec_buf_init(&x);
    codec_buf_init(&y);
    store_def_encode(a, &x);
    store_def_encode(b, &y);
    int same = !x.oom && !y.oom && x.len == y.len && memcmp(x.p, y.p, x.len) == 0;
    codec_buf_free(&x);
    codec_buf_free(&y);
    return same;
}

int store_define(store_txn *t, store_coll *def) {
    store *s = t->s;
    const store_coll *old = NULL;
    uint64_t nrec = 0;
    int rc;
    if ((rc = need_write(t, def)) || (rc = store_def_check(def))) {
        store_coll_free(def);
        return rc;
    }
    wcur_forget(t); /* invariant 7: handles may be dropped and reused */
    rc = store_coll_get(t, def->name, &old);
    if (rc && rc != GH_ENOTFOUND) {
        store_coll_free(def);
        return rc;
    }
    err_clear();
    if (old) {
        if ((rc = store_count(t, old, &nrec))) {
            store_coll_free(def);
            return rc;
        }
        if (nrec > 0 && (rc = merge_def(old, def, nrec))) {
            store_coll_free(def);
            return rc;
        }
        if (same_def(old, def)) {
            store_coll_free(def);
            return 0;
        }
    }
    for (store_txn *p = t; p; p = p->parent) {
        p->defs_touched = 1;
    }
    /* Indexes that went away or changed: drop; the rest keep their entries. */
    if (old) {
        for (int i = 0; i < old->nindexes; i++) {
            int keep = 0;
            for (int j = 0; j < def->nindexes && !keep; j++) {
                keep = strcmp(old->indexes[i].name, def->indexes[j].name) == 0 &&
                       same_index(old, &old->indexes[i], def, &def->indexes[j]);
            }
            if (!keep || nrec == 0) {
                if ((rc = drop_dbi(t, old->name, &old->indexes[i]))) {
                    goto fail;
                }
            }
        }
    }
    if ((rc = open_dbis(t->txn, def, 1))) {
        rc = lmdb_err(rc, def->name);
        goto fail;
    }
    for (int j = 0; j < def->nindexes && nrec > 0; j++) {
        int had = 0;
        for (int i = 0; old && i < old->nindexes && !had; i++) {
            had = strcmp(old->indexes[i].name, def->indexes[j].name) == 0 &&
                  same_index(old, &old->indexes[i], def, &def->indexes[j]);
        }
        if (!had && (rc = build_index(t, old, &def->indexes[j]))) {
            goto fail;
        }
    }
    if ((rc = save_def(t, def))) {
        goto fail;
    }
    /* Replace in the cache; the database "gen" moved with save_def. */
    int found = 0;
    for (int i = 0; i < s->ncolls; i++) {
        if (strcmp(s->colls[i]->name, def->name) == 0) {
            retire(s, s->colls[i]);
            s->colls[i] = def;
            found = 1;
        }
    }
    if (!found) {
        store_coll **n = realloc(s->colls, (size_t)(s->ncolls + 1) * sizeof *n);
        if (!n) {
            rc = GH_ENOMEM;
            goto fail;
        }
        s->colls = n;
        s->colls[s->ncolls++] = def;
    }
    s->gen++;
    s->local_gen++;
    return 0;
fail:
    store_coll_free(def);
    return rc;
}

int store_sys_ensure(store_txn *t, store_coll *def, const store_coll **out) {
    const store_coll *cur = NULL;
    int rc = store_coll_get(t, def->name, &cur);
    if (rc == 0 && store_def_equivalent(cur, def)) {
        store_coll_free(def);
        *out = cur;
        return 0;
    }
    err_clear();
    char name[128];
    snprintf(name, sizeof name, "%s", def->name);
    if ((rc = store_define(t, def))) { /* takes def */
        return rc;
    }
    return store_coll_get(t, name, out);
}

int store_drop(store_txn *t, const char *name) {
    const store_coll *c = NULL; /* gcc -O3 cannot see store_coll_get set it */
    int rc;
    if (!t->write) {
        return err_set(GH_ETXN, _("dropping needs a write transaction"));
    }
    if ((rc = store_coll_get(t, name, &c))) {
        return rc;
    }
    wcur_forget(t); /* invariant 7 */
    for (store_txn *p = t; p; p = p->parent) {
        p->defs_touched = 1;
    }
    for (int i = 0; i < c->nindexes; i++) {
        if ((rc = drop_dbi(t, name, &c->indexes[i]))) {
            return rc;
        }
    }
    if ((rc = drop_dbi(t, name, NULL))) {
        return rc;
    }
    char key[512];
    snprintf(key, sizeof key, "def:%s", name);
    MDB_val k = {strlen(key), key};
    uint64_t gen = 0;
    meta_get_u64(t->txn, t->s->meta, "gen", &gen);
    if ((rc = mdb_del(t->txn, t->s->meta, &k, NULL)) ||
        (rc = meta_put_u64(t->txn, t->s->meta, "gen", gen + 1))) {
        return lmdb_err(rc, name);
    }
    cache_drop(t->s);
    return 0;
}

/* ---- scans ---------------------------------------------------------------------------------- */

int store_scan_open(store_txn *t, const store_coll *c, int index, const store_range *r,
                    store_scan **out) {
    store_scan *sc = calloc(1, sizeof *sc);
    if (!sc) {
        return GH_ENOMEM;
    }
    sc->t = t;
    sc->c = c;
    sc->index = index;
    codec_buf_init(&sc->lo);
    codec_buf_init(&sc->hi);
    codec_buf_init(&sc->prefix);
    codec_buf_init(&sc->pk);
    if (r) {
        sc->reverse = r->reverse;
        sc->prefix_whole = r->prefix_whole;
        if (r->lo) {
            codec_buf_add(&sc->lo, r->lo, r->lolen);
        }
        if (r->hi) {
            codec_buf_add(&sc->hi, r->hi, r->hilen);
        }
        if (r->prefix) {
            codec_buf_add(&sc->prefix, r->prefix, r->prefixlen);
        }
    }
    int rc = mdb_cursor_open(t->txn, index < 0 ? c->dbi : c->indexes[index].dbi, &sc->cur);
    if (rc || sc->lo.oom || sc->hi.oom || sc->prefix.oom) {
        store_scan_close(sc);
        return rc ? lmdb_err(rc, c->name) : GH_ENOMEM;
    }
    sc->next = t->scans;
    t->scans = sc;
    *out = sc;
    return 0;
}

/* Compares key k with bound b over b's length (prefix semantics). When b
 * holds whole elements (`whole`), a key that only continues b's last string
 * (an escaped NUL: 0x00 0xff where b's terminator was) is above b. */
static int cmp_prefix(const MDB_val *k, const codec_buf *b, int whole) {
    size_t n = k->mv_size < b->len ? k->mv_size : b->len;
    int c = memcmp(k->mv_data, b->p, n);
    if (c) {
        return c;
    }
    if (k->mv_size < b->len) {
        return -1;
    }
    return whole && k->mv_size > b->len && ((const unsigned char *)k->mv_data)[b->len] == 0xff;
}

static int cmp_full(const MDB_val *k, const codec_buf *b) {
    size_t n = k->mv_size < b->len ? k->mv_size : b->len;
    int c = memcmp(k->mv_data, b->p, n);
    if (c) {
        return c;
    }
    return k->mv_size < b->len ? -1 : k->mv_size > b->len;
}

/* Positions a reverse scan at the last key <= bound (prefix semantics). */
static int seek_last(MDB_cursor *cur, const codec_buf *b, MDB_val *k, MDB_val *d) {
    /* The successor of the prefix: drop trailing 0xff bytes, increment the last. */
    unsigned char succ[STORE_MAX_KEY + 1];
    size_t n = b->len < sizeof succ ? b->len : sizeof succ;
    memcpy(succ, b->p, n);
    while (n > 0 && succ[n - 1] == 0xff) {
        n--;
    }
    if (n == 0) {
        return mdb_cursor_get(cur, k, d, MDB_LAST);
    }
    succ[n - 1]++;
    k->mv_size = n;
    k->mv_data = succ;
    int rc = mdb_cursor_get(cur, k, d, MDB_SET_RANGE);
    if (rc == MDB_NOTFOUND) {
        return mdb_cursor_get(cur, k, d, MDB_LAST);
    }
    if (rc == 0) {
        rc = mdb_cursor_get(cur, k, d, MDB_PREV);
    }
    return rc;
}

int store_scan_next(store_scan *sc, const void **pk, size_t *pklen, const void **val,
                    size_t *vlen) {
    MDB_val k, d;
    int rc;
    if (sc->done || !sc->cur) {
        return GH_ENOTFOUND;
    }
    if (!sc->started) {
        sc->started = 1;
        if (!sc->reverse) {
            const codec_buf *from = sc->lo.len ? &sc->lo : &sc->prefix;
            if (sc->lo.len && sc->prefix.len &&
                cmp_full(&(MDB_val){sc->prefix.len, sc->prefix.p}, &sc->lo) > 0) {
                from = &sc->prefix;
            }
            if (from->len) {
                k.mv_size = from->len;
                k.mv_data = from->p;
                rc = mdb_cursor_get(sc->cur, &k, &d, MDB_SET_RANGE);
            } else {
                rc = mdb_cursor_get(sc->cur, &k, &d, MDB_FIRST);
            }
        } else {
            const codec_buf *to = sc->hi.len ? &sc->hi : &sc->prefix;
            rc = to->len ? seek_last(sc->cur, to, &k, &d)
                         : mdb_cursor_get(sc->cur, &k, &d, MDB_LAST);
            /* with both, the tighter bound is checked below */
        }
    } else {
        rc = mdb_cursor_get(sc->cur, &k, &d, sc->reverse ? MDB_PREV : MDB_NEXT);
    }
    for (;;) {
        if (rc == MDB_NOTFOUND) {
            sc->done = 1;
            return GH_ENOTFOUND;
        }
        if (rc) {
            return lmdb_err(rc, sc->c->name);
        }
        if (sc->prefix.len && cmp_prefix(&k, &sc->prefix, sc->prefix_whole) != 0) {
            if (sc->reverse && cmp_prefix(&k, &sc->prefix, sc->prefix_whole) > 0) {
                rc = mdb_cursor_get(sc->cur, &k, &d, MDB_PREV); /* above the prefix: go on */
                continue;
            }
            sc->done = 1;
            return GH_ENOTFOUND;
        }
        if (!sc->reverse && sc->hi.len && cmp_prefix(&k, &sc->hi, 1) > 0) {
            sc->done = 1;
            return GH_ENOTFOUND;
        }
        if (sc->reverse && sc->hi.len && cmp_prefix(&k, &sc->hi, 1) > 0) {
            rc = mdb_cursor_get(sc->cur, &k, &d, MDB_PREV);
            continue;
        }
        if (sc->reverse && sc->lo.len && cmp_full(&k, &sc->lo) < 0) {
            sc->done = 1;
            return GH_ENOTFOUND;
        }
        break;
    }
    if (sc->index < 0) {
        *pk = k.mv_data;
        *pklen = k.mv_size;
        sc->rec = d;
    } else {
        sc->pk.len = 0;
        codec_buf_add(&sc->pk, d.mv_data, d.mv_size);
        if (sc->pk.oom) {
            return GH_ENOMEM;
        }
        MDB_val rk = {sc->pk.len, sc->pk.p};
        rc = mdb_get(sc->t->txn, sc->c->dbi, &rk, &sc->rec);
        if (rc == MDB_NOTFOUND) {
            char shown[160];
            key_render(sc->pk.p, sc->pk.len, shown, sizeof shown);
            return err_set(GH_ECORRUPT,
                           _("collection '%s': index '%s' points to record %s, which does not "
                             "exist (run gonghui check)"),
                           sc->c->name, sc->c->indexes[sc->index].name, shown);
        }
        if (rc) {
            return lmdb_err(rc, sc->c->name);
        }
        *pk = sc->pk.p;
        *pklen = sc->pk.len;
    }
    *val = sc->rec.mv_data;
    *vlen = sc->rec.mv_size;
    return 0;
}

int store_scan_current(store_scan *sc, const void **val, size_t *vlen) {
    MDB_val k, d;
    if (!sc->cur || !sc->started) {
        return GH_ENOTFOUND;
    }
    int rc;
    if (sc->index < 0) {
        rc = mdb_cursor_get(sc->cur, &k, &d, MDB_GET_CURRENT);
    } else {
        MDB_val rk = {sc->pk.len, sc->pk.p};
        rc = mdb_get(sc->t->txn, sc->c->dbi, &rk, &d);
    }
    if (rc) {
        return GH_ENOTFOUND;
    }
    *val = d.mv_data;
    *vlen = d.mv_size;
    return 0;
}

void store_scan_close(store_scan *sc) {
    if (!sc) {
        return;
    }
    if (sc->t) {
        for (store_scan **pp = &sc->t->scans; *pp; pp = &(*pp)->next) {
            if (*pp == sc) {
                *pp = sc->next;
                break;
            }
        }
    }
    if (sc->cur) {
        mdb_cursor_close(sc->cur);
    }
    codec_buf_free(&sc->lo);
    codec_buf_free(&sc->hi);
    codec_buf_free(&sc->prefix);
    codec_buf_free(&sc->pk);
    free(sc);
}

int store_range_count(store_txn *t, const store_coll *c, int index, const store_range *r,
                      uint64_t *n) {
    if (!r || (!r->lo && !r->hi && !r->prefix)) {
        if (index < 0) {
            return store_count(t, c, n);
        }
        MDB_stat st;
        int rc = mdb_stat(t->txn, c->indexes[index].dbi, &st);
        if (rc) {
            return lmdb_err(rc, c->name);
        }
        *n = st.ms_entries;
        return 0;
    }
    MDB_cursor *cur;
    MDB_val k, d;
    MDB_dbi dbi = index < 0 ? c->dbi : c->indexes[index].dbi;
    int rc = mdb_cursor_open(t->txn, dbi, &cur);
    if (rc) {
        return lmdb_err(rc, c->name);
    }
    uint64_t count = 0;
    codec_buf lo, hi, px;
    lo.p = (void *)r->lo;
    lo.len = r->lo ? r->lolen : 0;
    hi.p = (void *)r->hi;
    hi.len = r->hi ? r->hilen : 0;
    px.p = (void *)r->prefix;
    px.len = r->prefix ? r->prefixlen : 0;
    const codec_buf *from = lo.len ? &lo : &px;
    if (lo.len && px.len && cmp_full(&(MDB_val){px.len, px.p}, &lo) > 0) {
        from = &px;
    }
    if (from->len) {
        k.mv_size = from->len;
        k.mv_data = from->p;
        rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE);
    } else {
        rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST);
    }
    while (rc == 0) {
        if (px.len && cmp_prefix(&k, &px, r->prefix_whole) != 0) {
            break;
        }
        if (hi.len && cmp_prefix(&k, &hi, 1) > 0) {
            break;
        }
        if (index >= 0 && !c->indexes[index].unique) {
            size_t dups = 1;
            mdb_cursor_count(cur, &dups);
            count += dups;
            rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT_NODUP);
        } else {
            count++;
            rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT);
        }
    }
    mdb_cursor_close(cur);
    if (rc && rc != MDB_NOTFOUND) {
        return lmdb_err(rc, c->name);
    }
    *n = count;
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
        report(ctx, "more problems follow; only the first 1000 are shown");
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
        return lmdb_err(rc, c->name);
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
        key_render(k.mv_data, k.mv_size, shown, sizeof shown);
        if (mp_validate(d.mv_data, d.mv_size) != 0) {
            problem(report, ctx, problems, "%s: record %s: value bytes do not decode", c->name,
                    shown);
            goto next;
        }
        if (store_record_key(c, d.mv_data, d.mv_size, &kb) != 0 || kb.len != k.mv_size ||
            memcmp(kb.p, k.mv_data, kb.len) != 0) {
            problem(report, ctx, problems, "%s: record %s: its key field does not match its key",
                    c->name, shown);
        }
        for (int i = 0; i < c->nindexes; i++) {
            const store_index *ix = &c->indexes[i];
            int has = store_index_key(c, ix, d.mv_data, d.mv_size, &ib);
            if (has < 0) {
                problem(report, ctx, problems, "%s: record %s: %s", c->name, shown, err_msg(has));
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
                    key_render(ib.p, ib.len, shown2, sizeof shown2);
                    problem(report, ctx, problems, "%s: record %s has no entry %s in index '%s'",
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
            key_render(k.mv_data, k.mv_size, shown, sizeof shown);
            key_render(d.mv_data, d.mv_size, shown2, sizeof shown2);
            if (mdb_get(t->txn, c->dbi, &d, &rec) != 0) {
                problem(report, ctx, problems,
                        "%s: index '%s' entry %s points to record %s, which does not exist",
                        c->name, ix->name, shown, shown2);
            } else if (store_index_key(c, ix, rec.mv_data, rec.mv_size, &ib) != 0 ||
                       ib.len != k.mv_size || memcmp(ib.p, k.mv_data, ib.len) != 0) {
                problem(report, ctx, problems, "%s: index '%s' entry %s does not match record %s",
                        c->name, ix->name, shown, shown2);
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
    if ((rc = sync_defs(t)) == 0) {
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
    int crc = check_meta(path);
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
        dir_state(dest, &has_data, &has_other);
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
    snprintf(disk_dir, sizeof disk_dir, "%s", dest);
    int rc = mdb_env_copy2(s->env, dest, MDB_CP_COMPACT);
    int e = rc ? lmdb_err(rc, "backup") : 0;
    snprintf(disk_dir, sizeof disk_dir, "%s", s->path);
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
        return lmdb_err(rc, c->name);
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

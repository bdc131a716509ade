/*
 * store.c — the LMDB store (see store.h for the layout and the states).
 *
 * This file: opening, transactions, record bytes and records. The rest of
 * the store, along its seams: store_def.c (the definitions: cache and
 * database copy), store_scan.c (scans and range counts), store_check.c
 * (damage: the meta-page check and the fault guard; check, backup, stat).
 * store_int.h holds the structs and helpers they share. Calls LMDB, codec.c
 * and schema.c.
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
#include "store_int.h"

#include "heap_thp.h"

#include "clock.h"
#include "codec.h"
#include "err.h"

#include <assert.h>
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

/* The folder of the database being written, for the full-disk message. */
char store_disk_dir[4096];

int store_lmdb_err(int rc, const char *what) {
    if ((rc == EIO || rc == ENOSPC || rc == EDQUOT) && store_disk_dir[0]) {
        /* LMDB says EIO for a short write (its pwrite got part of a page
         * in): on a full disk that is the cause, so say so */
        struct statvfs vf;
        if (rc != EIO || (statvfs(store_disk_dir, &vf) == 0 &&
                          (uint64_t)vf.f_bavail * vf.f_frsize < ((uint64_t)1 << 20))) {
            return err_set(GH_EIO,
                           _("%s: the disk holding %s is full (%s); nothing half-written was "
                             "kept: free some space and run the command again"),
                           what, store_disk_dir, rc == EDQUOT ? "over quota" : "no space left");
        }
    }
    if (rc == MDB_MAP_FULL) {
        return err_set(GH_EMAPFULL, _("%s: the database map is full"), what);
    }
    if (rc == MDB_DBS_FULL) {
        return err_set(GH_EINVAL,
                       _("%s: this command has defined %d collections and indexes more than the "
                         "database held when it started, all it makes room for; what it "
                         "committed is kept: run the command again to define the rest"),
                       what, STORE_DBS_ROOM);
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

int store_dir_state(const char *path, int *has_data, int *has_other) {
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

int store_meta_get_u64(MDB_txn *txn, MDB_dbi meta, const char *name, uint64_t *v) {
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

int store_meta_put_u64(MDB_txn *txn, MDB_dbi meta, const char *name, uint64_t v) {
    MDB_val k = {strlen(name), (void *)name}, d = {8, &v};
    return mdb_put(txn, meta, &k, &d, 0);
}

/* Creates _meta in a new environment, or checks the one there. */
static int init_meta(store *s, int fresh) {
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, fresh ? 0 : MDB_RDONLY, &txn);
    if (rc) {
        return store_lmdb_err(rc, s->path);
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
        if ((rc = store_meta_put_u64(txn, s->meta, "format", STORE_FORMAT)) ||
            (rc = store_meta_put_u64(txn, s->meta, "gen", 1)) ||
            (rc = mdb_put(txn, s->meta, &k, &d, 0))) {
            goto fail;
        }
        if ((rc = mdb_txn_commit(txn))) {
            return store_lmdb_err(rc, s->path);
        }
        return 0;
    }
    rc = store_meta_get_u64(txn, s->meta, "format", &fmt);
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
    return store_lmdb_err(rc, s->path);
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
        if (store_dir_state(path, &has_data, &has_other) != 0) {
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
    uint64_t named = 0; /* collections and indexes in the file (STORE_DBS_ROOM) */
    if (!fresh) {
        int crc = store_check_meta_n(path, &named);
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
    snprintf(store_disk_dir, sizeof store_disk_dir, "%s", path);
    s->lockfd = s->compact_lfd = -1;
    int rc = mdb_env_create(&s->env);
    if (rc) {
        free(s->path);
        free(s);
        return store_lmdb_err(rc, path);
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
    s->dbi_room = (MDB_dbi)(named < 30000 ? named : 30000) + STORE_DBS_ROOM;
    mdb_env_set_maxdbs(s->env, s->dbi_room + STORE_DBS_OWN);
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
    store_map_note(s, 1);
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
    store_map_note(s, 0);
    mdb_env_close(s->env);
    if (s->lockfd >= 0) {
        close(s->lockfd);
    }
    free(s->path);
    free(s);
    return rc < 0 ? rc : GH_ELMDB;
}

void store_close(store *s) {
    if (!s) {
        return;
    }
    for (int i = 0; i < s->npool; i++) {
        mdb_txn_abort(s->pool[i]);
    }
    store_cache_drop(s);
    while (s->retired) {
        store_coll *next = s->retired->retired_next;
        store_coll_free(s->retired);
        s->retired = next;
    }
    store_map_note(s, 0);
    mdb_env_close(s->env);
    if (s->lockfd >= 0) {
        close(s->lockfd);
    }
    if (s->compact_lfd >= 0) {
        close(s->compact_lfd);
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
    store_map_note(s, 1); /* the map moved */
    return rc ? store_lmdb_err(rc, "growing the map") : 0;
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

/* ---- transactions ------------------------------------------------------------------- */

/* Closes the write cursors t keeps (invariant 7). */
void store_wcur_forget(store_txn *t) {
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
        /* written over the old pid, then cut to its length: truncating to 0
         * first made ext4 free the block (a discard) and write the file out
         * at close, at every write transaction (issue 18, W6). The pid is a
         * courtesy for waiting processes (read up to the first newline); the
         * lock holds anyway. */
        if (pwrite(s->lockfd, me, (size_t)n2, 0) == n2 && ftruncate(s->lockfd, n2) != 0) {
            /* a longer old pid's tail stays after the newline: harmless */
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

int store_writes_refused(const store *s) {
    return s->refuse_write != NULL;
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
        store_wcur_forget(parent); /* invariant 7 */
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
        return store_lmdb_err(rc, "beginning a transaction");
    }
    if (parent) {
        t->map_lo = parent->map_lo;
        t->map_used = parent->map_used;
    } else {
        MDB_envinfo info;
        MDB_stat st;
        if (s->map_lo && mdb_env_info(s->env, &info) == 0 && mdb_env_stat(s->env, &st) == 0) {
            t->map_lo = s->map_lo; /* (info.me_mapaddr is the fixed address: NULL here) */
            t->map_used = t->map_lo + (info.me_last_pgno + 1) * (size_t)st.ms_psize;
        }
    }
    *out = t;
    return 0;
}

int store_val_bad(const store_txn *t, const MDB_val *d, const char *what) {
    return err_set(GH_ECORRUPT,
                   _("%s is damaged: a record of '%s' claims %zu bytes, more than the database "
                     "holds (a length overwritten). Nothing was written. Run gonghui --db %s "
                     "check, and restore the database from a backup."),
                   t->s->path, what, d->mv_size, t->s->path);
}

/* The counts entry of collection `name` in t, made if missing (NULL when
 * out of memory: counting is best effort, never a reason to fail a write). */
static store_counts *count_in(store_counts **list, int *count, const char *name, size_t len) {
    for (int i = 0; i < *count; i++) {
        /* the first byte first: a transaction writing two collections
         * (W2: awards and _events) asked strncmp of the other one every put */
        if ((len == 0 || (*list)[i].name[0] == name[0]) &&
            strncmp((*list)[i].name, name, len) == 0 && (*list)[i].name[len] == 0) {
            return &(*list)[i];
        }
    }
    store_counts *n = realloc(*list, (size_t)(*count + 1) * sizeof *n);
    if (!n) {
        return NULL;
    }
    *list = n;
    memset(&n[*count], 0, sizeof *n);
    if (!(n[*count].name = strndup(name, len))) {
        return NULL;
    }
    return &n[(*count)++];
}

static store_counts *count_of(store_txn *t, const char *name) {
    return count_in(&t->counts, &t->ncounts, name, strlen(name));
}

/* count_of for the writes to c: two collections written in turn (W2: awards
 * and _events) asked for their entry by name every put (issue 18). */
static store_counts *count_coll(store_txn *t, const store_coll *c) {
    for (int i = 0; i < STORE_COUNT_HITS; i++) {
        if (t->count_hit[i].name == c->name && t->count_hit[i].at < t->ncounts) {
            return &t->counts[t->count_hit[i].at];
        }
    }
    store_counts *n = count_of(t, c->name);
    if (n) {
        int i = t->count_next++ % STORE_COUNT_HITS;
        t->count_hit[i].name = c->name;
        t->count_hit[i].at = (int)(n - t->counts);
    }
    return n;
}

static void free_list(store_counts **list, int *n) {
    for (int i = 0; i < *n; i++) {
        free((*list)[i].name);
    }
    free(*list);
    *list = NULL;
    *n = 0;
}

static void free_counts(store_txn *t) {
    free_list(&t->counts, &t->ncounts);
    memset(t->count_hit, 0, sizeof t->count_hit);
    free_list(&t->tally, &t->ntally);
}

void store_txn_tally(store_txn *t, const char *name, size_t len) {
    store_counts *c = count_in(&t->tally, &t->ntally, name, len);
    if (c) {
        c->inserted++;
    }
}

const store_counts *store_txn_tallies(const store_txn *t, int *n) {
    *n = t->ntally;
    return t->tally;
}

store_counts *store_counts_copy(const store_counts *c, int n) {
    store_counts *out = calloc((size_t)n + 1, sizeof *out);
    for (int i = 0; out && i < n; i++) {
        out[i] = c[i];
        out[i].name = strdup(c[i].name);
    }
    return out;
}

void store_counts_free(store_counts *c, int n) {
    for (int i = 0; c && i < n; i++) {
        free(c[i].name);
    }
    free(c);
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
        sc->plain = 0; /* store_scan_next's fast path reads the cursor */
        sc->t = NULL;
    }
    t->scans = NULL;
}

void *store_txn_aux(const store_txn *t) {
    return t->aux;
}

void store_txn_set_aux(store_txn *t, void *p, void (*free_fn)(void *)) {
    if (t->aux && t->aux_free) {
        t->aux_free(t->aux);
    }
    t->aux = p;
    t->aux_free = free_fn;
}

static void txn_release(store_txn *t, int committed) {
    store *s = t->s;
    store_txn_set_aux(t, NULL, NULL);
    if (!t->parent && t->write) {
        s->wtxn = NULL;
        writer_unlock(s);
        if (!committed && t->defs_touched) {
            store_cache_drop(s); /* invariant 4 */
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
        for (int i = 0; i < t->ntally; i++) {
            store_counts *pc = count_in(&t->parent->tally, &t->parent->ntally, t->tally[i].name,
                                        strlen(t->tally[i].name));
            if (pc) {
                pc->inserted += t->tally[i].inserted;
            }
        }
    } else if (t->parent && !committed && t->defs_touched) {
        store_cache_drop(s);
    }
    free_counts(t);
    free(t);
}

int store_txn_commit(store_txn *t) {
    end_scans(t);
    if (!t->write) {
        store *s = t->s;
        store_txn_set_aux(t, NULL, NULL);
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
    if (t->bulk) { /* a bulk load's held index entries first (store_bulk.c invariant 1) */
        int brc = bulk_flush(t->bulk, NULL);
        bulk_detach(t);
        if (brc) {
            store_txn_abort(t);
            return brc;
        }
    }
    store_wcur_forget(t);
    int rc = mdb_txn_commit(t->txn);
    txn_release(t, rc == 0);
    return rc ? store_lmdb_err(rc, "committing") : 0;
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
    bulk_detach(t);
    store_wcur_forget(t);
    mdb_txn_abort(t->txn);
    txn_release(t, 0);
}

/* ---- units of work ------------------------------------------------------------------ */

int store_unit_again(store *s, int rc, int attempt) {
    return rc == GH_EMAPFULL && attempt < STORE_GROW_TRIES && store_grow(s) == 0;
}

int store_unit(store *s, int (*work)(store_txn *t, void *ctx),
               int (*commit)(store_txn *t, void *ctx), void *ctx) {
    for (int attempt = 0;; attempt++) {
        store_txn *t;
        int rc = store_txn_begin(s, NULL, 1, &t);
        if (rc) {
            return rc;
        }
        rc = work(t, ctx);
        /* the unit's transaction is the unit's to end, never the work's */
        assert(s->wtxn == t && "store_unit: work ended its transaction itself");
        if (rc == 0) {
            rc = commit ? commit(t, ctx) : store_txn_commit(t);
        } else {
            store_txn_abort(t);
        }
        if (!store_unit_again(s, rc, attempt)) {
            return rc;
        }
    }
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

/* Finds the start of fields 0..upto-1 of a record: off[i] points at field
 * i's encoding, or is NULL when the record is shorter (a field added later)
 * or i >= upto. 0 or GH_ECORRUPT. */
static int record_fields_upto(const store_coll *c, const void *rec, size_t n,
                              const unsigned char **off, int upto) {
    mp_reader r;
    mp_item it;
    const unsigned char *p = rec;
    for (int i = upto; i < c->nfields; i++) {
        off[i] = NULL;
    }
    if (upto == 1 && n > 1 && p[0] > 0x90 && p[0] <= 0x9f) {
        /* An array of fewer than 16 fields, and only the first is read (the
         * key of most collections): it starts after the header (its readers
         * bound it by end) */
        off[0] = p + 1;
        return 0;
    }
    mp_reader_init(&r, rec, n);
    if (mp_read(&r, &it) != 0 || it.type != MP_ARRAY) {
        return err_set(GH_ECORRUPT, _("collection '%s': a stored record is corrupt (not an array)"),
                       c->name);
    }
    uint32_t have = it.n;
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

/* Finds the start of the key and indexed fields of a record (and of index
 * `also`'s, c does not list yet): off[i] as record_fields_upto sets it, NULL
 * past the last field the store reads (a record is encoded by its writer;
 * check validates whole records). 0 or GH_ECORRUPT. */
static int record_fields(const store_coll *c, const void *rec, size_t n, const unsigned char **off,
                         const store_index *also) {
    int upto = c->key + 1;
    for (int j = 0; also && j < also->nfields; j++) {
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
    return record_fields_upto(c, rec, n, off, upto);
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
    size_t left = (size_t)(end - p);
    if (left && c->fields[f].type != FT_NUMBER &&
        (*p < 0x80 || (*p == 0xcc && left >= 2) || (*p == 0xcd && left >= 3) ||
         (*p == 0xce && left >= 5))) {
        /* a non-negative integer below 2^32, the usual id, without the general reader */
        uint64_t v = *p < 0x80    ? *p
                     : *p == 0xcc ? p[1]
                     : *p == 0xcd
                         ? (uint64_t)p[1] << 8 | p[2]
                         : (uint64_t)p[1] << 24 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 8 | p[4];
        key_put_int(out, (int64_t)v);
        return 0;
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
    for (int j = 0; j < ix->nfields; j++) { /* a nil field: no entry, nothing to encode */
        const unsigned char *p = off[ix->fields[j]];
        if (!p || (p < end && *p == 0xc0)) {
            return 1;
        }
    }
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
    int rc = record_fields_upto(c, rec, n, off, c->key + 1); /* the key alone */
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
void store_key_render(const void *key, size_t n, char *out, size_t outn) {
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

int store_need_write(store_txn *t, const store_coll *c) {
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
        return store_lmdb_err(rc, c->name);
    }
    if ((rc = store_val_check(t, &d, c->name)) != 0) {
        return rc;
    }
    *val = d.mv_data;
    *vlen = d.mv_size;
    return 0;
}

int store_key_too_long(const store_coll *c, const char *what, size_t n) {
    return err_set(GH_ETOOBIG,
                   _("collection '%s': %s is %zu bytes encoded, over the limit of %d; use a "
                     "shorter value"),
                   c->name, what, n, STORE_MAX_KEY);
}

/* The refusal of a primary key that is taken. */
static int pk_taken(const store_coll *c, const codec_buf *pk) {
    char shown[160];
    store_key_render(pk->p, pk->len, shown, sizeof shown);
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
    store_wcur_forget(t); /* invariant 7 */
    t->writes++;          /* pages changed: borrowed record pointers may be stale */
    for (int i = 0; i < c->nindexes; i++) {
        if (state[i] & 4) {
            MDB_val ik = {ikeys[2 * i].len, ikeys[2 * i].p};
            int e = mdb_del(t->txn, c->indexes[i].dbi, &ik, NULL);
            if (e) {
                return store_lmdb_err(e, c->name);
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

    if ((rc = store_need_write(t, c))) {
        return rc;
    }
    heap_thp_note();                  /* the pages this write dirties on huge pages (heap_thp.c) */
    store_bulk *bulk = bulk_of(t, c); /* index entries held back (store_bulk.c) */
    if (bulk && mode != STORE_INSERT) {
        if ((rc = bulk_flush(bulk, c))) {
            return rc;
        }
        bulk = NULL;
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
    if ((rc = record_fields(c, rec, n, off, NULL)) || (rc = store_rec_text(c, rec, n))) {
        goto out; /* store_rec_text: text and numbers a file can hold (issue 16, class 11) */
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
        store_key_render(pk.p, pk.len, shown, sizeof shown);
        snprintf(what, sizeof what, "key field '%s' (%s)", c->fields[c->key].name, shown);
        rc = store_key_too_long(c, what, pk.len);
        goto out;
    }
    k.mv_size = pk.len;
    k.mv_data = pk.p;
    int64_t ikey = 0;
    int int_key = pk.len == 9 && pk.p[0] == KEY_INT;
    if (int_key) {
        uint64_t u;
        memcpy(&u, pk.p + 1, 8); /* big-endian: a loop of 8 shifts cost 48 instructions a put */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        u = __builtin_bswap64(u);
#endif
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
            rc = store_lmdb_err(rc, c->name);
            goto out;
        }
        if (exists && (rc = store_val_check(t, &old, c->name)) != 0) {
            goto out;
        }
        rc = 0;
    }
    if (!exists && mode == STORE_UPDATE) {
        store_key_render(pk.p, pk.len, shown, sizeof shown);
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
            store_key_render(nb->p, nb->len, shown, sizeof shown);
            snprintf(what, sizeof what, "the value of '%s' for index '%s' (%s)", ix->name, ix->name,
                     shown);
            rc = store_key_too_long(c, what, nb->len);
            goto out;
        }
        if (hasnew && ix->dupfixed && pk.len != STORE_PK_FIXED) { /* invariant 8 */
            store_key_render(pk.p, pk.len, shown, sizeof shown);
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
        int e = bulk ? bulk_unique(bulk, c, i, ik.mv_data, ik.mv_size, &iv)
                     : wput(t, ix->dbi, &ik, &iv, MDB_NOOVERWRITE);
        if (e == 0) {
            state[i] |= bulk ? 0 : 4;
            continue;
        }
        if (bulk && e != MDB_KEYEXIST) {
            rc = e;
            goto out;
        }
        if (e != MDB_KEYEXIST) {
            rc = store_lmdb_err(e, c->name);
            goto out;
        }
        if (iv.mv_size == pk.len && memcmp(iv.mv_data, pk.p, pk.len) == 0) {
            continue; /* this record's own entry */
        }
        store_key_render(ik.mv_data, ik.mv_size, shown, sizeof shown);
        store_key_render(iv.mv_data, iv.mv_size, shown2, sizeof shown2);
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
            rc = store_lmdb_err(rc, c->name);
        }
        goto out;
    }
    if (int_key) {
        rt_note(t, c, ikey);
    }
    store_counts *cnt = count_coll(t, c);
    if (cnt) {
        if (exists) {
            cnt->updated++;
        } else {
            cnt->inserted++;
        }
    }
    if (bulk) { /* held back, sorted and appended later */
        rc = bulk_add(bulk, c, ikeys, state, pk.p, pk.len);
        t->writes++;
        goto out;
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
                rc = store_lmdb_err(e, c->name);
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
                rc = store_lmdb_err(e, c->name);
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
    if ((rc = store_need_write(t, c))) {
        return rc;
    }
    if ((rc = bulk_flush(bulk_of(t, c), c))) { /* a load's held entries first, as store_put */
        return rc;
    }
    const void *v;
    size_t vn;
    if ((rc = store_get(t, c, key, klen, &v, &vn)) != 0) {
        return rc;
    }
    d.mv_data = (void *)v, d.mv_size = vn;
    store_wcur_forget(t); /* invariant 7 */
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
                rc = store_lmdb_err(e, c->name);
            }
        }
    }
    codec_buf_free(&ib);
    if (rc == 0) {
        int e = mdb_del(t->txn, c->dbi, &k, NULL);
        rc = e ? store_lmdb_err(e, c->name) : 0;
    }
    if (rc == 0) {
        store_counts *cnt = count_coll(t, c);
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
        return store_lmdb_err(rc, c->name);
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
        return store_lmdb_err(rc, c->name);
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
        return store_lmdb_err(rc, c->name);
    }
    *n = st.ms_entries;
    return 0;
}

int store_coll_empty(store_txn *t, const store_coll *c) {
    uint64_t n = 0;
    int rc = store_need_write(t, c);
    if (rc || (rc = store_count(t, c, &n))) {
        return rc;
    }
    if (bulk_of(t, c)) {
        bulk_detach(t); /* its held entries name records that go now */
    }
    store_wcur_forget(t); /* invariant 7: the tables change under its cursors */
    int e = mdb_drop(t->txn, c->dbi, 0);
    for (int i = 0; e == 0 && i < c->nindexes; i++) {
        e = mdb_drop(t->txn, c->indexes[i].dbi, 0);
    }
    if (e) {
        return store_lmdb_err(e, c->name);
    }
    store_counts *cnt = count_of(t, c->name);
    if (cnt) {
        cnt->deleted += n;
    }
    ((store_coll *)c)->rt_txnid = 0; /* its largest key is gone */
    t->writes++;
    return 0;
}

int store_find(store_txn *t, const store_coll *c, int index, const void *ikey, size_t iklen,
               const void **pk, size_t *pklen) {
    MDB_val k = {iklen, (void *)ikey}, d;
    if (iklen > STORE_MAX_KEY) {
        return GH_ENOTFOUND;
    }
    store_bulk *b = bulk_of(t, c);
    if (b && c->indexes[index].unique) { /* a load's rows too (its hashes, held entries, runs) */
        return store_bulk_find(b, c, index, ikey, iklen, pk, pklen);
    }
    int rc = mdb_get(t->txn, c->indexes[index].dbi, &k, &d);
    if (rc == MDB_NOTFOUND) {
        return GH_ENOTFOUND;
    }
    if (rc) {
        return store_lmdb_err(rc, c->name);
    }
    *pk = d.mv_data;
    *pklen = d.mv_size;
    return 0;
}

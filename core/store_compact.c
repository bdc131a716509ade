/*
 * store_compact.c — `gonghui compact`: the database rewritten in place, each
 * collection and index in key order and together, its free pages given back.
 *
 * LMDB never moves a page it has written but copies it on every change, so a
 * table written at random (a unique index of ID numbers filled member by
 * member, or any table after years of edits) ends with its pages strewn over
 * the whole file, and the file never shrinks. A lookup then touches a page
 * anywhere in the map: at 3,000,000 members the ID-number index's 42,746
 * leaves lay in 13,938 of the file's 17,448 windows of 64 KiB, and entering a
 * sheet of 100,000 rows faulted in nearly all of them (bench W10). Written in
 * key order, the same index fills 2,700 windows, next to each other.
 *
 * How: LMDB's compacting copy (the one `gonghui backup` makes) is written
 * beside data.mdb, made durable, and renamed over it. Only while no other
 * process has the database open: one that has would go on reading, and
 * writing, the old file. LMDB takes a shared lock on the lock file's first
 * byte in every process that opens the environment (and tries it exclusive
 * first, to know whether it is the only one); this process asks for it
 * exclusive. Granted, nobody else has the database open, and any process
 * that opens it now waits in LMDB's open until this one has closed it, and
 * then sees the new file. (A process of a user who may not write data.mdb
 * opens it read-only, and LMDB opens the data file before it waits for the
 * lock: such a reader started meanwhile reads the old file, which holds the
 * same records and is never written again.) Refused, the database is left as
 * it was, and the message names the process that holds it.
 *
 * A crash before the rename leaves data.mdb as it was (and a data.mdb.compact
 * that the next compact writes over); after it, the new file, complete and
 * synced. The caller closes the store right after: this process's map still
 * shows the old file.
 */
#include "store_int.h"

#include "err.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* 0 when this process now holds the lock file's first byte exclusively;
 * GH_EBUSY naming the process that holds it otherwise. *fd: the lock file,
 * to be closed only after the environment (closing it drops this process's
 * locks on the file, LMDB's among them). */
static int alone(const store *s, int *fd) {
    char lp[4200];
    snprintf(lp, sizeof lp, "%s/lock.mdb", s->path);
    *fd = open(lp, O_RDWR | O_CLOEXEC);
    if (*fd < 0) {
        return err_set(GH_EIO, _("cannot open %s: %s"), lp, strerror(errno));
    }
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
    if (fcntl(*fd, F_SETLK, &fl) == 0) {
        return 0;
    }
    if (errno != EAGAIN && errno != EACCES) {
        return err_set(GH_EIO, _("cannot lock %s: %s"), lp, strerror(errno));
    }
    struct flock who = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
    if (fcntl(*fd, F_GETLK, &who) == 0 && who.l_type != F_UNLCK) {
        return err_set(GH_EBUSY,
                       _("%s is open in another process (pid %ld): compact needs the database to "
                         "itself; end that process (a run, a server, a repl) and compact again"),
                       s->path, (long)who.l_pid);
    }
    return err_set(GH_EBUSY,
                   _("%s is open in another process: compact needs the database to itself; end "
                     "that process (a run, a server, a repl) and compact again"),
                   s->path);
}

int store_compact(store *s, uint64_t *before, uint64_t *after) {
    char dp[4200], cp[4200];
    struct stat st;
    int lfd = -1, fd = -1, rc;
    if (s->readonly || (s->flags & STORE_RDONLY)) {
        return err_set(GH_EINVAL, _("%s is open read-only: compact rewrites it"), s->path);
    }
    snprintf(dp, sizeof dp, "%s/data.mdb", s->path);
    snprintf(cp, sizeof cp, "%s/data.mdb.compact", s->path);
    if ((rc = alone(s, &lfd))) {
        goto out;
    }
    if (stat(dp, &st) != 0) {
        rc = err_set(GH_EIO, _("cannot read %s: %s"), dp, strerror(errno));
        goto out;
    }
    *before = (uint64_t)st.st_size;
    fd = open(cp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = err_set(GH_EIO, _("cannot create %s: %s"), cp, strerror(errno));
        goto out;
    }
    int e = mdb_env_copyfd2(s->env, fd, MDB_CP_COMPACT);
    if (e == 0 && fsync(fd) != 0) {
        e = errno;
    }
    if (e == 0 && fstat(fd, &st) != 0) {
        e = errno;
    }
    if (close(fd) != 0 && e == 0) {
        e = errno;
    }
    fd = -1;
    if (e) {
        rc = store_lmdb_err(e, "compact"); /* (a full disk says so) */
        unlink(cp);
        goto out;
    }
    *after = (uint64_t)st.st_size;
    if (rename(cp, dp) != 0) {
        rc = err_set(GH_EIO, _("cannot replace %s: %s"), dp, strerror(errno));
        unlink(cp);
        goto out;
    }
    int dfd = open(s->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) { /* the rename itself made durable */
        fsync(dfd);
        close(dfd);
    }
out:
    /* (the lock file stays open until the store is closed: closing it would
     * drop this process's locks on it, LMDB's shared one too, while this
     * process still has reader slots in it; store_close closes it after the
     * environment) */
    s->compact_lfd = lfd;
    return rc;
}

int store_free_bytes(store_txn *t, uint64_t *bytes) {
    MDB_cursor *cur;
    MDB_val k, d;
    MDB_stat st;
    uint64_t n = 0;
    /* LMDB's free list is its table 0: per transaction that freed pages, the
     * list of their numbers, its length first (as mdb_stat -f counts) */
    int rc = mdb_cursor_open(t->txn, 0, &cur);
    if (rc) {
        return store_lmdb_err(rc, "free pages");
    }
    int m = mdb_cursor_get(cur, &k, &d, MDB_FIRST);
    for (; m == 0; m = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
        size_t len;
        if (d.mv_size >= sizeof len) {
            memcpy(&len, d.mv_data, sizeof len);
            n += len;
        }
    }
    mdb_cursor_close(cur);
    if (m != MDB_NOTFOUND) {
        return store_lmdb_err(m, "free pages");
    }
    mdb_env_stat(t->s->env, &st);
    *bytes = n * st.ms_psize;
    return 0;
}

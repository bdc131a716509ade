/*
 * store_scan.c — the store's scans: a cursor over a collection or an index
 * between bounds, forwards or backwards, and counting a range without
 * reading its records. Open scans are listed on their transaction and
 * invalidated when it ends (store.c).
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

/* ---- scans ---------------------------------------------------------------------------------- */

int store_scan_open(store_txn *t, const store_coll *c, int index, const store_range *r,
                    store_scan **out) {
    int brc = index >= 0 ? bulk_flush(bulk_of(t, c), c) : 0; /* the index shows a load's rows */
    if (brc) {
        return brc;
    }
    store_scan *sc = calloc(1, sizeof *sc);
    if (!sc) {
        return GH_ENOMEM;
    }
    static uintptr_t pagesz;
    if (!pagesz) {
        long n = sysconf(_SC_PAGESIZE);
        pagesz = n > 0 ? (uintptr_t)n : 4096;
    }
    sc->t = t;
    sc->c = c;
    sc->index = index;
    sc->page_mask = ~(pagesz - 1);
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
        return rc ? store_lmdb_err(rc, c->name) : GH_ENOMEM;
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

static int scan_next_slow(store_scan *sc, const void **pk, size_t *pklen, const void **val,
                          size_t *vlen);

/* Pages of the map a plain scan lets go of at a time (4 MB of 4 KB pages). */
#define SCAN_LET_GO 1024

/* A whole-collection scan maps every page of the collection as it passes,
 * and they stay mapped, counted in the process's resident memory, until the
 * store closes: at 1M members W2's peak RSS was the whole 198 MB file,
 * where SQLite, reading through a small cache, holds 6 MB (issue 18).
 * So a plain scan, each time its records have moved to another page
 * SCAN_LET_GO times, tells the kernel it no longer needs the span of the
 * map they lay in (MADV_DONTNEED): the pages stay in the page cache, and
 * whatever reads one again (a branch page, another tree's page in the same
 * span, the record just returned) faults it back in from there, unchanged:
 * the map is the file's, shared, and pages this transaction wrote live
 * outside it. Only the time of a fault is at stake, never the data.
 * Called by scan_passed when a record lies on another page than the one
 * before. */
static void scan_let_go(store_scan *sc, const void *rec) {
    const store_txn *t = sc->t;
    if ((const char *)rec < t->map_lo || (const char *)rec >= t->map_used) {
        return; /* a page written in this transaction (malloc'd by LMDB) */
    }
    uintptr_t pagesz = ~sc->page_mask, pg = (uintptr_t)rec & sc->page_mask;
    pagesz++;
    if (sc->gone_at && ++sc->gone_n >= SCAN_LET_GO) {
        /* up to the page before the current one: the record just returned
         * is read by the caller now */
        uintptr_t lo = sc->gone_lo < pg ? sc->gone_lo : pg,
                  hi = sc->gone_hi + pagesz > pg ? pg : sc->gone_hi + pagesz;
        if (hi > lo) {
            madvise((void *)lo, hi - lo, MADV_DONTNEED);
        }
        sc->gone_n = 0;
        sc->gone_lo = sc->gone_hi = pg;
    } else if (!sc->gone_at) {
        sc->gone_lo = sc->gone_hi = pg;
    } else {
        sc->gone_lo = pg < sc->gone_lo ? pg : sc->gone_lo;
        sc->gone_hi = pg > sc->gone_hi ? pg : sc->gone_hi;
    }
    sc->gone_at = pg;
}

/* A plain scan's record rec, just stepped to: the pages passed are let go
 * of, SCAN_LET_GO page changes at a time (a record on the page of the one
 * before costs one comparison). */
static inline void scan_passed(store_scan *sc, const void *rec) {
    if (((uintptr_t)rec & sc->page_mask) != sc->gone_at) {
        scan_let_go(sc, rec);
    }
}

int store_scan_next(store_scan *sc, const void **pk, size_t *pklen, const void **val,
                    size_t *vlen) {
    if (sc->plain) {
        /* the common scan, forwards in key order to the end: no bound to
         * test, and kept apart from the rest so that it saves no registers */
        MDB_val k;
        int rc = mdb_cursor_get(sc->cur, &k, &sc->rec, MDB_NEXT);
        if (rc == 0) {
            *pk = k.mv_data;
            *pklen = k.mv_size;
            if ((rc = store_val_check(sc->t, &sc->rec, sc->c->name)) != 0) {
                return rc;
            }
            *val = sc->rec.mv_data;
            *vlen = sc->rec.mv_size;
            scan_passed(sc, sc->rec.mv_data);
            return 0;
        }
        sc->plain = 0;
        if (rc == MDB_NOTFOUND) {
            sc->done = 1;
            return GH_ENOTFOUND;
        }
        return store_lmdb_err(rc, sc->c->name);
    }
    return scan_next_slow(sc, pk, pklen, val, vlen);
}

int store_scan_batch(store_scan *sc, store_rec *out, int max) {
    if (!sc->plain) {
        int rc = store_scan_next(sc, &out->pk, &out->pkn, &out->val, &out->n);
        return rc ? rc : 1;
    }
    int n = 0;
    MDB_val k, d;
    while (n < max) {
        int rc = mdb_cursor_get(sc->cur, &k, &d, MDB_NEXT);
        if (rc) {
            sc->plain = 0;
            if (rc != MDB_NOTFOUND) {
                return store_lmdb_err(rc, sc->c->name);
            }
            sc->done = 1;
            return n ? n : GH_ENOTFOUND;
        }
        if ((rc = store_val_check(sc->t, &d, sc->c->name)) != 0) {
            return rc;
        }
        out[n].pk = k.mv_data;
        out[n].pkn = k.mv_size;
        out[n].val = d.mv_data;
        out[n].n = d.mv_size;
        scan_passed(sc, d.mv_data);
        n++;
    }
    sc->rec = d;
    return n;
}

static int scan_next_slow(store_scan *sc, const void **pk, size_t *pklen, const void **val,
                          size_t *vlen) {
    MDB_val k, d;
    int rc;
    if (sc->done || !sc->cur) {
        return GH_ENOTFOUND;
    }
    if (!sc->started) {
        sc->started = 1;
        sc->plain = sc->index < 0 && !sc->reverse && !sc->prefix.len && !sc->hi.len;
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
            return store_lmdb_err(rc, sc->c->name);
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
            store_key_render(sc->pk.p, sc->pk.len, shown, sizeof shown);
            return err_set(GH_ECORRUPT,
                           _("collection '%s': index '%s' points to record %s, which does not "
                             "exist (run gonghui check)"),
                           sc->c->name, sc->c->indexes[sc->index].name, shown);
        }
        if (rc) {
            return store_lmdb_err(rc, sc->c->name);
        }
        *pk = sc->pk.p;
        *pklen = sc->pk.len;
    }
    if ((rc = store_val_check(sc->t, &sc->rec, sc->c->name)) != 0) {
        return rc;
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
    if ((rc = store_val_check(sc->t, &d, sc->c->name)) != 0) {
        return rc;
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
    int brc = index >= 0 ? bulk_flush(bulk_of(t, c), c) : 0; /* the index shows a load's rows */
    if (brc) {
        return brc;
    }
    if (!r || (!r->lo && !r->hi && !r->prefix)) {
        if (index < 0) {
            return store_count(t, c, n);
        }
        MDB_stat st;
        int rc = mdb_stat(t->txn, c->indexes[index].dbi, &st);
        if (rc) {
            return store_lmdb_err(rc, c->name);
        }
        *n = st.ms_entries;
        return 0;
    }
    MDB_cursor *cur;
    MDB_val k, d;
    MDB_dbi dbi = index < 0 ? c->dbi : c->indexes[index].dbi;
    int rc = mdb_cursor_open(t->txn, dbi, &cur);
    if (rc) {
        return store_lmdb_err(rc, c->name);
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
        return store_lmdb_err(rc, c->name);
    }
    *n = count;
    return 0;
}

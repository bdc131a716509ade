/*
 * store_def.c — the store's collection definitions: the cache of decoded
 * definitions (checked against the database's "gen" counter, invariant 3 of
 * store.c) and their copies in the database: define, redefine (merging an
 * old definition into a new one, building and dropping indexes), drop.
 * Invariants: store.c's block (3, 4, 6 and 8 are about this file).
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
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

/* Keeps a definition that leaves the cache alive until store_close. */
static void retire(store *s, store_coll *c) {
    c->retired_next = s->retired;
    s->retired = c;
}

void store_cache_drop(store *s) {
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

/* The order of keys (and of an index's duplicates, primary keys): exactly
 * LMDB's default for our tables (bytes as memcmp compares them, then the
 * shorter first), so databases written before it, and LMDB's own tools,
 * agree with it; it compares eight bytes at a time, in registers, instead
 * of a call to memcmp. Keys are short (an integer key is 9 bytes, an ID
 * number 20), and a lookup compares some forty of them. */
int store_key_cmp(const MDB_val *a, const MDB_val *b) {
    const unsigned char *p = a->mv_data, *q = b->mv_data;
    size_t n = a->mv_size < b->mv_size ? a->mv_size : b->mv_size;
    for (; n >= 8; p += 8, q += 8, n -= 8) {
        uint64_t x, y;
        memcpy(&x, p, 8);
        memcpy(&y, q, 8);
        if (x != y) {
            x = __builtin_bswap64(x); /* big-endian: the first differing byte decides */
            y = __builtin_bswap64(y);
            return x < y ? -1 : 1;
        }
    }
    for (; n > 0; p++, q++, n--) {
        if (*p != *q) {
            return *p < *q ? -1 : 1;
        }
    }
    return a->mv_size < b->mv_size ? -1 : a->mv_size > b->mv_size;
}

/* Opens c's tables; `room` (0: no limit) is the handle number a new
 * collection of the script's may not reach (store_int.h, STORE_DBS_ROOM):
 * the handles above it are kept for gonghui's own collections. */
static int open_dbis(MDB_txn *txn, store_coll *c, int create, MDB_dbi room) {
    char name[512];
    snprintf(name, sizeof name, "c:%s", c->name);
    int rc = mdb_dbi_open(txn, name, create ? MDB_CREATE : 0, &c->dbi);
    if (rc == 0) {
        rc = mdb_set_compare(txn, c->dbi, store_key_cmp);
    }
    if (rc) {
        return rc;
    }
    if (room && c->dbi + (MDB_dbi)c->nindexes >= room) {
        return MDB_DBS_FULL; /* the transaction's end closes the handle */
    }
    for (int i = 0; i < c->nindexes; i++) {
        snprintf(name, sizeof name, "i:%s:%s", c->name, c->indexes[i].name);
        store_index *ix = &c->indexes[i];
        unsigned have = 0;
        rc = mdb_dbi_open(txn, name, index_flags(c, ix) | (create ? MDB_CREATE : 0), &ix->dbi);
        if (rc == 0) { /* the flags it was made with (invariant 8) */
            rc = mdb_dbi_flags(txn, ix->dbi, &have);
        }
        if (rc == 0) {
            rc = mdb_set_compare(txn, ix->dbi, store_key_cmp);
        }
        if (rc == 0 && (have & MDB_DUPSORT)) { /* the primary keys of one index key */
            rc = mdb_set_dupsort(txn, ix->dbi, store_key_cmp);
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
    store_cache_drop(s);
    int rc = mdb_cursor_open(txn, s->meta, &cur);
    if (rc) {
        return store_lmdb_err(rc, "reading definitions");
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
        if ((rc = open_dbis(txn, c, 0, 0)) != 0) {
            store_coll_free(c);
            mdb_cursor_close(cur);
            return store_lmdb_err(rc, "opening a collection");
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
        return store_lmdb_err(rc, "reading definitions");
    }
    uint64_t gen = 0;
    store_meta_get_u64(txn, s->meta, "gen", &gen);
    s->gen = gen;
    s->cache_valid = 1;
    s->local_gen++;
    return 0;
}

/* Makes the cache current for transaction t (invariant 3). */
int store_sync_defs(store_txn *t) {
    store *s = t->s;
    size_t id = mdb_txn_id(t->txn);
    if (s->cache_valid && (t->write ? t->defs_synced : id == s->checked_txnid)) {
        return 0;
    }
    uint64_t gen = 0;
    int rc = store_meta_get_u64(t->txn, s->meta, "gen", &gen);
    if (rc && rc != MDB_NOTFOUND) {
        return store_lmdb_err(rc, "reading definitions");
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
                return store_lmdb_err(rc, "reading definitions");
            }
            rc = load_defs(s, txn);
            mdb_txn_commit(txn);
            /* A transaction sees only the handles open when it began: start
             * t again so it sees the ones just opened (nothing read yet). */
            if (rc == 0 && !t->scans) {
                mdb_txn_reset(t->txn);
                rc = mdb_txn_renew(t->txn);
                if (rc) {
                    return store_lmdb_err(rc, "reading definitions");
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
    return store_sync_defs(t);
}

int store_coll_get(store_txn *t, const char *name, const store_coll **out) {
    int rc = store_sync_defs(t);
    if (rc) {
        return rc;
    }
    for (int i = 0; i < t->s->ncolls; i++) {
        const char *z = t->s->colls[i]->name;
        if (z[0] == name[0] && strcmp(z, name) == 0) {
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
    int rc = store_sync_defs(t);
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
        store_meta_get_u64(t->txn, t->s->meta, "gen", &gen);
        if (!e) {
            e = store_meta_put_u64(t->txn, t->s->meta, "gen", gen + 1);
        }
        rc = e ? store_lmdb_err(e, c->name) : 0;
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
    return rc ? store_lmdb_err(rc, name) : 0;
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
        return store_lmdb_err(rc, c->name);
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
                rc = store_key_too_long(c, "a value for the new index", ib.len);
                break;
            }
            MDB_val ik = {ib.len, ib.p}, iv = k, got;
            if (ix->unique && mdb_get(t->txn, ix->dbi, &ik, &got) == 0) {
                store_key_render(ib.p, ib.len, shown, sizeof shown);
                store_key_render(got.mv_data, got.mv_size, a, sizeof a);
                store_key_render(k.mv_data, k.mv_size, b, sizeof b);
                rc = err_set(GH_ESCHEMA,
                             _("collection '%s': cannot add unique index '%s': records %s and %s "
                               "both have %s = %s"),
                             c->name, ix->name, a, b, ix->name, shown);
                break;
            }
            int e = mdb_put(t->txn, ix->dbi, &ik, &iv, 0);
            if (e && e != MDB_KEYEXIST) {
                rc = store_lmdb_err(e, c->name);
                break;
            }
        }
        m = mdb_cursor_get(cur, &k, &d, MDB_NEXT);
    }
    if (rc == 0 && m != MDB_NOTFOUND) {
        rc = store_lmdb_err(m, c->name);
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
    if ((rc = store_need_write(t, def)) || (rc = store_def_check(def)) ||
        (rc = store_def_text(def))) {
        store_coll_free(def);
        return rc;
    }
    store_wcur_forget(t); /* invariant 7: handles may be dropped and reused */
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
    if ((rc = open_dbis(t->txn, def, 1, def->name[0] == '_' ? 0 : t->s->dbi_room))) {
        rc = store_lmdb_err(rc, def->name);
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
    store_wcur_forget(t); /* invariant 7 */
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
    store_meta_get_u64(t->txn, t->s->meta, "gen", &gen);
    if ((rc = mdb_del(t->txn, t->s->meta, &k, NULL)) ||
        (rc = store_meta_put_u64(t->txn, t->s->meta, "gen", gen + 1))) {
        return store_lmdb_err(rc, name);
    }
    store_cache_drop(t->s);
    return 0;
}

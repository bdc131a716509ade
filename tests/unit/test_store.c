/*
 * test_store.c — unit tests of core/store.c through its C API (no Lua).
 *
 * Each test opens a fresh database in a temporary directory. Records are
 * built with the codec's MessagePack writer, in schema order, the way the
 * Lua face builds them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "codec.h"
#include "err.h"
#include "store.h"
#include "store_int.h" /* store_key_cmp */

#include <lmdb.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmpl[] = "/tmp/gh_test_store_XXXXXX";
static char *root;
static int seq;

static void fresh_dir(char *out, size_t n) {
    snprintf(out, n, "%s/db%d", root, seq++);
}

/* members: [member_id int, name string, id_number string, town string?] with
 * a unique index on id_number and an index on (town, name). */
static store_coll *members_def(void) {
    store_coll *c = calloc(1, sizeof *c);
    c->name = strdup("members");
    c->extra = -1;
    c->nfields = 4;
    c->fields = calloc(4, sizeof *c->fields);
    const char *names[] = {"member_id", "name", "id_number", "town"};
    int types[] = {FT_INT, FT_STRING, FT_STRING, FT_STRING};
    for (int i = 0; i < 4; i++) {
        c->fields[i].name = strdup(names[i]);
        c->fields[i].type = types[i];
    }
    c->fields[3].optional = 1;
    c->nindexes = 2;
    c->indexes = calloc(2, sizeof *c->indexes);
    c->indexes[0].name = strdup("id_number");
    c->indexes[0].unique = 1;
    c->indexes[0].nfields = 1;
    c->indexes[0].fields[0] = 2;
    c->indexes[1].name = strdup("town,name");
    c->indexes[1].nfields = 2;
    c->indexes[1].fields[0] = 3;
    c->indexes[1].fields[1] = 1;
    return c;
}

static void rec(codec_buf *b, int64_t id, const char *name, const char *idn, const char *town) {
    b->len = 0;
    mp_put_array(b, town ? 4 : 3);
    mp_put_int(b, id);
    mp_put_str(b, name, strlen(name));
    mp_put_str(b, idn, strlen(idn));
    if (town) {
        mp_put_str(b, town, strlen(town));
    }
}

/* A new database in a fresh folder (its path into dir) with members
 * defined: the set-up of most tests. */
static store *open_fresh_in(char *dir, size_t size) {
    store *s;
    fresh_dir(dir, size);
    assert_int_equal(store_open(dir, STORE_CREATE, &s), 0);
    store_txn *t;
    assert_int_equal(store_txn_begin(s, NULL, 1, &t), 0);
    assert_int_equal(store_define(t, members_def()), 0);
    assert_int_equal(store_txn_commit(t), 0);
    return s;
}

static store *open_fresh(void) {
    char dir[256];
    return open_fresh_in(dir, sizeof dir);
}

static const store_coll *members(store_txn *t) {
    const store_coll *c;
    assert_int_equal(store_coll_get(t, "members", &c), 0);
    return c;
}

static void put_n(store *s, int from, int to) {
    store_txn *t;
    codec_buf b;
    char idn[32], name[32];
    codec_buf_init(&b);
    assert_int_equal(store_txn_begin(s, NULL, 1, &t), 0);
    const store_coll *c = members(t);
    for (int i = from; i <= to; i++) {
        snprintf(idn, sizeof idn, "ID%06d", i);
        snprintf(name, sizeof name, "n%d", i);
        rec(&b, i, name, idn, i % 2 ? "east" : "west");
        assert_int_equal(store_put(t, c, STORE_INSERT, b.p, b.len), 0);
    }
    assert_int_equal(store_txn_commit(t), 0);
    codec_buf_free(&b);
}

static uint64_t count(store *s) {
    store_txn *t;
    uint64_t n;
    assert_int_equal(store_txn_begin(s, NULL, 0, &t), 0);
    assert_int_equal(store_count(t, members(t), &n), 0);
    store_txn_abort(t);
    return n;
}

static void no_problem(void *ctx, const char *msg) {
    (void)ctx;
    fail_msg("check reported: %s", msg);
}

static void assert_clean(store *s) {
    uint64_t problems = 99;
    assert_int_equal(store_check(s, no_problem, NULL, &problems), 0);
    assert_int_equal(problems, 0);
}

static void test_open_refusals(void **state) {
    (void)state;
    char dir[256], path[300];
    store *s;
    fresh_dir(dir, sizeof dir);
    assert_int_equal(store_open(dir, 0, &s), GH_ENOTDB); /* missing, no create */
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/notes.txt", dir);
    FILE *f = fopen(path, "w");
    fputs("hello", f);
    fclose(f);
    assert_int_equal(store_open(dir, STORE_CREATE, &s), GH_ENOTDB); /* other files */
    assert_non_null(strstr(err_msg(GH_ENOTDB), "other files"));
    assert_int_equal(store_open(path, STORE_CREATE, &s), GH_ENOTDB); /* a file */
    assert_non_null(strstr(err_msg(GH_ENOTDB), "is a file"));
}

static void test_define_persists(void **state) {
    (void)state;
    char dir[256];
    store *s;
    store_txn *t;
    store_close(open_fresh_in(dir, sizeof dir));
    assert_int_equal(store_open(dir, 0, &s), 0);
    assert_int_equal(store_txn_begin(s, NULL, 0, &t), 0);
    const store_coll *c = members(t);
    assert_int_equal(c->nfields, 4);
    assert_int_equal(c->nindexes, 2);
    assert_string_equal(c->indexes[1].name, "town,name");
    store_txn_abort(t);
    store_close(s);
}

static void test_put_get_unique(void **state) {
    (void)state;
    store *s = open_fresh();
    store_txn *t;
    codec_buf b, k;
    const void *v;
    size_t n;
    codec_buf_init(&b);
    codec_buf_init(&k);
    put_n(s, 1, 10);
    assert_int_equal(count(s), 10);
    assert_int_equal(store_txn_begin(s, NULL, 1, &t), 0);
    const store_coll *c = members(t);
    rec(&b, 11, "dup", "ID000003", NULL);
    assert_int_equal(store_put(t, c, STORE_INSERT, b.p, b.len), GH_EEXISTS);
    const char *m = err_msg(GH_EEXISTS);
    assert_non_null(strstr(m, "id_number"));
    assert_non_null(strstr(m, "ID000003"));
    assert_non_null(strstr(m, "member_id = 3"));
    rec(&b, 3, "again", "ID999999", NULL);
    assert_int_equal(store_put(t, c, STORE_INSERT, b.p, b.len), GH_EEXISTS);
    rec(&b, 99, "nobody", "ID099999", NULL);
    assert_int_equal(store_put(t, c, STORE_UPDATE, b.p, b.len), GH_ENOTFOUND);
    /* replacing record 3 moves its unique entry */
    rec(&b, 3, "three", "ID333333", "north");
    assert_int_equal(store_put(t, c, STORE_REPLACE, b.p, b.len), 0);
    codec_buf_init(&k);
    key_put_str(&k, "ID000003", 8);
    const void *pk;
    size_t pkn;
    assert_int_equal(store_find(t, c, 0, k.p, k.len, &pk, &pkn), GH_ENOTFOUND);
    k.len = 0;
    key_put_str(&k, "ID333333", 8);
    assert_int_equal(store_find(t, c, 0, k.p, k.len, &pk, &pkn), 0);
    assert_int_equal(store_get(t, c, pk, pkn, &v, &n), 0);
    assert_int_equal(store_txn_commit(t), 0);
    assert_clean(s);
    codec_buf_free(&b);
    codec_buf_free(&k);
    store_close(s);
}

static void test_abort_and_savepoint(void **state) {
    (void)state;
    store *s = open_fresh();
    store_txn *t, *sp;
    codec_buf b;
    codec_buf_init(&b);
    put_n(s, 1, 5);
    assert_int_equal(store_txn_begin(s, NULL, 1, &t), 0);
    const store_coll *c = members(t);
    rec(&b, 6, "six", "ID6", NULL);
    assert_int_equal(store_put(t, c, STORE_INSERT, b.p, b.len), 0);
    assert_int_equal(store_txn_begin(s, t, 1, &sp), 0);
    rec(&b, 7, "seven", "ID7", NULL);
    assert_int_equal(store_put(sp, c, STORE_INSERT, b.p, b.len), 0);
    store_txn_abort(sp); /* the savepoint goes, 6 stays */
    assert_int_equal(store_txn_commit(t), 0);
    assert_int_equal(count(s), 6);
    assert_int_equal(store_txn_begin(s, NULL, 1, &t), 0);
    c = members(t);
    rec(&b, 8, "eight", "ID8", NULL);
    assert_int_equal(store_put(t, c, STORE_INSERT, b.p, b.len), 0);
    store_txn_abort(t);
    assert_int_equal(count(s), 6);
    assert_clean(s);
    codec_buf_free(&b);
    store_close(s);
}

/* Collects the member ids of a scan. */
static int scan_ids(store *s, int index, const store_range *r, int64_t *out, int max) {
    store_txn *t;
    store_scan *sc;
    const void *pk, *v;
    size_t pkn, n;
    int got = 0;
    assert_int_equal(store_txn_begin(s, NULL, 0, &t), 0);
    assert_int_equal(store_scan_open(t, members(t), index, r, &sc), 0);
    while (store_scan_next(sc, &pk, &pkn, &v, &n) == 0 && got < max) {
        mp_reader rd;
        mp_item it;
        mp_reader_init(&rd, v, n);
        mp_read(&rd, &it);
        mp_read(&rd, &it);
        out[got++] = it.v.i;
    }
    store_scan_close(sc);
    store_txn_abort(t);
    return got;
}

static void test_scans(void **state) {
    (void)state;
    store *s = open_fresh();
    int64_t ids[64];
    codec_buf lo, hi, px;
    codec_buf_init(&lo);
    codec_buf_init(&hi);
    codec_buf_init(&px);
    put_n(s, 1, 20);
    assert_int_equal(scan_ids(s, -1, NULL, ids, 64), 20);
    assert_int_equal(ids[0], 1);
    assert_int_equal(ids[19], 20);
    key_put_int(&lo, 5);
    key_put_int(&hi, 8);
    store_range r = {.lo = lo.p, .lolen = lo.len, .hi = hi.p, .hilen = hi.len};
    assert_int_equal(scan_ids(s, -1, &r, ids, 64), 4);
    assert_int_equal(ids[0], 5);
    assert_int_equal(ids[3], 8);
    r.reverse = 1;
    assert_int_equal(scan_ids(s, -1, &r, ids, 64), 4);
    assert_int_equal(ids[0], 8);
    assert_int_equal(ids[3], 5);
    /* compound index prefix: town = "east" -> the 10 odd ids */
    key_put_str(&px, "east", 4);
    store_range p = {.prefix = px.p, .prefixlen = px.len};
    assert_int_equal(scan_ids(s, 1, &p, ids, 64), 10);
    for (int i = 0; i < 10; i++) {
        assert_true(ids[i] % 2 == 1);
    }
    p.reverse = 1;
    assert_int_equal(scan_ids(s, 1, &p, ids, 64), 10);
    uint64_t n;
    store_txn *t;
    assert_int_equal(store_txn_begin(s, NULL, 0, &t), 0);
    assert_int_equal(store_range_count(t, members(t), 1, &p, &n), 0);
    assert_int_equal(n, 10);
    store_txn_abort(t);
    codec_buf_free(&lo);
    codec_buf_free(&hi);
    codec_buf_free(&px);
    store_close(s);
}

static void test_delete_and_index_build(void **state) {
    (void)state;
    store *s = open_fresh();
    store_txn *t;
    codec_buf k;
    codec_buf_init(&k);
    put_n(s, 1, 50);
    assert_int_equal(store_txn_begin(s, NULL, 1, &t), 0);
    const store_coll *c = members(t);
    key_put_int(&k, 7);
    assert_int_equal(store_delete(t, c, k.p, k.len), 0);
    assert_int_equal(store_delete(t, c, k.p, k.len), GH_ENOTFOUND);
    /* add an index on name to a collection with records: it is built */
    store_coll *d = members_def();
    d->indexes = realloc(d->indexes, 3 * sizeof *d->indexes);
    memset(&d->indexes[2], 0, sizeof d->indexes[2]);
    d->indexes[2].name = strdup("name");
    d->indexes[2].nfields = 1;
    d->indexes[2].fields[0] = 1;
    d->nindexes = 3;
    assert_int_equal(store_define(t, d), 0);
    assert_int_equal(store_txn_commit(t), 0);
    assert_clean(s);
    store_stat st;
    assert_int_equal(store_txn_begin(s, NULL, 0, &t), 0);
    c = members(t);
    assert_int_equal(c->nindexes, 3);
    assert_int_equal(store_stat_of(t, c, 2, &st), 0);
    assert_int_equal(st.entries, 49);
    store_txn_abort(t);
    codec_buf_free(&k);
    store_close(s);
}

static void test_incompatible_redefine(void **state) {
    (void)state;
    store *s = open_fresh();
    store_txn *t;
    put_n(s, 1, 3);
    assert_int_equal(store_txn_begin(s, NULL, 1, &t), 0);
    store_coll *d = members_def();
    d->fields[1].type = FT_INT; /* name: string -> int */
    assert_int_equal(store_define(t, d), GH_ESCHEMA);
    assert_non_null(strstr(err_msg(GH_ESCHEMA), "'name' was string and is now int"));
    d = members_def();
    d->fields[3].optional = 0; /* town: optional -> required */
    assert_int_equal(store_define(t, d), GH_ESCHEMA);
    store_txn_abort(t);
    store_close(s);
}

static void test_map_grows(void **state) {
    (void)state;
    char dir[256];
    store *s;
    fresh_dir(dir, sizeof dir);
    setenv("GONGHUI_MAP_SIZE", "65536", 1);
    assert_int_equal(store_open(dir, STORE_CREATE, &s), 0);
    unsetenv("GONGHUI_MAP_SIZE");
    store_txn *t;
    assert_int_equal(store_txn_begin(s, NULL, 1, &t), 0);
    assert_int_equal(store_define(t, members_def()), 0);
    assert_int_equal(store_txn_commit(t), 0);
    /* The caller's protocol: on GH_EMAPFULL abort, grow, redo the unit. */
    int grown = 0;
    for (int attempt = 0; attempt < 20; attempt++) {
        codec_buf b;
        char idn[32];
        codec_buf_init(&b);
        assert_int_equal(store_txn_begin(s, NULL, 1, &t), 0);
        const store_coll *c = members(t);
        int rc = 0;
        for (int i = 1; i <= 2000 && rc == 0; i++) {
            snprintf(idn, sizeof idn, "ID%06d", i);
            rec(&b, i, "some name that takes a little room", idn, "town");
            rc = store_put(t, c, STORE_INSERT, b.p, b.len);
        }
        codec_buf_free(&b);
        if (rc == GH_EMAPFULL) {
            store_txn_abort(t);
            assert_int_equal(store_grow(s), 0);
            grown++;
            continue;
        }
        assert_int_equal(rc, 0);
        rc = store_txn_commit(t);
        if (rc == GH_EMAPFULL) {
            assert_int_equal(store_grow(s), 0);
            grown++;
            continue;
        }
        assert_int_equal(rc, 0);
        break;
    }
    assert_true(grown > 0);
    assert_int_equal(count(s), 2000);
    assert_clean(s);
    store_close(s);
}

/* The member ids of index `index`'s entries with prefix px, in index order. */
static int index_ids(store *s, int index, const char *town, int64_t *out, int max) {
    codec_buf px;
    codec_buf_init(&px);
    key_put_str(&px, town, strlen(town));
    store_range p = {.prefix = px.p, .prefixlen = px.len};
    int got = scan_ids(s, index, &p, out, max);
    codec_buf_free(&px);
    return got;
}

/* A refused insert leaves every index as it was, whichever of the unique
 * indexes or the primary key refuses it, and the message names it. */
static void test_refusal_writes_nothing(void **state) {
    (void)state;
    store *s = open_fresh();
    store_txn *t;
    codec_buf b, k;
    const void *pk;
    size_t pkn;
    codec_buf_init(&b);
    codec_buf_init(&k);
    /* a second unique index, on name */
    assert_int_equal(store_txn_begin(s, NULL, 1, &t), 0);
    store_coll *d = members_def();
    d->indexes = realloc(d->indexes, 3 * sizeof *d->indexes);
    memset(&d->indexes[2], 0, sizeof d->indexes[2]);
    d->indexes[2].name = strdup("name");
    d->indexes[2].unique = 1;
    d->indexes[2].nfields = 1;
    d->indexes[2].fields[0] = 1;
    d->nindexes = 3;
    assert_int_equal(store_define(t, d), 0);
    assert_int_equal(store_txn_commit(t), 0);
    put_n(s, 1, 10);
    assert_int_equal(store_txn_begin(s, NULL, 1, &t), 0);
    const store_coll *c = members(t);
    uint64_t w = store_txn_writes(t);
    /* id_number is new and added first, name is taken: both refused */
    rec(&b, 11, "n4", "ID777777", "east");
    assert_int_equal(store_put(t, c, STORE_INSERT, b.p, b.len), GH_EEXISTS);
    assert_non_null(strstr(err_msg(GH_EEXISTS), "name = \"n4\" is already taken by the record "
                                                "with member_id = 4 (unique index 'name')"));
    assert_true(store_txn_writes(t) > w); /* an entry was added and taken back */
    key_put_str(&k, "ID777777", 8);
    assert_int_equal(store_find(t, c, 0, k.p, k.len, &pk, &pkn), GH_ENOTFOUND);
    /* both unique values new, the key taken */
    rec(&b, 5, "new name", "ID888888", "east");
    assert_int_equal(store_put(t, c, STORE_INSERT, b.p, b.len), GH_EEXISTS);
    assert_non_null(strstr(err_msg(GH_EEXISTS), "a record with member_id = 5 already exists"));
    k.len = 0;
    key_put_str(&k, "ID888888", 8);
    assert_int_equal(store_find(t, c, 0, k.p, k.len, &pk, &pkn), GH_ENOTFOUND);
    k.len = 0;
    key_put_str(&k, "new name", 8);
    assert_int_equal(store_find(t, c, 2, k.p, k.len, &pk, &pkn), GH_ENOTFOUND);
    /* the first unique index refuses: nothing was written at all */
    w = store_txn_writes(t);
    rec(&b, 12, "twelve", "ID000002", "east");
    assert_int_equal(store_put(t, c, STORE_INSERT, b.p, b.len), GH_EEXISTS);
    assert_non_null(strstr(err_msg(GH_EEXISTS), "(unique index 'id_number')"));
    assert_int_equal(store_txn_writes(t), w);
    /* a row clashing on both a unique value and the key: the index is named */
    rec(&b, 3, "other", "ID000002", "east");
    assert_int_equal(store_put(t, c, STORE_INSERT, b.p, b.len), GH_EEXISTS);
    assert_non_null(strstr(err_msg(GH_EEXISTS), "(unique index 'id_number')"));
    /* the same record again: the key clash (its unique entries are its own) */
    rec(&b, 6, "n6", "ID000006", "west");
    assert_int_equal(store_put(t, c, STORE_INSERT, b.p, b.len), GH_EEXISTS);
    assert_non_null(strstr(err_msg(GH_EEXISTS), "member_id = 6 already exists"));
    k.len = 0;
    key_put_str(&k, "n6", 2);
    assert_int_equal(store_find(t, c, 2, k.p, k.len, &pk, &pkn), 0); /* still there */
    /* and writing goes on after refusals */
    rec(&b, 11, "eleven", "ID000011", "east");
    assert_int_equal(store_put(t, c, STORE_INSERT, b.p, b.len), 0);
    assert_int_equal(store_txn_commit(t), 0);
    assert_int_equal(count(s), 11);
    assert_clean(s);
    codec_buf_free(&b);
    codec_buf_free(&k);
    store_close(s);
}

/* Issue 16, class 11: the store refuses text that is not UTF-8 and NaN or
 * infinite numbers, whoever encoded the record (store_put is the one home),
 * naming the collection, the field's label and the value, and writes
 * nothing; valid text of every width passes. */
static void test_refuses_what_no_file_holds(void **state) {
    (void)state;
    store *s = open_fresh();
    store_txn *t;
    codec_buf b;
    codec_buf_init(&b);
    assert_int_equal(store_txn_begin(s, NULL, 1, &t), 0);
    store_coll *d = members_def();
    free(d->fields[1].label);
    d->fields[1].label = strdup("姓名");
    d->fields = realloc(d->fields, 5 * sizeof *d->fields);
    memset(&d->fields[4], 0, sizeof d->fields[4]);
    d->fields[4].name = strdup("extra");
    d->fields[4].type = FT_ANY;
    d->fields[4].optional = 1;
    d->nfields = 5;
    assert_int_equal(store_define(t, d), 0);
    const store_coll *c = members(t);
    static const char *const bad[] = {
        "a\xff"
        "b",
        "\xc0\x80",
        "\xed\xa0\x80",
        "\xf4\x90\x80\x80",
        "\xe4\xb8",
        "abcdefgh\x80",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        rec(&b, 1, bad[i], "ID1", NULL);
        assert_int_equal(store_put(t, c, STORE_INSERT, b.p, b.len), GH_ETYPE);
        const char *m = err_msg(GH_ETYPE);
        assert_non_null(strstr(m, "collection 'members': field '姓名' holds bytes that are not "
                                  "UTF-8 text"));
        assert_non_null(strstr(m, "\\x"));
    }
    /* a bad string deep inside an any field, and a bad map key */
    b.len = 0;
    mp_put_array(&b, 5);
    mp_put_int(&b, 1);
    mp_put_str(&b, "ok", 2);
    mp_put_str(&b, "ID1", 3);
    mp_put_nil(&b);
    mp_put_map(&b, 1);
    mp_put_str(&b, "k\xfe", 2);
    mp_put_int(&b, 1);
    assert_int_equal(store_put(t, c, STORE_INSERT, b.p, b.len), GH_ETYPE);
    assert_non_null(strstr(err_msg(GH_ETYPE), "field 'extra' holds bytes"));
    b.len = 0;
    mp_put_array(&b, 5);
    mp_put_int(&b, 1);
    mp_put_str(&b, "ok", 2);
    mp_put_str(&b, "ID1", 3);
    mp_put_nil(&b);
    mp_put_array(&b, 2);
    mp_put_double(&b, 1.5);
    mp_put_double(&b, NAN);
    assert_int_equal(store_put(t, c, STORE_INSERT, b.p, b.len), GH_ETYPE);
    assert_non_null(strstr(err_msg(GH_ETYPE), "field 'extra' is NaN"));
    const double inf[] = {INFINITY, -INFINITY};
    for (int i = 0; i < 2; i++) {
        b.len = 0;
        mp_put_array(&b, 5);
        mp_put_int(&b, 1);
        mp_put_str(&b, "ok", 2);
        mp_put_str(&b, "ID1", 3);
        mp_put_nil(&b);
        mp_put_double(&b, inf[i]);
        assert_int_equal(store_put(t, c, STORE_INSERT, b.p, b.len), GH_ETYPE);
        assert_non_null(strstr(err_msg(GH_ETYPE), i ? "is -inf" : "is inf,"));
    }
    uint64_t n;
    assert_int_equal(store_count(t, c, &n), 0);
    /* text of every width, and finite numbers, are stored */
    rec(&b, 1, "A é 中文 \xf0\x9f\x98\x80 end-of-text", "ID1", "东城");
    assert_int_equal(store_put(t, c, STORE_INSERT, b.p, b.len), 0);
    assert_int_equal(store_count(t, c, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(store_txn_commit(t), 0);
    assert_clean(s);
    codec_buf_free(&b);
    store_close(s);
}

/* Appends through the cursors a transaction keeps open, mixed with writes
 * elsewhere in the same tables (a lower key, a replace, a delete of the last
 * record, a savepoint that appends and is undone): every table stays in
 * order and every index matches. */
static void test_appends_mixed(void **state) {
    (void)state;
    store *s = open_fresh();
    store_txn *t, *sp;
    codec_buf b, k;
    char idn[32], name[32];
    int64_t ids[512];
    codec_buf_init(&b);
    codec_buf_init(&k);
    assert_int_equal(store_txn_begin(s, NULL, 1, &t), 0);
    const store_coll *c = members(t);
    assert_true(c->indexes[1].dupfixed); /* integer keys: packed (invariant 8) */
    for (int i = 100; i <= 300; i++) {
        if (i == 150) { /* a lower key in the middle of the appends */
            rec(&b, 20, "twenty", "ID-20", "east");
            assert_int_equal(store_put(t, c, STORE_INSERT, b.p, b.len), 0);
        }
        if (i == 200) { /* a savepoint appends, then is undone */
            assert_int_equal(store_txn_begin(s, t, 1, &sp), 0);
            for (int j = 200; j < 260; j++) {
                snprintf(idn, sizeof idn, "SP%06d", j);
                rec(&b, j, "sp", idn, "east");
                assert_int_equal(store_put(sp, c, STORE_INSERT, b.p, b.len), 0);
            }
            store_txn_abort(sp);
        }
        if (i == 250) { /* a bigger record in place, then the last one goes */
            rec(&b, 120, "a much longer name than before, to move things", "ID000120", "east");
            assert_int_equal(store_put(t, c, STORE_REPLACE, b.p, b.len), 0);
            k.len = 0;
            key_put_int(&k, 249);
            assert_int_equal(store_delete(t, c, k.p, k.len), 0);
        }
        if (i == 280) { /* a savepoint appends and is kept */
            assert_int_equal(store_txn_begin(s, t, 1, &sp), 0);
            for (int j = 280; j < 290; j++, i++) {
                snprintf(idn, sizeof idn, "ID%06d", j);
                rec(&b, j, "kept", idn, j % 2 ? "east" : "west");
                assert_int_equal(store_put(sp, c, STORE_INSERT, b.p, b.len), 0);
            }
            assert_int_equal(store_txn_commit(sp), 0);
        }
        if (i % 50 == 10) { /* records before grow and split the last page */
            char big[450];
            memset(big, 'x', sizeof big - 1);
            big[sizeof big - 1] = 0;
            for (int j = i - 8; j < i; j++) {
                snprintf(idn, sizeof idn, "ID%06d", j);
                rec(&b, j, big, idn, j % 2 ? "east" : "west");
                assert_int_equal(store_put(t, c, STORE_REPLACE, b.p, b.len), 0);
            }
        }
        snprintf(idn, sizeof idn, "ID%06d", i);
        snprintf(name, sizeof name, "n%d", i);
        rec(&b, i, name, idn, i % 2 ? "east" : "west");
        assert_int_equal(store_put(t, c, STORE_INSERT, b.p, b.len), 0);
    }
    assert_int_equal(store_txn_commit(t), 0);
    assert_int_equal(count(s), 201); /* 100..300 without 249, with 20 */
    assert_clean(s);
    int n = scan_ids(s, -1, NULL, ids, 512);
    assert_int_equal(n, 201);
    for (int i = 1; i < n; i++) {
        assert_true(ids[i - 1] < ids[i]);
    }
    /* "east": the odd ids but 249, and 20 and 120 */
    n = index_ids(s, 1, "east", ids, 512);
    assert_int_equal(n, 101);
    codec_buf_free(&b);
    codec_buf_free(&k);
    store_close(s);
}

/* An index made before invariant 8 (plain MDB_DUPSORT) keeps working; a
 * collection with text keys gets no packed index. */
static void test_index_made_unpacked(void **state) {
    (void)state;
    char dir[256];
    store *s;
    store_txn *t;
    store_close(open_fresh_in(dir, sizeof dir));
    /* remake the index table the way earlier versions did */
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 16), 0);
    assert_int_equal(mdb_env_open(env, dir, 0, 0644), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "i:members:town,name", 0, &dbi), 0);
    assert_int_equal(mdb_drop(txn, dbi, 1), 0);
    assert_int_equal(mdb_dbi_open(txn, "i:members:town,name", MDB_CREATE | MDB_DUPSORT, &dbi), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    assert_int_equal(store_open(dir, 0, &s), 0);
    assert_int_equal(store_txn_begin(s, NULL, 0, &t), 0);
    assert_false(members(t)->indexes[1].dupfixed);
    store_txn_abort(t);
    put_n(s, 1, 300);
    put_n(s, 301, 400);
    assert_clean(s);
    int64_t ids[512];
    int n = index_ids(s, 1, "west", ids, 512);
    assert_int_equal(n, 200);
    /* text keys: packed duplicates cannot hold them */
    assert_int_equal(store_txn_begin(s, NULL, 1, &t), 0);
    store_coll *d = members_def();
    free(d->name);
    d->name = strdup("people");
    d->key = 2; /* id_number, a string */
    assert_int_equal(store_define(t, d), 0);
    const store_coll *c;
    assert_int_equal(store_coll_get(t, "people", &c), 0);
    assert_false(c->indexes[1].dupfixed);
    codec_buf b;
    codec_buf_init(&b);
    rec(&b, 1, "a", "X1", "east");
    assert_int_equal(store_put(t, c, STORE_INSERT, b.p, b.len), 0);
    rec(&b, 2, "b", "X2", "east");
    assert_int_equal(store_put(t, c, STORE_INSERT, b.p, b.len), 0);
    codec_buf_free(&b);
    assert_int_equal(store_txn_commit(t), 0);
    assert_clean(s);
    store_close(s);
}

/* store_key_cmp orders keys exactly as LMDB's default comparator does
 * (memcmp, then the shorter first): keys of every length up to 40 from a
 * few bytes, so that long shared prefixes and 0x00 / 0xff are common. */
static void test_key_order_is_lmdbs(void **state) {
    (void)state;
    char dir[256];
    fresh_dir(dir, sizeof dir);
    assert_int_equal(mkdir(dir, 0755), 0);
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_open(env, dir, 0, 0644), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, NULL, 0, &dbi), 0); /* LMDB's default order */
    static const unsigned char alpha[] = {0x00, 0x01, 0x15, 0x7f, 0x80, 0xfe, 0xff};
    unsigned char a[40], b[40];
    srand(20261206);
    for (int round = 0; round < 200000; round++) {
        size_t an = (size_t)rand() % 41, bn = (size_t)rand() % 41;
        for (size_t i = 0; i < an; i++) {
            a[i] = alpha[rand() % 7];
        }
        /* b: mostly a's bytes with one changed, so prefixes are shared */
        for (size_t i = 0; i < bn; i++) {
            b[i] = i < an && rand() % 16 ? a[i] : alpha[rand() % 7];
        }
        MDB_val x = {an, a}, y = {bn, b};
        int want = mdb_cmp(txn, dbi, &x, &y), got = store_key_cmp(&x, &y);
        if ((want > 0) != (got > 0) || (want < 0) != (got < 0)) {
            fail_msg("keys of %zu and %zu bytes: LMDB %d, store_key_cmp %d", an, bn, want, got);
        }
    }
    mdb_txn_abort(txn);
    mdb_env_close(env);
}

/* A collection's table written in LMDB's default order (as every database
 * before store_key_cmp was) reads the same: every key found, a scan in key
 * order; and what the store writes, LMDB's default order finds. */
static void test_old_database_reads(void **state) {
    (void)state;
    char dir[256];
    store *s;
    store_txn *t;
    fresh_dir(dir, sizeof dir);
    assert_int_equal(store_open(dir, STORE_CREATE, &s), 0);
    assert_int_equal(store_txn_begin(s, NULL, 1, &t), 0);
    assert_int_equal(store_define(t, members_def()), 0);
    assert_int_equal(store_txn_commit(t), 0);
    store_close(s);
    /* records put by LMDB alone, in a shuffled order, ids of every width */
    enum { N = 3000 };
    int64_t ids[N];
    for (int i = 0; i < N; i++) {
        ids[i] = (int64_t)(i - N / 2) * 104729 * (i % 3 ? 1 : 65537);
    }
    srand(7);
    for (int i = N - 1; i > 0; i--) {
        int j = rand() % (i + 1);
        int64_t x = ids[i];
        ids[i] = ids[j];
        ids[j] = x;
    }
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    codec_buf k, v;
    codec_buf_init(&k);
    codec_buf_init(&v);
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 16), 0);
    assert_int_equal(mdb_env_open(env, dir, 0, 0644), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "c:members", 0, &dbi), 0);
    for (int i = 0; i < N; i++) {
        k.len = 0;
        key_put_int(&k, ids[i]);
        rec(&v, ids[i], "n", "X", NULL);
        MDB_val mk = {k.len, k.p}, mv = {v.len, v.p};
        assert_int_equal(mdb_put(txn, dbi, &mk, &mv, 0), 0);
    }
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    /* the store reads them: each by its key, and a scan in order */
    assert_int_equal(store_open(dir, 0, &s), 0);
    assert_int_equal(store_txn_begin(s, NULL, 1, &t), 0);
    const store_coll *c = members(t);
    for (int i = 0; i < N; i++) {
        const void *val;
        size_t n;
        k.len = 0;
        key_put_int(&k, ids[i]);
        assert_int_equal(store_get(t, c, k.p, k.len, &val, &n), 0);
    }
    store_scan *sc;
    assert_int_equal(store_scan_open(t, c, -1, NULL, &sc), 0);
    const void *pk, *val;
    size_t pkn, n;
    int seen = 0;
    int64_t last = INT64_MIN;
    while (store_scan_next(sc, &pk, &pkn, &val, &n) == 0) {
        mp_reader r;
        mp_item it;
        mp_reader_init(&r, val, n);
        assert_int_equal(mp_read(&r, &it), 0); /* the array */
        assert_int_equal(mp_read(&r, &it), 0); /* member_id */
        assert_true(seen == 0 || it.v.i > last);
        last = it.v.i;
        seen++;
    }
    assert_int_equal(seen, N);
    store_scan_close(sc);
    /* and writes among them, in the same order */
    for (int i = 0; i < 500; i++) {
        char idn[32];
        snprintf(idn, sizeof idn, "new%d", i);
        rec(&v, ids[i] + 1, "m", idn, "east");
        assert_int_equal(store_put(t, c, STORE_INSERT, v.p, v.len), 0);
    }
    assert_int_equal(store_txn_commit(t), 0);
    store_close(s);
    /* LMDB's default order finds every key the store wrote */
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 16), 0);
    assert_int_equal(mdb_env_open(env, dir, MDB_RDONLY, 0644), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "c:members", 0, &dbi), 0);
    for (int i = 0; i < 500; i++) {
        k.len = 0;
        key_put_int(&k, ids[i] + 1);
        MDB_val mk = {k.len, k.p}, mv;
        assert_int_equal(mdb_get(txn, dbi, &mk, &mv), 0);
    }
    MDB_cursor *cur;
    MDB_val mk, mv, prev = {0, NULL};
    assert_int_equal(mdb_cursor_open(txn, dbi, &cur), 0);
    int total = 0;
    while (mdb_cursor_get(cur, &mk, &mv, total ? MDB_NEXT : MDB_FIRST) == 0) {
        assert_true(total == 0 || mdb_cmp(txn, dbi, &prev, &mk) < 0);
        prev = mk;
        total++;
    }
    assert_int_equal(total, N + 500);
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    mdb_env_close(env);
    codec_buf_free(&k);
    codec_buf_free(&v);
}

static void test_backup(void **state) {
    (void)state;
    store *s = open_fresh(), *b;
    char dest[256];
    put_n(s, 1, 100);
    fresh_dir(dest, sizeof dest);
    assert_int_equal(store_backup(s, dest), 0);
    assert_int_equal(store_backup(s, dest), GH_EEXISTS); /* not empty now */
    assert_int_equal(store_open(dest, 0, &b), 0);
    assert_int_equal(count(b), 100);
    assert_clean(b);
    store_close(b);
    store_close(s);
}

/* A fault in LMDB's code while a database is open is reported as damage
 * (store_check.c), whether LMDB is a shared library or linked in
 * (GH_STATIC_LIBS: where its code is comes from lmdb_code.c). Each case
 * faults in a child: `how` 0 in LMDB's .text, 1 in its text_env section. */
static void fault_in_lmdb(int how) {
    int p[2];
    char dir[256];
    fresh_dir(dir, sizeof dir); /* here: the child's count of folders is its own */
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(p[1], 2);
        store *s;
        if (store_open(dir, STORE_CREATE, &s) != 0) {
            _exit(70);
        }
        void *volatile nowhere = (void *)(uintptr_t)16; /* a pointer to nowhere */
        const char *path;
        if (how == 0) {
            (void)mdb_cursor_txn(nowhere);
        } else {
            (void)mdb_env_get_path(nowhere, &path);
        }
        _exit(71); /* not reached */
    }
    close(p[1]);
    char msg[8192] = "";
    size_t got = 0;
    ssize_t r;
    while (got < sizeof msg - 1 && (r = read(p[0], msg + got, sizeof msg - 1 - got)) > 0) {
        got += (size_t)r;
    }
    msg[got] = 0;
    close(p[0]);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), STORE_EXIT_DAMAGED);
    assert_non_null(strstr(msg, "is damaged"));
}

int store_lmdb_code(uintptr_t *lo, uintptr_t *hi, int max); /* store_int.h */

static void test_fault_in_lmdb_is_damage(void **state) {
    (void)state;
    fault_in_lmdb(0);
    fault_in_lmdb(1);
    /* linked in, the ranges hold LMDB's functions and not the store's */
    uintptr_t lo[4], hi[4];
    int n = store_lmdb_code(lo, hi, 4);
    if (n >= 0) {
        assert_true(n >= 2);
        uintptr_t in[] = {(uintptr_t)mdb_cursor_get, (uintptr_t)mdb_put, (uintptr_t)mdb_env_open,
                          (uintptr_t)mdb_txn_commit};
        for (size_t k = 0; k < sizeof in / sizeof *in; k++) {
            int hit = 0;
            for (int i = 0; i < n; i++) {
                hit |= in[k] >= lo[i] && in[k] < hi[i];
            }
            assert_true(hit);
        }
        for (int i = 0; i < n; i++) {
            assert_false((uintptr_t)store_open >= lo[i] && (uintptr_t)store_open < hi[i]);
        }
    }
}

/* The file pages of the map this process holds (RssFile in /proc/self/status),
 * in KB; -1 if not known. */
static long rss_file_kb(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f)) {
        if (sscanf(line, "RssFile: %ld", &kb) == 1) {
            break;
        }
    }
    if (f) {
        fclose(f);
    }
    return kb;
}

/* A whole-collection scan lets go of the map's pages it has passed
 * (store_scan.c, scan_let_go): scanning 16 MB of records leaves far less
 * than that mapped, and every record reads right, in this scan and the
 * next (which faults the pages back in from the page cache). */
static void test_scan_lets_go(void **state) {
    (void)state;
    enum { N = 40000, TEXT = 400 };
    char dir[256];
    store *s;
    store_txn *t;
    fresh_dir(dir, sizeof dir);
    assert_int_equal(store_open(dir, STORE_CREATE, &s), 0);
    store_coll *d = calloc(1, sizeof *d);
    d->name = strdup("blobs");
    d->extra = -1;
    d->nfields = 2;
    d->fields = calloc(2, sizeof *d->fields);
    d->fields[0].name = strdup("id");
    d->fields[0].type = FT_INT;
    d->fields[1].name = strdup("text");
    d->fields[1].type = FT_STRING;
    assert_int_equal(store_txn_begin(s, NULL, 1, &t), 0);
    assert_int_equal(store_define(t, d), 0);
    const store_coll *c;
    assert_int_equal(store_coll_get(t, "blobs", &c), 0);
    codec_buf b;
    char text[TEXT];
    codec_buf_init(&b);
    for (int i = 1; i <= N; i++) {
        memset(text, 'a' + i % 26, sizeof text);
        b.len = 0;
        mp_put_array(&b, 2);
        mp_put_int(&b, i);
        mp_put_str(&b, text, sizeof text);
        assert_int_equal(store_put(t, c, STORE_INSERT, b.p, b.len), 0);
    }
    codec_buf_free(&b);
    assert_int_equal(store_txn_commit(t), 0);
    /* passes 0 and 1 step with store_scan_next, pass 2 takes the records
     * 64 at a time with store_scan_batch (count_by's) */
    for (int pass = 0; pass < 3; pass++) {
        long before = rss_file_kb(), most = 0;
        assert_int_equal(store_txn_begin(s, NULL, 0, &t), 0);
        assert_int_equal(store_coll_get(t, "blobs", &c), 0);
        store_scan *sc;
        assert_int_equal(store_scan_open(t, c, -1, NULL, &sc), 0);
        store_rec batch[64];
        int seen = 0, got = 0, at = 0;
        for (;;) {
            if (at == got) {
                at = 0;
                if (pass < 2) {
                    got = store_scan_next(sc, &batch[0].pk, &batch[0].pkn, &batch[0].val,
                                          &batch[0].n) == 0;
                } else {
                    got = store_scan_batch(sc, batch, 64);
                    assert_true(got > 0 || got == GH_ENOTFOUND);
                    got = got < 0 ? 0 : got;
                }
                if (!got) {
                    break;
                }
            }
            mp_reader r;
            mp_item it;
            seen++;
            mp_reader_init(&r, batch[at].val, batch[at].n);
            at++;
            assert_int_equal(mp_read(&r, &it), 0); /* the array */
            assert_int_equal(mp_read(&r, &it), 0);
            assert_int_equal(it.v.i, seen);
            assert_int_equal(mp_read(&r, &it), 0);
            assert_int_equal(it.n, TEXT);
            assert_int_equal(it.s[0], 'a' + seen % 26);
            assert_int_equal(it.s[TEXT - 1], 'a' + seen % 26);
            if (seen % 1000 == 0) {
                long kb = rss_file_kb() - before;
                most = kb > most ? kb : most;
            }
        }
        assert_int_equal(seen, N);
        store_scan_close(sc);
        store_txn_abort(t);
        if (before >= 0) { /* 16 MB passed, at most a few MB of it mapped at once */
            assert_true(most < 8 * 1024);
        }
    }
    store_close(s);
}

int main(void) {
    root = mkdtemp(tmpl);
    if (!root) {
        perror("mkdtemp");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        /* first: the store's fault handler goes in at the process's first
         * open, over cmocka's (which cmocka sets again for every test) */
        cmocka_unit_test(test_fault_in_lmdb_is_damage),
        cmocka_unit_test(test_open_refusals),
        cmocka_unit_test(test_define_persists),
        cmocka_unit_test(test_put_get_unique),
        cmocka_unit_test(test_refuses_what_no_file_holds),
        cmocka_unit_test(test_abort_and_savepoint),
        cmocka_unit_test(test_scans),
        cmocka_unit_test(test_delete_and_index_build),
        cmocka_unit_test(test_incompatible_redefine),
        cmocka_unit_test(test_map_grows),
        cmocka_unit_test(test_backup),
        cmocka_unit_test(test_refusal_writes_nothing),
        cmocka_unit_test(test_appends_mixed),
        cmocka_unit_test(test_index_made_unpacked),
        cmocka_unit_test(test_key_order_is_lmdbs),
        cmocka_unit_test(test_old_database_reads),
        cmocka_unit_test(test_scan_lets_go),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    if (!failed) {
        char cmd[512];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
        if (system(cmd) != 0) {
            fprintf(stderr, "could not remove %s\n", root);
        }
    }
    return failed;
}

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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

static store *open_fresh(void) {
    char dir[256];
    store *s;
    fresh_dir(dir, sizeof dir);
    assert_int_equal(store_open(dir, STORE_CREATE, &s), 0);
    store_txn *t;
    assert_int_equal(store_txn_begin(s, NULL, 1, &t), 0);
    assert_int_equal(store_define(t, members_def()), 0);
    assert_int_equal(store_txn_commit(t), 0);
    return s;
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
    fresh_dir(dir, sizeof dir);
    assert_int_equal(store_open(dir, STORE_CREATE, &s), 0);
    assert_int_equal(store_txn_begin(s, NULL, 1, &t), 0);
    assert_int_equal(store_define(t, members_def()), 0);
    assert_int_equal(store_txn_commit(t), 0);
    store_close(s);
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

int main(void) {
    root = mkdtemp(tmpl);
    if (!root) {
        perror("mkdtemp");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_refusals),
        cmocka_unit_test(test_define_persists),
        cmocka_unit_test(test_put_get_unique),
        cmocka_unit_test(test_abort_and_savepoint),
        cmocka_unit_test(test_scans),
        cmocka_unit_test(test_delete_and_index_build),
        cmocka_unit_test(test_incompatible_redefine),
        cmocka_unit_test(test_map_grows),
        cmocka_unit_test(test_backup),
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

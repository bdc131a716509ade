/*
 * test_oom.c — every allocation failure path of the store, the definitions'
 * codec and the CSV reader, exercised the SQLite way: run an operation with
 * the Nth allocation failing, for N = 1, 2, ... until it runs without a
 * failure. Each run must end in a clean error (never a crash, never a
 * success that lost data) and leave nothing half-written: the database
 * reopened without failures holds all of the operation's records or none,
 * and `check` finds it clean. Under ASan (`make asan`) the same runs prove
 * that the error paths free what they took.
 *
 * The allocator is the C library's, wrapped at link time (-Wl,--wrap, see
 * tests/CMakeLists.txt): ghcore is a static library, so its calls to malloc,
 * calloc, realloc, strdup and strndup come here; so do LMDB's and
 * libcsv's when they are linked in (GH_STATIC_LIBS, the default), not when
 * they are shared libraries.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "codec.h"
#include "csvfile.h"
#include "err.h"
#include "ghstate.h"
#include "lua_store.h"
#include "store.h"

#include <lauxlib.h>
#include <lualib.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the failing allocator ---------------------------------------------------------- */

static long fail_at; /* the allocation number that fails (1-based); 0 = none */
static long allocs;  /* allocations since arm() */
static int failed;   /* the armed failure happened */
static long live;    /* blocks the C code holds: its mallocs less its frees */

void *__real_malloc(size_t n);
void *__real_calloc(size_t k, size_t n);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t k, size_t n);
void *__wrap_realloc(void *p, size_t n);
void __real_free(void *p);
void __wrap_free(void *p);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);

static int should_fail(void) {
    if (fail_at && ++allocs == fail_at) {
        failed = 1;
        return 1;
    }
    return 0;
}

static void *held(void *p) {
    live += p != NULL;
    return p;
}

void *__wrap_malloc(size_t n) {
    return should_fail() ? NULL : held(__real_malloc(n));
}

void *__wrap_calloc(size_t k, size_t n) {
    return should_fail() ? NULL : held(__real_calloc(k, n));
}

void *__wrap_realloc(void *p, size_t n) {
    if (should_fail()) {
        return NULL;
    }
    return p ? __real_realloc(p, n) : held(__real_realloc(p, n));
}

void __wrap_free(void *p) {
    live -= p != NULL;
    __real_free(p);
}

/* Lua's allocator in the tests that run Lua: failing as the C code's does
 * (never a shrink: Lua assumes those succeed), its blocks not in `live`. */
static void *lua_alloc(void *ud, void *p, size_t osize, size_t nsize) {
    (void)ud;
    if (nsize == 0) {
        __real_free(p);
        return NULL;
    }
    /* once failed, failing on: Lua retries a failed allocation after a full
     * collection, and a single failure would never reach the code */
    if ((!p || nsize > osize) && (should_fail() || (fail_at && failed))) {
        return NULL;
    }
    return __real_realloc(p, nsize);
}

char *__wrap_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = __wrap_malloc(n);
    return d ? memcpy(d, s, n) : NULL;
}

char *__wrap_strndup(const char *s, size_t n) {
    size_t k = strnlen(s, n);
    char *d = __wrap_malloc(k + 1);
    if (d) {
        memcpy(d, s, k);
        d[k] = 0;
    }
    return d;
}

static void arm(long n) {
    fail_at = n;
    allocs = 0;
    failed = 0;
}

static void disarm(void) {
    fail_at = 0;
}

/* ---- fixtures --------------------------------------------------------------------------- */

static char root[] = "/tmp/gh_test_oom_XXXXXX";
static int seq;

static store_coll *members_def(void) {
    store_coll *c = __real_calloc(1, sizeof *c);
    c->name = strdup("members");
    c->extra = -1;
    c->nfields = 3;
    c->fields = __real_calloc(3, sizeof *c->fields);
    const char *names[] = {"member_id", "name", "id_number"};
    int types[] = {FT_INT, FT_STRING, FT_STRING};
    for (int i = 0; i < 3; i++) {
        c->fields[i].name = strdup(names[i]);
        c->fields[i].type = types[i];
    }
    c->fields[1].label = strdup("姓名");
    c->fields[2].pii_declared = 1;
    c->fields[2].pii = 1;
    c->nindexes = 1;
    c->indexes = __real_calloc(1, sizeof *c->indexes);
    c->indexes[0].name = strdup("id_number");
    c->indexes[0].unique = 1;
    c->indexes[0].nfields = 1;
    c->indexes[0].fields[0] = 2;
    return c;
}

static void no_problem(void *ctx, const char *msg) {
    (void)ctx;
    fail_msg("check reported: %s", msg);
}

/* Opens (creating) a database, defines members (def, made before the
 * failures are armed; taken) and stores 20 records in one transaction. Returns 0 or the first error; always leaves nothing open. */
static int define_and_fill(const char *dir, store_coll *def) {
    store *s;
    store_txn *t;
    codec_buf b;
    int rc = store_open(dir, STORE_CREATE, &s);
    if (rc) {
        store_coll_free(def);
        return rc;
    }
    codec_buf_init(&b);
    if ((rc = store_txn_begin(s, NULL, 1, &t))) {
        store_coll_free(def);
        goto out;
    }
    if ((rc = store_define(t, def))) { /* takes def, in success and failure */
        store_txn_abort(t);
        goto out;
    }
    const store_coll *c;
    if ((rc = store_coll_get(t, "members", &c))) {
        store_txn_abort(t);
        goto out;
    }
    for (int i = 1; i <= 20 && !rc; i++) {
        char name[32], idn[32];
        snprintf(name, sizeof name, "会员%d", i);
        snprintf(idn, sizeof idn, "ID%06d", i);
        b.len = 0;
        mp_put_array(&b, 3);
        mp_put_int(&b, i);
        mp_put_str(&b, name, strlen(name));
        mp_put_str(&b, idn, strlen(idn));
        rc = b.oom ? GH_ENOMEM : store_put(t, c, STORE_INSERT, b.p, b.len);
    }
    if (rc) {
        store_txn_abort(t);
    } else {
        rc = store_txn_commit(t);
    }
out:
    codec_buf_free(&b);
    store_close(s);
    return rc;
}

/* 0 records or all 20, and a clean check: never half. -1 when the
 * database was never made (the failure came before it existed). */
static long records_after(const char *dir) {
    store *s;
    store_txn *t;
    const store_coll *c;
    uint64_t n = 0, problems = 99;
    if (store_open(dir, 0, &s) != 0) {
        return -1;
    }
    assert_int_equal(store_check(s, no_problem, NULL, &problems), 0);
    assert_int_equal(problems, 0);
    assert_int_equal(store_txn_begin(s, NULL, 0, &t), 0);
    if (store_coll_get(t, "members", &c) == 0) {
        assert_int_equal(store_count(t, c, &n), 0);
    }
    store_txn_abort(t);
    store_close(s);
    return (long)n;
}

/* ---- the tests -------------------------------------------------------------------------- */

static void test_store_every_failure(void **state) {
    (void)state;
    long n;
    for (n = 1; n < 100000; n++) {
        char dir[300];
        snprintf(dir, sizeof dir, "%s/db%d", root, seq++);
        store_coll *def = members_def();
        arm(n);
        int rc = define_and_fill(dir, def);
        int hit = failed;
        disarm();
        if (!hit) {
            assert_int_equal(rc, 0);
            assert_int_equal(records_after(dir), 20);
            break;
        }
        if (rc == 0) { /* a failure the code could go around (a cache, say) */
            long got = records_after(dir);
            if (got != 20) {
                fail_msg("allocation %ld failing was not reported, and %ld records of 20 are "
                         "stored",
                         n, got);
            }
            continue;
        }
        long got = records_after(dir);
        if (got != -1 && got != 0) {
            fail_msg("allocation %ld failing left %ld records (rc %s)", n, got, err_name(rc));
        }
    }
    assert_true(n > 5); /* the operation does allocate: the loop really ran */
}

static void test_definition_codec(void **state) {
    (void)state;
    store_coll *def = members_def();
    codec_buf b;
    codec_buf_init(&b);
    assert_int_equal(store_def_encode(def, &b), 0);
    long n;
    for (n = 1; n < 10000; n++) {
        store_coll *out = NULL;
        arm(n);
        int rc = store_def_decode(b.p, b.len, &out);
        int hit = failed;
        disarm();
        if (!hit) {
            assert_int_equal(rc, 0);
            assert_true(store_def_equivalent(def, out));
            store_coll_free(out);
            break;
        }
        assert_int_equal(rc, GH_ENOMEM);
        assert_null(out);
    }
    assert_true(n > 3);
    /* encoding into a buffer that cannot grow says so */
    for (n = 1; n < 100; n++) {
        codec_buf e;
        codec_buf_init(&e);
        arm(n);
        int rc = store_def_encode(def, &e);
        int hit = failed;
        disarm();
        codec_buf_free(&e);
        if (!hit) {
            assert_int_equal(rc, 0);
            break;
        }
        assert_int_equal(rc, GH_ENOMEM);
    }
    codec_buf_free(&b);
    store_coll_free(def);
}

static int rows_seen;
static int on_row(void *ctx, const csv_row *row) {
    (void)ctx;
    (void)row;
    rows_seen++;
    return 0;
}

static void test_csv_reader(void **state) {
    (void)state;
    char path[300];
    snprintf(path, sizeof path, "%s/in.csv", root);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("\xef\xbb\xbf姓名,身份证号,备注\r\n", f);
    for (int i = 0; i < 50; i++) {
        fprintf(f, "会员%d,ID%06d,\"a, \"\"quoted\"\"\nline\"\r\n", i, i);
    }
    fclose(f);
    long n;
    for (n = 1; n < 100000; n++) {
        rows_seen = 0;
        arm(n);
        int rc = csv_read(path, CSV_COMMA_SEP, CSV_ENC_AUTO, on_row, NULL, NULL);
        int hit = failed;
        disarm();
        if (!hit) {
            assert_int_equal(rc, 0);
            assert_int_equal(rows_seen, 51);
            break;
        }
        if (rc == 0) { /* libcsv linked in retries a failed buffer growth with less */
            assert_int_equal(rows_seen, 51);
        }
    }
    assert_true(n > 1);
}

/* db.define's spec read into a definition (lua_define.c): a failed
 * allocation of the C code is GH_ENOMEM and nothing; one of Lua's, and a spec
 * whose metamethod raises, is a Lua error that unwinds past
 * lstore_spec_to_def, and what it had built is freed all the same (it once
 * leaked: the definition was held in plain malloc'd memory across Lua
 * calls). A definition it returns is complete, its labels included (the
 * label's copy was once unchecked: the field was defined without its
 * label). Every run is checked to hold no more C blocks after than before. */
static store_coll *spec_out;

static int call_spec(lua_State *L) {
    lua_pushinteger(L, lstore_spec_to_def(L, "members", 1, &spec_out));
    return 1;
}

static void define_spec_every_failure(lua_State *L, const char *src, int raises) {
    assert_int_equal(luaL_loadstring(L, src), LUA_OK);
    assert_int_equal(lua_pcall(L, 0, 1, 0), LUA_OK);
    int spec = lua_gettop(L);
    long n;
    for (n = 0; n < 10000; n++) { /* n = 0: a run with no failure first (one-time caches) */
        spec_out = NULL;
        lua_pushcfunction(L, call_spec);
        lua_pushvalue(L, spec);
        long before = live;
        arm(n);
        int st = lua_pcall(L, 1, 1, 0);
        int hit = failed;
        disarm();
        int rc = st == LUA_OK ? (int)lua_tointeger(L, -1) : -1;
        if (st == LUA_ERRRUN) {
            assert_true(raises || hit);
        } else if (st != LUA_OK) {
            assert_int_equal(st, LUA_ERRMEM);
            assert_true(hit);
        }
        lua_pop(L, 1);
        assert_int_equal(lua_gettop(L), spec);
        if (rc > 0 || (rc < 0 && st == LUA_OK)) {
            assert_true(hit);
            assert_int_equal(rc, GH_ENOMEM);
            assert_null(spec_out);
        } else if (st == LUA_OK) {
            int labels = 0;
            for (int i = 0; i < spec_out->nfields; i++) {
                const store_field *f = &spec_out->fields[i];
                if (!strcmp(f->name, "name") || !strcmp(f->name, "id_number")) {
                    if (!f->label) {
                        fail_msg("allocation %ld failing lost the label of field '%s'", n, f->name);
                    }
                    labels++;
                }
            }
            assert_int_equal(labels, 2);
            assert_false(raises);
            store_coll_free(spec_out);
        } else {
            assert_null(spec_out);
        }
        lua_gc(L, LUA_GCCOLLECT); /* the finalizers of what an error left on the stack */
        if (live != before) {
            fail_msg("allocation %ld failing (Lua status %d, rc %d) leaked %ld block(s)", n, st, rc,
                     live - before);
        }
        if (n > 0 && !hit) {
            break;
        }
    }
    assert_true(n > 5);
    lua_settop(L, spec - 1);
}

static void test_define_spec(void **state) {
    (void)state;
    lua_State *L = lua_newstate(lua_alloc, NULL);
    assert_non_null(L);
    luaL_requiref(L, "_G", luaopen_base, 1); /* setmetatable, error */
    lua_pop(L, 1);
    /* a good spec; "a,b" makes Lua allocate (a table and strings) mid-way */
    define_spec_every_failure(L,
                              "return { key = 'member_id', fields = { member_id = 'int', "
                              "name = { type = 'string', label = '姓名' }, "
                              "id_number = { type = 'string', label = '身份证号', "
                              "pii = 'id' } }, unique = { 'id_number' }, "
                              "index = { 'name,id_number', { 'member_id', 'name' } } }",
                              0);
    /* a bad field: its metamethod raises after the label was copied */
    define_spec_every_failure(L,
                              "return { key = 'member_id', fields = { member_id = 'int', "
                              "name = setmetatable({ type = 'string', label = '姓名' }, "
                              "{ __index = function(_, k) if k == 'pii' then "
                              "error('a bad field') end end }) } }",
                              1);
    lua_close(L);
}

/* coll:insert_select (lua_select.c) with every allocation failing in turn:
 * the call fails (a memory error or GH_ENOMEM's message) and stores
 * nothing, neither a record nor an event, or it succeeds whole. */
static void test_insert_select(void **state) {
    (void)state;
    char dir[300];
    store *s;
    sandbox *sb;
    snprintf(dir, sizeof dir, "%s/select", root);
    assert_int_equal(store_open(dir, STORE_CREATE, &s), 0);
    ghstate_opts o;
    memset(&o, 0, sizeof o);
    o.kind = GHSTATE_RUN;
    o.s = s;
    o.uid = "run-1";
    o.mode = "run";
    assert_int_equal(ghstate_new(&o, &sb), 0);
    lua_State *L = sandbox_state(sb);
    assert_int_equal(luaL_dostring(L,
                                   "db.define('people', { key = 'pid', fields = { pid = 'int', "
                                   "name = 'string', hh = 'string?' } })\n"
                                   "db.atomic(function() for i = 1, 30 do db.people:insert{ "
                                   "pid = i, name = 'p' .. i, hh = i % 3 == 0 and 'h' or nil } "
                                   "end end)\n"
                                   "db.define('gifts', { key = 'gid', auto = true, fields = { "
                                   "gid = 'int', pid = 'int', hh = 'string', item = 'string' } })"),
                     LUA_OK);
    const char *call = "return db.gifts:insert_select{ from = db.people, set = { item = 'x' }, "
                       "take = { pid = 'pid', hh = { 'hh', or_key = 'm' } }, "
                       "publish = { topic = 'gift.given', fields = { 'gid', 'pid', 'hh' } } }";
    const char *count = "return db.gifts:count(), #bus.events{ from = 1, topic = 'gift.given' }";
    long n;
    lua_Integer before = 0; /* the events of the calls that succeeded so far */
    for (n = 1; n < 100000; n++) {
        assert_int_equal(luaL_loadstring(L, call), LUA_OK);
        arm(n);
        int rc = lua_pcall(L, 0, 1, 0);
        int hit = failed;
        disarm();
        lua_settop(L, 0);
        assert_int_equal(luaL_dostring(L, count), LUA_OK);
        lua_Integer recs = lua_tointeger(L, 1), evs = lua_tointeger(L, 2) - before;
        lua_settop(L, 0);
        if (rc == LUA_OK) {
            if (recs != 30 || evs != 30) {
                fail_msg("allocation %ld failing: insert_select succeeded with %lld records and "
                         "%lld events of 30",
                         n, (long long)recs, (long long)evs);
            }
            if (!hit) {
                break;
            }
            before += evs;
            assert_int_equal(luaL_dostring(L, "db.atomic(function() for i = 1, 10000 do "
                                              "db.gifts:delete(i) end end)"),
                             LUA_OK);
            continue;
        }
        assert_true(hit);
        if (recs != 0 || evs != 0) {
            fail_msg("allocation %ld failing left %lld records and %lld events", n, (long long)recs,
                     (long long)evs);
        }
    }
    assert_true(n > 5);
    sandbox_free(sb);
    store_close(s);
}

static int setup(void **state) {
    (void)state;
    return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_every_failure), cmocka_unit_test(test_definition_codec),
        cmocka_unit_test(test_csv_reader),          cmocka_unit_test(test_define_spec),
        cmocka_unit_test(test_insert_select),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

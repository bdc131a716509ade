/*
 * accounts.c — accounts, roles, argon2id passwords, lock-out, and the
 * `gonghui users` command (see accounts.h).
 *
 * Invariants:
 *  1. A password is never stored or printed: only crypto_pwhash_str's
 *     string (algorithm, cost, salt, hash) is kept.
 *  2. Records are read by field name through the stored definition, so a
 *     later gonghui that appends fields still reads these.
 *  3. Every change is one write transaction; a refused change writes
 *     nothing.
 */
#include "accounts.h"
#include "cli.h"

#include "clock.h"
#include "codec.h"
#include "err.h"
#include "scope.h"
#include "serve.h"
#include "table.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static const char *const role_names[ROLE__COUNT] = {"admin", "clerk", "operator", "auditor"};

const char *accounts_role_name(int role) {
    return role >= 0 && role < ROLE__COUNT ? role_names[role] : "?";
}

int accounts_role_of(const char *name) {
    for (int i = 0; i < ROLE__COUNT; i++) {
        if (strcmp(role_names[i], name) == 0) {
            return i;
        }
    }
    return -1;
}

enum {
    A_NAME,
    A_UNION,
    A_ROLE,
    A_STATION,
    A_HASH,
    A_DISABLED,
    A_FAILURES,
    A_LOCKED,
    A_CREATED,
    A_CHANGED,
    A_ENDED,
    A__COUNT
};

static const store_sysfield acc_fields[A__COUNT] = {
    {"name", FT_STRING, 0},    {"union_id", FT_INT, 0},          {"role", FT_STRING, 0},
    {"station", FT_STRING, 1}, {"hash", FT_STRING, 0},           {"disabled", FT_BOOL, 0},
    {"failures", FT_INT, 0},   {"locked_until", FT_INT, 0},      {"created", FT_NUMBER, 0},
    {"changed", FT_NUMBER, 0}, {"sessions_ended", FT_NUMBER, 1},
};

static int acc_coll(store_txn *t, int write, const store_coll **out) {
    if (!write) {
        return store_coll_get(t, ACCOUNTS_COLLECTION, out);
    }
    store_coll *def = store_sysdef(ACCOUNTS_COLLECTION, acc_fields, A__COUNT, 0);
    return def ? store_sys_ensure(t, def, out) : GH_ENOMEM;
}

static int field_of(const store_coll *c, int pos) {
    for (int f = 0; f < A__COUNT; f++) {
        if (strcmp(acc_fields[f].name, c->fields[pos].name) == 0) {
            return f;
        }
    }
    return -1;
}

static void copy_str(char *dst, size_t size, const mp_item *it) {
    size_t n = it->n < size - 1 ? it->n : size - 1;
    memcpy(dst, it->s, n);
    dst[n] = 0;
}

static int decode(const store_coll *c, const void *v, size_t n, account *a) {
    mp_reader r;
    mp_item it;
    memset(a, 0, sizeof *a);
    mp_reader_init(&r, v, n);
    if (mp_read(&r, &it) || it.type != MP_ARRAY) {
        return GH_ECORRUPT;
    }
    for (uint32_t i = 0, cnt = it.n; i < cnt && (int)i < c->nfields; i++) {
        const unsigned char *start = r.p;
        if (mp_read(&r, &it)) {
            return GH_ECORRUPT;
        }
        if (it.type == MP_ARRAY || it.type == MP_MAP) {
            r.p = start;
            if (mp_skip(&r, CODEC_MAX_DEPTH)) {
                return GH_ECORRUPT;
            }
            continue;
        }
        int f = field_of(c, (int)i);
        int is_str = it.type == MP_STR, is_int = it.type == MP_INT;
        double num = it.type == MP_FLOAT ? it.v.d : is_int ? (double)it.v.i : 0;
        switch (f) {
        case A_NAME:
            if (is_str) {
                copy_str(a->name, sizeof a->name, &it);
            }
            break;
        case A_UNION:
            a->union_id = is_int ? it.v.i : 0;
            break;
        case A_ROLE:
            if (is_str) {
                char role[16];
                copy_str(role, sizeof role, &it);
                a->role = accounts_role_of(role);
            }
            break;
        case A_STATION:
            if (is_str) {
                copy_str(a->station, sizeof a->station, &it);
            }
            break;
        case A_HASH:
            if (is_str) {
                copy_str(a->hash, sizeof a->hash, &it);
            }
            break;
        case A_DISABLED:
            a->disabled = it.type == MP_BOOL && it.v.b;
            break;
        case A_FAILURES:
            a->failures = is_int ? it.v.i : 0;
            break;
        case A_LOCKED:
            a->locked_until = is_int ? it.v.i : 0;
            break;
        case A_CREATED:
            a->created = num;
            break;
        case A_CHANGED:
            a->changed = num;
            break;
        case A_ENDED:
            a->sessions_ended = num;
            break;
        default:
            break;
        }
    }
    return a->role < 0 ? GH_ECORRUPT : 0;
}

int accounts_get(store_txn *t, const char *name, account *out) {
    const store_coll *c;
    codec_buf k;
    const void *v;
    size_t n;
    int rc = acc_coll(t, 0, &c);
    if (rc == GH_ENOTFOUND) {
        return err_set(GH_ENOTFOUND, _("no account named '%s'"), name);
    }
    if (rc) {
        return rc;
    }
    codec_buf_init(&k);
    key_put_str(&k, name, strlen(name));
    rc = k.oom ? GH_ENOMEM : store_get(t, c, k.p, k.len, &v, &n);
    codec_buf_free(&k);
    if (rc == GH_ENOTFOUND) {
        return err_set(GH_ENOTFOUND, _("no account named '%s'"), name);
    }
    if (rc == 0 && (rc = decode(c, v, n, out)) != 0) {
        rc = err_set(rc, _("the record of account '%s' is corrupt"), name);
    }
    return rc;
}

static void put_s(codec_buf *b, const char *s) {
    mp_put_str(b, s, strlen(s));
}

int accounts_put(store_txn *t, const account *a) {
    const store_coll *c;
    codec_buf b;
    int rc = acc_coll(t, 1, &c);
    if (rc) {
        return rc;
    }
    codec_buf_init(&b);
    mp_put_array(&b, (uint32_t)c->nfields);
    for (int i = 0; i < c->nfields; i++) {
        switch (field_of(c, i)) {
        case A_NAME:
            put_s(&b, a->name);
            break;
        case A_UNION:
            mp_put_int(&b, a->union_id);
            break;
        case A_ROLE:
            put_s(&b, accounts_role_name(a->role));
            break;
        case A_STATION:
            if (a->station[0]) {
                put_s(&b, a->station);
            } else {
                mp_put_nil(&b);
            }
            break;
        case A_HASH:
            put_s(&b, a->hash);
            break;
        case A_DISABLED:
            mp_put_bool(&b, a->disabled);
            break;
        case A_FAILURES:
            mp_put_int(&b, a->failures);
            break;
        case A_LOCKED:
            mp_put_int(&b, a->locked_until);
            break;
        case A_CREATED:
            mp_put_double(&b, a->created);
            break;
        case A_CHANGED:
            mp_put_double(&b, a->changed);
            break;
        case A_ENDED:
            if (a->sessions_ended > 0) {
                mp_put_double(&b, a->sessions_ended);
            } else {
                mp_put_nil(&b);
            }
            break;
        default:
            mp_put_nil(&b);
        }
    }
    rc = b.oom ? GH_ENOMEM : store_put(t, c, STORE_REPLACE, b.p, b.len);
    codec_buf_free(&b);
    return rc;
}

int accounts_hash(const char *password, char out[ACCOUNTS_HASH_MAX]) {
    const char *fast = getenv("GONGHUI_PWHASH_FAST");
    int min = fast && strcmp(fast, "1") == 0;
    if (sodium_init() < 0) {
        return err_set(GH_ENOMEM, _("libsodium could not start"));
    }
    if (crypto_pwhash_str_alg(out, password, strlen(password),
                              min ? crypto_pwhash_OPSLIMIT_MIN : crypto_pwhash_OPSLIMIT_INTERACTIVE,
                              min ? crypto_pwhash_MEMLIMIT_MIN : crypto_pwhash_MEMLIMIT_INTERACTIVE,
                              crypto_pwhash_ALG_ARGON2ID13) != 0) {
        return err_set(GH_ENOMEM, _("out of memory while hashing a password"));
    }
    return 0;
}

int accounts_verify(const account *a, const char *password) {
    if (sodium_init() < 0) {
        return 0;
    }
    return crypto_pwhash_str_verify(a->hash, password, strlen(password)) == 0;
}

int accounts_note_login(store_txn *t, const char *name, int ok, int64_t now) {
    account a;
    int rc = accounts_get(t, name, &a);
    if (rc) {
        return rc;
    }
    if (ok) {
        if (a.failures == 0 && a.locked_until == 0) {
            return 0; /* nothing to change: no write */
        }
        a.failures = 0;
        a.locked_until = 0;
    } else {
        if (a.locked_until && a.locked_until <= now) {
            a.failures = 0; /* an old lock that ran out: count afresh */
            a.locked_until = 0;
        }
        if (++a.failures >= ACCOUNTS_MAX_FAILURES) {
            a.locked_until = now + ACCOUNTS_LOCK_SECONDS;
        }
    }
    a.changed = (double)now;
    return accounts_put(t, &a);
}

/* ---- gonghui users ------------------------------------------------------------- */

/* One line from in, without echo on a terminal. 0 or -1 (nothing read). */
static int read_password(FILE *in, const char *prompt, char *buf, size_t size) {
    struct termios old, quiet;
    int tty = isatty(fileno(in)) && tcgetattr(fileno(in), &old) == 0;
    if (tty) {
        fprintf(stderr, "%s", prompt);
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(fileno(in), TCSAFLUSH, &quiet);
    }
    char *got = fgets(buf, (int)size, in);
    if (tty) {
        tcsetattr(fileno(in), TCSAFLUSH, &old);
        fprintf(stderr, "\n");
    }
    if (!got) {
        return -1;
    }
    buf[strcspn(buf, "\r\n")] = 0;
    return 0;
}

static int valid_account_name(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > 64) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= ' ' || c == ':' || c == '"' || c == '\'' || c == '\\' || c == 0x7f) {
            return 0;
        }
    }
    return 1;
}

/* Checks that union id exists (when there is a unions collection). */
static int check_union(store_txn *t, int64_t id) {
    scope *sc = NULL;
    const store_coll *u;
    if (store_coll_get(t, SCOPE_UNIONS, &u) != 0) {
        err_clear();
        return 0; /* no tree yet: accounts may be made before the registry */
    }
    int rc = scope_build(t, id, &sc);
    scope_free(sc);
    return rc;
}

typedef struct users_opts {
    int64_t union_id;
    int has_union, role;
    const char *station;
    const char *name; /* the account, wherever it stands among the options */
} users_opts;

/* The account's name and the options after `users CMD`, in any order (help.c's
 * options, parsed as for every command): `grant --union 3 li` as `grant li
 * --union 3`. */
static int parse_opts(const char *cmd, int argc, char **argv, users_opts *o) {
    char name[32];
    cli_iter it;
    const cli_opt *opt;
    const char *v;
    int got;
    o->has_union = 0;
    o->role = -1;
    o->station = NULL;
    o->name = NULL;
    snprintf(name, sizeof name, "users %s", cmd);
    cli_begin(&it, name, argc, argv);
    while ((got = cli_next(&it, &opt, &v)) > 0) {
        char *end;
        if (!opt && !o->name) {
            o->name = v;
        } else if (!opt) {
            cli_usage(&it, _("one account at a time (%s is one too many)"), v);
            return -1;
        } else if (cli_is(&it, opt, "--union")) {
            long long x = strtoll(v, &end, 10);
            if (*end || end == v) {
                fprintf(stderr,
                        _("gonghui users: --union expects a union id (a number), got "
                          "'%s'\n"),
                        v);
                return -1;
            }
            o->union_id = x;
            o->has_union = 1;
        } else if (cli_is(&it, opt, "--role")) {
            if ((o->role = accounts_role_of(v)) < 0) {
                fprintf(stderr,
                        _("gonghui users: --role must be admin, clerk, operator or auditor, "
                          "got '%s'\n"),
                        v);
                return -1;
            }
        } else if (cli_is(&it, opt, "--station")) {
            o->station = v;
        }
    }
    return got < 0 ? -1 : 0;
}

static int users_list(store *s) {
    store_txn *t;
    const store_coll *c;
    store_scan *sc;
    int rc = store_txn_begin(s, NULL, 0, &t);
    if (rc) {
        return rc;
    }
    if ((rc = acc_coll(t, 0, &c)) == GH_ENOTFOUND) {
        store_txn_abort(t);
        err_clear();
        printf(_("no accounts yet (gonghui users add NAME --union ID --role ROLE)\n"));
        return 0;
    }
    if (rc || (rc = store_scan_open(t, c, -1, NULL, &sc))) {
        store_txn_abort(t);
        return rc;
    }
    /* table.c lines the columns up by display width (Chinese headers) */
    tbl *tb = tbl_new(5);
    int oom = !tb || tbl_set_col(tb, 0, _("NAME")) || tbl_set_col(tb, 1, _("ROLE")) ||
              tbl_set_col(tb, 2, _("UNION")) || tbl_set_col(tb, 3, _("STATION")) ||
              tbl_set_col(tb, 4, _("STATE"));
    const void *k, *v;
    size_t kn, vn;
    int64_t now = (int64_t)clock_wall_s();
    while (!oom && (rc = store_scan_next(sc, &k, &kn, &v, &vn)) == 0) {
        account a;
        char uid[24];
        if (decode(c, v, vn, &a) != 0) {
            continue;
        }
        const char *state = a.disabled             ? _("disabled")
                            : a.locked_until > now ? _("locked")
                                                   : _("active");
        const char *role = accounts_role_name(a.role), *st = a.station[0] ? a.station : "-";
        snprintf(uid, sizeof uid, "%lld", (long long)a.union_id);
        oom = tbl_add_row(tb) || tbl_set(tb, 0, TBL_STR, a.name, strlen(a.name)) ||
              tbl_set(tb, 1, TBL_STR, role, strlen(role)) ||
              tbl_set(tb, 2, TBL_NUM, uid, strlen(uid)) ||
              tbl_set(tb, 3, TBL_STR, st, strlen(st)) ||
              tbl_set(tb, 4, TBL_STR, state, strlen(state));
    }
    store_scan_close(sc);
    store_txn_abort(t);
    if (!oom) {
        tbl_opts to = {.mode = TBL_TABLE};
        tbl_render(tb, &to, stdout);
    }
    tbl_free(tb);
    return oom ? GH_ENOMEM : rc == GH_ENOTFOUND ? 0 : rc;
}

/* Checks that station st is in the stations collection and belongs to the
 * subtree of union id (its scope field names a union of that subtree: the
 * station is one the account can see). No union tree yet: nothing to check
 * against (as check_union). */
static int check_station(store_txn *t, int64_t id, const char *st) {
    const store_coll *u, *c;
    codec_buf k;
    const void *v;
    size_t n;
    if (store_coll_get(t, SCOPE_UNIONS, &u) != 0) {
        err_clear();
        return 0;
    }
    int rc = store_coll_get(t, ACCOUNTS_STATIONS, &c);
    if (rc == 0) {
        codec_buf_init(&k);
        key_put_str(&k, st, strlen(st));
        rc = k.oom ? GH_ENOMEM : store_get(t, c, k.p, k.len, &v, &n);
        codec_buf_free(&k);
    }
    if (rc == GH_ENOTFOUND) {
        err_clear();
        return err_set(GH_ENOTFOUND,
                       _("there is no station '%s' in the stations collection: give --station "
                         "the id of one of the union's stations (gonghui export stations lists "
                         "them)"),
                       st);
    }
    scope *sc = NULL;
    if (rc || (rc = scope_build(t, id, &sc))) {
        return rc;
    }
    if (!scope_visible(sc, c, v, n)) {
        int64_t sid = 0;
        char nm[200] = "";
        int has = c->scope && scope_record_union(c, v, n, &sid);
        if (has) {
            scope_union_name(t, sid, nm, sizeof nm);
            rc = err_set(GH_EINVAL,
                         _("station %s belongs to union %lld %s, outside union %lld %s and the "
                           "unions under it: give --station a station of the account's union, or "
                           "--union the station's union"),
                         st, (long long)sid, nm, (long long)id, sc->name);
        } else {
            rc = err_set(GH_EINVAL,
                         _("station %s names no union (its %s is empty), so it is outside union "
                           "%lld %s: fill in the station's union first, or give --station another "
                           "station"),
                         st, c->scope ? c->fields[c->scope - 1].name : "union_id", (long long)id,
                         sc->name);
        }
    }
    scope_free(sc);
    return rc;
}

/* One `users` change, a unit of work (store_unit: it may run again after
 * the map grew, so it starts from the stored account every time). */
typedef struct users_unit {
    const char *cmd;
    const users_opts *o;
    const char *hash; /* add, passwd */
    double now;
    account a; /* out: the account as stored */
} users_unit;

static int users_work(store_txn *t, void *ctx) {
    users_unit *u = ctx;
    const users_opts *o = u->o;
    const char *cmd = u->cmd, *name = o->name;
    account *a = &u->a;
    int is_add = strcmp(cmd, "add") == 0, is_grant = strcmp(cmd, "grant") == 0;
    int rc = accounts_get(t, name, a);
    if (is_add) {
        if (rc == 0) {
            return err_set(GH_EEXISTS,
                           _("there is already an account named '%s' (gonghui users grant or "
                             "passwd change it)"),
                           name);
        }
        if (rc != GH_ENOTFOUND) {
            return rc;
        }
        err_clear();
        memset(a, 0, sizeof *a);
        snprintf(a->name, sizeof a->name, "%s", name);
        a->created = u->now;
        rc = 0;
    }
    if (rc) {
        return rc;
    }
    if (is_add || is_grant) {
        if (o->has_union) {
            if ((rc = check_union(t, o->union_id)) != 0) {
                return rc;
            }
            a->union_id = o->union_id;
        }
        if (o->role >= 0) {
            a->role = o->role;
        }
        if (a->role != ROLE_OPERATOR) {
            if (o->station) {
                return err_set(GH_EINVAL,
                               _("--station is for station operators only (account %s is %s): "
                                 "leave it out, or give --role operator with it"),
                               name, accounts_role_name(a->role));
            }
            a->station[0] = 0; /* a station means nothing to the other roles */
        } else {
            if (o->station) {
                snprintf(a->station, sizeof a->station, "%s", o->station);
            }
            if (!a->station[0]) {
                return err_set(GH_EINVAL,
                               _("a station operator needs its station: give --station ID (the "
                                 "station's id in the stations collection)"));
            }
            /* a new station, or the old one under a new union: checked */
            if ((rc = check_station(t, a->union_id, a->station)) != 0) {
                return rc;
            }
        }
    }
    if (is_add || strcmp(cmd, "passwd") == 0) {
        memcpy(a->hash, u->hash, sizeof a->hash);
        a->failures = 0;
        a->locked_until = 0;
    } else if (strcmp(cmd, "disable") == 0) {
        a->disabled = 1;
    } else if (strcmp(cmd, "enable") == 0) {
        a->disabled = 0;
    } else if (strcmp(cmd, "unlock") == 0) {
        a->failures = 0;
        a->locked_until = 0;
    }
    /* disable and a new password end the account's sessions: the stored ones
     * now, in this transaction, and (sessions_ended) those a running server
     * holds in memory at their next request */
    if (!is_add && (strcmp(cmd, "disable") == 0 || strcmp(cmd, "passwd") == 0)) {
        a->sessions_ended = u->now;
        if ((rc = serve_end_sessions(t, name)) != 0) {
            return rc;
        }
    }
    a->changed = u->now;
    return accounts_put(t, a);
}

int accounts_cli(store *s, int argc, char **argv, FILE *in) {
    static const char usage[] =
        "usage: gonghui users add NAME --union ID --role admin|clerk|operator|auditor "
        "[--station ID]\n"
        "       gonghui users list\n"
        "       gonghui users disable|enable|unlock NAME\n"
        "       gonghui users grant NAME [--role ROLE] [--union ID] [--station ID]\n"
        "       gonghui users passwd NAME\n"
        "  (add and passwd read the password from standard input)\n";
    if (argc < 1) {
        fprintf(stderr, "%s", _(usage));
        return 2;
    }
    const char *cmd = argv[0];
    if (strcmp(cmd, "list") == 0) {
        int rc = users_list(s);
        if (rc) {
            fprintf(stderr, "gonghui users: %s\n", err_msg(rc));
            return 1;
        }
        return 0;
    }
    if (argc < 2 ||
        !(strcmp(cmd, "add") == 0 || strcmp(cmd, "disable") == 0 || strcmp(cmd, "enable") == 0 ||
          strcmp(cmd, "unlock") == 0 || strcmp(cmd, "grant") == 0 || strcmp(cmd, "passwd") == 0)) {
        fprintf(stderr, "%s", _(usage));
        return 2;
    }
    users_opts o = {0};
    if (parse_opts(cmd, argc - 1, argv + 1, &o) != 0) {
        return 2;
    }
    if (!o.name) {
        fprintf(stderr, "%s", _(usage));
        return 2;
    }
    const char *name = o.name;
    int is_add = strcmp(cmd, "add") == 0;
    if (is_add && (!o.has_union || o.role < 0)) {
        fprintf(stderr, _("gonghui users add: an account needs --union ID and --role ROLE\n"));
        return 2;
    }
    if (is_add && o.role == ROLE_OPERATOR && !o.station) {
        fprintf(stderr, _("gonghui users add: a station operator needs its station: give "
                          "--station ID (the station's id in the stations collection)\n"));
        return 2;
    }
    if (is_add && o.role != ROLE_OPERATOR && o.station) {
        fprintf(stderr, _("gonghui users add: --station is for station operators only: leave it "
                          "out, or give --role operator\n"));
        return 2;
    }
    if (!is_add && strcmp(cmd, "grant") != 0 && (o.has_union || o.role >= 0 || o.station)) {
        fprintf(stderr, _("gonghui users %s: takes only the account's name\n"), cmd);
        return 2;
    }
    if (is_add && !valid_account_name(name)) {
        fprintf(stderr,
                _("gonghui users add: '%s' is not a usable account name (1-64 bytes, no spaces, "
                  "quotes, ':' or '\\')\n"),
                name);
        return 2;
    }
    char pw[1024] = "", hash[ACCOUNTS_HASH_MAX] = "";
    if (is_add || strcmp(cmd, "passwd") == 0) {
        if (read_password(in, _("password: "), pw, sizeof pw) != 0 || strlen(pw) < 8) {
            fprintf(stderr,
                    _("gonghui users %s: give a password of 8 characters or more on "
                      "standard input\n"),
                    cmd);
            sodium_memzero(pw, sizeof pw);
            return 2;
        }
        int rc = accounts_hash(pw, hash);
        sodium_memzero(pw, sizeof pw);
        if (rc) {
            fprintf(stderr, "gonghui users: %s\n", err_msg(rc));
            return 1;
        }
    }
    users_unit u = {.cmd = cmd, .o = &o, .hash = hash, .now = clock_wall_s()};
    int rc = store_unit(s, users_work, NULL, &u);
    sodium_memzero(hash, sizeof hash);
    if (rc) {
        fprintf(stderr, "gonghui users %s: %s\n", cmd, err_msg(rc));
        return 1;
    }
    account a = u.a;
    printf(_("account %s: %s, union %lld%s%s%s\n"), a.name, accounts_role_name(a.role),
           (long long)a.union_id, a.station[0] ? _(", station ") : "", a.station,
           a.disabled ? _(", disabled") : "");
    return 0;
}

/*
 * lottery.c — the `lottery` plugin: verifiable draws (公开可验证抽签) with
 * SHA-256 from libcrypto.
 *
 * Before the draw the organiser publishes two commitments: the SHA-256 of
 * the entrant list in its canonical form, and the SHA-256 of a secret seed.
 * After the draw the seed is revealed, and anyone holding the published list,
 * seed, prize name and number of winners computes the same winners: the draw
 * is a pure function of them, the same on every machine.
 *
 * The algorithm (README "Native plugins" -> `lottery` says it for people who
 * re-implement it; plugins/lottery/lottery_check.py does, in Python):
 *
 *   entrants   one id per line (LF); a final LF is optional. An id is one or
 *              more bytes, none a space or an ASCII control byte (0x00-0x20,
 *              0x7f); empty lines and duplicates are refused.
 *   canonical  the ids sorted bytewise (memcmp; a prefix sorts first), each
 *              followed by one LF.
 *   list hash  lower-case hex SHA-256 of the canonical form.
 *   seed       at least 16 bytes, any but NUL; its commitment is the
 *              lower-case hex SHA-256 of its bytes.
 *   draw       remaining = the canonical list (n ids), counter c = 0;
 *              while fewer than k winners:
 *                  m = len(remaining), b = bit length of m - 1 (0 when m = 1)
 *                  h = SHA-256("gonghui-lottery-v1" 0x00 seed 0x00 listhash
 *                              0x00 prize 0x00 c as 8 bytes big-endian)
 *                  c = c + 1
 *                  x = first 8 bytes of h as a big-endian integer, mod 2^b
 *                  if x < m: the next winner is remaining[x], removed from
 *                            remaining; otherwise x is rejected (no modulo
 *                            bias: every index is equally likely)
 *              the winners in draw order, each followed by LF.
 *
 * The draw seed of a framework draw (gonghui-draw-v2, scripts/lib/program/
 * draw.lua), so that nobody alone chooses it: the entrant lists are
 * committed first, then a public value named in advance and known only
 * later (RFC 3797: a lottery result of a stated date) and the parties'
 * revealed seeds are mixed in:
 *
 *   seed = lower-case hex SHA-256("gonghui-draw-v2" 0x00 draw 0x00 lists 0x00
 *                                 source 0x00 value 0x00 reveals)
 *   lists    the tiers' list hashes in tier order, each followed by LF
 *            ("-" for a tier with no entrants)
 *   source   the public value's description, as named when the list closed
 *   value    the public value as entered
 *   reveals  "party=seed" LF per committed party, parties sorted bytewise
 *            (empty when no party committed a seed)
 *
 * Lua (local lottery = plugin.load 'lottery'):
 *   canonical(entrants)        -> str   the canonical list (publish this file)
 *   list_hash(entrants)        -> str   64 hex digits
 *   count(entrants)            -> i64   the number of ids
 *   seed_commit(seed)          -> str   64 hex digits
 *   draw(entrants, seed, prize, k) -> str  k distinct winners, one per line
 *   verify(entrants, seed, seed_commitment, list_commitment, prize, k, winners)
 *                              -> true, or an error naming what does not match
 *   derive_seed(draw, lists, source, value, reveals) -> str   64 hex digits
 *
 * Sees only include/gonghui/plugin.h and libcrypto's EVP interface. Memory
 * for the ids' index and the results comes from the host (counted against
 * the run's limit); the ids themselves are read in place from the borrowed
 * argument.
 */
#include <gonghui/plugin.h>

#include <openssl/evp.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DOMAIN "gonghui-lottery-v1"
#define MIN_SEED 16
#define HEXLEN 64

static const gh_api *api;

/* One id: where it is in the argument, and its line (for messages). */
typedef struct {
    const char *s;
    size_t len;
    size_t line;
} entry;

typedef struct {
    entry *v;
    size_t n;
} entry_list;

static void list_free(entry_list *l) {
    api->free(l->v);
    l->v = NULL;
    l->n = 0;
}

static int entry_cmp(const void *a, const void *b) {
    const entry *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->s, y->s, n);
    if (c != 0) {
        return c;
    }
    return (x->len > y->len) - (x->len < y->len);
}

/* Splits what (one id per line) into ids, checks them and sorts them.
 * name says which argument it is, for messages. 0, or -1 with err set. */
static int parse_ids(const char *text, const char *name, entry_list *out, gh_err *err) {
    size_t cap = 0, n = 0, line = 0;
    entry *v = NULL;
    const char *p = text;
    while (*p) {
        line++;
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == 0) {
            api->error(err,
                       "%s: line %zu is empty: give one id per line, with no blank lines "
                       "(only the last line may end in a newline)",
                       name, line);
            goto fail;
        }
        for (size_t i = 0; i < len; i++) {
            unsigned char ch = (unsigned char)p[i];
            if (ch <= 0x20 || ch == 0x7f) {
                api->error(err,
                           "%s: line %zu ('%.*s...') contains %s (byte 0x%02x at column %zu): "
                           "an id has no spaces or control characters%s",
                           name, line, (int)(i > 40 ? 40 : i), p,
                           ch == ' ' ? "a space" : "a control character", ch, i + 1,
                           ch == '\r' ? " (a CRLF file: convert it to LF line ends)" : "");
                goto fail;
            }
        }
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            entry *nv = api->realloc(v, ncap * sizeof *nv);
            if (!nv) {
                api->error(err, "%s: out of memory at line %zu", name, line);
                goto fail;
            }
            v = nv;
            cap = ncap;
        }
        v[n].s = p;
        v[n].len = len;
        v[n].line = line;
        n++;
        p += len + (e ? 1 : 0);
    }
    if (n == 0) {
        api->error(err, "%s: the list is empty: there is no one to draw from", name);
        goto fail;
    }
    qsort(v, n, sizeof *v, entry_cmp);
    for (size_t i = 1; i < n; i++) {
        if (entry_cmp(&v[i - 1], &v[i]) == 0) {
            size_t a = v[i - 1].line < v[i].line ? v[i - 1].line : v[i].line;
            size_t b = v[i - 1].line < v[i].line ? v[i].line : v[i - 1].line;
            api->error(err, "%s: '%.*s' appears twice (lines %zu and %zu): each id once", name,
                       (int)(v[i].len > 60 ? 60 : v[i].len), v[i].s, a, b);
            goto fail;
        }
    }
    out->v = v;
    out->n = n;
    return 0;
fail:
    api->free(v);
    return -1;
}

static void to_hex(const unsigned char *d, size_t n, char *out) {
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hx[d[i] >> 4];
        out[2 * i + 1] = hx[d[i] & 15];
    }
    out[2 * n] = 0;
}

/* SHA-256 of the canonical form of l, as hex into out[65]. 0 or -1. */
static int hash_list(const entry_list *l, char out[HEXLEN + 1], gh_err *err) {
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    for (size_t i = 0; ok && i < l->n; i++) {
        ok = EVP_DigestUpdate(ctx, l->v[i].s, l->v[i].len) && EVP_DigestUpdate(ctx, "\n", 1);
    }
    ok = ok && EVP_DigestFinal_ex(ctx, md, &mdlen) && mdlen == 32;
    EVP_MD_CTX_free(ctx);
    if (!ok) {
        api->error(err, "libcrypto's SHA-256 failed");
        return -1;
    }
    to_hex(md, 32, out);
    return 0;
}

static int sha256_hex(const void *data, size_t len, char out[HEXLEN + 1], gh_err *err) {
    unsigned char md[32];
    unsigned int mdlen = 0;
    if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32) {
        api->error(err, "libcrypto's SHA-256 failed");
        return -1;
    }
    to_hex(md, 32, out);
    return 0;
}

static int check_seed(const char *seed, gh_err *err) {
    size_t n = strlen(seed);
    if (n < MIN_SEED) {
        api->error(err,
                   "the seed has %zu bytes; use at least %d random characters (a short seed can "
                   "be guessed from its published commitment)",
                   n, MIN_SEED);
        return -1;
    }
    return 0;
}

/* ---- the draw ------------------------------------------------------------------------- */

/* A Fenwick tree over n slots, each 1 while its id has not been drawn, so
 * that the x-th remaining id (0-based, in sorted order) is found in
 * O(log n) instead of removing it from an array. */
typedef struct {
    int64_t *t; /* 1-based */
    size_t n;
    size_t top; /* the largest power of two <= n */
} fenwick;

static int fenwick_init(fenwick *f, size_t n) {
    f->t = api->alloc((n + 1) * sizeof *f->t);
    if (!f->t) {
        return -1;
    }
    f->n = n;
    for (size_t i = 1; i <= n; i++) {
        f->t[i] = 1;
    }
    for (size_t i = 1; i <= n; i++) {
        size_t j = i + (i & (~i + 1));
        if (j <= n) {
            f->t[j] += f->t[i];
        }
    }
    f->top = 1;
    while (f->top * 2 <= n) {
        f->top *= 2;
    }
    return 0;
}

/* Removes and returns the 0-based slot of the x-th remaining one. */
static size_t fenwick_take(fenwick *f, uint64_t x) {
    size_t pos = 0;
    int64_t rest = (int64_t)x + 1;
    for (size_t step = f->top; step; step >>= 1) {
        if (pos + step <= f->n && f->t[pos + step] < rest) {
            pos += step;
            rest -= f->t[pos];
        }
    }
    /* pos + 1 is the 1-based slot */
    for (size_t i = pos + 1; i <= f->n; i += i & (~i + 1)) {
        f->t[i]--;
    }
    return pos;
}

static int bit_length(uint64_t v) {
    int b = 0;
    while (v) {
        b++;
        v >>= 1;
    }
    return b;
}

/* The winners of drawing k from l as one string (each id and LF), allocated
 * with api->alloc; NULL with err set. */
static char *draw_list(const entry_list *l, const char *seed, const char *prize, int64_t k,
                       gh_err *err) {
    char lh[HEXLEN + 1];
    char *msg = NULL, *res = NULL;
    fenwick f = {0};
    EVP_MD_CTX *ctx = NULL;
    if (k < 1) {
        api->error(err, "k is %lld: draw at least one winner", (long long)k);
        return NULL;
    }
    if ((uint64_t)k > l->n) {
        api->error(err,
                   "k is %lld but the list has only %zu entrants: each wins at most once, so "
                   "k can be at most %zu",
                   (long long)k, l->n, l->n);
        return NULL;
    }
    if (!*prize) {
        api->error(err, "the prize name is empty: name the prize (it is part of the draw)");
        return NULL;
    }
    if (check_seed(seed, err) != 0 || hash_list(l, lh, err) != 0) {
        return NULL;
    }
    size_t sl = strlen(seed), pl = strlen(prize), dl = sizeof DOMAIN - 1;
    size_t mlen = dl + 1 + sl + 1 + HEXLEN + 1 + pl + 1 + 8;
    size_t rlen = 1; /* room for every id: an upper bound for any k of them */
    for (size_t i = 0; i < l->n; i++) {
        rlen += l->v[i].len + 1;
    }
    msg = api->alloc(mlen);
    res = api->alloc(rlen);
    ctx = EVP_MD_CTX_new();
    if (!msg || !res || !ctx || fenwick_init(&f, l->n) != 0) {
        api->error(err, "out of memory for a draw from %zu entrants", l->n);
        goto fail;
    }
    char *q = msg;
    memcpy(q, DOMAIN, dl + 1); /* with its NUL */
    q += dl + 1;
    memcpy(q, seed, sl + 1);
    q += sl + 1;
    memcpy(q, lh, HEXLEN + 1);
    q += HEXLEN + 1;
    memcpy(q, prize, pl + 1);
    q += pl + 1;
    unsigned char *ctr = (unsigned char *)q;

    size_t used = 0;
    uint64_t c = 0;
    const EVP_MD *md = EVP_sha256();
    for (int64_t won = 0; won < k; c++) {
        uint64_t m = l->n - (uint64_t)won;
        int b = bit_length(m - 1);
        for (int i = 0; i < 8; i++) {
            ctr[i] = (unsigned char)(c >> (56 - 8 * i));
        }
        unsigned char h[32];
        unsigned int hl = 0;
        if (!EVP_DigestInit_ex(ctx, md, NULL) || !EVP_DigestUpdate(ctx, msg, mlen) ||
            !EVP_DigestFinal_ex(ctx, h, &hl) || hl != 32) {
            api->error(err, "libcrypto's SHA-256 failed");
            goto fail;
        }
        uint64_t x = 0;
        for (int i = 0; i < 8; i++) {
            x = (x << 8) | h[i];
        }
        x = b == 64 ? x : x & ((UINT64_C(1) << b) - 1);
        if (x >= m) {
            continue; /* rejected: keeps every index equally likely */
        }
        const entry *w = &l->v[fenwick_take(&f, x)];
        memcpy(res + used, w->s, w->len);
        used += w->len;
        res[used++] = '\n';
        won++;
    }
    res[used] = 0;
    api->free(msg);
    api->free(f.t);
    EVP_MD_CTX_free(ctx);
    return res;
fail:
    api->free(msg);
    api->free(res);
    api->free(f.t);
    EVP_MD_CTX_free(ctx);
    return NULL;
}

/* ---- the functions -------------------------------------------------------------------- */

static char *lot_canonical(const char *entrants, gh_err *err) {
    entry_list l = {0};
    if (parse_ids(entrants, "entrants", &l, err) != 0) {
        return NULL;
    }
    size_t len = 1;
    for (size_t i = 0; i < l.n; i++) {
        len += l.v[i].len + 1;
    }
    char *r = api->alloc(len), *q = r;
    if (!r) {
        api->error(err, "out of memory for %zu entrants", l.n);
        list_free(&l);
        return NULL;
    }
    for (size_t i = 0; i < l.n; i++) {
        memcpy(q, l.v[i].s, l.v[i].len);
        q += l.v[i].len;
        *q++ = '\n';
    }
    *q = 0;
    list_free(&l);
    return r;
}

static char *lot_list_hash(const char *entrants, gh_err *err) {
    entry_list l = {0};
    char h[HEXLEN + 1];
    if (parse_ids(entrants, "entrants", &l, err) != 0) {
        return NULL;
    }
    int rc = hash_list(&l, h, err);
    list_free(&l);
    return rc == 0 ? api->strdup(h) : NULL;
}

static int64_t lot_count(const char *entrants, gh_err *err) {
    entry_list l = {0};
    if (parse_ids(entrants, "entrants", &l, err) != 0) {
        return 0;
    }
    int64_t n = (int64_t)l.n;
    list_free(&l);
    return n;
}

static char *lot_seed_commit(const char *seed, gh_err *err) {
    char h[HEXLEN + 1];
    if (check_seed(seed, err) != 0 || sha256_hex(seed, strlen(seed), h, err) != 0) {
        return NULL;
    }
    return api->strdup(h);
}

static char *lot_draw(const char *entrants, const char *seed, const char *prize, int64_t k,
                      gh_err *err) {
    entry_list l = {0};
    if (parse_ids(entrants, "entrants", &l, err) != 0) {
        return NULL;
    }
    char *r = draw_list(&l, seed, prize, k, err);
    list_free(&l);
    return r;
}

/* A commitment as given (64 hex digits, either case) into lower case. */
static int read_commitment(const char *s, const char *what, char out[HEXLEN + 1], gh_err *err) {
    size_t n = strlen(s);
    int ok = n == HEXLEN;
    for (size_t i = 0; ok && i < n; i++) {
        char ch = s[i];
        if (ch >= 'A' && ch <= 'F') {
            ch = (char)(ch - 'A' + 'a');
        }
        ok = (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f');
        out[i] = ch;
    }
    if (!ok) {
        api->error(err, "the %s '%.80s' is not a SHA-256 in hex (64 digits 0-9, a-f)", what, s);
        return -1;
    }
    out[HEXLEN] = 0;
    return 0;
}

static bool lot_verify(const char *entrants, const char *seed, const char *seed_commitment,
                       const char *list_commitment, const char *prize, int64_t k,
                       const char *winners, gh_err *err) {
    char sc[HEXLEN + 1], lc[HEXLEN + 1], h[HEXLEN + 1];
    entry_list l = {0};
    char *drawn = NULL;
    bool ok = false;
    if (read_commitment(seed_commitment, "seed commitment", sc, err) != 0 ||
        read_commitment(list_commitment, "list commitment", lc, err) != 0) {
        return false;
    }
    if (check_seed(seed, err) != 0 || sha256_hex(seed, strlen(seed), h, err) != 0) {
        return false;
    }
    if (strcmp(h, sc) != 0) {
        api->error(err,
                   "the seed does not match the seed commitment: its SHA-256 is %s, the "
                   "commitment published before the draw is %s (the seed is not the one "
                   "committed to)",
                   h, sc);
        return false;
    }
    if (parse_ids(entrants, "entrants", &l, err) != 0 || hash_list(&l, h, err) != 0) {
        goto done;
    }
    if (strcmp(h, lc) != 0) {
        api->error(err,
                   "the entrant list does not match the list commitment: its SHA-256 is %s, "
                   "the commitment published before the draw is %s (an entrant was added, "
                   "removed or changed)",
                   h, lc);
        goto done;
    }
    drawn = draw_list(&l, seed, prize, k, err);
    if (!drawn) {
        goto done;
    }
    /* compare line by line (the winners may lack the final LF) */
    const char *a = drawn, *b = winners;
    for (int64_t i = 1; i <= k; i++) {
        const char *ea = strchr(a, '\n');
        const char *eb = strchr(b, '\n');
        size_t la = (size_t)(ea - a);
        size_t lb = eb ? (size_t)(eb - b) : strlen(b);
        if (!*b) {
            api->error(err,
                       "the published winners stop after %lld of %lld: winner %lld should be "
                       "'%.*s'",
                       (long long)(i - 1), (long long)k, (long long)i, (int)la, a);
            goto done;
        }
        if (la != lb || memcmp(a, b, la) != 0) {
            api->error(err,
                       "winner %lld does not match: the draw gives '%.*s', the published "
                       "winners say '%.*s'",
                       (long long)i, (int)la, a, (int)(lb > 60 ? 60 : lb), b);
            goto done;
        }
        a = ea + 1;
        b = eb ? eb + 1 : b + lb;
    }
    if (*b) {
        api->error(err, "the published winners have more than %lld names (from '%.60s' on)",
                   (long long)k, b);
        goto done;
    }
    ok = true;
done:
    api->free(drawn);
    list_free(&l);
    return ok;
}

/* ---- the draw seed (gonghui-draw-v2) --------------------------------------------------- */

#define DOMAIN2 "gonghui-draw-v2"

static int is_hex64(const char *s, size_t n) {
    if (n != HEXLEN) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
            return 0;
        }
    }
    return 1;
}

/* 0 when lists is one line per tier, each a lower-case list hash or "-",
 * each ended by LF. */
static int check_lists(const char *lists, gh_err *err) {
    const char *p = lists;
    size_t tier = 0;
    if (!*p) {
        api->error(err, "derive_seed: no list hashes: give one line per tier");
        return -1;
    }
    while (*p) {
        tier++;
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (!e || !(is_hex64(p, len) || (len == 1 && *p == '-'))) {
            api->error(err,
                       "derive_seed: line %zu of the list hashes ('%.*s') is not a lower-case "
                       "SHA-256 in hex or '-', ended by a newline",
                       tier, (int)(len > 70 ? 70 : len), p);
            return -1;
        }
        p = e + 1;
    }
    return 0;
}

/* 0 when reveals is empty or "party=seed" LF lines, parties sorted bytewise
 * and distinct, each seed at least MIN_SEED bytes. */
static int check_reveals(const char *reveals, gh_err *err) {
    const char *p = reveals, *prev = NULL;
    size_t prevlen = 0, line = 0;
    while (*p) {
        line++;
        const char *e = strchr(p, '\n');
        const char *eq = strchr(p, '=');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (!e || !eq || eq > e || eq == p) {
            api->error(err, "derive_seed: reveal %zu ('%.*s') is not party=seed ended by a newline",
                       line, (int)(len > 40 ? 40 : len), p);
            return -1;
        }
        size_t plen = (size_t)(eq - p);
        if ((size_t)(e - eq - 1) < MIN_SEED) {
            api->error(err, "derive_seed: the seed of '%.*s' has fewer than %d bytes", (int)plen, p,
                       MIN_SEED);
            return -1;
        }
        if (prev) {
            size_t m = plen < prevlen ? plen : prevlen;
            int c = memcmp(prev, p, m);
            if (c > 0 || (c == 0 && prevlen >= plen)) {
                api->error(err,
                           "derive_seed: the reveals are not sorted by party, or '%.*s' comes "
                           "twice",
                           (int)plen, p);
                return -1;
            }
        }
        prev = p;
        prevlen = plen;
        p = e + 1;
    }
    return 0;
}

static char *lot_derive_seed(const char *draw, const char *lists, const char *source,
                             const char *value, const char *reveals, gh_err *err) {
    if (!*draw || !*source || !*value) {
        api->error(err, "derive_seed: the %s is empty",
                   !*draw     ? "draw name"
                   : !*source ? "public value's source"
                              : "public value");
        return NULL;
    }
    if (check_lists(lists, err) != 0 || check_reveals(reveals, err) != 0) {
        return NULL;
    }
    const char *part[6] = {DOMAIN2, draw, lists, source, value, reveals};
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    for (int i = 0; ok && i < 6; i++) {
        ok = EVP_DigestUpdate(ctx, part[i], strlen(part[i])) &&
             (i == 5 || EVP_DigestUpdate(ctx, "", 1)); /* the NUL between parts */
    }
    ok = ok && EVP_DigestFinal_ex(ctx, md, &mdlen) && mdlen == 32;
    EVP_MD_CTX_free(ctx);
    if (!ok) {
        api->error(err, "libcrypto's SHA-256 failed");
        return NULL;
    }
    char h[HEXLEN + 1];
    to_hex(md, 32, h);
    return api->strdup(h);
}

GH_PLUGIN_EXPORT int gh_plugin_init(const gh_api *a, gh_plugin *p, char **errmsg) {
    (void)errmsg;
    api = a;
    if (gh_plugin_begin(a, p, "lottery", "1.1") != GH_PLUGIN_OK) {
        return GH_PLUGIN_ERROR;
    }
    static const struct {
        const char *name, *sig;
        gh_fn fn;
    } fns[] = {
        {"canonical", "str(str,err)", GH_FN(lot_canonical)},
        {"list_hash", "str(str,err)", GH_FN(lot_list_hash)},
        {"count", "i64(str,err)", GH_FN(lot_count)},
        {"seed_commit", "str(str,err)", GH_FN(lot_seed_commit)},
        {"draw", "str(str,str,str,i64,err)", GH_FN(lot_draw)},
        {"verify", "bool(str,str,str,str,str,i64,str,err)", GH_FN(lot_verify)},
        {"derive_seed", "str(str,str,str,str,str,err)", GH_FN(lot_derive_seed)},
    };
    for (size_t i = 0; i < sizeof fns / sizeof *fns; i++) {
        if (a->function(p, fns[i].name, fns[i].sig, fns[i].fn) != GH_PLUGIN_OK) {
            return GH_PLUGIN_ERROR;
        }
    }
    return GH_PLUGIN_OK;
}

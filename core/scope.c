/*
 * scope.c — union subtrees and the record checks of scoped requests (see
 * scope.h for the rules).
 *
 * Invariants:
 *  1. A scope's id list is sorted and holds its root; scope_has is a
 *     binary search, so a check costs one field decode and log2(n) steps.
 *  2. A record whose scope field is absent, not an integer, or does not
 *     decode is outside every scope except the whole tree's (`all`): when in
 *     doubt, hide.
 *  3. The tree is read in one snapshot (the caller's transaction); a cycle
 *     in parent_id is reported, never followed for ever.
 */
#include "scope.h"

#include "codec.h"
#include "err.h"
#include "topic_fields.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void scope_free(scope *sc) {
    if (sc) {
        free(sc->ids);
        free(sc->name);
        free(sc);
    }
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int scope_has(const scope *sc, int64_t id) {
    size_t lo = 0, hi = sc->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (sc->ids[mid] == id) {
            return 1;
        }
        if (sc->ids[mid] < id) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return 0;
}

/* Field pos of record rec: 1 with *it filled, 0 when the record is shorter
 * (absent), -1 when it does not decode. */
static int field_at(const void *rec, size_t n, int pos, mp_item *it) {
    mp_reader r;
    mp_reader_init(&r, rec, n);
    if (mp_read(&r, it) != 0 || it->type != MP_ARRAY) {
        return -1;
    }
    if ((uint32_t)pos >= it->n) {
        return 0;
    }
    for (int i = 0; i < pos; i++) {
        if (mp_skip(&r, CODEC_MAX_DEPTH) != 0) {
            return -1;
        }
    }
    return mp_read(&r, it) == 0 ? 1 : -1;
}

/* The record's union: 1 with *id, 0 when it has none (absent or not an int). */
int scope_record_union(const store_coll *c, const void *rec, size_t n, int64_t *id) {
    mp_item it;
    if (field_at(rec, n, c->scope - 1, &it) != 1 || it.type != MP_INT) {
        return 0;
    }
    *id = it.v.i;
    return 1;
}

int scope_visible(const scope *sc, const store_coll *c, const void *rec, size_t n) {
    int64_t id;
    if (!sc || !c->scope || sc->all) {
        return 1;
    }
    return scope_record_union(c, rec, n, &id) && scope_has(sc, id);
}

/* The name of union id into buf ("" if it has none or is not there). */
void scope_union_name(store_txn *t, int64_t id, char *buf, size_t size) {
    const store_coll *u;
    codec_buf k;
    const void *v;
    size_t n;
    mp_item it;
    buf[0] = 0;
    if (!t || store_coll_get(t, SCOPE_UNIONS, &u) != 0) {
        err_clear();
        return;
    }
    int pos = store_field_pos(u, "name");
    codec_buf_init(&k);
    key_put_int(&k, id);
    if (pos >= 0 && !k.oom && store_get(t, u, k.p, k.len, &v, &n) == 0 &&
        field_at(v, n, pos, &it) == 1 && it.type == MP_STR) {
        snprintf(buf, size, "%.*s", (int)it.n, it.s);
    }
    err_clear();
    codec_buf_free(&k);
}

_Thread_local int scope_refused;

int scope_check_write(store_txn *t, const scope *sc, const store_coll *c, const void *rec, size_t n,
                      const char *what) {
    int64_t id = 0;
    char nm[200];
    if (scope_visible(sc, c, rec, n)) {
        return 0;
    }
    scope_refused = 1;
    if (!scope_record_union(c, rec, n, &id)) {
        return err_set(GH_EINVAL,
                       _("%s: %s has no %s (the union it belongs to); this account (union %lld "
                         "%s) may write only records of its own union or the unions under it"),
                       c->name, what, c->fields[c->scope - 1].name, (long long)sc->root, sc->name);
    }
    scope_union_name(t, id, nm, sizeof nm);
    return err_set(GH_EINVAL,
                   _("%s: %s belongs to union %lld %s, outside the scope of this account (union "
                     "%lld %s and the unions under it); nothing was written"),
                   c->name, what, (long long)id, nm, (long long)sc->root, sc->name);
}

/* Positions r (at a MessagePack map) at the value of string key; 1 when
 * found, 0 when not (or not a map, or undecodable). */
static int map_find(mp_reader *r, const char *key) {
    mp_item it;
    size_t kl = strlen(key);
    if (mp_read(r, &it) != 0 || it.type != MP_MAP) {
        return 0;
    }
    for (uint32_t i = 0, n = it.n; i < n; i++) {
        const unsigned char *start = r->p;
        mp_item k;
        if (mp_read(r, &k) != 0) {
            return 0;
        }
        if (k.type == MP_STR && k.n == kl && memcmp(k.s, key, kl) == 0) {
            return 1;
        }
        if (k.type == MP_ARRAY || k.type == MP_MAP) { /* a container key: skip it whole */
            r->p = start;
            if (mp_skip(r, CODEC_MAX_DEPTH) != 0) {
                return 0;
            }
        }
        if (mp_skip(r, CODEC_MAX_DEPTH) != 0) {
            return 0;
        }
    }
    return 0;
}

/* The int at key of the map in payload: 1 with *v. */
static int map_int(const void *payload, size_t n, const char *key, int64_t *v) {
    mp_reader r;
    mp_item it;
    mp_reader_init(&r, payload, n);
    if (map_find(&r, key) != 1 || mp_read(&r, &it) != 0 || it.type != MP_INT) {
        return 0;
    }
    *v = it.v.i;
    return 1;
}

/* A change event of scoped collection c: both records (those present) in sc. */
static int change_visible(const scope *sc, const store_coll *c, const void *payload, size_t n) {
    static const char *const sides[] = {"old", "new"};
    const char *field = c->fields[c->scope - 1].name;
    int seen = 0;
    for (int i = 0; i < 2; i++) {
        mp_reader r;
        mp_item it;
        mp_reader_init(&r, payload, n);
        if (map_find(&r, sides[i]) != 1) {
            continue;
        }
        mp_reader at = r;
        if (mp_read(&at, &it) != 0) {
            return 0;
        }
        if (it.type == MP_NIL) {
            continue;
        }
        if (map_find(&r, field) != 1 || mp_read(&r, &it) != 0 || it.type != MP_INT ||
            !scope_has(sc, it.v.i)) {
            return 0;
        }
        seen = 1;
    }
    return seen;
}

static int is_change(const char *kind, size_t n) {
    return (n == 8 && memcmp(kind, "inserted", 8) == 0) ||
           (n == 7 && memcmp(kind, "updated", 7) == 0) ||
           (n == 7 && memcmp(kind, "deleted", 7) == 0);
}

/* The fields an event names its part of the tree by, in the order
 * payload_ints reads them. */
static const char *const event_keys[2] = {"union_id", "member_id"};

/* The int fields event_keys of an event's payload into ids (has[i] set when
 * present and an int): a map's keys, or, in an array payload (the compact
 * events of program.entry), the positions its topic declares for those
 * names (topic_fields.h: declared by the publisher, kept in the database).
 * 0, or -1 for an array payload of a topic that declares no names. */
static int payload_ints(store_txn *t, const char *topic, size_t tn, const void *payload, size_t n,
                        int64_t *ids, int *has) {
    mp_reader r;
    mp_item it;
    has[0] = has[1] = 0;
    mp_reader_init(&r, payload, n);
    if (mp_read(&r, &it) == 0 && it.type == MP_ARRAY && it.n > 0) { /* {} names nothing */
        int pos[2];
        if (!topic_fields_find(t, topic, tn, event_keys, 2, pos)) {
            return -1;
        }
        for (int i = 0; i < 2; i++) {
            has[i] = pos[i] >= 0 && field_at(payload, n, pos[i], &it) == 1 && it.type == MP_INT;
            ids[i] = has[i] ? it.v.i : 0;
        }
        return 0;
    }
    for (int i = 0; i < 2; i++) {
        has[i] = map_int(payload, n, event_keys[i], &ids[i]);
    }
    return 0;
}

static int event_in(store_txn *t, const scope *sc, const char *topic, size_t tn,
                    const void *payload, size_t n, int unnamed) {
    const store_coll *c;
    int64_t id, ids[2];
    int has[2];
    if (!sc || sc->all) {
        return 1;
    }
    const char *dot = NULL;
    for (size_t i = 0; i < tn; i++) {
        if (topic[i] == '.') {
            dot = topic + i;
        }
    }
    if (dot && is_change(dot + 1, tn - (size_t)(dot - topic) - 1) && (size_t)(dot - topic) < 256) {
        char name[256];
        memcpy(name, topic, (size_t)(dot - topic));
        name[dot - topic] = 0;
        if (store_coll_get(t, name, &c) == 0) {
            return c->scope ? change_visible(sc, c, payload, n) : 1;
        }
        err_clear();
    }
    int named = payload_ints(t, topic, tn, payload, n, ids, has);
    if (named < 0) {
        return 0; /* an array whose topic declares no names: nobody can tell whose it is */
    }
    if (has[0]) {
        return scope_has(sc, ids[0]);
    }
    if (has[1]) {
        id = ids[1];
        codec_buf k;
        const void *v;
        size_t vn;
        int seen = 0;
        if (store_coll_get(t, SCOPE_MEMBERS, &c) != 0) {
            err_clear();
            return 0;
        }
        codec_buf_init(&k);
        key_put_int(&k, id);
        if (!k.oom && store_get(t, c, k.p, k.len, &v, &vn) == 0) {
            seen = scope_visible(sc, c, v, vn);
        }
        err_clear();
        codec_buf_free(&k);
        return seen;
    }
    return unnamed;
}

int scope_event_visible(store_txn *t, const scope *sc, const char *topic, size_t tn,
                        const void *payload, size_t n) {
    return event_in(t, sc, topic, tn, payload, n, sc && sc->unnamed);
}

int scope_event_writable(store_txn *t, const scope *sc, const char *topic, size_t tn,
                         const void *payload, size_t n) {
    return event_in(t, sc, topic, tn, payload, n, 0);
}

static _Thread_local const int64_t *by_parent; /* qsort's comparator has no context */

static int cmp_by_parent(const void *a, const void *b) {
    int64_t x = by_parent[*(const size_t *)a], y = by_parent[*(const size_t *)b];
    return (x > y) - (x < y);
}

int scope_build(store_txn *t, int64_t root, scope **out) {
    const store_coll *u;
    store_scan *scan = NULL;
    int64_t *ids = NULL, *parents = NULL;
    size_t n = 0, cap = 0;
    int rc = store_coll_get(t, SCOPE_UNIONS, &u);
    if (rc) {
        return err_set(GH_ENOTFOUND,
                       _("there is no unions collection, so union %lld cannot be a scope "
                         "(registry.define_unions() makes it)"),
                       (long long)root);
    }
    int pk = u->key, pp = store_field_pos(u, "parent_id"), pn = store_field_pos(u, "name");
    if (pp < 0) {
        return err_set(GH_ENOTFOUND, _("the unions collection has no parent_id field"));
    }
    scope *sc = calloc(1, sizeof *sc);
    if (!sc || (rc = store_scan_open(t, u, -1, NULL, &scan)) != 0) {
        free(sc);
        return sc ? rc : GH_ENOMEM;
    }
    int found = 0;
    int64_t root_parent = -1;
    const void *key, *v;
    size_t kn, vn;
    while ((rc = store_scan_next(scan, &key, &kn, &v, &vn)) == 0) {
        mp_item a, b;
        if (field_at(v, vn, pk, &a) != 1 || a.type != MP_INT) {
            continue;
        }
        int hp = field_at(v, vn, pp, &b) == 1 && b.type == MP_INT;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            int64_t *ni = realloc(ids, cap * sizeof *ni),
                    *np = ni ? realloc(parents, cap * sizeof *np) : NULL;
            if (ni) {
                ids = ni;
            }
            if (!ni || !np) {
                rc = GH_ENOMEM;
                break;
            }
            parents = np;
        }
        ids[n] = a.v.i;
        parents[n] = hp ? b.v.i : INT64_MIN;
        if (a.v.i == root) {
            found = 1;
            root_parent = parents[n];
            mp_item nm;
            if (pn >= 0 && field_at(v, vn, pn, &nm) == 1 && nm.type == MP_STR) {
                sc->name = strndup(nm.s, nm.n);
            }
        }
        n++;
    }
    store_scan_close(scan);
    if (rc != GH_ENOTFOUND) {
        goto fail;
    }
    err_clear();
    if (!found) {
        rc =
            err_set(GH_ENOTFOUND, _("union %lld is not in the unions collection"), (long long)root);
        goto fail;
    }
    /* The subtree, breadth first: children found by binary search in the
     * unions sorted by parent; `in` stops a cycle from being followed twice. */
    unsigned char *in = calloc(n ? n : 1, 1);
    size_t *order = malloc((n ? n : 1) * sizeof *order);
    sc->ids = malloc((n ? n : 1) * sizeof *sc->ids);
    if (!in || !order || !sc->ids || (!sc->name && !(sc->name = strdup("")))) {
        free(in);
        free(order);
        rc = GH_ENOMEM;
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        order[i] = i;
    }
    by_parent = parents;
    qsort(order, n, sizeof *order, cmp_by_parent);
    sc->ids[sc->n++] = root;
    for (size_t i = 0; i < n; i++) {
        in[i] = ids[i] == root;
    }
    for (size_t q = 0; q < sc->n; q++) {
        int64_t p = sc->ids[q];
        size_t lo = 0, hi = n;
        while (lo < hi) { /* first union whose parent is >= p */
            size_t mid = lo + (hi - lo) / 2;
            if (parents[order[mid]] < p) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        for (; lo < n && parents[order[lo]] == p; lo++) {
            if (!in[order[lo]]) {
                in[order[lo]] = 1;
                sc->ids[sc->n++] = ids[order[lo]];
            }
        }
    }
    free(order);
    free(in);
    qsort(sc->ids, sc->n, sizeof *sc->ids, cmp_i64);
    sc->root = root;
    sc->all = root_parent == INT64_MIN;
    free(ids);
    free(parents);
    *out = sc;
    return 0;
fail:
    free(ids);
    free(parents);
    scope_free(sc);
    return rc;
}

/*
 * topic_fields.c — the field names of a topic's array payloads, kept in
 * `_topic_fields` (see topic_fields.h). Every read goes through
 * topic_fields_each; a record that does not decode reads as no declaration
 * (scope.c then hides the topic's array events: when in doubt, hide).
 */
#include "topic_fields.h"

#include "codec.h"
#include "err.h"

#include <string.h>

static const store_sysfield tf_fields[] = {{"topic", FT_STRING, 0}, {"fields", FT_ANY, 0}};

int topic_fields_each(store_txn *t, const char *topic, size_t tn,
                      void (*fn)(const char *name, size_t len, void *ctx), void *ctx) {
    const store_coll *c;
    const void *v;
    size_t vn;
    int found = 0;
    if (store_coll_get(t, TOPIC_FIELDS_COLLECTION, &c) != 0) {
        err_clear();
        return 0;
    }
    int pos = store_field_pos(c, "fields");
    codec_buf k;
    codec_buf_init(&k);
    key_put_str(&k, topic, tn);
    if (pos >= 0 && !k.oom && store_get(t, c, k.p, k.len, &v, &vn) == 0) {
        mp_reader r;
        mp_item it;
        mp_reader_init(&r, v, vn);
        int ok = mp_read(&r, &it) == 0 && it.type == MP_ARRAY && (uint32_t)pos < it.n;
        for (int i = 0; ok && i < pos; i++) {
            ok = mp_skip(&r, CODEC_MAX_DEPTH) == 0;
        }
        ok = ok && mp_read(&r, &it) == 0 && it.type == MP_ARRAY && it.n <= TOPIC_FIELDS_MAX;
        /* every name checked before any is handed out: all or none */
        mp_reader names = r;
        for (uint32_t i = 0, n = ok ? it.n : 0; ok && i < n; i++) {
            mp_item s;
            ok = mp_read(&names, &s) == 0 && s.type == MP_STR;
        }
        for (uint32_t i = 0, n = ok ? it.n : 0; i < n; i++) {
            mp_item s;
            mp_read(&r, &s);
            fn(s.s, s.n, ctx);
        }
        found = ok;
    }
    err_clear();
    codec_buf_free(&k);
    return found;
}

typedef struct {
    const char *const *names;
    const size_t *lens;
    int n, i, same;
} same_ctx;

static void same_one(const char *name, size_t len, void *ctx) {
    same_ctx *s = ctx;
    if (s->i >= s->n || s->lens[s->i] != len || memcmp(s->names[s->i], name, len) != 0) {
        s->same = 0;
    }
    s->i++;
}

int topic_fields_same(store_txn *t, const char *topic, size_t tn, const char *const *names,
                      const size_t *lens, int n) {
    same_ctx s = {names, lens, n, 0, 1};
    return topic_fields_each(t, topic, tn, same_one, &s) && s.same && s.i == n;
}

typedef struct {
    const char *const *want;
    int nwant, i;
    int *pos;
} find_ctx;

static void find_one(const char *name, size_t len, void *ctx) {
    find_ctx *f = ctx;
    for (int w = 0; w < f->nwant; w++) {
        if (f->pos[w] < 0 && strlen(f->want[w]) == len && memcmp(f->want[w], name, len) == 0) {
            f->pos[w] = f->i;
        }
    }
    f->i++;
}

int topic_fields_find(store_txn *t, const char *topic, size_t tn, const char *const *want,
                      int nwant, int *pos) {
    int tmp[8];
    find_ctx f = {want, nwant, 0, nwant <= 8 ? tmp : pos};
    for (int w = 0; w < nwant; w++) {
        f.pos[w] = -1;
    }
    if (!topic_fields_each(t, topic, tn, find_one, &f)) {
        return 0;
    }
    if (f.pos != pos) {
        memcpy(pos, tmp, (size_t)nwant * sizeof *pos);
    }
    return 1;
}

int topic_fields_put(store_txn *t, const char *topic, size_t tn, const char *const *names,
                     const size_t *lens, int n) {
    const store_coll *c;
    if (n < 0 || n > TOPIC_FIELDS_MAX) {
        return err_set(GH_EINVAL, _("a topic declares at most %d field names, got %d"),
                       TOPIC_FIELDS_MAX, n);
    }
    store_coll *def = store_sysdef(TOPIC_FIELDS_COLLECTION, tf_fields, 2, 0);
    int rc = def ? store_sys_ensure(t, def, &c) : GH_ENOMEM;
    if (rc) {
        return rc;
    }
    codec_buf b;
    codec_buf_init(&b);
    mp_put_array(&b, 2);
    mp_put_str(&b, topic, tn);
    mp_put_array(&b, (uint32_t)n);
    for (int i = 0; i < n; i++) {
        mp_put_str(&b, names[i], lens[i]);
    }
    rc = b.oom ? GH_ENOMEM : store_put(t, c, STORE_REPLACE, b.p, b.len);
    codec_buf_free(&b);
    return rc;
}

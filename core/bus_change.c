/*
 * bus_change.c — the change events of collections defined with events =
 * true (bus_change.h): one builder for the Lua face (lua_store.c) and
 * import (import.c), so the two cannot publish different payloads.
 *
 * Calls codec.c (MessagePack) and bus.c (the log). Knows nothing of Lua.
 * Invariant: the payload is made from the stored record bytes alone, field
 * by field in definition order: the same record gives the same bytes,
 * whoever wrote it.
 */
#include "bus_change.h"

#include "bus.h"
#include "err.h"

#include <stdio.h>
#include <string.h>

const char *bus_change_kind(int has_old, int has_new) {
    return has_old && has_new ? "updated" : has_new ? "inserted" : "deleted";
}

int bus_change_record(const store_coll *c, const void *rec, size_t n, codec_buf *out) {
    mp_reader r;
    mp_item it;
    const unsigned char *at[STORE_MAX_FIELDS + 1];
    mp_reader_init(&r, rec, n);
    if (mp_read(&r, &it) != 0 || it.type != MP_ARRAY) {
        return GH_ECORRUPT;
    }
    int k = (int)(it.n < (uint32_t)c->nfields ? it.n : (uint32_t)c->nfields);
    uint32_t count = 0;
    for (int i = 0; i < k; i++) {
        at[i] = r.p;
        if (mp_read(&r, &it) != 0) {
            return GH_ECORRUPT;
        }
        if (i == c->extra && it.type == MP_MAP) {
            count += it.n;
        } else if (it.type != MP_NIL && i != c->extra) {
            count++;
        }
        r.p = at[i];
        if (mp_skip(&r, CODEC_MAX_DEPTH) != 0) {
            return GH_ECORRUPT;
        }
    }
    at[k] = r.p;
    mp_put_map(out, count);
    for (int i = 0; i < k; i++) {
        mp_reader_init(&r, at[i], (size_t)(at[i + 1] - at[i]));
        if (mp_read(&r, &it) != 0 || it.type == MP_NIL) {
            continue;
        }
        if (i == c->extra) {
            if (it.type == MP_MAP) { /* its pairs as they are */
                codec_buf_add(out, r.p, (size_t)(at[i + 1] - r.p));
            }
            continue;
        }
        mp_put_str(out, c->fields[i].name, strlen(c->fields[i].name));
        codec_buf_add(out, at[i], (size_t)(at[i + 1] - at[i]));
    }
    return out->oom ? GH_ENOMEM : 0;
}

int bus_change_payload(const store_coll *c, const void *old, size_t oldn, const void *new_rec,
                       size_t newn, codec_buf *out) {
    int rc = 0;
    out->len = 0;
    mp_put_map(out, (uint32_t)((old != NULL) + (new_rec != NULL)));
    if (old) {
        mp_put_str(out, "old", 3);
        rc = bus_change_record(c, old, oldn, out);
    }
    if (rc == 0 && new_rec) {
        mp_put_str(out, "new", 3);
        rc = bus_change_record(c, new_rec, newn, out);
    }
    return rc ? rc : out->oom ? GH_ENOMEM : 0;
}

int bus_change_topic(const store_coll *c, const char *kind, char *topic, size_t n) {
    int tn = snprintf(topic, n, "%s.%s", c->name, kind);
    return tn < 0 || (size_t)tn >= n ? -1 : tn;
}

int bus_change_append(store_txn *t, const store_coll *c, const void *old, size_t oldn,
                      const void *new_rec, size_t newn, const char *run, codec_buf *scratch,
                      int64_t *seq) {
    char topic[300];
    int tn =
        bus_change_topic(c, bus_change_kind(old != NULL, new_rec != NULL), topic, sizeof topic);
    if (tn < 0) {
        return err_set(GH_EINVAL, _("collection '%s': its name is too long for an event topic"),
                       c->name);
    }
    int rc = bus_change_payload(c, old, oldn, new_rec, newn, scratch);
    return rc ? rc
              : bus_append(t, topic, (size_t)tn, scratch->p, scratch->len, run, bus_now_ms(), seq);
}

/*
 * import_cp.c — the `_imports` records of chunked imports (see import_cp.h).
 *
 * A record: name (key), sha256, run, line, rows,
 * stored, rejected, skipped, rej_bytes, chunk, finished, started, updated.
 * Scripts cannot reach it (system collections start with '_').
 */
#include "import_cp.h"

#include "codec.h"
#include "err.h"

#include <stdio.h>
#include <string.h>

enum {
    C_NAME,
    C_SHA,
    C_RUN,
    C_LINE,
    C_ROWS,
    C_STORED,
    C_REJECTED,
    C_SKIPPED,
    C_REJ_BYTES,
    C_CHUNK,
    C_FINISHED,
    C_STARTED,
    C_UPDATED,
    C__COUNT
};

static const store_sysfield cp_fields[C__COUNT] = {
    {"name", FT_STRING, 0},    {"sha256", FT_STRING, 0}, {"run", FT_STRING, 0},
    {"line", FT_INT, 0},       {"rows", FT_INT, 0},      {"stored", FT_INT, 0},
    {"rejected", FT_INT, 0},   {"skipped", FT_INT, 0},   {"rej_bytes", FT_INT, 0},
    {"chunk", FT_INT, 0},      {"finished", FT_BOOL, 0}, {"started", FT_NUMBER, 0},
    {"updated", FT_NUMBER, 0},
};

static void copy_str(char *dst, size_t n, const mp_item *it) {
    size_t k = it->n < n - 1 ? it->n : n - 1;
    memcpy(dst, it->s, k);
    dst[k] = 0;
}

int import_cp_get(store_txn *t, const char *name, import_cp *out) {
    const store_coll *c;
    int rc = store_coll_get(t, IMPORT_CP_COLLECTION, &c);
    if (rc) {
        return rc;
    }
    codec_buf k;
    codec_buf_init(&k);
    key_put_str(&k, name, strlen(name));
    const void *val;
    size_t n;
    rc = k.oom ? GH_ENOMEM : store_get(t, c, k.p, k.len, &val, &n);
    codec_buf_free(&k);
    if (rc) {
        return rc;
    }
    import_cp cp;
    memset(&cp, 0, sizeof cp);
    mp_reader r;
    mp_item it;
    mp_reader_init(&r, val, n);
    if (mp_read(&r, &it) != 0 || it.type != MP_ARRAY) {
        return GH_ECORRUPT;
    }
    uint32_t count = it.n;
    for (uint32_t i = 0; i < count && i < (uint32_t)c->nfields; i++) {
        if (mp_read(&r, &it) != 0) {
            return GH_ECORRUPT;
        }
        int f = 0;
        while (f < C__COUNT && strcmp(cp_fields[f].name, c->fields[i].name) != 0) {
            f++;
        }
        int64_t v = it.type == MP_INT ? it.v.i : 0;
        switch (f) {
        case C_NAME:
            if (it.type == MP_STR) {
                copy_str(cp.name, sizeof cp.name, &it);
            }
            break;
        case C_SHA:
            if (it.type == MP_STR) {
                copy_str(cp.sha256, sizeof cp.sha256, &it);
            }
            break;
        case C_RUN:
            if (it.type == MP_STR) {
                copy_str(cp.run, sizeof cp.run, &it);
            }
            break;
        case C_LINE:
            cp.line = v;
            break;
        case C_ROWS:
            cp.rows = v;
            break;
        case C_STORED:
            cp.stored = v;
            break;
        case C_REJECTED:
            cp.rejected = v;
            break;
        case C_SKIPPED:
            cp.skipped = v;
            break;
        case C_REJ_BYTES:
            cp.rej_bytes = v;
            break;
        case C_CHUNK:
            cp.chunk = v;
            break;
        case C_FINISHED:
            cp.finished = it.type == MP_BOOL && it.v.b;
            break;
        case C_STARTED:
            cp.started = it.type == MP_FLOAT ? it.v.d : (double)v;
            break;
        case C_UPDATED:
            cp.updated = it.type == MP_FLOAT ? it.v.d : (double)v;
            break;
        default:
            break;
        }
    }
    *out = cp;
    return 0;
}

int import_cp_put(store_txn *t, const import_cp *cp) {
    const store_coll *c;
    store_coll *def = store_sysdef(IMPORT_CP_COLLECTION, cp_fields, C__COUNT, 0);
    int rc = def ? store_sys_ensure(t, def, &c) : GH_ENOMEM;
    if (rc) {
        return rc;
    }
    codec_buf b;
    codec_buf_init(&b);
    mp_put_array(&b, (uint32_t)c->nfields);
    for (int i = 0; i < c->nfields; i++) {
        int f = 0;
        while (f < C__COUNT && strcmp(cp_fields[f].name, c->fields[i].name) != 0) {
            f++;
        }
        switch (f) {
        case C_NAME:
            mp_put_str(&b, cp->name, strlen(cp->name));
            break;
        case C_SHA:
            mp_put_str(&b, cp->sha256, strlen(cp->sha256));
            break;
        case C_RUN:
            mp_put_str(&b, cp->run, strlen(cp->run));
            break;
        case C_LINE:
            mp_put_int(&b, cp->line);
            break;
        case C_ROWS:
            mp_put_int(&b, cp->rows);
            break;
        case C_STORED:
            mp_put_int(&b, cp->stored);
            break;
        case C_REJECTED:
            mp_put_int(&b, cp->rejected);
            break;
        case C_SKIPPED:
            mp_put_int(&b, cp->skipped);
            break;
        case C_REJ_BYTES:
            mp_put_int(&b, cp->rej_bytes);
            break;
        case C_CHUNK:
            mp_put_int(&b, cp->chunk);
            break;
        case C_FINISHED:
            mp_put_bool(&b, cp->finished);
            break;
        case C_STARTED:
            mp_put_double(&b, cp->started);
            break;
        case C_UPDATED:
            mp_put_double(&b, cp->updated);
            break;
        default:
            mp_put_nil(&b);
        }
    }
    rc = b.oom ? GH_ENOMEM : store_put(t, c, STORE_REPLACE, b.p, b.len);
    codec_buf_free(&b);
    return rc;
}

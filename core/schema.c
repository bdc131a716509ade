/*
 * schema.c — collection definitions: types, checks, and their stored form.
 *
 * The stored form is a MessagePack array:
 *   [1, name, key, auto, extra, [[field, type, optional(, label(, pii))]...],
 *    [[index-name, unique, [position...]]...](, events(, scope))]
 * (scope, element 9, is 1 + the scope field's position, written only when
 * set; a field has a 4th element only when it has a label or declares personal
 * data, the label nil when it has none, and a 5th, the pii.h kind name,
 * only when it declares personal data, so definitions without them read the
 * same in older versions).
 */
#include "codec.h"
#include "err.h"
#include "pii.h"
#include "store.h"

#include <stdlib.h>
#include <string.h>

static const char *const type_names[FT__COUNT] = {"int",  "number", "string", "bool",
                                                  "date", "fen",    "any"};

const char *store_type_name(int type) {
    return type >= 0 && type < FT__COUNT ? type_names[type] : "?";
}

const char *store_field_label(const store_coll *c, int pos) {
    const store_field *f = &c->fields[pos];
    return f->label && *f->label ? f->label : f->name;
}

int store_type_of(const char *name) {
    for (int i = 0; i < FT__COUNT; i++) {
        if (strcmp(name, type_names[i]) == 0) {
            return i;
        }
    }
    return -1;
}

void store_coll_free(store_coll *c) {
    if (!c) {
        return;
    }
    for (int i = 0; i < c->nfields; i++) {
        free(c->fields[i].name);
        free(c->fields[i].label);
    }
    for (int i = 0; i < c->nindexes; i++) {
        free(c->indexes[i].name);
    }
    free(c->fields);
    free(c->indexes);
    free(c->name);
    free(c);
}

int store_field_pii(const store_field *f) {
    return pii_kind_for(f->pii_declared ? f->pii : PII_UNDECLARED, f->name, f->label);
}

int store_field_pos(const store_coll *c, const char *name) {
    for (int i = 0; i < c->nfields; i++) {
        if (strcmp(c->fields[i].name, name) == 0) {
            return i;
        }
    }
    return -1;
}

static int valid_name(const char *s) {
    /* Identifiers (ASCII letters, digits, '_') or UTF-8 text; no control
     * characters, separators we use (':' ',') or spaces. */
    if (!*s) {
        return 0;
    }
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p <= ' ' || *p == ':' || *p == ',' || *p == 0x7f) {
            return 0;
        }
    }
    return strlen(s) <= 64;
}

/* GH_ESCHEMA when name s (of what: a collection, a field, a label) is not
 * UTF-8 text: export writes names as column headers (issue 16, class 11). */
static int name_not_text(const store_coll *c, const char *what, const char *s) {
    char shown[200];
    if (codec_utf8_valid((const unsigned char *)s, strlen(s), NULL)) {
        return 0;
    }
    codec_show_bytes(s, strlen(s), shown, sizeof shown);
    return err_set(GH_ESCHEMA,
                   _("collection \"%s\": the %s \"%s\" holds bytes that are not UTF-8 text; "
                     "write names and labels as UTF-8"),
                   c == NULL ? shown : c->name, what, shown);
}

int store_def_text(const store_coll *c) {
    int rc;
    if ((rc = name_not_text(NULL, _("collection name"), c->name)) != 0) {
        return rc;
    }
    for (int i = 0; i < c->nfields; i++) {
        if ((c->fields[i].name && (rc = name_not_text(c, _("field name"), c->fields[i].name))) ||
            (c->fields[i].label && (rc = name_not_text(c, _("label"), c->fields[i].label)))) {
            return rc;
        }
    }
    return 0;
}

int store_def_check(const store_coll *c) {
    if (!valid_name(c->name)) {
        return err_set(GH_ESCHEMA,
                       _("collection name \"%s\" is not valid (1-64 bytes, no spaces, "
                         "':' or ',')"),
                       c->name);
    }
    if (c->nfields < 1 || c->nfields > STORE_MAX_FIELDS) {
        return err_set(GH_ESCHEMA, _("collection '%s': needs 1 to %d fields"), c->name,
                       STORE_MAX_FIELDS);
    }
    if (c->extra >= c->nfields ||
        (c->extra >= 0 && (c->fields[c->extra].name[0] || c->fields[c->extra].type != FT_ANY))) {
        return err_set(GH_ESCHEMA, _("collection '%s': bad extra-fields slot"), c->name);
    }
    for (int i = 0; i < c->nfields; i++) {
        if (i != c->extra && !valid_name(c->fields[i].name)) {
            return err_set(GH_ESCHEMA, _("collection '%s': field name \"%s\" is not valid"),
                           c->name, c->fields[i].name);
        }
        for (int j = 0; j < i; j++) {
            if (strcmp(c->fields[i].name, c->fields[j].name) == 0) {
                return err_set(GH_ESCHEMA, _("collection '%s': field '%s' is defined twice"),
                               c->name, c->fields[i].name);
            }
        }
    }
    for (int i = 0; i < c->nfields; i++) {
        const char *l = c->fields[i].label;
        if (!l) {
            continue;
        }
        if (!*l || strlen(l) > 100 || strchr(l, '\n') || strchr(l, '\r')) {
            return err_set(GH_ESCHEMA,
                           _("collection '%s': field '%s' has the label \"%s\": a label is 1-100 "
                             "bytes on one line"),
                           c->name, c->fields[i].name, l);
        }
        for (int j = 0; j < c->nfields; j++) {
            if (j != i && (strcmp(l, c->fields[j].name) == 0 ||
                           (c->fields[j].label && j > i && strcmp(l, c->fields[j].label) == 0))) {
                return err_set(GH_ESCHEMA,
                               _("collection '%s': the label \"%s\" of field '%s' is also the name "
                                 "or label of field '%s': a column header must name one field"),
                               c->name, l, c->fields[i].name, c->fields[j].name);
            }
        }
    }
    if (c->key < 0 || c->key >= c->nfields || c->key == c->extra) {
        return err_set(GH_ESCHEMA, _("collection '%s': the key field is not one of its fields"),
                       c->name);
    }
    const store_field *k = &c->fields[c->key];
    if (k->type != FT_INT && k->type != FT_STRING && k->type != FT_DATE) {
        return err_set(GH_ESCHEMA,
                       _("collection '%s': key field '%s' must be int or string, not %s"), c->name,
                       k->name, store_type_name(k->type));
    }
    if (c->auto_key && k->type != FT_INT) {
        return err_set(GH_ESCHEMA, _("collection '%s': an automatic key must be an int field"),
                       c->name);
    }
    if (c->scope && (c->scope > c->nfields || c->scope - 1 == c->extra ||
                     c->fields[c->scope - 1].type != FT_INT)) {
        return err_set(
            GH_ESCHEMA,
            _("collection '%s': the scope field must be an int field holding a union id"), c->name);
    }
    if (c->events && strchr(c->name, '*')) {
        return err_set(GH_ESCHEMA,
                       _("collection '%s': a name with '*' cannot name events; rename it to use "
                         "events = true"),
                       c->name);
    }
    for (int i = 0; i < c->nindexes; i++) {
        const store_index *ix = &c->indexes[i];
        if (ix->nfields < 1 || ix->nfields > STORE_MAX_INDEX_FIELDS) {
            return err_set(GH_ESCHEMA, _("collection '%s': index '%s' needs 1 to %d fields"),
                           c->name, ix->name, STORE_MAX_INDEX_FIELDS);
        }
        for (int j = 0; j < ix->nfields; j++) {
            if (ix->fields[j] < 0 || ix->fields[j] >= c->nfields || ix->fields[j] == c->extra) {
                return err_set(GH_EUNKNOWN, _("collection '%s': index '%s' names an unknown field"),
                               c->name, ix->name);
            }
            if (c->fields[ix->fields[j]].type == FT_ANY) {
                return err_set(GH_ESCHEMA,
                               _("collection '%s': index '%s' is on field '%s' of type any, "
                                 "which cannot be indexed"),
                               c->name, ix->name, c->fields[ix->fields[j]].name);
            }
        }
        for (int j = 0; j < i; j++) {
            if (strcmp(ix->name, c->indexes[j].name) == 0) {
                return err_set(GH_ESCHEMA, _("collection '%s': index '%s' is defined twice"),
                               c->name, ix->name);
            }
        }
    }
    return 0;
}

int store_def_encode(const store_coll *c, codec_buf *out) {
    mp_put_array(out, c->scope ? 9 : 8);
    mp_put_int(out, 1);
    mp_put_str(out, c->name, strlen(c->name));
    mp_put_int(out, c->key);
    mp_put_bool(out, c->auto_key);
    mp_put_int(out, c->extra);
    mp_put_array(out, (uint32_t)c->nfields);
    for (int i = 0; i < c->nfields; i++) {
        const store_field *f = &c->fields[i];
        mp_put_array(out, f->pii_declared ? 5 : f->label ? 4 : 3);
        mp_put_str(out, f->name, strlen(f->name));
        mp_put_str(out, store_type_name(f->type), strlen(store_type_name(f->type)));
        mp_put_bool(out, f->optional);
        if (f->label) {
            mp_put_str(out, f->label, strlen(f->label));
        } else if (f->pii_declared) {
            mp_put_nil(out);
        }
        if (f->pii_declared) {
            mp_put_str(out, pii_kind_name(f->pii), strlen(pii_kind_name(f->pii)));
        }
    }
    mp_put_array(out, (uint32_t)c->nindexes);
    for (int i = 0; i < c->nindexes; i++) {
        const store_index *ix = &c->indexes[i];
        mp_put_array(out, 3);
        mp_put_str(out, ix->name, strlen(ix->name));
        mp_put_bool(out, ix->unique);
        mp_put_array(out, (uint32_t)ix->nfields);
        for (int j = 0; j < ix->nfields; j++) {
            mp_put_int(out, ix->fields[j]);
        }
    }
    mp_put_bool(out, c->events);
    if (c->scope) {
        mp_put_int(out, c->scope);
    }
    return out->oom ? GH_ENOMEM : 0;
}

/* Reading helpers: each fails with GH_ECORRUPT on a type mismatch. */
static int rd(mp_reader *r, int type, mp_item *it) {
    if (mp_read(r, it) != 0 || it->type != type) {
        return GH_ECORRUPT;
    }
    return 0;
}

/* A string as a new C string; NULL when it is not one, or (with *oom set)
 * when there is no memory for it. */
static char *rd_str(mp_reader *r, int *oom) {
    mp_item it;
    if (rd(r, MP_STR, &it) != 0) {
        return NULL;
    }
    char *s = strndup(it.s, it.n);
    *oom |= !s;
    return s;
}

int store_def_decode(const void *p, size_t n, store_coll **out) {
    mp_reader r;
    mp_item it;
    int oom = 0; /* a failed allocation, not a corrupt definition */
    mp_reader_init(&r, p, n);
    store_coll *c = calloc(1, sizeof *c);
    if (!c) {
        return GH_ENOMEM;
    }
    if (rd(&r, MP_ARRAY, &it) || it.n < 7 || it.n > 9) {
        goto corrupt;
    }
    uint32_t nelem = it.n;
    if (rd(&r, MP_INT, &it) || it.v.i != 1) {
        goto corrupt;
    }
    if (!(c->name = rd_str(&r, &oom))) {
        goto corrupt;
    }
    if (rd(&r, MP_INT, &it)) {
        goto corrupt;
    }
    c->key = (int)it.v.i;
    if (rd(&r, MP_BOOL, &it)) {
        goto corrupt;
    }
    c->auto_key = it.v.b;
    if (rd(&r, MP_INT, &it)) {
        goto corrupt;
    }
    c->extra = (int)it.v.i;
    if (rd(&r, MP_ARRAY, &it) || it.n > STORE_MAX_FIELDS) {
        goto corrupt;
    }
    c->fields = calloc(it.n ? it.n : 1, sizeof *c->fields);
    if (!c->fields) {
        goto nomem;
    }
    for (uint32_t i = 0, nf = it.n; i < nf; i++) {
        store_field *f = &c->fields[i];
        if (rd(&r, MP_ARRAY, &it) || it.n < 3 || it.n > 5) {
            goto corrupt;
        }
        uint32_t nparts = it.n;
        c->nfields++;
        char *t;
        if (!(f->name = rd_str(&r, &oom)) || !(t = rd_str(&r, &oom))) {
            goto corrupt;
        }
        f->type = store_type_of(t);
        free(t);
        if (f->type < 0 || rd(&r, MP_BOOL, &it)) {
            goto corrupt;
        }
        f->optional = it.v.b;
        if (nparts >= 4) {
            if (mp_read(&r, &it) != 0 || (it.type != MP_NIL && it.type != MP_STR)) {
                goto corrupt;
            }
            if (it.type == MP_STR && !(f->label = strndup(it.s, it.n))) {
                goto nomem;
            }
        }
        if (nparts == 5) {
            char *k = rd_str(&r, &oom);
            f->pii = k ? pii_kind_of(k) : -1;
            free(k);
            if (f->pii < 0) {
                goto corrupt;
            }
            f->pii_declared = 1;
        }
    }
    if (rd(&r, MP_ARRAY, &it) || it.n > 1024) {
        goto corrupt;
    }
    c->indexes = calloc(it.n ? it.n : 1, sizeof *c->indexes);
    if (!c->indexes) {
        goto nomem;
    }
    for (uint32_t i = 0, ni = it.n; i < ni; i++) {
        store_index *ix = &c->indexes[i];
        if (rd(&r, MP_ARRAY, &it) || it.n != 3) {
            goto corrupt;
        }
        c->nindexes++;
        if (!(ix->name = rd_str(&r, &oom)) || rd(&r, MP_BOOL, &it)) {
            goto corrupt;
        }
        ix->unique = it.v.b;
        if (rd(&r, MP_ARRAY, &it) || it.n < 1 || it.n > STORE_MAX_INDEX_FIELDS) {
            goto corrupt;
        }
        ix->nfields = (int)it.n;
        for (int j = 0; j < ix->nfields; j++) {
            if (rd(&r, MP_INT, &it)) {
                goto corrupt;
            }
            ix->fields[j] = (int)it.v.i;
        }
    }
    if (nelem >= 8) {
        if (rd(&r, MP_BOOL, &it)) {
            goto corrupt;
        }
        c->events = it.v.b;
    }
    if (nelem == 9) {
        if (rd(&r, MP_INT, &it) || it.v.i < 1 || it.v.i > c->nfields) {
            goto corrupt;
        }
        c->scope = (int)it.v.i;
    }
    if (r.p != r.end || store_def_check(c) != 0) {
        goto corrupt;
    }
    *out = c;
    return 0;
corrupt:
    store_coll_free(c);
    if (oom) {
        return GH_ENOMEM;
    }
    return err_set(GH_ECORRUPT, _("a stored collection definition is corrupt"));
nomem:
    store_coll_free(c);
    return GH_ENOMEM;
}

int store_def_equivalent(const store_coll *a, const store_coll *b) {
    if (strcmp(a->name, b->name) != 0 || a->nfields != b->nfields || a->nindexes != b->nindexes ||
        a->auto_key != b->auto_key || a->events != b->events || !a->scope != !b->scope ||
        (a->scope && strcmp(a->fields[a->scope - 1].name, b->fields[b->scope - 1].name) != 0) ||
        (a->extra >= 0) != (b->extra >= 0) ||
        strcmp(a->fields[a->key].name, b->fields[b->key].name) != 0) {
        return 0;
    }
    for (int i = 0; i < a->nfields; i++) {
        if (i == a->extra) {
            continue;
        }
        int j = store_field_pos(b, a->fields[i].name);
        if (j < 0 || b->fields[j].type != a->fields[i].type ||
            b->fields[j].optional != a->fields[i].optional ||
            strcmp(a->fields[i].label ? a->fields[i].label : "",
                   b->fields[j].label ? b->fields[j].label : "") != 0 ||
            a->fields[i].pii_declared != b->fields[j].pii_declared ||
            (a->fields[i].pii_declared && a->fields[i].pii != b->fields[j].pii)) {
            return 0;
        }
    }
    for (int i = 0; i < a->nindexes; i++) {
        int found = 0;
        for (int j = 0; j < b->nindexes && !found; j++) {
            found = strcmp(a->indexes[i].name, b->indexes[j].name) == 0 &&
                    a->indexes[i].unique == b->indexes[j].unique;
        }
        if (!found) {
            return 0;
        }
    }
    return 1;
}

int store_layout_compatible(const store_coll *old, const store_coll *cur) {
    if (old == cur) {
        return 1;
    }
    if (strcmp(old->name, cur->name) != 0 || old->nfields > cur->nfields || old->key != cur->key ||
        old->extra != cur->extra) {
        return 0;
    }
    for (int i = 0; i < old->nfields; i++) {
        if (strcmp(old->fields[i].name, cur->fields[i].name) != 0 ||
            old->fields[i].type != cur->fields[i].type) {
            return 0;
        }
    }
    return 1;
}

store_coll *store_sysdef(const char *name, const store_sysfield *f, int n, int auto_key) {
    store_coll *c = calloc(1, sizeof *c);
    if (!c || !(c->name = strdup(name)) || !(c->fields = calloc((size_t)n, sizeof *c->fields)) ||
        !(c->indexes = calloc(1, sizeof *c->indexes))) {
        store_coll_free(c);
        return NULL;
    }
    c->extra = -1;
    c->auto_key = auto_key;
    for (int i = 0; i < n; i++) {
        if (!(c->fields[i].name = strdup(f[i].name))) {
            store_coll_free(c);
            return NULL;
        }
        c->nfields++;
        c->fields[i].type = f[i].type;
        c->fields[i].optional = f[i].optional;
    }
    return c;
}

/*
 * lua_define.c — db.define's definitions read from Lua: a spec table
 * ({ fields = { name = 'type' | { type =, optional =, label =, pii = } },
 * key =, auto =, unique =, index =, extra =, events =, scope = }) checked and
 * turned into a store_coll (store.h), and whether a spec would change the
 * stored definition (the read-only REPL's test). lua_store.c's db.define
 * stores what this builds; the split keeps each file to one job (and
 * lua_store.c under the project's 2,000 lines).
 *
 * Invariants: a spec is either refused with an error naming the collection,
 * the field and what is wrong (err_set, GH_ESCHEMA), or turned into a
 * complete definition: no field loses its label, type or personal-data
 * kind to a failed allocation (that is GH_ENOMEM, nothing defined).
 */
#include "lua_store.h"

#include "err.h"
#include "i18n.h"
#include "lua_codec.h"
#include "pii.h"

#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

/* Reads a spec field list entry: "int", "date?" or {type=..., optional=...,
 * label=..., pii=...}; *label (may be NULL) gets a copy of the label, or
 * NULL; *pii (may be NULL) the declared personal-data kind (pii.h), or
 * PII_UNDECLARED, or -2 when the declaration names no kind. Returns 0, -1 for
 * no type, or SPEC_NOMEM when the label's copy failed. */
#define SPEC_NOMEM 1
static int spec_type(lua_State *L, int idx, int *type, int *optional, char **label, int *pii) {
    idx = lua_absindex(L, idx);
    *optional = 0;
    *label = NULL;
    if (pii) {
        *pii = PII_UNDECLARED;
    }
    if (lua_type(L, idx) == LUA_TSTRING) {
        char t[32];
        size_t n;
        const char *z = lua_tolstring(L, idx, &n);
        if (n == 0 || n >= sizeof t) {
            return -1;
        }
        memcpy(t, z, n + 1);
        if (t[n - 1] == '?') {
            t[n - 1] = 0;
            *optional = 1;
        }
        *type = store_type_of(t);
        return *type < 0 ? -1 : 0;
    }
    if (lua_istable(L, idx)) {
        lua_getfield(L, idx, "type");
        lua_getfield(L, idx, "optional");
        *optional = lua_toboolean(L, -1);
        *type = -1;
        if (lua_type(L, -2) == LUA_TSTRING) { /* 'date' or 'date?' */
            int opt;
            char *none;
            if (spec_type(L, -2, type, &opt, &none, NULL) == 0) {
                *optional |= opt;
            }
        }
        lua_pop(L, 2);
        if (lua_getfield(L, idx, "label") == LUA_TSTRING &&
            !(*label = strdup(lua_tostring(L, -1)))) {
            lua_pop(L, 1);
            return SPEC_NOMEM; /* a definition never loses its label silently */
        }
        lua_pop(L, 1);
        if (pii) { /* pii = 'id' | 'phone' | 'name' | 'bank' | 'address', or false */
            int t = lua_getfield(L, idx, "pii");
            *pii = t == LUA_TNIL                                ? PII_UNDECLARED
                   : t == LUA_TBOOLEAN && !lua_toboolean(L, -1) ? PII_NONE
                   : t == LUA_TSTRING                           ? pii_kind_of(lua_tostring(L, -1))
                                                                : -2;
            if (*pii == -1 && t == LUA_TSTRING) {
                *pii = -2;
            }
            lua_pop(L, 1);
        }
        return *type < 0 ? -1 : 0;
    }
    return -1;
}

static int cmp_names(const void *a, const void *b) {
    return strcmp(((const store_field *)a)->name, ((const store_field *)b)->name);
}

/* Adds the indexes listed in spec[key] ("f", {"a","b"}, or "a,b"). */
static int spec_indexes(lua_State *L, int spec, const char *key, int unique, store_coll *c) {
    lua_getfield(L, spec, key);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return 0;
    }
    if (!lua_istable(L, -1)) {
        lua_pop(L, 1);
        return err_set(GH_ESCHEMA, _("collection '%s': '%s' must be a list of fields"), c->name,
                       key);
    }
    int n = (int)lua_rawlen(L, -1);
    for (int i = 1; i <= n; i++) {
        lua_rawgeti(L, -1, i);
        if (lua_type(L, -1) == LUA_TSTRING && strchr(lua_tostring(L, -1), ',')) {
            /* "a,b" names a compound index as its stored name does */
            const char *z = lua_tostring(L, -1), *comma;
            lua_newtable(L);
            for (int k = 1;; k++) {
                comma = strchr(z, ',');
                lua_pushlstring(L, z, comma ? (size_t)(comma - z) : strlen(z));
                lua_rawseti(L, -2, k);
                if (!comma) {
                    break;
                }
                z = comma + 1;
            }
            lua_remove(L, -2);
        }
        store_index ix;
        memset(&ix, 0, sizeof ix);
        ix.unique = unique;
        char name[512] = "";
        size_t w = 0;
        int m = lua_istable(L, -1) ? (int)lua_rawlen(L, -1) : 1;
        for (int j = 1; j <= m; j++) {
            if (lua_istable(L, -1)) {
                lua_rawgeti(L, -1, j);
            } else {
                lua_pushvalue(L, -1);
            }
            const char *f = lua_tostring(L, -1);
            int pos = f ? store_field_pos(c, f) : -1;
            if (pos < 0 || pos == c->extra) {
                int rc = err_set(GH_EUNKNOWN,
                                 _("collection '%s': %s index on unknown field '%s' (declare it "
                                   "in fields first)"),
                                 c->name, unique ? "unique" : "an", f ? f : "?");
                lua_pop(L, 3);
                return rc;
            }
            if (ix.nfields == STORE_MAX_INDEX_FIELDS) {
                lua_pop(L, 3);
                return err_set(GH_ESCHEMA, _("collection '%s': an index has at most %d fields"),
                               c->name, STORE_MAX_INDEX_FIELDS);
            }
            ix.fields[ix.nfields++] = pos;
            w += (size_t)snprintf(name + w, sizeof name - w, "%s%s", w ? "," : "", f);
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
        if (ix.nfields == 0) {
            lua_pop(L, 1);
            return err_set(GH_ESCHEMA, _("collection '%s': an empty index"), c->name);
        }
        store_index *nx = realloc(c->indexes, (size_t)(c->nindexes + 1) * sizeof *nx);
        if (!nx) {
            lua_pop(L, 1);
            return GH_ENOMEM;
        }
        c->indexes = nx;
        if (!(ix.name = strdup(name))) {
            lua_pop(L, 1);
            return GH_ENOMEM;
        }
        c->indexes[c->nindexes++] = ix;
    }
    lua_pop(L, 1);
    return 0;
}

/* The definition lstore_spec_to_def builds is owned, while the spec is read,
 * by a userdata on the stack: a Lua call that raises (out of memory, a spec
 * whose metamethod raises) unwinds past the C code, and the box's __gc frees
 * what was built (STYLE: never raise holding a malloc'd buffer). */
typedef struct def_box {
    store_coll *c;
    int cap; /* slots of c->fields: the one at c->nfields may hold a field being read */
} def_box;

static void box_free(store_coll *c, int cap) {
    if (c && c->fields && c->nfields < cap) { /* the field being read when it failed */
        free(c->fields[c->nfields].name);
        free(c->fields[c->nfields].label);
    }
    store_coll_free(c);
}

static int box_gc(lua_State *L) {
    def_box *b = lua_touserdata(L, 1);
    store_coll *c = b->c;
    b->c = NULL;
    box_free(c, b->cap);
    return 0;
}

static const char box_key = 0; /* the registry's metatable of boxes */

/* Pushes an empty box (raising only before anything is allocated). */
static def_box *push_box(lua_State *L) {
    def_box *b = lua_newuserdatauv(L, sizeof *b, 0);
    b->c = NULL;
    b->cap = 0;
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &box_key) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_createtable(L, 0, 1);
        lua_pushcfunction(L, box_gc);
        lua_setfield(L, -2, "__gc");
        lua_pushvalue(L, -1);
        lua_rawsetp(L, LUA_REGISTRYINDEX, &box_key);
    }
    lua_setmetatable(L, -2);
    return b;
}

static int spec_read(lua_State *L, const char *name, int spec, def_box *b) {
    store_coll *c = b->c = calloc(1, sizeof *c);
    int rc = 0;
    if (!c || !(c->name = strdup(name))) {
        return GH_ENOMEM;
    }
    c->extra = -1;
    lua_getfield(L, spec, "fields");
    if (!lua_istable(L, -1)) {
        lua_pop(L, 1);
        return err_set(GH_ESCHEMA,
                       _("collection '%s': the definition needs fields = { name = 'type', ... }"),
                       name);
    }
    int nf = 0;
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        nf++;
        lua_pop(L, 1);
    }
    c->fields = calloc((size_t)nf + 2, sizeof *c->fields);
    b->cap = c->fields ? nf + 2 : 0;
    if (!c->fields) {
        lua_pop(L, 1);
        return err_set(GH_ENOMEM, _("collection '%s': out of memory for its definition"), name);
    }
    lua_pushnil(L);
    while (rc == 0 && lua_next(L, -2)) {
        store_field *f = &c->fields[c->nfields];
        size_t fl = 0;
        if (lua_type(L, -2) != LUA_TSTRING) {
            rc = err_set(GH_ESCHEMA, _("collection '%s': field names must be strings"), name);
        } else if ((lua_tolstring(L, -2, &fl), fl != strlen(lua_tostring(L, -2)))) {
            /* a NUL inside was cut silently (issue 16, class 11) */
            rc = err_set(GH_ESCHEMA,
                         _("collection '%s': field name \"%s\\0...\" holds a NUL byte; names "
                           "are plain text"),
                         name, lua_tostring(L, -2));
        } else {
            int pii, bad = spec_type(L, -1, &f->type, &f->optional, &f->label, &pii);
            if (bad == SPEC_NOMEM) {
                rc = err_set(GH_ENOMEM, _("collection '%s': out of memory for its definition"),
                             name);
            } else if (bad || pii == -2) {
                free(f->label);
                f->label = NULL;
                if (bad) {
                    lcodec_push_shown(L, -1);
                    rc = err_set(GH_ESCHEMA,
                                 _("collection '%s': field '%s' has unknown type %s (types: int, "
                                   "number, string, bool, date, fen, any; add '?' for optional)"),
                                 name, lua_tostring(L, -3), lua_tostring(L, -1));
                    lua_pop(L, 1);
                } else {
                    lua_getfield(L, -1, "pii");
                    lcodec_push_shown(L, -1);
                    rc =
                        err_set(GH_ESCHEMA,
                                _("collection '%s': field '%s' declares pii = %s: personal data is "
                                  "one of 'id', 'phone', 'name', 'bank', 'address', or false for "
                                  "none"),
                                name, lua_tostring(L, -4), lua_tostring(L, -1));
                    lua_pop(L, 2);
                }
            } else if (!(f->name = strdup(lua_tostring(L, -2)))) {
                free(f->label);
                f->label = NULL;
                rc = GH_ENOMEM;
            } else {
                f->pii_declared = pii != PII_UNDECLARED;
                f->pii = f->pii_declared ? pii : PII_NONE;
                c->nfields++;
            }
        }
        lua_pop(L, 1);
    }
    if (rc) {
        lua_pop(L, 2);
        return rc;
    }
    lua_pop(L, 1);
    /* key: given, or an automatic 'id' */
    lua_getfield(L, spec, "key");
    lua_getfield(L, spec, "auto");
    const char *key = lua_tostring(L, -2);
    c->auto_key = lua_toboolean(L, -1) || !key;
    if (!key) {
        key = "id";
    }
    if (store_field_pos(c, key) < 0) {
        if (!c->auto_key) {
            rc = err_set(GH_ESCHEMA, _("collection '%s': key field '%s' is not among its fields"),
                         name, key);
        } else if (!(c->fields[c->nfields].name = strdup(key))) {
            rc = GH_ENOMEM;
        } else {
            c->fields[c->nfields].type = FT_INT;
            c->nfields++;
        }
    }
    lua_pop(L, 2);
    if (rc) {
        return rc;
    }
    /* order: the key first, then by name (a stable order for a new collection) */
    qsort(c->fields, (size_t)c->nfields, sizeof *c->fields, cmp_names);
    int k = store_field_pos(c, key);
    store_field kf = c->fields[k];
    memmove(c->fields + 1, c->fields, (size_t)k * sizeof *c->fields);
    c->fields[0] = kf;
    c->key = 0;
    lua_getfield(L, spec, "events");
    c->events = lua_toboolean(L, -1);
    lua_pop(L, 1);
    lua_getfield(L, spec, "scope"); /* the field naming the union a record belongs to */
    if (!lua_isnil(L, -1)) {
        const char *sf = lua_tostring(L, -1);
        int sp = sf ? store_field_pos(c, sf) : -1;
        if (sp < 0) {
            rc = err_set(GH_ESCHEMA,
                         _("collection '%s': scope = '%s' names no field (it names the int field "
                           "holding the union a record belongs to)"),
                         name, sf ? sf : "?");
        }
        c->scope = sp + 1;
    }
    lua_pop(L, 1);
    if (rc) {
        return rc;
    }
    lua_getfield(L, spec, "extra");
    if (lua_toboolean(L, -1)) {
        if (!(c->fields[c->nfields].name = strdup(""))) {
            lua_pop(L, 1);
            return GH_ENOMEM;
        }
        c->fields[c->nfields].type = FT_ANY;
        c->fields[c->nfields].optional = 1;
        c->extra = c->nfields++;
    }
    lua_pop(L, 1);
    if ((rc = spec_indexes(L, spec, "unique", 1, c)) ||
        (rc = spec_indexes(L, spec, "index", 0, c))) {
        return rc;
    }
    lua_pushnil(L);
    while (lua_next(L, spec)) {
        const char *opt = lua_tostring(L, -2);
        lua_pop(L, 1);
        if (!opt || (strcmp(opt, "fields") && strcmp(opt, "key") && strcmp(opt, "auto") &&
                     strcmp(opt, "extra") && strcmp(opt, "unique") && strcmp(opt, "index") &&
                     strcmp(opt, "events") && strcmp(opt, "scope"))) {
            rc = err_set(GH_ESCHEMA,
                         _("collection '%s': unknown definition entry '%s' (entries: fields, key, "
                           "auto, unique, index, extra, events, scope)"),
                         name, opt ? opt : "?");
            lua_pop(L, 1);
            break;
        }
    }
    if (rc) {
        return rc;
    }
    return 0;
}

int lstore_spec_to_def(lua_State *L, const char *name, int spec, store_coll **out) {
    spec = lua_absindex(L, spec);
    def_box *b = push_box(L);
    int rc = spec_read(L, name, spec, b);
    store_coll *c = b->c;
    b->c = NULL;
    lua_pop(L, 1);
    if (rc) {
        box_free(c, b->cap);
        return rc;
    }
    *out = c;
    return 0;
}

int lstore_define_unchanged(lua_State *L, ldb *db, int name_idx, int spec_idx) {
    const char *name = lua_tostring(L, name_idx);
    store_coll *def = NULL;
    store_txn *t;
    int owned, same = 0;
    if (!name || !lua_istable(L, spec_idx) ||
        lstore_spec_to_def(L, name, lua_absindex(L, spec_idx), &def) != 0) {
        err_clear();
        return 0;
    }
    const store_coll *cur = NULL;
    if (lstore_begin(db, 0, &t, &owned) == 0) {
        same = store_coll_get(t, name, &cur) == 0 && store_def_equivalent(cur, def);
        lstore_end(db, t, owned, 0);
    }
    err_clear();
    store_coll_free(def);
    return same;
}

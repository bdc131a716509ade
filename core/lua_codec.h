/*
 * lua_codec.h — Lua values to MessagePack and back, records in schema order.
 *
 * None of these raise a Lua error except through
 * allocation failure inside the Lua API: they return 0 or a GH_E* code with
 * the message in err_msg(), so the caller can release what it holds first.
 */
#ifndef GH_LUA_CODEC_H
#define GH_LUA_CODEC_H

#include "codec.h"
#include "store.h"

#include <lua.h>

/* Encodes any Lua value (nil, boolean, number, string, table of those)
 * at `idx`. Tables that are sequences 1..n become arrays, others maps with
 * string or integer keys. GH_ETYPE (functions, userdata, cycles/too deep). */
int lcodec_encode(lua_State *L, int idx, codec_buf *out, int depth);

/* Pushes the value at r->p, advancing r. GH_ECORRUPT on bad bytes (nothing
 * pushed). */
int lcodec_push(lua_State *L, mp_reader *r, int depth);

/* Encodes the value at `idx` as field `pos` of collection c, checking its
 * type. GH_ETYPE with "collection 'c': field 'f' expects ..., got ...". */
int lcodec_encode_field(lua_State *L, int idx, const store_coll *c, int pos, codec_buf *out);

/* The field names of a collection definition, for finding a field by the
 * pointer of its name: Lua interns short strings (up to 40 bytes), so a key
 * string equal to a field's name is the very string the collection's name
 * table holds, and one pointer comparison per field replaces a table lookup
 * (issue 18). A longer name is never matched this way: callers fall back
 * to comparing the text. The name table (position -> name) holds the shape
 * at [0], the position table (name -> position) too; the pointers are valid
 * while the name table lives. */
typedef struct lshape {
    int n;   /* fields */
    int nix; /* indexes, after the fields in keys[] */
    /* keys[pos]: the field name's bytes as Lua holds them (NULL: none);
     * keys[n + i]: index i's name ("a,b"), held by the shape's user value */
    const char *keys[];
} lshape;

/* The position of field name `k` (a string's bytes as lua_tostring gives
 * them) in shape sh, or -1 if no field's name is that very string. */
static inline int lshape_find(const lshape *sh, const char *k) {
    for (int i = 0; i < sh->n; i++) {
        if (sh->keys[i] == k) {
            return i;
        }
    }
    return -1;
}

/* lshape_find trying position *hint first (a loop asks for the same
 * fields); *hint becomes the position found. */
static inline int lshape_find_hinted(const lshape *sh, const char *k, int *hint) {
    if (*hint < sh->n && sh->keys[*hint] == k) {
        return *hint;
    }
    int pos = lshape_find(sh, k);
    if (pos >= 0) {
        *hint = pos;
    }
    return pos;
}

/* The index whose name is the very string `k` in shape sh, or -1 (then
 * compare the text: lstore_index_by_name). */
static inline int lshape_find_index(const lshape *sh, const char *k) {
    for (int i = 0; i < sh->nix; i++) {
        if (sh->keys[sh->n + i] == k) {
            return i;
        }
    }
    return -1;
}

/* Encodes the record table at `idx` into `out` as the schema-ordered array.
 * A key names its field by the pointer of the name in shape `sh` (c's
 * lshape, or NULL), else by its text. If `auto_id` is not NULL and the key
 * field is absent, *auto_id is used as the key. Unknown fields (GH_EUNKNOWN,
 * unless c->extra), missing required ones (GH_EMISSING) and type errors
 * (GH_ETYPE) are refused. */
int lcodec_encode_record(lua_State *L, int idx, const store_coll *c, const lshape *sh,
                         const int64_t *auto_id, codec_buf *out);

/* Re-encodes stored record `old` with the fields of table `idx` changed
 * (partial update); `null` is the sentinel value that clears a field. */
int lcodec_merge_record(lua_State *L, int idx, const store_coll *c, const lshape *sh,
                        const void *old, size_t oldn, const void *null, codec_buf *out);

/* Pushes a record as a new table, fields named from table `names_idx`
 * (position -> name). GH_ECORRUPT (nothing pushed) on bad bytes. */
int lcodec_push_record(lua_State *L, const store_coll *c, int names_idx, const void *rec, size_t n);

/* Pushes a short readable rendering of the value at idx for messages
 * ("string \"1990/13/01\"", "1.5", "table"). */
void lcodec_push_shown(lua_State *L, int idx);

#endif

/*
 * lua_pii.h — the `pii` global: pii.h's rule for scripts and the REPL.
 *
 * Built on pii.h only.
 */
#ifndef GH_LUA_PII_H
#define GH_LUA_PII_H

#include <lua.h>

/* Pushes a new `pii` table:
 *   pii.mask(value, kind)   the masked text of a string or number (kind: 'id',
 *                           'phone', 'name', 'bank', 'address'); nil stays nil
 *   pii.kind(field)         the kind guessed from a field name (or label), or nil
 *   pii.hidden(kind)        true for the kinds hidden in displays and exports
 *   pii.pseudonym(value)    the keyed pseudonym of a value (pii_pseudonym) under
 *                           the key set with lpii_set_key; an error without one
 * A collection's declared kinds are in db.NAME:schema().pii. */
void lpii_push(lua_State *L);

/* Sets the pseudonym key for this process (copied; n <= 256, at least 16),
 * or clears it (key NULL). The key never passes through Lua, a parameter or
 * a run record: `gonghui federation ship --key-file` reads it. 0, or -1 for
 * a key of the wrong length. */
int lpii_set_key(const void *key, size_t n);

#endif

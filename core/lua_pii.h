/*
 * lua_pii.h — the `pii` global: pii.h's rule for scripts and the REPL.
 *
 * Called by sandbox.c when it builds an environment; built on pii.h only.
 */
#ifndef GH_LUA_PII_H
#define GH_LUA_PII_H

#include <lua.h>

/* Pushes a new `pii` table:
 *   pii.mask(value, kind)   the masked text of a string or number (kind: 'id',
 *                           'phone', 'name', 'bank', 'address'); nil stays nil
 *   pii.kind(field)         the kind guessed from a field name (or label), or nil
 *   pii.hidden(kind)        true for the kinds hidden in displays and exports
 * A collection's declared kinds are in db.NAME:schema().pii. */
void lpii_push(lua_State *L);

#endif

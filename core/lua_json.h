/*
 * lua_json.h — JSON to and from Lua values, strict, for `gonghui serve`.
 *
 * Strings are escaped by codec.c's codec_json_str, the one JSON string
 * writer (export and `events tail --json` use it too).
 *
 * Decoding (RFC 8259, nothing more): one value and only whitespace around
 * it; objects become tables (null members are left out), arrays become
 * sequences (null elements become json.null), integers without a fraction
 * or exponent that fit 64 bits become Lua integers, other numbers floats;
 * strings must be valid UTF-8 and escapes (\uD83D\uDE00 pairs too) are
 * decoded; depth is capped at LJSON_MAX_DEPTH; a duplicate member is an
 * error. Every error says where (byte offset) and what.
 *
 * Encoding: nil/json.null -> null, booleans, integers, finite floats
 * (others refused), strings (invalid UTF-8 refused), tables: a sequence
 * 1..n (or an empty table) -> array, string keys -> object (keys sorted,
 * so output is stable), rows of scans through their __pairs. Cycles and
 * depth beyond LJSON_MAX_DEPTH are refused.
 */
#ifndef GH_LUA_JSON_H
#define GH_LUA_JSON_H

#include "codec.h"

#include <lua.h>
#include <stddef.h>

#define LJSON_MAX_DEPTH 64

/* Pushes the value of JSON text s[0..n); 0, or -1 with the message (which
 * names the byte offset) in err (errn bytes) and nothing pushed. May raise
 * only a Lua memory error. */
int ljson_decode(lua_State *L, const char *s, size_t n, char *err, size_t errn);

/* Appends the JSON of the value at idx to out; 0, or -1 with the message
 * in err. May raise only a Lua memory error (and errors of __pairs). */
int ljson_encode(lua_State *L, int idx, codec_buf *out, char *err, size_t errn);

/* Pushes the `json` table: json.encode(v) -> string, json.decode(s) ->
 * value (both raise with the message), json.null. */
void ljson_push(lua_State *L);

#endif

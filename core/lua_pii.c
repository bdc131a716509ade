/*
 * lua_pii.c — the `pii` global (see lua_pii.h): the masking and detection
 * rules of pii.h, so that a program's public list (公示), the REPL's display
 * and a script's print all mask the same way as `gonghui export` does.
 */
#include "lua_pii.h"

#include "err.h"
#include "pii.h"

#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

static int check_kind(lua_State *L, int arg) {
    const char *k = luaL_checkstring(L, arg);
    int kind = pii_kind_of(k);
    if (kind < 0) {
        return luaL_argerror(
            L, arg,
            lua_pushfstring(L, _("unknown kind '%s' (id, phone, name, bank, address, none)"), k));
    }
    return kind;
}

static int l_pii_mask(lua_State *L) {
    int t = lua_type(L, 1);
    if (t == LUA_TNIL) {
        lua_pushnil(L);
        return 1;
    }
    if (t != LUA_TSTRING && t != LUA_TNUMBER) {
        return luaL_typeerror(L, 1, "string or number");
    }
    int kind = check_kind(L, 2);
    size_t n;
    const char *s = lua_tolstring(L, 1, &n);
    luaL_Buffer b;
    char *out = luaL_buffinitsize(L, &b, n + PII_MASK_EXTRA + 1);
    luaL_pushresultsize(&b, pii_mask(kind, s, n, out));
    return 1;
}

static int l_pii_kind(lua_State *L) {
    int kind = pii_guess(luaL_checkstring(L, 1));
    if (kind == PII_NONE) {
        lua_pushnil(L);
    } else {
        lua_pushstring(L, pii_kind_name(kind));
    }
    return 1;
}

static int l_pii_hidden(lua_State *L) {
    lua_pushboolean(L, pii_hidden(check_kind(L, 1)));
    return 1;
}

static unsigned char pseudo_key[256];
static size_t pseudo_keylen;

int lpii_set_key(const void *key, size_t n) {
    if (key && (n < 16 || n > sizeof pseudo_key)) {
        return -1;
    }
    memset(pseudo_key, 0, sizeof pseudo_key);
    if (key) {
        memcpy(pseudo_key, key, n);
    }
    pseudo_keylen = key ? n : 0;
    return 0;
}

static int l_pii_pseudonym(lua_State *L) {
    int t = lua_type(L, 1);
    if (t != LUA_TSTRING && t != LUA_TNUMBER) {
        return luaL_typeerror(L, 1, "string or number");
    }
    if (!pseudo_keylen) {
        return luaL_error(L, _("pii.pseudonym: no pseudonym key is set (gonghui federation ship "
                               "--key-file FILE gives the province's key)"));
    }
    size_t n;
    const char *s = lua_tolstring(L, 1, &n);
    char out[PII_PSEUDONYM_LEN + 1];
    pii_pseudonym(pseudo_key, pseudo_keylen, s, n, out);
    lua_pushlstring(L, out, PII_PSEUDONYM_LEN);
    return 1;
}

void lpii_push(lua_State *L) {
    static const luaL_Reg fns[] = {
        {"mask", l_pii_mask}, {"pseudonym", l_pii_pseudonym},
        {"kind", l_pii_kind}, {"hidden", l_pii_hidden},
        {NULL, NULL},
    };
    luaL_newlib(L, fns);
}

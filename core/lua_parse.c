/*
 * lua_parse.c — `local parse = require 'parse'`: the one strict parser of
 * parse.c, for scripts. Each returns the normalised value, or nil and a
 * reason that names the value (a refusal a clerk's loop can continue past),
 * and the bare reason as a third value:
 *
 *   parse.date(s)       -> 'YYYY-MM-DD'    2025-01-14, 2025/1/14, 20250114, 2025年1月14日
 *   parse.time(s)       -> seconds since 1970 (local time)   '2025-01-14 08:00[:00]'
 *   parse.yuan(v)       -> integer fen     '¥1,234.50', '-5', 12.5 (a number: at most 2 decimals)
 *   parse.id(s[, today])-> the 18 characters, X upper-case (check character and a real
 *                          birth date not after today: 'YYYY-MM-DD', default the run's date)
 *   parse.phone(s)      -> '13812345678' or '0571-87654321'
 *   parse.credit_code(s)        -> a unified social credit code, 18 characters, upper case
 *   parse.credit_complete(s16)  -> the code for its first 16 (both check characters added)
 *   parse.mod11_2(digits)       -> '0'-'9' or 'X' (raises if digits is not digits)
 *   parse.mod11_2_ok(s)         -> true when s's last character is the check of the rest
 *   parse.day_number(y, m, d)   -> days since 1970-01-01 (days.c; numbers, not checked as a
 *                                  date: 2025-02-29 is 2025-03-01; raises on a month not 1-12)
 *   parse.day_date(n)           -> y, m, d of day number n
 *   parse.month_days(y, m)      -> 28..31
 *
 * A value that is neither a string nor a number is refused like bad text.
 * Built on parse.h only; no state.
 */
#include "lua_parse.h"

#include "err.h"
#include "days.h"
#include "parse.h"

#include <lauxlib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* nil, "'<value>' <reason>", "<reason>" for the refused value at index 1
 * (the bare reason for callers that name the value themselves, as sheet
 * entry does: "column 票价: '12.345' has more than two decimals"). */
static int refuse(lua_State *L, int rc) {
    char buf[640];
    size_t n;
    char why[400]; /* a copy: a __tostring below may run Lua that parses again */
    snprintf(why, sizeof why, "%s", err_msg(rc));
    if (lua_type(L, 1) == LUA_TSTRING) {
        const char *s = lua_tolstring(L, 1, &n);
        snprintf(buf, sizeof buf, "'%.*s%s' %s", (int)(n > 60 ? 60 : n), s, n > 60 ? "..." : "",
                 why);
    } else {
        snprintf(buf, sizeof buf, "%s %s", luaL_tolstring(L, 1, NULL), why);
    }
    lua_pushnil(L);
    lua_pushstring(L, buf);
    lua_pushstring(L, why);
    return 3;
}

static int l_parse_date(lua_State *L) {
    size_t n;
    char out[11];
    luaL_checkany(L, 1);
    const char *s = lua_type(L, 1) == LUA_TSTRING ? lua_tolstring(L, 1, &n) : NULL;
    int rc = s ? parse_date(s, n, out) : err_set(GH_EINVAL, _("is not a date (2024-03-05)"));
    if (rc) {
        return refuse(L, rc);
    }
    lua_pushstring(L, out);
    return 1;
}

static int l_parse_time(lua_State *L) {
    size_t n;
    int64_t t;
    luaL_checkany(L, 1);
    const char *s = lua_type(L, 1) == LUA_TSTRING ? lua_tolstring(L, 1, &n) : NULL;
    int rc = s ? parse_time(s, n, &t)
               : err_set(GH_EINVAL, _("is not a time (2025-01-29 08:00, 2025-01-29 08:00:30)"));
    if (rc) {
        return refuse(L, rc);
    }
    lua_pushinteger(L, (lua_Integer)t);
    return 1;
}

static int l_parse_yuan(lua_State *L) {
    int64_t fen;
    int rc;
    luaL_checkany(L, 1);
    if (lua_isinteger(L, 1)) { /* a `gonghui run` parameter yuan=3000 arrives as one */
        lua_Integer v = lua_tointeger(L, 1);
        if (v > INT64_MAX / 100 || v < INT64_MIN / 100) {
            return refuse(L, err_set(GH_ETOOBIG, _("is too large for an amount")));
        }
        lua_pushinteger(L, v * 100);
        return 1;
    }
    if (lua_type(L, 1) == LUA_TNUMBER) { /* a float: exactly its 2-decimal form, or refused */
        double d = lua_tonumber(L, 1);
        char buf[64];
        if (!isfinite(d) || fabs(d) > 9e16) {
            return refuse(L, err_set(isfinite(d) ? GH_ETOOBIG : GH_EINVAL,
                                     isfinite(d) ? "is too large for an amount"
                                                 : "is not an amount in yuan"));
        }
        snprintf(buf, sizeof buf, "%.2f", d);
        if (strtod(buf, NULL) != d) {
            return refuse(L,
                          err_set(GH_EINVAL, _("has more than two decimals (a fen is 0.01 yuan)")));
        }
        rc = parse_yuan(buf, strlen(buf), &fen);
    } else if (lua_type(L, 1) == LUA_TSTRING) {
        size_t n;
        const char *s = lua_tolstring(L, 1, &n);
        rc = parse_yuan(s, n, &fen);
    } else {
        rc = err_set(GH_EINVAL, _("is not an amount in yuan (3000, 3,000.50, ¥12.05, -5)"));
    }
    if (rc) {
        return refuse(L, rc);
    }
    lua_pushinteger(L, (lua_Integer)fen);
    return 1;
}

/* "YYYYMMDD" of the run's day (the clock upvalue) into buf, or NULL. */
static const char *today(lua_State *L, char buf[16]) {
    if (!lua_isnoneornil(L, 2)) {
        size_t n;
        const char *s = luaL_checklstring(L, 2, &n);
        char d[11];
        if (parse_date(s, n, d) != 0) {
            luaL_error(L, _("parse.id: today '%s' %s"), s, err_msg(GH_EINVAL));
        }
        memcpy(buf, d, 4), memcpy(buf + 4, d + 5, 2), memcpy(buf + 6, d + 8, 3);
        return buf;
    }
    if (lua_isnil(L, lua_upvalueindex(1))) {
        return NULL;
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_call(L, 0, 1);
    time_t t = (time_t)lua_tointeger(L, -1);
    lua_pop(L, 1);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(buf, 16, "%Y%m%d", &tm);
    return buf;
}

static int l_parse_id(lua_State *L) {
    char out[19], day[16];
    size_t n;
    luaL_checkany(L, 1);
    const char *t = today(L, day);
    const char *s = lua_type(L, 1) == LUA_TSTRING ? lua_tolstring(L, 1, &n) : NULL;
    int rc = s ? parse_id(s, n, t, out)
               : err_set(GH_EINVAL, _("is not an ID number (18 characters, as text)"));
    if (rc) {
        return refuse(L, rc);
    }
    lua_pushlstring(L, out, 18);
    return 1;
}

static int l_parse_phone(lua_State *L) {
    char out[PARSE_PHONE_MAX];
    size_t n;
    luaL_checkany(L, 1);
    const char *s = lua_type(L, 1) == LUA_TSTRING ? lua_tolstring(L, 1, &n) : NULL;
    int rc = s ? parse_phone(s, n, out)
               : err_set(GH_EINVAL, _("is not a phone number (as text: 13812345678)"));
    if (rc) {
        return refuse(L, rc);
    }
    lua_pushstring(L, out);
    return 1;
}

static int l_parse_credit_code(lua_State *L) {
    char out[19];
    size_t n;
    luaL_checkany(L, 1);
    const char *s = lua_type(L, 1) == LUA_TSTRING ? lua_tolstring(L, 1, &n) : NULL;
    int rc = s ? parse_credit_code(s, n, out)
               : err_set(GH_EINVAL, _("is not a credit code (18 characters, as text)"));
    if (rc) {
        return refuse(L, rc);
    }
    lua_pushlstring(L, out, 18);
    return 1;
}

static int l_parse_credit_complete(lua_State *L) {
    char out[19];
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    int rc = parse_credit_complete(s, n, out);
    if (rc) {
        return refuse(L, rc);
    }
    lua_pushlstring(L, out, 18);
    return 1;
}

static int l_parse_mod11_2(lua_State *L) {
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    char c;
    if (n == 0 || parse_mod11_2(s, n, &c) != 0) {
        return luaL_error(L, _("parse.mod11_2 expects a string of digits, got '%s'"), s);
    }
    lua_pushlstring(L, &c, 1);
    return 1;
}

static int l_parse_mod11_2_ok(lua_State *L) {
    size_t n;
    const char *s = lua_type(L, 1) == LUA_TSTRING ? lua_tolstring(L, 1, &n) : NULL;
    char c;
    lua_pushboolean(L, s && n >= 2 && parse_mod11_2(s, n - 1, &c) == 0 &&
                           (c == s[n - 1] || (c == 'X' && s[n - 1] == 'x')));
    return 1;
}

/* The calendar arithmetic of days.c, for scripts (scripts/lib/dates.lua).
 * Years and day counts are bounded so that no arithmetic overflows. */
#define LPARSE_MAX_YEAR 10000000
#define LPARSE_MAX_DAYS ((lua_Integer)LPARSE_MAX_YEAR * 366)

static int check_year(lua_State *L, int arg) {
    lua_Integer y = luaL_checkinteger(L, arg);
    luaL_argcheck(L, y >= -LPARSE_MAX_YEAR && y <= LPARSE_MAX_YEAR, arg, _("a year out of range"));
    return (int)y;
}

static int check_month(lua_State *L, int arg) {
    lua_Integer m = luaL_checkinteger(L, arg);
    luaL_argcheck(L, m >= 1 && m <= 12, arg, _("a month is 1-12"));
    return (int)m;
}

static int l_parse_day_number(lua_State *L) {
    int y = check_year(L, 1), m = check_month(L, 2);
    lua_Integer d = luaL_checkinteger(L, 3);
    luaL_argcheck(L, d >= -LPARSE_MAX_DAYS && d <= LPARSE_MAX_DAYS, 3, _("a day out of range"));
    lua_pushinteger(L, days_from_date(y, m, 1) + d - 1);
    return 1;
}

static int l_parse_day_date(lua_State *L) {
    lua_Integer n = luaL_checkinteger(L, 1);
    luaL_argcheck(L, n >= -LPARSE_MAX_DAYS && n <= LPARSE_MAX_DAYS, 1, _("a day out of range"));
    int y, m, d;
    days_to_date(n, &y, &m, &d);
    lua_pushinteger(L, y);
    lua_pushinteger(L, m);
    lua_pushinteger(L, d);
    return 3;
}

static int l_parse_month_days(lua_State *L) {
    int y = check_year(L, 1), m = check_month(L, 2);
    lua_pushinteger(L, days_in_month(y, m));
    return 1;
}

void lparse_push(lua_State *L, int clock_idx) {
    static const luaL_Reg fns[] = {{"date", l_parse_date},
                                   {"time", l_parse_time},
                                   {"yuan", l_parse_yuan},
                                   {"phone", l_parse_phone},
                                   {"credit_code", l_parse_credit_code},
                                   {"credit_complete", l_parse_credit_complete},
                                   {"mod11_2", l_parse_mod11_2},
                                   {"mod11_2_ok", l_parse_mod11_2_ok},
                                   {"day_number", l_parse_day_number},
                                   {"day_date", l_parse_day_date},
                                   {"month_days", l_parse_month_days},
                                   {NULL, NULL}};
    if (clock_idx) {
        clock_idx = lua_absindex(L, clock_idx);
    }
    luaL_newlib(L, fns);
    if (clock_idx) {
        lua_pushvalue(L, clock_idx);
    } else {
        lua_pushnil(L);
    }
    lua_pushcclosure(L, l_parse_id, 1);
    lua_setfield(L, -2, "id");
}

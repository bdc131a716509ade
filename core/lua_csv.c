/*
 * lua_csv.c — run.read_csv and run.write_csv: CSV for scripts, read and
 * written exactly as `gonghui import` and `gonghui export` do it.
 *
 * Built on csvfile.h only. A program that takes a sheet from Excel (a vendor's daily
 * sales, a station's claim list) needs what import has: the encoding found
 * (UTF-8, UTF-8 with a BOM, GB18030 from a Chinese Windows Excel, UTF-16),
 * RFC 4180 quoting, the physical line of each row for error messages, and
 * the formula guard removed. Writing gives what export gives: a BOM, CRLF,
 * quotes where needed, the formula guard.
 *
 *   run.read_csv(path, fn [, opts]) -> rows, encoding | nil, message
 *       fn(row, line) for each row; row is an array of strings, or with
 *       opts.header a table keyed by the first row's names (empty cells
 *       absent). opts.tsv: tab-separated; opts.encoding: 'auto' (default),
 *       'utf-8', 'gb18030'. An error raised by fn stops the reading and goes
 *       on to the caller as it was; a file that cannot be read or has bad
 *       bytes returns nil and a message naming the file and line.
 *   run.write_csv(file, rows [, opts]) -> file
 *       rows: a list of lists of strings, numbers or booleans (nil/absent:
 *       an empty cell); file: a handle from run.open or io.open. The BOM is
 *       written when the file is at its start; opts.guard = false turns the
 *       formula guard off; opts.tsv writes tab-separated text without a BOM.
 *       As export does (issue 16, class 11), text that is not UTF-8 is
 *       written with each bad byte as U+FFFD and a NaN or infinite number as
 *       an empty cell, each named on stderr (row, cell: the first ten and a
 *       count), so the file opens whole.
 *
 * Invariant: no Lua error unwinds through csv_read (it holds a mapped file
 * and buffers): each row is handed to Lua under lua_pcall, and an error is
 * raised again only after csv_read has returned.
 */
#include "lua_csv.h"

#include "codec.h"
#include "csvfile.h"
#include "err.h"
#include "sandbox.h"

#include <errno.h>
#include <lauxlib.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct read_ctx {
    lua_State *L;
    int header;     /* opts.header */
    int have_names; /* the header row has been read */
    long rows;      /* rows handed to fn */
    const csv_row *row;
    int failed; /* fn raised: its error is on the top of the stack */
} read_ctx;

/* Both run under lua_pcall with the arguments (ctx, fn, names): names is
 * the table of header names, column -> name. */

/* The header row: names[i] = cell i; a name twice is an error (stops). */
static int take_header(lua_State *L) {
    read_ctx *c = lua_touserdata(L, 1);
    const csv_row *r = c->row;
    lua_settop(L, 3);
    lua_replace(L, 2); /* 2: names */
    lua_settop(L, 2);
    lua_newtable(L); /* 3: name -> column, to find a name given twice */
    for (int i = 0; i < r->ncells; i++) {
        size_t n = r->lens[i];
        const char *s = r->cells[i];
        if (!n) {
            continue;
        }
        lua_pushlstring(L, s, n);
        if (lua_rawget(L, 3) != LUA_TNIL) {
            return luaL_error(L,
                              _("run.read_csv: line %d: the column '%s' is named twice "
                                "(columns %d and %d)"),
                              (int)r->line, s, (int)lua_tointeger(L, -1), i + 1);
        }
        lua_pop(L, 1);
        lua_pushlstring(L, s, n);
        lua_pushinteger(L, i + 1);
        lua_rawset(L, 3);
        lua_pushlstring(L, s, n);
        lua_rawseti(L, 2, i + 1);
    }
    return 0;
}

/* One row: builds the table and calls fn(row, line). */
static int call_row(lua_State *L) {
    read_ctx *c = lua_touserdata(L, 1);
    const csv_row *r = c->row;
    lua_pushvalue(L, 2);
    lua_createtable(L, c->header ? 0 : r->ncells, c->header ? r->ncells : 0);
    for (int i = 0; i < r->ncells; i++) {
        const char *v = r->cells[i];
        size_t vn = r->lens[i];
        csv_unwrap(&v, &vn); /* what export wrote reads back as it was */
        if (c->header) {
            if (!r->lens[i] || lua_rawgeti(L, 3, i + 1) == LUA_TNIL) {
                if (r->lens[i]) {
                    lua_pop(L, 1);
                }
                continue; /* an empty cell, or a column with no name */
            }
            lua_pushlstring(L, v, vn);
            lua_rawset(L, -3);
        } else {
            lua_pushlstring(L, v, vn);
            lua_rawseti(L, -2, i + 1);
        }
    }
    lua_pushinteger(L, r->line);
    lua_call(L, 2, 0);
    return 0;
}

static int on_row(void *ctx, const csv_row *row) {
    read_ctx *c = ctx;
    lua_State *L = c->L;
    c->row = row;
    /* nothing here may allocate (an error would unwind through csv_read):
     * light C functions, light userdata and copies of values do not */
    if (c->header && !c->have_names) {
        lua_pushcfunction(L, take_header);
        c->have_names = 1;
    } else {
        lua_pushcfunction(L, call_row);
        c->rows++;
    }
    lua_pushlightuserdata(L, c);
    lua_pushvalue(L, 2); /* fn */
    lua_pushvalue(L, 4); /* the header names */
    if (lua_pcall(L, 3, 0, 0) != LUA_OK) {
        c->failed = 1;
        return 1;
    }
    return 0;
}

static int l_csv_read(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    int format = CSV_COMMA_SEP, encoding = CSV_ENC_AUTO, header = 0;
    if (!lua_isnoneornil(L, 3)) {
        luaL_checktype(L, 3, LUA_TTABLE);
        lua_getfield(L, 3, "tsv");
        format = lua_toboolean(L, -1) ? CSV_TAB_SEP : CSV_COMMA_SEP;
        lua_getfield(L, 3, "header");
        header = lua_toboolean(L, -1);
        lua_getfield(L, 3, "encoding");
        const char *e = lua_tostring(L, -1);
        if (!e || strcmp(e, "auto") == 0) {
            encoding = CSV_ENC_AUTO;
        } else if (strcmp(e, "utf-8") == 0 || strcmp(e, "utf8") == 0) {
            encoding = CSV_ENC_UTF8;
        } else if (strcmp(e, "gb18030") == 0 || strcmp(e, "gbk") == 0) {
            encoding = CSV_ENC_GB18030;
        } else {
            return luaL_error(L, _("run.read_csv: encoding '%s' (encodings: auto, utf-8, gb18030)"),
                              e);
        }
        lua_pop(L, 3);
    }
    lua_settop(L, 3);
    lua_newtable(L); /* 4: the header names */
    /* the callback pushes at most three values before its pcall: make room
     * now, so nothing allocates outside a protected call while csv_read runs */
    luaL_checkstack(L, 8, "run.read_csv");
    read_ctx c = {L, header, 0, 0, NULL, 0};
    csv_info info = {NULL, 0, 0, 0};
    char real[PATH_MAX], why[PATH_MAX + 256];
    if (!sandbox_may_read(L, path, real, why, sizeof why)) {
        if (errno == EACCES) {
            return luaL_error(L, _("run.read_csv: %s"), why);
        }
        snprintf(real, sizeof real, "%s", path); /* missing: csv_read says so as before */
    }
    int rc = csv_read(real, format, encoding, on_row, &c, &info);
    if (c.failed) {
        return lua_error(L); /* fn's error, as it was */
    }
    if (rc != 0) {
        luaL_pushfail(L);
        lua_pushstring(L, err_msg(rc));
        return 2;
    }
    lua_pushinteger(L, c.rows);
    lua_pushstring(L, info.encoding ? info.encoding : "UTF-8");
    return 2;
}

#define SHOW_CLEANED 10 /* cleaned values named on stderr */

static int l_csv_write(lua_State *L) {
    luaL_Stream *st = luaL_checkudata(L, 1, LUA_FILEHANDLE);
    if (st->closef == NULL) {
        return luaL_error(L, _("run.write_csv: the file is closed"));
    }
    luaL_checktype(L, 2, LUA_TTABLE);
    int format = CSV_COMMA_SEP, guard = 1;
    if (!lua_isnoneornil(L, 3)) {
        luaL_checktype(L, 3, LUA_TTABLE);
        lua_getfield(L, 3, "tsv");
        format = lua_toboolean(L, -1) ? CSV_TAB_SEP : CSV_COMMA_SEP;
        lua_getfield(L, 3, "guard");
        guard = lua_isnil(L, -1) || lua_toboolean(L, -1);
        lua_pop(L, 2);
    }
    /* check every cell before writing any, so a bad one leaves the file as it was */
    lua_Integer nrows = luaL_len(L, 2);
    for (lua_Integer i = 1; i <= nrows; i++) {
        if (lua_geti(L, 2, i) != LUA_TTABLE) {
            return luaL_error(L, _("run.write_csv: row %d is a %s, not a list of cells"), (int)i,
                              luaL_typename(L, -1));
        }
        lua_Integer ncells = luaL_len(L, -1);
        for (lua_Integer j = 1; j <= ncells; j++) {
            int t = lua_geti(L, -1, j);
            if (t != LUA_TNIL && t != LUA_TSTRING && t != LUA_TNUMBER && t != LUA_TBOOLEAN) {
                return luaL_error(L,
                                  _("run.write_csv: row %d, cell %d is a %s (cells are strings, "
                                    "numbers or booleans)"),
                                  (int)i, (int)j, luaL_typename(L, -1));
            }
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
    FILE *f = st->f;
    csv_writer w;
    codec_buf clean;
    unsigned long cleaned = 0;
    long at = ftell(f);
    csv_writer_init(&w, f, format, format == CSV_COMMA_SEP && at == 0);
    codec_buf_init(&clean);
    for (lua_Integer i = 1; i <= nrows; i++) {
        lua_geti(L, 2, i);
        lua_Integer ncells = luaL_len(L, -1);
        for (lua_Integer j = 1; j <= ncells; j++) {
            int t = lua_geti(L, -1, j);
            size_t n = 0;
            const char *s = "";
            if (t == LUA_TBOOLEAN) {
                s = lua_toboolean(L, -1) ? "true" : "false";
                n = strlen(s);
            } else if (t == LUA_TNUMBER && !lua_isinteger(L, -1) &&
                       !isfinite(lua_tonumber(L, -1))) {
                double d = lua_tonumber(L, -1); /* written as an empty cell */
                if (++cleaned <= SHOW_CLEANED) {
                    fprintf(stderr,
                            _("run.write_csv: row %d, cell %d: %s, which no file can hold: "
                              "written as an empty cell\n"),
                            (int)i, (int)j,
                            d != d  ? "NaN"
                            : d > 0 ? "inf"
                                    : "-inf");
                }
            } else if (t != LUA_TNIL) {
                s = luaL_tolstring(L, -1, &n); /* numbers: integers stay integers */
                lua_replace(L, -2);
                if (!codec_utf8_valid((const unsigned char *)s, n, NULL)) {
                    clean.len = 0;
                    codec_utf8_clean(s, n, &clean);
                    s = clean.oom ? "" : (const char *)clean.p;
                    n = clean.oom ? 0 : clean.len;
                    if (++cleaned <= SHOW_CLEANED) {
                        fprintf(stderr, _("run.write_csv: row %d, cell %d: %s\n"), (int)i, (int)j,
                                _("bytes that are not UTF-8 text: each is written as U+FFFD (a "
                                  "question mark in a box)"));
                    }
                }
            }
            csv_put(&w, s, n, guard);
            lua_pop(L, 1);
        }
        csv_end_row(&w);
        lua_pop(L, 1);
    }
    codec_buf_free(&clean);
    if (cleaned) {
        fprintf(stderr,
                _n("run.write_csv: %lu value no file can hold was written cleaned (NaN and "
                   "infinite numbers as empty cells)\n",
                   "run.write_csv: %lu values no file can hold were written cleaned (NaN and "
                   "infinite numbers as empty cells)\n",
                   cleaned),
                cleaned);
    }
    if (ferror(f)) {
        return luaL_error(L, _("run.write_csv: the file could not be written"));
    }
    lua_settop(L, 1);
    return 1;
}

void lcsv_register(lua_State *L, int run_idx) {
    run_idx = lua_absindex(L, run_idx);
    lua_pushcfunction(L, l_csv_read);
    lua_setfield(L, run_idx, "read_csv");
    lua_pushcfunction(L, l_csv_write);
    lua_setfield(L, run_idx, "write_csv");
}

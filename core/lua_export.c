/*
 * lua_export.c — rows a script gives, out as CSV for Excel, TSV, JSON, JSON
 * Lines or an Excel workbook: `gonghui export SCRIPT.lua` and export.csv()
 * and its siblings inside scripts.
 *
 * Built on export.h (the formats) and pii.h (masking), csvfile.h,
 * xlsx_out.h, lua_codec.h (tables as JSON) and lua_store.h
 * (collections and rows of scans).
 *
 * One export, step by step (all inside one C function, so the limits of
 * the run apply and an error anywhere unwinds through lua_error):
 *   1. the rows become an iterator: a list, a collection (its scan) or a
 *      function returning a row per call;
 *   2. the columns: opts.fields, else the fields of the rows' collection,
 *      else the first row's keys in byte order;
 *   3. the writer (a to-be-closed userdata: an error anywhere closes the
 *      file and removes OUT.tmp) writes the header, then row after row;
 *   4. at the end OUT.tmp is renamed to OUT.
 * Invariant: OUT is either the whole new file or untouched.
 */
#include "lua_export.h"

#include "codec.h"
#include "csvfile.h"
#include "err.h"
#include "export.h"
#include "pii.h"
#include "lua_codec.h"
#include "lua_store.h"
#include "sandbox.h"
#include "xlsx_out.h"

#include <errno.h>
#include <fcntl.h>
#include <lauxlib.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WRITER_MT "gonghui.export_writer"
#define MAX_COLUMNS 1024

typedef struct writer {
    int format, unmask, yuan;
    int ncols;
    int pd[MAX_COLUMNS];
    unsigned char fen[MAX_COLUMNS];
    FILE *f;
    int to_stdout;
    csv_writer w;
    xlsx_out *x;
    char *tmp, *path;
    codec_buf buf;
    codec_buf clean; /* a value made writable (see note_cleaned) */
    uint64_t n;
    uint64_t cleaned; /* values written cleaned */
    int cols;         /* stack index of the column names while a row is written */
    int masked, done;
} writer;

/* Closes and forgets everything; without `done`, removes OUT.tmp. */
static int l_writer_close(lua_State *L) {
    writer *w = lua_touserdata(L, 1);
    if (!w) {
        return 0;
    }
    xlsx_out_close(w->x, 0);
    w->x = NULL;
    if (w->f && !w->to_stdout) {
        fclose(w->f);
    }
    w->f = NULL;
    if (w->tmp && !w->done) {
        unlink(w->tmp);
    }
    free(w->tmp);
    free(w->path);
    w->tmp = w->path = NULL;
    codec_buf_free(&w->buf);
    codec_buf_free(&w->clean);
    return 0;
}

static writer *new_writer(lua_State *L) {
    writer *w = lua_newuserdatauv(L, sizeof *w, 0);
    memset(w, 0, sizeof *w);
    codec_buf_init(&w->buf);
    codec_buf_init(&w->clean);
    if (luaL_newmetatable(L, WRITER_MT)) {
        lua_pushcfunction(L, l_writer_close);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, l_writer_close);
        lua_setfield(L, -2, "__close");
        lua_pushboolean(L, 0);
        lua_setfield(L, -2, "__metatable");
    }
    lua_setmetatable(L, -2);
    return w;
}

/* ---- cells ---------------------------------------------------------------------------- */

/* Issue 16, class 11: no file holds text that is not UTF-8 or a NaN or
 * infinite number, whatever the script hands over (records stored before
 * the store refused them included). As `gonghui export` does (export.c:
 * text_guard), such a value is written cleaned (each bad byte as U+FFFD, the
 * number as an empty cell or null) and named on stderr: row, column, what. */
#define SHOW_CLEANED 10

static void note_cleaned(lua_State *L, writer *w, int col, const char *what) {
    if (++w->cleaned > SHOW_CLEANED) {
        return;
    }
    lua_rawgeti(L, w->cols, col + 1);
    const char *name = lua_tostring(L, -1);
    w->clean.len = 0;
    codec_utf8_clean(name ? name : "?", name ? strlen(name) : 1, &w->clean);
    codec_buf_add(&w->clean, "", 1);
    fprintf(stderr, _("export: row %llu, column '%s': %s\n"), (unsigned long long)w->n + 1,
            w->clean.oom ? "?" : (const char *)w->clean.p, what);
    lua_pop(L, 1);
    w->clean.len = 0;
}

static const char *not_text(void) {
    return _("bytes that are not UTF-8 text: each is written as U+FFFD (a question mark in a box)");
}

static void not_finite(lua_State *L, writer *w, int col, double d) {
    char what[200];
    snprintf(what, sizeof what,
             _("%s, which no file can hold: written as an empty cell (null in JSON)"),
             d != d  ? "NaN"
             : d > 0 ? "inf"
                     : "-inf");
    note_cleaned(L, w, col, what);
}

static void cell(writer *w, const char *s, size_t n, int text) {
    codec_buf c;
    codec_buf_init(&c);
    if (!codec_utf8_valid((const unsigned char *)s, n, NULL)) { /* (named by the caller) */
        codec_utf8_clean(s, n, &c);
        s = c.oom ? "" : (const char *)c.p;
        n = c.oom ? 0 : c.len;
    }
    if (w->x) {
        xlsx_out_cell(w->x, s, n);
    } else {
        /* CSV is for spreadsheets: text digits they would change go as ="0573..." */
        csv_put(&w->w, s, n, text && w->format == EXPORT_CSV ? CSV_GUARD_TEXT : text);
    }
    codec_buf_free(&c);
}

/* The value at idx as JSON appended to w->buf (tables through MessagePack). */
/* A string's text as the file gets it: noted when it is not UTF-8, masked
 * when its column holds personal data (unless the export unmasks). *n is
 * its length, in and out; *tofree (always set) is what the caller frees. */
static const char *string_cell(lua_State *L, writer *w, int col, const char *s, size_t *n,
                               char **tofree) {
    *tofree = NULL;
    if (!codec_utf8_valid((const unsigned char *)s, *n, NULL)) {
        note_cleaned(L, w, col, not_text());
    }
    if (!w->pd[col] || w->unmask) {
        return s;
    }
    char *m = malloc(*n + PII_MASK_EXTRA + 1);
    if (!m) {
        luaL_error(L, _("export: out of memory"));
        return NULL;
    }
    *n = pii_mask(w->pd[col], s, *n, m);
    w->masked = 1;
    *tofree = m;
    return m;
}

static void json_value(lua_State *L, writer *w, int idx, int col) {
    char num[64];
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
        codec_buf_add(&w->buf, "null", 4);
        return;
    case LUA_TBOOLEAN:
        codec_buf_add(&w->buf, lua_toboolean(L, idx) ? "true" : "false",
                      lua_toboolean(L, idx) ? 4 : 5);
        return;
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) {
            snprintf(num, sizeof num, "%lld", (long long)lua_tointeger(L, idx));
        } else if (isfinite(lua_tonumber(L, idx))) {
            snprintf(num, sizeof num, "%.17g", (double)lua_tonumber(L, idx));
        } else {
            not_finite(L, w, col, (double)lua_tonumber(L, idx));
            snprintf(num, sizeof num, "null");
        }
        codec_buf_add(&w->buf, num, strlen(num));
        return;
    case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        char *m;
        s = string_cell(L, w, col, s, &n, &m);
        codec_json_str(&w->buf, s, n);
        free(m);
        return;
    }
    case LUA_TTABLE: {
        codec_buf mp;
        mp_reader r;
        codec_buf_init(&mp);
        int rc = lcodec_encode(L, idx, &mp, CODEC_MAX_DEPTH - 1);
        mp_flaw fl;
        mp_reader_init(&r, mp.p, mp.len);
        if (rc == 0 && mp_check_text(&r, CODEC_MAX_DEPTH, &fl) == 1) {
            codec_buf c;
            if (fl.kind == MP_FLAW_UTF8) {
                note_cleaned(L, w, col, not_text());
            } else {
                not_finite(L, w, col, fl.d);
            }
            codec_buf_init(&c);
            mp_reader_init(&r, mp.p, mp.len);
            rc = mp_text_clean(&r, &c, CODEC_MAX_DEPTH);
            codec_buf_free(&mp);
            mp = c;
            rc = rc ? rc : mp.oom ? GH_ENOMEM : 0;
        }
        if (rc == 0) {
            mp_reader_init(&r, mp.p, mp.len);
            rc = mp_to_json(&r, &w->buf, CODEC_MAX_DEPTH);
        }
        codec_buf_free(&mp);
        if (rc) {
            luaL_error(L, _("export: row %d: a value cannot be written as JSON: %s"), (int)w->n + 1,
                       err_msg(rc));
        }
        return;
    }
    default: {
        size_t n;
        const char *s = luaL_tolstring(L, idx, &n);
        codec_json_str(&w->buf, s, n);
        lua_pop(L, 1);
    }
    }
}

/* The value at idx as one CSV (or xlsx) cell of column col. */
static void text_cell(lua_State *L, writer *w, int idx, int col) {
    char num[64];
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
        cell(w, "", 0, 0);
        return;
    case LUA_TBOOLEAN:
        cell(w, lua_toboolean(L, idx) ? "true" : "false", lua_toboolean(L, idx) ? 4 : 5, 0);
        return;
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) {
            lua_Integer v = lua_tointeger(L, idx);
            if (w->fen[col] && (w->yuan || w->x)) { /* xlsx: always a money cell in yuan */
                uint64_t a = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
                snprintf(num, sizeof num, "%s%llu.%02llu", v < 0 ? "-" : "",
                         (unsigned long long)(a / 100), (unsigned long long)(a % 100));
            } else {
                snprintf(num, sizeof num, "%lld", (long long)v);
            }
        } else {
            double d = (double)lua_tonumber(L, idx);
            if (!isfinite(d)) {
                not_finite(L, w, col, d);
                cell(w, "", 0, 0);
                return;
            }
            snprintf(num, sizeof num, "%.15g", d);
            if (strtod(num, NULL) != d) {
                snprintf(num, sizeof num, "%.17g", d);
            }
        }
        cell(w, num, strlen(num), 0);
        return;
    case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        char *m;
        s = string_cell(L, w, col, s, &n, &m);
        cell(w, s, n, 1);
        free(m);
        return;
    }
    case LUA_TTABLE:
        w->buf.len = 0;
        json_value(L, w, idx, col);
        if (w->buf.oom) {
            luaL_error(L, _("export: out of memory"));
        }
        cell(w, (const char *)w->buf.p, w->buf.len, 1);
        return;
    default: {
        size_t n;
        const char *s = luaL_tolstring(L, idx, &n);
        cell(w, s, n, 1);
        lua_pop(L, 1);
    }
    }
}

/* ---- rows ------------------------------------------------------------------------------ */

/* Writes the row at stack index row; columns are the strings of table cols. */
static void write_row(lua_State *L, writer *w, int row, int cols) {
    int t = lua_type(L, row);
    if (t != LUA_TTABLE && !lstore_testudata(L, row, &lstore_row_key)) {
        luaL_error(L, _("export: row %d is %s, not a table or a row of a scan"), (int)w->n + 1,
                   luaL_typename(L, row));
    }
    int json = w->format == EXPORT_JSON || w->format == EXPORT_JSONL;
    w->cols = cols;
    if (json) {
        w->buf.len = 0;
        if (w->format == EXPORT_JSON) {
            codec_buf_add(&w->buf, w->n ? ",\n" : "\n", w->n ? 2 : 1);
        }
        codec_buf_add(&w->buf, "{", 1);
    }
    for (int i = 0; i < w->ncols; i++) {
        lua_rawgeti(L, cols, i + 1);
        lua_gettable(L, row);
        if (json) {
            size_t n;
            lua_rawgeti(L, cols, i + 1);
            const char *name = lua_tolstring(L, -1, &n);
            if (i) {
                codec_buf_add(&w->buf, ",", 1);
            }
            codec_json_str(&w->buf, name, n);
            codec_buf_add(&w->buf, ":", 1);
            lua_pop(L, 1);
            json_value(L, w, lua_gettop(L), i);
        } else {
            text_cell(L, w, lua_gettop(L), i);
        }
        lua_pop(L, 1);
    }
    if (json) {
        codec_buf_add(&w->buf, w->format == EXPORT_JSONL ? "}\n" : "}",
                      w->format == EXPORT_JSONL ? 2 : 1);
        if (w->buf.oom) {
            luaL_error(L, _("export: out of memory"));
        }
        fwrite(w->buf.p, 1, w->buf.len, w->f);
    } else if (w->x) {
        int rc = xlsx_out_row(w->x);
        if (rc) {
            luaL_error(L, _("export: %s"), err_msg(rc));
        }
    } else {
        csv_end_row(&w->w);
    }
    w->n++;
}

/* Pushes the next row (or nil) of the iterator at fn (with state and control
 * at fn+1, fn+2; the control is updated). */
static void next_row(lua_State *L, int fn) {
    lua_pushvalue(L, fn);
    lua_pushvalue(L, fn + 1);
    lua_pushvalue(L, fn + 2);
    lua_call(L, 2, 1);
    lua_pushvalue(L, -1);
    lua_replace(L, fn + 2);
}

/* For a list: an iterator over t[1..#t] made of a counter. */
static int l_list_iter(lua_State *L) {
    lua_Integer i = lua_tointeger(L, lua_upvalueindex(2)) + 1;
    if (i > lua_tointeger(L, lua_upvalueindex(3))) {
        lua_pushnil(L);
        return 1;
    }
    lua_pushinteger(L, i);
    lua_replace(L, lua_upvalueindex(2));
    lua_geti(L, lua_upvalueindex(1), i);
    if (lua_isnil(L, -1)) {
        return luaL_error(L, _("export: the list of rows has a hole at %d (nil)"), (int)i);
    }
    return 1;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Pushes the column names (a list) for fields given as "a,b" or a list at
 * idx (0: none), else from collection c, else the keys of the row at row. */
static void columns(lua_State *L, int fields, const store_coll *c, int row) {
    lua_newtable(L);
    int cols = lua_gettop(L), n = 0;
    if (fields && lua_type(L, fields) == LUA_TSTRING) {
        const char *p = lua_tostring(L, fields);
        while (*p) {
            const char *comma = strchr(p, ',');
            size_t k = comma ? (size_t)(comma - p) : strlen(p);
            if (k) {
                lua_pushlstring(L, p, k);
                lua_rawseti(L, cols, ++n);
            }
            p += k + (comma != NULL);
        }
    } else if (fields && lua_type(L, fields) == LUA_TTABLE) {
        lua_Integer len = luaL_len(L, fields);
        for (lua_Integer i = 1; i <= len; i++) {
            if (lua_geti(L, fields, i) != LUA_TSTRING) {
                luaL_error(L, _("export: fields[%d] is %s, not a field name"), (int)i,
                           luaL_typename(L, -1));
            }
            lua_rawseti(L, cols, ++n);
        }
    } else if (fields) {
        luaL_error(L, _("export: fields expects a list of names or \"a,b,c\", got %s"),
                   luaL_typename(L, fields));
    } else if (c) {
        for (int i = 0; i < c->nfields; i++) {
            if (i != c->extra) {
                lua_pushstring(L, c->fields[i].name);
                lua_rawseti(L, cols, ++n);
            }
        }
    } else if (lua_type(L, row) == LUA_TTABLE) {
        /* a plain table: its string keys, in byte order (a stable choice) */
        int k = 0;
        const char **names = lua_newuserdatauv(L, (size_t)MAX_COLUMNS * sizeof *names, 0);
        lua_pushnil(L);
        while (lua_next(L, row)) {
            if (lua_type(L, -2) == LUA_TSTRING && k < MAX_COLUMNS) {
                names[k++] = lua_tostring(L, -2);
            }
            lua_pop(L, 1);
        }
        qsort(names, (size_t)k, sizeof *names, cmp_str);
        for (int i = 0; i < k; i++) {
            lua_pushstring(L, names[i]);
            lua_rawseti(L, cols, ++n);
        }
        lua_pop(L, 1);
        if (!k) {
            luaL_error(L, _("export: the first row has no named fields: give the columns with "
                            "fields = {...} (--fields a,b)"));
        }
    }
    if (n > MAX_COLUMNS) {
        luaL_error(L, _("export: %d columns is too many (at most %d)"), n, MAX_COLUMNS);
    }
    if (fields && !n) {
        luaL_error(L, _("export: fields names no field"));
    }
}

/* The writing itself: items at 1, the output path at 2, options *o at 3
 * (light userdata). Returns the rows written. */
static int l_export_rows(lua_State *L) {
    lexport_opts *o = lua_touserdata(L, 3);
    const char *path = lua_tostring(L, 2);
    const store_coll *c = NULL;
    int fields = lua_isnoneornil(L, 4) ? 0 : 4;
    lua_settop(L, 4);
    /* 1. an iterator at fn, fn+1, fn+2 (and the scan's closing value) */
    int fn = lua_gettop(L) + 1;
    lrow *first_row = NULL;
    if (lstore_testudata(L, 1, &lstore_coll_key)) {
        lua_getfield(L, 1, "scan");
        lua_pushvalue(L, 1);
        lua_call(L, 1, 4); /* f, s, ctl, closing */
        lua_toclose(L, fn + 3);
        c = ((lcoll *)lua_touserdata(L, 1))->c; /* fresh: the scan resolved it */
    } else if (lua_type(L, 1) == LUA_TFUNCTION) {
        lua_pushvalue(L, 1);
        lua_pushnil(L);
        lua_pushnil(L);
    } else if (lua_type(L, 1) == LUA_TTABLE) {
        lua_pushvalue(L, 1);
        lua_pushinteger(L, 0);
        lua_pushinteger(L, luaL_len(L, 1));
        lua_pushcclosure(L, l_list_iter, 3);
        lua_pushnil(L);
        lua_pushnil(L);
    } else {
        return luaL_error(L,
                          _("export: the rows are %s; give a list of rows, a collection "
                            "(db.members) or a function returning one row per call (a scan)"),
                          luaL_typename(L, 1));
    }
    next_row(L, fn);
    int row = lua_gettop(L);
    if ((first_row = lstore_testudata(L, row, &lstore_row_key)) != NULL && !c) {
        c = first_row->c;
    }
    /* 2. the columns */
    columns(L, fields, c, row);
    int cols = lua_gettop(L);
    /* 3. the writer */
    writer *w = new_writer(L);
    lua_toclose(L, -1);
    w->format = o->format;
    w->unmask = o->unmask;
    w->yuan = o->yuan;
    w->ncols = (int)lua_rawlen(L, cols);
    for (int i = 0; i < w->ncols; i++) {
        lua_rawgeti(L, cols, i + 1);
        const char *name = lua_tostring(L, -1);
        int pos = c ? store_field_pos(c, name) : -1;
        int k = pos >= 0 ? store_field_pii(&c->fields[pos]) : pii_guess(name);
        w->pd[i] = pii_hidden(k) ? k : PII_NONE;
        w->fen[i] = pos >= 0 && c->fields[pos].type == FT_FEN;
        lua_pop(L, 1);
    }
    w->to_stdout = strcmp(path, "-") == 0;
    sandbox_note_outside(L); /* a file or standard output */
    if (!(w->path = strdup(path))) {
        return luaL_error(L, _("export: out of memory"));
    }
    if (w->to_stdout && o->format == EXPORT_XLSX) {
        return luaL_error(L, _("export: an .xlsx file cannot go to standard output: give a file"));
    }
    if (!w->to_stdout) {
        size_t n = strlen(path) + 16;
        if (!(w->tmp = malloc(n))) {
            return luaL_error(L, _("export: out of memory"));
        }
        snprintf(w->tmp, n, o->format == EXPORT_XLSX ? "%s.tmp.xlsx" : "%s.tmp", path);
    }
    if (o->format == EXPORT_XLSX) {
        int rc = xlsx_out_open(w->tmp, &w->x);
        if (rc) {
            return luaL_error(L, _("export: %s"), err_msg(rc));
        }
    } else if (w->to_stdout) {
        w->f = stdout;
    } else if (!(w->f = fopen(w->tmp, "w"))) {
        return luaL_error(L, _("export: cannot write %s: %s"), w->tmp, strerror(errno));
    }
    if (o->format == EXPORT_CSV || o->format == EXPORT_TSV || o->format == EXPORT_XLSX) {
        if (!w->x) {
            csv_writer_init(&w->w, w->f, o->format == EXPORT_TSV ? CSV_TAB_SEP : CSV_COMMA_SEP,
                            o->format == EXPORT_CSV);
        }
        for (int i = 0; i < w->ncols; i++) {
            size_t n;
            lua_rawgeti(L, cols, i + 1);
            const char *name = lua_tolstring(L, -1, &n);
            int pos = c && o->labels ? store_field_pos(c, name) : -1;
            if (pos >= 0 && c->fields[pos].label) {
                name = c->fields[pos].label;
                n = strlen(name);
            }
            if (o->format == EXPORT_CSV) { /* a header is a name, never a guarded number */
                csv_put(&w->w, name, n, CSV_GUARD);
            } else {
                cell(w, name, n, 1);
            }
            lua_pop(L, 1);
            if (w->x && w->fen[i]) {
                int rc = xlsx_out_money(w->x, i);
                if (rc) {
                    return luaL_error(L, _("export: %s"), err_msg(rc));
                }
            }
        }
        if (w->x) {
            int rc = xlsx_out_row(w->x);
            if (rc) {
                return luaL_error(L, _("export: %s"), err_msg(rc));
            }
        } else {
            csv_end_row(&w->w);
        }
    } else if (o->format == EXPORT_JSON) {
        fputs("[", w->f);
    }
    /* the rows: the first is at row, the others come from the iterator */
    while (!lua_isnil(L, row)) {
        write_row(L, w, row, cols);
        next_row(L, fn);
        lua_replace(L, row);
    }
    /* 4. the end: complete the file, then put it in place */
    if (o->format == EXPORT_JSON) {
        fputs(w->n ? "\n]\n" : "]\n", w->f);
    }
    int rc = 0;
    if (w->x) {
        rc = xlsx_out_close(w->x, 1);
        w->x = NULL;
    } else if (fflush(w->f) != 0 || ferror(w->f)) {
        rc = err_set(GH_EIO, _("writing %s failed: %s"), w->to_stdout ? "standard output" : w->tmp,
                     strerror(errno));
    }
    if (rc == 0 && w->f && !w->to_stdout) {
        FILE *f = w->f;
        w->f = NULL;
        if (fclose(f) != 0) {
            rc = err_set(GH_EIO, _("writing %s failed: %s"), w->tmp, strerror(errno));
        }
    }
    if (rc == 0 && w->tmp && rename(w->tmp, path) != 0) {
        rc = err_set(GH_EIO, _("cannot rename %s to %s: %s"), w->tmp, path, strerror(errno));
    }
    if (rc) {
        return luaL_error(L, _("export: %s"), err_msg(rc));
    }
    if (w->cleaned) {
        if (w->cleaned > SHOW_CLEANED) {
            fprintf(stderr, _("export: ... and %llu more such values\n"),
                    (unsigned long long)(w->cleaned - SHOW_CLEANED));
        }
        fprintf(stderr,
                _("export: %s: %llu value(s) no file can hold were written cleaned (named "
                  "above): correct them where they come from\n"),
                path, (unsigned long long)w->cleaned);
    }
    w->done = 1;
    o->written = w->n;
    o->masked |= w->masked;
    lua_pushinteger(L, (lua_Integer)w->n);
    return 1;
}

/* ---- export.csv() and its siblings --------------------------------------------------- */

/* The path of file `name` inside the output folder (upvalue 1), pushed; raises
 * when name is absolute, has a '..' part, or its folder lies outside. */
static const char *out_path(lua_State *L, const char *fname, const char *name) {
    const char *dir = lua_tostring(L, lua_upvalueindex(1));
    int bad = !name[0] || name[0] == '/' || strchr(name, '\\') != NULL;
    for (const char *p = name; !bad && *p;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        bad = n == 0 || (n == 2 && memcmp(p, "..", 2) == 0) || (n == 1 && p[0] == '.');
        p += n + (slash != NULL);
        bad |= slash && !*p;
    }
    if (bad) {
        luaL_error(L,
                   _("export.%s('%s'): give a file name inside the output folder %s (no absolute "
                     "path, no '..'; gonghui run --out DIR chooses the folder)"),
                   fname, name, dir);
    }
    lua_pushfstring(L, "%s/%s", dir, name);
    /* the file's folder must really be inside (a link could lead out) */
    char folder[PATH_MAX], real[PATH_MAX];
    snprintf(folder, sizeof folder, "%s", lua_tostring(L, -1));
    *strrchr(folder, '/') = 0;
    size_t dn = strlen(dir);
    if (!realpath(folder, real)) {
        luaL_error(L, _("export.%s('%s'): the folder %s does not exist"), fname, name, folder);
    }
    if (strncmp(real, dir, dn) != 0 || (real[dn] != 0 && real[dn] != '/')) {
        luaL_error(L, _("export.%s('%s'): %s leads outside the output folder %s"), fname, name,
                   folder, dir);
    }
    if (realpath(lua_tostring(L, -1), real) && (strncmp(real, dir, dn) != 0 || real[dn] != '/')) {
        luaL_error(L, _("export.%s('%s'): the file is a link that leads outside the output folder"),
                   fname, name);
    }
    return lua_tostring(L, -1);
}

static int opt_bool(lua_State *L, int opts, const char *name) {
    if (!opts) {
        return 0;
    }
    lua_getfield(L, opts, name);
    int v = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return v;
}

/* export.FORMAT(rows, name [, opts]) -> rows written, path */
static int l_export_fmt(lua_State *L) {
    static const char *const names[] = {"csv", "tsv", "json", "jsonl", "xlsx"};
    int format = (int)lua_tointeger(L, lua_upvalueindex(2));
    const char *name = luaL_checkstring(L, 2);
    int opts = lua_isnoneornil(L, 3) ? 0 : 3;
    if (opts) {
        luaL_checktype(L, 3, LUA_TTABLE);
        static const char *const known[] = {"fields", "unmask", "yuan", "headers", NULL};
        lua_pushnil(L);
        while (lua_next(L, 3)) {
            int ok = 0;
            for (int i = 0; known[i] && lua_type(L, -2) == LUA_TSTRING; i++) {
                ok |= strcmp(known[i], lua_tostring(L, -2)) == 0;
            }
            if (!ok) {
                return luaL_error(
                    L, _("export.%s: unknown option '%s' (fields, unmask, yuan, headers)"),
                    names[format], luaL_tolstring(L, -2, NULL));
            }
            lua_pop(L, 1);
        }
    }
    lexport_opts o;
    memset(&o, 0, sizeof o);
    o.format = format;
    o.unmask = opt_bool(L, opts, "unmask");
    o.yuan = opt_bool(L, opts, "yuan");
    if (opts) {
        lua_getfield(L, opts, "headers");
        const char *h = lua_tostring(L, -1);
        if (h && strcmp(h, "labels") != 0 && strcmp(h, "names") != 0) {
            return luaL_error(L, _("export.%s: headers = '%s' (names or labels)"), names[format],
                              h);
        }
        o.labels = h && strcmp(h, "labels") == 0;
        lua_pop(L, 1);
    }
    const char *path = out_path(L, names[format], name);
    int path_idx = lua_gettop(L);
    /* the file and its FILE.tmp as the sandbox allows (sbfiles.h): no
     * protected folder, no link followed; the temporary file is made here,
     * so a link planted at its name is refused, not written through */
    {
        char why[PATH_MAX + 256], tmp[PATH_MAX + 16];
        if (!sandbox_may_write(L, path, why, sizeof why)) {
            return luaL_error(L, _("export.%s: %s"), names[format], why);
        }
        snprintf(tmp, sizeof tmp, format == EXPORT_XLSX ? "%s.tmp.xlsx" : "%s.tmp", path);
        int fd = sandbox_open_write(L, tmp, O_WRONLY | O_CREAT | O_TRUNC, why, sizeof why);
        if (fd < 0) {
            return luaL_error(L, _("export.%s: %s"), names[format], why);
        }
        close(fd);
        lua_pushstring(L, tmp);
    }
    int tmp_idx = lua_gettop(L);
    lua_pushcfunction(L, l_export_rows);
    lua_pushvalue(L, 1);
    lua_pushvalue(L, path_idx);
    lua_pushlightuserdata(L, &o);
    if (opts) {
        lua_getfield(L, opts, "fields");
    } else {
        lua_pushnil(L);
    }
    if (lua_pcall(L, 4, 1, 0) != LUA_OK) {
        unlink(lua_tostring(L, tmp_idx)); /* gone already if the writer was made */
        return lua_error(L);
    }
    if (o.unmask) { /* the run record says which files carry unmasked personal data */
        if (lua_getfield(L, LUA_REGISTRYINDEX, LEXPORT_UNMASKED) != LUA_TTABLE) {
            lua_pop(L, 1);
            lua_newtable(L);
            lua_pushvalue(L, -1);
            lua_setfield(L, LUA_REGISTRYINDEX, LEXPORT_UNMASKED);
        }
        lua_pushstring(L, path);
        lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
        lua_pop(L, 1);
    }
    lua_pushstring(L, path);
    return 2;
}

/* export.path(name): the full path of `name` in the output folder, checked as
 * export.csv checks it, for code that writes a file itself (a plugin's
 * xlsx.open, which takes a path, not a name in the output folder). */
static int l_export_path(lua_State *L) {
    out_path(L, "path", luaL_checkstring(L, 1));
    return 1;
}

void lexport_install(lua_State *L, const char *out_dir) {
    static const char *const names[] = {"csv", "tsv", "json", "jsonl", "xlsx"};
    static const int formats[] = {EXPORT_CSV, EXPORT_TSV, EXPORT_JSON, EXPORT_JSONL, EXPORT_XLSX};
    lua_createtable(L, 0, 5);
    for (int i = 0; i < 5; i++) {
        lua_pushstring(L, out_dir);
        lua_pushinteger(L, formats[i]);
        lua_pushcclosure(L, l_export_fmt, 2);
        lua_setfield(L, -2, names[i]);
    }
    lua_pushstring(L, out_dir);
    lua_pushcclosure(L, l_export_path, 1);
    lua_setfield(L, -2, "path");
    lua_setglobal(L, "export");
}

/* ---- gonghui export SCRIPT.lua -------------------------------------------------------- */

int lexport_cli(lua_State *L) {
    lexport_opts *o = lua_touserdata(L, 2);
    lua_pushcfunction(L, l_export_rows);
    lua_pushvalue(L, 1);
    lua_pushstring(L, o->out);
    lua_pushlightuserdata(L, o);
    if (o->fields) {
        lua_pushstring(L, o->fields);
    } else {
        lua_pushnil(L);
    }
    if (lua_isnil(L, 1)) {
        return luaL_error(L, _("export: the script returned nothing: it must end with "
                               "`return rows` (a list of rows, a collection, or a scan)"));
    }
    lua_call(L, 4, 1);
    return 1;
}

/* The read-only guard: upvalue 1 names the function. */
static int l_export_refuse(lua_State *L) {
    return luaL_error(L,
                      _("%s: gonghui export runs the script read-only (it may only read and "
                        "return rows); make the changes with gonghui run"),
                      lua_tostring(L, lua_upvalueindex(1)));
}

static void refuse(lua_State *L, int idx, const char *prefix, const char *const *names) {
    idx = lua_absindex(L, idx);
    for (; *names; names++) {
        int is_fn = lua_getfield(L, idx, *names) == LUA_TFUNCTION;
        lua_pop(L, 1);
        if (!is_fn) {
            continue;
        }
        lua_pushfstring(L, "%s%s", prefix, *names);
        lua_pushcclosure(L, l_export_refuse, 1);
        lua_setfield(L, idx, *names);
    }
}

void lexport_readonly(lua_State *L) {
    static const char *const coll[] = {"insert",         "put",           "update", "delete",
                                       "prepare_insert", "insert_select", NULL};
    static const char *const dbw[] = {"drop", NULL};
    static const char *const busw[] = {"publish", "consumer", "run",  "replay",
                                       "retry",   "drop",     "trim", NULL};
    static const char *const runw[] = {"chunks", NULL};
    luaL_getmetatable(L, COLL_MT);
    lua_getfield(L, -1, "__index");
    if (lua_istable(L, -1)) {
        refuse(L, -1, "", coll);
    }
    lua_pop(L, 2);
    lua_getglobal(L, "db");
    refuse(L, -1, "db.", dbw);
    lua_pop(L, 1);
    lua_getglobal(L, "bus");
    if (lua_istable(L, -1)) {
        refuse(L, -1, "bus.", busw);
    }
    lua_pop(L, 1);
    lua_getglobal(L, "run");
    refuse(L, -1, "run.", runw);
    lua_pop(L, 1);
}

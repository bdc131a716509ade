/*
 * lua_export.h — exporting rows a script gives: `gonghui export SCRIPT.lua`
 * and the `export` global of scripts (export.csv, tsv, json, jsonl, xlsx).
 *
 * Built on export.h (formats), pii.h (masking), csvfile.h, xlsx_out.h and
 * lua_store.h (collections and rows).
 *
 * Rows: a list of rows, a collection (its records in key order), or a
 * function returning one row per call and nil at the end (a scan such as
 * db.members:scan{town = 'X'}). A row is a table or a row of a scan.
 * Columns: the fields given, else the collection's fields (the rows'
 * collection), else the first row's keys in byte order. Values as
 * `gonghui export COLLECTION` writes them; columns named like ID numbers
 * and phones are masked unless unmask.
 */
#ifndef GH_LUA_EXPORT_H
#define GH_LUA_EXPORT_H

#include <lua.h>
#include <stdint.h>

/* Registry key of the list of files a script's export.* wrote with unmask
 * = true (for the run record). */
#define LEXPORT_UNMASKED "gonghui.unmasked_exports"

/* How rows are written (also the options of `gonghui export SCRIPT.lua`). */
typedef struct lexport_opts {
    const char *out;    /* the file ("-": standard output, not for xlsx) */
    int format;         /* enum export_format (export.h) */
    const char *fields; /* "a,b,c", or NULL */
    int unmask;         /* write ID numbers and phones whole */
    int yuan;           /* CSV/TSV: fen fields as yuan */
    int labels;         /* headers: a field's label (its definition's `label`) when it has one */
    /* results, for the summary and the run record */
    uint64_t written;
    int masked;
} lexport_opts;

/* Sets the global `export` in the globals of L: export.csv(rows, name [,
 * opts]) and tsv, json, jsonl, xlsx write into folder out_dir (copied; a
 * real path) and nowhere else. opts: fields (a list or "a,b"), unmask,
 * yuan, headers ('names' or 'labels'). They return the rows written and
 * the file's path. */
void lexport_install(lua_State *L, const char *out_dir);

/* Makes the run read-only: every write function of db (insert, put,
 * update, delete, prepare_insert, drop), of bus (publish, consumer, run,
 * replay, retry, drop, trim) and run.chunks raises, naming itself. The db
 * and bus globals must be set. */
void lexport_readonly(lua_State *L);

/* A lua_CFunction for lua_pcall: writes the rows given as argument 1 (a
 * script's result) as *o says (light userdata, argument 2), filling in
 * o->written and o->masked. Raises on any error; the file is then left
 * as it was (the rows go to OUT.tmp, renamed at the end). */
int lexport_cli(lua_State *L);

#endif

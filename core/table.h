/*
 * table.h — text tables for people: columns that line up for Chinese text,
 * and the same rows as CSV, JSON, JSON lines, Markdown or one field a line.
 *
 * Calls utf8proc for display widths. Knows nothing of Lua or of storage: a table is a header
 * and rows of cells, each cell a kind and its text (already formatted by
 * the caller, masking included).
 *
 * Display width: a code point takes 0 (combining, zero width), 1 or 2
 * terminal columns (East Asian Wide and Fullwidth: CJK ideographs, kana,
 * fullwidth forms, most emoji). East Asian *Ambiguous* characters (·, °,
 * ①, ℃, Greek and Cyrillic letters, the box-drawing set) are 1 column on
 * most terminals and 2 on some set up for CJK; tbl_opts.ambiguous_wide
 * chooses, and box borders fall back to ASCII when it is set (the border
 * characters are themselves ambiguous).
 */
#ifndef GH_TABLE_H
#define GH_TABLE_H

#include <stddef.h>
#include <stdio.h>

/* Output modes (the REPL's .mode). */
typedef enum {
    TBL_BOX,      /* box drawing (ASCII +-| with tbl_opts.ascii) */
    TBL_TABLE,    /* plain aligned columns, a rule under the header */
    TBL_CSV,      /* RFC 4180, a header line */
    TBL_JSON,     /* one JSON array of objects */
    TBL_JSONL,    /* one JSON object a line */
    TBL_MARKDOWN, /* a GitHub-flavoured Markdown table */
    TBL_LINE,     /* one "field = value" a line, a blank line between rows */
} tbl_mode;

/* Cell kinds: how a cell aligns (numbers right) and how it is written in
 * CSV and JSON. TBL_RAW text is written as it is in JSON (the caller made
 * it JSON) and shown as it is elsewhere (a Lua literal, say). */
enum { TBL_STR, TBL_NUM, TBL_BOOL, TBL_NULL, TBL_RAW };

typedef struct tbl_opts {
    tbl_mode mode;
    int ascii;          /* box: ASCII borders */
    int ambiguous_wide; /* East Asian Ambiguous characters are 2 columns */
    size_t max_rows;    /* text modes: more rows than this show the first and last
                         * halves with a note between; 0 = all */
    int max_width;      /* text modes: wider cells are cut with "…"; 0 = no cap */
    int footer;         /* box/table/line: "(N rows)" after the table */
    int excel;          /* csv: a UTF-8 BOM and CRLF line ends, for Excel */
    int no_header;      /* box/table/csv: no header row (the REPL's .headers off) */
} tbl_opts;

typedef struct tbl tbl;

/* A table of ncols columns, no rows yet. NULL when out of memory. Free
 * with tbl_free. */
tbl *tbl_new(int ncols);

/* Frees t; NULL is a no-op. */
void tbl_free(tbl *t);

/* Sets the name of column col (copied). 0 or -1 (out of memory, bad col). */
int tbl_set_col(tbl *t, int col, const char *name);

/* Adds a row of ncols TBL_NULL cells; tbl_set fills the last row added.
 * 0 or -1 (out of memory). */
int tbl_add_row(tbl *t);

/* Sets cell col of the last row: kind and n bytes of text (copied; NULL
 * text for TBL_NULL). 0 or -1 (out of memory, bad col, no row). */
int tbl_set(tbl *t, int col, int kind, const char *s, size_t n);

/* Number of rows added so far. */
size_t tbl_rows(const tbl *t);

/* Writes the table to f in o->mode. 0, or -1 if writing failed (errno). */
int tbl_render(const tbl *t, const tbl_opts *o, FILE *f);

/* Terminal columns taken by n bytes of UTF-8 text s (invalid bytes count
 * one column each, control characters as the escapes tbl_render shows). */
int tbl_width(const char *s, size_t n, int ambiguous_wide);

/* Columns of one code point: 0, 1 or 2. */
int tbl_cp_width(int cp, int ambiguous_wide);

/* The mode named name ("box", "table", ...), or -1. */
int tbl_mode_parse(const char *name);

/* The name of mode m (static). */
const char *tbl_mode_name(tbl_mode m);

#endif

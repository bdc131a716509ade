/*
 * xlsx_read.h — reading the rows of one sheet of an .xlsx workbook, a
 * streaming reader built on minizip (the zip archive) and expat (its XML
 * parts). Part of the xlsx plugin (xlsx.c calls it); the fuzz target
 * tests/fuzz/fuzz_xlsx.c compiles it too, with the parts held in memory.
 *
 * Opening reads the small parts whole: _rels/.rels (where the workbook
 * is), the workbook (sheet names, the 1904 date system), its rels (sheet
 * name -> part), the styles (which cell formats are dates) and the shared
 * strings, which are kept (memory grows with them). The sheet itself is
 * parsed as rows are asked for: expat is stopped at the end of each <row>
 * and resumed for the next, so memory holds one 64 KiB chunk of the sheet
 * and one row, whatever the number of rows.
 *
 * Every cell comes out as text, as Excel shows it:
 *   shared, inline and formula strings  the text (rich-text runs joined,
 *                                       phonetic runs left out, _xHHHH_
 *                                       escapes decoded)
 *   numbers                             the digits as stored; integers
 *                                       without ".0"; at most 15
 *                                       significant digits (Excel's
 *                                       precision), integers of more
 *                                       than 15 digits in scientific
 *                                       notation (3.30481199001012E+17),
 *                                       since their last digits are gone
 *   numbers in a date or time format    YYYY-MM-DD, YYYY-MM-DD HH:MM:SS,
 *                                       HH:MM:SS (1900 or 1904 system,
 *                                       with Excel's 1900-02-29)
 *   booleans                            TRUE or FALSE
 *   errors                              the error text (#N/A, #DIV/0!)
 *   ISO dates (t="d")                   YYYY-MM-DD[ HH:MM:SS]
 * A cell missing from a row (its r= skips columns) is an empty field; a
 * row ends at its last non-empty cell; rows with no values are skipped.
 */
#ifndef GH_XLSX_READ_H
#define GH_XLSX_READ_H

#include <stddef.h>
#include <stdint.h>

/* Where the reader's memory comes from (the plugin's host API, or libc). */
typedef struct xr_mem {
    void *(*malloc)(size_t n);
    void *(*realloc)(void *p, size_t n);
    void (*free)(void *p);
    /* the calendar arithmetic (the host's: gh_api.day_number and day_date,
     * core/days.h), for the date cells */
    int64_t (*day_number)(int64_t y, int m, int d);
    void (*day_date)(int64_t day, int *y, int *m, int *d);
} xr_mem;

/* A part given in memory instead of a zip file (for the fuzz target):
 * name as inside the zip ("xl/workbook.xml"), bytes borrowed. */
typedef struct xr_part {
    const char *name;
    const char *data;
    size_t len;
} xr_part;

typedef struct xr_book xr_book;

/* One row: borrowed from the book, valid until the next xr_next_row. */
typedef struct xr_row {
    uint32_t number; /* the sheet's row number (1-based) */
    int ncells;
    const char *const *cells; /* NUL-terminated UTF-8 */
    const size_t *lens;
} xr_row;

/* Opens sheet `sheet` of the workbook at `path` ("": the first sheet; a
 * sheet's name; or its position, "2"; NULL: no sheet, only the names for
 * xr_sheet_names). Positions count the tabs Excel shows: hidden sheets are
 * opened only by name. 0 with *out, or -1 with a
 * message in err[errn] naming the file and the part. The caller frees *out
 * with xr_close. */
int xr_open(const char *path, const char *sheet, const xr_mem *mem, xr_book **out, char *err,
            size_t errn);

/* The same from parts in memory (nparts of them, borrowed until xr_close);
 * `path` only names the workbook in messages. */
int xr_open_parts(const char *path, const xr_part *parts, int nparts, const char *sheet,
                  const xr_mem *mem, xr_book **out, char *err, size_t errn);

/* The next row with values: 1 with *row, 0 at the end of the sheet, -1
 * with a message in err (a damaged part, a bad cell). */
int xr_next_row(xr_book *b, xr_row *row, char *err, size_t errn);

/* The name of the sheet being read (borrowed, valid until xr_close). */
const char *xr_sheet_name(const xr_book *b);

/* The names of all sheets, in workbook order, joined by tabs (borrowed,
 * valid until xr_close). */
const char *xr_sheet_names(const xr_book *b);

/* How far through the sheet's part reading is, 0..1. */
double xr_progress(const xr_book *b);

/* Frees b and everything it holds; NULL is a no-op. */
void xr_close(xr_book *b);

/* Exposed for tests: renders a number cell's stored text v[0..n) into out
 * (at least 40 bytes). Returns the length. */
size_t xr_number_text(const char *v, size_t n, char *out);

#endif

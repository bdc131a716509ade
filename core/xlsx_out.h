/*
 * xlsx_out.h — writing an .xlsx file from C through the `xlsx` native
 * plugin (plugins/xlsx), found on the plugin path like any plugin; the core
 * does not link libxlsxwriter.
 *
 * Rows go to the plugin packed (its
 * header_cells/row_cells): a tab or line break inside a cell is kept; a
 * NUL byte is written as a space.
 */
#ifndef GH_XLSX_OUT_H
#define GH_XLSX_OUT_H

#include <stddef.h>

typedef struct xlsx_out xlsx_out;

/* Loads the plugin and starts a workbook to be written to path at
 * xlsx_out_close. 0 with *out, or a GH_E* code with the reason in err_msg. */
int xlsx_out_open(const char *path, xlsx_out **out);

/* Adds one cell (n bytes of text) to the row being built. 0 or GH_ENOMEM. */
int xlsx_out_cell(xlsx_out *x, const char *s, size_t n);

/* Writes the row built so far (the first one is the header). 0 or GH_E*. */
int xlsx_out_row(xlsx_out *x);
/* Before the first row: column col (0-based) holds money, so its plain
 * numbers (1234.50) are written as number cells shown as #,##0.00 (the
 * plugin's money). 0, or GH_ETOOBIG past a few dozen columns. */
int xlsx_out_money(xlsx_out *x, int col);

/* Writes the file (commit != 0) and frees x; commit 0 only frees. NULL is
 * a no-op. 0 or GH_E* with err_msg. */
int xlsx_out_close(xlsx_out *x, int commit);

#endif

/*
 * xlsx_in.h — reading the rows of an .xlsx sheet from C through the `xlsx`
 * native plugin (plugins/xlsx, its reader xlsx_read.c), found on the plugin
 * path like any plugin; the core links neither minizip nor expat.
 *
 * A source of rows beside csv_read: the rows come to the same callback, as csv_row, with `line` the sheet's row number.
 */
#ifndef GH_XLSX_IN_H
#define GH_XLSX_IN_H

#include "csvfile.h"

/* Reads sheet `sheet` of the workbook at path (NULL or "": the first
 * sheet; a sheet's name; or its position, "2"), calling fn for every row
 * that has values (the header included), cells as Excel shows them (see
 * plugins/xlsx/xlsx_read.h). Returns 0 when every row was handed over, the
 * callback's non-zero value if it stopped, or a GH_E* code with err_msg()
 * naming the file and the part at fault (GH_ENOTFOUND no plugin, GH_EIO
 * anything wrong with the file). *info (may be NULL) is written before the
 * first row: encoding "Excel workbook, sheet 'NAME'" (borrowed, valid until
 * the next call), size the file's bytes. */
int xlsx_in_read(const char *path, const char *sheet, csv_row_fn fn, void *ctx, csv_info *info);

#endif

/*
 * csvfile.h — reading and writing delimited text (CSV, TSV) the way Excel users
 * make and open it.
 *
 * Reading (csv_read): the whole file is mapped, its encoding decided once,
 * then rows are parsed with libcsv (RFC 4180 quoting, quoted newlines, CR,
 * LF or CRLF line ends) and handed one at a time to a callback. Memory does
 * not grow with the file: one row is held at a time (plus a 64 KiB
 * conversion buffer for GB18030 and UTF-16).
 *
 * Encodings: a UTF-8 BOM is stripped; a UTF-16 BOM (Excel's "Unicode
 * text") means UTF-16; otherwise, with CSV_ENC_AUTO, a file whose bytes are
 * valid UTF-8 is UTF-8 and any other file is decoded as GB18030 (a superset
 * of GBK and GB2312) with glibc's iconv. Bytes that are not valid in the
 * encoding chosen are an error naming the line.
 *
 * Writing (csv_writer): UTF-8 with a BOM (Excel detects the encoding by it),
 * CRLF line ends, quotes only where needed (the delimiter, a quote, CR, LF,
 * or spaces at either end, which readers trim), and an optional guard
 * against formula injection: a cell starting with '=', '+', '-', '@', TAB
 * or CR gets a leading apostrophe, which Excel shows as text and hides.
 * csv_unguard() undoes it on import, so export -> import is lossless.
 *
 * Knows nothing of the store.
 */
#ifndef GH_CSVFILE_H
#define GH_CSVFILE_H

#include "codec.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum csv_format { CSV_COMMA_SEP, CSV_TAB_SEP };
/* Flags or'ed into csv_read's format:
 *   CSV_EMPTY_ROWS  an empty line is handed over as a row of no cells (so
 *                   that the caller can count it) instead of being skipped;
 *   CSV_SNIFF       (with CSV_COMMA_SEP) the first line with a comma or a
 *                   semicolon outside quotes decides the separator: ';' when
 *                   it has more semicolons than commas (Excel saves CSV so
 *                   where the decimal mark is a comma); info->delim says. */
enum { CSV_EMPTY_ROWS = 0x100, CSV_SNIFF = 0x200 };
enum csv_encoding { CSV_ENC_AUTO, CSV_ENC_UTF8, CSV_ENC_GB18030 };

/* What csv_read found out about the file. */
typedef struct csv_info {
    const char *encoding; /* "UTF-8", "UTF-8 with BOM", "GB18030", "UTF-16LE", "UTF-16BE" */
    int guessed;          /* the encoding was chosen because the bytes were not UTF-8 */
    uint64_t size;        /* bytes in the file */
    char delim;           /* the separator used (CSV_SNIFF: known once a row is handed over) */
} csv_info;

/* One parsed row, handed to the callback. Cells are NUL-terminated UTF-8
 * (the NUL is not counted in len; a cell may contain NUL bytes only if the
 * file did). Everything is borrowed, valid during the callback only. */
typedef struct csv_row {
    int ncells;
    char **cells;
    size_t *lens;
    long line;     /* the physical line (1-based) where the row starts */
    uint64_t done; /* bytes of the file read so far, for progress */
} csv_row;

/* Returns 0 to go on, or any other value to stop: csv_read returns it. */
typedef int (*csv_row_fn)(void *ctx, const csv_row *row);

/* Reads `path` as `format` (with the flags above) in `encoding`, calling fn
 * for every row (the header included; lines with no cells at all are
 * skipped unless CSV_EMPTY_ROWS). 0 when every
 * row was handed over, the callback's non-zero value if it stopped, or a
 * GH_E* code with err_msg() naming the file and line (GH_EIO unreadable,
 * GH_ECORRUPT bad bytes or an unterminated quote). *info (may be NULL) is
 * written once the encoding is known, before the first row; its delim
 * again when CSV_SNIFF decides it. */
int csv_read(const char *path, int format, int encoding, csv_row_fn fn, void *ctx, csv_info *info);

/* 1 if s[0..n) is valid UTF-8 (no overlongs, surrogates or code points past
 * U+10FFFF). *bad (may be NULL) gets the offset of the first bad byte. */
static inline int csv_utf8_valid(const unsigned char *s, size_t n, size_t *bad) {
    return codec_utf8_valid(s, n, bad);
}

/* If cell s[0..n) is a guarded formula (an apostrophe followed by one of
 * = + - @ TAB CR), the length of the guard (1), else 0. */
size_t csv_unguard(const char *s, size_t n);

/* If cell s[0..n) is the text guard ="digits" that csv_put writes with
 * CSV_GUARD_TEXT, the length of the digits (they start at s + 2), else 0. */
size_t csv_untext(const char *s, size_t n);

/* Takes off the guard export wrote on cell *s (*n bytes): the formula guard
 * (csv_unguard) or the text guard ="digits" (csv_untext). Every reader of
 * cells export wrote goes through it (import, run.read_csv), so what
 * gonghui writes, gonghui reads back as it was. */
void csv_unwrap(const char **s, size_t *n);

/* ---- writing --------------------------------------------------------------------- */

typedef struct csv_writer {
    FILE *f;
    char delim;
    int ncell; /* cells written in the current row */
} csv_writer;

/* Starts writing to f (borrowed): writes the UTF-8 BOM if `bom`. */
void csv_writer_init(csv_writer *w, FILE *f, int format, int bom);
/* Writes one cell; `guard` (non-zero) adds the formula-injection guard when
 * needed. CSV_GUARD_TEXT also writes a text cell of digits that a
 * spreadsheet would change (a leading zero, more than 11 digits) as the
 * formula ="0573...", which Excel and LibreOffice show as that text. */
void csv_put(csv_writer *w, const char *s, size_t n, int guard);
enum { CSV_GUARD = 1, CSV_GUARD_TEXT = 2 };
/* Ends the row with CRLF. */
void csv_end_row(csv_writer *w);

#endif

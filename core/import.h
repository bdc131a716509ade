/*
 * import.h — `gonghui import`: CSV, TSV, JSON Lines and .xlsx files into a
 * collection, every row checked against its definition, bad rows set aside.
 *
 * Built on store.h, csvfile.h, xlsx_in.h and runs.h.
 *
 * Exit codes (IMPORT_EXIT_*): 0 every row stored; 3 some rows rejected (the
 * others were stored, or with --strict nothing was); 1 the import failed and
 * nothing was stored (unreadable file, header that does not fit); 2 usage.
 */
#ifndef GH_IMPORT_H
#define GH_IMPORT_H

#include "store.h"

enum { IMPORT_EXIT_OK = 0, IMPORT_EXIT_FAILED = 1, IMPORT_EXIT_USAGE = 2, IMPORT_EXIT_REJECTS = 3 };

enum import_format { IMPORT_CSV, IMPORT_TSV, IMPORT_JSONL, IMPORT_XLSX };

typedef struct import_opts {
    const char *coll;    /* the collection (it must be defined) */
    const char *file;    /* the file to read */
    int format;          /* enum import_format */
    int encoding;        /* enum csv_encoding */
    int mode;            /* STORE_INSERT, or STORE_REPLACE for --mode upsert */
    int strict;          /* store nothing if any row is bad */
    int yuan;            /* fen fields are given in yuan ("12.50") */
    int progress;        /* 1 show progress (stderr is a terminal), 0 never */
    const char *rejects; /* where bad rows go (default <file>.rejects.csv) */
    const char *sheet;   /* .xlsx: the sheet's name or position (NULL: the first) */
    long header_row;     /* rows (lines) before this one, a title, are skipped (0: none) */
    char **map;          /* "COLUMN=field" or "COLUMN=-" (skip the column) */
    int nmap;
    long chunk;  /* --chunk N: commit every N rows, with a checkpoint (0: one transaction) */
    int resume;  /* --resume: go on after the last chunk a stopped import stored */
    char **argv; /* the command's arguments as given, for the run record */
    int argc;
} import_opts;

/* Parses `import COLLECTION FILE [options]` (argv[0] is COLLECTION).
 * Returns 0, or IMPORT_EXIT_USAGE after printing why on stderr. The
 * options point into argv; o->map is the caller's to free(). */
int import_parse(int argc, char **argv, import_opts *o);

/* Runs the import on store s (one write transaction), writes the rejects
 * file, prints the summary on stdout and records the run. Returns the
 * process exit code (see the top). */
int import_run(store *s, const import_opts *o);

/* ID numbers, phones, dates and yuan in cells are read by parse.h, the
 * same rules every other command uses. */

#endif

/*
 * export.h — `gonghui export`: a collection out as CSV for Excel, TSV,
 * JSON or JSON Lines, personal data masked unless asked for.
 *
 * Built on store.h, csvfile.h, pii.h (the personal-data rule) and runs.h.
 */
#ifndef GH_EXPORT_H
#define GH_EXPORT_H

#include "store.h"

#include <stdio.h>

enum export_format { EXPORT_CSV, EXPORT_TSV, EXPORT_JSON, EXPORT_JSONL, EXPORT_XLSX };

typedef struct export_opts {
    const char *coll;   /* the collection */
    const char *script; /* or the script (FILE.lua) whose returned rows are written */
    char **params;      /* the script's name=value parameters (borrowed from argv) */
    int nparams;
    char **runargs; /* the script's run options (--timeout T, --memory M, --seed N, --now T) */
    int nrunargs;
    const char *out;    /* the file to write ("-": standard output) */
    int format;         /* enum export_format */
    const char *fields; /* "a,b,c" or NULL for every field */
    int unmask;         /* show ID numbers and phones whole */
    int yuan;           /* CSV/TSV: fen fields written as yuan ("12.50") */
    int labels;         /* --headers labels: column headers are the fields' labels */
    char **argv;        /* the command's arguments, for the run record */
    int argc;
} export_opts;

/* Parses `export COLLECTION [options]` or `export SCRIPT.lua [options]
 * [name=value ...]` (a first argument ending in .lua is a script). 0, or 2
 * after printing why on stderr. */
int export_parse(int argc, char **argv, export_opts *o);

/* Writes the export (to OUT.tmp, renamed to OUT when complete, so a failed
 * export leaves no half file), prints a summary and records the run.
 * Returns the exit code: 0 written, 1 failed. */
int export_run(store *s, const export_opts *o);

/* The name of export format `format` (EXPORT_CSV ...) for the summary line
 * ("CSV for Excel"); borrowed, static. */
const char *export_format_name(int format);

/* The summary's note that personal data was masked (when `masked`): one
 * wording for a collection's export and a script's. */
void export_note_masked(FILE *msg, int masked);

#endif

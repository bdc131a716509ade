/*
 * import_int.h — private to `gonghui import` (import.c, import_jsonl.c,
 * import_opts.c): the state of one import (imp) and the row helpers the
 * readers share. Nothing else includes it.
 */
#ifndef GH_IMPORT_INT_H
#define GH_IMPORT_INT_H

#include "import.h"

#include "codec.h"
#include "csvfile.h"
#include "import_cp.h"
#include "store.h"

#include <stdint.h>
#include <stdio.h>

enum { COL_SKIP = -1, COL_EXTRA = -2 };
enum { V_TEXT, V_NUM, V_BOOL, V_NULL, V_RAW }; /* how a value came (JSON knows more) */

typedef struct imp {
    const import_opts *o;
    store *s;
    store_txn *t, *snap;
    const store_coll *c;
    int pd[STORE_MAX_FIELDS];
    unsigned char credit[STORE_MAX_FIELDS]; /* 1: a credit-code field, checked */
    /* columns (CSV header) */
    int header_done, ncols;
    char **colname;
    int *colfield;
    int fieldcol[STORE_MAX_FIELDS];
    /* one row */
    codec_buf rec, vals, extra, tmp, why;
    size_t off[STORE_MAX_FIELDS], len[STORE_MAX_FIELDS];
    unsigned char set[STORE_MAX_FIELDS];
    uint32_t nextra;
    int nbad;
    char badcol[200], badval[200];
    /* totals */
    uint64_t rows, stored, rejected, skipped;
    FILE *rej;
    char *rej_tmp;
    csv_writer rw;
    uint64_t size;
    int fatal;
    int already; /* --resume of an import that finished: nothing left to read */
    /* --chunk: a commit every `chunk` rows, with its checkpoint (import_cp.h) */
    import_cp cp;           /* as of the last commit */
    uint64_t in_chunk;      /* rows handled since then */
    long last_line;         /* the line of the last row read (handled now or before) */
    store_counts *acc;      /* the writes of the committed chunks, per collection */
    codec_buf old, payload; /* change events (events = true): the replaced record, the payload */
    int nacc;
    const char *run_uid;
    /* the line of each row stored by this run, by its key's hash, so that a
     * duplicate names the earlier row (12 bytes a slot, half full at most) */
    uint64_t *seen_h;
    uint32_t *seen_line;
    size_t seen_cap, seen_n;
    int seen_off; /* out of memory once: no more lines are noted */
    /* STORE_INSERT: the index entries are held back, sorted and appended
     * when each transaction commits (store.h's bulk loading) */
    store_bulk *bulk;
} imp;

/* Shared between the import's files; each is described where it is defined. */

/* import.c */
int import_chunk_step(imp *im, long line);
int import_field_by_label(const store_coll *c, const char *name);
void import_problem(imp *im, const char *col, const char *val, size_t vn, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void import_progress(imp *im, uint64_t done);
int import_put_number(codec_buf *out, const char *s, size_t n);
int import_reject(imp *im, long line, int ncells, char **cells, size_t *lens);
int import_row_assemble(imp *im);
void import_row_extra(imp *im, const char *name, int kind, const char *s, size_t n);
void import_row_reset(imp *im);
int import_row_store(imp *im);
void import_row_value(imp *im, int pos, const char *col, int kind, const char *s, size_t n);
/* import_jsonl.c */
int import_jsonl_read(imp *im, csv_info *info);

#endif

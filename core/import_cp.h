/*
 * import_cp.h — where a chunked import stands: the system collection
 * `_imports`, one record per collection and file, so that an import killed
 * part-way goes on with --resume after the last chunk it stored.
 *
 * Built on store.h and codec.h. The record of a chunk
 * is written in the chunk's own write transaction: rows and record are
 * stored together or not at all.
 */
#ifndef GH_IMPORT_CP_H
#define GH_IMPORT_CP_H

#include "store.h"

#include <stdint.h>

#define IMPORT_CP_COLLECTION "_imports"

typedef struct import_cp {
    char name[4200]; /* the key: "COLLECTION FILE" (the file's real path) */
    char sha256[65]; /* of the file when the import began */
    char run[17];    /* the uid of the import that wrote it last */
    int64_t line;    /* rows starting at or before this line of the file are handled */
    int64_t rows, stored, rejected, skipped;
    int64_t rej_bytes; /* length of the rejects file (FILE.rejects.csv.tmp) at the commit */
    int64_t chunk;     /* rows per transaction */
    int finished;
    double started, updated;
} import_cp;

/* Reads checkpoint `name` in t into *out. 0, GH_ENOTFOUND, or GH_E*. */
int import_cp_get(store_txn *t, const char *name, import_cp *out);

/* Writes *cp in write transaction t (defining `_imports` on first use). */
int import_cp_put(store_txn *t, const import_cp *cp);

#endif

/*
 * lmdb_code.c — where LMDB's code lies in this binary, when LMDB is linked
 * in (GH_STATIC_LIBS, issue 18 W6): the fault handler (store_check.c) counts
 * a fault in LMDB's code while a database is open as damage, and finds a
 * shared liblmdb in /proc/self/maps; linked in, LMDB's code is part of the
 * binary's. Each code section of the archive's members is copied whole into
 * the binary, so it starts at the address of a function in it less the
 * function's offset there: tools/lmdb_text.sh reads both, and the section's
 * size, from the archive at configure time (<build>/generated/lmdb_text.h).
 *
 * No lmdb.h (nor store_int.h, which includes it) here: the functions are
 * declared as what they are to this file, addresses in the code (their C
 * types differ, and midl.h is not installed).
 */
#include <stdint.h>

/* as in store_int.h */
int store_lmdb_code(uintptr_t *lo, uintptr_t *hi, int max);

#ifdef GH_LMDB_LINKED_IN

#define GH_LMDB_TEXT(fn, off, size) extern const unsigned char fn[];
#include "lmdb_text.h"
#undef GH_LMDB_TEXT

int store_lmdb_code(uintptr_t *lo, uintptr_t *hi, int max) {
    int n = 0;
#define GH_LMDB_TEXT(fn, off, size)                                                                \
    if (n < max) {                                                                                 \
        lo[n] = (uintptr_t)fn - (uintptr_t)(off);                                                  \
        hi[n] = lo[n] + (uintptr_t)(size);                                                         \
        n++;                                                                                       \
    }
#include "lmdb_text.h"
#undef GH_LMDB_TEXT
    return n;
}

#else

int store_lmdb_code(uintptr_t *lo, uintptr_t *hi, int max) {
    (void)lo, (void)hi, (void)max;
    return -1;
}

#endif

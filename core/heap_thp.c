/*
 * heap_thp.c — a write transaction's dirty pages on transparent huge pages.
 *
 * LMDB keeps every page a write transaction changes in memory of its own
 * (malloc, one 4 KB page at a time) until the commit writes them out. A
 * transaction that writes much (W2: 300,000 ledger entries and events at
 * 1,000,000 members, about 70 MB) faulted in each of those pages one by
 * one, and in this virtual machine a fault costs about as much as the write
 * it serves: system time was a third of the run. Debian's kernel gives huge
 * pages only where asked (transparent_hugepage=madvise), and glibc asks only
 * when told so by GLIBC_TUNABLES=glibc.malloc.hugetlb=1 in the environment
 * at start. So the heap is grown in large steps (M_TOP_PAD) and each step
 * is advised (MADV_HUGEPAGE) as soon as it appears, before malloc hands out
 * most of it: one fault per 2 MB instead of 512.
 *
 * heap_thp_note() from the write path (store_put): the first call sets the
 * step; each a look at the heap's end, and an madvise when it moved.
 * Failures are ignored: without huge pages everything works as before.
 */
#include "heap_thp.h"

#include <malloc.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#define HEAP_STEP ((size_t)32 << 20) /* the heap grows by at least this much */

static uintptr_t advised; /* the heap is advised up to here (0: not started) */

void heap_thp_note(void) {
#ifdef MADV_HUGEPAGE
    uintptr_t top = (uintptr_t)sbrk(0);
    if (!advised) {
        mallopt(M_TOP_PAD, (int)HEAP_STEP);
        advised = top;
    } else if (top > advised) {
        uintptr_t lo = advised & ~(uintptr_t)4095;
        (void)madvise((void *)lo, top - lo, MADV_HUGEPAGE);
        advised = top;
    }
#endif
}

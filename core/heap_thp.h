/* heap_thp.h — a write transaction's dirty pages on transparent huge pages (heap_thp.c). */
#ifndef GH_HEAP_THP_H
#define GH_HEAP_THP_H

void heap_thp_note(void);

#endif

/*
 * scratch.h — unnamed scratch files and whole reads and writes at an offset.
 *
 * The one home of what the bulk loader (store_bulk.c: index entries set
 * aside) and the sorter (lua_sorter.c: sorted runs) both need: a file that
 * no one else can see and that disappears when closed, and I/O that finishes
 * or says why.
 */
#ifndef GH_SCRATCH_H
#define GH_SCRATCH_H

#include <stddef.h>
#include <stdint.h>

/* An unnamed file in dir (O_TMPFILE), or, where the file system has none, a
 * named one ("dir/.gonghui-TAG-XXXXXX") removed at once. An open descriptor,
 * or -1 with errno set. */
int scratch_file(const char *dir, const char *tag);

/* The folder for scratch files when the caller has none: TMPDIR, or /tmp. */
const char *scratch_tmpdir(void);

/* All n bytes written (read) at offset at, retrying on EINTR. 0, or an
 * errno (EIO: a write that wrote nothing, or a file shorter than asked). */
int scratch_pwrite(int fd, const void *p, size_t n, uint64_t at);
int scratch_pread(int fd, void *p, size_t n, uint64_t at);

#endif

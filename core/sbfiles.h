/*
 * sbfiles.h — where a script may read and write files (issue 16, classes 1, 6, 10).
 *
 * The rules, one home for every caller (io.open, io.lines, run.open,
 * run.read_csv, export.*, the plugins' may_write/may_read):
 *
 *  1. A script writes only beneath the output folder (--out), and never
 *     into a protected folder, whatever --out says: a database folder (one
 *     holding data.mdb, lock.mdb or gonghui.lock, or beneath one), scripts/lib,
 *     any folder of the plugin path. It never writes a Lua or plugin file
 *     (*.lua, *.so) nor a file named like LMDB's (data.mdb, lock.mdb): a
 *     script makes data, not code that a later run would load.
 *  2. Writes open the file beneath the output folder one component at a
 *     time with O_NOFOLLOW: no symbolic link is followed, in the folders on
 *     the way or at the file itself (a planted FILE.tmp link included).
 *  3. A script reads only beneath the folders the run names: the script's
 *     folder, scripts/lib, each --in DIR, and the output folder; never inside
 *     a database folder (data.mdb holds every record unmasked).
 *
 * The dirs are real paths (realpath) fixed when the run starts.
 */
#ifndef GH_SBFILES_H
#define GH_SBFILES_H

#include <stddef.h>
#include <sys/types.h>

#define SBFILES_MAX_IN 8

typedef struct sbfiles {
    const char *script_dir, *lib_dir, *out_dir; /* real paths; any may be NULL */
    const char *in_dirs[SBFILES_MAX_IN];
    int nin;
} sbfiles;

/* Opens `path` for writing under rule 1 and 2 with open(2) `flags` (O_WRONLY
 * or O_RDWR, O_CREAT, O_TRUNC, O_APPEND, O_EXCL) and `mode`. The fd (caller
 * closes), or -1 with the reason in why (n bytes); errno is set. */
int sbfiles_open_write(const sbfiles *f, const char *path, int flags, mode_t mode, char *why,
                       size_t n);

/* 0 if `path` may be written (rule 1, and no link on the way), else -1 with
 * the reason in why. Used where another library opens the file itself. */
int sbfiles_check_write(const sbfiles *f, const char *path, char *why, size_t n);

/* 0 if `path` may be read (rule 3), with its real path in real (PATH_MAX
 * bytes) to open; else -1 with the reason in why. A file that does not
 * exist gives -1 with errno ENOENT and the system's message. */
int sbfiles_check_read(const sbfiles *f, const char *path, char *real, char *why, size_t n);

/* 1 if the folder `dir` (a real path) is, or lies inside, a database folder. */
int sbfiles_in_database(const char *dir);

#endif

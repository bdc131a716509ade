/*
 * sbfiles.c — where a script may read and write files (rules in sbfiles.h).
 *
 * Why each rule (issue 16):
 *  - a script run with the default --out (the current folder) could truncate
 *    ./gonghui.db/data.mdb, and the next run started a new empty database;
 *    run from the repository root it rewrote scripts/lib/query.lua, which
 *    later runs loaded. So protected folders are refused by what they are,
 *    not by where --out points.
 *  - realpath() then fopen() follows a link planted after the check, and a
 *    link at FILE.tmp led export.* outside the folder: the file is opened
 *    from the output folder's descriptor one component at a time, each with
 *    O_NOFOLLOW, so no link is ever followed.
 *  - io.open read any file (/etc/shadow, /proc/self/environ, a lottery's
 *    secret seed file): reads are limited to the folders the run names.
 */
#include "sbfiles.h"

#include "err.h"
#include "plugin.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* 1 if real path p is dir or lies beneath it. */
static int beneath(const char *p, const char *dir) {
    if (!dir || !*dir) {
        return 0;
    }
    size_t n = strlen(dir);
    if (n == 1 && dir[0] == '/') {
        return 1;
    }
    return strncmp(p, dir, n) == 0 && (p[n] == 0 || p[n] == '/');
}

static int has_file(const char *dir, const char *name) {
    char p[PATH_MAX];
    struct stat st;
    if (snprintf(p, sizeof p, "%s/%s", dir, name) >= (int)sizeof p) {
        return 0;
    }
    return lstat(p, &st) == 0;
}

int sbfiles_in_database(const char *dir) {
    char d[PATH_MAX];
    snprintf(d, sizeof d, "%s", dir);
    for (;;) {
        if (has_file(d, "data.mdb") || has_file(d, "lock.mdb") || has_file(d, "gonghui.lock")) {
            return 1;
        }
        char *slash = strrchr(d, '/');
        if (!slash || slash == d) {
            return 0;
        }
        *slash = 0;
    }
}

/* 1 if real folder dir is, or lies in, a folder of the plugin path. */
static int in_plugin_dir(const char *dir) {
    const char *p = plugin_path();
    while (p && *p) {
        const char *colon = strchr(p, ':');
        size_t n = colon ? (size_t)(colon - p) : strlen(p);
        char part[PATH_MAX], real[PATH_MAX];
        if (n && n < sizeof part) {
            memcpy(part, p, n);
            part[n] = 0;
            if (realpath(part, real) && beneath(dir, real)) {
                return 1;
            }
        }
        p = colon ? colon + 1 : NULL;
    }
    return 0;
}

static int ends_with(const char *s, const char *tail) {
    size_t n = strlen(s), k = strlen(tail);
    return n >= k && strcasecmp(s + n - k, tail) == 0;
}

/* Splits path into its folder's real path (dir) and its last part (base).
 * -1 with errno when the folder does not exist. */
static int split_real(const char *path, char *dir, char *base) {
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    size_t n = strlen(tmp);
    while (n > 1 && tmp[n - 1] == '/') {
        tmp[--n] = 0;
    }
    char *slash = strrchr(tmp, '/');
    const char *folder = ".";
    if (slash == tmp) {
        folder = "/";
        snprintf(base, PATH_MAX, "%s", tmp + 1);
    } else if (slash) {
        *slash = 0;
        folder = tmp;
        snprintf(base, PATH_MAX, "%s", slash + 1);
    } else {
        snprintf(base, PATH_MAX, "%s", tmp);
    }
    if (!realpath(folder, dir)) {
        return -1;
    }
    return 0;
}

/* Rule 1 on a real folder and a last part: NULL, or what the place is. */
static const char *protected_place(const sbfiles *f, const char *dir, const char *base) {
    if (!base[0] || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
        return _("not a file name");
    }
    if (ends_with(base, ".lua") || ends_with(base, ".so") || strcmp(base, "data.mdb") == 0 ||
        strcmp(base, "lock.mdb") == 0 || strcmp(base, "gonghui.lock") == 0) {
        return _("a program or database file name (scripts write data, not code)");
    }
    if (sbfiles_in_database(dir)) {
        return _("a database folder");
    }
    if (beneath(dir, f->lib_dir)) {
        return _("the shared modules folder scripts/lib");
    }
    if (in_plugin_dir(dir)) {
        return _("a plugin folder");
    }
    return NULL;
}

/* The checks common to both write entries: rel gets the path of the file
 * relative to the output folder. */
static int write_target(const sbfiles *f, const char *path, char *rel, char *why, size_t n) {
    char dir[PATH_MAX], base[PATH_MAX];
    if (!f->out_dir) {
        snprintf(why, n, _("'%s': this run has no output folder (gonghui run --out DIR)"), path);
        errno = EACCES;
        return -1;
    }
    if (split_real(path, dir, base) != 0) {
        snprintf(why, n, _("'%s': its folder cannot be used: %s"), path, strerror(errno));
        return -1;
    }
    if (!beneath(dir, f->out_dir)) {
        snprintf(why, n,
                 _("'%s': scripts write files only in the output folder %s (gonghui run --out "
                   "DIR; default: the current folder)"),
                 path, f->out_dir);
        errno = EACCES;
        return -1;
    }
    const char *what = protected_place(f, dir, base);
    if (what) {
        snprintf(why, n,
                 _("'%s': scripts may not write there: %s (write into a folder of your own "
                   "with gonghui run --out DIR)"),
                 path, what);
        errno = EACCES;
        return -1;
    }
    size_t k = strlen(f->out_dir);
    const char *sub = dir + k + (dir[k] == '/');
    if (k == 1) {
        sub = dir + 1;
    }
    if (snprintf(rel, PATH_MAX, "%s%s%s", sub, *sub ? "/" : "", base) >= PATH_MAX) {
        snprintf(why, n, "'%s': %s", path, strerror(ENAMETOOLONG));
        errno = ENAMETOOLONG;
        return -1;
    }
    return 0;
}

/* Opens rel beneath the folder fd `at`, following no link. */
static int open_nofollow(int at, const char *rel, int flags, mode_t mode) {
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", rel);
    int fd = dup(at);
    char *p = buf;
    for (;;) {
        if (fd < 0) {
            return -1;
        }
        char *slash = strchr(p, '/');
        if (!slash) {
            int r = openat(fd, p, flags | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, mode);
            int e = errno;
            close(fd);
            if (r >= 0) {
                struct stat st;
                if (fstat(r, &st) != 0 || !S_ISREG(st.st_mode)) {
                    close(r);
                    errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
                    return -1;
                }
            }
            errno = e;
            return r;
        }
        *slash = 0;
        int next = openat(fd, p, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int e = errno;
        close(fd);
        errno = e;
        fd = next;
        p = slash + 1;
    }
}

/* The write target `path` opened with `flags` from the output folder down,
 * never through a symbolic link: 0 with *fd (-1 and errno when that open
 * failed: the caller says why), or -1 with why when the name is refused or
 * the output folder cannot be opened. */
static int open_target(const sbfiles *f, const char *path, int flags, mode_t mode, int *fd,
                       char *why, size_t n) {
    char rel[PATH_MAX];
    if (write_target(f, path, rel, why, n) != 0) {
        return -1;
    }
    int at = open(f->out_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (at < 0) {
        snprintf(why, n, "%s: %s", f->out_dir, strerror(errno));
        return -1;
    }
    *fd = open_nofollow(at, rel, flags, mode);
    int e = errno;
    close(at);
    errno = e;
    return 0;
}

int sbfiles_open_write(const sbfiles *f, const char *path, int flags, mode_t mode, char *why,
                       size_t n) {
    int fd;
    if (open_target(f, path, flags, mode, &fd, why, n) != 0) {
        return -1;
    }
    int e = errno;
    if (fd < 0) {
        if (e == ELOOP || e == ENOTDIR) {
            snprintf(why, n,
                     _("'%s': a symbolic link is on the way; scripts write only real files in "
                       "the output folder"),
                     path);
        } else {
            snprintf(why, n, "%s: %s", path, strerror(e));
        }
        errno = e;
        return -1;
    }
    return fd;
}

int sbfiles_check_write(const sbfiles *f, const char *path, char *why, size_t n) {
    int fd; /* no link on the way, nor at the file */
    if (open_target(f, path, O_PATH, 0, &fd, why, n) != 0) {
        return -1;
    }
    int e = errno;
    if (fd >= 0) {
        close(fd);
        return 0;
    }
    if (e == ENOENT) {
        return 0; /* a new file: its folders were walked without links */
    }
    if (e == ELOOP || e == ENOTDIR) {
        snprintf(why, n,
                 _("'%s': a symbolic link is on the way; scripts write only real files in the "
                   "output folder"),
                 path);
    } else if (e != EINVAL && e != EISDIR) {
        snprintf(why, n, "%s: %s", path, strerror(e));
    } else {
        snprintf(why, n, _("'%s': not a plain file"), path);
    }
    errno = e;
    return -1;
}

int sbfiles_check_read(const sbfiles *f, const char *path, char *real, char *why, size_t n) {
    if (!realpath(path, real)) {
        snprintf(why, n, "%s: %s", path, strerror(errno));
        return -1;
    }
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", real);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = 0;
    }
    int ok = beneath(real, f->script_dir) || beneath(real, f->lib_dir) || beneath(real, f->out_dir);
    for (int i = 0; i < f->nin && !ok; i++) {
        ok = beneath(real, f->in_dirs[i]);
    }
    if (!ok) {
        snprintf(why, n,
                 _("'%s': scripts read files only in the script's folder, scripts/lib, the "
                   "output folder and the folders named with gonghui run --in DIR"),
                 path);
        errno = EACCES;
        return -1;
    }
    if (sbfiles_in_database(dir)) {
        snprintf(why, n,
                 _("'%s': a database folder; scripts read the database through db, never its "
                   "files"),
                 path);
        errno = EACCES;
        return -1;
    }
    return 0;
}

/*
 * dbreg.c — the list of databases made by this user (see dbreg.h).
 */
#include "dbreg.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

const char *dbreg_file(void) {
    static char path[PATH_MAX];
    const char *d = getenv("GONGHUI_STATE_DIR");
    if (d && *d) {
        snprintf(path, sizeof path, "%s/databases", d);
    } else if ((d = getenv("XDG_STATE_HOME")) && *d) {
        snprintf(path, sizeof path, "%s/gonghui/databases", d);
    } else if ((d = getenv("HOME")) && *d) {
        snprintf(path, sizeof path, "%s/.local/state/gonghui/databases", d);
    } else {
        return NULL;
    }
    return path;
}

/* The real path of dir, or of its folder plus its last part when dir is gone. */
static int real_of(const char *dir, char *out) {
    if (realpath(dir, out)) {
        return 0;
    }
    char tmp[PATH_MAX], parent[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", dir);
    size_t n = strlen(tmp);
    while (n > 1 && tmp[n - 1] == '/') {
        tmp[--n] = 0;
    }
    char *slash = strrchr(tmp, '/');
    const char *base = tmp, *folder = ".";
    if (slash) {
        *slash = 0;
        folder = slash == tmp ? "/" : tmp;
        base = slash + 1;
    }
    if (!realpath(folder, parent)) {
        return -1;
    }
    if (snprintf(out, PATH_MAX, "%s%s%s", parent, strcmp(parent, "/") ? "/" : "", base) >=
        PATH_MAX) {
        return -1;
    }
    return 0;
}

int dbreg_needs_create(const char *dir) {
    char p[PATH_MAX];
    struct stat st;
    snprintf(p, sizeof p, "%s/data.mdb", dir);
    /* an LMDB file shorter than its two meta pages and a root holds no
     * gonghui database: a first run killed while creating it, or a file
     * truncated since */
    return stat(p, &st) != 0 || st.st_size < 3 * 4096;
}

/* Whether real is a line of the list. The list is read in one piece and
 * searched for "\nREAL\n": every `gonghui run` asks, and reading it a line
 * at a time was a tenth of an empty run's instructions (issue 18, W6). */
static int listed(const char *real) {
    const char *file = dbreg_file();
    int fd = file ? open(file, O_RDONLY | O_CLOEXEC) : -1;
    if (fd < 0) {
        return 0;
    }
    struct stat st;
    size_t rn = strlen(real), n = 0;
    char *buf = NULL, *want = malloc(rn + 2);
    if (want && fstat(fd, &st) == 0 && st.st_size > 0 && st.st_size < (1 << 26)) {
        buf = malloc((size_t)st.st_size + 2);
    }
    if (buf) {
        buf[0] = '\n';
        ssize_t r;
        while (n < (size_t)st.st_size && (r = read(fd, buf + 1 + n, (size_t)st.st_size - n)) > 0) {
            n += (size_t)r;
        }
        buf[1 + n] = '\n'; /* the last line may have no newline */
        want[0] = '\n';
        memcpy(want + 1, real, rn);
        want[rn + 1] = '\n';
    }
    close(fd);
    int found = buf && memmem(buf, n + 2, want, rn + 2) != NULL;
    free(buf);
    free(want);
    return found;
}

int dbreg_known(const char *dir) {
    char real[PATH_MAX];
    return real_of(dir, real) == 0 && listed(real);
}

/* mkdir -p of the list's folder, 0700 */
static void make_parents(const char *file) {
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s", file);
    for (char *s = p + 1; *s; s++) {
        if (*s == '/') {
            *s = 0;
            mkdir(p, 0700);
            *s = '/';
        }
    }
}

void dbreg_note(const char *dir) {
    char real[PATH_MAX];
    const char *file = dbreg_file();
    if (!file || real_of(dir, real) != 0 || listed(real)) {
        return;
    }
    make_parents(file);
    int fd = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
        return;
    }
    flock(fd, LOCK_EX);
    char line[PATH_MAX + 2];
    int n = snprintf(line, sizeof line, "%s\n", real);
    if (n > 0 && (size_t)n < sizeof line && write(fd, line, (size_t)n) != n) {
        /* only a guard: a failed note refuses nothing later */
    }
    close(fd);
}

/*
 * scratch.c — unnamed scratch files and whole reads and writes (scratch.h).
 */
#include "scratch.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int scratch_file(const char *dir, const char *tag) {
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) {
        char path[4200];
        snprintf(path, sizeof path, "%s/.gonghui-%s-XXXXXX", dir, tag);
        if ((fd = mkostemp(path, O_CLOEXEC)) >= 0) {
            unlink(path);
        }
    }
    return fd;
}

const char *scratch_tmpdir(void) {
    const char *tmp = getenv("TMPDIR");
    return tmp && *tmp ? tmp : "/tmp";
}

int scratch_pwrite(int fd, const void *p, size_t n, uint64_t at) {
    const char *c = p;
    while (n > 0) {
        ssize_t k = pwrite(fd, c, n, (off_t)at);
        if (k < 0 && errno == EINTR) {
            continue;
        }
        if (k <= 0) {
            return k < 0 ? errno : EIO;
        }
        c += k, n -= (size_t)k, at += (uint64_t)k;
    }
    return 0;
}

int scratch_pread(int fd, void *p, size_t n, uint64_t at) {
    char *c = p;
    while (n > 0) {
        ssize_t k = pread(fd, c, n, (off_t)at);
        if (k < 0 && errno == EINTR) {
            continue;
        }
        if (k <= 0) {
            return k < 0 ? errno : EIO;
        }
        c += k, n -= (size_t)k, at += (uint64_t)k;
    }
    return 0;
}

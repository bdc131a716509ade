/*
 * fuzz_mdb.c — libFuzzer target for `gonghui check` on damaged databases
 * (issue 16, class 5): the input is a whole data.mdb file.
 *
 * Built with clang -fsanitize=fuzzer,address,undefined by run_fuzz.sh, and
 * with the project compiler into fuzz_mdb_replay (replay.c), which runs the
 * seed corpus in tests/fuzz/corpus/mdb/ (a small real database, and copies
 * of it cut short and with bytes flipped) on every ctest run.
 *
 * The input is written as data.mdb into a scratch folder and checked with
 * store_check_path, the function `gonghui check` calls. Property: it
 * returns (damage is a report, never a crash of the caller) with either no
 * problems, problems found, or "not a database". LMDB maps the file and
 * trusts it, so store_check_path reads the meta pages first and does the
 * rest in a child process; a crash there is reported as damage.
 */
#include "err.h"
#include "store.h"
#include "fuzz.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[128], file[160], lock[160];

static void cleanup(void) {
    unlink(file);
    unlink(lock);
    rmdir(dir);
}

static void quiet(void *ctx, const char *msg) {
    (void)ctx;
    (void)msg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!dir[0]) {
        const char *tmp = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/gh_fuzz_mdb.%d", tmp && *tmp ? tmp : "/tmp", (int)getpid());
        mkdir(dir, 0700);
        snprintf(file, sizeof file, "%s/data.mdb", dir);
        snprintf(lock, sizeof lock, "%s/lock.mdb", dir);
        atexit(cleanup);
    }
    unlink(lock);
    int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        abort();
    }
    size_t off = 0;
    while (off < size) {
        ssize_t w = write(fd, data + off, size - off);
        if (w <= 0) {
            abort();
        }
        off += (size_t)w;
    }
    close(fd);
    uint64_t problems = 0;
    int rc = store_check_path(dir, quiet, NULL, &problems);
    if (rc != 0 && rc != GH_ENOTDB && rc != GH_ECORRUPT && rc != GH_ELMDB && rc != GH_EVERSION) {
        fprintf(stderr, "fuzz_mdb: unexpected result %d: %s\n", rc, err_msg(rc));
        abort();
    }
    err_clear();
    return 0;
}

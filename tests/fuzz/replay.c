/*
 * replay.c — runs a libFuzzer target over saved inputs without libFuzzer.
 *
 * Linked with fuzz_value.c or fuzz_key.c into fuzz_*_replay, so every ctest
 * run (gcc, optionally with ASan/UBSan) replays the seed corpus and any crash
 * inputs saved there. Usage: fuzz_x_replay PATH...; each PATH is a file or a
 * directory whose regular files are read (not recursively). Each input is
 * copied into a buffer of exactly its size so a sanitizer sees any over-read.
 * Exit status: 0 if at least one input ran and every path could be read;
 * a failed check in the target aborts.
 */
#include "fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Reads the whole file at `path` and hands it to the target; 0 or -1. */
static int run_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t cap = 4096, n = 0;
    unsigned char *buf = malloc(cap);
    if (!buf) {
        fclose(f);
        fprintf(stderr, "replay: out of memory\n");
        return -1;
    }
    for (;;) {
        if (n == cap) {
            unsigned char *p = realloc(buf, cap * 2);
            if (!p) {
                free(buf);
                fclose(f);
                fprintf(stderr, "replay: out of memory\n");
                return -1;
            }
            buf = p;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            break;
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        fprintf(stderr, "replay: %s: read error\n", path);
        return -1;
    }
    /* exact-size copy (at least one byte, so an empty input is not a NULL pointer) */
    unsigned char *exact = malloc(n ? n : 1);
    if (!exact) {
        free(buf);
        fprintf(stderr, "replay: out of memory\n");
        return -1;
    }
    if (n) {
        memcpy(exact, buf, n);
    }
    free(buf);
    LLVMFuzzerTestOneInput(exact, n);
    free(exact);
    return 0;
}

int main(int argc, char **argv) {
    int failed = 0;
    size_t ran = 0;
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE-OR-DIR...\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
            failed = 1;
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            if (run_file(argv[i]) == 0) {
                ran++;
            } else {
                failed = 1;
            }
            continue;
        }
        DIR *dir = opendir(argv[i]);
        if (!dir) {
            fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
            failed = 1;
            continue;
        }
        struct dirent *de;
        while ((de = readdir(dir)) != NULL) {
            if (de->d_name[0] == '.') {
                continue; /* ., .., and hidden files such as .gitkeep */
            }
            size_t len = strlen(argv[i]) + strlen(de->d_name) + 2;
            char *path = malloc(len);
            if (!path) {
                fprintf(stderr, "replay: out of memory\n");
                failed = 1;
                break;
            }
            snprintf(path, len, "%s/%s", argv[i], de->d_name);
            if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
                if (run_file(path) == 0) {
                    ran++;
                } else {
                    failed = 1;
                }
            }
            free(path);
        }
        closedir(dir);
    }
    printf("replay: %zu input(s)\n", ran);
    if (ran == 0) {
        fprintf(stderr, "replay: no inputs found\n");
        return 1;
    }
    return failed;
}

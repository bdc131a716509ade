/*
 * fuzz.h — what every libFuzzer target in tests/fuzz shares: the entry point
 * libFuzzer (or replay.c, without it) calls, and CHECK, which aborts with
 * file, line and the condition when a property is violated (libFuzzer
 * reports the abort as a crash and saves the input).
 */
#ifndef GH_FUZZ_H
#define GH_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#endif

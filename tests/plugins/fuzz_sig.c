/*
 * fuzz_sig.c — libFuzzer target for signature strings (core/ghffi.c).
 *
 * Built with the project compiler into fuzz_sig_replay (tests/fuzz/replay.c),
 * which runs the seed corpus tests/plugins/corpus_sig/ on every ctest run
 * (under ASan/UBSan with make asan); with clang it links as a libFuzzer
 * target the same way as tests/fuzz/fuzz_*.c.
 *
 * The input, cut at its first NUL, is parsed as a signature. Properties:
 *  1. ghffi_parse never reads past the string, never crashes, and fails with
 *     a message (err_msg) that quotes the signature;
 *  2. a signature that parses formats to a canonical string that parses to
 *     the same signature, and formats to itself (a fixed point);
 *  3. a parsed signature has at most GH_MAX_ARGS arguments, none of them
 *     void or err, and its C argument count is nargs + bytes args + err.
 */
#include "err.h"
#include "ghffi.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *s = malloc(size + 1);
    if (!s) {
        return 0;
    }
    memcpy(s, data, size);
    s[size] = 0;
    ghffi_sig a, b;
    if (ghffi_parse(s, &a) != 0) {
        const char *m = err_msg(GH_EINVAL);
        if (!m || !strstr(m, "signature")) {
            abort();
        }
        free(s);
        return 0;
    }
    if (a.nargs > GH_MAX_ARGS || a.ret == GHFFI_ERR) {
        abort();
    }
    unsigned want = (unsigned)a.nargs + (a.has_err ? 1u : 0u);
    for (int i = 0; i < a.nargs; i++) {
        if (a.args[i] == GHFFI_VOID || a.args[i] == GHFFI_ERR) {
            abort();
        }
        want += a.args[i] == GHFFI_BYTES;
    }
    if (want != a.ncargs) {
        abort();
    }
    char c1[512], c2[512];
    ghffi_format(&a, c1, sizeof c1);
    if (ghffi_parse(c1, &b) != 0) {
        abort();
    }
    ghffi_format(&b, c2, sizeof c2);
    if (strcmp(c1, c2) != 0 || b.nargs != a.nargs || b.ret != a.ret || b.has_err != a.has_err ||
        memcmp(b.args, a.args, sizeof a.args[0] * (size_t)a.nargs) != 0) {
        abort();
    }
    free(s);
    return 0;
}

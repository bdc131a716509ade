/*
 * ffi_add.c — the C function both sides of bench/ffi_call.c call: compiled
 * into the benchmark plugin (ffibench.so, called through libffi) and into
 * the benchmark binary (called by a hand-written lua_CFunction).
 */
#include "ffi_add.h"

int64_t ffi_add(int64_t a, int64_t b) {
    return a + b;
}

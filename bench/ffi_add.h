/* ffi_add.h — see ffi_add.c. */
#ifndef GH_BENCH_FFI_ADD_H
#define GH_BENCH_FFI_ADD_H

#include <stdint.h>

__attribute__((noinline)) int64_t ffi_add(int64_t a, int64_t b);

#endif

/*
 * ghffi.h — signature strings of plugin functions and calls through libffi.
 *
 * Calls libffi only; knows nothing of Lua or of
 * plugins. Prefix ghffi_, and the file is not ffi.h: libffi owns ffi_
 * and <ffi.h>, which a core/ffi.h would shadow (core/ is on the include
 * path).
 *
 * The type language is documented in include/gonghui/plugin.h
 * ("Signatures"). Invariants:
 *   1. a ghffi_sig is complete (cif prepared) or ghffi_parse failed and it
 *      must not be used;
 *   2. ghffi_call only moves bytes: no allocation, no Lua, nothing that can
 *      unwind; argument checking happens before it, result conversion after;
 *   3. sig->direct != 0 only for a signature whose exact C prototype is in
 *      the table of ghffi.c: the call then goes through a function pointer
 *      of that very type (C11 6.3.2.3p8), not through ffi_call, whose
 *      per-call argument classification costs more than a whole
 *      hand-written Lua binding (bench/ffi_call.c). Every other signature,
 *      and every signature when GONGHUI_FFI_GENERIC is set in the
 *      environment, is called by ffi_call on the prepared cif.
 */
#ifndef GH_GHFFI_H
#define GH_GHFFI_H

#include <gonghui/plugin.h>

#include <ffi.h>
#include <stddef.h>
#include <stdint.h>

typedef enum ghffi_type {
    GHFFI_VOID,
    GHFFI_BOOL,
    GHFFI_I32,
    GHFFI_I64,
    GHFFI_U32,
    GHFFI_U64,
    GHFFI_F64,
    GHFFI_STR,
    GHFFI_BYTES,
    GHFFI_ERR,
} ghffi_type;

/* A parsed signature with its libffi call interface. Not movable once
 * prepared (the cif points into it): keep it where ghffi_parse put it. */
typedef struct ghffi_sig {
    ghffi_type ret;
    int nargs;                    /* Lua-visible arguments */
    ghffi_type args[GH_MAX_ARGS]; /* their types */
    int has_err;                  /* a trailing err argument */
    unsigned ncargs;              /* C arguments: bytes counts twice, err once */
    ffi_type *ctypes[GH_MAX_ARGS * 2 + 1];
    ffi_cif cif;
    int direct; /* the prototype's entry in ghffi.c's table of direct calls, or 0 */
} ghffi_sig;

/* One argument or result value. */
typedef union ghffi_value {
    bool b;
    int32_t i32;
    uint32_t u32;
    int64_t i64;
    uint64_t u64;
    double f64;
    const char *str;
    struct {
        const void *data;
        size_t len;
    } bytes;
} ghffi_value;

/* The name of a type ("i64"). */
const char *ghffi_type_name(ghffi_type t);

/* Parses `text` into *sig and prepares its cif. 0, or GH_EINVAL with a
 * message (err_msg) saying where and what is wrong: "unknown type 'int' at
 * character 6 (types: ...)". *sig is written either way but usable only on
 * success. */
int ghffi_parse(const char *text, ghffi_sig *sig);

/* Writes the signature back in canonical form ("i64(str,f64)") into out
 * (n bytes, truncated). */
void ghffi_format(const ghffi_sig *sig, char *out, size_t n);

/* Calls fn with args (sig->nargs values, by the types of sig) and err as
 * the trailing err argument when sig->has_err. *ret gets the result (for
 * GHFFI_STR: str is the plugin's char *; GHFFI_BYTES: the gh_bytes). */
void ghffi_call(const ghffi_sig *sig, gh_fn fn, const ghffi_value *args, gh_err *err,
                ghffi_value *ret);

#endif

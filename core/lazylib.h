/*
 * lazylib.h — what lazylib.c gives beyond the libraries' own functions.
 *
 * lazylib.c defines most functions of libmicrohttpd, libsodium, libffi and
 * libedit under their own names (callers include the libraries' headers
 * and call them as usual); each loads its library on the first call. Two
 * kinds of names cannot be forwarded that way, and callers reach them here:
 *
 * - libffi's type descriptions are data (ffi_type_uint64, ...): a reference
 *   to them from the binary would make the loader map libffi at start;
 * - libedit's el_set and history are variadic with no va_list twin: callers
 *   call the library's own function through the pointer these return
 *   (repl.c: `#define el_set (gh_el_set())`), which is a normal variadic call.
 */
#ifndef GH_LAZYLIB_H
#define GH_LAZYLIB_H

#include <ffi.h>
#include <histedit.h>

enum gh_ffi_t {
    GH_FFI_VOID,
    GH_FFI_UINT8,
    GH_FFI_UINT32,
    GH_FFI_SINT32,
    GH_FFI_UINT64,
    GH_FFI_SINT64,
    GH_FFI_DOUBLE,
    GH_FFI_POINTER,
    GH_FFI__N
};
/* libffi's ffi_type_<t> (loads libffi on the first call). */
ffi_type *gh_ffi_type(enum gh_ffi_t t);

typedef int (*gh_el_set_fn)(EditLine *, int, ...);
typedef int (*gh_history_fn)(History *, HistEvent *, int, ...);
/* libedit's el_set and history (load libedit on the first call). */
gh_el_set_fn gh_el_set(void);
gh_history_fn gh_history(void);

#endif

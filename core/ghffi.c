/*
 * ghffi.c — signature strings and libffi calls for plugin functions.
 *
 * Calls libffi (loaded on first use, lazylib.h).
 *
 * Grammar (spaces allowed around names and punctuation):
 *
 *   signature := type '(' [ arg { ',' arg } ] ')'
 *   arg       := type | 'err' (last only)
 *   type      := void (results only; '(void)' means no arguments)
 *              | bool | i32 | i64 | u32 | u64 | f64 | str | bytes
 *
 * A `bytes` argument is two C arguments (const void *, size_t); a `bytes`
 * result is a gh_bytes struct returned by value; `err` is a gh_err *.
 * Results narrower than a machine word come back in an ffi_arg (libffi's
 * rule) and are narrowed here.
 */
#include "ghffi.h"

#include "err.h"
#include "lazylib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const type_names[] = {"void", "bool", "i32", "i64",   "u32",
                                         "u64",  "f64",  "str", "bytes", "err"};

#define TYPE_LIST "void bool i32 i64 u32 u64 f64 str bytes, and err last"

const char *ghffi_type_name(ghffi_type t) {
    return (unsigned)t < sizeof type_names / sizeof *type_names ? type_names[t] : "?";
}

/* gh_bytes as libffi sees it: { pointer, size_t } */
static ffi_type *bytes_elems[3];
static ffi_type bytes_type;

static ffi_type *size_type(void) {
    return sizeof(size_t) == 8 ? gh_ffi_type(GH_FFI_UINT64) : gh_ffi_type(GH_FFI_UINT32);
}

static ffi_type *ctype_of(ghffi_type t) {
    switch (t) {
    case GHFFI_VOID:
        return gh_ffi_type(GH_FFI_VOID);
    case GHFFI_BOOL:
        return sizeof(bool) == 1 ? gh_ffi_type(GH_FFI_UINT8) : gh_ffi_type(GH_FFI_UINT32);
    case GHFFI_I32:
        return gh_ffi_type(GH_FFI_SINT32);
    case GHFFI_I64:
        return gh_ffi_type(GH_FFI_SINT64);
    case GHFFI_U32:
        return gh_ffi_type(GH_FFI_UINT32);
    case GHFFI_U64:
        return gh_ffi_type(GH_FFI_UINT64);
    case GHFFI_F64:
        return gh_ffi_type(GH_FFI_DOUBLE);
    case GHFFI_STR:
    case GHFFI_ERR:
        return gh_ffi_type(GH_FFI_POINTER);
    case GHFFI_BYTES:
        if (!bytes_elems[0]) { /* once; the host calls from one thread */
            bytes_elems[0] = gh_ffi_type(GH_FFI_POINTER);
            bytes_elems[1] = size_type();
            bytes_elems[2] = NULL;
            bytes_type.size = 0;
            bytes_type.alignment = 0;
            bytes_type.type = FFI_TYPE_STRUCT;
            bytes_type.elements = bytes_elems;
        }
        return &bytes_type;
    }
    return NULL;
}

static const char *skip_space(const char *p) {
    while (*p == ' ' || *p == '\t') {
        p++;
    }
    return p;
}

/* Reads a type name at *pp; -1 with the message set if it is not one. */
static int read_type(const char *text, const char **pp, ghffi_type *out) {
    const char *p = skip_space(*pp), *start = p;
    while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
           *p == '_' || *p == '*') {
        p++;
    }
    size_t n = (size_t)(p - start);
    if (n == 0) {
        return err_set(GH_EINVAL,
                       _("signature \"%s\": a type is missing at character %d (types: %s)"), text,
                       (int)(start - text) + 1, TYPE_LIST);
    }
    for (size_t i = 0; i < sizeof type_names / sizeof *type_names; i++) {
        if (strlen(type_names[i]) == n && memcmp(type_names[i], start, n) == 0) {
            *out = (ghffi_type)i;
            *pp = skip_space(p);
            return 0;
        }
    }
    return err_set(GH_EINVAL,
                   _("signature \"%s\": unknown type '%.*s' at character %d (types: %s)"), text,
                   (int)(n > 40 ? 40 : n), start, (int)(start - text) + 1, TYPE_LIST);
}

/* ---- direct calls (invariant 3) ------------------------------------------------------ */

/* The prototypes called without ffi_call: the shapes plugins declare most
 * (integer arithmetic, a string in and a verdict or a string out, with or
 * without err). X(name, signature, C result type, C parameter types, the
 * result field of ghffi_value, the arguments). */
#define A(i, f) args[i].f
#define GHFFI_DIRECT(X)                                                                            \
    X(V, "void()", void, (void), none, ())                                                         \
    X(I, "i64()", int64_t, (void), i64, ())                                                        \
    X(I_I, "i64(i64)", int64_t, (int64_t), i64, (A(0, i64)))                                       \
    X(I_II, "i64(i64,i64)", int64_t, (int64_t, int64_t), i64, (A(0, i64), A(1, i64)))              \
    X(I_III, "i64(i64,i64,i64)", int64_t, (int64_t, int64_t, int64_t), i64,                        \
      (A(0, i64), A(1, i64), A(2, i64)))                                                           \
    X(F_F, "f64(f64)", double, (double), f64, (A(0, f64)))                                         \
    X(F_FF, "f64(f64,f64)", double, (double, double), f64, (A(0, f64), A(1, f64)))                 \
    X(B_S, "bool(str)", bool, (const char *), b, (A(0, str)))                                      \
    X(I_S, "i64(str)", int64_t, (const char *), i64, (A(0, str)))                                  \
    X(S_S, "str(str)", char *, (const char *), str, (A(0, str)))                                   \
    X(S_SS, "str(str,str)", char *, (const char *, const char *), str, (A(0, str), A(1, str)))     \
    X(B_SE, "bool(str,err)", bool, (const char *, gh_err *), b, (A(0, str), err))                  \
    X(I_SE, "i64(str,err)", int64_t, (const char *, gh_err *), i64, (A(0, str), err))              \
    X(S_SE, "str(str,err)", char *, (const char *, gh_err *), str, (A(0, str), err))               \
    X(S_SSE, "str(str,str,err)", char *, (const char *, const char *, gh_err *), str,              \
      (A(0, str), A(1, str), err))

enum {
    D_GENERIC,
#define X(name, text, rt, params, field, call) D_##name,
    GHFFI_DIRECT(X)
#undef X
};

static int direct_of(const ghffi_sig *sig) {
    static const char *const texts[] = {NULL,
#define X(name, text, rt, params, field, call) text,
                                        GHFFI_DIRECT(X)
#undef X
    };
    const char *generic = getenv("GONGHUI_FFI_GENERIC"); /* read at each load: tests, bench */
    if (generic && *generic && strcmp(generic, "0") != 0) {
        return D_GENERIC;
    }
    char canon[128];
    ghffi_format(sig, canon, sizeof canon);
    for (size_t i = 1; i < sizeof texts / sizeof *texts; i++) {
        if (strcmp(canon, texts[i]) == 0) {
            return (int)i;
        }
    }
    return D_GENERIC;
}

/* Calls fn directly when sig->direct says how; 0 if it did, -1 if not. */
static int call_direct(const ghffi_sig *sig, gh_fn fn, const ghffi_value *args, gh_err *err,
                       ghffi_value *ret) {
    (void)args;
    (void)err;
    switch (sig->direct) {
#define X(name, text, rt, params, field, call)                                                     \
    case D_##name:                                                                                 \
        DIRECT_STORE_##field(((rt(*) params)fn)call);                                              \
        return 0;
#define DIRECT_STORE_none(e) (e)
#define DIRECT_STORE_i64(e) (ret->i64 = (e))
#define DIRECT_STORE_f64(e) (ret->f64 = (e))
#define DIRECT_STORE_b(e) (ret->b = (e))
#define DIRECT_STORE_str(e) (ret->str = (e))
        GHFFI_DIRECT(X)
#undef X
    default:
        return -1;
    }
}
#undef A

int ghffi_parse(const char *text, ghffi_sig *sig) {
    memset(sig, 0, sizeof *sig);
    if (!text) {
        return err_set(GH_EINVAL, _("signature missing (for example \"i64(str,f64)\")"));
    }
    const char *p = text;
    if (read_type(text, &p, &sig->ret)) {
        return GH_EINVAL;
    }
    if (sig->ret == GHFFI_ERR) {
        return err_set(GH_EINVAL,
                       _("signature \"%s\": err is not a result type; it goes last among the "
                         "arguments (\"str(str,err)\")"),
                       text);
    }
    if (*p != '(') {
        return err_set(GH_EINVAL,
                       _("signature \"%s\": expected '(' at character %d (form: "
                         "\"result(arg,arg)\")"),
                       text, (int)(p - text) + 1);
    }
    p = skip_space(p + 1);
    int cargs = 0;
    if (*p != ')') {
        for (;;) {
            ghffi_type t;
            const char *at = p;
            if (read_type(text, &p, &t)) {
                return GH_EINVAL;
            }
            if (t == GHFFI_VOID) {
                if (sig->nargs == 0 && !sig->has_err && *p == ')') {
                    break; /* "(void)": no arguments */
                }
                return err_set(GH_EINVAL,
                               _("signature \"%s\": void at character %d is not an argument type"),
                               text, (int)(at - text) + 1);
            }
            if (sig->has_err) {
                return err_set(GH_EINVAL,
                               _("signature \"%s\": err must be the last argument (character %d)"),
                               text, (int)(at - text) + 1);
            }
            if (t == GHFFI_ERR) {
                sig->has_err = 1;
                sig->ctypes[cargs++] = ctype_of(GHFFI_ERR);
            } else {
                if (sig->nargs == GH_MAX_ARGS) {
                    return err_set(GH_EINVAL, _("signature \"%s\": more than %d arguments"), text,
                                   GH_MAX_ARGS);
                }
                sig->args[sig->nargs++] = t;
                if (t == GHFFI_BYTES) {
                    sig->ctypes[cargs++] = gh_ffi_type(GH_FFI_POINTER);
                    sig->ctypes[cargs++] = size_type();
                } else {
                    sig->ctypes[cargs++] = ctype_of(t);
                }
            }
            if (*p == ',') {
                p++;
                continue;
            }
            if (*p == ')') {
                break;
            }
            return err_set(GH_EINVAL, _("signature \"%s\": expected ',' or ')' at character %d"),
                           text, (int)(p - text) + 1);
        }
    }
    p = skip_space(p + 1);
    if (*p) {
        return err_set(GH_EINVAL, _("signature \"%s\": unexpected '%s' after ')'"), text, p);
    }
    sig->ncargs = (unsigned)cargs;
    sig->direct = direct_of(sig);
    ffi_status st =
        ffi_prep_cif(&sig->cif, FFI_DEFAULT_ABI, sig->ncargs, ctype_of(sig->ret), sig->ctypes);
    if (st != FFI_OK) {
        return err_set(GH_EINVAL,
                       _("signature \"%s\": libffi cannot prepare this call (status %d)"), text,
                       (int)st);
    }
    return 0;
}

void ghffi_format(const ghffi_sig *sig, char *out, size_t n) {
    size_t k = 0;
    if (n == 0) {
        return;
    }
    out[0] = 0;
#define PUT(s)                                                                                     \
    do {                                                                                           \
        int w_ = snprintf(out + k, n - k, "%s", (s));                                              \
        k = w_ < 0 || (size_t)w_ >= n - k ? n - 1 : k + (size_t)w_;                                \
    } while (0)
    PUT(ghffi_type_name(sig->ret));
    PUT("(");
    for (int i = 0; i < sig->nargs; i++) {
        if (i) {
            PUT(",");
        }
        PUT(ghffi_type_name(sig->args[i]));
    }
    if (sig->has_err) {
        PUT(sig->nargs ? ",err" : "err");
    }
    PUT(")");
#undef PUT
}

void ghffi_call(const ghffi_sig *sig, gh_fn fn, const ghffi_value *args, gh_err *err,
                ghffi_value *ret) {
    if (sig->direct) {
        memset(ret, 0, sizeof *ret);
        if (call_direct(sig, fn, args, err, ret) == 0) {
            return;
        }
    }
    void *avalues[GH_MAX_ARGS * 2 + 1];
    /* arguments as the C types want them: bool is one byte, bytes two values */
    union {
        uint8_t b;
        int32_t i32;
        uint32_t u32;
        int64_t i64;
        uint64_t u64;
        double f64;
        const void *p;
        size_t n;
    } cv[GH_MAX_ARGS * 2 + 1];
    unsigned k = 0;
    for (int i = 0; i < sig->nargs; i++) {
        const ghffi_value *a = &args[i];
        switch (sig->args[i]) {
        case GHFFI_BOOL:
            cv[k].b = a->b ? 1 : 0;
            break;
        case GHFFI_I32:
            cv[k].i32 = a->i32;
            break;
        case GHFFI_U32:
            cv[k].u32 = a->u32;
            break;
        case GHFFI_I64:
            cv[k].i64 = a->i64;
            break;
        case GHFFI_U64:
            cv[k].u64 = a->u64;
            break;
        case GHFFI_F64:
            cv[k].f64 = a->f64;
            break;
        case GHFFI_STR:
            cv[k].p = a->str;
            break;
        case GHFFI_BYTES:
            cv[k].p = a->bytes.data;
            avalues[k] = &cv[k];
            k++;
            cv[k].n = a->bytes.len;
            break;
        default:
            cv[k].p = NULL;
            break;
        }
        avalues[k] = &cv[k];
        k++;
    }
    gh_err *errp = err;
    if (sig->has_err) {
        avalues[k++] = &errp;
    }
    union {
        ffi_arg word;
        ffi_sarg sword;
        int64_t i64;
        uint64_t u64;
        double f64;
        void *p;
        gh_bytes bytes;
    } r;
    memset(&r, 0, sizeof r);
    ffi_call((ffi_cif *)&sig->cif, fn, &r, avalues);
    memset(ret, 0, sizeof *ret);
    switch (sig->ret) {
    case GHFFI_BOOL:
        ret->b = (uint8_t)r.word != 0;
        break;
    case GHFFI_I32:
        ret->i32 = (int32_t)r.sword;
        break;
    case GHFFI_U32:
        ret->u32 = (uint32_t)r.word;
        break;
    case GHFFI_I64:
        ret->i64 = r.i64;
        break;
    case GHFFI_U64:
        ret->u64 = r.u64;
        break;
    case GHFFI_F64:
        ret->f64 = r.f64;
        break;
    case GHFFI_STR:
        ret->str = r.p;
        break;
    case GHFFI_BYTES:
        ret->bytes.data = r.bytes.data;
        ret->bytes.len = r.bytes.len;
        break;
    default:
        break;
    }
}

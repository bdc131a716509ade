/*
 * ghffi.c — signature strings and libffi calls for plugin functions.
 *
 * Called by plugin.c (ghffi_parse, when a plugin declares a function) and
 * lua_plugin.c (ghffi_call). Calls libffi.
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

#include <stdio.h>
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
    return sizeof(size_t) == 8 ? &ffi_type_uint64 : &ffi_type_uint32;
}

static ffi_type *ctype_of(ghffi_type t) {
    switch (t) {
    case GHFFI_VOID:
        return &ffi_type_void;
    case GHFFI_BOOL:
        return sizeof(bool) == 1 ? &ffi_type_uint8 : &ffi_type_uint32;
    case GHFFI_I32:
        return &ffi_type_sint32;
    case GHFFI_I64:
        return &ffi_type_sint64;
    case GHFFI_U32:
        return &ffi_type_uint32;
    case GHFFI_U64:
        return &ffi_type_uint64;
    case GHFFI_F64:
        return &ffi_type_double;
    case GHFFI_STR:
    case GHFFI_ERR:
        return &ffi_type_pointer;
    case GHFFI_BYTES:
        if (!bytes_elems[0]) { /* once; the host calls from one thread */
            bytes_elems[0] = &ffi_type_pointer;
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
                       "signature \"%s\": a type is missing at character %d (types: " TYPE_LIST ")",
                       text, (int)(start - text) + 1);
    }
    for (size_t i = 0; i < sizeof type_names / sizeof *type_names; i++) {
        if (strlen(type_names[i]) == n && memcmp(type_names[i], start, n) == 0) {
            *out = (ghffi_type)i;
            *pp = skip_space(p);
            return 0;
        }
    }
    return err_set(GH_EINVAL,
                   "signature \"%s\": unknown type '%.*s' at character %d (types: " TYPE_LIST ")",
                   text, (int)(n > 40 ? 40 : n), start, (int)(start - text) + 1);
}

int ghffi_parse(const char *text, ghffi_sig *sig) {
    memset(sig, 0, sizeof *sig);
    if (!text) {
        return err_set(GH_EINVAL, "signature missing (for example \"i64(str,f64)\")");
    }
    const char *p = text;
    if (read_type(text, &p, &sig->ret)) {
        return GH_EINVAL;
    }
    if (sig->ret == GHFFI_ERR) {
        return err_set(GH_EINVAL,
                       "signature \"%s\": err is not a result type; it goes last among the "
                       "arguments (\"str(str,err)\")",
                       text);
    }
    if (*p != '(') {
        return err_set(GH_EINVAL,
                       "signature \"%s\": expected '(' at character %d (form: "
                       "\"result(arg,arg)\")",
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
                               "signature \"%s\": void at character %d is not an argument type",
                               text, (int)(at - text) + 1);
            }
            if (sig->has_err) {
                return err_set(GH_EINVAL,
                               "signature \"%s\": err must be the last argument (character %d)",
                               text, (int)(at - text) + 1);
            }
            if (t == GHFFI_ERR) {
                sig->has_err = 1;
                sig->ctypes[cargs++] = ctype_of(GHFFI_ERR);
            } else {
                if (sig->nargs == GH_MAX_ARGS) {
                    return err_set(GH_EINVAL, "signature \"%s\": more than %d arguments", text,
                                   GH_MAX_ARGS);
                }
                sig->args[sig->nargs++] = t;
                if (t == GHFFI_BYTES) {
                    sig->ctypes[cargs++] = &ffi_type_pointer;
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
            return err_set(GH_EINVAL, "signature \"%s\": expected ',' or ')' at character %d", text,
                           (int)(p - text) + 1);
        }
    }
    p = skip_space(p + 1);
    if (*p) {
        return err_set(GH_EINVAL, "signature \"%s\": unexpected '%s' after ')'", text, p);
    }
    sig->ncargs = (unsigned)cargs;
    ffi_status st =
        ffi_prep_cif(&sig->cif, FFI_DEFAULT_ABI, sig->ncargs, ctype_of(sig->ret), sig->ctypes);
    if (st != FFI_OK) {
        return err_set(GH_EINVAL, "signature \"%s\": libffi cannot prepare this call (status %d)",
                       text, (int)st);
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

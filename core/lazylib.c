/*
 * lazylib.c — libmicrohttpd and libsodium, loaded when first used.
 *
 * Only `gonghui serve`, `gonghui users` and a few masking paths call these
 * two libraries, but linking them made every command load them at start:
 * libmicrohttpd pulls in GnuTLS and seven more libraries (p11-kit, nettle,
 * hogweed, gmp, idn2, unistring, tasn1), and the dynamic loader's
 * relocations of those were about half of an empty `gonghui run` (issue 18,
 * W6). The binary is therefore not linked with them: this file defines the
 * functions the rest of the core calls, with the headers' own prototypes,
 * and each looks its library up with dlopen on the first call (once, under
 * pthread_once, as the server's threads may get there together). The
 * libraries' sonames come from the build (GH_SONAME_MHD, GH_SONAME_SODIUM:
 * CMakeLists.txt reads them from the libraries found), the Debian packages'
 * Depends name them (dist/CMakeLists.txt).
 *
 * sodium_memzero is done here without the library (explicit_bzero), so
 * masking personal data never loads it.
 *
 * libffi (plugin calls only) and libedit (the REPL only), with libedit's
 * libtinfo, libbsd and libmd, are loaded the same way: five libraries fewer
 * at every start. Their data and variadic names go through lazylib.h.
 */
#include "lazylib.h"

#include "err.h"

#include <dlfcn.h>
#include <microhttpd.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef GH_SONAME_MHD
#define GH_SONAME_MHD "libmicrohttpd.so.12"
#endif
#ifndef GH_SONAME_SODIUM
#define GH_SONAME_SODIUM "libsodium.so.23"
#endif
#ifndef GH_SONAME_FFI
#define GH_SONAME_FFI "libffi.so.8"
#endif
#ifndef GH_SONAME_EDIT
#define GH_SONAME_EDIT "libedit.so.2"
#endif

/* Opens soname and resolves every name in names into fns; a library that
 * cannot be had ends the process with a message (the command needs it). */
static void load(const char *soname, const char *const *names, void **fns, int n) {
    void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr,
                _("gonghui: this command needs the library %s, which could not be loaded (%s); "
                  "reinstall gonghui's package or install the library\n"),
                soname, dlerror());
        exit(1);
    }
    for (int i = 0; i < n; i++) {
        if (!(fns[i] = dlsym(h, names[i]))) {
            fprintf(stderr, _("gonghui: the library %s has no function %s (%s)\n"), soname,
                    names[i], dlerror());
            exit(1);
        }
    }
}

/* ---- libmicrohttpd ------------------------------------------------------------------- */

enum {
    M_ADD_HEADER,
    M_FROM_BUFFER,
    M_FROM_FD,
    M_DESTROY,
    M_VALUES,
    M_INFO,
    M_LOOKUP,
    M_QUEUE,
    M_QUIESCE,
    M_START_VA,
    M_STOP,
    M_SUSPEND,
    M_RESUME,
    M_N
};
static const char *const mhd_names[M_N] = {"MHD_add_response_header",
                                           "MHD_create_response_from_buffer",
                                           "MHD_create_response_from_fd",
                                           "MHD_destroy_response",
                                           "MHD_get_connection_values",
                                           "MHD_get_daemon_info",
                                           "MHD_lookup_connection_value",
                                           "MHD_queue_response",
                                           "MHD_quiesce_daemon",
                                           "MHD_start_daemon_va",
                                           "MHD_stop_daemon",
                                           "MHD_suspend_connection",
                                           "MHD_resume_connection"};
static void *mhd_fns[M_N];
static pthread_once_t mhd_once = PTHREAD_ONCE_INIT;

static void mhd_load(void) {
    load(GH_SONAME_MHD, mhd_names, mhd_fns, M_N);
}

/* The function i of libmicrohttpd, as a pointer of the type F. */
#define MHD_FN(i, F) (pthread_once(&mhd_once, mhd_load), (F)mhd_fns[i])

enum MHD_Result MHD_add_response_header(struct MHD_Response *response, const char *header,
                                        const char *content) {
    return MHD_FN(M_ADD_HEADER, enum MHD_Result(*)(struct MHD_Response *, const char *,
                                                   const char *))(response, header, content);
}

struct MHD_Response *MHD_create_response_from_buffer(size_t size, void *buffer,
                                                     enum MHD_ResponseMemoryMode mode) {
    return MHD_FN(M_FROM_BUFFER, struct MHD_Response *
                                     (*)(size_t, void *, enum MHD_ResponseMemoryMode))(size, buffer,
                                                                                       mode);
}

struct MHD_Response *MHD_create_response_from_fd(size_t size, int fd) {
    return MHD_FN(M_FROM_FD, struct MHD_Response * (*)(size_t, int))(size, fd);
}

void MHD_destroy_response(struct MHD_Response *response) {
    MHD_FN(M_DESTROY, void (*)(struct MHD_Response *))(response);
}

int MHD_get_connection_values(struct MHD_Connection *connection, enum MHD_ValueKind kind,
                              MHD_KeyValueIterator iterator, void *iterator_cls) {
    return MHD_FN(M_VALUES, int (*)(struct MHD_Connection *, enum MHD_ValueKind,
                                    MHD_KeyValueIterator, void *))(connection, kind, iterator,
                                                                   iterator_cls);
}

/* The variadic part is unused by libmicrohttpd for every info type. */
const union MHD_DaemonInfo *MHD_get_daemon_info(struct MHD_Daemon *daemon,
                                                enum MHD_DaemonInfoType info_type, ...) {
    return MHD_FN(M_INFO, const union MHD_DaemonInfo *(*)(struct MHD_Daemon *,
                                                          enum MHD_DaemonInfoType, ...))(daemon,
                                                                                         info_type);
}

const char *MHD_lookup_connection_value(struct MHD_Connection *connection, enum MHD_ValueKind kind,
                                        const char *key) {
    return MHD_FN(M_LOOKUP, const char *(*)(struct MHD_Connection *, enum MHD_ValueKind,
                                            const char *))(connection, kind, key);
}

enum MHD_Result MHD_queue_response(struct MHD_Connection *connection, unsigned int status_code,
                                   struct MHD_Response *response) {
    return MHD_FN(M_QUEUE,
                  enum MHD_Result(*)(struct MHD_Connection *, unsigned int, struct MHD_Response *))(
        connection, status_code, response);
}

MHD_socket MHD_quiesce_daemon(struct MHD_Daemon *daemon) {
    return MHD_FN(M_QUIESCE, MHD_socket(*)(struct MHD_Daemon *))(daemon);
}

struct MHD_Daemon *MHD_start_daemon(unsigned int flags, uint16_t port, MHD_AcceptPolicyCallback apc,
                                    void *apc_cls, MHD_AccessHandlerCallback dh, void *dh_cls,
                                    ...) {
    va_list ap;
    va_start(ap, dh_cls);
    struct MHD_Daemon *d = MHD_FN(
        M_START_VA, struct MHD_Daemon * (*)(unsigned int, uint16_t, MHD_AcceptPolicyCallback,
                                            void *, MHD_AccessHandlerCallback, void *,
                                            va_list))(flags, port, apc, apc_cls, dh, dh_cls, ap);
    va_end(ap);
    return d;
}

void MHD_stop_daemon(struct MHD_Daemon *daemon) {
    MHD_FN(M_STOP, void (*)(struct MHD_Daemon *))(daemon);
}

void MHD_suspend_connection(struct MHD_Connection *connection) {
    MHD_FN(M_SUSPEND, void (*)(struct MHD_Connection *))(connection);
}

void MHD_resume_connection(struct MHD_Connection *connection) {
    MHD_FN(M_RESUME, void (*)(struct MHD_Connection *))(connection);
}

/* ---- libsodium ----------------------------------------------------------------------- */

enum {
    S_INIT,
    S_PWHASH,
    S_VERIFY,
    S_RANDBUF,
    S_RANDOM,
    S_BIN2HEX,
    S_MEMCMP,
    S_HEX2BIN,
    S_HMAC_INIT,
    S_HMAC_UPDATE,
    S_HMAC_FINAL,
    S_GENERICHASH,
    S_N
};
static const char *const sodium_names[S_N] = {"sodium_init",
                                              "crypto_pwhash_str_alg",
                                              "crypto_pwhash_str_verify",
                                              "randombytes_buf",
                                              "randombytes_random",
                                              "sodium_bin2hex",
                                              "sodium_memcmp",
                                              "sodium_hex2bin",
                                              "crypto_auth_hmacsha256_init",
                                              "crypto_auth_hmacsha256_update",
                                              "crypto_auth_hmacsha256_final",
                                              "crypto_generichash"};
static void *sodium_fns[S_N];
static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;

static void sodium_load(void) {
    load(GH_SONAME_SODIUM, sodium_names, sodium_fns, S_N);
}

#define SODIUM_FN(i, F) (pthread_once(&sodium_once, sodium_load), (F)sodium_fns[i])

int sodium_init(void) {
    return SODIUM_FN(S_INIT, int (*)(void))();
}

int crypto_pwhash_str_alg(char out[crypto_pwhash_STRBYTES], const char *const passwd,
                          unsigned long long passwdlen, unsigned long long opslimit,
                          size_t memlimit, int alg) {
    return SODIUM_FN(S_PWHASH, int (*)(char *, const char *, unsigned long long, unsigned long long,
                                       size_t, int))(out, passwd, passwdlen, opslimit, memlimit,
                                                     alg);
}

int crypto_pwhash_str_verify(const char str[crypto_pwhash_STRBYTES], const char *const passwd,
                             unsigned long long passwdlen) {
    return SODIUM_FN(S_VERIFY, int (*)(const char *, const char *, unsigned long long))(str, passwd,
                                                                                        passwdlen);
}

void randombytes_buf(void *const buf, const size_t size) {
    SODIUM_FN(S_RANDBUF, void (*)(void *, size_t))(buf, size);
}

uint32_t randombytes_random(void) {
    return SODIUM_FN(S_RANDOM, uint32_t(*)(void))();
}

char *sodium_bin2hex(char *const hex, const size_t hex_maxlen, const unsigned char *const bin,
                     const size_t bin_len) {
    return SODIUM_FN(S_BIN2HEX, char *(*)(char *, size_t, const unsigned char *, size_t))(
        hex, hex_maxlen, bin, bin_len);
}

int sodium_memcmp(const void *const b1_, const void *const b2_, size_t len) {
    return SODIUM_FN(S_MEMCMP, int (*)(const void *, const void *, size_t))(b1_, b2_, len);
}

int sodium_hex2bin(unsigned char *const bin, const size_t bin_maxlen, const char *const hex,
                   const size_t hex_len, const char *const ignore, size_t *const bin_len,
                   const char **const hex_end) {
    return SODIUM_FN(S_HEX2BIN, int (*)(unsigned char *, size_t, const char *, size_t, const char *,
                                        size_t *, const char **))(bin, bin_maxlen, hex, hex_len,
                                                                  ignore, bin_len, hex_end);
}

int crypto_auth_hmacsha256_init(crypto_auth_hmacsha256_state *state, const unsigned char *key,
                                size_t keylen) {
    return SODIUM_FN(S_HMAC_INIT, int (*)(crypto_auth_hmacsha256_state *, const unsigned char *,
                                          size_t))(state, key, keylen);
}

int crypto_auth_hmacsha256_update(crypto_auth_hmacsha256_state *state, const unsigned char *in,
                                  unsigned long long inlen) {
    return SODIUM_FN(S_HMAC_UPDATE, int (*)(crypto_auth_hmacsha256_state *, const unsigned char *,
                                            unsigned long long))(state, in, inlen);
}

int crypto_auth_hmacsha256_final(crypto_auth_hmacsha256_state *state, unsigned char *out) {
    return SODIUM_FN(S_HMAC_FINAL, int (*)(crypto_auth_hmacsha256_state *, unsigned char *))(state,
                                                                                             out);
}

int crypto_generichash(unsigned char *out, size_t outlen, const unsigned char *in,
                       unsigned long long inlen, const unsigned char *key, size_t keylen) {
    return SODIUM_FN(S_GENERICHASH,
                     int (*)(unsigned char *, size_t, const unsigned char *, unsigned long long,
                             const unsigned char *, size_t))(out, outlen, in, inlen, key, keylen);
}

void sodium_memzero(void *const pnt, const size_t len) {
    explicit_bzero(pnt, len); /* what libsodium does on glibc */
}

/* ---- libffi -------------------------------------------------------------------------- */

enum { F_PREP_CIF, F_CALL, F_N };
static const char *const ffi_names[F_N + GH_FFI__N] = {
    "ffi_prep_cif",    "ffi_call",        "ffi_type_void",   "ffi_type_uint8",  "ffi_type_uint32",
    "ffi_type_sint32", "ffi_type_uint64", "ffi_type_sint64", "ffi_type_double", "ffi_type_pointer"};
static void *ffi_fns[F_N + GH_FFI__N];
static pthread_once_t ffi_once = PTHREAD_ONCE_INIT;

static void ffi_load(void) {
    load(GH_SONAME_FFI, ffi_names, ffi_fns, F_N + GH_FFI__N);
}

#define LAZY_FFI(i, F) (pthread_once(&ffi_once, ffi_load), (F)ffi_fns[i])

ffi_type *gh_ffi_type(enum gh_ffi_t t) {
    return LAZY_FFI(F_N + (int)t, ffi_type *);
}

ffi_status ffi_prep_cif(ffi_cif *cif, ffi_abi abi, unsigned int nargs, ffi_type *rtype,
                        ffi_type **atypes) {
    return LAZY_FFI(F_PREP_CIF, ffi_status(*)(ffi_cif *, ffi_abi, unsigned int, ffi_type *,
                                              ffi_type **))(cif, abi, nargs, rtype, atypes);
}

void ffi_call(ffi_cif *cif, void (*fn)(void), void *rvalue, void **avalue) {
    LAZY_FFI(F_CALL, void (*)(ffi_cif *, void (*)(void), void *, void **))(cif, fn, rvalue, avalue);
}

/* ---- libedit ------------------------------------------------------------------------- */

enum {
    E_INIT,
    E_END,
    E_RESET,
    E_GETS,
    E_SOURCE,
    E_LINE,
    E_INSERTSTR,
    E_DELETESTR,
    E_SET,
    E_HIST_INIT,
    E_HIST_END,
    E_HISTORY,
    E_N
};
static const char *const edit_names[E_N] = {
    "el_init",      "el_end",       "el_reset", "el_gets",      "el_source",   "el_line",
    "el_insertstr", "el_deletestr", "el_set",   "history_init", "history_end", "history"};
static void *edit_fns[E_N];
static pthread_once_t edit_once = PTHREAD_ONCE_INIT;

static void edit_load(void) {
    load(GH_SONAME_EDIT, edit_names, edit_fns, E_N);
}

#define LAZY_EDIT(i, F) (pthread_once(&edit_once, edit_load), (F)edit_fns[i])

gh_el_set_fn gh_el_set(void) {
    return LAZY_EDIT(E_SET, gh_el_set_fn);
}

gh_history_fn gh_history(void) {
    return LAZY_EDIT(E_HISTORY, gh_history_fn);
}

EditLine *el_init(const char *prog, FILE *fin, FILE *fout, FILE *ferr) {
    return LAZY_EDIT(E_INIT, EditLine * (*)(const char *, FILE *, FILE *, FILE *))(prog, fin, fout,
                                                                                   ferr);
}

void el_end(EditLine *e) {
    LAZY_EDIT(E_END, void (*)(EditLine *))(e);
}

void el_reset(EditLine *e) {
    LAZY_EDIT(E_RESET, void (*)(EditLine *))(e);
}

const char *el_gets(EditLine *e, int *count) {
    return LAZY_EDIT(E_GETS, const char *(*)(EditLine *, int *))(e, count);
}

int el_source(EditLine *e, const char *file) {
    return LAZY_EDIT(E_SOURCE, int (*)(EditLine *, const char *))(e, file);
}

const LineInfo *el_line(EditLine *e) {
    return LAZY_EDIT(E_LINE, const LineInfo *(*)(EditLine *))(e);
}

int el_insertstr(EditLine *e, const char *s) {
    return LAZY_EDIT(E_INSERTSTR, int (*)(EditLine *, const char *))(e, s);
}

void el_deletestr(EditLine *e, int n) {
    LAZY_EDIT(E_DELETESTR, void (*)(EditLine *, int))(e, n);
}

History *history_init(void) {
    return LAZY_EDIT(E_HIST_INIT, History * (*)(void))();
}

void history_end(History *h) {
    LAZY_EDIT(E_HIST_END, void (*)(History *))(h);
}

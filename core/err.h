/*
 * err.h — result codes and the last-error message.
 *
 * Every fallible C function in the core returns 0 or a negative GH_E* code.
 * Codes, names and default messages come from the one X-macro list below
 * (the libuv habit). The human detail (which collection, field, value) is
 * formatted once, where the failure is found, into a thread-local buffer
 * with err_set(); callers read it with err_msg() until the next err_set().
 */
#ifndef GH_ERR_H
#define GH_ERR_H

/* _(), _n() and N_(): the translation of messages a person reads (gettext). */
#include "i18n.h"

#define GH_ERRORS(X)                                                                               \
    X(NOMEM, -1, N_("out of memory"))                                                              \
    X(IO, -2, N_("input/output error"))                                                            \
    X(NOTDB, -3, N_("not a gonghui database"))                                                     \
    X(VERSION, -4, N_("database written by a newer gonghui"))                                      \
    X(CORRUPT, -5, N_("corrupt data"))                                                             \
    X(TYPE, -6, N_("wrong type"))                                                                  \
    X(UNKNOWN, -7, N_("unknown name"))                                                             \
    X(MISSING, -8, N_("required value missing"))                                                   \
    X(EXISTS, -9, N_("already exists"))                                                            \
    X(NOTFOUND, -10, N_("not found"))                                                              \
    X(TOOBIG, -11, N_("value too large"))                                                          \
    X(SCHEMA, -12, N_("incompatible definition"))                                                  \
    X(INVAL, -13, N_("invalid argument"))                                                          \
    X(MAPFULL, -14, N_("database map full"))                                                       \
    X(BUSY, -15, N_("busy"))                                                                       \
    X(LMDB, -16, N_("storage engine error"))                                                       \
    X(TXN, -17, N_("transaction state error"))

enum {
    GH_OK = 0,
#define GH_ERR_ENUM(name, code, msg) GH_E##name = (code),
    GH_ERRORS(GH_ERR_ENUM)
#undef GH_ERR_ENUM
};

/* The short constant name of a code ("EXISTS"); "UNKNOWN_CODE" for others. */
const char *err_name(int code);

/* The default message of a code, translated. */
const char *err_default(int code);

/* Formats the detail of the failure being returned and returns `code`, so a
 * failing path can end with `return err_set(GH_EEXISTS, "...", ...)`. */
int err_set(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prefixes the current message with "prefix: " (adding context on the way up). */
void err_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The message of the last err_set() on this thread (borrowed, valid until the
 * next err_set()/err_prefix()); the default message of `code` if none was set
 * since err_clear(). */
const char *err_msg(int code);

/* Forgets the current message. */
void err_clear(void);

#endif

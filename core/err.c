/*
 * err.c — names, default messages and the thread-local last-error buffer.
 */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char err_buf[1024];

const char *err_name(int code) {
    switch (code) {
    case 0:
        return "OK";
#define GH_ERR_NAME(name, c, msg)                                                                  \
    case c:                                                                                        \
        return #name;
        GH_ERRORS(GH_ERR_NAME)
#undef GH_ERR_NAME
    }
    return "UNKNOWN_CODE";
}

const char *err_default(int code) {
    switch (code) {
    case 0:
        return _("success");
#define GH_ERR_MSG(name, c, msg)                                                                   \
    case c:                                                                                        \
        return _(msg);
        GH_ERRORS(GH_ERR_MSG)
#undef GH_ERR_MSG
    }
    return _("unknown error");
}

int err_set(int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err_buf, sizeof err_buf, fmt, ap);
    va_end(ap);
    return code;
}

void err_prefix(const char *fmt, ...) {
    char pre[256], old[sizeof err_buf];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    memcpy(old, err_buf, sizeof old);
    size_t n = strlen(pre);
    if (n > sizeof err_buf - 3) {
        n = sizeof err_buf - 3;
    }
    memcpy(err_buf, pre, n);
    memcpy(err_buf + n, ": ", 2);
    size_t m = strnlen(old, sizeof old);
    if (m > sizeof err_buf - n - 3) {
        m = sizeof err_buf - n - 3;
    }
    memcpy(err_buf + n + 2, old, m);
    err_buf[n + 2 + m] = 0;
}

const char *err_msg(int code) {
    /* a message set in English on a path that is often not an error (a
     * probe) is translated here, when someone reads it: err_set(code, "%s",
     * N_("text")) */
    return err_buf[0] ? _(err_buf) : err_default(code);
}

void err_clear(void) {
    err_buf[0] = 0;
}

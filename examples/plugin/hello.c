/*
 * hello.c — an example native plugin for gonghui, built outside the source
 * tree against the installed header only (pkg-config gonghui-plugin; see the
 * Makefile beside it). Two functions: a greeting and the share of a budget in
 * fen, the error-out convention, and memory through the host.
 *
 *   make                          builds hello.so
 *   gonghui --plugins . run test.lua
 */
#include <gonghui/plugin.h>

#include <stdio.h>
#include <string.h>

static const gh_api *api;

/* "你好, NAME" in memory from the host (which frees it after the copy). */
static char *greet(const char *name) {
    size_t n = strlen(name) + 16;
    char *s = api->alloc(n);
    if (s) {
        snprintf(s, n, "你好, %s", name);
    }
    return s;
}

/* fen / people, rounded down; a Lua error "hello.share: ..." for no people. */
static int64_t share(int64_t fen, int64_t people, gh_err *err) {
    if (people <= 0) {
        api->error(err, "people must be 1 or more, got %lld", (long long)people);
        return 0;
    }
    return fen / people;
}

GH_PLUGIN_EXPORT int gh_plugin_init(const gh_api *a, gh_plugin *p, char **errmsg) {
    (void)errmsg;
    api = a;
    if (gh_plugin_begin(a, p, "hello", "1.0") != GH_PLUGIN_OK) {
        return GH_PLUGIN_ERROR;
    }
    int rc = a->function(p, "greet", "str(str)", GH_FN(greet));
    rc |= a->function(p, "share", "i64(i64,i64,err)", GH_FN(share));
    return rc;
}

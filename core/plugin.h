/*
 * plugin.h — native plugins inside the host: the plugin path, dlopen, the
 * API table (include/gonghui/plugin.h), the ABI check, registrations.
 *
 * One plugin_host per Lua state. Calls ghffi.h (signatures) and dlfcn. Knows nothing of Lua:
 * the host's allocator is handed in (the Lua state's, so plugin memory
 * counts against the run's limit).
 *
 * Life cycle of one plugin (see plugin.c for the numbered invariants):
 *
 *   plugin_load --find--> path --dlopen--> handle --dlsym--> init
 *       --gh_plugin_init--> begin checked, functions registered --> LOADED
 *   every failure on the way: unload hook, registrations freed, dlclose,
 *   GH_E* with the reason in err_msg; nothing of it stays in the host.
 *   plugin_host_free: unload hooks and dlclose of every LOADED plugin.
 */
#ifndef GH_PLUGIN_INTERNAL_H
#define GH_PLUGIN_INTERNAL_H

#include "ghffi.h"

#include <gonghui/plugin.h>

#include <stddef.h>

/* The longest plugin name. */
#define PLUGIN_MAX_NAME 64

/* The allocator plugins allocate through (lua_Alloc's shape). */
typedef void *(*plugin_allocf)(void *ud, void *ptr, size_t osize, size_t nsize);

typedef struct plugin_host plugin_host;
typedef struct gh_plugin plugin;

/* A declared function: borrowed from its plugin, valid until
 * plugin_host_free. */
typedef struct plugin_fn {
    const plugin *owner;
    char *name;
    char *sigtext; /* canonical form, for messages */
    gh_fn fn;
    ghffi_sig sig;
} plugin_fn;

/* Sets the folder given with --plugins (searched first; copied; NULL
 * forgets it). */
void plugin_set_dir(const char *dir);

/* The plugin path as a ':'-separated list, for messages (borrowed, valid
 * until the next call): --plugins, $GONGHUI_PLUGIN_PATH, the build's or
 * installation's plugin folder. */
const char *plugin_path(void);

/* 1 if `name` is a valid plugin name (letters, digits, '_', '-'; at most
 * PLUGIN_MAX_NAME bytes), else 0. */
int plugin_name_ok(const char *name);

/* Finds NAME.so in the plugin path: 0 with the path in out (n bytes),
 * GH_EINVAL for a bad name (a path in it), GH_ENOTFOUND with the places
 * tried in err_msg. */
int plugin_find(const char *name, char *out, size_t n);

/* A host of plugins for one allocator (one Lua state; NULL: malloc, for
 * gonghui's own calls). 0 or GH_ENOMEM; *out is the caller's, freed with
 * plugin_host_free. */
int plugin_host_new(plugin_allocf allocf, void *ud, plugin_host **out);

/* Unloads every plugin (unload hooks, dlclose) and frees the host; NULL is
 * a no-op. Every plugin_fn of this host is gone afterwards. */
void plugin_host_free(plugin_host *h);

/* Loads plugin `name` from the plugin path, or returns the one already
 * loaded. 0 with *out (borrowed, valid until plugin_host_free); else a
 * GH_E* code with the reason in err_msg ("plugin 'x': ..."), and nothing
 * of the plugin left loaded. */
int plugin_load(plugin_host *h, const char *name, plugin **out);

/* The plugin's name and version (borrowed). */
const char *plugin_name(const plugin *p);
const char *plugin_version(const plugin *p);
/* The file it was loaded from (borrowed). */
const char *plugin_file(const plugin *p);

/* The function `name` of p declared with signature `sig` (canonical form,
 * as plugin_fn.sigtext), or NULL: for gonghui's own calls into a plugin. */
const plugin_fn *plugin_func_named(const plugin *p, const char *name, const char *sig);

/* The plugin's functions in declaration order (borrowed). */
int plugin_nfuncs(const plugin *p);
const plugin_fn *plugin_func(const plugin *p, int i);

/* A C event handler a plugin subscribed (borrowed like plugin_fn). */
typedef struct plugin_sub {
    const plugin *owner;
    char *pattern;
    gh_handler fn;
    void *ud;
} plugin_sub;

int plugin_nsubs(const plugin *p);
const plugin_sub *plugin_sub_at(const plugin *p, int i);

/* Calls sub's handler with ev; err (zeroed here) says whether it failed.
 * Makes h the current host for gh_api.alloc during the call; ctx is handed
 * to h's record routines. */
void plugin_deliver(plugin_host *h, const plugin_sub *sub, const gh_event *ev, void *ctx,
                    struct gh_err *e);

/* The loaded plugins of h, in load order. */
int plugin_count(const plugin_host *h);
plugin *plugin_at(const plugin_host *h, int i);

/* Bytes plugins of h hold now through gh_api.alloc. */
size_t plugin_memory(const plugin_host *h);

/* The record routines of the API (gh_api.get ...), done by the embedder
 * (lua_plugin.c: through the calling Lua state's `db`). Each gets the ctx
 * of the running call and reports failure on e (as gh_api.error). */
typedef struct plugin_records {
    int (*get)(void *ctx, struct gh_err *e, const char *coll, const void *key, size_t klen,
               unsigned flags, gh_bytes *out);
    int (*put)(void *ctx, struct gh_err *e, const char *coll, const void *rec, size_t n, int mode);
    int (*del)(void *ctx, struct gh_err *e, const char *coll, const void *key, size_t klen);
    int64_t (*scan)(void *ctx, struct gh_err *e, const char *coll, const void *spec, size_t n,
                    unsigned flags, gh_scan_fn fn, void *ud);
    int64_t (*now)(void *ctx); /* the run's clock, seconds since 1970 */
    int (*may_write)(void *ctx, struct gh_err *e, const char *path);
    int (*may_read)(void *ctx, struct gh_err *e, const char *path);
} plugin_records;

/* Gives h's plugins records (borrowed; NULL: none, the routines refuse). */
void plugin_host_set_records(plugin_host *h, const plugin_records *rec);

/* The error-out record of one call (gh_err): set and msg are zeroed by
 * plugin_call/plugin_deliver, ctx (handed to the record routines) is theirs
 * to set. */
struct gh_err {
    int set;
    char msg[512];
    void *ctx;
};

/* A block from the host's allocator, as gh_api.alloc (for results the
 * record routines hand to plugins). */
void *plugin_alloc(plugin_host *h, size_t n);

/* Calls f with args (checked by the caller against f->sig). 0 with *ret
 * set; GH_EINVAL if the function reported an error through err (message
 * in e->msg), in which case a str/bytes result has been freed already.
 * Makes h the current host for gh_api.alloc during the call; ctx (NULL:
 * no records here) is handed to h's record routines. */
int plugin_call(plugin_host *h, const plugin_fn *f, const ghffi_value *args, void *ctx,
                struct gh_err *e, ghffi_value *ret);

/* Frees a str or bytes result of plugin_call (allocated by the plugin
 * through the host). */
void plugin_free_result(plugin_host *h, void *p);

#endif

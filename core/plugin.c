/*
 * plugin.c — loading native plugins and the API table they get.
 *
 * Calls dlfcn, ghffi.c and err.c. The public side of the API is
 * include/gonghui/plugin.h (the SQLite extension and Redis module APIs are
 * the models: an append-only table handed to one entry point).
 *
 * Invariants:
 *   1. A plugin is found only as NAME.so in a folder of the plugin path;
 *      NAME has no '/', '.' or anything but letters, digits, '_' and '-'.
 *   2. dlopen(RTLD_NOW|RTLD_LOCAL): every symbol is resolved at load, and
 *      nothing of the plugin leaks into the global namespace.
 *   3. A plugin reaches LOADED only if gh_plugin_init returned 0, it called
 *      begin with an API the host provides, and every registration it made
 *      was accepted. Otherwise it is undone completely (unload hook,
 *      registrations freed, dlclose) and the reason is in err_msg.
 *   4. Registrations are accepted only while the plugin is in INIT.
 *   5. Every block a plugin allocates carries a header naming its host and
 *      size, so it is freed through the allocator it came from (the Lua
 *      state's: counted against the run's --memory) whatever host is
 *      current when it is freed.
 *
 * States of one plugin:
 *
 *     (file) --dlopen+dlsym--> INIT --init returns 0, nothing refused--> LOADED
 *                                |                                        |
 *                                +--refused / failed--> undone      plugin_host_free:
 *                                                       (gone)      unload hook, dlclose
 */
#include "plugin.h"

#include "bus.h"
#include "codec.h"
#include "err.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gh_version.h" /* generated: GH_VERSION_FULL */
#include "days.h"
#include "paths.h"

enum { ST_INIT = 1, ST_LOADED = 2 };

struct gh_plugin {
    plugin_host *host;
    char name[PLUGIN_MAX_NAME + 1];
    char *version;
    char *path;
    void *handle;
    int state;
    int begun;
    char *why; /* the first refusal during INIT (malloc), or NULL */
    plugin_fn **fns;
    int nfns, capfns;
    void (*unload)(void *ud);
    void *unload_ud;
    plugin_sub **subs;
    int nsubs, capsubs;
};

struct plugin_host {
    plugin_allocf allocf;
    void *ud;
    const plugin_records *rec; /* NULL: no records (the export's host) */
    struct gh_err *call;       /* the innermost running call or handler, or NULL */
    size_t mem;
    plugin **plugins;
    int n, cap;
};

/* The host whose plugin runs now (gh_api.alloc has no context argument). */
static plugin_host *current;

/* ---- memory through the host ------------------------------------------------------ */

typedef union block_head {
    struct {
        plugin_host *h;
        size_t n;
    } s;
    max_align_t align;
} block_head;

static void *h_raw(plugin_host *h, void *p, size_t osize, size_t nsize) {
    if (h && h->allocf) {
        return h->allocf(h->ud, p, osize, nsize);
    }
    if (nsize == 0) {
        free(p);
        return NULL;
    }
    return realloc(p, nsize);
}

static void *api_alloc(size_t n) {
    plugin_host *h = current;
    if (n == 0 || n > SIZE_MAX - sizeof(block_head)) {
        return NULL;
    }
    block_head *b = h_raw(h, NULL, 0, n + sizeof *b);
    if (!b) {
        return NULL;
    }
    b->s.h = h;
    b->s.n = n;
    if (h) {
        h->mem += n;
    }
    return b + 1;
}

static void api_free(void *ptr) {
    if (!ptr) {
        return;
    }
    block_head *b = (block_head *)ptr - 1;
    plugin_host *h = b->s.h;
    if (h) {
        h->mem -= b->s.n;
    }
    h_raw(h, b, b->s.n + sizeof *b, 0);
}

static void *api_realloc(void *ptr, size_t n) {
    if (!ptr) {
        return api_alloc(n);
    }
    if (n == 0 || n > SIZE_MAX - sizeof(block_head)) {
        return NULL;
    }
    block_head *b = (block_head *)ptr - 1;
    plugin_host *h = b->s.h;
    size_t old = b->s.n;
    block_head *nb = h_raw(h, b, old + sizeof *b, n + sizeof *b);
    if (!nb) {
        return NULL;
    }
    nb->s.n = n;
    if (h) {
        h->mem = h->mem - old + n;
    }
    return nb + 1;
}

static char *api_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *c = api_alloc(n);
    if (c) {
        memcpy(c, s, n);
    }
    return c;
}

static char *api_vmprintf(const char *fmt, va_list ap) {
    va_list aq;
    va_copy(aq, ap);
    int n = vsnprintf(NULL, 0, fmt, aq);
    va_end(aq);
    if (n < 0) {
        return NULL;
    }
    char *s = api_alloc((size_t)n + 1);
    if (s) {
        vsnprintf(s, (size_t)n + 1, fmt, ap);
    }
    return s;
}

static char *api_mprintf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *s = api_vmprintf(fmt, ap);
    va_end(ap);
    return s;
}

void plugin_free_result(plugin_host *h, void *p) {
    (void)h;
    api_free(p);
}

size_t plugin_memory(const plugin_host *h) {
    return h->mem;
}

/* ---- registration routines --------------------------------------------------------- */

/* Records the first refusal of a plugin in INIT (printf format). */
static void refuse(plugin *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void refuse(plugin *p, const char *fmt, ...) {
    if (p->why) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    char buf[1024];
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    p->why = strdup(buf);
    if (!p->why) {
        p->why = strdup("out of memory");
    }
}

static int api_begin(gh_plugin *p, uint32_t major, uint32_t minor, size_t size, const char *name,
                     const char *version) {
    if (!p || p->state != ST_INIT) {
        return GH_PLUGIN_ERROR;
    }
    p->begun = 1;
    if (major != GH_API_MAJOR) {
        refuse(p,
               "it was built for plugin API %u.%u and this gonghui provides API %d.%d "
               "(gonghui %s; another major version: the table differs); rebuild the plugin "
               "against this gonghui's gonghui/plugin.h (pkg-config gonghui-plugin)%s",
               major, minor, GH_API_MAJOR, GH_API_MINOR, GH_VERSION_FULL,
               major > GH_API_MAJOR ? ", or upgrade gonghui" : "");
        return GH_PLUGIN_ERROR;
    }
    if (minor > GH_API_MINOR || size > sizeof(gh_api)) {
        refuse(p,
               "it was built for plugin API %u.%u, newer than this gonghui's %d.%d (gonghui %s; "
               "it may use routines this gonghui lacks); upgrade gonghui or rebuild the plugin",
               major, minor, GH_API_MAJOR, GH_API_MINOR, GH_VERSION_FULL);
        return GH_PLUGIN_ERROR;
    }
    if (!name || strcmp(name, p->name) != 0) {
        refuse(p, "its file is %s.so but it calls itself '%s' (the file must be NAME.so)", p->name,
               name ? name : "(null)");
        return GH_PLUGIN_ERROR;
    }
    free(p->version);
    p->version = strdup(version ? version : "");
    if (!p->version) {
        refuse(p, "out of memory");
        return GH_PLUGIN_ERROR;
    }
    return GH_PLUGIN_OK;
}

static int fn_name_ok(const char *s) {
    if (!s || !*s || (*s >= '0' && *s <= '9') || strlen(s) > 64) {
        return 0;
    }
    for (; *s; s++) {
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_')) {
            return 0;
        }
    }
    return 1;
}

static void fn_free(plugin_fn *f) {
    if (f) {
        free(f->name);
        free(f->sigtext);
        free(f);
    }
}

static int api_function(gh_plugin *p, const char *name, const char *signature, gh_fn fn) {
    if (!p || p->state != ST_INIT) {
        return GH_PLUGIN_ERROR; /* functions are declared only during gh_plugin_init */
    }
    if (!p->begun) {
        refuse(p, "it declared function '%s' before calling gh_plugin_begin",
               name ? name : "(null)");
        return GH_PLUGIN_ERROR;
    }
    if (p->why) {
        return GH_PLUGIN_ERROR;
    }
    if (!fn_name_ok(name)) {
        refuse(p,
               "function name '%s' is not a name (letters, digits and '_', not starting with a "
               "digit, at most 64)",
               name ? name : "(null)");
        return GH_PLUGIN_ERROR;
    }
    if (!fn) {
        refuse(p, "function '%s' was declared with a NULL pointer", name);
        return GH_PLUGIN_ERROR;
    }
    for (int i = 0; i < p->nfns; i++) {
        if (strcmp(p->fns[i]->name, name) == 0) {
            refuse(p, "it declares function '%s' twice (names must be unique in a plugin)", name);
            return GH_PLUGIN_ERROR;
        }
    }
    plugin_fn *f = calloc(1, sizeof *f);
    if (!f) {
        refuse(p, "out of memory");
        return GH_PLUGIN_ERROR;
    }
    if (ghffi_parse(signature, &f->sig) != 0) {
        refuse(p, "function '%s': %s", name, err_msg(GH_EINVAL));
        free(f);
        return GH_PLUGIN_ERROR;
    }
    char canon[GH_MAX_ARGS * 8 + 16];
    ghffi_format(&f->sig, canon, sizeof canon);
    f->owner = p;
    f->fn = fn;
    f->name = strdup(name);
    f->sigtext = strdup(canon);
    if (!f->name || !f->sigtext || (p->nfns == p->capfns && p->capfns > 4096)) {
        fn_free(f);
        refuse(p, "out of memory (or too many functions)");
        return GH_PLUGIN_ERROR;
    }
    if (p->nfns == p->capfns) {
        int cap = p->capfns ? p->capfns * 2 : 8;
        plugin_fn **nf = realloc(p->fns, (size_t)cap * sizeof *nf);
        if (!nf) {
            fn_free(f);
            refuse(p, "out of memory");
            return GH_PLUGIN_ERROR;
        }
        p->fns = nf;
        p->capfns = cap;
    }
    p->fns[p->nfns++] = f;
    return GH_PLUGIN_OK;
}

static void api_error(gh_err *err, const char *fmt, ...) {
    if (!err || err->set) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    err->set = 1;
}

static int api_on_unload(gh_plugin *p, void (*fn)(void *ud), void *ud) {
    if (!p || p->state != ST_INIT) {
        return GH_PLUGIN_ERROR;
    }
    p->unload = fn;
    p->unload_ud = ud;
    return GH_PLUGIN_OK;
}

static int api_subscribe(gh_plugin *p, const char *pattern, gh_handler fn, void *ud) {
    if (!p || p->state != ST_INIT) {
        return GH_PLUGIN_ERROR; /* only during gh_plugin_init */
    }
    if (!p->begun) {
        refuse(p, "it subscribed to '%s' before calling gh_plugin_begin",
               pattern ? pattern : "(null)");
        return GH_PLUGIN_ERROR;
    }
    if (p->why) {
        return GH_PLUGIN_ERROR;
    }
    if (!pattern || bus_pattern_check(pattern, strlen(pattern)) != 0) {
        refuse(p, "subscribe: %s", pattern ? err_msg(GH_EINVAL) : "the pattern is NULL");
        return GH_PLUGIN_ERROR;
    }
    if (!fn) {
        refuse(p, "subscribe('%s'): the handler is NULL", pattern);
        return GH_PLUGIN_ERROR;
    }
    plugin_sub *s = calloc(1, sizeof *s);
    if (s) {
        s->pattern = strdup(pattern);
    }
    if (p->nsubs == p->capsubs && s && s->pattern) {
        int cap = p->capsubs ? p->capsubs * 2 : 4;
        plugin_sub **ns = cap < 4096 ? realloc(p->subs, (size_t)cap * sizeof *ns) : NULL;
        if (ns) {
            p->subs = ns;
            p->capsubs = cap;
        }
    }
    if (!s || !s->pattern || p->nsubs == p->capsubs) {
        if (s) {
            free(s->pattern);
        }
        free(s);
        refuse(p, "out of memory (or too many subscriptions)");
        return GH_PLUGIN_ERROR;
    }
    s->owner = p;
    s->fn = fn;
    s->ud = ud;
    p->subs[p->nsubs++] = s;
    return GH_PLUGIN_OK;
}

/* ---- records and the clock (API 1.1) -------------------------------------------------- */

/* The host of a call's err, checked: NULL (with the reason set on e when
 * there is an e) when the record routines cannot run here. */
static plugin_host *rec_host(gh_err *e, const char *what) {
    plugin_host *h = current;
    if (!e) {
        return NULL;
    }
    if (e->set) {
        return NULL; /* the call has failed already: nothing more */
    }
    if (!h || !h->rec || !e->ctx) {
        api_error(e,
                  "%s: records are not available here (only in calls from scripts and in "
                  "event handlers)",
                  what);
        return NULL;
    }
    return h;
}

static int rec_args(gh_err *e, const char *what, const char *coll, const void *mp, size_t n,
                    int need) {
    if (!coll || !*coll) {
        api_error(e, "%s: no collection name", what);
        return -1;
    }
    if (coll[0] == '_') {
        api_error(e, "%s: collection '%s' is gonghui's own; plugins cannot reach it", what, coll);
        return -1;
    }
    if (!mp && !need) {
        return 0;
    }
    if (!mp || mp_validate(mp, n) != 0) {
        err_clear();
        api_error(e, "%s: the %s for '%s' is not one well-formed MessagePack value", what,
                  strcmp(what, "put") == 0    ? "record"
                  : strcmp(what, "scan") == 0 ? "spec"
                                              : "key",
                  coll);
        return -1;
    }
    return 0;
}

static int api_get(gh_err *e, const char *coll, const void *key, size_t klen, unsigned flags,
                   gh_bytes *out) {
    if (out) {
        out->data = NULL;
        out->len = 0;
    }
    plugin_host *h = rec_host(e, "get");
    if (!h || rec_args(e, "get", coll, key, klen, 1) != 0) {
        return GH_PLUGIN_ERROR;
    }
    if (!out) {
        api_error(e, "get: no place for the record (out is NULL)");
        return GH_PLUGIN_ERROR;
    }
    return h->rec->get(e->ctx, e, coll, key, klen, flags, out);
}

static int api_put(gh_err *e, const char *coll, const void *rec, size_t n, int mode) {
    plugin_host *h = rec_host(e, "put");
    if (!h || rec_args(e, "put", coll, rec, n, 1) != 0) {
        return GH_PLUGIN_ERROR;
    }
    if (mode != GH_REC_INSERT && mode != GH_REC_PUT && mode != GH_REC_UPDATE) {
        api_error(e, "put: unknown mode %d (GH_REC_INSERT, GH_REC_PUT or GH_REC_UPDATE)", mode);
        return GH_PLUGIN_ERROR;
    }
    return h->rec->put(e->ctx, e, coll, rec, n, mode);
}

static int api_del(gh_err *e, const char *coll, const void *key, size_t klen) {
    plugin_host *h = rec_host(e, "del");
    if (!h || rec_args(e, "del", coll, key, klen, 1) != 0) {
        return GH_PLUGIN_ERROR;
    }
    return h->rec->del(e->ctx, e, coll, key, klen);
}

static int64_t api_scan(gh_err *e, const char *coll, const void *spec, size_t n, unsigned flags,
                        gh_scan_fn fn, void *ud) {
    plugin_host *h = rec_host(e, "scan");
    if (!h || rec_args(e, "scan", coll, spec, n, 0) != 0) {
        return GH_PLUGIN_ERROR;
    }
    if (!fn) {
        api_error(e, "scan: no callback (fn is NULL)");
        return GH_PLUGIN_ERROR;
    }
    return h->rec->scan(e->ctx, e, coll, spec, n, flags, fn, ud);
}

static int64_t api_now(gh_err *e) {
    plugin_host *h = current;
    if (!e && h) {
        e = h->call;
    }
    if (h && h->rec && h->rec->now && e && e->ctx) {
        return h->rec->now(e->ctx);
    }
    return (int64_t)time(NULL);
}

/* A plugin's file access asked of the run that called it (its sandbox's
 * rule), for writing or for reading. */
static int api_may(gh_err *e, const char *path, int write) {
    plugin_host *h = current;
    if (!path || !*path) {
        api_error(e, "no file name");
        return GH_PLUGIN_ERROR;
    }
    int (*may)(void *, struct gh_err *, const char *) = !h || !h->rec ? NULL
                                                        : write       ? h->rec->may_write
                                                                      : h->rec->may_read;
    if (!e || !may || !e->ctx) {
        return GH_PLUGIN_OK; /* gonghui's own call (import, export): its user chose the path */
    }
    return may(e->ctx, e, path);
}

static int api_may_write(gh_err *e, const char *path) {
    return api_may(e, path, 1);
}

static int api_may_read(gh_err *e, const char *path) {
    return api_may(e, path, 0);
}

static int api_date_day(gh_err *e, const char *s, int64_t *day) {
    size_t n = s ? strlen(s) : 0;
    int shape = n == 10 && s[4] == '-' && s[7] == '-';
    for (size_t i = 0; shape && i < n; i++) {
        shape = i == 4 || i == 7 || (s[i] >= '0' && s[i] <= '9');
    }
    if (!shape) {
        api_error(e, _("expects a date YYYY-MM-DD, got '%s'"), s ? s : "");
        return GH_PLUGIN_ERROR;
    }
    if (!codec_is_date(s, n)) {
        api_error(e, _("'%s' is not a real date"), s);
        return GH_PLUGIN_ERROR;
    }
    *day = days_from_date(atoi(s), atoi(s + 5), atoi(s + 8));
    return GH_PLUGIN_OK;
}

static int api_utf8_clean(const char *s, size_t n, char **out, size_t *out_n) {
    if (codec_utf8_valid((const unsigned char *)s, n, NULL)) {
        return 0;
    }
    codec_buf c;
    codec_buf_init(&c);
    codec_utf8_clean(s, n, &c);
    char *copy = c.oom ? NULL : api_alloc(c.len + 1);
    if (copy) {
        memcpy(copy, c.p, c.len);
        copy[c.len] = 0;
        *out = copy;
        *out_n = c.len;
    }
    codec_buf_free(&c);
    return copy ? 1 : -1;
}

void plugin_host_set_records(plugin_host *h, const plugin_records *rec) {
    h->rec = rec;
}

void *plugin_alloc(plugin_host *h, size_t n) {
    plugin_host *saved = current;
    current = h;
    void *p = api_alloc(n);
    current = saved;
    return p;
}

static const gh_api api = {
    .major = GH_API_MAJOR,
    .minor = GH_API_MINOR,
    .size = sizeof(gh_api),
    .begin = api_begin,
    .function = api_function,
    .alloc = api_alloc,
    .realloc = api_realloc,
    .free = api_free,
    .strdup = api_strdup,
    .mprintf = api_mprintf,
    .error = api_error,
    .on_unload = api_on_unload,
    .subscribe = api_subscribe,
    .get = api_get,
    .put = api_put,
    .del = api_del,
    .scan = api_scan,
    .now = api_now,
    .may_write = api_may_write,
    .may_read = api_may_read,
    .day_number = days_from_date,
    .day_date = days_to_date,
    .month_days = days_in_month,
    .date_day = api_date_day,
    .utf8_clean = api_utf8_clean,
};

/* ---- the plugin path ------------------------------------------------------------------ */

static char *opt_dir;

void plugin_set_dir(const char *dir) {
    free(opt_dir);
    opt_dir = dir ? strdup(dir) : NULL;
}

const char *plugin_path(void) {
    static char buf[PATH_MAX * 4];
    size_t k = 0;
    const char *parts[3] = {opt_dir, getenv("GONGHUI_PLUGIN_PATH"), paths_plugins()};
    buf[0] = 0;
    for (int i = 0; i < 3; i++) {
        if (!parts[i] || !parts[i][0]) {
            continue;
        }
        int w = snprintf(buf + k, sizeof buf - k, "%s%s", k ? ":" : "", parts[i]);
        if (w < 0 || (size_t)w >= sizeof buf - k) {
            break;
        }
        k += (size_t)w;
    }
    return buf;
}

int plugin_name_ok(const char *name) {
    size_t n = strlen(name);
    if (n == 0 || n > PLUGIN_MAX_NAME) {
        return 0;
    }
    for (const char *s = name; *s; s++) {
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-')) {
            return 0;
        }
    }
    return 1;
}

int plugin_find(const char *name, char *out, size_t n) {
    if (!plugin_name_ok(name)) {
        return err_set(GH_EINVAL,
                       _("plugin '%s': a plugin name is letters, digits, '_' and '-' (no folders, "
                         "no '.so'); plugins load only from the plugin path (%s)"),
                       name, plugin_path());
    }
    const char *path = plugin_path();
    char tried[2048];
    size_t k = 0;
    tried[0] = 0;
    const char *p = path;
    while (*p) {
        const char *colon = strchr(p, ':');
        size_t len = colon ? (size_t)(colon - p) : strlen(p);
        if (len > 0 && len < PATH_MAX) {
            char file[PATH_MAX + PLUGIN_MAX_NAME + 8];
            snprintf(file, sizeof file, "%.*s/%s.so", (int)len, p, name);
            struct stat st;
            if (stat(file, &st) == 0 && S_ISREG(st.st_mode)) {
                if (strlen(file) >= n) {
                    return err_set(GH_ETOOBIG, _("plugin '%s': path too long"), name);
                }
                memcpy(out, file, strlen(file) + 1);
                return 0;
            }
            int w = snprintf(tried + k, sizeof tried - k, "\n\tno file '%s'", file);
            if (w > 0 && (size_t)w < sizeof tried - k) {
                k += (size_t)w;
            }
        }
        p += len;
        if (*p == ':') {
            p++;
        }
    }
    return err_set(GH_ENOTFOUND,
                   _("plugin '%s' not found in the plugin path (--plugins DIR, "
                     "GONGHUI_PLUGIN_PATH, the plugin folder of the build or installation):%s"),
                   name, k ? tried : " (the path is empty)");
}

/* ---- hosts and loading -------------------------------------------------------------- */

int plugin_host_new(plugin_allocf allocf, void *ud, plugin_host **out) {
    plugin_host *h = calloc(1, sizeof *h);
    if (!h) {
        return GH_ENOMEM;
    }
    h->allocf = allocf;
    h->ud = ud;
    *out = h;
    return 0;
}

/* Undoes a plugin in any state: unload hook, registrations, dlclose. */
static void plugin_undo(plugin *p) {
    plugin_host *saved = current;
    current = p->host;
    if (p->unload) {
        p->unload(p->unload_ud);
    }
    current = saved;
    for (int i = 0; i < p->nfns; i++) {
        fn_free(p->fns[i]);
    }
    free(p->fns);
    for (int i = 0; i < p->nsubs; i++) {
        free(p->subs[i]->pattern);
        free(p->subs[i]);
    }
    free(p->subs);
    if (p->handle) {
        dlclose(p->handle);
    }
    free(p->version);
    free(p->path);
    free(p->why);
    free(p);
}

void plugin_host_free(plugin_host *h) {
    if (!h) {
        return;
    }
    for (int i = h->n - 1; i >= 0; i--) { /* last loaded, first unloaded */
        plugin_undo(h->plugins[i]);
    }
    free(h->plugins);
    if (current == h) {
        current = NULL;
    }
    free(h);
}

/* Refuses a plugin that any user could have replaced or changed, as ssh
 * refuses a key others can write: the file writable by others, or its
 * folder so (a sticky folder such as /tmp lets others add files but not
 * replace this one, and is allowed). Group-writable is left alone: with
 * Debian's private user groups (umask 002) every file is. 0, or an
 * error naming the file or folder, its mode and the chmod that mends it. */
static int loose_mode(const char *name, const char *path) {
    struct stat st;
    char dir[PATH_MAX + PLUGIN_MAX_NAME + 8];
    if (stat(path, &st) == 0 && (st.st_mode & S_IWOTH)) {
        return err_set(GH_EINVAL,
                       _("plugin '%s': %s can be written by any user (mode %04o), so anyone "
                         "could change the code gonghui runs; run chmod o-w %s"),
                       name, path, (unsigned)(st.st_mode & 07777), path);
    }
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = 0;
    } else {
        snprintf(dir, sizeof dir, "%s", slash ? "/" : ".");
    }
    if (stat(dir, &st) == 0 && (st.st_mode & S_IWOTH) && !(st.st_mode & S_ISVTX)) {
        return err_set(GH_EINVAL,
                       _("plugin '%s': its folder %s can be written by any user (mode %04o), "
                         "so anyone could replace it; run chmod o-w %s"),
                       name, dir, (unsigned)(st.st_mode & 07777), dir);
    }
    return 0;
}

int plugin_load(plugin_host *h, const char *name, plugin **out) {
    for (int i = 0; i < h->n; i++) {
        if (strcmp(h->plugins[i]->name, name) == 0) {
            *out = h->plugins[i];
            return 0;
        }
    }
    char path[PATH_MAX + PLUGIN_MAX_NAME + 8];
    int rc = plugin_find(name, path, sizeof path);
    if (rc || (rc = loose_mode(name, path))) {
        return rc;
    }
    if (h->n == h->cap) {
        int cap = h->cap ? h->cap * 2 : 4;
        plugin **np = realloc(h->plugins, (size_t)cap * sizeof *np);
        if (!np) {
            return err_set(GH_ENOMEM, _("plugin '%s': out of memory"), name);
        }
        h->plugins = np;
        h->cap = cap;
    }
    plugin *p = calloc(1, sizeof *p);
    if (!p || !(p->path = strdup(path))) {
        free(p);
        return err_set(GH_ENOMEM, _("plugin '%s': out of memory"), name);
    }
    p->host = h;
    snprintf(p->name, sizeof p->name, "%s", name);
    dlerror();
    p->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!p->handle) {
        const char *e = dlerror();
        rc = err_set(GH_EINVAL, _("plugin '%s': %s cannot be loaded: %s"), name, path,
                     e ? e : "unknown error");
        goto fail;
    }
    union {
        void *obj;
        int (*fn)(const gh_api *, gh_plugin *, char **);
    } init;
    init.obj = dlsym(p->handle, "gh_plugin_init");
    if (!init.obj) {
        rc = err_set(GH_EINVAL,
                     _("plugin '%s': %s has no entry point gh_plugin_init (is it a gonghui "
                       "plugin? the function must be exported with GH_PLUGIN_EXPORT)"),
                     name, path);
        goto fail;
    }
    p->state = ST_INIT;
    char *errmsg = NULL;
    plugin_host *saved = current;
    current = h;
    int irc = init.fn(&api, p, &errmsg);
    current = saved;
    if (p->why) {
        rc = err_set(GH_EINVAL, _("plugin '%s' refused: %s"), name, p->why);
    } else if (!p->begun) {
        rc = err_set(GH_EINVAL,
                     _("plugin '%s' refused: its gh_plugin_init did not call gh_plugin_begin "
                       "first (the host cannot tell which API it was built for)"),
                     name);
    } else if (irc != GH_PLUGIN_OK) {
        rc = err_set(GH_EINVAL, _("plugin '%s' failed to start: %s"), name,
                     errmsg ? errmsg : "its gh_plugin_init gave no reason");
    }
    api_free(errmsg);
    if (rc) {
        goto fail;
    }
    p->state = ST_LOADED;
    h->plugins[h->n++] = p;
    *out = p;
    return 0;
fail:
    plugin_undo(p);
    return rc;
}

const char *plugin_name(const plugin *p) {
    return p->name;
}

const char *plugin_file(const plugin *p) {
    return p->path;
}

const char *plugin_version(const plugin *p) {
    return p->version ? p->version : "";
}

int plugin_nfuncs(const plugin *p) {
    return p->nfns;
}

const plugin_fn *plugin_func_named(const plugin *p, const char *name, const char *sig) {
    for (int i = 0; i < p->nfns; i++) {
        if (strcmp(p->fns[i]->name, name) == 0 && strcmp(p->fns[i]->sigtext, sig) == 0) {
            return p->fns[i];
        }
    }
    return NULL;
}

const plugin_fn *plugin_func(const plugin *p, int i) {
    return p->fns[i];
}

int plugin_nsubs(const plugin *p) {
    return p->nsubs;
}

const plugin_sub *plugin_sub_at(const plugin *p, int i) {
    return p->subs[i];
}

void plugin_deliver(plugin_host *h, const plugin_sub *sub, const gh_event *ev, void *ctx,
                    struct gh_err *e) {
    plugin_host *saved = current;
    struct gh_err *saved_call = h->call;
    current = h;
    e->set = 0;
    e->msg[0] = 0;
    e->ctx = ctx;
    h->call = e;
    sub->fn(sub->ud, ev, e);
    h->call = saved_call;
    current = saved;
}

int plugin_count(const plugin_host *h) {
    return h->n;
}

plugin *plugin_at(const plugin_host *h, int i) {
    return h->plugins[i];
}

int plugin_call(plugin_host *h, const plugin_fn *f, const ghffi_value *args, void *ctx,
                struct gh_err *e, ghffi_value *ret) {
    plugin_host *saved = current;
    struct gh_err *saved_call = h->call;
    current = h;
    e->set = 0;
    e->msg[0] = 0;
    e->ctx = ctx;
    h->call = e;
    ghffi_call(&f->sig, f->fn, args, e, ret);
    h->call = saved_call;
    current = saved;
    if (e->set) {
        if (f->sig.ret == GHFFI_STR) {
            api_free((void *)ret->str);
            ret->str = NULL;
        } else if (f->sig.ret == GHFFI_BYTES) {
            api_free((void *)ret->bytes.data);
            ret->bytes.data = NULL;
        }
        return GH_EINVAL;
    }
    return 0;
}

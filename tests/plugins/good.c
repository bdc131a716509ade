/*
 * good.c — the test plugin `good`: one function per type of the signature
 * language, the error-out convention, memory through the host, and an
 * unload hook. Used by tests/lua/plugins.lua and tests/cli/plugins.sh.
 */
#include <gonghui/plugin.h>

#include <stdio.h>
#include <string.h>

static const gh_api *api;
static int64_t calls;
static void *held; /* memory kept between calls (hold/release) */

static int64_t add(int64_t a, int64_t b) {
    calls++;
    return a + b;
}
static int32_t neg32(int32_t a) {
    return (int32_t)(0u - (uint32_t)a); /* wraps at INT32_MIN instead of overflowing */
}
static uint32_t id_u32(uint32_t a) {
    return a;
}
static uint64_t id_u64(uint64_t a) {
    return a;
}
static uint64_t max_u64(void) {
    return UINT64_MAX;
}
static double half(double x) {
    return x / 2;
}
static bool not_(bool b) {
    return !b;
}
static char *upper(const char *s) {
    char *r = api->strdup(s);
    for (char *p = r; p && *p; p++) {
        if (*p >= 'a' && *p <= 'z') {
            *p = (char)(*p - 'a' + 'A');
        }
    }
    return r;
}
static char *nothing(const char *s) {
    (void)s;
    return NULL;
}
static int64_t blen(const void *p, size_t n) {
    (void)p;
    return (int64_t)n;
}
static gh_bytes rev(const void *p, size_t n) {
    gh_bytes b = {NULL, 0};
    if (n == 0) {
        b.data = api->alloc(1);
        return b;
    }
    unsigned char *d = api->alloc(n);
    if (!d) {
        return b;
    }
    for (size_t i = 0; i < n; i++) {
        d[i] = ((const unsigned char *)p)[n - 1 - i];
    }
    b.data = d;
    b.len = n;
    return b;
}
static char *checked(const char *s, gh_err *err) {
    if (strcmp(s, "bad") == 0) {
        api->error(err, "no good: '%s'", s);
        return api->strdup("this result is freed by the host");
    }
    return api->mprintf("ok %s", s);
}
static void touch(gh_err *err) {
    (void)err;
    calls++;
}
static int64_t count(void) {
    return calls;
}
/* every type at once, more arguments than registers */
static double mixed(int32_t a, int64_t b, uint32_t c, uint64_t d, double e, bool f, const char *g,
                    const void *h, size_t hn, int64_t i) {
    (void)h;
    return (double)a + (double)b + (double)c + (double)d + e + (f ? 1000 : 0) + (double)strlen(g) +
           (double)hn + (double)i;
}
static int64_t sum16(int64_t a1, int64_t a2, int64_t a3, int64_t a4, int64_t a5, int64_t a6,
                     int64_t a7, int64_t a8, int64_t a9, int64_t a10, int64_t a11, int64_t a12,
                     int64_t a13, int64_t a14, int64_t a15, int64_t a16) {
    return a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11 + a12 + a13 + a14 + a15 + a16;
}
static bool hold(int64_t n) {
    api->free(held);
    held = n > 0 ? api->alloc((size_t)n) : NULL;
    if (held) {
        memset(held, 1, (size_t)n);
    }
    return held != NULL;
}
/* a C event handler: counts award.* events, refuses award.refused */
static int64_t nevents;
static char last[128];
static void on_award(void *ud, const gh_event *ev, gh_err *err) {
    if (ev->topic_len == 13 && memcmp(ev->topic, "award.refused", 13) == 0) {
        api->error(err, "award refused by %s", (const char *)ud);
        return;
    }
    nevents++;
    snprintf(last, sizeof last, "%.*s:%zu:%s", (int)ev->topic_len, ev->topic, ev->payload_len,
             ev->seq > 0 && ev->time > 0 ? "logged" : "emitted");
}
static int64_t events(void) {
    return nevents;
}
static char *last_event(void) {
    return api->strdup(last);
}

static void unload(void *ud) {
    (void)ud;
    api->free(held);
    held = NULL;
}

GH_PLUGIN_EXPORT int gh_plugin_init(const gh_api *a, gh_plugin *p, char **errmsg) {
    (void)errmsg;
    api = a;
    if (gh_plugin_begin(a, p, "good", "1.2.3") != GH_PLUGIN_OK) {
        return GH_PLUGIN_ERROR;
    }
    int rc = 0;
    rc |= a->function(p, "add", "i64(i64,i64)", GH_FN(add));
    rc |= a->function(p, "neg32", "i32(i32)", GH_FN(neg32));
    rc |= a->function(p, "id_u32", "u32(u32)", GH_FN(id_u32));
    rc |= a->function(p, "id_u64", "u64(u64)", GH_FN(id_u64));
    rc |= a->function(p, "max_u64", "u64()", GH_FN(max_u64));
    rc |= a->function(p, "half", "f64(f64)", GH_FN(half));
    rc |= a->function(p, "not_", "bool(bool)", GH_FN(not_));
    rc |= a->function(p, "upper", "str(str)", GH_FN(upper));
    rc |= a->function(p, "nothing", " str ( str ) ", GH_FN(nothing));
    rc |= a->function(p, "blen", "i64(bytes)", GH_FN(blen));
    rc |= a->function(p, "rev", "bytes(bytes)", GH_FN(rev));
    rc |= a->function(p, "checked", "str(str,err)", GH_FN(checked));
    rc |= a->function(p, "touch", "void(err)", GH_FN(touch));
    rc |= a->function(p, "count", "i64(void)", GH_FN(count));
    rc |= a->function(p, "mixed", "f64(i32,i64,u32,u64,f64,bool,str,bytes,i64)", GH_FN(mixed));
    rc |= a->function(p, "sum16",
                      "i64(i64,i64,i64,i64,i64,i64,i64,i64,i64,i64,i64,i64,i64,i64,i64,i64)",
                      GH_FN(sum16));
    rc |= a->function(p, "hold", "bool(i64)", GH_FN(hold));
    rc |= a->function(p, "events", "i64()", GH_FN(events));
    rc |= a->function(p, "last_event", "str()", GH_FN(last_event));
    rc |= a->subscribe(p, "award.*", on_award, "good");
    a->on_unload(p, unload, NULL);
    return rc ? GH_PLUGIN_ERROR : GH_PLUGIN_OK;
}

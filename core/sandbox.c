/*
 * sandbox.c — the environment a script runs in, and its limits.
 *
 * Calls the Lua C API, sbfiles.h (file access) and sha256.h.
 *
 * The environment is built from an allow list (the Redis habit), never by
 * deleting from the full one, so a library that grows a function does not
 * grow the sandbox:
 *
 *   base      assert error ipairs next pairs pcall print select
 *             tonumber tostring type rawequal rawlen rawget _VERSION
 *             collectgarbage getmetatable
 *             setmetatable  (no __gc: finalizers run with hooks off)
 *             xpcall        (the handler is skipped once the run stops: an
 *                           error raised by the hook runs it with hooks off)
 *             rawset        (refuses the frozen library tables)
 *             load          (text only; bytecode can crash the VM)
 *             require loadfile dofile  (only the script's folder and scripts/lib)
 *             _ gettext ngettext N_  (messages in the user's language, i18n.h)
 *   string    all but string.dump; frozen; string.rep capped
 *   table math utf8 coroutine   as they are; math.randomseed() without an
 *             argument reseeds with the run's seed
 *   os        time date (the run's clock: its start, or --now, plus the
 *             seconds since) clock difftime
 *   io        write read lines stdout stderr stdin type; io.open and
 *             io.lines read and write only where sbfiles.h allows (reads in
 *             the folders the run names, writes beneath the output folder
 *             but never a database, lib or plugin folder, no link followed)
 *   debug     traceback only
 *   package   loaded, and path/cpath for show (changing them changes nothing);
 *             loaded.parse is lua_parse.c's library (require 'parse')
 *   run       run.open(name, mode): files in the output folder (--out);
 *             run.read_csv and run.write_csv (lua_csv.c): CSV as import and
 *             export read and write it;
 *             run.chunks and run.checkpoint (checkpoint.c), once db exists
 *   plugin    plugin.load & co (lua_plugin.c): native plugins, only from the
 *             plugin path; require finds them there too, after Lua modules
 *
 * Reading a global that does not exist raises an error naming it.
 *
 * Limits:
 *   memory    the allocator counts every block and refuses one that would
 *             pass the cap: Lua raises "not enough memory", which pcall can
 *             catch; the deadline backs that up.
 *   deadline  SIGALRM sets `stop` and then a count hook on the main thread
 *             and every coroutine being resumed (coroutines made later
 *             inherit it); the hook raises on every instruction, so a pcall
 *             that catches the error raises again at its next instruction.
 *             SIGINT and SIGTERM stop the same way. Until a stop no hook is
 *             set (Lua 5.4 checks every instruction while one is).
 *   watchdog  hooks cannot run inside C code (a pathological pattern such
 *             as ('a*'):rep(16)..'b' spends seconds in the matcher), so
 *             SANDBOX_GRACE seconds after a stop that Lua has not honoured
 *             the process ends (_exit): the open LMDB transaction dies with
 *             it, nothing partial is stored. A second Ctrl-C ends at once.
 *   strings   string.rep refuses results over SANDBOX_MAX_STRING (and the
 *             memory cap refuses the rest).
 *   shared    the string metatable is protected (__metatable) and its
 *             __index is a read-only proxy of the string library.
 */
#include "sandbox.h"
#include "sha256.h"

#include "checkpoint.h"
#include "codec.h"
#include "clock.h"
#include "err.h"
#include "lua_bus.h"
#include "lua_csv.h"
#include "lua_lines.h"
#include "lua_parse.h"
#include "lua_sorter.h"
#include "lua_pii.h"
#include "lua_plugin.h"
#include "sbfiles.h"
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <lauxlib.h>
#include <limits.h>
#include <lualib.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define MAX_SOURCE ((size_t)64 << 20) /* largest script or module file read */

/* Small blocks (up to POOL_CLASSES x 16 bytes: strings, tables, rows,
 * closures) freed by Lua are kept on a free list per 16-byte size class and
 * handed out again, which costs a few instructions where malloc and free
 * cost a few hundred for the objects a scan or a loop makes and drops by
 * the million. At most POOL_KEEP blocks per class are kept; the rest go back
 * to free(). Under AddressSanitizer every block goes to malloc and free, so
 * a use after free is still caught. */
#define POOL_CLASSES 32
#define POOL_KEEP 8192
#if defined(__SANITIZE_ADDRESS__)
#define POOL_OFF 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define POOL_OFF 1
#endif
#endif
#ifndef POOL_OFF
#define POOL_OFF 0
#endif
struct pool_block {
    struct pool_block *next;
};

struct sandbox {
    lua_State *L;
    size_t used, peak, cap;
    size_t ext; /* bytes in codec buffers made for the script (codec_set_charge) */
    int mem_hit;
    volatile sig_atomic_t stop, signo, stage, armed;
    double timeout;
    uint64_t seed;
    int64_t now;
    double t0; /* monotonic seconds at sandbox_new: the clock advances from `now` */
    char *script_dir, *lib_dir, *out_dir;
    char *in_dirs[SBFILES_MAX_IN]; /* --in DIR: more folders scripts may read */
    int nin;
    runs_module *mods;
    int nmods, capmods;
    struct sigaction old_int, old_term, old_alrm;
    /* the coroutines being resumed now (innermost last): a stop hooks them
     * too, since a hook set on one thread does not reach another */
    lua_State *running[256]; /* > LUAI_MAXCCALLS: every level of nesting */
    volatile sig_atomic_t nrunning;
    int warn_off, warn_cont; /* warn('@off'); a message continues */
    int outside; /* the script did something a redo would repeat (sandbox_went_outside) */
    int caught;  /* our signal handlers are installed; the old ones saved in old_* */
    /* freed small blocks kept for reuse, by size class (pool_get) */
    struct pool_block *pool[POOL_CLASSES + 1];
    unsigned npool[POOL_CLASSES + 1];
};

static sandbox *active; /* the armed sandbox, for the signal handlers */

static const char frozen_key = 'f'; /* registry: weak set of read-only proxies */

static sandbox *sb_of(lua_State *L) {
    void *ud;
    lua_getallocf(L, &ud);
    return ud;
}

/* ---- memory ---------------------------------------------------------------------- */

/* The size class of a block of n bytes: 1 .. POOL_CLASSES, or 0 (malloc). */
static size_t pool_class(size_t n) {
    return POOL_OFF || n > POOL_CLASSES * 16 ? 0 : (n + 15) >> 4;
}

static void *pool_get(sandbox *sb, size_t n) {
    size_t k = pool_class(n);
    struct pool_block *b = sb->pool[k];
    if (k == 0) {
        return malloc(n);
    }
    if (!b) {
        return malloc(k << 4);
    }
    sb->pool[k] = b->next;
    sb->npool[k]--;
    return b;
}

static void pool_put(sandbox *sb, void *p, size_t n) {
    size_t k = pool_class(n);
    if (k == 0 || sb->npool[k] >= POOL_KEEP) {
        free(p);
        return;
    }
    struct pool_block *b = p;
    b->next = sb->pool[k];
    sb->pool[k] = b;
    sb->npool[k]++;
}

static void pool_drain(sandbox *sb) {
    for (int k = 0; k <= POOL_CLASSES; k++) {
        while (sb->pool[k]) {
            struct pool_block *b = sb->pool[k];
            sb->pool[k] = b->next;
            free(b);
        }
        sb->npool[k] = 0;
    }
}

static void *sb_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    sandbox *sb = ud;
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        if (ptr) {
            pool_put(sb, ptr, old);
        }
        sb->used -= old;
        return NULL;
    }
    if (sb->cap && nsize > old && sb->used - old + nsize + sb->ext > sb->cap) {
        sb->mem_hit = 1;
        return NULL; /* Lua collects and tries once more, then raises */
    }
    void *p;
    size_t ko = ptr ? pool_class(old) : 0, kn = pool_class(nsize);
    if (!ptr) {
        p = pool_get(sb, nsize);
    } else if (ko == 0 && kn == 0) {
        p = realloc(ptr, nsize);
    } else if (ko == kn) {
        p = ptr; /* the block is big enough already */
    } else {
        p = pool_get(sb, nsize);
        if (p) {
            memcpy(p, ptr, old < nsize ? old : nsize);
            pool_put(sb, ptr, old);
        } else if (nsize <= old) {
            p = ptr; /* Lua counts on shrinking never failing; the block is big enough */
        }
    }
    if (!p) {
        return NULL;
    }
    sb->used = sb->used - old + nsize;
    if (sb->used > sb->peak) {
        sb->peak = sb->used;
    }
    return p;
}

/* ---- what a run did outside its transaction --------------------------------------- */

void sandbox_note_outside(lua_State *L) {
    void *ud;
    if (lua_getallocf(L, &ud) == sb_alloc) {
        ((sandbox *)ud)->outside = 1;
    }
}

int sandbox_went_outside(const sandbox *sb) {
    return sb->outside;
}

/* Calls the original function (upvalue 1) with this call's arguments:
 * its results. */
static int call_original(lua_State *L) {
    int n = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, n, LUA_MULTRET);
    return lua_gettop(L);
}

/* A function of the standard library that reaches outside the run (print,
 * io.write, io.read, a file's write): notes it, then calls the original
 * (upvalue 1) with the same arguments. */
static int l_sb_outside(lua_State *L) {
    sandbox_note_outside(L);
    return call_original(L);
}

/* A file method that reads (read, lines): reaching outside only on
 * standard input (upvalue 2), which a redo could not read again. */
static int l_sb_outside_stdin(lua_State *L) {
    if (lua_rawequal(L, 1, lua_upvalueindex(2))) {
        sandbox_note_outside(L);
    }
    return call_original(L);
}

/* Replaces field name of the table at idx by l_sb_outside around it. */
static void wrap_outside(lua_State *L, int idx, const char *name) {
    idx = lua_absindex(L, idx);
    lua_getfield(L, idx, name);
    lua_pushcclosure(L, l_sb_outside, 1);
    lua_setfield(L, idx, name);
}

/* Codec buffers (records, payloads, `any` values being encoded) count
 * against the cap with the Lua state's own memory. */
static int sb_charge(void *ud, size_t add, size_t sub) {
    sandbox *sb = ud;
    if (add > sub && sb->cap && sb->used + sb->ext + (add - sub) > sb->cap) {
        sb->mem_hit = 1;
        return -1;
    }
    sb->ext = sb->ext + add >= sub ? sb->ext + add - sub : 0;
    if (sb->used + sb->ext > sb->peak) {
        sb->peak = sb->used + sb->ext;
    }
    return 0;
}

static int sb_panic(lua_State *L) {
    const char *msg = lua_tostring(L, -1);
    fprintf(stderr, _("gonghui: unprotected Lua error: %s\n"), msg ? msg : "?");
    return 0; /* Lua aborts */
}

/* Lua's warnings (warn(), errors in __close): on from the start (stock lua
 * starts with them off; a batch run has no -W flag and nobody watching), and
 * warn('@off') / warn('@on') switch them as in stock Lua. */
static void sb_warn(void *ud, const char *msg, int tocont) {
    sandbox *sb = ud;
    if (!sb->warn_cont && msg[0] == '@') { /* a control message */
        if (strcmp(msg, "@off") == 0) {
            sb->warn_off = 1;
        } else if (strcmp(msg, "@on") == 0) {
            sb->warn_off = 0;
        }
        return;
    }
    if (!sb->warn_off) {
        fprintf(stderr, "%s%s%s", sb->warn_cont ? "" : _("gonghui: warning: "), msg,
                tocont ? "" : "\n");
    }
    sb->warn_cont = tocont;
}

/* ---- deadline, signals and the watchdog -------------------------------------------------- */

static void stop_hook(lua_State *L, lua_Debug *ar);

/* Resumes co with narg values from L's top, noting the thread while it runs
 * so a stop can hook it: lcorolib.c's auxresume, called directly (through
 * the library's resume with lua_pcall, each level of nested coroutines took
 * three C levels of LUAI_MAXCCALLS instead of one: 66 levels deep, not
 * 197). The results (or the error object) are moved to L; their number,
 * or -1 on an error. */
static int sb_auxresume(lua_State *L, lua_State *co, int narg) {
    sandbox *sb = sb_of(L);
    if (!lua_checkstack(co, narg)) {
        lua_pushliteral(L, "too many arguments to resume");
        return -1;
    }
    int noted = 0;
    if (sb->nrunning < (int)(sizeof sb->running / sizeof *sb->running)) {
        sb->running[sb->nrunning] = co;
        sb->nrunning++;
        noted = 1;
    }
    if (sb->stop) {
        lua_sethook(co, stop_hook, LUA_MASKCOUNT, 1);
    }
    lua_xmove(L, co, narg);
    int nres;
    int status = lua_resume(co, L, narg, &nres);
    if (noted) {
        sb->nrunning--;
    }
    if (status == LUA_OK || status == LUA_YIELD) {
        if (!lua_checkstack(L, nres + 1)) {
            lua_pop(co, nres);
            lua_pushliteral(L, "too many results to resume");
            return -1;
        }
        lua_xmove(co, L, nres);
        return nres;
    }
    lua_xmove(co, L, 1); /* the error object */
    return -1;
}

/* coroutine.resume(co, ...), as the library's. */
static int l_sb_resume(lua_State *L) {
    lua_State *co = lua_tothread(L, 1);
    luaL_argexpected(L, co, 1, "coroutine");
    int r = sb_auxresume(L, co, lua_gettop(L) - 1);
    if (r < 0) {
        lua_pushboolean(L, 0);
        lua_insert(L, -2);
        return 2;
    }
    lua_pushboolean(L, 1);
    lua_insert(L, -(r + 1));
    return r + 1;
}

/* The function coroutine.wrap returns (upvalue 1: the thread), as the
 * library's auxwrap: a coroutine that fails has its to-be-closed variables
 * closed, and its error (with the caller's position) raised. */
static int l_sb_wrapped(lua_State *L) {
    lua_State *co = lua_tothread(L, lua_upvalueindex(1));
    int r = sb_auxresume(L, co, lua_gettop(L));
    if (r < 0) {
        int stat = lua_status(co);
        if (stat != LUA_OK && stat != LUA_YIELD) { /* an error in the coroutine */
            stat = lua_resetthread(co);            /* close its <close> variables */
            lua_xmove(co, L, 1);                   /* the error object after closing */
        }
        if (stat != LUA_ERRMEM && lua_type(L, -1) == LUA_TSTRING) {
            luaL_where(L, 1);
            lua_insert(L, -2);
            lua_concat(L, 2);
        }
        return lua_error(L);
    }
    return r;
}

/* coroutine.wrap(f). */
static int l_sb_wrap(lua_State *L) {
    luaL_checktype(L, 1, LUA_TFUNCTION);
    lua_State *co = lua_newthread(L);
    lua_pushvalue(L, 1);
    lua_xmove(L, co, 1);
    lua_pushcclosure(L, l_sb_wrapped, 1);
    return 1;
}

static void stop_hook(lua_State *L, lua_Debug *ar) {
    (void)ar;
    sandbox *sb = sb_of(L);
    if (!sb->stop || !sb->armed) {
        return;
    }
    /* from now on, every instruction of this thread raises */
    lua_sethook(L, stop_hook, LUA_MASKCOUNT, 1);
    if (sb->stop == SB_TIMEOUT) {
        luaL_error(L, _("the run passed its time limit of %g s (--timeout)"), sb->timeout);
    } else {
        luaL_error(L, _("interrupted"));
    }
}

/* Makes every running thread raise at its next instruction. Called from
 * signal handlers (lua_sethook may be, as lua.c does for Ctrl-C). No hook is
 * set before a stop: an instruction-count hook makes Lua 5.4 check every
 * instruction, which slowed rule loops 2.5 times. */
static void stop_threads(sandbox *sb) {
    lua_sethook(sb->L, stop_hook, LUA_MASKCOUNT, 1);
    for (int i = 0; i < sb->nrunning; i++) {
        lua_sethook(sb->running[i], stop_hook, LUA_MASKCOUNT, 1);
    }
}

static void say(const char *s) {
    ssize_t r = write(2, s, strlen(s));
    (void)r;
}

static void arm_timer(double secs) {
    struct itimerval it = {{0, 0}, {0, 0}};
    it.it_value.tv_sec = (time_t)secs;
    it.it_value.tv_usec = (suseconds_t)((secs - (double)(time_t)secs) * 1e6);
    if (secs > 0 && it.it_value.tv_sec == 0 && it.it_value.tv_usec == 0) {
        it.it_value.tv_usec = 1;
    }
    setitimer(ITIMER_REAL, &it, NULL);
}

static void on_alarm(int sig) {
    (void)sig;
    sandbox *sb = active;
    if (!sb || !sb->armed) {
        return;
    }
    if (sb->stage == 0) { /* the deadline */
        sb->stop = SB_TIMEOUT;
        sb->stage = 1;
        stop_threads(sb);
        arm_timer(SANDBOX_GRACE);
        return;
    }
    /* the watchdog: Lua did not come back to an instruction in time */
    say(_("gonghui: the script did not stop within 2 s (stuck inside a library function, "
          "such as a string pattern that backtracks without end); the process ends now and "
          "nothing of its open transaction is stored\n"));
    _exit(sb->stop == SB_TIMEOUT ? SB_EXIT_TIMEOUT : 128 + sb->signo);
}

static void on_signal(int sig) {
    sandbox *sb = active;
    if (!sb) {
        return;
    }
    if (sb->stop == SB_INTERRUPTED && sb->armed) {
        say(_("\ngonghui: stopped at once; nothing of the open transaction is stored\n"));
        _exit(128 + sig);
    }
    if (!sb->stop) {
        sb->stop = SB_INTERRUPTED;
        sb->signo = sig;
    }
    if (sb->armed) {
        sb->stage = 1;
        stop_threads(sb);
        arm_timer(SANDBOX_GRACE);
    }
}

/* For the store: a wait for another writer's lock stops when the run does. */
static int sb_wait_abort(void) {
    return active && active->armed && active->stop;
}

/* Installs the handlers of SIGINT, SIGTERM and SIGALRM (once: the old ones
 * are saved for sandbox_free), without SA_RESTART: a blocking read returns
 * EINTR, which is how a prompt learns of a Ctrl-C. */
static void catch_signals(sandbox *sb) {
    active = sb;
    if (sb->caught) {
        return;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, &sb->old_int);
    sigaction(SIGTERM, &sa, &sb->old_term);
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, &sb->old_alrm);
    sb->caught = 1;
}

void sandbox_listen(sandbox *sb) {
    sb->timeout = 0; /* a person at the prompt stops a statement with Ctrl-C */
    catch_signals(sb);
}

void sandbox_clear_stop(sandbox *sb) {
    sb->stop = 0;
    sb->signo = 0;
    sb->stage = 0;
}

void sandbox_arm(sandbox *sb) {
    store_set_wait_abort(sb_wait_abort);
    sb->stage = 0;
    sb->armed = 1;
    catch_signals(sb);
    if (sb->stop) { /* stopped before it began (a signal while setting up) */
        stop_threads(sb);
    }
    if (sb->timeout > 0) {
        arm_timer(sb->timeout);
    }
}

void sandbox_disarm(sandbox *sb) {
    if (!sb->armed) {
        return;
    }
    sb->armed = 0;
    store_set_wait_abort(NULL);
    arm_timer(0);
    lua_sethook(sb->L, NULL, 0, 0);
    /* SIGINT/SIGTERM stay noted (not fatal) until sandbox_free, so a
     * Ctrl-C while the run commits or records cannot cut that short */
}

void sandbox_limit(sandbox *sb, double timeout, size_t memory) {
    sb->stop = 0;
    sb->stage = 0;
    sb->timeout = timeout;
    sb->mem_hit = 0;
    sb->cap = memory ? sb->used + memory : 0;
    sb->armed = 1;
}

void sandbox_stop(sandbox *sb) {
    if (sb->armed && !sb->stop) {
        sb->stop = SB_TIMEOUT;
        stop_threads(sb);
    }
}

void sandbox_unlimit(sandbox *sb) {
    sb->armed = 0;
    sb->cap = 0;
    lua_sethook(sb->L, NULL, 0, 0);
    sb->stop = 0;
}

int sandbox_stopped(const sandbox *sb, int *signo) {
    if (signo) {
        *signo = sb->signo;
    }
    return sb->stop;
}

int sandbox_memory_hit(const sandbox *sb) {
    return sb->mem_hit;
}

size_t sandbox_memory_peak(const sandbox *sb) {
    return sb->peak;
}

const runs_module *sandbox_modules(const sandbox *sb, int *n) {
    *n = sb->nmods;
    return sb->mods;
}

/* ---- loading source text ------------------------------------------------------------ */

/* Appends a module (or plugin) to the run's notes; on no memory the note
 * is lost, never the load. */
static void note_module(sandbox *sb, const char *path, const char *sha, const char *plugin) {
    if (sb->nmods == sb->capmods) {
        int cap = sb->capmods ? sb->capmods * 2 : 8;
        runs_module *m = realloc(sb->mods, (size_t)cap * sizeof *m);
        if (!m) {
            return;
        }
        sb->mods = m;
        sb->capmods = cap;
    }
    runs_module *m = &sb->mods[sb->nmods];
    m->path = strdup(path);
    m->plugin = plugin ? strdup(plugin) : NULL;
    if (!m->path || (plugin && !m->plugin)) {
        free(m->path);
        free(m->plugin);
        return;
    }
    snprintf(m->sha256, sizeof m->sha256, "%s", sha);
    sb->nmods++;
}

void sandbox_note_plugin(lua_State *L, const char *path, const char *sha256, const char *plugin) {
    void *ud;
    if (lua_getallocf(L, &ud) == sb_alloc) {
        note_module(ud, path, sha256, plugin);
    }
}

/* Reads a whole file (at most MAX_SOURCE bytes); caller frees. NULL with
 * errno set on failure. */
static char *read_all(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        return NULL;
    }
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            break;
        }
        if (len == cap) {
            char *more = cap >= MAX_SOURCE ? NULL : realloc(buf, cap * 2);
            if (!more) {
                free(buf);
                buf = NULL;
                errno = cap >= MAX_SOURCE ? EFBIG : ENOMEM;
                break;
            }
            buf = more;
            cap *= 2;
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (bad && buf) {
        free(buf);
        errno = EIO;
        return NULL;
    }
    *n = len;
    return buf;
}

/* Loads `path` as text (chunk name "@path"), noting it as a module when
 * `module` is set. 0, or -1 with a message pushed. */
static int load_source(lua_State *L, const char *path, int module, char sha_out[65]) {
    sandbox *sb = sb_of(L);
    size_t n = 0;
    char *src = read_all(path, &n);
    if (!src) {
        lua_pushfstring(L, _("cannot read %s: %s"), path, strerror(errno));
        return -1;
    }
    char sha[65];
    sha256_hex(src, n, sha);
    if (sha_out) {
        memcpy(sha_out, sha, sizeof sha);
    }
    /* as luaL_loadfile: a UTF-8 byte order mark, and a first line starting
     * with '#' (#!/usr/bin/env gonghui run), are skipped; the line's newline
     * stays, so line numbers are the file's */
    size_t skip = n >= 3 && memcmp(src, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
    if (skip < n && src[skip] == '#') {
        const char *nl = memchr(src + skip, '\n', n - skip);
        skip = nl ? (size_t)(nl - src) : n;
    }
    lua_pushfstring(L, "@%s", path);
    int rc = luaL_loadbufferx(L, src + skip, n - skip, lua_tostring(L, -1), "t");
    free(src);
    lua_remove(L, -2);
    if (rc != LUA_OK) {
        return -1;
    }
    if (module) {
        note_module(sb, path, sha, NULL);
    }
    return 0;
}

int sandbox_load_file(sandbox *sb, const char *file, char sha[65]) {
    return load_source(sb->L, file, 0, sha);
}

/* 1 if the real path of `path` is inside directory `dir` (itself real). */
static int inside(const char *path, const char *dir) {
    char real[PATH_MAX];
    if (!dir || !realpath(path, real)) {
        return 0;
    }
    size_t n = strlen(dir);
    return strncmp(real, dir, n) == 0 && (real[n] == '/' || (n == 1 && dir[0] == '/'));
}

static int is_file(const char *p) {
    FILE *f = fopen(p, "rb");
    if (f) {
        fclose(f);
        return 1;
    }
    return 0;
}

/* require(name): modules from the script's folder, then scripts/lib. */
/* package.loaded[name] while name loads (a light userdata no module returns). */
static const char loading_mark = 'l';

static int l_sb_require(lua_State *L) {
    sandbox *sb = sb_of(L);
    const char *name = luaL_checkstring(L, 1);
    lua_settop(L, 1);
    lua_pushvalue(L, lua_upvalueindex(1)); /* 2: package.loaded */
    if (lua_getfield(L, 2, name) != LUA_TNIL) {
        if (lua_touserdata(L, -1) == &loading_mark) {
            return luaL_error(L,
                              _("require '%s': a loop: '%s' is still being loaded (it requires "
                                "itself, directly or through other modules; a script named like "
                                "a module it requires finds itself first: rename the script)"),
                              name, name);
        }
        return 1;
    }
    lua_pop(L, 1);
    int ok = name[0] != 0 && name[0] != '.';
    for (const char *p = name; ok && *p; p++) {
        ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
             *p == '_' || *p == '-' || (*p == '.' && p[1] != '.' && p[1] != 0);
    }
    if (!ok) {
        return luaL_error(L,
                          _("require '%s': a module name is letters, digits, '_' and '-', "
                            "parts joined by '.'"),
                          name);
    }
    char rel[PATH_MAX];
    snprintf(rel, sizeof rel, "%s", name);
    for (char *p = rel; *p; p++) {
        if (*p == '.') {
            *p = '/';
        }
    }
    const char *dirs[] = {sb->script_dir, sb->lib_dir};
    const char *forms[] = {"%s/%s.lua", "%s/%s/init.lua"};
    luaL_Buffer tried;
    luaL_buffinit(L, &tried);
    for (int d = 0; d < 2; d++) {
        for (int f = 0; dirs[d] && f < 2; f++) {
            char path[PATH_MAX * 2 + 16];
            snprintf(path, sizeof path, forms[f], dirs[d], rel);
            if (!is_file(path)) {
                lua_pushfstring(L, _("\n\tno file '%s'"), path);
                luaL_addvalue(&tried);
                continue;
            }
            luaL_pushresult(&tried);
            lua_pop(L, 1);
            if (load_source(L, path, 1, NULL) != 0) {
                return lua_error(L);
            }
            lua_pushlightuserdata(L, (void *)&loading_mark); /* loops are an error, not a crash */
            lua_setfield(L, 2, name);
            lua_pushstring(L, name);
            lua_pushstring(L, path);
            if (lua_pcall(L, 2, 1, 0) != LUA_OK) {
                lua_pushnil(L);
                lua_setfield(L, 2, name);
                return lua_error(L);
            }
            lua_pushnil(L);
            lua_setfield(L, 2, name);
            if (!lua_isnil(L, -1)) {
                lua_setfield(L, 2, name);
            } else {
                lua_pop(L, 1);
            }
            if (lua_getfield(L, 2, name) == LUA_TNIL) {
                lua_pushboolean(L, 1);
                lua_copy(L, -1, -2);
                lua_setfield(L, 2, name);
            }
            return 1;
        }
    }
    luaL_pushresult(&tried);
    if (lplugin_require(L, name)) { /* a native plugin of that name */
        lua_pushvalue(L, -1);
        lua_setfield(L, 2, name);
        return 1;
    }
    return luaL_error(L,
                      _("module '%s' not found (modules come from the script's folder and "
                        "scripts/lib):%s"),
                      name, lua_tostring(L, -1));
}

/* loadfile(path [, mode [, env]]): text files of the module folders only. */
static int l_sb_loadfile(lua_State *L) {
    sandbox *sb = sb_of(L);
    const char *path = luaL_checkstring(L, 1);
    const char *mode = luaL_optstring(L, 2, "t");
    int env = !lua_isnone(L, 3) ? 3 : 0;
    if (!strchr(mode, 't')) {
        return luaL_error(L, _("loadfile: only text chunks can be loaded (mode 't')"));
    }
    if (!inside(path, sb->script_dir) && !inside(path, sb->lib_dir)) {
        luaL_pushfail(L);
        lua_pushfstring(L, _("loadfile: '%s' is not in the script's folder or scripts/lib"), path);
        return 2;
    }
    if (load_source(L, path, 1, NULL) != 0) {
        luaL_pushfail(L);
        lua_insert(L, -2);
        return 2;
    }
    if (env) {
        lua_pushvalue(L, env);
        if (!lua_setupvalue(L, -2, 1)) {
            lua_pop(L, 1);
        }
    }
    return 1;
}

static int l_sb_dofile(lua_State *L) {
    luaL_checkstring(L, 1);
    lua_settop(L, 1);
    lua_pushcfunction(L, l_sb_loadfile);
    lua_pushvalue(L, 1);
    lua_call(L, 1, 2);
    if (lua_isnil(L, -2)) {
        return lua_error(L);
    }
    lua_pop(L, 1);
    lua_call(L, 0, LUA_MULTRET);
    return lua_gettop(L) - 1;
}

/* The registry key of the program's own text domain (a light userdata: the
 * interned name from i18n_program_domain), absent when it has none. */
#define SB_DOMAIN_KEY "gonghui.textdomain"

void sandbox_set_catalog(lua_State *L, const char *dir) {
    const char *d = i18n_program_domain(dir);
    if (d) {
        lua_pushlightuserdata(L, (void *)d);
    } else {
        lua_pushnil(L);
    }
    lua_setfield(L, LUA_REGISTRYINDEX, SB_DOMAIN_KEY);
}

static const char *program_domain(lua_State *L) {
    lua_getfield(L, LUA_REGISTRYINDEX, SB_DOMAIN_KEY);
    const char *d = lua_touserdata(L, -1);
    lua_pop(L, 1);
    return d;
}

/* _(text) and gettext(text): the text in the message language (i18n.h),
 * from the program's own catalog when it has the text (sandbox_set_catalog),
 * else from gonghui's, which holds the shipped programs' messages (po/). */
static int l_sb_gettext(lua_State *L) {
    const char *msgid = luaL_checkstring(L, 1);
    lua_pushstring(L, i18n_tr_in(program_domain(L), msgid));
    return 1;
}

/* ngettext(one, many, n): the plural form for n. */
static int l_sb_ngettext(lua_State *L) {
    const char *one = luaL_checkstring(L, 1), *many = luaL_checkstring(L, 2);
    lua_Integer n = luaL_checkinteger(L, 3);
    lua_pushstring(
        L, i18n_ntr_in(program_domain(L), one, many, n < 0 ? (unsigned long)-n : (unsigned long)n));
    return 1;
}

/* N_(text): the text itself, marked for the catalog (translated where shown). */
static int l_sb_noop(lua_State *L) {
    luaL_checkany(L, 1);
    lua_settop(L, 1);
    return 1;
}

/* load(chunk [, name [, mode [, env]]]): text only. */
static int l_sb_load(lua_State *L) {
    const char *mode = luaL_optstring(L, 3, "t");
    if (strchr(mode, 'b')) {
        luaL_pushfail(L);
        lua_pushstring(L, _("load: binary chunks are not allowed (only source text)"));
        return 2;
    }
    int env = lua_gettop(L) >= 4;
    lua_settop(L, 4);
    lua_pushvalue(L, lua_upvalueindex(1)); /* the real load */
    lua_pushvalue(L, 1);
    lua_pushvalue(L, 2);
    lua_pushliteral(L, "t");
    if (env) {
        lua_pushvalue(L, 4);
    }
    lua_call(L, env ? 4 : 3, LUA_MULTRET);
    return lua_gettop(L) - 4;
}

/* ---- base functions with guards --------------------------------------------------- */

static int is_frozen(lua_State *L, int idx) {
    lua_rawgetp(L, LUA_REGISTRYINDEX, &frozen_key);
    lua_pushvalue(L, idx);
    int f = lua_rawget(L, -2) != LUA_TNIL;
    lua_pop(L, 2);
    return f;
}

static int l_sb_rawset(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    if (is_frozen(L, 1)) {
        return luaL_error(L, _("rawset: this library table is read-only"));
    }
    luaL_checkany(L, 2);
    luaL_checkany(L, 3);
    lua_settop(L, 3);
    lua_rawset(L, 1);
    return 1;
}

/* The message handler xpcall runs for a script: the script's own, unless
 * the run is stopping. An error raised from the hook runs its handler with
 * hooks off (Lua clears them while a hook runs), so a handler that loops
 * would escape the deadline; once stopping, handlers are skipped. */
static int l_sb_msgh(lua_State *L) {
    if (sb_of(L)->stop) {
        lua_settop(L, 1);
        return 1;
    }
    lbus_name_error(L, 1); /* from a bus.emit handler: named, as it leaves emit */
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

/* pcall's message handler: an error from a bus.emit handler is named as it
 * would be leaving emit (bus.emit has no protected call of its own). */
static int l_sb_pcall_msgh(lua_State *L) {
    lbus_name_error(L, 1);
    lua_settop(L, 1);
    return 1;
}

static int l_sb_pcall_k(lua_State *L, int status, lua_KContext extra) {
    if (status != LUA_OK && status != LUA_YIELD) {
        lua_pushboolean(L, 0);
        lua_pushvalue(L, -2);
        return 2;
    }
    return lua_gettop(L) - (int)extra;
}

/* pcall(f, ...) as the library's, with l_sb_pcall_msgh. */
static int l_sb_pcall(lua_State *L) {
    luaL_checkany(L, 1);
    lua_pushcfunction(L, l_sb_pcall_msgh);
    lua_pushboolean(L, 1); /* the first result when f does not fail */
    lua_rotate(L, 1, 2);   /* msgh true f ... */
    int status = lua_pcallk(L, lua_gettop(L) - 3, LUA_MULTRET, 1, 1, l_sb_pcall_k);
    return l_sb_pcall_k(L, status, 1);
}

static int l_sb_xpcall_k(lua_State *L, int status, lua_KContext n) {
    (void)status;
    return lua_gettop(L) - (int)n;
}

/* xpcall(f, msgh, ...) with msgh wrapped by l_sb_msgh. Called with a
 * continuation, so f may yield as under pcall. */
static int l_sb_xpcall(lua_State *L) {
    int n = lua_gettop(L);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    lua_pushvalue(L, lua_upvalueindex(1)); /* the real xpcall */
    lua_pushvalue(L, 1);
    lua_pushvalue(L, 2);
    lua_pushcclosure(L, l_sb_msgh, 1);
    for (int i = 3; i <= n; i++) {
        lua_pushvalue(L, i);
    }
    lua_callk(L, n, LUA_MULTRET, n, l_sb_xpcall_k);
    return l_sb_xpcall_k(L, LUA_OK, n);
}

static int l_sb_setmetatable(lua_State *L) {
    int t = lua_type(L, 2);
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_argexpected(L, t == LUA_TNIL || t == LUA_TTABLE, 2, "nil or table");
    if (t == LUA_TTABLE && lua_getfield(L, 2, "__gc") != LUA_TNIL) {
        return luaL_error(L, _("setmetatable: __gc finalizers are not available to scripts "
                               "(use a to-be-closed variable: local x <close> = ...)"));
    }
    lua_settop(L, 2);
    if (luaL_getmetafield(L, 1, "__metatable") != LUA_TNIL) {
        return luaL_error(L, _("cannot change a protected metatable"));
    }
    lua_setmetatable(L, 1);
    return 1;
}

static int l_sb_frozen_newindex(lua_State *L) {
    return luaL_error(L,
                      _("cannot change '%s' of a library table: libraries are read-only "
                        "(make a local copy)"),
                      luaL_tolstring(L, 2, NULL));
}

/* The iterator of a frozen table: the real table is its upvalue, never
 * handed to the script (pairs(string) gave it as the state, and the script
 * changed string.upper through it: issue 16, class 9). */
static int l_sb_next(lua_State *L) {
    lua_settop(L, 2);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushvalue(L, 2);
    if (lua_next(L, -2)) {
        return 2;
    }
    lua_pushnil(L);
    return 1;
}

static int l_sb_frozen_pairs(lua_State *L) {
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushcclosure(L, l_sb_next, 1);
    lua_pushnil(L);
    lua_pushnil(L);
    return 3;
}

/* getmetatable(v): a table's own metatable as Lua gives it; for anything
 * else (file handles, gonghui's userdata), and for a metatable that holds a
 * finalizer, a copy: a script that changed the real one could put its own
 * __gc there, which runs after the run's end, past --timeout and signals
 * and after a dry run's rollback (issue 16, class 3). */
static int l_sb_getmetatable(lua_State *L) {
    luaL_checkany(L, 1);
    if (!lua_getmetatable(L, 1)) {
        lua_pushnil(L);
        return 1;
    }
    if (lua_getfield(L, -1, "__metatable") != LUA_TNIL) {
        return 1;
    }
    lua_pop(L, 1);
    int gc = lua_getfield(L, -1, "__gc") != LUA_TNIL;
    lua_pop(L, 1);
    if (lua_type(L, 1) == LUA_TTABLE && !gc) {
        return 1;
    }
    int mt = lua_gettop(L);
    lua_newtable(L);
    lua_pushnil(L);
    while (lua_next(L, mt)) {
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, -4);
    }
    return 1;
}

/* Replaces the table at the top with a read-only proxy of it. */
static void freeze(lua_State *L) {
    int real = lua_gettop(L);
    lua_newtable(L); /* the proxy */
    lua_createtable(L, 0, 4);
    lua_pushvalue(L, real);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_sb_frozen_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_pushvalue(L, real);
    lua_pushcclosure(L, l_sb_frozen_pairs, 1);
    lua_setfield(L, -2, "__pairs");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &frozen_key);
    lua_pushvalue(L, -2);
    lua_pushboolean(L, 1);
    lua_rawset(L, -3);
    lua_pop(L, 1);
    lua_replace(L, real);
}

static int l_sb_rep(lua_State *L) {
    size_t l, lsep;
    luaL_checklstring(L, 1, &l);
    lua_Integer n = luaL_checkinteger(L, 2);
    luaL_optlstring(L, 3, "", &lsep);
    sandbox *sb = sb_of(L);
    size_t max = sb->cap && sb->cap < SANDBOX_MAX_STRING ? sb->cap : SANDBOX_MAX_STRING;
    if (n > 0) {
        double total = (double)l * (double)n + (double)lsep * (double)(n - 1);
        if (total > (double)max) {
            char msg[160];
            snprintf(msg, sizeof msg,
                     _("string.rep: the result would be %.0f bytes, over the limit of %zu bytes"),
                     total, max);
            return luaL_error(L, "%s", msg);
        }
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

static int l_sb_randomseed(lua_State *L) {
    sandbox *sb = sb_of(L);
    int n = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(1));
    if (n == 0) { /* the run's seed, never the clock: a run can be replayed */
        lua_pushinteger(L, (lua_Integer)(sb->seed & INT64_MAX));
        n = 1;
    } else {
        lua_insert(L, 1);
    }
    lua_call(L, n, LUA_MULTRET);
    return lua_gettop(L);
}

/* The run's clock: its start time (or --now) plus the seconds run since. */
static lua_Integer run_clock(const sandbox *sb) {
    return (lua_Integer)sb->now + (lua_Integer)(clock_mono_s() - sb->t0);
}

int64_t sandbox_time(lua_State *L) {
    void *ud;
    if (lua_getallocf(L, &ud) != sb_alloc) {
        return (int64_t)time(NULL);
    }
    return (int64_t)run_clock(ud);
}

static int l_sb_time(lua_State *L) {
    if (lua_isnoneornil(L, 1)) {
        lua_pushinteger(L, run_clock(sb_of(L)));
        return 1;
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

static int l_sb_date(lua_State *L) {
    int n = lua_gettop(L);
    const char *fmt = luaL_optstring(L, 1, "%c"); /* before the pushes: os.date() has no 1 */
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushstring(L, fmt);
    if (n >= 2 && !lua_isnil(L, 2)) {
        lua_pushvalue(L, 2);
    } else {
        lua_pushinteger(L, run_clock(sb_of(L)));
    }
    lua_call(L, 2, 1);
    return 1;
}

static sbfiles files_of(const sandbox *sb) {
    sbfiles f = {.script_dir = sb->script_dir, .lib_dir = sb->lib_dir, .out_dir = sb->out_dir};
    for (int i = 0; i < sb->nin; i++) {
        f.in_dirs[f.nin++] = sb->in_dirs[i];
    }
    return f;
}

int sandbox_may_write(lua_State *L, const char *path, char *why, size_t n) {
    void *ud;
    if (lua_getallocf(L, &ud) != sb_alloc) {
        return 1;
    }
    sbfiles f = files_of(ud);
    ((sandbox *)ud)->outside = 1; /* asked before writing a file */
    return sbfiles_check_write(&f, path, why, n) == 0;
}

int sandbox_may_read(lua_State *L, const char *path, char *real, char *why, size_t n) {
    void *ud;
    if (lua_getallocf(L, &ud) != sb_alloc) {
        snprintf(real, PATH_MAX, "%s", path);
        return 1;
    }
    sbfiles f = files_of(ud);
    return sbfiles_check_read(&f, path, real, why, n) == 0;
}

int sandbox_open_write(lua_State *L, const char *path, int flags, char *why, size_t n) {
    void *ud;
    if (lua_getallocf(L, &ud) != sb_alloc) {
        int fd = open(path, flags | O_CLOEXEC, 0600);
        if (fd < 0) {
            snprintf(why, n, "%s: %s", path, strerror(errno));
        }
        return fd;
    }
    sbfiles f = files_of(ud);
    ((sandbox *)ud)->outside = 1;
    return sbfiles_open_write(&f, path, flags, 0666, why, n);
}

static int l_sb_fclose(lua_State *L) {
    luaL_Stream *p = luaL_checkudata(L, 1, LUA_FILEHANDLE);
    errno = 0;
    return luaL_fileresult(L, fclose(p->f) == 0, NULL);
}

/* A file handle of the io library for a file opened for writing beneath the
 * output folder (sbfiles.h rules 1 and 2): nil, message on failure, as
 * io.open does. */
static int push_write_handle(lua_State *L, const char *path, const char *mode) {
    int plus = strchr(mode, '+') != NULL;
    int flags = mode[0] == 'w'   ? (plus ? O_RDWR : O_WRONLY) | O_CREAT | O_TRUNC
                : mode[0] == 'a' ? (plus ? O_RDWR : O_WRONLY) | O_CREAT | O_APPEND
                                 : O_RDWR;
    char why[PATH_MAX + 256];
    sbfiles f = files_of(sb_of(L));
    sb_of(L)->outside = 1;
    int fd = sbfiles_open_write(&f, path, flags, 0666, why, sizeof why);
    if (fd < 0) {
        if (errno == EACCES || errno == ELOOP || errno == ENOTDIR) {
            return luaL_error(L, _("io.open: %s"), why);
        }
        int e = errno;
        luaL_pushfail(L);
        lua_pushstring(L, why);
        lua_pushinteger(L, e);
        return 3;
    }
    luaL_Stream *p = lua_newuserdatauv(L, sizeof *p, 0);
    p->closef = NULL;
    luaL_setmetatable(L, LUA_FILEHANDLE);
    if (!(p->f = fdopen(fd, mode))) {
        close(fd);
        return luaL_error(L, _("io.open: %s: %s"), path, strerror(errno));
    }
    p->closef = l_sb_fclose;
    return 1;
}

static int mode_ok(const char *mode) {
    static const char *const modes[] = {"r",   "rb", "w",   "wb",  "a",  "ab",  "r+",  "rb+",
                                        "r+b", "w+", "wb+", "w+b", "a+", "ab+", "a+b", NULL};
    for (int i = 0; modes[i]; i++) {
        if (strcmp(mode, modes[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

/* io.open(name [, mode]): reads from the folders the run names; writes only
 * in the output folder, never a protected one, following no link. */
/* io.open's and run.open's reading: `path` opened with the original io.open
 * (upvalue 1) once the run may read it (sandbox_may_read). A file outside the
 * run's folders raises `fmt` (the caller's name and %s, the reason); a file
 * that cannot be read returns fail, the reason and errno, as io.open does. */
static int open_to_read(lua_State *L, const char *fmt, const char *path, const char *mode) {
    char real[PATH_MAX], why[PATH_MAX + 256];
    if (!sandbox_may_read(L, path, real, why, sizeof why)) {
        if (errno == EACCES) {
            return luaL_error(L, fmt, why);
        }
        int e = errno;
        luaL_pushfail(L);
        lua_pushstring(L, why);
        lua_pushinteger(L, e);
        return 3;
    }
    int base = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushstring(L, real);
    lua_pushstring(L, mode);
    lua_call(L, 2, LUA_MULTRET);
    return lua_gettop(L) - base;
}

static int l_sb_io_open(lua_State *L) {
    const char *name = luaL_checkstring(L, 1);
    const char *mode = luaL_optstring(L, 2, "r");
    luaL_argcheck(L, mode_ok(mode), 2, "invalid mode");
    if (strcmp(mode, "r") != 0 && strcmp(mode, "rb") != 0) {
        return push_write_handle(L, name, mode);
    }
    return open_to_read(L, _("io.open: %s"), name, mode);
}

/* io.lines([name, ...]): a named file only from the folders the run names. */
static int l_sb_io_lines(lua_State *L) {
    if (lua_isnoneornil(L, 1)) {
        sandbox_note_outside(L); /* standard input */
    } else {
        const char *name = luaL_checkstring(L, 1);
        char real[PATH_MAX], why[PATH_MAX + 256];
        if (!sandbox_may_read(L, name, real, why, sizeof why)) {
            return luaL_error(L, _("io.lines: %s"), why);
        }
        if (lua_gettop(L) == 1) { /* lines without formats: read in blocks */
            return llines_open(L, real);
        }
        lua_pushstring(L, real);
        lua_replace(L, 1);
    }
    return call_original(L);
}

/* run.open(name [, mode]): a file in the output folder. */
static int l_sb_run_open(lua_State *L) {
    sandbox *sb = sb_of(L);
    const char *name = luaL_checkstring(L, 1);
    const char *mode = luaL_optstring(L, 2, "w");
    static const char *const modes[] = {"r", "rb", "w", "wb", "a", "ab", NULL};
    int ok = 0;
    for (int i = 0; modes[i]; i++) {
        ok |= strcmp(mode, modes[i]) == 0;
    }
    if (!ok) {
        return luaL_error(L, _("run.open: mode '%s' (modes: r, w, a, with b for binary)"), mode);
    }
    if (!sb->out_dir) {
        return luaL_error(L,
                          _("run.open('%s'): no output folder; give one with "
                            "gonghui run --out DIR"),
                          name);
    }
    if (!name[0] || strchr(name, '/') || strchr(name, '\\') || strcmp(name, ".") == 0 ||
        strcmp(name, "..") == 0) {
        return luaL_error(L,
                          _("run.open('%s'): give a plain file name (no folders); it is "
                            "made in the output folder %s"),
                          name, sb->out_dir);
    }
    lua_pushfstring(L, "%s/%s", sb->out_dir, name);
    const char *path = lua_tostring(L, -1);
    if (mode[0] != 'r') {
        return push_write_handle(L, path, mode);
    }
    return open_to_read(L, _("run.open: %s"), path, mode);
}

/* __index of the globals: an unknown name is an error (typos). */
static int l_sb_unknown_global(lua_State *L) {
    const char *name = lua_tostring(L, 2);
    return luaL_error(L,
                      _("unknown global '%s' (a typo? globals must be assigned before they "
                        "are read; use 'local' for your own names)"),
                      name ? name : luaL_typename(L, 2));
}

/* ---- building the environment ------------------------------------------------------- */

/* Copies the listed fields of the table at src into the table at dst. */
static void copy_fields(lua_State *L, int src, int dst, const char *const *names) {
    for (; *names; names++) {
        lua_getfield(L, src, *names);
        lua_setfield(L, dst, *names);
    }
}

static const char *const std_libs[] = {"string", "table", "math",  "utf8",    "coroutine",
                                       "os",     "io",    "debug", "package", NULL};

/* package.loaded gets the standard libraries as the script sees them, so
 * require 'string' works and a script or module named utf8.lua does not
 * stand in for the library. The registry's _LOADED, where luaL_argerror and
 * tracebacks look up a function's name, becomes the sandbox's libraries and
 * the host's originals under their full names ('string.rep', 'load'): a
 * wrapped function, or the original it calls, is named, never '?'. */
static void name_functions(lua_State *L, int G) {
    lua_getfield(L, G, "package");
    lua_getfield(L, -1, "loaded");
    int loaded = lua_gettop(L);
    lua_createtable(L, 0, 256); /* ~190 names: no rehash on the way (issue 18, W6) */
    int names = lua_gettop(L);
    for (int i = 0; std_libs[i]; i++) {
        lua_getfield(L, G, std_libs[i]);
        lua_pushvalue(L, -1);
        lua_setfield(L, loaded, std_libs[i]);
        int lib = lua_gettop(L);
        if (!lua_getmetatable(L, lib) || lua_getfield(L, -1, "__index") != LUA_TTABLE) {
            lua_settop(L, lib); /* a plain table: itself */
            lua_pushvalue(L, lib);
        } /* else string's frozen proxy: the table behind it */
        lua_setfield(L, names, std_libs[i]);
        lua_settop(L, names);
    }
    lua_pushvalue(L, G);
    lua_setfield(L, loaded, "_G");
    lua_pushvalue(L, G);
    lua_setfield(L, names, "_G");
    /* the originals, under 'lib.name' (and base functions under their name) */
    lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    int orig = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, orig)) {
        if (lua_type(L, -2) == LUA_TSTRING && lua_istable(L, -1)) {
            size_t mn;
            const char *mod = lua_tolstring(L, -2, &mn);
            int base = strcmp(mod, "_G") == 0;
            char full[128]; /* 'lib.name', made here: lua_pushfstring cost 1,300
                             * instructions a name at every start */
            lua_pushnil(L);
            while (lua_next(L, -2)) {
                if (lua_type(L, -2) == LUA_TSTRING && lua_iscfunction(L, -1)) {
                    size_t fn;
                    const char *f = lua_tolstring(L, -2, &fn);
                    if (base) {
                        lua_pushvalue(L, -2);
                    } else if (mn + 1 + fn <= sizeof full) {
                        memcpy(full, mod, mn);
                        full[mn] = '.';
                        memcpy(full + mn + 1, f, fn);
                        lua_pushlstring(L, full, mn + 1 + fn);
                    } else {
                        lua_pushfstring(L, "%s.%s", mod, f);
                    }
                    lua_pushvalue(L, -2);
                    lua_rawset(L, names);
                }
                lua_pop(L, 1);
            }
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_pop(L, 2);
}

static void build_env(sandbox *sb) {
    lua_State *L = sb->L;
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
    int old = lua_gettop(L);
    lua_createtable(L, 0, 40);
    int G = lua_gettop(L);

    lua_newtable(L); /* weak set of frozen tables */
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &frozen_key);

    static const char *const base[] = {
        "assert", "error",    "ipairs",         "next", "pairs",    "print",
        "select", "tonumber", "tostring",       "type", "rawequal", "rawlen",
        "rawget", "_VERSION", "collectgarbage", "warn", NULL};
    copy_fields(L, old, G, base);
    lua_pushcfunction(L, l_sb_pcall);
    lua_setfield(L, G, "pcall");
    lbus_catcher(l_sb_pcall);
    lbus_catcher(l_sb_xpcall);
    wrap_outside(L, G, "print");
    wrap_outside(L, G, "warn");
    lua_pushcfunction(L, l_sb_getmetatable);
    lua_setfield(L, G, "getmetatable");
    lua_pushcfunction(L, l_sb_rawset);
    lua_setfield(L, G, "rawset");
    lua_getfield(L, old, "xpcall");
    lua_pushcclosure(L, l_sb_xpcall, 1);
    lua_setfield(L, G, "xpcall");
    lua_pushcfunction(L, l_sb_setmetatable);
    lua_setfield(L, G, "setmetatable");
    lua_getfield(L, old, "load");
    lua_pushcclosure(L, l_sb_load, 1);
    lua_setfield(L, G, "load");
    lua_pushcfunction(L, l_sb_loadfile);
    lua_setfield(L, G, "loadfile");
    lua_pushcfunction(L, l_sb_dofile);
    lua_setfield(L, G, "dofile");
    lua_pushcfunction(L, l_sb_gettext);
    lua_pushvalue(L, -1);
    lua_setfield(L, G, "_");
    lua_setfield(L, G, "gettext");
    lua_pushcfunction(L, l_sb_ngettext);
    lua_setfield(L, G, "ngettext");
    lua_pushcfunction(L, l_sb_noop);
    lua_setfield(L, G, "N_");

    /* package: loaded (shared with require), path/cpath for show */
    lua_createtable(L, 0, 3);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, "loaded");
    lua_pushcclosure(L, l_sb_require, 1);
    lua_setfield(L, G, "require");
    if (sb->lib_dir) {
        lua_pushfstring(L, "%s/?.lua;%s/?/init.lua;%s/?.lua;%s/?/init.lua", sb->script_dir,
                        sb->script_dir, sb->lib_dir, sb->lib_dir);
    } else {
        lua_pushfstring(L, "%s/?.lua;%s/?/init.lua", sb->script_dir, sb->script_dir);
    }
    lua_setfield(L, -2, "path");
    lua_pushliteral(L, "");
    lua_setfield(L, -2, "cpath");
    lua_setfield(L, G, "package");

    /* string: everything but dump; rep capped; frozen, and the metatable of
     * every string protected */
    lua_getfield(L, old, "string");
    int str = lua_gettop(L);
    lua_createtable(L, 0, 20);
    static const char *const strs[] = {"byte", "char",     "find",   "format",  "gmatch", "gsub",
                                       "len",  "lower",    "match",  "reverse", "sub",    "upper",
                                       "pack", "packsize", "unpack", NULL};
    copy_fields(L, str, lua_gettop(L), strs);
    lua_getfield(L, str, "rep");
    lua_pushcclosure(L, l_sb_rep, 1);
    lua_setfield(L, -2, "rep");
    freeze(L);
    lua_pushvalue(L, -1);
    lua_setfield(L, G, "string");
    lua_pushliteral(L, "");
    lua_getmetatable(L, -1);
    lua_pushvalue(L, -3);
    lua_setfield(L, -2, "__index");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 4);

    /* table, math, utf8, coroutine: fresh copies (the script's own) */
    static const char *const libs[] = {"table", "math", "utf8", "coroutine", NULL};
    for (int i = 0; libs[i]; i++) {
        lua_getfield(L, old, libs[i]);
        lua_newtable(L);
        lua_pushnil(L);
        while (lua_next(L, -3)) {
            lua_pushvalue(L, -2);
            lua_insert(L, -2);
            lua_rawset(L, -4);
        }
        lua_setfield(L, G, libs[i]);
        lua_pop(L, 1);
    }
    lua_getfield(L, G, "coroutine"); /* resume and wrap note the running thread */
    lua_pushcfunction(L, l_sb_resume);
    lua_setfield(L, -2, "resume");
    lua_pushcfunction(L, l_sb_wrap);
    lua_setfield(L, -2, "wrap");
    lua_pop(L, 1);
    lua_getfield(L, G, "math");
    lua_getfield(L, -1, "randomseed");
    lua_pushvalue(L, -1);
    lua_pushinteger(L, (lua_Integer)(sb->seed & INT64_MAX));
    lua_call(L, 1, 0);
    lua_pushcclosure(L, l_sb_randomseed, 1);
    lua_setfield(L, -2, "randomseed");
    lua_pop(L, 1);

    /* os: the clock only */
    lua_getfield(L, old, "os");
    lua_createtable(L, 0, 4);
    static const char *const oss[] = {"clock", "difftime", NULL};
    copy_fields(L, -2, lua_gettop(L), oss);
    lua_getfield(L, -2, "time");
    lua_pushcclosure(L, l_sb_time, 1);
    lua_setfield(L, -2, "time");
    lua_getfield(L, -2, "date");
    lua_pushcclosure(L, l_sb_date, 1);
    lua_setfield(L, -2, "date");
    lua_setfield(L, G, "os");
    lua_pop(L, 1);
    /* require 'parse': its parse.id reads the run's clock */
    lua_getfield(L, G, "package");
    lua_getfield(L, -1, "loaded");
    lua_getfield(L, G, "os");
    lua_getfield(L, -1, "time");
    lparse_push(L, -1);
    lua_setfield(L, -4, "parse");
    /* require 'sorter': records sorted in bounded memory (the year report) */
    lsorter_push(L);
    lua_setfield(L, -4, "sorter");
    lua_pop(L, 4);

    /* io: the standard streams, reading files */
    lua_getfield(L, old, "io");
    lua_createtable(L, 0, 8);
    static const char *const ios[] = {"write", "read", "stdout", "stderr", "stdin", "type", NULL};
    copy_fields(L, -2, lua_gettop(L), ios);
    wrap_outside(L, -1, "write");
    wrap_outside(L, -1, "read");
    /* the methods of every file handle: write reaches outside, read and
     * lines on standard input */
    luaL_getmetatable(L, LUA_FILEHANDLE);
    if (lua_getfield(L, -1, "__index") == LUA_TTABLE) {
        wrap_outside(L, -1, "write");
        static const char *const reads[] = {"read", "lines", NULL};
        for (int i = 0; reads[i]; i++) {
            lua_getfield(L, -1, reads[i]);
            lua_getfield(L, -4, "stdin");
            lua_pushcclosure(L, l_sb_outside_stdin, 2);
            lua_setfield(L, -2, reads[i]);
        }
    }
    lua_pop(L, 2);
    lua_getfield(L, -2, "lines");
    lua_pushcclosure(L, l_sb_io_lines, 1);
    lua_setfield(L, -2, "lines");
    lua_getfield(L, -2, "open");
    lua_pushvalue(L, -1);
    lua_pushcclosure(L, l_sb_io_open, 1);
    lua_setfield(L, -3, "open");
    lua_setfield(L, G, "run"); /* temporarily: the real io.open, for run.open below */
    lua_setfield(L, G, "io");
    lua_pop(L, 1);
    lua_createtable(L, 0, 8); /* the run table; script.c adds to it */
    lua_getfield(L, G, "run");
    lua_pushcclosure(L, l_sb_run_open, 1);
    lua_setfield(L, -2, "open");
    lcsv_register(L, -1);
    lua_setfield(L, G, "run");

    lplugin_push(L); /* plugin.load: native plugins from the plugin path */
    lua_setfield(L, G, "plugin");
    lpii_push(L); /* personal data: pii.mask, pii.kind (pii.h) */
    lua_setfield(L, G, "pii");

    /* debug: traceback only */
    lua_getfield(L, old, "debug");
    lua_createtable(L, 0, 1);
    lua_getfield(L, -2, "traceback");
    lua_setfield(L, -2, "traceback");
    lua_setfield(L, G, "debug");
    lua_pop(L, 1);

    lua_pushvalue(L, G);
    lua_setfield(L, G, "_G");
    lua_createtable(L, 0, 2);
    lua_pushcfunction(L, l_sb_unknown_global);
    lua_setfield(L, -2, "__index");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, G);

    name_functions(L, G);
    lua_pushvalue(L, G);
    lua_rawseti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
    lua_settop(L, old - 1);
}

int sandbox_new(const sandbox_opts *o, sandbox **out) {
    sandbox *sb = calloc(1, sizeof *sb);
    if (!sb) {
        return GH_ENOMEM;
    }
    sb->cap = o->memory;
    sb->timeout = o->timeout;
    sb->seed = o->seed;
    sb->now = o->now;
    sb->t0 = clock_mono_s();
    sb->script_dir = realpath(o->script_dir ? o->script_dir : ".", NULL);
    sb->lib_dir = o->lib_dir ? realpath(o->lib_dir, NULL) : NULL;
    sb->out_dir = realpath(o->out_dir ? o->out_dir : ".", NULL);
    if (!sb->script_dir) {
        sb->script_dir = strdup(o->script_dir ? o->script_dir : ".");
    }
    for (int i = 0; i < o->nin && sb->nin < SBFILES_MAX_IN; i++) {
        char *d = realpath(o->in_dirs[i], NULL);
        if (d) {
            sb->in_dirs[sb->nin++] = d;
        }
    }
    sb->L = lua_newstate(sb_alloc, sb);
    if (!sb->L || !sb->script_dir) {
        sandbox_free(sb);
        return GH_ENOMEM;
    }
    /* Programs make many short-lived values (rows, record tables): the
     * generational collector handles them with less work (measured: 5-8%
     * fewer instructions on W2 and W4). Switched while the heap is empty: the
     * switch is a full collection (30 K instructions of an empty run, after
     * the libraries were set up). */
    lua_gc(sb->L, LUA_GCGEN, 0, 0);
    lua_atpanic(sb->L, sb_panic);
    codec_set_charge(sb_charge, sb);
    lua_setwarnf(sb->L, sb_warn, sb);
    luaL_openlibs(sb->L);
    build_env(sb);
    if (o->script_dir) { /* the program's own messages, when its folder has a catalog */
        sandbox_set_catalog(sb->L, sb->script_dir);
    }
    *out = sb;
    return 0;
}

void sandbox_free(sandbox *sb) {
    if (!sb) {
        return;
    }
    sandbox_disarm(sb);
    if (sb->L) {
        lua_close(sb->L);
    }
    pool_drain(sb);
    codec_set_charge(NULL, NULL);
    if (sb->caught) {
        sigaction(SIGINT, &sb->old_int, NULL);
        sigaction(SIGTERM, &sb->old_term, NULL);
        sigaction(SIGALRM, &sb->old_alrm, NULL);
    }
    if (active == sb) {
        active = NULL;
    }
    for (int i = 0; i < sb->nmods; i++) {
        free(sb->mods[i].path);
        free(sb->mods[i].plugin);
    }
    free(sb->mods);
    free(sb->script_dir);
    free(sb->lib_dir);
    free(sb->out_dir);
    for (int i = 0; i < sb->nin; i++) {
        free(sb->in_dirs[i]);
    }
    free(sb);
}

lua_State *sandbox_state(sandbox *sb) {
    return sb->L;
}

/* ---- the db table: system collections stay out of reach ---------------------------------- */

static int l_sb_db_collections(lua_State *L) {
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_call(L, 0, 1);
    lua_newtable(L);
    lua_Integer n = 0;
    for (lua_Integer i = 1; lua_rawgeti(L, -2, i) == LUA_TSTRING; i++) {
        if (lua_tostring(L, -1)[0] == '_') {
            lua_pop(L, 1);
        } else {
            lua_rawseti(L, -2, ++n);
        }
    }
    lua_pop(L, 1);
    return 1;
}

static int l_sb_db_drop(lua_State *L) {
    const char *name = luaL_checkstring(L, 1);
    if (name[0] == '_') {
        return luaL_error(L, _("db.drop: '%s' is a system collection; scripts cannot drop it"),
                          name);
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

static int l_sb_system_coll(lua_State *L) {
    return luaL_error(L,
                      _("'%s' is a system collection (%s); scripts cannot read or write it "
                        "(%s)"),
                      lua_tostring(L, lua_upvalueindex(1)), lua_tostring(L, lua_upvalueindex(2)),
                      lua_tostring(L, lua_upvalueindex(3)));
}

/* Puts a guard at db[name] that raises on any use. */
static void guard_coll(lua_State *L, int db_idx, const char *name, const char *what,
                       const char *see) {
    lua_newtable(L);
    lua_createtable(L, 0, 3);
    lua_pushstring(L, name);
    lua_pushstring(L, what);
    lua_pushstring(L, see);
    lua_pushcclosure(L, l_sb_system_coll, 3);
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, "__index");
    lua_setfield(L, -2, "__newindex");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
    lua_setfield(L, db_idx, name);
}

/* db's __index behind the guards: a guard removed (db._runs = nil, or
 * rawset(db, '_runs', nil)) must not let the name resolve as a collection,
 * so the lookup itself refuses the system names (issue 16, class 9).
 * Upvalue 1: the real __index. */
static int l_sb_db_index(lua_State *L) {
    const char *name = lua_tostring(L, 2);
    if (name && lua_type(L, 2) == LUA_TSTRING &&
        (strcmp(name, RUNS_COLLECTION) == 0 || strcmp(name, CHECKPOINT_COLLECTION) == 0 ||
         strcmp(name, "_imports") == 0)) {
        return luaL_error(L,
                          _("'%s' is a system collection; scripts cannot read or write it (run "
                            "records: gonghui runs; checkpoints: run.checkpoint(name))"),
                          name);
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

void sandbox_guard_db(sandbox *sb, int db_idx) {
    lua_State *L = sb->L;
    db_idx = lua_absindex(L, db_idx);
    lua_getfield(L, db_idx, "collections");
    lua_pushcclosure(L, l_sb_db_collections, 1);
    lua_setfield(L, db_idx, "collections");
    lua_getfield(L, db_idx, "drop");
    lua_pushcclosure(L, l_sb_db_drop, 1);
    lua_setfield(L, db_idx, "drop");
    /* db._runs would otherwise resolve like any collection: a guard sits
     * in its place, raising on any use */
    guard_coll(L, db_idx, RUNS_COLLECTION, "run records", "see gonghui runs");
    guard_coll(L, db_idx, CHECKPOINT_COLLECTION, "the checkpoints of run.chunks",
               "run.checkpoint(name) reads one");
    if (lua_getmetatable(L, db_idx)) {
        if (lua_getfield(L, -1, "__index") == LUA_TFUNCTION) {
            lua_pushcclosure(L, l_sb_db_index, 1);
            lua_setfield(L, -2, "__index");
        } else {
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
    guard_coll(L, db_idx, "_accounts", "the accounts of gonghui serve", "see gonghui users list");
    /* run.chunks and run.checkpoint need this db */
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
    lua_pushliteral(L, "run");
    if (lua_rawget(L, -2) == LUA_TTABLE) {
        checkpoint_install(L, db_idx, -1);
    }
    lua_pop(L, 2);
}

/*
 * sandbox.h — the Lua state a script runs in: an allow-listed environment
 * and limits that cannot be escaped.
 *
 * Calls sha256.h (what it loads), sbfiles.h (file access) and
 * checkpoint.h (run.chunks).
 *
 * Life cycle (one run, one process):
 *
 *     sandbox_new --> ready --sandbox_arm--> armed --sandbox_disarm--> ready --> sandbox_free
 *                                              |
 *                              deadline / SIGINT / SIGTERM: `stop` set; every
 *                              Lua instruction from then on raises (pcall
 *                              cannot swallow it); if Lua does not come back
 *                              within SANDBOX_GRACE seconds (stuck in C, e.g. a
 *                              pathological pattern) the watchdog ends the
 *                              process: nothing uncommitted survives that.
 *
 * Only one sandbox may be armed at a time (signals are per process).
 */
#ifndef GH_SANDBOX_H
#define GH_SANDBOX_H

#include "runs.h"

#include <lua.h>
#include <stddef.h>
#include <stdint.h>

/* Seconds the watchdog waits for Lua to notice a stop before it ends the
 * process. */
#define SANDBOX_GRACE 2

/* The memory a state may hold unless told otherwise (gonghui run --memory). */
#define SANDBOX_DEFAULT_MEMORY ((size_t)1 << 30)

/* Largest string string.rep may build (the memory cap may be smaller). */
#define SANDBOX_MAX_STRING ((size_t)256 << 20)

/* How a run was stopped (sandbox_stopped). */
enum { SB_RUNNING = 0, SB_TIMEOUT = 1, SB_INTERRUPTED = 2 };

/* Exit codes of runs stopped by a limit (also used by script.c). */
#define SB_EXIT_TIMEOUT 124
#define SB_EXIT_MEMORY 125

typedef struct sandbox_opts {
    double timeout;         /* seconds; 0 = none */
    size_t memory;          /* bytes the Lua state may hold; 0 = none */
    uint64_t seed;          /* math.random's seed */
    int64_t now;            /* os.time() at the start (seconds since the epoch); it then
                             * advances with real time */
    const char *script_dir; /* require/loadfile/dofile look here ... */
    const char *lib_dir;    /* ... and here (may be NULL) */
    const char *out_dir;    /* io.open/run.open write only here (NULL: the current folder) */
    const char *in_dirs[8]; /* --in DIR: more folders scripts may read (sbfiles.h) */
    int nin;
} sandbox_opts;

typedef struct sandbox sandbox;

/* Makes a Lua state with the counting allocator and the sandboxed globals
 * (see sandbox.c for the allow list) and a `run` table holding run.open.
 * The strings of o are copied. 0 or GH_ENOMEM; *out is the caller's, freed
 * with sandbox_free. */
int sandbox_new(const sandbox_opts *o, sandbox **out);

/* Closes the state and frees the sandbox; NULL is a no-op. Disarms first. */
void sandbox_free(sandbox *sb);

/* The state (borrowed, valid until sandbox_free). */
lua_State *sandbox_state(sandbox *sb);

/* Hides system collections (names starting with '_') from the db table at
 * stack index db_idx: db.collections() leaves them out, db.drop and
 * db._runs and db._checkpoints refuse any use. Also binds run.chunks and
 * run.checkpoint (checkpoint.h) to this db. */
void sandbox_guard_db(sandbox *sb, int db_idx);

/* Loads the script file (text only) onto the stack as a function, recording
 * the SHA-256 of its bytes in sha (65 bytes). 0 or -1 with the message on
 * the stack instead of the function. */
int sandbox_load_file(sandbox *sb, const char *file, char sha[65]);

/* Starts the clock: the deadline timer, the instruction hook, and the
 * SIGINT/SIGTERM handlers. */
void sandbox_arm(sandbox *sb);

/* Stops the timer and the hook (before committing or reporting). Signals
 * that arrive afterwards are only noted. */
void sandbox_disarm(sandbox *sb);

/* For a read-eval-print loop (repl.c), whose statements each run between
 * sandbox_arm and sandbox_disarm as a run does: sandbox_listen installs
 * the Ctrl-C and SIGTERM handling before the first prompt without arming
 * (a signal at the prompt is only noted, and a blocking read returns
 * EINTR) and lifts the time limit (a person stops a statement with Ctrl-C); sandbox_clear_stop forgets a noted stop once the loop has dealt
 * with it (sandbox_stopped says 0 again). */
void sandbox_listen(sandbox *sb);
void sandbox_clear_stop(sandbox *sb);

/* For a server (serve.c), where signals are the process's and many
 * requests run one after another in one state: sandbox_limit starts one
 * request's limits without timers or signal handlers (memory: `memory`
 * bytes more than the state holds now; 0 = none); sandbox_stop, callable
 * from another thread (the server's watchdog), makes the running request
 * raise at its next instruction as a deadline does; sandbox_unlimit ends
 * the request's limits. */
void sandbox_limit(sandbox *sb, double timeout, size_t memory);
void sandbox_stop(sandbox *sb);
void sandbox_unlimit(sandbox *sb);

/* SB_RUNNING, SB_TIMEOUT or SB_INTERRUPTED; *signo (if not NULL) gets the
 * signal that interrupted. */
int sandbox_stopped(const sandbox *sb, int *signo);

/* The clock a script of state L sees (os.time(): the run's start or --now,
 * plus the time run since), seconds since 1970; the system clock when L is
 * not a sandbox's. */
int64_t sandbox_time(lua_State *L);

/* Notes a native plugin the script of state L loaded, for the run record:
 * the file, the SHA-256 of its bytes, "NAME VERSION". Nothing when L is
 * not a sandbox's (the REPL alone). */
void sandbox_note_plugin(lua_State *L, const char *path, const char *sha256, const char *plugin);

/* 1 if the script of state L may have a file written at path (inside the
 * output folder, not a protected folder, no link on the way: sbfiles.h;
 * any path when L is not a sandbox's); else 0 with the reason in why (n
 * bytes). */
int sandbox_may_write(lua_State *L, const char *path, char *why, size_t n);

/* 1 if the script of state L may read the file at path (sbfiles.h rule 3;
 * any path when L is not a sandbox's), with the path to open in real
 * (PATH_MAX bytes); else 0 with the reason in why and errno set (EACCES:
 * refused; other: the file cannot be found). */
int sandbox_may_read(lua_State *L, const char *path, char *real, char *why, size_t n);

/* Opens path for writing (open(2) flags) as the script of state L may
 * (sbfiles_open_write; a plain open when L is not a sandbox's). The fd,
 * which the caller closes, or -1 with the reason in why. */
int sandbox_open_write(lua_State *L, const char *path, int flags, char *why, size_t n);

/* Gives the scripts of state L the catalog of the program folder dir
 * (i18n_program_domain): _, gettext and ngettext look there first, then in
 * gonghui's catalog. No catalog (or English messages): gonghui's alone. */
void sandbox_set_catalog(lua_State *L, const char *dir);

/* What a run did outside its transaction: printing (print, io.write, a
 * file's write, warn), reading standard input, writing or asking to write
 * a file (io.open, run.open, export.*), calling a native plugin, reading
 * the host's clock (run.host_time). sandbox_note_outside notes it for the
 * script of state L (nothing when L is not a sandbox's); a whole run
 * (--atomic, --dry-run) that filled the map is redone only when
 * sandbox_went_outside says 0 (script.c). */
void sandbox_note_outside(lua_State *L);
int sandbox_went_outside(const sandbox *sb);

/* 1 if an allocation was refused by the memory cap since sandbox_new. */
int sandbox_memory_hit(const sandbox *sb);

/* Bytes held now, and at most, by the Lua state. */
size_t sandbox_memory_peak(const sandbox *sb);

/* The modules loaded through require/loadfile/dofile, in order, with the
 * SHA-256 of the bytes loaded (borrowed until sandbox_free). */
const runs_module *sandbox_modules(const sandbox *sb, int *n);

#endif

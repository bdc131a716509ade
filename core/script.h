/*
 * script.h — the batch runner: `gonghui run [OPTIONS] FILE.lua [name=value ...]`.
 *
 * Calls ghstate.c (the Lua state), sandbox.c (its limits), lua_store.c (the
 * whole-run transaction) and runs.c (the run record).
 *
 * Modes:
 *   run       every db.atomic (and every write outside one) commits as it
 *             ends; an error, a limit or Ctrl-C rolls back the open one.
 *   --atomic  the whole run is one transaction, committed only if the
 *             script ends well.
 *   --dry-run the whole run is one transaction, always rolled back; what it
 *             would have changed is printed.
 */
#ifndef GH_SCRIPT_H
#define GH_SCRIPT_H

#include "sandbox.h"
#include "store.h"

#include <stddef.h>
#include <stdint.h>

/* Exit codes of `gonghui run` (sysexits.h where one fits; README lists them). */
enum {
    SCRIPT_EXIT_OK = 0,
    SCRIPT_EXIT_FAILED = 1,    /* the script raised an error */
    SCRIPT_EXIT_USAGE = 2,     /* bad options or parameters */
    SCRIPT_EXIT_NOINPUT = 66,  /* EX_NOINPUT: the script file cannot be read */
    SCRIPT_EXIT_IOERR = 74,    /* EX_IOERR: the results or the run record could not be stored */
    SCRIPT_EXIT_TIMEOUT = 124, /* --timeout passed (as timeout(1)) */
    SCRIPT_EXIT_MEMORY = 125,  /* --memory passed */
    SCRIPT_EXIT_SIGINT = 130,  /* Ctrl-C (128 + SIGINT) */
    SCRIPT_EXIT_SIGTERM = 143, /* SIGTERM (128 + SIGTERM) */
};

struct sandbox;

typedef struct script_opts {
    const char *file; /* the script, or NULL when only -e is given */
    const char *code; /* -e CODE, run before the file */
    int nparams;
    char **params; /* name=value strings (borrowed) */
    int dry_run, atomic;
    int interactive; /* -i: the REPL on the script's state after it ends (on a terminal) */
    /* what -i calls with the script's state (cmd.c passes repl_attach: the
     * runner itself knows nothing of the REPL) */
    int (*attach)(store *s, struct sandbox *sb);
    double timeout; /* seconds; 0 = none */
    size_t memory;  /* bytes; 0 = none */
    int has_seed, has_now;
    uint64_t seed;
    int64_t now;
    const char *out_dir;
    const char *in_dirs[8]; /* --in DIR: folders the script may read besides its own */
    int nin;
    /* `gonghui export SCRIPT.lua`: the script runs read-only and the rows it
     * returns are written as *export says (NULL for `gonghui run`). The run
     * record then names the mode "export" and keeps export_argv. */
    struct lexport_opts *export;
    char **export_argv;
    int export_argc;
} script_opts;

#define SCRIPT_DEFAULT_TIMEOUT 3600.0
#define SCRIPT_DEFAULT_MEMORY SANDBOX_DEFAULT_MEMORY

/* Parses the arguments after `run` (options, FILE, name=value...) into *o.
 * Prints the problem on stderr and returns SCRIPT_EXIT_USAGE on a bad one,
 * else 0. Strings in *o borrow argv. */
int script_parse(int argc, char **argv, script_opts *o);

/* Runs a script with `db` bound to store s; writes its run record. Returns
 * the process exit code (see the enum above). Errors go to stderr as
 * "FILE:LINE: message" with a traceback. */
int script_run_opts(store *s, const script_opts *o);

/* Runs `file` with default options (the older entry point). */
int script_run(store *s, const char *file, int nparams, char **params);

/* A program named as given when that exists, else among the installed programs
 * (paths_scripts(); "scripts/" in front is dropped): `gonghui run
 * gift_drive/claim.lua` works from any folder. Borrowed: file, or a static
 * buffer valid until the next call. */
const char *script_find(const char *file);

/* The uid of the run in progress ("" outside a run); events published by a
 * run carry it (also in the Lua registry as "gonghui.run_id"). Borrowed. */
const char *script_run_uid(void);

#endif

/*
 * ghstate.h — the Lua state a gonghui program runs in, built in one place
 * from one table of libraries (ghstate.c), as Lua's linit.c builds its own.
 * The runner (gonghui run, gonghui export SCRIPT.lua), the REPL and serve's
 * programs differ only in the options below, never in how the state is made.
 */
#ifndef GH_GHSTATE_H
#define GH_GHSTATE_H

#include "sandbox.h"
#include "store.h"

/* Who the state is for: each library in ghstate.c's table says for whom. */
enum { GHSTATE_RUN = 1, GHSTATE_REPL = 2, GHSTATE_SERVE = 4 };

typedef struct ghstate_opts {
    int kind;         /* GHSTATE_RUN, _REPL or _SERVE */
    sandbox_opts sb;  /* limits, seed, clock and folders (sandbox.h) */
    store *s;         /* db and bus read and write it (borrowed: outlives the state) */
    const char *uid;  /* the run's uid: run.uid and the registry's "gonghui.run_id"
                       * (events published carry it); NULL: none */
    const char *mode; /* run.mode: "run", "atomic", "dry-run", "repl", "serve" */
    int dry_run;      /* run.dry_run */
    int nparams;      /* params: name=value strings (borrowed) */
    char **params;
    const char *export_dir; /* where export.* writes (NULL: the current folder) */
    int readonly;           /* gonghui export SCRIPT.lua: every write of db and bus refused */
} ghstate_opts;

/* Makes the state: sandbox_new, then each library of the table for o->kind
 * (db, bus, params, run, export, json), each one global. On success *out is
 * the caller's, freed with sandbox_free. Returns 0, GH_ENOMEM, or GH_EINVAL
 * for a parameter that is not name=value (said on stderr). The stack of the
 * new state is empty. */
int ghstate_new(const ghstate_opts *o, sandbox **out);

#endif

/*
 * script.h — the batch runner's Lua state: `gonghui run FILE.lua name=value...`.
 *
 * Called by main.c; calls lua_store.c. (Sandbox and limits: a later issue.)
 */
#ifndef GH_SCRIPT_H
#define GH_SCRIPT_H

#include "store.h"

/* Runs the script at `file` with `db` bound to store `s` and a `params`
 * table made of the name=value strings in params[0..nparams). Errors go to
 * stderr as "FILE:LINE: message" with a traceback. Returns the process exit
 * code: 0 success, 1 the script failed, 2 bad parameters. */
int script_run(store *s, const char *file, int nparams, char **params);

/* The folder of shared Lua modules (scripts/lib) this binary uses, found
 * beside the executable or in the source tree; NULL if none. Borrowed. */
const char *script_lib_dir(void);

#endif

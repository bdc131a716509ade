/*
 * repl.h — `gonghui repl`: ad hoc questions over the data, in a terminal or
 * from a pipe.
 *
 * Calls ghstate.c (the Lua state: the same as batch runs), sandbox.c (its
 * limits and Ctrl-C), lua_store.c (`db`, and lstore_release between statements),
 * lua_bus.c (`bus`), runs.c (unmasking is recorded), table.c (results as
 * tables) and libedit (line editing, history, completion).
 */
#ifndef GH_REPL_H
#define GH_REPL_H

#include "store.h"

/* Parses the arguments after `repl` (--write, -e CODE, FILE.lua...) and runs
 * the REPL on store s (borrowed). On a terminal it edits lines with libedit;
 * otherwise it reads statements from stdin, with no banner or prompt.
 * Returns the exit code: 0, 1 if a statement failed while reading a pipe,
 * 2 on a usage error. */
int repl_main(store *s, int argc, char **argv);

/* The REPL on the state of a batch run that has ended (`gonghui run -i`):
 * the script's globals stay, writes are on (each statement in db.atomic).
 * Only on a terminal; returns at once otherwise. */
struct sandbox;
int repl_attach(store *s, struct sandbox *sb);

#endif

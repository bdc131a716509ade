/*
 * cli_fed.h — `gonghui federation ...` (see cli_fed.c).
 */
#ifndef GH_CLI_FED_H
#define GH_CLI_FED_H

#include "store.h"

/* Runs `federation` with its arguments (argv[0] is the subcommand) on store
 * s. Returns the process exit code: 0 done, 1 failed, 2 usage. */
int cli_federation(store *s, int argc, char **argv);

#endif

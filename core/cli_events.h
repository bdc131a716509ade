/*
 * cli_events.h — `gonghui events ...` (see cli_events.c).
 */
#ifndef GH_CLI_EVENTS_H
#define GH_CLI_EVENTS_H

#include "store.h"

/* Runs `events` with its arguments (argv[0] is the subcommand) on store s.
 * Returns the process exit code: 0 done, 1 failed, 2 usage. */
int cli_events(store *s, int argc, char **argv);

#endif

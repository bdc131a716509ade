/*
 * cmd.h — the commands of the command line, one function each, run from
 * main.c's command table after it has taken out the options of every command
 * (--db, --plugins). Each parses its own words with cli_next (cli.h) against
 * its entry in help.c, opens the database it needs and returns the process's
 * exit code: 0 done, 1 the work failed, 2 a usage error (and a command's own
 * codes, as `run`'s).
 *
 * argv[0..argc) are the words after the command's name; db is the database
 * folder (borrowed).
 */
#ifndef GH_CMD_H
#define GH_CMD_H

int cmd_run(const char *db, int argc, char **argv);
int cmd_runs(const char *db, int argc, char **argv);
int cmd_repl(const char *db, int argc, char **argv);
int cmd_check(const char *db, int argc, char **argv);
int cmd_backup(const char *db, int argc, char **argv);
int cmd_compact(const char *db, int argc, char **argv);
int cmd_stat(const char *db, int argc, char **argv);
int cmd_import(const char *db, int argc, char **argv);
int cmd_export(const char *db, int argc, char **argv);
int cmd_events(const char *db, int argc, char **argv);
int cmd_federation(const char *db, int argc, char **argv);
int cmd_serve(const char *db, int argc, char **argv);
int cmd_users(const char *db, int argc, char **argv);
int cmd_help(const char *db, int argc, char **argv);
int cmd_complete(const char *db, int argc, char **argv);

/* --new-db: `run` may start a new, empty database where one was before (dbreg.h). */
extern int cmd_new_db;

/* The version: "0.1.0 (git 1a2b3c4)". */
const char *cmd_version(void);

#endif

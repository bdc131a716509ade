/*
 * cli.h — the command line's one source: every command, its options and their
 * help live in one table (help.c); the option parser (cli_next), the help pages
 * (gonghui help [CMD], CMD --help), the man page (gonghui help --man, built into
 * gonghui.1) and shell completion (gonghui __complete, called by the bash and zsh
 * scripts in tools/completion/) all read that table, so they cannot disagree.
 *
 * Parsing rules, the same for every command:
 *   --name VALUE and --name=VALUE; a short alias (-e CODE, -f) takes its value
 *   as the next word; options and plain arguments may be mixed; `--` ends the
 *   options; an option the command does not have, a flag given a value or an
 *   option without its value is a usage error (exit code 2) that names the
 *   command and points at its help page.
 *
 * Texts in the table are marked N_() and translated with _() when shown.
 */
#ifndef GH_CLI_H
#define GH_CLI_H

#include <stdio.h>

#ifndef N_
#define N_(s) (s) /* marks a string for translation; _() translates it where it is shown */
#endif

/* One option of a command. `comp` says what completes its value: a list of
 * words ("csv tsv json"), or one of @file, @dir, @lua (a .lua file), @collection,
 * @consumer; NULL for nothing. */
typedef struct cli_opt {
    const char *name;  /* "--limit" */
    const char *alias; /* "-n", or NULL */
    const char *arg;   /* the value's name ("N"); NULL: a flag, which takes no value */
    const char *help;  /* N_() one line */
    const char *comp;
} cli_opt;

/* One command or subcommand ("runs", "runs show", "events tail"). `args` is the
 * synopsis after the options; `comp` says what completes each plain argument in
 * turn (words as for cli_opt.comp, separated by spaces; @param: the script's
 * name=value parameters, repeated; "-": nothing). */
typedef struct cli_cmd {
    const char *name;
    const char *args;    /* N_(): "ID", "COLLECTION FILE", or NULL */
    const char *summary; /* N_(): one line */
    const char *text;    /* N_(): more lines (each ending in \n), or NULL */
    const char *comp;
    const cli_opt *opts; /* ends with an entry whose name is NULL; NULL: none */
    int hidden;          /* 1: left out of help, man page and completion (__complete); 2: a group's
                   heading, left out of the overview only */
} cli_cmd;

/* A section of the man page and of `gonghui help` after the commands. */
typedef struct cli_topic {
    const char *title; /* N_(): "ENVIRONMENT" */
    const char *text;  /* N_(): lines, each ending in \n; "  NAME  text" lines are a list */
} cli_topic;

extern const cli_cmd cli_cmds[];      /* help.c; ends with a NULL name */
extern const cli_opt cli_global[];    /* --db, --plugins, --help, --version */
extern const cli_topic cli_topics[];  /* ends with a NULL title */
extern const char *const cli_tagline; /* N_(): what gonghui is, one line */

/* The entry named exactly `name`; NULL if there is none. Borrowed, static. */
const cli_cmd *cli_find(const char *name);

/* The option of `opts` (or of cli_global when `global`) spelled `word` (its name,
 * alias, or name=value); NULL if none. */
const cli_opt *cli_opt_find(const cli_opt *opts, const char *word);

/* Whether `word` is an option that takes a value in command `cmd` or any of its
 * subcommands ("events" covers "events tail"): main's first pass uses it to step
 * over option values while it picks out the global options. */
int cli_takes_value(const char *cmd, const char *word);

/* ---- the parser ----------------------------------------------------------------- */

typedef struct cli_iter {
    const cli_cmd *cmd; /* whose options */
    int argc;
    char **argv;
    int i;     /* the next word */
    int ended; /* after `--` */
} cli_iter;

/* Starts reading argv[0..argc) (the words after the command's name) as the
 * options of command `name`, which must be in the table. */
void cli_begin(cli_iter *it, const char *name, int argc, char **argv);

/* Reads the next word(s). Returns 1 with *opt the option and *val its value (NULL
 * for a flag), or *opt NULL and *val a plain argument; 0 at the end; -1 after
 * printing a usage error to stderr (the caller returns exit code 2). *val points
 * into argv. */
int cli_next(cli_iter *it, const cli_opt **opt, const char **val);

/* Whether `o` is the option named `name`. `name` must be one of the command's
 * options (asserted: a typo here would silently never match). */
int cli_is(const cli_iter *it, const cli_opt *o, const char *name);

/* Prints "gonghui CMD: <message>" and where the help is to stderr; returns 2,
 * the usage exit code. */
int cli_usage(const cli_iter *it, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The plain arguments of command `name`, which takes no options (cli_next
 * refuses one), gathered at argv's front: their count, or -1 after a usage
 * error. */
int cli_plain(const char *name, int argc, char **argv);

/* The words of it->argv not yet read, for commands that pass them on. */
int cli_rest(const cli_iter *it, char ***rest);

/* ---- what the table is shown as -------------------------------------------------- */

/* `gonghui help` (cmd NULL) or the page of one command and its subcommands
 * ("events" shows all of events; "events tail" only that one). Returns 0, or 2
 * if there is no such command (said on stderr). */
int cli_help(FILE *f, const char *cmd, const char *version);

/* The gonghui(1) man page in roff. */
void cli_man(FILE *f, const char *version);

/* Completion: prints the candidates for words[cword] of the command line
 * words[0..nwords) (words[0] is "gonghui"), one per line. A first line "@file",
 * "@dir" or "@lua" asks the shell to complete file names (of *.lua files).
 * Names that live in the database (@collection) come from `list(f, what, db)`
 * with db from --db, $GONGHUI_DB or ./gonghui.db (a callback, so that cli.c
 * does not need the store). */
void cli_complete(FILE *f, int nwords, char **words, int cword,
                  void (*list)(FILE *f, const char *what, const char *db));

#endif

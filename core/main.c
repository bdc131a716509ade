/*
 * main.c — the command line: a table of commands, the options every command
 * takes (--db, --plugins, --help, --version), and the dispatch.
 *
 *   gonghui [--db DIR] [--plugins DIR] COMMAND [ARGS]     (gonghui help lists them)
 *
 * The commands are in cmd.c, their options and help in help.c (one table for
 * the parser, the help pages, the man page and completion: cli.h). The
 * database is --db DIR, else $GONGHUI_DB, else ./gonghui.db. Exit codes: 0
 * success, 1 the work failed (or check found problems), 2 usage errors.
 */
#include "cli.h"
#include "cmd.h"
#include "err.h"
#include "plugin.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct command {
    const char *name; /* as in help.c */
    int (*fn)(const char *db, int argc, char **argv);
} commands[] = {
    {"run", cmd_run},
    {"runs", cmd_runs},
    {"repl", cmd_repl},
    {"check", cmd_check},
    {"backup", cmd_backup},
    {"compact", cmd_compact},
    {"stat", cmd_stat},
    {"import", cmd_import},
    {"export", cmd_export},
    {"events", cmd_events},
    /* federations over NATS (cli_fed.c) */
    {"federation", cmd_federation},
    {"serve", cmd_serve},
    {"users", cmd_users},
    {"help", cmd_help},
    {"__complete", cmd_complete},
};

/* The help page for `gonghui CMD [SUB...] --help`: the longest table entry the
 * words name ("events dead retry", else "events dead", else "events"). */
static int help_for(int n, char **args) {
    char name[128] = "", try[128];
    for (int i = 0; i < n && args[i][0] != '-'; i++) {
        snprintf(try, sizeof try, "%s%s%s", name, i ? " " : "", args[i]);
        if (!cli_find(try)) {
            break;
        }
        memcpy(name, try, sizeof name);
    }
    return cli_help(stdout, name[0] ? name : (n ? args[0] : NULL), cmd_version());
}

int main(int argc, char **argv) {
    i18n_init(); /* before anything is printed, before any thread */
    const char *db = getenv("GONGHUI_DB"), *cmd = NULL;
    char **args = calloc((size_t)argc + 1, sizeof *args);
    int n = 0, code = 2, help = 0;
    if (!args) {
        fprintf(stderr, _("gonghui: out of memory\n"));
        return 1;
    }
    if (!db || !*db) {
        db = "gonghui.db";
    }
    if (argc > 1 && strcmp(argv[1], "__complete") == 0) { /* the words as typed, all of them */
        code = cmd_complete(db, argc - 2, argv + 2);
        goto out;
    }
    /* The options of every command, before or after it; the command's own
     * options (and their values) are left for it; `--` ends the options. */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        const cli_opt *o = a[0] == '-' ? cli_opt_find(cli_global, a) : NULL;
        if (strcmp(a, "--") == 0) {
            while (i < argc) {
                args[n++] = argv[i++];
            }
            break;
        }
        if (!o) {
            if (a[0] == '-' && a[1] && !cmd) {
                fprintf(stderr, _("gonghui: unknown option %s (see gonghui help)\n"), a);
                goto out;
            }
            args[n++] = argv[i];
            if (cmd && a[0] == '-' && cli_takes_value(cmd, a) && i + 1 < argc) {
                args[n++] = argv[++i];
            }
            cmd = cmd ? cmd : a;
            continue;
        }
        if (o->arg) {
            const char *eq = strchr(a, '=');
            v = eq ? eq + 1 : i + 1 < argc ? argv[++i] : NULL;
            if (!v) {
                fprintf(stderr, _("gonghui: %s needs a folder (%s DIR)\n"), a, a);
                goto out;
            }
        }
        if (strcmp(o->name, "--db") == 0) {
            db = v;
        } else if (strcmp(o->name, "--plugins") == 0) {
            struct stat st;
            if (stat(v, &st) != 0 || !S_ISDIR(st.st_mode)) {
                fprintf(stderr, _("gonghui: --plugins needs an existing folder: %s\n"), v);
                goto out;
            }
            plugin_set_dir(v);
        } else if (strcmp(o->name, "--new-db") == 0) {
            cmd_new_db = 1;
        } else if (strcmp(o->name, "--help") == 0) {
            help = 1;
        } else if (strcmp(o->name, "--version") == 0) {
            printf("gonghui %s\n", cmd_version());
            code = 0;
            goto out;
        }
    }
    if (help) {
        code = help_for(n, args);
        goto out;
    }
    if (n == 0 && isatty(0) && isatty(1)) {
        args[n++] = "repl"; /* gonghui alone on a terminal: the REPL */
    }
    if (n == 0) {
        cli_help(stderr, NULL, cmd_version());
        goto out;
    }
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++) {
        assert(cli_find(commands[i].name) && "a command without its entry in help.c");
        if (strcmp(args[0], commands[i].name) == 0) {
            code = commands[i].fn(db, n - 1, args + 1);
            goto out;
        }
    }
    fprintf(stderr, _("gonghui: unknown command '%s' (see gonghui --help)\n"), args[0]);
out:
    plugin_set_dir(NULL);
    free(args);
    return code;
}

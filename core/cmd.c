/*
 * cmd.c — the commands (cmd.h): each reads its words with the one option
 * parser (cli.h) against its entry in help.c, opens the database and calls the
 * subsystem that does the work. Prints what a person reads; the subsystems
 * below it do not.
 */
#include "cmd.h"

#include "accounts.h"
#include "bus.h"
#include "cli.h"
#include "cli_events.h"
#include "cli_fed.h"
#include "dbreg.h"
#include "err.h"
#include "export.h"
#include "gh_version.h" /* generated: GH_VERSION_FULL */
#include "import.h"
#include "lua_export.h"
#include "paths.h"
#include "plugin.h"
#include "repl.h"
#include "runs.h"
#include "script.h"
#include "serve.h"
#include "store.h"
#include "table.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int open_db(const char *path, int flags, store **s) {
    int rc = store_open(path, flags, s);
    if (rc) {
        fprintf(stderr, "gonghui: %s\n", err_msg(rc));
        return rc == GH_ENOTDB || rc == GH_EVERSION ? 1 : 1;
    }
    return 0;
}

static void report_problem(void *ctx, const char *msg) {
    (void)ctx;
    printf("%s\n", msg);
}

/* Reads a command's words that takes no options and `nargs` plain arguments
 * (into args). 0, or the usage exit code 2 after saying why. */
static int plain_args(const char *name, int argc, char **argv, int nargs, const char **args,
                      const char *which) {
    int n = cli_plain(name, argc, argv);
    cli_iter it;
    if (n < 0) {
        return 2;
    }
    cli_begin(&it, name, argc, argv); /* for the usage line */
    if (n > nargs) {
        return cli_usage(&it, _("one argument too many: %s"), argv[nargs]);
    }
    if (n < nargs) {
        return cli_usage(&it, "%s", which);
    }
    for (int i = 0; i < n; i++) {
        args[i] = argv[i];
    }
    return 0;
}

/* check: in a child process (store_check_path), so that a damaged file is
 * reported, never a crash. */
int cmd_check(const char *path, int argc, char **argv) {
    uint64_t problems = 0;
    if (plain_args("check", argc, argv, 0, NULL, NULL)) {
        return 2;
    }
    int rc = store_check_path(path, report_problem, NULL, &problems);
    if (rc == GH_ENOTDB) {
        return 1; /* the child said why */
    }
    if (rc == 0 && problems == 0) { /* the records decode: now the log's events as events */
        store *s;
        store_txn *t;
        if (open_db(path, STORE_RDONLY, &s)) {
            return 1;
        }
        if ((rc = store_txn_begin(s, NULL, 0, &t)) == 0) {
            rc = bus_check(t, report_problem, NULL, &problems);
            store_txn_abort(t);
        }
        store_close(s);
    }
    if (rc) {
        fprintf(stderr, "gonghui check: %s\n", err_msg(rc));
        return 1;
    }
    if (problems) {
        printf(
            _n("check: %llu problem found in %s\n", "check: %llu problems found in %s\n", problems),
            (unsigned long long)problems, path);
        return 1;
    }
    printf(_("check: %s is consistent: every record decodes, holds only UTF-8 text and real "
             "numbers, and every index entry matches\n"),
           path);
    return 0;
}

int cmd_backup(const char *path, int argc, char **argv) {
    store *s;
    const char *dest = NULL;
    if (plain_args("backup", argc, argv, 1, &dest, _("where to? (gonghui backup DEST)"))) {
        return 2;
    }
    if (open_db(path, 0, &s)) {
        return 1;
    }
    int rc = store_backup(s, dest);
    store_close(s);
    if (rc) {
        fprintf(stderr, "gonghui backup: %s\n", err_msg(rc));
        return 1;
    }
    printf(_("backup: %s copied to %s\n"), path, dest);
    return 0;
}

static void human(uint64_t n, char *out, size_t outn);

int cmd_compact(const char *path, int argc, char **argv) {
    store *s;
    uint64_t before = 0, after = 0;
    char a[32], b[32];
    if (plain_args("compact", argc, argv, 0, NULL, NULL)) {
        return 2;
    }
    if (open_db(path, 0, &s)) {
        return 1;
    }
    int rc = store_compact(s, &before, &after);
    store_close(s); /* (its map showed the old file) */
    if (rc) {
        fprintf(stderr, "gonghui compact: %s\n", err_msg(rc));
        return 1;
    }
    human(before, a, sizeof a);
    human(after, b, sizeof b);
    printf(_("compact: %s rewritten in key order: %s -> %s\n"), path, a, b);
    return 0;
}

static void human(uint64_t n, char *out, size_t outn) {
    const char *units[] = {"B", "KB", "MB", "GB", "TB"};
    double v = (double)n;
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    snprintf(out, outn, u ? "%.1f %s" : "%.0f %s", v, units[u]);
}

int cmd_stat(const char *path, int argc, char **argv) {
    store *s;
    store_txn *t;
    char *names = NULL, a[32], b[32];
    uint64_t file, map;
    if (plain_args("stat", argc, argv, 0, NULL, NULL)) {
        return 2;
    }
    if (open_db(path, 0, &s)) {
        return 1;
    }
    int rc = store_txn_begin(s, NULL, 0, &t);
    if (rc == 0) {
        rc = store_list(t, &names);
    }
    if (rc) {
        fprintf(stderr, "gonghui stat: %s\n", err_msg(rc));
        store_txn_abort(t);
        store_close(s);
        return 1;
    }
    store_file_info(s, &file, &map);
    human(file, a, sizeof a);
    human(map, b, sizeof b);
    printf(_("database %s: format %d, %s used, map %s\n"), path, STORE_FORMAT, a, b);
    uint64_t free_bytes = 0;
    if (store_free_bytes(t, &free_bytes) == 0 && free_bytes > 0) {
        human(free_bytes, a, sizeof a);
        printf(_("%s of it free pages (gonghui compact gives them back)\n"), a);
    }
    /* the listing goes through table.c, so Chinese headers and names line up */
    tbl *tb = tbl_new(4);
    int oom = !tb || tbl_set_col(tb, 0, _("collection / index")) ||
              tbl_set_col(tb, 1, _("entries")) || tbl_set_col(tb, 2, _("size")) ||
              tbl_set_col(tb, 3, _("key / kind"));
    for (const char *p = names; !oom && *p; p += strlen(p) + 1) {
        const store_coll *c;
        store_stat st;
        char num[32], what[300];
        if (store_coll_get(t, p, &c) != 0 || store_stat_of(t, c, -1, &st) != 0) {
            continue;
        }
        for (int i = -1; !oom && i < c->nindexes; i++) {
            if (i >= 0 && store_stat_of(t, c, i, &st) != 0) {
                continue;
            }
            human(st.bytes, a, sizeof a);
            snprintf(num, sizeof num, "%llu", (unsigned long long)st.entries);
            if (i < 0) {
                snprintf(what, sizeof what, c->auto_key ? _("key %s (auto)") : _("key %s"),
                         c->fields[c->key].name);
            } else {
                snprintf(what, sizeof what, "%s",
                         c->indexes[i].unique ? _("unique index") : _("index"));
            }
            const char *name = i < 0 ? c->name : c->indexes[i].name;
            char label[300];
            snprintf(label, sizeof label, i < 0 ? "%s" : "  %s", name);
            oom = tbl_add_row(tb) || tbl_set(tb, 0, TBL_STR, label, strlen(label)) ||
                  tbl_set(tb, 1, TBL_NUM, num, strlen(num)) ||
                  tbl_set(tb, 2, TBL_NUM, a, strlen(a)) ||
                  tbl_set(tb, 3, TBL_STR, what, strlen(what));
        }
    }
    if (oom) {
        fprintf(stderr, "gonghui stat: %s\n", err_msg(GH_ENOMEM));
    } else {
        tbl_opts o = {.mode = TBL_TABLE};
        tbl_render(tb, &o, stdout);
    }
    tbl_free(tb);
    free(names);
    store_txn_abort(t);
    store_close(s);
    return oom ? 1 : 0;
}

/* gonghui export SCRIPT.lua: the script runs like `gonghui run` (read-only), and
 * the rows it returns are written. */
static int export_script(store *s, const export_opts *eo, int argc, char **argv) {
    lexport_opts x = {.out = eo->out,
                      .format = eo->format,
                      .fields = eo->fields,
                      .unmask = eo->unmask,
                      .yuan = eo->yuan,
                      .labels = eo->labels};
    /* the run's options as `gonghui run` reads them: options, the script, name=value */
    script_opts o;
    char **rargv = calloc((size_t)(eo->nrunargs + eo->nparams + 2), sizeof *rargv);
    int rargc = 0;
    if (!rargv) {
        fprintf(stderr, _("gonghui: out of memory\n"));
        return 1;
    }
    for (int i = 0; i < eo->nrunargs; i++) {
        rargv[rargc++] = eo->runargs[i];
    }
    rargv[rargc++] = (char *)eo->script;
    for (int i = 0; i < eo->nparams; i++) {
        rargv[rargc++] = eo->params[i];
    }
    int code = script_parse(rargc, rargv, &o);
    o.attach = repl_attach;
    if (code) {
        free(rargv);
        return code;
    }
    o.export = &x;
    o.export_argv = argv;
    o.export_argc = argc;
    code = script_run_opts(s, &o);
    free(rargv);
    if (code == 0) {
        int to_stdout = strcmp(eo->out, "-") == 0;
        FILE *msg = to_stdout ? stderr : stdout;
        fprintf(msg, _("export: %llu rows of %s written to %s (%s)\n"),
                (unsigned long long)x.written, eo->script, to_stdout ? "standard output" : eo->out,
                export_format_name(eo->format));
        export_note_masked(msg, x.masked);
    }
    return code;
}

/* gonghui runs [--limit N] | runs show ID */
int cmd_runs(const char *path, int argc, char **argv) {
    store *s;
    int limit = 20, rc;
    const char *id = NULL, *who = NULL;
    if (argc >= 1 && strcmp(argv[0], "show") == 0) {
        if (plain_args("runs show", argc - 1, argv + 1, 1, &id,
                       _("which run? (gonghui runs show ID)"))) {
            return 2;
        }
    } else {
        cli_iter it;
        const cli_opt *o;
        const char *v;
        cli_begin(&it, "runs", argc, argv);
        while ((rc = cli_next(&it, &o, &v)) > 0) {
            char *end;
            if (!o) {
                return cli_usage(&it, _("%s: give runs [--limit N] or runs show ID"), v);
            }
            if (cli_is(&it, o, "--account")) {
                who = v;
            } else if (cli_is(&it, o, "--limit") &&
                       (limit = (int)strtol(v, &end, 10), !*v || *end || limit < 0)) {
                return cli_usage(&it, _("--limit takes a number of runs, not \"%s\""), v);
            }
        }
        if (rc < 0) {
            return 2;
        }
    }
    if (open_db(path, 0, &s)) {
        return 1;
    }
    rc = id ? runs_show(s, id, stdout) : runs_list_account(s, stdout, limit, who);
    store_close(s);
    if (rc) {
        fprintf(stderr, "gonghui runs: %s\n", err_msg(rc));
        return 1;
    }
    return 0;
}

int cmd_new_db;

int cmd_run(const char *db, int argc, char **argv) {
    script_opts o;
    int code = script_parse(argc, argv, &o);
    o.attach = repl_attach;
    if (code == 0) {
        store *s;
        if (dbreg_needs_create(db) && !cmd_new_db && dbreg_known(db)) {
            fprintf(stderr,
                    _("gonghui: %s held a database before (noted in %s) and it is gone or "
                      "empty now; nothing was run. Restore it from a backup (gonghui "
                      "backup makes them), or give --new-db to start a new, empty "
                      "database there.\n"),
                    db, dbreg_file());
            code = 1;
        } else if (open_db(db, STORE_CREATE, &s)) {
            code = 1;
        } else {
            dbreg_note(db);
            code = script_run_opts(s, &o);
            store_close(s);
        }
    }
    return code;
}

int cmd_repl(const char *db, int argc, char **argv) {
    store *s;
    if (open_db(db, 0, &s)) {
        return 1;
    }
    int code = repl_main(s, argc, argv);
    store_close(s);
    return code;
}

int cmd_import(const char *db, int argc, char **argv) {
    import_opts o;
    store *s;
    int code = import_parse(argc, argv, &o);
    if (code == 0) {
        if (open_db(db, 0, &s)) {
            code = 1;
        } else {
            code = import_run(s, &o);
            store_close(s);
        }
    }
    free(o.map);
    return code;
}

int cmd_export(const char *db, int argc, char **argv) {
    export_opts o;
    store *s;
    int code = export_parse(argc, argv, &o);
    if (code == 0) {
        if (open_db(db, 0, &s)) {
            code = 1;
        } else {
            code = o.script ? export_script(s, &o, argc, argv) : export_run(s, &o);
            store_close(s);
        }
    }
    free(o.params);
    free(o.runargs);
    return code;
}

int cmd_serve(const char *db, int argc, char **argv) {
    return serve_main(db, argc, argv);
}

int cmd_users(const char *db, int argc, char **argv) {
    store *s;
    if (open_db(db, 0, &s)) {
        return 1;
    }
    int code = accounts_cli(s, argc, argv, stdin);
    store_close(s);
    return code;
}

int cmd_events(const char *db, int argc, char **argv) {
    store *s;
    if (open_db(db, 0, &s)) {
        return 1;
    }
    int code = cli_events(s, argc, argv);
    store_close(s);
    return code;
}

int cmd_federation(const char *db, int argc, char **argv) {
    store *s;
    /* add and ship may be the first thing a database does */
    int flags = argc > 0 && (strcmp(argv[0], "add") == 0 || strcmp(argv[0], "ship") == 0 ||
                             strcmp(argv[0], "receive") == 0)
                    ? STORE_CREATE
                    : 0;
    if (open_db(db, flags, &s)) {
        return 1;
    }
    int code = cli_federation(s, argc, argv);
    store_close(s);
    return code;
}

const char *cmd_version(void) {
    return GH_VERSION_FULL;
}

/* gonghui help [--man] [COMMAND [SUBCOMMAND]] */
int cmd_help(const char *db, int argc, char **argv) {
    cli_iter it;
    const cli_opt *o;
    const char *v;
    char name[128] = "";
    int rc, man = 0;
    (void)db;
    cli_begin(&it, "help", argc, argv);
    while ((rc = cli_next(&it, &o, &v)) > 0) {
        if (cli_is(&it, o, "--man")) {
            man = 1;
        } else if (!o) {
            size_t k = strlen(name);
            snprintf(name + k, sizeof name - k, "%s%s", k ? " " : "", v);
        }
    }
    if (rc < 0) {
        return 2;
    }
    if (man) {
        cli_man(stdout, GH_VERSION_FULL);
        return 0;
    }
    return cli_help(stdout, name[0] ? name : NULL, GH_VERSION_FULL);
}

/* What completion lists from the database: collections, consumers. Quiet: a
 * missing database lists nothing. */
static int list_consumer(void *ctx, const bus_consumer *c) {
    fprintf(ctx, "%s\n", c->name);
    return 0;
}

/* The installed programs by the names `run` finds them by (script_find):
 * NAME.lua and FOLDER/NAME.lua under paths_scripts(), lib/ left out. */
static void list_programs(FILE *f) {
    const char *top = paths_scripts();
    DIR *d = top ? opendir(top) : NULL;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (e->d_name[0] == '.' || strcmp(e->d_name, "lib") == 0) {
            continue;
        }
        if (n > 4 && strcmp(e->d_name + n - 4, ".lua") == 0) {
            fprintf(f, "%s\n", e->d_name);
            continue;
        }
        char sub[PATH_MAX];
        snprintf(sub, sizeof sub, "%s/%s", top, e->d_name);
        DIR *d2 = opendir(sub);
        struct dirent *e2;
        while (d2 && (e2 = readdir(d2)) != NULL) {
            size_t n2 = strlen(e2->d_name);
            if (n2 > 4 && strcmp(e2->d_name + n2 - 4, ".lua") == 0) {
                fprintf(f, "%s/%s\n", e->d_name, e2->d_name);
            }
        }
        if (d2) {
            closedir(d2);
        }
    }
    if (d) {
        closedir(d);
    }
}

static void list_names(FILE *f, const char *what, const char *db) {
    store *s;
    store_txn *t;
    char *names = NULL;
    if (strcmp(what, "program") == 0) {
        list_programs(f);
        return;
    }
    if (store_open(db, 0, &s) != 0) {
        return;
    }
    if (store_txn_begin(s, NULL, 0, &t) == 0) {
        if (strcmp(what, "collection") == 0 && store_list(t, &names) == 0) {
            for (const char *p = names; *p; p += strlen(p) + 1) {
                fprintf(f, "%s\n", p);
            }
        } else if (strcmp(what, "consumer") == 0) {
            bus_consumer_each(t, list_consumer, f);
        }
        free(names);
        store_txn_abort(t);
    }
    store_close(s);
}

/* gonghui __complete CWORD gonghui WORD... (tools/completion/ calls it) */
int cmd_complete(const char *db, int argc, char **argv) {
    char *end;
    (void)db;
    if (argc < 2) {
        return 2;
    }
    long cword = strtol(argv[0], &end, 10);
    if (*end || cword < 0) {
        return 2;
    }
    cli_complete(stdout, argc - 1, argv + 1, (int)cword, list_names);
    return 0;
}

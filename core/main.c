/*
 * main.c — the command line: parses options and wires the subsystems.
 *
 *   gonghui [--db DIR] run FILE.lua [name=value ...]
 *   gonghui [--db DIR] check
 *   gonghui [--db DIR] backup DEST
 *   gonghui [--db DIR] stat
 *
 * The database is --db DIR, else $GONGHUI_DB, else ./gonghui.db.
 * Exit codes: 0 success, 1 the work failed (or check found problems),
 * 2 usage errors.
 */
#include "cli_events.h"
#include "dbreg.h"
#include "err.h"
#include "export.h"
#include "import.h"
#include "lua_export.h"
#include "plugin.h"
#include "repl.h"
#include "accounts.h"
#include "runs.h"
#include "serve.h"
#include "script.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gh_version.h" /* generated: GH_VERSION, GH_VERSION_FULL */

static void usage(FILE *f) {
    fprintf(f,
            _("gonghui %s — scripting platform for trade-union service programs\n"
              "\n"
              "usage: gonghui [--db DIR] COMMAND [ARGS]\n"
              "\n"
              "commands:\n"
              "  run [OPTIONS] FILE.lua [name=value ...]  run a Lua program against the "
              "database\n"
              "      --dry-run       run, roll everything back, print what would change\n"
              "      --atomic        the whole run is one transaction\n"
              "      --timeout T     time limit (default 1h; 90s, 10m, 0 = none)\n"
              "      --memory M      memory limit of the script (default 1G; 512M, 0 = none)\n"
              "      --seed N        math.random's seed (default: random, recorded)\n"
              "      --now TIME      the time the script sees (default: the start)\n"
              "      --out DIR       folder for run.open(name) files\n"
              "      --in DIR        a folder the script may read files from (repeatable)\n"
              "      -e CODE         run CODE (before FILE, or alone)\n"
              "      -i              then the REPL on the script's state (on a terminal)\n"
              "  runs [--limit N]                 the last runs (default 20)\n"
              "  runs show ID                     one run: script, hashes, seed, counts, "
              "outcome\n"
              "  repl [--write] [-e CODE] [FILE.lua]  ad hoc questions (also: gonghui alone "
              "on a terminal)\n"
              "  check                          verify every record and index entry\n"

              "  backup DEST                    write a compacted, consistent copy to DEST\n"
              "  stat                           list collections, records, indexes and sizes\n"
              "  import COLLECTION FILE [--format csv|tsv|jsonl|xlsx] [--sheet S] [--map C=f]\n"
              "         [--encoding auto|utf-8|gb18030] [--mode insert|upsert] [--strict] "
              "[--yuan]\n"
              "         [--chunk N] [--resume]  (commit every N rows; go on after a kill)\n"
              "                                 rows of a file into a collection; bad rows "
              "to FILE.rejects.csv\n"
              "  export COLLECTION --out FILE [--format csv|tsv|json|jsonl|xlsx] [--fields a,b] "
              "[--unmask]\n"
              "         [--yuan] [--headers names|labels]\n"
              "  export SCRIPT.lua --out FILE [same options] [name=value ...]\n"
              "                                 the rows the script returns (read-only run)\n"
              "  events tail [--topic P] [--since SEQ|TIME] [--limit N] [--follow] [--json]\n"
              "  events consumers | run NAME | replay NAME --from SEQ|TIME\n"
              "  events dead [NAME] | dead retry ID | dead drop ID | trim\n"
              "\n"
              "options:\n"
              "  --db DIR     the database directory (default: $GONGHUI_DB, else "
              "./gonghui.db)\n"
              "  --plugins DIR  look for native plugins (NAME.so) here first, then in "
              "$GONGHUI_PLUGIN_PATH\n"
              "               and the plugin folder of the build or installation\n"
              "  --new-db     let run start a new, empty database where one was before\n"
              "  --help       this text\n"
              "  --version    the version\n"),
            GH_VERSION);
    fprintf(f, _("\nserving many clerks (README: gonghui serve):\n"
                 "  serve [--port N] [--bind ADDR] [--timeout S] [--memory M] [--body-limit B]\n"
                 "                                 the programs' endpoints and pages over HTTP\n"
                 "  users add|list|disable|enable|grant|passwd|unlock ...  its accounts\n"
                 "  runs --account NAME              the runs (requests) of one account\n"));
}

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

static int cmd_check(const char *path) {
    store *s;
    uint64_t problems = 0;
    if (open_db(path, 0, &s)) {
        return 1;
    }
    int rc = store_check(s, report_problem, NULL, &problems);
    if (rc) {
        fprintf(stderr, "gonghui check: %s\n", err_msg(rc));
        store_close(s);
        return 1;
    }
    store_close(s);
    if (problems) {
        printf(
            _n("check: %llu problem found in %s\n", "check: %llu problems found in %s\n", problems),
            (unsigned long long)problems, path);
        return 1;
    }
    printf(_("check: %s is consistent: every record decodes and every index entry matches\n"),
           path);
    return 0;
}

static int cmd_backup(const char *path, const char *dest) {
    store *s;
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

static int cmd_stat(const char *path) {
    store *s;
    store_txn *t;
    char *names = NULL, a[32], b[32];
    uint64_t file, map;
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
    printf("%-28s %12s %12s\n", "collection / index", "entries", "size");
    for (const char *p = names; *p; p += strlen(p) + 1) {
        const store_coll *c;
        store_stat st;
        if (store_coll_get(t, p, &c) != 0 || store_stat_of(t, c, -1, &st) != 0) {
            continue;
        }
        human(st.bytes, a, sizeof a);
        printf(_("%-28s %12llu %12s   key %s%s\n"), c->name, (unsigned long long)st.entries, a,
               c->fields[c->key].name, c->auto_key ? " (auto)" : "");
        for (int i = 0; i < c->nindexes; i++) {
            char label[300];
            if (store_stat_of(t, c, i, &st) != 0) {
                continue;
            }
            human(st.bytes, a, sizeof a);
            snprintf(label, sizeof label, "  %s", c->indexes[i].name);
            printf("%-28s %12llu %12s   %s\n", label, (unsigned long long)st.entries, a,
                   c->indexes[i].unique ? "unique" : "index");
        }
    }
    free(names);
    store_txn_abort(t);
    store_close(s);
    return 0;
}

/* gonghui export SCRIPT.lua: the script runs like `gonghui run` (read-only), and
 * the rows it returns are written. */
static int export_script(store *s, const export_opts *eo, int argc, char **argv) {
    static const char *const names[] = {"CSV for Excel", "TSV", "JSON", "JSON Lines",
                                        "Excel workbook"};
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
                names[eo->format]);
        if (x.masked) {
            fprintf(msg, _("export: ID numbers and phone numbers are masked; give --unmask to "
                           "write them whole (the run record notes it)\n"));
        }
    }
    return code;
}

/* gonghui runs [--limit N] | runs show ID */
static int cmd_runs(const char *path, int n, char **args) {
    store *s;
    int limit = 20, rc;
    if (n >= 1 && strcmp(args[0], "show") == 0 && n != 2) {
        fprintf(stderr, _("gonghui runs show: which run? (gonghui runs show ID)\n"));
        return 2;
    }
    const char *who = NULL;
    for (int i = 0; n >= 1 && strcmp(args[0], "show") != 0 && i < n; i += 2) {
        char *end;
        if (i + 1 < n && strcmp(args[i], "--account") == 0) {
            who = args[i + 1];
        } else if (i + 1 >= n || strcmp(args[i], "--limit") != 0 ||
                   (limit = (int)strtol(args[i + 1], &end, 10), *end || limit < 0)) {
            fprintf(stderr, _("gonghui runs: usage: gonghui runs [--limit N] [--account NAME] | "
                              "runs show ID\n"));
            return 2;
        }
    }
    if (open_db(path, 0, &s)) {
        return 1;
    }
    rc = n >= 1 && strcmp(args[0], "show") == 0 ? runs_show(s, args[1], stdout)
                                                : runs_list_account(s, stdout, limit, who);
    store_close(s);
    if (rc) {
        fprintf(stderr, "gonghui runs: %s\n", err_msg(rc));
        return 1;
    }
    return 0;
}

int main(int argc, char **argv) {
    i18n_init(); /* before anything is printed, before any thread */
    const char *db = getenv("GONGHUI_DB");
    char **args = calloc((size_t)argc + 1, sizeof *args);
    int n = 0, code = 2, new_db = 0;
    if (!args) {
        fprintf(stderr, _("gonghui: out of memory\n"));
        return 1;
    }
    if (!db || !*db) {
        db = "gonghui.db";
    }
    /* Options may come before or after the command; `--` ends them. */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            while (++i < argc) {
                args[n++] = argv[i];
            }
            break;
        }
        if (strcmp(argv[i], "--db") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, _("gonghui: --db needs a directory\n"));
                goto out;
            }
            db = argv[++i];
        } else if (strncmp(argv[i], "--db=", 5) == 0) {
            db = argv[i] + 5;
        } else if (strcmp(argv[i], "--plugins") == 0 || strncmp(argv[i], "--plugins=", 10) == 0) {
            const char *dir = argv[i][9] == '=' ? argv[i] + 10 : i + 1 < argc ? argv[++i] : NULL;
            struct stat st;
            if (!dir || stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
                fprintf(stderr, _("gonghui: --plugins needs an existing folder%s%s\n"),
                        dir ? ": " : "", dir ? dir : "");
                goto out;
            }
            plugin_set_dir(dir);
        } else if (strcmp(argv[i], "--new-db") == 0) {
            new_db = 1;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            code = 0;
            goto out;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("gonghui %s\n", GH_VERSION_FULL);
            code = 0;
            goto out;
        } else if (argv[i][0] == '-' && argv[i][1] == '-' && n < 2 &&
                   !(n == 1 && (strcmp(args[0], "run") == 0 || strcmp(args[0], "repl") == 0 ||
                                strcmp(args[0], "import") == 0 || strcmp(args[0], "export") == 0 ||
                                strcmp(args[0], "events") == 0 || strcmp(args[0], "serve") == 0 ||
                                strcmp(args[0], "users") == 0 || strcmp(args[0], "runs") == 0))) {
            /* (those have their own options) */
            fprintf(stderr, _("gonghui: unknown option %s (see gonghui --help)\n"), argv[i]);
            goto out;
        } else {
            args[n++] = argv[i];
        }
    }
    if (n == 0 && isatty(0) && isatty(1)) {
        args[n++] = "repl"; /* gonghui alone on a terminal: the REPL */
    }
    if (n == 0) {
        usage(stderr);
    } else if (strcmp(args[0], "repl") == 0) {
        store *s;
        if (open_db(db, 0, &s)) {
            code = 1;
        } else {
            code = repl_main(s, n - 1, args + 1);
            store_close(s);
        }
    } else if (strcmp(args[0], "run") == 0) {
        script_opts o;
        if ((code = script_parse(n - 1, args + 1, &o)) == 0) {
            store *s;
            if (dbreg_needs_create(db) && !new_db && dbreg_known(db)) {
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
    } else if (strcmp(args[0], "runs") == 0) {
        code = cmd_runs(db, n - 1, args + 1);
    } else if (strcmp(args[0], "serve") == 0) {
        code = serve_main(db, n - 1, args + 1);
    } else if (strcmp(args[0], "users") == 0) {
        store *s;
        if (open_db(db, 0, &s)) {
            code = 1;
        } else {
            code = accounts_cli(s, n - 1, args + 1, stdin);
            store_close(s);
        }
    } else if (strcmp(args[0], "check") == 0) {
        code = cmd_check(db);
    } else if (strcmp(args[0], "backup") == 0) {
        if (n < 2) {
            fprintf(stderr, _("gonghui backup: where to? (gonghui backup DEST)\n"));
        } else {
            code = cmd_backup(db, args[1]);
        }
    } else if (strcmp(args[0], "stat") == 0) {
        code = cmd_stat(db);
    } else if (strcmp(args[0], "import") == 0) {
        import_opts o;
        store *s;
        if ((code = import_parse(n - 1, args + 1, &o)) == 0) {
            if (open_db(db, 0, &s)) {
                code = 1;
            } else {
                code = import_run(s, &o);
                store_close(s);
            }
        }
        free(o.map);
    } else if (strcmp(args[0], "export") == 0) {
        export_opts o;
        store *s;
        if ((code = export_parse(n - 1, args + 1, &o)) == 0) {
            if (open_db(db, 0, &s)) {
                code = 1;
            } else {
                code = o.script ? export_script(s, &o, n - 1, args + 1) : export_run(s, &o);
                store_close(s);
            }
        }
        free(o.params);
        free(o.runargs);
    } else if (strcmp(args[0], "events") == 0) {
        store *s;
        if (open_db(db, 0, &s)) {
            code = 1;
        } else {
            code = cli_events(s, n - 1, args + 1);
            store_close(s);
        }
    } else {
        fprintf(stderr, _("gonghui: unknown command '%s' (see gonghui --help)\n"), args[0]);
    }
out:
    plugin_set_dir(NULL);
    free(args);
    return code;
}

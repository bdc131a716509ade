/*
 * script.c — the batch runner: one script, one sandboxed Lua state, one
 * run record.
 *
 * Calls ghstate.c (the state: sandbox, db, bus, params, run.*, export),
 * sandbox.c (limits, signals), lua_store.c (the whole-run transaction of
 * --atomic/--dry-run) and runs.c (the record). It knows nothing of the REPL:
 * -i calls the attach function its caller passes.
 *
 * A run, step by step:
 *   1. options -> seed (given or random), clock (--now or the start time),
 *      uid (random, 16 hex digits);
 *   2. ghstate_new (db, bus, params, run.*, export); the script is read
 *      and hashed (text only);
 *   3. --atomic / --dry-run: lstore_run_begin;
 *   4. sandbox_arm; lua_pcall; sandbox_disarm (no limit or signal can cut
 *      the steps below short);
 *   5. outcome: ok, error, timeout, memory or interrupted (Ctrl-C/SIGTERM);
 *      --atomic commits only an ok run; --dry-run never commits and prints
 *      the writes it rolled back;
 *   6. runs_record writes the record in its own transaction.
 * Invariants:
 *   1. A stopped or failed run leaves no open transaction behind: the stop
 *      raises inside Lua, db.atomic aborts on the way out, and the
 *      whole-run transaction is aborted in step 5.
 *   2. A whole run (--atomic, --dry-run) that fills the map is one unit of
 *      work too (store.h): its transaction is aborted, the state freed, the
 *      map grown (store_unit_again) and steps 2-5 run again from a fresh
 *      state, with the same seed, clock, uid and parameters, the time left
 *      of --timeout, up to STORE_GROW_TRIES times. A run is deterministic
 *      given those and the files it reads, except for what it does outside
 *      its transaction, which a redo would do twice or differently: so a
 *      try that printed, wrote or asked to write a file, read standard
 *      input, called a native plugin or read the host's clock
 *      (sandbox_went_outside) is not redone: the map still grows, nothing
 *      is stored and the message asks for the command again. (Growing
 *      the map ahead cannot do instead: no one knows beforehand how much a
 *      run writes, and LMDB cannot grow the map under an open transaction.)
 */
#include "script.h"
#include "cli.h"
#include "paths.h"

#include "bus.h"
#include "clock.h"
#include "codec.h"
#include "err.h"
#include "lua_export.h"
#include "lua_store.h"
#include "parse.h"
#include "runs.h"
#include "sha256.h"
#include "sandbox.h"
#include "ghstate.h"
#include "progress.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <lauxlib.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *script_find(const char *file) {
    static char found[PATH_MAX * 2];
    const char *dir = paths_scripts(), *rel = file;
    if (access(file, F_OK) == 0 || file[0] == '/' || strncmp(file, "./", 2) == 0 || !dir) {
        return file;
    }
    if (strncmp(rel, "scripts/", 8) == 0) { /* as the README writes them */
        rel += 8;
    }
    snprintf(found, sizeof found, "%s/%s", dir, rel);
    return access(found, F_OK) == 0 ? found : file;
}

/* ---- options ------------------------------------------------------------------------ */

/* "90", "90s", "500ms", "10m", "2h" -> seconds; -1 if not a duration. */
static double parse_duration(const char *z) {
    char *end;
    double v = strtod(z, &end);
    /* 1e400 is inf, "nan" is NaN: neither is a time limit (the timer took
     * them as garbage: issue 16, class 11); a year is the most */
    if (end == z || !(v >= 0) || !isfinite(v)) {
        return -1;
    }
    double unit = -1;
    if (!*end || strcmp(end, "s") == 0) {
        unit = 1;
    } else if (strcmp(end, "ms") == 0) {
        unit = 0.001;
    } else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0) {
        unit = 60;
    } else if (strcmp(end, "h") == 0) {
        unit = 3600;
    }
    return unit < 0 || v * unit > 366.0 * 86400 ? -1 : v * unit;
}

/* "512M", "2G", "800K", "512" (MB) -> bytes; -1 if not a size. */
static double parse_size(const char *z) {
    char *end;
    double v = strtod(z, &end);
    if (end == z || !(v >= 0) || !isfinite(v)) {
        return -1;
    }
    double unit = 1 << 20;
    if (*end == 'K' || *end == 'k') {
        unit = 1 << 10;
    } else if (*end == 'G' || *end == 'g') {
        unit = 1 << 30;
    } else if (*end == 'M' || *end == 'm' || !*end) {
        unit = 1 << 20;
    } else {
        return -1;
    }
    if (*end && end[1] && strcmp(end + 1, "B") != 0 && strcmp(end + 1, "b") != 0) {
        return -1;
    }
    return v * unit;
}

static int usage_error(const cli_iter *it, const char *what, const char *value) {
    return cli_usage(it, "%s: \"%s\"", what, value);
}

/* The options as help.c lists them for `run` (cli.h parses them, as for every
 * command); options and arguments may mix: the first argument without '=' is
 * the script, the name=value ones its parameters (gathered at argv's front). */
int script_parse(int argc, char **argv, script_opts *o) {
    cli_iter it;
    const cli_opt *opt;
    const char *v;
    int rc, npos = 0;
    memset(o, 0, sizeof *o);
    o->timeout = SCRIPT_DEFAULT_TIMEOUT;
    o->memory = SCRIPT_DEFAULT_MEMORY;
    cli_begin(&it, "run", argc, argv);
    while ((rc = cli_next(&it, &opt, &v)) > 0) {
        double d;
        if (!opt) {
            if (!o->file && npos == 0 && !strchr(v, '=')) {
                o->file = v;
            } else {
                argv[npos++] = (char *)v; /* npos < it.i: only words already read move */
            }
        } else if (cli_is(&it, opt, "--dry-run")) {
            o->dry_run = 1;
        } else if (cli_is(&it, opt, "--atomic")) {
            o->atomic = 1;
        } else if (cli_is(&it, opt, "--interactive")) {
            o->interactive = 1;
        } else if (cli_is(&it, opt, "--exec")) {
            o->code = v;
        } else if (cli_is(&it, opt, "--timeout")) {
            if ((d = parse_duration(v)) < 0) {
                return usage_error(
                    &it,
                    _("--timeout expects seconds, or 500ms, 10m, 2h (0: none; at most 366 days)"),
                    v);
            }
            o->timeout = d;
        } else if (cli_is(&it, opt, "--memory")) {
            if ((d = parse_size(v)) < 0 || d > (double)SIZE_MAX / 2) {
                return usage_error(&it, _("--memory expects a size such as 512M or 2G (0: none)"),
                                   v);
            }
            o->memory = (size_t)d;
        } else if (cli_is(&it, opt, "--seed")) {
            char *end;
            o->seed = strtoull(v, &end, 10);
            if (!*v || *end || *v == '-') {
                return usage_error(&it, _("--seed expects a whole number"), v);
            }
            o->has_seed = 1;
        } else if (cli_is(&it, opt, "--now")) {
            int prc = parse_now(v, strlen(v), &o->now);
            if (prc != 0) {
                return cli_usage(
                    &it, _("--now \"%s\" %s: give YYYY-MM-DD [HH:MM[:SS]] or seconds since 1970"),
                    v, err_msg(prc));
            }
            o->has_now = 1;
        } else if (cli_is(&it, opt, "--in")) {
            struct stat st;
            if (stat(v, &st) != 0 || !S_ISDIR(st.st_mode)) {
                return usage_error(&it, _("--in expects an existing folder"), v);
            }
            if (o->nin >= 8) {
                return usage_error(&it, _("--in may be given at most 8 times"), v);
            }
            o->in_dirs[o->nin++] = v;
        } else if (cli_is(&it, opt, "--out")) {
            struct stat st;
            if (stat(v, &st) != 0 || !S_ISDIR(st.st_mode)) {
                return usage_error(&it, _("--out expects an existing folder"), v);
            }
            o->out_dir = v;
        }
    }
    if (rc < 0) {
        return SCRIPT_EXIT_USAGE;
    }
    if (o->dry_run && o->atomic) {
        return usage_error(&it, _("--dry-run and --atomic do not go together"), "--atomic");
    }
    for (int i = 0; i < npos; i++) { /* the run record keeps them: text (issue 16, class 11) */
        if (!codec_utf8_valid((const unsigned char *)argv[i], strlen(argv[i]), NULL)) {
            char shown[200];
            codec_show_bytes(argv[i], strlen(argv[i]), shown, sizeof shown);
            return cli_usage(&it,
                             _("the parameter \"%s\" holds bytes that are not UTF-8 text: give "
                               "parameters as UTF-8 (a terminal set to GBK: set it to UTF-8)"),
                             shown);
        }
    }
    if (!o->file && !o->code) {
        cli_usage(&it, _("which script? (gonghui run [OPTIONS] FILE.lua [name=value ...], or -e "
                         "CODE)"));
        return SCRIPT_EXIT_USAGE;
    }
    if (o->file) {
        o->file = script_find(o->file);
    }
    o->nparams = npos;
    o->params = argv;
    return 0;
}

/* ---- the run -------------------------------------------------------------------------- */

static char run_uid[17];

const char *script_run_uid(void) {
    return run_uid;
}

/* Prints what a dry run would have changed. */
static void print_dry(const store_counts *c, int n) {
    int any = 0;
    for (int i = 0; i < n; i++) { /* gonghui's own collections (_events...) are not shown */
        any |= c[i].name[0] != '_' && (c[i].inserted || c[i].updated || c[i].deleted);
    }
    if (!any) {
        printf(_("dry run: nothing was stored; the run would have changed no records\n"));
        return;
    }
    printf(_("dry run: nothing was stored; the run would have changed:\n"));
    printf("  %-24s %10s %10s %10s\n", _("collection"), _("inserted"), _("updated"), _("deleted"));
    for (int i = 0; i < n; i++) {
        if (c[i].name[0] != '_' && (c[i].inserted || c[i].updated || c[i].deleted)) {
            printf("  %-24s %10llu %10llu %10llu\n", c[i].name, (unsigned long long)c[i].inserted,
                   (unsigned long long)c[i].updated, (unsigned long long)c[i].deleted);
        }
    }
}

/* A dry run writes no files where the user keeps them: its output folder is
 * a fresh throw-away folder. Makes it into buf (PATH_MAX); 0 or -1. */
static int dry_folder(char *buf) {
    const char *tmp = getenv("TMPDIR");
    snprintf(buf, PATH_MAX, "%s/gonghui-dry-run-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    return mkdtemp(buf) ? 0 : -1;
}

/* After a dry run: an empty throw-away folder goes; one the script wrote
 * into is named, so the user can look and then delete it. */
static void dry_folder_done(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));) {
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    }
    if (d) {
        closedir(d);
    }
    if (n == 0) {
        rmdir(dir);
    } else {
        fflush(stdout);
        printf(_("dry run: the %d file(s) the script wrote are in the throw-away folder %s\n"), n,
               dir);
    }
}

static const char *fmt_limit_mb(size_t bytes, char *buf, size_t n) {
    snprintf(buf, n, "%.0f MB", (double)bytes / (1 << 20));
    return buf;
}

int script_run_opts(store *s, const script_opts *o) {
    double started = clock_wall_s();
    int code = SCRIPT_EXIT_FAILED, rc;
    const char *outcome = "error";
    char *errmsg = NULL;
    char script_sha[65] = "", code_sha[65] = "", dir[PATH_MAX], host[256] = "?";
    store_counts *counts = NULL;
    int ncounts = 0, whole = o->dry_run || o->atomic;
    sandbox *sb = NULL;
    char dry_dir[PATH_MAX] = "";
    const char *out_dir = o->out_dir;
    if (o->dry_run) {
        if (dry_folder(dry_dir) != 0) {
            fprintf(stderr,
                    _("gonghui run: --dry-run: no throw-away folder for the run's files: %s\n"),
                    strerror(errno));
            return SCRIPT_EXIT_IOERR;
        }
        out_dir = dry_dir;
    }

    snprintf(run_uid, sizeof run_uid, "%016llx", (unsigned long long)runs_random64());
    bus_topic_count *evc = NULL; /* the run's events per topic (bus_append counts them) */
    int nevc = 0;
    sandbox_opts so = {.timeout = o->timeout, .memory = o->memory, .out_dir = out_dir};
    so.seed = (o->has_seed ? o->seed : runs_random64()) & INT64_MAX;
    so.now = o->has_now ? o->now : (int64_t)time(NULL);
    snprintf(dir, sizeof dir, "%s", o->file ? o->file : ".");
    char *slash = o->file ? strrchr(dir, '/') : NULL;
    if (slash) {
        *slash = 0;
    } else {
        snprintf(dir, sizeof dir, ".");
    }
    so.script_dir = dir;
    so.lib_dir = paths_lib();
    for (int k = 0; k < o->nin; k++) {
        so.in_dirs[so.nin++] = o->in_dirs[k];
    }
    if (dry_dir[0] && so.nin < 8) { /* what a real run could read there, a dry run reads */
        so.in_dirs[so.nin++] = o->out_dir ? o->out_dir : ".";
    }
    ghstate_opts go = {.kind = GHSTATE_RUN,
                       .sb = so,
                       .s = s,
                       .uid = run_uid,
                       .mode = o->dry_run  ? "dry-run"
                               : o->atomic ? "atomic"
                                           : "run",
                       .dry_run = o->dry_run,
                       .nparams = o->nparams,
                       .params = o->params,
                       .export_dir = out_dir,
                       .readonly = o->export != NULL};
    lua_State *L = NULL;
    int status = LUA_OK;
    for (int attempt = 0;; attempt++) { /* a whole run that filled the map: see the top */
        if ((rc = ghstate_new(&go, &sb))) {
            if (rc == GH_EINVAL) {
                return SCRIPT_EXIT_USAGE;
            }
            fprintf(stderr, _("gonghui: out of memory\n"));
            return SCRIPT_EXIT_FAILED;
        }
        L = sandbox_state(sb);
        lua_pushcfunction(L, lstore_traceback); /* 1: message handler */
        lua_getglobal(L, "db");                 /* 2: db */
        progress_begin();

        /* the chunks: -e first, then the file (3 and 4 when both) */
        int nchunks = 0;
        if (o->code) {
            sha256_hex(o->code, strlen(o->code), code_sha);
            if (luaL_loadbufferx(L, o->code, strlen(o->code), "=(command line)", "t") != LUA_OK) {
                fprintf(stderr, "%s\n", lua_tostring(L, -1));
                errmsg = strdup(lua_tostring(L, -1));
                goto record;
            }
            nchunks++;
        }
        if (o->file) {
            if (sandbox_load_file(sb, o->file, script_sha) != 0) {
                const char *m = lua_tostring(L, -1);
                fprintf(stderr, "%s\n", m);
                errmsg = strdup(m);
                if (access(o->file, R_OK) != 0) {
                    code = SCRIPT_EXIT_NOINPUT;
                }
                goto record;
            }
            nchunks++;
        }
        lstore_set_progress(L, 2, progress_draw); /* long scans draw the bar too */
        if (whole && (rc = lstore_run_begin(L, 2)) != 0) {
            fprintf(stderr, "gonghui run: %s\n", err_msg(rc));
            errmsg = strdup(err_msg(rc));
            code = SCRIPT_EXIT_IOERR;
            goto record;
        }
        status = LUA_OK;
        sandbox_arm(sb);
        for (int i = 0; i < nchunks && status == LUA_OK; i++) {
            int last = i == nchunks - 1;
            lua_pushvalue(L, 3 + i);
            status = lua_pcall(L, 0, o->export && last ? 1 : 0, 1);
            if (o->export && last && status == LUA_OK) {
                /* the rows the script returned, written inside the run's limits */
                lua_pushcfunction(L, lexport_cli);
                lua_insert(L, -2);
                lua_pushlightuserdata(L, o->export);
                status = lua_pcall(L, 2, 0, 1);
            }
        }
        sandbox_disarm(sb);
        progress_clear();
        if (!whole || sandbox_stopped(sb, NULL) || !lstore_take_map_full(L, 2)) {
            break;
        }
        /* the whole run filled the map: nothing of it can be stored */
        lstore_run_end(L, 2, 0);
        int outside = sandbox_went_outside(sb);
        sandbox_free(sb);
        sb = NULL;
        L = NULL;
        double left = o->timeout > 0 ? o->timeout - (clock_wall_s() - started) : 0;
        if (!store_unit_again(s, GH_EMAPFULL, attempt)) {
            rc = GH_EMAPFULL; /* the last error says why */
        } else if (!outside && (o->timeout <= 0 || left > 0)) {
            go.sb.timeout = o->timeout > 0 ? left : o->timeout; /* --timeout is the run's */
            continue; /* the map grew: the same run again, from a fresh state */
        } else {
            /* the map grew, but the run printed or wrote outside the database
         * (or its time is up): running it again would do that twice */
            rc = err_set(GH_EMAPFULL,
                         _("the database map filled during the run after the run had printed, "
                           "written a file or called a plugin, so it was not run again; nothing "
                           "of it is stored; the map has doubled: run the command again"));
        }
        fprintf(stderr, _("gonghui run: the run's changes could not be stored: %s\n"), err_msg(rc));
        errmsg = strdup(err_msg(rc));
        code = SCRIPT_EXIT_IOERR;
        goto record;
    }

    int signo, stop = sandbox_stopped(sb, &signo);
    const char *m = status != LUA_OK ? lua_tostring(L, -1) : NULL;
    char lim[32];
    if (stop == SB_TIMEOUT) {
        outcome = "timeout";
        code = SCRIPT_EXIT_TIMEOUT;
        fprintf(stderr,
                _("gonghui run: stopped: the run passed its time limit of %g s (--timeout); "
                  "its open transaction was rolled back\n"),
                o->timeout);
    } else if (stop == SB_INTERRUPTED) {
        outcome = "interrupted";
        code = 128 + signo;
        fprintf(
            stderr, _("gonghui run: interrupted (%s); the open transaction was rolled back%s\n"),
            signo == SIGINT ? "Ctrl-C" : "SIGTERM",
            whole ? _(": nothing of the run is stored") : _("; units committed before it stay"));
    } else if (status != LUA_OK && sandbox_memory_hit(sb) && m &&
               (strstr(m, "not enough memory") || strstr(m, "out of memory"))) {
        outcome = "memory";
        code = SCRIPT_EXIT_MEMORY;
        fprintf(stderr,
                _("gonghui run: stopped: the script needed more memory than its limit of %s "
                  "(--memory); its open transaction was rolled back\n%s\n"),
                fmt_limit_mb(o->memory, lim, sizeof lim), m);
    } else if (status != LUA_OK) {
        fprintf(stderr, "%s\n", m ? m : _("(error object is not a string)"));
    } else {
        outcome = "ok";
        code = SCRIPT_EXIT_OK;
    }
    if (status != LUA_OK || stop) {
        errmsg = strdup(m ? m : outcome);
    }
    if (whole) {
        const store_counts *c = lstore_run_counts(L, 2, &ncounts);
        counts = store_counts_copy(c, ncounts);
        if (lstore_run_txn(L, 2)) { /* its events, counted as they were published */
            const store_counts *ev = store_txn_tallies(lstore_run_txn(L, 2), &nevc);
            bus_topic_counts_of(ev, nevc, &evc, &nevc);
        }
        int commit = o->atomic && code == SCRIPT_EXIT_OK;
        rc = lstore_run_end(L, 2, commit);
        if (rc) {
            fprintf(stderr, _("gonghui run: the run's changes could not be stored: %s\n"),
                    err_msg(rc));
            outcome = "error";
            free(errmsg);
            errmsg = strdup(err_msg(rc));
            code = SCRIPT_EXIT_IOERR;
        }
        if (o->dry_run) {
            fflush(stdout);
            print_dry(counts, ncounts);
            if (nevc) {
                printf(_("  and published these events:\n"));
                for (int i = 0; i < nevc; i++) {
                    printf("  %-35s %10llu\n", evc[i].topic, (unsigned long long)evc[i].n);
                }
            }
        }
    }

record:;
    /* files a script's export.* wrote with personal data unmasked */
    char *unmasked = NULL;
    if (L && lua_getfield(L, LUA_REGISTRYINDEX, LEXPORT_UNMASKED) == LUA_TTABLE) {
        int tab = lua_gettop(L);
        luaL_Buffer b;
        luaL_buffinit(L, &b);
        luaL_addstring(&b, "personal data unmasked in: ");
        for (lua_Integer i = 1; i <= (lua_Integer)lua_rawlen(L, tab); i++) {
            if (i > 1) {
                luaL_addstring(&b, ", ");
            }
            lua_rawgeti(L, tab, i);
            luaL_addvalue(&b);
        }
        luaL_pushresult(&b);
        unmasked = strdup(lua_tostring(L, -1));
        lua_pop(L, 1);
    }
    if (L) {
        lua_pop(L, 1);
    }
    int nmods = 0;
    const runs_module *mods = sb ? sandbox_modules(sb, &nmods) : NULL;
    runs_module *modcopy = calloc((size_t)nmods + 1, sizeof *modcopy);
    for (int i = 0; modcopy && i < nmods; i++) {
        modcopy[i] = mods[i];
        modcopy[i].path = strdup(mods[i].path);
        modcopy[i].plugin = mods[i].plugin ? strdup(mods[i].plugin) : NULL;
    }
    if (!whole && !counts && L) { /* what the run's committed transactions wrote */
        const store_counts *c = lstore_committed_counts(L, 2, &ncounts);
        counts = c && ncounts ? store_counts_copy(c, ncounts) : NULL;
    }
    if (sb && o->interactive && o->attach && outcome && strcmp(outcome, "timeout") != 0 &&
        strcmp(outcome, "interrupted") != 0) {
        fflush(stdout);
        o->attach(s, sb); /* Python's -i: the script's globals stay */
    }
    if (!whole) { /* the events of the run's committed transactions */
        const store_counts *ev = lstore_committed_events(L, 2, &nevc);
        bus_topic_counts_of(ev, nevc, &evc, &nevc);
    }
    sandbox_free(sb); /* closes the state: a db.atomic or scan still open ends here */
    if (dry_dir[0]) {
        dry_folder_done(dry_dir);
    }
    runs_topic *topics = nevc ? calloc((size_t)nevc, sizeof *topics) : NULL;
    for (int i = 0; topics && i < nevc; i++) {
        topics[i].topic = evc[i].topic;
        topics[i].count = evc[i].n;
    }
    gethostname(host, sizeof host - 1);
    /* --in and --out as absolute paths: the replay command reads and writes there */
    char *ins[8] = {0}, *outabs = NULL;
    for (int i = 0; i < o->nin && i < 8; i++) {
        ins[i] = realpath(o->in_dirs[i], NULL);
    }
    if (o->out_dir) {
        outabs = realpath(o->out_dir, NULL);
    }
    int nin = 0;
    while (nin < o->nin && nin < 8 && ins[nin]) {
        nin++;
    }
    runs_rec r = {
        .uid = run_uid,
        .script = o->file ? o->file : "-e",
        .script_sha256 = o->file ? script_sha : code_sha,
        .code = o->code,
        .modules = modcopy,
        .nmodules = modcopy ? nmods : 0,
        .params = o->export ? o->export_argv : o->params,
        .nparams = o->export ? o->export_argc : o->nparams,
        .seed = so.seed,
        .clock = so.now,
        .operator_name = runs_operator(),
        .host = host,
        .started = started,
        .ended = clock_wall_s(),
        .mode = o->export    ? (o->export->unmask ? "export --unmask" : "export")
                : o->dry_run ? "dry-run"
                : o->atomic  ? "atomic"
                             : "run",
        .outcome = outcome,
        .error = errmsg,
        .exit_code = code,
        .writes = counts,
        .nwrites = counts ? ncounts : 0,
        .events = topics,
        .nevents = topics ? nevc : 0,
        .summary = unmasked,
        .in_dirs = (const char *const *)ins,
        .nin = o->export ? 0 : nin,
        .out_dir = o->export ? NULL
                   : outabs  ? outabs
                             : o->out_dir,
    };
    int64_t id;
    if ((rc = runs_record(s, &r, &id)) != 0) {
        fprintf(stderr, _("gonghui run: the run record could not be written: %s\n"), err_msg(rc));
        if (code == SCRIPT_EXIT_OK) {
            code = SCRIPT_EXIT_IOERR;
        }
    }
    for (int i = 0; modcopy && i < nmods; i++) {
        free(modcopy[i].path);
        free(modcopy[i].plugin);
    }
    for (int i = 0; i < 8; i++) {
        free(ins[i]);
    }
    free(outabs);
    free(modcopy);
    free(unmasked);
    store_counts_free(counts, ncounts);
    free(topics);
    bus_topic_counts_free(evc, nevc);
    free(errmsg);
    run_uid[0] = 0;
    return code;
}

int script_run(store *s, const char *file, int nparams, char **params) {
    script_opts o;
    memset(&o, 0, sizeof o);
    o.file = file;
    o.nparams = nparams;
    o.params = params;
    o.timeout = SCRIPT_DEFAULT_TIMEOUT;
    o.memory = SCRIPT_DEFAULT_MEMORY;
    return script_run_opts(s, &o);
}

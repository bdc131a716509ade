/*
 * cli_fed.c — `gonghui federation ...`: federations ship their event logs
 * through NATS JetStream, and a higher level receives and counts them
 * (issue 20; README "Beyond one machine").
 *
 *   federation ship    --as NAME --nats URLS --key-file FILE [--follow] ...
 *   federation receive --nats URLS [--level NAME] [--follow] ...
 *   federation add NAME [--title TEXT] | remove NAME [--purge]
 *   federation status [--nats URLS]
 *   federation replay [NAME] --from SEQ|TIME
 *   federation report --year YYYY
 *
 * The work is Lua (scripts/lib/federation.lua, run as the installed program
 * federation/fed_cli.lua with the options as parameters) on the `nats`
 * plugin (plugins/nats, libnats): a build without libnats has no plugin, and
 * ship and receive say so; status, add, remove and report need no NATS.
 *
 * What this file adds to running the script: the province's pseudonym key
 * is read here (--key-file, or $GONGHUI_FED_KEY_FILE), checked (a file only
 * its owner may read, at least 16 bytes) and handed to the pii module, so it
 * never passes through a parameter, a run record or Lua; and ship and
 * receive run without the batch runner's time limit (they wait on the
 * network, and --follow runs until stopped).
 */
#include "cli_fed.h"

#include "cli.h"
#include "err.h"
#include "lua_pii.h"
#include "paths.h"
#include "script.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_PARAMS 32

typedef struct params {
    char *v[MAX_PARAMS];
    int n;
} params;

static int add_param(params *p, const char *name, const char *value) {
    if (p->n == MAX_PARAMS) {
        return -1;
    }
    size_t len = strlen(name) + strlen(value) + 2;
    char *s = malloc(len);
    if (!s) {
        return -1;
    }
    snprintf(s, len, "%s=%s", name, value);
    p->v[p->n++] = s;
    return 0;
}

static void free_params(params *p) {
    for (int i = 0; i < p->n; i++) {
        free(p->v[i]);
    }
    p->n = 0;
}

/* Reads the pseudonym key from `path` into the pii module. 0, or 1 after
 * saying why. */
static int load_key(const char *path) {
    struct stat st;
    unsigned char buf[300];
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, _("gonghui federation: the key file %s cannot be read: %s\n"), path,
                strerror(errno));
        return 1;
    }
    if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077)) {
        fclose(f);
        fprintf(stderr,
                _("gonghui federation: the key file %s may be read by others (mode %03o); it "
                  "keeps members' pseudonyms unguessable: chmod 600 %s\n"),
                path, (unsigned)(st.st_mode & 0777), path);
        return 1;
    }
    size_t n = fread(buf, 1, sizeof buf, f);
    int too_long = !feof(f);
    fclose(f);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ')) {
        n--;
    }
    if (too_long || lpii_set_key(buf, n) != 0) {
        fprintf(stderr,
                _("gonghui federation: the key file %s holds %zu bytes; a key is 16 to 256 "
                  "bytes (openssl rand -hex 32 > %s makes one)\n"),
                path, n, path);
        memset(buf, 0, sizeof buf);
        return 1;
    }
    memset(buf, 0, sizeof buf);
    return 0;
}

/* option name -> parameter name: --tls-ca -> tls_ca */
static void param_name(const char *opt, char *out, size_t n) {
    snprintf(out, n, "%s", opt + 2);
    for (char *p = out; *p; p++) {
        if (*p == '-') {
            *p = '_';
        }
    }
}

int cli_federation(store *s, int argc, char **argv) {
    static const char *const subs[] = {"ship",   "receive", "add",    "remove",
                                       "status", "replay",  "report", NULL};
    const char *sub = argc > 0 ? argv[0] : NULL;
    char cmdname[64], pname[64];
    params p = {0};
    int known = 0, code = 2, rc;
    for (int i = 0; sub && subs[i]; i++) {
        known |= strcmp(sub, subs[i]) == 0;
    }
    if (!known) {
        fprintf(stderr,
                _("gonghui federation: give ship, receive, add, remove, status, replay or report "
                  "(gonghui help federation)\n"));
        return 2;
    }
    snprintf(cmdname, sizeof cmdname, "federation %s", sub);
    cli_iter it;
    const cli_opt *o;
    const char *v, *name = NULL, *key = getenv("GONGHUI_FED_KEY_FILE");
    cli_begin(&it, cmdname, argc - 1, argv + 1);
    add_param(&p, "cmd", sub);
    while ((rc = cli_next(&it, &o, &v)) > 0) {
        if (!o) {
            int takes_name =
                !strcmp(sub, "add") || !strcmp(sub, "remove") || !strcmp(sub, "replay");
            if (!takes_name || name) {
                code = cli_usage(&it, _("one argument too many: %s"), v);
                goto out;
            }
            name = v;
            add_param(&p, "name", v);
        } else if (strcmp(o->name, "--key-file") == 0) {
            key = v;
        } else {
            param_name(o->name, pname, sizeof pname);
            if (add_param(&p, pname, o->arg ? v : "yes") != 0) {
                code = cli_usage(&it, _("too many options"));
                goto out;
            }
        }
    }
    if (rc < 0) {
        goto out;
    }
    if ((!strcmp(sub, "add") || !strcmp(sub, "remove")) && !name) {
        code = cli_usage(&it, _("which federation? (gonghui %s NAME)"), cmdname);
        goto out;
    }
    if (!strcmp(sub, "ship")) {
        if (!key) {
            code = cli_usage(&it, _("give --key-file FILE: the province's key that turns members "
                                    "into pseudonyms (or $GONGHUI_FED_KEY_FILE)"));
            goto out;
        }
        if (load_key(key)) {
            code = 1;
            goto out;
        }
    }
    char path[4096], lines_dir[4096], lines_default[4200];
    const char *top = paths_scripts();
    snprintf(path, sizeof path, "%s/federation/fed_cli.lua", top ? top : "scripts");
    script_opts so;
    memset(&so, 0, sizeof so);
    if (!strcmp(sub, "report")) {
        /* the ten-things lines: a data file the run may read (--in its folder) */
        const char *lines = NULL;
        for (int i = 0; i < p.n; i++) {
            if (!strncmp(p.v[i], "lines=", 6)) {
                lines = p.v[i] + 6;
            }
        }
        if (lines) {
            const char *slash = strrchr(lines, '/');
            if (!slash) {
                snprintf(lines_dir, sizeof lines_dir, ".");
            } else if (slash == lines) {
                snprintf(lines_dir, sizeof lines_dir, "/");
            } else {
                snprintf(lines_dir, sizeof lines_dir, "%.*s", (int)(slash - lines), lines);
            }
        } else {
            snprintf(lines_dir, sizeof lines_dir, "%s/ten_things", top ? top : "scripts");
            snprintf(lines_default, sizeof lines_default, "%s/lines.lua", lines_dir);
            add_param(&p, "lines_default", lines_default);
        }
        so.in_dirs[so.nin++] = lines_dir;
    }
    so.file = path;
    so.nparams = p.n;
    so.params = p.v;
    so.timeout = 0; /* waits on the network; --follow runs until stopped */
    so.memory = SCRIPT_DEFAULT_MEMORY;
    code = script_run_opts(s, &so);
    lpii_set_key(NULL, 0);
out:
    free_params(&p);
    return code;
}

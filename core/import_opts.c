/*
 * import_opts.c — the command line of `gonghui import` (import_parse): the
 * options are help.c's, parsed with cli.h into an import_opts.
 */
#include "import_int.h"

#include "cli.h"
#include "clock.h"
#include "pii.h"

#include "codec.h"
#include "csvfile.h"
#include "bus.h"
#include "err.h"
#include "import_cp.h"
#include "parse.h"
#include "runs.h"
#include "xlsx_in.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- options ---------------------------------------------------------------------------------------- */

/* The options are help.c's (gonghui help import shows them); cli.h parses them. */
/* fmt is an N_()-marked message with one %s (arg), shown translated. */
static int usage_err(const char *fmt, const char *arg) {
    fprintf(stderr, "gonghui import: ");
    fprintf(stderr, _(fmt), arg);
    fprintf(stderr, _(" (see gonghui help import)\n"));
    return IMPORT_EXIT_USAGE;
}

static char rejects_buf[4096];

int import_parse(int argc, char **argv, import_opts *o) {
    memset(o, 0, sizeof *o);
    o->format = -1;
    o->encoding = CSV_ENC_AUTO;
    o->mode = STORE_INSERT;
    o->progress = isatty(2);
    o->argv = argv;
    o->argc = argc;
    o->map = calloc((size_t)argc + 1, sizeof *o->map);
    if (!o->map) {
        return usage_err("%s", _("out of memory"));
    }
    cli_iter it;
    const cli_opt *opt;
    const char *v;
    int rc;
    cli_begin(&it, "import", argc, argv);
    while ((rc = cli_next(&it, &opt, &v)) > 0) {
        const char *a = v;
        if (!opt) {
            if (!o->coll) {
                o->coll = a;
            } else if (!o->file) {
                o->file = a;
            } else {
                return usage_err(N_("one file at a time (%s is one too many)"), a);
            }
        } else if (cli_is(&it, opt, "--format")) {
            if (strcmp(v, "csv") == 0) {
                o->format = IMPORT_CSV;
            } else if (strcmp(v, "tsv") == 0) {
                o->format = IMPORT_TSV;
            } else if (strcmp(v, "jsonl") == 0) {
                o->format = IMPORT_JSONL;
            } else if (strcmp(v, "xlsx") == 0) {
                o->format = IMPORT_XLSX;
            } else {
                return usage_err(N_("unknown --format %s (csv, tsv, jsonl or xlsx)"), v);
            }
        } else if (cli_is(&it, opt, "--map")) {
            if (!strchr(v, '=') || v[0] == '=') {
                return usage_err(N_("--map %s: give COLUMN=field (or COLUMN=- to skip a column)"),
                                 v);
            }
            o->map[o->nmap++] = (char *)v;
        } else if (cli_is(&it, opt, "--encoding")) {
            if (strcmp(v, "auto") == 0) {
                o->encoding = CSV_ENC_AUTO;
            } else if (strcasecmp(v, "utf-8") == 0 || strcasecmp(v, "utf8") == 0) {
                o->encoding = CSV_ENC_UTF8;
            } else if (strcasecmp(v, "gb18030") == 0 || strcasecmp(v, "gbk") == 0 ||
                       strcasecmp(v, "gb2312") == 0) {
                o->encoding = CSV_ENC_GB18030;
            } else {
                return usage_err(N_("unknown --encoding %s (auto, utf-8 or gb18030)"), v);
            }
        } else if (cli_is(&it, opt, "--mode")) {
            if (strcmp(v, "insert") == 0) {
                o->mode = STORE_INSERT;
            } else if (strcmp(v, "upsert") == 0) {
                o->mode = STORE_REPLACE;
            } else {
                return usage_err(N_("unknown --mode %s (insert or upsert)"), v);
            }
        } else if (cli_is(&it, opt, "--rejects")) {
            o->rejects = v;
        } else if (cli_is(&it, opt, "--chunk")) {
            char *end;
            o->chunk = strtol(v, &end, 10);
            if (*end || o->chunk < 1) {
                return usage_err(N_("--chunk %s: give the rows per transaction (1000, 10000)"), v);
            }
        } else if (cli_is(&it, opt, "--resume")) {
            o->resume = 1;
        } else if (cli_is(&it, opt, "--sheet")) {
            o->sheet = v;
        } else if (cli_is(&it, opt, "--header-row")) {
            char *end;
            o->header_row = strtol(v, &end, 10);
            if (*end || o->header_row < 1) {
                return usage_err(
                    N_("--header-row %s: give the number of the header's row (or line)"), v);
            }
        } else if (cli_is(&it, opt, "--strict")) {
            o->strict = 1;
        } else if (cli_is(&it, opt, "--yuan")) {
            o->yuan = 1;
        } else if (cli_is(&it, opt, "--no-progress")) {
            o->progress = 0;
        }
    }
    if (rc < 0) {
        return IMPORT_EXIT_USAGE;
    }
    if (!o->coll || !o->file) {
        return usage_err("%s", _("which collection and which file?"));
    }
    if (o->strict && (o->chunk || o->resume)) {
        return usage_err("%s", _("--strict stores the whole file or nothing, in one transaction: "
                                 "it does not go with --chunk or --resume"));
    }
    if (o->format < 0) {
        const char *dot = strrchr(o->file, '.');
        if (dot && (strcasecmp(dot, ".tsv") == 0 || strcasecmp(dot, ".txt") == 0 ||
                    strcasecmp(dot, ".tab") == 0)) {
            o->format = IMPORT_TSV;
        } else if (dot && (strcasecmp(dot, ".jsonl") == 0 || strcasecmp(dot, ".ndjson") == 0)) {
            o->format = IMPORT_JSONL;
        } else if (dot && (strcasecmp(dot, ".xlsx") == 0 || strcasecmp(dot, ".xlsm") == 0)) {
            o->format = IMPORT_XLSX;
        } else if (dot && strcasecmp(dot, ".xls") == 0) {
            /* a real one is refused by import_run (exit 1, sniff_file); systems that
             * export "xls" often write a workbook (.xlsx inside) or text */
            unsigned char m[2] = {0, 0};
            FILE *f = fopen(o->file, "rb");
            if (f) {
                if (fread(m, 1, 2, f) != 2) {
                    m[0] = 0;
                }
                fclose(f);
            }
            o->format = m[0] == 'P' && m[1] == 'K' ? IMPORT_XLSX : IMPORT_CSV;
        } else {
            o->format = IMPORT_CSV;
        }
    }
    if (o->sheet && o->format != IMPORT_XLSX) {
        return usage_err(N_("--sheet %s: only an .xlsx workbook has sheets"), o->sheet);
    }
    if (!o->rejects) {
        snprintf(rejects_buf, sizeof rejects_buf, "%s.rejects.csv", o->file);
        o->rejects = rejects_buf;
    }
    return 0;
}

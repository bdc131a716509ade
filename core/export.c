/*
 * export.c — `gonghui export COLLECTION --out FILE`: records out as CSV for
 * Excel (UTF-8 with BOM, CRLF, minimal quoting, formula guard), TSV, JSON
 * (one array), JSON Lines (one object per line) or an Excel workbook (the
 * xlsx plugin, through xlsx_out.c: cells as CSV has them, without the
 * formula guard).
 *
 * Reads in one read transaction (a consistent snapshot,
 * held only for the export), writes OUT.tmp and renames it to OUT at the
 * end, so a reader of OUT never sees half a file.
 *
 * Values: text as it is (guarded in CSV/TSV when it starts with = + - @,
 * and in CSV as ="0573..." when a spreadsheet would change its digits);
 * int, number, date as written; bool as true/false; fen as whole fen (or
 * yuan "12.50" with --yuan, CSV/TSV), in xlsx always a number cell in yuan
 * with the format #,##0.00; any as JSON; absent as an empty
 * cell (CSV) or null (JSON). Personal data hidden by default (pii.h: ID
 * numbers, phones, bank accounts) is masked unless --unmask; the run record keeps the
 * flag, so an auditor sees who exported personal data whole. Text that is
 * not UTF-8 and NaN/infinite numbers (old records: the store refuses them
 * now) are written cleaned and named on stderr (text_guard).
 */
#include "export.h"
#include "bus.h"
#include "cli.h"

#include "clock.h"
#include "codec.h"
#include "csvfile.h"
#include "err.h"
#include "pii.h"
#include "runs.h"
#include "xlsx_out.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

typedef struct exp {
    const export_opts *o;
    const store_coll *c;
    int pos[STORE_MAX_FIELDS], npos;
    int pd[STORE_MAX_FIELDS];
    FILE *f;
    csv_writer w;
    xlsx_out *x; /* --format xlsx: cells go to the xlsx plugin */
    codec_buf tmp;
    codec_buf clean; /* a record with what no file holds made writable (text_guard) */
    uint64_t n;
    uint64_t cleaned; /* values written cleaned */
    int masked;       /* some field was masked */
} exp;

/* Finds where each field of a record starts: at[i] for i < *count. */
static int split_record(const void *rec, size_t n, const unsigned char **at, int max, int *count) {
    mp_reader r;
    mp_item it;
    mp_reader_init(&r, rec, n);
    if (mp_read(&r, &it) != 0 || it.type != MP_ARRAY) {
        return GH_ECORRUPT;
    }
    int k = (int)(it.n < (uint32_t)max ? it.n : (uint32_t)max);
    for (int i = 0; i < k; i++) {
        at[i] = r.p;
        if (mp_skip_fast(&r) != 0) {
            return GH_ECORRUPT;
        }
    }
    at[k] = r.p;
    *count = k;
    return 0;
}

static void yuan(int64_t fen, char *buf, size_t n) {
    uint64_t v = fen < 0 ? 0 - (uint64_t)fen : (uint64_t)fen;
    snprintf(buf, n, "%s%llu.%02llu", fen < 0 ? "-" : "", (unsigned long long)(v / 100),
             (unsigned long long)(v % 100));
}

/* One cell: to the CSV writer, or to the xlsx row (as it is: no formula
 * guard, text cells do not run). */
static void cell(exp *e, const char *s, size_t n, int text) {
    if (e->x) {
        xlsx_out_cell(e->x, s, n);
    } else {
        /* CSV is for spreadsheets: text digits they would change go as ="0573..." */
        csv_put(&e->w, s, n, text && e->o->format == EXPORT_CSV ? CSV_GUARD_TEXT : text);
    }
}

/* One field as CSV (or xlsx) text. */
static int put_cell(exp *e, int pos, const unsigned char *p, const unsigned char *end) {
    mp_reader r;
    mp_item it;
    char num[64];
    if (!p) {
        cell(e, "", 0, 0);
        return 0;
    }
    mp_reader_init(&r, p, (size_t)(end - p));
    if (mp_read(&r, &it) != 0) {
        return GH_ECORRUPT;
    }
    int type = e->c->fields[pos].type;
    switch (it.type) {
    case MP_NIL:
        cell(e, "", 0, 0);
        return 0;
    case MP_BOOL:
        cell(e, it.v.b ? "true" : "false", it.v.b ? 4 : 5, 0);
        return 0;
    case MP_INT:
        if (type == FT_FEN && (e->o->yuan || e->x)) { /* xlsx: always a money cell in yuan */
            yuan(it.v.i, num, sizeof num);
        } else {
            snprintf(num, sizeof num, "%lld", (long long)it.v.i);
        }
        cell(e, num, strlen(num), 0);
        return 0;
    case MP_FLOAT:
        snprintf(num, sizeof num, "%.15g", it.v.d);
        if (strtod(num, NULL) != it.v.d) {
            snprintf(num, sizeof num, "%.17g", it.v.d);
        }
        cell(e, num, strlen(num), 0);
        return 0;
    case MP_STR:
        if (e->pd[pos] && !e->o->unmask) {
            char *m = malloc(it.n + PII_MASK_EXTRA + 1);
            if (!m) {
                return GH_ENOMEM;
            }
            size_t mn = pii_mask(e->pd[pos], it.s, it.n, m);
            cell(e, m, mn, 1);
            free(m);
            e->masked = 1;
        } else {
            cell(e, it.s, it.n, type == FT_STRING || type == FT_ANY);
        }
        return 0;
    default: /* arrays and maps (any fields) as JSON */
        e->tmp.len = 0;
        mp_reader_init(&r, p, (size_t)(end - p));
        if (mp_to_json(&r, &e->tmp, CODEC_MAX_DEPTH) != 0) {
            return GH_ECORRUPT;
        }
        cell(e, (const char *)e->tmp.p, e->tmp.len, 1);
        return 0;
    }
}

/* One field as a JSON value appended to e->tmp. */
static int put_json(exp *e, int pos, const unsigned char *p, const unsigned char *end) {
    mp_reader r;
    if (!p) {
        codec_buf_add(&e->tmp, "null", 4);
        return 0;
    }
    mp_reader_init(&r, p, (size_t)(end - p));
    if (e->pd[pos] && !e->o->unmask) {
        mp_item it;
        mp_reader r2 = r;
        if (mp_read(&r2, &it) == 0 && it.type == MP_STR) {
            char *m = malloc(it.n + PII_MASK_EXTRA + 1);
            codec_buf s;
            if (!m) {
                return GH_ENOMEM;
            }
            size_t mn = pii_mask(e->pd[pos], it.s, it.n, m);
            codec_buf_init(&s);
            mp_put_str(&s, m, mn);
            free(m);
            mp_reader_init(&r2, s.p, s.len);
            int rc = s.oom ? GH_ENOMEM : mp_to_json(&r2, &e->tmp, 2);
            codec_buf_free(&s);
            e->masked = 1;
            return rc;
        }
    }
    return mp_to_json(&r, &e->tmp, CODEC_MAX_DEPTH);
}

#define SHOW_CLEANED 10 /* cleaned values named on stderr */

/* Says on stderr which value of which record was written cleaned. */
static void note_cleaned(exp *e, const unsigned char **at, int count, int pos, const mp_flaw *fl) {
    char key[120] = "?", shown[200];
    if (++e->cleaned > SHOW_CLEANED) {
        return;
    }
    if (e->c->key < count) {
        mp_reader r;
        codec_buf k;
        codec_buf_init(&k);
        mp_reader_init(&r, at[e->c->key], (size_t)(at[e->c->key + 1] - at[e->c->key]));
        if (mp_text_clean(&r, &k, 1) == 0 && !k.oom) {
            mp_reader_init(&r, k.p, k.len);
            e->tmp.len = 0;
            if (mp_to_json(&r, &e->tmp, 1) == 0 && !e->tmp.oom) {
                if (e->pd[e->c->key] && !e->o->unmask && e->tmp.len < 60) {
                    char m[60 + PII_MASK_EXTRA + 1];
                    size_t mn = pii_mask(e->pd[e->c->key], (const char *)e->tmp.p, e->tmp.len, m);
                    snprintf(key, sizeof key, "%.*s", (int)mn, m);
                } else {
                    snprintf(key, sizeof key, "%.*s", (int)(e->tmp.len < 100 ? e->tmp.len : 100),
                             (const char *)e->tmp.p);
                }
            }
        }
        codec_buf_free(&k);
        e->tmp.len = 0;
    }
    const char *label = store_field_label(e->c, pos);
    if (fl->kind == MP_FLAW_UTF8) {
        codec_show_bytes(fl->s, fl->n, shown, sizeof shown);
        fprintf(stderr,
                _("export: record %s of '%s': field '%s' holds bytes that are not UTF-8 text "
                  "(\"%s\"): each such byte is written as U+FFFD (a question mark in a box)\n"),
                key, e->c->name, label, shown);
    } else {
        fprintf(stderr,
                _("export: record %s of '%s': field '%s' is %s, which no file can hold: written "
                  "as an empty cell (null in JSON)\n"),
                key, e->c->name, label,
                fl->d != fl->d ? "NaN"
                : fl->d > 0    ? "inf"
                               : "-inf");
    }
}

/* Old records may hold what the store refuses today (issue 16, class 11):
 * text that is not UTF-8, a NaN or infinite number. Written as they are
 * they make broken JSON, a workbook Excel repairs or refuses, "nan" in a
 * CSV. Such a value is written cleaned (mp_text_clean: each bad byte as
 * U+FFFD, the number as an empty cell or null) and named on stderr, so
 * the file opens whole and the clerk knows what to correct. A record
 * without them (all but a few) costs one walk of its exported fields. */
static int text_guard(exp *e, const void **rec, size_t *n, const unsigned char **at, int *count) {
    mp_flaw fl;
    int bad = 0;
    for (int i = 0; i < e->npos; i++) {
        int pos = e->pos[i];
        if (pos >= *count) {
            continue;
        }
        mp_reader r;
        mp_reader_init(&r, at[pos], (size_t)(at[pos + 1] - at[pos]));
        int rc = mp_check_text(&r, CODEC_MAX_DEPTH - 1, &fl);
        if (rc < 0) {
            return rc;
        }
        if (rc == 1) {
            bad = 1;
            note_cleaned(e, at, *count, pos, &fl);
        }
    }
    if (!bad) {
        return 0;
    }
    e->clean.len = 0;
    mp_put_array(&e->clean, (uint32_t)*count);
    for (int i = 0; i < *count; i++) {
        mp_reader r;
        mp_reader_init(&r, at[i], (size_t)(at[i + 1] - at[i]));
        if (mp_text_clean(&r, &e->clean, CODEC_MAX_DEPTH - 1) != 0) {
            return GH_ECORRUPT;
        }
    }
    if (e->clean.oom) {
        return GH_ENOMEM;
    }
    *rec = e->clean.p;
    *n = e->clean.len;
    return split_record(*rec, *n, at, e->c->nfields, count);
}

static int write_record(exp *e, const void *rec, size_t n) {
    const unsigned char *at[STORE_MAX_FIELDS + 1];
    int count, rc;
    if ((rc = split_record(rec, n, at, e->c->nfields, &count)) != 0 ||
        (rc = text_guard(e, &rec, &n, at, &count)) != 0) {
        return rc;
    }
    if (e->o->format == EXPORT_CSV || e->o->format == EXPORT_TSV || e->x) {
        for (int i = 0; i < e->npos; i++) {
            int pos = e->pos[i];
            rc = put_cell(e, pos, pos < count ? at[pos] : NULL, pos < count ? at[pos + 1] : NULL);
            if (rc) {
                return rc;
            }
        }
        return e->x ? xlsx_out_row(e->x) : (csv_end_row(&e->w), 0);
    }
    e->tmp.len = 0;
    if (e->o->format == EXPORT_JSON) {
        codec_buf_add(&e->tmp, e->n ? ",\n" : "\n", e->n ? 2 : 1);
    }
    codec_buf_add(&e->tmp, "{", 1);
    for (int i = 0; i < e->npos; i++) {
        int pos = e->pos[i];
        mp_reader r;
        codec_buf name;
        codec_buf_init(&name);
        mp_put_str(&name, e->c->fields[pos].name, strlen(e->c->fields[pos].name));
        mp_reader_init(&r, name.p, name.len);
        if (i) {
            codec_buf_add(&e->tmp, ",", 1);
        }
        rc = name.oom ? GH_ENOMEM : mp_to_json(&r, &e->tmp, 2);
        codec_buf_free(&name);
        codec_buf_add(&e->tmp, ":", 1);
        if (rc || (rc = put_json(e, pos, pos < count ? at[pos] : NULL,
                                 pos < count ? at[pos + 1] : NULL)) != 0) {
            return rc;
        }
    }
    codec_buf_add(&e->tmp, "}", 1);
    if (e->o->format == EXPORT_JSONL) {
        codec_buf_add(&e->tmp, "\n", 1);
    }
    if (e->tmp.oom) {
        return GH_ENOMEM;
    }
    fwrite(e->tmp.p, 1, e->tmp.len, e->f);
    return 0;
}

/* Resolves --fields (or every field) into e->pos. */
static int choose_fields(exp *e) {
    const store_coll *c = e->c;
    e->npos = 0;
    if (!e->o->fields) {
        for (int i = 0; i < c->nfields; i++) {
            if (i != c->extra) {
                e->pos[e->npos++] = i;
            }
        }
        return 0;
    }
    const char *p = e->o->fields;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)n, p);
        int pos = n ? store_field_pos(c, name) : -1;
        if (pos < 0 || pos == c->extra) {
            char known[600];
            size_t k = 0;
            known[0] = 0;
            for (int i = 0; i < c->nfields && k < sizeof known - 70; i++) {
                if (i != c->extra) {
                    k += (size_t)snprintf(known + k, sizeof known - k, "%s%s", k ? ", " : "",
                                          c->fields[i].name);
                }
            }
            return err_set(GH_EUNKNOWN,
                           _("--fields: collection '%s' has no field '%s' (its fields: %s)"),
                           c->name, name, known);
        }
        if (e->npos < STORE_MAX_FIELDS) {
            e->pos[e->npos++] = pos;
        }
        p += n;
        if (*p == ',') {
            p++;
        }
    }
    if (!e->npos) {
        return err_set(GH_EINVAL, _("--fields names no field"));
    }
    return 0;
}

const char *export_format_name(int format) {
    static const char *const names[] = {"CSV for Excel", "TSV", "JSON", "JSON Lines",
                                        "Excel workbook"};
    return names[format];
}

void export_note_masked(FILE *msg, int masked) {
    if (masked) {
        fprintf(msg, _("export: ID numbers and phone numbers are masked; give --unmask to "
                       "write them whole (the run record notes it)\n"));
    }
}

int export_run(store *s, const export_opts *o) {
    exp e;
    store_txn *t = NULL;
    store_scan *sc = NULL;
    char *tmpname = NULL;
    int rc, to_stdout = strcmp(o->out, "-") == 0;
    double started = clock_wall_s();
    memset(&e, 0, sizeof e);
    e.o = o;
    codec_buf_init(&e.tmp);
    codec_buf_init(&e.clean);
    codec_buf full; /* an event in full (bus_event_full) */
    codec_buf_init(&full);
    if ((rc = store_txn_begin(s, NULL, 0, &t)) != 0) {
        t = NULL;
        goto out;
    }
    if ((rc = store_coll_get(t, o->coll, &e.c)) != 0) {
        if (rc == GH_ENOTFOUND) {
            err_set(rc, _("there is no collection '%s' in this database"), o->coll);
        }
        goto out;
    }
    if ((rc = choose_fields(&e)) != 0) {
        goto out;
    }
    for (int i = 0; i < e.c->nfields; i++) {
        int k = store_field_pii(&e.c->fields[i]);
        e.pd[i] = pii_hidden(k) ? k : PII_NONE;
    }
    if (o->format == EXPORT_XLSX) {
        size_t n = strlen(o->out) + 16;
        if (to_stdout) {
            rc = err_set(GH_EINVAL,
                         _("an .xlsx file cannot go to standard output: give --out FILE"));
            goto out;
        }
        if (!(tmpname = malloc(n))) {
            rc = GH_ENOMEM;
            goto out;
        }
        snprintf(tmpname, n, "%s.tmp.xlsx", o->out);
        if ((rc = xlsx_out_open(tmpname, &e.x)) != 0) {
            goto out;
        }
        for (int i = 0; i < e.npos; i++) {
            const store_field *fd = &e.c->fields[e.pos[i]];
            const char *name = o->labels && fd->label ? fd->label : fd->name;
            xlsx_out_cell(e.x, name, strlen(name));
            if (fd->type == FT_FEN && (rc = xlsx_out_money(e.x, i)) != 0) {
                goto out;
            }
        }
        if ((rc = xlsx_out_row(e.x)) != 0) {
            goto out;
        }
    } else if (to_stdout) {
        e.f = stdout;
    } else {
        size_t n = strlen(o->out) + 8;
        if (!(tmpname = malloc(n))) {
            rc = GH_ENOMEM;
            goto out;
        }
        snprintf(tmpname, n, "%s.tmp", o->out);
        if (!(e.f = fopen(tmpname, "w"))) {
            rc = err_set(GH_EIO, _("cannot write %s: %s"), tmpname, strerror(errno));
            free(tmpname);
            tmpname = NULL;
            goto out;
        }
    }
    if (o->format == EXPORT_CSV || o->format == EXPORT_TSV) {
        csv_writer_init(&e.w, e.f, o->format == EXPORT_TSV ? CSV_TAB_SEP : CSV_COMMA_SEP,
                        o->format == EXPORT_CSV);
        for (int i = 0; i < e.npos; i++) {
            const store_field *fd = &e.c->fields[e.pos[i]];
            const char *name = o->labels && fd->label ? fd->label : fd->name;
            csv_put(&e.w, name, strlen(name), 1);
        }
        csv_end_row(&e.w);
    } else if (o->format == EXPORT_JSON) {
        fputs("[", e.f);
    }
    if ((rc = store_scan_open(t, e.c, -1, NULL, &sc)) != 0) {
        sc = NULL;
        goto out;
    }
    int is_events = strcmp(e.c->name, "_events") == 0;
    const void *pk, *val;
    size_t pkn, vn;
    while ((rc = store_scan_next(sc, &pk, &pkn, &val, &vn)) == 0) {
        if (is_events && (rc = bus_event_full(t, val, vn, &full)) == 0) {
            val = full.p; /* a compact event as the record in full (bus.h) */
            vn = full.len;
        }
        if (rc || (rc = write_record(&e, val, vn)) != 0) {
            if (rc == GH_ECORRUPT) {
                err_set(rc,
                        _("collection '%s': a stored record does not decode (run gonghui check)"),
                        o->coll);
            }
            goto out;
        }
        e.n++;
    }
    if (rc != GH_ENOTFOUND) {
        goto out;
    }
    rc = 0;
    if (o->format == EXPORT_JSON) {
        fputs(e.n ? "\n]\n" : "]\n", e.f);
    }
    if (e.x) {
        rc = xlsx_out_close(e.x, 1);
        e.x = NULL;
    } else if (fflush(e.f) != 0 || ferror(e.f)) {
        rc = err_set(GH_EIO, _("writing %s failed: %s"), to_stdout ? "standard output" : tmpname,
                     strerror(errno));
    }
out:
    store_scan_close(sc);
    store_txn_abort(t);
    xlsx_out_close(e.x, 0); /* a failed export: nothing written */
    if (o->format == EXPORT_XLSX && tmpname) {
        if (rc == 0 && rename(tmpname, o->out) != 0) {
            rc = err_set(GH_EIO, _("cannot rename %s to %s: %s"), tmpname, o->out, strerror(errno));
        }
        if (rc) {
            unlink(tmpname);
        }
    }
    if (e.f && !to_stdout) {
        if (fclose(e.f) != 0 && rc == 0) {
            rc = err_set(GH_EIO, _("writing %s failed: %s"), tmpname, strerror(errno));
        }
        if (rc == 0 && rename(tmpname, o->out) != 0) {
            rc = err_set(GH_EIO, _("cannot rename %s to %s: %s"), tmpname, o->out, strerror(errno));
        }
        if (rc) {
            unlink(tmpname);
        }
    }
    free(tmpname);
    codec_buf_free(&full);
    codec_buf_free(&e.tmp);
    codec_buf_free(&e.clean);
    FILE *msg = to_stdout ? stderr : stdout;
    char *errmsg = rc ? strdup(err_msg(rc)) : NULL;
    if (rc) {
        fprintf(stderr, "gonghui export: %s\n", err_msg(rc));
    } else {
        fprintf(msg, _("export: %llu records of '%s' written to %s (%s)\n"),
                (unsigned long long)e.n, o->coll, to_stdout ? "standard output" : o->out,
                export_format_name(o->format));
        export_note_masked(msg, e.masked);
    }
    if (e.cleaned) {
        if (e.cleaned > SHOW_CLEANED) {
            fprintf(stderr, _("export: ... and %llu more such values\n"),
                    (unsigned long long)(e.cleaned - SHOW_CLEANED));
        }
        fprintf(stderr,
                _("export: %llu stored value(s) no file can hold were written cleaned (named "
                  "above; gonghui refuses such values when they are stored now): correct those "
                  "records in a script (db.%s:update(key, { field = value })) and export again\n"),
                (unsigned long long)e.cleaned, o->coll);
    }
    /* the run record: who exported what, and whether personal data left whole */
    char uid[17], host[256] = "";
    runs_new_uid(uid);
    gethostname(host, sizeof host - 1);
    char summary[300];
    snprintf(summary, sizeof summary, "%llu records of '%s' written to %s%s%s",
             (unsigned long long)e.n, o->coll, to_stdout ? "standard output" : o->out,
             e.masked ? " (ID numbers and phones masked)" : "",
             e.cleaned ? " (values no file can hold written cleaned)" : "");
    runs_rec r = {
        .uid = uid,
        .script = to_stdout ? "-" : o->out,
        .script_sha256 = "",
        .params = o->argv,
        .nparams = o->argc,
        .clock = (int64_t)started,
        .operator_name = runs_operator(),
        .host = host,
        .started = started,
        .ended = clock_wall_s(),
        .mode = o->unmask ? "export --unmask" : "export",
        .summary = summary,
        .outcome = rc ? "error" : "ok",
        .error = errmsg,
        .exit_code = rc ? 1 : 0,
    };
    int rrc = runs_record(s, &r, NULL);
    if (rrc) {
        fprintf(stderr, _("gonghui export: the run record could not be written: %s\n"),
                err_msg(rrc));
    }
    free(errmsg);
    return rc ? 1 : 0;
}

/* The options are help.c's (gonghui help export shows them); cli.h parses them. */
/* fmt is an N_()-marked message with one %s (arg), shown translated. */
static int usage_err(const char *fmt, const char *arg) {
    fprintf(stderr, "gonghui export: ");
    fprintf(stderr, _(fmt), arg);
    fprintf(stderr, _(" (see gonghui help export)\n"));
    return 2;
}

int export_parse(int argc, char **argv, export_opts *o) {
    memset(o, 0, sizeof *o);
    o->format = -1;
    o->argv = argv;
    o->argc = argc;
    o->params = calloc((size_t)argc + 1, sizeof *o->params);
    o->runargs = calloc((size_t)argc + 1, sizeof *o->runargs);
    if (!o->params || !o->runargs) {
        return usage_err("%s", _("out of memory"));
    }
    cli_iter it;
    const cli_opt *opt;
    const char *v;
    int rc;
    cli_begin(&it, "export", argc, argv);
    while ((rc = cli_next(&it, &opt, &v)) > 0) {
        const char *a = v;
        if (opt && (cli_is(&it, opt, "--timeout") || cli_is(&it, opt, "--memory") ||
                    cli_is(&it, opt, "--seed") || cli_is(&it, opt, "--now"))) {
            /* the run's own options, for a script (gonghui run checks them) */
            o->runargs[o->nrunargs++] = (char *)opt->name;
            o->runargs[o->nrunargs++] = (char *)v;
            continue;
        }
        if (!opt) {
            if (!o->coll && !o->script) {
                size_t n = strlen(a);
                if (n > 4 && strcmp(a + n - 4, ".lua") == 0) {
                    o->script = a;
                } else {
                    o->coll = a;
                }
            } else if (o->script && strchr(a, '=') && a[0] != '=') {
                o->params[o->nparams++] = (char *)a;
            } else if (o->script) {
                return usage_err(N_("%s: the script's parameters are name=value"), a);
            } else {
                return usage_err(N_("one collection at a time (%s is one too many)"), a);
            }
        } else if (cli_is(&it, opt, "--format")) {
            if (strcmp(v, "csv") == 0) {
                o->format = EXPORT_CSV;
            } else if (strcmp(v, "tsv") == 0) {
                o->format = EXPORT_TSV;
            } else if (strcmp(v, "json") == 0) {
                o->format = EXPORT_JSON;
            } else if (strcmp(v, "jsonl") == 0) {
                o->format = EXPORT_JSONL;
            } else if (strcmp(v, "xlsx") == 0) {
                o->format = EXPORT_XLSX;
            } else {
                return usage_err(N_("unknown --format %s (csv, tsv, json, jsonl or xlsx)"), v);
            }
        } else if (cli_is(&it, opt, "--fields")) {
            o->fields = v;
        } else if (cli_is(&it, opt, "--out")) {
            o->out = v;
        } else if (cli_is(&it, opt, "--headers")) {
            if (strcmp(v, "labels") == 0) {
                o->labels = 1;
            } else if (strcmp(v, "names") != 0) {
                return usage_err(N_("--headers %s: give names (the fields' names, the default) or "
                                    "labels (their labels, such as 姓名)"),
                                 v);
            }
        } else if (cli_is(&it, opt, "--unmask")) {
            o->unmask = 1;
        } else if (cli_is(&it, opt, "--yuan")) {
            o->yuan = 1;
        }
    }
    if (rc < 0) {
        return 2;
    }
    if (!o->coll && !o->script) {
        return usage_err("%s", _("which collection (or which SCRIPT.lua)?"));
    }
    if (o->coll && o->nrunargs) {
        return usage_err(N_("%s: only a script's export takes run options"), o->runargs[0]);
    }
    if (!o->out) {
        return usage_err("%s", _("where to? give --out FILE (or --out - for standard output)"));
    }
    if (o->format < 0) {
        const char *dot = strrchr(o->out, '.');
        o->format = !dot                            ? EXPORT_CSV
                    : strcasecmp(dot, ".tsv") == 0  ? EXPORT_TSV
                    : strcasecmp(dot, ".json") == 0 ? EXPORT_JSON
                    : strcasecmp(dot, ".jsonl") == 0 || strcasecmp(dot, ".ndjson") == 0
                        ? EXPORT_JSONL
                    : strcasecmp(dot, ".xlsx") == 0 ? EXPORT_XLSX
                                                    : EXPORT_CSV;
    }
    return 0;
}

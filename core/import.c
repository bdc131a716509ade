/*
 * import.c — `gonghui import COLLECTION FILE`: rows of a CSV, TSV, JSON
 * Lines or .xlsx file become records of a defined collection.
 *
 * This file: the import's unit of work, the CSV/TSV/xlsx rows, cell
 * conversion, rejects and chunks. import_jsonl.c reads JSON Lines into the
 * same row assembly; import_opts.c parses the command line; import_int.h
 * holds the state they share. Calls csvfile.c for the rows (xlsx_in.c for
 * .xlsx sheets: the same csv_row, line = the sheet's row), store.h for the
 * writes and runs.h for the run record; pii.h says which fields hold ID
 * numbers (checked) and phones.
 *
 * The unit of work: one write transaction for the whole file.
 *
 *   read snapshot (the database as it was)   write transaction
 *            |                                      |
 *   header -> column map ------------------> each row: convert cells, check,
 *            |                                      store_put (or reject)
 *            |                                      |
 *            +---- used only to tell "already stored" from "an earlier row"
 *                                                   |
 *   end:  no rejects, or rejects without --strict -> commit
 *         rejects with --strict, or a failure       -> abort (nothing stored)
 *         GH_EMAPFULL                               -> abort, grow, redo (store_unit_again)
 *
 * Invariants:
 *   1. A row is either stored whole (record and index entries) or written
 *      to the rejects file whole; store_put writes nothing on a refusal.
 *   2. Nothing is visible to others before the commit, and a killed import
 *      leaves the database as it was (LMDB).
 *   3. Memory is one row at a time (plus LMDB's dirty pages, which it
 *      spills), whatever the file's size, and 24 bytes per stored row at
 *      most for naming the earlier row of a duplicate (seen_put; given up,
 *      never failing, when memory runs out).
 *   4. A rejects file from an earlier import is never deleted or
 *      overwritten: a new import (not a --resume) renames it to FILE.old.
 *
 * Cells: an empty cell is an absent field. Every cell, in every format and
 * of every type, is trimmed of spaces at its ends (trim: one rule); the
 * guards export adds are removed (a leading apostrophe before = + - @, and
 * ="0573..." around digits a spreadsheet would change). ID numbers and
 * phones go through parse.c (normalised or refused). Fen fields take whole
 * fen ("1250") unless --yuan ("12.50").
 */
#include "import_int.h"

#include "cli.h"
#include "clock.h"
#include "pii.h"

#include "codec.h"
#include "csvfile.h"
#include "bus.h"
#include "bus_change.h"
#include "err.h"
#include "import_cp.h"
#include "parse.h"
#include "progress.h"
#include "runs.h"
#include "sha256.h"
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

#define MAX_COLS 4096
#define SHOW_REJECTS 10 /* rejects echoed on stderr */
#define IMPORT_DEFAULT_CHUNK 10000

static int in_list(const char *const *list, const char *s) {
    for (; *list; list++) {
        if (strcmp(*list, s) == 0) {
            return 1;
        }
    }
    return 0;
}

/* ---- credit codes ------------------------------------------------------------------------ */

/* 统一社会信用代码 (GB 32100-2015) in fields of these names (or labels). */
static const char *const credit_names[] = {"credit_code", "统一社会信用代码", "信用代码",
                                           "社会信用代码", NULL};

/* ---- Chinese headers ------------------------------------------------------------------- */

/* Headers staff commonly use, and the field each names when the collection
 * has a field of that name (an exact field name or --map always wins). */
static const char *const aliases[][2] = {{"姓名", "name"},
                                         {"身份证号", "id_number"},
                                         {"身份证号码", "id_number"},
                                         {"身份证", "id_number"},
                                         {"证件号码", "id_number"},
                                         {"公民身份号码", "id_number"},
                                         {"手机", "phone"},
                                         {"手机号", "phone"},
                                         {"手机号码", "phone"},
                                         {"联系电话", "phone"},
                                         {"电话", "phone"},
                                         {"性别", "gender"},
                                         {"出生日期", "birth_date"},
                                         {"生日", "birth_date"},
                                         {"会员编号", "member_id"},
                                         {"会员号", "member_id"},
                                         {"单位编号", "enterprise_id"},
                                         {"企业编号", "enterprise_id"},
                                         {"镇街", "town"},
                                         {"街道", "town"},
                                         {"乡镇", "town"},
                                         {"类别", "category"},
                                         {"人员类别", "category"},
                                         {"入会日期", "join_date"},
                                         {"状态", "status"},
                                         {"退休日期", "retire_date"},
                                         {NULL, NULL}};

/* The field whose label (its definition's `label`) is `name`, or -1. */
int import_field_by_label(const store_coll *c, const char *name) {
    for (int i = 0; i < c->nfields; i++) {
        if (c->fields[i].label && strcmp(c->fields[i].label, name) == 0) {
            return i;
        }
    }
    return -1;
}

/* ---- the import ------------------------------------------------------------------------- */

/* Notes one problem of the current row (the first names the column and value). */
void import_problem(imp *im, const char *col, const char *val, size_t vn, const char *fmt, ...) {
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (im->nbad++ == 0) {
        snprintf(im->badcol, sizeof im->badcol, "%s", col ? col : "");
        snprintf(im->badval, sizeof im->badval, "%.*s", (int)(vn > 190 ? 190 : vn), val ? val : "");
    } else {
        codec_buf_add(&im->why, "; ", 2);
    }
    if (col && *col) {
        char head[300];
        int k = snprintf(head, sizeof head, "%s: ", col);
        codec_buf_add(&im->why, head, (size_t)k);
    }
    codec_buf_add(&im->why, msg, strlen(msg));
}

/* The one trimming rule of import, for every format (CSV quoted or not,
 * TSV, xlsx, JSON strings) and every field type: spaces, tabs, ideographic
 * spaces (U+3000) and no-break spaces (U+00A0) at either end of a cell are
 * not part of its value. */
static size_t trim(const char **s, size_t n) {
    const char *p = *s;
    if (n == 0 ||
        ((unsigned char)p[0] - 0x21u < 0x5eu && (unsigned char)p[n - 1] - 0x21u < 0x5eu)) {
        return n; /* both ends visible ASCII (most cells): no space of any kind at either */
    }
    for (;;) {
        if (n && (*p == ' ' || *p == '\t')) {
            p++, n--;
        } else if (n >= 3 && memcmp(p, "\xe3\x80\x80", 3) == 0) { /* ideographic space */
            p += 3, n -= 3;
        } else if (n >= 2 && memcmp(p, "\xc2\xa0", 2) == 0) { /* no-break space */
            p += 2, n -= 2;
        } else {
            break;
        }
    }
    for (;;) {
        if (n && (p[n - 1] == ' ' || p[n - 1] == '\t')) {
            n--;
        } else if (n >= 3 && memcmp(p + n - 3, "\xe3\x80\x80", 3) == 0) {
            n -= 3;
        } else if (n >= 2 && memcmp(p + n - 2, "\xc2\xa0", 2) == 0) {
            n -= 2;
        } else {
            break;
        }
    }
    *s = p;
    return n;
}

/* Parses a whole integer: 0, or -1 (not one), or -2 (too large). */
static int parse_int(const char *s, size_t n, int64_t *out) {
    const char *p = s, *end = s + n;
    int neg = 0;
    if (p < end && (*p == '-' || *p == '+')) {
        neg = *p++ == '-';
    }
    if (p == end) {
        return -1;
    }
    uint64_t v = 0;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9') {
            return -1;
        }
        if (v > (UINT64_MAX - 9) / 10) {
            return -2;
        }
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (v > (uint64_t)INT64_MAX + (uint64_t)neg) {
        return -2;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

/* Encodes a JSON/CSV number given as text for a number or any field. */
int import_put_number(codec_buf *out, const char *s, size_t n) {
    int64_t i;
    if (parse_int(s, n, &i) == 0) {
        mp_put_int(out, i);
        return 0;
    }
    char buf[64], *end;
    if (n >= sizeof buf) {
        return -1;
    }
    memcpy(buf, s, n);
    buf[n] = 0;
    errno = 0;
    double d = strtod(buf, &end);
    if (end == buf || *end || !isfinite(d) || n == 0 || buf[0] == ' ') {
        return -1;
    }
    mp_put_double(out, d);
    return 0;
}

static const char *shown(const char *s, size_t n, char *buf, size_t bn) {
    snprintf(buf, bn, "\"%.*s\"%s", (int)(n > 60 ? 60 : n), s, n > 60 ? "..." : "");
    return buf;
}

/* Converts one value for field pos into im->vals. Returns 1 if the value
 * is empty (the field is absent), 0 when encoded, -1 after noting a
 * problem. `col` names the column for messages. */
static int convert(imp *im, int pos, const char *col, int kind, const char *s, size_t n) {
    const store_field *f = &im->c->fields[pos];
    codec_buf *out = &im->vals;
    char sh[100], why[400];
    int64_t iv;
    if (kind == V_NULL) {
        return 1;
    }
    if (kind == V_RAW) {
        if (f->type == FT_ANY) {
            codec_buf_add(out, s, n);
            return 0;
        }
        import_problem(im, col, "", 0, _("expects %s, got a JSON array or object"),
                       store_type_name(f->type));
        return -1;
    }
    if (kind == V_TEXT) {
        n = trim(&s, n); /* one rule for every format and type (see trim) */
        if (im->o->format == IMPORT_CSV || im->o->format == IMPORT_TSV) { /* export's guards */
            csv_unwrap(&s, &n);
        }
        if (n == 0) {
            return 1;
        }
    }
    switch (f->type) {
    case FT_STRING:
        if (kind != V_TEXT) {
            import_problem(im, col, s, n, _("expects text, got %s %.*s (write it in quotes)"),
                           kind == V_NUM ? "the number" : "the boolean", (int)n, s);
            return -1;
        }
        if (im->pd[pos] && memchr(s, '*', n)) {
            import_problem(
                im, col, s, n,
                _("is masked (%.*s), as export writes ID numbers and phones unless --unmask: "
                  "the digits are not in the file; import an export made with --unmask"),
                (int)(n > 40 ? 40 : n), s);
            return -1;
        }
        if (im->pd[pos] == PII_ID) {
            char id[19];
            int rc = parse_id(s, n, NULL, id);
            if (rc != 0) {
                import_problem(im, col, s, n, "%s", err_msg(rc));
                return -1;
            }
            mp_put_str(out, id, 18);
            return 0;
        }
        if (im->pd[pos] == PII_PHONE) {
            char ph[PARSE_PHONE_MAX];
            int rc = parse_phone(s, n, ph);
            if (rc != 0) {
                import_problem(im, col, s, n, _("%s, got %s"), err_msg(rc),
                               shown(s, n, sh, sizeof sh));
                return -1;
            }
            mp_put_str(out, ph, strlen(ph));
            return 0;
        }
        if (im->credit[pos]) {
            char code[19];
            int rc = parse_credit_code(s, n, code);
            if (rc != 0) {
                import_problem(im, col, s, n, _("%s, got %s"), err_msg(rc),
                               shown(s, n, sh, sizeof sh));
                return -1;
            }
            mp_put_str(out, code, 18);
            return 0;
        }
        mp_put_str(out, s, n);
        return 0;
    case FT_INT:
    case FT_FEN: {
        int rc;
        if (kind == V_BOOL) {
            rc = -1;
        } else if (f->type == FT_FEN && im->o->yuan) {
            rc = parse_yuan(s, n, &iv);
            snprintf(why, sizeof why, "%s", rc ? err_msg(rc) : "");
            rc = rc == GH_ETOOBIG ? -2 : rc ? -3 : 0;
        } else {
            rc = parse_int(s, n, &iv);
        }
        if (rc == 0) {
            mp_put_int(out, iv);
            return 0;
        }
        if (rc == -2) {
            import_problem(im, col, s, n, _("the number %s is too large"),
                           shown(s, n, sh, sizeof sh));
        } else if (f->type == FT_INT) {
            import_problem(im, col, s, n, _("expects a whole number, got %s"),
                           shown(s, n, sh, sizeof sh));
        } else if (im->o->yuan) {
            import_problem(im, col, s, n, _("%s, got %s"), why, shown(s, n, sh, sizeof sh));
        } else {
            import_problem(
                im, col, s, n,
                _("expects money as whole fen (1 yuan = 100 fen), got %s; if the column is "
                  "in yuan, import with --yuan"),
                shown(s, n, sh, sizeof sh));
        }
        return -1;
    }
    case FT_NUMBER:
        if (kind != V_BOOL && import_put_number(out, s, n) == 0) {
            return 0;
        }
        import_problem(im, col, s, n, _("expects a number, got %s"), shown(s, n, sh, sizeof sh));
        return -1;
    case FT_BOOL: {
        static const char *const yes[] = {"true", "TRUE", "True", "1",  "yes", "Yes",
                                          "YES",  "y",    "Y",    "是", "对",  NULL};
        static const char *const no[] = {"false", "FALSE", "False", "0",  "no", "No",
                                         "NO",    "n",     "N",     "否", "错", NULL};
        char buf[16];
        if (n < sizeof buf) {
            memcpy(buf, s, n);
            buf[n] = 0;
            if (in_list(yes, buf) || in_list(no, buf)) {
                mp_put_bool(out, in_list(yes, buf));
                return 0;
            }
        }
        import_problem(im, col, s, n, _("expects true or false (also yes/no, 1/0, 是/否), got %s"),
                       shown(s, n, sh, sizeof sh));
        return -1;
    }
    case FT_DATE: {
        char d[11];
        if (kind == V_TEXT && parse_date(s, n, d) == 0) {
            mp_put_str(out, d, 10);
            return 0;
        }
        if (kind == V_TEXT) {
            snprintf(why, sizeof why, "%s", err_msg(GH_EINVAL));
        } else {
            snprintf(why, sizeof why, "expects a date as text (\"2024-03-05\")");
        }
        import_problem(im, col, s, n, _("%s, got %s"), why, shown(s, n, sh, sizeof sh));
        return -1;
    }
    default: /* any */
        if (kind == V_BOOL) {
            mp_put_bool(out, n == 4);
        } else if (kind == V_NUM) {
            import_put_number(out, s, n);
        } else {
            mp_put_str(out, s, n);
        }
        return 0;
    }
}

void import_row_reset(imp *im) {
    im->vals.len = 0;
    im->extra.len = 0;
    im->why.len = 0;
    im->nextra = 0;
    im->nbad = 0;
    memset(im->set, 0, (size_t)im->c->nfields);
}

/* One field's value for the row being built (CSV cell or JSON member). */
void import_row_value(imp *im, int pos, const char *col, int kind, const char *s, size_t n) {
    size_t at = im->vals.len;
    int rc = convert(im, pos, col, kind, s, n);
    if (rc == 0) {
        im->off[pos] = at;
        im->len[pos] = im->vals.len - at;
        im->set[pos] = 1;
    }
}

void import_row_extra(imp *im, const char *name, int kind, const char *s, size_t n) {
    if (kind == V_NULL || (kind == V_TEXT && n == 0)) {
        return;
    }
    mp_put_str(&im->extra, name, strlen(name));
    if (kind == V_RAW) {
        codec_buf_add(&im->extra, s, n);
    } else if (kind == V_NUM) {
        import_put_number(&im->extra, s, n);
    } else if (kind == V_BOOL) {
        mp_put_bool(&im->extra, n == 4);
    } else {
        mp_put_str(&im->extra, s, n);
    }
    im->nextra++;
}

static const char *col_of_field(imp *im, int pos) {
    int col = im->fieldcol[pos];
    return col >= 0 && im->colname ? im->colname[col] : im->c->fields[pos].name;
}

/* Assembles im->rec from the row's values (schema order, trailing nils
 * left out, as lua_codec does). 0, or -1 after noting a problem. */
int import_row_assemble(imp *im) {
    const store_coll *c = im->c;
    if (!im->set[c->key] && c->auto_key && im->nbad == 0) {
        int64_t id;
        int rc = store_next_id(im->t, c, &id);
        if (rc) {
            im->fatal = rc;
            return -1;
        }
        im->off[c->key] = im->vals.len;
        mp_put_int(&im->vals, id);
        im->len[c->key] = im->vals.len - im->off[c->key];
        im->set[c->key] = 1;
    }
    int last = -1;
    for (int i = 0; i < c->nfields; i++) {
        if (im->set[i] || (i == c->extra && im->nextra)) {
            last = i;
        } else if (i != c->extra && !c->fields[i].optional && !(i == c->key && c->auto_key)) {
            const char *col = col_of_field(im, i);
            int named = im->fieldcol[i] >= 0 && strcmp(col, c->fields[i].name) != 0;
            if (named) {
                import_problem(im, col, "", 0, _("is empty, and field '%s' is required"),
                               store_field_label(c, i));
            } else {
                import_problem(im, col, "", 0, _("is empty, and it is required"));
            }
        }
    }
    if (im->nbad) {
        return -1;
    }
    im->rec.len = 0;
    mp_put_array(&im->rec, (uint32_t)(last + 1));
    for (int i = 0; i <= last; i++) {
        if (i == c->extra) {
            if (im->nextra) {
                mp_put_map(&im->rec, im->nextra);
                codec_buf_add(&im->rec, im->extra.p, im->extra.len);
            } else {
                mp_put_nil(&im->rec);
            }
        } else if (im->set[i]) {
            codec_buf_add(&im->rec, im->vals.p + im->off[i], im->len[i]);
        } else {
            mp_put_nil(&im->rec);
        }
    }
    if (im->rec.oom || im->vals.oom || im->extra.oom) {
        im->fatal = GH_ENOMEM;
        return -1;
    }
    return 0;
}

/* ---- which line stored a key ---------------------------------------------------------------- */

static uint64_t key_hash(const void *p, size_t n) {
    const unsigned char *s = p;
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h = (h ^ s[i]) * 1099511628211ull;
    }
    return h ? h : 1;
}

static void seen_insert(uint64_t *hs, uint32_t *ls, size_t cap, uint64_t h, uint32_t line) {
    size_t i = (size_t)h & (cap - 1);
    while (hs[i] && hs[i] != h) {
        i = (i + 1) & (cap - 1);
    }
    hs[i] = h;
    ls[i] = line;
}

/* Notes that the row on `line` stored the record whose key is k[0..n). */
static void seen_put(imp *im, const void *k, size_t n, long line) {
    if (im->seen_off) {
        return;
    }
    if ((im->seen_n + 1) * 2 > im->seen_cap) {
        size_t cap = im->seen_cap ? im->seen_cap * 2 : 4096;
        uint64_t *hs = calloc(cap, sizeof *hs);
        uint32_t *ls = calloc(cap, sizeof *ls);
        if (!hs || !ls) {
            free(hs);
            free(ls);
            im->seen_off = 1;
            return;
        }
        for (size_t i = 0; i < im->seen_cap; i++) {
            if (im->seen_h[i]) {
                seen_insert(hs, ls, cap, im->seen_h[i], im->seen_line[i]);
            }
        }
        free(im->seen_h);
        free(im->seen_line);
        im->seen_h = hs, im->seen_line = ls, im->seen_cap = cap;
    }
    uint64_t h = key_hash(k, n);
    size_t i = (size_t)h & (im->seen_cap - 1);
    while (im->seen_h[i] && im->seen_h[i] != h) {
        i = (i + 1) & (im->seen_cap - 1);
    }
    im->seen_n += !im->seen_h[i];
    im->seen_h[i] = h;
    im->seen_line[i] = line > 0 && line <= (long)UINT32_MAX ? (uint32_t)line : 0;
}

/* The line that stored the record with key k[0..n) in this run, or 0. */
static long seen_get(const imp *im, const void *k, size_t n) {
    if (!im->seen_cap) {
        return 0;
    }
    uint64_t h = key_hash(k, n);
    size_t i = (size_t)h & (im->seen_cap - 1);
    while (im->seen_h[i]) {
        if (im->seen_h[i] == h) {
            return im->seen_line[i];
        }
        i = (i + 1) & (im->seen_cap - 1);
    }
    return 0;
}

static void seen_free(imp *im) {
    free(im->seen_h);
    free(im->seen_line);
    im->seen_h = NULL, im->seen_line = NULL;
    im->seen_cap = im->seen_n = 0;
    im->seen_off = 0;
}

/* "an earlier row of this file" with its line when this run stored it. */
static const char *earlier_row(const imp *im, long line, char *buf, size_t n) {
    if (line > 0) {
        snprintf(buf, n,
                 im->o->format == IMPORT_XLSX ? _("row %ld of this file")
                                              : _("line %ld of this file"),
                 line);
    } else {
        snprintf(buf, n, "%s", _("an earlier row of this file"));
    }
    return buf;
}

/* Why a refused unique value or key clashes: with what was stored before
 * the import (the snapshot), or with an earlier row of this file. */
static void explain_clash(imp *im) {
    const store_coll *c = im->c;
    codec_buf k;
    char msg[600];
    snprintf(msg, sizeof msg, "%s", err_msg(GH_EEXISTS));
    char *cut = strstr(msg, " (use put");
    if (cut) {
        *cut = 0;
    }
    char prefix[300];
    int pn = snprintf(prefix, sizeof prefix, "collection '%s': ", c->name);
    if (strncmp(msg, prefix, (size_t)pn) == 0) {
        memmove(msg, msg + pn, strlen(msg + pn) + 1);
    }
    codec_buf_init(&k);
    const char *what = NULL;
    char row[100], whatbuf[200];
    if (store_record_key(c, im->rec.p, im->rec.len, &k) == 0) {
        const void *v;
        size_t vn;
        int in_db = im->snap && store_get(im->snap, c, k.p, k.len, &v, &vn) == 0;
        int in_txn = store_get(im->t, c, k.p, k.len, &v, &vn) == 0;
        if (in_txn && im->o->mode == STORE_INSERT) {
            if (in_db) {
                what = _("it is already in the database (use --mode upsert to replace records)");
            } else {
                snprintf(whatbuf, sizeof whatbuf, _("%s has the same key"),
                         earlier_row(im, seen_get(im, k.p, k.len), row, sizeof row));
                what = whatbuf;
            }
        }
    }
    for (int i = 0; !what && i < c->nindexes; i++) {
        const store_index *ix = &c->indexes[i];
        const void *pk;
        size_t pkn;
        k.len = 0;
        if (!ix->unique || store_index_key(c, ix, im->rec.p, im->rec.len, &k) != 0) {
            continue;
        }
        if ((im->bulk ? store_bulk_find(im->bulk, c, i, k.p, k.len, &pk, &pkn)
                      : store_find(im->t, c, i, k.p, k.len, &pk, &pkn)) != 0) {
            continue;
        }
        if (im->snap && store_find(im->snap, c, i, k.p, k.len, &pk, &pkn) == 0) {
            what = _("that record is already in the database");
        } else {
            snprintf(whatbuf, sizeof whatbuf, _("that record comes from %s"),
                     earlier_row(im, seen_get(im, pk, pkn), row, sizeof row));
            what = whatbuf;
        }
    }
    codec_buf_free(&k);
    import_problem(im, NULL, NULL, 0, "%s%s%s", msg, what ? "; " : "", what ? what : "");
}

/* ---- rejects ------------------------------------------------------------------------------- */

static int rejects_open(imp *im, int ncells, char **cells, size_t *lens) {
    if (im->rej) {
        return 0;
    }
    size_t n = strlen(im->o->rejects) + 8;
    if (!(im->rej_tmp = malloc(n))) {
        return GH_ENOMEM;
    }
    snprintf(im->rej_tmp, n, "%s.tmp", im->o->rejects);
    if (!(im->rej = fopen(im->rej_tmp, "w"))) {
        return err_set(GH_EIO, _("cannot write the rejects file %s: %s"), im->rej_tmp,
                       strerror(errno));
    }
    csv_writer_init(&im->rw, im->rej, CSV_COMMA_SEP, 1);
    csv_put(&im->rw, "#line", 5, 0);
    csv_put(&im->rw, "#reason", 7, 0);
    csv_put(&im->rw, "#column", 7, 0);
    csv_put(&im->rw, "#value", 6, 0);
    for (int i = 0; i < ncells; i++) {
        csv_put(&im->rw, cells[i], lens ? lens[i] : strlen(cells[i]), 1);
    }
    csv_end_row(&im->rw);
    return 0;
}

/* Writes the current row to the rejects file and echoes the first few. */
int import_reject(imp *im, long line, int ncells, char **cells, size_t *lens) {
    int rc;
    char ln[32];
    im->rejected++;
    if (im->rejected <= SHOW_REJECTS) {
        fprintf(stderr, "%s:%ld: %.*s\n", im->o->file, line, (int)im->why.len,
                (const char *)im->why.p);
    } else if (im->rejected == SHOW_REJECTS + 1) {
        fprintf(stderr, _("%s: more rows rejected; all are in %s\n"), im->o->file, im->o->rejects);
    }
    if (!im->rej) {
        if (im->o->format == IMPORT_JSONL) {
            char *h = "#record";
            size_t hn = 7;
            rc = rejects_open(im, 1, &h, &hn);
        } else {
            rc = rejects_open(im, im->ncols, im->colname, NULL);
        }
        if (rc) {
            return rc;
        }
    }
    int k = snprintf(ln, sizeof ln, "%ld", line);
    csv_put(&im->rw, ln, (size_t)k, 0);
    csv_put(&im->rw, (const char *)im->why.p, im->why.len, 1);
    csv_put(&im->rw, im->badcol, strlen(im->badcol), 1);
    csv_put(&im->rw, im->badval, strlen(im->badval), 1);
    for (int i = 0; i < ncells; i++) {
        csv_put(&im->rw, cells[i], lens[i], 1);
    }
    /* every row as long as the header (a sheet's row ends at its last value) */
    for (int i = ncells; im->o->format != IMPORT_JSONL && i < im->ncols; i++) {
        csv_put(&im->rw, "", 0, 0);
    }
    csv_end_row(&im->rw);
    return ferror(im->rej) ? err_set(GH_EIO, _("writing %s failed"), im->rej_tmp) : 0;
}

/* ---- rows ---------------------------------------------------------------------------------- */

/* The progress line is progress.c's bar, in rows: the total is the rows
 * the bytes read so far (done of im->size) let one expect. */
void import_progress(imp *im, uint64_t done) {
    if (!im->o->progress || (im->rows & 4095)) {
        return;
    }
    double rows = (double)im->rows;
    double total = im->size && done ? rows * (double)im->size / (double)done : 0;
    progress_draw(rows, total > rows ? total : rows + 1, _("import"));
}

/* The change event of a stored row, as db.insert/put publish it for a
 * collection defined with events = true (bus_change.h): <coll>.inserted
 * {new = record}, or <coll>.updated {old = ..., new = ...} when an upsert
 * replaced one. */
static int publish_change(imp *im, int had_old) {
    int64_t seq;
    return bus_change_append(im->t, im->c, had_old ? im->old.p : NULL, im->old.len, im->rec.p,
                             im->rec.len, im->run_uid, &im->payload, &seq);
}

/* Stores the assembled row, or notes why it cannot be. */
int import_row_store(imp *im) {
    if (im->o->mode == STORE_REPLACE && im->snap) {
        /* an upsert would silently keep only the last of two rows with one key */
        codec_buf k;
        const void *v;
        size_t vn;
        codec_buf_init(&k);
        if (store_record_key(im->c, im->rec.p, im->rec.len, &k) == 0 &&
            store_get(im->t, im->c, k.p, k.len, &v, &vn) == 0 &&
            store_get(im->snap, im->c, k.p, k.len, &v, &vn) != 0) {
            char row[100];
            earlier_row(im, seen_get(im, k.p, k.len), row, sizeof row);
            codec_buf_free(&k);
            import_problem(im, im->c->fields[im->c->key].name, NULL, 0, _("%s has the same key"),
                           row);
            return -1;
        }
        codec_buf_free(&k);
    }
    int rc, had_old = 0;
    if (im->c->events && im->o->mode == STORE_REPLACE) { /* the record replaced, for the event */
        codec_buf k;
        const void *v;
        size_t vn;
        codec_buf_init(&k);
        im->old.len = 0;
        if (store_record_key(im->c, im->rec.p, im->rec.len, &k) == 0 &&
            store_get(im->t, im->c, k.p, k.len, &v, &vn) == 0) {
            codec_buf_add(&im->old, v, vn);
            had_old = 1;
        }
        codec_buf_free(&k);
    }
    rc = store_put(im->t, im->c, im->o->mode, im->rec.p, im->rec.len);
    if (rc == 0 && im->c->events) {
        rc = publish_change(im, had_old);
    }
    if (rc == 0) {
        im->stored++;
        codec_buf k;
        codec_buf_init(&k);
        if (store_record_key(im->c, im->rec.p, im->rec.len, &k) == 0 && !k.oom) {
            seen_put(im, k.p, k.len, im->last_line);
        }
        codec_buf_free(&k);
        return 0;
    }
    if (rc == GH_EEXISTS) {
        explain_clash(im);
        return -1;
    }
    if (rc == GH_ETOOBIG || rc == GH_ETYPE || rc == GH_EINVAL) {
        import_problem(im, NULL, NULL, 0, "%s", err_msg(rc));
        return -1;
    }
    im->fatal = rc;
    return -1;
}

/* What a row's number counts in messages: a sheet's rows, a file's lines. */
static const char *unit(const imp *im) {
    return im->o->format == IMPORT_XLSX ? _("row") : _("line");
}

static int header(imp *im, const csv_row *row) {
    const store_coll *c = im->c;
    char unknown[600] = "";
    size_t ulen = 0;
    int nunknown = 0;
    if (row->ncells > MAX_COLS) {
        return err_set(GH_EINVAL, _("%s: %s %ld: %d columns is too many (at most %d)"), im->o->file,
                       unit(im), row->line, row->ncells, MAX_COLS);
    }
    im->ncols = row->ncells;
    im->colname = calloc((size_t)row->ncells + 1, sizeof *im->colname);
    im->colfield = calloc((size_t)row->ncells + 1, sizeof *im->colfield);
    if (!im->colname || !im->colfield) {
        return GH_ENOMEM;
    }
    for (int i = 0; i < row->ncells; i++) {
        const char *s = row->cells[i];
        size_t n = trim(&s, row->lens[i]);
        if (!(im->colname[i] = strndup(s, n))) {
            return GH_ENOMEM;
        }
    }
    for (int i = 0; i < row->ncells; i++) {
        const char *name = im->colname[i], *target = NULL;
        int pos = -1;
        for (int m = 0; m < im->o->nmap; m++) {
            const char *eq = strchr(im->o->map[m], '=');
            if ((size_t)(eq - im->o->map[m]) == strlen(name) &&
                memcmp(im->o->map[m], name, strlen(name)) == 0) {
                target = eq + 1;
            }
        }
        if (target) {
            if (!*target || strcmp(target, "-") == 0) {
                im->colfield[i] = COL_SKIP;
                continue;
            }
            if ((pos = store_field_pos(c, target)) < 0 || pos == c->extra) {
                return err_set(GH_EUNKNOWN, _("--map %s=%s: collection '%s' has no field '%s'"),
                               name, target, c->name, target);
            }
        } else if (name[0] == '#' || name[0] == 0) {
            /* the rejects file's own columns, and unnamed ones, are skipped */
            im->colfield[i] = COL_SKIP;
            continue;
        } else if ((pos = store_field_pos(c, name)) < 0 || pos == c->extra) {
            pos = import_field_by_label(c, name);
            for (int a = 0; aliases[a][0] && pos < 0; a++) {
                if (strcmp(aliases[a][0], name) == 0) {
                    pos = store_field_pos(c, aliases[a][1]);
                }
            }
            for (int f = 0; f < c->nfields && pos < 0; f++) {
                if (f != c->extra && strcasecmp(c->fields[f].name, name) == 0) {
                    pos = f;
                }
            }
        }
        if (pos < 0) {
            if (c->extra >= 0) {
                im->colfield[i] = COL_EXTRA;
                continue;
            }
            if (ulen < sizeof unknown - 80) {
                ulen += (size_t)snprintf(unknown + ulen, sizeof unknown - ulen, "%s'%s'",
                                         nunknown ? ", " : "", name);
            }
            nunknown++;
            im->colfield[i] = COL_SKIP;
            continue;
        }
        if (im->fieldcol[pos] >= 0) {
            return err_set(GH_EINVAL,
                           _("%s: %s %ld: columns '%s' and '%s' both give field '%s' (skip one "
                             "with --map '%s=-')"),
                           im->o->file, unit(im), row->line, im->colname[im->fieldcol[pos]], name,
                           c->fields[pos].name, name);
        }
        im->fieldcol[pos] = i;
        im->colfield[i] = pos;
    }
    if (nunknown) {
        char known[600];
        size_t k = 0;
        known[0] = 0;
        for (int f = 0; f < c->nfields && k < sizeof known - 70; f++) {
            if (f != c->extra) {
                k += (size_t)snprintf(known + k, sizeof known - k, "%s%s", k ? ", " : "",
                                      c->fields[f].name);
            }
        }
        /* one named cell: likely a title above the header (会员花名册) */
        int title = 0;
        for (int i = 0; i < row->ncells; i++) {
            title += im->colname[i][0] != 0;
        }
        return err_set(GH_EUNKNOWN,
                       _n("%s: %s %ld: column %s is not a field of collection '%s' (its fields: "
                          "%s); name the field with --map 'COLUMN=field', or skip the column with "
                          "--map 'COLUMN=-'%s",
                          "%s: %s %ld: columns %s are not fields of collection '%s' (its fields: "
                          "%s); name the field with --map 'COLUMN=field', or skip the column with "
                          "--map 'COLUMN=-'%s",
                          nunknown),
                       im->o->file, unit(im), row->line, unknown, c->name, known,
                       title == 1 ? _("; if it is a title above the header, give --header-row "
                                      "with the header's row")
                                  : "");
    }
    for (int m = 0; m < im->o->nmap; m++) {
        const char *eq = strchr(im->o->map[m], '=');
        int found = 0;
        for (int i = 0; i < row->ncells && !found; i++) {
            found = strlen(im->colname[i]) == (size_t)(eq - im->o->map[m]) &&
                    memcmp(im->colname[i], im->o->map[m], (size_t)(eq - im->o->map[m])) == 0;
        }
        if (!found) {
            return err_set(GH_EUNKNOWN, _("--map %s: the file has no column '%.*s'"), im->o->map[m],
                           (int)(eq - im->o->map[m]), im->o->map[m]);
        }
    }
    for (int f = 0; f < c->nfields; f++) {
        if (im->fieldcol[f] < 0 && f != c->extra && !c->fields[f].optional &&
            !(f == c->key && c->auto_key)) {
            return err_set(GH_EMISSING,
                           _("%s: %s %ld: no column gives the required field '%s' of collection "
                             "'%s' (name a column with --map 'COLUMN=%s')"),
                           im->o->file, unit(im), row->line, c->fields[f].name, c->name,
                           c->fields[f].name);
        }
    }
    im->header_done = 1;
    return 0;
}

static int csv_row_one(imp *im, const csv_row *row);

static int csv_row_cb(void *ctx, const csv_row *row) {
    imp *im = ctx;
    if (!im->header_done) {
        if (row->line < im->o->header_row || row->ncells == 0) {
            return 0; /* a title or notes above the header, blank lines */
        }
        return header(im, row);
    }
    im->last_line = row->line;
    if (row->line <= im->cp.line) { /* stored or rejected by an earlier chunk */
        return 0;
    }
    int rc = csv_row_one(im, row);
    return rc == 0 && im->cp.chunk ? import_chunk_step(im, row->line) : rc;
}

static int csv_row_one(imp *im, const csv_row *row) {
    int empty = 1;
    for (int i = 0; i < row->ncells && empty; i++) {
        const char *s = row->cells[i];
        empty = trim(&s, row->lens[i]) == 0;
    }
    if (empty) { /* blank lines and Excel's trailing ",,,," rows */
        im->skipped++;
        return 0;
    }
    im->rows++;
    import_progress(im, row->done);
    import_row_reset(im);
    if (row->ncells > im->ncols) {
        int extra = 0;
        for (int i = im->ncols; i < row->ncells; i++) {
            extra |= row->lens[i] > 0;
        }
        if (extra) {
            import_problem(
                im, NULL, NULL, 0,
                im->o->format == IMPORT_XLSX
                    ? "the row has %d cells but the header has %d columns (give the extra "
                      "cells a column name in the header row)"
                    : "the row has %d cells but the header has %d columns (a comma inside a "
                      "cell needs the cell in double quotes)",
                row->ncells, im->ncols);
        }
    }
    for (int i = 0; i < im->ncols && i < row->ncells; i++) {
        int pos = im->colfield[i];
        if (pos >= 0) {
            import_row_value(im, pos, im->colname[i], V_TEXT, row->cells[i], row->lens[i]);
        } else if (pos == COL_EXTRA) {
            import_row_extra(im, im->colname[i], V_TEXT, row->cells[i], row->lens[i]);
        }
    }
    if (im->nbad == 0 && import_row_assemble(im) == 0 && import_row_store(im) == 0) {
        return 0;
    }
    if (im->fatal) {
        return im->fatal;
    }
    return import_reject(im, row->line, row->ncells, row->cells, row->lens);
}

/* ---- the whole import ---------------------------------------------------------------------------- */

static void imp_clear(imp *im) {
    seen_free(im);
    store_bulk_free(im->bulk);
    im->bulk = NULL;
    for (int i = 0; im->colname && i < im->ncols; i++) {
        free(im->colname[i]);
    }
    free(im->colname);
    free(im->colfield);
    im->colname = NULL;
    im->colfield = NULL;
    im->ncols = 0;
    if (im->rej) {
        fclose(im->rej);
        im->rej = NULL;
    }
    if (im->rej_tmp) {
        if (!im->cp.chunk) { /* a chunked import's rejects are kept for the next attempt */
            unlink(im->rej_tmp);
        }
        free(im->rej_tmp);
        im->rej_tmp = NULL;
    }
}

/* A chunked import going on after its last commit: the rejects file as it
 * was then (what later rows added is cut off), open for more. */
static int rejects_reopen(imp *im) {
    if (im->cp.rej_bytes <= 0) {
        return 0;
    }
    size_t n = strlen(im->o->rejects) + 8;
    if (!(im->rej_tmp = malloc(n))) {
        return GH_ENOMEM;
    }
    snprintf(im->rej_tmp, n, "%s.tmp", im->o->rejects);
    struct stat st;
    if (access(im->rej_tmp, F_OK) != 0 && stat(im->o->rejects, &st) == 0 &&
        st.st_size == (off_t)im->cp.rej_bytes) {
        /* stopped after its last chunk had put the rejects file in place: that
         * file is the one to go on with (its length is the checkpoint's) */
        if (rename(im->o->rejects, im->rej_tmp) != 0) {
            return err_set(GH_EIO, _("cannot write the rejects file %s: %s"), im->rej_tmp,
                           strerror(errno));
        }
    }
    if (!(im->rej = fopen(im->rej_tmp, "r+"))) {
        fprintf(stderr,
                _("import: %s, the rejects of the stopped import, is gone: the %lld rows it "
                  "rejected are not in the new rejects file\n"),
                im->rej_tmp, (long long)im->cp.rejected);
        free(im->rej_tmp);
        im->rej_tmp = NULL;
        im->cp.rej_bytes = 0;
        return 0;
    }
    if (ftruncate(fileno(im->rej), (off_t)im->cp.rej_bytes) != 0 ||
        fseek(im->rej, 0, SEEK_END) != 0) {
        return err_set(GH_EIO, _("cannot write the rejects file %s: %s"), im->rej_tmp,
                       strerror(errno));
    }
    csv_writer_init(&im->rw, im->rej, CSV_COMMA_SEP, 0);
    return 0;
}

static void file_sha256(const char *path, char out[65]);

/* --chunk / --resume: names the checkpoint, and reads it when resuming. */
static int chunk_setup(imp *im) {
    const import_opts *o = im->o;
    char real[PATH_MAX];
    if (!realpath(o->file, real)) {
        return err_set(GH_EIO, _("cannot open %s: %s"), o->file, strerror(errno));
    }
    import_cp cp;
    memset(&cp, 0, sizeof cp);
    snprintf(cp.name, sizeof cp.name, "%s %s", o->coll, real);
    file_sha256(o->file, cp.sha256);
    store_txn *t;
    import_cp old;
    int rc = store_txn_begin(im->s, NULL, 0, &t), found = 0;
    if (rc == 0) {
        rc = import_cp_get(t, cp.name, &old);
        found = rc == 0;
        if (rc == GH_ENOTFOUND) {
            rc = 0;
            err_clear();
        }
        store_txn_abort(t);
    }
    if (rc) {
        return rc;
    }
    if (found && old.finished && o->resume && strcmp(old.sha256, cp.sha256) == 0) {
        /* killed after its last chunk (which carried the finish mark) but
         * before it exited: report its end, import nothing again */
        im->cp = old;
        im->already = 1;
        im->rows = (uint64_t)old.rows, im->stored = (uint64_t)old.stored;
        im->rejected = (uint64_t)old.rejected, im->skipped = (uint64_t)old.skipped;
        fprintf(stderr,
                _("import: the import of %s into '%s' finished already (run %s, %lld rows "
                  "stored, %lld rejected): nothing is imported again\n"),
                o->file, o->coll, old.run, (long long)old.stored, (long long)old.rejected);
        return old.rejected ? rejects_reopen(im) : 0;
    }
    if (found && !old.finished) {
        if (!o->resume) {
            return err_set(GH_EEXISTS,
                           _("an import of %s into '%s' stopped after line %lld (%lld rows stored, "
                             "%lld rejected, by run %s): give --resume to go on after it"),
                           o->file, o->coll, (long long)old.line, (long long)old.stored,
                           (long long)old.rejected, old.run);
        }
        if (strcmp(old.sha256, cp.sha256) != 0) {
            return err_set(GH_EINVAL,
                           _("%s has changed since the import that stopped after line %lld (its "
                             "SHA-256 differs): it cannot go on where that one stopped; import the "
                             "rows after it as a new file"),
                           o->file, (long long)old.line);
        }
        im->cp = old;
        if (o->chunk) {
            im->cp.chunk = o->chunk;
        }
        fprintf(stderr,
                _("import: resuming after line %lld of %s (%lld rows stored, %lld "
                  "rejected before)\n"),
                (long long)old.line, o->file, (long long)old.stored, (long long)old.rejected);
        return rejects_reopen(im);
    }
    if (o->resume) {
        fprintf(stderr,
                _("import: no stopped import of %s into '%s' to resume: importing from the "
                  "top\n"),
                o->file, o->coll);
    }
    cp.chunk = o->chunk ? o->chunk : IMPORT_DEFAULT_CHUNK;
    cp.started = clock_wall_s();
    im->cp = cp;
    return 0;
}

/* One attempt: reads the whole file in write transaction im->t. */
static int import_once(imp *im, csv_info *info) {
    if (im->o->progress) {
        progress_begin();
    }
    int rc = store_coll_get(im->t, im->o->coll, &im->c);
    if (rc) {
        if (rc == GH_ENOTFOUND) {
            err_set(rc,
                    _("there is no collection '%s' in this database: define it first (db.define in "
                      "a script run with gonghui run)"),
                    im->o->coll);
        }
        return rc;
    }
    if (im->o->coll[0] == '_') {
        return err_set(GH_EINVAL, _("'%s' is a system collection: it cannot be imported into"),
                       im->o->coll);
    }
    for (int i = 0; i < im->c->nfields; i++) {
        im->pd[i] = store_field_pii(&im->c->fields[i]);
        im->credit[i] = (unsigned char)(in_list(credit_names, im->c->fields[i].name) ||
                                        (im->c->fields[i].label &&
                                         in_list(credit_names, im->c->fields[i].label)));
        im->fieldcol[i] = -1;
    }
    /* Inserts: the index entries are held back, then sorted and appended as
     * each transaction commits (store.h's bulk loading), instead of going
     * one by one into random places of the index tables. Refusals stay
     * exactly as store_put gives them. GONGHUI_IMPORT_MEM_KB bounds the
     * memory for the held entries (default STORE_BULK_BUDGET). */
    if (im->o->mode == STORE_INSERT && im->c->nindexes > 0 && !im->bulk) {
        const char *mem = getenv("GONGHUI_IMPORT_MEM_KB");
        long kb = mem ? atol(mem) : 0;
        if ((rc = store_bulk_begin(im->t, im->c, kb > 0 ? (size_t)kb << 10 : 0, &im->bulk))) {
            return rc;
        }
    }
    im->rows = (uint64_t)im->cp.rows, im->stored = (uint64_t)im->cp.stored;
    im->rejected = (uint64_t)im->cp.rejected, im->skipped = (uint64_t)im->cp.skipped;
    im->in_chunk = 0;
    im->last_line = 0;
    im->header_done = 0;
    im->fatal = 0;
    if (im->o->format == IMPORT_JSONL) {
        rc = import_jsonl_read(im, info);
    } else {
        /* the row sources: each hands csv_row_cb one row at a time */
        if (im->o->format == IMPORT_XLSX) {
            rc = xlsx_in_read(im->o->file, im->o->sheet, csv_row_cb, im, info);
        } else {
            rc = csv_read(im->o->file,
                          (im->o->format == IMPORT_TSV ? CSV_TAB_SEP : CSV_COMMA_SEP | CSV_SNIFF) |
                              CSV_EMPTY_ROWS,
                          im->o->encoding, csv_row_cb, im, info);
        }
        if (rc == 0 && !im->header_done) {
            rc = err_set(GH_EINVAL, _("%s is empty: a header row naming the columns is expected"),
                         im->o->file);
        }
    }
    if (im->o->progress) {
        progress_clear();
    }
    return rc;
}

/* ---- chunks ----------------------------------------------------------------------------------- */

/* Adds writes c[0..n) to im->acc (gonghui's own collections left out). */
static void acc_counts(imp *im, const store_counts *c, int n) {
    for (int i = 0; c && i < n; i++) {
        if (!c[i].name || c[i].name[0] == '_') {
            continue;
        }
        int j = 0;
        while (j < im->nacc && strcmp(im->acc[j].name, c[i].name) != 0) {
            j++;
        }
        if (j == im->nacc) {
            store_counts *m = realloc(im->acc, (size_t)(im->nacc + 2) * sizeof *m);
            if (!m) {
                return;
            }
            im->acc = m;
            memset(&m[j], 0, 2 * sizeof *m);
            if (!(m[j].name = strdup(c[i].name))) {
                return;
            }
            im->nacc++;
        }
        im->acc[j].inserted += c[i].inserted;
        im->acc[j].updated += c[i].updated;
        im->acc[j].deleted += c[i].deleted;
    }
}

/* Writes the checkpoint (rows up to `line` handled) into im->t and commits
 * it; on success im->cp is the new checkpoint. */
static int chunk_commit(imp *im, long line, int finished) {
    import_cp cp = im->cp;
    cp.line = line;
    cp.rows = (int64_t)im->rows, cp.stored = (int64_t)im->stored;
    cp.rejected = (int64_t)im->rejected, cp.skipped = (int64_t)im->skipped;
    cp.finished = finished;
    cp.updated = clock_wall_s();
    snprintf(cp.run, sizeof cp.run, "%s", im->run_uid);
    if (im->rej) {
        if (fflush(im->rej) != 0) {
            return err_set(GH_EIO, _("writing %s failed: %s"), im->rej_tmp, strerror(errno));
        }
        cp.rej_bytes = (int64_t)ftell(im->rej);
    }
    int rc = import_cp_put(im->t, &cp);
    if (rc) {
        return rc;
    }
    int n;
    const store_counts *c = store_txn_counts(im->t, &n);
    store_counts *keep = store_counts_copy(c, n);
    rc = store_txn_commit(im->t);
    im->t = NULL;
    if (rc == 0) {
        acc_counts(im, keep, n);
        im->cp = cp;
        im->in_chunk = 0;
    }
    for (int i = 0; keep && i < n; i++) {
        free(keep[i].name);
    }
    free(keep);
    return rc;
}

/* After each row of a chunked import: a full chunk is committed with its
 * checkpoint, and the next one begins (with a fresh snapshot). */
int import_chunk_step(imp *im, long line) {
    if (++im->in_chunk < (uint64_t)im->cp.chunk) {
        return 0;
    }
    int rc = chunk_commit(im, line, 0);
    if (rc) {
        return rc;
    }
    store_txn_abort(im->snap);
    im->snap = NULL;
    if (store_txn_begin(im->s, NULL, 0, &im->snap) != 0) {
        im->snap = NULL;
    }
    if ((rc = store_txn_begin(im->s, NULL, 1, &im->t)) != 0) {
        im->t = NULL;
        return rc;
    }
    if ((rc = store_coll_get(im->t, im->o->coll, &im->c)) != 0) {
        return rc;
    }
    return im->bulk ? store_bulk_attach(im->bulk, im->t, im->c) : 0;
}

/* A rejects file left by an earlier import may have been edited (the rows
 * being fixed): a new import never deletes or overwrites it, but renames
 * it to FILE.old (replacing an older .old) and says so. */
static int rejects_aside(const import_opts *o) {
    struct stat st, fst;
    if (lstat(o->rejects, &st) != 0) {
        return 0;
    }
    if (stat(o->file, &fst) == 0 && st.st_dev == fst.st_dev && st.st_ino == fst.st_ino) {
        return err_set(GH_EINVAL, _("--rejects %s is the file being imported: name another file"),
                       o->rejects);
    }
    char old[PATH_MAX + 8];
    snprintf(old, sizeof old, "%s.old", o->rejects);
    if (rename(o->rejects, old) != 0) {
        return err_set(GH_EIO,
                       _("cannot move the rejects file of an earlier import, %s, to %s: %s"),
                       o->rejects, old, strerror(errno));
    }
    fprintf(stderr, _("import: the rejects file of an earlier import is kept as %s\n"), old);
    return 0;
}

/* Files that are not what their name says: an Excel 97-2003 workbook (an
 * OLE2 compound file, whatever its name) cannot be read; say what to do. */
static int sniff_file(const import_opts *o) {
    unsigned char magic[8];
    int fd = open(o->file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return 0; /* the reader says why */
    }
    ssize_t n = read(fd, magic, sizeof magic);
    close(fd);
    /* (as .xlsx, the xlsx reader says it: an encrypted workbook is one too) */
    if (n == 8 && memcmp(magic, "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 8) == 0 &&
        o->format != IMPORT_XLSX) {
        return err_set(
            GH_EINVAL,
            _("%s is an Excel 97-2003 workbook (.xls), which gonghui does not read: open "
              "it in Excel (or WPS) and save it as Excel Workbook (.xlsx), then import "
              "that"),
            o->file);
    }
    return 0;
}

/* The SHA-256 of the file, for the run record ("" if unreadable). */
static void file_sha256(const char *path, char out[65]) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    out[0] = 0;
    if (fd < 0) {
        return;
    }
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
        void *m = st.st_size ? mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
        if (m != MAP_FAILED) {
            sha256_hex(m ? m : "", (size_t)st.st_size, out);
            if (m) {
                munmap(m, (size_t)st.st_size);
            }
        }
    }
    close(fd);
}

/* The file's hash is for the run record; it is computed on another thread
 * while the import runs, so a large file costs no time for it. */
typedef struct sha_job {
    const char *path;
    char out[65];
} sha_job;

static void *sha_thread(void *arg) {
    sha_job *j = arg;
    file_sha256(j->path, j->out);
    return NULL;
}

static void thousands(uint64_t v, char *out, size_t n) {
    char digs[32];
    int k = snprintf(digs, sizeof digs, "%llu", (unsigned long long)v), j = 0;
    for (int i = 0; i < k && (size_t)j + 2 < n; i++) {
        if (i && (k - i) % 3 == 0) {
            out[j++] = ',';
        }
        out[j++] = digs[i];
    }
    out[j] = 0;
}

int import_run(store *s, const import_opts *o) {
    imp im;
    csv_info info = {"UTF-8", 0, 0, ','};
    double started = clock_wall_s();
    int rc = 0, code = IMPORT_EXIT_FAILED, committed = 0;
    store_counts *counts = NULL;
    int ncounts = 0;
    char *errmsg = NULL;
    memset(&im, 0, sizeof im);
    im.o = o;
    im.s = s;
    codec_buf_init(&im.rec);
    codec_buf_init(&im.vals);
    codec_buf_init(&im.extra);
    codec_buf_init(&im.tmp);
    codec_buf_init(&im.why);
    codec_buf_init(&im.old);
    codec_buf_init(&im.payload);
    struct stat st;
    if (stat(o->file, &st) == 0) {
        im.size = (uint64_t)st.st_size;
    }
    char run_uid[17];
    snprintf(run_uid, sizeof run_uid, "%016llx", (unsigned long long)runs_random64());
    im.run_uid = run_uid;
    int64_t seq0 = 0; /* where the event log stands: this import's events come after */
    {
        store_txn *rt;
        if (store_txn_begin(s, NULL, 0, &rt) == 0) {
            bus_last_seq(rt, &seq0);
            store_txn_abort(rt);
        }
        err_clear();
    }
    sha_job sha = {o->file, ""};
    pthread_t sha_th;
    int sha_started = 0;
    /* one import per file and collection at a time: two at once would each
     * store every row, and a --resume beside a running import would store
     * what that one stores next (issue 16) */
    {
        char real[PATH_MAX], name[PATH_MAX + 300];
        if (realpath(o->file, real)) {
            snprintf(name, sizeof name, "import %s %s", o->coll, real);
            if (store_lock_name(s, name) != 0) {
                rc = err_set(GH_EBUSY,
                             _("another import of %s into '%s' is running now: wait until it "
                               "ends (if it stops part-way, give --resume then); nothing was "
                               "imported by this one"),
                             o->file, o->coll);
            }
        }
    }
    if (rc == 0) {
        rc = sniff_file(o);
    }
    if (rc == 0 && (o->chunk || o->resume)) {
        rc = chunk_setup(&im);
        snprintf(sha.out, sizeof sha.out, "%s", im.cp.sha256);
    } else if (rc == 0) {
        sha_started = pthread_create(&sha_th, NULL, sha_thread, &sha) == 0;
    }
    if (rc == 0 && !im.already && im.cp.line == 0) { /* a new import, not one going on */
        rc = rejects_aside(o);
    }
    if (rc == 0 && im.already) {
        committed = 1;
        rc = 1; /* skips the loop below */
    }
    for (int attempt = 0; rc == 0; attempt++) {
        /* The snapshot first: it shows the database as it was before this
         * import. The collection's tables are opened in a read transaction
         * of their own beforehand: LMDB shares a table handle opened in a
         * write transaction with others only once that one commits. */
        store_txn *pre;
        const store_coll *pc;
        if (store_txn_begin(s, NULL, 0, &pre) == 0) {
            store_coll_get(pre, o->coll, &pc);
            store_txn_commit(pre);
        }
        if (store_txn_begin(s, NULL, 0, &im.snap) != 0) {
            im.snap = NULL;
        }
        if ((rc = store_txn_begin(s, NULL, 1, &im.t)) != 0) {
            store_txn_abort(im.snap);
            im.snap = NULL;
            break;
        }
        if (im.cp.chunk && attempt > 0) { /* again after the last commit */
            rc = rejects_reopen(&im);
        }
        if (rc == 0) {
            rc = import_once(&im, &info);
        }
        if (rc == 0 && im.cp.chunk) {
            store_txn_abort(im.snap);
            im.snap = NULL;
            /* the last rows and the finish mark in one transaction: an
             * import killed after it is finished, and --resume then reports
             * its end (and puts its rejects file in place) but imports
             * nothing again */
            rc = chunk_commit(&im, im.last_line > im.cp.line ? im.last_line : im.cp.line, 1);
            committed = rc == 0;
        } else if (rc == 0 && (!o->strict || im.rejected == 0)) {
            int nc;
            const store_counts *c = store_txn_counts(im.t, &nc);
            store_counts *keep = store_counts_copy(c, nc);
            store_txn_abort(im.snap);
            im.snap = NULL;
            rc = store_txn_commit(im.t);
            committed = rc == 0;
            if (committed) {
                acc_counts(&im, keep, nc); /* the collection's writes (not _events) */
            }
            for (int i = 0; keep && i < nc; i++) {
                free(keep[i].name);
            }
            free(keep);
        } else {
            store_txn_abort(im.t);
            store_txn_abort(im.snap);
            im.snap = NULL;
        }
        im.t = NULL;
        store_txn_abort(im.snap);
        im.snap = NULL;
        if (store_unit_again(s, rc, attempt)) {
            imp_clear(&im);
            continue;
        }
        break;
    }
    if (im.already) {
        rc = 0;
    }
    counts = im.acc, ncounts = im.nacc;
    im.acc = NULL, im.nacc = 0;
    if (rc == 0 && info.guessed) {
        fprintf(stderr,
                _("import: %s is not UTF-8; it was read as GB18030 (give --encoding to say "
                  "otherwise)\n"),
                o->file);
    }
    if (rc == 0 && info.delim == ';') {
        fprintf(stderr,
                _("import: %s separates its cells with semicolons (as Excel saves CSV where the "
                  "decimal mark is a comma); it was read so\n"),
                o->file);
    }
    /* the rejects file: in place when there are rejects, else none (a stale one would mislead;
     * one from an earlier import was moved aside at the start) */
    if (im.rej) {
        int bad = fclose(im.rej) != 0;
        im.rej = NULL;
        if (rc == 0 && (bad || rename(im.rej_tmp, o->rejects) != 0)) {
            fprintf(stderr, _("import: the rejects file %s could not be written: %s\n"), o->rejects,
                    strerror(errno));
        }
    }
    char a[32], b[32], n[32];
    thousands(im.stored, a, sizeof a);
    thousands(im.rejected, b, sizeof b);
    thousands(im.rows, n, sizeof n);
    if (rc) {
        errmsg = strdup(err_msg(rc));
        fprintf(stderr, "gonghui import: %s\n", err_msg(rc));
        if (im.cp.chunk && im.cp.line > 0) {
            fprintf(stderr,
                    _("import: the rows up to line %lld are stored (%lld rows, %lld rejected); "
                      "after fixing the cause, give --resume to go on from there\n"),
                    (long long)im.cp.line, (long long)im.cp.stored, (long long)im.cp.rejected);
        } else {
            fprintf(stderr, _("import: nothing was stored\n"));
        }
        code = IMPORT_EXIT_FAILED;
    } else if (im.rejected == 0) {
        uint64_t ins = 0, upd = 0;
        for (int i = 0; counts && i < ncounts; i++) {
            if (strcmp(counts[i].name, o->coll) == 0) {
                ins = counts[i].inserted, upd = counts[i].updated;
            }
        }
        printf(_("import: %s rows of %s (%s) stored in '%s': %llu inserted, %llu updated\n"), a,
               o->file, info.encoding, o->coll, (unsigned long long)ins, (unsigned long long)upd);
        code = IMPORT_EXIT_OK;
    } else if (o->strict) {
        printf(_("import: %s of %s rows are bad; with --strict nothing was stored. The bad rows, "
                 "with the reasons, are in %s\n"),
               b, n, o->rejects);
        code = IMPORT_EXIT_REJECTS;
    } else {
        printf(_("import: %s rows of %s (%s) stored in '%s', %s rejected: the bad rows, with the "
                 "reasons, are in %s\n"),
               a, o->file, info.encoding, o->coll, b, o->rejects);
        code = IMPORT_EXIT_REJECTS;
    }
    if (rc == 0 && im.skipped) {
        thousands(im.skipped, n, sizeof n);
        printf(_("import: %s blank rows skipped (empty lines, or rows with no values)\n"), n);
    }

    /* the run record */
    char host[256] = "";
    if (sha_started) {
        pthread_join(sha_th, NULL);
    } else if (!sha.out[0]) {
        file_sha256(o->file, sha.out);
    }
    gethostname(host, sizeof host - 1);
    bus_topic_count *evc = NULL; /* change events (events = true), counted from the log */
    int nevc = 0;
    runs_topic *topics = NULL;
    if (im.c && im.c->events) {
        store_txn *rt;
        if (store_txn_begin(s, NULL, 0, &rt) == 0) {
            bus_count_run(rt, seq0, run_uid, &evc, &nevc);
            store_txn_abort(rt);
        }
        err_clear();
        topics = nevc ? calloc((size_t)nevc, sizeof *topics) : NULL;
        for (int i = 0; topics && i < nevc; i++) {
            topics[i].topic = evc[i].topic;
            topics[i].count = evc[i].n;
        }
    }
    char summary[600];
    snprintf(summary, sizeof summary,
             "%llu rows of %s read (%s): %llu stored, %llu rejected%s%s%s; %llu blank skipped",
             (unsigned long long)im.rows, o->file, info.encoding, (unsigned long long)im.stored,
             (unsigned long long)im.rejected, im.rejected ? " (in " : "",
             im.rejected ? o->rejects : "", im.rejected ? ")" : "", (unsigned long long)im.skipped);
    if (im.cp.chunk) {
        size_t k = strlen(summary);
        snprintf(summary + k, sizeof summary - k, "; in chunks of %lld rows, %s after line %lld",
                 (long long)im.cp.chunk, committed ? "finished" : "stopped", (long long)im.cp.line);
    }
    runs_rec r = {
        .uid = run_uid,
        .script = o->file,
        .script_sha256 = sha.out,
        .params = o->argv,
        .nparams = o->argc,
        .clock = (int64_t)started,
        .operator_name = runs_operator(),
        .host = host,
        .started = started,
        .ended = clock_wall_s(),
        .mode = o->strict ? "import --strict" : "import",
        .outcome = rc            ? "error"
                   : im.rejected ? (o->strict ? "rejected" : "partial")
                                 : "ok",
        .error = errmsg,
        .exit_code = code,
        .writes = counts,
        .nwrites = counts ? ncounts : 0,
        .events = topics,
        .nevents = topics ? nevc : 0,
        .summary = summary,
    };
    int rrc = runs_record(s, &r, NULL);
    if (rrc) {
        fprintf(stderr, _("gonghui import: the run record could not be written: %s\n"),
                err_msg(rrc));
    }
    free(topics);
    bus_topic_counts_free(evc, nevc);
    for (int i = 0; counts && i < ncounts; i++) {
        free(counts[i].name);
    }
    free(counts);
    free(errmsg);
    imp_clear(&im);
    for (int i = 0; i < im.nacc; i++) {
        free(im.acc[i].name);
    }
    free(im.acc);
    codec_buf_free(&im.rec);
    codec_buf_free(&im.vals);
    codec_buf_free(&im.extra);
    codec_buf_free(&im.tmp);
    codec_buf_free(&im.why);
    codec_buf_free(&im.old);
    codec_buf_free(&im.payload);
    return code;
}

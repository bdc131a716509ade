/*
 * table.c — text tables with CJK-aware column widths (see table.h).
 *
 * Calls utf8proc (character widths and UTF-8 decoding).
 *
 * Invariants:
 *   1. Every text-mode cell is measured and printed from the same shown
 *      form (control characters escaped, invalid bytes as '?', cut at
 *      max_width with "…"), so a column's padding is always width - shown.
 *   2. CSV and JSON write the caller's bytes (escaped as each format
 *      needs), never the shown form: files keep whole values.
 */
#include "table.h"

#include "err.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

typedef struct cell {
    int kind;
    char *s;
    size_t n;
} cell;

struct tbl {
    int ncols;
    char **names;
    cell *cells; /* rows * ncols */
    size_t rows, cap;
};

/* ---- widths ---------------------------------------------------------------------- */

/* East Asian Ambiguous ranges (EastAsianWidth.txt, "A") that occur in
 * Chinese text and data: Latin-1 signs, Greek, Cyrillic, punctuation,
 * letterlike symbols, numbers in circles, box drawing, shapes. Sorted. */
static const int32_t ambiguous[][2] = {
    {0x00A1, 0x00A1}, {0x00A4, 0x00A4}, {0x00A7, 0x00A8}, {0x00AA, 0x00AA}, {0x00AD, 0x00AE},
    {0x00B0, 0x00B4}, {0x00B6, 0x00BA}, {0x00BC, 0x00BF}, {0x00C6, 0x00C6}, {0x00D0, 0x00D0},
    {0x00D7, 0x00D8}, {0x00DE, 0x00E1}, {0x00E6, 0x00E6}, {0x00E8, 0x00EA}, {0x00EC, 0x00ED},
    {0x00F0, 0x00F0}, {0x00F2, 0x00F3}, {0x00F7, 0x00FA}, {0x00FC, 0x00FC}, {0x00FE, 0x00FE},
    {0x0101, 0x0101}, {0x0113, 0x0113}, {0x011B, 0x011B}, {0x012B, 0x012B}, {0x014D, 0x014D},
    {0x016B, 0x016B}, {0x01CE, 0x01CE}, {0x01D0, 0x01D0}, {0x01D2, 0x01D2}, {0x01D4, 0x01D4},
    {0x01D6, 0x01D6}, {0x01D8, 0x01D8}, {0x01DA, 0x01DA}, {0x01DC, 0x01DC}, {0x0251, 0x0251},
    {0x0261, 0x0261}, {0x02C4, 0x02C4}, {0x02C7, 0x02C7}, {0x02C9, 0x02CB}, {0x02CD, 0x02CD},
    {0x02D0, 0x02D0}, {0x02D8, 0x02DB}, {0x02DD, 0x02DD}, {0x02DF, 0x02DF}, {0x0391, 0x03A1},
    {0x03A3, 0x03A9}, {0x03B1, 0x03C1}, {0x03C3, 0x03C9}, {0x0401, 0x0401}, {0x0410, 0x044F},
    {0x0451, 0x0451}, {0x2010, 0x2010}, {0x2013, 0x2016}, {0x2018, 0x2019}, {0x201C, 0x201D},
    {0x2020, 0x2022}, {0x2024, 0x2027}, {0x2030, 0x2030}, {0x2032, 0x2033}, {0x2035, 0x2035},
    {0x203B, 0x203B}, {0x203E, 0x203E}, {0x2074, 0x2074}, {0x207F, 0x207F}, {0x2081, 0x2084},
    {0x20AC, 0x20AC}, {0x2103, 0x2103}, {0x2105, 0x2105}, {0x2109, 0x2109}, {0x2113, 0x2113},
    {0x2116, 0x2116}, {0x2121, 0x2122}, {0x2126, 0x2126}, {0x212B, 0x212B}, {0x2153, 0x2154},
    {0x215B, 0x215E}, {0x2160, 0x216B}, {0x2170, 0x2179}, {0x2189, 0x2189}, {0x2190, 0x2199},
    {0x21B8, 0x21B9}, {0x21D2, 0x21D2}, {0x21D4, 0x21D4}, {0x21E7, 0x21E7}, {0x2200, 0x2200},
    {0x2202, 0x2203}, {0x2207, 0x2208}, {0x220B, 0x220B}, {0x220F, 0x220F}, {0x2211, 0x2211},
    {0x2215, 0x2215}, {0x221A, 0x221A}, {0x221D, 0x2220}, {0x2223, 0x2223}, {0x2225, 0x2225},
    {0x2227, 0x222C}, {0x222E, 0x222E}, {0x2234, 0x2237}, {0x223C, 0x223D}, {0x2248, 0x2248},
    {0x224C, 0x224C}, {0x2252, 0x2252}, {0x2260, 0x2261}, {0x2264, 0x2267}, {0x226A, 0x226B},
    {0x226E, 0x226F}, {0x2282, 0x2283}, {0x2286, 0x2287}, {0x2295, 0x2295}, {0x2299, 0x2299},
    {0x22A5, 0x22A5}, {0x22BF, 0x22BF}, {0x2312, 0x2312}, {0x2460, 0x24E9}, {0x24EB, 0x254B},
    {0x2550, 0x2573}, {0x2580, 0x258F}, {0x2592, 0x2595}, {0x25A0, 0x25A1}, {0x25A3, 0x25A9},
    {0x25B2, 0x25B3}, {0x25B6, 0x25B7}, {0x25BC, 0x25BD}, {0x25C0, 0x25C1}, {0x25C6, 0x25C8},
    {0x25CB, 0x25CB}, {0x25CE, 0x25D1}, {0x25E2, 0x25E5}, {0x25EF, 0x25EF}, {0x2605, 0x2606},
    {0x2609, 0x2609}, {0x260E, 0x260F}, {0x261C, 0x261C}, {0x261E, 0x261E}, {0x2640, 0x2640},
    {0x2642, 0x2642}, {0x2660, 0x2661}, {0x2663, 0x2665}, {0x2667, 0x266A}, {0x266C, 0x266D},
    {0x266F, 0x266F}, {0x273D, 0x273D}, {0x2776, 0x277F}, {0xE000, 0xF8FF}, {0xFE00, 0xFE0F},
    {0xFFFD, 0xFFFD},
};

static int is_ambiguous(int32_t cp) {
    size_t lo = 0, hi = sizeof ambiguous / sizeof *ambiguous;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cp < ambiguous[mid][0]) {
            hi = mid;
        } else if (cp > ambiguous[mid][1]) {
            lo = mid + 1;
        } else {
            return 1;
        }
    }
    return 0;
}

int tbl_cp_width(int cp, int ambiguous_wide) {
    if (cp >= 0xFE00 && cp <= 0xFE0F) {
        return 0; /* variation selectors */
    }
    int w = utf8proc_charwidth(cp);
    if (w == 1 && ambiguous_wide && is_ambiguous(cp)) {
        return 2;
    }
    return w < 0 ? 0 : w > 2 ? 2 : w;
}

/* The shown form of a text-mode cell, as a growing buffer. */
typedef struct sbuf {
    char *p;
    size_t n, cap;
    int oom;
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n) {
    if (b->oom) {
        return;
    }
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        while (cap < b->n + n + 1) {
            cap *= 2;
        }
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

/* Appends the shown form of s to b (NULL: only measure), stopping before
 * a character that would pass `limit` columns (< 0: no limit); returns
 * its width. */
static int shown_upto(const char *s, size_t n, int limit, int amb, sbuf *b) {
    int w = 0;
    size_t i = 0;
    while (i < n) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t len =
            utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(n - i), &cp);
        char esc[8];
        const char *out = s + i;
        size_t outn;
        int cw;
        if (len <= 0) {
            out = "?";
            outn = 1;
            cw = 1;
            len = 1;
        } else if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0)) {
            if (cp == '\n') {
                snprintf(esc, sizeof esc, "\\n");
            } else if (cp == '\t') {
                snprintf(esc, sizeof esc, "\\t");
            } else if (cp == '\r') {
                snprintf(esc, sizeof esc, "\\r");
            } else {
                snprintf(esc, sizeof esc, "\\x%02X", (unsigned)cp & 0xFF);
            }
            out = esc;
            outn = strlen(esc);
            cw = (int)outn;
        } else {
            outn = (size_t)len;
            cw = tbl_cp_width(cp, amb);
        }
        if (limit >= 0 && w + cw > limit) {
            break;
        }
        if (b) {
            sb_add(b, out, outn);
        }
        w += cw;
        i += (size_t)len;
    }
    return w;
}

/* Appends the shown form of s to b (NULL: only measure), cut to maxw
 * columns with "…" when maxw > 0 and it is wider; returns its width. */
static int shown(const char *s, size_t n, int maxw, int amb, sbuf *b) {
    int full = shown_upto(s, n, -1, amb, NULL);
    if (maxw <= 0 || full <= maxw) {
        if (b) {
            shown_upto(s, n, -1, amb, b);
        }
        return full;
    }
    int w = shown_upto(s, n, maxw - 1, amb, b);
    if (b) {
        sb_add(b, "\xE2\x80\xA6", 3); /* … */
    }
    return w + 1;
}

int tbl_width(const char *s, size_t n, int ambiguous_wide) {
    return shown(s, n, 0, ambiguous_wide, NULL);
}

/* ---- the table ------------------------------------------------------------------- */

tbl *tbl_new(int ncols) {
    if (ncols < 0) {
        return NULL;
    }
    tbl *t = calloc(1, sizeof *t);
    if (!t) {
        return NULL;
    }
    t->ncols = ncols;
    t->names = calloc((size_t)ncols + 1, sizeof *t->names);
    if (!t->names) {
        free(t);
        return NULL;
    }
    return t;
}

void tbl_free(tbl *t) {
    if (!t) {
        return;
    }
    for (int i = 0; i < t->ncols; i++) {
        free(t->names[i]);
    }
    for (size_t i = 0; i < t->rows * (size_t)t->ncols; i++) {
        free(t->cells[i].s);
    }
    free(t->names);
    free(t->cells);
    free(t);
}

int tbl_set_col(tbl *t, int col, const char *name) {
    if (col < 0 || col >= t->ncols) {
        return -1;
    }
    char *c = strdup(name ? name : "");
    if (!c) {
        return -1;
    }
    free(t->names[col]);
    t->names[col] = c;
    return 0;
}

int tbl_add_row(tbl *t) {
    if (t->rows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        cell *c = realloc(t->cells, cap * (size_t)(t->ncols ? t->ncols : 1) * sizeof *c);
        if (!c) {
            return -1;
        }
        t->cells = c;
        t->cap = cap;
    }
    cell *row = t->cells + t->rows * (size_t)t->ncols;
    for (int i = 0; i < t->ncols; i++) {
        row[i] = (cell){TBL_NULL, NULL, 0};
    }
    t->rows++;
    return 0;
}

int tbl_set(tbl *t, int col, int kind, const char *s, size_t n) {
    if (col < 0 || col >= t->ncols || t->rows == 0) {
        return -1;
    }
    cell *c = &t->cells[(t->rows - 1) * (size_t)t->ncols + (size_t)col];
    char *copy = NULL;
    if (s) {
        copy = malloc(n + 1);
        if (!copy) {
            return -1;
        }
        memcpy(copy, s, n);
        copy[n] = 0;
    }
    free(c->s);
    c->kind = s ? kind : TBL_NULL;
    c->s = copy;
    c->n = s ? n : 0;
    return 0;
}

size_t tbl_rows(const tbl *t) {
    return t->rows;
}

static const char *const mode_names[] = {"box",   "table",    "csv", "json",
                                         "jsonl", "markdown", "line"};

int tbl_mode_parse(const char *name) {
    for (int i = 0; i < (int)(sizeof mode_names / sizeof *mode_names); i++) {
        if (strcmp(name, mode_names[i]) == 0) {
            return i;
        }
    }
    return -1;
}

const char *tbl_mode_name(tbl_mode m) {
    return (unsigned)m < sizeof mode_names / sizeof *mode_names ? mode_names[m] : "?";
}

/* ---- CSV and JSON ------------------------------------------------------------------ */

static void csv_field(FILE *f, const char *s, size_t n) {
    int quote = n > 0 && (s[0] == ' ' || s[n - 1] == ' ');
    for (size_t i = 0; i < n && !quote; i++) {
        quote = s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
    }
    if (!quote) {
        fwrite(s, 1, n, f);
        return;
    }
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"') {
            fputc('"', f);
        }
        fputc(s[i], f);
    }
    fputc('"', f);
}

static void json_string(FILE *f, const char *s, size_t n) {
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"':
            fputs("\\\"", f);
            break;
        case '\\':
            fputs("\\\\", f);
            break;
        case '\n':
            fputs("\\n", f);
            break;
        case '\r':
            fputs("\\r", f);
            break;
        case '\t':
            fputs("\\t", f);
            break;
        default:
            if (c < 0x20 || c == 0x7F) {
                fprintf(f, "\\u%04x", c);
            } else {
                fputc(c, f);
            }
        }
    }
    fputc('"', f);
}

static void json_value(FILE *f, const cell *c) {
    switch (c->kind) {
    case TBL_NULL:
        fputs("null", f);
        break;
    case TBL_NUM:
    case TBL_BOOL:
    case TBL_RAW:
        fwrite(c->s, 1, c->n, f);
        break;
    default:
        json_string(f, c->s, c->n);
    }
}

static void json_row(const tbl *t, size_t r, FILE *f) {
    const cell *row = t->cells + r * (size_t)t->ncols;
    fputc('{', f);
    for (int i = 0; i < t->ncols; i++) {
        if (i) {
            fputc(',', f);
        }
        json_string(f, t->names[i] ? t->names[i] : "", strlen(t->names[i] ? t->names[i] : ""));
        fputc(':', f);
        json_value(f, &row[i]);
    }
    fputc('}', f);
}

static void render_csv(const tbl *t, const tbl_opts *o, FILE *f) {
    const char *eol = o->excel ? "\r\n" : "\n";
    if (o->excel) {
        fputs("\xEF\xBB\xBF", f);
    }
    for (int i = 0; i < t->ncols && !o->no_header; i++) {
        if (i) {
            fputc(',', f);
        }
        csv_field(f, t->names[i] ? t->names[i] : "", strlen(t->names[i] ? t->names[i] : ""));
    }
    if (!o->no_header) {
        fputs(eol, f);
    }
    for (size_t r = 0; r < t->rows; r++) {
        const cell *row = t->cells + r * (size_t)t->ncols;
        for (int i = 0; i < t->ncols; i++) {
            if (i) {
                fputc(',', f);
            }
            if (row[i].kind != TBL_NULL) {
                csv_field(f, row[i].s, row[i].n);
            }
        }
        fputs(eol, f);
    }
}

/* ---- text modes --------------------------------------------------------------------- */

typedef struct layout {
    const tbl *t;
    const tbl_opts *o;
    int *w;            /* column widths */
    char *num;         /* column i holds only numbers (its header aligns right) */
    size_t head, tail; /* rows shown: [0, head) and [rows - tail, rows) */
} layout;

static void pad(FILE *f, int n) {
    for (; n > 0; n--) {
        fputc(' ', f);
    }
}

static void repeat(FILE *f, const char *s, int n) {
    for (; n > 0; n--) {
        fputs(s, f);
    }
}

/* Writes a cell's shown form padded to width w (numbers to the right). */
static void put_cell(FILE *f, const cell *c, int w, const tbl_opts *o, int last) {
    sbuf b = {0};
    int cw = c->kind == TBL_NULL ? 0 : shown(c->s, c->n, o->max_width, o->ambiguous_wide, &b);
    if (c->kind == TBL_NUM) {
        pad(f, w - cw);
    }
    if (b.p) {
        fputs(b.p, f);
    }
    if (c->kind != TBL_NUM && !last) {
        pad(f, w - cw);
    }
    free(b.p);
}

static void put_name(FILE *f, const char *name, int w, const tbl_opts *o, int last, int num) {
    cell c = {num ? TBL_NUM : TBL_STR, (char *)name, strlen(name)};
    put_cell(f, &c, w, o, last);
}

static void rule(FILE *f, const layout *l, const char *left, const char *mid, const char *right,
                 const char *h) {
    fputs(left, f);
    for (int i = 0; i < l->t->ncols; i++) {
        if (i) {
            fputs(mid, f);
        }
        repeat(f, h, l->w[i] + 2);
    }
    fputs(right, f);
    fputc('\n', f);
}

static void elision_note(FILE *f, const layout *l, const char *prefix) {
    size_t hidden = l->t->rows - l->head - l->tail;
    fprintf(f, _n("%s… %zu more row …\n", "%s… %zu more rows …\n", hidden), prefix, hidden);
}

/* Rows r = 0, 1, ... as a renderer shows them: where a long table's head
 * ends, the note of the rows left out (after `prefix`; a blank line after it
 * when `blank`) and a jump to its tail. --> the row to show (t->rows: none) */
static size_t shown_row(FILE *f, const layout *l, size_t r, const char *prefix, int blank) {
    if (r == l->head && l->head + l->tail < l->t->rows) {
        elision_note(f, l, prefix);
        if (blank) {
            fputc('\n', f);
        }
        r = l->t->rows - l->tail;
    }
    return r;
}

static void render_box(const layout *l, FILE *f) {
    const tbl *t = l->t;
    const tbl_opts *o = l->o;
    int ascii = o->ascii || o->ambiguous_wide;
    const char *h = ascii ? "-" : "─", *v = ascii ? "|" : "│";
    if (ascii) {
        rule(f, l, "+", "+", "+", h);
    } else {
        rule(f, l, "┌", "┬", "┐", h);
    }
    if (!o->no_header) {
        fputs(v, f);
        for (int i = 0; i < t->ncols; i++) {
            fputc(' ', f);
            put_name(f, t->names[i] ? t->names[i] : "", l->w[i], o, 0, l->num[i]);
            fputc(' ', f);
            fputs(v, f);
        }
        fputc('\n', f);
        if (ascii) {
            rule(f, l, "+", "+", "+", h);
        } else {
            rule(f, l, "├", "┼", "┤", h);
        }
    }
    for (size_t r = 0; (r = shown_row(f, l, r, ascii ? "| " : "│ ", 0)) < t->rows; r++) {
        const cell *row = t->cells + r * (size_t)t->ncols;
        fputs(v, f);
        for (int i = 0; i < t->ncols; i++) {
            fputc(' ', f);
            put_cell(f, &row[i], l->w[i], o, 0);
            fputc(' ', f);
            fputs(v, f);
        }
        fputc('\n', f);
    }
    if (ascii) {
        rule(f, l, "+", "+", "+", h);
    } else {
        rule(f, l, "└", "┴", "┘", h);
    }
}

static void render_plain(const layout *l, FILE *f) {
    const tbl *t = l->t;
    const tbl_opts *o = l->o;
    for (int i = 0; i < t->ncols && !o->no_header; i++) {
        if (i) {
            fputs("  ", f);
        }
        put_name(f, t->names[i] ? t->names[i] : "", l->w[i], o, i == t->ncols - 1, l->num[i]);
    }
    for (int i = 0; i < t->ncols && !o->no_header; i++) {
        if (!i) {
            fputc('\n', f);
        }
        if (i) {
            fputs("  ", f);
        }
        repeat(f, "-", l->w[i]);
        if (i == t->ncols - 1) {
            fputc('\n', f);
        }
    }
    for (size_t r = 0; (r = shown_row(f, l, r, "", 0)) < t->rows; r++) {
        const cell *row = t->cells + r * (size_t)t->ncols;
        int end = t->ncols; /* no trailing blanks: empty cells at the end are left off */
        while (end > 1 && row[end - 1].kind == TBL_NULL) {
            end--;
        }
        for (int i = 0; i < end; i++) {
            if (i) {
                fputs("  ", f);
            }
            put_cell(f, &row[i], l->w[i], o, i == end - 1);
        }
        fputc('\n', f);
    }
}

/* Markdown: '|' in a cell is escaped, and widths are kept for people who
 * read the source. */
static void md_cell(FILE *f, const cell *c, int w, const tbl_opts *o) {
    sbuf b = {0};
    int cw = c->kind == TBL_NULL ? 0 : shown(c->s, c->n, o->max_width, o->ambiguous_wide, &b);
    if (c->kind == TBL_NUM) {
        pad(f, w - cw);
    }
    for (size_t i = 0; i < b.n; i++) {
        if (b.p[i] == '|') {
            fputc('\\', f);
        }
        fputc(b.p[i], f);
    }
    if (c->kind != TBL_NUM) {
        pad(f, w - cw);
    }
    free(b.p);
}

static void render_markdown(const layout *l, FILE *f) {
    const tbl *t = l->t;
    fputc('|', f);
    for (int i = 0; i < t->ncols; i++) {
        cell c = {l->num[i] ? TBL_NUM : TBL_STR, t->names[i] ? t->names[i] : "",
                  strlen(t->names[i] ? t->names[i] : "")};
        fputc(' ', f);
        md_cell(f, &c, l->w[i], l->o);
        fputs(" |", f);
    }
    fputs("\n|", f);
    for (int i = 0; i < t->ncols; i++) {
        repeat(f, "-", l->w[i] + 2 < 3 ? 3 : l->w[i] + 2);
        fputc('|', f);
    }
    fputc('\n', f);
    for (size_t r = 0; (r = shown_row(f, l, r, "| ", 0)) < t->rows; r++) {
        const cell *row = t->cells + r * (size_t)t->ncols;
        fputc('|', f);
        for (int i = 0; i < t->ncols; i++) {
            fputc(' ', f);
            md_cell(f, &row[i], l->w[i], l->o);
            fputs(" |", f);
        }
        fputc('\n', f);
    }
}

static void render_line(const layout *l, FILE *f) {
    const tbl *t = l->t;
    int nw = 0;
    for (int i = 0; i < t->ncols; i++) {
        const char *nm = t->names[i] ? t->names[i] : "";
        int w = tbl_width(nm, strlen(nm), l->o->ambiguous_wide);
        nw = w > nw ? w : nw;
    }
    for (size_t r = 0; (r = shown_row(f, l, r, "", 1)) < t->rows; r++) {
        if (r) {
            fputc('\n', f);
        }
        const cell *row = t->cells + r * (size_t)t->ncols;
        for (int i = 0; i < t->ncols; i++) {
            const char *nm = t->names[i] ? t->names[i] : "";
            pad(f, nw - tbl_width(nm, strlen(nm), l->o->ambiguous_wide));
            fprintf(f, "%s = ", nm);
            tbl_opts o = *l->o;
            o.max_width = 0;
            put_cell(f, &row[i], 0, &o, 1);
            fputc('\n', f);
        }
    }
}

int tbl_render(const tbl *t, const tbl_opts *o, FILE *f) {
    if (o->mode == TBL_CSV) {
        render_csv(t, o, f);
    } else if (o->mode == TBL_JSON) {
        fputc('[', f);
        for (size_t r = 0; r < t->rows; r++) {
            fputs(r ? ",\n " : "", f);
            json_row(t, r, f);
        }
        fputs("]\n", f);
    } else if (o->mode == TBL_JSONL) {
        for (size_t r = 0; r < t->rows; r++) {
            json_row(t, r, f);
            fputc('\n', f);
        }
    } else {
        layout l = {
            t,       o, calloc((size_t)t->ncols + 1, sizeof(int)), calloc((size_t)t->ncols + 1, 1),
            t->rows, 0};
        if (!l.w || !l.num) {
            free(l.w);
            free(l.num);
            return -1;
        }
        for (int i = 0; i < t->ncols; i++) {
            int any = 0, all = 1;
            for (size_t r = 0; r < t->rows && all; r++) {
                int k = t->cells[r * (size_t)t->ncols + (size_t)i].kind;
                any |= k == TBL_NUM;
                all = k == TBL_NUM || k == TBL_NULL;
            }
            l.num[i] = (char)(any && all);
        }
        if (o->max_rows && t->rows > o->max_rows) {
            l.head = (o->max_rows + 1) / 2;
            l.tail = o->max_rows - l.head;
        }
        for (int i = 0; i < t->ncols; i++) {
            const char *nm = t->names[i] ? t->names[i] : "";
            l.w[i] = shown(nm, strlen(nm), o->max_width, o->ambiguous_wide, NULL);
        }
        for (size_t r = 0; r < t->rows; r++) {
            if (r == l.head && l.head + l.tail < t->rows) {
                r = t->rows - l.tail;
                if (r >= t->rows) {
                    break;
                }
            }
            const cell *row = t->cells + r * (size_t)t->ncols;
            for (int i = 0; i < t->ncols; i++) {
                if (row[i].kind != TBL_NULL) {
                    int w = shown(row[i].s, row[i].n, o->max_width, o->ambiguous_wide, NULL);
                    l.w[i] = w > l.w[i] ? w : l.w[i];
                }
            }
        }
        if (o->mode == TBL_BOX) {
            render_box(&l, f);
        } else if (o->mode == TBL_MARKDOWN) {
            render_markdown(&l, f);
        } else if (o->mode == TBL_LINE) {
            render_line(&l, f);
        } else {
            render_plain(&l, f);
        }
        if (o->footer && o->mode != TBL_MARKDOWN) {
            fprintf(f, _n("(%zu row)\n", "(%zu rows)\n", t->rows), t->rows);
        }
        free(l.w);
        free(l.num);
    }
    return ferror(f) ? -1 : 0;
}

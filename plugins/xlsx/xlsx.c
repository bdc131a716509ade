/*
 * xlsx.c — the `xlsx` plugin: Excel workbooks written with libxlsxwriter.
 *
 * Lua (local xlsx = plugin.load 'xlsx'):
 *   open(path)        -> handle   a new workbook with one sheet, written at close
 *   header(h, names)  -> nothing  the first row: column names joined by tabs
 *   row(h, cells)     -> nothing  the next row: cells joined by tabs
 *   sheet(h, name)    -> nothing  ends the sheet (its column widths) and starts
 *                                 another one, named name, for header and rows
 *   chart(h, kind, title, columns)  a native chart of the current sheet's rows
 *                                 so far: kind column, bar, line or pie;
 *                                 columns "1:2,3" = categories from column 1,
 *                                 one series per column 2 and 3 (named by the
 *                                 header), placed right of the data
 *   close(h)          -> nothing  sets column widths, freezes the header row,
 *                                 writes the file; the handle is then gone
 *
 * Workbooks are written in libxlsxwriter's constant-memory mode: each row
 * goes to a temporary file as it comes, so a sheet of a million rows takes
 * no more memory than one of ten.
 *
 * Every cell is a text cell, so ID numbers, phones and member numbers stay
 * exact (Excel keeps only 15 digits of a number), except plain integers and
 * decimals (-12, 3.50, at most 15 digits, no leading zero) in columns not
 * named like an ID, a phone or a number (id, *_id, id_number, phone, 身份证,
 * 手机, 电话, 号码, 编号, ...). An empty cell is left blank. Column widths
 * follow the widest cell (CJK characters count 2). Handles are small
 * integers; workbooks still open when the run ends are dropped unwritten.
 *
 * Sees only include/gonghui/plugin.h and libxlsxwriter.
 */
#include <gonghui/plugin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xlsxwriter.h>

#define MAX_BOOKS 8
#define MAX_COLS 16384

typedef struct book {
    lxw_workbook *wb;
    lxw_worksheet *ws;
    char sheet[32]; /* the current sheet's name (Excel allows 31 characters) */
    int nsheets, ncharts;
    uint32_t row;
    int ncols;
    int *width;  /* per column, in character cells */
    char *ident; /* per column: 1 if always text (id/phone-like name) */
} book;

static const gh_api *api;
static book books[MAX_BOOKS];

static book *get(int64_t h, gh_err *err) {
    if (h < 1 || h > MAX_BOOKS || !books[h - 1].wb) {
        api->error(err, "no open workbook %lld (closed already?)", (long long)h);
        return NULL;
    }
    return &books[h - 1];
}

static void drop(book *b) {
    if (b->wb) {
        lxw_workbook_free(b->wb);
    }
    free(b->width);
    free(b->ident);
    memset(b, 0, sizeof *b);
}

/* Display width of UTF-8 text: East Asian wide characters count 2. */
static int text_width(const char *s, size_t n) {
    int w = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        uint32_t cp;
        size_t len;
        if (c < 0x80) {
            cp = c, len = 1;
        } else if ((c & 0xE0) == 0xC0) {
            cp = c & 0x1F, len = 2;
        } else if ((c & 0xF0) == 0xE0) {
            cp = c & 0x0F, len = 3;
        } else {
            cp = c & 0x07, len = 4;
        }
        for (size_t k = 1; k < len && i + k < n; k++) {
            cp = (cp << 6) | ((unsigned char)s[i + k] & 0x3F);
        }
        i += len;
        int wide = (cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0xA4CF) ||
                   (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
                   (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
                   (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x1F300 && cp <= 0x1FAFF) ||
                   (cp >= 0x20000 && cp <= 0x3FFFD);
        w += wide ? 2 : 1;
    }
    return w;
}

/* 1 if the column name says ID-like or phone-like: its cells stay text. */
static int ident_name(const char *s, size_t n) {
    static const char *const words[] = {"phone", "mobile", "tel",  "card", "idno", "身份证",
                                        "手机",  "电话",   "号码", "编号", "账号", "证件"};
    char low[256];
    if (n >= sizeof low) {
        n = sizeof low - 1;
    }
    for (size_t i = 0; i < n; i++) {
        low[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' : s[i]);
    }
    low[n] = 0;
    if (strcmp(low, "id") == 0 || strncmp(low, "id_", 3) == 0 ||
        (n >= 3 && strcmp(low + n - 3, "_id") == 0)) {
        return 1;
    }
    for (size_t i = 0; i < sizeof words / sizeof *words; i++) {
        if (strstr(low, words[i])) {
            return 1;
        }
    }
    return 0;
}

/* A plain integer or decimal Excel holds exactly: -?D+(.D+)?, no leading
 * zero before more digits, at most 15 digits in all. */
static int plain_number(const char *s, size_t n) {
    size_t i = 0, digits = 0;
    if (i < n && s[i] == '-') {
        i++;
    }
    size_t start = i;
    while (i < n && s[i] >= '0' && s[i] <= '9') {
        i++, digits++;
    }
    if (i == start || (s[start] == '0' && i - start > 1)) {
        return 0;
    }
    if (i < n && s[i] == '.') {
        size_t f = ++i;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            i++, digits++;
        }
        if (i == f) {
            return 0;
        }
    }
    return i == n && digits <= 15;
}

/* Writes the tab-separated cells of line as the next row, noting widths
 * (and, for the header, which columns stay text). 0 or -1 (err set). */
static int each_cell(book *b, const char *line, int header, gh_err *err) {
    char *buf = NULL;
    size_t cap = 0;
    int col = 0;
    const char *p = line;
    for (;;) {
        const char *tab = strchr(p, '\t');
        size_t n = tab ? (size_t)(tab - p) : strlen(p);
        if (col >= MAX_COLS) {
            api->error(err, "more than %d columns", MAX_COLS);
            free(buf);
            return -1;
        }
        if (col >= b->ncols) {
            int nc = col + 16;
            int *w = realloc(b->width, (size_t)nc * sizeof *w);
            if (w) {
                b->width = w;
            }
            char *id = realloc(b->ident, (size_t)nc);
            if (id) {
                b->ident = id;
            }
            if (!w || !id) {
                api->error(err, "out of memory");
                free(buf);
                return -1;
            }
            memset(b->width + b->ncols, 0, (size_t)(nc - b->ncols) * sizeof *w);
            memset(b->ident + b->ncols, 0, (size_t)(nc - b->ncols));
            b->ncols = nc;
        }
        if (n + 1 > cap) {
            char *nb = realloc(buf, n + 1);
            if (!nb) {
                api->error(err, "out of memory");
                free(buf);
                return -1;
            }
            buf = nb, cap = n + 1;
        }
        memcpy(buf, p, n);
        buf[n] = 0;
        if (header) {
            b->ident[col] = (char)ident_name(buf, n);
        }
        int w = text_width(buf, n);
        if (w > b->width[col]) {
            b->width[col] = w;
        }
        lxw_error e = LXW_NO_ERROR;
        if (!n) {
            /* blank */
        } else if (!header && !b->ident[col] && plain_number(buf, n)) {
            e = worksheet_write_number(b->ws, b->row, (lxw_col_t)col, strtod(buf, NULL), NULL);
        } else {
            e = worksheet_write_string(b->ws, b->row, (lxw_col_t)col, buf, NULL);
        }
        if (e != LXW_NO_ERROR) {
            api->error(err, "row %u, column %d: %s", (unsigned)b->row + 1, col + 1,
                       lxw_strerror(e));
            free(buf);
            return -1;
        }
        col++;
        if (!tab) {
            break;
        }
        p = tab + 1;
    }
    free(buf);
    b->row++;
    return 0;
}

/* Sets the column widths of the current sheet from its widest cells. */
static void fit_columns(book *b) {
    for (int c = 0; c < b->ncols; c++) {
        if (b->width[c]) {
            int w = b->width[c] + 2;
            worksheet_set_column(b->ws, (lxw_col_t)c, (lxw_col_t)c, w > 80 ? 80 : w, NULL);
        }
    }
}

/* Starts sheet `name` (NULL: Sheet1) as the current one. 0 or -1 (err set). */
static int start_sheet(book *b, const char *name, gh_err *err) {
    if (name) {
        lxw_error e = workbook_validate_sheet_name(b->wb, name);
        if (e != LXW_NO_ERROR) {
            api->error(err, "sheet name '%s': %s", name, lxw_strerror(e));
            return -1;
        }
    }
    lxw_worksheet *ws = workbook_add_worksheet(b->wb, name);
    if (!ws) {
        api->error(err, "cannot add a sheet");
        return -1;
    }
    b->ws = ws;
    b->nsheets++;
    if (name) {
        snprintf(b->sheet, sizeof b->sheet, "%s", name);
    } else {
        snprintf(b->sheet, sizeof b->sheet, "Sheet%d", b->nsheets);
    }
    b->row = 0;
    b->ncharts = 0;
    if (b->ncols) {
        memset(b->width, 0, (size_t)b->ncols * sizeof *b->width);
        memset(b->ident, 0, (size_t)b->ncols);
    }
    return 0;
}

static int64_t x_open(const char *path, gh_err *err) {
    if (api->may_write(err, path) != GH_PLUGIN_OK) {
        return 0;
    }
    for (int i = 0; i < MAX_BOOKS; i++) {
        if (!books[i].wb) {
            book *b = &books[i];
            lxw_workbook_options opt = {.constant_memory = LXW_TRUE, .tmpdir = NULL};
            if (!(b->wb = workbook_new_opt(path, &opt))) {
                api->error(err, "cannot make a workbook for %s", path);
                return 0;
            }
            if (start_sheet(b, NULL, err) != 0) {
                drop(b);
                return 0;
            }
            return i + 1;
        }
    }
    api->error(err, "more than %d workbooks open at once", MAX_BOOKS);
    return 0;
}

static void x_header(int64_t h, const char *names, gh_err *err) {
    book *b = get(h, err);
    if (b && b->row) {
        api->error(err, "the header must be the first row");
    } else if (b && each_cell(b, names, 1, err) == 0) {
        worksheet_freeze_panes(b->ws, 1, 0);
    }
}

static void x_row(int64_t h, const char *cells, gh_err *err) {
    book *b = get(h, err);
    if (b) {
        each_cell(b, cells, 0, err);
    }
}

static void x_sheet(int64_t h, const char *name, gh_err *err) {
    book *b = get(h, err);
    if (!b) {
        return;
    }
    fit_columns(b);
    start_sheet(b, name, err);
}

/* Reads a 1-based column number at *p (advanced); 0 if none. */
static int read_col(const char **p) {
    int c = 0;
    while (**p == ' ') {
        (*p)++;
    }
    while (**p >= '0' && **p <= '9' && c < MAX_COLS + 1) {
        c = c * 10 + (*(*p)++ - '0');
    }
    while (**p == ' ') {
        (*p)++;
    }
    return c;
}

static void x_chart(int64_t h, const char *kind, const char *title, const char *columns,
                    gh_err *err) {
    static const struct {
        const char *name;
        uint8_t type;
    } kinds[] = {{"column", LXW_CHART_COLUMN},
                 {"bar", LXW_CHART_BAR},
                 {"line", LXW_CHART_LINE},
                 {"pie", LXW_CHART_PIE}};
    book *b = get(h, err);
    if (!b) {
        return;
    }
    int type = -1;
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
        if (strcmp(kind, kinds[i].name) == 0) {
            type = kinds[i].type;
        }
    }
    if (type < 0) {
        api->error(err, "unknown chart kind '%s' (column, bar, line or pie)", kind);
        return;
    }
    if (b->row < 2) {
        api->error(err, "sheet '%s' has no rows under its header to chart", b->sheet);
        return;
    }
    const char *p = columns;
    int cat = read_col(&p);
    int vals[64], nvals = 0;
    if (*p == ':') {
        p++;
        for (;;) {
            int v = read_col(&p);
            if (!v || nvals == 64) {
                break;
            }
            vals[nvals++] = v;
            if (*p != ',') {
                break;
            }
            p++;
        }
    }
    if (!cat || !nvals || *p) {
        api->error(err,
                   "columns \"%s\": expected CATEGORY:VALUE[,VALUE...] as column numbers, "
                   "like \"1:2,3\"",
                   columns);
        return;
    }
    for (int i = -1; i < nvals; i++) {
        int c = i < 0 ? cat : vals[i];
        if (c > b->ncols || (!b->width[c - 1] && c != cat)) {
            api->error(err, "column %d of sheet '%s' is empty", c, b->sheet);
            return;
        }
    }
    lxw_chart *ch = workbook_add_chart(b->wb, (uint8_t)type);
    if (!ch) {
        api->error(err, "cannot add a chart");
        return;
    }
    lxw_row_t last = b->row - 1;
    for (int i = 0; i < nvals; i++) {
        lxw_chart_series *s = chart_add_series(ch, NULL, NULL);
        if (!s) {
            api->error(err, "cannot add a series");
            return;
        }
        chart_series_set_categories(s, b->sheet, 1, (lxw_col_t)(cat - 1), last,
                                    (lxw_col_t)(cat - 1));
        chart_series_set_values(s, b->sheet, 1, (lxw_col_t)(vals[i] - 1), last,
                                (lxw_col_t)(vals[i] - 1));
        chart_series_set_name_range(s, b->sheet, 0, (lxw_col_t)(vals[i] - 1));
    }
    if (*title) {
        chart_title_set_name(ch, title);
    }
    int used = 0;
    for (int c = 0; c < b->ncols; c++) {
        if (b->width[c]) {
            used = c + 1;
        }
    }
    /* beside the data, one below the other when a sheet has several */
    lxw_error e =
        worksheet_insert_chart(b->ws, (lxw_row_t)(1 + 16 * b->ncharts), (lxw_col_t)(used + 1), ch);
    if (e != LXW_NO_ERROR) {
        api->error(err, "cannot place the chart: %s", lxw_strerror(e));
        return;
    }
    b->ncharts++;
}

static void x_close(int64_t h, gh_err *err) {
    book *b = get(h, err);
    if (!b) {
        return;
    }
    fit_columns(b);
    lxw_error e = workbook_close(b->wb); /* writes and frees the workbook */
    b->wb = NULL;
    if (e != LXW_NO_ERROR) {
        api->error(err, "writing the workbook failed: %s", lxw_strerror(e));
    }
    drop(b);
}

static void unload(void *ud) {
    (void)ud;
    for (int i = 0; i < MAX_BOOKS; i++) {
        drop(&books[i]);
    }
}

GH_PLUGIN_EXPORT int gh_plugin_init(const gh_api *a, gh_plugin *p, char **errmsg) {
    api = a;
    (void)errmsg;
    if (gh_plugin_begin(a, p, "xlsx", "1.0") != GH_PLUGIN_OK) {
        return GH_PLUGIN_ERROR;
    }
    a->on_unload(p, unload, NULL);
    if (a->function(p, "open", "i64(str,err)", GH_FN(x_open)) ||
        a->function(p, "header", "void(i64,str,err)", GH_FN(x_header)) ||
        a->function(p, "row", "void(i64,str,err)", GH_FN(x_row)) ||
        a->function(p, "sheet", "void(i64,str,err)", GH_FN(x_sheet)) ||
        a->function(p, "chart", "void(i64,str,str,str,err)", GH_FN(x_chart)) ||
        a->function(p, "close", "void(i64,err)", GH_FN(x_close))) {
        return GH_PLUGIN_ERROR;
    }
    return GH_PLUGIN_OK;
}

/*
 * xlsx.c — the `xlsx` plugin: Excel workbooks written with libxlsxwriter,
 * and read with xlsx_read.c (minizip and expat).
 *
 * Lua (local xlsx = plugin.load 'xlsx'):
 *   open(path)        -> handle   a new workbook, written at close; its first
 *                                 sheet is Sheet1 unless sheet() names it first
 *   header(h, names)  -> nothing  the first row: column names joined by tabs
 *   row(h, cells)     -> nothing  the next row: cells joined by tabs
 *   header_cells(h, s), row_cells(h, s)  the same with the cells packed as
 *                                 read_row gives them (string.pack('<I4I4s4s4',
 *                                 0, 2, 'a', 'b')): tabs and line breaks kept
 *   sheet(h, name)    -> nothing  ends the sheet (its column widths) and starts
 *                                 another one, named name, for header and rows
 *   chart(h, kind, title, columns)  a native chart of the current sheet's rows
 *                                 so far: kind column, bar, line or pie;
 *                                 columns "1:2,3" = categories from column 1,
 *                                 one series per column 2 and 3 (named by the
 *                                 header), placed right of the data
 *   money(h, columns) -> nothing  columns "3,5" of the current sheet (1-based,
 *                                 after its header) hold money: their plain
 *                                 numbers (1234.5) become number cells
 *                                 shown as #,##0.00, so that SUM adds them
 *   close(h)          -> nothing  sets column widths, freezes the header row,
 *                                 writes the file; the handle is then gone
 *
 *   sheets(path)             -> the sheet names, joined by tabs
 *   read_open(path, sheet)   -> handle   a sheet to read ('' the first, a
 *                                        name, or a position '2')
 *   read_sheet(h)            -> the name of the sheet being read
 *   read_row(h)              -> the next row with values as a string,
 *                               string.unpack('<I4I4', s) -> its row
 *                               number, cell count n, then n cells each
 *                               '<s4'; nil at the end of the sheet
 *   read_progress(h)         -> how far through the sheet, 0..1
 *   read_close(h)            -> nothing
 * (see xlsx_read.h for how cells become text.) The core's import reads
 * .xlsx files through these too (core/xlsx_in.c).
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
 * Sees only include/gonghui/plugin.h, libxlsxwriter and xlsx_read.h.
 */
#include <gonghui/plugin.h>

#include "xlsx_read.h"

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
    int *width;        /* per column, in character cells */
    char *ident;       /* per column: 1 if always text (id/phone-like name), 2 money (see money) */
    lxw_format *money; /* #,##0.00, made on first use */
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

static int start_sheet(book *b, const char *name, gh_err *err);

/* The book with a current sheet: the first one is made when something is
 * written, so a workbook whose first act is sheet(h, name) starts with that
 * sheet, not with an empty Sheet1. */
static book *cur(int64_t h, gh_err *err) {
    book *b = get(h, err);
    if (b && !b->ws && start_sheet(b, NULL, err) != 0) {
        return NULL;
    }
    return b;
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

static int hex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* 1 if s[i..n) starts with an escape as Excel writes them, _xHHHH_. */
static int xescape_at(const char *s, size_t i, size_t n) {
    return n - i >= 7 && s[i] == '_' && s[i + 1] == 'x' && hex(s[i + 2]) && hex(s[i + 3]) &&
           hex(s[i + 4]) && hex(s[i + 5]) && s[i + 6] == '_';
}

/* Text that holds _xHHHH_ literally is written with its underscore escaped
 * (_x005F_xHHHH_), as Excel does: libxlsxwriter escapes control characters
 * that way but not such text, which Excel (and our reader) would otherwise
 * show decoded ("a_x0041_b" as "aAb"). NULL if nothing needs it, or the
 * escaped copy (caller frees) in *out; -1 out of memory. */
static int escape_underscores(const char *s, size_t n, char **out) {
    size_t k = 0;
    *out = NULL;
    for (size_t i = 0; i < n; i++) {
        k += xescape_at(s, i, n);
    }
    if (!k) {
        return 0;
    }
    char *e = malloc(n + 6 * k + 1), *w = e;
    if (!e) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (xescape_at(s, i, n)) {
            memcpy(w, "_x005F", 6);
            w += 6;
        }
        *w++ = s[i];
    }
    *w = 0;
    *out = e;
    return 0;
}

/* Writes the tab-separated cells of line as the next row, noting widths
 * (and, for the header, which columns stay text). 0 or -1 (err set). */
/* The cells of a row, given as text (cells joined by tabs: at least one
 * cell) or packed (read_row's format: u32 row, ignored; u32 count; then
 * each cell a u32 length and its bytes, all little-endian). */
typedef struct cells_in {
    const char *p, *end;
    int packed, done;
    uint32_t left;
} cells_in;

static uint32_t get32(const char *p) {
    const unsigned char *u = (const unsigned char *)p;
    return (uint32_t)u[0] | (uint32_t)u[1] << 8 | (uint32_t)u[2] << 16 | (uint32_t)u[3] << 24;
}

/* 1 with the next cell in *s, *n; 0 after the last; -1 if packed cells
 * run past the end. */
static int next_cell(cells_in *it, const char **s, size_t *n) {
    if (!it->packed) {
        if (it->done) {
            return 0;
        }
        const char *tab = memchr(it->p, '\t', (size_t)(it->end - it->p));
        *s = it->p;
        *n = (size_t)((tab ? tab : it->end) - it->p);
        it->done = !tab;
        it->p = tab ? tab + 1 : it->end;
        return 1;
    }
    if (it->left == 0) {
        return 0;
    }
    if (it->end - it->p < 4 || get32(it->p) > (size_t)(it->end - it->p) - 4) {
        return -1;
    }
    *n = get32(it->p);
    *s = it->p + 4;
    it->p += 4 + *n;
    it->left--;
    return 1;
}

/* Makes room for column col (0-based) in the per-column arrays. 0 or -1. */
static int grow_cols(book *b, int col, gh_err *err) {
    if (col < b->ncols) {
        return 0;
    }
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
        return -1;
    }
    memset(b->width + b->ncols, 0, (size_t)(nc - b->ncols) * sizeof *w);
    memset(b->ident + b->ncols, 0, (size_t)(nc - b->ncols));
    b->ncols = nc;
    return 0;
}

/* Text that is not UTF-8 (a record stored before gonghui refused such bytes)
 * would make the workbook's XML one Excel and WPS refuse to open: each such
 * byte is written as U+FFFD, by the host's one cleaner (hosts before API
 * minor 4 have none: the text goes as it is). */
static int clean_text(char **buf, size_t *cap, size_t *n, gh_err *err) {
    char *clean;
    size_t cn;
    int rc = api->minor >= 4 ? api->utf8_clean(*buf, *n, &clean, &cn) : 0;
    if (rc < 0) {
        api->error(err, "out of memory");
        return -1;
    }
    if (rc == 1) {
        if (cn + 1 > *cap) {
            char *nb = realloc(*buf, cn + 1);
            if (!nb) {
                api->free(clean);
                api->error(err, "out of memory");
                return -1;
            }
            *buf = nb, *cap = cn + 1;
        }
        memcpy(*buf, clean, cn + 1);
        *n = cn;
        api->free(clean);
    }
    return 0;
}

static int each_cell(book *b, cells_in *it, int header, gh_err *err) {
    char *buf = NULL;
    size_t cap = 0;
    int col = 0, more;
    const char *p;
    size_t n;
    while ((more = next_cell(it, &p, &n)) == 1) {
        if (col >= MAX_COLS) {
            api->error(err, "more than %d columns", MAX_COLS);
            free(buf);
            return -1;
        }
        if (grow_cols(b, col, err) != 0) {
            free(buf);
            return -1;
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
        n = strlen(buf); /* a cell ends at a NUL byte */
        if (clean_text(&buf, &cap, &n, err) != 0) {
            free(buf);
            return -1;
        }
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
        } else if (!header && b->ident[col] != 1 && plain_number(buf, n)) {
            e = worksheet_write_number(b->ws, b->row, (lxw_col_t)col, strtod(buf, NULL),
                                       b->ident[col] == 2 ? b->money : NULL);
        } else {
            char *esc;
            if (escape_underscores(buf, n, &esc) != 0) {
                api->error(err, "out of memory");
                free(buf);
                return -1;
            }
            e = worksheet_write_string(b->ws, b->row, (lxw_col_t)col, esc ? esc : buf, NULL);
            free(esc);
        }
        if (e != LXW_NO_ERROR) {
            api->error(err, "row %u, column %d: %s", (unsigned)b->row + 1, col + 1,
                       lxw_strerror(e));
            free(buf);
            return -1;
        }
        col++;
    }
    free(buf);
    if (more < 0) {
        api->error(err, "row %u: the packed cells run past the end", (unsigned)b->row + 1);
        return -1;
    }
    b->row++;
    return 0;
}

static void text_cells(cells_in *it, const char *line) {
    it->p = line;
    it->end = line + strlen(line);
    it->packed = it->done = 0;
}

/* 0, or -1 (err set) if the value is too short to be packed cells. */
static int packed_cells(cells_in *it, const void *data, size_t len, gh_err *err) {
    if (len < 8) {
        api->error(err, "packed cells start with two u32 (row, count): %zu bytes", len);
        return -1;
    }
    it->p = (const char *)data + 8;
    it->end = (const char *)data + len;
    it->packed = 1;
    it->done = 0;
    it->left = get32((const char *)data + 4);
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
            return i + 1; /* the first sheet comes with the first write (cur) */
        }
    }
    api->error(err, "more than %d workbooks open at once", MAX_BOOKS);
    return 0;
}

static void header_from(int64_t h, cells_in *it, gh_err *err) {
    book *b = cur(h, err);
    if (b && b->row) {
        api->error(err, "the header must be the first row");
    } else if (b && each_cell(b, it, 1, err) == 0) {
        worksheet_freeze_panes(b->ws, 1, 0);
    }
}

static void x_header(int64_t h, const char *names, gh_err *err) {
    cells_in it;
    text_cells(&it, names);
    header_from(h, &it, err);
}

static void x_row(int64_t h, const char *cells, gh_err *err) {
    book *b = cur(h, err);
    cells_in it;
    text_cells(&it, cells);
    if (b) {
        each_cell(b, &it, 0, err);
    }
}

/* header_cells/row_cells: the same with the cells packed as read_row gives
 * them, so tabs and line breaks inside a cell are kept. */
static void x_header_cells(int64_t h, const void *data, size_t len, gh_err *err) {
    cells_in it;
    if (packed_cells(&it, data, len, err) == 0) {
        header_from(h, &it, err);
    }
}

static void x_row_cells(int64_t h, const void *data, size_t len, gh_err *err) {
    book *b = cur(h, err);
    cells_in it;
    if (b && packed_cells(&it, data, len, err) == 0) {
        each_cell(b, &it, 0, err);
    }
}

static void x_sheet(int64_t h, const char *name, gh_err *err) {
    book *b = get(h, err);
    if (!b) {
        return;
    }
    if (b->ws) {
        fit_columns(b);
    }
    start_sheet(b, name, err);
}

static int read_col(const char **p);

static void x_money(int64_t h, const char *columns, gh_err *err) {
    book *b = get(h, err);
    if (!b) {
        return;
    }
    if (!b->money) {
        if (!(b->money = workbook_add_format(b->wb))) {
            api->error(err, "out of memory");
            return;
        }
        format_set_num_format(b->money, "#,##0.00");
    }
    const char *p = columns;
    while (*p) {
        int c = read_col(&p);
        if (c < 1 || c > MAX_COLS || (*p && *p != ',') || (*p == ',' && !p[1])) {
            api->error(err, "money columns \"%s\": expected column numbers such as 3,5", columns);
            return;
        }
        if (grow_cols(b, c - 1, err) != 0) {
            return;
        }
        b->ident[c - 1] = 2;
        if (*p == ',') {
            p++;
        }
    }
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
    book *b = cur(h, err);
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
    int vals[64], nvals = 0, bad = *p != ':';
    if (!bad) {
        p++;
        for (;;) { /* a number after ':' and after every ',' ("1:2," is refused) */
            int v = read_col(&p);
            if (!v || nvals == 64) {
                bad = 1;
                break;
            }
            vals[nvals++] = v;
            if (*p != ',') {
                break;
            }
            p++;
        }
    }
    if (!cat || bad || *p) {
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
    if (!b->ws && start_sheet(b, NULL, err) != 0) { /* nothing written: one empty Sheet1 */
        drop(b);
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

/* ---- reading --------------------------------------------------------------------------------- */

static xr_book *readers[MAX_BOOKS];

static void *r_malloc(size_t n) {
    return api->alloc(n ? n : 1);
}

static void *r_realloc(void *p, size_t n) {
    return api->realloc(p, n ? n : 1);
}

static void r_free(void *p) {
    api->free(p);
}

static int64_t r_day_number(int64_t y, int m, int d) {
    return api->day_number(y, m, d);
}

static void r_day_date(int64_t day, int *y, int *m, int *d) {
    api->day_date(day, y, m, d);
}

static const xr_mem rmem = {r_malloc, r_realloc, r_free, r_day_number, r_day_date};

static xr_book *reader(int64_t h, gh_err *err) {
    if (h < 1 || h > MAX_BOOKS || !readers[h - 1]) {
        api->error(err, "no sheet open for reading as %lld (closed already?)", (long long)h);
        return NULL;
    }
    return readers[h - 1];
}

/* Scripts read only where their run allows (hosts before minor 2 have no
 * may_read: they let scripts read anywhere anyway). */
static int may_read(gh_err *err, const char *path) {
    return api->minor < 2 || api->may_read(err, path) == GH_PLUGIN_OK;
}

static int64_t x_read_open(const char *path, const char *sheet, gh_err *err) {
    char msg[600];
    if (!may_read(err, path)) {
        return 0;
    }
    for (int i = 0; i < MAX_BOOKS; i++) {
        if (!readers[i]) {
            if (xr_open(path, sheet, &rmem, &readers[i], msg, sizeof msg) != 0) {
                api->error(err, "%s", msg);
                return 0;
            }
            return i + 1;
        }
    }
    api->error(err, "more than %d sheets open for reading at once", MAX_BOOKS);
    return 0;
}

static char *x_sheets(const char *path, gh_err *err) {
    char msg[600];
    xr_book *b;
    if (!may_read(err, path)) {
        return NULL;
    }
    if (xr_open(path, NULL, &rmem, &b, msg, sizeof msg) != 0) {
        api->error(err, "%s", msg);
        return NULL;
    }
    char *s = api->strdup(xr_sheet_names(b));
    xr_close(b);
    if (!s) {
        api->error(err, "out of memory");
    }
    return s;
}

static char *x_read_sheet(int64_t h, gh_err *err) {
    xr_book *b = reader(h, err);
    char *s = b ? api->strdup(xr_sheet_name(b)) : NULL;
    if (b && !s) {
        api->error(err, "out of memory");
    }
    return s;
}

static void put32(unsigned char *p, size_t v) {
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static gh_bytes x_read_row(int64_t h, gh_err *err) {
    gh_bytes out = {NULL, 0};
    char msg[600];
    xr_row row;
    xr_book *b = reader(h, err);
    if (!b) {
        return out;
    }
    int rc = xr_next_row(b, &row, msg, sizeof msg);
    if (rc < 0) {
        api->error(err, "%s", msg);
    }
    if (rc <= 0) {
        return out;
    }
    size_t n = 8;
    for (int i = 0; i < row.ncells; i++) {
        n += 4 + row.lens[i]; /* a cell is at most 1 MiB, a row 16384 cells */
    }
    unsigned char *p = api->alloc(n);
    if (!p) {
        api->error(err, "out of memory");
        return out;
    }
    put32(p, row.number);
    put32(p + 4, (size_t)row.ncells);
    size_t k = 8;
    for (int i = 0; i < row.ncells; i++) {
        put32(p + k, row.lens[i]);
        memcpy(p + k + 4, row.cells[i], row.lens[i]);
        k += 4 + row.lens[i];
    }
    out.data = p;
    out.len = n;
    return out;
}

static double x_read_progress(int64_t h, gh_err *err) {
    xr_book *b = reader(h, err);
    return b ? xr_progress(b) : 0;
}

static void x_read_close(int64_t h, gh_err *err) {
    xr_book *b = reader(h, err);
    if (b) {
        xr_close(b);
        readers[h - 1] = NULL;
    }
}

/* Lua states that loaded the plugin: one process may have several (gonghui
 * export SCRIPT.lua has the script's and its own), and they share this
 * file's statics, so only the last one to unload drops the open books. */
static int users;

static void unload(void *ud) {
    (void)ud;
    if (--users > 0) {
        return;
    }
    for (int i = 0; i < MAX_BOOKS; i++) {
        drop(&books[i]);
        xr_close(readers[i]);
        readers[i] = NULL;
    }
}

GH_PLUGIN_EXPORT int gh_plugin_init(const gh_api *a, gh_plugin *p, char **errmsg) {
    api = a;
    (void)errmsg;
    if (gh_plugin_begin(a, p, "xlsx", "1.0") != GH_PLUGIN_OK) {
        return GH_PLUGIN_ERROR;
    }
    users++;
    a->on_unload(p, unload, NULL);
    if (a->function(p, "open", "i64(str,err)", GH_FN(x_open)) ||
        a->function(p, "header", "void(i64,str,err)", GH_FN(x_header)) ||
        a->function(p, "row", "void(i64,str,err)", GH_FN(x_row)) ||
        a->function(p, "header_cells", "void(i64,bytes,err)", GH_FN(x_header_cells)) ||
        a->function(p, "row_cells", "void(i64,bytes,err)", GH_FN(x_row_cells)) ||
        a->function(p, "sheet", "void(i64,str,err)", GH_FN(x_sheet)) ||
        a->function(p, "chart", "void(i64,str,str,str,err)", GH_FN(x_chart)) ||
        a->function(p, "money", "void(i64,str,err)", GH_FN(x_money)) ||
        a->function(p, "close", "void(i64,err)", GH_FN(x_close)) ||
        a->function(p, "sheets", "str(str,err)", GH_FN(x_sheets)) ||
        a->function(p, "read_open", "i64(str,str,err)", GH_FN(x_read_open)) ||
        a->function(p, "read_sheet", "str(i64,err)", GH_FN(x_read_sheet)) ||
        a->function(p, "read_row", "bytes(i64,err)", GH_FN(x_read_row)) ||
        a->function(p, "read_progress", "f64(i64,err)", GH_FN(x_read_progress)) ||
        a->function(p, "read_close", "void(i64,err)", GH_FN(x_read_close))) {
        return GH_PLUGIN_ERROR;
    }
    return GH_PLUGIN_OK;
}

/*
 * csvfile.c — CSV/TSV reading (libcsv, encoding detection, iconv) and writing
 * for Excel. See csvfile.h for the contract.
 * (Named csvfile, not csv: libcsv's header is csv.h.)
 *
 * Reading, in three steps:
 *   1. map the file; a BOM decides the encoding, else (auto) the whole file
 *      is checked as UTF-8 (fast: eight ASCII bytes at a time) and read as
 *      GB18030 when that fails;
 *   2. UTF-8 bytes go straight from the map to the parser; other encodings
 *      go through iconv into a 64 KiB buffer first;
 *   3. bytes are handed to libcsv one physical line at a time, so that the
 *      line where each row starts is known (libcsv does not count lines):
 *      before each line, a parser that is between rows (pstate 0, libcsv's
 *      ROW_NOT_BEGUN) means the next row starts on this line.
 *
 * Invariant: a row's cells live in one buffer (r->bytes) with a NUL after
 * each; pointers to them are made only when the row is complete, so the
 * buffer may move while the row grows.
 */
#include "csvfile.h"

#include "codec.h"
#include "err.h"

#include <csv.h> /* libcsv */
#include <errno.h>
#include <fcntl.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the reader ------------------------------------------------------------------- */

typedef struct reader {
    struct csv_parser p;
    const char *path;
    csv_row_fn fn;
    void *ctx;
    codec_buf bytes; /* the current row's cells, each followed by a NUL */
    size_t *off, *len;
    char **cells;
    int ncells, cap;
    long line, row_line;
    uint64_t done;     /* bytes handed to the parser (UTF-8, after any conversion) */
    uint64_t done_max; /* bytes of the file read so far: what rows report at most */
    char delim;
    int empty_rows;  /* CSV_EMPTY_ROWS */
    int sniff;       /* CSV_SNIFF, until the separator is decided */
    csv_info *info;  /* the caller's (may be NULL) */
    const char *map; /* the mapped file, and how much of it was released */
    size_t released;
    int stop; /* the callback's non-zero result, or a GH_E* code */
} reader;

static void on_cell(void *s, size_t n, void *data) {
    reader *r = data;
    if (r->stop) {
        return;
    }
    if (r->ncells == r->cap) {
        int cap = r->cap ? r->cap * 2 : 32;
        size_t *off = realloc(r->off, (size_t)cap * sizeof *off);
        if (off) {
            r->off = off;
        }
        size_t *len = realloc(r->len, (size_t)cap * sizeof *len);
        if (len) {
            r->len = len;
        }
        char **cells = realloc(r->cells, (size_t)cap * sizeof *cells);
        if (cells) {
            r->cells = cells;
        }
        if (!off || !len || !cells) {
            r->stop = GH_ENOMEM;
            return;
        }
        r->cap = cap;
    }
    r->off[r->ncells] = r->bytes.len;
    r->len[r->ncells] = n;
    unsigned char *q = codec_buf_need(&r->bytes, n + 1); /* the cell and its NUL */
    if (q) {
        if (n) {
            memcpy(q, s, n);
        }
        q[n] = 0;
        r->bytes.len += n + 1;
    }
    r->ncells++;
}

static void on_row(int c, void *data) {
    reader *r = data;
    (void)c;
    if (r->stop) {
        return;
    }
    if (r->bytes.oom) {
        r->stop = GH_ENOMEM;
        return;
    }
    for (int i = 0; i < r->ncells; i++) {
        r->cells[i] = (char *)r->bytes.p + r->off[i];
    }
    /* (converted text is longer than the file: progress stays within it) */
    csv_row row = {r->ncells, r->cells, r->len, r->row_line,
                   r->done < r->done_max ? r->done : r->done_max};
    r->stop = r->fn(r->ctx, &row);
    r->ncells = 0;
    r->bytes.len = 0;
}

static int is_space(const reader *r, char c) {
    return c == ' ' || (c == '\t' && r->delim != '\t');
}

/* The common line, a whole row with no quotes and no stray CR, split here
 * as libcsv would (unquoted cells lose the spaces at their ends; an empty
 * line is no row) at a fraction of its per-byte cost. 1 if done. */
static int fast_line(reader *r, const char *s, size_t k) {
    size_t n = k - 1; /* without the LF */
    if (n && s[n - 1] == '\r') {
        n--;
    }
    if (memchr(s, '"', n) || memchr(s, '\r', n)) {
        return 0;
    }
    if (n == 0) {
        if (r->empty_rows) {
            on_row('\n', r);
        }
        return 1;
    }
    const char *p = s, *end = s + n;
    for (;;) {
        const char *d = memchr(p, r->delim, (size_t)(end - p));
        const char *e = d ? d : end, *b = p;
        while (b < e && is_space(r, *b)) {
            b++;
        }
        while (e > b && is_space(r, e[-1])) {
            e--;
        }
        on_cell((void *)b, (size_t)(e - b), r);
        if (!d) {
            break;
        }
        p = d + 1;
    }
    on_row('\n', r);
    return 1;
}

/* CSV_SNIFF: the first line with a comma or a semicolon outside quotes
 * decides the separator (a quoted cell spanning lines is not followed: its
 * later lines are read as if outside quotes, which a header never needs). */
static void sniff_line(reader *r, const char *s, size_t n) {
    int commas = 0, semis = 0, quoted = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"') {
            quoted = !quoted;
        } else if (!quoted) {
            commas += s[i] == ',';
            semis += s[i] == ';';
        }
    }
    if (commas + semis == 0) {
        return;
    }
    r->sniff = 0;
    if (semis > commas) {
        r->delim = ';';
        csv_set_delim(&r->p, ';');
    }
    if (r->info) {
        r->info->delim = r->delim;
    }
}

/* Feeds bytes to the parser one physical line at a time (see the top). */
static int feed(reader *r, const char *s, size_t n) {
    while (n && !r->stop) {
        const char *nl = memchr(s, '\n', n);
        size_t k = nl ? (size_t)(nl - s) + 1 : n;
        if (r->sniff && r->p.pstate == 0) {
            sniff_line(r, s, k);
        }
        if (r->p.pstate == 0) {
            r->row_line = r->line;
        }
        r->done += k;
        if (r->p.pstate == 0 && nl && fast_line(r, s, k)) {
            /* done without libcsv */
        } else if (csv_parse(&r->p, s, k, on_cell, on_row, r) != k) {
            return err_set(GH_ENOMEM, _("%s: line %ld: %s"), r->path, r->line,
                           csv_strerror(csv_error(&r->p)));
        }
        if (nl) {
            r->line++;
        }
        s += k;
        n -= k;
    }
    return r->stop;
}

static int is_space_tsv(unsigned char c) {
    return c == ' ';
}

/* Drops the mapped pages of the file before `upto` (rounded down to a
 * page): parsed bytes are not needed again (cells are copied), and a mapped
 * file's pages count as the process's memory. */
static void release(reader *r, const char *upto) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t n = (size_t)(upto - r->map) / page * page;
    if (n > r->released) {
        madvise((void *)r->map, n, MADV_DONTNEED);
        r->released = n;
    }
}

/* Converts s[0..n) from `from` to UTF-8 with iconv and feeds it; a bad
 * sequence is an error naming the line it is on. */
static int feed_iconv(reader *r, const char *from, const char *s, size_t n) {
    iconv_t cd = iconv_open("UTF-8", from);
    if (cd == (iconv_t)-1) {
        return err_set(GH_EIO, _("%s: this system cannot convert from %s (glibc iconv)"), r->path,
                       from);
    }
    char out[65536];
    char *in = (char *)s;
    size_t inleft = n;
    int rc = 0;
    while (inleft && rc == 0) {
        char *o = out;
        size_t oleft = sizeof out;
        size_t x = iconv(cd, &in, &inleft, &o, &oleft);
        int e = errno;
        r->done_max = (uint64_t)(in - r->map);
        if ((rc = feed(r, out, sizeof out - oleft)) != 0) {
            break;
        }
        if ((size_t)(in - r->map) - r->released >= (size_t)8 << 20) {
            release(r, in);
        }
        if (x == (size_t)-1 && e != E2BIG) {
            rc = err_set(GH_ECORRUPT,
                         _("%s: line %ld: bytes that are not valid %s%s (save the file as UTF-8 "
                           "or give --encoding)"),
                         r->path, r->line, from, e == EINVAL ? " (cut off at the end)" : "");
        }
    }
    iconv_close(cd);
    return rc;
}

static long line_of(const unsigned char *s, size_t off) {
    long line = 1;
    for (const unsigned char *p = s, *end = s + off; (p = memchr(p, '\n', (size_t)(end - p)));
         p++) {
        line++;
    }
    return line;
}

int csv_read(const char *path, int format, int encoding, csv_row_fn fn, void *ctx, csv_info *info) {
    reader r;
    csv_info inf = {"UTF-8", 0, 0, ','};
    int flags = format & ~0xff;
    format &= 0xff;
    const unsigned char *map = NULL;
    size_t size = 0;
    int rc = 0, fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0) {
        return err_set(GH_EIO, _("cannot open %s: %s"), path, strerror(errno));
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return err_set(GH_EIO, _("%s is not a regular file"), path);
    }
    size = (size_t)st.st_size;
    if (size) {
        void *m = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            int e = errno;
            close(fd);
            return err_set(GH_EIO, _("cannot read %s: %s"), path, strerror(e));
        }
        map = m;
        madvise(m, size, MADV_SEQUENTIAL);
    }
    close(fd);
    inf.size = size;

    memset(&r, 0, sizeof r);
    r.path = path;
    r.fn = fn;
    r.ctx = ctx;
    r.line = r.row_line = 1;
    r.map = (const char *)map;
    codec_buf_init(&r.bytes);
    if (csv_init(&r.p, CSV_STRICT_FINI | CSV_APPEND_NULL) != 0) {
        rc = GH_ENOMEM;
        goto out;
    }
    r.delim = format == CSV_TAB_SEP ? '\t' : ',';
    r.empty_rows = (flags & CSV_EMPTY_ROWS) != 0;
    r.sniff = (flags & CSV_SNIFF) && format == CSV_COMMA_SEP;
    r.info = info;
    inf.delim = r.delim;
    csv_set_delim(&r.p, (unsigned char)r.delim);
    if (format == CSV_TAB_SEP) { /* (CSV keeps libcsv's own test, space or tab: faster) */
        csv_set_space_func(&r.p, is_space_tsv);
    }

    const unsigned char *s = map;
    size_t n = size;
    const char *from = NULL;
    size_t bad;
    if (n >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0) {
        s += 3, n -= 3;
        inf.encoding = "UTF-8 with BOM";
        r.done = 3;
        if (!csv_utf8_valid(s, n, &bad)) {
            rc = err_set(GH_ECORRUPT,
                         _("%s: line %ld: bytes that are not valid UTF-8, though the file starts "
                           "with a UTF-8 byte order mark"),
                         path, line_of(s, bad));
            goto out;
        }
    } else if (n >= 2 && (memcmp(s, "\xff\xfe", 2) == 0 || memcmp(s, "\xfe\xff", 2) == 0)) {
        from = inf.encoding = s[0] == 0xff ? "UTF-16LE" : "UTF-16BE";
        s += 2, n -= 2;
        r.done = 2;
    } else if (encoding == CSV_ENC_GB18030) {
        from = inf.encoding = "GB18030";
    } else if (!csv_utf8_valid(s, n, &bad)) {
        if (encoding == CSV_ENC_UTF8) {
            rc = err_set(GH_ECORRUPT,
                         _("%s: line %ld: bytes that are not valid UTF-8 (leave out --encoding "
                           "to detect GB18030, or give --encoding gb18030)"),
                         path, line_of(s, bad));
            goto out;
        }
        from = inf.encoding = "GB18030";
        inf.guessed = 1;
    }
    if (info) {
        *info = inf;
    }
    r.done_max = size;
    if (from) {
        r.done = (uint64_t)(s - map); /* the BOM */
        rc = feed_iconv(&r, from, (const char *)s, n);
    } else {
        /* In slices, dropping each slice's pages once parsed (cells are
         * copied): a mapped file's pages count as the process's memory. */
        const size_t slice = (size_t)8 << 20;
        for (size_t at = 0; at < n && rc == 0; at += slice) {
            rc = feed(&r, (const char *)s + at, n - at < slice ? n - at : slice);
            release(&r, (const char *)s + at + (n - at < slice ? n - at : slice));
        }
    }
    if (rc == 0) {
        r.row_line = r.p.pstate == 0 ? r.line : r.row_line;
        /* a quoted cell still open at the end (libcsv's FIELD_BEGUN, quoted):
         * libcsv reports it only in its strict mode, which also refuses the
         * stray quotes (12"显示器) that hand-made files have */
        if ((r.p.pstate == 2 && r.p.quoted) || csv_fini(&r.p, on_cell, on_row, &r) != 0) {
            rc = err_set(GH_ECORRUPT,
                         _("%s: line %ld: a quoted cell starts here and is never closed (a \" "
                           "is missing)"),
                         path, r.row_line);
        } else {
            rc = r.stop;
        }
    }
out:
    csv_free(&r.p);
    codec_buf_free(&r.bytes);
    free(r.off);
    free(r.len);
    free(r.cells);
    if (map) {
        munmap((void *)map, size);
    }
    return rc;
}

/* ---- formula guard ------------------------------------------------------------------ */

static int guard_char(char c) {
    return c == '=' || c == '+' || c == '-' || c == '@' || c == '\t' || c == '\r';
}

size_t csv_unguard(const char *s, size_t n) {
    return n >= 2 && s[0] == '\'' && (guard_char(s[1]) || s[1] == '\'') ? 1 : 0;
}

size_t csv_untext(const char *s, size_t n) {
    if (n < 4 || s[0] != '=' || s[1] != '"' || s[n - 1] != '"') {
        return 0;
    }
    for (size_t i = 2; i < n - 1; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
    }
    return n - 3;
}

void csv_unwrap(const char **s, size_t *n) {
    size_t g = csv_unguard(*s, *n);
    if (g) {
        *s += g, *n -= g;
    } else if ((g = csv_untext(*s, *n))) {
        *s += 2, *n = g;
    }
}

/* A text cell a spreadsheet would turn into a number and change: digits
 * only, with a leading zero (0573..., 0012345) or more than 11 of them (an
 * ID number; Excel shows 12 digits and more as 3.30481E+17 and keeps 15). */
static int spoilt_by_spreadsheets(const char *s, size_t n) {
    if (n < 2 || n > 64) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
    }
    return s[0] == '0' || n > 11;
}

/* ---- writing ------------------------------------------------------------------------- */

void csv_writer_init(csv_writer *w, FILE *f, int format, int bom) {
    w->f = f;
    w->delim = format == CSV_TAB_SEP ? '\t' : ',';
    w->ncell = 0;
    if (bom) {
        fputs("\xef\xbb\xbf", f);
    }
}

void csv_put(csv_writer *w, const char *s, size_t n, int guard) {
    FILE *f = w->f;
    if (w->ncell++) {
        putc(w->delim, f);
    }
    if (guard == CSV_GUARD_TEXT && spoilt_by_spreadsheets(s, n)) {
        /* ="0573..." (not in CSV quotes: Excel reads it so) shows the digits */
        fputs("=\"", f);
        fwrite(s, 1, n, f);
        putc('"', f);
        return;
    }
    /* A guarded cell starts with an apostrophe; one that already starts
     * with one gets another, so that import's unguard gives it back whole. */
    int g = guard && n && (guard_char(s[0]) || s[0] == '\'');
    int quote = n && (s[0] == ' ' || s[n - 1] == ' ' || (!g && s[0] == '\t') || s[n - 1] == '\t');
    for (size_t i = 0; i < n && !quote; i++) {
        char c = s[i];
        quote = c == w->delim || c == '"' || c == '\n' || c == '\r';
    }
    if (!quote) {
        if (g) {
            putc('\'', f);
        }
        fwrite(s, 1, n, f);
        return;
    }
    putc('"', f);
    if (g) {
        putc('\'', f);
    }
    const char *p = s, *end = s + n, *q;
    while ((q = memchr(p, '"', (size_t)(end - p)))) {
        fwrite(p, 1, (size_t)(q - p) + 1, f);
        putc('"', f);
        p = q + 1;
    }
    fwrite(p, 1, (size_t)(end - p), f);
    putc('"', f);
}

void csv_end_row(csv_writer *w) {
    fputs("\r\n", w->f);
    w->ncell = 0;
}

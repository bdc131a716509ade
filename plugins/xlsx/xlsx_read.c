/*
 * xlsx_read.c — the rows of one sheet of an .xlsx workbook (see
 * xlsx_read.h), with minizip and expat.
 *
 * An .xlsx file is a zip archive of XML parts (ECMA-376, SpreadsheetML):
 *
 *   _rels/.rels                     -> the workbook part (xl/workbook.xml)
 *   xl/workbook.xml                 <sheet name= r:id=>, <workbookPr date1904=>
 *   xl/_rels/workbook.xml.rels      r:id -> xl/worksheets/sheetN.xml, and the
 *                                   shared strings and styles parts
 *   xl/styles.xml                   <numFmts> and <cellXfs>: a cell's s= is
 *                                   an index into cellXfs, whose numFmtId
 *                                   says whether the number is a date
 *   xl/sharedStrings.xml            <si> strings cells refer to by index
 *   xl/worksheets/sheetN.xml        <sheetData><row r=><c r= t= s=><v>
 *
 * Element and attribute names are matched by their local name (expat
 * reports "namespace|local"), so files written with prefixes (<x:row>, as
 * some generators do) read the same. A DOCTYPE is refused: no part of an
 * .xlsx file has one, and entities are how XML bombs work.
 *
 * Reading the sheet (the states of one xr_book):
 *
 *   OPEN --xr_next_row--> parse chunks until a </row> with values
 *        stops expat (resumable) --> ROW READY (returned)
 *        --xr_next_row--> resume expat on the rest of its chunk, then
 *        new chunks --> ... --> end of the part, CRC checked --> DONE (0)
 *   any error --> FAILED (-1 now and after)
 *
 * Invariants: (1) memory for the sheet is one chunk (CHUNK bytes, expat's
 * buffer), one cell's text (at most MAX_CELL bytes) and one row (at most
 * MAX_COLS cells); (2) no count read from a file is used to allocate.
 */
#include "xlsx_read.h"

#include <errno.h>
#include <expat.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unzip.h>

#define CHUNK 65536
#define MAX_CELL (1 << 20)        /* bytes in one cell (Excel's own limit is 32,767 characters) */
#define MAX_COLS 16384            /* columns A..XFD */
#define MAX_SST ((size_t)1 << 30) /* bytes of shared strings kept (a zip bomb's stop) */
#define MAX_PATH 1024

enum { K_NONE, K_DATE, K_TIME, K_DATETIME }; /* what a number format shows */

typedef struct sbuf {
    char *p;
    size_t len, cap;
} sbuf;

typedef struct rel {
    char *id, *type, *target;
} rel;

typedef struct sheet_ent {
    char *name, *rid;
    int hidden; /* state="hidden" or "veryHidden": not a tab the clerk sees */
} sheet_ent;

typedef struct fmt_ent {
    int id, kind;
} fmt_ent;

enum part_kind { P_ROOT_RELS, P_WORKBOOK, P_RELS, P_STYLES, P_SST, P_SHEET };

struct xr_book {
    xr_mem m;
    char *path;
    unzFile zip;
    const xr_part *parts;
    int nparts;
    int failed;
    char err[600];
    /* the part being parsed */
    enum part_kind kind;
    const char *part; /* its name, for messages */
    XML_Parser xp;
    const xr_part *mem_part;
    size_t mem_pos;
    uint64_t part_size, part_read;
    int depth;
    /* relationships of the part just read */
    rel *rels;
    int nrels, caprels;
    /* the workbook */
    char *workbook;
    int date1904, nsheets, capsheets;
    sheet_ent *sheets;
    sbuf names;
    /* styles: per cellXfs entry, its K_* (plus 4 for elapsed time [h]) */
    unsigned char *xf;
    int nxf, capxf;
    fmt_ent *fmts;
    int nfmt, capfmt;
    int in_numfmts, in_cellxfs;
    /* shared strings */
    sbuf sst;
    size_t *sst_off; /* nsst + 1 offsets into sst */
    int nsst, capsst;
    int in_si, in_t, in_rph, in_v, in_is;
    /* the sheet */
    int sheet;
    char *sheet_part;
    int in_data, in_row, in_c, eof, suspended, done, row_ready;
    uint32_t rownum, lastrow;
    int col, nextcol, style;
    char ctype;
    sbuf text, cell, row;
    size_t *off, *len;
    const char **cells;
    int ncells, capcells;
};

/* ---- small helpers ------------------------------------------------------------------------- */

static void fail(xr_book *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(xr_book *b, const char *fmt, ...) {
    if (b->failed) {
        return;
    }
    b->failed = 1;
    int k = snprintf(b->err, sizeof b->err, "%s: ", b->path);
    if (k < 0 || (size_t)k >= sizeof b->err) {
        k = 0;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b->err + k, sizeof b->err - (size_t)k, fmt, ap);
    va_end(ap);
    if (b->xp) {
        XML_StopParser(b->xp, XML_FALSE);
    }
}

static int grow(xr_book *b, void **p, int *cap, int need, size_t size) {
    if (need <= *cap) {
        return 0;
    }
    int nc = *cap ? *cap : 16;
    while (nc < need) {
        if (nc > INT_MAX / 2) {
            fail(b, "too many entries in %s", b->part ? b->part : "the workbook");
            return -1;
        }
        nc *= 2;
    }
    void *np = b->m.realloc(*p, (size_t)nc * size);
    if (!np) {
        fail(b, "out of memory");
        return -1;
    }
    *p = np;
    *cap = nc;
    return 0;
}

static int sb_add(xr_book *b, sbuf *s, const char *p, size_t n) {
    if (s->len + n + 1 > s->cap) {
        size_t nc = s->cap ? s->cap : 256;
        while (nc < s->len + n + 1) {
            nc *= 2;
        }
        char *np = b->m.realloc(s->p, nc);
        if (!np) {
            fail(b, "out of memory");
            return -1;
        }
        s->p = np;
        s->cap = nc;
    }
    if (n) {
        memcpy(s->p + s->len, p, n);
    }
    s->len += n;
    s->p[s->len] = 0;
    return 0;
}

static char *xdup(xr_book *b, const char *s) {
    size_t n = strlen(s) + 1;
    char *d = b->m.malloc(n);
    if (!d) {
        fail(b, "out of memory");
        return NULL;
    }
    memcpy(d, s, n);
    return d;
}

static const char *local(const char *name) {
    const char *bar = strrchr(name, '|');
    return bar ? bar + 1 : name;
}

static const char *attr(const char **atts, const char *name) {
    for (; atts && atts[0]; atts += 2) {
        if (strcmp(local(atts[0]), name) == 0) {
            return atts[1];
        }
    }
    return NULL;
}

/* A whole number 0..INT_MAX, or -1. */
static long whole(const char *s) {
    long v = 0;
    if (!s || !*s) {
        return -1;
    }
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (INT_MAX - 9) / 10) {
            return -1;
        }
        v = v * 10 + (*s - '0');
    }
    return v;
}

static void put_utf8(char *out, size_t *n, unsigned cp) {
    if (cp < 0x80) {
        out[(*n)++] = (char)cp;
    } else if (cp < 0x800) {
        out[(*n)++] = (char)(0xC0 | cp >> 6);
        out[(*n)++] = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out[(*n)++] = (char)(0xE0 | cp >> 12);
        out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[(*n)++] = (char)(0x80 | (cp & 0x3F));
    } else {
        out[(*n)++] = (char)(0xF0 | cp >> 18);
        out[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3F));
        out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[(*n)++] = (char)(0x80 | (cp & 0x3F));
    }
}

/* The code point of an _xHHHH_ escape at s (n bytes left), or -1. */
static long xescape(const char *s, size_t n) {
    if (n < 7 || s[0] != '_' || s[1] != 'x' || s[6] != '_') {
        return -1;
    }
    long v = 0;
    for (int i = 2; i < 6; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0) {
            return -1;
        }
        v = v * 16 + d;
    }
    return v;
}

/* Decodes Excel's _xHHHH_ escapes (how it stores control characters, and
 * "_x005F_" for a literal underscore) in place; returns the new length.
 * The UTF-8 of a code point is never longer than its 7-byte escape. */
static size_t unescape(char *s, size_t n) {
    size_t r = 0, w = 0;
    while (r < n) {
        long cp = s[r] == '_' ? xescape(s + r, n - r) : -1;
        if (cp < 0) {
            s[w++] = s[r++];
            continue;
        }
        r += 7;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            long lo = xescape(s + r, n - r);
            if (lo >= 0xDC00 && lo <= 0xDFFF) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                r += 7;
            } else {
                cp = 0xFFFD;
            }
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            cp = 0xFFFD;
        }
        put_utf8(s, &w, (unsigned)cp);
    }
    return w;
}

/* ---- parts ------------------------------------------------------------------------------------- */

/* Opens part `name` for reading: 0, 1 if the workbook has no such part, -1. */
static int part_open(xr_book *b, const char *name) {
    b->part = name;
    b->part_read = 0;
    b->part_size = 0;
    if (b->parts) {
        for (int i = 0; i < b->nparts; i++) {
            if (strcasecmp(b->parts[i].name, name) == 0) {
                b->mem_part = &b->parts[i];
                b->mem_pos = 0;
                b->part_size = b->parts[i].len;
                return 0;
            }
        }
        return 1;
    }
    /* names inside an .xlsx are case-insensitive (Open Packaging Conventions) */
    if (unzLocateFile(b->zip, name, 2) != UNZ_OK) {
        return 1;
    }
    unz_file_info64 fi;
    if (unzGetCurrentFileInfo64(b->zip, &fi, NULL, 0, NULL, 0, NULL, 0) == UNZ_OK) {
        b->part_size = fi.uncompressed_size;
    }
    if (unzOpenCurrentFile(b->zip) != UNZ_OK) {
        fail(b,
             "%s cannot be read from the zip archive (damaged, or compressed in a way "
             "that is not supported)",
             name);
        return -1;
    }
    return 0;
}

/* Reads up to n bytes of the open part: the count, 0 at its end, -1. */
static int part_read(xr_book *b, char *buf, int n) {
    if (b->parts) {
        size_t left = b->mem_part->len - b->mem_pos;
        size_t k = left < (size_t)n ? left : (size_t)n;
        memcpy(buf, b->mem_part->data + b->mem_pos, k);
        b->mem_pos += k;
        b->part_read += k;
        return (int)k;
    }
    int k = unzReadCurrentFile(b->zip, buf, (unsigned)n);
    if (k < 0) {
        fail(b, "%s: the zip archive is damaged (%s)", b->part,
             k == UNZ_CRCERROR ? "checksum error" : "cannot decompress");
        return -1;
    }
    b->part_read += (uint64_t)k;
    return k;
}

/* Closes the part; checks the zip checksum when all of it was read. */
static int part_close(xr_book *b, int whole_read) {
    if (b->parts) {
        b->mem_part = NULL;
        return 0;
    }
    int rc = unzCloseCurrentFile(b->zip);
    if (whole_read && rc == UNZ_CRCERROR) {
        fail(b, "%s: the zip archive is damaged (checksum error)", b->part);
        return -1;
    }
    return 0;
}

static void XMLCALL no_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                               const XML_Char *pubid, int has_internal) {
    xr_book *b = ud;
    (void)name, (void)sysid, (void)pubid, (void)has_internal;
    fail(b, "%s has a DOCTYPE, which no part of an .xlsx file has: not an Excel workbook", b->part);
}

static int parser_new(xr_book *b, XML_StartElementHandler start, XML_EndElementHandler end,
                      XML_CharacterDataHandler text) {
    XML_Memory_Handling_Suite ms = {b->m.malloc, b->m.realloc, b->m.free};
    b->xp = XML_ParserCreate_MM(NULL, &ms, "|");
    if (!b->xp) {
        fail(b, "out of memory");
        return -1;
    }
    XML_SetUserData(b->xp, b);
    XML_SetElementHandler(b->xp, start, end);
    XML_SetCharacterDataHandler(b->xp, text);
    XML_SetStartDoctypeDeclHandler(b->xp, no_doctype);
    b->depth = 0;
    return 0;
}

static void xml_fail(xr_book *b) {
    fail(b, "%s, line %lu: %s (the file is damaged or truncated, or not an Excel workbook)",
         b->part, (unsigned long)XML_GetCurrentLineNumber(b->xp),
         XML_ErrorString(XML_GetErrorCode(b->xp)));
}

/* Parses a whole part with the given handlers: 0, 1 if missing, -1. */
static int parse_part(xr_book *b, const char *name, XML_StartElementHandler start,
                      XML_EndElementHandler end, XML_CharacterDataHandler text) {
    int rc = part_open(b, name);
    if (rc) {
        return rc;
    }
    if (parser_new(b, start, end, text) != 0) {
        part_close(b, 0);
        return -1;
    }
    for (;;) {
        void *buf = XML_GetBuffer(b->xp, CHUNK);
        if (!buf) {
            fail(b, "out of memory");
            break;
        }
        int n = part_read(b, buf, CHUNK);
        if (n < 0) {
            break;
        }
        if (XML_ParseBuffer(b->xp, n, n == 0) != XML_STATUS_OK) {
            if (!b->failed) {
                xml_fail(b);
            }
            break;
        }
        if (n == 0) {
            break;
        }
    }
    part_close(b, !b->failed);
    XML_ParserFree(b->xp);
    b->xp = NULL;
    return b->failed ? -1 : 0;
}

/* The part `target` points to from part `base` (a relationship target:
 * relative to base's folder, or absolute from the archive's root). */
static int resolve(const char *base, const char *target, char *out, size_t n) {
    char tmp[MAX_PATH];
    size_t k = 0;
    if (target[0] == '/') {
        k = (size_t)snprintf(tmp, sizeof tmp, "%s", target + 1);
    } else {
        const char *slash = strrchr(base, '/');
        size_t dir = slash ? (size_t)(slash - base) + 1 : 0;
        k = (size_t)snprintf(tmp, sizeof tmp, "%.*s%s", (int)dir, base, target);
    }
    if (k >= sizeof tmp) {
        return -1;
    }
    /* remove "." and ".." segments */
    size_t w = 0;
    const char *p = tmp;
    while (*p) {
        const char *e = strchr(p, '/');
        size_t seg = e ? (size_t)(e - p) : strlen(p);
        if (seg == 0 || (seg == 1 && p[0] == '.')) {
            /* skip */
        } else if (seg == 2 && p[0] == '.' && p[1] == '.') {
            while (w > 0 && out[w - 1] != '/') {
                w--;
            }
            if (w > 0) {
                w--;
                while (w > 0 && out[w - 1] != '/') {
                    w--;
                }
            }
        } else {
            if (w + seg + 2 > n) {
                return -1;
            }
            memcpy(out + w, p, seg);
            w += seg;
            if (e) {
                out[w++] = '/';
            }
        }
        p += seg + (e ? 1 : 0);
    }
    if (w > 0 && out[w - 1] == '/') {
        w--;
    }
    out[w] = 0;
    return w ? 0 : -1;
}

/* ---- relationships ----------------------------------------------------------------------------- */

static void rels_clear(xr_book *b) {
    for (int i = 0; i < b->nrels; i++) {
        b->m.free(b->rels[i].id);
        b->m.free(b->rels[i].type);
        b->m.free(b->rels[i].target);
    }
    b->nrels = 0;
}

static void XMLCALL rels_start(void *ud, const XML_Char *name, const XML_Char **atts) {
    xr_book *b = ud;
    if (strcmp(local(name), "Relationship") != 0 || b->failed) {
        return;
    }
    const char *id = attr(atts, "Id"), *type = attr(atts, "Type"), *target = attr(atts, "Target");
    const char *mode = attr(atts, "TargetMode");
    if (!id || !type || !target || (mode && strcmp(mode, "External") == 0)) {
        return;
    }
    if (grow(b, (void **)&b->rels, &b->caprels, b->nrels + 1, sizeof *b->rels) != 0) {
        return;
    }
    rel *r = &b->rels[b->nrels];
    r->id = xdup(b, id);
    r->type = xdup(b, type);
    r->target = xdup(b, target);
    if (!r->id || !r->type || !r->target) {
        b->m.free(r->id);
        b->m.free(r->type);
        b->m.free(r->target);
        return;
    }
    b->nrels++;
}

static void XMLCALL no_end(void *ud, const XML_Char *name) {
    (void)ud, (void)name;
}

static void XMLCALL no_text(void *ud, const XML_Char *s, int n) {
    (void)ud, (void)s, (void)n;
}

/* The target of the first relationship whose type ends in /suffix. */
static const rel *rel_of_type(xr_book *b, const char *suffix) {
    size_t sn = strlen(suffix);
    for (int i = 0; i < b->nrels; i++) {
        size_t tn = strlen(b->rels[i].type);
        if (tn > sn && b->rels[i].type[tn - sn - 1] == '/' &&
            strcmp(b->rels[i].type + tn - sn, suffix) == 0) {
            return &b->rels[i];
        }
    }
    return NULL;
}

/* ---- the workbook ------------------------------------------------------------------------------ */

static void XMLCALL wb_start(void *ud, const XML_Char *name, const XML_Char **atts) {
    xr_book *b = ud;
    const char *ln = local(name);
    if (b->failed) {
        return;
    }
    if (strcmp(ln, "workbookPr") == 0) {
        const char *d = attr(atts, "date1904");
        b->date1904 = d && (strcmp(d, "1") == 0 || strcmp(d, "true") == 0);
    } else if (strcmp(ln, "sheet") == 0) {
        const char *sn = attr(atts, "name"), *rid = attr(atts, "id");
        if (!sn || !rid) {
            fail(b, "%s: a <sheet> without a name or r:id", b->part);
            return;
        }
        if (grow(b, (void **)&b->sheets, &b->capsheets, b->nsheets + 1, sizeof *b->sheets) != 0) {
            return;
        }
        char *n1 = xdup(b, sn), *n2 = xdup(b, rid);
        if (!n1 || !n2) {
            b->m.free(n1);
            b->m.free(n2);
            return;
        }
        const char *state = attr(atts, "state");
        b->sheets[b->nsheets].name = n1;
        b->sheets[b->nsheets].rid = n2;
        b->sheets[b->nsheets].hidden = state && strcmp(state, "visible") != 0;
        if (b->nsheets) {
            sb_add(b, &b->names, "\t", 1);
        }
        sb_add(b, &b->names, sn, strlen(sn));
        b->nsheets++;
    }
}

/* ---- styles: which cell formats show dates ------------------------------------------------------ */

/* The K_* of a built-in number format (ECMA-376 18.8.30; 27-36 and 50-58
 * as in Chinese (PRC) Excel). */
static int builtin_kind(long id) {
    if ((id >= 14 && id <= 17) || (id >= 27 && id <= 31) || id == 36 || (id >= 50 && id <= 54) ||
        id == 57 || id == 58) {
        return K_DATE;
    }
    if ((id >= 18 && id <= 21) || (id >= 32 && id <= 35) || id == 45 || id == 47 || id == 55 ||
        id == 56) {
        return K_TIME;
    }
    if (id == 46) {
        return K_TIME | 4; /* [h]:mm:ss */
    }
    return id == 22 ? K_DATETIME : K_NONE;
}

/* The K_* of a format code ("yyyy/m/d", "0.00", "[h]:mm"); only its first
 * section counts. Quoted text, escaped characters and [colors] are not
 * codes; digit placeholders make it a number format. */
static int code_kind(const char *s) {
    const char *start = s;
    int date = 0, time = 0, month = 0, digit = 0, elapsed = 0;
    if (strncasecmp(s, "General", 7) == 0) {
        s += 7;
    }
    for (; *s && *s != ';'; s++) {
        char c = *s;
        if (c == '"') {
            while (s[1] && s[1] != '"') {
                s++;
            }
            if (s[1]) {
                s++;
            }
        } else if (c == '\\' || c == '_' || c == '*') {
            if (s[1]) {
                s++;
            }
        } else if (c == '[') {
            const char *e = strchr(s, ']');
            if (!e) {
                break;
            }
            int hms = e > s + 1;
            for (const char *q = s + 1; q < e; q++) {
                hms &= strchr("hHmMsS", *q) != NULL;
            }
            if (hms) {
                time = elapsed = 1;
            }
            s = e;
        } else if (strncasecmp(s, "AM/PM", 5) == 0) {
            time = 1;
            s += 4;
        } else if (strncasecmp(s, "A/P", 3) == 0) {
            time = 1;
            s += 2;
        } else if (c == 'e' || c == 'E') {
            if (s[1] == '+' || s[1] == '-') {
                digit = 1; /* scientific: 0.00E+00 */
            } else {
                date = 1; /* the era year */
            }
        } else if (strchr("yYdDaAbB", c)) {
            date = 1;
        } else if (strchr("hHsS", c)) {
            time = 1;
        } else if (c == 'm' || c == 'M') {
            month = 1;
        } else if (c == '0' || c == '#' || c == '?') {
            /* "ss.000" is fractions of a second */
            if (!(time && s > start && (s[-1] == '.' || s[-1] == '0'))) {
                digit = 1;
            }
        }
    }
    if (digit) {
        return K_NONE;
    }
    if (date || (month && !time)) {
        return time ? K_DATETIME : K_DATE;
    }
    return time ? (K_TIME | (elapsed ? 4 : 0)) : K_NONE;
}

static void XMLCALL st_start(void *ud, const XML_Char *name, const XML_Char **atts) {
    xr_book *b = ud;
    const char *ln = local(name);
    if (b->failed) {
        return;
    }
    if (strcmp(ln, "numFmts") == 0) {
        b->in_numfmts = 1;
    } else if (strcmp(ln, "cellXfs") == 0) {
        b->in_cellxfs = 1;
    } else if (b->in_numfmts && strcmp(ln, "numFmt") == 0) {
        long id = whole(attr(atts, "numFmtId"));
        const char *code = attr(atts, "formatCode");
        if (id < 0 || !code) {
            return;
        }
        if (grow(b, (void **)&b->fmts, &b->capfmt, b->nfmt + 1, sizeof *b->fmts) != 0) {
            return;
        }
        b->fmts[b->nfmt].id = (int)id;
        b->fmts[b->nfmt].kind = code_kind(code);
        b->nfmt++;
    } else if (b->in_cellxfs && strcmp(ln, "xf") == 0) {
        long id = whole(attr(atts, "numFmtId"));
        int kind = id < 0 ? K_NONE : builtin_kind(id);
        for (int i = 0; i < b->nfmt; i++) {
            if (b->fmts[i].id == id) {
                kind = b->fmts[i].kind; /* a format the file defines wins */
            }
        }
        if (grow(b, (void **)&b->xf, &b->capxf, b->nxf + 1, 1) == 0) {
            b->xf[b->nxf++] = (unsigned char)kind;
        }
    }
}

static void XMLCALL st_end(void *ud, const XML_Char *name) {
    xr_book *b = ud;
    const char *ln = local(name);
    if (strcmp(ln, "numFmts") == 0) {
        b->in_numfmts = 0;
    } else if (strcmp(ln, "cellXfs") == 0) {
        b->in_cellxfs = 0;
    }
}

/* ---- shared strings ---------------------------------------------------------------------------- */

static void XMLCALL sst_start(void *ud, const XML_Char *name, const XML_Char **atts) {
    xr_book *b = ud;
    const char *ln = local(name);
    (void)atts;
    if (b->failed) {
        return;
    }
    if (strcmp(ln, "si") == 0) {
        b->in_si = 1;
        b->text.len = 0;
    } else if (b->in_si && strcmp(ln, "rPh") == 0) {
        b->in_rph = 1; /* phonetic guide (furigana): not the cell's text */
    } else if (b->in_si && !b->in_rph && strcmp(ln, "t") == 0) {
        b->in_t = 1;
    }
}

static void XMLCALL sst_end(void *ud, const XML_Char *name) {
    xr_book *b = ud;
    const char *ln = local(name);
    if (b->failed) {
        return;
    }
    if (strcmp(ln, "t") == 0) {
        b->in_t = 0;
    } else if (strcmp(ln, "rPh") == 0) {
        b->in_rph = 0;
    } else if (strcmp(ln, "si") == 0 && b->in_si) {
        b->in_si = 0;
        if (b->nsst == INT_MAX - 1 ||
            grow(b, (void **)&b->sst_off, &b->capsst, b->nsst + 2, sizeof *b->sst_off) != 0) {
            fail(b, "%s: too many strings", b->part);
            return;
        }
        size_t n = b->text.p ? unescape(b->text.p, b->text.len) : 0;
        if (b->sst.len + n >= MAX_SST) {
            fail(b,
                 "%s: more than 1 GiB of shared strings: not a workbook this reader takes "
                 "(save the sheet as CSV)",
                 b->part);
            return;
        }
        if (sb_add(b, &b->sst, b->text.p, n) != 0 || sb_add(b, &b->sst, "", 1) != 0) {
            return;
        }
        b->nsst++;
        b->sst_off[b->nsst] = b->sst.len;
    }
}

static void XMLCALL cell_text(void *ud, const XML_Char *s, int n) {
    xr_book *b = ud;
    if (b->failed || !(b->in_t || b->in_v) || b->in_rph) {
        return;
    }
    if (b->text.len + (size_t)n > MAX_CELL) {
        if (b->kind == P_SST) {
            fail(b, "%s: string %d is longer than %d bytes", b->part, b->nsst + 1, MAX_CELL);
        } else {
            fail(b, "%s, row %u: a cell is longer than %d bytes", b->part, (unsigned)b->rownum,
                 MAX_CELL);
        }
        return;
    }
    sb_add(b, &b->text, s, (size_t)n);
}

/* ---- numbers and dates ------------------------------------------------------------------------- */

size_t xr_number_text(const char *v, size_t n, char *out) {
    const char *p = v, *end = v + n;
    char dig[32];
    int nd = 0, neg = 0, any = 0, dot = 0;
    long e = 0; /* the value is dig[0..nd) * 10^e */
    if (p < end && (*p == '-' || *p == '+')) {
        neg = *p++ == '-';
    }
    for (; p < end; p++) {
        if (*p >= '0' && *p <= '9') {
            any = 1;
            if (nd == 0 && *p == '0') {
                e -= dot;
            } else if (nd < (int)sizeof dig) {
                dig[nd++] = *p;
                e -= dot;
            } else {
                e += !dot;
            }
        } else if (*p == '.' && !dot) {
            dot = 1;
        } else {
            break;
        }
    }
    if (!any) {
        return (size_t)-1;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        int eneg = 0;
        long x = 0;
        p++;
        if (p < end && (*p == '+' || *p == '-')) {
            eneg = *p++ == '-';
        }
        if (p == end) {
            return (size_t)-1;
        }
        for (; p < end && *p >= '0' && *p <= '9'; p++) {
            x = x < 100000 ? x * 10 + (*p - '0') : x;
        }
        e += eneg ? -x : x;
    }
    if (p != end) {
        return (size_t)-1;
    }
    while (nd > 0 && dig[nd - 1] == '0') {
        nd--, e++;
    }
    size_t k = 0;
    if (nd == 0) {
        out[0] = '0';
        out[1] = 0;
        return 1;
    }
    if (nd > 15) { /* Excel's precision: 15 significant digits */
        int up = dig[15] >= '5';
        e += nd - 15;
        nd = 15;
        if (up) {
            int i = 14;
            while (i >= 0 && dig[i] == '9') {
                dig[i--] = '0';
            }
            if (i < 0) {
                dig[0] = '1';
                nd = 1;
                e += 15;
            } else {
                dig[i]++;
            }
        }
        while (nd > 0 && dig[nd - 1] == '0') {
            nd--, e++;
        }
    }
    long intd = nd + e; /* digits before the point */
    if (neg) {
        out[k++] = '-';
    }
    if (e >= 0 && intd <= 15) {
        memcpy(out + k, dig, (size_t)nd);
        k += (size_t)nd;
        for (long i = 0; i < e; i++) {
            out[k++] = '0';
        }
    } else if (e < 0 && intd > 0) {
        memcpy(out + k, dig, (size_t)intd);
        k += (size_t)intd;
        out[k++] = '.';
        memcpy(out + k, dig + intd, (size_t)(nd - intd));
        k += (size_t)(nd - intd);
    } else if (e < 0 && intd > -10) {
        out[k++] = '0';
        out[k++] = '.';
        for (long i = 0; i < -intd; i++) {
            out[k++] = '0';
        }
        memcpy(out + k, dig, (size_t)nd);
        k += (size_t)nd;
    } else { /* 3.30481199001012E+17: more digits than Excel keeps, or tiny */
        out[k++] = dig[0];
        if (nd > 1) {
            out[k++] = '.';
            memcpy(out + k, dig + 1, (size_t)(nd - 1));
            k += (size_t)(nd - 1);
        }
        k += (size_t)snprintf(out + k, 12, "E%c%02ld", intd - 1 < 0 ? '-' : '+',
                              labs(intd - 1) > 99999 ? 99999 : labs(intd - 1));
    }
    out[k] = 0;
    return k;
}

/* A date-formatted number as Excel shows it: 0 with out, or -1 if it is no
 * date (negative, past 9999-12-31: shown as a number then). */
static int date_text(const xr_book *b, const char *v, int kind, char *out, size_t n) {
    char *end;
    double x = strtod(v, &end);
    if (end == v || *end || !(x >= 0) || x >= 2958466.0) {
        return -1;
    }
    long serial = (long)floor(x);
    long secs = lround((x - (double)serial) * 86400.0);
    if (secs >= 86400) {
        serial++, secs -= 86400;
    }
    int y, m, d;
    char date[16], tod[16];
    if (b->date1904) {
        b->m.day_date(b->m.day_number(1904, 1, 1) + serial, &y, &m, &d);
    } else if (serial == 60) { /* Excel's 1900-02-29, kept from Lotus 1-2-3 */
        y = 1900, m = 2, d = 29;
    } else if (serial == 0) {
        y = 1900, m = 1, d = 0;
    } else {
        b->m.day_date(b->m.day_number(1899, 12, serial < 60 ? 31 : 30) + serial, &y, &m, &d);
    }
    snprintf(date, sizeof date, "%04d-%02d-%02d", y, m, d);
    long hours = (kind & 4) ? serial * 24 + secs / 3600 : secs / 3600;
    snprintf(tod, sizeof tod, "%02ld:%02ld:%02ld", hours, secs / 60 % 60, secs % 60);
    switch (kind & 3) {
    case K_DATE:
        snprintf(out, n, "%s", date);
        break;
    case K_TIME:
        snprintf(out, n, "%s", tod);
        break;
    default:
        snprintf(out, n, "%s %s", date, tod);
        break;
    }
    return 0;
}

/* ---- the sheet --------------------------------------------------------------------------------- */

/* Column number (0-based) of a cell reference "AB12", or -1. */
static int ref_col(const char *r) {
    int c = 0, k = 0;
    for (; *r >= 'A' && *r <= 'Z'; r++, k++) {
        c = c * 26 + (*r - 'A' + 1);
        if (k >= 3) {
            return -1;
        }
    }
    return k ? c - 1 : -1;
}

static const char *ref_name(int col, uint32_t row, char *buf, size_t n) {
    char letters[8];
    int k = 0;
    for (int c = col + 1; c > 0 && k < 7; c = (c - 1) / 26) {
        letters[k++] = (char)('A' + (c - 1) % 26);
    }
    char rev[8];
    for (int i = 0; i < k; i++) {
        rev[i] = letters[k - 1 - i];
    }
    snprintf(buf, n, "%.*s%u", k, rev, (unsigned)row);
    return buf;
}

/* Adds cell text s[0..n) at column col of the row, empty cells before it. */
static int row_put(xr_book *b, int col, const char *s, size_t n) {
    if (col + 1 > b->capcells) {
        /* three arrays of one capacity: set only once all have grown */
        int nc = b->capcells ? b->capcells : 16;
        while (nc < col + 1) {
            nc *= 2;
        }
        void *a = b->m.realloc(b->off, (size_t)nc * sizeof *b->off);
        if (a) {
            b->off = a;
            a = b->m.realloc(b->len, (size_t)nc * sizeof *b->len);
        }
        if (a) {
            b->len = a;
            a = b->m.realloc((void *)b->cells, (size_t)nc * sizeof *b->cells);
        }
        if (!a) {
            fail(b, "out of memory");
            return -1;
        }
        b->cells = a;
        b->capcells = nc;
    }
    while (b->ncells < col) {
        b->off[b->ncells] = b->row.len;
        b->len[b->ncells++] = 0;
        if (sb_add(b, &b->row, "", 1) != 0) {
            return -1;
        }
    }
    b->off[col] = b->row.len;
    b->len[col] = n;
    b->ncells = col + 1;
    if (sb_add(b, &b->row, s, n) != 0 || sb_add(b, &b->row, "", 1) != 0) {
        return -1;
    }
    return 0;
}

/* The text of the cell just ended, into b->cell. */
static int cell_value(xr_book *b) {
    char ref[24], num[64];
    sbuf *t = &b->text;
    const char *v = t->p ? t->p : "";
    size_t n = t->len;
    b->cell.len = 0;
    switch (b->ctype) {
    case 's': {
        long i = whole(v);
        if (i < 0 || i >= b->nsst) {
            fail(b, "%s, cell %s: shared string %s does not exist (the workbook has %d)", b->part,
                 ref_name(b->col, b->rownum, ref, sizeof ref), n ? v : "(none)", b->nsst);
            return -1;
        }
        return sb_add(b, &b->cell, b->sst.p + b->sst_off[i], b->sst_off[i + 1] - b->sst_off[i] - 1);
    }
    case 'i': /* inlineStr */
    case 'S': /* str: a formula's text result */
        return sb_add(b, &b->cell, v, t->p ? unescape(t->p, n) : 0);
    case 'b':
        if (n == 1 && (v[0] == '0' || v[0] == '1')) {
            return sb_add(b, &b->cell, v[0] == '1' ? "TRUE" : "FALSE", v[0] == '1' ? 4 : 5);
        }
        return sb_add(b, &b->cell, v, n);
    case 'd': { /* ISO 8601: 2024-03-05T00:00:00 */
        size_t k = n;
        const char *tt = memchr(v, 'T', n);
        if (tt && (strncmp(tt, "T00:00:00", 9) == 0 || tt + 1 == v + n)) {
            k = (size_t)(tt - v);
        }
        if (sb_add(b, &b->cell, v, k) == 0 && k == n && tt) {
            b->cell.p[tt - v] = ' ';
        }
        return b->failed ? -1 : 0;
    }
    case 'e':
        return sb_add(b, &b->cell, v, n);
    default: /* a number */
        if (n == 0) {
            return 0;
        }
        if (b->style >= 0 && b->style < b->nxf && b->xf[b->style] != K_NONE &&
            date_text(b, v, b->xf[b->style], num, sizeof num) == 0) {
            return sb_add(b, &b->cell, num, strlen(num));
        }
        if (n < 40) {
            size_t k = xr_number_text(v, n, num);
            if (k != (size_t)-1) {
                return sb_add(b, &b->cell, num, k);
            }
        }
        return sb_add(b, &b->cell, v, n);
    }
}

static void XMLCALL sh_start(void *ud, const XML_Char *name, const XML_Char **atts) {
    xr_book *b = ud;
    const char *ln = local(name);
    char ref[24];
    if (b->failed) {
        return;
    }
    if (!b->in_data) {
        b->in_data = strcmp(ln, "sheetData") == 0;
    } else if (!b->in_row) {
        if (strcmp(ln, "row") != 0) {
            return;
        }
        const char *r = attr(atts, "r");
        long num = r ? whole(r) : (long)b->lastrow + 1;
        if (num < 1 || num > 0x7fffffff || (uint32_t)num <= b->lastrow) {
            fail(b, "%s: row number '%s' after row %u (rows must be numbered upwards from 1)",
                 b->part, r ? r : "", (unsigned)b->lastrow);
            return;
        }
        b->in_row = 1;
        b->rownum = (uint32_t)num;
        b->ncells = 0;
        b->nextcol = 0;
        b->row.len = 0;
    } else if (!b->in_c) {
        if (strcmp(ln, "c") != 0) {
            return;
        }
        const char *r = attr(atts, "r"), *t = attr(atts, "t"), *s = attr(atts, "s");
        int col = r ? ref_col(r) : b->nextcol;
        if (col < 0 || col >= MAX_COLS || col < b->nextcol) {
            fail(b, "%s, row %u: cell reference '%s' %s", b->part, (unsigned)b->rownum, r ? r : "",
                 col < 0 || col >= MAX_COLS ? "is not a cell (A1 to XFD1048576)"
                                            : "is out of order");
            return;
        }
        if (r) { /* the row part of the reference must be this row */
            const char *q = r;
            while (*q >= 'A' && *q <= 'Z') {
                q++;
            }
            if (*q && whole(q) != (long)b->rownum) {
                fail(b, "%s: cell %s is inside row %u", b->part, r, (unsigned)b->rownum);
                return;
            }
        }
        b->col = col;
        b->nextcol = col + 1;
        b->style = s ? (int)whole(s) : 0;
        b->ctype = !t || strcmp(t, "n") == 0     ? 'n'
                   : strcmp(t, "s") == 0         ? 's'
                   : strcmp(t, "str") == 0       ? 'S'
                   : strcmp(t, "inlineStr") == 0 ? 'i'
                   : strcmp(t, "b") == 0         ? 'b'
                   : strcmp(t, "e") == 0         ? 'e'
                   : strcmp(t, "d") == 0         ? 'd'
                                                 : 0;
        if (!b->ctype) {
            fail(b, "%s, cell %s: unknown cell type t=\"%s\"", b->part,
                 ref_name(col, b->rownum, ref, sizeof ref), t);
            return;
        }
        b->in_c = 1;
        b->text.len = 0;
    } else if (strcmp(ln, "v") == 0) {
        b->in_v = b->ctype != 'i';
    } else if (strcmp(ln, "is") == 0) {
        b->in_is = 1;
    } else if (b->in_is && strcmp(ln, "rPh") == 0) {
        b->in_rph = 1;
    } else if (b->in_is && !b->in_rph && strcmp(ln, "t") == 0) {
        b->in_t = 1;
    }
}

static void XMLCALL sh_end(void *ud, const XML_Char *name) {
    xr_book *b = ud;
    const char *ln = local(name);
    if (b->failed || !b->in_data) {
        return;
    }
    if (b->in_c) {
        if (strcmp(ln, "v") == 0) {
            b->in_v = 0;
        } else if (strcmp(ln, "t") == 0) {
            b->in_t = 0;
        } else if (strcmp(ln, "rPh") == 0) {
            b->in_rph = 0;
        } else if (strcmp(ln, "is") == 0) {
            b->in_is = 0;
        } else if (strcmp(ln, "c") == 0) {
            b->in_c = b->in_v = b->in_t = b->in_is = b->in_rph = 0;
            if (cell_value(b) == 0 && b->cell.len > 0) {
                row_put(b, b->col, b->cell.p, b->cell.len);
            }
        }
    } else if (b->in_row && strcmp(ln, "row") == 0) {
        b->in_row = 0;
        b->lastrow = b->rownum;
        if (b->ncells > 0) {
            b->row_ready = 1;
            XML_StopParser(b->xp, XML_TRUE);
        }
    } else if (!b->in_row && strcmp(ln, "sheetData") == 0) {
        b->in_data = 0;
    }
}

int xr_next_row(xr_book *b, xr_row *row, char *err, size_t errn) {
    b->row_ready = 0;
    while (!b->failed && !b->done && b->xp) {
        enum XML_Status st;
        int n = -1;
        if (b->suspended) {
            b->suspended = 0;
            st = XML_ResumeParser(b->xp);
        } else {
            void *buf = XML_GetBuffer(b->xp, CHUNK);
            if (!buf) {
                fail(b, "out of memory");
                break;
            }
            if ((n = part_read(b, buf, CHUNK)) < 0) {
                break;
            }
            st = XML_ParseBuffer(b->xp, n, n == 0);
        }
        if (st == XML_STATUS_ERROR) {
            if (!b->failed) {
                xml_fail(b);
            }
            break;
        }
        if (st == XML_STATUS_SUSPENDED) {
            b->suspended = 1;
        } else {
            XML_ParsingStatus ps;
            XML_GetParsingStatus(b->xp, &ps);
            if (ps.parsing == XML_FINISHED) {
                b->done = 1;
                part_close(b, 1);
            }
        }
        if (b->row_ready && !b->failed) {
            for (int i = 0; i < b->ncells; i++) {
                b->cells[i] = b->row.p + b->off[i];
            }
            row->number = b->rownum;
            row->ncells = b->ncells;
            row->cells = b->cells;
            row->lens = b->len;
            return 1;
        }
    }
    if (b->failed) {
        snprintf(err, errn, "%s", b->err);
        return -1;
    }
    return 0;
}

/* ---- opening ------------------------------------------------------------------------------------ */

static int open_book(xr_book *b, const char *sheet) {
    char wbrels[MAX_PATH], path[MAX_PATH];
    int rc;
    /* where the workbook is */
    b->kind = P_ROOT_RELS;
    rc = parse_part(b, "_rels/.rels", rels_start, no_end, no_text);
    if (rc < 0) {
        return -1;
    }
    const rel *office = rc == 0 ? rel_of_type(b, "officeDocument") : NULL;
    if (!office || resolve("", office->target, path, sizeof path) != 0) {
        snprintf(path, sizeof path, "xl/workbook.xml");
    }
    if (!(b->workbook = xdup(b, path))) {
        return -1;
    }
    rels_clear(b);
    b->kind = P_WORKBOOK;
    rc = parse_part(b, b->workbook, wb_start, no_end, no_text);
    if (rc > 0) {
        fail(b, "the zip archive has no workbook (%s): not an Excel .xlsx workbook", b->workbook);
    }
    if (rc != 0) {
        return -1;
    }
    if (b->nsheets == 0) {
        fail(b, "%s lists no sheets", b->workbook);
        return -1;
    }
    if (!sheet) {
        b->sheet = -1; /* the names only */
        return 0;
    }
    /* the sheet asked for: a name (hidden sheets too), else the Nth of the
     * tabs a clerk sees (hidden sheets are not counted), "" the first tab */
    int nvisible = 0;
    long want = *sheet ? whole(sheet) : 1;
    b->sheet = -1;
    for (int i = 0; *sheet && i < b->nsheets && b->sheet < 0; i++) {
        if (strcmp(b->sheets[i].name, sheet) == 0) {
            b->sheet = i;
        }
    }
    for (int i = 0; i < b->nsheets; i++) {
        if (!b->sheets[i].hidden && ++nvisible == want && b->sheet < 0) {
            b->sheet = i;
        }
    }
    if (b->sheet < 0 && !*sheet) {
        b->sheet = 0; /* every sheet hidden: the first one */
    }
    if (b->sheet < 0) {
        char list[300];
        size_t k = 0;
        list[0] = 0;
        for (int i = 0; i < b->nsheets && k < sizeof list - 60; i++) {
            k += (size_t)snprintf(list + k, sizeof list - k, "%s'%s'%s", i ? ", " : "",
                                  b->sheets[i].name, b->sheets[i].hidden ? " (hidden)" : "");
        }
        fail(b,
             "the workbook has no sheet '%s' (its sheets: %s; give a name, or a number from "
             "1 to %d)",
             sheet, list, nvisible);
        return -1;
    }
    /* the workbook's relationships */
    const char *slash = strrchr(b->workbook, '/');
    size_t dir = slash ? (size_t)(slash - b->workbook) + 1 : 0;
    snprintf(wbrels, sizeof wbrels, "%.*s_rels/%s.rels", (int)dir, b->workbook, b->workbook + dir);
    b->kind = P_RELS;
    if ((rc = parse_part(b, wbrels, rels_start, no_end, no_text)) != 0) {
        if (rc > 0) {
            fail(b, "the zip archive has no %s: not a complete .xlsx workbook", wbrels);
        }
        return -1;
    }
    const rel *sr = NULL;
    for (int i = 0; i < b->nrels && !sr; i++) {
        if (strcmp(b->rels[i].id, b->sheets[b->sheet].rid) == 0) {
            sr = &b->rels[i];
        }
    }
    if (!sr) {
        fail(b, "%s: sheet '%s' (%s) has no part in %s", b->workbook, b->sheets[b->sheet].name,
             b->sheets[b->sheet].rid, wbrels);
        return -1;
    }
    size_t tl = strlen(sr->type);
    if (tl < 10 || strcmp(sr->type + tl - 10, "/worksheet") != 0) {
        fail(b, "sheet '%s' is not a worksheet (a chart or dialog sheet has no rows)",
             b->sheets[b->sheet].name);
        return -1;
    }
    char sheet_part[MAX_PATH], sst_part[MAX_PATH] = "", st_part[MAX_PATH] = "";
    if (resolve(b->workbook, sr->target, sheet_part, sizeof sheet_part) != 0) {
        fail(b, "%s: bad target '%s' for sheet '%s'", wbrels, sr->target, b->sheets[b->sheet].name);
        return -1;
    }
    const rel *r = rel_of_type(b, "sharedStrings");
    if (r && resolve(b->workbook, r->target, sst_part, sizeof sst_part) != 0) {
        sst_part[0] = 0;
    }
    r = rel_of_type(b, "styles");
    if (r && resolve(b->workbook, r->target, st_part, sizeof st_part) != 0) {
        st_part[0] = 0;
    }
    rels_clear(b);
    /* styles, then shared strings (both optional: a workbook may have none) */
    b->kind = P_STYLES;
    if (st_part[0] && parse_part(b, st_part, st_start, st_end, no_text) < 0) {
        return -1;
    }
    b->kind = P_SST;
    if (grow(b, (void **)&b->sst_off, &b->capsst, 1, sizeof *b->sst_off) != 0) {
        return -1;
    }
    b->sst_off[0] = 0;
    if (sst_part[0] && parse_part(b, sst_part, sst_start, sst_end, cell_text) < 0) {
        return -1;
    }
    b->in_t = b->in_rph = 0;
    /* the sheet: opened here, parsed row by row */
    b->kind = P_SHEET;
    if (!(b->sheet_part = xdup(b, sheet_part))) {
        return -1;
    }
    rc = part_open(b, b->sheet_part);
    if (rc > 0) {
        fail(b, "the zip archive has no %s (sheet '%s')", sheet_part, b->sheets[b->sheet].name);
    }
    return rc != 0 || parser_new(b, sh_start, sh_end, cell_text) != 0 ? -1 : 0;
}

static int book_new(const char *path, const xr_mem *mem, xr_book **out) {
    xr_book *b = mem->malloc(sizeof *b);
    *out = NULL;
    if (!b) {
        return -1;
    }
    memset(b, 0, sizeof *b);
    b->m = *mem;
    size_t n = strlen(path) + 1;
    if (!(b->path = mem->malloc(n))) {
        mem->free(b);
        return -1;
    }
    memcpy(b->path, path, n);
    *out = b;
    return 0;
}

static int finish_open(xr_book *b, const char *sheet, xr_book **out, char *err, size_t errn) {
    if (open_book(b, sheet) != 0) {
        snprintf(err, errn, "%s", b->failed ? b->err : "out of memory");
        xr_close(b);
        return -1;
    }
    *out = b;
    return 0;
}

int xr_open(const char *path, const char *sheet, const xr_mem *mem, xr_book **out, char *err,
            size_t errn) {
    xr_book *b;
    *out = NULL;
    if (book_new(path, mem, &b) != 0) {
        snprintf(err, errn, "%s: out of memory", path);
        return -1;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errn, "cannot open %s: %s", path, strerror(errno));
        xr_close(b);
        return -1;
    }
    unsigned char magic[8] = {0};
    size_t got = fread(magic, 1, sizeof magic, f);
    fclose(f);
    if (got >= 4 && memcmp(magic, "\xD0\xCF\x11\xE0", 4) == 0) {
        snprintf(err, errn,
                 "%s is an Excel 97-2003 workbook (.xls) or a password-protected one, which "
                 "cannot be read: open it in Excel and save it as an .xlsx workbook without a "
                 "password",
                 path);
        xr_close(b);
        return -1;
    }
    if (!(b->zip = unzOpen64(path))) {
        snprintf(err, errn,
                 "%s is not an .xlsx workbook (not a zip archive%s): save it from Excel as "
                 "\"Excel Workbook (*.xlsx)\"",
                 path, got >= 2 && magic[0] == 'P' && magic[1] == 'K' ? ", or a damaged one" : "");
        xr_close(b);
        return -1;
    }
    return finish_open(b, sheet, out, err, errn);
}

int xr_open_parts(const char *path, const xr_part *parts, int nparts, const char *sheet,
                  const xr_mem *mem, xr_book **out, char *err, size_t errn) {
    xr_book *b;
    *out = NULL;
    if (book_new(path, mem, &b) != 0) {
        snprintf(err, errn, "%s: out of memory", path);
        return -1;
    }
    b->parts = parts;
    b->nparts = nparts;
    return finish_open(b, sheet, out, err, errn);
}

const char *xr_sheet_name(const xr_book *b) {
    return b->sheet >= 0 ? b->sheets[b->sheet].name : "";
}

const char *xr_sheet_names(const xr_book *b) {
    return b->names.p ? b->names.p : "";
}

double xr_progress(const xr_book *b) {
    if (b->done || b->part_size == 0) {
        return 1.0;
    }
    double f = (double)b->part_read / (double)b->part_size;
    return f > 1.0 ? 1.0 : f;
}

void xr_close(xr_book *b) {
    if (!b) {
        return;
    }
    void (*fr)(void *) = b->m.free;
    if (b->xp) {
        XML_ParserFree(b->xp);
    }
    if (b->zip) {
        unzClose(b->zip);
    }
    rels_clear(b);
    fr(b->rels);
    for (int i = 0; i < b->nsheets; i++) {
        fr(b->sheets[i].name);
        fr(b->sheets[i].rid);
    }
    fr(b->sheets);
    fr(b->names.p);
    fr(b->workbook);
    fr(b->xf);
    fr(b->fmts);
    fr(b->sst.p);
    fr(b->sst_off);
    fr(b->text.p);
    fr(b->cell.p);
    fr(b->row.p);
    fr(b->off);
    fr(b->len);
    fr(b->cells);
    fr(b->sheet_part);
    fr(b->path);
    fr(b);
}

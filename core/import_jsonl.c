/*
 * import_jsonl.c — the JSON Lines reader of `gonghui import`: each line one
 * JSON object, its members the row's cells (strings, numbers, booleans,
 * null; a nested value kept as MessagePack for a `raw` field). It feeds the
 * same row assembly as the CSV reader (import.c), so a row is checked and
 * stored by one set of rules whatever its format.
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

/* ---- text ---------------------------------------------------------------------------- */

static int eat(const char **p, const char *end, const char *lit) {
    size_t n = strlen(lit);
    if ((size_t)(end - *p) >= n && memcmp(*p, lit, n) == 0) {
        *p += n;
        return 1;
    }
    return 0;
}

/* ---- JSON Lines ------------------------------------------------------------------------------ */

typedef struct jp {
    const char *p, *end;
} jp;

static void ws(jp *j) {
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\r' || *j->p == '\n')) {
        j->p++;
    }
}

static void put_utf8(codec_buf *b, unsigned cp) {
    unsigned char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (unsigned char)cp, n = 1;
    } else if (cp < 0x800) {
        u[0] = (unsigned char)(0xc0 | cp >> 6), u[1] = (unsigned char)(0x80 | (cp & 0x3f)), n = 2;
    } else if (cp < 0x10000) {
        u[0] = (unsigned char)(0xe0 | cp >> 12), u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        u[2] = (unsigned char)(0x80 | (cp & 0x3f)), n = 3;
    } else {
        u[0] = (unsigned char)(0xf0 | cp >> 18), u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
        u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f)),
        u[3] = (unsigned char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    codec_buf_add(b, u, n);
}

static int hex4(const char *p, const char *end, unsigned *v) {
    *v = 0;
    if (end - p < 4) {
        return -1;
    }
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
                     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                     : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
                                            : 16;
        if (d > 15) {
            return -1;
        }
        *v = *v << 4 | d;
    }
    return 0;
}

/* A JSON string at j->p (after ws) unescaped and appended to out. */
static int json_str(jp *j, codec_buf *out) {
    if (j->p >= j->end || *j->p != '"') {
        return -1;
    }
    j->p++;
    for (;;) {
        const char *s = j->p;
        while (j->p < j->end && *j->p != '"' && *j->p != '\\' && (unsigned char)*j->p >= 0x20) {
            j->p++;
        }
        codec_buf_add(out, s, (size_t)(j->p - s));
        if (j->p >= j->end || (unsigned char)*j->p < 0x20) {
            return -1;
        }
        if (*j->p++ == '"') {
            return 0;
        }
        if (j->p >= j->end) {
            return -1;
        }
        char e = *j->p++, c;
        switch (e) {
        case '"':
        case '\\':
        case '/':
            c = e;
            break;
        case 'b':
            c = '\b';
            break;
        case 'f':
            c = '\f';
            break;
        case 'n':
            c = '\n';
            break;
        case 'r':
            c = '\r';
            break;
        case 't':
            c = '\t';
            break;
        case 'u': {
            unsigned cp, lo;
            if (hex4(j->p, j->end, &cp)) {
                return -1;
            }
            j->p += 4;
            if (cp >= 0xd800 && cp <= 0xdbff) {
                if (j->end - j->p < 6 || j->p[0] != '\\' || j->p[1] != 'u' ||
                    hex4(j->p + 2, j->end, &lo) || lo < 0xdc00 || lo > 0xdfff) {
                    return -1;
                }
                j->p += 6;
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            } else if (cp >= 0xdc00 && cp <= 0xdfff) {
                return -1;
            }
            put_utf8(out, cp);
            continue;
        }
        default:
            return -1;
        }
        codec_buf_add(out, &c, 1);
    }
}

/* Length of the JSON number at j->p (0 if none). */
static size_t json_num(jp *j) {
    const char *p = j->p, *e = j->end;
    if (p < e && *p == '-') {
        p++;
    }
    if (p >= e || *p < '0' || *p > '9') {
        return 0;
    }
    while (p < e && *p >= '0' && *p <= '9') {
        p++;
    }
    if (p < e && *p == '.') {
        p++;
        while (p < e && *p >= '0' && *p <= '9') {
            p++;
        }
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < e && (*p == '+' || *p == '-')) {
            p++;
        }
        while (p < e && *p >= '0' && *p <= '9') {
            p++;
        }
    }
    return (size_t)(p - j->p);
}

/* Any JSON value at j->p as MessagePack appended to out. */
static int json_mp(jp *j, codec_buf *out, int depth) {
    ws(j);
    if (j->p >= j->end || depth > CODEC_MAX_DEPTH - 2) {
        return -1;
    }
    char c = *j->p;
    if (c == '"') {
        codec_buf s;
        codec_buf_init(&s);
        int rc = json_str(j, &s);
        if (rc == 0) {
            mp_put_str(out, s.p ? (const char *)s.p : "", s.len);
        }
        codec_buf_free(&s);
        return rc;
    }
    if (c == '{' || c == '[') {
        /* count first, then write: MessagePack puts the count in front */
        codec_buf body;
        uint32_t n = 0;
        int rc = 0;
        codec_buf_init(&body);
        j->p++;
        ws(j);
        if (j->p < j->end && *j->p == (c == '{' ? '}' : ']')) {
            j->p++;
        } else {
            for (;;) {
                if (c == '{') {
                    ws(j);
                    codec_buf k;
                    codec_buf_init(&k);
                    rc = json_str(j, &k);
                    if (rc == 0) {
                        mp_put_str(&body, k.p ? (const char *)k.p : "", k.len);
                    }
                    codec_buf_free(&k);
                    ws(j);
                    if (rc || j->p >= j->end || *j->p++ != ':') {
                        rc = -1;
                        break;
                    }
                }
                if ((rc = json_mp(j, &body, depth + 1))) {
                    break;
                }
                n++;
                ws(j);
                if (j->p < j->end && *j->p == ',') {
                    j->p++;
                    continue;
                }
                if (j->p < j->end && *j->p == (c == '{' ? '}' : ']')) {
                    j->p++;
                    break;
                }
                rc = -1;
                break;
            }
        }
        if (rc == 0) {
            if (c == '{') {
                mp_put_map(out, n);
            } else {
                mp_put_array(out, n);
            }
            codec_buf_add(out, body.p, body.len);
        }
        codec_buf_free(&body);
        return rc;
    }
    if (eat(&j->p, j->end, "true")) {
        mp_put_bool(out, 1);
    } else if (eat(&j->p, j->end, "false")) {
        mp_put_bool(out, 0);
    } else if (eat(&j->p, j->end, "null")) {
        mp_put_nil(out);
    } else {
        size_t n = json_num(j);
        if (!n || import_put_number(out, j->p, n)) {
            return -1;
        }
        j->p += n;
    }
    return 0;
}

/* One JSON Lines record (one line, s[0..n)). */
static int jsonl_row(imp *im, const char *s, size_t n, long line) {
    jp j = {s, s + n};
    char *cell = (char *)s;
    size_t celln = n;
    im->rows++;
    import_row_reset(im);
    ws(&j);
    if (j.p >= j.end || *j.p != '{') {
        import_problem(im, NULL, NULL, 0,
                       _("a line of a JSON Lines file is one JSON object {...}"));
        goto bad;
    }
    j.p++;
    ws(&j);
    if (j.p < j.end && *j.p == '}') {
        j.p++;
    } else {
        for (;;) {
            char key[300];
            im->tmp.len = 0;
            ws(&j);
            if (json_str(&j, &im->tmp) || im->tmp.oom) {
                import_problem(im, NULL, NULL, 0,
                               _("bad JSON: a member name in double quotes expected"));
                goto bad;
            }
            snprintf(key, sizeof key, "%.*s", (int)im->tmp.len, im->tmp.p ? (char *)im->tmp.p : "");
            ws(&j);
            if (j.p >= j.end || *j.p++ != ':') {
                import_problem(im, NULL, NULL, 0, _("bad JSON: ':' expected after \"%s\""), key);
                goto bad;
            }
            ws(&j);
            /* the field: --map, then the name itself */
            int pos = -2;
            for (int m = 0; m < im->o->nmap; m++) {
                const char *eq = strchr(im->o->map[m], '=');
                if ((size_t)(eq - im->o->map[m]) == strlen(key) &&
                    memcmp(im->o->map[m], key, strlen(key)) == 0) {
                    pos = eq[1] && strcmp(eq + 1, "-") ? store_field_pos(im->c, eq + 1) : -3;
                }
            }
            if (pos == -2) {
                pos = store_field_pos(im->c, key);
                pos = pos >= 0 ? pos : import_field_by_label(im->c, key);
            }
            if (pos == im->c->extra && pos >= 0) {
                pos = -1;
            }
            int kind;
            const char *v;
            size_t vn;
            im->tmp.len = 0;
            if (j.p < j.end && *j.p == '"') {
                if (json_str(&j, &im->tmp)) {
                    import_problem(im, key, NULL, 0, _("bad JSON string"));
                    goto bad;
                }
                kind = V_TEXT;
            } else if (j.p < j.end && (*j.p == '{' || *j.p == '[')) {
                if (json_mp(&j, &im->tmp, 1)) {
                    import_problem(im, key, NULL, 0, _("bad JSON array or object"));
                    goto bad;
                }
                kind = V_RAW;
            } else if (eat(&j.p, j.end, "true") || eat(&j.p, j.end, "false")) {
                int yes = j.p[-2] == 'u';
                codec_buf_add(&im->tmp, yes ? "true" : "false", yes ? 4 : 5);
                kind = V_BOOL;
            } else if (eat(&j.p, j.end, "null")) {
                kind = V_NULL;
            } else if ((vn = json_num(&j)) > 0) {
                codec_buf_add(&im->tmp, j.p, vn);
                j.p += vn;
                kind = V_NUM;
            } else {
                import_problem(im, key, NULL, 0, _("bad JSON value"));
                goto bad;
            }
            if (im->tmp.oom) {
                return GH_ENOMEM;
            }
            codec_buf_add(&im->tmp, "", 1); /* NUL-terminated, for messages */
            im->tmp.len--;
            v = im->tmp.p ? (const char *)im->tmp.p : "";
            vn = im->tmp.len;
            if (pos >= 0) {
                if (im->set[pos]) {
                    import_problem(im, key, NULL, 0, _("given twice"));
                } else {
                    import_row_value(im, pos, key, kind, v, vn);
                }
            } else if (pos == -3) {
                /* skipped with --map KEY=- */
            } else if (im->c->extra >= 0) {
                import_row_extra(im, key, kind, v, vn);
            } else {
                import_problem(im, key, NULL, 0, _("is not a field of collection '%s'"),
                               im->c->name);
            }
            ws(&j);
            if (j.p < j.end && *j.p == ',') {
                j.p++;
                continue;
            }
            if (j.p < j.end && *j.p == '}') {
                j.p++;
                break;
            }
            import_problem(im, NULL, NULL, 0, _("bad JSON: ',' or '}' expected"));
            goto bad;
        }
    }
    ws(&j);
    if (j.p != j.end) {
        import_problem(im, NULL, NULL, 0, _("bad JSON: text after the object"));
        goto bad;
    }
    if (im->nbad == 0 && import_row_assemble(im) == 0 && import_row_store(im) == 0) {
        return 0;
    }
bad:
    if (im->fatal) {
        return im->fatal;
    }
    return import_reject(im, line, 1, &cell, &celln);
}

int import_jsonl_read(imp *im, csv_info *info) {
    int fd = open(im->o->file, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0) {
        return err_set(GH_EIO, _("cannot open %s: %s"), im->o->file, strerror(errno));
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return err_set(GH_EIO, _("%s is not a regular file"), im->o->file);
    }
    size_t size = (size_t)st.st_size;
    const char *map = NULL;
    if (size) {
        void *m = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            int e = errno;
            close(fd);
            return err_set(GH_EIO, _("cannot read %s: %s"), im->o->file, strerror(e));
        }
        map = m;
    }
    close(fd);
    info->encoding = "UTF-8";
    info->size = size;
    const char *p = map, *end = map + size;
    size_t bad;
    int rc = 0;
    if (size >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0) {
        p += 3;
        info->encoding = "UTF-8 with BOM";
    }
    if (!csv_utf8_valid((const unsigned char *)p, (size_t)(end - p), &bad)) {
        long line = 1;
        for (const char *q = p; q < p + bad; q++) {
            line += *q == '\n';
        }
        rc = err_set(GH_ECORRUPT, _("%s: line %ld: bytes that are not valid UTF-8 (JSON is UTF-8)"),
                     im->o->file, line);
    }
    long line = 1;
    while (rc == 0 && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        const char *q = p;
        while (q < e && (*q == ' ' || *q == '\t' || *q == '\r')) {
            q++;
        }
        im->last_line = line;
        if (line <= im->cp.line) {
            /* handled by an earlier chunk */
        } else if (q == e) {
            im->skipped++;
        } else {
            size_t n = (size_t)(e - p);
            if (n && p[n - 1] == '\r') {
                n--;
            }
            rc = jsonl_row(im, p, n, line);
            if (rc == 0 && im->cp.chunk) {
                rc = import_chunk_step(im, line);
            }
            import_progress(im, (uint64_t)(e - map));
        }
        line++;
        p = nl ? nl + 1 : end;
    }
    im->header_done = 1;
    if (map) {
        munmap((void *)map, size);
    }
    return rc;
}

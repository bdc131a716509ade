/*
 * xlsx_in.c — rows of an .xlsx sheet through the `xlsx` plugin (see
 * xlsx_in.h).
 *
 * A C caller of a plugin, as xlsx_out.c is: its own plugin_host (malloc as
 * the allocator), plugin_load, the reader's functions looked up by name and
 * signature and called through plugin_call. Each row comes back as one
 * bytes value (little-endian: u32 row number, u32 cell count, then each
 * cell as a u32 length and its bytes), checked here against its length and
 * unpacked into a csv_row whose cells are NUL-terminated copies. Memory is
 * one row at a time.
 */
#include "xlsx_in.h"

#include "codec.h"
#include "err.h"
#include "plugin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* A call whose failure message (it names the file and part) is the error. */
static int call(plugin_host *h, const plugin_fn *f, const ghffi_value *args, ghffi_value *ret) {
    struct gh_err e;
    if (plugin_call(h, f, args, NULL, &e, ret) != 0) {
        return err_set(GH_EIO, "%s", e.msg);
    }
    return 0;
}

static uint32_t get32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Unpacks one row value into row (cells copied into *buf). 0 or GH_E*. */
static int unpack(const unsigned char *p, size_t n, codec_buf *buf, char ***cells, size_t **lens,
                  int *cap, csv_row *row) {
    if (n < 8) {
        return err_set(GH_ECORRUPT, _("xlsx.read_row: a row of %zu bytes"), n);
    }
    uint32_t num = get32(p), nc = get32(p + 4);
    if (nc > (n - 8) / 4) {
        return err_set(GH_ECORRUPT, _("xlsx.read_row: %u cells in %zu bytes"), (unsigned)nc, n);
    }
    if ((int)nc > *cap) {
        char **c = realloc(*cells, nc * sizeof *c);
        if (c) {
            *cells = c;
        }
        size_t *l = realloc(*lens, nc * sizeof *l);
        if (l) {
            *lens = l;
        }
        if (!c || !l) {
            return GH_ENOMEM;
        }
        *cap = (int)nc;
    }
    buf->len = 0;
    size_t k = 8;
    size_t *offs = *lens; /* offsets first, pointers once buf stops moving */
    for (uint32_t i = 0; i < nc; i++) {
        if (n - k < 4 || get32(p + k) > n - k - 4) {
            return err_set(GH_ECORRUPT, _("xlsx.read_row: cell %u runs past the row"),
                           (unsigned)i + 1);
        }
        uint32_t len = get32(p + k);
        offs[i] = buf->len;
        codec_buf_add(buf, p + k + 4, len);
        codec_buf_add(buf, "", 1);
        k += 4 + (size_t)len;
    }
    if (buf->oom) {
        return GH_ENOMEM;
    }
    for (uint32_t i = 0; i < nc; i++) {
        (*cells)[i] = (char *)buf->p + offs[i];
    }
    for (uint32_t i = 0; i < nc; i++) { /* offs[i] becomes the length of cell i */
        size_t end = i + 1 < nc ? offs[i + 1] : buf->len;
        (*lens)[i] = end - offs[i] - 1;
    }
    row->ncells = (int)nc;
    row->cells = *cells;
    row->lens = *lens;
    row->line = (long)num;
    return 0;
}

int xlsx_in_read(const char *path, const char *sheet, csv_row_fn fn, void *ctx, csv_info *info) {
    static char what[600];
    plugin_host *h = NULL;
    plugin *p;
    const plugin_fn *fopen_, *fsheet, *frow, *fprog, *fclose_;
    ghffi_value a[2], r;
    int64_t handle = 0;
    codec_buf buf;
    char **cells = NULL;
    size_t *lens = NULL;
    int cap = 0, rc;
    uint64_t size = 0, done = 0;
    struct stat st;
    codec_buf_init(&buf);
    if (stat(path, &st) == 0) {
        size = (uint64_t)st.st_size;
    }
    if ((rc = plugin_host_new(NULL, NULL, &h)) != 0) {
        return rc;
    }
    if ((rc = plugin_load(h, "xlsx", &p)) != 0) {
        char msg[600];
        snprintf(msg, sizeof msg, "%s", err_msg(rc));
        rc = err_set(rc,
                     _("%s (.xlsx files are read by the xlsx plugin; build it with "
                       "libminizip-dev and libexpat1-dev installed, or save the sheet as CSV)"),
                     msg);
        goto done;
    }
    fopen_ = plugin_func_named(p, "read_open", "i64(str,str,err)");
    fsheet = plugin_func_named(p, "read_sheet", "str(i64,err)");
    frow = plugin_func_named(p, "read_row", "bytes(i64,err)");
    fprog = plugin_func_named(p, "read_progress", "f64(i64,err)");
    fclose_ = plugin_func_named(p, "read_close", "void(i64,err)");
    if (!fopen_ || !fsheet || !frow || !fprog || !fclose_) {
        rc = err_set(GH_EINVAL, _("plugin 'xlsx' lacks read_open, read_sheet, read_row, "
                                  "read_progress or read_close (an older build?)"));
        goto done;
    }
    a[0].str = path;
    a[1].str = sheet ? sheet : "";
    if ((rc = call(h, fopen_, a, &r)) != 0) {
        goto done;
    }
    handle = r.i64;
    a[0].i64 = handle;
    if ((rc = call(h, fsheet, a, &r)) != 0) {
        goto done;
    }
    snprintf(what, sizeof what, "Excel workbook, sheet '%s'", r.str ? r.str : "");
    plugin_free_result(h, (void *)r.str);
    if (info) {
        info->encoding = what;
        info->guessed = 0;
        info->size = size;
    }
    for (uint64_t nrows = 0;; nrows++) {
        if ((rc = call(h, frow, a, &r)) != 0) {
            break;
        }
        if (!r.bytes.data) {
            break; /* the end of the sheet */
        }
        csv_row row;
        rc = unpack(r.bytes.data, r.bytes.len, &buf, &cells, &lens, &cap, &row);
        plugin_free_result(h, (void *)r.bytes.data);
        if (rc) {
            break;
        }
        if ((nrows & 1023) == 0) { /* progress: how far through the sheet's part */
            ghffi_value pr;
            if (call(h, fprog, a, &pr) == 0) {
                done = (uint64_t)(pr.f64 * (double)size);
            }
        }
        row.done = done;
        if ((rc = fn(ctx, &row)) != 0) {
            break;
        }
    }
done:
    if (handle) {
        ghffi_value cr;
        struct gh_err e;
        a[0].i64 = handle;
        plugin_call(h, fclose_, a, NULL, &e, &cr);
    }
    plugin_host_free(h);
    codec_buf_free(&buf);
    free(cells);
    free(lens);
    return rc;
}

/*
 * xlsx_out.c — .xlsx files through the `xlsx` plugin (see xlsx_out.h).
 *
 * A C caller of a plugin: its own plugin_host (malloc as the allocator),
 * plugin_load from the plugin path, the functions looked up by name and
 * called through plugin_call, as lua_plugin.c does for scripts.
 */
#include "xlsx_out.h"

#include "codec.h"
#include "err.h"
#include "plugin.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct xlsx_out {
    plugin_host *h;
    const plugin_fn *fopen_, *fheader, *frow, *fclose_, *fmoney;
    char money[256]; /* "3,5": the money columns, sent after the header */
    int64_t handle;
    int rows, cells;
    codec_buf line;
};

static int call(xlsx_out *x, const plugin_fn *f, const ghffi_value *args, ghffi_value *ret) {
    struct gh_err e;
    if (plugin_call(x->h, f, args, NULL, &e, ret) != 0) {
        return err_set(GH_EIO, _("xlsx.%s: %s"), f->name, e.msg);
    }
    return 0;
}

int xlsx_out_open(const char *path, xlsx_out **out) {
    xlsx_out *x = calloc(1, sizeof *x);
    plugin *p;
    int rc;
    *out = NULL;
    if (!x) {
        return GH_ENOMEM;
    }
    codec_buf_init(&x->line);
    if ((rc = plugin_host_new(NULL, NULL, &x->h)) != 0) {
        free(x);
        return rc;
    }
    if ((rc = plugin_load(x->h, "xlsx", &p)) != 0) {
        char msg[600];
        snprintf(msg, sizeof msg, "%s", err_msg(rc));
        xlsx_out_close(x, 0);
        return err_set(rc,
                       _("%s (.xlsx files are written by the xlsx plugin; build it with "
                         "libxlsxwriter-dev installed, or write .csv)"),
                       msg);
    }
    x->fopen_ = plugin_func_named(p, "open", "i64(str,err)");
    x->fheader = plugin_func_named(p, "header_cells", "void(i64,bytes,err)");
    x->frow = plugin_func_named(p, "row_cells", "void(i64,bytes,err)");
    x->fclose_ = plugin_func_named(p, "close", "void(i64,err)");
    x->fmoney = plugin_func_named(p, "money", "void(i64,str,err)");
    if (!x->fopen_ || !x->fheader || !x->frow || !x->fclose_) {
        xlsx_out_close(x, 0);
        return err_set(GH_EINVAL, _("plugin 'xlsx' lacks open, header_cells, row_cells or close"));
    }
    ghffi_value a[1], r;
    a[0].str = path;
    if ((rc = call(x, x->fopen_, a, &r)) != 0) {
        xlsx_out_close(x, 0);
        return rc;
    }
    x->handle = r.i64;
    *out = x;
    return 0;
}

static void put32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

int xlsx_out_cell(xlsx_out *x, const char *s, size_t n) {
    unsigned char len[4];
    if (x->line.len == 0) {
        codec_buf_add(&x->line, "\0\0\0\0\0\0\0\0", 8); /* row (unused), count */
    }
    if (n > UINT32_MAX) {
        return err_set(GH_ETOOBIG, _("a cell of %zu bytes is too large for a workbook"), n);
    }
    put32(len, (uint32_t)n);
    codec_buf_add(&x->line, len, 4);
    for (size_t i = 0; i < n; i++) { /* a NUL would end the cell: a space instead */
        char c = s[i] == 0 ? ' ' : s[i];
        codec_buf_add(&x->line, &c, 1);
    }
    x->cells++;
    return x->line.oom ? GH_ENOMEM : 0;
}

int xlsx_out_row(xlsx_out *x) {
    ghffi_value a[2], r;
    if (x->line.len == 0) {
        codec_buf_add(&x->line, "\0\0\0\0\0\0\0\0", 8); /* a row of no cells */
    }
    if (x->line.oom) {
        return GH_ENOMEM;
    }
    put32(x->line.p + 4, (uint32_t)x->cells);
    a[0].i64 = x->handle;
    a[1].bytes.data = x->line.p;
    a[1].bytes.len = x->line.len;
    int rc = call(x, x->rows++ ? x->frow : x->fheader, a, &r);
    x->line.len = 0;
    x->cells = 0;
    if (rc == 0 && x->rows == 1 && x->money[0]) {
        if (!x->fmoney) {
            return err_set(GH_EINVAL, _("plugin 'xlsx' lacks money (an older build): rebuild it"));
        }
        a[1].str = x->money;
        rc = call(x, x->fmoney, a, &r);
    }
    return rc;
}

int xlsx_out_money(xlsx_out *x, int col) {
    size_t k = strlen(x->money);
    int n = snprintf(x->money + k, sizeof x->money - k, "%s%d", k ? "," : "", col + 1);
    if (n < 0 || (size_t)n >= sizeof x->money - k) {
        x->money[k] = 0;
        return err_set(GH_ETOOBIG, _("too many money columns for a workbook"));
    }
    return 0;
}

int xlsx_out_close(xlsx_out *x, int commit) {
    int rc = 0;
    if (!x) {
        return 0;
    }
    if (commit && x->handle) {
        ghffi_value a[1], r;
        a[0].i64 = x->handle;
        rc = call(x, x->fclose_, a, &r);
    }
    plugin_host_free(x->h); /* an unclosed workbook is dropped by the plugin */
    codec_buf_free(&x->line);
    free(x);
    return rc;
}

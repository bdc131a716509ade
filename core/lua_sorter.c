/*
 * lua_sorter.c — `require 'sorter'`: records of a few integers sorted in a
 * bounded amount of memory, for counts that must see equal keys together
 * (the year report's distinct members and households, scripts/lib/
 * year_report.lua) without a table entry per key.
 *
 *   local sorter = require 'sorter'
 *   local s = sorter.new(3 [, budget_bytes])  -- records of 3 integers
 *   s:add(a, b, c)                            -- any number of times
 *   for a, b, c in s:sorted() do ... end      -- ascending, by a, then b, then c
 *   s:count()                                 -- records added
 *   s:close()                                 -- (also when collected)
 *
 * Records are held in memory up to the budget (default 32 MiB); then they
 * are sorted and written as a run to an unnamed temporary file (O_TMPFILE in
 * $TMPDIR or /tmp), and sorted() merges the runs, each read a block at a
 * time, the blocks sharing the budget. So memory is the budget, whatever
 * the number of records; the file is 8 bytes an integer.
 */
#include "lua_sorter.h"

#include "i18n.h"
#include "scratch.h"

#include <errno.h>
#include <fcntl.h>
#include <lauxlib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SORTER_MT "gonghui.sorter"
#define SORTER_MAXW 8
#define SORTER_BUDGET (32u << 20)

typedef struct {
    uint64_t at;  /* where the run's next unread record is in the file */
    size_t left;  /* records of the run not read yet */
    int64_t *blk; /* a block of the run read */
    size_t have;  /* records in blk */
    size_t pos;   /* the current record in blk */
} srun;

typedef struct {
    int w;          /* integers a record */
    size_t cap;     /* records held in memory before a run is written */
    int64_t *buf;   /* the records held */
    size_t n;       /* records in buf */
    uint64_t total; /* records added */
    int fd;         /* the temporary file, or -1 */
    uint64_t fend;
    srun *runs;
    int nruns, rcap;
    int state;   /* 0 adding, 1 sorted() in memory, 2 merging, 3 done */
    size_t pos;  /* 1: the next record of buf */
    size_t blkn; /* 2: records a block */
    int *heap;   /* 2: the runs by their current record */
    int nheap;
} sorter;

static int cmp_w; /* qsort has no context argument: the width of the records being sorted */

static inline int rec_cmp(const int64_t *x, const int64_t *y, int w) {
    for (int i = 0; i < w; i++) {
        if (x[i] != y[i]) {
            return x[i] < y[i] ? -1 : 1;
        }
    }
    return 0;
}

static int qcmp(const void *a, const void *b) {
    return rec_cmp(a, b, cmp_w);
}

static sorter *check(lua_State *L) {
    return luaL_checkudata(L, 1, SORTER_MT);
}

static void release(sorter *s) {
    free(s->buf);
    s->buf = NULL;
    if (s->runs) {
        for (int i = 0; i < s->nruns; i++) {
            free(s->runs[i].blk);
        }
        free(s->runs);
        s->runs = NULL;
    }
    free(s->heap);
    s->heap = NULL;
    if (s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
    }
    s->n = 0;
    s->nruns = 0;
    s->state = 3;
}

static int io_fail(lua_State *L, sorter *s, const char *fmt, int e) {
    release(s);
    return luaL_error(L, fmt, strerror(e));
}

static int open_tmp(lua_State *L, sorter *s) {
    int fd = scratch_file(scratch_tmpdir(), "sort");
    if (fd < 0) {
        return io_fail(L, s,
                       _("sorting: cannot make a temporary file in TMPDIR or /tmp: %s (set TMPDIR "
                         "to a folder that "
                         "may be written, with room)"),
                       errno);
    }
    s->fd = fd;
    s->fend = 0;
    return 0;
}

static void sort_held(sorter *s) {
    if (s->n == 0) {
        return; /* (buf is not allocated before the first record) */
    }
    cmp_w = s->w;
    qsort(s->buf, s->n, (size_t)s->w * sizeof(int64_t), qcmp);
}

/* The held records, sorted, become a run in the file. */
static void spill(lua_State *L, sorter *s) {
    if (s->fd < 0) {
        open_tmp(L, s);
    }
    if (s->nruns == s->rcap) {
        int cap = s->rcap ? s->rcap * 2 : 16;
        srun *r = realloc(s->runs, (size_t)cap * sizeof *r);
        if (!r) {
            release(s);
            luaL_error(L, _("sorting: out of memory"));
        }
        s->runs = r;
        s->rcap = cap;
    }
    sort_held(s);
    size_t bytes = s->n * (size_t)s->w * sizeof(int64_t);
    int e = scratch_pwrite(s->fd, s->buf, bytes, s->fend);
    if (e) {
        io_fail(L, s,
                _("sorting: cannot write the temporary file in TMPDIR or /tmp: %s (free some disk, "
                  "or set TMPDIR "
                  "to a folder with room)"),
                e);
    }
    s->runs[s->nruns++] = (srun){.at = s->fend, .left = s->n};
    s->fend += bytes;
    s->n = 0;
}

/* sorter.new(width [, budget_bytes]) */
static int l_new(lua_State *L) {
    lua_Integer w = luaL_checkinteger(L, 1);
    lua_Integer budget = luaL_optinteger(L, 2, SORTER_BUDGET);
    luaL_argcheck(L, w >= 1 && w <= SORTER_MAXW, 1, _("a record is 1 to 8 integers"));
    luaL_argcheck(L, budget >= 0, 2, _("the budget is a number of bytes, 0 or more"));
    size_t rb = (size_t)w * sizeof(int64_t);
    size_t cap = (size_t)budget / rb;
    if (cap < 64) {
        cap = 64; /* (a tiny budget, as the tests give, still sorts) */
    }
    sorter *s = lua_newuserdatauv(L, sizeof *s, 0);
    memset(s, 0, sizeof *s);
    s->fd = -1;
    s->w = (int)w;
    s->cap = cap;
    luaL_setmetatable(L, SORTER_MT);
    return 1;
}

static int l_add(lua_State *L) {
    sorter *s = check(L);
    luaL_argcheck(L, s->state == 0, 1, _("records are added before sorted() is called"));
    if (!s->buf) {
        s->buf = malloc(s->cap * (size_t)s->w * sizeof(int64_t));
        if (!s->buf) {
            return luaL_error(L, _("sorting: out of memory"));
        }
    }
    if (s->n == s->cap) {
        spill(L, s);
    }
    int64_t *r = s->buf + s->n * (size_t)s->w;
    for (int i = 0; i < s->w; i++) {
        r[i] = (int64_t)luaL_checkinteger(L, i + 2);
    }
    s->n++;
    s->total++;
    return 0;
}

static int l_count(lua_State *L) {
    lua_pushinteger(L, (lua_Integer)check(L)->total);
    return 1;
}

static int l_close(lua_State *L) {
    release(check(L));
    return 0;
}

static const int64_t *run_cur(const sorter *s, int i) {
    const srun *r = &s->runs[i];
    return r->blk + r->pos * (size_t)s->w;
}

/* Reads the run's next block; 0 when the run is done. */
static int run_fill(lua_State *L, sorter *s, int i) {
    srun *r = &s->runs[i];
    size_t k = r->left < s->blkn ? r->left : s->blkn;
    if (k == 0) {
        return 0;
    }
    size_t bytes = k * (size_t)s->w * sizeof(int64_t);
    int e = scratch_pread(s->fd, r->blk, bytes, r->at);
    if (e) {
        io_fail(L, s, _("sorting: cannot read the temporary file in TMPDIR or /tmp back: %s"), e);
    }
    r->at += bytes;
    r->left -= k;
    r->have = k;
    r->pos = 0;
    return 1;
}

static void sift_down(sorter *s, int at) {
    int n = s->nheap;
    int *h = s->heap;
    for (;;) {
        int l = 2 * at + 1, m = at;
        if (l < n && rec_cmp(run_cur(s, h[l]), run_cur(s, h[m]), s->w) < 0) {
            m = l;
        }
        if (l + 1 < n && rec_cmp(run_cur(s, h[l + 1]), run_cur(s, h[m]), s->w) < 0) {
            m = l + 1;
        }
        if (m == at) {
            return;
        }
        int t = h[at];
        h[at] = h[m];
        h[m] = t;
        at = m;
    }
}

static int push_rec(lua_State *L, const sorter *s, const int64_t *r) {
    for (int i = 0; i < s->w; i++) {
        lua_pushinteger(L, (lua_Integer)r[i]);
    }
    return s->w;
}

static int l_next(lua_State *L) {
    sorter *s = check(L);
    if (s->state == 1) {
        if (s->pos < s->n) {
            return push_rec(L, s, s->buf + s->pos++ * (size_t)s->w);
        }
        release(s);
    } else if (s->state == 2 && s->nheap > 0) {
        int i = s->heap[0];
        int got = push_rec(L, s, run_cur(s, i));
        srun *r = &s->runs[i];
        if (++r->pos == r->have && !run_fill(L, s, i)) {
            s->heap[0] = s->heap[--s->nheap];
        }
        sift_down(s, 0);
        return got;
    }
    if (s->state != 3) {
        release(s);
    }
    lua_pushnil(L);
    return 1;
}

/* s:sorted() -> an iterator over the records in order (once). */
static int l_sorted(lua_State *L) {
    sorter *s = check(L);
    luaL_argcheck(L, s->state == 0, 1, _("sorted() gives the records once"));
    if (s->nruns == 0) {
        sort_held(s);
        s->state = 1;
        s->pos = 0;
    } else {
        if (s->n > 0) {
            spill(L, s);
        }
        free(s->buf);
        s->buf = NULL;
        /* the blocks share the budget */
        s->blkn = s->cap / (size_t)s->nruns;
        if (s->blkn < 64) {
            s->blkn = 64;
        }
        s->heap = malloc((size_t)s->nruns * sizeof *s->heap);
        if (!s->heap) {
            release(s);
            return luaL_error(L, _("sorting: out of memory"));
        }
        s->nheap = 0;
        for (int i = 0; i < s->nruns; i++) {
            s->runs[i].blk = malloc(s->blkn * (size_t)s->w * sizeof(int64_t));
            if (!s->runs[i].blk) {
                release(s);
                return luaL_error(L, _("sorting: out of memory"));
            }
        }
        for (int i = 0; i < s->nruns; i++) {
            if (run_fill(L, s, i)) {
                s->heap[s->nheap++] = i;
            }
        }
        for (int i = s->nheap / 2 - 1; i >= 0; i--) {
            sift_down(s, i);
        }
        s->state = 2;
    }
    lua_pushcfunction(L, l_next);
    lua_pushvalue(L, 1);
    return 2;
}

void lsorter_push(lua_State *L) {
    if (luaL_newmetatable(L, SORTER_MT)) {
        static const luaL_Reg methods[] = {{"add", l_add},
                                           {"count", l_count},
                                           {"sorted", l_sorted},
                                           {"close", l_close},
                                           {NULL, NULL}};
        luaL_newlib(L, methods);
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, l_close);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, l_close);
        lua_setfield(L, -2, "__close");
    }
    lua_pop(L, 1);
    static const luaL_Reg lib[] = {{"new", l_new}, {NULL, NULL}};
    luaL_newlib(L, lib);
}

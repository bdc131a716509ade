/*
 * lua_lines.c — io.lines(name) for a script: the file's lines read in large
 * blocks and cut with memchr.
 *
 * Lua's own io.lines reads a character at a time through getc and a
 * luaL_Buffer (about 1,200 instructions for an 18-byte line, as much as
 * an index lookup in LMDB: W3 of issue 18). This iterator keeps the same
 * face: lines without their "\n" (a "\r" before it is kept, as Lua keeps
 * it), the last line without a newline too, the file closed at its end or
 * by the generic for's to-be-closed value (so `break` closes it), and an
 * error naming the file when reading fails. Formats (io.lines(name, "n"))
 * and standard input stay with Lua's io.lines (sandbox.c).
 *
 * The buffer comes from the Lua allocator, so the sandbox's memory cap
 * counts a very long line.
 */
#include "lua_lines.h"

#include "i18n.h"

#include <errno.h>
#include <fcntl.h>
#include <lauxlib.h>
#include <string.h>
#include <unistd.h>

#define LINES_MT "gonghui.lines"
#define LINES_BLOCK 65536

typedef struct llines {
    int fd;    /* -1 once closed */
    int eof;   /* read(2) returned 0 */
    char *buf; /* [beg, end) not yet returned */
    size_t beg, end, cap;
    const char *name; /* for messages: the path, kept alive by the closure */
} llines;

static void lines_close(lua_State *L, llines *r) {
    if (r->fd >= 0) {
        close(r->fd);
        r->fd = -1;
    }
    if (r->buf) {
        void *ud;
        lua_Alloc f = lua_getallocf(L, &ud);
        f(ud, r->buf, r->cap, 0);
        r->buf = NULL;
        r->cap = r->beg = r->end = 0;
    }
}

static int l_lines_gc(lua_State *L) {
    lines_close(L, luaL_checkudata(L, 1, LINES_MT));
    return 0;
}

/* Reads more into r's buffer: moves what is left to the front and grows the
 * buffer when it is full (a line longer than a block). 0, or an errno. */
static int lines_fill(lua_State *L, llines *r) {
    if (r->beg > 0) {
        memmove(r->buf, r->buf + r->beg, r->end - r->beg);
        r->end -= r->beg;
        r->beg = 0;
    }
    if (r->end == r->cap) {
        void *ud;
        lua_Alloc f = lua_getallocf(L, &ud);
        size_t ncap = r->cap ? r->cap * 2 : LINES_BLOCK;
        char *nb = f(ud, r->buf, r->cap, ncap);
        if (!nb) {
            return ENOMEM;
        }
        r->buf = nb;
        r->cap = ncap;
    }
    for (;;) {
        ssize_t got = read(r->fd, r->buf + r->end, r->cap - r->end);
        if (got > 0) {
            r->end += (size_t)got;
            return 0;
        }
        if (got == 0) {
            r->eof = 1;
            return 0;
        }
        if (errno != EINTR) {
            return errno;
        }
    }
}

/* The iterator: upvalue 1 the reader, 2 the file's name. */
static int l_lines_next(lua_State *L) {
    llines *r = lua_touserdata(L, lua_upvalueindex(1));
    if (r->fd < 0) {
        lua_pushnil(L);
        return 1;
    }
    for (;;) {
        char *p = r->buf + r->beg;
        char *nl = r->end > r->beg ? memchr(p, '\n', r->end - r->beg) : NULL;
        if (nl) {
            lua_pushlstring(L, p, (size_t)(nl - p));
            r->beg = (size_t)(nl - r->buf) + 1;
            return 1;
        }
        if (r->eof) {
            if (r->end > r->beg) { /* the last line, without a newline */
                lua_pushlstring(L, p, r->end - r->beg);
                r->beg = r->end;
                return 1;
            }
            lines_close(L, r);
            lua_pushnil(L);
            return 1;
        }
        int e = lines_fill(L, r);
        if (e) {
            lines_close(L, r);
            return luaL_error(L, _("io.lines: reading %s: %s"),
                              lua_tostring(L, lua_upvalueindex(2)), strerror(e));
        }
    }
}

int llines_open(lua_State *L, const char *path) {
    llines *r = lua_newuserdatauv(L, sizeof *r, 0);
    memset(r, 0, sizeof *r);
    r->fd = -1;
    if (luaL_newmetatable(L, LINES_MT)) {
        lua_pushcfunction(L, l_lines_gc);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, l_lines_gc);
        lua_setfield(L, -2, "__close");
        lua_pushboolean(L, 0);
        lua_setfield(L, -2, "__metatable");
    }
    lua_setmetatable(L, -2);
    int ud = lua_gettop(L);
    r->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0) {
        int e = errno;
        return luaL_error(L, _("io.lines: %s: %s"), path, strerror(e));
    }
    lua_pushvalue(L, ud);
    lua_pushstring(L, path);
    lua_pushcclosure(L, l_lines_next, 2);
    lua_pushnil(L);
    lua_pushnil(L);
    lua_pushvalue(L, ud);
    return 4;
}

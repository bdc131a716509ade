/*
 * lua_loopvar.c — does a generic for keep its loop variable? Read from the
 * function's bytecode, so that a scan can hand the same row to every step
 * of a loop that only reads fields of it (lua_scan.c).
 *
 * A row reused for the next record must not be reachable from anywhere but
 * the loop's own variable: a row kept in a table, passed to a function,
 * returned, captured by a closure or copied to another local would change
 * under whoever kept it. Lua counts no references, but its compiler puts a
 * loop variable in a register of its own, and every use of it is an
 * instruction naming that register. So the loop's body is read (the
 * function's lua_dump, Lua 5.4's format) and the variable counts as kept
 * unless every instruction naming its register is a field read (`m.town`,
 * `m[k]`, `m[1]`) or a truth test (`if m`). Anything else, anything this
 * reader does not know, and a line holding other calls in the loop's body
 * (the call to the iterator cannot be told from theirs) count as kept: a
 * row is reused only when that is provable.
 *
 * The answer is cached per function and line (a weak table in the
 * registry); the opcode numbers are checked once against a known loop,
 * and if Lua's numbering is not the one expected, everything counts as
 * kept.
 */
#include "lua_loopvar.h"

#include <lauxlib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Lua 5.4's opcodes (lopcodes.h) that matter here; checked by calibrate(). */
enum {
    OP_MOVE = 0,
    OP_LOADNIL = 8,
    OP_LOADI = 1,
    OP_LOADF = 2,
    OP_LOADK = 3,
    OP_LOADKX = 4,
    OP_LOADFALSE = 5,
    OP_LFALSESKIP = 6,
    OP_LOADTRUE = 7,
    OP_GETUPVAL = 9,
    OP_SETUPVAL = 10,
    OP_GETTABUP = 11,
    OP_GETTABLE = 12,
    OP_GETI = 13,
    OP_GETFIELD = 14,
    OP_SETTABUP = 15,
    OP_SETI = 17,
    OP_SETFIELD = 18,
    OP_NEWTABLE = 19,
    OP_ADDI = 21,
    OP_SHLI = 33,
    OP_MMBIN = 46,
    OP_MMBINI = 47,
    OP_MMBINK = 48,
    OP_CONCAT = 53,
    OP_CLOSE = 54,
    OP_TBC = 55,
    OP_JMP = 56,
    OP_EQK = 60,
    OP_EQI = 61,
    OP_LTI = 62,
    OP_LEI = 63,
    OP_GTI = 64,
    OP_GEI = 65,
    OP_TEST = 66,
    OP_CALL = 68,
    OP_TAILCALL = 69,
    OP_RETURN = 70,
    OP_RETURN0 = 71,
    OP_RETURN1 = 72,
    OP_FORLOOP = 73,
    OP_FORPREP = 74,
    OP_TFORPREP = 75,
    OP_TFORCALL = 76,
    OP_TFORLOOP = 77,
    OP_SETLIST = 78,
    OP_CLOSURE = 79,
    OP_VARARG = 80,
    OP_VARARGPREP = 81,
    OP_EXTRAARG = 82,
    NUM_OPCODES = 83
};

#define OPC(i) ((int)((i)&0x7f))
#define ARG_A(i) ((int)(((i) >> 7) & 0xff))
#define ARG_B(i) ((int)(((i) >> 16) & 0xff))
#define ARG_C(i) ((int)(((i) >> 24) & 0xff))
#define ARG_BX(i) ((int)((i) >> 15))

/* ---- reading a dump ---------------------------------------------------------------- */

typedef struct reader {
    const unsigned char *p, *end;
    int bad;
} reader;

typedef struct proto {
    const unsigned char *code; /* ncode instructions, 4 bytes each, unaligned */
    int ncode;
    int linedefined;
    const signed char *lineinfo; /* nline deltas */
    int nline;
    const unsigned char *abs, *abs_end; /* nabs (pc, line) pairs, still encoded */
    int nabs;
    const unsigned char *upv; /* nupv (instack, idx, kind) triples */
    int nupv;
    struct proto *kids; /* nkids nested functions (their upvalues only are used) */
    int nkids;
    /* the constants: a string's bytes (into the dump) and length; other
     * constants NULL */
    const unsigned char **kstr;
    size_t *klen;
    int nk;
} proto;

static int rd_byte(reader *r) {
    if (r->p >= r->end) {
        r->bad = 1;
        return 0;
    }
    return *r->p++;
}

/* lundump.c's loadUnsigned: 7 bits a byte, the last byte with 0x80 set. */
static size_t rd_size(reader *r) {
    size_t x = 0;
    for (int i = 0; i < 10; i++) {
        int b = rd_byte(r);
        x = (x << 7) | (size_t)(b & 0x7f);
        if (b & 0x80) {
            return x;
        }
    }
    r->bad = 1;
    return 0;
}

static int rd_int(reader *r) {
    size_t x = rd_size(r);
    if (x > INT32_MAX) {
        r->bad = 1;
    }
    return (int)x;
}

static void rd_skip(reader *r, size_t n) {
    if ((size_t)(r->end - r->p) < n) {
        r->bad = 1;
        r->p = r->end;
        return;
    }
    r->p += n;
}

/* Skips a string; its bytes into *p and length into *len when p is given
 * (*p NULL: a NULL string). */
static void rd_string_at(reader *r, const unsigned char **p, size_t *len) {
    size_t n = rd_size(r);
    if (p) {
        *p = n > 0 && !r->bad ? r->p : NULL;
        *len = n > 0 ? n - 1 : 0;
    }
    if (n > 0) {
        rd_skip(r, n - 1);
    }
}

static void rd_string(reader *r) {
    rd_string_at(r, NULL, NULL);
}

static void proto_free(proto *f) {
    for (int i = 0; i < f->nkids; i++) {
        proto_free(&f->kids[i]);
    }
    free(f->kids);
    free(f->kstr);
    free(f->klen);
}

/* lundump.c's loadFunction. 0, or -1 on a dump it cannot read. */
static int rd_function(reader *r, proto *f, int depth) {
    memset(f, 0, sizeof *f);
    if (depth > 200) {
        return -1;
    }
    rd_string(r); /* source */
    f->linedefined = rd_int(r);
    rd_int(r);     /* lastlinedefined */
    rd_skip(r, 3); /* numparams, is_vararg, maxstacksize */
    f->ncode = rd_int(r);
    f->code = r->p;
    rd_skip(r, (size_t)f->ncode * 4);
    int nk = rd_int(r);
    if (nk > 0 && !r->bad) {
        if ((size_t)nk > (size_t)(r->end - r->p)) {
            return -1; /* a constant takes a byte at least */
        }
        f->kstr = calloc((size_t)nk, sizeof *f->kstr);
        f->klen = calloc((size_t)nk, sizeof *f->klen);
        if (!f->kstr || !f->klen) {
            return -1;
        }
        f->nk = nk;
    }
    for (int i = 0; i < nk && !r->bad; i++) {
        int t = rd_byte(r);
        if (t == 3 || t == 19) { /* integer, float */
            rd_skip(r, 8);
        } else if (t == 4 || t == 20) { /* short, long string */
            rd_string_at(r, &f->kstr[i], &f->klen[i]);
        } else if (t != 0 && t != 1 && t != 17) { /* nil, false, true */
            r->bad = 1;
        }
    }
    f->nupv = rd_int(r);
    f->upv = r->p;
    rd_skip(r, (size_t)f->nupv * 3);
    int nkids = r->bad ? 0 : rd_int(r);
    if (nkids > 0 && !r->bad) {
        f->kids = calloc((size_t)nkids, sizeof *f->kids);
        if (!f->kids) {
            return -1;
        }
        for (int i = 0; i < nkids && !r->bad; i++) {
            f->nkids = i + 1;
            if (rd_function(r, &f->kids[i], depth + 1) != 0) {
                return -1;
            }
        }
    }
    f->nline = rd_int(r);
    f->lineinfo = (const signed char *)r->p;
    rd_skip(r, (size_t)f->nline);
    f->nabs = rd_int(r);
    f->abs = r->p;
    for (int i = 0; i < f->nabs && !r->bad; i++) {
        rd_int(r);
        rd_int(r);
    }
    f->abs_end = r->p;
    int nloc = rd_int(r);
    for (int i = 0; i < nloc && !r->bad; i++) {
        rd_string(r);
        rd_int(r);
        rd_int(r);
    }
    int nup = rd_int(r);
    for (int i = 0; i < nup && !r->bad; i++) {
        rd_string(r);
    }
    return r->bad ? -1 : 0;
}

static uint32_t code_at(const proto *f, int pc) {
    uint32_t i;
    memcpy(&i, f->code + (size_t)pc * 4, 4); /* the dump is in the machine's order */
    return i;
}

/* The line of every instruction of f into lines[0 .. ncode) (ldebug.c's
 * luaG_getfuncline, done for all at once). 0, or -1 without line info. */
static int lines_of(const proto *f, int *lines) {
    if (f->nline != f->ncode) {
        return -1;
    }
    reader ab = {f->abs, f->abs_end, 0};
    int abs_left = f->nabs, abs_pc = -1, abs_line = 0;
    if (abs_left > 0) {
        abs_pc = rd_int(&ab);
        abs_line = rd_int(&ab);
    }
    int line = f->linedefined;
    for (int pc = 0; pc < f->ncode; pc++) {
        if (f->lineinfo[pc] == -0x80) { /* ABSLINEINFO: the absolute line is listed */
            if (abs_left <= 0 || abs_pc != pc) {
                return -1;
            }
            line = abs_line;
            if (--abs_left > 0) {
                abs_pc = rd_int(&ab);
                abs_line = rd_int(&ab);
            }
        } else {
            line += f->lineinfo[pc];
        }
        lines[pc] = line;
    }
    return 0;
}

/* ---- the analysis ---------------------------------------------------------------- */

/* Is register m in [lo, hi] (hi < 0: to the top of the stack)? */
static int in_range(int m, int lo, int hi) {
    return m >= lo && (hi < 0 || m <= hi);
}

/* Does instruction i (of f) use register m in any way but reading a field
 * of it or testing it? Conservative: a field that is a constant's index or
 * an immediate and happens to equal m counts as a use. */
static int uses_reg(const proto *f, uint32_t i, int m) {
    int op = OPC(i), a = ARG_A(i), b = ARG_B(i), c = ARG_C(i);
    switch (op) {
    case OP_GETFIELD: /* R[A] := R[B][K[C]] */
    case OP_GETI:     /* R[A] := R[B][C] */
        return a == m;
    case OP_GETTABLE: /* R[A] := R[B][R[C]]: m as a key could reach a metamethod */
        return a == m || c == m;
    case OP_TEST: /* if (not R[A] == k) then pc++ */
        return 0;
    case OP_CALL:     /* R[A], ... := R[A](R[A+1], ..., R[A+B-1]) */
    case OP_TAILCALL: /* B == 0: up to the top */
        return in_range(m, a, b ? a + b - 1 : -1) || (op == OP_CALL && c != 1 && m >= a);
    case OP_RETURN: /* return R[A], ..., R[A+B-2] */
        return in_range(m, a, b ? a + b - 2 : -1);
    case OP_CONCAT: /* R[A] := R[A].. ... ..R[A+B-1] */
        return in_range(m, a, a + b - 1);
    case OP_SETLIST: /* R[A][C+i] := R[A+i], 1 <= i <= B (B == 0: to the top) */
        return in_range(m, a, b ? a + b : -1);
    case OP_LOADNIL: /* R[A], ..., R[A+B] := nil */
        return in_range(m, a, a + b);
    case OP_VARARG: /* R[A], ..., R[A+C-2] = vararg */
        return in_range(m, a, c ? a + c - 2 : -1);
    case OP_FORLOOP:
    case OP_FORPREP:
    case OP_TFORPREP:
        return in_range(m, a, a + 3);
    case OP_TFORCALL: /* R[A+4], ... ,R[A+3+C] := R[A](R[A+1], R[A+2]) */
        return in_range(m, a, a + 3 + c);
    case OP_TFORLOOP:
        return in_range(m, a, a + 4);
    case OP_CLOSURE: { /* R[A] := closure(KPROTO[Bx]): captures registers */
        int k = ARG_BX(i);
        if (a == m || k >= f->nkids) {
            return 1;
        }
        const proto *kid = &f->kids[k];
        for (int u = 0; u < kid->nupv; u++) {
            if (kid->upv[3 * u] && kid->upv[3 * u + 1] == m) { /* instack, idx */
                return 1;
            }
        }
        return 0;
    }
    case OP_EXTRAARG:
    case OP_JMP:
    case OP_RETURN0:
    case OP_VARARGPREP:
        return 0;
    case OP_LOADI: /* A and a constant or an immediate */
    case OP_LOADF:
    case OP_LOADK:
    case OP_LOADKX:
    case OP_LOADFALSE:
    case OP_LFALSESKIP:
    case OP_LOADTRUE:
    case OP_GETUPVAL:
    case OP_SETUPVAL: /* UpValue[B] := R[A] */
    case OP_GETTABUP:
    case OP_NEWTABLE:
    case OP_MMBINI:
    case OP_MMBINK:
    case OP_EQK:
    case OP_EQI:
    case OP_LTI:
    case OP_LEI:
    case OP_GTI:
    case OP_GEI:
    case OP_RETURN1:
    case OP_CLOSE:
    case OP_TBC:
        return a == m;
    case OP_MMBIN: /* R[A] op R[B], C the event (the metamethod's number, not a register) */
        return a == m || b == m;
    case OP_SETTABUP: /* UpValue[A][K[B]] := RK(C) */
        return c == m;
    case OP_SETI:     /* R[A][B] := RK(C) */
    case OP_SETFIELD: /* R[A][K[B]] := RK(C) */
        return a == m || c == m;
    default:
        if (op >= OP_ADDI && op <= OP_SHLI) { /* R[A] := R[B] op a constant or immediate */
            return a == m || b == m;
        }
        return a == m || b == m || c == m; /* any field that could name a register */
    }
}

/* For the generic for whose TFORCALL is the only one at `line` of f: 0 if
 * its first variable is only read from (fields, tests) in its body and no
 * other call of the body is on that line; 1 otherwise. When 0, the indexes
 * of the constants naming the fields it reads by name (`m.town`) are in
 * kread[0 .. *nread), each once (at most LLOOPVAR_NAMES: more are left out). */
static int loop_keeps(const proto *f, const int *lines, int line, int *kread, int *nread) {
    int t = -1;
    *nread = 0;
    for (int pc = 0; pc < f->ncode; pc++) {
        if (lines[pc] == line && OPC(code_at(f, pc)) == OP_TFORCALL) {
            if (t >= 0) {
                return 1; /* two loops on one line: which one calls cannot be told */
            }
            t = pc;
        }
    }
    if (t < 0) {
        return 1; /* not called by a generic for */
    }
    int base = ARG_A(code_at(f, t)), prep = -1;
    for (int pc = 0; pc < t; pc++) {
        uint32_t i = code_at(f, pc);
        if (OPC(i) == OP_TFORPREP && ARG_A(i) == base && pc + 1 + ARG_BX(i) == t) {
            prep = pc;
        }
    }
    if (prep < 0) {
        return 1;
    }
    int m = base + 4;
    for (int pc = prep + 1; pc < t; pc++) {
        uint32_t i = code_at(f, pc);
        int op = OPC(i);
        if (op >= NUM_OPCODES || uses_reg(f, i, m)) {
            return 1;
        }
        if (lines[pc] == line && (op == OP_CALL || op == OP_TAILCALL)) {
            return 1; /* a call on the loop's line: it could be the one calling */
        }
        if (op == OP_GETFIELD && ARG_B(i) == m && ARG_C(i) < f->nk && f->kstr[ARG_C(i)]) {
            int k = ARG_C(i), seen = 0;
            for (int j = 0; j < *nread && !seen; j++) {
                seen = kread[j] == k;
            }
            if (!seen && *nread < LLOOPVAR_NAMES) {
                kread[(*nread)++] = k;
            }
        }
    }
    return 0;
}

typedef struct dumpbuf {
    unsigned char *p;
    size_t len, cap;
} dumpbuf;

static int dump_writer(lua_State *L, const void *p, size_t n, void *ud) {
    (void)L;
    dumpbuf *b = ud;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n) {
            cap *= 2;
        }
        unsigned char *q = realloc(b->p, cap);
        if (!q) {
            return 1;
        }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
    return 0;
}

/* The answer for the function at the top of the stack (popped) and line:
 * 0 the loop there provably keeps nothing, with an array of the names of
 * the fields it reads by name pushed; 1 otherwise, nothing pushed. */
static int analyse(lua_State *L, int line) {
    dumpbuf b = {NULL, 0, 0};
    int fn = lua_gettop(L), nread = 0, nnames = 0;
    char names[LLOOPVAR_NAMES][41]; /* Lua's short strings: field names are */
    int failed = lua_dump(L, dump_writer, &b, 0);
    const unsigned char *d = b.p;
    size_t n = b.len;
    int keeps = 1;
    /* header (lundump.c checkHeader): signature, version 0x54, format 0,
     * LUAC_DATA, the sizes of Instruction, lua_Integer and lua_Number, a
     * test integer and float, then the main function's upvalue count */
    static const unsigned char head[] = "\x1bLua\x54\x00\x19\x93\r\n\x1a\n\x04\x08\x08";
    if (!failed && n > 15 + 8 + 8 + 1 && memcmp(d, head, 15) == 0) {
        reader r = {d + 15 + 8 + 8 + 1, d + n, 0};
        proto f;
        if (rd_function(&r, &f, 0) == 0) {
            int *lines = malloc(((size_t)f.ncode + 1) * sizeof *lines);
            int kread[LLOOPVAR_NAMES];
            if (lines && lines_of(&f, lines) == 0) {
                keeps = loop_keeps(&f, lines, line, kread, &nread);
            }
            /* copied out: the Lua strings are made once the dump is freed
             * (a failed allocation raises) */
            for (int j = 0, k; !keeps && j < nread; j++) {
                k = kread[j];
                if (f.klen[k] < sizeof names[0]) {
                    memcpy(names[nnames], f.kstr[k], f.klen[k]);
                    names[nnames++][f.klen[k]] = '\0';
                }
            }
            free(lines);
        }
        proto_free(&f);
    }
    free(b.p);
    lua_settop(L, fn - 1);
    if (!keeps) {
        lua_createtable(L, nnames, 0);
        for (int j = 0; j < nnames; j++) {
            lua_pushstring(L, names[j]);
            lua_rawseti(L, -2, j + 1);
        }
    }
    return keeps;
}

static const char cache_key = 'k';
static int opcodes_ok = -1; /* calibrate()'s verdict: -1 not yet */

/* Checks the opcode numbers against loops of known shape. */
static int calibrate(lua_State *L) {
    static const char *const src[] = {
        /* kept nowhere: 0 */
        "local t, n = ...\nfor m in t do\nlocal a, b = m.a, m[n]\nif m and m[1] then n = a "
        "end\ng = m.x + 1 if m.y == 'z' or m.w == 3 then local q = { m.a, k = m.b } n = #q "
        "end\nn = a + b n = a * b\nend",
        /* kept: 1 each */
        "local t, k = ...\nfor m in t do\nk[#k + 1] = m\nend",
        "local t, f = ...\nfor m in t do\nf(m)\nend",
        "local t, f = ...\nfor m in t do\nf(function() return m end)\nend",
        "local t, f = ...\nfor m in t do\nlocal x = m\nf(x.a)\nend",
        "local t, f = ...\nfor m in t do\nreturn m\nend",
        "local t, f = ...\nfor m in t do\nf.x = m\nend",
        "local t, f = ...\nfor m in t do\ng = m\nend",
        "local t, f = ...\nfor m in t do\nf[m] = 1\nend",
        "local t, f = ...\nfor m in t do\nt = m\nend",
        "local t, f = ...\nfor m in t do\nlocal q = { m }\nend",
        "local t, f = ...\nfor m in t do\nlocal q = { k = m }\nend",
        "local t, f = ...\nfor m in t do\nf = f .. m\nend",
        "local t, f = ...\nfor m in t do f(m.a) end",
    };
    for (int i = 0; i < (int)(sizeof src / sizeof src[0]); i++) {
        if (luaL_loadstring(L, src[i]) != 0) {
            lua_pop(L, 1);
            return 0;
        }
        int keeps = analyse(L, 2); /* a for's TFORCALL is on the for's line */
        if (!keeps) {
            /* the names the first loop reads: a, x, y, w, b (m[n], m[1]
             * and the table's k are not fields read by name) */
            int ok = lua_rawlen(L, -1) == 5;
            for (int j = 1; ok && j <= 5; j++) {
                lua_rawgeti(L, -1, j);
                ok = lua_type(L, -1) == LUA_TSTRING && strlen(lua_tostring(L, -1)) == 1 &&
                     strchr("axywb", *lua_tostring(L, -1));
                lua_pop(L, 1);
            }
            lua_pop(L, 1);
            if (!ok) {
                return 0;
            }
        }
        if (keeps != (i > 0)) {
            return 0;
        }
    }
    return 1;
}

int lloopvar_reads(lua_State *L, int level) {
    lua_Debug ar;
    if (!lua_getstack(L, level, &ar) || !lua_getinfo(L, "Slf", &ar)) {
        return 1;
    }
    int fn = lua_gettop(L);
    if ((strcmp(ar.what, "Lua") != 0 && strcmp(ar.what, "main") != 0) || ar.currentline <= 0) {
        lua_settop(L, fn - 1);
        return 1;
    }
    if (opcodes_ok < 0) {
        opcodes_ok = calibrate(L);
    }
    if (!opcodes_ok) {
        lua_settop(L, fn - 1);
        return 1;
    }
    /* registry[&cache_key][fn][line] = true (kept) or the names read (weak
     * keys: functions die) */
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &cache_key) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_createtable(L, 0, 1);
        lua_pushliteral(L, "k");
        lua_setfield(L, -2, "__mode");
        lua_setmetatable(L, -2);
        lua_pushvalue(L, -1);
        lua_rawsetp(L, LUA_REGISTRYINDEX, &cache_key);
    }
    int cache = lua_gettop(L);
    lua_pushvalue(L, fn);
    if (lua_rawget(L, cache) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, fn);
        lua_pushvalue(L, -2);
        lua_rawset(L, cache);
    }
    int lines = lua_gettop(L);
    if (lua_rawgeti(L, lines, ar.currentline) == LUA_TNIL) {
        lua_pop(L, 1);
        lua_pushvalue(L, fn);
        if (analyse(L, ar.currentline)) {
            lua_pushboolean(L, 1);
        }
        lua_pushvalue(L, -1);
        lua_rawseti(L, lines, ar.currentline);
    }
    int kept = lua_type(L, -1) != LUA_TTABLE;
    lua_replace(L, fn);
    lua_settop(L, kept ? fn - 1 : fn);
    return kept;
}

int lloopvar_kept(lua_State *L, int level) {
    int kept = lloopvar_reads(L, level);
    if (!kept) {
        lua_pop(L, 1);
    }
    return kept;
}

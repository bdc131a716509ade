/*
 * cli.c — the option parser, help pages, man page and completion, all read
 * from the one table in help.c (cli.h says how the command line is parsed).
 *
 * Serves the global options, dispatch, `help`, `__complete` and every
 * command's own parser. Calls nothing of the store: names that live in the database
 * are listed through a callback.
 *
 * Invariants:
 *   1. every option a command accepts is an entry of its table row, so the
 *      help, the man page and completion show exactly what is accepted;
 *   2. cli_is() asserts the option it compares with is in the table;
 *   3. the only output of the renderers is to the FILE given.
 */
#include "cli.h"
#include "err.h"

#include <assert.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

const cli_cmd *cli_find(const char *name) {
    for (const cli_cmd *c = cli_cmds; c->name; c++) {
        if (strcmp(c->name, name) == 0) {
            return c;
        }
    }
    return NULL;
}

const cli_opt *cli_opt_find(const cli_opt *opts, const char *word) {
    for (const cli_opt *o = opts; o && o->name; o++) {
        size_t n = strlen(o->name);
        if (strcmp(word, o->name) == 0 || (o->alias && strcmp(word, o->alias) == 0) ||
            (o->arg && strncmp(word, o->name, n) == 0 && word[n] == '=')) {
            return o;
        }
    }
    return NULL;
}

/* Whether entry c is cmd or one of its subcommands. */
static int in_group(const cli_cmd *c, const char *cmd) {
    size_t n = strlen(cmd);
    return strncmp(c->name, cmd, n) == 0 && (c->name[n] == 0 || c->name[n] == ' ');
}

int cli_takes_value(const char *cmd, const char *word) {
    if (strchr(word, '=')) {
        return 0;
    }
    for (const cli_cmd *c = cli_cmds; c->name; c++) {
        const cli_opt *o;
        if (in_group(c, cmd) && (o = cli_opt_find(c->opts, word)) != NULL) {
            return o->arg != NULL;
        }
    }
    return 0;
}

/* ---- the parser ----------------------------------------------------------------- */

void cli_begin(cli_iter *it, const char *name, int argc, char **argv) {
    memset(it, 0, sizeof *it);
    it->cmd = cli_find(name);
    assert(it->cmd && "a command parses options it has no table entry for");
    it->argc = argc;
    it->argv = argv;
}

int cli_usage(const cli_iter *it, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "gonghui %s: ", it->cmd->name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, _(" (see gonghui help %s)\n"), it->cmd->name);
    return 2;
}

/* "-5" and "-" are plain arguments (a number, standard input/output). */
static int looks_like_option(const char *a) {
    return a[0] == '-' && a[1] && !isdigit((unsigned char)a[1]);
}

int cli_plain(const char *name, int argc, char **argv) {
    cli_iter it;
    const cli_opt *o;
    const char *v;
    int rc, n = 0;
    cli_begin(&it, name, argc, argv);
    while ((rc = cli_next(&it, &o, &v)) > 0) {
        argv[n++] = (char *)v;
    }
    return rc < 0 ? -1 : n;
}

int cli_next(cli_iter *it, const cli_opt **opt, const char **val) {
    while (it->i < it->argc) {
        const char *a = it->argv[it->i++];
        if (it->ended || !looks_like_option(a)) {
            *opt = NULL;
            *val = a;
            return 1;
        }
        if (strcmp(a, "--") == 0) {
            it->ended = 1;
            continue;
        }
        const cli_opt *o = cli_opt_find(it->cmd->opts, a);
        const char *eq = a[1] == '-' ? strchr(a, '=') : NULL;
        if (!o) {
            if (eq) {
                cli_usage(it, _("unknown option %.*s"), (int)(eq - a), a);
            } else {
                cli_usage(it, _("unknown option %s"), a);
            }
            return -1;
        }
        if (!o->arg) {
            if (eq) {
                cli_usage(it, _("%s takes no value (%s)"), o->name, a);
                return -1;
            }
            *val = NULL;
        } else if (eq) {
            *val = eq + 1;
        } else if (it->i < it->argc) {
            *val = it->argv[it->i++];
        } else {
            cli_usage(it, _("%s needs a value (%s %s)"), a, a, o->arg);
            return -1;
        }
        *opt = o;
        return 1;
    }
    *opt = NULL;
    *val = NULL;
    return 0;
}

int cli_is(const cli_iter *it, const cli_opt *o, const char *name) {
    (void)it; /* only the assert reads it: Release (NDEBUG) builds too */
    assert(cli_opt_find(it->cmd->opts, name) && "an option missing from the help table");
    return o && strcmp(o->name, name) == 0;
}

int cli_rest(const cli_iter *it, char ***rest) {
    *rest = it->argv + it->i;
    return it->argc - it->i;
}

/* ---- help pages ----------------------------------------------------------------- */

static size_t nopts(const cli_cmd *c) {
    size_t n = 0;
    for (const cli_opt *o = c->opts; o && o->name; o++) {
        n++;
    }
    return n;
}

/* "runs [--limit N]", "run [OPTIONS] FILE.lua [name=value ...]" */
static void synopsis(char *out, size_t outn, const cli_cmd *c) {
    size_t k = (size_t)snprintf(out, outn, "%s", c->name);
    if (nopts(c) > 3) {
        k += (size_t)snprintf(out + k, outn - k, " [OPTIONS]");
    } else {
        for (const cli_opt *o = c->opts; o && o->name && k < outn; o++) {
            k += (size_t)snprintf(out + k, outn - k, o->arg ? " [%s %s]" : " [%s]", o->name,
                                  o->arg ? o->arg : "");
        }
    }
    if (c->args && k < outn) {
        snprintf(out + k, outn - k, " %s", c->args);
    }
}

static void opt_label(char *out, size_t outn, const cli_opt *o) {
    snprintf(out, outn, "%s%s%s%s%s", o->alias ? o->alias : "", o->alias ? ", " : "", o->name,
             o->arg ? " " : "", o->arg ? o->arg : "");
}

static void print_opts(FILE *f, const cli_opt *opts, const char *indent) {
    size_t w = 0;
    char label[96];
    for (const cli_opt *o = opts; o && o->name; o++) {
        opt_label(label, sizeof label, o);
        w = strlen(label) > w ? strlen(label) : w;
    }
    w = w > 24 ? 24 : w;
    for (const cli_opt *o = opts; o && o->name; o++) {
        opt_label(label, sizeof label, o);
        if (strlen(label) > w) {
            fprintf(f, "%s%s\n%s%*s  %s\n", indent, label, indent, (int)w, "", _(o->help));
        } else {
            fprintf(f, "%s%-*s  %s\n", indent, (int)w, label, _(o->help));
        }
    }
}

/* Lines of text, each indented. */
static void print_text(FILE *f, const char *text, const char *indent) {
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        fprintf(f, "%s%.*s\n", n ? indent : "", (int)n, p);
        p += n + (nl ? 1 : 0);
    }
}

static void print_cmd(FILE *f, const cli_cmd *c) {
    char syn[256];
    synopsis(syn, sizeof syn, c);
    fprintf(f, "gonghui %s\n  %s\n", syn, _(c->summary));
    if (c->text) {
        print_text(f, _(c->text), "  ");
    }
    if (c->opts && c->opts->name) {
        fputc('\n', f);
        print_opts(f, c->opts, "  ");
    }
}

static void print_overview(FILE *f, const char *version) {
    fprintf(f, "gonghui %s — %s\n\n", version, _(cli_tagline));
    fprintf(f, _("usage: gonghui [--db DIR] [--plugins DIR] COMMAND [ARGS]\n\ncommands:\n"));
    for (const cli_cmd *c = cli_cmds; c->name; c++) {
        char syn[256];
        if (c->hidden) {
            continue; /* 2: a group's heading (events): its subcommands follow */
        }
        synopsis(syn, sizeof syn, c);
        if (strlen(syn) > 34) {
            fprintf(f, "  %s\n  %34s  %s\n", syn, "", _(c->summary));
        } else {
            fprintf(f, "  %-34s  %s\n", syn, _(c->summary));
        }
    }
    fprintf(f, _("\noptions of every command (before or after it):\n"));
    print_opts(f, cli_global, "  ");
    for (const cli_topic *t = cli_topics[0].title ? cli_topics + 1 : cli_topics; t->title; t++) {
        fprintf(f, "\n%s\n", _(t->title)); /* the first, the description, is the man page's */
        print_text(f, _(t->text), "");
    }
    fprintf(f, _("\ngonghui help COMMAND (or gonghui COMMAND --help) shows a command's page; man "
                 "gonghui has them all.\n"));
}

int cli_help(FILE *f, const char *cmd, const char *version) {
    if (!cmd) {
        print_overview(f, version);
        return 0;
    }
    int n = 0;
    for (const cli_cmd *c = cli_cmds; c->name; c++) {
        if (c->hidden != 1 && in_group(c, cmd)) {
            if (n++) {
                fputc('\n', f);
            }
            print_cmd(f, c);
        }
    }
    if (!n) {
        fprintf(stderr, _("gonghui help: there is no command '%s' (gonghui help lists them)\n"),
                cmd);
        return 2;
    }
    fprintf(f, _("\nand the options of every command: --db DIR, --plugins DIR (gonghui help)\n"));
    return 0;
}

/* ---- the man page --------------------------------------------------------------- */

/* roff-escaped text: backslashes, hyphens, and a leading dot or quote. */
static void roff(FILE *f, const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\') {
            fputs("\\e", f);
        } else if (s[i] == '-') {
            fputs("\\-", f);
        } else if (i == 0 && (s[i] == '.' || s[i] == '\'')) {
            fputs("\\&", f);
            fputc(s[i], f);
        } else {
            fputc(s[i], f);
        }
    }
}

static void roffs(FILE *f, const char *s) {
    roff(f, s, strlen(s));
}

/* Text lines: plain lines flow into paragraphs, a blank line starts a new one,
 * indented lines keep their layout. */
static void man_text(FILE *f, const char *text) {
    int nofill = 0;
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        int indented = n > 0 && p[0] == ' ';
        if (indented != nofill) {
            fputs(indented ? ".nf\n.RS 2\n" : ".RE\n.fi\n", f);
            nofill = indented;
        }
        if (n == 0) {
            fputs(".PP\n", f);
        } else {
            size_t skip = 0;
            while (indented && skip < n && p[skip] == ' ') {
                skip++;
            }
            roff(f, p + skip, n - skip);
            fputc('\n', f);
        }
        p += n + (nl ? 1 : 0);
    }
    if (nofill) {
        fputs(".RE\n.fi\n", f);
    }
}

static void man_opts(FILE *f, const cli_opt *opts) {
    for (const cli_opt *o = opts; o && o->name; o++) {
        fputs(".TP\n", f);
        if (o->alias) {
            fputs("\\fB", f);
            roffs(f, o->alias);
            fputs("\\fR, ", f);
        }
        fputs("\\fB", f);
        roffs(f, o->name);
        fputs("\\fR", f);
        if (o->arg) {
            fputs(" \\fI", f);
            roffs(f, o->arg);
            fputs("\\fR", f);
        }
        fputc('\n', f);
        roffs(f, _(o->help));
        fputc('\n', f);
    }
}

void cli_man(FILE *f, const char *version) {
    fputs(".\\\" generated by gonghui help --man from core/help.c: do not edit\n", f);
    fprintf(f, ".TH GONGHUI 1 \"\" \"gonghui %s\" \"gonghui\"\n.SH NAME\ngonghui \\- ", version);
    roffs(f, _(cli_tagline));
    fputs("\n.SH SYNOPSIS\n.B gonghui\n[\\fB\\-\\-db\\fR \\fIDIR\\fR] [\\fB\\-\\-plugins\\fR "
          "\\fIDIR\\fR] \\fICOMMAND\\fR [\\fIARGS\\fR]\n",
          f);
    const cli_topic *t = cli_topics;
    if (t->title) { /* the first topic is the description */
        fputs(".SH DESCRIPTION\n", f);
        man_text(f, _(t->text));
        t++;
    }
    fputs(".SH COMMANDS\n", f);
    for (const cli_cmd *c = cli_cmds; c->name; c++) {
        char syn[256];
        if (c->hidden == 1) {
            continue;
        }
        synopsis(syn, sizeof syn, c);
        fputs(".SS \"", f);
        fputs("gonghui ", f);
        roffs(f, syn);
        fputs("\"\n", f);
        roffs(f, _(c->summary));
        fputc('\n', f);
        if (c->text) {
            fputs(".PP\n", f);
            man_text(f, _(c->text));
        }
        if (c->opts && c->opts->name) {
            fputs(".PP\n", f);
            man_opts(f, c->opts);
        }
    }
    fputs(".SH OPTIONS\n", f);
    roffs(f, _("These go before or after the command, for every command."));
    fputc('\n', f);
    man_opts(f, cli_global);
    for (; t->title; t++) {
        fputs(".SH ", f);
        roffs(f, _(t->title));
        fputc('\n', f);
        man_text(f, _(t->text));
    }
    fputs(".SH SEE ALSO\n\\fBlua\\fR(1), \\fBmdb_stat\\fR(1)\n", f);
}

/* ---- completion ----------------------------------------------------------------- */

static int starts(const char *s, const char *prefix) {
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The top-level command names, each once. */
static void complete_commands(FILE *f, const char *cur) {
    for (const cli_cmd *c = cli_cmds; c->name; c++) {
        size_t n = strcspn(c->name, " ");
        if (c->hidden == 1 || c->name[n] || !starts(c->name, cur)) {
            continue;
        }
        fprintf(f, "%s\n", c->name);
    }
}

/* The script's parameters as its text uses them: params.NAME, params['NAME']. */
static void complete_params(FILE *f, const char *script, const char *cur) {
    FILE *in = fopen(script, "r");
    char *text = NULL, *seen = NULL;
    size_t n = 0, nseen = 0;
    if (!in) {
        return;
    }
    text = malloc(1 << 20);
    seen = calloc(1, 1 << 16);
    if (text && seen) {
        n = fread(text, 1, (1 << 20) - 1, in);
        text[n] = 0;
    }
    fclose(in);
    for (char *p = text && seen ? strstr(text, "params") : NULL; p; p = strstr(p + 6, "params")) {
        if (p > text && (isalnum((unsigned char)p[-1]) || p[-1] == '_' || p[-1] == '.')) {
            continue;
        }
        char *q = p + 6, name[64];
        size_t k = 0;
        if (*q == '.') {
            q++;
        } else if (q[0] == '[' && (q[1] == '\'' || q[1] == '"')) {
            q += 2;
        } else {
            continue;
        }
        while ((isalnum((unsigned char)*q) || *q == '_') && k < sizeof name - 2) {
            name[k++] = *q++;
        }
        name[k] = 0;
        if (!k || isdigit((unsigned char)name[0]) || !starts(name, cur)) {
            continue;
        }
        /* once each: seen holds "\nname\n" records */
        char rec[70];
        snprintf(rec, sizeof rec, "\n%s\n", name);
        if (strstr(seen, rec) || nseen + strlen(rec) >= (1 << 16) - 1) {
            continue;
        }
        memcpy(seen + nseen, rec, strlen(rec));
        nseen += strlen(rec) - 1;
        fprintf(f, "%s=\n", name);
    }
    free(text);
    free(seen);
}

/* Candidates of one kind of value or argument (cli_opt.comp). */
static void complete_kind(FILE *f, const char *kind, size_t kn, const char *cur, const char *db,
                          const char *script, void (*list)(FILE *, const char *, const char *)) {
    if (kn == 5 && strncmp(kind, "@file", kn) == 0) {
        fputs("@file\n", f);
    } else if (kn == 4 && strncmp(kind, "@dir", kn) == 0) {
        fputs("@dir\n", f);
    } else if (kn == 4 && strncmp(kind, "@lua", kn) == 0) {
        fputs("@lua\n", f); /* files here, and the installed programs by name */
        complete_kind(f, "@program", 8, cur, db, script, list);
    } else if (kn == 8 && strncmp(kind, "@command", kn) == 0) {
        complete_commands(f, cur);
    } else if (kn == 6 && strncmp(kind, "@param", kn) == 0) {
        if (script && !strchr(cur, '=')) {
            complete_params(f, script, cur);
        }
    } else if (kind[0] == '@') {
        char what[32], *buf = NULL;
        size_t bn = 0;
        snprintf(what, sizeof what, "%.*s", (int)(kn - 1), kind + 1);
        FILE *m = list ? open_memstream(&buf, &bn) : NULL;
        if (m) {
            list(m, what, db);
            fclose(m);
            for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
                if (starts(line, cur)) {
                    fprintf(f, "%s\n", line);
                }
            }
            free(buf);
        }
    } else { /* a list of words, up to the end of `kind` */
        for (const char *p = kind; p < kind + kn;) {
            size_t w = strcspn(p, " ");
            w = p + w > kind + kn ? (size_t)(kind + kn - p) : w;
            if (w >= strlen(cur) && strncmp(p, cur, strlen(cur)) == 0) {
                fprintf(f, "%.*s\n", (int)w, p);
            }
            p += w + 1;
        }
    }
}

/* Candidates of kinds separated by '|' ("@collection|@lua"). */
static void complete_kinds(FILE *f, const char *kind, size_t kn, const char *cur, const char *db,
                           const char *script, void (*list)(FILE *, const char *, const char *)) {
    const char *end = kind + kn;
    while (kind < end) {
        const char *bar = memchr(kind, '|', (size_t)(end - kind));
        size_t n = bar ? (size_t)(bar - kind) : (size_t)(end - kind);
        complete_kind(f, kind, n, cur, db, script, list);
        kind += n + 1;
    }
}

/* The n-th word of comp (words separated by spaces); the last one repeats when
 * it is @param. Sets *kn to its length; NULL when there is none. */
static const char *nth_kind(const char *comp, int n, size_t *kn) {
    const char *p = comp, *last = NULL;
    size_t lastn = 0;
    for (int i = 0; p && *p; i++) {
        size_t w = strcspn(p, " ");
        if (i == n) {
            *kn = w;
            return w == 1 && *p == '-' ? NULL : p;
        }
        last = p;
        lastn = w;
        p += w;
        while (*p == ' ') {
            p++;
        }
    }
    if (last && lastn == 6 && strncmp(last, "@param", 6) == 0) {
        *kn = lastn;
        return last;
    }
    return NULL;
}

static void complete_opts(FILE *f, const cli_opt *opts, const char *cur) {
    for (const cli_opt *o = opts; o && o->name; o++) {
        if (starts(o->name, cur)) {
            fprintf(f, "%s\n", o->name);
        }
    }
}

void cli_complete(FILE *f, int nwords, char **words, int cword,
                  void (*list)(FILE *f, const char *what, const char *db)) {
    const char *cur = cword < nwords ? words[cword] : "";
    const char *db = getenv("GONGHUI_DB"), *script = NULL;
    const cli_cmd *c = NULL;
    const cli_opt *want = NULL; /* the option whose value is being completed */
    int npos = 0, ended = 0;
    if (!db || !*db) {
        db = "gonghui.db";
    }
    for (int i = 1; i < cword && i < nwords; i++) {
        const char *w = words[i];
        const cli_opt *o = NULL;
        if (!ended && strcmp(w, "--") == 0) {
            ended = 1;
            continue;
        }
        if (!ended && looks_like_option(w)) {
            o = cli_opt_find(cli_global, w);
            if (!o && c) {
                o = cli_opt_find(c->opts, w);
            }
            if (o && o->arg && !strchr(w, '=')) {
                if (i + 1 == cword) {
                    want = o;
                    break;
                }
                i++;
                if (strcmp(o->name, "--db") == 0) {
                    db = words[i];
                }
            } else if (o && strncmp(w, "--db=", 5) == 0) {
                db = w + 5;
            }
            continue;
        }
        if (!c) {
            if (!(c = cli_find(w))) {
                return; /* not a command: nothing to offer */
            }
            continue;
        }
        char sub[128];
        snprintf(sub, sizeof sub, "%s %s", c->name, w);
        if (npos == 0 && cli_find(sub)) {
            c = cli_find(sub);
            continue;
        }
        size_t n = strlen(w);
        if (!script && n > 4 && strcmp(w + n - 4, ".lua") == 0) {
            script = w;
        }
        npos++;
    }
    if (want) {
        if (want->comp) {
            complete_kinds(f, want->comp, strlen(want->comp), cur, db, script, list);
        }
        return;
    }
    if (!ended && cur[0] == '-') {
        complete_opts(f, cli_global, cur);
        if (c) {
            complete_opts(f, c->opts, cur);
        }
        return;
    }
    if (!c) {
        complete_commands(f, cur);
        return;
    }
    if (npos == 0) { /* subcommands */
        size_t n = strlen(c->name);
        for (const cli_cmd *s = cli_cmds; s->name; s++) {
            if (s->hidden != 1 && strncmp(s->name, c->name, n) == 0 && s->name[n] == ' ' &&
                !strchr(s->name + n + 1, ' ') && starts(s->name + n + 1, cur)) {
                fprintf(f, "%s\n", s->name + n + 1);
            }
        }
    }
    size_t kn = 0;
    const char *kind = c->comp ? nth_kind(c->comp, npos, &kn) : NULL;
    if (kind) {
        complete_kinds(f, kind, kn, cur, db, script, list);
    }
}

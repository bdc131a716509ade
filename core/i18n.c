/*
 * i18n.c — the message language and the catalog (see i18n.h).
 *
 * States: English (the start, and for C/POSIX/English) --i18n_init()-->
 * wanted (the language asks for a catalog; LANGUAGE set if it was not)
 * --first _()--> bound (setlocale(LC_MESSAGES), bindtextdomain: once, under
 * pthread_once) or English when no catalog is found. `want` is written only
 * by i18n_init(), before threads start.
 *
 * The catalog folder is the first of: $GONGHUI_LOCALEDIR; <binary's
 * folder>/locale (the build tree: <build>/gonghui beside <build>/locale);
 * <binary's folder>/../share/locale (an installation); the build tree's and
 * the install prefix's folders as configured (GH_LOCALE_BUILD, GH_LOCALEDIR).
 * A folder counts when it holds zh_CN/LC_MESSAGES/gonghui.mo.
 */
#include "i18n.h"
#include "paths.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef GH_NLS
#include <libintl.h>
#include <locale.h>
#endif

#ifndef GH_LOCALE_BUILD
#define GH_LOCALE_BUILD ""
#endif
#ifndef GH_LOCALEDIR
#define GH_LOCALEDIR ""
#endif

static int want; /* the language asks for a catalog (i18n_init) */
static int on;   /* ... and it is bound (bind(), once) */
static char localedir[PATH_MAX + 64];
#ifdef GH_NLS
static pthread_once_t once = PTHREAD_ONCE_INIT;
#endif

/* The value glibc takes for LC_MESSAGES: LC_ALL, else LC_MESSAGES, else LANG. */
static const char *messages_locale(void) {
    const char *names[] = {"LC_ALL", "LC_MESSAGES", "LANG"};
    for (int i = 0; i < 3; i++) {
        const char *v = getenv(names[i]);
        if (v && *v) {
            return v;
        }
    }
    return NULL;
}

/* 1 for locales whose messages are the source's English: C, POSIX, C.UTF-8, en*. */
static int english(const char *v) {
    return !v || !*v || strcmp(v, "C") == 0 || strcmp(v, "POSIX") == 0 ||
           strncmp(v, "C.", 2) == 0 || strncmp(v, "en", 2) == 0;
}

static int has_catalog(const char *dir) {
    char p[PATH_MAX + 64];
    struct stat st;
    if (!dir || !*dir) {
        return 0;
    }
    snprintf(p, sizeof p, "%s/zh_CN/LC_MESSAGES/%s.mo", dir, GH_TEXTDOMAIN);
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static int find_localedir(void) {
    const char *env = getenv("GONGHUI_LOCALEDIR");
    if (env && *env) {
        snprintf(localedir, sizeof localedir, "%s", env);
        return 1;
    }
    const char *exe = paths_exe_dir();
    if (exe[0]) {
        const char *tries[] = {"%s/locale", "%s/../share/locale"};
        for (int i = 0; i < 2; i++) {
            char p[PATH_MAX + 32];
            snprintf(p, sizeof p, tries[i], exe);
            if (has_catalog(p)) {
                snprintf(localedir, sizeof localedir, "%s", p);
                return 1;
            }
        }
    }
    const char *built[] = {GH_LOCALE_BUILD, GH_LOCALEDIR};
    for (int i = 0; i < 2; i++) {
        if (has_catalog(built[i])) {
            snprintf(localedir, sizeof localedir, "%s", built[i]);
            return 1;
        }
    }
    return 0;
}

void i18n_init(void) {
#ifdef GH_NLS
    const char *lang = messages_locale();
    const char *language = getenv("LANGUAGE");
    if (want || !lang || strcmp(lang, "C") == 0 || strcmp(lang, "POSIX") == 0) {
        return; /* glibc ignores LANGUAGE under the plain C locale */
    }
    if (language && *language) {
        want = !english(language);
    } else if ((want = !english(lang))) {
        /* the same language as LC_MESSAGES, so a locale the system has not
         * generated still finds its catalog under C.UTF-8 (see bind()) */
        /* Chinese other than zh_CN (zh_TW, zh_HK, zh_SG) reads the zh_CN
         * catalog when there is none of its own, rather than English */
        char both[256];
        if (strncmp(lang, "zh", 2) == 0 && strncmp(lang, "zh_CN", 5) != 0 &&
            snprintf(both, sizeof both, "%s:zh_CN", lang) < (int)sizeof both) {
            setenv("LANGUAGE", both, 0);
        } else {
            setenv("LANGUAGE", lang, 0);
        }
    }
#endif
}

#ifdef GH_NLS
/* Done once, at the first message translated: an empty `gonghui run` prints
 * nothing and pays nothing (setlocale and the folder search cost ~0.3-0.5 ms
 * of system calls on a loaded machine). */
static void bind(void) {
    if (!find_localedir()) {
        return;
    }
    /* LANGUAGE (set by i18n_init() from LC_ALL/LC_MESSAGES/LANG when it was
     * not) chooses the catalog; LC_MESSAGES only has to be other than "C" for
     * glibc to read LANGUAGE. C.UTF-8 is always there and cheap to load,
     * where setlocale(LC_MESSAGES, "") of a locale the system has not
     * generated reads locale.alias and fails through eight folders first. */
    if (!setlocale(LC_MESSAGES, "C.UTF-8") && !setlocale(LC_MESSAGES, "C.utf8")) {
        return;
    }
    if (bindtextdomain(GH_TEXTDOMAIN, localedir) &&
        bind_textdomain_codeset(GH_TEXTDOMAIN, "UTF-8")) {
        on = 1;
    }
    /* strerror() in our messages: glibc's own catalog, also in UTF-8 (LC_CTYPE
     * stays "C", which would turn it into question marks) */
    bind_textdomain_codeset("libc", "UTF-8");
}

static int active(void) {
    if (!want) {
        return 0;
    }
    pthread_once(&once, bind);
    return on;
}
#endif

const char *i18n_tr(const char *msgid) {
#ifdef GH_NLS
    if (msgid && *msgid && active()) {
        return dgettext(GH_TEXTDOMAIN, msgid);
    }
#endif
    return msgid;
}

const char *i18n_tr_bound(const char *msgid) {
#ifdef GH_NLS
    if (on && msgid && *msgid) {
        return dgettext(GH_TEXTDOMAIN, msgid);
    }
#endif
    return msgid;
}

const char *i18n_ntr(const char *one, const char *many, unsigned long n) {
#ifdef GH_NLS
    if (active()) {
        return dngettext(GH_TEXTDOMAIN, one, many, n);
    }
#endif
    return n == 1 ? one : many;
}

/* ---- a program's own catalog ---------------------------------------------------- */

#ifdef GH_NLS
/* Domains bound so far (one per program folder name; a server binds each
 * program's once). Interned: i18n_program_domain hands out these pointers. */
enum { MAX_DOMAINS = 64 };
static char *domains[MAX_DOMAINS];
static int ndomains;
static pthread_mutex_t domains_lock = PTHREAD_MUTEX_INITIALIZER;
#endif

const char *i18n_program_domain(const char *dir) {
#ifdef GH_NLS
    char locale[PATH_MAX], name[NAME_MAX + 1];
    struct stat st;
    if (!dir || !*dir || !want) { /* (no catalog bound yet: an empty run stays free) */
        return NULL;
    }
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') {
        n--;
    }
    const char *base = dir + n;
    while (base > dir && base[-1] != '/') {
        base--;
    }
    size_t bn = (size_t)(dir + n - base);
    if (bn == 0 || bn > NAME_MAX || strcmp(GH_TEXTDOMAIN, base) == 0 ||
        snprintf(locale, sizeof locale, "%.*s/locale", (int)n, dir) >= (int)sizeof locale ||
        stat(locale, &st) != 0 || !S_ISDIR(st.st_mode) || !active()) {
        return NULL;
    }
    memcpy(name, base, bn);
    name[bn] = 0;
    const char *out = NULL;
    pthread_mutex_lock(&domains_lock);
    for (int i = 0; i < ndomains && !out; i++) {
        if (strcmp(domains[i], name) == 0) {
            out = domains[i];
        }
    }
    if (!out && ndomains < MAX_DOMAINS && (domains[ndomains] = strdup(name)) != NULL) {
        if (bindtextdomain(name, locale) && bind_textdomain_codeset(name, "UTF-8")) {
            out = domains[ndomains++];
        } else {
            free(domains[ndomains]);
        }
    }
    pthread_mutex_unlock(&domains_lock);
    return out;
#else
    (void)dir;
    return NULL;
#endif
}

const char *i18n_tr_in(const char *domain, const char *msgid) {
#ifdef GH_NLS
    if (domain && msgid && *msgid && active()) {
        const char *t = dgettext(domain, msgid);
        if (t != msgid) {
            return t;
        }
    }
#else
    (void)domain;
#endif
    return i18n_tr(msgid);
}

const char *i18n_ntr_in(const char *domain, const char *one, const char *many, unsigned long n) {
#ifdef GH_NLS
    if (domain && active()) {
        const char *t = dngettext(domain, one, many, n);
        if (t != one && t != many) {
            return t;
        }
    }
#else
    (void)domain;
#endif
    return i18n_ntr(one, many, n);
}

int i18n_active(void) {
#ifdef GH_NLS
    return active();
#else
    return 0;
#endif
}

const char *i18n_localedir(void) {
    return on ? localedir : NULL;
}

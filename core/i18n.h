/*
 * i18n.h — translating the messages a person reads (gettext).
 *
 * Messages are written in English in the source and wrapped:
 *
 *   _("text")                 translated text (borrowed, valid for the process)
 *   _n("1 row", "%d rows", n) the plural form for n (ngettext)
 *   N_("text")                marks a string for the catalog without translating
 *                             it here (tables, X-macro lists): translate it where
 *                             it is printed, with _(s)
 *
 * xgettext finds them by these names (tools/update-po.sh); the catalogs are
 * po/<lang>.po, built by CMake into <build>/locale/<lang>/LC_MESSAGES/gonghui.mo
 * and installed under <prefix>/share/locale.
 *
 * The language is the one every Debian tool uses: LANGUAGE, LC_ALL,
 * LC_MESSAGES, LANG (glibc's rules). i18n_init() is called once by main()
 * before any thread starts; without it (unit tests, fuzzers) messages stay
 * English. It costs a few getenv() calls; the catalog is found and bound at
 * the first message translated (an empty `gonghui run` pays nothing), and
 * glibc reads the .mo file then.
 *
 * A Chinese locale that the system has not generated (a fresh Debian without
 * `locale-gen zh_CN.UTF-8`) still gets Chinese messages: LC_MESSAGES falls
 * back to C.UTF-8 and LANGUAGE names the wanted language (glibc ignores
 * LANGUAGE only under the plain "C" locale). LC_CTYPE, LC_NUMERIC and the
 * rest stay "C": Lua and printf keep formatting numbers with '.', and
 * catalogs are always handed out in UTF-8.
 *
 * Built without gettext (-DGH_NLS=OFF, or no msgfmt), the functions return
 * their English argument.
 */
#ifndef GH_I18N_H
#define GH_I18N_H

/* The text domain of the host, of shipped programs and of plugins. */
#define GH_TEXTDOMAIN "gonghui"

/* Chooses the message language from the environment and binds the catalog.
 * Call once, from main(), before threads start (it may set LANGUAGE). */
void i18n_init(void);

/* The translation of `msgid` (borrowed: `msgid` itself, or catalog text valid
 * for the process). */
const char *i18n_tr(const char *msgid) __attribute__((format_arg(1)));

/* The translation of `msgid` if the catalog is bound already (a message was
 * translated before), else `msgid`: for text prepared in advance that is
 * almost never shown (a signal handler's), so preparing it binds nothing. */
const char *i18n_tr_bound(const char *msgid) __attribute__((format_arg(1)));

/* The plural form of a message for `n` (ngettext): `one` or `many` in English. */
const char *i18n_ntr(const char *one, const char *many, unsigned long n)
    __attribute__((format_arg(1))) __attribute__((format_arg(2)));

/* A program's own catalog, beside its scripts: DIR/locale/<lang>/LC_MESSAGES/
 * NAME.mo, NAME the folder's last component (scripts/ticket ->
 * ticket.mo), made from DIR/po/<lang>.po by `sh tools/update-po.sh DIR`.
 * Binds it and returns its text domain (interned, valid for the process),
 * or NULL when messages are English, the folder has no locale/ folder, or
 * 64 program domains are bound already. Thread-safe. */
const char *i18n_program_domain(const char *dir);

/* msgid in the program's catalog `domain` if it has it, else in gonghui's
 * (i18n_tr); domain NULL: gonghui's. */
const char *i18n_tr_in(const char *domain, const char *msgid) __attribute__((format_arg(2)));

/* The plural form for n from `domain`'s catalog, else gonghui's (i18n_ntr). */
const char *i18n_ntr_in(const char *domain, const char *one, const char *many, unsigned long n)
    __attribute__((format_arg(2))) __attribute__((format_arg(3)));

/* 1 when messages are translated (a non-English catalog language is active). */
int i18n_active(void);

/* The folder holding <lang>/LC_MESSAGES/gonghui.mo, or NULL when messages are
 * not translated (borrowed). */
const char *i18n_localedir(void);

#define _(s) i18n_tr(s)
#define _n(one, many, n) i18n_ntr((one), (many), (unsigned long)(n))
#define N_(s) (s)

#endif

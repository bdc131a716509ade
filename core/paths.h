/*
 * paths.h — where gonghui's own files are: the Lua programs and their shared
 * modules and the native plugins. Found from the binary's
 * own place (/proc/self/exe), never from a path fixed at build time, so an
 * installation works wherever its prefix is (a .deb in /usr, `make install
 * PREFIX=~/opt`, a copied tree):
 *
 *   the binary in the build tree   <source>/scripts, <build>/plugins
 *   installed as PREFIX/bin/gonghui
 *                                  PREFIX/share/gonghui/scripts,
 *                                  PREFIX/<libdir>/gonghui/plugins
 * (the message catalogs are found the same way by i18n.c)
 *
 * When neither applies (a test program elsewhere in the build tree) the build
 * tree's folders are the fallback. Results are computed once, borrowed,
 * static; NULL when the folder does not exist.
 */
#ifndef GH_PATHS_H
#define GH_PATHS_H

/* The folder of the programs (scripts/; scripts/lib holds the shared modules). */
const char *paths_scripts(void);

/* The folder of shared Lua modules this binary uses: $GONGHUI_LIB, else
 * scripts/lib of the folder above; NULL if none. */
const char *paths_lib(void);

/* The folder of the shipped native plugins. */
const char *paths_plugins(void);

/* Whether the running binary is the one in the build tree. */
int paths_in_build(void);

/* The folder of the running binary, resolved (/proc/self/exe); "" if /proc
 * is not there. The one place that asks: the locale folder (i18n.c) too. */
const char *paths_exe_dir(void);

#endif

/*
 * paths.c — where gonghui's own files are (paths.h), from /proc/self/exe.
 *
 * Compile-time inputs (CMakeLists.txt): GH_BUILD_DIR, GH_SOURCE_SCRIPTS (the
 * build tree, for the binary there and as the last fallback) and the
 * installation's layout relative to the binary's folder: GH_REL_SCRIPTS and
 * GH_REL_PLUGINS (from GNUInstallDirs, so a Debian multiarch
 * libdir works too).
 */
#include "paths.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef GH_BUILD_DIR
#define GH_BUILD_DIR ""
#endif
#ifndef GH_SOURCE_SCRIPTS
#define GH_SOURCE_SCRIPTS ""
#endif
#ifndef GH_REL_SCRIPTS
#define GH_REL_SCRIPTS "../share/gonghui/scripts"
#endif
#ifndef GH_REL_PLUGINS
#define GH_REL_PLUGINS "../lib/gonghui/plugins"
#endif

static int is_dir(const char *p) {
    struct stat st;
    return p[0] && stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

const char *paths_exe_dir(void) {
    static char dir[PATH_MAX];
    static int done;
    if (!done) {
        done = 1;
        char exe[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n > 0) {
            exe[n] = 0;
            /* the kernel's path is already real (symlinks resolved): no
             * realpath and its readlink of every folder on the way (W6) */
            char *slash = strrchr(exe, '/');
            if (slash && exe[0] == '/') {
                *slash = 0;
                snprintf(dir, sizeof dir, "%s", slash == exe ? "/" : exe);
            }
        }
    }
    return dir;
}

int paths_in_build(void) {
    static int in = -1;
    if (in < 0) {
        char b[PATH_MAX];
        in = GH_BUILD_DIR[0] && (strcmp(GH_BUILD_DIR, paths_exe_dir()) == 0 ||
                                 (realpath(GH_BUILD_DIR, b) && strcmp(b, paths_exe_dir()) == 0));
    }
    return in;
}

/* Picks the folder: the build tree's for the binary there, else the one
 * relative to the binary, else the build tree's as a fallback. */
static const char *pick(char *out, const char *rel, const char *build) {
    char p[PATH_MAX * 2];
    if (!paths_in_build() && paths_exe_dir()[0]) {
        snprintf(p, sizeof p, "%s/%s", paths_exe_dir(), rel);
        if (is_dir(p) && realpath(p, out)) {
            return out;
        }
    }
    if (is_dir(build)) {
        snprintf(out, PATH_MAX, "%s", build);
        return out;
    }
    return NULL;
}

const char *paths_scripts(void) {
    static char found[PATH_MAX];
    static const char *r;
    static int done;
    if (!done) {
        done = 1;
        r = pick(found, GH_REL_SCRIPTS, GH_SOURCE_SCRIPTS);
    }
    return r;
}

const char *paths_plugins(void) {
    static char found[PATH_MAX];
    static const char *r;
    static int done;
    if (!done) {
        done = 1;
        r = pick(found, GH_REL_PLUGINS, GH_BUILD_DIR[0] ? GH_BUILD_DIR "/plugins" : "");
    }
    return r;
}

const char *paths_lib(void) {
    static char found[PATH_MAX];
    static int done;
    if (done) {
        return found[0] ? found : NULL;
    }
    done = 1;
    const char *env = getenv("GONGHUI_LIB");
    if (env && is_dir(env)) {
        snprintf(found, sizeof found, "%s", env);
        return found;
    }
    const char *dir = paths_scripts();
    if (dir && strlen(dir) + 5 < sizeof found) {
        snprintf(found, sizeof found, "%.*s/lib", PATH_MAX - 5, dir);
        if (is_dir(found)) {
            return found;
        }
    }
    found[0] = 0;
    return NULL;
}

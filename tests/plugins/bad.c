/*
 * bad.c — test plugins that must be refused, one per way of going wrong,
 * built from this file with -DBAD_<KIND> as tests/plugins/<kind>.so. Each
 * registers a function first where it can, so the tests also see that a
 * refused plugin leaves nothing behind; those with an unload hook say so on
 * stderr, so the CLI test sees the hook run.
 */
#include <gonghui/plugin.h>

#include <stdio.h>

__attribute__((unused)) static int64_t one(void) {
    return 1;
}

__attribute__((unused)) static void said_bye(void *ud) {
    fprintf(stderr, "[%s: unload hook ran]\n", (const char *)ud);
}

#ifdef BAD_NOMAIN
/* no gh_plugin_init at all, only some other exported function */
GH_PLUGIN_EXPORT int gh_plugin_start(void);
GH_PLUGIN_EXPORT int gh_plugin_start(void) {
    return 0;
}
#else
GH_PLUGIN_EXPORT int gh_plugin_init(const gh_api *api, gh_plugin *p, char **errmsg) {
    (void)errmsg;
#if defined(BAD_NEWER)
    /* built for the next major version; ignores the refusal and goes on */
    api->begin(p, GH_API_MAJOR + 1, 0, sizeof(gh_api) + 64, "newer", "9");
    api->function(p, "one", "i64()", GH_FN(one));
    return GH_PLUGIN_OK;
#elif defined(BAD_NEWMINOR)
    if (api->begin(p, GH_API_MAJOR, GH_API_MINOR + 1, sizeof(gh_api), "newminor", "1") != 0) {
        return GH_PLUGIN_ERROR;
    }
    return api->function(p, "one", "i64()", GH_FN(one));
#elif defined(BAD_FAILINIT)
    if (gh_plugin_begin(api, p, "failinit", "1") != 0) {
        return GH_PLUGIN_ERROR;
    }
    api->function(p, "one", "i64()", GH_FN(one));
    api->on_unload(p, said_bye, "failinit");
    *errmsg = api->mprintf("the licence file %s is missing", "/etc/failinit.key");
    return GH_PLUGIN_ERROR;
#elif defined(BAD_SILENTFAIL)
    if (gh_plugin_begin(api, p, "silentfail", "1") != 0) {
        return GH_PLUGIN_ERROR;
    }
    return 7;
#elif defined(BAD_DUP)
    if (gh_plugin_begin(api, p, "dup", "1") != 0) {
        return GH_PLUGIN_ERROR;
    }
    api->on_unload(p, said_bye, "dup");
    api->function(p, "one", "i64()", GH_FN(one));
    api->function(p, "one", "i64()", GH_FN(one));
    return GH_PLUGIN_OK; /* ignores the refusal: the host refuses anyway */
#elif defined(BAD_BADSIG)
    if (gh_plugin_begin(api, p, "badsig", "1") != 0) {
        return GH_PLUGIN_ERROR;
    }
    api->function(p, "one", "i64()", GH_FN(one));
    return api->function(p, "two", "i64(str", GH_FN(one));
#elif defined(BAD_UNKTYPE)
    if (gh_plugin_begin(api, p, "unktype", "1") != 0) {
        return GH_PLUGIN_ERROR;
    }
    return api->function(p, "two", "int(str)", GH_FN(one));
#elif defined(BAD_ERRNOTLAST)
    if (gh_plugin_begin(api, p, "errnotlast", "1") != 0) {
        return GH_PLUGIN_ERROR;
    }
    return api->function(p, "two", "i64(err,str)", GH_FN(one));
#elif defined(BAD_BADNAME)
    if (gh_plugin_begin(api, p, "badname", "1") != 0) {
        return GH_PLUGIN_ERROR;
    }
    return api->function(p, "no-dash", "i64()", GH_FN(one));
#elif defined(BAD_BADPATTERN)
    if (gh_plugin_begin(api, p, "badpattern", "1") != 0) {
        return GH_PLUGIN_ERROR;
    }
    api->function(p, "one", "i64()", GH_FN(one));
    return api->subscribe(p, "award..issued", NULL, NULL);
#elif defined(BAD_NOBEGIN)
    return api->function(p, "one", "i64()", GH_FN(one));
#elif defined(BAD_WRONGNAME)
    if (gh_plugin_begin(api, p, "somethingelse", "1") != 0) {
        return GH_PLUGIN_ERROR;
    }
    return GH_PLUGIN_OK;
#else
#error "build with -DBAD_<KIND>"
#endif
}
#endif

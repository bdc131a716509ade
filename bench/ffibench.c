/*
 * ffibench.c — the plugin of bench/ffi_call.c: declares ffi_add as
 * `add`, i64(i64,i64), the signature the plugins issue's benchmark names.
 * Built twice: as ffibench, and with -DGENERIC as ffibench_generic.
 */
#include "ffi_add.h"

#include <gonghui/plugin.h>

GH_PLUGIN_EXPORT int gh_plugin_init(const gh_api *api, gh_plugin *p, char **errmsg) {
    (void)errmsg;
#ifdef GENERIC
    const char *name = "ffibench_generic";
#else
    const char *name = "ffibench";
#endif
    if (gh_plugin_begin(api, p, name, "1.0") != GH_PLUGIN_OK) {
        return GH_PLUGIN_ERROR;
    }
    return api->function(p, "add", "i64(i64,i64)", GH_FN(ffi_add));
}

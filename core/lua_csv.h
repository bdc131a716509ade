/*
 * lua_csv.h — run.read_csv and run.write_csv: CSV for scripts, the way
 * import and export read and write it (see lua_csv.c for the Lua API).
 *
 * Built on csvfile.h.
 */
#ifndef GH_LUA_CSV_H
#define GH_LUA_CSV_H

#include <lua.h>

/* Sets run.read_csv and run.write_csv in the table at run_idx. */
void lcsv_register(lua_State *L, int run_idx);

#endif

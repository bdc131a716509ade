/*
 * checkpoint.h — chunked runs that resume: run.chunks and run.checkpoint.
 *
 * Built on store.h, lua_store.h (the state's current write transaction)
 * and lua_codec.h.
 *
 * run.chunks(name, items, fn [, opts]) goes through `items` a chunk at a
 * time; each chunk is one db.atomic that also writes the checkpoint `name`
 * (where the pass stands) into the system collection `_checkpoints`
 * (CHECKPOINT_COLLECTION). The chunk's writes and its checkpoint commit
 * together or not at all, so a run killed anywhere resumes after the last
 * committed chunk: nothing is done twice, nothing skipped.
 *
 * A checkpoint record: name (key), kind ("list", "collection",
 * "function"), after (the last position or key handled; absent before the
 * first), done (items handled in this pass), total (when known), finished,
 * pass (1, 2, ... with opts.again), run (the uid of the run that wrote it),
 * started and updated (seconds since the epoch).
 *
 * Scripts cannot reach `_checkpoints` through db (sandbox.c guards it);
 * run.checkpoint(name) reads one.
 */
#ifndef GH_CHECKPOINT_H
#define GH_CHECKPOINT_H

#include <lua.h>

#define CHECKPOINT_COLLECTION "_checkpoints"

/* Sets run.chunks and run.checkpoint in table run_idx, bound to the db
 * table at db_idx (whose functions hold the ldb userdata). */
void checkpoint_install(lua_State *L, int db_idx, int run_idx);

#endif

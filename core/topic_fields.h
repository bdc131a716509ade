/*
 * topic_fields.h — the field names of a topic's array payloads.
 *
 * A publisher that sends compact payloads (an array instead of a table with
 * keys: the framework's program.entry, { program, entry_id, kind,
 * member_id, fen, day, ... }, a third of the cost to store, bench W2)
 * declares once which field each position holds: Lua `bus.fields(topic,
 * names)`. The declaration is kept in the database, in the system
 * collection `_topic_fields` (topic -> array of names), so that whoever
 * reads the log — a scoped request deciding whose event it is (scope.c), a
 * process that never loaded the publisher's code, a run years later — reads
 * an array event by its field names, and the publisher's list stays the one
 * home of the order: nobody keeps a copy.
 *
 * Invariants:
 *  1. Names are strings, at most TOPIC_FIELDS_MAX of them; a declaration
 *     replaces the one before (positions are the publisher's promise; a
 *     publisher that reorders declares again).
 *  2. Reading never writes: an undeclared topic answers "not declared",
 *     and a database without the collection reads as one with none.
 *
 * Built on store.h and codec.h; knows nothing of Lua or the bus.
 */
#ifndef GH_TOPIC_FIELDS_H
#define GH_TOPIC_FIELDS_H

#include "store.h"

#include <stddef.h>

#define TOPIC_FIELDS_COLLECTION "_topic_fields"
#define TOPIC_FIELDS_MAX 64

/* 1 if topic's declared names are exactly names[0..n) (lens: their
 * lengths), 0 if they differ or topic declares none. Reads only. */
int topic_fields_same(store_txn *t, const char *topic, size_t tn, const char *const *names,
                      const size_t *lens, int n);

/* Declares names[0..n) for topic in write transaction t (defining the
 * collection on first use). 0, GH_EINVAL (more than TOPIC_FIELDS_MAX),
 * GH_ENOMEM or the store's code. */
int topic_fields_put(store_txn *t, const char *topic, size_t tn, const char *const *names,
                     const size_t *lens, int n);

/* The positions (0-based) of the nwant fields `want` in topic's array
 * payloads, into pos (-1 for a name the topic does not declare). 1 when
 * topic declares names, 0 when it declares none (pos untouched). */
int topic_fields_find(store_txn *t, const char *topic, size_t tn, const char *const *want,
                      int nwant, int *pos);

/* Calls fn(name, len, ctx) for each declared name of topic, in order. 1
 * when topic declares names, 0 when not. For the Lua face's read form. */
int topic_fields_each(store_txn *t, const char *topic, size_t tn,
                      void (*fn)(const char *name, size_t len, void *ctx), void *ctx);

#endif

/*
 * bus_change.h — the change events of collections defined with events =
 * true: the one builder every writer calls (the Lua face's insert, put,
 * update and delete, and import).
 *
 *   topic    <collection>.inserted | .updated | .deleted
 *   payload  a MessagePack map: "old" (the record replaced or deleted),
 *            then "new" (the record stored), each present only when there
 *            is such a record; a record is a map of its fields by name in
 *            definition order, absent (nil) fields left out and the unknown
 *            fields a definition keeps merged in, as the Lua face gives
 *            records.
 *
 * Logs written before this builder (when the Lua face encoded a table) hold
 * the same maps with their keys in another order: they decode to the same
 * values, so they replay the same (tests/lua/change_events.lua).
 */
#ifndef GH_BUS_CHANGE_H
#define GH_BUS_CHANGE_H

#include "codec.h"
#include "store.h"

#include <stddef.h>
#include <stdint.h>

/* The kind of a change: "inserted" (new only), "updated" (both) or
 * "deleted" (old only). */
const char *bus_change_kind(int has_old, int has_new);

/* Appends record rec (n bytes, schema order) of collection c to out as a
 * map of its fields by name. 0, GH_ECORRUPT (the record is not an array)
 * or GH_ENOMEM. */
int bus_change_record(const store_coll *c, const void *rec, size_t n, codec_buf *out);

/* Sets out (emptied first) to the payload of a change of a record of c:
 * old (NULL: none) and new (NULL: none), record bytes in schema order.
 * 0, GH_ECORRUPT or GH_ENOMEM. */
int bus_change_payload(const store_coll *c, const void *old, size_t oldn, const void *new_rec,
                       size_t newn, codec_buf *out);

/* Writes the topic of a change of c (kind from bus_change_kind) into topic
 * (n bytes); its length, or -1 when it does not fit. */
int bus_change_topic(const store_coll *c, const char *kind, char *topic, size_t n);

/* Appends the change event to the log in write transaction t (bus_append),
 * building the payload in scratch (emptied first; the caller's, reused).
 * run: the writing run's id or NULL. *seq gets its sequence number.
 * 0 or bus_append's codes. */
int bus_change_append(store_txn *t, const store_coll *c, const void *old, size_t oldn,
                      const void *new_rec, size_t newn, const char *run, codec_buf *scratch,
                      int64_t *seq);

#endif

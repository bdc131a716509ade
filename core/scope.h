/*
 * scope.h — the part of the union tree a request may see and change.
 *
 * A collection declares its scope field (db.define(name, {..., scope =
 * 'union_id'})): an int field naming the union a record belongs to. A
 * request of `gonghui serve` made by an account bound to union U carries
 * the scope of U: U and every union below it in the `unions` collection
 * (parent_id). The store's Lua face (lua_store.c, lua_scan.c) asks this
 * module, in C, about every record of a scoped collection it reads or
 * writes for such a request:
 *
 *   read   get, find, scan, list, count, count_by and everything built on
 *          them (export, plugins' records) skip records outside the scope,
 *          as if they did not exist; a record with no scope value is
 *          outside every scope but the whole tree's;
 *   write  insert, put, update, delete and prepared inserts of a record
 *          outside the scope (before or after the change) are refused with
 *          a message naming the union.
 *
 * Lua code never holds a scope: the server sets it on the state before a
 * handler runs (lstore_set_scope) and nothing a script can call changes
 * it. Built on store.h and codec.h; knows nothing of Lua or HTTP.
 */
#ifndef GH_SCOPE_H
#define GH_SCOPE_H

#include "store.h"

#include <stddef.h>
#include <stdint.h>

#define SCOPE_UNIONS "unions" /* the union tree: union_id (key), parent_id, name */

typedef struct scope {
    int64_t root; /* the account's union */
    int all;      /* root is the top of the tree: every record, scoped or not */
    int unnamed;  /* events naming no union or member are read too (auditors, admins) */
    char *name;   /* the root union's name ("" when the record has none) */
    size_t n;     /* ids: the root and every union under it, sorted */
    int64_t *ids;
} scope;

/* Builds the scope of union `root` from the unions collection in t. 0,
 * GH_ENOTFOUND (no such union, message names it), GH_ECORRUPT (a cycle) or
 * GH_ENOMEM. *out is the caller's, freed with scope_free. */
int scope_build(store_txn *t, int64_t root, scope **out);
void scope_free(scope *sc);

/* The union record rec (MessagePack in schema order) of scoped collection c
 * belongs to: 1 with *id, 0 when it has none (absent or not an int). */
int scope_record_union(const store_coll *c, const void *rec, size_t n, int64_t *id);

/* The name of union id (from the unions collection in t) into buf; "" when
 * it has none or is not there. */
void scope_union_name(store_txn *t, int64_t id, char *buf, size_t size);

/* 1 if union id is in the scope. */
int scope_has(const scope *sc, int64_t id);

/* 1 if record rec (MessagePack in schema order) of c may be seen in sc:
 * always when sc is NULL or c is not scoped. 0 when not, and also for a
 * record that does not decode (the caller's own check reports those). */
int scope_visible(const scope *sc, const store_coll *c, const void *rec, size_t n);

/* 0 if a write leaving record rec of c may happen in sc, else GH_EINVAL
 * with a message naming the collection, the record's union (its name read
 * from t when it has one) and the scope's union. `what` says which side
 * ("the new record", "the stored record"). */
/* Set to 1 by scope_check_write when it refuses (per thread); the server
 * clears it before a handler and answers 403 when it is set after. */
extern _Thread_local int scope_refused;

int scope_check_write(store_txn *t, const scope *sc, const store_coll *c, const void *rec, size_t n,
                      const char *what);

/* Events of the log (bus.h) in a scoped request, read as records are:
 *
 *   <collection>.inserted|updated|deleted of a collection that declares a
 *          scope field: seen when its old and new records (those present)
 *          are in the scope; of a collection without one: always seen;
 *   any other event: seen when its payload names a union_id in the
 *          scope, or else a member_id of a member seen in the scope (the
 *          members collection's own scope). A map names them by key; an
 *          array (the framework's compact program.entry) by the positions
 *          its topic declares (topic_fields.h, bus.fields: the publisher's
 *          list, kept in the database), and an array whose topic declares
 *          none is seen only from the whole tree. An event naming neither (the
 *          federation's own, such as a draw's program.draw.* record:
 *          commitments, the public value, the seed; no personal data) is
 *          read in a scope with `unnamed` set (the server sets it for
 *          auditors and admins: an auditor of a town checks the draws its
 *          members took part in) and otherwise only from the whole tree
 *          (when in doubt, hide).
 *
 * bus.events and bus.dead skip events not seen. 1 if event (topic,
 * MessagePack payload) may be read in sc. */
#define SCOPE_MEMBERS "members"
int scope_event_visible(store_txn *t, const scope *sc, const char *topic, size_t tn,
                        const void *payload, size_t n);

/* 1 if event may be appended in sc (bus.publish): as scope_event_visible,
 * but an event naming no union or member only from the whole tree, whatever
 * `unnamed` says: below the root one writes only about one's own part. */
int scope_event_writable(store_txn *t, const scope *sc, const char *topic, size_t tn,
                         const void *payload, size_t n);

#endif

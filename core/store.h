/*
 * store.h — the LMDB store: databases, collections, indexes, transactions.
 *
 * The store knows nothing of Lua or the bus. It stores records as
 * MessagePack arrays in schema order (codec.h) under primary keys in the
 * tuple encoding, keeps every index in the same transaction as its record,
 * and keeps collection definitions inside the database.
 *
 * Layout of one database directory (one LMDB environment):
 *   _meta            "format" -> u32 format version; "db_id" -> 16 random bytes;
 *                    "gen" -> u64 schema generation; "def:<name>" -> definition
 *   c:<coll>         primary key -> record
 *   i:<coll>:<index> index key -> primary key (MDB_DUPSORT; unique indexes
 *                    hold one value per key)
 *
 * Transactions:
 *
 *     store_txn_begin(write)          store_txn_begin(parent = write txn)
 *            |                                     |  (a savepoint)
 *            v                                     v
 *         ACTIVE --commit--> gone              ACTIVE --commit--> merged into parent
 *            |                                     |
 *            +----abort----> gone                  +----abort----> parent as before
 *
 *   A top-level write transaction takes the writer lock file first, saying
 *   on stderr which process it waits for if the wait is long.
 *   When a write fails with GH_EMAPFULL the whole top-level transaction is
 *   dead: it is aborted, the map grown and the unit redone. store_unit() is
 *   that rule's one home: every writer's top-level unit goes through it (or,
 *   for a unit spanning several commits, through store_unit_again()).
 *
 * Lifetimes: pointers to record bytes handed out by the store point into the
 * memory map and are borrowed, valid until the next write in the same
 * transaction or the end of the transaction, whichever comes first.
 */
#ifndef GH_STORE_H
#define GH_STORE_H

#include <stddef.h>
#include <stdint.h>

#define STORE_FORMAT 1
#define STORE_MAX_KEY 511 /* LMDB's default key size limit */
#define STORE_MAX_FIELDS 256
#define STORE_MAX_INDEX_FIELDS 8
/* A writer that waits this long for another process's writer lock says so
 * on stderr (tests/cli/concurrency.sh reads the value from here). */
#define STORE_WAIT_QUIET_MS 2000

/* ---- definitions -------------------------------------------------------- */

enum store_type { FT_INT, FT_NUMBER, FT_STRING, FT_BOOL, FT_DATE, FT_FEN, FT_ANY, FT__COUNT };

typedef struct store_field {
    char *name;
    int type;         /* enum store_type */
    int optional;     /* may be absent (nil) */
    char *label;      /* the column header people use (姓名), or NULL: import reads it,
                   * export --headers labels writes it */
    int pii_declared; /* the definition says what personal data it holds (pii.h) */
    int pii;          /* and this is it (enum pii_kind); see store_field_pii */
} store_field;

typedef struct store_index {
    char *name; /* field names joined with ',' */
    int unique;
    int nfields;
    int fields[STORE_MAX_INDEX_FIELDS]; /* positions in the record */
    unsigned dbi;                       /* LMDB handle, set by the store */
    int dupfixed; /* set by the store: its values (primary keys) are packed, all one size */
} store_index;

/* A collection definition. Field positions are the positions in the stored
 * record array; new fields are only ever appended, so a position, once
 * given, keeps its meaning while records exist. */
typedef struct store_coll {
    char *name;
    int key;      /* position of the primary key field */
    int auto_key; /* integer key assigned on insert when absent */
    int extra;    /* position of the hidden field (named "", type any) holding unknown
                   * fields as a map, or -1 when unknown fields are refused */
    int nfields;
    store_field *fields;
    int nindexes;
    store_index *indexes;
    int events;   /* writes publish <name>.inserted/updated/deleted on the bus */
    int scope;    /* 1 + position of the scope field (an int: the union a record belongs to),
                   * or 0 when the collection is not scoped; a scoped request of `gonghui
                   * serve` sees and writes only records of its union's subtree (scope.h) */
    unsigned dbi; /* the records, set by the store */
    /* Runtime, kept by the store: the largest integer key known in write
     * transaction rt_txnid (for automatic keys and appends). */
    size_t rt_txnid;
    int64_t rt_max;
    struct store_coll *retired_next; /* the store's list of replaced definitions */
} store_coll;

/* The name of a type ("int", "date", ...), and the type of a name (-1 if none). */
/* The name people know a field by: its label (身份证号) when the definition
 * gives one, else its name (borrowed, valid while the definition is). For
 * messages; code and files use the name. */
const char *store_field_label(const store_coll *c, int pos);

const char *store_type_name(int type);
int store_type_of(const char *name);

/* Frees a definition made by the caller or the store; NULL is a no-op. */
void store_coll_free(store_coll *c);

/* Position of a field by name, or -1. */
int store_field_pos(const store_coll *c, const char *name);

/* The kind of personal data a field holds (enum pii_kind): what its
 * definition declares, else pii.h's guess from its name and label. The one
 * question every display, export and public list asks of a field. */
int store_field_pii(const store_field *f);

/* Serialises a definition to MessagePack (schema.c). 0 or GH_ENOMEM. */
struct codec_buf;
int store_def_encode(const store_coll *c, struct codec_buf *out);
/* Parses a definition; the caller frees *out with store_coll_free.
 * 0 or GH_ECORRUPT / GH_ENOMEM. */
int store_def_decode(const void *p, size_t n, store_coll **out);
/* A field of a collection gonghui keeps for itself (_events, _runs, ...). */
typedef struct store_sysfield {
    const char *name;
    int type, optional;
} store_sysfield;

/* The definition of such a collection: fields in the given order, the key
 * at position 0 (an automatic integer when auto_key), no indexes, no extra
 * fields. Caller frees with store_coll_free; NULL when out of memory. */
store_coll *store_sysdef(const char *name, const store_sysfield *f, int n, int auto_key);

/* 1 if records written with `old` read correctly with `cur`: the same key
 * and extra-fields slot, and old's fields are cur's first fields with the
 * same names and types (cur may have appended some). */
int store_layout_compatible(const store_coll *old, const store_coll *cur);

/* 1 if two definitions say the same (fields by name, types, key, indexes),
 * whatever their field order: defining b over a would change nothing. */
int store_def_equivalent(const store_coll *a, const store_coll *b);

/* Checks a definition for sense (names, key type, index fields). 0 or
 * GH_ESCHEMA/GH_EUNKNOWN with the message naming what is wrong. */
int store_def_check(const store_coll *c);

/* GH_ESCHEMA when a name or label of the definition is not UTF-8 text (a
 * new definition: store_define; stored ones are read as they are). */
int store_def_text(const store_coll *c);

/* ---- databases ----------------------------------------------------------------- */

typedef struct store store;
typedef struct store_txn store_txn;

enum { STORE_CREATE = 1, STORE_RDONLY = 2 };

/* Opens the database in directory `path`. With STORE_CREATE a missing or
 * empty directory becomes a new database. Refuses (GH_ENOTDB) a path that is
 * a file, or a directory with other files or an LMDB environment that is not
 * ours, and (GH_EVERSION) a newer format. Clears stale reader slots.
 * On success *out is the caller's, closed with store_close(). */
int store_open(const char *path, int flags, store **out);
void store_close(store *s);

/* Doubles the map size (after GH_EMAPFULL, with no transaction open). */
int store_grow(store *s);

/* The 16-byte database id (borrowed, valid until store_close). */
const unsigned char *store_db_id(const store *s);

/* Takes the named lock `name` of this database for this store handle (an
 * open-file-description lock on a byte of gonghui.lock chosen by the name's
 * hash), without waiting: one holder per name across processes, dropped by
 * store_close or when the process dies. Used so that one import per file
 * and collection runs at a time. 0, or GH_EBUSY when another handle holds
 * it. A database whose lock file cannot be opened (read-only) has no locks:
 * 0. */
int store_lock_name(store *s, const char *name);

/* 1 if the database was opened read-only (its user cannot write data.mdb):
 * reads work, every write transaction fails with a message. */
int store_readonly(const store *s);

/* From now on every write transaction of s (not savepoints inside one
 * already open) fails with GH_EINVAL and the message `why` (copied); NULL
 * allows them again. The read-only REPL uses it, so that no write path,
 * however reached, gets past it. */
void store_refuse_writes(store *s, const char *why);
/* 1 while store_refuse_writes refuses them (for a write that may wait for a
 * state that can write, such as bus.fields' declaration). */
int store_writes_refused(const store *s);

/* While fn (may be NULL) returns non-zero, a write transaction waiting for
 * another process's lock gives up with GH_EBUSY instead of waiting on: the
 * sandbox sets it so --timeout and Ctrl-C stop a wait as they stop Lua. */
void store_set_wait_abort(int (*fn)(void));
const char *store_path(const store *s);

/* Incremented whenever this handle's definitions change (any collection);
 * a cached store_coll is current while the generation is unchanged. */
uint64_t store_generation(const store *s);

/* ---- transactions ---------------------------------------------------------------- */

/* Begins a transaction: a read transaction (write == 0, parent NULL), a
 * top-level write transaction, or a savepoint inside `parent`. */
int store_txn_begin(store *s, store_txn *parent, int write, store_txn **out);
/* Commits and frees. On failure the transaction is aborted and freed. */
int store_txn_commit(store_txn *t);
/* Commits a top-level write transaction without waiting for the disk: the
 * change survives a crash of the process (it is in the OS's cache) and
 * reaches the disk with the next synced commit or the kernel's writeback;
 * a power cut before that can lose it (the database stays consistent).
 * For bookkeeping that is not worth an fsync (the record of a run that
 * changed nothing). */
int store_txn_commit_lazy(store_txn *t);

/* Aborts and frees; NULL is a no-op. */
void store_txn_abort(store_txn *t);

/* ---- units of work ---------------------------------------------------------------- */

/* A unit that fills the map is redone with the map doubled, up to this many
 * times (from the 4 GiB default that is far beyond any disk). */
#define STORE_GROW_TRIES 16

/* One top-level unit of work: begins a write transaction t, calls
 * work(t, ctx), and ends t with commit(t, ctx) (NULL: store_txn_commit) when
 * work returned 0, or aborts it. When the work or the commit says
 * GH_EMAPFULL, the map is grown (store_grow) and the unit run again from the
 * start, up to STORE_GROW_TRIES times.
 * @param work  the unit's writes. Returns 0 to commit; anything else aborts t
 *     and is returned (a positive value is the caller's own, passed through).
 *     It may run more than once: it must reset what an earlier run of it
 *     accumulated in ctx (counts, buffers).
 * @param commit  NULL, or a commit of the caller's (one that keeps figures
 *     around store_txn_commit); it must end t whatever it returns.
 * @return 0; work's or commit's code; store_txn_begin's code; GH_EMAPFULL
 *     when the tries ran out or the map cannot grow (the last error then
 *     says why: a read of this process is open). */
int store_unit(store *s, int (*work)(store_txn *t, void *ctx),
               int (*commit)(store_txn *t, void *ctx), void *ctx);

/* The same rule for a unit the caller runs itself (one whose transaction
 * is committed part-way, as import --chunk does): after the unit's try
 * number `attempt` (0 first) ended, with t aborted, with code rc: 1 when it
 * should run again (rc was GH_EMAPFULL, tries are left and the map grew),
 * else 0. */
int store_unit_again(store *s, int rc, int attempt);
int store_txn_is_write(const store_txn *t);
/* The store a transaction belongs to (borrowed). */
store *store_txn_store(const store_txn *t);
/* Number of record writes (puts and deletes) done in this transaction so
 * far; changes whenever borrowed record pointers may have gone stale. */
uint64_t store_txn_writes(const store_txn *t);

/* Records written in a transaction, per collection. */
typedef struct store_counts {
    char *name;
    uint64_t inserted, updated, deleted;
} store_counts;

/* The writes of t so far (savepoints merged in when they commit, dropped
 * when they abort): *n entries, borrowed until t ends or writes again. */
const store_counts *store_txn_counts(const store_txn *t, int *n);
/* A copy of n counts that outlives their transaction, with one zeroed entry
 * after them (caller frees with store_counts_free); NULL when out of memory. */
store_counts *store_counts_copy(const store_counts *c, int n);
/* Frees a store_counts_copy of n counts; NULL is a no-op. */
void store_counts_free(store_counts *c, int n);
/* Counts by name that share a transaction's fate (the bus counts a run's
 * events per topic as it appends them, so the run's record needs no second
 * walk over the log): one more for `name` (len bytes) in t; a savepoint's
 * are added to its parent's when it commits and dropped when it aborts.
 * Best effort: out of memory, a count is lost. */
void store_txn_tally(store_txn *t, const char *name, size_t len);
/* t's tallies so far (the count in .inserted), borrowed like store_txn_counts. */
const store_counts *store_txn_tallies(const store_txn *t, int *n);

/* One pointer a layer above keeps with transaction t (the bus: its event
 * contexts, bus.c), NULL until set. store_txn_set_aux takes ownership of p:
 * free_fn(p) is called when t ends (commit or abort; a savepoint's own, not
 * its parent's), or when another pointer is set. */
void *store_txn_aux(const store_txn *t);
void store_txn_set_aux(store_txn *t, void *p, void (*free_fn)(void *));

/* ---- definitions in a database ------------------------------------------------- */

/* Brings the cached definitions up to date for transaction t (cheap when
 * they are: one comparison). store_generation() changes when they moved. */
int store_sync(store_txn *t);

/* The definition of a collection, or GH_ENOTFOUND. Borrowed: the memory
 * stays valid until store_close, but it is the current definition only
 * while store_generation() is unchanged. */
int store_coll_get(store_txn *t, const char *name, const store_coll **out);

/* Defines or redefines a collection in write transaction `t`. Takes
 * ownership of `def`. A new definition of an existing collection keeps the
 * field order; compatible changes (new optional fields, new or dropped
 * indexes, required -> optional) are applied, and new indexes are built from
 * the records; incompatible ones while records exist are GH_ESCHEMA. */
int store_define(store_txn *t, store_coll *def);

/* The current definition of system collection def->name in write
 * transaction t, (re)defined from `def` first unless the stored one says
 * the same. Takes ownership of def. */
int store_sys_ensure(store_txn *t, store_coll *def, const store_coll **out);

/* Drops a collection and its indexes. */
int store_drop(store_txn *t, const char *name);

/* Names of all collections, in order, as a NUL-separated list ending with
 * an empty string; caller frees with free(). */
int store_list(store_txn *t, char **names);

/* ---- records ---------------------------------------------------------------------- */

enum store_put_mode { STORE_INSERT, STORE_REPLACE, STORE_UPDATE };

/* Encodes the primary key of a record (its key field) into `out`. */
int store_record_key(const store_coll *c, const void *rec, size_t n, struct codec_buf *out);

/* Fetches the record under encoded key `key`. *val is borrowed (see top).
 * 0 or GH_ENOTFOUND. */
int store_get(store_txn *t, const store_coll *c, const void *key, size_t klen, const void **val,
              size_t *vlen);

/* Writes a record whose bytes were encoded in schema order (checked by the
 * caller). INSERT fails with GH_EEXISTS if the key exists, UPDATE with
 * GH_ENOTFOUND if it does not, REPLACE does either. Unique indexes are
 * checked first (GH_EEXISTS naming the index, the value and the existing
 * record's key) and nothing is written on any error. */
int store_put(store_txn *t, const store_coll *c, int mode, const void *rec, size_t n);

/* Deletes the record under `key` and its index entries. 0 or GH_ENOTFOUND. */
int store_delete(store_txn *t, const store_coll *c, const void *key, size_t klen);

/* The next integer key of an auto-key collection: one more than the
 * largest key written or seen in this write transaction (last key + 1, or
 * 1, at its start). */
int store_next_id(store_txn *t, const store_coll *c, int64_t *id);

/* Number of records. */
int store_count(store_txn *t, const store_coll *c, uint64_t *n);

/* Deletes every record of c and every index entry, keeping the definition
 * (what coll:load does to a collection it filled when it fails); a bulk
 * load of c attached to t is dropped with them. Counted as deletions, and
 * publishes no change event. 0 or a GH_E* code. */
int store_coll_empty(store_txn *t, const store_coll *c);

/* Looks up a unique index by encoded index key; *pk borrowed. */
int store_find(store_txn *t, const store_coll *c, int index, const void *ikey, size_t iklen,
               const void **pk, size_t *pklen);

/* ---- scans ------------------------------------------------------------------------- */

/* Bulk loading (store_bulk.c), for `gonghui import` and coll:load: attached
 * to write transaction t, store_put(t, c, STORE_INSERT, ...) of collection c
 * checks and refuses rows as always and writes their records, but holds their
 * index entries back; they are sorted and appended when t commits (or when
 * they pass `budget` bytes: 0 means STORE_BULK_BUDGET). Meanwhile store_find
 * of a unique index of c sees the load's rows; a scan or count of one of c's
 * indexes, a delete and any other write of c write the held entries into
 * their tables first.
 * A chunked load attaches the same store_bulk to each next transaction
 * (store_bulk_attach); the transaction's end detaches it. store_bulk_free
 * after the last. */
#define STORE_BULK_BUDGET ((size_t)128 << 20)
typedef struct store_bulk store_bulk;
int store_bulk_begin(store_txn *t, const store_coll *c, size_t budget, store_bulk **out);
int store_bulk_attach(store_bulk *b, store_txn *t, const store_coll *c);
int store_bulk_flush(store_bulk *b);
/* store_find for a unique index of the collection b loads, as b sees it: its
 * held and set-aside entries too (store_find sees only the table). *pk is
 * valid until the next write. */
int store_bulk_find(store_bulk *b, const store_coll *c, int index, const void *ikey, size_t iklen,
                    const void **pk, size_t *pklen);
void store_bulk_free(store_bulk *b);

typedef struct store_scan store_scan;

/* A scan over the records (index -1, in key order) or over index `index`.
 * Bounds are encoded keys or key prefixes: a key is in range when it is
 * >= lo and, compared over hi's length, <= hi (so a prefix bound takes all
 * keys that start with it; hi is whole elements). `prefix` (optional)
 * limits the scan to keys starting with it. Any of lo/hi/prefix may be NULL. The scan copies the
 * bounds. */
typedef struct store_range {
    const void *lo, *hi, *prefix;
    size_t lolen, hilen, prefixlen;
    int prefix_whole; /* prefix is whole elements (equality), not the start of a string */
    int reverse;
} store_range;

int store_scan_open(store_txn *t, const store_coll *c, int index, const store_range *r,
                    store_scan **out);
/* Moves to the next record: 0 with *pk and *val borrowed (see top), or
 * GH_ENOTFOUND at the end. */
int store_scan_next(store_scan *sc, const void **pk, size_t *pklen, const void **val, size_t *vlen);
/* One record of store_scan_batch: its key and value, borrowed like
 * store_scan_next's. */
typedef struct store_rec {
    const void *pk, *val;
    size_t pkn, n;
} store_rec;
/* Up to max (>= 1) next records into out: their count, or GH_ENOTFOUND at
 * the end, or an error. A forward whole-collection scan fills many in one
 * call (count_by: the call and the stores of a step per record were a
 * sixth of its work); any other scan gives one, like store_scan_next, and
 * an index scan's key in out[0].pk is valid until the next call. */
int store_scan_batch(store_scan *sc, store_rec *out, int max);
/* The current record again (after writes in the same transaction moved
 * pages). 0 or GH_ENOTFOUND if it was deleted. */
int store_scan_current(store_scan *sc, const void **val, size_t *vlen);
void store_scan_close(store_scan *sc);

/* Counts the entries of a range without reading records (exact; uses
 * duplicate counts where the range is one key). */
int store_range_count(store_txn *t, const store_coll *c, int index, const store_range *r,
                      uint64_t *n);

/* ---- whole-database operations -------------------------------------------------- */

/* Encodes the index key of record `rec` for index `ix` into out. Returns 0,
 * or 1 if the record has no entry in the index (a nil field). */
int store_index_key(const store_coll *c, const store_index *ix, const void *rec, size_t n,
                    struct codec_buf *out);

/* Calls report(msg) for every inconsistency: records that fail to decode,
 * index entries missing or extra. *problems is the count. */
/* Exit code of a process ended by a fault inside a database's map (damage). */
#define STORE_EXIT_DAMAGED 1

/* `check` for the database at path, safe on a damaged file: the meta pages
 * are read and checked first, then store_check runs in a child process,
 * so a fault reading damaged pages is reported as damage (report gets a
 * message; *problems becomes non-zero) instead of crashing the caller.
 * report is called in the child for what store_check finds and in the
 * caller for damage. 0 when the check ran (problems or not), else GH_E*:
 * GH_ECORRUPT with the message when the meta pages show damage, GH_ENOTDB
 * when it is not a database (the child printed why on stderr). */
int store_check_path(const char *path, void (*report)(void *ctx, const char *msg), void *ctx,
                     uint64_t *problems);

int store_check(store *s, void (*report)(void *ctx, const char *msg), void *ctx,
                uint64_t *problems);

/* A compacted, consistent copy into `dest` (a new or empty directory). */
int store_backup(store *s, const char *dest);
/* Rewrites the database in place as backup's compacted copy (each collection
 * and index in key order, no free pages): only while no other process has it
 * open (GH_EBUSY naming the process otherwise; the file is left as it was).
 * *before, *after: the file's size. The caller closes the store next: its
 * map still shows the old file. */
int store_compact(store *s, uint64_t *before, uint64_t *after);
/* The bytes of the file's free pages (written once, free now: what compact
 * gives back). 0 or an LMDB error. */
int store_free_bytes(store_txn *t, uint64_t *bytes);

typedef struct store_stat {
    uint64_t entries;
    uint64_t bytes; /* pages used, times page size */
    uint32_t depth;
} store_stat;

/* Statistics of a collection's records (index -1) or of one of its indexes. */
int store_stat_of(store_txn *t, const store_coll *c, int index, store_stat *st);

/* Size of the data file, and map size. */
int store_file_info(store *s, uint64_t *file_bytes, uint64_t *map_bytes);

#endif

/*
 * bus.h — the event bus below Lua: topics, patterns, the durable log,
 * consumer cursors and dead letters.
 *
 * The bus builds on the store: its log and bookkeeping are three system
 * collections (names starting with '_' are refused from scripts, so only
 * the bus writes them), so `gonghui check`, `backup` and `stat` cover them:
 *
 *   _events     seq (auto key) | topic | time | payload (any) | run | origin
 *               (origin nil: published here); or compact: seq | context |
 *               time - its time | payload (bus.c, "compact events")
 *   _evctx      id (auto key) | topic | run | time | origin: the contexts
 *   _consumers  name (key) | cursor | pattern | script | updated
 *   _dead       id (auto key) | consumer | seq | topic | time | payload | error |
 *               attempts | retry
 *
 * An event is appended in the caller's write transaction, so it exists
 * exactly when the change around it commits. Sequence numbers only grow;
 * time is milliseconds since 1970 (UTC).
 *
 * Topics are dotted words: `award.issued`. A segment is one or more bytes
 * other than '.', '*', spaces and control characters (Chinese is fine).
 * Patterns are topics where a segment may be `*` (exactly one segment) and
 * the last may be `**` (one or more segments).
 */
#ifndef GH_BUS_H
#define GH_BUS_H

#include "store.h"

#include <stddef.h>
#include <stdint.h>

#define BUS_MAX_TOPIC 200

/* 0, or GH_EINVAL with a message saying what is wrong with the topic. */
int bus_topic_check(const char *topic, size_t n);
/* 0, or GH_EINVAL with a message saying what is wrong with the pattern. */
int bus_pattern_check(const char *pattern, size_t n);
/* 1 if topic matches pattern (both already checked), else 0. */
int bus_match(const char *pattern, size_t pn, const char *topic, size_t tn);

/* Defines the bus's collections if they are missing (write transaction). */
int bus_init(store_txn *t);

/* Appends an event in write transaction t. `payload` is one MessagePack
 * value (pn bytes), `run` the publishing run's id (may be NULL). *seq gets
 * the new sequence number; `time` is the event's (bus_now_ms()). An event
 * with a run is counted under its topic in t's tallies (store_txn_tally), so
 * the run's record has its events per topic without bus_count_run. */
int bus_append(store_txn *t, const char *topic, size_t tn, const void *payload, size_t pn,
               const char *run, int64_t time, int64_t *seq);

/* One event read from the log: pointers borrowed from the transaction
 * (valid until it ends or writes). */
typedef struct bus_event {
    int64_t seq, time;
    const char *topic, *payload, *run, *origin;
    size_t topic_len, payload_len, run_len, origin_len;
} bus_event;

/* Decodes an _events record read in transaction t, in full or compact (its
 * topic, run and time from its context in _evctx, bus.c). The pointers are
 * borrowed like bus_event's; those of a compact event's topic, run and origin
 * stay valid until t ends. 0, GH_ENOMEM or GH_ECORRUPT. */
int bus_event_decode(store_txn *t, const void *rec, size_t n, bus_event *ev);

/* Any _events record read in t as the record in full (out reset first), so
 * what reads the collection as records (export) sees one layout. 0 or as
 * bus_event_decode. */
int bus_event_full(store_txn *t, const void *rec, size_t n, struct codec_buf *out);

/* `gonghui check`'s part for the log: every event decodes, a compact one's
 * context included. Each one that does not is counted in *problems and
 * reported (the message names the event). 0 or an error reading the log. */
int bus_check(store_txn *t, void (*report)(void *ctx, const char *msg), void *ctx,
              uint64_t *problems);

/* Opens a scan of the log from sequence `from` (inclusive) on. */
int bus_log_scan(store_txn *t, int64_t from, store_scan **out);

/* The first sequence number still in the log (0 for an empty log). */
int bus_first_seq(store_txn *t, int64_t *seq);

/* The last sequence number (0 for an empty log). */
int bus_last_seq(store_txn *t, int64_t *seq);

/* The first sequence number whose time is at or after `ms`, or last+1. */
int bus_seq_at_time(store_txn *t, int64_t ms, int64_t *seq);

/* This database's id in hex: the origin of the events published here (an
 * event's origin is stored only when it came from another database). */
void bus_origin_hex(store *s, char out[33]);

/* Milliseconds since 1970. */
int64_t bus_now_ms(void);

/* Events of one topic, as counted by bus_count_run. */
typedef struct bus_topic_count {
    char *topic;
    uint64_t n;
} bus_topic_count;

/* Counts, per topic, the events after sequence `after` published by run
 * `run` (all of them when run is NULL), as t sees the log. *out (caller
 * frees with bus_topic_counts_free) has *n entries in topic order. */
int bus_count_run(store_txn *t, int64_t after, const char *run, bus_topic_count **out, int *n);
void bus_topic_counts_free(bus_topic_count *c, int n);
/* The same from the tallies of the transactions that appended them
 * (store_txn_tally: a run's events counted as they were published, without
 * reading the log again): n tallies c become *out, *nout entries in topic
 * order. 0 or GH_ENOMEM. */
int bus_topic_counts_of(const store_counts *c, int n, bus_topic_count **out, int *nout);

/* ---- consumers ------------------------------------------------------------------- */

typedef struct bus_consumer {
    char *name, *pattern, *script;
    int64_t cursor; /* the last sequence number handled */
    int64_t updated;
} bus_consumer;

void bus_consumer_clear(bus_consumer *c);

/* Reads consumer `name`. 0, GH_ENOTFOUND (message names the consumer and
 * lists the known ones), or another code. Caller frees with
 * bus_consumer_clear. */
int bus_consumer_get(store_txn *t, const char *name, bus_consumer *out);

/* Writes consumer c (insert or replace). */
int bus_consumer_put(store_txn *t, const bus_consumer *c);

/* Calls fn for each consumer in name order. */
int bus_consumer_each(store_txn *t, int (*fn)(void *ctx, const bus_consumer *c), void *ctx);

/* Parks an event that failed `attempts` times for consumer `name`. */
int bus_dead_put(store_txn *t, const char *name, const bus_event *ev, const char *error,
                 int attempts, int64_t *id);

/* A dead letter: pointers borrowed like bus_event's. */
typedef struct bus_dead {
    int64_t id;
    const char *consumer, *error;
    size_t consumer_len, error_len;
    bus_event ev; /* seq, topic, time, payload (run and origin are not kept) */
    int attempts;
    int retry; /* marked to be tried again on the consumer's next run */
} bus_dead;

int bus_dead_decode(const void *rec, size_t n, bus_dead *d);

/* Reads dead letter id into d, its bytes copied into `copy` (reset first; the
 * caller frees it with codec_buf_free): d's pointers stay valid while copy
 * is unchanged, whatever is written meanwhile. 0, or GH_ENOTFOUND with a
 * message. */
int bus_dead_get(store_txn *t, int64_t id, bus_dead *d, struct codec_buf *copy);

/* Calls fn for each dead letter (of `consumer` only, unless NULL), in id order. */
int bus_dead_each(store_txn *t, const char *consumer, int (*fn)(void *ctx, const bus_dead *d),
                  void *ctx);

/* Rewrites dead letter id: attempts (-1 keeps), error (NULL keeps), retry flag. */
int bus_dead_update(store_txn *t, int64_t id, int attempts, const char *error, int retry);

/* Deletes dead letter id. */
int bus_dead_drop(store_txn *t, int64_t id);

/* The lowest cursor of all consumers (INT64_MAX when there are none). */
int bus_min_cursor(store_txn *t, int64_t *min);

/* Deletes log events with seq <= upto. *n gets how many. */
int bus_trim(store_txn *t, int64_t upto, uint64_t *n);

#endif

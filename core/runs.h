/*
 * runs.h — run records: every `gonghui run`, successful or not, dry or real,
 * leaves one record an auditor can read back with `gonghui runs`.
 *
 * Built on store.h and codec.h.
 *
 * Records live in the system collection `_runs` (RUNS_COLLECTION), defined
 * on first use through store_define. Scripts cannot reach it: db.define
 * refuses names starting with '_', and the sandbox hides and refuses
 * `_`-names on the db table (sandbox.c).
 *
 * A record is written in its own write transaction after the run's own work
 * has committed or been rolled back, so a failed, interrupted or dry run is
 * recorded as well. A run killed with SIGKILL (or stopped by the watchdog,
 * which ends the process) leaves no record: its work is gone with it.
 */
#ifndef GH_RUNS_H
#define GH_RUNS_H

#include "store.h"

#include <stdint.h>
#include <stdio.h>

#define RUNS_COLLECTION "_runs"

/* Events a run published, per topic: the hook for the event bus (see
 * runs_rec.events). */
typedef struct runs_topic {
    const char *topic;
    uint64_t count;
} runs_topic;

/* One module a run required or native plugin it loaded: its path and the
 * SHA-256 of the bytes loaded; for a plugin, "NAME VERSION" (else NULL). */
typedef struct runs_module {
    char *path;
    char sha256[65];
    char *plugin;
} runs_module;

/* Everything a record holds. Strings are borrowed for the call. */
typedef struct runs_rec {
    const char *uid;    /* 16 hex digits chosen at the start of the run */
    const char *script; /* the script's path, or "-e" for a snippet only */
    const char *script_sha256;
    const char *code; /* the -e snippet, or NULL */
    const runs_module *modules;
    int nmodules;
    char *const *params; /* name=value strings as given */
    int nparams;
    uint64_t seed;
    int64_t clock; /* the time the script saw (os.time()), seconds since the epoch */
    const char *operator_name;
    const char *host;
    double started, ended; /* seconds since the epoch */
    const char *mode;      /* "run", "atomic" or "dry-run" */
    const char *outcome;   /* "ok", "error", "timeout", "memory", "interrupted" */
    const char *error;     /* the message, or NULL */
    int exit_code;
    const store_counts *writes; /* per collection; for a dry run, what would have changed */
    int nwrites;
    const runs_topic *events; /* per topic (the bus fills these in); may be NULL */
    int nevents;
    const char *summary; /* what an import or export did, in a line ("1,000 rows read: ..."),
                          * or NULL */
    /* A request of `gonghui serve` (or a REPL session with .write on): the
     * account, its union, and the endpoint ("POST /gift_drive/claim"); NULL
     * / has_union 0 for a plain run. */
    const char *account;
    int64_t union_id;
    int has_union;
    const char *endpoint;
    /* The folders of `run --in DIR` and `--out DIR` (absolute; NULL / 0:
     * none given), so that the replay command reads and writes where the
     * run did. */
    const char *const *in_dirs;
    int nin;
    const char *out_dir;
} runs_rec;

/* Appends record r to `_runs` in its own write transaction (defining the
 * collection on first use). On success *id (if not NULL) is the record's
 * number. When another process holds the writer lock, a child process
 * waits for it and writes the record (so a run that only read never waits
 * for a long writer); *id is then 0. 0 or a GH_E* code with err_msg. */
int runs_record(store *s, const runs_rec *r, int64_t *id);

/* Appends record r to `_runs` inside write transaction t (the server's
 * group commit: the record commits with the request's writes, or not at
 * all). scratch is the caller's buffer, reused. 0 or a GH_E* code. */
struct codec_buf;
int runs_record_in(store_txn *t, const runs_rec *r, struct codec_buf *scratch, int64_t *id);

/* Prints the last `limit` runs (0: all), newest last, as a table on f.
 * 0 or a GH_E* code. runs_list_account lists only the runs of account
 * (NULL: all). */
int runs_list(store *s, FILE *f, int limit);
int runs_list_account(store *s, FILE *f, int limit, const char *account);

/* Prints run `which` (its number, or its uid) on f: every field, the
 * writes per collection, the events per topic, and the command that
 * replays it. 0, GH_ENOTFOUND, or another GH_E* code. */
int runs_show(store *s, const char *which, FILE *f);

/* 64 random bits (getrandom; the clock and the pid when it has none), for
 * seeds and run uids. */
uint64_t runs_random64(void);
/* A new run uid: 16 lowercase hex digits and a NUL in out. */
void runs_new_uid(char out[17]);

/* Who runs this process: the login name of its user (or $USER, or "?").
 * Borrowed, valid until the next call. */
const char *runs_operator(void);

#endif

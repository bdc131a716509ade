/*
 * accounts.h — the people who may use `gonghui serve`: accounts bound to a
 * union of the union tree with a role, passwords hashed with argon2id
 * (libsodium's crypto_pwhash_str), lock-out after repeated failures, and
 * the `gonghui users` command.
 *
 * Accounts live in the system collection `_accounts` (scripts cannot reach
 * names starting with '_'). A record: name (key), union_id, role, station
 * (optional: the rest station a station operator serves), hash, disabled,
 * failures (wrong passwords in a row), locked_until (seconds since the
 * epoch; 0: not locked), created, changed, sessions_ended (optional: the
 * server refuses a session begun before it; set by disable and passwd).
 *
 * Roles, from most to least:
 *   admin     federation admin: reads and writes its union's subtree (the
 *             whole tree when bound to the root), manages nothing else here
 *   clerk     union clerk: reads and writes its union's subtree
 *   operator  station operator: the same scope, and only routes open to
 *             operators (claims at its station: a station of the stations
 *             collection in its union's subtree, checked by add and grant;
 *             the other roles have none)
 *   auditor   reads its subtree and the run records; never writes
 *
 * Built on store.h and codec.h, and libsodium; knows nothing of HTTP.
 */
#ifndef GH_ACCOUNTS_H
#define GH_ACCOUNTS_H

#include "store.h"

#include <stdint.h>
#include <stdio.h>

#define ACCOUNTS_COLLECTION "_accounts"
#define ACCOUNTS_STATIONS "stations" /* the rest stations: station_id (key), a scope field */
#define ACCOUNTS_MAX_FAILURES 5      /* wrong passwords in a row before a lock-out */
#define ACCOUNTS_LOCK_SECONDS (15 * 60)
#define ACCOUNTS_HASH_MAX 128 /* >= crypto_pwhash_STRBYTES */

enum { ROLE_ADMIN, ROLE_CLERK, ROLE_OPERATOR, ROLE_AUDITOR, ROLE__COUNT };

typedef struct account {
    char name[65];
    int64_t union_id;
    int role;
    char station[65]; /* "" when none */
    char hash[ACCOUNTS_HASH_MAX];
    int disabled;
    int64_t failures;
    int64_t locked_until;
    double created, changed;
    double sessions_ended; /* sessions begun before this time (wall clock s) are over; 0: none */
} account;

/* "admin", "clerk", "operator", "auditor"; and back (-1 if none). */
const char *accounts_role_name(int role);
int accounts_role_of(const char *name);

/* Reads account `name` in t into *out. 0, GH_ENOTFOUND, or another code. */
int accounts_get(store_txn *t, const char *name, account *out);

/* Writes *a (insert or replace) in write transaction t. */
int accounts_put(store_txn *t, const account *a);

/* Hashes a password with argon2id into out (a crypto_pwhash_str string).
 * The cost is libsodium's "interactive" one, or its minimum when the
 * environment variable GONGHUI_PWHASH_FAST=1 (for tests only). 0 or
 * GH_ENOMEM. */
int accounts_hash(const char *password, char out[ACCOUNTS_HASH_MAX]);

/* 1 if password matches a->hash (constant time in the password). */
int accounts_verify(const account *a, const char *password);

/* A login's bookkeeping in write transaction t at time now: a success
 * clears the failures; a failure counts one, and the ACCOUNTS_MAX_FAILURES-th
 * in a row locks the account for ACCOUNTS_LOCK_SECONDS. */
int accounts_note_login(store_txn *t, const char *name, int ok, int64_t now);

/* `gonghui users add|list|disable|enable|grant|passwd|unlock ...` (argv
 * after "users"). Passwords are read from standard input (one line; not
 * echoed on a terminal). Returns the exit code; messages on stderr. */
int accounts_cli(store *s, int argc, char **argv, FILE *in);

#endif

/*
 * serve.h — `gonghui serve`: one process holds the database and serves
 * programs' endpoints over HTTP (libmicrohttpd) to accounts bound to the
 * union tree.
 *
 *   gonghui serve [--port N] [--bind ADDR] [--port-file FILE] [--scripts DIR]
 *                 [--body-limit BYTES] [--timeout SECS] [--memory BYTES]
 *                 [--session-hours H] [--max-batch N] [--http-threads N]
 *
 * Threads:
 *
 *   main      starts everything, then waits for SIGTERM/SIGINT: stops taking
 *             connections, lets requests in flight finish, stops the engine,
 *             closes the database
 *   http      libmicrohttpd's pool (--http-threads, epoll): parse, sessions,
 *             static files, JSON errors; hands a job to the engine and
 *             suspends the connection, which the engine resumes with the
 *             answer
 *   login     one short thread per login (argon2id takes a while): asks the
 *             engine for the account, checks the password, asks it to store
 *             the outcome and the session, then resumes the connection
 *   engine    the only thread that touches the store and Lua: takes every
 *             job queued, answers reads at once, then runs the writes of
 *             the group in one LMDB transaction, each in its own savepoint,
 *             commits once (one fsync) and only then answers them; stores
 *             the sessions' changes (serve_sess.c) with its groups
 *   watchdog  stops a handler that passes its time limit
 *
 * Calls store, scope, accounts, sandbox, lua_store,
 * lua_bus, lua_json and runs.
 */
#ifndef GH_SERVE_H
#define GH_SERVE_H

#include "store.h"

/* Runs the server on database `db_path` with the arguments after "serve".
 * Returns the process exit code (0 after a clean shutdown). */
int serve_main(const char *db_path, int argc, char **argv);

/* Deletes every stored session of account `name` in write transaction t
 * (`users disable`, `users passwd`; core/serve_sess.c). 0 or a code. */
int serve_end_sessions(store_txn *t, const char *name);

#endif

/*
 * cli_events.c — `gonghui events ...`: look at the event log and drive
 * durable consumers from the command line.
 *
 *   events tail [--topic PATTERN] [--since SEQ|TIME] [--limit N] [--follow] [--json]
 *   events consumers
 *   events run NAME               run the consumer's script; it processes its backlog
 *   events replay NAME --from SEQ|TIME
 *   events dead [NAME]            parked events
 *   events dead retry ID | drop ID
 *   events trim                   delete what every consumer has handled
 *
 * Calls bus.c, store.c and script.c (for the consumers' handlers, which
 * are Lua). Each command that writes (replay, dead retry/drop, trim) is one
 * unit of work through store_unit: when the map fills it grows and the unit
 * is redone, so its work function keeps nothing from an earlier try.
 */
#include "cli_events.h"
#include "cli.h"

#include "bus.h"
#include "codec.h"
#include "err.h"
#include "lua_bus.h"
#include "parse.h"
#include "script.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop_follow;

static void on_signal(int sig) {
    (void)sig;
    stop_follow = 1;
}

static void fmt_time(int64_t ms, char *out, size_t n) {
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(out, n, "%Y-%m-%d %H:%M:%S", &tm);
}

static int fail(int rc, const char *what) {
    fprintf(stderr, "gonghui events %s: %s\n", what, err_msg(rc));
    return 1;
}

static void print_event(const bus_event *ev, int json, const char *here) {
    codec_buf b;
    mp_reader r;
    char when[32];
    codec_buf_init(&b);
    mp_reader_init(&r, ev->payload, ev->payload_len);
    if (ev->payload_len == 0 || mp_to_json(&r, &b, CODEC_MAX_DEPTH) != 0) {
        b.len = 0;
        codec_buf_add(&b, "null", 4);
    }
    fmt_time(ev->time, when, sizeof when);
    if (json) {
        codec_buf line;
        codec_buf_init(&line);
        codec_json_str(&line, ev->topic, ev->topic_len);
        printf("{\"seq\":%lld,\"time\":%lld,\"topic\":%.*s,\"payload\":%.*s",
               (long long)ev->seq, /* i18n: ok */
               (long long)ev->time, (int)line.len, (char *)line.p, (int)b.len, (char *)b.p);
        if (ev->run) {
            line.len = 0;
            codec_json_str(&line, ev->run, ev->run_len);
            printf(",\"run\":%.*s", (int)line.len, (char *)line.p); /* i18n: ok */
        }
        codec_buf_free(&line);
        if (ev->origin) {
            printf(",\"origin\":\"%.*s\"}\n", (int)ev->origin_len, ev->origin); /* i18n: ok */
        } else {
            printf(",\"origin\":\"%s\"}\n", here); /* i18n: ok */
        }
    } else {
        printf("%8lld  %s  %-24.*s %.*s\n", (long long)ev->seq, when, (int)ev->topic_len, ev->topic,
               (int)b.len, (char *)b.p);
    }
    codec_buf_free(&b);
}

/* Prints events from *from on that match; *from moves past the last seen. */
static int tail_once(store *s, int64_t *from, const char *pattern, int64_t *left, int json) {
    store_txn *t;
    store_scan *sc;
    const void *pk, *v;
    size_t pkn, n;
    int rc = store_txn_begin(s, NULL, 0, &t);
    if (rc) {
        return rc;
    }
    rc = bus_log_scan(t, *from, &sc);
    if (rc == GH_ENOTFOUND) { /* nothing published yet */
        err_clear();
        store_txn_abort(t);
        return 0;
    }
    while (rc == 0 && *left != 0 && (rc = store_scan_next(sc, &pk, &pkn, &v, &n)) == 0) {
        bus_event ev;
        if ((rc = bus_event_decode(t, v, n, &ev))) {
            break;
        }
        *from = ev.seq + 1;
        if (pattern && !bus_match(pattern, strlen(pattern), ev.topic, ev.topic_len)) {
            continue;
        }
        char here[33];
        bus_origin_hex(s, here);
        print_event(&ev, json, here);
        if (*left > 0) {
            (*left)--;
        }
    }
    store_scan_close(sc);
    store_txn_abort(t);
    fflush(stdout);
    return rc == GH_ENOTFOUND ? 0 : rc;
}

/* Where the last n events matching pattern start (last + 1 when none). */
static int start_of_last(store *s, const char *pattern, int64_t n, int64_t *from) {
    store_txn *t;
    const store_coll *c;
    store_scan *sc;
    const void *pk, *v;
    size_t pkn, len;
    int64_t last = 0, seen = 0;
    int rc = store_txn_begin(s, NULL, 0, &t);
    if (rc) {
        return rc;
    }
    if ((rc = bus_last_seq(t, &last)) || store_coll_get(t, "_events", &c) != 0) {
        err_clear();
        store_txn_abort(t);
        *from = last + 1;
        return rc;
    }
    *from = last + 1;
    store_range r = {.reverse = 1};
    if (n > 0 && (rc = store_scan_open(t, c, -1, &r, &sc)) == 0) {
        while (seen < n && (rc = store_scan_next(sc, &pk, &pkn, &v, &len)) == 0) {
            bus_event ev;
            if ((rc = bus_event_decode(t, v, len, &ev))) {
                break;
            }
            if (!pattern || bus_match(pattern, strlen(pattern), ev.topic, ev.topic_len)) {
                *from = ev.seq;
                seen++;
            }
        }
        store_scan_close(sc);
        if (rc == GH_ENOTFOUND) {
            rc = 0;
        }
    }
    store_txn_abort(t);
    return rc;
}

static int cmd_tail(store *s, int argc, char **argv) {
    const char *pattern = NULL, *since = NULL;
    int follow = 0, json = 0;
    int64_t limit = -1, from = 1;
    cli_iter it;
    const cli_opt *o;
    const char *v;
    int got;
    cli_begin(&it, "events tail", argc, argv);
    while ((got = cli_next(&it, &o, &v)) > 0) {
        if (!o) {
            return cli_usage(&it, _("unknown argument %s"), v);
        } else if (cli_is(&it, o, "--topic")) {
            pattern = v;
        } else if (cli_is(&it, o, "--since")) {
            since = v;
        } else if (cli_is(&it, o, "--limit")) {
            char *end;
            limit = strtoll(v, &end, 10);
            if (*end || end == v || limit < 0) {
                return cli_usage(&it, _("--limit takes a number of events, not \"%s\""), v);
            }
        } else if (cli_is(&it, o, "--follow")) {
            follow = 1;
        } else if (cli_is(&it, o, "--json")) {
            json = 1;
        }
    }
    if (got < 0) {
        return 2;
    }
    if (pattern && bus_pattern_check(pattern, strlen(pattern)) != 0) {
        return fail(GH_EINVAL, "tail");
    }
    if (since) {
        char *end;
        long long seq = strtoll(since, &end, 10);
        if (*end == 0 && end != since) {
            from = seq;
        } else {
            int64_t ms;
            store_txn *t;
            int rc = parse_time(since, strlen(since), &ms);
            if (rc != 0) {
                fprintf(stderr,
                        _("gonghui events tail: --since \"%s\" %s: give a sequence number or "
                          "a time like \"2025-01-29 08:00\"\n"),
                        since, err_msg(rc));
                return 2;
            }
            ms *= 1000;
            if ((rc = store_txn_begin(s, NULL, 0, &t)) || (rc = bus_seq_at_time(t, ms, &from))) {
                store_txn_abort(t);
                return fail(rc, "tail");
            }
            store_txn_abort(t);
        }
    } else {
        /* like tail(1): the last 20 (or --limit) matching events, then --follow */
        int rc = start_of_last(s, pattern, limit >= 0 ? limit : 20, &from);
        if (rc) {
            return fail(rc, "tail");
        }
        if (limit >= 0 && follow) {
            limit = -1; /* --limit chose where to start; follow prints what comes */
        }
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    for (;;) {
        int rc = tail_once(s, &from, pattern, &limit, json);
        if (rc) {
            return fail(rc, "tail");
        }
        if (!follow || limit == 0 || stop_follow) {
            return 0;
        }
        struct timespec nap = {0, 200 * 1000 * 1000};
        nanosleep(&nap, NULL);
        if (stop_follow) {
            return 0;
        }
    }
}

static int print_consumer(void *ctx, const bus_consumer *c) {
    int64_t last = *(int64_t *)ctx;
    char when[32];
    fmt_time(c->updated, when, sizeof when);
    printf("%-20s %-24s %10lld %10lld  %s  %s\n", c->name, c->pattern, (long long)c->cursor,
           (long long)(last - c->cursor), when, c->script ? c->script : "-");
    return 0;
}

static int cmd_consumers(store *s) {
    store_txn *t;
    int64_t last = 0;
    int rc = store_txn_begin(s, NULL, 0, &t);
    if (rc == 0 && (rc = bus_last_seq(t, &last)) == 0) {
        printf("%-20s %-24s %10s %10s  %-19s  %s\n", "consumer", "pattern", "cursor", "lag",
               "updated", "script");
        rc = bus_consumer_each(t, print_consumer, &last);
    }
    store_txn_abort(t);
    return rc ? fail(rc, "consumers") : 0;
}

/* Runs consumer `name`: its script defines the handler, and bus.consumer
 * processes the backlog when it sees its own name (lbus_set_autorun). */
static int run_consumer(store *s, const char *name) {
    store_txn *t;
    bus_consumer c;
    int rc = store_txn_begin(s, NULL, 0, &t);
    if (rc == 0) {
        rc = bus_consumer_get(t, name, &c);
    }
    store_txn_abort(t);
    if (rc) {
        return fail(rc, "run");
    }
    if (!c.script || access(c.script, R_OK) != 0) {
        fprintf(stderr,
                _("gonghui events run: consumer '%s' was defined by %s, which cannot be read "
                  "now; run that script again from where it is (it calls bus.consumer), or "
                  "give its new place by running it once with gonghui run\n"),
                name, c.script ? c.script : "a script with no file");
        bus_consumer_clear(&c);
        return 1;
    }
    lbus_autorun done = {0};
    lbus_set_autorun(name, &done);
    char *script = c.script;
    c.script = NULL;
    bus_consumer_clear(&c);
    int code = script_run(s, script, 0, NULL);
    lbus_set_autorun(NULL, NULL);
    if (code == 0 && !done.ran) {
        fprintf(stderr,
                _("gonghui events run: %s ran but did not call bus.consumer('%s', ...); nothing "
                  "was processed\n"),
                script, name);
        code = 1;
    } else if (done.ran) {
        printf(_("consumer %s: %lld events handled, %lld parked%s\n"), name,
               (long long)done.handled, (long long)done.parked,
               done.parked ? " (gonghui events dead lists them)" : "");
    }
    free(script);
    return code;
}

/* The replay's unit of work: the consumer's cursor moved to just before
 * the event asked for (a sequence number, or the first event at or after a
 * time in ms when ms >= 0). */
typedef struct replay_unit {
    const char *name;
    int64_t seq, ms;
} replay_unit;

static int replay_work(store_txn *t, void *ctx) {
    replay_unit *u = ctx;
    bus_consumer c;
    int64_t first = 0;
    int rc = bus_consumer_get(t, u->name, &c);
    if (rc == 0 && (!c.script || access(c.script, R_OK) != 0)) {
        /* the replay would have nothing to run: say so before moving anything */
        rc = err_set(GH_ENOTFOUND,
                     _("consumer '%s' was defined by %s, which cannot be read now; run that "
                       "script again from where it is, then replay"),
                     u->name, c.script ? c.script : "a script with no file");
        bus_consumer_clear(&c);
        return rc;
    }
    if (rc) {
        return rc;
    }
    int64_t target = u->seq;
    if (u->ms >= 0) {
        rc = bus_seq_at_time(t, u->ms, &target);
    }
    /* a replay from below what was trimmed cannot be what was asked */
    if (rc == 0) {
        rc = bus_first_seq(t, &first);
    }
    if (rc == 0 && first > 1 && target < first) {
        rc = err_set(GH_EINVAL,
                     _("events before %lld were trimmed from the log; replay from %lld or "
                       "later"),
                     (long long)first, (long long)first);
    }
    int64_t last = 0;
    if (rc == 0 && (rc = bus_last_seq(t, &last)) == 0) {
        c.cursor = target - 1 < last ? target - 1 : last; /* past the end: what comes */
        rc = bus_consumer_put(t, &c);
    }
    bus_consumer_clear(&c);
    return rc;
}

static int cmd_replay(store *s, int argc, char **argv) {
    const char *name = NULL, *from = NULL, *v;
    const cli_opt *o;
    cli_iter it;
    int got;
    cli_begin(&it, "events replay", argc, argv);
    while ((got = cli_next(&it, &o, &v)) > 0) {
        if (cli_is(&it, o, "--from")) {
            from = v;
        } else if (!o && !name) {
            name = v;
        } else {
            return cli_usage(&it, _("one consumer at a time (%s is one too many)"), v);
        }
    }
    if (got < 0) {
        return 2;
    }
    if (!name || !from) {
        return cli_usage(
            &it, "%s",
            _("which consumer, from where? usage: gonghui events replay NAME --from SEQ|TIME"));
    }
    char *end;
    long long seq = strtoll(from, &end, 10);
    int64_t ms = -1;
    if (*end || end == from) {
        int rc = parse_time(from, strlen(from), &ms);
        if (rc != 0) {
            fprintf(stderr,
                    _("gonghui events replay: --from \"%s\" %s: give a sequence number or a "
                      "time like \"2025-01-29 08:00\"\n"),
                    from, err_msg(rc));
            return 2;
        }
        ms *= 1000;
    } else if (seq < 1) {
        fprintf(stderr, _("gonghui events replay: sequence numbers start at 1\n"));
        return 2;
    }
    replay_unit u = {name, seq, ms};
    int rc = store_unit(s, replay_work, NULL, &u);
    if (rc) {
        return fail(rc, "replay");
    }
    return run_consumer(s, name);
}

static int print_dead(void *ctx, const bus_dead *d) {
    codec_buf b;
    mp_reader r;
    char when[32];
    (void)ctx;
    codec_buf_init(&b);
    mp_reader_init(&r, d->ev.payload, d->ev.payload_len);
    if (mp_to_json(&r, &b, CODEC_MAX_DEPTH) != 0) {
        b.len = 0;
    }
    fmt_time(d->ev.time, when, sizeof when);
    printf(_("%6lld  %-16.*s %8lld  %s  %-20.*s %d%s  %.*s\n        payload %.*s\n"),
           (long long)d->id, (int)d->consumer_len, d->consumer, (long long)d->ev.seq, when,
           (int)d->ev.topic_len, d->ev.topic, d->attempts, d->retry ? " (retry)" : "",
           (int)d->error_len, d->error, (int)b.len, (char *)b.p);
    codec_buf_free(&b);
    return 0;
}

/* dead retry/drop ID's unit of work. */
typedef struct dead_unit {
    long long id;
    int retry;
} dead_unit;

static int dead_work(store_txn *t, void *ctx) {
    dead_unit *u = ctx;
    return u->retry ? bus_dead_update(t, u->id, -1, NULL, 1) : bus_dead_drop(t, u->id);
}

static int cmd_dead(store *s, int argc, char **argv) {
    store_txn *t;
    int rc;
    if (argc >= 1 && (!strcmp(argv[0], "retry") || !strcmp(argv[0], "drop"))) {
        char *end;
        long long id = argc >= 2 ? strtoll(argv[1], &end, 10) : 0;
        if (argc != 2 || *end || id < 1) {
            fprintf(stderr,
                    _("gonghui events dead %s: which one? (gonghui events dead %s ID; "
                      "gonghui events dead lists them)\n"),
                    argv[0], argv[0]);
            return 2;
        }
        dead_unit u = {id, !strcmp(argv[0], "retry")};
        if ((rc = store_unit(s, dead_work, NULL, &u))) {
            return fail(rc, "dead");
        }
        printf(!strcmp(argv[0], "retry")
                   ? _("dead letter %lld will be tried again on its consumer's next run\n")
                   : _("dead letter %lld dropped\n"),
               id);
        return 0;
    }
    if (argc > 1) {
        fprintf(stderr, _("gonghui events dead: usage: dead [NAME] | dead retry ID | dead drop "
                          "ID\n"));
        return 2;
    }
    if ((rc = store_txn_begin(s, NULL, 0, &t))) {
        return fail(rc, "dead");
    }
    if (argc == 1) {
        bus_consumer c;
        if ((rc = bus_consumer_get(t, argv[0], &c))) {
            store_txn_abort(t);
            return fail(rc, "dead");
        }
        bus_consumer_clear(&c);
    }
    printf("%6s  %-16s %8s  %-19s  %-20s %s  %s\n", "id", "consumer", "seq", "time", "topic",
           "tries", "error");
    rc = bus_dead_each(t, argc == 1 ? argv[0] : NULL, print_dead, NULL);
    store_txn_abort(t);
    return rc ? fail(rc, "dead") : 0;
}

/* trim's unit of work: the events every consumer has handled deleted; n
 * is how many, or -1 when there are no consumers (nothing is known to be
 * handled). */
static int trim_work(store_txn *t, void *ctx) {
    int64_t min, last, *n = ctx;
    uint64_t del = 0;
    int rc;
    *n = 0; /* a redo starts from nothing */
    if ((rc = bus_min_cursor(t, &min)) || (rc = bus_last_seq(t, &last))) {
        return rc;
    }
    if (min == INT64_MAX) {
        *n = -1;
        return 0;
    }
    rc = bus_trim(t, min < last ? min : last - 1, &del);
    *n = (int64_t)del;
    return rc;
}

static int cmd_trim(store *s) {
    int64_t n = 0;
    int rc = store_unit(s, trim_work, NULL, &n);
    if (rc) {
        return fail(rc, "trim");
    }
    if (n < 0) {
        printf(_("trim: no consumers, so nothing is known to be handled; nothing trimmed\n"));
        return 0;
    }
    printf(_("trim: %llu events every consumer has handled were deleted\n"), (unsigned long long)n);
    return 0;
}

int cli_events(store *s, int argc, char **argv) {
    if (argc < 1) {
        fprintf(stderr, _("gonghui events: which? tail | consumers | run NAME | replay NAME --from "
                          "SEQ|TIME | dead [NAME] | dead retry ID | dead drop ID | trim (see "
                          "gonghui help events)\n"));
        return 2;
    }
    if (!strcmp(argv[0], "tail")) {
        return cmd_tail(s, argc - 1, argv + 1);
    }
    if (!strcmp(argv[0], "replay")) {
        return cmd_replay(s, argc - 1, argv + 1);
    }
    int n = -2;
    if (!strcmp(argv[0], "consumers") &&
        (n = cli_plain("events consumers", argc - 1, argv + 1)) == 0) {
        return cmd_consumers(s);
    }
    if (!strcmp(argv[0], "run") && (n = cli_plain("events run", argc - 1, argv + 1)) == 1) {
        return run_consumer(s, argv[1]);
    }
    if (!strcmp(argv[0], "dead")) {
        const char *sub =
            argc > 1 && (!strcmp(argv[1], "retry") || !strcmp(argv[1], "drop"))
                ? (!strcmp(argv[1], "retry") ? "events dead retry" : "events dead drop")
                : "events dead";
        int skip = sub[11] ? 2 : 1;
        if ((n = cli_plain(sub, argc - skip, argv + skip)) < 0) {
            return 2;
        }
        return cmd_dead(s, n + skip - 1, argv + 1);
    }
    if (!strcmp(argv[0], "trim") && (n = cli_plain("events trim", argc - 1, argv + 1)) == 0) {
        return cmd_trim(s);
    }
    if (n == -1) {
        return 2;
    }
    fprintf(stderr,
            _("gonghui events: unknown or incomplete command '%s' (see gonghui help "
              "events)\n"),
            argv[0]);
    return 2;
}

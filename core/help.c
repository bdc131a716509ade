/*
 * help.c — every command, its options and their help: the one source of the
 * option parser, `gonghui help`, `CMD --help`, the man page gonghui(1) and shell
 * completion (cli.h). A new option is a line here and a case in its command's
 * parser (cli_is() asserts the two agree); a new command is an entry here and
 * one in main.c's command table.
 *
 * Every text is N_()-marked; cli.c shows it through _(), so po/ translates it.
 * Metavariables (FILE, N) and option names are not translated.
 */
#include "cli.h"

#include <stddef.h>

const char *const cli_tagline = N_("scripting platform for trade-union service programs");

const cli_opt cli_global[] = {
    {"--db", NULL, "DIR", N_("the database folder (default: $GONGHUI_DB, else ./gonghui.db)"),
     "@dir"},
    {"--plugins", NULL, "DIR",
     N_("look for native plugins (NAME.so) here first, then in the usual places"), "@dir"},
    {"--new-db", NULL, NULL, N_("let run start a new, empty database where one was before"), NULL},
    {"--help", "-h", NULL, N_("the help page (of the command, when one is given)"), NULL},
    {"--version", NULL, NULL, N_("the version, and the git commit it was built from"), NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

/* `run` and a script's `export` share these. */
#define RUN_LIMIT_OPTS                                                                             \
    {"--timeout", NULL, "T",                                                                       \
     N_("time limit: 90 (seconds), 500ms, 10m, 2h; 0 = none (default 1h)"), NULL},                 \
        {"--memory", NULL, "M",                                                                    \
         N_("memory the script's Lua values may use: 512M, 2G; 0 = none (default 1G)"), NULL},     \
        {"--seed", NULL, "N", N_("math.random's seed (default: a random one, recorded)"), NULL}, { \
        "--now", NULL, "TIME",                                                                     \
            N_("the time the script starts at: 2025-01-01 [08:00[:00]] or seconds since 1970"),    \
            NULL                                                                                   \
    }

static const cli_opt run_opts[] = {
    {"--dry-run", NULL, NULL,
     N_("run everything in one transaction, roll it back, print what would change"), NULL},
    {"--atomic", NULL, NULL,
     N_("the whole run is one transaction: stored only if the script ends well"), NULL},
    RUN_LIMIT_OPTS,
    {"--out", NULL, "DIR",
     N_("the folder the script may write files into (default: the current folder)"), "@dir"},
    {"--in", NULL, "DIR", N_("a folder the script may also read files from (repeatable)"), "@dir"},
    {"--exec", "-e", "CODE", N_("run CODE (before FILE, or alone)"), NULL},
    {"--interactive", "-i", NULL,
     N_("then the REPL on the script's own state (on a terminal); Ctrl-D ends the run"), NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static const cli_opt runs_opts[] = {
    {"--limit", "-n", "N", N_("how many runs to list (default 20)"), NULL},
    {"--account", NULL, "NAME", N_("only the runs (requests) of this account of gonghui serve"),
     NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static const cli_opt repl_opts[] = {
    {"--write", NULL, NULL, N_("allow writes (the REPL is read-only by default)"), NULL},
    {"--exec", "-e", "CODE", N_("run CODE and leave (with FILE.lua: after the files)"), NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static const cli_opt import_opts[] = {
    {"--format", NULL, "F", N_("csv, tsv, jsonl or xlsx (default: from the file's name)"),
     "csv tsv jsonl xlsx"},
    {"--sheet", NULL, "S", N_("the workbook's sheet, by name or number (default: the first)"),
     NULL},
    {"--header-row", NULL, "N", N_("the row (or line) the column names are on (default 1)"), NULL},
    {"--map", NULL, "COLUMN=field",
     N_("read COLUMN into field (COLUMN=- skips a column); repeat for each"), NULL},
    {"--encoding", NULL, "E", N_("auto, utf-8 or gb18030 (default auto)"), "auto utf-8 gb18030"},
    {"--mode", NULL, "M", N_("insert (refuse existing keys, the default) or upsert"),
     "insert upsert"},
    {"--strict", NULL, NULL, N_("the whole file or nothing: one bad row stores no row"), NULL},
    {"--yuan", NULL, NULL, N_("money columns are in yuan (12.50), stored as fen"), NULL},
    {"--chunk", NULL, "N", N_("commit every N rows (a killed import keeps what committed)"), NULL},
    {"--resume", NULL, NULL, N_("go on after the last committed chunk of the same file"), NULL},
    {"--rejects", NULL, "FILE", N_("where bad rows go (default: FILE.rejects.csv)"), "@file"},
    {"--no-progress", NULL, NULL, N_("no progress line, even on a terminal"), NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static const cli_opt export_opts[] = {
    {"--out", "-o", "FILE", N_("the file to write; - for standard output"), "@file"},
    {"--format", NULL, "F",
     N_("csv, tsv, json, jsonl or xlsx (default: from --out's name, else csv)"),
     "csv tsv json jsonl xlsx"},
    {"--fields", NULL, "a,b", N_("these fields, in this order (default: all)"), NULL},
    {"--headers", NULL, "H", N_("names (the fields' names, the default) or labels (such as 姓名)"),
     "names labels"},
    {"--unmask", NULL, NULL,
     N_("write ID numbers and phone numbers whole (the run record notes it)"), NULL},
    {"--yuan", NULL, NULL, N_("money in yuan (12.50) instead of fen"), NULL},
    RUN_LIMIT_OPTS,
    {NULL, NULL, NULL, NULL, NULL},
};

static const cli_opt tail_opts[] = {
    {"--topic", NULL, "PATTERN", N_("only topics matching PATTERN (award.*, member.**)"), NULL},
    {"--since", NULL, "SEQ|TIME", N_("from this sequence number or time (2025-01-29 08:00) on"),
     NULL},
    {"--limit", "-n", "N", N_("at most N events"), NULL},
    {"--follow", "-f", NULL, N_("keep printing events as they come (Ctrl-C ends)"), NULL},
    {"--json", NULL, NULL, N_("one JSON object per line"), NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static const cli_opt replay_opts[] = {
    {"--from", NULL, "SEQ|TIME",
     N_("move the consumer's cursor back to this sequence number or time"), NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

/* NATS: where, and how to prove who we are */
#define FED_NATS_OPTS                                                                              \
    {"--nats", NULL, "URLS",                                                                       \
     N_("the NATS servers, comma-separated (default nats://127.0.0.1:4222)"), NULL},               \
        {"--creds", NULL, "FILE", N_("a NATS credentials file (user JWT and seed)"), "@file"},     \
        {"--tls", NULL, NULL, N_("connect with TLS (trusting the system's certificates)"), NULL},  \
        {"--tls-ca", NULL, "FILE", N_("TLS: the certificate authority to trust (PEM)"), "@file"},  \
        {"--tls-cert", NULL, "FILE", N_("TLS: this client's certificate (PEM)"), "@file"}, {       \
        "--tls-key", NULL, "FILE", N_("TLS: this client's private key (PEM)"), "@file"             \
    }

static const cli_opt fed_ship_opts[] = {
    {"--as", NULL, "NAME", N_("the federation this database is (given once, then kept)"), NULL},
    {"--key-file", NULL, "FILE",
     N_("the province's pseudonym key (a file only its owner may read)"), "@file"},
    FED_NATS_OPTS,
    {"--follow", "-f", NULL, N_("keep shipping new events as they come (Ctrl-C ends)"), NULL},
    {"--batch", NULL, "N", N_("events per batch: published, acked, then the cursor moves"), NULL},
    {"--replicas", NULL, "N", N_("copies of the stream in a cluster when it is made (default 1)"),
     NULL},
    {"--dup-window", NULL, "SECS",
     N_("how long the stream remembers message ids to drop repeats (default 600)"), NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static const cli_opt fed_receive_opts[] = {
    FED_NATS_OPTS,
    {"--level", NULL, "NAME", N_("this receiver's name in NATS (default up): one per database"),
     NULL},
    {"--follow", "-f", NULL, N_("keep receiving as events come (Ctrl-C ends)"), NULL},
    {"--batch", NULL, "N", N_("messages per fetch and per transaction (default 1000)"), NULL},
    {"--ack-wait", NULL, "SECS", N_("when NATS sends an unacknowledged message again (default 30)"),
     NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static const cli_opt fed_add_opts[] = {
    {"--title", NULL, "TEXT", N_("the federation's name for people (海宁市总工会)"), NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static const cli_opt fed_remove_opts[] = {
    {"--purge", NULL, NULL, N_("also delete the events received from it"), NULL},
    FED_NATS_OPTS,
    {"--level", NULL, "NAME", N_("this receiver's name in NATS (default up)"), NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static const cli_opt fed_status_opts[] = {
    FED_NATS_OPTS,
    {"--level", NULL, "NAME", N_("this receiver's name in NATS (default up)"), NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static const cli_opt fed_replay_opts[] = {
    {"--from", NULL, "SEQ|TIME", N_("the sequence number (or, shipping, the time) to start from"),
     NULL},
    FED_NATS_OPTS,
    {"--level", NULL, "NAME", N_("this receiver's name in NATS (default up)"), NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static const cli_opt fed_report_opts[] = {
    {"--year", NULL, "YYYY", N_("the year to report"), NULL},
    {"--ten", NULL, NULL, N_("the ten-things report instead of the year report"), NULL},
    {"--lines", NULL, "FILE",
     N_("the ten-things lines (default: the installed ten_things/lines.lua)"), "@lua"},
    {NULL, NULL, NULL, NULL, NULL},
};

static const cli_opt serve_opts[] = {
    {"--port", NULL, "N", N_("the TCP port (default 8080; 0: any free one)"), NULL},
    {"--bind", NULL, "ADDR", N_("the IPv4 address to listen on (default 127.0.0.1)"), NULL},
    {"--port-file", NULL, "FILE", N_("write the port listened on to FILE"), "@file"},
    {"--scripts", NULL, "DIR", N_("the programs' folder (default: the installation's)"), "@dir"},
    {"--timeout", NULL, "SECS", N_("time limit of one request (default 10)"), NULL},
    {"--memory", NULL, "BYTES", N_("memory limit of the Lua state (default 256M)"), NULL},
    {"--body-limit", NULL, "BYTES", N_("the largest request body (default 1M)"), NULL},
    {"--session-hours", NULL, "H", N_("how long a login lasts (default 8)"), NULL},
    {"--max-batch", NULL, "N", N_("at most N writing requests share one commit"), NULL},
    {"--conn-memory", NULL, "BYTES",
     N_("memory per connection for a request's headers (default 8K: headers up to ~7 KB; "
        "more is answered 431)"),
     NULL},
    {"--now", NULL, "TIME",
     N_("the programs' clock starts at TIME, for a rehearsal on a drive's dates: 2025-01-20 "
        "[09:00[:00]] or seconds since 1970 (default: the real time)"),
     NULL},
    {"--http-threads", NULL, "N",
     N_("threads reading and answering connections (default 4; requests never wait in them)"),
     NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static const cli_opt users_opts[] = {
    {"--union", NULL, "ID", N_("the union (a node of the union tree) the account belongs to"),
     NULL},
    {"--role", NULL, "ROLE", N_("admin, clerk, operator or auditor"),
     "admin clerk operator auditor"},
    {"--station", NULL, "ID",
     N_("the station an operator works at (operators only, and each needs one: a station of its "
        "union or a union under it)"),
     NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static const cli_opt help_opts[] = {
    {"--man", NULL, NULL, N_("the man page gonghui(1), in roff"), NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

const cli_cmd cli_cmds[] = {
    {"run", N_("FILE.lua [name=value ...]"), N_("run a Lua program against the database"),
     N_("name=value parameters reach the script as the table params (numbers become numbers).\n"
        "FILE is looked for as given, then among the installed programs (gift_drive/claim.lua).\n"
        "Exit codes: 0 done; 1 the script failed (nothing of a failed db.atomic is stored);\n"
        "2 a usage error; 66 the script cannot be read; 74 the results could not be stored;\n"
        "124 the time limit; 125 the memory limit; 130 Ctrl-C; 143 SIGTERM.\n"),
     "@lua @param", run_opts, 0},
    {"runs", NULL, N_("the last runs, newest first"), NULL, "-", runs_opts, 0},
    {"runs show", N_("ID"), N_("one run in full, and the command that replays it"),
     N_("The script, its hash, parameters, seed, time, who, counts and outcome.\n"), "-", NULL, 0},
    {"repl", N_("[FILE.lua ...]"),
     N_("ad hoc questions in Lua (also: gonghui alone on a terminal)"),
     N_("Read-only unless --write; .help inside lists the dot commands.\n"), "@lua", repl_opts, 0},
    {"check", NULL, N_("verify every record and index entry"),
     N_("Exit code 1 when problems are found; each is printed.\n"), "-", NULL, 0},
    {"backup", N_("DEST"), N_("write a compacted, consistent copy of the database to DEST"),
     N_("Safe while others read and write.\n"), "@dir", NULL, 0},
    {"compact", NULL,
     N_("rewrite the database in place: each collection and index in key order, free pages given "
        "back"),
     N_("Only while no other process has the database open (it names the one that has).\n"
        "It writes the new file beside data.mdb first: it needs that much free disk.\n"),
     "-", NULL, 0},
    {"stat", NULL, N_("list collections, records, indexes and sizes"), NULL, "-", NULL, 0},
    {"import", N_("COLLECTION FILE"), N_("store the rows of a sheet in a collection"),
     N_("CSV (UTF-8 or GB18030, as Excel saves it), TSV, JSON Lines or an .xlsx workbook.\n"
        "Bad rows go to FILE.rejects.csv with the reason; the good ones are stored.\n"),
     "@collection @file", import_opts, 0},
    {"export", N_("COLLECTION|SCRIPT.lua [name=value ...]"),
     N_("write a collection, or the rows a script returns, to a file"),
     N_("A script runs as under gonghui run, read-only; --timeout, --memory, --seed and --now\n"
        "are its run options. ID numbers and phone numbers are masked unless --unmask.\n"),
     "@collection|@lua @param", export_opts, 0},
    {"events", NULL, N_("the durable event log and its consumers"), NULL, "-", NULL, 2},
    {"events tail", NULL, N_("print events of the log"), NULL, "-", tail_opts, 0},
    {"events consumers", NULL, N_("the durable consumers, their cursors and what is pending"), NULL,
     "-", NULL, 0},
    {"events run", N_("NAME"), N_("run consumer NAME over the events it has not handled yet"),
     N_("Runs the script that defined the consumer (bus.consumer); for a service, see the\n"
        "systemd units gonghui-events@.service and .timer.\n"),
     "@consumer", NULL, 0},
    {"events replay", N_("NAME"), N_("let consumer NAME handle events again from a point on"), NULL,
     "@consumer", replay_opts, 0},
    {"events dead", N_("[NAME]"), N_("the dead letters: events a consumer gave up on"), NULL,
     "@consumer", NULL, 0},
    {"events dead retry", N_("ID"), N_("try dead letter ID again on its consumer's next run"), NULL,
     "-", NULL, 0},
    {"events dead drop", N_("ID"), N_("forget dead letter ID"), NULL, "-", NULL, 0},
    {"events trim", NULL, N_("remove events every consumer has handled"), NULL, "-", NULL, 0},
    {"federation", NULL,
     N_("ship this federation's events to NATS JetStream; receive and count federations'"),
     N_("README: Beyond one machine. ship and receive need the nats plugin (libnats).\n"), "-",
     NULL, 2},
    {"federation ship", NULL,
     N_("publish the event log's declared topics to this federation's stream"),
     N_("The cursor moves only after JetStream acked; a kill loses and repeats nothing.\n"), "-",
     fed_ship_opts, 0},
    {"federation receive", NULL, N_("store the added federations' new events, each once"), NULL,
     "-", fed_receive_opts, 0},
    {"federation add", N_("NAME"), N_("receive federation NAME's stream from now on"), NULL, "-",
     fed_add_opts, 0},
    {"federation remove", N_("NAME"), N_("stop receiving federation NAME"), NULL, "-",
     fed_remove_opts, 0},
    {"federation status", NULL, N_("what is shipped and received, and the lag of each federation"),
     NULL, "-", fed_status_opts, 0},
    {"federation replay", N_("[NAME]"),
     N_("ship again from a point on, or receive federation NAME again from a sequence"), NULL, "-",
     fed_replay_opts, 0},
    {"federation report", NULL,
     N_("the year report across the federations received, by federation"), NULL, "-",
     fed_report_opts, 0},
    {"serve", NULL, N_("serve the programs' endpoints and pages over HTTP"),
     N_("The one process that holds the database for many clerks (README: gonghui serve);\n"
        "its accounts are gonghui users. A service: gonghui-serve.service.\n"),
     "-", serve_opts, 0},
    {"users", NULL, N_("the accounts of gonghui serve"), NULL, "-", NULL, 2},
    {"users add", N_("NAME"), N_("add an account (its password from standard input)"), NULL, "-",
     users_opts, 0},
    {"users list", NULL, N_("the accounts, their roles, unions and states"), NULL, "-", NULL, 0},
    {"users disable", N_("NAME"), N_("disable an account (its sessions end at once)"), NULL, "-",
     NULL, 0},
    {"users enable", N_("NAME"), N_("enable a disabled account"), NULL, "-", NULL, 0},
    {"users unlock", N_("NAME"), N_("lift a lock-out after failed logins"), NULL, "-", NULL, 0},
    {"users grant", N_("NAME"), N_("change an account's role, union or station"), NULL, "-",
     users_opts, 0},
    {"users passwd", N_("NAME"),
     N_("set a new password (from standard input); the account's sessions end"), NULL, "-", NULL,
     0},
    {"help", N_("[COMMAND]"), N_("this overview, or a command's page"), NULL, "@command", help_opts,
     0},
    {"__complete", N_("CWORD WORD..."), N_("completion candidates (for the shell scripts)"), NULL,
     "-", NULL, 1},
    {NULL, NULL, NULL, NULL, NULL, NULL, 0},
};

const cli_topic cli_topics[] = {
    {N_("DESCRIPTION"),
     N_("gonghui keeps a union's registry and its service programs' records (gift drives,\n"
        "contests, aid, markets) in one LMDB database, runs the programs as sandboxed Lua\n"
        "scripts with native plugins, and keeps every change's event in a durable log.\n")},
    {N_("ENVIRONMENT"),
     N_("  GONGHUI_DB           the database folder when --db is not given\n"
        "  GONGHUI_PLUGIN_PATH  more folders with native plugins (colon-separated)\n"
        "  GONGHUI_LIB          the folder of shared Lua modules (default: the installation's)\n"
        "  GONGHUI_MAP_SIZE     the database's initial map size in bytes\n"
        "  NO_COLOR             no colours in progress lines\n")},
    {N_("FILES"),
     N_("  PREFIX/share/gonghui/scripts   the programs, and lib/ their shared modules\n"
        "  PREFIX/lib/gonghui/plugins     the native plugins\n"
        "  (PREFIX is found from the binary's own place, so a moved installation works)\n")},
    {N_("EXIT STATUS"), N_("  0  success\n"
                           "  1  the work failed, or check found problems\n"
                           "  2  a usage error: a bad option, argument or parameter\n")},
    {NULL, NULL},
};

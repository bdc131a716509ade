#!/bin/sh
# bench/run.sh — W1 (`gonghui import`), W2, W3, W4, W5 and W6 of ../shared/BENCHMARKS.md as whole
# `gonghui run` commands, interleaved with the C + LMDB baseline.
#
#   bench/run.sh [--quick] [--rows N] [--seed S] [--reps R] [--only w1,w2,...]
#   bench/run.sh --scale [--big] [--ns LIST] [--reps R] [--only w2,w3] [--summary]
#
# Default N = 1,000,000; --quick N = 100,000 (W5 always uses W5_N events,
# default 1,000,000). The sqlite3 CLI runs the same questions on the same data
# beside C and gonghui when it is installed. --scale runs W1, W2 and W3 at
# 100,000 and 1,000,000 members (--big: also 10,000,000; --ns: these N) and
# prints the time per member at each N. Environment: GONGHUI=path to the binary (default
# build/gonghui), SHARED=path to the shared folder (default ../shared),
# W5_N=events for W5. Everything it makes goes to bench/out/. See
# bench/README.md.

# Runs under bash (for $EPOCHREALTIME, arrays); `sh bench/run.sh` re-executes.
if [ -z "${BASH_VERSION:-}" ]; then
    exec bash "$0" "$@"
fi
set -euo pipefail
export LC_ALL=C
# the benchmarks make and remove databases over and over: their own list of
# databases made (core/dbreg.h), not the user's
export GONGHUI_STATE_DIR="${TMPDIR:-/tmp}/gonghui-bench-state.$$"

usage() {
    cat <<'EOF'
usage: bench/run.sh [--quick] [--rows N] [--seed S] [--reps R] [--only LIST] [--no-sqlite]
       bench/run.sh --scale [--big] [--ns LIST] [--seed S] [--reps R] [--keep] [--only LIST] [--summary]

  --quick    N = 100,000 members (default 1,000,000)
  --rows N   N members (wins over --quick)
  --seed S   generator seed (default 20250301)
  --reps R   timed repetitions per variant, the median is reported (default 3)
  --only LIST  only these workloads, e.g. --only w1 or --only w2,w3 (default: all)
  --no-sqlite  leave the sqlite3 CLI out even when it is installed
  --keep     keep the pristine databases W2-W6 start from (bench/out/pristine-*-N-SEED)
             and reuse those an earlier run with --keep left (at 10M their loads
             take most of an hour)
  --scale    W1, W2 and W3 at N = 100,000 and 1,000,000, then the time per
             member at each N (growth faster than linear shows)
  --big      with --scale: also N = 10,000,000 (about 1 GB of CSV, an hour)
  --ns LIST  with --scale: these N instead, e.g. --ns 100000,300000,1000000
             (--scale --only w2,w3: a part of W1-W3 at each N)
  --summary  with --scale: run nothing, print the table from the figures
             earlier runs left (bench/out/summary-N.tsv for each N)

environment: GONGHUI=path to the gonghui binary (default build/gonghui)
             SHARED=path to the shared folder with tools/ (default ../shared)
EOF
}

ROWS=
QUICK=0
SEED=20250301
REPS=3
ONLY=
SCALE=0
BIG=0
NS=
NOSQL=0
KEEP=0
SUMONLY=0
W6_RUNS=50
NKEYS=100000
while [ $# -gt 0 ]; do
    case "$1" in
    --quick) QUICK=1 ;;
    --rows) ROWS=${2:?--rows needs a number}; shift ;;
    --rows=*) ROWS=${1#--rows=} ;;
    --seed) SEED=${2:?--seed needs a number}; shift ;;
    --seed=*) SEED=${1#--seed=} ;;
    --reps) REPS=${2:?--reps needs a number}; shift ;;
    --reps=*) REPS=${1#--reps=} ;;
    --only) ONLY=${2:?--only needs a list such as w1,w2}; shift ;;
    --only=*) ONLY=${1#--only=} ;;
    --no-sqlite) NOSQL=1 ;;
    --keep) KEEP=1 ;;
    --scale) SCALE=1 ;;
    --big) BIG=1 ;;
    --summary) SUMONLY=1; SCALE=1 ;;
    --ns) NS=${2:?--ns needs a list such as 100000,1000000}; shift ;;
    --ns=*) NS=${1#--ns=} ;;
    -h | --help) usage; exit 0 ;;
    *) echo "bench: unknown argument $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done
if [ -z "$ROWS" ]; then
    if [ $QUICK = 1 ]; then ROWS=100000; else ROWS=1000000; fi
fi
case "$ROWS$SEED$REPS" in *[!0-9]*) echo "bench: --rows, --seed and --reps take numbers" >&2; exit 2 ;; esac

die() {
    echo "bench: $*" >&2
    exit 1
}

want() { # want w1: is workload w1 to be run (--only)?
    [ -z "$ONLY" ] || [[ ",$ONLY," == *",$1,"* ]]
}

CALLER_PWD=$PWD
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
OUT=$HERE/out
if [ -z "${SHARED:-}" ]; then # ../shared beside the checkout, or beside a worktree's folder
    SHARED=$ROOT/../shared
    [ -d "$SHARED/tools" ] || [ ! -d "$ROOT/../../shared/tools" ] || SHARED=$ROOT/../../shared
fi
GH_SRC=${GONGHUI:-$ROOT/build/gonghui}
case "$GH_SRC" in /*) ;; *) GH_SRC=$CALLER_PWD/$GH_SRC ;; esac
mkdir -p "$OUT"

# ---- --scale: W1-W3 at several N, then the time per member at each -------------------
if [ $SCALE = 1 ]; then
    [ -n "$NS" ] || { NS=100000,1000000; [ $BIG = 0 ] || NS=$NS,10000000; }
    case "$NS" in *[!0-9,]* | "") die "--ns takes a list of numbers such as 100000,1000000" ;; esac
    # --only: a part of W1-W3 (at 10M one run of each takes many minutes: run
    # them in parts, e.g. --only w2,w3, and print the whole table with --summary)
    SONLY=${ONLY:-w1,w2,w3}
    case ",$SONLY," in *,w[4-6],*) die "--scale runs W1, W2 and W3 only (--only $ONLY)" ;; esac
    sqarg=
    [ $NOSQL = 0 ] || sqarg=--no-sqlite
    [ $KEEP = 0 ] || sqarg="$sqarg --keep"
    for n in ${NS//,/ }; do
        [ $SUMONLY = 0 ] || { [ -s "$OUT/summary-$n.tsv" ] || die "--summary: no $OUT/summary-$n.tsv (run --scale --ns $n first)"; continue; }
        echo "bench --scale: N=$n ..." >&2
        SHARED=$SHARED GONGHUI=$GH_SRC bash "$0" --rows "$n" --seed "$SEED" --reps "$REPS" \
            --only "$SONLY" $sqarg || die "the run at N=$n failed"
    done
    SUM=$OUT/scale.txt
    {
        if [ $SUMONLY = 1 ]; then
            echo "# gonghui bench --scale --summary  $(date '+%Y-%m-%d %H:%M')  N=$NS: the figures of the runs that wrote bench/out/summary-N.tsv (their results-N.txt say when, reps and load)"
        else
            echo "# gonghui bench --scale  $(date '+%Y-%m-%d %H:%M')  $(uname -n)  $(nproc) cores  N=$NS reps=$REPS  load $(cut -d' ' -f1-3 /proc/loadavg)"
        fi
        echo "# microseconds per member (W3: per lookup, 100,000 lookups at every N), median wall / median CPU;"
        echo "# growth: per-member time at the largest N / at the smallest (1.00 = linear)"
        for n in ${NS//,/ }; do cat "$OUT/summary-$n.tsv"; done | awk -F'\t' -v ns="$NS" '
            BEGIN { k = split(ns, N, ",") }
            { key = $1 SUBSEP $3; if (!(key in seen)) { seen[key] = 1; order[++m] = key }
              w[key, $2] = $4 / $7 * 1e6; c[key, $2] = $6 / $7 * 1e6
              if (NF >= 9) { r[key, $2] = $8 / 1024; z[key, $2] = $9 / 1024 } }
            END {
                printf "%-30s %-8s", "workload", "system"
                for (i = 1; i <= k; i++) printf "  %20s", "N=" N[i]
                printf "  %s\n", "growth wall / CPU"
                for (j = 1; j <= m; j++) {
                    split(order[j], kk, SUBSEP)
                    printf "%-30s %-8s", kk[1], kk[2]
                    for (i = 1; i <= k; i++) {
                        if ((order[j], N[i]) in w) printf "  %9.2f / %8.2f", w[order[j], N[i]], c[order[j], N[i]]
                        else printf "  %20s", "-"
                    }
                    a = w[order[j], N[1]]; b = w[order[j], N[k]]; ca = c[order[j], N[1]]; cb = c[order[j], N[k]]
                    if (a > 0 && b > 0) printf "  %.2f / %s", b / a, (ca > 0 && cb > 0 ? sprintf("%.2f", cb / ca) : "-")
                    printf "\n"
                }
                printf "\n# peak RSS MB / db size MB after the command (W1: the database made)\n"
                printf "%-30s %-8s", "workload", "system"
                for (i = 1; i <= k; i++) printf "  %20s", "N=" N[i]
                printf "\n"
                for (j = 1; j <= m; j++) {
                    split(order[j], kk, SUBSEP)
                    printf "%-30s %-8s", kk[1], kk[2]
                    for (i = 1; i <= k; i++) {
                        if ((order[j], N[i]) in r) printf "  %9.0f / %8.0f", r[order[j], N[i]], z[order[j], N[i]]
                        else printf "  %20s", "-"
                    }
                    printf "\n"
                }
            }'
    } | tee "$SUM"
    echo "# scale summary: $SUM" >&2
    exit 0
fi

# ---- tools ---------------------------------------------------------------------------

[ -x /usr/bin/time ] || die "/usr/bin/time (GNU time) is missing: install the Debian package 'time' (apt-get install time)"
command -v python3 >/dev/null || die "python3 is needed to generate the data (../shared/tools/gen_members.py)"
command -v cc >/dev/null || die "a C compiler (cc) is needed for the baseline"
[ -f "$SHARED/tools/lmdb_baseline.c" ] || die "no $SHARED/tools/lmdb_baseline.c (set SHARED=path)"
LUA=$(command -v lua5.4 || true)
SQLITE=$(command -v sqlite3 || true)
[ $NOSQL = 0 ] || SQLITE=

# The binary may be rebuilt by others while this runs: wait for it, then time
# a private copy so that every run of this session uses the same one.
for try in 1 2 3 4 5 6; do
    if [ -x "$GH_SRC" ] && "$GH_SRC" --version >/dev/null 2>&1; then break; fi
    [ $try = 6 ] && die "$GH_SRC is missing or does not run (build it: cmake --build build)"
    echo "bench: $GH_SRC is missing or broken, waiting 30 s ..." >&2
    sleep 30
done
GH=$OUT/gonghui
cp "$GH_SRC" "$GH.tmp" && mv "$GH.tmp" "$GH"

BASE=$OUT/lmdb_baseline
if [ ! -x "$BASE" ] || [ "$SHARED/tools/lmdb_baseline.c" -nt "$BASE" ]; then
    cc -O2 -o "$BASE" "$SHARED/tools/lmdb_baseline.c" -llmdb || die "could not build the C baseline"
fi

# ---- data --------------------------------------------------------------------------

CSV=$OUT/members-$ROWS-$SEED.csv
KEYS=$OUT/lookups-$ROWS-$SEED-$NKEYS.txt
if [ ! -s "$CSV" ] || [ ! -s "$KEYS" ]; then
    echo "bench: generating $ROWS members (seed $SEED) and $NKEYS lookup keys ..." >&2
    python3 "$SHARED/tools/gen_members.py" --rows "$ROWS" --seed "$SEED" --out "$CSV.tmp" \
        --lookups "$NKEYS" --lookups-out "$KEYS.tmp" || die "gen_members.py failed"
    mv "$KEYS.tmp" "$KEYS"
    mv "$CSV.tmp" "$CSV"
fi

# ---- measuring -----------------------------------------------------------------------

RAW=$OUT/raw-$ROWS.log
SCRATCH=$OUT/scratch
: >"$RAW"

secs_since() { # secs_since T0 [T1]: seconds between two $EPOCHREALTIME readings
    awk -v a="$1" -v b="${2:-$EPOCHREALTIME}" 'BEGIN { printf "%.6f", b - a }'
}

# The SQL of the SQLite runs: the same questions as C's and gonghui's.
# W2: the awards and their events in one transaction, the rule in the WHERE
# (tables made in the transaction, as the gonghui script defines its own);
# W3: the keys file into a temporary table, then one lookup through the
# unique index per key (CROSS JOIN keeps that order), the name's bytes summed;
# W4: GROUP BY town.
W2_SQL="BEGIN;
CREATE TABLE awards(award_id INTEGER PRIMARY KEY, campaign TEXT NOT NULL, member_id INTEGER NOT NULL,
  item TEXT NOT NULL, amount_fen INTEGER NOT NULL);
CREATE TABLE events(seq INTEGER PRIMARY KEY, topic TEXT NOT NULL, member_id INTEGER NOT NULL);
INSERT INTO awards(campaign, member_id, item, amount_fen)
  SELECT 'spring-2025', member_id, 'gift-package', 20000 FROM members
  WHERE category IN ('gig_delivery', 'courier', 'sanitation', 'construction', 'driver')
    AND status = 'active' ORDER BY member_id;
INSERT INTO events(topic, member_id) SELECT 'award.issued', member_id FROM awards ORDER BY award_id;
SELECT 'awarded ' || count(*) FROM awards;
COMMIT;"
W3_SQL="CREATE TEMP TABLE k(id_number TEXT);"
W3_SQL2="SELECT 'found ' || count(*) || ', name bytes ' || coalesce(sum(length(CAST(m.name AS BLOB))), 0)
  FROM k CROSS JOIN members AS m ON m.id_number = k.id_number;"
W4_SQL="SELECT town || char(9) || count(*) FROM members GROUP BY town;"

fresh() { # fresh PRISTINE: copies it to $SCRATCH, then flushes (PERFORMANCE.md)
    rm -rf "$SCRATCH"
    cp -a "$1" "$SCRATCH"
    sync
}

# timed VARIANT CMD...: runs CMD once under /usr/bin/time; appends the wall
# seconds (measured here with microsecond resolution, /usr/bin/time's %e has
# 10 ms), peak RSS (KB) and the scratch db's size (KB) to the variant's lists.
# Output: $OUT/last.out, $OUT/last.err. A failing command stops the bench.
declare -A TIMES RSS SIZE CPU
timed() {
    local v=$1 t0 t1 rc
    shift
    t0=$EPOCHREALTIME
    set +e
    /usr/bin/time -f '%e %M %U %S' -o "$OUT/last.time" "$@" >"$OUT/last.out" 2>"$OUT/last.err"
    rc=$?
    set -e
    t1=$EPOCHREALTIME
    if [ $rc -ne 0 ]; then
        echo "bench: FAILED ($v, exit $rc): $*" >&2
        sed 's/^/  | /' "$OUT/last.out" "$OUT/last.err" | tail -n 40 >&2
        exit 1
    fi
    local t k s u
    t=$(secs_since "$t0" "$t1")
    k=$(tail -n 1 "$OUT/last.time" | awk '{ print $2 }')
    u=$(tail -n 1 "$OUT/last.time" | awk '{ printf "%.2f", $3 + $4 }')
    s=$(du -sk "$SCRATCH" | cut -f1)
    TIMES[$v]="${TIMES[$v]:-} $t"
    RSS[$v]="${RSS[$v]:-} $k"
    SIZE[$v]="${SIZE[$v]:-} $s"
    CPU[$v]="${CPU[$v]:-} $u"
    echo "$v $t s  cpu $u s  ${k} KB  db ${s} KB" >>"$RAW"
}

median() { # median of the numbers in $1
    echo $1 | tr ' ' '\n' | sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

mb() { awk -v k="$1" 'BEGIN { printf (k < 10240 ? "%.1f" : "%.0f"), k / 1024 }'; }

best() { # smallest of the numbers in $1
    echo $1 | tr ' ' '\n' | sort -g | head -n 1
}

ratio() { # ratio A B: A / B with two decimals, "-" when B is 0 (below %U's 10 ms)
    awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "-" }'
}

# report LABEL C_VARIANT GH_VARIANT TARGET_RATIO [SQLITE_VARIANT [UNITS]]
# One line: the median wall seconds of C, gonghui and (when it ran) SQLite,
# gonghui / C against the target and gonghui / SQLite, in wall time (median,
# and best-of) and in CPU time (median); peak RSS and db size. Also appends
# the figures to summary-N.tsv (label, N, system, wall median, wall best, CPU
# median, units of work) for --scale.
report() {
    local label=$1 c=$2 g=$3 target=$4 q=${5:-} units=${6:-$ROWS}
    local tc tg tq bc bg bq uc ug uq rc rg sc sg ratio verdict cverdict sq=""
    tc=$(median "${TIMES[$c]}"); tg=$(median "${TIMES[$g]}")
    bc=$(best "${TIMES[$c]}"); bg=$(best "${TIMES[$g]}")
    uc=$(median "${CPU[$c]}"); ug=$(median "${CPU[$g]}")
    rc=$(median "${RSS[$c]}"); rg=$(median "${RSS[$g]}")
    sc=$(median "${SIZE[$c]}"); sg=$(median "${SIZE[$g]}")
    ratio=$(ratio "$tg" "$tc")
    verdict=$(awk -v r="$ratio" -v t="$target" 'BEGIN { print (r <= t ? "meets" : "MISSES") }')
    cverdict=$(awk -v a="$ug" -v b="$uc" -v t="$target" 'BEGIN { print (b <= 0 ? "-" : a / b <= t ? "meets" : "MISSES") }')
    printf '%s\t%s\tC\t%s\t%s\t%s\t%s\t%s\t%s\n%s\t%s\tgonghui\t%s\t%s\t%s\t%s\t%s\t%s\n' \
        "$label" "$ROWS" "$tc" "$bc" "$uc" "$units" "$rc" "$sc" "$label" "$ROWS" "$tg" "$bg" "$ug" "$units" "$rg" "$sg" >>"$SUMMARY"
    if [ -n "$q" ] && [ -n "${TIMES[$q]:-}" ]; then
        tq=$(median "${TIMES[$q]}"); bq=$(best "${TIMES[$q]}"); uq=$(median "${CPU[$q]}")
        printf '%s\t%s\tSQLite\t%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$ROWS" "$tq" "$bq" "$uq" "$units" \
            "$(median "${RSS[$q]}")" "$(median "${SIZE[$q]}")" >>"$SUMMARY"
        sq=$(printf '  SQLite %.3f s: gonghui/SQLite %sx (best %sx, CPU %sx)' "$tq" "$(ratio "$tg" "$tq")" \
            "$(ratio "$bg" "$bq")" "$(ratio "$ug" "$uq")")
    fi
    local cq="" rq="" zq=""
    if [ -n "$sq" ]; then
        cq=$(printf ' / SQLite %.2f' "$uq")
        rq=" / SQLite $(mb "$(median "${RSS[$q]}")") MB"
        zq=" / SQLite $(mb "$(median "${SIZE[$q]}")") MB"
    fi
    printf '%-26s N=%-8s C %6.3f s  gonghui %6.3f s  gonghui/C %5.2fx (best %sx, CPU %sx; target <= %sx: %s, CPU %s)%s  CPU s C %.2f / gonghui %.2f%s  peak RSS C %s MB / gonghui %s MB%s  db size C %s MB / gonghui %s MB%s\n' \
        "$label" "$ROWS" "$tc" "$tg" "$ratio" "$(ratio "$bg" "$bc")" "$(ratio "$ug" "$uc")" "$target" "$verdict" "$cverdict" \
        "$sq" "$uc" "$ug" "$cq" "$(mb "$rc")" "$(mb "$rg")" "$rq" "$(mb "$sc")" "$(mb "$sg")" "$zq" | tee -a "$RESULTS"
}

RESULTS=$OUT/results-$ROWS.txt
SUMMARY=$OUT/summary-$ROWS.tsv
: >"$RESULTS"
: >"$SUMMARY"

# ---- pristine databases (not measured) ---------------------------------------------

PRISTINE_C=$OUT/pristine-c-$ROWS-$SEED
PRISTINE_GH=$OUT/pristine-gh-$ROWS-$SEED
PRISTINE_SQ=$OUT/pristine-sq-$ROWS-$SEED
# --keep: each pristine database is kept, with a stamp (pristine-*.done) once
# it is whole, and a stamped one is used again instead of loaded
if [ $KEEP = 0 ]; then
    rm -rf "$OUT"/pristine-* "$SCRATCH"
else
    rm -rf "$SCRATCH"
    for p in "$PRISTINE_C" "$PRISTINE_GH" "$PRISTINE_SQ"; do
        [ -f "$p.done" ] || rm -rf "$p"
    done
fi
kept() { [ $KEEP = 1 ] && [ -f "$1.done" ] && [ -d "$1" ]; }
stamp() { [ $KEEP = 0 ] || : >"$1.done"; }
tload_c=0 tload_gh=0 tload_sq=0
# SQLite's members: the same columns, key and indexes as the C baseline's and
# gonghui's (member_id the rowid, id_number unique, indexes on enterprise_id
# and category)
W1_SQL="CREATE TABLE members(member_id INTEGER PRIMARY KEY, name TEXT NOT NULL,
  id_number TEXT NOT NULL UNIQUE, phone TEXT NOT NULL, gender TEXT NOT NULL,
  birth_date TEXT NOT NULL, enterprise_id INTEGER NOT NULL, town TEXT NOT NULL,
  category TEXT NOT NULL, join_date TEXT NOT NULL, status TEXT NOT NULL, retire_date TEXT);
CREATE INDEX members_enterprise ON members(enterprise_id);
CREATE INDEX members_category ON members(category);"
if want w2 || want w3 || want w4 || want w6; then
if ! kept "$PRISTINE_C"; then
    mkdir -p "$PRISTINE_C"
    t0=$EPOCHREALTIME
    "$BASE" import "$CSV" "$PRISTINE_C" >"$OUT/last.out" || die "baseline import failed"
    tload_c=$(secs_since "$t0")
    stamp "$PRISTINE_C"
fi
if ! kept "$PRISTINE_GH"; then
    t0=$EPOCHREALTIME
    "$GH" --db "$PRISTINE_GH" run "$HERE/load_members.lua" csv="$CSV" >"$OUT/last.out" 2>"$OUT/last.err" ||
        { cat "$OUT/last.err" >&2; die "loading the gonghui database failed"; }
    tload_gh=$(secs_since "$t0")
    grep -q "^loaded $ROWS members" "$OUT/last.out" || die "the loader did not load $ROWS members: $(cat "$OUT/last.out")"
    stamp "$PRISTINE_GH"
fi
if [ -n "$SQLITE" ] && ! kept "$PRISTINE_SQ"; then
    mkdir -p "$PRISTINE_SQ"
    t0=$EPOCHREALTIME
    "$SQLITE" "$PRISTINE_SQ/members.db" "$W1_SQL" ".import --csv --skip 1 $CSV members" \
        "ANALYZE" >"$OUT/last.out" 2>"$OUT/last.err" || { cat "$OUT/last.err" >&2; die "loading the SQLite database failed"; }
    tload_sq=$(secs_since "$t0")
    stamp "$PRISTINE_SQ"
fi
fi

{
    echo "# gonghui bench  $(date '+%Y-%m-%d %H:%M')  $(uname -n)  $(nproc) cores  N=$ROWS seed=$SEED reps=$REPS"
    echo "# gonghui: $GH_SRC ($("$GH" --version))  baseline: $SHARED/tools/lmdb_baseline.c"
    echo "# load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)${SQLITE:+  sqlite3: $("$SQLITE" --version | cut -d' ' -f1)}"
    [ -d "$PRISTINE_GH" ] &&
        printf '# setup (not measured): C import %.2f s (%s MB), gonghui load_members.lua %.2f s (%s MB)%s\n' \
            "$tload_c" "$(mb "$(du -sk "$PRISTINE_C" | cut -f1)")" "$tload_gh" "$(mb "$(du -sk "$PRISTINE_GH" | cut -f1)")" \
            "$([ -d "$PRISTINE_SQ" ] && printf ', SQLite .import + ANALYZE %.2f s (%s MB)' "$tload_sq" "$(mb "$(du -sk "$PRISTINE_SQ" | cut -f1)")")"
    [ -z "$ONLY" ] || echo "# only: $ONLY"
    [ $KEEP = 0 ] || echo "# --keep: a pristine database kept by an earlier run is used again (its load shows 0 s)"
} | tee -a "$RESULTS"

# ---- W1 import ----------------------------------------------------------------------
# The CSV into an empty `members` (defined by w1_define.lua, not measured) with
# `gonghui import`, against `lmdb_baseline import` into an empty directory, and
# (when the sqlite3 CLI is installed) `.import` into a SQLite table with the same
# key and indexes, in SQLite's default durable mode (rollback journal,
# synchronous=FULL; .import is one transaction).
if want w1; then
# issue 18: <= 1.0 x C up to 1M, <= 0.5 x C at 10M
W1_TARGET=1.0
[ "$ROWS" -lt 10000000 ] || W1_TARGET=0.5
EMPTY_C=$OUT/pristine-w1-c
EMPTY_GH=$OUT/pristine-w1-gh
rm -rf "$EMPTY_C" "$EMPTY_GH"
mkdir -p "$EMPTY_C"
"$GH" --db "$EMPTY_GH" run "$HERE/w1_define.lua" >"$OUT/last.out" 2>"$OUT/last.err" ||
    { cat "$OUT/last.err" >&2; die "W1: defining members failed"; }
for r in $(seq "$REPS"); do
    fresh "$EMPTY_C"
    timed w1.c "$BASE" import "$CSV" "$SCRATCH"
    fresh "$EMPTY_GH"
    timed w1.gh "$GH" --db "$SCRATCH" import members "$CSV"
    grep -q "stored in 'members': $ROWS inserted" "$OUT/last.out" ||
        die "W1: gonghui import did not store $ROWS members: $(cat "$OUT/last.out" "$OUT/last.err")"
    if [ -n "$SQLITE" ]; then
        rm -rf "$SCRATCH"
        mkdir -p "$SCRATCH"
        "$SQLITE" "$SCRATCH/members.db" "$W1_SQL" || die "W1: sqlite3 could not make the table"
        sync
        timed w1.sqlite "$SQLITE" "$SCRATCH/members.db" ".import --csv --skip 1 $CSV members"
        n=$("$SQLITE" "$SCRATCH/members.db" "SELECT count(*) FROM members") || n=
        [ "$n" = "$ROWS" ] || die "W1: sqlite3 .import stored ${n:-nothing}, not $ROWS rows: $(cat "$OUT/last.err")"
    fi
done
report "W1 import" w1.c w1.gh "$W1_TARGET" w1.sqlite
ts=
[ -z "$SQLITE" ] || ts=$(median "${TIMES[w1.sqlite]}")
awk -v n="$ROWS" -v c="$(median "${TIMES[w1.c]}")" -v g="$(median "${TIMES[w1.gh]}")" -v s="${ts:-0}" \
    'BEGIN { printf "# W1: C %.0f rows/s, gonghui import %.0f rows/s", n / c, n / g;
             if (s > 0) printf ", sqlite3 .import %.0f rows/s", n / s;
             printf "\n" }' |
    tee -a "$RESULTS"
fi # w1

# ---- W2 campaign ---------------------------------------------------------------------
if want w2; then
AWARDED=
for r in $(seq "$REPS"); do
    fresh "$PRISTINE_C"
    timed w2.c "$BASE" campaign "$SCRATCH"
    a=$(sed -n 's/^TIME w2 .* awarded=\([0-9]*\).*/\1/p' "$OUT/last.out")
    [ -n "$a" ] || die "W2: no awarded count from the baseline: $(cat "$OUT/last.out")"
    [ -z "$AWARDED" ] || [ "$a" = "$AWARDED" ] || die "W2: the baseline awarded $a, earlier $AWARDED"
    AWARDED=$a

    # (w2_campaign_loop and w2_program_loop: the loops of prepared inserts that
    # insert_select replaced in the fast form and under grant_all, kept as lines)
    for v in w2_campaign w2_campaign_loop w2_campaign_fast w2_program_loop w2_program; do
        fresh "$PRISTINE_GH"
        f=$v x=
        [ "$v" != w2_program_loop ] || { f=w2_program x=loop=1; }
        timed "w2.$v" env GONGHUI_LIB="$HERE/../scripts/lib" "$GH" --db "$SCRATCH" run "$HERE/$f.lua" expect="$AWARDED" $x
        grep -qx "awarded $AWARDED" "$OUT/last.out" ||
            die "W2 ($v.lua): the C baseline awarded $AWARDED, gonghui printed: $(cat "$OUT/last.out")"
        if [ "$r" = 1 ]; then # once, not timed: what was stored
            "$GH" --db "$SCRATCH" run "$HERE/verify_w2.lua" expect="$AWARDED" form="$v" >"$OUT/last.out" 2>&1 ||
                { cat "$OUT/last.out" >&2; die "W2 ($v.lua): the stored awards are wrong"; }
        fi
    done
    if [ -n "$SQLITE" ]; then
        fresh "$PRISTINE_SQ"
        timed w2.sqlite "$SQLITE" "$SCRATCH/members.db" "$W2_SQL"
        grep -qx "awarded $AWARDED" "$OUT/last.out" ||
            die "W2 (sqlite3): the C baseline awarded $AWARDED, SQLite printed: $(cat "$OUT/last.out" "$OUT/last.err")"
        n=$("$SQLITE" "$SCRATCH/members.db" "SELECT count(*) FROM events WHERE topic = 'award.issued'") || n=
        [ "$n" = "$AWARDED" ] || die "W2 (sqlite3): $n events stored, not $AWARDED"
    fi
done
echo "# W2: $AWARDED awarded (C, gonghui${SQLITE:+ and SQLite} agree)" | tee -a "$RESULTS"
report "W2 campaign" w2.c w2.w2_campaign 1.5 w2.sqlite
report "W2 campaign (prepared loop)" w2.c w2.w2_campaign_loop 1.2 w2.sqlite
report "W2 campaign (fast form)" w2.c w2.w2_campaign_fast 1.2 w2.sqlite
report "W2 campaign (framework, loop)" w2.c w2.w2_program_loop 2 w2.sqlite
report "W2 campaign (framework)" w2.c w2.w2_program 2 w2.sqlite
fi # w2

# ---- W3 lookups ----------------------------------------------------------------------
if want w3; then
FOUND=
for r in $(seq "$REPS"); do
    fresh "$PRISTINE_C"
    timed w3.c "$BASE" lookup "$SCRATCH" "$KEYS"
    f=$(sed -n 's/^TIME w3 .* found=\([0-9]*\).*/\1/p' "$OUT/last.out")
    [ -n "$f" ] || die "W3: no found count from the baseline: $(cat "$OUT/last.out")"
    FOUND=$f
    fresh "$PRISTINE_GH"
    timed w3.gh "$GH" --db "$SCRATCH" run "$HERE/w3_lookups.lua" keys="$KEYS" expect="$FOUND"
    grep -q "found $FOUND," "$OUT/last.out" ||
        die "W3: the C baseline found $FOUND, gonghui printed: $(cat "$OUT/last.out")"
    GH_BYTES=$(sed -n 's/.*name bytes \([0-9]*\).*/\1/p' "$OUT/last.out")
    if [ -n "$SQLITE" ]; then
        fresh "$PRISTINE_SQ"
        timed w3.sqlite "$SQLITE" "$SCRATCH/members.db" "$W3_SQL" ".import --csv $KEYS k" "$W3_SQL2"
        grep -qx "found $FOUND, name bytes $GH_BYTES" "$OUT/last.out" ||
            die "W3 (sqlite3): C found $FOUND, gonghui $GH_BYTES name bytes; SQLite printed: $(cat "$OUT/last.out" "$OUT/last.err")"
    fi
done
report "W3 lookups" w3.c w3.gh 1 w3.sqlite "$NKEYS"
fi # w3

# ---- W4 group-by ---------------------------------------------------------------------
if want w4; then
for r in $(seq "$REPS"); do
    fresh "$PRISTINE_C"
    timed w4.c "$BASE" aggregate "$SCRATCH"
    grep -v '^aggregate:' "$OUT/last.err" | sort >"$OUT/w4.c.txt"
    [ -s "$OUT/w4.c.txt" ] || die "W4: no town counts from the baseline"
    for mode in loop count_by; do
        fresh "$PRISTINE_GH"
        timed "w4.$mode" "$GH" --db "$SCRATCH" run "$HERE/w4_groupby.lua" mode=$mode expect="$ROWS"
        grep -v '^total ' "$OUT/last.out" | sort >"$OUT/w4.$mode.txt"
        cmp -s "$OUT/w4.c.txt" "$OUT/w4.$mode.txt" ||
            die "W4 (mode=$mode): the counts per town differ from the baseline's: diff $OUT/w4.c.txt $OUT/w4.$mode.txt"
    done
    if [ -n "$SQLITE" ]; then
        fresh "$PRISTINE_SQ"
        timed w4.sqlite "$SQLITE" "$SCRATCH/members.db" "$W4_SQL"
        sort "$OUT/last.out" >"$OUT/w4.sqlite.txt"
        cmp -s "$OUT/w4.c.txt" "$OUT/w4.sqlite.txt" ||
            die "W4 (sqlite3): the counts per town differ from the baseline's: diff $OUT/w4.c.txt $OUT/w4.sqlite.txt"
    fi
done
echo "# W4: $(wc -l <"$OUT/w4.c.txt") towns, counts per town agree with the baseline${SQLITE:+ (gonghui and SQLite)}" | tee -a "$RESULTS"
report "W4 group-by (loop)" w4.c w4.loop 1.5 w4.sqlite
report "W4 group-by (count_by)" w4.c w4.count_by 1 w4.sqlite
fi # w4

# ---- W5 bus --------------------------------------------------------------------------
# In-process: the C baseline's dispatch (function pointers) and gonghui's
# bus.emit to 3 Lua subscribers, each rate from its own loop timing (C: wall
# clock; gonghui: the script's os.clock), beside plain Lua calling the same
# three functions (lua5.4, and the same loop inside gonghui run). Durable
# publish and consumer catch-up: whole commands, wall time, the catch-up over
# the log the first durable run left.
if want w5; then
W5_N=${W5_N:-1000000}
W5_BATCH=10000
W5_LOG=$OUT/pristine-w5-$W5_N
declare -A LOOP
w5_loop() { # the "TIME w5 SECONDS" of the last command
    sed -n 's/^TIME w5 \([0-9.]*\) .*/\1/p' "$OUT/last.out"
}
mrate() { # mrate EVENTS SECONDS: M events/s
    awk -v n="$1" -v t="$2" 'BEGIN { printf "%.2f", n / t / 1e6 }'
}
empty_scratch() {
    rm -rf "$SCRATCH"
    mkdir -p "$SCRATCH"
    sync
}
rm -rf "$W5_LOG"
W5_HASH=
for r in $(seq "$REPS"); do
    empty_scratch
    timed w5.c "$BASE" dispatch "$W5_N"
    LOOP[w5.c]="${LOOP[w5.c]:-} $(w5_loop)"
    W5_HASH=$(sed -n 's/.* h \([0-9a-f]*\)).*/\1/p' "$OUT/last.err")
    [ -n "$W5_HASH" ] || die "W5: no hash from the baseline's dispatch: $(cat "$OUT/last.err")"

    timed w5.inprocess "$GH" --db "$SCRATCH" --new-db run "$HERE/w5_bus.lua" mode=inprocess n="$W5_N"
    LOOP[w5.inprocess]="${LOOP[w5.inprocess]:-} $(w5_loop)"
    grep -q "^cnt $W5_N sum $((W5_N * 20000)) h $W5_HASH\$" "$OUT/last.out" ||
        die "W5 in-process: the baseline's handlers ended with cnt $W5_N h $W5_HASH, gonghui's with: $(cat "$OUT/last.out")"
    timed w5.plain_gh "$GH" --db "$SCRATCH" --new-db run "$HERE/w5_bus.lua" mode=plain n="$W5_N"
    LOOP[w5.plain_gh]="${LOOP[w5.plain_gh]:-} $(w5_loop)"
    if [ -n "$LUA" ]; then
        timed w5.plain "$LUA" "$HERE/w5_bus.lua" mode=plain n="$W5_N"
        LOOP[w5.plain]="${LOOP[w5.plain]:-} $(w5_loop)"
    fi

    empty_scratch
    timed w5.durable "$GH" --db "$SCRATCH" --new-db run "$HERE/w5_bus.lua" mode=durable n="$W5_N" batch="$W5_BATCH"
    grep -q "^published $W5_N, seq 1..$W5_N\$" "$OUT/last.out" ||
        die "W5 durable: $(cat "$OUT/last.out")"
    [ -d "$W5_LOG" ] || cp -a "$SCRATCH" "$W5_LOG"

    if [ -n "$SQLITE" ]; then # the same events into a SQLite table, a transaction per batch
        if [ ! -s "$OUT/w5-$W5_N.sql" ]; then
            awk -v n="$W5_N" -v b="$W5_BATCH" 'BEGIN {
                print "CREATE TABLE events(seq INTEGER PRIMARY KEY, topic TEXT NOT NULL, payload INTEGER NOT NULL);"
                for (i = 0; i < n; i += b) {
                    j = i + b < n ? i + b : n
                    printf "BEGIN; WITH RECURSIVE c(x) AS (SELECT %d UNION ALL SELECT x + 1 FROM c WHERE x < %d) ", i + 1, j
                    print "INSERT INTO events(topic, payload) SELECT '"'"'member.paid'"'"', x FROM c; COMMIT;"
                }
                print "SELECT '"'"'published '"'"' || count(*) || '"'"' sum '"'"' || sum(payload) FROM events;"
            }' >"$OUT/w5-$W5_N.sql"
        fi
        empty_scratch
        timed w5.sqlite "$SQLITE" "$SCRATCH/events.db" ".read $OUT/w5-$W5_N.sql"
        grep -qx "published $W5_N sum $((W5_N * (W5_N + 1) / 2))" "$OUT/last.out" ||
            die "W5 (sqlite3): $(cat "$OUT/last.out" "$OUT/last.err")"
    fi

    fresh "$W5_LOG"
    timed w5.catchup "$GH" --db "$SCRATCH" run "$HERE/w5_bus.lua" mode=catchup n="$W5_N" batch="$W5_BATCH"
    grep -q "^handled $W5_N parked 0 sum $((W5_N * (W5_N + 1) / 2))\$" "$OUT/last.out" ||
        die "W5 catch-up: $(cat "$OUT/last.out")"
done
c_rate=$(mrate "$W5_N" "$(median "${LOOP[w5.c]}")")
gh_rate=$(mrate "$W5_N" "$(median "${LOOP[w5.inprocess]}")")
gh_whole=$(mrate "$W5_N" "$(median "${TIMES[w5.inprocess]}")")
plain_gh=$(mrate "$W5_N" "$(median "${LOOP[w5.plain_gh]}")")
plain=
[ -n "$LUA" ] && plain="$(mrate "$W5_N" "$(median "${LOOP[w5.plain]}")") M/s in lua5.4, "
# issue 18: bus.emit at least as fast as plain Lua calls in the same state, same run
verdict=$(awk -v r="$gh_rate" -v p="$plain_gh" 'BEGIN { print (r >= p ? "meets" : "MISSES") }')
printf '%-26s N=%-8s C dispatch %.1f M events/s  gonghui bus.emit %s M events/s (whole command %s)  plain Lua 3 calls %s%s M/s in gonghui run  (target >= plain Lua in gonghui run: %s)  peak RSS gonghui %s MB\n' \
    "W5 bus in-process" "$W5_N" "$c_rate" "$gh_rate" "$gh_whole" "$plain" "$plain_gh" "$verdict" \
    "$(mb "$(median "${RSS[w5.inprocess]}")")" | tee -a "$RESULTS"
td=$(median "${TIMES[w5.durable]}")
d_rate=$(mrate "$W5_N" "$td")
verdict=$(awk -v r="$d_rate" 'BEGIN { print (r >= 1 ? "meets" : "MISSES") }')
sqd=
if [ -n "${TIMES[w5.sqlite]:-}" ]; then
    tq=$(median "${TIMES[w5.sqlite]}")
    sqd=$(printf '  SQLite %s M events/s (INSERT ... SELECT of %d per transaction: %.3f s; gonghui/SQLite %sx, CPU %sx)' \
        "$(mrate "$W5_N" "$tq")" "$W5_BATCH" "$tq" "$(ratio "$td" "$tq")" \
        "$(ratio "$(median "${CPU[w5.durable]}")" "$(median "${CPU[w5.sqlite]}")")")
fi
printf '%-26s N=%-8s gonghui %s M events/s (bus.publish, %d per db.atomic: %.3f s whole command)  (target >= 1 M/s: %s)%s  peak RSS %s MB  db size %s MB\n' \
    "W5 bus durable publish" "$W5_N" "$d_rate" "$W5_BATCH" "$td" "$verdict" "$sqd" \
    "$(mb "$(median "${RSS[w5.durable]}")")" "$(mb "$(median "${SIZE[w5.durable]}")")" | tee -a "$RESULTS"
tc=$(median "${TIMES[w5.catchup]}")
printf '%-26s N=%-8s gonghui %s M events/s (bus.run, batches of %d: %.3f s whole command)  (no target)  peak RSS %s MB\n' \
    "W5 bus consumer catch-up" "$W5_N" "$(mrate "$W5_N" "$tc")" "$W5_BATCH" "$tc" \
    "$(mb "$(median "${RSS[w5.catchup]}")")" | tee -a "$RESULTS"
fi # w5

# ---- W6 start ------------------------------------------------------------------------
# $W6_RUNS runs of each in a bash loop, interleaved: `gonghui run` of an empty
# script against the N-member database, `lua5.4 -e ''`, and the sqlite3 CLI
# opening the N-member database and reading its schema. Wall ms per run (fork
# and exec included, the same for all) and CPU ms per run (bash's `time`:
# user + system of the loop's children).
if want w6; then
fresh "$PRISTINE_GH"
[ -z "$SQLITE" ] || cp "$PRISTINE_SQ/members.db" "$SCRATCH/w6.sqlite"
declare -A W6 W6CPU
loop_ms() { # loop_ms NAME CMD...: appends ms per run of CMD over $W6_RUNS runs (wall, CPU)
    local name=$1 i t0 tf
    shift
    tf=$OUT/w6.time
    t0=$EPOCHREALTIME
    { TIMEFORMAT='%3U %3S'; time for ((i = 0; i < W6_RUNS; i++)); do
        "$@" >/dev/null || die "W6: failed: $*"
    done; } 2>"$tf"
    W6[$name]="${W6[$name]:-} $(awk -v a="$t0" -v b="$EPOCHREALTIME" -v n="$W6_RUNS" 'BEGIN { printf "%.3f", (b - a) * 1000 / n }')"
    W6CPU[$name]="${W6CPU[$name]:-} $(awk -v n="$W6_RUNS" '{ printf "%.3f", ($1 + $2) * 1000 / n }' "$tf")"
}
for r in $(seq "$REPS"); do
    [ -z "$LUA" ] || loop_ms lua "$LUA" -e ''
    loop_ms gh "$GH" --db "$SCRATCH" run "$HERE/w6_empty.lua"
    [ -z "$SQLITE" ] || loop_ms sqlite "$SQLITE" "$SCRATCH/w6.sqlite" "SELECT count(*) FROM sqlite_schema"
done
for v in "${!W6[@]}"; do echo "w6.$v ms/run:${W6[$v]}  CPU ms/run:${W6CPU[$v]}" >>"$RAW"; done
timed w6.gh "$GH" --db "$SCRATCH" run "$HERE/w6_empty.lua"
mg=$(median "${W6[gh]}")
line=$(printf '%-26s N=%-8s gonghui %.2f ms (best %.2f, CPU %.2f ms)' "W6 start (empty script)" "$ROWS" "$mg" \
    "$(best "${W6[gh]}")" "$(median "${W6CPU[gh]}")")
if [ -n "$LUA" ]; then
    timed w6.lua "$LUA" -e ''
    ml=$(median "${W6[lua]}")
    verdict=$(awk -v m="$mg" -v l="$ml" 'BEGIN { print (m <= l + 2 ? "meets" : "MISSES") }')
    line="$line$(printf '  lua5.4 %.2f ms (best %.2f, CPU %.2f ms): gonghui = lua5.4 + %.2f ms (target <= + 2 ms: %s)' \
        "$ml" "$(best "${W6[lua]}")" "$(median "${W6CPU[lua]}")" "$(awk -v a="$mg" -v b="$ml" 'BEGIN { print a - b }')" "$verdict")"
fi
if [ -n "$SQLITE" ]; then
    mq=$(median "${W6[sqlite]}")
    line="$line$(printf '  SQLite %.2f ms (best %.2f, CPU %.2f ms): gonghui/SQLite %sx' "$mq" "$(best "${W6[sqlite]}")" \
        "$(median "${W6CPU[sqlite]}")" "$(ratio "$mg" "$mq")")"
fi
echo "$line  peak RSS gonghui $(mb "$(median "${RSS[w6.gh]}")") MB${LUA:+ / lua5.4 $(mb "$(median "${RSS[w6.lua]:-0}")") MB}" | tee -a "$RESULTS"
fi # w6

rm -rf "$SCRATCH"
echo "# load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$RESULTS"
echo "# results: $RESULTS  every run: $RAW" >&2

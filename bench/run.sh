#!/bin/sh
# bench/run.sh — W1 (`gonghui import`), W2, W3, W4, W5 and W6 of ../shared/BENCHMARKS.md as whole
# `gonghui run` commands, interleaved with the C + LMDB baseline.
#
#   bench/run.sh [--quick] [--rows N] [--seed S] [--reps R] [--only w1,w2,...]
#
# Default N = 1,000,000; --quick N = 100,000 (W5 always uses W5_N events,
# default 1,000,000). Environment: GONGHUI=path to the binary (default
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
usage: bench/run.sh [--quick] [--rows N] [--seed S] [--reps R] [--only LIST]

  --quick    N = 100,000 members (default 1,000,000)
  --rows N   N members (wins over --quick)
  --seed S   generator seed (default 20250301)
  --reps R   timed repetitions per variant, the median is reported (default 3)
  --only LIST  only these workloads, e.g. --only w1 or --only w2,w3 (default: all)

environment: GONGHUI=path to the gonghui binary (default build/gonghui)
             SHARED=path to the shared folder with tools/ (default ../shared)
EOF
}

ROWS=
QUICK=0
SEED=20250301
REPS=3
ONLY=
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
SHARED=${SHARED:-$ROOT/../shared}
GH_SRC=${GONGHUI:-$ROOT/build/gonghui}
case "$GH_SRC" in /*) ;; *) GH_SRC=$CALLER_PWD/$GH_SRC ;; esac
mkdir -p "$OUT"

# ---- tools ---------------------------------------------------------------------------

[ -x /usr/bin/time ] || die "/usr/bin/time (GNU time) is missing: install the Debian package 'time' (apt-get install time)"
command -v python3 >/dev/null || die "python3 is needed to generate the data (../shared/tools/gen_members.py)"
command -v cc >/dev/null || die "a C compiler (cc) is needed for the baseline"
[ -f "$SHARED/tools/lmdb_baseline.c" ] || die "no $SHARED/tools/lmdb_baseline.c (set SHARED=path)"
LUA=$(command -v lua5.4 || true)
SQLITE=$(command -v sqlite3 || true)

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

# report LABEL C_VARIANT GH_VARIANT TARGET_RATIO
report() {
    local label=$1 c=$2 g=$3 target=$4
    local tc tg rc rg sc sg ratio verdict uc ug
    tc=$(median "${TIMES[$c]}"); tg=$(median "${TIMES[$g]}")
    uc=$(median "${CPU[$c]}"); ug=$(median "${CPU[$g]}")
    rc=$(median "${RSS[$c]}"); rg=$(median "${RSS[$g]}")
    sc=$(median "${SIZE[$c]}"); sg=$(median "${SIZE[$g]}")
    ratio=$(awk -v a="$tg" -v b="$tc" 'BEGIN { printf "%.2f", a / b }')
    verdict=$(awk -v r="$ratio" -v t="$target" 'BEGIN { print (r <= t ? "meets" : "MISSES") }')
    printf '%-26s N=%-8s C %6.3f s  gonghui %6.3f s  ratio %5.2fx  (target <= %sx: %s)  CPU C %.2f s / gonghui %.2f s (%sx)  peak RSS C %s MB / gonghui %s MB  db size C %s MB / gonghui %s MB\n' \
        "$label" "$ROWS" "$tc" "$tg" "$ratio" "$target" "$verdict" \
        "$uc" "$ug" "$(awk -v a="$ug" -v b="$uc" 'BEGIN { printf (b > 0 ? "%.2f" : "-"), (b > 0 ? a / b : 0) }')" \
        "$(mb "$rc")" "$(mb "$rg")" "$(mb "$sc")" "$(mb "$sg")" | tee -a "$RESULTS"
}

RESULTS=$OUT/results-$ROWS.txt
: >"$RESULTS"

# ---- pristine databases (not measured) ---------------------------------------------

PRISTINE_C=$OUT/pristine-c-$ROWS-$SEED
PRISTINE_GH=$OUT/pristine-gh-$ROWS-$SEED
rm -rf "$OUT"/pristine-* "$SCRATCH"
tload_c=0 tload_gh=0
if want w2 || want w3 || want w4 || want w6; then
mkdir -p "$PRISTINE_C"
t0=$EPOCHREALTIME
"$BASE" import "$CSV" "$PRISTINE_C" >"$OUT/last.out" || die "baseline import failed"
tload_c=$(secs_since "$t0")
t0=$EPOCHREALTIME
"$GH" --db "$PRISTINE_GH" run "$HERE/load_members.lua" csv="$CSV" >"$OUT/last.out" 2>"$OUT/last.err" ||
    { cat "$OUT/last.err" >&2; die "loading the gonghui database failed"; }
tload_gh=$(secs_since "$t0")
grep -q "^loaded $ROWS members" "$OUT/last.out" || die "the loader did not load $ROWS members: $(cat "$OUT/last.out")"
fi

{
    echo "# gonghui bench  $(date '+%Y-%m-%d %H:%M')  $(uname -n)  $(nproc) cores  N=$ROWS seed=$SEED reps=$REPS"
    echo "# gonghui: $GH_SRC ($("$GH" --version))  baseline: $SHARED/tools/lmdb_baseline.c"
    [ -d "$PRISTINE_GH" ] &&
        printf '# setup (not measured): C import %.2f s (%s MB), gonghui load_members.lua %.2f s (%s MB)\n' \
            "$tload_c" "$(mb "$(du -sk "$PRISTINE_C" | cut -f1)")" "$tload_gh" "$(mb "$(du -sk "$PRISTINE_GH" | cut -f1)")"
    [ -z "$ONLY" ] || echo "# only: $ONLY"
} | tee -a "$RESULTS"

# ---- W1 import ----------------------------------------------------------------------
# The CSV into an empty `members` (defined by w1_define.lua, not measured) with
# `gonghui import`, against `lmdb_baseline import` into an empty directory, and
# (when the sqlite3 CLI is installed) `.import` into a SQLite table with the same
# key and indexes, in SQLite's default durable mode (rollback journal,
# synchronous=FULL; .import is one transaction).
if want w1; then
EMPTY_C=$OUT/pristine-w1-c
EMPTY_GH=$OUT/pristine-w1-gh
rm -rf "$EMPTY_C" "$EMPTY_GH"
mkdir -p "$EMPTY_C"
"$GH" --db "$EMPTY_GH" run "$HERE/w1_define.lua" >"$OUT/last.out" 2>"$OUT/last.err" ||
    { cat "$OUT/last.err" >&2; die "W1: defining members failed"; }
W1_SQL="CREATE TABLE members(member_id INTEGER PRIMARY KEY, name TEXT NOT NULL,
  id_number TEXT NOT NULL UNIQUE, phone TEXT NOT NULL, gender TEXT NOT NULL,
  birth_date TEXT NOT NULL, enterprise_id INTEGER NOT NULL, town TEXT NOT NULL,
  category TEXT NOT NULL, join_date TEXT NOT NULL, status TEXT NOT NULL, retire_date TEXT);
CREATE INDEX members_enterprise ON members(enterprise_id);
CREATE INDEX members_category ON members(category);"
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
report "W1 import" w1.c w1.gh 1.3
if [ -n "$SQLITE" ]; then
    tg=$(median "${TIMES[w1.gh]}")
    ts=$(median "${TIMES[w1.sqlite]}")
    printf '%-26s N=%-8s SQLite %6.3f s  gonghui %6.3f s  ratio %5.2fx  (target < 1x: %s)  CPU SQLite %.2f s / gonghui %.2f s  peak RSS SQLite %s MB / gonghui %s MB  db size SQLite %s MB / gonghui %s MB\n' \
        "W1 import vs sqlite3" "$ROWS" "$ts" "$tg" "$(awk -v a="$tg" -v b="$ts" 'BEGIN { printf "%.2f", a / b }')" \
        "$(awk -v a="$tg" -v b="$ts" 'BEGIN { print (a < b ? "meets" : "MISSES") }')" \
        "$(median "${CPU[w1.sqlite]}")" "$(median "${CPU[w1.gh]}")" \
        "$(mb "$(median "${RSS[w1.sqlite]}")")" "$(mb "$(median "${RSS[w1.gh]}")")" \
        "$(mb "$(median "${SIZE[w1.sqlite]}")")" "$(mb "$(median "${SIZE[w1.gh]}")")" | tee -a "$RESULTS"
fi
awk -v n="$ROWS" -v c="$(median "${TIMES[w1.c]}")" -v g="$(median "${TIMES[w1.gh]}")" -v s="${ts:-0}" \
    'BEGIN { printf "# W1: C %.0f rows/s, gonghui import %.0f rows/s", n / c, n / g;
             if (s > 0) printf ", sqlite3 .import %.0f rows/s", n / s;
             printf " (BENCHMARKS.md at 1M: SQLite 3.2 s = 312500 rows/s)\n" }' |
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

    for v in w2_campaign w2_campaign_fast w2_program; do
        fresh "$PRISTINE_GH"
        timed "w2.$v" env GONGHUI_LIB="$HERE/../scripts/lib" "$GH" --db "$SCRATCH" run "$HERE/$v.lua" expect="$AWARDED"
        grep -qx "awarded $AWARDED" "$OUT/last.out" ||
            die "W2 ($v.lua): the C baseline awarded $AWARDED, gonghui printed: $(cat "$OUT/last.out")"
        if [ "$r" = 1 ]; then # once, not timed: what was stored
            "$GH" --db "$SCRATCH" run "$HERE/verify_w2.lua" expect="$AWARDED" form="$v" >"$OUT/last.out" 2>&1 ||
                { cat "$OUT/last.out" >&2; die "W2 ($v.lua): the stored awards are wrong"; }
        fi
    done
done
echo "# W2: $AWARDED awarded (C and gonghui agree)" | tee -a "$RESULTS"
report "W2 campaign" w2.c w2.w2_campaign 2
report "W2 campaign (fast form)" w2.c w2.w2_campaign_fast 1.5
report "W2 campaign (framework)" w2.c w2.w2_program 2
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
done
report "W3 lookups" w3.c w3.gh 1
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
done
echo "# W4: $(wc -l <"$OUT/w4.c.txt") towns, counts per town agree with the baseline" | tee -a "$RESULTS"
report "W4 group-by (loop)" w4.c w4.loop 2
report "W4 group-by (count_by)" w4.c w4.count_by 2
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

    timed w5.inprocess "$GH" --db "$SCRATCH" run "$HERE/w5_bus.lua" mode=inprocess n="$W5_N"
    LOOP[w5.inprocess]="${LOOP[w5.inprocess]:-} $(w5_loop)"
    grep -q "^cnt $W5_N sum $((W5_N * 20000)) h $W5_HASH\$" "$OUT/last.out" ||
        die "W5 in-process: the baseline's handlers ended with cnt $W5_N h $W5_HASH, gonghui's with: $(cat "$OUT/last.out")"
    timed w5.plain_gh "$GH" --db "$SCRATCH" run "$HERE/w5_bus.lua" mode=plain n="$W5_N"
    LOOP[w5.plain_gh]="${LOOP[w5.plain_gh]:-} $(w5_loop)"
    if [ -n "$LUA" ]; then
        timed w5.plain "$LUA" "$HERE/w5_bus.lua" mode=plain n="$W5_N"
        LOOP[w5.plain]="${LOOP[w5.plain]:-} $(w5_loop)"
    fi

    empty_scratch
    timed w5.durable "$GH" --db "$SCRATCH" run "$HERE/w5_bus.lua" mode=durable n="$W5_N" batch="$W5_BATCH"
    grep -q "^published $W5_N, seq 1..$W5_N\$" "$OUT/last.out" ||
        die "W5 durable: $(cat "$OUT/last.out")"
    [ -d "$W5_LOG" ] || cp -a "$SCRATCH" "$W5_LOG"

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
verdict=$(awk -v r="$gh_rate" 'BEGIN { print (r >= 10 ? "meets" : "MISSES") }')
printf '%-26s N=%-8s C dispatch %.1f M events/s  gonghui bus.emit %s M events/s (whole command %s)  plain Lua 3 calls %s%s M/s in gonghui run  (target >= 10 M/s: %s)  peak RSS gonghui %s MB\n' \
    "W5 bus in-process" "$W5_N" "$c_rate" "$gh_rate" "$gh_whole" "$plain" "$plain_gh" "$verdict" \
    "$(mb "$(median "${RSS[w5.inprocess]}")")" | tee -a "$RESULTS"
td=$(median "${TIMES[w5.durable]}")
d_rate=$(mrate "$W5_N" "$td")
verdict=$(awk -v r="$d_rate" 'BEGIN { print (r >= 1 ? "meets" : "MISSES") }')
printf '%-26s N=%-8s gonghui %s M events/s (bus.publish, %d per db.atomic: %.3f s whole command)  (target >= 1 M/s: %s)  peak RSS %s MB  db size %s MB\n' \
    "W5 bus durable publish" "$W5_N" "$d_rate" "$W5_BATCH" "$td" "$verdict" \
    "$(mb "$(median "${RSS[w5.durable]}")")" "$(mb "$(median "${SIZE[w5.durable]}")")" | tee -a "$RESULTS"
tc=$(median "${TIMES[w5.catchup]}")
printf '%-26s N=%-8s gonghui %s M events/s (bus.run, batches of %d: %.3f s whole command)  (no target)  peak RSS %s MB\n' \
    "W5 bus consumer catch-up" "$W5_N" "$(mrate "$W5_N" "$tc")" "$W5_BATCH" "$tc" \
    "$(mb "$(median "${RSS[w5.catchup]}")")" | tee -a "$RESULTS"
fi # w5

# ---- W6 start ------------------------------------------------------------------------
if want w6; then
fresh "$PRISTINE_GH"
loop_ms() { # loop_ms CMD...: ms per run of CMD over $W6_RUNS runs
    local i t0
    t0=$EPOCHREALTIME
    for ((i = 0; i < W6_RUNS; i++)); do
        "$@" >/dev/null || die "W6: failed: $*"
    done
    awk -v a="$t0" -v b="$EPOCHREALTIME" -v n="$W6_RUNS" 'BEGIN { printf "%.3f", (b - a) * 1000 / n }'
}
W6_GH= W6_LUA=
for r in $(seq "$REPS"); do
    [ -n "$LUA" ] && W6_LUA="$W6_LUA $(loop_ms "$LUA" -e '')"
    W6_GH="$W6_GH $(loop_ms "$GH" --db "$SCRATCH" run "$HERE/w6_empty.lua")"
done
echo "w6.gh ms/run:$W6_GH" >>"$RAW"
timed w6.gh "$GH" --db "$SCRATCH" run "$HERE/w6_empty.lua"
rss_gh=$(median "${RSS[w6.gh]}")
mg=$(median "$W6_GH")
verdict=$(awk -v m="$mg" 'BEGIN { print (m <= 5 ? "meets" : "MISSES") }')
if [ -n "$LUA" ]; then
    echo "w6.lua ms/run:$W6_LUA" >>"$RAW"
    timed w6.lua "$LUA" -e ''
    ml=$(median "$W6_LUA")
    printf '%-26s N=%-8s lua5.4 %.2f ms  gonghui %.2f ms  ratio %5.2fx  (target <= 5 ms: %s)  peak RSS lua5.4 %s MB / gonghui %s MB  db size gonghui %s MB\n' \
        "W6 start (empty script)" "$ROWS" "$ml" "$mg" "$(awk -v a="$mg" -v b="$ml" 'BEGIN { printf "%.2f", a / b }')" \
        "$verdict" "$(mb "$(median "${RSS[w6.lua]}")")" "$(mb "$rss_gh")" "$(mb "$(du -sk "$SCRATCH" | cut -f1)")" | tee -a "$RESULTS"
else
    printf '%-26s N=%-8s gonghui %.2f ms  (target <= 5 ms: %s; lua5.4 not installed)  peak RSS gonghui %s MB  db size gonghui %s MB\n' \
        "W6 start (empty script)" "$ROWS" "$mg" "$verdict" "$(mb "$rss_gh")" "$(mb "$(du -sk "$SCRATCH" | cut -f1)")" | tee -a "$RESULTS"
fi
fi # w6

rm -rf "$SCRATCH"
echo "# results: $RESULTS  every run: $RAW" >&2

#!/bin/sh
# bench/programs.sh — issue 23's program-layer workloads at each N, beside the
# C baseline's W2 loop:
#   W7  the shipped gift drive's plan issuing one 新春礼包 to every eligible
#       member through the framework (bench/w7_gift_drive.lua)
#   W8  the retirement honours of a year: who reaches statutory age, and their
#       certificates (scripts/retirement/issue.lua union=1 year=2025)
#   W9  the year report over a year of every program's activity (bench/w9/year.lua:
#       about 10 entries per member, not timed), rebuilt from the event log
#       (bench/w9/report.lua from=log: the facts cleared, the whole log
#       replayed) and counted from the records (from=records); the two must
#       agree on every figure, or the bench fails
#   W10 a sheet of R receipt rows entered through the framework's sheet helper
#       (bench/w10/ticket.lua enter=...), against `gonghui import` of the file;
#       w10_compact: the same on the registry compacted (gonghui compact)
#
#   sh bench/programs.sh [--ns 100000,1000000,3000000] [--rows R] [--reps K] [--only w7,w8,w9,w10]
#
# SAMPLES=DIR reads the sample registries, sheets and the C baseline's data
# (prog-pristine-N, prog-sheet-N, prog-c-N.csv, prog-pristine-c-N) that an
# earlier run made there, never writing into DIR (each run works on a copy);
# what DIR lacks is made in bench/out.
#
# For each N it builds the sample registry once (scripts/sample_data.lua
# members=N seed=2025, not timed), copies it for each run, and prints, per
# workload, the median wall and CPU seconds (and of them the system time), the
# time per member (or row), the minor page faults and the peak RSS; W7 also
# the C baseline's W2 (lmdb_baseline campaign on its own N-member data) per
# award and the ratio. Output: bench/out/programs-N.txt.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail
export LC_ALL=C
export GONGHUI_STATE_DIR="${TMPDIR:-/tmp}/gonghui-bench-state.$$"
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
GH=${GONGHUI:-$ROOT/build/gonghui}
SHARED=${SHARED:-$ROOT/../shared}
OUT=$HERE/out
NS=100000 ROWS=100000 REPS=3 ONLY=w7,w8,w9,w10
while [ $# -gt 0 ]; do
    case "$1" in
    --ns) NS=$2; shift 2 ;;
    --rows) ROWS=$2; shift 2 ;;
    --reps) REPS=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    *) echo "usage: bench/programs.sh [--ns LIST] [--rows R] [--reps K] [--only w7,w8,w9,w10]" >&2; exit 2 ;;
    esac
done
mkdir -p "$OUT"
BASE=$OUT/lmdb_baseline
if [ ! -x "$BASE" ] || [ "$SHARED/tools/lmdb_baseline.c" -nt "$BASE" ]; then
    cc -O2 -o "$BASE" "$SHARED/tools/lmdb_baseline.c" -llmdb
fi
S=$OUT/prog-scratch-$$      # one per run, so two runs (two N) may go side by side
R=$OUT/prog-run-$$
trap 'rm -rf "$S" "$R".*' EXIT
median() { tr ' ' '\n' | grep . | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
# run LABEL CMD...: one timed run into $S/db (copied fresh from $P by the caller); appends wall/cpu/sys/
# faults/rss. Minor faults are the pages of the database's map (and of new memory) a run touches
# first: where a workload grows with N while its instructions do not, they show it (bench/README.md)
run() {
    local v=$1; shift
    local t0 t1
    t0=$EPOCHREALTIME
    /usr/bin/time -f '%U %S %M %R' -o "$R.time" "$@" >"$R.out" 2>"$R.err" ||
        { echo "bench: $v failed: $*" >&2; tail -20 "$R.out" "$R.err" >&2; exit 1; }
    t1=$EPOCHREALTIME
    W[$v]="${W[$v]:-} $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')"
    C[$v]="${C[$v]:-} $(tail -1 "$R.time" | awk '{ printf "%.3f", $1 + $2 }')"
    SY[$v]="${SY[$v]:-} $(tail -1 "$R.time" | awk '{ printf "%.3f", $2 }')"
    M[$v]="${M[$v]:-} $(tail -1 "$R.time" | awk '{ print $3 }')"
    F[$v]="${F[$v]:-} $(tail -1 "$R.time" | awk '{ print $4 }')"
}
fresh() { rm -rf "$S"; mkdir -p "$S"; cp -r "$1" "$S/db"; }
want() { case ",$ONLY," in *",$1,"*) return 0 ;; esac; return 1; }
SRC=${SAMPLES:-$OUT}
for N in ${NS//,/ }; do
    declare -A W=() C=() M=() SY=() F=()
    P=$SRC/prog-pristine-$N SHEETDIR=$SRC/prog-sheet-$N
    [ -d "$P" ] && [ -d "$SHEETDIR" ] || P=$OUT/prog-pristine-$N SHEETDIR=$OUT/prog-sheet-$N
    if [ ! -d "$P" ]; then
        echo "building the sample registry of $N members (not timed)..." >&2
        "$GH" --db "$P" --new-db run "$ROOT/scripts/sample_data.lua" members="$N" seed=2025 >/dev/null
        "$GH" --db "$P" run "$HERE/w10/define.lua" >/dev/null
        mkdir -p "$OUT/prog-sheet-$N"
        "$GH" --db "$P" run --out "$OUT/prog-sheet-$N" "$HERE/w10/make_sheet.lua" rows="$ROWS" >/dev/null
    fi
    P9=$OUT/prog-w9-$N
    if want w9 && [ ! -d "$P9" ]; then
        echo "making W9's year of activity over $N members (not timed)..." >&2
        rm -rf "$P9.tmp"; cp -r "$P" "$P9.tmp"
        /usr/bin/time -f "W9 year made: %e s wall, %U+%S s cpu, %M KB" \
            "$GH" --db "$P9.tmp" run --timeout 0 "$HERE/w9/year.lua" seed=2025 >&2
        mv "$P9.tmp" "$P9"
    fi
    P8=$OUT/prog-w8-$N   # W7, W8: the registry as defined now (a sample made before the members'
    # birth_date index gets it here, not in the timed run: W7's registry.define_all() built it,
    # half of W7's instructions at 100k)
    if { want w7 || want w8; } && [ ! -d "$P8" ]; then
        rm -rf "$P8.tmp"; cp -r "$P" "$P8.tmp"
        /usr/bin/time -f "W8 registry defined: %e s wall, %U+%S s cpu, %M KB" \
            "$GH" --db "$P8.tmp" run -e "require('registry').define_all()" >&2
        mv "$P8.tmp" "$P8"
    fi
    PK=$OUT/prog-compact-$N   # W10 again on the same registry compacted (gonghui compact): its
    # tables in key order; the sample as made has its ID-number index strewn over the file
    if want w10 && [ ! -d "$PK" ]; then
        rm -rf "$PK.tmp"; cp -r "$P" "$PK.tmp"
        "$GH" --db "$PK.tmp" compact >&2
        mv "$PK.tmp" "$PK"
    fi
    PC=$SRC/prog-pristine-c-$N
    if [ ! -d "$PC" ]; then
        CSV=$OUT/prog-c-$N.csv PC=$OUT/prog-pristine-c-$N
        [ -f "$CSV" ] || python3 "$SHARED/tools/gen_members.py" --rows "$N" --out "$CSV"
        [ -d "$PC" ] || { mkdir -p "$PC"; "$BASE" import "$CSV" "$PC" >/dev/null; }
    fi
    SHEET=$SHEETDIR/receipts.csv
    AWARDS=0 ISSUED=0 CERTS=0 ENTRIES=0 W9OK=
    for r in $(seq "$REPS"); do          # interleaved: C, W7, W8, W9, W10, import
        rm -rf "$S"; mkdir -p "$S"; cp -r "$PC" "$S/c"
        run c_w2 "$BASE" campaign "$S/c"
        AWARDS=$(sed -n 's/.*awarded=\([0-9]*\).*/\1/p' "$R.out")
        if want w7; then
            fresh "$P8"; run w7 "$GH" --db "$S/db" run --in "$ROOT/scripts/gift_drive" "$HERE/w7_gift_drive.lua" drive="$ROOT/scripts/gift_drive/drive.lua"
            ISSUED=$(sed -n 's/^W7 issued=\([0-9]*\).*/\1/p' "$R.out")
            [ "$r" != 1 ] || "$GH" --db "$S/db" run --in "$ROOT/scripts/gift_drive" "$HERE/w7_gift_drive.lua" \
                drive="$ROOT/scripts/gift_drive/drive.lua" verify=1 >/dev/null ||   # untimed: the awarded set is the rule's
                { echo "bench: W7's packages are not the eligible members' (w7_gift_drive.lua verify=1)" >&2; exit 1; }
        fi
        if want w8; then
            fresh "$P8"; run w8 "$GH" --db "$S/db" run "$ROOT/scripts/retirement/issue.lua" union=1 year=2025
            CERTS=$(sed -n 's/^\([0-9]*\) on the list.*/\1/p' "$R.out")
        fi
        if want w9; then     # the log road writes (year_facts): a fresh copy; the records road only reads
            fresh "$P9"; mkdir -p "$S/w9"
            run w9_log "$GH" --db "$S/db" run --timeout 0 --out "$S/w9" "$HERE/w9/report.lua" from=log out=log.txt
            ENTRIES=$(sed -n 's/.*; \([0-9]*\) events replayed.*/\1/p' "$R.out")
            run w9_records "$GH" --db "$S/db" run --timeout 0 --out "$S/w9" "$HERE/w9/report.lua" from=records out=records.txt
            if cmp -s "$S/w9/log.txt" "$S/w9/records.txt"; then
                W9OK="the log and the records agree on all $(wc -l <"$S/w9/log.txt") figures"
            else
                echo "bench: W9: the report from the log and the one from the records differ:" >&2
                diff "$S/w9/log.txt" "$S/w9/records.txt" | head -20 >&2
                exit 1
            fi
        fi
        if want w10; then
            fresh "$P"; run w10 "$GH" --db "$S/db" run --in "$(dirname "$SHEET")" "$HERE/w10/ticket.lua" enter="$SHEET"
            fresh "$PK"; run w10_compact "$GH" --db "$S/db" run --in "$(dirname "$SHEET")" "$HERE/w10/ticket.lua" enter="$SHEET"
            fresh "$P"; run w10_import "$GH" --db "$S/db" import receipts "$SHEET"
        fi
    done
    {
        echo "# N=$N members, reps=$REPS, load: $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ), $("$GH" --version | head -1)"
        for v in c_w2 w7 w8 w9_log w9_records w10 w10_compact w10_import; do
            [ -n "${C[$v]:-}" ] || continue
            w=$(echo ${W[$v]} | median) c=$(echo ${C[$v]} | median) m=$(echo ${M[$v]} | median) sy=$(echo ${SY[$v]} | median)
            f=$(echo ${F[$v]} | median)
            case $v in
            c_w2) per=$AWARDS what="awards (C baseline W2)" ;;
            w7) per=$ISSUED what="packages issued" ;;
            w8) per=$N what="members scanned ($CERTS certificates)" ;;
            w9_*) per=$ENTRIES what="year entries (events) of $N members" ;;
            *) per=$ROWS what="sheet rows" ;;
            esac
            printf '%-11s wall %7.2f s  cpu %7.2f s (sys %5.2f)  %8.2f us cpu per one of %d %s  minor faults %8d  peak RSS %5d MB\n' \
                "$v" "$w" "$c" "$sy" "$(awk -v c="$c" -v n="$per" 'BEGIN { print n ? c * 1e6 / n : 0 }')" "$per" "$what" \
                "${f%.*}" "$((m / 1024))"
        done
        awk -v a="$(echo ${C[w7]:-} | median)" -v b="$(echo ${C[c_w2]} | median)" -v i="$ISSUED" -v k="$AWARDS" \
            'BEGIN { if (b > 0 && i > 0 && k > 0) printf "W7 / C W2, cpu per award: %.2fx (target <= 2x)\n", (a / i) / (b / k) }'
        awk -v a="$(echo ${C[w10]:-} | median)" -v b="$(echo ${C[w10_import]:-} | median)" \
            'BEGIN { if (b > 0) printf "W10 sheet / import, cpu: %.2fx\n", a / b }'
        [ -z "$W9OK" ] || echo "W9: $W9OK"
        echo "database: $(du -sm "$P" | cut -f1) MB$([ ! -d "$PK" ] || echo "; compacted: $(du -sm "$PK" | cut -f1) MB")$([ ! -d "$P9" ] || echo "; with W9's year: $(du -sm "$P9" | cut -f1) MB")"
    } | tee "$OUT/programs-$N.txt"
    unset W C M SY F
done

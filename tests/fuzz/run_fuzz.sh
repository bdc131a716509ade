#!/bin/sh
# run_fuzz.sh — builds the libFuzzer targets with clang and runs each one.
#
# Usage: tests/fuzz/run_fuzz.sh SECONDS [OUTDIR]
#   SECONDS  how long to run each target (-max_total_time); 0 only builds.
#   OUTDIR   where binaries, the working corpus and crash files go
#            (default: build-fuzz in the current directory).
# Environment: CC (default clang); FUZZ_JOBS=N runs N libFuzzer jobs per target
# (their logs go to fuzz-*.log in the current directory); unset: one process.
#
# Called by CI when clang is available and by the `fuzz` target of a CMake
# build configured with -DGH_FUZZ=ON. The core sources are compiled straight
# into each target (not linked from ghcore, which the project compiler built).
# Each run starts from a copy of tests/fuzz/corpus/<name>/, so new inputs
# libFuzzer finds land in OUTDIR, not in the source tree; copy the ones worth
# keeping (and any crash-* file, once fixed) into the seed corpus by hand.
# Exit status: non-zero if a build fails or a target finds a crash.
set -eu

if [ $# -lt 1 ]; then
    echo "usage: $0 SECONDS [OUTDIR]" >&2
    exit 2
fi
seconds=$1
case $seconds in
'' | *[!0-9]*)
    echo "$0: SECONDS must be a whole number" >&2
    exit 2
    ;;
esac
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${2:-build-fuzz}
cc=${CC:-clang}
mkdir -p "$out"
out=$(cd "$out" && pwd)

flags="-std=c11 -D_GNU_SOURCE -DGH_NLS -g -O1 -fno-omit-frame-pointer
       -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
       -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes"

status=0
for name in value key csv xlsx mdb; do
    extra=
    if [ "$name" = csv ]; then
        # the CSV reader and libcsv under it
        extra="$root/core/csvfile.c -lcsv"
    elif [ "$name" = xlsx ]; then
        # the xlsx plugin's reader (minizip for the zip, expat for the XML)
        extra="-I$root/plugins/xlsx $(pkg-config --cflags minizip expat)
               $root/plugins/xlsx/xlsx_read.c $(pkg-config --libs minizip expat)"
    elif [ "$name" = mdb ]; then
        # check on a damaged data.mdb: the store, over LMDB (issue 16)
        extra="$root/core/store.c $root/core/store_def.c $root/core/store_scan.c $root/core/store_check.c $root/core/lmdb_code.c $root/core/store_bulk.c $root/core/store_compact.c $root/core/scratch.c $root/core/heap_thp.c $root/core/schema.c $root/core/pii.c $root/core/parse.c -llmdb -lsodium"
        # (pii.c calls libsodium for pseudonyms: the binary reaches it through lazylib.c)
    fi
    # shellcheck disable=SC2086 # $flags and $extra are lists of words
    "$cc" $flags -I"$root/core" "$here/fuzz_$name.c" "$root/core/codec.c" "$root/core/days.c" "$root/core/err.c" "$root/core/i18n.c" "$root/core/paths.c" \
        $extra -lm -o "$out/fuzz_$name"
    echo "built $out/fuzz_$name"
done
[ "$seconds" -eq 0 ] && exit 0

for name in value key csv xlsx mdb; do
    work="$out/corpus-$name"
    mkdir -p "$work" "$out/crashes-$name"
    cp "$here/corpus/$name/"* "$work/"
    echo "fuzzing $name for ${seconds}s"
    jobs=
    if [ -n "${FUZZ_JOBS:-}" ]; then
        jobs="-jobs=$FUZZ_JOBS"
    fi
    # shellcheck disable=SC2086 # $jobs is empty or one word
    if ! "$out/fuzz_$name" -max_total_time="$seconds" $jobs \
        -artifact_prefix="$out/crashes-$name/" -print_final_stats=1 "$work"; then
        echo "fuzz_$name FAILED; crash inputs are in $out/crashes-$name/" >&2
        status=1
    fi
done
exit $status

#!/bin/sh
# run_one.sh BINARY FILE.lua SCRATCH — runs one Lua test against a fresh database.
#
# SCRATCH is emptied and the database is SCRATCH/db (created by `run`). The
# script runs from SCRATCH (so nothing lands in the source tree). A line
# `-- params: a=1 b=x` in the test file gives `run` those parameters.
set -u
bin=$1
file=$2
scratch=$3
case $bin in /*) ;; *) bin=$(pwd)/$bin ;; esac
case $file in /*) ;; *) file=$(pwd)/$file ;; esac
rm -rf "$scratch"
mkdir -p "$scratch" || exit 1
scratch=$(cd "$scratch" && pwd) || exit 1
# @SRC@ in the params is the source tree (a test reading scripts/ passes --in @SRC@/scripts)
src=$(cd "$(dirname "$file")/../.." && pwd)
params=$(sed -n 's/^-- params: *//p' "$file" | head -n 1 | sed "s|@SRC@|$src|g")
cd "$scratch" || exit 1
GONGHUI_STATE_DIR=$scratch/.state # the list of databases made (core/dbreg.h): this test's own
export GONGHUI_STATE_DIR
# shellcheck disable=SC2086 # params are split on purpose
"$bin" --db "$scratch/db" run "$file" $params
rc=$?
if [ "$rc" -ne 0 ]; then
  echo "run_one: $file failed with exit code $rc" >&2
fi
exit "$rc"

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
# A test outside tests/lua (a plugin's: plugins/NAME/test.lua) requires
# testlib too: its scripts/lib is one in the scratch folder holding links to
# every module of scripts/lib and to tests/lua/testlib.lua (the one harness;
# the sandbox's require looks only in the script's folder and scripts/lib).
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -f "$(dirname "$file")/testlib.lua" ]; then
  mkdir -p "$scratch/lib" || exit 1
  for m in "$here/../../scripts/lib/"*; do ln -s "$m" "$scratch/lib/" || exit 1; done
  ln -s "$here/testlib.lua" "$scratch/lib/testlib.lua" || exit 1
  GONGHUI_LIB=$scratch/lib
  export GONGHUI_LIB
fi
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

#!/bin/sh
# tools/deb-check.sh — CI's check of the .deb on a fresh Debian (as root):
# build it (make deb), lint it (lintian: no errors), install it for real with
# apt-get (its Depends pulled in), run the demo from the installed files in an
# empty folder, and remove it again. tests/dist/deb.sh does the part that
# needs no root (dpkg -x into a throw-away root) in every `make test`.
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
make deb BUILD="$BUILD"
DEB=$(ls "$BUILD"/gonghui_*.deb | head -1)
if command -v lintian >/dev/null 2>&1; then
    lintian --fail-on error "$DEB"
fi
apt-get install -y "./$DEB"
T=$(mktemp -d)
(
    cd "$T"
    gonghui --version
    gonghui run sample_data.lua members=500 seed=2025 >/dev/null
    gonghui run demo.lua >/dev/null
    gonghui help run >/dev/null
    man -w gonghui >/dev/null
)
rm -rf "$T"
apt-get remove -y gonghui >/dev/null
echo "deb-check: $DEB lints clean of errors, installs, and runs the demo"

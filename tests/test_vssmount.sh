#!/usr/bin/env bash
# tests/test_vssmount.sh — vssmount (FUSE 3) on the real images: raw
# snapshot files equal vssinfo --extract (local storage, storage on a second
# image, storage on another partition), the -s N trees equal fls, writes
# refused, bad input rejected before mounting, clean unmount, and the
# images unchanged. The checks are in tests/vssmount_check.py. Ends with
# "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh
VSSMOUNT=${VSSMOUNT:-$ROOT/$BUILD/vssmount}

if [ ! -e /dev/fuse ] || ! command -v fusermount3 >/dev/null; then
    echo "skip: FUSE is not available here (/dev/fuse or fusermount3 missing)"
    finish
    exit 0
fi
require_tools fls icat qemu-img python3 mountpoint
require_built "$VSSINFO" "$VSSMOUNT"
require_real
before=$(real_fingerprints)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/libvss-mount.XXXXXX")
cleanup() {
    local m
    for m in "$tmp/tree" "$tmp/mnt"; do
        mountpoint -q "$m" 2>/dev/null && fusermount3 -u "$m"
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
# Private copies: a concurrent `make` must not swap the binaries mid-test.
cp "$VSSINFO" "$tmp/vssinfo" && cp "$VSSMOUNT" "$tmp/vssmount" || exit 1

while IFS= read -r line; do
    case $line in
    ok\ *) ok "${line#ok   }" ;;
    FAIL\ *) bad "${line#FAIL }" ;;
    *) echo "$line" ;;
    esac
done < <(python3 tests/vssmount_check.py "$tmp/vssmount" "$tmp/vssinfo" \
    "$WORK/real" "$tmp" 2>&1)

check_real_unchanged "$before"
finish

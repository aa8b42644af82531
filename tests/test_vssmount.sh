#!/usr/bin/env bash
# tests/test_vssmount.sh — vssmount (FUSE 3).
#  Generated images (testimages/out/win10scope: null-filled files; the
#  tests/audit/win7scope.scn scenario: stale ones): user.vss.* attributes
#  equal vssinfo --audit --json and the manifests, --strict fails reads of
#  lost bytes with EIO and serves the rest as vssinfo --file does, inodes
#  are the MFT records of vssinfo --ls, -s all serves vss1..vssN and live.
#  Real images: raw snapshot files equal vssinfo --extract (local storage,
#  storage on a second image, storage on another partition), the -s N
#  trees and inode numbers equal fls, writes refused, bad input rejected
#  before mounting, clean unmount, and the images unchanged.
# The checks are in tests/vssmount_check.py. Ends with "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh
VSSMOUNT=${VSSMOUNT:-$ROOT/$BUILD/vssmount}

if [ ! -e /dev/fuse ] || ! command -v fusermount3 >/dev/null; then
    echo "skip: FUSE is not available here (/dev/fuse or fusermount3 missing)"
    finish
    exit 0
fi
require_tools python3 mountpoint
require_built "$VSSINFO" "$VSSMOUNT"
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


# Generated images: the manifests are the truth.
manifests=()
if ! command -v mkntfs >/dev/null || [ ! -e /usr/include/ntfs-3g/volume.h ]; then
    skip "generated images: mkntfs / ntfs-3g-dev missing (make deps)"
elif ! make -s -C testimages >"$tmp/make.log" 2>&1; then
    cat "$tmp/make.log"
    bad "make -C testimages failed"
elif ! testimages/vssgen -o "$tmp/gen" tests/audit/win7scope.scn >"$tmp/gen.log" 2>&1; then
    cat "$tmp/gen.log"
    bad "vssgen tests/audit/win7scope.scn failed"
else
    manifests=(testimages/out/win10scope.json "$tmp/gen/win7scope.json")
fi

# Real images: fls, icat and vssinfo --extract are the truth.
imagedir=-
if ! have_real; then
    skip "real images: $REAL is absent"
elif ! command -v fls >/dev/null || ! command -v icat >/dev/null ||
    ! command -v qemu-img >/dev/null; then
    skip "real images: fls, icat or qemu-img missing (make deps)"
elif ! prepare_real; then
    bad "cannot extract the real images from $REAL into $WORK/real"
else
    imagedir=$WORK/real
    before=$(real_fingerprints)
fi

finished=0
while IFS= read -r line; do
    case $line in
    "checker finished") finished=1 ;;
    ok\ *) ok "${line#ok   }" ;;
    FAIL\ *) bad "${line#FAIL }" ;;
    *) echo "$line" ;;
    esac
done < <(python3 tests/vssmount_check.py "$tmp/vssmount" "$tmp/vssinfo" \
    "$imagedir" "$tmp" "${manifests[@]}" 2>&1)

[ $finished = 1 ] || bad "tests/vssmount_check.py stopped before its end"
[ "$imagedir" = - ] || check_real_unchanged "$before"
finish

#!/usr/bin/env bash
# tests/test_vssmount_pick.sh — vssmount picks its volume as vssinfo does
# (both through the library's vss_volume_set_pick): the same message and
# exit status (3: no volume with shadow copies there; 2: usage, one line
# pointing at --help), -o in sectors as 'Ns'. Every case fails before
# mounting. Ends with "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh
VSSMOUNT=${VSSMOUNT:-$ROOT/$BUILD/vssmount}

if [ ! -e /dev/fuse ]; then
    echo "skip: /dev/fuse missing (vssmount checks it first)"
    finish
    exit 0
fi
require_built "$VSSINFO" "$VSSMOUNT"
require_real
R=$WORK/real
tmp=$(mktemp -d "${TMPDIR:-/tmp}/libvss-pick.XXXXXX")
trap 'rmdir "$tmp/mnt" 2>/dev/null; rm -rf "$tmp"' EXIT
mkdir "$tmp/mnt"

# ARGS...: vssmount's status and message (without "vssmount: "); never
# mounts (the cases fail), but unmount if it did.
mount_err() {
    "$VSSMOUNT" "$@" "$tmp/mnt" 2>"$tmp/err" >/dev/null
    local rc=$?
    mountpoint -q "$tmp/mnt" && fusermount3 -u "$tmp/mnt"
    echo "$rc $(sed 's/^vssmount: //' "$tmp/err")"
}
info_err() {
    "$VSSINFO" "$@" 2>"$tmp/err" >/dev/null
    echo "$? $(sed 's/^vssinfo: //' "$tmp/err")"
}

# Nothing at byte 512: exit 3, the message lists the volumes, as vssinfo.
got=$(mount_err -o 512 "$R/vss_2003.raw")
same "-o 512: as vssinfo --map" "$got" "$(info_err --map 1 -o 512 "$R/vss_2003.raw")"
case $got in
"3 no volume with shadow copies at offset 512 of "*"32256 = sector 63"*) ok "-o 512: exit 3, says where" ;;
*) bad "-o 512: $got" ;;
esac
# Partition 1 of vss_3_volstor holds storage, no shadow copies of its own.
got=$(mount_err -o 2048s "$R/vss_3_volstor.raw")
same "-o 2048s: as vssinfo --extract" "$got" \
    "$(info_err --extract 1 --output /dev/null -o 2048s "$R/vss_3_volstor.raw")"
case $got in
"3 the volume at offset 1048576 has no shadow copies;"*) ok "-o 2048s: sectors, exit 3" ;;
*) bad "-o 2048s: $got" ;;
esac
# Not a disk image at all.
got=$(mount_err /etc/hostname)
case $got in
"3 no volume with shadow copies in /etc/hostname"*) ok "no volume: exit 3" ;;
*) bad "no volume: $got" ;;
esac
# Usage errors: status 2, one line.
for args in "--bogus" "-o 12x" "--fill=maybe"; do
    got=$(mount_err $args "$R/vss_2003.raw")
    case $got in
    "2 "*"(see vssmount --help)") ok "$args: one-line usage error" ;;
    *) bad "$args: $got" ;;
    esac
    [ "$(wc -l <"$tmp/err")" -eq 1 ] && ok "$args: one line" || bad "$args: $(wc -l <"$tmp/err") lines"
done
got=$(mount_err -s 9 "$R/vss_3_volstor.raw")
case $got in
"2 -s 9: the volume has 2 snapshot(s)"*) ok "-s 9 of 2: usage" ;;
*) bad "-s 9: $got" ;;
esac
finish

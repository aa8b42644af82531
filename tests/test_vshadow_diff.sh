#!/usr/bin/env bash
# Differential test against libvshadow (an independent reader): every block
# either matches or differs where libvss's provenance says zero/stale (the
# documented semantic differences; docs/format.md "Where readers differ").
# In older snapshots the shadow copy files read through, as libvshadow
# reads them, and on volumes without flag 0x400 older snapshots must equal
# libvshadow on every block (vshadow_diff.c).
set -u
. "$(dirname "$0")/lib.sh"
D=$ROOT/$BUILD/tests/vshadow_diff
if [ ! -x "$D" ]; then
    skip "vshadow_diff not built (libvshadow-dev/libbfio-dev missing)"
    finish; exit
fi
if ! prepare_real; then
    skip "real images absent"
    finish; exit
fi
I=$WORK/real
run() { # NAME ARGS...
    local name=$1 out rc; shift
    out=$("$D" "$@" 2>&1)
    rc=$?
    echo "$out" | sed 's/^/     /'
    if [ $rc -eq 0 ] && ! echo "$out" | grep -q ' [1-9][0-9]* unexplained' &&
       echo "$out" | grep -q 'blocks compared'; then ok "$name"; else bad "$name"; fi
}
run "vsstest: every block of both snapshots, changed-block counts" "$I/vsstest.raw" 0 --full
run "vss_2003: store blocks, transitions and a 1/61 sample of all six, changed-block counts" "$I/vss_2003.raw" 32256
# vssinfo --stats gives the same counts as libvshadow's number of blocks;
# the plain listing does not read block lists (null in JSON).
V=$ROOT/$BUILD/vssinfo
want=$("$D" "$I/vss_2003.raw" 32256 2>&1 | sed -n 's/.*changed blocks: libvss [0-9]*, libvshadow \([0-9]*\).*/\1/p' | tr '\n' ' ')
got=$("$V" -o 32256 --stats --json "$I/vss_2003.raw" | jq -r '[.volumes[0].snapshots[].changed_blocks] | map(tostring) | join(" ")')
plain=$("$V" -o 32256 --json "$I/vss_2003.raw" | jq -r '[.volumes[0].snapshots[].changed_blocks] | map(tostring) | join(" ")')
if [ "$got " = "$want" ] && [ "$plain" = "null null null null null null" ]; then
    ok "vssinfo --stats: changed blocks $got as libvshadow counts; plain listing leaves them uncounted"
else
    bad "vssinfo --stats: '$got' vs libvshadow '$want'; plain listing '$plain'"
fi
# libvshadow cannot read redirected storage (vss_1_vol, vss_3_volstor), and
# on vss_2_stor it pairs the snapshot with the last location entry of the
# catalog, which belongs to another volume's store: it reads a different
# store there (see test_real_images.sh). Show that it disagrees exactly
# where Windows' known answer agrees with libvss.
out=$("$D" "$I/vss_2_stor.raw" 34603008 2>&1)
if echo "$out" | grep -q 'block 10 (offset 163840): differs'; then
    ok "vss_2_stor: libvshadow misreads block 40*4096, where libvss gives Windows' STORAGE bytes"
else
    bad "vss_2_stor: expected libvshadow to differ at offset 163840: $out"
fi
finish

#!/usr/bin/env bash
# Malformed inputs through the command line: a clear message naming the
# structure and offset, exit status 1 (2 for usage), never a crash or hang.
# The broken images are sparse copies of vsstest made in a temp directory.
set -u
. "$(dirname "$0")/lib.sh"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

# expect NAME STATUS PATTERN -- ARGS: runs vssinfo with a 20 s limit.
expect() {
    local name=$1 status=$2 pattern=$3 out rc
    shift 4
    out=$(timeout 20 "$VSSINFO" "$@" 2>&1 >/dev/null)
    rc=$?
    if [ "$rc" -eq "$status" ] && echo "$out" | grep -qiE -- "$pattern"; then
        ok "$name"
    else
        bad "$name: status $rc (want $status), message: $out"
    fi
}

expect "no image" 2 "usage" --
expect "missing file" 1 "cannot open" -- "$T/nope.img"
expect "bad snapshot number" 2 "bad snapshot number" -- --extract x "$T/nope.img"
expect "bad fill" 2 "--fill" -- --fill=maybe "$T/nope.img"
expect "bad range" 2 "OFFSET:LENGTH" -- --extract 1 --range 12 "$T/nope.img"
head -c 1000 /dev/urandom > "$T/random.img"
expect "not a disk image" 1 "no partition table|no volume" -- --extract 1 "$T/random.img"

if ! prepare_real; then
    skip "real images absent: corrupted-image cases"
    finish; exit
fi
SRC=$WORK/real/vsstest.raw
fresh() { cp --sparse=always "$SRC" "$T/x.img"; }
# poke OFFSET HEXBYTES: overwrite bytes of the copy (never the original).
poke() { printf "$(echo "$2" | sed 's/../\\x&/g')" | dd of="$T/x.img" bs=1 seek=$(($1)) conv=notrunc status=none; }
le64() { python3 -c "import struct,sys; print(struct.pack('<Q', $1).hex())"; }
CAT=0x6e30000          # vsstest's first catalog block
E3=$((CAT + 128 + 128)) # the first store's location entry (type 3)

fresh; truncate -s $((CAT + 100)) "$T/x.img"
expect "truncated image" 1 "catalog block at offset [0-9]+.*truncated" -- --extract 1 "$T/x.img"
fresh; poke $((CAT + 0x4000 + 40)) "$(le64 $CAT)"
expect "catalog chain that loops" 1 "catalog block at offset [0-9]+: visited twice" -- "$T/x.img"
fresh; poke $((E3 + 8)) "$(le64 $((1 << 40)))"
expect "block list offset past the end" 1 "block list block at offset 1099511627776" -- --extract 1 "$T/x.img"
expect "--stats reads block lists: the damaged one is named with its store" 1 "shadow copy files of store 600f0b69-.*block list block at offset 1099511627776" -- --stats "$T/x.img"
out=$("$VSSINFO" "$T/x.img" 2>&1); rc=$?
check "the plain listing does not read block lists: lists the same image (status 0)" test $rc -eq 0 -a -n "$(echo "$out" | grep 'Snapshot 2')"
fresh; poke $((E3 + 32)) "$(le64 $((0x6e44000)))"
expect "store header of the wrong record type" 1 "store header at offset [0-9]+: record type 3" -- --extract 1 "$T/x.img"
fresh; poke $((CAT + 128)) "05"
expect "unknown catalog entry type" 1 "catalog entry at offset [0-9]+: unknown entry type 5" -- "$T/x.img"
fresh; poke 0x1e00 "$(printf '0%.0s' $(seq 1 1024))"
out=$("$VSSINFO" "$T/x.img"); rc=$?
check "zeroed VSS header: listed as no shadow copies" test $rc -eq 0 -a -n "$(echo "$out" | grep 'No volume shadow copies')"
expect "zeroed VSS header: nothing to extract" 1 "no volume with shadow copies" -- --extract 1 "$T/x.img"
fresh
expect "snapshot that does not exist" 1 "snapshot 9: the volume has 2 snapshots" -- --extract 9 "$T/x.img"
expect "refuses to write over the image" 2 "refusing to write over the evidence" -- --extract 1 --output "$T/x.img" "$T/x.img"
finish

#!/usr/bin/env bash
# Malformed inputs through the command line: a clear message naming the
# structure and offset, the documented exit status (docs/vssinfo.1 EXIT
# STATUS: 1 unreadable, refused or corrupt input, 2 usage, 3 no volume with
# shadow copies), never a crash or hang. The broken images are sparse
# copies of vsstest made in a temp directory. Every run has a time limit:
# an input that hangs (a FIFO) fails instead of hanging the suite.
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
# usage_error NAME PATTERN -- ARGS: status 2 and exactly one line on
# stderr, pointing to --help (not the whole help text).
usage_error() {
    local name=$1 pattern=$2 out rc
    shift 3
    out=$(timeout 20 "$VSSINFO" "$@" 2>&1 >/dev/null)
    rc=$?
    if [ "$rc" -eq 2 ] && [ "$(echo "$out" | wc -l)" -eq 1 ] &&
       echo "$out" | grep -qE -- "$pattern" &&
       echo "$out" | grep -qF "(see vssinfo --help)"; then
        ok "usage error, one line: $name"
    else
        bad "usage error $name: status $rc (want 2), want one line matching '$pattern' and '(see vssinfo --help)', got: $out"
    fi
}

usage_error "no image" "no IMAGE given" --
usage_error "unknown long option" "unknown option --no-such-option" -- --no-such-option "$T/nope.img"
usage_error "unknown short option" "unknown option -Q" -- -Q "$T/nope.img"
usage_error "option without its argument" "--extract needs an argument" -- --extract
usage_error "-o without its argument" "-o needs an argument" -- "$T/nope.img" -o
usage_error "bad snapshot number" "bad snapshot number" -- --extract x "$T/nope.img"
usage_error "bad fill" "--fill" -- --fill=maybe "$T/nope.img"
usage_error "bad range" "OFFSET:LENGTH" -- --extract 1 --range 12 "$T/nope.img"
usage_error "bad -o" "-o: bad offset '12x'" -- -o 12x "$T/nope.img"
usage_error "bad sector count" "-o: bad offset 's'" -- -o s "$T/nope.img"
usage_error "--sector-size not a power of two" "--sector-size" -- --sector-size 1000 "$T/nope.img"
expect "missing file" 1 "cannot open" -- "$T/nope.img"

# Inputs that are not disk images: read, but no volume with shadow copies
# (status 3), for the listing and for every action.
: > "$T/empty.img"
expect "empty file: listing exits 3" 3 "no volume with shadow copies in .*empty.img" -- "$T/empty.img"
expect "empty file: --extract exits 3" 3 "no volume with shadow copies" -- --extract 1 "$T/empty.img"
head -c 1000 /dev/urandom > "$T/random.img"
expect "random bytes: listing exits 3" 3 "no volume with shadow copies in .*random.img" -- "$T/random.img"
for f in empty random; do
    out=$(timeout 20 "$VSSINFO" "$T/$f.img" 2>&1 >/dev/null)
    check "$f.img: no NTFS volume, so no --carve suggestion" test -n "$out" -a -z "$(echo "$out" | grep -- --carve)"
done
expect "not a disk image: --extract exits 3" 3 "no volume with shadow copies" -- --extract 1 "$T/random.img"
expect "random bytes: --map exits 3" 3 "no volume with shadow copies" -- --map 1 "$T/random.img"

# What is not a regular file or block device is refused before any read:
# a FIFO used to hang forever in open(2) (waiting for a writer), as the
# image and as any other part of a container.
mkfifo "$T/fifo.img"
expect "FIFO as the image: refused, no hang" 1 "fifo.img: a FIFO" -- "$T/fifo.img"
expect "FIFO as the image of --extract: refused" 1 "fifo.img: a FIFO" -- --extract 1 "$T/fifo.img"
expect "FIFO as a storage image: refused" 1 "fifo.img: a FIFO" -- "$T/random.img" "$T/fifo.img"
expect "FIFO with --verify-image: refused" 1 "fifo.img: a FIFO" -- --verify-image "$T/fifo.img"
mkdir "$T/dir.img"
expect "a directory as the image: refused" 1 "dir.img: a directory" -- "$T/dir.img"
expect "a character device as the image: refused" 1 "/dev/zero: a character device" -- /dev/zero
head -c 3000000 /dev/urandom > "$T/seg.raw"
cp "$T/seg.raw" "$T/split.001"
mkfifo "$T/split.002"
expect "FIFO as segment 2 of a split raw image: refused" 1 "split.002: a FIFO" -- "$T/split.001"
if command -v ewfacquire >/dev/null; then
    ewfacquire -q -u -t "$T/seg" -f encase6 -c none -S 1M "$T/seg.raw" >/dev/null 2>&1
    if [ -e "$T/seg.E03" ]; then
        mv "$T/seg.E02" "$T/seg.E02.real"
        mkfifo "$T/seg.E02"
        expect "FIFO as segment 2 of an E01: refused, no hang" 1 "EWF segment 2 unusable: .*seg.E02: a FIFO" -- "$T/seg.E01"
        expect "FIFO as an E01 segment, --verify-image: refused" 1 "seg.E02: a FIFO" -- --verify-image "$T/seg.E01"
        rm "$T/seg.E02"
        mv "$T/seg.E02.real" "$T/seg.E02"
    else
        bad "ewfacquire made no 3-segment E01"
    fi
else
    skip "ewfacquire (ewf-tools) missing: FIFO as an E01 segment"
fi
if command -v qemu-img >/dev/null; then
    qemu-img create -q -f qcow2 -b "$T/seg.raw" -F raw "$T/over.qcow2"
    expect "FIFO as a qcow2's --backing file: refused, no hang" 1 "fifo.img: a FIFO" -- --backing "$T/fifo.img" "$T/over.qcow2"
else
    skip "qemu-img (qemu-utils) missing: FIFO as a backing file"
fi

# vssmount opens images through the same library: refused before the
# mount, never a hang, nothing mounted.
VSSMOUNT=${VSSMOUNT:-$ROOT/$BUILD/vssmount}
if [ -x "$VSSMOUNT" ] && [ -e /dev/fuse ]; then
    mkdir "$T/mnt"
    for input in fifo.img empty.img random.img; do
        out=$(timeout 20 "$VSSMOUNT" "$T/$input" "$T/mnt" 2>&1); rc=$?
        # as vssinfo: 1 refused, 3 read but no volume with shadow copies
        want=3; [ $input = fifo.img ] && want=1
        if [ $rc -eq $want ] && ! mountpoint -q "$T/mnt" &&
           echo "$out" | grep -qE "a FIFO|no volume with shadow copies"; then
            ok "vssmount $input: refused (status $want), nothing mounted"
        else
            bad "vssmount $input: status $rc, $out"
            mountpoint -q "$T/mnt" && fusermount3 -u "$T/mnt"
        fi
    done
else
    skip "vssmount not built or no /dev/fuse: vssmount's refusals"
fi

# hint_both NAME SENTENCE: $T/x.img lists no snapshot; vssinfo and
# vssmount (status 3, nothing mounted) both print SENTENCE, the same
# line apart from the tool's name and its option; "" for no hint at all.
# Further arguments go to both (-o).
hint_both() {
    local name=$1 want=$2 a b rca rcb
    shift 2
    a=$(timeout 20 "$VSSINFO" "$@" "$T/x.img" 2>&1 >/dev/null); rca=$?
    a=$(echo "$a" | sed -n 's/^vssinfo: \(.*\); try --carve (--carved reads them)$/\1/p')
    if [ -z "$want" ]; then
        check "$name: vssinfo status 3, no --carve hint" test "$rca" -eq 3 -a -z "$a"
    else
        check "$name: vssinfo status 3, the hint '$want'" test "$rca" -eq 3 -a "$a" = "the $want"
    fi
    if [ ! -x "$VSSMOUNT" ] || [ ! -e /dev/fuse ]; then
        skip "$name: vssmount not built or no /dev/fuse"
        return
    fi
    mkdir -p "$T/mnt"
    b=$(timeout 20 "$VSSMOUNT" "$@" "$T/x.img" "$T/mnt" 2>&1); rcb=$?
    if mountpoint -q "$T/mnt"; then
        fusermount3 -u "$T/mnt"
        bad "$name: vssmount mounted"
        return
    fi
    b=$(echo "$b" | sed -n 's/^vssmount: \(.*\); try vssinfo --carve (--carved mounts them)$/\1/p')
    check "$name: vssmount status 3 ($rcb), the same verdict as vssinfo ('$b')" test "$rcb" -eq 3 -a "$b" = "$a"
}

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
out=$("$VSSINFO" "$T/x.img" 2>/dev/null); rc=$?
check "zeroed VSS header: listed as no shadow copies, status 3" test $rc -eq 3 -a -n "$(echo "$out" | grep 'No volume shadow copies')"
expect "zeroed VSS header: nothing to extract (3)" 3 "no volume with shadow copies" -- --extract 1 "$T/x.img"
# Nothing listed: --carve is suggested where it can find something, and
# what it says is true: the stores of the deleted snapshots are carved.
# The verdict is the library's (vss_volume_set_empty_verdict): vssmount
# says the same sentence (hint_both).
NOHDR="NTFS volume at offset 0 has no VSS header; its free space may still hold the stores of deleted snapshots"
EMPTYCAT="volume at offset 0 has a VSS header but no snapshot in its catalog: the stores of deleted snapshots may remain"
expect "zeroed VSS header: --carve suggested for the NTFS volume's free space" 3 "$NOHDR; try --carve" -- "$T/x.img"
hint_both "zeroed VSS header" "$NOHDR"
fresh; python3 "$ROOT/tests/carve_destroy.py" "$T/x.img" 0 >/dev/null
expect "catalog deleted: --carve suggested (VSS header, empty catalog)" 3 "$EMPTYCAT; try --carve" -- "$T/x.img"
expect "catalog deleted: --extract suggests --carve too" 3 "VSS header but no snapshot in its catalog.*try --carve" -- --extract 1 "$T/x.img"
hint_both "catalog deleted" "$EMPTYCAT"
fresh
hint_both "-o where no volume starts (the one at 0 lists snapshots)" "" -o 4096
nsnap=$("$VSSINFO" --json "$SRC" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["volumes"][0]["snapshots"]))')
ncarved=$("$VSSINFO" --carve --json --no-progress "$T/x.img" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["carved"][0]["stores"]))')
same "catalog deleted: --carve finds the stores of every snapshot the original lists" "$ncarved" "$nsnap"
fresh
expect "snapshot that does not exist" 1 "snapshot 9: the volume has 2 snapshots" -- --extract 9 "$T/x.img"
expect "refuses to write over the image" 2 "refusing to write over the evidence" -- --extract 1 --output "$T/x.img" "$T/x.img"
expect "refuses to write over the image, even with --force" 2 "refusing to write over the evidence" -- --extract 1 --force --output "$T/x.img" "$T/x.img"

# --output never replaces a file unasked; --force replaces it.
echo "earlier work" > "$T/out.raw"
usage_error "--output onto an existing file" "--output .*out.raw exists; --force replaces it" -- --extract 1 --range 0:4096 --output "$T/out.raw" "$T/x.img"
same "the existing file is unchanged" "$(cat "$T/out.raw")" "earlier work"
usage_error "--file --output onto an existing file" "--output .*out.raw exists" -- --file '1:$MFT' --output "$T/out.raw" "$T/x.img"
"$VSSINFO" --extract 1 --range 0:4096 --force --output "$T/out.raw" "$T/x.img" >/dev/null; rc=$?
same "--force replaces it (status)" $rc 0
same "--force replaces it (content: the snapshot's first 4 KiB)" \
    "$(md5sum < "$T/out.raw" | cut -d' ' -f1)" \
    "$("$VSSINFO" --extract 1 --range 0:4096 "$T/x.img" | md5sum | cut -d' ' -f1)"
"$VSSINFO" --extract 1 --range 0:4096 --output /dev/null "$T/x.img" >/dev/null; rc=$?
same "--output to a device (/dev/null) needs no --force" $rc 0

# --extract without --output never writes binary to a terminal: script(1)
# gives the command a real one.
if command -v script >/dev/null; then
    script -qec "'$VSSINFO' --extract 1 --range 0:65536 '$T/x.img'" /dev/null >"$T/tty" 2>&1; rc=$?
    check "--extract to a terminal: refused (status 2)" test $rc -eq 2
    check "--extract to a terminal: says why" grep -q "give --output FILE or redirect stdout" "$T/tty"
    check "--extract to a terminal: no data written (no NTFS boot sector)" bash -c '! grep -qa NTFS "$1"' _ "$T/tty"
    script -qec "'$VSSINFO' --extract 1 --range 0:65536 '$T/x.img' | md5sum" /dev/null >"$T/tty" 2>&1
    check "--extract to a pipe from a terminal session: written" \
        grep -q "$("$VSSINFO" --extract 1 --range 0:65536 "$T/x.img" | md5sum | cut -d' ' -f1)" "$T/tty"
else
    skip "script (bsdutils) missing: --extract to a terminal"
fi
finish

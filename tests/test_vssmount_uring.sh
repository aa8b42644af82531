#!/usr/bin/env bash
# tests/test_vssmount_uring.sh — vssmount --io-uring (FUSE over io_uring,
# vssmount/fuse_ring.c).
#  Refused with a message naming the fuse module's switch while it is off
#  (nothing mounted). With it on: the kernel's own count of the rings'
#  completions (/proc/PID/fdinfo of the daemon's io_uring descriptors, one
#  ring per possible CPU) shows the reads went through the rings; raw
#  snapshots read (read(2), 4 random 4 KiB readers and 2 1 MiB readers at
#  once) equal vssinfo --extract, on a generated and a Windows-made image
#  (and through the page cache, shared maps too);
#  -s 1 trees (lookups, directory listings, attributes, extended
#  attributes, every file's bytes) equal the /dev/fuse mount's; --strict
#  fails the same reads with EIO; -d reports the rings and the reads each
#  queue answered; SIGTERM unmounts; images unchanged.
# The switch (/sys/module/fuse/parameters/enable_uring, root only) is put
# back as it was found. Ends with "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh
VSSMOUNT=${VSSMOUNT:-$ROOT/$BUILD/vssmount}
SWITCH=/sys/module/fuse/parameters/enable_uring

if [ ! -e /dev/fuse ] || ! command -v fusermount3 >/dev/null; then
    echo "skip: FUSE is not available here (/dev/fuse or fusermount3 missing)"
    finish
    exit 0
fi
if [ ! -e "$SWITCH" ]; then
    echo "skip: this kernel has no FUSE over io_uring ($SWITCH absent: Linux 6.14+ with CONFIG_FUSE_IO_URING)"
    finish
    exit 0
fi
if [ ! -w "$SWITCH" ] && [ "$(cat "$SWITCH")" != Y ]; then
    echo "skip: $SWITCH is off and only root can switch it on"
    finish
    exit 0
fi
require_tools python3 mountpoint getfattr sha256sum
require_built "$VSSINFO" "$VSSMOUNT"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/libvss-uring.XXXXXX")
was=$(cat "$SWITCH")
cleanup() {
    local m
    for m in "$tmp/mnt" "$tmp/ref"; do
        mountpoint -q "$m" 2>/dev/null && fusermount3 -u "$m"
    done
    [ -w "$SWITCH" ] && echo "$was" > "$SWITCH"
    rm -rf "$tmp"
}
trap cleanup EXIT
cp "$VSSINFO" "$tmp/vssinfo" && cp "$VSSMOUNT" "$tmp/vssmount" || exit 1
mkdir -p "$tmp/mnt" "$tmp/ref"
gen=testimages/out/win10scope.img
if [ ! -e "$gen" ] && ! make -s -C testimages >"$tmp/make.log" 2>&1; then
    cat "$tmp/make.log"
    bad "make -C testimages failed"
fi
off=$(python3 -c "import json,sys; print([v for v in json.load(open(sys.argv[1]))['volumes'] if v['role']=='source'][0]['offset'])" testimages/out/win10scope.json)
before_gen=$(sha256sum < "$gen")

# Off: refused before mounting, the message says what to do.
if [ -w "$SWITCH" ]; then
    echo N > "$SWITCH"
    err=$("$tmp/vssmount" --io-uring -o "$off" "$gen" "$tmp/mnt" 2>&1)
    same "switch off: exit status" "$?" 1
    check "switch off: the message names the switch and how to turn it on ($err)" \
        grep -q "^vssmount: --io-uring: FUSE over io_uring is switched off ($SWITCH is N); as root: echo Y > $SWITCH" <<<"$err"
    mountpoint -q "$tmp/mnt" && bad "switch off: a mount was left behind"
    echo Y > "$SWITCH"
fi

# The daemon's io_uring descriptors and the completions the kernel counts
# on them (CqHead: completions consumed).
ring_fds() { # PID
    local fd n=0
    for fd in /proc/"$1"/fd/*; do
        [ "$(readlink "$fd" 2>/dev/null)" = "anon_inode:[io_uring]" ] && n=$((n + 1))
    done
    echo "$n"
}
ring_completions() { # PID
    local fd sum=0 c
    for fd in /proc/"$1"/fd/*; do
        [ "$(readlink "$fd" 2>/dev/null)" = "anon_inode:[io_uring]" ] || continue
        c=$(awk '$1 == "CqHead:" { print $2 }' "/proc/$1/fdinfo/${fd##*/}")
        sum=$((sum + ${c:-0}))
    done
    echo "$sum"
}
# the kernel's queue count: the CPUs listed in "possible" (ranges)
possible=$(python3 -c 'n = 0
for part in open("/sys/devices/system/cpu/possible").read().strip().split(","):
    lo, _, hi = part.partition("-")
    n += int(hi or lo) - int(lo) + 1
print(n)')

# mount_ring NAME MOUNTPOINT ARGS...: vssmount -f --io-uring in the
# background, its pid in $pid once the mount answers.
mount_ring() {
    local name=$1 m=$2
    shift 2
    "$tmp/vssmount" -f --io-uring "$@" "$m" 2> "$tmp/$name.err" &
    pid=$!
    for _ in $(seq 200); do mountpoint -q "$m" && break; sleep 0.05; done
    mountpoint -q "$m" || { bad "$name: vssmount --io-uring did not mount"; cat "$tmp/$name.err"; return 1; }
    return 0
}
unmount_ring() { # NAME MOUNTPOINT
    fusermount3 -u "$2"
    wait "$pid"
    same "$1: vssmount exits 0 after fusermount3 -u" "$?" 0
    check "$1: nothing on stderr ($(head -c 300 "$tmp/$1.err"))" [ ! -s "$tmp/$1.err" ]
}


# raw_checks NAME IMAGE OFFSET SNAPSHOT [OPTIONS...]
raw_checks() {
    local name=$1 img=$2 o=$3 s=$4 c0 c1 want
    shift 4
    "$tmp/vssinfo" -o "$o" --extract "$s" "$img" > "$tmp/x"
    want=$(sha256sum < "$tmp/x" | cut -d' ' -f1)
    mount_ring "$name" "$tmp/mnt" "$@" -o "$o" "$img" || return
    same "$name: one io_uring per possible CPU" "$(ring_fds "$pid")" "$possible"
    c0=$(ring_completions "$pid")
    same "$name: vss$s by read(2) = vssinfo --extract $s" \
        "$(sha256sum < "$tmp/mnt/vss$s" | cut -d' ' -f1)" "$want"
    c1=$(ring_completions "$pid")
    size=$(stat -c %s "$tmp/x")
    # a request per 512 KiB at most (direct I/O, or the page cache's
    # read-ahead)
    check "$name: the reads went through the rings ($((c1 - c0)) completions for $((size / 524288)) requests or more)" \
        [ $((c1 - c0)) -ge $((size / 524288)) ]
    if [ "${1:-}" = --page-cache ]; then
        same "$name: a shared map of vss$s = vssinfo --extract $s" "$(python3 -c 'import hashlib, mmap, sys
f = open(sys.argv[1], "rb")
print(hashlib.sha256(mmap.mmap(f.fileno(), 0, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ)).hexdigest())' "$tmp/mnt/vss$s")" "$want"
    fi
    same "$name: 4 random 4 KiB readers and 2 1 MiB readers at once = vssinfo --extract $s" \
        "$(python3 tests/parallel_readers.py "$tmp/mnt/vss$s" "$tmp/x")" same
    unmount_ring "$name" "$tmp/mnt"
    rm -f "$tmp/x"
}
raw_checks "generated raw" "$gen" "$off" 1
raw_checks "generated raw, --page-cache" "$gen" "$off" 1 --page-cache
if have_real && prepare_real && [ -e "$WORK/real/vsstest.raw" ]; then
    raw_checks "Windows-made raw (vsstest)" "$WORK/real/vsstest.raw" 0 1
    before_real=$(sha256sum < "$WORK/real/vsstest.raw")
else
    skip "Windows-made raw: $REAL absent"
    before_real=
fi

# Trees: everything a /dev/fuse mount shows, the same through the rings.
tree_listing() { # MOUNTPOINT: every entry below it with its type, size,
    # inode, mode, times and user.vss.* attributes; files' SHA-256 or the
    # error reading them gave
    python3 - "$1" <<'PY'
import errno, hashlib, os, sys
top = sys.argv[1]
for d, dirs, files in sorted(os.walk(top)):
    dirs.sort()
    for name in sorted(dirs + files):
        p = os.path.join(d, name)
        st = os.lstat(p)
        attrs = sorted((a, os.getxattr(p, a)) for a in os.listxattr(p)
                       if a.startswith("user.vss."))
        line = "%s %o %d %d %d %d %r" % (os.path.relpath(p, top), st.st_mode,
                                         st.st_size, st.st_ino, st.st_mtime_ns,
                                         st.st_ctime_ns, attrs)
        if name in files:
            try:
                with open(p, "rb") as f:
                    line += " " + hashlib.sha256(f.read()).hexdigest()
            except OSError as e:
                line += " " + errno.errorcode.get(e.errno, str(e.errno))
        print(line)
PY
}
for opts in "-s 1" "-s 1 --strict" "-s all"; do
    name="tree $opts"
    "$tmp/vssmount" $opts -o "$off" "$gen" "$tmp/ref" ||
        { bad "$name: the /dev/fuse mount failed"; continue; }
    tree_listing "$tmp/ref" > "$tmp/ref.txt"
    fusermount3 -u "$tmp/ref"
    mount_ring "$name" "$tmp/mnt" $opts -o "$off" "$gen" || continue
    tree_listing "$tmp/mnt" > "$tmp/ring.txt"
    if cmp -s "$tmp/ref.txt" "$tmp/ring.txt"; then
        ok "$name: $(grep -c . "$tmp/ring.txt") lines of listing, bytes and attributes = the /dev/fuse mount's"
    else
        bad "$name: differs from the /dev/fuse mount"
        diff "$tmp/ref.txt" "$tmp/ring.txt" | head -10
    fi
    [ "$opts" = "-s 1 --strict" ] && check "$name: some reads failed with EIO (lost bytes)" \
        grep -q " EIO$" "$tmp/ring.txt"
    unmount_ring "$name" "$tmp/mnt"
done

# -d: vssmount reports its rings and what each queue answered (the bench's
# per-request table counts the requests from these lines).
"$tmp/vssmount" -d --io-uring -o "$off" "$gen" "$tmp/mnt" > /dev/null 2> "$tmp/debug.err" &
pid=$!
for _ in $(seq 200); do mountpoint -q "$tmp/mnt" && break; sleep 0.05; done
if mountpoint -q "$tmp/mnt"; then
    dd if="$tmp/mnt/vss1" of=/dev/null bs=512k count=8 iflag=direct status=none
    fusermount3 -u "$tmp/mnt"
    wait "$pid"
    check "-d: the rings reported ($(grep -m1 -- '--io-uring: .* queues' "$tmp/debug.err"))" \
        grep -q -- "^vssmount: --io-uring: $possible queues of [0-9]* entries, [0-9]*-byte payloads" "$tmp/debug.err"
    reads=$(awk '/^vssmount: --io-uring: queue [0-9]* answered/ { s += $8 } END { print s + 0 }' "$tmp/debug.err")
    check "-d: the queues' reports count the 8 reads of 512 KiB ($reads reads)" [ "$reads" -ge 8 ]
else
    bad "-d: vssmount -d --io-uring did not mount"
    kill "$pid" 2>/dev/null
    wait "$pid"
fi

# SIGTERM: the daemon unmounts and ends, its ring threads with it.
if mount_ring "sigterm" "$tmp/mnt" -o "$off" "$gen"; then
    head -c 1048576 "$tmp/mnt/vss1" > /dev/null
    kill -TERM "$pid"
    wait "$pid"
    same "SIGTERM: vssmount exits 0" "$?" 0
    check "SIGTERM: unmounted" bash -c "! mountpoint -q '$tmp/mnt'"
fi

same "generated image unchanged" "$(sha256sum < "$gen")" "$before_gen"
[ -n "$before_real" ] && same "Windows-made image unchanged" \
    "$(sha256sum < "$WORK/real/vsstest.raw")" "$before_real"
finish

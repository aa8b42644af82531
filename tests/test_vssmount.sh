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
    for m in "$tmp/tree" "$tmp/mnt" "$tmp/relmnt"; do
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

# The spliced read path (vssmount/main.c: raw_pieces, tree_pieces): bytes
# the daemon moves from the image file with splice(2), run by run of the
# provenance map, must equal what the library reads. Each check mounts in
# the foreground under strace and counts the daemon's splice calls, so a
# silent fall back to the library's path cannot pass for the new one.
# Raw snapshots: a 4 MiB window around the first run of each class of
# vssinfo --map (store, live, stale with --fill=windows, zero with
# --fill=zero; local storage and storage on a second image), read in 4 KiB
# pieces at scattered offsets first (small requests) then in 1 MiB reads,
# against vssinfo --extract --range. Trees: every file of 8 KiB and more of
# the generated images' snapshots (-s N; zero and stale bytes, not
# --strict) against vssinfo --file.
splice_mount() { # LOG MOUNTPOINT ARGS...: vssmount -f under strace
    splice_mount_traced splice "$@"
}
splice_mount_traced() { # SYSCALL LOG MOUNTPOINT ARGS...: the same, tracing SYSCALL
    local call=$1 log=$2 mnt=$3
    shift 3
    mkdir -p "$mnt"
    # LeakSanitizer cannot run under ptrace (the sanitizer build of the
    # suite): leaks are the other checks' business here.
    ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
        strace -f -qq -e trace="$call" -o "$log" "$tmp/vssmount" -f "$@" \
        "$mnt" >/dev/null 2>&1 &
    for _ in $(seq 200); do
        mountpoint -q "$mnt" && return 0
        sleep 0.05
    done
    return 1
}
splice_unmount() { fusermount3 -u "$1"; wait; }
splice_count() { grep -c 'splice(' "$1"; }

raw_splice_check() { # LABEL FILL CLASSES IMAGE...
    local label=$1 fill=$2 classes=$3 out
    shift 3
    if ! splice_mount "$tmp/splice.log" "$tmp/mnt" --fill="$fill" "$@"; then
        bad "splice $label: vssmount did not mount"
        return
    fi
    out=$(python3 - "$tmp/vssinfo" "$tmp/mnt/vss1" "$fill" "$classes" "$@" <<'PY'
import json, os, random, subprocess, sys
vssinfo, path, fill, want = sys.argv[1:5]
imgs = sys.argv[5:]
runs = json.loads(subprocess.run([vssinfo, "--fill=" + fill, "--map", "1",
                                  "--json"] + imgs, capture_output=True,
                                 check=True).stdout)["runs"]
first = {}
for r in runs:
    first.setdefault(r["class"], r["offset"])
missing = [c for c in want.split(",") if c not in first]
if missing:
    print("FAIL no %s run in the map" % ",".join(missing))
    sys.exit()
fd = os.open(path, os.O_RDONLY)
size = os.fstat(fd).st_size
rng = random.Random(19)
W = 4 << 20
for cls in want.split(","):
    a = first[cls] // (1 << 20) * (1 << 20)
    n = min(W, size - a)
    truth = subprocess.run([vssinfo, "--fill=" + fill, "--extract", "1",
                            "--range", "%d:%d" % (a, n)] + imgs,
                           capture_output=True, check=True).stdout
    if len(truth) != n:
        print("FAIL %s: vssinfo --extract gave %d bytes" % (cls, len(truth)))
        continue
    for _ in range(64):
        o = rng.randrange(0, n - 4096) // 4096 * 4096
        if os.pread(fd, 4096, a + o) != truth[o:o + 4096]:
            print("FAIL %s: 4 KiB at %d differs" % (cls, a + o))
            break
    got = b"".join(os.pread(fd, 1 << 20, a + k) for k in range(0, n, 1 << 20))
    if got != truth:
        print("FAIL %s: the window at %d differs" % (cls, a))
    else:
        print("ok %s" % cls)
PY
)
    splice_unmount "$tmp/mnt"
    case $out in
    *FAIL*) bad "splice $label: $out" ;;
    *)
        if [ "$(splice_count "$tmp/splice.log")" -gt 0 ]; then
            ok "splice $label: windows around the first $classes runs equal" \
               "vssinfo --extract ($(splice_count "$tmp/splice.log") splice calls)"
        else
            bad "splice $label: equal, but no splice call: the fast path was not taken"
        fi ;;
    esac
}

tree_splice_check() { # LABEL SNAPSHOT IMAGE...
    local label=$1 n=$2 out
    shift 2
    if ! splice_mount "$tmp/splice.log" "$tmp/tree" -s "$n" "$@"; then
        bad "splice $label -s $n: vssmount did not mount"
        return
    fi
    out=$(python3 - "$tmp/vssinfo" "$tmp/tree" "$n" "$tmp/file.out" "$@" <<'PY'
import os, subprocess, sys
vssinfo, root, n, scratch = sys.argv[1:5]
imgs = sys.argv[5:]
same = 0
for d, _, files in os.walk(root):
    for f in sorted(files):
        p = os.path.join(d, f)
        rel = "/" + os.path.relpath(p, root)
        if ":" in f or f.startswith("$") or os.path.getsize(p) < 8192:
            continue
        with open(p, "rb") as fh:
            got = fh.read()
        if os.path.exists(scratch):
            os.unlink(scratch)
        r = subprocess.run([vssinfo, "--file", "%s:%s" % (n, rel), "--output",
                            scratch] + imgs, capture_output=True)
        if r.returncode:
            print("FAIL %s: vssinfo --file failed" % rel)
            continue
        with open(scratch, "rb") as fh:
            if fh.read() != got:
                print("FAIL %s differs" % rel)
                continue
        same += 1
print("files %d" % same)
PY
)
    splice_unmount "$tmp/tree"
    case $out in
    *FAIL*) bad "splice $label -s $n: $out" ;;
    "files 0") bad "splice $label -s $n: no file of 8 KiB or more to read" ;;
    *)
        if [ "$(splice_count "$tmp/splice.log")" -gt 0 ]; then
            ok "splice $label -s $n: ${out#files } files equal vssinfo --file" \
               "($(splice_count "$tmp/splice.log") splice calls)"
        else
            bad "splice $label -s $n: equal, but no splice call"
        fi ;;
    esac
}

if ! command -v strace >/dev/null; then
    skip "spliced reads: strace missing (make deps)"
else
    if [ "$imagedir" != - ]; then
        raw_splice_check "vsstest" windows store,live,stale "$imagedir/vsstest.raw"
        raw_splice_check "vsstest --fill=zero" zero store,live,zero "$imagedir/vsstest.raw"
        raw_splice_check "vss_1_vol + vss_2_stor (storage on a second image)" \
            windows store,live "$imagedir/vss_1_vol.raw" "$imagedir/vss_2_stor.raw"
    fi
    for man in "${manifests[@]}"; do
        # as tests/vssmount_check.py's gen_images: -o OFFSET SOURCE OTHERS
        imgs=$(python3 -c "
import json, os, sys
m = json.load(open(sys.argv[1]))
d = os.path.dirname(sys.argv[1])
im = [os.path.join(d, i['path']) for i in m['images']]
src = [v for v in m['volumes'] if v['role'] == 'source'][0]
print(' '.join(['-o', str(src['offset']), im[src['image']]] +
               [p for p in im if p != im[src['image']]]))" "$man" 2>/dev/null)
        [ -n "$imgs" ] || { bad "splice: cannot read the images of $man"; continue; }
        tree_splice_check "$(basename "$man" .json)" 1 $imgs
    done
fi

# A relative mount point, the daemon stopped by SIGTERM: it must unmount
# on its way out. The daemon changes to / when it detaches, so unless the
# mount point was made absolute first the unmount names nothing and a dead
# mount ("Transport endpoint is not connected") stays behind.
if [ -e testimages/out/win10scope.img ]; then
    mkdir -p "$tmp/relmnt"
    off=$(python3 -c "import json, sys; print([v for v in json.load(open(sys.argv[1]))['volumes'] if v['role'] == 'source'][0]['offset'])" testimages/out/win10scope.json)
    (cd "$tmp" && ./vssmount -o "$off" "$ROOT/testimages/out/win10scope.img" relmnt)
    if mountpoint -q "$tmp/relmnt" && [ -s "$tmp/relmnt/vss1" ]; then
        ok "relative mount point: mounted, vss1 readable"
        # the daemon of this mount (it forked away from the shell)
        pid=$(pgrep -f -x -- "\./vssmount -o $off $ROOT/testimages/out/win10scope.img relmnt")
        if [ -n "$pid" ] && [ "$(echo "$pid" | wc -l)" = 1 ]; then
            kill -TERM "$pid"
            for _ in $(seq 100); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.05
            done
            kill -0 "$pid" 2>/dev/null && bad "relative mount point: the daemon outlived SIGTERM by 5 s"
            same "relative mount point: SIGTERM leaves no mount behind" \
                "$(grep -c " $tmp/relmnt " /proc/self/mountinfo)" 0
        else
            bad "relative mount point: cannot tell the daemon's pid ($pid)"
        fi
    else
        bad "relative mount point: vssmount did not mount"
    fi
else
    skip "relative mount point: testimages/out/win10scope.img missing"
fi

# Direct I/O (the default) and --page-cache: the same bytes as vssinfo
# --extract either way, read(2) and private maps; a shared map needs the
# page cache (the kernel refuses it on direct-I/O files with ENODEV).
# The request loop (vssmount/main.c): with polling (the default) and
# without (--poll-us 0), 4 threads of random 4 KiB reads at once and 2
# threads of 1 MiB reads read what vssinfo --extract wrote (reads keep the
# turn; with the image's page cache dropped first in the default mode, the
# reads that wait for the disk pass it on).
if [ -e testimages/out/win10scope.img ]; then
    mkdir -p "$tmp/mnt"
    "$tmp/vssinfo" -o "$off" --extract 1 testimages/out/win10scope.img > "$tmp/x1"
    want=$(sha256sum < "$tmp/x1" | cut -d' ' -f1)
    for mode in direct "direct --poll-us 0" page-cache; do
        case $mode in
        direct) opts=() ;;
        page-cache) opts=(--page-cache) ;;
        *) opts=(${mode#direct }) ;;
        esac
        "$tmp/vssmount" "${opts[@]}" -o "$off" \
            testimages/out/win10scope.img "$tmp/mnt" || { bad "$mode: vssmount did not mount"; continue; }
        same "$mode: vss1 by read(2) = vssinfo --extract 1" \
            "$(sha256sum < "$tmp/mnt/vss1" | cut -d' ' -f1)" "$want"
        [ "$mode" = direct ] && python3 -c 'import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)' testimages/out/win10scope.img
        same "$mode: 4 random 4 KiB readers and 2 1 MiB readers at once = vssinfo --extract 1" \
            "$(python3 tests/parallel_readers.py "$tmp/mnt/vss1" "$tmp/x1")" same
        if [ "$mode" = "direct --poll-us 0" ]; then  # maps: as direct
            fusermount3 -u "$tmp/mnt"
            continue
        fi
        got=$(python3 - "$tmp/mnt/vss1" <<'PY'
import errno, hashlib, mmap, sys
f = open(sys.argv[1], "rb")
priv = mmap.mmap(f.fileno(), 0, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ)
try:
    mmap.mmap(f.fileno(), 0, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ)
    shared = "shared"
except OSError as e:
    shared = errno.errorcode.get(e.errno, str(e.errno))
print(hashlib.sha256(priv).hexdigest(), shared)
PY
)
        same "$mode: vss1 by a private map = vssinfo --extract 1" "${got% *}" "$want"
        same "$mode: a shared map" "${got#* }" "$([ $mode = direct ] && echo ENODEV || echo shared)"
        fusermount3 -u "$tmp/mnt"
    done
    rm -f "$tmp/x1"
fi
# The preferred I/O size (st_blksize) of snapshot volumes and files:
# 1 MiB, so that cat and cp ask for two 512 KiB requests at a time.
if [ -e testimages/out/win10scope.img ]; then
    mkdir -p "$tmp/mnt"
    for mode in raw tree; do
        if "$tmp/vssmount" $([ $mode = tree ] && echo "-s 1") -o "$off" \
            testimages/out/win10scope.img "$tmp/mnt"; then
            f=$tmp/mnt/vss1
            [ $mode = tree ] && f=$(find "$tmp/mnt" -type f -size +1k | head -1)
            same "$mode: st_blksize of ${f#$tmp/mnt/}" "$(stat -c %o "$f")" 1048576
            fusermount3 -u "$tmp/mnt"
        else
            bad "st_blksize $mode: vssmount did not mount"
        fi
    done
fi
# Read-ahead (--readahead, with --page-cache): the mount's window in
# /sys/class/bdi/MAJOR:MINOR/read_ahead_kb, set by vssmount when it may
# (root) once the mount answers: 1024 KiB by default, as asked with
# --readahead N, the kernel's own with --readahead 0 and without
# --page-cache (direct I/O: no page cache, no read-ahead). Bad values:
# usage errors before anything is mounted.
ra_of() { # MOUNTPOINT WANT: its read_ahead_kb once it is WANT (or 2 s
          # passed), and 0.2 s later (a late change would show)
    local f want=$2
    f=/sys/class/bdi/$(mountpoint -d "$1")/read_ahead_kb
    stat "$1" > /dev/null
    for _ in $(seq 40); do
        [ "$(cat "$f")" = "$want" ] && break
        sleep 0.05
    done
    sleep 0.2
    cat "$f"
}
if [ -e testimages/out/win10scope.img ] && [ "$(id -u)" = 0 ] && [ -w /sys/class/bdi ]; then
    mkdir -p "$tmp/mnt"
    "$tmp/vssmount" -o "$off" testimages/out/win10scope.img "$tmp/mnt"
    kernel_ra=$(ra_of "$tmp/mnt" -)
    fusermount3 -u "$tmp/mnt"
    for spec in "--page-cache:1024" "--page-cache --readahead 4096:4096" \
        "--readahead 64 --page-cache:64" "--page-cache --readahead 0:$kernel_ra" \
        "--readahead 2048:$kernel_ra"; do
        opts=${spec%:*} want=${spec##*:}
        if "$tmp/vssmount" $opts -o "$off" testimages/out/win10scope.img "$tmp/mnt"; then
            same "read-ahead of a mount with '${opts:-no option}' (KiB)" "$(ra_of "$tmp/mnt" "$want")" "$want"
            fusermount3 -u "$tmp/mnt"
        else
            bad "read-ahead '$opts': vssmount did not mount"
        fi
    done
else
    skip "read-ahead: needs root, a writable /sys/class/bdi and testimages/out/win10scope.img"
fi
for v in -1 x 65537 1.5 ""; do
    err=$("$tmp/vssmount" --readahead "$v" testimages/out/win10scope.img "$tmp/mnt" 2>&1)
    rc=$?
    same "--readahead '$v': exit status" "$rc" 2
    check "--readahead '$v': the message names the option and its range ($err)" \
        grep -q "^vssmount: --readahead: expected KiB from 0 to 65536, got '$v'" <<<"$err"
done
mountpoint -q "$tmp/mnt" && bad "a bad --readahead left a mount behind"

# Polling (--poll-us): only right after a request, bounded, never on an
# idle mount. Under strace, a mount polling up to 0.1 s after each request
# polls many times after one read, then not once while it idles; without
# polling (--poll-us 0) a read makes no polls at all (a small read never
# asks whether more are waiting). An idle mount with the default uses no
# CPU time: /proc/PID/stat over 2 s.
poll_count() { grep -c '^[0-9]* *poll(' "$1"; }
if [ -e testimages/out/win10scope.img ]; then
    for us in 100000 0; do
        if ! splice_mount_traced poll "$tmp/poll.log" "$tmp/mnt" --poll-us "$us" \
                -o "$off" testimages/out/win10scope.img; then
            bad "--poll-us $us: vssmount did not mount"
            continue
        fi
        exec 7< "$tmp/mnt/vss1"  # open it now: the read below is one request
        sleep 0.3
        p0=$(poll_count "$tmp/poll.log")
        dd of=/dev/null bs=4k count=1 skip=77 status=none <&7
        sleep 0.5  # 5 times the longest polling
        p1=$(poll_count "$tmp/poll.log")
        sleep 0.5
        p2=$(poll_count "$tmp/poll.log")
        exec 7<&-
        splice_unmount "$tmp/mnt"
        if [ "$us" = 0 ]; then
            same "--poll-us 0: a small read polls /dev/fuse 0 times" "$((p1 - p0))" 0
        else
            check "--poll-us $us: it polls after a read ($((p1 - p0)) polls)" [ $((p1 - p0)) -ge 10 ]
        fi
        same "--poll-us $us: an idle mount does not poll (polls in 0.5 s)" "$((p2 - p1))" 0
    done
    "$tmp/vssmount" -f -o "$off" testimages/out/win10scope.img "$tmp/mnt" &
    pid=$!
    for _ in $(seq 100); do mountpoint -q "$tmp/mnt" && break; sleep 0.05; done
    if mountpoint -q "$tmp/mnt"; then
        cat "$tmp/mnt/vss1" > /dev/null
        t0=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
        sleep 2
        t1=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
        check "default polling: an idle mount used $((t1 - t0)) clock ticks of CPU in 2 s (at most 2)" [ $((t1 - t0)) -le 2 ]
        fusermount3 -u "$tmp/mnt"
    else
        bad "default polling: vssmount -f did not mount"
    fi
    wait
fi
# Bad --poll-us values: usage errors (exit 2) naming the option, before
# anything is mounted.
for v in -1 x 100001 1.5 ""; do
    err=$("$tmp/vssmount" --poll-us "$v" testimages/out/win10scope.img "$tmp/mnt" 2>&1)
    rc=$?
    same "--poll-us '$v': exit status" "$rc" 2
    check "--poll-us '$v': the message names the option and its range ($err)" \
        grep -q "^vssmount: --poll-us: expected microseconds from 0 to 100000, got '$v'" <<<"$err"
done
err=$("$tmp/vssmount" testimages/out/win10scope.img "$tmp/mnt" --poll-us 2>&1)
same "--poll-us without a value: exit status" "$?" 2
check "--poll-us without a value: says so ($err)" grep -q "^vssmount: --poll-us needs an argument" <<<"$err"
mountpoint -q "$tmp/mnt" && bad "a bad --poll-us left a mount behind"

[ "$imagedir" = - ] || check_real_unchanged "$before"
finish

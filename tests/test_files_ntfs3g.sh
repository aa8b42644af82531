#!/usr/bin/env bash
# Files of every snapshot of every real image as ntfs-3g sees them: each
# snapshot is exposed raw by vssmount and mounted read-only by ntfs-3g on
# that file; every regular file must have the path, size and (up to
# $LIBVSS_FILES_CAP bytes, default 8 MiB) SHA-256 that vssinfo --ls/--file
# give. Skips without ../shared or FUSE. The sanitizer pass (make
# test-asan) runs the same code paths on less, as tests/vsstest.py's
# snapshots_to_check and streams_to_check say: the first and the last
# snapshot of each image, and vssinfo --file on every 4th file of the
# sorted list (every file's size is still compared); the plain pass has
# proved each result.
set -u
. "$(dirname "$0")/lib.sh"
VSSMOUNT=$ROOT/$BUILD/vssmount
if ! prepare_real; then
    skip "real images absent"; finish; exit
fi
if [ ! -e /dev/fuse ] || ! command -v ntfs-3g >/dev/null || [ ! -x "$VSSMOUNT" ]; then
    skip "FUSE, ntfs-3g or vssmount missing"; finish; exit
fi
T=$(mktemp -d)
# ntfs-3g may still hold the raw file for a moment after its unmount.
umount_retry() {
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        mountpoint -q "$1" || return 0
        fusermount3 -u "$1" 2>/dev/null && return 0
        sleep 0.3
    done
    fusermount3 -u "$1"
}
cleanup() {
    fusermount3 -u "$T/ntfs" 2>/dev/null
    fusermount3 -u "$T/raw" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
mkdir -p "$T/raw" "$T/ntfs"
I=$WORK/real
sampled=$(cd "$ROOT/tests" && python3 -c 'from vsstest import SAMPLED; print(SAMPLED)')
cases=(
  "vsstest 0 $I/vsstest.raw"
  "vss_2003 32256 $I/vss_2003.raw"
  "vss_2_stor 34603008 $I/vss_2_stor.raw"
  "vss_1_vol 34603008 $I/vss_1_vol.raw $I/vss_2_stor.raw"
  "vss_3_volstor 2148532224 $I/vss_3_volstor.raw"
)
for c in "${cases[@]}"; do
    set -- $c
    name=$1 off=$2
    shift 2
    imgs=("$@")
    if ! "$VSSMOUNT" -o "$off" "${imgs[@]}" "$T/raw"; then
        bad "$name: vssmount failed"; continue
    fi
    snaps=$(ls "$T/raw" | sed -n 's/^vss\([0-9][0-9]*\)$/\1/p' | sort -n)
    if [ "${LIBVSS_SANITIZER_PASS:-0}" = 1 ]; then
        snaps=$(echo "$snaps" | sed -n '1p;$p' | sort -nu)
    fi
    for n in $snaps; do
        raw=$T/raw/vss$n
        if ! ntfs-3g -o ro "$raw" "$T/ntfs" 2>"$T/err"; then
            bad "$name snapshot $n: ntfs-3g cannot mount it: $(head -c 200 "$T/err")"
            continue
        fi
        out=$(ROOT=$ROOT python3 - "$VSSINFO" "$n" "$T/ntfs" "${LIBVSS_FILES_CAP:-8388608}" -o "$off" "${imgs[@]}" <<'PY'
import hashlib, json, os, subprocess, sys
sys.path.insert(0, os.path.join(os.environ["ROOT"], "tests"))
from vsstest import streams_to_check
vssinfo, n, mnt, cap = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
args = sys.argv[5:]
theirs = {}
for root, dirs, files in os.walk(mnt):
    for fn in files:
        p = os.path.join(root, fn)
        if os.path.islink(p) or not os.path.isfile(p):
            continue
        key = "/" + os.path.relpath(p, mnt)
        size = os.path.getsize(p)
        h = None
        if size <= cap:
            try:
                h = hashlib.sha256(open(p, "rb").read()).hexdigest()
            except OSError as e:
                h = "error %s" % e.errno
        theirs[key] = (size, h)
ls = json.loads(subprocess.run([vssinfo, "--ls", n, "-r", "--json"] + args,
                               check=True, capture_output=True).stdout)["entries"]
sizes = {}
for e in ls:
    p = "/" + e["path"]
    if e["type"] != "file" or os.path.basename(p).startswith("$") and "/" not in p[1:]:
        continue
    if p not in theirs:
        continue  # hidden/system files ntfs-3g does not show: compared below by count
    sizes[p] = e["size"]
hashes = {}
for p in streams_to_check(sorted(p for p in sizes if sizes[p] <= cap)):
    r = subprocess.run([vssinfo, "--file", "%s:%s" % (n, p)] + args, capture_output=True)
    hashes[p] = hashlib.sha256(r.stdout).hexdigest() if r.returncode == 0 else "error"
missing = sorted(k for k in theirs if k not in sizes and not os.path.basename(k).startswith("$"))
differ = sorted(k for k in sizes if sizes[k] != theirs[k][0] or
                k in hashes and hashes[k] != theirs[k][1])
hashed = len(hashes)
print("%d %d %d %s %s" % (len(sizes), hashed, len(missing) + len(differ),
                          json.dumps(missing[:3]), json.dumps(differ[:3])))
PY
)
        umount_retry "$T/ntfs"
        set -- $out
        if [ "${3:-1}" = 0 ] && [ "${1:-0}" -gt 0 ]; then
            ok "$name snapshot $n: $1 files as ntfs-3g sees them ($2 hashed)$sampled"
        else
            bad "$name snapshot $n: differs from ntfs-3g: $out"
        fi
    done
    umount_retry "$T/raw"
done
finish

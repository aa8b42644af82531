#!/usr/bin/env bash
# Seeds for fuzz_multi (tests/fuzz/corpus/multi): containers of several
# files, in the harness's input form (layout byte, part count, u32-length
# parts; each part in the sparse form of fzsparse.py).
# Needs qemu-utils and ewf-tools. A 3 MiB raw with a few non-zero places:
#   EWF uncompressed in 1 MiB segments (E01..E04), and compressed in one;
#   split raw .001.. and .aa..;
#   qcow2 overlay over a qcow2 base (backing by path and as a source) and
#   over a split raw base;
#   differencing VHD and VHDX (tests/containers_mkdiff.py, its random data
#   thinned out) over their parent.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$root/tests/fuzz/corpus/multi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"

python3 - <<'PY'
import random
random.seed(7)
b = bytearray(3 * 1024 * 1024)
t = b"libvss multi-file fuzz seed\n" * 20
b[0:len(t)] = t
b[700000:700000 + 1024] = bytes(random.getrandbits(8) for _ in range(1024))
for i in range(4096):
    b[2 * 1048576 - 2048 + i] = i & 0xff
b[-600:] = bytes(random.getrandbits(8) for _ in range(600))
open("small.raw", "wb").write(b)
open("parent8.raw", "wb").write(bytes(b) + bytes(5 * 1024 * 1024))
PY

ewfacquire -u -q -t ewfseg -c none -S 1048576 small.raw >/dev/null
ewfacquire -u -q -t ewfone -c deflate:fast -d sha1 small.raw >/dev/null
split -b 1000000 -d -a 3 --numeric-suffixes=1 small.raw num.
split -b 1000000 small.raw abc.
qemu-img convert -q -f raw -O qcow2 -o cluster_size=512 small.raw base.qcow2
qemu-img create -q -f qcow2 -o cluster_size=512 -b base.qcow2 -F qcow2 ov.qcow2
qemu-io -c "write -P 0x5a 1M 4k" -c "write -P 0xa5 3000k 1k" ov.qcow2 >/dev/null
qemu-img create -q -f qcow2 -o cluster_size=512 -b num.001 -F raw ovsplit.qcow2
qemu-io -c "write -P 0x33 500k 4k" ovsplit.qcow2 >/dev/null
# containers_mkdiff.py fills the child's blocks with random bytes: keep only
# 16 of each draw (zeros after) so the seeds stay small.
python3 - "$root/tests/containers_mkdiff.py" <<'PY'
import random, runpy, sys
draw = random.Random.randbytes
random.Random.randbytes = lambda self, n: draw(self, min(n, 16)) + bytes(max(0, n - 16))
script = sys.argv[1]
sys.argv = [script, "parent8.raw", "."]
runpy.run_path(script, run_name="__main__")
PY

mkdir -p "$out"
PYTHONPATH=$root/tests/fuzz python3 - "$out" <<'PY'
import glob, os, struct, sys
from fzsparse import sparse
out = sys.argv[1]

def seed(name, layout, files):
    parts = [sparse(open(f, "rb").read()) for f in files]
    b = bytearray([layout, len(parts) - 1])
    for p in parts[:-1]:
        b += struct.pack("<I", len(p)) + p
    b += parts[-1]
    open(os.path.join(out, "seed-" + name), "wb").write(b)

seed("ewf-segments", 0, sorted(glob.glob("ewfseg.E*")))
seed("ewf-one-segment", 0, ["ewfone.E01"])
seed("split-numbers", 1, sorted(glob.glob("num.0*")))
seed("split-letters", 2, sorted(glob.glob("abc.a*")))
seed("qcow2-backing-path", 3, ["ov.qcow2", "base.qcow2"])
seed("qcow2-backing-source", 4, ["ov.qcow2", "base.qcow2"])
seed("qcow2-backing-split", 3, ["ovsplit.qcow2"] + sorted(glob.glob("num.0*")))
seed("vhd-differencing", 3, ["diff.vhd", "parent8.raw"])
seed("vhdx-differencing", 4, ["diff.vhdx", "parent8.raw"])
PY
ls -l "$out"

#!/usr/bin/env bash
# Seeds for fuzz_container and fuzz_ntfs (tests/fuzz/corpus/{container,ntfs}).
# Needs qemu-utils, ewf-tools, ntfs-3g (mkntfs, and a FUSE mount of the new
# volume to add files: run as root). Containers of a 2 MiB raw with a few
# non-zero places: qcow2 (v3 512-byte clusters, v3 compressed, v2), VHD
# dynamic and fixed, VHDX, EWF (E01 compressed with hashes and acquisition
# metadata, E01 uncompressed, SMART). Large mostly-zero files are written in
# the harness's sparse form ("FZSP" + u64 size + chunks of the non-zero
# 512-byte runs). The NTFS seed is a 2 MiB mkntfs volume (512-byte clusters)
# with files, directories, an ADS, a sparse and a compressed file, trailing
# zeros cut (the harness zero-extends).
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$root/tests/fuzz/corpus
tmp=$(mktemp -d)
trap 'mountpoint -q "$tmp/mnt" && umount "$tmp/mnt"; rm -rf "$tmp"' EXIT
cd "$tmp"

python3 - <<'PY'
import random
random.seed(6)
b = bytearray(2 * 1024 * 1024)
t = b"libvss container fuzz seed\n" * 100
b[0:len(t)] = t
b[65536:65536 + 4096] = bytes(random.getrandbits(8) for _ in range(4096))
for i in range(8192):
    b[1048576 + i] = i & 0xff
b[-3000:] = bytes(random.getrandbits(8) for _ in range(3000))
open("small.raw", "wb").write(b)
PY

qemu-img convert -f raw -O qcow2 -o cluster_size=512 small.raw qcow2-v3.qcow2
qemu-img convert -c -f raw -O qcow2 -o cluster_size=4096 small.raw qcow2-v3-compressed.qcow2
qemu-img convert -f raw -O qcow2 -o compat=0.10,cluster_size=512 small.raw qcow2-v2.qcow2
qemu-img convert -f raw -O vpc small.raw vhd-dynamic.vhd
qemu-img convert -f raw -O vpc -o subformat=fixed small.raw vhd-fixed.vhd
qemu-img convert -f raw -O vhdx small.raw vhdx-dynamic.vhdx
ewfacquire -u -q -t ewf-compressed -c deflate:best -d sha1 -C case1 -E ev1 \
  -D desc -e exam -N notes small.raw >/dev/null
ewfacquire -u -q -t ewf-plain -c none -b 16 -B 262144 small.raw >/dev/null
ewfacquire -u -q -t ewf-smart -f smart -c fast -B 262144 small.raw >/dev/null

# NTFS: 2 MiB, 512-byte clusters.
dd if=/dev/zero of=ntfs.img bs=1M count=2 status=none
mkntfs -q -F -Q -c 512 -L fuzz ntfs.img >/dev/null 2>&1
mkdir mnt
ntfs-3g -o streams_interface=windows ntfs.img mnt
mkdir -p mnt/dir/sub
echo "hello from libvss" > mnt/hello.txt
head -c 3000 /dev/urandom > mnt/dir/random.bin
seq 1 2000 > mnt/dir/sub/numbers.txt
echo "hidden stream" > mnt/hello.txt:ads
truncate -s 200000 mnt/sparse.bin
echo tail >> mnt/sparse.bin
ln mnt/hello.txt mnt/dir/hardlink.txt
mkdir mnt/many; for i in $(seq 1 40); do echo $i > mnt/many/file-$i; done
umount mnt
mkdir -p "$out/ntfs"
python3 - "$out/ntfs/seed-mkntfs-1m" <<'PY'
import sys
b = open("ntfs.img", "rb").read().rstrip(b"\0")
open(sys.argv[1], "wb").write(b)
PY

mkdir -p "$out/container"
python3 - "$out/container" *.qcow2 *.vhd *.vhdx *.E01 *.s01 <<'PY'
import os, struct, sys
dst = sys.argv[1]
for f in sys.argv[2:]:
    b = open(f, "rb").read()
    name = "seed-" + f.replace(".", "-")
    out = bytearray(b"FZSP" + struct.pack("<Q", len(b)))
    i = 0
    while i < len(b):
        if not any(b[i:i + 512]):
            i += 512
            continue
        j = i
        while j < len(b) and any(b[j:j + 512]):
            j += 512
        chunk = b[i:j].rstrip(b"\0")
        out += struct.pack("<QI", i, len(chunk)) + chunk
        i = j
    open(os.path.join(dst, name), "wb").write(out if len(out) < len(b) else b)
PY
ls -l "$out/container" "$out/ntfs"

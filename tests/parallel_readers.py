#!/usr/bin/env python3
"""parallel_readers.py MOUNTED REFERENCE: 4 threads of 500 random 4 KiB
reads and 2 threads of 1 MiB reads (each every other MiB) at once on
MOUNTED, every read compared with the same bytes of REFERENCE. Prints
"same", or "differ: " and the first differing reads. Used by the vssmount
tests to load a mount's request loop (tests/test_vssmount.sh,
tests/test_vssmount_uring.sh)."""
import os
import random
import sys
import threading

mnt, ref = (os.open(p, os.O_RDONLY) for p in sys.argv[1:3])
size = os.fstat(ref).st_size
bad = []


def reader(seed, n, length):
    rnd = random.Random(seed)
    for k in range(n):
        if length == 4096:
            off = rnd.randrange(size // 4096) * 4096
        else:  # the 2 large readers take every other MiB each
            off = (2 * k + seed) * length
            if off >= size:
                return
        if os.pread(mnt, length, off) != os.pread(ref, length, off):
            bad.append("%d bytes at %d" % (length, off))


jobs = [threading.Thread(target=reader, args=(s, 500, 4096)) for s in range(4)]
jobs += [threading.Thread(target=reader, args=(s, size, 1 << 20)) for s in range(2)]
for j in jobs:
    j.start()
for j in jobs:
    j.join()
print("differ: " + ", ".join(bad[:3]) if bad else "same")

#!/usr/bin/python3
"""pyvss's read speed for `make bench` (issue 15, point 4): a whole
snapshot read in 1 MiB reads through pyvss (Snapshot.readinto), through the
C library (readbench vss seq, the same reads in C) and through pyvshadow
(libvshadow's binding, read_buffer_at_offset), best of REPEAT runs each.

    bench.py READBENCH IMAGE OFFSET SNAPSHOT [REPEAT]

Prints one row per reader (seconds, MB/s) and the verdicts: pyvss within
1.2x of the C library, and at least as fast as pyvshadow on the same reads.
readbench also sums every 64-bit word it reads (its checksum) and its time
is that of a fresh process's first reads: it bounds the C library's time
from above. (A bare C loop of vss_snapshot_read_at on vsstest measured
0.065-0.1 s against pyvss's 0.065-0.08 s: docs/python.md.)
"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import RangeFile, check, finish  # noqa: E402

import pyvss  # noqa: E402

MIB = 1 << 20


def best(fn, repeat):
    return min(fn() for _ in range(repeat))


def main():
    readbench, image, offset, k = sys.argv[1:5]
    offset, k = int(offset), int(k)
    repeat = int(sys.argv[5]) if len(sys.argv) > 5 else 3
    disk = pyvss.open_image(image)
    part = [p for p in disk.partitions() if p.offset == offset][0]
    snap = pyvss.Volume(disk.range(part.offset, part.size)).open_snapshot(k)
    size = snap.size

    def c_run():
        out = subprocess.run([readbench, "vss", "seq", image, str(offset),
                              str(k)], check=True, capture_output=True).stdout
        return float(out.split()[1])

    def py_run():
        buf = bytearray(MIB)
        t = time.perf_counter()
        snap.seek(0)
        while snap.readinto(buf):
            pass
        return time.perf_counter() - t

    rows = [("libvss (C)", best(c_run, repeat)),
            ("pyvss readinto", best(py_run, repeat))]
    try:
        import pyvshadow
        vol = pyvshadow.volume()
        vol.open_file_object(RangeFile(image, offset, part.size))
        store = vol.get_store(k - 1)

        def vshadow_run():
            t = time.perf_counter()
            for off in range(0, size, MIB):
                store.read_buffer_at_offset(min(MIB, size - off), off)
            return time.perf_counter() - t
        rows.append(("pyvshadow", best(vshadow_run, repeat)))
    except ImportError:
        print("skip pyvshadow: python3-libvshadow is not installed")
    for name, secs in rows:
        print("%-16s %8.3f s %9.1f MB/s" % (name, secs, size / secs / 1e6))
    c, py = rows[0][1], rows[1][1]
    check(py <= 1.2 * c, "pyvss within 1.2x of the C library (%.2fx)" % (py / c))
    if len(rows) > 2:
        check(py <= rows[2][1], "pyvss at least as fast as pyvshadow "
              "(%.1fx faster)" % (rows[2][1] / py))
    return finish()


if __name__ == "__main__":
    sys.exit(main())

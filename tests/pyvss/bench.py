#!/usr/bin/python3
"""pyvss's read speed for `make bench` (issue 15, point 4; the python
section of tests/bench/bench.sh): a snapshot read in 1 MiB reads, the same
reads by every reader, in one process, image in the page cache:

- libvss (C): vss_snapshot_read_at of build/libvss.so called in a loop
  through ctypes into one buffer: the C library's own cost (ctypes adds
  about a microsecond per call, under 0.5% of a 1 MiB read);
- pyvss readinto: Snapshot.readinto into one bytearray (no copy, no
  allocation per read, the GIL released during the read);
- pyvss read: Snapshot.read (a new bytes object per read, as dfVFS reads);
- pyvss.pyvshadow read: the shim's store.read, as dfVFS calls it;
- pyvshadow read: libvshadow's binding, store.read, the same reads.

    bench.py LIBVSS_SO READBENCH IMAGE OFFSET SNAPSHOT [REPEAT] [MIB START]

MIB START: read MIB MiB from MiB START on (default: the whole snapshot).
Both pyvshadow and the shim open the image by path at OFFSET 0, else
through a Python file object over the volume's byte range (as dfVFS hands
them one; labelled).
The runs of the readers are interleaved (run 1 of each, then run 2 ...),
each figure the median of REPEAT runs (spread min-max). readbench (a fresh
process whose timed loop also checksums every byte) is shown for
reference. Prints a Markdown table row per reader, then the verdicts:
pyvss readinto within 1.2x of the C library, and pyvss (readinto and the
shim's read) at least as fast as pyvshadow on the same reads; through a
file object the shim and pyvshadow are compared only when they took about
as many bytes from it (where libvshadow zero-fills not-in-use blocks of
the newest store, libvss reads the live bytes Windows returns).
"""
import ctypes
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import RangeFile, check, finish  # noqa: E402

import pyvss  # noqa: E402
import pyvss.pyvshadow as shim  # noqa: E402

MIB = 1 << 20


class CLib(object):
    """The C library through ctypes: snapshot K of the volume at OFFSET."""

    class Error(ctypes.Structure):
        _fields_ = [("code", ctypes.c_int), ("message", ctypes.c_char * 512)]

    def __init__(self, so, image, offset, k):
        lib = self.lib = ctypes.CDLL(so)
        p = ctypes.c_void_p
        lib.vss_source_open_file.argtypes = [ctypes.c_char_p, ctypes.POINTER(p), p]
        lib.vss_source_size.argtypes = [p]
        lib.vss_source_size.restype = ctypes.c_uint64
        lib.vss_source_open_range.argtypes = [p, ctypes.c_uint64, ctypes.c_uint64,
                                              ctypes.POINTER(p), p]
        lib.vss_volume_open.argtypes = [p, ctypes.POINTER(p), p]
        lib.vss_snapshot_open.argtypes = [p, ctypes.c_int, ctypes.c_int,
                                          ctypes.POINTER(p), p]
        lib.vss_snapshot_size.argtypes = [p]
        lib.vss_snapshot_size.restype = ctypes.c_uint64
        lib.vss_snapshot_read_at.argtypes = [p, p, ctypes.c_size_t, ctypes.c_uint64, p]
        lib.vss_snapshot_read_at.restype = ctypes.c_int64
        e = self.Error()
        img, vol, v, s = p(), p(), p(), p()
        if (lib.vss_source_open_file(image.encode(), ctypes.byref(img), ctypes.byref(e)) or
                lib.vss_source_open_range(img, offset, lib.vss_source_size(img) - offset,
                                          ctypes.byref(vol), ctypes.byref(e)) or
                lib.vss_volume_open(vol, ctypes.byref(v), ctypes.byref(e)) or
                lib.vss_snapshot_open(v, k, 0, ctypes.byref(s), ctypes.byref(e))):
            raise OSError("libvss: " + e.message.decode())
        self.snap = s
        self.size = lib.vss_snapshot_size(s)

    def run(self, start, end):
        buf = ctypes.create_string_buffer(MIB)
        read_at, snap = self.lib.vss_snapshot_read_at, self.snap
        t = time.perf_counter()
        for off in range(start, end, MIB):
            if read_at(snap, buf, min(MIB, end - off), off, None) <= 0:
                raise OSError("libvss read failed at %d" % off)
        return time.perf_counter() - t


def main():
    so, readbench, image, offset, k = sys.argv[1:6]
    offset, k = int(offset), int(k)
    repeat = int(sys.argv[6]) if len(sys.argv) > 6 else 5
    disk = pyvss.open_image(image)
    part = [p for p in disk.partitions() if p.offset == offset][0]
    snap = pyvss.Volume(disk.range(part.offset, part.size)).open_snapshot(k)
    start, end = 0, snap.size
    if len(sys.argv) > 8:
        start = min(int(sys.argv[8]) * MIB, snap.size)
        end = min(start + int(sys.argv[7]) * MIB, snap.size)
    clib = CLib(so, image, offset, k)
    assert clib.size == snap.size

    def readinto_run():
        buf = bytearray(MIB)
        view = memoryview(buf)
        t = time.perf_counter()
        snap.seek(start)
        for off in range(start, end, MIB):
            snap.readinto(view[:min(MIB, end - off)])
        return time.perf_counter() - t

    def read_run(store):
        def run():
            t = time.perf_counter()
            store.seek(start)
            for off in range(start, end, MIB):
                store.read(min(MIB, end - off))
            return time.perf_counter() - t
        return run

    image_bytes = {}   # per module: bytes its reads took from the file object

    class CountingFile(RangeFile):
        def __init__(self, name):
            super().__init__(image, offset, part.size)
            self._name = name

        def read(self, size=-1):
            data = super().read(size)
            image_bytes[self._name] = image_bytes.get(self._name, 0) + len(data)
            return data

    def open_volume(module):
        """By path at offset 0, else through a Python file object over the
        volume's bytes (as dfVFS hands one over): the same for both."""
        v = module.volume()
        if offset == 0:
            v.open(image)
        else:
            v.open_file_object(CountingFile(module.__name__))
        return v.get_store(k - 1)

    via = "" if offset == 0 else " (Python file object)"
    readers = [("libvss (C, ctypes loop)", lambda: clib.run(start, end)),
               ("pyvss readinto", readinto_run),
               ("pyvss read", read_run(snap)),
               ("pyvss.pyvshadow read" + via, read_run(open_volume(shim)))]
    try:
        import pyvshadow
        readers.append(("pyvshadow read" + via, read_run(open_volume(pyvshadow))))
    except ImportError:
        print("skip pyvshadow: python3-libvshadow is not installed")
    times = {name: [] for name, _ in readers}
    for r in range(repeat):
        for i in range(len(readers)):
            name, fn = readers[(i + r) % len(readers)]
            times[name].append(fn())
    # readbench: a fresh process, its loop checksumming every byte read
    rb = []
    args = [readbench, "vss", "seq", image, str(offset), str(k)]
    if len(sys.argv) > 8:
        args += [sys.argv[7], sys.argv[8]]
    for _ in range(repeat):
        out = subprocess.run(args, check=True, capture_output=True).stdout
        rb.append(float(out.split()[1]))
    times["readbench (C, fresh process, checksum)"] = rb
    mb = (end - start) / 1e6
    med = {n: statistics.median(t) for n, t in times.items()}
    c = med[readers[0][0]]
    print("| reader | MB/s | time s | / C library |")
    print("|---|---:|---:|---:|")
    for name, t in times.items():
        print("| %s | %.0f (%.0f-%.0f) | %.3f | %.2f |" % (
            name, mb / med[name], mb / max(t), mb / min(t), med[name],
            med[name] / c))
    py = med["pyvss readinto"]
    check(py <= 1.2 * c, "pyvss readinto within 1.2x of the C library "
          "(%.2fx its time)" % (py / c))
    pv_names = [n for n in med if n.startswith("pyvshadow")]
    if pv_names:
        pvt = med[pv_names[0]]
        check(py <= pvt, "pyvss readinto at least as fast as pyvshadow "
              "(%.1fx faster)" % (pvt / py))
        s = med["pyvss.pyvshadow read" + via]
        mine = image_bytes.get(shim.__name__, 0)
        theirs = image_bytes.get("pyvshadow", 0)
        if mine > 2 * theirs + MIB:
            # Not the same work: libvshadow zero-fills blocks the newest
            # store marks not in use, where Windows (libvss) returns the
            # volume's bytes (docs/format.md "Where readers differ").
            print("     the shim read %d MiB from the file object, pyvshadow "
                  "%d MiB (blocks it zero-fills where Windows returns live "
                  "data): speeds not compared" % (mine >> 20, theirs >> 20))
        else:
            check(s <= pvt, "the pyvshadow shim's read at least as fast as "
                  "pyvshadow's (%.1fx faster)" % (pvt / s))
    return finish()


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""pyvss's behaviour: errors, file-object semantics (native and the
pyvshadow shim), threads, and leaks.

    behaviour.py IMAGE          a raw image whose volume at offset 0 or in
                                its partition table has snapshots

Errors: pyvss.Error is an OSError carrying the library's message (naming
the structure and the byte offset) and code, for a missing file, a missing
snapshot, and a volume whose catalog offset was made hostile (read through
a Python file object over a patched in-memory copy of the header region).
Seek/read: the rules the issue gives for pyvshadow (negative results and
unknown whence raise OSError and leave the offset; past the end allowed,
reads there b""; read(None) to the end), for Snapshot and the shim.
Threads: 8 threads reading one Snapshot (read_at), one File and one
snapshot of a volume opened from a Python file object give the bytes a
single thread reads; a close() while other threads read is safe; two
threads failing on two file objects each get their own exception as the
pyvss.Error's __cause__; audits over a failing file object leave none of
its exceptions alive.
Leaks: 300 open/read/map/close cycles grow neither Python's heap
(tracemalloc) nor the process (RSS) beyond a bound.
"""
import gc
import hashlib
import io
import os
import random
import struct
import sys
import threading
import tracemalloc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import RangeFile, bad, check, finish, ok  # noqa: E402

import pyvss  # noqa: E402
import pyvss.pyvshadow as shim  # noqa: E402

BS = 16384


def check_errors(image, vol, voloff):
    try:
        pyvss.open("/nonexistent/image.raw")
        bad("a missing image: no error")
    except pyvss.Error as e:
        check(isinstance(e, OSError) and "/nonexistent/image.raw" in str(e),
              "a missing image: pyvss.Error (an OSError) naming it: %s" % e)
    try:
        vol.open_snapshot(len(vol) + 1)
        bad("snapshot %d of %d: no error" % (len(vol) + 1, len(vol)))
    except pyvss.Error as e:
        check(e.code == pyvss.ENOTFOUND and e.code_name == "not found",
              "snapshot %d of %d: pyvss.Error code ENOTFOUND: %s" %
              (len(vol) + 1, len(vol), e))
    # The VSS header (volume offset 0x1e00) holds the catalog's offset at
    # +48; point it at the boot sector's block, in a copy.
    head = bytearray(RangeFile(image, voloff).read(0x2000))
    struct.pack_into("<Q", head, 0x1e00 + 48, 0x4000)

    class Patched(RangeFile):
        def read(self, size=-1):
            pos = self.get_offset()
            data = RangeFile.read(self, size)
            if pos < len(head):
                n = min(len(data), len(head) - pos)
                data = bytes(head[pos:pos + n]) + data[n:]
            return data

    try:
        v = pyvss.Volume(Patched(image, voloff, vol.size))
        bad("hostile catalog offset: opened with %d snapshots" % len(v))
    except pyvss.Error as e:
        check(e.code == pyvss.ECORRUPT and "offset" in str(e),
              "hostile catalog offset: pyvss.Error ECORRUPT naming the "
              "offset: %s" % e)


def check_fileobj_error(image, vol, voloff):
    """A file object whose read fails: pyvss.Error (EIO, the library's
    message) with the file object's own exception as its __cause__."""
    class Failing(RangeFile):
        reads = 0

        def read(self, size=-1):
            Failing.reads += 1
            if Failing.reads > 60:
                raise OSError(5, "segment 2 of the image is missing")
            return RangeFile.read(self, size)

    snap = pyvss.Volume(Failing(image, voloff, vol.size)).open_snapshot(1)
    try:
        for off in range(0, snap.size, 1 << 20):
            snap.read_at(off, 1 << 20)
        bad("a file object whose read fails: no error")
    except pyvss.Error as e:
        check(e.code == pyvss.EIO and "offset" in str(e) and
              "segment 2" in str(e.__cause__),
              "a file object whose read fails: pyvss.Error EIO (%s), caused "
              "by its exception (%r)" % (e, e.__cause__))


def check_fileobj_errors_threads(image, vol, voloff):
    """Two sources over failing file objects, read by two threads at once,
    1000 failing reads each (three times): every pyvss.Error is caused by its own file
    object's exception (the exception waits in a per-thread slot: one
    shared by all threads hands a thread the other's, or none)."""
    go = threading.Barrier(2)
    causes = {}

    class Failing(RangeFile):
        def __init__(self, name):
            RangeFile.__init__(self, image, voloff, vol.size)
            self.name = name
            self.failing = False

        def read(self, size=-1):
            if self.failing:
                raise OSError(5, "%s: its segment 2 is missing" % self.name)
            return RangeFile.read(self, size)

    def work(name):
        f = Failing(name)
        snap = pyvss.Volume(f).open_snapshot(1)
        f.failing = True
        go.wait()
        mine = causes[name] = []
        for i in range(1000):
            try:
                snap.read_at((i * 7919 << 12) % snap.size, 4096)
                mine.append("no error")
            except pyvss.Error as e:
                mine.append(str(e.__cause__))

    # switch threads as often as the interpreter can: a slot shared by the
    # threads is then overwritten between one's failure and its raise
    # (three rounds: a round of a shared slot passes now and then)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    wrong, counts = [], []
    for rnd in range(3):
        ts = [threading.Thread(target=work, args=(n,)) for n in ("A", "B")]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        wrong += ["%s got %r" % (n, c) for n in "AB"
                  for c in causes.get(n, [])
                  if not c.startswith("[Errno 5] %s:" % n)]
        counts += [len(causes.pop(n, ())) for n in "AB"]
    sys.setswitchinterval(interval)
    check(not wrong and counts == [1000] * 6,
          "two threads, two failing file objects, 3 x 1000 failed reads each: "
          "every pyvss.Error is caused by its own file object's exception"
          "%s" % "; ".join([""] + wrong[:3]))


def check_fileobj_error_audit(image, vol, voloff):
    """An audit over a file object whose reads fail: the audit counts the
    unreadable files as problems, and the file object's exceptions, which
    no pyvss.Error ever carries there (the audit runs in its iterator's
    thread, and in the library's workers), do not outlive the audit: they
    held their tracebacks' frames and the file object (one per thread and
    audit, in a C thread-local)."""
    marker = "pyvss audit test: segment 2 is missing"

    class Failing(RangeFile):
        failing = False

        def read(self, size=-1):
            if Failing.failing:
                raise OSError(5, marker)
            return RangeFile.read(self, size)

    problems = []
    for threads in (1, 4, 4):
        Failing.failing = False
        v = pyvss.Volume(Failing(image, voloff, vol.size))
        Failing.failing = True
        a = v.audit(threads=threads)
        list(a.run(on_message=lambda m: None))
        problems.append(a.problems)
        del a, v
    gc.collect()
    alive = sum(1 for o in gc.get_objects()
                if isinstance(o, OSError) and marker in str(o))
    check(all(p > 0 for p in problems) and alive == 0,
          "3 audits (1, 4, 4 threads) over a failing file object: problems "
          "%s, none of its exceptions alive after them (%d)" %
          (problems, alive))


def check_seek(name, f, size, raises):
    """The pyvshadow seek/read rules on a file object f of `size` bytes."""
    probs = []
    f.seek(100)
    for args in ((-101, 1), (-1, 0), (0, 3), (-size - 1, 2)):
        try:
            f.seek(*args)
            probs.append("seek%s accepted" % (args,))
        except raises:
            pass
        pos = f.get_offset() if hasattr(f, "get_offset") else f.tell()
        if pos != 100:
            probs.append("seek%s moved the offset to %d" % (args, pos))
    f.seek(size + 4096)
    if f.read(10) != b"":
        probs.append("read past the end gave bytes")
    f.seek(size - 100)
    if len(f.read(None)) != 100:
        probs.append("read(None) near the end")
    f.seek(-10, 2)
    tail = f.read(100)
    if len(tail) != 10:
        probs.append("read over the end: %d bytes" % len(tail))
    check(not probs, "%s: negative seeks and unknown whence raise OSError, "
          "offset unchanged; past the end reads b''; read(None) to the "
          "end%s" % (name, "; ".join([""] + probs)))


class DfvfsLikeFile(object):
    """Only what dfVFS's file objects are sure to have: read(size),
    seek(offset, whence), get_offset() (no tell, no get_size)."""

    def __init__(self, *args):
        self._f = RangeFile(*args)
        self.read = self._f.read
        self.seek = self._f.seek
        self.get_offset = self._f.get_offset


def check_shim(image, vol, voloff):
    v = shim.volume()
    v.open_file_object(DfvfsLikeFile(image, voloff, vol.size))
    n = v.number_of_stores
    s = v.get_store(n - 1)
    check_seek("pyvshadow shim store %d" % (n - 1), s, s.volume_size, OSError)
    newest = vol.open_snapshot(n)
    probs = []
    for off in (0, 12345, s.volume_size // 2):
        s.seek(off)
        if s.read(BS) != newest.read_at(off, BS) or s.get_offset() != off + BS:
            probs.append("read at %d" % off)
    ids = [v.get_store(i).identifier for i in range(n)]
    if ids != [vol.snapshot_info(k).store_guid for k in range(1, n + 1)] or \
            any(i != i.lower() for i in ids):
        probs.append("store order or identifiers")
    if v.get_store(0).get_creation_time_as_integer() != \
            vol.snapshot_info(1).creation_filetime:
        probs.append("creation time")
    try:
        v.get_store(n)
        probs.append("get_store(%d) accepted" % n)
    except IOError:
        pass
    check(not probs, "pyvshadow shim over a file object with only read, "
          "seek and get_offset (as dfVFS's): %d stores, 0 = oldest, lowercase "
          "identifiers, reads = the native snapshot's%s" %
          (n, "; ".join([""] + probs)))
    v.close()


def parallel(fn, jobs, threads=8):
    """Run fn over jobs from `threads` threads; results in job order."""
    out = [None] * len(jobs)
    errors = []

    def work(t):
        try:
            for i in range(t, len(jobs), threads):
                out[i] = fn(jobs[i])
        except Exception as e:  # noqa: BLE001 (reported below)
            errors.append(e)
    ts = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return out, errors


def digest(data):
    return hashlib.sha256(data).hexdigest()


def check_threads(image, vol, voloff):
    rng = random.Random(3)
    snap = vol.open_snapshot(1)
    jobs = [rng.randrange(0, snap.size - 65536) for _ in range(400)]
    want = [digest(snap.read_at(o, 65536)) for o in jobs]
    got, err = parallel(lambda o: digest(snap.read_at(o, 65536)), jobs)
    check(got == want and not err, "8 threads reading one Snapshot (400 "
          "reads of 64 KiB): the bytes one thread reads%s" %
          ("" if not err else ": %s" % err[0]))
    fs = snap.open_fs()
    f = fs.open("/$MFT")
    jobs = [rng.randrange(0, f.size - 4096) for _ in range(400)]
    want = [digest(f.read_at(o, 4096)) for o in jobs]
    got, err = parallel(lambda o: digest(f.read_at(o, 4096)), jobs)
    check(got == want and not err, "8 threads reading one File ($MFT, 400 "
          "reads)%s" % ("" if not err else ": %s" % err[0]))
    # A volume read through a Python file object: the callbacks take the
    # GIL back from the threads reading with it released.
    fvol = pyvss.Volume(RangeFile(image, voloff, vol.size))
    fsnap = fvol.open_snapshot(1)
    jobs = [rng.randrange(0, snap.size - 65536) for _ in range(200)]
    want = [digest(snap.read_at(o, 65536)) for o in jobs]
    got, err = parallel(lambda o: digest(fsnap.read_at(o, 65536)), jobs)
    check(got == want and not err, "8 threads reading a snapshot of a "
          "volume opened from a Python file object%s" %
          ("" if not err else ": %s" % err[0]))
    # close() while others read: their reads finish, then raise
    # ValueError; the handle is freed by the last reader out.
    victim = vol.open_snapshot(1)
    started = threading.Barrier(5)

    def reader(_):
        started.wait()
        for _ in range(100000):
            try:
                victim.read_at(rng.randrange(0, victim.size - BS), BS)
            except ValueError:
                return "closed"
        return "never closed"
    out = {}
    t = threading.Thread(target=lambda: out.update(
        zip(("res", "errs"), parallel(reader, list(range(4)), threads=4))))
    t.start()
    started.wait()
    victim.close()
    t.join()
    check(not out["errs"] and out["res"] == ["closed"] * 4 and victim.closed,
          "close() while 4 threads read: each then gets ValueError, no "
          "crash%s" % ("" if not out["errs"] else ": %s" % out["errs"][0]))


def rss_kib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def cycle(image):
    vol = pyvss.open(image)
    s = vol.open_snapshot(1)
    s.read_at(0, 65536)
    list(s.map(0, 1 << 24))
    fs = s.open_fs()
    with fs.open("/$MFT") as f:
        f.read(4096)
        f.provenance()
    fs.listdir("/")
    s.close()
    try:
        vol.open_snapshot(999)
    except pyvss.Error:
        pass


def check_leaks(image):
    for _ in range(30):
        cycle(image)
    tracemalloc.start()
    rss0 = rss_kib()
    snap0 = tracemalloc.take_snapshot()
    for _ in range(1000):
        cycle(image)
    snap1 = tracemalloc.take_snapshot()
    rss1 = rss_kib()
    grown = sum(d.size_diff for d in snap1.compare_to(snap0, "filename"))
    tracemalloc.stop()
    # Under AddressSanitizer freed memory sits in its quarantine: RSS
    # says nothing there (the C side is checked by the sanitizer itself).
    asan = "asan" in os.environ.get("LD_PRELOAD", "")
    check(grown < 64 * 1024 and (asan or rss1 - rss0 < 8 * 1024),
          "300 open/read/map/fs/provenance/close cycles: Python heap grew "
          "%d bytes (bound 64 KiB), RSS %d KiB (bound 8 MiB%s)" %
          (grown, rss1 - rss0, ", not judged under ASan" if asan else ""))


def main():
    image = sys.argv[1]
    vol = pyvss.open(image)
    # The volume's offset in the image, for the file-object views.
    disk = pyvss.open_image(image)
    voloff = [p.offset for p in disk.partitions() if p.size == vol.size][0]
    check_errors(image, vol, voloff)
    check_fileobj_error(image, vol, voloff)
    check_fileobj_errors_threads(image, vol, voloff)
    check_fileobj_error_audit(image, vol, voloff)
    check_seek("Snapshot", vol.open_snapshot(1), vol.open_snapshot(1).size,
               OSError)
    with vol.open_snapshot(1).open_fs().open("/$MFT") as f:
        check_seek("File", f, f.size, OSError)
    check(isinstance(vol.open_snapshot(1), io.RawIOBase) and
          io.BufferedReader(vol.open_snapshot(1)).read(3) == b"\xebR\x90",
          "Snapshot is an io.RawIOBase: io.BufferedReader reads through it")
    check_shim(image, vol, voloff)
    check_threads(image, vol, voloff)
    check_leaks(image)
    return finish()


if __name__ == "__main__":
    sys.exit(main())

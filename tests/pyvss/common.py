"""Shared by the pyvss tests (tests/test_pyvss.sh): the ok/bad counters
with the suite's "N passed, N failed" summary, and a file-like object over
a byte range of an image (what dfVFS hands pyvshadow: read, seek,
get_offset)."""
import json
import os

PASS = FAIL = 0


def ok(msg):
    global PASS
    PASS += 1
    print("ok   " + msg)


def bad(msg):
    global FAIL
    FAIL += 1
    print("FAIL " + msg)


def check(cond, msg):
    (ok if cond else bad)(msg)


def manifest_source(path):
    """A generator manifest, its source volume's offset and the scenario's
    images, the source's first (as pyvss.open and vssinfo take them):
    (m, offset, images)."""
    m = json.load(open(path))
    base = os.path.dirname(path)
    images = [os.path.join(base, i["path"]) for i in m["images"]]
    src = [v for v in m["volumes"] if v["role"] == "source"][0]
    first = images[src["image"]]
    return m, src["offset"], [first] + [p for p in images if p != first]


def open_manifest(path):
    """The manifest and its source volume opened with pyvss: (m, vol)."""
    import pyvss
    m, offset, images = manifest_source(path)
    return m, pyvss.open(*images, offset=offset)


def finish():
    print("%d passed, %d failed" % (PASS, FAIL))
    return 1 if FAIL else 0


class RangeFile(object):
    """Bytes [offset, offset+size) of a file, opened read-only, with the
    file-object methods dfVFS's objects have (read, seek, get_offset,
    get_size) plus tell."""

    def __init__(self, path, offset=0, size=None):
        self._f = open(path, "rb")
        self._base = offset
        self._size = (os.fstat(self._f.fileno()).st_size - offset
                      if size is None else size)
        self._pos = 0

    def read(self, size=-1):
        left = max(0, self._size - self._pos)
        n = left if size is None or size < 0 else min(size, left)
        data = os.pread(self._f.fileno(), n, self._base + self._pos)
        self._pos += len(data)
        return data

    def seek(self, offset, whence=0):
        base = {0: 0, 1: self._pos, 2: self._size}[whence]
        if base + offset < 0:
            raise IOError("negative seek")
        self._pos = base + offset
        return self._pos

    def get_offset(self):
        return self._pos

    tell = get_offset

    def get_size(self):
        return self._size

    def close(self):
        self._f.close()

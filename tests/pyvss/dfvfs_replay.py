#!/usr/bin/python3
"""dfVFS's use of pyvshadow, replayed against pyvss.pyvshadow (issue 15,
point 2). dfVFS (log2timeline/dfvfs) is not packaged in Debian bookworm,
so it cannot run here; this test makes the calls its VSS back end makes,
in its order, with a file object shaped like dfVFS's (read(size),
seek(offset, whence) returning None, get_offset(), get_size(); no tell()):

  dfvfs/dependencies.py     int(pyvshadow.get_version()) >= 20160109
  vfs/vshadow_file_system   volume(); volume.open_file_object(file_object);
                            volume.number_of_stores; volume.get_store(i);
                            volume.close(), then file_object.close()
  vfs/vshadow_directory     /vss1../vssN for range(volume.number_of_stores)
  vfs/vshadow_file_entry    store.get_creation_time_as_integer() (a FILETIME
                            for dfdatetime), store.volume_size (the entry's
                            size), not store.has_in_volume_data()
  volume/vshadow_volume_system  store.identifier, .copy_identifier,
                            .copy_set_identifier (lowercase GUID strings),
                            get_creation_time_as_integer(), volume_size
  file_io/vshadow_file_io   has_in_volume_data() before use, else IOError;
                            store.read(size) (None: to the end),
                            store.seek(offset, whence), store.get_offset(),
                            store.volume_size (get_size)

    dfvfs_replay.py IMAGE...

Every image's volumes with snapshots (found by pyvss) go through the
sequence. The shim's bytes must equal pyvss's own reads (Snapshot.read_at);
with python3-libvshadow installed, the same sequence runs against it and
must agree where the semantics agree (docs/python.md): the metadata of
every store both read alike (same copy identifier: libvshadow pairs some
stores by position, docs/format.md), offsets after every seek, errors of
bad seeks, and the bytes of reads whose every block libvss classes store or
live (zero/stale blocks are the documented differences, which
vshadow_diff.py checks block by block).
"""
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import bad, check, finish, ok  # noqa: E402

import pyvss  # noqa: E402
import pyvss.pyvshadow as shim  # noqa: E402

try:
    import pyvshadow as libvshadow
except ImportError:
    libvshadow = None

BS = 16384
DFVFS_MIN_PYVSHADOW = 20160109   # dfVFS's dependencies.ini


class DfvfsFileObject(object):
    """What dfVFS hands pyvshadow: a file-io object over the volume's
    bytes with dfVFS's method set; seek returns None, as dfVFS's do."""

    def __init__(self, path, offset, size):
        self._fd = os.open(path, os.O_RDONLY)
        self._base, self._size, self._pos = offset, size, 0
        self.closed = False

    def read(self, size=None):
        left = max(0, self._size - self._pos)
        n = left if size is None else min(size, left)
        data = os.pread(self._fd, n, self._base + self._pos)
        self._pos += len(data)
        return data

    def seek(self, offset, whence=os.SEEK_SET):
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._pos,
                os.SEEK_END: self._size}[whence]
        if base + offset < 0:
            raise IOError("Invalid offset value less than zero.")
        self._pos = base + offset

    def get_offset(self):
        return self._pos

    def get_size(self):
        return self._size

    def close(self):
        os.close(self._fd)
        self.closed = True


def open_file_system(module, image, offset, size):
    """VShadowFileSystem._Open: the volume over the parent's file object."""
    fo = DfvfsFileObject(image, offset, size)
    vol = module.volume()
    vol.open_file_object(fo)
    return vol, fo


def entries(vol):
    """What dfVFS's volume system and file entries read of every store."""
    out = []
    for i in range(vol.number_of_stores):       # VShadowDirectory
        st = vol.get_store(i)                    # GetVShadowStoreByPathSpec
        out.append({
            "location": "/vss%d" % (i + 1),
            "identifier": st.identifier,
            "copy_identifier": st.copy_identifier,
            "copy_set_identifier": st.copy_set_identifier,
            "creation_time": st.get_creation_time_as_integer(),
            "size": st.volume_size,
            "external": not st.has_in_volume_data(),
        })
    return out


def seek_script(size, seed):
    """The file-io calls of a file system reader on top of the store:
    (whence, offset, read size) triples; read size None = read(None)."""
    rnd = random.Random(seed)
    ops = [(os.SEEK_SET, 0, 512), (os.SEEK_SET, 0x1e00, 512),
           (os.SEEK_CUR, 100, 4096), (os.SEEK_SET, BS - 100, 300),
           (os.SEEK_END, -1000, None), (os.SEEK_END, 0, 10),
           (os.SEEK_END, 4096, 4096), (os.SEEK_SET, size - 10, 4096),
           (os.SEEK_SET, 0, 0)]
    for _ in range(40):
        ops.append((os.SEEK_SET, rnd.randrange(0, size),
                    rnd.choice([1, 512, 4096, 65536, 3 * BS + 7])))
    return ops


def replay_reads(st, ops, none_as_rest=False):
    """seek/get_offset/read as VShadowFile does: (offset, bytes) each.
    none_as_rest: read(None) as read(bytes left) (Debian's pyvshadow
    20190323 raises TypeError for None; later releases read to the end)."""
    out = []
    for whence, off, n in ops:
        st.seek(off, whence)
        pos = st.get_offset()
        if n is None and none_as_rest:
            n = max(0, st.volume_size - pos)
        out.append((pos, st.read(n)))
        out.append((st.get_offset(), None))
    return out


def bad_seeks(st):
    """A negative result and an unknown whence: OSError, offset kept."""
    st.seek(1234, os.SEEK_SET)
    res = []
    for off, whence in ((-1, os.SEEK_SET), (-1235, os.SEEK_CUR),
                        (-st.volume_size - 1, os.SEEK_END), (0, 7)):
        try:
            st.seek(off, whence)
            res.append("no error")
        except OSError:
            res.append("OSError")
        except Exception as e:  # noqa: BLE001 (the type is what is tested)
            res.append(type(e).__name__)
        res.append(st.get_offset())
    return res


def all_store_or_live(runs, off, n):
    lo, hi = off, off + n
    return all(cls in ("store", "live") for (s, e, cls) in runs
               if s < hi and e > lo)


def replay_volume(image, part, native_vol, name):
    vol, fo = open_file_system(shim, image, part.offset, part.size)
    mine = entries(vol)
    check(len(mine) == len(native_vol),
          "%s: number_of_stores %d = pyvss's snapshots" % (name, len(mine)))
    for i, e in enumerate(mine):
        info = native_vol.snapshot_info(i + 1)
        want = {"identifier": info.store_guid,
                "copy_identifier": info.shadow_copy_id,
                "copy_set_identifier": info.shadow_copy_set_id,
                "creation_time": info.creation_filetime,
                "size": info.volume_size}
        got = {k: e[k] for k in want}
        guids = (e["identifier"], e["copy_identifier"],
                 e["copy_set_identifier"])
        # A redirected store's header (copy and set IDs) is on its storage
        # volume: None while that is not attached, as in libvshadow.
        check(got == want and all(g is None or g == g.lower() for g in guids)
              and (e["external"] or None not in guids),
              "%s %s: identifiers (lowercase), FILETIME, volume_size as "
              "pyvss's snapshot %d" % (name, e["location"], i + 1))
    other = None
    if libvshadow is not None:
        other, ofo = open_file_system(libvshadow, image, part.offset,
                                      part.size)
        theirs = entries(other)
        check(len(theirs) == len(mine), "%s: number_of_stores %d, "
              "libvshadow %d" % (name, len(mine), len(theirs)))
    compared = 0
    for i, e in enumerate(mine):
        st = vol.get_store(i)
        if e["external"]:
            # VShadowFile._Open refuses such a store with IOError; the shim
            # says so only when libvss cannot reach the store's storage.
            check(other is None or theirs[i]["external"],
                  "%s %s: has_in_volume_data() False (libvshadow too): dfVFS "
                  "refuses the store (its storage is not on this volume)"
                  % (name, e["location"]))
            continue
        snap = native_vol.open_snapshot(i + 1)
        ops = seek_script(e["size"], i)
        got = replay_reads(st, ops)
        truth = all(data == snap.read_at(pos, len(data) if ops[j // 2][2] is None
                                         else ops[j // 2][2])
                    for j, (pos, data) in enumerate(got) if data is not None)
        check(truth, "%s %s: %d seek/get_offset/read calls give pyvss's "
              "bytes" % (name, e["location"], len(ops)))
        past = [data for (pos, data) in got
                if data is not None and pos >= e["size"]]
        check(past and all(d == b"" for d in past),
              "%s %s: reads at or past the end return b\"\" (%d)"
              % (name, e["location"], len(past)))
        check(bad_seeks(st) == ["OSError", 1234] * 4,
              "%s %s: negative or unknown-whence seeks raise OSError and "
              "keep the offset" % (name, e["location"]))
        if other is None:
            continue
        t = theirs[i]
        if t["copy_identifier"] != e["copy_identifier"] or t["external"]:
            print("     %s %s: libvshadow reads another store or none "
                  "(copy id %s, in-volume %s): not compared (docs/format.md)"
                  % (name, e["location"], t["copy_identifier"],
                     not t["external"]))
            continue
        check(t == e, "%s %s: every attribute dfVFS reads equals "
              "libvshadow's" % (name, e["location"]))
        ost = other.get_store(i)
        theirs_reads = replay_reads(ost, ops, none_as_rest=True)
        check([p for p, _ in theirs_reads] == [p for p, _ in got],
              "%s %s: offsets after every seek and read equal libvshadow's"
              % (name, e["location"]))
        check(bad_seeks(ost) == bad_seeks(st),
              "%s %s: bad seeks as libvshadow: %s"
              % (name, e["location"], bad_seeks(ost)))
        runs = [(r.offset, r.offset + r.length, r.cls) for r in snap.map()]
        n = same = 0
        for (pos, a), (_, b) in zip(got, theirs_reads):
            if a is None or not a or not all_store_or_live(runs, pos, len(a)):
                continue
            n += 1
            same += a == b
        check(n > 0 and same == n, "%s %s: %d/%d reads of store/live "
              "blocks equal libvshadow's" % (name, e["location"], same, n))
        compared += 1
    # VShadowFileSystem._Close
    vol.close()
    fo.close()
    if other is not None:
        other.close()
        ofo.close()
    return compared


def main():
    compared = 0
    v = shim.get_version()
    check(v.isdigit() and int(v) >= DFVFS_MIN_PYVSHADOW,
          "dfVFS's and plaso's dependency check: int(get_version()) = %s "
          ">= %d" % (v, DFVFS_MIN_PYVSHADOW))
    for image in sys.argv[1:]:
        disk = pyvss.open_image(image)
        for part in disk.partitions():
            try:
                native = pyvss.Volume(disk.range(part.offset, part.size))
            except pyvss.Error:
                continue
            if not len(native):
                continue
            name = "%s@%d" % (os.path.basename(image), part.offset)
            compared += replay_volume(image, part, native, name)
    if libvshadow is None:
        print("skip the comparison with libvshadow: python3-libvshadow is "
              "not installed")
    else:
        check(compared > 0, "%d stores compared with libvshadow" % compared)
    return finish()


if __name__ == "__main__":
    sys.exit(main())

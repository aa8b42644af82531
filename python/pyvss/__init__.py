"""pyvss: Windows Volume Shadow Copies from disk images, through libvss.

The types come from the C core (pyvss._pyvss, over libvss's public API);
this file adds pyvss.open, the shortest way to a volume, and
pyvss.pyvshadow, a drop-in for libvshadow's binding (docs/python.md).
"""
import io
import os
import queue
import threading

from ._pyvss import (  # noqa: F401  (the public API)
    Error, Source, Volume, Snapshot, FS, File, VolumeSet, MapIterator,
    SnapshotInfo, Run, Partition, Stat, Entry, Stream, WalkEntry, Extent,
    LostRange, Provenance, VolumeSetEntry, Attr, open_image,
    filetime_to_datetime, filetime_format, parse_offset, LIBVSS_VERSION,
    BLOCK_SIZE, CATALOG_FLAG_OFFLINE, CATALOG_FLAG_UNUSED_ZERO,
    EXTENT_SPARSE, EXTENT_RESIDENT, EXTENT_UNINIT, EXTENT_COMPRESSED,
    EINVAL, EIO, ECORRUPT, ENOMEM, ENOTFOUND, EUNSUPPORTED, ENOSTORAGE)
from ._pyvss import History, Version, VersionStream, Recovered  # noqa: F401
from ._pyvss import (  # noqa: F401
    Audit, AuditFile, AuditRange, AuditResult, DiffEntry)

# Snapshots and files are binary file objects: io.BufferedReader and
# friends accept them, and isinstance(x, io.RawIOBase) says so.
io.RawIOBase.register(Snapshot)
io.RawIOBase.register(File)
io.RawIOBase.register(Recovered)


class SourceFile(io.RawIOBase):
    """A Source (an image, a partition: Source.range) as a read-only
    binary file object, with the get_offset()/get_size() that pyvshadow's
    callers use too: hand a partition to pyvss.pyvshadow, pytsk3, ..."""

    def __init__(self, source):
        super().__init__()
        self.source = source
        self._pos = 0

    def readable(self):
        return True

    def seekable(self):
        return True

    def readinto(self, buf):
        data = self.source.read_at(self._pos, len(buf))
        buf[:len(data)] = data
        self._pos += len(data)
        return len(data)

    def seek(self, offset, whence=0):
        base = {0: 0, 1: self._pos, 2: self.source.size}.get(whence)
        if base is None or base + offset < 0:
            raise OSError("seek(%d, %r): out of range" % (offset, whence))
        self._pos = base + offset
        return self._pos

    def tell(self):
        return self._pos

    get_offset = tell

    def get_size(self):
        return self.source.size


def open(image, *storage, offset=None, backing=None):
    """The volume with shadow copies of a disk image.

    image: a path (any container: raw, split, E01, qcow2, VHD, VHDX) or a
    file-like object (read, seek; tell or get_offset) holding a disk or a
    volume. storage: further images that may hold redirected storage
    (paths only). offset: the volume's byte offset when the image holds
    several volumes with shadow copies (or a string such as '63s').
    backing: the backing file / parent of a qcow2 / differencing VHD(X).
    Raises pyvss.Error when no volume (or several) has shadow copies.
    """
    if isinstance(offset, str):
        offset = parse_offset(offset)
    if isinstance(image, (str, bytes, os.PathLike)):
        volumes = VolumeSet([image, *storage], backing=backing, offset=offset)
        entry = volumes[volumes.pick(offset)]
        if entry.volume is None:
            raise Error(entry.error or "the volume did not open")
        return entry.volume
    if storage or backing:
        raise ValueError("storage and backing need the image as a path")
    return _open_fileobj(Source(image), offset)


def _open_fileobj(disk, offset):
    # The volumes of the disk (or the bare volume), as VolumeSet.pick
    # chooses: the one at offset, else the only one with snapshots.
    found = []
    for part in disk.partitions():
        if offset is not None and part.offset != offset:
            continue
        volume = Volume(disk.range(part.offset, part.size))
        if offset is not None or len(volume):
            found.append((part, volume))
    if offset is None and not found:
        raise Error("no volume with shadow copies in this image")
    if offset is not None and not found:
        if offset >= disk.size:
            raise Error("offset %d is past the image's end" % offset)
        return Volume(disk.range(offset))
    if len(found) > 1:
        raise Error("several volumes have shadow copies (offsets %s): give "
                    "offset=" % ", ".join(str(p.offset) for p, _ in found))
    return found[0][1]


def _iterate(start, *args, **kw):
    """An iterator over what start(*args, callback, **kw) hands its
    callback (Audit._run, Audit._diff): the library runs in a thread of
    its own and the results cross a bounded queue, so they are used while
    the audit goes on; leaving the loop early cancels the run. The run's
    exception, if any, is raised at the end of the loop."""
    items = queue.Queue(maxsize=64)
    stop = threading.Event()
    end = object()

    def deliver(item):
        while not stop.is_set():
            try:
                items.put(item, timeout=0.1)
                return False
            except queue.Full:
                pass
        return True           # the consumer left: cancel

    def work():
        try:
            start(*args, deliver, **kw)
            items.put((end, None))
        except BaseException as e:  # noqa: BLE001 (re-raised below)
            items.put((end, e))

    worker = threading.Thread(target=work, name="pyvss-audit", daemon=True)
    worker.start()
    try:
        while True:
            item = items.get()
            if type(item) is tuple and len(item) == 2 and item[0] is end:
                if item[1] is not None:
                    raise item[1]
                return
            yield item
    finally:
        stop.set()
        while worker.is_alive():
            try:
                items.get(timeout=0.1)
            except queue.Empty:
                pass
        worker.join()


from . import pyvshadow  # noqa: E402,F401  (pyvss.pyvshadow)

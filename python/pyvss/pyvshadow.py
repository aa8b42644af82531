"""pyvss.pyvshadow: libvshadow's Python binding (pyvshadow), as dfVFS and
plaso use it, over libvss. `sys.modules["pyvshadow"] = pyvss.pyvshadow`
lets them run unchanged.

Reads return what Windows returns for the snapshot (libvss's semantics:
catalog flag 0x400, redirected storage, the shadow copy files' blocks), not
libvshadow's bytes; docs/format.md "Where readers differ" lists where the
two differ. Store index 0 is the oldest snapshot, as in pyvshadow.
"""
from . import _pyvss

__all__ = ["get_version", "check_volume_signature",
           "check_volume_signature_file_object", "open", "open_file_object",
           "volume", "store"]

# The VSS identifier at byte 0x1e00 of a volume with shadow copies.
_VSS_SIGNATURE = bytes.fromhex("6b87083876c1484eb7ae04046e6cc752")
_VSS_HEADER_OFFSET = 0x1e00


# pyvshadow's get_version() is libvshadow's release date, and dfVFS and
# plaso check it as an integer (int(get_version()) >= 20160109 in their
# dependencies.ini): the shim answers with the libvshadow release whose
# pyvshadow API it implements and is tested against (Debian bookworm's
# python3-libvshadow). libvss's own version is pyvss.LIBVSS_VERSION.
PYVSHADOW_API_VERSION = "20190323"


def get_version():
    return PYVSHADOW_API_VERSION


def check_volume_signature(filename):
    """True when the file holds a volume with a VSS header."""
    return _has_signature(_pyvss.open_image(filename))


def check_volume_signature_file_object(file_object):
    return _has_signature(_pyvss.Source(file_object))


def _has_signature(source):
    return source.read_at(_VSS_HEADER_OFFSET, 16) == _VSS_SIGNATURE


def open(filename, mode="r"):  # noqa: A001 (pyvshadow's name)
    v = volume()
    v.open(filename, mode)
    return v


def open_file_object(file_object, mode="r"):
    v = volume()
    v.open_file_object(file_object, mode)
    return v


def _check_mode(mode):
    if mode != "r":
        raise ValueError("unsupported mode: %r (read-only)" % (mode,))


class volume(object):  # noqa: N801 (pyvshadow's name)
    """A volume with shadow copies (pyvshadow.volume)."""

    def __init__(self):
        self._volume = None

    def open(self, filename, mode="r"):
        _check_mode(mode)
        self._set(_pyvss.Volume(_pyvss.open_image(filename)))

    def open_file_object(self, file_object, mode="r"):
        """file_object: read(size), seek(offset, whence) and get_offset()
        or tell() (dfVFS's file objects, io objects)."""
        _check_mode(mode)
        self._set(_pyvss.Volume(_pyvss.Source(file_object)))

    def _set(self, v):
        if self._volume is not None:
            raise IOError("volume already open")
        self._volume = v
        self._stores = [None] * len(v)

    def _open(self):
        if self._volume is None:
            raise IOError("volume not open")
        return self._volume

    def close(self):
        if self._volume is not None:
            for s in self._stores:
                if s is not None:
                    s.close()
        self._volume = None

    def get_number_of_stores(self):
        return len(self._open())

    number_of_stores = property(get_number_of_stores)

    def get_store(self, store_index):
        v = self._open()
        if not 0 <= store_index < len(v):
            raise IOError("invalid store index: %d" % store_index)
        if self._stores[store_index] is None:
            self._stores[store_index] = store(v, store_index + 1)
        return self._stores[store_index]

    def get_stores(self):
        return [self.get_store(i) for i in range(self.get_number_of_stores())]

    stores = property(get_stores)


class store(object):  # noqa: N801 (pyvshadow's name)
    """One shadow copy (pyvshadow.store): a file-like object over the
    snapshot's bytes as Windows shows them."""

    def __init__(self, vss_volume, index):
        self._volume = vss_volume
        self._index = index
        self._info = vss_volume.snapshot_info(index)
        self._snapshot = None
        self._offset = 0

    def _snap(self):
        # Opened on the first read: opening reads the store's block list.
        if self._snapshot is None:
            self._snapshot = self._volume.open_snapshot(self._index)
        return self._snapshot

    def close(self):
        if self._snapshot is not None:
            self._snapshot.close()
            self._snapshot = None

    # -- reading ------------------------------------------------------------
    def read_buffer(self, size=None):
        """size None (or omitted): everything up to the end; b"" at or
        past the end."""
        if size is not None and size < 0:
            raise ValueError("invalid size: %d" % size)
        s = self._snap()
        data = s.read_at(self._offset, s.size if size is None else size)
        self._offset += len(data)
        return data

    read = read_buffer

    def read_buffer_at_offset(self, size, offset):
        if size < 0 or offset < 0:
            raise ValueError("invalid size or offset")
        return self._snap().read_at(offset, size)

    read_at_offset = read_buffer_at_offset

    def seek_offset(self, offset, whence=0):
        """A negative result or an unknown whence raises OSError and
        leaves the offset as it was; past the end is allowed."""
        if whence == 0:
            new = offset
        elif whence == 1:
            new = self._offset + offset
        elif whence == 2:
            new = self.volume_size + offset
        else:
            raise IOError("unsupported whence: %r" % (whence,))
        if new < 0:
            raise IOError("invalid offset: %d" % new)
        self._offset = new

    seek = seek_offset

    def get_offset(self):
        return self._offset

    tell = get_offset

    # -- attributes -----------------------------------------------------------
    def get_size(self):
        return self._info.volume_size

    def get_volume_size(self):
        return self._info.volume_size

    volume_size = property(get_volume_size)
    size = property(get_size)

    def has_in_volume_data(self):
        """True when the store's data can be read from this volume (libvss
        reads redirected storage only with its storage volume attached)."""
        return self._info.storage_ready and self._info.store_error == 0

    def get_identifier(self):
        return self._info.store_guid

    def get_copy_identifier(self):
        return self._info.shadow_copy_id

    def get_copy_set_identifier(self):
        return self._info.shadow_copy_set_id

    identifier = property(get_identifier)
    copy_identifier = property(get_copy_identifier)
    copy_set_identifier = property(get_copy_set_identifier)

    def get_creation_time_as_integer(self):
        return self._info.creation_filetime

    def get_creation_time(self):
        """Naive datetime in UTC, as pyvshadow gives it."""
        t = self._info.creation_time
        return None if t is None else t.replace(tzinfo=None)

    creation_time = property(get_creation_time)

    def get_number_of_blocks(self):
        """Changed blocks in the store's block list (libvshadow's count)."""
        info = self._info
        if info.changed_blocks is None:
            self._volume.load_stores()
            info = self._info = self._volume.snapshot_info(self._index)
        return info.changed_blocks

    number_of_blocks = property(get_number_of_blocks)

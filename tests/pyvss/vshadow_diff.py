#!/usr/bin/python3
"""Differential test of pyvss.pyvshadow (libvss) against Debian's
python3-libvshadow (pyvshadow), an independent reader.

    vshadow_diff.py IMAGE...

For every volume with snapshots in each image (found by pyvss), both
modules open the volume from the same kind of file object (as dfVFS hands
it over) and must agree on the stores' metadata: count, order (0 = oldest),
identifiers, creation times, volume sizes. Then 16 KiB blocks are read
through both: every block holding store data, the blocks at every change
of provenance, the first 256, and a sample spread over the volume (about
SAMPLE blocks: CI time). Every block that differs must be a documented
semantic difference (docs/format.md "Where readers differ"), decided from
libvss's own provenance map (Snapshot.map), as tests/vshadow_diff.c does:
- zero/stale blocks (not in use with flag 0x400, the not-in-use answer of
  the newest store, a newer store's copy): explained;
- a block of the shadow copy files (reason diff-area) read through in an
  older snapshot, or any block of an older snapshot of a volume without
  flag 0x400: libvshadow reads these as Windows does, never explained;
- a block holding store or live data: never explained, except on a volume
  whose catalog also lists another volume's stores (it holds their
  redirected storage), where libvshadow pairs stores by position and reads
  the wrong one (its copy identifiers are that store's): there the block
  is explained only when libvshadow's bytes are what that pairing gives
  (wrong_store_bytes).
Redirected volumes: libvshadow cannot read their storage (documented);
pyvss must (storage paired by VolumeSet) and libvshadow must say it has no
in-volume data.
"""
import bisect
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import RangeFile, bad, check, finish, ok  # noqa: E402

import pyvss  # noqa: E402
import pyvss.pyvshadow as shim  # noqa: E402

BS = 16384
SAMPLE = int(os.environ.get("PYVSS_DIFF_SAMPLE", "1500"))


def volumes(images):
    """(image, entry, VolumeSet) of every volume with snapshots."""
    for img in images:
        others = [i for i in images if i != img]
        vs = pyvss.VolumeSet([img] + others)
        for i in range(len(vs)):
            e = vs[i]
            if e.image_index == 0 and e.volume is not None and len(e.volume):
                yield img, e, vs


def class_masks(snap):
    """Sorted runs of the snapshot's map (offset, cls, reason, store)."""
    return [(r.offset, r.offset + r.length, r.cls, r.reason, r.store_index)
            for r in snap.map()]


def block_runs(runs, starts, blk):
    lo, hi = blk * BS, (blk + 1) * BS
    i = max(0, bisect.bisect_right(starts, lo) - 1)
    out = []
    while i < len(runs) and runs[i][0] < hi:
        if runs[i][1] > lo:
            out.append(runs[i])
        i += 1
    return out


def sample_blocks(runs, nblocks):
    pick = set(range(min(256, nblocks)))
    stride = max(1, nblocks // SAMPLE)
    pick.update(range(stride // 2, nblocks, stride))
    for start, end, cls, _reason, _st in runs:
        b = start // BS
        pick.update(x for x in (b - 1, b, (end - 1) // BS) if 0 <= x < nblocks)
        if cls == "store":
            pick.update(range(b, min(nblocks, (end + BS - 1) // BS)))
    return sorted(pick)


def compare_metadata(name, mine, theirs, others):
    """Store by store. On a volume holding other volumes' storage,
    pyvshadow may pair a store with another volume's store information
    (documented): its copy (set) identifiers are then those of one of the
    other volumes' snapshots, and that is the only difference allowed."""
    n = theirs.number_of_stores
    same = mine.number_of_stores == n
    rows = []
    foreign = {(o.info.shadow_copy_id, o.info.shadow_copy_set_id)
               for o in others}
    wrong = 0
    for i in range(min(n, mine.number_of_stores)):
        a, b = mine.get_store(i), theirs.get_store(i)
        ra = [a.identifier, a.copy_identifier, a.copy_set_identifier,
              a.get_creation_time_as_integer(), a.volume_size]
        rb = [b.identifier, b.copy_identifier, b.copy_set_identifier,
              b.get_creation_time_as_integer(), b.volume_size]
        if ra != rb and (rb[1], rb[2]) in foreign and ra[1:3] != rb[1:3]:
            wrong += 1
            ra[1:3] = rb[1:3]
        if ra != rb:
            same = False
            rows.append("store %d: %s != pyvshadow %s" % (i, ra, rb))
    check(same, "%s: %d stores, identifiers, copy (set) identifiers, "
          "creation times and volume sizes as pyvshadow gives them%s%s"
          % (name, n, " (%d paired by pyvshadow with another volume's store "
                      "information)" % wrong if wrong else "",
             "".join("; " + r for r in rows[:3])))
    return same


def other_stores(vs, volume):
    """Snapshots of other volumes whose storage is on `volume`: libvshadow
    may read one of their stores for this volume's snapshot."""
    out = []
    for i in range(len(vs)):
        e = vs[i]
        v = e.volume
        if (v is not None and v.is_redirected and v.storage_ready and
                v.storage_guid == volume.guid and v.guid != volume.guid):
            out.extend(v.open_snapshot(k) for k in range(1, len(v) + 1))
    return out


def wrong_store_bytes(paired, volume, off, n):
    """What libvshadow returns when it pairs this volume's (only, newest)
    store with `paired`'s store information (another volume's snapshot, its
    store on this volume): that store's copy where its block list holds the
    block, zeros where its bitmap says not in use (libvshadow's newest-store
    rule), else this volume's live bytes."""
    runs = list(paired.map(off, n))
    if {r.cls for r in runs} == {"store"}:
        return paired.read_at(off, n)
    if {r.reason for r in runs} == {"not-in-use"}:
        return bytes(n)
    return volume.source.read_at(off, n)


def explain(mask, read_through, must_equal, theirs, wrong_pairing):
    """Why a block that differs may differ: "zero/stale", "wrong store",
    or what makes the difference unexplained. mask: the block's runs of
    libvss's map; theirs: pyvshadow's bytes; wrong_pairing(): the bytes
    pyvshadow's pairing with another volume's store gives (or False)."""
    classes = {r[2] for r in mask}
    if any(r[3] == "diff-area" for r in mask) and read_through:
        return "the shadow copy files, read through"
    if must_equal:
        return "an older snapshot without flag 0x400"
    if not classes & {"store", "live"}:
        return "zero/stale"
    if theirs == wrong_pairing():
        return "wrong store"
    return "classes %s" % sorted(classes)


def planted_difference_caught(volume, snap, runs, starts, count):
    """The test can fail: a store block whose pyvshadow bytes are altered
    by one byte must come out unexplained."""
    for start, end, cls, _r, _s in runs:
        if cls == "store":
            blk = start // BS
            data = bytearray(snap.read_at(blk * BS, BS))
            data[0] ^= 0xff
            why = explain(block_runs(runs, starts, blk),
                          snap.index < count, False, bytes(data),
                          lambda: False)
            return why not in ("zero/stale", "wrong store")
    return None


def diff_volume(img, entry, vs):
    base = os.path.basename(img)
    part = entry.partition
    name = "%s@%d" % (base, part.offset)
    volume = entry.volume
    mine = shim.volume()
    mine.open_file_object(RangeFile(img, part.offset, part.size))
    theirs = pyvshadow.volume()
    try:
        theirs.open_file_object(RangeFile(img, part.offset, part.size))
    except IOError as e:
        bad("%s: pyvshadow cannot open the volume: %s" % (name, e))
        return
    others = other_stores(vs, volume)
    if not compare_metadata(name, mine, theirs, others):
        return
    count = mine.number_of_stores
    if volume.is_redirected:
        # libvshadow: not supported; pyvss through the paired storage.
        readable = volume.storage_ready and all(
            len(volume.open_snapshot(k).read_at(0, BS)) == BS
            for k in range(1, count + 1))
        check(readable and not any(theirs.get_store(i).has_in_volume_data()
                                   for i in range(count)) and
              not any(mine.get_store(i).has_in_volume_data()
                      for i in range(count)),
              "%s: redirected storage: pyvss reads all %d snapshots with the "
              "storage volume paired; on the volume alone both say no store "
              "data is in the volume" % (name, count))
        return
    for i in range(count):
        k = i + 1
        info = volume.snapshot_info(k)
        # The other volume's snapshot whose store information pyvshadow
        # gave for this store (compare_metadata allowed it), if any.
        tid = (theirs.get_store(i).copy_identifier,
               theirs.get_store(i).copy_set_identifier)
        paired = next((o for o in others if tid != (info.shadow_copy_id,
                       info.shadow_copy_set_id) and
                       (o.info.shadow_copy_id, o.info.shadow_copy_set_id) == tid),
                      None)
        snap = volume.open_snapshot(k)
        ms, ts = mine.get_store(i), theirs.get_store(i)
        runs = class_masks(snap)
        starts = [r[0] for r in runs]
        nblocks = (snap.size + BS - 1) // BS
        read_through = k < count
        must_equal = read_through and not (
            info.catalog_flags & pyvss.CATALOG_FLAG_UNUSED_ZERO)
        same = explained = wrong_store = 0
        unexplained = []
        blocks = sample_blocks(runs, nblocks)
        for blk in blocks:
            off = blk * BS
            n = min(BS, snap.size - off)
            a = ms.read_buffer_at_offset(n, off)
            try:
                b = ts.read_buffer_at_offset(n, off)
            except IOError as e:
                unexplained.append("block %d: pyvshadow failed: %s" % (blk, e))
                continue
            if a == b:
                same += 1
                continue
            why = explain(block_runs(runs, starts, blk), read_through,
                          must_equal, b,
                          lambda: paired is not None and wrong_store_bytes(
                              paired, volume, off, n))
            if why == "zero/stale":
                explained += 1
                continue
            if why == "wrong store":
                wrong_store += 1
                continue
            unexplained.append("block %d (offset %d): %s" % (blk, off, why))
        planted = planted_difference_caught(volume, snap, runs, starts, count)
        if planted is False:
            unexplained.append("a planted one-byte difference in a store "
                               "block was explained away")
        msg = ("%s snapshot %d: %d blocks compared, %d identical, %d zero/stale "
               "as documented" % (name, k, len(blocks), same, explained))
        if wrong_store:
            msg += (", %d where pyvshadow reads another volume's store "
                    "(paired by position)" % wrong_store)
        if planted:
            msg += "; a planted difference in a store block is caught"
        if unexplained:
            bad(msg + ", %d unexplained: %s" % (len(unexplained),
                                                "; ".join(unexplained[:5])))
        else:
            ok(msg)
        snap.close()
    mine.close()
    theirs.close()


def main():
    global pyvshadow
    try:
        import pyvshadow
    except ImportError:
        print("skip: python3-libvshadow (pyvshadow) is not installed "
              "(make deps installs it)")
        return finish()
    images = sys.argv[1:]
    found = 0
    for img, entry, vs in volumes(images):
        found += 1
        diff_volume(img, entry, vs)
    check(found > 0, "%d volumes with snapshots compared" % found)
    return finish()


if __name__ == "__main__":
    sys.exit(main())

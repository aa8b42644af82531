#!/usr/bin/env python3
"""make_seeds.py - cut fuzzing seeds out of real VSS images.

Walks the VSS metadata of the real images (volume header at 0x1E00, the
catalog chain, and every store's header, block list, block range list and
bitmap chains) and writes small seed files under tests/fuzz/corpus/<harness>/:

  header/     the 512-byte volume headers
  catalog/    catalog blocks (trailing zeros trimmed; the harness pads)
  store/      store header blocks (trimmed)
  blocklist/  block list chains, relocated into a compact layout (block i
              of the chain at 16 KiB * (i + 1), the harness prepends 16 KiB)
  blockrange/ block range list chains (same layout)
  bitmap/     bitmap chains (same layout)
  partition/  the first sectors of the disk images (MBR / GPT)
  volume/     "mini volumes" in the sparse container format the volume and
  snapshot/   snapshot harnesses read (tests/fuzz/sparse.h): a u64 virtual
              volume size, then chunks of (u64 offset, u32 length, bytes)
              holding only the metadata blocks, trimmed, at their real
              offsets. Bitmaps are cut to --bitmap-blocks blocks and the
              catalog's volume sizes are left as they are.

Images are only read. Usage: make_seeds.py [--images DIR] [--out DIR]
"""
import argparse
import os
import struct
import sys

BLOCK = 16384
VSS_ID = bytes([0x6b, 0x87, 0x08, 0x38, 0x76, 0xc1, 0x48, 0x4e,
                0xb7, 0xae, 0x04, 0x04, 0x6e, 0x6c, 0xc7, 0x52])

# (name, image file, volume offset); storage lives on the same volume
# unless noted.
VOLUMES = [
    ("vsstest", "vsstest.raw", 0),
    ("w2003", "vss_2003.raw", 32256),
    ("stor2", "vss_2_stor.raw", 34603008),
    ("vol1", "vss_1_vol.raw", 34603008),
    ("vs3stor", "vss_3_volstor.raw", 1048576),
    ("vs3snap", "vss_3_volstor.raw", 2148532224),
    # Made by testimages/vssgen (make testimages): a Windows 10 layout with
    # ScopeSnapshots and three snapshots; skipped when not generated.
    ("gen-example", os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                 "../../testimages/out/example/example.img"),
     1048576),
]
SNAPSHOT_SEEDS = ("vsstest", "w2003", "stor2", "gen-example")
DISKS = ["vsstest.raw", "vss_2003.raw", "vss_2_stor.raw", "vss_3_volstor.raw"]


class Vol:
    def __init__(self, path, base):
        self.f = open(path, "rb")
        self.base = base

    def read(self, off, n):
        self.f.seek(self.base + off)
        b = self.f.read(n)
        return b + bytes(n - len(b))


def is_block(b, rtype):
    return b[:16] == VSS_ID and struct.unpack_from("<I", b, 20)[0] == rtype


def chain(vol, off, rtype, limit=100000):
    """[(offset, block bytes)] of a metadata chain."""
    out, seen = [], set()
    while off and off not in seen and len(out) < limit:
        seen.add(off)
        b = vol.read(off, BLOCK)
        if not is_block(b, rtype) or struct.unpack_from("<Q", b, 32)[0] != off:
            break
        out.append((off, b))
        off = struct.unpack_from("<Q", b, 40)[0]
    return out


def walk(vol):
    hdr = vol.read(0x1E00, 512)
    res = {"header": hdr, "catalog": [], "stores": []}
    if hdr[:16] != VSS_ID:
        return res
    cat = struct.unpack_from("<Q", hdr, 48)[0]
    res["catalog"] = chain(vol, cat, 2)
    for off, b in res["catalog"]:
        for pos in range(128, BLOCK, 128):
            t = struct.unpack_from("<Q", b, pos)[0]
            if t == 0:
                break
            if t != 3:
                continue
            bl, sh, br, bm, pbm = (struct.unpack_from("<Q", b, pos + k)[0]
                                   for k in (8, 32, 40, 48, 72))
            res["stores"].append({
                "header": chain(vol, sh, 4, 1),
                "blocklist": chain(vol, bl, 3),
                "blockrange": chain(vol, br, 5) if br else [],
                "bitmap": chain(vol, bm, 6) if bm else [],
                "prevbitmap": chain(vol, pbm, 6) if pbm else [],
            })
    return res


def trim(b):
    return b.rstrip(b"\0")


def relocate(blocks):
    """A chain laid out compactly: block i at 16 KiB * (i + 1) (the
    harness puts 16 KiB of zeros in front of its input)."""
    out = bytearray()
    for i, (_, b) in enumerate(blocks):
        b = bytearray(b)
        own = BLOCK * (i + 1)
        nxt = BLOCK * (i + 2) if i + 1 < len(blocks) else 0
        struct.pack_into("<QQ", b, 32, own, nxt)
        out += b
    return trim(bytes(out))


def cut_chain(blocks, n):
    """The first n blocks of a chain, the last one ending it (next = 0): a
    bitmap cut short reads as "in use" past its end."""
    out = list(blocks[:n])
    if out and len(blocks) > n:
        off, b = out[-1]
        b = bytearray(b)
        struct.pack_into("<Q", b, 40, 0)
        out[-1] = (off, bytes(b))
    return out


def sparse(size, chunks):
    out = bytearray(struct.pack("<Q", size))
    for off, b in chunks:
        b = trim(b)
        if not b:
            continue
        out += struct.pack("<QI", off, len(b)) + b
    return bytes(out)


def write(outdir, harness, name, data):
    d = os.path.join(outdir, harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)
    return len(data)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", default="/tmp/img")
    ap.add_argument("--out", default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "corpus"))
    ap.add_argument("--bitmap-blocks", type=int, default=1)
    ap.add_argument("--max-stores", type=int, default=8,
                    help="stores per mini volume (keeps seeds small)")
    a = ap.parse_args()
    total = 0
    for disk in DISKS:
        p = os.path.join(a.images, disk)
        if not os.path.exists(p):
            continue
        with open(p, "rb") as f:
            first = f.read(512 * 34)
        n = 512 if first[510:512] == b"\x55\xaa" and first[512:520] != b"EFI PART" else len(first)
        total += write(a.out, "partition", disk.replace(".raw", ""),
                       trim(first[:n]) if n > 512 else first[:512])
    for name, img, base in VOLUMES:
        p = os.path.join(a.images, img)
        if not os.path.exists(p):
            print("skip %s: %s missing" % (name, p), file=sys.stderr)
            continue
        vol = Vol(p, base)
        size = os.path.getsize(p) - base
        m = walk(vol)
        total += write(a.out, "header", name, m["header"])
        chunks = [(0x1E00, m["header"])]
        if m["catalog"]:
            # One block (a chain of one) per volume; vsstest's first two
            # blocks as a chain.
            cut = 2 if name == "vsstest" else 1
            total += write(a.out, "catalog", name,
                           relocate(m["catalog"][:cut]))
        chunks += m["catalog"]
        # A catalog that lists more stores than we keep still names them;
        # their blocks are simply absent (read as zeros) in the mini volume.
        for i, st in enumerate(m["stores"]):
            keep = i < a.max_stores
            if i < 2:
                for kind in ("blocklist", "blockrange", "bitmap"):
                    if kind == "bitmap" and (i > 0 or name not in SNAPSHOT_SEEDS[:2]):
                        continue
                    if st[kind]:
                        blocks = st[kind][:2] if kind != "bitmap" else st[kind][:a.bitmap_blocks]
                        total += write(a.out, kind, "%s-%d" % (name, i),
                                       relocate(blocks))
                if st["header"]:
                    total += write(a.out, "store", "%s-%d" % (name, i),
                                   trim(st["header"][0][1]))
            if keep:
                chunks += st["header"] + st["blocklist"] + st["blockrange"]
                chunks += cut_chain(st["bitmap"], a.bitmap_blocks)
                chunks += cut_chain(st["prevbitmap"], a.bitmap_blocks)
        mini = sparse(size, chunks)
        # The volume harness also runs on the snapshot corpus (make fuzz-run
        # passes both directories), so each mini volume is stored once.
        total += write(a.out, "snapshot" if name in SNAPSHOT_SEEDS else
                       "volume", name, mini)
    print("seeds: %d bytes" % total)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""make_seeds_storage.py - seeds for fuzz_storage (redirected storage).

Each seed is a u32 LE length L, the source volume's mini volume (L bytes),
then the storage volume's mini volume, both in the sparse format of
make_seeds.py: vss_1_vol with vss_2_stor, and the two volumes of
vss_3_volstor. The storage volumes keep --max-stores stores (their block
lists cut to --list-blocks blocks, bitmaps to one block) to stay small.
Images are only read. Usage: make_seeds_storage.py [--images DIR] [--out DIR]
"""
import argparse
import os
import struct

import make_seeds as ms

PAIRS = [
    # (seed, image, source volume offset, storage volume offset)
    ("vol1-stor2", ("vss_1_vol.raw", 34603008), ("vss_2_stor.raw", 34603008)),
    ("vs3snap-vs3stor", ("vss_3_volstor.raw", 2148532224),
     ("vss_3_volstor.raw", 1048576)),
]


def mini(images, img, base, max_stores, list_blocks):
    p = os.path.join(images, img)
    vol = ms.Vol(p, base)
    m = ms.walk(vol)
    chunks = [(0x1E00, m["header"])] + m["catalog"]
    for st in m["stores"][:max_stores]:
        chunks += st["header"] + ms.cut_chain(st["blocklist"], list_blocks)
        chunks += ms.cut_chain(st["blockrange"], list_blocks)
        chunks += ms.cut_chain(st["bitmap"], 1)
        chunks += ms.cut_chain(st["prevbitmap"], 1)
    return ms.sparse(os.path.getsize(p) - base, chunks)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", default="/tmp/img")
    ap.add_argument("--out", default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "corpus"))
    ap.add_argument("--max-stores", type=int, default=2)
    ap.add_argument("--list-blocks", type=int, default=1)
    a = ap.parse_args()
    d = os.path.join(a.out, "storage")
    os.makedirs(d, exist_ok=True)
    for name, (si, sb), (ti, tb) in PAIRS:
        src = mini(a.images, si, sb, a.max_stores, a.list_blocks)
        stor = mini(a.images, ti, tb, a.max_stores, a.list_blocks)
        data = struct.pack("<I", len(src)) + src + stor
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
        print("%s: %d bytes" % (name, len(data)))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Delete a volume's shadow copies in a COPY of an image as Windows does to
the catalog (vssadmin delete shadows): every catalog block in the chain the
VSS volume header starts is zeroed and the header's catalog offset cleared;
the stores are left where they are. With --keep N, only the catalog entries
of the snapshots older than the newest N are marked unused (type 1), as
deleting the oldest snapshots leaves the catalog. Written from the format
(docs/format.md), independently of libvss. Prints the byte ranges changed
(volume offsets) one per line: OFFSET LENGTH.

usage: carve_destroy.py IMAGE VOLUME_OFFSET [--keep N]
"""
import os
import struct
import sys

img, base = sys.argv[1], int(sys.argv[2])
keep = int(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[3] == "--keep" else None
BS = 16384
fd = os.open(img, os.O_RDWR)
hdr = os.pread(fd, 512, base + 0x1E00)
cat = struct.unpack_from("<Q", hdr, 48)[0]
assert cat, "no catalog"
blocks, off = [], cat
while off and off not in blocks and len(blocks) < 64:
    blocks.append(off)
    off = struct.unpack_from("<Q", os.pread(fd, 128, base + off), 40)[0]
if keep is None:
    for b in blocks:
        os.pwrite(fd, bytes(BS), base + b)
        print(b, BS)
    os.pwrite(fd, bytes(8), base + 0x1E00 + 48)
    print(0x1E00 + 48, 8)
else:
    entries = []  # (stack position, guid, [entry offsets])
    for b in blocks:
        d = os.pread(fd, BS, base + b)
        for p in range(128, BS, 128):
            t = struct.unpack_from("<Q", d, p)[0]
            if t == 2:
                entries.append((struct.unpack_from("<Q", d, p + 32)[0], d[p + 16:p + 32], b + p))
    entries.sort()
    doomed = entries[:max(0, len(entries) - keep)]
    guids = {g for _, g, _ in doomed}
    for b in blocks:
        d = os.pread(fd, BS, base + b)
        for p in range(128, BS, 128):
            t = struct.unpack_from("<Q", d, p)[0]
            if t in (2, 3) and d[p + 16:p + 32] in guids:
                os.pwrite(fd, struct.pack("<Q", 1) + bytes(120), base + b + p)
                print(b + p, 128)

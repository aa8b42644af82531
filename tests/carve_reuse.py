#!/usr/bin/env python3
"""Give a live file's worth of clusters back to use inside a deleted store,
as a new file written after the deletion would: the 16 KiB at storage
offset S are overwritten with 0xEE and their clusters set in the live
$Bitmap (found with The Sleuth Kit's istat, record 6). Prints S.

usage: carve_reuse.py IMAGE S"""
import os
import subprocess
import sys

img, s = sys.argv[1], int(sys.argv[2])
out = subprocess.run(["istat", img, "6"], check=True, capture_output=True,
                     text=True).stdout
fsstat = subprocess.run(["fsstat", img], check=True, capture_output=True,
                        text=True).stdout
cs = int([l for l in fsstat.splitlines() if l.startswith("Cluster Size:")][0].split()[-1])
clusters = [int(x) for l in out.split("$DATA", 1)[1].splitlines()[1:]
            for x in l.split() if x.isdigit()]
fd = os.open(img, os.O_RDWR)
os.pwrite(fd, b"\xee" * 16384, s)
for c in range(s // cs, (s + 16384) // cs):
    byte = c // 8
    at = clusters[byte // cs] * cs + byte % cs   # $Bitmap's data on disk
    v = os.pread(fd, 1, at)[0] | (1 << (c % 8))
    os.pwrite(fd, bytes([v]), at)
print(s)

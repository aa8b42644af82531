#!/usr/bin/env python3
"""Count the bytes at which two equally long files differ outside the
CHANGED ranges (lines OFFSET LENGTH: what the test itself changed on the
volume). Prints the count (and the first few offsets on stderr).
usage: carve_bytecmp.py A B CHANGED"""
import sys

CH = [tuple(map(int, l.split())) for l in open(sys.argv[3]) if l.strip()]
STEP = 1 << 20
n, first = 0, []
with open(sys.argv[1], "rb") as a, open(sys.argv[2], "rb") as b:
    off = 0
    while True:
        x, y = a.read(STEP), b.read(STEP)
        if not x and not y:
            break
        if x != y:
            for i in range(max(len(x), len(y))):
                if (x[i:i + 1] != y[i:i + 1] and
                        not any(o <= off + i < o + ln for o, ln in CH)):
                    n += 1
                    if len(first) < 5:
                        first.append(off + i)
        off += STEP
print(n)
if first:
    print("first differing offsets:", first, file=sys.stderr)

#!/usr/bin/env python3
"""Compare two vssinfo --map outputs (OFFSET LENGTH CLASS [STORE OFFSET])
after merging runs that continue each other (same class and store, source
offsets contiguous), so that only where the bytes come from counts, not
how the runs were cut; bytes in the CHANGED ranges (lines OFFSET LENGTH:
what the test itself changed on the volume) are left out. Prints the
differences; exit 0 when none.
usage: carve_mapcmp.py MAP_A MAP_B [CHANGED]"""
import sys


CHANGED = []
if len(sys.argv) > 3:
    CHANGED = sorted(tuple(map(int, l.split())) for l in open(sys.argv[3]) if l.strip())


def pieces(off, ln, src):
    """[off, off+ln) without the changed ranges."""
    for co, cl in CHANGED:
        if co + cl <= off or co >= off + ln:
            continue
        if co > off:
            yield off, co - off, src
        cut = co + cl - off
        if cut >= ln:
            return
        src = None if src is None else src + cut
        off, ln = off + cut, ln - cut
    yield off, ln, src


def runs(path):
    out = []
    for line in open(path):
        f = line.split()
        for p in pieces(int(f[0]), int(f[1]), int(f[4]) if len(f) > 4 else None):
            add(out, p[0], p[1], f[2], f[3] if len(f) > 3 else "", p[2])
    return out


def add(out, off, ln, cls, store, src):
    if out:
        po, pl, pc, ps, psrc = out[-1]
        if pc == cls and ps == store and po + pl == off and \
                (src is None and psrc is None or
                 src is not None and psrc is not None and psrc + pl == src):
            out[-1] = (po, pl + ln, pc, ps, psrc)
            return
    out.append((off, ln, cls, store, src))


a, b = runs(sys.argv[1]), runs(sys.argv[2])
bad = [(x, y) for x, y in zip(a, b) if x != y]
if len(a) != len(b) or bad:
    print("maps differ: %d vs %d runs; first differences: %s" % (len(a), len(b), bad[:3]))
    sys.exit(1)
print("maps equal: %d runs" % len(a))

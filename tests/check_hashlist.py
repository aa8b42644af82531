#!/usr/bin/env python3
"""Check vssinfo against a Windows-made per-sector hash list.

Each line of the list: snapshot<TAB>volume offset<TAB>flags<TAB>32 MD5s,
the MD5 of every 512-byte sector of that 16 KiB block as Windows returned
it from the shadow copy device. Prints one line per mismatch and a summary;
exit 0 only when every line matches.
"""
import hashlib
import subprocess
import sys


def main():
    vssinfo, image, offset, hashlist = sys.argv[1:5]
    ok = bad = 0
    for line in open(hashlist):
        snap, voff, _flags, md5s = line.rstrip("\n").split("\t")
        want = md5s.split(" ")
        data = subprocess.run(
            [vssinfo, "-o", offset, "--extract", snap, "--range",
             "%s:16384" % voff, image],
            check=True, capture_output=True).stdout
        got = [hashlib.md5(data[i:i + 512]).hexdigest()
               for i in range(0, 16384, 512)]
        if got == want:
            ok += 1
        else:
            bad += 1
            diff = [i for i in range(32) if i >= len(got) or got[i] != want[i]]
            print("MISMATCH snapshot %s offset %s sectors %s" % (snap, voff, diff))
    print("hash list %s: %d blocks match, %d differ" % (hashlist, ok, bad))
    return 0 if bad == 0 and ok > 0 else 1


if __name__ == "__main__":
    sys.exit(main())

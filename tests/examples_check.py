#!/usr/bin/env python3
"""examples_check.py — judge the output of examples/list against
independent truth, and examples/extract's outputs against vssinfo's
(tests/test_install.sh). Arguments come in fours, each one check:

  NAME manifest LIST_OUTPUT MANIFEST.json
      the generator's manifest: the source volume's offset and size, and
      every snapshot's store GUID, creation time and volume size
  NAME vshadowinfo LIST_OUTPUT IMAGE
      libvshadow's vshadowinfo, run on each volume that list says has
      snapshots: the same stores, creation times and sizes, in order
  NAME holes FILE ''
      every all-zero 4 KiB page of FILE is a hole: its data extents
      hold at most its non-zero pages (and less than its size)
  NAME same FILE1 FILE2
      the two files hold the same bytes; only the data extents of either
      (SEEK_DATA) are read, elsewhere both are holes, so zeros

Prints "ok NAME: ..." or "FAIL NAME: ..." per check (one process for all:
Python starts slowly on a loaded machine).
"""
import contextlib
import io
import json
import os
import re
import subprocess
import sys

from imagehash import data_extents_fd

VOLUME = re.compile(r'^volume (\d+) offset (\d+) size (\d+) vss (yes|no) '
                    r'snapshots (\d+)( \(storage on another volume\))?$')
SNAPSHOT = re.compile(r'^  snapshot (\d+) store ([0-9a-f-]{36}) created '
                      r'(\S+) size (\d+)$')
MONTHS = {m: i + 1 for i, m in enumerate(
    'Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec'.split())}


def parse_list(text):
    """{offset: {"size", "count", "snapshots": [(index, guid, time, size)]}}"""
    vols, cur = {}, None
    for line in text.splitlines():
        m = VOLUME.match(line)
        if m:
            cur = {'size': int(m.group(3)), 'count': int(m.group(5)),
                   'snapshots': []}
            vols[int(m.group(2))] = cur
            continue
        m = SNAPSHOT.match(line)
        if not m or cur is None:
            sys.exit('unexpected line in the list output: %r' % line)
        cur['snapshots'].append((int(m.group(1)), m.group(2), m.group(3),
                                 int(m.group(4))))
    for off, v in vols.items():
        if len(v['snapshots']) != v['count']:
            sys.exit('volume at %d: says %d snapshots, lists %d'
                     % (off, v['count'], len(v['snapshots'])))
    return vols


def compare(what, got, want):
    if got != want:
        print('%s differ:\n  list:  %s\n  truth: %s' % (what, got, want))
        return 1
    return 0


def check_manifest(vols, manifest):
    m = json.load(open(manifest))
    src = [v for v in m['volumes'] if v['role'] == 'source'][0]
    if src['offset'] not in vols:
        print('no volume listed at the source offset %d' % src['offset'])
        return 1
    v = vols[src['offset']]
    bad = compare('volume size', v['size'], src['size'])
    want = [(s['index'], s['store_guid'], s['creation_time'],
             s['volume_size']) for s in m['snapshots']]
    bad += compare('snapshots', v['snapshots'], want)
    if not bad:
        print('%d snapshots as the manifest says' % len(want))
    return bad


def vshadowinfo_time(text):
    """'Dec 03, 2013 06:35:09.736378700 UTC' -> '2013-12-03T06:35:09.7363787Z'
    (FILETIME counts 100 ns: the last two of the nine digits are 0)."""
    m = re.match(r'(\w{3}) (\d\d), (\d{4}) (\d\d:\d\d:\d\d)\.(\d{9}) UTC$',
                 text)
    if not m or not m.group(5).endswith('00'):
        sys.exit('unexpected vshadowinfo time %r' % text)
    return '%s-%02d-%sT%s.%sZ' % (m.group(3), MONTHS[m.group(1)], m.group(2),
                                  m.group(4), m.group(5)[:7])


def check_vshadowinfo(vols, image):
    bad = checked = 0
    for off, v in sorted(vols.items()):
        if v['count'] == 0:
            continue
        out = subprocess.run(['vshadowinfo', '-o', str(off), image],
                             capture_output=True, text=True).stdout
        want = []
        for block in re.split(r'\n(?=Store: \d+)', out)[1:]:
            idx = int(re.match(r'Store: (\d+)', block).group(1))
            guid = re.search(r'Identifier\s*: (\S+)', block).group(1)
            when = re.search(r'Creation time\s*: (.+)', block).group(1)
            size = re.search(r'Volume size\s*: .*\((\d+) bytes\)', block)
            want.append((idx, guid, vshadowinfo_time(when.strip()),
                         int(size.group(1))))
        bad += compare('snapshots of the volume at %d' % off,
                       v['snapshots'], want)
        checked += len(want)
    if checked == 0:
        print('no snapshot listed on any volume')
        return 1
    if not bad:
        print('%d snapshots as vshadowinfo says' % checked)
    return bad


def check_same(path1, path2):
    with open(path1, 'rb') as a, open(path2, 'rb') as b:
        size = os.fstat(a.fileno()).st_size
        if size != os.fstat(b.fileno()).st_size:
            print('sizes differ')
            return 1
        union = sorted(data_extents_fd(a.fileno(), size) +
                       data_extents_fd(b.fileno(), size))
        read = pos = 0
        for start, end in union:
            start = max(start, pos)
            while start < end:
                n = min(end - start, 1 << 20)
                a.seek(start)
                b.seek(start)
                if a.read(n) != b.read(n):
                    print('bytes differ in [%d, %d)' % (start, start + n))
                    return 1
                start += n
                read += n
            pos = max(pos, end)
    print('%d bytes equal (%d read, the rest holes in both)' % (size, read))
    return 0


def check_holes(path):
    """Zero pages can only be found in the data extents: elsewhere is a
    hole already. The data extents (SEEK_DATA), not st_blocks, measure
    what was written: st_blocks also counts the file system's own extent
    tree blocks."""
    data_pages = data_bytes = 0
    with open(path, 'rb') as f:
        for start, end in data_extents_fd(f.fileno(),
                                          os.fstat(f.fileno()).st_size):
            data_bytes += end - start
            f.seek(start)
            while start < end:
                chunk = f.read(min(end - start, 1 << 20))
                if not chunk:
                    break
                for i in range(0, len(chunk), 4096):
                    page = chunk[i:i + 4096]
                    data_pages += page.count(0) != len(page)
                start += len(chunk)
        size = os.fstat(f.fileno()).st_size
    print('%d bytes in data extents, %d non-zero pages, size %d'
          % (data_bytes, data_pages, size))
    return 0 if data_bytes <= data_pages * 4096 < size else 1


def run_one(mode, first, second):
    if mode == 'holes':
        return check_holes(first)
    if mode == 'same':
        return check_same(first, second)
    vols = parse_list(open(first).read())
    if mode == 'manifest':
        return check_manifest(vols, second)
    return check_vshadowinfo(vols, second)


def main():
    args = sys.argv[1:]
    if not args or len(args) % 4:
        sys.exit(__doc__)
    failed = 0
    for i in range(0, len(args), 4):
        name = args[i]
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            try:
                bad = run_one(*args[i + 1:i + 4])
            except SystemExit as e:
                print(e.code)
                bad = 1
            except (OSError, ValueError, KeyError) as e:
                print(e)
                bad = 1
        text = buf.getvalue().strip().replace('\n', '\n    ')
        print('%s %s: %s' % ('FAIL' if bad else 'ok', name, text))
        failed += bool(bad)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())

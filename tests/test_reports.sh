#!/usr/bin/env bash
# tests/test_reports.sh — reports for the case file (issue #18): the header
# of every --audit/--diff report (case, examiner, notes, tool version, the
# command line, the UTC time, each image's full path, size, container, E01
# data and computed hashes, the snapshots' identities), the FILE.sha256 side
# files, --csv-bom and the CSV convention, and the HTML report printed to
# PDF by headless Chromium. Against independent truth: sha256sum/md5sum of
# the image, ewfinfo on an E01 made here with ewfacquire, vshadowinfo for
# the snapshot identities, Microsoft's VSS_VOLSNAP_ATTR_* table for the
# flags in words, pdftotext for what the printed page says; and the command
# line the report states, run again, gives the same report.
# Uses the generated win7 image (testimages/out, made by tests/run or
# make -C testimages). Ends with "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh

require_built "$VSSINFO"
require_tools python3 sha256sum md5sum
# the interpreter itself: a version manager's shim costs a second a call
PY=$(python3 -c 'import sys; print(sys.executable)')
IMG=$PWD/testimages/out/win7.img
if [ ! -e "$IMG" ]; then
    echo "skip: $IMG is absent (make -C testimages generates it)"
    finish
    exit 0
fi
IMG=$(realpath "$IMG") # the report states the full path
T=$(mktemp -d "${TMPDIR:-/tmp}/libvss-reports.XXXXXX")
trap 'rm -rf "$T"' EXIT
cp "$VSSINFO" "$T/vssinfo" && V=$T/vssinfo

CASE="CASE-18/ü, \"quoted\""
EXAMINER="Jane O'Neil"
NOTES="seized 2026-11-30; bag 7"
IMG_SHA256=$(sha256sum < "$IMG" | cut -d' ' -f1)
IMG_MD5=$(md5sum < "$IMG" | cut -d' ' -f1)

# ---- text report to --output, HTML, side files -----------------------------
(cd "$T" && "$V" --audit all --case "$CASE" --examiner "$EXAMINER" \
    --notes "$NOTES" --image-hash sha256,md5 --no-progress \
    --output r.txt --html r.html "$IMG")
check "--audit --output: status 0" test $? -eq 0
txt=$(cat "$T/r.txt")
field() { echo "$txt" | sed -n "s/^$1 *: //p" | head -1; }
same "text: case" "$(field Case)" "$CASE"
same "text: examiner" "$(field Examiner)" "$EXAMINER"
same "text: notes" "$(field Notes)" "$NOTES"
check "text: tool and version" grep -q "^Report by vssinfo $("$V" -V | cut -d' ' -f2) " "$T/r.txt"
check "text: generated (UTC) is now" "$PY" -c "
import sys,datetime
t=datetime.datetime.strptime(sys.argv[1],'%Y-%m-%dT%H:%M:%SZ').replace(tzinfo=datetime.timezone.utc)
sys.exit(abs((datetime.datetime.now(datetime.timezone.utc)-t).total_seconds())>120)" "$(field 'Generated (UTC)')"
same "text: image full path and size" "$(field 'Image 1')" "$IMG ($(stat -c %s "$IMG") bytes)"
same "text: image SHA-256 = sha256sum" "$(echo "$txt" | sed -n 's/^  SHA-256 *: \([0-9a-f]*\).*/\1/p')" "$IMG_SHA256"
same "text: image MD5 = md5sum" "$(echo "$txt" | sed -n 's/^  MD5 *: \([0-9a-f]*\).*/\1/p')" "$IMG_MD5"
for f in r.txt r.html; do
    check "$f.sha256 verifies with sha256sum -c" bash -c "cd '$T' && sha256sum --quiet -c $f.sha256"
done
cp "$T/r.html" "$T/r.html.orig"
echo >> "$T/r.html"
check "a changed report fails sha256sum -c" bash -c "cd '$T' && ! sha256sum --quiet -c r.html.sha256 >/dev/null 2>&1"
mv "$T/r.html.orig" "$T/r.html"

# The command line as the report states it, run again: the same report but
# for the time it was made.
cmd=$(field 'Command line')
mv "$T/r.txt" "$T/first.txt"
mv "$T/r.html" "$T/first.html"  # neither is replaced without --force
(cd "$T" && eval "$cmd")
same "command line re-run: same report (less the time)" \
    "$(grep -v '^Generated' "$T/r.txt")" "$(grep -v '^Generated' "$T/first.txt")"
"$V" --audit all --output "$T/r.txt" "$IMG" 2>/dev/null
check "--output onto an existing report without --force: status 2" test $? -eq 2
"$V" --audit 9 --output "$T/none.txt" "$IMG" 2>/dev/null
check "--audit of a snapshot that does not exist: status 1, no report file, no side file" \
    test $? -eq 1 -a ! -e "$T/none.txt" -a ! -e "$T/none.txt.sha256"
check "HTML: the case in the page title" grep -qF "<title>Shadow copy audit, case CASE-18/ü, &quot;quoted&quot;</title>" "$T/r.html"

# ---- JSON: the snapshots' identities against vshadowinfo -------------------
"$V" --audit all --json --case "$CASE" --examiner "$EXAMINER" \
    --image-hash md5 --no-progress "$IMG" > "$T/r.json"
if command -v vshadowinfo >/dev/null; then
    off=$("$PY" -c "import json,sys;print(json.load(open(sys.argv[1]))['volume_offset'])" "$T/r.json")
    vshadowinfo -o "$off" "$IMG" > "$T/vshadowinfo.txt" 2>/dev/null
    out=$("$PY" - "$T/r.json" "$T/vshadowinfo.txt" "$CASE" "$EXAMINER" "$IMG" "$IMG_MD5" <<'PY'
import json, re, sys, datetime
r = json.load(open(sys.argv[1]))
rep = r['report']
fails = []
def same(what, got, want):
    print(('ok   ' if got == want else 'FAIL ') + 'json: %s%s' % (what, '' if got == want else ': %r != %r' % (got, want)))
same('report.case', rep['case'], sys.argv[3])
same('report.examiner', rep['examiner'], sys.argv[4])
same('report.notes (not given) is null', rep['notes'], None)
same('report.images[0].full_path', rep['images'][0]['full_path'], sys.argv[5])
same('report.images[0].hashes = md5sum', rep['images'][0]['hashes'], {'md5': sys.argv[6]})
# vshadowinfo's stores, in its order (1 = oldest)
stores = re.split(r'\nStore: \d+\n', open(sys.argv[2]).read())[1:]
snaps = {s['index']: s for s in rep['snapshots']}
same('one identity per audited snapshot', sorted(snaps), [s['snapshot'] for s in r['snapshots']])
# Microsoft's VSS_VOLUME_SNAPSHOT_ATTRIBUTES (VSS_VOLSNAP_ATTR_*), in words
ms = {0x1: 'persistent', 0x2: 'no auto recovery', 0x4: 'client accessible',
      0x8: 'no auto release', 0x10: 'no writers', 0x20: 'transportable',
      0x40: 'not surfaced', 0x80: 'not transacted', 0x10000: 'hardware assisted',
      0x20000: 'differential', 0x40000: 'plex', 0x80000: 'imported',
      0x100000: 'exposed locally', 0x200000: 'exposed remotely',
      0x400000: 'auto recovered', 0x800000: 'rollback recovery',
      0x1000000: 'delayed post snapshot', 0x2000000: 'TxF recovery',
      0x4000000: 'file share'}
for i, text in enumerate(stores, 1):
    v = dict((k.strip(), val.strip()) for k, val in
             (l.split(':', 1) for l in text.splitlines() if ':' in l))
    s = snaps.get(i, {})
    same('snapshot %d store GUID' % i, s.get('store_guid'), v['Identifier'])
    same('snapshot %d shadow copy ID' % i, s.get('shadow_copy_id'), v['Shadow copy ID'])
    same('snapshot %d shadow copy set ID' % i, s.get('shadow_copy_set_id'), v['Shadow copy set ID'])
    same('snapshot %d attribute flags' % i, s.get('attribute_flags'), int(v['Attribute flags'], 16))
    t = datetime.datetime.strptime(v['Creation time'][:21], '%b %d, %Y %H:%M:%S')
    same('snapshot %d creation time (to the second)' % i, s.get('creation_time', '')[:19], t.strftime('%Y-%m-%dT%H:%M:%S'))
    flags = s.get('attribute_flags', 0)
    same('snapshot %d attribute flags in words' % i, s.get('attribute_flags_text'),
         ', '.join(w for b, w in sorted(ms.items()) if flags & b))
    same('snapshot %d machine named' % i, bool(s.get('originating_machine')), True)
PY
)
    echo "$out"
    PASS=$((PASS + $(echo "$out" | grep -c '^ok')))
    FAIL=$((FAIL + $(echo "$out" | grep -c '^FAIL')))
else
    skip "snapshot identities: vshadowinfo is not installed (libvshadow-utils)"
fi

# ---- the volume GUID in every format, against the generator's manifest ------
VGUID=$("$PY" -c "import json,sys;print([v for v in json.load(open(sys.argv[1]))['volumes'] if v['role']=='source'][0]['guid'])" "${IMG%.img}.json")
"$V" --audit 1 --csv --no-progress "$IMG" > "$T/g.csv"
"$V" --audit 1 --no-progress --html "$T/g.html" "$IMG" > "$T/g.txt"
same "volume GUID = the manifest's: text, JSON, CSV #volume, HTML" \
    "$(sed -n 's/^Volume .*volume GUID \([0-9a-f-]*\)$/\1/p' "$T/g.txt") $("$PY" -c "import json,sys;print(json.load(open(sys.argv[1]))['report']['volume_guid'])" "$T/r.json") $(sed -n 's/^#volume,.*volume GUID \([0-9a-f-]*\)$/\1/p' "$T/g.csv") $(sed -n 's:.*volume GUID <code>\([0-9a-f-]*\)</code>.*:\1:p' "$T/g.html")" \
    "$VGUID $VGUID $VGUID $VGUID"

# ---- --image-hash on a terminal: its progress bar --------------------------
if command -v script >/dev/null; then
    out=$(cd "$T" && script -qec "'$V' --audit 1 --image-hash sha256 --output p.txt '$IMG'" /dev/null | tr '\r' '\n')
    check "--image-hash on a terminal: a progress bar to 100%" \
        grep -qa '\[image hash\] .* 100% ' <<<"$out"
fi

# ---- --diff: the same header, the two sides' identities --------------------
"$V" --diff 1:2 --json --case "$CASE" --no-progress "$IMG" > "$T/d.json"
same "--diff --json: report.case and the sides' identities" \
    "$("$PY" -c "import json,sys;r=json.load(open(sys.argv[1]))['report'];print(r['case'],[s['index'] for s in r['snapshots']])" "$T/d.json")" \
    "$CASE [1, 2]"
"$V" --diff 1:live --examiner "$EXAMINER" --no-progress "$IMG" > "$T/d.txt"
check "--diff text: examiner in the header" grep -qxF "Examiner       : $EXAMINER" "$T/d.txt"

# ---- CSV: "#key,value" records, then the header; --csv-bom -----------------
"$V" --audit all --csv --csv-bom --case "$CASE" --no-progress "$IMG" > "$T/r.csv"
same "--csv-bom: starts with the UTF-8 byte order mark" "$(head -c3 "$T/r.csv" | xxd -p)" efbbbf
out=$("$PY" - "$T/r.csv" "$CASE" "$T/r.json" <<'PY'
import csv, json, sys
text = open(sys.argv[1], encoding='utf-8-sig').read().splitlines(True)
meta = dict((row[0][1:], row[1]) for row in csv.reader(l for l in text if l.startswith('#')))
rows = list(csv.DictReader(l for l in text if not l.startswith('#')))
want = [f['path'] for s in json.load(open(sys.argv[3]))['snapshots'] for f in s['files']]
print(meta.get('case') == sys.argv[2], sorted(r['path'] for r in rows) == sorted(want), len(rows) > 0)
PY
)
same "CSV: the case record (quoted), the rows (every audited file)" "$out" "True True True"
"$V" --diff 1:2 --csv --notes "$NOTES" --no-progress "$IMG" > "$T/d.csv"
check "--diff --csv: #notes record, then the header" "$PY" -c "
import csv,sys
l=open(sys.argv[1]).read().splitlines()
m=[r for r in csv.reader(x for x in l if x.startswith('#'))]
sys.exit(not (['#notes',sys.argv[2]] in m and [x for x in l if not x.startswith('#')][0].startswith('change,')))" "$T/d.csv" "$NOTES"
# A '#' inside a value is quoted: readers that take '#' as a comment mark
# (pandas' comment="#") cut an unquoted field there.
"$V" --diff 1:2 --csv --notes "bag #7" --no-progress "$IMG" > "$T/h.csv"
check "CSV: a value holding '#' is quoted" grep -qxF '#notes,"bag #7"' "$T/h.csv"

# ---- E01: the acquisition's metadata and stored hash -----------------------
if command -v ewfacquire >/dev/null && command -v ewfinfo >/dev/null; then
    ewfacquire -q -u -t "$T/ev" -f encase6 -c deflate:fast -C "CASE-E01" \
        -D "report test" -e "E. Xaminer" -E EV-18 -N "acq notes" "$IMG" \
        >/dev/null 2>&1
    "$V" --audit 1 --json --image-hash md5 --no-progress "$T/ev.E01" > "$T/e.json"
    info=$(ewfinfo "$T/ev.E01")
    ew() { echo "$info" | sed -n "s/^[[:space:]]*$1:[[:space:]]*//p" | head -1; }
    got=$("$PY" -c "
import json,sys
i=json.load(open(sys.argv[1]))['report']['images'][0]
c=i['container']
print(c['case_number'],'|',c['examiner'],'|',c['evidence_number'],'|',c['md5'],'|',i['hashes']['md5'])" "$T/e.json")
    same "E01: case, examiner, evidence, stored and computed MD5 = ewfinfo" \
        "$got" "$(ew 'Case number') | $(ew 'Examiner name') | $(ew 'Evidence number') | $(ew MD5) | $(ew MD5)"
    same "E01: the media hash = md5sum of the raw image" "$(ew MD5)" "$IMG_MD5"
    "$V" --audit 1 --no-progress "$T/ev.E01" > "$T/e.txt"
    check "E01: text names the container and its case" grep -q "^  Container    : EWF.*case CASE-E01.*examiner E. Xaminer" "$T/e.txt"
else
    skip "E01: ewf-tools is not installed"
fi

# ---- usage ---------------------------------------------------------------------
for args in "--case X" "--image-hash sha256" "--csv-bom --audit all" \
            "--audit all --image-hash sha512"; do
    # shellcheck disable=SC2086
    "$V" $args "$IMG" >/dev/null 2>&1
    same "usage: $args: status 2" "$?" 2
done

# ---- HTML on paper: headless Chromium's PDF, read by pdftotext ---------------
if command -v chromium >/dev/null && command -v pdftotext >/dev/null; then
    timeout 120 chromium --headless --no-sandbox --disable-gpu \
        --user-data-dir="$T/chromium" --no-pdf-header-footer \
        --print-to-pdf="$T/r.pdf" "file://$T/r.html" >/dev/null 2>&1
    pdftotext -layout "$T/r.pdf" "$T/r.pdf.txt" 2>/dev/null
    out=$("$PY" - "$T/r.pdf.txt" "$T/r.json" "$CASE" "$EXAMINER" "$IMG_SHA256" <<'PY'
import json, re, sys
text = open(sys.argv[1]).read()
flat = re.sub(r'\s+', ' ', text)
pages = text.split('\f')
r = json.load(open(sys.argv[2]))
paths = [f['path'] for s in r['snapshots'] for f in s['files']]
missing = [p for p in paths if p not in text]
pages_n = [p for p in pages if p.strip()]
print('ok   PDF: the case' if sys.argv[3] in flat else 'FAIL PDF: the case')
print('ok   PDF: the examiner' if sys.argv[4] in flat else 'FAIL PDF: the examiner')
print('ok   PDF: the image SHA-256' if sys.argv[5] in flat else 'FAIL PDF: the image SHA-256')
print(('ok   PDF: all %d audited files listed' % len(paths)) if paths and not missing
      else 'FAIL PDF: files not printed: %r' % missing[:5])
numbered = all(('page %d of %d' % (i + 1, len(pages_n))) in p for i, p in enumerate(pages_n))
print(('ok   PDF: %d pages, each numbered "page N of %d"' % (len(pages_n), len(pages_n))) if numbered and len(pages_n) > 1
      else 'FAIL PDF: page numbers (%d pages)' % len(pages_n))
print('ok   PDF: the summary first, alone on page 1' if 'Summary' in pages_n[0] and 'All ' not in pages_n[0]
      else 'FAIL PDF: page 1 is not the summary page')
PY
)
    echo "$out"
    PASS=$((PASS + $(echo "$out" | grep -c '^ok')))
    FAIL=$((FAIL + $(echo "$out" | grep -c '^FAIL')))
    # File lists long enough to run over pages (the many scenario): every
    # page that goes on with a list starts with the list's header again.
    MANY=$PWD/testimages/out/many.img
    if [ -e "$MANY" ]; then
        "$V" --audit all --no-progress --html "$T/m.html" "$MANY" >/dev/null
        timeout 120 chromium --headless --no-sandbox --disable-gpu \
            --user-data-dir="$T/chromium" --no-pdf-header-footer \
            --print-to-pdf="$T/m.pdf" "file://$T/m.html" >/dev/null 2>&1
        pdftotext -layout "$T/m.pdf" "$T/m.pdf.txt" 2>/dev/null
        got=$("$PY" - "$T/m.pdf.txt" <<'PY'
import re, sys
row = re.compile(r'\s*(intact|unchanged|resident|damaged|unverified|error)\s+/')
head = re.compile(r'\s*status\s+path\s')
foot = re.compile(r'\s*(Volume Shadow Copy audit|page \d+ of \d+)')
pages = [[l for l in p.splitlines() if l.strip() and not foot.match(l)]
         for p in open(sys.argv[1]).read().split('\f')]
cont = headed = 0
for prev, page in zip(pages, pages[1:]):
    if prev and page and row.match(prev[-1]) and any(row.match(l) for l in page):
        cont += 1
        first = next(l for l in page if row.match(l) or head.match(l))
        headed += bool(head.match(first))
print(cont, headed)
PY
)
        check "PDF: a file list going on over a page repeats its header ($got: continued, headed)" \
            test "${got% *}" -gt 0 -a "${got% *}" = "${got#* }"
    fi
else
    skip "HTML print: chromium or pdftotext is not installed (make deps)"
fi

# ---- HTML on a phone: the page no wider than a 400 px screen ----------------
# Headless Chromium's window is at least 500 px wide, so the report is shown
# in a 400 px frame and measured there (documentElement scrollWidth against
# clientWidth, written into the title of the page that --dump-dom prints).
if command -v chromium >/dev/null; then
    cat > "$T/phone.html" <<'HTML'
<!DOCTYPE html><html><head><title>-</title></head><body style="margin:0">
<iframe id=f src="r.html" style="width:400px;height:800px;border:0"></iframe>
<script>document.getElementById('f').onload = function () {
  var d = document.getElementById('f').contentDocument.documentElement;
  document.title = d.scrollWidth + ' ' + d.clientWidth; };</script></body></html>
HTML
    got=$(timeout 120 chromium --headless --no-sandbox --disable-gpu \
        --allow-file-access-from-files --user-data-dir="$T/chromium" \
        --window-size=800,900 --virtual-time-budget=5000 --dump-dom \
        "file://$T/phone.html" 2>/dev/null |
        sed -n 's:.*<title>\([0-9]*\) \([0-9]*\)</title>.*:\1 \2:p')
    check "HTML at 400 px: the page fits the screen (scroll width, width: $got)" \
        test -n "$got" -a "${got% *}" -le "${got#* }"
fi
# ---- --diff and --history as HTML ---------------------------------------------
# Each page's entries, read back with Python's HTML parser, against the
# same run's JSON (another writer) and the generator's manifest (each
# file's MD5 in each snapshot); the header; the side file; the page on
# paper. The generated scenario names a file with HTML's special
# characters, an entity among them: the page must show the name as it is.
cat > "$T/hcheck.py" <<'PY'
import html.parser, json, re, sys

class Page(html.parser.HTMLParser):
    """Tables (by id) as rows of cell texts; nested tables hang on the row
    that holds them."""
    def __init__(self, path):
        super().__init__(convert_charrefs=True)
        self.tables, self.stack, self.cells, self.title, self.in_title = [], [], [], '', False
        self.feed(open(path, encoding='utf-8').read())
    def handle_starttag(self, tag, a):
        a = dict(a)
        if tag == 'table':
            t = {'id': a.get('id'), 'rows': []}
            if self.stack and self.stack[-1]['rows']:
                self.stack[-1]['rows'][-1]['tables'].append(t)
            self.tables.append(t)
            self.stack.append(t)
        elif tag == 'tr' and self.stack:
            self.stack[-1]['rows'].append({'cells': [], 'tables': [], 'class': a.get('class')})
        elif tag in ('td', 'th') and self.stack and self.stack[-1]['rows']:
            c = {'text': '', 'th': tag == 'th'}
            self.stack[-1]['rows'][-1]['cells'].append(c)
            self.cells.append(c)
        elif tag == 'br':
            self.handle_data('\n')
        elif tag == 'title':
            self.in_title = True
    def handle_endtag(self, tag):
        if tag == 'table' and self.stack:
            self.stack.pop()
        elif tag in ('td', 'th') and self.cells:
            self.cells.pop()
        elif tag == 'title':
            self.in_title = False
    def handle_data(self, d):
        for c in self.cells:
            c['text'] += d
        if self.in_title:
            self.title += d
    def table(self, id):
        return next((t for t in self.tables if t['id'] == id), {'rows': []})
    def body_rows(self, id):
        return [[c['text'].strip() for c in r['cells']] for r in self.table(id)['rows']
                if r['cells'] and not r['cells'][0]['th']]

def out(ok, what):
    print(('ok   ' if ok else 'FAIL ') + what)

def digests(text):
    return dict(re.findall(r'\b(md5|sha1|sha256)\s+([0-9a-f]{32,64})\b', text))

def diff_entries(page):
    """The changes table: one dict per entry, sides A and B as (path,
    size, bytes lost, bytes unverified, hashes)."""
    rows = page.table('changes')['rows']
    got = []
    for i, r in enumerate(rows):
        if r['class'] != 'top':
            continue
        kind, path, rs, sa, ma, sb, mb, np = [c['text'].strip() for c in r['cells']]
        pa, pb = path.split(' \u2192 ') if ' \u2192 ' in path else (path, path)
        h = {}
        for t in rows[i + 1]['tables']:
            for hr in t['rows']:
                h[hr['cells'][0]['text'].strip()] = digests(hr['cells'][1]['text'])
        lost = {(s, w): int(n) for s, n, w in re.findall(r'([AB]): (\d+) bytes (lost|unverified)', np)}
        e = {'change': kind, 'record-seq': rs}
        for side, p, size in (('A', pa, sa), ('B', pb, sb)):
            if size != '-':
                e[side] = (p, int(size), lost.get((side, 'lost'), 0),
                           lost.get((side, 'unverified'), 0), h.get(side))
        got.append(e)
    return got

def diff_json(j):
    want = []
    for c in j['changes']:
        e = {'change': c['change'], 'record-seq': '%d-%d' % (c['record'], c['sequence'])}
        for side in ('a', 'b'):
            if side in c:
                s = c[side]
                e[side.upper()] = (s['path'], s['size'], s['bytes_lost'], s['bytes_unverified'], s['hashes'])
        want.append(e)
    return want

def cmd_diff(jf, hf, manifest=None, a=None, b=None):
    j, page = json.load(open(jf)), Page(hf)
    got, want = diff_entries(page), diff_json(j)
    first = next(((g, w) for g, w in zip(got, want) if g != w), (len(got), len(want)))
    out(got == want and len(got) > 0,
        "diff HTML: all %d entries (change, paths, record, sizes, bytes not preserved by side, hashes) = the JSON's" % len(want)
        + ('' if got == want else ': first difference %r' % (first,)))
    s = j['summary']
    npa = sum(1 for c in j['changes'] if 'a' in c and (c['a']['bytes_lost'] or c['a']['bytes_unverified']))
    npb = sum(1 for c in j['changes'] if 'b' in c and (c['b']['bytes_lost'] or c['b']['bytes_unverified']))
    want_c = [str(s[k]) for k in ('added', 'deleted', 'modified', 'renamed', 'undetermined', 'unchanged')] + [str(npa), str(npb)]
    out(page.body_rows('counts') == [want_c], "diff HTML: summary counts %s = the JSON's" % ' '.join(want_c))
    if manifest:
        m = json.load(open(manifest))
        snap = {s['index']: {f['path']: f['md5'] for f in s['files']} for s in m['snapshots']}
        A, B = snap[int(a)], snap[int(b)]
        exp = {p: (A.get(p), B.get(p)) for p in set(A) | set(B) if A.get(p) != B.get(p)}
        have = {}
        for e in got:  # a deleted file and a new one at its name meet
            p = (e.get('A') or e.get('B'))[0]
            old = have.get(p, (None, None))
            have[p] = (e['A'][4]['md5'] if 'A' in e else old[0], e['B'][4]['md5'] if 'B' in e else old[1])
        out(have == exp, 'diff HTML: every changed file and its MD5 on each side = the manifest (%d files)' % len(exp)
            + ('' if have == exp else ': %r != %r' % (have, exp)))

def hist_json_rows(j):
    return [[str(v['version']), ', '.join(str(s) for s in v['snapshots']),
             '%d-%d' % (v['record'], v['sequence']), v['type'], str(v['size']), v['status'],
             v['modified'], str(sum(s['lost_zero'] for s in v['streams'])),
             str(sum(s['lost_stale'] for s in v['streams']))] for v in j['versions']]

def stream_rows(page, version):
    """(main row cells, {label: text} of its hashes row) per stream."""
    rows = page.table('streams%d' % version)['rows']
    res = []
    for i, r in enumerate(rows):
        if r['class'] == 'top':
            sub = {hr['cells'][0]['text']: hr['cells'][1]['text'].strip()
                   for t in rows[i + 1]['tables'] for hr in t['rows']}
            res.append(([c['text'].strip() for c in r['cells']], sub))
    return res

def cmd_history(jf, hf, manifest=None, path=None):
    j, page = json.load(open(jf)), Page(hf)
    got, want = page.body_rows('versions'), hist_json_rows(j)
    out(got == want and len(got) > 0,
        "history HTML: all %d versions (sources, record, type, size, status, modified, bytes lost) = the JSON's" % len(want)
        + ('' if got == want else ': %r != %r' % (got, want)))
    bad, nranges = [], 0
    for v in j['versions']:
        rows = stream_rows(page, v['version'])
        if len(rows) != len(v['streams']):
            bad.append((v['version'], 'streams', len(rows), len(v['streams'])))
        for k, (s, (c, sub)) in enumerate(zip(v['streams'], rows)):
            ranges = [(int(x), int(y), int(n), cl, why) for x, y, n, cl, why in
                      re.findall(r'(\d+)-(\d+)\s+(\d+) bytes\s+(zero|stale)\s+\(([^)]*)\)', c[5])]
            jr = [(l['offset'], l['offset'] + l['length'], l['length'], l['class'], l['reason']) for l in s['lost']]
            nranges += len(jr)
            hd = digests(sub.get('hashes', '') + sub.get('as Windows returns it (not preserved bytes included)', ''))
            jd = {a: s[a] for a in ('md5', 'sha1', 'sha256') if a in s}
            written = sub.get('written to')
            jw = (v.get('exported') or [None] * len(v['streams']))[k]
            rec = (re.search(r'recovered as of snapshot (\d+)', c[6]) or [None, None])[1]
            jrec = str(s['recovered']['from_snapshot']) if s['recoverable'] else None
            g = (c[0] if s['name'] else '', int(c[1]), c[2], int(c[3]), int(c[4]), ranges, hd, written,
                 rec, sub.get('recovered written to'))
            w = (s['name'], s['size'], s['status'], s['lost_zero'], s['lost_stale'], jr, jd, jw,
                 jrec, (s.get('recovered') or {}).get('file'))
            if g != w:
                bad.append((g, w))
    out(not bad, "history HTML: every stream (status, bytes lost, all %d lost ranges, hashes, recovery, files written) = the JSON's" % nranges
        + ('' if not bad else ': %r' % bad[:2]))
    if manifest:
        m = json.load(open(manifest))
        exp = {s['index']: f['md5'] for s in m['snapshots'] for f in s['files'] if f['path'] == path}
        have = {}
        for v in j['versions']:
            md5 = digests(stream_rows(page, v['version'])[0][1].get('hashes', '')).get('md5')
            have.update({s: md5 for s in v['snapshots'] if s != 'live'})
        out(have == exp and len(exp) > 0, "history HTML: the version's MD5 in each snapshot = the manifest's %r" % exp
            + ('' if have == exp else ': got %r' % have))

def cmd_header(hf, case, examiner, notes, sha):
    page, name = Page(hf), hf.split('/')[-1]
    meta = {r['cells'][0]['text']: r['cells'][1]['text'] for r in page.tables[0]['rows'] if len(r['cells']) == 2}
    out((meta.get('case'), meta.get('examiner'), meta.get('notes')) == (case, examiner, notes),
        'HTML %s: case, examiner, notes in the header' % name)
    out(re.search(r'SHA-256 \(computed\): ' + sha, meta.get('image 1', '')) is not None,
        'HTML %s: the image SHA-256 = sha256sum' % name)
    out(page.title.endswith(', case ' + case), 'HTML %s: the case in the page title' % name)

def cmd_pdf(txt, raw, hf, kind):
    """The printed page shows every entry, every not-preserved mark (on its
    line as laid out, or in reading order when its cell wrapped it), and
    numbers its pages."""
    text = open(txt).read()
    pages = [p for p in text.split('\f') if p.strip()]
    flat = re.sub(r'\s+', ' ', text)
    flat_raw = re.sub(r'\s+', ' ', open(raw).read())
    page = Page(hf)
    if kind == 'diff':
        es = diff_entries(page)
        keys = [e['record-seq'] for e in es]
        marks = max(len(re.findall(r'\b[AB]: \d+ bytes (?:lost|unverified)', t)) for t in (flat, flat_raw))
        want_marks = sum((e[s][2] > 0) + (e[s][3] > 0) for e in es for s in 'AB' if s in e)
        label = 'Volume Shadow Copy diff'
    else:
        keys = ['Version %s' % r[0] for r in page.body_rows('versions')]
        marks = max(len(re.findall(r'\b\d+-\d+ \d+ bytes (?:zero|stale)\b', t)) for t in (flat, flat_raw))
        want_marks = sum(len(re.findall(r'\d+-\d+\s+\d+ bytes\s+(?:zero|stale)', c[5]))
                         for r in page.body_rows('versions') for c, _ in stream_rows(page, int(r[0])))
        label = 'Volume Shadow Copy file history'
    missing = [k for k in set(keys)
               if len(re.findall(r'(?<![\w.-])' + re.escape(k) + r'(?![\w-])', flat)) < keys.count(k)]
    out(len(keys) > 0 and not missing, 'PDF of the %s page: all %d entries printed' % (kind, len(keys))
        + ('' if not missing else ': missing %r' % missing[:5]))
    out(marks == want_marks, 'PDF of the %s page: every not-preserved mark printed (%d of %d)' % (kind, marks, want_marks))
    numbered = all(('page %d of %d' % (i + 1, len(pages))) in p and label in p for i, p in enumerate(pages))
    out(numbered, 'PDF of the %s page: %d page(s), each "page N of %d" and "%s"' % (kind, len(pages), len(pages), label))

{'diff': cmd_diff, 'history': cmd_history, 'header': cmd_header, 'pdf': cmd_pdf}[sys.argv[1]](*sys.argv[2:])
PY
hcheck() {
    local out
    out=$("$PY" "$T/hcheck.py" "$@" 2>&1)
    echo "$out"
    PASS=$((PASS + $(grep -c '^ok' <<<"$out")))
    FAIL=$((FAIL + $(grep -c '^FAIL' <<<"$out")))
    grep -q '^ok\|^FAIL' <<<"$out" || bad "hcheck $1: $out"
}
HOSTILE="/d/<b>&amp;x'.txt"
if make -s -C testimages vssgen >/dev/null 2>&1; then
    cat > "$T/hostile.scn" <<EOF
name         hostile
windows      10
seed         18
volume_size  32M
layout       none
store_size   2M
machine      WIN-HTML
time         2022-02-01T08:00:00.0000000Z
mkdir  /d
create "$HOSTILE" size=40K data="text:first text "
create /d/gone.txt size=8K
advance 3600
snapshot
overwrite "$HOSTILE" offset=0 size=100 data="text:second text "
delete /d/gone.txt
create /d/new.txt size=4K
advance 3600
snapshot
rename "$HOSTILE" to=/d/renamed.txt
EOF
    testimages/vssgen -o "$T/gen" "$T/hostile.scn" >/dev/null
    H=$T/gen/hostile.img
    H_SHA256=$(sha256sum < "$H" | cut -d' ' -f1)
    (cd "$T" && "$V" --diff 1:2 --html hd.html --case "$CASE" --examiner "$EXAMINER" \
        --notes "$NOTES" --image-hash sha256 --no-progress "$H" > hd.txt)
    check "--diff --html: status 0" test $? -eq 0
    "$V" --diff 1:2 --json --no-progress "$H" > "$T/hd.json"
    hcheck diff "$T/hd.json" "$T/hd.html" "${H%.img}.json" 1 2
    hcheck header "$T/hd.html" "$CASE" "$EXAMINER" "$NOTES" "$H_SHA256"
    (cd "$T" && "$V" --history "$HOSTILE" --hash md5,sha256 --export-versions hx \
        --html hh.html --case "$CASE" --examiner "$EXAMINER" --notes "$NOTES" \
        --image-hash sha256 "$H" > hh.out)
    check "--history --export-versions --html: status 0" test $? -eq 0
    # the names of the files written: the manifest's (another writer)
    hcheck history "$T/hx/manifest.json" "$T/hh.html" "${H%.img}.json" "$HOSTILE"
    hcheck header "$T/hh.html" "$CASE" "$EXAMINER" "$NOTES" "$H_SHA256"
    check "--history --html: each file the page says was written is there" "$PY" -c "
import re, sys, os, html
names = re.findall(r'<td>written to</td><td><code>([^<]*)</code>', open(sys.argv[1]).read())
sys.exit(not names or not all(os.path.isfile(os.path.join(sys.argv[2], html.unescape(n))) for n in names))" "$T/hh.html" "$T/hx"
    for f in hd.html hh.html; do
        check "$f.sha256 verifies with sha256sum -c" bash -c "cd '$T' && sha256sum --quiet -c $f.sha256"
    done
    check "HTML: the hostile name escaped in both pages, never raw" \
        bash -c "! grep -qF '<b>&amp;x' '$T/hd.html' '$T/hh.html' &&
                 grep -qF \"&lt;b&gt;&amp;amp;x'.txt\" '$T/hd.html' &&
                 grep -qF \"&lt;b&gt;&amp;amp;x'.txt\" '$T/hh.html'"
else
    bad "make -C testimages vssgen failed"
fi
# a damaged version (bytes lost: zeros) the audit recovers (win10scope)
W10=$PWD/testimages/out/win10scope.img
if [ -e "$W10" ]; then
    (cd "$T" && "$V" --history Users/bob/Documents/photo.jpg --hash md5 \
        --export-versions wx --recover --html wh.html "$W10" > /dev/null)
    hcheck history "$T/wx/manifest.json" "$T/wh.html"
    check "--history --html: the damaged version and its lost range shown as lost (zero)" \
        grep -q 'bytes <span class="st damaged">zero</span>' "$T/wh.html"
fi
if [ -e "$WORK/real/vss_2003.raw" ]; then
    # a real image: 93 changes, 58 with bytes snapshot 1 did not preserve;
    # a file history with a range Windows returns stale
    R3=$WORK/real/vss_2003.raw
    RF="Копия (10) Текстовый документ.txt"
    "$V" --diff 1:2 --html "$T/rd.html" --no-progress "$R3" > /dev/null
    "$V" --diff 1:2 --json --no-progress "$R3" > "$T/rd.json"
    hcheck diff "$T/rd.json" "$T/rd.html"
    "$V" --history "$RF" --hash sha1 --html "$T/rh.html" "$R3" > /dev/null
    "$V" --history "$RF" --hash sha1 --json "$R3" > "$T/rh.json"
    hcheck history "$T/rh.json" "$T/rh.html"
else
    skip "--diff/--history --html on a real image: $WORK/real/vss_2003.raw is absent (tests/lib.sh prepare_real)"
fi
if command -v chromium >/dev/null && command -v pdftotext >/dev/null; then
    for p in rd:diff rh:history hd:diff hh:history; do
        f=${p%:*}
        [ -e "$T/$f.html" ] || continue
        case "$f" in h?) [ -e "$T/r${f#h}.html" ] && continue ;; esac # one of each
        timeout 120 chromium --headless --no-sandbox --disable-gpu \
            --user-data-dir="$T/chromium" --no-pdf-header-footer \
            --print-to-pdf="$T/$f.pdf" "file://$T/$f.html" >/dev/null 2>&1
        # as laid out, and in reading order (a cell's wrapped lines together)
        pdftotext -layout "$T/$f.pdf" "$T/$f.pdf.txt" 2>/dev/null
        pdftotext "$T/$f.pdf" "$T/$f.pdf.raw" 2>/dev/null
        hcheck pdf "$T/$f.pdf.txt" "$T/$f.pdf.raw" "$T/$f.html" "${p#*:}"
    done
fi
"$V" --diff 1:2 --audit-blocks "$IMG" >/dev/null 2>&1
same "usage: --diff with --audit-blocks: status 2" "$?" 2
"$V" --ls 1 --html "$T/x.html" "$IMG" >/dev/null 2>&1
same "usage: --ls with --html: status 2" "$?" 2
# An existing --html page is never replaced without --force (as --output):
# status 2, the message says so, the page and its seal stay as they were.
sha() { sha256sum "$@" | cut -d' ' -f1; }
before=$(sha "$T/g.html" "$T/g.html.sha256")
err=$("$V" --audit 1 --no-progress --html "$T/g.html" "$IMG" 2>&1 >/dev/null)
same "--html over an existing page: status 2" "$?" 2
check "--html over an existing page: says so ($err)" \
    grep -q -- "--html $T/g.html exists; --force replaces it" <<<"$err"
same "--html over an existing page: page and seal unchanged" "$(sha "$T/g.html" "$T/g.html.sha256")" "$before"
"$V" --audit 1 --no-progress --force --html "$T/g.html" "$IMG" >/dev/null 2>&1
same "--html --force over an existing page: status 0" "$?" 0
check "--html --force: the new page's seal checks" \
    bash -c 'cd "$(dirname "$1")" && sha256sum --quiet -c "$1.sha256"' _ "$T/g.html"
# Files are created with O_EXCL (vssinfo/output.c): the early check holds
# until the file is vssinfo's. A dangling symbolic link passes that check
# (stat finds nothing) but is a name that exists: refused, and nothing is
# created where it points (--output of --audit, --file and --extract,
# --html of --audit and --history).
mkdir -p "$T/links"
n=0
for spec in "--audit 1 --output" "--file 1:\$Boot --output" "--extract 1 --output" \
    "--audit 1 --html" "--history \$Boot --html"; do
    n=$((n + 1))
    ln -sf "$T/links/target$n" "$T/links/link$n"
    # shellcheck disable=SC2086
    "$V" --no-progress $spec "$T/links/link$n" "$IMG" >/dev/null 2>"$T/links/err$n"
    rc=$?
    check "$spec onto a dangling symbolic link: refused (status $rc)" [ "$rc" -ne 0 ]
    check "$spec onto a dangling symbolic link: says it exists ($(head -c 200 "$T/links/err$n"))" \
        grep -q "exists; --force replaces it" "$T/links/err$n"
    check "$spec onto a dangling symbolic link: nothing created where it points" \
        [ ! -e "$T/links/target$n" ]
done
# Devices are written to as they are, whatever the option: /dev/null takes
# --output and --html, and no seal is written beside it (/dev/null.sha256).
for spec in "--audit 1 --output /dev/null" "--audit 1 --html /dev/null" \
    "--history \$Boot --html /dev/null" "--extract 1 --output /dev/null"; do
    # shellcheck disable=SC2086
    "$V" --no-progress $spec "$IMG" >/dev/null 2>"$T/devnull.err"
    same "$spec: status 0 ($(head -c 200 "$T/devnull.err"))" "$?" 0
done
check "no /dev/null.sha256 was written" [ ! -e /dev/null.sha256 ]
finish

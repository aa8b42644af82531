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
check "text: generated (UTC) is now" python3 -c "
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
    off=$(python3 -c "import json,sys;print(json.load(open(sys.argv[1]))['volume_offset'])" "$T/r.json")
    vshadowinfo -o "$off" "$IMG" > "$T/vshadowinfo.txt" 2>/dev/null
    out=$(python3 - "$T/r.json" "$T/vshadowinfo.txt" "$CASE" "$EXAMINER" "$IMG" "$IMG_MD5" <<'PY'
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
VGUID=$(python3 -c "import json,sys;print([v for v in json.load(open(sys.argv[1]))['volumes'] if v['role']=='source'][0]['guid'])" "${IMG%.img}.json")
"$V" --audit 1 --csv --no-progress "$IMG" > "$T/g.csv"
"$V" --audit 1 --no-progress --html "$T/g.html" "$IMG" > "$T/g.txt"
same "volume GUID = the manifest's: text, JSON, CSV #volume, HTML" \
    "$(sed -n 's/^Volume .*volume GUID \([0-9a-f-]*\)$/\1/p' "$T/g.txt") $(python3 -c "import json,sys;print(json.load(open(sys.argv[1]))['report']['volume_guid'])" "$T/r.json") $(sed -n 's/^#volume,.*volume GUID \([0-9a-f-]*\)$/\1/p' "$T/g.csv") $(sed -n 's:.*volume GUID <code>\([0-9a-f-]*\)</code>.*:\1:p' "$T/g.html")" \
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
    "$(python3 -c "import json,sys;r=json.load(open(sys.argv[1]))['report'];print(r['case'],[s['index'] for s in r['snapshots']])" "$T/d.json")" \
    "$CASE [1, 2]"
"$V" --diff 1:live --examiner "$EXAMINER" --no-progress "$IMG" > "$T/d.txt"
check "--diff text: examiner in the header" grep -qxF "Examiner       : $EXAMINER" "$T/d.txt"

# ---- CSV: "#key,value" records, then the header; --csv-bom -----------------
"$V" --audit all --csv --csv-bom --case "$CASE" --no-progress "$IMG" > "$T/r.csv"
same "--csv-bom: starts with the UTF-8 byte order mark" "$(head -c3 "$T/r.csv" | xxd -p)" efbbbf
out=$(python3 - "$T/r.csv" "$CASE" "$T/r.json" <<'PY'
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
check "--diff --csv: #notes record, then the header" python3 -c "
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
    got=$(python3 -c "
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
    out=$(python3 - "$T/r.pdf.txt" "$T/r.json" "$CASE" "$EXAMINER" "$IMG_SHA256" <<'PY'
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
        got=$(python3 - "$T/m.pdf.txt" <<'PY'
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
finish

#!/usr/bin/env bash
# tests/test_audit.sh — the corruption audit (issue #5): vssinfo --audit and
# --diff against truth.
#  1. generated images (testimages/, built with make -C testimages): for
#     every snapshot the audit names exactly the damaged files and FILE byte
#     ranges of the manifest (zero_ranges on 0x400 volumes, live_ranges on
#     0x40), no damage elsewhere, the true hashes on intact files and on
#     recovered ones (tests/audit_check.py generated); plus a scenario of our
#     own (tests/audit/win7scope.scn, generated into a temporary directory)
#     for the 0x40 "stale" case, recovery and the newer-store difference;
#  2. the real Windows images (../shared): the audit completes, and its
#     hashes equal vssinfo --file's and The Sleuth Kit's icat on the live
#     volume and on extracted snapshots (tests/audit_check.py real);
#  3. command-line errors and the progress bar (only on a terminal).
# Temporary files go to mktemp -d, never next to an image. Skips cleanly
# without the tools or ../shared. Ends with "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh

if [ ! -x "$VSSINFO" ]; then
    bad "$VSSINFO is not built (run make)"
    finish
    exit 1
fi
if ! command -v python3 >/dev/null; then
    echo "skip: python3 is not installed"
    finish
    exit 0
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/libvss-audit.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# A private copy: a concurrent `make` must not swap the binary mid-test.
cp "$VSSINFO" "$tmp/vssinfo" && VSSINFO=$tmp/vssinfo

tally() { # output of a checker: print, add its counts (a checker that
    # died before its "N passed, N failed" line counts as one failure)
    local out=$1 last
    echo "$out" | grep -v '^[0-9]* passed'
    last=$(echo "$out" | tail -1)
    if [[ $last =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
        PASS=$((PASS + BASH_REMATCH[1]))
        FAIL=$((FAIL + BASH_REMATCH[2]))
    else
        bad "checker ended without its summary line"
    fi
}

# ---- 1. generated images ------------------------------------------------------
gen_ok=1
for need in mkntfs; do
    command -v $need >/dev/null || gen_ok=0
done
[ -e /usr/include/ntfs-3g/volume.h ] || gen_ok=0
if [ $gen_ok = 0 ]; then
    skip "generated images: mkntfs / ntfs-3g-dev missing (make deps)"
elif ! make -s -C testimages >"$tmp/make.log" 2>&1; then
    cat "$tmp/make.log"
    bad "make -C testimages failed"
else
    for m in win10scope win7 many redirpart redirimage; do
        [ -e "testimages/out/$m.json" ] || { bad "testimages/out/$m.json missing"; continue; }
        tally "$(python3 tests/audit_check.py generated "$VSSINFO" "testimages/out/$m.json" "$tmp")"
    done
    mkdir -p "$tmp/gen"
    if testimages/vssgen -o "$tmp/gen" tests/audit/win7scope.scn >"$tmp/gen.log" 2>&1; then
        tally "$(python3 tests/audit_check.py generated "$VSSINFO" "$tmp/gen/win7scope.json" "$tmp")"
    else
        cat "$tmp/gen.log"
        bad "vssgen tests/audit/win7scope.scn failed"
    fi
    rm -rf "$tmp/gen"

    # The IIJ table, on the ScopeSnapshots image: photo.jpg in snapshot 3
    # lost all but its first 12 KiB; recovered from the live volume its MD5
    # is the true one (manifest), thesis.docx cannot be recovered.
    img=testimages/out/win10scope.img
    out=$("$VSSINFO" -o 1048576 --audit 3 --hash md5 --no-progress "$img")
    check "text: photo.jpg damaged in snapshot 3, recoverable" \
        grep -Eq '^damaged +71-2 +2097152 +2084864 +0 +differs +yes .*/Users/bob/Documents/photo.jpg$' <<<"$out"
    want=$(python3 -c "import json;m=json.load(open('testimages/out/win10scope.json'));print([f['md5'] for f in m['snapshots'][2]['files'] if f['path'].endswith('photo.jpg')][0])")
    check "text: recovered MD5 of photo.jpg = the manifest's true MD5" \
        grep -q "recovered md5 $want" <<<"$out"
    check "text: thesis.docx not recoverable (size changed)" \
        grep -q "not recoverable: the live file's size differs" <<<"$out"
    check "text: summary line" \
        grep -q '^Snapshot 3: 8 files audited: 5 intact (1 unchanged, 3 resident), 3 damaged, 0 unverified, 3.2 MiB (3354624 bytes) lost, 0 B (0 bytes) unverified, 2 recoverable' <<<"$out"
    out=$("$VSSINFO" -o 1048576 --audit '1:/Users/bob/Documents' --no-progress --json "$img")
    n=$(python3 -c "import json,sys;d=json.load(sys.stdin);print(len(d['snapshots'][0]['files']))" <<<"$out")
    same "--audit N:PATH audits the subtree only" "$n" 5
    # a path with or without its leading slash (the man page's own example
    # is '--audit 2:Users'): the same files, the same hashes
    files_of() { python3 -c "import json,sys;d=json.load(sys.stdin);print(sorted((f['path'],f['status'],f['hashes']['md5']) for s in d['snapshots'] for f in s['files']))"; }
    a=$("$VSSINFO" -o 1048576 --audit '2:Users' --no-progress --json "$img" 2>"$tmp/err" | files_of); rc=$?
    b=$("$VSSINFO" -o 1048576 --audit '2:/Users' --no-progress --json "$img" | files_of)
    check "--audit 2:Users (no leading slash) = --audit 2:/Users" \
        bash -c '[ "$1" = 0 ] && [ "$2" = "$3" ] && [ "$2" != "[]" ] && [ ! -s "$4" ]' _ $rc "$a" "$b" "$tmp/err"
    changes_of() { python3 -c "import json,sys;d=json.load(sys.stdin);print(d['path'],sorted((c['change'],(c.get('b') or c['a'])['path']) for c in d['changes']))"; }
    a=$("$VSSINFO" -o 1048576 --diff '1:live:Users/bob' --no-progress --json "$img" | changes_of)
    b=$("$VSSINFO" -o 1048576 --diff '1:live:/Users/bob' --no-progress --json "$img" | changes_of)
    c=$("$VSSINFO" -o 1048576 --diff '1:live' --no-progress --json "$img" | python3 -c "import json,sys;d=json.load(sys.stdin);print('/Users/bob',sorted((c['change'],(c.get('b') or c['a'])['path']) for c in d['changes'] if (c.get('b') or c['a'])['path'].startswith('/Users/bob/')))")
    check "--diff 1:live:Users/bob = :/Users/bob = the /Users/bob part of --diff 1:live" \
        bash -c '[ "$1" = "$2" ] && [ "$2" = "$3" ] && grep -q photo.jpg <<<"$1"' _ "$a" "$b" "$c"

    # A snapshot subtree that indexes no file (the shadow copy files are
    # left out): an empty audit, no sort of an empty array (UBSan aborted
    # the sanitizer build there)
    out=$("$VSSINFO" -o 1048576 --audit '1:System Volume Information' --no-progress --json "$img"); rc=$?
    n=$(python3 -c "import json,sys;d=json.load(sys.stdin);print(d['summary']['files'])" <<<"$out")
    check "--audit of a subtree with no file: exit 0, 0 files" \
        bash -c '[ "$1" = 0 ] && [ "$2" = 0 ]' _ $rc "$n"

    # A hostile copy: the live MFT record of /Windows/win.ini broken (its
    # first sector's update sequence number). The man page: exit 1 when
    # something could not be read; the record is named, and the file's
    # live state is 'unreadable', not 'deleted'.
    python3 - "$img" "$tmp/hostile.img" <<'PY'
import shutil, struct, sys
shutil.copyfile(sys.argv[1], sys.argv[2])
base = 1048576
with open(sys.argv[2], "r+b") as f:
    f.seek(base)
    bs = f.read(512)
    bps, spc = struct.unpack_from("<H", bs, 11)[0], bs[13]
    mft = struct.unpack_from("<Q", bs, 0x30)[0]
    cpr = struct.unpack_from("<b", bs, 0x40)[0]
    rs = cpr * bps * spc if cpr > 0 else 1 << -cpr
    f.seek(base + mft * bps * spc + 72 * rs + bps - 2)
    f.write(b"\xde\xad")
PY
    out=$("$VSSINFO" -o 1048576 --audit 3 --no-progress --json "$tmp/hostile.img" 2>"$tmp/err"); rc=$?
    st=$(python3 -c "import json,sys;d=json.load(sys.stdin);print(*[f['live']['state'] for f in d['snapshots'][0]['files'] if f['path']=='/Windows/win.ini'], d['live_walk_errors'])" <<<"$out")
    check "--audit with an unreadable live MFT record: exit 1, record named, live state unreadable" \
        bash -c '[ "$1" = 1 ] && grep -q "MFT record 72" "$2" && [ "$3" = "unreadable 1" ]' _ $rc "$tmp/err" "$st"
    "$VSSINFO" -o 1048576 --diff 3:live --no-progress "$tmp/hostile.img" >/dev/null 2>&1; rc=$?
    same "--diff with an unreadable live MFT record: exit 1" $rc 1
    rm -f "$tmp/hostile.img"
    out=$("$VSSINFO" -o 1048576 --audit 2 --audit-blocks --no-progress "$img")
    check "--audit-blocks: thesis.docx blocks 'gap' (null-filled) vs live" \
        grep -Eq 'block +0 @0 +gap +snapshot' <<<"$out"
    out=$("$VSSINFO" -o 1048576 --audit 1 --hash sha1 --csv --no-progress "$img")
    check "--hash sha1 --csv: sha1 columns" \
        grep -q '^snapshot,path,record,sequence,size,status,resident,record_damaged,bytes_lost,bytes_unverified,not_preserved_ranges,stale_source,stale_source_reason,sha1,live_state' <<<"$out"
    out=$("$VSSINFO" -o 1048576 --diff 3:live --no-progress "$img")
    check "--diff 3:live: tiny.txt modified, thesis.docx modified" \
        bash -c 'grep -Eq "^modified .*/tiny.txt" <<<"$1" && grep -Eq "^modified .*/thesis.docx" <<<"$1"' _ "$out"

    # The HTML page in a real browser, when one is installed (Debian
    # chromium): it must render; docs/audit-report.png was made so.
    if command -v chromium >/dev/null; then
        "$VSSINFO" -o 1048576 --audit all --no-progress --html "$tmp/r.html" "$img" >/dev/null
        mkdir -p "$tmp/chr"
        timeout 120 chromium --headless --no-sandbox --disable-gpu \
            --disable-background-networking --disable-component-update \
            --disable-sync --no-first-run --user-data-dir="$tmp/chr" \
            --screenshot="$tmp/r.png" --window-size=1280,1600 \
            "file://$tmp/r.html" >/dev/null 2>&1
        check "chromium renders the HTML report (screenshot)" \
            test -s "$tmp/r.png"
        dom=$(timeout 120 chromium --headless --no-sandbox --disable-gpu \
            --disable-background-networking --disable-component-update \
            --disable-sync --no-first-run --user-data-dir="$tmp/chr" \
            --dump-dom "file://$tmp/r.html" 2>/dev/null)
        check "chromium's DOM holds the summary table and 3 SVG strips" \
            bash -c '[ "$(grep -o "<svg class=\"strip\"" <<<"$1" | wc -l)" = 3 ] && grep -q "bytes lost" <<<"$1"' _ "$dom"
    else
        skip "HTML in a browser: chromium is not installed"
    fi

    # The progress bar only on a terminal (script(1) gives one).
    if command -v script >/dev/null; then
        script -qec "$VSSINFO -o 1048576 --audit all $img >/dev/null" /dev/null >"$tmp/tty" 2>&1
        check "progress bar on a terminal" grep -q '\[audit\]' "$tmp/tty"
    fi
    "$VSSINFO" -o 1048576 --audit all "$img" >/dev/null 2>"$tmp/err"
    check "quiet when stderr is not a terminal" test ! -s "$tmp/err"
fi

# ---- 3. usage errors ----------------------------------------------------------------
img=testimages/out/win10scope.img
if [ -e "$img" ]; then
    "$VSSINFO" -o 1048576 --audit 9 "$img" >/dev/null 2>"$tmp/err"; rc=$?
    check "--audit 9 on 3 snapshots: exit 1, message" \
        bash -c '[ "$1" = 1 ] && grep -q "has 3 snapshots" "$2"' _ $rc "$tmp/err"
    "$VSSINFO" -o 1048576 --audit x "$img" >/dev/null 2>&1; rc=$?
    same "--audit x: usage error (2)" $rc 2
    "$VSSINFO" -o 1048576 --audit 1 --hash crc32 "$img" >/dev/null 2>&1; rc=$?
    same "--hash crc32: usage error (2)" $rc 2
    "$VSSINFO" -o 1048576 --hash md5 "$img" >/dev/null 2>&1; rc=$?
    same "--hash without --audit/--diff: usage error (2)" $rc 2
    "$VSSINFO" -o 1048576 --audit 1 --html "$img" "$img" >/dev/null 2>&1; rc=$?
    same "--html over the evidence image refused (2)" $rc 2
    "$VSSINFO" -o 1048576 --diff 1-2 "$img" >/dev/null 2>&1; rc=$?
    same "--diff 1-2: usage error (2)" $rc 2
fi

# ---- 2. real images ------------------------------------------------------------------
if ! have_real; then
    skip "real images: $REAL is absent"
else
    tools=1
    for t in fls icat qemu-img; do command -v $t >/dev/null || tools=0; done
    if [ $tools = 0 ]; then
        skip "real images: sleuthkit / qemu-utils missing (make deps)"
    elif ! prepare_real; then
        bad "cannot extract the real images from $REAL into $WORK/real"
    else
        mkdir -p "$tmp/real"
        tally "$(python3 tests/audit_check.py real "$VSSINFO" "$WORK/real" "$tmp/real")"
    fi
fi
finish

#!/usr/bin/env bash
# vssinfo --history / --export-versions (issue #17) against independent
# truth: the generator's manifests (every copy of every file in every
# snapshot: tests/history_check.py), a scenario of our own with a rename
# and a replaced file, the known answers of the real Windows images, and
# The Sleuth Kit's icat and fls on extracted snapshots.
set -u
. "$(dirname "$0")/lib.sh"
require_tools icat fls python3
require_built "$VSSINFO"
if ! make -s -C "$ROOT/testimages" >/dev/null 2>&1; then
    bad "make -C testimages failed"
    finish; exit
fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
md5() { md5sum | cut -d' ' -f1; }
# jq-free JSON queries: hjson FILE EXPR (python, j = the document)
hjson() { python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1"; }

# (a) every file of every generated scenario, against its manifest
for m in "$ROOT"/testimages/out/*.json; do
    if grep -q '"file_hashes": *false\|"block_list": null' "$m"; then
        skip "$(basename "$m"): no per-file hashes (benchmark scenario)"
        continue
    fi
    out=$(python3 "$ROOT/tests/history_check.py" "$VSSINFO" "$m" "$T" 2>&1)
    echo "$out" | grep -v '^[0-9]* passed'
    last=$(echo "$out" | tail -1)
    n=$(echo "$last" | awk '/passed/{print $1+0; exit} {print 0}')
    f=$(echo "$last" | awk '/passed/{print $3+0; exit} {print 1}')
    PASS=$((PASS + n)); FAIL=$((FAIL + f))
    [ "$f" -eq 0 ] && echo "ok   (a) $(basename "$m" .json): $n checks against the manifest"
done

# (b) a file renamed between snapshots 1 and 2, and a new file at its old
# name before snapshot 3: followed by record and sequence, both shown.
cat > "$T/rn.scn" <<'EOF'
name         rn
windows      10
seed         5
volume_size  32M
layout       none
store_size   2M
machine      WIN-RN
time         2022-02-01T08:00:00.0000000Z
mkdir  /docs
create /docs/a.txt size=40K data="text:first file, first text "
advance 3600
snapshot
overwrite /docs/a.txt offset=0 size=100 data="text:second text "
rename /docs/a.txt to=/docs/b.txt
advance 3600
snapshot
create /docs/a.txt size=20K data="text:a new file at the old name "
advance 3600
snapshot
EOF
# The data rows of a CSV report: the header's "#key,value" records (the
# report metadata of issue #18) and the column line left out.
csv_rows() { grep -v '^#' "$1" | tail -n +2; }
if "$ROOT/testimages/vssgen" -o "$T/gen" "$T/rn.scn" >/dev/null 2>&1; then
    IMG=$T/gen/rn.img
    "$VSSINFO" --history docs/a.txt --hash md5 --json "$IMG" > "$T/h.json"
    same "(b) exit status of --history" "$?" 0
    same "(b) versions: holders and paths" \
        "$(hjson "$T/h.json" "' '.join('%s@%s' % (','.join(map(str, v['snapshots'])), v['paths'][-1]) for v in j['versions'])")" \
        "1@docs/a.txt 2,3,live@docs/b.txt 3,live@docs/a.txt"
    same "(b) the renamed file is the same record, the new one another" \
        "$(hjson "$T/h.json" "[v['record'] for v in j['versions']][0] == j['versions'][1]['record'] != j['versions'][2]['record']")" True
    out=$(python3 "$ROOT/tests/history_check.py" "$VSSINFO" "$T/gen/rn.json" "$T" 2>&1)
    same "(b) the rename scenario against its manifest" "$(echo "$out" | tail -1 | sed 's/^[0-9]* //')" "passed, 0 failed"
    rec=$(hjson "$T/h.json" "j['versions'][0]['record']")
    "$VSSINFO" --history "@$rec" --hash md5 --json "$IMG" > "$T/r.json"
    same "(b) --history @RECORD: the same file's versions" \
        "$(hjson "$T/r.json" "[v['md5'] for v in j['versions']]")" \
        "$(hjson "$T/h.json" "[v['md5'] for v in j['versions'][:2]]")"

    # (c) --export-versions: each version once, in sorted-name order, hashes
    # as the manifest says, never over an existing file
    out=$("$VSSINFO" --history docs/a.txt --export-versions "$T/ex" "$IMG" 2>&1)
    same "(c) --export-versions exit status" "$?" 0
    same "(c) files written, sorted by name = oldest first" \
        "$(cd "$T/ex" && ls | grep -v manifest | while read -r f; do md5sum < "$f" | cut -d' ' -f1; done | tr '\n' ' ')" \
        "$(hjson "$T/h.json" "' '.join(v['md5'] for v in j['versions'])") "
    same "(c) manifest.csv names each file with its MD5" \
        "$(csv_rows "$T/ex/manifest.csv" | awk -F, '{print $NF}' | while read -r f; do md5sum < "$T/ex/$f" | cut -d' ' -f1; done | tr '\n' ' ')" \
        "$(csv_rows "$T/ex/manifest.csv" | awk -F, '{print $20}' | tr '\n' ' ')"
    same "(c) manifest.json: verdicts" \
        "$(hjson "$T/ex/manifest.json" "[v['status'] for v in j['versions']]")" \
        "['intact', 'intact', 'intact']"
    check "(c) manifest.csv and manifest.json verify with sha256sum -c (their side files)" \
        bash -c 'cd "$1" && sha256sum --quiet -c manifest.csv.sha256 && sha256sum --quiet -c manifest.json.sha256' _ "$T/ex"
    same "(c) manifest.json carries the report header (tool, command line)" \
        "$(hjson "$T/ex/manifest.json" "(j['report']['tool'], '--export-versions' in j['report']['command_line'])")" \
        "('vssinfo', True)"
    # the case-file header of issue #18 on every history report format
    "$VSSINFO" --history docs/a.txt --case "C-17" --examiner "E. X." --json "$IMG" > "$T/m.json"
    same "(c) --history --json --case/--examiner: the report header" \
        "$(hjson "$T/m.json" "(j['report']['case'], j['report']['examiner'], [s['index'] for s in j['report']['snapshots']])")" \
        "('C-17', 'E. X.', [1, 2, 3])"
    "$VSSINFO" --history docs/a.txt --case "C-17" --csv "$IMG" > "$T/m.csv"
    check "(c) --history --csv: the header as #key,value records before the columns" \
        bash -c 'grep -qx "#case,C-17" "$1" && [ "$(grep -v "^#" "$1" | head -n 1 | cut -d, -f1)" = version ]' _ "$T/m.csv"
    "$VSSINFO" --history docs/a.txt --examiner "E. X." "$IMG" > "$T/m.txt"
    check "(c) --history text: the header names the examiner and the image" \
        bash -c 'grep -q "^Examiner *: E. X.$" "$1" && grep -qF "$2" "$1"' _ "$T/m.txt" "$IMG"
    before=$(cd "$T/ex" && md5sum ./* | md5)
    "$VSSINFO" --history docs/a.txt --export-versions "$T/ex" "$IMG" > /dev/null 2> "$T/err"
    same "(c) a second export into the same folder fails" "$?" 1
    check "(c) ... saying the files exist" grep -q "exists (never overwritten)" "$T/err"
    same "(c) ... and changes nothing" "$(cd "$T/ex" && md5sum ./* | md5)" "$before"
else
    bad "(b) vssgen could not build the rename scenario"
fi

# (d) errors: a path in no snapshot, a bad record number
"$VSSINFO" --history no/such/file "$ROOT/testimages/out/win7.img" > /dev/null 2> "$T/err"
same "(d) a missing file: exit 1" "$?" 1
check "(d) ... named in the message" grep -q "'no/such/file' is in none of the 2 snapshots" "$T/err"
"$VSSINFO" --history @x12 "$ROOT/testimages/out/win7.img" > /dev/null 2>&1
same "(d) a bad record number: exit 2" "$?" 2
"$VSSINFO" --export-versions "$T/x" "$ROOT/testimages/out/win7.img" > /dev/null 2>&1
same "(d) --export-versions without --history: exit 2" "$?" 2
"$VSSINFO" --history big.bin --recover "$ROOT/testimages/out/win7.img" > /dev/null 2>&1
same "(d) --recover without --export-versions: exit 2" "$?" 2

# (e) The Sleuth Kit reads each snapshot's copy from the extracted
# snapshot: icat of the record gives the version's MD5.
icat_versions() { # IMAGE-ARGS... -- PATH...: every version with holder k
    local args=() p k v rec want got
    while [ "$1" != -- ]; do args+=("$1"); shift; done; shift
    for p; do
        "$VSSINFO" --history "$p" --hash md5 --json "${args[@]}" > "$T/i.json"
        for k in $(hjson "$T/i.json" "' '.join(sorted({str(s) for v in j['versions'] for s in v['snapshots'] if s != 'live'}))"); do
            [ -e "$T/snap$k.raw" ] || "$VSSINFO" --extract "$k" --output "$T/snap$k.raw" "${args[@]}" > /dev/null
            v=$(hjson "$T/i.json" "[v for v in j['versions'] if $k in v['snapshots']][0]")
            rec=$(python3 -c "import sys; print(eval(sys.argv[1])['record'])" "$v")
            want=$(python3 -c "import sys; print(eval(sys.argv[1])['md5'])" "$v")
            got=$(icat "$T/snap$k.raw" "$rec" | md5)
            same "(e) $p in snapshot $k: icat $rec" "$got" "$want"
        done
    done
    [ -n "${KEEP_SNAPS:-}" ] || rm -f "$T"/snap*.raw
}
W7=$ROOT/testimages/out/win7.img
W7OFF=$(hjson "$ROOT/testimages/out/win7.json" "[v['offset'] for v in j['volumes'] if v['role']=='source'][0]")
KEEP_SNAPS=1 icat_versions -o "$W7OFF" "$W7" -- Users/alice/report.docx Users/alice/notes.txt big.bin small.txt

# (g) the timeline of several snapshots: each --ls all --bodyfile line of
# snapshot k is a line fls -m vssk prints for the extracted snapshot k
# (under /Users/: whole-volume lines differ for reasons test_files_generated
# names; the UID field left out: the generator writes the short NTFS 1.x
# $STANDARD_INFORMATION, where fls prints the bytes after it), and --unique keeps the first of the lines equal but for the
# prefix.
"$VSSINFO" -o "$W7OFF" --ls 1-2:Users -r --bodyfile "$W7" > "$T/body"
"$VSSINFO" -o "$W7OFF" --ls all:Users -r --bodyfile "$W7" > "$T/body_all"
for k in 1 2; do
    if [ -e "$T/snap$k.raw" ]; then
        same "(g) --ls 1-2 --bodyfile: the vss$k/Users lines are fls -m vss$k's" \
            "$(grep "^0|vss$k/Users/" "$T/body" | cut -d'|' -f1-4,6- | sort)" \
            "$(fls -r -m "vss$k" "$T/snap$k.raw" | grep "^0|vss$k/Users/" | cut -d'|' -f1-4,6- | sort)"
    else
        bad "(g) snapshot $k of win7 was not extracted"
    fi
done
same "(g) --ls all: the snapshots, then live/" \
    "$(cut -d'|' -f2 "$T/body_all" | cut -d/ -f1 | uniq | tr '\n' ' ')" "vss1 vss2 live "
"$VSSINFO" -o "$W7OFF" --ls all:Users -r --bodyfile --unique "$W7" > "$T/body_u"
same "(g) --unique: the first line of each kind, in order" \
    "$(python3 -c "
import re, sys
seen = set()
for l in open(sys.argv[1]):
    k = re.sub(r'^0\|(vss[0-9]+|live)/', '0|/', l)
    if k not in seen:
        seen.add(k)
        sys.stdout.write(l)" "$T/body_all" | md5)" "$(md5 < "$T/body_u")"
check "(g) --unique folds something here" test "$(wc -l < "$T/body_u")" -lt "$(wc -l < "$T/body_all")"
"$VSSINFO" -o "$W7OFF" --ls 1-3 "$W7" > /dev/null 2>&1
same "(g) --ls past the last snapshot: exit 2" "$?" 2
rm -f "$T"/snap*.raw

if have_real && prepare_real; then
    R=$WORK/real
    # (f) known answers (../shared/testimages/real/README.md): test.txt is
    # all '1' in snapshot 1, all '2' in snapshot 2, all '3' live, through
    # redirected storage on another image and on another partition
    k() { python3 -c "import hashlib,sys; print(hashlib.md5(sys.argv[1].encode()*int(sys.argv[2])).hexdigest())" "$@"; }
    "$VSSINFO" --history test.txt --hash md5 --csv "$R/vss_1_vol.raw" "$R/vss_2_stor.raw" > "$T/c.csv"
    same "(f) vss_1_vol (storage on vss_2_stor): test.txt, 3 versions" \
        "$(csv_rows "$T/c.csv" | awk -F, '{print $5 "=" $20}' | tr '\n' ' ')" \
        "1=$(k 1 703800) 2=$(k 2 703800) live=$(k 3 703800) "
    "$VSSINFO" --history test.txt --hash md5 --csv -o 2148532224 "$R/vss_3_volstor.raw" > "$T/c.csv"
    same "(f) vss_3_volstor partition 2: test.txt, 3 versions" \
        "$(csv_rows "$T/c.csv" | awk -F, '{print $5 "=" $20}' | tr '\n' ' ')" \
        "1=$(k 1 52272) 2=$(k 2 52272) live=$(k 3 52272) "
    # (e) on a real image: vsstest's snapshot 2 (1 GiB, extracted once;
    # its files are not in snapshot 1)
    icat_versions "$R/vsstest.raw" -- another_file syslog.gz

    # (h) --carved: a copy of vsstest with its catalog destroyed as
    # vssadmin delete shadows does (tests/carve_destroy.py); the history
    # over the carved stack is the original's, and so are the exported
    # versions and the --ls all timeline.
    cp --sparse=always "$R/vsstest.raw" "$T/carved.raw"
    python3 "$ROOT/tests/carve_destroy.py" "$T/carved.raw" 0 > /dev/null
    "$VSSINFO" "$T/carved.raw" > /dev/null 2>&1
    same "(h) the copy lists no snapshot (exit 3)" "$?" 3
    nohead() { python3 -c "import json,sys; d=json.load(sys.stdin); d.pop('report'); print(json.dumps(d, sort_keys=True))"; }
    for p in syslog.gz another_file "System Volume Information" @0; do
        "$VSSINFO" --history "$p" --hash md5,sha256 --json --carved "$T/carved.raw" | nohead > "$T/hc.json"
        "$VSSINFO" --history "$p" --hash md5,sha256 --json "$R/vsstest.raw" | nohead > "$T/ho.json"
        check "(h) --history $p --carved: the original's versions" \
            test -s "$T/ho.json" -a "$(md5 < "$T/hc.json")" = "$(md5 < "$T/ho.json")"
    done
    # not vacuous: the carved stack's snapshot 2 holds it (as the
    # original's catalog says)
    same "(h) ... syslog.gz --carved: held by carved snapshot 2 and live" \
        "$("$VSSINFO" --history syslog.gz --csv --carved "$T/carved.raw" | csv_rows /dev/stdin | cut -d, -f5)" "2;live"
    "$VSSINFO" --history syslog.gz --export-versions "$T/xc" --carved "$T/carved.raw" > /dev/null
    same "(h) --export-versions --carved: exit status" "$?" 0
    "$VSSINFO" --history syslog.gz --export-versions "$T/xo" "$R/vsstest.raw" > /dev/null
    same "(h) ... the original's files and contents" \
        "$(cd "$T/xc" && md5sum $(ls | grep -v manifest))" \
        "$(cd "$T/xo" && md5sum $(ls | grep -v manifest))"
    "$VSSINFO" --ls all -r --bodyfile --carved "$T/carved.raw" > "$T/bc"
    "$VSSINFO" --ls all -r --bodyfile "$R/vsstest.raw" > "$T/bo"
    check "(h) --ls all --carved -r --bodyfile: the original's timeline" \
        test -s "$T/bo" -a "$(md5 < "$T/bc")" = "$(md5 < "$T/bo")"
    rm -f "$T/carved.raw"
else
    skip "(e, f) the real Windows images are absent"
fi
finish

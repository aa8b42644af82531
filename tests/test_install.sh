#!/usr/bin/env bash
# libvss as an installed library (issue 14): the shared library's ABI (SONAME,
# dependencies, only vss_* exported, exactly what vss.h declares), `make
# install` into a DESTDIR (the file list, libvss.pc), the examples built
# from the installed tree with pkg-config (shared and static) and judged
# against independent truth (the generator's manifests, vshadowinfo, the
# Windows-made images' known answers), and `make uninstall` leaving nothing.
# sanitizer pass: skip (checks the installed files and exported symbols; the library code its examples call is run by the other scripts)
set -u
. "$(dirname "$0")/lib.sh"
require_tools pkg-config nm readelf python3 jq
cd "$ROOT" || exit 1
VERSION=$(sed -n 's/^#define VSS_VERSION_STRING "\([0-9.]*\)"$/\1/p' libvss/include/vss.h)
SONAME=libvss.so.${VERSION%%.*}
SO=$BUILD/libvss.so.$VERSION
require_built "$VSSINFO" "$SO"

T=$(mktemp -d "${TMPDIR:-/tmp}/libvss-install.XXXXXX")
trap 'rm -rf "$T"' EXIT

# A sanitizer build leaves the runtime to the executable: the examples must
# then be built with the same sanitizers (and cannot be linked -static).
SAN=
if nm -D --undefined-only "$SO" | grep -q ' __asan_'; then
    SAN="-fsanitize=address,undefined -fno-omit-frame-pointer"
    export CC=clang
fi

# ---- (a) the shared library ------------------------------------------------
dyn=$(readelf -d "$SO")
same "(a) SONAME" "$(echo "$dyn" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')" "$SONAME"
for dep in libntfs-3g.so libcrypto.so libz.so; do
    check "(a) DT_NEEDED $dep" grep -q "(NEEDED).*\[$dep\." <<<"$dyn"
done
# pthread is part of libc since glibc 2.34: what matters is that every
# symbol the library uses, pthread_* included, is bound to one of its
# DT_NEEDED libraries (ldd -r), apart from a sanitizer runtime.
undef=$(ldd -r "$SO" 2>&1 | grep 'undefined symbol' |
        grep -vE 'symbol: __(asan|ubsan|sanitizer|lsan)_' | head -5)
same "(a) no undefined symbol left (ldd -r)" "$undef" ""
check "(a) pthread used and bound" grep -q ' pthread_mutex_lock' \
    <(nm -D --undefined-only "$SO")
same "(a) build links" "$(readlink "$BUILD/$SONAME") $(readlink "$BUILD/libvss.so")" \
    "libvss.so.$VERSION $SONAME"
exported=$(nm -D --defined-only "$SO" | awk '{print $3}' | sed 's/@.*//' | sort)
same "(a) only vss_* symbols exported" "$(grep -v '^vss_' <<<"$exported")" ""
# Every function vss.h declares (VSS_API), and nothing else.
declared=$(python3 - libvss/include/vss.h <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
text = re.sub(r'/\*.*?\*/', ' ', text, flags=re.S)
text = re.sub(r'^#.*$', ' ', text, flags=re.M)
for name in sorted(set(re.findall(r'\bVSS_API\b[^;(]*?(\w+)\s*\(', text))):
    print(name)
EOF
)
same "(a) the exports are exactly vss.h's $(wc -l <<<"$declared") functions" \
    "$(diff <(echo "$declared") <(echo "$exported") | grep '^[<>]' | tr '\n' ' ')" ""

# ---- (b) make install into a DESTDIR -------------------------------------
DEST=$T/dest
P=/usr/local
# Someone else's file in the same directory: uninstall must leave it.
mkdir -p "$DEST$P/lib"
echo other > "$DEST$P/lib/other.txt"
# -o all: install what this build made; never rebuild it here with other
# flags (the sanitizer build's flags live in the Makefile's asan target).
if make -s -o all BUILD="$BUILD" DESTDIR="$DEST" PREFIX=$P install >"$T/install.log" 2>&1; then
    ok "(b) make install DESTDIR=... PREFIX=$P"
else
    bad "(b) make install: $(tail -3 "$T/install.log")"
fi
want=$( {
    printf '%s\n' bin/vssinfo bin/vssmount include/vss.h lib/libvss.a \
        lib/libvss.so lib/$SONAME lib/libvss.so.$VERSION \
        lib/pkgconfig/libvss.pc lib/other.txt share/doc/libvss/README.md
    for f in docs/*.1; do echo "share/man/man1/${f#docs/}"; done
    for f in docs/*.md docs/*.png; do echo "share/doc/libvss/${f#docs/}"; done
    for f in examples/*.c examples/Makefile examples/README.md; do
        echo "share/doc/libvss/$f"
    done
    # make python's package, for Debian's python3 (PYDIR)
    for f in python/pyvss/*.py "$(basename "$BUILD"/python/pyvss/_pyvss*.so)"; do
        echo "lib/python3/dist-packages/pyvss/$(basename "$f")"
    done
} | sort)
got=$(cd "$DEST$P" && find . \( -type f -o -type l \) | sed 's|^\./||' | sort)
same "(b) installed files" "$(diff <(echo "$want") <(echo "$got") | grep '^[<>]' | tr '\n' ' ')" ""
L=$DEST$P/lib
same "(b) symlinks" "$(readlink "$L/$SONAME") $(readlink "$L/libvss.so")" \
    "libvss.so.$VERSION $SONAME"
same "(b) modes" "$(stat -c %a "$L/libvss.so.$VERSION" "$L/libvss.a" "$DEST$P/include/vss.h" | tr '\n' ' ')" \
    "755 644 644 "
check "(b) the installed library is the one built" cmp -s "$SO" "$L/libvss.so.$VERSION"
check "(b) the installed header is the source's" cmp -s libvss/include/vss.h "$DEST$P/include/vss.h"

# ---- (b2) the Python package, installed -------------------------------------
# Debian's python3 imports it from PYDIR with nothing else set (the C core
# carries the library: no LD_LIBRARY_PATH, no rpath), and it reads the
# example image as the installed vssinfo lists it.
PYD=$DEST$P/lib/python3/dist-packages
if [ -n "$SAN" ]; then
    skip "(b2) the installed pyvss: not loaded with the sanitizers (tests/test_pyvss.sh preloads their runtime)"
else
    gzip -dc testimages/example/example.img.gz > "$T/pyex.img"
    got=$(env -u LD_LIBRARY_PATH PYTHONDONTWRITEBYTECODE=1 PYTHONPATH="$PYD" \
        /usr/bin/python3 -c 'import sys, pyvss
v = pyvss.open(sys.argv[1])
print(pyvss.__file__.startswith(sys.argv[2]), [v.snapshot_info(k).store_guid for k in range(1, len(v) + 1)])' \
        "$T/pyex.img" "$PYD/pyvss/" 2>&1)
    want=$("$VSSINFO" --json "$T/pyex.img" | python3 -c 'import json, sys
print(True, [s["store_guid"] for v in json.load(sys.stdin)["volumes"] for s in v.get("snapshots", [])])')
    same "(b2) the installed pyvss (from $P/lib/python3/dist-packages) lists example.img as vssinfo does" "$got" "$want"
    rm -f "$T/pyex.img"
fi

# ---- (c) pkg-config ----------------------------------------------------------
# A staged tree is found two ways: the sysroot (pkg-config prefixes every
# path with it) or by moving libvss.pc's prefix.
export PKG_CONFIG_PATH=$L/pkgconfig
same "(c) --modversion" "$(PKG_CONFIG_SYSROOT_DIR=$DEST pkg-config --modversion libvss)" "$VERSION"
same "(c) --libs (sysroot)" "$(PKG_CONFIG_SYSROOT_DIR=$DEST pkg-config --libs libvss | xargs)" \
    "-L$L -lvss"
same "(c) --libs (--define-variable=prefix)" \
    "$(pkg-config --define-variable=prefix="$DEST$P" --libs libvss | xargs)" "-L$L -lvss"
same "(c) --cflags" "$(pkg-config --define-variable=prefix="$DEST$P" --cflags libvss | xargs)" \
    "-I$DEST$P/include"
static=$(pkg-config --static --libs libvss)
for l in -lvss -lntfs-3g -lz -lcrypto -lpthread; do
    check "(c) --static --libs names $l" grep -qw -- "$l" <<<"$static"
done

# ---- (d) the examples, built from the installed tree --------------------
export PKG_CONFIG_SYSROOT_DIR=$DEST
EX=$T/ex
gzip -dc testimages/example/example.img.gz > "$T/example.img"
cp -r "$DEST$P/share/doc/libvss/examples" "$EX"
if make -s -C "$EX" CFLAGS="-O2 -g -Wall -Wextra -Werror $SAN" \
        LDFLAGS="$SAN" >"$T/ex.log" 2>&1; then
    ok "(d) examples build with pkg-config (shared), no warning"
else
    bad "(d) examples build: $(tail -5 "$T/ex.log")"
fi
LIST=$EX/list
EXTRACT=$EX/extract
AUDIT=$EX/audit
require_built "$LIST" "$EXTRACT" "$AUDIT"
check "(d) list needs $SONAME" grep -q "(NEEDED).*\[$SONAME\]" <(readelf -d "$LIST")
export LD_LIBRARY_PATH=$L
same "(d) ... and loads the installed one" \
    "$(ldd "$LIST" | sed -n "s/.*$SONAME => \([^ ]*\).*/\1/p")" "$L/$SONAME"
if [ -n "$SAN" ]; then
    skip "(d) static link: not with the sanitizers (no -static)"
else
    mkdir "$T/exs" && cp "$EX"/Makefile "$EX"/*.c "$T/exs/"
    if make -s -C "$T/exs" STATIC=1 >"$T/exs.log" 2>&1; then
        ok "(d) examples build with pkg-config --static"
    else
        bad "(d) static build: $(tail -5 "$T/exs.log")"
    fi
    check "(d) static list has no dynamic section" \
        bash -c "! readelf -d '$T/exs/list' | grep -q NEEDED"
    same "(d) static and shared list agree" \
        "$(env -u LD_LIBRARY_PATH "$T/exs/list" "$T/example.img")" \
        "$("$LIST" "$T/example.img")"
fi

# ---- (e) list against the manifests and vshadowinfo -------------------
# Judged by tests/examples_check.py, all checks in one run at the end of
# (f) (CHECKS: NAME MODE FIRST SECOND ...).
CHECKS=()
mkdir "$T/lists" "$T/out"
list_to() { # NAME IMAGE: list's output into $T/lists/NAME, or a failure
    if "$LIST" "$2" > "$T/lists/$1" 2>"$T/list.err"; then
        return 0
    fi
    bad "(e) list $2: $(cat "$T/list.err")"
    return 1
}
manifests=(testimages/example/example.json)
if make -s -C testimages >/dev/null 2>&1; then
    for m in testimages/out/*.json; do
        # The benchmark scenario has no per-block truth (not a default).
        grep -q '"block_list": null' "$m" || manifests+=("$m")
    done
else
    bad "(e) make -C testimages failed"
fi
image_of() { # MANIFEST: its first image (the source volume's)
    case $1 in */example.json) echo "$T/example.img" ;;
        *) echo "$(dirname "$1")/$(jq -r '.images[0].path' "$1")" ;;
    esac
}
for m in "${manifests[@]}"; do
    name=$(basename "$m" .json)
    list_to "$name" "$(image_of "$m")" &&
        CHECKS+=("(e) list $name.img = manifest" manifest "$T/lists/$name" "$m")
done
if have_real && prepare_real && command -v vshadowinfo >/dev/null; then
    for img in "$WORK"/real/*.raw; do
        name=$(basename "$img")
        list_to "$name" "$img" &&
            CHECKS+=("(e) list $name = vshadowinfo" vshadowinfo "$T/lists/$name" "$img")
    done
else
    skip "(e) real images or vshadowinfo absent"
fi

# ---- (f) extract: equal to vssinfo --extract, holes, refusals ----------
sha() { sha256sum < "$1" | cut -d' ' -f1; }
# Every snapshot of the generated images that hold their own storage:
# equal to vssinfo --extract (judged block by block against the manifests
# by test_generated.sh), and the newest snapshot with flag 0x400 equal to
# the manifest's whole-volume SHA-256 (what Windows returns).
for m in "${manifests[@]}"; do
    img=$(image_of "$m")
    name=$(basename "$img")
    # The further images the manifest lists hold storage volumes.
    more=()
    while read -r p; do
        more+=("$(dirname "$m")/$p")
    done < <(jq -r '(.images // [])[1:][].path' "$m")
    if [ "$(jq -r .storage "$m")" = image ]; then
        # Without the image that holds the storage, extract must say so.
        "$EXTRACT" "$img" 1 "$T/x.raw" 2>"$T/x.err"
        rc=$?
        check "(f) $name (storage image not given): refused, rc $rc, nothing written" \
            bash -c "[ $rc -ne 0 ] && [ ! -e '$T/x.raw' ] && grep -q 'redirected storage' '$T/x.err'"
    fi
    last=$(jq '.snapshots | length' "$m")
    while read -r idx flags want; do
        x=$T/out/$name.$idx
        "$VSSINFO" --extract "$idx" --output "$x.vssinfo" "$img" "${more[@]}"
        if ! "$EXTRACT" "$img" "${more[@]}" "$idx" "$x" 2>"$T/x.err"; then
            bad "(f) extract $name $idx: $(cat "$T/x.err")"
            continue
        fi
        CHECKS+=("(f) extract $name $idx = vssinfo --extract" same "$x" "$x.vssinfo"
                 "(f) extract $name $idx: every zero page a hole" holes "$x" "")
        if [ "$idx" = "$last" ] && [ $((flags & 0x400)) -ne 0 ]; then
            same "(f) extract $name: newest snapshot $idx = the manifest's sha256" \
                "$(sha "$x")" "$want"
        fi
    done < <(jq -r '.snapshots[] | "\(.index) \(.catalog_flags) \(.sha256)"' "$m")
done
# Overwriting is refused and leaves the file as it was; bad arguments fail.
echo keep > "$T/exists"
"$EXTRACT" "$T/example.img" 1 "$T/exists" 2>"$T/x.err"
rc=$?
check "(f) existing output refused (rc $rc), unchanged" \
    bash -c "[ $rc -ne 0 ] && [ \"\$(cat '$T/exists')\" == keep ] && grep -q 'File exists' '$T/x.err'"
nsnap=$(grep -c '^  snapshot' <("$LIST" "$T/example.img"))
"$EXTRACT" "$T/example.img" $((nsnap + 1)) "$T/x.raw" 2>"$T/x.err"
rc=$?
check "(f) snapshot $((nsnap + 1)) of $nsnap refused (rc $rc), nothing written: $(cat "$T/x.err")" \
    bash -c "[ $rc -ne 0 ] && [ ! -e '$T/x.raw' ] && grep -q 'snapshot $((nsnap + 1))' '$T/x.err'"
"$EXTRACT" "$T/example.img" 2>/dev/null
same "(f) usage error exit code" "$?" 2
"$EXTRACT" "$T/example.img" 1x "$T/x.raw" 2>/dev/null
rc=$?
same "(f) snapshot number '1x': usage error, nothing written" \
    "$rc $([ -e "$T/x.raw" ] && echo written)" "2 "

# The Windows-made images: equal to vssinfo --extract (checked against
# Windows' own hashes in test_real_images.sh) and to the known answers.
if have_real && prepare_real; then
    img=$WORK/real/vsstest.raw
    for i in 1 2; do
        x=$T/out/vsstest.$i
        "$EXTRACT" "$img" $i "$x"
        "$VSSINFO" --extract $i --output "$x.vssinfo" "$img"
        CHECKS+=("(f) vsstest snapshot $i = vssinfo --extract" same "$x" "$x.vssinfo"
                 "(f) vsstest snapshot $i: every zero page a hole" holes "$x" "")
    done
    # The known answers of snapshot 1 (../shared's README).
    same "(f) vsstest snapshot 1: 47 bytes at 0x18e" \
        "$(dd if="$T/out/vsstest.1" bs=1 skip=$((0x18e)) count=47 status=none | tr '\0\r\n' '...')" \
        "A disk read error occurred...BOOTMGR is missing"
    same "(f) vsstest snapshot 1: 8 bytes at 0x3fffffd8" \
        "$(dd if="$T/out/vsstest.1" bs=1 skip=$((0x3fffffd8)) count=8 status=none)" "Press Ct"
    # Storage on the image's other partition, found by GUID.
    img=$WORK/real/vss_3_volstor.raw
    for i in 1 2; do
        x=$T/out/vss_3_volstor.$i
        if "$EXTRACT" "$img" $i "$x" 2>"$T/x.err"; then
            got=$(dd if="$x" bs=4096 skip=261856 count=13 status=none |
                  head -c 52272 | tr -d "$i" | wc -c)
            same "(f) vss_3_volstor snapshot $i: 52272 bytes at 261856*4096 all '$i'" "$got" 0
        else
            bad "(f) vss_3_volstor snapshot $i: $(cat "$T/x.err")"
        fi
        # vssinfo --extract's bytes without scanning the 5 GiB for zeros
        # (tests/vsstest.py extract_sparse; = a full --extract: files_check.py)
        python3 tests/vsstest.py extract "$VSSINFO" "$WORK/real" vss_3_volstor $i "$x.vssinfo"
        CHECKS+=("(f) vss_3_volstor snapshot $i = vssinfo --extract" same "$x" "$x.vssinfo"
                 "(f) vss_3_volstor snapshot $i: every zero page a hole" holes "$x" "")
    done
    # Storage on a second image (vss_2_stor), paired by GUID.
    img=$WORK/real/vss_1_vol.raw
    for i in 1 2; do
        x=$T/out/vss_1_vol.$i
        if "$EXTRACT" "$img" "$WORK/real/vss_2_stor.raw" $i "$x" 2>"$T/x.err"; then
            same "(f) vss_1_vol + vss_2_stor snapshot $i: 704512 bytes at 1837*4096 = '$i' x 703800 + 712 zeros" \
                "$(dd if="$x" bs=4096 skip=1837 count=172 status=none | sha256sum)" \
                "$( (head -c 703800 /dev/zero | tr '\0' "$i"; head -c 712 /dev/zero) | sha256sum)"
        else
            bad "(f) vss_1_vol + vss_2_stor snapshot $i: $(cat "$T/x.err")"
        fi
        python3 tests/vsstest.py extract "$VSSINFO" "$WORK/real" vss_1_vol+vss_2_stor $i "$x.vssinfo"
        CHECKS+=("(f) vss_1_vol + vss_2_stor snapshot $i = vssinfo --extract" same "$x" "$x.vssinfo")
    done
else
    skip "(f) the real images are absent"
fi

# ---- (h) audit: vssinfo --audit's verdicts, and the manifests' --------
# The example runs the library's engine, as vssinfo does: the same lines
# (status, path, snapshot by snapshot) as `vssinfo --audit all --json`; and
# on the generated images, whose manifests know every file's damage
# independently of libvss: the same paths (System Volume Information aside,
# as the manifest does), damaged or unverified exactly where the manifest
# has lost ranges, intact/unchanged/resident elsewhere.
audit_lines() { # vssinfo --audit JSON on stdin -> "N STATUS PATH", sorted
    jq -r '.snapshots[] | .snapshot as $n | .files[] | "\($n) \(.status) \(.path)"' | LC_ALL=C sort
}
example_lines() { # the example's output on stdin -> the same form
    awk '/^# snapshot /{n=$3; next} {print n " " $0}' | LC_ALL=C sort
}
audit_checked=0
for m in "${manifests[@]}"; do
    # one image per example run: the scenarios whose storage is on another
    # image are left to vssinfo's own tests
    [ "$(jq -r '.images | length' "$m")" = 1 ] || continue
    img=$(image_of "$m")
    name=$(basename "$img")
    off=$(jq -r '[.volumes[] | select(.role == "source")][0].offset // 0' "$m")
    if ! "$AUDIT" "$img" > "$T/audit.out" 2>"$T/audit.err"; then
        bad "(h) audit $name: rc $?: $(head -3 "$T/audit.err")"
        continue
    fi
    same "(h) audit $name = vssinfo --audit all" \
        "$(example_lines < "$T/audit.out")" \
        "$("$VSSINFO" -o "$off" --audit all --json --no-progress "$img" | audit_lines)"
    verdict=$(python3 - "$m" "$T/audit.out" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
got, snap = {}, None
for line in open(sys.argv[2]):
    line = line.rstrip("\n")
    if line.startswith("# snapshot "):
        snap = int(line.split()[2])
        continue
    status, path = line.split(" ", 1)
    if not path.startswith("/System Volume Information/"):
        got[(snap, path)] = status
want = {}
for s in m["snapshots"]:
    key = "zero_ranges" if s["catalog_flags"] & 0x400 else "live_ranges"
    for f in s["files"]:
        want[(s["index"], f["path"])] = bool(f.get(key))
wrong = sorted(set(got) ^ set(want))
wrong += [k for k in sorted(set(got) & set(want))
          if (got[k] in ("damaged", "unverified")) != want[k] or
          got[k] not in ("damaged", "unverified", "intact", "unchanged",
                         "resident")]
lost = sum(want.values())
print("ok %d files, %d with lost bytes" % (len(want), lost) if not wrong
      else "FAIL %s" % wrong[:5])
PY
)
    case $verdict in
    ok*) ok "(h) audit $name = manifest: ${verdict#ok }"
         audit_checked=$((audit_checked + 1)) ;;
    *) bad "(h) audit $name against the manifest: $verdict" ;;
    esac
done
check "(h) audit checked on some generated image with lost bytes" \
    test "$audit_checked" -gt 0
"$AUDIT" "$T/example.img" 999 >/dev/null 2>"$T/audit.err"
rc=$?
check "(h) audit of a snapshot the volume lacks: rc $rc, said" \
    bash -c "[ $rc -ne 0 ] && grep -q 'snapshot 999' '$T/audit.err'"
"$AUDIT" "$T/example.img" 1x >/dev/null 2>&1
check "(h) audit: bad snapshot list refused" test $? -ne 0

# The checks collected in (e) and (f), one verdict each.
verdicts=0
while read -r status line; do
    verdicts=$((verdicts + 1))
    if [ "$status" = ok ]; then ok "$line"; else bad "$line"; fi
done < <(python3 tests/examples_check.py "${CHECKS[@]}")
same "(e)(f) verdicts from examples_check.py" "$verdicts" $((${#CHECKS[@]} / 4))
rm -rf "$T/out"

# ---- (g) make uninstall ----------------------------------------------------
unset PKG_CONFIG_SYSROOT_DIR
if make -s BUILD="$BUILD" DESTDIR="$DEST" PREFIX=$P uninstall >"$T/un.log" 2>&1; then
    ok "(g) make uninstall"
else
    bad "(g) make uninstall: $(tail -3 "$T/un.log")"
fi
same "(g) only the other file is left" \
    "$(cd "$DEST$P" && find . \( -type f -o -type l \) | sort | tr '\n' ' ')" "./lib/other.txt "
check "(g) the package's doc directory is gone" test ! -e "$DEST$P/share/doc/libvss"
finish

#!/usr/bin/env bash
# The library's layers (issue 14, docs/design.md): libvss/src/<layer>/ with
# base < io < vss < ntfs < audit. A file may include the public vss.h, the
# headers of its own layer and those of the layers below it, written with
# their folder ("base/base.h"); never a header of a layer above, a header
# named without its folder, or a folder this order does not know. The
# checker is also run on copies of the tree with a bad include planted, so
# that it is seen to catch each kind.
# sanitizer pass: skip (checks the source tree's includes; runs no libvss code)
set -u
. "$(dirname "$0")/lib.sh"
cd "$ROOT" || exit 1

LAYERS="base io vss ntfs audit"

# Each layer's rank (bottom 0), looked up without a process per include:
# the checker runs over the whole tree seven times.
declare -A RANK=()
i=0
for l in $LAYERS; do
    RANK[$l]=$i
    i=$((i + 1))
done
INCLUDE_RE='^[[:space:]]*#[[:space:]]*include[[:space:]]*"([^"]*)"'

# Print one line per forbidden #include "..." under $1 (a copy of
# libvss/src): FILE:LINE: what is wrong. Silent when the tree is clean.
violations() {
    local top=$1 f dir layer lr line inc target tr
    for f in "$top"/*/*.c "$top"/*/*.h; do
        [ -e "$f" ] || continue
        dir=${f#"$top"/}
        layer=${dir%%/*}
        lr=${RANK[$layer]:--1}
        if [ "$lr" -lt 0 ]; then
            echo "$dir: folder '$layer' is not a layer ($LAYERS)"
            continue
        fi
        while IFS=: read -r line inc; do
            [[ $inc =~ $INCLUDE_RE ]] || continue
            inc=${BASH_REMATCH[1]}
            [ "$inc" = vss.h ] && continue
            case $inc in
            */*) target=${inc%%/*} ;;
            *) echo "$dir:$line: \"$inc\" names no layer folder"; continue ;;
            esac
            tr=-1
            [ -n "$target" ] && tr=${RANK[$target]:--1}
            if [ "$tr" -lt 0 ]; then
                echo "$dir:$line: \"$inc\" is in no layer"
            elif [ "$tr" -gt "$lr" ]; then
                echo "$dir:$line: $layer includes \"$inc\" from the layer above ($target)"
            fi
        done < <(grep -n '^[[:space:]]*#[[:space:]]*include' "$f")
    done
    # Files left in libvss/src itself belong to no layer.
    for f in "$top"/*.c "$top"/*.h; do
        [ -e "$f" ] && echo "${f#"$top"/}: outside every layer folder"
    done
    return 0
}

out=$(violations libvss/src)
if [ -z "$out" ]; then
    ok "no include of libvss/src goes up a layer"
else
    bad "upward or unplaced includes:"; echo "$out"
fi
n=$(ls libvss/src/*/*.c | wc -l)
check "the checker saw the layers' sources ($n .c files)" [ "$n" -ge 20 ]
for l in base io vss ntfs; do
    check "layer $l exists with its sources" test -n "$(ls libvss/src/$l/*.c 2>/dev/null)"
done

# The checker catches each kind of bad include (on copies of the tree).
T=$(mktemp -d "${TMPDIR:-/tmp}/libvss-layers.XXXXXX")
trap 'rm -rf "$T"' EXIT
plant() { # plant NAME FILE LINE: copy the tree, append LINE to FILE
    rm -rf "$T/src"; cp -r libvss/src "$T/src"
    echo "$3" >> "$T/src/$2"
    violations "$T/src"
}
same "an upward include (base -> vss) is caught" \
    "base/base.h:$(($(wc -l < libvss/src/base/base.h) + 1)): base includes \"vss/vss_int.h\" from the layer above (vss)" \
    "$(plant up base/base.h '#include "vss/vss_int.h"')"
check "io including ntfs is caught" \
    grep -q 'io includes "ntfs/ntfs_int.h" from the layer above' <<<"$(plant up io/io.c '#include "ntfs/ntfs_int.h"')"
check "a header without its folder is caught" \
    grep -q '"vss_int.h" names no layer folder' <<<"$(plant flat vss/store.c '#include "vss_int.h"')"
check "a downward include is allowed" \
    test -z "$(plant down ntfs/file.c '#include "base/base.h"')"
rm -rf "$T/src"; cp -r libvss/src "$T/src"; mkdir "$T/src/misc"; echo '/* */' > "$T/src/misc/x.c"
check "an unknown folder is caught" \
    grep -q "folder 'misc' is not a layer" <<<"$(violations "$T/src")"
finish

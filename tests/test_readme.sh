#!/usr/bin/env bash
# Every command README.md shows works as written (issue 13, point 5):
#  - each indented `vssinfo ...` line runs, with disk.img standing for the
#    bundled example image as the README says, and exits 0 with output;
#  - a program making the README's library calls links with exactly the
#    link line the README gives, for a plain file and for a container
#    (vss_source_open_image pulls in the E01 hash check: -lcrypto), and
#    reads the same bytes as vssinfo.
set -u
. "$(dirname "$0")/lib.sh"
cd "$ROOT"
require_built "$VSSINFO"
if [ ! -e "$BUILD/libvss.a" ]; then
    bad "$BUILD/libvss.a is not built (run make)"
    finish
    exit 1
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/libvss-readme.XXXXXX")
trap 'rm -rf "$T"' EXIT
DISK=$T/disk.img
gzip -dc testimages/example/example.img.gz > "$DISK"

# ---- the vssinfo commands ----------------------------------------------------
n=0
while IFS= read -r line; do
    cmd=${line#    }
    cmd=${cmd%%  #*}             # the README's comment after the command
    cmd=${cmd%% #*}
    cmd=${cmd%"${cmd##*[! ]}"}   # trailing blanks
    # a command continued on the next line is not what README shows here
    case "$cmd" in *'\') bad "README command continued on the next line: $cmd"; continue ;; esac
    for t in $(echo "$cmd" | grep -oE '\| *[a-z0-9]+' | tr -d '| '); do
        if ! command -v "$t" >/dev/null; then
            skip "README: $t is not installed (make deps installs it): $cmd"
            continue 2
        fi
    done
    n=$((n + 1))
    # run in a directory of its own (--output, --html write there)
    mkdir -p "$T/run$n"
    out=$(cd "$T/run$n" && timeout 120 bash -c "vssinfo() { '$VSSINFO' \"\$@\"; }; $cmd" \
        2>"$T/err" </dev/null)
    rc=$?
    if [ $rc -eq 0 ] && [ -n "$out$(ls "$T/run$n")" ]; then
        ok "README: $cmd"
    else
        bad "README: $cmd: status $rc, $(head -c 300 "$T/err")"
    fi
done < <(grep -E '^    vssinfo ' README.md | sed "s|disk\.img|$DISK|g")
check "README shows vssinfo commands ($n run)" test $n -ge 15

# the outputs the README promises
out=$(cd "$T" && "$VSSINFO" --extract 2 --output snap2.raw "$DISK")
same "--extract --output: the printed SHA-256 is the file's" \
    "$(sed -n 's/^SHA-256 //p' <<<"$out")" "$(sha256sum < "$T/snap2.raw" | cut -d' ' -f1)"
same "-o 2048s is the README's volume at byte offset 1048576" \
    "$("$VSSINFO" -o 2048s --map 1 "$DISK" | md5sum)" "$("$VSSINFO" -o 1048576 --map 1 "$DISK" | md5sum)"

# ---- the library, linked as the README says --------------------------------------
link=$(sed -n 's|.*/\* link build/libvss.a \(.*\) \*/.*|\1|p' README.md)
# The suite's sanitizer pass links its sanitizer-built libvss.a: add the
# runtime it needs (not README's business; the README line is unchanged).
san=
if nm "$BUILD/libvss.a" 2>/dev/null | grep -q __asan_; then
    san="-fsanitize=address,undefined"
fi
check "README gives a link line" test -n "$link"
for open in file image; do
    if [ $open = file ]; then
        call='vss_source_open_file(argv[1], &img, &e)'
    else
        call='vss_source_open_image(argv[1], NULL, &img, &e)'
    fi
    cat > "$T/readme_$open.c" <<EOF
/* README's calls, in order */
#include <stdio.h>
#include <vss.h>
static int callback(const vss_run *r, void *user) { (void)r; ++*(int *)user; return 0; }
int main(int argc, char **argv)
{
    vss_source *img, *vol;  vss_volume *v;  vss_snapshot *s;  vss_error e;
    unsigned char buf[4096];
    int runs = 0;
    long long n;
    (void)argc;
    if ($call ||
        vss_source_open_range(img, 1048576, vss_source_size(img) - 1048576, &vol, &e) ||
        vss_volume_open(vol, &v, &e) ||
        vss_snapshot_open(v, 1, VSS_FILL_WINDOWS, &s, &e)) {
        fprintf(stderr, "%s\n", e.message);
        return 1;
    }
    n = vss_snapshot_read_at(s, buf, sizeof buf, 8192, &e);
    if (n != (long long)sizeof buf ||
        vss_snapshot_map(s, 0, vss_snapshot_size(s), callback, &runs, &e) ||
        runs == 0) {
        fprintf(stderr, "read %lld, %d runs: %s\n", n, runs, e.message);
        return 1;
    }
    fwrite(buf, 1, sizeof buf, stdout);
    return 0;
}
EOF
    # shellcheck disable=SC2086 # the README's flags, word-split as a shell would
    if ${CC:-cc} -std=c11 $san -Ilibvss/include -o "$T/readme_$open" "$T/readme_$open.c" \
        "$BUILD/libvss.a" $link 2>"$T/ld"; then
        ok "README's link line links a program using vss_source_open_$open: $link"
        same "that program reads snapshot 1 as vssinfo does" \
            "$(ASAN_OPTIONS=detect_leaks=0 "$T/readme_$open" "$DISK" | md5sum)" \
            "$("$VSSINFO" -o 1048576 --extract 1 --range 8192:4096 "$DISK" | md5sum)"
    else
        bad "README's link line ($link) fails for vss_source_open_$open: $(grep -m3 -E 'undefined|error' "$T/ld")"
    fi
done
finish

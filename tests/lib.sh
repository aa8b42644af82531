# tests/lib.sh — shared by the test scripts: counters, skips, and the real
# Windows images from ../shared extracted (sparse) into a work directory.
# Every script ends with the line "N passed, N failed".

ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
BUILD=${BUILD:-build}
VSSINFO=${VSSINFO:-$ROOT/$BUILD/vssinfo}
SHARED=${LIBVSS_SHARED:-$ROOT/../shared}
REAL=$SHARED/testimages/real
WORK=${LIBVSS_TEST_WORK:-${TMPDIR:-/tmp}/libvss-tests}
PASS=0
FAIL=0

ok() { PASS=$((PASS + 1)); echo "ok   $*"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL $*"; }
skip() { echo "skip $*"; }
# check NAME COMMAND...: passes when the command succeeds.
check() { local n=$1; shift; if "$@"; then ok "$n"; else bad "$n"; fi; }
# same NAME GOT WANT
same() {
    if [ "$2" == "$3" ]; then ok "$1"; else bad "$1: got '$2', want '$3'"; fi
}
finish() { echo "$PASS passed, $FAIL failed"; [ "$FAIL" -eq 0 ]; }

have_real() { [ -d "$REAL" ]; }

# Extract the real images once per work directory (sparse); the archives
# in ../shared are only read.
prepare_real() {
    have_real || return 1
    mkdir -p "$WORK/real"
    local f
    for f in vss_2003.tgz vss_2_stor.tar.gz vss_1_vol.tar.gz vss_3_volstor.tar.gz; do
        local stamp="$WORK/real/.$f.done"
        [ -e "$stamp" ] && continue
        tar -xzSf "$REAL/$f" -C "$WORK/real" || return 1
        touch "$stamp"
    done
    if [ ! -e "$WORK/real/.vsstest.done" ]; then
        qemu-img convert -O raw "$REAL/vsstest.qcow2" "$WORK/real/vsstest.raw" || return 1
        touch "$WORK/real/.vsstest.done"
    fi
    return 0
}

# The preconditions of a script, each ending it when unmet: a missing tool
# or ../shared is a skip, a missing build or a failed extraction a failure.
require_tools() {
    local t
    for t; do
        if ! command -v "$t" >/dev/null; then
            echo "skip: $t is not installed (make deps installs it)"
            finish
            exit 0
        fi
    done
}
require_built() {
    local b
    for b; do
        if [ ! -x "$b" ]; then
            bad "$b is not built (run make)"
            finish
            exit 1
        fi
    done
}
require_real() {
    if ! have_real; then
        echo "skip: $REAL is absent (the real Windows test images)"
        finish
        exit 0
    fi
    if ! prepare_real; then
        bad "cannot extract the real images from $REAL into $WORK/real"
        finish
        exit 1
    fi
}

# Fingerprints of everything a real-image test reads: the archives in
# ../shared (plain SHA-256) and the extracted images (SHA-256 of every data
# extent, tests/imagehash.py). check_real_unchanged BEFORE compares them
# with BEFORE, taken at the start.
real_fingerprints() {
    (cd "$REAL" && sha256sum -- *)
    python3 "$ROOT/tests/imagehash.py" "$WORK"/real/*.raw
}
check_real_unchanged() {
    local after
    after=$(real_fingerprints)
    if [ "$1" == "$after" ]; then
        ok "(d) all images and archives unchanged (SHA-256)"
    else
        bad "(d) an image changed: $(diff <(echo "$1") <(echo "$after"))"
    fi
}

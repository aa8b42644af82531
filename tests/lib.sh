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

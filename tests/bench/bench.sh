#!/usr/bin/env bash
# make bench: performance of libvss against libvshadow and the raw-read
# limit, measured in one run on the same data, printed as a Markdown report
# (also written to $BENCH_OUT, default build/bench/performance.md).
# Not part of `make test`: timings are never asserted.
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
BUILD=${BUILD:-build}
. tests/lib.sh
B=$ROOT/$BUILD/bench
OUT=${BENCH_OUT:-$B/performance.md}
mkdir -p "$B"
RB=$B/readbench
SB=$B/scalebench
REPS=${BENCH_REPS:-3}

prepare_real || { echo "bench needs ../shared/testimages/real"; exit 1; }
I=$WORK/real

# best-of-N of a command's "<bytes> <seconds> <MB/s> <reads/s> <sum>" line
best() {
    local bestline="" b=0 line v
    for _ in $(seq "$REPS"); do
        line=$("$@") || return 1
        v=$(echo "$line" | awk '{print $3 + $4/1e9}')
        if [ -z "$bestline" ] || awk "BEGIN{exit !($v > $b)}"; then
            bestline=$line
            b=$v
        fi
    done
    echo "$bestline"
}
ratio() { awk "BEGIN{ if ($2 > 0) printf \"%.2f\", $1 / $2; else print \"-\" }"; }
mstime() { # average milliseconds of N runs of a command (after one
           # untimed run, so each tool finds the metadata it reads cached)
    local n=$1 t0 t1
    shift
    "$@" >/dev/null 2>&1
    t0=$(date +%s%N)
    for _ in $(seq "$n"); do "$@" >/dev/null 2>&1; done
    t1=$(date +%s%N)
    awk "BEGIN{printf \"%.2f\", ($t1 - $t0) / 1e6 / $n}"
}
peak_rss() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }

{
echo "# Performance"
echo
echo "Measured by \`make bench\` on $(date -u +%Y-%m-%d): $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB,"
echo "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r)."
echo "Page cache warm (each image is read once first); best of $REPS runs."
echo "Ratios > 1 mean libvss is faster (or, for memory, larger)."
echo
echo "## Open and list"
echo
echo "| image | vssinfo ms | vshadowinfo ms | vshadowinfo / vssinfo |"
echo "|---|---:|---:|---:|"
for spec in "vsstest.raw 0" "vss_2003.raw 32256" "vss_2_stor.raw 34603008"; do
    set -- $spec
    cat "$I/$1" > /dev/null 2>&1 &
    wait
    a=$(mstime 20 "$ROOT/$BUILD/vssinfo" -o "$2" "$I/$1")
    b=$(mstime 20 vshadowinfo -o "$2" "$I/$1")
    echo "| $1 | $a | $b | $(ratio "$b" "$a") |"
done
echo
echo "## Provenance map of a whole snapshot (vssinfo --map N --json)"
echo
echo "No peer reports where each byte of a snapshot comes from; the figure is"
echo "the time to classify every 16 KiB block of the volume, as the audit's"
echo "volume strip and \`--map\` do (metadata cached)."
echo
echo "| image | snapshot (stores read through) | volume GiB | ms | GiB mapped per second |"
echo "|---|---|---:|---:|---:|"
map_row() { # IMAGE OFFSET SNAPSHOT STORES
    local ms gib
    ms=$(mstime 5 "$ROOT/$BUILD/vssinfo" -o "$2" --map "$3" --json "$1")
    gib=$("$ROOT/$BUILD/vssinfo" -o "$2" --json "$1" | python3 -c "import json,sys; print('%.1f' % (json.load(sys.stdin)['volumes'][0]['snapshots'][$3 - 1]['volume_size'] / 2**30))")
    echo "| $(basename "$1") | $3 ($4) | $gib | $ms | $(awk "BEGIN{printf \"%.0f\", $gib / ($ms / 1000)}") |"
}
map_row "$I/vss_2003.raw" 32256 1 6
map_row "$I/vss_2003.raw" 32256 6 1
map_row "$I/vsstest.raw" 0 1 2
echo
echo "## Sequential read of a whole snapshot (1 MiB reads)"
echo
echo "| image, snapshot | raw image MB/s | libvss MB/s | libvshadow MB/s | libvss / raw | libvss / libvshadow |"
echo "|---|---:|---:|---:|---:|---:|"
for spec in "vsstest.raw 0 1" "vsstest.raw 0 2" "vss_2_stor.raw 34603008 1"; do
    set -- $spec
    raw=$(best "$RB" raw seq "$I/$1" "$2" "$3" | awk '{print $3}')
    vs=$(best "$RB" vss seq "$I/$1" "$2" "$3" | awk '{print $3}')
    lv=$(best "$RB" vshadow seq "$I/$1" "$2" "$3" | awk '{print $3}')
    echo "| $1 #$3 | $raw | $vs | $lv | $(ratio "$vs" "$raw") | $(ratio "$vs" "$lv") |"
done
echo
echo "The real images are sparse files. The raw column reads them with pread"
echo "(the kernel zero-fills holes); libvss fills the image's holes, the diff"
echo "area and (on Windows 8+) not-in-use blocks without any system call, so"
echo "figures above the raw limit are real. The large scenario below is mostly"
echo "data: its sequential row is the data-region comparison."
echo
echo "## Random 4 KiB reads (200000 reads, same seed for all)"
echo
echo "| image, snapshot | raw reads/s | libvss reads/s | libvshadow reads/s | libvss / raw | libvss / libvshadow |"
echo "|---|---:|---:|---:|---:|---:|"
for spec in "vsstest.raw 0 1" "vss_2003.raw 32256 1"; do
    set -- $spec
    raw=$(best "$RB" raw rand "$I/$1" "$2" "$3" 200000 | awk '{print $4}')
    vs=$(best "$RB" vss rand "$I/$1" "$2" "$3" 200000 | awk '{print $4}')
    lv=$(best "$RB" vshadow rand "$I/$1" "$2" "$3" 200000 | awk '{print $4}')
    echo "| $1 #$3 | $raw | $vs | $lv | $(ratio "$vs" "$raw") | $(ratio "$vs" "$lv") |"
done
echo
echo "## FUSE: vssmount vs vshadowmount (vsstest.raw, snapshot 1)"
echo
if [ -e /dev/fuse ] && command -v vshadowmount >/dev/null; then
    M1=$(mktemp -d) M2=$(mktemp -d)
    "$ROOT/$BUILD/vssmount" "$I/vsstest.raw" "$M1"
    vshadowmount "$I/vsstest.raw" "$M2" >/dev/null 2>&1 &
    for _ in $(seq 50); do [ -e "$M2/vss1" ] && break; sleep 0.1; done
    echo "| read | vssmount | vshadowmount | vssmount / vshadowmount |"
    echo "|---|---:|---:|---:|"
    a=$(best "$RB" raw seq "$M1/vss1" 0 0 | awk '{print $3}')
    b=$(best "$RB" raw seq "$M2/vss1" 0 0 | awk '{print $3}')
    echo "| sequential MB/s (1 MiB reads) | $a | $b | $(ratio "$a" "$b") |"
    a=$(best "$RB" raw rand "$M1/vss1" 0 0 50000 | awk '{print $4}')
    b=$(best "$RB" raw rand "$M2/vss1" 0 0 50000 | awk '{print $4}')
    echo "| random 4 KiB reads/s | $a | $b | $(ratio "$a" "$b") |"
    fusermount3 -u "$M1"; fusermount3 -u "$M2"
    rmdir "$M1" "$M2"
    echo
    echo "Reader and daemons are not pinned: the 2 cores are shared."
else
    echo "(skipped: no /dev/fuse or vshadowmount)"
fi
echo
echo "## Evidence containers (vsstest.raw converted; snapshot 1, sequential)"
echo
C=$(mktemp -d)
qemu-img convert -O qcow2 "$I/vsstest.raw" "$C/v.qcow2"
qemu-img convert -O qcow2 -c "$I/vsstest.raw" "$C/vc.qcow2"
ewfacquire -u -q -t "$C/v" -f encase6 -c deflate:fast -S 4GiB "$I/vsstest.raw" >/dev/null 2>&1
raw=$(best "$RB" vss seq "$I/vsstest.raw" 0 1 | awk '{print $3}')
echo "| container | libvss MB/s | vs raw |"
echo "|---|---:|---:|"
echo "| raw | $raw | 1.00 |"
for f in v.qcow2 vc.qcow2 v.E01; do
    [ -e "$C/$f" ] || continue
    x=$(best "$RB" vssimg seq "$C/$f" 0 1 | awk '{print $3}')
    echo "| $f | $x | $(ratio "$x" "$raw") |"
done
if [ -e /dev/fuse ] && [ -e "$C/v.E01" ] && command -v ewfmount >/dev/null; then
    mkdir -p "$C/ewf" "$C/vs"
    ewfmount "$C/v.E01" "$C/ewf" >/dev/null 2>&1
    vshadowmount "$C/ewf/ewf1" "$C/vs" >/dev/null 2>&1 &
    for _ in $(seq 50); do [ -e "$C/vs/vss1" ] && break; sleep 0.1; done
    x=$(best "$RB" raw seq "$C/vs/vss1" 0 0 | awk '{print $3}')
    y=$(best "$RB" vssimg seq "$C/v.E01" 0 1 | awk '{print $3}')
    echo "| v.E01 via ewfmount + vshadowmount | $x | $(ratio "$x" "$raw") |"
    echo
    echo "libvss reading the E01 directly is $(ratio "$y" "$x")x the ewfmount + vshadowmount chain."
    fusermount3 -u "$C/vs"; fusermount3 -u "$C/ewf"
fi
rm -rf "$C"
echo
echo "## The generated large scenario (8 GiB volume, 30 snapshots, ~280 000 copied blocks)"
echo
L=$ROOT/testimages/out/large.img
[ -e "$L" ] || make -s -C "$ROOT/testimages" large >/dev/null 2>&1
if [ -e "$L" ]; then
    off=$(python3 -c "import json; print([v for v in json.load(open('$ROOT/testimages/out/large.json'))['volumes'] if v['role']=='source'][0]['offset'])")
    a=$(mstime 20 "$ROOT/$BUILD/vssinfo" -o "$off" "$L")
    b=$(mstime 20 vshadowinfo -o "$off" "$L")
    echo "| measure | libvss | libvshadow | ratio |"
    echo "|---|---:|---:|---:|"
    echo "| open + list, ms | $a | $b | $(ratio "$b" "$a") |"
    vs=$(best "$RB" vss seq "$L" "$off" 1 | awk '{print $3}')
    lv=$(best "$RB" vshadow seq "$L" "$off" 1 | awk '{print $3}')
    raw=$(best "$RB" raw seq "$L" "$off" 1 | awk '{print $3}')
    echo "| snapshot 1 sequential MB/s (raw: $raw) | $vs | $lv | $(ratio "$vs" "$lv") |"
    vs=$(best "$RB" vss rand "$L" "$off" 1 200000 | awk '{print $4}')
    lv=$(best "$RB" vshadow rand "$L" "$off" 1 200000 | awk '{print $4}')
    echo "| snapshot 1 random 4 KiB reads/s | $vs | $lv | $(ratio "$vs" "$lv") |"
    ms=$(mstime 5 "$ROOT/$BUILD/vssinfo" -o "$off" --map 1 --json "$L")
    echo "| snapshot 1 provenance map through 30 stores (--map), ms | $ms | - | - |"
    # issue #17: every version of one file, 30 snapshots and live (target < 1 s)
    ms=$(mstime 5 "$ROOT/$BUILD/vssinfo" -o "$off" --history bench/readme.txt --hash md5 "$L")
    echo "| --history of one file through 30 snapshots + live (--hash md5), ms | $ms | - | - |"
    echo
    echo "### Audit hashing (the 1 GiB /bench/data.mdf of snapshot 1)"
    echo
    F=$(mktemp)
    "$ROOT/$BUILD/vssinfo" -o "$off" --file 1:/bench/data.mdf --output "$F" "$L" 2>/dev/null
    size=$(stat -c %s "$F")
    echo "The audit hashes two versions of the file (snapshot 1 and live), reading"
    echo "the snapshot's through 30 stacked stores; its rate counts both. The"
    echo "hash function's own speed is OpenSSL's (the same code the audit uses)"
    echo "on the extracted file; coreutils' tool is shown for reference."
    echo
    echo "| hash | audit MB/s | openssl dgst MB/s | audit / openssl | coreutils MB/s |"
    echo "|---|---:|---:|---:|---:|"
    for h in sha256 md5; do
        t0=$(date +%s%N)
        "$ROOT/$BUILD/vssinfo" -o "$off" --audit=1:/bench/data.mdf --hash=$h --no-progress "$L" >/dev/null 2>&1
        t1=$(date +%s%N)
        openssl dgst -$h "$F" >/dev/null
        t2=$(date +%s%N)
        ${h}sum "$F" >/dev/null
        t3=$(date +%s%N)
        au=$(awk "BEGIN{printf \"%.1f\", 2 * $size / (($t1 - $t0) / 1e9) / 1e6}")
        os=$(awk "BEGIN{printf \"%.1f\", $size / (($t2 - $t1) / 1e9) / 1e6}")
        cu=$(awk "BEGIN{printf \"%.1f\", $size / (($t3 - $t2) / 1e9) / 1e6}")
        echo "| $h | $au | $os | $(ratio "$au" "$os") | $cu |"
    done
    rm -f "$F"
else
    echo "(skipped: make -C testimages large failed)"
fi
echo
echo "## Peak memory (RSS, KiB) of a full sequential read"
echo
echo "| image, snapshot | libvss | libvshadow |"
echo "|---|---:|---:|"
for spec in "vsstest.raw 0 1" "vss_2_stor.raw 34603008 1"; do
    set -- $spec
    echo "| $1 #$3 | $(peak_rss "$RB" vss seq "$I/$1" "$2" "$3") | $(peak_rss "$RB" vshadow seq "$I/$1" "$2" "$3") |"
done
echo
echo "## Growth with descriptors and snapshots (synthetic 4 GiB volume)"
echo
echo "Volume open + opening snapshot 1, which loads every store's descriptors."
echo
echo "| snapshots | descriptors | open ms | bytes allocated | bytes per descriptor |"
echo "|---:|---:|---:|---:|---:|"
for d in 1000 10000 100000; do
    for s in 1 8 32; do
        set -- $("$SB" "$s" "$d" "$REPS")
        echo "| $1 | $2 | $(awk "BEGIN{printf \"%.2f\", $3 * 1000}") | $4 | $(awk "BEGIN{printf \"%.1f\", $4 / $2}") |"
    done
done
echo
echo "(Bytes allocated include per-store fixed costs, which dominate below"
echo "10 000 descriptors.)"
} | tee "$OUT"

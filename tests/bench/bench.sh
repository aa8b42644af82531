#!/usr/bin/env bash
# make bench: performance of libvss against libvshadow, ntfs-3g and the
# raw-read limit, measured in one run on the same data, printed as a
# Markdown report (also written to $BENCH_OUT, default
# build/bench/performance.md). Not part of `make test`: timings are never
# asserted.
#
#   bash tests/bench/bench.sh [SECTION...]   (default: all of them)
#   sections: list map lib python fuse tree containers large memory growth carve
#
# Method (docs/performance.md says what each table means):
# - Every figure is the median of BENCH_RUNS runs (default 5; 3 for the
#   8 GiB scenario) with the spread (min-max) beside it. The runs of the
#   things compared are interleaved (run 1 of each, then run 2 of each,
#   starting with a different one each round), so load from other work on
#   the machine falls on all of them alike.
# - FUSE figures are cold: a fresh mount for every run, so the kernel's
#   page cache of the mounted file is empty and every byte goes through the
#   daemon. The image itself is in the page cache (read once first), for
#   the mounts and for the raw-read limit alike: what is measured is the
#   mount, not the disk.
# - Sequential and random rows run on sparse images (the Windows-made real
#   ones: holes cost the raw reader reads and libvss nothing) and on dense
#   copies (holes written out: cp --sparse=never, under $BENCH_TMP, removed
#   at the end), each labelled.
# - As root the bench runs at nice -10 (the daemons it starts inherit it),
#   so that other work on a shared machine disturbs it less.
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
VSSINFO=$ROOT/$BUILD/vssinfo
VSSMOUNT=$ROOT/$BUILD/vssmount
NCPU=$(nproc)
RUNS=${BENCH_RUNS:-5}
LRUNS=${BENCH_LARGE_RUNS:-3}
RAND=${BENCH_RAND:-20000}   # random 4 KiB reads per FUSE run
SECTIONS=${*:-list map lib python fuse tree containers large memory growth carve}
want() { case " $SECTIONS " in *" $1 "*) return 0 ;; esac; return 1; }

prepare_real || { echo "bench needs ../shared/testimages/real"; exit 1; }
I=$WORK/real
[ "$(id -u)" = 0 ] && renice -n -10 $$ >/dev/null 2>&1
T=$(mktemp -d "${BENCH_TMP:-/tmp}/libvss-bench.XXXXXX")
# vssmount --io-uring needs the fuse module's switch on: as root the bench
# turns it on for its runs and puts it back as it was.
URING_SWITCH=/sys/module/fuse/parameters/enable_uring
uring_was=
if [ -w "$URING_SWITCH" ]; then
    uring_was=$(cat "$URING_SWITCH")
    echo Y > "$URING_SWITCH"
fi
have_uring() { [ "$(cat "$URING_SWITCH" 2>/dev/null)" = Y ]; }
cleanup() {
    local m
    for m in "$T"/m.*; do
        [ -d "$m" ] || continue
        mountpoint -q "$m" && fusermount3 -u "$m"
        rmdir "$m"
    done
    rm -rf "$T"
    [ -n "$uring_was" ] && echo "$uring_was" > "$URING_SWITCH"
}
trap cleanup EXIT

ratio() { awk "BEGIN{ if ($2 > 0) printf \"%.2f\", $1 / $2; else print \"-\" }"; }
# median and spread of numbers on stdin: "MEDIAN (MIN-MAX)"
stats() {
    sort -g | awk '{v[NR] = $1} END {
        if (!NR) { print "-"; exit }
        m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        f = m >= 100 ? "%.0f" : "%.2f"
        printf f " (" f "-" f ")\n", m, v[1], v[NR] }'
}
median() { stats | cut -d' ' -f1; }
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
warm() { cat "$1" > /dev/null; }  # the image into the page cache

# A fresh FUSE mount of IMAGE at volume OFFSET by TOOL (vssmount,
# vssmount-tree, vshadowmount, ntfs-3g): prints the mount point.
fresh_mount() {
    local tool=$1 img=$2 off=$3 snap=$4 m
    m=$(mktemp -d "$T/m.XXXXXX")
    case $tool in
    vssmount) "$VSSMOUNT" -o "$off" "$img" "$m" || return 1 ;;
    vssmount-pc) "$VSSMOUNT" --page-cache -o "$off" "$img" "$m" || return 1 ;;
    vssmount-pc0) "$VSSMOUNT" --page-cache --readahead 0 -o "$off" "$img" "$m" || return 1 ;;
    vssmount-ring) "$VSSMOUNT" --io-uring -o "$off" "$img" "$m" || return 1 ;;
    vssmount-tree) "$VSSMOUNT" -s "$snap" -o "$off" "$img" "$m" || return 1 ;;
    vssmount-tree-ring) "$VSSMOUNT" --io-uring -s "$snap" -o "$off" "$img" "$m" || return 1 ;;
    ntfs-3g) ntfs-3g -o ro "$img" "$m" >/dev/null 2>&1 || return 1 ;;
    vshadowmount)
        vshadowmount -o "$off" "$img" "$m" >/dev/null 2>&1 &
        for _ in $(seq 200); do [ -e "$m/vss$snap" ] && break; sleep 0.05; done
        [ -e "$m/vss$snap" ] || return 1 ;;
    esac
    echo "$m"
}
unmount() { fusermount3 -u "$1" && rmdir "$1"; }

# One cold run: TOOL KIND IMAGE OFFSET SNAPSHOT COUNT SEED READERS; prints
# readbench's line. raw reads the image itself (page cache), the mounts
# read vssSNAPSHOT of a fresh mount.
cold_run() {
    local tool=$1 kind=$2 img=$3 off=$4 snap=$5 count=$6 seed=$7 n=$8 m line
    if [ "$tool" = raw ]; then
        warm "$img"
        "$RB" raw "$kind" "$img" "$off" "$snap" "$count" "$seed" "$n"
        return
    fi
    warm "$img"  # this machine pages out what it has not touched lately
    m=$(fresh_mount "$tool" "$img" "$off" "$snap") || return 1
    line=$("$RB" raw "$kind" "$m/vss$snap" 0 0 "$count" "$seed" "$n")
    unmount "$m"
    echo "$line"
}

# Interleaved runs: RUNS FIELD KIND IMAGE OFFSET SNAPSHOT COUNT READERS
# TOOL... ; FIELD 3 = MB/s, 4 = reads/s. Random runs use the run number as
# seed; sequential ones start at MiB $SEQ_START. Writes one file of
# figures per tool under $T/fig.TOOL and checks that all read the same
# bytes.
interleave() {
    local runs=$1 field=$2 kind=$3 img=$4 off=$5 snap=$6 count=$7 n=$8
    shift 8
    local tools=("$@") nt=$# r k tool line
    for tool in "${tools[@]}"; do : > "$T/fig.$tool"; : > "$T/sum.$tool"; done
    for r in $(seq "$runs"); do
        for k in $(seq 0 $((nt - 1))); do
            tool=${tools[$(((k + r) % nt))]}
            line=$(cold_run "$tool" "$kind" "$img" "$off" "$snap" "$count" \
                   "$([ "$kind" = seq ] && echo "${SEQ_START:-0}" || echo "$r")" "$n") ||
                { echo "$tool failed" >&2; continue; }
            echo "$line" | awk -v f="$field" '{print $f}' >> "$T/fig.$tool"
            echo "$line" | awk '{print $5}' >> "$T/sum.$tool"
        done
    done
    # The mount must serve the library's bytes: run 1 again through
    # libvss itself (vss_snapshot_read_at), same reads, same checksum.
    line=$("$RB" vss "$kind" "$img" "$off" "$snap" "$count" \
           "$([ "$kind" = seq ] && echo "${SEQ_START:-0}" || echo 1)" "$n")
    [ "$(head -1 "$T/sum.vssmount")" = "$(echo "$line" | awk '{print $5}')" ] ||
        echo "WARNING: vssmount did not read the bytes libvss reads" >&2
    for tool in "${tools[@]}"; do
        case $tool in vssmount-*)
            cmp -s "$T/sum.vssmount" "$T/sum.$tool" ||
                echo "WARNING: $tool did not read the bytes vssmount reads" >&2 ;;
        esac
    done
    cmp -s "$T/sum.vssmount" "$T/sum.vshadowmount" ||
        echo "(vshadowmount read other bytes than vssmount and libvss)" >&2
}
fig() { stats < "$T/fig.$1"; }
med() { median < "$T/fig.$1"; }

# The dense copies: holes written out, so every read of the raw image costs
# what reading data costs.
dense_copy() { # SRC NAME
    [ -e "$T/$2" ] || cp --sparse=never "$1" "$T/$2"
    warm "$T/$2"
    echo "$T/$2"
}
L=$ROOT/testimages/out/large.img
large_ready() {
    [ -e "$L" ] || make -s -C "$ROOT/testimages" large >/dev/null 2>&1
    [ -e "$L" ] || return 1
    LOFF=$(python3 -c "import json; print([v for v in json.load(open('$ROOT/testimages/out/large.json'))['volumes'] if v['role']=='source'][0]['offset'])")
    # The volume is mostly free space (zeros for the snapshot): sequential
    # rows read 2 GiB from the first MiB holding store data on (the 1 GiB
    # database file the snapshots preserved).
    LDATA=$("$VSSINFO" -o "$LOFF" --map 1 --json "$L" | python3 -c "import json,sys; print(min(r['offset'] for r in json.load(sys.stdin)['runs'] if r['class'] == 'store') >> 20)")
}

{
echo "# Performance"
echo
echo "Measured by \`make bench\` on $(date -u +%Y-%m-%d): $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB,"
echo "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r);"
echo "load average $(cut -d' ' -f1-3 /proc/loadavg) when it started$( [ "$(id -u)" = 0 ] && echo ', run at nice -10')."
echo "Figures: median of the runs (spread min-max in brackets); the runs of"
echo "the things compared are interleaved. Ratios are of medians; > 1 means"
echo "libvss is faster (or, for memory, larger)."
echo
want list && {
echo "## Open and list"
echo
echo "Mean of 20 runs after one untimed run (metadata cached)."
echo
echo "| image | vssinfo ms | vshadowinfo ms | vshadowinfo / vssinfo |"
echo "|---|---:|---:|---:|"
for spec in "vsstest.raw 0" "vss_2003.raw 32256" "vss_2_stor.raw 34603008"; do
    set -- $spec
    a=$(mstime 20 "$VSSINFO" -o "$2" "$I/$1")
    b=$(mstime 20 vshadowinfo -o "$2" "$I/$1")
    echo "| $1 | $a | $b | $(ratio "$b" "$a") |"
done
echo
}
want map && {
echo "## Provenance map of a whole snapshot (vssinfo --map N --json)"
echo
echo "No peer reports where each byte of a snapshot comes from; the figure is"
echo "the time to classify every 16 KiB block of the volume, as the audit's"
echo "volume strip and \`--map\` do (metadata cached; mean of 5 runs)."
echo
echo "| image | snapshot (stores read through) | volume GiB | ms | GiB mapped per second |"
echo "|---|---|---:|---:|---:|"
map_row() { # IMAGE OFFSET SNAPSHOT STORES
    local ms gib
    ms=$(mstime 5 "$VSSINFO" -o "$2" --map "$3" --json "$1")
    gib=$("$VSSINFO" -o "$2" --json "$1" | python3 -c "import json,sys; print('%.1f' % (json.load(sys.stdin)['volumes'][0]['snapshots'][$3 - 1]['volume_size'] / 2**30))")
    echo "| $(basename "$1") | $3 ($4) | $gib | $ms | $(awk "BEGIN{printf \"%.0f\", $gib / ($ms / 1000)}") |"
}
map_row "$I/vss_2003.raw" 32256 1 6
map_row "$I/vss_2003.raw" 32256 6 1
map_row "$I/vsstest.raw" 0 1 2
echo
}
want lib && {
echo "## The library: whole-snapshot sequential reads and random 4 KiB reads"
echo
echo "readbench in one process, no FUSE: libvss (vss_snapshot_read_at),"
echo "libvshadow (libvshadow_store_read_buffer_at_offset) and the raw limit"
echo "(pread of the image's volume bytes, as many as the snapshot has), image"
echo "in the page cache. Sequential: 1 MiB reads (the large scenario: 2 GiB"
echo "from its first store data on); random: 100 000 reads of 4 KiB (10 000 on"
echo "the large scenario), the same seeded offsets for all three. *sparse*: the real image"
echo "as it is (the raw reader reads its holes, libvss fills them without a"
echo "system call); *dense*: a copy with the holes written out, where raw is"
echo "the real limit."
echo
echo "| data | read | raw | libvss | libvshadow | libvss / raw | libvss / libvshadow |"
echo "|---|---|---:|---:|---:|---:|---:|"
lib_rows() { # LABEL IMAGE OFFSET SNAPSHOT RUNS SEQCOUNT RANDCOUNT [SEQSTART]
    local label=$1 img=$2 off=$3 snap=$4 runs=$5 seqn=$6 nrand=$7 tool r k line
    local tools=(raw vss vshadow) start=${8:-}
    warm "$img"
    for kind in seq rand; do
        for tool in "${tools[@]}"; do : > "$T/fig.$tool"; done
        for r in $(seq "$runs"); do
            for k in 0 1 2; do
                tool=${tools[$(((k + r) % 3))]}
                if [ $kind = seq ]; then
                    line=$("$RB" "$tool" seq "$img" "$off" "$snap" $seqn $start) || continue
                    echo "$line" | awk '{print $3}' >> "$T/fig.$tool"
                else
                    line=$("$RB" "$tool" rand "$img" "$off" "$snap" "$nrand" "$r") || continue
                    echo "$line" | awk '{print $4}' >> "$T/fig.$tool"
                fi
            done
        done
        echo "| $label | $([ $kind = seq ] && echo "sequential MB/s" || echo "random reads/s") | $(fig raw) | $(fig vss) | $(fig vshadow) | $(ratio "$(med vss)" "$(med raw)") | $(ratio "$(med vss)" "$(med vshadow)") |"
    done
}
warm "$I/vsstest.raw"
lib_rows "vsstest #1, sparse" "$I/vsstest.raw" 0 1 "$RUNS" "" 100000
lib_rows "vsstest #1, dense" "$(dense_copy "$I/vsstest.raw" vsstest.raw)" 0 1 "$RUNS" "" 100000
lib_rows "vss_2_stor #1, sparse" "$I/vss_2_stor.raw" 34603008 1 "$RUNS" "" 100000
if large_ready; then
    # libvshadow reads about 2 000 random blocks/s through 30 stores
    lib_rows "large #1 (30 stores), dense" "$(dense_copy "$L" large.img)" "$LOFF" 1 "$LRUNS" 2048 10000 "$LDATA"
fi
echo
}
want python && {
echo "## Python: pyvss vs the C library vs pyvshadow (1 MiB reads)"
echo
echo "tests/pyvss/bench.py in Debian's python3, one process, image in the page"
echo "cache: the same 1 MiB reads through libvss's vss_snapshot_read_at (a"
echo "ctypes loop: the C library's own cost), pyvss (readinto into one buffer;"
echo "read, a new bytes object per read), the pyvshadow shim and libvshadow's"
echo "pyvshadow (store.read, as dfVFS reads). Median of $RUNS interleaved runs."
echo "readbench (a fresh process checksumming every byte) for reference."
echo
PYB() { # LABEL IMAGE OFFSET SNAPSHOT RUNS [MIB START]
    local label=$1
    shift
    echo "### $label"
    echo
    PYTHONPATH=$ROOT/$BUILD/python /usr/bin/python3 tests/pyvss/bench.py \
        "$ROOT/$BUILD/libvss.so" "$RB" "$@" | grep -v ' passed, .* failed$'
    echo
}
if [ -e "$ROOT/$BUILD/python/pyvss/__init__.py" ] && [ -x /usr/bin/python3 ]; then
    warm "$I/vsstest.raw"
    PYB "vsstest #1, sparse (by path)" "$I/vsstest.raw" 0 1 "$RUNS"
    PYB "vsstest #1, dense (by path)" "$(dense_copy "$I/vsstest.raw" vsstest.raw)" 0 1 "$RUNS"
    warm "$I/vss_2_stor.raw"
    PYB "vss_2_stor #1, sparse, its first GiB (partition at 33 MiB: a Python file object for the pyvshadow API)" "$I/vss_2_stor.raw" 34603008 1 "$RUNS" 1024 0
    if large_ready; then
        warm "$L"
        PYB "large #1 (30 stores), sparse, 512 MiB from its first store data on (a Python file object for the pyvshadow API)" "$L" "$LOFF" 1 "$RUNS" 512 "$LDATA"
    fi
else
    echo "(skipped: make python first, or no /usr/bin/python3)"
fi
}
want fuse && {
echo "## FUSE, cold: vssmount vs vshadowmount vs the raw limit"
echo
echo "A fresh mount for every run (the mounted file's page cache is empty);"
echo "the image is in the page cache. The raw column reads the image file's"
echo "volume bytes the same way (pread, no FUSE): the limit a mount could"
echo "reach. Sequential: 1 MiB reads of the whole snapshot (2 GiB from its"
echo "first store data on for the large one); random: $RAND reads of 4 KiB"
echo "($((RAND / 4)) on the large one) at seeded offsets, by 1, 2 or 4 reader"
echo "threads at once on the same open file. The --io-uring rows: the"
echo "kernel's FUSE over io_uring (vssmount(1)), when this kernel has it and"
echo "the bench may switch it on (root)."
echo
echo "| data | read | raw | vssmount | vshadowmount | vssmount / vshadowmount | vssmount / raw |"
echo "|---|---|---:|---:|---:|---:|---:|"
fuse_rows() { # LABEL IMAGE OFFSET SNAPSHOT RUNS SEQCOUNT [SEQSTART]
    local label=$1 img=$2 off=$3 snap=$4 runs=$5 seqn=$6 n
    SEQ_START=${7:-0}
    warm "$img"
    local ring=()
    have_uring && ring=(vssmount-ring)
    interleave "$runs" 3 seq "$img" "$off" "$snap" "$seqn" 1 raw vssmount vshadowmount vssmount-pc vssmount-pc0 "${ring[@]}"
    echo "| $label | sequential MB/s | $(fig raw) | $(fig vssmount) | $(fig vshadowmount) | $(ratio "$(med vssmount)" "$(med vshadowmount)") | $(ratio "$(med vssmount)" "$(med raw)") |"
    echo "| $label | sequential MB/s, vssmount --page-cache | $(fig raw) | $(fig vssmount-pc) | $(fig vshadowmount) | $(ratio "$(med vssmount-pc)" "$(med vshadowmount)") | $(ratio "$(med vssmount-pc)" "$(med raw)") |"
    echo "| $label | sequential MB/s, vssmount --page-cache --readahead 0 | $(fig raw) | $(fig vssmount-pc0) | $(fig vshadowmount) | $(ratio "$(med vssmount-pc0)" "$(med vshadowmount)") | $(ratio "$(med vssmount-pc0)" "$(med raw)") |"
    have_uring &&
        echo "| $label | sequential MB/s, vssmount --io-uring | $(fig raw) | $(fig vssmount-ring) | $(fig vshadowmount) | $(ratio "$(med vssmount-ring)" "$(med vshadowmount)") | $(ratio "$(med vssmount-ring)" "$(med raw)") |"
    for n in 1 2 4; do
        interleave "$runs" 4 rand "$img" "$off" "$snap" "$RAND" "$n" raw vssmount vshadowmount "${ring[@]}"
        echo "| $label | random reads/s, $n reader$([ $n = 1 ] || echo s) | $(fig raw) | $(fig vssmount) | $(fig vshadowmount) | $(ratio "$(med vssmount)" "$(med vshadowmount)") | $(ratio "$(med vssmount)" "$(med raw)") |"
        have_uring &&
            echo "| $label | random reads/s, $n reader$([ $n = 1 ] || echo s), vssmount --io-uring | $(fig raw) | $(fig vssmount-ring) | $(fig vshadowmount) | $(ratio "$(med vssmount-ring)" "$(med vshadowmount)") | $(ratio "$(med vssmount-ring)" "$(med raw)") |"
    done
}
if [ -e /dev/fuse ] && command -v vshadowmount >/dev/null; then
    fuse_rows "vsstest #1, dense" "$(dense_copy "$I/vsstest.raw" vsstest.raw)" 0 1 "$RUNS" 0
    warm "$I/vsstest.raw"
    fuse_rows "vsstest #1, sparse" "$I/vsstest.raw" 0 1 "$RUNS" 0
    if large_ready; then
        # vshadowmount answers about 1 000 random reads/s through 30 stores
        RAND=$((RAND / 4)) fuse_rows "large #1 (30 stores), dense" "$(dense_copy "$L" large.img)" "$LOFF" 1 "$LRUNS" 2048 "$LDATA"
    fi
    echo
    echo "### Where a FUSE request's time goes (strace -c and perf stat of the daemon)"
    echo
    echo "Per read request answered, on the dense vsstest copy, one cold run"
    echo "of each kind: the daemon's system calls (strace -c), then, in a"
    echo "second run without strace, the CPU time of the daemon (perf stat"
    echo "task-clock, all its threads) and of the reading process (getrusage),"
    echo "per request. Direct I/O (the default): a request per read(2), up to"
    echo "512 KiB; --page-cache: read ahead 1 MiB at a time in requests of up"
    echo "to 512 KiB, with --readahead 0 the kernel's 128 KiB window (what a"
    echo "mount gets when vssmount may not set it). --poll-us 0: without the"
    echo "daemon's polling, whose spin the default rows' daemon CPU includes."
    echo "CPU-bound ceiling on this machine: the rate if the $NCPU CPUs did"
    echo "nothing but this work, $NCPU / (daemon + reader CPU per request), in"
    echo "requests/s and, for sequential reads, MB/s (x the mean request: the"
    echo "bytes read / requests); the --poll-us 0 rows' is the one to hold a"
    echo "random-read target against."
    echo
    echo "| read | requests | system calls per request | daemon CPU us per request | reader CPU us per request | CPU-bound ceiling on this machine |"
    echo "|---|---:|---|---:|---:|---:|"
    img=$(dense_copy "$I/vsstest.raw" vsstest.raw)
    specs=("seq 0 1" "seq 0 1 --page-cache" "seq 0 1 --page-cache --readahead 0"
        "rand $RAND 1" "rand $RAND 1 --poll-us 0" "rand $RAND 4"
        "rand $RAND 4 --poll-us 0")
    have_uring && specs+=("seq 0 1 --io-uring" "rand $RAND 1 --io-uring" "rand $RAND 4 --io-uring")
    for spec in "${specs[@]}"; do
        set -- $spec
        opts=${*:4}
        m=$(mktemp -d "$T/m.XXXXXX")
        # -d with --io-uring: vssmount counts the requests its rings
        # answered (stderr, at the end; through /dev/fuse -d would print
        # every request, whose replies strace counts instead)
        fg=-f
        case " $opts " in *" --io-uring "*) fg=-d ;; esac
        strace -f -c -o "$T/strace.txt" "$VSSMOUNT" $fg $opts "$img" "$m" 2> "$T/vssmount.err" &
        for _ in $(seq 100); do [ -e "$m/vss1" ] && break; sleep 0.05; done
        bytes=$("$RB" raw "$1" "$m/vss1" 0 0 "$2" 1 "$3" | cut -d' ' -f1)
        fusermount3 -u "$m"; wait
        case " $opts " in
        *" --io-uring "*)
            n=$(awk '/--io-uring: queue .* answered/ { s += $6 } END { print s + 0 }' "$T/vssmount.err") ;;
        *)
            n=$(awk '(NF == 5 || NF == 6) && $4 ~ /^[0-9]+$/ { c[$NF] = $4 }
                     END { print c["writev"] + c["vmsplice"] }' "$T/strace.txt") ;;
        esac
        cpu="- | - | -"
        if command -v perf >/dev/null; then
            perf stat -x, -e task-clock -o "$T/perf.txt" "$VSSMOUNT" -f $opts "$img" "$m" &
            for _ in $(seq 100); do [ -e "$m/vss1" ] && break; sleep 0.05; done
            /usr/bin/time -f "%U %S" -o "$T/rtime.txt" "$RB" raw "$1" "$m/vss1" 0 0 "$2" 1 "$3" > /dev/null
            fusermount3 -u "$m"; wait
            cpu=$(awk -F, -v n="$n" '/task-clock/ { printf "%.1f", $1 * 1000 / n }' "$T/perf.txt")
            cpu="$cpu | $(awk -v n="$n" '{ printf "%.1f", ($1 + $2) * 1e6 / n }' "$T/rtime.txt")"
            cpu="$cpu | $(echo "$cpu" | awk -F' [|] ' -v ncpu="$NCPU" -v kind="$1" -v req="$bytes" -v n="$n" '
                $1 + $2 > 0 { r = ncpu * 1e6 / ($1 + $2)
                              if (kind == "seq") printf "%.0f/s, %.0f MB/s", r, r * req / n / 1e6
                              else printf "%.0f/s", r }')"
        fi
        rmdir "$m"
        awk -v kind="$1, $3 reader(s)${opts:+ $opts}" -v cpu="$cpu" -v n="$n" '
            (NF == 5 || NF == 6) && $4 ~ /^[0-9]+$/ { c[$NF] = $4 }
            END { out = ""
                  for (k in c) if (c[k] >= n / 10 && k != "total")
                      out = out sprintf("%s%s %.2f", out ? ", " : "", k, c[k] / n)
                  printf "| %s | %d | %s | %s |\n", kind, n, out, cpu }' "$T/strace.txt"
    done
    echo
    echo "(Replies go out as writev for requests under 8 KiB and as"
    echo "vmsplice + splice above, so their sum counts the requests; read is"
    echo "the daemon's read of /dev/fuse; futex is the hand-over of /dev/fuse"
    echo "to another worker thread when more requests are waiting; poll is"
    echo "that question for requests other than small reads, and --poll-us's"
    echo "polling; getrusage is the cold-image check after a read that took"
    echo "over 30 us: every large one, and under strace every one. The reader's"
    echo "CPU time is its system time mostly: the kernel's side of FUSE."
    echo "--io-uring: the requests are those its rings answered (vssmount -d"
    echo "counts them); io_uring_enter both sends the answers and waits for"
    echo "the next requests, several at a time when they queue up.)"
else
    echo "(skipped: no /dev/fuse or vshadowmount)"
fi
echo
}
want tree && {
echo "## FUSE, cold: a snapshot's files, vssmount -s 1 vs ntfs-3g"
echo
echo "Reading every file of snapshot 1 of the large scenario (dense copy):"
echo "vssmount -s 1 on the image against ntfs-3g mounting that snapshot as"
echo "extracted (\`vssinfo --extract 1\`, sparse), the files being those ntfs-3g"
echo "lists (NTFS metadata files aside), read whole with cat into /dev/null"
echo "in one process (before the timed runs, each mount's files were checked"
echo "to be the same bytes). Fresh mounts for every run; images in the page"
echo "cache. The --io-uring row: vssmount -s 1 --io-uring."
echo
if [ -e /dev/fuse ] && command -v ntfs-3g >/dev/null && large_ready; then
    img=$(dense_copy "$L" large.img)
    "$VSSINFO" -o "$LOFF" --extract 1 "$img" 2>/dev/null |
        cp --sparse=always /dev/stdin "$T/large-s1.img"
    warm "$T/large-s1.img"
    m=$(fresh_mount ntfs-3g "$T/large-s1.img" 0 1)
    (cd "$m" && find . -type f -print0) > "$T/files"
    bytes=$(cd "$m" && xargs -0 cat < "$T/files" | wc -c)
    want=$(cd "$m" && xargs -0 cat < "$T/files" | sha256sum)
    unmount "$m"
    tools=(vssmount-tree ntfs-3g)
    have_uring && tools+=(vssmount-tree-ring)
    for tool in "${tools[@]}"; do
        [ $tool = ntfs-3g ] && continue
        m=$(fresh_mount $tool "$img" "$LOFF" 1)
        [ "$(cd "$m" && xargs -0 cat < "$T/files" | sha256sum)" = "$want" ] ||
            echo "WARNING: $tool and ntfs-3g read other bytes" >&2
        unmount "$m"
    done
    for tool in "${tools[@]}"; do : > "$T/fig.$tool"; done
    for r in $(seq "$LRUNS"); do
        for k in $(seq 0 $((${#tools[@]} - 1))); do
            tool=${tools[$(((k + r) % ${#tools[@]}))]}
            if [ $tool = ntfs-3g ]; then
                m=$(fresh_mount ntfs-3g "$T/large-s1.img" 0 1)
            else
                m=$(fresh_mount $tool "$img" "$LOFF" 1)
            fi
            warm "$img"; warm "$T/large-s1.img"
            t0=$(date +%s%N)
            (cd "$m" && xargs -0 cat < "$T/files" > /dev/null) ||
                echo "WARNING: $tool: cat failed" >&2
            t1=$(date +%s%N)
            unmount "$m"
            awk "BEGIN{printf \"%.1f\n\", $bytes / (($t1 - $t0) / 1e9) / 1e6}" >> "$T/fig.$tool"
        done
    done
    echo "| files | bytes | vssmount -s 1 MB/s | ntfs-3g MB/s | vssmount / ntfs-3g |"
    echo "|---:|---:|---:|---:|---:|"
    echo "| $(tr -cd '\0' < "$T/files" | wc -c) | $bytes | $(fig vssmount-tree) | $(fig ntfs-3g) | $(ratio "$(med vssmount-tree)" "$(med ntfs-3g)") |"
    have_uring &&
        echo "| $(tr -cd '\0' < "$T/files" | wc -c) | $bytes | $(fig vssmount-tree-ring) (--io-uring) | $(fig ntfs-3g) | $(ratio "$(med vssmount-tree-ring)" "$(med ntfs-3g)") |"
else
    echo "(skipped: no /dev/fuse, ntfs-3g or the large scenario)"
fi
echo
}
want containers && {
echo "## Evidence containers (vsstest.raw converted; snapshot 1, sequential)"
echo
echo "libvss reading each container (readbench vssimg), median of $RUNS runs."
echo
C=$T/containers
mkdir -p "$C"
qemu-img convert -O qcow2 "$I/vsstest.raw" "$C/v.qcow2"
qemu-img convert -O qcow2 -c "$I/vsstest.raw" "$C/vc.qcow2"
ewfacquire -u -q -t "$C/v" -f encase6 -c deflate:fast -S 4GiB "$I/vsstest.raw" >/dev/null 2>&1
: > "$T/fig.c.raw"
for _ in $(seq "$RUNS"); do "$RB" vss seq "$I/vsstest.raw" 0 1 | awk '{print $3}' >> "$T/fig.c.raw"; done
echo "| container | libvss MB/s | vs raw |"
echo "|---|---:|---:|"
echo "| raw (sparse) | $(fig c.raw) | 1.00 |"
for f in v.qcow2 vc.qcow2 v.E01; do
    [ -e "$C/$f" ] || continue
    : > "$T/fig.c.$f"
    for _ in $(seq "$RUNS"); do "$RB" vssimg seq "$C/$f" 0 1 | awk '{print $3}' >> "$T/fig.c.$f"; done
    echo "| $f | $(fig "c.$f") | $(ratio "$(med "c.$f")" "$(med c.raw)") |"
done
if [ -e /dev/fuse ] && [ -e "$C/v.E01" ] && command -v ewfmount >/dev/null; then
    mkdir -p "$C/ewf"
    ewfmount "$C/v.E01" "$C/ewf" >/dev/null 2>&1
    : > "$T/fig.c.chain"
    for _ in $(seq "$RUNS"); do
        m=$(fresh_mount vshadowmount "$C/ewf/ewf1" 0 1) || break
        "$RB" raw seq "$m/vss1" 0 0 | awk '{print $3}' >> "$T/fig.c.chain"
        unmount "$m"
    done
    echo "| v.E01 via ewfmount + vshadowmount (cold) | $(fig c.chain) | $(ratio "$(med c.chain)" "$(med c.raw)") |"
    echo
    echo "libvss reading the E01 directly is $(ratio "$(med c.v.E01)" "$(med c.chain)")x the ewfmount + vshadowmount chain."
    fusermount3 -u "$C/ewf"
fi
rm -rf "$C"
echo
}
want large && {
echo "## The generated large scenario (8 GiB volume, 30 snapshots, ~280 000 copied blocks)"
echo
if large_ready; then
    a=$(mstime 20 "$VSSINFO" -o "$LOFF" "$L")
    b=$(mstime 20 vshadowinfo -o "$LOFF" "$L")
    echo "| measure | libvss | libvshadow | ratio |"
    echo "|---|---:|---:|---:|"
    echo "| open + list, ms | $a | $b | $(ratio "$b" "$a") |"
    ms=$(mstime 5 "$VSSINFO" -o "$LOFF" --map 1 --json "$L")
    echo "| snapshot 1 provenance map through 30 stores (--map), ms | $ms | - | - |"
    # issue #17: every version of one file, 30 snapshots and live (target < 1 s)
    ms=$(mstime 5 "$VSSINFO" -o "$LOFF" --history bench/readme.txt --hash md5 "$L")
    echo "| --history of one file through 30 snapshots + live (--hash md5), ms | $ms | - | - |"
    echo
    echo "(Its sequential and random reads are in the tables above.)"
    echo
    echo "### Audit hashing (the 1 GiB /bench/data.mdf of snapshot 1)"
    echo
    F=$T/data.mdf
    "$VSSINFO" -o "$LOFF" --file 1:/bench/data.mdf --output "$F" "$L" 2>/dev/null
    size=$(stat -c %s "$F")
    echo "The audit hashes two versions of the file (snapshot 1 and live), reading"
    echo "the snapshot's through 30 stacked stores; its rate counts both. The"
    echo "hash function's own speed is OpenSSL's (the same code the audit uses)"
    echo "on the extracted file; coreutils' tool is shown for reference. One run."
    echo
    echo "| hash | audit MB/s | openssl dgst MB/s | audit / openssl | coreutils MB/s |"
    echo "|---|---:|---:|---:|---:|"
    for h in sha256 md5; do
        t0=$(date +%s%N)
        "$VSSINFO" -o "$LOFF" --audit=1:/bench/data.mdf --hash=$h --no-progress "$L" >/dev/null 2>&1
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
}
want memory && {
echo "## Peak memory (RSS, KiB) of a full sequential read"
echo
echo "| image, snapshot | libvss | libvshadow |"
echo "|---|---:|---:|"
for spec in "vsstest.raw 0 1" "vss_2_stor.raw 34603008 1"; do
    set -- $spec
    echo "| $1 #$3 | $(peak_rss "$RB" vss seq "$I/$1" "$2" "$3") | $(peak_rss "$RB" vshadow seq "$I/$1" "$2" "$3") |"
done
echo
}
want growth && {
echo "## Growth with descriptors and snapshots (synthetic 4 GiB volume)"
echo
echo "Volume open + opening snapshot 1, which loads every store's descriptors"
echo "(best of $RUNS opens)."
echo
echo "| snapshots | descriptors | open ms | bytes allocated | bytes per descriptor |"
echo "|---:|---:|---:|---:|---:|"
for d in 1000 10000 100000; do
    for s in 1 8 32; do
        set -- $("$SB" "$s" "$d" "$RUNS")
        echo "| $1 | $2 | $(awk "BEGIN{printf \"%.2f\", $3 * 1000}") | $4 | $(awk "BEGIN{printf \"%.1f\", $4 / $2}") |"
    done
done
echo
echo "(Bytes allocated include per-store fixed costs, which dominate below"
echo "10 000 descriptors.)"
}
want carve && {
echo "## Carving deleted snapshots (vssinfo --carve, the large scenario)"
echo
if large_ready; then
    # The scan against the raw sequential read of the same volume (1 MiB
    # reads with dd, holes included, as a carver without hole or
    # allocation knowledge reads it). Rates are of the volume's size over
    # the wall time of the whole command; "read" counts what the scan
    # actually read. The image is in the page cache for all of them.
    vsize=$(python3 -c "import json; print([v for v in json.load(open('$ROOT/testimages/out/large.json'))['volumes'] if v['role']=='source'][0]['size'])")
    warm "$L"
    for k in raw carve all; do : > "$T/cv.$k"; done
    tools=(raw carve all)
    for r in $(seq "$LRUNS"); do
        for k in 0 1 2; do
            tool=${tools[$(((k + r) % 3))]}
            t0=$(date +%s%N)
            case $tool in
            raw) dd if="$L" bs=1M iflag=skip_bytes,count_bytes skip="$LOFF" count="$vsize" of=/dev/null 2>/dev/null ;;
            carve) "$VSSINFO" -o "$LOFF" --carve --json --no-progress "$L" >"$T/cv.json" ;;
            all) "$VSSINFO" -o "$LOFF" --carve --json --no-progress --scan-all "$L" >"$T/cva.json" ;;
            esac
            t1=$(date +%s%N)
            awk "BEGIN{printf \"%.1f\n\", $vsize / (($t1 - $t0) / 1e9) / 1e6}" >> "$T/cv.$tool"
        done
    done
    rd() { python3 -c "import json,sys; c=json.load(open(sys.argv[1]))['carved'][0]; print(c['bytes_read'] >> 20, c['bytes_skipped_sparse'] >> 20, c['bytes_skipped_live'] >> 20, len(c['stores']))" "$1"; }
    set -- $(rd "$T/cv.json"); d=("$@")
    set -- $(rd "$T/cva.json"); a=("$@")
    rawm=$(median < "$T/cv.raw")
    echo "| $(numfmt --to=iec "$vsize") volume | volume MB/s | / raw | MiB read | MiB skipped: holes, live files | stores |"
    echo "|---|---:|---:|---:|---:|---:|"
    echo "| raw sequential read (dd, 1 MiB) | $(stats < "$T/cv.raw") | 1.00 | $((vsize >> 20)) | 0, 0 | - |"
    echo "| vssinfo --carve | $(stats < "$T/cv.carve") | $(ratio "$(median < "$T/cv.carve")" "$rawm") | ${d[0]} | ${d[1]}, ${d[2]} | ${d[3]} |"
    echo "| vssinfo --carve --scan-all | $(stats < "$T/cv.all") | $(ratio "$(median < "$T/cv.all")" "$rawm") | ${a[0]} | ${a[1]}, ${a[2]} | ${a[3]} |"
    echo
    echo "Peak memory of the scan (RSS, KiB): $(peak_rss "$VSSINFO" -o "$LOFF" --carve --no-progress "$L")."
else
    echo "(skipped: make -C testimages large failed)"
fi
echo
}
} | tee "$OUT"

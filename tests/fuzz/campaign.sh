#!/usr/bin/env bash
# A fuzzing campaign measured in CPU time, not wall time.
#
#   tests/fuzz/campaign.sh start JOBS      start JOBS workers (nice 19)
#   tests/fuzz/campaign.sh add NAME SECS   queue harness NAME for SECS of CPU
#   tests/fuzz/campaign.sh pause|resume    end the running jobs now, putting
#                                          what is left of their budgets back
#                                          at the head of the queue, and take
#                                          no job until resume (benchmarks)
#   tests/fuzz/campaign.sh status          queue, running jobs, results so far
#   tests/fuzz/campaign.sh stop            let running jobs end now (SIGINT)
#
# libFuzzer's -max_total_time counts wall time, which says nothing about the
# work done when the fuzzers run at low priority beside other work. Each job
# here runs one harness of build/fuzz (make fuzz) on its corpus as make
# fuzz-run does, reads the process's user+system time from /proc every few
# seconds and ends it with SIGINT (libFuzzer exits cleanly, keeping the
# corpus) once it has had SECS of CPU. Every finished job appends a line to
# build/fuzz/campaign/results.tsv: harness, CPU seconds, executions, the last
# cov/ft, and how it ended (done, crash: the artifact is in
# build/fuzz/artifacts). The queue is a directory of job files so jobs can be
# added while workers run. Pausing ends jobs rather than stopping them with
# SIGSTOP: libFuzzer's -timeout is wall time, so a stopped fuzzer reports
# the input it was on as a timeout when it resumes.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
F=$root/build/fuzz
C=$F/campaign
mkdir -p "$C/queue" "$C/running" "$C/logs" "$F/artifacts"
export LSAN_OPTIONS=suppressions=$root/tests/fuzz/lsan.supp

cpu_seconds() {  # utime+stime of a pid, in seconds
    awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print int(($12 + $13) / hz) }' \
        "/proc/$1/stat" 2>/dev/null || echo -1
}

run_job() {  # name seconds
    local n=$1 secs=$2 extra= log pid used=0 how dict
    log=$C/logs/$n-$(date +%Y%m%d-%H%M%S).log
    mkdir -p "$F/corpus/$n"
    [ "$n" = volume ] && extra=$root/tests/fuzz/corpus/snapshot
    [ "$n" = multi ] && extra=$root/tests/fuzz/corpus/container
    dict=$root/tests/fuzz/vss.dict
    [ -e "$root/tests/fuzz/$n.dict" ] && dict=$root/tests/fuzz/$n.dict
    [ "$n" = multi ] && dict=$root/tests/fuzz/container.dict
    "$F/fuzz_$n" -max_total_time=100000000 -rss_limit_mb=2048 -timeout=10 \
        -dict="$dict" -print_final_stats=1 \
        -artifact_prefix="$F/artifacts/$n-" \
        "$F/corpus/$n" "$root/tests/fuzz/corpus/$n" $extra >"$log" 2>&1 &
    pid=$!
    echo "$pid" >"$C/running/$n.pid"
    while kill -0 "$pid" 2>/dev/null; do
        sleep 2
        u=$(cpu_seconds "$pid")
        [ "$u" -ge 0 ] && used=$u  # -1 once the process has gone
        if [ "$used" -ge "$secs" ] || [ -e "$C/stop" ] || [ -e "$C/paused" ]; then
            kill -INT "$pid" 2>/dev/null
            break
        fi
    done
    wait "$pid"
    # paused or stopped early: the rest of the budget goes back first in line
    if [ "$used" -ge 0 ] && [ "$used" -lt "$secs" ] &&
       { [ -e "$C/paused" ] || [ -e "$C/stop" ]; }; then
        echo "$n $((secs - used))" >"$C/queue/0-$(date +%s%N)-$n"
    fi
    how=done
    # a crash, timeout, leak or OOM (not a slow-unit note)
    grep -qE '^==[0-9]+== ?ERROR|deadly signal' "$log" && how=crash
    rm -f "$C/running/$n.pid"
    # the last status line: "#123 ... cov: 1 ft: 2 corp: ..."
    awk -v n="$n" -v s="$used" -v how="$how" -v lg="$log" '
        /^#[0-9]+/ { ex = substr($1, 2); cov = ""; ft = "";
                     for (i = 1; i < NF; i++) { if ($i == "cov:") cov = $(i+1);
                                                if ($i == "ft:") ft = $(i+1) } }
        /stat::number_of_executed_units:/ { ex = $2 }
        END { printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", n, s, ex, cov, ft, how, lg }' \
        "$log" >>"$C/results.tsv"
}

worker() {
    local j n secs
    while [ ! -e "$C/stop" ]; do
        if [ -e "$C/paused" ]; then sleep 2; continue; fi
        j=$(ls "$C/queue" 2>/dev/null | sort | head -n 1)
        if [ -z "$j" ]; then sleep 10; continue; fi
        mv "$C/queue/$j" "$C/running/$j.job" 2>/dev/null || continue
        read -r n secs <"$C/running/$j.job"
        run_job "$n" "$secs"
        rm -f "$C/running/$j.job"
    done
}

case ${1:-} in
start)
    rm -f "$C/stop"
    for i in $(seq 1 "${2:-1}"); do
        nohup nice -n 19 "$0" worker </dev/null >>"$C/workers.log" 2>&1 &
    done ;;
worker) worker ;;
add)
    [ -x "$F/fuzz_$2" ] || { echo "no $F/fuzz_$2 (make fuzz)" >&2; exit 2; }
    echo "$2 $3" >"$C/queue/$(date +%s%N)-$2" ;;
pause)
    touch "$C/paused"
    # wait until the running jobs have ended (at most ~15 s)
    for _ in $(seq 30); do
        ls "$C"/running/*.pid >/dev/null 2>&1 || break
        sleep 0.5
    done ;;
resume)
    rm -f "$C/paused" ;;
status)
    echo "queued:"; cat "$C"/queue/* 2>/dev/null
    echo "running:"
    for p in "$C"/running/*.pid; do
        [ -e "$p" ] && echo "$(basename "$p" .pid) cpu=$(cpu_seconds "$(cat "$p")")s"
    done
    echo "finished (name cpu_s execs cov ft how; cpu -1: not measured):"
    cut -f1-6 "$C/results.tsv" 2>/dev/null
    echo "CPU seconds per harness (measured runs):"
    awk -F'\t' '$2 >= 0 { s[$1] += $2 } END { for (n in s) print n, s[n] }' \
        "$C/results.tsv" 2>/dev/null | sort ;;
stop)
    touch "$C/stop"
    rm -f "$C/paused"
    for p in "$C"/running/*.pid; do [ -e "$p" ] && kill -INT "$(cat "$p")"; done ;;
*)
    sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac

/*
 * progress.c — see progress.h.
 */
#include "progress.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "audit_int.h" /* aud_human: sizes as "1.5 GiB" */

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

void progress_start(progress *p, int option, const char *label,
                    uint64_t total)
{
    p->on = option < 0 ? isatty(STDERR_FILENO) : option;
    p->label = label;
    p->total = total;
    p->t0 = now_seconds();
    p->tlast = 0;
}

void progress_update(progress *p, uint64_t done, int force)
{
    enum { WIDTH = 24 };
    char bar[WIDTH + 1], d[32], t[32], r[32];
    double now, elapsed, rate;
    int i, filled;

    if (!p->on)
        return;
    now = now_seconds();
    if (!force && now - p->tlast < 0.2)
        return;
    p->tlast = now;
    elapsed = now - p->t0;
    rate = elapsed > 0 ? (double)done / elapsed : 0;
    aud_human(done, d, sizeof d);
    aud_human((uint64_t)rate, r, sizeof r);
    fprintf(stderr, "\r\033[K[%s]", p->label);
    if (p->total) {
        filled = done >= p->total ? WIDTH
                                  : (int)((double)done / (double)p->total *
                                          WIDTH);
        for (i = 0; i < WIDTH; i++)
            bar[i] = i < filled ? '#' : '.';
        bar[WIDTH] = '\0';
        aud_human(p->total, t, sizeof t);
        fprintf(stderr, " %s %3d%%  %s of %s", bar,
                (int)(done >= p->total ? 100
                                       : 100.0 * (double)done /
                                             (double)p->total),
                d, t);
    } else {
        fprintf(stderr, " %s", d);
    }
    fprintf(stderr, "  %s/s", r);
    /* time left once the rate means something (a second in) */
    if (p->total && done && done < p->total && elapsed >= 1) {
        double left = (double)(p->total - done) / rate;
        fprintf(stderr, "  %d:%02d left", (int)(left / 60), (int)left % 60);
    }
    fflush(stderr);
}

void progress_done(progress *p, uint64_t done)
{
    if (p->on) {
        progress_update(p, done, 1);
        fputc('\n', stderr);
    }
}

void progress_end(progress *p)
{
    if (p->on) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
}

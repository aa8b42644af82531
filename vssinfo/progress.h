/*
 * progress.h — the progress bar vssinfo draws on stderr while it reads
 * a whole snapshot or image (--extract, --verify-image): a bar, percent,
 * bytes done of the total, rate and time left. Drawn only when stderr is
 * a terminal (or --no-progress says never); at most five times a second.
 */
#ifndef VSSINFO_PROGRESS_H
#define VSSINFO_PROGRESS_H

#include <stdint.h>

typedef struct progress {
    int on;
    const char *label;     /* "extract", "verify" */
    uint64_t total;        /* bytes; 0: unknown (no bar, no time left) */
    double t0, tlast;
} progress;

/* option: 1 on, 0 off (--no-progress), -1 when stderr is a terminal. */
void progress_start(progress *p, int option, const char *label,
                    uint64_t total);
/* done bytes of total; force draws even within 0.2 s of the last draw. */
void progress_update(progress *p, uint64_t done, int force);
/* The finished bar (100%, the average rate) stays on its line. */
void progress_done(progress *p, uint64_t done);
/* Erase the bar (after an error: the line is left for the message). */
void progress_end(progress *p);

#endif

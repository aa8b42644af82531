/*
 * test_threads.c — a volume shared by threads, as a C caller may share it:
 * while some threads open snapshots (which load the stores' block lists
 * and bitmaps on first use), others read vss_volume_snapshot_info of
 * every snapshot. Each info read must be whole: changed and not-in-use
 * block counts either both unknown (UINT64_MAX, not loaded yet) or both
 * the values a volume that loaded everything first gives. On the
 * generated win7 image (testimages/out, made by `make -C testimages`, or
 * argv[1]).
 *
 * The check that matters runs under ThreadSanitizer (a data race need not
 * show in the values):
 *   make BUILD=build/tsan CC=clang STATIC_DEPS=0 SO_DEFS= \
 *     CFLAGS="-O1 -g -fsanitize=thread" EXTRA_LDFLAGS=-fsanitize=thread \
 *     build/tsan/tests/threads_test
 *   TSAN_OPTIONS=halt_on_error=1 build/tsan/tests/threads_test
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "vss.h"
#include "ctest.h"

#define ROUNDS 20
#define READERS 2
#define OPENERS 2
#define MAX_SNAPS 64

static vss_snapshot_info truth[MAX_SNAPS + 1];
static int nsnaps;

typedef struct job {
    vss_volume *vol;
    int opener, bad, errors;
} job;

static void *run(void *arg)
{
    job *j = arg;
    for (int pass = 0; pass < 4; pass++)
        for (int i = nsnaps; i >= 1; i--) {
            vss_error e = {0};
            if (j->opener) {
                vss_snapshot *s = NULL;
                if (vss_snapshot_open(j->vol, i, VSS_FILL_WINDOWS, &s, &e))
                    j->errors++;
                vss_snapshot_close(s);
            } else {
                vss_snapshot_info in;
                int known;
                if (vss_volume_snapshot_info(j->vol, i, &in, &e)) {
                    j->errors++;
                    continue;
                }
                known = in.changed_blocks != UINT64_MAX;
                if (known != (in.not_in_use_blocks != UINT64_MAX) ||
                    (known && (in.changed_blocks != truth[i].changed_blocks ||
                               in.not_in_use_blocks !=
                                   truth[i].not_in_use_blocks)))
                    j->bad++;
            }
        }
    return NULL;
}

int main(int argc, char **argv)
{
    const char *img = argc > 1 ? argv[1] : "testimages/out/win7.img";
    const char *paths[1] = {img};
    vss_volume_set *set = NULL;
    const vss_volume_set_entry *ent;
    vss_volume *vol = NULL;
    vss_error e = {0};
    size_t idx;
    int bad = 0, errors = 0, unknown = 0;

    if (vss_volume_set_open(paths, 1, NULL, &set, &e) ||
        vss_volume_set_pick(set, -1, 0, &idx, &e)) {
        printf("skip: %s: %s (make -C testimages)\n", img, e.message);
        vss_volume_set_close(set);
        return ct_finish(NULL);
    }
    ent = vss_volume_set_get(set, idx);
    /* the truth: every store loaded before any info is read */
    if (vss_volume_open(ent->source, &vol, &e) ||
        vss_volume_load_stores(vol, &e)) {
        check(0, "%s: volume opens, stores load: %s", img, e.message);
        vss_volume_close(vol);
        vss_volume_set_close(set);
        return ct_finish(NULL);
    }
    nsnaps = vss_volume_snapshot_count(vol);
    if (nsnaps > MAX_SNAPS)
        nsnaps = MAX_SNAPS;
    for (int i = 1; i <= nsnaps; i++) {
        vss_volume_snapshot_info(vol, i, &truth[i], &e);
        unknown += truth[i].changed_blocks == UINT64_MAX;
    }
    vss_volume_close(vol);
    check(nsnaps >= 2 && !unknown, "%s: %d snapshots, block counts known "
          "once loaded", img, nsnaps);

    for (int round = 0; round < ROUNDS; round++) {
        pthread_t t[READERS + OPENERS];
        job j[READERS + OPENERS];
        vol = NULL;
        if (vss_volume_open(ent->source, &vol, &e)) {
            check(0, "round %d: volume opens: %s", round, e.message);
            break;
        }
        for (int k = 0; k < READERS + OPENERS; k++) {
            j[k] = (job){vol, k >= READERS, 0, 0};
            pthread_create(&t[k], NULL, run, &j[k]);
        }
        for (int k = 0; k < READERS + OPENERS; k++) {
            pthread_join(t[k], NULL);
            bad += j[k].bad;
            errors += j[k].errors;
        }
        vss_volume_close(vol);
    }
    check(bad == 0 && errors == 0,
          "%d rounds, %d threads reading snapshot info while %d open "
          "snapshots: %d torn or wrong infos, %d errors", ROUNDS, READERS,
          OPENERS, bad, errors);
    vss_volume_set_close(set);
    return ct_finish(NULL);
}

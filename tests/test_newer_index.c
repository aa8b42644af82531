/*
 * test_newer_index.c — the index reads use to ask "does a store newer
 * than k hold this block in full?" (snapshot.c) gives, for every snapshot,
 * every store it reads through and every block any store describes, the
 * same answer as asking each newer store's descriptors one by one (the
 * definition, written out here). Snapshots are opened newest first on one
 * volume handle and oldest first on another, on generated images with 2
 * to 10 stores, forwarders and overlays (testimages/out, or
 * LIBVSS_TESTIMAGES); either way the volume keeps one index, built once
 * for the whole stack, as it does after opening all 30 snapshots of the
 * large scenario newest first (its memory stays one index, not one per
 * snapshot).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vss.h"
#include "vss/vss_int.h"
#include "ctest.h"

/* The definition: some store j > k has a non-overlay descriptor at off. */
static int scan_newer(const vss_volume *v, size_t k, uint64_t off)
{
    size_t j, i;
    for (j = k + 1; j < v->nstores; j++)
        for (i = 0; i < v->stores[j].ndescs; i++)
            if (v->stores[j].descs[i].original == off &&
                !(v->stores[j].descs[i].flags & VSS_DESC_OVERLAY))
                return 1;
    return 0;
}

/* Every snapshot's view of every described block (and the block after
 * each, usually described by none): returns the mismatches. */
static long compare_snapshot(vss_volume *v, vss_snapshot *s, int index,
                             long *asked, long *held)
{
    long bad = 0;
    size_t k, j, i;
    for (k = (size_t)index - 1; k < v->nstores; k++)
        for (j = 0; j < v->nstores; j++)
            for (i = 0; i < v->stores[j].ndescs; i++) {
                uint64_t o = v->stores[j].descs[i].original, d;
                for (d = 0; d <= VSS_BLOCK_SIZE; d += VSS_BLOCK_SIZE) {
                    int want = scan_newer(v, k, o + d);
                    int got = vss_snapshot_newer_holds(s, k, o + d);
                    (*asked)++;
                    *held += want;
                    if (want != got && bad++ < 5)
                        printf("snapshot %d, store %zu, block %" PRIu64
                               ": index says %d, descriptors %d\n",
                               index, k + 1, o + d, got, want);
                }
            }
    return bad;
}

/* The source volume's byte offset and size from NAME.json. */
static long long source_offset(const char *json, long long *size)
{
    char buf[1 << 16];
    FILE *f = fopen(json, "r");
    size_t n;
    const char *p;
    if (!f)
        return -1;
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    p = strstr(buf, "\"role\": \"source\"");
    p = p ? strstr(p, "\"offset\": ") : NULL;
    if (!p || !strstr(p, "\"size\": "))
        return -1;
    *size = atoll(strstr(p, "\"size\": ") + 8);
    return atoll(p + 10);
}

static void test_image(const char *dir, const char *name, int want_overlays)
{
    char img[4096], json[4096];
    long long off, size = 0;
    int pass, index, overlays = 0;
    snprintf(img, sizeof img, "%s/%s.img", dir, name);
    snprintf(json, sizeof json, "%s/%s.json", dir, name);
    off = source_offset(json, &size);
    if (access(img, R_OK) != 0 || off < 0) {
        printf("skip %s: %s or its manifest missing (make testimages)\n",
               name, img);
        return;
    }
    for (pass = 0; pass < 2; pass++) {
        vss_source *src = NULL, *vol = NULL;
        vss_volume *v = NULL;
        vss_error e = {0, ""};
        long asked = 0, held = 0, bad = 0;
        int n;
        CHECK(vss_source_open_file(img, &src, &e) == VSS_OK, "%s: %s", img,
              e.message);
        if (!src)
            return;
        CHECK(vss_source_open_range(src, (uint64_t)off, (uint64_t)size,
                                    &vol, &e) == VSS_OK,
              "%s: %s", name, e.message);
        vss_source_release(src);
        if (!vol)
            return;
        CHECK(vss_volume_open(vol, &v, &e) == VSS_OK, "%s: %s", name,
              e.message);
        vss_source_release(vol);
        if (!v)
            return;
        n = (int)v->nstores;
        CHECK(n >= 2, "%s: %d snapshots, the test needs two or more", name, n);
        /* pass 0: newest first, each open widens the index; pass 1:
         * oldest first, the first index serves every later open. */
        for (index = pass ? 1 : n; index >= 1 && index <= n;
             index += pass ? 1 : -1) {
            vss_snapshot *s = NULL;
            CHECK(vss_snapshot_open(v, index, VSS_FILL_WINDOWS, &s, &e) ==
                      VSS_OK,
                  "%s snapshot %d: %s", name, index, e.message);
            if (!s)
                continue;
            bad += compare_snapshot(v, s, index, &asked, &held);
            vss_snapshot_close(s);
        }
        for (size_t j = 0; j < v->nstores; j++)
            for (size_t i = 0; i < v->stores[j].ndescs; i++)
                overlays += !!(v->stores[j].descs[i].flags &
                               VSS_DESC_OVERLAY);
        CHECK(bad == 0 && held > 0 && held < asked,
              "%s (%s first): %ld of %ld answers differ (%ld held)", name,
              pass ? "oldest" : "newest", bad, asked, held);
        CHECK(vss_newer_index_count(v) == 1,
              "%s (%s first): %zu newer-store indexes kept for %d "
              "snapshots, want one", name, pass ? "oldest" : "newest",
              vss_newer_index_count(v), n);
        vss_volume_close(v);
    }
    if (want_overlays)
        CHECK(overlays > 0, "%s: no overlay descriptor to skip", name);
}

/* Open every snapshot of NAME newest first: the volume keeps one index. */
static void count_indexes(const char *dir, const char *name)
{
    char img[4096], json[4096];
    long long off, size = 0;
    vss_source *src = NULL, *vol = NULL;
    vss_volume *v = NULL;
    vss_error e = {0, ""};
    int index, opened = 0;
    snprintf(img, sizeof img, "%s/%s.img", dir, name);
    snprintf(json, sizeof json, "%s/%s.json", dir, name);
    off = source_offset(json, &size);
    if (access(img, R_OK) != 0 || off < 0) {
        printf("skip %s: %s or its manifest missing (make -C testimages "
               "%s)\n", name, img, name);
        return;
    }
    CHECK(vss_source_open_file(img, &src, &e) == VSS_OK, "%s: %s", img,
          e.message);
    if (src && vss_source_open_range(src, (uint64_t)off, (uint64_t)size,
                                     &vol, &e) == VSS_OK)
        CHECK(vss_volume_open(vol, &v, &e) == VSS_OK, "%s: %s", name,
              e.message);
    vss_source_release(src);
    vss_source_release(vol);
    if (!v)
        return;
    for (index = (int)v->nstores; index >= 1; index--) {
        vss_snapshot *s = NULL;
        if (vss_snapshot_open(v, index, VSS_FILL_WINDOWS, &s, &e) == VSS_OK)
            opened++;
        vss_snapshot_close(s);
    }
    CHECK(opened == (int)v->nstores && vss_newer_index_count(v) == 1,
          "%s: %d of %zu snapshots opened newest first, %zu newer-store "
          "indexes kept, want one", name, opened, v->nstores,
          vss_newer_index_count(v));
    vss_volume_close(v);
}

int main(void)
{
    const char *dir = getenv("LIBVSS_TESTIMAGES");
    if (!dir)
        dir = "testimages/out";
    test_image(dir, "many", 0);
    test_image(dir, "win7", 1);
    count_indexes(dir, "large");
    return ct_finish(NULL);
}

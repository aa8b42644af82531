/*
 * fz_volume.h — open a volume, list it, and read its snapshots checking
 * invariants; shared by fuzz_volume.c, fuzz_snapshot.c and the hostile
 * image test (tests/test_hostile.c).
 *
 * Invariants checked (a violation aborts):
 *  - every failure is a known code with a message naming what failed;
 *  - snapshot info works for 1..count and gives ENOTFOUND outside;
 *  - reads return exactly min(len, size - offset) bytes (0 past the end);
 *  - the same range read twice gives the same bytes;
 *  - vss_snapshot_map runs cover the clipped range exactly, in order,
 *    without gaps or overlaps, with non-zero lengths, and equal those of
 *    vss_snapshot_map_planned (every block planned as reads plan it);
 *  - the bytes read agree with the map: ZERO runs read zeros, STORE runs
 *    the storage source at source_offset, LIVE / STALE runs the volume at
 *    source_offset (zeros past its end);
 *  - STORE runs lie wholly on the storage volume, LIVE / STALE runs below
 *    the largest volume size the catalog or the volume gives (a forwarder
 *    past the volume's end is corrupt, never a live offset near 2^64);
 *  - reading through vss_snapshot_source gives the same bytes.
 */
#ifndef FZ_VOLUME_H
#define FZ_VOLUME_H

#include "fuzz_common.h"
#include "vss/vss_int.h"

#define FZ_MAX_READ (3 * FZ_BLOCK + 1024)

typedef struct fz_runs {
    vss_run r[4 * FZ_MAX_READ / 512 + 8];
    size_t n;
} fz_runs;

static int fz_collect(const vss_run *run, void *user)
{
    fz_runs *rs = user;
    FZ_ASSERT(rs->n < sizeof rs->r / sizeof rs->r[0], "too many runs");
    rs->r[rs->n++] = *run;
    return 0;
}

/* Read from src at off, zeros past its end. */
static inline void fz_read_src(vss_source *src, uint8_t *buf, size_t len,
                        uint64_t off)
{
    int64_t got = vss_source_read_at(src, buf, len, off);
    if (got < 0)
        got = 0;
    memset(buf + got, 0, len - (size_t)got);
}

static inline void fz_check_range(vss_snapshot *s, vss_volume *v, uint64_t off,
                           size_t len, uint8_t *b1, uint8_t *b2, uint8_t *b3)
{
    static fz_runs runs, planned; /* large: not on the stack */
    uint64_t size = vss_snapshot_size(s);
    uint64_t want = off >= size ? 0 : (size - off < len ? size - off : len);
    vss_error err = {0};
    int64_t n1, n2;
    uint64_t pos;
    int rc;

    n1 = vss_snapshot_read_at(s, b1, len, off, &err);
    fz_check_error((int)(n1 < 0 ? n1 : 0), &err);
    if (n1 < 0)
        return; /* a clean error (e.g. store data past the image end) */
    FZ_ASSERT((uint64_t)n1 == want, "read %zu at %llu of %llu: got %lld",
              len, (unsigned long long)off, (unsigned long long)size,
              (long long)n1);
    n2 = vss_snapshot_read_at(s, b2, len, off, &err);
    FZ_ASSERT(n2 == n1, "second read gave %lld, first %lld", (long long)n2,
              (long long)n1);
    FZ_ASSERT(memcmp(b1, b2, (size_t)n1) == 0,
              "two reads of %zu at %llu differ", len,
              (unsigned long long)off);

    runs.n = 0;
    rc = vss_snapshot_map(s, off, len, fz_collect, &runs, &err);
    fz_check_error(rc, &err);
    if (rc)
        return;
    planned.n = 0;
    rc = vss_snapshot_map_planned(s, off, len, fz_collect, &planned, &err);
    FZ_ASSERT(rc == 0, "planned map failed where the map did not: %s",
              err.message);
    FZ_ASSERT(planned.n == runs.n, "map: %zu runs, planned map %zu", runs.n,
              planned.n);
    for (size_t i = 0; i < runs.n; i++) {
        const vss_run *a = &runs.r[i], *b = &planned.r[i];
        FZ_ASSERT(a->offset == b->offset && a->length == b->length &&
                      a->cls == b->cls && a->reason == b->reason &&
                      a->store_index == b->store_index &&
                      a->source_offset == b->source_offset,
                  "run %zu of the map differs from the planned map", i);
    }
    pos = off;
    for (size_t i = 0; i < runs.n; i++) {
        const vss_run *r = &runs.r[i];
        vss_source *from = NULL;
        FZ_ASSERT(r->offset == pos, "run %zu at %llu, expected %llu", i,
                  (unsigned long long)r->offset, (unsigned long long)pos);
        FZ_ASSERT(r->length > 0, "empty run %zu", i);
        FZ_ASSERT(r->length <= off + want - pos, "run %zu overruns", i);
        FZ_ASSERT(r->cls >= VSS_CLASS_STORE && r->cls <= VSS_CLASS_STALE,
                  "class %d", (int)r->cls);
        if (r->cls == VSS_CLASS_STORE)
            from = vss_volume_storage_source(v);
        else if (r->cls != VSS_CLASS_ZERO)
            from = v->src;
        if (from) {
            uint64_t limit = vss_source_size(from);
            if (from == v->src)
                for (size_t k = 0; k < v->nstores; k++)
                    if (v->stores[k].cat.volume_size > limit)
                        limit = v->stores[k].cat.volume_size;
            FZ_ASSERT(r->source_offset <= limit &&
                          r->length <= limit - r->source_offset,
                      "run %zu (%s) from %llu+%llu lies past its source "
                      "(%llu bytes)",
                      i, vss_class_name(r->cls),
                      (unsigned long long)r->source_offset,
                      (unsigned long long)r->length,
                      (unsigned long long)limit);
        }
        if (from)
            fz_read_src(from, b3, (size_t)r->length, r->source_offset);
        else
            memset(b3, 0, (size_t)r->length);
        FZ_ASSERT(memcmp(b1 + (r->offset - off), b3, (size_t)r->length) == 0,
                  "bytes of run %zu (%s, %llu+%llu from %llu) differ from "
                  "the read",
                  i, vss_class_name(r->cls), (unsigned long long)r->offset,
                  (unsigned long long)r->length,
                  (unsigned long long)r->source_offset);
        pos += r->length;
    }
    FZ_ASSERT(pos == off + want, "runs end at %llu, expected %llu",
              (unsigned long long)pos, (unsigned long long)(off + want));
}

/* Up to max_ranges ranges per snapshot: around descriptors of every store
 * (where the interesting cases are), the end of the snapshot, and random
 * places. Returns the rc of vss_volume_open (0 when it opened). */
static inline int fz_exercise_volume2(vss_source *src, vss_source *storage,
                                      uint64_t seed, int max_snaps,
                                      int max_ranges, vss_error *open_err);

static inline int fz_exercise_volume(vss_source *src, uint64_t seed, int max_snaps,
                              int max_ranges, vss_error *open_err)
{
    return fz_exercise_volume2(src, NULL, seed, max_snaps, max_ranges,
                               open_err);
}

/* As fz_exercise_volume; storage (may be NULL) is offered first when the
 * volume is redirected (fuzz_storage.c): attaching must work or give a
 * clean error, and once attached the storage source is the one given. */
static inline int fz_exercise_volume2(vss_source *src, vss_source *storage,
                                      uint64_t seed, int max_snaps,
                                      int max_ranges, vss_error *open_err)
{
    static uint8_t b1[FZ_MAX_READ], b2[FZ_MAX_READ], b3[FZ_MAX_READ];
    vss_volume *v = NULL;
    vss_error err = {0};
    int rc, count, i;

    rc = vss_volume_open(src, &v, open_err);
    fz_check_error(rc, open_err);
    if (rc)
        return rc;
    count = vss_volume_snapshot_count(v);
    FZ_ASSERT(count >= 0, "count %d", count);
    for (i = 1; i <= count; i++) {
        vss_snapshot_info info;
        rc = vss_volume_snapshot_info(v, i, &info, &err);
        FZ_ASSERT(rc == 0, "info %d: %s", i, err.message);
        FZ_ASSERT(info.index == i, "info index");
        FZ_ASSERT(!info.storage_ready || vss_volume_storage_ready(v),
                  "store ready but volume not");
    }
    {
        vss_snapshot_info info;
        FZ_ASSERT(vss_volume_snapshot_info(v, 0, &info, &err) ==
                      VSS_ENOTFOUND, "info 0");
        FZ_ASSERT(vss_volume_snapshot_info(v, count + 1, &info, &err) ==
                      VSS_ENOTFOUND, "info count+1");
    }
    if (storage && vss_volume_is_redirected(v) &&
        !vss_volume_storage_ready(v)) {
        rc = vss_volume_attach_storage(v, storage, &err);
        fz_check_error(rc, &err);
        if (rc == 0) {
            FZ_ASSERT(vss_volume_storage_ready(v), "attached but not ready");
            FZ_ASSERT(vss_volume_storage_source(v) == storage,
                      "attached storage is not the source given");
        } else {
            FZ_ASSERT(!vss_volume_storage_ready(v),
                      "attach failed (%d) but storage ready", rc);
        }
        if (getenv("FZ_VERBOSE"))
            fprintf(stderr, "attach: %d %s\n", rc, rc ? err.message : "");
    }
    if (vss_volume_is_redirected(v) && !vss_volume_storage_ready(v)) {
        /* Offer the volume as its own storage: must be refused or work. */
        rc = vss_volume_attach_storage(v, src, &err);
        fz_check_error(rc, &err);
    }
    for (i = 1; i <= count && i <= max_snaps; i++) {
        vss_fill fill = (vss_fill)((seed >> (2 * i)) % 3);
        vss_snapshot *s = NULL;
        const vss_volume *cv = v;
        uint64_t size, x = seed + (uint64_t)i;
        int r;

        rc = vss_snapshot_open(v, i, fill, &s, &err);
        fz_check_error(rc, &err);
        if (rc)
            continue;
        size = vss_snapshot_size(s);
        for (r = 0; r < max_ranges; r++) {
            uint64_t pick = fz_next(&x), off;
            size_t len = (size_t)(fz_next(&x) % FZ_MAX_READ) + 1;
            const vss_store *st = &cv->stores[pick % cv->nstores];
            if (r == 0) {
                off = 0;
            } else if (r == 1) {
                off = size > 100 ? size - 100 : 0;
            } else if (r % 3 != 0 && st->loaded && st->descs &&
                       st->ndescs) {
                const vss_desc *d = &st->descs[(pick >> 8) % st->ndescs];
                off = (pick & 16) && (d->flags & VSS_DESC_FORWARDER)
                          ? d->where
                          : d->original;
                off += (pick >> 40) % (2 * FZ_BLOCK);
                off -= off >= FZ_BLOCK / 2 ? FZ_BLOCK / 2 : 0;
            } else {
                off = size ? fz_next(&x) % size : 0;
            }
            if (pick & 32)
                off -= off % 512;
            fz_check_range(s, v, off, len, b1, b2, b3);
        }
        /* The snapshot as a source reads the same bytes. */
        {
            vss_source *ss = NULL;
            rc = vss_snapshot_source(s, &ss, &err);
            fz_check_error(rc, &err);
            if (!rc) {
                uint64_t off = size > FZ_BLOCK ? size / 2 : 0;
                int64_t a = vss_snapshot_read_at(s, b1, 4096, off, &err);
                int64_t b = vss_source_read_at(ss, b2, 4096, off);
                FZ_ASSERT(a == b, "source read %lld vs %lld", (long long)b,
                          (long long)a);
                if (a > 0)
                    FZ_ASSERT(memcmp(b1, b2, (size_t)a) == 0,
                              "source bytes differ");
                vss_source_release(ss);
            }
        }
        vss_snapshot_close(s);
    }
    vss_volume_close(v);
    return 0;
}

#endif

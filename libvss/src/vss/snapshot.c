/*
 * snapshot.c — reconstruct snapshot N as Windows shows it, and say where
 * every byte comes from (docs/format.md, "Reading a snapshot"). This is
 * the hot path: reads resolve one 16 KiB block at a time into a plan of
 * 32 sector sources, then issue as few reads as the plan allows.
 */
#include <stdio.h>
#include <stdlib.h>

#include "vss/vss_int.h"

#define SECTORS_PER_BLOCK (VSS_BLOCK_SIZE / VSS_SECTOR_SIZE)

struct vss_snapshot {
    atomic_int refs;
    vss_volume *v;
    int k;             /* store index: 0 = oldest */
    vss_fill fill;
    uint64_t size;
};

/* Where one 512-byte sector of a block comes from. */
typedef struct sector_src {
    uint64_t off;      /* storage offset (STORE) or volume offset */
    uint8_t cls;       /* vss_class */
    uint8_t reason;    /* vss_reason */
    int16_t store;     /* STORE: store index */
} sector_src;

typedef struct plan {
    sector_src s[SECTORS_PER_BLOCK];
} plan;

static void plan_set(plan *p, vss_class cls, vss_reason reason, int store,
                     uint64_t base)
{
    unsigned i;
    for (i = 0; i < SECTORS_PER_BLOCK; i++) {
        p->s[i].cls = (uint8_t)cls;
        p->s[i].reason = (uint8_t)reason;
        p->s[i].store = (int16_t)store;
        p->s[i].off = cls == VSS_CLASS_ZERO ? 0 : base + i * VSS_SECTOR_SIZE;
    }
}

/* Index of the first descriptor of st at or after volume offset off. */
static size_t desc_lower(const vss_store *st, uint64_t off)
{
    size_t a = 0, b = st->ndescs;
    while (a < b) {
        size_t m = a + (b - a) / 2;
        if (st->descs[m].original < off)
            a = m + 1;
        else
            b = m;
    }
    return a;
}

/* Descriptors of store st for the block at off: [*lo, *hi). */
static void desc_range(const vss_store *st, uint64_t off, size_t *lo,
                       size_t *hi)
{
    size_t a = desc_lower(st, off);
    *lo = a;
    while (a < st->ndescs && st->descs[a].original == off)
        a++;
    *hi = a;
}

/*
 * Which store newer than k holds a full (non-overlay) descriptor for a
 * block decides whether reads of it are answered by that store rather
 * than zero-filled. Asking every newer store costs O(stores) binary
 * searches, and resolve() asks once per store it passes: O(stores^2) per
 * block. The index answers in one binary search: for every block some
 * store in [from, newest] holds in full, the newest such store. That
 * answers "some store newer than k" exactly for every k >= from.
 *
 * Built once per stack, under the volume's lazy lock at the first
 * snapshot open, then published: over the run of prepared stores ending
 * at the newest (vss_snapshot_open prepares them all), not only over the
 * stores the first snapshot opened reads through. Stores older than a snapshot's add
 * entries whose newest store is not newer than it (the answer stays "no"
 * for it), so one index serves every snapshot; opening all of them keeps
 * one index, not one per widening. Only a snapshot whose stores the index
 * does not cover (a store prepared after it was built) makes a wider one;
 * the narrower stays (chained) until the volume closes, since reads
 * through it may be under way.
 */
struct vss_newer_index {
    struct vss_newer_index *narrower; /* the one this replaced, or NULL */
    size_t from;                      /* covers stores [from, newest] */
    size_t n;
    uint64_t *off;                    /* block offsets, sorted, unique */
    uint32_t *newest;                 /* the newest store holding off */
};

void vss_newer_index_free(struct vss_newer_index *x)
{
    while (x) {
        struct vss_newer_index *next = x->narrower;
        free(x->off);
        free(x->newest);
        free(x);
        x = next;
    }
}

typedef struct held_block {
    uint64_t off;
    uint32_t store;
} held_block;

static int cmp_held(const void *a, const void *b)
{
    const held_block *x = a, *y = b;
    if (x->off != y->off)
        return x->off < y->off ? -1 : 1;
    return x->store < y->store ? -1 : x->store > y->store;
}

/* Make sure the published index covers store from and all newer ones
 * (and all older ones loaded by now: the whole stack, once). */
static int newer_index_ensure(vss_volume *v, size_t from, vss_error *err)
{
    struct vss_newer_index *old, *x = NULL;
    held_block *h = NULL;
    size_t j, i, lo, total = 0, n = 0;
    int rc = VSS_OK;

    old = atomic_load_explicit(&v->newer, memory_order_acquire);
    if (old && old->from <= from)
        return VSS_OK;
    pthread_mutex_lock(&v->lazy);
    old = atomic_load_explicit(&v->newer, memory_order_acquire);
    if (old && old->from <= from)
        goto out;
    /* every store down to the oldest of the prepared run ending at the
     * newest (the caller checked that [from, newest] are) */
    for (lo = from; lo > 0 && v->stores[lo - 1].reads_ready; lo--)
        ;
    for (j = lo; j < v->nstores; j++)
        total += v->stores[j].ndescs;
    x = vss_calloc(1, sizeof *x);
    h = vss_malloc((total ? total : 1) * sizeof *h);
    if (!x || !h)
        goto nomem;
    for (j = lo; j < v->nstores; j++)
        for (i = 0; i < v->stores[j].ndescs; i++)
            if (!(v->stores[j].descs[i].flags & VSS_DESC_OVERLAY)) {
                h[n].off = v->stores[j].descs[i].original;
                h[n].store = (uint32_t)j;
                n++;
            }
    if (n)
        qsort(h, n, sizeof *h, cmp_held);
    x->off = vss_malloc((n ? n : 1) * sizeof *x->off);
    x->newest = vss_malloc((n ? n : 1) * sizeof *x->newest);
    if (!x->off || !x->newest)
        goto nomem;
    /* Sorted by offset, then store: the last of each run is the newest. */
    for (i = 0; i < n; i++) {
        if (i + 1 < n && h[i + 1].off == h[i].off)
            continue;
        x->off[x->n] = h[i].off;
        x->newest[x->n] = h[i].store;
        x->n++;
    }
    x->from = lo;
    x->narrower = old;
    atomic_store_explicit(&v->newer, x, memory_order_release);
    x = NULL;
    goto out;
nomem:
    rc = vss_fail(err, VSS_ENOMEM, "snapshot %zu: out of memory", from + 1);
out:
    pthread_mutex_unlock(&v->lazy);
    free(h);
    if (x) {
        x->narrower = NULL;
        vss_newer_index_free(x);
    }
    return rc;
}

/* Does any store newer than k hold a full (non-overlay) descriptor for the
 * block? Then reads of it are answered by that store, never zero-filled.
 * The snapshot's open made the index cover k (k >= the snapshot's store). */
static int newer_store_has_block(const vss_volume *v, size_t k, uint64_t off)
{
    const struct vss_newer_index *x =
        atomic_load_explicit(&((vss_volume *)v)->newer, memory_order_acquire);
    size_t i = lower_bound_u64(x->off, x->n, off);
    return i < x->n && x->off[i] == off && x->newest[i] > k;
}

int vss_snapshot_newer_holds(const vss_snapshot *s, size_t k, uint64_t off)
{
    return newer_store_has_block(s->v, k, off);
}

size_t vss_newer_index_count(vss_volume *v)
{
    size_t n = 0;
    for (const struct vss_newer_index *x =
             atomic_load_explicit(&v->newer, memory_order_acquire);
         x; x = x->narrower)
        n++;
    return n;
}

/* A block that was not in use for store st: zeros or today's live data,
 * by the fill mode (Windows: zeros when the catalog entry has 0x400). */
static int zero_effective(const vss_snapshot *s, const vss_store *st)
{
    if (s->fill == VSS_FILL_ZERO)
        return 1;
    if (s->fill == VSS_FILL_LIVE)
        return 0;
    return (st->cat.flags & VSS_CATALOG_FLAG_UNUSED_ZERO) != 0;
}

/* A block that was not in use for store st: zeros or today's live data,
 * by the fill mode (Windows: zeros when the catalog entry has 0x400). */
static void plan_not_in_use(const vss_snapshot *s, const vss_store *st,
                            plan *p, uint64_t off, vss_reason reason)
{
    plan_set(p, zero_effective(s, st) ? VSS_CLASS_ZERO : VSS_CLASS_STALE,
             reason, -1, off);
}

static void resolve(const vss_snapshot *s, size_t k, uint64_t off,
                    int ignore_overlays, int forward_lookup, plan *p);

/* The block was not in use for the snapshot, yet Windows answers with what
 * a newer store (or the live volume) holds: data written after the
 * snapshot, not evidence of it. Keep the source, mark it stale. */
static void mark_stale(plan *p, uint32_t except)
{
    unsigned b;
    for (b = 0; b < SECTORS_PER_BLOCK; b++)
        if (!(except >> b & 1) && (p->s[b].cls == VSS_CLASS_STORE ||
                                   p->s[b].cls == VSS_CLASS_LIVE)) {
            p->s[b].cls = VSS_CLASS_STALE;
            p->s[b].reason = VSS_REASON_NOT_IN_USE;
        }
}

/* Continue the lookup past store k: the next newer store, or the live
 * volume when k is the newest. */
static void lookup_next(const vss_snapshot *s, size_t k, uint64_t off,
                        int forward_lookup, plan *p)
{
    const vss_volume *v = s->v;
    if (k + 1 < v->nstores) {
        resolve(s, k + 1, off, 1, forward_lookup, p);
        return;
    }
    /* A forwarder's target is the moved content of the forwarded block:
     * live data even where the newest bitmap says its new place was free
     * when that snapshot was taken (volsnap protects it once it forwards). */
    if (forward_lookup || !store_not_in_use(&v->stores[k], off))
        plan_set(p, VSS_CLASS_LIVE, VSS_REASON_NONE, -1, off);
    else
        plan_not_in_use(s, &v->stores[k], p, off, VSS_REASON_NOT_IN_USE);
}

/* Is off the target of a forwarder of st whose target block is not in use
 * for st? Such a block reads as zeros (0x400) when nothing newer has it. */
static int is_null_forward_target(const vss_store *st, uint64_t off)
{
    size_t i;
    if (!store_not_in_use(st, off))
        return 0;
    i = lower_bound_u64(st->fwd_targets, st->nfwd, off);
    return i < st->nfwd && st->fwd_targets[i] == off;
}

/*
 * The block at off as seen by store k (docs/format.md, "Reading a
 * snapshot"): regular descriptors give the whole block, overlays give the
 * sectors in their bitmaps on top of whatever lies below, forwarders defer
 * to the next store at another offset. Reads redirected from an older
 * store ignore this store's overlays.
 */
static void resolve(const vss_snapshot *s, size_t k, uint64_t off,
                    int ignore_overlays, int forward_lookup, plan *p)
{
    const vss_volume *v = s->v;
    const vss_store *st = &v->stores[k];
    int have = 0, regular = 0, overlay = 0, forwarder = 0;
    int newer = newer_store_has_block(v, k, off);
    int last = k + 1 == v->nstores;
    int unused = store_not_in_use(st, off);
    uint32_t covered = 0;
    uint64_t target = 0;
    size_t lo, hi, i;
    unsigned b;

    desc_range(st, off, &lo, &hi);
    for (i = lo; i < hi; i++) {
        const vss_desc *d = &st->descs[i];
        if (d->flags & VSS_DESC_FORWARDER) {
            forwarder = 1;
            target = d->where;
            continue;
        }
        if (d->flags & VSS_DESC_OVERLAY) {
            overlay = 1;
            if (ignore_overlays)
                continue;
            if (!have) {
                if (newer) {
                    lookup_next(s, k, off, 0, p);
                    if (unused)
                        mark_stale(p, 0);
                } else if (!unused)
                    plan_set(p, VSS_CLASS_LIVE, VSS_REASON_NONE, -1, off);
                else
                    plan_not_in_use(s, st, p, off, VSS_REASON_NOT_IN_USE);
                have = 1;
            }
            covered |= d->sectors;
            for (b = 0; b < SECTORS_PER_BLOCK; b++)
                if (d->sectors >> b & 1) {
                    p->s[b].cls = VSS_CLASS_STORE;
                    p->s[b].reason = VSS_REASON_NONE;
                    p->s[b].store = (int16_t)k;
                    p->s[b].off = d->where + b * VSS_SECTOR_SIZE;
                }
            continue;
        }
        regular = 1;
        for (b = 0; b < SECTORS_PER_BLOCK; b++)
            if (!have || !(covered >> b & 1)) {
                p->s[b].cls = VSS_CLASS_STORE;
                p->s[b].reason = VSS_REASON_NONE;
                p->s[b].store = (int16_t)k;
                p->s[b].off = d->where + b * VSS_SECTOR_SIZE;
            }
        have = 1;
    }

    if (forwarder && !regular) {
        if (overlay && !ignore_overlays) {
            plan fwd;
            lookup_next(s, k, target, 1, &fwd);
            for (b = 0; b < SECTORS_PER_BLOCK; b++)
                if (!(covered >> b & 1))
                    p->s[b] = fwd.s[b];
        } else {
            lookup_next(s, k, target, 1, p);
        }
        return;
    }
    if (!regular && !forward_lookup && !newer && !last &&
        zero_effective(s, st) && is_null_forward_target(st, off)) {
        plan_set(p, VSS_CLASS_ZERO, VSS_REASON_FORWARD_NULL, -1, 0);
        return;
    }
    if (!have && unused && !newer && !last) {
        plan_not_in_use(s, st, p, off, VSS_REASON_NOT_IN_USE);
        return;
    }
    if (!have) {
        lookup_next(s, k, off, forward_lookup, p);
        /* Not in use here but held by a newer store: Windows returns that
         * store's copy (dfir_ntfs observed this on Windows-made hashes). */
        if (unused && newer)
            mark_stale(p, 0);
    }
}

/* Index of the first of n sorted extents that ends after off. */
static size_t extent_lower(const vss_extent *e, size_t n, uint64_t off)
{
    size_t a = 0, b = n;
    while (a < b) {
        size_t m = a + (b - a) / 2;
        if (e[m].end <= off)
            a = m + 1;
        else
            b = m;
    }
    return a;
}

static size_t diff_area_lower(const vss_volume *v, uint64_t off)
{
    return extent_lower(v->diff_area, v->ndiff_area, off);
}

static int in_diff_area(const vss_volume *v, uint64_t off)
{
    size_t a = diff_area_lower(v, off);
    return a < v->ndiff_area && (v->diff_area[a].start <= off ||
                                 v->diff_area[a].start - off < VSS_BLOCK_SIZE);
}

/* A block of the shadow copy files read in an older snapshot: whatever
 * did not come from the snapshot's own store (a newer store's copy, the
 * live volume) is those files' content after the snapshot was taken, not
 * evidence of it. Zeros stay zeros, with the reason that made them. */
static void mark_diff_area_stale(plan *p, int own_store)
{
    unsigned b;
    for (b = 0; b < SECTORS_PER_BLOCK; b++)
        if (p->s[b].cls == VSS_CLASS_LIVE || p->s[b].cls == VSS_CLASS_STALE ||
            (p->s[b].cls == VSS_CLASS_STORE && p->s[b].store != own_store)) {
            p->s[b].cls = VSS_CLASS_STALE;
            p->s[b].reason = VSS_REASON_DIFF_AREA;
        }
}

/* Sectors planned from a carved store's data that a live file now holds
 * (carve.c: v->reused): what is there may have been written after the
 * deletion, so it is not evidence of the snapshot. Only labelled: the
 * bytes are still read from where the store put them. */
static void mark_overwritten(const vss_volume *v, plan *p)
{
    unsigned b;
    for (b = 0; b < SECTORS_PER_BLOCK; b++) {
        const sector_src *x = &p->s[b];
        size_t i;
        if (x->store < 0 || (x->cls != VSS_CLASS_STORE &&
                             x->cls != VSS_CLASS_STALE))
            continue;
        i = extent_lower(v->reused, v->nreused, x->off);
        if (i < v->nreused && v->reused[i].start <= x->off) {
            p->s[b].cls = VSS_CLASS_STALE;
            p->s[b].reason = VSS_REASON_OVERWRITTEN;
        }
    }
}

static void plan_block_resolved(const vss_snapshot *s, uint64_t off,
                                plan *p);

/* The plan for the snapshot block at off (16 KiB aligned). */
static void plan_block(const vss_snapshot *s, uint64_t off, plan *p)
{
    plan_block_resolved(s, off, p);
    if (s->v->nreused)
        mark_overwritten(s->v, p);
}

static void plan_block_resolved(const vss_snapshot *s, uint64_t off, plan *p)
{
    if (s->v->ndiff_area && in_diff_area(s->v, off)) {
        /* The shadow copy files' own blocks (docs/format.md, "The shadow
         * copy files"): zeros in the newest snapshot; in an older one
         * Windows reads them through like any other block. */
        if ((size_t)s->k + 1 < s->v->nstores) {
            resolve(s, (size_t)s->k, off, 0, 0, p);
            mark_diff_area_stale(p, s->k);
        } else if (s->fill == VSS_FILL_LIVE) {
            plan_set(p, VSS_CLASS_STALE, VSS_REASON_DIFF_AREA, -1, off);
        } else {
            plan_set(p, VSS_CLASS_ZERO, VSS_REASON_DIFF_AREA, -1, 0);
        }
        return;
    }
    resolve(s, (size_t)s->k, off, 0, 0, p);
}

int vss_snapshot_open(vss_volume *v, int index, vss_fill fill,
                      vss_snapshot **out, vss_error *err)
{
    vss_snapshot *s;
    *out = NULL;
    if (!v)
        return vss_fail(err, VSS_EINVAL, "snapshot: no volume");
    if (fill != VSS_FILL_WINDOWS && fill != VSS_FILL_ZERO &&
        fill != VSS_FILL_LIVE)
        return vss_fail(err, VSS_EINVAL, "snapshot: unknown fill mode %d",
                        (int)fill);
    if (index < 1 || (size_t)index > v->nstores)
        return vss_fail(err, VSS_ENOTFOUND,
                        "snapshot %d: the volume has %zu snapshots", index,
                        v->nstores);
    if (!v->storage_ready)
        return vss_fail(err, VSS_ENOSTORAGE,
                        "snapshot %d: its data lives on another volume "
                        "(redirected storage) that was not found; give the "
                        "image that holds it",
                        index);
    /* Snapshot N reads through stores N .. newest: all must be sound.
     * Every store is prepared (once), not only those: the newer-store
     * index is then built once over the whole stack (newer_index_ensure);
     * a store whose block list is corrupt is retired, and only the
     * snapshots reading through it are refused, below. */
    {
        int rc = vss_volume_prepare_reads(v, 0, err);
        if (rc)
            return rc;
    }
    for (size_t k = (size_t)index - 1; k < v->nstores; k++)
        if (!v->stores[k].loaded)
            return vss_fail(err,
                            v->stores[k].load_rc ? v->stores[k].load_rc
                                                 : VSS_ECORRUPT,
                            "snapshot %d reads through the store of snapshot "
                            "%zu, which could not be read: %s",
                            index, k + 1, v->stores[k].load_error);
    {
        int rc = newer_index_ensure(v, (size_t)index - 1, err);
        if (rc)
            return rc;
    }
    s = vss_calloc(1, sizeof *s);
    if (!s)
        return vss_fail(err, VSS_ENOMEM, "snapshot: out of memory");
    atomic_init(&s->refs, 1);
    vss_volume_retain(v);
    s->v = v;
    s->k = index - 1;
    s->fill = fill;
    s->size = v->stores[index - 1].cat.volume_size;
    *out = s;
    return VSS_OK;
}

void vss_snapshot_close(vss_snapshot *s)
{
    if (s && atomic_fetch_sub(&s->refs, 1) == 1) {
        vss_volume_close(s->v);
        free(s);
    }
}

uint64_t vss_snapshot_size(const vss_snapshot *s)
{
    return s ? s->size : 0;
}

/* Read n bytes of one source class into buf; reads past the end of the
 * underlying volume give zeros (a snapshot larger than today's volume). */
static int read_piece(const vss_snapshot *s, const sector_src *src,
                      uint8_t *buf, size_t n, vss_error *err)
{
    vss_source *from;
    int64_t got;
    size_t done = 0;

    if (src->cls == VSS_CLASS_ZERO) {
        memset(buf, 0, n);
        return VSS_OK;
    }
    /* Store data (also stale data taken from a newer store) lives on the
     * storage volume; everything else on the volume itself. */
    from = src->store >= 0 ? s->v->storage : s->v->src;
    while (done < n) {
        got = vss_source_read_at(from, buf + done, n - done, src->off + done);
        if (got < 0)
            return vss_fail(err, (int)got,
                            "snapshot %d: reading %zu bytes of %s data at "
                            "offset %llu failed",
                            s->k + 1, n, vss_class_name(src->cls),
                            (unsigned long long)(src->off + done));
        if (got == 0) {
            if (src->store >= 0)
                return vss_fail(err, VSS_EIO,
                                "snapshot %d: store data at offset %llu lies "
                                "past the end of the storage image",
                                s->k + 1,
                                (unsigned long long)(src->off + done));
            memset(buf + done, 0, n - done);
            break;
        }
        done += (size_t)got;
    }
    return VSS_OK;
}

static int same_run(const sector_src *a, const sector_src *b)
{
    if (a->cls != b->cls || a->reason != b->reason || a->store != b->store)
        return 0;
    return a->cls == VSS_CLASS_ZERO || a->off + VSS_SECTOR_SIZE == b->off;
}

/* A read not issued yet: consecutive pieces whose sources are contiguous
 * (a run of live blocks, a run of copies laid out in order in a store)
 * become one pread, so a large read costs few system calls. */
typedef struct pending_read {
    sector_src src;
    uint8_t *dst;
    size_t len;
} pending_read;

#define MAX_MERGED_READ (4u << 20)

static int flush_read(const vss_snapshot *s, pending_read *pr, vss_error *err)
{
    int rc = VSS_OK;
    if (pr->len)
        rc = read_piece(s, &pr->src, pr->dst, pr->len, err);
    pr->len = 0;
    return rc;
}

static int add_piece(const vss_snapshot *s, pending_read *pr,
                     const sector_src *src, uint8_t *dst, size_t len,
                     vss_error *err)
{
    int rc;
    if (pr->len && pr->dst + pr->len == dst && pr->src.cls == src->cls &&
        pr->src.store == src->store && pr->len + len <= MAX_MERGED_READ &&
        (src->cls == VSS_CLASS_ZERO || pr->src.off + pr->len == src->off)) {
        pr->len += len;
        return VSS_OK;
    }
    if ((rc = flush_read(s, pr, err)))
        return rc;
    pr->src = *src;
    pr->dst = dst;
    pr->len = len;
    return VSS_OK;
}

int64_t vss_snapshot_read_at(vss_snapshot *s, void *buf, size_t len,
                             uint64_t offset, vss_error *err)
{
    uint8_t *out = buf;
    pending_read pr = {{0, 0, 0, 0}, NULL, 0};
    size_t done = 0;
    int rc;

    if (!s || (!buf && len))
        return vss_fail(err, VSS_EINVAL, "snapshot read: bad arguments");
    if (offset >= s->size)
        return 0;
    if (len > s->size - offset)
        len = (size_t)(s->size - offset);
    while (done < len) {
        uint64_t pos = offset + done;
        uint64_t block = pos - pos % VSS_BLOCK_SIZE;
        size_t from = (size_t)(pos - block); /* first byte wanted in block */
        size_t to = VSS_BLOCK_SIZE;           /* one past the last */
        unsigned a = (unsigned)(from / VSS_SECTOR_SIZE);
        plan p;

        if (to - from > len - done)
            to = from + (len - done);
        plan_block(s, block, &p);
        /* Walk the plan in runs of sectors that read contiguously. */
        while (from < to) {
            unsigned e = a + 1;
            size_t stop;
            sector_src src;
            while (e < SECTORS_PER_BLOCK && same_run(&p.s[e - 1], &p.s[e]))
                e++;
            stop = (size_t)e * VSS_SECTOR_SIZE;
            if (stop > to)
                stop = to;
            src = p.s[a];
            if (src.cls != VSS_CLASS_ZERO)
                src.off += from - (size_t)a * VSS_SECTOR_SIZE;
            rc = add_piece(s, &pr, &src, out + (block + from - offset),
                           stop - from, err);
            if (rc)
                return rc;
            from = stop;
            a = e;
        }
        done = (size_t)(block + to - offset);
    }
    if ((rc = flush_read(s, &pr, err)))
        return rc;
    return (int64_t)done;
}

/* ---- the provenance map ---------------------------------------------------- */

/* Runs being merged for the caller's callback. */
typedef struct map_state {
    vss_run run;
    int open;
    vss_run_cb cb;
    void *user;
} map_state;

/* Bytes [from, to) of the snapshot come from x (its offset is that of the
 * first byte of the sector or block x describes, which starts at base):
 * extend the open run when they continue it, else hand it over. */
static int map_add(map_state *m, uint64_t from, uint64_t to, uint64_t base,
                   const sector_src *x)
{
    uint64_t src_off = x->cls == VSS_CLASS_ZERO ? 0 : x->off + (from - base);
    vss_run *r = &m->run;
    if (m->open && r->cls == (vss_class)x->cls &&
        r->reason == (vss_reason)x->reason && r->store_index == x->store + 1 &&
        (x->cls == VSS_CLASS_ZERO || r->source_offset + r->length == src_off)) {
        r->length += to - from;
        return 0;
    }
    if (m->open) {
        int rc = m->cb(r, m->user);
        if (rc)
            return rc;
    }
    r->offset = from;
    r->length = to - from;
    r->cls = (vss_class)x->cls;
    r->reason = (vss_reason)x->reason;
    r->store_index = x->store + 1;
    r->source_offset = src_off;
    m->open = 1;
    return 0;
}

/* Bytes [pos, end) of the block at block, from its plan, sector by sector. */
static int map_planned_block(const vss_snapshot *s, uint64_t block,
                             uint64_t pos, uint64_t end, map_state *m)
{
    plan p;
    unsigned i;
    int rc;
    plan_block(s, block, &p);
    for (i = (unsigned)((pos - block) / VSS_SECTOR_SIZE);
         i < SECTORS_PER_BLOCK && pos < end; i++) {
        uint64_t sec = block + (uint64_t)i * VSS_SECTOR_SIZE;
        uint64_t to = end - sec > VSS_SECTOR_SIZE ? sec + VSS_SECTOR_SIZE : end;
        if ((rc = map_add(m, pos, to, sec, &p.s[i])))
            return rc;
        pos = to;
    }
    return 0;
}

/*
 * A "quiet" block has no descriptor in stores k..newest, is no forwarder's
 * target there and is not in the diff area. resolve() then reduces to the
 * bitmaps: the first store from k on that calls the block not in use
 * decides (zeros or stale live data, by its 0x400 flag and the fill mode),
 * and when none does it is live. Most of a volume is quiet, so the map
 * walks it a block at a time instead of planning 32 sectors per block.
 */
static void quiet_block(const vss_snapshot *s, uint64_t block, sector_src *x)
{
    const vss_volume *v = s->v;
    size_t j;
    x->store = -1;
    x->off = block;
    for (j = (size_t)s->k; j < v->nstores; j++)
        if (store_not_in_use(&v->stores[j], block)) {
            x->cls = (uint8_t)(zero_effective(s, &v->stores[j])
                                   ? VSS_CLASS_ZERO
                                   : VSS_CLASS_STALE);
            x->reason = VSS_REASON_NOT_IN_USE;
            if (x->cls == VSS_CLASS_ZERO)
                x->off = 0;
            return;
        }
    x->cls = VSS_CLASS_LIVE;
    x->reason = VSS_REASON_NONE;
}

/* Where a map walk stands in each store from the snapshot's on (its
 * first descriptor and forwarder target not yet passed) and in the diff
 * area: set by binary search where the walk starts, then only moved
 * forward, so finding the next busy block costs O(stores) per block. */
typedef struct busy_walk {
    size_t *desc;
    size_t *fwd;
    size_t diff;
} busy_walk;

static int busy_walk_start(const vss_snapshot *s, busy_walk *w,
                           uint64_t block, vss_error *err)
{
    const vss_volume *v = s->v;
    size_t j, n = v->nstores - (size_t)s->k;
    w->desc = vss_malloc(2 * n * sizeof *w->desc);
    if (!w->desc)
        return vss_fail(err, VSS_ENOMEM, "snapshot %d map: out of memory",
                        s->k + 1);
    w->fwd = w->desc + n;
    for (j = 0; j < n; j++) {
        const vss_store *st = &v->stores[(size_t)s->k + j];
        w->desc[j] = desc_lower(st, block);
        w->fwd[j] = lower_bound_u64(st->fwd_targets, st->nfwd, block);
    }
    w->diff = diff_area_lower(v, block);
    return VSS_OK;
}

/* The first block at or after block (16 KiB aligned, not before the last
 * block asked for) that is not quiet, or UINT64_MAX. */
static uint64_t next_busy_block(const vss_snapshot *s, busy_walk *w,
                                uint64_t block)
{
    const vss_volume *v = s->v;
    uint64_t best = UINT64_MAX;
    size_t j, n = v->nstores - (size_t)s->k;

    for (j = 0; j < n; j++) {
        const vss_store *st = &v->stores[(size_t)s->k + j];
        size_t *d = &w->desc[j], *f = &w->fwd[j];
        while (*d < st->ndescs && st->descs[*d].original < block)
            (*d)++;
        if (*d < st->ndescs && st->descs[*d].original < best)
            best = st->descs[*d].original;
        while (*f < st->nfwd && st->fwd_targets[*f] < block)
            (*f)++;
        if (*f < st->nfwd && st->fwd_targets[*f] < best)
            best = st->fwd_targets[*f];
    }
    while (w->diff < v->ndiff_area && v->diff_area[w->diff].end <= block)
        w->diff++;
    if (w->diff < v->ndiff_area) {
        uint64_t start = v->diff_area[w->diff].start;
        uint64_t first = start < block ? block : start;
        if (first < best)
            best = first;
    }
    /* Rounded down: a busy byte makes its whole block busy. */
    return best == UINT64_MAX ? best : best - best % VSS_BLOCK_SIZE;
}

/* Where the block at block ends within [.., end): written so that the last
 * block of a volume 2^64 bytes long does not wrap to 0. */
static uint64_t block_end(uint64_t block, uint64_t end)
{
    return end - block > VSS_BLOCK_SIZE ? block + VSS_BLOCK_SIZE : end;
}

static int map_check(const vss_snapshot *s, uint64_t offset, uint64_t length,
                     vss_run_cb cb, vss_error *err, uint64_t *end)
{
    if (!s || !cb)
        return vss_fail(err, VSS_EINVAL, "snapshot map: bad arguments");
    *end = offset >= s->size ? offset
           : length > s->size - offset ? s->size
                                       : offset + length;
    return VSS_OK;
}

int vss_snapshot_map(vss_snapshot *s, uint64_t offset, uint64_t length,
                     vss_run_cb cb, void *user, vss_error *err)
{
    map_state m = {.cb = cb, .user = user};
    busy_walk w;
    uint64_t end = 0, pos = offset, busy;
    int rc;

    if ((rc = map_check(s, offset, length, cb, err, &end)) || pos >= end)
        return rc;
    busy = pos - pos % VSS_BLOCK_SIZE;
    if ((rc = busy_walk_start(s, &w, busy, err)))
        return rc;
    busy = next_busy_block(s, &w, busy);
    while (pos < end) {
        uint64_t block = pos - pos % VSS_BLOCK_SIZE;
        uint64_t to = block_end(block, end);
        if (busy < block)
            busy = next_busy_block(s, &w, block);
        if (block == busy) {
            rc = map_planned_block(s, block, pos, end, &m);
        } else {
            sector_src x;
            quiet_block(s, block, &x);
            rc = map_add(&m, pos, to, block, &x);
        }
        if (rc)
            break;
        pos = to;
    }
    free(w.desc);
    if (rc)
        return rc;
    return m.open ? cb(&m.run, user) : VSS_OK;
}

int vss_snapshot_map_planned(vss_snapshot *s, uint64_t offset,
                             uint64_t length, vss_run_cb cb, void *user,
                             vss_error *err)
{
    map_state m = {.cb = cb, .user = user};
    uint64_t end = 0, pos = offset;
    int rc;

    if ((rc = map_check(s, offset, length, cb, err, &end)))
        return rc;
    while (pos < end) {
        uint64_t block = pos - pos % VSS_BLOCK_SIZE;
        if ((rc = map_planned_block(s, block, pos, end, &m)))
            return rc;
        pos = block_end(block, end);
    }
    return m.open ? cb(&m.run, user) : VSS_OK;
}

/* ---- the snapshot as a read-at source --------------------------------------- */

static int64_t snap_src_read(void *ctx, void *buf, size_t len, uint64_t off)
{
    return vss_snapshot_read_at(ctx, buf, len, off, NULL);
}

static void snap_src_close(void *ctx)
{
    vss_snapshot_close(ctx);
}

static const vss_source_ops snapshot_ops = {snap_src_read, snap_src_close};

int vss_snapshot_source(vss_snapshot *s, vss_source **out, vss_error *err)
{
    char name[64];
    if (!s)
        return vss_fail(err, VSS_EINVAL, "snapshot source: no snapshot");
    atomic_fetch_add(&s->refs, 1);
    snprintf(name, sizeof name, "snapshot %d", s->k + 1);
    return vss_source_new(&snapshot_ops, s, s->size, name, out, err);
}

const char *vss_class_name(vss_class c)
{
    switch (c) {
    case VSS_CLASS_STORE: return "store";
    case VSS_CLASS_LIVE: return "live";
    case VSS_CLASS_ZERO: return "zero";
    case VSS_CLASS_STALE: return "stale";
    default: return "unknown";
    }
}

const char *vss_reason_name(vss_reason r)
{
    switch (r) {
    case VSS_REASON_NONE: return "";
    case VSS_REASON_NOT_IN_USE: return "not-in-use";
    case VSS_REASON_DIFF_AREA: return "diff-area";
    case VSS_REASON_FORWARD_NULL: return "forward-null";
    case VSS_REASON_OVERWRITTEN: return "overwritten";
    default: return "unknown";
    }
}

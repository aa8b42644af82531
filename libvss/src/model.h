/*
 * model.h — the in-memory model of one volume's shadow copies, shared by
 * volume.c (which builds it) and snapshot.c (which reads through it).
 */
#ifndef VSS_MODEL_H
#define VSS_MODEL_H

#include <pthread.h>
#include <stdatomic.h>

#include "internal.h"

typedef struct vss_store {
    vss_catalog_snapshot cat;   /* type 2 entry (source volume catalog) */
    vss_catalog_location loc;   /* type 3 entry (storage volume catalog) */
    vss_store_info info;
    int loaded;                 /* loc, info and everything below are set */
    int load_rc;                /* why loading failed (corrupt store), 0 */
    char load_error[256];
    size_t listed;              /* descriptors in the block list (listing) */
    size_t max_list;            /* cap on the block list chain's length */
    vss_desc *descs;            /* sorted by original offset (read model) */
    size_t ndescs;
    uint64_t *fwd_targets;      /* the forwarders' targets, sorted, unique */
    size_t nfwd;
    uint64_t nbits;             /* one per 16 KiB block of volume_size */
    uint8_t *bitmap;            /* current bitmap */
    uint8_t *prev_bitmap;       /* previous bitmap or NULL */
    uint64_t bitmap_bits;       /* bits the bitmap chains hold (<= nbits); */
    uint64_t prev_bits;         /* the rest read 0 (in use) */
    vss_block_range *ranges;    /* the store file's own extents */
    size_t nranges;
    uint64_t store_size;        /* sum of the range sizes */
    uint64_t not_in_use;        /* blocks flagged not in use */
    int reads_ready;            /* descs, bitmaps and not_in_use are set:
                                   they are read at the first open of a
                                   snapshot that needs them, not to list */
} vss_store;

typedef struct vss_extent {
    uint64_t start, end; /* [start, end) on the volume */
} vss_extent;

struct vss_volume {
    atomic_int refs;
    vss_source *src;            /* the volume's own bytes */
    vss_source *storage;        /* where store data lives (src if local) */
    int has_vss;
    vss_volume_header hdr;
    vss_catalog catalog;        /* this volume's own catalog */
    vss_store *stores;          /* index 0 = oldest (stack order) */
    size_t nstores;
    int storage_ready;
    vss_extent *diff_area;      /* blocks of shadow copy files on this
                                   volume: read as zeros in snapshots */
    size_t ndiff_area;
    int diff_area_loaded;
    pthread_mutex_t lazy;       /* guards the lazy loads above */
};

/* Load what reading snapshots through stores [from, newest] needs and
 * listing does not (resolved descriptors, bitmaps, diff-area extents). Thread-safe; called by
 * vss_snapshot_open, so reads never wait. */
VSS_HIDDEN int vss_volume_prepare_reads(vss_volume *v, size_t from,
                                        vss_error *err);

VSS_HIDDEN void vss_volume_retain(vss_volume *v);

/* vss_snapshot_map planning every block sector by sector, as reads do:
 * the reference the tests hold the quiet-block shortcut of
 * vss_snapshot_map to (snapshot.c). */
VSS_HIDDEN int vss_snapshot_map_planned(vss_snapshot *s, uint64_t offset,
                                        uint64_t length, vss_run_cb cb,
                                        void *user, vss_error *err);

/* Is the 16 KiB block at off flagged not in use in store st? (current
 * bitmap, and the previous bitmap too when the store has one) */
static inline int store_not_in_use(const vss_store *st, uint64_t off)
{
    uint64_t i = off / VSS_BLOCK_SIZE;
    if (!bitmap_test(st->bitmap, st->bitmap_bits, i))
        return 0;
    return !st->prev_bitmap || bitmap_test(st->prev_bitmap, st->prev_bits, i);
}

#endif

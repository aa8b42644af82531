/*
 * vss/vss_int.h — the VSS layer (base < io < vss): the on-disk structures
 * (block header, volume header, catalog, store information, block list,
 * block ranges, bitmaps) and their decoders, and the in-memory model of one
 * volume's shadow copies that volume.c builds and snapshot.c reads through.
 * Never installed.
 */
#ifndef VSS_VSS_INT_H
#define VSS_VSS_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "io/io.h"

/* ---- the 128-byte header every VSS metadata block starts with ------------ */

#define VSS_RECORD_VOLUME_HEADER 1u
#define VSS_RECORD_CATALOG 2u
#define VSS_RECORD_BLOCK_LIST 3u
#define VSS_RECORD_STORE_HEADER 4u
#define VSS_RECORD_BLOCK_RANGES 5u
#define VSS_RECORD_BITMAP 6u

#define VSS_BLOCK_HEADER_SIZE 128u

typedef struct vss_block_header {
    uint32_t version;
    uint32_t record_type;
    uint64_t relative_offset;
    uint64_t own_offset;
    uint64_t next_offset;
    uint64_t info_size; /* store header only: size of store information */
} vss_block_header;

extern const uint8_t vss_identifier[16];

/* Decode and check the header of a metadata block read at `offset` that
 * must be of record type `type`. Returns VSS_ECORRUPT (naming `what`) when
 * the identifier or type is wrong; the caller checks own_offset. */
VSS_HIDDEN int vss_block_header_decode(const uint8_t *p, size_t len,
                                       uint32_t type, uint64_t offset,
                                       const char *what,
                                       vss_block_header *out,
                                       vss_error *err);

/* ---- volume header (vss_header.c) ---------------------------------------- */

#define VSS_HEADER_OFFSET 0x1E00u
#define VSS_HEADER_SIZE 512u

typedef struct vss_volume_header {
    uint32_t version;
    uint64_t catalog_offset;   /* 0: VSS enabled, no snapshot */
    uint64_t max_diff_area;
    uint8_t volume_guid[16];
    uint8_t storage_guid[16];
    uint64_t application_flags;
} vss_volume_header;

/* VSS_ENOTFOUND when the bytes carry no VSS identifier (no VSS). */
VSS_HIDDEN int vss_volume_header_decode(const uint8_t *p, size_t len,
                                        vss_volume_header *out,
                                        vss_error *err);

/* ---- catalog (catalog.c) -------------------------------------------------- */

#define VSS_CATALOG_ENTRY_SIZE 128u
#define VSS_CATALOG_MAX_BLOCKS 4096u /* 520k entries: far beyond any volume */

typedef struct vss_catalog_snapshot { /* entry type 2 */
    uint64_t volume_size;
    uint8_t store_guid[16];
    uint64_t stack_position;
    uint64_t flags;
    uint64_t creation_time;
    uint64_t entry_offset; /* where the entry was read, for messages */
} vss_catalog_snapshot;

typedef struct vss_catalog_location { /* entry type 3 */
    uint64_t block_list_offset;
    uint8_t store_guid[16];
    uint64_t store_header_offset;
    uint64_t block_range_offset;
    uint64_t bitmap_offset;
    uint64_t file_reference;
    uint64_t allocated_size;
    uint64_t previous_bitmap_offset;
    uint64_t entry_offset;
} vss_catalog_location;

typedef struct vss_catalog {
    vss_catalog_snapshot *snapshots;
    size_t nsnapshots;
    vss_catalog_location *locations;
    size_t nlocations;
    uint64_t *blocks; /* volume offsets of the catalog's own blocks */
    size_t nblocks;
} vss_catalog;

/* Decode the entries of one catalog block (header already checked) and
 * append them to cat. block_offset is for messages. */
VSS_HIDDEN int vss_catalog_decode_block(const uint8_t *p, size_t len,
                                        uint64_t block_offset,
                                        vss_catalog *cat, vss_error *err);
/* Follow the catalog chain starting at offset on src. */
VSS_HIDDEN int vss_catalog_read(vss_source *src, uint64_t offset,
                                vss_catalog *cat, vss_error *err);
VSS_HIDDEN void vss_catalog_free(vss_catalog *cat);

/* ---- store header and information (store.c) ------------------------------ */

typedef struct vss_store_info {
    uint8_t unknown_guid[16];
    uint8_t shadow_copy_id[16];
    uint8_t shadow_copy_set_id[16];
    uint32_t snapshot_context;
    uint32_t provider_flags;
    uint32_t attribute_flags;
    char originating_machine[256];
    char service_machine[256];
} vss_store_info;

VSS_HIDDEN int vss_store_info_decode(const uint8_t *p, size_t len,
                                     uint64_t offset, vss_store_info *out,
                                     vss_error *err);

/* ---- block list (blocklist.c) --------------------------------------------- */

#define VSS_DESC_SIZE 32u
#define VSS_DESC_FORWARDER 0x1u
#define VSS_DESC_OVERLAY 0x2u
#define VSS_DESC_IGNORE 0x4u

/* A descriptor after the forwarder renames have been applied. */
typedef struct vss_desc {
    uint64_t original; /* volume offset of the block it describes */
    uint64_t where;    /* forwarder: the next store's block to read;
                          otherwise: data offset on the storage volume */
    uint32_t flags;
    uint32_t sectors;  /* overlay: bit i = sector i comes from here */
} vss_desc;            /* 24 bytes: memory per descriptor stays small */

typedef struct vss_raw_desc {
    uint64_t original;
    uint64_t relative;
    uint64_t data;
    uint32_t flags;
    uint32_t bitmap;
} vss_raw_desc;

/* Decode one 32-byte descriptor; returns 0 for the end marker, 1 for a
 * descriptor, VSS_ECORRUPT for an impossible one. */
VSS_HIDDEN int vss_desc_decode(const uint8_t *p, uint64_t offset,
                               vss_raw_desc *out, vss_error *err);

/* Read the whole block list chain at offset on src and resolve it into a
 * sorted array (by original, stable) of *count descriptors. *listed (may be
 * NULL) gets the number of descriptors the list holds, ignored ones left
 * out, before forwarders renamed or cancelled any. */
VSS_HIDDEN int vss_block_list_read(vss_source *src, uint64_t offset,
                                   size_t max_blocks, vss_desc **out,
                                   size_t *count, size_t *listed,
                                   vss_error *err);

/* Where the descriptors of store `store` (its snapshot number, for
 * errors) may point: forwarder targets inside the volume, copies on the
 * storage volume and not on one of the store's own metadata blocks. */
typedef struct vss_desc_bounds {
    int store;
    uint64_t volume_size;   /* forwarder targets lie below it */
    uint64_t storage_size;  /* copies lie wholly below it */
    const uint64_t *meta;   /* the store's metadata blocks, sorted */
    size_t nmeta;
} vss_desc_bounds;

/* vss_block_list_read, with every descriptor (as listed, before renames)
 * checked against bounds: one outside them is corrupt (VSS_ECORRUPT
 * naming the store, the descriptor's offset and the offset it points at). */
VSS_HIDDEN int vss_block_list_read_bounded(vss_source *src, uint64_t offset,
                                           size_t max_blocks,
                                           const vss_desc_bounds *bounds,
                                           vss_desc **out, size_t *count,
                                           size_t *listed, vss_error *err);

/* ---- block ranges (blockrange.c) ------------------------------------------ */

typedef struct vss_block_range {
    uint64_t volume_offset;   /* on the storage volume */
    uint64_t relative_offset; /* in the store */
    uint64_t size;
} vss_block_range;

VSS_HIDDEN int vss_block_ranges_read(vss_source *src, uint64_t offset,
                                     size_t max_blocks,
                                     vss_block_range **out, size_t *count,
                                     vss_error *err);

/* ---- bitmaps (bitmap.c) ---------------------------------------------------- */

/* Read a bitmap chain: nbits bits (one per 16 KiB block). Bits missing
 * because the chain is short read as 0 (in use): only the bits the chain
 * holds are kept, *have_bits of them (<= nbits), so memory follows the
 * blocks on disk and not a volume size taken from the catalog. */
VSS_HIDDEN int vss_bitmap_read(vss_source *src, uint64_t offset,
                               uint64_t nbits, uint8_t **out,
                               uint64_t *have_bits,
                               vss_error *err);

static inline int bitmap_test(const uint8_t *bm, uint64_t nbits, uint64_t i)
{
    return bm && i < nbits && (bm[i >> 3] >> (i & 7)) & 1;
}

/* The volume offsets of the blocks of a chain of record type `type`
 * starting at first (headers only are read). Same stopping rules as the
 * decoders: own-offset mismatch ends it, a loop or overlong chain fails. */
VSS_HIDDEN int vss_chain_offsets(vss_source *src, uint64_t first,
                                 uint32_t type, const char *what, size_t max,
                                 uint64_t **out, size_t *count,
                                 vss_error *err);

/* ---- the in-memory model (volume.c, snapshot.c) ------------------------- */

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
                                   they are read at the first snapshot
                                   open (every store's), not to list */
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
    vss_extent *reused;         /* carved stack only (carve.c): storage
                                   extents of deleted stores that live
                                   files now hold, sorted; reads from them
                                   are stale, reason overwritten */
    size_t nreused;
    pthread_mutex_t lazy;       /* guards the lazy loads above */
    /* Which blocks a newer store holds in full (snapshot.c), built at
     * the first open that reads through the stores it covers. */
    _Atomic(struct vss_newer_index *) newer;
};

/* Free the chain of newer-store indexes (vss_volume_close). */
VSS_HIDDEN void vss_newer_index_free(struct vss_newer_index *x);

/* Does a store newer than k (k >= the snapshot's store) hold the block at
 * off in full? What reads ask, from the index; for the tests. */
VSS_HIDDEN int vss_snapshot_newer_holds(const vss_snapshot *s, size_t k,
                                        uint64_t off);
/* How many newer-store indexes v keeps (the published one and those it
 * replaced): for the tests. */
VSS_HIDDEN size_t vss_newer_index_count(vss_volume *v);

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

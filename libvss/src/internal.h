/*
 * internal.h — shared by the library's floors; never installed.
 */
#ifndef VSS_INTERNAL_H
#define VSS_INTERNAL_H

#include <stdarg.h>
#include <stdint.h>
#include <stddef.h>
#include <string.h>

#include "vss.h"

#define VSS_HIDDEN __attribute__((visibility("hidden")))
#define VSS_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* ---- little-endian readers: widen before shifting ---------------------- */

static inline uint16_t le16(const uint8_t *p)
{
    return (uint16_t)((uint16_t)p[0] | (uint16_t)p[1] << 8);
}

static inline uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static inline uint64_t le64(const uint8_t *p)
{
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* Checked arithmetic for offsets taken from disk. */
/* Index of the first element >= key in the sorted array a[0..n). */
static inline size_t lower_bound_u64(const uint64_t *a, size_t n,
                                     uint64_t key)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t m = lo + (hi - lo) / 2;
        if (a[m] < key)
            lo = m + 1;
        else
            hi = m;
    }
    return lo;
}

static inline int add_overflows(uint64_t a, uint64_t b, uint64_t *sum)
{
    return __builtin_add_overflow(a, b, sum);
}

/* ---- errors -------------------------------------------------------------- */

/* Record code and message in err (if not NULL); returns code. */
VSS_HIDDEN int vss_fail(vss_error *err, int code, const char *fmt, ...)
    VSS_PRINTF(3, 4);

/* ---- allocation: one place to inject failures in tests ------------------- */

VSS_HIDDEN void *vss_malloc(size_t n);
VSS_HIDDEN void *vss_calloc(size_t n, size_t size);
VSS_HIDDEN void *vss_realloc(void *p, size_t n);

/* Fail the Nth allocation / read from now on (0 = never); for tests. */
VSS_API void vss_test_fail_alloc_after(long n);
VSS_API void vss_test_fail_read_after(long n);

/* ---- sources ------------------------------------------------------------- */

/* Read exactly len bytes or fail: VSS_EIO naming what/offset when short. */
VSS_HIDDEN int vss_read_exact(vss_source *src, void *buf, size_t len,
                              uint64_t offset, const char *what,
                              vss_error *err);

/* The ctx of src when it was made with exactly these ops, else NULL (how
 * the evidence containers find their state behind a vss_source). */
VSS_HIDDEN void *vss_source_ctx_if(vss_source *src, const vss_source_ops *ops);

/* ---- chains of blocks on disk: loop and length guard --------------------- */

typedef struct vss_chain {
    uint64_t *seen;   /* sorted offsets visited so far */
    size_t n, cap;
    size_t max;       /* hard cap on the chain length */
    const char *what; /* "catalog block", ... for messages */
} vss_chain;

/* Record a visit to offset: VSS_ECORRUPT if seen before (a loop) or if the
 * chain grows past max. */
VSS_HIDDEN int vss_chain_visit(vss_chain *c, uint64_t offset, vss_error *err);
VSS_HIDDEN void vss_chain_free(vss_chain *c);

/* The volume offsets of the blocks of a chain of record type `type`
 * starting at first (headers only are read). Same stopping rules as the
 * decoders: own-offset mismatch ends it, a loop or overlong chain fails. */
VSS_HIDDEN int vss_chain_offsets(vss_source *src, uint64_t first,
                                 uint32_t type, const char *what, size_t max,
                                 uint64_t **out, size_t *count,
                                 vss_error *err);

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

/* ---- partitions (partition.c) --------------------------------------------- */

VSS_HIDDEN int vss_is_ntfs_boot_sector(const uint8_t *p, size_t len);

#endif

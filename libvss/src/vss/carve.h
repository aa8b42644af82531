/*
 * vss/carve.h — the carver's internals (vss layer): the scan reads the
 * volume once and hands every chunk to an optional record hook, so that
 * evidence found by a layer above (NTFS file records naming store files,
 * ntfs/carve_records.c) comes from the same single read. Never installed.
 */
#ifndef VSS_CARVE_H
#define VSS_CARVE_H

#include "vss/vss_int.h"

/* An NTFS file record naming a store file, as the hook found it. */
typedef struct carve_name {
    uint8_t guid[16];         /* store GUID from the file name */
    uint64_t first_offset;    /* volume offset of the file's first cluster
                                 (its store header), 0 if not known */
    uint64_t file_reference;  /* sequence << 48 | record number */
    uint64_t si_created;      /* $STANDARD_INFORMATION creation, or 0 */
    uint64_t record_offset;   /* where the record is on the volume */
    int deleted;              /* the record is marked not in use */
    int in_mft;               /* found inside the live $MFT (not a copy,
                                 e.g. an old MFT block inside store data) */
} carve_name;

typedef struct carve_names {
    carve_name *v;
    size_t n, cap;
} carve_names;

VSS_HIDDEN int carve_names_add(carve_names *names, const carve_name *n);

/* Called with each chunk the scan reads (offset: on the volume; chunks are
 * read in order and start on 64 KiB boundaries). Non-zero stops the scan. */
typedef int (*carve_chunk_fn)(void *user, const uint8_t *buf, size_t len,
                              uint64_t offset, carve_names *names);

/* The scan reads CARVE_CHUNK bytes at a time, each chunk starting on a
 * multiple of CARVE_CHUNK (or on a 64 KiB boundary after a sparse hole). */
#define CARVE_CHUNK (1u << 20)
#define CARVE_ALIGN 65536u

/* The whole carve: scan src (hook may be NULL), group, check, order.
 * skip (may be NULL): one bit per CARVE_CHUNK of the volume, LSB first,
 * set for a chunk wholly held by live files that cannot hold VSS stores
 * or store file records (ntfs/carve_records.c): not read, counted in
 * bytes_skipped_live. */
VSS_HIDDEN int vss_carve_run(vss_source *src, const vss_carve_options *opts,
                             carve_chunk_fn hook, void *hook_user,
                             const uint8_t *skip, vss_carve **out,
                             vss_error *err);

/* Storage extents of carved store index (1-based): its block ranges and
 * the extent of its first blocks (header, block list, block-range list),
 * sorted by volume offset, disjoint. */
VSS_HIDDEN void vss_carve_store_extents(const vss_carve *c, int index,
                                        const vss_block_range **r,
                                        size_t *n);
/* Bytes [start, end) of store index's extents are held by a live file
 * (the store file being deleted): overwritten, maybe. */
VSS_HIDDEN int vss_carve_mark_reused(vss_carve *c, int index, uint64_t start,
                                     uint64_t end);
/* Every store checked: say so, and what was found, in the stores. */
VSS_HIDDEN void vss_carve_reuse_done(vss_carve *c);

/* volume.c: a volume (local storage) whose stack is the catalog cat (taken
 * over, even on failure), read exactly as an opened volume's. */
VSS_HIDDEN int vss_volume_open_catalog(vss_source *vol,
                                       const vss_volume_header *hdr,
                                       vss_catalog *cat, vss_volume **out,
                                       vss_error *err);

#endif

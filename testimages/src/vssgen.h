/*
 * vssgen.h - shared declarations of the VSS test-image generator.
 *
 * The generator is deliberately independent of libvss: it shares no code or
 * header with libvss/, so that the images it writes can serve as an
 * independent truth (they are cross-checked with libvshadow and The Sleuth
 * Kit, see tests/test_testimages.sh).  Layout of this directory:
 *
 *   util.c     errors, little-endian writers, PRNG, GUIDs, FILETIME, hashes
 *   scenario.c the declarative .scn format (docs/testimages.md)
 *   ntfsio.c   libntfs-3g glue: a device whose writes pass through the
 *              copy-on-write hook, and the file operations scenarios use
 *   volsnap.c  the volsnap model: catalog, stores, bitmaps, copy-on-write,
 *              forwarders, overlays, and the reference reader
 *   disk.c     MBR/GPT writing and assembly of the final image files
 *   main.c     runs a scenario and writes the manifest
 */
#ifndef VSSGEN_H
#define VSSGEN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define VSS_BLOCK 16384u          /* volsnap's copy-on-write unit */
#define SECTOR 512u
#define MAX_STORES 64
#define MAX_VOLUMES 2

/* ---- util.c ---------------------------------------------------------- */
void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern int g_verbose;
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n, size_t size);
char *xstrdup(const char *s);

void put16(uint8_t *p, uint16_t v);
void put32(uint8_t *p, uint32_t v);
void put64(uint8_t *p, uint64_t v);
uint32_t get32(const uint8_t *p);
uint64_t get64(const uint8_t *p);

/* Deterministic PRNG (splitmix64): every GUID, time and data byte of an
 * image derives from the scenario seed, so outputs are reproducible. */
typedef struct { uint64_t s; } prng;
uint64_t prng_next(prng *r);
prng prng_derive(uint64_t seed, const char *label, uint64_t n);

/* A GUID kept in canonical (textual) byte order; guid_put writes the
 * Windows mixed-endian on-disk form. */
typedef struct { uint8_t b[16]; } guid;
guid guid_random(prng *r);
guid guid_parse(const char *s);     /* dies on malformed input */
void guid_put(uint8_t *p, guid g);
void guid_str(guid g, char out[37]);
int guid_eq(guid a, guid b);
extern const guid VSS_ID;           /* 3808876b-c176-4e48-b7ae-04046e6cc752 */

/* FILETIME helpers: 100 ns ticks since 1601-01-01 UTC. */
uint64_t filetime_parse(const char *iso);   /* "2019-06-04T23:43:01.4843750Z" */
void filetime_str(uint64_t ft, char out[96]);
extern uint64_t g_clock_ft;         /* the fake clock libntfs-3g sees */

/* Hashing (OpenSSL EVP underneath). */
typedef struct hasher hasher;
hasher *hasher_new(int with_md5);  /* SHA-256, and MD5 in parallel if asked */
void hasher_update(hasher *h, const void *p, size_t n);
void hasher_final(hasher *h, char sha256_hex[65], char md5_hex[33]);
void sha256_hex(const void *p, size_t n, char out[65]);
uint64_t fasthash64(const void *p, size_t n);   /* self-check only */

/* Bitmaps, one bit per item, LSB first (the on-disk VSS convention). */
static inline int bit_get(const uint8_t *bm, uint64_t i) { return (bm[i >> 3] >> (i & 7)) & 1; }
static inline void bit_set(uint8_t *bm, uint64_t i) { bm[i >> 3] |= (uint8_t)(1u << (i & 7)); }
static inline void bit_clr(uint8_t *bm, uint64_t i) { bm[i >> 3] &= (uint8_t)~(1u << (i & 7)); }

/* Positional I/O on a file with an error check; dies on failure. */
void xpread(int fd, void *buf, size_t n, uint64_t off);
void xpwrite(int fd, const void *buf, size_t n, uint64_t off);

/* Content patterns used by scenario writes. */
typedef struct {
    enum { PAT_RANDOM, PAT_BYTE, PAT_TEXT, PAT_ZERO } kind;
    uint8_t byte;
    char *text;
    uint64_t seed;
} pattern;
void pattern_fill(const pattern *pt, uint64_t off, uint8_t *buf, size_t n);

/* ---- scenario.c ------------------------------------------------------ */
typedef enum {
    OP_MKDIR, OP_CREATE, OP_OVERWRITE, OP_APPEND, OP_TRUNCATE, OP_DELETE,
    OP_SDELETE, OP_MOVE, OP_SCATTER, OP_SNAPSHOT, OP_RECOVER, OP_ADVANCE,
    OP_RENAME, OP_DELETE_SNAPSHOTS
} opkind;

typedef struct {
    opkind kind;
    int line;
    char *path;                 /* "/dir/file" or "/dir/file:stream" */
    uint64_t size, offset, count;
    int has_size, has_offset;
    pattern data;
    int fragments;              /* create: interleave with filler to fragment */
    int align;                  /* create: start on a 16 KiB boundary */
    uint32_t attr, context;     /* snapshot: store attribute flags, context */
    int has_attr, has_context;
    uint64_t seconds;           /* advance */
    char *to;                   /* rename: the new path */
    int keep;                   /* delete_snapshots: newest snapshots kept */
    int in_store;               /* create: place the file in deleted store K */
    uint64_t store_offset;      /* ... at this store-relative offset */
} op;

typedef enum { LAYOUT_NONE, LAYOUT_MBR, LAYOUT_GPT } layout_kind;
typedef enum { STOR_LOCAL, STOR_PARTITION, STOR_IMAGE } storage_kind;

typedef struct {
    char *name;
    int windows;                /* 7 or 10 */
    uint64_t seed;
    uint64_t volume_size, storage_size, store_size;
    layout_kind layout;
    storage_kind storage;
    int scope;                  /* ScopeSnapshots (Windows 8+ client) */
    char **in_scope;
    int nin_scope;
    char *machine, *service_machine;
    uint64_t start_time;        /* FILETIME */
    int block_list_out;         /* write <name>.blocks.tsv */
    int volume_hashes;          /* whole-snapshot SHA-256 in the manifest */
    int selfcheck;
    int file_hashes;            /* hash every file of every snapshot */
    op *ops;
    int nops;
} scenario;

scenario *scenario_load(const char *path);
uint64_t parse_size(const char *s);     /* "64M", "4K", "123" */

/* ---- ntfsio.c -------------------------------------------------------- */
/* One NTFS volume being built, kept in its own sparse file while the
 * scenario runs (disk.c places it into the final image at the end). */
typedef void (*write_hook)(void *ctx, uint64_t off, uint64_t len);
typedef struct vvol {
    char *path;
    int fd;
    uint64_t size;              /* bytes */
    uint64_t hidden_sectors;    /* partition start, for the boot sector */
    guid id;                    /* the volume GUID in the VSS header */
    void *nv;                   /* ntfs_volume * while mounted */
    uint64_t pos;               /* seek position for the device read/write ops */
    write_hook hook;            /* called before every write (copy-on-write) */
    void *hook_ctx;
    uint32_t cluster;
    uint64_t nclusters;
    uint64_t mft_zone_end;
} vvol;

typedef struct { uint64_t vcn, lcn, len; } extent;     /* in clusters */
#define LCN_NONE UINT64_MAX                              /* sparse hole */

typedef struct {
    char *path;                 /* "/dir/file" or "/dir/file:stream" */
    uint64_t size;
    int resident;
    uint64_t mft_ref;
    extent *ext;
    int next;
    uint8_t *data;              /* only when asked for */
} fileinfo;

void vvol_format(vvol *v, const char *path, uint64_t size, uint64_t hidden, const char *label);
void vvol_mount(vvol *v);
void vvol_umount(vvol *v);
void vvol_close(vvol *v);
int fs_exists(vvol *v, const char *path);
void fs_mkdir(vvol *v, const char *path);
void fs_write(vvol *v, const char *path, uint64_t off, uint64_t len, const pattern *pt, int create);
void fs_truncate(vvol *v, const char *path, uint64_t size);
void fs_scatter(vvol *v, const char *path, uint64_t count, uint64_t size, const pattern *pt, prng *r);
void fs_create_at(vvol *v, const char *path, const uint8_t *buf, uint64_t size, uint64_t lcn);
void fs_delete(vvol *v, const char *path);
void fs_rename(vvol *v, const char *path, const char *to);
void fs_info(vvol *v, const char *path, fileinfo *fi, int want_data);
void fileinfo_free(fileinfo *fi);
fileinfo *fs_walk(vvol *v, int *n);
uint8_t *fs_bitmap(vvol *v);
typedef uint64_t (*place_fn)(void *ctx, vvol *v, const uint8_t *cluster_bitmap, uint64_t nclusters);
uint64_t fs_create_sysfile(vvol *v, const char *name, uint64_t size, place_fn place, void *ctx,
                           extent **ext, int *next);

/* ---- volsnap.c ------------------------------------------------------- */
typedef struct {
    uint64_t orig, rel, data;   /* see docs/testimages.md, "Block descriptors" */
    uint32_t flags, bitmap;
} desc;

#define DESC_FORWARDER 0x1u
#define DESC_OVERLAY 0x2u

/* What one file (stream) of a snapshot really contained. */
typedef struct {
    char *path;
    uint64_t size;
    int resident;
    char sha256[65], md5[33];
    char win_sha256[65];        /* as Windows returns it (zero ranges applied) */
    uint64_t (*ranges)[2];      /* file byte ranges in not-in-use blocks */
    int nranges;
    int in_scope;
} snapfile;

typedef struct {
    int index;                  /* stack position, 1 = oldest */
    guid id, copy_id, set_id, unk_id;
    uint64_t ctime;
    uint32_t context, attr;
    uint64_t cat_flags;
    uint64_t file_ref;
    extent *ext;                /* the store file on the storage volume */
    int next;
    uint64_t size, next_rel;
    uint64_t bm_rel, pbm_rel;   /* pbm_rel 0 = no previous bitmap */
    uint64_t *blk;              /* relative offsets of block-list blocks */
    int nblk;
    desc *d;
    size_t nd;
    uint8_t *cur, *prev;
    uint64_t *truth;            /* per block fingerprint at snapshot time */
    snapfile *files;
    int nfiles;
    uint64_t n_overlay_blocks;
    int deleted;                /* delete_snapshots removed it */
    struct delsrc *src;         /* deleted: per block, where the snapshot's
                                   bytes were read from at the deletion */
} store;

/* Where snapshot k's block b was read from when its snapshot was deleted
 * (vs_read_block's answer then): after the deletion new files may take
 * those clusters; the manifest says which bytes are lost. */
typedef struct delsrc {
    uint64_t at;                /* volume offset of the block's 16 KiB */
    uint64_t ovl_at;            /* overlay data block (sectors in ovl_mask) */
    uint32_t ovl_mask;
    uint8_t inuse;              /* 0: not-in-use/VSS file answer (no evidence) */
    uint8_t from_store;         /* at is a store data block, else the live volume */
} delsrc;

typedef struct gen {
    scenario *sc;
    vvol vol[MAX_VOLUMES];
    int nvol;
    vvol *src, *stor;           /* stor == src unless the diff area is redirected */
    uint64_t nblocks;           /* 16 KiB blocks of the source volume */
    uint8_t *pending;           /* block's live content still owed to a snapshot */
    uint8_t *vssown;            /* source blocks held by VSS files */
    store st[MAX_STORES];
    int nst;
    uint64_t cat_off[MAX_VOLUMES];  /* catalog volume offset, 0 = none yet */
    int last_was_snapshot;
    uint64_t cows, forwarders, overlays;
    const char *outdir;
    int ndeleted;               /* snapshots 1..ndeleted deleted (delete_snapshots) */
    uint8_t *written_after;     /* per source cluster: written after the deletion */
} gen;

void vs_init(gen *g);
void vs_hook(void *ctx, uint64_t off, uint64_t len);
void vs_snapshot(gen *g, const op *o);
void vs_move(gen *g, const op *o);
void vs_recover(gen *g, const op *o);
void vs_finish(gen *g);
/* delete_snapshots: the oldest nst - keep snapshots are deleted as Windows
 * does (docs/testimages.md, "Deleting snapshots"). */
int vs_delete_prepare(gen *g, int keep);     /* returns how many go */
void vs_delete_snapshots(gen *g, int ndelete);
void vs_write_block_lists(gen *g);
void vs_selfcheck(gen *g, int k);
uint64_t vs_store_cluster(gen *g, int k, uint64_t rel);
/* Snapshot k's bytes (merged [start, end) volume ranges) whose source is a
 * deleted store's cluster now allocated (overwritten), or a place written
 * after the deletion that no allocation shows (changed); and how many
 * bytes of store k's own file the final $Bitmap allocates again. */
void vs_losses(gen *g, int k, const uint8_t *final_bitmap, uint64_t (**ow)[2], int *now,
               uint64_t (**ch)[2], int *nch, uint64_t *store_reused);

/* The reference reader: block b of snapshot k (1-based) as Windows returns
 * it, and where it came from. */
typedef enum { SRC_LIVE, SRC_COPIED, SRC_FORWARDED, SRC_NOTINUSE, SRC_VSSFILE } srckind;
typedef struct {
    srckind kind; int store; int overlay;
    uint64_t at;                /* volume offset the 16 KiB come from */
    int from_store;             /* at is a store data block */
    uint64_t ovl_at;            /* overlay data block, sectors in ovl_mask */
    uint32_t ovl_mask;
} blocksrc;
blocksrc vs_read_block(gen *g, int k, uint64_t b, uint8_t *out);
int vs_notinuse(gen *g, int k, uint64_t b);

/* ---- disk.c ---------------------------------------------------------- */
/* Where each volume ends up: image file index and byte offset in it. */
typedef struct {
    int nimages;
    char *image[MAX_VOLUMES];           /* file names (in the output dir) */
    uint64_t image_size[MAX_VOLUMES];
    int vol_image[MAX_VOLUMES];
    uint64_t vol_offset[MAX_VOLUMES];
    layout_kind layout;
} placement;

void disk_plan(const scenario *sc, int nvol, const uint64_t *vol_size, placement *pl);
void disk_write(const scenario *sc, const char *outdir, vvol *vols, int nvol, const placement *pl);

#endif

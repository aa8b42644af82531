/*
 * vss.h — libvss public API: read Windows Volume Shadow Copies from disk
 * images without Windows.
 *
 * The library is built in floors (see docs/design.md):
 *   sources   (byte read-at I/O: files, memory, sub-ranges, snapshots)
 *   disks     (find volumes in MBR / GPT / bare images)
 *   volumes   (parse the VSS header, catalog and stores of one volume)
 *   snapshots (reconstruct snapshot N as Windows shows it, with provenance)
 *
 * Conventions
 * - Every handle type is opaque. Functions that can fail return 0 (VSS_OK)
 *   or a negative VSS_E* code; byte-count functions return int64_t (bytes,
 *   or a negative code). When a `vss_error *` argument is not NULL it
 *   receives the code and a message naming the structure and the byte
 *   offset involved.
 * - All input from disk is treated as hostile: every offset, size and chain
 *   is bounded and checked. Corrupt metadata gives VSS_ECORRUPT, never a
 *   crash, hang or silently wrong data.
 * - Images are only ever opened read-only (O_RDONLY).
 * - Sources are reference counted: an object that uses a source retains it,
 *   so callers may release their own reference as soon as they are done.
 * - A vss_volume and its snapshots may be read from several threads at
 *   once; opening and closing must not race with reads of the same object.
 */
#ifndef VSS_H
#define VSS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define VSS_API __attribute__((visibility("default")))
#else
#define VSS_API
#endif

#define VSS_VERSION_STRING "0.1.0"

/* Copy-on-write granularity of the Microsoft software shadow copy provider. */
#define VSS_BLOCK_SIZE 16384u
/* Overlays and the provenance map work in 512-byte sectors. */
#define VSS_SECTOR_SIZE 512u

/* ---- errors ------------------------------------------------------------ */

enum {
    VSS_OK = 0,
    VSS_EINVAL = -1,      /* bad argument from the caller */
    VSS_EIO = -2,         /* the underlying read failed or came up short */
    VSS_ECORRUPT = -3,    /* on-disk metadata is inconsistent or hostile */
    VSS_ENOMEM = -4,      /* out of memory (or a size from disk too large) */
    VSS_ENOTFOUND = -5,   /* no such volume / snapshot / storage volume */
    VSS_EUNSUPPORTED = -6,/* valid but not handled (e.g. unknown version) */
    VSS_ENOSTORAGE = -7   /* redirected storage volume not attached */
};

typedef struct vss_error {
    int code;             /* VSS_OK or a VSS_E* code */
    char message[512];    /* what failed, naming the structure and offset */
} vss_error;

/* A short stable name for a code: "ok", "io", "corrupt", ... */
VSS_API const char *vss_strerror(int code);

/* ---- sources: read-at byte I/O ---------------------------------------- */

typedef struct vss_source vss_source;

/* A pluggable backend. read_at returns the number of bytes read (fewer only
 * at the end of the data, 0 past it) or a negative VSS_E* code. It must be
 * safe to call from several threads at once. close releases ctx. */
typedef struct vss_source_ops {
    int64_t (*read_at)(void *ctx, void *buf, size_t len, uint64_t offset);
    void (*close)(void *ctx);
} vss_source_ops;

/* Wrap a backend; on success the source owns ctx (ops->close is called on
 * the last release, and also when this function fails). */
VSS_API int vss_source_new(const vss_source_ops *ops, void *ctx,
                           uint64_t size, const char *name,
                           vss_source **out, vss_error *err);

/* A regular file or block device, opened O_RDONLY. */
VSS_API int vss_source_open_file(const char *path, vss_source **out,
                                 vss_error *err);

/* Borrowed memory: the bytes must outlive the source. */
VSS_API int vss_source_open_memory(const void *data, size_t size,
                                   const char *name, vss_source **out,
                                   vss_error *err);

/* Bytes [offset, offset+size) of parent (a partition of a disk). Reads
 * past the parent's end come back short. Retains parent. */
VSS_API int vss_source_open_range(vss_source *parent, uint64_t offset,
                                  uint64_t size, vss_source **out,
                                  vss_error *err);

/* Read up to len bytes at offset; short only at the end of the source. */
VSS_API int64_t vss_source_read_at(vss_source *src, void *buf, size_t len,
                                   uint64_t offset);
VSS_API uint64_t vss_source_size(const vss_source *src);
VSS_API const char *vss_source_name(const vss_source *src);
VSS_API void vss_source_retain(vss_source *src);
VSS_API void vss_source_release(vss_source *src);

/* ---- disks: where the volumes are --------------------------------------- */

typedef struct vss_partition {
    uint64_t offset;      /* byte offset of the volume in the disk image */
    uint64_t size;        /* bytes */
    int number;           /* 1-based partition number; 0 for a bare volume */
    char scheme[8];       /* "mbr", "gpt" or "none" (bare volume) */
    char type[40];        /* MBR type byte as "0x07" or GPT type GUID */
    int is_ntfs;          /* the volume starts with a valid NTFS boot sector */
} vss_partition;

/* Find the volumes of a disk image: MBR (primary, extended and logical
 * partitions), GPT (protective MBR + header at LBA 1), or a bare volume.
 * *parts is malloc'ed (free with vss_partitions_free). Hostile tables give
 * VSS_ECORRUPT (chains of extended partitions are bounded). */
VSS_API int vss_disk_scan(vss_source *disk, vss_partition **parts,
                          size_t *count, vss_error *err);
VSS_API void vss_partitions_free(vss_partition *parts);

/* ---- volumes: VSS metadata of one NTFS volume -------------------------- */

typedef struct vss_volume vss_volume;

/* Open the VSS metadata of the volume whose bytes are `vol` (retained).
 * A volume without a VSS header (or with VSS enabled but no snapshot) opens
 * fine and reports 0 snapshots. If the snapshots' data lives on another
 * volume (redirected storage) the snapshots are listed from the catalog but
 * cannot be read until vss_volume_attach_storage succeeds. */
VSS_API int vss_volume_open(vss_source *vol, vss_volume **out,
                            vss_error *err);
VSS_API void vss_volume_close(vss_volume *v);

VSS_API int vss_volume_has_vss(const vss_volume *v);
/* 1 when the header names a storage volume other than itself. */
VSS_API int vss_volume_is_redirected(const vss_volume *v);
/* 1 when snapshot data can be read (local storage, or storage attached). */
VSS_API int vss_volume_storage_ready(const vss_volume *v);
VSS_API void vss_volume_guid(const vss_volume *v, uint8_t guid[16]);
VSS_API void vss_volume_storage_guid(const vss_volume *v, uint8_t guid[16]);
VSS_API uint32_t vss_volume_header_version(const vss_volume *v);
VSS_API uint64_t vss_volume_max_diff_area(const vss_volume *v);

/* Offer `storage` (the bytes of another volume) as the diff-area volume of
 * v. Returns VSS_ENOTFOUND if its VSS header GUID is not v's storage GUID,
 * VSS_OK when attached (then the stores are loaded and checked). */
VSS_API int vss_volume_attach_storage(vss_volume *v, vss_source *storage,
                                      vss_error *err);
/* The source the store data is read from (v's own source when local). */
VSS_API vss_source *vss_volume_storage_source(const vss_volume *v);

VSS_API int vss_volume_snapshot_count(const vss_volume *v);

/* Read every store's block list and bitmaps now. Opening a volume reads
 * only its catalog and store headers (O(snapshots)); the block lists
 * (O(changed blocks)) and bitmaps are read when the first snapshot reading
 * through a store is opened. After this call vss_snapshot_info gives
 * changed_blocks and not_in_use_blocks of every readable store, and a store
 * whose block list or bitmap is damaged reports it in store_error (its
 * snapshots then refuse to open). VSS_OK (also when the storage volume is
 * not attached: nothing to read) unless memory ran out. */
VSS_API int vss_volume_load_stores(vss_volume *v, vss_error *err);

/* Catalog entry flags (type 2 entry, +40) known so far. */
#define VSS_CATALOG_FLAG_OFFLINE 0x100u      /* snapshot marked deleted */
#define VSS_CATALOG_FLAG_UNUSED_ZERO 0x400u  /* not-in-use blocks read 0 */

typedef struct vss_snapshot_info {
    int index;                   /* 1 = oldest (stack order) */
    uint64_t stack_position;     /* as stored in the catalog */
    uint8_t store_guid[16];
    uint8_t shadow_copy_id[16];
    uint8_t shadow_copy_set_id[16];
    uint64_t creation_time;      /* FILETIME: 100 ns since 1601-01-01 UTC */
    uint64_t volume_size;        /* bytes, from the catalog */
    uint64_t catalog_flags;
    uint32_t snapshot_context;
    uint32_t provider_flags;     /* store information +52 (meaning unknown) */
    uint32_t attribute_flags;    /* VSS_VOLSNAP_ATTR_* */
    char originating_machine[256]; /* UTF-8 */
    char service_machine[256];     /* UTF-8 */
    int store_error;             /* VSS_E* when this snapshot's store could
                                    not be read (corrupt); 0 otherwise */
    char store_error_message[256];
    int storage_ready;           /* the fields below are valid */
    uint64_t store_header_offset;   /* offsets on the storage volume */
    uint64_t block_list_offset;
    uint64_t block_range_offset;
    uint64_t bitmap_offset;
    uint64_t previous_bitmap_offset; /* 0 = none */
    uint64_t store_file_reference;   /* NTFS file reference of the store */
    uint64_t store_size;         /* bytes of the diff area (block ranges) */
    uint64_t changed_blocks;     /* descriptors in the store's block list
                                    (those flagged "ignore" left out), or
                                    UINT64_MAX until the list has been read
                                    (vss_volume_load_stores) */
    uint64_t not_in_use_blocks;  /* bits set in the current bitmap, or
                                    UINT64_MAX until a snapshot reading
                                    through this store has been opened
                                    (bitmaps are not read to list) */
} vss_snapshot_info;

/* index is 1-based. */
VSS_API int vss_volume_snapshot_info(const vss_volume *v, int index,
                                     vss_snapshot_info *info,
                                     vss_error *err);

/* ---- snapshots: reconstructed volumes ---------------------------------- */

typedef struct vss_snapshot vss_snapshot;

/* What blocks that were not in use when the snapshot was taken read as.
 * WINDOWS: zeros if catalog flag 0x400 is set (Windows 8+), else the
 * current live data — exactly what the shadow copy device returns. */
typedef enum vss_fill {
    VSS_FILL_WINDOWS = 0,
    VSS_FILL_ZERO = 1,
    VSS_FILL_LIVE = 2
} vss_fill;

/* index is 1-based. Retains the volume. */
VSS_API int vss_snapshot_open(vss_volume *v, int index, vss_fill fill,
                              vss_snapshot **out, vss_error *err);
VSS_API void vss_snapshot_close(vss_snapshot *s);
VSS_API uint64_t vss_snapshot_size(const vss_snapshot *s);

/* Read any range; short only at the end of the snapshot volume. */
VSS_API int64_t vss_snapshot_read_at(vss_snapshot *s, void *buf, size_t len,
                                     uint64_t offset, vss_error *err);

/* The snapshot as a read-at source (for NTFS code, hashing, FUSE).
 * Returns a new reference. */
VSS_API int vss_snapshot_source(vss_snapshot *s, vss_source **out,
                                vss_error *err);

/* Where the bytes of a snapshot come from. */
typedef enum vss_class {
    VSS_CLASS_STORE = 0,  /* copied into a store before being overwritten */
    VSS_CLASS_LIVE = 1,   /* unchanged since the snapshot: the live volume */
    VSS_CLASS_ZERO = 2,   /* not preserved; reads as zeros */
    VSS_CLASS_STALE = 3   /* not preserved; reads data written after the
                             snapshot (today's live data, or a newer
                             store's copy): not evidence of the snapshot */
} vss_class;

/* Why a byte is zero or stale. */
typedef enum vss_reason {
    VSS_REASON_NONE = 0,
    VSS_REASON_NOT_IN_USE = 1, /* bitmap: not in use when snapshot taken */
    VSS_REASON_DIFF_AREA = 2,  /* the shadow copy files' own blocks */
    VSS_REASON_FORWARD_NULL = 3,/* forwarder target that was not in use */
    VSS_REASON_OVERWRITTEN = 4 /* data of a carved store (vss_carve_*) in
                                  clusters a live file now holds: may have
                                  been overwritten after the deletion */
} vss_reason;

typedef struct vss_run {
    uint64_t offset;        /* in the snapshot volume */
    uint64_t length;        /* bytes, a multiple of 512 unless clipped */
    vss_class cls;
    vss_reason reason;
    int store_index;        /* > 0: the bytes come from the store of this
                               snapshot (STORE, or STALE from a newer
                               store); 0: not from a store */
    uint64_t source_offset; /* from a store: byte offset on the storage
                               volume; LIVE/STALE otherwise: byte offset on
                               the live volume; ZERO: 0 */
} vss_run;

/* Call cb for maximal runs covering [offset, offset+length) exactly, in
 * order (clipped to the snapshot size). cb returning non-zero stops the
 * walk; that value is returned. */
typedef int (*vss_run_cb)(const vss_run *run, void *user);
VSS_API int vss_snapshot_map(vss_snapshot *s, uint64_t offset,
                             uint64_t length, vss_run_cb cb, void *user,
                             vss_error *err);

/* ---- helpers ------------------------------------------------------------ */

/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" from a Windows-layout GUID. */
VSS_API void vss_guid_format(const uint8_t guid[16], char out[37]);
/* FILETIME as "2019-06-04T23:43:01.4843750Z" (7 fractional digits). */
VSS_API void vss_filetime_format(uint64_t filetime, char out[32]);
VSS_API const char *vss_class_name(vss_class c);
VSS_API const char *vss_reason_name(vss_reason r);

/* ======================================================================
 * files: the NTFS file system inside a snapshot (or any volume)  [issue #3]
 * ======================================================================
 *
 * Built on libntfs-3g (link with -lntfs-3g), which reads through a device
 * whose pread goes to a vss_source: no loop device, no temporary copy. The
 * volume is mounted read-only and the device refuses every write.
 *
 * Paths are UTF-8, '/'-separated and relative to the root ("" and "/" are
 * the root; a leading '/' is optional). Name matching follows NTFS (Win32
 * names case-insensitively). "PATH:STREAM" names a named $DATA stream;
 * "PATH::$DATA" and "PATH:STREAM:$DATA" are accepted too.
 *
 * A vss_fs serialises its calls with a mutex (libntfs-3g is not
 * thread-safe), so one vss_fs and its files may be used from several
 * threads. Hostile file systems give VSS_ECORRUPT (or VSS_EIO when the
 * underlying source failed); they must never crash the caller.
 */

typedef struct vss_fs vss_fs;
typedef struct vss_fs_file vss_fs_file;

/* Mount the NTFS volume whose bytes are `volume` (retained): a snapshot via
 * vss_snapshot_source, or a live volume. */
VSS_API int vss_fs_open(vss_source *volume, vss_fs **out, vss_error *err);
/* Drop the caller's reference; the volume is unmounted once every file
 * opened from it is closed too. */
VSS_API void vss_fs_close(vss_fs *fs);
VSS_API uint32_t vss_fs_cluster_size(const vss_fs *fs);
VSS_API uint32_t vss_fs_record_size(const vss_fs *fs);

/* Unknown volume offset (no cluster behind the bytes). */
#define VSS_FS_NO_OFFSET UINT64_MAX

typedef struct vss_fs_stat {
    uint64_t mft_record;       /* MFT record number (48 bits) */
    uint16_t sequence;         /* record sequence number */
    uint16_t link_count;       /* hard links (from the record header) */
    int is_directory;
    uint32_t attributes;       /* $STANDARD_INFORMATION FILE_ATTRIBUTE_*:
                                  0x1 readonly, 0x2 hidden, 0x4 system,
                                  0x20 archive, 0x200 sparse, 0x400
                                  reparse point, 0x800 compressed, 0x4000
                                  encrypted */
    uint64_t size;             /* the stream's data size (unnamed $DATA
                                  unless a :STREAM was named); 0 for
                                  directories and for files without an
                                  unnamed $DATA (has_data 0) */
    uint64_t allocated_size;   /* clusters allocated to it, in bytes */
    /* $STANDARD_INFORMATION timestamps, FILETIME (100 ns since 1601) */
    uint64_t creation_time;
    uint64_t modification_time;  /* data last written */
    uint64_t mft_change_time;    /* record last changed */
    uint64_t access_time;
    uint32_t stream_count;     /* named $DATA streams of the file */
    int is_stream;             /* stat of a PATH:STREAM */
    int has_data;              /* the unnamed $DATA (or the named stream)
                                  exists; metadata files such as $Secure
                                  have only named or index attributes */
    uint64_t record_offset;    /* volume byte offset of the MFT record (for
                                  vss_snapshot_map), or VSS_FS_NO_OFFSET;
                                  vss_fs_record_size bytes long */
    /* The timestamps of the record's $FILE_NAME attribute (its
     * last Win32/POSIX name in record order, as The Sleuth Kit picks it; a
     * DOS-only name if that is all there is), FILETIME.
     * Windows sets them on create, rename and move only, so they outlive
     * tools that rewrite the $STANDARD_INFORMATION times. has_file_name 0:
     * the record holds no readable $FILE_NAME (e.g. an extension record). */
    int has_file_name;
    uint64_t fn_creation_time;
    uint64_t fn_modification_time;
    uint64_t fn_mft_change_time;
    uint64_t fn_access_time;
    uint32_t owner_id;         /* $STANDARD_INFORMATION owner id (NTFS 3.x;
                                  0 when the record has the short NTFS 1.x
                                  form); The Sleuth Kit prints it as UID */
} vss_fs_stat;

VSS_API int vss_fs_stat_path(vss_fs *fs, const char *path, vss_fs_stat *st,
                             vss_error *err);

typedef struct vss_fs_entry {
    char *name;        /* UTF-8 (DOS 8.3 aliases are left out) */
    vss_fs_stat st;    /* valid when stat_rc == VSS_OK */
    int stat_rc;       /* the entry's record could not be read: st holds
                          only mft_record and sequence from the index */
} vss_fs_entry;

/* The entries of a directory ("." and ".." left out), in NTFS collation
 * order (the in-order walk of its index B+tree, as Windows lists them).
 * *entries is malloc'ed; free with vss_fs_entries_free. */
VSS_API int vss_fs_list(vss_fs *fs, const char *path,
                        vss_fs_entry **entries, size_t *count,
                        vss_error *err);
VSS_API void vss_fs_entries_free(vss_fs_entry *entries, size_t count);

typedef struct vss_fs_stream {
    char *name;               /* UTF-8; "" for the unnamed $DATA */
    uint64_t size;
    uint64_t allocated_size;
    int resident;             /* value stored inside the MFT record */
} vss_fs_stream;

/* The $DATA streams of PATH (the unnamed one first if present). */
VSS_API int vss_fs_streams(vss_fs *fs, const char *path,
                           vss_fs_stream **streams, size_t *count,
                           vss_error *err);
VSS_API void vss_fs_streams_free(vss_fs_stream *streams, size_t count);

/* Every attribute of a file's MFT record(s) (attribute list followed), in
 * the order libntfs-3g enumerates them: by type, then name. A non-resident
 * attribute split over several records is listed once (its first extent).
 * What istat of The Sleuth Kit lists, and what a body file is made from. */
#define VSS_FS_ATTR_FILE_NAME 0x30u
#define VSS_FS_ATTR_DATA 0x80u
#define VSS_FS_ATTR_INDEX_ROOT 0x90u

typedef struct vss_fs_attr {
    uint32_t type;            /* NTFS attribute type code (VSS_FS_ATTR_*) */
    uint16_t id;              /* attribute instance number in its record */
    uint8_t name_space;       /* $FILE_NAME only: 0 POSIX, 1 Win32, 2 DOS,
                                 3 Win32 and DOS */
    int resident;
    char *name;               /* UTF-8 attribute name; "" if unnamed */
    uint64_t size;            /* value length (resident) or data size */
    uint64_t allocated_size;  /* clusters allocated (non-resident), bytes */
} vss_fs_attr;

VSS_API int vss_fs_attrs(vss_fs *fs, const char *path, vss_fs_attr **attrs,
                         size_t *count, vss_error *err);
VSS_API void vss_fs_attrs_free(vss_fs_attr *attrs, size_t count);

/* Open PATH or PATH:STREAM for reading (directories have no data). The
 * file keeps the vss_fs alive. Compressed data is decompressed; encrypted
 * data gives VSS_EUNSUPPORTED. PATH is always the unnamed $DATA stream: a
 * file that has none (metadata files such as $Secure hold only named or
 * index attributes) opens as empty, size 0, as vss_fs_stat says (has_data
 * 0); its named streams are read as PATH:STREAM. */
VSS_API int vss_fs_file_open(vss_fs *fs, const char *path, vss_fs_file **out,
                             vss_error *err);
VSS_API void vss_fs_file_close(vss_fs_file *f);
VSS_API uint64_t vss_fs_file_size(const vss_fs_file *f);
/* Bytes of a compression unit when the stream is compressed, else 0. */
VSS_API uint32_t vss_fs_file_compression_unit(const vss_fs_file *f);
VSS_API int vss_fs_file_stat(vss_fs_file *f, vss_fs_stat *st,
                             vss_error *err);
/* Read up to len bytes at offset; short only at the end of the stream. */
VSS_API int64_t vss_fs_file_read_at(vss_fs_file *f, void *buf, size_t len,
                                    uint64_t offset, vss_error *err);

/* Where the stream's bytes are on the volume. */
#define VSS_EXTENT_SPARSE 0x1u     /* no clusters: reads as zeros */
#define VSS_EXTENT_RESIDENT 0x2u   /* inside the MFT record */
#define VSS_EXTENT_UNINIT 0x4u     /* past the initialized size: zeros */
#define VSS_EXTENT_COMPRESSED 0x8u /* clusters of compression units: file
                                      bytes depend on the whole unit */

typedef struct vss_fs_extent {
    uint64_t file_offset;
    uint64_t volume_offset;   /* VSS_FS_NO_OFFSET for sparse extents */
    uint64_t length;          /* bytes (the last one clipped to the size) */
    unsigned flags;           /* VSS_EXTENT_* */
} vss_fs_extent;

/* The runlist of an open stream as byte extents covering [0, size) in
 * order, so callers can ask vss_snapshot_map where exactly those bytes come
 * from. *extents is malloc'ed (free with vss_fs_extents_free). */
VSS_API int vss_fs_file_extents(vss_fs_file *f, vss_fs_extent **extents,
                                size_t *count, vss_error *err);
VSS_API void vss_fs_extents_free(vss_fs_extent *extents);

/* ======================================================================
 * evidence containers: E01, split raw, qcow2, VHD, VHDX  [issue #8]
 * ======================================================================
 *
 * vss_source_open_image opens a disk image in whatever container holds it,
 * detected by content (not by file name): EWF/E01 segment sets (.E01 ..
 * .E99, .EAA ..), split raw (.001 .002 .., .aa .ab ..: give the first
 * segment), qcow2 v2/v3 (zlib-compressed clusters), VHD (fixed, dynamic,
 * differencing), VHDX, else a raw file or block device. The result is an
 * ordinary read-at source of the media bytes, safe to read from several
 * threads. Every structure read from a container is bounded and checked:
 * hostile containers give VSS_ECORRUPT naming the structure and offset.
 * EWF chunks are checked as they are read (Adler-32 of stored chunks, the
 * zlib checksum of compressed ones); a failing chunk fails the read.
 *
 * Backing files (qcow2) and parents (differencing VHD/VHDX) are only ever
 * opened when given explicitly; an image that needs one and was given none
 * is refused (VSS_ENOTFOUND) rather than read with holes. Encrypted qcow2,
 * EWF2 (Ex01), L01 and VHDX with a log to replay give VSS_EUNSUPPORTED.
 */

typedef enum vss_container_type {
    VSS_CONTAINER_RAW = 1,     /* a plain file or block device */
    VSS_CONTAINER_SPLIT = 2,   /* raw split into segments */
    VSS_CONTAINER_EWF = 3,     /* Expert Witness / EnCase E01 */
    VSS_CONTAINER_QCOW2 = 4,
    VSS_CONTAINER_VHD = 5,
    VSS_CONTAINER_VHDX = 6
} vss_container_type;

typedef struct vss_image_options {
    /* The backing file of a qcow2 image, or the parent of a differencing
     * VHD/VHDX: a path (opened with vss_source_open_image, any container)
     * or an open source (retained; wins over the path). */
    const char *backing_path;
    vss_source *backing;
} vss_image_options;

typedef struct vss_container_info {
    vss_container_type type;
    char format[48];          /* e.g. "EWF (E01)", "qcow2 v3", "VHD dynamic" */
    uint32_t segments;        /* files making up the image */
    uint64_t media_size;      /* bytes of the disk the container holds */
    uint64_t stored_size;     /* bytes of all its files together */
    uint32_t chunk_size;      /* EWF chunk, qcow2 cluster, VHD(X) block; 0 */
    uint32_t sector_size;
    int compressed;           /* holds compressed chunks/clusters (as far as
                                 the metadata says) */
    int has_backing;          /* reads fall through to a backing/parent */
    char backing_name[256];   /* the name the image records for it, if any */
    /* EWF acquisition metadata (header/header2 sections), UTF-8, "" when
     * absent. Dates as ISO 8601; "header" dates are the acquiring
     * machine's local time (no zone). */
    char case_number[256];
    char evidence_number[256];
    char description[512];
    char examiner[256];
    char notes[512];
    char acquiry_date[32];
    char system_date[32];
    char acquiry_os[64];
    char acquiry_software[64];  /* version string the writer recorded */
    char model[128];
    char serial_number[128];
    /* Hashes of the media stored in the container (EWF hash/digest). */
    int has_md5, has_sha1;
    uint8_t md5[16];
    uint8_t sha1[20];
} vss_container_info;

/* Open the image at path (read-only) in the container found there. opts
 * may be NULL (no backing file / parent). */
VSS_API int vss_source_open_image(const char *path,
                                  const vss_image_options *opts,
                                  vss_source **out, vss_error *err);

/* What container src was opened from: VSS_EINVAL if src was not made by
 * vss_source_open_image. */
VSS_API int vss_source_container_info(vss_source *src,
                                      vss_container_info *info,
                                      vss_error *err);
/* The first read error the container met (a chunk that failed its
 * checksum, ...), with its message naming the structure and offset:
 * VSS_OK in err->code when there was none. */
VSS_API int vss_source_container_error(vss_source *src, vss_error *err);
/* "raw", "split", "ewf", "qcow2", "vhd", "vhdx". */
VSS_API const char *vss_container_type_name(vss_container_type t);

typedef struct vss_verify_result {
    uint64_t bytes;           /* media bytes read */
    uint8_t md5[16];          /* computed over the whole media */
    uint8_t sha1[20];
    int md5_stored, sha1_stored;  /* the container holds this hash */
    int md5_match, sha1_match;    /* ... and it equals the computed one */
} vss_verify_result;

/* Progress while verifying; a non-zero return cancels (VSS_EINVAL). */
typedef int (*vss_progress_cb)(uint64_t done, uint64_t total, void *user);

/* Read every byte of src (so every EWF chunk checksum is checked), compute
 * MD5 and SHA-1 and compare them with the hashes the container stores.
 * VSS_OK when everything read and every stored hash matched; VSS_ECORRUPT
 * naming the hash on a mismatch; read errors as they come. cb may be
 * NULL. Works on any source (no stored hash: nothing to compare). */
VSS_API int vss_source_verify(vss_source *src, vss_verify_result *res,
                              vss_progress_cb cb, void *user,
                              vss_error *err);


/* ======================================================================
 * walking a file system; a file's provenance  [issue #14]
 * ======================================================================
 *
 * vss_fs_walk visits a directory tree of a vss_fs once, in NTFS collation
 * order, depth first (a directory's entries follow its own entry), with the
 * guards a hostile file system needs: a directory record met twice (a loop,
 * or a directory linked from two places) is not walked again, nor one
 * deeper than max_depth, and the walk stops after max_entries entries. A
 * directory or record that cannot be read is reported through the callback
 * and the walk goes on. */

/* What a vss_fs_walk callback is told about. */
typedef enum vss_walk_event {
    VSS_WALK_ENTRY = 0,   /* a file or directory: st valid */
    VSS_WALK_STREAM,      /* a $DATA stream of the entry just reported
                             (VSS_WALK_STREAMS): stream, stream_size,
                             stream_resident valid; "" is the unnamed one */
    VSS_WALK_SKIPPED,     /* left out by a VSS_WALK_SKIP_* flag (a
                             directory's tree is not walked) */
    VSS_WALK_BAD_ENTRY,   /* the entry's MFT record could not be read: st
                             holds mft_record and sequence from the index */
    VSS_WALK_BAD_DIR,     /* the directory `path` could not be listed */
    VSS_WALK_BAD_STREAMS, /* the streams of `path` could not be listed */
    VSS_WALK_LOOP,        /* directory already walked (linked twice, or
                             from below itself): not walked again */
    VSS_WALK_TOO_DEEP     /* directory deeper than max_depth: not walked */
} vss_walk_event;

typedef struct vss_walk_entry {
    vss_walk_event event;
    const char *path;      /* from the root, with a leading '/' */
    const char *relative;  /* the same from the start directory, no
                              leading '/' */
    const char *name;      /* the last component ("" for the start) */
    const vss_fs_stat *st; /* ENTRY, STREAM, SKIPPED, LOOP, TOO_DEEP: the
                              entry's stat; BAD_ENTRY: record and sequence
                              only; BAD_DIR, BAD_STREAMS: NULL */
    int depth;             /* 0: entries of the start directory */
    const char *stream;    /* STREAM: its name ("" unnamed) */
    uint64_t stream_size;
    int stream_resident;
    int error;             /* BAD_*: the VSS_E* code */
    const char *message;   /* BAD_*: what failed, naming the structure
                              and offset when the library knows them */
} vss_walk_entry;

/* Non-zero stops the walk; vss_fs_walk returns that value. */
typedef int (*vss_walk_cb)(const vss_walk_entry *e, void *user);

#define VSS_WALK_RECURSIVE 0x1u   /* descend into subdirectories */
#define VSS_WALK_STREAMS 0x2u     /* report each entry's $DATA streams */
#define VSS_WALK_SKIP_METADATA 0x4u /* the root's $-names ($MFT, $Extend..) */
#define VSS_WALK_SKIP_SHADOW_FILES 0x8u /* the shadow copy store files in
                                     System Volume Information */
#define VSS_WALK_DEFAULT_DEPTH 512

typedef struct vss_fs_walk_options {
    unsigned flags;          /* VSS_WALK_* */
    int max_depth;           /* 0: VSS_WALK_DEFAULT_DEPTH */
    uint64_t max_entries;    /* 0: no limit; more: VSS_ECORRUPT */
} vss_fs_walk_options;

/* Walk the directory `start` ("" or "/" the root; a leading '/' optional;
 * trailing '/' ignored). A start that is not a directory is reported as
 * one ENTRY (and its streams). opts may be NULL (recursive, no streams,
 * nothing skipped). Returns VSS_OK, the callback's non-zero value, or an
 * error: the start cannot be read, out of memory, too many entries. */
VSS_API int vss_fs_walk(vss_fs *fs, const char *start,
                        const vss_fs_walk_options *opts, vss_walk_cb cb,
                        void *user, vss_error *err);

/* File bytes [offset, offset+length) the snapshot did not preserve. */
typedef struct vss_lost_range {
    uint64_t offset, length;
    vss_class cls;           /* VSS_CLASS_ZERO or VSS_CLASS_STALE */
    vss_reason reason;
    int store_index;         /* stale bytes from a newer snapshot's store:
                                that snapshot; else 0 */
} vss_lost_range;

/* Where the bytes of one open stream come from in a snapshot.
 *
 * Lost ranges are half-open, sorted, and adjacent ranges of the same
 * class, reason and store are merged. In a compressed stream every range
 * is widened to whole compression units (one lost cluster spoils its
 * unit) and overlapping ranges then merge, ZERO winning over STALE. A
 * resident stream (its bytes inside the MFT record) whose record has
 * zero or stale bytes is lost whole, with the record's first such class. */
typedef struct vss_provenance {
    uint64_t size;             /* of the stream */
    uint32_t compression_unit; /* bytes, 0 if not compressed */
    int resident;              /* data inside the MFT record */
    vss_fs_extent *extents;    /* as vss_fs_file_extents gives them */
    size_t extent_count;
    vss_lost_range *lost;      /* file bytes not preserved */
    size_t lost_count;
    uint64_t lost_zero;        /* bytes of lost of class ZERO */
    uint64_t lost_stale;       /* bytes of lost of class STALE */
    uint64_t bytes[5];         /* extent bytes by class: [VSS_CLASS_*],
                                  [4] none (sparse, uninitialised, no
                                  volume offset); before widening */
    uint64_t record_offset;    /* of the MFT record, or VSS_FS_NO_OFFSET */
    vss_lost_range *record_lost; /* record bytes not preserved (offsets in
                                  the record; store_index as above) */
    size_t record_lost_count;
    int record_damaged;        /* record_lost_count > 0 */
    int key_valid;             /* key usable (every byte's source known) */
    uint8_t key[32];           /* SHA-256 over the extents and the sources
                                  of their bytes: equal keys, equal bytes */
} vss_provenance;

/* The provenance of f, an open stream of fs. snap: the snapshot fs is
 * mounted from (vss_snapshot_source); NULL when fs is a live volume
 * (every byte LIVE). stream: the named stream f is ("" or NULL for the
 * unnamed $DATA; it enters the key of resident streams). Free *out with
 * vss_provenance_free. */
VSS_API int vss_fs_file_provenance(vss_snapshot *snap, vss_fs *fs,
                                   vss_fs_file *f, const char *stream,
                                   vss_provenance *out, vss_error *err);
VSS_API void vss_provenance_free(vss_provenance *p);

/* What a snapshot's copy of a file is worth as evidence, in every
 * interface's words (vss_status_name). The rule, once for all of them:
 * any ZERO byte (Windows returns zeros the snapshot did not keep) makes
 * it DAMAGED; else any STALE byte (Windows returns bytes the snapshot did
 * not vouch for) UNVERIFIED; else RESIDENT for data inside the MFT record,
 * INTACT otherwise. UNCHANGED (intact and identical to the live file) and
 * ERROR (could not be read) are given by the audit, which compares. */
typedef enum vss_status {
    VSS_STATUS_INTACT = 0,
    VSS_STATUS_DAMAGED,
    VSS_STATUS_RESIDENT,
    VSS_STATUS_UNCHANGED,
    VSS_STATUS_UNVERIFIED,
    VSS_STATUS_ERROR
} vss_status;

VSS_API vss_status vss_provenance_status(const vss_provenance *p);
VSS_API const char *vss_status_name(vss_status s);

/* ---- volume sets: every volume of several images, storage paired ------ */
/*
 * The images of one case (a disk, and the disks that may hold the shadow
 * copy storage of its volumes) opened together: each image in its
 * container (vss_source_open_image), each volume found (vss_disk_scan) and
 * its VSS metadata opened (vss_volume_open), and every redirected volume
 * paired with the volume, on any of the images, whose VSS header GUID is
 * its storage GUID (vss_volume_attach_storage). A volume that fails to
 * open is listed with its error, not fatal.
 */
typedef struct vss_volume_set vss_volume_set;

typedef struct vss_volume_set_options {
    /* The backing file / parent of the FIRST image (qcow2 backing file,
     * differencing VHD/VHDX parent), as vss_image_options.backing_path;
     * NULL: none. */
    const char *backing_path;
    /* >= 0: the first image holds a volume at this byte offset, used even
     * if no partition table lists it (then its entry's part.scheme is
     * "offset"); -1: only the volumes the tables list. */
    int64_t offset;
} vss_volume_set_options;

/* One volume of the set. Everything it points to belongs to the set. */
typedef struct vss_volume_set_entry {
    size_t image_index;   /* which image (0 = the first) */
    const char *image;    /* its path */
    vss_partition part;   /* where the volume is in the image; an image
                             whose table cannot be read has one entry,
                             scheme "none", size 0, with the scan's error */
    vss_source *source;   /* the volume's bytes; NULL past the image's end */
    vss_volume *volume;   /* its VSS metadata; NULL when it did not open */
    vss_error error;      /* code VSS_OK, or why the volume did not open or
                             its storage volume failed to attach */
    long storage;         /* index of the entry holding this volume's
                             redirected storage; -1 when none attached */
} vss_volume_set_entry;

/* Open images[0..nimages) (opts may be NULL). Fails only when an image
 * cannot be opened at all (err names it) or memory runs out. */
VSS_API int vss_volume_set_open(const char *const *images, size_t nimages,
                                const vss_volume_set_options *opts,
                                vss_volume_set **out, vss_error *err);
VSS_API void vss_volume_set_close(vss_volume_set *set);
/* The volumes, image by image in disk order; NULL past the end. */
VSS_API size_t vss_volume_set_count(const vss_volume_set *set);
VSS_API const vss_volume_set_entry *
vss_volume_set_get(const vss_volume_set *set, size_t i);
/* The images as opened (their containers); NULL past the end. */
VSS_API size_t vss_volume_set_image_count(const vss_volume_set *set);
VSS_API vss_source *vss_volume_set_image(const vss_volume_set *set, size_t i);
/* 1 if any volume of any image has at least one snapshot. */
VSS_API int vss_volume_set_any_snapshots(const vss_volume_set *set);
/* The volume of the FIRST image to act on: the one at byte `offset` when
 * offset >= 0, else the only one with snapshots (or whose shadow copy
 * metadata failed to open, so that its error shows). *index = its entry.
 * VSS_ENOTFOUND: no volume with shadow copies (at that offset); VSS_EINVAL:
 * several have them and an offset must choose. The message says where the
 * image's volumes are; sector_size (0 = 512) numbers them in sectors. */
VSS_API int vss_volume_set_pick(const vss_volume_set *set, int64_t offset,
                                uint32_t sector_size, size_t *index,
                                vss_error *err);
/* Where the volumes of one image are, for messages: "32256 = sector 63
 * (137436171264 bytes, NTFS, 6 snapshots), ..." or "none found". */
VSS_API void vss_volume_set_describe(const vss_volume_set *set,
                                     size_t image_index, uint32_t sector_size,
                                     char *out, size_t outsz);
/* A volume offset as text: bytes ("32256", "0x7e00"), or sectors as mmls
 * prints them with an 's' after the number ("63s" = 63 x sector_size).
 * VSS_EINVAL on a bad number or an overflowing result. */
VSS_API int vss_parse_offset(const char *s, uint32_t sector_size,
                             uint64_t *out);

/* ======================================================================
 * the audit and the diff: what each snapshot preserved, file by file
 * [issue #14]  (libvss/src/audit/audit.c; docs/audit.md)
 * ======================================================================
 *
 * For every file and named $DATA stream of the selected snapshots the
 * audit says what the snapshot really preserved (vss_fs_file_provenance:
 * lost ranges by class and reason, the status rule of
 * vss_provenance_status), hashes the stream as Windows returns it, the
 * live volume's version of the same file (same MFT record AND sequence)
 * and, when the live file is provably the same unmodified file at the same
 * clusters, the recovered version (snapshot bytes where preserved, live
 * bytes in the gaps). Stale ranges are classified by what the volume their
 * bytes are read from holds there (vss_stale_source). Two versions with
 * the same content key are hashed once.
 *
 * Files are audited by worker threads (one file per worker at a time,
 * vss_audit_options.threads) but reported to the callback one at a time,
 * snapshot by snapshot, each snapshot's files in walk order: the output
 * does not depend on the number of threads. The library prints nothing;
 * warnings (a directory that cannot be read, ...) go to the message
 * callback. Any callback returning non-zero cancels the run: the workers
 * stop after their current file and vss_audit_run returns that value.
 */

typedef struct vss_audit vss_audit;

/* Digest algorithms (OpenSSL libcrypto). */
typedef enum vss_hash {
    VSS_HASH_MD5 = 0,
    VSS_HASH_SHA1 = 1,
    VSS_HASH_SHA256 = 2
} vss_hash;
#define VSS_HASH_COUNT 3
#define VSS_HASH_MAX 32            /* bytes of the longest digest */

VSS_API const char *vss_hash_name(vss_hash h);   /* "md5", "sha1", ... */
VSS_API size_t vss_hash_length(vss_hash h);      /* 16, 20, 32; 0 if bad */

/* Digests of one byte stream: v[VSS_HASH_*], valid when have has bit
 * (1u << VSS_HASH_*). */
typedef struct vss_digests {
    uint8_t v[VSS_HASH_COUNT][VSS_HASH_MAX];
    unsigned have;
} vss_digests;

/* The audit's digests for any byte stream (vssinfo --extract hashes its
 * output with it): several algorithms fed at once. */
typedef struct vss_hasher vss_hasher;
/* hashes[0..n): VSS_EINVAL on an unknown one or n outside 1..3. */
VSS_API int vss_hasher_open(const vss_hash *hashes, int n, vss_hasher **out,
                            vss_error *err);
VSS_API void vss_hasher_update(vss_hasher *h, const void *p, size_t n);
/* The digests of everything fed since open; the hasher is then spent. */
VSS_API void vss_hasher_final(vss_hasher *h, vss_digests *out);
VSS_API void vss_hasher_close(vss_hasher *h);

/* One file or named stream met by the audit's walk. Owned by the audit
 * object: valid until vss_audit_close. */
typedef struct vss_audit_file {
    const char *path;        /* "/dir/file" or "/dir/file:stream", from
                                the volume root */
    size_t stream_at;        /* offset of ':' in path; 0 = unnamed $DATA */
    uint64_t record;         /* MFT record and sequence number */
    uint16_t sequence;
    uint64_t size;
    int resident;            /* data inside the MFT record */
    uint32_t attributes;     /* $STANDARD_INFORMATION FILE_ATTRIBUTE_* */
    uint64_t crtime, mtime, ctime, atime; /* $STANDARD_INFORMATION:
                                creation, modification, MFT change, access
                                (FILETIME) */
    uint64_t record_offset;  /* volume offset of the MFT record, or
                                VSS_FS_NO_OFFSET */
    uint32_t names;          /* hard links met while walking (the path is
                                the first one) */
} vss_audit_file;

/* What the live volume holds for a snapshot's file. */
typedef enum vss_live_state {
    VSS_LIVE_SAME = 0,       /* same record and sequence: the same file */
    VSS_LIVE_REUSED,         /* the record now holds another file */
    VSS_LIVE_DELETED,        /* no live file with this record */
    VSS_LIVE_NOSTREAM,       /* the same file, but this stream is gone */
    VSS_LIVE_NONE,           /* not compared: the live file system could
                                not be read (or no live volume given) */
    VSS_LIVE_UNREADABLE      /* the live volume's record could not be read */
} vss_live_state;

/* Where the bytes of a stale range come from, as far as the volume Windows
 * reads them from (the live volume, or the newer snapshot whose store
 * holds them) can tell. Ordered by trust: a file's source is its least
 * trusted range's. */
typedef enum vss_stale_source {
    VSS_STALE_NONE = 0,      /* no stale byte */
    VSS_STALE_SAME_FILE,     /* the same file at the same clusters, not
                                modified since the snapshot: very likely
                                the snapshot's bytes */
    VSS_STALE_SAME_FILE_CHANGED, /* the same file at the same clusters,
                                modified after the snapshot */
    VSS_STALE_UNKNOWN,       /* the reference volume could not be read */
    VSS_STALE_FREE,          /* free clusters (or an MFT record not in
                                use): the bytes prove nothing */
    VSS_STALE_OTHER_FILE     /* allocated, but not to this file at these
                                offsets: the bytes prove nothing */
} vss_stale_source;
/* "", "same-file", "same-file-changed", "unknown", "free", "other-file" */
VSS_API const char *vss_stale_source_name(vss_stale_source s);

/* A file's VSS_BLOCK_SIZE block compared with the live version's. */
typedef enum vss_block_kind {
    VSS_BLOCK_SAME = 0,      /* identical */
    VSS_BLOCK_GAP,           /* differs only in bytes the snapshot did not
                                preserve, and equals the live block once
                                they are filled from it */
    VSS_BLOCK_CHANGED,       /* preserved bytes differ: a real change */
    VSS_BLOCK_SNAP_ONLY,     /* past the end of the live file */
    VSS_BLOCK_LIVE_ONLY      /* past the end of the snapshot's file */
} vss_block_kind;
/* "same", "gap", "changed", "snapshot-only", "live-only" */
VSS_API const char *vss_block_kind_name(vss_block_kind k);

/* File bytes a snapshot did not preserve (vss_lost_range), with the source
 * of stale bytes. */
typedef struct vss_audit_range {
    uint64_t offset, length;
    vss_class cls;           /* VSS_CLASS_ZERO or VSS_CLASS_STALE */
    vss_reason reason;
    int store_index;         /* stale from a newer snapshot's store: it */
    vss_stale_source source; /* stale: what today's clusters hold */
} vss_audit_range;

/* The audit of one file (stream) of one snapshot. Valid during the
 * callback only, except file and live (valid until vss_audit_close) and
 * live_word and why (static strings). */
typedef struct vss_audit_result {
    int snapshot;               /* its index (1 = oldest) */
    const vss_audit_file *file;
    const vss_audit_file *live; /* the live file with the same record (and
                                   stream when it has it); NULL: none */
    vss_status status;
    vss_live_state live_state;
    const char *live_word;      /* "identical", "differs", "reused",
                                   "deleted", "stream-deleted", "none",
                                   "unreadable" */
    const char *error;          /* VSS_STATUS_ERROR: what failed; else "" */
    const vss_audit_range *lost;  /* bytes not preserved, sorted */
    size_t lost_count;
    uint64_t lost_zero;         /* bytes of lost of class ZERO */
    uint64_t lost_stale;        /* of class STALE (unverified) */
    vss_stale_source stale_source; /* the least trusted stale range's */
    const char *stale_why;      /* one line: why ("" when none) */
    uint64_t bytes[5];          /* vss_provenance.bytes */
    int record_damaged;         /* the MFT record has zero or stale bytes */
    vss_digests digests;        /* as Windows returns the file */
    vss_digests live_digests;   /* the live version: has_live */
    vss_digests recovered;      /* live bytes in the gaps: has_recovered */
    int has_live, match, has_recovered; /* match: digests == live_digests */
    int recoverable;            /* -1 nothing lost, 0 no, 1 the lost bytes
                                   are provably on the live volume */
    const char *why;            /* recoverable 0: why not; else "" */
    /* VSS_AUDIT_BLOCKS, files that differ from their live version: one
     * digest (algorithm block_hash) per VSS_BLOCK_SIZE block of the
     * snapshot's file, of the live file and of the recovered file
     * (block_fill: NULL when nothing was filled), and the kind of every
     * block (block_count = the larger of the two counts). NULL/0 else. */
    vss_hash block_hash;
    const uint8_t *block_snap, *block_live, *block_fill;
    size_t block_snap_count, block_live_count;
    const uint8_t *block_kinds; /* vss_block_kind per block */
    size_t block_count;
} vss_audit_result;

/* What one selected snapshot's audit found (vss_audit_snapshot_get). */
typedef struct vss_audit_tally {
    size_t files, intact, unchanged, resident, damaged, unverified, errors,
        recoverable;            /* intact counts unchanged and resident */
    size_t walk_errors;         /* directories or records the walk could
                                   not read */
    uint64_t bytes_lost, bytes_unverified, bytes_recoverable;
} vss_audit_tally;

#define VSS_AUDIT_STRIP 1000    /* buckets of a snapshot's provenance strip */

typedef struct vss_audit_snapshot {
    int index;
    vss_snapshot_info info;
    int opened;                 /* 0: it could not be opened: error says */
    const char *error;
    uint64_t size;              /* of the snapshot's volume, bytes */
    size_t skipped;             /* metadata / shadow copy files left out */
    vss_audit_tally sum;        /* after its files were reported */
    /* VSS_AUDIT_STRIP: the classes of the whole snapshot's bytes, in
     * VSS_AUDIT_STRIP buckets of strip_width bytes (strip_ok 0: the map
     * failed, see the message callback) */
    const uint64_t (*strip)[4]; /* [bucket][VSS_CLASS_*] bytes */
    uint64_t strip_width;
    uint64_t by_class[4];
    int strip_ok;
} vss_audit_snapshot;

#define VSS_AUDIT_BLOCKS 0x1u   /* block digests of files that differ from
                                   their live version */
#define VSS_AUDIT_SYSTEM 0x2u   /* NTFS metadata files and the shadow copy
                                   store files too */
#define VSS_AUDIT_STRIP_MAP 0x4u /* each snapshot's provenance strip */

typedef struct vss_audit_options {
    /* Which snapshots: "all" (or NULL), "N", "N-M" or a comma list of
     * those (1 = oldest). */
    const char *snapshots;
    /* Only files under this directory ("", NULL or "/" the whole volume;
     * "Users" = "/Users"). */
    const char *path;
    /* Digests in this order (the first one also for blocks); nhashes 0:
     * md5 and sha256. */
    vss_hash hashes[VSS_HASH_COUNT];
    int nhashes;
    unsigned flags;             /* VSS_AUDIT_* */
    vss_fill fill;              /* how the snapshots are rebuilt */
    int threads;                /* workers; 0: one per online CPU */
} vss_audit_options;

typedef struct vss_audit_progress {
    int snapshot;               /* being audited (0: the diff) */
    size_t files_done, files_total;
    uint64_t bytes_done;        /* bytes read and hashed, plus bytes whose
                                   digests were known already */
    uint64_t bytes_total;       /* of the selected files and their live
                                   versions */
    uint64_t bytes_hashed;      /* read and hashed */
} vss_audit_progress;

/* A callback returning non-zero cancels the run. They are called one at a
 * time (never concurrently), from the caller's or a worker's thread. Any
 * may be NULL. */
typedef struct vss_diff_entry vss_diff_entry;
typedef struct vss_audit_callbacks {
    int (*file)(const vss_audit_result *r, void *user);  /* vss_audit_run */
    int (*diff)(const vss_diff_entry *d, void *user);    /* vss_audit_diff */
    int (*progress)(const vss_audit_progress *p, void *user); /* <= 5/s */
    void (*message)(const char *text, void *user);  /* a warning */
    void *user;
} vss_audit_callbacks;


/* Set up an audit of vol's snapshots; live: the live volume's bytes (NULL:
 * no live comparison). Checks the options: VSS_EINVAL on a bad snapshot
 * list or hash, VSS_ENOTFOUND on a snapshot the volume does not have.
 * opts may be NULL (all snapshots, md5 and sha256). vol must stay open
 * until vss_audit_close; live is retained. */
VSS_API int vss_audit_open(vss_volume *vol, vss_source *live,
                           const vss_audit_options *opts, vss_audit **out,
                           vss_error *err);
VSS_API void vss_audit_close(vss_audit *a);

/* Audit the selected snapshots: every file of each, through cb->file.
 * Returns VSS_OK (even with damaged or unreadable files: their results
 * say so), a callback's non-zero value, or an error that stopped the run
 * (out of memory, the live volume's tree under the path unreadable).
 * *problems (may be NULL) counts what could not be read: snapshots,
 * directories, records, files. Once per audit object. */
VSS_API int vss_audit_run(vss_audit *a, const vss_audit_callbacks *cb,
                          size_t *problems, vss_error *err);

/* After vss_audit_run: the selected snapshots in order; NULL past the
 * end. And the live volume's walk: its files (0 when not read) and the
 * directories or records it could not read. */
VSS_API size_t vss_audit_snapshot_count(const vss_audit *a);
VSS_API const vss_audit_snapshot *vss_audit_snapshot_get(const vss_audit *a,
                                                         size_t i);
VSS_API void vss_audit_live_summary(const vss_audit *a, size_t *files,
                                    size_t *walk_errors);

/* The diff: files of one volume against another's (snapshot numbers, 0 =
 * the live volume), under opts->path, matched by MFT record, sequence
 * and stream.
 *
 * Only preserved bytes are evidence. A file whose sides read the same as
 * Windows returns them, or differ only where a side was not preserved
 * (zeros or stale bytes, not_preserved_*), may have changed there or not:
 * UNDETERMINED, never UNCHANGED (two null-filled versions of a rewritten
 * file read the same). MODIFIED: the sizes differ, or the bytes differ
 * where both sides were preserved. */
typedef enum vss_diff_kind {
    VSS_DIFF_ADDED = 0,
    VSS_DIFF_DELETED,
    VSS_DIFF_MODIFIED,
    VSS_DIFF_RENAMED,
    VSS_DIFF_RENAMED_MODIFIED,
    VSS_DIFF_UNCHANGED,          /* every byte of both sides preserved, equal */
    VSS_DIFF_UNDETERMINED,       /* equal where both preserved, but a side
                                    has bytes not preserved */
    VSS_DIFF_RENAMED_UNDETERMINED
} vss_diff_kind;

struct vss_diff_entry {
    vss_diff_kind kind;
    const vss_audit_file *a, *b;  /* NULL: ADDED (no a), DELETED (no b) */
    vss_digests da, db;
    uint64_t lost_a, lost_b;          /* zero bytes of each side */
    uint64_t unverified_a, unverified_b; /* stale bytes of each side */
    const char *error;            /* a side could not be read: what; "" */
    /* Where those bytes are: each side's file bytes not preserved, zero
     * and stale, sorted (vss_fs_file_provenance's lost ranges). What the
     * clusters of stale bytes hold today is the audit's finding
     * (vss_audit_result.lost). Valid during the callback only. */
    const vss_lost_range *not_preserved_a, *not_preserved_b;
    size_t not_preserved_count_a, not_preserved_count_b;
};

/* Every file of both sides through cb->diff (UNCHANGED ones too),
 * deletions first (in a's record order) then b's files in record order.
 * Returns as vss_audit_run. opts->snapshots is ignored: a and b are
 * opened. Once per audit object, instead of vss_audit_run. */
VSS_API int vss_audit_diff(vss_audit *a, int side_a, int side_b,
                           const vss_audit_callbacks *cb, size_t *problems,
                           vss_error *err);

/* ======================================================================
 * history: every version of one file across the snapshots  [issue #17]
 * ======================================================================
 *
 * What Windows' "Previous Versions" shows, with each version's worth as
 * evidence. Every snapshot of a volume and the live volume are searched,
 * oldest first, for one file: by path, or by MFT record number. A file
 * met at the path is then followed by its record and sequence number into
 * the sources where it had another name (renamed or moved); a path that
 * held different files over time (replaced, or the record reused) gives
 * the versions of each. A snapshot's copy and the next one are the same
 * version when the same file (record and sequence) has the same content
 * and the same verdict: then the version lists every source holding it.
 *
 * Content: with hashes asked for, a version's streams are hashed as
 * Windows returns them (what vss_fs_file_read_at reads) and copies are
 * folded by equal hashes; copies whose bytes come from the same places
 * (equal provenance content keys) are hashed once. With no hash asked
 * for, copies are folded by equal content keys (nothing is read, but two
 * copies with the same bytes from different places then stay two
 * versions), resident streams by their bytes (a few hundred at most,
 * whose key names the MFT record's place).
 */

/* Record numbers are 48 bits: this value asks for a path. */
#define VSS_HISTORY_NO_RECORD UINT64_MAX

#define VSS_HISTORY_MD5 0x1u
#define VSS_HISTORY_SHA1 0x2u
#define VSS_HISTORY_SHA256 0x4u

typedef struct vss_history_options {
    unsigned hashes;      /* VSS_HISTORY_*: digests of every stream */
    vss_fill fill;        /* what the snapshots read as (as for
                             vss_snapshot_open; WINDOWS is what Windows
                             returns) */
} vss_history_options;

/* One $DATA stream of a version. */
typedef struct vss_history_stream {
    char *name;               /* "" for the unnamed $DATA */
    uint64_t size;
    int resident;
    vss_status status;        /* vss_provenance_status of its oldest copy
                                 (the live volume: INTACT or RESIDENT) */
    vss_lost_range *lost;     /* file bytes not preserved (its oldest copy) */
    size_t lost_count;
    uint64_t lost_zero, lost_stale;
    unsigned hashes;          /* which of the digests below are set */
    uint8_t md5[16], sha1[20], sha256[32];
    /* The recovered version (the audit's, docs/audit.md "Recoverable"):
     * the copy's bytes where the snapshot preserved them, the live file's
     * bytes in the ranges it did not. recoverable -1: nothing was lost;
     * 0: the audit does not vouch for a recovery in any holder (why says
     * which test failed in the oldest); 1: it does for the copy of holder
     * snapshot recovered_from (the oldest holder that passes; the
     * recovered bytes are the file's content at that snapshot), whose
     * lost ranges fill[] are read from the live file live_path. */
    int recoverable;
    const char *why;          /* why the audit does not vouch for the
                                 oldest holder's recovery (recoverable 1:
                                 for the holders older than
                                 recovered_from); "" when it does */
    int recovered_from;
    char *live_path;          /* recoverable 1: the live file (from the
                                 root, no leading '/'); else NULL */
    vss_lost_range *fill;     /* recoverable 1: the ranges read from it */
    size_t fill_count;
    unsigned recovered_hashes; /* of the recovered version (the digests
                                  asked for) */
    uint8_t recovered_md5[16], recovered_sha1[20], recovered_sha256[32];
} vss_history_stream;

/* Where a version was found: a snapshot (1 = oldest) or the live volume
 * (0), and the file's path there. */
typedef struct vss_history_holder {
    int snapshot;
    char *path;
} vss_history_holder;

typedef struct vss_version {
    uint64_t mft_record;
    uint16_t sequence;
    vss_fs_stat st;           /* the file (unnamed $DATA) in its oldest
                                 holder: size, the four
                                 $STANDARD_INFORMATION and $FILE_NAME
                                 times, attributes */
    vss_status status;        /* the worst of its streams' (DAMAGED >
                                 UNVERIFIED > RESIDENT/INTACT: the unnamed
                                 stream's when all are sound) */
    int record_damaged;       /* its MFT record was not fully preserved in
                                 the oldest holder: its times and sizes
                                 may not be the snapshot's */
    vss_history_holder *holders;  /* oldest first */
    size_t holder_count;
    vss_history_stream *streams;  /* the unnamed first, then named ones */
    size_t stream_count;
    /* Several holders, and bytes they did not preserve (status DAMAGED or
     * UNVERIFIED): their copies read the same as Windows returns them
     * (hence one version), but whether the file changed between them
     * cannot be told (two null-filled copies of a rewritten file read the
     * same). */
    int undetermined;
} vss_version;

/* A source that could not be searched (snapshot not readable, NTFS not
 * mountable, the file unreadable there): the history goes on without it. */
typedef struct vss_history_problem {
    int snapshot;             /* 0: the live volume */
    vss_error error;
} vss_history_problem;

typedef struct vss_history vss_history;

/* Every version of the file at `path` (record == VSS_HISTORY_NO_RECORD),
 * or of MFT record `record` (path NULL; every file that held the record:
 * each sequence number is another file), in the snapshots of v and in
 * `live` (the volume's current bytes, v's source; NULL: snapshots only).
 * Versions come oldest first (by their first holder). opts may be NULL
 * (no hashes, VSS_FILL_WINDOWS). v and live must outlive the history.
 * VSS_ENOTFOUND (with the message) when no source holds the file; errors
 * of single sources are vss_history_problem entries instead. */
VSS_API int vss_history_open(vss_volume *v, vss_source *live,
                             const char *path, uint64_t record,
                             const vss_history_options *opts,
                             vss_history **out, vss_error *err);
VSS_API void vss_history_close(vss_history *h);
/* Sources searched: the snapshots, and the live volume when given. */
VSS_API int vss_history_source_count(const vss_history *h);
VSS_API size_t vss_history_count(const vss_history *h);
/* NULL past the end. Owned by h. */
VSS_API const vss_version *vss_history_version(const vss_history *h,
                                               size_t i);
VSS_API size_t vss_history_problem_count(const vss_history *h);
VSS_API const vss_history_problem *
vss_history_problem_at(const vss_history *h, size_t i);
/* Open stream `stream` ("" or NULL: the unnamed $DATA) of version i as
 * its oldest holder has it, to read it (vss_fs_file_read_at) exactly as
 * the history hashed it. The file keeps what it reads alive. */
VSS_API int vss_history_version_open(vss_history *h, size_t i,
                                     const char *stream, vss_fs_file **out,
                                     vss_error *err);

/* The recovered version of stream `stream` ("" or NULL: the unnamed
 * $DATA) of version i (vss_history_stream.recoverable 1), to read: the
 * bytes of its holder recovered_from where preserved, the live file's in
 * fill[]. VSS_EINVAL (saying why) when the audit does not vouch for it. */
typedef struct vss_history_recovered vss_history_recovered;
VSS_API int vss_history_recovered_open(vss_history *h, size_t i,
                                       const char *stream,
                                       vss_history_recovered **out,
                                       vss_error *err);
VSS_API uint64_t vss_history_recovered_size(const vss_history_recovered *r);
/* Bytes read (n, less only at the end, 0 past it) or a negative vss_err. */
VSS_API int64_t vss_history_recovered_read_at(vss_history_recovered *r,
                                              void *buf, size_t n,
                                              uint64_t off, vss_error *err);
VSS_API void vss_history_recovered_close(vss_history_recovered *r);

/* The path of MFT record `record` in fs, from the root without a leading
 * '/' ("" for the root), found by climbing its $FILE_NAME parents (its
 * first Win32/POSIX name; the DOS name only when it has no other); st
 * (may be NULL) gets its stat. VSS_ENOTFOUND when the record is not in
 * use or an orphan (a parent gone). Free *path with free(). */
VSS_API int vss_fs_record_path(vss_fs *fs, uint64_t record, char **path,
                               vss_fs_stat *st, vss_error *err);

/* ---- carving: the stores of deleted snapshots  [issue #16] ------------ */
/*
 * When snapshots are deleted (vssadmin delete shadows) Windows destroys the
 * catalog and deletes the store files from NTFS, but the stores stay on
 * disk until overwritten. vss_carve_scan reads the volume once, front to
 * back (passing over sparse holes and, unless scan_all, what live files
 * other than the $MFT and System Volume Information's hold), and keeps every 16 KiB VSS metadata block that sits where its own
 * offset field says (store headers, block lists, block-range lists,
 * bitmaps, catalog blocks), and the NTFS file records naming store files
 * ({GUID}{3808876b-c176-4e48-b7ae-04046e6cc752}, deleted or not). It then
 * groups the blocks into stores (a store's block-range list maps its
 * relative offset 0 to its header; the blocks whose own offset the ranges
 * map to their relative offset are its own), checks every chain, and
 * orders the stores oldest first (docs/format.md, "Carving deleted
 * snapshots"). vss_carve_open_volume gives the carved stack as a
 * vss_volume: every snapshot function works on it, snapshot 1 = oldest.
 * Only stores kept on the scanned volume itself are found (redirected
 * storage is not carved).
 */
typedef struct vss_carve vss_carve;

typedef struct vss_carve_options {
    vss_progress_cb progress;  /* called as the scan advances; may be NULL;
                                  non-zero stops the scan (VSS_EINVAL) */
    void *progress_user;
    size_t max_blocks;         /* metadata blocks kept (bounded memory, 40
                                  bytes each); 0 = 4194304; more fails
                                  with VSS_ENOMEM naming the offset */
    int scan_all;              /* 1: read every MiB, also those the live
                                  NTFS $Bitmap gives wholly to files other
                                  than the $MFT and System Volume
                                  Information's (skipped by default) */
} vss_carve_options;

typedef enum vss_carve_confidence {
    VSS_CARVE_HIGH = 0,   /* every chain whole, store GUID known */
    VSS_CARVE_MEDIUM = 1, /* readable, but evidence is missing (no GUID,
                             order or extent guessed) */
    VSS_CARVE_LOW = 2     /* a chain is broken: its snapshots refuse to
                             open (vss_snapshot_info.store_error) */
} vss_carve_confidence;

typedef struct vss_carved_store {
    int index;                 /* 1 = oldest: the snapshot number in the
                                  volume of vss_carve_open_volume */
    int in_catalog;            /* the live catalog still lists it */
    int guid_known;            /* 0: store_guid is a placeholder
                                  00000000-0000-0000-0000-<index> */
    uint8_t store_guid[16];
    char guid_evidence[64];    /* "catalog", "catalog remnant at N",
                                  "NTFS file record at N", "none" */
    uint8_t shadow_copy_id[16];
    uint8_t shadow_copy_set_id[16];
    uint32_t snapshot_context, provider_flags, attribute_flags;
    char originating_machine[256], service_machine[256]; /* UTF-8 */
    uint64_t volume_size;      /* bytes; the catalog's, else the volume's */
    uint64_t catalog_flags;    /* the catalog's, else inferred (0x40, plus
                                  0x400 under Windows 8+ semantics) */
    char flags_evidence[128];
    uint64_t creation_time;    /* FILETIME; the catalog's, else estimated;
                                  0 when nothing dates the store */
    char time_evidence[128];   /* what creation_time is and where from */
    uint64_t guid_time;        /* FILETIME of a version-1 store GUID, or 0 */
    uint64_t file_created;     /* the store file's $STANDARD_INFORMATION
                                  creation time (NTFS record), or 0 */
    int file_deleted;          /* that record is marked not in use, or
                                  only copies outside the live $MFT name
                                  the file (NTFS reused its record) */
    uint64_t file_record_offset; /* where that record is on the volume */
    uint64_t store_header_offset; /* volume offsets of its pieces */
    uint64_t block_list_offset;
    uint64_t block_range_offset;  /* 0: no block-range list found */
    uint64_t bitmap_offset;
    uint64_t previous_bitmap_offset; /* 0 = none */
    uint64_t store_file_reference;   /* from the catalog or NTFS record */
    uint64_t store_size;       /* bytes the block ranges cover */
    uint64_t metadata_blocks;  /* blocks found belonging to it */
    uint64_t overwritten_bytes; /* of its extents, in clusters the live
                                  $Bitmap gives to a file although the
                                  store file is deleted (or unknown): read
                                  as stale, reason overwritten */
    char problems[512];        /* what is missing or inconsistent; "" */
    vss_carve_confidence confidence;
} vss_carved_store;

typedef struct vss_carve_summary {
    uint64_t volume_size;
    uint64_t bytes_read;       /* read from the image */
    uint64_t bytes_skipped;    /* sparse holes not read */
    uint64_t bytes_skipped_live; /* MiB chunks live files wholly hold (not
                                  the $MFT, not System Volume Information):
                                  not read unless scan_all */
    uint64_t blocks;           /* metadata blocks kept */
    uint64_t misplaced_blocks; /* VSS blocks whose own offset is elsewhere
                                  (copies, e.g. inside store data): not used */
    uint64_t store_records;    /* NTFS records naming store files */
    uint64_t other_volume_stores; /* stores the catalog (or its remnants)
                                  gives to another volume (redirected
                                  storage kept here): not in the stack */
    uint32_t header_version;   /* VSS volume header, 0 when none */
    int catalog_live;          /* the header still points to a catalog */
    int allocation_checked;    /* the live NTFS $Bitmap was read to find
                                  overwritten store clusters */
    char order_evidence[256];  /* what ordered the stack */
    char missing[256];         /* store files NTFS names whose store was
                                  not found (every snapshot older than a
                                  missing one may read wrongly); "" */
} vss_carve_summary;

/* Scan vol (retained) and rebuild its stores. VSS_OK also when none is
 * found (count 0). opts may be NULL. */
VSS_API int vss_carve_scan(vss_source *vol, const vss_carve_options *opts,
                           vss_carve **out, vss_error *err);
VSS_API void vss_carve_close(vss_carve *c);
VSS_API size_t vss_carve_store_count(const vss_carve *c);
/* index is 1-based (1 = oldest); NULL outside. */
VSS_API const vss_carved_store *vss_carve_store(const vss_carve *c,
                                                int index);
VSS_API void vss_carve_get_summary(const vss_carve *c,
                                   vss_carve_summary *out);
/* The carved stack as a volume (a new reference; close it with
 * vss_volume_close): snapshot i is carved store i, read with the flags in
 * catalog_flags. A store with a broken chain is listed but refuses to
 * open (store_error). VSS_ENOTFOUND when no store was carved. */
VSS_API int vss_carve_open_volume(vss_carve *c, vss_volume **out,
                                  vss_error *err);

/* ---- snapshot flags in words (issue #18) --------------------------------
 * For reports: vss_snapshot_info's flags as words. Each describe function
 * writes the words of every set bit, ", "-separated (bits without a known
 * meaning as "other 0x.." / "unknown 0x.."; "" when no bit is set) and,
 * like snprintf, returns the length the whole text needs (out is always
 * terminated when outsz > 0). */

/* catalog_flags: e.g. "active (0x40), not-in-use blocks read as zeros
 * (0x400)". */
VSS_API size_t vss_catalog_flags_describe(uint64_t flags, char *out,
                                          size_t outsz);
/* attribute_flags (Microsoft's VSS_VOLSNAP_ATTR_*): e.g. "persistent,
 * client accessible, no auto release, differential, auto recovered". */
VSS_API size_t vss_attribute_flags_describe(uint32_t flags, char *out,
                                            size_t outsz);
/* snapshot_context (VSS_CTX_*): "ClientAccessible", "Backup", ...;
 * "unknown" for another value. */
VSS_API const char *vss_snapshot_context_name(uint32_t context);

/* ---- hashing a whole source (report image hashes) -----------------------
 * Every byte of src as the library reads it (an image through its
 * container, a volume, a snapshot), hashed with hashes[0..n) at once into
 * out (the vss_hasher algorithms: VSS_EINVAL on an unknown one or n
 * outside 1..3). progress, when not NULL, is called after each MiB read
 * with the bytes done and the source's size; its non-zero return cancels
 * (VSS_EINVAL, "at byte N: cancelled"). A read that fails or ends short
 * gives its error, the message "at byte N: " and what failed (for a
 * container, the structure and offset it names); out then has no digest
 * (have 0). */
VSS_API int vss_source_hash(vss_source *src, const vss_hash *hashes, int n,
                            vss_progress_cb progress, void *user,
                            vss_digests *out, vss_error *err);

/* ---- why a volume lists no snapshot (the carver's hint) ----------------
 * When nothing with shadow copies was found: deleting snapshots clears the
 * catalog, not the stores, so the carver (vss_carve_scan) may find them in
 * a volume that lists none. The verdict of volume i of a set: */
typedef enum vss_empty_verdict {
    VSS_EMPTY_NOT = 0,       /* nothing to say: it lists snapshots, is not
                                NTFS, lies past the image's end, or its
                                VSS metadata did not open (the entry's
                                error says why) */
    VSS_EMPTY_CATALOG = 1,   /* a VSS header with an empty catalog */
    VSS_EMPTY_NO_HEADER = 2  /* an NTFS volume without a VSS header (its
                                free space may hold stores) */
} vss_empty_verdict;
VSS_API vss_empty_verdict vss_volume_set_empty_verdict(const vss_volume_set *set,
                                                       size_t i);
/* The verdict as a sentence naming the volume's offset, e.g. "the volume
 * at offset 0 has a VSS header but no snapshot in its catalog: the stores
 * of deleted snapshots may remain" ("" for VSS_EMPTY_NOT); returns its
 * length as snprintf does. */
VSS_API size_t vss_volume_set_empty_describe(const vss_volume_set *set,
                                             size_t i, char *out,
                                             size_t outsz);

/* ---- the carver's hints for a whole set ------------------------------
 * What a front end says when nothing with shadow copies was found: the
 * sentence of vss_volume_set_empty_describe for every volume of the first
 * image whose verdict is not VSS_EMPTY_NOT, in the set's order (the other
 * images are the first one's storage: the carver scans the first). None
 * when any volume of any image lists a snapshot (then -o named a place
 * without one, which the pick's error already says). hint, when not NULL,
 * is called with each sentence (valid during the call only); returns how
 * many there are. */
typedef void (*vss_empty_hint_cb)(const char *sentence, void *user);
VSS_API size_t vss_volume_set_empty_hints(const vss_volume_set *set,
                                          vss_empty_hint_cb hint,
                                          void *user);

#ifdef __cplusplus
}
#endif
#endif /* VSS_H */

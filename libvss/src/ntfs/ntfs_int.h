/*
 * ntfs/ntfs_int.h — the NTFS layer (base < io < vss < ntfs), shared by
 * mount.c (the libntfs-3g device glue and the file system handle),
 * lookup.c (paths, stat, directory listings) and file.c (attributes,
 * streams, open files, reads, extents). Never installed.
 *
 * Every function here is called with fs->lock held (fs_lock), except
 * fs_lock itself and fs_put: libntfs-3g keeps per-volume caches and
 * per-inode state without locks.
 */
#ifndef VSS_NTFS_INT_H
#define VSS_NTFS_INT_H

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

/* libntfs-3g's headers expect these to be included first. */
#include <ntfs-3g/types.h>
#include <ntfs-3g/layout.h>
#include <ntfs-3g/device.h>
#include <ntfs-3g/volume.h>
#include <ntfs-3g/inode.h>
#include <ntfs-3g/attrib.h>
#include <ntfs-3g/dir.h>
#include <ntfs-3g/unistr.h>
#include <ntfs-3g/logging.h>

#include "vss/vss_int.h"

/* Hard caps against hostile metadata. */
#define MAX_DIR_ENTRIES 4000000u  /* entries returned by one directory */
#define MAX_PATH_DEPTH 1024       /* components of a path */
#define MAX_STREAMS 65536u        /* $DATA attributes of one file */
#define MAX_RUNS 16000000u        /* runlist elements of one stream */

/* The device libntfs-3g reads the vss_source through (mount.c). */
typedef struct fsdev {
    vss_source *src;
    uint64_t size;
    int64_t pos;       /* for read/seek, which ntfs-3g still uses at times */
    int last_rc;       /* first VSS_E* code from the source since reset */
} fsdev;

struct vss_fs {
    pthread_mutex_t lock;
    int refs;              /* caller's reference + open files */
    vss_source *src;
    fsdev dev_ctx;
    struct ntfs_device *dev;
    ntfs_volume *vol;
};

struct vss_fs_file {
    vss_fs *fs;
    ntfs_inode *ni;
    ntfs_attr *na;
    uint64_t size;
    char *path;            /* for messages */
};

typedef struct attr_list {
    vss_fs_attr *v;
    size_t n, cap;
} attr_list;

typedef struct stream_list {
    vss_fs_stream *v;
    size_t n;
} stream_list;

/* ---- mount.c -------------------------------------------------------------- */

/* Take fs->lock and clear the last source error and libntfs-3g log line. */
VSS_HIDDEN void fs_lock(vss_fs *fs);
VSS_HIDDEN void fs_unlock(vss_fs *fs);
/* Turn a libntfs-3g failure (errno) into a VSS_E* code and a message
 * naming what was being read; a failure of the source itself wins. */
VSS_HIDDEN int fs_fail(vss_fs *fs, vss_error *err, int eno,
                       const char *fmt, ...) VSS_PRINTF(4, 5);
/* Drop one reference (the caller's or an open file's); the last unmounts. */
VSS_HIDDEN void fs_put(vss_fs *fs);

/* ---- lookup.c ------------------------------------------------------------- */

/* UTF-16LE name -> malloc'ed UTF-8, U+FFFD for units that are not UTF-16. */
VSS_HIDDEN char *name_to_utf8(const ntfschar *name, int len);
/* The next resident $FILE_NAME value of the inode ctx searches whose
 * value lies inside its attribute and holds its whole name; NULL when
 * there is none left. Values that break those bounds (corrupt) are passed
 * over. Lock held. */
VSS_HIDDEN const FILE_NAME_ATTR *next_file_name(ntfs_attr_search_ctx *ctx);
/* Walk path from the root; returns the open inode (caller closes). */
VSS_HIDDEN int fs_lookup(vss_fs *fs, const char *path, ntfs_inode **out,
                         vss_error *err);
/* Resolve PATH or PATH:STREAM into an open inode and a malloc'ed stream
 * name ("" = unnamed). */
VSS_HIDDEN int fs_resolve(vss_fs *fs, const char *path, ntfs_inode **ni,
                          char **stream, vss_error *err);
/* Volume byte offset of byte `byte` of MFT record `recno`, through the
 * $MFT runlist; VSS_FS_NO_OFFSET if not mapped. */
VSS_HIDDEN uint64_t mft_volume_offset(vss_fs *fs, uint64_t recno,
                                      uint32_t byte);
/* Fill st from an open inode; `stream` NULL = unnamed $DATA. */
VSS_HIDDEN int fill_stat(vss_fs *fs, ntfs_inode *ni, const char *stream,
                         vss_fs_stat *st, vss_error *err);
/* A stream name in UTF-16 for ntfs_attr_open ("" -> AT_UNNAMED). */
VSS_HIDDEN int stream_name_ucs(const char *stream, ntfschar **uname,
                               int *ulen);

/* ---- file.c --------------------------------------------------------------- */

/* Every attribute of ni of type `type` (AT_UNUSED: all) in enumeration
 * order, first extents only. */
VSS_HIDDEN int collect_attrs(vss_fs *fs, ntfs_inode *ni, ATTR_TYPES type,
                             attr_list *al, vss_error *err);
/* Every $DATA attribute of ni, the unnamed one first. */
VSS_HIDDEN int collect_streams(vss_fs *fs, ntfs_inode *ni, stream_list *sl,
                               vss_error *err);

#endif

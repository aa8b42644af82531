/*
 * ntfs.c — files inside a snapshot (floor 5): libntfs-3g mounted read-only
 * on a device whose operations read a vss_source.
 *
 * Why libntfs-3g: NTFS (attribute lists, compression, sparse runs, index
 * B+trees) is large and ntfs-3g is the mature reader. Its device layer is
 * pluggable (struct ntfs_device_operations), so the snapshot is read in
 * place: pread goes straight to vss_source_read_at.
 *
 * libntfs-3g keeps per-volume caches and per-inode state without locks, so
 * every entry point takes fs->lock. It reports failures through errno and a
 * logging callback; we keep the last logged line per thread to put it in
 * vss_error messages, since "Input/output error" alone names nothing.
 */
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

#include "vss.h"

/* internal.h cannot be included here: its le16()/le32() readers clash with
 * libntfs-3g's le16/le32 types. These are its declarations, unchanged. */
__attribute__((visibility("hidden"))) int vss_fail(vss_error *err, int code,
                                                   const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
__attribute__((visibility("hidden"))) void *vss_malloc(size_t n);
__attribute__((visibility("hidden"))) void *vss_calloc(size_t n, size_t size);
__attribute__((visibility("hidden"))) void *vss_realloc(void *p, size_t n);

/* Hard caps against hostile metadata. */
#define MAX_DIR_ENTRIES 4000000u  /* entries returned by one directory */
#define MAX_PATH_DEPTH 1024       /* components of a path */
#define MAX_STREAMS 65536u        /* $DATA attributes of one file */
#define MAX_RUNS 16000000u        /* runlist elements of one stream */

/* ---- the device: libntfs-3g reads the vss_source through these ---------- */

typedef struct fsdev {
    vss_source *src;
    uint64_t size;
    int64_t pos;       /* for read/seek, which ntfs-3g still uses at times */
    int last_rc;       /* first VSS_E* code from the source since reset */
} fsdev;

static int dev_open(struct ntfs_device *dev, int flags)
{
    /* Read-only everywhere: refuse anything but O_RDONLY. */
    if ((flags & O_ACCMODE) != O_RDONLY) {
        errno = EROFS;
        return -1;
    }
    if (NDevOpen(dev)) {
        errno = EBUSY;
        return -1;
    }
    NDevSetOpen(dev);
    NDevSetReadOnly(dev);
    ((fsdev *)dev->d_private)->pos = 0;
    return 0;
}

static int dev_close(struct ntfs_device *dev)
{
    NDevClearOpen(dev);
    return 0;
}

static s64 dev_pread(struct ntfs_device *dev, void *buf, s64 count,
                     s64 offset)
{
    fsdev *d = dev->d_private;
    s64 done = 0;

    if (count < 0 || offset < 0) {
        errno = EINVAL;
        return -1;
    }
    while (done < count) {
        int64_t n = vss_source_read_at(d->src, (uint8_t *)buf + done,
                                       (size_t)(count - done),
                                       (uint64_t)offset + (uint64_t)done);
        if (n < 0) {
            if (!d->last_rc)
                d->last_rc = (int)n;
            errno = EIO;
            return -1;
        }
        if (n == 0)
            break;  /* end of the volume: a short read, as pread gives */
        done += n;
    }
    return done;
}

static s64 dev_read(struct ntfs_device *dev, void *buf, s64 count)
{
    fsdev *d = dev->d_private;
    s64 n = dev_pread(dev, buf, count, d->pos);
    if (n > 0)
        d->pos += n;
    return n;
}

static s64 dev_seek(struct ntfs_device *dev, s64 offset, int whence)
{
    fsdev *d = dev->d_private;
    s64 base;
    switch (whence) {
    case SEEK_SET: base = 0; break;
    case SEEK_CUR: base = d->pos; break;
    case SEEK_END: base = (s64)d->size; break;
    default: errno = EINVAL; return -1;
    }
    if ((offset > 0 && base > INT64_MAX - offset) || base + offset < 0) {
        errno = EINVAL;
        return -1;
    }
    d->pos = base + offset;
    return d->pos;
}

static s64 dev_write(struct ntfs_device *dev, const void *buf, s64 count)
{
    errno = EROFS;
    return -1;
}

static s64 dev_pwrite(struct ntfs_device *dev, const void *buf, s64 count,
                      s64 offset)
{
    errno = EROFS;
    return -1;
}

static int dev_sync(struct ntfs_device *dev)
{
    return 0;  /* nothing is ever written */
}

static int dev_stat(struct ntfs_device *dev, struct stat *st)
{
    fsdev *d = dev->d_private;
    memset(st, 0, sizeof *st);
    st->st_mode = S_IFREG | 0444;
    st->st_size = (off_t)d->size;
    st->st_blksize = 512;
    return 0;
}

static int dev_ioctl(struct ntfs_device *dev, unsigned long request,
                     void *argp)
{
    errno = ENOTTY;  /* not a block device: ntfs-3g falls back to stat */
    return -1;
}

static struct ntfs_device_operations vss_dev_ops = {
    .open = dev_open,
    .close = dev_close,
    .seek = dev_seek,
    .read = dev_read,
    .write = dev_write,
    .pread = dev_pread,
    .pwrite = dev_pwrite,
    .sync = dev_sync,
    .stat = dev_stat,
    .ioctl = dev_ioctl,
};

/* ---- libntfs-3g's log: keep the last line for our error messages -------- */

static __thread char ntfs_last_log[200];
static pthread_once_t log_once = PTHREAD_ONCE_INIT;

static int log_keep(const char *function, const char *file, int line,
                    u32 level, void *data, const char *format, va_list args)
    __attribute__((format(printf, 6, 0)));

static int log_keep(const char *function, const char *file, int line,
                    u32 level, void *data, const char *format, va_list args)
{
    int eo = errno;
    size_t l;
    if (!(level & (NTFS_LOG_LEVEL_ERROR | NTFS_LOG_LEVEL_PERROR |
                   NTFS_LOG_LEVEL_CRITICAL | NTFS_LOG_LEVEL_WARNING)))
        return 0;
    vsnprintf(ntfs_last_log, sizeof ntfs_last_log, format, args);
    l = strlen(ntfs_last_log);
    while (l && (ntfs_last_log[l - 1] == '\n' || ntfs_last_log[l - 1] == '.'))
        ntfs_last_log[--l] = '\0';
    if (level & NTFS_LOG_LEVEL_PERROR)
        snprintf(ntfs_last_log + l, sizeof ntfs_last_log - l, ": %s",
                 strerror(eo));
    errno = eo;
    return 0;
}

static void log_setup(void)
{
    /* Silent by default (a library must not write to stderr); messages are
     * only kept for vss_error. */
    ntfs_log_set_handler(log_keep);
}

/* ---- the file system handle --------------------------------------------- */

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

static void fs_lock(vss_fs *fs)
{
    pthread_mutex_lock(&fs->lock);
    fs->dev_ctx.last_rc = 0;
    ntfs_last_log[0] = '\0';
}

static void fs_unlock(vss_fs *fs)
{
    pthread_mutex_unlock(&fs->lock);
}

/* Turn a libntfs-3g failure (errno) into a VSS_E* code and a message
 * naming what was being read. A failure of the source itself wins: the
 * snapshot layer knows the offset and structure better than ntfs-3g. */
static int fs_fail(vss_fs *fs, vss_error *err, int eno, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fs_fail(vss_fs *fs, vss_error *err, int eno, const char *fmt, ...)
{
    char what[300];
    va_list ap;
    int code;

    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (fs && fs->dev_ctx.last_rc) {
        code = fs->dev_ctx.last_rc;
        return vss_fail(err, code, "NTFS: %s: reading %s failed (%s)", what,
                        vss_source_name(fs->src), vss_strerror(code));
    }
    switch (eno) {
    case ENOMEM: code = VSS_ENOMEM; break;
    case ENOENT: code = VSS_ENOTFOUND; break;
    case EACCES:
    case EOPNOTSUPP: code = VSS_EUNSUPPORTED; break;
    case ENOTDIR:
    case EISDIR:
    case ENAMETOOLONG: code = VSS_EINVAL; break;
    default: code = VSS_ECORRUPT; break;  /* ntfs-3g says EIO/EINVAL for
                                              inconsistent metadata */
    }
    if (ntfs_last_log[0])
        return vss_fail(err, code, "NTFS: %s: %s (%s)", what, strerror(eno),
                        ntfs_last_log);
    return vss_fail(err, code, "NTFS: %s: %s", what, strerror(eno));
}

int vss_fs_open(vss_source *volume, vss_fs **out, vss_error *err)
{
    vss_fs *fs;
    const char *name;
    int eo;

    if (!volume || !out)
        return vss_fail(err, VSS_EINVAL, "vss_fs_open: NULL argument");
    *out = NULL;
    pthread_once(&log_once, log_setup);
    fs = vss_calloc(1, sizeof *fs);
    if (!fs)
        return vss_fail(err, VSS_ENOMEM, "vss_fs_open: out of memory");
    if (pthread_mutex_init(&fs->lock, NULL)) {
        free(fs);
        return vss_fail(err, VSS_ENOMEM, "vss_fs_open: mutex");
    }
    fs->refs = 1;
    fs->src = volume;
    vss_source_retain(volume);
    fs->dev_ctx.src = volume;
    fs->dev_ctx.size = vss_source_size(volume);
    name = vss_source_name(volume);
    fs->dev = ntfs_device_alloc(name && *name ? name : "vss", 0,
                                &vss_dev_ops, &fs->dev_ctx);
    if (!fs->dev) {
        eo = errno;
        vss_source_release(volume);
        pthread_mutex_destroy(&fs->lock);
        free(fs);
        return vss_fail(err, VSS_ENOMEM, "NTFS device: %s", strerror(eo));
    }
    fs_lock(fs);
    fs->vol = ntfs_device_mount(fs->dev, NTFS_MNT_RDONLY);
    if (!fs->vol) {
        int rc;
        eo = errno;
        if (eo == EINVAL && !fs->dev_ctx.last_rc && !ntfs_last_log[0])
            rc = vss_fail(err, VSS_ECORRUPT,
                          "NTFS: no valid NTFS boot sector at offset 0 of "
                          "%s",
                          vss_source_name(volume));
        else
            rc = fs_fail(fs, err, eo, "mounting %s read-only",
                         vss_source_name(volume));
        fs_unlock(fs);
        /* On failure the device stays ours; it is closed already. */
        if (NDevOpen(fs->dev))
            NDevClearOpen(fs->dev);
        ntfs_device_free(fs->dev);
        vss_source_release(volume);
        pthread_mutex_destroy(&fs->lock);
        free(fs);
        return rc;
    }
    /* Forensic view: every name, including metadata files ($MFT...) and
     * hidden ones; ntfs-3g hides them by default. */
    ntfs_set_shown_files(fs->vol, TRUE, TRUE, FALSE);
    fs_unlock(fs);
    *out = fs;
    return VSS_OK;
}

static void fs_put(vss_fs *fs)
{
    int last;
    pthread_mutex_lock(&fs->lock);
    last = --fs->refs == 0;
    if (last && fs->vol) {
        ntfs_umount(fs->vol, FALSE);  /* frees the device too */
        fs->vol = NULL;
    }
    pthread_mutex_unlock(&fs->lock);
    if (!last)
        return;
    vss_source_release(fs->src);
    pthread_mutex_destroy(&fs->lock);
    free(fs);
}

void vss_fs_close(vss_fs *fs)
{
    if (fs)
        fs_put(fs);
}

uint32_t vss_fs_cluster_size(const vss_fs *fs)
{
    return fs ? fs->vol->cluster_size : 0;
}

uint32_t vss_fs_record_size(const vss_fs *fs)
{
    return fs ? fs->vol->mft_record_size : 0;
}

/* ---- names and paths ---------------------------------------------------- */

/* UTF-16LE name → malloc'ed UTF-8. Names that are not valid UTF-16 (lone
 * surrogates are legal in NTFS) get U+FFFD for the bad units rather than
 * being dropped, so the entry still shows. */
static char *name_to_utf8(const ntfschar *name, int len)
{
    char *out = NULL, *p;
    int i;

    if (len < 0)
        return NULL;
    if (ntfs_ucstombs(name, len, &out, 0) >= 0 && out)
        return out;
    free(out);
    out = vss_malloc((size_t)len * 3 + 1);
    if (!out)
        return NULL;
    p = out;
    for (i = 0; i < len; i++) {
        unsigned c = le16_to_cpu(name[i]);
        if (c >= 0xd800 && c <= 0xdfff)
            c = 0xfffd;
        if (c < 0x80) {
            *p++ = (char)c;
        } else if (c < 0x800) {
            *p++ = (char)(0xc0 | c >> 6);
            *p++ = (char)(0x80 | (c & 0x3f));
        } else {
            *p++ = (char)(0xe0 | c >> 12);
            *p++ = (char)(0x80 | (c >> 6 & 0x3f));
            *p++ = (char)(0x80 | (c & 0x3f));
        }
    }
    *p = '\0';
    return out;
}

/* Split "dir/file:stream[:$DATA]" into a malloc'ed path and stream name
 * ("" = unnamed). Only the last component may carry a stream. */
static int split_stream(const char *path, char **file, char **stream)
{
    const char *last = strrchr(path, '/');
    const char *colon = strchr(last ? last + 1 : path, ':');
    size_t flen, slen;

    *file = *stream = NULL;
    if (!colon) {
        *file = strdup(path);
        *stream = strdup("");
    } else {
        flen = (size_t)(colon - path);
        *file = strndup(path, flen);
        *stream = strdup(colon + 1);
        if (*stream) {
            /* "name:$DATA" is the type suffix; strip it. */
            slen = strlen(*stream);
            if (slen >= 6 && strcmp(*stream + slen - 6, ":$DATA") == 0)
                (*stream)[slen - 6] = '\0';
            else if (strcmp(*stream, "$DATA") == 0)
                (*stream)[0] = '\0';
        }
    }
    if (!*file || !*stream) {
        free(*file);
        free(*stream);
        *file = *stream = NULL;
        return VSS_ENOMEM;
    }
    return VSS_OK;
}

/* Walk path from the root; returns the open inode (caller closes). Called
 * with the lock held. */
static int lookup(vss_fs *fs, const char *path, ntfs_inode **out,
                  vss_error *err)
{
    ntfs_inode *ni;
    char *copy, *comp, *save = NULL;
    int depth = 0;

    *out = NULL;
    ni = ntfs_inode_open(fs->vol, FILE_root);
    if (!ni)
        return fs_fail(fs, err, errno, "root directory (MFT record 5)");
    copy = strdup(path ? path : "");
    if (!copy) {
        ntfs_inode_close(ni);
        return vss_fail(err, VSS_ENOMEM, "out of memory");
    }
    for (comp = strtok_r(copy, "/", &save); comp;
         comp = strtok_r(NULL, "/", &save)) {
        u64 mref;
        u64 dirno = ni->mft_no;
        ntfs_inode *next;

        if (strcmp(comp, ".") == 0)
            continue;
        if (++depth > MAX_PATH_DEPTH || strcmp(comp, "..") == 0) {
            ntfs_inode_close(ni);
            free(copy);
            return vss_fail(err, VSS_EINVAL, "NTFS: path '%s': %s", path,
                            depth > MAX_PATH_DEPTH ? "too deep"
                                                   : "'..' is not supported");
        }
        if (!(ni->mrec->flags & MFT_RECORD_IS_DIRECTORY)) {
            ntfs_inode_close(ni);
            free(copy);
            return vss_fail(err, VSS_ENOTFOUND,
                            "NTFS: path '%s': MFT record %llu is not a "
                            "directory",
                            path, (unsigned long long)dirno);
        }
        /* Not ntfs_inode_lookup_by_mbsname: without a lookup cache it
         * converts a NULL name on case-sensitive mounts (EINVAL). */
        {
            ntfschar *uname = NULL;
            int ulen = ntfs_mbstoucs(comp, &uname);
            errno = 0;
            if (ulen < 0 || ulen > NTFS_MAX_NAME_LEN) {
                free(uname);
                ntfs_inode_close(ni);
                vss_fail(err, VSS_EINVAL,
                         "NTFS: path '%s': bad name '%s' (not UTF-8, or "
                         "longer than 255 UTF-16 units)",
                         path, comp);
                free(copy);
                return VSS_EINVAL;
            }
            mref = ntfs_inode_lookup_by_name(ni, uname, ulen);
            free(uname);
        }
        if (mref == (u64)-1) {
            int eo = errno ? errno : ENOENT;
            ntfs_inode_close(ni);
            if (eo == ENOENT) {
                vss_fail(err, VSS_ENOTFOUND,
                         "NTFS: '%s' not found in directory (MFT record "
                         "%llu) of path '%s'",
                         comp, (unsigned long long)dirno, path);
                free(copy);
                return VSS_ENOTFOUND;
            }
            int rc = fs_fail(fs, err, eo,
                             "index of directory (MFT record %llu) looking "
                             "up '%s'",
                             (unsigned long long)dirno, comp);
            free(copy);
            return rc;
        }
        ntfs_inode_close(ni);
        next = ntfs_inode_open(fs->vol, mref);
        if (!next) {
            int rc = fs_fail(fs, err, errno,
                             "MFT record %llu ('%s' in path '%s')",
                             (unsigned long long)MREF(mref), comp, path);
            free(copy);
            return rc;
        }
        ni = next;
    }
    free(copy);
    *out = ni;
    return VSS_OK;
}

/* Volume byte offset of byte `byte` of MFT record `recno`, through the
 * $MFT runlist; VSS_FS_NO_OFFSET if not mapped. Lock held. */
static uint64_t mft_volume_offset(vss_fs *fs, uint64_t recno, uint32_t byte)
{
    ntfs_volume *vol = fs->vol;
    uint64_t pos;
    LCN lcn;

    if (recno > (UINT64_MAX >> vol->mft_record_size_bits) ||
        byte >= vol->mft_record_size)
        return VSS_FS_NO_OFFSET;
    pos = (recno << vol->mft_record_size_bits) + byte;
    if (pos > (uint64_t)INT64_MAX)
        return VSS_FS_NO_OFFSET;
    lcn = ntfs_attr_vcn_to_lcn(vol->mft_na,
                               (VCN)(pos >> vol->cluster_size_bits));
    if (lcn < 0 || (uint64_t)lcn > (UINT64_MAX >> vol->cluster_size_bits) -
                                       1)
        return VSS_FS_NO_OFFSET;
    return ((uint64_t)lcn << vol->cluster_size_bits) +
           (pos & (vol->cluster_size - 1));
}

/* ---- attributes ---------------------------------------------------------- */

/* Name of the attribute a search context points at, bounds-checked against
 * the attribute record. NULL with errno set on failure. */
static char *attr_name(const ATTR_RECORD *a)
{
    uint32_t alen = le32_to_cpu(a->length);
    uint32_t noff = le16_to_cpu(a->name_offset);
    uint32_t nlen = a->name_length;
    if (!nlen)
        return strdup("");
    if (noff > alen || (uint64_t)nlen * 2 > alen - noff) {
        errno = EIO;
        return NULL;
    }
    return name_to_utf8((const ntfschar *)((const uint8_t *)a + noff),
                        (int)nlen);
}

typedef struct attr_list {
    vss_fs_attr *v;
    size_t n, cap;
} attr_list;

void vss_fs_attrs_free(vss_fs_attr *attrs, size_t count)
{
    size_t i;
    if (!attrs)
        return;
    for (i = 0; i < count; i++)
        free(attrs[i].name);
    free(attrs);
}

/* Is a (type and name) already in al: a continuation extent of an
 * attribute listed before? */
static int attr_listed(const attr_list *al, const ATTR_RECORD *a)
{
    char *name = attr_name(a);
    size_t i;
    int found = 0;
    if (!name)
        return 1; /* cannot tell: skip it */
    for (i = 0; i < al->n && !found; i++)
        found = al->v[i].type == le32_to_cpu(a->type) &&
                strcmp(al->v[i].name, name) == 0;
    free(name);
    return found;
}

/* The namespace byte of a resident $FILE_NAME value, or 0xff when the value
 * is too short or out of its record (corrupt). */
static uint8_t file_name_space(const ATTR_RECORD *a)
{
    uint32_t alen = le32_to_cpu(a->length);
    uint32_t len = le32_to_cpu(a->value_length);
    uint16_t off = le16_to_cpu(a->value_offset);
    if (a->non_resident || len <= offsetof(FILE_NAME_ATTR, file_name_type) ||
        off > alen || alen - off < len)
        return 0xff;
    return ((const FILE_NAME_ATTR *)((const u8 *)a + off))->file_name_type;
}

/* Every attribute of ni of type `type` (AT_UNUSED: all) in enumeration
 * order, first extents only; lock held. */
static int collect_attrs(vss_fs *fs, ntfs_inode *ni, ATTR_TYPES type,
                         attr_list *al, vss_error *err)
{
    ntfs_attr_search_ctx *ctx = ntfs_attr_get_search_ctx(ni, NULL);
    int rc = VSS_OK;

    if (!ctx)
        return fs_fail(fs, err, errno, "MFT record %llu: attribute search",
                       (unsigned long long)ni->mft_no);
    while (!ntfs_attr_lookup(type, NULL, 0, CASE_SENSITIVE, 0, NULL, 0,
                             ctx)) {
        const ATTR_RECORD *a = ctx->attr;
        vss_fs_attr x;

        /* Continuation extents of a fragmented attribute repeat it. A
         * first extent that claims a non-zero lowest VCN (corrupt) still
         * names the attribute: ntfs_attr_open opens it, so list it too. */
        if (a->non_resident && sle64_to_cpu(a->lowest_vcn) != 0 &&
            attr_listed(al, a))
            continue;
        if (al->n >= MAX_STREAMS) {
            rc = vss_fail(err, VSS_ECORRUPT,
                          "NTFS: MFT record %llu has more than %u "
                          "attributes",
                          (unsigned long long)ni->mft_no, MAX_STREAMS);
            break;
        }
        memset(&x, 0, sizeof x);
        x.type = le32_to_cpu(a->type);
        x.id = le16_to_cpu(a->instance);
        x.name = attr_name(a);
        if (!x.name) {
            rc = fs_fail(fs, err, errno ? errno : ENOMEM,
                         "MFT record %llu: name of attribute 0x%x",
                         (unsigned long long)ni->mft_no, (unsigned)x.type);
            break;
        }
        if (a->non_resident) {
            s64 ds = sle64_to_cpu(a->data_size);
            s64 as = sle64_to_cpu(a->allocated_size);
            x.size = ds > 0 ? (uint64_t)ds : 0;
            x.allocated_size = as > 0 ? (uint64_t)as : 0;
        } else {
            x.size = le32_to_cpu(a->value_length);
            x.resident = 1;
        }
        if (x.type == VSS_FS_ATTR_FILE_NAME)
            x.name_space = file_name_space(a);
        if (al->n == al->cap) {
            size_t ncap = al->cap ? al->cap * 2 : 8;
            vss_fs_attr *nv = vss_realloc(al->v, ncap * sizeof *nv);
            if (!nv) {
                free(x.name);
                rc = vss_fail(err, VSS_ENOMEM, "out of memory");
                break;
            }
            al->v = nv;
            al->cap = ncap;
        }
        al->v[al->n++] = x;
    }
    if (rc == VSS_OK && errno != ENOENT)
        rc = fs_fail(fs, err, errno, "MFT record %llu: attributes",
                     (unsigned long long)ni->mft_no);
    ntfs_attr_put_search_ctx(ctx);
    if (rc) {
        vss_fs_attrs_free(al->v, al->n);
        al->v = NULL;
        al->n = al->cap = 0;
    }
    return rc;
}

typedef struct stream_list {
    vss_fs_stream *v;
    size_t n;
} stream_list;

/* The vss_fs_stream of a $DATA attribute; takes over its name. */
static vss_fs_stream stream_of(const vss_fs_attr *a)
{
    vss_fs_stream s = {a->name, a->size, a->allocated_size, a->resident};
    return s;
}

/* Every $DATA attribute of ni, the unnamed one first; lock held. */
static int collect_streams(vss_fs *fs, ntfs_inode *ni, stream_list *sl,
                           vss_error *err)
{
    attr_list al = {0};
    size_t i, first = 0;
    int rc = collect_attrs(fs, ni, AT_DATA, &al, err);

    if (rc)
        return rc;
    sl->n = 0;
    sl->v = al.n ? vss_calloc(al.n, sizeof *sl->v) : NULL;
    if (al.n && !sl->v) {
        vss_fs_attrs_free(al.v, al.n);
        return vss_fail(err, VSS_ENOMEM, "out of memory");
    }
    /* The unnamed stream goes first. */
    while (first < al.n && al.v[first].name[0])
        first++;
    if (first < al.n)
        sl->v[sl->n++] = stream_of(&al.v[first]);
    for (i = 0; i < al.n; i++)
        if (i != first)
            sl->v[sl->n++] = stream_of(&al.v[i]);
    free(al.v);  /* the names now belong to sl */
    return VSS_OK;
}

void vss_fs_streams_free(vss_fs_stream *streams, size_t count)
{
    size_t i;
    if (!streams)
        return;
    for (i = 0; i < count; i++)
        free(streams[i].name);
    free(streams);
}

/* st's $FILE_NAME times: the record's last Win32/POSIX name (the one The
 * Sleuth Kit takes, so body files agree with fls -m), else its first DOS
 * name. A resident value too short to hold the times (corrupt) is passed
 * over. Lock held. */
static void file_name_times(ntfs_inode *ni, vss_fs_stat *st)
{
    ntfs_attr_search_ctx *ctx = ntfs_attr_get_search_ctx(ni, NULL);
    if (!ctx)
        return;
    while (!ntfs_attr_lookup(AT_FILE_NAME, AT_UNNAMED, 0, CASE_SENSITIVE, 0,
                             NULL, 0, ctx)) {
        const ATTR_RECORD *a = ctx->attr;
        const FILE_NAME_ATTR *fn;
        uint32_t len, alen = le32_to_cpu(a->length);
        uint16_t off;
        if (a->non_resident)
            continue;
        len = le32_to_cpu(a->value_length);
        off = le16_to_cpu(a->value_offset);
        if (len < offsetof(FILE_NAME_ATTR, file_name) || off > alen ||
            alen - off < len)
            continue;
        fn = (const FILE_NAME_ATTR *)((const u8 *)a + off);
        if (st->has_file_name && fn->file_name_type == FILE_NAME_DOS)
            continue;
        st->has_file_name = 1;
        st->fn_creation_time = sle64_to_cpu(fn->creation_time);
        st->fn_modification_time = sle64_to_cpu(fn->last_data_change_time);
        st->fn_mft_change_time = sle64_to_cpu(fn->last_mft_change_time);
        st->fn_access_time = sle64_to_cpu(fn->last_access_time);
    }
    ntfs_attr_put_search_ctx(ctx);
}

/* Fill st from an open inode; `stream` NULL = unnamed $DATA. Lock held. */
static int fill_stat(vss_fs *fs, ntfs_inode *ni, const char *stream,
                     vss_fs_stat *st, vss_error *err)
{
    stream_list sl = {0};
    size_t i;
    int rc;

    memset(st, 0, sizeof *st);
    st->mft_record = ni->mft_no;
    st->sequence = le16_to_cpu(ni->mrec->sequence_number);
    st->link_count = le16_to_cpu(ni->mrec->link_count);
    st->is_directory = !!(ni->mrec->flags & MFT_RECORD_IS_DIRECTORY);
    st->attributes = le32_to_cpu(ni->flags);
    st->creation_time = sle64_to_cpu(ni->creation_time);
    st->modification_time = sle64_to_cpu(ni->last_data_change_time);
    st->mft_change_time = sle64_to_cpu(ni->last_mft_change_time);
    st->access_time = sle64_to_cpu(ni->last_access_time);
    st->owner_id = le32_to_cpu(ni->owner_id);
    st->record_offset = mft_volume_offset(fs, ni->mft_no, 0);
    file_name_times(ni, st);

    rc = collect_streams(fs, ni, &sl, err);
    if (rc)
        return rc;
    for (i = 0; i < sl.n; i++) {
        if (sl.v[i].name[0])
            st->stream_count++;
        if (stream ? strcmp(sl.v[i].name, stream) == 0 : !sl.v[i].name[0]) {
            st->size = sl.v[i].size;
            st->allocated_size = sl.v[i].allocated_size;
            st->has_data = 1;
        }
    }
    vss_fs_streams_free(sl.v, sl.n);
    if (stream && stream[0])
        st->is_stream = 1;
    if (st->is_directory && !st->is_stream)
        st->size = st->allocated_size = 0;
    return VSS_OK;
}

/* Convert a stream name to UTF-16 for ntfs_attr_open ("" → AT_UNNAMED). */
static int stream_name_ucs(const char *stream, ntfschar **uname, int *ulen)
{
    *uname = AT_UNNAMED;
    *ulen = 0;
    if (!stream || !stream[0])
        return 0;
    *uname = NULL;
    *ulen = ntfs_mbstoucs(stream, uname);
    if (*ulen < 0 || !*uname) {
        *uname = NULL;
        return -1;
    }
    return 0;
}

/* Does the named stream exist on ni? Lock held. Returns VSS_OK or
 * VSS_ENOTFOUND / another code. */
static int stream_exists(vss_fs *fs, ntfs_inode *ni, const char *stream,
                         const char *path, vss_error *err)
{
    ntfschar *uname;
    int ulen;
    ntfs_attr *na;

    if (stream_name_ucs(stream, &uname, &ulen))
        return vss_fail(err, VSS_EINVAL, "NTFS: bad stream name in '%s'",
                        path);
    na = ntfs_attr_open(ni, AT_DATA, uname, (u32)ulen);
    if (uname != AT_UNNAMED)
        free(uname);
    if (!na) {
        if (errno == ENOENT)
            return vss_fail(err, VSS_ENOTFOUND,
                            "NTFS: '%s': no $DATA stream '%s' in MFT record "
                            "%llu",
                            path, stream, (unsigned long long)ni->mft_no);
        return fs_fail(fs, err, errno, "'%s' (MFT record %llu) $DATA",
                       path, (unsigned long long)ni->mft_no);
    }
    ntfs_attr_close(na);
    return VSS_OK;
}

/* Resolve PATH or PATH:STREAM. A last component containing ':' is first
 * tried as a whole name (POSIX-namespace names may contain ':'). */
static int resolve(vss_fs *fs, const char *path, ntfs_inode **ni,
                   char **stream, vss_error *err)
{
    char *file = NULL;
    int rc;

    *ni = NULL;
    *stream = NULL;
    if (split_stream(path, &file, stream))
        return vss_fail(err, VSS_ENOMEM, "out of memory");
    if (strcmp(file, path) != 0) {
        vss_error tmp;
        if (lookup(fs, path, ni, &tmp) == VSS_OK) {
            free(file);
            free(*stream);
            *stream = strdup("");
            if (!*stream) {
                ntfs_inode_close(*ni);
                *ni = NULL;
                return vss_fail(err, VSS_ENOMEM, "out of memory");
            }
            return VSS_OK;
        }
    }
    rc = lookup(fs, file, ni, err);
    free(file);
    if (rc) {
        free(*stream);
        *stream = NULL;
    }
    return rc;
}

int vss_fs_stat_path(vss_fs *fs, const char *path, vss_fs_stat *st,
                     vss_error *err)
{
    ntfs_inode *ni;
    char *stream;
    int rc;

    if (!fs || !path || !st)
        return vss_fail(err, VSS_EINVAL, "vss_fs_stat_path: NULL argument");
    fs_lock(fs);
    rc = resolve(fs, path, &ni, &stream, err);
    if (rc == VSS_OK) {
        if (stream[0])
            rc = stream_exists(fs, ni, stream, path, err);
        if (rc == VSS_OK)
            rc = fill_stat(fs, ni, stream, st, err);
        ntfs_inode_close(ni);
        free(stream);
    }
    fs_unlock(fs);
    return rc;
}

int vss_fs_streams(vss_fs *fs, const char *path, vss_fs_stream **streams,
                   size_t *count, vss_error *err)
{
    ntfs_inode *ni;
    stream_list sl = {0};
    int rc;

    if (!fs || !path || !streams || !count)
        return vss_fail(err, VSS_EINVAL, "vss_fs_streams: NULL argument");
    *streams = NULL;
    *count = 0;
    fs_lock(fs);
    rc = lookup(fs, path, &ni, err);
    if (rc == VSS_OK) {
        rc = collect_streams(fs, ni, &sl, err);
        ntfs_inode_close(ni);
    }
    fs_unlock(fs);
    if (rc) {
        vss_fs_streams_free(sl.v, sl.n);
        return rc;
    }
    *streams = sl.v;
    *count = sl.n;
    return VSS_OK;
}

int vss_fs_attrs(vss_fs *fs, const char *path, vss_fs_attr **attrs,
                 size_t *count, vss_error *err)
{
    ntfs_inode *ni;
    attr_list al = {0};
    int rc;

    if (!fs || !path || !attrs || !count)
        return vss_fail(err, VSS_EINVAL, "vss_fs_attrs: NULL argument");
    *attrs = NULL;
    *count = 0;
    fs_lock(fs);
    rc = lookup(fs, path, &ni, err);
    if (rc == VSS_OK) {
        rc = collect_attrs(fs, ni, AT_UNUSED, &al, err);
        ntfs_inode_close(ni);
    }
    fs_unlock(fs);
    if (rc)
        return rc;
    *attrs = al.v;
    *count = al.n;
    return VSS_OK;
}

/* ---- directories -------------------------------------------------------- */

/* An entry's name as the index collates it: len upper-cased UTF-16 units
 * (the volume's $UpCase) followed by the len units as they are. */
typedef struct dir_key {
    ntfschar *units;
    u32 len;
} dir_key;

typedef struct dir_collect {
    ntfs_volume *vol;
    vss_fs_entry *v;
    dir_key *k;        /* parallel to v */
    size_t n, cap;
    int rc;            /* VSS_ENOMEM / VSS_ECORRUPT to stop */
} dir_collect;

static void dir_keys_free(dir_key *k, size_t n)
{
    size_t i;
    for (i = 0; k && i < n; i++)
        free(k[i].units);
    free(k);
}

static int units_cmp(const ntfschar *a, u32 alen, const ntfschar *b, u32 blen)
{
    u32 i;
    for (i = 0; i < alen && i < blen; i++)
        if (a[i] != b[i])
            return le16_to_cpu(a[i]) < le16_to_cpu(b[i]) ? -1 : 1;
    return alen < blen ? -1 : alen > blen;
}

typedef struct dir_item {
    dir_key k;
    vss_fs_entry e;
} dir_item;

/* NTFS file name collation (COLLATION_FILE_NAME): case-insensitively,
 * then case-sensitively. */
static int dir_item_cmp(const void *pa, const void *pb)
{
    const dir_item *a = pa, *b = pb;
    int c = units_cmp(a->k.units, a->k.len, b->k.units, b->k.len);
    return c ? c
             : units_cmp(a->k.units + a->k.len, a->k.len,
                         b->k.units + b->k.len, b->k.len);
}

/* Put dc's entries in collation order: the in-order walk of the directory's
 * B+tree, as Windows lists it. ntfs_readdir (like fls) gives the entries
 * node by node, an order that depends on the tree's shape. */
static int dir_sort(dir_collect *dc)
{
    dir_item *it;
    size_t i;
    if (dc->n < 2)
        return VSS_OK;
    it = vss_calloc(dc->n, sizeof *it);
    if (!it)
        return VSS_ENOMEM;
    for (i = 0; i < dc->n; i++) {
        it[i].k = dc->k[i];
        it[i].e = dc->v[i];
    }
    qsort(it, dc->n, sizeof *it, dir_item_cmp);
    for (i = 0; i < dc->n; i++) {
        dc->k[i] = it[i].k;
        dc->v[i] = it[i].e;
    }
    free(it);
    return VSS_OK;
}

static int collect_entry(void *user, const ntfschar *name, const int name_len,
                         const int name_type, const s64 pos,
                         const MFT_REF mref, const unsigned dt_type)
{
    dir_collect *dc = user;
    char *n;

    /* DOS 8.3 aliases repeat a long name; ntfs-3g also makes up "." and
     * "..", which are not entries of the directory. */
    if (name_type == FILE_NAME_DOS)
        return 0;
    if ((name_len == 1 && le16_to_cpu(name[0]) == '.') ||
        (name_len == 2 && le16_to_cpu(name[0]) == '.' &&
         le16_to_cpu(name[1]) == '.'))
        return 0;
    if (dc->n >= MAX_DIR_ENTRIES) {
        dc->rc = VSS_ECORRUPT;
        return -1;
    }
    if (dc->n == dc->cap) {
        size_t ncap = dc->cap ? dc->cap * 2 : 32;
        vss_fs_entry *nv = vss_realloc(dc->v, ncap * sizeof *nv);
        dir_key *nk;
        if (!nv) {
            dc->rc = VSS_ENOMEM;
            return -1;
        }
        dc->v = nv;
        nk = vss_realloc(dc->k, ncap * sizeof *nk);
        if (!nk) {
            dc->rc = VSS_ENOMEM;
            return -1;
        }
        dc->k = nk;
        dc->cap = ncap;
    }
    n = name_to_utf8(name, name_len);
    if (!n || name_len < 0) {
        free(n);
        dc->rc = VSS_ENOMEM;
        return -1;
    }
    dc->k[dc->n].len = (u32)name_len;
    dc->k[dc->n].units = vss_malloc(((size_t)name_len * 2 + 1) *
                                    sizeof(ntfschar));
    if (!dc->k[dc->n].units) {
        free(n);
        dc->rc = VSS_ENOMEM;
        return -1;
    }
    memcpy(dc->k[dc->n].units, name, (size_t)name_len * sizeof(ntfschar));
    memcpy(dc->k[dc->n].units + name_len, name,
           (size_t)name_len * sizeof(ntfschar));
    ntfs_name_upcase(dc->k[dc->n].units, (u32)name_len, dc->vol->upcase,
                     dc->vol->upcase_len);
    memset(&dc->v[dc->n], 0, sizeof dc->v[dc->n]);
    dc->v[dc->n].name = n;
    dc->v[dc->n].st.mft_record = MREF(mref);
    dc->v[dc->n].st.sequence = (uint16_t)MSEQNO(mref);
    dc->v[dc->n].st.record_offset = VSS_FS_NO_OFFSET;
    dc->n++;
    return 0;
}

void vss_fs_entries_free(vss_fs_entry *entries, size_t count)
{
    size_t i;
    if (!entries)
        return;
    for (i = 0; i < count; i++)
        free(entries[i].name);
    free(entries);
}

int vss_fs_list(vss_fs *fs, const char *path, vss_fs_entry **entries,
                size_t *count, vss_error *err)
{
    ntfs_inode *dir;
    dir_collect dc = {0};
    s64 pos = 0;
    size_t i;
    int rc;

    if (!fs || !path || !entries || !count)
        return vss_fail(err, VSS_EINVAL, "vss_fs_list: NULL argument");
    *entries = NULL;
    *count = 0;
    fs_lock(fs);
    rc = lookup(fs, path, &dir, err);
    if (rc) {
        fs_unlock(fs);
        return rc;
    }
    if (!(dir->mrec->flags & MFT_RECORD_IS_DIRECTORY)) {
        rc = vss_fail(err, VSS_EINVAL,
                      "NTFS: '%s' (MFT record %llu) is not a directory", path,
                      (unsigned long long)dir->mft_no);
        ntfs_inode_close(dir);
        fs_unlock(fs);
        return rc;
    }
    /* Collect names first and open the records afterwards: ntfs_readdir
     * holds index state of dir while it calls back. */
    dc.vol = fs->vol;
    if (ntfs_readdir(dir, &pos, &dc, collect_entry) || dc.rc ||
        (dc.rc = dir_sort(&dc)) != VSS_OK) {
        if (dc.rc == VSS_ENOMEM)
            rc = vss_fail(err, VSS_ENOMEM, "out of memory");
        else if (dc.rc)
            rc = vss_fail(err, VSS_ECORRUPT,
                          "NTFS: directory '%s' (MFT record %llu) has more "
                          "than %u entries",
                          path, (unsigned long long)dir->mft_no,
                          MAX_DIR_ENTRIES);
        else
            rc = fs_fail(fs, err, errno,
                         "index of directory '%s' (MFT record %llu)", path,
                         (unsigned long long)dir->mft_no);
        ntfs_inode_close(dir);
        fs_unlock(fs);
        vss_fs_entries_free(dc.v, dc.n);
        dir_keys_free(dc.k, dc.n);
        return rc;
    }
    dir_keys_free(dc.k, dc.n);
    ntfs_inode_close(dir);
    for (i = 0; i < dc.n; i++) {
        vss_fs_entry *e = &dc.v[i];
        ntfs_inode *ni;
        vss_error tmp;
        MFT_REF mref = MK_MREF(e->st.mft_record, e->st.sequence);

        fs->dev_ctx.last_rc = 0;
        ni = ntfs_inode_open(fs->vol, mref);
        if (!ni) {
            e->stat_rc = fs->dev_ctx.last_rc ? fs->dev_ctx.last_rc
                                             : VSS_ECORRUPT;
            continue;
        }
        e->stat_rc = fill_stat(fs, ni, NULL, &e->st, &tmp);
        if (e->stat_rc) {
            e->st.mft_record = ni->mft_no;
            e->st.sequence = (uint16_t)MSEQNO(mref);
        }
        ntfs_inode_close(ni);
    }
    fs_unlock(fs);
    *entries = dc.v;
    *count = dc.n;
    return VSS_OK;
}

/* ---- files -------------------------------------------------------------- */

int vss_fs_file_open(vss_fs *fs, const char *path, vss_fs_file **out,
                     vss_error *err)
{
    vss_fs_file *f;
    ntfs_inode *ni;
    ntfschar *uname;
    char *stream;
    int ulen, rc;

    if (!fs || !path || !out)
        return vss_fail(err, VSS_EINVAL, "vss_fs_file_open: NULL argument");
    *out = NULL;
    f = vss_calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path))) {
        free(f);
        return vss_fail(err, VSS_ENOMEM, "out of memory");
    }
    fs_lock(fs);
    rc = resolve(fs, path, &ni, &stream, err);
    if (rc)
        goto fail;
    if ((ni->mrec->flags & MFT_RECORD_IS_DIRECTORY) && !stream[0]) {
        rc = vss_fail(err, VSS_EINVAL,
                      "NTFS: '%s' (MFT record %llu) is a directory", path,
                      (unsigned long long)ni->mft_no);
        goto fail_ni;
    }
    if (stream_name_ucs(stream, &uname, &ulen)) {
        rc = vss_fail(err, VSS_EINVAL, "NTFS: bad stream name in '%s'",
                      path);
        goto fail_ni;
    }
    f->na = ntfs_attr_open(ni, AT_DATA, uname, (u32)ulen);
    if (uname != AT_UNNAMED)
        free(uname);
    /* Asked for the unnamed stream of a file that has none, libntfs-3g
     * answers with its first named one ($Secure gives $SDS): refuse that. */
    if (f->na && !stream[0] && f->na->name_len) {
        ntfs_attr_close(f->na);
        f->na = NULL;
        errno = ENOENT;
    }
    if (!f->na && errno == ENOENT && !stream[0]) {
        /* No unnamed $DATA (metadata files such as $Secure, $Extend/$Quota):
         * the file's content is empty, as its stat says (size 0, has_data
         * 0). Its named streams are opened as PATH:STREAM. */
        f->size = 0;
        goto opened;
    }
    if (!f->na) {
        if (errno == ENOENT)
            rc = vss_fail(err, VSS_ENOTFOUND,
                          "NTFS: '%s': no $DATA stream%s%s in MFT record "
                          "%llu",
                          path, stream[0] ? " " : "", stream,
                          (unsigned long long)ni->mft_no);
        else
            rc = fs_fail(fs, err, errno, "'%s' (MFT record %llu) $DATA",
                         path, (unsigned long long)ni->mft_no);
        goto fail_ni;
    }
    if (f->na->data_size < 0 || f->na->initialized_size < 0 ||
        f->na->initialized_size > f->na->allocated_size) {
        rc = vss_fail(err, VSS_ECORRUPT,
                      "NTFS: '%s' (MFT record %llu): $DATA sizes "
                      "inconsistent (data %lld, initialized %lld, "
                      "allocated %lld)",
                      path, (unsigned long long)ni->mft_no,
                      (long long)f->na->data_size,
                      (long long)f->na->initialized_size,
                      (long long)f->na->allocated_size);
        ntfs_attr_close(f->na);
        goto fail_ni;
    }
    f->size = (uint64_t)f->na->data_size;
opened:
    f->ni = ni;
    f->fs = fs;
    fs->refs++;
    free(stream);
    fs_unlock(fs);
    *out = f;
    return VSS_OK;
fail_ni:
    ntfs_inode_close(ni);
    free(stream);
fail:
    fs_unlock(fs);
    free(f->path);
    free(f);
    return rc;
}

void vss_fs_file_close(vss_fs_file *f)
{
    vss_fs *fs;
    if (!f)
        return;
    fs = f->fs;
    fs_lock(fs);
    if (f->na)
        ntfs_attr_close(f->na);
    ntfs_inode_close(f->ni);
    fs_unlock(fs);
    free(f->path);
    free(f);
    fs_put(fs);
}

uint64_t vss_fs_file_size(const vss_fs_file *f)
{
    return f ? f->size : 0;
}

uint32_t vss_fs_file_compression_unit(const vss_fs_file *f)
{
    if (!f || !f->na || !(f->na->data_flags & ATTR_COMPRESSION_MASK) ||
        !NAttrNonResident(f->na))
        return 0;
    return f->na->compression_block_size;
}

int vss_fs_file_stat(vss_fs_file *f, vss_fs_stat *st, vss_error *err)
{
    char *stream;
    int rc;
    if (!f || !st)
        return vss_fail(err, VSS_EINVAL, "vss_fs_file_stat: NULL argument");
    stream = f->na && f->na->name_len
                 ? name_to_utf8(f->na->name, (int)f->na->name_len)
                 : NULL;
    if (f->na && f->na->name_len && !stream)
        return vss_fail(err, VSS_ENOMEM, "out of memory");
    fs_lock(f->fs);
    rc = fill_stat(f->fs, f->ni, stream, st, err);
    fs_unlock(f->fs);
    free(stream);
    return rc;
}

int64_t vss_fs_file_read_at(vss_fs_file *f, void *buf, size_t len,
                            uint64_t offset, vss_error *err)
{
    size_t done = 0;

    if (!f || (!buf && len))
        return vss_fail(err, VSS_EINVAL, "vss_fs_file_read_at: bad argument");
    if (offset >= f->size)
        return 0;
    if (len > f->size - offset)
        len = (size_t)(f->size - offset);
    if (len > (size_t)INT64_MAX)
        len = (size_t)INT64_MAX;
    fs_lock(f->fs);
    while (done < len) {
        s64 n = ntfs_attr_pread(f->na, (s64)(offset + done),
                                (s64)(len - done), (uint8_t *)buf + done);
        if (n < 0) {
            int eo = errno;
            int rc = eo == EACCES && (f->na->data_flags & ATTR_IS_ENCRYPTED)
                         ? vss_fail(err, VSS_EUNSUPPORTED,
                                    "NTFS: '%s' (MFT record %llu) is "
                                    "encrypted (EFS)",
                                    f->path,
                                    (unsigned long long)f->ni->mft_no)
                         : fs_fail(f->fs, err, eo,
                                   "'%s' (MFT record %llu) reading %zu bytes "
                                   "at file offset %llu",
                                   f->path,
                                   (unsigned long long)f->ni->mft_no,
                                   len - done,
                                   (unsigned long long)(offset + done));
            fs_unlock(f->fs);
            return rc;
        }
        if (n == 0)
            break;
        done += (size_t)n;
    }
    fs_unlock(f->fs);
    if (done < len)
        return vss_fail(err, VSS_ECORRUPT,
                        "NTFS: '%s' (MFT record %llu): data ends at file "
                        "offset %llu, before its size %llu",
                        f->path, (unsigned long long)f->ni->mft_no,
                        (unsigned long long)(offset + done),
                        (unsigned long long)f->size);
    return (int64_t)done;
}

/* ---- extents ------------------------------------------------------------ */

typedef struct extent_list {
    vss_fs_extent *v;
    size_t n, cap;
} extent_list;

static int extent_add(extent_list *el, uint64_t foff, uint64_t voff,
                      uint64_t len, unsigned flags)
{
    if (!len)
        return VSS_OK;
    /* Merge with the previous extent when contiguous on both sides. */
    if (el->n) {
        vss_fs_extent *p = &el->v[el->n - 1];
        if (p->flags == flags && p->file_offset + p->length == foff &&
            (flags & VSS_EXTENT_SPARSE ||
             (p->volume_offset != VSS_FS_NO_OFFSET &&
              p->volume_offset + p->length == voff))) {
            p->length += len;
            return VSS_OK;
        }
    }
    if (el->n == el->cap) {
        size_t ncap = el->cap ? el->cap * 2 : 16;
        vss_fs_extent *nv = vss_realloc(el->v, ncap * sizeof *nv);
        if (!nv)
            return VSS_ENOMEM;
        el->v = nv;
        el->cap = ncap;
    }
    el->v[el->n].file_offset = foff;
    el->v[el->n].volume_offset = voff;
    el->v[el->n].length = len;
    el->v[el->n].flags = flags;
    el->n++;
    return VSS_OK;
}

/* Resident value: its bytes inside the MFT record that holds it. */
static int resident_extent(vss_fs_file *f, extent_list *el, vss_error *err)
{
    vss_fs *fs = f->fs;
    ntfs_attr_search_ctx *ctx = ntfs_attr_get_search_ctx(f->ni, NULL);
    uint64_t voff = VSS_FS_NO_OFFSET;
    int rc;

    if (!ctx)
        return fs_fail(fs, err, errno, "'%s': attribute search", f->path);
    if (ntfs_attr_lookup(AT_DATA, f->na->name, f->na->name_len,
                         CASE_SENSITIVE, 0, NULL, 0, ctx)) {
        rc = fs_fail(fs, err, errno, "'%s' (MFT record %llu): $DATA",
                     f->path, (unsigned long long)f->ni->mft_no);
        ntfs_attr_put_search_ctx(ctx);
        return rc;
    }
    {
        const uint8_t *rec = (const uint8_t *)ctx->mrec;
        const uint8_t *at = (const uint8_t *)ctx->attr;
        uint64_t in_rec = (uint64_t)(at - rec) +
                          le16_to_cpu(ctx->attr->value_offset);
        if (in_rec < fs->vol->mft_record_size)
            voff = mft_volume_offset(fs, ctx->ntfs_ino->mft_no,
                                     (uint32_t)in_rec);
        /* A value crossing a cluster boundary of a fragmented $MFT has no
         * single offset; say unknown rather than guess. */
        if (voff != VSS_FS_NO_OFFSET && f->size) {
            uint64_t last = in_rec + f->size - 1;
            if (last >= fs->vol->mft_record_size ||
                mft_volume_offset(fs, ctx->ntfs_ino->mft_no,
                                  (uint32_t)last) != voff + f->size - 1)
                voff = VSS_FS_NO_OFFSET;
        }
    }
    ntfs_attr_put_search_ctx(ctx);
    rc = extent_add(el, 0, voff, f->size, VSS_EXTENT_RESIDENT);
    return rc ? vss_fail(err, rc, "out of memory") : VSS_OK;
}

int vss_fs_file_extents(vss_fs_file *f, vss_fs_extent **extents,
                        size_t *count, vss_error *err)
{
    vss_fs *fs;
    extent_list el = {0};
    runlist_element *rl;
    uint64_t init, cs;
    unsigned base;
    size_t i;
    int rc = VSS_OK;

    if (!f || !extents || !count)
        return vss_fail(err, VSS_EINVAL, "vss_fs_file_extents: NULL argument");
    *extents = NULL;
    *count = 0;
    fs = f->fs;
    if (!f->na)
        return VSS_OK;  /* no unnamed $DATA: empty, no extent */
    fs_lock(fs);
    if (!NAttrNonResident(f->na)) {
        rc = resident_extent(f, &el, err);
        goto out;
    }
    if (ntfs_attr_map_whole_runlist(f->na)) {
        rc = fs_fail(fs, err, errno,
                     "'%s' (MFT record %llu): runlist of $DATA", f->path,
                     (unsigned long long)f->ni->mft_no);
        goto out;
    }
    cs = fs->vol->cluster_size;
    init = (uint64_t)f->na->initialized_size;
    base = f->na->data_flags & ATTR_COMPRESSION_MASK ? VSS_EXTENT_COMPRESSED
                                                     : 0;
    rl = f->na->rl;
    for (i = 0; rl && rl[i].length; i++) {
        uint64_t foff, len, voff, end, cut;
        if (i >= MAX_RUNS || rl[i].vcn < 0 || rl[i].length < 0) {
            rc = vss_fail(err, VSS_ECORRUPT,
                          "NTFS: '%s' (MFT record %llu): runlist element %zu "
                          "invalid",
                          f->path, (unsigned long long)f->ni->mft_no, i);
            goto out;
        }
        if (__builtin_mul_overflow((uint64_t)rl[i].vcn, cs, &foff) ||
            __builtin_mul_overflow((uint64_t)rl[i].length, cs, &len) ||
            __builtin_add_overflow(foff, len, &end)) {
            rc = vss_fail(err, VSS_ECORRUPT,
                          "NTFS: '%s' (MFT record %llu): runlist element %zu "
                          "overflows",
                          f->path, (unsigned long long)f->ni->mft_no, i);
            goto out;
        }
        if (foff >= f->size)
            break;
        if (end > f->size)
            len = f->size - foff;
        if (rl[i].lcn == LCN_HOLE) {
            rc = extent_add(&el, foff, VSS_FS_NO_OFFSET, len,
                            base | VSS_EXTENT_SPARSE);
        } else if (rl[i].lcn < 0 ||
                   __builtin_mul_overflow((uint64_t)rl[i].lcn, cs, &voff)) {
            rc = vss_fail(err, VSS_ECORRUPT,
                          "NTFS: '%s' (MFT record %llu): runlist element %zu "
                          "has no cluster (LCN %lld)",
                          f->path, (unsigned long long)f->ni->mft_no, i,
                          (long long)rl[i].lcn);
            goto out;
        } else {
            /* Bytes past the initialized size read as zeros whatever the
             * clusters hold: mark them so callers don't blame the disk. */
            cut = init > foff ? (init - foff < len ? init - foff : len) : 0;
            rc = extent_add(&el, foff, voff, cut, base);
            if (!rc)
                rc = extent_add(&el, foff + cut, voff + cut, len - cut,
                                base | VSS_EXTENT_UNINIT);
        }
        if (rc) {
            rc = vss_fail(err, VSS_ENOMEM, "out of memory");
            goto out;
        }
    }
    /* The runlist must cover the whole size. */
    {
        uint64_t covered = el.n ? el.v[el.n - 1].file_offset +
                                      el.v[el.n - 1].length
                                : 0;
        if (covered < f->size)
            rc = vss_fail(err, VSS_ECORRUPT,
                          "NTFS: '%s' (MFT record %llu): runlist covers %llu "
                          "of %llu bytes",
                          f->path, (unsigned long long)f->ni->mft_no,
                          (unsigned long long)covered,
                          (unsigned long long)f->size);
    }
out:
    fs_unlock(fs);
    if (rc) {
        free(el.v);
        return rc;
    }
    *extents = el.v;
    *count = el.n;
    return VSS_OK;
}

void vss_fs_extents_free(vss_fs_extent *extents)
{
    free(extents);
}

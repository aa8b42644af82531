/*
 * ntfs/mount.c — files inside a snapshot (the NTFS layer): libntfs-3g
 * mounted read-only on a device whose operations read a vss_source; the
 * file system handle (vss_fs_open/close) and its lock. Paths, stat and
 * listings: lookup.c; attributes, streams and file reads: file.c.
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

#include "ntfs/ntfs_int.h"

/* ---- the device: libntfs-3g reads the vss_source through these ---------- */

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
void fs_lock(vss_fs *fs)
{
    pthread_mutex_lock(&fs->lock);
    fs->dev_ctx.last_rc = 0;
    ntfs_last_log[0] = '\0';
}

void fs_unlock(vss_fs *fs)
{
    pthread_mutex_unlock(&fs->lock);
}

/* Turn a libntfs-3g failure (errno) into a VSS_E* code and a message
 * naming what was being read. A failure of the source itself wins: the
 * snapshot layer knows the offset and structure better than ntfs-3g. */
int fs_fail(vss_fs *fs, vss_error *err, int eno, const char *fmt, ...)
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

void fs_put(vss_fs *fs)
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

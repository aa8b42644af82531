/*
 * io.c — read-at sources: files, memory, sub-ranges, and the one place
 * (vss_read_exact) where every metadata read of the library goes through.
 * Offset-based reads only (pread), so sources are shared between threads.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/fs.h>
#endif

#include "io/io.h"

struct vss_source {
    atomic_int refs;
    const vss_source_ops *ops;
    void *ctx;
    uint64_t size;
    char name[256];
};

int vss_source_new(const vss_source_ops *ops, void *ctx, uint64_t size,
                   const char *name, vss_source **out, vss_error *err)
{
    vss_source *s;

    *out = NULL;
    if (!ops || !ops->read_at) {
        if (ops && ops->close)
            ops->close(ctx);
        return vss_fail(err, VSS_EINVAL, "source: no read_at operation");
    }
    s = vss_calloc(1, sizeof *s);
    if (!s) {
        if (ops->close)
            ops->close(ctx);
        return vss_fail(err, VSS_ENOMEM, "source: out of memory");
    }
    atomic_init(&s->refs, 1);
    s->ops = ops;
    s->ctx = ctx;
    s->size = size;
    snprintf(s->name, sizeof s->name, "%s", name ? name : "");
    *out = s;
    return VSS_OK;
}

void vss_source_retain(vss_source *src)
{
    if (src)
        atomic_fetch_add(&src->refs, 1);
}

void vss_source_release(vss_source *src)
{
    if (src && atomic_fetch_sub(&src->refs, 1) == 1) {
        if (src->ops->close)
            src->ops->close(src->ctx);
        free(src);
    }
}

uint64_t vss_source_size(const vss_source *src)
{
    return src ? src->size : 0;
}

const char *vss_source_name(const vss_source *src)
{
    return src ? src->name : "";
}

void *vss_source_ctx_if(vss_source *src, const vss_source_ops *ops)
{
    return src && src->ops == ops ? src->ctx : NULL;
}

/* Read failure injection for tests: fail the Nth read from now on. */
static long read_countdown;

void vss_test_fail_read_after(long n)
{
    read_countdown = n;
}

int64_t vss_source_read_at(vss_source *src, void *buf, size_t len,
                           uint64_t offset)
{
    if (!src || (!buf && len))
        return VSS_EINVAL;
    if (read_countdown > 0 && --read_countdown == 0) {
        read_countdown = -1;
        return VSS_EIO;
    }
    if (read_countdown < 0)
        return VSS_EIO;
    if (offset >= src->size || len == 0)
        return 0;
    if (len > src->size - offset)
        len = (size_t)(src->size - offset);
    if (len > INT64_MAX)
        len = INT64_MAX;
    return src->ops->read_at(src->ctx, buf, len, offset);
}

int vss_read_exact(vss_source *src, void *buf, size_t len, uint64_t offset,
                   const char *what, vss_error *err)
{
    size_t done = 0;

    while (done < len) {
        int64_t n = vss_source_read_at(src, (uint8_t *)buf + done, len - done,
                                       offset + done);
        if (n < 0)
            return vss_fail(err, (int)n,
                            "%s at offset %llu: read of %zu bytes failed (%s)",
                            what, (unsigned long long)offset, len,
                            vss_strerror((int)n));
        if (n == 0)
            return vss_fail(err, VSS_EIO,
                            "%s at offset %llu: %zu bytes needed, image ends "
                            "after %zu (truncated image?)",
                            what, (unsigned long long)offset, len, done);
        done += (size_t)n;
    }
    return VSS_OK;
}

/* ---- files ----------------------------------------------------------------- */

/* An image file's holes. Sparse images are common (copies made with
 * --sparse, qemu-img and ewfexport output, test images: vss_2003.raw is
 * 128 GiB with 81 MB of data), and a snapshot read of an unallocated
 * region of such an image asks the kernel for zeros, one system call per
 * read. So once a file source has served FILE_MAP_AFTER reads (listing a
 * volume takes fewer; reading snapshots many more), its data extents are
 * listed (SEEK_DATA / SEEK_HOLE) and from then on a read that falls wholly
 * in a hole is filled with zeros here. The list is made by one thread,
 * published with a release store and never changed (reads stay
 * lock-free), and bounded: at most FILE_MAX_EXTENTS extents; beyond
 * mapped_end (or on a file system that cannot tell, which reports one
 * extent of data) every read is a pread. An image is evidence and does not
 * change while it is read; if it did, the list would be stale like any
 * other open state. */
#define FILE_MAP_AFTER 64
#define FILE_MAX_EXTENTS 4096

typedef struct hole_map {
    uint64_t mapped_end; /* the list is complete below this offset */
    size_t nextents;
    uint64_t extents[]; /* start, end pairs of data, sorted */
} hole_map;

typedef struct file_ctx {
    int fd;
    uint64_t size;
    atomic_uint reads;                 /* counted until the map is made */
    _Atomic(hole_map *) map;           /* NULL until then */
} file_ctx;

static hole_map *file_map_holes(int fd, uint64_t size)
{
    hole_map *m = vss_calloc(1, sizeof *m);
#if defined(SEEK_DATA) && defined(SEEK_HOLE)
    uint64_t off = 0;
    size_t cap = 0;

    while (m && off < size) {
        off_t d = lseek(fd, (off_t)off, SEEK_DATA), h;
        if (d < 0) {
            if (errno == ENXIO) /* no data after off */
                m->mapped_end = size;
            break;
        }
        h = lseek(fd, d, SEEK_HOLE);
        if (h <= d || m->nextents == FILE_MAX_EXTENTS)
            break; /* mapped_end stays at off */
        if (m->nextents == cap) {
            size_t ncap = cap ? cap * 4 : 16;
            hole_map *n;
            if (ncap > FILE_MAX_EXTENTS)
                ncap = FILE_MAX_EXTENTS;
            n = vss_realloc(m, sizeof *m + ncap * 2 * sizeof m->extents[0]);
            if (!n)
                break;
            m = n;
            cap = ncap;
        }
        m->extents[2 * m->nextents] = (uint64_t)d;
        m->extents[2 * m->nextents + 1] = (uint64_t)h;
        m->nextents++;
        off = (uint64_t)h;
        m->mapped_end = off < size ? off : size;
    }
#else
    (void)fd;
    (void)size;
#endif
    return m;
}

/* The index of the first listed data extent that ends after off
 * (m->nextents when none does): the extents are sorted and disjoint. */
static size_t first_extent_after(const hole_map *m, uint64_t off)
{
    size_t a = 0, b = m->nextents;
    while (a < b) {
        size_t mid = a + (b - a) / 2;
        if (m->extents[2 * mid + 1] <= off)
            a = mid + 1;
        else
            b = mid;
    }
    return a;
}

/* Whether [off, off + len) lies in a hole of the listed part of the file. */
static int in_hole(const hole_map *m, uint64_t off, size_t len)
{
    size_t a;
    if (off > m->mapped_end || m->mapped_end - off < len)
        return 0;
    a = first_extent_after(m, off);
    return a == m->nextents || m->extents[2 * a] >= off + len;
}

/* List f's holes and publish the list; the one already published wins
 * (file_read_at's FILE_MAP_AFTER-th read and vss_source_next_data may race). */
static hole_map *file_map_publish(file_ctx *f)
{
    hole_map *mine = file_map_holes(f->fd, f->size), *none = NULL;
    if (!mine)
        return NULL;
    if (atomic_compare_exchange_strong_explicit(&f->map, &none, mine,
                                                memory_order_acq_rel,
                                                memory_order_acquire))
        return mine;
    free(mine);
    return none;
}

static int64_t file_read_at(void *ctx, void *buf, size_t len, uint64_t off)
{
    file_ctx *f = ctx;
    size_t done = 0;
    hole_map *m = atomic_load_explicit(&f->map, memory_order_acquire);

    if (!m && f->size &&
        atomic_fetch_add_explicit(&f->reads, 1, memory_order_relaxed) ==
            FILE_MAP_AFTER)
        m = file_map_publish(f);
    if (m && in_hole(m, off, len)) {
        memset(buf, 0, len);
        return (int64_t)len;
    }
    while (done < len) {
        ssize_t n = pread(f->fd, (uint8_t *)buf + done, len - done,
                          (off_t)(off + done));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return VSS_EIO;
        }
        if (n == 0)
            break;
        done += (size_t)n;
    }
    return (int64_t)done;
}

static void file_close(void *ctx)
{
    file_ctx *f = ctx;
    close(f->fd);
    free(atomic_load(&f->map));
    free(f);
}

static const vss_source_ops file_ops = {file_read_at, file_close};

int vss_source_open_file(const char *path, vss_source **out, vss_error *err)
{
    struct stat st;
    uint64_t size;
    file_ctx *f;
    int fd;

    *out = NULL;
    /* Evidence is never opened for writing. O_NONBLOCK: opening a FIFO
     * for reading waits for a writer, forever; the type is checked on
     * the open descriptor (no race with a rename), then blocking reads
     * are restored. O_NOCTTY: a terminal given as the image must not
     * become our controlling terminal. */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return vss_fail(err, errno == ENOENT ? VSS_ENOTFOUND : VSS_EIO,
                        "%s: cannot open: %s", path, strerror(errno));
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return vss_fail(err, VSS_EIO, "%s: cannot stat: %s", path,
                        strerror(e));
    }
    if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
        const char *what = S_ISFIFO(st.st_mode)   ? "a FIFO (named pipe)"
                           : S_ISCHR(st.st_mode)  ? "a character device"
                           : S_ISDIR(st.st_mode)  ? "a directory"
                           : S_ISSOCK(st.st_mode) ? "a socket"
                                                  : "not a plain file";
        close(fd);
        return vss_fail(err, VSS_EINVAL,
                        "%s: %s; an image must be a regular file or a block "
                        "device",
                        path, what);
    }
    {
        int fl = fcntl(fd, F_GETFL);
        if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
            int e = errno;
            close(fd);
            return vss_fail(err, VSS_EIO, "%s: fcntl: %s", path,
                            strerror(e));
        }
    }
    if (S_ISREG(st.st_mode)) {
        size = (uint64_t)st.st_size;
#ifdef BLKGETSIZE64
    } else if (S_ISBLK(st.st_mode)) {
        if (ioctl(fd, BLKGETSIZE64, &size) != 0) {
            int e = errno;
            close(fd);
            return vss_fail(err, VSS_EIO, "%s: cannot get device size: %s",
                            path, strerror(e));
        }
#endif
    } else {
        close(fd);
        return vss_fail(err, VSS_EINVAL,
                        "%s: not a regular file or block device", path);
    }
    f = vss_calloc(1, sizeof *f);
    if (!f) {
        close(fd);
        return vss_fail(err, VSS_ENOMEM, "%s: out of memory", path);
    }
    f->fd = fd;
    /* only regular files have holes to list (size 0: never listed) */
    f->size = S_ISREG(st.st_mode) ? size : 0;
    atomic_init(&f->reads, 0);
    atomic_init(&f->map, NULL);
    return vss_source_new(&file_ops, f, size, path, out, err);
}

/* ---- memory ---------------------------------------------------------------- */

typedef struct mem_ctx {
    const uint8_t *data;
    size_t size;
} mem_ctx;

static int64_t mem_read_at(void *ctx, void *buf, size_t len, uint64_t off)
{
    mem_ctx *m = ctx;
    if (off >= m->size)
        return 0;
    if (len > m->size - off)
        len = (size_t)(m->size - off);
    memcpy(buf, m->data + off, len);
    return (int64_t)len;
}

static const vss_source_ops mem_ops = {mem_read_at, free};

int vss_source_open_memory(const void *data, size_t size, const char *name,
                           vss_source **out, vss_error *err)
{
    mem_ctx *m;

    *out = NULL;
    if (!data && size)
        return vss_fail(err, VSS_EINVAL, "memory source: no data");
    m = vss_malloc(sizeof *m);
    if (!m)
        return vss_fail(err, VSS_ENOMEM, "memory source: out of memory");
    m->data = data;
    m->size = size;
    return vss_source_new(&mem_ops, m, size, name ? name : "memory", out,
                          err);
}

/* ---- ranges ---------------------------------------------------------------- */

typedef struct range_ctx {
    vss_source *parent;
    uint64_t offset;
} range_ctx;

static int64_t range_read_at(void *ctx, void *buf, size_t len, uint64_t off)
{
    range_ctx *r = ctx;
    uint64_t at;
    if (add_overflows(r->offset, off, &at))
        return 0;
    return vss_source_read_at(r->parent, buf, len, at);
}

static void range_close(void *ctx)
{
    range_ctx *r = ctx;
    vss_source_release(r->parent);
    free(r);
}

static const vss_source_ops range_ops = {range_read_at, range_close};

uint64_t vss_source_next_data(vss_source *src, uint64_t off)
{
    file_ctx *f;
    range_ctx *r;

    if (!src || off >= src->size)
        return src ? src->size : off;
    if ((f = vss_source_ctx_if(src, &file_ops))) {
        hole_map *m = atomic_load_explicit(&f->map, memory_order_acquire);
        size_t a;
        if (!m && !(m = file_map_publish(f))) /* list the holes now */
            return off;
        if (off >= m->mapped_end)
            return off;
        a = first_extent_after(m, off);
        if (a == m->nextents)
            return m->mapped_end < src->size ? m->mapped_end : src->size;
        return m->extents[2 * a] > off ? m->extents[2 * a] : off;
    }
    if ((r = vss_source_ctx_if(src, &range_ops))) {
        uint64_t at, next;
        if (add_overflows(r->offset, off, &at))
            return off;
        next = vss_source_next_data(r->parent, at);
        return next - r->offset < src->size ? next - r->offset : src->size;
    }
    return ct_source_next_data(src, off);
}

int vss_source_open_range(vss_source *parent, uint64_t offset, uint64_t size,
                          vss_source **out, vss_error *err)
{
    char name[300];
    range_ctx *r;
    uint64_t end;

    *out = NULL;
    if (!parent)
        return vss_fail(err, VSS_EINVAL, "range source: no parent");
    if (add_overflows(offset, size, &end))
        return vss_fail(err, VSS_EINVAL,
                        "range source: offset %llu + size %llu overflows",
                        (unsigned long long)offset, (unsigned long long)size);
    r = vss_malloc(sizeof *r);
    if (!r)
        return vss_fail(err, VSS_ENOMEM, "range source: out of memory");
    vss_source_retain(parent);
    r->parent = parent;
    r->offset = offset;
    snprintf(name, sizeof name, "%s@%llu", parent->name,
             (unsigned long long)offset);
    return vss_source_new(&range_ops, r, size, name, out, err);
}

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

#include "internal.h"

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

typedef struct file_ctx {
    int fd;
} file_ctx;

static int64_t file_read_at(void *ctx, void *buf, size_t len, uint64_t off)
{
    file_ctx *f = ctx;
    size_t done = 0;

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
    /* Evidence is never opened for writing. */
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return vss_fail(err, errno == ENOENT ? VSS_ENOTFOUND : VSS_EIO,
                        "%s: cannot open: %s", path, strerror(errno));
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return vss_fail(err, VSS_EIO, "%s: cannot stat: %s", path,
                        strerror(e));
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
    f = vss_malloc(sizeof *f);
    if (!f) {
        close(fd);
        return vss_fail(err, VSS_ENOMEM, "%s: out of memory", path);
    }
    f->fd = fd;
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

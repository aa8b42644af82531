/*
 * extract.c — write one shadow copy of a disk image out as a raw volume
 * image, exactly as Windows' shadow copy device shows it:
 *
 *     ./extract disk.img 2 snap2.raw
 *     ./extract volume.img storage.img 1 snap1.raw
 *
 * The images are opened as one volume set (vss_volume_set_open): every
 * volume of every image is found, and a volume whose snapshots' data lives
 * on another volume ("redirected storage"; on the same disk or on a
 * further image) is paired with it by the GUID in their VSS headers. The
 * snapshot (1 = the oldest) is taken from the first image's only volume
 * with snapshots (vss_volume_set_pick). The output is sparse: zero pages
 * become holes, so a mostly empty 100 GiB volume takes little disk space.
 * An existing OUTPUT is never overwritten (it might be evidence).
 *
 * Build: cc extract.c $(pkg-config --cflags --libs libvss) -o extract
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <vss.h>

#define CHUNK (1u << 20) /* bytes read per call */
#define PAGE 4096u       /* holes are made of whole zero pages */

static int fail(const char *what, const char *why)
{
    fprintf(stderr, "extract: %s: %s\n", what, why);
    return 1;
}

static int all_zero(const unsigned char *p, size_t n)
{
    return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

static int write_at(int fd, const unsigned char *p, size_t n, uint64_t off)
{
    while (n > 0) {
        ssize_t k = pwrite(fd, p, n, (off_t)off);
        if (k <= 0)
            return -1;
        p += k, n -= (size_t)k, off += (uint64_t)k;
    }
    return 0;
}

/* Write len bytes read at off, leaving out their zero pages (holes). */
static int write_sparse(int fd, const unsigned char *buf, size_t len,
                        uint64_t off)
{
    size_t run = 0, i; /* run: first byte not yet written or skipped */
    for (i = 0; i < len; i += PAGE) {
        size_t n = len - i < PAGE ? len - i : PAGE;
        if (!all_zero(buf + i, n))
            continue; /* joins the run of data pages, written below */
        if (i > run && write_at(fd, buf + run, i - run, off + run))
            return -1;
        run = i + n;
    }
    return len > run ? write_at(fd, buf + run, len - run, off + run) : 0;
}

/* The whole snapshot into fd; the final size set even if it ends in a hole. */
static int copy_snapshot(vss_snapshot *snap, int fd)
{
    uint64_t size = vss_snapshot_size(snap), off = 0;
    unsigned char *buf = malloc(CHUNK);
    vss_error err;
    if (!buf)
        return fail("memory", "exhausted");
    while (off < size) {
        size_t want = size - off < CHUNK ? (size_t)(size - off) : CHUNK;
        /* Any offset and length may be read; short only at the end. */
        int64_t got = vss_snapshot_read_at(snap, buf, want, off, &err);
        if (got <= 0) {
            free(buf);
            return fail("read", got < 0 ? err.message : "unexpected end");
        }
        if (write_sparse(fd, buf, (size_t)got, off)) {
            free(buf);
            return fail("write", "failed");
        }
        off += (uint64_t)got;
    }
    free(buf);
    return ftruncate(fd, (off_t)size) ? fail("write", "cannot set size") : 0;
}

int main(int argc, char **argv)
{
    vss_volume_set *set = NULL;
    const vss_volume_set_entry *v;
    vss_snapshot *snap = NULL;
    vss_error err;
    size_t pick;
    int fd, rc = 1;
    char *end = NULL;
    long index = argc >= 4 ? strtol(argv[argc - 2], &end, 10) : 0;

    if (argc < 4 || *end || index < 1 || index > 1000000) {
        fprintf(stderr, "usage: %s IMAGE [STORAGE_IMAGE...] SNAPSHOT OUTPUT\n",
                argv[0]);
        return 2;
    }
    /* Every image in its container (raw, split, E01, qcow2, VHD, VHDX). */
    if (vss_volume_set_open((const char *const *)argv + 1, (size_t)argc - 3,
                            NULL, &set, &err) ||
        vss_volume_set_pick(set, -1, 512, &pick, &err)) {
        fail(argv[1], err.message);
        goto out;
    }
    v = vss_volume_set_get(set, pick);
    if (!v->volume) { /* its shadow copy metadata did not open */
        fail(argv[1], v->error.message);
        goto out;
    }
    /* VSS_FILL_WINDOWS: blocks not in use at snapshot time read as Windows
     * returns them (zeros on Windows 8+). A snapshot number past the last,
     * or storage still missing (VSS_ENOSTORAGE: its image not given),
     * fails here. */
    if (vss_snapshot_open(v->volume, (int)index, VSS_FILL_WINDOWS, &snap,
                          &err)) {
        fail(argv[argc - 2], err.message);
        goto out;
    }
    /* O_EXCL: refuse an existing file rather than overwrite it. */
    fd = open(argv[argc - 1], O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0) {
        perror(argv[argc - 1]);
        goto out;
    }
    rc = copy_snapshot(snap, fd);
    if (close(fd) != 0 && rc == 0)
        rc = fail(argv[argc - 1], "close failed");
    if (rc)
        unlink(argv[argc - 1]); /* ours (O_EXCL) and incomplete */
out:
    vss_snapshot_close(snap);
    vss_volume_set_close(set); /* the snapshot holds what it still reads */
    return rc;
}

/*
 * fuzz_multi.c — evidence containers made of several files: EWF segment
 * sets, split raw in both naming schemes, and images over a backing file or
 * parent (qcow2 overlays, differencing VHD/VHDX) given by path or as an
 * open source. fuzz_container.c has the single-file cases.
 *
 * Input: byte 0 picks the layout (mod 5), byte 1 the number of parts
 * (1 + byte % 8), then each part but the last as u32 LE length + bytes, and
 * the last part is the rest. A part is a file as fz_container.h describes
 * (the bytes, or their "FZSP" sparse form). The files go to a directory of
 * our own under /dev/shm (or $TMPDIR), emptied before every input:
 *
 *   0  EWF segments        img.E01 img.E02 ...     open img.E01
 *   1  split raw, numbers  img.001 img.002 ...     open img.001
 *   2  split raw, letters  img.aa img.ab ...       open img.aa
 *   3  backing by path     img + parent.001 ...    open img, backing_path
 *                                                  parent.001 (the parent
 *                                                  is any container, split
 *                                                  when it has parts)
 *   4  backing as a source img + parent.001 ...    the parent opened first
 *                                                  (vss_source_open_image),
 *                                                  passed as opts.backing
 *
 * Invariants: fz_container.h's for the image (and for the parent of
 * layout 4), and: a segment set never counts more segments than there are
 * files, nor stores more bytes than the files hold.
 */
#include <fcntl.h>
#include <sys/stat.h>

#include "fz_container.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MF_MAX_PARTS 8

static char mf_dir[64];
static char mf_made[MF_MAX_PARTS][96];
static int mf_nmade;

static void mf_cleanup(void)
{
    for (int i = 0; i < mf_nmade; i++)
        unlink(mf_made[i]);
    mf_nmade = 0;
    if (mf_dir[0])
        rmdir(mf_dir);
}

static void mf_setup(void)
{
    const char *t = getenv("TMPDIR");
    struct stat st;
    if (mf_dir[0])
        return;
    if (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode))
        t = "/dev/shm";
    snprintf(mf_dir, sizeof mf_dir, "%s/fuzz_multi.XXXXXX", t ? t : "/tmp");
    if (!mkdtemp(mf_dir)) {
        perror("mkdtemp");
        abort();
    }
    atexit(mf_cleanup);
}

/* The name of part i of a set called base in layout. */
static void mf_name(char *out, size_t cap, int layout, const char *base,
                    int i)
{
    if (layout == 0)
        snprintf(out, cap, "%s/%s.E%02d", mf_dir, base, i + 1);
    else if (layout == 2)
        snprintf(out, cap, "%s/%s.a%c", mf_dir, base, 'a' + i);
    else
        snprintf(out, cap, "%s/%s.%03d", mf_dir, base, i + 1);
}

static int mf_write(const char *path, const uint8_t *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int rc;
    if (fd < 0)
        return -1;
    snprintf(mf_made[mf_nmade++], sizeof mf_made[0], "%s", path);
    rc = ct_write_part(fd, p, n);
    close(fd);
    return rc;
}

/* Open path (with opts), check it, and return the source or NULL. */
static vss_source *mf_open(const char *path, const vss_image_options *opts,
                           uint64_t seed)
{
    vss_source *src = NULL;
    vss_error err = {0};
    int rc = vss_source_open_image(path, opts, &src, &err);
    fz_check_error(rc, &err);
    if (getenv("FZ_VERBOSE"))
        fprintf(stderr, "open %s: %d %s\n", path, rc, rc ? err.message : "");
    if (rc) {
        FZ_ASSERT(src == NULL, "source left on error");
        return NULL;
    }
    ct_check_image(src, seed);
    return src;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *part[MF_MAX_PARTS];
    size_t plen[MF_MAX_PARTS], pos = 2;
    uint64_t seed = fz_hash(data, size < 4096 ? size : 4096), stored = 0;
    char path[96], parent[96];
    int layout, nparts;
    vss_source *src = NULL, *par = NULL;
    vss_image_options opts = {0};

    if (size < 2)
        return 0;
    mf_setup();
    for (int i = 0; i < mf_nmade; i++)
        unlink(mf_made[i]);
    mf_nmade = 0;

    layout = data[0] % 5;
    nparts = 1 + data[1] % MF_MAX_PARTS;
    for (int i = 0; i < nparts; i++) {
        size_t n = size - pos;
        if (i < nparts - 1) {
            if (n < 4)
                return 0;
            n = fz_le32(data + pos);
            pos += 4;
            if (n > size - pos)
                n = size - pos;
        }
        part[i] = data + pos;
        plen[i] = n;
        pos += n;
    }

    if (layout <= 2) {
        for (int i = 0; i < nparts; i++) {
            mf_name(path, sizeof path, layout, "img", i);
            if (mf_write(path, part[i], plen[i]))
                return 0;
        }
        for (int i = 0; i < nparts; i++) {
            struct stat st;
            mf_name(path, sizeof path, layout, "img", i);
            if (stat(path, &st) == 0)
                stored += (uint64_t)st.st_size;
        }
        mf_name(path, sizeof path, layout, "img", 0);
        src = mf_open(path, NULL, seed);
        if (src) {
            vss_container_info info;
            vss_error err = {0};
            FZ_ASSERT(vss_source_container_info(src, &info, &err) == 0,
                      "info: %s", err.message);
            FZ_ASSERT(info.segments >= 1 && info.segments <= (uint32_t)nparts,
                      "%u segments from %d files", info.segments, nparts);
            FZ_ASSERT(info.stored_size <= stored,
                      "stored size %llu of %llu bytes in the files",
                      (unsigned long long)info.stored_size,
                      (unsigned long long)stored);
        }
        vss_source_release(src);
        return 0;
    }

    /* An image over a parent: part 0 is the image, the rest the parent
     * (one file, or a split raw set). */
    snprintf(path, sizeof path, "%s/img", mf_dir);
    if (mf_write(path, part[0], plen[0]))
        return 0;
    for (int i = 1; i < nparts; i++) {
        mf_name(parent, sizeof parent, 1, "parent", i - 1);
        if (mf_write(parent, part[i], plen[i]))
            return 0;
    }
    mf_name(parent, sizeof parent, 1, "parent", 0);
    if (layout == 3) {
        opts.backing_path = parent;
    } else {
        par = mf_open(parent, NULL, seed ^ 1);
        if (!par)
            return 0;
        opts.backing = par;
    }
    src = mf_open(path, &opts, seed);
    if (par) {
        /* The image keeps its own reference: the parent stays readable
         * through it after ours is gone. */
        vss_source_release(par);
        if (src)
            ct_check_image(src, seed ^ 2);
    }
    vss_source_release(src);
    return 0;
}

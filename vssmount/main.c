/*
 * vssmount — mount the shadow copies of Windows disk images with FUSE 3
 * (docs/vssmount.1). Thin glue over the public libvss API:
 *
 *   vssmount [-o OFFSET] IMAGE... MOUNTPOINT       vss1 ... vssN: each
 *       snapshot's raw volume, exactly what `vssinfo --extract N` writes
 *   vssmount -s N [-o OFFSET] IMAGE... MOUNTPOINT  snapshot N's NTFS tree
 *   vssmount -s all ...                            vss1/ ... vssN/ live/:
 *       every snapshot's tree and the live volume's, side by side
 *
 * Everything is read-only: the kernel mount is "ro" and every call that
 * could change something answers EROFS. All input is checked and opened
 * before mounting, so bad arguments fail with a message, not a dead mount.
 *
 * What the snapshot did not preserve is never served silently: every file
 * of a tree carries the extended attributes user.vss.status, user.vss.lost
 * and user.vss.provenance (from vss_fs_file_provenance), and --strict makes
 * reads of those bytes fail with EIO.
 * Exit codes (tools/cli.h, as vssinfo): 0 success, 1 failure, 2 bad usage,
 * 3 no volume with shadow copies.
 */
#define FUSE_USE_VERSION 35

#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <fuse_lowlevel.h>
#include <getopt.h>
#include <linux/fuse.h> /* fuse_in_header: the turn rule reads requests */
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"  /* messages and exit statuses shared with vssinfo */
#include "fuse_ring.h"
#include "vss.h"

static const char usage_text[] =
    "Usage: vssmount [OPTIONS] IMAGE [IMAGE...] MOUNTPOINT\n"
    "Mount the Volume Shadow Copies of Windows disk images read-only.\n"
    "\n"
    "  (default)                vss1 ... vssN: the raw volume of each snapshot\n"
    "  -s, --snapshot N         the NTFS files of snapshot N instead (named\n"
    "                           streams appear as FILE:STREAM)\n"
    "  -s all                   every snapshot's files and the live volume's:\n"
    "                           vss1/ ... vssN/ live/\n"
    "  -o, --offset OFFSET      the volume at this offset of the first IMAGE: bytes,\n"
    "                           or 512-byte sectors as 'Ns' (mmls's start)\n"
    "  --carved                 mount the stack carved from the volume's deleted\n"
    "                           snapshots (vssinfo --carve; -o picks the volume)\n"
    "  --strict                 reads of bytes the snapshot did not preserve\n"
    "                           (class zero or stale) fail with EIO\n"
    "  --fill=windows|zero|live what not-in-use blocks read as (default windows)\n"
    "  --page-cache             keep what was read in the kernel's page cache\n"
    "                           (re-reads are then fast, see vssmount(1));\n"
    "                           default: direct reads\n"
    "  --readahead KIB          with --page-cache: the mount's read-ahead window\n"
    "                           when vssmount may set it (root): default 1024;\n"
    "                           0 keeps the kernel's\n"
    "  --poll-us N              after a small read, poll for the next request\n"
    "                           for up to N microseconds before sleeping\n"
    "                           (default 50; 0: never poll)\n"
    "  --io-uring               answer requests through the kernel's FUSE over\n"
    "                           io_uring, on the CPU that asked (Linux 6.14+,\n"
    "                           root switches it on: see vssmount(1))\n"
    "  -f                       stay in the foreground\n"
    "  -d                       foreground, with FUSE debug output\n"
    "  --allow-other            let other users read the mount (needs\n"
    "                           user_allow_other in /etc/fuse.conf)\n"
    "  -h, --help               this help;  -V, --version  the version\n"
    "\n"
    "Files carry the extended attributes user.vss.status, user.vss.lost and\n"
    "user.vss.provenance (getfattr -d -m user.vss FILE).\n"
    "Further IMAGEs are searched for volumes holding redirected shadow copy\n"
    "storage. Unmount with: fusermount3 -u MOUNTPOINT\n";

/* ---- state shared by the FUSE callbacks --------------------------------- */

/* Inode numbers (use_ino). A tree entry's inode is its MFT record number
 * (bits 0-47, NTFS record numbers are 48 bits), with the ordinal of a named
 * stream among its file's named streams in bits 48-55 (FILE:STREAM entries
 * are not hard links of FILE) and the tree's number in bits 56-63: 0 with
 * -s N (so inode = record number), 1..N for vss1..vssN and N+1 for live/
 * with -s all. Record 0 ($MFT) of tree 0 would be inode 0, which readdir
 * callers skip as an empty slot: it gets INO_MFT, the largest 48-bit record
 * number, which no volume can reach (its MFT would be 2^48 records). */
#define INO_RECORD_MASK UINT64_C(0x0000FFFFFFFFFFFF)
#define INO_MFT INO_RECORD_MASK
#define INO_STREAM_SHIFT 48
#define INO_TREE_SHIFT 56
#define INO_MAX_STREAM 255u
#define MAX_TREES 255      /* tree numbers fit in 8 bits */
#define INO_TOP 1          /* the top directory of -s all and raw mode */

/* st_blksize of files: tools such as cat and cp read that much at a time.
 * With direct I/O every read(2) is a round trip to the daemon, and a
 * 1 MiB one is two requests (READ_MAX) answered in parallel: the large
 * scenario's snapshot files through cat into a pipe ran at 0.79-0.82 GB/s
 * with it against 0.55-0.74 with 64 KiB (cat then reads 128 KiB); into
 * /dev/null alike, 1.1-1.5 GB/s. */
#define IO_SIZE (1 << 20)

typedef enum { MODE_RAW, MODE_TREE, MODE_ALL } mount_mode;

/* One NTFS tree: a snapshot's, or the live volume's (snap NULL). */
typedef struct tree {
    char name[16];        /* "vss3", "live" (-s all); "" with -s N */
    uint64_t ino_base;    /* tree number << INO_TREE_SHIFT */
    vss_snapshot *snap;   /* NULL: the live volume */
    vss_source *volume;   /* the bytes vss_fs_open mounts */
    vss_fs *fs;           /* opened on first use (lazily with -s all) */
    int open_rc;          /* the first vss_fs_open failure, kept */
} tree;

typedef struct mount_state {
    mount_mode mode;
    int strict;           /* --strict */
    int page_cache;       /* --page-cache */
    int nsnap;
    vss_snapshot **snaps; /* raw mode: index 0 = vss1 */
    uint64_t *sizes;
    tree *trees;          /* MODE_TREE: one; MODE_ALL: vss1..vssN, live */
    int ntrees;
    pthread_mutex_t open_lock; /* lazy vss_fs_open */
    int debug;
    uid_t uid;
    gid_t gid;
    struct timespec mount_time;
} mount_state;

static mount_state G;

static int to_errno(int code)
{
    switch (code) {
    case VSS_OK: return 0;
    case VSS_ENOTFOUND: return ENOENT;
    case VSS_EINVAL: return EINVAL;
    case VSS_ENOMEM: return ENOMEM;
    case VSS_EUNSUPPORTED: return EOPNOTSUPP;
    default: return EIO;  /* VSS_EIO, VSS_ECORRUPT, VSS_ENOSTORAGE */
    }
}

static int report(int code, const vss_error *e)
{
    if (G.debug && e->message[0])
        fprintf(stderr, "vssmount: %s\n", e->message);
    return -to_errno(code);
}

static struct timespec filetime_ts(uint64_t ft)
{
    struct timespec ts;
    int64_t secs = (int64_t)(ft / 10000000u) - INT64_C(11644473600);
    ts.tv_sec = (time_t)secs;
    ts.tv_nsec = (long)(ft % 10000000u) * 100;
    return ts;
}

/* "/vss12" → 12, or 0 when the name is not one of ours. */
static int raw_index(const char *path)
{
    char *end;
    long v;
    if (strncmp(path, "/vss", 4) != 0 || !path[4] || path[4] == '0')
        return 0;
    errno = 0;
    v = strtol(path + 4, &end, 10);
    if (errno || *end || v < 1 || v > G.nsnap)
        return 0;
    return (int)v;
}

/* The tree's vss_fs, mounted on first use. A failure is kept: the tree
 * then answers every call with it. */
static vss_fs *tree_fs(tree *t, vss_error *e, int *rc)
{
    vss_fs *fs;
    pthread_mutex_lock(&G.open_lock);
    if (!t->fs && !t->open_rc) {
        *rc = vss_fs_open(t->volume, &t->fs, e);
        if (*rc)
            t->open_rc = *rc;
    } else if (!t->fs) {
        *rc = t->open_rc;
        snprintf(e->message, sizeof e->message, "%s: the NTFS volume "
                 "could not be opened", t->name);
    }
    fs = t->fs;
    pthread_mutex_unlock(&G.open_lock);
    return fs;
}

/* Where a mount path lies: its tree and the path inside it ("/" for the
 * tree's root). NULL for the top directory of -s all (*sub = "/") and for
 * names that are not ours (*sub = NULL). */
static tree *resolve(const char *path, const char **sub)
{
    int i;
    if (G.mode == MODE_TREE) {
        *sub = path;
        return &G.trees[0];
    }
    *sub = NULL;
    if (strcmp(path, "/") == 0) {
        *sub = "/";
        return NULL;
    }
    for (i = 0; i < G.ntrees; i++) {
        size_t n = strlen(G.trees[i].name);
        if (path[0] == '/' && strncmp(path + 1, G.trees[i].name, n) == 0 &&
            (path[n + 1] == '/' || !path[n + 1])) {
            *sub = path[n + 1] ? path + n + 1 : "/";
            return &G.trees[i];
        }
    }
    return NULL;
}

static uint64_t inode_of(const tree *t, uint64_t record, unsigned stream)
{
    uint64_t ino = t->ino_base |
                   ((uint64_t)(stream > INO_MAX_STREAM ? INO_MAX_STREAM
                                                       : stream)
                    << INO_STREAM_SHIFT) |
                   (record & INO_RECORD_MASK);
    return ino ? ino : INO_MFT;
}

/* "DIR/FILE:STREAM" → the stream's name, or NULL when the last component
 * names no stream (NTFS names cannot hold ':'). */
static const char *stream_part(const char *path)
{
    const char *last = strrchr(path, '/');
    return strchr(last ? last : path, ':');
}

/* The ordinal (1-based) of a named stream among its file's named streams,
 * in vss_fs_streams order: the stream bits of its inode. */
static unsigned stream_ordinal(vss_fs *fs, const char *path)
{
    const char *colon = stream_part(path);
    vss_fs_stream *ss = NULL;
    size_t ns = 0, k;
    unsigned ord = 0, found = 0;
    vss_error e = {0};
    char *file;
    if (!colon)
        return 0;
    file = strndup(path, (size_t)(colon - path));
    if (!file)
        return INO_MAX_STREAM;
    if (vss_fs_streams(fs, file, &ss, &ns, &e) == VSS_OK) {
        for (k = 0; k < ns && !found; k++) {
            if (!ss[k].name[0])
                continue;
            ord++;
            if (strcmp(ss[k].name, colon + 1) == 0)
                found = ord;
        }
        vss_fs_streams_free(ss, ns);
    }
    free(file);
    return found ? found : INO_MAX_STREAM;
}

static void fill_stat(struct stat *st, const vss_fs_stat *fst, const tree *t,
                      unsigned stream)
{
    memset(st, 0, sizeof *st);
    st->st_uid = G.uid;
    st->st_gid = G.gid;
    if (fst->is_directory && !fst->is_stream) {
        st->st_mode = S_IFDIR | 0555;
        st->st_nlink = 2;
    } else {
        st->st_mode = S_IFREG | 0444;
        st->st_nlink = fst->link_count && !fst->is_stream ? fst->link_count
                                                          : 1;
        st->st_size = (off_t)fst->size;
        st->st_blocks = (blkcnt_t)((fst->allocated_size + 511) / 512);
    }
    st->st_ino = inode_of(t, fst->mft_record, stream);
    st->st_blksize = IO_SIZE;
    st->st_mtim = filetime_ts(fst->modification_time);
    st->st_atim = filetime_ts(fst->access_time);
    st->st_ctim = filetime_ts(fst->mft_change_time);
}

static void fill_top(struct stat *st, uint64_t ino)
{
    memset(st, 0, sizeof *st);
    st->st_uid = G.uid;
    st->st_gid = G.gid;
    st->st_mtim = st->st_atim = st->st_ctim = G.mount_time;
    st->st_mode = S_IFDIR | 0555;
    st->st_nlink = 2;
    st->st_ino = ino;
}

/* ---- what the snapshot did not preserve: xattrs and --strict ------------ */

/* The three attribute values of one inode, computed on first use and kept
 * in a small direct-mapped cache (bounded: CACHE_SLOTS entries, each value
 * at most XATTR_MAX bytes and CACHE_MAX_SPANS ranges). */
#define XATTR_STATUS "user.vss.status"
#define XATTR_LOST "user.vss.lost"
#define XATTR_PROV "user.vss.provenance"
#define XATTR_MAX 65536    /* the kernel's limit for one value */
#define CACHE_SLOTS 512
#define CACHE_MAX_SPANS 4096

typedef struct lost_span {
    uint64_t start, end;   /* file bytes [start, end) */
} lost_span;

typedef struct vss_info {
    uint64_t ino;
    char *path;            /* the mount path it was computed for: inodes
                              of streams past the 255th are shared */
    int is_dir;
    const char *status;    /* static string */
    char *lost;            /* "START-END CLASS REASON\n" lines */
    size_t lost_len;
    char *prov;            /* "CLASS BYTES\n" lines */
    size_t prov_len;
    lost_span *spans;      /* for --strict */
    size_t nspans;
} vss_info;

static vss_info *cache[CACHE_SLOTS];
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

static void info_free(vss_info *in)
{
    if (!in)
        return;
    free(in->path);
    free(in->lost);
    free(in->prov);
    free(in->spans);
    free(in);
}

/* printf onto the end of *buf (*len bytes used of *cap), growing it;
 * 0, or -1 when memory runs out. The format attribute has the compiler
 * check every caller's arguments against its format. */
static int append(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int append(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
    va_list ap;
    int n;
    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(*buf + *len, *cap - *len, fmt, ap);
        va_end(ap);
        if (n < 0)
            return -1;
        if ((size_t)n < *cap - *len)
            break;
        size_t nc = *cap * 2 + (size_t)n + 64;
        char *nb = realloc(*buf, nc);
        if (!nb)
            return -1;
        *buf = nb;
        *cap = nc;
    }
    *len += (size_t)n;
    return 0;
}

static int prov_text(const uint64_t bytes[5], char **out, size_t *len)
{
    size_t cap = 128;
    *len = 0;
    *out = malloc(cap);
    if (!*out ||
        append(out, len, &cap,
               "store %" PRIu64 "\nlive %" PRIu64 "\nzero %" PRIu64
               "\nstale %" PRIu64 "\nnone %" PRIu64 "\n",
               bytes[VSS_CLASS_STORE], bytes[VSS_CLASS_LIVE],
               bytes[VSS_CLASS_ZERO], bytes[VSS_CLASS_STALE], bytes[4]))
        return VSS_ENOMEM;
    return VSS_OK;
}

/* A file's (or FILE:STREAM's) values from the library's provenance. */
static int file_info(tree *t, vss_fs *fs, const char *sub, vss_info *in,
                     vss_error *e)
{
    vss_fs_file *f = NULL;
    vss_provenance p;
    const char *stream = stream_part(sub);
    size_t i, cap = 256, shown;
    int rc;

    memset(&p, 0, sizeof p);
    if ((rc = vss_fs_file_open(fs, sub, &f, e)) ||
        (rc = vss_fs_file_provenance(t->snap, fs, f,
                                     stream ? stream + 1 : "", &p, e))) {
        vss_fs_file_close(f);
        return rc;
    }
    vss_fs_file_close(f);
    in->status = vss_status_name(vss_provenance_status(&p));
    rc = prov_text(p.bytes, &in->prov, &in->prov_len);
    in->lost = malloc(cap);
    in->spans = calloc(p.lost_count ? p.lost_count : 1, sizeof *in->spans);
    if (rc || !in->lost || !in->spans) {
        vss_provenance_free(&p);
        return VSS_ENOMEM;
    }
    in->lost[0] = 0;
    for (i = 0; i < p.lost_count; i++) {
        in->spans[i].start = p.lost[i].offset;
        in->spans[i].end = p.lost[i].offset + p.lost[i].length;
    }
    in->nspans = p.lost_count;
    /* One line per range, as vssinfo --file prints them; a list longer
     * than the kernel allows one value to be ends saying so. */
    for (shown = 0; shown < p.lost_count; shown++) {
        const vss_lost_range *d = &p.lost[shown];
        size_t before = in->lost_len;
        if (append(&in->lost, &in->lost_len, &cap,
                   "%" PRIu64 "-%" PRIu64 " %s %s\n", d->offset,
                   d->offset + d->length, vss_class_name(d->cls),
                   vss_reason_name(d->reason)))
            break;
        if (in->lost_len > XATTR_MAX - 80) {
            in->lost_len = before;
            break;
        }
    }
    if (shown < p.lost_count)
        append(&in->lost, &in->lost_len, &cap,
               "... %zu more ranges: see vssinfo --file\n",
               p.lost_count - shown);
    vss_provenance_free(&p);
    return VSS_OK;
}

typedef struct class_seen {
    int zero, stale;
} class_seen;

static int note_class(const vss_run *r, void *user)
{
    class_seen *c = user;
    c->zero |= r->cls == VSS_CLASS_ZERO;
    c->stale |= r->cls == VSS_CLASS_STALE;
    return 0;
}

/* A directory has no data: its status says whether its MFT record was
 * preserved (zero bytes: damaged; stale bytes: unverified). */
static int dir_info(tree *t, vss_fs *fs, const char *sub, vss_info *in,
                    vss_error *e)
{
    vss_fs_stat st;
    class_seen c = {0, 0};
    int rc = vss_fs_stat_path(fs, sub, &st, e);
    if (rc)
        return rc;
    if (t->snap && st.record_offset != VSS_FS_NO_OFFSET &&
        (rc = vss_snapshot_map(t->snap, st.record_offset,
                               vss_fs_record_size(fs), note_class, &c, e)))
        return rc;
    in->status = c.zero ? "damaged" : c.stale ? "unverified" : "intact";
    in->is_dir = 1;
    return VSS_OK;
}

/* The values of `path` (a tree entry of inode ino), from the cache or
 * computed now. Returns a private copy (info_free) or NULL with *rc. */
static vss_info *info_get(tree *t, const char *path, const char *sub,
                          int is_dir, uint64_t ino, int *rc)
{
    vss_info *in, *copy;
    size_t slot = (size_t)(ino % CACHE_SLOTS);
    vss_error e = {0};
    vss_fs *fs;

    in = calloc(1, sizeof *in);
    if (!in) {
        *rc = -ENOMEM;
        return NULL;
    }
    pthread_mutex_lock(&cache_lock);
    if (cache[slot] && cache[slot]->ino == ino &&
        strcmp(cache[slot]->path, path) == 0) {
        vss_info *c = cache[slot];
        *in = *c;
        in->path = NULL;
        in->lost = c->lost ? malloc(c->lost_len + 1) : NULL;
        in->prov = c->prov ? malloc(c->prov_len + 1) : NULL;
        in->spans = malloc((c->nspans ? c->nspans : 1) * sizeof *c->spans);
        if ((c->lost && !in->lost) || (c->prov && !in->prov) || !in->spans) {
            pthread_mutex_unlock(&cache_lock);
            info_free(in);
            *rc = -ENOMEM;
            return NULL;
        }
        if (c->lost)
            memcpy(in->lost, c->lost, c->lost_len + 1);
        if (c->prov)
            memcpy(in->prov, c->prov, c->prov_len + 1);
        memcpy(in->spans, c->spans, c->nspans * sizeof *c->spans);
        pthread_mutex_unlock(&cache_lock);
        return in;
    }
    pthread_mutex_unlock(&cache_lock);

    in->ino = ino;
    if (!(fs = tree_fs(t, &e, rc))) {
        info_free(in);
        *rc = report(*rc, &e);
        return NULL;
    }
    *rc = is_dir ? dir_info(t, fs, sub, in, &e)
                 : file_info(t, fs, sub, in, &e);
    if (*rc) {
        info_free(in);
        *rc = report(*rc, &e);
        return NULL;
    }
    /* Keep a copy in the cache (the caller owns in); a file with very
     * many lost ranges is recomputed each time instead. */
    copy = in->nspans <= CACHE_MAX_SPANS ? calloc(1, sizeof *copy) : NULL;
    if (copy) {
        *copy = *in;
        copy->path = strdup(path);
        copy->lost = in->lost ? strdup(in->lost) : NULL;
        copy->prov = in->prov ? strdup(in->prov) : NULL;
        copy->spans = malloc((in->nspans ? in->nspans : 1) *
                             sizeof *in->spans);
        if (!copy->path || (in->lost && !copy->lost) ||
            (in->prov && !copy->prov) || !copy->spans) {
            info_free(copy);
        } else {
            if (in->nspans)  /* spans is NULL when nothing was lost */
                memcpy(copy->spans, in->spans,
                       in->nspans * sizeof *in->spans);
            pthread_mutex_lock(&cache_lock);
            info_free(cache[slot]);
            cache[slot] = copy;
            pthread_mutex_unlock(&cache_lock);
        }
    }
    return in;
}

/* Raw mode: bytes per class of a whole snapshot volume (vss_snapshot_map),
 * computed once per snapshot. */
static char **raw_prov;
static size_t *raw_prov_len;

static int sum_class(const vss_run *r, void *user)
{
    uint64_t *bytes = user;
    if ((unsigned)r->cls < 4)
        bytes[r->cls] += r->length;
    return 0;
}

static int raw_info(int i, const char **val, size_t *len)
{
    int rc = 0;
    pthread_mutex_lock(&cache_lock);
    if (!raw_prov[i - 1]) {
        uint64_t bytes[5] = {0, 0, 0, 0, 0};
        vss_error e = {0};
        rc = vss_snapshot_map(G.snaps[i - 1], 0, G.sizes[i - 1], sum_class,
                              bytes, &e);
        if (rc)
            rc = report(rc, &e);
        else if (prov_text(bytes, &raw_prov[i - 1], &raw_prov_len[i - 1]))
            rc = -ENOMEM;
    }
    *val = raw_prov[i - 1];
    *len = raw_prov_len[i - 1];
    pthread_mutex_unlock(&cache_lock);
    return rc;
}

/* Does [off, off+len) touch a byte the snapshot did not preserve? */
static int touches_lost(const lost_span *s, size_t n, uint64_t off,
                        uint64_t len)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (s[i].start < off + len && off < s[i].end)
            return 1;
    return 0;
}

static int note_lost(const vss_run *r, void *user)
{
    (void)user;
    return r->cls == VSS_CLASS_ZERO || r->cls == VSS_CLASS_STALE;
}

/* ---- the fast read path: bytes spliced from the image file ------------- */

/*
 * A raw snapshot's bytes are, run by run (vss_snapshot_map), ranges of the
 * live volume, ranges of the storage volume, or zeros. When the volume is
 * in a plain raw image file, each run is a range of that file: a read is
 * answered with a list of (file descriptor, offset, length) pieces and
 * libfuse moves them with splice(2) from the image's page cache to
 * /dev/fuse, so the bytes are never copied through this process (read
 * requests of 8 KiB and more; smaller ones libfuse preads). Zero runs come
 * from a sparse memfd, never written, whose pages are all holes. Anything
 * else (containers, runs past the end of the file, more pieces than fit)
 * takes the library's read path, vss_snapshot_read_at. Files of a tree
 * (-s) go the same way through their extents (tree_piece_list).
 */
typedef struct file_range {
    int fd;               /* -1: not a plain file (no splicing) */
    uint64_t base;        /* the volume's first byte in the file */
    uint64_t limit;       /* the file's size */
} file_range;

#define SPLICE_MAX_PIECES 64
/* The largest read request: libfuse splices a reply through a pipe, which
 * holds at most /proc/sys/fs/pipe-max-size (1 MiB by default, 256 page
 * slots); a 1 MiB reply (header, and an unaligned range spans one page
 * more) does not fit and libfuse falls back to copying it through a
 * buffer, which measured several times slower. 512 KiB always fits. */
#define READ_MAX (512u * 1024)
#define ZERO_FD_SIZE (UINT64_C(16) << 20) /* > the largest FUSE read */

static struct {
    int on;
    file_range live;      /* the snapshots' volume */
    file_range storage;   /* where the stores are (the same when local) */
    int zero_fd;
} Splice = {0, {-1, 0, 0}, {-1, 0, 0}, -1};

/* The plain file (or block device) holding a volume set entry's bytes,
 * opened O_RDONLY; fd -1 when it is a container, or when what the path
 * names now is not the size the library opened (replaced meanwhile). */
static file_range plain_file_of(vss_volume_set *set,
                                const vss_volume_set_entry *fe)
{
    file_range r = {-1, 0, 0};
    vss_container_info ci;
    vss_error e = {0};
    off_t end;
    vss_source *img = vss_volume_set_image(set, fe->image_index);
    if (!img || vss_source_container_info(img, &ci, &e) != VSS_OK ||
        ci.type != VSS_CONTAINER_RAW)
        return r;
    r.fd = open(fe->image, O_RDONLY | O_CLOEXEC);
    if (r.fd < 0)
        return r;
    end = lseek(r.fd, 0, SEEK_END);  /* st_size is 0 for block devices */
    if (end < 0 || (uint64_t)end != vss_source_size(img)) {
        close(r.fd);
        r.fd = -1;
        return r;
    }
    r.base = fe->part.offset;
    r.limit = (uint64_t)end;
    return r;
}

/* Splicing for the volume of entry fv; off when either its volume or its
 * store volume is not in a plain file (the library reads those). */
static void splice_setup(vss_volume_set *set, const vss_volume_set_entry *fv)
{
    vss_source *storage = vss_volume_storage_source(fv->volume);
    size_t i, n = vss_volume_set_count(set);
    Splice.live = plain_file_of(set, fv);
    Splice.storage = Splice.live;
    if (storage && storage != fv->source) {
        Splice.storage.fd = -1;
        for (i = 0; i < n; i++) {
            const vss_volume_set_entry *x = vss_volume_set_get(set, i);
            if (x->source == storage) {
                Splice.storage = plain_file_of(set, x);
                break;
            }
        }
    }
    Splice.zero_fd = memfd_create("vssmount-zeros", MFD_CLOEXEC);
    if (Splice.zero_fd >= 0 &&
        ftruncate(Splice.zero_fd, (off_t)ZERO_FD_SIZE) != 0) {
        close(Splice.zero_fd);
        Splice.zero_fd = -1;
    }
    Splice.on = Splice.live.fd >= 0 && Splice.storage.fd >= 0 &&
                Splice.zero_fd >= 0;
}

static void splice_close(void)
{
    if (Splice.storage.fd >= 0 && Splice.storage.fd != Splice.live.fd)
        close(Splice.storage.fd);
    if (Splice.live.fd >= 0)
        close(Splice.live.fd);
    if (Splice.zero_fd >= 0)
        close(Splice.zero_fd);
    Splice.live.fd = Splice.storage.fd = Splice.zero_fd = -1;
    Splice.on = 0;
}

typedef struct handle handle;
/* An open file: the stream, and with --strict its lost byte ranges. */
struct handle {
    vss_fs_file *f;        /* tree modes */
    tree *t;               /* its tree */
    vss_fs_extent *ext;    /* tree modes: where the stream's bytes are on
                              the volume, when they can be spliced */
    size_t n_ext;
    int raw;               /* raw mode: vssN */
    lost_span *spans;
    size_t nspans;
};

typedef struct piece_list {
    struct fuse_buf buf[SPLICE_MAX_PIECES];
    size_t n;
} piece_list;

/* One run of the map as a piece; non-zero stops the walk (the request
 * then takes the library's path). */
static int add_run_piece(const vss_run *r, void *user)
{
    piece_list *pl = user;
    const file_range *fr;
    struct fuse_buf *b;
    if (pl->n == SPLICE_MAX_PIECES)
        return 1;
    b = &pl->buf[pl->n];
    memset(b, 0, sizeof *b);
    b->size = (size_t)r->length;
    b->flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK | FUSE_BUF_FD_RETRY;
    if (r->cls == VSS_CLASS_ZERO) {
        if (r->length > ZERO_FD_SIZE)
            return 1;
        b->fd = Splice.zero_fd;
        b->pos = 0;
    } else {
        /* store_index > 0: a store's copy (STORE, or STALE from a newer
         * store) on the storage volume; else the live volume. */
        fr = r->store_index > 0 ? &Splice.storage : &Splice.live;
        if (r->source_offset > fr->limit - fr->base ||
            r->length > fr->limit - fr->base - r->source_offset ||
            fr->base > fr->limit)
            return 1;  /* past the file's end: the library decides */
        b->fd = fr->fd;
        b->pos = (off_t)(fr->base + r->source_offset);
    }
    pl->n++;
    return 0;
}

/* The pieces of [off, off+size) of raw snapshot i (1-based) into pl: 0,
 * or -1 when this read must take the library's path. */
static int raw_piece_list(int i, size_t size, off_t off, piece_list *pl)
{
    uint64_t end, vsize = G.sizes[i - 1];
    vss_error e = {0};
    pl->n = 0;
    if ((uint64_t)off >= vsize)
        return -1;
    end = vsize - (uint64_t)off < size ? vsize : (uint64_t)off + size;
    if (vss_snapshot_map(G.snaps[i - 1], (uint64_t)off, end - (uint64_t)off,
                         add_run_piece, pl, &e) != VSS_OK || !pl->n)
        return -1;
    return 0;
}

/* The stream's extents when its bytes are plain volume ranges (not
 * resident, compressed or encrypted: those the library decodes), else
 * NULL. Taken once per open. */
static vss_fs_extent *splice_extents(vss_fs_file *f, size_t *n)
{
    vss_fs_extent *ext = NULL;
    vss_fs_stat st;
    vss_error e = {0};
    size_t i;
    *n = 0;
    if (!Splice.on || vss_fs_file_stat(f, &st, &e) != VSS_OK ||
        (st.attributes & 0x4000u) ||  /* FILE_ATTRIBUTE_ENCRYPTED */
        vss_fs_file_extents(f, &ext, n, &e) != VSS_OK)
        return NULL;
    for (i = 0; i < *n; i++)
        if (ext[i].flags & (VSS_EXTENT_RESIDENT | VSS_EXTENT_COMPRESSED)) {
            vss_fs_extents_free(ext);
            *n = 0;
            return NULL;
        }
    return ext;
}

/* As add_run_piece, for volume bytes of the live volume itself. */
static int add_live_piece(uint64_t volume_offset, uint64_t length,
                          piece_list *pl)
{
    vss_run r;
    memset(&r, 0, sizeof r);
    r.cls = VSS_CLASS_LIVE;
    r.offset = r.source_offset = volume_offset;
    r.length = length;
    return add_run_piece(&r, pl);
}

/* The pieces of [off, off+size) of an open tree stream into pl: its
 * extents, each mapped through the snapshot (or read from the live
 * volume); sparse and never-written (past the initialized size) bytes are
 * zeros. 0, or -1: the library's path. */
static int tree_piece_list(handle *h, size_t size, off_t off, piece_list *pl)
{
    uint64_t pos = (uint64_t)off, end, fsize = vss_fs_file_size(h->f);
    vss_error e = {0};
    size_t i;
    pl->n = 0;
    if (!h->ext || pos >= fsize)
        return -1;
    end = fsize - pos < size ? fsize : pos + size;
    for (i = 0; i < h->n_ext && pos < end; i++) {
        const vss_fs_extent *x = &h->ext[i];
        uint64_t from, to;
        if (x->file_offset + x->length <= pos)
            continue;
        if (x->file_offset > pos)
            return -1;  /* a gap: never, extents cover the stream */
        from = pos - x->file_offset;
        to = end - x->file_offset < x->length ? end - x->file_offset
                                                : x->length;
        if (x->flags & (VSS_EXTENT_SPARSE | VSS_EXTENT_UNINIT)) {
            vss_run z;
            memset(&z, 0, sizeof z);
            z.cls = VSS_CLASS_ZERO;
            z.length = to - from;
            if (add_run_piece(&z, pl))
                return -1;
        } else if (h->t->snap) {
            if (vss_snapshot_map(h->t->snap, x->volume_offset + from,
                                 to - from, add_run_piece, pl, &e) != VSS_OK)
                return -1;
        } else if (add_live_piece(x->volume_offset + from, to - from, pl)) {
            return -1;
        }
        pos = x->file_offset + to;
    }
    if (pos != end || !pl->n)
        return -1;
    return 0;
}

/* ---- callbacks ---------------------------------------------------------- */


static void *op_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
    /* Nothing ever changes under the mount: let the kernel cache freely. */
    cfg->kernel_cache = 1;
    cfg->entry_timeout = 3600;
    cfg->attr_timeout = 3600;
    cfg->negative_timeout = 3600;
    /* Inode numbers are the MFT record numbers (see INO_*). */
    cfg->use_ino = 1;
    cfg->readdir_ino = 1;
    /* Large reads: let the kernel ask for as much as it can at once, but
     * no more than a spliced reply fits in a pipe (READ_MAX). */
    conn->max_readahead = UINT_MAX;
    conn->max_read = READ_MAX;
    /* Replies from file pieces go by splice(2) (read_pieces). Not
     * SPLICE_MOVE: that would let the kernel steal the image's page-cache
     * pages into the mount's. */
    if (conn->capable & FUSE_CAP_SPLICE_WRITE)
        conn->want |= FUSE_CAP_SPLICE_WRITE;
    conn->want &= ~FUSE_CAP_SPLICE_MOVE;
    return NULL;
}

static int op_getattr(const char *path, struct stat *st,
                      struct fuse_file_info *fi)
{
    if (G.mode != MODE_RAW) {
        const char *sub;
        tree *t = resolve(path, &sub);
        vss_fs_stat fst;
        vss_error e = {0};
        vss_fs *fs;
        int rc;
        if (!t && sub) {
            fill_top(st, INO_TOP);
            return 0;
        }
        if (!t)
            return -ENOENT;
        if (!(fs = tree_fs(t, &e, &rc)))
            return report(rc, &e);
        rc = vss_fs_stat_path(fs, sub, &fst, &e);
        if (rc)
            return report(rc, &e);
        fill_stat(st, &fst, t, fst.is_stream ? stream_ordinal(fs, sub) : 0);
        return 0;
    }
    if (strcmp(path, "/") == 0) {
        fill_top(st, INO_TOP);
        return 0;
    }
    int i = raw_index(path);
    if (!i)
        return -ENOENT;
    fill_top(st, INO_TOP + (uint64_t)i);
    st->st_mode = S_IFREG | 0444;
    st->st_nlink = 1;
    st->st_size = (off_t)G.sizes[i - 1];
    st->st_blocks = (blkcnt_t)((G.sizes[i - 1] + 511) / 512);
    st->st_blksize = IO_SIZE;
    return 0;
}

static int op_readdir(const char *path, void *buf, fuse_fill_dir_t filler,
                      off_t off, struct fuse_file_info *fi,
                      enum fuse_readdir_flags flags)
{
    const char *sub = NULL;
    tree *t = NULL;
    int i;

    if (G.mode != MODE_RAW) {
        t = resolve(path, &sub);
        if (!t && !sub)
            return -ENOENT;
    } else if (strcmp(path, "/") != 0) {
        return -ENOENT;
    }
    filler(buf, ".", NULL, 0, 0);
    filler(buf, "..", NULL, 0, 0);
    if (G.mode == MODE_RAW) {
        char name[32];
        for (i = 1; i <= G.nsnap; i++) {
            snprintf(name, sizeof name, "vss%d", i);
            if (filler(buf, name, NULL, 0, 0))
                break;
        }
        return 0;
    }
    if (!t) {  /* the top of -s all */
        for (i = 0; i < G.ntrees; i++)
            if (filler(buf, G.trees[i].name, NULL, 0, 0))
                break;
        return 0;
    }

    vss_fs_entry *ents = NULL;
    size_t n = 0, k;
    vss_error e = {0};
    int rc;
    vss_fs *fs = tree_fs(t, &e, &rc);
    if (!fs)
        return report(rc, &e);
    rc = vss_fs_list(fs, sub, &ents, &n, &e);
    if (rc)
        return report(rc, &e);
    for (k = 0; k < n; k++) {
        struct stat st;
        int full = 0;
        if (ents[k].stat_rc == VSS_OK) {
            fill_stat(&st, &ents[k].st, t, 0);
            full = 1;
        }
        if (filler(buf, ents[k].name, full ? &st : NULL, 0, 0))
            break;
        if (full && ents[k].st.stream_count) {
            /* Named streams appear next to their file as FILE:STREAM. */
            vss_fs_stream *ss = NULL;
            size_t ns = 0, j;
            unsigned ord = 0;
            size_t plen = strlen(sub), nlen = strlen(ents[k].name);
            char *p = malloc(plen + nlen + 2);
            if (!p)
                break;
            snprintf(p, plen + nlen + 2, "%s%s%s", sub,
                     plen && sub[plen - 1] == '/' ? "" : "/", ents[k].name);
            if (vss_fs_streams(fs, p, &ss, &ns, &e) == VSS_OK) {
                for (j = 0; j < ns; j++) {
                    char *sn;
                    struct stat sst = st;
                    if (!ss[j].name[0])
                        continue;
                    ord++;
                    sn = malloc(nlen + strlen(ss[j].name) + 2);
                    if (!sn)
                        break;
                    sprintf(sn, "%s:%s", ents[k].name, ss[j].name);
                    sst.st_mode = S_IFREG | 0444;
                    sst.st_nlink = 1;
                    sst.st_size = (off_t)ss[j].size;
                    sst.st_blocks = (blkcnt_t)((ss[j].allocated_size + 511) /
                                               512);
                    sst.st_ino = inode_of(t, ents[k].st.mft_record, ord);
                    filler(buf, sn, &sst, 0, 0);
                    free(sn);
                }
                vss_fs_streams_free(ss, ns);
            } else if (G.debug) {
                fprintf(stderr, "vssmount: %s\n", e.message);
            }
            free(p);
        }
    }
    vss_fs_entries_free(ents, n);
    return 0;
}

static int op_open(const char *path, struct fuse_file_info *fi)
{
    handle *h;
    if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC))
        return -EROFS;
    h = calloc(1, sizeof *h);
    if (!h)
        return -ENOMEM;
    /*
     * Direct reads by default: each read(2) becomes requests of its own
     * size (up to READ_MAX) answered straight into the reader's buffer,
     * one copy from the image's page cache, and no memory taken. Through
     * the mount's page cache (--page-cache) the kernel reads ahead, so
     * the daemon fills the next window while the reader copies the last,
     * but every byte read needs a new page-cache page. On the 2-CPU
     * virtual machine of docs/performance.md, where filling fresh pages
     * runs at 0.3 to 5 GB/s run to run, cold sequential reads through the
     * page cache (read ahead 1 MiB) ran at 0.1 to 2 times the direct
     * rate: direct stays the default, predictable. --page-cache keeps the
     * cache for workloads that read the same bytes again, or map the
     * files shared.
     */
    fi->keep_cache = G.page_cache;
    fi->direct_io = !G.page_cache;
    if (G.mode == MODE_RAW) {
        h->raw = raw_index(path);
        if (!h->raw) {
            free(h);
            return -ENOENT;
        }
        /* --strict answers per read(2), so the page cache (whole pages,
         * read ahead) must not widen the reads. */
        if (G.strict) {
            fi->direct_io = 1;
            fi->keep_cache = 0;
        }
        fi->fh = (uint64_t)(uintptr_t)h;
        return 0;
    }

    const char *sub;
    tree *t = resolve(path, &sub);
    vss_error e = {0};
    vss_fs *fs;
    int rc;
    if (!t) {
        free(h);
        return sub ? -EISDIR : -ENOENT;
    }
    if (!(fs = tree_fs(t, &e, &rc)) ||
        (rc = vss_fs_file_open(fs, sub, &h->f, &e))) {
        free(h);
        return report(rc, &e);
    }
    if (G.strict) {
        vss_fs_stat st;
        vss_info *in;
        if ((rc = vss_fs_file_stat(h->f, &st, &e))) {
            vss_fs_file_close(h->f);
            free(h);
            return report(rc, &e);
        }
        in = info_get(t, path, sub, 0,
                      inode_of(t, st.mft_record,
                               st.is_stream ? stream_ordinal(fs, sub) : 0),
                      &rc);
        if (!in) {
            vss_fs_file_close(h->f);
            free(h);
            return rc;
        }
        h->spans = in->spans;
        h->nspans = in->nspans;
        in->spans = NULL;
        info_free(in);
        if (h->nspans) {
            /* byte-exact answers: no page cache around this file */
            fi->direct_io = 1;
            fi->keep_cache = 0;
        }
    }
    h->t = t;
    h->ext = splice_extents(h->f, &h->n_ext);
    fi->fh = (uint64_t)(uintptr_t)h;
    return 0;
}

static int op_read(const char *path, char *buf, size_t size, off_t off,
                   struct fuse_file_info *fi)
{
    handle *h = (handle *)(uintptr_t)fi->fh;
    vss_error e = {0};
    int64_t n;
    if (off < 0)
        return -EINVAL;
    if (size > INT_MAX)
        size = INT_MAX;
    if (G.mode != MODE_RAW) {
        uint64_t fsize = vss_fs_file_size(h->f);
        uint64_t end = (uint64_t)off + size;
        if (end > fsize)
            end = fsize;
        if ((uint64_t)off < end &&
            touches_lost(h->spans, h->nspans, (uint64_t)off,
                         end - (uint64_t)off))
            return -EIO;
        n = vss_fs_file_read_at(h->f, buf, size, (uint64_t)off, &e);
    } else {
        vss_snapshot *s = G.snaps[h->raw - 1];
        if (G.strict && (uint64_t)off < G.sizes[h->raw - 1]) {
            int rc = vss_snapshot_map(s, (uint64_t)off, size, note_lost,
                                      NULL, &e);
            if (rc > 0)
                return -EIO;
            if (rc < 0)
                return report(rc, &e);
        }
        n = vss_snapshot_read_at(s, buf, size, (uint64_t)off, &e);
    }
    if (n < 0)
        return report((int)n, &e);
    return (int)n;
}

/* The pieces of the image files holding [off, off+size) of h into pl when
 * they can be read as they are (spliced, or copied by --io-uring): 0, or
 * -1: the library's path (op_read). */
static int read_pieces(handle *h, size_t size, off_t off, piece_list *pl)
{
    if (Splice.on && G.mode == MODE_RAW && !G.strict)
        return raw_piece_list(h->raw, size, off, pl);
    if (Splice.on && G.mode != MODE_RAW && h->ext &&
        !touches_lost(h->spans, h->nspans, (uint64_t)off, size))
        return tree_piece_list(h, size, off, pl);
    return -1;
}

/* Every read: spliced pieces of the image when a raw snapshot's bytes
 * allow it, else the bytes op_read gets from the library. */
static int op_read_buf(const char *path, struct fuse_bufvec **bufp,
                       size_t size, off_t off, struct fuse_file_info *fi)
{
    handle *h = (handle *)(uintptr_t)fi->fh;
    struct fuse_bufvec *bv;
    piece_list pl;
    char *mem;
    int n;
    if (off < 0)
        return -EINVAL;
    if (read_pieces(h, size, off, &pl) == 0) {
        /* libfuse frees what read_buf gives: a heap copy of the list */
        bv = malloc(sizeof *bv + (pl.n - 1) * sizeof bv->buf[0]);
        if (!bv)
            return -ENOMEM;
        bv->count = pl.n;
        bv->idx = 0;
        bv->off = 0;
        memcpy(bv->buf, pl.buf, pl.n * sizeof pl.buf[0]);
        *bufp = bv;
        return 0;
    }
    bv = malloc(sizeof *bv);
    mem = malloc(size ? size : 1);
    if (!bv || !mem) {
        free(bv);
        free(mem);
        return -ENOMEM;
    }
    n = op_read(path, mem, size, off, fi);
    if (n < 0) {
        free(bv);
        free(mem);
        return n;
    }
    *bv = (struct fuse_bufvec)FUSE_BUFVEC_INIT((size_t)n);
    bv->buf[0].mem = mem;
    *bufp = bv;
    return 0;
}

/* --io-uring's READ (fuse_ring.c): the bytes op_read_buf would give,
 * copied straight into the ring's buffer. fh is op_open's handle. */
static ssize_t ring_read(uint64_t fh, char *dst, size_t size, uint64_t off)
{
    handle *h = (handle *)(uintptr_t)fh;
    struct fuse_file_info fi;
    piece_list pl;
    size_t k, done = 0;
    if (off > (uint64_t)INT64_MAX)
        return -EINVAL;
    if (read_pieces(h, size, (off_t)off, &pl) == 0) {
        /* pread each piece in turn: libfuse's fuse_buf_copy would do it
         * from a heap bufvec, an allocation per request this path avoids;
         * a piece that ends early (the image shrank) ends the read there */
        for (k = 0; k < pl.n; k++) {
            const struct fuse_buf *b = &pl.buf[k];
            size_t got = 0;
            while (got < b->size) {
                ssize_t r = pread(b->fd, dst + done + got, b->size - got,
                                  b->pos + (off_t)got);
                if (r < 0 && errno == EINTR)
                    continue;
                if (r < 0)
                    return -errno;
                if (r == 0)
                    break;
                got += (size_t)r;
            }
            done += got;
            if (got < b->size)
                break;
        }
        return (ssize_t)done;
    }
    memset(&fi, 0, sizeof fi);
    fi.fh = fh;
    return op_read(NULL, dst, size, (off_t)off, &fi);
}

static int op_release(const char *path, struct fuse_file_info *fi)
{
    handle *h = (handle *)(uintptr_t)fi->fh;
    if (h) {
        vss_fs_file_close(h->f);
        vss_fs_extents_free(h->ext);
        free(h->spans);
        free(h);
    }
    return 0;
}

/* The entry a path names, for its attributes: tree, path in it, inode,
 * directory or not. 0, or a negative errno. */
static int xattr_target(const char *path, tree **t, const char **sub,
                        uint64_t *ino, int *is_dir, int *raw)
{
    vss_fs_stat st;
    vss_error e = {0};
    vss_fs *fs;
    int rc;
    *raw = 0;
    if (G.mode == MODE_RAW) {
        if (strcmp(path, "/") == 0)
            return -ENODATA;  /* the top directory has no attributes */
        *raw = raw_index(path);
        return *raw ? 0 : -ENOENT;
    }
    *t = resolve(path, sub);
    if (!*t)
        return *sub ? -ENODATA : -ENOENT;
    if (!(fs = tree_fs(*t, &e, &rc)) ||
        (rc = vss_fs_stat_path(fs, *sub, &st, &e)))
        return report(rc, &e);
    *is_dir = st.is_directory && !st.is_stream;
    *ino = inode_of(*t, st.mft_record,
                    st.is_stream ? stream_ordinal(fs, *sub) : 0);
    return 0;
}

static int put_value(const char *val, size_t len, char *out, size_t size)
{
    if (len > XATTR_MAX)
        return -E2BIG;
    if (size == 0)
        return (int)len;  /* a size query */
    if (size < len)
        return -ERANGE;
    memcpy(out, val, len);
    return (int)len;
}

static int op_getxattr(const char *path, const char *name, char *value,
                       size_t size)
{
    tree *t = NULL;
    const char *sub = NULL;
    uint64_t ino = 0;
    int is_dir = 0, raw, rc;
    vss_info *in;

    if (strncmp(name, "user.vss.", 9) != 0)
        return -ENODATA;
    if ((rc = xattr_target(path, &t, &sub, &ino, &is_dir, &raw)))
        return rc;
    if (raw) {
        const char *v;
        size_t len;
        if (strcmp(name, XATTR_PROV) != 0)
            return -ENODATA;
        if ((rc = raw_info(raw, &v, &len)))
            return rc;
        return put_value(v, len, value, size);
    }
    if (strcmp(name, XATTR_STATUS) != 0 &&
        (is_dir || (strcmp(name, XATTR_LOST) != 0 &&
                    strcmp(name, XATTR_PROV) != 0)))
        return -ENODATA;
    if (!(in = info_get(t, path, sub, is_dir, ino, &rc)))
        return rc;
    if (strcmp(name, XATTR_STATUS) == 0)
        rc = put_value(in->status, strlen(in->status), value, size);
    else if (strcmp(name, XATTR_LOST) == 0)
        rc = put_value(in->lost, in->lost_len, value, size);
    else
        rc = put_value(in->prov, in->prov_len, value, size);
    info_free(in);
    return rc;
}

static int op_listxattr(const char *path, char *list, size_t size)
{
    static const char file_names[] = XATTR_STATUS "\0" XATTR_LOST
                                     "\0" XATTR_PROV;
    static const char dir_names[] = XATTR_STATUS;
    static const char raw_names[] = XATTR_PROV;
    tree *t = NULL;
    const char *sub = NULL;
    uint64_t ino = 0;
    int is_dir = 0, raw, rc;

    rc = xattr_target(path, &t, &sub, &ino, &is_dir, &raw);
    if (rc == -ENODATA)
        return 0;  /* tops have none */
    if (rc)
        return rc;
    if (raw)
        return put_value(raw_names, sizeof raw_names, list, size);
    if (is_dir)
        return put_value(dir_names, sizeof dir_names, list, size);
    return put_value(file_names, sizeof file_names, list, size);
}

static int op_statfs(const char *path, struct statvfs *sv)
{
    memset(sv, 0, sizeof *sv);
    sv->f_bsize = 4096;
    sv->f_frsize = 4096;
    sv->f_namemax = 255 * 3;  /* UTF-8 of 255 UTF-16 units, roughly */
    sv->f_flag = ST_RDONLY;
    return 0;
}

/* Everything that would change the mount. */
static int op_erofs_path(const char *path, mode_t m) { return -EROFS; }
static int op_erofs_mknod(const char *p, mode_t m, dev_t d) { return -EROFS; }
static int op_erofs_1(const char *path) { return -EROFS; }
static int op_erofs_2(const char *a, const char *b) { return -EROFS; }
static int op_erofs_rename(const char *a, const char *b, unsigned int f)
{
    return -EROFS;
}
static int op_erofs_chmod(const char *p, mode_t m, struct fuse_file_info *fi)
{
    return -EROFS;
}
static int op_erofs_chown(const char *p, uid_t u, gid_t g,
                          struct fuse_file_info *fi)
{
    return -EROFS;
}
static int op_erofs_truncate(const char *p, off_t o,
                             struct fuse_file_info *fi)
{
    return -EROFS;
}
static int op_erofs_write(const char *p, const char *b, size_t s, off_t o,
                          struct fuse_file_info *fi)
{
    return -EROFS;
}
static int op_erofs_create(const char *p, mode_t m, struct fuse_file_info *fi)
{
    return -EROFS;
}
static int op_erofs_utimens(const char *p, const struct timespec tv[2],
                            struct fuse_file_info *fi)
{
    return -EROFS;
}
static int op_erofs_setxattr(const char *p, const char *n, const char *v,
                             size_t s, int f)
{
    return -EROFS;
}

static const struct fuse_operations ops = {
    .init = op_init,
    .getattr = op_getattr,
    .readdir = op_readdir,
    .open = op_open,
    .read = op_read,
    .read_buf = op_read_buf,
    .release = op_release,
    .getxattr = op_getxattr,
    .listxattr = op_listxattr,
    .statfs = op_statfs,
    .mknod = op_erofs_mknod,
    .mkdir = op_erofs_path,
    .unlink = op_erofs_1,
    .rmdir = op_erofs_1,
    .symlink = op_erofs_2,
    .link = op_erofs_2,
    .rename = op_erofs_rename,
    .chmod = op_erofs_chmod,
    .chown = op_erofs_chown,
    .truncate = op_erofs_truncate,
    .write = op_erofs_write,
    .create = op_erofs_create,
    .utimens = op_erofs_utimens,
    .setxattr = op_erofs_setxattr,
    .removexattr = op_erofs_2,
};

/* ---- the mount's read-ahead ---------------------------------------------- */

/*
 * The kernel reads a FUSE file ahead in windows of the mount's backing
 * device's read_ahead_kb, 128 KiB unless changed: a sequential reader then
 * waits on a request per 128 KiB. FUSE's INIT reply can only lower it, and
 * only root may raise it, in /sys/class/bdi/MAJOR:MINOR/read_ahead_kb (the
 * mount's device number). A thread does it once the mount answers: its
 * stat() of the mount point is served after INIT, so the value is not
 * lowered again by INIT's reply. It is the mount's own setting and ends
 * with it. Where the file cannot be written (not root, /sys read-only), the
 * kernel's window stays: reads are slower, never wrong.
 */
#define READAHEAD_KIB_DEFAULT 1024u
#define READAHEAD_KIB_MAX 65536u

static struct {
    char path[PATH_MAX];
    unsigned kib;
} Readahead;

static void *readahead_set(void *arg)
{
    struct stat st;
    char sys[96], val[16];
    int fd, n, ok = 0;
    (void)arg;
    if (stat(Readahead.path, &st) != 0)
        return NULL;  /* unmounted meanwhile */
    snprintf(sys, sizeof sys, "/sys/class/bdi/%u:%u/read_ahead_kb",
             major(st.st_dev), minor(st.st_dev));
    n = snprintf(val, sizeof val, "%u\n", Readahead.kib);
    fd = open(sys, O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
        ok = write(fd, val, (size_t)n) == n;
        close(fd);
    }
    if (G.debug)
        fprintf(stderr, "vssmount: read-ahead %u KiB: %s %s\n", Readahead.kib,
                ok ? "set in" : "kept the kernel's, cannot write", sys);
    return NULL;
}

static void readahead_start(const char *mountpoint, unsigned kib)
{
    pthread_t t;
    pthread_attr_t a;
    sigset_t all, old;
    if (strlen(mountpoint) >= sizeof Readahead.path)
        return;
    strcpy(Readahead.path, mountpoint);
    Readahead.kib = kib;
    if (pthread_attr_init(&a) != 0)
        return;
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    /* signals stay with the main thread (serve) */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    pthread_create(&t, &a, readahead_set, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&a);
}

/* ---- the request loop --------------------------------------------------- */

/*
 * Worker threads take turns reading /dev/fuse: one thread at a time is in
 * read(2) (it holds `reading`, "the turn").
 *
 * Keeping the turn. A read (FUSE_READ: page-cache lookups and a copy, or
 * a splice) is answered by the thread that holds the turn, which then
 * reads the next request itself, even when more requests are waiting: a
 * hand-over (a futex wake-up of a worker asleep, maybe on the other CPU)
 * costs about as much as a small read itself, so one thread serves several
 * random readers faster than several threads do; and a sequential
 * reader's read-ahead is best filled by one worker on one CPU while the
 * reader copies on the other (a second worker took CPU time the reader
 * needed: 0.8x). Anything else (a lookup, a readdir, an open, which may
 * parse NTFS metadata) passes the turn on before it is answered when
 * another request is already waiting, so tree walks are served in
 * parallel; when none is waiting the thread keeps the turn, as passing it
 * would make the next request wake a sleeping thread. (libfuse's own loop
 * leaves a second thread waiting in read(2) while one works; the kernel
 * hands it the next request, and cold random 4 KiB reads ran at a third
 * of the single-threaded rate.) A read that waited for the disk (it took
 * SLOW_READ_NS or more and its thread read blocks: the image is not in
 * the page cache) makes reads pass the turn for a while (note_read), so
 * that parallel readers of a cold image wait for the disk in parallel.
 *
 * Polling. Most of a small read's round trip is waking the daemon: a
 * worker blocked in read(2) sleeps, and its CPU may halt. So after
 * answering a small read, the worker holding the turn polls /dev/fuse
 * without blocking for up to poll_us microseconds (--poll-us) before it
 * blocks: at most one thread polls, and only right after a small read,
 * never on an idle mount. Not after large reads: their round trip is
 * mostly the copy, and polling then took CPU the splicing workers needed
 * (sequential reads ran at 0.8x with it, docs/performance.md).
 */
#define WORKERS 8
#define SMALL_READ (64u * 1024)
#define SLOW_READ_NS 30000    /* 30 us: a small page-cache hit takes 5-15 */
#define COLD_READS 64
#define POLL_US_DEFAULT 50u   /* docs/performance.md: how it was chosen */
#define POLL_US_MAX 100000u   /* 0.1 s: more is a busy daemon, not a poll */

typedef struct loop_state {
    struct fuse_session *se;
    pthread_mutex_t reading;
    sem_t ended;          /* posted by each worker as it ends */
    int fd;
    unsigned poll_us;     /* --poll-us */
    int cold;             /* reads to come that pass the turn (cold image) */
} loop_state;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The size asked by the request in buf if it is a read, else -1 (the
 * buffer holds the request as the kernel wrote it: fuse_in_header, then
 * the opcode's arguments). */
static int64_t read_size(const struct fuse_buf *buf)
{
    const struct fuse_in_header *in = buf->mem;
    const struct fuse_read_in *rd;
    if ((buf->flags & FUSE_BUF_IS_FD) || !in ||
        buf->size < sizeof *in + sizeof *rd || in->opcode != FUSE_READ)
        return -1;
    rd = (const struct fuse_read_in *)(in + 1);
    return rd->size;
}

/* Whether this thread read from the disk since the last call (*seen: the
 * count of block reads then): a slow read that did waited for the
 * disk, one that did not was slowed by the scheduler (load, tracing). */
static int read_from_disk(long *seen)
{
    struct rusage ru;
    int more;
    if (getrusage(RUSAGE_THREAD, &ru) != 0)
        return 1;
    more = ru.ru_inblock > *seen;
    *seen = ru.ru_inblock;
    return more;
}

/* After a read that took ns: one that waited for the disk makes the next
 * COLD_READS reads pass the turn when others wait, each that did not
 * counts one off. A hint shared by the workers, updated without a lock:
 * any value is safe. */
static void note_read(loop_state *L, int64_t ns, long *inblock)
{
    int cold = __atomic_load_n(&L->cold, __ATOMIC_RELAXED);
    if (ns >= SLOW_READ_NS && read_from_disk(inblock))
        __atomic_store_n(&L->cold, COLD_READS, __ATOMIC_RELAXED);
    else if (cold > 0)
        __atomic_store_n(&L->cold, cold - 1, __ATOMIC_RELAXED);
}

/* Whether another request is already waiting in /dev/fuse. */
static int more_waiting(loop_state *L)
{
    struct pollfd more = {L->fd, POLLIN, 0};
    return poll(&more, 1, 0) == 1 && (more.revents & POLLIN);
}

/* Poll /dev/fuse until a request is there or poll_us have passed. */
static void poll_briefly(loop_state *L)
{
    struct pollfd pfd = {L->fd, POLLIN, 0};
    int64_t end = now_ns() + (int64_t)L->poll_us * 1000;
    do {
        if (poll(&pfd, 1, 0) != 0)
            return;  /* a request, or an error the read will report */
    } while (now_ns() < end && !fuse_session_exited(L->se));
}

static void *worker(void *arg)
{
    loop_state *L = arg;
    struct fuse_buf buf;
    int answered = 0;  /* this worker has just answered a small read */
    long inblock = 0;  /* read_from_disk's count */
    memset(&buf, 0, sizeof buf);
    pthread_mutex_lock(&L->reading);
    while (!fuse_session_exited(L->se)) {
        if (answered && L->poll_us)
            poll_briefly(L);  /* the reader may ask again at once */
        answered = 0;
        int rc = fuse_session_receive_buf(L->se, &buf);
        if (rc == -EINTR || rc == -EAGAIN)
            continue;
        if (rc <= 0) {
            fuse_session_exit(L->se);  /* unmounted (0) or broken */
            break;
        }
        int64_t size = read_size(&buf);
        int keep = size >= 0 && !__atomic_load_n(&L->cold, __ATOMIC_RELAXED);
        int pass = !keep && more_waiting(L);
        int64_t t0 = size >= 0 ? now_ns() : 0;
        if (pass)  /* another worker takes the waiting request meanwhile */
            pthread_mutex_unlock(&L->reading);
        fuse_session_process_buf(L->se, &buf);
        if (size >= 0)
            note_read(L, now_ns() - t0, &inblock);
        if (pass)
            pthread_mutex_lock(&L->reading);
        answered = size >= 0 && size <= SMALL_READ;
    }
    pthread_mutex_unlock(&L->reading);
    free(buf.mem);
    sem_post(&L->ended);
    return NULL;
}

/* Serve requests until unmounted or signalled; 0 on a clean end. The
 * workers never take signals: the main thread does (libfuse's handlers
 * mark the session exited) and then unmounts, which ends the read(2) the
 * worker holding the turn is in. */
static int serve(struct fuse_session *se, unsigned poll_us)
{
    loop_state L;
    pthread_t tid[WORKERS];
    sigset_t all, old;
    int started = 0, ended = 0, unmounted = 0, k;

    L.se = se;
    L.fd = fuse_session_fd(se);
    L.poll_us = poll_us;
    L.cold = 0;
    pthread_mutex_init(&L.reading, NULL);
    sem_init(&L.ended, 0, 0);
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    for (k = 0; k < WORKERS; k++)
        if (pthread_create(&tid[started], NULL, worker, &L) == 0)
            started++;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    while (ended < started) {
        if (sem_wait(&L.ended) == 0) {
            ended++;
        } else if (fuse_session_exited(se) && !unmounted) {
            fuse_session_unmount(se);
            unmounted = 1;
        }
    }
    for (k = 0; k < started; k++)
        pthread_join(tid[k], NULL);
    sem_destroy(&L.ended);
    pthread_mutex_destroy(&L.reading);
    return started ? 0 : -1;
}

/* ---- setup -------------------------------------------------------------- */

#define die cli_die
#define parse_u64 cli_parse_u64

static void close_all(void)
{
    int i;
    for (i = 0; i < G.ntrees; i++) {
        vss_fs_close(G.trees[i].fs);
        vss_source_release(G.trees[i].volume);
        vss_snapshot_close(G.trees[i].snap);
    }
    free(G.trees);
    G.trees = NULL;
    G.ntrees = 0;
    for (i = 0; i < G.nsnap; i++) {
        vss_snapshot_close(G.snaps ? G.snaps[i] : NULL);
        if (raw_prov)
            free(raw_prov[i]);
    }
    free(G.snaps);
    free(G.sizes);
    free(raw_prov);
    free(raw_prov_len);
    G.snaps = NULL;
    G.sizes = NULL;
    raw_prov = NULL;
    raw_prov_len = NULL;
    G.nsnap = 0;
    splice_close();
    for (i = 0; i < CACHE_SLOTS; i++) {
        info_free(cache[i]);
        cache[i] = NULL;
    }
}

/* Tree t reads snapshot `index` of vol (0: the live volume `live`). The
 * snapshot is opened now, so a damaged store fails before mounting. */
static int tree_init(tree *t, vss_volume *vol, vss_source *live, int index,
                     vss_fill fill, uint64_t number, vss_error *e)
{
    int rc;
    t->ino_base = number << INO_TREE_SHIFT;
    if (!index) {
        snprintf(t->name, sizeof t->name, "live");
        vss_source_retain(live);
        t->volume = live;
        return VSS_OK;
    }
    snprintf(t->name, sizeof t->name, "vss%d", index);
    if ((rc = vss_snapshot_open(vol, index, fill, &t->snap, e)) ||
        (rc = vss_snapshot_source(t->snap, &t->volume, e)))
        return rc;
    return VSS_OK;
}

/* -s N (snapshot > 0) or -s all (snapshot < 0): the trees to serve.
 * -s N mounts its NTFS volume now; -s all mounts each on first use. */
static int setup_trees(vss_volume *vol, vss_source *live, int snapshot,
                       vss_fill fill, vss_error *e)
{
    int n = vss_volume_snapshot_count(vol), i, rc;
    if (snapshot > 0) {
        G.mode = MODE_TREE;
        G.trees = calloc(1, sizeof *G.trees);
        if (!G.trees)
            return VSS_ENOMEM;
        G.ntrees = 1;
        if ((rc = tree_init(&G.trees[0], vol, live, snapshot, fill, 0, e)) ||
            (rc = vss_fs_open(G.trees[0].volume, &G.trees[0].fs, e)))
            return rc;
        G.trees[0].name[0] = 0;  /* served at the top */
        return VSS_OK;
    }
    G.mode = MODE_ALL;
    G.trees = calloc((size_t)n + 1, sizeof *G.trees);
    if (!G.trees)
        return VSS_ENOMEM;
    G.ntrees = n + 1;
    for (i = 0; i <= n; i++) {
        /* vss1..vssN are trees 1..N, live/ is tree N+1 */
        if ((rc = tree_init(&G.trees[i], vol, live, i < n ? i + 1 : 0, fill,
                            (uint64_t)i + 1, e)))
            return rc;
    }
    return VSS_OK;
}

enum { OPT_FILL = 256, OPT_ALLOW_OTHER, OPT_STRICT, OPT_CARVED,
       OPT_PAGE_CACHE, OPT_READAHEAD, OPT_POLL_US, OPT_IO_URING };

/* --carved: the stack carved from the volume at offset (-1: the only one
 * of the first image with a VSS header) replaces its catalog's (issue 16,
 * vss_carve_scan); *carved is the new reference to close. */
static int pick_carved(vss_volume_set *set, int64_t offset, size_t *index,
                       vss_volume **carved, vss_error *e)
{
    const vss_volume_set_entry *pick = NULL;
    vss_carve *c;
    int rc;
    for (size_t i = 0; i < vss_volume_set_count(set); i++) {
        const vss_volume_set_entry *en = vss_volume_set_get(set, i);
        if (en->image_index || !en->source ||
            (offset >= 0 ? en->part.offset != (uint64_t)offset
                         : !vss_volume_has_vss(en->volume)))
            continue;
        if (pick)
        {
            snprintf(e->message, sizeof e->message,
                     "--carved: several volumes with a VSS header: choose "
                     "one with -o");
            return e->code = VSS_EINVAL;
        }
        pick = en;
        *index = i;
    }
    if (!pick) {
        snprintf(e->message, sizeof e->message, "--carved: no volume %s",
                 offset >= 0 ? "at that offset" : "with a VSS header");
        return e->code = VSS_ENOTFOUND;
    }
    if ((rc = vss_carve_scan(pick->source, NULL, &c, e)))
        return rc;
    rc = vss_carve_open_volume(c, carved, e);
    vss_carve_close(c);
    return rc;
}

/* vss_volume_set_empty_hints' callback: one hint line on stderr. */
static void print_carve_hint(const char *why, void *user)
{
    (void)user;
    fprintf(stderr, "vssmount: %s; try vssinfo --carve (--carved mounts "
                    "them)\n", why);
}

/* A count option of 0 to max: 0 with *out set, or the usage error (exit
 * status 2) naming the option, its unit and its range. */
static int bounded_option(const char *name, const char *unit,
                          const char *arg, unsigned max, unsigned *out)
{
    uint64_t v;
    if (parse_u64(arg, &v) || v > max)
        return cli_usage("%s: expected %s from 0 to %u, got '%s'", name,
                         unit, max, arg);
    *out = (unsigned)v;
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"snapshot", required_argument, NULL, 's'},
        {"offset", required_argument, NULL, 'o'},
        {"fill", required_argument, NULL, OPT_FILL},
        {"allow-other", no_argument, NULL, OPT_ALLOW_OTHER},
        {"strict", no_argument, NULL, OPT_STRICT},
        {"carved", no_argument, NULL, OPT_CARVED},
        {"page-cache", no_argument, NULL, OPT_PAGE_CACHE},
        {"readahead", required_argument, NULL, OPT_READAHEAD},
        {"poll-us", required_argument, NULL, OPT_POLL_US},
        {"io-uring", no_argument, NULL, OPT_IO_URING},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0}};

    cli_set_name("vssmount");
    int64_t offset = -1;
    /* snapshot: 0 raw mode, N for -s N, -1 for -s all */
    int snapshot = 0, foreground = 0, debug = 0, allow_other = 0, c, rc, i;
    int strict = 0, carved = 0, page_cache = 0, io_uring = 0;
    unsigned readahead_kib = READAHEAD_KIB_DEFAULT;
    unsigned poll_us = POLL_US_DEFAULT;
    vss_volume *carved_vol = NULL;
    vss_fill fill = VSS_FILL_WINDOWS;
    const char *mountpoint;
    static char mountpoint_abs[PATH_MAX];
    vss_volume_set *set = NULL;
    const vss_volume_set_entry *fv;
    vss_volume *vol;
    size_t pick;
    vss_error e = {0};
    struct stat mst;

    opterr = 0; /* getopt's own messages: replaced by one line below */
    while ((c = getopt_long(argc, argv, ":s:o:fdhV", longopts, NULL)) != -1) {
        uint64_t v;
        switch (c) {
        case 's':
            if (strcmp(optarg, "all") == 0) {
                snapshot = -1;
                break;
            }
            if (parse_u64(optarg, &v) || v < 1 || v > 100000)
                return cli_usage("-s: bad snapshot number '%s'", optarg);
            snapshot = (int)v;
            break;
        case 'o':
            if (vss_parse_offset(optarg, 512, &v) || v > INT64_MAX)
                return cli_usage("-o: bad offset '%s' (bytes, or sectors as "
                                 "'Ns')",
                                 optarg);
            offset = (int64_t)v;
            break;
        case OPT_FILL:
            if (strcmp(optarg, "windows") == 0)
                fill = VSS_FILL_WINDOWS;
            else if (strcmp(optarg, "zero") == 0)
                fill = VSS_FILL_ZERO;
            else if (strcmp(optarg, "live") == 0)
                fill = VSS_FILL_LIVE;
            else
                return cli_usage("--fill: expected windows, zero or live, "
                                 "got '%s'",
                                 optarg);
            break;
        case OPT_ALLOW_OTHER: allow_other = 1; break;
        case OPT_STRICT: strict = 1; break;
        case OPT_CARVED: carved = 1; break;
        case OPT_PAGE_CACHE: page_cache = 1; break;
        case OPT_READAHEAD:
            if ((rc = bounded_option("--readahead", "KiB", optarg,
                                     READAHEAD_KIB_MAX, &readahead_kib)))
                return rc;
            break;
        case OPT_POLL_US:
            if ((rc = bounded_option("--poll-us", "microseconds", optarg,
                                     POLL_US_MAX, &poll_us)))
                return rc;
            break;
        case OPT_IO_URING: io_uring = 1; break;
        case 'f': foreground = 1; break;
        case 'd': debug = foreground = 1; break;
        case 'h': fputs(usage_text, stdout); return 0;
        case 'V': printf("vssmount %s\n", VSS_VERSION_STRING); return 0;
        case ':':
            return cli_usage("%s needs an argument", argv[optind - 1]);
        default:
            if (optopt)
                return cli_usage("unknown option -%c", optopt);
            return cli_usage("unknown option %s", argv[optind - 1]);
        }
    }
    if (argc - optind < 2)
        return cli_usage("%s", argc - optind ? "no MOUNTPOINT given"
                                              : "no IMAGE given");
    if (io_uring) {
        char why[320];
        if (fuse_ring_check(why, sizeof why) != 0)
            return die(1, "--io-uring: %s", why);
    }
    mountpoint = argv[argc - 1];
    if (stat(mountpoint, &mst) != 0 || !S_ISDIR(mst.st_mode))
        return die(2, "mount point %s: %s", mountpoint,
                   errno && stat(mountpoint, &mst) != 0 ? strerror(errno)
                                                         : "not a directory");
    /* fuse_daemonize() changes to /, and unmounting at exit (SIGTERM)
     * names the mount point again: a relative one would then name
     * nothing and leave a dead mount behind. */
    if (!realpath(mountpoint, mountpoint_abs))
        return die(2, "mount point %s: %s", mountpoint, strerror(errno));
    mountpoint = mountpoint_abs;
    if (access("/dev/fuse", R_OK | W_OK) != 0)
        return die(1, "/dev/fuse: %s (is the fuse module loaded?)",
                   strerror(errno));

    {
        vss_volume_set_options so = {NULL, offset};
        rc = vss_volume_set_open((const char *const *)argv + optind,
                                 (size_t)(argc - optind - 1), &so, &set, &e);
    }
    if (rc)
        return die(CLI_EXIT_FAILURE, "%s",
                   e.message[0] ? e.message : vss_strerror(rc));
    rc = carved ? pick_carved(set, offset, &pick, &carved_vol, &e)
                : vss_volume_set_pick(set, offset, 512, &pick, &e);
    if (rc) {
        int status = rc == VSS_ENOTFOUND ? CLI_EXIT_NO_SNAPSHOTS
                     : rc == VSS_EINVAL  ? CLI_EXIT_USAGE
                                         : CLI_EXIT_FAILURE;
        die(status, "%s", e.message);
        /* nothing with snapshots: where deleted ones' stores may remain
         * (the library's policy and sentences, as vssinfo says them) */
        if (status == CLI_EXIT_NO_SNAPSHOTS && !carved)
            vss_volume_set_empty_hints(set, print_carve_hint, NULL);
        vss_volume_set_close(set);
        return status;
    }
    fv = vss_volume_set_get(set, pick);
    vol = carved ? carved_vol : fv->volume;
    if (carved)
        ; /* the carved stack: read like any volume's below */
    else if (!vol || (fv->error.code && !vss_volume_storage_ready(vol))) {
        rc = die(1, "%s", fv->error.message);
        vss_volume_set_close(set);
        return rc;
    }
    if (!carved && vss_volume_snapshot_count(vol) <= 0) {
        /* -o named a volume that has no shadow copies */
        char where[1200];
        vss_volume_set_describe(set, 0, 512, where, sizeof where);
        rc = die(CLI_EXIT_NO_SNAPSHOTS,
                 "the volume at offset %llu has no shadow copies; the "
                 "volumes of %s: %s",
                 (unsigned long long)fv->part.offset, fv->image, where);
        vss_volume_set_close(set);
        return rc;
    }
    if (!vss_volume_storage_ready(vol)) {
        rc = die(1, "the shadow copy storage of this volume is on another "
                    "volume: give its image too");
        vss_volume_set_close(set);
        return rc;
    }

    memset(&G, 0, sizeof G);
    G.uid = getuid();
    G.gid = getgid();
    G.debug = debug;
    clock_gettime(CLOCK_REALTIME, &G.mount_time);
    G.strict = strict;
    G.page_cache = page_cache;
    pthread_mutex_init(&G.open_lock, NULL);
    if (snapshot) {
        int count = vss_volume_snapshot_count(vol);
        if (snapshot > count) {
            rc = cli_usage("-s %d: the volume has %d snapshot(s)", snapshot,
                           count);
            vss_volume_set_close(set);
            return rc;
        }
        if (snapshot < 0 && count + 1 > MAX_TREES) {
            /* tree numbers are 8 bits of the inode */
            vss_volume_set_close(set);
            return cli_usage("-s all: the volume has %d snapshots, at most "
                             "%d can be mounted side by side: use -s N",
                             count, MAX_TREES - 1);
        }
        splice_setup(set, fv);
        if ((rc = setup_trees(vol, fv->source, snapshot, fill, &e))) {
            if (snapshot > 0)
                rc = die(1, "snapshot %d: %s", snapshot,
                         e.message[0] ? e.message : vss_strerror(rc));
            else
                rc = die(1, "%s", e.message[0] ? e.message
                                               : vss_strerror(rc));
            close_all();
            vss_volume_set_close(set);
            return rc;
        }
    } else {
        G.nsnap = vss_volume_snapshot_count(vol);
        G.mode = MODE_RAW;
        G.snaps = calloc((size_t)G.nsnap, sizeof *G.snaps);
        G.sizes = calloc((size_t)G.nsnap, sizeof *G.sizes);
        raw_prov = calloc((size_t)G.nsnap, sizeof *raw_prov);
        raw_prov_len = calloc((size_t)G.nsnap, sizeof *raw_prov_len);
        if (!G.snaps || !G.sizes || !raw_prov || !raw_prov_len) {
            close_all();
            vss_volume_set_close(set);
            return die(1, "out of memory");
        }
        for (i = 0; i < G.nsnap; i++) {
            if (vss_snapshot_open(vol, i + 1, fill, &G.snaps[i], &e)) {
                rc = die(1, "snapshot %d: %s", i + 1, e.message);
                close_all();
                vss_volume_set_close(set);
                return rc;
            }
            G.sizes[i] = vss_snapshot_size(G.snaps[i]);
        }
        splice_setup(set, fv);
    }

    /* Our own -o is the volume offset, so FUSE's options are built here. */
    char fsname[300];
    char optstr[400];
    const char *img = strrchr(argv[optind], '/');
    img = img ? img + 1 : argv[optind];
    snprintf(fsname, sizeof fsname, "vssmount:%s", img);
    for (char *p = fsname; *p; p++)
        if (*p == ',' || *p == '\\')
            *p = '_';  /* would split or escape the option string */
    snprintf(optstr, sizeof optstr, "ro,default_permissions,fsname=%s,"
                                    "subtype=vss,max_read=%u%s",
             fsname, READ_MAX, allow_other ? ",allow_other" : "");
    char *fargv[6];
    int fargc = 0;
    fargv[fargc++] = argv[0];
    fargv[fargc++] = "-o";
    fargv[fargc++] = optstr;
    if (debug)
        fargv[fargc++] = "-d";
    fargv[fargc] = NULL;
    struct fuse_args args = FUSE_ARGS_INIT(fargc, fargv);
    struct fuse *f = fuse_new(&args, &ops, sizeof ops, NULL);
    if (!f) {
        close_all();
        vss_volume_set_close(set);
        return die(1, "cannot set up FUSE");
    }
    if (fuse_mount(f, mountpoint) != 0) {
        fuse_destroy(f);
        close_all();
        vss_volume_set_close(set);
        return die(1, "cannot mount on %s", mountpoint);
    }
    if (io_uring &&
        fuse_ring_attach(fuse_get_session(f), ring_read, debug) != 0) {
        fuse_unmount(f);
        fuse_destroy(f);
        close_all();
        vss_volume_set_close(set);
        return die(1, "--io-uring: cannot set up the rings: %s",
                   strerror(errno));
    }
    if (fuse_daemonize(foreground) != 0 ||
        fuse_set_signal_handlers(fuse_get_session(f)) != 0) {
        fuse_unmount(f);
        fuse_destroy(f);
        close_all();
        vss_volume_set_close(set);
        return die(1, "cannot start the FUSE session");
    }
    if (page_cache && readahead_kib)
        readahead_start(mountpoint, readahead_kib);
    rc = serve(fuse_get_session(f), poll_us);
    fuse_remove_signal_handlers(fuse_get_session(f));
    fuse_unmount(f);
    if (io_uring)
        fuse_ring_stop();
    fuse_destroy(f);
    fuse_opt_free_args(&args);
    close_all();
    vss_volume_close(carved_vol);
    vss_volume_set_close(set);
    return rc ? 1 : 0;
}

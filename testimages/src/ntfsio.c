/*
 * ntfsio.c - NTFS volumes for the generator, through libntfs-3g.
 *
 * The volume is opened through our own ntfs_device_operations so that every
 * write libntfs-3g makes (file data, MFT records, $Bitmap, indexes, the
 * journal) first passes through vvol.hook: that is where volsnap's
 * copy-on-write is modelled (volsnap.c).  Only positional I/O is used.
 */
#define _GNU_SOURCE
#include "vssgen.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define HAVE_STDINT_H 1
#include <ntfs-3g/types.h>
#include <ntfs-3g/attrib.h>
#include <ntfs-3g/device.h>
#include <ntfs-3g/dir.h>
#include <ntfs-3g/inode.h>
#include <ntfs-3g/lcnalloc.h>
#include <ntfs-3g/unistr.h>
#include <ntfs-3g/volume.h>

static vvol *dev_vol(struct ntfs_device *dev) { return dev->d_private; }

static int dev_open(struct ntfs_device *dev, int flags)
{
    NDevSetOpen(dev);
    if ((flags & O_ACCMODE) == O_RDONLY)
        NDevSetReadOnly(dev);
    return 0;
}

static int dev_close(struct ntfs_device *dev)
{
    NDevClearOpen(dev);
    return 0;
}

static s64 dev_seek(struct ntfs_device *dev, s64 off, int whence)
{
    vvol *v = dev_vol(dev);
    s64 base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? (s64)v->pos : (s64)v->size;
    if (base + off < 0) { errno = EINVAL; return -1; }
    v->pos = (uint64_t)(base + off);
    return (s64)v->pos;
}

static s64 dev_pread(struct ntfs_device *dev, void *buf, s64 count, s64 off)
{
    vvol *v = dev_vol(dev);
    if (off < 0 || count < 0) { errno = EINVAL; return -1; }
    if ((uint64_t)off >= v->size)
        return 0;
    if ((uint64_t)(off + count) > v->size)
        count = (s64)(v->size - (uint64_t)off);
    xpread(v->fd, buf, (size_t)count, (uint64_t)off);
    return count;
}

static s64 dev_pwrite(struct ntfs_device *dev, const void *buf, s64 count, s64 off)
{
    vvol *v = dev_vol(dev);
    if (off < 0 || count < 0 || (uint64_t)(off + count) > v->size) { errno = ENOSPC; return -1; }
    if (v->hook && count)
        v->hook(v->hook_ctx, (uint64_t)off, (uint64_t)count);
    xpwrite(v->fd, buf, (size_t)count, (uint64_t)off);
    NDevSetDirty(dev);
    return count;
}

static s64 dev_read(struct ntfs_device *dev, void *buf, s64 count)
{
    s64 r = dev_pread(dev, buf, count, (s64)dev_vol(dev)->pos);
    if (r > 0)
        dev_vol(dev)->pos += (uint64_t)r;
    return r;
}

static s64 dev_write(struct ntfs_device *dev, const void *buf, s64 count)
{
    s64 r = dev_pwrite(dev, buf, count, (s64)dev_vol(dev)->pos);
    if (r > 0)
        dev_vol(dev)->pos += (uint64_t)r;
    return r;
}

static int dev_sync(struct ntfs_device *dev)
{
    NDevClearDirty(dev);
    return 0;
}

static int dev_stat(struct ntfs_device *dev, struct stat *st)
{
    memset(st, 0, sizeof *st);
    st->st_mode = S_IFREG | 0600;
    st->st_size = (off_t)dev_vol(dev)->size;
    return 0;
}

static int dev_ioctl(struct ntfs_device *dev, unsigned long req, void *arg)
{
    (void)dev; (void)req; (void)arg;
    errno = ENOTTY;
    return -1;
}

static struct ntfs_device_operations dev_ops = {
    .open = dev_open, .close = dev_close, .seek = dev_seek, .read = dev_read,
    .write = dev_write, .pread = dev_pread, .pwrite = dev_pwrite, .sync = dev_sync,
    .stat = dev_stat, .ioctl = dev_ioctl,
};

/* mkntfs -T keeps the format reproducible (zero times, fixed serial). */
void vvol_format(vvol *v, const char *path, uint64_t size, uint64_t hidden, const char *label)
{
    memset(v, 0, sizeof *v);
    v->path = xstrdup(path);
    v->size = size;
    v->hidden_sectors = hidden;
    v->fd = -1;
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        die("cannot create %s: %s", path, strerror(errno));
    if (ftruncate(fd, (off_t)size) != 0)
        die("cannot size %s: %s", path, strerror(errno));
    close(fd);
    char hs[32];
    snprintf(hs, sizeof hs, "%llu", (unsigned long long)hidden);
    pid_t pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        int nul = open("/dev/null", O_WRONLY);
        if (nul >= 0) { dup2(nul, 1); dup2(nul, 2); }
        execlp("mkntfs", "mkntfs", "-F", "-Q", "-T", "-q", "-c", "4096", "-s", "512", "-p", hs,
               "-H", "255", "-S", "63", "-L", label, path, (char *)NULL);
        _exit(127);
    }
    int st;
    if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        die("mkntfs failed on %s (exit %d); is ntfs-3g installed?", path,
            WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    v->fd = open(path, O_RDWR);
    if (v->fd < 0)
        die("cannot open %s: %s", path, strerror(errno));
}

void vvol_mount(vvol *v)
{
    if (v->nv)
        return;
    struct ntfs_device *dev = ntfs_device_alloc(v->path, 0, &dev_ops, v);
    if (!dev)
        die("ntfs_device_alloc: %s", strerror(errno));
    ntfs_volume *nv = ntfs_device_mount(dev, NTFS_MNT_NONE);
    if (!nv)
        die("cannot mount %s with libntfs-3g: %s", v->path, strerror(errno));
    v->nv = nv;
    v->cluster = nv->cluster_size;
    v->nclusters = (uint64_t)nv->nr_clusters;
    v->mft_zone_end = (uint64_t)nv->mft_zone_end;
}

void vvol_umount(vvol *v)
{
    if (!v->nv)
        return;
    if (ntfs_umount(v->nv, FALSE) != 0)
        die("ntfs_umount %s: %s", v->path, strerror(errno));
    v->nv = NULL;
}

void vvol_close(vvol *v)
{
    vvol_umount(v);
    if (v->fd >= 0 && close(v->fd) != 0)
        die("close %s: %s", v->path, strerror(errno));
    v->fd = -1;
}

/* ---- paths ------------------------------------------------------------ */

typedef struct {
    char dir[1024], name[256], stream[256];
} splitpath;

static void split(const char *path, splitpath *sp)
{
    if (path[0] != '/' || strlen(path) >= sizeof sp->dir)
        die("bad path '%s'", path);
    const char *slash = strrchr(path, '/');
    size_t dl = (size_t)(slash - path);
    memcpy(sp->dir, path, dl ? dl : 1);
    sp->dir[dl ? dl : 1] = 0;
    snprintf(sp->name, sizeof sp->name, "%s", slash + 1);
    sp->stream[0] = 0;
    char *colon = strchr(sp->name, ':');
    if (colon) {
        *colon = 0;
        snprintf(sp->stream, sizeof sp->stream, "%s", colon + 1);
    }
    if (!sp->name[0])
        die("bad path '%s'", path);
}

static ntfs_volume *NV(vvol *v)
{
    if (!v->nv)
        die("internal: volume %s not mounted", v->path);
    return v->nv;
}

static ntfs_inode *open_path(vvol *v, const char *path, int must)
{
    ntfs_inode *ni = ntfs_pathname_to_inode(NV(v), NULL, path);
    if (!ni && must)
        die("%s: no such file on the volume (%s)", path, strerror(errno));
    return ni;
}

static int to_uni(const char *s, ntfschar **u)
{
    *u = NULL;
    int n = ntfs_mbstoucs(s, u);
    if (n <= 0 || n > 255)
        die("cannot convert name '%s'", s);
    return n;
}

int fs_exists(vvol *v, const char *path)
{
    splitpath sp;
    split(path, &sp);
    char full[1400];
    snprintf(full, sizeof full, "%s%s%s", sp.dir, strcmp(sp.dir, "/") ? "/" : "", sp.name);
    ntfs_inode *ni = open_path(v, full, 0);
    if (!ni)
        return 0;
    int r = 1;
    if (sp.stream[0]) {
        ntfschar *us;
        int ul = to_uni(sp.stream, &us);
        r = ntfs_attr_exist(ni, AT_DATA, us, (u32)ul);
        free(us);
    }
    ntfs_inode_close(ni);
    return r;
}

static ntfs_inode *create_in(vvol *v, const char *dir, const char *name, mode_t type)
{
    ntfs_inode *dni = open_path(v, dir, 1);
    ntfschar *u;
    int ul = to_uni(name, &u);
    ntfs_inode *ni = ntfs_create(dni, const_cpu_to_le32(0), u, (u8)ul, type);
    if (!ni)
        die("cannot create %s/%s: %s", dir, name, strerror(errno));
    free(u);
    if (ntfs_inode_close(dni) != 0)
        die("close %s: %s", dir, strerror(errno));
    return ni;
}

void fs_mkdir(vvol *v, const char *path)
{
    splitpath sp;
    split(path, &sp);
    if (sp.stream[0])
        die("mkdir %s: streams are not directories", path);
    ntfs_inode *ni = create_in(v, sp.dir, sp.name, S_IFDIR);
    if (ntfs_inode_close(ni) != 0)
        die("close %s: %s", path, strerror(errno));
}

/* Open (optionally creating) the $DATA attribute a path names. */
static ntfs_attr *open_data(vvol *v, const char *path, int create, ntfs_inode **pni)
{
    splitpath sp;
    split(path, &sp);
    char full[1400];
    snprintf(full, sizeof full, "%s%s%s", sp.dir, strcmp(sp.dir, "/") ? "/" : "", sp.name);
    ntfs_inode *ni = open_path(v, full, 0);
    if (!ni) {
        if (!create)
            die("%s: no such file", path);
        ni = create_in(v, sp.dir, sp.name, S_IFREG);
    }
    ntfschar *us = NULL;
    int ul = 0;
    if (sp.stream[0]) {
        ul = to_uni(sp.stream, &us);
        if (!ntfs_attr_exist(ni, AT_DATA, us, (u32)ul)) {
            if (!create)
                die("%s: no such stream", path);
            if (ntfs_attr_add(ni, AT_DATA, us, (u8)ul, NULL, 0) != 0)
                die("cannot add stream %s: %s", path, strerror(errno));
        }
    }
    ntfs_attr *na = ntfs_attr_open(ni, AT_DATA, us ? us : AT_UNNAMED, (u32)ul);
    if (!na)
        die("cannot open data of %s: %s", path, strerror(errno));
    free(us);
    *pni = ni;
    return na;
}

/* Windows stamps $STANDARD_INFORMATION's modification and MFT change times
 * on every data write or size change (the audit's "modified since the
 * snapshot" test reads them); libntfs-3g's attribute calls do not. */
static void data_written(ntfs_inode *ni)
{
    ntfs_inode_update_times(ni, NTFS_UPDATE_MCTIME);
}

static void close_data(ntfs_attr *na, ntfs_inode *ni, const char *path)
{
    ntfs_attr_close(na);
    if (ntfs_inode_close(ni) != 0)
        die("close %s: %s", path, strerror(errno));
}

void fs_write(vvol *v, const char *path, uint64_t off, uint64_t len, const pattern *pt, int create)
{
    ntfs_inode *ni;
    ntfs_attr *na = open_data(v, path, create, &ni);
    size_t chunk = 1u << 20;
    uint8_t *buf = xcalloc(1, chunk);
    for (uint64_t done = 0; done < len;) {
        size_t n = len - done < chunk ? (size_t)(len - done) : chunk;
        pattern_fill(pt, off + done, buf, n);
        s64 w = ntfs_attr_pwrite(na, (s64)(off + done), (s64)n, buf);
        if (w <= 0)
            die("write %s at %llu: %s", path, (unsigned long long)(off + done), strerror(errno));
        done += (uint64_t)w;
    }
    free(buf);
    data_written(ni);
    close_data(na, ni, path);
}

/* Overwrite `count` pieces of `size` bytes at size-aligned pseudo-random
 * places of a file (one open for all of them). */
void fs_scatter(vvol *v, const char *path, uint64_t count, uint64_t size, const pattern *pt, prng *r)
{
    ntfs_inode *ni;
    ntfs_attr *na = open_data(v, path, 0, &ni);
    uint64_t slots = (uint64_t)na->data_size / size;
    if (!slots)
        die("scatter: %s is smaller than one piece", path);
    uint8_t *buf = xcalloc(1, size);
    for (uint64_t i = 0; i < count; i++) {
        uint64_t at = prng_next(r) % slots * size;
        pattern_fill(pt, at + i, buf, size);
        if (ntfs_attr_pwrite(na, (s64)at, (s64)size, buf) != (s64)size)
            die("write %s at %llu: %s", path, (unsigned long long)at, strerror(errno));
    }
    free(buf);
    data_written(ni);
    close_data(na, ni, path);
}

void fs_truncate(vvol *v, const char *path, uint64_t size)
{
    ntfs_inode *ni;
    ntfs_attr *na = open_data(v, path, 0, &ni);
    if (ntfs_attr_truncate(na, (s64)size) != 0)
        die("truncate %s: %s", path, strerror(errno));
    data_written(ni);
    close_data(na, ni, path);
}

void fs_delete(vvol *v, const char *path)
{
    splitpath sp;
    split(path, &sp);
    char full[1400];
    snprintf(full, sizeof full, "%s%s%s", sp.dir, strcmp(sp.dir, "/") ? "/" : "", sp.name);
    ntfs_inode *ni = open_path(v, full, 1);
    if (sp.stream[0]) {
        ntfschar *us;
        int ul = to_uni(sp.stream, &us);
        if (ntfs_attr_remove(ni, AT_DATA, us, (u32)ul) != 0)
            die("cannot remove stream %s: %s", path, strerror(errno));
        free(us);
        if (ntfs_inode_close(ni) != 0)
            die("close %s: %s", path, strerror(errno));
        return;
    }
    ntfs_inode *dni = open_path(v, sp.dir, 1);
    ntfschar *u;
    int ul = to_uni(sp.name, &u);
    if (ntfs_delete(NV(v), full, ni, dni, u, (u8)ul) != 0)   /* closes both */
        die("cannot delete %s: %s", path, strerror(errno));
    free(u);
}

/* Rename (or move to another directory): the same MFT record and sequence
 * under a new name, as NTFS does; the MFT change time is stamped. */
void fs_rename(vvol *v, const char *path, const char *to)
{
    splitpath sp, st;
    split(path, &sp);
    split(to, &st);
    if (sp.stream[0] || st.stream[0])
        die("rename %s: streams cannot be renamed", path);
    char full[1400];
    snprintf(full, sizeof full, "%s%s%s", sp.dir, strcmp(sp.dir, "/") ? "/" : "", sp.name);
    ntfs_inode *ni = open_path(v, full, 1);
    ntfs_inode *tdir = open_path(v, st.dir, 1);
    ntfschar *u;
    int ul = to_uni(st.name, &u);
    if (ntfs_link(ni, tdir, u, (u8)ul) != 0)
        die("cannot rename %s to %s: %s", path, to, strerror(errno));
    free(u);
    ntfs_inode_update_times(ni, NTFS_UPDATE_CTIME);
    if (ntfs_inode_close(tdir) != 0)
        die("close %s: %s", st.dir, strerror(errno));
    ntfs_inode *dni = open_path(v, sp.dir, 1);
    ul = to_uni(sp.name, &u);
    if (ntfs_delete(NV(v), full, ni, dni, u, (u8)ul) != 0)   /* closes both */
        die("cannot remove the old name %s: %s", path, strerror(errno));
    free(u);
}

void fileinfo_free(fileinfo *fi)
{
    free(fi->path);
    free(fi->ext);
    free(fi->data);
    memset(fi, 0, sizeof *fi);
}

void fs_info(vvol *v, const char *path, fileinfo *fi, int want_data)
{
    memset(fi, 0, sizeof *fi);
    ntfs_inode *ni;
    ntfs_attr *na = open_data(v, path, 0, &ni);
    fi->path = xstrdup(path);
    fi->size = (uint64_t)na->data_size;
    fi->mft_ref = ni->mft_no | (uint64_t)le16_to_cpu(ni->mrec->sequence_number) << 48;
    fi->resident = !NAttrNonResident(na);
    if (!fi->resident) {
        if (ntfs_attr_map_whole_runlist(na) != 0)
            die("cannot map runlist of %s: %s", path, strerror(errno));
        for (runlist_element *rl = na->rl; rl && rl->length; rl++) {
            fi->ext = xrealloc(fi->ext, (size_t)fi->next + 1, sizeof *fi->ext);
            extent e = { (uint64_t)rl->vcn, rl->lcn < 0 ? LCN_NONE : (uint64_t)rl->lcn, (uint64_t)rl->length };
            fi->ext[fi->next++] = e;
        }
    }
    if (want_data) {
        fi->data = xcalloc(1, fi->size + 1);
        uint64_t done = 0;
        while (done < fi->size) {
            s64 r = ntfs_attr_pread(na, (s64)done, (s64)(fi->size - done), fi->data + done);
            if (r <= 0)
                die("read %s: %s", path, strerror(errno));
            done += (uint64_t)r;
        }
    }
    close_data(na, ni, path);
}

/* ---- walking the tree ---------------------------------------------------- */

typedef struct { char **names; int *isdir; int n; } dirlist;

static int filldir(void *ctx, const ntfschar *name, const int name_len, const int name_type,
                   const s64 pos, const MFT_REF mref, const unsigned dt_type)
{
    (void)pos; (void)mref;
    dirlist *dl = ctx;
    if (name_type == FILE_NAME_DOS)
        return 0;
    char *s = NULL;
    if (ntfs_ucstombs(name, name_len, &s, 0) < 0 || !s)
        die("cannot convert a file name");
    if (!strcmp(s, ".") || !strcmp(s, "..")) { free(s); return 0; }
    dl->names = xrealloc(dl->names, (size_t)dl->n + 1, sizeof *dl->names);
    dl->isdir = xrealloc(dl->isdir, (size_t)dl->n + 1, sizeof *dl->isdir);
    dl->names[dl->n] = s;
    dl->isdir[dl->n++] = dt_type == NTFS_DT_DIR;
    return 0;
}

static int cmpname(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void walk(vvol *v, const char *dir, fileinfo **out, int *n)
{
    ntfs_inode *dni = open_path(v, dir, 1);
    dirlist dl = { 0 };
    s64 pos = 0;
    if (ntfs_readdir(dni, &pos, &dl, filldir) != 0)
        die("readdir %s: %s", dir, strerror(errno));
    if (ntfs_inode_close(dni) != 0)
        die("close %s", dir);
    /* stable order: sort by name; the kind travels after the name's NUL */
    for (int i = 0; i < dl.n; i++) {
        size_t L = strlen(dl.names[i]);
        char *tag = xcalloc(1, L + 3);
        memcpy(tag, dl.names[i], L);
        tag[L + 1] = dl.isdir[i] ? 'd' : 'f';
        free(dl.names[i]);
        dl.names[i] = tag;
    }
    qsort(dl.names, (size_t)dl.n, sizeof *dl.names, cmpname);
    for (int i = 0; i < dl.n; i++) {
        char *name = dl.names[i];
        int isdir = name[strlen(name) + 1] == 'd';
        int top = !strcmp(dir, "/");
        if (top && (name[0] == '$' || !strcmp(name, "System Volume Information"))) {
            free(name);
            continue;
        }
        char full[2048];
        snprintf(full, sizeof full, "%s%s%s", dir, top ? "" : "/", name);
        if (isdir) {
            walk(v, full, out, n);
        } else {
            /* every $DATA attribute: unnamed first, then named streams */
            ntfs_inode *ni = open_path(v, full, 1);
            ntfs_attr_search_ctx *ctx = ntfs_attr_get_search_ctx(ni, NULL);
            if (!ctx)
                die("search ctx: %s", strerror(errno));
            char **streams = NULL;
            int ns = 0;
            while (!ntfs_attr_lookup(AT_DATA, NULL, 0, CASE_SENSITIVE, 0, NULL, 0, ctx)) {
                ATTR_RECORD *a = ctx->attr;
                if (a->lowest_vcn && a->non_resident)
                    continue;           /* extent of an attribute already seen */
                char *sn = NULL;
                if (a->name_length) {
                    ntfschar *un = (ntfschar *)((uint8_t *)a + le16_to_cpu(a->name_offset));
                    if (ntfs_ucstombs(un, a->name_length, &sn, 0) < 0)
                        die("stream name");
                }
                streams = xrealloc(streams, (size_t)ns + 1, sizeof *streams);
                streams[ns++] = sn;
            }
            ntfs_attr_put_search_ctx(ctx);
            if (ntfs_inode_close(ni) != 0)
                die("close %s", full);
            for (int s = 0; s < ns; s++) {
                char sp[2400];
                if (streams[s])
                    snprintf(sp, sizeof sp, "%s:%s", full, streams[s]);
                else
                    snprintf(sp, sizeof sp, "%s", full);
                *out = xrealloc(*out, (size_t)*n + 1, sizeof **out);
                fs_info(v, sp, &(*out)[*n], 0);
                (*n)++;
                free(streams[s]);
            }
            free(streams);
        }
        free(name);
    }
    free(dl.names);
    free(dl.isdir);
}

fileinfo *fs_walk(vvol *v, int *n)
{
    fileinfo *out = NULL;
    *n = 0;
    walk(v, "/", &out, n);
    return out;
}

uint8_t *fs_bitmap(vvol *v)
{
    ntfs_volume *nv = NV(v);
    uint64_t bytes = ((uint64_t)nv->nr_clusters + 7) / 8;
    uint8_t *bm = xcalloc(1, bytes + 8);
    s64 r = ntfs_attr_pread(nv->lcnbmp_na, 0, (s64)bytes, bm);
    if (r != (s64)bytes)
        die("cannot read $Bitmap of %s", v->path);
    return bm;
}

/* Give an empty, resident $DATA exactly the clusters [lcn, lcn + size/cluster):
 * libntfs-3g allocates at a requested LCN only when given one explicitly,
 * so the runlist is made here and written back as mapping pairs. */
static void allocate_at(vvol *v, ntfs_attr *na, const char *path, uint64_t size, uint64_t lcn)
{
    ntfs_volume *nv = NV(v);
    uint64_t n = (size + v->cluster - 1) / v->cluster;
    if (!n)
        return;
    if (ntfs_attr_force_non_resident(na) != 0)
        die("cannot make %s non-resident: %s", path, strerror(errno));
    /* the allocator honours a start LCN only within one 4096-byte window of
     * $Bitmap, so take the run in pieces and describe it as one extent */
    for (uint64_t done = 0; done < n;) {
        uint64_t piece = n - done < 16384 ? n - done : 16384;
        runlist *part = ntfs_cluster_alloc(nv, (VCN)done, (s64)piece, (LCN)(lcn + done), DATA_ZONE);
        if (!part)
            die("cannot allocate %llu clusters at %llu for %s: %s", (unsigned long long)piece,
                (unsigned long long)(lcn + done), path, strerror(errno));
        if (part[0].lcn != (LCN)(lcn + done) || part[0].length != (s64)piece)
            die("allocation for %s did not land at cluster %llu", path, (unsigned long long)(lcn + done));
        free(part);
        done += piece;
    }
    runlist *rl = malloc(2 * sizeof *rl);
    if (!rl)
        die("out of memory");
    rl[0].vcn = 0;
    rl[0].lcn = (LCN)lcn;
    rl[0].length = (s64)n;
    rl[1].vcn = (VCN)n;
    rl[1].lcn = LCN_RL_NOT_MAPPED;
    rl[1].length = 0;
    free(na->rl);
    na->rl = rl;
    na->allocated_size = (s64)(n * v->cluster);
    NAttrSetRunlistDirty(na);
    if (ntfs_attr_update_mapping_pairs(na, 0) != 0)
        die("cannot write the runlist of %s: %s", path, strerror(errno));
    if (ntfs_attr_truncate_solid(na, (s64)size) != 0)
        die("cannot set the size of %s: %s", path, strerror(errno));
}

/* Create a regular file of `size` bytes whose clusters start at lcn, and
 * fill it from buf. */
void fs_create_at(vvol *v, const char *path, const uint8_t *buf, uint64_t size, uint64_t lcn)
{
    ntfs_inode *ni;
    ntfs_attr *na = open_data(v, path, 1, &ni);
    allocate_at(v, na, path, size, lcn);
    for (uint64_t done = 0; done < size;) {
        s64 w = ntfs_attr_pwrite(na, (s64)done, (s64)(size - done), buf + done);
        if (w <= 0)
            die("write %s: %s", path, strerror(errno));
        done += (uint64_t)w;
    }
    close_data(na, ni, path);
}

/* Create a VSS file in "System Volume Information", allocated (not sparse)
 * at want_lcn, and return its MFT reference and extents. */
uint64_t fs_create_sysfile(vvol *v, const char *name, uint64_t size, place_fn place, void *ctx,
                           extent **ext, int *next)
{
    static const char svi[] = "/System Volume Information";
    if (!fs_exists(v, svi)) {
        ntfs_inode *ni = create_in(v, "/", "System Volume Information", S_IFDIR);
        ni->flags |= FILE_ATTR_HIDDEN | FILE_ATTR_SYSTEM;
        ntfs_inode_mark_dirty(ni);
        if (ntfs_inode_close(ni) != 0)
            die("close SVI");
    }
    char path[512];
    snprintf(path, sizeof path, "%s/%s", svi, name);
    ntfs_inode *ni = create_in(v, svi, name, S_IFREG);
    ni->flags |= FILE_ATTR_HIDDEN | FILE_ATTR_SYSTEM | FILE_ATTR_ARCHIVE;
    ntfs_inode_mark_dirty(ni);
    ntfs_attr *na = ntfs_attr_open(ni, AT_DATA, AT_UNNAMED, 0);
    if (!na)
        die("open %s: %s", path, strerror(errno));
    /* choose the place only now: creating the inode may have taken clusters */
    uint8_t *bm = fs_bitmap(v);
    uint64_t lcn = place(ctx, v, bm, size / v->cluster);
    free(bm);
    allocate_at(v, na, path, size, lcn);
    ntfs_attr_close(na);
    if (ntfs_inode_close(ni) != 0)
        die("close %s", path);
    fileinfo fi;
    fs_info(v, path, &fi, 0);
    *ext = fi.ext;
    *next = fi.next;
    fi.ext = NULL;
    uint64_t ref = fi.mft_ref;
    fileinfo_free(&fi);
    return ref;
}

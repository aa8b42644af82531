/*
 * vssmount — mount the shadow copies of Windows disk images with FUSE 3
 * (docs/vssmount.1). Thin glue over the public libvss API:
 *
 *   vssmount [-o OFFSET] IMAGE... MOUNTPOINT       vss1 ... vssN: each
 *       snapshot's raw volume, exactly what `vssinfo --extract N` writes
 *   vssmount -s N [-o OFFSET] IMAGE... MOUNTPOINT  snapshot N's NTFS tree
 *
 * Everything is read-only: the kernel mount is "ro" and every call that
 * could change something answers EROFS. All input is checked and opened
 * before mounting, so bad arguments fail with a message, not a dead mount.
 * Exit codes (tools/cli.h, as vssinfo): 0 success, 1 failure, 2 bad usage,
 * 3 no volume with shadow copies.
 */
#define FUSE_USE_VERSION 35

#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"  /* messages and exit statuses shared with vssinfo */
#include "vss.h"

static const char usage_text[] =
    "Usage: vssmount [OPTIONS] IMAGE [IMAGE...] MOUNTPOINT\n"
    "Mount the Volume Shadow Copies of Windows disk images read-only.\n"
    "\n"
    "  (default)                vss1 ... vssN: the raw volume of each snapshot\n"
    "  -s, --snapshot N         the NTFS files of snapshot N instead (named\n"
    "                           streams appear as FILE:STREAM)\n"
    "  -o, --offset OFFSET      the volume at this offset of the first IMAGE: bytes,\n"
    "                           or 512-byte sectors as 'Ns' (mmls's start)\n"
    "  --fill=windows|zero|live what not-in-use blocks read as (default windows)\n"
    "  -f                       stay in the foreground\n"
    "  -d                       foreground, with FUSE debug output\n"
    "  --allow-other            let other users read the mount (needs\n"
    "                           user_allow_other in /etc/fuse.conf)\n"
    "  -h, --help               this help;  -V, --version  the version\n"
    "\n"
    "Further IMAGEs are searched for volumes holding redirected shadow copy\n"
    "storage. Unmount with: fusermount3 -u MOUNTPOINT\n";

/* ---- state shared by the FUSE callbacks --------------------------------- */

typedef struct mount_state {
    int mode_files;         /* -s: a file tree, else raw snapshot volumes */
    int nsnap;
    vss_snapshot **snaps;   /* raw mode: index 0 = vss1 */
    uint64_t *sizes;
    vss_fs *fs;             /* -s mode */
    int debug;
    uid_t uid;
    gid_t gid;
    struct timespec mount_time;
    uint64_t snap_time;     /* -s: creation time of the snapshot */
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

static void fill_stat(struct stat *st, const vss_fs_stat *fst)
{
    memset(st, 0, sizeof *st);
    st->st_uid = G.uid;
    st->st_gid = G.gid;
    if (fst->is_directory && !fst->is_stream) {
        st->st_mode = S_IFDIR | 0555;
        st->st_nlink = 2;
    } else {
        st->st_mode = S_IFREG | 0444;
        st->st_nlink = fst->link_count ? fst->link_count : 1;
        st->st_size = (off_t)fst->size;
        st->st_blocks = (blkcnt_t)((fst->allocated_size + 511) / 512);
    }
    st->st_ino = fst->mft_record;
    st->st_blksize = 65536;
    st->st_mtim = filetime_ts(fst->modification_time);
    st->st_atim = filetime_ts(fst->access_time);
    st->st_ctim = filetime_ts(fst->mft_change_time);
}

/* ---- callbacks ---------------------------------------------------------- */

static void *op_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
    /* Nothing ever changes under the mount: let the kernel cache freely. */
    cfg->kernel_cache = 1;
    cfg->entry_timeout = 3600;
    cfg->attr_timeout = 3600;
    cfg->negative_timeout = 3600;
    /* Not use_ino: MFT record 0 ($MFT) would be inode 0, which readdir
     * callers skip as an empty slot. */
    cfg->use_ino = 0;
    /* Large reads: let the kernel ask for as much as it can at once. */
    conn->max_readahead = UINT_MAX;
    return NULL;
}

static int op_getattr(const char *path, struct stat *st,
                      struct fuse_file_info *fi)
{
    if (G.mode_files) {
        vss_fs_stat fst;
        vss_error e = {0};
        int rc = vss_fs_stat_path(G.fs, path, &fst, &e);
        if (rc)
            return report(rc, &e);
        fill_stat(st, &fst);
        return 0;
    }
    memset(st, 0, sizeof *st);
    st->st_uid = G.uid;
    st->st_gid = G.gid;
    st->st_mtim = st->st_atim = st->st_ctim = G.mount_time;
    if (strcmp(path, "/") == 0) {
        st->st_mode = S_IFDIR | 0555;
        st->st_nlink = 2;
        return 0;
    }
    int i = raw_index(path);
    if (!i)
        return -ENOENT;
    st->st_mode = S_IFREG | 0444;
    st->st_nlink = 1;
    st->st_size = (off_t)G.sizes[i - 1];
    st->st_blocks = (blkcnt_t)((G.sizes[i - 1] + 511) / 512);
    st->st_blksize = 65536;
    return 0;
}

static int op_readdir(const char *path, void *buf, fuse_fill_dir_t filler,
                      off_t off, struct fuse_file_info *fi,
                      enum fuse_readdir_flags flags)
{
    filler(buf, ".", NULL, 0, 0);
    filler(buf, "..", NULL, 0, 0);
    if (!G.mode_files) {
        char name[32];
        int i;
        if (strcmp(path, "/") != 0)
            return -ENOENT;
        for (i = 1; i <= G.nsnap; i++) {
            snprintf(name, sizeof name, "vss%d", i);
            if (filler(buf, name, NULL, 0, 0))
                break;
        }
        return 0;
    }

    vss_fs_entry *ents = NULL;
    size_t n = 0, i;
    vss_error e = {0};
    int rc = vss_fs_list(G.fs, path, &ents, &n, &e);
    if (rc)
        return report(rc, &e);
    for (i = 0; i < n; i++) {
        struct stat st;
        int full = 0;
        if (ents[i].stat_rc == VSS_OK) {
            fill_stat(&st, &ents[i].st);
            full = 1;
        }
        if (filler(buf, ents[i].name, full ? &st : NULL, 0, 0))
            break;
        if (full && ents[i].st.stream_count) {
            /* Named streams appear next to their file as FILE:STREAM. */
            vss_fs_stream *ss = NULL;
            size_t ns = 0, k;
            size_t plen = strlen(path), nlen = strlen(ents[i].name);
            char *p = malloc(plen + nlen + 2);
            if (!p)
                break;
            snprintf(p, plen + nlen + 2, "%s%s%s", path,
                     plen && path[plen - 1] == '/' ? "" : "/", ents[i].name);
            if (vss_fs_streams(G.fs, p, &ss, &ns, &e) == VSS_OK) {
                for (k = 0; k < ns; k++) {
                    char *sn;
                    struct stat sst = st;
                    if (!ss[k].name[0])
                        continue;
                    sn = malloc(nlen + strlen(ss[k].name) + 2);
                    if (!sn)
                        break;
                    sprintf(sn, "%s:%s", ents[i].name, ss[k].name);
                    sst.st_mode = S_IFREG | 0444;
                    sst.st_nlink = 1;
                    sst.st_size = (off_t)ss[k].size;
                    sst.st_blocks = (blkcnt_t)((ss[k].allocated_size + 511) /
                                               512);
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
    if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC))
        return -EROFS;
    if (!G.mode_files) {
        int i = raw_index(path);
        if (!i)
            return -ENOENT;
        fi->fh = (uint64_t)i;
        fi->keep_cache = 1;
        return 0;
    }
    vss_fs_file *f = NULL;
    vss_error e = {0};
    int rc = vss_fs_file_open(G.fs, path, &f, &e);
    if (rc == VSS_ENOTFOUND) {
        /* Metadata files such as $Secure or $Extend/$Quota have no unnamed
         * $DATA: getattr shows them as empty files, so they open as such
         * (a NULL handle reads as end of file). */
        vss_fs_stat st;
        vss_error e2 = {0};
        if (vss_fs_stat_path(G.fs, path, &st, &e2) == VSS_OK &&
            !st.has_data && !st.is_directory) {
            fi->fh = 0;
            fi->keep_cache = 1;
            return 0;
        }
    }
    if (rc)
        return report(rc, &e);
    fi->fh = (uint64_t)(uintptr_t)f;
    fi->keep_cache = 1;
    return 0;
}

static int op_read(const char *path, char *buf, size_t size, off_t off,
                   struct fuse_file_info *fi)
{
    vss_error e = {0};
    int64_t n;
    if (off < 0)
        return -EINVAL;
    if (size > INT_MAX)
        size = INT_MAX;
    if (G.mode_files && !fi->fh)
        return 0;  /* a file without data, see op_open */
    if (G.mode_files)
        n = vss_fs_file_read_at((vss_fs_file *)(uintptr_t)fi->fh, buf, size,
                                (uint64_t)off, &e);
    else
        n = vss_snapshot_read_at(G.snaps[fi->fh - 1], buf, size,
                                 (uint64_t)off, &e);
    if (n < 0)
        return report((int)n, &e);
    return (int)n;
}

static int op_release(const char *path, struct fuse_file_info *fi)
{
    if (G.mode_files)
        vss_fs_file_close((vss_fs_file *)(uintptr_t)fi->fh);
    return 0;
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
    .release = op_release,
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

/* ---- setup -------------------------------------------------------------- */

#define die cli_die
#define parse_u64 cli_parse_u64

static void close_all(void)
{
    int i;
    vss_fs_close(G.fs);
    G.fs = NULL;
    for (i = 0; i < G.nsnap; i++)
        vss_snapshot_close(G.snaps ? G.snaps[i] : NULL);
    free(G.snaps);
    free(G.sizes);
    G.snaps = NULL;
    G.sizes = NULL;
    G.nsnap = 0;
}

enum { OPT_FILL = 256, OPT_ALLOW_OTHER };

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"snapshot", required_argument, NULL, 's'},
        {"offset", required_argument, NULL, 'o'},
        {"fill", required_argument, NULL, OPT_FILL},
        {"allow-other", no_argument, NULL, OPT_ALLOW_OTHER},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0}};

    cli_set_name("vssmount");
    int64_t offset = -1;
    int snapshot = 0, foreground = 0, debug = 0, allow_other = 0, c, rc, i;
    vss_fill fill = VSS_FILL_WINDOWS;
    const char *mountpoint;
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
    mountpoint = argv[argc - 1];
    if (stat(mountpoint, &mst) != 0 || !S_ISDIR(mst.st_mode))
        return die(2, "mount point %s: %s", mountpoint,
                   errno && stat(mountpoint, &mst) != 0 ? strerror(errno)
                                                         : "not a directory");
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
    rc = vss_volume_set_pick(set, offset, 512, &pick, &e);
    if (rc) {
        vss_volume_set_close(set);
        return die(rc == VSS_ENOTFOUND ? CLI_EXIT_NO_SNAPSHOTS
                   : rc == VSS_EINVAL  ? CLI_EXIT_USAGE
                                       : CLI_EXIT_FAILURE,
                   "%s", e.message);
    }
    fv = vss_volume_set_get(set, pick);
    vol = fv->volume;
    if (!vol || (fv->error.code && !vss_volume_storage_ready(vol))) {
        rc = die(1, "%s", fv->error.message);
        vss_volume_set_close(set);
        return rc;
    }
    if (vss_volume_snapshot_count(vol) <= 0) {
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
    if (snapshot) {
        vss_snapshot *s = NULL;
        vss_source *src = NULL;
        if (snapshot > vss_volume_snapshot_count(vol)) {
            rc = cli_usage("-s %d: the volume has %d snapshot(s)", snapshot,
                     vss_volume_snapshot_count(vol));
            vss_volume_set_close(set);
            return rc;
        }
        if (vss_snapshot_open(vol, snapshot, fill, &s, &e) ||
            vss_snapshot_source(s, &src, &e) ||
            vss_fs_open(src, &G.fs, &e)) {
            rc = die(1, "snapshot %d: %s", snapshot, e.message);
            vss_source_release(src);
            vss_snapshot_close(s);
            vss_volume_set_close(set);
            return rc;
        }
        /* The vss_fs holds the source, which holds the snapshot. */
        vss_source_release(src);
        vss_snapshot_close(s);
        G.mode_files = 1;
    } else {
        G.nsnap = vss_volume_snapshot_count(vol);
        G.snaps = calloc((size_t)G.nsnap, sizeof *G.snaps);
        G.sizes = calloc((size_t)G.nsnap, sizeof *G.sizes);
        if (!G.snaps || !G.sizes) {
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
                                    "subtype=vss%s",
             fsname, allow_other ? ",allow_other" : "");
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
    if (fuse_daemonize(foreground) != 0 ||
        fuse_set_signal_handlers(fuse_get_session(f)) != 0) {
        fuse_unmount(f);
        fuse_destroy(f);
        close_all();
        vss_volume_set_close(set);
        return die(1, "cannot start the FUSE session");
    }
    struct fuse_loop_config lc;
    memset(&lc, 0, sizeof lc);
    lc.clone_fd = 0;
    lc.max_idle_threads = 16;
    rc = fuse_loop_mt(f, &lc);
    fuse_remove_signal_handlers(fuse_get_session(f));
    fuse_unmount(f);
    fuse_destroy(f);
    fuse_opt_free_args(&args);
    close_all();
    vss_volume_set_close(set);
    return rc ? 1 : 0;
}

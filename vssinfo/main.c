/*
 * vssinfo — list, extract and map Windows volume shadow copies in disk
 * images (docs/vssinfo.1). Exit codes: cli.h's CLI_EXIT_* (0 success, 1
 * failure reading the images, 2 bad usage, 3 no volume with shadow
 * copies).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "carve.h"
#include "cli.h"
#include "files.h"
#include "history.h"
#include "json.h"
#include "progress.h"
#include "report_meta.h"
#include "vssinfo.h"

static const char usage_text[] =
    "Usage: vssinfo [OPTIONS] IMAGE [IMAGE...]\n"
    "List, extract and map the Volume Shadow Copies of Windows disk images.\n"
    "\n"
    "  (no action)              list volumes and snapshots of every IMAGE\n"
    "  --json                   the listing (or --map) as one JSON document\n"
    "  --stats                  the listing also counts each store's changed\n"
    "                           and not-in-use blocks (reads every block list\n"
    "                           and bitmap, and so checks them)\n"
    "  --extract N              write snapshot N's volume (1 = oldest)\n"
    "  --range OFFSET:LENGTH    only these bytes of the volume (--extract, --map)\n"
    "  --output FILE            write to FILE (sparse) instead of stdout, and\n"
    "                           print the MD5 and SHA-256 of what was written;\n"
    "                           --audit/--diff: the report to FILE, its SHA-256\n"
    "                           to FILE.sha256 (also for --html)\n"
    "  --force                  let --output and --html replace an existing\n"
    "                           file\n"
    "  --fill=windows|zero|live what not-in-use blocks read as (default windows:\n"
    "                           exactly what Windows returns)\n"
    "  --map N                  provenance of snapshot N: OFFSET LENGTH CLASS\n"
    "                           [STORE STORE_OFFSET]; CLASS store|live|zero|stale\n"
    "  --ls N[:PATH] [-r]       list a directory of snapshot N ('live' for the\n"
    "                           current volume): TYPE RECORD SEQ SIZE CREATED\n"
    "                           MODIFIED MFT-CHANGED ACCESSED NAME; -r recurses\n"
    "  --ls all|N-M|N,M,live    several sources at once: each path prefixed\n"
    "                           by its source (vss3/..., live/...)\n"
    "  --bodyfile               with --ls: The Sleuth Kit body format (mactime)\n"
    "  --unique                 with --ls of several sources: a line the same\n"
    "                           but for its source is printed once (oldest)\n"
    "  --file N:PATH[:STREAM]   recover one file of snapshot N (to --output);\n"
    "                           warns about bytes the snapshot did not preserve\n"
    "  --audit SPEC             what snapshots really preserved, file by file\n"
    "                           (SPEC: all, N, N-M, lists; then :PATH for a\n"
    "                           subtree): status, lost byte ranges, hashes of\n"
    "                           snapshot, live and recovered versions\n"
    "  --diff A:B[:PATH]        files added, deleted, modified, renamed between\n"
    "                           snapshots A and B (numbers or 'live'), under PATH\n"
    "  --history PATH|@RECORD   every version of a file (or of an MFT record)\n"
    "                           in the snapshots and the live volume: times,\n"
    "                           status, lost ranges, streams (--hash: digests)\n"
    "  --export-versions DIR    with --history: each version written once to\n"
    "                           DIR, with manifest.csv and manifest.json\n"
    "  --recover                with --export-versions: also each damaged\n"
    "                           version's recovered file the audit vouches for\n"
    "  --hash LIST              md5,sha1,sha256 (default md5,sha256)\n"
    "  --audit-blocks           with --audit: per 16 KiB block hashes of files\n"
    "                           that differ from the live volume\n"
    "  --audit-system           also NTFS metadata and shadow copy files\n"
    "  --csv                    --audit/--diff/--history as CSV\n"
    "  --html FILE              --audit, --diff, --history also as one\n"
    "                           self-contained HTML page, its SHA-256 in\n"
    "                           FILE.sha256 (prints: every entry listed, pages\n"
    "                           numbered)\n"
    "  --case TEXT, --examiner TEXT, --notes TEXT\n"
    "                           stated in the --audit/--diff/--history report's\n"
    "                           header (with version, command line, time,\n"
    "                           images)\n"
    "  --image-hash LIST        the report also states each IMAGE's hashes\n"
    "                           (md5,sha1,sha256), computed by reading it whole\n"
    "  --csv-bom                --csv starts with a UTF-8 byte order mark\n"
    "                           (spreadsheet programs then read names right)\n"
    "  --no-progress            no progress bar for --audit, --extract and\n"
    "                           --verify-image (default: when stderr is a tty)\n"
    "  -o, --offset OFFSET      the volume at this byte offset of the first IMAGE;\n"
    "                           'Ns' for sector N as mmls prints it (63s)\n"
    "  --sector-size N          bytes per sector for 'Ns' and the listing's\n"
    "                           sector numbers (default 512; 4096 for 4Kn)\n"
    "  --backing PATH           backing file (qcow2) / parent (differencing VHD,\n"
    "                           VHDX) of the first IMAGE; never opened unasked\n"
    "  --carve                  carve the stores of deleted snapshots from the\n"
    "                           volume (-o, else every NTFS volume) and list\n"
    "                           them with their evidence, oldest first\n"
    "  --carved                 --extract, --map, --ls, --file, --audit, --diff,\n"
    "                           --history read the carved stack (N = carved\n"
    "                           store N)\n"
    "  --scan-all               --carve/--carved: read also what live files\n"
    "                           hold (skipped by default)\n"
    "  --verify-image           read every IMAGE whole (E01 chunk checksums) and\n"
    "                           compare with the MD5/SHA-1 the container stores\n"
    "  -h, --help               this help;  -V, --version  the version\n"
    "\n"
    "IMAGE may be raw, split raw (give the first segment), E01, qcow2, VHD or\n"
    "VHDX (detected by content; docs/containers.md).\n"
    "Snapshot operations act on the first IMAGE; further IMAGEs are searched\n"
    "for volumes holding redirected shadow copy storage. Images are opened\n"
    "read-only. See vssinfo(1).\n";

enum { OPT_JSON = 256, OPT_EXTRACT, OPT_RANGE, OPT_OUTPUT, OPT_FILL, OPT_MAP,
       OPT_LS, OPT_FILE, OPT_BODYFILE, OPT_BACKING, OPT_VERIFY_IMAGE,
       OPT_AUDIT, OPT_DIFF, OPT_HASH, OPT_AUDIT_BLOCKS, OPT_AUDIT_SYSTEM,
       OPT_CSV, OPT_HTML, OPT_NO_PROGRESS, OPT_STATS, OPT_FORCE,
       OPT_SECTOR_SIZE, OPT_HISTORY, OPT_EXPORT_VERSIONS, OPT_RECOVER, OPT_UNIQUE,
       OPT_CARVE, OPT_CARVED, OPT_SCAN_ALL, OPT_CASE, OPT_EXAMINER, OPT_NOTES,
       OPT_IMAGE_HASH, OPT_CSV_BOM };

typedef struct options {
    int json;
    int stats;        /* --stats: read block lists and bitmaps to list */
    int extract;      /* snapshot index, 0 = none */
    int map;
    uint64_t range_off, range_len;
    int has_range;
    const char *output;
    int force;        /* --output may replace an existing file */
    int progress;     /* 1, 0 (--no-progress), -1: when stderr is a tty */
    vss_fill fill;
    int64_t offset;   /* -o; -1 = none */
    uint32_t sector_size; /* --sector-size: 'Ns' offsets, listing */
} options;

#define die cli_die
#define usage cli_usage
#define parse_u64 cli_parse_u64

static int parse_index(const char *s, int *out)
{
    uint64_t v;
    if (parse_u64(s, &v) || v < 1 || v > 100000)
        return -1;
    *out = (int)v;
    return 0;
}

/* Refuse to write onto one of the evidence images. */
/* Whether writing path would overwrite evidence: one of the IMAGE
 * arguments, or (once the images are open) any file the library opened to
 * read them: EWF and split segments, a backing file or parent, a storage
 * image. All of those are open read-only in this process, so every open
 * descriptor above stderr is compared with path (Linux's /proc/self/fd). */
static int output_is_an_image(const char *path, char **images, int n)
{
    struct stat so, si;
    DIR *d;
    struct dirent *de;
    int i, hit = 0;
    if (stat(path, &so) != 0)
        return 0;
    for (i = 0; i < n; i++)
        if (stat(images[i], &si) == 0 && si.st_dev == so.st_dev &&
            si.st_ino == so.st_ino)
            return 1;
    d = opendir("/proc/self/fd");
    while (d && !hit && (de = readdir(d)) != NULL) {
        int fd = atoi(de->d_name);
        if (fd > STDERR_FILENO && fd != dirfd(d) && fstat(fd, &si) == 0 &&
            S_ISREG(si.st_mode) && si.st_dev == so.st_dev &&
            si.st_ino == so.st_ino)
            hit = 1;
    }
    if (d)
        closedir(d);
    return hit;
}

static int all_zero(const uint8_t *p, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

/* --extract: the snapshot volume (or --range of it) to stdout or --output.
 * To a regular file it is written sparse (all-zero MiB blocks become
 * holes), and the MD5 and SHA-256 of every byte written, holes included,
 * are computed on the way and printed, as dc3dd and ewfacquire do. */
static int do_extract(vss_volume *vol, const options *o)
{
    vss_snapshot *s = NULL;
    vss_error e = {0};
    uint64_t off, start, end, size;
    size_t bufsz = 1u << 20;
    uint8_t *buf;
    int fd = STDOUT_FILENO, rc = 0, sparse = 0;
    static const vss_hash algs[2] = {VSS_HASH_MD5, VSS_HASH_SHA256};
    vss_hasher *hash = NULL;
    progress bar;

    if (vss_snapshot_open(vol, o->extract, o->fill, &s, &e))
        return die(1, "%s", e.message);
    size = vss_snapshot_size(s);
    off = o->has_range ? o->range_off : 0;
    end = o->has_range ? (o->range_len > size - (off < size ? off : size)
                              ? size
                              : off + o->range_len)
                       : size;
    if (off > size) {
        vss_snapshot_close(s);
        return usage("--range starts past the end of the snapshot volume "
                     "(%" PRIu64 " bytes)",
                     size);
    }
    if (o->output) {
        struct stat st;
        fd = output_create(o->output, o->force);
        if (fd < 0) {
            int er = errno;
            vss_snapshot_close(s);
            errno = er;
            return output_refused("--output", o->output);
        }
        sparse = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    }
    buf = malloc(bufsz);
    if (!buf || vss_hasher_open(algs, 2, &hash, &e)) {
        rc = die(1, "%s", "out of memory");
        goto out;
    }
    start = off;
    progress_start(&bar, o->progress, "extract", end - start);
    while (off < end) {
        size_t want = end - off < bufsz ? (size_t)(end - off) : bufsz;
        int64_t n = vss_snapshot_read_at(s, buf, want, off, &e);
        if (n <= 0) {
            progress_end(&bar);
            rc = die(1, "%s", n < 0 ? e.message : "unexpected end of data");
            goto out;
        }
        if (o->output)
            vss_hasher_update(hash, buf, (size_t)n);
        if (sparse && all_zero(buf, (size_t)n)) {
            if (lseek(fd, n, SEEK_CUR) < 0) {
                progress_end(&bar);
                rc = die(1, "seek in output: %s", strerror(errno));
                goto out;
            }
        } else if (cli_write_all(fd, buf, (size_t)n) != 0) {
            progress_end(&bar);
            rc = die(1, "write: %s", strerror(errno));
            goto out;
        }
        off += (uint64_t)n;
        progress_update(&bar, off - start, 0);
    }
    progress_done(&bar, end - start);
    if (sparse) {
        off_t len = lseek(fd, 0, SEEK_CUR);
        if (len < 0 || ftruncate(fd, len) != 0)
            rc = die(1, "finishing output: %s", strerror(errno));
    }
    if (o->output) {
        /* closed before the hashes are printed: they then describe a file
         * written without error */
        if (close(fd) != 0 && !rc)
            rc = die(1, "closing output: %s", strerror(errno));
        fd = -1;
    }
    if (o->output && !rc) {
        vss_digests d;
        char h[2 * VSS_HASH_MAX + 1];
        printf("Wrote %" PRIu64 " bytes to %s\n", end - start, o->output);
        vss_hasher_final(hash, &d);
        hexstr(d.v[VSS_HASH_MD5], 16, h);
        printf("MD5     %s\n", h);
        hexstr(d.v[VSS_HASH_SHA256], 32, h);
        printf("SHA-256 %s\n", h);
    }
out:
    free(buf);
    vss_hasher_close(hash);
    if (o->output && fd >= 0 && close(fd) != 0 && !rc)
        rc = die(1, "closing output: %s", strerror(errno));
    vss_snapshot_close(s);
    return rc;
}

typedef struct map_ctx {
    FILE *f;
    json *j;
} map_ctx;

static int print_run(const vss_run *r, void *user)
{
    map_ctx *m = user;
    if (m->j) {
        json *j = m->j;
        json_object(j);
        json_key_u64(j, "offset", r->offset);
        json_key_u64(j, "length", r->length);
        json_key_string(j, "class", vss_class_name(r->cls));
        if (r->reason != VSS_REASON_NONE) {
            json_key_string(j, "reason", vss_reason_name(r->reason));
        }
        if (r->store_index > 0) {
            json_key_i64(j, "store", r->store_index);
            json_key_u64(j, "store_offset", r->source_offset);
        } else if (r->cls != VSS_CLASS_ZERO) {
            json_key_u64(j, "live_offset", r->source_offset);
        }
        json_end_object(j);
    } else if (r->store_index > 0) {
        /* store data, or stale data a newer store holds */
        fprintf(m->f, "%" PRIu64 " %" PRIu64 " %s %d %" PRIu64 "\n",
                r->offset, r->length, vss_class_name(r->cls), r->store_index,
                r->source_offset);
    } else {
        fprintf(m->f, "%" PRIu64 " %" PRIu64 " %s\n", r->offset, r->length,
                vss_class_name(r->cls));
    }
    return ferror(m->f) ? VSS_EIO : 0;
}

static int do_map(vss_volume *vol, const options *o)
{
    vss_snapshot *s = NULL;
    vss_error e = {0};
    map_ctx m = {stdout, NULL};
    json j;
    uint64_t off, len;
    int rc;

    if (vss_snapshot_open(vol, o->map, o->fill, &s, &e))
        return die(1, "%s", e.message);
    off = o->has_range ? o->range_off : 0;
    len = o->has_range ? o->range_len : vss_snapshot_size(s);
    if (o->json) {
        json_begin(&j, stdout);
        json_object(&j);
        json_key_i64(&j, "snapshot", o->map);
        json_key_u64(&j, "volume_size", vss_snapshot_size(s));
        json_key_string(&j, "fill", o->fill == VSS_FILL_ZERO   ? "zero"
                                    : o->fill == VSS_FILL_LIVE ? "live"
                                                               : "windows");
        json_key(&j, "runs");
        json_array(&j);
        m.j = &j;
    }
    rc = vss_snapshot_map(s, off, len, print_run, &m, &e);
    if (o->json) {
        json_end_array(&j);
        json_end_object(&j);
        json_finish(&j);
    }
    vss_snapshot_close(s);
    if (rc)
        return die(1, "%s", rc == VSS_EIO && !e.message[0] ? "write failed"
                                                           : e.message);
    return 0;
}

/* The exit status when volumes_pick found nothing to act on. */
static int pick_failure_status(const vss_error *e)
{
    return e->code == VSS_ENOTFOUND ? CLI_EXIT_NO_SNAPSHOTS
           : e->code == VSS_EINVAL  ? CLI_EXIT_USAGE
                                    : CLI_EXIT_FAILURE;
}

/* After a failure: what the containers said (a chunk failing its checksum
 * is named there with its segment and offset). */
static void print_container_errors(const volume_set *set)
{
    size_t i;
    for (i = 0; i < set->nimages; i++) {
        vss_error ce = {0};
        if (set->images[i] && vss_source_container_error(set->images[i], &ce))
            fprintf(stderr, "vssinfo: %s: %s\n",
                    vss_source_name(set->images[i]), ce.message);
    }
}

/* After "no shadow copies": where the stores of deleted snapshots may
 * remain, for --carve to scan (the library's policy and sentences:
 * vss_volume_set_empty_hints; none when a volume does list snapshots, as
 * -o then named a place without one and the error names them). */
static void print_carve_hint(const char *why, void *user)
{
    (void)user;
    fprintf(stderr, "vssinfo: %s; try --carve (--carved reads them)\n", why);
}

static void hint_carve(const volume_set *set)
{
    vss_volume_set_empty_hints(set->lib, print_carve_hint, NULL);
}

static int verify_progress(uint64_t done, uint64_t total, void *user)
{
    progress *bar = user;
    bar->total = total;
    progress_update(bar, done, 0);
    return 0;
}

/* --verify-image: every IMAGE read whole and checked against its stored
 * hashes. */
static int verify_images(char **images, int n, const char *backing_path,
                         int progress_option)
{
    int i, rc = 0;
    for (i = 0; i < n; i++) {
        vss_image_options io = {i == 0 ? backing_path : NULL, NULL};
        vss_source *src = NULL;
        vss_verify_result r;
        vss_error e = {0};
        char md5[33], sha1[41], cont[1600];
        int vr;
        if (vss_source_open_image(images[i], &io, &src, &e)) {
            rc = die(1, "%s", e.message);
            continue;
        }
        describe_container(src, cont, sizeof cont);
        printf("Image %s (%" PRIu64 " bytes)\n", images[i],
               vss_source_size(src));
        if (cont[0])
            printf("Container: %s\n", cont);
        {
            progress bar;
            progress_start(&bar, progress_option, "verify",
                           vss_source_size(src));
            vr = vss_source_verify(src, &r, verify_progress, &bar, &e);
            if (vr == VSS_OK || vr == VSS_ECORRUPT)
                progress_done(&bar, r.bytes);
            else
                progress_end(&bar);
        }
        hexstr(r.md5, 16, md5);
        hexstr(r.sha1, 20, sha1);
        if (vr == VSS_OK || vr == VSS_ECORRUPT) {
            printf("  read %" PRIu64 " bytes\n", r.bytes);
            printf("  MD5   %s  %s\n", md5,
                   !r.md5_stored ? "(no stored hash)"
                   : r.md5_match ? "matches the stored hash"
                                 : "DIFFERS from the stored hash");
            printf("  SHA-1 %s  %s\n", sha1,
                   !r.sha1_stored ? "(no stored hash)"
                   : r.sha1_match ? "matches the stored hash"
                                  : "DIFFERS from the stored hash");
        }
        if (vr)
            rc = die(1, "%s", e.message);
        vss_source_release(src);
    }
    return rc;
}

/* --audit / --diff: the report to stdout or --output FILE (created as
 * --extract creates it), then each report file's SHA-256 in a side file
 * FILE.sha256 (and the --html page's), once the file is complete. */
static int audit_to_files(found_volume *fv, const audit_options *ao,
                          const options *o)
{
    int rc, fd;
    if (o->output) {
        fflush(stdout);
        fd = output_create(o->output, o->force);
        if (fd < 0)
            return output_refused("--output", o->output);
        if (dup2(fd, STDOUT_FILENO) < 0) {
            close(fd);
            return die(1, "cannot write %s: %s", o->output, strerror(errno));
        }
        close(fd);
    }
    rc = audit_run(fv, ao);
    if (o->output && (fflush(stdout) != 0 || close(STDOUT_FILENO) != 0))
        rc = die(1, "writing %s: %s", o->output, strerror(errno));
    if (o->output && rc) {
        /* failed before writing anything: no empty report left behind */
        struct stat st;
        if (stat(o->output, &st) == 0 && S_ISREG(st.st_mode) &&
            st.st_size == 0) {
            unlink(o->output);
            return rc;
        }
    }
    /* rc 1: the report is complete, and says what could not be read */
    if (rc <= 1 && o->output && report_meta_seal(o->output))
        rc = 1;
    if (rc <= 1 && ao->html && report_meta_seal(ao->html))
        rc = 1;
    return rc;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"json", no_argument, NULL, OPT_JSON},
        {"stats", no_argument, NULL, OPT_STATS},
        {"extract", required_argument, NULL, OPT_EXTRACT},
        {"range", required_argument, NULL, OPT_RANGE},
        {"output", required_argument, NULL, OPT_OUTPUT},
        {"fill", required_argument, NULL, OPT_FILL},
        {"map", required_argument, NULL, OPT_MAP},
        {"offset", required_argument, NULL, 'o'},
        {"ls", required_argument, NULL, OPT_LS},
        {"file", required_argument, NULL, OPT_FILE},
        {"bodyfile", no_argument, NULL, OPT_BODYFILE},
        {"backing", required_argument, NULL, OPT_BACKING},
        {"verify-image", no_argument, NULL, OPT_VERIFY_IMAGE},
        {"audit", required_argument, NULL, OPT_AUDIT},
        {"diff", required_argument, NULL, OPT_DIFF},
        {"hash", required_argument, NULL, OPT_HASH},
        {"audit-blocks", no_argument, NULL, OPT_AUDIT_BLOCKS},
        {"audit-system", no_argument, NULL, OPT_AUDIT_SYSTEM},
        {"csv", no_argument, NULL, OPT_CSV},
        {"html", required_argument, NULL, OPT_HTML},
        {"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
        {"force", no_argument, NULL, OPT_FORCE},
        {"sector-size", required_argument, NULL, OPT_SECTOR_SIZE},
        {"history", required_argument, NULL, OPT_HISTORY},
        {"unique", no_argument, NULL, OPT_UNIQUE},
        {"export-versions", required_argument, NULL, OPT_EXPORT_VERSIONS},
        {"recover", no_argument, NULL, OPT_RECOVER},
        {"carve", no_argument, NULL, OPT_CARVE},
        {"carved", no_argument, NULL, OPT_CARVED},
        {"scan-all", no_argument, NULL, OPT_SCAN_ALL},
        {"case", required_argument, NULL, OPT_CASE},
        {"examiner", required_argument, NULL, OPT_EXAMINER},
        {"notes", required_argument, NULL, OPT_NOTES},
        {"image-hash", required_argument, NULL, OPT_IMAGE_HASH},
        {"csv-bom", no_argument, NULL, OPT_CSV_BOM},
        {"recursive", no_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0}};
    options o;
    files_options fo;
    audit_options ao;
    history_options ho;
    report_meta meta;
    const char *image_hash = NULL;
    volume_set set;
    vss_error e = {0};
    found_volume *fv;
    int c, rc, verify_image = 0, carve = 0, carved = 0;
    const char *offset_arg = NULL, *backing_path = NULL;

    memset(&o, 0, sizeof o);
    o.offset = -1;
    o.fill = VSS_FILL_WINDOWS;
    o.progress = -1;
    o.sector_size = 512;
    memset(&fo, 0, sizeof fo);
    memset(&ao, 0, sizeof ao);
    memset(&ho, 0, sizeof ho);
    ao.progress = -1;
    report_meta_init(&meta, argc, argv);
    opterr = 0; /* getopt's own messages: replaced by one line below */
    while ((c = getopt_long(argc, argv, ":o:rhV", longopts, NULL)) != -1) {
        uint64_t v;
        char *colon;
        switch (c) {
        case OPT_JSON: o.json = 1; break;
        case OPT_STATS: o.stats = 1; break;
        case OPT_EXTRACT:
            if (parse_index(optarg, &o.extract))
                return usage("--extract: bad snapshot number '%s'", optarg);
            break;
        case OPT_MAP:
            if (parse_index(optarg, &o.map))
                return usage("--map: bad snapshot number '%s'", optarg);
            break;
        case OPT_RANGE:
            colon = strchr(optarg, ':');
            if (!colon)
                return usage("--range: expected OFFSET:LENGTH, got '%s'",
                           optarg);
            *colon = '\0';
            if (parse_u64(optarg, &o.range_off) ||
                parse_u64(colon + 1, &o.range_len))
                return usage("--range: bad number in '%s'", optarg);
            o.has_range = 1;
            break;
        case OPT_OUTPUT: o.output = optarg; break;
        case OPT_FILL:
            if (strcmp(optarg, "windows") == 0)
                o.fill = VSS_FILL_WINDOWS;
            else if (strcmp(optarg, "zero") == 0)
                o.fill = VSS_FILL_ZERO;
            else if (strcmp(optarg, "live") == 0)
                o.fill = VSS_FILL_LIVE;
            else
                return usage("--fill: expected windows, zero or live, got "
                              "'%s'",
                           optarg);
            break;
        case 'o': offset_arg = optarg; break; /* after --sector-size */
        case OPT_SECTOR_SIZE:
            if (parse_u64(optarg, &v) || v < 512 || v > 65536 ||
                (v & (v - 1)))
                return usage("--sector-size: expected a power of two from "
                             "512 to 65536, got '%s'",
                             optarg);
            o.sector_size = (uint32_t)v;
            break;
        case OPT_FORCE: o.force = ao.force = 1; break;
        case OPT_LS: fo.ls = optarg; break;
        case OPT_FILE: fo.file = optarg; break;
        case OPT_BODYFILE: fo.bodyfile = 1; break;
        case OPT_BACKING: backing_path = optarg; break;
        case OPT_VERIFY_IMAGE: verify_image = 1; break;
        case OPT_CARVE: carve = 1; break;
        case OPT_CARVED: carved = 1; break;
        case OPT_SCAN_ALL: carve_scan_all(1); break;
        case OPT_AUDIT: ao.audit = optarg; break;
        case OPT_DIFF: ao.diff = optarg; break;
        case OPT_HASH: ao.hash = optarg; break;
        case OPT_AUDIT_BLOCKS: ao.blocks = 1; break;
        case OPT_AUDIT_SYSTEM: ao.system = 1; break;
        case OPT_CSV: ao.csv = 1; break;
        case OPT_HTML: ao.html = optarg; break;
        case OPT_HISTORY: ho.history = optarg; break;
        case OPT_UNIQUE: fo.unique = 1; break;
        case OPT_EXPORT_VERSIONS: ho.export_dir = optarg; break;
        case OPT_RECOVER: ho.recover = 1; break;
        case OPT_NO_PROGRESS: ao.progress = o.progress = 0; break;
        case OPT_CASE: meta.case_id = optarg; break;
        case OPT_EXAMINER: meta.examiner = optarg; break;
        case OPT_NOTES: meta.notes = optarg; break;
        case OPT_CSV_BOM: meta.csv_bom = 1; break;
        case OPT_IMAGE_HASH:
            image_hash = optarg;
            if (report_meta_parse_image_hash(&meta, optarg))
                return usage("--image-hash: expected a list of md5, sha1, "
                             "sha256; got '%s'", optarg);
            break;
        case 'r': fo.recursive = 1; break;
        case 'h': fputs(usage_text, stdout); return 0;
        case 'V': printf("vssinfo %s\n", VSS_VERSION_STRING); return 0;
        case ':':
            return usage("%s needs an argument", argv[optind - 1]);
        default:
            if (optopt)
                return usage("unknown option -%c", optopt);
            return usage("unknown option %s", argv[optind - 1]);
        }
    }
    if (offset_arg) {
        uint64_t v;
        if (vss_parse_offset(offset_arg, o.sector_size, &v) ||
            v > INT64_MAX)
            return usage("-o: bad offset '%s' (bytes, or sectors as 'Ns')",
                         offset_arg);
        o.offset = (int64_t)v;
    }
    if (optind >= argc)
        return usage("%s", "no IMAGE given");
    if (o.extract && !o.output && isatty(STDOUT_FILENO))
        return usage("%s", "--extract writes binary data: give --output FILE "
                           "or redirect stdout, not to a terminal");

    if (o.extract && o.map)
        return usage("%s", "--extract and --map: choose one");
    if ((fo.ls || fo.file) && (o.extract || o.map || (fo.ls && fo.file)))
        return usage("%s", "--ls, --file, --extract and --map: choose one");
    if ((fo.bodyfile || fo.recursive || fo.unique) && !fo.ls)
        return usage("%s", "--bodyfile, --unique and -r go with --ls");
    if (o.output && !o.extract && !fo.file && !ao.audit && !ao.diff)
        return usage("%s", "--output goes with --extract, --file, --audit "
                           "or --diff");
    if ((meta.case_id || meta.examiner || meta.notes || image_hash ||
         meta.csv_bom) &&
        !ao.audit && !ao.diff && !ho.history)
        return usage("%s", "--case, --examiner, --notes, --image-hash and "
                           "--csv-bom go with --audit, --diff or "
                           "--history");
    if (meta.csv_bom && !ao.csv)
        return usage("%s", "--csv-bom goes with --csv");
    if ((ao.audit || ao.diff) &&
        (ao.audit && ao.diff ? 1 : 0) + !!o.extract + !!o.map + !!fo.ls +
                !!fo.file > 0)
        return usage("%s", "--audit, --diff, --ls, --file, --extract and "
                            "--map: choose one");
    if (ho.history &&
        (ao.audit || ao.diff || o.extract || o.map || fo.ls || fo.file ||
         ao.blocks || ao.system || o.output))
        return usage("%s", "--history goes alone (with --hash, --json, "
                           "--csv, --html, --export-versions)");
    if (ho.export_dir && !ho.history)
        return usage("%s", "--export-versions goes with --history");
    if (ho.recover && !ho.export_dir)
        return usage("%s", "--recover goes with --export-versions");
    if ((ao.hash || ao.blocks || ao.system || ao.csv || ao.html) &&
        !ao.audit && !ao.diff && !ho.history)
        return usage("%s", "--hash, --audit-blocks, --audit-system, --csv "
                            "and --html go with --audit, --diff or "
                            "--history");
    if (ao.blocks && ao.diff)
        return usage("%s", "--audit-blocks goes with --audit");
    if (ao.csv && o.json)
        return usage("%s", "--csv and --json: choose one");
    if (ao.html &&
        output_is_an_image(ao.html, argv + optind, argc - optind))
        return die(2, "refusing to write over the evidence image %s",
                   ao.html);
    if (o.output &&
        output_is_an_image(o.output, argv + optind, argc - optind))
        return die(2, "refusing to write over the evidence image %s",
                   o.output);

    if (verify_image)
        return verify_images(argv + optind, argc - optind, backing_path,
                             o.progress);

    rc = volumes_discover(&set, argv + optind, argc - optind, o.offset,
                          backing_path, &e);
    if (rc) {
        volumes_free(&set);
        return die(CLI_EXIT_FAILURE, "%s",
                   e.message[0] ? e.message : vss_strerror(rc));
    }
    set.sector_size = o.sector_size;
    /* Each report file: never an evidence image (checked again with every
     * segment, backing file and storage image open), and never an
     * existing file without --force; only files are protected, a device
     * or /dev/null is written to. (Both are created with O_EXCL,
     * output_create, so that holds until written.) */
    for (int k = 0; k < 2; k++) {
        const char *out = k ? ao.html : o.output;
        if (!out)
            continue;
        if (output_is_an_image(out, argv + optind, argc - optind)) {
            volumes_free(&set);
            return die(2, "refusing to write over the evidence image %s",
                       out);
        }
        if (!o.force && output_is_regular(out)) {
            volumes_free(&set);
            errno = EEXIST;
            return output_refused(k ? "--html" : "--output", out);
        }
    }
    if (carve || (carved && !o.extract && !o.map && !fo.ls && !fo.file &&
                  !ao.audit && !ao.diff && !ho.history)) {
        rc = carve_list(&set, o.offset, o.json, o.progress);
        volumes_free(&set);
        return rc;
    }
    if (!o.extract && !o.map && !fo.ls && !fo.file && !ao.audit &&
        !ao.diff && !ho.history) {
        /* Listing reads catalogs and store headers only; --stats also the
         * block lists and bitmaps (O(changed blocks)), whose damage then
         * shows as the store's error below. */
        for (size_t i = 0; o.stats && i < set.n; i++)
            if (set.v[i].vol && vss_volume_load_stores(set.v[i].vol, &e)) {
                volumes_free(&set);
                return die(1, "%s", e.message);
            }
        if (o.json)
            report_list_json(stdout, &set);
        else
            report_list_text(stdout, &set);
        rc = 0;
        if (o.offset >= 0 && !volumes_pick(&set, o.offset, &e))
            rc = die(pick_failure_status(&e), "%s", e.message);
        /* Corrupt shadow copy metadata on an NTFS volume is a failure the
         * exit status must show, after the listing of what could be read. */
        for (size_t i = 0; i < set.n; i++) {
            if (set.v[i].open_rc && set.v[i].part.is_ntfs)
                rc = die(1, "volume at offset %llu of %s: %s",
                         (unsigned long long)set.v[i].part.offset,
                         set.v[i].image, set.v[i].open_error);
            for (int k = 1; set.v[i].vol &&
                            k <= vss_volume_snapshot_count(set.v[i].vol);
                 k++) {
                vss_snapshot_info si;
                if (vss_volume_snapshot_info(set.v[i].vol, k, &si, NULL) ==
                        0 &&
                    si.store_error)
                    rc = die(1, "snapshot %d of the volume at offset %llu: %s",
                             k, (unsigned long long)set.v[i].part.offset,
                             si.store_error_message);
            }
        }
        /* Read, but nothing with shadow copies: a status of its own. */
        if (!rc && !vss_volume_set_any_snapshots(set.lib))
            rc = die(CLI_EXIT_NO_SNAPSHOTS, "no volume with shadow copies "
                                            "in %s%s",
                     argv[optind], argc - optind > 1 ? " or the other images"
                                                     : "");
        if (rc == CLI_EXIT_NO_SNAPSHOTS)
            hint_carve(&set);
        if (rc)
            print_container_errors(&set);
        volumes_free(&set);
        return rc;
    }
    fv = carved ? carve_pick(&set, o.offset, o.progress, &e)
                : volumes_pick(&set, o.offset, &e);
    if (!fv) {
        rc = die(pick_failure_status(&e), "%s", e.message);
        print_container_errors(&set);
        if (rc == CLI_EXIT_NO_SNAPSHOTS && !carved)
            hint_carve(&set);
        volumes_free(&set);
        return rc;
    }
    if ((o.extract || o.map) && fv->vol && !fv->open_rc &&
        vss_volume_snapshot_count(fv->vol) == 0) {
        /* -o named a volume of the image that has no shadow copies */
        char where[1200];
        vss_volume_set_describe(set.lib, 0, o.sector_size, where,
                                sizeof where);
        rc = die(CLI_EXIT_NO_SNAPSHOTS,
                 "the volume at offset %llu has no shadow copies; the "
                 "volumes of %s: %s",
                 (unsigned long long)fv->part.offset, fv->image, where);
        volumes_free(&set);
        return rc;
    }
    if (ho.history) {
        ho.json = o.json;
        ho.csv = ao.csv;
        ho.hash = ao.hash;
        ho.fill = o.fill;
        ho.html = ao.html;
        ho.force = ao.force;
        ho.meta = &meta;
        rc = report_meta_images(&meta, &set, ao.progress);
        if (!rc)
            rc = history_run(fv, &ho); /* seals its --html page */
    } else if (ao.audit || ao.diff) {
        ao.json = o.json;
        ao.fill = o.fill;
        ao.image = fv->image;
        ao.meta = &meta;
        rc = report_meta_images(&meta, &set, ao.progress);
        if (!rc)
            rc = audit_to_files(fv, &ao, &o);
    } else if (fo.ls || fo.file) {
        fo.json = o.json;
        fo.output = o.output;
        fo.force = o.force;
        fo.fill = o.fill;
        rc = files_run(fv, &fo);
    } else if (!fv->vol) {
        rc = die(1, "%s", fv->open_error);
    } else if (fv->open_rc && !vss_volume_storage_ready(fv->vol)) {
        rc = die(1, "%s", fv->open_error);
    } else if (o.extract) {
        rc = do_extract(fv->vol, &o);
    } else {
        rc = do_map(fv->vol, &o);
    }
    if (rc)
        print_container_errors(&set);
    carve_release();
    volumes_free(&set);
    report_meta_free(&meta);
    return rc;
}

/*
 * test_provenance.c — the library's walk (vss_fs_walk) and file provenance
 * (vss_fs_file_provenance) against the generator's manifests
 * (the JSON files in testimages/out, made by `make -C testimages`): for
 * every file the generator wrote into a snapshot,
 *  - the walk finds it (and its named streams), once, and reports a
 *    file's unnamed $DATA as the stream "" with its size and residency;
 *  - the lost ranges (merged across classes) are exactly the manifest's:
 *    zero_ranges where the catalog says not-in-use blocks read as zeros
 *    (flag 0x400), else live_ranges (flag 0x40: stale, today's data), and
 *    of that class; no lost byte elsewhere; lost_zero/lost_stale add up;
 *  - bytes per class cover the file; resident as the manifest says;
 *  - equal content keys only for equal bytes (windows_sha256).
 * And the walk's guards and contract on the same images: a depth limit
 * stops below it and says so, max_entries stops the walk, a callback's
 * non-zero return cancels it with that value, the start path with or
 * without a leading slash walks the same tree. And a hostile tree: the
 * live volume of win10scope with /Users/bob/Documents's index entry
 * pointing back at /Users/bob (a directory loop, an endless chain): the
 * walk reports the loop once, walks every directory once and ends.
 *
 * The manifests are read through python3 (json), which prints one line
 * per fact; everything asserted is what the C API returns.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vss.h"
#include "ctest.h"

/* ---- the walk: collected events ---------------------------------------- */

typedef struct seen {
    char **paths;          /* "path" or "path:stream" */
    size_t n, cap;
    int max_depth_seen;
    int too_deep, loops, errors, entries;
    int visited;           /* index entries: ENTRY, SKIPPED, BAD_ENTRY */
    int stop_after;        /* cancel: return 7 after this many entries */
} seen;

static int add_path(seen *s, const char *path, const char *stream)
{
    char *p = malloc(strlen(path) + (stream ? strlen(stream) + 1 : 0) + 1);
    if (!p)
        return -1;
    strcpy(p, path);
    if (stream) {
        strcat(p, ":");
        strcat(p, stream);
    }
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->paths = realloc(s->paths, s->cap * sizeof *s->paths);
        if (!s->paths)
            abort();
    }
    s->paths[s->n++] = p;
    return 0;
}

static void seen_free(seen *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->paths[i]);
    free(s->paths);
    memset(s, 0, sizeof *s);
}

static int seen_count(const seen *s, const char *path)
{
    int c = 0;
    for (size_t i = 0; i < s->n; i++)
        c += strcmp(s->paths[i], path) == 0;
    return c;
}

static int walk_cb(const vss_walk_entry *e, void *user)
{
    seen *s = user;
    switch (e->event) {
    case VSS_WALK_ENTRY:
        s->visited++;
        s->entries++;
        if (e->depth > s->max_depth_seen)
            s->max_depth_seen = e->depth;
        if (!e->st->is_directory)
            add_path(s, e->path, NULL);
        if (s->stop_after && s->entries >= s->stop_after)
            return 7;
        break;
    case VSS_WALK_STREAM:
        if (e->stream[0]) {
            add_path(s, e->path, e->stream);
        } else {
            /* the unnamed $DATA, as "path::size:resident" (':' is in no
             * NTFS name, "::" in no stream path) */
            char ext[64];
            snprintf(ext, sizeof ext, ":%" PRIu64 ":%d", e->stream_size,
                     e->stream_resident);
            add_path(s, e->path, ext);
        }
        break;
    case VSS_WALK_TOO_DEEP: s->too_deep++; break;
    case VSS_WALK_LOOP: s->loops++; break;
    case VSS_WALK_SKIPPED: s->visited++; break;
    case VSS_WALK_BAD_ENTRY: s->visited++; s->errors++; break;
    default: s->errors++; break;
    }
    return 0;
}

/* ---- ranges "a-b,a-b" ---------------------------------------------------- */

typedef struct rng {
    uint64_t a[64][2];
    int n;
} rng;

static void parse_ranges(const char *s, rng *r)
{
    r->n = 0;
    while (*s && *s != '-' && r->n < 64) {
        char *end;
        r->a[r->n][0] = strtoull(s, &end, 10);
        r->a[r->n][1] = strtoull(end + 1, &end, 10);
        r->n++;
        s = *end == ',' ? end + 1 : end;
    }
}

/* The lost ranges merged when adjacent (class, reason or store split
 * them); only those of class cls unless cls < 0. */
static void lost_merged(const vss_provenance *p, int cls, rng *r)
{
    r->n = 0;
    for (size_t i = 0; i < p->lost_count && r->n < 64; i++) {
        if (cls >= 0 && (int)p->lost[i].cls != cls)
            continue;
        if (r->n && r->a[r->n - 1][1] == p->lost[i].offset)
            r->a[r->n - 1][1] = p->lost[i].offset + p->lost[i].length;
        else {
            r->a[r->n][0] = p->lost[i].offset;
            r->a[r->n][1] = p->lost[i].offset + p->lost[i].length;
            r->n++;
        }
    }
}

static int rng_eq(const rng *x, const rng *y)
{
    if (x->n != y->n)
        return 0;
    for (int i = 0; i < x->n; i++)
        if (x->a[i][0] != y->a[i][0] || x->a[i][1] != y->a[i][1])
            return 0;
    return 1;
}

/* ---- one scenario -------------------------------------------------------- */

typedef struct keyed {
    uint8_t key[32];
    char sha[80];
    char what[300];
} keyed;

static keyed keys[4096];
static size_t nkeys;

static vss_volume *vol;
static vss_source *img;
static vss_snapshot *snap;
static vss_fs *fs;
static int snap_index;
static seen walked;

static void close_snapshot(void)
{
    vss_fs_close(fs);
    vss_snapshot_close(snap);
    seen_free(&walked);
    fs = NULL;
    snap = NULL;
    snap_index = 0;
}

static int open_snapshot(const char *name, int index)
{
    vss_error e = {0};
    vss_source *src = NULL;
    vss_fs_walk_options wo = {0};
    int rc;

    close_snapshot();
    if (vss_snapshot_open(vol, index, VSS_FILL_WINDOWS, &snap, &e) ||
        vss_snapshot_source(snap, &src, &e) || vss_fs_open(src, &fs, &e)) {
        check(0, "%s snapshot %d opens: %s", name, index, e.message);
        vss_source_release(src);
        return -1;
    }
    vss_source_release(src);
    snap_index = index;
    wo.flags = VSS_WALK_RECURSIVE | VSS_WALK_STREAMS | VSS_WALK_SKIP_METADATA |
               VSS_WALK_SKIP_SHADOW_FILES;
    rc = vss_fs_walk(fs, "", &wo, walk_cb, &walked, &e);
    check(rc == 0 && walked.errors == 0 && walked.loops == 0,
          "%s snapshot %d: walk of the root: %zu files and streams, no error "
          "(rc %d: %s)", name, index, walked.n, rc, rc ? e.message : "");

    /* The guards and the contract, on the same tree. */
    if (walked.max_depth_seen >= 2) {
        seen s = {0};
        wo.max_depth = walked.max_depth_seen - 1;
        rc = vss_fs_walk(fs, "/", &wo, walk_cb, &s, &e);
        check(rc == 0 && s.max_depth_seen == wo.max_depth && s.too_deep > 0,
              "%s snapshot %d: max_depth %d: deepest entry at depth %d "
              "(tree goes to %d), %d directories reported too deep",
              name, index, wo.max_depth, s.max_depth_seen,
              walked.max_depth_seen, s.too_deep);
        seen_free(&s);
        wo.max_depth = 0;
    }
    {
        seen s = {0};
        s.stop_after = 3;
        rc = vss_fs_walk(fs, "", &wo, walk_cb, &s, &e);
        check(rc == 7 && s.entries == 3,
              "%s snapshot %d: callback returning 7 at entry 3 cancels: rc "
              "%d after %d entries", name, index, rc, s.entries);
        seen_free(&s);
    }
    {
        seen s = {0};
        wo.max_entries = 2;
        rc = vss_fs_walk(fs, "", &wo, walk_cb, &s, &e);
        check(rc == VSS_ECORRUPT && s.visited == 2 &&
                  strstr(e.message, "entries"),
              "%s snapshot %d: max_entries 2: %s after %d entries (%s)",
              name, index, vss_strerror(rc), s.visited, e.message);
        seen_free(&s);
        wo.max_entries = 0;
    }
    return 0;
}

/* A subtree walked from "dir", "/dir" and "/dir/" gives the same paths,
 * exactly those of the root walk under it. */
static void check_subtree(const char *name, const char *file)
{
    const char *slash = strrchr(file, '/');
    char dir[512];
    seen a = {0}, b = {0}, c = {0};
    vss_fs_walk_options wo = {0};
    vss_error e = {0};
    size_t under = 0, i;
    int same;

    if (!slash || slash == file || (size_t)(slash - file) >= sizeof dir - 2)
        return;
    memcpy(dir, file, (size_t)(slash - file));
    dir[slash - file] = '\0';
    wo.flags = VSS_WALK_RECURSIVE | VSS_WALK_STREAMS;
    vss_fs_walk(fs, dir + 1, &wo, walk_cb, &a, &e);
    vss_fs_walk(fs, dir, &wo, walk_cb, &b, &e);
    strcat(dir, "/");
    vss_fs_walk(fs, dir, &wo, walk_cb, &c, &e);
    for (i = 0; i < walked.n; i++)
        under += strncmp(walked.paths[i], dir, strlen(dir)) == 0;
    same = a.n == b.n && b.n == c.n && a.n == under;
    for (i = 0; same && i < a.n; i++)
        same = strcmp(a.paths[i], b.paths[i]) == 0 &&
               strcmp(a.paths[i], c.paths[i]) == 0;
    check(same, "%s snapshot %d: walk of %s with and without slashes: %zu, "
          "%zu, %zu paths, %zu under it in the root walk",
          name, snap_index, dir, a.n, b.n, c.n, under);
    seen_free(&a);
    seen_free(&b);
    seen_free(&c);
}

static void check_file(const char *name, unsigned flags, int resident,
                       uint64_t size, const char *sha, const char *ranges,
                       const char *path)
{
    vss_fs_file *f = NULL;
    vss_provenance p;
    vss_error e = {0};
    const char *colon = strchr(path, ':');
    rng want, got, gotcls;
    uint64_t sum = 0, zero = 0, stale = 0;
    int cls = flags & 0x400 ? VSS_CLASS_ZERO : VSS_CLASS_STALE;
    int rc;

    check(seen_count(&walked, path) == 1,
          "%s snapshot %d: the walk found %s once", name, snap_index, path);
    if (!colon) {
        char unnamed[4200];
        snprintf(unnamed, sizeof unnamed, "%s::%" PRIu64 ":%d", path, size,
                 resident);
        check(seen_count(&walked, unnamed) == 1,
              "%s snapshot %d: the walk reported %s's unnamed stream (\"\") "
              "once, %" PRIu64 " bytes, resident %d", name, snap_index, path,
              size, resident);
    }
    if (vss_fs_file_open(fs, path, &f, &e)) {
        check(0, "%s snapshot %d: open %s: %s", name, snap_index, path,
              e.message);
        return;
    }
    rc = vss_fs_file_provenance(snap, fs, f, colon ? colon + 1 : NULL, &p,
                                &e);
    vss_fs_file_close(f);
    if (rc) {
        check(0, "%s snapshot %d: provenance of %s: %s", name, snap_index,
              path, e.message);
        return;
    }
    parse_ranges(ranges, &want);
    lost_merged(&p, -1, &got);
    lost_merged(&p, cls, &gotcls);
    for (size_t i = 0; i < p.lost_count; i++) {
        if (p.lost[i].cls == VSS_CLASS_ZERO)
            zero += p.lost[i].length;
        else
            stale += p.lost[i].length;
    }
    for (int i = 0; i < 5; i++)
        sum += p.bytes[i];
    check(rng_eq(&got, &want) && rng_eq(&gotcls, &want),
          "%s snapshot %d: %s: %d lost ranges, all %s, as the manifest says "
          "(%d)", name, snap_index, path, got.n, vss_class_name(cls),
          want.n);
    check(zero == p.lost_zero && stale == p.lost_stale &&
              p.size == size && sum == size && p.resident == resident,
          "%s snapshot %d: %s: size %" PRIu64 ", bytes by class add up to "
          "it (%" PRIu64 "), lost %" PRIu64 " zero + %" PRIu64 " stale, "
          "resident %d", name, snap_index, path, p.size, sum, p.lost_zero,
          p.lost_stale, p.resident);
    check(!p.record_damaged || p.record_lost_count > 0,
          "%s snapshot %d: %s: record damaged %d with %zu record ranges",
          name, snap_index, path, p.record_damaged, p.record_lost_count);
    if (p.key_valid && nkeys < sizeof keys / sizeof keys[0]) {
        for (size_t i = 0; i < nkeys; i++)
            if (memcmp(keys[i].key, p.key, 32) == 0 &&
                strcmp(keys[i].sha, sha) != 0)
                check(0, "%s snapshot %d: %s has the content key of %s but "
                      "other bytes", name, snap_index, path, keys[i].what);
        memcpy(keys[nkeys].key, p.key, 32);
        snprintf(keys[nkeys].sha, sizeof keys[nkeys].sha, "%s", sha);
        snprintf(keys[nkeys].what, sizeof keys[nkeys].what, "%s %d:%s",
                 name, snap_index, path);
        nkeys++;
    }
    vss_provenance_free(&p);
}


/* ---- a directory loop ------------------------------------------------- */

static void put_ref(uint8_t *p, uint64_t record, uint16_t seq)
{
    uint64_t v = record | (uint64_t)seq << 48;
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* The live volume in memory, with the index entries naming `child` in
 * `parent`'s index pointed at `parent` itself. */
static void check_loop(const char *image, uint64_t off, uint64_t size)
{
    const char *parent = "/Users/bob", *child = "/Users/bob/Documents";
    vss_source *disk = NULL, *mem = NULL;
    vss_fs *lfs = NULL, *hfs = NULL;
    vss_fs_stat ps, cs;
    vss_error e = {0};
    uint8_t *buf = NULL, cref[8], pref[8];
    seen s = {0};
    size_t i, patched = 0;
    int rc;

    if (vss_source_open_image(image, NULL, &disk, &e) ||
        vss_source_open_range(disk, off, size, &mem, &e) ||
        vss_fs_open(mem, &lfs, &e) ||
        vss_fs_stat_path(lfs, parent, &ps, &e) ||
        vss_fs_stat_path(lfs, child, &cs, &e)) {
        printf("skip: no %s and %s in %s (%s)\n", parent, child, image,
               e.message);
        goto out;
    }
    buf = malloc(size);
    if (!buf || vss_source_read_at(mem, buf, size, 0) != (int64_t)size) {
        check(0, "loop: read the live volume of %s", image);
        goto out;
    }
    /* An index entry: the file's reference, then 8 bytes of lengths and
     * flags, then its $FILE_NAME key, which starts with the parent's. */
    put_ref(cref, cs.mft_record, cs.sequence);
    put_ref(pref, ps.mft_record, ps.sequence);
    for (i = 0; i + 24 <= size; i += 8)
        if (memcmp(buf + i, cref, 8) == 0 && memcmp(buf + i + 16, pref, 8) == 0) {
            memcpy(buf + i, pref, 8);
            patched++;
        }
    vss_source_release(mem);
    mem = NULL;
    if (!patched ||
        vss_source_open_memory(buf, size, "loop", &mem, &e) ||
        vss_fs_open(mem, &hfs, &e)) {
        check(0, "loop: %zu index entries patched, volume opens: %s",
              patched, e.message);
        goto out;
    }
    {
        vss_fs_walk_options wo = {0};
        wo.flags = VSS_WALK_RECURSIVE | VSS_WALK_STREAMS;
        rc = vss_fs_walk(hfs, "", &wo, walk_cb, &s, &e);
    }
    /* (copies of the index in the shadow copy stores are patched too;
     * the live volume lists the name once) */
    check(rc == 0 && s.loops == 1 && s.errors == 0 &&
              seen_count(&s, "/Users/bob/Documents/tiny.txt") == 0,
          "loop: %s linked back to %s (%zu copies of its index entry): the "
          "walk ends (rc %d), reports %d loop, does not walk it again "
          "(%zu files)", child, parent, patched, rc, s.loops, s.n);
out:
    seen_free(&s);
    vss_fs_close(hfs);
    vss_fs_close(lfs);
    vss_source_release(mem);
    vss_source_release(disk);
    free(buf);
}

static const char *manifest_py =
    "import json,sys,os\n"
    "for mf in sys.argv[1:]:\n"
    "  m=json.load(open(mf))\n"
    "  if m.get('block_list') is None or len(m['volumes'])!=1: continue\n"
    "  v=m['volumes'][0]\n"
    "  print('S',os.path.join(os.path.dirname(mf),m['images'][v['image']]['path']),v['offset'],v['size'],m['scenario'])\n"
    "  for s in m['snapshots']:\n"
    "    fl=s['catalog_flags']\n"
    "    print('N',s['index'])\n"
    "    for f in s['files']:\n"
    "      r=f.get('zero_ranges',[]) if fl&0x400 else f.get('live_ranges',[]) if fl&0x40 else []\n"
    "      rs=','.join('%d-%d'%(a,b) for a,b in r) or '-'\n"
    "      print('F',fl,int(bool(f['resident'])),f['size'],f['windows_sha256'],rs,f['path'])\n";

int main(int argc, char **argv)
{
    char line[8192], name[256] = "";
    const char *dir = argc > 1 ? argv[1] : "testimages/out";
    FILE *py;
    int scenarios = 0, subtree_done = 0;

    py = ct_manifests(dir, manifest_py);
    if (!py) {
        check(0, "python3 runs");
        goto done;
    }
    while (fgets(line, sizeof line, py)) {
        vss_error e = {0};
        line[strcspn(line, "\n")] = '\0';
        if (line[0] == 'S') {
            char path[4096];
            uint64_t off, size;
            vss_source *part = NULL;
            close_snapshot();
            vss_volume_close(vol);
            vss_source_release(img);
            vol = NULL;
            img = NULL;
            if (sscanf(line, "S %4095s %" SCNu64 " %" SCNu64 " %255s", path,
                       &off, &size, name) != 4)
                continue;
            scenarios++;
            subtree_done = 0;
            if (strcmp(name, "win10scope") == 0)
                check_loop(path, off, size);
            if (vss_source_open_image(path, NULL, &img, &e) ||
                vss_source_open_range(img, off, size, &part, &e) ||
                vss_volume_open(part, &vol, &e) ||
                vss_volume_load_stores(vol, &e)) {
                check(0, "%s: open %s: %s", name, path, e.message);
                vss_volume_close(vol);
                vol = NULL;
            }
            vss_source_release(part);
        } else if (line[0] == 'N' && vol) {
            open_snapshot(name, atoi(line + 2));
            subtree_done = 0;
        } else if (line[0] == 'F' && fs) {
            unsigned flags;
            int resident, k = 0;
            uint64_t size;
            char sha[80], ranges[4096];
            if (sscanf(line, "F %u %d %" SCNu64 " %79s %4095s %n", &flags,
                       &resident, &size, sha, ranges, &k) != 5 || !k)
                continue;
            check_file(name, flags, resident, size, sha, ranges, line + k);
            if (!subtree_done && !strchr(line + k, ':') &&
                strchr(line + k + 1, '/')) {
                check_subtree(name, line + k);
                subtree_done = 1;
            }
        }
    }
    pclose(py);
    close_snapshot();
    vss_volume_close(vol);
    vss_source_release(img);
    if (!scenarios)
        printf("skip: no generated manifest in %s (make -C testimages)\n",
               dir);
done:
    return ct_finish(NULL);
}

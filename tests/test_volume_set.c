/*
 * test_volume_set.c — the library's volume discovery (vss.h,
 * vss_volume_set_*) on the real Windows images and the generated ones,
 * against independent truth: the known answers of
 * ../shared/testimages/real/README.md, the generator's manifests
 * (testimages/out/NAME.json) and The Sleuth Kit's mmls (where the
 * partitions are). Run from the source tree (tests/run does); images that
 * are not there are skipped with a line saying so.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vss.h"
#include "ctest.h"

static char real_dir[4096];
/* The generated images: testimages/out, or LIBVSS_TESTIMAGES. */
static const char *gen_dir = "testimages/out";

static const char *real(const char *name, char *buf, size_t n)
{
    snprintf(buf, n, "%s/%s.raw", real_dir, name);
    return buf;
}

static int exists(const char *p)
{
    return access(p, R_OK) == 0;
}

/* The entry of image `image` at byte offset `off`, or -1. */
static long find(const vss_volume_set *set, size_t image, uint64_t off)
{
    size_t i;
    for (i = 0; i < vss_volume_set_count(set); i++) {
        const vss_volume_set_entry *e = vss_volume_set_get(set, i);
        if (e->image_index == image && e->part.offset == off)
            return (long)i;
    }
    return -1;
}

/* The set's volumes of image `image` are exactly the partitions mmls -a
 * lists (start and length in 512-byte sectors). */
static void check_mmls(const vss_volume_set *set, size_t image,
                       const char *path)
{
    char cmd[4200], line[512];
    FILE *p;
    size_t listed = 0, i, ours = 0;
    if (system("command -v mmls >/dev/null 2>&1") != 0) {
        printf("skip mmls comparison of %s: no mmls\n", path);
        return;
    }
    snprintf(cmd, sizeof cmd, "mmls -a '%s' 2>/dev/null", path);
    p = popen(cmd, "r");
    if (!p) {
        CHECK(0, "popen mmls");
        return;
    }
    while (fgets(line, sizeof line, p)) {
        unsigned long long start, end, len;
        char slot[32];
        unsigned idx;
        if (sscanf(line, "%u: %31s %llu %llu %llu", &idx, slot, &start, &end,
                   &len) != 5)
            continue;
        long k = find(set, image, start * 512);
        CHECK(k >= 0, "%s: mmls lists a partition at sector %llu, the set "
                      "has no volume there",
              path, start);
        if (k >= 0)
            CHECK(vss_volume_set_get(set, (size_t)k)->part.size == len * 512,
                  "%s: size of the volume at sector %llu", path, start);
        listed++;
    }
    pclose(p);
    for (i = 0; i < vss_volume_set_count(set); i++)
        ours += vss_volume_set_get(set, i)->image_index == image;
    CHECK(listed > 0 && ours == listed,
          "%s: %zu volumes in the set, mmls lists %zu", path, ours, listed);
}

/* The entry at (src_img, src_off) is redirected and paired with the one at
 * (stor_img, stor_off), whose VSS GUID is its storage GUID. */
static void check_pair(const vss_volume_set *set, size_t src_img,
                       uint64_t src_off, size_t stor_img, uint64_t stor_off,
                       const char *what)
{
    long s = find(set, src_img, src_off), t = find(set, stor_img, stor_off);
    const vss_volume_set_entry *e;
    uint8_t g1[16], g2[16];
    CHECK(s >= 0 && t >= 0, "%s: volumes at %" PRIu64 " and %" PRIu64, what,
          src_off, stor_off);
    if (s < 0 || t < 0)
        return;
    e = vss_volume_set_get(set, (size_t)s);
    CHECK(e->volume && vss_volume_is_redirected(e->volume),
          "%s: source volume redirected", what);
    CHECK(e->storage == t, "%s: storage paired with entry %ld, want %ld",
          what, e->storage, t);
    CHECK(e->error.code == VSS_OK, "%s: source error %s", what,
          e->error.message);
    if (!e->volume || !vss_volume_set_get(set, (size_t)t)->volume)
        return;
    CHECK(vss_volume_storage_ready(e->volume), "%s: storage ready", what);
    vss_volume_storage_guid(e->volume, g1);
    vss_volume_guid(vss_volume_set_get(set, (size_t)t)->volume, g2);
    CHECK(memcmp(g1, g2, 16) == 0, "%s: storage GUID = storage volume's GUID",
          what);
}

/* Snapshot `k` of entry `i` holds `len` bytes of `c` at `off` (README). */
static void check_bytes(const vss_volume_set *set, long i, int k,
                        uint64_t off, size_t len, char c, const char *what)
{
    vss_snapshot *s = NULL;
    vss_error e = {0};
    char *buf = malloc(len);
    size_t j, bad = 0;
    if (i < 0 || !buf) {
        CHECK(0, "%s: no volume", what);
        free(buf);
        return;
    }
    if (vss_snapshot_open(vss_volume_set_get(set, (size_t)i)->volume, k,
                          VSS_FILL_WINDOWS, &s, &e)) {
        CHECK(0, "%s: open snapshot %d: %s", what, k, e.message);
        free(buf);
        return;
    }
    CHECK(vss_snapshot_read_at(s, buf, len, off, &e) == (int64_t)len,
          "%s: read: %s", what, e.message);
    for (j = 0; j < len; j++)
        bad += buf[j] != c;
    CHECK(bad == 0, "%s: %zu of %zu bytes are not '%c'", what, bad, len, c);
    vss_snapshot_close(s);
    free(buf);
}

static vss_volume_set *open_set(const char **paths, size_t n, int64_t off)
{
    vss_volume_set_options o = {NULL, off};
    vss_volume_set *set = NULL;
    vss_error e = {0};
    int rc = vss_volume_set_open(paths, n, &o, &set, &e);
    CHECK(rc == VSS_OK && set, "open %s: %s", paths[0], e.message);
    return set;
}

static void test_real(void)
{
    char a[4200], b[4200];
    const char *p[2];
    vss_volume_set *set;
    vss_error e = {0};
    size_t pick = 99;
    long k;

    if (!exists(real("vss_3_volstor", a, sizeof a))) {
        printf("skip real images: %s missing (tests/lib.sh prepare_real)\n",
               a);
        return;
    }
    /* Storage on partition 1 of the same disk. */
    p[0] = a;
    if ((set = open_set(p, 1, -1))) {
        check_mmls(set, 0, a);
        check_pair(set, 0, 2148532224u, 0, 1048576, "vss_3_volstor");
        CHECK(vss_volume_set_pick(set, -1, 512, &pick, &e) == VSS_OK &&
                  pick == (size_t)find(set, 0, 2148532224u),
              "vss_3_volstor: pick the volume with snapshots: %s", e.message);
        k = find(set, 0, 2148532224u);
        check_bytes(set, k, 2, 261856 * 4096ull, 52272, '2',
                    "vss_3_volstor snapshot 2");
        /* Partition 1 has no shadow copies of its own. */
        CHECK(vss_volume_set_pick(set, 1048576, 512, &pick, &e) ==
                  VSS_OK && pick == (size_t)find(set, 0, 1048576),
              "pick by offset of a listed volume");
        vss_volume_set_close(set);
    }

    /* Storage on another image, given second. */
    p[0] = real("vss_1_vol", a, sizeof a);
    p[1] = real("vss_2_stor", b, sizeof b);
    if ((set = open_set(p, 2, -1))) {
        check_mmls(set, 0, a);
        check_mmls(set, 1, b);
        CHECK(vss_volume_set_image_count(set) == 2, "two images");
        CHECK(strcmp(vss_volume_set_get(set, 0)->image, a) == 0,
              "entry names its image");
        check_pair(set, 0, 34603008, 1, 34603008, "vss_1_vol + vss_2_stor");
        k = find(set, 0, 34603008);
        CHECK(k >= 0 && vss_volume_snapshot_count(
                            vss_volume_set_get(set, (size_t)k)->volume) == 2,
              "vss_1_vol: 2 snapshots");
        check_bytes(set, k, 1, 1837 * 4096ull, 703800, '1',
                    "vss_1_vol snapshot 1 (storage on vss_2_stor)");
        /* Both images' volumes have snapshots, but only the first image's
         * are candidates. */
        CHECK(vss_volume_set_pick(set, -1, 512, &pick, &e) == VSS_OK &&
                  (long)pick == k,
              "pick on vss_1_vol: %s", e.message);
        vss_volume_set_close(set);
    }
    /* Without its storage image: listed, not paired, not readable. */
    if ((set = open_set(p, 1, -1))) {
        k = find(set, 0, 34603008);
        CHECK(k >= 0 && vss_volume_set_get(set, (size_t)k)->storage == -1 &&
                  !vss_volume_storage_ready(
                      vss_volume_set_get(set, (size_t)k)->volume),
              "vss_1_vol alone: storage not attached");
        vss_volume_set_close(set);
    }

    /* Windows Server 2003, MBR, volume at sector 63. */
    p[0] = real("vss_2003", a, sizeof a);
    if ((set = open_set(p, 1, -1))) {
        check_mmls(set, 0, a);
        CHECK(vss_volume_set_pick(set, -1, 512, &pick, &e) == VSS_OK &&
                  vss_volume_set_get(set, pick)->part.offset == 32256,
              "vss_2003: the volume at sector 63: %s", e.message);
        CHECK(vss_volume_set_pick(set, 32256, 512, &pick, &e) == VSS_OK,
              "vss_2003: -o 32256");
        e.code = 0;
        CHECK(vss_volume_set_pick(set, 512, 512, &pick, &e) == VSS_ENOTFOUND &&
                  e.code == VSS_ENOTFOUND &&
                  strstr(e.message, "32256 = sector 63") != NULL,
              "vss_2003: nothing at 512, the message says where: %s",
              e.message);
        vss_volume_set_close(set);
    }
    /* A volume no table lists, named by its offset: vss_2003 at 32256 is
     * listed, so the entry is the table's (scheme "mbr"). */
    if ((set = open_set(p, 1, 32256))) {
        CHECK(vss_volume_set_count(set) == 1 &&
                  strcmp(vss_volume_set_get(set, 0)->part.scheme, "mbr") == 0,
              "named offset listed by the table: one entry");
        vss_volume_set_close(set);
    }
    /* Named at an offset inside the volume: an extra "offset" entry,
     * without shadow copies, which pick refuses. */
    if ((set = open_set(p, 1, 65536))) {
        k = find(set, 0, 65536);
        CHECK(k >= 0 && strcmp(vss_volume_set_get(set, (size_t)k)->part.scheme,
                               "offset") == 0,
              "unlisted named offset gets an entry");
        CHECK(vss_volume_set_pick(set, 65536, 512, &pick, &e) == VSS_ENOTFOUND,
              "unlisted offset without VSS refused");
        vss_volume_set_close(set);
    }
}

/* "key": value after `from` in the manifest text (a number), or -1. */
static long long json_num(const char *from, const char *key)
{
    char k[64];
    const char *q;
    snprintf(k, sizeof k, "\"%s\": ", key);
    q = strstr(from, k);
    return q ? strtoll(q + strlen(k), NULL, 10) : -1;
}

/* testimages/out/NAME.json: its source and storage volumes (image index,
 * offset) must be what the set finds and pairs. */
static void test_generated(const char *name)
{
    char path[256], *text;
    char img[2][600];
    const char *p[2];
    size_t n = 0, len;
    FILE *f;
    vss_volume_set *set;

    snprintf(path, sizeof path, "%s/%s.json", gen_dir, name);
    f = fopen(path, "r");
    if (!f) {
        printf("skip %s: %s missing (make testimages)\n", name, path);
        return;
    }
    text = calloc(1, 1 << 20);
    len = text ? fread(text, 1, (1 << 20) - 1, f) : 0;
    fclose(f);
    if (!len) {
        CHECK(0, "%s: read", path);
        free(text);
        return;
    }
    /* "images": [{"path": "X.img", ...}, {"path": ...}] */
    const char *q = strstr(text, "\"images\"");
    const char *images_end = q ? strchr(q, ']') : NULL;
    while (q && n < 2 && (q = strstr(q, "\"path\": \"")) &&
           q < images_end) {
        q += 9;
        const char *end = strchr(q, '"');
        snprintf(img[n], sizeof img[n], "%s/%.*s", gen_dir,
                 (int)(end - q), q);
        p[n] = img[n];
        n++;
        q = end;
    }
    const char *src = strstr(text, "\"role\": \"source\"");
    const char *stor = strstr(text, "\"role\": \"storage\"");
    CHECK(n >= 1 && src && stor, "%s: manifest", path);
    if (n >= 1 && src && stor && (set = open_set(p, n, -1))) {
        size_t i;
        for (i = 0; i < n; i++)
            check_mmls(set, i, p[i]);
        check_pair(set, (size_t)json_num(src, "image"),
                   (uint64_t)json_num(src, "offset"),
                   (size_t)json_num(stor, "image"),
                   (uint64_t)json_num(stor, "offset"), name);
        vss_volume_set_close(set);
    }
    free(text);
}

/* vss_volume_set_empty_hints' callback: keeps the sentences, joined. */
static void collect_hint(const char *sentence, void *user)
{
    char *all = user;
    size_t len = strlen(all);
    snprintf(all + len, 2048 - len, "%s|", sentence);
}

/* The generated carve scenario NAME (testimages/out/carve/NAME.json):
 * how many snapshots its manifest says the catalog kept. -1 when absent. */
static long long carve_kept(const char *name, char *img, size_t imgsz)
{
    char path[600], text[8192];
    size_t len;
    FILE *f;
    snprintf(path, sizeof path, "%s/carve/%s.json", gen_dir, name);
    snprintf(img, imgsz, "%s/carve/%s.img", gen_dir, name);
    f = fopen(path, "r");
    if (!f)
        return -1;
    len = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[len] = 0;
    const char *d = strstr(text, "\"deletion\"");
    return d ? json_num(d, "kept") : -1;
}

/* The carver's hints (vss_volume_set_empty_hints) against the generator's
 * manifests: every snapshot of carve_all deleted (its catalog emptied, the
 * VSS header kept) gives the one sentence of its volume at offset 0, as
 * vss_volume_set_empty_describe says it; a second image is not hinted at;
 * carve_keep, whose catalog still lists snapshots, gives none, alone or
 * with carve_all. */
static void test_empty_hints(void)
{
    char all_img[600], keep_img[600], got[2048], want[300];
    long long all_kept = carve_kept("carve_all", all_img, sizeof all_img);
    long long keep_kept = carve_kept("carve_keep", keep_img, sizeof keep_img);
    const char *p[2];
    vss_volume_set *set;
    size_t n;
    if (all_kept < 0 || keep_kept < 0 || !exists(all_img) ||
        !exists(keep_img)) {
        printf("skip empty hints: %s/carve missing (make -C testimages "
               "carve)\n", gen_dir);
        return;
    }
    CHECK(all_kept == 0 && keep_kept > 0, "manifests: kept %lld and %lld",
          all_kept, keep_kept);

    p[0] = p[1] = all_img;
    if ((set = open_set(p, 1, -1))) {
        got[0] = 0;
        n = vss_volume_set_empty_hints(set, collect_hint, got);
        vss_volume_set_empty_describe(set, 0, want, sizeof want);
        strcat(want, "|");
        check(n == 1 && !strcmp(got, want) &&
                  strstr(got, "the volume at offset 0 has a VSS header but "
                              "no snapshot in its catalog"),
              "empty hints: carve_all (catalog emptied) gives its volume's "
              "sentence: %zu, %s", n, got);
        check(vss_volume_set_empty_hints(set, NULL, NULL) == 1,
              "empty hints: without a callback, the count");
        vss_volume_set_close(set);
    }
    if ((set = open_set(p, 2, -1))) {
        got[0] = 0;
        n = vss_volume_set_empty_hints(set, collect_hint, got);
        check(n == 1 && !strcmp(got, want),
              "empty hints: a second image is not hinted at: %zu, %s", n,
              got);
        vss_volume_set_close(set);
    }
    p[0] = keep_img;
    if ((set = open_set(p, 1, -1))) {
        got[0] = 0;
        n = vss_volume_set_empty_hints(set, collect_hint, got);
        check(n == 0 && !got[0],
              "empty hints: none for carve_keep (its catalog lists %lld): "
              "%zu", keep_kept, n);
        vss_volume_set_close(set);
    }
    p[0] = all_img;
    p[1] = keep_img;
    if ((set = open_set(p, 2, -1))) {
        n = vss_volume_set_empty_hints(set, NULL, NULL);
        check(n == 0, "empty hints: none when another image lists "
                      "snapshots: %zu", n);
        vss_volume_set_close(set);
    }
    check(vss_volume_set_empty_hints(NULL, collect_hint, got) == 0,
          "empty hints: none for no set");
}

static void test_parse_offset(void)
{
    uint64_t v = 0;
    CHECK(vss_parse_offset("32256", 512, &v) == VSS_OK && v == 32256, "bytes");
    CHECK(vss_parse_offset("63s", 512, &v) == VSS_OK && v == 32256,
          "sectors");
    CHECK(vss_parse_offset("63s", 4096, &v) == VSS_OK && v == 63 * 4096,
          "4K sectors");
    CHECK(vss_parse_offset("0x7e00", 512, &v) == VSS_OK && v == 32256, "hex");
    CHECK(vss_parse_offset("s", 512, &v) == VSS_EINVAL, "no number");
    CHECK(vss_parse_offset("-1", 512, &v) == VSS_EINVAL, "negative");
    CHECK(vss_parse_offset("12x", 512, &v) == VSS_EINVAL, "trailing text");
    CHECK(vss_parse_offset("36028797018963968s", 512, &v) == VSS_EINVAL,
          "sector overflow");
    CHECK(vss_parse_offset("", 512, &v) == VSS_EINVAL, "empty");
}

static void test_errors(void)
{
    const char *p[1] = {"/nonexistent/image.raw"};
    vss_volume_set *set = (vss_volume_set *)1;
    vss_error e = {0};
    CHECK(vss_volume_set_open(p, 1, NULL, &set, &e) != VSS_OK && !set &&
              strstr(e.message, "/nonexistent/image.raw"),
          "missing image named: %s", e.message);
    CHECK(vss_volume_set_open(p, 0, NULL, &set, &e) == VSS_EINVAL,
          "no image");
}

int main(void)
{
    const char *w = getenv("LIBVSS_TEST_WORK"), *t = getenv("TMPDIR");
    snprintf(real_dir, sizeof real_dir, "%s/real",
             w ? w : t ? t : "/tmp");
    if (!w)
        snprintf(real_dir, sizeof real_dir, "%s/libvss-tests/real",
                 t ? t : "/tmp");
    if (getenv("LIBVSS_TESTIMAGES"))
        gen_dir = getenv("LIBVSS_TESTIMAGES");
    test_parse_offset();
    test_errors();
    test_real();
    test_generated("redirpart");
    test_generated("redirimage");
    test_empty_hints();
    return ct_finish(NULL);
}

/*
 * test_faults.c — fault injection: for N = 1, 2, 3, ... run open + list +
 * read (+ map) of a volume with the Nth read (vss_test_fail_read_after) or
 * the Nth allocation (vss_test_fail_alloc_after) failing, until an
 * iteration runs without reaching the injected fault. Every iteration that
 * fails must fail cleanly: the right code (VSS_EIO / VSS_ENOMEM) with a
 * message, no crash; under `make test-asan` LeakSanitizer checks that no
 * failure path leaks, under `make valgrind` memcheck does.
 *
 * Volumes: the mini volumes of tests/fuzz/corpus/snapshot (real metadata,
 * see tests/fuzz/make_seeds.py) and, when present, the real vsstest.raw
 * (LIBVSS_FAULT_IMAGE, /tmp/img/vsstest.raw or the test work directory;
 * read-only) through vss_disk_scan and a file source.
 * Prints a line per volume and kind, then "N passed, N failed".
 */
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz/fz_volume.h"

static int passed, failed;

/* The map walk allocates (its per-store cursors): a run callback that
 * only accepts. */
static int accept_run(const vss_run *r, void *user)
{
    (void)r;
    (void)user;
    return 0;
}

/* One full pass: returns 0 or the first error (checked to be clean). */
static int scenario(vss_source *disk, int scan, vss_error *err)
{
    static uint8_t buf[3 * 16384];
    vss_source *vol = disk;
    vss_volume *v = NULL;
    int rc, n, i;

    if (scan) {
        vss_partition *p = NULL;
        size_t np = 0;
        rc = vss_disk_scan(disk, &p, &np, err);
        if (rc)
            return rc;
        rc = np ? vss_source_open_range(disk, p[0].offset, p[0].size, &vol,
                                        err)
                : vss_fail(err, VSS_ENOTFOUND, "no partition");
        vss_partitions_free(p);
        if (rc)
            return rc;
    }
    rc = vss_volume_open(vol, &v, err);
    if (scan)
        vss_source_release(vol);
    if (rc)
        return rc;
    n = vss_volume_snapshot_count(v);
    for (i = 1; i <= n && !rc; i++) {
        vss_snapshot_info info;
        rc = vss_volume_snapshot_info(v, i, &info, err);
    }
    for (i = 1; i <= n && !rc; i++) {
        vss_snapshot *s = NULL;
        const vss_store *st = &v->stores[i - 1];
        uint64_t offs[3] = {0, 0, 0};
        rc = vss_snapshot_open(v, i, VSS_FILL_WINDOWS, &s, err);
        if (rc)
            break;
        offs[1] = vss_snapshot_size(s) / 2;
        if (st->loaded && st->descs && st->ndescs)
            offs[2] = st->descs[st->ndescs / 2].original;
        for (int k = 0; k < 3 && !rc; k++) {
            int64_t got = vss_snapshot_read_at(s, buf, sizeof buf, offs[k],
                                               err);
            if (got < 0)
                rc = (int)got;
        }
        for (int k = 0; k < 3 && !rc; k++)
            rc = vss_snapshot_map(s, offs[k], 1 << 20, accept_run, NULL, err);
        if (!rc) {
            vss_source *ss = NULL;
            rc = vss_snapshot_source(s, &ss, err);
            if (!rc) {
                if (vss_source_read_at(ss, buf, 4096, 0) < 0)
                    rc = vss_fail(err, VSS_EIO, "snapshot source read at "
                                                "offset 0 failed");
                vss_source_release(ss);
            }
        }
        vss_snapshot_close(s);
    }
    vss_volume_close(v);
    return rc;
}

/* Did the injected fault trigger? The countdowns stay expired (-1) once
 * hit: probe them, then disarm. */
static int read_fault_hit(void)
{
    static const uint8_t one[1] = {0};
    static vss_source *probe;
    uint8_t b;
    int hit;
    if (!probe) {
        vss_test_fail_read_after(0);
        vss_test_fail_alloc_after(0);
        vss_source_open_memory(one, 1, "probe", &probe, NULL);
    }
    hit = vss_source_read_at(probe, &b, 1, 0) < 0;
    vss_test_fail_read_after(0);
    return hit;
}

static int alloc_fault_hit(void)
{
    void *p = vss_malloc(1);
    int hit = p == NULL;
    free(p);
    vss_test_fail_alloc_after(0);
    return hit;
}

static void run_kind(const char *name, vss_source *src, int scan, int alloc)
{
    vss_error err;
    long n, last_absorbed = 0;
    int bad = 0, failures = 0, absorbed = 0, rc;
    char first[160] = "";

    /* A clean pass first: the volume must work without faults. */
    memset(&err, 0, sizeof err);
    rc = scenario(src, scan, &err);
    if (rc) {
        printf("FAIL %s: does not open without faults: %s\n", name,
               err.message);
        failed++;
        return;
    }
    (void)read_fault_hit(); /* creates the probe source outside the count */
    for (n = 1; n < 200000; n++) {
        int hit;
        memset(&err, 0, sizeof err);
        if (alloc)
            vss_test_fail_alloc_after(n);
        else
            vss_test_fail_read_after(n);
        rc = scenario(src, scan, &err);
        hit = alloc ? alloc_fault_hit() : read_fault_hit();
        if (!hit && rc == 0) {
            /* The whole scenario ran before the Nth operation. At n - 1 the
             * probe itself was the Nth operation: not a fault the library
             * absorbed. */
            if (last_absorbed == n - 1)
                absorbed--;
            break;
        }
        if (rc == 0) {
            absorbed++; /* a failure the library ignores (e.g. probing) */
            last_absorbed = n;
            continue;
        }
        failures++;
        if (rc != (alloc ? VSS_ENOMEM : VSS_EIO) || err.code != rc ||
            !err.message[0]) {
            if (bad++ < 5)
                printf("FAIL %s: %s fault %ld: rc %d (%s), message '%s'\n",
                       name, alloc ? "alloc" : "read", n, rc,
                       vss_strerror(rc), err.message);
        } else if (!first[0]) {
            snprintf(first, sizeof first, "%.150s", err.message);
        }
    }
    vss_test_fail_alloc_after(0);
    vss_test_fail_read_after(0);
    printf("%s %s, %s faults: %ld iterations, %d clean errors, %d absorbed, "
           "%d bad%s%s\n",
           bad ? "FAIL" : "ok  ", name, alloc ? "allocation" : "read", n,
           failures, absorbed, bad, first[0] ? "; e.g. " : "", first);
    if (bad)
        failed++;
    else
        passed++;
}

static const char *find_dir(const char *argv0)
{
    static char cand[4096];
    struct stat st;
    const char *slash = strrchr(argv0, '/');
    if (stat("tests/fuzz/corpus/snapshot", &st) == 0 || !slash)
        return "tests/fuzz/corpus/snapshot";
    for (int up = 2; up <= 3; up++) {
        snprintf(cand, sizeof cand, "%.*s", (int)(slash - argv0), argv0);
        for (int u = 0; u < up; u++)
            strncat(cand, "/..", sizeof cand - strlen(cand) - 1);
        strncat(cand, "/tests/fuzz/corpus/snapshot",
                sizeof cand - strlen(cand) - 1);
        if (stat(cand, &st) == 0)
            return cand;
    }
    return "tests/fuzz/corpus/snapshot";
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *b;
    long n;
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    b = malloc(n > 0 ? (size_t)n : 1);
    if (!b || fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        fclose(f);
        return NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return b;
}

int main(int argc, char **argv)
{
    static const char *names[] = {"vsstest", "w2003", "stor2",
                                  "gen-example"};
    const char *dir = argc > 1 ? argv[1] : find_dir(argv[0]);
    const char *img = getenv("LIBVSS_FAULT_IMAGE");
    char path[4096], label[128];
    struct stat st;

    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        size_t len;
        uint8_t *data;
        vss_source *src;
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        data = slurp(path, &len);
        if (!data || fz_sparse_source(data, len, &src) != 0) {
            printf("skip %s: cannot read\n", path);
            free(data);
            continue;
        }
        snprintf(label, sizeof label, "mini volume %s", names[i]);
        run_kind(label, src, 0, 0);
        run_kind(label, src, 0, 1);
        vss_source_release(src);
        free(data);
    }
    if (!img || stat(img, &st) != 0) {
        static char work[4096];
        const char *tmp = getenv("TMPDIR");
        snprintf(work, sizeof work, "%s/libvss-tests/real/vsstest.raw",
                 tmp ? tmp : "/tmp");
        img = stat("/tmp/img/vsstest.raw", &st) == 0 ? "/tmp/img/vsstest.raw"
              : stat(work, &st) == 0                 ? work
                                                     : NULL;
    }
    if (img) {
        vss_source *src;
        vss_error err;
        if (vss_source_open_file(img, &src, &err) == 0) {
            snprintf(label, sizeof label, "real image %.100s", img);
            run_kind(label, src, 1, 0);
            run_kind(label, src, 1, 1);
            vss_source_release(src);
        } else {
            printf("skip %s: %s\n", img, err.message);
        }
    } else {
        printf("skip real image: vsstest.raw not found\n");
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}

/*
 * test_hostile.c — hostile images built from real volumes' metadata.
 *
 * The mini volumes in tests/fuzz/corpus/snapshot (the metadata blocks of
 * vsstest.raw, vss_2003.raw and vss_2_stor.raw at their real offsets; see
 * tests/fuzz/make_seeds.py) are loaded into memory, walked (header,
 * catalog, and every store's header, block list, block ranges and bitmaps),
 * and then broken in many ways: truncation at every metadata boundary,
 * loops and wild pointers in every chain, giant sizes and offsets,
 * duplicated and overlapping descriptors, forwarder cycles, short bitmaps,
 * zeroed headers, wrong record types and seeded random byte flips.
 *
 * Each case runs under alarm() and (without sanitizers) an address-space
 * rlimit, opens the volume, lists it and reads ranges of every snapshot
 * checking the invariants of tests/fuzz/fz_volume.h. A case passes when the
 * result is either a success (a defined result: every invariant held) or
 * an error with a known code and a message that names an offset. One line
 * per class, then "N passed, N failed".
 *
 * Usage: hostile_test [CORPUS_DIR]   (default tests/fuzz/corpus/snapshot,
 * also found relative to the binary). HOSTILE_FLIPS=N sets the number of
 * random-flip cases per volume (default 1000); HOSTILE_NO_RLIMIT=1 skips
 * the address-space limit (valgrind needs more). The cases run in process
 * (under ASan, ASan itself catches memory errors and LeakSanitizer leaks
 * at exit); HOSTILE_FORK=1 runs each in a child process instead, which
 * names the case that crashes but is about ten times slower (fork, and
 * every child faulting its heap in afresh).
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fuzz/fz_volume.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

#define BS 16384u
#define CASE_SECONDS 20
#define CASE_MEM (2048ull << 20)

static int passed, failed;
static int no_fork; /* in process: the default; HOSTILE_FORK=1 forks */

/* ---- the image model: 16 KiB blocks at their volume offsets ------------------ */

typedef struct blk {
    uint64_t off;
    uint8_t d[BS];
} blk;

typedef struct image {
    char name[64];
    uint64_t size;
    blk *b;
    size_t n;
} image;

enum role { R_CATALOG, R_STORE, R_BLOCKLIST, R_RANGES, R_BITMAP, R_PREVBM };
static const char *role_name[] = {"catalog", "store header", "block list",
                                  "block ranges", "bitmap", "previous bitmap"};

typedef struct meta {
    uint64_t off;
    int role;
    int store;
} meta;

typedef struct walk {
    meta m[512];
    size_t n;
    uint64_t loc_entry[64]; /* volume offsets of the type-3 entries */
    size_t nloc;
    uint64_t snap_entry[64]; /* type-2 entries */
    size_t nsnap;
} walk;

static blk *find_blk(image *im, uint64_t off)
{
    for (size_t i = 0; i < im->n; i++)
        if (im->b[i].off == off)
            return &im->b[i];
    return NULL;
}

static blk *get_blk(image *im, uint64_t off)
{
    blk *b = find_blk(im, off);
    if (b)
        return b;
    im->b = realloc(im->b, (im->n + 1) * sizeof *im->b);
    if (!im->b)
        abort();
    b = &im->b[im->n++];
    memset(b, 0, sizeof *b);
    b->off = off;
    return b;
}

static void image_copy(image *dst, const image *src)
{
    *dst = *src;
    dst->b = malloc(src->n * sizeof *src->b + 1);
    if (!dst->b)
        abort();
    memcpy(dst->b, src->b, src->n * sizeof *src->b);
}

static void image_free(image *im)
{
    free(im->b);
    im->b = NULL;
}

static uint8_t *at(image *im, uint64_t off) /* a byte of a present block */
{
    blk *b = find_blk(im, off - off % BS);
    return b ? b->d + off % BS : NULL;
}

static uint64_t get64(image *im, uint64_t off)
{
    uint8_t *p = at(im, off);
    return p ? fz_le64(p) : 0;
}

static void put64(image *im, uint64_t off, uint64_t v)
{
    uint8_t *p = at(im, off);
    if (!p)
        p = get_blk(im, off - off % BS)->d + off % BS;
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put32(image *im, uint64_t off, uint32_t v)
{
    uint8_t *p = at(im, off);
    if (p)
        for (int i = 0; i < 4; i++)
            p[i] = (uint8_t)(v >> (8 * i));
}

static int load_image(const char *path, image *im)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    long n;
    size_t pos = 8;
    const char *base = strrchr(path, '/');

    memset(im, 0, sizeof *im);
    snprintf(im->name, sizeof im->name, "%.60s", base ? base + 1 : path);
    if (!f)
        return -1;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n || n < 8) {
        fclose(f);
        free(buf);
        return -1;
    }
    fclose(f);
    im->size = fz_le64(buf);
    while (pos + 12 <= (size_t)n) {
        uint64_t off = fz_le64(buf + pos);
        size_t len = fz_le32(buf + pos + 8);
        pos += 12;
        if (len > (size_t)n - pos)
            len = (size_t)n - pos;
        for (size_t k = 0; k < len; k++) {
            uint64_t o = off + k;
            get_blk(im, o - o % BS)->d[o % BS] = buf[pos + k];
        }
        pos += len;
    }
    free(buf);
    return 0;
}

/* The container for fz_sparse_source: every block in full. */
static uint8_t *serialize(const image *im, size_t *len)
{
    size_t n = 8 + im->n * (12 + BS);
    uint8_t *out = malloc(n), *p = out;
    if (!out)
        abort();
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(im->size >> (8 * i));
    p += 8;
    for (size_t k = 0; k < im->n; k++) {
        for (int i = 0; i < 8; i++)
            p[i] = (uint8_t)(im->b[k].off >> (8 * i));
        p[8] = (uint8_t)BS;
        p[9] = (uint8_t)(BS >> 8);
        p[10] = p[11] = 0;
        memcpy(p + 12, im->b[k].d, BS);
        p += 12 + BS;
    }
    *len = n;
    return out;
}

static int is_vss_block(image *im, uint64_t off, uint32_t type)
{
    blk *b = find_blk(im, off);
    return b && memcmp(b->d, vss_identifier, 16) == 0 &&
           fz_le32(b->d + 20) == type && fz_le64(b->d + 32) == off;
}

static void walk_chain(image *im, walk *w, uint64_t off, uint32_t type,
                       int role, int store)
{
    int guard = 0;
    while (off && off % BS == 0 && is_vss_block(im, off, type) &&
           guard++ < 64 && w->n < 512) {
        w->m[w->n].off = off;
        w->m[w->n].role = role;
        w->m[w->n].store = store;
        w->n++;
        if (fz_le64(find_blk(im, off)->d + 40) == off)
            break;
        off = fz_le64(find_blk(im, off)->d + 40);
    }
}

static void walk_image(image *im, walk *w)
{
    uint64_t cat = get64(im, 0x1E00 + 48);
    size_t first, i;
    memset(w, 0, sizeof *w);
    walk_chain(im, w, cat, 2, R_CATALOG, -1);
    first = w->n;
    for (i = 0; i < first; i++) {
        uint64_t b = w->m[i].off;
        for (uint64_t e = b + 128; e + 128 <= b + BS; e += 128) {
            uint64_t t = get64(im, e);
            if (t == 0)
                break;
            if (t == 2 && w->nsnap < 64)
                w->snap_entry[w->nsnap++] = e;
            if (t != 3 || w->nloc >= 64)
                continue;
            int st = (int)w->nloc;
            w->loc_entry[w->nloc++] = e;
            walk_chain(im, w, get64(im, e + 32), 4, R_STORE, st);
            walk_chain(im, w, get64(im, e + 8), 3, R_BLOCKLIST, st);
            walk_chain(im, w, get64(im, e + 40), 5, R_RANGES, st);
            walk_chain(im, w, get64(im, e + 48), 6, R_BITMAP, st);
            walk_chain(im, w, get64(im, e + 72), 6, R_PREVBM, st);
        }
    }
}

static uint64_t free_block(image *im) /* an offset past every block */
{
    uint64_t m = 0;
    for (size_t i = 0; i < im->n; i++)
        if (im->b[i].off > m)
            m = im->b[i].off;
    return m + BS;
}

/* ---- running one case in a child -------------------------------------------- */

typedef struct result {
    int rc;
    char msg[512];
} result;

typedef struct klass {
    const char *name;
    int cases, ok, bad, errors, defined;
    int must_open; /* the baseline: an error is a failure */
    char first_err[200];
    double max_seconds;
    long max_rss_kb;
} klass;

static void run_case(klass *k, const image *im, uint64_t seed,
                     const char *what)
{
    size_t len;
    uint8_t *data = serialize(im, &len);
    int fds[2];
    pid_t pid;
    result res;
    struct timespec t0, t1;
    struct rusage ru;
    int status = 0;
    ssize_t got;

    fflush(stdout);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (no_fork) {
        /* In process (the default; a child per case is about ten times
         * slower, with the same verdicts): a crash or an invariant
         * failure ends the whole test, a hang trips alarm(), and main's
         * RLIMIT_AS bounds what a case may allocate as a child's does. */
        vss_source *src;
        vss_error err = {0};
        memset(&res, 0, sizeof res);
        alarm(CASE_SECONDS);
        if (fz_sparse_source(data, len, &src) != 0)
            abort();
        res.rc = fz_exercise_volume(src, seed, 4, 8, &err);
        if (res.rc)
            memcpy(res.msg, err.message, sizeof res.msg);
        vss_source_release(src);
        alarm(0);
        free(data);
        getrusage(RUSAGE_SELF, &ru);
        got = sizeof res;
        goto judge;
    }
    if (pipe(fds) != 0)
        abort();
    pid = fork();
    if (pid == 0) {
        vss_source *src;
        vss_error err = {0};
        close(fds[0]);
        alarm(CASE_SECONDS);
        if (!UNDER_ASAN && !getenv("HOSTILE_NO_RLIMIT")) {
            struct rlimit rl = {CASE_MEM, CASE_MEM};
            setrlimit(RLIMIT_AS, &rl);
        }
        memset(&res, 0, sizeof res);
        if (fz_sparse_source(data, len, &src) != 0)
            _exit(3);
        res.rc = fz_exercise_volume(src, seed, 4, 8, &err);
        if (res.rc)
            memcpy(res.msg, err.message, sizeof res.msg);
        vss_source_release(src);
        free(data);
        if (write(fds[1], &res, sizeof res) != sizeof res)
            _exit(4);
        /* exit, not _exit: LeakSanitizer checks each case at exit. */
        exit(0);
    }
    close(fds[1]);
    free(data);
    memset(&res, 0, sizeof res);
    got = read(fds[0], &res, sizeof res);
    close(fds[0]);
    if (wait4(pid, &status, 0, &ru) < 0)
        status = -1;
judge:
    clock_gettime(CLOCK_MONOTONIC, &t1);
    {
        double s = (double)(t1.tv_sec - t0.tv_sec) +
                   (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        if (s > k->max_seconds)
            k->max_seconds = s;
        if (ru.ru_maxrss > k->max_rss_kb)
            k->max_rss_kb = ru.ru_maxrss;
    }
    k->cases++;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
        got != (ssize_t)sizeof res) {
        k->bad++;
        printf("FAIL %s / %s / %s: child %s %d\n", im->name, k->name, what,
               WIFSIGNALED(status) ? "killed by signal" : "exit status",
               WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
        return;
    }
    if (res.rc == 0) {
        k->defined++;
        k->ok++;
        return;
    }
    k->errors++;
    if (k->must_open) {
        k->bad++;
        printf("FAIL %s / %s / %s: error %d: %s\n", im->name, k->name, what,
               res.rc, res.msg);
        return;
    }
    if (res.msg[0] == '\0' || !strstr(res.msg, "offset")) {
        k->bad++;
        printf("FAIL %s / %s / %s: error %d without an offset: '%s'\n",
               im->name, k->name, what, res.rc, res.msg);
        return;
    }
    if (!k->first_err[0])
        snprintf(k->first_err, sizeof k->first_err, "%s: %.150s",
                 vss_strerror(res.rc), res.msg);
    k->ok++;
}

static void report(klass *k)
{
    printf("%s %-28s %5d cases: %d errors, %d defined, max %.2f s, max rss "
           "%ld MiB%s%s\n",
           k->bad ? "FAIL" : "ok  ", k->name, k->cases, k->errors, k->defined,
           k->max_seconds, k->max_rss_kb / 1024, k->first_err[0] ? "; e.g. " : "",
           k->first_err);
    passed += k->ok;
    failed += k->bad;
}

/* A case that must be refused: the image is opened and every snapshot
 * reading through the store whose location entry is loc (its store GUID
 * at +16) must fail to open with VSS_ECORRUPT and a message holding want
 * and an offset; the volume itself must still list. Run in process, under
 * alarm(): the library only parses here, no read is made. */
static void refused_case(klass *k, const image *im, uint64_t loc,
                         const char *what, const char *want)
{
    size_t len;
    uint8_t *data = serialize(im, &len);
    uint8_t guid[16];
    vss_source *src = NULL;
    vss_volume *v = NULL;
    vss_error err = {0};
    int count, i, mine = 0, refused = 0, wrong = 0;
    char got[sizeof err.message] = "";

    memcpy(guid, find_blk((image *)im, loc - loc % BS)->d + loc % BS + 16, 16);
    alarm(CASE_SECONDS);
    if (fz_sparse_source(data, len, &src) != 0)
        abort();
    if (vss_volume_open(src, &v, &err) == 0) {
        count = vss_volume_snapshot_count(v);
        for (i = 1; i <= count; i++) {
            vss_snapshot_info info;
            if (vss_volume_snapshot_info(v, i, &info, NULL) == 0 &&
                memcmp(info.store_guid, guid, 16) == 0)
                mine = i;
        }
        /* Snapshots 1..mine read through the broken store. */
        for (i = 1; i <= mine; i++) {
            vss_snapshot *s = NULL;
            int rc = vss_snapshot_open(v, i, VSS_FILL_WINDOWS, &s, &err);
            if (rc == VSS_ECORRUPT && strstr(err.message, want) &&
                strstr(err.message, "offset")) {
                refused++;
                snprintf(got, sizeof got, "%s", err.message);
            } else {
                wrong++;
                snprintf(got, sizeof got, "%s", rc ? err.message
                                                   : "opened and read");
            }
            vss_snapshot_close(s);
        }
        vss_volume_close(v);
    } else {
        wrong++;
        snprintf(got, sizeof got, "volume open failed: %.400s", err.message);
    }
    vss_source_release(src);
    alarm(0);
    free(data);
    if (!mine) /* a store of another volume (kept here): not read */
        return;
    k->cases++;
    k->errors += refused;
    if (wrong || !refused) {
        k->bad++;
        printf("FAIL %s / %s / %s: want an error with '%s', got '%s'\n",
               im->name, k->name, what, want, got);
        return;
    }
    if (!k->first_err[0])
        snprintf(k->first_err, sizeof k->first_err, "%.180s", got);
    k->ok++;
}

/* ---- the classes --------------------------------------------------------------- */

#define CASE(k, base, what, mutate)                                           \
    do {                                                                      \
        image m_;                                                             \
        image_copy(&m_, base);                                                \
        {                                                                     \
            image *im = &m_;                                                  \
            mutate;                                                           \
        }                                                                     \
        run_case(k, &m_, 7, what);                                            \
        image_free(&m_);                                                      \
    } while (0)

static void hostile_volume(image *base)
{
    walk w;
    char what[128];
    uint64_t fb = free_block(base);
    size_t i;

    walk_image(base, &w);
    printf("# %s: %zu metadata blocks, %zu snapshot entries, %zu stores\n",
           base->name, w.n, w.nsnap, w.nloc);

    {
        klass k = {.name = "baseline (unmodified)", .must_open = 1};
        CASE(&k, base, "as is", (void)im);
        report(&k);
    }
    {
        klass k = {.name = "zeroed volume header"};
        CASE(&k, base, "zero", memset(at(im, 0x1E00), 0, 512));
        CASE(&k, base, "zero id", memset(at(im, 0x1E00), 0, 16));
        CASE(&k, base, "version 3", put32(im, 0x1E00 + 16, 3));
        CASE(&k, base, "catalog 0", put64(im, 0x1E00 + 48, 0));
        CASE(&k, base, "catalog unaligned", put64(im, 0x1E00 + 48, 512));
        report(&k);
    }
    {
        klass k = {.name = "truncation at boundaries"};
        uint64_t cuts[1100];
        size_t nc = 0;
        cuts[nc++] = 0;
        cuts[nc++] = 0x1E00;
        cuts[nc++] = 0x1E00 + 511;
        for (i = 0; i < w.n && nc + 3 < 1100; i++) {
            cuts[nc++] = w.m[i].off;
            cuts[nc++] = w.m[i].off + 128;
            cuts[nc++] = w.m[i].off + BS - 1;
        }
        for (i = 0; i < nc; i++) {
            snprintf(what, sizeof what, "size %llu",
                     (unsigned long long)cuts[i]);
            CASE(&k, base, what, im->size = cuts[i]);
        }
        report(&k);
    }
    {
        klass k = {.name = "chain loops and wild next"};
        for (i = 0; i < w.n; i++) {
            uint64_t o = w.m[i].off;
            if (w.m[i].role == R_STORE)
                continue;
            snprintf(what, sizeof what, "%s at %llu -> self",
                     role_name[w.m[i].role], (unsigned long long)o);
            CASE(&k, base, what, put64(im, o + 40, o));
            /* A -> B -> A: B is a copy of A at a free offset. */
            snprintf(what, sizeof what, "%s at %llu -> copy -> back",
                     role_name[w.m[i].role], (unsigned long long)o);
            CASE(&k, base, what, {
                blk *c = get_blk(im, fb);
                memcpy(c->d, find_blk(im, o)->d, BS);
                put64(im, fb + 32, fb);
                put64(im, fb + 40, o);
                put64(im, o + 40, fb);
            });
            snprintf(what, sizeof what, "%s at %llu -> past end",
                     role_name[w.m[i].role], (unsigned long long)o);
            CASE(&k, base, what,
                 put64(im, o + 40, (im->size / BS + 4) * BS));
            CASE(&k, base, what, put64(im, o + 40, UINT64_MAX - BS + 1));
            CASE(&k, base, what, put64(im, o + 40, o + 512));
            snprintf(what, sizeof what, "%s at %llu own offset wrong",
                     role_name[w.m[i].role], (unsigned long long)o);
            CASE(&k, base, what, put64(im, o + 32, o + BS));
        }
        report(&k);
    }
    {
        klass k = {.name = "wild store offsets"};
        static const unsigned fields[] = {8, 32, 40, 48, 72};
        for (i = 0; i < w.nloc; i++)
            for (size_t f = 0; f < 5; f++) {
                uint64_t e = w.loc_entry[i];
                snprintf(what, sizeof what, "entry %llu +%u",
                         (unsigned long long)e, fields[f]);
                CASE(&k, base, what,
                     put64(im, e + fields[f], (im->size / BS + 8) * BS));
                CASE(&k, base, what,
                     put64(im, e + fields[f], UINT64_MAX - BS + 1));
                CASE(&k, base, what, put64(im, e + fields[f], 0x1E00));
                CASE(&k, base, what, put64(im, e + fields[f], BS));
                /* Another structure's block (wrong record type). */
                CASE(&k, base, what,
                     put64(im, e + fields[f], w.m[(i * 5 + f) % w.n].off));
            }
        report(&k);
    }
    {
        klass k = {.name = "giant sizes and counts"};
        static const uint64_t sizes[] = {1ull << 63, UINT64_MAX - 511,
                                         1ull << 50, 1ull << 44, 512};
        for (i = 0; i < w.nsnap; i++)
            for (size_t s = 0; s < 5; s++) {
                snprintf(what, sizeof what, "snapshot entry %zu size %llu", i,
                         (unsigned long long)sizes[s]);
                CASE(&k, base, what,
                     put64(im, w.snap_entry[i] + 8, sizes[s]));
            }
        CASE(&k, base, "source size 2^63", im->size = 1ull << 63);
        CASE(&k, base, "source size 2^64-1", im->size = UINT64_MAX);
        CASE(&k, base, "header catalog near 2^64",
             put64(im, 0x1E00 + 48, UINT64_MAX - BS + 1));
        /* Every catalog slot a snapshot entry (duplicates). */
        for (i = 0; i < w.nsnap; i++)
            CASE(&k, base, "catalog full of one entry", {
                uint64_t b0 = w.snap_entry[i] - w.snap_entry[i] % BS;
                for (uint64_t e = b0 + 128; e + 128 <= b0 + BS; e += 128)
                    memcpy(at(im, e), at(im, w.snap_entry[i]), 128);
            });
        for (i = 0; i < w.n; i++)
            if (w.m[i].role == R_RANGES) {
                uint64_t o = w.m[i].off;
                CASE(&k, base, "range size overflow",
                     put64(im, o + 128 + 16, UINT64_MAX - 100));
                CASE(&k, base, "range offset near 2^64",
                     put64(im, o + 128, UINT64_MAX - BS + 1));
                CASE(&k, base, "508 ranges", {
                    for (uint64_t e = o + 128; e + 24 <= o + BS; e += 24) {
                        put64(im, e, e * 4);
                        put64(im, e + 8, 0);
                        put64(im, e + 16, BS);
                    }
                });
            }
        report(&k);
    }
    {
        klass k = {.name = "descriptors: dup/overlap/wild"};
        for (i = 0; i < w.n; i++) {
            uint64_t o = w.m[i].off, d0 = o + 128;
            if (w.m[i].role != R_BLOCKLIST)
                continue;
            CASE(&k, base, "duplicate first", memcpy(at(im, d0 + 32),
                                                     at(im, d0), 32));
            CASE(&k, base, "all the same", {
                for (uint64_t e = d0 + 32; e + 32 <= o + BS; e += 32)
                    memcpy(at(im, e), at(im, d0), 32);
            });
            CASE(&k, base, "same original, other data", {
                memcpy(at(im, d0 + 32), at(im, d0), 32);
                put64(im, d0 + 32 + 16, get64(im, d0 + 16) + BS);
            });
            CASE(&k, base, "overlay over regular", {
                memcpy(at(im, d0 + 32), at(im, d0), 32);
                put32(im, d0 + 32 + 24, 2);
                put32(im, d0 + 32 + 28, 0x0F0F0F0F);
            });
            CASE(&k, base, "data near 2^64",
                 put64(im, d0 + 16, UINT64_MAX - BS + 1));
            CASE(&k, base, "original near 2^64",
                 put64(im, d0, UINT64_MAX - BS + 1));
            CASE(&k, base, "original past the volume",
                 put64(im, d0, (1ull << 62)));
            CASE(&k, base, "unknown flags", put32(im, d0 + 24, 0x100));
            CASE(&k, base, "forwarder+overlay", put32(im, d0 + 24, 3));
            CASE(&k, base, "unaligned data", put64(im, d0 + 16, 512));
        }
        report(&k);
    }
    {
        klass k = {.name = "forwarder cycles / past end"};
        for (i = 0; i < w.n; i++) {
            uint64_t o = w.m[i].off, d0 = o + 128;
            if (w.m[i].role != R_BLOCKLIST)
                continue;
            /* d0: A forwards to B; d1: B forwards to A. */
            CASE(&k, base, "A->B->A", {
                put64(im, d0, 0);
                put64(im, d0 + 8, BS);
                put32(im, d0 + 24, 1);
                put64(im, d0 + 32, BS);
                put64(im, d0 + 40, 0);
                put32(im, d0 + 32 + 24, 1);
            });
            CASE(&k, base, "self forwarder", {
                put64(im, d0 + 8, get64(im, d0));
                put32(im, d0 + 24, 1);
            });
            CASE(&k, base, "forwarder past end", {
                put64(im, d0 + 8, UINT64_MAX - BS + 1);
                put32(im, d0 + 24, 1);
            });
            CASE(&k, base, "forwarder past the volume", {
                put64(im, d0 + 8, 1ull << 62);
                put32(im, d0 + 24, 1);
            });
            CASE(&k, base, "chain of forwarders", {
                for (uint64_t e = d0, j = 0; e + 32 <= o + BS; e += 32, j++) {
                    put64(im, e, j * BS);
                    put64(im, e + 8, (j + 1) * BS);
                    put64(im, e + 16, 0);
                    put32(im, e + 24, 1);
                    put32(im, e + 28, 0);
                }
            });
            CASE(&k, base, "ring of forwarders", {
                for (uint64_t e = d0, j = 0; e + 32 <= o + BS; e += 32, j++) {
                    put64(im, e, (j % 7) * BS);
                    put64(im, e + 8, ((j + 1) % 7) * BS);
                    put64(im, e + 16, 0);
                    put32(im, e + 24, 1);
                    put32(im, e + 28, 0);
                }
            });
        }
        report(&k);
    }
    {
        /* Descriptors pointing outside what their store may point at are
         * corrupt: a forwarder past the volume's end (served as zeros
         * labelled live before), a copy on one of the store's own
         * metadata blocks (served as store data before). */
        klass k = {.name = "descriptors outside their store"};
        for (i = 0; i < w.n; i++) {
            uint64_t o = w.m[i].off, d0 = o + 128;
            uint64_t loc, vsize = 0;
            /* only block lists; other blocks (the catalog's) have no store */
            if (w.m[i].role != R_BLOCKLIST || get64(base, d0 + 16) == 0)
                continue;
            loc = w.loc_entry[w.m[i].store];
            for (size_t e = 0; e < w.nsnap; e++)
                if (memcmp(at(base, w.snap_entry[e] + 16), at(base, loc + 16),
                           16) == 0)
                    vsize = get64(base, w.snap_entry[e] + 8);
            static const char past[] = "past the end of the volume";
            const uint64_t targets[] = {UINT64_MAX - BS + 1, 1ull << 62,
                                        (vsize + BS - 1) / BS * BS};
            for (size_t t = 0; t < 3; t++) {
                snprintf(what, sizeof what, "forwarder at %llu -> %llu",
                         (unsigned long long)d0,
                         (unsigned long long)targets[t]);
                image m;
                image_copy(&m, base);
                put64(&m, d0 + 8, targets[t]);
                put32(&m, d0 + 24, 1);
                refused_case(&k, &m, loc, what, past);
                image_free(&m);
            }
            for (size_t j = 0; j < w.n; j++) {
                if (w.m[j].store != w.m[i].store || w.m[j].role == R_CATALOG)
                    continue;
                snprintf(what, sizeof what, "copy on its own %s at %llu",
                         role_name[w.m[j].role],
                         (unsigned long long)w.m[j].off);
                image m;
                image_copy(&m, base);
                put64(&m, d0 + 16, w.m[j].off);
                put32(&m, d0 + 24, 0);
                refused_case(&k, &m, loc, what, "own metadata blocks");
                image_free(&m);
            }
        }
        report(&k);
    }
    {
        klass k = {.name = "short / missing bitmaps"};
        for (i = 0; i < w.n; i++) {
            uint64_t o = w.m[i].off;
            if (w.m[i].role != R_BITMAP && w.m[i].role != R_PREVBM)
                continue;
            CASE(&k, base, "bitmap block gone", memset(at(im, o), 0, BS));
            CASE(&k, base, "bitmap all ones",
                 memset(at(im, o + 128), 0xFF, BS - 128));
            CASE(&k, base, "bitmap ends early", put64(im, o + 40, 0));
        }
        for (i = 0; i < w.nsnap; i++)
            CASE(&k, base, "volume 4x the bitmap", put64(im,
                 w.snap_entry[i] + 8, get64(im, w.snap_entry[i] + 8) * 4));
        report(&k);
    }
    {
        klass k = {.name = "wrong record types"};
        static const uint32_t types[] = {0, 1, 2, 3, 4, 5, 6, 7, 0xFFFFFFFF};
        for (i = 0; i < w.n; i++)
            for (size_t t = 0; t < 9; t++) {
                if (fz_le32(at(base, w.m[i].off + 20)) == types[t])
                    continue;
                snprintf(what, sizeof what, "%s at %llu type %u",
                         role_name[w.m[i].role],
                         (unsigned long long)w.m[i].off, types[t]);
                CASE(&k, base, what, put32(im, w.m[i].off + 20, types[t]));
            }
        CASE(&k, base, "header type 2", put32(im, 0x1E00 + 20, 2));
        for (i = 0; i < w.nsnap; i++) {
            CASE(&k, base, "entry type 4", put64(im, w.snap_entry[i], 4));
            CASE(&k, base, "entry type 2^63",
                 put64(im, w.snap_entry[i], 1ull << 63));
        }
        for (i = 0; i < w.nloc; i++)
            CASE(&k, base, "location entry -> snapshot entry",
                 put64(im, w.loc_entry[i], 2));
        report(&k);
    }
    {
        klass k = {.name = "random byte flips"};
        const char *env = getenv("HOSTILE_FLIPS");
        long flips = env ? atol(env) : 1000;
        uint64_t x = 0x5eed0000u + base->n;
        for (long c = 0; c < flips; c++) {
            const meta *m = &w.m[fz_next(&x) % w.n];
            int nf = (int)(fz_next(&x) % 8) + 1;
            uint64_t seed = fz_next(&x);
            snprintf(what, sizeof what, "case %ld: %d flips in %s at %llu",
                     c, nf, role_name[m->role], (unsigned long long)m->off);
            CASE(&k, base, what, {
                uint64_t y = seed;
                for (int f = 0; f < nf; f++) {
                    uint64_t r = fz_next(&y);
                    /* Mostly the header and first entries, sometimes any. */
                    uint64_t pos = (r & 3) ? (r >> 8) % 1024 : (r >> 8) % BS;
                    uint8_t *p = at(im, m->off + pos);
                    if (p)
                        *p ^= (uint8_t)(1u << ((r >> 4) & 7)) |
                              (uint8_t)((r & 0x30) ? 0 : (r >> 32));
                }
            });
        }
        report(&k);
    }
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : NULL;
    static const char *names[] = {"vsstest", "w2003", "stor2",
                                  "gen-example"};
    char path[4096], cand[4096];
    int loaded = 0;

    signal(SIGPIPE, SIG_IGN);
    {
        const char *f = getenv("HOSTILE_FORK");
        no_fork = f ? atoi(f) == 0 : 1;
        /* In process, the children's address-space bound holds for the
         * whole run (not under ASan, whose shadow memory needs terabytes
         * of address space; not under valgrind: HOSTILE_NO_RLIMIT). */
        if (no_fork && !UNDER_ASAN && !getenv("HOSTILE_NO_RLIMIT")) {
            struct rlimit rl = {CASE_MEM, CASE_MEM};
            setrlimit(RLIMIT_AS, &rl);
        }
        printf("# cases run %s\n",
               no_fork ? "in process (alarm per case)"
                       : "in child processes (alarm + rlimit per case)");
    }
    if (!dir) {
        struct stat st;
        const char *slash = strrchr(argv[0], '/');
        dir = "tests/fuzz/corpus/snapshot";
        if (stat(dir, &st) != 0 && slash) {
            /* build[/asan]/tests/hostile_test -> ../../[../]tests/... */
            for (int up = 2; up <= 3; up++) {
                snprintf(cand, sizeof cand, "%.*s", (int)(slash - argv[0]),
                         argv[0]);
                for (int u = 0; u < up; u++)
                    strncat(cand, "/..", sizeof cand - strlen(cand) - 1);
                strncat(cand, "/tests/fuzz/corpus/snapshot",
                        sizeof cand - strlen(cand) - 1);
                if (stat(cand, &st) == 0) {
                    dir = cand;
                    break;
                }
            }
        }
    }
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        image im;
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (load_image(path, &im) != 0) {
            printf("skip %s: cannot read\n", path);
            continue;
        }
        loaded++;
        hostile_volume(&im);
        image_free(&im);
    }
    if (!loaded)
        printf("skip hostile images: no mini volumes in %s\n", dir);
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}

/*
 * audit.c — vss_audit_*: for every file and named stream of a snapshot,
 * what the snapshot really preserved (issue #5; a library API since
 * issue #14). vssinfo --audit / --diff, the examples and the bindings are
 * front ends of this one engine.
 *
 * For each stream the engine asks where its bytes come from
 * (vss_fs_file_provenance: extents, lost ranges by class, content key):
 * bytes of class zero or stale are not evidence of the snapshot and are
 * reported as FILE byte ranges, the verdict is vss_provenance_status's. It
 * hashes the stream as Windows returns it, the live volume's version of
 * the same file (same MFT record AND sequence number), and — when the
 * live file is provably the same, unmodified file at the same clusters —
 * the recovered version (snapshot bytes where preserved, live bytes in the
 * gaps).
 *
 * Every version is read once, in large chunks, each chunk feeding every
 * requested digest (and the 16 KiB block digests when wanted). Two versions
 * with the same content key have the same bytes, so their digests are
 * computed once: a file untouched since the snapshot is read once however
 * many snapshots hold it.
 *
 * Threads: the files of a snapshot (the entries of a diff) are shared out
 * to `threads` workers, one file per worker at a time; the vss_fs
 * serialises its reads, the digests run in parallel. Inside one worker a
 * file of several chunks still hashes chunk k (one thread per digest)
 * while chunk k+1 is read. Results are handed to the caller in walk order
 * whatever the worker that finished them, so the output does not depend on
 * the number of threads. One recursive mutex (lk) guards what the workers
 * share: the content-key cache, the counters, the delivery and every
 * callback; a second one (reflk) the reference volumes opened lazily for
 * the stale-byte classification.
 *
 * Written against the public API; nothing here decodes on-disk bytes.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "base/base.h"
#include "audit/digest.h"
#include "audit/recover.h"

#define BS VSS_BLOCK_SIZE
#define BUFSZ (8u << 20)         /* read chunk: a multiple of BS */
#define MAX_THREADS 64

_Static_assert((int)VSS_HASH_MD5 == (int)DIGEST_MD5 &&
                   (int)VSS_HASH_SHA1 == (int)DIGEST_SHA1 &&
                   (int)VSS_HASH_SHA256 == (int)DIGEST_SHA256,
               "audit and digest algorithm numbers");

/* ---- names ----------------------------------------------------------------- */

const char *vss_hash_name(vss_hash h)
{
    switch (h) {
    case VSS_HASH_MD5: return "md5";
    case VSS_HASH_SHA1: return "sha1";
    case VSS_HASH_SHA256: return "sha256";
    }
    return "?";
}

size_t vss_hash_length(vss_hash h)
{
    switch (h) {
    case VSS_HASH_MD5: return 16;
    case VSS_HASH_SHA1: return 20;
    case VSS_HASH_SHA256: return 32;
    }
    return 0;
}

const char *vss_stale_source_name(vss_stale_source s)
{
    static const char *const n[] = {"", "same-file", "same-file-changed",
                                     "unknown", "free", "other-file"};
    return (unsigned)s <= VSS_STALE_OTHER_FILE ? n[s] : "?";
}

const char *vss_block_kind_name(vss_block_kind k)
{
    static const char *const n[] = {"same", "gap", "changed", "snapshot-only",
                                     "live-only"};
    return (unsigned)k <= VSS_BLOCK_LIVE_ONLY ? n[k] : "?";
}

/* ---- engine state ---------------------------------------------------------- */

/* One file or named stream of a volume (a snapshot's or the live one). */
typedef struct item {
    vss_audit_file f;       /* what the caller sees */
    size_t order;           /* walk order (stable output) */
    int key_state;          /* live items: 1 once counted in the progress
                               total */
} item;

typedef struct aindex {
    item *v;
    size_t n, cap;
    size_t skipped;         /* metadata / shadow copy files left out */
    size_t errors;          /* directories or records that could not be read */
    uint64_t *bad;          /* records met while walking that could not be
                               read (unsorted) */
    size_t nbad, capbad;
} aindex;

/* The audit of one stream while it waits for its turn to be reported. */
typedef struct ares {
    item *it;
    item *live;             /* live item with the same record (and stream) */
    vss_status status;
    vss_live_state live_state;
    char *error;            /* VSS_STATUS_ERROR: what failed */
    vss_audit_range *dmg;   /* bytes not preserved (zero and stale) */
    size_t ndmg;
    uint64_t lost, unverified;
    vss_stale_source stale_source;
    char stale_why[700];
    uint64_t by_class[5];
    int record_damaged;
    vss_digests snap, livd, rec;
    int has_live, match, has_rec;
    int recoverable;
    const char *why;
    uint8_t *bsnap, *blive, *bfill;
    size_t nb_snap, nb_live;
} ares;

typedef struct asnap {
    vss_audit_snapshot pub;
    vss_snapshot *snap;
    vss_fs *fs;
    aindex ix;
    ares *res;              /* [ix.n] while the snapshot is audited */
    uint64_t strip[VSS_AUDIT_STRIP][4];
    char error[512];
} asnap;

typedef struct cache_ent {
    uint8_t key[32];
    int used;
    int state;              /* CACHE_* */
    vss_digests d;
    uint8_t *blocks;
    size_t nb;
} cache_ent;

/* A cache entry is PENDING while a worker hashes its content: another
 * worker that needs the same content waits for it (the live version of a
 * file shared by several snapshots is read once even when they are
 * audited side by side); FAILED entries are hashed again by whoever asks. */
enum { CACHE_FAILED = 0, CACHE_PENDING, CACHE_READY };

/* A stale byte is one the snapshot did not preserve that Windows returns
 * anyway: from the live volume, or from the store of a newer snapshot k
 * (its copy of the block as it was when snapshot k was taken). Whether it
 * is likely the snapshot's byte depends on what that reference volume
 * holds at the same place: the same file, unmodified since the snapshot
 * (very likely the snapshot's bytes), or another file or free space (the
 * bytes prove nothing). One reference volume per snapshot number, opened
 * and indexed when first needed; 0 is the live volume. */
typedef struct aud_ref {
    int state;              /* 0 not opened yet, 1 ready, -1 failed */
    vss_snapshot *snap;     /* snapshot k's own handle (NULL: live) */
    vss_fs *fs;             /* owned when snap is set */
    aindex own;             /* snapshot k's index */
    aindex *ix;             /* &own, or the run's live index */
    uint8_t *bitmap;        /* its $Bitmap: one bit per cluster in use */
    uint64_t bitmap_len;
    uint32_t cluster;
    char name[32];          /* "the live volume", "snapshot 3" */
    char error[600];        /* state -1: why */
} aud_ref;

typedef struct worker {
    struct vss_audit *a;
    uint8_t *buf, *fbuf, *buf2, *fbuf2;   /* two chunks in flight */
    digest md[VSS_HASH_COUNT], fmd[VSS_HASH_COUNT];
    pthread_t tid;
} worker;

/* A diff entry while it waits for its turn. */
typedef struct dent {
    vss_diff_kind kind;
    item *a, *b;
    vss_digests da, db;
    uint64_t lost_a, lost_b, unverified_a, unverified_b;
    vss_lost_range *np_a, *np_b;  /* the ranges behind them */
    size_t n_np_a, n_np_b;
    char *error;
} dent;

static void dent_free_ranges(dent *x)
{
    free(x->np_a);
    free(x->np_b);
    x->np_a = x->np_b = NULL;
    x->n_np_a = x->n_np_b = 0;
}

struct vss_audit {
    vss_volume *vol;
    vss_source *live_src;
    int count;              /* snapshots of the volume */
    unsigned char *sel;     /* [count + 1]: selected */
    char *subtree;          /* "" or "/dir" */
    int alg[VSS_HASH_COUNT], nalg;
    int balg;               /* block digest algorithm */
    size_t blen;            /* its length */
    unsigned flags;
    vss_fill fill;
    int threads;
    int used;               /* run or diff done */

    aindex live;
    int live_read;          /* the live tree was walked */
    vss_fs *live_fs;
    aud_ref *refs;          /* [snapshot number], 0 = live */
    int nrefs;
    asnap *snaps;
    size_t nsnaps;

    /* the run */
    const vss_audit_callbacks *cb;
    pthread_mutex_t lk, reflk;
    pthread_cond_t hashed;  /* a PENDING cache entry became READY/FAILED */
    int stop;               /* a callback's non-zero value */
    size_t problems;
    cache_ent *cache;
    size_t ccap, cn;
    uint8_t **orphans;      /* block digests of versions not cacheable */
    size_t norphans;
    vss_audit_progress pr;
    uint64_t bytes_skipped;
    double tlast;
    /* the parallel loop */
    size_t next_item, next_deliver, nitems;
    unsigned char *done;
    void (*job)(struct vss_audit *, worker *, size_t);
    int (*deliver)(struct vss_audit *, size_t);
    asnap **gsnap;          /* item i of the run: snapshot gsnap[i]'s */
    size_t *gfile;          /* file gfile[i] */
    dent *diff;             /* the diff's entries */
    size_t ndiff;
    int diff_a, diff_b;
    aindex *ixa, *ixb;
    vss_snapshot *sa, *sb;
    vss_fs *fsa, *fsb;
};

/* A warning for the caller (the message callback); never printed here. */
static void say(vss_audit *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void say(vss_audit *a, const char *fmt, ...)
{
    char msg[1200];
    va_list ap;
    if (!a->cb || !a->cb->message)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&a->lk);
    a->cb->message(msg, a->cb->user);
    pthread_mutex_unlock(&a->lk);
}

static void problem(vss_audit *a)
{
    pthread_mutex_lock(&a->lk);
    a->problems++;
    pthread_mutex_unlock(&a->lk);
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The progress callback, at most five times a second unless forced; with
 * lk held. A non-zero return cancels the run. */
static void progress(vss_audit *a, int force)
{
    double t;
    int rc;
    if (!a->cb || !a->cb->progress || a->stop)
        return;
    t = now_s();
    if (!force && t - a->tlast < 0.2)
        return;
    a->tlast = t;
    a->pr.bytes_done = a->pr.bytes_hashed + a->bytes_skipped;
    rc = a->cb->progress(&a->pr, a->cb->user);
    if (rc)
        a->stop = rc;
}

static void count_hashed(vss_audit *a, uint64_t n)
{
    pthread_mutex_lock(&a->lk);
    a->pr.bytes_hashed += n;
    progress(a, 0);
    pthread_mutex_unlock(&a->lk);
}

static void count_skipped(vss_audit *a, uint64_t n)
{
    pthread_mutex_lock(&a->lk);
    a->bytes_skipped += n;
    pthread_mutex_unlock(&a->lk);
}

/* Content-key cache: open addressing on the first 8 key bytes; lk held. */
static cache_ent *cache_find(vss_audit *g, const uint8_t key[32], int add)
{
    size_t i, mask;
    uint64_t h;
    if (g->cn * 2 >= g->ccap && add) {
        size_t nc = g->ccap ? g->ccap * 2 : 1024, k;
        cache_ent *nv = vss_calloc(nc, sizeof *nv);
        if (!nv)
            return NULL;
        for (k = 0; k < g->ccap; k++) {
            if (!g->cache[k].used)
                continue;
            memcpy(&h, g->cache[k].key, 8);
            for (i = h & (nc - 1); nv[i].used; i = (i + 1) & (nc - 1))
                ;
            nv[i] = g->cache[k];
        }
        free(g->cache);
        g->cache = nv;
        g->ccap = nc;
    }
    if (!g->ccap)
        return NULL;
    mask = g->ccap - 1;
    memcpy(&h, key, 8);
    for (i = h & mask; g->cache[i].used; i = (i + 1) & mask)
        if (memcmp(g->cache[i].key, key, 32) == 0)
            return &g->cache[i];
    if (!add)
        return NULL;
    g->cache[i].used = 1;
    memcpy(g->cache[i].key, key, 32);
    g->cn++;
    return &g->cache[i];
}

/* Keep block digests until the audit is closed (results point to them);
 * lk held. Returns 0, or -1 (then blocks was freed). */
static int keep_orphan(vss_audit *g, uint8_t *blocks)
{
    uint8_t **nv = vss_realloc(g->orphans, (g->norphans + 1) * sizeof *nv);
    if (!nv) {
        free(blocks);
        return -1;
    }
    g->orphans = nv;
    g->orphans[g->norphans++] = blocks;
    return 0;
}

/* ---- walking a volume ----------------------------------------------------- */

static item *ix_add(aindex *ix)
{
    if (ix->n == ix->cap) {
        size_t nc = ix->cap ? ix->cap * 2 : 256;
        item *nv = vss_realloc(ix->v, nc * sizeof *nv);
        if (!nv)
            return NULL;
        ix->v = nv;
        ix->cap = nc;
    }
    memset(&ix->v[ix->n], 0, sizeof ix->v[ix->n]);
    ix->v[ix->n].order = ix->n;
    return &ix->v[ix->n++];
}

static const char *item_stream(const item *it)
{
    return it->f.stream_at ? it->f.path + it->f.stream_at + 1 : NULL;
}

static const char *item_stream_or_empty(const item *it)
{
    return it->f.stream_at ? it->f.path + it->f.stream_at + 1 : "";
}

static int add_item(aindex *ix, const char *path, const char *stream,
                    const vss_fs_stat *st, uint64_t size, int resident)
{
    item *it = ix_add(ix);
    size_t pl = strlen(path);
    char *p;
    if (!it)
        return VSS_ENOMEM;
    if (stream && *stream) {
        p = vss_malloc(pl + strlen(stream) + 2);
        if (p)
            sprintf(p, "%s:%s", path, stream);
        it->f.stream_at = pl;
    } else {
        p = strdup(path);
    }
    if (!p) {
        ix->n--;
        return VSS_ENOMEM;
    }
    it->f.path = p;
    it->f.record = st->mft_record;
    it->f.sequence = st->sequence;
    it->f.size = size;
    it->f.resident = resident;
    it->f.attributes = st->attributes;
    it->f.crtime = st->creation_time;
    it->f.mtime = st->modification_time;
    it->f.ctime = st->mft_change_time;
    it->f.atime = st->access_time;
    it->f.record_offset = st->record_offset;
    it->f.names = 1;
    return 0;
}

/* Remember a record the walk could not read: a file there is not "deleted",
 * its state is unknown. */
static void mark_bad(aindex *ix, uint64_t record)
{
    if (ix->nbad == ix->capbad) {
        size_t nc = ix->capbad ? ix->capbad * 2 : 16;
        uint64_t *nv = vss_realloc(ix->bad, nc * sizeof *nv);
        if (!nv)
            return;
        ix->bad = nv;
        ix->capbad = nc;
    }
    ix->bad[ix->nbad++] = record;
}

static int is_bad(const aindex *ix, uint64_t record)
{
    size_t i;
    for (i = 0; i < ix->nbad; i++)
        if (ix->bad[i] == record)
            return 1;
    return 0;
}

typedef struct walk {
    vss_audit *a;
    aindex *ix;
    const char *label;
} walk;

/* One event of the library's walk (vss_fs_walk): files and named streams
 * become items; what could not be read is counted and said. */
static int index_entry(const vss_walk_entry *x, void *user)
{
    walk *w = user;
    aindex *ix = w->ix;
    const vss_fs_stat *st = x->st;

    switch (x->event) {
    case VSS_WALK_ENTRY:
        if (!st->is_directory && st->has_data &&
            add_item(ix, x->path, NULL, st, st->size, 0))
            ix->errors++;
        break;
    case VSS_WALK_STREAM:
        /* $BadClus:$Bad spans the whole volume, sparse by design: hashing
         * its zeros says nothing (left out even with VSS_AUDIT_SYSTEM) */
        if (st->mft_record == 8 && strcmp(x->stream, "$Bad") == 0) {
            ix->skipped++;
        } else if (!x->stream[0]) {
            if (!st->is_directory && st->has_data && ix->n &&
                strcmp(ix->v[ix->n - 1].f.path, x->path) == 0)
                ix->v[ix->n - 1].f.resident = x->stream_resident;
        } else if (add_item(ix, x->path, x->stream, st, x->stream_size,
                            x->stream_resident)) {
            ix->errors++;
        }
        break;
    case VSS_WALK_SKIPPED:
        ix->skipped++;
        break;
    case VSS_WALK_BAD_ENTRY:
        /* the library's own message names the structure and offset */
        ix->errors++;
        mark_bad(ix, st->mft_record);
        say(w->a, "%s: '%s' (MFT record %" PRIu64 "): %s", w->label, x->path,
            st->mft_record, x->message);
        break;
    case VSS_WALK_LOOP:
    case VSS_WALK_TOO_DEEP:
        ix->errors++;
        say(w->a, "%s: '%s' (MFT record %" PRIu64 "): %s, not walked again",
            w->label, x->path, st->mft_record,
            x->event == VSS_WALK_LOOP
                ? "directory already walked (linked twice)"
                : "too deep");
        break;
    default: /* a directory or a file's streams could not be listed */
        ix->errors++;
        say(w->a, "%s: %s", w->label, x->message);
        break;
    }
    return 0;
}

static int cmp_item(const void *a, const void *b)
{
    const item *x = a, *y = b;
    int c;
    if (x->f.record != y->f.record)
        return x->f.record < y->f.record ? -1 : 1;
    c = strcmp(item_stream_or_empty(x), item_stream_or_empty(y));
    if (c)
        return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

static int cmp_order(const void *a, const void *b)
{
    const item *x = a, *y = b;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* qsort, which must not be handed a NULL array even with no element. */
static void sort(void *base, size_t n, size_t size,
                 int (*cmp)(const void *, const void *))
{
    if (n > 1)
        qsort(base, n, size, cmp);
}

/* Walk `root` of fs; hard links give one item (the first name met). The
 * index ends sorted by record and stream name (for lookups). Fails (err:
 * "LABEL: why") only when the start cannot be walked at all. */
static int index_volume(vss_audit *a, vss_fs *fs, const char *root,
                        const char *label, aindex *ix, vss_error *err)
{
    walk w;
    vss_fs_walk_options wo = {0};
    vss_error e = {0};
    size_t i, k;
    int rc;

    w.a = a;
    w.ix = ix;
    w.label = label;
    wo.flags = VSS_WALK_RECURSIVE | VSS_WALK_STREAMS |
               (a->flags & VSS_AUDIT_SYSTEM
                    ? 0
                    : VSS_WALK_SKIP_METADATA | VSS_WALK_SKIP_SHADOW_FILES);
    if ((rc = vss_fs_walk(fs, root, &wo, index_entry, &w, &e)) != 0)
        return vss_fail(err, rc < 0 ? rc : VSS_EIO, "%s: %s", label, e.message);
    sort(ix->v, ix->n, sizeof *ix->v, cmp_item);
    for (i = k = 0; i < ix->n; i++) {
        if (k && ix->v[k - 1].f.record == ix->v[i].f.record &&
            strcmp(item_stream_or_empty(&ix->v[k - 1]),
                   item_stream_or_empty(&ix->v[i])) == 0) {
            ix->v[k - 1].f.names++;
            free((char *)ix->v[i].f.path);
            continue;
        }
        ix->v[k++] = ix->v[i];
    }
    ix->n = k;
    return 0;
}

static void index_free(aindex *ix)
{
    size_t i;
    for (i = 0; i < ix->n; i++)
        free((char *)ix->v[i].f.path);
    free(ix->v);
    free(ix->bad);
    memset(ix, 0, sizeof *ix);
}

/* The item with this record and stream (NULL stream = unnamed). */
static item *ix_find(aindex *ix, uint64_t record, const char *stream)
{
    size_t lo = 0, hi = ix->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        item *m = &ix->v[mid];
        int c;
        if (m->f.record != record)
            c = m->f.record < record ? -1 : 1;
        else
            c = strcmp(item_stream_or_empty(m), stream ? stream : "");
        if (c == 0)
            return m;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* Any item of this record. */
static item *ix_find_record(aindex *ix, uint64_t record)
{
    size_t lo = 0, hi = ix->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (ix->v[mid].f.record < record)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < ix->n && ix->v[lo].f.record == record ? &ix->v[lo] : NULL;
}

/* ---- one version of a stream: the library's provenance ------------------ */

typedef struct ver {
    vss_fs_file *f;
    vss_provenance prov;    /* extents, lost ranges, bytes, content key */
    vss_audit_range *dmg;   /* prov.lost, with room for the stale source */
} ver;

static void ver_close(ver *v)
{
    vss_provenance_free(&v->prov);
    vss_fs_file_close(v->f);
    free(v->dmg);
    memset(v, 0, sizeof *v);
}

/* Open one version of it (snap NULL: the live volume); the library works
 * out its provenance, damaged ranges and content key. */
static int ver_open(vss_snapshot *snap, vss_fs *fs, const item *it, ver *v,
                    vss_error *e)
{
    size_t i;
    int rc;

    memset(v, 0, sizeof *v);
    if ((rc = vss_fs_file_open(fs, it->f.path, &v->f, e)) ||
        (rc = vss_fs_file_provenance(snap, fs, v->f, item_stream(it),
                                     &v->prov, e))) {
        ver_close(v);
        return rc;
    }
    if (v->prov.lost_count) {
        v->dmg = vss_calloc(v->prov.lost_count, sizeof *v->dmg);
        if (!v->dmg) {
            ver_close(v);
            return vss_fail(e, VSS_ENOMEM, "out of memory");
        }
    }
    for (i = 0; i < v->prov.lost_count; i++) {
        const vss_lost_range *d = &v->prov.lost[i];
        v->dmg[i].offset = d->offset;
        v->dmg[i].length = d->length;
        v->dmg[i].cls = d->cls;
        v->dmg[i].reason = d->reason;
        v->dmg[i].store_index = d->store_index;
    }
    return 0;
}

/* The volume offset of file byte off (VSS_FS_NO_OFFSET if none), the
 * bytes that follow contiguously and the extent's flags. */
static uint64_t vol_of(const ver *v, uint64_t off, uint64_t *left,
                       unsigned *flags)
{
    size_t i;
    for (i = 0; i < v->prov.extent_count; i++) {
        const vss_fs_extent *x = &v->prov.extents[i];
        if (off >= x->file_offset && off - x->file_offset < x->length) {
            *left = x->length - (off - x->file_offset);
            *flags = x->flags;
            return x->volume_offset == VSS_FS_NO_OFFSET
                       ? VSS_FS_NO_OFFSET
                       : x->volume_offset + (off - x->file_offset);
        }
    }
    *left = 0;
    *flags = 0;
    return VSS_FS_NO_OFFSET;
}

/* Do file bytes [off, end) sit at the same volume bytes in s and l? */
static int same_place(const ver *s, const ver *l, uint64_t off,
                      uint64_t end)
{
    if (s->prov.compression_unit != l->prov.compression_unit)
        return 0;
    while (off < end) {
        uint64_t ls, ll, step;
        unsigned fs, fl;
        uint64_t a = vol_of(s, off, &ls, &fs);
        uint64_t b = vol_of(l, off, &ll, &fl);
        if (a == VSS_FS_NO_OFFSET || a != b || fs != fl || !ls || !ll)
            return 0;
        step = ls < ll ? ls : ll;
        if (step > end - off)
            step = end - off;
        off += step;
    }
    return 1;
}

/* Do the damaged file ranges of s sit at the same volume bytes in l? */
static int same_ranges(const ver *s, const ver *l)
{
    size_t i;
    for (i = 0; i < s->prov.lost_count; i++)
        if (!same_place(s, l, s->prov.lost[i].offset,
                        s->prov.lost[i].offset + s->prov.lost[i].length))
            return 0;
    return 1;
}

/* The test of docs/audit.md "Recoverable" once the live file is known to
 * be the same file (record and sequence) with the stream: NULL when the
 * lost bytes of snapshot stream s can be taken from live stream l with
 * confidence, else why not. Shared with the history (audit/recover.h). */
const char *audit_recover_why(const vss_provenance *s, uint64_t s_size,
                              const vss_provenance *l, uint64_t l_size,
                              uint64_t l_mtime, uint64_t l_ctime,
                              uint64_t when)
{
    ver a, b;
    if (l_size != s_size)
        return "the live file's size differs";
    if (l_mtime > when)
        return "the live file was modified after the snapshot "
               "($STANDARD_INFORMATION modification time)";
    if (l_ctime > when)
        return "the live file's MFT record changed after the snapshot "
               "($STANDARD_INFORMATION MFT change time)";
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    a.prov = *s;
    b.prov = *l;
    if (!same_ranges(&a, &b))
        return "the lost bytes are at other clusters in the live file";
    return NULL;
}

/* ---- hashing -------------------------------------------------------------- */

typedef struct pass_out {
    vss_digests d, fd;
    uint8_t *blocks, *fblocks;
    size_t nb;
} pass_out;

static int read_full(vss_fs_file *f, uint8_t *p, size_t n, uint64_t off,
                     vss_error *e)
{
    size_t got = 0;
    while (got < n) {
        int64_t k = vss_fs_file_read_at(f, p + got, n - got, off + got, e);
        if (k < 0)
            return (int)k;
        if (k == 0)
            return vss_fail(e, VSS_EIO, "file data ends early at file offset %"
                        PRIu64, off + got);
        got += (size_t)k;
    }
    return 0;
}

/* One piece of hashing work on a chunk, run on its own thread while the
 * next chunk is read: a digest update, or the 16 KiB block digests. */
typedef struct hjob {
    digest *ctx;              /* digest update; NULL: block digests */
    const uint8_t *p;
    size_t n;
    uint8_t *out;             /* block digests of p go here */
    int balg;
    size_t blen;
    pthread_t tid;
    int started;
} hjob;

static void *hjob_run(void *arg)
{
    hjob *j = arg;
    unsigned char mdv[DIGEST_MAX];
    size_t b;
    if (j->ctx) {
        digest_update(j->ctx, j->p, j->n);
        return NULL;
    }
    for (b = 0; b < j->n; b += BS) {
        size_t bl = j->n - b < BS ? j->n - b : BS;
        digest_once(j->balg, j->p + b, bl, mdv);
        memcpy(j->out + (b / BS) * j->blen, mdv, j->blen);
    }
    return NULL;
}

/* Read chunk [off, off+n) of v into buf and, with fill, the recovered
 * version into fbuf (live bytes in the damaged ranges; *patched says
 * whether fbuf differs from buf). *j walks v->dmg in order. */
static int read_chunk(vss_audit *g, ver *v, const ver *fill, uint64_t off,
                      size_t n, uint8_t *buf, uint8_t *fbuf, int *patched,
                      size_t *j, vss_error *e)
{
    size_t k, nd = v->prov.lost_count;
    uint64_t filled = 0;
    int rc = read_full(v->f, buf, n, off, e);
    *patched = 0;
    if (rc || !fill)
        return rc;
    while (*j < nd && v->dmg[*j].offset + v->dmg[*j].length <= off)
        (*j)++;
    for (k = *j; k < nd && v->dmg[k].offset < off + n && !rc; k++) {
        uint64_t s = v->dmg[k].offset > off ? v->dmg[k].offset : off;
        uint64_t t = v->dmg[k].offset + v->dmg[k].length;
        if (t > off + n)
            t = off + n;
        if (!*patched)
            memcpy(fbuf, buf, n);
        *patched = 1;
        if (s < fill->prov.size) {
            uint64_t t2 = t < fill->prov.size ? t : fill->prov.size;
            rc = read_full(fill->f, fbuf + (s - off), (size_t)(t2 - s), s, e);
            memset(fbuf + (t2 - off), 0, (size_t)(t - t2));
        } else {
            memset(fbuf + (s - off), 0, (size_t)(t - s));
        }
        filled += t - s;
    }
    if (filled)
        count_hashed(g, filled);
    return rc;
}

/* A worker's chunk buffers, allocated when first needed (the recovered
 * version's only for files with lost bytes and a live version). */
static int worker_buffers(worker *w, int fill)
{
    uint8_t **need[4] = {&w->buf, &w->buf2, &w->fbuf, &w->fbuf2};
    int i;
    for (i = 0; i < (fill ? 4 : 2); i++)
        if (!*need[i] && !(*need[i] = vss_malloc(BUFSZ)))
            return -1;
    return 0;
}

/* Read v whole once: every requested digest, the block digests when
 * want_blocks, and with fill (the same file on the live volume) the
 * recovered version: live bytes in the damaged ranges. Chunk k is hashed
 * by threads (one per digest) while chunk k+1 is read; a file of one
 * chunk is hashed on the worker's own thread when other workers keep the
 * other cores busy. */
static int hash_pass(worker *w, ver *v, const ver *fill, int want_blocks,
                     pass_out *o, vss_error *e)
{
    vss_audit *r = w->a;
    uint64_t off = 0, size = v->prov.size;
    size_t j = 0, a, nb = (size_t)((size + BS - 1) / BS), n;
    int rc = 0, cur = 0, patched[2] = {0, 0};

    memset(o, 0, sizeof *o);
    o->nb = nb;
    if (worker_buffers(w, fill != NULL))
        return vss_fail(e, VSS_ENOMEM, "out of memory");
    if (want_blocks && nb) {
        o->blocks = vss_malloc(nb * r->blen);
        o->fblocks = fill ? vss_malloc(nb * r->blen) : NULL;
        if (!o->blocks || (fill && !o->fblocks)) {
            free(o->blocks);
            free(o->fblocks);
            o->blocks = o->fblocks = NULL;
            return vss_fail(e, VSS_ENOMEM, "out of memory");
        }
    }
    for (a = 0; a < (size_t)r->nalg; a++) {
        digest_init(&w->md[a], r->alg[a]);
        if (fill)
            digest_init(&w->fmd[a], r->alg[a]);
    }
    n = size < BUFSZ ? (size_t)size : BUFSZ;
    if (n)
        rc = read_chunk(r, v, fill, 0, n, w->buf, w->fbuf, &patched[0], &j,
                        e);
    while (off < size && !rc) {
        hjob jobs[2 * VSS_HASH_COUNT + 2];
        size_t nj = 0, i, nn = 0;
        uint8_t *b = cur ? w->buf2 : w->buf;
        uint8_t *fb = cur ? w->fbuf2 : w->fbuf;
        const uint8_t *fsrc = patched[cur] ? fb : b;
        uint64_t next = off + n;
        int rc2 = 0, spawn;

        memset(jobs, 0, sizeof jobs);
        for (a = 0; a < (size_t)r->nalg; a++) {
            jobs[nj].ctx = &w->md[a];
            jobs[nj].p = b;
            jobs[nj++].n = n;
            if (fill) {
                jobs[nj].ctx = &w->fmd[a];
                jobs[nj].p = fsrc;
                jobs[nj++].n = n;
            }
        }
        if (o->blocks) {
            jobs[nj].p = b;
            jobs[nj].n = n;
            jobs[nj].out = o->blocks + (size_t)(off / BS) * r->blen;
            jobs[nj].balg = r->balg;
            jobs[nj++].blen = r->blen;
            if (o->fblocks && patched[cur]) {
                jobs[nj].p = fb;
                jobs[nj].n = n;
                jobs[nj].out = o->fblocks + (size_t)(off / BS) * r->blen;
                jobs[nj].balg = r->balg;
                jobs[nj++].blen = r->blen;
            }
        }
        /* one job stays on this thread when there is nothing to read; the
         * last chunk of a file stays whole on it when other workers run */
        spawn = next < size || r->threads <= 1;
        for (i = 0; i < nj; i++)
            jobs[i].started = spawn && (next < size || i > 0) &&
                              pthread_create(&jobs[i].tid, NULL, hjob_run,
                                             &jobs[i]) == 0;
        for (i = 0; i < nj; i++)
            if (!jobs[i].started && next >= size)
                hjob_run(&jobs[i]);
        if (next < size) {
            nn = size - next < BUFSZ ? (size_t)(size - next) : BUFSZ;
            rc2 = read_chunk(r, v, fill, next, nn, cur ? w->buf : w->buf2,
                             cur ? w->fbuf : w->fbuf2, &patched[!cur], &j,
                             e);
            for (i = 0; i < nj; i++)
                if (!jobs[i].started)
                    hjob_run(&jobs[i]);
        }
        for (i = 0; i < nj; i++)
            if (jobs[i].started)
                pthread_join(jobs[i].tid, NULL);
        if (o->fblocks && !patched[cur])
            memcpy(o->fblocks + (size_t)(off / BS) * r->blen,
                   o->blocks + (size_t)(off / BS) * r->blen,
                   ((n + BS - 1) / BS) * r->blen);
        count_hashed(r, n);
        rc = rc2;
        off = next;
        n = nn;
        cur = !cur;
    }
    for (a = 0; a < (size_t)r->nalg; a++) {
        int al = r->alg[a];
        digest_final(&w->md[a], o->d.v[al]);
        o->d.have |= 1u << al;
        if (fill) {
            digest_final(&w->fmd[a], o->fd.v[al]);
            o->fd.have |= 1u << al;
        }
    }
    if (rc) {
        free(o->blocks);
        free(o->fblocks);
        o->blocks = o->fblocks = NULL;
    }
    return rc;
}

/* Digests of a version, from the cache when its content was hashed
 * before (or is being hashed by another worker: then after waiting for
 * it). *blocks points into the cache or the orphans (valid until the
 * audit is closed). */
static int ver_digests(worker *w, ver *v, int want_blocks, vss_digests *d,
                       uint8_t **blocks, size_t *nb, vss_error *e)
{
    vss_audit *g = w->a;
    cache_ent *c = NULL;
    pass_out o;
    int rc, key_ok = v->prov.key_valid, mine = 0;

    pthread_mutex_lock(&g->lk);
    if (key_ok) {
        while ((c = cache_find(g, v->prov.key, 0)) != NULL &&
               c->state == CACHE_PENDING)
            pthread_cond_wait(&g->hashed, &g->lk);
    }
    if (c && c->state == CACHE_READY &&
        (!want_blocks || c->blocks || !c->nb)) {
        g->bytes_skipped += v->prov.size;
        *d = c->d;
        if (blocks)
            *blocks = c->blocks;
        if (nb)
            *nb = c->nb;
        pthread_mutex_unlock(&g->lk);
        return 0;
    }
    if (key_ok && (!c || c->state == CACHE_FAILED) &&
        (c = cache_find(g, v->prov.key, 1)) != NULL) {
        c->state = CACHE_PENDING;   /* ours to hash */
        mine = 1;
    }
    pthread_mutex_unlock(&g->lk);
    rc = hash_pass(w, v, NULL, want_blocks, &o, e);
    pthread_mutex_lock(&g->lk);
    c = key_ok ? cache_find(g, v->prov.key, 0) : NULL;
    if (rc) {
        if (mine && c)
            c->state = CACHE_FAILED;
    } else {
        *d = o.d;
        if (blocks)
            *blocks = o.blocks;
        if (nb)
            *nb = o.nb;
        if (c) {
            c->d = o.d;
            c->nb = o.nb;
            c->state = CACHE_READY;
        }
        /* results may point to block digests already cached: those stay,
         * ours are kept aside like those of versions not cacheable */
        if (o.blocks && c && !c->blocks)
            c->blocks = o.blocks;
        else if (o.blocks && keep_orphan(g, o.blocks) && blocks)
            *blocks = NULL;
    }
    if (mine)
        pthread_cond_broadcast(&g->hashed);
    pthread_mutex_unlock(&g->lk);
    return rc;
}

/* Equal in every requested algorithm. */
static int digests_equal(const vss_audit *r, const vss_digests *a,
                         const vss_digests *b)
{
    int i;
    for (i = 0; i < r->nalg; i++)
        if (memcmp(a->v[r->alg[i]], b->v[r->alg[i]],
                   vss_hash_length((vss_hash)r->alg[i])) != 0)
            return 0;
    return 1;
}

/* ---- where stale bytes come from ------------------------------------------ */

/* The volume's cluster allocation bitmap ($Bitmap, read through the file
 * system like any file). */
static int load_bitmap(aud_ref *R, vss_error *e)
{
    vss_fs_file *f = NULL;
    uint64_t n;
    int rc = vss_fs_file_open(R->fs, "/$Bitmap", &f, e);
    if (rc)
        return rc;
    n = vss_fs_file_size(f);
    R->bitmap = vss_malloc(n ? (size_t)n : 1);
    if (!R->bitmap)
        rc = vss_fail(e, VSS_ENOMEM, "out of memory");
    else
        rc = read_full(f, R->bitmap, (size_t)n, 0, e);
    R->bitmap_len = n;
    R->cluster = vss_fs_cluster_size(R->fs);
    vss_fs_file_close(f);
    return rc;
}

/* Reference volume k, opened and indexed the first time it is asked for
 * (reflk serialises that; once ready it is only read). */
static aud_ref *ref_get(vss_audit *r, int k)
{
    aud_ref *R;
    vss_error e = {0};
    if (k < 0 || k >= r->nrefs)
        return NULL;
    pthread_mutex_lock(&r->reflk);
    R = &r->refs[k];
    if (R->state)
        goto out;
    R->state = -1;
    if (k == 0) {
        snprintf(R->name, sizeof R->name, "the live volume");
        if (!r->live_fs) {
            snprintf(R->error, sizeof R->error, "its file system could not "
                     "be read");
            goto out;
        }
        R->fs = r->live_fs;
        R->ix = &r->live;
    } else {
        vss_source *src = NULL;
        snprintf(R->name, sizeof R->name, "snapshot %d", k);
        if (vss_snapshot_open(r->vol, k, r->fill, &R->snap, &e) ||
            vss_snapshot_source(R->snap, &src, &e) ||
            vss_fs_open(src, &R->fs, &e)) {
            vss_source_release(src);
            snprintf(R->error, sizeof R->error, "%s", e.message);
            goto out;
        }
        vss_source_release(src);
        if (index_volume(r, R->fs, "", R->name, &R->own, &e)) {
            say(r, "%s", e.message);
            snprintf(R->error, sizeof R->error, "its root directory could "
                     "not be read");
            goto out;
        }
        R->ix = &R->own;
    }
    if (load_bitmap(R, &e)) {
        snprintf(R->error, sizeof R->error, "$Bitmap: %s", e.message);
        goto out;
    }
    R->state = 1;
out:
    pthread_mutex_unlock(&r->reflk);
    return R;
}

static void refs_free(vss_audit *r)
{
    int k;
    for (k = 0; k < r->nrefs; k++) {
        aud_ref *R = &r->refs[k];
        free(R->bitmap);
        if (R->snap) {
            index_free(&R->own);
            if (R->fs)
                vss_fs_close(R->fs);
            vss_snapshot_close(R->snap);
        }
    }
    free(r->refs);
    r->refs = NULL;
    r->nrefs = 0;
}

/* Is any cluster under file bytes [off, end) of s in use in R? */
static int range_allocated(const aud_ref *R, const ver *s, uint64_t off,
                           uint64_t end)
{
    while (off < end) {
        uint64_t left, step, c, c_end;
        unsigned flags;
        uint64_t a = vol_of(s, off, &left, &flags);
        if (!left)
            break;
        step = left < end - off ? left : end - off;
        if (a != VSS_FS_NO_OFFSET && R->cluster) {
            c_end = (a + step + R->cluster - 1) / R->cluster;
            for (c = a / R->cluster; c < c_end; c++)
                if (c / 8 < R->bitmap_len &&
                    (R->bitmap[c / 8] >> (c % 8) & 1))
                    return 1;
        }
        off += step;
    }
    return 0;
}

/* The same file on R, unmodified since `when`? Its times decide. */
static vss_stale_source same_file_source(const item *F, uint64_t when,
                                         const char *what, const aud_ref *R,
                                         char *why, size_t whysz)
{
    char t[32];
    if (F->f.mtime <= when && F->f.ctime <= when) {
        snprintf(why, whysz, "%s on %s still belong to this file (MFT record "
                 "%" PRIu64 "-%u), not modified since the snapshot: very "
                 "likely the snapshot's bytes", what, R->name, F->f.record,
                 (unsigned)F->f.sequence);
        return VSS_STALE_SAME_FILE;
    }
    vss_filetime_format(F->f.mtime > when ? F->f.mtime : F->f.ctime, t);
    snprintf(why, whysz, "%s on %s still belong to this file (MFT record "
             "%" PRIu64 "-%u), but it was modified after the snapshot (%s "
             "%s): they may be newer", what, R->name, F->f.record,
             (unsigned)F->f.sequence,
             F->f.mtime > when ? "modification time" : "MFT change time", t);
    return VSS_STALE_SAME_FILE_CHANGED;
}

/* Classify each stale range of s (the stream `it` of snapshot S) by what
 * its reference volume holds there; the file gets its least trusted
 * range's source and reason. `live` is the live version of the same file
 * when it is open already. */
static void classify_stale(vss_audit *r, const asnap *S, const item *it,
                           ver *s, const ver *live, ares *x)
{
    uint64_t when = S->pub.info.creation_time;
    ver other;
    int other_store = -1;
    size_t i;

    memset(&other, 0, sizeof other);
    for (i = 0; i < s->prov.lost_count; i++) {
        vss_audit_range *d = &s->dmg[i];
        aud_ref *R;
        const item *F;
        char why[sizeof x->stale_why];
        vss_stale_source src;
        if (d->cls != VSS_CLASS_STALE)
            continue;
        R = ref_get(r, d->store_index > 0 ? d->store_index : 0);
        if (!R || R->state < 0) {
            src = VSS_STALE_UNKNOWN;
            snprintf(why, sizeof why, "not checked: %s: %s",
                     R ? R->name : "the reference volume",
                     R ? R->error : "none");
        } else if (s->prov.resident) {
            /* the value lives in the MFT record: whose record is it now? */
            F = ix_find_record(R->ix, it->f.record);
            if (F && F->f.sequence == it->f.sequence &&
                F->f.record_offset == it->f.record_offset) {
                src = same_file_source(F, when, "the MFT record's bytes", R,
                                       why, sizeof why);
            } else if (F) {
                src = VSS_STALE_OTHER_FILE;
                snprintf(why, sizeof why, "MFT record %" PRIu64 " holds "
                         "another file on %s (%s, sequence %u): the bytes "
                         "prove nothing", it->f.record, R->name, F->f.path,
                         (unsigned)F->f.sequence);
            } else {
                src = VSS_STALE_FREE;
                snprintf(why, sizeof why, "no file in %s's directory tree "
                         "uses MFT record %" PRIu64 ": the bytes prove "
                         "nothing", R->name, it->f.record);
            }
        } else {
            const ver *fv = NULL;
            F = ix_find(R->ix, it->f.record, item_stream(it));
            if (F && F->f.sequence == it->f.sequence) {
                int store = d->store_index > 0 ? d->store_index : 0;
                vss_error e = {0};
                if (store == 0 && live) {
                    fv = live;
                } else if (other_store == store) {
                    fv = &other;
                } else {
                    ver_close(&other);
                    other_store = -1;
                    if (ver_open(NULL, R->fs, F, &other, &e) == 0) {
                        other_store = store;
                        fv = &other;
                    }
                }
            }
            if (fv && same_place(s, fv, d->offset, d->offset + d->length)) {
                src = same_file_source(F, when, "the clusters", R, why,
                                       sizeof why);
            } else if (range_allocated(R, s, d->offset,
                                       d->offset + d->length)) {
                src = VSS_STALE_OTHER_FILE;
                snprintf(why, sizeof why, "the clusters are in use on %s, "
                         "but not by this file at these offsets: the bytes "
                         "prove nothing", R->name);
            } else {
                src = VSS_STALE_FREE;
                snprintf(why, sizeof why, "the clusters are free on %s: the "
                         "bytes prove nothing", R->name);
            }
        }
        d->source = src;
        if (src > x->stale_source) {
            x->stale_source = src;
            snprintf(x->stale_why, sizeof x->stale_why, "%s", why);
        }
    }
    ver_close(&other);
}

/* ---- auditing one stream of snapshot S ----------------------------------- */

static void set_error(ares *x, const char *msg)
{
    x->status = VSS_STATUS_ERROR;
    free(x->error);
    x->error = strdup(msg);
}

static void audit_item(worker *w, asnap *S, item *it, ares *x)
{
    vss_audit *r = w->a;
    ver s, l;
    vss_error e = {0};
    item *L, *R;
    int have_l = 0, want_blocks, same_key;
    uint64_t when = S->pub.info.creation_time;

    memset(x, 0, sizeof *x);
    memset(&l, 0, sizeof l);
    x->it = it;
    x->recoverable = -1;
    if (ver_open(S->snap, S->fs, it, &s, &e)) {
        set_error(x, e.message);
        return;
    }
    it->f.resident = s.prov.resident;
    x->record_damaged = s.prov.record_damaged;
    memcpy(x->by_class, s.prov.bytes, sizeof x->by_class);
    x->lost = s.prov.lost_zero;
    x->unverified = s.prov.lost_stale;

    /* The live version: same record AND sequence. */
    L = ix_find(&r->live, it->f.record, item_stream(it));
    R = L ? L : ix_find_record(&r->live, it->f.record);
    if (!r->live_fs)
        x->live_state = VSS_LIVE_NONE;
    else if (!R && is_bad(&r->live, it->f.record))
        x->live_state = VSS_LIVE_UNREADABLE;
    else if (!R)
        x->live_state = VSS_LIVE_DELETED;
    else if (R->f.sequence != it->f.sequence)
        x->live_state = VSS_LIVE_REUSED;
    else if (!L)
        x->live_state = VSS_LIVE_NOSTREAM;
    else
        x->live_state = VSS_LIVE_SAME;
    x->live = R;
    if (x->live_state == VSS_LIVE_SAME) {
        vss_error le = {0};
        if (ver_open(NULL, r->live_fs, L, &l, &le) == 0)
            have_l = 1;
        else
            say(r, "live: %s", le.message);
    }

    same_key = have_l && s.prov.key_valid && l.prov.key_valid &&
               memcmp(s.prov.key, l.prov.key, 32) == 0;
    want_blocks = (r->flags & VSS_AUDIT_BLOCKS) && have_l && !same_key;
    if (same_key) {
        /* Same bytes from the same places: identical to live. Gaps (stale
         * live bytes) already hold the live bytes: recovered = the same. */
        if (ver_digests(w, &s, 0, &x->snap, NULL, NULL, &e)) {
            set_error(x, e.message);
            goto out;
        }
        x->livd = x->snap;
        x->has_live = 1;
        x->match = 1;
        count_skipped(r, l.prov.size);
        if (s.prov.lost_count) {
            x->rec = x->snap;
            x->has_rec = 1;
        }
    } else {
        uint8_t *bs = NULL, *bl = NULL;
        size_t nbs = 0, nbl = 0;
        if (s.prov.lost_count && have_l) {
            pass_out o;
            if (hash_pass(w, &s, &l, want_blocks, &o, &e)) {
                set_error(x, e.message);
                goto out;
            }
            x->snap = o.d;
            x->rec = o.fd;
            x->has_rec = 1;
            x->bsnap = o.blocks;   /* owned by the result */
            x->bfill = o.fblocks;
            x->nb_snap = o.nb;
        } else {
            if (ver_digests(w, &s, want_blocks, &x->snap, &bs, &nbs, &e)) {
                set_error(x, e.message);
                goto out;
            }
            if (want_blocks && bs) {
                x->bsnap = vss_malloc(nbs * r->blen);
                if (x->bsnap)
                    memcpy(x->bsnap, bs, nbs * r->blen);
                x->nb_snap = nbs;
            }
        }
        if (have_l) {
            vss_error le = {0};
            if (ver_digests(w, &l, want_blocks, &x->livd, &bl, &nbl, &le)) {
                say(r, "live: %s", le.message);
            } else {
                x->has_live = 1;
                x->match = digests_equal(r, &x->snap, &x->livd);
                if (want_blocks && bl && !x->match) {
                    x->blive = vss_malloc(nbl * r->blen);
                    if (x->blive)
                        memcpy(x->blive, bl, nbl * r->blen);
                    x->nb_live = nbl;
                }
            }
        }
        if (x->match || !x->blive || !x->bsnap) {
            free(x->bsnap);
            free(x->blive);
            free(x->bfill);
            x->bsnap = x->blive = x->bfill = NULL;
            x->nb_snap = x->nb_live = 0;
        }
    }

    /* Can the lost bytes be taken from the live volume with confidence? */
    if (s.prov.lost_count) {
        x->recoverable = 0;
        if (x->live_state == VSS_LIVE_NONE)
            x->why = "the live volume's file system could not be read";
        else if (x->live_state == VSS_LIVE_UNREADABLE)
            x->why = "the live volume's MFT record of the file could not be "
                     "read";
        else if (x->live_state == VSS_LIVE_DELETED)
            x->why = "the file was deleted (record not in use in the live "
                     "file system)";
        else if (x->live_state == VSS_LIVE_REUSED)
            x->why = "the MFT record now holds another file (sequence "
                     "changed)";
        else if (x->live_state == VSS_LIVE_NOSTREAM)
            x->why = "the stream was deleted from the live file";
        else if (!have_l || !x->has_rec)
            x->why = "the live file could not be read";
        else if ((x->why = audit_recover_why(&s.prov, it->f.size, &l.prov,
                                             L->f.size, L->f.mtime,
                                             L->f.ctime, when)) == NULL)
            x->recoverable = 1;
    }
    if (s.prov.lost_stale)
        classify_stale(r, S, it, &s, have_l ? &l : NULL, x);
    /* the one status rule; the audit adds UNCHANGED (it compared) */
    x->status = vss_provenance_status(&s.prov);
    if (x->status == VSS_STATUS_INTACT && x->match)
        x->status = VSS_STATUS_UNCHANGED;
out:
    x->dmg = s.dmg;
    x->ndmg = s.prov.lost_count;
    s.dmg = NULL;
    ver_close(&s);
    if (have_l)
        ver_close(&l);
}

/* ---- the provenance strip of a whole snapshot ----------------------------- */

typedef struct strip_ctx {
    asnap *S;
    uint64_t width;         /* bytes per bucket */
} strip_ctx;

static int strip_cb(const vss_run *r, void *user)
{
    strip_ctx *c = user;
    uint64_t off = r->offset, end = r->offset + r->length;
    unsigned cls = (unsigned)r->cls < 4 ? (unsigned)r->cls : 3;
    c->S->pub.by_class[cls] += r->length;
    while (off < end) {
        uint64_t b = off / c->width;
        uint64_t bend = (b + 1) * c->width;
        uint64_t t = end < bend ? end : bend;
        if (b >= VSS_AUDIT_STRIP)
            break;
        c->S->strip[b][cls] += t - off;
        off = t;
    }
    return 0;
}

static void make_strip(vss_audit *a, asnap *S)
{
    vss_error e = {0};
    uint64_t size = vss_snapshot_size(S->snap);
    strip_ctx c = {S, (size + VSS_AUDIT_STRIP - 1) / VSS_AUDIT_STRIP};
    if (!c.width)
        c.width = 1;
    S->pub.strip_width = c.width;
    if (size && vss_snapshot_map(S->snap, 0, size, strip_cb, &c, &e) == 0)
        S->pub.strip_ok = 1;
    else if (size)
        say(a, "snapshot %d: provenance map: %s", S->pub.index, e.message);
}

/* ---- the workers ------------------------------------------------------------ */

/* Items [0, nitems) are taken by the workers one at a time; each finished
 * item is marked done, and the done ones are handed to deliver in order. */
static void *work(void *arg)
{
    worker *w = arg;
    vss_audit *a = w->a;
    for (;;) {
        size_t i;
        pthread_mutex_lock(&a->lk);
        if (a->stop || a->next_item >= a->nitems) {
            pthread_mutex_unlock(&a->lk);
            break;
        }
        i = a->next_item++;
        pthread_mutex_unlock(&a->lk);
        a->job(a, w, i);
        pthread_mutex_lock(&a->lk);
        a->done[i] = 1;
        while (!a->stop && a->next_deliver < a->nitems &&
               a->done[a->next_deliver]) {
            int rc = a->deliver(a, a->next_deliver++);
            if (rc)
                a->stop = rc;
        }
        progress(a, 0);
        pthread_mutex_unlock(&a->lk);
    }
    return NULL;
}

static void worker_free(worker *w)
{
    free(w->buf);
    free(w->buf2);
    free(w->fbuf);
    free(w->fbuf2);
}

/* Run job on n items with the workers (the calling thread is one). */
static int run_parallel(vss_audit *a, size_t n, vss_error *err)
{
    worker ws[MAX_THREADS];
    int nw = a->threads, k, started = 0;
    if ((size_t)nw > n)
        nw = n ? (int)n : 1;
    free(a->done);
    a->done = vss_calloc(n ? n : 1, 1);
    if (!a->done)
        return vss_fail(err, VSS_ENOMEM, "out of memory");
    a->nitems = n;
    a->next_item = a->next_deliver = 0;
    memset(ws, 0, sizeof ws);
    for (k = 0; k < nw; k++)
        ws[k].a = a;
    for (k = 1; k < nw; k++)
        if (pthread_create(&ws[k].tid, NULL, work, &ws[k]) == 0)
            started = k;
        else
            break;
    work(&ws[0]);
    for (k = 1; k <= started; k++)
        pthread_join(ws[k].tid, NULL);
    for (k = 0; k < nw; k++)
        worker_free(&ws[k]);
    return 0;
}

/* ---- the audit's results ------------------------------------------------- */

static void ares_free(ares *x)
{
    free(x->dmg);
    free(x->error);
    free(x->bsnap);
    free(x->blive);
    free(x->bfill);
    memset(x, 0, sizeof *x);
}

static const char *live_word(const ares *x)
{
    static const char *const n[] = {NULL, "reused", "deleted",
                                     "stream-deleted", "none", "unreadable"};
    if (x->live_state == VSS_LIVE_SAME)
        return !x->has_live ? "unreadable" : x->match ? "identical"
                                                      : "differs";
    return (unsigned)x->live_state <= VSS_LIVE_UNREADABLE ? n[x->live_state]
                                                          : "?";
}

static int overlaps_lost(const ares *x, uint64_t a, uint64_t b)
{
    size_t i;
    for (i = 0; i < x->ndmg; i++)
        if (x->dmg[i].offset < b && x->dmg[i].offset + x->dmg[i].length > a)
            return 1;
    return 0;
}

/* Block i of the snapshot's file against the live file's. */
static vss_block_kind block_kind(const vss_audit *r, const ares *x, size_t i)
{
    const uint8_t *s, *l;
    if (i >= x->nb_live)
        return VSS_BLOCK_SNAP_ONLY;
    if (i >= x->nb_snap)
        return VSS_BLOCK_LIVE_ONLY;
    s = x->bsnap + i * r->blen;
    l = x->blive + i * r->blen;
    if (memcmp(s, l, r->blen) == 0)
        return VSS_BLOCK_SAME;
    if (x->bfill && overlaps_lost(x, (uint64_t)i * BS, (uint64_t)(i + 1) * BS) &&
        memcmp(x->bfill + i * r->blen, l, r->blen) == 0)
        return VSS_BLOCK_GAP;
    return VSS_BLOCK_CHANGED;
}

static void job_audit(vss_audit *a, worker *w, size_t i)
{
    asnap *S = a->gsnap[i];
    audit_item(w, S, &S->ix.v[a->gfile[i]], &S->res[a->gfile[i]]);
}

/* Hand result i of the current snapshot to the caller, count it, free it;
 * lk held. */
static int deliver_audit(vss_audit *a, size_t i)
{
    asnap *S = a->gsnap[i];
    ares *x = &S->res[a->gfile[i]];
    vss_audit_tally *t = &S->pub.sum;
    vss_audit_result v;
    uint8_t *kinds = NULL;
    size_t nk = 0, b;
    int rc = 0;

    if (x->status == VSS_STATUS_ERROR) {
        a->problems++;
        say(a, "snapshot %d: %s", S->pub.index, x->error);
    }
    t->files++;
    t->bytes_lost += x->lost;
    t->bytes_unverified += x->unverified;
    if (x->recoverable == 1) {
        t->recoverable++;
        t->bytes_recoverable += x->lost + x->unverified;
    }
    switch (x->status) {
    case VSS_STATUS_DAMAGED: t->damaged++; break;
    case VSS_STATUS_UNVERIFIED: t->unverified++; break;
    case VSS_STATUS_ERROR: t->errors++; break;
    case VSS_STATUS_RESIDENT: t->resident++; t->intact++; break;
    case VSS_STATUS_UNCHANGED: t->unchanged++; t->intact++; break;
    default: t->intact++; break;
    }
    a->pr.files_done++;
    a->pr.snapshot = S->pub.index;

    if (x->bsnap && x->blive) {
        nk = x->nb_snap > x->nb_live ? x->nb_snap : x->nb_live;
        kinds = vss_malloc(nk ? nk : 1);
        if (!kinds)
            nk = 0;
        for (b = 0; b < nk; b++)
            kinds[b] = (uint8_t)block_kind(a, x, b);
    }
    if (a->cb && a->cb->file) {
        memset(&v, 0, sizeof v);
        v.snapshot = S->pub.index;
        v.file = &x->it->f;
        v.live = x->live ? &x->live->f : NULL;
        v.status = x->status;
        v.live_state = x->live_state;
        v.live_word = live_word(x);
        v.error = x->error ? x->error : "";
        v.lost = x->dmg;
        v.lost_count = x->ndmg;
        v.lost_zero = x->lost;
        v.lost_stale = x->unverified;
        v.stale_source = x->stale_source;
        v.stale_why = x->stale_why;
        memcpy(v.bytes, x->by_class, sizeof v.bytes);
        v.record_damaged = x->record_damaged;
        v.digests = x->snap;
        v.live_digests = x->livd;
        v.recovered = x->rec;
        v.has_live = x->has_live;
        v.match = x->match;
        v.has_recovered = x->has_rec;
        v.recoverable = x->recoverable;
        v.why = x->why ? x->why : "";
        v.block_hash = (vss_hash)a->balg;
        if (kinds) {
            v.block_snap = x->bsnap;
            v.block_live = x->blive;
            v.block_fill = x->bfill;
            v.block_snap_count = x->nb_snap;
            v.block_live_count = x->nb_live;
            v.block_kinds = kinds;
            v.block_count = nk;
        }
        rc = a->cb->file(&v, a->cb->user);
    }
    free(kinds);
    ares_free(x);
    return rc;
}

/* ---- setting up ------------------------------------------------------------ */

/* "all" | "N" | "N-M" | lists of those (NULL = all; "" is none: refused). */
static int parse_selection(const char *spec, int count, unsigned char *sel,
                           vss_error *err)
{
    const char *p = spec;
    if (!spec || strcmp(spec, "all") == 0) {
        for (int i = 1; i <= count; i++)
            sel[i] = 1;
        return 0;
    }
    if (!*p)
        goto bad;
    while (*p) {
        char *end;
        unsigned long a, b;
        errno = 0;
        a = strtoul(p, &end, 10);
        if (errno || end == p || a < 1 || *p == '-' || *p == '+' ||
            *p == ' ')
            goto bad;
        b = a;
        if (*end == '-') {
            p = end + 1;
            if (*p == '-' || *p == '+' || *p == ' ')
                goto bad;
            b = strtoul(p, &end, 10);
            if (errno || end == p || b < a)
                goto bad;
        }
        if (b > (unsigned long)count)
            return vss_fail(err, VSS_ENOTFOUND, "snapshot %lu: the volume has %d "
                        "snapshot%s", b, count, count == 1 ? "" : "s");
        for (unsigned long i = a; i <= b; i++)
            sel[i] = 1;
        p = end;
        if (*p && *p != ',')
            goto bad;
        if (*p == ',')
            p++;
    }
    return 0;
bad:
    return vss_fail(err, VSS_EINVAL, "snapshot selection '%s': expected all, N, "
                "N-M or a comma list of them", spec);
}

int vss_audit_open(vss_volume *vol, vss_source *live,
                   const vss_audit_options *opts, vss_audit **out,
                   vss_error *err)
{
    vss_audit_options def;
    vss_audit *a;
    const char *sub;
    int i, rc;
    long ncpu;

    if (out)
        *out = NULL;
    if (!vol || !out)
        return vss_fail(err, VSS_EINVAL, "vss_audit_open: no volume or no "
                    "result pointer");
    if (!opts) {
        memset(&def, 0, sizeof def);
        opts = &def;
    }
    if (opts->nhashes < 0 || opts->nhashes > VSS_HASH_COUNT)
        return vss_fail(err, VSS_EINVAL, "audit options: %d hashes (at most %d)",
                    opts->nhashes, VSS_HASH_COUNT);
    if (opts->threads < 0)
        return vss_fail(err, VSS_EINVAL, "audit options: %d threads",
                    opts->threads);
    a = vss_calloc(1, sizeof *a);
    if (!a)
        return vss_fail(err, VSS_ENOMEM, "out of memory");
    pthread_mutex_init(&a->reflk, NULL);
    pthread_cond_init(&a->hashed, NULL);
    {
        pthread_mutexattr_t at;
        pthread_mutexattr_init(&at);
        pthread_mutexattr_settype(&at, PTHREAD_MUTEX_RECURSIVE);
        pthread_mutex_init(&a->lk, &at);
        pthread_mutexattr_destroy(&at);
    }
    a->vol = vol;
    a->flags = opts->flags;
    a->fill = opts->fill;
    ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    a->threads = opts->threads ? opts->threads : ncpu > 0 ? (int)ncpu : 1;
    if (a->threads > MAX_THREADS)
        a->threads = MAX_THREADS;
    for (i = 0; i < (opts->nhashes ? opts->nhashes : 2); i++) {
        int h = opts->nhashes ? (int)opts->hashes[i]
                              : i == 0 ? VSS_HASH_MD5 : VSS_HASH_SHA256;
        int k, dup = 0;
        if (!vss_hash_length((vss_hash)h)) {
            vss_audit_close(a);
            return vss_fail(err, VSS_EINVAL, "audit options: unknown hash %d", h);
        }
        for (k = 0; k < a->nalg; k++)
            dup |= a->alg[k] == h;
        if (!dup)
            a->alg[a->nalg++] = h;
    }
    a->balg = a->alg[0];
    a->blen = vss_hash_length((vss_hash)a->balg);
    a->count = vss_volume_snapshot_count(vol);
    a->sel = vss_calloc((size_t)a->count + 2, 1);
    a->snaps = vss_calloc((size_t)a->count + 1, sizeof *a->snaps);
    a->refs = vss_calloc((size_t)a->count + 1, sizeof *a->refs);
    a->nrefs = a->refs ? a->count + 1 : 0;
    /* "Users" and "/Users" name the same subtree; "" and "/" the whole
     * volume */
    sub = opts->path && strcmp(opts->path, "/") != 0 ? opts->path : "";
    a->subtree = vss_malloc(strlen(sub) + 2);
    if (!a->sel || !a->snaps || !a->refs || !a->subtree) {
        vss_audit_close(a);
        return vss_fail(err, VSS_ENOMEM, "out of memory");
    }
    sprintf(a->subtree, "%s%s", *sub && *sub != '/' ? "/" : "", sub);
    if ((rc = parse_selection(opts->snapshots, a->count, a->sel, err))) {
        vss_audit_close(a);
        return rc;
    }
    if (live)
        vss_source_retain(live);
    a->live_src = live;
    *out = a;
    return 0;
}

void vss_audit_close(vss_audit *a)
{
    size_t i;
    if (!a)
        return;
    for (i = 0; i < a->nsnaps; i++) {
        asnap *S = &a->snaps[i];
        free(S->res);
        index_free(&S->ix);
        if (S->fs)
            vss_fs_close(S->fs);
        vss_snapshot_close(S->snap);
    }
    free(a->snaps);
    for (i = 0; i < a->ndiff; i++) {
        free(a->diff[i].error);
        dent_free_ranges(&a->diff[i]);  /* not delivered: cancelled */
    }
    free(a->diff);
    refs_free(a);
    index_free(&a->live);
    if (a->live_fs)
        vss_fs_close(a->live_fs);
    vss_source_release(a->live_src);
    for (i = 0; i < a->ccap; i++)
        if (a->cache[i].used)
            free(a->cache[i].blocks);
    free(a->cache);
    for (i = 0; i < a->norphans; i++)
        free(a->orphans[i]);
    free(a->orphans);
    free(a->done);
    free(a->sel);
    free(a->subtree);
    pthread_mutex_destroy(&a->lk);
    pthread_mutex_destroy(&a->reflk);
    pthread_cond_destroy(&a->hashed);
    free(a->gsnap);
    free(a->gfile);
    free(a);
}

/* Open snapshot S->pub.index and its file system. */
static int open_snapshot(vss_audit *a, asnap *S, vss_error *err)
{
    vss_error e = {0};
    vss_source *src = NULL;
    S->pub.error = S->error;
    if (vss_volume_snapshot_info(a->vol, S->pub.index, &S->pub.info, &e) ||
        vss_snapshot_open(a->vol, S->pub.index, a->fill, &S->snap, &e) ||
        vss_snapshot_source(S->snap, &src, &e) ||
        vss_fs_open(src, &S->fs, &e)) {
        vss_source_release(src);
        snprintf(S->error, sizeof S->error, "%s", e.message);
        return vss_fail(err, e.code ? e.code : VSS_EIO, "snapshot %d: %s",
                    S->pub.index, e.message);
    }
    vss_source_release(src);
    S->pub.opened = 1;
    S->pub.size = vss_snapshot_size(S->snap);
    return 0;
}

/* The next snapshot of the audit or the diff: snapshot `index` opened
 * and its files under the subtree indexed. One that cannot be opened is
 * counted as a problem and its error returned (S->fs stays NULL); a walk
 * that fails or meets unreadable directories or records is said (by
 * index_volume) and counted, and what it found kept. */
static int add_snapshot(vss_audit *a, int index, asnap **out, vss_error *err)
{
    asnap *S = &a->snaps[a->nsnaps++];
    vss_error e = {0};
    char label[32];
    int rc;

    *out = S;
    S->pub.index = index;
    if ((rc = open_snapshot(a, S, err))) {
        a->problems++;
        return rc;
    }
    snprintf(label, sizeof label, "snapshot %d", index);
    if (index_volume(a, S->fs, a->subtree, label, &S->ix, &e)) {
        say(a, "%s", e.message);
        a->problems++;
    } else if (S->ix.errors) {
        a->problems++;   /* unreadable directories or records: said */
    }
    S->pub.skipped = S->ix.skipped;
    S->pub.sum.walk_errors = S->ix.errors;
    return 0;
}

/* Open and walk the live volume (root "" for the audit: records are
 * matched wherever the file lives now; the diff's subtree). A live volume
 * that cannot be mounted leaves live_fs NULL (said, counted); a tree that
 * cannot be walked is an error. */
static int open_live(vss_audit *a, const char *root, vss_error *err)
{
    vss_error e = {0};
    if (!a->live_src)
        return 0;
    if (vss_fs_open(a->live_src, &a->live_fs, &e)) {
        a->live_fs = NULL;
        a->problems++;
        return vss_fail(err, e.code ? e.code : VSS_EIO, "live volume: %s",
                    e.message);
    }
    if (index_volume(a, a->live_fs, root, "live", &a->live, err))
        return err ? err->code : VSS_EIO;
    a->live_read = 1;
    if (a->live.errors)
        a->problems++;   /* records or directories: said already */
    return 0;
}

/* The start of a run or a diff: once per object. */
static int begin(vss_audit *a, const vss_audit_callbacks *cb,
                 size_t *problems, vss_error *err)
{
    if (problems)
        *problems = 0;
    if (!a)
        return vss_fail(err, VSS_EINVAL, "no audit object");
    if (a->used)
        return vss_fail(err, VSS_EINVAL, "this audit object has run already");
    a->used = 1;
    a->cb = cb;
    a->tlast = now_s();
    return 0;
}

/* The end of a run or a diff that was not stopped by an error: the last
 * progress report, the problems counted, and a callback's cancel value
 * (0 when none). */
static int finish(vss_audit *a, size_t *problems)
{
    pthread_mutex_lock(&a->lk);
    progress(a, 1);
    pthread_mutex_unlock(&a->lk);
    if (problems)
        *problems = a->problems;
    return a->stop;
}

int vss_audit_run(vss_audit *a, const vss_audit_callbacks *cb,
                  size_t *problems, vss_error *err)
{
    int rc, i;
    size_t k, n, total = 0;
    vss_error e = {0};

    if ((rc = begin(a, cb, problems, err)))
        return rc;
    if (open_live(a, "", &e)) {
        if (a->live_fs) {   /* the live tree could not be walked */
            *err = e;
            return e.code;
        }
        /* the snapshots can still be audited, without live comparison */
        say(a, "%s (snapshots audited without it)", e.message);
    }
    for (i = 1; i <= a->count; i++) {
        asnap *S;
        if (!a->sel[i])
            continue;
        if (add_snapshot(a, i, &S, &e)) {
            say(a, "%s", e.message);
            continue;
        }
        a->pr.files_total += S->ix.n;
        for (k = 0; k < S->ix.n; k++) {
            item *it = &S->ix.v[k];
            item *L = ix_find(&a->live, it->f.record, item_stream(it));
            a->pr.bytes_total += it->f.size;
            if (L && L->f.sequence == it->f.sequence && !L->key_state) {
                L->key_state = 1;   /* its size is counted */
                a->pr.bytes_total += L->f.size;
            }
        }
    }
    /* Every file of every snapshot is one item of one parallel loop, so
     * that snapshots with few large files are hashed side by side too;
     * each snapshot's files in walk order (directories' files together on
     * the disk), results delivered in that order. */
    for (k = 0; k < a->nsnaps; k++) {
        asnap *S = &a->snaps[k];
        if (!S->fs)
            continue;
        sort(S->ix.v, S->ix.n, sizeof *S->ix.v, cmp_order);
        S->res = vss_calloc(S->ix.n ? S->ix.n : 1, sizeof *S->res);
        if (!S->res)
            return vss_fail(err, VSS_ENOMEM, "out of memory");
        total += S->ix.n;
    }
    a->gsnap = vss_malloc((total ? total : 1) * sizeof *a->gsnap);
    a->gfile = vss_malloc((total ? total : 1) * sizeof *a->gfile);
    if (!a->gsnap || !a->gfile)
        return vss_fail(err, VSS_ENOMEM, "out of memory");
    for (k = 0, total = 0; k < a->nsnaps; k++)
        for (n = 0; a->snaps[k].fs && n < a->snaps[k].ix.n; n++) {
            a->gsnap[total] = &a->snaps[k];
            a->gfile[total++] = n;
        }
    a->job = job_audit;
    a->deliver = deliver_audit;
    rc = run_parallel(a, total, err);
    for (k = 0; k < a->nsnaps; k++) {
        asnap *S = &a->snaps[k];
        for (n = 0; S->res && n < S->ix.n; n++)
            ares_free(&S->res[n]);   /* those a cancel left undelivered */
        free(S->res);
        S->res = NULL;
        if (S->fs && !rc && !a->stop && (a->flags & VSS_AUDIT_STRIP_MAP))
            make_strip(a, S);
        S->pub.strip = (const uint64_t (*)[4])S->strip;
    }
    return rc ? rc : finish(a, problems);
}

size_t vss_audit_snapshot_count(const vss_audit *a)
{
    return a ? a->nsnaps : 0;
}

const vss_audit_snapshot *vss_audit_snapshot_get(const vss_audit *a,
                                                 size_t i)
{
    return a && i < a->nsnaps ? &a->snaps[i].pub : NULL;
}

void vss_audit_live_summary(const vss_audit *a, size_t *files,
                            size_t *walk_errors)
{
    if (files)
        *files = a ? a->live.n : 0;
    if (walk_errors)
        *walk_errors = a ? a->live.errors : 0;
}

/* ---- the diff ------------------------------------------------------------- */

static int diff_add(vss_audit *r, size_t *cap, vss_diff_kind kind, item *a,
                    item *b)
{
    dent *x;
    if (r->ndiff == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        dent *nv = vss_realloc(r->diff, nc * sizeof *nv);
        if (!nv)
            return VSS_ENOMEM;
        r->diff = nv;
        *cap = nc;
    }
    x = &r->diff[r->ndiff++];
    memset(x, 0, sizeof *x);
    x->kind = kind;
    x->a = a;
    x->b = b;
    return 0;
}

/* Open one side of a diff entry and hash it as Windows returns it; on
 * success v stays open (the caller closes it). */
static int side_digests(worker *w, vss_snapshot *snap, vss_fs *fs, item *it,
                        ver *v, vss_digests *d, vss_error *e)
{
    int rc = ver_open(snap, fs, it, v, e);
    if (rc)
        return rc;
    if ((rc = ver_digests(w, v, 0, d, NULL, NULL, e)))
        ver_close(v);
    return rc;
}

/* Whether two versions differ where both preserved their bytes: their
 * sizes, then the bytes outside both sides' lost ranges, read a chunk at a
 * time (a chunk lost on either side throughout is not read). 1 they
 * differ, 0 not there, else an error code (e). */
static int preserved_differ(worker *w, const ver *a, const ver *b,
                            vss_error *e)
{
    const vss_lost_range *la = a->prov.lost, *lb = b->prov.lost;
    size_t na = a->prov.lost_count, nb = b->prov.lost_count, ia = 0, ib = 0;
    uint64_t size = a->prov.size, off, pos;
    int rc;
    if (a->prov.size != b->prov.size)
        return 1;
    if (worker_buffers(w, 0))
        return vss_fail(e, VSS_ENOMEM, "out of memory");
    for (off = 0; off < size; off += BUFSZ) {
        uint64_t end = size - off < BUFSZ ? size : off + BUFSZ;
        int loaded = 0;
        for (pos = off; pos < end;) {
            uint64_t t = end;
            while (ia < na && la[ia].offset + la[ia].length <= pos)
                ia++;
            while (ib < nb && lb[ib].offset + lb[ib].length <= pos)
                ib++;
            if (ia < na && la[ia].offset <= pos) {
                pos = la[ia].offset + la[ia].length;   /* lost in a */
                continue;
            }
            if (ib < nb && lb[ib].offset <= pos) {
                pos = lb[ib].offset + lb[ib].length;   /* lost in b */
                continue;
            }
            if (ia < na && la[ia].offset < t)
                t = la[ia].offset;
            if (ib < nb && lb[ib].offset < t)
                t = lb[ib].offset;
            /* [pos, t): preserved on both sides */
            if (!loaded) {
                size_t n = (size_t)(end - off);
                if ((rc = read_full(a->f, w->buf, n, off, e)) ||
                    (rc = read_full(b->f, w->buf2, n, off, e)))
                    return rc;
                loaded = 1;
            }
            if (memcmp(w->buf + (pos - off), w->buf2 + (pos - off),
                       (size_t)(t - pos)) != 0)
                return 1;
            pos = t;
        }
    }
    return 0;
}

/* A side's zero and stale byte counts and its lost ranges into the entry
 * (the ranges handed over, delivered without a copy). */
static void side_keep_ranges(ver *v, uint64_t *lost, uint64_t *unverified,
                             vss_lost_range **ranges, size_t *n)
{
    *lost = v->prov.lost_zero;
    *unverified = v->prov.lost_stale;
    *ranges = v->prov.lost;
    *n = v->prov.lost_count;
    v->prov.lost = NULL;
    v->prov.lost_count = 0;
}

static void job_diff(vss_audit *r, worker *w, size_t i)
{
    dent *x = &r->diff[i];
    vss_error e = {0};
    ver va, vb;
    int rc = 0, have_a = 0, have_b = 0;
    if (x->a) {
        rc = side_digests(w, r->sa, r->fsa, x->a, &va, &x->da, &e);
        if (rc)
            say(r, "%s: %s", r->sa ? "snapshot" : "live", e.message);
        have_a = !rc;
    }
    if (x->b && !rc) {
        rc = side_digests(w, r->sb, r->fsb, x->b, &vb, &x->db, &e);
        if (rc)
            say(r, "%s: %s", r->sb ? "snapshot" : "live", e.message);
        have_b = !rc;
    }
    if (!rc && have_a && have_b) {
        /* only preserved bytes tell a change (vss_diff_kind) */
        int partial = va.prov.lost_count || vb.prov.lost_count;
        int differ = va.prov.size != vb.prov.size ||
                     !digests_equal(r, &x->da, &x->db);
        if (differ && partial) {
            differ = preserved_differ(w, &va, &vb, &e);
            if (differ != 0 && differ != 1) {
                say(r, "%s: %s", x->b->f.path, e.message);
                rc = differ;
            }
        }
        if (!rc && differ)
            x->kind = x->kind == VSS_DIFF_RENAMED ? VSS_DIFF_RENAMED_MODIFIED
                                                  : VSS_DIFF_MODIFIED;
        else if (!rc && partial)
            x->kind = x->kind == VSS_DIFF_RENAMED
                          ? VSS_DIFF_RENAMED_UNDETERMINED
                          : VSS_DIFF_UNDETERMINED;
    }
    if (rc) {
        x->error = strdup(e.message);
        problem(r);
    }
    if (have_a) {
        side_keep_ranges(&va, &x->lost_a, &x->unverified_a, &x->np_a,
                         &x->n_np_a);
        ver_close(&va);
    }
    if (have_b) {
        side_keep_ranges(&vb, &x->lost_b, &x->unverified_b, &x->np_b,
                         &x->n_np_b);
        ver_close(&vb);
    }
}

static int deliver_diff(vss_audit *r, size_t i)
{
    dent *x = &r->diff[i];
    vss_diff_entry v;
    int rc = 0;
    r->pr.files_done++;
    if (r->cb && r->cb->diff) {
        memset(&v, 0, sizeof v);
        v.kind = x->kind;
        v.a = x->a ? &x->a->f : NULL;
        v.b = x->b ? &x->b->f : NULL;
        v.da = x->da;
        v.db = x->db;
        v.lost_a = x->lost_a;
        v.lost_b = x->lost_b;
        v.unverified_a = x->unverified_a;
        v.unverified_b = x->unverified_b;
        v.error = x->error ? x->error : "";
        v.not_preserved_a = x->np_a;
        v.not_preserved_count_a = x->n_np_a;
        v.not_preserved_b = x->np_b;
        v.not_preserved_count_b = x->n_np_b;
        rc = r->cb->diff(&v, r->cb->user);
    }
    dent_free_ranges(x);
    return rc;
}

/* One side of the diff: snapshot k's file system and index, or the live
 * volume's (k 0). */
static int diff_side(vss_audit *r, int k, vss_snapshot **snap, vss_fs **fs,
                     aindex **ix, vss_error *err)
{
    asnap *S;
    size_t i;
    int rc;
    if (k == 0) {
        if (!r->live_fs)
            return vss_fail(err, VSS_EINVAL, "the diff needs the live volume");
        *snap = NULL;
        *fs = r->live_fs;
        *ix = &r->live;
        return 0;
    }
    for (i = 0; i < r->nsnaps; i++)
        if (r->snaps[i].pub.index == k)
            break;
    S = &r->snaps[i];
    if (i == r->nsnaps && (rc = add_snapshot(r, k, &S, err)))
        return rc;
    if (!S->fs)
        return vss_fail(err, VSS_EIO, "snapshot %d: %s", k, S->error);
    *snap = S->snap;
    *fs = S->fs;
    *ix = &S->ix;
    return 0;
}

int vss_audit_diff(vss_audit *r, int side_a, int side_b,
                   const vss_audit_callbacks *cb, size_t *problems,
                   vss_error *err)
{
    size_t cap = 0, i;
    int rc;
    vss_error e = {0};

    if (problems)
        *problems = 0;   /* also when the sides are refused below */
    if (r && (side_a < 0 || side_b < 0 || side_a > r->count ||
              side_b > r->count))
        return vss_fail(err, side_a < 0 || side_b < 0 ? VSS_EINVAL
                                                  : VSS_ENOTFOUND,
                    "diff %d:%d: the volume has %d snapshot%s", side_a,
                    side_b, r->count, r->count == 1 ? "" : "s");
    if ((rc = begin(r, cb, problems, err)))
        return rc;
    r->diff_a = side_a;
    r->diff_b = side_b;
    if (!side_a || !side_b) {
        if (!r->live_src)
            return vss_fail(err, VSS_EINVAL, "the diff needs the live volume");
        if ((rc = open_live(r, r->subtree, err)))
            return rc;
    }
    if ((rc = diff_side(r, side_a, &r->sa, &r->fsa, &r->ixa, err)) ||
        (rc = diff_side(r, side_b, &r->sb, &r->fsb, &r->ixb, err)))
        return rc;
    for (i = 0; i < r->ixa->n; i++) {
        item *a = &r->ixa->v[i];
        item *b = ix_find(r->ixb, a->f.record, item_stream(a));
        if ((!b || b->f.sequence != a->f.sequence) &&
            diff_add(r, &cap, VSS_DIFF_DELETED, a, NULL))
            return vss_fail(err, VSS_ENOMEM, "out of memory");
    }
    for (i = 0; i < r->ixb->n; i++) {
        item *b = &r->ixb->v[i];
        item *a = ix_find(r->ixa, b->f.record, item_stream(b));
        if (!a || a->f.sequence != b->f.sequence) {
            if (diff_add(r, &cap, VSS_DIFF_ADDED, NULL, b))
                return vss_fail(err, VSS_ENOMEM, "out of memory");
            continue;
        }
        if (diff_add(r, &cap, strcmp(a->f.path, b->f.path)
                                  ? VSS_DIFF_RENAMED : VSS_DIFF_UNCHANGED,
                     a, b))
            return vss_fail(err, VSS_ENOMEM, "out of memory");
    }
    for (i = 0; i < r->ndiff; i++) {
        dent *x = &r->diff[i];
        r->pr.bytes_total += (x->a ? x->a->f.size : 0) +
                             (x->b ? x->b->f.size : 0);
    }
    r->pr.files_total = r->ndiff;
    r->pr.snapshot = side_a;
    r->job = job_diff;
    r->deliver = deliver_diff;
    if ((rc = run_parallel(r, r->ndiff, &e))) {
        if (err)
            *err = e;
        return rc;
    }
    return finish(r, problems);
}

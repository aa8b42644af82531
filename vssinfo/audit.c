/*
 * audit.c — vssinfo --audit and --diff (issue #5): for every file and named
 * stream of a snapshot, what the snapshot really preserved.
 *
 * For each stream the engine asks the library where its bytes are
 * (vss_fs_file_extents) and where the snapshot takes those bytes from
 * (vss_snapshot_map): bytes of class zero or stale are not evidence of the
 * snapshot, and are reported as FILE byte ranges. It hashes the stream as
 * Windows returns it, and the live volume's version of the same file (same
 * MFT record AND sequence number), and — when the live file is provably the
 * same, unmodified file at the same clusters — the recovered version
 * (snapshot bytes where preserved, live bytes in the gaps).
 *
 * Every version is read once, in large chunks, each chunk feeding every
 * requested digest (and the 16 KiB block digests when wanted). Two versions
 * with the same "content key" — the same extents whose bytes come from the
 * same places (live volume offsets, storage offsets, zeros) — have the same
 * bytes, so their digests are computed once: a file untouched since the
 * snapshot is read once however many snapshots hold it.
 *
 * Only the public libvss API is used; nothing here decodes on-disk bytes.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <pthread.h>

#include "cli.h"
#include "audit_int.h"
#include "digest.h"

#define BS VSS_BLOCK_SIZE
#define BUFSZ (8u << 20)         /* read chunk: a multiple of BS */

static int fail(vss_error *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(vss_error *e, int code, const char *fmt, ...)
{
    va_list ap;
    if (e) {
        e->code = code;
        va_start(ap, fmt);
        vsnprintf(e->message, sizeof e->message, fmt, ap);
        va_end(ap);
    }
    return code;
}

#define warn cli_warn

/* ---- names and formatting ----------------------------------------------- */

const char *aud_alg_name(int alg)
{
    return alg == AUD_MD5 ? "md5" : alg == AUD_SHA1 ? "sha1" : "sha256";
}

size_t aud_alg_len(int alg)
{
    return alg == AUD_MD5 ? 16 : alg == AUD_SHA1 ? 20 : 32;
}

/* The audit's algorithm numbers are digest.h's. */
_Static_assert((int)AUD_MD5 == (int)DIGEST_MD5 &&
                   (int)AUD_SHA1 == (int)DIGEST_SHA1 &&
                   (int)AUD_SHA256 == (int)DIGEST_SHA256,
               "audit and digest algorithm numbers");

void aud_hex(const uint8_t *p, size_t n, char *out)
{
    static const char h[] = "0123456789abcdef";
    size_t i;
    for (i = 0; i < n; i++) {
        out[2 * i] = h[p[i] >> 4];
        out[2 * i + 1] = h[p[i] & 15];
    }
    out[2 * n] = '\0';
}

const char *aud_status_name(int s)
{
    static const char *const n[] = {"intact", "damaged", "resident",
                                     "unchanged", "unverified", "error"};
    return s >= 0 && s <= AUD_ERROR ? n[s] : "?";
}

/* What the live volume holds for the file, in every report's words: for
 * the same file (record and sequence) whether its bytes are identical. */
const char *aud_live_word(const aud_result *x)
{
    static const char *const n[] = {NULL, "reused", "deleted",
                                     "stream-deleted", "none", "unreadable"};
    if (x->live_state == LIVE_SAME)
        return !x->has_live ? "unreadable" : x->match ? "identical"
                                                      : "differs";
    return x->live_state > 0 && x->live_state <= LIVE_UNREADABLE
               ? n[x->live_state] : "?";
}

const char *aud_stale_source_name(int s)
{
    static const char *const n[] = {"", "same-file", "same-file-changed",
                                     "unknown", "free", "other-file"};
    return s >= 0 && s <= STALE_OTHER_FILE ? n[s] : "?";
}

/* qsort, which must not be handed a NULL array even with no element (an
 * empty index has none: C says undefined, UBSan aborts). */
void aud_sort(void *base, size_t n, size_t size,
              int (*cmp)(const void *, const void *))
{
    if (n > 1)
        qsort(base, n, size, cmp);
}

const char *aud_block_kind_name(int k)
{
    static const char *const n[] = {"same", "gap", "changed", "snapshot-only",
                                     "live-only"};
    return k >= 0 && k <= BK_LIVE_ONLY ? n[k] : "?";
}

void aud_human(uint64_t b, char *out, size_t outsz)
{
    static const char *const u[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = (double)b;
    int i = 0;
    while (v >= 1024 && i < 5) {
        v /= 1024;
        i++;
    }
    if (i == 0)
        snprintf(out, outsz, "%" PRIu64 " B", b);
    else
        snprintf(out, outsz, "%.1f %s", v, u[i]);
}

static int range_overlaps(const aud_result *x, uint64_t a, uint64_t b)
{
    size_t i;
    for (i = 0; i < x->ndmg; i++)
        if (x->dmg[i].off < b && x->dmg[i].off + x->dmg[i].len > a)
            return 1;
    return 0;
}

int aud_block_kind(const aud_run *r, const aud_result *x, size_t i)
{
    const uint8_t *s, *l;
    if (i >= x->nb_live)
        return BK_SNAP_ONLY;
    if (i >= x->nb_snap)
        return BK_LIVE_ONLY;
    s = x->bsnap + i * r->blen;
    l = x->blive + i * r->blen;
    if (memcmp(s, l, r->blen) == 0)
        return BK_SAME;
    if (x->bfill && range_overlaps(x, (uint64_t)i * BS, (uint64_t)(i + 1) * BS) &&
        memcmp(x->bfill + i * r->blen, l, r->blen) == 0)
        return BK_GAP;
    return BK_CHANGED;
}

/* ---- engine state -------------------------------------------------------- */

typedef struct cache_ent {
    uint8_t key[32];
    int used;
    aud_digests d;
    uint8_t *blocks;
    size_t nb;
} cache_ent;

typedef struct eng {
    aud_run *r;
    cache_ent *cache;
    size_t ccap, cn;
    uint8_t *buf, *fbuf, *buf2, *fbuf2;   /* two chunks in flight */
    digest md[AUD_NALG], fmd[AUD_NALG];
    /* progress */
    int progress;
    struct timespec t0, tlast;
    size_t files_done, files_total;
    uint64_t bytes_done, bytes_total, bytes_hashed;
    int cur_snap;
    size_t nsel;
    uint64_t bytes_skipped;         /* versions found in the cache */
    int blocks_mode;        /* block digests for files that differ */
    uint8_t **orphans;      /* block digests of versions not cacheable */
    size_t norphans;
} eng;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double t_start;
static double t_last;

static void progress(eng *g, int force)
{
    double t, el, rate, left;
    char done[32], r[32];
    if (!g->progress)
        return;
    t = now_s();
    if (!force && t - t_last < 0.2)
        return;
    t_last = t;
    el = t - t_start;
    rate = el > 0 ? (double)g->bytes_hashed / el : 0;
    aud_human(g->bytes_hashed, done, sizeof done);
    aud_human((uint64_t)rate, r, sizeof r);
    left = -1;
    {
        /* versions read plus versions whose digests were known already,
         * against the snapshots' streams plus their live versions */
        uint64_t got = g->bytes_hashed + g->bytes_skipped;
        if (el > 1 && got > 0 && g->bytes_total > got)
            left = (double)(g->bytes_total - got) * el / (double)got;
    }
    fprintf(stderr, "\r\033[K[audit] %s %d  files %zu/%zu  %s hashed  %s/s",
            g->cur_snap ? "snapshot" : "live", g->cur_snap, g->files_done,
            g->files_total, done, r);
    if (left >= 0)
        fprintf(stderr, "  %d:%02d left", (int)(left / 60),
                (int)left % 60);
    fflush(stderr);
}

static void progress_end(eng *g)
{
    if (g->progress)
        fprintf(stderr, "\r\033[K");
}

/* Content-key cache: open addressing on the first 8 key bytes. */
static cache_ent *cache_find(eng *g, const uint8_t key[32], int add)
{
    size_t i, mask;
    uint64_t h;
    if (g->cn * 2 >= g->ccap && add) {
        size_t nc = g->ccap ? g->ccap * 2 : 1024, k;
        cache_ent *nv = calloc(nc, sizeof *nv);
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

/* ---- walking a volume ----------------------------------------------------- */

static aud_item *ix_add(aud_index *ix)
{
    if (ix->n == ix->cap) {
        size_t nc = ix->cap ? ix->cap * 2 : 256;
        aud_item *nv = realloc(ix->v, nc * sizeof *nv);
        if (!nv)
            return NULL;
        ix->v = nv;
        ix->cap = nc;
    }
    memset(&ix->v[ix->n], 0, sizeof ix->v[ix->n]);
    ix->v[ix->n].order = ix->n;
    return &ix->v[ix->n++];
}

static int add_item(aud_index *ix, const char *path, const char *stream,
                    const vss_fs_stat *st, uint64_t size, int resident)
{
    aud_item *it = ix_add(ix);
    size_t pl = strlen(path);
    if (!it)
        return VSS_ENOMEM;
    if (stream && *stream) {
        it->path = malloc(pl + strlen(stream) + 2);
        if (it->path)
            sprintf(it->path, "%s:%s", path, stream);
        it->stream_at = pl;
    } else {
        it->path = strdup(path);
    }
    if (!it->path) {
        ix->n--;
        return VSS_ENOMEM;
    }
    it->record = st->mft_record;
    it->sequence = st->sequence;
    it->size = size;
    it->resident = resident;
    it->attributes = st->attributes;
    it->crtime = st->creation_time;
    it->mtime = st->modification_time;
    it->ctime = st->mft_change_time;
    it->atime = st->access_time;
    it->record_offset = st->record_offset;
    it->names = 1;
    return 0;
}

/* Remember a record the walk could not read: a file there is not "deleted",
 * its state is unknown. */
static void mark_bad(aud_index *ix, uint64_t record)
{
    if (ix->nbad == ix->capbad) {
        size_t nc = ix->capbad ? ix->capbad * 2 : 16;
        uint64_t *nv = realloc(ix->bad, nc * sizeof *nv);
        if (!nv)
            return;
        ix->bad = nv;
        ix->capbad = nc;
    }
    ix->bad[ix->nbad++] = record;
}

static int is_bad(const aud_index *ix, uint64_t record)
{
    size_t i;
    for (i = 0; i < ix->nbad; i++)
        if (ix->bad[i] == record)
            return 1;
    return 0;
}

typedef struct walk {
    aud_index *ix;
    const char *label;
} walk;

/* One event of the library's walk (vss_fs_walk): files and named streams
 * become items; what could not be read is counted and said. */
static int index_entry(const vss_walk_entry *x, void *user)
{
    walk *w = user;
    aud_index *ix = w->ix;
    const vss_fs_stat *st = x->st;

    switch (x->event) {
    case VSS_WALK_ENTRY:
        if (!st->is_directory && st->has_data &&
            add_item(ix, x->path, NULL, st, st->size, 0))
            ix->errors++;
        break;
    case VSS_WALK_STREAM:
        /* $BadClus:$Bad spans the whole volume, sparse by design: hashing
         * its zeros says nothing (left out even with --audit-system) */
        if (st->mft_record == 8 && strcmp(x->stream, "$Bad") == 0) {
            ix->skipped++;
        } else if (!x->stream[0]) {
            if (!st->is_directory && st->has_data && ix->n &&
                strcmp(ix->v[ix->n - 1].path, x->path) == 0)
                ix->v[ix->n - 1].resident = x->stream_resident;
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
        warn("%s: '%s' (MFT record %" PRIu64 "): %s", w->label, x->path,
             st->mft_record, x->message);
        break;
    case VSS_WALK_LOOP:
    case VSS_WALK_TOO_DEEP:
        ix->errors++;
        warn("%s: '%s' (MFT record %" PRIu64 "): %s, not walked again",
             w->label, x->path, st->mft_record,
             x->event == VSS_WALK_LOOP
                 ? "directory already walked (linked twice)"
                 : "too deep");
        break;
    default: /* a directory or a file's streams could not be listed */
        ix->errors++;
        warn("%s: %s", w->label, x->message);
        break;
    }
    return 0;
}

static int cmp_item(const void *a, const void *b)
{
    const aud_item *x = a, *y = b;
    const char *sx = x->stream_at ? x->path + x->stream_at + 1 : "";
    const char *sy = y->stream_at ? y->path + y->stream_at + 1 : "";
    int c;
    if (x->record != y->record)
        return x->record < y->record ? -1 : 1;
    c = strcmp(sx, sy);
    if (c)
        return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

static int cmp_order(const void *a, const void *b)
{
    const aud_item *x = a, *y = b;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* Walk `root` of fs; hard links give one item (the first name met). The
 * index ends sorted by record and stream name (for lookups). */
static int index_volume(vss_fs *fs, const char *root, int system,
                        const char *label, aud_index *ix)
{
    walk w;
    vss_fs_walk_options wo = {0};
    vss_error e = {0};
    size_t i, k;

    if (*root && *root != '/')
        return warn("%s: internal: path '%s' not absolute", label, root);
    w.ix = ix;
    w.label = label;
    wo.flags = VSS_WALK_RECURSIVE | VSS_WALK_STREAMS |
               (system ? 0
                       : VSS_WALK_SKIP_METADATA | VSS_WALK_SKIP_SHADOW_FILES);
    if (vss_fs_walk(fs, root, &wo, index_entry, &w, &e))
        return warn("%s: %s", label, e.message);
    aud_sort(ix->v, ix->n, sizeof *ix->v, cmp_item);
    for (i = k = 0; i < ix->n; i++) {
        if (k && ix->v[k - 1].record == ix->v[i].record &&
            strcmp(ix->v[k - 1].stream_at
                       ? ix->v[k - 1].path + ix->v[k - 1].stream_at + 1
                       : "",
                   ix->v[i].stream_at ? ix->v[i].path + ix->v[i].stream_at + 1
                                      : "") == 0) {
            ix->v[k - 1].names++;
            free(ix->v[i].path);
            continue;
        }
        ix->v[k++] = ix->v[i];
    }
    ix->n = k;
    return 0;
}

static void index_free(aud_index *ix)
{
    size_t i;
    for (i = 0; i < ix->n; i++)
        free(ix->v[i].path);
    free(ix->v);
    free(ix->bad);
    memset(ix, 0, sizeof *ix);
}

/* The item with this record and stream (NULL stream = unnamed). */
static aud_item *ix_find(aud_index *ix, uint64_t record, const char *stream)
{
    size_t lo = 0, hi = ix->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        aud_item *m = &ix->v[mid];
        int c;
        if (m->record != record) {
            c = m->record < record ? -1 : 1;
        } else {
            c = strcmp(m->stream_at ? m->path + m->stream_at + 1 : "",
                       stream ? stream : "");
        }
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
static aud_item *ix_find_record(aud_index *ix, uint64_t record)
{
    size_t lo = 0, hi = ix->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (ix->v[mid].record < record)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < ix->n && ix->v[lo].record == record ? &ix->v[lo] : NULL;
}

static const char *item_stream(const aud_item *it)
{
    return it->stream_at ? it->path + it->stream_at + 1 : NULL;
}

/* ---- one version of a stream: extents, provenance, content key ---------- */

typedef struct ver {
    vss_fs_file *f;
    vss_provenance prov;    /* the library's: extents, lost ranges, key */
    const vss_fs_extent *ext;   /* prov's, under the names used below */
    size_t next;
    uint64_t size;
    uint32_t cunit;
    int resident;
    const uint8_t *key;
    int key_ok;
    aud_range *dmg;         /* prov.lost, with room for the stale source */
    size_t ndmg;
    uint64_t lost_zero;     /* bytes of dmg of class zero: lost for sure */
    uint64_t lost_stale;    /* of class stale: returned, not preserved */
    const uint64_t *by_class;
    int record_damaged;
} ver;

static void ver_close(ver *v)
{
    vss_provenance_free(&v->prov);
    vss_fs_file_close(v->f);
    free(v->dmg);
    memset(v, 0, sizeof *v);
}

/* Open one version of it (snap NULL: the live volume); the library works
 * out its provenance, damaged ranges and content key
 * (vss_fs_file_provenance). */
static int ver_open(vss_snapshot *snap, vss_fs *fs, const aud_item *it,
                    ver *v, vss_error *e)
{
    size_t i;
    int rc;

    memset(v, 0, sizeof *v);
    if ((rc = vss_fs_file_open(fs, it->path, &v->f, e)) ||
        (rc = vss_fs_file_provenance(snap, fs, v->f, item_stream(it),
                                     &v->prov, e))) {
        ver_close(v);
        return rc;
    }
    v->ext = v->prov.extents;
    v->next = v->prov.extent_count;
    v->size = v->prov.size;
    v->cunit = v->prov.compression_unit;
    v->resident = v->prov.resident;
    v->key = v->prov.key;
    v->key_ok = v->prov.key_valid;
    v->lost_zero = v->prov.lost_zero;
    v->lost_stale = v->prov.lost_stale;
    v->by_class = v->prov.bytes;
    v->record_damaged = v->prov.record_damaged;
    if (v->prov.lost_count) {
        v->dmg = calloc(v->prov.lost_count, sizeof *v->dmg);
        if (!v->dmg) {
            ver_close(v);
            return fail(e, VSS_ENOMEM, "out of memory");
        }
    }
    for (i = 0; i < v->prov.lost_count; i++) {
        const vss_lost_range *d = &v->prov.lost[i];
        v->dmg[i].off = d->offset;
        v->dmg[i].len = d->length;
        v->dmg[i].cls = d->cls;
        v->dmg[i].reason = d->reason;
        v->dmg[i].store = d->store_index;
    }
    v->ndmg = v->prov.lost_count;
    return 0;
}

/* The volume offset of file byte off in ext (VSS_FS_NO_OFFSET if none),
 * the bytes that follow contiguously and the extent's flags. */
static uint64_t vol_of(const ver *v, uint64_t off, uint64_t *left,
                       unsigned *flags)
{
    size_t i;
    for (i = 0; i < v->next; i++) {
        const vss_fs_extent *x = &v->ext[i];
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
    if (s->cunit != l->cunit)
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
    for (i = 0; i < s->ndmg; i++)
        if (!same_place(s, l, s->dmg[i].off, s->dmg[i].off + s->dmg[i].len))
            return 0;
    return 1;
}

/* ---- hashing -------------------------------------------------------------- */

typedef struct pass_out {
    aud_digests d, fd;
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
            return fail(e, VSS_EIO, "file data ends early at file offset %" PRIu64, off + got);
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
static int read_chunk(eng *g, ver *v, const ver *fill, uint64_t off,
                      size_t n, uint8_t *buf, uint8_t *fbuf, int *patched,
                      size_t *j, vss_error *e)
{
    size_t k;
    int rc = read_full(v->f, buf, n, off, e);
    *patched = 0;
    if (rc || !fill)
        return rc;
    while (*j < v->ndmg && v->dmg[*j].off + v->dmg[*j].len <= off)
        (*j)++;
    for (k = *j; k < v->ndmg && v->dmg[k].off < off + n && !rc; k++) {
        uint64_t s = v->dmg[k].off > off ? v->dmg[k].off : off;
        uint64_t t = v->dmg[k].off + v->dmg[k].len;
        if (t > off + n)
            t = off + n;
        if (!*patched)
            memcpy(fbuf, buf, n);
        *patched = 1;
        if (s < fill->size) {
            uint64_t t2 = t < fill->size ? t : fill->size;
            rc = read_full(fill->f, fbuf + (s - off), (size_t)(t2 - s), s, e);
            memset(fbuf + (t2 - off), 0, (size_t)(t - t2));
        } else {
            memset(fbuf + (s - off), 0, (size_t)(t - s));
        }
        g->bytes_hashed += t - s;
    }
    return rc;
}

/* Read v whole once: every requested digest, the block digests when
 * want_blocks, and with fill (the same file on the live volume) the
 * recovered version: live bytes in the damaged ranges. Chunk k is hashed
 * by worker threads (one per digest) while chunk k+1 is read. */
static int hash_pass(eng *g, ver *v, const ver *fill, int want_blocks,
                     pass_out *o, vss_error *e)
{
    aud_run *r = g->r;
    uint64_t off = 0;
    size_t j = 0, a, nb = (size_t)((v->size + BS - 1) / BS), n;
    int rc = 0, cur = 0, patched[2] = {0, 0};

    memset(o, 0, sizeof *o);
    o->nb = nb;
    if (want_blocks && nb) {
        o->blocks = malloc(nb * r->blen);
        o->fblocks = fill ? malloc(nb * r->blen) : NULL;
        if (!o->blocks || (fill && !o->fblocks)) {
            free(o->blocks);
            free(o->fblocks);
            o->blocks = o->fblocks = NULL;
            return fail(e, VSS_ENOMEM, "out of memory");
        }
    }
    for (a = 0; a < (size_t)r->nalg; a++) {
        digest_init(&g->md[a], r->alg[a]);
        if (fill)
            digest_init(&g->fmd[a], r->alg[a]);
    }
    n = v->size < BUFSZ ? (size_t)v->size : BUFSZ;
    if (n)
        rc = read_chunk(g, v, fill, 0, n, g->buf, g->fbuf, &patched[0], &j,
                        e);
    while (off < v->size && !rc) {
        hjob jobs[2 * AUD_NALG + 2];
        size_t nj = 0, i, nn = 0;
        uint8_t *b = cur ? g->buf2 : g->buf;
        uint8_t *fb = cur ? g->fbuf2 : g->fbuf;
        const uint8_t *fsrc = patched[cur] ? fb : b;
        uint64_t next = off + n;
        int rc2 = 0;

        memset(jobs, 0, sizeof jobs);
        for (a = 0; a < (size_t)r->nalg; a++) {
            jobs[nj].ctx = &g->md[a];
            jobs[nj].p = b;
            jobs[nj++].n = n;
            if (fill) {
                jobs[nj].ctx = &g->fmd[a];
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
        /* one job stays on this thread when there is nothing to read */
        for (i = 0; i < nj; i++)
            jobs[i].started = (next < v->size || i > 0) &&
                              pthread_create(&jobs[i].tid, NULL, hjob_run,
                                             &jobs[i]) == 0;
        for (i = 0; i < nj; i++)
            if (!jobs[i].started && next >= v->size)
                hjob_run(&jobs[i]);
        if (next < v->size) {
            nn = v->size - next < BUFSZ ? (size_t)(v->size - next) : BUFSZ;
            rc2 = read_chunk(g, v, fill, next, nn, cur ? g->buf : g->buf2,
                             cur ? g->fbuf : g->fbuf2, &patched[!cur], &j,
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
        g->bytes_hashed += n;
        progress(g, 0);
        rc = rc2;
        off = next;
        n = nn;
        cur = !cur;
    }
    for (a = 0; a < (size_t)r->nalg; a++) {
        int al = r->alg[a];
        digest_final(&g->md[a], o->d.v[al]);
        o->d.have |= 1u << al;
        if (fill) {
            digest_final(&g->fmd[a], o->fd.v[al]);
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
 * before. *blocks points into the cache (valid until the run ends). */
static int ver_digests(eng *g, ver *v, int want_blocks, aud_digests *d,
                       uint8_t **blocks, size_t *nb, vss_error *e)
{
    cache_ent *c = v->key_ok ? cache_find(g, v->key, 0) : NULL;
    pass_out o;
    int rc;
    if (c && (!want_blocks || c->blocks || !c->nb)) {
        g->bytes_skipped += v->size;
        *d = c->d;
        if (blocks)
            *blocks = c->blocks;
        if (nb)
            *nb = c->nb;
        return 0;
    }
    rc = hash_pass(g, v, NULL, want_blocks, &o, e);
    if (rc)
        return rc;
    *d = o.d;
    if (blocks)
        *blocks = o.blocks;
    if (nb)
        *nb = o.nb;
    if (v->key_ok && (c = c ? c : cache_find(g, v->key, 1)) != NULL) {
        c->d = o.d;
        if (o.blocks) {
            free(c->blocks);
            c->blocks = o.blocks;
        }
        c->nb = o.nb;
    } else if (o.blocks) {
        /* not cacheable: kept until the run ends, like the cache's */
        uint8_t **nv = realloc(g->orphans, (g->norphans + 1) * sizeof *nv);
        if (nv) {
            g->orphans = nv;
            g->orphans[g->norphans++] = o.blocks;
        } else {
            free(o.blocks);
            if (blocks)
                *blocks = NULL;
        }
    }
    return 0;
}

/* Equal in every requested algorithm. */
int aud_digests_equal(const aud_run *r, const aud_digests *a,
                      const aud_digests *b)
{
    int i;
    for (i = 0; i < r->nalg; i++)
        if (memcmp(a->v[r->alg[i]], b->v[r->alg[i]],
                   aud_alg_len(r->alg[i])) != 0)
            return 0;
    return 1;
}

/* ---- where stale bytes come from ------------------------------------------ */

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
    aud_index own;          /* snapshot k's index */
    aud_index *ix;          /* &own, or the run's live index */
    uint8_t *bitmap;        /* its $Bitmap: one bit per cluster in use */
    uint64_t bitmap_len;
    uint32_t cluster;
    char name[32];          /* "the live volume", "snapshot 3" */
    char error[600];        /* state -1: why */
} aud_ref;

static int index_volume(vss_fs *fs, const char *root, int system,
                        const char *label, aud_index *ix);
static int read_full(vss_fs_file *f, uint8_t *p, size_t n, uint64_t off,
                     vss_error *e);

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
    R->bitmap = malloc(n ? (size_t)n : 1);
    if (!R->bitmap)
        rc = fail(e, VSS_ENOMEM, "out of memory");
    else
        rc = read_full(f, R->bitmap, (size_t)n, 0, e);
    R->bitmap_len = n;
    R->cluster = vss_fs_cluster_size(R->fs);
    vss_fs_file_close(f);
    return rc;
}

static aud_ref *ref_get(aud_run *r, int k)
{
    aud_ref *R;
    vss_error e = {0};
    if (k < 0 || k >= r->nrefs)
        return NULL;
    R = &r->refs[k];
    if (R->state)
        return R;
    R->state = -1;
    if (k == 0) {
        snprintf(R->name, sizeof R->name, "the live volume");
        if (!r->live_fs) {
            snprintf(R->error, sizeof R->error, "its file system could not "
                     "be read");
            return R;
        }
        R->fs = r->live_fs;
        R->ix = &r->live;
    } else {
        vss_source *src = NULL;
        snprintf(R->name, sizeof R->name, "snapshot %d", k);
        if (vss_snapshot_open(r->fv->vol, k, r->o->fill, &R->snap, &e) ||
            vss_snapshot_source(R->snap, &src, &e) ||
            vss_fs_open(src, &R->fs, &e)) {
            vss_source_release(src);
            snprintf(R->error, sizeof R->error, "%s", e.message);
            return R;
        }
        vss_source_release(src);
        if (index_volume(R->fs, "", r->o->system, R->name, &R->own)) {
            snprintf(R->error, sizeof R->error, "its root directory could "
                     "not be read");
            return R;
        }
        R->ix = &R->own;
    }
    if (load_bitmap(R, &e)) {
        snprintf(R->error, sizeof R->error, "$Bitmap: %s", e.message);
        return R;
    }
    R->state = 1;
    return R;
}

static void refs_free(aud_run *r)
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
static int same_file_source(const aud_item *F, uint64_t when,
                            const char *what, const aud_ref *R, char *why,
                            size_t whysz)
{
    char t[32];
    if (F->mtime <= when && F->ctime <= when) {
        snprintf(why, whysz, "%s on %s still belong to this file (MFT record "
                 "%" PRIu64 "-%u), not modified since the snapshot: very "
                 "likely the snapshot's bytes", what, R->name, F->record,
                 (unsigned)F->sequence);
        return STALE_SAME_FILE;
    }
    vss_filetime_format(F->mtime > when ? F->mtime : F->ctime, t);
    snprintf(why, whysz, "%s on %s still belong to this file (MFT record "
             "%" PRIu64 "-%u), but it was modified after the snapshot (%s "
             "%s): they may be newer", what, R->name, F->record,
             (unsigned)F->sequence,
             F->mtime > when ? "modification time" : "MFT change time", t);
    return STALE_SAME_FILE_CHANGED;
}

/* Classify each stale range of s (the stream `it` of snapshot S) by what
 * its reference volume holds there; the file gets its least trusted
 * range's source and reason. `live` is the live version of the same file
 * when it is open already. */
static void classify_stale(aud_run *r, const aud_snapshot *S,
                           const aud_item *it, ver *s, const ver *live,
                           aud_result *x)
{
    uint64_t when = S->info.creation_time;
    ver other;
    int other_store = -1;
    size_t i;

    memset(&other, 0, sizeof other);
    for (i = 0; i < s->ndmg; i++) {
        aud_range *d = &s->dmg[i];
        aud_ref *R;
        const aud_item *F;
        char why[sizeof x->stale_why];
        int src;
        if (d->cls != VSS_CLASS_STALE)
            continue;
        R = ref_get(r, d->store > 0 ? d->store : 0);
        if (!R || R->state < 0) {
            src = STALE_UNKNOWN;
            snprintf(why, sizeof why, "not checked: %s: %s",
                     R ? R->name : "the reference volume",
                     R ? R->error : "none");
        } else if (s->resident) {
            /* the value lives in the MFT record: whose record is it now? */
            F = ix_find_record(R->ix, it->record);
            if (F && F->sequence == it->sequence &&
                F->record_offset == it->record_offset) {
                src = same_file_source(F, when, "the MFT record's bytes", R,
                                       why, sizeof why);
            } else if (F) {
                src = STALE_OTHER_FILE;
                snprintf(why, sizeof why, "MFT record %" PRIu64 " holds "
                         "another file on %s (%s, sequence %u): the bytes "
                         "prove nothing", it->record, R->name, F->path,
                         (unsigned)F->sequence);
            } else {
                src = STALE_FREE;
                snprintf(why, sizeof why, "no file in %s's directory tree "
                         "uses MFT record %" PRIu64 ": the bytes prove "
                         "nothing", R->name, it->record);
            }
        } else {
            const ver *fv = NULL;
            F = ix_find(R->ix, it->record, item_stream(it));
            if (F && F->sequence == it->sequence) {
                int store = d->store > 0 ? d->store : 0;
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
            if (fv && same_place(s, fv, d->off, d->off + d->len)) {
                src = same_file_source(F, when, "the clusters", R, why,
                                       sizeof why);
            } else if (range_allocated(R, s, d->off, d->off + d->len)) {
                src = STALE_OTHER_FILE;
                snprintf(why, sizeof why, "the clusters are in use on %s, "
                         "but not by this file at these offsets: the bytes "
                         "prove nothing", R->name);
            } else {
                src = STALE_FREE;
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

static void set_error(aud_result *x, const char *msg)
{
    x->status = AUD_ERROR;
    free(x->error);
    x->error = strdup(msg);
}

static void audit_item(eng *g, aud_snapshot *S, aud_item *it, aud_result *x)
{
    aud_run *r = g->r;
    ver s, l;
    vss_error e = {0};
    aud_item *L, *R;
    int have_l = 0, want_blocks;
    uint64_t when = S->info.creation_time;

    memset(x, 0, sizeof *x);
    memset(&l, 0, sizeof l);
    x->snapshot = S->index;
    x->it = it;
    x->recoverable = -1;
    if (ver_open(S->snap, S->fs, it, &s, &e)) {
        set_error(x, e.message);
        return;
    }
    it->resident = s.resident;
    x->record_damaged = s.record_damaged;
    memcpy(x->by_class, s.by_class, sizeof x->by_class);
    x->lost = s.lost_zero;
    x->unverified = s.lost_stale;

    /* The live version: same record AND sequence. */
    L = ix_find(&r->live, it->record, item_stream(it));
    R = L ? L : ix_find_record(&r->live, it->record);
    if (!r->live_fs)
        x->live_state = LIVE_NONE;
    else if (!R && is_bad(&r->live, it->record))
        x->live_state = LIVE_UNREADABLE;
    else if (!R)
        x->live_state = LIVE_DELETED;
    else if (R->sequence != it->sequence)
        x->live_state = LIVE_REUSED;
    else if (!L)
        x->live_state = LIVE_NOSTREAM;
    else
        x->live_state = LIVE_SAME;
    x->live = R;
    if (x->live_state == LIVE_SAME) {
        vss_error le = {0};
        if (ver_open(NULL, r->live_fs, L, &l, &le) == 0)
            have_l = 1;
        else
            warn("live: %s", le.message);
    }

    want_blocks = g->blocks_mode && have_l &&
                  !(s.key_ok && l.key_ok && memcmp(s.key, l.key, 32) == 0);
    if (have_l && s.key_ok && l.key_ok && memcmp(s.key, l.key, 32) == 0) {
        /* Same bytes from the same places: identical to live. Gaps (stale
         * live bytes) already hold the live bytes: recovered = the same. */
        if (ver_digests(g, &s, 0, &x->snap, NULL, NULL, &e)) {
            set_error(x, e.message);
            goto out;
        }
        x->livd = x->snap;
        x->has_live = 1;
        x->match = 1;
        g->bytes_skipped += l.size;
        if (s.ndmg) {
            x->rec = x->snap;
            x->has_rec = 1;
        }
    } else {
        uint8_t *bs = NULL, *bl = NULL;
        size_t nbs = 0, nbl = 0;
        if (s.ndmg && have_l) {
            pass_out o;
            if (hash_pass(g, &s, &l, want_blocks, &o, &e)) {
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
            if (ver_digests(g, &s, want_blocks, &x->snap, &bs, &nbs, &e)) {
                set_error(x, e.message);
                goto out;
            }
            if (want_blocks && bs) {
                x->bsnap = malloc(nbs * r->blen);
                if (x->bsnap)
                    memcpy(x->bsnap, bs, nbs * r->blen);
                x->nb_snap = nbs;
            }
        }
        if (have_l) {
            vss_error le = {0};
            if (ver_digests(g, &l, want_blocks, &x->livd, &bl, &nbl, &le)) {
                warn("live: %s", le.message);
            } else {
                x->has_live = 1;
                x->match = aud_digests_equal(r, &x->snap, &x->livd);
                if (want_blocks && bl && !x->match) {
                    x->blive = malloc(nbl * r->blen);
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
    if (s.ndmg) {
        x->recoverable = 0;
        if (x->live_state == LIVE_NONE)
            x->why = "the live volume's file system could not be read";
        else if (x->live_state == LIVE_UNREADABLE)
            x->why = "the live volume's MFT record of the file could not be "
                     "read";
        else if (x->live_state == LIVE_DELETED)
            x->why = "the file was deleted (record not in use in the live "
                     "file system)";
        else if (x->live_state == LIVE_REUSED)
            x->why = "the MFT record now holds another file (sequence "
                     "changed)";
        else if (x->live_state == LIVE_NOSTREAM)
            x->why = "the stream was deleted from the live file";
        else if (!have_l || !x->has_rec)
            x->why = "the live file could not be read";
        else if (L->size != it->size)
            x->why = "the live file's size differs";
        else if (L->mtime > when)
            x->why = "the live file was modified after the snapshot "
                     "($STANDARD_INFORMATION modification time)";
        else if (L->ctime > when)
            x->why = "the live file's MFT record changed after the snapshot "
                     "($STANDARD_INFORMATION MFT change time)";
        else if (!same_ranges(&s, &l))
            x->why = "the lost bytes are at other clusters in the live file";
        else
            x->recoverable = 1;
    }
    if (s.lost_stale)
        classify_stale(r, S, it, &s, have_l ? &l : NULL, x);
    if (s.ndmg) {
        x->dmg = s.dmg;
        x->ndmg = s.ndmg;
        s.dmg = NULL;
        s.ndmg = 0;
        /* zeros are lost for sure; stale bytes alone are returned by
         * Windows, just not vouched for by the snapshot */
        x->status = s.lost_zero ? AUD_DAMAGED : AUD_UNVERIFIED;
    } else if (s.resident) {
        x->status = AUD_RESIDENT;
    } else if (x->match) {
        x->status = AUD_UNCHANGED;
    } else {
        x->status = AUD_INTACT;
    }
out:
    if (x->status == AUD_ERROR && s.ndmg) {
        x->dmg = s.dmg;
        x->ndmg = s.ndmg;
        s.dmg = NULL;
    }
    ver_close(&s);
    if (have_l)
        ver_close(&l);
}

/* ---- the provenance strip of a whole snapshot (HTML) -------------------- */

typedef struct strip_ctx {
    aud_snapshot *S;
    uint64_t size;
    uint64_t width;         /* bytes per bucket */
} strip_ctx;

static int strip_cb(const vss_run *r, void *user)
{
    strip_ctx *c = user;
    uint64_t off = r->offset, end = r->offset + r->length;
    unsigned cls = (unsigned)r->cls < 4 ? (unsigned)r->cls : 3;
    c->S->by_class[cls] += r->length;
    while (off < end) {
        uint64_t b = off / c->width;
        uint64_t bend = (b + 1) * c->width;
        uint64_t t = end < bend ? end : bend;
        if (b >= AUD_STRIP)
            break;
        c->S->strip[b][cls] += t - off;
        off = t;
    }
    return 0;
}

/* ---- the run --------------------------------------------------------------- */

static int parse_hashes(aud_run *r, const char *spec)
{
    const char *p = spec ? spec : "md5,sha256";
    r->nalg = 0;
    r->algs = 0;
    while (*p) {
        size_t n = strcspn(p, ",");
        int a = -1;
        if (n == 3 && strncasecmp(p, "md5", 3) == 0)
            a = AUD_MD5;
        else if ((n == 4 && strncasecmp(p, "sha1", 4) == 0) ||
                 (n == 5 && strncasecmp(p, "sha-1", 5) == 0))
            a = AUD_SHA1;
        else if ((n == 6 && strncasecmp(p, "sha256", 6) == 0) ||
                 (n == 7 && strncasecmp(p, "sha-256", 7) == 0))
            a = AUD_SHA256;
        if (a < 0)
            return -1;
        if (!(r->algs & (1u << a))) {
            r->alg[r->nalg++] = a;
            r->algs |= 1u << a;
        }
        p += n;
        if (*p == ',')
            p++;
    }
    if (!r->nalg)
        return -1;
    r->balg = r->alg[0];
    r->blen = aud_alg_len(r->balg);
    return 0;
}

/* "all" | "N" | "N-M" | lists of those, then optionally ":PATH". */
static int parse_selection(const char *spec, int count, int *sel,
                           const char **path)
{
    const char *p = spec;
    const char *colon = strchr(spec, ':');
    size_t len = colon ? (size_t)(colon - spec) : strlen(spec);
    *path = colon ? colon + 1 : "";
    if (len == 3 && strncmp(spec, "all", 3) == 0) {
        for (int i = 1; i <= count; i++)
            sel[i] = 1;
        return 0;
    }
    while (p < spec + len) {
        char *end;
        unsigned long a, b;
        errno = 0;
        a = strtoul(p, &end, 10);
        if (errno || end == p || a < 1)
            return -1;
        b = a;
        if (*end == '-') {
            p = end + 1;
            b = strtoul(p, &end, 10);
            if (errno || end == p || b < a)
                return -1;
        }
        if (b > (unsigned long)count)
            return -2;
        for (unsigned long i = a; i <= b; i++)
            sel[i] = 1;
        p = end;
        if (p < spec + len && *p != ',')
            return -1;
        if (*p == ',')
            p++;
    }
    return 0;
}

static int open_snapshot(found_volume *fv, aud_snapshot *S, vss_fill fill)
{
    vss_error e = {0};
    vss_source *src = NULL;
    if (vss_volume_snapshot_info(fv->vol, S->index, &S->info, &e) ||
        vss_snapshot_open(fv->vol, S->index, fill, &S->snap, &e) ||
        vss_snapshot_source(S->snap, &src, &e)) {
        snprintf(S->error, sizeof S->error, "%s", e.message);
        return warn("snapshot %d: %s", S->index, e.message);
    }
    if (vss_fs_open(src, &S->fs, &e)) {
        vss_source_release(src);
        snprintf(S->error, sizeof S->error, "%s", e.message);
        return warn("snapshot %d: %s", S->index, e.message);
    }
    vss_source_release(src);
    return 0;
}

static void free_run(aud_run *r, eng *g)
{
    size_t i, k;
    for (i = 0; i < r->nsnaps; i++) {
        aud_snapshot *S = &r->snaps[i];
        for (k = 0; k < S->nres; k++) {
            free(S->res[k].dmg);
            free(S->res[k].error);
            free(S->res[k].bsnap);
            free(S->res[k].blive);
            free(S->res[k].bfill);
        }
        free(S->res);
        index_free(&S->ix);
        if (S->fs)
            vss_fs_close(S->fs);
        vss_snapshot_close(S->snap);
    }
    free(r->snaps);
    free(r->diff);
    refs_free(r);
    index_free(&r->live);
    if (r->live_fs)
        vss_fs_close(r->live_fs);
    for (i = 0; i < g->ccap; i++)
        if (g->cache[i].used)
            free(g->cache[i].blocks);
    free(g->cache);
    for (i = 0; i < g->norphans; i++)
        free(g->orphans[i]);
    free(g->orphans);
    free(g->buf);
    free(g->fbuf);
    free(g->buf2);
    free(g->fbuf2);
}

static int cmp_result(const void *a, const void *b)
{
    const aud_result *x = a, *y = b;
    return strcmp(x->it->path, y->it->path);
}

static void summarise(aud_snapshot *S)
{
    aud_tally *t = &S->sum;
    size_t k;
    t->files = S->nres;
    t->walk_errors = S->ix.errors;
    for (k = 0; k < S->nres; k++) {
        aud_result *x = &S->res[k];
        t->bytes_lost += x->lost;
        t->bytes_unverified += x->unverified;
        if (x->recoverable == 1) {
            t->recoverable++;
            t->bytes_recoverable += x->lost + x->unverified;
        }
        switch (x->status) {
        case AUD_DAMAGED: t->damaged++; break;
        case AUD_UNVERIFIED: t->unverified++; break;
        case AUD_ERROR: t->errors++; break;
        case AUD_RESIDENT: t->resident++; t->intact++; break;
        case AUD_UNCHANGED: t->unchanged++; t->intact++; break;
        default: t->intact++; break;
        }
    }
}

void aud_tally_add(aud_tally *to, const aud_tally *t)
{
    to->files += t->files;
    to->intact += t->intact;
    to->unchanged += t->unchanged;
    to->resident += t->resident;
    to->damaged += t->damaged;
    to->unverified += t->unverified;
    to->bytes_unverified += t->bytes_unverified;
    to->walk_errors += t->walk_errors;
    to->errors += t->errors;
    to->recoverable += t->recoverable;
    to->bytes_lost += t->bytes_lost;
    to->bytes_recoverable += t->bytes_recoverable;
}

/* --diff A:B */
static int parse_side(const char *s, size_t n, int count, int *out)
{
    char num[16], *end;
    unsigned long v;
    if (n == 4 && strncmp(s, "live", 4) == 0) {
        *out = 0;
        return 0;
    }
    if (!n || n >= sizeof num)
        return -1;
    memcpy(num, s, n);
    num[n] = '\0';
    errno = 0;
    v = strtoul(num, &end, 10);
    if (errno || *end || num[0] == '-' || v < 1)
        return -1;
    if (v > (unsigned long)count)
        return -2;
    *out = (int)v;
    return 0;
}

typedef struct side {
    aud_snapshot *S;        /* NULL: live */
    aud_index *ix;
    vss_fs *fs;
} side;

static int side_digests(eng *g, side *sd, aud_item *it, aud_digests *d,
                        uint64_t *lost, uint64_t *unverified, vss_error *e)
{
    ver v;
    int rc;
    rc = ver_open(sd->S ? sd->S->snap : NULL, sd->fs, it, &v, e);
    if (rc)
        return rc;
    *lost = v.lost_zero;
    *unverified = v.lost_stale;
    rc = ver_digests(g, &v, 0, d, NULL, NULL, e);
    ver_close(&v);
    return rc;
}

static int diff_add(aud_run *r, size_t *cap, int kind, aud_item *a,
                    aud_item *b)
{
    aud_diff_entry *x;
    if (r->ndiff == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        aud_diff_entry *nv = realloc(r->diff, nc * sizeof *nv);
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

static int cmp_diff(const void *a, const void *b)
{
    const aud_diff_entry *x = a, *y = b;
    const aud_item *ix = x->b ? x->b : x->a, *iy = y->b ? y->b : y->a;
    return strcmp(ix->path, iy->path);
}

static int run_diff(eng *g, aud_run *r, side *A, side *B)
{
    size_t cap = 0, i;
    int errors = 0;
    vss_error e = {0};
    for (i = 0; i < A->ix->n; i++) {
        aud_item *a = &A->ix->v[i];
        aud_item *b = ix_find(B->ix, a->record, item_stream(a));
        if (!b || b->sequence != a->sequence) {
            if (diff_add(r, &cap, DF_DELETED, a, NULL))
                return warn("out of memory");
        }
    }
    for (i = 0; i < B->ix->n; i++) {
        aud_item *b = &B->ix->v[i];
        aud_item *a = ix_find(A->ix, b->record, item_stream(b));
        int renamed;
        if (!a || a->sequence != b->sequence) {
            if (diff_add(r, &cap, DF_ADDED, NULL, b))
                return warn("out of memory");
            continue;
        }
        renamed = strcmp(a->path, b->path) != 0;
        if (diff_add(r, &cap, renamed ? DF_RENAMED : DF_UNCHANGED, a, b))
            return warn("out of memory");
    }
    g->files_total = r->ndiff;
    for (i = 0; i < r->ndiff; i++) {
        aud_diff_entry *x = &r->diff[i];
        int rc = 0;
        if (x->a) {
            rc = side_digests(g, A, x->a, &x->da, &x->lost_a,
                              &x->unverified_a, &e);
            if (rc) {
                errors++;
                warn("%s: %s", A->S ? "snapshot" : "live", e.message);
            }
        }
        if (x->b && !rc) {
            rc = side_digests(g, B, x->b, &x->db, &x->lost_b,
                              &x->unverified_b, &e);
            if (rc) {
                errors++;
                warn("%s: %s", B->S ? "snapshot" : "live", e.message);
            }
        }
        if (!rc && x->a && x->b && !aud_digests_equal(r, &x->da, &x->db))
            x->kind = x->kind == DF_RENAMED ? DF_RENAMED_MODIFIED
                                            : DF_MODIFIED;
        g->files_done++;
        g->bytes_done += (x->a ? x->a->size : 0) + (x->b ? x->b->size : 0);
        progress(g, 0);
    }
    /* keep only the differences */
    {
        size_t k = 0;
        for (i = 0; i < r->ndiff; i++) {
            if (r->diff[i].kind == DF_UNCHANGED)
                r->diff_unchanged++;
            else
                r->diff[k++] = r->diff[i];
        }
        r->ndiff = k;
    }
    aud_sort(r->diff, r->ndiff, sizeof *r->diff, cmp_diff);
    return errors ? 1 : 0;
}

int audit_run(found_volume *fv, const audit_options *o)
{
    aud_run r;
    eng g;
    int count, *sel = NULL, rc = 0, i;
    const char *sub = "";
    char *subtree = NULL;
    vss_error e = {0};
    vss_source *lsrc;

    memset(&r, 0, sizeof r);
    memset(&g, 0, sizeof g);
    g.r = &r;
    r.o = o;
    r.fv = fv;
    if (parse_hashes(&r, o->hash))
        return warn("--hash: expected a list of md5, sha1, sha256; got '%s'",
                    o->hash) * 2;
    if (!fv->vol)
        return warn("%s", fv->open_error);
    if (fv->open_rc && !vss_volume_storage_ready(fv->vol))
        return warn("%s", fv->open_error);
    count = vss_volume_snapshot_count(fv->vol);
    sel = calloc((size_t)count + 2, sizeof *sel);
    if (!sel)
        return warn("out of memory");
    if (o->diff) {
        const char *colon = strchr(o->diff, ':');
        const char *colon2 = colon ? strchr(colon + 1, ':') : NULL;
        size_t lb = colon2 ? (size_t)(colon2 - colon - 1)
                           : colon ? strlen(colon + 1) : 0;
        int pa, pb;
        if (!colon ||
            (pa = parse_side(o->diff, (size_t)(colon - o->diff), count,
                             &r.diff_a)) == -1 ||
            (pb = parse_side(colon + 1, lb, count, &r.diff_b)) == -1) {
            free(sel);
            return warn("--diff: expected A:B[:PATH] (snapshot numbers or "
                        "'live'), got '%s'", o->diff) * 2;
        }
        if (colon2)
            sub = colon2 + 1;
        if (pa == -2 || pb == -2) {
            free(sel);
            return warn("--diff %s: the volume has %d snapshot%s", o->diff,
                        count, count == 1 ? "" : "s");
        }
        if (r.diff_a)
            sel[r.diff_a] = 1;
        if (r.diff_b)
            sel[r.diff_b] = 1;
    } else {
        int pr = parse_selection(o->audit, count, sel, &sub);
        if (pr == -1) {
            free(sel);
            return warn("--audit: expected all, N, N-M or a list of them "
                        "(then optionally :PATH), got '%s'", o->audit) * 2;
        }
        if (pr == -2 || count == 0) {
            free(sel);
            return warn("--audit %s: the volume has %d snapshot%s", o->audit,
                        count, count == 1 ? "" : "s");
        }
    }
    /* "Users" and "/Users" name the same subtree (the man page's own
     * example has no slash); "" and "/" the whole volume */
    if (*sub && *sub != '/') {
        subtree = malloc(strlen(sub) + 2);
        if (!subtree) {
            free(sel);
            return warn("out of memory");
        }
        sprintf(subtree, "/%s", sub);
        sub = subtree;
    }
    r.subtree = sub;
    g.blocks_mode = o->blocks || o->json;
    g.progress = o->progress < 0 ? isatty(STDERR_FILENO) : o->progress;
    g.buf = malloc(BUFSZ);
    g.fbuf = malloc(BUFSZ);
    g.buf2 = malloc(BUFSZ);
    g.fbuf2 = malloc(BUFSZ);
    r.snaps = calloc((size_t)count + 1, sizeof *r.snaps);
    r.refs = calloc((size_t)count + 1, sizeof *r.refs);
    r.nrefs = r.refs ? count + 1 : 0;
    if (!g.buf || !g.fbuf || !g.buf2 || !g.fbuf2 || !r.snaps || !r.refs) {
        free(sel);
        free(subtree);
        free_run(&r, &g);
        return warn("out of memory");
    }
    t_start = now_s();

    /* The live file system, indexed whole (records are matched wherever
     * the file lives now). */
    lsrc = fv->src;
    if (vss_fs_open(lsrc, &r.live_fs, &e)) {
        /* the snapshots can still be audited, without live comparison */
        warn("live volume: %s (snapshots audited without it)", e.message);
        r.live_fs = NULL;
        rc = 1;
        if (o->diff && (!r.diff_a || !r.diff_b))
            goto done;
    } else if (index_volume(r.live_fs, o->diff ? sub : "", o->system,
                            "live", &r.live)) {
        /* the audit matches records on the whole live volume; a diff
         * compares the same subtree on both sides */
        rc = 1;
        goto done;
    } else if (r.live.errors) {
        rc = 1;     /* some live records or directories: warned already */
    }
    for (i = 1; i <= count; i++) {
        aud_snapshot *S;
        char label[32];
        if (!sel[i])
            continue;
        S = &r.snaps[r.nsnaps++];
        S->index = i;
        if (open_snapshot(fv, S, o->fill)) {
            rc = 1;
            continue;
        }
        snprintf(label, sizeof label, "snapshot %d", i);
        if (index_volume(S->fs, sub, o->system, label, &S->ix) ||
            S->ix.errors)
            rc = 1;     /* unreadable directories or records: warned */
        g.files_total += S->ix.n;
        for (size_t k = 0; k < S->ix.n; k++) {
            aud_item *it = &S->ix.v[k];
            aud_item *L = ix_find(&r.live, it->record, item_stream(it));
            g.bytes_total += it->size;
            if (L && L->sequence == it->sequence && !L->key_state) {
                L->key_state = 1;   /* its size is counted */
                g.bytes_total += L->size;
            }
        }
    }

    if (o->diff) {
        side A, B;
        aud_snapshot *SA = NULL, *SB = NULL;
        for (size_t k = 0; k < r.nsnaps; k++) {
            if (r.snaps[k].index == r.diff_a)
                SA = &r.snaps[k];
            if (r.snaps[k].index == r.diff_b)
                SB = &r.snaps[k];
        }
        if ((r.diff_a && (!SA || !SA->fs)) || (r.diff_b && (!SB || !SB->fs))) {
            rc = 1;
            goto done;
        }
        A.S = SA;
        A.ix = SA ? &SA->ix : &r.live;
        A.fs = SA ? SA->fs : r.live_fs;
        B.S = SB;
        B.ix = SB ? &SB->ix : &r.live;
        B.fs = SB ? SB->fs : r.live_fs;
        g.cur_snap = r.diff_a;
        if (run_diff(&g, &r, &A, &B))
            rc = 1;
        progress_end(&g);
        if (o->json)
            aud_diff_json(stdout, &r);
        else if (o->csv)
            aud_diff_csv(stdout, &r);
        else
            aud_diff_text(stdout, &r);
        goto done;
    }

    for (size_t k = 0; k < r.nsnaps; k++) {
        aud_snapshot *S = &r.snaps[k];
        if (!S->fs)
            continue;
        S->res = calloc(S->ix.n ? S->ix.n : 1, sizeof *S->res);
        if (!S->res) {
            rc = warn("out of memory");
            break;
        }
        g.cur_snap = S->index;
        /* in walk order: directories' files together on the disk */
        aud_sort(S->ix.v, S->ix.n, sizeof *S->ix.v, cmp_order);
        {
            /* audit_item looks up the live index only; the snapshot's is
             * iterated here in walk order */
            for (size_t n = 0; n < S->ix.n; n++) {
                audit_item(&g, S, &S->ix.v[n], &S->res[n]);
                if (S->res[n].status == AUD_ERROR) {
                    warn("snapshot %d: %s", S->index, S->res[n].error);
                    rc = 1;
                }
                g.files_done++;
                g.bytes_done += S->ix.v[n].size;
                progress(&g, 0);
            }
            S->nres = S->ix.n;
        }
        aud_sort(S->res, S->nres, sizeof *S->res, cmp_result);
        summarise(S);
        if (o->html) {
            strip_ctx c = {S, vss_snapshot_size(S->snap), 1};
            c.width = (c.size + AUD_STRIP - 1) / AUD_STRIP;
            if (!c.width)
                c.width = 1;
            S->strip_width = c.width;
            if (c.size &&
                vss_snapshot_map(S->snap, 0, c.size, strip_cb, &c, &e) == 0)
                S->strip_ok = 1;
            else if (c.size)
                warn("snapshot %d: provenance map: %s", S->index, e.message);
        }
    }
    progress_end(&g);
    if (o->json)
        aud_report_json(stdout, &r);
    else if (o->csv)
        aud_report_csv(stdout, &r);
    else
        aud_report_text(stdout, &r);
    if (o->html && aud_report_html(o->html, &r))
        rc = 1;
done:
    progress_end(&g);
    if (fflush(stdout) || ferror(stdout))
        rc = warn("write failed");
    free(sel);
    free(subtree);
    free_run(&r, &g);
    return rc;
}

/*
 * volsnap.c - the model of volsnap (the Windows shadow copy driver) that the
 * generator runs while a scenario changes the volume.
 *
 * State kept per source-volume 16 KiB block:
 *   pending - the block's live content is still owed to some snapshot: the
 *             first write to it copies the old content into the newest
 *             store (copy-on-write) and clears the bit.  A snapshot sets the
 *             bit for every block in use at that moment.
 *   vssown  - the block belongs to a VSS file (catalog, store file); such
 *             blocks are "not in use" in every bitmap and never copied;
 *             they read as zeros in the newest snapshot (vs_read_block).
 * A snapshot's current bitmap marks blocks that were not in use when it was
 * taken (all clusters free in $Bitmap, VSS files, and with ScopeSnapshots
 * the data of out-of-scope files).  Its previous bitmap (every store but
 * the first) marks blocks no older snapshot still needed: volsnap skips the
 * copy only when both agree.  See docs/testimages.md for the reasoning
 * behind forwarders (vs_move) and overlays (vs_recover).
 *
 * The same file holds the reference reader (vs_read_block) used for the
 * manifest and for the self-check against the content recorded at snapshot
 * time.  It reads the generator's in-memory descriptors, not the image.
 */
#include "vssgen.h"

#include <stdlib.h>
#include <string.h>

#define DESC_PER_BLOCK ((VSS_BLOCK - 128) / 32)         /* 508 */
#define BM_BITS_PER_BLOCK ((uint64_t)(VSS_BLOCK - 128) * 8)
#define RANGES_PER_BLOCK ((VSS_BLOCK - 128) / 24)
#define CAT_BLOCKS 4
#define CAT_SLOTS 127
#define CAT_NAME "{3808876b-c176-4e48-b7ae-04046e6cc752}"

/* ---- lookup tables for the reader, rebuilt when descriptors change ---- */
typedef struct { uint64_t b, v; uint32_t mask; } kv;
typedef struct { kv *reg, *fwd, *ovl; size_t nreg, nfwd, novl; size_t built_nd; } storeidx;
static storeidx g_idx[MAX_STORES];

static uint64_t nbm_blocks(const gen *g) { return (g->nblocks + BM_BITS_PER_BLOCK - 1) / BM_BITS_PER_BLOCK; }

static int is_redirected(const gen *g) { return g->src != g->stor; }

void vs_init(gen *g)
{
    g->nblocks = g->src->size / VSS_BLOCK;
    g->pending = xcalloc(1, g->nblocks / 8 + 1);
    g->vssown = xcalloc(1, g->nblocks / 8 + 1);
    g->src->hook = vs_hook;
    g->src->hook_ctx = g;
}

/* Store-relative offset -> volume offset on the storage volume. */
static uint64_t rel_to_off(const gen *g, const store *s, uint64_t rel)
{
    uint64_t cl = g->stor->cluster;
    for (int i = 0; i < s->next; i++) {
        const extent *e = &s->ext[i];
        if (rel >= e->vcn * cl && rel < (e->vcn + e->len) * cl) {
            if (e->lcn == LCN_NONE)
                die("internal: store %d has a hole at %llu", s->index, (unsigned long long)rel);
            return e->lcn * cl + (rel - e->vcn * cl);
        }
    }
    die("internal: store %d offset %llu outside the store file", s->index, (unsigned long long)rel);
}

static void block_header(uint8_t *b, uint32_t type, uint64_t rel, uint64_t cur, uint64_t next)
{
    memset(b, 0, 128);
    guid_put(b, VSS_ID);
    put32(b + 16, 1);
    put32(b + 20, type);
    put64(b + 24, rel);
    put64(b + 32, cur);
    put64(b + 40, next);
}

static uint64_t store_alloc(gen *g, store *s)
{
    if (s->next_rel + VSS_BLOCK > s->size)
        die("store %d is full (%llu bytes, %zu descriptors): raise store_size in scenario %s",
            s->index, (unsigned long long)s->size, s->nd, g->sc->name);
    uint64_t r = s->next_rel;
    s->next_rel += VSS_BLOCK;
    return r;
}

static void add_desc(gen *g, store *s, desc d)
{
    if (s->nd == (size_t)s->nblk * DESC_PER_BLOCK) {
        s->blk = xrealloc(s->blk, (size_t)s->nblk + 1, sizeof *s->blk);
        s->blk[s->nblk++] = store_alloc(g, s);
    }
    if (s->nd % 4096 == 0)
        s->d = xrealloc(s->d, s->nd + 4096, sizeof *s->d);
    s->d[s->nd++] = d;
}

/* Reserve room for one more descriptor before allocating its data block,
 * so block-list blocks and data blocks interleave the way they are used. */
static void reserve_desc(gen *g, store *s)
{
    if (s->nd == (size_t)s->nblk * DESC_PER_BLOCK) {
        s->blk = xrealloc(s->blk, (size_t)s->nblk + 1, sizeof *s->blk);
        s->blk[s->nblk++] = store_alloc(g, s);
    }
}

/* Copy-on-write of block b into the newest store. */
static void cow(gen *g, uint64_t b)
{
    store *s = &g->st[g->nst - 1];
    uint8_t buf[VSS_BLOCK];
    xpread(g->src->fd, buf, VSS_BLOCK, b * VSS_BLOCK);
    reserve_desc(g, s);
    uint64_t rel = store_alloc(g, s);
    uint64_t off = rel_to_off(g, s, rel);
    xpwrite(g->stor->fd, buf, VSS_BLOCK, off);
    desc d = { b * VSS_BLOCK, rel, off, 0, 0 };
    add_desc(g, s, d);
    bit_clr(g->pending, b);
    g->cows++;
}

void vs_hook(void *ctx, uint64_t off, uint64_t len)
{
    gen *g = ctx;
    if (!g->nst || !len)
        return;
    if (g->written_after) {     /* after a deletion: note what changes */
        uint64_t cl = g->src->cluster;
        for (uint64_t c = off / cl; c <= (off + len - 1) / cl && c < g->src->nclusters; c++)
            bit_set(g->written_after, c);
    }
    if (g->ndeleted == g->nst)
        return;                 /* no snapshot left: nothing is copied */
    uint64_t last = (off + len - 1) / VSS_BLOCK;
    for (uint64_t b = off / VSS_BLOCK; b <= last && b < g->nblocks; b++)
        if (bit_get(g->pending, b))
            cow(g, b);
}

/* First 16 KiB aligned run of n free clusters (skipping the MFT zone and,
 * on the source volume, blocks whose content a snapshot still needs). */
static uint64_t find_run(gen *g, vvol *v, const uint8_t *bm, uint64_t n, const uint8_t *avoid_clusters)
{
    uint64_t per = VSS_BLOCK / v->cluster;
    for (int pass = 0; pass < 2; pass++) {
        uint64_t start = pass ? 0 : (v->mft_zone_end + per - 1) / per * per;
        for (uint64_t lcn = start; lcn + n <= v->nclusters; lcn += per) {
            uint64_t i;
            for (i = 0; i < n; i++) {
                uint64_t c = lcn + i;
                if (bit_get(bm, c) || (avoid_clusters && bit_get(avoid_clusters, c)))
                    break;
                if (v == g->src && i % per == 0 && bit_get(g->pending, c / per))
                    break;
            }
            if (i == n)
                return lcn;
            lcn += i / per * per;     /* skip what was checked */
        }
    }
    die("no free 16 KiB aligned run of %llu clusters on %s: enlarge the volume",
        (unsigned long long)n, v->path);
}

static uint64_t place_vss(void *ctx, vvol *v, const uint8_t *bm, uint64_t n)
{
    return find_run(ctx, v, bm, n, NULL);
}

static void check_aligned(const vvol *v, const extent *e, int n, const char *what)
{
    for (int i = 0; i < n; i++)
        if (e[i].lcn == LCN_NONE || (e[i].lcn * v->cluster) % VSS_BLOCK || (e[i].len * v->cluster) % VSS_BLOCK ||
            (e[i].vcn * v->cluster) % VSS_BLOCK)
            die("%s on %s is not 16 KiB aligned (extent %d)", what, v->path, i);
}

static void write_volume_header(gen *g, vvol *v)
{
    uint8_t h[512];
    memset(h, 0, sizeof h);
    guid_put(h, VSS_ID);
    put32(h + 16, g->sc->windows >= 8 ? 2 : 1);
    put32(h + 20, 1);
    put64(h + 24, 0x1e00);
    put64(h + 32, 0x1e00);
    int vi = (int)(v - g->vol);
    put64(h + 48, g->cat_off[vi]);
    /* maximum diff-area size: unbounded (0) for a local diff area, a tenth
     * of the volume when redirected (as the real redirected images show) */
    put64(h + 56, v == g->src && is_redirected(g) ? g->src->size / 10 / VSS_BLOCK * VSS_BLOCK : 0);
    guid_put(h + 64, v->id);
    guid_put(h + 80, v == g->src ? g->stor->id : v->id);
    put64(h + 96, v == g->src && is_redirected(g) ? 1 : 0);
    xpwrite(v->fd, h, sizeof h, 0x1e00);
}

static void write_catalog(gen *g, vvol *v)
{
    int vi = (int)(v - g->vol);
    uint64_t base = g->cat_off[vi];
    uint8_t *cat = xcalloc(CAT_BLOCKS, VSS_BLOCK);
    for (int i = 0; i < CAT_BLOCKS; i++)
        block_header(cat + (size_t)i * VSS_BLOCK, 2, (uint64_t)i * VSS_BLOCK, base + (uint64_t)i * VSS_BLOCK,
                     i + 1 < CAT_BLOCKS ? base + (uint64_t)(i + 1) * VSS_BLOCK : 0);
    int slot = 0;
    for (int k = 0; k < g->nst; k++) {
        store *s = &g->st[k];
        for (int type = 2; type <= 3; type++) {
            if (type == 2 && v != g->src)
                continue;
            if (type == 3 && v != g->stor)
                continue;
            if (slot >= CAT_BLOCKS * CAT_SLOTS)
                die("catalog full");
            uint8_t *e = cat + (size_t)(slot / CAT_SLOTS) * VSS_BLOCK + 128 + (size_t)(slot % CAT_SLOTS) * 128;
            slot++;
            if (s->deleted) {           /* a deleted snapshot's entries: type 1, "free" */
                put64(e, 1);
                continue;
            }
            put64(e, (uint64_t)type);
            guid_put(e + 16, s->id);
            if (type == 2) {
                put64(e + 8, g->src->size);
                put64(e + 32, (uint64_t)s->index);
                put64(e + 40, s->cat_flags);
                put64(e + 48, s->ctime);
            } else {
                put64(e + 8, rel_to_off(g, s, s->blk[0]));
                put64(e + 32, rel_to_off(g, s, 0));
                put64(e + 40, rel_to_off(g, s, 2 * VSS_BLOCK));
                put64(e + 48, rel_to_off(g, s, s->bm_rel));
                put64(e + 56, s->file_ref);
                put64(e + 64, 0);       /* "allocated size": 0 in every real image */
                put64(e + 72, s->pbm_rel ? rel_to_off(g, s, s->pbm_rel) : 0);
                put64(e + 80, s->pbm_rel ? 1 : 0);
            }
        }
    }
    xpwrite(v->fd, cat, (size_t)CAT_BLOCKS * VSS_BLOCK, base);
    free(cat);
}

static void ensure_catalog(gen *g, vvol *v)
{
    int vi = (int)(v - g->vol);
    if (g->cat_off[vi])
        return;
    extent *ext;
    int next;
    fs_create_sysfile(v, CAT_NAME, (uint64_t)CAT_BLOCKS * VSS_BLOCK, place_vss, g, &ext, &next);
    check_aligned(v, ext, next, "the catalog file");
    if (next != 1)
        die("the catalog file on %s is fragmented", v->path);
    g->cat_off[vi] = ext[0].lcn * v->cluster;
    free(ext);
}

static void write_bitmap(gen *g, store *s, uint64_t rel, const uint8_t *bits)
{
    uint64_t n = nbm_blocks(g);
    uint8_t blk[VSS_BLOCK];
    for (uint64_t i = 0; i < n; i++) {
        uint64_t r = rel + i * VSS_BLOCK;
        block_header(blk, 6, r, rel_to_off(g, s, r), i + 1 < n ? rel_to_off(g, s, r + VSS_BLOCK) : 0);
        memcpy(blk + 128, bits + i * (VSS_BLOCK - 128), VSS_BLOCK - 128);
        xpwrite(g->stor->fd, blk, VSS_BLOCK, rel_to_off(g, s, r));
    }
}

static size_t put_utf16(uint8_t *p, const char *s)
{
    size_t n = strlen(s);
    put16(p, (uint16_t)(2 * n));
    for (size_t i = 0; i < n; i++)
        put16(p + 2 + 2 * i, (uint8_t)s[i]);
    return 2 + 2 * n;
}

static void write_store_meta(gen *g, store *s)
{
    uint8_t blk[VSS_BLOCK];
    /* store header + store information */
    memset(blk, 0, sizeof blk);
    uint8_t *in = blk + 128;
    guid_put(in, s->unk_id);
    guid_put(in + 16, s->copy_id);
    guid_put(in + 32, s->set_id);
    put32(in + 48, s->context);
    put32(in + 52, 1);                  /* provider: seen as 1 in real images */
    put32(in + 56, s->attr);
    size_t len = 64;
    len += put_utf16(in + len, g->sc->machine);
    len += put_utf16(in + len, g->sc->service_machine);
    block_header(blk, 4, 0, rel_to_off(g, s, 0), 0);
    put64(blk + 48, len);
    xpwrite(g->stor->fd, blk, VSS_BLOCK, rel_to_off(g, s, 0));
    /* block-range list: the store file's extents past its first three blocks */
    memset(blk, 0, sizeof blk);
    block_header(blk, 5, 2 * VSS_BLOCK, rel_to_off(g, s, 2 * VSS_BLOCK), 0);
    int nr = 0;
    uint64_t cl = g->stor->cluster;
    for (int i = 0; i < s->next; i++) {
        uint64_t r0 = s->ext[i].vcn * cl, r1 = (s->ext[i].vcn + s->ext[i].len) * cl;
        if (r1 <= 3 * VSS_BLOCK)
            continue;
        if (r0 < 3 * VSS_BLOCK)
            r0 = 3 * VSS_BLOCK;
        if (nr == RANGES_PER_BLOCK)
            die("store %d file too fragmented for one block-range block", s->index);
        uint8_t *e = blk + 128 + 24 * nr++;
        put64(e, rel_to_off(g, s, r0));
        put64(e + 8, r0);
        put64(e + 16, r1 - r0);
    }
    xpwrite(g->stor->fd, blk, VSS_BLOCK, rel_to_off(g, s, 2 * VSS_BLOCK));
    write_bitmap(g, s, s->bm_rel, s->cur);
    if (s->pbm_rel)
        write_bitmap(g, s, s->pbm_rel, s->prev);
}

static int path_in_scope(const gen *g, const char *path)
{
    for (int i = 0; i < g->sc->nin_scope; i++) {
        size_t n = strlen(g->sc->in_scope[i]);
        if (!strncmp(path, g->sc->in_scope[i], n) && (path[n] == 0 || path[n] == '/' || path[n] == ':'))
            return 1;
    }
    return 0;
}

int vs_notinuse(gen *g, int k, uint64_t b)
{
    const store *s = &g->st[k - 1];
    return bit_get(s->cur, b) && (!s->prev || bit_get(s->prev, b));
}

/* File byte ranges of f that lie in blocks not in use in snapshot k. */
static void file_ranges(gen *g, int k, const fileinfo *fi, snapfile *sf)
{
    uint64_t cl = g->src->cluster;
    for (int i = 0; i < fi->next; i++) {
        const extent *e = &fi->ext[i];
        if (e->lcn == LCN_NONE)
            continue;
        for (uint64_t c = 0; c < e->len; c++) {
            uint64_t lo = (e->vcn + c) * cl, hi = lo + cl;
            if (lo >= fi->size)
                break;
            if (hi > fi->size)
                hi = fi->size;
            if (!vs_notinuse(g, k, (e->lcn + c) * cl / VSS_BLOCK))
                continue;
            if (sf->nranges && sf->ranges[sf->nranges - 1][1] == lo) {
                sf->ranges[sf->nranges - 1][1] = hi;
            } else {
                sf->ranges = xrealloc(sf->ranges, (size_t)sf->nranges + 1, sizeof *sf->ranges);
                sf->ranges[sf->nranges][0] = lo;
                sf->ranges[sf->nranges][1] = hi;
                sf->nranges++;
            }
        }
    }
}

static void hash_file(gen *g, store *s, snapfile *sf, const uint8_t *data)
{
    hasher *h = hasher_new(1);
    hasher_update(h, data, sf->size);
    hasher_final(h, sf->sha256, sf->md5);
    if (!sf->nranges) {
        memcpy(sf->win_sha256, sf->sha256, sizeof sf->sha256);
    } else if (s->cat_flags & 0x400) {
        uint8_t *w = xcalloc(1, sf->size + 1);
        memcpy(w, data, sf->size);
        for (int i = 0; i < sf->nranges; i++)
            memset(w + sf->ranges[i][0], 0, sf->ranges[i][1] - sf->ranges[i][0]);
        sha256_hex(w, sf->size, sf->win_sha256);
        free(w);
    } else {
        sf->win_sha256[0] = 0;      /* live data: known only to a reader of the final image */
    }
    (void)g;
}

void vs_snapshot(gen *g, const op *o)
{
    if (g->nst == MAX_STORES)
        die("too many snapshots (max %d)", MAX_STORES);
    scenario *sc = g->sc;
    int N = g->nst + 1;
    store *s = &g->st[g->nst];
    memset(s, 0, sizeof *s);
    s->index = N;
    prng r = prng_derive(sc->seed, "store", (uint64_t)N);
    s->id = guid_random(&r);
    s->copy_id = guid_random(&r);
    s->set_id = guid_random(&r);
    prng pr = prng_derive(sc->seed, "provider-instance", 0);
    s->unk_id = guid_random(&pr);
    s->ctime = g_clock_ft + prng_next(&r) % 10000000ull;
    s->context = o->has_context ? o->context : 0x9;
    s->attr = o->has_attr ? o->attr : 0x00420009;
    s->cat_flags = sc->windows >= 8 ? 0x440 : 0x40;

    /* 1. VSS files, created through NTFS while the previous snapshot is
     *    still the newest (so their metadata writes are copied into it) */
    vvol_mount(g->src);
    if (is_redirected(g))
        vvol_mount(g->stor);
    ensure_catalog(g, g->src);
    if (is_redirected(g))
        ensure_catalog(g, g->stor);
    uint64_t nbm = nbm_blocks(g);
    uint64_t meta = 3 + nbm + (N > 1 ? nbm : 0);
    s->size = sc->store_size;
    if (s->size < (meta + 4) * VSS_BLOCK)
        die("store_size too small: need at least %llu bytes", (unsigned long long)((meta + 4) * VSS_BLOCK));
    char name[128], gs[37];
    guid_str(s->id, gs);
    snprintf(name, sizeof name, "{%s}" CAT_NAME, gs);
    s->file_ref = fs_create_sysfile(g->stor, name, s->size, place_vss, g, &s->ext, &s->next);
    check_aligned(g->stor, s->ext, s->next, "a store file");
    s->bm_rel = 3 * VSS_BLOCK;
    s->pbm_rel = N > 1 ? s->bm_rel + nbm * VSS_BLOCK : 0;
    s->next_rel = meta * VSS_BLOCK;
    s->blk = xcalloc(1, sizeof *s->blk);
    s->blk[0] = VSS_BLOCK;
    s->nblk = 1;

    /* 2. what the files contain at this moment */
    int nf;
    fileinfo *fi = fs_walk(g->src, &nf);
    uint8_t *cbm = fs_bitmap(g->src);
    uint64_t ncl = g->src->nclusters, cl = g->src->cluster, per = VSS_BLOCK / cl;
    uint8_t *excl = xcalloc(1, ncl / 8 + 1);
    s->files = xcalloc((size_t)nf + 1, sizeof *s->files);
    s->nfiles = nf;
    for (int i = 0; i < nf; i++) {
        snapfile *sf = &s->files[i];
        sf->path = xstrdup(fi[i].path);
        sf->size = fi[i].size;
        sf->resident = fi[i].resident;
        sf->in_scope = !sc->scope || fi[i].resident || path_in_scope(g, fi[i].path);
        if (!sf->in_scope)
            for (int e = 0; e < fi[i].next; e++)
                if (fi[i].ext[e].lcn != LCN_NONE)
                    for (uint64_t c = 0; c < fi[i].ext[e].len; c++)
                        bit_set(excl, fi[i].ext[e].lcn + c);
    }
    vvol_umount(g->src);
    if (is_redirected(g))
        vvol_umount(g->stor);
    /* the VSS volume header (inside $Boot) is in place before the first
     * snapshot is taken; later snapshots leave it unchanged */
    if (N == 1) {
        write_volume_header(g, g->src);
        if (is_redirected(g))
            write_volume_header(g, g->stor);
    }

    /* 3. the new store's clusters: preserve what older snapshots still need
     *    there, then they belong to VSS */
    if (!is_redirected(g)) {
        for (int i = 0; i < s->next; i++)
            for (uint64_t c = 0; c < s->ext[i].len; c += per) {
                uint64_t b = (s->ext[i].lcn + c) / per;
                if (bit_get(g->pending, b))
                    cow(g, b);
                bit_set(g->vssown, b);
            }
    }
    for (uint64_t i = 0; i < CAT_BLOCKS; i++)
        bit_set(g->vssown, g->cat_off[0] / VSS_BLOCK + i);

    /* 4. bitmaps */
    uint64_t nbits = nbm * BM_BITS_PER_BLOCK;
    s->cur = xcalloc(1, nbits / 8);
    if (N > 1)
        s->prev = xcalloc(1, nbits / 8);
    for (uint64_t b = 0; b < nbits; b++) {
        int free_b = 1;
        if (b < g->nblocks && !bit_get(g->vssown, b))
            for (uint64_t c = b * per; c < (b + 1) * per && c < ncl; c++)
                if (bit_get(cbm, c) && !bit_get(excl, c)) {
                    free_b = 0;
                    break;
                }
        if (free_b)
            bit_set(s->cur, b);
        if (s->prev && (b >= g->nblocks || !bit_get(g->pending, b)))
            bit_set(s->prev, b);
    }
    for (uint64_t b = 0; b < g->nblocks; b++)
        if (!bit_get(s->cur, b))
            bit_set(g->pending, b);
    g->nst++;

    /* 5. per-block truth for the self-check (before any remount writes) */
    if (sc->selfcheck) {
        s->truth = xcalloc(g->nblocks, sizeof *s->truth);
        uint8_t *buf = xcalloc(1, 64 * VSS_BLOCK);
        for (uint64_t b = 0; b < g->nblocks; b += 64) {
            uint64_t n = g->nblocks - b < 64 ? g->nblocks - b : 64;
            xpread(g->src->fd, buf, n * VSS_BLOCK, b * VSS_BLOCK);
            for (uint64_t j = 0; j < n; j++)
                s->truth[b + j] = fasthash64(buf + j * VSS_BLOCK, VSS_BLOCK);
        }
        free(buf);
    }

    /* 6. per-file truth and what Windows would return */
    vvol_mount(g->src);
    for (int i = 0; i < nf; i++) {
        snapfile *sf = &s->files[i];
        fileinfo full;
        fs_info(g->src, fi[i].path, &full, sc->file_hashes);
        file_ranges(g, N, &full, sf);
        if (sc->file_hashes)
            hash_file(g, s, sf, full.data);
        fileinfo_free(&full);
        fileinfo_free(&fi[i]);
    }
    free(fi);
    vvol_umount(g->src);

    /* 7. on-disk metadata: store header, ranges, bitmaps, catalogs */
    write_store_meta(g, s);
    write_catalog(g, g->src);
    if (is_redirected(g))
        write_catalog(g, g->stor);
    free(cbm);
    free(excl);
    char ts[96];
    filetime_str(s->ctime, ts);
    note("snapshot %d taken at %s (%s)", N, ts, gs);
}

/* ---- the reference reader ----------------------------------------------- */

static int kv_cmp(const void *a, const void *b)
{
    const kv *x = a, *y = b;
    return x->b < y->b ? -1 : x->b > y->b;
}

static kv *kv_find(kv *a, size_t n, uint64_t b)
{
    kv key = { b, 0, 0 };
    return n ? bsearch(&key, a, n, sizeof *a, kv_cmp) : NULL;
}

/* Descriptor semantics (docs/testimages.md): a forwarder orig->target says
 * "orig reads like target in the next newer store"; a later regular entry
 * for target in the same store is the data of orig (renamed); overlays
 * accumulate sector bitmaps and only apply to the store's own snapshot. */
static void build_index(gen *g, int k)
{
    store *s = &g->st[k];
    storeidx *x = &g_idx[k];
    if (x->built_nd == s->nd && (x->reg || !s->nd))
        return;
    free(x->reg); free(x->fwd); free(x->ovl);
    memset(x, 0, sizeof *x);
    x->reg = xcalloc(s->nd + 1, sizeof *x->reg);
    x->fwd = xcalloc(s->nd + 1, sizeof *x->fwd);
    x->ovl = xcalloc(s->nd + 1, sizeof *x->ovl);
    for (size_t i = 0; i < s->nd; i++) {
        const desc *d = &s->d[i];
        uint64_t ob = d->orig / VSS_BLOCK;
        if (d->flags & DESC_FORWARDER) {
            kv e = { ob, d->rel / VSS_BLOCK, 0 };
            x->fwd[x->nfwd++] = e;
        } else if (d->flags & DESC_OVERLAY) {
            size_t j;
            for (j = 0; j < x->novl && x->ovl[j].b != ob; j++)
                ;
            if (j == x->novl) {
                kv e = { ob, d->data, 0 };
                x->ovl[x->novl++] = e;
            }
            x->ovl[j].mask |= d->bitmap;
        } else {
            uint64_t target = ob;
            for (size_t j = 0; j < x->nfwd; j++)
                if (x->fwd[j].v == ob) {        /* rename, consume the forwarder */
                    target = x->fwd[j].b;
                    x->fwd[j] = x->fwd[--x->nfwd];
                    break;
                }
            kv e = { target, d->data, 0 };
            x->reg[x->nreg++] = e;
        }
    }
    qsort(x->reg, x->nreg, sizeof *x->reg, kv_cmp);
    qsort(x->fwd, x->nfwd, sizeof *x->fwd, kv_cmp);
    qsort(x->ovl, x->novl, sizeof *x->ovl, kv_cmp);
    x->built_nd = s->nd;
}

/* Resolve block b starting at store index k0 (0-based). */
static blocksrc resolve(gen *g, int k0, uint64_t b, uint8_t *out)
{
    blocksrc r = { SRC_LIVE, 0, 0, b * VSS_BLOCK, 0, 0, 0 };
    for (int k = k0; k < g->nst; k++) {
        build_index(g, k);
        kv *e = kv_find(g_idx[k].reg, g_idx[k].nreg, b);
        if (e) {
            if (out)
                xpread(g->stor->fd, out, VSS_BLOCK, e->v);
            r.kind = SRC_COPIED;
            r.store = k + 1;
            r.at = e->v;
            r.from_store = 1;
            return r;
        }
        e = kv_find(g_idx[k].fwd, g_idx[k].nfwd, b);
        if (e) {
            r = resolve(g, k + 1, e->v, out);
            if (r.kind == SRC_LIVE || r.kind == SRC_COPIED)
                r.kind = SRC_FORWARDED;
            return r;
        }
    }
    if (out)
        xpread(g->src->fd, out, VSS_BLOCK, b * VSS_BLOCK);
    return r;
}

/* out may be NULL: then only the kind is worked out */
blocksrc vs_read_block(gen *g, int k, uint64_t b, uint8_t *out)
{
    /* The shadow copy files (as the volume holds them now) read as zeros
     * in the newest snapshot; in older ones they read like any other
     * block, which for a block not in use there is the not-in-use answer
     * (docs/format.md, "The shadow copy files"). */
    if (k == g->nst && bit_get(g->vssown, b)) {
        if (out)
            memset(out, 0, VSS_BLOCK);
        return (blocksrc){ SRC_VSSFILE, 0, 0, b * VSS_BLOCK, 0, 0, 0 };
    }
    if (vs_notinuse(g, k, b)) {
        blocksrc r = { bit_get(g->vssown, b) ? SRC_VSSFILE : SRC_NOTINUSE, 0, 0, b * VSS_BLOCK, 0, 0, 0 };
        if (!out)
            return r;
        if (g->st[k - 1].cat_flags & 0x400)
            memset(out, 0, VSS_BLOCK);
        else
            xpread(g->src->fd, out, VSS_BLOCK, b * VSS_BLOCK);
        return r;
    }
    blocksrc r = resolve(g, k - 1, b, out);
    build_index(g, k - 1);
    kv *o = kv_find(g_idx[k - 1].ovl, g_idx[k - 1].novl, b);
    if (o) {
        r.overlay = 1;
        r.ovl_at = o->v;
        r.ovl_mask = o->mask;
        if (out) {
            uint8_t ob[VSS_BLOCK];
            xpread(g->stor->fd, ob, VSS_BLOCK, o->v);
            for (unsigned i = 0; i < 32; i++)
                if (o->mask >> i & 1)
                    memcpy(out + i * SECTOR, ob + i * SECTOR, SECTOR);
        }
    }
    return r;
}

/* ---- forwarders: a volsnap-aware move of a file --------------------------- */

/* Volume block holding file offset fo (16 KiB aligned), if the whole block
 * is this file's and contiguous; else UINT64_MAX. */
static uint64_t file_block(const fileinfo *fi, uint64_t cl, uint64_t fo)
{
    uint64_t per = VSS_BLOCK / cl, vcn = fo / cl;
    for (int i = 0; i < fi->next; i++) {
        const extent *e = &fi->ext[i];
        if (vcn >= e->vcn && vcn + per <= e->vcn + e->len && e->lcn != LCN_NONE) {
            uint64_t lcn = e->lcn + (vcn - e->vcn);
            return lcn % per ? UINT64_MAX : lcn / per;
        }
    }
    return UINT64_MAX;
}

void vs_move(gen *g, const op *o)
{
    vvol *v = g->src;
    vvol_mount(v);
    fileinfo old;
    fs_info(v, o->path, &old, 1);
    if (old.resident)
        die("line %d: move: %s is resident", o->line, o->path);
    fs_delete(v, o->path);
    uint8_t *bm = fs_bitmap(v);
    uint8_t *avoid = xcalloc(1, v->nclusters / 8 + 1);
    for (int i = 0; i < old.next; i++)
        for (uint64_t c = 0; c < old.ext[i].len; c++)
            if (old.ext[i].lcn != LCN_NONE)
                bit_set(avoid, old.ext[i].lcn + c);
    uint64_t ncl = (old.size + v->cluster - 1) / v->cluster;
    uint64_t lcn = find_run(g, v, bm, ncl, avoid);
    free(bm);
    free(avoid);
    fs_create_at(v, o->path, old.data, old.size, lcn);
    fileinfo neu;
    fs_info(v, o->path, &neu, 0);
    vvol_umount(v);
    if (!g->nst) {
        fileinfo_free(&old);
        fileinfo_free(&neu);
        return;
    }
    /* Blocks whose whole 16 KiB moved unchanged get a forwarder instead of
     * a later copy: their snapshot content now lives at the new place. */
    store *s = &g->st[g->nst - 1];
    uint64_t cl = v->cluster;
    uint8_t a[VSS_BLOCK], t[VSS_BLOCK];
    for (uint64_t fo = 0; fo + VSS_BLOCK <= old.size + VSS_BLOCK - 1; fo += VSS_BLOCK) {
        uint64_t ab = file_block(&old, cl, fo), tb = file_block(&neu, cl, fo);
        if (ab == UINT64_MAX || tb == UINT64_MAX || ab == tb)
            continue;
        if (!bit_get(g->pending, ab) || bit_get(g->pending, tb) || bit_get(g->vssown, tb))
            continue;
        xpread(v->fd, a, VSS_BLOCK, ab * VSS_BLOCK);
        xpread(v->fd, t, VSS_BLOCK, tb * VSS_BLOCK);
        if (memcmp(a, t, VSS_BLOCK))
            continue;
        desc d = { ab * VSS_BLOCK, tb * VSS_BLOCK, 0, DESC_FORWARDER, 0 };
        add_desc(g, s, d);
        bit_clr(g->pending, ab);
        bit_set(g->pending, tb);
        g->forwarders++;
    }
    fileinfo_free(&old);
    fileinfo_free(&neu);
}

/* ---- overlays: a writer's auto-recovery write into the newest snapshot -- */

void vs_recover(gen *g, const op *o)
{
    if (!g->nst || !g->last_was_snapshot)
        die("line %d: recover must directly follow a snapshot", o->line);
    if (o->offset % SECTOR || o->size % SECTOR || !o->size)
        die("line %d: recover offset and size must be multiples of 512", o->line);
    int N = g->nst;
    store *s = &g->st[N - 1];
    vvol *v = g->src;
    vvol_mount(v);
    fileinfo fi;
    fs_info(v, o->path, &fi, 1);
    vvol_umount(v);
    if (fi.resident || o->offset + o->size > fi.size)
        die("line %d: recover range must lie inside non-resident %s", o->line, o->path);
    uint8_t *nd = xcalloc(1, o->size);
    pattern_fill(&o->data, o->offset, nd, o->size);
    uint64_t cl = v->cluster;
    for (uint64_t fo = o->offset; fo < o->offset + o->size; fo += SECTOR) {
        uint64_t vcn = fo / cl, lcn = UINT64_MAX;
        for (int i = 0; i < fi.next; i++)
            if (vcn >= fi.ext[i].vcn && vcn < fi.ext[i].vcn + fi.ext[i].len && fi.ext[i].lcn != LCN_NONE)
                lcn = fi.ext[i].lcn + (vcn - fi.ext[i].vcn);
        if (lcn == UINT64_MAX)
            die("line %d: %s has no cluster at %llu", o->line, o->path, (unsigned long long)fo);
        uint64_t voff = lcn * cl + fo % cl, b = voff / VSS_BLOCK;
        unsigned sec = (unsigned)(voff % VSS_BLOCK / SECTOR);
        if (vs_notinuse(g, N, b))
            die("line %d: recover into a block not in use in the snapshot", o->line);
        /* find this block's overlay data block in the store, or make one
         * holding the snapshot's current view of the whole block */
        uint64_t data = 0;
        for (size_t i = 0; i < s->nd; i++)
            if ((s->d[i].flags & DESC_OVERLAY) && s->d[i].orig == b * VSS_BLOCK)
                data = s->d[i].data;
        uint8_t blk[VSS_BLOCK];
        desc d = { b * VSS_BLOCK, 1, 0, DESC_OVERLAY, 1u << sec };
        if (!data) {
            vs_read_block(g, N, b, blk);
            reserve_desc(g, s);
            d.rel = store_alloc(g, s);
            data = rel_to_off(g, s, d.rel);
            s->n_overlay_blocks++;
        } else {
            xpread(g->stor->fd, blk, VSS_BLOCK, data);
        }
        memcpy(blk + sec * SECTOR, nd + (fo - o->offset), SECTOR);
        xpwrite(g->stor->fd, blk, VSS_BLOCK, data);
        d.data = data;
        add_desc(g, s, d);
        g->overlays++;
        if (s->truth)
            s->truth[b] = fasthash64(blk, VSS_BLOCK);
    }
    /* the snapshot's file now holds the recovered bytes: read it back
     * through the reference reader (earlier recover writes included) */
    uint8_t fb[VSS_BLOCK];
    for (int i = 0; i < fi.next; i++) {
        const extent *e = &fi.ext[i];
        if (e->lcn == LCN_NONE)
            continue;
        for (uint64_t c = 0; c < e->len && (e->vcn + c) * cl < fi.size; c++) {
            uint64_t voff = (e->lcn + c) * cl, fo = (e->vcn + c) * cl;
            vs_read_block(g, N, voff / VSS_BLOCK, fb);
            uint64_t n = fi.size - fo < cl ? fi.size - fo : cl;
            memcpy(fi.data + fo, fb + voff % VSS_BLOCK, n);
        }
    }
    for (int i = 0; i < s->nfiles; i++)
        if (!strcmp(s->files[i].path, o->path))
            hash_file(g, s, &s->files[i], fi.data);
    free(nd);
    fileinfo_free(&fi);
}

/* ---- end of the run: block lists, self-check ---------------------------- */

/* Write every store's block-list blocks from its descriptors (a deleted
 * store's were written at the deletion and must not be written again:
 * its clusters may belong to new files since). */
void vs_write_block_lists(gen *g)
{
    uint8_t blk[VSS_BLOCK];
    for (int k = 0; k < g->nst; k++) {
        store *s = &g->st[k];
        if (s->deleted)
            continue;
        for (int j = 0; j < s->nblk; j++) {
            memset(blk, 0, sizeof blk);
            block_header(blk, 3, s->blk[j], rel_to_off(g, s, s->blk[j]),
                         j + 1 < s->nblk ? rel_to_off(g, s, s->blk[j + 1]) : 0);
            for (size_t i = (size_t)j * DESC_PER_BLOCK; i < s->nd && i < (size_t)(j + 1) * DESC_PER_BLOCK; i++) {
                uint8_t *e = blk + 128 + 32 * (i - (size_t)j * DESC_PER_BLOCK);
                put64(e, s->d[i].orig);
                put64(e + 8, s->d[i].rel);
                put64(e + 16, s->d[i].data);
                put32(e + 24, s->d[i].flags);
                put32(e + 28, s->d[i].bitmap);
            }
            xpwrite(g->stor->fd, blk, VSS_BLOCK, rel_to_off(g, s, s->blk[j]));
        }
    }
}

void vs_finish(gen *g)
{
    vs_write_block_lists(g);
    if (!g->sc->selfcheck)
        return;
    for (int k = g->ndeleted + 1; k <= g->nst; k++)    /* deleted: checked at the deletion */
        vs_selfcheck(g, k);
}

/* Read every in-use block of snapshot k through the model and compare it
 * with its fingerprint at snapshot time; a mismatch stops the run. */
void vs_selfcheck(gen *g, int k)
{
    uint8_t blk[VSS_BLOCK];
    uint64_t bad = 0;
    for (uint64_t b = 0; b < g->nblocks; b++) {
        blocksrc r = vs_read_block(g, k, b, blk);
        if (r.kind == SRC_NOTINUSE || r.kind == SRC_VSSFILE)
            continue;
        if (fasthash64(blk, VSS_BLOCK) != g->st[k - 1].truth[b]) {
            if (bad++ < 10)
                fprintf(stderr, "vssgen: self-check: snapshot %d block %llu (offset 0x%llx) differs from "
                        "the content at snapshot time (source kind %d, store %d)\n", k,
                        (unsigned long long)b, (unsigned long long)(b * VSS_BLOCK), r.kind, r.store);
        }
    }
    if (bad)
        die("self-check failed: %llu blocks", (unsigned long long)bad);
}

/* ---- deleting snapshots as Windows does ------------------------------------
 * vssadmin delete shadows (and the ransomware that runs it): the catalog's
 * entries are destroyed, the store files (and, when no snapshot is left,
 * the catalog file) are deleted from NTFS, so their records are marked
 * unused and their clusters freed in $Bitmap; the store data is not wiped.
 * Snapshots left keep working: copy-on-write goes on into the newest store
 * for the blocks they still need. */

static void need_deleted_store(const gen *g, int k, const char *what)
{
    if (k < 1 || k > g->ndeleted)
        die("%s: snapshot %d is not a deleted one (1..%d)", what, k, g->ndeleted);
}

uint64_t vs_store_cluster(gen *g, int k, uint64_t rel)
{
    need_deleted_store(g, k, "in_store");
    if (rel % g->stor->cluster)
        die("store_offset %llu is not a multiple of the cluster size", (unsigned long long)rel);
    return rel_to_off(g, &g->st[k - 1], rel) / g->stor->cluster;
}

/* Before anything changes: the deleted stores' block lists go to disk,
 * their snapshots are self-checked, and where each block of them is read
 * from is recorded (vs_losses). Returns how many are deleted. */
int vs_delete_prepare(gen *g, int keep)
{
    if (is_redirected(g))
        die("delete_snapshots: redirected storage is not modelled");
    if (g->ndeleted)
        die("delete_snapshots: snapshots were deleted already");
    if (keep < 0 || keep >= g->nst)
        die("delete_snapshots: keep=%d leaves nothing to delete of %d snapshot(s)", keep, g->nst);
    int D = g->nst - keep;
    vs_write_block_lists(g);
    for (int k = 1; k <= D; k++) {
        store *s = &g->st[k - 1];
        if (g->sc->selfcheck)
            vs_selfcheck(g, k);
        s->src = xcalloc(g->nblocks, sizeof *s->src);
        for (uint64_t b = 0; b < g->nblocks; b++) {
            blocksrc r = vs_read_block(g, k, b, NULL);
            delsrc *d = &s->src[b];
            d->inuse = r.kind != SRC_NOTINUSE && r.kind != SRC_VSSFILE;
            d->at = r.at;
            d->from_store = (uint8_t)r.from_store;
            d->ovl_at = r.ovl_at;
            d->ovl_mask = r.ovl_mask;
        }
    }
    return D;
}

void vs_delete_snapshots(gen *g, int D)
{
    vvol *v = g->src;
    for (int k = 0; k < D; k++)
        g->st[k].deleted = 1;
    /* blocks only deleted snapshots needed are not owed any more */
    for (uint64_t b = 0; b < g->nblocks; b++) {
        if (!bit_get(g->pending, b))
            continue;
        int needed = 0;
        for (int k = D; k < g->nst && !needed; k++)
            needed = !bit_get(g->st[k].cur, b);
        if (!needed)
            bit_clr(g->pending, b);
    }
    g->ndeleted = D;
    g->written_after = xcalloc(1, v->nclusters / 8 + 1);
    int all = D == g->nst;
    if (all) {      /* the catalog's content destroyed */
        uint8_t *z = xcalloc(CAT_BLOCKS, VSS_BLOCK);
        xpwrite(v->fd, z, (size_t)CAT_BLOCKS * VSS_BLOCK, g->cat_off[0]);
        free(z);
    } else {        /* the deleted snapshots' entries freed */
        write_catalog(g, v);
    }
    vvol_mount(v);
    char name[200], gs[37];
    for (int k = 0; k < D; k++) {
        guid_str(g->st[k].id, gs);
        snprintf(name, sizeof name, "/System Volume Information/{%s}" CAT_NAME, gs);
        fs_delete(v, name);
    }
    if (all)
        fs_delete(v, "/System Volume Information/" CAT_NAME);
    vvol_umount(v);
    if (all) {      /* the VSS volume header names no catalog any more */
        uint8_t z[8] = { 0 };
        xpwrite(v->fd, z, sizeof z, 0x1e00 + 48);
        g->cat_off[0] = 0;
    }
    note("deleted %d snapshot(s), %d kept", D, g->nst - D);
}

static void range_add(uint64_t (**r)[2], int *n, uint64_t lo, uint64_t hi)
{
    if (*n && (*r)[*n - 1][1] == lo) {
        (*r)[*n - 1][1] = hi;
        return;
    }
    *r = xrealloc(*r, (size_t)*n + 1, sizeof **r);
    (*r)[*n][0] = lo;
    (*r)[*n][1] = hi;
    (*n)++;
}

void vs_losses(gen *g, int k, const uint8_t *final_bitmap, uint64_t (**ow)[2], int *now,
               uint64_t (**ch)[2], int *nch, uint64_t *store_reused)
{
    need_deleted_store(g, k, "losses");
    const store *s = &g->st[k - 1];
    uint64_t cl = g->src->cluster;
    /* the clusters of the deleted store files */
    uint8_t *dsc = xcalloc(1, g->src->nclusters / 8 + 1);
    for (int j = 0; j < g->ndeleted; j++)
        for (int i = 0; i < g->st[j].next; i++)
            for (uint64_t c = 0; c < g->st[j].ext[i].len; c++)
                bit_set(dsc, g->st[j].ext[i].lcn + c);
    *ow = NULL; *ch = NULL; *now = 0; *nch = 0;
    *store_reused = 0;
    for (int i = 0; i < s->next; i++)
        for (uint64_t c = 0; c < s->ext[i].len; c++)
            *store_reused += bit_get(final_bitmap, s->ext[i].lcn + c) ? cl : 0;
    for (uint64_t b = 0; b < g->nblocks; b++) {
        const delsrc *d = &s->src[b];
        if (!d->inuse)
            continue;
        for (unsigned sec = 0; sec < VSS_BLOCK / SECTOR; sec++) {
            int ovl = d->ovl_mask >> sec & 1;
            uint64_t at = (ovl ? d->ovl_at : d->at) + sec * SECTOR, c = at / cl;
            uint64_t lo = b * VSS_BLOCK + sec * SECTOR;
            if ((ovl || d->from_store) && bit_get(dsc, c) && bit_get(final_bitmap, c))
                range_add(ow, now, lo, lo + SECTOR);
            else if (bit_get(g->written_after, c))
                range_add(ch, nch, lo, lo + SECTOR);
        }
    }
    free(dsc);
}

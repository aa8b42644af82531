/*
 * carve.c — recover the stores of deleted snapshots (docs/format.md,
 * "Carving deleted snapshots"). Deleting snapshots destroys the catalog
 * and deletes the store files, but the stores' metadata blocks stay where
 * they were until overwritten, each naming its type, its own offset, its
 * offset inside its store and the next block of its chain.
 *
 * 1. Scan: read the volume once, front to back, and keep the header of
 *    every 16 KiB block with the VSS identifier whose own-offset field is
 *    where it was found (a block found elsewhere is a copy, e.g. inside a
 *    store's data, and proves nothing about where a store is).
 * 2. Group: a store header is at relative offset 0 of its store, so the
 *    block-range list whose ranges map relative 0 to the header is the
 *    store's; every block whose own offset those ranges map to the relative
 *    offset it records is the store's too. Chain heads are the blocks no
 *    other block of their type points to: one block list, one block-range
 *    list, the current bitmap (lowest relative offset) and the previous one.
 * 3. Check: every chain is followed from its head; a next offset that
 *    holds no block of the store breaks it (its snapshots refuse to open,
 *    never read with descriptors or bitmap bits missing).
 * 4. Name and date: store GUIDs come from the catalog (when it survives),
 *    catalog blocks left on disk, or NTFS file records of the store files
 *    (the hook of ntfs/carve_records.c); creation times from the catalog,
 *    the store file's $STANDARD_INFORMATION, or the version-1 GUID's own
 *    timestamp. The stack is ordered oldest first by that estimate.
 * 5. Read: the carved stores become a catalog handed to the code that
 *    reads listed snapshots (vss_volume_open_catalog): nothing is read
 *    differently for a carved snapshot.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "vss/carve.h"

#define CARVE_DEFAULT_MAX_BLOCKS 4194304u

/* One metadata block as the scan found it (header fields only). */
typedef struct cblock {
    uint64_t off, rel, next;
    uint32_t type;
    uint8_t pred;   /* a block of its type points to it (not a chain head) */
    uint8_t pad[3];
} cblock;

/* A block-range chain head and the ranges its chain lists. */
typedef struct range_list {
    uint64_t head;
    vss_block_range *r;
    size_t n;
} range_list;

struct vss_carve {
    vss_source *src;
    vss_volume_header hdr;
    int has_hdr;
    vss_carve_summary sum;
    vss_carved_store *stores;
    size_t n;
    int *broken;              /* per store: a chain is broken */
    vss_block_range **ranges; /* per store: its extents (first blocks */
    size_t *nranges;          /* first, then its block ranges) */
    vss_extent *reused;       /* extents live files now hold */
    size_t nreused, capreused;
};

int carve_names_add(carve_names *names, const carve_name *n)
{
    if (names->n == names->cap) {
        size_t ncap = names->cap ? names->cap * 2 : 16;
        carve_name *nv;
        if (names->cap > 65536)
            return VSS_OK; /* enough evidence; more is hostile */
        nv = vss_realloc(names->v, ncap * sizeof *nv);
        if (!nv)
            return VSS_ENOMEM;
        names->v = nv;
        names->cap = ncap;
    }
    names->v[names->n++] = *n;
    return VSS_OK;
}

/* ---- 1. the scan ---------------------------------------------------------- */

typedef struct scan {
    cblock *b;
    size_t n, cap, max;
} scan;

static int scan_add(scan *s, const cblock *b, vss_error *err)
{
    if (s->n == s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 256;
        cblock *nb;
        if (s->n >= s->max)
            return vss_fail(err, VSS_ENOMEM,
                            "carve: more than %zu VSS metadata blocks (the "
                            "one at offset %llu is past the limit; raise "
                            "max_blocks)",
                            s->max, (unsigned long long)b->off);
        if (ncap > s->max)
            ncap = s->max;
        nb = vss_realloc(s->b, ncap * sizeof *nb);
        if (!nb)
            return vss_fail(err, VSS_ENOMEM, "carve: out of memory");
        s->b = nb;
        s->cap = ncap;
    }
    s->b[s->n++] = *b;
    return VSS_OK;
}

/* Front to back, once: sparse holes (vss_source_next_data) and the
 * chunks skip marks are passed over, everything else read in chunks of
 * CARVE_CHUNK aligned to CARVE_CHUNK, so memory stays one chunk. */
static int scan_volume(vss_carve *c, const vss_carve_options *opts,
                       carve_chunk_fn hook, void *hook_user,
                       const uint8_t *skip, scan *s, carve_names *names,
                       vss_error *err)
{
    uint64_t size = vss_source_size(c->src), off;
    uint8_t *buf = vss_malloc(CARVE_CHUNK);
    int rc = VSS_OK;

    if (!buf)
        return vss_fail(err, VSS_ENOMEM, "carve: out of memory");
    for (off = 0; off < size;) {
        uint64_t chunk_end = (off / CARVE_CHUNK + 1) * CARVE_CHUNK, next;
        size_t want;
        int64_t got;
        size_t p;
        if (skip && off % CARVE_CHUNK == 0 &&
            (skip[off / CARVE_CHUNK / 8] >> (off / CARVE_CHUNK % 8) & 1)) {
            next = chunk_end < size ? chunk_end : size;
            c->sum.bytes_skipped_live += next - off;
            off = next;
            goto advanced;
        }
        next = vss_source_next_data(c->src, off) / CARVE_ALIGN * CARVE_ALIGN;
        if (next > off) { /* a sparse hole: zeros hold no VSS block */
            c->sum.bytes_skipped += next - off;
            off = next;
            goto advanced;
        }
        want = (size_t)((chunk_end < size ? chunk_end : size) - off);
        got = vss_source_read_at(c->src, buf, want, off);
        if (got < 0) {
            rc = vss_fail(err, (int)got, "carve: reading the volume at "
                          "offset %llu failed",
                          (unsigned long long)off);
            break;
        }
        if (got == 0)
            break;
        for (p = 0; p + VSS_BLOCK_HEADER_SIZE <= (size_t)got;
             p += VSS_SECTOR_SIZE) {
            vss_block_header bh;
            cblock cb;
            if (memcmp(buf + p, vss_identifier, 16) != 0)
                continue;
            bh.record_type = vss_le32(buf + p + 20);
            bh.relative_offset = vss_le64(buf + p + 24);
            bh.own_offset = vss_le64(buf + p + 32);
            bh.next_offset = vss_le64(buf + p + 40);
            if (bh.record_type < VSS_RECORD_CATALOG ||
                bh.record_type > VSS_RECORD_BITMAP)
                continue; /* the volume header, or unknown */
            if (bh.own_offset != off + p || (off + p) % VSS_BLOCK_SIZE) {
                c->sum.misplaced_blocks++;
                continue;
            }
            memset(&cb, 0, sizeof cb);
            cb.off = off + p;
            cb.rel = bh.relative_offset;
            cb.next = bh.next_offset;
            cb.type = bh.record_type;
            if ((rc = scan_add(s, &cb, err)))
                goto out;
        }
        if (hook && (rc = hook(hook_user, buf, (size_t)got, off, names))) {
            rc = vss_fail(err, rc, "carve: NTFS record scan at offset %llu "
                          "failed", (unsigned long long)off);
            goto out;
        }
        c->sum.bytes_read += (uint64_t)got;
        off += (uint64_t)got;
    advanced:
        if (opts && opts->progress &&
            opts->progress(off, size, opts->progress_user)) {
            rc = vss_fail(err, VSS_EINVAL, "carve: stopped at offset %llu",
                          (unsigned long long)off);
            goto out;
        }
    }
out:
    free(buf);
    c->sum.blocks = s->n;
    return rc;
}

/* ---- 2. grouping ---------------------------------------------------------- */

/* The block at exactly off, or NULL (blocks are sorted by offset). */
static cblock *block_at(const scan *s, uint64_t off)
{
    size_t a = 0, b = s->n;
    while (a < b) {
        size_t m = a + (b - a) / 2;
        if (s->b[m].off < off)
            a = m + 1;
        else
            b = m;
    }
    return a < s->n && s->b[a].off == off ? &s->b[a] : NULL;
}

static void mark_heads(scan *s)
{
    size_t i;
    for (i = 0; i < s->n; i++) {
        cblock *t;
        if (!s->b[i].next || s->b[i].next == s->b[i].off)
            continue;
        t = block_at(s, s->b[i].next);
        if (t && t->type == s->b[i].type)
            t->pred = 1;
    }
}

/* Which relative offset the ranges (sorted by volume offset, disjoint:
 * store_extent checks) give volume offset off; UINT64_MAX when they do not
 * cover it. A binary search: hostile lists may hold many ranges. */
static uint64_t ranges_rel(const vss_block_range *r, size_t n, uint64_t off)
{
    size_t a = 0, b = n;
    while (a < b) { /* first range starting after off */
        size_t m = a + (b - a) / 2;
        if (r[m].volume_offset <= off)
            a = m + 1;
        else
            b = m;
    }
    if (a && off - r[a - 1].volume_offset < r[a - 1].size)
        return r[a - 1].relative_offset + (off - r[a - 1].volume_offset);
    return UINT64_MAX;
}

static int cmp_range_vol(const void *a, const void *b)
{
    const vss_block_range *x = a, *y = b;
    return (x->volume_offset > y->volume_offset) -
           (x->volume_offset < y->volume_offset);
}

/* Sort the ranges by volume offset; 0 when they are disjoint (a store's
 * extents never overlap: overlapping ones are hostile or not one list). */
static int ranges_disjoint(vss_block_range *r, size_t n)
{
    size_t i;
    qsort(r, n, sizeof *r, cmp_range_vol);
    for (i = 1; i < n; i++)
        if (r[i].volume_offset - r[i - 1].volume_offset < r[i - 1].size)
            return 0;
    return 1;
}

/* Is the block the store's own (its ranges map its offset to its rel)? */
static int member(const vss_block_range *r, size_t n, const cblock *b)
{
    return ranges_rel(r, n, b->off) == b->rel;
}

static void add_problem(vss_carved_store *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void add_problem(vss_carved_store *st, const char *fmt, ...)
{
    size_t len = strlen(st->problems);
    va_list ap;
    if (len && len + 2 < sizeof st->problems) {
        memcpy(st->problems + len, "; ", 3);
        len += 2;
    }
    if (len + 1 >= sizeof st->problems)
        return;
    va_start(ap, fmt);
    vsnprintf(st->problems + len, sizeof st->problems - len, fmt, ap);
    va_end(ap);
}

/* Follow the chain of type `type` from head through the store's blocks.
 * Returns 1 when whole (ends with next 0), 0 when broken (problem said). */
static int chain_whole(const scan *s, const vss_block_range *r, size_t nr,
                       uint64_t head, uint32_t type, const char *what,
                       uint64_t *nblocks, vss_carved_store *st)
{
    uint64_t off = head, steps = 0;
    while (off) {
        const cblock *b = block_at(s, off);
        if (!b || b->type != type || !member(r, nr, b)) {
            add_problem(st, "%s chain from offset %llu broken: offset %llu "
                        "holds no %s of this store (overwritten?)", what,
                        (unsigned long long)head, (unsigned long long)off,
                        what);
            return 0;
        }
        if (++steps > s->n) {
            add_problem(st, "%s chain from offset %llu loops (at offset "
                        "%llu)", what, (unsigned long long)head,
                        (unsigned long long)off);
            return 0;
        }
        if (b->next == off)
            break;
        off = b->next;
    }
    *nblocks += steps;
    return 1;
}

/* The block-range lists found (every chain head of type 5, read). */
static int read_range_lists(vss_carve *c, const scan *s, range_list **out,
                            size_t *count, vss_error *err)
{
    size_t i, n = 0, cap = 0, nranges_blocks = 0;
    range_list *l = NULL;
    for (i = 0; i < s->n; i++)
        nranges_blocks += s->b[i].type == VSS_RECORD_BLOCK_RANGES;
    for (i = 0; i < s->n; i++) {
        range_list rl = {s->b[i].off, NULL, 0};
        vss_error e = {0, ""};
        int rc;
        if (s->b[i].type != VSS_RECORD_BLOCK_RANGES || s->b[i].pred)
            continue;
        rc = vss_block_ranges_read(c->src, rl.head, nranges_blocks + 1,
                                   &rl.r, &rl.n, &e);
        if (rc == VSS_ENOMEM) {
            for (size_t k = 0; k < n; k++)
                free(l[k].r);
            free(l);
            return vss_fail(err, rc, "%s", e.message);
        }
        if (rc)
            continue; /* a damaged list claims no store */
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            range_list *nl = vss_realloc(l, ncap * sizeof *nl);
            if (!nl) {
                free(rl.r);
                for (size_t k = 0; k < n; k++)
                    free(l[k].r);
                free(l);
                return vss_fail(err, VSS_ENOMEM, "carve: out of memory");
            }
            l = nl;
            cap = ncap;
        }
        l[n++] = rl;
    }
    *out = l;
    *count = n;
    return VSS_OK;
}

/* Stores whose header was found; ranges etc. per store (parallel arrays). */
typedef struct rebuilt {
    vss_carved_store st;
    vss_block_range *r;       /* the store's ranges (owned) */
    size_t nr;
    int broken;
    int foreign;              /* another volume's store (kept here) */
    uint64_t key;             /* order: creation estimate (0: undated) */
} rebuilt;

/* Where the store of the header at h is. Windows writes a store's first
 * blocks together: header (relative offset 0), block list, block-range
 * list; the block-range list then lists the store's extents after them.
 * So the list whose head sits at h plus its own relative offset is the
 * store's, and the extent [h, head + 16 KiB) is prepended to its ranges.
 * Without such a list, the blocks laid out after the header make the
 * extent (a guess, said so). */
static int store_extent(const scan *s, const range_list *lists, size_t nl,
                        uint64_t h, rebuilt *rb)
{
    size_t i, j;
    for (i = 0; i < nl; i++) {
        const cblock *head = block_at(s, lists[i].head);
        if (!head || head->off < h || head->off - h != head->rel)
            continue;
        rb->r = vss_malloc((lists[i].n + 1) * sizeof *rb->r);
        if (!rb->r)
            return VSS_ENOMEM;
        rb->r[0].volume_offset = h;
        rb->r[0].relative_offset = 0;
        rb->r[0].size = head->rel + VSS_BLOCK_SIZE;
        if (lists[i].n)
            memcpy(rb->r + 1, lists[i].r, lists[i].n * sizeof *rb->r);
        rb->nr = lists[i].n + 1;
        if (!ranges_disjoint(rb->r, rb->nr)) {
            free(rb->r);
            rb->r = NULL;
            rb->nr = 0;
            add_problem(&rb->st, "block-range list at offset %llu has "
                        "overlapping ranges: not used",
                        (unsigned long long)lists[i].head);
            break;
        }
        rb->st.block_range_offset = lists[i].head;
        for (j = 0; j < lists[i].n; j++)
            rb->st.store_size += lists[i].r[j].size;
        return VSS_OK;
    }
    {
        /* Extend over blocks recording their distance from h as their
         * relative offset, allowing gaps of up to 4 blocks. */
        uint64_t end = h + VSS_BLOCK_SIZE, off;
        for (off = end; off - end <= 4 * VSS_BLOCK_SIZE; off += VSS_BLOCK_SIZE) {
            const cblock *b = block_at(s, off);
            if (b && b->type != VSS_RECORD_STORE_HEADER &&
                b->type != VSS_RECORD_CATALOG && b->rel == off - h)
                end = off + VSS_BLOCK_SIZE;
        }
        rb->r = vss_malloc(sizeof *rb->r);
        if (!rb->r)
            return VSS_ENOMEM;
        rb->r[0].volume_offset = h;
        rb->r[0].relative_offset = 0;
        rb->r[0].size = end - h;
        rb->nr = 1;
        add_problem(&rb->st, "no block-range list maps its header: the "
                    "store's extent is guessed from the %llu bytes of "
                    "metadata laid out after it",
                    (unsigned long long)(end - h));
        return VSS_OK;
    }
}

static int cmp_cblock_rel(const void *a, const void *b)
{
    const cblock *x = *(const cblock *const *)a, *y = *(const cblock *const *)b;
    return (x->rel > y->rel) - (x->rel < y->rel);
}

/* The chains of the store: heads, then each followed. */
static int store_chains(const scan *s, uint64_t volume_size, rebuilt *rb)
{
    vss_carved_store *st = &rb->st;
    const cblock *lists[8], *bitmaps[8];
    size_t nlists = 0, nbitmaps = 0, i, k;
    uint64_t blocks = 1;

    for (i = 0; i < rb->nr; i++) {
        const vss_block_range *r = &rb->r[i];
        size_t a = 0, b = s->n;
        while (a < b) { /* first block at or after the range */
            size_t m = a + (b - a) / 2;
            if (s->b[m].off < r->volume_offset)
                a = m + 1;
            else
                b = m;
        }
        for (k = a; k < s->n && s->b[k].off - r->volume_offset < r->size;
             k++) {
            const cblock *cb = &s->b[k];
            if (cb->pred || !member(rb->r, rb->nr, cb))
                continue;
            if (cb->type == VSS_RECORD_BLOCK_LIST && nlists < 8)
                lists[nlists++] = cb;
            else if (cb->type == VSS_RECORD_BITMAP && nbitmaps < 8)
                bitmaps[nbitmaps++] = cb;
        }
    }
    if (nlists == 0) {
        add_problem(st, "no block list found (overwritten?)");
        rb->broken = 1;
    } else {
        qsort(lists, nlists, sizeof *lists, cmp_cblock_rel);
        if (nlists > 1)
            add_problem(st, "%zu block-list chains; the one at offset %llu "
                        "(lowest relative offset) is used", nlists,
                        (unsigned long long)lists[0]->off);
        st->block_list_offset = lists[0]->off;
        if (!chain_whole(s, rb->r, rb->nr, lists[0]->off,
                         VSS_RECORD_BLOCK_LIST, "block list", &blocks, st))
            rb->broken = 1;
    }
    if (nbitmaps == 0) {
        add_problem(st, "no bitmap found (overwritten?)");
        rb->broken = 1;
    } else {
        uint64_t need = (volume_size / VSS_BLOCK_SIZE + 7) / 8, have = 0;
        const cblock *b;
        qsort(bitmaps, nbitmaps, sizeof *bitmaps, cmp_cblock_rel);
        if (nbitmaps > 2)
            add_problem(st, "%zu bitmap chains; the two at the lowest "
                        "relative offsets are used", nbitmaps);
        st->bitmap_offset = bitmaps[0]->off;
        if (nbitmaps > 1)
            st->previous_bitmap_offset = bitmaps[1]->off;
        for (i = 0; i < nbitmaps && i < 2; i++)
            if (!chain_whole(s, rb->r, rb->nr, bitmaps[i]->off,
                             VSS_RECORD_BITMAP,
                             i ? "previous bitmap" : "bitmap", &blocks, st))
                rb->broken = 1;
        /* A whole chain too short for the volume leaves blocks "in use"
         * that may not have been: refuse rather than guess. */
        for (b = bitmaps[0]; b && have < need;
             b = b->next && b->next != b->off ? block_at(s, b->next) : NULL)
            have += VSS_BLOCK_SIZE - VSS_BLOCK_HEADER_SIZE;
        if (!rb->broken && have < need) {
            add_problem(st, "bitmap holds %llu bytes, the volume needs %llu",
                        (unsigned long long)have, (unsigned long long)need);
            rb->broken = 1;
        }
    }
    if (st->block_range_offset &&
        !chain_whole(s, rb->r, rb->nr, st->block_range_offset,
                     VSS_RECORD_BLOCK_RANGES, "block-range list", &blocks, st))
        rb->broken = 1;
    st->metadata_blocks = blocks;
    return VSS_OK;
}

/* ---- 4. names, times, flags ---------------------------------------------- */

/* FILETIME of a version-1 UUID (Windows layout: time_low, time_mid and
 * time_hi_and_version little-endian), 0 when it is not version 1. The
 * UUID epoch (1582-10-15) is 5748192000000000 ticks before 1601-01-01. */
static uint64_t guid_v1_filetime(const uint8_t g[16])
{
    uint64_t t;
    uint16_t hi = vss_le16(g + 6);
    if ((hi >> 12) != 1 || (g[8] & 0xC0) != 0x80)
        return 0;
    t = (uint64_t)(hi & 0x0FFF) << 48 | (uint64_t)vss_le16(g + 4) << 32 |
        vss_le32(g);
    return t > 5748192000000000ull ? t - 5748192000000000ull : 0;
}

static const vss_catalog_snapshot *cat_snapshot(const vss_catalog *cat,
                                                const uint8_t g[16])
{
    size_t i;
    for (i = 0; i < cat->nsnapshots; i++)
        if (memcmp(cat->snapshots[i].store_guid, g, 16) == 0)
            return &cat->snapshots[i];
    return NULL;
}

static const vss_catalog_location *cat_location(const vss_catalog *cat,
                                                uint64_t header)
{
    size_t i;
    for (i = 0; i < cat->nlocations; i++)
        if (cat->locations[i].store_header_offset == header)
            return &cat->locations[i];
    return NULL;
}

/* Catalog blocks still on disk (their chain or not): every entry. */
static void read_remnants(vss_carve *c, const scan *s, vss_catalog *rem)
{
    uint8_t *block = vss_malloc(VSS_BLOCK_SIZE);
    size_t i;
    memset(rem, 0, sizeof *rem);
    if (!block)
        return;
    for (i = 0; i < s->n; i++) {
        vss_error e = {0, ""};
        if (s->b[i].type != VSS_RECORD_CATALOG)
            continue;
        if (vss_read_exact(c->src, block, VSS_BLOCK_SIZE, s->b[i].off,
                           "catalog block", &e))
            continue;
        /* A damaged block still gives the entries before the damage. */
        (void)vss_catalog_decode_block(block, VSS_BLOCK_SIZE, s->b[i].off,
                                       rem, &e);
    }
    free(block);
}

static void name_store(vss_carve *c, rebuilt *rb, const vss_catalog *live,
                       const vss_catalog *rem, const carve_names *names,
                       int any_0x400)
{
    vss_carved_store *st = &rb->st;
    const vss_catalog_location *loc;
    const vss_catalog_snapshot *snap = NULL;
    const carve_name *nm = NULL;
    size_t i;
    char g[37];

    snprintf(st->guid_evidence, sizeof st->guid_evidence, "none");
    /* A location entry (type 3) with no snapshot entry (type 2) on this
     * volume: the store of another volume whose diff area is kept here
     * (redirected storage). It is not a snapshot of this volume. */
    loc = cat_location(live, st->store_header_offset);
    if (!loc)
        loc = cat_location(rem, st->store_header_offset);
    if (loc && !cat_snapshot(live, loc->store_guid) &&
        !cat_snapshot(rem, loc->store_guid)) {
        rb->foreign = 1;
        st->guid_known = 1;
        memcpy(st->store_guid, loc->store_guid, 16);
        return;
    }
    if ((loc = cat_location(live, st->store_header_offset)) &&
        (snap = cat_snapshot(live, loc->store_guid))) {
        st->in_catalog = 1;
        st->guid_known = 1;
        memcpy(st->store_guid, loc->store_guid, 16);
        snprintf(st->guid_evidence, sizeof st->guid_evidence, "catalog");
        st->store_file_reference = loc->file_reference;
    } else if ((loc = cat_location(rem, st->store_header_offset))) {
        st->guid_known = 1;
        memcpy(st->store_guid, loc->store_guid, 16);
        snprintf(st->guid_evidence, sizeof st->guid_evidence,
                 "catalog remnant at %llu",
                 (unsigned long long)loc->entry_offset);
        st->store_file_reference = loc->file_reference;
        snap = cat_snapshot(rem, loc->store_guid);
    }
    /* The record in the live $MFT says what the file system says now;
     * copies (old MFT blocks copied into store data) only name it. */
    for (i = 0; i < names->n; i++)
        if (names->v[i].first_offset == st->store_header_offset &&
            (!nm || (names->v[i].in_mft && !nm->in_mft)))
            nm = &names->v[i];
    if (nm) {
        st->file_created = nm->si_created;
        /* Only copies name it when NTFS reused its record for another
         * file: the store file is gone as surely as when its record is
         * marked unused (and its clusters may be another file's now). */
        st->file_deleted = nm->deleted || !nm->in_mft;
        st->file_record_offset = nm->record_offset;
        if (!st->guid_known) {
            st->guid_known = 1;
            memcpy(st->store_guid, nm->guid, 16);
            snprintf(st->guid_evidence, sizeof st->guid_evidence,
                     "NTFS file record at %llu",
                     (unsigned long long)nm->record_offset);
            st->store_file_reference = nm->file_reference;
        } else if (memcmp(st->store_guid, nm->guid, 16) != 0) {
            vss_guid_format(nm->guid, g);
            add_problem(st, "the NTFS file record at %llu names store %s",
                        (unsigned long long)nm->record_offset, g);
        }
    }
    if (st->guid_known)
        st->guid_time = guid_v1_filetime(st->store_guid);

    st->volume_size = snap ? snap->volume_size : c->sum.volume_size;
    if (snap) {
        st->catalog_flags = snap->flags;
        snprintf(st->flags_evidence, sizeof st->flags_evidence, "%s",
                 st->in_catalog ? "catalog" : "catalog remnant");
    } else if (any_0x400) {
        st->catalog_flags = 0x40 | VSS_CATALOG_FLAG_UNUSED_ZERO;
        snprintf(st->flags_evidence, sizeof st->flags_evidence,
                 "inferred: other catalog entries on the volume have 0x400");
    } else if (c->has_hdr && c->hdr.version >= 2) {
        st->catalog_flags = 0x40 | VSS_CATALOG_FLAG_UNUSED_ZERO;
        snprintf(st->flags_evidence, sizeof st->flags_evidence,
                 "inferred: VSS volume header version %u (Windows 8 or "
                 "later) sets 0x400", c->hdr.version);
    } else {
        st->catalog_flags = 0x40;
        snprintf(st->flags_evidence, sizeof st->flags_evidence,
                 c->has_hdr ? "inferred: VSS volume header version %u "
                              "(before Windows 8): no 0x400"
                            : "assumed: no VSS volume header, no 0x400",
                 c->has_hdr ? c->hdr.version : 0);
    }

    if (snap) {
        st->creation_time = snap->creation_time;
        snprintf(st->time_evidence, sizeof st->time_evidence, "%s",
                 st->in_catalog ? "catalog creation time"
                                : "catalog remnant creation time");
    } else if (st->file_created) {
        st->creation_time = st->file_created;
        snprintf(st->time_evidence, sizeof st->time_evidence,
                 "estimate: the store file's creation time (NTFS "
                 "$STANDARD_INFORMATION)");
    } else if (st->guid_time) {
        st->creation_time = st->guid_time;
        snprintf(st->time_evidence, sizeof st->time_evidence,
                 "estimate: the store GUID's version-1 timestamp (precedes "
                 "creation)");
    } else {
        snprintf(st->time_evidence, sizeof st->time_evidence,
                 "unknown: nothing dates this store");
    }
    rb->key = st->creation_time;
}

static int cmp_rebuilt(const void *a, const void *b)
{
    const rebuilt *x = a, *y = b;
    /* Undated stores last, among themselves by header offset. */
    if ((x->key == 0) != (y->key == 0))
        return x->key == 0 ? 1 : -1;
    if (x->key != y->key)
        return (x->key > y->key) - (x->key < y->key);
    return (x->st.store_header_offset > y->st.store_header_offset) -
           (x->st.store_header_offset < y->st.store_header_offset);
}

/* ---- the whole carve -------------------------------------------------------- */

static int rebuild(vss_carve *c, scan *s, const carve_names *names,
                   vss_error *err)
{
    vss_catalog live, rem;
    range_list *lists = NULL;
    size_t nl = 0, i, nh = 0, n = 0;
    rebuilt *rb = NULL;
    int rc, any_0x400 = 0, dated = 0, by_cat = 0, by_file = 0, by_guid = 0;

    memset(&live, 0, sizeof live);
    if (c->has_hdr && c->hdr.catalog_offset) {
        vss_error e = {0, ""};
        if (vss_catalog_read(c->src, c->hdr.catalog_offset, &live, &e) == 0)
            c->sum.catalog_live = 1;
        else
            memset(&live, 0, sizeof live);
    }
    read_remnants(c, s, &rem);
    for (i = 0; i < live.nsnapshots; i++)
        any_0x400 |= (live.snapshots[i].flags &
                      VSS_CATALOG_FLAG_UNUSED_ZERO) != 0;
    for (i = 0; i < rem.nsnapshots; i++)
        any_0x400 |= (rem.snapshots[i].flags &
                      VSS_CATALOG_FLAG_UNUSED_ZERO) != 0;

    mark_heads(s);
    rc = read_range_lists(c, s, &lists, &nl, err);
    if (rc)
        goto out;
    for (i = 0; i < s->n; i++)
        nh += s->b[i].type == VSS_RECORD_STORE_HEADER;
    rb = nh ? vss_calloc(nh, sizeof *rb) : NULL;
    if (nh && !rb) {
        rc = vss_fail(err, VSS_ENOMEM, "carve: out of memory");
        goto out;
    }
    for (i = 0; i < s->n; i++) {
        uint8_t *block;
        vss_error e = {0, ""};
        rebuilt *r;
        vss_store_info info;
        if (s->b[i].type != VSS_RECORD_STORE_HEADER)
            continue;
        r = &rb[n++];
        r->st.store_header_offset = s->b[i].off;
        if (s->b[i].rel != 0)
            add_problem(&r->st, "store header records relative offset %llu, "
                        "not 0", (unsigned long long)s->b[i].rel);
        block = vss_malloc(VSS_BLOCK_SIZE);
        if (!block) {
            rc = vss_fail(err, VSS_ENOMEM, "carve: out of memory");
            goto out;
        }
        rc = vss_read_exact(c->src, block, VSS_BLOCK_SIZE, s->b[i].off,
                            "store header", &e);
        if (!rc)
            rc = vss_store_info_decode(block + VSS_BLOCK_HEADER_SIZE,
                                       VSS_BLOCK_SIZE - VSS_BLOCK_HEADER_SIZE,
                                       s->b[i].off + VSS_BLOCK_HEADER_SIZE,
                                       &info, &e);
        free(block);
        if (rc) {
            add_problem(&r->st, "%s", e.message);
            r->broken = 1;
            rc = VSS_OK;
        } else {
            memcpy(r->st.shadow_copy_id, info.shadow_copy_id, 16);
            memcpy(r->st.shadow_copy_set_id, info.shadow_copy_set_id, 16);
            r->st.snapshot_context = info.snapshot_context;
            r->st.provider_flags = info.provider_flags;
            r->st.attribute_flags = info.attribute_flags;
            memcpy(r->st.originating_machine, info.originating_machine,
                   sizeof info.originating_machine);
            memcpy(r->st.service_machine, info.service_machine,
                   sizeof info.service_machine);
        }
        if (store_extent(s, lists, nl, s->b[i].off, r)) {
            rc = vss_fail(err, VSS_ENOMEM, "carve: out of memory");
            goto out;
        }
        name_store(c, r, &live, &rem, names, any_0x400);
        store_chains(s, r->st.volume_size, r);
    }
    /* Store files NTFS still names whose store was not found: a store
     * missing from the middle of the stack would make every older
     * snapshot read wrongly, so say so. */
    for (i = 0; i < names->n; i++) {
        size_t k;
        int found = 0;
        for (k = 0; k < n && !found; k++)
            found = rb[k].st.guid_known &&
                    memcmp(rb[k].st.store_guid, names->v[i].guid, 16) == 0;
        for (k = 0; k < i && !found; k++) /* named once */
            found = memcmp(names->v[k].guid, names->v[i].guid, 16) == 0;
        if (!found) {
            size_t len = strlen(c->sum.missing);
            char g[37];
            vss_guid_format(names->v[i].guid, g);
            if (len + 60 < sizeof c->sum.missing)
                snprintf(c->sum.missing + len, sizeof c->sum.missing - len,
                         "%sstore %s (NTFS record at %llu)", len ? ", " : "",
                         g, (unsigned long long)names->v[i].record_offset);
        }
    }
    /* Other volumes' stores leave the stack, named in the summary. */
    {
        size_t k = 0;
        for (i = 0; i < n; i++) {
            if (!rb[i].foreign) {
                rb[k++] = rb[i];
                continue;
            }
            c->sum.other_volume_stores++;
            free(rb[i].r);
            rb[i].r = NULL;
        }
        n = k;
    }
    if (n)
        qsort(rb, n, sizeof *rb, cmp_rebuilt);
    c->stores = n ? vss_calloc(n, sizeof *c->stores) : NULL;
    c->broken = n ? vss_calloc(n, sizeof *c->broken) : NULL;
    c->ranges = n ? vss_calloc(n, sizeof *c->ranges) : NULL;
    c->nranges = n ? vss_calloc(n, sizeof *c->nranges) : NULL;
    if (n && (!c->stores || !c->broken || !c->ranges || !c->nranges)) {
        rc = vss_fail(err, VSS_ENOMEM, "carve: out of memory");
        goto out;
    }
    for (i = 0; i < n; i++) {
        vss_carved_store *st = &rb[i].st;
        st->index = (int)i + 1;
        if (!st->guid_known) {
            memset(st->store_guid, 0, 16);
            st->store_guid[15] = (uint8_t)st->index;
            st->store_guid[14] = (uint8_t)(st->index >> 8);
        }
        if (!st->creation_time)
            add_problem(st, "undated: placed after every dated store");
        if (c->sum.other_volume_stores && !st->in_catalog &&
            !(st->flags_evidence[0] == 'c'))
            add_problem(st, "this volume also keeps the stores of another "
                        "volume (redirected storage): this deleted store "
                        "may be one of theirs, not a snapshot of this "
                        "volume");
        st->confidence = rb[i].broken ? VSS_CARVE_LOW
                         : (!st->guid_known || st->problems[0] ||
                            c->sum.missing[0])
                             ? VSS_CARVE_MEDIUM
                             : VSS_CARVE_HIGH;
        dated += st->creation_time != 0;
        by_cat += st->creation_time && strncmp(st->time_evidence, "catalog",
                                               7) == 0;
        by_file += st->creation_time == st->file_created &&
                   st->file_created && !by_cat;
        by_guid += st->creation_time && st->creation_time == st->guid_time &&
                   strncmp(st->time_evidence, "catalog", 7) != 0;
        c->stores[i] = *st;
        c->broken[i] = rb[i].broken;
        c->ranges[i] = rb[i].r; /* moved: the carve owns them now */
        c->nranges[i] = rb[i].nr;
        rb[i].r = NULL;
    }
    c->n = n;
    if (n == 0)
        snprintf(c->sum.order_evidence, sizeof c->sum.order_evidence,
                 "no store found");
    else
        snprintf(c->sum.order_evidence, sizeof c->sum.order_evidence,
                 "oldest first by creation time: %d from the catalog, %d "
                 "from store file records, %d from store GUID timestamps; "
                 "%zu undated (last, by offset)",
                 by_cat, by_file, by_guid, n - (size_t)dated);
    c->sum.store_records = names->n;
out:
    for (i = 0; i < nl; i++)
        free(lists[i].r);
    free(lists);
    for (i = 0; i < n; i++)
        free(rb[i].r);
    free(rb);
    vss_catalog_free(&live);
    vss_catalog_free(&rem);
    return rc;
}

int vss_carve_run(vss_source *src, const vss_carve_options *opts,
                  carve_chunk_fn hook, void *hook_user, const uint8_t *skip,
                  vss_carve **out, vss_error *err)
{
    vss_carve *c;
    scan s = {NULL, 0, 0, CARVE_DEFAULT_MAX_BLOCKS};
    carve_names names = {NULL, 0, 0};
    uint8_t hdr[VSS_HEADER_SIZE];
    int rc;

    if (!out)
        return vss_fail(err, VSS_EINVAL, "carve: no output");
    *out = NULL;
    if (!src)
        return vss_fail(err, VSS_EINVAL, "carve: no source");
    if (opts && opts->max_blocks)
        s.max = opts->max_blocks;
    c = vss_calloc(1, sizeof *c);
    if (!c)
        return vss_fail(err, VSS_ENOMEM, "carve: out of memory");
    vss_source_retain(src);
    c->src = src;
    c->sum.volume_size = vss_source_size(src);
    {
        vss_error e = {0, ""};
        if (vss_read_exact(src, hdr, sizeof hdr, VSS_HEADER_OFFSET,
                           "volume header", &e) == 0 &&
            vss_volume_header_decode(hdr, sizeof hdr, &c->hdr, &e) == 0) {
            c->has_hdr = 1;
            c->sum.header_version = c->hdr.version;
        }
    }
    rc = scan_volume(c, opts, hook, hook_user, skip, &s, &names, err);
    if (!rc)
        rc = rebuild(c, &s, &names, err);
    free(s.b);
    free(names.v);
    if (rc) {
        vss_carve_close(c);
        return rc;
    }
    *out = c;
    return VSS_OK;
}

void vss_carve_close(vss_carve *c)
{
    if (!c)
        return;
    vss_source_release(c->src);
    for (size_t i = 0; c->ranges && i < c->n; i++)
        free(c->ranges[i]);
    free(c->ranges);
    free(c->nranges);
    free(c->reused);
    free(c->stores);
    free(c->broken);
    free(c);
}

size_t vss_carve_store_count(const vss_carve *c)
{
    return c ? c->n : 0;
}

const vss_carved_store *vss_carve_store(const vss_carve *c, int index)
{
    if (!c || index < 1 || (size_t)index > c->n)
        return NULL;
    return &c->stores[index - 1];
}

void vss_carve_store_extents(const vss_carve *c, int index,
                             const vss_block_range **r, size_t *n)
{
    *r = NULL;
    *n = 0;
    if (c && index >= 1 && (size_t)index <= c->n) {
        *r = c->ranges[index - 1];
        *n = c->nranges[index - 1];
    }
}

int vss_carve_mark_reused(vss_carve *c, int index, uint64_t start,
                          uint64_t end)
{
    vss_carved_store *st = &c->stores[index - 1];
    if (c->nreused &&
        c->reused[c->nreused - 1].end == start) { /* continues the last */
        c->reused[c->nreused - 1].end = end;
    } else {
        if (c->nreused == c->capreused) {
            size_t ncap = c->capreused ? c->capreused * 2 : 64;
            vss_extent *ne = vss_realloc(c->reused, ncap * sizeof *ne);
            if (!ne)
                return VSS_ENOMEM;
            c->reused = ne;
            c->capreused = ncap;
        }
        c->reused[c->nreused].start = start;
        c->reused[c->nreused].end = end;
        c->nreused++;
    }
    st->overwritten_bytes += end - start;
    return VSS_OK;
}

static int cmp_extent(const void *a, const void *b)
{
    const vss_extent *x = a, *y = b;
    return (x->start > y->start) - (x->start < y->start);
}

void vss_carve_reuse_done(vss_carve *c)
{
    size_t i, k;
    c->sum.allocation_checked = 1;
    if (c->nreused > 1) { /* sorted and merged: reads search them */
        qsort(c->reused, c->nreused, sizeof *c->reused, cmp_extent);
        for (i = 1, k = 0; i < c->nreused; i++) {
            if (c->reused[i].start <= c->reused[k].end) {
                if (c->reused[i].end > c->reused[k].end)
                    c->reused[k].end = c->reused[i].end;
            } else {
                c->reused[++k] = c->reused[i];
            }
        }
        c->nreused = k + 1;
    }
    for (i = 0; i < c->n; i++) {
        vss_carved_store *st = &c->stores[i];
        if (!st->overwritten_bytes)
            continue;
        add_problem(st, "%llu bytes of its extents are now held by live "
                    "files (overwritten after the deletion?): read as "
                    "stale, reason overwritten",
                    (unsigned long long)st->overwritten_bytes);
        if (st->confidence == VSS_CARVE_HIGH)
            st->confidence = VSS_CARVE_MEDIUM;
    }
}

void vss_carve_get_summary(const vss_carve *c, vss_carve_summary *out)
{
    if (c && out)
        *out = c->sum;
}

int vss_carve_open_volume(vss_carve *c, vss_volume **out, vss_error *err)
{
    vss_catalog cat;
    vss_volume_header hdr;
    vss_volume *v;
    size_t i;
    int rc;

    if (!out)
        return vss_fail(err, VSS_EINVAL, "carved volume: no output");
    *out = NULL;
    if (!c)
        return vss_fail(err, VSS_EINVAL, "carved volume: no carve");
    if (c->n == 0)
        return vss_fail(err, VSS_ENOTFOUND,
                        "carved volume: no store was carved from %s",
                        vss_source_name(c->src));
    memset(&cat, 0, sizeof cat);
    cat.snapshots = vss_calloc(c->n, sizeof *cat.snapshots);
    cat.locations = vss_calloc(c->n, sizeof *cat.locations);
    if (!cat.snapshots || !cat.locations) {
        vss_catalog_free(&cat);
        return vss_fail(err, VSS_ENOMEM, "carved volume: out of memory");
    }
    for (i = 0; i < c->n; i++) {
        const vss_carved_store *st = &c->stores[i];
        vss_catalog_snapshot *sn = &cat.snapshots[i];
        vss_catalog_location *lo = &cat.locations[i];
        sn->volume_size = st->volume_size;
        memcpy(sn->store_guid, st->store_guid, 16);
        sn->stack_position = (uint64_t)st->index;
        sn->flags = st->catalog_flags;
        sn->creation_time = st->creation_time;
        memcpy(lo->store_guid, st->store_guid, 16);
        lo->store_header_offset = st->store_header_offset;
        /* A broken chain is not followed, even to find the store file's
         * blocks: its snapshots refuse to open below. */
        if (!c->broken[i]) {
            lo->block_list_offset = st->block_list_offset;
            lo->block_range_offset = st->block_range_offset;
            lo->bitmap_offset = st->bitmap_offset;
            lo->previous_bitmap_offset = st->previous_bitmap_offset;
        }
        lo->file_reference = st->store_file_reference;
    }
    cat.nsnapshots = cat.nlocations = c->n;
    memset(&hdr, 0, sizeof hdr);
    if (c->has_hdr)
        hdr = c->hdr;
    /* The stores carved here are this volume's: local storage. */
    memcpy(hdr.storage_guid, hdr.volume_guid, 16);
    hdr.catalog_offset = 0;
    rc = vss_volume_open_catalog(c->src, &hdr, &cat, &v, err);
    if (rc)
        return rc;
    if (c->nreused) {
        v->reused = vss_malloc(c->nreused * sizeof *v->reused);
        if (!v->reused) {
            vss_volume_close(v);
            return vss_fail(err, VSS_ENOMEM, "carved volume: out of memory");
        }
        memcpy(v->reused, c->reused, c->nreused * sizeof *v->reused);
        v->nreused = c->nreused;
    }
    for (i = 0; i < c->n; i++) {
        vss_store *st = &v->stores[i];
        if (!c->broken[i])
            continue;
        free(st->ranges);
        st->ranges = NULL;
        st->nranges = 0;
        st->loaded = 0;
        st->load_rc = VSS_ECORRUPT;
        snprintf(st->load_error, sizeof st->load_error,
                 "carved store at offset %llu: %.200s",
                 (unsigned long long)c->stores[i].store_header_offset,
                 c->stores[i].problems);
    }
    *out = v;
    return VSS_OK;
}

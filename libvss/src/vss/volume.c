/*
 * volume.c — open one volume's shadow copies: read the VSS header, the
 * catalog, and (once the storage volume is known) each store's header,
 * block list, bitmaps and block ranges (docs/format.md, "Putting a volume
 * together"). Redirected storage is paired by the GUIDs in the VSS headers.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "vss/carve.h"

static int cmp_stack(const void *a, const void *b)
{
    const vss_store *x = a, *y = b;
    return (x->cat.stack_position > y->cat.stack_position) -
           (x->cat.stack_position < y->cat.stack_position);
}

static int cmp_extent(const void *a, const void *b)
{
    const vss_extent *x = a, *y = b;
    return (x->start > y->start) - (x->start < y->start);
}

/* What store_load_reads loaded (it can be tried again after ENOMEM). */
static void store_free_reads(vss_store *st)
{
    free(st->descs);
    free(st->fwd_targets);
    free(st->bitmap);
    free(st->prev_bitmap);
    st->descs = NULL;
    st->ndescs = 0;
    st->fwd_targets = NULL;
    st->nfwd = 0;
    st->bitmap = st->prev_bitmap = NULL;
    st->bitmap_bits = st->prev_bits = 0;
}

static void store_free(vss_store *st)
{
    store_free_reads(st);
    free(st->ranges);
    st->ranges = NULL;
    st->nranges = 0;
    st->loaded = 0;
    st->reads_ready = 0;
}

/* Set bits in a bitmap: 8 bytes at a time (a portable SWAR count; the
 * default target has no popcount instruction and libgcc's is per call). */
static uint64_t popcount_bits(const uint8_t *bm, uint64_t nbits)
{
    uint64_t n = 0, i, nbytes = (nbits + 7) / 8, w;
    for (i = 0; i + 8 <= nbytes; i += 8) {
        memcpy(&w, bm + i, 8);
        w -= (w >> 1) & 0x5555555555555555ull;
        w = (w & 0x3333333333333333ull) + ((w >> 2) & 0x3333333333333333ull);
        w = (w + (w >> 4)) & 0x0f0f0f0f0f0f0f0full;
        n += (w * 0x0101010101010101ull) >> 56;
    }
    for (; i < nbytes; i++)
        for (w = bm[i]; w; w &= w - 1)
            n++;
    return n;
}

/* Load one store whose location entry is loc, from the storage volume. */
static int store_load(vss_volume *v, vss_store *st,
                      const vss_catalog_location *loc, vss_error *err)
{
    vss_source *stor = v->storage;
    uint64_t stor_size = vss_source_size(stor);
    uint64_t vol_blocks = (st->cat.volume_size + VSS_BLOCK_SIZE - 1) /
                          VSS_BLOCK_SIZE;
    size_t stor_blocks = (size_t)(stor_size / VSS_BLOCK_SIZE);
    size_t max_list, i;
    uint8_t *block;
    vss_block_header bh;
    int rc;

    st->loc = *loc;
    /* A block list can hold at most a few descriptors per volume block;
     * and never more blocks than the storage volume has. */
    max_list = (size_t)(vol_blocks / ((VSS_BLOCK_SIZE - 128) / 32) * 4 + 64);
    if (max_list > stor_blocks)
        max_list = stor_blocks;

    block = vss_malloc(VSS_BLOCK_SIZE);
    if (!block)
        return vss_fail(err, VSS_ENOMEM, "store: out of memory");
    rc = vss_read_exact(stor, block, VSS_BLOCK_SIZE, loc->store_header_offset,
                        "store header", err);
    if (!rc)
        rc = vss_block_header_decode(block, VSS_BLOCK_SIZE,
                                     VSS_RECORD_STORE_HEADER,
                                     loc->store_header_offset, "store header",
                                     &bh, err);
    if (!rc && bh.own_offset != loc->store_header_offset)
        rc = vss_fail(err, VSS_ECORRUPT,
                      "store header at offset %llu: says it is at offset %llu",
                      (unsigned long long)loc->store_header_offset,
                      (unsigned long long)bh.own_offset);
    if (!rc)
        rc = vss_store_info_decode(block + VSS_BLOCK_HEADER_SIZE,
                                   VSS_BLOCK_SIZE - VSS_BLOCK_HEADER_SIZE,
                                   loc->store_header_offset +
                                       VSS_BLOCK_HEADER_SIZE,
                                   &st->info, err);
    free(block);
    if (rc)
        return rc;

    /* The block list (descriptors: O(changed blocks) to read) is left for
     * the first snapshot open or vss_volume_load_stores, so listing costs
     * O(stores); max_list bounds its chain then. */
    st->max_list = max_list;
    st->nbits = vol_blocks;
    if (loc->block_range_offset) {
        rc = vss_block_ranges_read(stor, loc->block_range_offset,
                                   stor_blocks ? stor_blocks : 1, &st->ranges,
                                   &st->nranges, err);
        if (rc)
            return rc;
        st->store_size = 0;
        for (i = 0; i < st->nranges; i++)
            st->store_size += st->ranges[i].size;
    }
    st->loaded = 1;
    return VSS_OK;
}

static const vss_catalog_location *find_location(const vss_catalog *cat,
                                                 const uint8_t guid[16],
                                                 vss_error *err, int *rc)
{
    const vss_catalog_location *found = NULL;
    size_t i;
    *rc = VSS_OK;
    for (i = 0; i < cat->nlocations; i++)
        if (memcmp(cat->locations[i].store_guid, guid, 16) == 0) {
            if (found) {
                char g[37];
                vss_guid_format(guid, g);
                *rc = vss_fail(err, VSS_ECORRUPT,
                               "catalog entry at offset %llu: second location "
                               "entry for store %s",
                               (unsigned long long)cat->locations[i]
                                   .entry_offset,
                               g);
                return NULL;
            }
            found = &cat->locations[i];
        }
    return found;
}

static int add_extent(vss_extent **ext, size_t *n, size_t *cap,
                      uint64_t start, uint64_t end)
{
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 64;
        vss_extent *ne = vss_realloc(*ext, ncap * sizeof *ne);
        if (!ne)
            return VSS_ENOMEM;
        *ext = ne;
        *cap = ncap;
    }
    (*ext)[*n].start = start;
    (*ext)[*n].end = end;
    (*n)++;
    return VSS_OK;
}

/* The shadow copy files on this volume, which read as zeros in its
 * snapshots: the catalog's own blocks and the block ranges (the store
 * files' extents) of every store whose location entry is in this volume's
 * catalog (its own stores, and the stores of volumes that keep their diff
 * area here). Windows also flags all of them not-in-use in every bitmap.
 * Merged and sorted. */
/* A store whose shadow copy files cannot be walked leaves the diff area
 * unknown; as those blocks read as zeros in every snapshot, no snapshot
 * can be read exactly: say which store and why. */
static int diff_area_fail(const vss_catalog_location *loc, int rc,
                          const vss_error *why, vss_error *err)
{
    char g[37];
    if (rc == VSS_ENOMEM)
        return vss_fail(err, rc, "diff area: out of memory");
    vss_guid_format(loc->store_guid, g);
    return vss_fail(err, rc,
                    "shadow copy files of store %s (catalog entry at offset "
                    "%llu), which read as zeros in every snapshot: %s", g,
                    (unsigned long long)loc->entry_offset, why->message);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The metadata blocks of the store whose location entry is loc, on src
 * (the volume holding it): its header and every block of its block list,
 * block-range list and bitmap chains; sorted, without duplicates. */
static int store_metadata_blocks(vss_source *src,
                                 const vss_catalog_location *loc,
                                 uint64_t **out, size_t *count,
                                 vss_error *err)
{
    static const struct {
        size_t field;
        uint32_t type;
        const char *what;
    } chains[] = {
        {offsetof(vss_catalog_location, block_list_offset),
         VSS_RECORD_BLOCK_LIST, "block list block"},
        {offsetof(vss_catalog_location, block_range_offset),
         VSS_RECORD_BLOCK_RANGES, "block range list block"},
        {offsetof(vss_catalog_location, bitmap_offset), VSS_RECORD_BITMAP,
         "bitmap block"},
        {offsetof(vss_catalog_location, previous_bitmap_offset),
         VSS_RECORD_BITMAP, "previous bitmap block"},
    };
    size_t blocks = (size_t)(vss_source_size(src) / VSS_BLOCK_SIZE);
    uint64_t *all = vss_malloc(sizeof *all);
    size_t n = 1, c, k;

    *out = NULL;
    *count = 0;
    if (!all)
        return vss_fail(err, VSS_ENOMEM, "store metadata: out of memory");
    all[0] = loc->store_header_offset;
    for (c = 0; c < sizeof chains / sizeof *chains; c++) {
        uint64_t first, *offs = NULL, *grown;
        size_t no = 0;
        int rc;
        memcpy(&first, (const uint8_t *)loc + chains[c].field, sizeof first);
        if (!first)
            continue;
        rc = vss_chain_offsets(src, first, chains[c].type, chains[c].what,
                               blocks ? blocks : 1, &offs, &no, err);
        if (rc) {
            free(all);
            return rc;
        }
        grown = vss_realloc(all, (n + no) * sizeof *all);
        if (!grown) {
            free(offs);
            free(all);
            return vss_fail(err, VSS_ENOMEM, "store metadata: out of memory");
        }
        all = grown;
        if (no)  /* an empty chain gives offs == NULL */
            memcpy(all + n, offs, no * sizeof *all);
        n += no;
        free(offs);
    }
    if (n > 1)
        qsort(all, n, sizeof *all, cmp_u64);
    for (c = 1, k = n ? 1 : 0; c < n; c++)
        if (all[c] != all[k - 1])
            all[k++] = all[c];
    *out = all;
    *count = k;
    return VSS_OK;
}

static int collect_diff_area(vss_volume *v, vss_error *err)
{
    size_t i, j, n = 0, cap = 0;
    vss_extent *ext = NULL;
    uint64_t vol_size = vss_source_size(v->src);
    size_t stor_blocks = (size_t)(vol_size / VSS_BLOCK_SIZE);

    for (i = 0; i < v->catalog.nblocks; i++)
        if (add_extent(&ext, &n, &cap, v->catalog.blocks[i],
                       v->catalog.blocks[i] + VSS_BLOCK_SIZE)) {
            free(ext);
            return vss_fail(err, VSS_ENOMEM, "diff area: out of memory");
        }

    for (i = 0; i < v->catalog.nlocations; i++) {
        const vss_catalog_location *loc = &v->catalog.locations[i];
        vss_block_range *r = NULL;
        uint64_t *meta = NULL;
        size_t nr = 0, nmeta = 0, k;
        vss_error e = {0, ""};
        int rc;

        /* The store's metadata blocks (the block ranges start after the
         * first few of them), then the extents its block ranges list. */
        rc = store_metadata_blocks(v->src, loc, &meta, &nmeta, &e);
        if (rc) {
            free(ext);
            return diff_area_fail(loc, rc, &e, err);
        }
        for (k = 0; k < nmeta; k++)
            if (add_extent(&ext, &n, &cap, meta[k], meta[k] + VSS_BLOCK_SIZE)) {
                free(meta);
                goto nomem;
            }
        free(meta);
        if (!loc->block_range_offset)
            continue;
        rc = vss_block_ranges_read(v->src, loc->block_range_offset,
                                   stor_blocks ? stor_blocks : 1, &r, &nr,
                                   &e);
        if (rc) {
            free(ext);
            return diff_area_fail(loc, rc, &e, err);
        }
        for (j = 0; j < nr; j++)
            if (add_extent(&ext, &n, &cap, r[j].volume_offset,
                           r[j].volume_offset + r[j].size)) {
                free(r);
                goto nomem;
            }
        free(r);
    }
    if (n) {
        qsort(ext, n, sizeof *ext, cmp_extent);
        for (i = 1, j = 0; i < n; i++) {
            if (ext[i].start <= ext[j].end) {
                if (ext[i].end > ext[j].end)
                    ext[j].end = ext[i].end;
            } else {
                ext[++j] = ext[i];
            }
        }
        n = j + 1;
    }
    v->diff_area = ext;
    v->ndiff_area = n;
    return VSS_OK;
nomem:
    free(ext);
    return vss_fail(err, VSS_ENOMEM, "diff area: out of memory");
}

/* With the storage volume known, pair every snapshot with its location
 * entry in the storage volume's catalog and load its store. A store that
 * is corrupt is recorded as such and the others are still loaded: the
 * snapshots that do not read through it stay readable (an examiner wants
 * every snapshot that can be trusted). Only running out of memory fails. */
static int load_stores(vss_volume *v, const vss_catalog *storage_cat,
                       vss_error *err)
{
    size_t i;
    for (i = 0; i < v->nstores; i++) {
        vss_store *st = &v->stores[i];
        vss_error e = {0, ""};
        int rc;
        const vss_catalog_location *loc =
            find_location(storage_cat, st->cat.store_guid, &e, &rc);
        if (!rc && !loc) {
            char g[37];
            vss_guid_format(st->cat.store_guid, g);
            rc = vss_fail(&e, VSS_ECORRUPT,
                          "catalog entry at offset %llu: snapshot %zu (store "
                          "%s) has no location entry in the storage volume's "
                          "catalog",
                          (unsigned long long)st->cat.entry_offset, i + 1, g);
        }
        if (!rc)
            rc = store_load(v, st, loc, &e);
        if (rc == VSS_ENOMEM) {
            for (size_t k = 0; k < v->nstores; k++)
                store_free(&v->stores[k]);
            return vss_fail(err, rc, "%s", e.message);
        }
        if (rc) {
            store_free(st);
            st->load_rc = rc;
            snprintf(st->load_error, sizeof st->load_error, "%s", e.message);
        }
    }
    v->storage_ready = 1;
    return VSS_OK;
}

/* The blocks the store's n forwarders point at, sorted: a read asks whether
 * a block is one of them (zeros under 0x400, snapshot.c), and the
 * provenance map skips the stretches between them. */
static int collect_forward_targets(vss_store *st, size_t n, int number,
                                   vss_error *err)
{
    size_t i;
    if (n == 0)
        return VSS_OK;
    st->fwd_targets = vss_malloc(n * sizeof *st->fwd_targets);
    if (!st->fwd_targets)
        return vss_fail(err, VSS_ENOMEM,
                        "store %d: out of memory for %zu forwarders",
                        number, n);
    n = 0;
    for (i = 0; i < st->ndescs; i++)
        if (st->descs[i].flags & VSS_DESC_FORWARDER)
            st->fwd_targets[n++] = st->descs[i].where;
    qsort(st->fwd_targets, n, sizeof *st->fwd_targets, cmp_u64);
    st->nfwd = 0;
    for (i = 0; i < n; i++)
        if (i == 0 || st->fwd_targets[i] != st->fwd_targets[i - 1])
            st->fwd_targets[st->nfwd++] = st->fwd_targets[i];
    return VSS_OK;
}

/* What reading through a listed store needs: its resolved descriptors
 * (each copy checked to lie on the storage volume) and its bitmaps. */
static int store_load_reads(vss_volume *v, vss_store *st, vss_error *err)
{
    uint64_t stor_size = vss_source_size(v->storage);
    size_t i, nfwd = 0;
    int rc;

    vss_desc_bounds bounds = {(int)(st - v->stores) + 1, st->cat.volume_size,
                              stor_size, NULL, 0};
    uint64_t *meta = NULL;

    rc = store_metadata_blocks(v->storage, &st->loc, &meta, &bounds.nmeta,
                               err);
    if (rc)
        return rc;
    bounds.meta = meta;
    rc = vss_block_list_read_bounded(v->storage, st->loc.block_list_offset,
                                     st->max_list, &bounds, &st->descs,
                                     &st->ndescs, &st->listed, err);
    free(meta);
    if (rc)
        return rc;
    for (i = 0; i < st->ndescs; i++)
        nfwd += (st->descs[i].flags & VSS_DESC_FORWARDER) != 0;
    rc = collect_forward_targets(st, nfwd, (int)(st - v->stores) + 1,
                                 err);
    if (rc)
        return rc;
    if (st->loc.bitmap_offset) {
        rc = vss_bitmap_read(v->storage, st->loc.bitmap_offset, st->nbits,
                             &st->bitmap, &st->bitmap_bits, err);
        if (rc)
            return rc;
        st->not_in_use = popcount_bits(st->bitmap, st->bitmap_bits);
    }
    if (st->loc.previous_bitmap_offset) {
        rc = vss_bitmap_read(v->storage, st->loc.previous_bitmap_offset,
                             st->nbits, &st->prev_bitmap, &st->prev_bits, err);
        if (rc)
            return rc;
    }
    st->reads_ready = 1;
    return VSS_OK;
}

int vss_volume_prepare_reads(vss_volume *v, size_t from, vss_error *err)
{
    int rc = VSS_OK;
    size_t k;

    pthread_mutex_lock(&v->lazy);
    if (!v->diff_area_loaded) {
        rc = collect_diff_area(v, err);
        if (rc == VSS_OK)
            v->diff_area_loaded = 1;
    }
    for (k = from; rc == VSS_OK && k < v->nstores; k++) {
        vss_store *st = &v->stores[k];
        vss_error e = {0, ""};
        if (!st->loaded || st->reads_ready)
            continue;
        rc = store_load_reads(v, st, &e);
        if (rc == VSS_ENOMEM) {
            vss_fail(err, rc, "%s", e.message);
            store_free_reads(st);
        } else if (rc) {
            /* A corrupt block list or bitmap retires the store (no snapshot reading
             * through it can be open yet: opening is what gets here); the
             * caller then refuses those snapshots with this message. */
            store_free(st);
            st->load_rc = rc;
            snprintf(st->load_error, sizeof st->load_error, "%s", e.message);
            rc = VSS_OK;
        }
    }
    pthread_mutex_unlock(&v->lazy);
    return rc;
}

int vss_volume_load_stores(vss_volume *v, vss_error *err)
{
    if (!v)
        return vss_fail(err, VSS_EINVAL, "load stores: no volume");
    if (!v->storage_ready || v->nstores == 0)
        return VSS_OK;
    return vss_volume_prepare_reads(v, 0, err);
}

/* Build the stack from v->catalog (already read): one store per snapshot
 * entry in stack order, and, when the storage is local, each store loaded.
 * Shared by vss_volume_open and the carved stack (carve.c), so that a
 * carved store is read by exactly the code that reads a listed one. */
static int volume_use_catalog(vss_volume *v, vss_error *err)
{
    vss_source *vol = v->src;
    size_t i, j;
    int rc;

    v->nstores = v->catalog.nsnapshots;
    if (v->nstores) {
        v->stores = vss_calloc(v->nstores, sizeof *v->stores);
        if (!v->stores) {
            v->nstores = 0; /* vss_volume_close walks stores[0..nstores) */
            rc = vss_fail(err, VSS_ENOMEM, "volume: out of memory");
            return rc;
        }
    }
    for (i = 0; i < v->nstores; i++)
        v->stores[i].cat = v->catalog.snapshots[i];
    if (v->nstores) /* qsort(NULL, 0) is undefined */
        qsort(v->stores, v->nstores, sizeof *v->stores, cmp_stack);
    for (i = 0; i < v->nstores; i++)
        for (j = i + 1; j < v->nstores; j++)
            if (v->stores[i].cat.stack_position ==
                    v->stores[j].cat.stack_position ||
                memcmp(v->stores[i].cat.store_guid,
                       v->stores[j].cat.store_guid, 16) == 0) {
                rc = vss_fail(err, VSS_ECORRUPT,
                              "catalog entry at offset %llu: duplicate stack "
                              "position %llu or store GUID",
                              (unsigned long long)v->stores[j].cat.entry_offset,
                              (unsigned long long)v->stores[j]
                                  .cat.stack_position);
                return rc;
            }

    if (memcmp(v->hdr.volume_guid, v->hdr.storage_guid, 16) == 0) {
        vss_source_retain(vol);
        v->storage = vol;
        rc = load_stores(v, &v->catalog, err);
        if (rc)
            return rc;
    }
    return VSS_OK;
}

int vss_volume_open(vss_source *vol, vss_volume **out, vss_error *err)
{
    uint8_t hdr[VSS_HEADER_SIZE];
    vss_volume *v;
    int rc;

    *out = NULL;
    if (!vol)
        return vss_fail(err, VSS_EINVAL, "volume: no source");
    v = vss_calloc(1, sizeof *v);
    if (!v)
        return vss_fail(err, VSS_ENOMEM, "volume: out of memory");
    atomic_init(&v->refs, 1);
    pthread_mutex_init(&v->lazy, NULL);
    vss_source_retain(vol);
    v->src = vol;

    rc = vss_read_exact(vol, hdr, sizeof hdr, VSS_HEADER_OFFSET,
                        "volume header", err);
    if (rc)
        goto fail;
    rc = vss_volume_header_decode(hdr, sizeof hdr, &v->hdr, err);
    if (rc == VSS_ENOTFOUND) {
        /* No VSS on this volume: a valid answer, not an error. */
        if (err)
            err->code = VSS_OK;
        *out = v;
        return VSS_OK;
    }
    if (rc)
        goto fail;
    v->has_vss = 1;
    if (v->hdr.catalog_offset == 0) {
        *out = v; /* VSS enabled, no snapshot */
        return VSS_OK;
    }
    rc = vss_catalog_read(vol, v->hdr.catalog_offset, &v->catalog, err);
    if (rc)
        goto fail;
    rc = volume_use_catalog(v, err);
    if (rc)
        goto fail;
    *out = v;
    return VSS_OK;
fail:
    vss_volume_close(v);
    return rc;
}

int vss_volume_open_catalog(vss_source *vol, const vss_volume_header *hdr,
                            vss_catalog *cat, vss_volume **out,
                            vss_error *err)
{
    vss_volume *v;
    int rc;

    *out = NULL;
    v = vss_calloc(1, sizeof *v);
    if (!v) {
        vss_catalog_free(cat);
        return vss_fail(err, VSS_ENOMEM, "volume: out of memory");
    }
    atomic_init(&v->refs, 1);
    pthread_mutex_init(&v->lazy, NULL);
    vss_source_retain(vol);
    v->src = vol;
    v->has_vss = 1;
    v->hdr = *hdr;
    v->catalog = *cat;
    memset(cat, 0, sizeof *cat);
    rc = volume_use_catalog(v, err);
    if (rc) {
        vss_volume_close(v);
        return rc;
    }
    *out = v;
    return VSS_OK;
}

int vss_volume_attach_storage(vss_volume *v, vss_source *storage,
                              vss_error *err)
{
    uint8_t hdr[VSS_HEADER_SIZE];
    vss_volume_header sh;
    vss_catalog cat;
    int rc;

    if (!v || !storage)
        return vss_fail(err, VSS_EINVAL, "attach storage: no volume/source");
    if (!v->has_vss || !vss_volume_is_redirected(v))
        return vss_fail(err, VSS_EINVAL,
                        "attach storage: the volume keeps its own storage");
    if (v->storage_ready)
        return VSS_OK;
    rc = vss_read_exact(storage, hdr, sizeof hdr, VSS_HEADER_OFFSET,
                        "storage volume header", err);
    if (rc)
        return rc == VSS_EIO ? vss_fail(err, VSS_ENOTFOUND,
                                        "%s: too small for a storage volume",
                                        vss_source_name(storage))
                             : rc;
    rc = vss_volume_header_decode(hdr, sizeof hdr, &sh, err);
    if (rc)
        return rc == VSS_ENOTFOUND
                   ? vss_fail(err, VSS_ENOTFOUND, "%s: no VSS header",
                              vss_source_name(storage))
                   : rc;
    if (memcmp(sh.volume_guid, v->hdr.storage_guid, 16) != 0)
        return vss_fail(err, VSS_ENOTFOUND,
                        "%s: its VSS volume GUID is not the storage GUID",
                        vss_source_name(storage));
    if (sh.catalog_offset == 0)
        return vss_fail(err, VSS_ECORRUPT,
                        "%s: storage volume header at offset %u has no "
                        "catalog",
                        vss_source_name(storage), VSS_HEADER_OFFSET);
    rc = vss_catalog_read(storage, sh.catalog_offset, &cat, err);
    if (rc)
        return rc;
    vss_source_retain(storage);
    v->storage = storage;
    rc = load_stores(v, &cat, err);
    vss_catalog_free(&cat);
    if (rc) {
        vss_source_release(v->storage);
        v->storage = NULL;
    }
    return rc;
}

void vss_volume_retain(vss_volume *v)
{
    atomic_fetch_add(&v->refs, 1);
}

void vss_volume_close(vss_volume *v)
{
    size_t i;
    if (!v || atomic_fetch_sub(&v->refs, 1) != 1)
        return;
    for (i = 0; i < v->nstores; i++)
        store_free(&v->stores[i]);
    free(v->stores);
    free(v->diff_area);
    free(v->reused);
    vss_newer_index_free(atomic_load(&v->newer));
    pthread_mutex_destroy(&v->lazy);
    vss_catalog_free(&v->catalog);
    vss_source_release(v->storage);
    vss_source_release(v->src);
    free(v);
}

int vss_volume_has_vss(const vss_volume *v)
{
    return v && v->has_vss;
}

int vss_volume_is_redirected(const vss_volume *v)
{
    return v && v->has_vss &&
           memcmp(v->hdr.volume_guid, v->hdr.storage_guid, 16) != 0;
}

int vss_volume_storage_ready(const vss_volume *v)
{
    return v && (v->storage_ready || v->nstores == 0);
}

void vss_volume_guid(const vss_volume *v, uint8_t guid[16])
{
    memcpy(guid, v->hdr.volume_guid, 16);
}

void vss_volume_storage_guid(const vss_volume *v, uint8_t guid[16])
{
    memcpy(guid, v->hdr.storage_guid, 16);
}

uint32_t vss_volume_header_version(const vss_volume *v)
{
    return v->hdr.version;
}

uint64_t vss_volume_max_diff_area(const vss_volume *v)
{
    return v->hdr.max_diff_area;
}

vss_source *vss_volume_storage_source(const vss_volume *v)
{
    return v ? v->storage : NULL;
}

int vss_volume_snapshot_count(const vss_volume *v)
{
    return v ? (int)v->nstores : 0;
}

int vss_volume_snapshot_info(const vss_volume *v, int index,
                             vss_snapshot_info *info, vss_error *err)
{
    const vss_store *st;
    if (!v || !info)
        return vss_fail(err, VSS_EINVAL, "snapshot info: no volume");
    if (index < 1 || (size_t)index > v->nstores)
        return vss_fail(err, VSS_ENOTFOUND,
                        "snapshot %d: the volume has %zu snapshots", index,
                        v->nstores);
    st = &v->stores[index - 1];
    /* Another thread may be opening a snapshot of this volume, which loads
     * block lists and bitmaps (reads_ready, listed, not_in_use) or retires
     * a corrupt store (loaded, load_rc): read the store under the lock
     * those loads take. The lock is not part of the volume's value. */
    pthread_mutex_lock((pthread_mutex_t *)&v->lazy);
    memset(info, 0, sizeof *info);
    info->index = index;
    info->stack_position = st->cat.stack_position;
    memcpy(info->store_guid, st->cat.store_guid, 16);
    info->creation_time = st->cat.creation_time;
    info->volume_size = st->cat.volume_size;
    info->catalog_flags = st->cat.flags;
    info->storage_ready = st->loaded;
    info->store_error = st->load_rc;
    memcpy(info->store_error_message, st->load_error,
           sizeof info->store_error_message);
    if (st->loaded) {
        memcpy(info->shadow_copy_id, st->info.shadow_copy_id, 16);
        memcpy(info->shadow_copy_set_id, st->info.shadow_copy_set_id, 16);
        info->snapshot_context = st->info.snapshot_context;
        info->provider_flags = st->info.provider_flags;
        info->attribute_flags = st->info.attribute_flags;
        memcpy(info->originating_machine, st->info.originating_machine,
               sizeof info->originating_machine);
        memcpy(info->service_machine, st->info.service_machine,
               sizeof info->service_machine);
        info->store_header_offset = st->loc.store_header_offset;
        info->block_list_offset = st->loc.block_list_offset;
        info->block_range_offset = st->loc.block_range_offset;
        info->bitmap_offset = st->loc.bitmap_offset;
        info->previous_bitmap_offset = st->loc.previous_bitmap_offset;
        info->store_file_reference = st->loc.file_reference;
        info->store_size = st->store_size;
        /* Block lists and bitmaps are only read once a snapshot needing
         * them is opened (or vss_volume_load_stores). */
        info->changed_blocks = st->reads_ready ? st->listed : UINT64_MAX;
        info->not_in_use_blocks = st->reads_ready ? st->not_in_use
                                                  : UINT64_MAX;
    }
    pthread_mutex_unlock((pthread_mutex_t *)&v->lazy);
    return VSS_OK;
}

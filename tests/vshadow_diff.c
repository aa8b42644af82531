/*
 * vshadow_diff — differential test of libvss against libvshadow (Debian's
 * libvshadow-dev), an independent reader of the same format.
 *
 *   vshadow_diff IMAGE OFFSET [--full]
 *
 * For every store libvshadow can read on the volume at OFFSET, compares
 * 16 KiB blocks read through both libraries: every block holding store
 * data, the blocks around every provenance change, the first 1024 blocks,
 * and every 61st block (all blocks with --full). A block that differs is
 * "explained" when libvss's provenance map says it is zero or stale (the
 * documented semantic differences: libvshadow ignores catalog flag 0x400
 * and zero-fills not-in-use blocks only in the newest store); any other
 * difference fails the test. Blocks of the shadow copy files (reason
 * diff-area) are counted apart: libvss reads them through in every
 * snapshot but the newest, as libvshadow does, so there a difference is
 * never explained. Without catalog flag 0x400 libvshadow and Windows part
 * only on not-in-use blocks of the newest store: in every older snapshot
 * of such a volume any difference fails.
 * Also holds vss_snapshot_map's quiet-block shortcut to the map planned
 * block by block as reads do (vss_snapshot_map_planned): the same runs for
 * the whole snapshot (volumes up to 8 GiB) and for every compared block.
 * Prints a summary line per store; exit 0 when nothing is unexplained.
 */
#include <libbfio.h>
#include <libvshadow.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vss.h"
#include "vss/vss_int.h"

#define BS VSS_BLOCK_SIZE
/* Beside the class bits (1 << vss_class): a run with reason diff-area. */
#define SHADOW_FILE 0x80u

typedef struct block_class {
    uint8_t *cls;      /* per block: bit (1 << class) for each class seen */
    uint64_t nblocks;
} block_class;

static int note_run(const vss_run *r, void *user)
{
    block_class *bc = user;
    uint64_t b = r->offset / BS, e = (r->offset + r->length + BS - 1) / BS;
    for (; b < e && b < bc->nblocks; b++)
        bc->cls[b] |= (uint8_t)((1u << r->cls) |
                                (r->reason == VSS_REASON_DIFF_AREA ? SHADOW_FILE
                                                                   : 0));
    return 0;
}

typedef struct run_list {
    vss_run *v;
    size_t n, cap;
} run_list;

static int keep_run(const vss_run *r, void *user)
{
    run_list *l = user;
    if (l->n == l->cap) {
        size_t nc = l->cap ? 2 * l->cap : 256;
        vss_run *nv = realloc(l->v, nc * sizeof *nv);
        if (!nv)
            return -1;
        l->v = nv;
        l->cap = nc;
    }
    l->v[l->n++] = *r;
    return 0;
}

/* Do vss_snapshot_map and vss_snapshot_map_planned give the same runs? */
static int maps_agree(vss_snapshot *s, uint64_t off, uint64_t len)
{
    run_list a = {0}, b = {0};
    size_t i;
    int same = vss_snapshot_map(s, off, len, keep_run, &a, NULL) == 0 &&
               vss_snapshot_map_planned(s, off, len, keep_run, &b, NULL) == 0 &&
               a.n == b.n;
    for (i = 0; same && i < a.n; i++)
        same = a.v[i].offset == b.v[i].offset &&
               a.v[i].length == b.v[i].length && a.v[i].cls == b.v[i].cls &&
               a.v[i].reason == b.v[i].reason &&
               a.v[i].store_index == b.v[i].store_index &&
               a.v[i].source_offset == b.v[i].source_offset;
    free(a.v);
    free(b.v);
    return same;
}

int main(int argc, char **argv)
{
    libbfio_handle_t *fio = NULL;
    libvshadow_volume_t *lv = NULL;
    libvshadow_error_t *lerr = NULL;
    vss_source *img = NULL, *volsrc = NULL;
    vss_volume *vol = NULL;
    vss_error e = {0};
    uint64_t offset;
    int full = argc > 3 && strcmp(argv[3], "--full") == 0;
    int nstores = 0, i, failed = 0;
    uint8_t *a = malloc(BS), *b = malloc(BS);

    if (argc < 3) {
        fprintf(stderr, "usage: vshadow_diff IMAGE OFFSET [--full]\n");
        return 2;
    }
    offset = strtoull(argv[2], NULL, 0);
    if (vss_source_open_file(argv[1], &img, &e) ||
        vss_source_open_range(img, offset, vss_source_size(img) - offset,
                              &volsrc, &e) ||
        vss_volume_open(volsrc, &vol, &e)) {
        fprintf(stderr, "libvss: %s\n", e.message);
        return 1;
    }
    if (libbfio_file_range_initialize(&fio, (libbfio_error_t **)&lerr) != 1 ||
        libbfio_file_range_set_name(fio, argv[1], strlen(argv[1]),
                                    (libbfio_error_t **)&lerr) != 1 ||
        libbfio_file_range_set(fio, (off64_t)offset, 0,
                               (libbfio_error_t **)&lerr) != 1 ||
        libvshadow_volume_initialize(&lv, &lerr) != 1 ||
        libvshadow_volume_open_file_io_handle(lv, fio, LIBVSHADOW_OPEN_READ,
                                              &lerr) != 1 ||
        libvshadow_volume_get_number_of_stores(lv, &nstores, &lerr) != 1) {
        printf("SKIP: libvshadow cannot open %s at %llu\n", argv[1],
               (unsigned long long)offset);
        return 0;
    }
    for (i = 0; i < nstores; i++) {
        libvshadow_store_t *ls = NULL;
        uint8_t id[16];
        vss_snapshot *s = NULL;
        block_class bc = {0};
        uint64_t size, blk, compared = 0, same = 0, explained = 0, bad = 0;
        uint64_t map_bad = 0, shadow_same = 0, shadow_differ = 0;
        int read_through, must_equal;
        int k, index = 0;

        if (libvshadow_volume_get_store(lv, i, &ls, &lerr) != 1 ||
            libvshadow_store_get_identifier(ls, id, 16, &lerr) != 1) {
            printf("store %d: libvshadow cannot read it\n", i + 1);
            failed = 1;
            continue;
        }
        for (k = 1; k <= vss_volume_snapshot_count(vol); k++) {
            vss_snapshot_info si;
            if (vss_volume_snapshot_info(vol, k, &si, NULL) == 0 &&
                memcmp(si.store_guid, id, 16) == 0)
                index = k;
        }
        if (!index || vss_snapshot_open(vol, index, VSS_FILL_WINDOWS, &s, &e)) {
            printf("store %d: libvss has no such snapshot (%s)\n", i + 1,
                   e.message);
            failed = 1;
            libvshadow_store_free(&ls, NULL);
            continue;
        }
        /* The store's block count (vssinfo --stats) against libvshadow's
         * number of blocks: both count the descriptors of the block list. */
        {
            vss_snapshot_info si;
            int lnb = -1;
            if (libvshadow_store_get_number_of_blocks(ls, &lnb, &lerr) != 1)
                lnb = -1;
            vss_volume_snapshot_info(vol, index, &si, NULL);
            printf("snapshot %d: changed blocks: libvss %llu, libvshadow %d%s\n",
                   index, (unsigned long long)si.changed_blocks, lnb,
                   si.changed_blocks == (uint64_t)lnb ? "" : " DIFFER");
            if (si.changed_blocks != (uint64_t)lnb)
                failed = 1;
        }
        {
            vss_snapshot_info si;
            vss_volume_snapshot_info(vol, index, &si, NULL);
            read_through = index < vss_volume_snapshot_count(vol);
            must_equal = read_through &&
                         !(si.catalog_flags & VSS_CATALOG_FLAG_UNUSED_ZERO);
        }
        size = vss_snapshot_size(s);
        bc.nblocks = (size + BS - 1) / BS;
        bc.cls = calloc(bc.nblocks, 1);
        vss_snapshot_map(s, 0, size, note_run, &bc, &e);
        if (size <= (8ull << 30) && !maps_agree(s, 0, size)) {
            printf("snapshot %d: the map of the whole snapshot differs from "
                   "the block-by-block plan\n", index);
            failed = 1;
        }
        for (blk = 0; blk < bc.nblocks; blk++) {
            uint64_t off = blk * BS;
            size_t n = size - off < BS ? (size_t)(size - off) : BS;
            int pick = full || blk < 1024 || blk % 61 == 0 ||
                       (bc.cls[blk] & (1u << VSS_CLASS_STORE)) ||
                       (blk && bc.cls[blk] != bc.cls[blk - 1]) ||
                       (blk + 1 < bc.nblocks && bc.cls[blk] != bc.cls[blk + 1]);
            ssize_t got;
            if (!pick)
                continue;
            compared++;
            if (!maps_agree(s, off, n) && ++map_bad <= 10)
                printf("snapshot %d block %llu: its map differs from the "
                       "block-by-block plan\n", index,
                       (unsigned long long)blk);
            if (vss_snapshot_read_at(s, a, n, off, &e) != (int64_t)n) {
                printf("store %d block %llu: libvss read failed: %s\n", index,
                       (unsigned long long)blk, e.message);
                bad++;
                continue;
            }
            got = libvshadow_store_read_buffer_at_offset(ls, b, n, (off64_t)off,
                                                         &lerr);
            if (got != (ssize_t)n) {
                /* libvshadow fails some reads (e.g. past its own notion of
                 * the volume size); that is not a libvss difference. */
                if (lerr)
                    libvshadow_error_free(&lerr);
                explained++;
                continue;
            }
            int differ = memcmp(a, b, n) != 0;
            if (bc.cls[blk] & SHADOW_FILE) {
                if (differ)
                    shadow_differ++;
                else
                    shadow_same++;
            }
            if (!differ) {
                same++;
            } else if (((bc.cls[blk] & SHADOW_FILE) && read_through) ||
                       must_equal) {
                bad++;
                if (bad <= 10)
                    printf("snapshot %d block %llu (offset %llu): differs "
                           "where libvshadow reads as Windows does (%s)\n",
                           index, (unsigned long long)blk,
                           (unsigned long long)off,
                           bc.cls[blk] & SHADOW_FILE
                               ? "the shadow copy files, read through"
                               : "an older snapshot without flag 0x400");
            } else if (!(bc.cls[blk] & ((1u << VSS_CLASS_STORE) |
                                        (1u << VSS_CLASS_LIVE)))) {
                explained++;
            } else {
                bad++;
                if (bad <= 10)
                    printf("store %d block %llu (offset %llu): differs, "
                           "libvss class mask 0x%x\n",
                           index, (unsigned long long)blk,
                           (unsigned long long)off, bc.cls[blk]);
            }
        }
        printf("snapshot %d: %llu blocks compared, %llu identical, %llu "
               "differ as documented (zero/stale), %llu unexplained\n",
               index, (unsigned long long)compared, (unsigned long long)same,
               (unsigned long long)explained, (unsigned long long)bad);
        printf("snapshot %d: shadow copy files (%s): %llu blocks compared, "
               "%llu identical, %llu differ\n", index,
               index < vss_volume_snapshot_count(vol) ? "read through"
                                                      : "zeros",
               (unsigned long long)(shadow_same + shadow_differ),
               (unsigned long long)shadow_same,
               (unsigned long long)shadow_differ);
        if (map_bad)
            printf("snapshot %d: %llu blocks map differently from their "
                   "plan\n", index, (unsigned long long)map_bad);
        if (bad || map_bad)
            failed = 1;
        free(bc.cls);
        vss_snapshot_close(s);
        libvshadow_store_free(&ls, NULL);
    }
    libvshadow_volume_close(lv, NULL);
    libvshadow_volume_free(&lv, NULL);
    libbfio_handle_free(&fio, NULL);
    vss_volume_close(vol);
    vss_source_release(volsrc);
    vss_source_release(img);
    free(a);
    free(b);
    return failed;
}

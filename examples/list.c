/*
 * list.c — the volumes of a disk image and the shadow copies of each, like
 * a minimal vshadowinfo:
 *
 *     ./list disk.img
 *
 * prints one line per volume and, under it, one line per snapshot:
 *
 *     volume 2 offset 2148532224 size 3218079744 vss yes snapshots 2 (storage on another volume)
 *       snapshot 1 store 9b2ae2cc-8461-11eb-90f8-080027768df7 created 2021-03-13T22:13:17.3043090Z size 3218079744
 *
 * The API in four steps: open the image (any container: raw, E01, qcow2,
 * VHD(X), split raw), find its volumes in the partition table, open the VSS
 * metadata of each volume, and ask each for its snapshots. Listing reads
 * only the catalog, which lies on the volume itself, so it works even when
 * the snapshots' data (the "diff area") is on another volume.
 *
 * Build: cc list.c $(pkg-config --cflags --libs libvss) -o list
 */
#include <inttypes.h>
#include <stdio.h>
#include <vss.h>

/* Every fallible libvss call fills a vss_error whose message names what
 * failed and where (the structure and the byte offset). */
static int fail(const char *what, const vss_error *err)
{
    fprintf(stderr, "list: %s: %s\n", what, err->message);
    return 1;
}

/* One volume: its VSS header, then each snapshot its catalog lists. */
static int list_volume(vss_source *image, const vss_partition *p, int n)
{
    vss_source *bytes;
    vss_volume *vol;
    vss_error err;
    int i, count;

    /* A volume is a byte range of the image, opened as a source of its
     * own. vss_volume_open keeps what it needs (sources are reference
     * counted), so our reference can go at once. */
    if (vss_source_open_range(image, p->offset, p->size, &bytes, &err))
        return fail("volume", &err);
    int rc = vss_volume_open(bytes, &vol, &err);
    vss_source_release(bytes);
    if (rc)
        return fail("VSS metadata", &err);

    /* A volume without VSS opens fine and has 0 snapshots. */
    count = vss_volume_snapshot_count(vol);
    printf("volume %d offset %" PRIu64 " size %" PRIu64
           " vss %s snapshots %d%s\n",
           n, p->offset, p->size, vss_volume_has_vss(vol) ? "yes" : "no",
           count,
           vss_volume_is_redirected(vol) ? " (storage on another volume)"
                                         : "");

    /* Snapshots are numbered from 1, the oldest. */
    for (i = 1; i <= count; i++) {
        vss_snapshot_info info;
        char guid[37], created[32];
        if (vss_volume_snapshot_info(vol, i, &info, &err)) {
            vss_volume_close(vol);
            return fail("snapshot", &err);
        }
        vss_guid_format(info.store_guid, guid);
        vss_filetime_format(info.creation_time, created); /* UTC */
        printf("  snapshot %d store %s created %s size %" PRIu64 "\n",
               info.index, guid, created, info.volume_size);
    }
    vss_volume_close(vol);
    return 0;
}

int main(int argc, char **argv)
{
    vss_source *image;
    vss_partition *parts;
    size_t nparts, i;
    vss_error err;
    int rc = 0;

    if (argc != 2) {
        fprintf(stderr, "usage: %s IMAGE\n", argv[0]);
        return 2;
    }
    /* Read-only, whatever the container; NULL: no qcow2 backing file. */
    if (vss_source_open_image(argv[1], NULL, &image, &err))
        return fail(argv[1], &err);
    /* MBR, GPT, or a bare volume (then one entry covering the image). */
    if (vss_disk_scan(image, &parts, &nparts, &err)) {
        vss_source_release(image);
        return fail("partition table", &err);
    }
    for (i = 0; i < nparts; i++)
        rc |= list_volume(image, &parts[i], (int)i + 1);
    vss_partitions_free(parts);
    vss_source_release(image);
    return rc;
}

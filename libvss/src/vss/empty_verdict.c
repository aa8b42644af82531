/*
 * empty_verdict.c — why a volume of a volume set lists no snapshot, for
 * the front ends' hint when nothing with shadow copies was found (vss.h
 * "why a volume lists no snapshot"): deleting snapshots clears the
 * catalog, not the stores, so the carver (vss_carve_scan) may find them.
 * Built on the volume set's public entries only.
 */
#include <stdio.h>

#include "vss.h"

vss_empty_verdict vss_volume_set_empty_verdict(const vss_volume_set *set,
                                               size_t i)
{
    const vss_volume_set_entry *e = vss_volume_set_get(set, i);
    /* the carver reads NTFS free space: nothing to say for other
     * volumes, for one past the image's end, or one that lists snapshots;
     * and nothing known for one whose VSS metadata did not open */
    if (!e || !e->source || !e->part.is_ntfs || e->error.code ||
        !e->volume || vss_volume_snapshot_count(e->volume) > 0)
        return VSS_EMPTY_NOT;
    return vss_volume_has_vss(e->volume) ? VSS_EMPTY_CATALOG
                                         : VSS_EMPTY_NO_HEADER;
}

size_t vss_volume_set_empty_describe(const vss_volume_set *set, size_t i,
                                     char *out, size_t outsz)
{
    const vss_volume_set_entry *e = vss_volume_set_get(set, i);
    unsigned long long off = e ? (unsigned long long)e->part.offset : 0;
    int n;
    switch (vss_volume_set_empty_verdict(set, i)) {
    case VSS_EMPTY_CATALOG:
        n = snprintf(out, outsz,
                     "the volume at offset %llu has a VSS header but no "
                     "snapshot in its catalog: the stores of deleted "
                     "snapshots may remain",
                     off);
        break;
    case VSS_EMPTY_NO_HEADER:
        n = snprintf(out, outsz,
                     "the NTFS volume at offset %llu has no VSS header; its "
                     "free space may still hold the stores of deleted "
                     "snapshots",
                     off);
        break;
    default:
        n = snprintf(out, outsz, "%s", "");
        break;
    }
    return n < 0 ? 0 : (size_t)n;
}

size_t vss_volume_set_empty_hints(const vss_volume_set *set,
                                  vss_empty_hint_cb hint, void *user)
{
    /* the sentence of vss_volume_set_empty_describe: a volume offset of
     * at most 20 digits in about 130 characters */
    char why[256];
    size_t i, n = 0;
    if (!set || vss_volume_set_any_snapshots(set))
        return 0;
    for (i = 0; i < vss_volume_set_count(set); i++)
        if (vss_volume_set_get(set, i)->image_index == 0 &&
            vss_volume_set_empty_describe(set, i, why, sizeof why)) {
            if (hint)
                hint(why, user);
            n++;
        }
    return n;
}

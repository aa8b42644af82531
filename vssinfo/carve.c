/*
 * carve.c — vssinfo --carve and --carved (docs/vssinfo.1): the stores of
 * deleted snapshots, carved by the library (vss_carve_scan), listed with
 * the evidence for each, or opened as the stack every snapshot operation
 * reads. Snapshot numbers count carved stores, 1 = oldest.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carve.h"
#include "cli.h"
#include "json.h"
#include "progress.h"

static vss_volume *carved_vol;   /* --carved: the stack fv->vol now is */

static int scan_progress(uint64_t done, uint64_t total, void *user)
{
    progress_update(user, done, done == total);
    return 0;
}

static int scan_all;

void carve_scan_all(int on) { scan_all = on; }

static int carve_volume(const found_volume *fv, int show_progress,
                        vss_carve **out, vss_error *e)
{
    progress bar;
    vss_carve_options opts = {scan_progress, &bar, 0, scan_all};
    int rc;
    progress_start(&bar, show_progress, "carve", vss_source_size(fv->src));
    rc = vss_carve_scan(fv->src, &opts, out, e);
    if (rc)
        progress_end(&bar);
    else
        progress_done(&bar, vss_source_size(fv->src));
    return rc;
}

static const char *confidence_name(vss_carve_confidence c)
{
    return c == VSS_CARVE_HIGH ? "high" : c == VSS_CARVE_MEDIUM ? "medium"
                                                                : "low";
}

static void time_text(uint64_t ft, char out[32])
{
    if (ft)
        vss_filetime_format(ft, out);
    else
        snprintf(out, 32, "unknown");
}

static void print_text(FILE *f, const found_volume *fv, const vss_carve *c)
{
    vss_carve_summary s;
    size_t i, n = vss_carve_store_count(c);
    vss_carve_get_summary(c, &s);
    fprintf(f, "Carved volume at offset %llu of %s (%llu bytes)\n",
            (unsigned long long)fv->part.offset, fv->image,
            (unsigned long long)s.volume_size);
    fprintf(f, "  Scanned             : %llu bytes read (%llu in sparse holes "
               "and %llu held by live files skipped), %llu VSS metadata blocks "
               "at their own offsets, %llu elsewhere (copies: not used), "
               "%llu NTFS records of store files\n",
            (unsigned long long)s.bytes_read,
            (unsigned long long)s.bytes_skipped,
            (unsigned long long)s.bytes_skipped_live,
            (unsigned long long)s.blocks,
            (unsigned long long)s.misplaced_blocks,
            (unsigned long long)s.store_records);
    if (s.header_version)
        fprintf(f, "  VSS header          : version %u; catalog %s\n",
                s.header_version,
                s.catalog_live ? "present (stores it lists are marked)"
                               : "gone (no catalog chain from the header)");
    else
        fprintf(f, "  VSS header          : none\n");
    fprintf(f, "  Live NTFS $Bitmap   : %s\n",
            s.allocation_checked
                ? "read: clusters of deleted store files that live files "
                  "now hold are marked overwritten"
                : "not read (no NTFS): overwritten store data cannot be "
                  "marked");
    fprintf(f, "  Order               : %s\n", s.order_evidence);
    if (s.other_volume_stores)
        fprintf(f, "  Other volumes' stores: %llu (the catalog gives them to "
                   "another volume whose diff area is here; not listed)\n",
                (unsigned long long)s.other_volume_stores);
    if (s.missing[0])
        fprintf(f, "  Missing stores      : %s (older snapshots may read "
                   "wrongly)\n", s.missing);
    fprintf(f, "  Carved stores       : %zu\n", n);
    for (i = 1; i <= n; i++) {
        const vss_carved_store *st = vss_carve_store(c, (int)i);
        char g[37], t[32], a[256];
        fprintf(f, "\n  Carved snapshot %zu (%s)\n", i,
                st->in_catalog ? "in the catalog" : "deleted");
        vss_guid_format(st->store_guid, g);
        fprintf(f, "    Store GUID           : %s (%s)\n",
                st->guid_known ? g : "unknown", st->guid_evidence);
        time_text(st->creation_time, t);
        fprintf(f, "    Creation time        : %s (%s)\n", t,
                st->time_evidence);
        if (st->guid_time) {
            time_text(st->guid_time, t);
            fprintf(f, "    GUID timestamp       : %s\n", t);
        }
        if (st->file_record_offset) {
            time_text(st->file_created, t);
            fprintf(f, "    Store file record    : offset %llu, %s, "
                       "created %s\n",
                    (unsigned long long)st->file_record_offset,
                    st->file_deleted ? "deleted" : "in use", t);
        }
        fprintf(f, "    Volume size          : %llu bytes\n",
                (unsigned long long)st->volume_size);
        fprintf(f, "    Catalog flags        : 0x%llx (%s)\n",
                (unsigned long long)st->catalog_flags, st->flags_evidence);
        vss_guid_format(st->shadow_copy_id, g);
        fprintf(f, "    Shadow copy ID       : %s\n", g);
        vss_guid_format(st->shadow_copy_set_id, g);
        fprintf(f, "    Shadow copy set ID   : %s\n", g);
        vss_attribute_flags_describe(st->attribute_flags, a, sizeof a);
        fprintf(f, "    Attribute flags      : 0x%08x (%s)\n",
                st->attribute_flags, a);
        fprintf(f, "    Snapshot context     : 0x%08x (%s)\n",
                st->snapshot_context,
                vss_snapshot_context_name(st->snapshot_context));
        fprintf(f, "    Originating machine  : %s\n",
                st->originating_machine);
        fprintf(f, "    Service machine      : %s\n", st->service_machine);
        fprintf(f, "    Store header         : offset %llu\n",
                (unsigned long long)st->store_header_offset);
        fprintf(f, "    Block list           : offset %llu\n",
                (unsigned long long)st->block_list_offset);
        fprintf(f, "    Block-range list     : offset %llu\n",
                (unsigned long long)st->block_range_offset);
        fprintf(f, "    Bitmap               : offset %llu\n",
                (unsigned long long)st->bitmap_offset);
        fprintf(f, "    Previous bitmap      : offset %llu\n",
                (unsigned long long)st->previous_bitmap_offset);
        fprintf(f, "    Store size           : %llu bytes, %llu metadata "
                   "blocks\n",
                (unsigned long long)st->store_size,
                (unsigned long long)st->metadata_blocks);
        fprintf(f, "    Problems             : %s\n",
                st->problems[0] ? st->problems : "none");
        fprintf(f, "    Confidence           : %s\n",
                confidence_name(st->confidence));
    }
}

static void json_guid(json *j, const char *k, const uint8_t g[16])
{
    char t[37];
    vss_guid_format(g, t);
    json_key_string(j, k, t);
}

static void json_time(json *j, const char *k, uint64_t ft)
{
    char t[32];
    json_key(j, k);
    if (!ft) {
        json_null(j);
        return;
    }
    vss_filetime_format(ft, t);
    json_string(j, t);
}

static void print_json(json *j, const found_volume *fv, const vss_carve *c)
{
    vss_carve_summary s;
    size_t i, n = vss_carve_store_count(c);
    vss_carve_get_summary(c, &s);
    json_object(j);
    json_key_string(j, "image", fv->image);
    json_key_u64(j, "offset", fv->part.offset);
    json_key_u64(j, "volume_size", s.volume_size);
    json_key_u64(j, "bytes_read", s.bytes_read);
    json_key_u64(j, "bytes_skipped_sparse", s.bytes_skipped);
    json_key_u64(j, "bytes_skipped_live", s.bytes_skipped_live);
    json_key_u64(j, "metadata_blocks", s.blocks);
    json_key_u64(j, "misplaced_blocks", s.misplaced_blocks);
    json_key_u64(j, "store_file_records", s.store_records);
    json_key_u64(j, "header_version", s.header_version);
    json_key_u64(j, "other_volume_stores", s.other_volume_stores);
    json_key_bool(j, "catalog_live", s.catalog_live);
    json_key_bool(j, "allocation_checked", s.allocation_checked);
    json_key_string(j, "order_evidence", s.order_evidence);
    json_key_string(j, "missing", s.missing);
    json_key(j, "stores");
    json_array(j);
    for (i = 1; i <= n; i++) {
        const vss_carved_store *st = vss_carve_store(c, (int)i);
        json_object(j);
        json_key_u64(j, "index", (uint64_t)st->index);
        json_key_bool(j, "in_catalog", st->in_catalog);
        json_key_bool(j, "guid_known", st->guid_known);
        json_guid(j, "store_guid", st->store_guid);
        json_key_string(j, "guid_evidence", st->guid_evidence);
        json_time(j, "creation_time", st->creation_time);
        json_key_string(j, "time_evidence", st->time_evidence);
        json_time(j, "guid_time", st->guid_time);
        json_time(j, "file_created", st->file_created);
        json_key_u64(j, "file_record_offset", st->file_record_offset);
        json_key_bool(j, "file_deleted", st->file_deleted);
        json_guid(j, "shadow_copy_id", st->shadow_copy_id);
        json_guid(j, "shadow_copy_set_id", st->shadow_copy_set_id);
        json_key_u64(j, "snapshot_context", st->snapshot_context);
        json_key_u64(j, "attribute_flags", st->attribute_flags);
        json_key_string(j, "originating_machine", st->originating_machine);
        json_key_string(j, "service_machine", st->service_machine);
        json_key_u64(j, "volume_size", st->volume_size);
        json_key_u64(j, "catalog_flags", st->catalog_flags);
        json_key_string(j, "flags_evidence", st->flags_evidence);
        json_key_u64(j, "store_header_offset", st->store_header_offset);
        json_key_u64(j, "block_list_offset", st->block_list_offset);
        json_key_u64(j, "block_range_offset", st->block_range_offset);
        json_key_u64(j, "bitmap_offset", st->bitmap_offset);
        json_key_u64(j, "previous_bitmap_offset",
                     st->previous_bitmap_offset);
        json_key_u64(j, "store_file_reference", st->store_file_reference);
        json_key_u64(j, "store_size", st->store_size);
        json_key_u64(j, "metadata_blocks", st->metadata_blocks);
        json_key_u64(j, "overwritten_bytes", st->overwritten_bytes);
        json_key_string(j, "problems", st->problems);
        json_key_string(j, "confidence", confidence_name(st->confidence));
        json_end_object(j);
    }
    json_end_array(j);
    json_end_object(j);
}

int carve_list(volume_set *set, int64_t offset, int as_json, int show_progress)
{
    json j;
    size_t i;
    int rc = 0, any = 0;
    size_t carved = 0;
    if (as_json) {
        json_begin(&j, stdout);
        json_object(&j);
        json_key(&j, "carved");
        json_array(&j);
    }
    for (i = 0; i < set->n; i++) {
        found_volume *fv = &set->v[i];
        vss_carve *c;
        vss_error e = {0, ""};
        if (fv->image_index != 0 || !fv->src ||
            (offset >= 0 ? fv->part.offset != (uint64_t)offset
                         : !fv->part.is_ntfs))
            continue;
        any = 1;
        if (carve_volume(fv, show_progress, &c, &e)) {
            fprintf(stderr, "vssinfo: carving the volume at offset %llu of "
                            "%s: %s\n",
                    (unsigned long long)fv->part.offset, fv->image,
                    e.message);
            rc = 1;
            continue;
        }
        if (as_json)
            print_json(&j, fv, c);
        else
            print_text(stdout, fv, c);
        carved += vss_carve_store_count(c);
        for (int k = 1; k <= (int)vss_carve_store_count(c); k++)
            if (vss_carve_store(c, k)->confidence == VSS_CARVE_LOW)
                rc = 1; /* a store that cannot be read is a failure */
        vss_carve_close(c);
    }
    if (as_json) {
        json_end_array(&j);
        json_end_object(&j);
        json_finish(&j);
    }
    if (!any) {
        fprintf(stderr, "vssinfo: no %s to carve in the first image\n",
                offset >= 0 ? "volume at that offset" : "NTFS volume");
        return CLI_EXIT_NO_SNAPSHOTS;
    }
    /* Read, but no store found: the status of "no shadow copies". */
    return rc ? rc : carved ? 0 : CLI_EXIT_NO_SNAPSHOTS;
}

found_volume *carve_pick(volume_set *set, int64_t offset, int show_progress,
                         vss_error *err)
{
    found_volume *pick = NULL;
    vss_carve *c;
    size_t i;
    for (i = 0; i < set->n; i++) {
        found_volume *fv = &set->v[i];
        if (fv->image_index != 0 || !fv->src)
            continue;
        if (offset >= 0 ? fv->part.offset != (uint64_t)offset
                        : !(fv->part.is_ntfs && fv->vol &&
                            vss_volume_has_vss(fv->vol)))
            continue;
        if (pick) {
            snprintf(err->message, sizeof err->message,
                     "several volumes with a VSS header in %s: choose one "
                     "with -o", fv->image);
            err->code = VSS_EINVAL;
            return NULL;
        }
        pick = fv;
    }
    if (!pick) {
        snprintf(err->message, sizeof err->message,
                 offset >= 0 ? "no volume at offset %lld of the first image"
                             : "no NTFS volume with a VSS header in the "
                               "first image%.0lld (give -o to carve another)",
                 (long long)offset);
        err->code = VSS_ENOTFOUND;
        return NULL;
    }
    if (carve_volume(pick, show_progress, &c, err))
        return NULL;
    if (vss_carve_open_volume(c, &carved_vol, err)) {
        vss_carve_close(c);
        return NULL;
    }
    vss_carve_close(c);
    /* The entry's own volume stays the set's (it closes it); the carved
     * stack is read in its place. */
    pick->vol = carved_vol;
    pick->open_rc = 0;
    pick->open_error[0] = 0;
    return pick;
}

void carve_release(void)
{
    vss_volume_close(carved_vol);
    carved_vol = NULL;
}

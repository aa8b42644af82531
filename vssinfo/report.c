/*
 * report.c — the listing of volumes and snapshots, as text for people and
 * as one JSON document for tools (docs/vssinfo.1, docs/json.md).
 */
#include <inttypes.h>
#include <string.h>

#include "json.h"
#include "vssinfo.h"

void hexstr(const uint8_t *p, size_t n, char *out)
{
    size_t i;
    for (i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", p[i]);
}

void describe_container(vss_source *img, char *out, size_t outsz)
{
    vss_container_info in;
    size_t o;
    out[0] = '\0';
    if (vss_source_container_info(img, &in, NULL) != VSS_OK ||
        in.type == VSS_CONTAINER_RAW)
        return;
    o = (size_t)snprintf(out, outsz, "%s", in.format);
#define ADD(...)                                                          \
    do {                                                                  \
        if (o < outsz)                                                    \
            o += (size_t)snprintf(out + o, outsz - o, __VA_ARGS__);       \
    } while (0)
    if (in.type == VSS_CONTAINER_EWF)
        ADD(", %u segment%s", in.segments, in.segments == 1 ? "" : "s");
    ADD(", %" PRIu64 " bytes stored", in.stored_size);
    if (in.compressed)
        ADD(", compressed");
    if (in.has_backing)
        ADD(", backing file \"%s\"", in.backing_name);
    if (in.case_number[0])
        ADD("; case %s", in.case_number);
    if (in.evidence_number[0])
        ADD("; evidence %s", in.evidence_number);
    if (in.examiner[0])
        ADD("; examiner %s", in.examiner);
    if (in.acquiry_date[0])
        ADD("; acquired %s", in.acquiry_date);
    if (in.has_md5) {
        char h[41];
        hexstr(in.md5, 16, h);
        ADD("; MD5 %s", h);
    }
    if (in.has_sha1) {
        char h[41];
        hexstr(in.sha1, 20, h);
        ADD("; SHA-1 %s", h);
    }
#undef ADD
}

void container_json(json *j, vss_source *img)
{
    vss_container_info in;
    char h[41];
    if (vss_source_container_info(img, &in, NULL) != VSS_OK)
        return;
    json_key(j, "container");
    json_object(j);
    json_key_string(j, "type", vss_container_type_name(in.type));
    json_key_string(j, "format", in.format);
    json_key_u64(j, "segments", in.segments);
    json_key_u64(j, "media_size", in.media_size);
    json_key_u64(j, "stored_size", in.stored_size);
    json_key_u64(j, "chunk_size", in.chunk_size);
    json_key_bool(j, "compressed", in.compressed);
    if (in.has_backing)
        json_key_string(j, "backing_name", in.backing_name);
    if (in.type == VSS_CONTAINER_EWF) {
        json_key_string(j, "case_number", in.case_number);
        json_key_string(j, "evidence_number", in.evidence_number);
        json_key_string(j, "description", in.description);
        json_key_string(j, "examiner", in.examiner);
        json_key_string(j, "notes", in.notes);
        json_key_string(j, "acquiry_date", in.acquiry_date);
        json_key_string(j, "system_date", in.system_date);
        json_key_string(j, "acquiry_os", in.acquiry_os);
        json_key_string(j, "acquiry_software", in.acquiry_software);
        json_key_string(j, "model", in.model);
        json_key_string(j, "serial_number", in.serial_number);
    }
    if (in.has_md5) {
        hexstr(in.md5, 16, h);
        json_key_string(j, "md5", h);
    }
    if (in.has_sha1) {
        hexstr(in.sha1, 20, h);
        json_key_string(j, "sha1", h);
    }
    json_end_object(j);
}

static void where_text(const found_volume *fv, char *out, size_t outsz)
{
    if (!fv->vol || !vss_volume_is_redirected(fv->vol))
        snprintf(out, outsz, "local (this volume)");
    else if (fv->storage)
        snprintf(out, outsz, "%s, volume at offset %llu (redirected)",
                 fv->storage->image,
                 (unsigned long long)fv->storage->part.offset);
    else
        snprintf(out, outsz, "NOT FOUND (redirected storage; give the image "
                             "that holds it)");
}

/* One snapshot of the listing (and of the reports' identities): store,
 * shadow copy and set IDs, creation time, flags in words, machines. */
void report_snapshot_text(FILE *f, const found_volume *fv, int k)
{
    vss_snapshot_info si;
    vss_error e = {0};
    char t[32], a[400], c[200], x[37];
    if (vss_volume_snapshot_info(fv->vol, k, &si, &e))
        return;
    vss_filetime_format(si.creation_time, t);
    fprintf(f, "\n  Snapshot %d\n", k);
    vss_guid_format(si.store_guid, x);
    fprintf(f, "    Store GUID           : %s\n", x);
    fprintf(f, "    Creation time        : %s\n", t);
    fprintf(f, "    Volume size          : %" PRIu64 " bytes\n",
            si.volume_size);
    vss_catalog_flags_describe(si.catalog_flags, c, sizeof c);
    fprintf(f, "    Catalog flags        : 0x%" PRIx64 " (%s)\n",
            si.catalog_flags, c);
    fprintf(f, "    Stack position       : %" PRIu64 "\n",
            si.stack_position);
    if (si.store_error) {
        fprintf(f, "    Store                : NOT READABLE: %s\n",
                si.store_error_message);
        return;
    }
    if (!si.storage_ready) {
        fprintf(f, "    Store                : not readable (storage "
                   "volume not found)\n");
        return;
    }
    vss_guid_format(si.shadow_copy_id, x);
    fprintf(f, "    Shadow copy ID       : %s\n", x);
    vss_guid_format(si.shadow_copy_set_id, x);
    fprintf(f, "    Shadow copy set ID   : %s\n", x);
    vss_attribute_flags_describe(si.attribute_flags, a, sizeof a);
    fprintf(f, "    Attribute flags      : 0x%08x (%s)\n",
            si.attribute_flags, a);
    fprintf(f, "    Snapshot context     : 0x%08x (%s)\n",
            si.snapshot_context, vss_snapshot_context_name(si.snapshot_context));
    fprintf(f, "    Originating machine  : %s\n",
            si.originating_machine);
    fprintf(f, "    Service machine      : %s\n", si.service_machine);
    fprintf(f, "    Store header         : offset %" PRIu64 " on %s\n",
            si.store_header_offset,
            fv->storage ? "the storage volume" : "this volume");
    fprintf(f, "    Store size           : %" PRIu64 " bytes\n",
            si.store_size);
    /* Known once the block list and bitmap were read (--stats). */
    if (si.changed_blocks != UINT64_MAX)
        fprintf(f, "    Changed blocks       : %" PRIu64 "\n",
                si.changed_blocks);
    if (si.not_in_use_blocks != UINT64_MAX)
        fprintf(f, "    Not-in-use blocks    : %" PRIu64 "\n",
                si.not_in_use_blocks);
    fprintf(f, "    Previous bitmap      : %s\n",
            si.previous_bitmap_offset ? "yes" : "no");
}

void report_list_text(FILE *f, const volume_set *set)
{
    size_t i;
    int last_image = -1;

    for (i = 0; i < set->n; i++) {
        const found_volume *fv = &set->v[i];
        char g[37], sg[37], where[600];
        int n, k;

        if (fv->image_index != last_image) {
            last_image = fv->image_index;
            char cont[1600];
            fprintf(f, "%sImage %s (%" PRIu64 " bytes)\n", i ? "\n" : "",
                    fv->image, vss_source_size(set->images[fv->image_index]));
            describe_container(set->images[fv->image_index], cont,
                               sizeof cont);
            if (cont[0])
                fprintf(f, "Container: %s\n", cont);
        }
        /* The start sector as mmls prints it, for -o Ns. */
        fprintf(f, "\nVolume at offset %" PRIu64, fv->part.offset);
        if (fv->part.offset % volumes_sector_size(set) == 0)
            fprintf(f, " = sector %" PRIu64,
                    fv->part.offset / volumes_sector_size(set));
        fprintf(f, " (%" PRIu64 " bytes): ", fv->part.size);
        if (fv->part.number)
            fprintf(f, "%s partition %d, type %s", fv->part.scheme,
                    fv->part.number, fv->part.type);
        else
            fprintf(f, "%s", strcmp(fv->part.scheme, "offset") == 0
                                 ? "given with -o"
                                 : "whole image");
        fprintf(f, "%s\n", fv->part.is_ntfs ? ", NTFS" : ", not NTFS");
        if (!fv->vol) {
            fprintf(f, "  error: %s\n", fv->open_error);
            continue;
        }
        if (!vss_volume_has_vss(fv->vol)) {
            fprintf(f, "  No volume shadow copies (no VSS header)\n");
            continue;
        }
        vss_volume_guid(fv->vol, (uint8_t *)g);
        {
            uint8_t vg[16], stg[16];
            vss_volume_guid(fv->vol, vg);
            vss_volume_storage_guid(fv->vol, stg);
            vss_guid_format(vg, g);
            vss_guid_format(stg, sg);
        }
        where_text(fv, where, sizeof where);
        n = vss_volume_snapshot_count(fv->vol);
        fprintf(f, "  VSS header version %u, volume GUID %s\n",
                vss_volume_header_version(fv->vol), g);
        fprintf(f, "  Storage GUID %s: %s\n", sg, where);
        fprintf(f, "  Maximum diff area size: %" PRIu64 " bytes%s\n",
                vss_volume_max_diff_area(fv->vol),
                vss_volume_max_diff_area(fv->vol) ? "" : " (unbounded)");
        if (fv->open_rc)
            fprintf(f, "  error: %s\n", fv->open_error);
        fprintf(f, "  Snapshots: %d\n", n);
        for (k = 1; k <= n; k++)
            report_snapshot_text(f, fv, k);
    }
}

static void guid_value(json *j, const char *key, const uint8_t g[16])
{
    char s[37];
    vss_guid_format(g, s);
    json_key_string(j, key, s);
}

/* One snapshot's object of the listing (and of the reports'
 * "report.snapshots", docs/json.md). */
void report_snapshot_json(json *j, const found_volume *fv, int k)
{
    vss_snapshot_info si;
    char t[32], a[400], c[200];
    if (vss_volume_snapshot_info(fv->vol, k, &si, NULL))
        return;
    json_object(j);
    json_key_i64(j, "index", k);
    guid_value(j, "store_guid", si.store_guid);
    if (si.storage_ready) {
        guid_value(j, "shadow_copy_id", si.shadow_copy_id);
        guid_value(j, "shadow_copy_set_id", si.shadow_copy_set_id);
    }
    vss_filetime_format(si.creation_time, t);
    json_key_string(j, "creation_time", t);
    json_key_u64(j, "creation_filetime", si.creation_time);
    json_key_u64(j, "volume_size", si.volume_size);
    json_key_u64(j, "stack_position", si.stack_position);
    json_key_u64(j, "catalog_flags", si.catalog_flags);
    vss_catalog_flags_describe(si.catalog_flags, c, sizeof c);
    json_key_string(j, "catalog_flags_text", c);
    if (si.store_error) {
        json_key_string(j, "store_error", si.store_error_message);
    }
    if (si.storage_ready) {
        json_key_u64(j, "attribute_flags", si.attribute_flags);
        vss_attribute_flags_describe(si.attribute_flags, a, sizeof a);
        json_key_string(j, "attribute_flags_text", a);
        json_key_u64(j, "snapshot_context", si.snapshot_context);
        json_key_string(j, "snapshot_context_text",
                        vss_snapshot_context_name(si.snapshot_context));
        json_key_string(j, "originating_machine",
                        si.originating_machine);
        json_key_string(j, "service_machine", si.service_machine);
        json_key_u64(j, "store_size", si.store_size);
        /* null until counted (--stats) */
        json_key(j, "changed_blocks");
        if (si.changed_blocks == UINT64_MAX)
            json_null(j);
        else
            json_u64(j, si.changed_blocks);
        json_key(j, "not_in_use_blocks");
        if (si.not_in_use_blocks == UINT64_MAX)
            json_null(j);
        else
            json_u64(j, si.not_in_use_blocks);
        json_key_bool(j, "previous_bitmap",
                      si.previous_bitmap_offset != 0);
        json_key_u64(j, "store_header_offset",
                     si.store_header_offset);
        json_key_u64(j, "store_file_mft_record",
                     si.store_file_reference & 0xFFFFFFFFFFFFull);
    }
    json_key(j, "storage");
    if (!si.storage_ready) {
        json_null(j);
    } else {
        const found_volume *sv = fv->storage ? fv->storage : fv;
        json_object(j);
        json_key_string(j, "image", sv->image);
        json_key_u64(j, "offset", sv->part.offset);
        json_key_bool(j, "redirected", fv->storage != NULL);
        json_end_object(j);
    }
    json_end_object(j);
}

void report_list_json(FILE *f, const volume_set *set)
{
    json j;
    size_t i;

    json_begin(&j, f);
    json_object(&j);
    json_key_string(&j, "vssinfo_version", VSS_VERSION_STRING);
    json_key(&j, "volumes");
    json_array(&j);
    for (i = 0; i < set->n; i++) {
        const found_volume *fv = &set->v[i];
        int k, n;
        json_object(&j);
        json_key_string(&j, "image", fv->image);
        container_json(&j, set->images[fv->image_index]);
        json_key_u64(&j, "offset", fv->part.offset);
        json_key(&j, "start_sector");
        if (fv->part.offset % volumes_sector_size(set) == 0)
            json_u64(&j, fv->part.offset / volumes_sector_size(set));
        else
            json_null(&j);
        json_key_u64(&j, "sector_size", volumes_sector_size(set));
        json_key_u64(&j, "size", fv->part.size);
        json_key_string(&j, "scheme", fv->part.scheme);
        json_key_i64(&j, "partition", fv->part.number);
        json_key_string(&j, "partition_type", fv->part.type);
        json_key_bool(&j, "ntfs", fv->part.is_ntfs);
        json_key_bool(&j, "vss", fv->vol && vss_volume_has_vss(fv->vol));
        if (fv->open_rc) {
            json_key_string(&j, "error", fv->open_error);
        }
        if (fv->vol && vss_volume_has_vss(fv->vol)) {
            uint8_t g[16];
            vss_volume_guid(fv->vol, g);
            guid_value(&j, "volume_guid", g);
            vss_volume_storage_guid(fv->vol, g);
            guid_value(&j, "storage_guid", g);
            json_key_u64(&j, "header_version",
                         vss_volume_header_version(fv->vol));
            json_key_u64(&j, "max_diff_area_size",
                         vss_volume_max_diff_area(fv->vol));
            json_key_bool(&j, "redirected", vss_volume_is_redirected(fv->vol));
        }
        json_key(&j, "snapshots");
        json_array(&j);
        n = fv->vol ? vss_volume_snapshot_count(fv->vol) : 0;
        for (k = 1; k <= n; k++)
            report_snapshot_json(&j, fv, k);
        json_end_array(&j);
        json_end_object(&j);
    }
    json_end_array(&j);
    json_end_object(&j);
    json_finish(&j);
}

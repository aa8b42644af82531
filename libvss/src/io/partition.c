/*
 * partition.c — where the volumes of a disk image are: MBR (primary,
 * extended and logical partitions), GPT, or a bare NTFS volume
 * (docs/format.md, "Finding volumes"). Every table entry is range-checked
 * and the chain of extended boot records is bounded and loop-checked.
 */
#include <stdio.h>
#include <stdlib.h>

#include "io/io.h"

#define MAX_PARTITIONS 1024u
#define MAX_EBR_CHAIN 256u
#define MAX_GPT_ENTRIES 16384u

int vss_is_ntfs_boot_sector(const uint8_t *p, size_t len)
{
    unsigned bps, spc;
    if (len < 512 || memcmp(p + 3, "NTFS    ", 8) != 0 || p[510] != 0x55 ||
        p[511] != 0xAA)
        return 0;
    bps = vss_le16(p + 11);
    spc = p[13];
    if (bps < 256 || bps > 4096 || (bps & (bps - 1)))
        return 0;
    /* 0xF4..0xFF encode 2^(256-n) sectors per cluster on large clusters. */
    if (spc == 0 || (spc <= 0x80 && (spc & (spc - 1))) ||
        (spc > 0x80 && spc < 0xF4))
        return 0;
    return 1;
}

typedef struct plist {
    vss_partition *v;
    size_t n;
} plist;

static int add_partition(vss_source *disk, plist *l, const char *scheme,
                         int number, uint64_t offset, uint64_t size,
                         const char *type, vss_error *err)
{
    uint8_t boot[512];
    vss_partition *p;

    if (l->n >= MAX_PARTITIONS)
        return vss_fail(err, VSS_ECORRUPT, "%s: more than %u partitions",
                        scheme, MAX_PARTITIONS);
    if (l->n % 16 == 0) {
        vss_partition *np = vss_realloc(l->v, (l->n + 16) * sizeof *np);
        if (!np)
            return vss_fail(err, VSS_ENOMEM, "partitions: out of memory");
        l->v = np;
    }
    p = &l->v[l->n++];
    memset(p, 0, sizeof *p);
    p->offset = offset;
    p->size = size;
    p->number = number;
    snprintf(p->scheme, sizeof p->scheme, "%s", scheme);
    snprintf(p->type, sizeof p->type, "%s", type);
    /* A partition whose start lies past the image end is still listed, so
     * the user sees it; it just cannot be NTFS. */
    if (vss_source_read_at(disk, boot, sizeof boot, offset) ==
        (int64_t)sizeof boot)
        p->is_ntfs = vss_is_ntfs_boot_sector(boot, sizeof boot);
    return VSS_OK;
}

static int is_extended(uint8_t type)
{
    return type == 0x05 || type == 0x0F || type == 0x85;
}

/* The logical partitions: a chain of extended boot records, each holding
 * one logical partition (relative to itself) and a link to the next
 * (relative to the start of the extended partition). */
static int scan_ebr_chain(vss_source *disk, uint64_t ext_base, plist *l,
                          int *number, vss_error *err)
{
    vss_chain chain = {NULL, 0, 0, MAX_EBR_CHAIN, "extended boot record"};
    uint64_t ebr = ext_base;
    uint8_t s[512];
    int rc = VSS_OK;

    for (;;) {
        const uint8_t *e0, *e1;
        if ((rc = vss_chain_visit(&chain, ebr, err)) ||
            (rc = vss_read_exact(disk, s, sizeof s, ebr,
                                 "extended boot record", err)))
            break;
        if (s[510] != 0x55 || s[511] != 0xAA) {
            rc = vss_fail(err, VSS_ECORRUPT,
                          "extended boot record at offset %llu: no 0x55AA "
                          "signature",
                          (unsigned long long)ebr);
            break;
        }
        e0 = s + 446;
        e1 = s + 462;
        if (e0[4] != 0 && vss_le32(e0 + 12) != 0) {
            char type[8];
            snprintf(type, sizeof type, "0x%02x", e0[4]);
            rc = add_partition(disk, l, "mbr", (*number)++,
                               ebr + (uint64_t)vss_le32(e0 + 8) * 512,
                               (uint64_t)vss_le32(e0 + 12) * 512, type, err);
            if (rc)
                break;
        }
        if (!is_extended(e1[4]) || vss_le32(e1 + 8) == 0)
            break;
        ebr = ext_base + (uint64_t)vss_le32(e1 + 8) * 512;
    }
    vss_chain_free(&chain);
    return rc;
}

static int scan_gpt(vss_source *disk, uint64_t sector, plist *l,
                    vss_error *err)
{
    uint8_t hdr[512], *entries = NULL;
    uint64_t lba, disk_sectors = vss_source_size(disk) / sector;
    uint32_t count, esize, i;
    size_t total;
    int rc;

    if ((rc = vss_read_exact(disk, hdr, sizeof hdr, sector, "GPT header",
                             err)))
        return rc;
    if (memcmp(hdr, "EFI PART", 8) != 0)
        return VSS_ENOTFOUND;
    lba = vss_le64(hdr + 72);
    count = vss_le32(hdr + 80);
    esize = vss_le32(hdr + 84);
    if (esize < 128 || esize > 4096 || esize % 8 || count > MAX_GPT_ENTRIES ||
        lba < 2 || lba >= disk_sectors)
        return vss_fail(err, VSS_ECORRUPT,
                        "GPT header at offset %llu: entry array at LBA %llu "
                        "with %u entries of %u bytes is invalid",
                        (unsigned long long)sector, (unsigned long long)lba,
                        count, esize);
    total = (size_t)count * esize;
    entries = vss_malloc(total);
    if (!entries)
        return vss_fail(err, VSS_ENOMEM, "GPT: out of memory");
    rc = vss_read_exact(disk, entries, total, lba * sector,
                        "GPT partition entries", err);
    for (i = 0; rc == VSS_OK && i < count; i++) {
        const uint8_t *e = entries + (size_t)i * esize;
        static const uint8_t zero[16];
        uint64_t first = vss_le64(e + 32), last = vss_le64(e + 40);
        char type[40];
        if (memcmp(e, zero, 16) == 0)
            continue;
        if (first > last || last >= UINT64_MAX / sector) {
            rc = vss_fail(err, VSS_ECORRUPT,
                          "GPT entry %u at offset %llu: LBA range %llu-%llu "
                          "invalid",
                          i + 1,
                          (unsigned long long)(lba * sector +
                                               (uint64_t)i * esize),
                          (unsigned long long)first, (unsigned long long)last);
            break;
        }
        vss_guid_format(e, type);
        rc = add_partition(disk, l, "gpt", (int)i + 1, first * sector,
                           (last - first + 1) * sector, type, err);
    }
    free(entries);
    return rc;
}

int vss_disk_scan(vss_source *disk, vss_partition **parts, size_t *count,
                  vss_error *err)
{
    uint8_t s[512];
    plist l = {NULL, 0};
    int rc, i, number = 5, has_gpt = 0, any = 0;

    *parts = NULL;
    *count = 0;
    if ((rc = vss_read_exact(disk, s, sizeof s, 0, "first sector", err)))
        return rc;
    if (vss_is_ntfs_boot_sector(s, sizeof s)) {
        rc = add_partition(disk, &l, "none", 0, 0, vss_source_size(disk),
                           "ntfs", err);
        goto done;
    }
    if (s[510] != 0x55 || s[511] != 0xAA) {
        return vss_fail(err, VSS_ENOTFOUND,
                        "%s: no partition table and no NTFS boot sector at "
                        "offset 0",
                        vss_source_name(disk));
    }
    for (i = 0; i < 4; i++)
        if (s[446 + i * 16 + 4] == 0xEE)
            has_gpt = 1;
    if (has_gpt) {
        /* Logical sector size: 512 almost always; 4Kn disks put the GPT
         * header at byte 4096. */
        rc = scan_gpt(disk, 512, &l, err);
        if (rc == VSS_ENOTFOUND)
            rc = scan_gpt(disk, 4096, &l, err);
        if (rc == VSS_ENOTFOUND)
            rc = vss_fail(err, VSS_ECORRUPT,
                          "protective MBR but no GPT header at offset 512 or "
                          "4096");
        goto done;
    }
    for (i = 0; i < 4; i++) {
        const uint8_t *e = s + 446 + i * 16;
        uint64_t start = (uint64_t)vss_le32(e + 8) * 512;
        char type[8];
        if (e[4] == 0 || vss_le32(e + 12) == 0)
            continue;
        any = 1;
        if (e[0] != 0 && e[0] != 0x80) {
            /* Not a partition table (a boot sector of something else). */
            any = 0;
            break;
        }
        if (is_extended(e[4])) {
            if ((rc = scan_ebr_chain(disk, start, &l, &number, err)))
                goto done;
            continue;
        }
        snprintf(type, sizeof type, "0x%02x", e[4]);
        if ((rc = add_partition(disk, &l, "mbr", i + 1, start,
                                (uint64_t)vss_le32(e + 12) * 512, type, err)))
            goto done;
    }
    if (!any) {
        free(l.v);
        return vss_fail(err, VSS_ENOTFOUND,
                        "%s: MBR signature but no valid partition entry",
                        vss_source_name(disk));
    }
done:
    if (rc) {
        free(l.v);
        return rc;
    }
    *parts = l.v;
    *count = l.n;
    return VSS_OK;
}

void vss_partitions_free(vss_partition *parts)
{
    free(parts);
}

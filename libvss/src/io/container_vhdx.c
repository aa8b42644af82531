/*
 * container_vhdx.c — Microsoft VHDX: file identifier, two headers (the
 * valid one with the higher sequence number wins), two region tables
 * (BAT and metadata regions), metadata items (file parameters, virtual
 * disk size, logical sector size), and a block allocation table with
 * payload blocks interleaved with sector bitmap blocks. CRC-32C on headers
 * and region tables. A non-empty log (log GUID set) is refused: replaying
 * it would mean writing. Differencing images need their parent explicitly.
 */
#include <stdio.h>
#include <stdlib.h>

#include "io/container.h"

#define KiB 1024ull
#define MiB (1024ull * 1024ull)

/* GUIDs as stored (first three fields little-endian) */
static const uint8_t guid_bat[16] = {0x66, 0x77, 0xc2, 0x2d, 0x23, 0xf6, 0x00,
                                     0x42, 0x9d, 0x64, 0x11, 0x5e, 0x9b, 0xfd,
                                     0x4a, 0x08};
static const uint8_t guid_meta[16] = {0x06, 0xa2, 0x7c, 0x8b, 0x90, 0x47, 0x9a,
                                      0x4b, 0xb8, 0xfe, 0x57, 0x5f, 0x05, 0x0f,
                                      0x88, 0x6e};
static const uint8_t guid_fileparams[16] = {0x37, 0x67, 0xa1, 0xca, 0x36, 0xfa,
                                            0x43, 0x4d, 0xb3, 0xb6, 0x33, 0xf0,
                                            0xaa, 0x44, 0xe7, 0x6b};
static const uint8_t guid_disksize[16] = {0x24, 0x42, 0xa5, 0x2f, 0x1b, 0xcd,
                                          0x76, 0x48, 0xb2, 0x11, 0x5d, 0xbe,
                                          0xd8, 0x3b, 0xf4, 0xb8};
static const uint8_t guid_lss[16] = {0x1d, 0xbf, 0x41, 0x81, 0x6f, 0xa9, 0x09,
                                     0x47, 0xba, 0x47, 0xf2, 0x33, 0xa8, 0xfa,
                                     0xab, 0x5f};

#define PB_NOT_PRESENT 0u
#define PB_UNDEFINED 1u
#define PB_ZERO 2u
#define PB_UNMAPPED 3u
#define PB_FULLY_PRESENT 6u
#define PB_PARTIALLY_PRESENT 7u
#define SB_PRESENT 6u

typedef struct vhdx_ct {
    vss_container base;
    vss_source *file;
    vss_source *parent;
    uint64_t file_size;
    uint32_t block_size;
    uint32_t lss;          /* logical sector size */
    uint64_t chunk_ratio;
    uint64_t *bat;
    uint64_t nbat;
    uint64_t bat_offset;
} vhdx_ct;

static int vhdx_crc_ok(uint8_t *p, size_t n)
{
    uint32_t want = vss_le32(p + 4), got;
    uint8_t save[4];
    memcpy(save, p + 4, 4);
    memset(p + 4, 0, 4);
    got = ct_crc32c(p, n);
    memcpy(p + 4, save, 4);
    return got == want;
}

static int vhdx_parent(vhdx_ct *x, uint8_t *p, size_t n, uint64_t pos)
{
    uint64_t ps = x->parent ? vss_source_size(x->parent) : 0;
    size_t have = pos < ps ? (ps - pos < n ? (size_t)(ps - pos) : n) : 0;
    vss_error re = {0};
    if (have) {
        int rc = ct_read(x->parent, p, have, pos, "VHDX parent", &re);
        if (rc)
            return ct_fail(&x->base, rc, "%s", re.message);
    }
    memset(p + have, 0, n - have);
    return VSS_OK;
}

static int vhdx_block_range_ok(vhdx_ct *x, uint64_t at, uint64_t n,
                               uint64_t idx)
{
    if (at < 1 * MiB || at > x->file_size || n > x->file_size - at)
        return ct_fail(&x->base, VSS_ECORRUPT,
                       "VHDX BAT at offset %llu, entry %llu: block at file "
                       "offset %llu is in the header area or past the end of "
                       "the file (%llu bytes)",
                       (unsigned long long)x->bat_offset,
                       (unsigned long long)idx, (unsigned long long)at,
                       (unsigned long long)x->file_size);
    return VSS_OK;
}

static int64_t vhdx_read(vss_container *c, void *buf, size_t len,
                         uint64_t off)
{
    vhdx_ct *x = (vhdx_ct *)c;
    uint8_t *p = buf;
    size_t done = 0;
    vss_error re = {0};
    int rc;

    while (done < len) {
        uint64_t pos = off + done, b = pos / x->block_size;
        uint64_t in = pos % x->block_size, idx = b + b / x->chunk_ratio;
        size_t take = (size_t)(x->block_size - in);
        uint64_t e, at;
        unsigned state;
        if (take > len - done)
            take = len - done;
        if (idx >= x->nbat)
            return ct_fail(c, VSS_ECORRUPT, "VHDX: block %llu has no BAT "
                           "entry", (unsigned long long)b);
        e = x->bat[idx];
        state = (unsigned)(e & 7);
        at = e & ~0xfffffull;
        switch (state) {
        case PB_FULLY_PRESENT:
            rc = vhdx_block_range_ok(x, at, x->block_size, idx);
            if (rc)
                return rc;
            rc = ct_read(x->file, p + done, take, at + in, "VHDX payload block",
                         &re);
            if (rc)
                return ct_fail(c, rc, "%s", re.message);
            break;
        case PB_PARTIALLY_PRESENT: {
            /* the chunk's sector bitmap block says which sectors are here */
            uint64_t chunk = b / x->chunk_ratio;
            uint64_t sbi = chunk * (x->chunk_ratio + 1) + x->chunk_ratio;
            uint64_t se, sat, first_sector;
            size_t k = 0;
            if (!x->parent)
                return ct_fail(c, VSS_ECORRUPT, "VHDX BAT entry %llu: "
                               "partially present block in a disk without "
                               "parent", (unsigned long long)idx);
            if (sbi >= x->nbat)
                return ct_fail(c, VSS_ECORRUPT, "VHDX: sector bitmap entry "
                               "%llu past the BAT", (unsigned long long)sbi);
            se = x->bat[sbi];
            sat = se & ~0xfffffull;
            if ((se & 7) != SB_PRESENT)
                return ct_fail(c, VSS_ECORRUPT, "VHDX BAT entry %llu: "
                               "partially present block without a sector "
                               "bitmap (entry %llu state %u)",
                               (unsigned long long)idx,
                               (unsigned long long)sbi, (unsigned)(se & 7));
            rc = vhdx_block_range_ok(x, sat, 1 * MiB, sbi);
            if (!rc)
                rc = vhdx_block_range_ok(x, at, x->block_size, idx);
            if (rc)
                return rc;
            first_sector = (b % x->chunk_ratio) * (x->block_size / x->lss);
            while (k < take) {
                uint64_t s = (in + k) / x->lss, bit_no = first_sector + s;
                uint8_t byte;
                size_t run = (size_t)((s + 1) * x->lss - in - k);
                if (run > take - k)
                    run = take - k;
                rc = ct_read(x->file, &byte, 1, sat + bit_no / 8,
                             "VHDX sector bitmap", &re);
                if (rc)
                    return ct_fail(c, rc, "%s", re.message);
                if (byte >> (bit_no % 8) & 1) {
                    rc = ct_read(x->file, p + done + k, run, at + in + k,
                                 "VHDX payload block", &re);
                    if (rc)
                        return ct_fail(c, rc, "%s", re.message);
                } else {
                    rc = vhdx_parent(x, p + done + k, run, pos + k);
                    if (rc)
                        return rc;
                }
                k += run;
            }
            break;
        }
        case PB_NOT_PRESENT:
        case PB_UNDEFINED:
        case PB_UNMAPPED:
            if (x->parent && state == PB_NOT_PRESENT) {
                rc = vhdx_parent(x, p + done, take, pos);
                if (rc)
                    return rc;
            } else {
                memset(p + done, 0, take);
            }
            break;
        case PB_ZERO:
            memset(p + done, 0, take);
            break;
        default:
            return ct_fail(c, VSS_ECORRUPT, "VHDX BAT at offset %llu, entry "
                           "%llu: invalid payload block state %u",
                           (unsigned long long)x->bat_offset,
                           (unsigned long long)idx, state);
        }
        done += take;
    }
    return (int64_t)len;
}

static void vhdx_destroy(vss_container *c)
{
    vhdx_ct *x = (vhdx_ct *)c;
    vss_source_release(x->file);
    vss_source_release(x->parent);
    free(x->bat);
    ct_fini(c);
    free(x);
}

int ct_vhdx_open(vss_source *file, const char *path,
                 const vss_image_options *opts, vss_container **out,
                 vss_error *err)
{
    uint8_t hdr[2][4096], *rt = NULL, *meta = NULL, *rawbat = NULL;
    int hvalid[2], best = -1, i, has_parent = 0;
    uint64_t bat_off = 0, bat_len = 0, meta_off = 0, meta_len = 0, size = 0;
    uint64_t nblocks, nbat, j;
    uint32_t nent, k;
    vhdx_ct *x;
    int rc;

    *out = NULL;
    x = vss_calloc(1, sizeof *x);
    if (!x)
        return vss_fail(err, VSS_ENOMEM, "VHDX: out of memory");
    ct_init(&x->base, VSS_CONTAINER_VHDX, path);
    x->base.read = vhdx_read;
    x->base.destroy = vhdx_destroy;
    vss_source_retain(file);
    x->file = file;
    x->file_size = vss_source_size(file);
    if (x->file_size < 1 * MiB) {
        rc = vss_fail(err, VSS_ECORRUPT, "VHDX %s: %llu bytes, shorter than "
                      "the 1 MiB header area", path,
                      (unsigned long long)x->file_size);
        goto fail;
    }
    /* headers at 64 KiB and 128 KiB */
    for (i = 0; i < 2; i++) {
        rc = ct_read(file, hdr[i], 4096, (uint64_t)(i + 1) * 64 * KiB,
                     "VHDX header", err);
        if (rc)
            goto fail;
        hvalid[i] = memcmp(hdr[i], "head", 4) == 0 &&
                    vhdx_crc_ok(hdr[i], 4096) && vss_le16(hdr[i] + 66) == 1;
        if (hvalid[i] &&
            (best < 0 || vss_le64(hdr[i] + 8) > vss_le64(hdr[best] + 8)))
            best = i;
    }
    if (best < 0) {
        rc = vss_fail(err, VSS_ECORRUPT, "VHDX %s: no valid header at offset "
                      "65536 or 131072 (signature, CRC-32C or version)",
                      path);
        goto fail;
    }
    {
        static const uint8_t zero[16];
        if (memcmp(hdr[best] + 48, zero, 16) != 0) {
            rc = vss_fail(err, VSS_EUNSUPPORTED,
                          "VHDX %s: the log is not empty (log GUID set in the "
                          "header at offset %d): it must be replayed first, "
                          "which writes to the image (e.g. on a copy: "
                          "qemu-img check -r all)", path, (best + 1) * 65536);
            goto fail;
        }
    }
    /* region table at 192 KiB (copy at 256 KiB) */
    rt = vss_malloc(64 * KiB);
    if (!rt) {
        rc = vss_fail(err, VSS_ENOMEM, "VHDX: out of memory");
        goto fail;
    }
    for (i = 0; i < 2; i++) {
        rc = ct_read(file, rt, 64 * KiB, (uint64_t)(192 + 64 * i) * KiB,
                     "VHDX region table", err);
        if (rc)
            goto fail;
        if (memcmp(rt, "regi", 4) == 0 && vhdx_crc_ok(rt, 64 * KiB) &&
            vss_le32(rt + 8) <= 2047)
            break;
    }
    if (i == 2) {
        rc = vss_fail(err, VSS_ECORRUPT, "VHDX %s: no valid region table at "
                      "offset 196608 or 262144", path);
        goto fail;
    }
    nent = vss_le32(rt + 8);
    for (k = 0; k < nent; k++) {
        const uint8_t *e = rt + 16 + (size_t)k * 32;
        uint64_t off = vss_le64(e + 16), len = vss_le32(e + 24);
        if (memcmp(e, guid_bat, 16) == 0) {
            bat_off = off;
            bat_len = len;
        } else if (memcmp(e, guid_meta, 16) == 0) {
            meta_off = off;
            meta_len = len;
        } else if (vss_le32(e + 28) & 1) {
            rc = vss_fail(err, VSS_EUNSUPPORTED, "VHDX %s: unknown required "
                          "region (region table entry %u)", path, k);
            goto fail;
        }
    }
    if (!bat_len || !meta_len || bat_off < 1 * MiB || meta_off < 1 * MiB ||
        bat_off > x->file_size || bat_len > x->file_size - bat_off ||
        meta_off > x->file_size || meta_len > x->file_size - meta_off ||
        meta_len > 16 * MiB || meta_len < 64 * KiB) {
        rc = vss_fail(err, VSS_ECORRUPT, "VHDX %s: BAT region (offset %llu, "
                      "%llu bytes) or metadata region (offset %llu, %llu "
                      "bytes) missing or out of bounds", path,
                      (unsigned long long)bat_off, (unsigned long long)bat_len,
                      (unsigned long long)meta_off,
                      (unsigned long long)meta_len);
        goto fail;
    }
    /* metadata */
    meta = vss_malloc((size_t)meta_len);
    if (!meta) {
        rc = vss_fail(err, VSS_ENOMEM, "VHDX: out of memory");
        goto fail;
    }
    rc = ct_read(file, meta, (size_t)meta_len, meta_off, "VHDX metadata", err);
    if (rc)
        goto fail;
    if (memcmp(meta, "metadata", 8) != 0 || vss_le16(meta + 10) > 2047) {
        rc = vss_fail(err, VSS_ECORRUPT, "VHDX %s: metadata table at offset "
                      "%llu: bad signature or entry count", path,
                      (unsigned long long)meta_off);
        goto fail;
    }
    {
        int got_fp = 0, got_size = 0, got_lss = 0;
        uint32_t n = vss_le16(meta + 10);
        for (k = 0; k < n; k++) {
            const uint8_t *e = meta + 32 + (size_t)k * 32;
            uint32_t ioff = vss_le32(e + 16), ilen = vss_le32(e + 20);
            const uint8_t *item;
            if (ioff > meta_len || ilen > meta_len - ioff) {
                rc = vss_fail(err, VSS_ECORRUPT, "VHDX %s: metadata entry %u "
                              "(offset %u, %u bytes) outside the region",
                              path, k, ioff, ilen);
                goto fail;
            }
            item = meta + ioff;
            if (memcmp(e, guid_fileparams, 16) == 0 && ilen >= 8) {
                x->block_size = vss_le32(item);
                has_parent = vss_le32(item + 4) >> 1 & 1;
                got_fp = 1;
            } else if (memcmp(e, guid_disksize, 16) == 0 && ilen >= 8) {
                size = vss_le64(item);
                got_size = 1;
            } else if (memcmp(e, guid_lss, 16) == 0 && ilen >= 4) {
                x->lss = vss_le32(item);
                got_lss = 1;
            } else if (vss_le32(e + 24) & 4) {
                /* required items we do not know: parent locator is fine */
                static const uint8_t guid_parent[16] = {
                    0x2d, 0x5f, 0xd3, 0xa8, 0x0b, 0xb3, 0x4d, 0x45,
                    0xab, 0xf7, 0xd3, 0xd8, 0x48, 0x34, 0xab, 0x0c};
                static const uint8_t guid_pss[16] = {
                    0xc7, 0x48, 0xa3, 0xcd, 0x5d, 0x44, 0x71, 0x44,
                    0x9c, 0xc9, 0xe9, 0x88, 0x52, 0x51, 0xc5, 0x56};
                static const uint8_t guid_diskid[16] = {
                    0xab, 0x12, 0xca, 0xbe, 0xe6, 0xb2, 0x23, 0x45,
                    0x93, 0xef, 0xc3, 0x09, 0xe0, 0x00, 0xc7, 0x46};
                if (memcmp(e, guid_parent, 16) && memcmp(e, guid_pss, 16) &&
                    memcmp(e, guid_diskid, 16)) {
                    rc = vss_fail(err, VSS_EUNSUPPORTED, "VHDX %s: unknown "
                                  "required metadata item (entry %u)", path,
                                  k);
                    goto fail;
                }
            }
        }
        if (!got_fp || !got_size || !got_lss) {
            rc = vss_fail(err, VSS_ECORRUPT, "VHDX %s: metadata at offset %llu "
                          "lacks file parameters, disk size or sector size",
                          path, (unsigned long long)meta_off);
            goto fail;
        }
    }
    if (x->block_size < 1 * MiB || x->block_size > 256 * MiB ||
        (x->block_size & (x->block_size - 1)) ||
        (x->lss != 512 && x->lss != 4096) || size == 0 ||
        size > (64ull << 40) || size % x->lss) {
        rc = vss_fail(err, VSS_ECORRUPT, "VHDX %s: block size %u, sector size "
                      "%u or disk size %llu out of bounds", path,
                      x->block_size, x->lss, (unsigned long long)size);
        goto fail;
    }
    x->chunk_ratio = (8 * MiB * x->lss) / x->block_size;
    nblocks = (size + x->block_size - 1) / x->block_size;
    if (has_parent)
        nbat = (nblocks + x->chunk_ratio - 1) / x->chunk_ratio *
               (x->chunk_ratio + 1);
    else
        nbat = nblocks + (nblocks - 1) / x->chunk_ratio;
    if (nbat * 8 > bat_len) {
        rc = vss_fail(err, VSS_ECORRUPT, "VHDX %s: BAT region at %llu holds "
                      "%llu bytes, %llu entries needed", path,
                      (unsigned long long)bat_off, (unsigned long long)bat_len,
                      (unsigned long long)nbat);
        goto fail;
    }
    rawbat = vss_malloc((size_t)nbat * 8);
    x->bat = vss_malloc((size_t)nbat * 8);
    if (!rawbat || !x->bat) {
        rc = vss_fail(err, VSS_ENOMEM, "VHDX: out of memory for the BAT");
        goto fail;
    }
    rc = ct_read(file, rawbat, (size_t)nbat * 8, bat_off, "VHDX BAT", err);
    if (rc)
        goto fail;
    for (j = 0; j < nbat; j++)
        x->bat[j] = vss_le64(rawbat + j * 8);
    x->nbat = nbat;
    x->bat_offset = bat_off;
    x->base.size = size;
    if (has_parent) {
        rc = ct_open_backing(opts, &x->parent, err);
        if (rc)
            goto fail;
        if (!x->parent) {
            rc = vss_fail(err, VSS_ENOTFOUND, "VHDX %s is a differencing "
                          "disk: give the parent explicitly (backing_path / "
                          "--backing)", path);
            goto fail;
        }
        x->base.info.has_backing = 1;
    }
    x->base.info.media_size = size;
    x->base.info.stored_size = x->file_size;
    x->base.info.chunk_size = x->block_size;
    x->base.info.sector_size = x->lss;
    snprintf(x->base.info.format, sizeof x->base.info.format, "VHDX%s",
             has_parent ? " differencing" : "");
    free(rt);
    free(meta);
    free(rawbat);
    *out = &x->base;
    return VSS_OK;
fail:
    free(rt);
    free(meta);
    free(rawbat);
    vhdx_destroy(&x->base);
    return rc;
}

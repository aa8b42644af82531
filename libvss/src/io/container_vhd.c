/*
 * container_vhd.c — Microsoft Virtual Hard Disk (VHD, "conectix"): fixed
 * (the data, then a 512-byte footer), dynamic (a header "cxsparse", a
 * block allocation table, blocks of a sector bitmap + data) and
 * differencing (dynamic whose bitmap says which sectors are here; the rest
 * come from the parent, which must be given explicitly). Big-endian.
 */
#include <stdio.h>
#include <stdlib.h>

#include "io/container.h"

#define VHD_FIXED 2u
#define VHD_DYNAMIC 3u
#define VHD_DIFF 4u
#define VHD_UNUSED 0xffffffffu

typedef struct vhd_ct {
    vss_container base;
    vss_source *file;
    vss_source *parent;
    uint32_t type;
    uint64_t file_size;
    uint32_t block_size;
    uint32_t bitmap_size;   /* bytes, a multiple of 512 */
    uint32_t *bat;
    uint32_t nbat;
    uint64_t bat_offset;
} vhd_ct;

static uint32_t vhd_checksum(const uint8_t *p, size_t n, size_t skip_at)
{
    uint32_t sum = 0;
    size_t i;
    for (i = 0; i < n; i++)
        if (i < skip_at || i >= skip_at + 4)
            sum += p[i];
    return ~sum;
}

static int vhd_footer_ok(const uint8_t *f)
{
    return memcmp(f, "conectix", 8) == 0 &&
           vhd_checksum(f, 512, 64) == be32(f + 64);
}

static int vhd_read_parent(vhd_ct *v, uint8_t *p, size_t n, uint64_t pos)
{
    uint64_t psize = v->parent ? vss_source_size(v->parent) : 0;
    size_t have = pos < psize ? (psize - pos < n ? (size_t)(psize - pos) : n)
                              : 0;
    vss_error re = {0};
    if (have) {
        int rc = ct_read(v->parent, p, have, pos, "VHD parent", &re);
        if (rc)
            return ct_fail(&v->base, rc, "%s", re.message);
    }
    memset(p + have, 0, n - have);
    return VSS_OK;
}

static int64_t vhd_read(vss_container *c, void *buf, size_t len, uint64_t off)
{
    vhd_ct *v = (vhd_ct *)c;
    uint8_t *p = buf;
    size_t done = 0;
    vss_error re = {0};
    int rc;

    if (v->type == VHD_FIXED) {
        rc = ct_read(v->file, buf, len, off, "VHD (fixed) data", &re);
        if (rc)
            return ct_fail(c, rc, "%s", re.message);
        return (int64_t)len;
    }
    while (done < len) {
        uint64_t pos = off + done, b = pos / v->block_size;
        uint32_t in = (uint32_t)(pos % v->block_size);
        size_t take = v->block_size - in;
        uint32_t sector;
        uint64_t data;
        if (take > len - done)
            take = len - done;
        sector = b < v->nbat ? v->bat[b] : VHD_UNUSED;
        if (sector == VHD_UNUSED) {
            if (v->type == VHD_DIFF)
                rc = vhd_read_parent(v, p + done, take, pos);
            else
                memset(p + done, 0, take), rc = VSS_OK;
            if (rc)
                return rc;
            done += take;
            continue;
        }
        data = (uint64_t)sector * 512 + v->bitmap_size;
        if (data + v->block_size > v->file_size)
            return ct_fail(c, VSS_ECORRUPT,
                           "VHD block allocation table at offset %llu, entry "
                           "%llu: block at sector %u runs past the end of the "
                           "file (%llu bytes)",
                           (unsigned long long)v->bat_offset,
                           (unsigned long long)b, sector,
                           (unsigned long long)v->file_size);
        if (v->type == VHD_DIFF) {
            /* sector by sector (runs of equal bits) from here or parent */
            uint8_t bm[512];
            uint32_t s = in / 512, s_end = (uint32_t)((in + take + 511) / 512);
            uint64_t bm_off = (uint64_t)sector * 512 + s / 8 / 512 * 512;
            size_t k = 0;
            rc = ct_read(v->file, bm, 512, bm_off, "VHD sector bitmap", &re);
            if (rc)
                return ct_fail(c, rc, "%s", re.message);
            while (k < take) {
                uint32_t cur = (uint32_t)((in + k) / 512);
                uint32_t bit;
                size_t run;
                if (cur / 4096 != s / 4096) { /* next bitmap sector */
                    s = cur;
                    bm_off = (uint64_t)sector * 512 + cur / 8 / 512 * 512;
                    rc = ct_read(v->file, bm, 512, bm_off,
                                 "VHD sector bitmap", &re);
                    if (rc)
                        return ct_fail(c, rc, "%s", re.message);
                }
                bit = bm[(cur % 4096) / 8] >> (7 - cur % 8) & 1;
                run = (size_t)(cur + 1) * 512 - in - k;
                if (run > take - k)
                    run = take - k;
                if (bit) {
                    rc = ct_read(v->file, p + done + k, run, data + in + k,
                                 "VHD block data", &re);
                    if (rc)
                        return ct_fail(c, rc, "%s", re.message);
                } else {
                    rc = vhd_read_parent(v, p + done + k, run, pos + k);
                    if (rc)
                        return rc;
                }
                k += run;
            }
            (void)s_end;
        } else {
            rc = ct_read(v->file, p + done, take, data + in, "VHD block data",
                         &re);
            if (rc)
                return ct_fail(c, rc, "%s", re.message);
        }
        done += take;
    }
    return (int64_t)len;
}

static void vhd_destroy(vss_container *c)
{
    vhd_ct *v = (vhd_ct *)c;
    vss_source_release(v->file);
    vss_source_release(v->parent);
    free(v->bat);
    ct_fini(c);
    free(v);
}

int ct_vhd_open(vss_source *file, const char *path,
                const vss_image_options *opts, vss_container **out,
                vss_error *err)
{
    uint8_t foot[512], dh[1024];
    uint64_t fsize = vss_source_size(file), size, dyn_off;
    vhd_ct *v;
    int rc;

    *out = NULL;
    if (fsize < 512)
        return vss_fail(err, VSS_ECORRUPT, "VHD %s: too short", path);
    /* The footer at the end; dynamic disks keep a copy at offset 0. */
    rc = ct_read(file, foot, 512, fsize - 512, "VHD footer", err);
    if (rc)
        return rc;
    if (!vhd_footer_ok(foot)) {
        rc = ct_read(file, foot, 512, 0, "VHD footer copy", err);
        if (rc)
            return rc;
        if (!vhd_footer_ok(foot))
            return vss_fail(err, VSS_ECORRUPT,
                            "VHD %s: footer at offset %llu (and its copy at "
                            "0): bad cookie or checksum", path,
                            (unsigned long long)(fsize - 512));
    }
    v = vss_calloc(1, sizeof *v);
    if (!v)
        return vss_fail(err, VSS_ENOMEM, "VHD: out of memory");
    ct_init(&v->base, VSS_CONTAINER_VHD, path);
    v->base.read = vhd_read;
    v->base.destroy = vhd_destroy;
    vss_source_retain(file);
    v->file = file;
    v->file_size = fsize;
    v->type = be32(foot + 60);
    size = be64(foot + 48);
    v->base.size = size;
    v->base.info.media_size = size;
    v->base.info.stored_size = fsize;
    if (v->type == VHD_FIXED) {
        if (size > fsize - 512) {
            rc = vss_fail(err, VSS_ECORRUPT,
                          "VHD %s (fixed): footer size %llu is more than the "
                          "%llu bytes before the footer", path,
                          (unsigned long long)size,
                          (unsigned long long)(fsize - 512));
            goto fail;
        }
        snprintf(v->base.info.format, sizeof v->base.info.format,
                 "VHD fixed");
        *out = &v->base;
        return VSS_OK;
    }
    if (v->type != VHD_DYNAMIC && v->type != VHD_DIFF) {
        rc = vss_fail(err, VSS_EUNSUPPORTED,
                      "VHD %s: disk type %u (footer offset 60) not supported",
                      path, v->type);
        goto fail;
    }
    dyn_off = be64(foot + 16);
    if (dyn_off > fsize || fsize - dyn_off < 1024) {
        rc = vss_fail(err, VSS_ECORRUPT, "VHD %s: dynamic header offset %llu "
                      "past the end of the file", path,
                      (unsigned long long)dyn_off);
        goto fail;
    }
    rc = ct_read(file, dh, sizeof dh, dyn_off, "VHD dynamic header", err);
    if (rc)
        goto fail;
    if (memcmp(dh, "cxsparse", 8) != 0 ||
        vhd_checksum(dh, 1024, 36) != be32(dh + 36)) {
        rc = vss_fail(err, VSS_ECORRUPT, "VHD %s: dynamic header at offset "
                      "%llu: bad cookie or checksum", path,
                      (unsigned long long)dyn_off);
        goto fail;
    }
    v->bat_offset = be64(dh + 16);
    v->nbat = be32(dh + 28);
    v->block_size = be32(dh + 32);
    if (v->block_size < 512 || v->block_size > (256u << 20) ||
        (v->block_size & (v->block_size - 1))) {
        rc = vss_fail(err, VSS_ECORRUPT, "VHD %s: dynamic header at %llu: "
                      "block size %u out of bounds", path,
                      (unsigned long long)dyn_off, v->block_size);
        goto fail;
    }
    if ((uint64_t)v->nbat * v->block_size < size ||
        v->bat_offset > fsize || (uint64_t)v->nbat * 4 > fsize - v->bat_offset) {
        rc = vss_fail(err, VSS_ECORRUPT, "VHD %s: block allocation table at "
                      "%llu (%u entries) does not cover the disk or runs "
                      "past the end of the file", path,
                      (unsigned long long)v->bat_offset, v->nbat);
        goto fail;
    }
    v->bitmap_size = ((v->block_size / 512 + 7) / 8 + 511) / 512 * 512;
    {
        uint8_t *raw = vss_malloc((size_t)v->nbat * 4 + 1);
        uint32_t i;
        v->bat = vss_malloc((size_t)v->nbat * 4 + 1);
        if (!raw || !v->bat) {
            free(raw);
            rc = vss_fail(err, VSS_ENOMEM, "VHD: out of memory for the BAT");
            goto fail;
        }
        rc = ct_read(file, raw, (size_t)v->nbat * 4, v->bat_offset,
                     "VHD block allocation table", err);
        for (i = 0; rc == VSS_OK && i < v->nbat; i++)
            v->bat[i] = be32(raw + (size_t)i * 4);
        free(raw);
        if (rc)
            goto fail;
    }
    if (v->type == VHD_DIFF) {
        char *n = v->base.info.backing_name;
        size_t i, o = 0;
        for (i = 0; i + 1 < 512 && o + 4 < sizeof v->base.info.backing_name;
             i += 2) {
            uint32_t ch = be16(dh + 64 + i);
            if (ch == 0)
                break;
            if (ch < 0x80)
                n[o++] = (char)ch;
            else if (ch < 0x800) {
                n[o++] = (char)(0xc0 | ch >> 6);
                n[o++] = (char)(0x80 | (ch & 0x3f));
            } else {
                n[o++] = (char)(0xe0 | ch >> 12);
                n[o++] = (char)(0x80 | (ch >> 6 & 0x3f));
                n[o++] = (char)(0x80 | (ch & 0x3f));
            }
        }
        n[o] = '\0';
        rc = ct_open_backing(opts, &v->parent, err);
        if (rc)
            goto fail;
        if (!v->parent) {
            rc = vss_fail(err, VSS_ENOTFOUND,
                          "VHD %s is a differencing disk (parent \"%s\"): give "
                          "the parent explicitly (backing_path / --backing)",
                          path, n);
            goto fail;
        }
        v->base.info.has_backing = 1;
    }
    v->base.info.chunk_size = v->block_size;
    snprintf(v->base.info.format, sizeof v->base.info.format, "VHD %s",
             v->type == VHD_DIFF ? "differencing" : "dynamic");
    *out = &v->base;
    return VSS_OK;
fail:
    vhd_destroy(&v->base);
    return rc;
}

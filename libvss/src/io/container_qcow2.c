/*
 * container_qcow2.c — QEMU qcow2 images, versions 2 and 3 (QEMU's
 * docs/interop/qcow2.txt): a big-endian header, an L1 table of L2 table
 * offsets, L2 tables of cluster descriptors (standard, all-zero, or
 * deflate-compressed). Unallocated clusters read as zeros, or from the
 * backing file when one was given explicitly. The refcount tables and
 * internal snapshots are not needed to read the active image and are not
 * followed. Encryption, external data files, extended L2 entries and
 * non-zlib compression are refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <zlib.h>

#include "io/container.h"

#define QCOW_OFFSET_MASK 0x00fffffffffffe00ull /* bits 9-55 */
#define QCOW_COMPRESSED (1ull << 62)
#define QCOW_MAX_L1 (32u << 20) / 8u         /* QEMU's own limit */
#define QCOW_MAX_SIZE (1ull << 56)

typedef struct qcow_ct {
    vss_container base;
    vss_source *file;
    vss_source *backing;
    uint64_t file_size;
    uint32_t cluster_bits;
    uint64_t cluster_size;
    uint32_t l2_bits;
    uint64_t *l1;
    uint64_t l1_size;
    uint64_t l1_offset;
    ct_cache l2cache;   /* key: L2 table offset >> cluster_bits */
    ct_cache zcache;    /* key: guest cluster of a compressed cluster */
} qcow_ct;

/* The L2 entry of guest cluster g: 0 when unallocated. */
static int qcow_l2_entry(qcow_ct *q, uint64_t g, uint64_t *entry)
{
    uint64_t l1i = g >> q->l2_bits, l2i = g & ((1ull << q->l2_bits) - 1);
    uint64_t l2off;
    uint8_t e[8];

    *entry = 0;
    if (l1i >= q->l1_size)
        return VSS_OK;
    l2off = q->l1[l1i] & QCOW_OFFSET_MASK;
    if (l2off == 0)
        return VSS_OK;
    if (!ct_cache_get(&q->l2cache, l2off >> q->cluster_bits, e, l2i * 8, 8)) {
        uint8_t *t = vss_malloc(q->cluster_size);
        vss_error re = {0};
        int rc;
        if (!t)
            return ct_fail(&q->base, VSS_ENOMEM, "qcow2: out of memory");
        rc = ct_read(q->file, t, q->cluster_size, l2off, "qcow2 L2 table",
                     &re);
        if (rc) {
            free(t);
            return ct_fail(&q->base, rc, "qcow2 L2 table of L1 entry %llu: "
                           "%s", (unsigned long long)l1i, re.message);
        }
        ct_cache_put(&q->l2cache, l2off >> q->cluster_bits, t);
        memcpy(e, t + l2i * 8, 8);
        free(t);
    }
    *entry = be64(e);
    /* Check the descriptor before anything uses it. */
    if (*entry & QCOW_COMPRESSED)
        return VSS_OK;
    if ((*entry & ~(QCOW_OFFSET_MASK | 1ull | (1ull << 63))) != 0)
        return ct_fail(&q->base, VSS_ECORRUPT,
                       "qcow2 L2 table at offset %llu, entry %llu: reserved "
                       "bits set (0x%016llx)", (unsigned long long)l2off,
                       (unsigned long long)l2i, (unsigned long long)*entry);
    {
        uint64_t host = *entry & QCOW_OFFSET_MASK;
        if (host && (host < q->cluster_size ||
                     host & (q->cluster_size - 1) ||
                     host >= q->file_size))
            return ct_fail(&q->base, VSS_ECORRUPT,
                           "qcow2 L2 table at offset %llu, entry %llu: data "
                           "cluster offset %llu is unaligned, in the header "
                           "or past the end of the file (%llu bytes)",
                           (unsigned long long)l2off, (unsigned long long)l2i,
                           (unsigned long long)host,
                           (unsigned long long)q->file_size);
    }
    return VSS_OK;
}

static int qcow_load_compressed(qcow_ct *q, uint64_t g, uint64_t entry,
                                uint8_t *out)
{
    uint32_t x = 62 - (q->cluster_bits - 8);
    uint64_t host = entry & ((1ull << x) - 1);
    uint64_t nsect = (entry >> x) & ((1ull << (q->cluster_bits - 8)) - 1);
    uint64_t csize = (nsect + 1) * 512 - (host & 511);
    uint8_t *in;
    vss_error re = {0};
    z_stream z;
    int rc, zr;

    if (host >= q->file_size || host < q->cluster_size)
        return ct_fail(&q->base, VSS_ECORRUPT,
                       "qcow2 compressed cluster (guest offset %llu): host "
                       "offset %llu is in the header or past the end of the "
                       "file (%llu bytes)",
                       (unsigned long long)(g << q->cluster_bits),
                       (unsigned long long)host,
                       (unsigned long long)q->file_size);
    if (csize > q->file_size - host)
        csize = q->file_size - host; /* the last sector may be short */
    in = vss_malloc((size_t)csize);
    if (!in)
        return ct_fail(&q->base, VSS_ENOMEM, "qcow2: out of memory");
    rc = ct_read(q->file, in, (size_t)csize, host, "qcow2 compressed cluster",
                 &re);
    if (rc) {
        free(in);
        return ct_fail(&q->base, rc, "%s", re.message);
    }
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, -15) != Z_OK) {
        free(in);
        return ct_fail(&q->base, VSS_ENOMEM, "qcow2: zlib init failed");
    }
    z.next_in = in;
    z.avail_in = (uInt)csize;
    z.next_out = out;
    z.avail_out = (uInt)q->cluster_size;
    zr = inflate(&z, Z_FINISH);
    free(in);
    /* Decompression stops when a whole cluster came out. */
    if (z.avail_out != 0 || (zr != Z_STREAM_END && zr != Z_OK &&
                             zr != Z_BUF_ERROR)) {
        const char *msg = z.msg ? z.msg : "ends before a whole cluster";
        size_t got = q->cluster_size - z.avail_out;
        inflateEnd(&z);
        return ct_fail(&q->base, VSS_ECORRUPT,
                       "qcow2 compressed cluster at host offset %llu (%llu "
                       "bytes, guest offset %llu): %s (%zu of %llu bytes)",
                       (unsigned long long)host, (unsigned long long)csize,
                       (unsigned long long)(g << q->cluster_bits), msg, got,
                       (unsigned long long)q->cluster_size);
    }
    inflateEnd(&z);
    return VSS_OK;
}

static int64_t qcow_read(vss_container *c, void *buf, size_t len,
                         uint64_t off)
{
    qcow_ct *q = (qcow_ct *)c;
    uint8_t *p = buf;
    size_t done = 0;

    while (done < len) {
        uint64_t pos = off + done, g = pos >> q->cluster_bits, entry;
        size_t in = (size_t)(pos & (q->cluster_size - 1));
        size_t take = (size_t)(q->cluster_size - in);
        int rc;
        if (take > len - done)
            take = len - done;
        rc = qcow_l2_entry(q, g, &entry);
        if (rc)
            return rc;
        if (entry & QCOW_COMPRESSED) {
            if (!ct_cache_get(&q->zcache, g, p + done, in, take)) {
                uint8_t *t = vss_malloc(q->cluster_size);
                if (!t)
                    return ct_fail(c, VSS_ENOMEM, "qcow2: out of memory");
                rc = qcow_load_compressed(q, g, entry, t);
                if (rc) {
                    free(t);
                    return rc;
                }
                ct_cache_put(&q->zcache, g, t);
                memcpy(p + done, t + in, take);
                free(t);
            }
        } else if (entry & 1ull) {
            memset(p + done, 0, take); /* v3 all-zero cluster */
        } else if (entry & QCOW_OFFSET_MASK) {
            uint64_t host = (entry & QCOW_OFFSET_MASK) + in;
            vss_error re = {0};
            rc = ct_read(q->file, p + done, take, host, "qcow2 data cluster",
                         &re);
            if (rc)
                return ct_fail(c, rc, "%s (guest offset %llu)", re.message,
                               (unsigned long long)pos);
        } else if (q->backing && pos < vss_source_size(q->backing)) {
            uint64_t bsize = vss_source_size(q->backing);
            size_t n = bsize - pos < take ? (size_t)(bsize - pos) : take;
            vss_error re = {0};
            rc = ct_read(q->backing, p + done, n, pos, "qcow2 backing file",
                         &re);
            if (rc)
                return ct_fail(c, rc, "%s", re.message);
            memset(p + done + n, 0, take - n);
        } else {
            memset(p + done, 0, take);
        }
        done += take;
    }
    return (int64_t)len;
}

static void qcow_destroy(vss_container *c)
{
    qcow_ct *q = (qcow_ct *)c;
    vss_source_release(q->file);
    vss_source_release(q->backing);
    free(q->l1);
    ct_cache_free(&q->l2cache);
    ct_cache_free(&q->zcache);
    ct_fini(c);
    free(q);
}

int ct_qcow2_open(vss_source *file, const char *path,
                  const vss_image_options *opts, vss_container **out,
                  vss_error *err)
{
    uint8_t h[112];
    uint32_t version, crypt, hdr_len = 72;
    uint64_t size, backing_off, incompat = 0, need_l1, i;
    uint32_t backing_len;
    qcow_ct *q;
    uint8_t *l1raw = NULL;
    size_t nslots;
    int rc;

    *out = NULL;
    if (vss_source_size(file) < 72)
        return vss_fail(err, VSS_ECORRUPT, "qcow2 %s: file too short for the "
                        "header", path);
    memset(h, 0, sizeof h);
    rc = ct_read(file, h,
                 vss_source_size(file) < sizeof h ? 72 : sizeof h, 0,
                 "qcow2 header", err);
    if (rc)
        return rc;
    version = be32(h + 4);
    if (version != 2 && version != 3)
        return vss_fail(err, VSS_EUNSUPPORTED,
                        "qcow2 %s: version %u not supported (2 and 3 are)",
                        path, version);
    q = vss_calloc(1, sizeof *q);
    if (!q)
        return vss_fail(err, VSS_ENOMEM, "qcow2: out of memory");
    ct_init(&q->base, VSS_CONTAINER_QCOW2, path);
    q->base.read = qcow_read;
    q->base.destroy = qcow_destroy;
    vss_source_retain(file);
    q->file = file;
    q->file_size = vss_source_size(file);
    backing_off = be64(h + 8);
    backing_len = be32(h + 16);
    q->cluster_bits = be32(h + 20);
    size = be64(h + 24);
    crypt = be32(h + 32);
    q->l1_size = be32(h + 36);
    q->l1_offset = be64(h + 40);
    if (version == 3) {
        incompat = be64(h + 72);
        hdr_len = be32(h + 100);
        if (hdr_len < 104 || hdr_len % 8) {
            rc = vss_fail(err, VSS_ECORRUPT, "qcow2 %s: header length %u at "
                          "offset 100 is invalid", path, hdr_len);
            goto fail;
        }
    }
    if (q->cluster_bits < 9 || q->cluster_bits > 21) {
        rc = vss_fail(err, VSS_ECORRUPT, "qcow2 %s: cluster_bits %u at offset "
                      "20 out of bounds (9..21)", path, q->cluster_bits);
        goto fail;
    }
    q->cluster_size = 1ull << q->cluster_bits;
    q->l2_bits = q->cluster_bits - 3;
    if (crypt != 0) {
        rc = vss_fail(err, VSS_EUNSUPPORTED,
                      "qcow2 %s: encrypted (%s, crypt_method %u at offset "
                      "32): not supported", path,
                      crypt == 1 ? "AES" : crypt == 2 ? "LUKS" : "unknown",
                      crypt);
        goto fail;
    }
    if (incompat & (1ull << 2)) {
        rc = vss_fail(err, VSS_EUNSUPPORTED, "qcow2 %s: external data file "
                      "not supported", path);
        goto fail;
    }
    if (incompat & (1ull << 3)) {
        uint8_t ct = hdr_len > 104 ? h[104] : 0;
        rc = vss_fail(err, VSS_EUNSUPPORTED, "qcow2 %s: compression type %u "
                      "(%s) not supported (zlib is)", path, ct,
                      ct == 1 ? "zstd" : "unknown");
        goto fail;
    }
    if (incompat & (1ull << 4)) {
        rc = vss_fail(err, VSS_EUNSUPPORTED, "qcow2 %s: extended L2 entries "
                      "(subclusters) not supported", path);
        goto fail;
    }
    if (incompat & ~0x1full) {
        rc = vss_fail(err, VSS_EUNSUPPORTED, "qcow2 %s: unknown incompatible "
                      "features 0x%llx", path,
                      (unsigned long long)(incompat & ~0x1full));
        goto fail;
    }
    if (size > QCOW_MAX_SIZE) {
        rc = vss_fail(err, VSS_ECORRUPT, "qcow2 %s: virtual size %llu at "
                      "offset 24 out of bounds", path,
                      (unsigned long long)size);
        goto fail;
    }
    q->base.size = size;
    need_l1 = (size + (q->cluster_size << q->l2_bits) - 1) >>
              (q->cluster_bits + q->l2_bits);
    if (q->l1_size > QCOW_MAX_L1 || q->l1_size < need_l1) {
        rc = vss_fail(err, VSS_ECORRUPT, "qcow2 %s: L1 table size %llu at "
                      "offset 36 out of bounds (%llu needed)", path,
                      (unsigned long long)q->l1_size,
                      (unsigned long long)need_l1);
        goto fail;
    }
    if (q->l1_size &&
        (q->l1_offset & (q->cluster_size - 1) || q->l1_offset == 0 ||
         q->l1_offset > q->file_size ||
         q->l1_size * 8 > q->file_size - q->l1_offset)) {
        rc = vss_fail(err, VSS_ECORRUPT, "qcow2 %s: L1 table offset %llu at "
                      "offset 40 is unaligned or past the end of the file "
                      "(%llu bytes)", path,
                      (unsigned long long)q->l1_offset,
                      (unsigned long long)q->file_size);
        goto fail;
    }
    /* the backing file's name, for messages and the info */
    if (backing_off) {
        if (backing_len == 0 || backing_len > 1023 ||
            backing_off > q->file_size ||
            backing_len > q->file_size - backing_off) {
            rc = vss_fail(err, VSS_ECORRUPT, "qcow2 %s: backing file name at "
                          "offset %llu (%u bytes) out of bounds", path,
                          (unsigned long long)backing_off, backing_len);
            goto fail;
        }
        /* Up to 1023 bytes on disk; the info keeps what fits (255). */
        {
            char name[1024];
            rc = ct_read(file, name, backing_len, backing_off,
                         "qcow2 backing file name", err);
            if (rc)
                goto fail;
            name[backing_len] = '\0';
            /* keep what fits (the info field is shorter than the limit) */
            snprintf(q->base.info.backing_name,
                     sizeof q->base.info.backing_name, "%.*s",
                     (int)sizeof q->base.info.backing_name - 1, name);
        }
        rc = ct_open_backing(opts, &q->backing, err);
        if (rc)
            goto fail;
        if (!q->backing) {
            rc = vss_fail(err, VSS_ENOTFOUND,
                          "qcow2 %s has a backing file (\"%s\"): give it "
                          "explicitly (backing_path / --backing); it is "
                          "never opened on its own", path,
                          q->base.info.backing_name);
            goto fail;
        }
        q->base.info.has_backing = 1;
    }
    /* the L1 table, checked whole */
    q->l1 = vss_calloc(q->l1_size ? (size_t)q->l1_size : 1, sizeof *q->l1);
    l1raw = vss_malloc(q->l1_size ? (size_t)q->l1_size * 8 : 1);
    if (!q->l1 || !l1raw) {
        rc = vss_fail(err, VSS_ENOMEM, "qcow2: out of memory for the L1 table");
        goto fail;
    }
    rc = ct_read(file, l1raw, (size_t)q->l1_size * 8, q->l1_offset,
                 "qcow2 L1 table", err);
    if (rc)
        goto fail;
    for (i = 0; i < q->l1_size; i++) {
        uint64_t e = be64(l1raw + i * 8), l2 = e & QCOW_OFFSET_MASK;
        if (i >= need_l1)
            e = 0; /* past the virtual size: never read */
        else if ((e & ~(QCOW_OFFSET_MASK | (1ull << 63))) ||
                 (l2 && (l2 & (q->cluster_size - 1) || l2 < q->cluster_size ||
                         l2 > q->file_size ||
                         q->file_size - l2 < q->cluster_size))) {
            rc = vss_fail(err, VSS_ECORRUPT,
                          "qcow2 %s: L1 entry %llu (at offset %llu): L2 table "
                          "offset %llu is unaligned, in the header or past "
                          "the end of the file (%llu bytes)", path,
                          (unsigned long long)i,
                          (unsigned long long)(q->l1_offset + i * 8),
                          (unsigned long long)l2,
                          (unsigned long long)q->file_size);
            goto fail;
        }
        q->l1[i] = e;
    }
    free(l1raw);
    l1raw = NULL;
    nslots = (size_t)((4u << 20) >> q->cluster_bits);
    nslots = nslots < 4 ? 4 : nslots > 64 ? 64 : nslots;
    if (ct_cache_init(&q->l2cache, nslots, q->cluster_size) ||
        ct_cache_init(&q->zcache, nslots, q->cluster_size)) {
        rc = vss_fail(err, VSS_ENOMEM, "qcow2: out of memory for the caches");
        goto fail;
    }
    /* Are there compressed clusters? Only known after reading; the
     * header has no flag. */
    q->base.info.media_size = size;
    q->base.info.stored_size = q->file_size;
    q->base.info.chunk_size = (uint32_t)q->cluster_size;
    snprintf(q->base.info.format, sizeof q->base.info.format, "qcow2 v%u%s%s",
             version, incompat & 1 ? " (dirty)" : "",
             incompat & 2 ? " (marked corrupt)" : "");
    *out = &q->base;
    return VSS_OK;
fail:
    free(l1raw);
    qcow_destroy(&q->base);
    return rc;
}

/*
 * ntfs/carve_records.c — evidence for the carver (vss/carve.c) from NTFS
 * file records, found in the carver's single read of the volume: a store
 * file is named {store GUID}{3808876b-c176-4e48-b7ae-04046e6cc752}, and its
 * record (also after deletion, until NTFS reuses it) keeps that name, its
 * $STANDARD_INFORMATION creation time and its data runs, whose first
 * cluster is the store header. That is how a carved store gets its GUID
 * (and so its version-1 timestamp) once the catalog is gone.
 *
 * Records are recognised by their "FILE" signature wherever they are (the
 * MFT may be fragmented), their update sequence applied, and only the
 * attributes needed are read, every offset and length bounded by the
 * record. libntfs-3g is not used: it reads live files, these are deleted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "vss/carve.h"

/* The name's tail: the VSS identifier as text, after the store GUID. */
static const char store_suffix[] = "}{3808876b-c176-4e48-b7ae-04046e6cc752}";

#define MFT_MAX_EXTENTS 256

typedef struct record_scan {
    vss_extent mft[MFT_MAX_EXTENTS]; /* the live $MFT's extents */
    size_t nmft;
    uint32_t cluster_size;   /* from the boot sector; 0 until seen */
    uint32_t record_size;
    uint32_t sector_size;
    uint8_t rec[4096];
} record_scan;

/* The boot sector's geometry (offset 0 of the volume). */
static void read_boot(record_scan *rs, const uint8_t *b, size_t len)
{
    uint32_t bps, spc;
    int8_t cpr;
    if (len < 512 || memcmp(b + 3, "NTFS    ", 8) != 0)
        return;
    bps = vss_le16(b + 11);
    spc = b[13];
    if (spc > 0x80)
        spc = 1u << (256 - spc);
    if (bps < 256 || bps > 4096 || (bps & (bps - 1)) || !spc ||
        spc > 4096)
        return;
    cpr = (int8_t)b[0x40];
    rs->record_size = cpr < 0 ? (-cpr < 16 ? 1u << -cpr : 0)
                              : (uint32_t)cpr * bps * spc;
    if (rs->record_size < 512 || rs->record_size > sizeof rs->rec)
        return;
    rs->sector_size = bps;
    rs->cluster_size = bps * spc;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* A GUID in text "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" to Windows layout. */
static int parse_guid(const char *t, uint8_t g[16])
{
    static const int pos[16] = {6, 4, 2, 0, 11, 9, 16, 14,
                                19, 21, 24, 26, 28, 30, 32, 34};
    int i;
    if (t[8] != '-' || t[13] != '-' || t[18] != '-' || t[23] != '-')
        return -1;
    for (i = 0; i < 16; i++) {
        int hi = hexval(t[pos[i]]), lo = hexval(t[pos[i] + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        g[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

/* The first run's starting cluster of a non-resident attribute at a. */
static int first_lcn(const uint8_t *a, uint32_t alen, uint64_t *lcn)
{
    uint16_t ro = vss_le16(a + 32);
    const uint8_t *p;
    unsigned ls, os, i;
    uint64_t u = 0;
    int64_t v;
    if (alen < 64 || ro >= alen || vss_le64(a + 16) != 0)
        return -1; /* no runs, or not the attribute's first extent */
    p = a + ro;
    ls = p[0] & 0x0F;
    os = p[0] >> 4;
    if (!ls || ls > 8 || !os || os > 8 || ro + 1u + ls + os > alen)
        return -1;
    for (i = 0; i < os; i++)
        u |= (uint64_t)p[1 + ls + i] << (8 * i);
    if (os < 8 && (p[ls + os] & 0x80))
        return -1; /* the first run's LCN is relative to 0: negative */
    v = (int64_t)u;
    if (v <= 0)
        return -1;
    *lcn = (uint64_t)v;
    return 0;
}

/* One record at rec (record_size bytes, fixups applied). */
static int parse_record(record_scan *rs, const uint8_t *rec,
                        uint64_t at, carve_names *names)
{
    uint32_t size = rs->record_size, pos, used;
    carve_name n;
    int have_name = 0, have_data = 0;

    memset(&n, 0, sizeof n);
    n.record_offset = at;
    for (size_t k = 0; k < rs->nmft; k++)
        n.in_mft |= at >= rs->mft[k].start && at < rs->mft[k].end;
    n.deleted = !(vss_le16(rec + 22) & 1);
    n.file_reference = (uint64_t)vss_le16(rec + 16) << 48 | vss_le32(rec + 44);
    /* Attributes end at the record's used size: past it lie the leftovers
     * of an earlier file the record held (a reused record keeps the old
     * store file's name there; it names no live file). */
    used = vss_le32(rec + 24);
    if (used < size)
        size = used;
    pos = vss_le16(rec + 20);
    while (pos + 16 <= size) {
        const uint8_t *a = rec + pos;
        uint32_t type = vss_le32(a), alen = vss_le32(a + 4);
        if (type == 0xFFFFFFFFu || alen < 16 || alen > size - pos)
            break;
        if (a[8] == 0 && alen >= 24) { /* resident */
            uint32_t clen = vss_le32(a + 16);
            uint16_t coff = vss_le16(a + 20);
            if (coff > alen || clen > alen - coff)
                break;
            if (type == 0x10 && clen >= 8)
                n.si_created = vss_le64(a + coff);
            if (type == 0x30 && clen >= 66 + 76 * 2 && a[coff + 64] == 76) {
                char t[77];
                int i, ok = 1;
                for (i = 0; i < 76; i++) {
                    uint16_t ch = vss_le16(a + coff + 66 + 2 * i);
                    if (ch > 0x7e) {
                        ok = 0;
                        break;
                    }
                    t[i] = (char)ch;
                }
                t[76] = 0;
                if (ok && t[0] == '{' &&
                    strcasecmp(t + 37, store_suffix) == 0 &&
                    parse_guid(t + 1, n.guid) == 0)
                    have_name = 1;
            }
        } else if (a[8] == 1 && type == 0x80 && a[9] == 0 && !have_data) {
            uint64_t lcn;
            if (first_lcn(a, alen, &lcn) == 0 &&
                lcn <= UINT64_MAX / rs->cluster_size) {
                n.first_offset = lcn * rs->cluster_size;
                have_data = 1;
            }
        }
        pos += alen;
    }
    if (!have_name)
        return VSS_OK;
    return carve_names_add(names, &n);
}

/* carve_chunk_fn: every "FILE" record in the chunk. */
static int records_hook(void *user, const uint8_t *buf, size_t len,
                        uint64_t offset, carve_names *names)
{
    record_scan *rs = user;
    size_t p;
    if (offset == 0)
        read_boot(rs, buf, len);
    if (!rs->cluster_size)
        return VSS_OK; /* not NTFS: nothing to name stores with */
    for (p = 0; p + rs->record_size <= len; p += 1024) {
        uint16_t usa, usn_count, i;
        int rc;
        if (memcmp(buf + p, "FILE", 4) != 0)
            continue;
        usa = vss_le16(buf + p + 4);
        usn_count = vss_le16(buf + p + 6);
        if (usn_count != rs->record_size / rs->sector_size + 1 ||
            usa + 2u * usn_count > rs->record_size ||
            vss_le16(buf + p + 20) >= rs->record_size)
            continue;
        memcpy(rs->rec, buf + p, rs->record_size);
        for (i = 1; i < usn_count; i++) {
            uint8_t *end = rs->rec + i * rs->sector_size - 2;
            if (memcmp(end, rs->rec + usa, 2) != 0)
                break; /* torn record */
            memcpy(end, rs->rec + usa + 2 * i, 2);
        }
        if (i != usn_count)
            continue;
        if ((rc = parse_record(rs, rs->rec, offset + p, names)))
            return rc;
    }
    return VSS_OK;
}

/* The extents of the live $MFT: the data runs of its own record 0, found
 * at the cluster the boot sector names. Bounded by the volume and by
 * MFT_MAX_EXTENTS; any damage leaves the list short (records outside it
 * then count as copies). */
static void read_mft_extents(record_scan *rs, vss_source *vol)
{
    uint8_t boot[512];
    uint64_t lcn, vsize = vss_source_size(vol), pos;
    uint16_t usa, cnt, i, ro;
    uint32_t a, alen;
    const uint8_t *p, *end;
    int64_t cur = 0;

    if (vss_source_read_at(vol, boot, sizeof boot, 0) != (int64_t)sizeof boot)
        return;
    read_boot(rs, boot, sizeof boot);
    if (!rs->cluster_size)
        return;
    lcn = vss_le64(boot + 0x30);
    if (lcn >= vsize / rs->cluster_size)
        return;
    pos = lcn * rs->cluster_size;
    if (vss_source_read_at(vol, rs->rec, rs->record_size, pos) !=
            (int64_t)rs->record_size ||
        memcmp(rs->rec, "FILE", 4) != 0)
        return;
    usa = vss_le16(rs->rec + 4);
    cnt = vss_le16(rs->rec + 6);
    if (cnt != rs->record_size / rs->sector_size + 1 ||
        usa + 2u * cnt > rs->record_size)
        return;
    for (i = 1; i < cnt; i++) {
        uint8_t *e = rs->rec + i * rs->sector_size - 2;
        if (memcmp(e, rs->rec + usa, 2) != 0)
            return;
        memcpy(e, rs->rec + usa + 2 * i, 2);
    }
    for (a = vss_le16(rs->rec + 20); a + 16 <= rs->record_size; a += alen) {
        alen = vss_le32(rs->rec + a + 4);
        if (vss_le32(rs->rec + a) == 0xFFFFFFFFu || alen < 16 ||
            alen > rs->record_size - a)
            return;
        if (vss_le32(rs->rec + a) == 0x80 && rs->rec[a + 8] == 1 &&
            alen >= 64)
            break;
    }
    if (a + 16 > rs->record_size)
        return;
    ro = vss_le16(rs->rec + a + 32);
    if (ro >= alen)
        return;
    p = rs->rec + a + ro;
    end = rs->rec + a + alen;
    while (p < end && *p && rs->nmft < MFT_MAX_EXTENTS) {
        unsigned ls = *p & 0x0F, os = *p >> 4, k;
        uint64_t len = 0;
        int64_t delta = 0;
        if (!ls || ls > 8 || os > 8 || p + 1 + ls + os > end)
            return;
        for (k = 0; k < ls; k++)
            len |= (uint64_t)p[1 + k] << (8 * k);
        for (k = 0; k < os; k++)
            delta |= (int64_t)((uint64_t)p[1 + ls + k] << (8 * k));
        if (os && os < 8 && (p[ls + os] & 0x80))
            delta -= (int64_t)1 << (8 * os);
        p += 1 + ls + os;
        if (!os)
            continue; /* sparse run: no clusters */
        cur += delta;
        if (cur <= 0 || (uint64_t)cur >= vsize / rs->cluster_size ||
            len > vsize / rs->cluster_size - (uint64_t)cur)
            return;
        rs->mft[rs->nmft].start = (uint64_t)cur * rs->cluster_size;
        rs->mft[rs->nmft].end = ((uint64_t)cur + len) * rs->cluster_size;
        rs->nmft++;
    }
}

/* Issue 16, point 5: the clusters of a deleted store file are free once
 * deleted; any of them the live $Bitmap gives to a file again holds that
 * file's data now, perhaps not the store's. Those extents are marked
 * (vss_carve_mark_reused) so that reads from them are stale, not
 * evidence. A store whose file record is in use (the file still exists)
 * holds its own clusters and is not checked. */
static int check_reuse(vss_carve *c, vss_source *vol, uint32_t cluster_size)
{
    vss_fs *fs = NULL;
    vss_fs_file *f = NULL;
    vss_error e = {0, ""};
    uint8_t *bm = NULL;
    uint64_t size, nclusters, got = 0;
    int rc = VSS_OK, i;

    if (!cluster_size || vss_fs_open(vol, &fs, &e))
        return VSS_OK; /* no NTFS to ask: nothing marked, not checked */
    if (vss_fs_file_open(fs, "/$Bitmap", &f, &e))
        goto out;
    size = vss_fs_file_size(f);
    nclusters = vss_source_size(vol) / cluster_size;
    if (size > nclusters / 8 + 65536) /* hostile: more than the volume */
        goto out;
    bm = vss_malloc(size ? (size_t)size : 1);
    if (!bm) {
        rc = VSS_ENOMEM;
        goto out;
    }
    while (got < size) {
        int64_t n = vss_fs_file_read_at(f, bm + got, (size_t)(size - got),
                                        got, &e);
        if (n <= 0)
            goto out;
        got += (uint64_t)n;
    }
    for (i = 1; i <= (int)vss_carve_store_count(c); i++) {
        const vss_carved_store *st = vss_carve_store(c, i);
        const vss_block_range *r;
        size_t n, k;
        if (st->in_catalog || (st->file_record_offset && !st->file_deleted))
            continue;
        vss_carve_store_extents(c, i, &r, &n);
        for (k = 0; k < n; k++) {
            uint64_t a = r[k].volume_offset, end = r[k].volume_offset +
                                                   r[k].size, cl;
            for (cl = a / cluster_size; cl * cluster_size < end; cl++) {
                uint64_t from = cl * cluster_size, to = from + cluster_size;
                if (cl / 8 >= size || !(bm[cl / 8] >> (cl % 8) & 1))
                    continue;
                if ((rc = vss_carve_mark_reused(c, i, from < a ? a : from,
                                                to > end ? end : to)))
                    goto out;
            }
        }
    }
    vss_carve_reuse_done(c);
out:
    free(bm);
    vss_fs_file_close(f);
    vss_fs_close(fs);
    return rc;
}

/* Chunks k of [start, end) are read (their skip bit cleared). */
static void keep_chunks(uint8_t *skip, uint64_t nchunks, uint64_t start,
                        uint64_t end)
{
    uint64_t k;
    if (end <= start)
        return;
    for (k = start / CARVE_CHUNK; k <= (end - 1) / CARVE_CHUNK && k < nchunks;
         k++)
        skip[k / 8] &= (uint8_t)~(1u << (k % 8));
}

/* The extents of every file in System Volume Information (live stores,
 * the catalog, stores other volumes keep here) are read. 0 on success;
 * a volume without that folder has none. */
static int keep_svi(vss_fs *fs, uint8_t *skip, uint64_t nchunks)
{
    static const char svi[] = "/System Volume Information";
    vss_fs_entry *ent = NULL;
    size_t nent = 0, i, k;
    vss_error e = {0, ""};
    int rc = vss_fs_list(fs, svi, &ent, &nent, &e);
    if (rc)
        return rc == VSS_ENOTFOUND ? VSS_OK : rc;
    for (i = 0; i < nent && !rc; i++) {
        char path[sizeof svi + 1024];
        vss_fs_file *f = NULL;
        vss_fs_extent *x = NULL;
        size_t nx = 0;
        if (ent[i].stat_rc == VSS_OK && ent[i].st.is_directory)
            continue; /* no store file lives deeper */
        snprintf(path, sizeof path, "%s/%s", svi, ent[i].name);
        if ((rc = vss_fs_file_open(fs, path, &f, &e)) == 0 &&
            (rc = vss_fs_file_extents(f, &x, &nx, &e)) == 0)
            for (k = 0; k < nx; k++)
                if (x[k].volume_offset != VSS_FS_NO_OFFSET &&
                    !(x[k].flags & VSS_EXTENT_RESIDENT))
                    keep_chunks(skip, nchunks, x[k].volume_offset,
                                x[k].volume_offset + x[k].length);
        vss_fs_extents_free(x);
        vss_fs_file_close(f);
    }
    vss_fs_entries_free(ent, nent);
    return rc;
}

/* Issue 16, point 6: the chunks (CARVE_CHUNK) whose every cluster the live
 * $Bitmap gives to a file other than the $MFT (store file records) and the
 * files of System Volume Information (live stores, the catalog): a deleted
 * store's blocks can only be in free clusters or in clusters a new file
 * has taken (overwritten, and marked so by check_reuse). NULL (read
 * everything) when the volume's NTFS cannot be read or anything about it
 * looks wrong. */
static uint8_t *live_skip_map(record_scan *rs, vss_source *vol)
{
    uint64_t size = vss_source_size(vol);
    uint64_t nchunks = (size + CARVE_CHUNK - 1) / CARVE_CHUNK;
    uint64_t cs = rs->cluster_size, ncl, need, pos;
    vss_fs *fs = NULL;
    vss_fs_file *f = NULL;
    vss_error e = {0, ""};
    uint8_t *skip = NULL, *piece = NULL;
    size_t i;

    if (!cs || !rs->nmft || vss_fs_open(vol, &fs, &e))
        return NULL;
    ncl = size / cs;
    need = (ncl + 7) / 8;
    if (vss_fs_file_open(fs, "/$Bitmap", &f, &e) ||
        vss_fs_file_size(f) < need || vss_fs_file_size(f) > need + 65536 ||
        !(skip = vss_malloc(nchunks / 8 + 1)) || !(piece = vss_malloc(65536)))
        goto fail;
    memset(skip, 0xFF, nchunks / 8 + 1);
    for (pos = 0; pos < need;) {
        size_t want = need - pos < 65536 ? (size_t)(need - pos) : 65536, j;
        int64_t n = vss_fs_file_read_at(f, piece, want, pos, &e);
        if (n <= 0)
            goto fail;
        for (j = 0; j < (size_t)n; j++) {
            unsigned b;
            if (piece[j] == 0xFF)
                continue;
            for (b = 0; b < 8; b++) {
                uint64_t c = (pos + j) * 8 + b;
                if (c < ncl && !(piece[j] >> b & 1))
                    keep_chunks(skip, nchunks, c * cs, (c + 1) * cs);
            }
        }
        pos += (uint64_t)n;
    }
    keep_chunks(skip, nchunks, ncl * cs, size); /* no cluster: no bit */
    keep_chunks(skip, nchunks, 0, 1);           /* the boot sector */
    for (i = 0; i < rs->nmft; i++)
        keep_chunks(skip, nchunks, rs->mft[i].start, rs->mft[i].end);
    if (keep_svi(fs, skip, nchunks))
        goto fail;
    free(piece);
    vss_fs_file_close(f);
    vss_fs_close(fs);
    return skip;
fail:
    free(skip);
    free(piece);
    vss_fs_file_close(f);
    vss_fs_close(fs);
    return NULL;
}

int vss_carve_scan(vss_source *vol, const vss_carve_options *opts,
                   vss_carve **out, vss_error *err)
{
    record_scan *rs = vss_calloc(1, sizeof *rs);
    uint8_t *skip = NULL;
    int rc;
    if (!rs) {
        if (out)
            *out = NULL;
        return vss_fail(err, VSS_ENOMEM, "carve: out of memory");
    }
    if (vol) {
        read_mft_extents(rs, vol);
        if (!(opts && opts->scan_all))
            skip = live_skip_map(rs, vol);
    }
    rc = vss_carve_run(vol, opts, records_hook, rs, skip, out, err);
    free(skip);
    if (!rc && (rc = check_reuse(*out, vol, rs->cluster_size))) {
        vss_carve_close(*out);
        *out = NULL;
        rc = vss_fail(err, rc, "carve: out of memory reading $Bitmap");
    }
    free(rs);
    return rc;
}

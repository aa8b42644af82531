/*
 * container_ewf.c — Expert Witness Compression Format (EWF-E01, as written
 * by EnCase, FTK Imager and ewfacquire; SMART S01 too): segment files
 * .E01 .. .E99, .EAA .. .ZZZ, each a chain of sections (header2, header,
 * volume/data, sectors, table, table2, hash, digest, next, done). Media
 * data is cut into chunks; a table entry per chunk gives its offset, the
 * top bit flags a zlib-compressed chunk. Stored chunks carry an Adler-32.
 * Every descriptor, table and chunk is checked against its checksum.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <zlib.h>

#include "io/container.h"

#define EWF_DESC_SIZE 76u
#define EWF_MAX_SEGMENTS 14971u          /* .E01 .. .ZZZ */
#define EWF_MAX_CHUNK (64u << 20)
#define EWF_MAX_HEADER_IN (16u << 20)
#define EWF_MAX_HEADER_OUT (1u << 20)
#define EWF_MAX_CHUNKS (1ull << 32)      /* 4 G chunks: 128 TiB at 32 KiB */
#define EWF_MAX_TABLE_ENTRIES (1u << 24) /* EnCase writes 16375 a table */

typedef struct ewf_table {
    uint64_t first;    /* index of its first chunk */
    uint32_t count;
    uint32_t seg;      /* 0-based segment */
    uint64_t base;     /* entries are relative to this file offset */
    uint64_t end;      /* where the last chunk's data ends */
    uint64_t where;    /* file offset of the table section, for messages */
} ewf_table;

typedef struct ewf_ct {
    vss_container base;
    vss_source **segs;
    char **names;
    size_t nsegs;
    uint32_t chunk_size;
    uint64_t nchunks;
    uint32_t *entries;   /* grown as tables are read: memory follows the
                            tables on disk, not a count from the volume */
    uint64_t nentries, ecap;
    ewf_table *tables;
    size_t ntables, tcap;
    ct_cache cache;
    /* The stored bytes of a compressed chunk that inflated to all zeros:
     * the same bytes always inflate the same, so such chunks (most of a
     * disk) are not inflated again. */
    pthread_mutex_t zlock;
    uint8_t zsig[256];
    size_t zsig_len;
} ewf_ct;

/* ---- segment names -------------------------------------------------------------- */

/* NAME.E01 -> NAME.Ennn for 1-based segment n (.E99, then .EAA ... .ZZZ),
 * keeping the case of the first segment's extension. */
static int ewf_segment_name(const char *first, uint32_t n, char *out,
                            size_t outsz)
{
    size_t len = strlen(first);
    char c0, ext[8];
    int lower;
    if (len < 4 || first[len - 4] != '.' || first[len - 2] != '0' ||
        first[len - 1] != '1')
        return -1;
    c0 = first[len - 3];
    lower = c0 >= 'a' && c0 <= 'z';
    if (!lower && !(c0 >= 'A' && c0 <= 'Z'))
        return -1;
    if (n >= 1 && n <= 99) {
        snprintf(ext, sizeof ext, "%c%02u", c0, n % 100u);
    } else if (n >= 100) {
        uint32_t i = n - 100;
        char base = lower ? 'a' : 'A';
        uint32_t c1 = (uint32_t)(c0 - base) + i / 676;
        if (c1 >= 26)
            return -1;
        ext[0] = (char)(base + (int)c1);
        ext[1] = (char)(base + (int)(i / 26 % 26));
        ext[2] = (char)(base + (int)(i % 26));
        ext[3] = '\0';
    } else {
        return -1;
    }
    if (len + 1 > outsz)
        return -1;
    memcpy(out, first, len - 3);
    memcpy(out + len - 3, ext, 4);
    return 0;
}

/* ---- header / header2: acquisition metadata ------------------------------------------ */

/* Inflate a zlib stream into exactly out[0..cap): the stream may end
 * before (fewer bytes, *outlen says how many) but must not produce more. */
static int inflate_bounded(const uint8_t *in, size_t inlen, uint8_t *out,
                           size_t cap, size_t *outlen, const char **msg)
{
    z_stream z;
    int zr;
    memset(&z, 0, sizeof z);
    if (inflateInit(&z) != Z_OK) {
        *msg = "zlib init failed";
        return VSS_ENOMEM;
    }
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)inlen;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    zr = inflate(&z, Z_FINISH);
    *outlen = cap - z.avail_out;
    if ((zr == Z_OK || zr == Z_BUF_ERROR) && z.avail_out == 0) {
        /* full: does the stream end here, or is there more? */
        uint8_t extra;
        z.next_out = &extra;
        z.avail_out = 1;
        zr = inflate(&z, Z_FINISH);
        if (z.avail_out == 0) {
            inflateEnd(&z);
            *msg = "inflates past its size";
            return VSS_ECORRUPT;
        }
    }
    inflateEnd(&z);
    if (zr == Z_STREAM_END)
        return VSS_OK;
    if (zr == Z_BUF_ERROR) {
        *msg = "compressed data ends early";
        return VSS_ECORRUPT;
    }
    *msg = z.msg ? z.msg : "zlib error";
    return zr == Z_MEM_ERROR ? VSS_ENOMEM : VSS_ECORRUPT;
}

static size_t put_utf8(char *o, uint32_t c)
{
    if (c < 0x80) {
        o[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        o[0] = (char)(0xc0 | c >> 6);
        o[1] = (char)(0x80 | (c & 0x3f));
        return 2;
    }
    if (c < 0x10000) {
        o[0] = (char)(0xe0 | c >> 12);
        o[1] = (char)(0x80 | (c >> 6 & 0x3f));
        o[2] = (char)(0x80 | (c & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | c >> 18);
    o[1] = (char)(0x80 | (c >> 12 & 0x3f));
    o[2] = (char)(0x80 | (c >> 6 & 0x3f));
    o[3] = (char)(0x80 | (c & 0x3f));
    return 4;
}

/* header2 (UTF-16 with BOM) or header (8-bit, taken as Latin-1) to UTF-8. */
static char *header_text(const uint8_t *p, size_t n, int utf16)
{
    char *o = vss_malloc(n * 2 + 4), *w = o;
    size_t i;
    if (!o)
        return NULL;
    if (utf16) {
        int be = n >= 2 && p[0] == 0xfe && p[1] == 0xff;
        i = n >= 2 && ((p[0] == 0xff && p[1] == 0xfe) || be) ? 2 : 0;
        for (; i + 1 < n; i += 2) {
            uint32_t c = be ? (uint32_t)p[i] << 8 | p[i + 1]
                            : (uint32_t)p[i + 1] << 8 | p[i];
            if (c >= 0xd800 && c < 0xdc00 && i + 3 < n) {
                uint32_t c2 = be ? (uint32_t)p[i + 2] << 8 | p[i + 3]
                                 : (uint32_t)p[i + 3] << 8 | p[i + 2];
                if (c2 >= 0xdc00 && c2 < 0xe000) {
                    c = 0x10000 + ((c - 0xd800) << 10) + (c2 - 0xdc00);
                    i += 2;
                }
            }
            if (c == 0)
                break;
            w += put_utf8(w, c);
        }
    } else {
        for (i = 0; i < n && p[i]; i++)
            w += put_utf8(w, p[i]);
    }
    *w = '\0';
    return o;
}

static void set_field(char *dst, size_t dstsz, const char *v, size_t vlen)
{
    if (dst[0] || vlen == 0)
        return; /* header2 came first and wins */
    if (vlen >= dstsz)
        vlen = dstsz - 1;
    memcpy(dst, v, vlen);
    dst[vlen] = '\0';
}

static void set_date(char *dst, size_t dstsz, const char *v, size_t vlen)
{
    char tmp[64];
    int y, mo, d, h, mi, s;
    if (dst[0] || vlen == 0 || vlen >= sizeof tmp)
        return;
    memcpy(tmp, v, vlen);
    tmp[vlen] = '\0';
    if (strspn(tmp, "0123456789") == vlen) {
        /* header2: seconds since 1970 (UTC) */
        time_t t = (time_t)strtoll(tmp, NULL, 10);
        struct tm tm;
        if (gmtime_r(&t, &tm))
            strftime(dst, dstsz, "%Y-%m-%dT%H:%M:%SZ", &tm);
    } else if (sscanf(tmp, "%d %d %d %d %d %d", &y, &mo, &d, &h, &mi, &s) ==
               6) {
        /* header: the acquiring machine's local time */
        snprintf(dst, dstsz, "%04d-%02d-%02dT%02d:%02d:%02d", y % 10000,
                 mo % 100, d % 100, h % 100, mi % 100, s % 100);
    } else {
        set_field(dst, dstsz, v, vlen);
    }
}

/* Lines: count, "main", keys, values (tab separated). */
static void header_parse(vss_container_info *info, const char *t)
{
    const char *lines[4] = {0};
    size_t lens[4] = {0};
    const char *p = t;
    int idx = -1;
    while (*p && idx < 3) {
        const char *e = strchr(p, '\n');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        size_t l2 = l && p[l - 1] == '\r' ? l - 1 : l;
        if (idx < 0) {
            if (l2 == 4 && memcmp(p, "main", 4) == 0)
                idx = 0;
        } else {
            lines[idx] = p;
            lens[idx] = l2;
            idx++;
        }
        p = e ? e + 1 : p + l;
    }
    if (idx < 2)
        return;
    {
        const char *k = lines[0], *ke = lines[0] + lens[0];
        const char *v = lines[1], *ve = lines[1] + lens[1];
        while (k < ke) {
            const char *kt = memchr(k, '\t', (size_t)(ke - k));
            const char *vt = v < ve ? memchr(v, '\t', (size_t)(ve - v)) : NULL;
            size_t kl = kt ? (size_t)(kt - k) : (size_t)(ke - k);
            size_t vl = v < ve ? (vt ? (size_t)(vt - v) : (size_t)(ve - v)) : 0;
#define KEY(s) (kl == sizeof(s) - 1 && memcmp(k, s, kl) == 0)
            if (KEY("c"))
                set_field(info->case_number, sizeof info->case_number, v, vl);
            else if (KEY("n"))
                set_field(info->evidence_number, sizeof info->evidence_number,
                          v, vl);
            else if (KEY("a"))
                set_field(info->description, sizeof info->description, v, vl);
            else if (KEY("e"))
                set_field(info->examiner, sizeof info->examiner, v, vl);
            else if (KEY("t"))
                set_field(info->notes, sizeof info->notes, v, vl);
            else if (KEY("av"))
                set_field(info->acquiry_software,
                          sizeof info->acquiry_software, v, vl);
            else if (KEY("ov"))
                set_field(info->acquiry_os, sizeof info->acquiry_os, v, vl);
            else if (KEY("md"))
                set_field(info->model, sizeof info->model, v, vl);
            else if (KEY("sn"))
                set_field(info->serial_number, sizeof info->serial_number, v,
                          vl);
            else if (KEY("m"))
                set_date(info->acquiry_date, sizeof info->acquiry_date, v, vl);
            else if (KEY("u"))
                set_date(info->system_date, sizeof info->system_date, v, vl);
#undef KEY
            k = kt ? kt + 1 : ke;
            v = vt ? vt + 1 : ve;
        }
    }
}

/* ---- opening ---------------------------------------------------------------------------- */

typedef struct ewf_open_state {
    int have_volume;
    uint64_t sectors;
    uint32_t bps, spc;
    int have_header2, have_header;
    /* the table section whose table2 copy may stand in for it */
    int table_bad;
    vss_error table_err;
    uint64_t sectors_end; /* of the sectors section in this segment; 0 none */
    int any_compressed;
    int smart;            /* 94-byte volume section (SMART / EWF-S01) */
} ewf_open_state;

static int ewf_fail(vss_error *err, int code, const ewf_ct *w, size_t seg,
                    uint64_t off, const char *fmt, ...) VSS_PRINTF(6, 7);

static int ewf_fail(vss_error *err, int code, const ewf_ct *w, size_t seg,
                    uint64_t off, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return vss_fail(err, code, "EWF segment %zu (%s), offset %llu: %s",
                    seg + 1, w->names[seg], (unsigned long long)off, msg);
}

/* The data of a section (at most cap bytes of it are read; the whole
 * section must lie in the file and hold at most max bytes). */
static int ewf_read_section_data(ewf_ct *w, size_t seg, uint64_t off,
                                 uint64_t size, uint64_t max, uint64_t cap,
                                 uint8_t **out, size_t *len,
                                 const char *type, vss_error *err)
{
    uint64_t fsize = vss_source_size(w->segs[seg]);
    uint8_t *buf;
    int rc;
    *out = NULL;
    if (size < EWF_DESC_SIZE || size - EWF_DESC_SIZE > max)
        return ewf_fail(err, VSS_ECORRUPT, w, seg, off,
                        "%s section size %llu out of bounds", type,
                        (unsigned long long)size);
    if (off + size > fsize)
        return ewf_fail(err, VSS_ECORRUPT, w, seg, off,
                        "%s section (%llu bytes) runs past the end of the "
                        "file (%llu bytes): truncated segment?",
                        type, (unsigned long long)size,
                        (unsigned long long)fsize);
    *len = (size_t)(size - EWF_DESC_SIZE < cap ? size - EWF_DESC_SIZE : cap);
    buf = vss_malloc(*len ? *len : 1);
    if (!buf)
        return vss_fail(err, VSS_ENOMEM, "EWF %s section: out of memory",
                        type);
    rc = ct_read(w->segs[seg], buf, *len, off + EWF_DESC_SIZE, "EWF section",
                 err);
    if (rc) {
        free(buf);
        return rc;
    }
    *out = buf;
    return VSS_OK;
}

static int ewf_header_section(ewf_ct *w, size_t seg, uint64_t off,
                              uint64_t size, int utf16, vss_error *err)
{
    uint8_t *in, *txt;
    size_t inlen, outlen;
    const char *msg = NULL;
    char *t;
    int rc = ewf_read_section_data(w, seg, off, size, EWF_MAX_HEADER_IN,
                                   EWF_MAX_HEADER_IN, &in, &inlen, utf16 ? "header2" : "header", err);
    if (rc)
        return rc;
    txt = vss_malloc(EWF_MAX_HEADER_OUT);
    if (!txt) {
        free(in);
        return vss_fail(err, VSS_ENOMEM, "EWF header: out of memory");
    }
    rc = inflate_bounded(in, inlen, txt, EWF_MAX_HEADER_OUT, &outlen, &msg);
    free(in);
    if (rc) {
        free(txt);
        return ewf_fail(err, rc, w, seg, off, "%s section: %s",
                        utf16 ? "header2" : "header", msg);
    }
    t = header_text(txt, outlen, utf16);
    free(txt);
    if (!t)
        return vss_fail(err, VSS_ENOMEM, "EWF header: out of memory");
    header_parse(&w->base.info, t);
    free(t);
    return VSS_OK;
}

static int ewf_volume_section(ewf_ct *w, ewf_open_state *st, size_t seg,
                              uint64_t off, uint64_t size, vss_error *err)
{
    uint8_t *d;
    size_t len;
    uint64_t sectors;
    uint32_t spc, bps;
    int rc = ewf_read_section_data(w, seg, off, size, 1u << 20, 1u << 20, &d,
                                   &len, "volume", err);
    if (rc)
        return rc;
    if (len >= 1052) {
        if (adler32(1, d, 1048) != vss_le32(d + 1048)) {
            free(d);
            return ewf_fail(err, VSS_ECORRUPT, w, seg, off,
                            "volume section: checksum mismatch");
        }
        sectors = vss_le64(d + 16);
    } else if (len >= 94) {
        if (adler32(1, d, 90) != vss_le32(d + 90)) {
            free(d);
            return ewf_fail(err, VSS_ECORRUPT, w, seg, off,
                            "volume section (SMART): checksum mismatch");
        }
        sectors = vss_le32(d + 16);
        st->smart = 1;
    } else {
        free(d);
        return ewf_fail(err, VSS_ECORRUPT, w, seg, off,
                        "volume section: %zu bytes, too short", len);
    }
    spc = vss_le32(d + 8);
    bps = vss_le32(d + 12);
    free(d);
    if (st->have_volume) {
        if (spc != st->spc || bps != st->bps || sectors != st->sectors)
            return ewf_fail(err, VSS_ECORRUPT, w, seg, off,
                            "data section disagrees with the volume section "
                            "of segment 1");
        return VSS_OK;
    }
    if (bps == 0 || bps > 65536 || spc == 0 ||
        (uint64_t)spc * bps > EWF_MAX_CHUNK)
        return ewf_fail(err, VSS_ECORRUPT, w, seg, off,
                        "volume section: %u sectors per chunk of %u bytes is "
                        "out of bounds", spc, bps);
    if (sectors == 0 || sectors > UINT64_MAX / bps)
        return ewf_fail(err, VSS_ECORRUPT, w, seg, off,
                        "volume section: sector count %llu out of bounds",
                        (unsigned long long)sectors);
    st->have_volume = 1;
    st->sectors = sectors;
    st->spc = spc;
    st->bps = bps;
    w->chunk_size = spc * bps;
    w->base.size = sectors * bps;
    w->nchunks = (w->base.size + w->chunk_size - 1) / w->chunk_size;
    if (w->nchunks > EWF_MAX_CHUNKS)
        return ewf_fail(err, VSS_ECORRUPT, w, seg, off,
                        "volume section: %llu chunks is out of bounds",
                        (unsigned long long)w->nchunks);
    return VSS_OK;
}

/* A table (or table2) section: check it and append its entries. */
static int ewf_table_section(ewf_ct *w, ewf_open_state *st, size_t seg,
                             uint64_t off, uint64_t size, const char *type,
                             vss_error *err)
{
    uint8_t *d;
    size_t len;
    uint32_t count, i;
    uint64_t base, end, limit;
    ewf_table *t;
    int rc;

    if (!st->have_volume)
        return ewf_fail(err, VSS_ECORRUPT, w, seg, off,
                        "%s section before the volume section", type);
    /* EnCase 1 and SMART keep the chunks inside the table section: read
     * only the header and the entries (at most 2^24 of them). */
    {
        uint64_t left = w->nchunks - w->nentries;
        if (left > EWF_MAX_TABLE_ENTRIES)
            left = EWF_MAX_TABLE_ENTRIES;
        rc = ewf_read_section_data(w, seg, off, size, UINT64_MAX,
                                   24 + 4 * left + 4, &d, &len, type, err);
    }
    if (rc)
        return rc;
    if (len < 24) {
        free(d);
        return ewf_fail(err, VSS_ECORRUPT, w, seg, off,
                        "%s section: %zu bytes, too short", type, len);
    }
    if (adler32(1, d, 20) != vss_le32(d + 20)) {
        free(d);
        return ewf_fail(err, VSS_ECORRUPT, w, seg, off,
                        "%s header: checksum mismatch", type);
    }
    count = vss_le32(d);
    base = vss_le64(d + 8);
    if (count == 0 || count > (len - 24) / 4 ||
        count > w->nchunks - w->nentries) {
        free(d);
        return ewf_fail(err, VSS_ECORRUPT, w, seg, off,
                        "%s: %u entries out of bounds (section holds %zu, "
                        "%llu chunks left)", type, count, (len - 24) / 4,
                        (unsigned long long)(w->nchunks - w->nentries));
    }
    if (st->sectors_end && len >= 24 + (size_t)count * 4 + 4 &&
        adler32(1, d + 24, count * 4) !=
            vss_le32(d + 24 + (size_t)count * 4)) {
        free(d);
        return ewf_fail(err, VSS_ECORRUPT, w, seg, off,
                        "%s entries: checksum mismatch", type);
    }
    end = st->sectors_end ? st->sectors_end : off + size;
    limit = vss_source_size(w->segs[seg]);
    if (end > limit)
        end = limit;
    for (i = 0; i < count; i++) {
        uint32_t e = vss_le32(d + 24 + (size_t)i * 4);
        uint64_t at = base + (e & 0x7fffffffu);
        uint64_t next = i + 1 < count
                            ? base + (vss_le32(d + 28 + (size_t)i * 4) &
                                      0x7fffffffu)
                            : end;
        if (at >= end || next <= at || next > end) {
            free(d);
            return ewf_fail(err, VSS_ECORRUPT, w, seg, off,
                            "%s entry %u: chunk at offset %llu (next at %llu) "
                            "is outside the chunk data (ends at %llu)", type,
                            i, (unsigned long long)at,
                            (unsigned long long)next,
                            (unsigned long long)end);
        }
        if (e & 0x80000000u)
            st->any_compressed = 1;
    }
    if (w->nentries + count > w->ecap) {
        uint64_t ncap = w->ecap ? w->ecap * 2 : 65536;
        uint32_t *ne;
        while (ncap < w->nentries + count)
            ncap *= 2;
        if (ncap > w->nchunks)
            ncap = w->nchunks;
        ne = vss_realloc(w->entries, (size_t)ncap * sizeof *ne);
        if (!ne) {
            free(d);
            return vss_fail(err, VSS_ENOMEM,
                            "EWF: out of memory for %llu chunk entries",
                            (unsigned long long)ncap);
        }
        w->entries = ne;
        w->ecap = ncap;
    }
    if (w->ntables == w->tcap) {
        size_t ncap = w->tcap ? w->tcap * 2 : 16;
        ewf_table *nt = vss_realloc(w->tables, ncap * sizeof *nt);
        if (!nt) {
            free(d);
            return vss_fail(err, VSS_ENOMEM, "EWF: out of memory");
        }
        w->tables = nt;
        w->tcap = ncap;
    }
    t = &w->tables[w->ntables++];
    t->first = w->nentries;
    t->count = count;
    t->seg = (uint32_t)seg;
    t->base = base;
    t->end = end;
    t->where = off;
    for (i = 0; i < count; i++)
        w->entries[w->nentries + i] = vss_le32(d + 24 + (size_t)i * 4);
    w->nentries += count;
    free(d);
    return VSS_OK;
}

static int ewf_hash_section(ewf_ct *w, size_t seg, uint64_t off,
                            uint64_t size, int digest, vss_error *err)
{
    uint8_t *d;
    size_t len, need = digest ? 80 : 36;
    static const uint8_t zero[20];
    int rc = ewf_read_section_data(w, seg, off, size, 1u << 16, 1u << 16, &d,
                                   &len,
                                   digest ? "digest" : "hash", err);
    if (rc)
        return rc;
    if (len < need ||
        adler32(1, d, (uInt)(need - 4)) != vss_le32(d + need - 4)) {
        free(d);
        return ewf_fail(err, VSS_ECORRUPT, w, seg, off,
                        "%s section: too short or checksum mismatch",
                        digest ? "digest" : "hash");
    }
    if (memcmp(d, zero, 16) != 0) {
        memcpy(w->base.info.md5, d, 16);
        w->base.info.has_md5 = 1;
    }
    if (digest && memcmp(d + 16, zero, 20) != 0) {
        memcpy(w->base.info.sha1, d + 16, 20);
        w->base.info.has_sha1 = 1;
    }
    free(d);
    return VSS_OK;
}

/* Walk the sections of one segment: 1 = continues in the next segment
 * ("next"), 0 = last segment ("done"), < 0 error. */
static int ewf_walk_segment(ewf_ct *w, ewf_open_state *st, size_t seg,
                            vss_error *err)
{
    vss_source *src = w->segs[seg];
    uint64_t fsize = vss_source_size(src), off = 13;
    uint8_t fh[13];
    int rc;

    rc = ct_read(src, fh, sizeof fh, 0, "EWF file header", err);
    if (rc)
        return rc;
    if (memcmp(fh, "EVF\x09\x0d\x0a\xff\x00", 8) != 0 || fh[8] != 1)
        return ewf_fail(err, VSS_ECORRUPT, w, seg, 0,
                        "not an EWF segment file (bad signature)");
    if (vss_le16(fh + 9) != seg + 1)
        return ewf_fail(err, VSS_ECORRUPT, w, seg, 9,
                        "file header says segment %u, expected %zu",
                        vss_le16(fh + 9), seg + 1);
    st->sectors_end = 0;
    st->table_bad = 0;
    for (;;) {
        uint8_t d[EWF_DESC_SIZE];
        char type[17];
        uint64_t next, size;

        if (off > fsize || fsize - off < EWF_DESC_SIZE)
            return ewf_fail(err, VSS_EIO, w, seg, off,
                            "section descriptor past the end of the file "
                            "(%llu bytes): truncated segment",
                            (unsigned long long)fsize);
        rc = ct_read(src, d, sizeof d, off, "EWF section descriptor", err);
        if (rc)
            return rc;
        if (adler32(1, d, 72) != vss_le32(d + 72))
            return ewf_fail(err, VSS_ECORRUPT, w, seg, off,
                            "section descriptor: checksum mismatch");
        memcpy(type, d, 16);
        type[16] = '\0';
        next = vss_le64(d + 16);
        size = vss_le64(d + 24);

        if (strcmp(type, "next") == 0 || strcmp(type, "done") == 0) {
            if (st->table_bad)
                return vss_fail(err, st->table_err.code, "%s",
                                st->table_err.message);
            return strcmp(type, "next") == 0 ? 1 : 0;
        }
        if (strcmp(type, "table2") != 0 && st->table_bad)
            return vss_fail(err, st->table_err.code,
                            "%s (and no table2 copy follows)",
                            st->table_err.message);
        if (strcmp(type, "header2") == 0 || strcmp(type, "header") == 0) {
            int utf16 = type[6] == '2';
            if (seg == 0 && !(utf16 ? st->have_header2 : st->have_header)) {
                /* Damaged metadata text is not worth refusing the image. */
                vss_error e = {0};
                if (ewf_header_section(w, seg, off, size, utf16, &e) ==
                    VSS_OK) {
                    if (utf16)
                        st->have_header2 = 1;
                    else
                        st->have_header = 1;
                }
            }
        } else if (strcmp(type, "volume") == 0 || strcmp(type, "disk") == 0 ||
                   strcmp(type, "data") == 0) {
            rc = ewf_volume_section(w, st, seg, off, size, err);
            if (rc)
                return rc;
        } else if (strcmp(type, "sectors") == 0) {
            if (size < EWF_DESC_SIZE || off + size > fsize)
                return ewf_fail(err, VSS_EIO, w, seg, off,
                                "sectors section (%llu bytes) runs past the "
                                "end of the file (%llu bytes): truncated "
                                "segment", (unsigned long long)size,
                                (unsigned long long)fsize);
            st->sectors_end = off + size;
        } else if (strcmp(type, "table") == 0) {
            vss_error e = {0};
            rc = ewf_table_section(w, st, seg, off, size, type, &e);
            if (rc == VSS_ECORRUPT) {
                st->table_bad = 1;
                st->table_err = e;
            } else if (rc) {
                return vss_fail(err, rc, "%s", e.message);
            }
        } else if (strcmp(type, "table2") == 0) {
            if (st->table_bad) {
                rc = ewf_table_section(w, st, seg, off, size, type, err);
                if (rc)
                    return rc;
                st->table_bad = 0;
            }
        } else if (strcmp(type, "hash") == 0 || strcmp(type, "digest") == 0) {
            rc = ewf_hash_section(w, seg, off, size, type[0] == 'd', err);
            if (rc)
                return rc;
        }
        /* Sections follow each other: the chain only goes forward. */
        if (next <= off)
            return ewf_fail(err, VSS_ECORRUPT, w, seg, off,
                            "%s section: next section offset %llu does not "
                            "go forward (loop)", type,
                            (unsigned long long)next);
        if (next > fsize)
            return ewf_fail(err, VSS_EIO, w, seg, off,
                            "%s section: next section at %llu is past the end "
                            "of the file (%llu bytes): truncated segment",
                            type, (unsigned long long)next,
                            (unsigned long long)fsize);
        off = next;
    }
}

/* ---- reading ------------------------------------------------------------------------------- */

static int all_zero(const uint8_t *p, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

/* Load chunk k (checked) into out (chunk_size bytes, zeros past the
 * media). */
static int ewf_load_chunk(ewf_ct *w, uint64_t k, uint8_t *out)
{
    size_t lo = 0, hi = w->ntables;
    const ewf_table *t;
    uint32_t e, i;
    uint64_t at, end, stored;
    size_t want = w->chunk_size, readlen;
    uint8_t *raw;
    vss_error re = {0};
    int rc;

    if (k >= w->nentries)
        return ct_fail(&w->base, VSS_ECORRUPT,
                       "EWF: chunk %llu is in no table (%llu chunks listed)",
                       (unsigned long long)k,
                       (unsigned long long)w->nentries);
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (w->tables[mid].first <= k)
            lo = mid;
        else
            hi = mid;
    }
    t = &w->tables[lo];
    i = (uint32_t)(k - t->first);
    e = w->entries[k];
    at = t->base + (e & 0x7fffffffu);
    end = i + 1 < t->count ? t->base + (w->entries[k + 1] & 0x7fffffffu)
                           : t->end;
    stored = end - at;
    if (k * w->chunk_size + want > w->base.size)
        want = (size_t)(w->base.size - k * w->chunk_size);
    memset(out + want, 0, w->chunk_size - want);

    if (!(e & 0x80000000u)) {
        /* stored: data + Adler-32. The data is normally exactly the media
         * bytes of the chunk; a writer may keep a whole chunk, or a partial
         * last sector the media size leaves out (ewfacquire): then the
         * checksum sits at the end of what is stored. */
        size_t n = want, alt = want;
        uint8_t *buf;
        uint32_t sum;
        if (stored < (uint64_t)want + 4)
            return ct_fail(&w->base, VSS_ECORRUPT,
                           "EWF chunk %llu (segment %u %s, offset %llu, table "
                           "at %llu entry %u): %llu bytes stored, %zu needed",
                           (unsigned long long)k, t->seg + 1,
                           w->names[t->seg], (unsigned long long)at,
                           (unsigned long long)t->where, i,
                           (unsigned long long)stored, want + 4);
        if (stored - 4 > want && stored - 4 <= w->chunk_size)
            n = (size_t)(stored - 4);
        buf = vss_malloc(n + 4);
        if (!buf)
            return ct_fail(&w->base, VSS_ENOMEM, "EWF chunk: out of memory");
        rc = ct_read(w->segs[t->seg], buf, n + 4, at, "EWF chunk", &re);
        if (rc) {
            free(buf);
            return ct_fail(&w->base, rc, "EWF chunk %llu (segment %u %s): %s",
                           (unsigned long long)k, t->seg + 1,
                           w->names[t->seg], re.message);
        }
        sum = (uint32_t)adler32(1, buf, (uInt)n);
        if (sum != vss_le32(buf + n) && n != alt &&
            (uint32_t)adler32(1, buf, (uInt)alt) == vss_le32(buf + alt)) {
            n = alt; /* padding after the chunk */
            sum = vss_le32(buf + n);
        }
        if (sum != vss_le32(buf + n)) {
            uint32_t want_sum = vss_le32(buf + n);
            free(buf);
            return ct_fail(&w->base, VSS_ECORRUPT,
                           "EWF chunk %llu (segment %u %s, offset %llu, table "
                           "at %llu entry %u): Adler-32 mismatch (stored "
                           "0x%08x, computed 0x%08x)", (unsigned long long)k,
                           t->seg + 1, w->names[t->seg],
                           (unsigned long long)at,
                           (unsigned long long)t->where, i, want_sum, sum);
        }
        memcpy(out, buf, want);
        free(buf);
        return VSS_OK;
    }

    /* zlib: inflate to exactly `want` bytes (or a padded full chunk) */
    {
        size_t got = 0, cap = w->chunk_size;
        const char *msg = NULL;
        uint8_t small[256];
        int zero_hit = 0;
        readlen = stored > (uint64_t)w->chunk_size * 2 + 4096
                      ? (size_t)w->chunk_size * 2 + 4096
                      : (size_t)stored;
        raw = readlen <= sizeof small ? small : vss_malloc(readlen);
        if (!raw)
            return ct_fail(&w->base, VSS_ENOMEM, "EWF chunk: out of memory");
        rc = ct_read(w->segs[t->seg], raw, readlen, at, "EWF chunk", &re);
        if (rc) {
            if (raw != small)
                free(raw);
            return ct_fail(&w->base, rc, "EWF chunk %llu (segment %u %s): %s",
                           (unsigned long long)k, t->seg + 1,
                           w->names[t->seg], re.message);
        }
        if (want == cap && raw == small) {
            pthread_mutex_lock(&w->zlock);
            zero_hit = w->zsig_len == readlen &&
                       memcmp(w->zsig, raw, readlen) == 0;
            pthread_mutex_unlock(&w->zlock);
        }
        if (zero_hit) {
            memset(out, 0, cap);
            return VSS_OK;
        }
        rc = inflate_bounded(raw, readlen, out, cap, &got, &msg);
        if (rc == VSS_OK && raw == small && want == cap && got == cap &&
            all_zero(out, cap)) {
            pthread_mutex_lock(&w->zlock);
            if (w->zsig_len == 0) {
                memcpy(w->zsig, raw, readlen);
                w->zsig_len = readlen;
            }
            pthread_mutex_unlock(&w->zlock);
        }
        if (raw != small)
            free(raw);
        if (rc == VSS_OK && got < want) {
            rc = VSS_ECORRUPT;
            msg = "inflates to fewer bytes than the chunk holds";
        }
        if (rc) {
            return ct_fail(&w->base, rc,
                           "EWF chunk %llu (segment %u %s, offset %llu, table "
                           "at %llu entry %u, zlib, %llu bytes stored): %s "
                           "(%zu bytes out, %zu expected)",
                           (unsigned long long)k, t->seg + 1,
                           w->names[t->seg], (unsigned long long)at,
                           (unsigned long long)t->where, i,
                           (unsigned long long)stored, msg, got, want);
        }
        memset(out + want, 0, cap - want);
    }
    return VSS_OK;
}

static int64_t ewf_read(vss_container *c, void *buf, size_t len, uint64_t off)
{
    ewf_ct *w = (ewf_ct *)c;
    uint8_t *chunk = NULL;
    size_t done = 0;

    while (done < len) {
        uint64_t pos = off + done, k = pos / w->chunk_size;
        size_t in = (size_t)(pos % w->chunk_size);
        size_t take = w->chunk_size - in;
        if (take > len - done)
            take = len - done;
        if (in == 0 && take == w->chunk_size) {
            /* a whole chunk: straight into the caller's buffer */
            if (!ct_cache_get(&w->cache, k, (uint8_t *)buf + done, 0, take)) {
                int rc = ewf_load_chunk(w, k, (uint8_t *)buf + done);
                if (rc) {
                    free(chunk);
                    return rc;
                }
            }
        } else if (!ct_cache_get(&w->cache, k, (uint8_t *)buf + done, in,
                                 take)) {
            int rc;
            if (!chunk) {
                chunk = vss_malloc(w->chunk_size);
                if (!chunk)
                    return ct_fail(c, VSS_ENOMEM, "EWF: out of memory");
            }
            rc = ewf_load_chunk(w, k, chunk);
            if (rc) {
                free(chunk);
                return rc;
            }
            ct_cache_put(&w->cache, k, chunk);
            memcpy((uint8_t *)buf + done, chunk + in, take);
        }
        done += take;
    }
    free(chunk);
    return (int64_t)len;
}

static void ewf_destroy(vss_container *c)
{
    ewf_ct *w = (ewf_ct *)c;
    size_t i;
    for (i = 0; i < w->nsegs; i++) {
        vss_source_release(w->segs[i]);
        free(w->names[i]);
    }
    free(w->segs);
    free(w->names);
    free(w->entries);
    free(w->tables);
    ct_cache_free(&w->cache);
    pthread_mutex_destroy(&w->zlock);
    ct_fini(c);
    free(w);
}

static int ewf_add_segment(ewf_ct *w, vss_source *src, const char *name,
                           vss_error *err)
{
    vss_source **ns = vss_realloc(w->segs, (w->nsegs + 1) * sizeof *ns);
    char **nn;
    if (ns)
        w->segs = ns;
    nn = ns ? vss_realloc(w->names, (w->nsegs + 1) * sizeof *nn) : NULL;
    if (nn)
        w->names = nn;
    if (!ns || !nn || !(w->names[w->nsegs] = strdup(name))) {
        vss_source_release(src);
        return vss_fail(err, VSS_ENOMEM, "EWF: out of memory");
    }
    w->segs[w->nsegs++] = src;
    return VSS_OK;
}

int ct_ewf_open(vss_source *file, const char *path, vss_container **out,
                vss_error *err)
{
    ewf_open_state st;
    ewf_ct *w;
    size_t nslots;
    int rc;

    *out = NULL;
    memset(&st, 0, sizeof st);
    w = vss_calloc(1, sizeof *w);
    if (!w)
        return vss_fail(err, VSS_ENOMEM, "EWF: out of memory");
    ct_init(&w->base, VSS_CONTAINER_EWF, path);
    pthread_mutex_init(&w->zlock, NULL);
    w->base.read = ewf_read;
    w->base.destroy = ewf_destroy;
    vss_source_retain(file);
    rc = ewf_add_segment(w, file, path, err);
    if (rc)
        goto fail;
    for (;;) {
        char name[4096];
        vss_source *src = NULL;
        vss_error e = {0};
        rc = ewf_walk_segment(w, &st, w->nsegs - 1, err);
        if (rc < 0)
            goto fail;
        if (rc == 0)
            break;
        if (w->nsegs >= EWF_MAX_SEGMENTS ||
            ewf_segment_name(path, (uint32_t)w->nsegs + 1, name,
                             sizeof name) != 0) {
            rc = vss_fail(err, VSS_ENOTFOUND,
                          "EWF segment %zu (%s) ends with a 'next' section, "
                          "but the next segment's name cannot be derived "
                          "(name the first segment NAME.E01)",
                          w->nsegs, w->names[w->nsegs - 1]);
            goto fail;
        }
        rc = vss_source_open_file(name, &src, &e);
        if (rc) {
            rc = vss_fail(err, rc,
                          "EWF segment %zu %s: %s (segment %zu ends "
                          "with a 'next' section)", w->nsegs + 1,
                          rc == VSS_ENOTFOUND ? "missing" : "unusable",
                          e.message, w->nsegs);
            goto fail;
        }
        rc = ewf_add_segment(w, src, name, err);
        if (rc)
            goto fail;
    }
    if (!st.have_volume) {
        rc = vss_fail(err, VSS_ECORRUPT, "EWF %s: no volume section", path);
        goto fail;
    }
    if (w->nentries < w->nchunks) {
        rc = vss_fail(err, VSS_ECORRUPT,
                      "EWF %s: the tables list %llu chunks, the volume "
                      "section says %llu (missing table or segment?)",
                      path, (unsigned long long)w->nentries,
                      (unsigned long long)w->nchunks);
        goto fail;
    }
    nslots = (8u << 20) / w->chunk_size;
    nslots = nslots < 4 ? 4 : nslots > 64 ? 64 : nslots;
    if (ct_cache_init(&w->cache, nslots, w->chunk_size) != VSS_OK) {
        rc = vss_fail(err, VSS_ENOMEM, "EWF: out of memory for the cache");
        goto fail;
    }
    {
        vss_container_info *in = &w->base.info;
        size_t i;
        in->segments = (uint32_t)w->nsegs;
        in->media_size = w->base.size;
        in->chunk_size = w->chunk_size;
        in->sector_size = st.bps;
        in->compressed = st.any_compressed;
        for (i = 0; i < w->nsegs; i++)
            in->stored_size += vss_source_size(w->segs[i]);
        snprintf(in->format, sizeof in->format, "%s",
                 st.smart ? "EWF (SMART/S01 layout)" : "EWF (E01)");
    }
    *out = &w->base;
    return VSS_OK;
fail:
    ewf_destroy(&w->base);
    return rc;
}

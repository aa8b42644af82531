/*
 * fz_container.h — shared by fuzz_container.c (one file) and fuzz_multi.c
 * (segment sets, backing files): writing a container file from an input
 * part, and the checks every opened image must pass.
 *
 * A part is the file itself, or, when it starts with "FZSP", a sparse file:
 * "FZSP", u64 LE file size (clipped to 256 MiB), then chunks (u64 LE
 * offset, u32 LE length, bytes) as in fuzz_common.h's sparse volumes; bytes
 * not covered are zeros. The sparse form keeps the VHDX and uncompressed
 * EWF seeds (megabytes of zeros) small.
 *
 * Invariants (a violation aborts):
 *  - every failure is a known code with a message (fz_check_error), and a
 *    failed read leaves a first container error with a code and message;
 *  - the container info says the media size the source has, strings are
 *    terminated;
 *  - a read returns exactly min(len, size - offset) bytes (0 past the end)
 *    or an error; the same range read twice gives the same result and
 *    bytes; a range read in two pieces gives the same bytes as in one;
 *  - vss_source_verify of a small medium reads it all (bytes == size) or
 *    fails cleanly.
 */
#ifndef FZ_CONTAINER_H
#define FZ_CONTAINER_H

#include <unistd.h>

#include "fuzz_common.h"

#define CT_MAX_FILE (256ull << 20)
#define CT_MAX_READ (3 * 65536 + 1024)

/* Make the file open on fd hold the part in[0..n). Returns 0 or -1. */
static int ct_write_part(int ct_fd, const uint8_t *in, size_t n)
{
    if (ftruncate(ct_fd, 0) != 0)
        return -1;
    if (n >= 12 && memcmp(in, "FZSP", 4) == 0) {
        uint64_t fsize = fz_le64(in + 4);
        size_t pos = 12;
        if (fsize > CT_MAX_FILE)
            fsize = CT_MAX_FILE;
        if (ftruncate(ct_fd, (off_t)fsize) != 0)
            return -1;
        while (pos + 12 <= n) {
            uint64_t off = fz_le64(in + pos);
            size_t len = fz_le32(in + pos + 8);
            pos += 12;
            if (len > n - pos)
                len = n - pos;
            if (off < fsize) {
                size_t w = fsize - off < len ? (size_t)(fsize - off) : len;
                if (w && pwrite(ct_fd, in + pos, w, (off_t)off) != (ssize_t)w)
                    return -1;
            }
            pos += len;
        }
        return 0;
    }
    if (n && pwrite(ct_fd, in, n, 0) != (ssize_t)n)
        return -1;
    return 0;
}

static void ct_check_str(const char *s, size_t cap, const char *what)
{
    FZ_ASSERT(memchr(s, '\0', cap) != NULL, "%s not terminated", what);
}

/* A failed read: a known code, and the container kept a first error. */
static void ct_check_read_error(vss_source *src, int64_t n)
{
    vss_error ce = {0};
    FZ_ASSERT(n >= VSS_ENOSTORAGE && n < 0, "unknown read error %lld",
              (long long)n);
    FZ_ASSERT(vss_source_container_error(src, &ce) != VSS_OK,
              "read failed (%lld) without a container error", (long long)n);
    FZ_ASSERT(ce.code >= VSS_ENOSTORAGE && ce.code < 0 && ce.message[0],
              "container error %d without a message", ce.code);
}

static void ct_check_range(vss_source *src, uint64_t msize, uint64_t off,
                           size_t len, uint8_t *b1, uint8_t *b2)
{
    uint64_t want = off >= msize ? 0 : (msize - off < len ? msize - off : len);
    int64_t n1 = vss_source_read_at(src, b1, len, off);
    int64_t n2;
    if (n1 < 0) {
        ct_check_read_error(src, n1);
    } else {
        FZ_ASSERT((uint64_t)n1 == want, "read %zu at %llu of %llu: got %lld",
                  len, (unsigned long long)off, (unsigned long long)msize,
                  (long long)n1);
    }
    n2 = vss_source_read_at(src, b2, len, off);
    FZ_ASSERT(n2 == n1, "second read of %zu at %llu gave %lld, first %lld",
              len, (unsigned long long)off, (long long)n2, (long long)n1);
    if (n1 <= 0)
        return;
    FZ_ASSERT(memcmp(b1, b2, (size_t)n1) == 0, "two reads of %zu at %llu "
              "differ", len, (unsigned long long)off);
    if (n1 > 1) {
        /* In two pieces, split at a place from the offset. */
        size_t cut = (size_t)((off * 7 + (uint64_t)n1 / 3) % (uint64_t)n1);
        int64_t a, b;
        if (cut == 0)
            cut = 1;
        a = vss_source_read_at(src, b2, cut, off);
        if (a < 0) {
            ct_check_read_error(src, a);
            return;
        }
        FZ_ASSERT((size_t)a == cut, "piece read %lld of %zu", (long long)a,
                  cut);
        b = vss_source_read_at(src, b2 + cut, (size_t)n1 - cut, off + cut);
        if (b < 0) {
            ct_check_read_error(src, b);
            return;
        }
        FZ_ASSERT((size_t)b == (size_t)n1 - cut, "piece read %lld of %zu",
                  (long long)b, (size_t)n1 - cut);
        FZ_ASSERT(memcmp(b1, b2, (size_t)n1) == 0,
                  "read of %lld at %llu differs when cut at %zu",
                  (long long)n1, (unsigned long long)off, cut);
    }
}

/* Every check of an opened image: its info, 24 ranges picked from seed
 * (the start, the end, around chunk boundaries, random, past the end) and,
 * for a small medium, a verify. */
static void ct_check_image(vss_source *src, uint64_t seed)
{
    static uint8_t b1[CT_MAX_READ], b2[CT_MAX_READ];
    vss_container_info info;
    vss_error err = {0};
    uint64_t msize = vss_source_size(src), x = seed, unit;
    int rc = vss_source_container_info(src, &info, &err);

    FZ_ASSERT(rc == 0, "container info: %s", err.message);
    FZ_ASSERT(info.media_size == msize, "media size %llu, source %llu",
              (unsigned long long)info.media_size,
              (unsigned long long)msize);
    FZ_ASSERT(info.type >= VSS_CONTAINER_RAW &&
                  info.type <= VSS_CONTAINER_VHDX, "type %d", (int)info.type);
    ct_check_str(info.format, sizeof info.format, "format");
    if (getenv("FZ_VERBOSE"))
        fprintf(stderr, "%s, media %llu bytes, chunk %u\n", info.format,
                (unsigned long long)msize, info.chunk_size);
    ct_check_str(info.backing_name, sizeof info.backing_name, "backing");
    ct_check_str(info.case_number, sizeof info.case_number, "case");
    ct_check_str(info.description, sizeof info.description, "description");
    ct_check_str(info.notes, sizeof info.notes, "notes");
    ct_check_str(info.acquiry_date, sizeof info.acquiry_date, "date");
    ct_check_str(info.model, sizeof info.model, "model");
    FZ_ASSERT(strcmp(vss_container_type_name(info.type), "unknown") != 0,
              "type name");

    /* Ranges: the start, the end, around chunk boundaries, random, past
     * the end. */
    unit = info.chunk_size ? info.chunk_size : 65536;
    for (int r = 0; r < 24; r++) {
        uint64_t pick = fz_next(&x), off;
        size_t len = (size_t)(fz_next(&x) % CT_MAX_READ) + 1;
        if (r == 0)
            off = 0;
        else if (r == 1)
            off = msize > 100 ? msize - 100 : 0;
        else if (r == 2)
            off = msize + (pick & 0xfff);
        else if (r % 2 == 0 && msize) {
            uint64_t nunits = msize / unit + 1;
            off = (pick % nunits) * unit;
            off -= off >= 700 ? (pick >> 32) % 700 : 0;
        } else
            off = msize ? pick % msize : 0;
        if (pick & (1u << 20))
            off -= off % 512;
        if ((pick >> 21) % 4 == 0 && len > 4096)
            len = 4096;
        ct_check_range(src, msize, off, len, b1, b2);
    }
    if (msize <= (4u << 20)) {
        vss_verify_result res;
        rc = vss_source_verify(src, &res, NULL, NULL, &err);
        fz_check_error(rc, &err);
        if (rc == 0)
            FZ_ASSERT(res.bytes == msize, "verify read %llu of %llu",
                      (unsigned long long)res.bytes,
                      (unsigned long long)msize);
    }
}

#endif

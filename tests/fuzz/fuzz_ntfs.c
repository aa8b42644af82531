/*
 * fuzz_ntfs.c — the NTFS layer (libvss/src/ntfs/ over libntfs-3g) on a
 * small volume in memory: vss_fs_open, a bounded walk of the tree, stat,
 * streams, reads and extents of the files found.
 *
 * Input: the volume's bytes, zero-extended to the size its boot sector
 * gives ((total sectors + 1) * bytes per sector, at most 8 MiB), so seeds
 * can drop the trailing zeros; or "FZSP", u64 LE volume size (at most
 * 8 MiB), then chunks (u64 LE offset, u32 LE length, bytes) as in
 * fuzz_common.h, where a length with bit 31 set is that many bytes of the
 * default NTFS $UpCase table (ntfs_upcase_table_build) and one with bit 30
 * set that many copies of the chunk's single byte: a 2 MiB mkntfs volume
 * (128 KiB of $UpCase, 256 KiB of $LogFile 0xff) fits in a small seed.
 *
 * Invariants (a violation aborts):
 *  - every failure is a known code with a message (fz_check_error);
 *  - a read returns exactly min(len, size - offset) bytes (0 past the
 *    end) or an error; reading twice gives the same bytes;
 *  - extents cover [0, size) in order without gaps or empty extents, with
 *    known flags; the bytes of plain extents (not sparse, resident,
 *    uninitialised or compressed) are the volume's bytes at volume_offset,
 *    sparse and uninitialised ones read as zeros;
 *  - a file's stat agrees with the open file's size.
 */
#include "fuzz_common.h"

/* libntfs-3g (unistr.h, which needs the rest of its headers first). */
void ntfs_upcase_table_build(uint16_t *uc, uint32_t uc_len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NT_MAX_VOL (8u << 20)
#define NT_MAX_DIRS 24
#define NT_MAX_FILES 48
#define NT_READ 65536u

static uint8_t nt_upcase[131072];
static int nt_upcase_ready;

static void nt_fill_upcase(uint8_t *dst, size_t len)
{
    if (!nt_upcase_ready) {
        static uint16_t uc[sizeof nt_upcase / 2];
        ntfs_upcase_table_build(uc, sizeof nt_upcase);
        for (size_t i = 0; i < sizeof uc / sizeof uc[0]; i++) {
            nt_upcase[2 * i] = (uint8_t)uc[i];
            nt_upcase[2 * i + 1] = (uint8_t)(uc[i] >> 8);
        }
        nt_upcase_ready = 1;
    }
    for (size_t i = 0; i < len; i += sizeof nt_upcase) {
        size_t k = len - i < sizeof nt_upcase ? len - i : sizeof nt_upcase;
        memcpy(dst + i, nt_upcase, k);
    }
}

/* The volume bytes (calloc'ed, *vsize long), or NULL. */
static uint8_t *nt_make_volume(const uint8_t *in, size_t n, size_t *vsize)
{
    uint8_t *v;
    size_t vs;
    if (n >= 12 && memcmp(in, "FZSP", 4) == 0) {
        uint64_t want = fz_le64(in + 4);
        size_t pos = 12;
        vs = want > NT_MAX_VOL ? NT_MAX_VOL : (size_t)want;
        v = calloc(1, vs ? vs : 1);
        if (!v)
            return NULL;
        while (pos + 12 <= n) {
            uint64_t off = fz_le64(in + pos);
            uint32_t raw = fz_le32(in + pos + 8);
            size_t len = raw & 0x3fffffffu, w;
            pos += 12;
            if (off >= vs)
                w = 0;
            else
                w = vs - off < len ? (size_t)(vs - off) : len;
            if (raw & 0x80000000u) {
                if (w)
                    nt_fill_upcase(v + off, w);
            } else if (raw & 0x40000000u) {
                if (pos < n) {
                    if (w)
                        memset(v + off, in[pos], w);
                    pos++;
                }
            } else {
                if (len > n - pos)
                    len = n - pos;
                if (w > len)
                    w = len;
                if (w)
                    memcpy(v + off, in + pos, w);
                pos += len;
            }
        }
        *vsize = vs;
        return v;
    }
    vs = n;
    if (n >= 48) {
        uint32_t bps = (uint32_t)in[11] | (uint32_t)in[12] << 8;
        uint64_t total = fz_le64(in + 40);
        if (bps >= 256 && bps <= 4096 && total < NT_MAX_VOL / bps &&
            (total + 1) * bps > vs)
            vs = (size_t)((total + 1) * bps);
    }
    if (vs > NT_MAX_VOL)
        vs = NT_MAX_VOL;
    v = calloc(1, vs ? vs : 1);
    if (!v)
        return NULL;
    memcpy(v, in, n < vs ? n : vs);
    *vsize = vs;
    return v;
}

static uint8_t rb1[NT_READ], rb2[NT_READ], rb3[NT_READ];

static void nt_check_read(vss_fs_file *f, uint64_t fsize, uint64_t off,
                          size_t len)
{
    vss_error err = {0};
    uint64_t want = off >= fsize ? 0 : (fsize - off < len ? fsize - off : len);
    int64_t n1 = vss_fs_file_read_at(f, rb1, len, off, &err), n2;
    fz_check_error((int)(n1 < 0 ? n1 : 0), &err);
    if (n1 < 0)
        return;
    FZ_ASSERT((uint64_t)n1 == want, "read %zu at %llu of %llu: got %lld",
              len, (unsigned long long)off, (unsigned long long)fsize,
              (long long)n1);
    n2 = vss_fs_file_read_at(f, rb2, len, off, &err);
    FZ_ASSERT(n2 == n1, "second read %lld, first %lld", (long long)n2,
              (long long)n1);
    FZ_ASSERT(memcmp(rb1, rb2, (size_t)n1) == 0, "two reads differ");
}

static void nt_check_extents(vss_fs_file *f, vss_source *vol, uint64_t fsize)
{
    vss_fs_extent *ex = NULL;
    size_t n = 0;
    uint64_t pos = 0;
    vss_error err = {0};
    int rc = vss_fs_file_extents(f, &ex, &n, &err);
    fz_check_error(rc, &err);
    if (rc) {
        FZ_ASSERT(ex == NULL, "extents left on error");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const vss_fs_extent *e = &ex[i];
        size_t k;
        int64_t got;
        FZ_ASSERT(e->file_offset == pos, "extent %zu at %llu, expected %llu",
                  i, (unsigned long long)e->file_offset,
                  (unsigned long long)pos);
        FZ_ASSERT(e->length > 0, "empty extent %zu", i);
        FZ_ASSERT(e->length <= fsize - pos, "extent %zu past the size", i);
        FZ_ASSERT((e->flags & ~0xfu) == 0, "extent flags %#x", e->flags);
        if (i < 8 && !(e->flags & (VSS_EXTENT_RESIDENT |
                                   VSS_EXTENT_COMPRESSED))) {
            k = e->length < 4096 ? (size_t)e->length : 4096;
            got = vss_fs_file_read_at(f, rb1, k, e->file_offset, &err);
            fz_check_error((int)(got < 0 ? got : 0), &err);
            if (got == (int64_t)k) {
                if (e->flags & (VSS_EXTENT_SPARSE | VSS_EXTENT_UNINIT)) {
                    memset(rb3, 0, k);
                } else {
                    FZ_ASSERT(e->volume_offset != VSS_FS_NO_OFFSET,
                              "extent %zu has no volume offset", i);
                    memset(rb3, 0, k);
                    got = vss_source_read_at(vol, rb3, k, e->volume_offset);
                    (void)got; /* past the volume end: zeros */
                }
                FZ_ASSERT(memcmp(rb1, rb3, k) == 0,
                          "extent %zu (flags %#x, file %llu, volume %llu) "
                          "bytes differ from the file's",
                          i, e->flags, (unsigned long long)e->file_offset,
                          (unsigned long long)e->volume_offset);
            }
        }
        pos += e->length;
    }
    FZ_ASSERT(pos == fsize, "extents end at %llu, size %llu",
              (unsigned long long)pos, (unsigned long long)fsize);
    vss_fs_extents_free(ex);
}

static void nt_check_file(vss_fs *fs, vss_source *vol, const char *path,
                          uint64_t *x)
{
    vss_fs_file *f = NULL;
    vss_fs_stat st;
    vss_error err = {0};
    uint64_t fsize;
    int rc = vss_fs_file_open(fs, path, &f, &err);
    fz_check_error(rc, &err);
    if (rc) {
        FZ_ASSERT(f == NULL, "file left on error");
        return;
    }
    fsize = vss_fs_file_size(f);
    if (getenv("FZ_VERBOSE"))
        fprintf(stderr, "file %s: %llu bytes\n", path,
                (unsigned long long)fsize);
    rc = vss_fs_file_stat(f, &st, &err);
    fz_check_error(rc, &err);
    if (rc == 0)
        FZ_ASSERT(st.size == fsize, "stat size %llu, file size %llu",
                  (unsigned long long)st.size, (unsigned long long)fsize);
    nt_check_read(f, fsize, 0, (size_t)(fz_next(x) % NT_READ) + 1);
    nt_check_read(f, fsize, fsize > 100 ? fsize - 100 : 0, 4096);
    nt_check_read(f, fsize, fsize ? fz_next(x) % fsize : 0,
                  (size_t)(fz_next(x) % 8192) + 1);
    nt_check_read(f, fsize, fsize + 1, 16);
    nt_check_extents(f, vol, fsize);
    vss_fs_file_close(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char dirs[NT_MAX_DIRS][512];
    size_t vsize = 0, ndirs = 1, nfiles = 0;
    uint8_t *vbytes = nt_make_volume(data, size, &vsize);
    vss_source *vol = NULL;
    vss_fs *fs = NULL;
    vss_error err = {0};
    uint64_t x = fz_hash(data, size < 4096 ? size : 4096);
    int rc;

    if (!vbytes)
        return 0;
    if (vss_source_open_memory(vbytes, vsize, "fuzz-ntfs", &vol, &err)) {
        free(vbytes);
        return 0;
    }
    rc = vss_fs_open(vol, &fs, &err);
    fz_check_error(rc, &err);
    if (getenv("FZ_VERBOSE"))
        fprintf(stderr, "open %zu bytes: %d %s\n", vsize, rc,
                rc ? err.message : "");
    if (rc) {
        FZ_ASSERT(fs == NULL, "fs left on error");
        goto out;
    }
    FZ_ASSERT(vss_fs_cluster_size(fs) > 0 && vss_fs_record_size(fs) > 0,
              "cluster %u record %u", vss_fs_cluster_size(fs),
              vss_fs_record_size(fs));
    dirs[0][0] = '\0';
    for (size_t d = 0; d < ndirs; d++) {
        vss_fs_entry *ents = NULL;
        size_t count = 0;
        rc = vss_fs_list(fs, dirs[d], &ents, &count, &err);
        fz_check_error(rc, &err);
        if (rc)
            continue;
        for (size_t i = 0; i < count; i++) {
            char path[512];
            vss_fs_stat st;
            const char *name = ents[i].name;
            FZ_ASSERT(name != NULL, "entry without a name");
            /* A name with '/' or ':' cannot be named by a path. */
            if (!name[0] || strpbrk(name, "/:") ||
                snprintf(path, sizeof path, "%s/%s", dirs[d], name) >=
                    (int)sizeof path)
                continue;
            rc = vss_fs_stat_path(fs, path, &st, &err);
            fz_check_error(rc, &err);
            if (rc)
                continue;
            if (st.is_directory) {
                if (ndirs < NT_MAX_DIRS && st.mft_record != 5 &&
                    strcmp(name, "$Extend") != 0)
                    memcpy(dirs[ndirs++], path, sizeof path);
                continue;
            }
            if (nfiles++ >= NT_MAX_FILES)
                continue;
            if (st.has_data)
                nt_check_file(fs, vol, path, &x);
            if (st.stream_count) {
                vss_fs_stream *ss = NULL;
                size_t ns = 0;
                rc = vss_fs_streams(fs, path, &ss, &ns, &err);
                fz_check_error(rc, &err);
                for (size_t k = 0; rc == 0 && k < ns && k < 4; k++) {
                    char sp[700];
                    if (!ss[k].name[0] || strchr(ss[k].name, ':'))
                        continue;
                    snprintf(sp, sizeof sp, "%s:%s", path, ss[k].name);
                    nt_check_file(fs, vol, sp, &x);
                }
                if (rc == 0)
                    vss_fs_streams_free(ss, ns);
            }
        }
        vss_fs_entries_free(ents, count);
    }
    /* Metadata files, whatever the directory says. */
    nt_check_file(fs, vol, "$MFT", &x);
    nt_check_file(fs, vol, "$Secure:$SDS", &x);
    vss_fs_close(fs);
out:
    vss_source_release(vol);
    free(vbytes);
    return 0;
}

/*
 * test_history.c — the history API (vss_history_*, vss_fs_record_path) on
 * the generated win7 image (testimages/out, made by `make -C testimages`),
 * for its contract rather than its answers (tests/test_history.sh checks
 * those against the manifests, the real images and icat):
 *  - bad arguments are refused with VSS_EINVAL, a missing file is
 *    VSS_ENOTFOUND with its name in the message;
 *  - each version's bytes, read through vss_history_version_open, have the
 *    digests the history gives; copies are listed oldest first, each
 *    source at most once per version, and the versions by first holder;
 *  - the history of the file's MFT record is the same as its path's;
 *  - vss_fs_record_path: the root is "", a file's record gives its path
 *    back; a deleted file's record, one past the MFT, one not in use and a
 *    non-48-bit number fail cleanly;
 *  - the recovered version (win10scope, beside win7.img): read in odd
 *    pieces through vss_history_recovered_read_at it has the recovered
 *    digests, equals the version's bytes outside the ranges it fills,
 *    ends at its size; a stream without one is refused with the reason.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#include "vss.h"
#include "ctest.h"

/* Stream k of version i: the recovered version's contract. */
static void check_recovered(vss_history *h, size_t i, size_t k,
                            const char *what)
{
    const vss_history_stream *s = &vss_history_version(h, i)->streams[k];
    vss_history_recovered *r = NULL;
    vss_fs_file *f = NULL;
    vss_error e = {0};
    static uint8_t a[7777], b[7777];
    SHA256_CTX c;
    uint8_t d[32];
    uint64_t off = 0, size;
    int same = 1, rc;

    rc = vss_history_recovered_open(h, i, s->name, &r, &e);
    if (s->recoverable != 1) {
        check(rc == VSS_EINVAL && !r &&
                  (s->recoverable < 0 || strstr(e.message, s->why)),
              "%s: version %zu '%s' (recoverable %d): no recovered version, "
              "saying why (%s)",
              what, i + 1, s->name, s->recoverable, e.message);
        return;
    }
    check(rc == VSS_OK && s->fill_count && s->live_path &&
              s->recovered_from > 0,
          "%s: version %zu '%s': recovered as of snapshot %d (%s)", what,
          i + 1, s->name, s->recovered_from, rc ? e.message : "");
    if (rc != VSS_OK ||
        vss_history_version_open(h, i, s->name, &f, &e) != VSS_OK) {
        vss_history_recovered_close(r);
        return;
    }
    size = vss_history_recovered_size(r);
    SHA256_Init(&c);
    while (off < size) {
        int64_t n = vss_history_recovered_read_at(r, a, sizeof a, off, &e);
        int64_t m = vss_fs_file_read_at(f, b, sizeof b, off, &e);
        if (n <= 0 || m != n) {
            same = 0;
            break;
        }
        SHA256_Update(&c, a, (size_t)n);
        /* outside the filled ranges: the version's own bytes */
        for (int64_t x = 0; x < n; x++) {
            uint64_t o = off + (uint64_t)x;
            int filled = 0;
            for (size_t j = 0; j < s->fill_count; j++)
                if (o >= s->fill[j].offset &&
                    o - s->fill[j].offset < s->fill[j].length)
                    filled = 1;
            if (!filled && a[x] != b[x])
                same = 0;
        }
        off += (uint64_t)n;
    }
    SHA256_Final(d, &c);
    check(off == size && same, "%s: version %zu '%s': the recovered bytes "
          "are the version's outside the %zu filled ranges",
          what, i + 1, s->name, s->fill_count);
    check((s->recovered_hashes & VSS_HISTORY_SHA256) &&
              memcmp(d, s->recovered_sha256, 32) == 0,
          "%s: version %zu '%s': read whole, the recovered SHA-256", what,
          i + 1, s->name);
    check(vss_history_recovered_read_at(r, a, sizeof a, size, &e) == 0,
          "%s: version %zu '%s': 0 bytes at the end", what, i + 1, s->name);
    vss_fs_file_close(f);
    vss_history_recovered_close(r);
}

static void check_history(vss_history *h, const char *what)
{
    int last_first = -1;
    for (size_t i = 0; i < vss_history_count(h); i++) {
        const vss_version *v = vss_history_version(h, i);
        int first = v->holders[0].snapshot ? v->holders[0].snapshot : 1 << 30;
        int order = 1, prev = 0;
        check(first >= last_first, "%s: version %zu comes after the one "
              "before (first holders %d, %d)", what, i + 1, last_first, first);
        last_first = first;
        for (size_t k = 0; k < v->holder_count; k++) {
            int s = v->holders[k].snapshot ? v->holders[k].snapshot : 1 << 30;
            if (s <= prev)
                order = 0;
            prev = s;
        }
        check(order, "%s: version %zu: holders oldest first, each once",
              what, i + 1);
        for (size_t k = 0; k < v->stream_count; k++) {
            vss_fs_file *f = NULL;
            vss_error e = {0};
            uint8_t d[32];
            int rc = vss_history_version_open(h, i, v->streams[k].name, &f,
                                              &e);
            check(rc == VSS_OK &&
                      ct_stream_digest(f, EVP_sha256(), d, NULL) == 0 &&
                      (v->streams[k].hashes & VSS_HISTORY_SHA256) &&
                      memcmp(d, v->streams[k].sha256, 32) == 0,
                  "%s: version %zu stream '%s': the bytes have its SHA-256",
                  what, i + 1, v->streams[k].name);
            vss_fs_file_close(f);
            check_recovered(h, i, k, what);
        }
    }
}

/* The damaged files of win10scope (docs/audit.md's example): photo.jpg
 * (recoverable as of snapshot 3 only), new.txt (as of 2), thesis.docx
 * (never: the live size differs). */
static void recovered_cases(const char *win7)
{
    static const char *const files[] = {"Users/bob/Documents/photo.jpg",
                                        "Users/bob/Documents/new.txt",
                                        "Users/bob/Documents/thesis.docx"};
    vss_history_options ho = {VSS_HISTORY_SHA256, VSS_FILL_WINDOWS};
    char img[4096];
    const char *paths[1] = {img};
    const char *slash = strrchr(win7, '/');
    vss_volume_set *set = NULL;
    const vss_volume_set_entry *ent;
    vss_error e = {0};
    size_t idx;
    int n1 = 0, n0 = 0;

    snprintf(img, sizeof img, "%.*swin10scope.img",
             slash ? (int)(slash - win7 + 1) : 0, win7);
    if (vss_volume_set_open(paths, 1, NULL, &set, &e) ||
        vss_volume_set_pick(set, -1, 0, &idx, &e)) {
        check(0, "%s opens (%s)", img, e.message);
        vss_volume_set_close(set);
        return;
    }
    ent = vss_volume_set_get(set, idx);
    for (size_t f = 0; f < sizeof files / sizeof *files; f++) {
        vss_history *h = NULL;
        if (vss_history_open(ent->volume, ent->source, files[f],
                             VSS_HISTORY_NO_RECORD, &ho, &h, &e)) {
            check(0, "%s: %s", files[f], e.message);
            continue;
        }
        check_history(h, files[f]);
        for (size_t i = 0; i < vss_history_count(h); i++) {
            const vss_version *v = vss_history_version(h, i);
            for (size_t k = 0; k < v->stream_count; k++) {
                n1 += v->streams[k].recoverable == 1;
                n0 += v->streams[k].recoverable == 0;
            }
        }
        vss_history_close(h);
    }
    check(n1 == 2 && n0 == 1, "win10scope: 2 recoverable versions, 1 not "
          "(%d, %d)", n1, n0);
    /* without the live volume nothing can be recovered */
    {
        vss_history *h = NULL;
        if (vss_history_open(ent->volume, NULL, files[0],
                             VSS_HISTORY_NO_RECORD, &ho, &h, &e) == VSS_OK) {
            const vss_history_stream *s = &vss_history_version(h, 0)->streams[0];
            check(s->recoverable == 0 && strstr(s->why, "no live volume"),
                  "no live volume: not recoverable (%s)", s->why);
            check_recovered(h, 0, 0, "no live volume");
        } else {
            check(0, "snapshots only: %s", e.message);
        }
        vss_history_close(h);
    }
    vss_volume_set_close(set);
}

int main(int argc, char **argv)
{
    const char *img = argc > 1 ? argv[1] : "testimages/out/win7.img";
    const char *paths[1] = {img};
    vss_volume_set *set = NULL;
    const vss_volume_set_entry *ent;
    vss_history_options ho = {VSS_HISTORY_SHA256 | VSS_HISTORY_MD5,
                              VSS_FILL_WINDOWS};
    vss_history *h = NULL, *hr = NULL;
    vss_error e = {0};
    vss_fs *fs = NULL;
    vss_fs_stat st;
    char *p = NULL;
    size_t idx;
    int rc;

    if (vss_volume_set_open(paths, 1, NULL, &set, &e) ||
        vss_volume_set_pick(set, -1, 0, &idx, &e)) {
        printf("skip: %s: %s (make -C testimages)\n", img, e.message);
        vss_volume_set_close(set);
        printf("0 passed, 0 failed\n");
        return 0;
    }
    ent = vss_volume_set_get(set, idx);

    /* arguments */
    rc = vss_history_open(NULL, ent->source, "big.bin",
                          VSS_HISTORY_NO_RECORD, NULL, &h, &e);
    check(rc == VSS_EINVAL && !h, "no volume: VSS_EINVAL");
    rc = vss_history_open(ent->volume, ent->source, "big.bin", 70, NULL, &h,
                          &e);
    check(rc == VSS_EINVAL && !h, "a path and a record: VSS_EINVAL");
    rc = vss_history_open(ent->volume, ent->source, "no/such/file",
                          VSS_HISTORY_NO_RECORD, NULL, &h, &e);
    check(rc == VSS_ENOTFOUND && strstr(e.message, "no/such/file"),
          "a missing file: VSS_ENOTFOUND naming it (%s)", e.message);

    /* a file with versions and a named stream */
    rc = vss_history_open(ent->volume, ent->source, "/Users/alice/report.docx",
                          VSS_HISTORY_NO_RECORD, &ho, &h, &e);
    check(rc == VSS_OK && vss_history_count(h) >= 2,
          "report.docx: %zu versions (%s)", vss_history_count(h), e.message);
    if (rc == VSS_OK) {
        const vss_version *v0 = vss_history_version(h, 0);
        check(vss_history_source_count(h) ==
                  vss_volume_snapshot_count(ent->volume) + 1,
              "every snapshot and the live volume searched");
        check(v0->stream_count == 2 && !v0->streams[0].name[0] &&
                  strcmp(v0->streams[1].name, "Zone.Identifier") == 0,
              "its unnamed stream first, then Zone.Identifier");
        check(vss_history_version(h, vss_history_count(h)) == NULL,
              "no version past the end");
        check(vss_history_version_open(h, vss_history_count(h), NULL,
                                       &(vss_fs_file *){NULL},
                                       &e) == VSS_EINVAL,
              "opening a version past the end: VSS_EINVAL");
        check_history(h, "report.docx");
        /* the same file by its record */
        rc = vss_history_open(ent->volume, ent->source, NULL,
                              v0->mft_record, &ho, &hr, &e);
        check(rc == VSS_OK && vss_history_count(hr) == vss_history_count(h),
              "@%" PRIu64 ": as many versions as by path", v0->mft_record);
        for (size_t i = 0; rc == VSS_OK && i < vss_history_count(h); i++)
            check(memcmp(vss_history_version(h, i)->streams[0].sha256,
                         vss_history_version(hr, i)->streams[0].sha256,
                         32) == 0 &&
                      vss_history_version(h, i)->holder_count ==
                          vss_history_version(hr, i)->holder_count,
                  "@record version %zu is the path's", i + 1);
        vss_history_close(hr);
    }

    /* vss_fs_record_path on the live volume */
    if (vss_fs_open(ent->source, &fs, &e) == VSS_OK) {
        rc = vss_fs_record_path(fs, 5, &p, &st, &e);
        check(rc == VSS_OK && p && strcmp(p, "") == 0 && st.is_directory,
              "record 5 is the root, path \"\"");
        free(p);
        p = NULL;
        if (vss_fs_stat_path(fs, "Users/alice/notes.txt", &st, &e) ==
            VSS_OK) {
            uint64_t r = st.mft_record;
            rc = vss_fs_record_path(fs, r, &p, &st, &e);
            check(rc == VSS_OK && p &&
                      strcmp(p, "Users/alice/notes.txt") == 0 &&
                      st.mft_record == r,
                  "record %" PRIu64 " is Users/alice/notes.txt (%s)", r,
                  p ? p : e.message);
            free(p);
            p = NULL;
        } else {
            check(0, "live Users/alice/notes.txt (%s)", e.message);
        }
        if (h) {
            /* report.docx was deleted after snapshot 2 */
            uint64_t r = vss_history_version(h, 0)->mft_record;
            rc = vss_fs_record_path(fs, r, &p, &st, &e);
            check(rc == VSS_ENOTFOUND && !p,
                  "record %" PRIu64 " (deleted): VSS_ENOTFOUND (%s)", r,
                  e.message);
        }
        rc = vss_fs_record_path(fs, (uint64_t)1 << 48, &p, NULL, &e);
        check(rc == VSS_EINVAL && !p, "a 49-bit record number: VSS_EINVAL");
        rc = vss_fs_record_path(fs, 10000000, &p, NULL, &e);
        check(rc != VSS_OK && !p, "a record past the MFT fails (%s)",
              e.message);
        /* records 12-15 are reserved and not in use on a fresh volume */
        rc = vss_fs_record_path(fs, 13, &p, NULL, &e);
        check(rc == VSS_ENOTFOUND && !p, "record 13 (unused): VSS_ENOTFOUND "
              "(%s)", e.message);
        check(vss_fs_record_path(NULL, 5, &p, NULL, &e) == VSS_EINVAL,
              "no fs: VSS_EINVAL");
        vss_fs_close(fs);
    } else {
        check(0, "the live volume mounts (%s)", e.message);
    }
    vss_history_close(h);
    vss_history_close(NULL);
    vss_volume_set_close(set);
    recovered_cases(img);
    return ct_finish(NULL);
}

/*
 * test_source_hash.c — vss_source_hash (every byte of a source hashed, the
 * report's --image-hash) against coreutils' md5sum, sha1sum and sha256sum
 * of the same bytes: a whole image (testimages/out/win7.img, made by
 * `make -C testimages`, or argv[1]) and a range of it (the bytes cut out
 * by tail/head). And the contract: progress reaches the size in
 * ascending steps, a progress callback's non-zero return cancels with
 * VSS_EINVAL and no digest, bad arguments are VSS_EINVAL.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "vss.h"
#include "ctest.h"

typedef struct prog {
    uint64_t last, total;
    int calls, ascending, cancel;
} prog;

static int on_progress(uint64_t done, uint64_t total, void *user)
{
    prog *p = user;
    p->ascending &= done > p->last && done <= total;
    p->last = done;
    p->total = total;
    p->calls++;
    return p->cancel;
}

/* The coreutils digest (tool: md5sum, ...) of what shell command `bytes`
 * prints, into out (hex); "" when it cannot be run. */
static void coreutils(const char *bytes, const char *tool, char *out,
                      size_t n)
{
    char cmd[8192];
    FILE *p;
    snprintf(cmd, sizeof cmd, "%s | %s", bytes, tool);
    out[0] = '\0';
    p = popen(cmd, "r");
    if (!p)
        return;
    if (!fgets(out, (int)n, p))
        out[0] = '\0';
    out[strcspn(out, " \n")] = '\0';
    pclose(p);
}

/* src's digests by vss_source_hash equal the coreutils' of `bytes`. */
static void check_digests(vss_source *src, const char *bytes,
                          const char *what)
{
    static const vss_hash all[3] = {VSS_HASH_SHA256, VSS_HASH_MD5,
                                    VSS_HASH_SHA1};
    static const char *tools[3] = {"md5sum", "sha1sum", "sha256sum"};
    vss_digests d;
    vss_error e = {0};
    prog p = {0, 0, 0, 1, 0};
    int rc = vss_source_hash(src, all, 3, on_progress, &p, &d, &e);

    check(rc == VSS_OK && d.have == 7, "%s: hashed (rc %d: %s)", what, rc,
          rc ? e.message : "");
    for (int k = 0; k < VSS_HASH_COUNT; k++) {
        char want[160], got[2 * VSS_HASH_MAX + 1];
        coreutils(bytes, tools[k], want, sizeof want);
        ct_hex(d.v[k], vss_hash_length((vss_hash)k), got);
        check(want[0] && strcmp(got, want) == 0, "%s: %s %s, %s says %s",
              what, vss_hash_name((vss_hash)k), got, tools[k], want);
    }
    check(p.calls > 0 && p.ascending && p.last == vss_source_size(src) &&
              p.total == p.last,
          "%s: %d progress calls, ascending, ending at the size %" PRIu64
          " (%" PRIu64 " of %" PRIu64 ")", what, p.calls,
          vss_source_size(src), p.last, p.total);
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "testimages/out/win7.img";
    static const vss_hash md5 = VSS_HASH_MD5, bad = (vss_hash)7;
    vss_source *img = NULL, *part = NULL;
    vss_digests d;
    vss_error e = {0};
    char bytes[8192];
    /* an odd range, not on a MiB boundary, across several reads */
    const uint64_t off = 1048576 + 4096 + 3, len = 3 * 1048576 + 12345;
    prog p = {0, 0, 0, 1, 1};
    int rc;

    if (vss_source_open_image(path, NULL, &img, &e)) {
        printf("skip: %s: %s (make -C testimages)\n", path, e.message);
        return ct_finish(NULL);
    }
    snprintf(bytes, sizeof bytes, "cat '%s'", path);
    check_digests(img, bytes, path);

    if (vss_source_open_range(img, off, len, &part, &e) == VSS_OK) {
        snprintf(bytes, sizeof bytes, "tail -c +%" PRIu64 " '%s' | head -c %"
                 PRIu64, off + 1, path, len);
        check_digests(part, bytes, "a range of it");
    } else {
        check(0, "range opens: %s", e.message);
    }

    d.have = 99;
    rc = vss_source_hash(img, &md5, 1, on_progress, &p, &d, &e);
    check(rc == VSS_EINVAL && p.calls == 1 && d.have == 0 &&
              strstr(e.message, "cancelled"),
          "progress returning 1 cancels after its first call: rc %d, %d "
          "calls, no digest (%s)", rc, p.calls, e.message);

    check(vss_source_hash(NULL, &md5, 1, NULL, NULL, &d, &e) == VSS_EINVAL &&
              vss_source_hash(img, &md5, 1, NULL, NULL, NULL, &e) ==
                  VSS_EINVAL &&
              vss_source_hash(img, &md5, 0, NULL, NULL, &d, &e) ==
                  VSS_EINVAL &&
              vss_source_hash(img, NULL, 1, NULL, NULL, &d, &e) ==
                  VSS_EINVAL &&
              vss_source_hash(img, &bad, 1, NULL, NULL, &d, &e) ==
                  VSS_EINVAL,
          "no source, no result, 0 or NULL or unknown algorithms: "
          "VSS_EINVAL (%s)", e.message);
    vss_source_release(part);
    vss_source_release(img);
    return ct_finish(NULL);
}

/*
 * tests/ctest.h — what the C test programs share: the pass/fail counters
 * and their "N passed, N failed" closing line (tests/run adds them up),
 * two ways to count a check, the generator's manifests read through
 * python3, and a stream's digest read whole through the public API.
 *
 * Header only, all static: each test program is one .c file (the
 * Makefile's $(BUILD)/tests/%_test rule); what a program does not use
 * costs nothing.
 *
 *   check(cond, fmt, ...)   prints "ok   ..." or "FAIL ..." for every check
 *   CHECK(cond, fmt, ...)   prints only failures, with file and line
 *   ct_finish(label)        the closing line; the exit status
 */
#ifndef LIBVSS_TESTS_CTEST_H
#define LIBVSS_TESTS_CTEST_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "vss.h"

static int passed, failed;

static inline void check(int cond, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static inline void check(int cond, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf(cond ? "ok   " : "FAIL ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    if (cond)
        passed++;
    else
        failed++;
}

#define CHECK(cond, ...)                                                     \
    do {                                                                     \
        if (cond) {                                                          \
            passed++;                                                        \
        } else {                                                             \
            failed++;                                                        \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                      \
            printf(__VA_ARGS__);                                             \
            printf("\n");                                                    \
        }                                                                    \
    } while (0)

/* The closing line, "LABEL: N passed, N failed" (no label: NULL), and
 * the program's exit status. */
static inline int ct_finish(const char *label)
{
    printf("%s%s%d passed, %d failed\n", label ? label : "",
           label ? ": " : "", passed, failed);
    return failed != 0;
}

/* n bytes as lowercase hex into out (2 * n + 1 bytes). */
static inline void ct_hex(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", p[i]);
    out[2 * n] = '\0';
}

/* The generator's manifests of dir (dir/ *.json) as the lines the python
 * program `py` prints for them (its arguments: the manifest paths); NULL
 * when python3 cannot be started. No manifest: no line. Close with
 * pclose(). */
static inline FILE *ct_manifests(const char *dir, const char *py)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "ls %s/*.json >/dev/null 2>&1 && python3 -c \"$CTEST_PY\" "
             "%s/*.json", dir, dir);
    setenv("CTEST_PY", py, 1);
    return popen(cmd, "r");
}

/* The digest (md: EVP_sha256(), EVP_sha1(), ...) of a stream read whole
 * through vss_fs_file_read_at, as lowercase hex into hex (2 * size
 * + 1 bytes, or NULL) and raw into raw (size bytes, or NULL). 0, or -1
 * when a read fails or ends short. */
static inline int ct_stream_digest(vss_fs_file *f, const EVP_MD *md,
                                   uint8_t *raw, char *hex)
{
    static uint8_t buf[1 << 16];
    uint8_t d[EVP_MAX_MD_SIZE];
    unsigned dn = 0;
    uint64_t off = 0, size = vss_fs_file_size(f);
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int rc = -1;

    if (!c || !EVP_DigestInit_ex(c, md, NULL))
        goto out;
    while (off < size) {
        int64_t n = vss_fs_file_read_at(f, buf, sizeof buf, off, NULL);
        if (n <= 0)
            goto out;
        EVP_DigestUpdate(c, buf, (size_t)n);
        off += (uint64_t)n;
    }
    if (!EVP_DigestFinal_ex(c, d, &dn))
        goto out;
    if (raw)
        memcpy(raw, d, dn);
    if (hex)
        ct_hex(d, dn, hex);
    rc = 0;
out:
    EVP_MD_CTX_free(c);
    return rc;
}

#endif

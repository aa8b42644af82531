/*
 * util.c - small helpers of the generator: errors, little-endian writers,
 * the deterministic PRNG, GUIDs, FILETIMEs, hashing and the fake clock that
 * libntfs-3g reads file times from.
 */
#define _GNU_SOURCE
#include "vssgen.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

int g_verbose;

void die(const char *fmt, ...)
{
    va_list ap;
    fputs("vssgen: error: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

void note(const char *fmt, ...)
{
    va_list ap;
    if (!g_verbose)
        return;
    fputs("vssgen: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        die("out of memory (%zu x %zu bytes)", n, size);
    return p;
}

void *xrealloc(void *p, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        die("allocation overflow");
    size_t bytes = n * size;
    void *q = realloc(p, bytes ? bytes : 1);
    if (!q)
        die("out of memory (%zu x %zu bytes)", n, size);
    return q;
}

char *xstrdup(const char *s)
{
    char *d = strdup(s);
    if (!d)
        die("out of memory");
    return d;
}

void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
void put32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }
void put64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i)); }
uint32_t get32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
uint64_t get64(const uint8_t *p) { return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32; }

uint64_t prng_next(prng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* A generator for one purpose ("store-guid", 3): seed, label and number are
 * mixed so that adding a file or a snapshot does not shift other values. */
prng prng_derive(uint64_t seed, const char *label, uint64_t n)
{
    prng r = { seed ^ 0x5bd1e9955bd1e995ull };
    for (const char *c = label; *c; c++) {
        r.s ^= (uint8_t)*c;
        prng_next(&r);
    }
    r.s ^= n * 0x2545f4914f6cdd1dull;
    prng_next(&r);
    return r;
}

const guid VSS_ID = { { 0x38, 0x08, 0x87, 0x6b, 0xc1, 0x76, 0x4e, 0x48,
                        0xb7, 0xae, 0x04, 0x04, 0x6e, 0x6c, 0xc7, 0x52 } };

guid guid_random(prng *r)
{
    guid g;
    uint64_t a = prng_next(r), b = prng_next(r);
    for (int i = 0; i < 8; i++) {
        g.b[i] = (uint8_t)(a >> (8 * i));
        g.b[8 + i] = (uint8_t)(b >> (8 * i));
    }
    g.b[6] = (uint8_t)((g.b[6] & 0x0f) | 0x40);   /* version 4 */
    g.b[8] = (uint8_t)((g.b[8] & 0x3f) | 0x80);   /* RFC 4122 variant */
    return g;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

guid guid_parse(const char *s)
{
    guid g;
    int n = 0;
    for (const char *c = s; *c; c++) {
        if (*c == '-')
            continue;
        int h = hexval(c[0]), l = c[1] ? hexval(c[1]) : -1;
        if (h < 0 || l < 0 || n >= 16)
            die("malformed GUID '%s'", s);
        g.b[n++] = (uint8_t)(h << 4 | l);
        c++;
    }
    if (n != 16)
        die("malformed GUID '%s'", s);
    return g;
}

/* Windows stores Data1..Data3 little-endian, Data4 as bytes. */
void guid_put(uint8_t *p, guid g)
{
    p[0] = g.b[3]; p[1] = g.b[2]; p[2] = g.b[1]; p[3] = g.b[0];
    p[4] = g.b[5]; p[5] = g.b[4];
    p[6] = g.b[7]; p[7] = g.b[6];
    memcpy(p + 8, g.b + 8, 8);
}

void guid_str(guid g, char out[37])
{
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             g.b[0], g.b[1], g.b[2], g.b[3], g.b[4], g.b[5], g.b[6], g.b[7],
             g.b[8], g.b[9], g.b[10], g.b[11], g.b[12], g.b[13], g.b[14], g.b[15]);
}

int guid_eq(guid a, guid b) { return memcmp(a.b, b.b, 16) == 0; }

#define FT_UNIX_EPOCH 116444736000000000ull   /* 1970-01-01 in FILETIME ticks */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

uint64_t filetime_parse(const char *iso)
{
    int y, mo, d, h, mi, s, n = 0;
    if (sscanf(iso, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &n) != 6)
        die("bad time '%s' (want 2019-06-04T23:43:01.4843750Z)", iso);
    uint64_t frac = 0;
    const char *p = iso + n;
    if (*p == '.') {
        int digits = 0;
        for (p++; *p >= '0' && *p <= '9'; p++) {
            if (digits < 7) { frac = frac * 10 + (uint64_t)(*p - '0'); digits++; }
        }
        while (digits++ < 7)
            frac *= 10;
    }
    if (*p != 'Z' || p[1] || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
        die("bad time '%s' (want UTC, ending in Z)", iso);
    int64_t days = days_from_civil(y, (unsigned)mo, (unsigned)d);
    int64_t secs = days * 86400 + h * 3600 + mi * 60 + s;
    if (secs < -11644473600LL)
        die("time before 1601: '%s'", iso);
    return (uint64_t)(secs * 10000000LL) + FT_UNIX_EPOCH + frac;
}

void filetime_str(uint64_t ft, char out[96])
{
    int64_t t = (int64_t)((ft - FT_UNIX_EPOCH) / 10000000ull);
    if (ft < FT_UNIX_EPOCH)
        t = -(int64_t)((FT_UNIX_EPOCH - ft + 9999999) / 10000000ull);
    uint64_t frac = ft % 10000000ull;
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    snprintf(out, 96, "%04d-%02d-%02dT%02d:%02d:%02d.%07lluZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned long long)frac);
}

/* The fake clock.  libntfs-3g stamps file times through clock_gettime();
 * this definition in the executable interposes the C library's, so file
 * times follow the scenario's clock and images are reproducible. */
uint64_t g_clock_ft = 130000000000000000ull;

int clock_gettime(clockid_t clk, struct timespec *ts)
{
    if (clk == CLOCK_REALTIME) {
        uint64_t t = g_clock_ft - FT_UNIX_EPOCH;
        ts->tv_sec = (time_t)(t / 10000000ull);
        ts->tv_nsec = (long)(t % 10000000ull) * 100;
        return 0;
    }
    return (int)syscall(SYS_clock_gettime, clk, ts);
}

struct hasher { EVP_MD_CTX *sha, *md5; };

hasher *hasher_new(int with_md5)
{
    hasher *h = xcalloc(1, sizeof *h);
    h->sha = EVP_MD_CTX_new();
    if (!h->sha || EVP_DigestInit_ex(h->sha, EVP_sha256(), NULL) != 1)
        die("cannot initialise SHA-256 (OpenSSL)");
    if (with_md5) {
        h->md5 = EVP_MD_CTX_new();
        if (!h->md5 || EVP_DigestInit_ex(h->md5, EVP_md5(), NULL) != 1)
            die("cannot initialise MD5 (OpenSSL)");
    }
    return h;
}

void hasher_update(hasher *h, const void *p, size_t n)
{
    if (EVP_DigestUpdate(h->sha, p, n) != 1 || (h->md5 && EVP_DigestUpdate(h->md5, p, n) != 1))
        die("hash update failed");
}

static void tohex(const uint8_t *d, unsigned n, char *out)
{
    for (unsigned i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

void hasher_final(hasher *h, char sha[65], char md5[33])
{
    uint8_t d[EVP_MAX_MD_SIZE];
    unsigned n;
    if (EVP_DigestFinal_ex(h->sha, d, &n) != 1)
        die("hash final failed");
    tohex(d, n, sha);
    if (h->md5) {
        if (EVP_DigestFinal_ex(h->md5, d, &n) != 1)
            die("hash final failed");
        if (md5)
            tohex(d, n, md5);
    }
    EVP_MD_CTX_free(h->sha);
    EVP_MD_CTX_free(h->md5);
    free(h);
}

void sha256_hex(const void *p, size_t n, char out[65])
{
    uint8_t d[EVP_MAX_MD_SIZE];
    unsigned len;
    if (EVP_Digest(p, n, d, &len, EVP_sha256(), NULL) != 1)
        die("SHA-256 failed");
    tohex(d, len, out);
}

/* A fast 64-bit block fingerprint for the generator's self-check (never
 * written to the manifest). */
uint64_t fasthash64(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t v;
        memcpy(&v, b + i, 8);
        h ^= v * 0xbf58476d1ce4e5b9ull;
        h = (h << 31 | h >> 33) * 0x94d049bb133111ebull;
    }
    for (; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h ^ (h >> 29);
}

void xpread(int fd, void *buf, size_t n, uint64_t off)
{
    uint8_t *p = buf;
    while (n) {
        ssize_t r = pread(fd, p, n, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            die("read at %llu: %s", (unsigned long long)off, strerror(errno));
        if (r == 0) {               /* past the end of a sparse file: zeros */
            memset(p, 0, n);
            return;
        }
        p += r; n -= (size_t)r; off += (uint64_t)r;
    }
}

void xpwrite(int fd, const void *buf, size_t n, uint64_t off)
{
    const uint8_t *p = buf;
    while (n) {
        ssize_t r = pwrite(fd, p, n, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            die("write at %llu: %s", (unsigned long long)off, r < 0 ? strerror(errno) : "short write");
        p += r; n -= (size_t)r; off += (uint64_t)r;
    }
}

void pattern_fill(const pattern *pt, uint64_t off, uint8_t *buf, size_t n)
{
    switch (pt->kind) {
    case PAT_ZERO:
        memset(buf, 0, n);
        break;
    case PAT_BYTE:
        memset(buf, pt->byte, n);
        break;
    case PAT_TEXT: {
        size_t L = strlen(pt->text);
        for (size_t i = 0; i < n; i++)
            buf[i] = L ? (uint8_t)pt->text[(off + i) % L] : 0;
        break;
    }
    case PAT_RANDOM:
        /* byte at offset pos = byte (pos & 7) of a hash of (seed, pos / 8) */
        for (size_t i = 0; i < n;) {
            uint64_t pos = off + i;
            prng r = { pt->seed ^ ((pos >> 3) * 0xd6e8feb86659fd93ull) };
            uint64_t w = prng_next(&r);
            for (unsigned k = (unsigned)(pos & 7); k < 8 && i < n; k++, i++)
                buf[i] = (uint8_t)(w >> (8 * k));
        }
        break;
    }
}

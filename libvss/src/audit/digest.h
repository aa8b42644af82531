/*
 * audit/digest.h — MD5, SHA-1 and SHA-256 for the audit (internal): OpenSSL's code through
 * its one-algorithm interface (MD5_Init ... SHA256_Final: deprecated in 3.0
 * in favour of EVP, not removed). It runs the same assembly (SHA-NI where
 * the CPU has it) as EVP, without pulling EVP's provider machinery into
 * the statically linked tools: its 340 KB of relocated tables made every
 * vssinfo start fault in 85 more pages than a listing needs.
 */
#ifndef VSS_AUDIT_DIGEST_H
#define VSS_AUDIT_DIGEST_H

#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/md5.h>
#include <openssl/sha.h>
#include <stddef.h>

enum { DIGEST_MD5 = 0, DIGEST_SHA1 = 1, DIGEST_SHA256 = 2 };
#define DIGEST_MAX 32

typedef struct digest {
    int alg;
    union {
        MD5_CTX md5;
        SHA_CTX sha1;
        SHA256_CTX sha256;
    } u;
} digest;

static inline void digest_init(digest *d, int alg)
{
    d->alg = alg;
    if (alg == DIGEST_MD5)
        MD5_Init(&d->u.md5);
    else if (alg == DIGEST_SHA1)
        SHA1_Init(&d->u.sha1);
    else
        SHA256_Init(&d->u.sha256);
}

static inline void digest_update(digest *d, const void *p, size_t n)
{
    if (d->alg == DIGEST_MD5)
        MD5_Update(&d->u.md5, p, n);
    else if (d->alg == DIGEST_SHA1)
        SHA1_Update(&d->u.sha1, p, n);
    else
        SHA256_Update(&d->u.sha256, p, n);
}

/* Writes 16, 20 or 32 bytes. */
static inline void digest_final(digest *d, unsigned char *out)
{
    if (d->alg == DIGEST_MD5)
        MD5_Final(out, &d->u.md5);
    else if (d->alg == DIGEST_SHA1)
        SHA1_Final(out, &d->u.sha1);
    else
        SHA256_Final(out, &d->u.sha256);
}

static inline void digest_once(int alg, const void *p, size_t n,
                               unsigned char *out)
{
    digest d;
    digest_init(&d, alg);
    digest_update(&d, p, n);
    digest_final(&d, out);
}

#endif

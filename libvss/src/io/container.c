/*
 * container.c — vss_source_open_image: find which evidence container holds
 * a disk image (by content: EWF, qcow2, VHDX, VHD; split raw by its
 * segment names; else raw), wrap the backend as a vss_source, and the
 * functions every backend shares (errors, cache, backing files, verify).
 */
/* OpenSSL's MD5/SHA-1 through their one-algorithm interface (deprecated
 * in 3.0 in favour of EVP, not removed): the same assembly as EVP, without
 * pulling EVP's provider machinery into the static tools, whose 340 KB of
 * relocated tables made every vssinfo start fault in 85 pages. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/md5.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>

#include "io/container.h"

/* ---- the container behind a vss_source ------------------------------------ */

static int64_t cont_read_at(void *ctx, void *buf, size_t len, uint64_t off)
{
    vss_container *c = ctx;
    if (off >= c->size)
        return 0;
    if (len > c->size - off)
        len = (size_t)(c->size - off);
    if (len == 0)
        return 0;
    return c->read(c, buf, len, off);
}

static void cont_close(void *ctx)
{
    vss_container *c = ctx;
    c->destroy(c);
}

static const vss_source_ops container_ops = {cont_read_at, cont_close};

void ct_init(vss_container *c, vss_container_type type, const char *path)
{
    (void)path;
    pthread_mutex_init(&c->err_lock, NULL);
    c->info.type = type;
    c->info.segments = 1;
    c->info.sector_size = 512;
}

void ct_fini(vss_container *c)
{
    pthread_mutex_destroy(&c->err_lock);
}

int ct_fail(vss_container *c, int code, const char *fmt, ...)
{
    va_list ap;
    pthread_mutex_lock(&c->err_lock);
    if (c->first_error.code == VSS_OK) {
        c->first_error.code = code;
        va_start(ap, fmt);
        vsnprintf(c->first_error.message, sizeof c->first_error.message, fmt,
                  ap);
        va_end(ap);
    }
    pthread_mutex_unlock(&c->err_lock);
    return code;
}

int ct_read(vss_source *src, void *buf, size_t len, uint64_t off,
            const char *what, vss_error *err)
{
    return vss_read_exact(src, buf, len, off, what, err);
}

int ct_open_backing(const vss_image_options *opts, vss_source **out,
                    vss_error *err)
{
    *out = NULL;
    if (!opts)
        return VSS_OK;
    if (opts->backing) {
        vss_source_retain(opts->backing);
        *out = opts->backing;
        return VSS_OK;
    }
    if (opts->backing_path && *opts->backing_path) {
        vss_error e = {0};
        int rc = vss_source_open_image(opts->backing_path, NULL, out, &e);
        if (rc)
            return vss_fail(err, rc, "backing file / parent %s: %s",
                            opts->backing_path, e.message);
    }
    return VSS_OK;
}

/* ---- cache -------------------------------------------------------------------- */

int ct_cache_init(ct_cache *k, size_t nslots, size_t slot_size)
{
    memset(k, 0, sizeof *k);
    k->keys = vss_calloc(nslots, sizeof *k->keys);
    k->stamps = vss_calloc(nslots, sizeof *k->stamps);
    k->data = nslots && slot_size <= SIZE_MAX / nslots
                  ? vss_malloc(nslots * slot_size)
                  : NULL;
    if (!k->keys || !k->stamps || !k->data) {
        free(k->keys);
        free(k->stamps);
        free(k->data);
        memset(k, 0, sizeof *k);
        return VSS_ENOMEM;
    }
    k->nslots = nslots;
    k->slot_size = slot_size;
    pthread_mutex_init(&k->lock, NULL);
    k->ready = 1;
    return VSS_OK;
}

void ct_cache_free(ct_cache *k)
{
    if (!k->ready)
        return;
    pthread_mutex_destroy(&k->lock);
    free(k->keys);
    free(k->stamps);
    free(k->data);
    memset(k, 0, sizeof *k);
}

int ct_cache_get(ct_cache *k, uint64_t key, void *dst, size_t off, size_t len)
{
    size_t i;
    int hit = 0;
    if (!k->ready || off > k->slot_size || len > k->slot_size - off)
        return 0;
    pthread_mutex_lock(&k->lock);
    for (i = 0; i < k->nslots; i++) {
        if (k->keys[i] == key + 1) {
            memcpy(dst, k->data + i * k->slot_size + off, len);
            k->stamps[i] = ++k->clock;
            hit = 1;
            break;
        }
    }
    pthread_mutex_unlock(&k->lock);
    return hit;
}

void ct_cache_put(ct_cache *k, uint64_t key, const void *src)
{
    size_t i, victim = 0;
    if (!k->ready)
        return;
    pthread_mutex_lock(&k->lock);
    for (i = 0; i < k->nslots; i++) {
        if (k->keys[i] == key + 1) {
            victim = i;
            break;
        }
        if (k->stamps[i] < k->stamps[victim])
            victim = i;
    }
    memcpy(k->data + victim * k->slot_size, src, k->slot_size);
    k->keys[victim] = key + 1;
    k->stamps[victim] = ++k->clock;
    pthread_mutex_unlock(&k->lock);
}

/* ---- raw ---------------------------------------------------------------------- */

typedef struct raw_ct {
    vss_container base;
    vss_source *file;
} raw_ct;

static int64_t raw_read(vss_container *c, void *buf, size_t len, uint64_t off)
{
    raw_ct *r = (raw_ct *)c;
    vss_error e = {0};
    int rc = ct_read(r->file, buf, len, off, "raw image", &e);
    if (rc)
        return ct_fail(c, rc, "%s", e.message);
    return (int64_t)len;
}

static void raw_destroy(vss_container *c)
{
    raw_ct *r = (raw_ct *)c;
    vss_source_release(r->file);
    ct_fini(c);
    free(r);
}

int ct_raw_open(vss_source *file, const char *path, vss_container **out,
                vss_error *err)
{
    raw_ct *r = vss_calloc(1, sizeof *r);
    (void)path;
    if (!r)
        return vss_fail(err, VSS_ENOMEM, "raw image: out of memory");
    ct_init(&r->base, VSS_CONTAINER_RAW, path);
    vss_source_retain(file);
    r->file = file;
    r->base.read = raw_read;
    r->base.destroy = raw_destroy;
    r->base.size = vss_source_size(file);
    r->base.info.media_size = r->base.size;
    r->base.info.stored_size = r->base.size;
    snprintf(r->base.info.format, sizeof r->base.info.format, "raw");
    *out = &r->base;
    return VSS_OK;
}

/* ---- detection ------------------------------------------------------------------ */

static const uint8_t ewf_sig[8] = {'E', 'V', 'F', 0x09, 0x0d, 0x0a, 0xff, 0x00};
static const uint8_t ewf2_sig[8] = {'E', 'V', 'F', '2', 0x0d, 0x0a, 0x81, 0x00};
static const uint8_t lvf_sig[8] = {'L', 'V', 'F', 0x09, 0x0d, 0x0a, 0xff, 0x00};
static const uint8_t lef2_sig[8] = {'L', 'E', 'F', '2', 0x0d, 0x0a, 0x81, 0x00};

/* A VHD footer with a valid checksum (a raw disk whose last sector merely
 * starts with "conectix" stays raw). */
static int vhd_footer_valid(const uint8_t *f)
{
    uint32_t sum = 0;
    size_t i;
    if (memcmp(f, "conectix", 8) != 0)
        return 0;
    for (i = 0; i < 512; i++)
        if (i < 64 || i >= 68)
            sum += f[i];
    return ~sum == be32(f + 64);
}

int vss_source_open_image(const char *path, const vss_image_options *opts,
                          vss_source **out, vss_error *err)
{
    vss_source *file = NULL;
    vss_container *c = NULL;
    uint8_t head[512], tail[512];
    uint64_t size;
    size_t n;
    int rc;

    if (!out)
        return vss_fail(err, VSS_EINVAL, "open image: no output pointer");
    *out = NULL;
    if (!path)
        return vss_fail(err, VSS_EINVAL, "open image: no path");
    rc = vss_source_open_file(path, &file, err);
    if (rc)
        return rc;
    size = vss_source_size(file);
    memset(head, 0, sizeof head);
    memset(tail, 0, sizeof tail);
    n = size < sizeof head ? (size_t)size : sizeof head;
    rc = ct_read(file, head, n, 0, "image start", err);
    if (rc == VSS_OK && size >= 512)
        rc = ct_read(file, tail, 512, size - 512, "image end", err);
    if (rc)
        goto out;

    if (memcmp(head, ewf_sig, 8) == 0)
        rc = ct_ewf_open(file, path, &c, err);
    else if (memcmp(head, ewf2_sig, 8) == 0)
        rc = vss_fail(err, VSS_EUNSUPPORTED,
                      "%s: EWF2 (Ex01) container: not supported (convert "
                      "it to E01 or raw, e.g. with ewfexport)", path);
    else if (memcmp(head, lvf_sig, 8) == 0 || memcmp(head, lef2_sig, 8) == 0)
        rc = vss_fail(err, VSS_EUNSUPPORTED,
                      "%s: logical evidence file (L01/Lx01): holds files, "
                      "not a disk image", path);
    else if (memcmp(head, "QFI\xfb", 4) == 0)
        rc = ct_qcow2_open(file, path, opts, &c, err);
    else if (memcmp(head, "vhdxfile", 8) == 0)
        rc = ct_vhdx_open(file, path, opts, &c, err);
    else if (memcmp(head, "conectix", 8) == 0 ||
             (size >= 512 && vhd_footer_valid(tail)))
        rc = ct_vhd_open(file, path, opts, &c, err);
    else {
        rc = ct_split_open(file, path, &c, err);
        if (rc == 0)
            rc = ct_raw_open(file, path, &c, err);
        else if (rc > 0)
            rc = VSS_OK;
    }
    if (rc == VSS_OK && c)
        rc = vss_source_new(&container_ops, c, c->size, path, out, err);
out:
    vss_source_release(file);
    return rc;
}

uint64_t ct_source_next_data(vss_source *src, uint64_t off)
{
    vss_container *c = vss_source_ctx_if(src, &container_ops);
    if (c && c->read == raw_read) /* a raw image: its file knows */
        return vss_source_next_data(((raw_ct *)c)->file, off);
    return off;
}

int vss_source_container_info(vss_source *src, vss_container_info *info,
                              vss_error *err)
{
    vss_container *c = vss_source_ctx_if(src, &container_ops);
    if (!info)
        return vss_fail(err, VSS_EINVAL, "container info: no output");
    memset(info, 0, sizeof *info);
    if (!c)
        return vss_fail(err, VSS_EINVAL,
                        "%s: not opened with vss_source_open_image",
                        vss_source_name(src));
    *info = c->info;
    return VSS_OK;
}

int vss_source_container_error(vss_source *src, vss_error *err)
{
    vss_container *c = vss_source_ctx_if(src, &container_ops);
    vss_error e = {0};
    if (c) {
        pthread_mutex_lock(&c->err_lock);
        e = c->first_error;
        pthread_mutex_unlock(&c->err_lock);
    }
    if (err)
        *err = e;
    return e.code;
}

const char *vss_container_type_name(vss_container_type t)
{
    switch (t) {
    case VSS_CONTAINER_RAW: return "raw";
    case VSS_CONTAINER_SPLIT: return "split";
    case VSS_CONTAINER_EWF: return "ewf";
    case VSS_CONTAINER_QCOW2: return "qcow2";
    case VSS_CONTAINER_VHD: return "vhd";
    case VSS_CONTAINER_VHDX: return "vhdx";
    }
    return "unknown";
}

/* ---- verify ------------------------------------------------------------------------ */

static void hex(const uint8_t *p, size_t n, char *out)
{
    size_t i;
    for (i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", p[i]);
}

int vss_source_verify(vss_source *src, vss_verify_result *res,
                      vss_progress_cb cb, void *user, vss_error *err)
{
    vss_container *c = vss_source_ctx_if(src, &container_ops);
    vss_verify_result r;
    const size_t bufsz = 1u << 20;
    uint64_t size, off = 0;
    uint8_t *buf;
    MD5_CTX md5;
    SHA_CTX sha1;
    int rc = VSS_OK;

    memset(&r, 0, sizeof r);
    if (res)
        memset(res, 0, sizeof *res);
    if (!src)
        return vss_fail(err, VSS_EINVAL, "verify: no source");
    size = vss_source_size(src);
    buf = vss_malloc(bufsz);
    if (!buf)
        return vss_fail(err, VSS_ENOMEM, "verify: out of memory");
    /* OpenSSL's digests: the fastest code for them on the machine. */
    MD5_Init(&md5);
    SHA1_Init(&sha1);
    while (off < size) {
        size_t want = size - off < bufsz ? (size_t)(size - off) : bufsz;
        vss_error e = {0};
        rc = vss_read_exact(src, buf, want, off, "verify: media data", &e);
        if (rc) {
            vss_error ce = {0};
            if (vss_source_container_error(src, &ce))
                vss_fail(err, rc, "%s", ce.message);
            else
                vss_fail(err, rc, "%s", e.message);
            goto out;
        }
        MD5_Update(&md5, buf, want);
        SHA1_Update(&sha1, buf, want);
        off += want;
        if (cb && cb(off, size, user)) {
            rc = vss_fail(err, VSS_EINVAL, "verify: cancelled at offset %llu",
                          (unsigned long long)off);
            goto out;
        }
    }
    MD5_Final(r.md5, &md5);
    SHA1_Final(r.sha1, &sha1);
    r.bytes = off;
    if (c) {
        r.md5_stored = c->info.has_md5;
        r.sha1_stored = c->info.has_sha1;
        r.md5_match = r.md5_stored && memcmp(r.md5, c->info.md5, 16) == 0;
        r.sha1_match =
            r.sha1_stored && memcmp(r.sha1, c->info.sha1, 20) == 0;
        if ((r.md5_stored && !r.md5_match) ||
            (r.sha1_stored && !r.sha1_match)) {
            char want[41], got[41];
            int m = r.md5_stored && !r.md5_match;
            hex(m ? c->info.md5 : c->info.sha1, m ? 16 : 20, want);
            hex(m ? r.md5 : r.sha1, m ? 16 : 20, got);
            rc = vss_fail(err, VSS_ECORRUPT,
                          "%s: %s of the media is %s, the container stores "
                          "%s", vss_source_name(src), m ? "MD5" : "SHA-1",
                          got, want);
        }
    }
out:
    free(buf);
    if (res)
        *res = r;
    return rc;
}

/*
 * container.h — evidence containers (issue #8): the read-at backends for
 * EWF (E01), split raw, qcow2, VHD and VHDX behind vss_source_open_image.
 * Shared by container*.c only; never installed.
 */
#ifndef VSS_CONTAINER_H
#define VSS_CONTAINER_H

#include <pthread.h>

#include "io/io.h"

/* ---- big-endian readers (qcow2, VHD) ------------------------------------ */

static inline uint16_t be16(const uint8_t *p)
{
    return (uint16_t)((uint16_t)p[0] << 8 | (uint16_t)p[1]);
}

static inline uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           (uint32_t)p[3];
}

static inline uint64_t be64(const uint8_t *p)
{
    return (uint64_t)be32(p) << 32 | (uint64_t)be32(p + 4);
}

/* ---- one container ------------------------------------------------------- */

typedef struct vss_container vss_container;
struct vss_container {
    /* Read [off, off+len) (already clipped to size): returns len or a
     * negative VSS_E* code after ct_fail recorded why. Thread-safe. */
    int64_t (*read)(vss_container *c, void *buf, size_t len, uint64_t off);
    void (*destroy)(vss_container *c); /* frees the backend and c */
    uint64_t size;
    vss_container_info info;
    pthread_mutex_t err_lock;
    vss_error first_error;  /* the first read error, with its message */
};

/* Initialise the common part (the backend sets read/destroy/size/info). */
VSS_HIDDEN void ct_init(vss_container *c, vss_container_type type,
                        const char *path);
VSS_HIDDEN void ct_fini(vss_container *c);
/* Record a read-time error (the first one is kept for
 * vss_source_container_error) and return code. */
VSS_HIDDEN int ct_fail(vss_container *c, int code, const char *fmt, ...)
    VSS_PRINTF(3, 4);

/* Open a backing file / parent for a differencing image: opts->backing (a
 * source, retained) or opts->backing_path (any container); NULL *out when
 * none was given. */
VSS_HIDDEN int ct_open_backing(const vss_image_options *opts,
                               vss_source **out, vss_error *err);

/* ---- a small thread-safe cache of fixed-size buffers (LRU) --------------- */

typedef struct ct_cache {
    pthread_mutex_t lock;
    size_t nslots, slot_size;
    uint64_t *keys;    /* key + 1; 0 = empty */
    uint64_t *stamps;
    uint8_t *data;
    uint64_t clock;
    int ready;
} ct_cache;

VSS_HIDDEN int ct_cache_init(ct_cache *k, size_t nslots, size_t slot_size);
VSS_HIDDEN void ct_cache_free(ct_cache *k);
/* Copy len bytes at off of the entry for key into dst: 1 if cached. */
VSS_HIDDEN int ct_cache_get(ct_cache *k, uint64_t key, void *dst, size_t off,
                            size_t len);
VSS_HIDDEN void ct_cache_put(ct_cache *k, uint64_t key, const void *src);

/* ---- hashes (container_hash.c) -------------------------------------------- */

VSS_HIDDEN uint32_t ct_crc32c(const void *p, size_t n);

/* ---- backends --------------------------------------------------------------- */

/* `file` is the opened first file (retained by the backend on success). */
VSS_HIDDEN int ct_ewf_open(vss_source *file, const char *path,
                           vss_container **out, vss_error *err);
VSS_HIDDEN int ct_qcow2_open(vss_source *file, const char *path,
                             const vss_image_options *opts,
                             vss_container **out, vss_error *err);
VSS_HIDDEN int ct_vhd_open(vss_source *file, const char *path,
                           const vss_image_options *opts,
                           vss_container **out, vss_error *err);
VSS_HIDDEN int ct_vhdx_open(vss_source *file, const char *path,
                            const vss_image_options *opts,
                            vss_container **out, vss_error *err);
/* Split raw: 1 and *out set when path names the first of several
 * segments, 0 when it is not a split image. */
VSS_HIDDEN int ct_split_open(vss_source *file, const char *path,
                             vss_container **out, vss_error *err);
VSS_HIDDEN int ct_raw_open(vss_source *file, const char *path,
                           vss_container **out, vss_error *err);

/* Read exactly from a file source, naming the container structure. */
VSS_HIDDEN int ct_read(vss_source *src, void *buf, size_t len, uint64_t off,
                       const char *what, vss_error *err);

#endif

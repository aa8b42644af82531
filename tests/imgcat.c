/*
 * imgcat — test helper for the evidence containers (issue #8), through the
 * public API only:
 *   imgcat [--backing PATH] IMAGE               media bytes to stdout
 *   imgcat --range OFF:LEN IMAGE                 some of them
 *   imgcat --info IMAGE                          container info, key: value
 *   imgcat --verify IMAGE                        read all, check stored hashes
 *   imgcat --stress RAW [--threads N] [--reads M] IMAGE
 *        random reads from N threads compared with the raw original (bytes
 *        past the original's end must read as zeros)
 * Exit 0 on success, 1 on failure (message on stderr), 2 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vss.h"

static void hexs(const uint8_t *p, size_t n, char *out)
{
    size_t i;
    for (i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", p[i]);
}

typedef struct stress {
    vss_source *src;
    int rawfd;
    uint64_t rawsize, size;
    int reads;
    unsigned seed;
    int failed;
    char msg[600];
} stress;

static void *stress_thread(void *arg)
{
    stress *s = arg;
    size_t cap = 3u << 20;
    uint8_t *a = malloc(cap), *b = malloc(cap);
    unsigned seed = s->seed;
    int i;
    if (!a || !b) {
        s->failed = 1;
        snprintf(s->msg, sizeof s->msg, "out of memory");
        goto out;
    }
    for (i = 0; i < s->reads && !s->failed; i++) {
        uint64_t off = ((uint64_t)rand_r(&seed) << 31 ^ (uint64_t)rand_r(&seed)) %
                       (s->size + 1);
        size_t len = (size_t)rand_r(&seed) % (i % 8 == 0 ? cap : 70000);
        int64_t n;
        size_t want, have = 0;
        if (i % 3 == 0)
            off &= ~(uint64_t)511;
        want = off >= s->size ? 0
               : (s->size - off < len ? (size_t)(s->size - off) : len);
        n = vss_source_read_at(s->src, a, len, off);
        if (n != (int64_t)want) {
            vss_error e = {0};
            vss_source_container_error(s->src, &e);
            s->failed = 1;
            snprintf(s->msg, sizeof s->msg,
                     "read %zu at %llu: got %lld, want %zu (%s)", len,
                     (unsigned long long)off, (long long)n, want, e.message);
            break;
        }
        memset(b, 0, want);
        if (off < s->rawsize) {
            size_t r = s->rawsize - off < want ? (size_t)(s->rawsize - off)
                                                : want;
            while (have < r) {
                ssize_t k = pread(s->rawfd, b + have, r - have,
                                  (off_t)(off + have));
                if (k <= 0)
                    break;
                have += (size_t)k;
            }
        }
        if (memcmp(a, b, want) != 0) {
            size_t j = 0;
            while (a[j] == b[j])
                j++;
            s->failed = 1;
            snprintf(s->msg, sizeof s->msg,
                     "read %zu at %llu differs from the original at offset "
                     "%llu", len, (unsigned long long)off,
                     (unsigned long long)(off + j));
        }
    }
out:
    free(a);
    free(b);
    return NULL;
}

int main(int argc, char **argv)
{
    const char *image = NULL, *raw = NULL, *mode = "cat";
    vss_image_options opts;
    vss_source *src = NULL;
    vss_error e = {0};
    uint64_t off = 0, len = UINT64_MAX;
    int threads = 4, reads = 300, i, rc;

    memset(&opts, 0, sizeof opts);
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--info"))
            mode = "info";
        else if (!strcmp(argv[i], "--verify"))
            mode = "verify";
        else if (!strcmp(argv[i], "--backing") && i + 1 < argc)
            opts.backing_path = argv[++i];
        else if (!strcmp(argv[i], "--stress") && i + 1 < argc) {
            mode = "stress";
            raw = argv[++i];
        } else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reads") && i + 1 < argc)
            reads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--range") && i + 1 < argc) {
            unsigned long long o, l;
            if (sscanf(argv[++i], "%llu:%llu", &o, &l) != 2)
                return 2;
            off = o;
            len = l;
        } else if (argv[i][0] == '-' || image) {
            fprintf(stderr, "usage: imgcat [--info|--verify|--stress RAW] "
                            "[--backing PATH] [--range OFF:LEN] IMAGE\n");
            return 2;
        } else
            image = argv[i];
    }
    if (!image || threads < 1 || threads > 64)
        return 2;
    rc = vss_source_open_image(image, &opts, &src, &e);
    if (rc) {
        fprintf(stderr, "imgcat: %s (%s)\n", e.message, vss_strerror(rc));
        return 1;
    }
    if (!strcmp(mode, "info")) {
        vss_container_info in;
        char h[64];
        vss_source_container_info(src, &in, &e);
        printf("type: %s\nformat: %s\nsegments: %u\nmedia_size: %llu\n"
               "stored_size: %llu\nchunk_size: %u\nsector_size: %u\n"
               "compressed: %d\nhas_backing: %d\nbacking_name: %s\n"
               "case_number: %s\nevidence_number: %s\ndescription: %s\n"
               "examiner: %s\nnotes: %s\nacquiry_date: %s\nsystem_date: %s\n"
               "acquiry_os: %s\nacquiry_software: %s\nmodel: %s\nserial: %s\n",
               vss_container_type_name(in.type), in.format, in.segments,
               (unsigned long long)in.media_size,
               (unsigned long long)in.stored_size, in.chunk_size,
               in.sector_size, in.compressed, in.has_backing, in.backing_name,
               in.case_number, in.evidence_number, in.description,
               in.examiner, in.notes, in.acquiry_date, in.system_date,
               in.acquiry_os, in.acquiry_software, in.model, in.serial_number);
        hexs(in.md5, 16, h);
        printf("md5: %s\n", in.has_md5 ? h : "");
        hexs(in.sha1, 20, h);
        printf("sha1: %s\n", in.has_sha1 ? h : "");
    } else if (!strcmp(mode, "verify")) {
        vss_verify_result r;
        char h[64];
        rc = vss_source_verify(src, &r, NULL, NULL, &e);
        hexs(r.md5, 16, h);
        printf("bytes: %llu\nmd5: %s (%s)\n", (unsigned long long)r.bytes, h,
               !r.md5_stored ? "not stored" : r.md5_match ? "matches" : "MISMATCH");
        hexs(r.sha1, 20, h);
        printf("sha1: %s (%s)\n", h,
               !r.sha1_stored ? "not stored" : r.sha1_match ? "matches" : "MISMATCH");
        if (rc) {
            fprintf(stderr, "imgcat: %s (%s)\n", e.message, vss_strerror(rc));
            vss_source_release(src);
            return 1;
        }
    } else if (!strcmp(mode, "stress")) {
        pthread_t th[64];
        stress st[64];
        int fd = open(raw, O_RDONLY);
        off_t rs;
        if (fd < 0 || (rs = lseek(fd, 0, SEEK_END)) < 0) {
            fprintf(stderr, "imgcat: %s: %s\n", raw, strerror(errno));
            return 1;
        }
        for (i = 0; i < threads; i++) {
            memset(&st[i], 0, sizeof st[i]);
            st[i].src = src;
            st[i].rawfd = fd;
            st[i].rawsize = (uint64_t)rs;
            st[i].size = vss_source_size(src);
            st[i].reads = reads;
            st[i].seed = 1234u + (unsigned)i * 7919u;
            pthread_create(&th[i], NULL, stress_thread, &st[i]);
        }
        rc = 0;
        for (i = 0; i < threads; i++) {
            pthread_join(th[i], NULL);
            if (st[i].failed) {
                fprintf(stderr, "imgcat: thread %d: %s\n", i, st[i].msg);
                rc = 1;
            }
        }
        close(fd);
        vss_source_release(src);
        if (!rc)
            printf("%d threads x %d random reads: identical\n", threads, reads);
        return rc;
    } else {
        size_t bufsz = 1u << 20;
        uint8_t *buf = malloc(bufsz);
        uint64_t size = vss_source_size(src), end;
        end = len == UINT64_MAX || len > size - (off < size ? off : size)
                  ? size : off + len;
        while (buf && off < end) {
            size_t want = end - off < bufsz ? (size_t)(end - off) : bufsz;
            int64_t n = vss_source_read_at(src, buf, want, off);
            if (n <= 0) {
                vss_source_container_error(src, &e);
                fprintf(stderr, "imgcat: read at %llu failed: %s\n",
                        (unsigned long long)off,
                        e.code ? e.message : vss_strerror((int)n));
                free(buf);
                vss_source_release(src);
                return 1;
            }
            if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n) {
                free(buf);
                vss_source_release(src);
                return 1;
            }
            off += (uint64_t)n;
        }
        free(buf);
    }
    vss_source_release(src);
    return 0;
}

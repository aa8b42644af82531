/*
 * readbench — one reader, three back ends, same access pattern, for
 * `make bench`:
 *
 *   readbench vss|vshadow|raw seq|rand IMAGE OFFSET SNAPSHOT [COUNT] [SEED]
 *             [READERS]
 *
 * vss      libvss: snapshot SNAPSHOT (1 = oldest) of the volume at OFFSET
 * vssimg   the same, IMAGE opened in its container (E01, qcow2, ...)
 * vshadow  libvshadow: store SNAPSHOT-1 of the same volume
 * raw      the image itself at OFFSET (the physical limit: page cache)
 * seq      read the whole snapshot volume in 1 MiB reads (seqM: M MiB
 *          reads, M from 1 to 64) (at most COUNT
 *          of them when COUNT is given and not 0, from MiB number SEED on
 *          when SEED is given)
 * rand     COUNT random 4 KiB-aligned 4 KiB reads (seeded); READERS > 1
 *          splits them over that many threads, each with its own seed and
 *          buffer, all reading the same open file/snapshot at once (the
 *          raw back end: pread on one descriptor, as parallel readers of a
 *          mounted file do)
 *
 * Prints: "<bytes> <seconds> <MB/s> <reads/s> <checksum>"; the checksum (a
 * simple sum of 64-bit words) lets the script see all three read the same.
 */
#include <fcntl.h>
#include <pthread.h>
#include <libbfio.h>
#include <libvshadow.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vss.h"

typedef struct reader {
    int64_t (*read)(struct reader *r, uint8_t *buf, size_t n, uint64_t off);
    uint64_t size;
    vss_snapshot *snap;
    libvshadow_store_t *store;
    int fd;
    uint64_t base;
} reader;

static int64_t rd_vss(reader *r, uint8_t *b, size_t n, uint64_t off)
{
    return vss_snapshot_read_at(r->snap, b, n, off, NULL);
}

static int64_t rd_vshadow(reader *r, uint8_t *b, size_t n, uint64_t off)
{
    return libvshadow_store_read_buffer_at_offset(r->store, b, n, (off64_t)off,
                                                  NULL);
}

static int64_t rd_raw(reader *r, uint8_t *b, size_t n, uint64_t off)
{
    return pread(r->fd, b, n, (off_t)(r->base + off));
}

/* One random reader: n reads from its own xorshift stream. */
typedef struct rand_job {
    reader *r;
    uint64_t seed, n, sum;
    int failed;
} rand_job;

static uint64_t sum64(const uint8_t *p, size_t n);

static void *rand_reader(void *arg)
{
    rand_job *j = arg;
    uint8_t *buf = malloc(4096);
    uint64_t x = j->seed * 0x9E3779B97F4A7C15ull + 1,
             blocks = j->r->size / 4096;
    if (!buf) {
        j->failed = 1;
        return NULL;
    }
    for (uint64_t i = 0; i < j->n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if (j->r->read(j->r, buf, 4096, (x % blocks) * 4096) != 4096) {
            j->failed = 1;
            break;
        }
        j->sum += sum64(buf, 4096);
    }
    free(buf);
    return NULL;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static uint64_t sum64(const uint8_t *p, size_t n)
{
    uint64_t s = 0, w;
    for (size_t i = 0; i + 8 <= n; i += 8) {
        memcpy(&w, p + i, 8);
        s += w;
    }
    return s;
}

int main(int argc, char **argv)
{
    reader r;
    uint64_t off, bytes = 0, sum = 0, count, seed, snapshot;
    size_t bufsz;
    uint8_t *buf;
    double t0, t;
    long reads = 0;
    int readers;

    if (argc < 6) {
        fprintf(stderr, "usage: readbench vss|vssimg|vshadow|raw seq|rand IMAGE "
                        "OFFSET SNAPSHOT [COUNT] [SEED] [READERS]\n");
        return 2;
    }
    memset(&r, 0, sizeof r);
    off = strtoull(argv[4], NULL, 0);
    snapshot = strtoull(argv[5], NULL, 0);
    count = argc > 6 ? strtoull(argv[6], NULL, 0) : 100000;
    seed = argc > 7 ? strtoull(argv[7], NULL, 0) : 1;
    readers = argc > 8 ? atoi(argv[8]) : 1;
    /* seqM: reads of M MiB (seq: 1 MiB) */
    bufsz = (size_t)1 << 20;
    if (strncmp(argv[2], "seq", 3) == 0 && argv[2][3]) {
        unsigned long mib = strtoul(argv[2] + 3, NULL, 10);
        if (mib < 1 || mib > 64) {
            fprintf(stderr, "seqM: M from 1 to 64 MiB\n");
            return 2;
        }
        bufsz = (size_t)mib << 20;
    }
    if (!(buf = malloc(bufsz))) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }

    if (strcmp(argv[1], "vss") == 0 || strcmp(argv[1], "vssimg") == 0) {
        vss_source *img, *vol;
        vss_volume *v;
        vss_error e = {0};
        int rc = strcmp(argv[1], "vss") == 0
                     ? vss_source_open_file(argv[3], &img, &e)
                     : vss_source_open_image(argv[3], NULL, &img, &e);
        if (rc ||
            vss_source_open_range(img, off, vss_source_size(img) - off, &vol,
                                  &e) ||
            vss_volume_open(vol, &v, &e) ||
            vss_snapshot_open(v, (int)snapshot, VSS_FILL_WINDOWS, &r.snap,
                              &e)) {
            fprintf(stderr, "libvss: %s\n", e.message);
            return 1;
        }
        r.read = rd_vss;
        r.size = vss_snapshot_size(r.snap);
    } else if (strcmp(argv[1], "vshadow") == 0) {
        libbfio_handle_t *fio = NULL;
        libvshadow_volume_t *lv = NULL;
        size64_t size;
        if (libbfio_file_range_initialize(&fio, NULL) != 1 ||
            libbfio_file_range_set_name(fio, argv[3], strlen(argv[3]), NULL) !=
                1 ||
            libbfio_file_range_set(fio, (off64_t)off, 0, NULL) != 1 ||
            libvshadow_volume_initialize(&lv, NULL) != 1 ||
            libvshadow_volume_open_file_io_handle(lv, fio, LIBVSHADOW_OPEN_READ,
                                                  NULL) != 1 ||
            libvshadow_volume_get_store(lv, (int)snapshot - 1, &r.store,
                                        NULL) != 1 ||
            libvshadow_store_get_volume_size(r.store, &size, NULL) != 1) {
            fprintf(stderr, "libvshadow cannot open the store\n");
            return 1;
        }
        r.read = rd_vshadow;
        r.size = size;
    } else {
        r.fd = open(argv[3], O_RDONLY);
        if (r.fd < 0) {
            perror(argv[3]);
            return 1;
        }
        r.base = off;
        r.size = (uint64_t)lseek(r.fd, 0, SEEK_END) - off;
        if (snapshot) {
            /* Same byte count as the snapshot: its size from libvss. */
            vss_source *img, *vol;
            vss_volume *v;
            vss_snapshot *s;
            if (vss_source_open_file(argv[3], &img, NULL) == 0 &&
                vss_source_open_range(img, off, vss_source_size(img) - off,
                                      &vol, NULL) == 0 &&
                vss_volume_open(vol, &v, NULL) == 0 &&
                vss_snapshot_open(v, (int)snapshot, VSS_FILL_WINDOWS, &s,
                                  NULL) == 0 &&
                vss_snapshot_size(s) < r.size)
                r.size = vss_snapshot_size(s);
        }
        r.read = rd_raw;
    }

    t0 = now();
    if (strncmp(argv[2], "seq", 3) == 0) {
        uint64_t start = argc > 7 ? seed * bufsz : 0;
        if (start > r.size)
            start = r.size;
        if (argc > 6 && count && count < (r.size - start) / bufsz)
            r.size = start + count * bufsz;
        for (uint64_t pos = start; pos < r.size;) {
            size_t n = r.size - pos < bufsz ? (size_t)(r.size - pos) : bufsz;
            int64_t got = r.read(&r, buf, n, pos);
            if (got <= 0) {
                fprintf(stderr, "read failed at %llu\n",
                        (unsigned long long)pos);
                return 1;
            }
            sum += sum64(buf, (size_t)got);
            pos += (uint64_t)got;
            bytes += (uint64_t)got;
            reads++;
        }
    } else {
        /* Reader k of READERS uses seed+k; with one reader this is the
         * sequence of seed alone, as before. */
        rand_job jobs[64];
        pthread_t tid[64];
        if (readers < 1 || readers > 64) {
            fprintf(stderr, "READERS must be 1..64\n");
            return 2;
        }
        for (int k = 0; k < readers; k++) {
            jobs[k] = (rand_job){&r, seed + (uint64_t)k,
                                 count / (uint64_t)readers, 0, 0};
            if (k == 0)
                jobs[k].n += count % (uint64_t)readers;
        }
        for (int k = 1; k < readers; k++)
            if (pthread_create(&tid[k], NULL, rand_reader, &jobs[k])) {
                fprintf(stderr, "cannot start reader %d\n", k);
                return 1;
            }
        rand_reader(&jobs[0]);
        for (int k = 1; k < readers; k++)
            pthread_join(tid[k], NULL);
        for (int k = 0; k < readers; k++) {
            if (jobs[k].failed) {
                fprintf(stderr, "random read failed\n");
                return 1;
            }
            sum += jobs[k].sum;
            bytes += jobs[k].n * 4096;
            reads += (long)jobs[k].n;
        }
    }
    t = now() - t0;
    printf("%llu %.6f %.1f %.0f %016llx\n", (unsigned long long)bytes, t,
           bytes / t / 1e6, reads / t, (unsigned long long)sum);
    return 0;
}

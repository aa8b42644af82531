/*
 * disk.c - partition tables and the final image files.
 *
 * Volumes are built in their own sparse files; at the end they are copied
 * (data extents only, holes stay holes) into the image files:
 *   layout none: the image is the bare volume;
 *   layout mbr:  MBR, partitions 1 MiB aligned;
 *   layout gpt:  protective MBR, GPT header and entries, backup GPT.
 * With storage=partition the diff-area volume is partition 1 and the
 * source volume partition 2 (as in the real vss_3_volstor image); with
 * storage=image the diff-area volume is a second image file.
 */
#define _GNU_SOURCE
#include "vssgen.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MIB (1024ull * 1024)

static uint32_t crc32_buf(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
    }
    return ~c;
}

void disk_plan(const scenario *sc, int nvol, const uint64_t *vol_size, placement *pl)
{
    memset(pl, 0, sizeof *pl);
    pl->layout = sc->layout;
    uint64_t lead = sc->layout == LAYOUT_NONE ? 0 : MIB;
    uint64_t tail = sc->layout == LAYOUT_GPT ? MIB : 0;
    char name[512];
    if (nvol == 2 && sc->storage == STOR_PARTITION) {
        if (sc->layout == LAYOUT_NONE)
            die("storage=partition needs layout mbr or gpt");
        pl->nimages = 1;
        snprintf(name, sizeof name, "%s.img", sc->name);
        pl->image[0] = xstrdup(name);
        pl->vol_image[0] = pl->vol_image[1] = 0;
        pl->vol_offset[1] = lead;                       /* storage: partition 1 */
        pl->vol_offset[0] = lead + vol_size[1];         /* source: partition 2 */
        pl->image_size[0] = lead + vol_size[1] + vol_size[0] + tail;
        return;
    }
    pl->nimages = nvol;
    for (int i = 0; i < nvol; i++) {
        snprintf(name, sizeof name, i ? "%s.storage.img" : "%s.img", sc->name);
        pl->image[i] = xstrdup(name);
        pl->vol_image[i] = i;
        pl->vol_offset[i] = lead;
        pl->image_size[i] = lead + vol_size[i] + tail;
    }
}

static void put_mbr_entry(uint8_t *e, uint8_t type, uint64_t lba, uint64_t n)
{
    e[0] = 0;
    e[1] = 0xfe; e[2] = 0xff; e[3] = 0xff;          /* CHS: use LBA */
    e[4] = type;
    e[5] = 0xfe; e[6] = 0xff; e[7] = 0xff;
    put32(e + 8, (uint32_t)lba);
    put32(e + 12, (uint32_t)(n > 0xffffffffu ? 0xffffffffu : n));
}

static void write_gpt(int fd, uint64_t size, const uint64_t *off, const uint64_t *len, int n, prng *r)
{
    uint64_t last_lba = size / SECTOR - 1;
    uint8_t entries[128 * 128];
    memset(entries, 0, sizeof entries);
    guid basic = guid_parse("ebd0a0a2-b9e5-4433-87c0-68b6b72699c7");
    for (int i = 0; i < n; i++) {
        uint8_t *e = entries + 128 * i;
        guid_put(e, basic);
        guid_put(e + 16, guid_random(r));
        put64(e + 32, off[i] / SECTOR);
        put64(e + 40, (off[i] + len[i]) / SECTOR - 1);
        const char *nm = "Basic data partition";
        for (size_t k = 0; nm[k]; k++)
            put16(e + 56 + 2 * k, (uint8_t)nm[k]);
    }
    uint32_t ecrc = crc32_buf(entries, sizeof entries);
    guid disk = guid_random(r);
    for (int backup = 0; backup < 2; backup++) {
        uint8_t h[SECTOR];
        memset(h, 0, sizeof h);
        memcpy(h, "EFI PART", 8);
        put32(h + 8, 0x00010000);
        put32(h + 12, 92);
        put64(h + 24, backup ? last_lba : 1);
        put64(h + 32, backup ? 1 : last_lba);
        put64(h + 40, 34);
        put64(h + 48, last_lba - 33);
        guid_put(h + 56, disk);
        uint64_t elba = backup ? last_lba - 32 : 2;
        put64(h + 72, elba);
        put32(h + 80, 128);
        put32(h + 84, 128);
        put32(h + 88, ecrc);
        put32(h + 16, crc32_buf(h, 92));
        xpwrite(fd, entries, sizeof entries, elba * SECTOR);
        xpwrite(fd, h, sizeof h, (backup ? last_lba : 1) * SECTOR);
    }
}

/* Copy the data extents of a sparse file into another file at an offset. */
static void copy_sparse(int in, uint64_t len, int out, uint64_t at)
{
    uint8_t *buf = xcalloc(1, 4 * MIB);
    off_t pos = 0;
    while ((uint64_t)pos < len) {
        off_t d = lseek(in, pos, SEEK_DATA);
        if (d < 0 && errno == ENXIO)
            break;
        if (d < 0)
            die("lseek SEEK_DATA: %s", strerror(errno));
        off_t h = lseek(in, d, SEEK_HOLE);
        if (h < 0)
            die("lseek SEEK_HOLE: %s", strerror(errno));
        if ((uint64_t)h > len)
            h = (off_t)len;
        for (off_t p = d; p < h;) {
            size_t n = (size_t)(h - p) < 4 * MIB ? (size_t)(h - p) : 4 * MIB;
            xpread(in, buf, n, (uint64_t)p);
            /* keep all-zero chunks sparse */
            size_t k = 0;
            while (k < n && !buf[k])
                k++;
            if (k < n)
                xpwrite(out, buf, n, at + (uint64_t)p);
            p += (off_t)n;
        }
        pos = h;
    }
    free(buf);
}

void disk_write(const scenario *sc, const char *outdir, vvol *vols, int nvol, const placement *pl)
{
    prng r = prng_derive(sc->seed, "disk", 0);
    for (int im = 0; im < pl->nimages; im++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", outdir, pl->image[im]);
        int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
        if (fd < 0)
            die("cannot create %s: %s", path, strerror(errno));
        if (ftruncate(fd, (off_t)pl->image_size[im]) != 0)
            die("cannot size %s: %s", path, strerror(errno));
        uint64_t off[MAX_VOLUMES], len[MAX_VOLUMES];
        int n = 0;
        /* partitions in disk order */
        for (int v = 0; v < nvol; v++)
            if (pl->vol_image[v] == im) {
                off[n] = pl->vol_offset[v];
                len[n++] = vols[v].size;
            }
        /* simple sort by offset (n <= 2) */
        if (n == 2 && off[0] > off[1]) {
            uint64_t t = off[0]; off[0] = off[1]; off[1] = t;
            t = len[0]; len[0] = len[1]; len[1] = t;
        }
        if (pl->layout != LAYOUT_NONE) {
            uint8_t mbr[SECTOR];
            memset(mbr, 0, sizeof mbr);
            put32(mbr + 440, (uint32_t)prng_next(&r));     /* disk signature */
            if (pl->layout == LAYOUT_MBR) {
                for (int i = 0; i < n; i++)
                    put_mbr_entry(mbr + 446 + 16 * i, 0x07, off[i] / SECTOR, len[i] / SECTOR);
            } else {
                put_mbr_entry(mbr + 446, 0xee, 1, pl->image_size[im] / SECTOR - 1);
                write_gpt(fd, pl->image_size[im], off, len, n, &r);
            }
            mbr[510] = 0x55;
            mbr[511] = 0xaa;
            xpwrite(fd, mbr, sizeof mbr, 0);
        }
        for (int v = 0; v < nvol; v++)
            if (pl->vol_image[v] == im)
                copy_sparse(vols[v].fd, vols[v].size, fd, pl->vol_offset[v]);
        if (fsync(fd) != 0 || close(fd) != 0)
            die("cannot finish %s: %s", path, strerror(errno));
    }
}

/*
 * main.c - vssgen: run a scenario, write the image(s) and the manifest.
 *
 *   vssgen [-v] [-o OUTDIR] SCENARIO.scn
 *
 * Output (in OUTDIR, default "out"): NAME.img (+ NAME.storage.img when the
 * diff area is on a second disk), NAME.json (the manifest, described in
 * docs/testimages.md) and NAME.blocks.tsv (per-block expectations).
 */
#define _GNU_SOURCE
#include "vssgen.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void run_create(gen *g, const op *o)
{
    vvol *v = g->src;
    uint64_t size = o->has_size ? o->size : (o->data.kind == PAT_TEXT ? strlen(o->data.text) : 0);
    if (fs_exists(v, o->path))
        die("line %d: create: %s exists", o->line, o->path);
    if (o->in_store) {
        /* a new file written after a deletion, on a deleted store's freed
         * clusters (its data still there until now) */
        uint8_t *buf = xcalloc(1, size + 1);
        pattern_fill(&o->data, 0, buf, size);
        fs_create_at(v, o->path, buf, size, vs_store_cluster(g, o->in_store, o->store_offset));
        free(buf);
        return;
    }
    if (o->align) {
        uint8_t *bm = fs_bitmap(v);
        uint64_t per = VSS_BLOCK / v->cluster, n = (size + v->cluster - 1) / v->cluster;
        uint64_t lcn = 0, run = 0, found = UINT64_MAX;
        for (uint64_t c = (v->mft_zone_end + per - 1) / per * per; c < v->nclusters; c++) {
            if (bit_get(bm, c)) { run = 0; continue; }
            if (!run) { if (c % per) continue; lcn = c; }
            if (++run >= n) { found = lcn; break; }
        }
        free(bm);
        if (found == UINT64_MAX)
            die("line %d: no aligned free space for %s", o->line, o->path);
        uint8_t *buf = xcalloc(1, size + 1);
        pattern_fill(&o->data, 0, buf, size);
        fs_create_at(v, o->path, buf, size, found);
        free(buf);
        return;
    }
    if (o->fragments > 1 && size) {
        /* interleave with filler files, then delete them: the file ends up
         * in `fragments` pieces with small free gaps in between */
        uint64_t piece = (size + (uint64_t)o->fragments - 1) / (uint64_t)o->fragments;
        piece = (piece + 4095) / 4096 * 4096;
        char filler[600];
        for (int i = 0; i < o->fragments; i++) {
            uint64_t off = piece * (uint64_t)i;
            if (off >= size)
                break;
            uint64_t n = size - off < piece ? size - off : piece;
            fs_write(v, o->path, off, n, &o->data, 1);
            snprintf(filler, sizeof filler, "/vssgen-filler-%d", i);
            pattern fp = { PAT_BYTE, 0xf1, NULL, 0 };
            fs_write(v, filler, 0, 3 * 4096, &fp, 1);
        }
        for (int i = 0; i < o->fragments; i++) {
            snprintf(filler, sizeof filler, "/vssgen-filler-%d", i);
            if (fs_exists(v, filler))
                fs_delete(v, filler);
        }
        return;
    }
    fs_write(v, o->path, 0, size, &o->data, 1);
}

typedef struct {
    char sha[65], sha_inuse[65];
    uint64_t count[5], overlay;
} snapsum;

static void summarize(gen *g, int k, FILE *tsv, snapsum *ss);

/* Summaries (and block-list lines) of the deleted snapshots, made before
 * the deletion changed the volume: the manifest's truth for them. */
static snapsum g_deleted_sum[MAX_STORES];
static FILE *g_deleted_tsv;

static void run_delete_snapshots(gen *g, const op *o)
{
    vvol_umount(g->src);
    int D = vs_delete_prepare(g, o->keep);
    if (g->sc->block_list_out && !(g_deleted_tsv = tmpfile()))
        die("cannot create a temporary file: %s", strerror(errno));
    for (int k = 1; k <= D; k++)
        summarize(g, k, g_deleted_tsv, &g_deleted_sum[k - 1]);
    vs_delete_snapshots(g, D);
}

static void run_op(gen *g, const op *o)
{
    vvol *v = g->src;
    g_clock_ft += 10000000ull;      /* every statement takes a second */
    switch (o->kind) {
    case OP_ADVANCE:
        g_clock_ft += o->seconds * 10000000ull;
        return;
    case OP_DELETE_SNAPSHOTS:
        run_delete_snapshots(g, o);
        g->last_was_snapshot = 0;
        return;
    case OP_SNAPSHOT:
        if (g->ndeleted)
            die("line %d: a snapshot after delete_snapshots is not modelled", o->line);
        vs_snapshot(g, o);
        g->last_was_snapshot = 1;
        return;
    case OP_RECOVER:
        vs_recover(g, o);
        return;
    case OP_MOVE:
        vvol_umount(v);
        vs_move(g, o);
        g->last_was_snapshot = 0;
        return;
    default:
        break;
    }
    g->last_was_snapshot = 0;
    vvol_mount(v);
    fileinfo fi;
    switch (o->kind) {
    case OP_MKDIR:
        fs_mkdir(v, o->path);
        break;
    case OP_CREATE:
        run_create(g, o);
        break;
    case OP_OVERWRITE:
        fs_write(v, o->path, o->offset, o->size, &o->data, 0);
        break;
    case OP_APPEND:
        fs_info(v, o->path, &fi, 0);
        fs_write(v, o->path, fi.size, o->size, &o->data, 0);
        fileinfo_free(&fi);
        break;
    case OP_TRUNCATE:
        fs_truncate(v, o->path, o->size);
        break;
    case OP_DELETE:
        fs_delete(v, o->path);
        break;
    case OP_RENAME:
        fs_rename(v, o->path, o->to);
        break;
    case OP_SDELETE: {
        /* SDelete-style: overwrite the data with zeros, then delete */
        pattern z = { PAT_ZERO, 0, NULL, 0 };
        fs_info(v, o->path, &fi, 0);
        fs_write(v, o->path, 0, fi.size, &z, 0);
        fileinfo_free(&fi);
        vvol_umount(v);
        vvol_mount(v);
        fs_delete(v, o->path);
        break;
    }
    case OP_SCATTER: {
        /* overwrite `count` size-aligned pieces at pseudo-random places */
        prng r = prng_derive(g->sc->seed, "scatter", (uint64_t)o->line ^ o->data.seed);
        fs_scatter(v, o->path, o->count, o->size, &o->data, &r);
        break;
    }
    default:
        die("internal: op %d", o->kind);
    }
}

/* ---- manifest -------------------------------------------------------------- */

static void jstr(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static void jguid(FILE *f, guid g)
{
    char s[37];
    guid_str(g, s);
    jstr(f, s);
}

static const char *kind_name(srckind k)
{
    switch (k) {
    case SRC_LIVE: return "live";
    case SRC_COPIED: return "copied";
    case SRC_FORWARDED: return "forwarded";
    case SRC_NOTINUSE: return "notinuse";
    case SRC_VSSFILE: return "vssfile";
    }
    return "?";
}

static void summarize(gen *g, int k, FILE *tsv, snapsum *ss)
{
    memset(ss, 0, sizeof *ss);
    /* with flag 0x400 the Windows view already has zeros where the
     * in-use-only view does: one hash serves both */
    int same = (g->st[k - 1].cat_flags & 0x400) != 0;
    hasher *hw = g->sc->volume_hashes ? hasher_new(0) : NULL;
    hasher *hu = g->sc->volume_hashes && !same ? hasher_new(0) : NULL;
    static const uint8_t zero[VSS_BLOCK];
    uint8_t blk[VSS_BLOCK];
    int need_data = hw || tsv;
    for (uint64_t b = 0; b < g->nblocks; b++) {
        blocksrc r = vs_read_block(g, k, b, need_data ? blk : NULL);
        ss->count[r.kind]++;
        ss->overlay += (uint64_t)r.overlay;
        int notinuse = r.kind == SRC_NOTINUSE || r.kind == SRC_VSSFILE;
        if (hw)
            hasher_update(hw, blk, VSS_BLOCK);
        if (hu)
            hasher_update(hu, notinuse ? zero : blk, VSS_BLOCK);
        if (tsv) {
            char h[65];
            sha256_hex(blk, VSS_BLOCK, h);
            char src[32] = "-";
            if (r.store)
                snprintf(src, sizeof src, "store%d", r.store);
            if (fprintf(tsv, "%d\t%llu\t%s%s\t%s\t%s\n", k, (unsigned long long)(b * VSS_BLOCK),
                        kind_name(r.kind), r.overlay ? "+overlay" : "", src, h) < 0)
                die("cannot write the block list");
        }
    }
    if (hw)
        hasher_final(hw, ss->sha, NULL);
    if (hu)
        hasher_final(hu, ss->sha_inuse, NULL);
    else if (hw)
        memcpy(ss->sha_inuse, ss->sha, sizeof ss->sha);
}

static void jranges(FILE *f, const char *key, uint64_t (*r)[2], int n)
{
    fprintf(f, "      \"%s\": [", key);
    for (int j = 0; j < n; j++)
        fprintf(f, "%s[%llu, %llu]", j ? ", " : "", (unsigned long long)r[j][0], (unsigned long long)r[j][1]);
    fprintf(f, "],\n");
}

static void write_manifest(gen *g, const char *outdir, const placement *pl, const uint8_t *final_bitmap)
{
    scenario *sc = g->sc;
    char path[1024], tsvname[600];
    snprintf(tsvname, sizeof tsvname, "%s.blocks.tsv", sc->name);
    FILE *tsv = NULL;
    if (sc->block_list_out) {
        snprintf(path, sizeof path, "%s/%s", outdir, tsvname);
        tsv = fopen(path, "w");
        if (!tsv)
            die("cannot create %s: %s", path, strerror(errno));
        fprintf(tsv, "# snapshot\tvolume offset\tkind\tsource\tsha256 of the 16 KiB block as Windows returns it\n");
        if (g_deleted_tsv) {    /* the deleted snapshots', made before the deletion */
            char buf[65536];
            size_t n;
            rewind(g_deleted_tsv);
            while ((n = fread(buf, 1, sizeof buf, g_deleted_tsv)) > 0)
                if (fwrite(buf, 1, n, tsv) != n)
                    die("cannot write the block list");
            fclose(g_deleted_tsv);
            g_deleted_tsv = NULL;
        }
    }
    snprintf(path, sizeof path, "%s/%s.json", outdir, sc->name);
    FILE *f = fopen(path, "w");
    if (!f)
        die("cannot create %s: %s", path, strerror(errno));
    static const char *const lay[] = { "none", "mbr", "gpt" };
    static const char *const stor[] = { "local", "partition", "image" };
    fprintf(f, "{\n  \"format\": \"vssgen-manifest-1\",\n  \"scenario\": ");
    jstr(f, sc->name);
    fprintf(f, ",\n  \"windows\": %d,\n  \"scope_snapshots\": %s,\n  \"layout\": \"%s\",\n  \"storage\": \"%s\",\n"
               "  \"block_size\": %u,\n  \"block_list\": ",
            sc->windows, sc->scope ? "true" : "false", lay[sc->layout], stor[sc->storage], VSS_BLOCK);
    if (tsv) jstr(f, tsvname); else fputs("null", f);
    fprintf(f, ",\n  \"images\": [");
    for (int i = 0; i < pl->nimages; i++) {
        fprintf(f, "%s\n    {\"path\": ", i ? "," : "");
        jstr(f, pl->image[i]);
        fprintf(f, ", \"size\": %llu}", (unsigned long long)pl->image_size[i]);
    }
    fprintf(f, "\n  ],\n  \"volumes\": [");
    for (int i = 0; i < g->nvol; i++) {
        vvol *v = &g->vol[i];
        fprintf(f, "%s\n    {\"role\": \"%s\", \"image\": %d, \"offset\": %llu, \"size\": %llu, \"guid\": ",
                i ? "," : "", v == g->src ? "source" : "storage", pl->vol_image[i],
                (unsigned long long)pl->vol_offset[i], (unsigned long long)v->size);
        jguid(f, v->id);
        fprintf(f, ", \"storage_guid\": ");
        jguid(f, v == g->src ? g->stor->id : v->id);
        fprintf(f, ", \"vss_header_version\": %d, \"catalog_offset\": %llu, \"cluster_size\": %u}",
                sc->windows >= 8 ? 2 : 1, (unsigned long long)g->cat_off[i], v->cluster);
    }
    fprintf(f, "\n  ],\n  \"deletion\": ");
    if (g->ndeleted)
        fprintf(f, "{\"deleted\": %d, \"kept\": %d, \"catalog\": \"%s\"}", g->ndeleted, g->nst - g->ndeleted,
                g->ndeleted == g->nst ? "destroyed" : "entries freed");
    else
        fputs("null", f);
    fprintf(f, ",\n  \"stats\": {\"copied_blocks\": %llu, \"forwarders\": %llu, \"overlay_descriptors\": %llu},\n",
            (unsigned long long)g->cows, (unsigned long long)g->forwarders, (unsigned long long)g->overlays);
    fprintf(f, "  \"snapshots\": [");
    for (int k = 1; k <= g->nst; k++) {
        store *s = &g->st[k - 1];
        snapsum ss;
        if (k <= g->ndeleted)
            ss = g_deleted_sum[k - 1];
        else
            summarize(g, k, tsv, &ss);
        char ts[96];
        filetime_str(s->ctime, ts);
        fprintf(f, "%s\n    {\n      \"index\": %d,\n      \"store_guid\": ", k > 1 ? "," : "", k);
        jguid(f, s->id);
        fprintf(f, ",\n      \"shadow_copy_id\": ");
        jguid(f, s->copy_id);
        fprintf(f, ",\n      \"shadow_copy_set_id\": ");
        jguid(f, s->set_id);
        fprintf(f, ",\n      \"creation_time\": \"%s\",\n      \"creation_filetime\": %llu,\n", ts,
                (unsigned long long)s->ctime);
        fprintf(f, "      \"catalog_flags\": %llu,\n      \"attribute_flags\": %u,\n      \"context\": %u,\n"
                   "      \"volume_size\": %llu,\n      \"store_volume\": %d,\n      \"store_file\": ",
                (unsigned long long)s->cat_flags, s->attr, s->context, (unsigned long long)g->src->size,
                (int)(g->stor - g->vol));
        char gs[37], sf[200];
        guid_str(s->id, gs);
        snprintf(sf, sizeof sf, "/System Volume Information/{%s}{3808876b-c176-4e48-b7ae-04046e6cc752}", gs);
        jstr(f, sf);
        size_t nreg = 0, nfwd = 0, novl = 0;
        for (size_t i = 0; i < s->nd; i++) {
            if (s->d[i].flags & DESC_FORWARDER) nfwd++;
            else if (s->d[i].flags & DESC_OVERLAY) novl++;
            else nreg++;
        }
        fprintf(f, ",\n      \"previous_bitmap\": %s,\n      \"descriptors\": {\"regular\": %zu, \"forwarder\": %zu, \"overlay\": %zu},\n",
                s->prev ? "true" : "false", nreg, nfwd, novl);
        fprintf(f, "      \"blocks\": {\"live\": %llu, \"copied\": %llu, \"forwarded\": %llu, \"notinuse\": %llu, \"vssfile\": %llu, \"with_overlay\": %llu},\n",
                (unsigned long long)ss.count[SRC_LIVE], (unsigned long long)ss.count[SRC_COPIED],
                (unsigned long long)ss.count[SRC_FORWARDED], (unsigned long long)ss.count[SRC_NOTINUSE],
                (unsigned long long)ss.count[SRC_VSSFILE], (unsigned long long)ss.overlay);
        if (sc->volume_hashes)
            fprintf(f, "      \"sha256\": \"%s\",\n      \"sha256_in_use\": \"%s\",\n", ss.sha, ss.sha_inuse);
        fprintf(f, "      \"deleted\": %s,\n", k <= g->ndeleted ? "true" : "false");
        if (k <= g->ndeleted) {
            uint64_t (*ow)[2], (*ch)[2];
            int now, nch;
            uint64_t reused;
            vs_losses(g, k, final_bitmap, &ow, &now, &ch, &nch, &reused);
            fprintf(f, "      \"store_overwritten_bytes\": %llu,\n", (unsigned long long)reused);
            jranges(f, "overwritten", ow, now);
            jranges(f, "changed", ch, nch);
            free(ow);
            free(ch);
        }
        fprintf(f, "      \"files\": [");
        const char *rk = s->cat_flags & 0x400 ? "zero_ranges" : "live_ranges";
        for (int i = 0; i < s->nfiles; i++) {
            snapfile *x = &s->files[i];
            fprintf(f, "%s\n        {\"path\": ", i ? "," : "");
            jstr(f, x->path);
            fprintf(f, ", \"size\": %llu, \"resident\": %s, \"in_scope\": %s, \"sha256\": ",
                    (unsigned long long)x->size, x->resident ? "true" : "false", x->in_scope ? "true" : "false");
            if (x->sha256[0]) jstr(f, x->sha256); else fputs("null", f);
            fputs(", \"md5\": ", f);
            if (x->md5[0]) jstr(f, x->md5); else fputs("null", f);
            fputs(", \"windows_sha256\": ", f);
            if (x->win_sha256[0]) jstr(f, x->win_sha256); else fputs("null", f);
            fprintf(f, ", \"%s\": [", rk);
            for (int j = 0; j < x->nranges; j++)
                fprintf(f, "%s[%llu, %llu]", j ? ", " : "", (unsigned long long)x->ranges[j][0],
                        (unsigned long long)x->ranges[j][1]);
            fprintf(f, "]}");
        }
        fprintf(f, "\n      ]\n    }");
    }
    fprintf(f, "\n  ]\n}\n");
    if (ferror(f) || fclose(f) != 0)
        die("cannot write the manifest");
    if (tsv && (ferror(tsv) || fclose(tsv) != 0))
        die("cannot write the block list");
}

static void usage(void)
{
    fprintf(stderr, "usage: vssgen [-v] [-o OUTDIR] SCENARIO.scn\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *outdir = "out";
    int c;
    while ((c = getopt(argc, argv, "vo:h")) != -1) {
        if (c == 'v') g_verbose = 1;
        else if (c == 'o') outdir = optarg;
        else usage();
    }
    if (optind + 1 != argc)
        usage();
    scenario *sc = scenario_load(argv[optind]);
    if (mkdir(outdir, 0755) != 0 && errno != EEXIST)
        die("cannot create %s: %s", outdir, strerror(errno));
    g_clock_ft = sc->start_time;

    gen *g = xcalloc(1, sizeof *g);
    g->sc = sc;
    g->outdir = outdir;
    g->nvol = sc->storage == STOR_LOCAL ? 1 : 2;
    uint64_t sizes[MAX_VOLUMES] = { sc->volume_size, sc->storage_size };
    placement pl;
    disk_plan(sc, g->nvol, sizes, &pl);
    prng vr = prng_derive(sc->seed, "volume", 0);
    for (int i = 0; i < g->nvol; i++) {
        char tmp[1024];
        snprintf(tmp, sizeof tmp, "%s/.%s.vol%d.tmp", outdir, sc->name, i);
        vvol_format(&g->vol[i], tmp, sizes[i], pl.vol_offset[i] / SECTOR, i ? "VSSSTORAGE" : "VSSGEN");
        g->vol[i].id = guid_random(&vr);
    }
    g->src = &g->vol[0];
    g->stor = g->nvol == 2 ? &g->vol[1] : &g->vol[0];
    for (int i = 0; i < g->nvol; i++) {     /* learn cluster geometry */
        vvol_mount(&g->vol[i]);
        vvol_umount(&g->vol[i]);
    }
    vs_init(g);
    for (int i = 0; i < sc->nops; i++)
        run_op(g, &sc->ops[i]);
    uint8_t *final_bitmap = NULL;       /* what the live $Bitmap allocates at the end */
    if (g->ndeleted) {
        vvol_mount(g->src);
        final_bitmap = fs_bitmap(g->src);
    }
    for (int i = 0; i < g->nvol; i++)
        vvol_umount(&g->vol[i]);
    vs_finish(g);
    write_manifest(g, outdir, &pl, final_bitmap);
    free(final_bitmap);
    disk_write(sc, outdir, g->vol, g->nvol, &pl);
    for (int i = 0; i < g->nvol; i++) {
        vvol_close(&g->vol[i]);
        if (unlink(g->vol[i].path) != 0)
            die("cannot remove %s: %s", g->vol[i].path, strerror(errno));
    }
    printf("%s: %d snapshot(s), %llu copied blocks, %llu forwarders, %llu overlay descriptors -> %s/%s\n",
           sc->name, g->nst, (unsigned long long)g->cows, (unsigned long long)g->forwarders,
           (unsigned long long)g->overlays, outdir, pl.image[0]);
    return 0;
}

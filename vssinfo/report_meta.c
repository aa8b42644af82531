/*
 * report_meta.c — the header every audit, diff and history report carries
 * (report_meta.h, issue #18), in each report format, and the side file
 * with the report's own SHA-256.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "html.h"
#include "progress.h"
#include "report_meta.h"

/* Whether a word needs no quoting in a POSIX shell. */
static int shell_plain(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                    "0123456789_@%+=:,./-", *s))
            return 0;
    return 1;
}

void report_meta_init(report_meta *m, int argc, char **argv)
{
    time_t now = time(NULL);
    struct tm tm;
    memset(m, 0, sizeof *m);
    m->argc = argc;
    m->argv = argv;
    gmtime_r(&now, &tm);
    strftime(m->generated, sizeof m->generated, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Words in single quotes ('\'' for a quote): pasted into a shell, the
 * line runs the same command again. */
static char *quote_command_line(int argc, char **argv)
{
    size_t len = 1, o = 0;
    int i;
    char *line;
    for (i = 0; i < argc; i++)
        len += 4 * strlen(argv[i]) + 3; /* every ' as '\'' and the quotes */
    line = malloc(len);
    if (!line)
        return NULL;
    for (i = 0; i < argc; i++) {
        const char *s = argv[i];
        if (i)
            line[o++] = ' ';
        if (shell_plain(s)) {
            memcpy(line + o, s, strlen(s));
            o += strlen(s);
            continue;
        }
        line[o++] = '\'';
        for (; *s; s++) {
            if (*s == '\'') {
                memcpy(line + o, "'\\''", 4);
                o += 4;
            } else {
                line[o++] = *s;
            }
        }
        line[o++] = '\'';
    }
    line[o] = '\0';
    return line;
}

int report_meta_parse_image_hash(report_meta *m, const char *list)
{
    const char *p = list;
    unsigned seen = 0;
    m->n_image_hash = 0;
    while (*p) {
        size_t n = strcspn(p, ",");
        int a = -1, k;
        for (k = 0; k < VSS_HASH_COUNT; k++)
            if (strlen(vss_hash_name((vss_hash)k)) == n &&
                strncasecmp(p, vss_hash_name((vss_hash)k), n) == 0)
                a = k;
        if (a < 0)
            return -1;
        if (!(seen & (1u << a)))
            m->image_hash[m->n_image_hash++] = (vss_hash)a;
        seen |= 1u << a;
        p += n;
        if (*p == ',')
            p++;
    }
    return m->n_image_hash ? 0 : -1;
}

static int hash_progress(uint64_t done, uint64_t total, void *bar)
{
    progress_update(bar, done, 0);
    return 0;
}

/* Every byte of the image as the library reads it, hashed. */
static int hash_image(report_meta *m, size_t i, int progress_option)
{
    vss_source *src = m->set->images[i];
    vss_error e = {0};
    progress bar;
    progress_start(&bar, progress_option, "image hash",
                   vss_source_size(src));
    if (vss_source_hash(src, m->image_hash, m->n_image_hash, hash_progress,
                        &bar, &m->img[i].hashes, &e)) {
        progress_end(&bar);
        return cli_die(1, "hashing %s %s", m->img[i].path, e.message);
    }
    progress_done(&bar, vss_source_size(src));
    return 0;
}

int report_meta_images(report_meta *m, const volume_set *set,
                       int progress_option)
{
    size_t i;
    m->set = set;
    m->command_line = quote_command_line(m->argc, m->argv);
    if (!m->command_line)
        return cli_die(1, "%s", "out of memory");
    m->img = calloc(set->nimages ? set->nimages : 1, sizeof *m->img);
    if (!m->img)
        return cli_die(1, "%s", "out of memory");
    m->nimg = set->nimages;
    for (i = 0; i < m->nimg; i++) {
        char full[PATH_MAX];
        m->img[i].path = vss_source_name(set->images[i]);
        m->img[i].full_path =
            strdup(realpath(m->img[i].path, full) ? full : m->img[i].path);
        if (!m->img[i].full_path)
            return cli_die(1, "%s", "out of memory");
        if (m->n_image_hash && hash_image(m, i, progress_option))
            return 1;
    }
    return 0;
}

void report_meta_free(report_meta *m)
{
    size_t i;
    for (i = 0; i < m->nimg; i++)
        free(m->img[i].full_path);
    free(m->img);
    free(m->command_line);
}

/* ---- the headers -------------------------------------------------------- */

static void hash_hex(const report_image *im, vss_hash a, char *out)
{
    hexstr(im->hashes.v[a], vss_hash_length(a), out);
}

static const char *upper_hash_name(vss_hash a)
{
    return a == VSS_HASH_MD5 ? "MD5" : a == VSS_HASH_SHA1 ? "SHA-1"
                                                          : "SHA-256";
}

/* The volume's GUID (its VSS header) as text: 0, or -1 when the volume
 * has no shadow copies (no header to name it). */
static int volume_guid_text(const found_volume *fv, char out[37])
{
    uint8_t g[16];
    if (!fv->vol || !vss_volume_has_vss(fv->vol))
        return -1;
    vss_volume_guid(fv->vol, g);
    vss_guid_format(g, out);
    return 0;
}

void report_meta_text(FILE *f, const report_meta *m, const found_volume *fv,
                      const int *snaps, size_t nsnaps)
{
    size_t i;
    int k;
    fprintf(f, "Report by vssinfo %s (libvss)\n", VSS_VERSION_STRING);
    fprintf(f, "Command line   : %s\n", m->command_line);
    fprintf(f, "Generated (UTC): %s\n", m->generated);
    if (m->case_id)
        fprintf(f, "Case           : %s\n", m->case_id);
    if (m->examiner)
        fprintf(f, "Examiner       : %s\n", m->examiner);
    if (m->notes)
        fprintf(f, "Notes          : %s\n", m->notes);
    for (i = 0; i < m->nimg; i++) {
        char cont[1600], h[2 * VSS_HASH_MAX + 1];
        fprintf(f, "Image %zu        : %s (%" PRIu64 " bytes)\n", i + 1,
                m->img[i].full_path, vss_source_size(m->set->images[i]));
        describe_container(m->set->images[i], cont, sizeof cont);
        fprintf(f, "  Container    : %s\n", cont[0] ? cont : "raw");
        for (k = 0; k < m->n_image_hash; k++) {
            hash_hex(&m->img[i], m->image_hash[k], h);
            fprintf(f, "  %-7s      : %s (computed over the %s)\n",
                    upper_hash_name(m->image_hash[k]), h,
                    cont[0] ? "media the container holds" : "file");
        }
    }
    char vg[37];
    if (volume_guid_text(fv, vg) == 0)
        fprintf(f, "Volume         : at offset %" PRIu64 " of %s, volume "
                "GUID %s\n", fv->part.offset, fv->image, vg);
    for (i = 0; i < nsnaps; i++)
        report_snapshot_text(f, fv, snaps[i]);
    fputc('\n', f);
}

void report_meta_json(json *j, const report_meta *m, const found_volume *fv,
                      const int *snaps, size_t nsnaps)
{
    size_t i;
    int k;
    json_key(j, "report");
    json_object(j);
    json_key_string(j, "tool", "vssinfo");
    json_key_string(j, "version", VSS_VERSION_STRING);
    json_key_string(j, "command_line", m->command_line);
    json_key_string(j, "generated", m->generated);
    json_key(j, "case");
    m->case_id ? json_string(j, m->case_id) : json_null(j);
    json_key(j, "examiner");
    m->examiner ? json_string(j, m->examiner) : json_null(j);
    json_key(j, "notes");
    m->notes ? json_string(j, m->notes) : json_null(j);
    json_key(j, "images");
    json_array(j);
    for (i = 0; i < m->nimg; i++) {
        json_object(j);
        json_key_string(j, "path", m->img[i].path);
        json_key_string(j, "full_path", m->img[i].full_path);
        json_key_u64(j, "size", vss_source_size(m->set->images[i]));
        container_json(j, m->set->images[i]);
        json_key(j, "hashes");
        json_object(j);
        for (k = 0; k < m->n_image_hash; k++) {
            char h[2 * VSS_HASH_MAX + 1];
            hash_hex(&m->img[i], m->image_hash[k], h);
            json_key_string(j, vss_hash_name(m->image_hash[k]), h);
        }
        json_end_object(j);
        json_end_object(j);
    }
    json_end_array(j);
    json_key(j, "volume_guid");
    char vg[37];
    if (volume_guid_text(fv, vg) == 0)
        json_string(j, vg);
    else
        json_null(j);
    json_key(j, "snapshots");
    json_array(j);
    for (i = 0; i < nsnaps; i++)
        report_snapshot_json(j, fv, snaps[i]);
    json_end_array(j);
    json_end_object(j);
}

static void csv_record(FILE *f, const char *key, const char *value)
{
    fprintf(f, "#%s,", key);
    csv_str(f, value);
    fputc('\n', f);
}

void report_meta_csv(FILE *f, const report_meta *m, const found_volume *fv,
                     const int *snaps, size_t nsnaps)
{
    size_t i;
    int k;
    char key[48], v[1600];
    if (m->csv_bom)
        fputs("\xEF\xBB\xBF", f);
    csv_record(f, "tool", "vssinfo " VSS_VERSION_STRING);
    csv_record(f, "command_line", m->command_line);
    csv_record(f, "generated", m->generated);
    if (m->case_id)
        csv_record(f, "case", m->case_id);
    if (m->examiner)
        csv_record(f, "examiner", m->examiner);
    if (m->notes)
        csv_record(f, "notes", m->notes);
    for (i = 0; i < m->nimg; i++) {
        snprintf(key, sizeof key, "image%zu", i + 1);
        csv_record(f, key, m->img[i].full_path);
        snprintf(key, sizeof key, "image%zu_size", i + 1);
        snprintf(v, sizeof v, "%" PRIu64, vss_source_size(m->set->images[i]));
        csv_record(f, key, v);
        snprintf(key, sizeof key, "image%zu_container", i + 1);
        describe_container(m->set->images[i], v, sizeof v);
        csv_record(f, key, v[0] ? v : "raw");
        for (k = 0; k < m->n_image_hash; k++) {
            snprintf(key, sizeof key, "image%zu_%s", i + 1,
                     vss_hash_name(m->image_hash[k]));
            hash_hex(&m->img[i], m->image_hash[k], v);
            csv_record(f, key, v);
        }
    }
    char vg[37];
    if (volume_guid_text(fv, vg) == 0) {
        snprintf(v, sizeof v, "at offset %" PRIu64 "; volume GUID %s",
                 fv->part.offset, vg);
        csv_record(f, "volume", v);
    }
    for (i = 0; fv->vol && i < nsnaps; i++) {
        vss_snapshot_info si;
        char t[32], sg[37], id[37], set[37], c[200], a[400];
        if (vss_volume_snapshot_info(fv->vol, snaps[i], &si, NULL))
            continue;
        vss_filetime_format(si.creation_time, t);
        vss_guid_format(si.store_guid, sg);
        vss_guid_format(si.shadow_copy_id, id);
        vss_guid_format(si.shadow_copy_set_id, set);
        vss_catalog_flags_describe(si.catalog_flags, c, sizeof c);
        vss_attribute_flags_describe(si.attribute_flags, a, sizeof a);
        snprintf(key, sizeof key, "snapshot%d", snaps[i]);
        if (si.storage_ready)
            snprintf(v, sizeof v, "created %s; store %s; shadow copy %s; "
                     "set %s; machine %s; service machine %s; catalog "
                     "flags 0x%" PRIx64 " (%s); attributes 0x%08x (%s); "
                     "context %s", t, sg, id, set, si.originating_machine,
                     si.service_machine, si.catalog_flags, c,
                     si.attribute_flags, a,
                     vss_snapshot_context_name(si.snapshot_context));
        else
            snprintf(v, sizeof v, "created %s; store %s; catalog flags "
                     "0x%" PRIx64 " (%s); store not readable", t, sg,
                     si.catalog_flags, c);
        csv_record(f, key, v);
    }
}

static void html_row(FILE *f, const char *k, const char *v)
{
    fprintf(f, "<tr><th>%s</th><td>", k);
    html_esc(f, v);
    fputs("</td></tr>\n", f);
}

void report_meta_html(FILE *f, const report_meta *m, const found_volume *fv,
                      const int *snaps, size_t nsnaps)
{
    size_t i;
    int k;
    char v[1600];
    fputs("<h2>Case</h2>\n<table class=meta>\n", f);
    if (m->case_id)
        html_row(f, "case", m->case_id);
    if (m->examiner)
        html_row(f, "examiner", m->examiner);
    if (m->notes)
        html_row(f, "notes", m->notes);
    html_row(f, "tool", "vssinfo " VSS_VERSION_STRING " (libvss)");
    fputs("<tr><th>command line</th><td><code class=cmd>", f);
    html_esc(f, m->command_line);
    fputs("</code></td></tr>\n", f);
    html_row(f, "generated (UTC)", m->generated);
    for (i = 0; i < m->nimg; i++) {
        vss_container_info in;
        fprintf(f, "<tr><th>image %zu</th><td><code class=cmd>", i + 1);
        html_esc(f, m->img[i].full_path);
        fprintf(f, "</code><br>%" PRIu64 " bytes; container ",
                vss_source_size(m->set->images[i]));
        describe_container(m->set->images[i], v, sizeof v);
        html_esc(f, v[0] ? v : "raw");
        if (vss_source_container_info(m->set->images[i], &in, NULL) ==
                VSS_OK &&
            in.type == VSS_CONTAINER_EWF) {
            /* the acquisition's own words, each on a line */
            static const char *const names[] = {"case number",
                                                "evidence number",
                                                "examiner", "description",
                                                "notes", "acquired"};
            const char *vals[] = {in.case_number, in.evidence_number,
                                  in.examiner,    in.description,
                                  in.notes,       in.acquiry_date};
            for (k = 0; k < 6; k++)
                if (vals[k][0]) {
                    fprintf(f, "<br>E01 %s: ", names[k]);
                    html_esc(f, vals[k]);
                }
            if (in.has_md5) {
                hexstr(in.md5, 16, v);
                fprintf(f, "<br>E01 stored MD5: <code>%s</code>", v);
            }
            if (in.has_sha1) {
                hexstr(in.sha1, 20, v);
                fprintf(f, "<br>E01 stored SHA-1: <code>%s</code>", v);
            }
        }
        for (k = 0; k < m->n_image_hash; k++) {
            hash_hex(&m->img[i], m->image_hash[k], v);
            fprintf(f, "<br>%s (computed): <code>%s</code>",
                    upper_hash_name(m->image_hash[k]), v);
        }
        fputs("</td></tr>\n", f);
    }
    char vg[37];
    if (volume_guid_text(fv, vg) == 0)
        fprintf(f, "<tr><th>volume</th><td>at offset %" PRIu64 "; volume "
                "GUID <code>%s</code></td></tr>\n", fv->part.offset, vg);
    fputs("</table>\n", f);
    if (!nsnaps || !fv->vol)
        return;
    fputs("<table class=ids><thead><tr><th>snapshot</th><th>created (UTC)"
          "</th><th>store GUID / shadow copy ID / set ID</th><th>machine / "
          "service machine</th><th>flags</th></tr></thead>\n", f);
    for (i = 0; i < nsnaps; i++) {
        vss_snapshot_info si;
        char t[32], g[37];
        if (vss_volume_snapshot_info(fv->vol, snaps[i], &si, NULL))
            continue;
        vss_filetime_format(si.creation_time, t);
        vss_guid_format(si.store_guid, g);
        fprintf(f, "<tr><td class=n>%d</td><td><code>%s</code></td><td>"
                "<code>%s</code>", snaps[i], t, g);
        if (si.storage_ready) {
            vss_guid_format(si.shadow_copy_id, g);
            fprintf(f, "<br><code>%s</code>", g);
            vss_guid_format(si.shadow_copy_set_id, g);
            fprintf(f, "<br><code>%s</code></td><td>", g);
            html_esc(f, si.originating_machine);
            fputs("<br>", f);
            html_esc(f, si.service_machine);
        } else {
            fputs("</td><td>(store not readable)", f);
        }
        vss_catalog_flags_describe(si.catalog_flags, v, sizeof v);
        fprintf(f, "</td><td>catalog 0x%" PRIx64 ": ", si.catalog_flags);
        html_esc(f, v);
        if (si.storage_ready) {
            vss_attribute_flags_describe(si.attribute_flags, v, sizeof v);
            fprintf(f, "<br>attributes 0x%08x: ", si.attribute_flags);
            html_esc(f, v);
            fprintf(f, "<br>context %s",
                    vss_snapshot_context_name(si.snapshot_context));
        }
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n", f);
}

/* ---- the side file ------------------------------------------------------ */

int report_meta_seal(const char *path)
{
    static const vss_hash sha = VSS_HASH_SHA256;
    uint8_t buf[1 << 16];
    char hex[65], *side;
    const char *name = strrchr(path, '/');
    vss_hasher *h = NULL;
    vss_digests d;
    ssize_t n;
    FILE *out;
    int fd, rc = 0;
    if (!output_is_regular(path))
        return 0;  /* checked before open: a pipe's open would wait */
    fd = open(path, O_RDONLY | O_CLOEXEC);
    name = name ? name + 1 : path;
    if (fd < 0)
        return cli_die(1, "cannot read back %s: %s", path, strerror(errno));
    if (vss_hasher_open(&sha, 1, &h, NULL)) {
        close(fd);
        return cli_die(1, "%s", "out of memory");
    }
    while ((n = read(fd, buf, sizeof buf)) > 0)
        vss_hasher_update(h, buf, (size_t)n);
    if (n < 0)
        rc = cli_die(1, "reading back %s: %s", path, strerror(errno));
    close(fd);
    vss_hasher_final(h, &d);
    vss_hasher_close(h);
    if (rc)
        return rc;
    hexstr(d.v[VSS_HASH_SHA256], 32, hex);
    side = malloc(strlen(path) + 8);
    if (!side)
        return cli_die(1, "%s", "out of memory");
    sprintf(side, "%s.sha256", path);
    out = fopen(side, "w");
    if (out) {
        int bad = fprintf(out, "%s  %s\n", hex, name) < 0;
        bad |= fclose(out) != 0;
        if (bad)
            out = NULL;
    }
    if (!out)
        rc = cli_die(1, "cannot write %s: %s", side, strerror(errno));
    free(side);
    return rc;
}

/*
 * audit.c — what each snapshot of a disk image really preserved, file by
 * file, like a minimal `vssinfo --audit`:
 *
 *     ./audit disk.img        every snapshot
 *     ./audit disk.img 2      snapshot 2 only ("1,3" and "2-4" work too)
 *
 * prints one line per file and named stream, status first, then the path
 * from the volume root:
 *
 *     # snapshot 2
 *     intact /Users/bob/notes.txt
 *     damaged /Users/bob/Documents/photo.jpg
 *     unverified /Windows/win.ini:Zone.Identifier
 *
 * damaged: some bytes read as zeros the snapshot did not keep; unverified:
 * Windows returns bytes the snapshot did not vouch for; unchanged: intact
 * and identical to the live file; resident: data inside the MFT record.
 *
 * The API in three steps: open the image as a volume set (it finds the
 * volume with shadow copies), set up an audit of its snapshots against
 * the live volume, and run it: the library walks, classifies and hashes
 * (on every core) and hands each file's result to a callback, in walk
 * order. vss_audit_result also has the lost byte ranges, the digests and
 * the comparison with the live file.
 *
 * Build: cc audit.c $(pkg-config --cflags --libs libvss) -o audit
 */
#include <stdio.h>
#include <vss.h>

static int fail(const char *what, const vss_error *err)
{
    fprintf(stderr, "audit: %s: %s\n", what, err->message);
    return 1;
}

/* Called once per file, one call at a time; a non-zero return would stop
 * the audit. */
static int print_file(const vss_audit_result *r, void *user)
{
    int *last = user;
    if (r->snapshot != *last) {
        printf("# snapshot %d\n", r->snapshot);
        *last = r->snapshot;
    }
    printf("%s %s\n", vss_status_name(r->status), r->file->path);
    return 0;
}

/* Directories that cannot be read and the like: the audit goes on. */
static void print_warning(const char *text, void *user)
{
    (void)user;
    fprintf(stderr, "audit: warning: %s\n", text);
}

int main(int argc, char **argv)
{
    const char *images[1];
    vss_volume_set *set;
    const vss_volume_set_entry *v;
    vss_audit_options opts = {0};
    vss_audit_callbacks cb = {0};
    vss_audit *audit;
    vss_error err;
    size_t index, problems;
    int last = 0, rc;

    if (argc != 2 && argc != 3) {
        fprintf(stderr, "usage: %s IMAGE [SNAPSHOT]\n", argv[0]);
        return 2;
    }
    /* Any container; the volume with shadow copies (-1: any offset). */
    images[0] = argv[1];
    if (vss_volume_set_open(images, 1, NULL, &set, &err))
        return fail(argv[1], &err);
    if (vss_volume_set_pick(set, -1, 0, &index, &err)) {
        vss_volume_set_close(set);
        return fail(argv[1], &err);
    }
    v = vss_volume_set_get(set, index);
    if (!v->volume) {
        vss_volume_set_close(set);
        return fail("VSS metadata", &v->error);
    }

    /* NULL: every snapshot. Digests default to MD5 and SHA-256; threads 0:
     * one worker per CPU. */
    opts.snapshots = argc == 3 ? argv[2] : NULL;
    if (vss_audit_open(v->volume, v->source, &opts, &audit, &err)) {
        vss_volume_set_close(set);
        return fail(argc == 3 ? argv[2] : "audit", &err);
    }
    cb.file = print_file;
    cb.message = print_warning;
    cb.user = &last;
    rc = vss_audit_run(audit, &cb, &problems, &err);
    if (rc)
        fail("audit", &err);
    vss_audit_close(audit);
    vss_volume_set_close(set);
    /* 1 also when something could not be read (said on stderr) */
    return rc || problems ? 1 : 0;
}

/*
 * fuzz_container.c — the evidence containers (vss_source_open_image: EWF,
 * qcow2, VHD, VHDX, raw) on one file made from the input (a part as
 * fz_container.h describes: the file, or its "FZSP" sparse form).
 *
 * The file is a memfd opened by its /proc/self/fd path, so the containers
 * open it as they open any image. Only single-file containers are reached
 * here; segment sets (.E02, .002, .ab ...) and backing files / parents are
 * fuzz_multi.c's. The invariants are fz_container.h's.
 */
#include <sys/mman.h>

#include "fz_container.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int ct_fd = -1;
static char ct_path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vss_source *src = NULL;
    vss_error err = {0};
    int rc;

    if (ct_fd < 0) {
        ct_fd = memfd_create("fuzz_container", 0);
        if (ct_fd < 0) {
            perror("memfd_create");
            abort();
        }
        snprintf(ct_path, sizeof ct_path, "/proc/self/fd/%d", ct_fd);
    }
    if (ct_write_part(ct_fd, data, size))
        return 0;
    rc = vss_source_open_image(ct_path, NULL, &src, &err);
    fz_check_error(rc, &err);
    if (getenv("FZ_VERBOSE"))
        fprintf(stderr, "open: %d %s\n", rc, rc ? err.message : "");
    if (rc) {
        FZ_ASSERT(src == NULL, "source left on error");
        return 0;
    }
    ct_check_image(src, fz_hash(data, size < 4096 ? size : 4096));
    vss_source_release(src);
    return 0;
}

/*
 * carve.h — vssinfo --carve (list the stores carved from a volume) and
 * --carved (every snapshot operation on the carved stack), over the
 * library's vss_carve_* (docs/vssinfo.1, "CARVING").
 */
#ifndef VSSINFO_CARVE_H
#define VSSINFO_CARVE_H

#include "vssinfo.h"

/* --carve: carve the volume at offset (-1: every NTFS volume of the first
 * image) and list its stores. Returns the exit status. */
int carve_list(volume_set *set, int64_t offset, int json, int progress);

/* --carved: carve the volume at offset (-1: the only NTFS volume of the
 * first image with a VSS header) and make its entry's vol the carved
 * stack. NULL with err set when it cannot. carve_release closes it. */
found_volume *carve_pick(volume_set *set, int64_t offset, int progress,
                         vss_error *err);
void carve_release(void);
/* --scan-all: the scan reads also the clusters live files hold. */
void carve_scan_all(int on);

#endif

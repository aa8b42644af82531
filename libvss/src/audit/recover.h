/*
 * audit/recover.h — the audit's recoverability test (audit.c), shared with
 * the history (history.c) so that both vouch for a recovered version under
 * exactly the same rule (docs/audit.md, "Recoverable"). Internal.
 */
#ifndef VSS_AUDIT_RECOVER_H
#define VSS_AUDIT_RECOVER_H

#include "vss.h"

/* Given that the live stream l belongs to the same file (MFT record and
 * sequence) as the snapshot's stream s (created at FILETIME `when`): NULL
 * when the bytes s did not preserve can be taken from l with confidence
 * (same size; the live file's $STANDARD_INFORMATION modification and MFT
 * change times not later than `when`; the lost file ranges at the same
 * volume offsets in l), else why not (a static string). */
const char *audit_recover_why(const vss_provenance *s, uint64_t s_size,
                              const vss_provenance *l, uint64_t l_size,
                              uint64_t l_mtime, uint64_t l_ctime,
                              uint64_t when);

#endif

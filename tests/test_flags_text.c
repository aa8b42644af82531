/*
 * tests/test_flags_text.c — a snapshot's flags in words (issue #18,
 * vss_catalog_flags_describe, vss_attribute_flags_describe,
 * vss_snapshot_context_name) against Microsoft's documentation of
 * VSS_VOLUME_SNAPSHOT_ATTRIBUTES and VSS_SNAPSHOT_CONTEXT, and the
 * snprintf contract (length needed, always terminated, no overrun) with
 * every buffer size. Ends with "N passed, N failed".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vss.h"
#include "ctest.h"

int main(void)
{
    /* Microsoft's VSS_VOLSNAP_ATTR_* values, each with the word it must
     * bring into the text */
    static const struct {
        unsigned bit;
        const char *word;
    } ms[] = {{0x1, "persistent"},           {0x2, "no auto recovery"},
              {0x4, "client accessible"},    {0x8, "no auto release"},
              {0x10, "no writers"},          {0x20, "transportable"},
              {0x40, "not surfaced"},        {0x80, "not transacted"},
              {0x10000, "hardware assisted"}, {0x20000, "differential"},
              {0x40000, "plex"},             {0x80000, "imported"},
              {0x100000, "exposed locally"}, {0x200000, "exposed remotely"},
              {0x400000, "auto recovered"},  {0x800000, "rollback recovery"},
              {0x1000000, "delayed post snapshot"},
              {0x2000000, "TxF recovery"},   {0x4000000, "file share"}};
    char out[512], small[64];
    size_t i, n, need;

    for (i = 0; i < sizeof ms / sizeof *ms; i++) {
        n = vss_attribute_flags_describe(ms[i].bit, out, sizeof out);
        CHECK(strcmp(out, ms[i].word) == 0 && n == strlen(out),
              "attribute 0x%x: '%s'", ms[i].bit, out);
    }
    vss_attribute_flags_describe(0x0002001d, out, sizeof out);
    CHECK(strcmp(out, "persistent, client accessible, no auto release, no "
                      "writers, differential") == 0,
          "0x2001d (vss_2003's attributes): '%s'", out);
    vss_attribute_flags_describe(0x80000001u, out, sizeof out);
    CHECK(strcmp(out, "persistent, unknown 0x80000000") == 0,
          "undocumented bit named by value: '%s'", out);
    vss_attribute_flags_describe(0, out, sizeof out);
    CHECK(out[0] == '\0', "no bit: empty, got '%s'", out);

    vss_catalog_flags_describe(0x440, out, sizeof out);
    CHECK(strcmp(out, "active (0x40), not-in-use blocks read as zeros "
                      "(0x400)") == 0, "catalog 0x440: '%s'", out);
    vss_catalog_flags_describe(0x10040, out, sizeof out);
    CHECK(strcmp(out, "active (0x40), other 0x10000") == 0,
          "catalog 0x10040: '%s'", out);

    /* Microsoft's VSS_CTX_* values */
    CHECK(strcmp(vss_snapshot_context_name(0x1d), "ClientAccessible") == 0 &&
              strcmp(vss_snapshot_context_name(0), "Backup") == 0 &&
              strcmp(vss_snapshot_context_name(0x10), "FileShareBackup") ==
                  0 &&
              strcmp(vss_snapshot_context_name(0x19), "NASRollback") == 0 &&
              strcmp(vss_snapshot_context_name(0x9),
                     "ApplicationRollback") == 0 &&
              strcmp(vss_snapshot_context_name(0xd),
                     "ClientAccessibleWriters") == 0 &&
              strcmp(vss_snapshot_context_name(0x7), "unknown") == 0,
          "context names");

    /* every buffer size: the needed length, a terminated prefix, no byte
     * written past outsz (the guard after it stays) */
    need = vss_attribute_flags_describe(0xffffffffu, out, sizeof out);
    CHECK(need == strlen(out) && need < sizeof out, "all bits: %zu", need);
    for (i = 0; i <= need + 1 && i < sizeof small - 1; i++) {
        memset(small, 'G', sizeof small);
        n = vss_attribute_flags_describe(0xffffffffu, small, i);
        CHECK(n == need, "outsz %zu: returned %zu, want %zu", i, n, need);
        CHECK(small[i] == 'G', "outsz %zu: wrote past the end", i);
        if (i)
            CHECK(strlen(small) == i - 1 && memcmp(small, out, i - 1) == 0,
                  "outsz %zu: not the terminated prefix", i);
    }
    CHECK(vss_catalog_flags_describe(0x541, NULL, 0) ==
              strlen("revert, active (0x40), offline (0x100), not-in-use "
                     "blocks read as zeros (0x400)"),
          "NULL, 0: the length");

    return ct_finish(NULL);
}

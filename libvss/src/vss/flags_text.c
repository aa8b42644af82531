/*
 * flags_text.c — a snapshot's flags in words, for reports (issue #18):
 * the catalog entry's flags, the store's attribute flags
 * (Microsoft's VSS_VOLSNAP_ATTR_*) and its snapshot context (VSS_CTX_*).
 * The wording is ours; the meanings are those libvshadow's format
 * document and Microsoft's VSS_VOLUME_SNAPSHOT_ATTRIBUTES give
 * (docs/format.md). Bits nobody documents are named by value, never
 * dropped.
 */
#include <inttypes.h>
#include <stdio.h>

#include "vss/vss_int.h"

typedef struct flag_word {
    uint64_t bit;
    const char *words;
} flag_word;

/* Catalog entry type 0x02, offset 40. 0x40 is on every snapshot Windows
 * made that we have seen; 0x400 (Windows 8 and later) makes not-in-use
 * blocks read as zeros (docs/format.md). */
static const flag_word catalog_words[] = {
    {0x1, "revert"},
    {0x40, "active (0x40)"},
    {0x100, "offline (0x100)"},
    {0x400, "not-in-use blocks read as zeros (0x400)"},
};

static const flag_word attribute_words[] = {
    {0x00000001, "persistent"},
    {0x00000002, "no auto recovery"},
    {0x00000004, "client accessible"},
    {0x00000008, "no auto release"},
    {0x00000010, "no writers"},
    {0x00000020, "transportable"},
    {0x00000040, "not surfaced"},
    {0x00000080, "not transacted"},
    {0x00010000, "hardware assisted"},
    {0x00020000, "differential"},
    {0x00040000, "plex"},
    {0x00080000, "imported"},
    {0x00100000, "exposed locally"},
    {0x00200000, "exposed remotely"},
    {0x00400000, "auto recovered"},
    {0x00800000, "rollback recovery"},
    {0x01000000, "delayed post snapshot"},
    {0x02000000, "TxF recovery"},
    {0x04000000, "file share"},
};

/* The words of every set bit, ", "-separated, then what is left over as
 * "<other_word> 0x..". snprintf's contract: the length the whole text
 * needs, out always terminated when outsz > 0. */
static size_t describe(uint64_t flags, const flag_word *w, size_t nw,
                       const char *other_word, char *out, size_t outsz)
{
    size_t i, o = 0;
    uint64_t known = 0;
    int n;
    if (outsz)
        out[0] = '\0';
    for (i = 0; i < nw; i++) {
        known |= w[i].bit;
        if (!(flags & w[i].bit))
            continue;
        n = snprintf(o < outsz ? out + o : NULL, o < outsz ? outsz - o : 0,
                     "%s%s", o ? ", " : "", w[i].words);
        o += n > 0 ? (size_t)n : 0;
    }
    if (flags & ~known) {
        n = snprintf(o < outsz ? out + o : NULL, o < outsz ? outsz - o : 0,
                     "%s%s 0x%" PRIx64, o ? ", " : "", other_word,
                     flags & ~known);
        o += n > 0 ? (size_t)n : 0;
    }
    return o;
}

size_t vss_catalog_flags_describe(uint64_t flags, char *out, size_t outsz)
{
    return describe(flags, catalog_words,
                    sizeof catalog_words / sizeof *catalog_words, "other",
                    out, outsz);
}

size_t vss_attribute_flags_describe(uint32_t flags, char *out, size_t outsz)
{
    return describe(flags, attribute_words,
                    sizeof attribute_words / sizeof *attribute_words,
                    "unknown", out, outsz);
}

const char *vss_snapshot_context_name(uint32_t ctx)
{
    switch (ctx) {
    case 0x00: return "Backup";
    case 0x09: return "ApplicationRollback";
    case 0x0d: return "ClientAccessibleWriters";
    case 0x10: return "FileShareBackup";
    case 0x19: return "NASRollback";
    case 0x1d: return "ClientAccessible";
    case 0xffffffff: return "All";
    default: return "unknown";
    }
}

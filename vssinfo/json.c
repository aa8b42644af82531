/*
 * json.c — streaming JSON writer: pretty enough to read, strict enough for
 * jq. Strings are escaped as RFC 8259 requires; bytes that are not valid
 * UTF-8 are written as \u00XX so the document stays valid.
 */
#include "json.h"

#include <inttypes.h>
#include <string.h>

#include "vss.h"

void json_begin(json *j, FILE *f)
{
    memset(j, 0, sizeof *j);
    j->f = f;
    j->first[0] = 1;
}

static void sep(json *j)
{
    if (j->after_key) {
        j->after_key = 0;
        return;
    }
    if (!j->first[j->depth])
        fputc(',', j->f);
    j->first[j->depth] = 0;
    if (j->depth) {
        fputc('\n', j->f);
        for (int i = 0; i < j->depth; i++)
            fputs("  ", j->f);
    }
}

static void open_(json *j, char c)
{
    sep(j);
    fputc(c, j->f);
    if (j->depth < 63)
        j->depth++;
    j->first[j->depth] = 1;
}

static void close_(json *j, char c)
{
    int empty = j->first[j->depth];
    if (j->depth)
        j->depth--;
    if (!empty) {
        fputc('\n', j->f);
        for (int i = 0; i < j->depth; i++)
            fputs("  ", j->f);
    }
    fputc(c, j->f);
}

void json_object(json *j) { open_(j, '{'); }
void json_array(json *j) { open_(j, '['); }
void json_end_object(json *j) { close_(j, '}'); }
void json_end_array(json *j) { close_(j, ']'); }

static void put_string(FILE *f, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    fputc('"', f);
    for (; *p; p++) {
        if (*p == '"' || *p == '\\') {
            fputc('\\', f);
            fputc(*p, f);
        } else if (*p < 0x20) {
            fprintf(f, "\\u%04x", *p);
        } else if (*p < 0x80) {
            fputc(*p, f);
        } else {
            /* Pass valid UTF-8 sequences through, escape stray bytes. */
            int n = (*p & 0xE0) == 0xC0 ? 2 : (*p & 0xF0) == 0xE0 ? 3
                  : (*p & 0xF8) == 0xF0 ? 4 : 0;
            int ok = n > 0;
            for (int i = 1; ok && i < n; i++)
                ok = (p[i] & 0xC0) == 0x80;
            if (ok) {
                fwrite(p, 1, (size_t)n, f);
                p += n - 1;
            } else {
                fprintf(f, "\\u%04x", *p);
            }
        }
    }
    fputc('"', f);
}

void json_key(json *j, const char *k)
{
    sep(j);
    put_string(j->f, k);
    fputs(": ", j->f);
    j->after_key = 1;
}

void json_string(json *j, const char *s)
{
    sep(j);
    put_string(j->f, s ? s : "");
}

void json_u64(json *j, uint64_t v)
{
    sep(j);
    fprintf(j->f, "%" PRIu64, v);
}

void json_i64(json *j, int64_t v)
{
    sep(j);
    fprintf(j->f, "%" PRId64, v);
}

void json_bool(json *j, int v)
{
    sep(j);
    fputs(v ? "true" : "false", j->f);
}

void json_null(json *j)
{
    sep(j);
    fputs("null", j->f);
}

/* An object member: the key and its value in one call. */
void json_key_string(json *j, const char *k, const char *s)
{
    json_key(j, k);
    json_string(j, s);
}

void json_key_times(json *j, uint64_t created, uint64_t modified,
                    uint64_t mft_changed, uint64_t accessed)
{
    static const char *const key[4] = {"created", "modified", "mft_changed",
                                       "accessed"};
    const uint64_t t[4] = {created, modified, mft_changed, accessed};
    char ts[32];
    for (int i = 0; i < 4; i++) {
        vss_filetime_format(t[i], ts);
        json_key_string(j, key[i], ts);
    }
}

void json_key_u64(json *j, const char *k, uint64_t v)
{
    json_key(j, k);
    json_u64(j, v);
}

void json_key_i64(json *j, const char *k, int64_t v)
{
    json_key(j, k);
    json_i64(j, v);
}

void json_key_bool(json *j, const char *k, int v)
{
    json_key(j, k);
    json_bool(j, v);
}

void json_finish(json *j)
{
    fputc('\n', j->f);
}

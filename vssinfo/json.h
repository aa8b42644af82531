/*
 * json.h — a tiny streaming JSON writer for vssinfo's --json output.
 */
#ifndef VSSINFO_JSON_H
#define VSSINFO_JSON_H

#include <stdint.h>
#include <stdio.h>

typedef struct json {
    FILE *f;
    int depth;
    int first[64]; /* no value written yet at this depth */
    int after_key;
} json;

void json_begin(json *j, FILE *f);
void json_object(json *j);
void json_array(json *j);
void json_end_object(json *j);
void json_end_array(json *j);
void json_key(json *j, const char *k);
void json_string(json *j, const char *s);
void json_u64(json *j, uint64_t v);
void json_i64(json *j, int64_t v);
void json_bool(json *j, int v);
void json_null(json *j);
void json_key_string(json *j, const char *k, const char *s);
void json_key_u64(json *j, const char *k, uint64_t v);
void json_key_i64(json *j, const char *k, int64_t v);
void json_key_bool(json *j, const char *k, int v);
/* The four NTFS times (FILETIME) as "created", "modified", "mft_changed",
 * "accessed" keys, formatted by vss_filetime_format. */
void json_key_times(json *j, uint64_t created, uint64_t modified,
                    uint64_t mft_changed, uint64_t accessed);
void json_finish(json *j);

#endif

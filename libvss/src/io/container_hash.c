/*
 * container_hash.c — CRC-32C (the Castagnoli polynomial), which VHDX uses
 * for its headers and region tables. (MD5 and SHA-1 for verifying E01
 * images come from OpenSSL's libcrypto.)
 */
#include "io/container.h"

static uint32_t crc32c_table[256];
static pthread_once_t crc32c_once = PTHREAD_ONCE_INIT;

static void crc32c_init(void)
{
    uint32_t i, j;
    for (i = 0; i < 256; i++) {
        uint32_t c = i;
        for (j = 0; j < 8; j++)
            c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
        crc32c_table[i] = c;
    }
}

uint32_t ct_crc32c(const void *data, size_t n)
{
    const uint8_t *p = data;
    uint32_t c = 0xffffffffu;
    pthread_once(&crc32c_once, crc32c_init);
    while (n--)
        c = crc32c_table[(c ^ *p++) & 0xff] ^ (c >> 8);
    return c ^ 0xffffffffu;
}

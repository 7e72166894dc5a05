/* CRC-32 (IEEE 802.3, reflected, as zlib.crc32), nibble table: small and fast enough. */
#ifndef HB_CRC32_H
#define HB_CRC32_H
#include <stddef.h>
#include <stdint.h>
uint32_t hb_crc32(const uint8_t *data, size_t length);
#endif

/* Consistent Overhead Byte Stuffing: frames end at a 0x00 byte, which never occurs inside
 * an encoded frame, so a receiver resynchronises after garbage at the next zero. */
#ifndef HB_COBS_H
#define HB_COBS_H
#include <stddef.h>
#include <stdint.h>

size_t hb_cobs_encode(const uint8_t *in, size_t length, uint8_t *out);
/* Returns the decoded length, or 0 for a malformed frame. In-place decoding is allowed. */
size_t hb_cobs_decode(const uint8_t *in, size_t length, uint8_t *out);
#endif

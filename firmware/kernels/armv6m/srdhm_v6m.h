/* VQRDMULH for Armv6-M without a 64-bit multiply: (a*b + 2^30) >> 31 for b >= 0, from
 * 16-bit partial products (MULS is 32 x 32 -> 32 bits there). Internal to this variant. */
#ifndef HB_SRDHM_V6M_H
#define HB_SRDHM_V6M_H
#include <stdint.h>

static inline int32_t hb_srdhm_v6m(int32_t a, int32_t b) {
  const uint32_t ua = a < 0 ? 0u - (uint32_t)a : (uint32_t)a;  /* |a|, also for INT32_MIN */
  const uint32_t ub = (uint32_t)b;
  const uint32_t al = ua & 0xFFFFu, ah = ua >> 16, bl = ub & 0xFFFFu, bh = ub >> 16;
  const uint32_t lo = al * bl, mid1 = al * bh, mid2 = ah * bl;
  uint32_t hi = ah * bh;
  uint32_t mid = mid1 + mid2;
  uint32_t low;
  if (mid < mid1) hi += 1u << 16;               /* carry out of the middle sum */
  low = lo + (mid << 16);
  if (low < lo) hi += 1;
  hi += mid >> 16;
  if (a < 0) {                                  /* two's complement of the 64-bit product */
    hi = ~hi + (low == 0 ? 1u : 0u);
    low = 0u - low;
  }
  {
    const uint32_t rounded = low + (1u << 30);
    if (rounded < low) hi += 1;
    return (int32_t)((hi << 1) | (rounded >> 31));
  }
}
#endif

/* std::round for the float model boundary (QUANTIZE from float32), without libm (internal). */
#ifndef HB_ROUND_HALF_AWAY_H
#define HB_ROUND_HALF_AWAY_H
#include <stdint.h>

/* halves go away from zero, as std::round */
static inline int32_t hb_round_half_away(float x) {
  const float magnitude = x < 0 ? -x : x;
  int32_t r = (int32_t)magnitude;
  if (magnitude - (float)r >= 0.5f) r += 1;
  return x < 0 ? -r : r;
}
#endif

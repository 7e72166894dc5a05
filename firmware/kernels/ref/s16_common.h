/* Shared arithmetic of the int16x8 kernels (internal). Mirrors the int64 and table
 * functions of hilbench/reference/fixedpoint.py. */
#ifndef HB_S16_COMMON_H
#define HB_S16_COMMON_H
#include "hb_kernels.h"
#include "../hb_fixedpoint.h"

/* TFLM MultiplyByQuantizedMultiplier for an int64 accumulator: the multiplier rounded to
 * 16 bits, then a single rounding shift (shift in -31..7). */
static inline int32_t hb_mbqm64(int64_t x, int32_t multiplier, int32_t shift) {
  const int32_t reduced = multiplier < 0x7FFF0000 ? (multiplier + (1 << 15)) >> 16 : 0x7FFF;
  const int32_t total = 15 - shift;
  return (int32_t)((x * reduced + ((int64_t)1 << (total - 1))) >> total);
}

/* Bias, requantization and clamp of one output channel's accumulator. The accumulator is
 * summed in int64; TFLM's int32 path (int32 bias) wraps, which the cast reproduces. */
static inline int16_t hb_requant_s16(int64_t acc, int32_t bias_64, const void *bias,
                                     int32_t channel, int32_t multiplier, int32_t shift,
                                     int32_t act_min, int32_t act_max) {
  int32_t out;
  if (bias_64) {
    if (bias) acc += ((const int64_t *)bias)[channel];
    out = hb_mbqm64(acc, multiplier, shift);
  } else {
    int32_t acc32 = (int32_t)(uint32_t)(uint64_t)acc;
    if (bias) acc32 = hb_wrap_add(acc32, ((const int32_t *)bias)[channel]);
    out = hb_mbqm(acc32, multiplier, shift);
  }
  return (int16_t)hb_clamp(out, act_min, act_max);
}

/* TFLM generic_int16_table_lookup: 512 linear segments of 128 inputs each. */
static inline int16_t hb_lut_s16(int32_t value, const int16_t *lut) {
  const int32_t index = 256 + (value >> 7);
  const int32_t offset = value & 0x7F;
  const int16_t base = lut[index];
  const int16_t slope = (int16_t)(lut[index + 1] - base);
  const int32_t delta = (slope * offset + 64) >> 7;
  return (int16_t)(base + delta);
}
#endif

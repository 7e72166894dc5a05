/*
 * TFLM/gemmlowp integer arithmetic, shared by the kernels (internal header).
 * Mirrors hilbench/reference/fixedpoint.py; both must stay bit-identical.
 * Signed overflow is avoided by doing wrapping arithmetic in uint32_t.
 */
#ifndef HB_FIXEDPOINT_H
#define HB_FIXEDPOINT_H

#include <stdint.h>

#define HB_INT32_MIN ((int32_t)0x80000000)
#define HB_INT32_MAX ((int32_t)0x7FFFFFFF)

static inline int32_t hb_wrap_add(int32_t a, int32_t b) {
  return (int32_t)((uint32_t)a + (uint32_t)b);
}

static inline int32_t hb_wrap_sub(int32_t a, int32_t b) {
  return (int32_t)((uint32_t)a - (uint32_t)b);
}

static inline int32_t hb_clamp(int32_t x, int32_t lo, int32_t hi) {
  return x < lo ? lo : (x > hi ? hi : x);
}

/* VQRDMULH. gemmlowp's nudged truncating division equals (a*b + 2^30) >> 31 for either
 * sign, which avoids a 64-bit division call on Cortex-M. */
static inline int32_t hb_srdhm(int32_t a, int32_t b) {
  if (a == b && a == HB_INT32_MIN) return HB_INT32_MAX;
  return (int32_t)(((int64_t)a * b + ((int64_t)1 << 30)) >> 31);
}

/* Rounding arithmetic right shift, ties away from zero; exponent in 0..31. The mask is
 * built in 32 bits: a 64-bit variable shift is a library call on Armv6-M. */
static inline int32_t hb_rdbpot(int32_t x, int32_t exponent) {
  const int32_t mask = (int32_t)((1u << exponent) - 1u);
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* TFLM MultiplyByQuantizedMultiplier with double rounding. */
static inline int32_t hb_mbqm(int32_t x, int32_t multiplier, int32_t shift) {
  const int32_t left = shift > 0 ? shift : 0;
  const int32_t right = shift > 0 ? 0 : -shift;
  return hb_rdbpot(hb_srdhm((int32_t)((uint32_t)x << left), multiplier), right);
}

/* SaturatingRoundingMultiplyByPOT<exponent> for int32. */
static inline int32_t hb_sat_mul_pot(int32_t x, int32_t exponent) {
  if (exponent == 0) return x;
  if (exponent < 0) return hb_rdbpot(x, -exponent);
  {
    const int32_t threshold = (int32_t)((1u << (31 - exponent)) - 1u);
    if (x > threshold) return HB_INT32_MAX;
    if (x < -threshold) return HB_INT32_MIN;
    return (int32_t)((uint32_t)x << exponent);
  }
}

static inline int32_t hb_rounding_half_sum(int32_t a, int32_t b) {
  const int64_t sum = (int64_t)a + b;
  const int64_t sign = sum >= 0 ? 1 : -1;
  return (int32_t)((sum + sign) / 2);
}

int32_t hb_exp_on_negative_values(int32_t a, int32_t integer_bits);
int32_t hb_one_over_one_plus_x_for_x_in_0_1(int32_t a);
int32_t hb_logistic_q(int32_t a, int32_t integer_bits);
int32_t hb_tanh_q(int32_t a, int32_t integer_bits);

#endif /* HB_FIXEDPOINT_H */

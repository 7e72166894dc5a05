/* gemmlowp fixed-point exp, reciprocal, logistic and tanh on int32 raw values in
 * Q(integer_bits).(31 - integer_bits). See hilbench/reference/fixedpoint.py. */
#include "hb_fixedpoint.h"

static int32_t exp_on_interval_between_negative_one_quarter_and_0_excl(int32_t a) {
  const int32_t constant_term = 1895147668;   /* exp(-1/8) in Q0.31 */
  const int32_t constant_1_over_3 = 715827883;
  const int32_t x = hb_wrap_add(a, 1 << 28);  /* Taylor expansion around -1/8 */
  const int32_t x2 = hb_srdhm(x, x);
  const int32_t x3 = hb_srdhm(x2, x);
  const int32_t x4 = hb_srdhm(x2, x2);
  const int32_t x4_over_4 = hb_sat_mul_pot(x4, -2);
  const int32_t poly = hb_sat_mul_pot(
      hb_wrap_add(hb_srdhm(hb_wrap_add(x4_over_4, x3), constant_1_over_3), x2), -1);
  return hb_wrap_add(constant_term, hb_srdhm(constant_term, hb_wrap_add(x, poly)));
}

int32_t hb_exp_on_negative_values(int32_t a, int32_t integer_bits) {
  static const int32_t barrel[7] = {1672461947, 1302514674, 790015084, 290630308,
                                    39332535, 720401, 242};
  const int32_t fractional_bits = 31 - integer_bits;
  const int32_t one_quarter = 1 << (fractional_bits - 2);
  const int32_t a_mod_quarter_minus_one_quarter =
      hb_wrap_sub(a & (one_quarter - 1), one_quarter);
  int32_t result = exp_on_interval_between_negative_one_quarter_and_0_excl(
      hb_sat_mul_pot(a_mod_quarter_minus_one_quarter, integer_bits));
  const int32_t remainder = hb_wrap_sub(a_mod_quarter_minus_one_quarter, a);
  int32_t exponent;
  for (exponent = -2; exponent <= 4; ++exponent) {
    if (integer_bits > exponent) {
      const uint32_t bit = 1u << (fractional_bits + exponent);
      if ((uint32_t)remainder & bit) result = hb_srdhm(result, barrel[exponent + 2]);
    }
  }
  if (integer_bits > 5) {
    const int32_t clamp = -(1 << (36 - integer_bits)); /* -32.0 */
    if (a < clamp) result = 0;
  }
  return a == 0 ? HB_INT32_MAX : result;
}

/* Three Newton-Raphson steps for 1 / half_denominator, result in Q2.29. */
static int32_t newton_reciprocal(int32_t half_denominator) {
  int32_t x = hb_wrap_add(1515870810, hb_srdhm(half_denominator, -1010580540));
  int i;
  for (i = 0; i < 3; ++i) {
    const int32_t one_minus_dx = hb_wrap_sub(1 << 29, hb_srdhm(half_denominator, x));
    x = hb_wrap_add(x, hb_sat_mul_pot(hb_srdhm(x, one_minus_dx), 2));
  }
  return x;
}

int32_t hb_one_over_one_plus_x_for_x_in_0_1(int32_t a) {
  return hb_sat_mul_pot(newton_reciprocal(hb_rounding_half_sum(a, HB_INT32_MAX)), 1);
}

static int32_t one_minus_x_over_one_plus_x_for_x_in_0_1(int32_t a) {
  const int32_t x = newton_reciprocal(hb_rounding_half_sum(a, HB_INT32_MAX));
  return hb_sat_mul_pot(hb_wrap_sub(x, 1 << 29), 2);
}

int32_t hb_logistic_q(int32_t a, int32_t integer_bits) {
  int32_t abs_input, positive_result;
  if (a == 0) return 1 << 30;
  abs_input = a > 0 ? a : hb_wrap_sub(0, a);
  positive_result = hb_one_over_one_plus_x_for_x_in_0_1(
      hb_exp_on_negative_values(hb_wrap_sub(0, abs_input), integer_bits));
  return a > 0 ? positive_result : hb_wrap_sub(HB_INT32_MAX, positive_result);
}

int32_t hb_tanh_q(int32_t a, int32_t integer_bits) {
  int32_t n, t;
  if (a == 0) return 0;
  n = a < 0 ? a : hb_wrap_sub(0, a);
  /* exp(2n): same raw value read with one more integer bit */
  t = one_minus_x_over_one_plus_x_for_x_in_0_1(hb_exp_on_negative_values(n, integer_bits + 1));
  return a < 0 ? hb_wrap_sub(0, t) : t;
}

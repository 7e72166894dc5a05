/* SOFTMAX, int8 in, int8 out (scale 1/256, zero point -128), gemmlowp fixed point. */
#include "hb_kernels.h"
#include "../hb_fixedpoint.h"

#define SCALED_DIFF_INTEGER_BITS 5
#define ACCUMULATION_INTEGER_BITS 12

static int32_t count_leading_zeros(uint32_t x) {
  int32_t n = 0;
  if (x == 0) return 32;
  while (!(x & 0x80000000u)) { x <<= 1; ++n; }
  return n;
}

/* exp(beta * input_scale * diff) in Q0.31 for a non-positive difference from the row max */
static int32_t exp_of_diff(const hb_softmax_params *p, int32_t diff) {
  const int32_t scaled = hb_srdhm((int32_t)((uint32_t)diff << p->input_left_shift),
                                  p->input_multiplier);
  return hb_exp_on_negative_values(scaled, SCALED_DIFF_INTEGER_BITS);
}

hb_status hb_softmax_s8(const hb_softmax_params *p, const int8_t *input, int8_t *output) {
  int32_t r, c;
  for (r = 0; r < p->rows; ++r) {
    const int8_t *row = input + r * p->depth;
    int8_t *out = output + r * p->depth;
    int32_t max_value = -128, sum_of_exps = 0, headroom, bits_over_unit, scale, exponent;
    for (c = 0; c < p->depth; ++c) if (row[c] > max_value) max_value = row[c];
    for (c = 0; c < p->depth; ++c) {
      const int32_t diff = row[c] - max_value;
      if (diff >= p->diff_min) {
        sum_of_exps = hb_wrap_add(sum_of_exps, hb_sat_mul_pot(exp_of_diff(p, diff),
                                                              -ACCUMULATION_INTEGER_BITS));
      }
    }
    headroom = count_leading_zeros((uint32_t)sum_of_exps);
    bits_over_unit = ACCUMULATION_INTEGER_BITS - headroom;
    scale = hb_one_over_one_plus_x_for_x_in_0_1(
        (int32_t)(((uint32_t)sum_of_exps << headroom) - (1u << 31)));
    exponent = bits_over_unit + 31 - 8;
    for (c = 0; c < p->depth; ++c) {
      const int32_t diff = row[c] - max_value;
      if (diff >= p->diff_min) {
        const int32_t v = hb_rdbpot(hb_srdhm(scale, exp_of_diff(p, diff)), exponent) - 128;
        out[c] = (int8_t)hb_clamp(v, -128, 127);
      } else {
        out[c] = -128;
      }
    }
  }
  return HB_OK;
}

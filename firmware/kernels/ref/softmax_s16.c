/* SOFTMAX, int16 -> int16 (TFLM SoftmaxInt16): exp of each difference to the row's maximum
 * by table, the sum's reciprocal by table, products rounded back to Q0.15. The exps are
 * kept in the output row meanwhile, as TFLM does. */
#include "hb_kernels.h"
#include "s16_common.h"

static int32_t count_leading_zeros(uint32_t x) {
  int32_t n = 0;
  if (x == 0) return 32;
  while (!(x & 0x80000000u)) {
    x <<= 1;
    ++n;
  }
  return n;
}

hb_status hb_softmax_s16(const hb_softmax_s16_params *p, const int16_t *input,
                         int16_t *output) {
  int32_t r, c;
  for (r = 0; r < p->rows; ++r) {
    const int16_t *in = input + r * p->depth;
    int16_t *out = output + r * p->depth;
    int16_t max_value = -32768;
    int32_t sum = 0, headroom_plus_one, shifted, right_shift;
    int16_t reciprocal;
    for (c = 0; c < p->depth; ++c) max_value = in[c] > max_value ? in[c] : max_value;
    for (c = 0; c < p->depth; ++c) {
      const int32_t scaled = hb_mbqm(in[c] - max_value, p->input_multiplier,
                                     p->input_left_shift);
      out[c] = hb_lut_s16(hb_clamp(scaled + 32767, -32768, 32767), p->exp_lut);
      sum += out[c];
    }
    headroom_plus_one = count_leading_zeros((uint32_t)sum);
    shifted = (int32_t)((((int64_t)sum << (headroom_plus_one - 1)) + (1 << 13)) >> 14);
    reciprocal = hb_lut_s16(hb_clamp(shifted - ((1 << 15) + (1 << 16)), -32768, 32767),
                            p->one_over_one_plus_x_lut);
    right_shift = 31 - headroom_plus_one;
    for (c = 0; c < p->depth; ++c) {
      const int32_t result = (int32_t)(((int64_t)out[c] * reciprocal +
                                        ((int64_t)1 << (right_shift - 1))) >> right_shift);
      out[c] = (int16_t)hb_clamp(result, 0, 32767);
    }
  }
  return HB_OK;
}

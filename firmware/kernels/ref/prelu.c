/* PRELU, int8, alpha broadcast against the input (TFLM's BroadcastPrelu4DSlow): x >= 0
 * rescaled alone, x < 0 multiplied by alpha first; both clamped to int8. */
#include "hb_kernels.h"
#include "../hb_fixedpoint.h"
#include "binary_index.h"

hb_status hb_prelu_s8(const hb_binary_params *p, const int8_t *input, const int8_t *alpha,
                      int8_t *output) {
  int32_t index[HB_MAX_DIMS] = {0};
  int32_t x_pos = 0, alpha_pos = 0, i;
  const int32_t size = hb_binary_size(p);
  for (i = 0; i < size; ++i) {
    const int32_t x = input[x_pos] + p->a_offset;
    const int32_t out = x >= 0 ? hb_mbqm(x, p->a_multiplier, p->a_shift)
                               : hb_mbqm(x * (alpha[alpha_pos] + p->b_offset),
                                         p->b_multiplier, p->b_shift);
    output[i] = (int8_t)hb_clamp(out + p->output_offset, -128, 127);
    hb_binary_next(p, index, &x_pos, &alpha_pos);
  }
  return HB_OK;
}

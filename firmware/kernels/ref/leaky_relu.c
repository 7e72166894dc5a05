/* LEAKY_RELU, int8: two rescalings, one each side of the input zero point. */
#include "hb_kernels.h"
#include "../hb_fixedpoint.h"

hb_status hb_leaky_relu_s8(const hb_leaky_relu_params *p, const int8_t *input, int8_t *output) {
  int32_t i;
  for (i = 0; i < p->size; ++i) {
    const int32_t x = input[i] - p->input_zero_point;
    int32_t v;
    if (x >= 0) {
      v = hb_mbqm(x, p->identity_multiplier, p->identity_shift);
    } else {
      v = hb_mbqm(x, p->alpha_multiplier, p->alpha_shift);
      if (p->alpha_negative) v = -v;
    }
    output[i] = (int8_t)hb_clamp(v + p->output_zero_point, -128, 127);
  }
  return HB_OK;
}

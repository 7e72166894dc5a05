/* RELU, int8, with requantization to the output scale. */
#include "hb_kernels.h"
#include "../hb_fixedpoint.h"

hb_status hb_relu_s8(const hb_relu_params *p, const int8_t *input, int8_t *output) {
  int32_t i;
  for (i = 0; i < p->size; ++i) {
    const int32_t v = hb_mbqm(input[i] - p->input_zero_point, p->multiplier, p->shift) +
                      p->output_zero_point;
    output[i] = (int8_t)hb_clamp(v, p->act_min, p->act_max);
  }
  return HB_OK;
}

/* TANH, int8 (output scale 1/128, zero point 0). */
#include "sigmoid_common.h"

hb_status hb_tanh_s8(const hb_sigmoid_params *p, const int8_t *input, int8_t *output) {
  int32_t i;
  for (i = 0; i < p->size; ++i) output[i] = hb_sigmoid_like(p, input[i], hb_tanh_q, 24, 0);
  return HB_OK;
}

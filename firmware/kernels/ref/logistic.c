/* LOGISTIC, int8 (output scale 1/256, zero point -128). */
#include "sigmoid_common.h"

hb_status hb_logistic_s8(const hb_sigmoid_params *p, const int8_t *input, int8_t *output) {
  int32_t i;
  for (i = 0; i < p->size; ++i) output[i] = hb_sigmoid_like(p, input[i], hb_logistic_q, 23, -128);
  return HB_OK;
}

/* RELU6, int8: a clamp between quantized 0.0 and 6.0 on the input scale. */
#include "hb_kernels.h"

hb_status hb_relu6_s8(const hb_relu6_params *p, const int8_t *input, int8_t *output) {
  int32_t i;
  for (i = 0; i < p->size; ++i) {
    const int8_t v = input[i];
    output[i] = v > p->six ? p->six : (v < p->zero ? p->zero : v);
  }
  return HB_OK;
}

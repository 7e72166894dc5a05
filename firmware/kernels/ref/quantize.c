/* QUANTIZE: float32 model inputs to int8 (a model boundary, so float is used), or int8
 * requantization in integers. */
#include "hb_kernels.h"
#include "../hb_fixedpoint.h"
#include "round_half_away.h"

hb_status hb_quantize_s8(const hb_quantize_params *p, const void *input, int8_t *output) {
  int32_t i;
  for (i = 0; i < p->size; ++i) {
    int32_t q;
    if (p->from_float) {
      const float v = ((const float *)input)[i] / p->scale;
      if (v > 1e9f || v < -1e9f) q = v > 0 ? 127 : -128;  /* avoid int overflow on huge inputs */
      else q = hb_round_half_away(v) + p->zero_point;
    } else {
      const int8_t *in = (const int8_t *)input;
      q = hb_mbqm(in[i] - p->input_zero_point, p->multiplier, p->shift) + p->zero_point;
    }
    output[i] = (int8_t)hb_clamp(q, -128, 127);
  }
  return HB_OK;
}

/* QUANTIZE with int16 on a side: float32 -> int16 (a model boundary, so float is used),
 * or int8/int16 -> int8/int16 requantization in integers (TFLM Requantize). */
#include "hb_kernels.h"
#include "../hb_fixedpoint.h"
#include "round_half_away.h"

hb_status hb_quantize_s16(const hb_quantize_s16_params *p, const void *input, void *output) {
  const int32_t low = p->output_bits == 16 ? -32768 : -128;
  const int32_t high = p->output_bits == 16 ? 32767 : 127;
  int32_t i;
  for (i = 0; i < p->size; ++i) {
    int32_t q;
    if (p->input_type == 0) {
      const float v = ((const float *)input)[i] / p->scale;
      if (v > 1e9f || v < -1e9f) q = v > 0 ? high : low;  /* no int overflow on huge inputs */
      else q = hb_round_half_away(v) + p->zero_point;
    } else {
      const int32_t x = p->input_type == 1 ? ((const int8_t *)input)[i]
                                           : ((const int16_t *)input)[i];
      q = hb_mbqm(x - p->input_zero_point, p->multiplier, p->shift) + p->zero_point;
    }
    q = hb_clamp(q, low, high);
    if (p->output_bits == 16) ((int16_t *)output)[i] = (int16_t)q;
    else ((int8_t *)output)[i] = (int8_t)q;
  }
  return HB_OK;
}

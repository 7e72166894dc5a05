/* DEQUANTIZE: int16 to float32 model outputs (a model boundary). TFLM computes
 * scale * (q - zero_point) in double before narrowing to float. */
#include "hb_kernels.h"

hb_status hb_dequantize_s16(const hb_dequantize_params *p, const int16_t *input,
                            float *output) {
  int32_t i;
  for (i = 0; i < p->size; ++i) {
    output[i] = (float)((double)p->scale * (double)(input[i] - p->zero_point));
  }
  return HB_OK;
}

/* SVDF, int8 input and output, int16 time weights and state (TFLM's integer SVDF). */
#include "hb_kernels.h"
#include "../hb_fixedpoint.h"

hb_status hb_svdf_s8(const hb_svdf_params *p, const int8_t *input, int16_t *state,
                     int8_t *output) {
  int32_t b, f, u, r, k;
  for (b = 0; b < p->batch; ++b) {
    const int8_t *x = input + b * p->input_size;
    int16_t *memory = state + b * p->filters * p->memory;
    for (f = 0; f < p->filters; ++f) {
      const int8_t *w = p->weights_feature + f * p->input_size;
      int16_t *slots = memory + f * p->memory;
      int32_t dot = 0;
      for (k = 0; k + 1 < p->memory; ++k) slots[k] = slots[k + 1];
      for (k = 0; k < p->input_size; ++k)
        dot = hb_wrap_add(dot, w[k] * (x[k] - p->input_zero_point));
      dot = hb_mbqm(dot, p->feature_multiplier, p->feature_shift) + p->state_zero_point;
      slots[p->memory - 1] = (int16_t)hb_clamp(dot, -32768, 32767);
    }
    for (u = 0; u < p->units; ++u) {
      /* TFLM sums in int32: wrapping adds keep its result where the sum overflows */
      int32_t acc = p->bias[u];
      for (r = 0; r < p->rank; ++r) {
        const int32_t filter = u * p->rank + r;
        const int16_t *wt = p->weights_time + filter * p->memory;
        const int16_t *slots = memory + filter * p->memory;
        for (k = 0; k < p->memory; ++k)
          acc = hb_wrap_add(acc, wt[k] * (slots[k] - p->state_zero_point));
      }
      acc = hb_mbqm(acc, p->output_multiplier, p->output_shift) + p->output_zero_point;
      *output++ = (int8_t)hb_clamp(acc, -128, 127);
    }
  }
  return HB_OK;
}

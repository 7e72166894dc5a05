/* FULLY_CONNECTED, int8, per-tensor or per-channel weights. */
#include "hb_kernels.h"
#include "../hb_fixedpoint.h"

hb_status hb_fully_connected_s8(const hb_fc_params *p, const int8_t *input, int8_t *output) {
  int32_t r, u, d;
  for (r = 0; r < p->rows; ++r) {
    const int8_t *row = input + r * p->depth;
    for (u = 0; u < p->units; ++u) {
      const int8_t *w = p->weights + u * p->depth;
      int32_t acc = 0;
      for (d = 0; d < p->depth; ++d) {
        acc += (w[d] + p->weights_offset) * (row[d] + p->input_offset);
      }
      if (p->bias) acc += p->bias[u];
      acc = hb_mbqm(acc, p->multiplier[u], p->shift[u]) + p->output_offset;
      *output++ = (int8_t)hb_clamp(acc, p->act_min, p->act_max);
    }
  }
  return HB_OK;
}

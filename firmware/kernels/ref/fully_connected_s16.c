/* FULLY_CONNECTED, int16 activations and int8 weights, per-tensor or per-channel (TFLM
 * FullyConnected / FullyConnectedPerChannel, int16x8). */
#include "hb_kernels.h"
#include "s16_common.h"

hb_status hb_fully_connected_s16(const hb_fc_s16_params *p, const int16_t *input,
                                 int16_t *output) {
  int32_t r, u, d;
  for (r = 0; r < p->rows; ++r) {
    const int16_t *row = input + r * p->depth;
    for (u = 0; u < p->units; ++u) {
      const int8_t *w = p->weights + u * p->depth;
      int64_t acc = 0;
      for (d = 0; d < p->depth; ++d) acc += (w[d] + p->weights_offset) * row[d];
      *output++ = hb_requant_s16(acc, p->bias_64, p->bias, u, p->multiplier[u], p->shift[u],
                                 p->act_min, p->act_max);
    }
  }
  return HB_OK;
}

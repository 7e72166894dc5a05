/* FULLY_CONNECTED for Armv6-M (Cortex-M0/M0+). Same results as ref/fully_connected.c:
 * the input offset comes folded into a host-computed bias, the dot product is unrolled by
 * four, and requantization multiplies in 16-bit halves instead of calling __aeabi_lmul. */
#include "hb_kernels.h"
#include "hb_fixedpoint.h"
#include "srdhm_v6m.h"

static int32_t requantize(int32_t acc, int32_t multiplier, int32_t shift) {
  const int32_t left = shift > 0 ? shift : 0;
  const int32_t right = shift > 0 ? 0 : -shift;
  return hb_rdbpot(hb_srdhm_v6m((int32_t)((uint32_t)acc << left), multiplier), right);
}

hb_status hb_fully_connected_s8(const hb_fc_params *p, const int8_t *input, int8_t *output) {
  const int32_t depth = p->depth;
  int32_t r, u, d;
  for (r = 0; r < p->rows; ++r) {
    const int8_t *row = input + r * depth;
    for (u = 0; u < p->units; ++u) {
      const int8_t *w = p->weights + u * depth;
      int32_t acc;
      if (p->folded_bias && p->weights_offset == 0) {
        acc = p->folded_bias[u];
        for (d = 0; d + 4 <= depth; d += 4) {
          acc += w[d] * row[d] + w[d + 1] * row[d + 1] + w[d + 2] * row[d + 2] +
                 w[d + 3] * row[d + 3];
        }
        for (; d < depth; ++d) acc += w[d] * row[d];
      } else {  /* general offsets: the reference loop */
        acc = p->bias ? p->bias[u] : 0;
        for (d = 0; d < depth; ++d) acc += (w[d] + p->weights_offset) * (row[d] + p->input_offset);
      }
      acc = requantize(acc, p->multiplier[u], p->shift[u]) + p->output_offset;
      *output++ = (int8_t)hb_clamp(acc, p->act_min, p->act_max);
    }
  }
  return HB_OK;
}

/* FULLY_CONNECTED for the dsp variant: four units per pass over the input row, weights
 * interleaved on the host so one pointer streams them. Bit-exact with
 * ref/fully_connected.c under the conditions hilbench/codegen/specialize.py checks. */
#include "hb_kernels.h"
#include "dsp_common.h"

/* Four values of the row times the same four values of four units (16 weights at w). */
#define HB_FC_GROUP(x, w)                                             \
  do {                                                                \
    const int32_t xv = (int32_t)hb_ld32(x);                           \
    const int32_t xe = __sxtb16(xv), xo = (int32_t)hb_sxtb16_ror8((uint32_t)xv); \
    int32_t wv = (w)[0];                                              \
    a0 = __smlad(__sxtb16(wv), xe, a0);                               \
    a0 = __smlad((int32_t)hb_sxtb16_ror8((uint32_t)wv), xo, a0);      \
    wv = (w)[1];                                                      \
    a1 = __smlad(__sxtb16(wv), xe, a1);                               \
    a1 = __smlad((int32_t)hb_sxtb16_ror8((uint32_t)wv), xo, a1);      \
    wv = (w)[2];                                                      \
    a2 = __smlad(__sxtb16(wv), xe, a2);                               \
    a2 = __smlad((int32_t)hb_sxtb16_ror8((uint32_t)wv), xo, a2);      \
    wv = (w)[3];                                                      \
    a3 = __smlad(__sxtb16(wv), xe, a3);                               \
    a3 = __smlad((int32_t)hb_sxtb16_ror8((uint32_t)wv), xo, a3);      \
  } while (0)

__attribute__((optimize("no-schedule-insns")))
hb_status hb_fully_connected_s8_dsp(const hb_fc_dsp_params *p, const int8_t *input,
                                    int8_t *output) {
  const int32_t depth = p->depth, units = p->units;
  const int32_t off = p->output_offset, lo = p->act_min, hi = p->act_max;
  int32_t r, u, d;
  for (r = 0; r < p->rows; ++r) {
    const int8_t *row = input + r * depth;
    const int32_t *w = (const int32_t *)p->weights;
    const int32_t *bias = p->folded_bias, *rq = p->requant;
    for (u = 0; u < units; u += 4) {
      int32_t a0 = bias[0], a1 = bias[1], a2 = bias[2], a3 = bias[3];
      const int8_t *x = row;
      const int8_t *pairs_end = row + (depth & ~7);
      const int8_t *tail;
      int32_t v[4];
      while (x != pairs_end) {
        HB_FC_GROUP(x, w);
        HB_FC_GROUP(x + 4, w + 4);
        x += 8;
        w += 8;
      }
      if (depth & 4) {
        HB_FC_GROUP(x, w);
        x += 4;
        w += 4;
      }
      for (tail = (const int8_t *)w, d = depth & 3; d > 0; --d, ++x, tail += 4) {
        a0 += tail[0] * *x;
        a1 += tail[1] * *x;
        a2 += tail[2] * *x;
        a3 += tail[3] * *x;
      }
      w = (const int32_t *)(const void *)tail;
      v[0] = a0;
      v[1] = a1;
      v[2] = a2;
      v[3] = a3;
      for (d = 0; d < 4 && u + d < units; ++d) {
        output[d] = (int8_t)hb_dsp_requant(v[d], rq + 2 * d, off, lo, hi);
      }
      output += 4 < units - u ? 4 : units - u;
      bias += 4;
      rq += 8;
    }
  }
  return HB_OK;
}

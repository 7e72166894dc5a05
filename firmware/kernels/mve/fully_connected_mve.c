/* FULLY_CONNECTED for the mve variant: each input row times four units at a time with
 * VMLADAVA.S8, weights interleaved on the host (mve_common.h, hb_mve_matvec). Bit-exact
 * with ref/fully_connected.c under the conditions hilbench/codegen/specialize.py checks. */
#include "hb_kernels.h"
#include "mve_common.h"

hb_status hb_fully_connected_s8_mve(const hb_fc_mve_params *p, const int8_t *input,
                                    int8_t *output) {
  const int32x4_t lo = vdupq_n_s32(p->act_min), hi = vdupq_n_s32(p->act_max);
  const int32_t blocks = p->depth >> 4;
  const mve_pred16_t tail = hb_mve_tail(p->depth);
  int32_t r;
  for (r = 0; r < p->rows; ++r) {
    hb_mve_matvec(input + r * p->depth, blocks, tail, p->weights, p->folded_bias, p->requant,
                  p->units, output + r * p->units, p->output_offset, lo, hi);
  }
  return HB_OK;
}

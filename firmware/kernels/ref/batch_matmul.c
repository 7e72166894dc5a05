/* BATCH_MATMUL, int8: per output batch one matrix product with both zero points, then
 * TFLM's requantization; operand layouts (adj_x, adj_y) and broadcasting are all steps. */
#include "hb_kernels.h"
#include "../hb_fixedpoint.h"

hb_status hb_batch_matmul_s8(const hb_batch_matmul_params *p, const int8_t *lhs,
                             const int8_t *rhs, int8_t *output) {
  int32_t b0, b1, b2, r, c, k;
  for (b0 = 0; b0 < p->batch[0]; ++b0) {
    for (b1 = 0; b1 < p->batch[1]; ++b1) {
      for (b2 = 0; b2 < p->batch[2]; ++b2) {
        const int8_t *a = lhs + b0 * p->lhs_batch_step[0] + b1 * p->lhs_batch_step[1] +
                          b2 * p->lhs_batch_step[2];
        const int8_t *b = rhs + b0 * p->rhs_batch_step[0] + b1 * p->rhs_batch_step[1] +
                          b2 * p->rhs_batch_step[2];
        for (r = 0; r < p->rows; ++r) {
          for (c = 0; c < p->cols; ++c) {
            const int8_t *x = a + r * p->lhs_row_step;
            const int8_t *y = b + c * p->rhs_col_step;
            int32_t acc = 0, out;
            for (k = 0; k < p->depth; ++k) {
              acc += (x[k * p->lhs_depth_step] + p->lhs_offset) *
                     (y[k * p->rhs_depth_step] + p->rhs_offset);
            }
            out = hb_mbqm(acc, p->multiplier, p->shift) + p->output_offset;
            *output++ = (int8_t)hb_clamp(out, -128, 127);
          }
        }
      }
    }
  }
  return HB_OK;
}

/* ADD and SUB share one loop (internal): both operands rescaled to TFLM's common
 * 2^20-scaled base, then added or subtracted, then requantized. SUB is a true subtraction:
 * negating b's multiplier is not bit-exact (hb_srdhm rounds ties upward, not
 * symmetrically). */
#ifndef HB_ADD_SUB_H
#define HB_ADD_SUB_H
#include "hb_kernels.h"
#include "../hb_fixedpoint.h"
#include "binary_index.h"

static inline hb_status hb_add_sub_s8(const hb_binary_params *p, const int8_t *a,
                                      const int8_t *b, int8_t *output, int32_t subtract) {
  int32_t index[HB_MAX_DIMS] = {0};
  int32_t a_pos = 0, b_pos = 0, i;
  const int32_t size = hb_binary_size(p);
  for (i = 0; i < size; ++i) {
    const int32_t a_val = (a[a_pos] + p->a_offset) * (1 << p->left_shift);
    const int32_t b_val = (b[b_pos] + p->b_offset) * (1 << p->left_shift);
    const int32_t a_scaled = hb_mbqm(a_val, p->a_multiplier, p->a_shift);
    const int32_t b_scaled = hb_mbqm(b_val, p->b_multiplier, p->b_shift);
    const int32_t raw = subtract ? hb_wrap_sub(a_scaled, b_scaled)
                                 : hb_wrap_add(a_scaled, b_scaled);
    const int32_t out = hb_mbqm(raw, p->output_multiplier, p->output_shift) + p->output_offset;
    output[i] = (int8_t)hb_clamp(out, p->act_min, p->act_max);
    hb_binary_next(p, index, &a_pos, &b_pos);
  }
  return HB_OK;
}
#endif

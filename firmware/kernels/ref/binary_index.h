/* Broadcast index walk shared by ADD and MUL (internal). */
#ifndef HB_BINARY_INDEX_H
#define HB_BINARY_INDEX_H
#include "hb_kernels.h"
#include "../hb_fixedpoint.h"

/* Advance a multi-index over out_dims; keeps the element offsets into a and b current. */
static inline void hb_binary_next(const hb_binary_params *p, int32_t *index, int32_t *a_pos,
                                  int32_t *b_pos) {
  int32_t d;
  for (d = p->rank - 1; d >= 0; --d) {
    index[d]++;
    *a_pos += p->a_stride[d];
    *b_pos += p->b_stride[d];
    if (index[d] < p->out_dims[d]) return;
    *a_pos -= p->a_stride[d] * p->out_dims[d];
    *b_pos -= p->b_stride[d] * p->out_dims[d];
    index[d] = 0;
  }
}

/* ADD's and SUB's arithmetic for one element (TFLM AddElementwise / SubElementwise, int8 and
 * int16), unclamped: both inputs rescaled to a common 2^left_shift-scaled base, added or
 * subtracted, scaled to the output. SUB is a true subtraction: negating b's multiplier is
 * not bit-exact (hb_srdhm rounds ties upward, not symmetrically). */
static inline int32_t hb_add_sub_element(const hb_binary_params *p, int32_t a, int32_t b,
                                         int32_t subtract) {
  const int32_t a_val = (a + p->a_offset) * (1 << p->left_shift);
  const int32_t b_val = (b + p->b_offset) * (1 << p->left_shift);
  const int32_t a_scaled = hb_mbqm(a_val, p->a_multiplier, p->a_shift);
  const int32_t b_scaled = hb_mbqm(b_val, p->b_multiplier, p->b_shift);
  const int32_t raw = subtract ? hb_wrap_sub(a_scaled, b_scaled)
                               : hb_wrap_add(a_scaled, b_scaled);
  return hb_mbqm(raw, p->output_multiplier, p->output_shift) + p->output_offset;
}

static inline int32_t hb_add_element(const hb_binary_params *p, int32_t a, int32_t b) {
  return hb_add_sub_element(p, a, b, 0);
}

static inline int32_t hb_binary_size(const hb_binary_params *p) {
  int32_t d, size = 1;
  for (d = 0; d < p->rank; ++d) size *= p->out_dims[d];
  return size;
}
#endif

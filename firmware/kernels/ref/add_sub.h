/* ADD and SUB, int8, share one loop (internal); the element arithmetic is
 * hb_add_sub_element (binary_index.h), which the int16 ADD uses too. */
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
    const int32_t out = hb_add_sub_element(p, a[a_pos], b[b_pos], subtract);
    output[i] = (int8_t)hb_clamp(out, p->act_min, p->act_max);
    hb_binary_next(p, index, &a_pos, &b_pos);
  }
  return HB_OK;
}
#endif

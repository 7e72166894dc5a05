/* ADD, int16 with broadcasting: TFLM's general-scale path (its int16 ADD never takes the
 * power-of-two path), both inputs rescaled to a common 2^15-scaled base. */
#include "hb_kernels.h"
#include "binary_index.h"

hb_status hb_add_s16(const hb_binary_params *p, const int16_t *a, const int16_t *b,
                     int16_t *output) {
  int32_t index[HB_MAX_DIMS] = {0};
  int32_t a_pos = 0, b_pos = 0, i;
  const int32_t size = hb_binary_size(p);
  for (i = 0; i < size; ++i) {
    const int32_t out = hb_add_element(p, a[a_pos], b[b_pos]);
    output[i] = (int16_t)hb_clamp(out, p->act_min, p->act_max);
    hb_binary_next(p, index, &a_pos, &b_pos);
  }
  return HB_OK;
}

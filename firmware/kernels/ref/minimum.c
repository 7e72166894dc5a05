/* MINIMUM, int8 with broadcasting: raw values compared, as TFLM does (no rescaling). */
#include "hb_kernels.h"
#include "binary_index.h"

hb_status hb_minimum_s8(const hb_binary_params *p, const int8_t *a, const int8_t *b,
                        int8_t *output) {
  int32_t index[HB_MAX_DIMS] = {0};
  int32_t a_pos = 0, b_pos = 0, i;
  const int32_t size = hb_binary_size(p);
  for (i = 0; i < size; ++i) {
    output[i] = a[a_pos] < b[b_pos] ? a[a_pos] : b[b_pos];
    hb_binary_next(p, index, &a_pos, &b_pos);
  }
  return HB_OK;
}

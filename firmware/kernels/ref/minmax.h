/* MAXIMUM and MINIMUM share one broadcast loop (internal): the raw int8 values compared,
 * as TFLM does (no rescaling; TFLM never reads the quantization of either op). */
#ifndef HB_MINMAX_H
#define HB_MINMAX_H
#include "hb_kernels.h"
#include "binary_index.h"

static inline hb_status hb_minmax_s8(const hb_binary_params *p, const int8_t *a,
                                     const int8_t *b, int8_t *output, int32_t take_max) {
  int32_t index[HB_MAX_DIMS] = {0};
  int32_t a_pos = 0, b_pos = 0, i;
  const int32_t size = hb_binary_size(p);
  for (i = 0; i < size; ++i) {
    const int8_t x = a[a_pos], y = b[b_pos];
    output[i] = (take_max ? x > y : x < y) ? x : y;
    hb_binary_next(p, index, &a_pos, &b_pos);
  }
  return HB_OK;
}
#endif

/* The tap walk shared by the TRANSPOSE_CONV kernels (internal). */
#ifndef HB_TRANSPOSE_WINDOW_H
#define HB_TRANSPOSE_WINDOW_H
#include <stdint.h>

/* The input row (or column) whose tap `k` lands on output row `out`, or -1: input i
 * reaches output i * stride - pad + k. */
static inline int32_t hb_transpose_source(int32_t out, int32_t pad, int32_t k, int32_t stride,
                                          int32_t size) {
  const int32_t t = out + pad - k;
  if (t < 0 || t % stride != 0 || t / stride >= size) return -1;
  return t / stride;
}
#endif

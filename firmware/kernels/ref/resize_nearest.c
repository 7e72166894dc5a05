/* RESIZE_NEAREST_NEIGHBOR, int8 NHWC: each output pixel copies the input pixel the host's
 * index tables name (TFLM's float rule, evaluated at code generation). */
#include "hb_kernels.h"

hb_status hb_resize_nearest_s8(const hb_resize_nearest_params *p, const int8_t *input,
                               int8_t *output) {
  const int32_t depth = p->input.c;
  const int32_t row_bytes = p->input.w * depth;
  int32_t n, y, x, c;
  for (n = 0; n < p->input.n; ++n) {
    const int8_t *image = input + n * p->input.h * row_bytes;
    for (y = 0; y < p->out_h; ++y) {
      const int8_t *row = image + p->rows[y] * row_bytes;
      for (x = 0; x < p->out_w; ++x) {
        const int8_t *pixel = row + p->cols[x] * depth;
        for (c = 0; c < depth; ++c) *output++ = pixel[c];
      }
    }
  }
  return HB_OK;
}

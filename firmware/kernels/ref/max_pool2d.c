/* MAX_POOL_2D, int8. */
#include "hb_kernels.h"
#include "../hb_fixedpoint.h"

hb_status hb_max_pool2d_s8(const hb_pool_params *p, const int8_t *input, int8_t *output) {
  const int32_t in_h = p->input.h, in_w = p->input.w, ch = p->input.c;
  int32_t b, oy, ox, c, y, x;
  for (b = 0; b < p->input.n; ++b) {
    const int8_t *in_b = input + b * in_h * in_w * ch;
    for (oy = 0; oy < p->output.h; ++oy) {
      const int32_t y0 = oy * p->stride_h - p->pad_h;
      const int32_t y_start = y0 < 0 ? 0 : y0;
      const int32_t y_end = (y0 + p->filter_h < in_h) ? y0 + p->filter_h : in_h;
      for (ox = 0; ox < p->output.w; ++ox) {
        const int32_t x0 = ox * p->stride_w - p->pad_w;
        const int32_t x_start = x0 < 0 ? 0 : x0;
        const int32_t x_end = (x0 + p->filter_w < in_w) ? x0 + p->filter_w : in_w;
        for (c = 0; c < ch; ++c) {
          int32_t best = -128;
          for (y = y_start; y < y_end; ++y) {
            for (x = x_start; x < x_end; ++x) {
              const int32_t v = in_b[(y * in_w + x) * ch + c];
              if (v > best) best = v;
            }
          }
          *output++ = (int8_t)hb_clamp(best, p->act_min, p->act_max);
        }
      }
    }
  }
  return HB_OK;
}

/* The input window of one pooling output, clipped to the image (internal). */
#ifndef HB_POOL_WINDOW_H
#define HB_POOL_WINDOW_H
#include "hb_kernels.h"

typedef struct {
  int32_t y_start, y_end, x_start, x_end;
} hb_pool_window;

static inline hb_pool_window hb_pool_window_at(const hb_pool_params *p, int32_t oy, int32_t ox) {
  hb_pool_window w;
  const int32_t y0 = oy * p->stride_h - p->pad_h;
  const int32_t x0 = ox * p->stride_w - p->pad_w;
  w.y_start = y0 < 0 ? 0 : y0;
  w.y_end = y0 + p->filter_h < p->input.h ? y0 + p->filter_h : p->input.h;
  w.x_start = x0 < 0 ? 0 : x0;
  w.x_end = x0 + p->filter_w < p->input.w ? x0 + p->filter_w : p->input.w;
  return w;
}
#endif

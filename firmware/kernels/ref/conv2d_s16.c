/* CONV_2D, int16 activations and int8 per-channel weights (TFLM ConvPerChannel, int16x8). */
#include "hb_kernels.h"
#include "s16_common.h"

hb_status hb_conv2d_s16(const hb_conv_s16_params *p, const int16_t *input, int16_t *output) {
  const int32_t in_h = p->input.h, in_w = p->input.w, in_c = p->input.c;
  const int32_t k_h = p->filter.h, k_w = p->filter.w;
  const int32_t out_h = p->output.h, out_w = p->output.w, out_c = p->output.c;
  int32_t b, oy, ox, oc, ky, kx, ic;
  for (b = 0; b < p->input.n; ++b) {
    const int16_t *in_b = input + b * in_h * in_w * in_c;
    for (oy = 0; oy < out_h; ++oy) {
      const int32_t y0 = oy * p->stride_h - p->pad_h;
      for (ox = 0; ox < out_w; ++ox) {
        const int32_t x0 = ox * p->stride_w - p->pad_w;
        for (oc = 0; oc < out_c; ++oc) {
          const int8_t *filt = p->filter_data + oc * k_h * k_w * in_c;
          int64_t acc = 0;  /* TFLM's int64 accumulator (wrapped to int32 for int32 bias) */
          for (ky = 0; ky < k_h; ++ky) {
            const int32_t y = y0 + ky * p->dilation_h;
            if (y < 0 || y >= in_h) continue;  /* padding contributes zero */
            for (kx = 0; kx < k_w; ++kx) {
              const int32_t x = x0 + kx * p->dilation_w;
              const int16_t *in_px;
              const int8_t *f_px;
              if (x < 0 || x >= in_w) continue;
              in_px = in_b + (y * in_w + x) * in_c;
              f_px = filt + (ky * k_w + kx) * in_c;
              for (ic = 0; ic < in_c; ++ic) acc += f_px[ic] * in_px[ic];
            }
          }
          *output++ = hb_requant_s16(acc, p->bias_64, p->bias, oc, p->multiplier[oc],
                                     p->shift[oc], p->act_min, p->act_max);
        }
      }
    }
  }
  return HB_OK;
}

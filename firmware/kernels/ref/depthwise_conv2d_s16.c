/* DEPTHWISE_CONV_2D, int16 activations and int8 per-channel weights, any depth multiplier
 * (TFLM DepthwiseConvPerChannel, int16x8; TFLM takes an int64 bias only). */
#include "hb_kernels.h"
#include "s16_common.h"

hb_status hb_depthwise_conv2d_s16(const hb_conv_s16_params *p, const int16_t *input,
                                  int16_t *output) {
  const int32_t in_h = p->input.h, in_w = p->input.w, in_c = p->input.c;
  const int32_t k_h = p->filter.h, k_w = p->filter.w;
  const int32_t out_h = p->output.h, out_w = p->output.w, out_c = p->output.c;
  const int32_t mult = p->depth_multiplier;
  int32_t b, oy, ox, oc, ky, kx;
  for (b = 0; b < p->input.n; ++b) {
    const int16_t *in_b = input + b * in_h * in_w * in_c;
    for (oy = 0; oy < out_h; ++oy) {
      const int32_t y0 = oy * p->stride_h - p->pad_h;
      for (ox = 0; ox < out_w; ++ox) {
        const int32_t x0 = ox * p->stride_w - p->pad_w;
        for (oc = 0; oc < out_c; ++oc) {
          const int32_t ic = oc / mult;
          int64_t acc = 0;
          for (ky = 0; ky < k_h; ++ky) {
            const int32_t y = y0 + ky * p->dilation_h;
            if (y < 0 || y >= in_h) continue;
            for (kx = 0; kx < k_w; ++kx) {
              const int32_t x = x0 + kx * p->dilation_w;
              if (x < 0 || x >= in_w) continue;
              acc += p->filter_data[(ky * k_w + kx) * out_c + oc] *
                     in_b[(y * in_w + x) * in_c + ic];
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

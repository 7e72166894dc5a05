/* TRANSPOSE_CONV, int16 activations and int8 per-channel weights, int64 bias (TFLM's
 * int16x8 TransposeConv with its int64 scratch accumulator), gathered as in
 * transpose_conv.c. */
#include "hb_kernels.h"
#include "s16_common.h"
#include "transpose_window.h"

hb_status hb_transpose_conv_s16(const hb_transpose_conv_params *p, const int16_t *input,
                                int16_t *output) {
  const int32_t in_h = p->input.h, in_w = p->input.w, in_c = p->input.c;
  const int32_t k_h = p->filter.h, k_w = p->filter.w;
  int32_t b, oy, ox, oc, ky, kx, ic;
  for (b = 0; b < p->input.n; ++b) {
    const int16_t *in_b = input + b * in_h * in_w * in_c;
    for (oy = 0; oy < p->output.h; ++oy) {
      for (ox = 0; ox < p->output.w; ++ox) {
        for (oc = 0; oc < p->output.c; ++oc) {
          int64_t acc = 0;
          for (ky = 0; ky < k_h; ++ky) {
            const int32_t iy = hb_transpose_source(oy, p->pad_h, ky, p->stride_h, in_h);
            if (iy < 0) continue;
            for (kx = 0; kx < k_w; ++kx) {
              const int32_t ix = hb_transpose_source(ox, p->pad_w, kx, p->stride_w, in_w);
              const int16_t *in_px;
              const int8_t *f_px;
              if (ix < 0) continue;
              in_px = in_b + (iy * in_w + ix) * in_c;
              f_px = p->filter_data + ((oc * k_h + ky) * k_w + kx) * in_c;
              for (ic = 0; ic < in_c; ++ic) acc += in_px[ic] * f_px[ic];
            }
          }
          *output++ = hb_requant_s16(acc, 1, p->bias, oc, p->multiplier[oc], p->shift[oc],
                                     p->act_min, p->act_max);
        }
      }
    }
  }
  return HB_OK;
}

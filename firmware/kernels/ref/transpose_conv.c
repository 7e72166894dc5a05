/* TRANSPOSE_CONV, int8 per-channel (TFLM reference_integer_ops::TransposeConv), gathered:
 * each output value sums the input values whose taps land on it (transpose_window.h). The
 * int32 sum wraps as TFLM's int32 scratch accumulator would; unsigned arithmetic keeps
 * that defined in C. */
#include "hb_kernels.h"
#include "../hb_fixedpoint.h"
#include "transpose_window.h"

hb_status hb_transpose_conv_s8(const hb_transpose_conv_params *p, const int8_t *input,
                               int8_t *output) {
  const int32_t in_h = p->input.h, in_w = p->input.w, in_c = p->input.c;
  const int32_t k_h = p->filter.h, k_w = p->filter.w;
  const int32_t *bias = (const int32_t *)p->bias;
  int32_t b, oy, ox, oc, ky, kx, ic;
  for (b = 0; b < p->input.n; ++b) {
    const int8_t *in_b = input + b * in_h * in_w * in_c;
    for (oy = 0; oy < p->output.h; ++oy) {
      for (ox = 0; ox < p->output.w; ++ox) {
        for (oc = 0; oc < p->output.c; ++oc) {
          uint32_t acc = 0;
          int32_t out;
          for (ky = 0; ky < k_h; ++ky) {
            const int32_t iy = hb_transpose_source(oy, p->pad_h, ky, p->stride_h, in_h);
            if (iy < 0) continue;
            for (kx = 0; kx < k_w; ++kx) {
              const int32_t ix = hb_transpose_source(ox, p->pad_w, kx, p->stride_w, in_w);
              const int8_t *in_px;
              const int8_t *f_px;
              if (ix < 0) continue;
              in_px = in_b + (iy * in_w + ix) * in_c;
              f_px = p->filter_data + ((oc * k_h + ky) * k_w + kx) * in_c;
              for (ic = 0; ic < in_c; ++ic) {
                acc += (uint32_t)((in_px[ic] + p->input_offset) * f_px[ic]);
              }
            }
          }
          if (bias) acc += (uint32_t)bias[oc];
          out = hb_mbqm((int32_t)acc, p->multiplier[oc], p->shift[oc]) + p->output_offset;
          *output++ = (int8_t)hb_clamp(out, p->act_min, p->act_max);
        }
      }
    }
  }
  return HB_OK;
}

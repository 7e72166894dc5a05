/* DEPTHWISE_CONV_2D 3x3, depth multiplier 1, for the mve variant: four channels per vector
 * (widening byte loads, 32-bit lanes), nine taps. Positions outside the image read a row
 * of pad values (the input zero point), which the folded bias cancels, so border and
 * interior pixels run the same loop. Bit-exact with ref/depthwise_conv2d.c under the
 * conditions hilbench/codegen/specialize.py checks. */
#include "hb_kernels.h"
#include "mve_common.h"

hb_status hb_depthwise_conv2d_3x3_s8_mve(const hb_dw3x3_mve_params *p, const int8_t *input,
                                         int8_t *output, void *scratch) {
  const int32_t in_h = p->input.h, in_w = p->input.w, ch = p->input.c;
  const int32x4_t lo = vdupq_n_s32(p->act_min), hi = vdupq_n_s32(p->act_max);
  const int32_t off = p->output_offset;
  int8_t *pad_row = (int8_t *)scratch;
  const int8_t *tap[9];
  int32_t b, oy, ox, c, ky, kx;
  for (c = 0; c < ch; ++c) pad_row[c] = (int8_t)p->pad_value;
  for (b = 0; b < p->input.n; ++b) {
    const int8_t *in_b = input + b * in_h * in_w * ch;
    for (oy = 0; oy < p->output.h; ++oy) {
      const int32_t y0 = oy * p->stride_h - p->pad_h;
      for (ox = 0; ox < p->output.w; ++ox) {
        const int32_t x0 = ox * p->stride_w - p->pad_w;
        const int8_t *w = p->weights;
        const int32_t *bias = p->folded_bias, *rq = p->requant;
        for (ky = 0; ky < 3; ++ky) {
          const int32_t y = y0 + ky;
          for (kx = 0; kx < 3; ++kx) {
            const int32_t x = x0 + kx;
            tap[3 * ky + kx] = (y < 0 || y >= in_h || x < 0 || x >= in_w)
                                   ? pad_row : in_b + (y * in_w + x) * ch;
          }
        }
        for (c = 0; c < ch; c += 4) {
          const mve_pred16_t pred = vctp32q((uint32_t)(ch - c));
          int32x4_t acc = vldrwq_s32(bias);
          int32_t t;
#pragma GCC unroll 9
          for (t = 0; t < 9; ++t) {
            acc = vaddq_s32(acc, vmulq_s32(vldrbq_z_s32(tap[t] + c, pred),
                                           vldrbq_s32(w + 4 * t)));
          }
          vstrbq_p_s32(output + c, hb_mve_requant(acc, rq, off, lo, hi), pred);
          w += 36;
          bias += 4;
          rq += 8;
        }
        output += ch;
      }
    }
  }
  return HB_OK;
}

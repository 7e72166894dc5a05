/* CONV_2D as a matrix product for the dsp variant: im2col into int16 columns, then a
 * 2 output channels x 2 pixels block with SMLAD. Bit-exact with ref/conv2d.c under the
 * conditions the code generator checks (hilbench/codegen/specialize.py). */
#include "hb_kernels.h"
#include "dsp_common.h"

/* Four int8 values as int16 in the order SXTB16 produces them, (x0, x2), (x1, x3), so
 * that the weights can be extended the same way and need no reordering. */
static inline void expand4(const int8_t *src, int32_t *dst) {
  const int32_t x = (int32_t)hb_ld32(src);
  dst[0] = __sxtb16(x);
  dst[1] = (int32_t)hb_sxtb16_ror8((uint32_t)x);
}

/* Position of element k of a column in the expanded order. */
static inline int32_t slot(int32_t k) {
  return (k & ~3) | ((k & 1) << 1) | ((k >> 1) & 1);
}

/* The receptive field of output pixel `pix` (flattened n, y, x) as one int16 column. */
static void im2col(const hb_conv_dsp_params *p, const int8_t *input, int32_t pix,
                   int16_t *col) {
  const int32_t in_h = p->input.h, in_w = p->input.w, in_c = p->input.c;
  const int32_t per_image = p->output.h * p->output.w;
  const int32_t b = pix / per_image, rest = pix - b * per_image;
  const int32_t oy = rest / p->output.w, ox = rest - oy * p->output.w;
  const int32_t y0 = oy * p->stride_h - p->pad_h, x0 = ox * p->stride_w - p->pad_w;
  const int8_t *in_b = input + b * in_h * in_w * in_c;
  const int16_t pad = (int16_t)p->pad_value;
  int32_t k = 0, ky, kx, c;
  if ((in_c & 3) == 0) {
    for (ky = 0; ky < p->kernel_h; ++ky) {
      const int32_t y = y0 + ky * p->dilation_h;
      for (kx = 0; kx < p->kernel_w; ++kx) {
        const int32_t x = x0 + kx * p->dilation_w;
        if (y < 0 || y >= in_h || x < 0 || x >= in_w) {
          for (c = 0; c < in_c; ++c) col[k++] = pad;
        } else {
          const int8_t *src = in_b + (y * in_w + x) * in_c;
          for (c = 0; c < in_c; c += 4, k += 4) expand4(src + c, (int32_t *)(col + k));
        }
      }
    }
  } else {
    for (ky = 0; ky < p->kernel_h; ++ky) {
      const int32_t y = y0 + ky * p->dilation_h;
      for (kx = 0; kx < p->kernel_w; ++kx) {
        const int32_t x = x0 + kx * p->dilation_w;
        if (y < 0 || y >= in_h || x < 0 || x >= in_w) {
          for (c = 0; c < in_c; ++c, ++k) col[slot(k)] = pad;
        } else {
          const int8_t *src = in_b + (y * in_w + x) * in_c;
          for (c = 0; c < in_c; ++c, ++k) col[slot(k)] = src[c];
        }
      }
    }
  }
  for (; k < p->row_length; ++k) col[slot(k)] = 0;  /* zero weights pad the row */
}

/* Two pixels' columns times every weight row pair; writes out0 and (if out1) out1. */
static void mat_mult(const hb_conv_dsp_params *p, const int16_t *col0, const int16_t *col1,
                     int8_t *out0, int8_t *out1) {
  const int32_t len = p->row_length, out_c = p->output.c;
  const int32_t off = p->output_offset, lo = p->act_min, hi = p->act_max;
  const int8_t *w0 = p->weights;
  const int32_t *bias = p->folded_bias, *rq = p->requant;
  int32_t oc;
  for (oc = 0; oc < out_c; oc += 2) {
    const int8_t *w1 = w0 + len;
    const int32_t *x0 = (const int32_t *)col0, *x1 = (const int32_t *)col1;
    int32_t a00 = bias[0], a01 = bias[1], a10 = a00, a11 = a01;
    int32_t k;
    for (k = len >> 2; k > 0; --k) {
      const int32_t wa = (int32_t)hb_ld32(w0), wb = (int32_t)hb_ld32(w1);
      const int32_t wa_e = __sxtb16(wa), wa_o = (int32_t)hb_sxtb16_ror8((uint32_t)wa);
      const int32_t wb_e = __sxtb16(wb), wb_o = (int32_t)hb_sxtb16_ror8((uint32_t)wb);
      int32_t xe = x0[0], xo = x0[1];
      a00 = __smlad(wa_e, xe, a00);
      a00 = __smlad(wa_o, xo, a00);
      a01 = __smlad(wb_e, xe, a01);
      a01 = __smlad(wb_o, xo, a01);
      xe = x1[0];
      xo = x1[1];
      a10 = __smlad(wa_e, xe, a10);
      a10 = __smlad(wa_o, xo, a10);
      a11 = __smlad(wb_e, xe, a11);
      a11 = __smlad(wb_o, xo, a11);
      w0 += 4;
      w1 += 4;
      x0 += 2;
      x1 += 2;
    }
    out0[oc] = (int8_t)hb_dsp_requant(a00, rq, off, lo, hi);
    if (out1) out1[oc] = (int8_t)hb_dsp_requant(a10, rq, off, lo, hi);
    if (oc + 1 < out_c) {
      out0[oc + 1] = (int8_t)hb_dsp_requant(a01, rq + 2, off, lo, hi);
      if (out1) out1[oc + 1] = (int8_t)hb_dsp_requant(a11, rq + 2, off, lo, hi);
    }
    w0 = w1;  /* both advanced by len in the loop: w1 now starts the next pair */
    bias += 2;
    rq += 4;
  }
}

hb_status hb_conv2d_s8_dsp(const hb_conv_dsp_params *p, const int8_t *input, int8_t *output,
                           void *scratch) {
  const int32_t pixels = p->output.n * p->output.h * p->output.w;
  const int32_t out_c = p->output.c;
  int16_t *col0 = (int16_t *)scratch, *col1 = col0 + p->row_length;
  int32_t pix;
  for (pix = 0; pix + 2 <= pixels; pix += 2) {
    im2col(p, input, pix, col0);
    im2col(p, input, pix + 1, col1);
    mat_mult(p, col0, col1, output + pix * out_c, output + (pix + 1) * out_c);
  }
  if (pix < pixels) {
    im2col(p, input, pix, col0);
    mat_mult(p, col0, col0, output + pix * out_c, 0);
  }
  return HB_OK;
}

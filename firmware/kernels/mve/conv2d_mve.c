/* CONV_2D as a matrix product for the mve variant: each output pixel's receptive field as
 * one int8 column (gathered into scratch, or read in place for a 1x1 kernel without
 * padding), times four output channels at a time with VMLADAVA.S8 (16 MACs each). The
 * input offset is folded into the bias on the host, and positions outside the image hold
 * the input zero point, whose contribution the folded bias cancels. Bit-exact with
 * ref/conv2d.c under the conditions hilbench/codegen/specialize.py checks. */
#include "hb_kernels.h"
#include "mve_common.h"


/* n >= 1 bytes from src to dst, 16 at a time, each under the predicate of the bytes left:
 * one load and one store for a kernel row of up to 16 bytes, and nothing read or written
 * past either end. */
HB_INLINE void copy_bytes(int8_t *dst, const int8_t *src, int32_t n) {
  do {
    const mve_pred16_t p = vctp8q((uint32_t)n);
    vstrbq_p_s8(dst, vldrbq_z_s8(src, p), p);
    src += 16;
    dst += 16;
    n -= 16;
  } while (n > 0);
}

/* n >= 0 bytes of pad (the pad value in every byte), 16 at a time under a predicate. */
HB_INLINE void fill_bytes(int8_t *dst, int8x16_t pad, int32_t n) {
  for (; n > 0; n -= 16, dst += 16) vstrbq_p_s8(dst, pad, vctp8q((uint32_t)n));
}

/* The receptive field of output pixel (b, oy, ox) into col, in OHWI order. Kept out of
 * line, and without GCC turning the short byte loops into memset/memcpy calls. */
__attribute__((noinline, optimize("Os", "no-tree-loop-distribute-patterns")))
static void im2col(const hb_conv_mve_params *p, const int8_t *in_b, int32_t oy, int32_t ox,
                   int8_t *col) {
  const int32_t in_h = p->input.h, in_w = p->input.w, in_c = p->input.c;
  const int32_t k_w = p->kernel_w, run = k_w * in_c;
  const int32_t y0 = oy * p->stride_h - p->pad_h, x0 = ox * p->stride_w - p->pad_w;
  const int8x16_t pad = vdupq_n_s8((int8_t)p->pad_value);
  /* with dilation_w 1, the part of a kernel row inside the image is one run of input */
  const int32_t x_lo = x0 < 0 ? 0 : x0, x_hi = x0 + k_w > in_w ? in_w : x0 + k_w;
  const int32_t left = (x_lo - x0) * in_c, middle = (x_hi - x_lo) * in_c;
  int32_t ky, kx;
  for (ky = 0; ky < p->kernel_h; ++ky, col += run) {
    const int32_t y = y0 + ky * p->dilation_h;
    const int8_t *row = in_b + y * in_w * in_c;
    if (y < 0 || y >= in_h) {
      fill_bytes(col, pad, run);
    } else if (p->dilation_w == 1) {
      if (middle <= 0) {
        fill_bytes(col, pad, run);
        continue;
      }
      fill_bytes(col, pad, left);
      copy_bytes(col + left, row + x_lo * in_c, middle);
      fill_bytes(col + left + middle, pad, run - left - middle);
    } else {
      for (kx = 0; kx < k_w; ++kx) {
        const int32_t x = x0 + kx * p->dilation_w;
        if (x < 0 || x >= in_w) fill_bytes(col + kx * in_c, pad, in_c);
        else copy_bytes(col + kx * in_c, row + x * in_c, in_c);
      }
    }
  }
}

hb_status hb_conv2d_s8_mve(const hb_conv_mve_params *p, const int8_t *input, int8_t *output,
                           void *scratch) {
  const int32_t in_size = p->input.h * p->input.w * p->input.c, out_c = p->output.c;
  const int32x4_t lo = vdupq_n_s32(p->act_min), hi = vdupq_n_s32(p->act_max);
  int8_t *col = (int8_t *)scratch;
  const int32_t blocks = (p->depth + 15) >> 4;
  /* in locals: the output's stores could alias p, and GCC would reload its fields */
  const int8_t *const weights = p->weights;
  const int32_t *const folded_bias = p->folded_bias, *const requant = p->requant;
  const int32_t out_h = p->output.h, out_w = p->output.w, off = p->output_offset;
  const int32_t in_w = p->input.w, in_c = p->input.c, k_h = p->kernel_h;
  const int32_t s_h = p->stride_h, s_w = p->stride_w, pad_h = p->pad_h, pad_w = p->pad_w;
  const int32_t run = p->kernel_w * in_c, rstep = p->dilation_h * in_w * in_c;
  /* the output columns ox_lo .. ox_hi - 1 and rows whose receptive field lies inside the
   * image, with dilation_w 1: each kernel row is copied as one run, no padding */
  int32_t ox_lo = 0, ox_hi = 0, oy_lo = 0, oy_hi = 0;
  const mve_pred16_t row_pred = vctp8q((uint32_t)run);
  int32_t b, oy, ox, ky;
  if (p->dilation_w == 1) {
    ox_lo = (p->pad_w + p->stride_w - 1) / p->stride_w;
    const int32_t x_room = in_w - p->kernel_w + p->pad_w;
    const int32_t y_room = p->input.h - 1 - (k_h - 1) * p->dilation_h + p->pad_h;
    ox_hi = x_room < 0 ? 0 : x_room / p->stride_w + 1;
    oy_lo = (p->pad_h + p->stride_h - 1) / p->stride_h;
    oy_hi = y_room < 0 ? 0 : y_room / p->stride_h + 1;
  }
  fill_bytes(col + p->depth, vdupq_n_s8(0), (blocks << 4) - p->depth);  /* never rewritten */
  for (b = 0; b < p->output.n; ++b) {
    const int8_t *in_b = input + b * in_size;
    for (oy = 0; oy < out_h; ++oy) {
      const int32_t rows_in = oy >= oy_lo && oy < oy_hi;
      for (ox = 0; ox < out_w; ++ox) {
        if (rows_in && ox >= ox_lo && ox < ox_hi) {
          const int8_t *src = in_b + ((oy * s_h - pad_h) * in_w + ox * s_w - pad_w) * in_c;
          int8_t *dst = col;
          if (run <= 16) {  /* one predicated load and store a row */
            for (ky = 0; ky < k_h; ++ky, src += rstep, dst += run)
              vstrbq_p_s8(dst, vldrbq_z_s8(src, row_pred), row_pred);
          } else {
            for (ky = 0; ky < k_h; ++ky, src += rstep, dst += run) copy_bytes(dst, src, run);
          }
        } else {
          im2col(p, in_b, oy, ox, col);
        }
        hb_mve_matvec(col, blocks, 0, weights, folded_bias, requant, out_c, output, off, lo,
                      hi);
        output += out_c;
      }
    }
  }
  return HB_OK;
}

/* A 1x1 kernel without padding: each output pixel's column is the input pixel itself. Two
 * pixels at a time (hb_mve_matvec2_short) when a column is 16 values or less, of a row or,
 * with stride 1, of the whole image; GCC spills the eight accumulators of longer columns. */
hb_status hb_conv2d_1x1_s8_mve(const hb_conv_mve_params *p, const int8_t *input,
                               int8_t *output) {
  const int32_t in_w = p->input.w, in_c = p->input.c, out_c = p->output.c;
  const int32_t in_size = p->input.h * in_w * in_c;
  const int32x4_t lo = vdupq_n_s32(p->act_min), hi = vdupq_n_s32(p->act_max);
  const int32_t blocks = in_c >> 4;
  const mve_pred16_t tail = hb_mve_tail(in_c);
  const int32_t dense = p->stride_h == 1 && p->stride_w == 1;
  const int32_t rows = dense ? 1 : p->output.h;
  const int32_t cols = dense ? p->output.h * p->output.w : p->output.w;
  const int32_t step = p->stride_w * in_c, row_step = p->stride_h * in_w * in_c;
  /* in locals: the output's stores could alias p, and GCC would reload its fields */
  const int8_t *const weights = p->weights;
  const int32_t *const folded_bias = p->folded_bias, *const requant = p->requant;
  const int32_t off = p->output_offset;
  const int32_t pairs = in_c <= 16 ? cols : 0;
  const mve_pred16_t lanes = vctp8q((uint32_t)in_c);
  int32_t b, oy, ox;
  for (b = 0; b < p->output.n; ++b) {
    const int8_t *in_b = input + b * in_size;
    for (oy = 0; oy < rows; ++oy) {
      const int8_t *x = in_b + oy * row_step;
      for (ox = 0; ox + 2 <= pairs; ox += 2, x += 2 * step) {
        hb_mve_matvec2_short(x, x + step, lanes, weights, folded_bias, requant, out_c, output,
                             output + out_c, off, lo, hi);
        output += 2 * out_c;
      }
      for (; ox < cols; ++ox, x += step) {
        hb_mve_matvec(x, blocks, tail, weights, folded_bias, requant, out_c, output, off, lo,
                      hi);
        output += out_c;
      }
    }
  }
  return HB_OK;
}

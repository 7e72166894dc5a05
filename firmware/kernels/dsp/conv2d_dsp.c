/* CONV_2D as a matrix product for the dsp variant: im2col into int16 columns, then a
 * 2 output channels x 2 pixels block with SMLAD. The _1col entry points take one pixel at
 * a time (one column: half the scratch, ~1.3x the instructions of the product), for layers
 * whose two columns would be a large share of the arena (the host decides). Bit-exact with
 * ref/conv2d.c under the conditions the code generator checks
 * (hilbench/codegen/specialize.py). */
#include "hb_kernels.h"
#include "dsp_common.h"

/* Four int8 values as int16 in the order SXTB16 produces them, (x0, x2), (x1, x3), so
 * that the weights can be extended the same way and need no reordering. */
static inline void expand4(const int8_t *src, int32_t *dst) {
  const int32_t x = (int32_t)hb_ld32(src);
  dst[0] = __sxtb16(x);
  dst[1] = (int32_t)hb_sxtb16_ror8((uint32_t)x);
}

/* The columns of a block are interleaved by groups of four elements: group g of column j
 * (0 .. cols - 1) is at halfwords 4 * (cols * g + j) .., in the order of expand4(). `cols`
 * (2, or 1 for the _1col kernels) is a constant wherever these are inlined. */
static inline int32_t slot(int32_t k, int32_t cols) {
  return (k & ~3) * cols | ((k & 1) << 1) | ((k >> 1) & 1);
}

/* Elements k .. k + n - 1 of a column from n contiguous int8 values; k and n multiples of 4. */
static inline void expand_run(const int8_t *src, int16_t *col, int32_t k, int32_t n,
                              int32_t cols) {
  int32_t *dst = (int32_t *)(col + cols * k);
  for (; n > 0; n -= 4, src += 4, dst += 2 * cols) expand4(src, dst);
}

static inline void pad_run(int16_t *col, int32_t k, int32_t n, int16_t pad, int32_t cols) {
  for (; n > 0; --n, ++k) col[slot(k, cols)] = pad;
}

static inline void copy_bytes(int8_t *dst, const int8_t *src, int32_t n) {
  for (; n > 0; --n) *dst++ = *src++;
}

static inline void fill_bytes(int8_t *dst, int8_t value, int32_t n) {
  for (; n > 0; --n) *dst++ = value;
}

/* The receptive field of output pixel `pix` (flattened n, y, x) as column `col` of a block.
 * A kernel row inside the image is one contiguous run of input when dilation_w is 1. When
 * kernel_w * input.c is a multiple of 4, rows (or, at the image border, taps) expand
 * straight into the column, a word at a time where input.c allows; otherwise the field is
 * first gathered as int8 into `stage` (row_length bytes), then expanded a word at a time. */
static inline __attribute__((always_inline)) void im2col_cols(
    const hb_conv_dsp_params *p, const int8_t *input, int32_t pix, int16_t *col,
    int8_t *stage, int32_t cols) {
  const int32_t in_h = p->input.h, in_w = p->input.w, in_c = p->input.c;
  const int32_t k_w = p->kernel_w, run = k_w * in_c;
  const int32_t per_image = p->output.h * p->output.w;
  const int32_t b = pix / per_image, rest = pix - b * per_image;
  const int32_t oy = rest / p->output.w, ox = rest - oy * p->output.w;
  const int32_t y0 = oy * p->stride_h - p->pad_h, x0 = ox * p->stride_w - p->pad_w;
  const int8_t *in_b = input + b * in_h * in_w * in_c;
  const int whole_rows = p->dilation_w == 1 && x0 >= 0 && x0 + k_w - 1 < in_w;
  const int staged = (run & 3) != 0;
  int32_t k = 0, ky, kx, c;
  for (ky = 0; ky < p->kernel_h; ++ky, k += run) {
    const int32_t y = y0 + ky * p->dilation_h;
    const int8_t *row = in_b + y * in_w * in_c;
    if (staged) {
      if (y < 0 || y >= in_h) {
        fill_bytes(stage + k, (int8_t)p->pad_value, run);
      } else if (whole_rows) {
        copy_bytes(stage + k, row + x0 * in_c, run);
      } else {
        for (kx = 0; kx < k_w; ++kx) {
          const int32_t x = x0 + kx * p->dilation_w;
          if (x < 0 || x >= in_w) fill_bytes(stage + k + kx * in_c, (int8_t)p->pad_value, in_c);
          else copy_bytes(stage + k + kx * in_c, row + x * in_c, in_c);
        }
      }
    } else if (y < 0 || y >= in_h) {
      pad_run(col, k, run, (int16_t)p->pad_value, cols);
    } else if (whole_rows) {
      expand_run(row + x0 * in_c, col, k, run, cols);
    } else {
      for (kx = 0; kx < k_w; ++kx) {
        const int32_t x = x0 + kx * p->dilation_w, kk = k + kx * in_c;
        if (x < 0 || x >= in_w) pad_run(col, kk, in_c, (int16_t)p->pad_value, cols);
        else if ((in_c & 3) == 0) expand_run(row + x * in_c, col, kk, in_c, cols);
        else for (c = 0; c < in_c; ++c) col[slot(kk + c, cols)] = row[x * in_c + c];
      }
    }
  }
  if (staged) {
    fill_bytes(stage + k, 0, p->row_length - k);  /* zero weights pad the row */
    expand_run(stage, col, 0, p->row_length, cols);
  } else {
    pad_run(col, k, p->row_length - k, 0, cols);
  }
}

/* Out of line, once per column count a model uses. */
static void im2col(const hb_conv_dsp_params *p, const int8_t *input, int32_t pix,
                   int16_t *col, int8_t *stage) {
  im2col_cols(p, input, pix, col, stage, 2);
}

static void im2col_1col(const hb_conv_dsp_params *p, const int8_t *input, int32_t pix,
                        int16_t *col, int8_t *stage) {
  im2col_cols(p, input, pix, col, stage, 1);
}

#define HB_INLINE static inline __attribute__((always_inline))

/* One group of four values: w[0..1] are the two rows' words, x[0..3] the two columns'. */
#define HB_DOT_GROUP(w, x)                                          \
  do {                                                              \
    int32_t wa = (w)[0], wb = (w)[1];                               \
    const int32_t wa_e = __sxtb16(wa), wb_e = __sxtb16(wb);         \
    int32_t xe = (x)[0], xo = (x)[1];                               \
    wa = (int32_t)hb_sxtb16_ror8((uint32_t)wa);                     \
    wb = (int32_t)hb_sxtb16_ror8((uint32_t)wb);                     \
    a00 = __smlad(wa_e, xe, a00);                                   \
    a00 = __smlad(wa, xo, a00);                                     \
    a01 = __smlad(wb_e, xe, a01);                                   \
    a01 = __smlad(wb, xo, a01);                                     \
    xe = (x)[2];                                                    \
    xo = (x)[3];                                                    \
    a10 = __smlad(wa_e, xe, a10);                                   \
    a10 = __smlad(wa, xo, a10);                                     \
    a11 = __smlad(wb_e, xe, a11);                                   \
    a11 = __smlad(wb, xo, a11);                                     \
  } while (0)

/* The passes of a dot product over `groups` (even: row_length is a multiple of 8) groups
 * of four values of a pair of weight rows and `cols` interleaved columns: four groups per
 * pass, then two. */
#define HB_DOT_PASSES(group, cols)                                  \
  do {                                                              \
    for (n = groups >> 2; n > 0; --n) {                             \
      group(w, x);                                                  \
      group(w + 2, x + 2 * (cols));                                 \
      group(w + 4, x + 4 * (cols));                                 \
      group(w + 6, x + 6 * (cols));                                 \
      w += 8;                                                       \
      x += 8 * (cols);                                              \
    }                                                               \
    if (groups & 2) {                                               \
      group(w, x);                                                  \
      group(w + 2, x + 2 * (cols));                                 \
    }                                                               \
  } while (0)

/* Two interleaved columns times one interleaved pair of weight rows: acc[2 * px + row]. */
HB_INLINE void dot_2x2(const int32_t *w, const int32_t *x, int32_t groups, int32_t *acc) {
  int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3];
  int32_t n;
  HB_DOT_PASSES(HB_DOT_GROUP, 2);
  acc[0] = a00;
  acc[1] = a01;
  acc[2] = a10;
  acc[3] = a11;
}

/* One group of four values of one column: w[0..1] the two rows' words, x[0..1] the column's. */
#define HB_DOT_GROUP_1COL(w, x)                                     \
  do {                                                              \
    int32_t wa = (w)[0], wb = (w)[1];                               \
    const int32_t xe = (x)[0], xo = (x)[1];                         \
    a0 = __smlad(__sxtb16(wa), xe, a0);                             \
    a1 = __smlad(__sxtb16(wb), xe, a1);                             \
    wa = (int32_t)hb_sxtb16_ror8((uint32_t)wa);                     \
    wb = (int32_t)hb_sxtb16_ror8((uint32_t)wb);                     \
    a0 = __smlad(wa, xo, a0);                                       \
    a1 = __smlad(wb, xo, a1);                                       \
  } while (0)

/* One column times one interleaved pair of weight rows: acc[row]. */
HB_INLINE void dot_2x1(const int32_t *w, const int32_t *x, int32_t groups, int32_t *acc) {
  int32_t a0 = acc[0], a1 = acc[1];
  int32_t n;
  HB_DOT_PASSES(HB_DOT_GROUP_1COL, 1);
  acc[0] = a0;
  acc[1] = a1;
}

/* hb_dsp_requant with the clamp of a full int8 range as one SSAT when `full`. */
HB_INLINE int8_t requant(int32_t acc, int32_t m, int32_t pre, int32_t k, int32_t lo,
                         int32_t hi, int full) {
  int32_t v = hb_smmulr(acc * 2, m);
  v += v >> 31;
  v = (v >> pre) + k;  /* k = 2 * output offset + 1: the rounding and the offset */
  if (full) return (int8_t)hb_ssat8_asr1(v);
  v >>= 1;
  v = v < lo ? lo : v;
  return (int8_t)(v > hi ? hi : v);
}

/* A block of `cols` (2, or 1 for the _1col kernels) columns times every pair of weight rows
 * (interleaved on the host by groups of four: row 2q's, then row 2q+1's); output pixel j's
 * channels go to out_j (out1 may equal out0 when both columns hold the same pixel; unused
 * with one column). An odd last channel comes from a zero-padded pair whose second row is
 * dropped. */
HB_INLINE void mat_mult(const hb_conv_dsp_params *p, const int16_t *block, int8_t *out0,
                        int8_t *out1, int full, int32_t cols) {
  const int32_t groups = p->row_length >> 2, out_c = p->output.c;
  const int32_t k = 2 * p->output_offset + 1, lo = p->act_min, hi = p->act_max;
  const int32_t *w = (const int32_t *)p->weights;
  const int32_t *bias = p->folded_bias, *rq = p->requant;
  const int32_t *x = (const int32_t *)block;
  int32_t q, acc[4];
  for (q = (out_c + 1) >> 1; q > 0; --q) {
    acc[0] = acc[2] = bias[0];
    acc[1] = acc[3] = bias[1];
    if (cols == 2) dot_2x2(w, x, groups, acc);
    else dot_2x1(w, x, groups, acc);
    {
      /* all before any store: int8 stores may alias the parameters, which would make the
       * compiler reload them (with one column, r10 and r11 are dead code) */
      const int32_t m0 = rq[0], e0 = rq[1], m1 = rq[2], e1 = rq[3];
      const int8_t r00 = requant(acc[0], m0, e0, k, lo, hi, full);
      const int8_t r10 = requant(acc[2], m0, e0, k, lo, hi, full);
      const int8_t r01 = requant(acc[1], m1, e1, k, lo, hi, full);
      const int8_t r11 = requant(acc[3], m1, e1, k, lo, hi, full);
      out0[0] = r00;
      if (cols == 2) out1[0] = r10;
      if (q > 1 || (out_c & 1) == 0) {
        out0[1] = r01;
        if (cols == 2) out1[1] = r11;
      }
    }
    w += 2 * groups;
    bias += 2;
    rq += 4;
    out0 += 2;
    out1 += 2;
  }
}

/* Outside GCC's first scheduling pass, which would hoist loads and spill accumulators, and
 * without store merging, whose packing of int8 results into a word costs more than byte
 * stores. */
#define HB_NO_SCHED1 __attribute__((optimize("no-schedule-insns", "no-store-merging")))

HB_NO_SCHED1 static void mat_mult_full(const hb_conv_dsp_params *p, const int16_t *block,
                                       int8_t *out0, int8_t *out1) {
  mat_mult(p, block, out0, out1, 1, 2);
}

HB_NO_SCHED1 static void mat_mult_clamped(const hb_conv_dsp_params *p, const int16_t *block,
                                          int8_t *out0, int8_t *out1) {
  mat_mult(p, block, out0, out1, 0, 2);
}

typedef void (*block_fn)(const hb_conv_dsp_params *, const int16_t *, int8_t *, int8_t *);

HB_INLINE void conv(const hb_conv_dsp_params *p, const int8_t *input, int8_t *output,
                    void *scratch, block_fn block_out) {
  const int32_t pixels = p->output.n * p->output.h * p->output.w;
  const int32_t out_c = p->output.c;
  int16_t *block = (int16_t *)scratch;
  int8_t *stage = (int8_t *)(block + 2 * p->row_length);
  int32_t pix;
  for (pix = 0; pix + 2 <= pixels; pix += 2) {
    im2col(p, input, pix, block, stage);
    im2col(p, input, pix + 1, block + 4, stage);
    block_out(p, block, output + pix * out_c, output + (pix + 1) * out_c);
  }
  if (pix < pixels) {  /* an odd last pixel: the same column twice, written twice */
    im2col(p, input, pix, block, stage);
    im2col(p, input, pix, block + 4, stage);
    block_out(p, block, output + pix * out_c, output + pix * out_c);
  }
}

HB_INLINE void conv_1col(const hb_conv_dsp_params *p, const int8_t *input, int8_t *output,
                         void *scratch, int full) {
  const int32_t pixels = p->output.n * p->output.h * p->output.w;
  int16_t *block = (int16_t *)scratch;
  int8_t *stage = (int8_t *)(block + p->row_length);
  int32_t pix;
  for (pix = 0; pix < pixels; ++pix, output += p->output.c) {
    im2col_1col(p, input, pix, block, stage);
    mat_mult(p, block, output, output, full, 1);
  }
}

/* Entry points chosen by the code generator, so a model links only what it uses. */
hb_status hb_conv2d_s8_dsp(const hb_conv_dsp_params *p, const int8_t *input, int8_t *output,
                           void *scratch) {
  conv(p, input, output, scratch, mat_mult_clamped);
  return HB_OK;
}

/* The same for act_min -128 and act_max 127: the clamp is one SSAT. */
hb_status hb_conv2d_s8_dsp_full(const hb_conv_dsp_params *p, const int8_t *input,
                                int8_t *output, void *scratch) {
  conv(p, input, output, scratch, mat_mult_full);
  return HB_OK;
}

/* One pixel at a time. scratch: 2 * row_length bytes (one int16 column), plus row_length
 * (the staging row) when kernel_w * input.c is not a multiple of 4. */
HB_NO_SCHED1
hb_status hb_conv2d_s8_dsp_1col(const hb_conv_dsp_params *p, const int8_t *input,
                                int8_t *output, void *scratch) {
  conv_1col(p, input, output, scratch, 0);
  return HB_OK;
}

HB_NO_SCHED1
hb_status hb_conv2d_s8_dsp_1col_full(const hb_conv_dsp_params *p, const int8_t *input,
                                     int8_t *output, void *scratch) {
  conv_1col(p, input, output, scratch, 1);
  return HB_OK;
}

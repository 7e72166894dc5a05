/* DEPTHWISE_CONV_2D 3x3, depth multiplier 1, for the mve variant: eight channels per pass,
 * widened to int16 lanes as they are loaded. Two taps' products are added in int16 (exact:
 * the host checked that no weight is -128, so a product is at most 128 * 127 in magnitude
 * and two at most 32512), then widened into two int32 accumulators that hold the group's
 * even channels {0,2,4,6} (VMOVLB) and odd channels {1,3,5,7} (VMOVLT). Bias and
 * requantization are laid out on the host in that order, and VMOVNB/VMOVNT interleave the
 * results back. Positions outside the image read a row of pad values (the input zero
 * point), which the folded bias cancels, so border and interior pixels run the same loop.
 * Bit-exact with ref/depthwise_conv2d.c under the conditions
 * hilbench/codegen/specialize.py checks. */
#include "hb_kernels.h"
#include "mve_common.h"

/* Taps t and t + 1 of the group at channel c, into ev and od. */
#define HB_DW_PAIR(t)                                                           \
  do {                                                                          \
    int16x8_t s = vmulq_s16(HB_DW_X(t), vldrbq_s16(w + 8 * (t)));               \
    s = vaddq_s16(s, vmulq_s16(HB_DW_X((t) + 1), vldrbq_s16(w + 8 * (t) + 8))); \
    ev = vaddq_s32(ev, vmovlbq_s16(s));                                         \
    od = vaddq_s32(od, vmovltq_s16(s));                                         \
    HB_KEEP(ev);                                                                \
    HB_KEEP(od);                                                                \
  } while (0)

/* An empty asm that makes the sum exist here: GCC would otherwise regroup the additions
 * and keep every term alive, spilling (there are eight Q registers). */
#define HB_KEEP(v) __asm__("" : "+w"(v))

/* One group of 8 channels of one output pixel; in a last partial group, `pred` selects
 * the channels that exist. Tap t is read at tap[t] + c or, for an interior pixel when the
 * channels are whole groups (`direct`),
 * straight from its top-left input `at`, rows rs bytes apart. */
HB_INLINE void group(const int8_t *const *tap, const int8_t *at, int32_t ch, int32_t rs,
                     int direct, int32_t c, const int8_t *w, const int32_t *bias,
                     const int32_t *rq, int8_t *out, int32_t off, int32x4_t lo, int32x4_t hi,
                     int partial, mve_pred16_t pred) {
  int32x4_t ev = vldrwq_s32(bias), od = vldrwq_s32(bias + 4);
  int16x8_t r;
#define HB_DW_A(t) (direct ? at + c + ((t) / 3) * rs + ((t) % 3) * ch : tap[t] + c)
#define HB_DW_X(t) (partial ? vldrbq_z_s16(HB_DW_A(t), pred) : vldrbq_s16(HB_DW_A(t)))
  HB_DW_PAIR(0);
  HB_DW_PAIR(2);
  HB_DW_PAIR(4);
  HB_DW_PAIR(6);
  {
    const int16x8_t s = vmulq_s16(HB_DW_X(8), vldrbq_s16(w + 64));
    ev = vaddq_s32(ev, vmovlbq_s16(s));
    od = vaddq_s32(od, vmovltq_s16(s));
  }
#undef HB_DW_X
#undef HB_DW_A
  ev = hb_mve_requant(ev, rq, off, lo, hi);
  od = hb_mve_requant(od, rq + 8, off, lo, hi);
  r = vmovntq_s32(vmovnbq_s32(vreinterpretq_s16_s32(ev), ev), od);
  if (partial) vstrbq_p_s16(out, r, pred);
  else vstrbq_s16(out, r);
}

/* Outside GCC's first scheduling pass, which would hoist the loads and spill (there are
 * eight Q registers). */
__attribute__((optimize("no-schedule-insns")))
hb_status hb_depthwise_conv2d_3x3_s8_mve(const hb_dw3x3_mve_params *p, const int8_t *input,
                                         int8_t *output, void *scratch) {
  const int32_t in_h = p->input.h, in_w = p->input.w, ch = p->input.c;
  const int32x4_t lo = vdupq_n_s32(p->act_min), hi = vdupq_n_s32(p->act_max);
  const int32_t off = p->output_offset, whole = ch & ~7;
  const mve_pred16_t last = vctp16q((uint32_t)(ch & 7));
  int8_t *pad_row = (int8_t *)scratch;
  const int32_t rs = in_w * ch;
  /* in locals: the output's stores could alias p, and GCC would reload its fields */
  const int32_t out_h = p->output.h, out_w = p->output.w, s_h = p->stride_h, s_w = p->stride_w;
  const int32_t pad_h = p->pad_h, pad_w = p->pad_w;
  const int8_t *const weights = p->weights;
  const int32_t *const folded_bias = p->folded_bias, *const requant = p->requant;
  const int8_t *tap[9];
  int32_t b, oy, ox, c, ky, kx;
  for (c = 0; c < ch; ++c) pad_row[c] = (int8_t)p->pad_value;
  for (b = 0; b < p->input.n; ++b) {
    const int8_t *in_b = input + b * in_h * in_w * ch;
    for (oy = 0; oy < out_h; ++oy) {
      const int32_t y0 = oy * s_h - pad_h;
      for (ox = 0; ox < out_w; ++ox) {
        const int32_t x0 = ox * s_w - pad_w;
        const int8_t *w = weights;
        const int32_t *bias = folded_bias, *rq = requant;
        if (whole == ch && y0 >= 0 && y0 + 3 <= in_h && x0 >= 0 && x0 + 3 <= in_w) {
          const int8_t *corner = in_b + (y0 * in_w + x0) * ch;
          for (c = 0; c < whole; c += 8) {
            group(tap, corner, ch, rs, 1, c, w, bias, rq, output + c, off, lo, hi, 0, 0xffff);
            w += 72;
            bias += 8;
            rq += 16;
          }
        } else {  /* border pixels, and every pixel of a partial last group */
          for (ky = 0; ky < 3; ++ky) {
            const int32_t y = y0 + ky;
            for (kx = 0; kx < 3; ++kx) {
              const int32_t x = x0 + kx;
              tap[3 * ky + kx] = (y < 0 || y >= in_h || x < 0 || x >= in_w)
                                     ? pad_row : in_b + (y * in_w + x) * ch;
            }
          }
          for (c = 0; c < whole; c += 8) {
            group(tap, 0, 0, 0, 0, c, w, bias, rq, output + c, off, lo, hi, 0, 0xffff);
            w += 72;
            bias += 8;
            rq += 16;
          }
          if (c < ch) group(tap, 0, 0, 0, 0, c, w, bias, rq, output + c, off, lo, hi, 1, last);
        }
        output += ch;
      }
    }
  }
  return HB_OK;
}

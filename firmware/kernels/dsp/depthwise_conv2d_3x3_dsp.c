/* DEPTHWISE_CONV_2D 3x3, depth multiplier 1, for the dsp variant: four channels per word,
 * SMLABB/SMLATT on SXTB16-extended halves. Positions outside the image read a row of pad
 * values (the input zero point), which the folded bias turns into zero contributions, so
 * border and interior pixels run the same loop and nothing divides in it. Bit-exact with
 * ref/depthwise_conv2d.c under the conditions hilbench/codegen/specialize.py checks. */
#include "hb_kernels.h"
#include "dsp_common.h"

#define HB_INLINE static inline __attribute__((always_inline))

/* hb_dsp_requant with the clamp of a full int8 range as one SSAT when `full`. */
HB_INLINE int8_t requant(int32_t acc, const int32_t *rq, int32_t k, int32_t lo, int32_t hi,
                         int full) {
  int32_t v = hb_smmulr(acc * 2, rq[0]);
  v += v >> 31;
  v = (v >> rq[1]) + k;  /* k = 2 * output offset + 1: the rounding and the offset */
  if (full) return (int8_t)hb_ssat8_asr1(v);
  v >>= 1;
  v = v < lo ? lo : v;
  return (int8_t)(v > hi ? hi : v);
}

/* The four results of a group with the full int8 clamp: per channel {multiplier,
 * pre_shift} by LDRD, requant() as six instructions, then a byte store; rq and out advance. */
#define HB_RQ1(a)                                          \
  "ldrd %[m], %[e], [%[rq]], #8\n\t"                       \
  "lsl %[" a "], %[" a "], #1\n\t"                         \
  "smmulr %[" a "], %[" a "], %[m]\n\t"                    \
  "add %[" a "], %[" a "], %[" a "], asr #31\n\t"          \
  "asr %[" a "], %[" a "], %[e]\n\t"                       \
  "add %[" a "], %[" a "], %[k]\n\t"                       \
  "ssat %[" a "], #8, %[" a "], asr #1\n\t"                \
  "strb %[" a "], [%[out]], #1\n\t"

HB_INLINE void requant4_full(int32_t a0, int32_t a1, int32_t a2, int32_t a3,
                             const int32_t **rq, int8_t **out, int32_t k) {
  int32_t m, e;
  __asm__ volatile(HB_RQ1("a0") HB_RQ1("a1") HB_RQ1("a2") HB_RQ1("a3")
                   : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3),
                     [m] "=&r"(m), [e] "=&r"(e), [rq] "+r"(*rq), [out] "+r"(*out)
                   : [k] "r"(k)
                   : "memory");
}

/* The four results of a group: the assembly above for the full int8 clamp, else requant()
 * per channel, all four before any store (int8 stores may alias the parameters). */
HB_INLINE void requant4(int32_t a0, int32_t a1, int32_t a2, int32_t a3, const int32_t **rq,
                        int8_t **out, int32_t k, int32_t lo, int32_t hi, int full) {
  if (full) {
    requant4_full(a0, a1, a2, a3, rq, out, k);
  } else {
    const int8_t v0 = requant(a0, *rq, k, lo, hi, 0);
    const int8_t v1 = requant(a1, *rq + 2, k, lo, hi, 0);
    const int8_t v2 = requant(a2, *rq + 4, k, lo, hi, 0);
    const int8_t v3 = requant(a3, *rq + 6, k, lo, hi, 0);
    (*out)[0] = v0;
    (*out)[1] = v1;
    (*out)[2] = v2;
    (*out)[3] = v3;
    *out += 4;
    *rq += 8;
  }
}

/* One output pixel's channels, four at a time, from its nine tap rows. */
HB_INLINE void pixel(const hb_dw3x3_dsp_params *p, const int8_t *const *tap, int8_t *output,
                     int full) {
  const int32_t ch = p->input.c;
  const int32_t k = 2 * p->output_offset + 1, lo = p->act_min, hi = p->act_max;
  const int32_t *w = (const int32_t *)p->weights;
  const int32_t *bias = p->folded_bias, *rq = p->requant;
  int32_t c, t;
  for (c = 0; c < ch; c += 4) {
    int32_t a0 = bias[0], a1 = bias[1], a2 = bias[2], a3 = bias[3];
#pragma GCC unroll 9
    for (t = 0; t < 9; ++t) {
      const int32_t xv = (int32_t)hb_ld32(tap[t] + c), wv = w[t];
      const int32_t xe = __sxtb16(xv), xo = (int32_t)hb_sxtb16_ror8((uint32_t)xv);
      const int32_t we = __sxtb16(wv), wo = (int32_t)hb_sxtb16_ror8((uint32_t)wv);
      a0 = __smlabb(xe, we, a0);
      a2 = __smlatt(xe, we, a2);
      a1 = __smlabb(xo, wo, a1);
      a3 = __smlatt(xo, wo, a3);
    }
    requant4(a0, a1, a2, a3, &rq, &output, k, lo, hi, full);
    w += 9;
    bias += 4;
  }
}

/* An interior pixel: every tap inside the image, read through three row pointers at the
 * pixel's first column, at fixed offsets 0, ch and 2 * ch (one load per tap). */
HB_INLINE void pixel_rows(const hb_dw3x3_dsp_params *p, const int8_t *r0, int32_t row,
                          int8_t *output, int full) {
  const int32_t ch = p->input.c;
  const int32_t k = 2 * p->output_offset + 1, lo = p->act_min, hi = p->act_max;
  const int32_t *w = (const int32_t *)p->weights;
  const int32_t *bias = p->folded_bias, *rq = p->requant;
  const int8_t *r1 = r0 + row, *r2 = r1 + row;
  int8_t *const end = output + ch;
  while (output < end) {
    int32_t a0 = bias[0], a1 = bias[1], a2 = bias[2], a3 = bias[3];
    {
      /* nine taps: the load of x (one per tap, at a fixed offset from its row pointer)
       * and of the weights, SXTB16 of both, four halfword MACs */
      int32_t xv, xe, wv, we;
      __asm__(
        "ldr %[xv], [%[r0]]\n\t"
        "ldr %[wv], [%[w], #0]\n\t"
        "sxtb16 %[xe], %[xv]\n\t"
        "sxtb16 %[xv], %[xv], ror #8\n\t"
        "sxtb16 %[we], %[wv]\n\t"
        "sxtb16 %[wv], %[wv], ror #8\n\t"
        "smlabb %[a0], %[xe], %[we], %[a0]\n\t"
        "smlatt %[a2], %[xe], %[we], %[a2]\n\t"
        "smlabb %[a1], %[xv], %[wv], %[a1]\n\t"
        "smlatt %[a3], %[xv], %[wv], %[a3]\n\t"
        "ldr %[xv], [%[r0], %[ch]]\n\t"
        "ldr %[wv], [%[w], #4]\n\t"
        "sxtb16 %[xe], %[xv]\n\t"
        "sxtb16 %[xv], %[xv], ror #8\n\t"
        "sxtb16 %[we], %[wv]\n\t"
        "sxtb16 %[wv], %[wv], ror #8\n\t"
        "smlabb %[a0], %[xe], %[we], %[a0]\n\t"
        "smlatt %[a2], %[xe], %[we], %[a2]\n\t"
        "smlabb %[a1], %[xv], %[wv], %[a1]\n\t"
        "smlatt %[a3], %[xv], %[wv], %[a3]\n\t"
        "ldr %[xv], [%[r0], %[ch], lsl #1]\n\t"
        "ldr %[wv], [%[w], #8]\n\t"
        "sxtb16 %[xe], %[xv]\n\t"
        "sxtb16 %[xv], %[xv], ror #8\n\t"
        "sxtb16 %[we], %[wv]\n\t"
        "sxtb16 %[wv], %[wv], ror #8\n\t"
        "smlabb %[a0], %[xe], %[we], %[a0]\n\t"
        "smlatt %[a2], %[xe], %[we], %[a2]\n\t"
        "smlabb %[a1], %[xv], %[wv], %[a1]\n\t"
        "smlatt %[a3], %[xv], %[wv], %[a3]\n\t"
        "ldr %[xv], [%[r1]]\n\t"
        "ldr %[wv], [%[w], #12]\n\t"
        "sxtb16 %[xe], %[xv]\n\t"
        "sxtb16 %[xv], %[xv], ror #8\n\t"
        "sxtb16 %[we], %[wv]\n\t"
        "sxtb16 %[wv], %[wv], ror #8\n\t"
        "smlabb %[a0], %[xe], %[we], %[a0]\n\t"
        "smlatt %[a2], %[xe], %[we], %[a2]\n\t"
        "smlabb %[a1], %[xv], %[wv], %[a1]\n\t"
        "smlatt %[a3], %[xv], %[wv], %[a3]\n\t"
        "ldr %[xv], [%[r1], %[ch]]\n\t"
        "ldr %[wv], [%[w], #16]\n\t"
        "sxtb16 %[xe], %[xv]\n\t"
        "sxtb16 %[xv], %[xv], ror #8\n\t"
        "sxtb16 %[we], %[wv]\n\t"
        "sxtb16 %[wv], %[wv], ror #8\n\t"
        "smlabb %[a0], %[xe], %[we], %[a0]\n\t"
        "smlatt %[a2], %[xe], %[we], %[a2]\n\t"
        "smlabb %[a1], %[xv], %[wv], %[a1]\n\t"
        "smlatt %[a3], %[xv], %[wv], %[a3]\n\t"
        "ldr %[xv], [%[r1], %[ch], lsl #1]\n\t"
        "ldr %[wv], [%[w], #20]\n\t"
        "sxtb16 %[xe], %[xv]\n\t"
        "sxtb16 %[xv], %[xv], ror #8\n\t"
        "sxtb16 %[we], %[wv]\n\t"
        "sxtb16 %[wv], %[wv], ror #8\n\t"
        "smlabb %[a0], %[xe], %[we], %[a0]\n\t"
        "smlatt %[a2], %[xe], %[we], %[a2]\n\t"
        "smlabb %[a1], %[xv], %[wv], %[a1]\n\t"
        "smlatt %[a3], %[xv], %[wv], %[a3]\n\t"
        "ldr %[xv], [%[r2]]\n\t"
        "ldr %[wv], [%[w], #24]\n\t"
        "sxtb16 %[xe], %[xv]\n\t"
        "sxtb16 %[xv], %[xv], ror #8\n\t"
        "sxtb16 %[we], %[wv]\n\t"
        "sxtb16 %[wv], %[wv], ror #8\n\t"
        "smlabb %[a0], %[xe], %[we], %[a0]\n\t"
        "smlatt %[a2], %[xe], %[we], %[a2]\n\t"
        "smlabb %[a1], %[xv], %[wv], %[a1]\n\t"
        "smlatt %[a3], %[xv], %[wv], %[a3]\n\t"
        "ldr %[xv], [%[r2], %[ch]]\n\t"
        "ldr %[wv], [%[w], #28]\n\t"
        "sxtb16 %[xe], %[xv]\n\t"
        "sxtb16 %[xv], %[xv], ror #8\n\t"
        "sxtb16 %[we], %[wv]\n\t"
        "sxtb16 %[wv], %[wv], ror #8\n\t"
        "smlabb %[a0], %[xe], %[we], %[a0]\n\t"
        "smlatt %[a2], %[xe], %[we], %[a2]\n\t"
        "smlabb %[a1], %[xv], %[wv], %[a1]\n\t"
        "smlatt %[a3], %[xv], %[wv], %[a3]\n\t"
        "ldr %[xv], [%[r2], %[ch], lsl #1]\n\t"
        "ldr %[wv], [%[w], #32]\n\t"
        "sxtb16 %[xe], %[xv]\n\t"
        "sxtb16 %[xv], %[xv], ror #8\n\t"
        "sxtb16 %[we], %[wv]\n\t"
        "sxtb16 %[wv], %[wv], ror #8\n\t"
        "smlabb %[a0], %[xe], %[we], %[a0]\n\t"
        "smlatt %[a2], %[xe], %[we], %[a2]\n\t"
        "smlabb %[a1], %[xv], %[wv], %[a1]\n\t"
        "smlatt %[a3], %[xv], %[wv], %[a3]\n\t"
        : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3),
          [xv] "=&r"(xv), [xe] "=&r"(xe), [wv] "=&r"(wv), [we] "=&r"(we)
        : [r0] "r"(r0), [r1] "r"(r1), [r2] "r"(r2), [ch] "r"(ch), [w] "r"(w)
        : "memory");
    }
    requant4(a0, a1, a2, a3, &rq, &output, k, lo, hi, full);
    r0 += 4;
    r1 += 4;
    r2 += 4;
    w += 9;
    bias += 4;
  }
}

/* Outside GCC's first scheduling pass, which would hoist the nine loads and spill, and
 * without store merging, whose packing of int8 results into a word costs more than byte
 * stores. */
#define HB_NO_SCHED1 __attribute__((optimize("no-schedule-insns", "no-store-merging")))

HB_NO_SCHED1 static void pixel_full(const hb_dw3x3_dsp_params *p, const int8_t *const *tap,
                       int8_t *output) {
  pixel(p, tap, output, 1);
}

HB_NO_SCHED1 static void pixel_clamped(const hb_dw3x3_dsp_params *p, const int8_t *const *tap,
                          int8_t *output) {
  pixel(p, tap, output, 0);
}

HB_NO_SCHED1 static void rows_full(const hb_dw3x3_dsp_params *p, const int8_t *r0,
                                   int32_t row, int8_t *output) {
  pixel_rows(p, r0, row, output, 1);
}

HB_NO_SCHED1 static void rows_clamped(const hb_dw3x3_dsp_params *p, const int8_t *r0,
                                      int32_t row, int8_t *output) {
  pixel_rows(p, r0, row, output, 0);
}

typedef void (*rows_fn)(const hb_dw3x3_dsp_params *, const int8_t *, int32_t, int8_t *);

typedef void (*pixel_fn)(const hb_dw3x3_dsp_params *, const int8_t *const *, int8_t *);

HB_INLINE void depthwise(const hb_dw3x3_dsp_params *p, const int8_t *input, int8_t *output,
                         void *scratch, pixel_fn run_pixel, rows_fn run_rows) {
  const int32_t in_h = p->input.h, in_w = p->input.w, ch = p->input.c;
  int8_t *pad_row = (int8_t *)scratch;
  const int8_t *tap[9];
  int32_t b, oy, ox, c, ky, kx;
  for (c = 0; c < ch; ++c) pad_row[c] = (int8_t)p->pad_value;
  for (b = 0; b < p->input.n; ++b) {
    const int8_t *in_b = input + b * in_h * in_w * ch;
    for (oy = 0; oy < p->output.h; ++oy) {
      const int32_t y0 = oy * p->stride_h - p->pad_h;
      const int rows_in = y0 >= 0 && y0 + 2 < in_h;
      for (ox = 0; ox < p->output.w; ++ox) {
        const int32_t x0 = ox * p->stride_w - p->pad_w;
        if (rows_in && x0 >= 0 && x0 + 2 < in_w) {
          run_rows(p, in_b + (y0 * in_w + x0) * ch, in_w * ch, output);
          output += ch;
          continue;
        }
        for (ky = 0; ky < 3; ++ky) {
          const int32_t y = y0 + ky;
          for (kx = 0; kx < 3; ++kx) {
            const int32_t x = x0 + kx;
            tap[3 * ky + kx] = (y < 0 || y >= in_h || x < 0 || x >= in_w)
                                   ? pad_row : in_b + (y * in_w + x) * ch;
          }
        }
        run_pixel(p, tap, output);
        output += ch;
      }
    }
  }
}

/* Two entry points, chosen by the code generator, so a model links only what it uses. */
hb_status hb_depthwise_conv2d_3x3_s8_dsp(const hb_dw3x3_dsp_params *p, const int8_t *input,
                                         int8_t *output, void *scratch) {
  depthwise(p, input, output, scratch, pixel_clamped, rows_clamped);
  return HB_OK;
}

/* The same for act_min -128 and act_max 127: the clamp is one SSAT. */
hb_status hb_depthwise_conv2d_3x3_s8_dsp_full(const hb_dw3x3_dsp_params *p,
                                              const int8_t *input, int8_t *output,
                                              void *scratch) {
  depthwise(p, input, output, scratch, pixel_full, rows_full);
  return HB_OK;
}

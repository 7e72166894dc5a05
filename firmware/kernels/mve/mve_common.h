/*
 * Shared helpers of the mve kernel variant (Armv8.1-M with Helium: Cortex-M55). Internal
 * header.
 *
 * Requantization is TFLM's MultiplyByQuantizedMultiplier (hb_mbqm) for a right shift
 * e = -shift of 0..31 and a multiplier >= 0, which the code generator checks on the host
 * (hilbench/codegen/specialize.py, section mve). Four channels at a time:
 *   SaturatingRoundingDoublingHighMul(acc, m) is exactly VQRDMULH.S32;
 *   RoundingDivideByPOT(v, e), ties away from zero, is VRSHL.S32 by -e (ties up) applied
 *   to v - 1 when v < 0 and e > 0: the fixup is (v & -e) >> 31, as -e has its sign bit
 *   set exactly when e > 0. v - 1 cannot overflow: VQRDMULH of a multiplier below 2^31
 *   never returns INT32_MIN.
 * The requant table holds, per group of four channels, four multipliers then four shifts
 * (TFLM's shift, <= 0: VRSHL's shift operand as it is).
 */
#ifndef HB_MVE_COMMON_H
#define HB_MVE_COMMON_H

#include <stdint.h>
#include <arm_mve.h>

#if !defined(__ARM_FEATURE_MVE)
#error "the mve kernel variant needs Helium (MVE, Cortex-M55): use kernels = \"ref\""
#endif

#define HB_INLINE static inline __attribute__((always_inline))

/* Requantize four accumulators with the group's {multipliers, shifts} at rq, add the output
 * offset and clamp; lo and hi are act_min and act_max in every lane. */
HB_INLINE int32x4_t hb_mve_requant(int32x4_t acc, const int32_t *rq, int32_t offset,
                                   int32x4_t lo, int32x4_t hi) {
  const int32x4_t m = vldrwq_s32(rq), s = vldrwq_s32(rq + 4);
  int32x4_t v = vqrdmulhq_s32(acc, m);
  v = vqaddq_s32(v, vshrq_n_s32(vandq_s32(v, s), 31));
  v = vrshlq_s32(v, s);
  v = vaddq_n_s32(v, offset);
  return vminq_s32(vmaxq_s32(v, lo), hi);
}

/* out[0 .. channels-1] = requantized (bias + W x) for one column x of int8 values: `blocks`
 * whole blocks of 16, then, when `tail` is not 0, one block of which only the lanes of the
 * predicate `tail` are read (x is never read past its end).
 * W holds the rows by groups of four (zero rows pad the last group), each group by blocks
 * of 16 values: row 4g's 16, then rows 4g+1, 4g+2, 4g+3 (the last block zero-padded), so
 * that one pointer streams them. bias and rq are per group of four as well. */
HB_INLINE void hb_mve_matvec(const int8_t *x, int32_t blocks, mve_pred16_t tail,
                             const int8_t *w, const int32_t *bias, const int32_t *rq,
                             int32_t channels, int8_t *out, int32_t offset, int32x4_t lo,
                             int32x4_t hi) {
  int32_t c;
  for (c = 0; c < channels; c += 4) {
    int32_t a0 = bias[0], a1 = bias[1], a2 = bias[2], a3 = bias[3];
    const int8_t *xp = x;
    int32_t k;
    int32x4_t acc;
    for (k = blocks; k > 0; --k) {
      const int8x16_t xv = vldrbq_s8(xp);
      xp += 16;
      a0 = vmladavaq_s8(a0, xv, vldrbq_s8(w));
      a1 = vmladavaq_s8(a1, xv, vldrbq_s8(w + 16));
      a2 = vmladavaq_s8(a2, xv, vldrbq_s8(w + 32));
      a3 = vmladavaq_s8(a3, xv, vldrbq_s8(w + 48));
      w += 64;
    }
    if (tail) {
      const int8x16_t xv = vldrbq_z_s8(xp, tail);
      a0 = vmladavaq_s8(a0, xv, vldrbq_s8(w));
      a1 = vmladavaq_s8(a1, xv, vldrbq_s8(w + 16));
      a2 = vmladavaq_s8(a2, xv, vldrbq_s8(w + 32));
      a3 = vmladavaq_s8(a3, xv, vldrbq_s8(w + 48));
      w += 64;
    }
    acc = vdupq_n_s32(a0);
    acc = vsetq_lane_s32(a1, acc, 1);
    acc = vsetq_lane_s32(a2, acc, 2);
    acc = vsetq_lane_s32(a3, acc, 3);
    acc = hb_mve_requant(acc, rq, offset, lo, hi);
    if (channels - c >= 4) vstrbq_s32(out + c, acc);
    else vstrbq_p_s32(out + c, acc, vctp32q((uint32_t)(channels - c)));
    bias += 4;
    rq += 8;
  }
}

/* hb_mve_matvec for two columns x and y (into out and out2) of at most 16 values, the lanes
 * of the predicate `lanes`: each block of weights is loaded once for both, and the group's
 * bias and requantization as well. */
HB_INLINE void hb_mve_matvec2_short(const int8_t *x, const int8_t *y, mve_pred16_t lanes,
                                    const int8_t *w, const int32_t *bias, const int32_t *rq,
                                    int32_t channels, int8_t *out, int8_t *out2,
                                    int32_t offset, int32x4_t lo, int32x4_t hi) {
  const int8x16_t xv = vldrbq_z_s8(x, lanes), yv = vldrbq_z_s8(y, lanes);
  int32_t c;
  for (c = 0; c < channels; c += 4) {
    int32x4_t acc, bcc, m, s, v;
    int8x16_t wv = vldrbq_s8(w);
    acc = vdupq_n_s32(vmladavaq_s8(bias[0], xv, wv));
    bcc = vdupq_n_s32(vmladavaq_s8(bias[0], yv, wv));
    wv = vldrbq_s8(w + 16);
    acc = vsetq_lane_s32(vmladavaq_s8(bias[1], xv, wv), acc, 1);
    bcc = vsetq_lane_s32(vmladavaq_s8(bias[1], yv, wv), bcc, 1);
    wv = vldrbq_s8(w + 32);
    acc = vsetq_lane_s32(vmladavaq_s8(bias[2], xv, wv), acc, 2);
    bcc = vsetq_lane_s32(vmladavaq_s8(bias[2], yv, wv), bcc, 2);
    wv = vldrbq_s8(w + 48);
    acc = vsetq_lane_s32(vmladavaq_s8(bias[3], xv, wv), acc, 3);
    bcc = vsetq_lane_s32(vmladavaq_s8(bias[3], yv, wv), bcc, 3);
    w += 64;
    m = vldrwq_s32(rq);
    s = vldrwq_s32(rq + 4);
    v = vqrdmulhq_s32(acc, m);
    v = vqaddq_s32(v, vshrq_n_s32(vandq_s32(v, s), 31));
    acc = vminq_s32(vmaxq_s32(vaddq_n_s32(vrshlq_s32(v, s), offset), lo), hi);
    v = vqrdmulhq_s32(bcc, m);
    v = vqaddq_s32(v, vshrq_n_s32(vandq_s32(v, s), 31));
    bcc = vminq_s32(vmaxq_s32(vaddq_n_s32(vrshlq_s32(v, s), offset), lo), hi);
    if (channels - c >= 4) {
      vstrbq_s32(out + c, acc);
      vstrbq_s32(out2 + c, bcc);
    } else {
      const mve_pred16_t p = vctp32q((uint32_t)(channels - c));
      vstrbq_p_s32(out + c, acc, p);
      vstrbq_p_s32(out2 + c, bcc, p);
    }
    bias += 4;
    rq += 8;
  }
}

/* The predicate of the last, partial block of a column of `depth` values (0: none). */
HB_INLINE mve_pred16_t hb_mve_tail(int32_t depth) {
  return (depth & 15) ? vctp8q((uint32_t)(depth & 15)) : 0;
}

#endif /* HB_MVE_COMMON_H */

/*
 * Shared helpers of the dsp kernel variant (Armv7E-M and Armv8-M Mainline with the DSP
 * extension: Cortex-M4, M7, M33). Internal header.
 *
 * Requantization here is TFLM's MultiplyByQuantizedMultiplier (hb_mbqm) for the case the
 * code generator checked on the host before choosing a dsp kernel: no left shift, a right
 * shift of 1..31, a non-negative multiplier, and every accumulator below 2^30 in magnitude.
 * Then
 *   SaturatingRoundingDoublingHighMul(acc, m) == SMMULR(2 * acc, m)
 * (both are floor((acc * m + 2^30) / 2^31)), and the rounding right shift by e, ties away
 * from zero, is floor((t + 2^(e-1)) / 2^e) with t = v - (v < 0), computed as
 * ((t >> (e - 1)) + 1) >> 1. The host stores e - 1 as `pre_shift`.
 */
#ifndef HB_DSP_COMMON_H
#define HB_DSP_COMMON_H

#include <stdint.h>
#include <string.h>
#include <arm_acle.h>

#if !defined(__ARM_FEATURE_DSP) || __ARM_FEATURE_DSP != 1
#error "the dsp kernel variant needs the DSP extension (Cortex-M4, M7, M33): use kernels = \"ref\""
#endif

/* A 32-bit load from any alignment (LDR allows unaligned addresses on these cores). */
static inline uint32_t hb_ld32(const void *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}

/* Bytes 1 and 3 sign-extended into halfwords: SXTB16 with the rotate folded in. */
static inline uint32_t hb_sxtb16_ror8(uint32_t x) {
  uint32_t r;
  __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
  return r;
}

/* (a * b + 2^31) >> 32 */
static inline int32_t hb_smmulr(int32_t a, int32_t b) {
  int32_t r;
  __asm__("smmulr %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
  return r;
}

/* SSAT to int8 of x >> 1: the last halving of the rounding shift folded into the clamp, with
 * the output offset added before it as 2 * offset + 1 (the rounding 1 included). */
static inline int32_t hb_ssat8_asr1(int32_t x) {
  int32_t r;
  __asm__("ssat %0, #8, %1, asr #1" : "=r"(r) : "r"(x));
  return r;
}

/* rq: {multiplier, pre_shift} of one channel; see the header comment. */
static inline int32_t hb_dsp_requant(int32_t acc, const int32_t *rq, int32_t output_offset,
                                     int32_t act_min, int32_t act_max) {
  int32_t v = hb_smmulr(acc * 2, rq[0]);
  v += v >> 31;
  v = ((v >> rq[1]) + 1) >> 1;
  v += output_offset;
  v = v < act_min ? act_min : v;
  return v > act_max ? act_max : v;
}

#endif /* HB_DSP_COMMON_H */

/* ADD without broadcasting for the mve variant, four elements per vector: TFLM's three
 * requantizations (each input to the common scale, then the sum to the output) as
 * VQRDMULH (exactly SaturatingRoundingDoublingHighMul) and a rounding right shift with
 * TFLM's ties-away-from-zero rounding (mve_common.h). The host checked that every shift is
 * a right shift of 0..31 and that the left shift keeps (x + offset) << left_shift in int32
 * (hilbench/codegen/specialize.py). Bit-exact with ref/add.c under those conditions. */
#include "hb_kernels.h"
#include "mve_common.h"

/* RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x, m), e) for e in 0..31, given as
 * VRSHL's shift operand -e (the fixup subtracts 1 from negative values when e > 0). */
HB_INLINE int32x4_t rescale(int32x4_t x, int32_t m, int32_t neg_e) {
  int32x4_t v = vqrdmulhq_n_s32(x, m);
  v = vaddq_s32(v, vshrq_n_s32(vandq_s32(v, vdupq_n_s32(neg_e)), 31));
  return vrshlq_n_s32(v, neg_e);
}

#define HB_ADD_STEP(LOAD_A, LOAD_B)                                                 \
  do {                                                                              \
    int32x4_t x = vshlq_r_s32(vaddq_n_s32(LOAD_A, a_off), shift);                   \
    int32x4_t y = vshlq_r_s32(vaddq_n_s32(LOAD_B, b_off), shift);                   \
    x = vaddq_s32(rescale(x, a_m, a_e), rescale(y, b_m, b_e));                      \
    x = vaddq_n_s32(rescale(x, out_m, out_e), off);                                 \
    r = vminq_s32(vmaxq_s32(x, lo), hi);                                            \
  } while (0)

__attribute__((optimize("no-schedule-insns")))
hb_status hb_add_s8_mve(const hb_add_mve_params *p, const int8_t *a, const int8_t *b,
                        int8_t *output) {
  const int32_t a_off = p->a_offset, b_off = p->b_offset, shift = p->left_shift;
  const int32_t a_m = p->a_multiplier, a_e = -p->a_shift, b_m = p->b_multiplier;
  const int32_t b_e = -p->b_shift, out_m = p->output_multiplier, out_e = -p->output_shift;
  const int32_t off = p->output_offset;
  const int32x4_t lo = vdupq_n_s32(p->act_min), hi = vdupq_n_s32(p->act_max);
  int32_t n = p->size;
  int32x4_t r;
  for (; n >= 4; n -= 4, a += 4, b += 4, output += 4) {
    HB_ADD_STEP(vldrbq_s32(a), vldrbq_s32(b));
    vstrbq_s32(output, r);
  }
  if (n > 0) {
    const mve_pred16_t tail = vctp32q((uint32_t)n);
    HB_ADD_STEP(vldrbq_z_s32(a, tail), vldrbq_z_s32(b, tail));
    vstrbq_p_s32(output, r, tail);
  }
  return HB_OK;
}

/* HARD_SWISH, int8, in TFLM's 16-bit fixed point. */
#include "hb_kernels.h"
#include "../hb_fixedpoint.h"

static int32_t srdhm16(int32_t a, int32_t b) {
  int32_t ab;
  if (a == b && a == -32768) return 32767;
  ab = a * b;
  /* truncating division by 2^15 after the nudge, as gemmlowp's int16 version */
  return (ab + (ab >= 0 ? (1 << 14) : (1 - (1 << 14)))) / (1 << 15);
}

static int32_t sdhm16(int32_t a, int32_t b) {  /* truncating, no rounding */
  if (a == b && a == -32768) return 32767;
  return (a * b) / (1 << 15);
}

static int32_t sat_left_shift16(int32_t x, int32_t amount) {
  return hb_clamp(x * (1 << amount), -32768, 32767);
}

hb_status hb_hard_swish_s8(const hb_hard_swish_params *p, const int8_t *input, int8_t *output) {
  int32_t i;
  for (i = 0; i < p->size; ++i) {
    const int32_t hires = (input[i] - p->input_zero_point) * 128;
    const int32_t preshift_output = srdhm16(hires, p->output_multiplier);
    int32_t reluish = hires, out;
    if (p->reluish_exponent > 0) reluish = sat_left_shift16(reluish, p->reluish_exponent - 1);
    reluish = srdhm16(reluish, p->reluish_multiplier);
    if (p->reluish_exponent > 0) reluish = sat_left_shift16(reluish, 1);
    if (p->reluish_exponent < 0) reluish = hb_rdbpot(reluish, -p->reluish_exponent);
    reluish = (reluish + (1 << 15)) >> 1;
    out = hb_rdbpot(sdhm16(reluish, preshift_output), -p->output_exponent) +
          p->output_zero_point;
    output[i] = (int8_t)hb_clamp(out, -128, 127);
  }
  return HB_OK;
}

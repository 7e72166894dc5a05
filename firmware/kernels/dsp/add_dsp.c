/* ADD without broadcasting for the dsp variant: TFLM's three requantizations with SMMULR
 * (see dsp_common.h), every shift a right shift, bounds checked on the host
 * (hilbench/codegen/specialize.py). Bit-exact with ref/add.c under those conditions. */
#include "hb_kernels.h"
#include "dsp_common.h"

/* hb_mbqm for a right shift e in 0..31, |x| < 2^30, m >= 0. */
static inline int32_t rescale(int32_t x, int32_t m, int32_t e) {
  int32_t v = hb_smmulr(x * 2, m);
  if (e > 0) {
    v += v >> 31;
    v = ((v >> (e - 1)) + 1) >> 1;
  }
  return v;
}

hb_status hb_add_s8_dsp(const hb_add_dsp_params *p, const int8_t *a, const int8_t *b,
                        int8_t *output) {
  const int32_t a_off = p->a_offset, b_off = p->b_offset, shift = p->left_shift;
  const int32_t a_m = p->a_multiplier, a_e = p->a_shift, b_m = p->b_multiplier;
  const int32_t b_e = p->b_shift, out_m = p->output_multiplier, out_e = p->output_shift;
  const int32_t off = p->output_offset, lo = p->act_min, hi = p->act_max;
  int32_t i;
  for (i = 0; i < p->size; ++i) {
    const int32_t sum = rescale((a[i] + a_off) << shift, a_m, a_e) +
                        rescale((b[i] + b_off) << shift, b_m, b_e);
    int32_t v = rescale(sum, out_m, out_e) + off;
    v = v < lo ? lo : v;
    output[i] = (int8_t)(v > hi ? hi : v);
  }
  return HB_OK;
}

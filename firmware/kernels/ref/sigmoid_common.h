/* Shared body of LOGISTIC and TANH (internal). */
#ifndef HB_SIGMOID_COMMON_H
#define HB_SIGMOID_COMMON_H
#include "hb_kernels.h"
#include "../hb_fixedpoint.h"

static inline int8_t hb_sigmoid_like(const hb_sigmoid_params *p, int8_t value,
                                     int32_t (*function)(int32_t, int32_t),
                                     int32_t output_shift, int32_t output_offset) {
  const int32_t centered = value - p->input_zero_point;
  int32_t q;
  if (centered <= -p->input_range_radius) return -128;
  if (centered >= p->input_range_radius) return 127;
  q = function(hb_mbqm(centered, p->input_multiplier, p->input_left_shift), 4);
  return (int8_t)hb_clamp(hb_rdbpot(q, output_shift) + output_offset, -128, 127);
}
#endif

/* MEAN over any axes of a (padded) 4-D tensor; 1/count is folded into the multiplier. */
#include "hb_kernels.h"
#include "../hb_fixedpoint.h"

hb_status hb_mean_s8(const hb_mean_params *p, const int8_t *input, int8_t *output) {
  int32_t o[4], r[4], lim[4], d;
  for (d = 0; d < 4; ++d) lim[d] = p->reduce[d] ? 1 : p->dims[d];
  for (o[0] = 0; o[0] < lim[0]; ++o[0])
    for (o[1] = 0; o[1] < lim[1]; ++o[1])
      for (o[2] = 0; o[2] < lim[2]; ++o[2])
        for (o[3] = 0; o[3] < lim[3]; ++o[3]) {
          int32_t sum = 0, out;
          for (r[0] = 0; r[0] < (p->reduce[0] ? p->dims[0] : 1); ++r[0])
            for (r[1] = 0; r[1] < (p->reduce[1] ? p->dims[1] : 1); ++r[1])
              for (r[2] = 0; r[2] < (p->reduce[2] ? p->dims[2] : 1); ++r[2])
                for (r[3] = 0; r[3] < (p->reduce[3] ? p->dims[3] : 1); ++r[3]) {
                  int32_t offset = 0;
                  for (d = 0; d < 4; ++d) offset = offset * p->dims[d] + o[d] + r[d];
                  sum += input[offset];
                }
          out = hb_mbqm(sum - p->input_zero_point * p->count, p->multiplier, p->shift) +
                p->output_zero_point;
          *output++ = (int8_t)hb_clamp(out, -128, 127);
        }
  return HB_OK;
}

/* PAD / PADV2 over up to 4 axes. */
#include "hb_kernels.h"

hb_status hb_pad_s8(const hb_pad_params *p, const int8_t *input, int8_t *output) {
  int32_t o[4], d;
  int32_t out_dims[4];
  for (d = 0; d < 4; ++d) out_dims[d] = p->before[d] + p->dims[d] + p->after[d];
  for (o[0] = 0; o[0] < out_dims[0]; ++o[0])
    for (o[1] = 0; o[1] < out_dims[1]; ++o[1])
      for (o[2] = 0; o[2] < out_dims[2]; ++o[2])
        for (o[3] = 0; o[3] < out_dims[3]; ++o[3]) {
          int32_t inside = 1, offset = 0;
          for (d = 0; d < 4; ++d) {
            const int32_t i = o[d] - p->before[d];
            if (i < 0 || i >= p->dims[d]) inside = 0;
            offset = offset * p->dims[d] + i;
          }
          *output++ = inside ? input[offset] : p->value;
        }
  return HB_OK;
}

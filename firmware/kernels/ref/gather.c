/* GATHER: for each batch and outer index, the rows named by the positions, in order. */
#include <string.h>
#include "hb_kernels.h"

hb_status hb_gather_s8(const hb_gather_params *p, const int8_t *input, const int32_t *positions,
                       int8_t *output) {
  int32_t batch, outer, k;
  const int32_t row = p->inner * p->elem_size;
  for (batch = 0; batch < p->batch; ++batch) {
    const int32_t *coords = positions + batch * p->coords;
    for (outer = 0; outer < p->outer; ++outer) {
      const int8_t *block = input + (batch * p->outer + outer) * p->axis_size * row;
      for (k = 0; k < p->coords; ++k) {
        const int32_t at = coords[k];
        if (at < 0 || at >= p->axis_size) return HB_ERROR;  /* TFLM's Eval fails too */
        memcpy(output, block + at * row, (size_t)row);
        output += row;
      }
    }
  }
  return HB_OK;
}

/* SPLIT and SPLIT_V: consecutive chunks of the input go to the outputs in turn. */
#include <string.h>
#include "hb_kernels.h"

hb_status hb_split_s8(const hb_split_params *p, const int8_t *input, int8_t *const *outputs) {
  int32_t outer, i;
  const int32_t row = p->inner * p->elem_size;
  for (outer = 0; outer < p->outer; ++outer) {
    for (i = 0; i < p->outputs; ++i) {
      const int32_t chunk = p->axis_sizes[i] * row;
      memcpy(outputs[i] + outer * chunk, input, (size_t)chunk);
      input += chunk;
    }
  }
  return HB_OK;
}

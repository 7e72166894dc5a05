/* CONCATENATION: int8 bytes copied unchanged (inputs share the output quantization). */
#include <string.h>
#include "hb_kernels.h"

hb_status hb_concat_s8(const hb_concat_params *p, const int8_t *const *inputs, int8_t *output) {
  int32_t outer, i;
  for (outer = 0; outer < p->outer; ++outer) {
    for (i = 0; i < p->inputs; ++i) {
      const int32_t chunk = p->axis_sizes[i] * p->inner;
      memcpy(output, inputs[i] + outer * chunk, (size_t)chunk);
      output += chunk;
    }
  }
  return HB_OK;
}

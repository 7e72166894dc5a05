/* PACK: input i fills slot i of each outer block of the output. */
#include <string.h>
#include "hb_kernels.h"

hb_status hb_pack_s8(const hb_pack_params *p, const int8_t *const *inputs, int8_t *output) {
  int32_t outer, i;
  const int32_t chunk = p->inner * p->elem_size;
  for (outer = 0; outer < p->outer; ++outer) {
    for (i = 0; i < p->count; ++i) {
      memcpy(output, inputs[i] + outer * chunk, (size_t)chunk);
      output += chunk;
    }
  }
  return HB_OK;
}

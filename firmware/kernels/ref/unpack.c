/* UNPACK: slot i of each outer block of the input goes to output i. */
#include <string.h>
#include "hb_kernels.h"

hb_status hb_unpack_s8(const hb_pack_params *p, const int8_t *input, int8_t *const *outputs) {
  int32_t outer, i;
  const int32_t chunk = p->inner * p->elem_size;
  for (outer = 0; outer < p->outer; ++outer) {
    for (i = 0; i < p->count; ++i) {
      memcpy(outputs[i] + outer * chunk, input, (size_t)chunk);
      input += chunk;
    }
  }
  return HB_OK;
}

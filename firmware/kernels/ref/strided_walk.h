/* The strided walk shared by TRANSPOSE and STRIDED_SLICE (internal). */
#ifndef HB_STRIDED_WALK_H
#define HB_STRIDED_WALK_H
#include <string.h>
#include "hb_kernels.h"

/* Output elements in order; the input position follows the multi-index through the steps,
 * so no division is needed per element. */
static inline hb_status hb_strided_walk(const hb_strided_params *p, const int8_t *input,
                                        int8_t *output) {
  int32_t index[HB_MAX_DIMS] = {0};
  int32_t total = 1, pos = p->start, i, d;
  const int32_t last = p->rank - 1;
  const size_t bytes = (size_t)p->elem_size;
  for (d = 0; d < p->rank; ++d) total *= p->count[d];
  for (i = 0; i < total; ++i) {
    if (bytes == 1) {
      output[i] = input[pos];
    } else {
      memcpy(output + (size_t)i * bytes, input + (size_t)pos * bytes, bytes);
    }
    for (d = last; d >= 0; --d) {
      pos += p->step[d];
      if (++index[d] < p->count[d]) break;
      pos -= p->step[d] * p->count[d];
      index[d] = 0;
    }
  }
  return HB_OK;
}
#endif

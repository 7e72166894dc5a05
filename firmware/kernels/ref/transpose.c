/* TRANSPOSE: the output's axes walk the input in permuted order (strides from the host). */
#include "hb_kernels.h"
#include "strided_walk.h"

hb_status hb_transpose_s8(const hb_strided_params *p, const int8_t *input, int8_t *output) {
  return hb_strided_walk(p, input, output);
}

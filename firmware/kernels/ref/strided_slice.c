/* STRIDED_SLICE: begin, end, strides and masks are resolved on the host (TFLM's
 * StridedSliceStartForAxis/EndForAxis) into a start element and one step per axis. */
#include "hb_kernels.h"
#include "strided_walk.h"

hb_status hb_strided_slice_s8(const hb_strided_params *p, const int8_t *input, int8_t *output) {
  return hb_strided_walk(p, input, output);
}

/* A 2-D window copy for patch-based execution: `rows` runs of `row_bytes` bytes, each at
   its own stride in source and destination (a patch cut out of an NHWC tensor, or a tile
   pasted into one). */
#include <string.h>
#include "hb_kernels.h"

hb_status hb_copy_window_s8(int32_t rows, int32_t row_bytes, const int8_t *input,
                            int32_t input_stride, int8_t *output, int32_t output_stride) {
  int32_t r;
  for (r = 0; r < rows; ++r) {
    memmove(output + r * output_stride, input + r * input_stride, (size_t)row_bytes);
  }
  return HB_OK;
}

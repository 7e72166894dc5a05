/* ADD, int8 with broadcasting (TFLM: both inputs rescaled to a common 2^20-scaled base). */
#include "add_sub.h"

hb_status hb_add_s8(const hb_binary_params *p, const int8_t *a, const int8_t *b, int8_t *output) {
  return hb_add_sub_s8(p, a, b, output, 0);
}

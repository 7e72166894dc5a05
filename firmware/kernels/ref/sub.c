/* SUB, int8 with broadcasting: ADD's rescaling, then a - b (add_sub.h). */
#include "add_sub.h"

hb_status hb_sub_s8(const hb_binary_params *p, const int8_t *a, const int8_t *b, int8_t *output) {
  return hb_add_sub_s8(p, a, b, output, 1);
}

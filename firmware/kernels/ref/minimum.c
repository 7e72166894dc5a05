/* MINIMUM, int8 with broadcasting (minmax.h). */
#include "minmax.h"

hb_status hb_minimum_s8(const hb_binary_params *p, const int8_t *a, const int8_t *b,
                        int8_t *output) {
  return hb_minmax_s8(p, a, b, output, 0);
}

/* Broadcast index walk shared by ADD and MUL (internal). */
#ifndef HB_BINARY_INDEX_H
#define HB_BINARY_INDEX_H
#include "hb_kernels.h"

/* Advance a multi-index over out_dims; keeps the element offsets into a and b current. */
static inline void hb_binary_next(const hb_binary_params *p, int32_t *index, int32_t *a_pos,
                                  int32_t *b_pos) {
  int32_t d;
  for (d = p->rank - 1; d >= 0; --d) {
    index[d]++;
    *a_pos += p->a_stride[d];
    *b_pos += p->b_stride[d];
    if (index[d] < p->out_dims[d]) return;
    *a_pos -= p->a_stride[d] * p->out_dims[d];
    *b_pos -= p->b_stride[d] * p->out_dims[d];
    index[d] = 0;
  }
}

static inline int32_t hb_binary_size(const hb_binary_params *p) {
  int32_t d, size = 1;
  for (d = 0; d < p->rank; ++d) size *= p->out_dims[d];
  return size;
}
#endif
